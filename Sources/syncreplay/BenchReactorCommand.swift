import ArgumentParser
import BlockSync
import BlockSyncV2
import CometWire
import Crypto
import SyncDriver
import SyncMachine

/// `syncreplay bench reactor`: a full blocksync of a real signed chain from honest in-memory
/// peers (`LoopbackPeers` through the driver core, `LoopbackRun`) by the v0 reactor (commit
/// signature verification on and off) and the v2 reactor (both queue models) on the same chain
/// and peers, each next to the bound the raw ed25519 verify rate measured in the same run puts
/// on blocks/s, and the ratio to it.
struct BenchReactor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reactor",
        abstract: "Virtual events/s and blocks/s of a full blocksync from honest in-memory peers.",
        discussion: """
        Builds a deterministic chain (ChainBuilder: 4 equal validators, 2 txs per block), then syncs it from genesis with the reactor of each profile — v0 (tm-v0.34, tm-v0.35, cometbft-v0.38) and tendermint's v2 (tm-v0.34-v2, tm-v0.34.22-v2, once per queue model: fifo and heap) — fed by 8 honest in-process peers (latencies 5–12 ms of virtual time) until the reactor switches to consensus. v2 requests one block per 20 ms schedule tick and applies one per 20 ms process tick, so its virtual seconds are about blocks × 20 ms. "events" are the inputs handed to the reactor (messages received and timer wake-ups); the rates are per second of real time. The v0 rows run with commit signature checks on and off (off: everything else — hashing, part sets, ValidateBlock — still runs); v2 has no switch for it. The physical reference is swift-crypto's raw ed25519 verification rate R. With verification on, a block costs V verifications (README "Blocksync reactor"): 6 for the tm profiles, v0 and v2 alike (VerifyCommitLight stops after 3 of the 4 equal validators, then ApplyBlock's ValidateBlock checks the next block's LastCommit the same way), 4 for cometbft-v0.38 (a full VerifyCommit; its ValidateBlock skips the LastCommit signatures). So blocks/s is at most R / V, the "bound" column; "ratio" is blocks/s over it.

        Example:
          swift build -c release
          .build/release/syncreplay bench reactor --blocks 10000
        """
    )

    @Option(help: "Blocks to sync.")
    var blocks: Int = 10_000

    @Option(help: "Number of honest peers.")
    var peers: Int = 8

    @Option(parsing: .upToNextOption, help: "Profiles to run (tm-v0.34, tm-v0.35, cometbft-v0.38, tm-v0.34-v2, tm-v0.34.22-v2).")
    var profile: [String] = BlockSyncProfile.all.map(\.name.rawValue) + BlockSyncV2Profile.all.map(\.name.rawValue)

    /// ed25519 verifications per applied block with verification on, 4 equal validators (see
    /// the discussion): cometbft-v0.38 verifies all 4 once, the tm profiles 3 twice.
    static func verificationsPerBlock(_ profile: ProfileName) -> Int { profile == .cometbftV038 ? 4 : 6 }

    /// One row's machine: a v0 profile with verification on or off, or a v2 profile with a queue model.
    enum Subject {
        case v0(BlockSyncProfile, verify: Bool)
        case v2(BlockSyncV2Profile, V2QueueModel)
    }

    func run() throws {
        guard blocks >= 2, peers >= 1 else { throw ValidationError("--blocks must be at least 2 and --peers at least 1") }
        var subjects: [Subject] = []
        for name in profile {
            if let p = BlockSyncProfile(named: ProfileName(name)) {
                subjects += [.v0(p, verify: true), .v0(p, verify: false)]
            } else if let p = BlockSyncV2Profile(named: ProfileName(name)) {
                subjects += V2QueueModel.allCases.map { .v2(p, $0) }
            } else {
                throw ValidationError("unknown profile \(name)")
            }
        }
        let clock = ContinuousClock()
        let built = clock.now
        let chain = ChainBuilder(.init(seed: Array("bench-reactor".utf8), chainID: "bench-chain",
                                       validatorPowers: [10, 10, 10, 10], length: blocks + 1, txsPerBlock: 2)).build()
        print("chain: \(blocks + 1) blocks, 4 validators, built in \(format(seconds(clock.now - built))) s")
        let rate = BenchReference.ed25519VerifyRate()
        print("raw ed25519 verify (swift-crypto): \(Int(rate)) verifies/s; bound = that / verifies per block (6 tm profiles, 4 cometbft-v0.38)")
        print("profile          impl  verify  queue  blocks   events  virtual s   real s  events/s  blocks/s   bound  ratio")
        for subject in subjects {
            let row: (name: String, impl: String, verify: Bool, queue: String, measured: Measured)
            switch subject {
            case .v0(let p, let verify):
                let reactor = try Reactor(profile: p, state: chain.genesisState, store: NodeBlockStore(),
                                          configuration: ReactorConfiguration(verifySignatures: verify))
                row = (p.name.rawValue, "v0", verify, "-", try measure(reactor, chain: chain, name: p.name.rawValue, blocksSynced: { $0.blocksSynced }))
            case .v2(let p, let model):
                let demux = try Demux(profile: p, start: NodeStart(genesis: chain.genesisState), queueModel: model)
                row = (p.name.rawValue, "v2", true, model.rawValue, try measure(demux, chain: chain, name: p.name.rawValue, blocksSynced: { $0.processor.blocksSynced }))
            }
            let m = row.measured
            let bound = rate / Double(Self.verificationsPerBlock(ProfileName(row.name)))
            let blocksPerSecond = Double(m.applied) / m.real
            print(pad(row.name, -15), pad(row.impl, 5), pad(row.verify ? "on" : "off", 7), pad(row.queue, 6), pad(String(m.applied), 7),
                  pad(String(m.events), 8), pad(format(m.virtual), 10), pad(format(m.real), 8),
                  pad(String(Int(Double(m.events) / m.real)), 9), pad(String(Int(blocksPerSecond)), 9),
                  pad(row.verify ? String(Int(bound)) : "-", 7), pad(row.verify && bound > 0 ? format(blocksPerSecond / bound) : "-", 6))
        }
    }

    struct Measured {
        var applied: Int
        var events: Int
        var virtual: Double
        var real: Double
    }

    /// Syncs `machine` from `peers` honest loopback peers until it switches (or an hour of virtual time).
    private func measure<M: BlockSyncMachine>(_ machine: M, chain: Chain, name: String,
                                             blocksSynced: (M) -> Int) throws -> Measured {
        let clock = ContinuousClock()
        var net = LoopbackRun(machine: machine)
        net.recordsLog = false
        for i in 0..<peers {
            net.connect(.init(id: "peer\(i)", chain: chain, latency: Nanoseconds(5 + i) * 1_000_000), at: 0)
        }
        let start = clock.now
        net.run(until: 3_600 * 1_000_000_000)
        let real = seconds(clock.now - start)
        let applied = blocksSynced(net.machine)
        guard applied == blocks else {
            throw CleanExit.message("\(name): applied \(applied) of \(blocks) blocks")
        }
        return Measured(applied: applied, events: net.inputCount, virtual: Double(net.now) / 1e9, real: real)
    }

    private func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private func format(_ x: Double) -> String { String(Double(Int(x * 100)) / 100) }

    /// Right-aligns to `width`; a negative width left-aligns.
    private func pad(_ s: String, _ width: Int) -> String {
        let w = abs(width)
        guard s.count < w else { return s }
        let fill = String(repeating: " ", count: w - s.count)
        return width < 0 ? s + fill : fill + s
    }
}
