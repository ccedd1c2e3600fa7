import CometWire
import HexCoding
import SyncMachine

/// The v2 reactor's events, all of §v2.1.2's catalogue, plus `panic` (a handler that panics in
/// the original returns it here instead of trapping, issue 13 item 4).
public enum V2Event: Sendable, Equatable {
    case bcStatusResponse(peer: PeerID, base: Int64, height: Int64)
    /// `size`: what `markReceived` divides by the latency (`BlockSyncV2Profile.RateInput`).
    case bcBlockResponse(peer: PeerID, block: Block, time: Nanoseconds, size: Int64)
    case bcNoBlockResponse(peer: PeerID, height: Int64, time: Nanoseconds)
    case bcAddNewPeer(peer: PeerID)
    case bcRemovePeer(peer: PeerID, reason: String)
    case bcResetState(ChainState)
    case rTrySchedule(time: Nanoseconds)
    case rTryPrunePeer(time: Nanoseconds)
    case rProcessBlock
    case scBlockRequest(peer: PeerID, height: Int64)
    case scBlockReceived(peer: PeerID, block: Block)
    case scPeerError(peer: PeerID, reason: String)
    /// Peers in ID order.
    case scPeersPruned([PeerID])
    case scSchedulerFail(reason: String)
    case scFinished(reason: String)
    case pcBlockProcessed(height: Int64, peer: PeerID)
    /// `reason`: the verification error (the original does not propagate it; kept for the
    /// `verify_failed` decision).
    case pcBlockVerificationFailure(height: Int64, firstPeer: PeerID, secondPeer: PeerID, reason: String)
    case pcFinished(blocksSynced: Int, lastBlockHeight: Int64)
    case noOp
    /// The handler would panic with this text (the history is added by the demux, §v2.1.3).
    case panic(String)

    /// The routine queue priority (§v2.1.2): Low 1, Normal 2, High 3 — and a min-heap pops the
    /// lowest first (§v2.1.3).
    public var priority: Int {
        switch self {
        case .noOp: 1
        case .bcRemovePeer, .bcResetState, .rTrySchedule, .rTryPrunePeer, .scPeerError, .scPeersPruned, .scSchedulerFail: 3
        default: 2
        }
    }
}

extension V2Event: CustomStringConvertible {
    /// The event as the routine history prints it (the Go types' String forms, times in
    /// virtual nanoseconds).
    public var description: String {
        switch self {
        case let .bcStatusResponse(p, b, h): "bcStatusResponse{\(p) base: \(b) height: \(h)}"
        case let .bcBlockResponse(p, block, t, size):
            "bcBlockResponse{\(block.header.height)#\(Hex.upper(block.blockID().hash)) (size: \(size) bytes) from \(p) at \(t)}"
        case let .bcNoBlockResponse(p, h, t): "bcNoBlockResponse{\(p) at \(t) height: \(h)}"
        case let .bcAddNewPeer(p): "bcAddNewPeer{\(p)}"
        case let .bcRemovePeer(p, r): "bcRemovePeer{\(p) reason: \(r)}"
        case let .bcResetState(s): "bcResetState{height: \(s.lastBlockHeight)}"
        case let .rTrySchedule(t): "rTrySchedule{\(t)}"
        case let .rTryPrunePeer(t): "rTryPrunePeer{\(t)}"
        case .rProcessBlock: "rProcessBlock"
        case let .scBlockRequest(p, h): "scBlockRequest{\(h) from \(p)}"
        case let .scBlockReceived(p, block): "scBlockReceived{\(block.header.height)#\(Hex.upper(block.blockID().hash)) from \(p)}"
        case let .scPeerError(p, r): "scPeerError{\(p) errored with \(r)}"
        case let .scPeersPruned(ps): "scPeersPruned{\(ps)}"
        case let .scSchedulerFail(r): "scSchedulerFail{\(r)}"
        case let .scFinished(r): "scFinishedEv{\(r)}"
        case let .pcBlockProcessed(h, p): "pcBlockProcessed{\(h) peer: \(p)}"
        case let .pcBlockVerificationFailure(h, f, s, _): "pcBlockVerificationFailure{\(h) 1st peer: \(f), 2nd peer: \(s)}"
        case let .pcFinished(n, h): "pcFinished{blocksSynced: \(n), height: \(h)}"
        case .noOp: "noOp"
        case let .panic(text): "panic{\(text)}"
        }
    }
}

/// Go's `bytes.Compare` order of peer IDs (DET-6): bytewise, never locale collation.
func idOrder(_ a: PeerID, _ b: PeerID) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }
