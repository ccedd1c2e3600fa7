import Capture
import Foundation
import Implementations
import Replay
import SyncMachine
import SyncTrace
import Testing

/// Issue 18 §4: a real loopback capture of a whole multi-peer sync (Traces/capture/sim-sync.*,
/// recorded by Tools/capture/record-samples.sh with libpcap on `lo`).
@Suite("Capture: a whole sync from several peers")
struct CaptureWholeSyncTests {
    static func path(_ name: String) -> String {
        SyncReplayProcess.packageDirectory.appendingPathComponent(name).path
    }

    @Test("the committed sim-sync capture replays blocks 1…39 and the switch under every registered profile")
    func wholeSyncUnderEveryProfile() throws {
        let trace = try ReplayTraceLoader.load(path: Self.path("Traces/capture/sim-sync.trace"))
        let peers = Set(trace.events.compactMap { e -> String? in
            if case .peerConnected(let peer, _) = e.body { return peer }
            return nil
        })
        #expect(peers.count == 4)
        let registry = MachineRegistry.standard
        for profile in registry.profileNames {
            let result = try ReplaySession.replay(trace, options: ReplayOptions(profile: profile, mode: .reactive),
                                                  hint: HintSelection(), machines: registry)
            let applied = result.decisions.compactMap { d -> Int64? in
                if case .blockApplied(let h, _) = d.action { return h }
                return nil
            }
            #expect(applied == Array(1...39), "profile \(profile)")
            #expect(result.decisions.contains { $0.kind == .switchToConsensus }, "profile \(profile)")
        }
    }

    @Test("--node-from: the capture's node starts from the played trace's chain state, with the capture's own node id")
    func startStateFromTrace() throws {
        let played = try StartState.fromTrace(path: Self.path("Traces/catchup-basic.trace"))
        let captured = try TraceReader(path: Self.path("Traces/capture/sim-sync.trace")).readAll().compactMap { e -> NodeRecord? in
            if case .node(let n) = e.event { return n }
            return nil
        }.first
        let node = try #require(captured)
        #expect(node.chainID == played.chainID && node.validators == played.validators && node.genesisTime == played.genesisTime)
        #expect(node.storeHeight == 0 && node.captureMethod == "pcap")
        #expect(node.nodeID == WirePlayer.nodeID(node: true))
        #expect(played.nodeID.isEmpty && played.captureMethod.isEmpty)
        #expect(throws: CaptureError.self) { try StartState.fromTrace(path: Self.path("Traces/catchup-basic.scenario.toml")) }
    }

    @Test("a session of several peers over loopback: each its own node id, every conversation complete")
    func sessionOverLoopback() throws {
        let conversations = try WirePlayer.conversations(fromTrace: Self.path("Traces/catchup-basic.trace"))
        #expect(conversations.peers.map(\.peer) == ["p1", "p2", "p3", "p4"])
        let peers = conversations.peers.map { WirePeer(name: $0.peer, conversation: $0.messages, encrypted: $0.peer == "p2") }
        let outcome = try WireSession(peers: peers, chainID: conversations.chainID, seed: 7).play(port: 0)
        #expect(outcome.peers.map(\.id) == ["p1", "p2", "p3", "p4"].map { WirePlayer.peerID(name: $0) })
        #expect(Set(outcome.peers.map(\.id)).count == 4)
        #expect(!outcome.peers.map(\.id).contains(WirePlayer.nodeID(node: true)))
        #expect(outcome.keyLog.count == 1)
    }
}
