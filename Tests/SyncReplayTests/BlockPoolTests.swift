import SyncMachine
import BlockSync
import Testing

/// The pool tests of specs/cometbft-blocksync.md §7 (`blocksync/pool_test.go`) that make sense
/// without a network, run under every profile over the virtual clock.
@Suite struct BlockPoolTests {
    static let ms: Nanoseconds = 1_000_000
    static let s: Nanoseconds = 1_000_000_000

    /// Requests start at once in the busy-spin profiles, after `peerConnWait` (3 s) when paced.
    static func firstRequestTime(_ profile: BlockSyncProfile) -> Nanoseconds {
        if case .paced(let wait) = profile.requesterCreation { return wait }
        return 0
    }

    /// TestBlockPoolBasic: 10 peers of different heights serving every request; the pool gets
    /// past height 300 without ever asking a peer outside its range or more than 20 at once.
    @Test(arguments: BlockSyncProfile.all)
    func basic(profile: BlockSyncProfile) {
        var sim = PoolSimulation(profile: profile, start: 42)
        for i in 0..<10 {
            sim.addPeer("p\(i)", height: 100 + 90 * Int64(i), .honest(latency: 5 * Self.ms, size: 20_000))
        }
        sim.run(until: 60 * Self.s) { $0.pool.height > 300 }
        #expect(sim.pool.height > 300)
        #expect(sim.violations.isEmpty, "\(sim.violations.prefix(3))")
        #expect(sim.errors.isEmpty, "\(sim.errors.prefix(3))")
        #expect(sim.requests.first?.at == Self.firstRequestTime(profile))
        #expect(sim.pool.maxPeerHeight == 910)
    }

    /// TestBlockPoolTimeout: peers that never answer are each reported "peer did not send us
    /// anything" exactly `peerTimeout` (15 s) after their first request.
    @Test(arguments: BlockSyncProfile.all)
    func timeout(profile: BlockSyncProfile) {
        var sim = PoolSimulation(profile: profile)
        for i in 0..<3 { sim.addPeer("p\(i)", height: 50, .silent) }
        sim.run(until: 40 * Self.s) { $0.pool.peers.isEmpty }
        #expect(sim.errors.count == 3)
        for error in sim.errors {
            let first = sim.requests.first { $0.peer == error.peer }
            #expect(error.reason == "peer did not send us anything")
            #expect(first.map { error.at == $0.at + 15 * Self.s } == true, "\(error.peer) at \(error.at)")
        }
        #expect(sim.pool.height == 1)
    }

    /// TestBlockPoolRemovePeer: maxPeerHeight follows removals (10 → 9 → 0, the tm #2699 fix);
    /// removing an unknown peer is a no-op.
    @Test(arguments: BlockSyncProfile.all)
    func removePeer(profile: BlockSyncProfile) {
        var pool = BlockPool<Int64>(profile: profile, startHeight: 1, startTime: 0)
        for h in 1...10 as ClosedRange<Int64> { pool.setPeerRange("\(h)", base: 1, height: h, now: 0) }
        #expect(pool.maxPeerHeight == 10)
        pool.removePeer("10")
        #expect(pool.maxPeerHeight == 9)
        pool.removePeer("superfluous")
        #expect(pool.peers.count == 9)
        for h in 1...9 { pool.removePeer("\(h)") }
        #expect(pool.maxPeerHeight == 0)
        #expect(pool.peers.isEmpty)
    }

    /// TestBlockPoolMaliciousNodeMaxInt64 / ASA-2025-001 (GHSA-22qq-3xwm-r5x4, cometbft #5801):
    /// a peer reports MaxInt64 then a lower height. cometbft-v0.38 removes and bans it, so the
    /// pool catches up with the honest peer; the tm profiles keep maxPeerHeight at MaxInt64 and
    /// never report caught up.
    @Test(arguments: BlockSyncProfile.all)
    func maliciousMaxInt64ThenLower(profile: BlockSyncProfile) {
        var sim = PoolSimulation(profile: profile)
        sim.addPeer("honest", height: 20, .honest(latency: 5 * Self.ms, size: 200_000))
        sim.addPeer("liar", height: .max, .silent)
        sim.report("liar", base: 1, height: 20)
        sim.run(until: 30 * Self.s)
        #expect(sim.pool.height == 20)
        if profile.banOnLoweredRange {
            #expect(sim.bans.map(\.peer) == ["liar"])
            #expect(sim.pool.peers["liar"] == nil)
            #expect(sim.pool.maxPeerHeight == 20)
            #expect(sim.pool.isCaughtUp(now: sim.now))
            // Banned: its status is ignored for 60 s, then accepted again.
            sim.report("liar", base: 1, height: 20)
            #expect(sim.pool.peers["liar"] == nil)
            sim.now += 61 * Self.s
            sim.report("liar", base: 1, height: 20)
            #expect(sim.pool.peers["liar"] != nil)
        } else {
            // The liar was asked for heights 21…40, never answered, timed out and was removed;
            // removal recomputes the max only when the peer's (now lowered) height equals it.
            #expect(sim.bans.isEmpty)
            #expect(sim.errors.map(\.peer) == ["liar"])
            #expect(sim.pool.peers["liar"] == nil)
            #expect(sim.pool.maxPeerHeight == .max)
            #expect(!sim.pool.isCaughtUp(now: sim.now))
        }
    }

    /// TestBlockPoolBansPeerWithBaseGreaterThanHeight (v0.38.23): base > height bans the peer in
    /// cometbft-v0.38. The tm pools accept it (their reactor's ValidateMsg disconnects first).
    @Test(arguments: BlockSyncProfile.all)
    func bansPeerWithBaseGreaterThanHeight(profile: BlockSyncProfile) {
        var pool = BlockPool<Int64>(profile: profile, startHeight: 1, startTime: 0)
        pool.setPeerRange("bad", base: 10, height: 5, now: 0)
        if profile.baseFilter {
            #expect(pool.peers["bad"] == nil)
            #expect(pool.isBanned("bad", now: 59 * Self.s))
            #expect(!pool.isBanned("bad", now: 60 * Self.s))
            #expect(pool.takeEffects().contains { if case .peerBanned("bad", _) = $0 { true } else { false } })
        } else {
            #expect(pool.peers["bad"]?.height == 5)
            #expect(pool.takeEffects().isEmpty)
        }
    }

    /// TestBlockPoolMaxPeerHeightRefreshesOnPopRequest (#5803): a peer pruned ahead of us does
    /// not count towards maxPeerHeight until the pool reaches its base (cometbft-v0.38); the tm
    /// profiles count it at once.
    @Test(arguments: BlockSyncProfile.all)
    func maxPeerHeightRefreshesOnPop(profile: BlockSyncProfile) {
        var sim = PoolSimulation(profile: profile)
        sim.addPeer("low", base: 1, height: 100, .honest(latency: 5 * Self.ms, size: 200_000))
        sim.addPeer("pruned", base: 50, height: 200, .honest(latency: 5 * Self.ms, size: 200_000))
        #expect(sim.pool.maxPeerHeight == (profile.baseFilter ? 100 : 200))
        sim.run(until: 60 * Self.s) { $0.pool.height >= 50 }
        #expect(sim.pool.height >= 50)
        #expect(sim.pool.maxPeerHeight == 200)
        #expect(sim.violations.isEmpty, "\(sim.violations.prefix(3))")
    }

    /// TestBlockPoolHasPendingRequestFrom: true exactly for a peer some requester asked.
    @Test(arguments: BlockSyncProfile.all)
    func hasPendingRequestFrom(profile: BlockSyncProfile) {
        var sim = PoolSimulation(profile: profile)
        #expect(!sim.pool.hasPendingRequest(from: "a"))
        sim.addPeer("a", height: 10, .silent)
        #expect(sim.pool.hasPendingRequest(from: "a") == (Self.firstRequestTime(profile) == 0))
        sim.run(until: Self.firstRequestTime(profile) + 100 * Self.ms)
        #expect(sim.pool.hasPendingRequest(from: "a"))
        #expect(!sim.pool.hasPendingRequest(from: "b"))
    }

    /// §2.3 caps: 600 requesters (busy spin) vs 20 × peers (paced), 20 pending per peer.
    @Test(arguments: BlockSyncProfile.all)
    func requestWindowCaps(profile: BlockSyncProfile) {
        var sim = PoolSimulation(profile: profile)
        sim.addPeer("a", height: 10_000, .silent)
        sim.addPeer("b", height: 10_000, .silent)
        sim.run(until: 5 * Self.s)
        switch profile.requesterCreation {
        case .busySpin(let total, _): #expect(sim.pool.requesterCount == total)
        case .paced: #expect(sim.pool.requesterCount == 40)
        }
        #expect(sim.requests.count == 40)
        #expect(sim.pool.peers.values.allSatisfy { $0.numPending == 20 })
    }

    /// tm #1177 / cometbft #5135: a peer delivering 1 kB/s while requests are outstanding decays
    /// the receive-rate EMA (start minRecvRate·e, 40 s window) below the minimum and is dropped
    /// "not sending us data fast enough" — but only where `removeTimedoutPeers` runs: with a
    /// 100-block chain the busy-spin profiles never saturate 600 requesters, so they keep the
    /// slow peer; with 1000 blocks they saturate and drop it too.
    @Test(arguments: BlockSyncProfile.all, [Int64(100), 1000])
    func slowPeerBelowMinimumRate(profile: BlockSyncProfile, chainHeight: Int64) {
        var sim = PoolSimulation(profile: profile)
        sim.addPeer("slow", height: chainHeight, .slow(interval: Self.s, size: 1000))
        sim.run(until: 120 * Self.s) { !$0.errors.isEmpty }
        let saturates: Bool
        switch profile.requesterCreation {
        case .busySpin(let total, _): saturates = chainHeight >= Int64(total)
        case .paced: saturates = true
        }
        if saturates {
            #expect(sim.errors.map(\.reason) == ["peer is not sending us data fast enough"])
            // The EMA needs about one 40 s window to fall from minRecvRate·e to minRecvRate.
            let start = Self.firstRequestTime(profile)
            #expect(sim.errors.first.map { $0.at > start + 38 * Self.s && $0.at < start + 48 * Self.s } == true,
                    "dropped at \(sim.errors.first?.at ?? 0)")
        } else {
            #expect(sim.errors.isEmpty)
            #expect(sim.pool.peers["slow"] != nil)
        }
    }

    /// §2.6 near the tip (dual requesters): two requests per height within 50 of the pool height;
    /// the second copy is accepted without error and the pool advances.
    @Test(arguments: BlockSyncProfile.all)
    func secondPeerRequestsNearTip(profile: BlockSyncProfile) {
        var sim = PoolSimulation(profile: profile)
        sim.addPeer("a", height: 30, .honest(latency: 5 * Self.ms, size: 200_000))
        sim.addPeer("b", height: 30, .honest(latency: 7 * Self.ms, size: 200_000))
        sim.run(until: 10 * Self.s)
        #expect(sim.pool.height == 30)
        #expect(sim.errors.isEmpty)
        let heightsAsked = Dictionary(grouping: sim.requests, by: \.height).mapValues { Set($0.map(\.peer)) }
        if profile.secondRequestWindowForTests != nil {
            #expect(heightsAsked[1] == ["a", "b"])
            #expect(sim.requests.count == 2 * 30)
        } else {
            #expect(heightsAsked.values.allSatisfy { $0.count == 1 })
            #expect(sim.requests.count == 30)
        }
    }
}

extension BlockSyncProfile: CustomTestStringConvertible {
    public var testDescription: String { name.rawValue }
    var secondRequestWindowForTests: Int64? {
        if case .dual(let w) = requesterStyle { return w }
        return nil
    }
}
