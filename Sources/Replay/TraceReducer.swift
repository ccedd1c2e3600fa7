import Foundation

/// Where a reduction stands (printed on stderr by `syncreplay reduce`).
public struct ReductionProgress: Sendable {
    public var phase: String
    public var runs: Int
    /// Events of the best failing candidate so far.
    public var best: Int
    /// Events of the original trace.
    public var original: Int
    /// The failure every candidate must reproduce.
    public var identity: FailureIdentity
}

/// The smallest failing candidate found.
public struct ReductionResult: Sendable {
    public var kept: [Int]
    public var shortenChain: Bool
    public var runs: Int
    public var identity: FailureIdentity
    public var observation: ReductionObservation
    /// Why the reduction stopped before a fixpoint (`--max-runs`, `--timeout`, Ctrl-C), or nil.
    public var stoppedEarly: String?
}

/// Hierarchical delta debugging (ddmin, Zeller & Hildebrandt 2002, complement tests) over a
/// trace (issue 14 §2): whole peers, then contiguous height ranges, then single events, then
/// the chain the trace serves; repeated until a pass removes nothing. Every candidate is
/// repaired into a valid trace first (`ReducibleTrace.repaired`).
///
/// Deterministic: candidates of one round are tested in a fixed order, `jobs` at a time, and the
/// first failing one in that order wins, so the result does not depend on `jobs` or on timing
/// (only on `maxRuns` and `shouldStop`, when they cut the search short).
public struct TraceReducer {
    public var trace: ReducibleTrace
    public var oracle: ReductionOracle
    public var maxRuns: Int
    public var jobs: Int

    public init(trace: ReducibleTrace, oracle: ReductionOracle, maxRuns: Int = 2000, jobs: Int = 1) {
        self.trace = trace
        self.oracle = oracle
        self.maxRuns = maxRuns
        self.jobs = max(1, jobs)
    }

    /// Runs the reduction. `shouldStop` is asked between rounds (timeout, Ctrl-C); the best
    /// candidate so far is returned either way.
    public mutating func run(progress: (ReductionProgress) -> Void = { _ in },
                             shouldStop: () -> Bool = { false }) throws(CaseError) -> ReductionResult {
        let all = trace.repaired(trace.all)
        let identity = try oracle.start(trace.replayTrace(all, shortenChain: false))
        guard let first = oracle.test(trace.replayTrace(all, shortenChain: false)) else {
            throw CaseError("\(trace.path): the original trace itself does not pass the test for its failure (\(identity)): a decision with the same words occurs elsewhere in the replay; reduce with --diff A,B instead")
        }
        var search = Search(trace: trace, oracle: oracle, maxRuns: maxRuns, jobs: jobs, current: all, best: first)
        search.runs = 2
        var stopped: String?
        progress(ReductionProgress(phase: "start", runs: 2, best: all.count, original: trace.entries.count, identity: identity))
        let report = { (phase: String, s: Search) in
            progress(ReductionProgress(phase: phase, runs: s.runs, best: s.current.count, original: s.trace.entries.count, identity: identity))
        }
        passes: while true {
            let before = (search.current, search.shortenChain)
            for (phase, units) in [("peers", trace.peerUnits), ("heights", trace.heightUnits), ("events", trace.eventUnits)] {
                if let why = search.ddmin(units: units, phase: phase, report: report, shouldStop: shouldStop) { stopped = why; break passes }
            }
            if !search.shortenChain {
                if let why = search.tryShortening(report: report, shouldStop: shouldStop) { stopped = why; break passes }
            }
            if before == (search.current, search.shortenChain) { break }
        }
        return ReductionResult(kept: search.current, shortenChain: search.shortenChain, runs: search.runs, identity: identity,
                               observation: search.best, stoppedEarly: stopped)
    }
}

/// The state of one reduction: the best candidate and the run count.
struct Search {
    let trace: ReducibleTrace
    let oracle: ReductionOracle
    let maxRuns: Int
    let jobs: Int
    var current: [Int]
    var best: ReductionObservation
    var shortenChain = false
    var runs = 0

    init(trace: ReducibleTrace, oracle: ReductionOracle, maxRuns: Int, jobs: Int, current: [Int], best: ReductionObservation) {
        self.trace = trace
        self.oracle = oracle
        self.maxRuns = maxRuns
        self.jobs = jobs
        self.current = current
        self.best = best
    }

    func limit(_ shouldStop: () -> Bool) -> String? {
        if runs >= maxRuns { return "--max-runs \(maxRuns) reached" }
        if shouldStop() { return "stopped" }
        return nil
    }

    /// ddmin over `units` (disjoint sets of entry indices, in order): try removing each of n
    /// chunks; on success keep the complement and coarsen, else refine until single units.
    mutating func ddmin(units allUnits: [[Int]], phase: String, report: (String, Search) -> Void,
                        shouldStop: () -> Bool) -> String? {
        var units = live(allUnits)
        var n = min(2, units.count)
        while !units.isEmpty {
            if let why = limit(shouldStop) { return why }
            let chunks = Self.split(units, into: n)
            let candidates = chunks.map { chunk -> [Int] in
                let drop = Set(chunk.joined())
                return trace.repaired(current.filter { !drop.contains($0) })
            }.filter { $0.count < current.count }
            if let (kept, observation) = firstFailing(candidates, shouldStop: shouldStop) {
                current = kept
                best = observation
                units = live(units)
                n = max(min(n - 1, units.count), min(2, units.count))
                report(phase, self)
                continue
            }
            report(phase, self)
            if n >= units.count { break }
            n = min(n * 2, units.count)
        }
        return nil
    }

    /// Caps the peers' claimed heights at the highest block kept (`ReducibleTrace.events`).
    mutating func tryShortening(report: (String, Search) -> Void, shouldStop: () -> Bool) -> String? {
        if let why = limit(shouldStop) { return why }
        runs += 1
        if let o = oracle.test(trace.replayTrace(current, shortenChain: true)) {
            shortenChain = true
            best = o
        }
        report("chain", self)
        return nil
    }

    /// Units still (partly) in the current candidate, restricted to it.
    func live(_ units: [[Int]]) -> [[Int]] {
        let kept = Set(current)
        return units.map { $0.filter { kept.contains($0) } }.filter { !$0.isEmpty }
    }

    /// The first candidate, in order, that fails the same way; tested `jobs` at a time.
    mutating func firstFailing(_ candidates: [[Int]], shouldStop: () -> Bool) -> ([Int], ReductionObservation)? {
        var start = 0
        while start < candidates.count {
            if limit(shouldStop) != nil { return nil }
            let batch = Array(candidates[start..<min(candidates.count, start + jobs, start + max(1, maxRuns - runs))])
            let traces = batch.map { trace.replayTrace($0, shortenChain: shortenChain) }
            let results = Self.evaluate(traces, oracle: oracle)
            runs += batch.count
            if let i = results.firstIndex(where: { $0 != nil }) { return (batch[i], results[i]!) }
            start += batch.count
        }
        return nil
    }

    /// Tests the traces in parallel (one replay per core, `--jobs`).
    static func evaluate(_ traces: [ReplayTrace], oracle: ReductionOracle) -> [ReductionObservation?] {
        if traces.count == 1 { return [oracle.test(traces[0])] }
        let results = ResultSlots<ReductionObservation>(count: traces.count)
        DispatchQueue.concurrentPerform(iterations: traces.count) { i in results.set(i, oracle.test(traces[i])) }
        return results.values
    }

    /// `units` in `n` contiguous chunks of near-equal size.
    static func split(_ units: [[Int]], into n: Int) -> [[[Int]]] {
        guard n > 0 else { return [] }
        var chunks: [[[Int]]] = []
        var start = 0
        for k in 0..<n {
            let end = units.count * (k + 1) / n
            if end > start { chunks.append(Array(units[start..<end])) }
            start = end
        }
        return chunks
    }
}

/// Result slots written from `concurrentPerform` workers, one slot per worker.
final class ResultSlots<Value: Sendable>: @unchecked Sendable {
    private var slots: [Value?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ value: Value?) { lock.lock(); slots[i] = value; lock.unlock() }
    var values: [Value?] { lock.lock(); defer { lock.unlock() }; return slots }
}
