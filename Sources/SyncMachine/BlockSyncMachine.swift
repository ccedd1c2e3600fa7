import CometWire

// # SyncMachine: the seam between a block-sync implementation and whoever drives it
//
// In the style of quinn-proto's `Connection` (DESIGN.md §1): an implementation is a sans-IO
// value. The driver hands it inputs stamped with virtual time (`handle`), asks when it next
// wants to run (`nextTimer`), lets its timers fire at that instant (`fireTimers`), and carries
// out the effects it returns. Each implementation names its own timers (`MachineTimer`), so a
// decision caused by a timer says which one (the v0 reactor: try_sync, switch_check, …; a v2
// reactor: process, schedule, prune, status).

/// A peer's node ID as the switch knows it.
public typealias PeerID = String

/// Virtual time in nanoseconds, like a trace's `logTime`.
public typealias Nanoseconds = UInt64

/// What happens to the node under test, at a virtual time (nanoseconds).
public enum MachineInput: Sendable, Equatable {
    /// A peer connected (`AddPeer`).
    case peerAdded(PeerID, at: Nanoseconds)
    /// The peer went away (`RemovePeer`).
    case peerRemoved(PeerID, reason: String, at: Nanoseconds)
    /// A blocksync message from `peer`, decoded, with its size on the wire.
    case received(BlocksyncMessage, from: PeerID, wireSize: Int, at: Nanoseconds)
    /// Bytes from `peer` that do not decode as a blocksync message (the node stops the peer,
    /// specs/cometbft-blocksync.md §3.2 `ValidateMsg`).
    case undecodable(from: PeerID, error: String, at: Nanoseconds)
    /// Nothing happened until `to`: fire every timer due by then (tests and benches; a driver
    /// that names causes uses `fireTimers()`).
    case timeAdvanced(to: Nanoseconds)

    public var time: Nanoseconds {
        switch self {
        case .peerAdded(_, let t), .peerRemoved(_, _, let t), .received(_, _, _, let t),
             .undecodable(_, _, let t), .timeAdvanced(let t): return t
        }
    }
}

/// Why a machine left block sync (specs/cometbft-blocksync.md §3.4).
public enum SwitchReason: String, Sendable, Equatable {
    /// `pool.IsCaughtUp()`.
    case caughtUp = "caught_up"
    /// cometbft v0.38.10+ (#3406): our validator holds ≥ 1/3 of the voting power.
    case localNodeBlocksTheChain = "local_node_blocks_the_chain"
    /// tm v0.35: no block applied for `syncTimeout` (60 s).
    case noProgress = "no_progress"
}

/// What a machine does; each maps to a decision of DESIGN.md §4.
public enum MachineEffect: Sendable, Equatable {
    /// `request{peer,height}`, `respond{peer,height,found}`, our StatusResponse…
    case send(BlocksyncMessage, to: PeerID)
    /// `status_request`: StatusRequest to every peer.
    case broadcastStatusRequest
    /// `peer_removed{peer,reason}`: `StopPeerForError`; the switch then calls `RemovePeer`
    /// (the driver feeds `.peerRemoved` back).
    case disconnect(PeerID, reason: String)
    /// `peer_removed{peer,reason}` without a disconnect: the machine dropped the peer on its own
    /// (§2.7 SetPeerRange); it stays connected and is still served.
    case removeFromPool(PeerID, reason: String)
    /// `peer_banned{peer,reason}`: the machine ignores the peer for the ban duration.
    case ban(PeerID, reason: String)
    /// `block_applied{height,hash}`: saved then applied, in this order.
    case blockApplied(height: Int64, hash: [UInt8])
    /// `verify_failed{heights,peers,reason}`: the pair (first, second) failed; the peers
    /// blamed; the verification error as the node logs it ("Error in validation", unwrapped).
    case verifyFailed(heights: [Int64], peers: [PeerID], reason: String)
    /// `switch_to_blocksync{height}`: state sync handed over (`SwitchToBlockSync`,
    /// specs/cometbft-blocksync.md §2.2, §3.1); block sync starts at `height` (the snapshot
    /// height + 1).
    case switchToBlockSync(height: Int64)
    /// `switch_to_consensus{height}`: the height when block sync stopped.
    case switchToConsensus(height: Int64, reason: SwitchReason)
    /// `reactor_panic{message}`: the original would panic here (the node process dies); the
    /// machine stops and does nothing more. `message` is the original's panic text (tendermint
    /// blocksync v2, specs/cometbft-blocksync-v2.md §v2.1.3, §v2.2.4 i, §v2.3).
    case reactorPanic(message: String)
    /// `scheduler_fail{reason}`: tendermint v2's scheduler returned `scSchedulerFail` (§v2.2.4 e:
    /// "cannot find peer for height H", a failed `markPending`; an unexpected event); the
    /// original logs "Scheduler failure" and carries on, and so does the machine.
    case schedulerFail(reason: String)
}

/// An implementation's own timers, by the names decisions and reports use (`try_sync`…).
public protocol MachineTimer: RawRepresentable<String>, CaseIterable, Hashable, Sendable {}

/// A block-sync implementation the drivers (replay, simulator, tests) can run.
///
/// Contract: input times never go backwards (`now` is the latest); at equal virtual times the
/// driver delivers inputs before it fires timers; `fireTimers()` fires every timer due at
/// `nextTimer`'s deadline, in the implementation's documented tie order, and names the timer
/// behind each effect.
public protocol BlockSyncMachine: Sendable {
    associatedtype Timer: MachineTimer
    /// The virtual time of the latest input or timer.
    var now: Nanoseconds { get }
    /// The earliest armed timer and its deadline; nil when nothing is scheduled.
    var nextTimer: (deadline: Nanoseconds, timer: Timer)? { get }
    /// `nextTimer`'s deadline alone: drivers ask after every step, and a machine may answer
    /// without working out which timer it is (default: from `nextTimer`).
    var nextDeadline: Nanoseconds? { get }
    /// Handles one input; returns the effects in the order they happened.
    mutating func handle(_ input: MachineInput) -> [MachineEffect]
    /// Fires the timers due at `nextTimer`'s deadline; each effect with the timer that caused it.
    mutating func fireTimers() -> [(timer: Timer, effect: MachineEffect)]
    /// Limits and claimed state for the invariant checker (`InvariantChecker`).
    var invariantView: InvariantView { get }
    /// Invariant violations so far: only a `CheckedMachine` has any (default: none). A
    /// requirement, so drivers asking after every step get a direct answer (issue 19: a
    /// dynamic cast to find out copied the whole machine into an existential each time).
    var invariantViolations: [InvariantViolation] { get }
}

extension BlockSyncMachine {
    /// By default only the observable invariants are checked (applied heights from 1).
    public var invariantView: InvariantView {
        InvariantView(firstHeight: 1, maxPendingPerPeer: nil, banDuration: nil, pendingPerPeer: [])
    }

    public var nextDeadline: Nanoseconds? { nextTimer?.deadline }

    public var invariantViolations: [InvariantViolation] { [] }

    /// `fireTimers()` with the timers' names.
    public mutating func fireNamedTimers() -> [(timer: String, effect: MachineEffect)] {
        fireTimers().map { ($0.timer.rawValue, $0.effect) }
    }
}

/// A behaviour profile's name (`tm-v0.34`, `cometbft-v0.38`…): what `--profile`, goldens and
/// their file names say. Names are unique across every registered implementation
/// (`MachineRegistry`), so a name alone says which implementation runs.
public struct ProfileName: RawRepresentable, Hashable, Comparable, Sendable, ExpressibleByStringLiteral, CustomStringConvertible {
    public var rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }
    public var description: String { rawValue }
    public static func < (a: ProfileName, b: ProfileName) -> Bool { a.rawValue < b.rawValue }
}
