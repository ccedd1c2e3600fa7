import Capture
import CometP2P
import CometWire
import Foundation
import Fuzzing
import SyncTrace
import Testing

/// The fuzz targets' inputs (issue 16; Tools/fuzz): every committed seed and every kept
/// reproducer runs through the same entry point the libFuzzer executables call — without the
/// fuzzer build — and must return (a finding would trap the test process).
///
/// The seeds are made here from the project's real data (corpus traces, captures, fixtures,
/// scenarios, goldens) so they can be regenerated:
/// `SYNCREPLAY_WRITE_FUZZ_SEEDS=1 swift test --filter FuzzCorpusTests`.
@Suite struct FuzzCorpusTests {
    static let fuzzDirectory = SyncReplayProcess.packageDirectory.appendingPathComponent("Tools/fuzz")

    static func inputs(_ target: FuzzTarget, _ kind: String) throws -> [(String, [UInt8])] {
        let dir = fuzzDirectory.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else { return [] }
        return try names.sorted().filter { !$0.hasPrefix(".") }.map {
            ($0, Array(try Data(contentsOf: dir.appendingPathComponent($0))))
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndReproducersRunClean(_ target: FuzzTarget) throws {
        if ProcessInfo.processInfo.environment["SYNCREPLAY_WRITE_FUZZ_SEEDS"] != nil { try FuzzSeeds.write(target) }
        let seeds = try Self.inputs(target, "seeds")
        #expect(!seeds.isEmpty, "no seeds for \(target.rawValue)")
        for (_, bytes) in seeds + (try Self.inputs(target, "regressions")) { target.run(bytes) }
    }

    /// The CRC-zeroing copies really reach past the checksums: a flipped payload byte in a
    /// zeroed trace still reads (and fails in the event decoder, not at the CRC).
    @Test func zeroedCRCsAreNotChecked() throws {
        let trace = try FuzzSeeds.corpus("Traces/no-progress-switch-5718.trace")
        let zeroed = try FuzzSeeds.zeroingCRCs(trace)
        #expect(zeroed.count == trace.count && zeroed != trace)
        #expect(try TraceReader(bytes: zeroed).readAll() == (try TraceReader(bytes: trace).readAll()))
        #expect(try TraceDoctor.examine(source: MCAPMemorySource(zeroed)).isHealthy)
    }
}

/// Builds each target's seed corpus (small: a few real inputs per decoder, not whole corpora).
enum FuzzSeeds {
    static func corpus(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: SyncReplayProcess.packageDirectory.appendingPathComponent(path)))
    }

    static func shared(_ path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: SyncReplayProcess.packageDirectory.appendingPathComponent("../shared/fixtures/\(path)")))
    }

    static func write(_ target: FuzzTarget) throws {
        let dir = FuzzCorpusTests.fuzzDirectory.appendingPathComponent("seeds").appendingPathComponent(target.rawValue)
        try? FileManager.default.removeItem(at: dir)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for (name, bytes) in try seeds(target) { try Data(bytes).write(to: dir.appendingPathComponent(name)) }
    }

    static func seeds(_ target: FuzzTarget) throws -> [(String, [UInt8])] {
        switch target {
        case .trace:
            let fixture = try TraceFixtures.handwrittenTrace()
            let small = try corpus("Traces/no-progress-switch-5718.trace")
            return [("handwritten.trace", fixture), ("handwritten-crc0.trace", try zeroingCRCs(fixture)),
                    ("no-progress-switch-crc0.trace", try zeroingCRCs(small))]
        case .replay:
            return [("no-progress-switch.trace", try corpus("Traces/no-progress-switch-5718.trace")),
                    ("no-progress-switch-crc0.trace", try zeroingCRCs(try corpus("Traces/no-progress-switch-5718.trace"))),
                    ("pivot-file-s-switch-crc0.trace", try zeroingCRCs(try corpus("Traces/pivot-file-s-switch.trace")))]
        case .blocksync:
            return try blocksyncPayloads().enumerated().map { ("message-\($0.offset)", $0.element) }
        case .mconnection:
            let encoder = MConnectionEncoder()
            var stream: [UInt8] = [0x02, 0x0a, 0x00]  // ping (§1.3)
            for payload in try blocksyncPayloads() { stream += encoder.encode(channel: 0x40, message: payload) }
            stream += [0x02, 0x12, 0x00]                // pong
            return [("stream-whole", [255] + stream), ("stream-pieces-7", [6] + stream)]
        case .secretconnection:
            let encoder = MConnectionEncoder()
            var mconnection: [UInt8] = []
            for payload in try blocksyncPayloads().prefix(3) { mconnection += encoder.encode(channel: 0x40, message: payload) }
            let nodeInfo = try handshakeNodeInfo().encodeDelimited()
            return [("0-recorded", [0] + SealedInput.validAuthSig + nodeInfo + mconnection),
                    ("1-after-authsig", [1] + nodeInfo + mconnection),
                    ("2-raw-frames", [2] + SealedInput.sealed(SealedInput.validAuthSig + nodeInfo)),
                    ("3-handshake", [3] + SealedInput.validAuthSig + nodeInfo)]
        case .handshake:
            let node = try handshakeNodeInfo()
            return [("nodeinfo", node.encode()),
                    ("authsig", Array(SealedInput.validAuthSig.dropFirst())),
                    ("ephemeral-key", SecretConnection.ephemeralKeyMessage([UInt8](repeating: 9, count: 32)))]
        case .pivothint:
            let trace = try TraceReader(bytes: try corpus("Traces/pivot-file-s-switch.trace"))
            let hint = try #require(try trace.attachments().first { $0.name == TraceAttachmentName.pivotHint }).data
            // The last 16 bytes choose the queries: fork_at 1, me_height 5 (§8.1's first example).
            return [("file-s-1-5", hint + le(1) + le(5)), ("file-s-95-105", hint + le(95) + le(105))]
        case .packets:
            return [("plain-sync", try framesOfPcap(try corpus("Traces/capture/plain-sync.pcap"), limit: 40)),
                    ("secret-sync", try framesOfPcap(try corpus("Traces/capture/secret-sync.pcap"), limit: 24))]
        case .forkevents:
            let h1 = String(repeating: "ab", count: 32), h2 = String(repeating: "cd", count: 32)
            let jsonl = """
            {"time_ns": 2000, "kind": "switch", "fork_at": 100, "me_height": "120", "me_hash": "0x\(h1)", "branch": [{"height": 110, "hash": "\(h2)"}], "observed": "denied"}
            {"time": "1970-01-01T00:00:00.000003Z", "kind": "extend", "height": 121, "hash": "\(h1)"}

            """
            let log = """
            2024-05-01T10:00:00.000000001+00:00 DEBUG Consensus Worker cfxcore::consensus - Pivot hint check switch result false. fork_at: 100, me_height: 120, check_height: 110, fetch_hash: 0x\(h1)
            2024-05-01 10:00:01.000 DEBUG Consensus Worker cfxcore::consensus - Pivot hint check extend result true. me_height: 121, fetch_hash: 0x\(h2)

            """
            return [("events.jsonl", Array(jsonl.utf8)), ("conflux.log", Array(log.utf8))]
        case .scenario:
            return try ["asa-2025-001-maxint64-then-lower", "pivot-file-s-switch", "disconnect-reconnect"].map {
                ("\($0).scenario.toml", try corpus("Traces/\($0).scenario.toml"))
            }
        case .golden:
            return [("pivot-file-s-switch.cometbft-v0.38.golden.json", try corpus("Traces/pivot-file-s-switch.cometbft-v0.38.golden.json")),
                    ("no-progress-switch-5718.tm-v0.35.golden.json", try corpus("Traces/no-progress-switch-5718.tm-v0.35.golden.json"))]
        case .rpcjson:
            return try ["block_at_height_10.json", "commit_at_height_10.json", "genesis.json"].map {
                ($0, try shared("cometbft-v0.34/\($0)"))
            }
        }
    }

    static func le(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }

    /// The first message of each kind in a corpus trace's `/blocksync` events.
    static func blocksyncPayloads() throws -> [[UInt8]] {
        var seen = Set<String>(), out: [[UInt8]] = []
        for entry in try TraceReader(bytes: try corpus("Traces/catchup-basic.trace")).readAll() {
            guard case .blocksync(let b) = entry.event, case .success(let s) = BlocksyncSummary.of(b.message) else { continue }
            if seen.insert(s.kind).inserted { out.append(b.message) }
        }
        return out
    }

    static func handshakeNodeInfo() throws -> NodeInfo {
        NodeInfo(nodeID: SealedInput.senderNodeID, listenAddr: "tcp://0.0.0.0:26656", network: "fuzz-chain", version: "0.38.0",
                 channels: [0x40, 0x20], moniker: "fuzz")
    }

    /// Frames of a classic pcap file (24-byte header, 16-byte record headers) in the packets
    /// target's format: link-type index, then each frame as a 2-byte length and its bytes.
    static func framesOfPcap(_ pcap: [UInt8], limit: Int) throws -> [UInt8] {
        func u32(_ at: Int) -> Int { Int(pcap[at]) | Int(pcap[at + 1]) << 8 | Int(pcap[at + 2]) << 16 | Int(pcap[at + 3]) << 24 }
        try #require(u32(0) == 0xA1B2C3D4 || u32(0) == 0xA1B23C4D, "little-endian pcap expected")
        let linkType = u32(20)
        let index = try #require(LinkType.allCases.firstIndex { $0.rawValue == Int32(linkType) })
        var out: [UInt8] = [UInt8(index)]
        var at = 24, count = 0
        while at + 16 <= pcap.count && count < limit {
            let length = u32(at + 8)
            let frame = pcap[(at + 16)..<min(at + 16 + length, pcap.count)]
            out += [UInt8(frame.count >> 8), UInt8(frame.count & 0xFF)] + frame
            at += 16 + length
            count += 1
        }
        return out
    }

    /// A copy of an MCAP file with every CRC set to 0 ("not computed", specs/mcap.md): chunk,
    /// attachment, data section and summary. A fuzzer cannot fix CRCs; with them zeroed its
    /// mutations reach the record and event decoders and the replay engine.
    static func zeroingCRCs(_ bytes: [UInt8]) throws -> [UInt8] {
        var out = bytes
        var scanner = try MCAPScanner(source: MCAPMemorySource(bytes))
        func zero(_ at: UInt64) { for i in 0..<4 { out[Int(at) + i] = 0 } }
        while let r = try scanner.next() {
            let content = r.offset + 9, end = r.offset + r.length
            switch r.record {
            case .chunk: zero(content + 24)           // after start, end and uncompressed size
            case .attachment: zero(end - 4)           // the record's last field
            case .dataEnd: zero(content)
            case .footer: zero(content + 16)          // after summary start and summary offset start
            default: break
            }
        }
        return out
    }
}
