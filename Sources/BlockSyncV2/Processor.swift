import CometWire
import HexCoding
import SyncMachine

/// The v2 processor routine (`processor.go`, `processor_context.go`, §v2.3): the queue of
/// received blocks, one block verified and applied per `rProcessBlock`, and draining at the end.
/// Saving and applying go through the shared block processor (`SyncedChain`); what differs
/// from v0 is kept here, explicitly:
/// - §v2.3 step 3/5: the pair is checked with `VerifyCommitLight` only; there is **no**
///   `ValidateBlock` before `SaveBlock` — `ApplyBlock` validates after the block is stored, and
///   its failure is the original's panic (the store is then one block ahead of the state).
/// - §v2.3 step 4, §v2.9: a failed pair purges both suppliers' queued blocks and is reported
///   to the scheduler, which tombstones them; nobody is disconnected.
/// - `height()` is `LastBlockHeight`, not InitialHeight-aware (§v2.6 B7).
public struct Processor: Sendable {
    public struct Queued: Sendable, Equatable {
        public var block: Block
        public var peer: PeerID
    }

    public private(set) var queue: [Int64: Queued] = [:]
    public private(set) var draining = false
    public private(set) var chain: SyncedChain
    let commitVerification: CommitVerificationOptions
    /// The `block_applied` effect of the last `rProcessBlock`, until the demux takes it.
    private var applied: MachineEffect?

    public init(chain: SyncedChain, commitVerification: CommitVerificationOptions = .tendermintV034) {
        self.chain = chain
        self.commitVerification = commitVerification
    }

    /// `height()`: the state's last block height.
    public var height: Int64 { chain.state.lastBlockHeight }
    public var blocksSynced: Int { chain.blocksSynced }

    public mutating func handle(_ event: V2Event) -> V2Event {
        switch event {
        case .bcResetState(let state): return handleResetState(state)
        case .scFinished: return handleFinished()
        case .scPeerError(let peer, _): return handlePeerError(peer)
        case let .scBlockReceived(peer, block): return handleBlockReceived(peer, block: block)
        case .rProcessBlock: return handleProcessBlock()
        default: return .noOp
        }
    }

    /// The applied block's effect, once.
    public mutating func takeApplied() -> MachineEffect? {
        defer { applied = nil }
        return applied
    }

    /// The state is replaced; the queue is kept.
    public mutating func handleResetState(_ state: ChainState) -> V2Event {
        chain = SyncedChain(state: state, store: chain.store, application: chain.application, signatureOracle: chain.signatureOracle)
        return .noOp
    }

    /// Finishes at once with at most one block queued, else drains.
    public mutating func handleFinished() -> V2Event {
        if queue.count <= 1 { return finished }
        draining = true
        return .noOp
    }

    /// purgePeer: drop every queued block from `peer`.
    public mutating func handlePeerError(_ peer: PeerID) -> V2Event {
        for (h, q) in queue where q.peer == peer { queue[h] = nil }
        return .noOp
    }

    /// Queues a block above our height; a second block for a queued height is the original's
    /// panic (§v2.6 B5).
    public mutating func handleBlockReceived(_ peer: PeerID, block: Block) -> V2Event {
        let h = block.header.height
        guard h > height else { return .noOp }
        if let existing = queue[h] {
            return .panic("duplicate block \(h) (\(Hex.upper(block.blockID().hash))) enqueued by processor (sent by \(peer); "
                + "existing block \(Hex.upper(existing.block.blockID().hash)) from \(existing.peer))")
        }
        queue[h] = Queued(block: block, peer: peer)
        return .noOp
    }

    /// One block at most: verify the pair, save, apply (steps 1–5).
    public mutating func handleProcessBlock() -> V2Event {
        guard let first = queue[height &+ 1], let second = queue[height &+ 2] else {
            return draining ? finished : .noOp
        }
        let h = first.block.header.height
        let firstID = first.block.blockID()
        if let failure = verify(first.block, id: firstID, by: second.block) {
            _ = handlePeerError(first.peer)
            if second.peer != first.peer { _ = handlePeerError(second.peer) }
            return .pcBlockVerificationFailure(height: h, firstPeer: first.peer, secondPeer: second.peer, reason: failure)
        }
        chain.save(first.block)
        // ApplyBlock runs validateBlock; its failure panics after the block was saved (§v2.6 B9).
        do {
            try chain.validate(first.block, verifyLastCommit: true, options: commitVerification)
        } catch {
            return .panic("failed to process committed block (\(h):\(Hex.upper(firstID.hash))): \(error)")
        }
        applied = chain.apply(first.block, id: firstID)
        queue[h] = nil
        return .pcBlockProcessed(height: h, peer: first.peer)
    }

    /// Step 3: `VerifyCommitLight` of `first` by `second.LastCommit`; nil when it holds.
    private mutating func verify(_ first: Block, id: BlockID, by second: Block) -> String? {
        // Unreachable after Block.ValidateBasic in Receive (it requires a LastCommit).
        guard let commit = second.lastCommit else { return "nil commit" }
        do {
            try chain.verifyCommit(of: first, id: id, by: commit, check: .light, options: commitVerification)
        } catch {
            return "\(error)"
        }
        return nil
    }

    private var finished: V2Event { .pcFinished(blocksSynced: chain.blocksSynced, lastBlockHeight: height) }
}
