import Capture
import CometWire
import Foundation
import SyncTrace
import Testing

@Suite("Capture: fork events, Conflux logs, start state")
struct CaptureForkEventTests {
    let h1 = String(repeating: "ab", count: 32), h2 = String(repeating: "cd", count: 32)

    @Test("JSON lines: switch and extend, numbers or strings, RFC 3339 time; errors name the line")
    func jsonLines() throws {
        let text = """
        {"time_ns": 2000, "kind": "switch", "fork_at": 100, "me_height": "120", "me_hash": "0x\(h1)", "branch": [{"height": 110, "hash": "\(h2)"}], "observed": "denied"}

        {"time": "1970-01-01T00:00:00.000003Z", "kind": "extend", "height": 121, "hash": "\(h1)"}
        """
        let events = try ForkEvents.parseJSONLines(text, path: "f.jsonl")
        #expect(events.map(\.logTime) == [2000, 3000])
        guard case .pivot(.switch(let s)) = events[0].event, case .pivot(.extend(let e)) = events[1].event else {
            Issue.record("wrong kinds"); return
        }
        #expect(s.forkAt == 100 && s.meHeight == 120 && s.meHash.count == 32 && s.observed == .denied)
        #expect(s.branch == [PivotBranchEntry(height: 110, hash: [UInt8](repeating: 0xcd, count: 32))])
        #expect(e.height == 121 && e.observed == .unknown)
        #expect(throws: CaptureError.badForkEvents(path: "f.jsonl", line: 2, reason: "\"kind\" must be \"switch\" or \"extend\"")) {
            try ForkEvents.parseJSONLines("\n{\"time_ns\": 1, \"kind\": \"fork\"}", path: "f.jsonl")
        }
        #expect(throws: CaptureError.self) { try ForkEvents.parseJSONLines("{\"time_ns\": -5, \"kind\": \"extend\"}", path: "f") }
    }

    @Test("merge by time keeps capture events first at equal times and clamps backward steps")
    func merge() {
        let a = TimedEvent(logTime: 10, event: .capture(CaptureRecord(kind: .gap)))
        let b = TimedEvent(logTime: 5, event: .capture(CaptureRecord(kind: .dropped)))
        let fork = TimedEvent(logTime: 10, event: .pivot(.extend(PivotExtend(height: 1, hash: []))))
        let merged = CaptureTrace.merge([[a, b], [fork]])
        #expect(merged.map(\.logTime) == [10, 10, 10])
        #expect(merged.map(\.event.topic) == [.capture, .capture, .pivot])
    }

    @Test("--genesis: the real v0.34 genesis gives chain id, initial height and the validator")
    func genesis() throws {
        let path = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34/genesis.json").path
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let node = try StartState.fromGenesis(Array(data), path: path)
        #expect(node.chainID == "dockerchain" && node.initialHeight == 1)
        #expect(node.validators.count == 1 && node.validators[0].pubKey.count == 32)
        #expect(node.storeHeight == 0 && node.startBlock.isEmpty)
        let block = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34/block_at_height_1.json").path
        #expect(throws: CaptureError.self) { try StartState.fromGenesis(Array(try Data(contentsOf: URL(fileURLWithPath: block))), path: block) }
    }

    @Test("--start-block/--start-validators: the real block 10 becomes the store top, its bytes the start block")
    func startFromStore() throws {
        let blockPath = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34/block_at_height_10.json").path
        let validators = """
        {"jsonrpc": "2.0", "id": -1, "result": {"block_height": "11", "validators": [{"address": "675F52E8FDA5F4047B8EAF498F946F551ED53DC2",
          "pub_key": {"type": "tendermint/PubKeyEd25519", "value": "OKAnhjqSneoGRrC37lMmw13vpj3pge3Au8/5Q1YfGq0="},
          "voting_power": "10", "proposer_priority": "0"}], "count": "1", "total": "1"}}
        """
        let block = Array(try Data(contentsOf: URL(fileURLWithPath: blockPath)))
        let node = try StartState.fromStore(block: block, blockPath: blockPath, validators: Array(validators.utf8),
                                            validatorsPath: "v.json", storeBase: 3)
        #expect(node.chainID == "dockerchain" && node.storeBase == 3 && node.storeHeight == 10)
        #expect(node.validators == [ValidatorRecord(pubKey: Array(Data(base64Encoded: "OKAnhjqSneoGRrC37lMmw13vpj3pge3Au8/5Q1YfGq0=")!), power: 10)])
        guard case .block(let expected, _) = try RPCJSON.parse(block) else { Issue.record("fixture"); return }
        #expect(node.startBlock == expected.encoded())
        #expect(throws: CaptureError.self) {
            try StartState.fromStore(block: block, blockPath: blockPath, validators: Array(validators.utf8), validatorsPath: "v.json", storeBase: 11)
        }
    }

    @Test("synccapture with --genesis and --fork-events writes both into the trace, merged by time")
    func cli() throws {
        let dir = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/capture")
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fork-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let jsonl = tmp.appendingPathComponent("f.jsonl").path
        try Data("{\"time_ns\": 0, \"kind\": \"extend\", \"height\": 7, \"hash\": \"\(h1)\", \"observed\": \"allowed\"}\n".utf8)
            .write(to: URL(fileURLWithPath: jsonl))
        let out = tmp.appendingPathComponent("o.trace").path
        let genesis = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34/genesis.json").path
        let r = try SyncCaptureProcess.run(["-r", dir.appendingPathComponent("plain-sync.pcap").path, "--genesis", genesis,
                                            "--fork-events", jsonl, "-o", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let entries = try TraceReader(path: out).readAll()
        guard case .node(let node)? = entries.first?.event else { Issue.record("no /node first"); return }
        #expect(node.chainID == "dockerchain" && node.captureMethod == "pcap" && node.validators.count == 1)
        #expect(node.nodeID == "861149211b3afd6652c7a4e8a6433fc98ded909c")
        // Time 0 sorts before every packet: the pivot event comes right after /node.
        if case .pivot = entries[1].event {} else { Issue.record("pivot event not merged by time: \(entries[1].event)") }
        let bad = try SyncCaptureProcess.run(["-r", dir.appendingPathComponent("plain-sync.pcap").path, "--fork-events", genesis, "-o", out])
        #expect(bad.status == 2 && bad.stderr.contains("line 1"))
    }
}
