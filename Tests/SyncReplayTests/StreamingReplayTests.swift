import Foundation
import Implementations
import Replay
import SyncMachine
import Testing

/// Issue 19 item 1: replay streams the trace, compares goldens as decisions are produced, and
/// holds only the node's recent blocks (older ones are read again from the trace).
@Suite struct StreamingReplayTests {
    static var traces: URL { SyncReplayProcess.packageDirectory.appendingPathComponent("Traces") }

    /// Every corpus golden (traces under 2 MB: all but long-sync-10k) matches when the trace is
    /// streamed, compared as produced, and the store holds a single applied block — so every
    /// block served to a peer (node-serves-blocks, blocksync-disabled-serves, the 5959 and
    /// resume cases…) comes back from the trace through the archive, byte for byte (strict
    /// mode compares the served BlockResponse with the recorded one).
    @Test func everyGoldenMatchesStreamedWithOneRecentBlock() throws {
        let registry = MachineRegistry.standard
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.traces.path).sorted()
        var checked = 0, served = 0
        var problems: [String] = []
        for name in names {
            guard let parsed = GoldenNaming.parse(golden: name, profiles: registry.profileNames) else { continue }
            let trace = Self.traces.appendingPathComponent(parsed.stem + GoldenNaming.traceSuffix).path
            let size = (try? FileManager.default.attributesOfItem(atPath: trace)[.size] as? NSNumber)?.intValue ?? 0
            guard size > 0, size < 2_000_000 else { continue }
            var golden = GoldenCase(registry: registry, tracePath: trace, goldenPath: Self.traces.appendingPathComponent(name).path,
                                    ci: true, tool: "test")
            golden.compareAsProduced = true
            let outcome = try golden.run(load: { try ReplayTraceLoader.open(path: $0) }, replay: { trace, resolved in
                var options = resolved.options
                options.recentBlocks = 1
                return try ReplaySession.replay(trace, options: options, hint: resolved.hint, machines: registry)
            })
            checked += 1
            guard case .matched(_, let result) = outcome else {
                problems.append("\(name): \(outcome.header.caseName) did not match")
                continue
            }
            #expect(result.goldenMatch == true && result.decisions.isEmpty, "\(name): the log was kept")
            if let text = try? String(contentsOfFile: Self.traces.appendingPathComponent(name).path, encoding: .utf8),
               text.contains("\"found\":true") { served += 1 }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        #expect(checked >= 150, "only \(checked) goldens checked")
        #expect(served >= 8, "only \(served) goldens serve a stored block")
    }

    /// A streamed trace gives the decisions a trace in memory gives (kept logs, both modes).
    @Test func streamedAndInMemoryTracesDecideAlike() throws {
        let path = Self.traces.appendingPathComponent("node-serves-blocks.trace").path
        let inMemory = try ReplayTraceLoader.load(path: path)
        let streamed = try ReplayTraceLoader.open(path: path)
        #expect(streamed.isStreamed && streamed.events.isEmpty && !inMemory.isStreamed)
        #expect(streamed.sha256 == inMemory.sha256 && streamed.facts == inMemory.facts)
        for mode in ReplayMode.allCases {
            var options = ReplayOptions(profile: "tm-v0.34", mode: mode)
            options.recentBlocks = 1
            let a = try ReplaySession.replay(inMemory, options: options, hint: HintSelection(), machines: .standard)
            let b = try ReplaySession.replay(streamed, options: options, hint: HintSelection(), machines: .standard)
            #expect(!a.decisions.isEmpty && a.decisions == b.decisions, "\(mode)")
            #expect(a.decisionCount == a.decisions.count)
        }
        #expect(try streamed.inMemory().events == inMemory.events)
    }

    /// A trace that changes between the checking pass and the replay is refused, not replayed.
    @Test func aTraceChangedAfterOpeningIsRefused() throws {
        let dir = try ReplayFixtures.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("copy.trace")
        try FileManager.default.copyItem(at: Self.traces.appendingPathComponent("node-serves-blocks.trace"), to: copy)
        let trace = try ReplayTraceLoader.open(path: copy.path)
        let handle = try FileHandle(forWritingTo: copy)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        #expect(throws: CaseError("trace \(copy.path) changed after it was checked (size or modification time differs); replay it again")) {
            _ = try ReplaySession.replay(trace, options: ReplayOptions(profile: "tm-v0.34", mode: .strict), hint: HintSelection(),
                                         machines: .standard)
        }
    }

    /// `GoldenCompressor` groups as the batch rule does, one decision at a time: a periodic
    /// candidate that ends short gives up only its first decision (the next may start a run with
    /// another period); a height run that ends short gives up all its members.
    @Test func compressorRestartsAShortPeriodicCandidate() {
        let ms: UInt64 = 1_000_000
        // Status broadcasts at 0, 5, 15, 25, …, 95 ms: 0 stands alone, 5…95 is a 10 ms run of 10.
        let times: [UInt64] = [0] + (0..<10).map { 5 + 10 * $0 }
        var log = times.map { Decision(.statusRequest, time: $0 * ms, cause: .timer("status")) }
        // Then requests 1…7 to p1 (too short: single lines) and 8…15 to p2 (a run of 8).
        log += (1...7).map { Decision(.request(peer: "p1", height: Int64($0)), time: 200 * ms, cause: .timer("requester_loop")) }
        log += (8...15).map { Decision(.request(peer: "p2", height: Int64($0)), time: 300 * ms, cause: .timer("requester_loop")) }
        let entries = GoldenFile.compress(log)
        #expect(entries.count == 1 + 1 + 7 + 1)
        guard entries.count == 10 else { return }
        #expect(entries[0] == .decision(log[0]))
        guard case .periodic(let p) = entries[1] else { Issue.record("not periodic: \(entries[1])"); return }
        #expect(p.count == 10 && p.firstTime == 5 * ms && p.period == 10 * ms)
        for k in 0..<7 { #expect(entries[2 + k] == .decision(log[11 + k])) }
        guard case .run(let r) = entries[9] else { Issue.record("not a run: \(entries[9])"); return }
        #expect(r.firstHeight == 8 && r.lastHeight == 15 && r.peers == ["p2"] && r.digest == DecisionRun.digest(of: log[18...]))
    }
}
