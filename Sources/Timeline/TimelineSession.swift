import Replay
import SyncMachine

/// Makes the timeline of one trace through the replayer's public entry points (load a trace,
/// replay it with options, read the decision log), so it follows whatever engine drives them.
public struct TimelineSession: Sendable {
    public var tracePath: String
    /// Compare with this golden (its profile and mode apply); its first divergence is marked.
    public var goldenPath: String?
    /// The options asked for (profile, mode, hint); resolved as replay resolves them.
    public var request: ReplayRequest
    /// Draw the trace alone, without replaying it.
    public var recorded: Bool
    public var tool: String

    public init(tracePath: String, goldenPath: String? = nil, request: ReplayRequest = ReplayRequest(), recorded: Bool = false, tool: String) {
        self.tracePath = tracePath
        self.goldenPath = goldenPath
        self.request = request
        self.recorded = recorded
        self.tool = tool
    }

    /// Loads, replays (unless `recorded`) and builds the model. Bad input throws `CaseError`.
    /// With a golden the comparison runs as in CI: nothing is written beside it.
    public func timeline(machines: MachineRegistry) throws(CaseError) -> Timeline {
        let trace = try ReplayTraceLoader.load(path: tracePath)
        let name = GoldenNaming.caseName(trace: tracePath)
        if recorded { return TimelineBuilder.recorded(trace: trace, name: name) }
        let replay: (ReplayTrace, ResolvedReplay) throws -> ReplayResult = { try ReplaySession.replay($0, $1, machines: machines) }
        if let goldenPath {
            let golden = GoldenCase(registry: machines, tracePath: tracePath, goldenPath: goldenPath, request: request, ci: true, tool: tool)
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
        let resolved = try request.resolve(trace: trace, golden: nil, registry: machines)
        let result = try ReplaySession.replay(trace, resolved, machines: machines)
        return TimelineBuilder.replayed(trace: trace, name: name, decisions: result.decisions, profile: trace.hasBlocksync ? resolved.profile : nil,
                                        mode: resolved.mode)
    }
}
