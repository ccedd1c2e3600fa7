import ArgumentParser
import BlockSync
import CometWire
import Crypto
import SyncDriver
import SyncMachine

/// `syncreplay bench reactor`: a full blocksync of a real signed chain from honest in-memory
/// peers (`LoopbackPeers` through the driver core, `LoopbackRun`), with commit signature verification on and off, next to the raw
/// ed25519 verify rate measured in the same run.
struct BenchReactor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reactor",
        abstract: "Virtual events/s and blocks/s of a full blocksync from honest in-memory peers.",
        discussion: """
        Builds a deterministic chain (ChainBuilder: 4 equal validators, 2 txs per block), then syncs it from genesis with the v0 reactor of each profile, fed by 8 honest in-process peers (latencies 5–12 ms of virtual time) until the reactor switches to consensus. "events" are the inputs handed to the reactor (messages received and timer wake-ups); the rates are per second of real time. With --no-verify the reactor skips commit signature checks (everything else — hashing, part sets, ValidateBlock — still runs). The physical reference is swift-crypto's raw ed25519 verification rate.

        Example:
          swift build -c release
          .build/release/syncreplay bench reactor --blocks 10000
        """
    )

    @Option(help: "Blocks to sync.")
    var blocks: Int = 10_000

    @Option(help: "Number of honest peers.")
    var peers: Int = 8

    @Option(parsing: .upToNextOption, help: "Profiles to run (tm-v0.34, tm-v0.35, cometbft-v0.38).")
    var profile: [String] = BlockSyncProfile.all.map(\.name.rawValue)

    func run() throws {
        guard blocks >= 2, peers >= 1 else { throw ValidationError("--blocks must be at least 2 and --peers at least 1") }
        let profiles = try profile.map { name -> BlockSyncProfile in
            guard let p = BlockSyncProfile(named: ProfileName(name)) else { throw ValidationError("unknown profile \(name)") }
            return p
        }
        let clock = ContinuousClock()
        let built = clock.now
        let chain = ChainBuilder(.init(seed: Array("bench-reactor".utf8), chainID: "bench-chain",
                                       validatorPowers: [10, 10, 10, 10], length: blocks + 1, txsPerBlock: 2)).build()
        print("chain: \(blocks + 1) blocks, 4 validators, built in \(format(seconds(clock.now - built))) s")
        print("raw ed25519 verify (swift-crypto): \(Int(BenchReference.ed25519VerifyRate())) verifies/s")
        print("profile          verify  blocks   events  virtual s   real s  events/s  blocks/s")
        for p in profiles {
            for verify in [true, false] {
                let reactor = try Reactor(profile: p, state: chain.genesisState, store: NodeBlockStore(),
                                          configuration: ReactorConfiguration(verifySignatures: verify))
                var net = LoopbackRun(machine: reactor)
                net.recordsLog = false
                for i in 0..<peers {
                    net.connect(.init(id: "peer\(i)", chain: chain, latency: Nanoseconds(5 + i) * 1_000_000), at: 0)
                }
                let start = clock.now
                net.run(until: 3_600 * 1_000_000_000)
                let real = seconds(clock.now - start)
                let applied = net.machine.blocksSynced
                guard applied == blocks else {
                    throw CleanExit.message("\(p.name.rawValue): applied \(applied) of \(blocks) blocks")
                }
                print(pad(p.name.rawValue, -15), pad(verify ? "on" : "off", 7), pad(String(applied), 7),
                      pad(String(net.inputCount), 8), pad(format(Double(net.now) / 1e9), 10), pad(format(real), 8),
                      pad(String(Int(Double(net.inputCount) / real)), 9), pad(String(Int(Double(applied) / real)), 9))
            }
        }
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
