import BlockSyncV2
import CometWire
import SyncMachine
import Testing

/// The scheduler cases of specs/cometbft-blocksync-v2.md §v2.7 (#1–#28, after the Go
/// `scheduler_test.go`), with the §v2.2 error texts.
@Suite struct SchedulerTests {
    typealias F = V2Fixtures
    typealias P = V2Fixtures.P
    let t = V2Fixtures.t, s = V2Fixtures.s, ms = V2Fixtures.ms

    @Test func initialHeights() {  // #1
        let sc = Scheduler(initHeight: 5, startTime: t)
        #expect(sc.state(at: 4) == .processed)
        #expect(sc.state(at: 5) == .unknown)
        #expect(sc.state(at: 6) == .unknown)
    }

    @Test func maxHeightCountsReadyPeersOnly() {  // #2
        #expect(F.scheduler(peers: [.n("P1"), .r("P2", 10), .x("P3", 20), .r("P4", 22)]).maxHeight() == 22)
        #expect(F.scheduler(height: 11).maxHeight() == 10)
        #expect(F.scheduler(peers: [.x("P1", 20)]).maxHeight() == 0)
    }

    @Test func ensurePeerKeepsExistingRecords() {  // #3
        var sc = F.scheduler()
        sc.ensurePeer("P1")
        #expect(sc.peers["P1"] == Scheduler.Peer(state: .new, base: -1, height: -1, lastTouched: nil, lastRate: 0))
        var ready = F.scheduler(peers: [.r("P1", 3)], states: 1...3)
        let before = ready
        ready.ensurePeer("P1")
        #expect(ready == before)
    }

    @Test func touchPeerNeedsAReadyPeer() {  // #4
        var sc = F.scheduler(peers: [.n("P1")])
        #expect(sc.touchPeer("P1", time: t + 3 * s) == "tried to touch peer in state New, must be Ready")
        #expect(sc.touchPeer("P9", time: t) == "couldn't find peer P9")
        #expect(sc.peers["P1"]?.lastTouched == nil)
        var ready = F.scheduler(peers: [.r("P1", 3, touched: t)])
        #expect(ready.touchPeer("P1", time: t + 3 * s) == nil)
        #expect(ready.peers["P1"]?.lastTouched == t + 3 * s)
    }

    @Test func prunablePeersByTimeAndRateInIDOrder() {  // #5
        let sc = F.scheduler(minRecvRate: 100, peers: [
            .x("P1", touched: t + s, rate: 101), .r("P2", 5, touched: t + s, rate: 101), .x("P3", touched: t + s, rate: 100),
            .r("P4", 5, touched: t, rate: 100), .r("P5", 5, touched: t, rate: 99), .r("P6", 5, touched: t + s, rate: 90),
        ])
        #expect(sc.prunablePeers(timeout: s, minRecvRate: 100, now: t + s + ms) == ["P4", "P5", "P6"])
    }

    @Test func removePeerResetsItsHeightsAndCutsTheWindow() {  // #6, #7
        var sc = F.scheduler(peers: [.r("P1", 6), .r("P2", 6)], states: 1...6,
                             pending: [1: "P1", 3: "P2", 6: "P1"], received: [2: "P1", 4: "P2", 5: "P2"])
        sc.removePeer("P1")
        #expect(sc.peers["P1"]?.state == .removed)
        #expect(sc.pendingBlocks == [3: "P2"])
        #expect(sc.receivedBlocks == [4: "P2", 5: "P2"])
        #expect([1, 2, 6].map { sc.state(at: $0) } == [.new, .new, .new])
        var only = F.scheduler(peers: [.r("P1", 3)], states: 1...3, pending: [1: "P1"])
        only.removePeer("P1")
        #expect(only.peers["P1"]?.state == .removed)
        #expect(only.blockStates.isEmpty && only.pendingBlocks.isEmpty && only.pendingTime.isEmpty)
    }

    @Test func setPeerRange() {  // #8–#11
        var grow = F.scheduler(peers: [.r("P1", 2)], states: 1...2)
        #expect(grow.setPeerRange("P2", base: 0, height: 4) == nil)
        #expect(grow.peers["P2"]?.state == .ready && grow.peers["P2"]?.height == 4)
        #expect(grow.blockStates.keys.sorted() == [1, 2, 3, 4])

        var lower = F.scheduler(peers: [.r("P1", 4)], states: 1...4)
        #expect(lower.setPeerRange("P1", base: 0, height: 2) == "cannot move peer height lower. from 4 to 2")
        #expect(lower.peers["P1"]?.state == .removed && lower.blockStates.isEmpty)

        var far = F.scheduler(targetPending: 4, peers: [.n("P2")])
        #expect(far.setPeerRange("P2", base: 0, height: 10_000_000_000) == nil)
        #expect(far.blockStates.keys.sorted() == [1, 2, 3, 4])

        var baseAbove = F.scheduler(peers: [.r("P1", 4)])
        #expect(baseAbove.setPeerRange("P1", base: 6, height: 5) == "cannot set peer base higher than its height")
        #expect(baseAbove.peers["P1"]?.state == .removed && baseAbove.blockStates.isEmpty)

        var fromNew = F.scheduler(targetPending: 4, peers: [P(id: "P1", state: .new, base: -1, height: 4)])
        #expect(fromNew.setPeerRange("P1", base: 6, height: 6) == nil)
        #expect(fromNew.peers["P1"]?.base == 6 && fromNew.peers["P1"]?.height == 6)
        #expect(fromNew.blockStates.keys.sorted() == [1, 2, 3, 4])

        var removed = F.scheduler(peers: [.x("P1", 2)])
        let before = removed
        #expect(removed.setPeerRange("P1", base: 0, height: 4) == nil)
        #expect(removed == before)
    }

    @Test func peersWithHeight() {  // #12
        let sc = F.scheduler(height: 8, peers: [.n("P1"), .r("P2", 10), .r("P3", 5), .x("P4", 20), .r("P5", 11)])
        #expect(sc.peersWithHeight(8) == ["P2", "P5"])
        #expect(F.scheduler(peers: [.r("P1", 20, base: 10)]).peersWithHeight(4).isEmpty)
    }

    @Test func markPending() {  // #13
        var outside = F.scheduler(peers: [.r("P1", 6, base: 4)], states: 3...3)
        #expect(outside.markPending("P1", height: 3, time: t) == "cannot request height 3 for peer P1 with base 4")
        var sc = F.scheduler(peers: [.r("P1", 2)], states: 1...2, pending: [1: "P1"])
        #expect(sc.markPending("P1", height: 2, time: t + ms) == nil)
        #expect(sc.pendingBlocks == [1: "P1", 2: "P1"] && sc.pendingTime == [1: t, 2: t + ms])
        #expect(sc.markPending("P1", height: 2, time: t + ms) == "block 2 should be in blockStateNew but is Pending")
    }

    @Test func markReceived() {  // #14
        var wrongPeer = F.scheduler(peers: [.r("P1", 4), .r("P2", 4)], pending: [1: "P1", 2: "P2", 3: "P2", 4: "P1"])
        #expect(wrongPeer.markReceived("P1", height: 2, size: 1000, now: t + s) == "received block 2 from peer P1 without being requested")
        var early = F.scheduler(peers: [.r("P1", 4)], pending: [2: "P1"], pendingAt: t + s)
        #expect(early.markReceived("P1", height: 2, size: 1000, now: t + s)
                == "clock error: block 2 received at \(t + s) but requested at \(t + s)")
        var sc = F.scheduler(peers: [.r("P1", 4)], pending: [2: "P1"])
        #expect(sc.markReceived("P1", height: 2, size: 1000, now: t + s) == nil)
        #expect(sc.receivedBlocks == [2: "P1"] && sc.pendingBlocks.isEmpty && sc.peers["P1"]?.lastRate == 0)
    }

    @Test func markProcessedAdvances() {  // #15
        var sc = F.scheduler(height: 2, targetPending: 1, peers: [.r("P1", 4)], pending: [2: "P1"])
        sc.markProcessed(2, now: t + s)
        #expect(sc.height == 3 && sc.blockStates == [3: .new] && sc.pendingBlocks.isEmpty && sc.lastAdvance == t + s)
    }

    @Test func resetState() {  // #16
        var sc = F.scheduler(height: 0)
        var state = F.chain20.genesisState
        state.lastBlockHeight = 7
        #expect(sc.handle(.bcResetState(state), now: t) == .noOp)
        #expect(sc.height == 8 && sc.initHeight == 8)
    }

    @Test func allBlocksProcessed() {  // #17
        #expect(!F.scheduler().allBlocksProcessed())
        #expect(F.scheduler(height: 4, peers: [.r("P1", 4)], received: [4: "P1"]).allBlocksProcessed())
        #expect(!F.scheduler(peers: [.r("P1", 4)], received: [1: "P1", 2: "P1", 3: "P1", 4: "P1"]).allBlocksProcessed())
    }

    @Test func selectPeerFewestPendingThenLowestID() {  // #18
        let sc = F.scheduler(height: 4, peers: [.r("P1", 8), .r("P2", 9)], pending: [4: "P1", 6: "P1", 5: "P2"])
        #expect(sc.selectPeer(height: 4) == .success("P2"))
        let tie = F.scheduler(peers: [.r("P1", 15), .r("P2", 20), .r("P3", 15)],
                              pending: [1: "P1", 2: "P1", 3: "P2", 4: "P2", 5: "P3", 6: "P3"])
        #expect(tie.selectPeer(height: 7) == .success("P1"))
        #expect(F.scheduler(peers: [.r("P1", 6, base: 4)]).selectPeer(height: 3)
                == .failure(Scheduler.SelectionError(message: "cannot find peer for height 3")))
    }

    @Test func blockResponse() {  // #19
        let block6 = F.block(6), at = t + ms
        var empty = F.scheduler()
        #expect(empty.handleBlockResponse("P1", block: block6, time: at, size: 100) == .noOp)
        var removed = F.scheduler(peers: [.x("P1", 8)])
        #expect(removed.handleBlockResponse("P1", block: block6, time: at, size: 100) == .noOp)
        var unrequested = F.scheduler(peers: [.r("P1", 8)], states: 1...8)
        #expect(unrequested.handleBlockResponse("P1", block: block6, time: at, size: 100)
                == .scPeerError(peer: "P1", reason: "received block 6 from peer P1 without being requested"))
        #expect(unrequested.peers["P1"]?.state == .removed)
        var otherPeer = F.scheduler(peers: [.r("P2", 8)], pending: [6: "P2"])
        #expect(otherPeer.handleBlockResponse("P1", block: block6, time: at, size: 100) == .noOp)
        var early = F.scheduler(peers: [.r("P1", 8)], pending: [6: "P1"], pendingAt: t + s)
        #expect(early.handleBlockResponse("P1", block: block6, time: at, size: 100)
                == .scPeerError(peer: "P1", reason: "clock error: block 6 received at \(t + s) but requested at \(at)"))
        var ok = F.scheduler(peers: [.r("P1", 8)], pending: [6: "P1"])
        #expect(ok.handleBlockResponse("P1", block: block6, time: at, size: 100) == .scBlockReceived(peer: "P1", block: block6))
        #expect(ok.peers["P1"]?.lastTouched == at)
    }

    @Test func noBlockResponseRemovesTheSender() {  // #20
        var sc = F.scheduler(peers: [.r("P1", 8)], states: 1...8, pending: [6: "P1"])
        #expect(sc.handleNoBlockResponse("P1", height: 6) == .scPeerError(peer: "P1", reason: "peer P1 with base 0 height 8 claims no block for 6"))
        #expect(sc.peers["P1"]?.state == .removed && sc.blockStates.isEmpty && sc.pendingBlocks.isEmpty)
        var unknown = F.scheduler(peers: [.r("P2", 8)], pending: [6: "P2"])
        let before = unknown
        #expect(unknown.handleNoBlockResponse("P1", height: 6) == .noOp)
        #expect(unknown == before)
    }

    @Test func blockProcessed() {  // #21 and the B3 panic
        var last = F.scheduler(height: 6, peers: [.r("P1", 7)], received: [6: "P1", 7: "P1"])
        #expect(last.handleBlockProcessed(height: 6, now: t) == .scFinished(reason: "processed all blocks"))
        var more = F.scheduler(height: 6, peers: [.r("P1", 8)], pending: [6: "P1"])
        #expect(more.handleBlockProcessed(height: 6, now: t) == .noOp)
        #expect(more.height == 7)
        var none = F.scheduler(height: 6)
        #expect(none.handleBlockProcessed(height: 6, now: t) == .noOp)
        var ahead = F.scheduler(height: 6, peers: [.r("P1", 8)])
        #expect(ahead.handleBlockProcessed(height: 7, now: t) == .panic("processed height 7, but expected height 6"))
    }

    @Test func verificationFailure() {  // #22, #27
        var alone = F.scheduler(height: 6, peers: [.r("P1", 8)], pending: [6: "P1"])
        #expect(alone.handleBlockVerificationFailure(first: "P1", second: "P1") == .scFinished(reason: "error on last block"))
        var two = F.scheduler(height: 6, peers: [.r("P1", 8), .r("P2", 8)], pending: [6: "P1"])
        #expect(two.handleBlockVerificationFailure(first: "P1", second: "P1") == .noOp)
        var sc = F.scheduler(peers: [.r("P1", 4), .r("P2", 3)], states: 1...4, received: [1: "P1", 2: "P1", 3: "P1"])
        #expect(sc.handle(.pcBlockVerificationFailure(height: 1, firstPeer: "P1", secondPeer: "P1", reason: ""), now: t) == .noOp)
        #expect(sc.peers["P1"]?.state == .removed && sc.receivedBlocks.isEmpty)
        #expect(sc.blockStates == [1: .new, 2: .new, 3: .new])
    }

    @Test func tryPrunePeer() {  // #23: #5's peers, P1–P3 at height 5, P4–P6 at 7
        let peers: [P] = [
            .x("P1", 5, touched: t + s, rate: 101), .r("P2", 5, touched: t + s, rate: 101), .x("P3", 5, touched: t + s, rate: 100),
            .r("P4", 7, touched: t, rate: 100), .r("P5", 7, touched: t, rate: 99), .r("P6", 7, touched: t + s, rate: 90),
        ]
        var sc = F.scheduler(peerTimeout: s, minRecvRate: 100, peers: peers, states: 1...7)
        #expect(sc.handleTryPrunePeer(time: t + s + ms) == .scPeersPruned(["P4", "P5", "P6"]))
        var end = F.scheduler(height: 6, peerTimeout: s, minRecvRate: 100, peers: peers, states: 6...7)
        #expect(end.handleTryPrunePeer(time: t + s + ms) == .scFinished(reason: "after try prune"))
    }

    @Test func currentHeightRequestTimesOutSilently() {  // §v2.2.4 h step 1
        var sc = F.scheduler(peers: [.r("P1", 8, touched: t + 14 * s), .r("P2", 8, touched: t + 14 * s)], states: 1...8,
                             pending: [1: "P1"], pendingAt: t)
        #expect(sc.handleTryPrunePeer(time: t + 15 * s + 1) == .noOp)
        #expect(sc.peers["P1"]?.state == .removed && sc.state(at: 1) == .new)
    }

    @Test func trySchedule() {  // #24
        let at = t + s + ms
        var one = F.scheduler(peers: [.r("P1", 4)], states: 1...4)
        #expect(one.handleTrySchedule(time: at) == .scBlockRequest(peer: "P1", height: 1))
        var fewest = F.scheduler(peers: [.r("P1", 4), .r("P2", 5)], states: 1...5, pending: [1: "P1", 2: "P1", 3: "P2"])
        #expect(fewest.handleTrySchedule(time: at) == .scBlockRequest(peer: "P2", height: 4))
        var tie = F.scheduler(peers: [.r("P1", 8), .r("P2", 8), .r("P3", 8)], states: 1...8,
                              pending: [1: "P1", 2: "P1", 3: "P2", 4: "P2", 5: "P3", 6: "P3"])
        #expect(tie.handleTrySchedule(time: at) == .scBlockRequest(peer: "P1", height: 7))
        var noReady = F.scheduler(peers: [.n("P1"), .x("P2", 8)])
        #expect(noReady.handleTrySchedule(time: at) == .noOp)
        var stalled = F.scheduler(peers: [.r("P1", 4)], states: 1...4)
        #expect(stalled.handleTrySchedule(time: t + 10 * s + 1) == .scFinished(reason: "timeout, no advance"))
        var headOfLine = F.scheduler(peers: [.r("P1", 20, base: 10)], states: 1...10)
        #expect(headOfLine.handleTrySchedule(time: at) == .scSchedulerFail(reason: "cannot find peer for height 1"))
    }

    @Test func statusResponse() {  // #25
        var lower = F.scheduler(height: 5, peers: [.r("P1", 10)])
        #expect(lower.handleStatusResponse("P1", base: 0, height: 6) == .scPeerError(peer: "P1", reason: "cannot move peer height lower. from 10 to 6"))
        var fresh = F.scheduler(peers: [.r("P2", 2)])
        #expect(fresh.handleStatusResponse("P1", base: 0, height: 6) == .noOp)
        #expect(fresh.peers["P1"]?.state == .ready && fresh.peers["P1"]?.height == 6)
    }

    @Test func singlePeerSyncsThreeBlocks() {  // #26
        var sc = Scheduler(initHeight: 1, startTime: t)
        #expect(sc.handle(.bcAddNewPeer(peer: "P1"), now: t) == .noOp)
        #expect(sc.handle(.bcStatusResponse(peer: "P1", base: 0, height: 3), now: t) == .noOp)
        #expect(sc.blockStates.keys.sorted() == [1, 2, 3])
        for h: Int64 in 1...3 {
            #expect(sc.handle(.rTrySchedule(time: t + Nanoseconds(h) * ms), now: t) == .scBlockRequest(peer: "P1", height: h))
        }
        for h: Int64 in 1...3 {
            let at = t + Nanoseconds(3 + h) * ms
            #expect(sc.handle(.bcBlockResponse(peer: "P1", block: F.block(h), time: at, size: 100), now: at)
                    == .scBlockReceived(peer: "P1", block: F.block(h)))
            #expect(sc.peers["P1"]?.lastTouched == at)
        }
        #expect(sc.handle(.pcBlockProcessed(height: 1, peer: "P1"), now: t) == .noOp)
        #expect(sc.height == 2)
        #expect(sc.handle(.pcBlockProcessed(height: 2, peer: "P1"), now: t) == .scFinished(reason: "processed all blocks"))
        #expect(sc.height == 3)
    }

    @Test func unknownEventIsASchedulerFailure() {  // #28
        var sc = F.scheduler()
        #expect(sc.handle(.rProcessBlock, now: t) == .scSchedulerFail(reason: "unknown event rProcessBlock"))
    }

    @Test func removePeerEvent() {  // §v2.2.4 g
        var last = F.scheduler(peers: [.r("P1", 4)], states: 1...4)
        #expect(last.handleRemovePeer("P1") == .scFinished(reason: "removed peer"))
        var more = F.scheduler(peers: [.r("P1", 4), .r("P2", 4)], states: 1...4)
        #expect(more.handleRemovePeer("P1") == .scPeerError(peer: "P1", reason: "peer was stopped"))
        #expect(more.handleRemovePeer("P9") == .scPeerError(peer: "P9", reason: "peer was stopped"))
    }
}

/// Bad input never traps: heights at the edge of Int64 (a crafted initial height, a peer
/// claiming Int64.max).
@Suite struct SchedulerEdgeTests {
    @Test func heightsNearInt64MaxDoNotTrap() {
        var sc = Scheduler(initHeight: Int64.max - 3, startTime: 0)
        #expect(sc.handleStatusResponse("P1", base: 0, height: Int64.max) == .noOp)
        #expect(sc.blockStates.keys.sorted() == [Int64.max - 3, Int64.max - 2, Int64.max - 1, Int64.max])
        #expect(sc.handleTrySchedule(time: 1) == .scBlockRequest(peer: "P1", height: Int64.max - 3))
        var low = Scheduler(initHeight: 1, startTime: 0)
        #expect(low.handleStatusResponse("P1", base: 0, height: Int64.max) == .noOp)
        #expect(low.blockStates.count == 10)
    }
}
