import HexCoding
import Foundation
import Crypto
import SyncMachine
import JSON
import SyncDriver

/// One case of a suite: a trace and one of its goldens.
public struct SuiteCase: Equatable, Sendable {
    /// `NAME` or `NAME.<profile>`, relative to the suite directory.
    public var name: String
    public var tracePath: String
    public var goldenPath: String
}

/// What `syncreplay suite DIR` found on disk (DESIGN.md §7 layout): cases, and the warnings of
/// harness-notes.md §0 item 7 (goldens no trace uses; traces with no golden).
public struct SuiteLayout: Equatable, Sendable {
    public var cases: [SuiteCase]
    public var orphanGoldens: [String]
    public var tracesWithoutGolden: [String]

    /// Scans `directory` recursively, in sorted path order; `profiles` are the names a golden's
    /// file name may carry.
    public static func scan(_ directory: String, profiles: [ProfileName]) throws(CaseError) -> SuiteLayout {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw CaseError("suite directory \(directory) does not exist or is not a directory")
        }
        guard let enumerator = fm.enumerator(atPath: directory) else { throw CaseError("cannot list \(directory)") }
        var files: [String] = []
        while let item = enumerator.nextObject() as? String { files.append(item) }
        files.sort()
        let root = directory.hasSuffix("/") ? directory : directory + "/"
        let traces = Set(files.filter { $0.hasSuffix(GoldenNaming.traceSuffix) })
        var cases: [SuiteCase] = [], orphans: [String] = [], used: Set<String> = []
        for file in files {
            guard let parsed = GoldenNaming.parse(golden: file, profiles: profiles) else { continue }
            let trace = parsed.stem + GoldenNaming.traceSuffix
            guard traces.contains(trace) else { orphans.append(root + file); continue }
            used.insert(trace)
            cases.append(SuiteCase(name: parsed.stem + (parsed.profile.map { "." + $0.rawValue } ?? ""),
                                   tracePath: root + trace, goldenPath: root + file))
        }
        let bare = traces.subtracting(used).sorted().map { root + $0 }
        return SuiteLayout(cases: cases, orphanGoldens: orphans, tracesWithoutGolden: bare)
    }
}

/// The result of one suite case.
public struct SuiteCaseResult: Sendable {
    public enum Status: String, Sendable { case pass, fail, error }

    public var suiteCase: SuiteCase
    public var status: Status
    public var profile: ProfileName?
    public var mode: ReplayMode?
    public var traceSHA256: String?
    public var goldenSHA256: String?
    public var decisions: [Decision]
    public var report: DivergenceReport?
    /// Disagreements with the real node that no golden accepted (issue 17).
    public var disagreement: ObservedMismatchReport?
    /// The one-line reason of a failure or error.
    public var message: String?
    public var pending: String?
    public var seconds: Double

    public var firstDivergencePointer: String? { report?.first?.pointer }

    /// A passing case whose golden accepts `observed_mismatch` decisions: the validator and the
    /// real node disagree there, knowingly (issue 17).
    public var knownDisagreements: Int {
        status == .pass ? decisions.filter { $0.kind == .observedMismatch }.count : 0
    }

    /// The full text of a failure: the divergence report or the disagreement report.
    public var failureText: String? { report?.text ?? disagreement?.text }
}

/// Which decision kinds and reasons a corpus reached, and which it never reached.
public struct Coverage: Equatable, Sendable {
    public var kinds: [DecisionKind: Int]
    /// Reasons seen, per kind (`peer_removed`, `peer_banned`, `pivot_switch`, `pivot_extend`, `hint_disabled`).
    public var reasons: [DecisionKind: [String: Int]]

    public init(decisionLogs: [[Decision]]) {
        var kinds: [DecisionKind: Int] = [:], reasons: [DecisionKind: [String: Int]] = [:]
        for log in decisionLogs {
            for d in log {
                kinds[d.kind, default: 0] += 1
                if let r = d.action.reason { reasons[d.kind, default: [:]][r, default: 0] += 1 }
            }
        }
        self.kinds = kinds
        self.reasons = reasons
    }

    /// Kinds of the taxonomy never reached, in taxonomy order.
    public var kindsNeverReached: [DecisionKind] { DecisionKind.allCases.filter { kinds[$0] == nil } }

    /// Pivot reasons (a closed set) never reached, per pivot kind.
    public var pivotReasonsNeverReached: [(kind: DecisionKind, reasons: [String])] {
        [DecisionKind.pivotSwitch, .pivotExtend].map { kind in
            (kind, PivotReason.allCases.map(\.rawValue).filter { reasons[kind]?[$0] == nil })
        }
    }

    public var lines: [String] {
        var out = ["coverage: \(kinds.count) of \(DecisionKind.allCases.count) decision kinds reached"]
        for kind in DecisionKind.allCases where kinds[kind] != nil {
            var line = "  reached \(kind.rawValue) ×\(kinds[kind]!)"
            if let r = reasons[kind], !r.isEmpty {
                line += ": " + r.keys.sorted().map { "\($0) ×\(r[$0]!)" }.joined(separator: ", ")
            }
            out.append(line)
        }
        let never = kindsNeverReached
        if !never.isEmpty { out.append("  never reached: " + never.map(\.rawValue).joined(separator: ", ")) }
        for (kind, missing) in pivotReasonsNeverReached where !missing.isEmpty {
            out.append("  \(kind.rawValue) reasons never reached: " + missing.joined(separator: ", "))
        }
        return out
    }

    public var json: JSONValue {
        var reached: JSONObject = [:]
        for (kind, count) in kinds {
            var m: JSONObject = ["count": .int(Int64(count))]
            if let r = reasons[kind] { m["reasons"] = .object(JSONObject(sorting: r.mapValues { .int(Int64($0)) })) }
            reached[kind.rawValue] = .object(m)
        }
        var neverReasons: JSONObject = [:]
        for (kind, missing) in pivotReasonsNeverReached { neverReasons[kind.rawValue] = .array(missing.map { .string($0) }) }
        return .object(["reached": .object(reached),
                        "never_reached": .array(kindsNeverReached.map { .string($0.rawValue) }),
                        "reasons_never_reached": .object(neverReasons)])
    }
}

/// A whole suite run, with its renderings (text table, TAP 14, JSON, JUnit XML —
/// harness-notes.md §6).
public struct SuiteRun: Sendable {
    public var directory: String
    public var results: [SuiteCaseResult]
    public var layout: SuiteLayout

    public var failed: Int { results.filter { $0.status == .fail }.count }
    public var errors: Int { results.filter { $0.status == .error }.count }
    public var passed: Int { results.filter { $0.status == .pass }.count }
    public var coverage: Coverage { Coverage(decisionLogs: results.map(\.decisions)) }

    public var warnings: [String] {
        layout.orphanGoldens.map { "warning: golden \($0) has no trace (NAME.trace beside it)" }
            + layout.tracesWithoutGolden.map { "warning: trace \($0) has no golden (record one with --record missing)" }
    }

    /// The fewest events for which a suite case verifies ahead (`ReplayOptions.verifyAhead`);
    /// decisions are the same either way.
    public static let verifyAheadFromEvents = 2_000

    /// Runs every case (of `shard`, when given), `jobs` at a time, largest trace first; results
    /// keep the scan order. The cases share one `SignatureMemory`: a trace replayed under
    /// several profiles has its signatures verified once (issue 19).
    public static func run(directory: String, registry: MachineRegistry, jobs: Int, ci: Bool, tool: String, shard: SuiteShard? = nil,
                           load: @escaping @Sendable (String) throws -> ReplayTrace,
                           replay: @escaping @Sendable (ReplayTrace, ResolvedReplay) throws -> ReplayResult) throws(CaseError) -> SuiteRun {
        var layout = try SuiteLayout.scan(directory, profiles: registry.profileNames)
        if let shard { layout.cases = layout.cases.filter(shard.contains) }
        let cases = layout.cases
        let box = ResultBox(largestFirst: cases.map(\.tracePath))
        let width = max(1, jobs)
        let memory = SignatureMemory()
        let remembering: @Sendable (ReplayTrace, ResolvedReplay) throws -> ReplayResult = { trace, resolved in
            var resolved = resolved
            resolved.options.signatureMemory = memory
            // With `jobs` cases at a time the cores are busy already: a small case's verifier
            // ahead would only decode its blocks a second time. The long ones keep it (they
            // run first, and alone at the end).
            if trace.facts.eventCount < SuiteRun.verifyAheadFromEvents { resolved.options.verifyAhead = false }
            return try replay(trace, resolved)
        }
        // `width` workers pull case indices from a shared counter.
        DispatchQueue.concurrentPerform(iterations: min(width, max(cases.count, 1))) { _ in
            while let i = box.nextIndex() {
                box.set(i, SuiteRun.runCase(cases[i], registry: registry, ci: ci, tool: tool, load: load, replay: remembering))
            }
        }
        return SuiteRun(directory: directory, results: box.results.compactMap { $0 }, layout: layout)
    }

    static func runCase(_ c: SuiteCase, registry: MachineRegistry, ci: Bool, tool: String,
                        load: (String) throws -> ReplayTrace,
                        replay: (ReplayTrace, ResolvedReplay) throws -> ReplayResult) -> SuiteCaseResult {
        let start = Date()
        var r = SuiteCaseResult(suiteCase: c, status: .error, decisions: [], seconds: 0)
        if let data = FileManager.default.contents(atPath: c.goldenPath) {
            r.goldenSHA256 = Hex.lower(Array(SHA256.hash(data: data)))
        }
        do {
            let outcome = try GoldenCase(registry: registry, tracePath: c.tracePath, goldenPath: c.goldenPath, ci: ci, tool: tool)
                .run(load: load, replay: replay)
            switch outcome {
            case .matched(let h, let result), .recorded(let h, let result, _, _):
                r.status = .pass
                r.profile = h.profile; r.mode = h.mode; r.traceSHA256 = h.traceSHA256
                r.decisions = result.decisions
            case .diverged(let report, let result, let pending):
                r.status = .fail
                r.profile = report.header.profile; r.mode = report.header.mode; r.traceSHA256 = report.header.traceSHA256
                r.decisions = result.decisions
                r.report = report
                r.message = report.oneLine
                r.pending = pending
            case .disagreed(let report, let result):
                r.status = .fail
                r.profile = report.header.profile; r.mode = report.header.mode; r.traceSHA256 = report.header.traceSHA256
                r.decisions = result.decisions
                r.disagreement = report
                r.message = report.oneLine
            }
            if r.knownDisagreements > 0 {
                r.message = "known disagreement: \(r.knownDisagreements) observed_mismatch accepted by the golden"
            }
        } catch {
            r.message = "\(error)"
        }
        r.seconds = Date().timeIntervalSince(start)
        return r
    }

    // MARK: renderings

    public var text: String {
        var rows = [["STATUS", "CASE", "PROFILE", "MODE", "DECISIONS", "DETAIL"]]
        for r in results {
            rows.append([r.status.rawValue.uppercased(), r.suiteCase.name, r.profile?.rawValue ?? "-", r.mode?.rawValue ?? "-",
                         String(r.decisions.count), r.message ?? ""])
        }
        var widths = [Int](repeating: 0, count: 5)
        for row in rows { for i in 0..<5 { widths[i] = max(widths[i], row[i].count) } }
        var out = rows.map { row in
            (0..<5).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[5]
        }
        out = out.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
        for r in results where r.status == .fail {
            if let text = r.failureText { out.append(""); out.append(text.trimmingCharacters(in: .newlines)) }
            if let p = r.pending { out.append("pending golden written: \(p)") }
        }
        out.append("")
        out += warnings
        out += coverage.lines
        let known = results.filter { $0.knownDisagreements > 0 }.count
        out.append("\(results.count) cases: \(passed) passed, \(failed) failed, \(errors) errors"
                   + (known > 0 ? " (\(known) passing with known disagreements with the real node)" : ""))
        return out.joined(separator: "\n") + "\n"
    }

    /// GitHub Actions annotations for failing cases (printed when `GITHUB_ACTIONS=true`).
    public var githubAnnotations: [String] {
        results.filter { $0.status != .pass }.map { r in
            let message = (r.message ?? "").replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "\n", with: "%0A")
            return "::error file=\(r.suiteCase.goldenPath),title=syncreplay \(r.suiteCase.name)::\(message)"
        }
    }

    /// TAP version 14: one line per case, YAML diagnostics for failures.
    public var tap: String {
        var out = ["TAP version 14", "1..\(results.count)"]
        for (i, r) in results.enumerated() {
            out.append("\(r.status == .pass ? "ok" : "not ok") \(i + 1) - \(r.suiteCase.name)")
            if r.status != .pass {
                out.append("  ---")
                out.append("  message: \(JSONValue.string(r.message ?? "").canonical)")
                out.append("  severity: \(r.status == .fail ? "fail" : "error")")
                if let p = r.firstDivergencePointer { out.append("  pointer: \(JSONValue.string(p).canonical)") }
                if let report = r.report {
                    out.append("  reproduce: \(JSONValue.string(report.reproduceCommand).canonical)")
                    out.append("  update: \(JSONValue.string(report.updateCommand).canonical)")
                }
                out.append("  ...")
            }
        }
        for w in warnings { out.append("# " + w) }
        for l in coverage.lines { out.append("# " + l) }
        return out.joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        .object([
            "directory": .string(directory),
            "cases": .array(results.map { r in
                .object([
                    "name": .string(r.suiteCase.name), "trace": .string(r.suiteCase.tracePath), "golden": .string(r.suiteCase.goldenPath),
                    "status": .string(r.status.rawValue),
                    "profile": r.profile.map { .string($0.rawValue) } ?? .null,
                    "mode": r.mode.map { .string($0.rawValue) } ?? .null,
                    "trace_sha256": r.traceSHA256.map { .string($0) } ?? .null,
                    "decisions": .int(Int64(r.decisions.count)),
                    "message": r.message.map { .string($0) } ?? .null,
                    "report": r.report?.json ?? .null,
                ])
            }),
            "warnings": .array(warnings.map { .string($0) }),
            "coverage": coverage.json,
            "summary": .object(["cases": .int(Int64(results.count)), "passed": .int(Int64(passed)),
                                "failed": .int(Int64(failed)), "errors": .int(Int64(errors))]),
        ])
    }

    /// JUnit XML (Ant/Jenkins schema): per-case properties, `failure` for divergences, `error`
    /// for harness problems, the report in `system-out`, the coverage as suite properties.
    public func junit(timestamp: String) -> String { junitDocument(timestamp: timestamp).xml }

    public func junitDocument(timestamp: String) -> JUnitDocument {
        let cases = results.map { r -> JUnitCase in
            let name = r.suiteCase.name
            let classname = "syncreplay." + (name.contains("/") ? String(name[..<name.lastIndex(of: "/")!]).replacingOccurrences(of: "/", with: ".") : "suite")
            var props: [JUnitProperty] = [JUnitProperty("trace", r.suiteCase.tracePath), JUnitProperty("golden", r.suiteCase.goldenPath)]
            if let s = r.traceSHA256 { props.append(JUnitProperty("trace.sha256", s)) }
            if let s = r.goldenSHA256 { props.append(JUnitProperty("golden.sha256", s)) }
            if let p = r.profile { props.append(JUnitProperty("profile", p.rawValue)) }
            if let m = r.mode { props.append(JUnitProperty("mode", m.rawValue)) }
            props.append(JUnitProperty("decisions", String(r.decisions.count)))
            if let p = r.firstDivergencePointer { props.append(JUnitProperty("first_divergence.pointer", p)) }
            if r.knownDisagreements > 0 { props.append(JUnitProperty("known_disagreements", String(r.knownDisagreements))) }
            let outcome: JUnitCase.Outcome
            switch r.status {
            case .pass: outcome = .pass
            case .fail: outcome = .failure(message: r.message ?? "", type: r.disagreement == nil ? "divergence" : "observed_mismatch",
                                          body: r.report?.oneLine ?? r.message ?? "", systemOut: r.failureText ?? "")
            case .error: outcome = .error(message: r.message ?? "", type: "harness")
            }
            return JUnitCase(classname: classname, name: name, time: String(format: "%.3f", r.seconds), properties: props, outcome: outcome)
        }
        return JUnitDocument(suiteName: directory, timestamp: timestamp, cases: cases, coverage: coverage)
    }
}

/// Collects results from worker threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    /// The indices in the order workers take them.
    private let order: [Int]
    private(set) var results: [SuiteCaseResult?]

    /// One slot per path, handed out largest file first (then index order): the longest cases
    /// start while there is still other work to fill the remaining workers, instead of one
    /// running alone at the end.
    init(largestFirst paths: [String]) {
        let sizes = paths.map { (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? NSNumber)?.uint64Value ?? 0 }
        results = Array(repeating: nil, count: paths.count)
        order = paths.indices.sorted { sizes[$0] != sizes[$1] ? sizes[$0] > sizes[$1] : $0 < $1 }
    }

    func nextIndex() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard next < order.count else { return nil }
        next += 1
        return order[next - 1]
    }

    func set(_ i: Int, _ r: SuiteCaseResult) {
        lock.lock(); defer { lock.unlock() }
        results[i] = r
    }
}
