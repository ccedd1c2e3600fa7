import SyncTrace

/// `syncreplay hint check --conflux-log`: every pivot-hint check a node logged, put to the
/// validator in log order (one validator, so a page failure disables it for the rest, as in the
/// node, §2.3), and the node's logged result compared with the validator's (issue 17).
public struct PivotLogAudit {
    var validator: any PivotValidating
    public private(set) var checks = 0
    public private(set) var disagreements = 0

    public init(validator: any PivotValidating) { self.validator = validator }

    /// One audited line.
    public struct Verdict: Sendable, Equatable {
        public var agrees: Bool
        /// `line 12 2024-…+08:00 switch fork_at=… me_height=… check_height=…: node allowed, hint allowed (minor_match): agree`
        public var text: String
        /// A page failure that disabled the hint during this check (the node logs it as a warning).
        public var disabled: String?
    }

    /// Checks one `/pivot` event read from log line `line`, written at `time`.
    public mutating func check(_ event: TraceEvent, line: Int, time: String) throws -> Verdict {
        let body = ReplayTraceLoader.body(of: event)
        let what: String, observed: ObservedOutcome
        let evaluation: PivotEvaluation
        switch body {
        case let .pivotSwitch(forkAt, meHeight, meHash, branch, o):
            let logged = branch.first.map { " check_height=\($0.height)" } ?? ""
            what = "switch fork_at=\(forkAt) me_height=\(meHeight)\(logged)"
            observed = o
            evaluation = try PivotEvaluation.allowSwitch(&validator, forkAt: forkAt, meHeight: meHeight, meHash: meHash, branch: branch)
        case let .pivotExtend(height, hash, o):
            what = "extend height=\(height)"
            observed = o
            evaluation = .decided(try validator.allowExtend(height: height, hash: hash))
        default:
            throw CaseError("line \(line): not a pivot-hint check")
        }
        checks += 1
        let node = observed.allowed.map(PivotCheck.verdict) ?? "unknown"
        let agrees: Bool, hint: String
        var disabled: String?
        switch evaluation {
        case .decided(let outcome):
            agrees = PivotEvaluation.disagrees(observed: observed, decided: outcome.allowed) != true
            hint = "\(PivotCheck.verdict(outcome.allowed)) (\(outcome.reason.rawValue))"
            disabled = outcome.disabled.map { "Failed to load pivot hint page \($0.page), pivot hint check disabled: \($0.error)" }
        case .unknown(let height):
            agrees = false
            hint = "checks height \(height), which the line does not record (the node checked another height)"
        }
        if !agrees { disagreements += 1 }
        return Verdict(agrees: agrees, text: "line \(line) \(time) \(what): node \(node), hint \(hint): \(agrees ? "agree" : "disagree")",
                       disabled: disabled)
    }

    public var summary: String {
        "\(checks) pivot-hint checks: \(checks - disagreements) agree, \(disagreements) disagree"
    }
}
