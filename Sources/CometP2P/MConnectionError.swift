import ProtoWire

/// A violation of MConnection framing that makes a node close the connection
/// (`MConnection.recvRoutine` → `stopForError`, §1.3). `nodeError` is the error text the Go
/// node passes to `stopForError`; `description` adds where in the stream it happened.
public enum MConnectionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Length prefix above the maximum packet size (1034 by default).
    case packetTooLarge(offset: Int, length: UInt64, max: Int)
    /// Length prefix that does not fit a Go `int`.
    case lengthOutOfRange(offset: Int, length: UInt64)
    /// Length prefix varint longer than 10 bytes.
    case lengthVarintOverflow(offset: Int)
    /// The Packet's protobuf does not parse.
    case malformedPacket(offset: Int, ProtoError)
    /// A Packet with no oneof member set.
    case unknownPacketType(offset: Int)
    /// A PacketMsg for a channel the connection did not register (or outside 0...255).
    case unknownChannel(offset: Int, channelID: Int32)
    /// Reassembly would exceed the channel's `RecvMessageCapacity`.
    case messageExceedsCapacity(offset: Int, channelID: UInt8, capacity: Int, received: Int)

    /// Offset of the offending packet's length prefix in the connection's byte stream.
    public var offset: Int {
        switch self {
        case .packetTooLarge(let o, _, _), .lengthOutOfRange(let o, _), .lengthVarintOverflow(let o),
             .malformedPacket(let o, _), .unknownPacketType(let o), .unknownChannel(let o, _),
             .messageExceedsCapacity(let o, _, _, _):
            return o
        }
    }

    /// The error a CometBFT node raises for this violation (texts from `libs/protoio/reader.go`
    /// and `p2p/conn/connection.go`, v0.34–v0.38).
    public var nodeError: String {
        switch self {
        case .packetTooLarge(_, let len, let max): return "message exceeds max size (\(len) > \(max))"
        case .lengthOutOfRange(_, let len): return "invalid out-of-range message length \(len)"
        case .lengthVarintOverflow: return "binary: varint overflows a 64-bit integer"
        case .malformedPacket(_, let e): return e.description  // gogoproto's wording differs; the outcome is the same
        case .unknownPacketType: return "unknown message type p2p.Packet"
        case .unknownChannel(_, let ch): return "unknown channel \(Self.goUpperHex(ch))"
        case .messageExceedsCapacity(_, _, let cap, let got):
            return "received message exceeds available capacity: \(cap) < \(got)"
        }
    }

    public var description: String {
        "MConnection error at stream byte \(offset): \(nodeError) (a node closes the connection)"
    }

    /// Go's `%X` of an int32: uppercase hex, no padding, leading minus for negatives.
    static func goUpperHex(_ v: Int32) -> String {
        let magnitude = String(v.magnitude, radix: 16, uppercase: true)
        return v < 0 ? "-" + magnitude : magnitude
    }
}
