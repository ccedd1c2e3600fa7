import ProtoWire

/// `tendermint.p2p.PacketMsg { int32 channel_id = 1; bool eof = 2; bytes data = 3; }` (§1.3).
public struct PacketMsg: Equatable, Sendable {
    /// `int32` on the wire; values outside 0...255 are an unknown channel to a node.
    public var channelID: Int32
    public var eof: Bool
    public var data: [UInt8]

    public init(channelID: Int32, eof: Bool, data: [UInt8]) {
        self.channelID = channelID
        self.eof = eof
        self.data = data
    }

    func write(to w: inout ProtoWriter) {
        w.int32(1, channelID)
        w.bool(2, eof)
        w.bytes(3, data)
    }

    /// Decodes like gogoproto: any field order, unknown fields skipped, the last value of a
    /// repeated scalar wins, `int32` truncated from the 64-bit varint. `data` stays a slice of
    /// the reader's bytes (the decoder appends it to its reassembly buffer without a copy in between).
    static func decodeView(_ r: inout ProtoReader) throws -> (channelID: Int32, eof: Bool, data: ArraySlice<UInt8>) {
        var msg: (channelID: Int32, eof: Bool, data: ArraySlice<UInt8>) = (0, false, [])
        while let f = try r.next() {
            switch f.number {
            case 1: msg.channelID = try f.int32()
            case 2: msg.eof = try f.bool()
            case 3: msg.data = try f.messageReader().buffer  // checks the wire type as `bytes()` does
            default: break
            }
        }
        return msg
    }
}

/// `tendermint.p2p.Packet` (§1.3): `oneof sum { PacketPing = 1; PacketPong = 2; PacketMsg = 3 }`.
public enum MConnectionPacket: Equatable, Sendable {
    case ping
    case pong
    case msg(PacketMsg)

    /// The Packet without its length prefix.
    public func encode() -> [UInt8] {
        var w = ProtoWriter()
        switch self {
        case .ping: w.message(1, always: true) { _ in }
        case .pong: w.message(2, always: true) { _ in }
        case .msg(let m): w.message(3, always: true) { m.write(to: &$0) }
        }
        return w.bytes
    }

    /// The Packet with its uvarint length prefix, as `protoio.NewDelimitedWriter` writes it:
    /// ping = `02 0a 00`, pong = `02 12 00`.
    public func encodeDelimited() -> [UInt8] { ProtoWriter.delimited(encode()) }

    /// Decodes one Packet (no length prefix). Returns nil when no oneof member is set, which a
    /// node reports as an unknown message type. Like gogoproto, the last oneof field wins.
    public static func decode(_ bytes: ArraySlice<UInt8>, baseOffset: Int = 0) throws -> MConnectionPacket? {
        switch try View.decode(bytes, baseOffset: baseOffset) {
        case nil: return nil
        case .ping?: return .ping
        case .pong?: return .pong
        case let .msg(channelID, eof, data)?: return .msg(PacketMsg(channelID: channelID, eof: eof, data: Array(data)))
        }
    }

    /// A decoded Packet whose message data is a slice of the input (what `decode` copies out).
    enum View {
        case ping
        case pong
        case msg(channelID: Int32, eof: Bool, data: ArraySlice<UInt8>)

        static func decode(_ bytes: ArraySlice<UInt8>, baseOffset: Int) throws -> View? {
            var r = ProtoReader(bytes, baseOffset: baseOffset)
            var result: View?
            while let f = try r.next() {
                switch f.number {
                case 1:
                    try skipAll(f.messageReader())  // PacketPing has no fields; unknown ones must still parse
                    result = .ping
                case 2:
                    try skipAll(f.messageReader())
                    result = .pong
                case 3:
                    var inner = try f.messageReader()
                    let m = try PacketMsg.decodeView(&inner)
                    result = .msg(channelID: m.channelID, eof: m.eof, data: m.data)
                default: break
                }
            }
            return result
        }
    }
}

/// Walks an empty message's (unknown) fields so malformed content is rejected as gogoproto does.
private func skipAll(_ reader: ProtoReader) throws {
    var r = reader
    while try r.next() != nil {}
}
