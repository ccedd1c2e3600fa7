import CometWire

/// An input to a block-sync state machine under replay. Time travels separately (every call
/// carries the virtual time), so the machine never reads a clock (DESIGN.md §1).
public enum MachineInput: Sendable {
    case peerAdded(peer: String)
    case peerRemoved(peer: String, reason: String)
    /// A decoded BlockchainChannel message; `size` is its encoded length in bytes.
    case received(peer: String, message: BlocksyncMessage, size: Int)
    /// Bytes from `peer` that do not decode as a blocksync message (the reactor stops the
    /// peer, §3.2 `ValidateMsg`).
    case undecodable(peer: String, error: String)
    /// The machine's earliest timer is due.
    case timersDue
}

/// What a block-sync state machine asks the world to do, in the order it asks.
public enum MachineEffect: Sendable {
    case send(peer: String, message: BlocksyncMessage)
    case broadcastStatusRequest
    case disconnect(peer: String, reason: String)
    /// The machine stopped using the peer but keeps the connection (a `peer_removed` decision).
    case removeFromPool(peer: String, reason: String)
    case ban(peer: String, reason: String)
    case blockApplied(height: Int64, hash: [UInt8])
    /// The pair `heights` (first, second) failed verification; `reason` is the error text.
    case verifyFailed(heights: [Int64], peers: [String], reason: String)
    case switchToConsensus(height: Int64)
}

/// A sans-IO block-sync implementation the replayer can drive: the BlockSync reactor through
/// its adapter, or any other implementation a trace should be replayed into.
public protocol BlockSyncMachine {
    /// Handles one input at virtual time `time` (never earlier than the previous call's time).
    mutating func handle(_ input: MachineInput, at time: UInt64) -> [MachineEffect]
    /// The earliest pending timer: its deadline and a name for reports (`try_sync`, `status`…).
    var nextTimer: (deadline: UInt64, name: String)? { get }
}

/// Builds the machine for a trace (its `/node` record, attachments and first event time) and
/// a profile.
public typealias MachineFactory = @Sendable (ReplayTrace, ReplayProfile) throws -> any BlockSyncMachine

/// The result of one pivot-hint check, in the fields of DESIGN.md §4.
public struct PivotOutcome: Equatable, Sendable {
    public var allowed: Bool
    public var reason: PivotReason
    public var checkHeight: UInt64?
    public var section: HintSection?
    /// The page failure that disabled the hint during this call.
    public var disabled: (page: UInt64, error: String)?

    public init(allowed: Bool, reason: PivotReason, checkHeight: UInt64?, section: HintSection?, disabled: (page: UInt64, error: String)?) {
        self.allowed = allowed
        self.reason = reason
        self.checkHeight = checkHeight
        self.section = section
        self.disabled = disabled
    }

    public static func == (a: PivotOutcome, b: PivotOutcome) -> Bool {
        a.allowed == b.allowed && a.reason == b.reason && a.checkHeight == b.checkHeight && a.section == b.section
            && a.disabled?.page == b.disabled?.page && a.disabled?.error == b.disabled?.error
    }
}

/// A pivot-hint validator the replayer can drive (`allow_switch` / `allow_extend`,
/// specs/conflux-pivot-hint.md §3). `ancestorHashAt` may throw; the validator must then leave
/// its state untouched and rethrow.
public protocol PivotValidating {
    mutating func allowSwitch(forkAt: UInt64, meHeight: UInt64, ancestorHashAt: (UInt64) throws -> [UInt8]) throws -> PivotOutcome
    mutating func allowExtend(height: UInt64, hash: [UInt8]) throws -> PivotOutcome
}
