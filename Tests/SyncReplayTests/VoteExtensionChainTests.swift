import Capture
import CometWire
import Foundation
import Implementations
import Replay
import SyncDriver
import Sim
import SyncMachine
import SyncTrace
import Testing

/// Vote-extension chains end to end (issue 18 §2): the `/node` record carries the consensus
/// params (vote-extension enable height, block max bytes), `NodeStart` reads them, synccapture
/// takes them from a genesis or `/consensus_params` JSON, syncsim makes such chains and their
/// faulty peers.
@Suite struct VoteExtensionChainTests {
    // MARK: /node record

    /// The new fields survive the codec; left at 0 they are not written, so a record without them
    /// has exactly the bytes it had before the fields existed (every committed trace stays as is).
    @Test func nodeRecordCarriesConsensusParams() throws {
        let plain = NodeRecord(chainID: "c", initialHeight: 1, nodeID: "n", captureMethod: "pcap")
        var withParams = plain
        withParams.voteExtensionsEnableHeight = 7
        withParams.blockMaxBytes = 4_194_304
        let decoded = try TraceEvent.decode(topic: .node, TraceEvent.node(withParams).encode())
        #expect(decoded == .node(withParams))
        let plainBytes = TraceEvent.node(plain).encode()
        // Fields 13 and 14 add their tags and varints at the end, nothing else moves.
        let paramBytes = TraceEvent.node(withParams).encode()
        #expect(Array(paramBytes.prefix(plainBytes.count)) == plainBytes)
        #expect(Array(paramBytes.dropFirst(plainBytes.count)) == [0x68, 0x07, 0x70, 0x80, 0x80, 0x80, 0x02])
        var negative = plain
        negative.blockMaxBytes = -1
        #expect(try TraceEvent.decode(topic: .node, TraceEvent.node(negative).encode()) == .node(negative))
    }

    /// Every committed trace's /node record carries neither field (the corpus predates them).
    @Test func committedTracesHaveNoConsensusParams() throws {
        let trace = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/catchup-basic.trace").path
        let entries = try TraceReader(path: trace).readAll()
        guard case .node(let n)? = entries.first(where: { if case .node = $0.event { return true }; return false })?.event else {
            Issue.record("no /node record"); return
        }
        #expect(n.voteExtensionsEnableHeight == 0 && n.blockMaxBytes == 0)
    }

    static let builder = ChainBuilder(.init(seed: Array("voteext-node".utf8), validatorPowers: [10, 10], length: 3, appVersion: 0))

    static func record(storeHeight: Int64, enable: Int64, maxBytes: Int64) -> NodeStart.Record {
        let chain = builder.build()
        return NodeStart.Record(chainID: builder.configuration.chainID, initialHeight: 1, storeBase: storeHeight > 0 ? 1 : 0,
                                storeHeight: storeHeight, validators: builder.validatorSet,
                                appHash: storeHeight > 0 ? chain.appHashes[Int(storeHeight - 1)] : [],
                                startBlock: storeHeight > 0 ? chain.block(at: storeHeight)!.encoded() : [],
                                genesisTime: builder.configuration.genesisTime, localValidatorAddress: [],
                                voteExtensionsEnableHeight: enable, blockMaxBytes: maxBytes)
    }

    /// `NodeStart(record:)` switches the extended-commit rules on from the recorded height and
    /// puts the recorded `Block.MaxBytes` into the state's consensus params (whose hash every
    /// header must carry, §4.5), from genesis and when resuming; 0 keeps CometBFT's default.
    @Test func nodeStartReadsConsensusParams() throws {
        for store in [Int64(0), 2] {
            let start = try NodeStart(record: Self.record(storeHeight: store, enable: 2, maxBytes: 1_048_576),
                                      application: .transactionCounter, startTime: 0)
            #expect(start.voteExtensionsEnableHeight == 2)
            #expect(start.state.consensusParams == HashedParams(blockMaxBytes: 1_048_576, blockMaxGas: -1))
            let plain = try NodeStart(record: Self.record(storeHeight: store, enable: 0, maxBytes: 0),
                                      application: .transactionCounter, startTime: 0)
            #expect(plain.voteExtensionsEnableHeight == 0 && plain.state.consensusParams == .cometDefault)
        }
    }

    // MARK: --consensus-params files

    /// A v0.38 genesis.json: `consensus_params.abci.vote_extensions_enable_height`, int64 as
    /// strings (https://docs.cometbft.com/v0.38/core/genesis).
    static let genesis038 = """
    {
      "genesis_time": "2024-03-01T20:22:57.532998Z",
      "chain_id": "test-chain-ve",
      "initial_height": "1",
      "consensus_params": {
        "block": {"max_bytes": "22020096", "max_gas": "-1"},
        "evidence": {"max_age_num_blocks": "100000", "max_age_duration": "172800000000000", "max_bytes": "1048576"},
        "validator": {"pub_key_types": ["ed25519"]},
        "version": {"app": "0"},
        "abci": {"vote_extensions_enable_height": "1"}
      },
      "validators": [],
      "app_hash": ""
    }
    """

    /// A v1.0 genesis.json: the `feature` section (https://docs.cometbft.com/v1.0/references/config/genesis.json).
    static let genesis100 = """
    {"chain_id": "c", "consensus_params": {"block": {"max_bytes": "4194304", "max_gas": "10000000"},
     "feature": {"vote_extensions_enable_height": "12", "pbts_enable_height": "1"}}}
    """

    /// An RPC `/consensus_params` response (https://docs.cometbft.com/v0.38/rpc/#/Info/consensus_params),
    /// here with JSON numbers.
    static let rpc = """
    {"jsonrpc": "2.0", "id": -1, "result": {"block_height": "40",
     "consensus_params": {"block": {"max_bytes": 1048576, "max_gas": -1}, "abci": {"vote_extensions_enable_height": 5}}}}
    """

    func parse(_ text: String) throws(ConsensusParamsError) -> RecordedConsensusParams {
        try ConsensusParamsFile.parse(Array(text.utf8))
    }

    @Test func consensusParamsFromGenesisAndRPC() throws {
        #expect(try parse(Self.genesis038) == RecordedConsensusParams(voteExtensionsEnableHeight: 1, blockMaxBytes: 22_020_096))
        #expect(try parse(Self.genesis100) == RecordedConsensusParams(voteExtensionsEnableHeight: 12, blockMaxBytes: 4_194_304))
        #expect(try parse(Self.rpc) == RecordedConsensusParams(voteExtensionsEnableHeight: 5, blockMaxBytes: 1_048_576))
        // Both spellings agreeing, or one of them 0: fine.
        #expect(try parse(#"{"consensus_params": {"abci": {"vote_extensions_enable_height": "0"}, "feature": {"vote_extensions_enable_height": "3"}}}"#)
            .voteExtensionsEnableHeight == 3)
        // No params at all: nothing recorded.
        #expect(try parse(#"{"consensus_params": {}}"#) == RecordedConsensusParams())
    }

    @Test func badConsensusParamsNameTheKey() {
        func message(_ text: String) -> String {
            do { _ = try parse(text); return "" } catch { return error.description }
        }
        #expect(message(#"{"consensus_params": {"abci": {"vote_extensions_enable_height": "one"}}}"#)
            == #"key consensus_params.abci.vote_extensions_enable_height: "one" is not an int64"#)
        #expect(message(#"{"result": {"consensus_params": {"block": {"max_bytes": "0"}}}}"#)
            == "key result.consensus_params.block.max_bytes: must be positive or -1, got 0")
        #expect(message(#"{"consensus_params": {"feature": {"vote_extensions_enable_height": -4}}}"#)
            == "key consensus_params.feature.vote_extensions_enable_height: must be 0 or more, got -4")
        #expect(message(#"{"consensus_params": {"abci": {"vote_extensions_enable_height": 2}, "feature": {"vote_extensions_enable_height": 3}}}"#)
            == "key consensus_params.feature.vote_extensions_enable_height: 3 contradicts consensus_params.abci.vote_extensions_enable_height 2")
        #expect(message(#"{"result": {"block_height": "1"}}"#) == "key result.consensus_params: missing (not a /consensus_params response)")
        #expect(message(#"{"chain_id": "c"}"#).hasPrefix("neither a genesis.json"))
        #expect(message("{\n  \"consensus_params\": {\n    \"block\": }\n}") .hasPrefix("not JSON: line 3, column"))
        #expect(message(#"{"consensus_params": {"abci": true}}"#) == "key consensus_params.abci: must be an object")
    }

    /// synccapture: a bad file is exit 2 with one line naming the file and the key; a good one
    /// lands in the trace's /node record (shown by `cat --json`).
    @Test func synccaptureConsensusParamsFlag() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("voteext-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/capture/plain-sync.pcap").path
        let bad = dir.appendingPathComponent("bad.json").path
        try Data(#"{"consensus_params": {"abci": {"vote_extensions_enable_height": "x"}}}"#.utf8).write(to: URL(fileURLWithPath: bad))
        let out = dir.appendingPathComponent("out.trace").path
        let r = try SyncCaptureProcess.run(["-r", pcap, "--consensus-params", bad, "-o", out])
        #expect(r.status == 2)
        #expect(r.stderr.contains("\(bad): key consensus_params.abci.vote_extensions_enable_height: \"x\" is not an int64"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1, "\(r.stderr)")

        let good = dir.appendingPathComponent("rpc.json").path
        try Data(Self.rpc.utf8).write(to: URL(fileURLWithPath: good))
        let ok = try SyncCaptureProcess.run(["-r", pcap, "--consensus-params", good, "--quiet", "-o", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        let cat = try SyncReplayProcess.run(["cat", "--json", out])
        let node = try #require(cat.stdout.split(separator: "\n").first)
        #expect(node.contains(#""vote_extensions_enable_height":5,"block_max_bytes":1048576"#), "\(node)")
        let inspect = try SyncReplayProcess.run(["inspect", out])
        #expect(inspect.stdout.contains("consensus:      vote extensions enable height 5, block max bytes 1048576"), "\(inspect.stdout)")
    }

    // MARK: syncsim

    static let scenarioText = """
    [chain]
    seed = "ve"
    length = 12
    vote_extensions_enable_height = 4
    [node]
    profile = "cometbft-v0.38"
    [[peer]]
    id = "p1"

    """

    @Test func scenarioExtCommitKnob() throws {
        let s = try Scenario.parse(Self.scenarioText + "ext_commit = {height = 6, kind = \"bad_extension_signature\"}\n")
        #expect(s.chain.voteExtensionsEnableHeight == 4)
        #expect(s.peers[0].extCommit?.height == 6 && s.peers[0].extCommit?.kind == .badExtensionSignature)
        func error(_ extra: String) -> String {
            do { _ = try Scenario.parse(Self.scenarioText + extra); return "" } catch { return error.description }
        }
        #expect(error("ext_commit = {height = 3, kind = \"missing\"}\n").contains("vote extensions are not enabled at height 3"))
        #expect(error("ext_commit = {height = 4, kind = \"present_while_disabled\"}\n").contains("vote extensions are enabled at height 4"))
        #expect(error("ext_commit = {height = 5, kind = \"late\"}\n").contains("unknown ext_commit kind \"late\""))
        #expect(error("ext_commit = {height = 13, kind = \"missing\"}\n").contains("must be a height of the chain (1 … 12)"))
        #expect(error("ext_commit = {height = 5, kind = \"missing\", extra = 1}\n").contains("extra"))
    }

    /// The simulator's honest peers attach real extended commits from the enable height (and
    /// none below it); the /node record carries the height; strict replay reproduces the run.
    @Test func simulatedChainServesExtendedCommits() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("voteext-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let scenario = try Scenario.parse(Self.scenarioText)
        let summary = try Simulation(scenario: scenario, machines: MachineRegistry.standard).run(to: path)
        #expect(summary.blocksApplied == 11 && summary.switchedAt != nil)
        let trace = try ReplayTraceLoader.load(path: path)
        #expect(trace.node?.voteExtensionsEnableHeight == 4)
        let builder = ChainBuilder(scenario.chain.configuration)
        let chain = builder.build()
        var served = 0
        for e in trace.events {
            guard case .blocksync(_, true, let bytes) = e.body, case .blockResponse(let block, let ext)? = try? BlocksyncMessage.decode(bytes) else { continue }
            let h = block.header.height
            #expect(ext == (h >= 4 ? builder.extendedCommit(chain.commit(for: h)!) : nil), "height \(h)")
            served += 1
        }
        #expect(served >= 11)
        let result = try ReplayEngine(trace: trace, options: ReplayOptions(profile: "cometbft-v0.38", mode: .strict))
            .run(machines: MachineRegistry.standard, pivot: nil)
        #expect(result.blocksApplied == 11)
        #expect(!result.decisions.contains { $0.kind == .outboundExtra || $0.kind == .outboundMissing || $0.kind == .peerRemoved })
    }
}
