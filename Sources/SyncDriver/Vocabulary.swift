// The words the drivers' outputs are judged in: replay's modes (which peer sources stand in
// for the recorded peers) and the decision kinds of a decision log. They live with the driver,
// below Replay and the simulator, so a scenario's expectations can name them without Replay.

/// Replay modes (DESIGN.md §3).
public enum ReplayMode: String, CaseIterable, Sendable {
    /// Inbound delivered exactly as recorded; the reactor's outbound compared with the recorded.
    case strict
    /// Ghost peers built from the trace answer whatever the reactor asks.
    case reactive
}

/// The decision kinds of DESIGN.md §4, spelt as they appear in goldens.
public enum DecisionKind: String, CaseIterable, Sendable, Comparable {
    case request
    case statusRequest = "status_request"
    case respond
    case peerRemoved = "peer_removed"
    case peerBanned = "peer_banned"
    case verifyFailed = "verify_failed"
    case blockApplied = "block_applied"
    /// State sync handed over to block sync (`SwitchToBlockSync`), which starts at `height`.
    case switchToBlockSync = "switch_to_blocksync"
    case switchToConsensus = "switch_to_consensus"
    /// The original would panic here (tendermint blocksync v2); the replay ends.
    case reactorPanic = "reactor_panic"
    /// tendermint blocksync v2's scheduler could not schedule (`scSchedulerFail`, §v2.2.4): the
    /// original only logs it; the reason is the scheduler's error text.
    case schedulerFail = "scheduler_fail"
    case pivotSwitch = "pivot_switch"
    case pivotExtend = "pivot_extend"
    case hintDisabled = "hint_disabled"
    /// The pivot validator asked for a height whose hash the trace did not record (DESIGN.md §3:
    /// an explicit decision, not a guess).
    case unknown
    /// Strict mode only: the reactor sent a message the recording does not show at that point.
    case outboundExtra = "outbound_extra"
    /// Strict mode only: the recording shows the node sending a message the reactor did not send.
    case outboundMissing = "outbound_missing"
    /// A pivot check whose event carries the real node's result (`observed`) was decided the
    /// other way by the validator under test: the conformance question of issue 17.
    case observedMismatch = "observed_mismatch"

    public static func < (a: DecisionKind, b: DecisionKind) -> Bool { a.rawValue < b.rawValue }
}
