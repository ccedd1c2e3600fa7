import CometWire
import Implementations
import SyncDriver
import SyncMachine
import Testing

/// The heap-order bugs of §v2.6 — B3 (#5387, "processed height X+1, but expected height X"),
/// B5(ii) (#5513/#5517, duplicate enqueue from a High `scPeerError` and a Normal
/// `scBlockReceived` waiting together at the processor) and B8 (an honest peer disconnected by
/// a late answer after a prune) — cannot happen under our deterministic Model B (README "BlockSync
/// v2", "Model B reachability"). Each needs a routine to lag across instants. The tie rule runs
/// every instant to empty — every queue and output buffer — before the next input or tick; the
/// driver hands the machine one input at a time, and an input puts at most one event into `E`;
/// the processor emits `pcBlockProcessed` only for `rProcessBlock`, which only the process
/// ticker pushes, one per instant. So (B3) two `pcBlockProcessed` never wait together at the
/// scheduler; (B5 ii) `scBlockReceived` is made only in an input's instant, where the processor
/// inbox holds at most that one event; (B8) a prune's purge reaches the processor in the prune's
/// own instant, before the next schedule tick can re-request the pruned heights. These runs
/// through the driver core check the observable side on loopback networks made to crowd one
/// instant (equal latencies, latency = the tick period, a refused request and a slow link, a
/// peer leaving): no two blocks applied at one virtual time, no panic, no peer removed for a block
/// "without being requested". `heap-lag` adds the missing lag (the scheduler runs every 100 ms)
/// and reaches B3 on the same networks.
@Suite struct V2HeapModelTests {
    static let ms: Nanoseconds = 1_000_000
    static let chain = ChainBuilder(.init(seed: Array("v2-heap-model".utf8), validatorPowers: [10, 10, 10], length: 61, txsPerBlock: 1)).build()

    struct Network: Sendable, CustomStringConvertible {
        var description: String
        var peers: [LoopbackPeer]
        /// A peer whose connection drops, and when.
        var drop: (PeerID, Nanoseconds)?
    }

    static let networks: [Network] = {
        func peer(_ i: Int, latency: Nanoseconds) -> LoopbackPeer {
            LoopbackPeer(id: "peer\(i)", chain: chain, latency: latency * ms)
        }
        var lossy = (0..<4).map { peer($0, latency: 10) }
        lossy[1].refuseOnce = [12]
        lossy[2].serviceTime = 30 * ms
        return [
            Network(description: "eight peers, equal 10 ms latency", peers: (0..<8).map { peer($0, latency: 10) }),
            Network(description: "four peers at the tick period", peers: (0..<4).map { peer($0, latency: 20) }),
            Network(description: "a refused request and a slow link", peers: lossy),
            Network(description: "the busiest peer leaves", peers: (0..<3).map { peer($0, latency: 10) }, drop: ("peer0", 300 * ms)),
        ]
    }()

    @Test(arguments: networks) func heapModelNeverAppliesTwoBlocksInOneInstant(_ network: Network) throws {
        let registry = MachineRegistry.standard.setting(MachineOption.v2Queue.name, to: "heap")
        let machine = try registry.makeMachine(profile: "tm-v0.34-v2", start: NodeStart(genesis: Self.chain.genesisState))
        let log = Self.run(machine, network)
        let applied = log.compactMap { entry -> Nanoseconds? in
            if case .blockApplied = entry.effect { return entry.time } else { return nil }
        }
        #expect(applied.count >= 30, "\(network): only \(applied.count) blocks applied")
        #expect(zip(applied, applied.dropFirst()).allSatisfy { $0 < $1 }, "\(network): two blocks applied at one instant")
        for entry in log {
            switch entry.effect {
            case .reactorPanic(let message): Issue.record("\(network): \(message)")
            case .disconnect(let peer, let reason) where reason.contains("without being requested"):
                Issue.record("\(network): \(peer) disconnected: \(reason)")
            default: break
            }
        }
        #expect(log.contains { if case .switchToConsensus = $0.effect { return true } else { return false } }, "\(network): no switch")
    }

    /// `heap-lag` (the scheduler runs every 100 ms) reaches B3 on the same networks: blocks
    /// applied while the scheduler sleeps leave several `pcBlockProcessed` in its heap, which
    /// pops a later height first — the original's panic text, and nothing applied after it.
    @Test(arguments: networks) func laggingSchedulerPanicsOnHeapOrder(_ network: Network) throws {
        let registry = MachineRegistry.standard.setting(MachineOption.v2Queue.name, to: "heap-lag")
        let machine = try registry.makeMachine(profile: "tm-v0.34-v2", start: NodeStart(genesis: Self.chain.genesisState))
        let log = Self.run(machine, network)
        let panics = log.compactMap { entry -> (Nanoseconds, String)? in
            if case .reactorPanic(let message) = entry.effect { return (entry.time, message) } else { return nil }
        }
        let panic = try #require(panics.first, "\(network): no panic")
        #expect(panics.count == 1)
        let first = panic.1.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("processed height ") && first.contains(", but expected height "), "\(network): \(first)")
        #expect(!log.contains { entry in
            if case .blockApplied = entry.effect { return entry.time > panic.0 } else { return false }
        })
    }

    static func run<M: BlockSyncMachine>(_ machine: M, _ network: Network) -> [(time: Nanoseconds, effect: MachineEffect)] {
        var net = LoopbackRun(machine: machine)
        for p in network.peers { net.connect(p, at: 0) }
        if let (id, at) = network.drop {
            net.run(until: at)
            net.drop(id, at: at)
        }
        net.run(until: 120_000 * ms)
        return net.log
    }
}
