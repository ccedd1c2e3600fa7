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
            if let msg = canonicalMsg(bytes) { return msg }
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

extension MConnectionPacket.View {
    /// A PacketMsg packet in the shape every CometBFT node writes, read without the general field
    /// walk: `1a L` then, filling the L bytes exactly and in this order, an optional channel id
    /// (`08` + a one-byte varint), an optional eof (`10` + a one-byte varint) and an optional
    /// data field (`1a N` + N bytes). Anything else is nil, and `decode` walks the fields as
    /// gogoproto does; on the bytes accepted here both give the same packet.
    static func canonicalMsg(_ bytes: ArraySlice<UInt8>) -> Self? {
        var i = bytes.startIndex
        let end = bytes.endIndex
        guard i < end, bytes[i] == 0x1a else { return nil }
        i += 1
        guard let inner = varint(bytes, &i), inner == UInt64(end - i) else { return nil }
        var channelID: Int32 = 0, eof = false
        var data: ArraySlice<UInt8> = bytes[end..<end]
        if i < end, bytes[i] == 0x08 {
            guard i + 1 < end, bytes[i + 1] < 0x80 else { return nil }
            channelID = Int32(bytes[i + 1])
            i += 2
        }
        if i < end, bytes[i] == 0x10 {
            guard i + 1 < end, bytes[i + 1] < 0x80 else { return nil }
            eof = bytes[i + 1] != 0
            i += 2
        }
        if i < end, bytes[i] == 0x1a {
            i += 1
            guard let n = varint(bytes, &i), n == UInt64(end - i) else { return nil }
            data = bytes[i..<end]
            i = end
        }
        guard i == end else { return nil }
        return .msg(channelID: channelID, eof: eof, data: data)
    }

    /// A varint of at most 5 bytes at `i` (advanced past it); nil when longer or cut off.
    private static func varint(_ bytes: ArraySlice<UInt8>, _ i: inout Int) -> UInt64? {
        var value: UInt64 = 0
        for k in 0..<5 {
            guard i < bytes.endIndex else { return nil }
            let b = bytes[i]
            i += 1
            value |= UInt64(b & 0x7f) << (7 * UInt64(k))
            if b & 0x80 == 0 { return value }
        }
        return nil
    }
}

/// Walks an empty message's (unknown) fields so malformed content is rejected as gogoproto does.
private func skipAll(_ reader: ProtoReader) throws {
    var r = reader
    while try r.next() != nil {}
}
