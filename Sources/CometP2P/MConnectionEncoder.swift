import ProtoWire

/// Splits channel messages into PacketMsgs and frames them, as `Channel.nextPacketMsg` and
/// the delimited writer do (§1.3): payloads of at most `maxPacketMsgPayloadSize` bytes, `eof`
/// on the last; a message of at most that size (including an empty one) is one PacketMsg.
///
/// The real MConnection interleaves channels by priority; this encoder emits one message's
/// packets contiguously. Use `packets(channel:message:)` to interleave by hand.
public struct MConnectionEncoder: Sendable {
    public let maxPacketMsgPayloadSize: Int

    public init(maxPacketMsgPayloadSize: Int = CometP2P.maxPacketMsgPayloadSize) {
        precondition(maxPacketMsgPayloadSize > 0, "payload size must be positive")
        self.maxPacketMsgPayloadSize = maxPacketMsgPayloadSize
    }

    /// The PacketMsgs carrying `message` on `channel`, in send order.
    public func packets(channel: UInt8, message: [UInt8]) -> [PacketMsg] {
        var result: [PacketMsg] = []
        var start = 0
        repeat {
            let remaining = message.count - start
            if remaining <= maxPacketMsgPayloadSize {
                result.append(PacketMsg(channelID: Int32(channel), eof: true, data: Array(message[start...])))
                start = message.count
            } else {
                let end = start + maxPacketMsgPayloadSize
                result.append(PacketMsg(channelID: Int32(channel), eof: false, data: Array(message[start..<end])))
                start = end
            }
        } while start < message.count
        return result
    }

    /// The wire bytes (length-prefixed Packets) carrying `message` on `channel`.
    public func encode(channel: UInt8, message: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(message.count + (message.count / maxPacketMsgPayloadSize + 1) * 12)
        for p in packets(channel: channel, message: message) {
            out.append(contentsOf: MConnectionPacket.msg(p).encodeDelimited())
        }
        return out
    }

    /// `02 0a 00`.
    public static let ping: [UInt8] = MConnectionPacket.ping.encodeDelimited()
    /// `02 12 00`.
    public static let pong: [UInt8] = MConnectionPacket.pong.encodeDelimited()

    /// Size of the largest encoded Packet for a payload size (`maxPacketMsgSize`, §1.3):
    /// Packet{PacketMsg{channel 1, eof, payload bytes}}; 1034 for 1024.
    public static func maxPacketSize(forPayloadSize payload: Int) -> Int {
        MConnectionPacket.msg(PacketMsg(channelID: 1, eof: true, data: [UInt8](repeating: 0, count: payload)))
            .encode().count
    }
}
