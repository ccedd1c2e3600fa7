import BlockSyncV2
import CometWire
import HexCoding
import BlockSync
import Implementations
import SyncMachine
import Testing

/// The demux: IO (§v2.4, §v2.7 #35), tickers (§v2.1.6), routing and the switch (§v2.1.5,
/// §v2.1.8), the §v2.6 bugs it shows in Model A, and the §v2.8 determinism decisions — over
/// real signed chains, every run inside the invariant checker.
@Suite struct DemuxTests {
    typealias F = V2Fixtures
    let ms = V2Fixtures.ms, s = V2Fixtures.s

    /// The two models whose timing these tables assert (`heap-lag` delays the scheduler on purpose).
    static let models: [V2QueueModel] = [.fifo, .heap]
    static let cases: [(BlockSyncV2Profile, V2QueueModel)] = BlockSyncV2Profile.all.flatMap { p in Self.models.map { (p, $0) } }

    static func honest(_ profile: BlockSyncV2Profile, _ queue: V2QueueModel, order: [PeerID] = ["P1", "P2", "P3"],
                       latency: Nanoseconds = 5 * F.ms) -> V2Net {
        var net = V2Net(F.demux(profile, queue: queue))
        for id in order { net.connect(F.remote(id, latency: latency), at: 0) }
        net.run(until: 120 * F.s)
        return net
    }

    /// Catch-up from three honest peers at height 20: blocks 1…19 applied once each in order
    /// (20 cannot be verified without 21), then the switch at 20 ("processed all blocks");
    /// at most one request per schedule tick, all on the 20 ms grid; no invariant broken.
    @Test(arguments: cases)
    func honestCatchUpAppliesAllButTheLastBlock(profile: BlockSyncV2Profile, queue: V2QueueModel) {
        let net = Self.honest(profile, queue)
        #expect(net.applied == Array(1...19))
        #expect(net.switched?.height == 20 && net.switched?.reason == .caughtUp)
        #expect(net.machine.violations.isEmpty, "\(net.machine.violations)")
        #expect(net.disconnects.isEmpty)
        let requests = (1...20).flatMap { net.requests($0) }
        #expect(requests.count == 20)
        #expect(Set(requests.map(\.time)).count == requests.count)
        #expect(requests.allSatisfy { $0.time % (20 * ms) == 0 })
        // The applied hashes are the chain's.
        for entry in net.log {
            if case .blockApplied(let h, let hash) = entry.effect { #expect(hash == F.chain20.blockID(at: h)!.hash) }
        }
    }

    /// DET-6: the first request goes to the lowest ID, whatever the connection order; DET-1/2:
    /// equal input, equal effects.
    @Test func selectionFollowsIDOrderAndRunsRepeatExactly() {
        // Slow enough (50 ms) that the earlier requests are still pending at the next ticks.
        let a = Self.honest(.tmV034, .fifo, order: ["P3", "P2", "P1"], latency: 50 * ms)
        #expect(a.requests(1).map(\.peer) == ["P1"])
        #expect(a.requests(2).map(\.peer) == ["P2"])
        #expect(a.requests(3).map(\.peer) == ["P3"])
        let b = Self.honest(.tmV034, .fifo, order: ["P3", "P2", "P1"], latency: 50 * ms)
        #expect(a.log == b.log)
        let heapA = Self.honest(.tmV034, .heap), heapB = Self.honest(.tmV034, .heap)
        #expect(heapA.log == heapB.log)
    }

    /// DET-12: `lastAdvance` starts at the machine's start (construction), not at 0: with no
    /// peer at all the 60 s no-advance timeout ends the sync at the first schedule tick past
    /// start + 60 s. DET-11: a status may come before the peer's `bcAddNewPeer`.
    @Test func noAdvanceTimeoutCountsFromTheStartAndStatusMayPrecedeAdd() {
        var net = V2Net(F.demux(.tmV034, start: 5 * s))
        net.run(until: 120 * s)
        #expect(net.switched?.time == 65 * s + 20 * ms && net.switched?.reason == .noProgress && net.switched?.height == 1)
        var sc = Scheduler(initHeight: 1, startTime: 0)
        #expect(sc.handle(.bcStatusResponse(peer: "P1", base: 0, height: 8), now: 0) == .noOp)
        #expect(sc.handle(.bcAddNewPeer(peer: "P1"), now: 0) == .noOp)
        #expect(sc.peers["P1"]?.state == .ready && sc.peers["P1"]?.height == 8)
    }

    /// DET-3: the status broadcast at the start and every 10 s; the schedule and process
    /// tickers every 20 ms from the start, in `V2Timer` order at equal deadlines.
    @Test func tickersSharePhaseFromTheStart() {
        var d = F.demux(.tmV034, start: 5 * s)
        #expect(d.nextTimer?.deadline == 5 * s && d.nextTimer?.timer == .status)
        #expect(d.fireTimers().map(\.effect) == [.broadcastStatusRequest])
        #expect(d.nextTimer?.deadline == 5 * s + 20 * ms && d.nextTimer?.timer == .process)
        _ = d.handle(.timeAdvanced(to: 15 * s))
        #expect(d.nextTimer?.timer == .process)
        var seen: [V2Timer] = []
        while let next = d.nextTimer, next.deadline <= 15 * s { seen.append(next.timer); _ = d.fireTimers() }
        #expect(seen.isEmpty)
        #expect(d.handle(.timeAdvanced(to: 15 * s + 1)).isEmpty)
    }

    /// #35 helper mode (fast sync off, §v2.6 B2): requests are served, responses dropped, no
    /// ticks; StatusRequest answered per profile (§v2.5.1).
    @Test(arguments: BlockSyncV2Profile.all)
    func helperModeServesAndNeverSyncs(profile: BlockSyncV2Profile) throws {
        let chain = F.chain20
        var state = chain.genesisState
        for h: Int64 in 1...20 { state = ApplicationModel.unknown.applying(chain.block(at: h)!, blockID: chain.blockID(at: h)!, to: state) }
        let store = try NodeBlockStore(base: 1, height: 20, blocks: (1...20).map { StoredBlock(block: chain.block(at: $0)!) })
        var d = try Demux(profile: profile, start: NodeStart(state: state, store: store), fastSync: false)
        #expect(d.nextTimer == nil)
        let added = d.handle(.peerAdded("P1", at: 1))
        let status: BlocksyncMessage = profile.statusReply == .statusRequest ? .statusRequest : .statusResponse(height: 20, base: 1)
        #expect(added == [.send(status, to: "P1")])
        #expect(d.handle(.received(.statusRequest, from: "P1", wireSize: 2, at: 2)) == [.send(status, to: "P1")])
        for h: Int64 in [13, 20] {
            #expect(d.handle(.received(.blockRequest(height: h), from: "P1", wireSize: 4, at: 3))
                    == [.send(.blockResponse(block: chain.block(at: h)!, extCommit: nil), to: "P1")])
        }
        #expect(d.handle(.received(.blockRequest(height: 22), from: "P1", wireSize: 4, at: 4)) == [.send(.noBlockResponse(height: 22), to: "P1")])
        #expect(d.handle(.received(.statusResponse(height: 40, base: 1), from: "P1", wireSize: 4, at: 5)).isEmpty)
        #expect(d.nextTimer == nil && !d.isSyncing)
    }

    /// §v2.6 B6: a v0.34.23+ v2 node among v0.34.23+ v2 peers never learns a height (every
    /// StatusRequest is answered by a StatusRequest, and they bounce); it switches after the
    /// 60 s no-advance timeout with no block, at the first schedule tick past 60 s.
    @Test func statusRegressionSwitchesAfterTheTimeout() {
        var net = V2Net(F.demux(.tmV034))
        net.connect(F.remote("P1", bounces: true), at: 0)
        net.run(until: 120 * s)
        #expect(net.applied.isEmpty)
        #expect(net.switched?.height == 1 && net.switched?.reason == .noProgress)
        #expect(net.switched?.time == 60 * s + 20 * ms)
        let bounced = net.log.filter { $0.effect == .send(.statusRequest, to: "P1") }.count
        #expect(bounced > 1000)
        // The same peers answering with a StatusResponse (tm ≤ v0.34.22 or v0): a normal sync.
        var old = V2Net(F.demux(.tmV034))
        old.connect(F.remote("P1"), at: 0)
        old.run(until: 120 * s)
        #expect(old.applied == Array(1...19))
    }

    /// §v2.6 B13: a NoBlockResponse removes and disconnects the sender; the others finish.
    @Test func noBlockResponseDisconnectsTheSender() {
        var net = V2Net(F.demux(.tmV034))
        net.connect(F.remote("P1", height: 20, chain: F.chain(5)), at: 0)
        net.connect(F.remote("P2"), at: 0)
        net.run(until: 120 * s)
        #expect(net.disconnects.map(\.peer) == ["P1"])
        #expect(net.disconnects.first?.reason == "scPeerError: peer P1 with base 1 height 20 claims no block for 6")
        #expect(net.applied == Array(1...19))
        #expect(net.machine.violations.isEmpty)
    }

    /// §v2.6 B12 / §v2.2.5: a Ready peer that delivered nothing by the prune tick is pruned
    /// (status does not touch); with no Ready peer left the node switches with 0 blocks.
    @Test func slowOnlyPeerIsPrunedAndTheNodeSwitchesEmpty() {
        var net = V2Net(F.demux(.tmV034))
        net.connect(F.remote("P1", latency: 1_500 * ms), at: 0)
        net.run(until: 120 * s)
        #expect(net.applied.isEmpty)
        // Ready at 1.5 s (its status, delivered before the schedule tick of that instant),
        // requested at that tick, pruned at the 2 s tick.
        #expect(net.switched?.time == 2 * s && net.switched?.height == 1 && net.switched?.reason == .caughtUp)
        #expect(net.requests(1).map(\.time) == [1_500 * ms])
    }

    /// §v2.6 B10 (FS-ISSUE-KILL): a bad commit for block 1 gets every supplier tombstoned, none
    /// disconnected; with no Ready peer left the node switches at height 1 with nothing applied.
    @Test func badPairTombstonesBothSuppliersWithoutDisconnecting() {
        let bad = F.chain(20, .insufficientPower(height: 1))
        var net = V2Net(F.demux(.tmV034, chain: bad))
        // 50 ms: block 1 comes from P1 and block 2 from P2.
        for id in ["P1", "P2", "P3"] { net.connect(F.remote(id, latency: 50 * ms, chain: bad), at: 0) }
        net.run(until: 120 * s)
        let failures = net.log.compactMap { if case .verifyFailed(let hs, let ps, _) = $0.effect { (hs, ps) } else { nil } }
        #expect(failures.map(\.0) == [[1, 2], [1, 2]])
        #expect(failures.map(\.1) == [["P1", "P2"], ["P3"]])
        #expect(net.disconnects.isEmpty)
        #expect(net.applied.isEmpty)
        #expect(net.switched?.height == 1)
    }

    /// Issue 13 item 4: the original's ApplyBlock panic is a `reactor_panic` decision with
    /// its text and the processor's history; the machine then does nothing more.
    @Test(arguments: DemuxTests.models)
    func applyFailureIsAReactorPanicDecision(queue: V2QueueModel) {
        let bad = F.chain(20, .wrongValidatorsHash(height: 1))
        var net = V2Net(F.demux(.tmV034, queue: queue, chain: bad))
        net.connect(F.remote("P1", chain: bad), at: 0)
        net.run(until: 120 * s)
        guard case .reactorPanic(let message)? = net.log.last?.effect else {
            Issue.record("no panic: \(net.log.last.map { "\($0.effect)" } ?? "empty log")")
            return
        }
        let lines = message.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0].hasPrefix("failed to process committed block (1:\(Hex.upper(bad.blockID(at: 1)!.hash))): "))
        #expect(lines[1] == "last events:")
        #expect(lines[2].hasPrefix("0: scBlockReceived{") && lines.last!.hasPrefix("\(lines.count - 3): scBlockReceived{1#"))
        #expect(net.applied.isEmpty)
        var dead = net.machine
        #expect(dead.nextTimer == nil)
        #expect(dead.handle(.received(.blockRequest(height: 1), from: "P1", wireSize: 4, at: 200 * s)).isEmpty)
    }

    /// DET-8 / §v2.1.7: a report disconnects once; the switch's `RemovePeer` fed back for it is
    /// ignored; the scheduler still learns of the removal through `bcRemovePeer`.
    @Test func reportedPeerIsRemovedOnce() {
        var d = F.demux(.tmV03422)
        for p in ["P1", "P2"] {
            _ = d.handle(.peerAdded(p, at: 0))
            _ = d.handle(.received(.statusResponse(height: 20, base: 1), from: p, wireSize: 4, at: 1))
        }
        #expect(d.scheduler.peers["P1"]?.state == .ready)
        let bad = d.handle(.received(.statusResponse(height: 5, base: 1), from: "P1", wireSize: 4, at: 2))
        #expect(bad == [.disconnect("P1", reason: "scPeerError: cannot move peer height lower. from 20 to 5")])
        #expect(d.handle(.peerRemoved("P1", reason: "again", at: 2)).isEmpty)
        #expect(d.scheduler.peers["P1"]?.state == .removed)
        // A tombstone: its reconnection and new status are ignored for the session.
        _ = d.handle(.peerAdded("P1", at: 3))
        _ = d.handle(.received(.statusResponse(height: 30, base: 1), from: "P1", wireSize: 4, at: 4))
        #expect(d.scheduler.peers["P1"]?.state == .removed)
    }

    /// Invalid messages are reported with `ValidateMsg`'s text (§v2.4.2); undecodable bytes
    /// end the peer per profile (§v2.5.1).
    @Test func invalidAndUndecodableMessagesDisconnect() {
        var d = F.demux(.tmV034)
        for p in ["P1", "P2", "P3"] {
            _ = d.handle(.peerAdded(p, at: 0))
            _ = d.handle(.received(.statusResponse(height: 20, base: 1), from: p, wireSize: 4, at: 0))
        }
        #expect(d.handle(.received(.statusResponse(height: 3, base: 5), from: "P1", wireSize: 4, at: 0))
                == [.disconnect("P1", reason: "base 5 cannot be greater than height 3")])
        #expect(d.handle(.undecodable(from: "P2", error: "bad tag", at: 0)) == [.disconnect("P2", reason: "recovered from panic: bad tag")])
        // With New peers only, a removal finishes the sync (allBlocksProcessed, §v2.2.3 H13).
        var lone = F.demux(.tmV034)
        _ = lone.handle(.peerAdded("P1", at: 0))
        #expect(lone.handle(.undecodable(from: "P1", error: "bad tag", at: 0))
                == [.disconnect("P1", reason: "recovered from panic: bad tag"), .switchToConsensus(height: 1, reason: .caughtUp)])
    }

    /// The registry: both profiles run v2; `v2-queue` picks the model, is refused for v0
    /// profiles and for values other than fifo/heap.
    @Test func registryProfilesAndTheQueueOption() throws {
        let registry = MachineRegistry.standard
        #expect(registry.implementation(of: .tmV034V2)?.name == "v2")
        #expect(registry.implementation(of: .tmV03422V2)?.name == "v2")
        var start = NodeStart(genesis: F.chain20.genesisState)
        start.implementationOptions = [V2QueueModel.optionName: "heap"]
        let machine = try registry.makeMachine(profile: .tmV034V2, start: start)
        #expect((machine as? Demux)?.queueModel == .heap)
        #expect(throws: MachineStartError("--v2-queue does not apply to profile tm-v0.34 (implementation v0)")) {
            _ = try registry.makeMachine(profile: "tm-v0.34", start: start)
        }
        let heap = registry.setting(V2QueueModel.optionName, to: "heap")
        let viaRegistry = try heap.makeMachine(profile: .tmV03422V2, start: NodeStart(genesis: F.chain20.genesisState))
        #expect((viaRegistry as? Demux)?.queueModel == .heap)
        #expect(try heap.makeMachine(profile: "tm-v0.34", start: NodeStart(genesis: F.chain20.genesisState)) is Reactor)
        start.implementationOptions = [V2QueueModel.optionName: "lifo"]
        #expect(throws: MachineStartError("--v2-queue must be fifo, heap or heap-lag, not \"lifo\"")) {
            _ = try registry.makeMachine(profile: .tmV034V2, start: start)
        }
    }
}
