import CometP2P
import Crypto

/// Builds pcap files of one TCP connection from the two byte streams its sides wrote (handshake,
/// data cut into segments of `mss` bytes, alternating directions, FINs). Used by the benchmark to
/// measure decoding on inputs of any size; tests use the same layout.
public enum SyntheticCapture {
    public static let client = Endpoint(address: [10, 0, 0, 2], port: 51_000)
    public static let server = Endpoint(address: [10, 0, 0, 1], port: 26_656)

    public static func pcap(clientBytes: [UInt8], serverBytes: [UInt8], mss: Int = 1448) -> [UInt8] {
        var writer = PcapFileWriter(nanosecond: true)
        var time: UInt64 = 1_700_000_000_000_000_000
        var next: [UInt32] = [1001, 900_001]
        func emit(_ fromClient: Bool, _ flags: TCPFlags, _ payload: ArraySlice<UInt8>) {
            time += 10_000
            let i = fromClient ? 0 : 1
            let s = TCPSegment(timestampNanos: time, source: fromClient ? client : server,
                               destination: fromClient ? server : client,
                               sequence: flags.contains(.syn) ? next[i] &- 1 : next[i], flags: flags, payload: Array(payload))
            writer.append(frame: FrameBuilder.ethernet(s), timestampNanos: time)
            next[i] &+= UInt32(payload.count) &+ (flags.contains(.fin) ? 1 : 0)
        }
        emit(true, .syn, [])
        emit(false, [.syn, .ack], [])
        var offsets = [0, 0]
        let streams = [clientBytes, serverBytes]
        while offsets[0] < clientBytes.count || offsets[1] < serverBytes.count {
            for i in 0..<2 where offsets[i] < streams[i].count {
                let end = min(streams[i].count, offsets[i] + mss)
                emit(i == 0, [.ack, .psh], streams[i][offsets[i]..<end])
                offsets[i] = end
            }
        }
        emit(true, [.fin, .ack], [])
        emit(false, [.fin, .ack], [])
        return writer.bytes
    }

    /// Both sides' wire bytes of a SecretConnection carrying `messages` on channel 0x40 (client to
    /// server when `fromClient`), made in memory with the sans-IO handshake, and its key-log line.
    public static func secretStreams(messages: [(fromClient: Bool, bytes: [UInt8])], chainID: String = "syncreplay-bench")
        throws -> (client: [UInt8], server: [UInt8], keyLogLine: String) {
        let clientKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 3, count: 32))
        let serverKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 4, count: 32))
        var a = try SecretConnectionHandshake(nodeKey: clientKey, ephemeralPrivateKey: [UInt8](repeating: 5, count: 32))
        var b = try SecretConnectionHandshake(nodeKey: serverKey, ephemeralPrivateKey: [UInt8](repeating: 6, count: 32))
        var clientBytes = a.initialBytes, serverBytes = b.initialBytes
        let a2 = try a.receive(serverBytes), b2 = try b.receive(clientBytes)
        clientBytes += a2
        serverBytes += b2
        _ = try a.receive(b2)
        _ = try b.receive(a2)
        guard var sa = a.session, var sb = b.session, let keys = a.keys else {
            throw SecretConnectionError.closedDuringHandshake(stage: "in-memory handshake")
        }
        clientBytes += try sa.sealer.seal(nodeInfo(a.localNodeID, chainID).encodeDelimited())
        serverBytes += try sb.sealer.seal(nodeInfo(b.localNodeID, chainID).encodeDelimited())
        let encoder = MConnectionEncoder()
        for m in messages {
            let packets = encoder.encode(channel: ChannelDescriptor.blocksyncChannelID, message: m.bytes)
            if m.fromClient { clientBytes += try sa.sealer.seal(packets) } else { serverBytes += try sb.sealer.seal(packets) }
        }
        return (clientBytes, serverBytes, keys.keyLogLine)
    }

    /// Both sides' bytes of the plaintext transport (delimited NodeInfo, then packets).
    public static func plainStreams(messages: [(fromClient: Bool, bytes: [UInt8])], chainID: String = "syncreplay-bench")
        -> (client: [UInt8], server: [UInt8]) {
        var c = nodeInfo(String(repeating: "c", count: 40), chainID).encodeDelimited()
        var s = nodeInfo(String(repeating: "5", count: 40), chainID).encodeDelimited()
        let encoder = MConnectionEncoder()
        for m in messages {
            let packets = encoder.encode(channel: ChannelDescriptor.blocksyncChannelID, message: m.bytes)
            if m.fromClient { c += packets } else { s += packets }
        }
        return (c, s)
    }

    static func nodeInfo(_ id: String, _ chainID: String) -> NodeInfo {
        NodeInfo(nodeID: id, listenAddr: "tcp://0.0.0.0:26656", network: chainID, version: "synthetic",
                 channels: [ChannelDescriptor.blocksyncChannelID], moniker: "synthetic")
    }
}
