import SyncMachine
import BlockSync
import SyncDriver
import CometWire
import Testing

/// Reactor scenarios of specs/cometbft-blocksync.md §7 ("Reactor tests", §7.1) and the §6 known
/// bugs a v0 reactor shows, over real signed chains from `ChainBuilder`, under every profile.
@Suite struct ReactorTests {
    static let ms: Nanoseconds = 1_000_000
    static let s: Nanoseconds = 1_000_000_000

    static func chain(_ length: Int, _ variant: ChainBuilder.Variant = .valid) -> Chain {
        ChainBuilder(.init(seed: Array("reactor-tests".utf8), validatorPowers: [10, 10, 10], length: length, txsPerBlock: 1))
            .build(variant)
    }
    static let chain60 = chain(60)

    static func network(_ profile: BlockSyncProfile, chain: Chain) -> LoopbackRun<Reactor> {
        // A node syncing from genesis: empty store.
        LoopbackRun(machine: try! Reactor(profile: profile, state: chain.genesisState, store: NodeBlockStore()))
    }

    static func requestTime(_ profile: BlockSyncProfile) -> Nanoseconds {
        if case .paced(let wait) = profile.requesterCreation { return wait }
        return 0
    }

    static func applied(_ net: LoopbackRun<Reactor>) -> [Int64] {
        net.log.compactMap { if case .blockApplied(let h, _) = $0.effect { h } else { nil } }
    }
    static func disconnects(_ net: LoopbackRun<Reactor>) -> [(time: Nanoseconds, peer: PeerID, reason: String)] {
        net.log.compactMap { if case .disconnect(let p, let r) = $0.effect { ($0.time, p, r) } else { nil } }
    }
    static func switched(_ net: LoopbackRun<Reactor>) -> (time: Nanoseconds, height: Int64, reason: SwitchReason)? {
        net.log.lazy.compactMap { if case .switchToConsensus(let h, let r) = $0.effect { ($0.time, h, r) } else { nil } }.first
    }
    static func requests(_ net: LoopbackRun<Reactor>, height: Int64) -> [(time: Nanoseconds, peer: PeerID)] {
        net.log.compactMap {
            if case .send(.blockRequest(let h), let p) = $0.effect, h == height { ($0.time, p) } else { nil }
        }
    }

    /// Honest sync from four peers: every block saved and applied once, in height order, with
    /// its real hash; the node switches to consensus (caught up) at pool height = max peer height.
    @Test(arguments: BlockSyncProfile.all)
    func honestSyncAppliesEveryBlockInOrder(profile: BlockSyncProfile) {
        let chain = Self.chain60
        var net = Self.network(profile, chain: chain)
        for i in 0..<4 { net.connect(.init(id: "p\(i)", chain: chain, latency: (5 + Nanoseconds(i)) * Self.ms), at: 0) }
        net.run(until: 60 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.applied(net) == Array(1...59))
        let hashes = net.log.compactMap { if case .blockApplied(let h, let hash) = $0.effect { (h, hash) } else { nil } }
        #expect(hashes.allSatisfy { chain.blockID(at: $0.0)?.hash == $0.1 })
        #expect(Self.switched(net)?.height == 60)
        #expect(Self.switched(net)?.reason == .caughtUp)
        #expect(Self.disconnects(net).isEmpty)
        #expect(net.machine.state.lastBlockHeight == 59)
        #expect(net.machine.store.height == 59)
        let firstRequest = net.log.first { if case .send(.blockRequest, _) = $0.effect { true } else { false } }
        // Peers enter the pool with their StatusResponse (5 ms latency); paced profiles wait 3 s.
        #expect(firstRequest?.time == max(Self.requestTime(profile), 5 * Self.ms))
    }

    /// §7.1 #1: AddPeer sends our StatusResponse first; StatusRequest broadcast every 10 s (the
    /// first after 10 s), until the switch to consensus.
    @Test(arguments: BlockSyncProfile.all)
    func statusExchange(profile: BlockSyncProfile) {
        var reactor = try! Reactor(profile: profile, state: Self.chain60.genesisState, store: NodeBlockStore())
        #expect(reactor.handle(.peerAdded("a", at: 0)) == [.send(.statusResponse(height: 0, base: 0), to: "a")])
        #expect(reactor.handle(.received(.statusRequest, from: "a", wireSize: 2, at: 5 * Self.ms))
                == [.send(.statusResponse(height: 0, base: 0), to: "a")])
        var broadcasts: [Nanoseconds] = []
        while let t = reactor.nextDeadline, t <= 25 * Self.s {
            if reactor.handle(.timeAdvanced(to: t)).contains(.broadcastStatusRequest) { broadcasts.append(t) }
        }
        #expect(broadcasts == [10 * Self.s, 20 * Self.s])
    }

    /// TestNoBlockResponse (serving side): after syncing, the node answers BlockRequests from its
    /// store — a BlockResponse for a height it holds, NoBlockResponse for one it lacks.
    @Test(arguments: BlockSyncProfile.all)
    func servesBlocksFromStore(profile: BlockSyncProfile) {
        let chain = Self.chain60
        var net = Self.network(profile, chain: chain)
        net.connect(.init(id: "p0", chain: chain, latency: 5 * Self.ms), at: 0)
        net.run(until: 60 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        var reactor = net.machine
        let t = reactor.now + Self.s
        _ = reactor.handle(.peerAdded("asker", at: t))
        for (h, found) in [(Int64(10), true), (1, true), (59, true), (60, false), (100, false)] {
            let effects = reactor.handle(.received(.blockRequest(height: h), from: "asker", wireSize: 3, at: t))
            let expected: BlocksyncMessage = found
                ? .blockResponse(block: chain.block(at: h)!, extCommit: nil) : .noBlockResponse(height: h)
            #expect(effects == [.send(expected, to: "asker")], "height \(h)")
        }
    }

    /// TestCheckSwitchToConsensusLastHeightZero: a node at height 0 whose peers have one block is
    /// caught up at the first 1 s check.
    @Test(arguments: BlockSyncProfile.all)
    func switchToConsensusFromHeightZero(profile: BlockSyncProfile) {
        let chain = Self.chain(1)
        var net = Self.network(profile, chain: chain)
        net.connect(.init(id: "p0", chain: chain, latency: 5 * Self.ms), at: 0)
        net.run(until: 10 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.switched(net)?.time == Self.s)
        #expect(Self.switched(net)?.height == 1)
        #expect(Self.switched(net)?.reason == .caughtUp)
        #expect(Self.applied(net).isEmpty)
    }

    /// [FS-ISSUE-KILL] (tendermint/spec rust-spec/fastsync, §3.4 step 5): block 6 carries a bad
    /// LastCommit for block 5. The honest peer that supplied block 5 is removed together with the
    /// byzantine supplier of block 6 (and both banned in cometbft-v0.38); sync stalls at 5.
    @Test(arguments: BlockSyncProfile.all)
    func badSecondBlockRemovesHonestFirstSupplier(profile: BlockSyncProfile) {
        let honest = Self.chain(10)
        let byzantine = Self.chain(10, .badSignature(height: 5, validator: 0))
        #expect(honest.block(at: 5) == byzantine.block(at: 5))
        var net = Self.network(profile, chain: honest)
        net.connect(.init(id: "honest", chain: honest, height: 5, latency: 5 * Self.ms), at: 0)
        net.connect(.init(id: "byz", chain: byzantine, latency: 7 * Self.ms), at: 0)
        net.run(until: 30 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        let failures = net.log.compactMap { if case .verifyFailed(let hs, let ps, _) = $0.effect { (hs, ps) } else { nil } }
        #expect(failures.count == 1)
        #expect(failures.first.map { $0.0 == [5, 6] && $0.1 == ["honest", "byz"] } == true, "\(failures)")
        #expect(Self.applied(net) == [1, 2, 3, 4])
        #expect(Set(Self.disconnects(net).map(\.peer)) == ["honest", "byz"])
        let bans = net.log.compactMap { if case .ban(let p, _) = $0.effect { p } else { nil } }
        #expect(bans == (profile.banDuration == nil ? [] : ["honest", "byz"]))
        #expect(net.machine.isSyncing)
    }

    /// Three peers for a failed-pair case: "short" serves 1–5 fast, "byz" serves `byzantine`
    /// (with `tampered` heights altered after signing) a little slower, "honest" the whole honest
    /// chain slowly: byz supplies the bad block, honest supplies the redone heights.
    static func failedPairNetwork(_ profile: BlockSyncProfile, application: ApplicationModel, honest: Chain,
                                  byzantine: Chain, tampered: Set<Int64> = []) -> LoopbackRun<Reactor> {
        let reactor = try! Reactor(profile: profile, state: honest.genesisState, store: NodeBlockStore(),
                                   configuration: ReactorConfiguration(application: application))
        var net = LoopbackRun(machine: reactor)
        net.connect(.init(id: "short", chain: honest, height: 5, latency: 5 * Self.ms), at: 0)
        var byz = LoopbackPeer(id: "byz", chain: byzantine, latency: 7 * Self.ms)
        byz.tamperedAfterSigning = tampered
        net.connect(byz, at: 0)
        net.connect(.init(id: "honest", chain: honest, latency: 300 * Self.ms), at: 0)
        net.run(until: 30 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        return net
    }

    static func verifyFailures(_ net: LoopbackRun<Reactor>) -> [(heights: [Int64], peers: [PeerID], reason: String)] {
        net.log.compactMap { if case .verifyFailed(let hs, let ps, let r) = $0.effect { (hs, ps, r) } else { nil } }
    }

    /// §3.4 step 6: the application results `ValidateBlock` checks block 8 against come from
    /// applying block 7 (ApplyBlock), not from the unverified block 8 that arrived with it. byz's
    /// block 8 was altered after signing (wrong hash); the pair (8, 9) fails and byz is removed;
    /// the honest copy of 8 then validates — under both application models.
    @Test(arguments: BlockSyncProfile.all, [ApplicationModel.unknown, .transactionCounter])
    func tamperedSecondBlockDoesNotPoisonTheAppHash(profile: BlockSyncProfile, application: ApplicationModel) {
        let chain = Self.chain(14)
        let net = Self.failedPairNetwork(profile, application: application, honest: chain, byzantine: chain, tampered: [8])
        let failures = Self.verifyFailures(net)
        #expect(failures.map(\.heights) == [[8, 9]], "\(failures)")
        #expect(failures.first?.peers.first == "byz")
        #expect(failures.first?.reason.hasPrefix("invalid commit -- wrong block ID") == true, "\(failures)")
        #expect(Self.applied(net) == Array(1...13))
        #expect(!Self.disconnects(net).map(\.peer).contains("honest"))
        // The disconnect wraps the error as the version does.
        let reason = Self.disconnects(net).first { $0.peer == "byz" }?.reason
        #expect(reason == profile.validationErrorPrefix + (failures.first?.reason ?? ""))
        #expect(Self.switched(net)?.height == 14)
    }

    /// §4.5 AppHash: block 8 is fully signed but its app hash is not what the application
    /// computed after block 7. With the simulator's application the node rejects the pair
    /// (8, 9) in ValidateBlock ("wrong Block.Header.AppHash") and syncs on from the honest peer;
    /// without an application (`.unknown`, documented divergence) the block is accepted.
    @Test(arguments: BlockSyncProfile.all)
    func wrongAppHashIsRejectedByTheApplication(profile: BlockSyncProfile) {
        let honest = Self.chain(14)
        let byzantine = Self.chain(14, .wrongAppHash(height: 8))
        let net = Self.failedPairNetwork(profile, application: .transactionCounter, honest: honest, byzantine: byzantine)
        let failures = Self.verifyFailures(net)
        #expect(failures.first?.heights == [8, 9], "\(failures)")
        #expect(failures.first?.reason.hasPrefix("wrong Block.Header.AppHash.") == true, "\(failures)")
        #expect(Self.applied(net) == Array(1...13))
        #expect(net.machine.state.appHash == honest.appHashes[12])
        let unknown = Self.failedPairNetwork(profile, application: .unknown, honest: honest, byzantine: byzantine)
        #expect(Self.verifyFailures(unknown).isEmpty)
        #expect(unknown.machine.store.block(at: 8)?.block == byzantine.block(at: 8))
    }

    /// A peer that never answers is dropped "peer did not send us anything" exactly 15 s after
    /// its first request (tm #762); its heights are then served by the others and, with the
    /// liar's height gone from maxPeerHeight, the node switches to consensus.
    @Test(arguments: BlockSyncProfile.all)
    func silentPeerDroppedAfterPeerTimeout(profile: BlockSyncProfile) {
        let chain = Self.chain(30)
        var silent = LoopbackPeer(id: "silent", chain: chain, height: 40, latency: 5 * Self.ms)
        silent.silent = true
        var net = Self.network(profile, chain: chain)
        net.connect(silent, at: 0)
        net.connect(.init(id: "honest", chain: chain, latency: 5 * Self.ms), at: 0)
        net.run(until: 60 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        let firstAsked = net.log.first { if case .send(.blockRequest, "silent") = $0.effect { true } else { false } }?.time
        let drops = Self.disconnects(net)
        #expect(drops.count == 1)
        #expect(drops.first?.peer == "silent")
        #expect(drops.first?.reason == "peer did not send us anything")
        #expect(firstAsked.map { drops.first?.time == $0 + 15 * Self.s } == true)
        #expect(Self.applied(net) == Array(1...29))
        #expect(Self.switched(net)?.height == 30)
    }

    /// NoBlockResponse (#2475, §3.2): the only peer answers NoBlockResponse for height 10 once.
    /// cometbft-v0.38 re-requests at the same instant and finishes; tm-v0.34/v0.35 only log it —
    /// the height hangs, the phantom pending keeps the peer's 15 s timer running after its last
    /// block, the peer is dropped, and the node is left without peers.
    @Test(arguments: BlockSyncProfile.all)
    func noBlockResponse(profile: BlockSyncProfile) {
        let chain = Self.chain(40)
        var peer = LoopbackPeer(id: "p", chain: chain, latency: 5 * Self.ms)
        peer.refuseOnce = [10]
        var net = Self.network(profile, chain: chain)
        net.connect(peer, at: 0)
        net.run(until: 60 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        let asked = Self.requests(net, height: 10)
        let refusedAt = asked.first.map { $0.time + 5 * Self.ms }
        if profile.redoOnNoBlockResponse {
            #expect(asked.count == 2)
            #expect(asked.dropFirst().first?.time == refusedAt)
            #expect(Self.applied(net) == Array(1...39))
            #expect(Self.switched(net)?.reason == .caughtUp)
        } else {
            #expect(asked.count == 1)
            // Block 9 waits for block 10 (its commit), which never comes.
            #expect(Self.applied(net) == Array(1...8))
            let lastBlockAt = net.log.last { if case .send(.blockRequest, _) = $0.effect { true } else { false } }
                .map { $0.time + 5 * Self.ms }
            let drops = Self.disconnects(net)
            #expect(drops.map(\.reason) == ["peer did not send us anything"])
            #expect(lastBlockAt.map { drops.first?.time == $0 + 15 * Self.s } == true)
            #expect(net.machine.isSyncing)
        }
    }

    /// tm #2699: a peer reports a huge height and disconnects; maxPeerHeight is recomputed and
    /// the node switches to consensus with the honest peer's height (fixed in every profile).
    @Test(arguments: BlockSyncProfile.all)
    func maxPeerHeightLoweredWhenTallestPeerLeaves(profile: BlockSyncProfile) {
        let chain = Self.chain(20)
        var net = Self.network(profile, chain: chain)
        net.connect(.init(id: "honest", chain: chain, latency: 5 * Self.ms), at: 0)
        var tall = LoopbackPeer(id: "tall", chain: chain, height: 1_000_000, latency: 5 * Self.ms)
        tall.silent = true
        net.connect(tall, at: 0)
        net.run(until: 2 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(net.machine.pool.maxPeerHeight == 1_000_000)
        net.drop("tall", at: 2 * Self.s)
        #expect(net.machine.pool.maxPeerHeight == 20)
        net.run(until: 30 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.switched(net)?.height == 20)
        #expect(Self.applied(net) == Array(1...19))
    }

    /// ASA-2025-001 (GHSA-22qq-3xwm-r5x4): MaxInt64 then a lower height. cometbft-v0.38 bans the
    /// liar (no disconnect) and switches; tm profiles keep maxPeerHeight at MaxInt64 — even after
    /// the liar, asked for heights it cannot serve, times out — and never switch.
    @Test(arguments: BlockSyncProfile.all)
    func maxInt64ThenLowerHeight(profile: BlockSyncProfile) {
        let chain = Self.chain(20)
        var net = Self.network(profile, chain: chain)
        net.connect(.init(id: "honest", chain: chain, latency: 5 * Self.ms), at: 0)
        net.connect(.init(id: "liar", chain: chain, height: .max, latency: 5 * Self.ms), at: 0)
        net.run(until: 100 * Self.ms)
        #expect(net.violations.isEmpty, "\(net.violations)")
        net.report("liar", base: 1, height: 20)
        net.run(until: 40 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.applied(net) == Array(1...19))
        if profile.banOnLoweredRange {
            #expect(net.log.contains { $0.effect == .ban("liar", reason: "peer reported height/base lower than it previously reported") })
            #expect(Self.switched(net)?.height == 20)
        } else {
            #expect(Self.switched(net) == nil)
            #expect(net.machine.pool.maxPeerHeight == .max)
        }
    }

    /// §2.8 / §3.3 / §7.1 #4: a BlockResponse nobody asked this peer for. cometbft-v0.38's filter
    /// disconnects it; the tm pools disconnect ("invalid peer") when a requester waits for another
    /// peer, and for an unrequested height only when it is more than 100 from the pool height.
    @Test(arguments: BlockSyncProfile.all)
    func unsolicitedBlockResponse(profile: BlockSyncProfile) {
        let chain = Self.chain(20)
        var reactor = try! Reactor(profile: profile, state: chain.genesisState, store: NodeBlockStore())
        _ = reactor.handle(.peerAdded("a", at: 0))
        _ = reactor.handle(.received(.statusResponse(height: 20, base: 1), from: "a", wireSize: 6, at: 0))
        _ = reactor.handle(.peerAdded("b", at: 0))
        let block = chain.block(at: 5)!
        let effects = reactor.handle(.received(.blockResponse(block: block, extCommit: nil), from: "b", wireSize: 0, at: Self.ms))
        let reason = effects.compactMap { if case .disconnect("b", let r) = $0 { r } else { nil } }.first
        if profile.filterBlockResponses {
            #expect(reason == "unsolicited BlockResponse from peer b")
        } else if profile.name == .tmV035 {
            #expect(reason == "requester is different or block already exists")  // v0.35.9 pool.go
        } else {
            #expect(reason == "invalid peer")
        }
        // A height no requester covers, near the pool height: ignored by the tm pools.
        _ = reactor.handle(.peerAdded("c", at: Self.ms))
        let far = Self.chain(60).block(at: 50)!
        let nearEffects = reactor.handle(.received(.blockResponse(block: far, extCommit: nil), from: "c", wireSize: 0, at: 2 * Self.ms))
        let disconnected = nearEffects.contains { if case .disconnect("c", _) = $0 { true } else { false } }
        #expect(disconnected == profile.filterBlockResponses)
    }

    /// §3.3 FilterMsgBytes (cometbft v0.38.24, reactor_test.go's FilterMsgBytes cases that make
    /// sense without a network): never ran blocksync, late response after the switch (#5959),
    /// signature caps (10,000) while running and after the switch. The tm profiles have no
    /// filter: a late response is ignored, an oversized commit is judged by the pool's rules.
    @Test(arguments: BlockSyncProfile.all)
    func filterMsgBytes(profile: BlockSyncProfile) {
        let chain = Self.chain(20)
        let block = chain.block(at: 2)!
        var oversized = block
        oversized.lastCommit?.signatures = Array(repeating: CommitSig(blockIDFlag: .absent, validatorAddress: [], timestamp: .goZero, signature: []),
                                                 count: Limits.maxVotesCount + 1)
        func disconnectReason(_ effects: [MachineEffect], _ peer: PeerID) -> String? {
            effects.compactMap { if case .disconnect(let p, let r) = $0, p == peer { r } else { nil } }.first
        }
        let filtered = profile.filterBlockResponses

        // Never ran blocksync: every BlockResponse is unsolicited.
        var idle = try! Reactor(profile: profile, state: chain.genesisState, store: NodeBlockStore(),
                                configuration: ReactorConfiguration(blocksync: false))
        _ = idle.handle(.peerAdded("a", at: 0))
        let idleReason = disconnectReason(idle.handle(.received(.blockResponse(block: block, extCommit: nil), from: "a", wireSize: 0, at: Self.ms)), "a")
        #expect(idleReason == (filtered ? "unsolicited BlockResponse: blocksync not active" : nil))

        // After the switch to consensus (the only peer reports height 1: caught up at the 1 s
        // check): a late response is tolerated, an oversized one is not (#5959).
        var done = try! Reactor(profile: profile, state: chain.genesisState, store: NodeBlockStore())
        _ = done.handle(.peerAdded("a", at: 0))
        _ = done.handle(.received(.statusResponse(height: 1, base: 1), from: "a", wireSize: 6, at: Self.ms))
        _ = done.handle(.timeAdvanced(to: 2 * Self.s))
        #expect(done.switched != nil)
        #expect(disconnectReason(done.handle(.received(.blockResponse(block: block, extCommit: nil), from: "a", wireSize: 0, at: 3 * Self.s)), "a") == nil)
        let lateOversized = disconnectReason(done.handle(.received(.blockResponse(block: oversized, extCommit: nil), from: "a", wireSize: 0, at: 3 * Self.s)), "a")
        if filtered {
            #expect(lateOversized == "too many commit signatures: 10001 (max 10000)")
        } else {
            // No filter: ValidateMsg's BlockFromProto still runs after the switch (its LastCommitHash no longer matches).
            #expect(lateOversized?.hasPrefix("invalid block response: wrong Header.LastCommitHash") == true, "\(String(describing: lateOversized))")
        }

        // While syncing, from the peer that was asked: the caps apply, with the sender named.
        var running = try! Reactor(profile: profile, state: chain.genesisState, store: NodeBlockStore())
        _ = running.handle(.peerAdded("a", at: 0))
        _ = running.handle(.received(.statusResponse(height: 20, base: 1), from: "a", wireSize: 6, at: Self.ms))
        _ = running.handle(.timeAdvanced(to: Self.requestTime(profile) + 2 * Self.ms))
        #expect(running.pool.hasPendingRequest(from: "a"))
        let reason = disconnectReason(running.handle(.received(.blockResponse(block: oversized, extCommit: nil), from: "a", wireSize: 0,
                                                               at: Self.requestTime(profile) + 3 * Self.ms)), "a")
        if filtered {
            #expect(reason == "validating max votes in BlockResponse from peer a: too many commit signatures: 10001 (max 10000)")
        } else {
            #expect(reason != nil)  // judged after decoding (ValidateBasic / the pool), not by a filter
        }
    }
}

extension ReactorTests {
    /// cometbft's TestBlockPoolMaliciousNode as far as the tm profiles show it without a live
    /// chain: a peer that claims 5 heights more than exist, answers NoBlockResponse for three
    /// heights and holds a block altered after signing. NoBlockResponse is only logged (§3.2),
    /// so the three heights hang on the liar until its 15 s peer timeout removes it; removal
    /// redoes its outstanding heights on the honest peer (§2.7), so its bad block is dropped
    /// before anyone verifies it; and the lie (45) keeps the node from counting as caught up
    /// until the liar is gone (§2.10). cometbft-v0.38: `maliciousNodeAgainstV038`.
    @Test(arguments: [BlockSyncProfile.tmV034, .tmV035])
    func maliciousNode(profile: BlockSyncProfile) {
        let chain = Self.chain(40)
        var net = Self.network(profile, chain: chain)
        var liar = LoopbackPeer(id: "liar", chain: chain, height: 45, latency: 5 * Self.ms)
        liar.refuseOnce = [5, 6, 7]
        liar.tamperedAfterSigning = [10]
        net.connect(liar, at: 0)
        net.connect(.init(id: "honest", chain: chain, latency: 10 * Self.ms), at: 0)
        net.run(until: 60 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.applied(net) == Array(1...39))
        #expect(Self.switched(net)?.height == 40)
        let disconnects = Self.disconnects(net)
        #expect(disconnects.map(\.peer) == ["liar"])
        #expect(disconnects.first?.reason == "peer did not send us anything")
        #expect(Self.verifyFailures(net).isEmpty)
        #expect(!net.log.contains { if case .ban = $0.effect { true } else { false } })
        #expect((Self.switched(net)?.time ?? 0) > 15 * Self.s)
    }
}

extension ReactorTests {
    /// The same liar against cometbft-v0.38 (v0.38.24) with two honest peers, and what its rules
    /// make of it: the honest peers serve every block by 3.1 s (each height asked of two peers,
    /// §2.6), the liar is never asked for a block it holds; the slowest honest peer's late copies
    /// arrive after all its requests were popped and FilterMsgBytes drops it as unsolicited
    /// (§3.3, the #5950 race); the lie (45) keeps the node from counting as caught up (§2.10);
    /// late copies that hit AddBlock's "already committed" return keep phantom requests pending
    /// on the other honest peer (§2.5, §2.8 step 2), so 15 s after their last blocks the liar
    /// and the honest peer time out within 5 ms of each other — before the next 1 s switch check
    /// — and the node is left with no peer, never caught up.
    @Test func maliciousNodeAgainstV038() {
        let chain = Self.chain(40)
        var net = Self.network(.cometbftV038, chain: chain)
        var liar = LoopbackPeer(id: "liar", chain: chain, height: 45, latency: 5 * Self.ms)
        liar.refuseOnce = [5, 6, 7]
        liar.tamperedAfterSigning = [10]
        net.connect(liar, at: 0)
        net.connect(.init(id: "honest", chain: chain, latency: 10 * Self.ms), at: 0)
        net.connect(.init(id: "honest2", chain: chain, latency: 20 * Self.ms), at: 0)
        net.run(until: 60 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.applied(net) == Array(1...39))
        #expect(net.log.last { if case .blockApplied = $0.effect { true } else { false } }.map { $0.time < 3_100 * Self.ms } == true)
        #expect(Self.switched(net) == nil)
        let disconnects = Self.disconnects(net)
        #expect(disconnects.map(\.peer) == ["honest2", "liar", "honest"])
        #expect(disconnects.map(\.reason) == ["unsolicited BlockResponse from peer honest2",
                                              "peer did not send us anything", "peer did not send us anything"])
        #expect(disconnects.dropFirst().allSatisfy { $0.time > 18 * Self.s && $0.time < 18_100 * Self.ms })
        #expect(Self.verifyFailures(net).isEmpty)
        #expect(net.machine.pool.peers.isEmpty)
    }
}
