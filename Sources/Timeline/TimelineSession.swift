import Replay
import SyncMachine

/// Makes the timeline of one trace through the replayer's public entry points (load a trace,
/// replay it with options, read the decision log), so it follows whatever engine drives them.
public struct TimelineSession: Sendable {
    public var tracePath: String
    /// Compare with this golden (its profile and mode apply); its first divergence is marked.
    public var goldenPath: String?
    public var profile: ProfileName?
    public var mode: ReplayMode?
    /// Draw the trace alone, without replaying it.
    public var recorded: Bool
    public var hint: HintSelection
    public var tool: String

    public init(tracePath: String, goldenPath: String? = nil, profile: ProfileName? = nil, mode: ReplayMode? = nil,
                recorded: Bool = false, hint: HintSelection = HintSelection(), tool: String) {
        self.tracePath = tracePath
        self.goldenPath = goldenPath
        self.profile = profile
        self.mode = mode
        self.recorded = recorded
        self.hint = hint
        self.tool = tool
    }

    /// Loads, replays (unless `recorded`) and builds the model. Bad input throws `CaseError`.
    /// With a golden the comparison runs as in CI: nothing is written beside it.
    public func timeline(machines: MachineRegistry) throws(CaseError) -> Timeline {
        let trace = try ReplayTraceLoader.load(path: tracePath)
        let name = GoldenNaming.caseName(trace: tracePath)
        if recorded { return TimelineBuilder.recorded(trace: trace, name: name) }
        let hint = self.hint
        let replay: (ReplayTrace, ReplayOptions) throws -> ReplayResult = {
            try ReplaySession.replay($0, options: $1, hint: hint, machines: machines)
        }
        if let goldenPath {
            let golden = GoldenCase(registry: machines, tracePath: tracePath, goldenPath: goldenPath, profile: profile, mode: mode, ci: true, tool: tool,
                                    extraArguments: hint.arguments)
            let outcome: GoldenCase.Outcome
            do { outcome = try golden.run(load: { _ in trace }, replay: replay) } catch let e as CaseError { throw e } catch {
                throw CaseError("\(error)")
            }
            switch outcome {
            case .matched(let h, let result), .recorded(let h, let result, _, _):
                return TimelineBuilder.replayed(trace: trace, name: name, decisions: result.decisions, profile: h.profile, mode: h.mode)
            case .diverged(let report, let result, _):
                return TimelineBuilder.replayed(trace: trace, name: name, decisions: result.decisions, profile: report.header.profile,
                                                mode: report.header.mode, divergence: DivergenceMark(report: report))
            case .disagreed(let report, let result):
                return TimelineBuilder.replayed(trace: trace, name: name, decisions: result.decisions, profile: report.header.profile,
                                                mode: report.header.mode)
            }
        }
        let hinted = trace.node.map { ProfileName($0.profileHint) }.flatMap { machines.implementation(of: $0) == nil ? nil : $0 }
        guard let resolved = profile ?? hinted ?? machines.defaultProfile else {
            throw CaseError("no profile: pass --profile (\(machines.profileList))")
        }
        let options = ReplayOptions(profile: resolved, mode: mode ?? GoldenCase.defaultMode)
        let result = try ReplaySession.replay(trace, options: options, hint: hint, machines: machines)
        return TimelineBuilder.replayed(trace: trace, name: name, decisions: result.decisions, profile: trace.hasBlocksync ? options.profile : nil, mode: options.mode)
    }
}
