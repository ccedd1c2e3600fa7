/// A picture of one block sync (issue 15): lanes per peer with request → answer spans and the
/// peer's events, a lane for the node (applied heights over time, verify failures, the switch
/// to consensus) and a lane for pivot-hint checks. Built by `TimelineBuilder` from a replay's
/// decision log plus its trace, or from the trace alone (`--recorded`); drawn by `TimelineHTML`
/// and `PerfettoTrace`. Plain values in a fixed order: equal input gives equal bytes.
public struct Timeline: Equatable, Sendable {
    /// What the picture shows: what our reactor did under a profile, or what the recording shows.
    public enum Source: Equatable, Sendable {
        case replay(profile: String, mode: String)
        case recorded
    }

    /// The trace's case name (`catchup-basic`).
    public var name: String
    public var source: Source
    /// First and last virtual times shown (ns), the trace's and the decisions' together.
    public var start: UInt64
    public var end: UInt64
    /// One lane per peer, in order of first appearance in the trace (then in the decisions).
    public var peers: [PeerLane]
    public var node: NodeLane
    public var pivot: [PivotMark]
    /// The golden's first divergence, when a replay compared with a golden diverged.
    public var divergence: DivergenceMark?

    public var profile: String {
        if case .replay(let p, _) = source { return p }
        return "as recorded"
    }

    public var mode: String {
        if case .replay(_, let m) = source { return m }
        return "recorded"
    }
}

/// A request from the node to a peer for one height, and how the peer answered it.
public struct RequestSpan: Equatable, Sendable {
    public enum Answer: String, Sendable {
        /// A `BlockResponse` for the height.
        case block
        /// A `NoBlockResponse` (the peer does not have the height).
        case noBlock = "no_block"
        /// No answer in the trace (lost, skipped, or cut off by a disconnect or the trace's end).
        case none
    }

    public var height: Int64
    public var start: UInt64
    /// When the answer arrived; nil when there was none.
    public var end: UInt64?
    public var answer: Answer
    /// The answer time is the peer's recorded latency for that height added to the replayed
    /// request's time (reactive replay: the ghost peer's rule), not an observed arrival.
    public var estimated: Bool

    public init(height: Int64, start: UInt64, end: UInt64?, answer: Answer, estimated: Bool = false) {
        self.height = height
        self.start = start
        self.end = end
        self.answer = answer
        self.estimated = estimated
    }
}

/// A point event on a lane; `detail` is the hover text (reason, heights…).
public struct LaneMark: Equatable, Sendable {
    public enum Kind: String, CaseIterable, Sendable {
        case connected, disconnected
        /// The node dropped the peer (`peer_removed`).
        case removed
        case banned
        case noBlockResponse = "no_block_response"
        /// A `StatusResponse` from the peer (its base..height).
        case status
        /// A `BlockResponse` nobody asked for (or a second copy).
        case unsolicited
        /// The node answered a request from the peer (`respond`).
        case served
        case undecodable
        /// Strict replay: outbound message the reactor sent but the recording lacks, or the reverse.
        case outboundExtra = "outbound_extra"
        case outboundMissing = "outbound_missing"
        case verifyFailed = "verify_failed"
        case switchToConsensus = "switch_to_consensus"
        /// State sync handed over to block sync (`switch_to_blocksync`).
        case switchToBlockSync = "switch_to_blocksync"
        /// The implementation hit one of the original's panics (`reactor_panic`, v2): replay ends.
        case reactorPanic = "reactor_panic"
        /// tendermint v2's scheduler could not schedule (`scheduler_fail`); one mark per change of
        /// reason, its detail counting the identical ones that followed (one per 20 ms tick).
        case schedulerFail = "scheduler_fail"
        /// A `/capture` event: something the recorder could not see.
        case capture
    }

    public var time: UInt64
    public var kind: Kind
    public var detail: String

    public init(time: UInt64, kind: Kind, detail: String) {
        self.time = time
        self.kind = kind
        self.detail = detail
    }
}

public struct PeerLane: Equatable, Sendable {
    public var peer: String
    public var spans: [RequestSpan]
    public var marks: [LaneMark]
}

/// The node under test: its synced height over time and its own decisions.
public struct NodeLane: Equatable, Sendable {
    /// (time, height) each time the height grew: applied blocks (replay) or the highest
    /// contiguous height received (recorded: the trace does not say what the node applied).
    public var heights: [HeightPoint]
    /// What `heights` means, for the legend.
    public var heightsLabel: String
    public var marks: [LaneMark]
}

public struct HeightPoint: Equatable, Sendable {
    public var time: UInt64
    public var height: Int64
}

/// A pivot-hint check (conflux-pivot-hint.md §3.2, §3.3).
public struct PivotMark: Equatable, Sendable {
    public enum Kind: String, Sendable { case `switch`, extend, hintDisabled = "hint_disabled", unknown, observedMismatch = "observed_mismatch" }
    public var time: UInt64
    public var kind: Kind
    /// Allowed, denied, or not known (a recording without the observed outcome; `unknown`).
    public var allowed: Bool?
    public var detail: String
}

/// The golden's first divergence (`DivergenceReport`): where in virtual time, and what.
public struct DivergenceMark: Equatable, Sendable {
    public var time: UInt64
    public var detail: String

    public init(time: UInt64, detail: String) {
        self.time = time
        self.detail = detail
    }
}
