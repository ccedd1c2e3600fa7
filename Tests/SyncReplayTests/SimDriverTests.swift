import SyncMachine
import CometWire
import Foundation
import Replay
import Sim
import Testing

/// A small deterministic block-sync machine (test double) so the simulator's driver can be
/// checked independently of the BlockSync reactor: it answers AddPeer with its status, asks
/// each known peer for the next missing height on a 100 ms tick, applies blocks in order and
/// drops a peer that sends a NoBlockResponse.
struct ToyMachine: BlockSyncMachine {
    enum Timer: String, MachineTimer { case tick = "toy_tick" }

    /// Registered from the test target under the scenario's profile name, in a registry of its own.
    static let registry = TestImplementations.registry(name: "toy", profile: "tm-v0.34") { _ in ToyMachine() }

    var now: UInt64 = 0
    var peers: [String: Int64] = [:]
    var next: Int64 = 1
    var asked: Set<Int64> = []
    var tick: UInt64 = 100_000_000
    var target: Int64 = 0

    mutating func handle(_ input: MachineInput) -> [MachineEffect] {
        now = input.time
        switch input {
        case .peerAdded(let p, _): return [.send(.statusResponse(height: 0, base: 0), to: p)]
        case .peerRemoved(let p, _, _):
            peers[p] = nil
            return []
        case .received(let m, let p, _, _):
            switch m {
            case .statusResponse(let h, _):
                peers[p] = h
                target = max(target, h)
                return []
            case .blockResponse(let b, _) where b.header.height == next:
                next += 1
                var out: [MachineEffect] = [.blockApplied(height: b.header.height, hash: b.hash())]
                if next > target - 1 { out.append(.switchToConsensus(height: next, reason: .caughtUp)) }
                return out
            case .noBlockResponse:
                peers[p] = nil
                return [.disconnect(p, reason: "no block"), .ban(p, reason: "no block")]
            default: return []
            }
        case .undecodable(let p, _, _):
            return [.disconnect(p, reason: "undecodable")]
        case .timeAdvanced:
            return []
        }
    }

    mutating func fireTimers() -> [(timer: Timer, effect: MachineEffect)] {
        now = tick
        tick = tick &+ 100_000_000
        var out: [MachineEffect] = []
        for (p, h) in peers.sorted(by: { $0.key < $1.key }) where h >= next && !asked.contains(next) {
            asked.insert(next)
            out.append(.send(.blockRequest(height: next), to: p))
            break
        }
        if tick % 1_000_000_000 == 0 { out.append(.broadcastStatusRequest); asked.removeAll() }
        return out.map { (.tick, $0) }
    }

    var nextTimer: (deadline: UInt64, timer: Timer)? { (tick, .tick) }
}

@Suite struct SimDriverTests {
    static let scenario = """
    [chain]
    seed = "driver"
    length = 12
    validators = [10]
    [node]
    profile = "tm-v0.34"
    duration = "8s"
    [[peer]]
    id = "a"
    latency = "30ms"
    no_block = [4]
    [[peer]]
    id = "b"
    latency = "5ms"
    connect_at = "250ms"
    [[peer]]
    id = "c"
    connect_at = "1s"
    height = 6
    status = [{at = "2s", height = 12}]
    disconnect_at = "3s"
    """

    func simulate(_ path: String) throws -> SimulationSummary {
        try Simulation(scenario: try Scenario.parse(Self.scenario), machines: ToyMachine.registry).run(to: path)
    }

    /// Strict replay of a simulated trace with the same machine reproduces the run exactly:
    /// no outbound message missing or extra, the same blocks applied (DESIGN.md §3 order).
    @Test func strictReplayReproducesTheSimulation() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("simdriver-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let summary = try simulate(path)
        #expect(summary.blocksApplied >= 10)
        #expect(summary.switchedAt != nil)
        let trace = try ReplayTraceLoader.load(path: path)
        let result = try ReplayEngine(trace: trace, options: ReplayOptions(profile: "tm-v0.34", mode: .strict))
            .run(machines: ToyMachine.registry, pivot: nil)
        let strays = result.decisions.filter { $0.kind == .outboundExtra || $0.kind == .outboundMissing }
        #expect(strays.isEmpty, "\(strays.map(\.json.canonical))")
        #expect(result.blocksApplied == summary.blocksApplied)
        #expect(result.decisions.contains { $0.action == .peerBanned(peer: "a", reason: "no block") })
    }

    @Test func sameScenarioSameBytes() throws {
        let dir = FileManager.default.temporaryDirectory
        let a = dir.appendingPathComponent("simdriver-a-\(UUID().uuidString).trace").path
        let b = dir.appendingPathComponent("simdriver-b-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        _ = try simulate(a)
        _ = try simulate(b)
        #expect(FileManager.default.contents(atPath: a) == FileManager.default.contents(atPath: b))
    }
}
