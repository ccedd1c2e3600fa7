import FileInput
import Foundation
import SyncMachine
import SyncDriver

/// `--record` modes (harness-notes.md §2.2): write goldens instead of failing.
public enum RecordMode: String, CaseIterable, Sendable {
    /// Write goldens that do not exist yet; compare the others.
    case missing
    /// Rewrite goldens whose comparison fails (and write missing ones).
    case failed
    /// Rewrite every golden.
    case all
}

/// A replay-and-compare case could not run (exit 2). Nothing has been written.
public struct CaseError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// One trace checked against one golden, with the record and pending-file workflow of
/// harness-notes.md §2 (DESIGN.md §4).
public struct GoldenCase: Sendable {
    /// The implementations and profiles this case may name.
    public var registry: MachineRegistry
    public var tracePath: String
    public var goldenPath: String?
    /// The options asked for; the rest come from the golden (`ReplayRequest.resolve`).
    public var request: ReplayRequest
    public var record: RecordMode?
    /// `CI=true` in the environment: recording refused, no pending files.
    public var ci: Bool
    public var contextSize: Int
    public var tool: String
    /// Options repeated in the reproduce and update commands besides the hint's (e.g. `--accept-observed-mismatch`).
    public var extraArguments: [String]
    /// `--accept-observed-mismatch`: a recorded golden may hold `observed_mismatch` decisions
    /// (marked accepted in its provenance). Without it they fail the case, `--record` or not.
    public var acceptObservedMismatch: Bool
    /// Compare with an existing golden as decisions are produced and keep no decision log
    /// (issue 19: replay memory independent of the trace's length). A matching case's result
    /// then has no `decisions`; a failing one is replayed again with its log kept, for the report
    /// (replay is deterministic, so the second run decides the same). Off by default: `suite`
    /// keeps every log for its coverage and reports.
    public var compareAsProduced = false

    public init(registry: MachineRegistry, tracePath: String, goldenPath: String? = nil, request: ReplayRequest = ReplayRequest(),
                record: RecordMode? = nil, ci: Bool, contextSize: Int = 3, tool: String, extraArguments: [String] = [],
                acceptObservedMismatch: Bool = false) {
        self.registry = registry
        self.tracePath = tracePath
        self.goldenPath = goldenPath
        self.request = request
        self.record = record
        self.ci = ci
        self.contextSize = contextSize
        self.tool = tool
        self.extraArguments = extraArguments
        self.acceptObservedMismatch = acceptObservedMismatch
    }

    /// What happened.
    public enum Outcome: Sendable {
        case matched(header: ReportHeader, result: ReplayResult)
        /// The comparison failed; `pending` is the `.golden.new.json` written (nil in CI).
        case diverged(report: DivergenceReport, result: ReplayResult, pending: String?)
        /// A golden was written (`reason`: the record mode that wrote it).
        case recorded(header: ReportHeader, result: ReplayResult, path: String, reason: RecordMode)
        /// The validator disagreed with results the real node logged, and neither
        /// `--accept-observed-mismatch` nor the golden accepts that; nothing was written.
        case disagreed(report: ObservedMismatchReport, result: ReplayResult)

        public var header: ReportHeader {
            switch self {
            case .matched(let h, _), .recorded(let h, _, _, _): return h
            case .diverged(let r, _, _): return r.header
            case .disagreed(let r, _): return r.header
            }
        }
    }

    /// A case ready to replay: its trace, its golden (if one exists) and the resolved options.
    public struct Prepared: Sendable {
        public var trace: ReplayTrace
        /// The golden compared with or written: explicit, else `NAME.<profile>.golden.json` when
        /// it exists (or is to be recorded), else `NAME.golden.json`.
        public var goldenPath: String
        public var golden: GoldenFile?
        public var resolved: ResolvedReplay
        /// Issue 17: the trace has no /blocksync event, so no block-sync profile applies.
        public var profileFree: Bool
        /// Said on stderr (e.g. an ignored `--profile`).
        public var notes: [String]
    }

    /// Loads the trace and the golden and resolves the options, as `run` does before it replays
    /// (`--check-determinism` hands the result to its children). Throws `CaseError` (exit 2).
    public func prepare(load: (String) throws -> ReplayTrace) throws(CaseError) -> Prepared {
        if let profile = request.profile, registry.implementation(of: profile) == nil {
            throw CaseError("unknown profile \(profile) (expected \(registry.profileList))")
        }
        let fm = FileManager.default
        let trace: ReplayTrace
        do { trace = try load(tracePath) } catch let e as CaseError { throw e } catch { throw CaseError("\(error)") }
        // Issue 17: no /blocksync event, no block-sync profile — in the golden's name and provenance.
        let profileFree = !trace.hasBlocksync
        var notes: [String] = []
        var request = self.request
        if profileFree, let ignored = request.profile {
            notes.append("note: --profile \(ignored.rawValue) ignored: \(tracePath) has no /blocksync events, so no block-sync profile applies")
            request.profile = nil
        }
        if profileFree, let ignored = request.implementationOptions.keys.sorted().first {
            notes.append("note: --\(ignored) ignored: \(tracePath) has no /blocksync events, so no block-sync implementation runs")
            request.implementationOptions = [:]
        }
        if !profileFree, !trace.testOverrides.isEmpty {
            notes.append("note: \(tracePath) ran with non-faithful test overrides (\(trace.testOverrides.metadataValue)), applied to this replay: its decisions are no released version's")
        }
        let profile = request.profile
        // Which golden: explicit, else NAME.<profile>.golden.json when it exists, else NAME.golden.json.
        var path = goldenPath ?? GoldenNaming.golden(trace: tracePath, profile: nil)
        if goldenPath == nil, let profile {
            let perProfile = GoldenNaming.golden(trace: tracePath, profile: profile)
            if fm.fileExists(atPath: perProfile) || !fm.fileExists(atPath: path) || record != nil { path = perProfile }
        }
        var golden: GoldenFile?
        if fm.fileExists(atPath: path) {
            let data: [UInt8]
            do { data = try InputFile.read(path, what: "golden") } catch { throw CaseError(error.description) }
            do { golden = try GoldenFile.decode(data) } catch { throw CaseError("golden \(path): \(error)") }
            let g = golden!.provenance
            if let goldenProfile = g.profile {
                guard let owner = registry.implementation(of: goldenProfile) else {
                    throw CaseError("golden \(path): \(GoldenError.unknownProfile(goldenProfile.rawValue, known: registry.profileList))")
                }
                if owner.name != g.implementation {
                    throw CaseError("golden \(path): profile \(goldenProfile) belongs to implementation \(owner.name), not \(g.implementation ?? "none")")
                }
                if let name = g.options.keys.sorted().first(where: { !owner.options.contains($0) }) {
                    throw CaseError("golden \(path): option \(name) does not apply to profile \(goldenProfile) (implementation \(owner.name))")
                }
            }
            if let named = GoldenNaming.parse(golden: path, profiles: registry.profileNames)?.profile, named != g.profile {
                throw CaseError("golden \(path) is named for profile \(named.rawValue) but its provenance says \(g.profile?.rawValue ?? "none (a trace without /blocksync events)")")
            }
        }
        let resolved = try request.resolve(trace: trace, golden: golden.map { (path, $0.provenance) }, registry: registry)
        return Prepared(trace: trace, goldenPath: path, golden: golden, resolved: resolved, profileFree: profileFree, notes: notes)
    }

    /// Resolves options against the golden, replays, compares, and writes what the record
    /// mode asks for. Throws `CaseError` (exit 2, nothing written) for unusable input.
    public func run(load: (String) throws -> ReplayTrace,
                    replay: (ReplayTrace, ResolvedReplay) throws -> ReplayResult) throws -> Outcome {
        if record != nil && ci {
            throw CaseError("recording goldens is refused when CI=true (review and commit goldens locally)")
        }
        let prepared = try prepare(load: load)
        var trace = prepared.trace
        let path = prepared.goldenPath, golden = prepared.golden, profileFree = prepared.profileFree
        let options = prepared.resolved.options
        if let g = golden?.provenance, g.traceSHA256 != trace.sha256, record != .all {
            throw CaseError("golden \(path) was recorded from a different trace (sha256 \(g.traceSHA256), this trace is \(trace.sha256)); re-record with --record all")
        }
        // Observed vs replayed (issue 17): a golden may hold disagreements with the real node only
        // when they were accepted explicitly — by --accept-observed-mismatch, or by the golden
        // itself when it is compared, not rewritten.
        let goldenAccepts = golden?.provenance.acceptsObservedMismatch == true && (record == nil || record == .missing)
        let accepted = acceptObservedMismatch || goldenAccepts
        var result: ReplayResult
        do {
            var resolved = prepared.resolved
            if compareAsProduced, record == nil || record == .missing, let golden { resolved.options.compareWith = golden.entries }
            result = try replay(trace, resolved)
            if result.goldenMatch == false || (result.goldenMatch == true && !result.observedMismatches.isEmpty && !accepted) {
                // The report needs the whole log and the events: replay again, keeping them.
                trace = try trace.inMemory()
                result = try replay(trace, prepared.resolved)
            }
        } catch let e as CaseError { throw e } catch { throw CaseError("\(error)") }

        let mismatches = result.observedMismatches
        let provenanceProfile = profileFree ? nil : options.profile
        let provenance = Provenance(traceSHA256: trace.sha256, traceEvents: trace.facts.eventCount,
                                    implementation: profileFree ? nil : registry.implementation(of: options.profile)?.name,
                                    profile: provenanceProfile, mode: options.mode, tool: tool,
                                    acceptsObservedMismatch: accepted && !mismatches.isEmpty,
                                    options: profileFree ? [:] : options.implementationOptions,
                                    nonFaithful: profileFree ? TestOverrides() : trace.testOverrides)
        let actualGolden = GoldenFile(provenance: provenance, decisions: result.decisions)
        let header = ReportHeader(caseName: GoldenNaming.caseName(trace: tracePath), tracePath: tracePath, traceSHA256: trace.sha256,
                                  goldenPath: path, implementation: provenance.implementation, profile: provenanceProfile,
                                  mode: options.mode, tool: tool,
                                  goldenTool: golden.map(\.provenance.tool).flatMap { $0 == tool ? nil : $0 }, notes: prepared.notes)
        let profileArguments = (provenanceProfile.map { ["--profile", $0.rawValue] } ?? []) + (profileFree ? [] : prepared.resolved.implementationArguments)
        let extraArguments = request.hint.arguments + self.extraArguments
        if !mismatches.isEmpty && !accepted {
            return .disagreed(report: ObservedMismatchReport(header: header, decisions: result.decisions, events: try trace.inMemory().events,
                                                             recordRefused: record != nil),
                              result: result)
        }
        guard let golden else {
            guard record != nil else {
                throw CaseError("no golden at \(path); create it with: \(ShellQuote.command(["syncreplay", tracePath, "--expect", path] + profileArguments + ["--mode", options.mode.rawValue] + extraArguments + ["--record", "missing"]))")
            }
            try write(actualGolden, to: path)
            removeStalePending(path)
            return .recorded(header: header, result: result, path: path, reason: record!)
        }
        if result.goldenMatch == true {
            // Compared as produced: every line matched (`compareAsProduced`); nothing is written.
            removeStalePending(path)
            return .matched(header: header, result: result)
        }
        let comparison = GoldenComparison.compare(expected: golden.entries, actual: result.decisions)
        if comparison.matches || record == .failed || record == .all { removeStalePending(path) }
        if comparison.matches && golden.provenance == provenance {
            if record == .all {
                try write(actualGolden, to: path)
                return .recorded(header: header, result: result, path: path, reason: .all)
            }
            return .matched(header: header, result: result)
        }
        if comparison.matches {
            // Same decisions, different provenance (another tool version, or a re-recorded trace).
            if record == .all || record == .failed {
                try write(actualGolden, to: path)
                return .recorded(header: header, result: result, path: path, reason: record!)
            }
            return .matched(header: header, result: result)
        }
        if record == .failed || record == .all {
            try write(actualGolden, to: path)
            return .recorded(header: header, result: result, path: path, reason: record!)
        }
        var pending: String?
        if !ci {
            pending = GoldenNaming.pending(golden: path)
            try write(actualGolden, to: pending!)
        }
        let base = ["syncreplay", tracePath, "--expect", path]
        let report = DivergenceReport(
            header: header, comparison: comparison, expected: golden.entries, actual: result.decisions,
            events: try trace.inMemory().events.map(\.summary), contextSize: contextSize,
            reproduceCommand: ShellQuote.command(base + profileArguments + ["--mode", options.mode.rawValue] + extraArguments),
            updateCommand: ShellQuote.command(base + extraArguments + ["--record", "failed"]))
        return .diverged(report: report, result: result, pending: pending)
    }

    /// A pending golden left by an earlier failing run is stale once the golden is current.
    private func removeStalePending(_ path: String) {
        guard !ci else { return }
        let pending = GoldenNaming.pending(golden: path)
        if pending != path, FileManager.default.fileExists(atPath: pending) { try? FileManager.default.removeItem(atPath: pending) }
    }

    private func write(_ golden: GoldenFile, to path: String) throws {
        do {
            try Data(golden.encoded().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CaseError("cannot write \(path): \(error.localizedDescription)")
        }
    }
}
