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
    /// Defaults when neither an option nor a golden names them (README explains why):
    /// reactive works on any trace (strict needs the node's own outbound messages); the
    /// profile is the registry's default (`MachineRegistry.defaultProfile`). A trace's `/node`
    /// profile hint, when it names a registered profile, comes before the default profile.
    public static let defaultMode = ReplayMode.reactive

    /// The implementations and profiles this case may name.
    public var registry: MachineRegistry
    public var tracePath: String
    public var goldenPath: String?
    public var profile: ProfileName?
    public var mode: ReplayMode?
    public var record: RecordMode?
    /// `CI=true` in the environment: recording refused, no pending files.
    public var ci: Bool
    public var contextSize: Int
    public var tool: String
    /// Options repeated in the reproduce and update commands (e.g. `--hint FILE --hint-checksum HEX`).
    public var extraArguments: [String]
    /// `--accept-observed-mismatch`: a recorded golden may hold `observed_mismatch` decisions
    /// (marked accepted in its provenance). Without it they fail the case, `--record` or not.
    public var acceptObservedMismatch: Bool

    public init(registry: MachineRegistry, tracePath: String, goldenPath: String? = nil, profile: ProfileName? = nil, mode: ReplayMode? = nil,
                record: RecordMode? = nil, ci: Bool, contextSize: Int = 3, tool: String, extraArguments: [String] = [],
                acceptObservedMismatch: Bool = false) {
        self.registry = registry
        self.tracePath = tracePath
        self.goldenPath = goldenPath
        self.profile = profile
        self.mode = mode
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

    /// Resolves options against the golden, replays, compares, and writes what the record
    /// mode asks for. Throws `CaseError` (exit 2, nothing written) for unusable input.
    public func run(load: (String) throws -> ReplayTrace,
                    replay: (ReplayTrace, ReplayOptions) throws -> ReplayResult) throws -> Outcome {
        if record != nil && ci {
            throw CaseError("recording goldens is refused when CI=true (review and commit goldens locally)")
        }
        if let profile, registry.implementation(of: profile) == nil {
            throw CaseError("unknown profile \(profile) (expected \(registry.profileList))")
        }
        let fm = FileManager.default
        let trace: ReplayTrace
        do { trace = try load(tracePath) } catch let e as CaseError { throw e } catch { throw CaseError("\(error)") }
        // Issue 17: no /blocksync event, no block-sync profile — in the golden's name and provenance.
        let profileFree = !trace.hasBlocksync
        var notes: [String] = []
        if profileFree, let ignored = profile {
            notes.append("note: --profile \(ignored.rawValue) ignored: \(tracePath) has no /blocksync events, so no block-sync profile applies")
        }
        let profile = profileFree ? nil : self.profile
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
            }
            if let named = GoldenNaming.parse(golden: path, profiles: registry.profileNames)?.profile, named != g.profile {
                throw CaseError("golden \(path) is named for profile \(named.rawValue) but its provenance says \(g.profile?.rawValue ?? "none (a trace without /blocksync events)")")
            }
        }
        if let g = golden?.provenance {
            if let profile, let golden = g.profile, profile != golden {
                throw CaseError("--profile \(profile.rawValue) conflicts with the golden's profile \(golden.rawValue) (\(path)); omit --profile or use NAME.\(profile.rawValue).golden.json")
            }
            if let mode, mode != g.mode {
                throw CaseError("--mode \(mode.rawValue) conflicts with the golden's mode \(g.mode.rawValue) (\(path)); omit --mode")
            }
        }
        let hinted = trace.node.map { ProfileName($0.profileHint) }.flatMap { registry.implementation(of: $0) == nil ? nil : $0 }
        guard let resolvedProfile = profile ?? golden?.provenance.profile ?? hinted ?? registry.defaultProfile else {
            throw CaseError("no profile: pass --profile (\(registry.profileList))")
        }
        let options = ReplayOptions(profile: resolvedProfile, mode: mode ?? golden?.provenance.mode ?? GoldenCase.defaultMode)
        if let g = golden?.provenance, g.traceSHA256 != trace.sha256, record != .all {
            throw CaseError("golden \(path) was recorded from a different trace (sha256 \(g.traceSHA256), this trace is \(trace.sha256)); re-record with --record all")
        }
        let result: ReplayResult
        do { result = try replay(trace, options) } catch let e as CaseError { throw e } catch { throw CaseError("\(error)") }

        // Observed vs replayed (issue 17): a golden may hold disagreements with the real node only
        // when they were accepted explicitly — by --accept-observed-mismatch, or by the golden
        // itself when it is compared, not rewritten.
        let mismatches = result.decisions.filter { $0.kind == .observedMismatch }
        let goldenAccepts = golden?.provenance.acceptsObservedMismatch == true && (record == nil || record == .missing)
        let accepted = acceptObservedMismatch || goldenAccepts
        let provenanceProfile = profileFree ? nil : options.profile
        let provenance = Provenance(traceSHA256: trace.sha256, traceEvents: trace.events.count,
                                    implementation: profileFree ? nil : registry.implementation(of: options.profile)?.name,
                                    profile: provenanceProfile, mode: options.mode, tool: tool,
                                    acceptsObservedMismatch: accepted && !mismatches.isEmpty)
        let actualGolden = GoldenFile(provenance: provenance, decisions: result.decisions)
        let header = ReportHeader(caseName: GoldenNaming.caseName(trace: tracePath), tracePath: tracePath, traceSHA256: trace.sha256,
                                  goldenPath: path, implementation: provenance.implementation, profile: provenanceProfile,
                                  mode: options.mode, tool: tool,
                                  goldenTool: golden.map(\.provenance.tool).flatMap { $0 == tool ? nil : $0 }, notes: notes)
        let profileArguments = provenanceProfile.map { ["--profile", $0.rawValue] } ?? []
        if !mismatches.isEmpty && !accepted {
            return .disagreed(report: ObservedMismatchReport(header: header, decisions: result.decisions, events: trace.events,
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
            events: trace.events.map(\.summary), contextSize: contextSize,
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
