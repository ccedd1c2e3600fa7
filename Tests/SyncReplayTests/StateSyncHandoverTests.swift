import BlockSyncV2
import CometWire
import Foundation
import Implementations
import Replay
import Sim
import SyncMachine
import SyncTrace
import Testing

/// Issue 18 §3: a node that switches to blocksync later — state sync's hand-over
/// (`SwitchToBlockSync`, specs/cometbft-blocksync.md §2.2, §3.1), from a scenario's
/// `[node] state_sync` through the `/node` record to the v0 reactor.
@Suite struct StateSyncHandoverTests {
    static let scenario = """
        [chain]
        seed = "handover-test"
        length = 16
        txs_per_block = 2
        [node]
        profile = "tm-v0.34"
        duration = "20s"
        state_sync = {height = 8, at = "2s"}
        [[peer]]
        id = "p1"
        [[peer]]
        id = "p2"
        latency = "7ms"
        base = 5
        """

    func error(_ text: String) -> String? {
        do { _ = try Scenario.parse(text); return nil } catch { return error.description }
    }

    func simulate(_ text: String = Self.scenario) throws -> (ReplayTrace, SimulationSummary) {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("handover-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let summary = try Simulation(scenario: try Scenario.parse(text), machines: .standard).run(to: path)
        return (try ReplayTraceLoader.load(path: path), summary)
    }

    /// Nothing is requested while state sync runs; at the hand-over block sync starts at the
    /// snapshot height + 1 (the decision names the `state_sync` cause), applies 9–15 with the
    /// application's results continuing from the snapshot's app hash, and switches at 16.
    @Test func handoverStartsBlockSyncAfterTheSnapshot() throws {
        let (trace, summary) = try simulate()
        #expect(summary.switchedAt == 16)
        let result = try ReplayEngine(trace: trace, options: ReplayOptions(profile: "tm-v0.34", mode: .strict)).run(machines: .standard, pivot: nil)
        let d = result.decisions
        #expect(!d.contains { $0.kind == .outboundExtra || $0.kind == .outboundMissing })
        let handover = try #require(d.firstIndex { $0.kind == .switchToBlockSync })
        #expect(d[handover].action == .switchToBlockSync(height: 9) && d[handover].time == 2_000_000_000)
        #expect(d[handover].cause == .timer("state_sync"))
        #expect(!d[..<handover].contains { $0.kind == .request || $0.kind == .blockApplied })
        // Both peers' StatusResponses came before the hand-over; the busy-spin loop asks at once.
        let requests = d.compactMap { if case .request(_, let h) = $0.action { return (h, $0.time) }; return nil }
        #expect(requests.first?.0 == 9 && requests.first?.1 == 2_000_000_000)
        #expect(!requests.contains { $0.0 < 9 })
        let applied = d.compactMap { if case .blockApplied(let h, _) = $0.action { return h }; return nil }
        #expect(applied == Array(9...15))
        #expect(d.last?.action == .switchToConsensus(height: 16))
    }

    /// cometbft-v0.38's requester loop waits `peerConnWait` (3 s) from the pool's start, which
    /// is the hand-over, not the node's start.
    @Test func peerConnWaitCountsFromTheHandover() throws {
        let (trace, _) = try simulate()
        let result = try ReplayEngine(trace: trace, options: ReplayOptions(profile: "cometbft-v0.38", mode: .reactive)).run(machines: .standard, pivot: nil)
        let first = try #require(result.decisions.first { $0.kind == .request })
        #expect(first.action == .request(peer: "p2", height: 9) || first.action == .request(peer: "p1", height: 9))
        #expect(first.time == 5_000_000_000)
        #expect(result.blocksApplied == 7)
    }

    /// The `/node` record carries the hand-over (field 15) and decodes to what was written; a
    /// record without one encodes as before (no field 15).
    @Test func nodeRecordCarriesTheHandover() throws {
        let (trace, _) = try simulate()
        let node = try #require(trace.node)
        let h = try #require(node.stateSync)
        #expect(h.at == 2_000_000_000)
        #expect(try Block(protobuf: h.block).header.height == 8)
        #expect(h.appHash == ChainBuilder.appHash(totalTxs: 16))
        let record = NodeRecord(chainID: "c", storeHeight: 0, stateSync: StateSyncRecord(at: 7, block: [1, 2], appHash: [3], lastResultsHash: [4]))
        #expect(try TraceEvent.decode(topic: .node, TraceEvent.node(record).encode()) == .node(record))
        var without = record
        without.stateSync = nil
        #expect(try TraceEvent.decode(topic: .node, TraceEvent.node(without).encode()) == .node(without))
        #expect(TraceEvent.node(without).encode().count < TraceEvent.node(record).encode().count)
    }

    @Test func scenarioRefusesImpossibleHandovers() {
        let base = Self.scenario.replacingOccurrences(of: "state_sync = {height = 8, at = \"2s\"}\n", with: "")
        func with(_ line: String) -> String { base.replacingOccurrences(of: "duration = \"20s\"", with: "duration = \"20s\"\n" + line) }
        #expect(error(with("state_sync = {height = 16, at = \"2s\"}"))?.contains("must be a snapshot height of the chain with a block after it (1 … 15)") == true)
        #expect(error(with("state_sync = {height = 0, at = \"2s\"}"))?.contains("node.state_sync.height") == true)
        #expect(error(with("state_sync = {height = 8, at = \"20s\"}"))?.contains("must be before node.duration (20s)") == true)
        #expect(error(with("state_sync = {height = 8}"))?.contains("at") == true)
        #expect(error(with("state_sync = 8"))?.contains("must be an inline table like {height = 20, at = \"5s\"}") == true)
        #expect(error(with("state_sync = {height = 8, at = \"2s\", colour = 1}"))?.contains("unknown key") == true)
        #expect(error(with("store_height = 3\nstate_sync = {height = 8, at = \"2s\"}"))?.contains("must be 0 with state_sync") == true)
        #expect(error(with("blocksync = false\nstate_sync = {height = 8, at = \"2s\"}"))?.contains("must be true with state_sync") == true)
    }

    /// v2's SwitchToFastSync is not modelled: the v2 profiles refuse such a trace in one line,
    /// and a record whose hand-over cannot hold is refused when the node is built.
    @Test func unsupportedAndBrokenHandoversAreRefused() throws {
        let (trace, _) = try simulate()
        let start = try trace.nodeStart()
        #expect(start.stateSync?.state.lastBlockHeight == 8)
        #expect(throws: MachineStartError("the trace's node hands over from state sync, which profile tm-v0.34-v2 (implementation v2) does not model; replay it with a v0 profile")) {
            _ = try MachineRegistry.standard.makeMachine(profile: "tm-v0.34-v2", start: start)
        }
        var record = try #require(trace.node).startRecord
        record.stateSync?.block = [0xFF]
        #expect(throws: MachineStartError.self) { _ = try NodeStart(record: record, application: .unknown, startTime: 0) }
        record = try #require(trace.node).startRecord
        record.storeHeight = 3
        #expect((try? NodeStart(record: record, application: .unknown, startTime: 0)) == nil)
    }
}

/// Issue 18 §2: replay takes the vote-extension enable height from an attached genesis.json
/// when the `/node` record has none (a capture made without `--consensus-params`), in both
/// spellings; the record's own value wins.
@Suite struct AttachedGenesisParamsTests {
    func genesis(_ consensusParams: String) -> [UInt8] {
        Array("""
            {"genesis_time": "2024-01-01T00:00:00Z", "chain_id": "c", "initial_height": "1",
             "consensus_params": \(consensusParams), "validators": [], "app_hash": ""}
            """.utf8)
    }

    func start(record height: Int64, genesis bytes: [UInt8]?) throws -> NodeStart {
        let node = ReplayNode(chainID: "c", initialHeight: 1, storeBase: 0, storeHeight: 0, nodeID: "n", validators: [],
                              appHash: [], startBlock: [], genesisTimeSeconds: 1_704_067_200, genesisTimeNanos: 0,
                              profileHint: "cometbft-v0.38", voteExtensionsEnableHeight: height)
        let trace = ReplayTrace(path: "t", sha256: "", events: [ReplayEvent(index: 0, sequence: 1, time: 0, body: .node(node))],
                                hintAttachment: nil, genesisAttachment: bytes)
        return try trace.nodeStart()
    }

    @Test func enableHeightFromTheAttachedGenesis() throws {
        #expect(try start(record: 0, genesis: genesis(#"{"abci": {"vote_extensions_enable_height": "5"}}"#)).voteExtensionsEnableHeight == 5)
        #expect(try start(record: 0, genesis: genesis(#"{"feature": {"vote_extensions_enable_height": 9}, "abci": {"vote_extensions_enable_height": "0"}}"#)).voteExtensionsEnableHeight == 9)
        #expect(try start(record: 7, genesis: genesis(#"{"abci": {"vote_extensions_enable_height": "5"}}"#)).voteExtensionsEnableHeight == 7)
        #expect(try start(record: 0, genesis: genesis(#"{"block": {"max_bytes": "1000"}}"#)).voteExtensionsEnableHeight == 0)
        #expect(try start(record: 0, genesis: nil).voteExtensionsEnableHeight == 0)
    }
}
