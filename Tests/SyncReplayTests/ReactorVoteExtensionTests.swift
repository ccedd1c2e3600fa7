import SyncMachine
import BlockSync
import SyncDriver
import CometWire
import Testing

/// Vote extensions through the reactor (tm #8272, GHSA-hg58-rf2h-6rr7; specs/cometbft-blocksync.md
/// §2.8 step 1, §3.2, §3.4): a chain whose vote extensions are enabled from height 5. cometbft-v0.38
/// needs an `ext_commit` with every BlockResponse from that height on, verifies it (presence, then
/// `VerifyCommitExtended`), saves it with the block and serves it back; the tm profiles have no
/// extended commits at all (a v0.34/v0.35 node never sees the field).
extension ReactorTests {
    static let extensionsFrom: Int64 = 5
    static let extensionBuilder = ChainBuilder(.init(seed: Array("reactor-tests".utf8), validatorPowers: [10, 10, 10],
                                                     length: 12, txsPerBlock: 1))
    static let extensionChain = extensionBuilder.build()
    /// What an honest v0.38 peer attaches: the extended commit of every height from `extensionsFrom`.
    static let honestExtendedCommits: [Int64: ExtendedCommit] = {
        let chain = extensionChain
        return Dictionary(uniqueKeysWithValues: (extensionsFrom...chain.height).map {
            ($0, extensionBuilder.extendedCommit(chain.commit(for: $0)!))
        })
    }()

    static func extensionReactor(_ profile: BlockSyncProfile, state: ChainState, store: NodeBlockStore) -> Reactor {
        try! Reactor(profile: profile, state: state, store: store,
                     configuration: ReactorConfiguration(voteExtensionsEnableHeight: extensionsFrom))
    }

    /// Honest sync with extended commits: every profile applies the whole chain. cometbft-v0.38
    /// saves each block from height 5 with the extended commit it received
    /// (`SaveBlockWithExtendedCommit`) and serves it back in its BlockResponses (§3.2), none below
    /// height 5; the tm profiles ignore the field: nothing stored, nothing served.
    @Test(arguments: BlockSyncProfile.all)
    func voteExtensionsSyncedSavedAndServed(profile: BlockSyncProfile) {
        let chain = Self.extensionChain
        var peer = LoopbackPeer(id: "p", chain: chain, latency: 5 * Self.ms)
        peer.extendedCommits = Self.honestExtendedCommits
        var net = LoopbackRun(machine: Self.extensionReactor(profile, state: chain.genesisState, store: NodeBlockStore()))
        net.connect(peer, at: 0)
        net.run(until: 30 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.applied(net) == Array(1...11))
        #expect(Self.verifyFailures(net).isEmpty)
        #expect(Self.disconnects(net).isEmpty)
        #expect(Self.switched(net)?.reason == .caughtUp)
        for h in Int64(1)...11 {
            let stored = net.machine.store.block(at: h)
            #expect(stored?.block == chain.block(at: h))
            let expected = profile.extendedCommits && h >= Self.extensionsFrom ? Self.honestExtendedCommits[h] : nil
            #expect(stored?.extendedCommit == expected, "height \(h)")
        }
        var reactor = net.machine
        let t = reactor.now + Self.s
        _ = reactor.handle(.peerAdded("asker", at: t))
        for h: Int64 in [3, 8] {
            let effects = reactor.handle(.received(.blockRequest(height: h), from: "asker", wireSize: 3, at: t))
            let ext = profile.extendedCommits && h >= Self.extensionsFrom ? Self.honestExtendedCommits[h] : nil
            #expect(effects == [.send(.blockResponse(block: chain.block(at: h)!, extCommit: ext), to: "asker")], "height \(h)")
        }
    }

    /// How a byzantine (or old) peer gets the extended commits wrong.
    enum ExtendedCommitFault: String, CaseIterable, Sendable, CustomTestStringConvertible {
        /// No `ext_commit` at all, though extensions are enabled from height 5.
        case omitted
        /// Height 7's extended commit with validator 0's extension signature corrupted.
        case badExtensionSignature
        /// An extended commit for height 3, where extensions are not enabled.
        case presentWhileDisabled
        /// Height 6's response carries height 7's extended commit (§2.8 step 1).
        case wrongHeight

        var testDescription: String { rawValue }

        var extendedCommits: [Int64: ExtendedCommit] {
            var exts = ReactorTests.honestExtendedCommits
            switch self {
            case .omitted:
                exts = [:]
            case .badExtensionSignature:
                exts[7]!.extendedSignatures[0].extensionSignature[0] ^= 0x01
            case .presentWhileDisabled:
                exts[3] = ReactorTests.extensionBuilder.extendedCommit(ReactorTests.extensionChain.commit(for: 3)!)
            case .wrongHeight:
                exts[6] = exts[7]
            }
            return exts
        }
    }

    /// A peer whose extended commits are wrong is the only peer; an honest one connects at 10 s.
    /// cometbft-v0.38 (v0.38.24 `poolRoutine` / `AddBlock`): a missing, unexpected or badly
    /// signed extended commit fails the pair (first, second) — "reactor validation error: …",
    /// the supplier removed, disconnected and banned 60 s, sync stalled just below that height
    /// until the honest peer finishes it; an extended commit of another height is refused by
    /// `AddBlock` on arrival (disconnect, no ban). The tm profiles never look at the field and
    /// sync the whole chain from the faulty peer.
    @Test(arguments: BlockSyncProfile.all, ExtendedCommitFault.allCases)
    func faultyExtendedCommitPeer(profile: BlockSyncProfile, fault: ExtendedCommitFault) {
        let chain = Self.extensionChain
        var faulty = LoopbackPeer(id: "faulty", chain: chain, latency: 5 * Self.ms)
        faulty.extendedCommits = fault.extendedCommits
        var honest = LoopbackPeer(id: "honest", chain: chain, latency: 5 * Self.ms)
        honest.extendedCommits = Self.honestExtendedCommits
        var net = LoopbackRun(machine: Self.extensionReactor(profile, state: chain.genesisState, store: NodeBlockStore()))
        net.connect(faulty, at: 0)
        net.run(until: 10 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        let failures = Self.verifyFailures(net)
        let bans = net.log.compactMap { if case .ban(let p, let r) = $0.effect { (p, r) } else { nil } }
        guard profile.extendedCommits else {
            #expect(Self.applied(net) == Array(1...11))
            #expect(failures.isEmpty)
            #expect(Self.disconnects(net).isEmpty)
            #expect(Self.switched(net)?.reason == .caughtUp)
            return
        }
        switch fault {
        case .omitted, .badExtensionSignature, .presentWhileDisabled:
            let (h, detail): (Int64, String) = switch fault {
            case .omitted:
                (5, "non-nil extended commit must be received iff vote extensions are enabled for its height "
                    + "(height 5, non-nil extended commit false, extensions enabled true)")
            case .presentWhileDisabled:
                (3, "non-nil extended commit must be received iff vote extensions are enabled for its height "
                    + "(height 3, non-nil extended commit true, extensions enabled false)")
            default:
                (7, "invalid vote extension signature (val #0): invalid signature")
            }
            let reason = "reactor validation error: " + detail
            #expect(failures.count == 1)
            #expect(failures.first.map { $0.heights == [h, h + 1] && $0.peers == ["faulty"] } == true, "\(failures)")
            // verify_failed keeps the error itself; the disconnect wraps it as the version logs it.
            #expect(failures.first?.reason == detail)
            #expect(Self.disconnects(net).map(\.peer) == ["faulty"])
            #expect(Self.disconnects(net).first?.reason == reason)
            // Banned once per blamed height: both blocks are its, and Go's second
            // `RemovePeerAndRedoAllPeerRequests` still finds it as `gotBlockFrom` (the redo is async).
            #expect(bans.map(\.0) == ["faulty", "faulty"])
            #expect(Self.applied(net) == Array(1..<h))
        case .wrongHeight:
            // Refused by AddBlock on arrival, before any verification.
            #expect(failures.isEmpty)
            #expect(Self.disconnects(net).map(\.peer) == ["faulty"])
            #expect(Self.disconnects(net).first?.reason == "block height 6 != extCommit height 7")
            #expect(bans.isEmpty)
            // Blocks 1 and 2 were applied at the 3.010 s try-sync tick; block 6 arrives at 3.015 s,
            // before the next tick, and blocks 3–5 leave with the peer (block 5, never verified).
            #expect(Self.applied(net) == [1, 2])
        }
        #expect(net.machine.isSyncing)
        // The honest peer finishes the sync, extended commits and all.
        net.connect(honest, at: 10 * Self.s)
        net.run(until: 20 * Self.s)
        #expect(net.violations.isEmpty, "\(net.violations)")
        #expect(Self.applied(net) == Array(1...11))
        #expect(Self.switched(net)?.reason == .caughtUp)
        #expect((Self.extensionsFrom...11).allSatisfy {
            net.machine.store.block(at: $0)?.extendedCommit == Self.honestExtendedCommits[$0]
        })
    }

    /// The node's own store (§3.2 `respondToPeer`, §3.4 switch check): a node resumed at height 8
    /// (extensions enabled there) whose store lacks the extended commit sends nothing at all for
    /// height 8 under cometbft-v0.38 and, having synced no block, never switches to consensus
    /// ("no extended commit yet") though its peer is no higher; with the extended commit it serves
    /// it and switches at the first 1 s check. The tm profiles serve the plain block and switch.
    @Test(arguments: BlockSyncProfile.all)
    func storeWithoutExtendedCommit(profile: BlockSyncProfile) throws {
        let chain = Self.extensionChain
        for hasExtendedCommit in [false, true] {
            let ext = hasExtendedCommit ? Self.honestExtendedCommits[8] : nil
            let store = try NodeBlockStore(base: 1, height: 8, blocks: [StoredBlock(block: chain.block(at: 8)!, extendedCommit: ext)])
            var net = LoopbackRun(machine: Self.extensionReactor(profile, state: chain.state(after: 8), store: store))
            net.connect(.init(id: "p", chain: chain, height: 9, latency: 5 * Self.ms), at: 0)
            net.run(until: 10 * Self.s)
            #expect(net.violations.isEmpty, "\(net.violations)")
            let blocked = profile.extendedCommits && !hasExtendedCommit
            #expect(Self.switched(net).map { $0.time == Self.s && $0.height == 9 } == (blocked ? nil : true),
                    "store has extended commit: \(hasExtendedCommit)")
            var reactor = net.machine
            let t = reactor.now + Self.s
            _ = reactor.handle(.peerAdded("asker", at: t))
            let effects = reactor.handle(.received(.blockRequest(height: 8), from: "asker", wireSize: 3, at: t))
            let served: [MachineEffect] = blocked ? []
                : [.send(.blockResponse(block: chain.block(at: 8)!, extCommit: profile.extendedCommits ? ext : nil), to: "asker")]
            #expect(effects == served, "store has extended commit: \(hasExtendedCommit)")
            let missing = reactor.handle(.received(.blockRequest(height: 3), from: "asker", wireSize: 3, at: t))
            #expect(missing == [.send(.noBlockResponse(height: 3), to: "asker")])
        }
    }
}
