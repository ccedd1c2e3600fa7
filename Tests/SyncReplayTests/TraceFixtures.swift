import Foundation
import ProtoWire
import SyncTrace

/// Deterministic trace builders for the SyncTrace tests and for the committed
/// `Tests/Fixtures/example-handwritten.trace` (regenerate with `SYNCREPLAY_WRITE_FIXTURES=1 swift test
/// --filter TraceFixtureTests`).
enum TraceFixtures {
    /// `tendermint.blocksync.Message` bytes (specs/cometbft-blocksync.md: oneof sum
    /// block_request=1, no_block_response=2, block_response=3, status_request=4, status_response=5).
    static func blockRequest(_ height: Int64) -> [UInt8] {
        var w = ProtoWriter(); w.message(1, always: true) { $0.int64(1, height) }; return w.bytes
    }
    static func noBlockResponse(_ height: Int64) -> [UInt8] {
        var w = ProtoWriter(); w.message(2, always: true) { $0.int64(1, height) }; return w.bytes
    }
    static func statusRequest() -> [UInt8] {
        var w = ProtoWriter(); w.message(4, always: true) { _ in }; return w.bytes
    }
    static func statusResponse(height: Int64, base: Int64) -> [UInt8] {
        var w = ProtoWriter(); w.message(5, always: true) { $0.int64(1, height); $0.int64(2, base) }; return w.bytes
    }

    /// The genesis validator of the real v0.34 fixture chain (fixtures/cometbft-v0.34/genesis.json).
    static let dockerchainValidator: [UInt8] = [
        56, 160, 39, 134, 58, 146, 157, 234, 6, 70, 176, 183, 238, 83, 38, 195,
        93, 239, 166, 61, 233, 129, 237, 192, 187, 207, 249, 67, 86, 31, 26, 173,
    ]

    static let peerA = "a1b2c3d4e5f60718293a4b5c6d7e8f9001122334"
    static let peerB = "f00dfeedcafebabe0123456789abcdef00112233"

    /// A short, hand-written sync session touching every topic: the node at genesis of
    /// `dockerchain`, two peers, a status exchange, requests, a NoBlockResponse, a capture gap,
    /// a pivot switch and extend, and a disconnect.
    static func handwrittenEvents() -> [(UInt64, TraceEvent)] {
        let ms: UInt64 = 1_000_000
        return [
            (0, .node(NodeRecord(chainID: "dockerchain", initialHeight: 1, storeBase: 0, storeHeight: 0,
                                 nodeID: "node-under-test", validators: [ValidatorRecord(pubKey: dockerchainValidator, power: 10)],
                                 appHash: [], startBlock: [], genesisTime: TraceTimestamp(seconds: 1_663_873_042, nanos: 193_215_438),
                                 captureMethod: "handwritten", profileHint: "tm-v0.34"))),
            (1 * ms, .p2p(PeerRecord(peerID: peerA, address: "10.0.0.2:26656", outbound: true, kind: .connected))),
            (1 * ms, .blocksync(BlocksyncRecord(peerID: peerA, direction: .outbound, message: statusRequest()))),
            (2 * ms, .p2p(PeerRecord(peerID: peerB, address: "10.0.0.3:26656", outbound: false, kind: .connected))),
            (3 * ms, .blocksync(BlocksyncRecord(peerID: peerA, direction: .inbound, message: statusResponse(height: 10, base: 1)))),
            (4 * ms, .blocksync(BlocksyncRecord(peerID: peerB, direction: .inbound, message: statusResponse(height: 8, base: 1)))),
            (5 * ms, .blocksync(BlocksyncRecord(peerID: peerA, direction: .outbound, message: blockRequest(1)))),
            (5 * ms, .blocksync(BlocksyncRecord(peerID: peerB, direction: .outbound, message: blockRequest(2)))),
            (9 * ms, .blocksync(BlocksyncRecord(peerID: peerB, direction: .inbound, message: noBlockResponse(2)))),
            (12 * ms, .capture(CaptureRecord(kind: .gap, connection: "10.0.0.2:26656->10.0.0.1:40112", direction: .inbound,
                                             byteCount: 1460, detail: "TCP segment missing"))),
            (15 * ms, .pivot(.switch(PivotSwitch(forkAt: 100, meHeight: 120, meHash: Array(repeating: 0xAB, count: 32),
                                                 branch: [PivotBranchEntry(height: 110, hash: Array(repeating: 0x11, count: 32)),
                                                          PivotBranchEntry(height: 120, hash: Array(repeating: 0x22, count: 32))],
                                                 observed: .allowed)))),
            (16 * ms, .pivot(.extend(PivotExtend(height: 121, hash: Array(repeating: 0x33, count: 32), observed: .unknown)))),
            (30 * ms, .p2p(PeerRecord(peerID: peerB, address: "10.0.0.3:26656", outbound: false, kind: .disconnected,
                                      reason: "peer did not send us anything for 15s"))),
        ]
    }

    /// The handwritten trace, with small chunks so it has several (truncation tests need them).
    static func handwrittenTrace() throws -> [UInt8] {
        let sink = MCAPMemorySink()
        let writer = try TraceWriter(sink: sink, metadata: ["source": "Tests/SyncReplayTests/TraceFixtures.swift"], chunkSize: 200)
        for (t, e) in handwrittenEvents() { try writer.append(e, logTime: t) }
        try writer.attach(name: "provenance.txt", mediaType: "text/plain",
                          data: Array("hand-written fixture: every topic of the syncreplay schema\n".utf8))
        try writer.finish()
        return sink.bytes
    }

    static var committedHandwrittenPath: URL {
        SyncReplayProcess.packageDirectory.appendingPathComponent("Tests/Fixtures/example-handwritten.trace")
    }

    static func randomBytes<R: RandomNumberGenerator>(_ rng: inout R, max: Int) -> [UInt8] {
        (0..<Int.random(in: 0...max, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
    }

    static func randomString<R: RandomNumberGenerator>(_ rng: inout R) -> String {
        let alphabet = Array("abcdef0123456789:./-é漢")
        return String((0..<Int.random(in: 0...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
    }

    /// A random event of any kind, with random field values (including zero/empty ones).
    static func randomEvent<R: RandomNumberGenerator>(_ rng: inout R) -> TraceEvent {
        func i64() -> Int64 { Bool.random(using: &rng) ? 0 : Int64.random(in: Int64.min...Int64.max, using: &rng) }
        func u64() -> UInt64 { Bool.random(using: &rng) ? 0 : UInt64.random(in: 0...UInt64.max, using: &rng) }
        switch Int.random(in: 0..<6, using: &rng) {
        case 0:
            return .node(NodeRecord(chainID: randomString(&rng), initialHeight: i64(), storeBase: i64(), storeHeight: i64(),
                                    nodeID: randomString(&rng),
                                    validators: (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                                        ValidatorRecord(pubKey: randomBytes(&rng, max: 32), power: i64()) },
                                    appHash: randomBytes(&rng, max: 32), startBlock: randomBytes(&rng, max: 300),
                                    genesisTime: TraceTimestamp(seconds: i64(), nanos: Int32.random(in: Int32.min...Int32.max, using: &rng)),
                                    captureMethod: randomString(&rng), profileHint: randomString(&rng)))
        case 1:
            return .p2p(PeerRecord(peerID: randomString(&rng), address: randomString(&rng), outbound: Bool.random(using: &rng),
                                   kind: PeerEventKind.allCases.randomElement(using: &rng)!, reason: randomString(&rng)))
        case 2:
            return .blocksync(BlocksyncRecord(peerID: randomString(&rng), direction: TraceDirection.allCases.randomElement(using: &rng)!,
                                              message: randomBytes(&rng, max: 200)))
        case 3:
            return .pivot(.switch(PivotSwitch(forkAt: u64(), meHeight: u64(), meHash: randomBytes(&rng, max: 32),
                                              branch: (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                                                  PivotBranchEntry(height: u64(), hash: randomBytes(&rng, max: 32)) },
                                              observed: PivotObservation.allCases.randomElement(using: &rng)!)))
        case 4:
            return .pivot(.extend(PivotExtend(height: u64(), hash: randomBytes(&rng, max: 32),
                                              observed: PivotObservation.allCases.randomElement(using: &rng)!)))
        default:
            return .capture(CaptureRecord(kind: CaptureKind.allCases.randomElement(using: &rng)!, connection: randomString(&rng),
                                          direction: [nil, .inbound, .outbound].randomElement(using: &rng)!,
                                          byteCount: u64(), detail: randomString(&rng)))
        }
    }
}
