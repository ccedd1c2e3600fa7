import Capture
import CometP2P
import Crypto
import Foundation
import SyncTrace

/// Builds TCP conversations as segment lists, for reassembly and decoding tests: a handshake,
/// data cut at a chosen segment size in the order the bytes were written, FINs. Tests then
/// reorder, duplicate or drop segments.
struct SegmentScript {
    let client = Endpoint(address: [10, 0, 0, 2], port: 51_000)
    let server = Endpoint(address: [10, 0, 0, 1], port: 26_656)
    var clientISN: UInt32 = 1000
    var serverISN: UInt32 = 900_000
    var mss = 100
    private(set) var segments: [TCPSegment] = []
    private var sent: [UInt32] = [0, 0]  // bytes sent per direction
    private var time: UInt64 = 1_700_000_000_000_000_000

    init(clientISN: UInt32 = 1000, serverISN: UInt32 = 900_000, mss: Int = 100, handshake: Bool = true) {
        self.clientISN = clientISN
        self.serverISN = serverISN
        self.mss = mss
        if handshake {
            append(.clientToServer, flags: .syn, sequence: clientISN, payload: [])
            append(.serverToClient, flags: [.syn, .ack], sequence: serverISN, payload: [])
            append(.clientToServer, flags: .ack, sequence: clientISN &+ 1, payload: [])
        }
    }

    private mutating func append(_ d: FlowDirection, flags: TCPFlags, sequence: UInt32, payload: [UInt8]) {
        time += 1000
        segments.append(TCPSegment(timestampNanos: time, source: d == .clientToServer ? client : server,
                                   destination: d == .clientToServer ? server : client,
                                   sequence: sequence, flags: flags, payload: payload))
    }

    private func nextSequence(_ d: FlowDirection) -> UInt32 {
        (d == .clientToServer ? clientISN : serverISN) &+ 1 &+ sent[d.rawValue]
    }

    mutating func send(_ d: FlowDirection, _ bytes: [UInt8]) {
        var i = 0
        while i < bytes.count {
            let piece = Array(bytes[i..<min(bytes.count, i + mss)])
            append(d, flags: [.ack, .psh], sequence: nextSequence(d), payload: piece)
            sent[d.rawValue] &+= UInt32(piece.count)
            i += mss
        }
    }

    mutating func fin(_ d: FlowDirection) {
        append(d, flags: [.fin, .ack], sequence: nextSequence(d), payload: [])
        sent[d.rawValue] &+= 1
    }

    mutating func reset(_ d: FlowDirection) {
        append(d, flags: .rst, sequence: nextSequence(d), payload: [])
    }
}

/// Feeds segments to one reassembler direction and collects what it delivers.
func reassemble(_ segments: [TCPSegment], from source: Endpoint, finish: Bool = true, maxBuffered: Int = 4 << 20)
    -> (bytes: [UInt8], gaps: [(UInt64, UInt64)], closed: Bool, counters: StreamCounters, midStream: Bool) {
    var r = TCPStreamReassembler(maxBufferedBytes: maxBuffered)
    var events: [StreamEvent] = []
    for s in segments where s.source == source { events += r.add(s) }
    if finish { events += r.finish(timestampNanos: 0) }
    var bytes: [UInt8] = [], gaps: [(UInt64, UInt64)] = [], closed = false
    for e in events {
        switch e {
        case .data(let offset, let b, _):
            precondition(offset == UInt64(bytes.count) + gaps.reduce(0) { $0 + $1.1 })
            bytes += b
        case .gap(let offset, let count, _): gaps.append((offset, count))
        case .closed: closed = true
        }
    }
    return (bytes, gaps, closed, r.counters, r.midStream)
}

/// A deterministic byte pattern.
func pattern(_ count: Int, seed: UInt8 = 1) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed) &* 7 &+ ($0 >> 8)) }
}

/// Both directions' wire bytes of a complete SecretConnection conversation made in memory with the
/// sans-IO handshake: ephemeral keys, AuthSigMessages, NodeInfos, then MConnection packets.
struct SecretConversation {
    var clientBytes: [UInt8] = []
    var serverBytes: [UInt8] = []
    var keyLogLine: String
    var clientNodeID: String
    var serverNodeID: String

    init(messages: [(fromClient: Bool, channel: UInt8, bytes: [UInt8])], chainID: String = "capture-test") throws {
        let clientKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 3, count: 32))
        let serverKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 4, count: 32))
        var a = try SecretConnectionHandshake(nodeKey: clientKey, ephemeralPrivateKey: [UInt8](repeating: 5, count: 32))
        var b = try SecretConnectionHandshake(nodeKey: serverKey, ephemeralPrivateKey: [UInt8](repeating: 6, count: 32))
        clientBytes = a.initialBytes
        serverBytes = b.initialBytes
        let a2 = try a.receive(serverBytes)
        let b2 = try b.receive(clientBytes)
        clientBytes += a2
        serverBytes += b2
        _ = try a.receive(b2)
        _ = try b.receive(a2)
        guard var sa = a.session, var sb = b.session, let keys = a.keys else { throw CaptureError.badNodeSelector("handshake") }
        keyLogLine = keys.keyLogLine
        clientNodeID = a.localNodeID
        serverNodeID = b.localNodeID
        func info(_ id: String, _ listen: String) -> NodeInfo {
            NodeInfo(nodeID: id, listenAddr: listen, network: chainID, version: "test", channels: [0x40, 0x20], moniker: "m")
        }
        clientBytes += try sa.sealer.seal(info(a.localNodeID, "tcp://0.0.0.0:26656").encodeDelimited())
        serverBytes += try sb.sealer.seal(info(b.localNodeID, "tcp://0.0.0.0:26656").encodeDelimited())
        let encoder = MConnectionEncoder()
        for m in messages {
            if m.fromClient {
                clientBytes += try sa.sealer.seal(encoder.encode(channel: m.channel, message: m.bytes))
            } else {
                serverBytes += try sb.sealer.seal(encoder.encode(channel: m.channel, message: m.bytes))
            }
        }
    }
}

/// The plaintext transport's bytes: delimited NodeInfo, then packets.
func plainStream(nodeID: String, messages: [(channel: UInt8, bytes: [UInt8])], withNodeInfo: Bool = true) -> [UInt8] {
    var out: [UInt8] = []
    if withNodeInfo {
        out += NodeInfo(nodeID: nodeID, listenAddr: "tcp://0.0.0.0:26656", network: "capture-test", version: "test",
                        channels: [0x40], moniker: "m").encodeDelimited()
    }
    let encoder = MConnectionEncoder()
    for m in messages { out += encoder.encode(channel: m.channel, message: m.bytes) }
    return out
}

func blocksyncEvents(_ events: [TimedEvent]) -> [BlocksyncRecord] {
    events.compactMap { if case .blocksync(let r) = $0.event { return r } else { return nil } }
}

/// The capture's reports of what it could not see (every `/capture` event but the end marker).
func captureEvents(_ events: [TimedEvent]) -> [CaptureRecord] {
    events.compactMap { if case .capture(let r) = $0.event, r.kind != .end { return r } else { return nil } }
}

/// The capture's end marker: one, last, at the last packet's time.
func captureEnd(_ events: [TimedEvent]) -> (time: UInt64, record: CaptureRecord)? {
    guard let last = events.last, case .capture(let r) = last.event, r.kind == .end else { return nil }
    return (last.logTime, r)
}

/// Locates the built `synccapture` beside the test products.
enum SyncCaptureProcess {
    static var executable: URL { SyncReplayProcess.product("synccapture") }

    static func run(_ arguments: [String]) throws -> SyncReplayProcess.Result {
        try SyncReplayProcess.run(arguments, program: executable)
    }
}

/// A minimal pcapng file (SHB, one IDB with if_tsresol, EPBs), little-endian.
func pcapng(frames: [(bytes: [UInt8], time: UInt64)], nanosecond: Bool) -> [UInt8] {
    func u16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8)] }
    func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }
    func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
        let padded = body + [UInt8](repeating: 0, count: (4 - body.count % 4) % 4)
        let length = UInt32(12 + padded.count)
        return u32(type) + u32(length) + padded + u32(length)
    }
    var out = block(0x0A0D_0D0A, u32(0x1A2B_3C4D) + u16(1) + u16(0) + [UInt8](repeating: 0xff, count: 8))
    let tsresol: [UInt8] = u16(9) + u16(1) + [nanosecond ? 9 : 6, 0, 0, 0] + u16(0) + u16(0)
    out += block(1, u16(1) + u16(0) + u32(262_144) + tsresol)
    for f in frames {
        let ticks = nanosecond ? f.time : f.time / 1000
        out += block(6, u32(0) + u32(UInt32(truncatingIfNeeded: ticks >> 32)) + u32(UInt32(truncatingIfNeeded: ticks))
                     + u32(UInt32(f.bytes.count)) + u32(UInt32(f.bytes.count)) + f.bytes)
    }
    return out
}
