import BlockSyncV2
import CometWire
import HexCoding
import SyncMachine
import Testing

/// The processor cases of specs/cometbft-blocksync-v2.md §v2.7 (#29–#34, after the Go
/// `processor_test.go`), over real signed blocks.
@Suite struct ProcessorTests {
    typealias F = V2Fixtures

    static func processor(_ chain: Chain = F.chain20, queue: [(Int64, PeerID)] = []) -> Processor {
        var p = Processor(chain: SyncedChain(state: chain.genesisState, store: NodeBlockStore(), application: .unknown))
        for (h, peer) in queue { _ = p.handleBlockReceived(peer, block: chain.block(at: h)!) }
        return p
    }

    static func queued(_ p: Processor) -> [Int64: PeerID] { p.queue.mapValues(\.peer) }

    @Test func peerErrorPurgesThatPeersBlocks() {  // #29
        var p = Self.processor(queue: [(1, "P1"), (2, "P2")])
        #expect(p.handle(.scPeerError(peer: "P2", reason: "x")) == .noOp)
        #expect(Self.queued(p) == [1: "P1"])
        #expect(p.handle(.scPeerError(peer: "P3", reason: "x")) == .noOp)
        #expect(Self.queued(p) == [1: "P1"])
    }

    @Test func blocksAreQueuedAndADuplicateIsThePanic() {  // #30, §v2.6 B5
        var p = Self.processor()
        #expect(p.handle(.scBlockReceived(peer: "P1", block: F.block(3))) == .noOp)
        #expect(p.handle(.scBlockReceived(peer: "P1", block: F.block(4))) == .noOp)
        #expect(Self.queued(p) == [3: "P1", 4: "P1"])
        let hash = Hex.upper(F.block(4).blockID().hash)
        #expect(p.handle(.scBlockReceived(peer: "P2", block: F.block(4)))
                == .panic("duplicate block 4 (\(hash)) enqueued by processor (sent by P2; existing block \(hash) from P1)"))
    }

    @Test func processBlockAppliesOneBlock() {  // #31
        var p = Self.processor(queue: [(1, "P1"), (2, "P2")])
        #expect(p.handle(.rProcessBlock) == .pcBlockProcessed(height: 1, peer: "P1"))
        #expect(p.height == 1 && Self.queued(p) == [2: "P2"] && p.blocksSynced == 1)
        #expect(p.takeApplied() == .blockApplied(height: 1, hash: F.chain20.blockID(at: 1)!.hash))
        #expect(p.chain.store.height == 1)
        var gap = Self.processor(queue: [(3, "P1"), (4, "P1")])
        #expect(gap.handle(.rProcessBlock) == .noOp)
        var empty = Self.processor()
        #expect(empty.handle(.rProcessBlock) == .noOp)
    }

    @Test func drainingFinishesAtTheFirstGap() {  // #32
        var p = Self.processor(queue: [(1, "P1"), (2, "P2"), (4, "P1")])
        #expect(p.handle(.scFinished(reason: "processed all blocks")) == .noOp)
        #expect(p.draining)
        #expect(p.handle(.rProcessBlock) == .pcBlockProcessed(height: 1, peer: "P1"))
        #expect(p.handle(.rProcessBlock) == .pcFinished(blocksSynced: 1, lastBlockHeight: 1))
    }

    @Test func verificationFailureBlamesBothSuppliers() {  // #33
        let bad = F.chain(20, .insufficientPower(height: 1))
        var two = Self.processor(bad, queue: [(1, "P1"), (2, "P2")])
        guard case .pcBlockVerificationFailure(1, "P1", "P2", let reason) = two.handle(.rProcessBlock) else {
            Issue.record("no verification failure")
            return
        }
        #expect(reason.hasPrefix("invalid commit -- insufficient voting power"), "\(reason)")
        #expect(two.queue.isEmpty && two.height == 0 && two.chain.store.height == 0)
        var same = Self.processor(bad, queue: [(1, "P1"), (2, "P1"), (3, "P2")])
        #expect(same.handle(.rProcessBlock) == .pcBlockVerificationFailure(height: 1, firstPeer: "P1", secondPeer: "P1", reason: reason))
        #expect(Self.queued(same) == [3: "P2"])
    }

    @Test func applyFailureIsThePanicAfterSaving() {  // #33, §v2.6 B9
        let bad = F.chain(20, .wrongValidatorsHash(height: 1))
        var p = Self.processor(bad, queue: [(1, "P1"), (2, "P1")])
        guard case .panic(let text) = p.handle(.rProcessBlock) else {
            Issue.record("no panic")
            return
        }
        #expect(text.hasPrefix("failed to process committed block (1:\(Hex.upper(bad.blockID(at: 1)!.hash))): "), "\(text)")
        // SaveBlock ran first: the store is one block ahead of the state.
        #expect(p.chain.store.height == 1 && p.height == 0)
    }

    @Test func finishedWithAtMostOneBlockQueued() {  // #34
        var empty = Self.processor()
        #expect(empty.handle(.scFinished(reason: "x")) == .pcFinished(blocksSynced: 0, lastBlockHeight: 0))
        var one = Self.processor(queue: [(1, "P1")])
        #expect(one.handle(.scFinished(reason: "x")) == .pcFinished(blocksSynced: 0, lastBlockHeight: 0))
        var two = Self.processor(queue: [(1, "P1"), (2, "P1")])
        #expect(two.handle(.scFinished(reason: "x")) == .noOp)
        #expect(two.draining)
    }

    @Test func initialHeightAboveOneIsNotProcessed() {  // §v2.6 B7: height() is LastBlockHeight
        let late = ChainBuilder(.init(seed: Array("v2-b7".utf8), validatorPowers: [10, 10, 10], length: 4, txsPerBlock: 1,
                                      initialHeight: 1000)).build()
        var p = Self.processor(late, queue: [(1000, "P1"), (1001, "P1")])
        #expect(p.height == 0)
        #expect(p.handle(.rProcessBlock) == .noOp)
    }
}
