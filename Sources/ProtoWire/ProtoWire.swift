/// Protobuf wire-format primitives, written by hand so that encoding is byte-exact with
/// gogoproto (CometBFT) and decoding never trusts a length field.
///
/// Encoding rules follow specs/cometbft-blocksync.md §1.6: fields in ascending number order,
/// proto3 scalars equal to zero/empty omitted, non-nullable sub-messages always emitted (the
/// caller decides with `message(_:always:)`).

/// The four wire types in use (groups, 3 and 4, are rejected as malformed).
public enum WireType: UInt8, Sendable {
    case varint = 0
    case fixed64 = 1
    case lengthDelimited = 2
    case fixed32 = 5
}

/// A malformed protobuf input. Offsets are relative to the start of the buffer handed to
/// the outermost `ProtoReader`.
public enum ProtoError: Error, Equatable, Sendable, CustomStringConvertible {
    case truncated(offset: Int, expected: String)
    case varintTooLong(offset: Int)
    case lengthPastEnd(offset: Int, length: UInt64, remaining: Int)
    case invalidWireType(offset: Int, field: Int, wireType: UInt8)
    case invalidFieldNumber(offset: Int)
    case unexpectedWireType(offset: Int, field: Int, expected: WireType, actual: WireType)
    case valueOutOfRange(offset: Int, field: Int, value: UInt64)
    case invalidUTF8(offset: Int, field: Int)
    case invalid(offset: Int, reason: String)

    public var offset: Int {
        switch self {
        case .truncated(let o, _), .varintTooLong(let o), .lengthPastEnd(let o, _, _),
             .invalidWireType(let o, _, _), .invalidFieldNumber(let o), .unexpectedWireType(let o, _, _, _),
             .valueOutOfRange(let o, _, _), .invalidUTF8(let o, _), .invalid(let o, _):
            return o
        }
    }

    public var description: String {
        switch self {
        case .truncated(let o, let what): return "protobuf truncated at byte \(o): expected \(what)"
        case .varintTooLong(let o): return "protobuf varint longer than 10 bytes at byte \(o)"
        case .lengthPastEnd(let o, let len, let rem):
            return "protobuf length \(len) at byte \(o) points past the end (\(rem) bytes remain)"
        case .invalidWireType(let o, let f, let wt): return "protobuf field \(f) at byte \(o) has unsupported wire type \(wt)"
        case .invalidFieldNumber(let o): return "protobuf field number 0 at byte \(o)"
        case .unexpectedWireType(let o, let f, let exp, let act):
            return "protobuf field \(f) at byte \(o) has wire type \(act.rawValue), expected \(exp.rawValue)"
        case .valueOutOfRange(let o, let f, let v): return "protobuf field \(f) at byte \(o) has out-of-range value \(v)"
        case .invalidUTF8(let o, let f): return "protobuf field \(f) at byte \(o) is not valid UTF-8"
        case .invalid(let o, let reason): return "protobuf invalid at byte \(o): \(reason)"
        }
    }
}

// MARK: - Writing

/// Appends protobuf fields to a byte buffer. Scalar helpers omit zero values (proto3);
/// `message(_:always:_:)` emits a sub-message, also when empty if `always` (gogoproto
/// non-nullable fields).
public struct ProtoWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }


    public mutating func writeVarint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func writeTag(_ field: Int, _ wireType: WireType) {
        precondition(field > 0 && field < (1 << 29), "field number out of range")
        writeVarint(UInt64(field) << 3 | UInt64(wireType.rawValue))
    }

    public mutating func writeRaw<C: Collection>(_ raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    /// `writeRaw` for the two collections callers hold (issue 19: the generic one is not
    /// specialized across modules and looked up type metadata on every call).
    public mutating func writeRaw(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
    public mutating func writeRaw(_ raw: ArraySlice<UInt8>) { bytes.append(contentsOf: raw) }

    /// `uint64`/`uint32` field; omitted when zero.
    public mutating func uint64(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        writeTag(field, .varint)
        writeVarint(value)
    }

    /// `int64` field (two's complement varint, 10 bytes when negative); omitted when zero.
    public mutating func int64(_ field: Int, _ value: Int64) {
        uint64(field, UInt64(bitPattern: value))
    }

    /// `int32` and enum fields: negative values are sign-extended to 64 bits, as protobuf requires.
    public mutating func int32(_ field: Int, _ value: Int32) {
        uint64(field, UInt64(bitPattern: Int64(value)))
    }

    public mutating func bool(_ field: Int, _ value: Bool) {
        uint64(field, value ? 1 : 0)
    }

    /// `fixed64`/`sfixed64`; omitted when zero.
    public mutating func fixed64(_ field: Int, _ value: UInt64) {
        guard value != 0 else { return }
        writeTag(field, .fixed64)
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// `bytes` field; omitted when empty unless `always` (repeated bytes elements are always written).
    public mutating func bytes<C: Collection>(_ field: Int, _ value: C, always: Bool = false) where C.Element == UInt8 {
        lengthDelimited(field, value, always: always)
    }

    /// `bytes(_:_:always:)` for arrays and slices, the callers' types (see `writeRaw`).
    public mutating func bytes(_ field: Int, _ value: [UInt8], always: Bool = false) {
        lengthDelimited(field, value, always: always)
    }

    public mutating func bytes(_ field: Int, _ value: ArraySlice<UInt8>, always: Bool = false) {
        lengthDelimited(field, value, always: always)
    }

    public mutating func string(_ field: Int, _ value: String, always: Bool = false) {
        lengthDelimited(field, value.utf8, always: always)
    }

    /// The one body of `bytes` and `string` (specialized within this module for each caller).
    private mutating func lengthDelimited<C: Collection>(_ field: Int, _ value: C, always: Bool) where C.Element == UInt8 {
        guard always || !value.isEmpty else { return }
        writeTag(field, .lengthDelimited)
        writeVarint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }

    /// A sub-message. Empty sub-messages are written only when `always` (non-nullable).
    ///
    /// Written in place (issue 19: a writer per sub-message cost an array each): the body goes
    /// after a one-byte length, widened afterwards when the body needs a longer varint.
    public mutating func message(_ field: Int, always: Bool = false, _ body: (inout ProtoWriter) -> Void) {
        let start = bytes.count
        writeTag(field, .lengthDelimited)
        let lengthAt = bytes.count
        bytes.append(0)
        body(&self)
        let length = bytes.count - lengthAt - 1
        if length == 0 && !always {
            bytes.removeSubrange(start...)
            return
        }
        finishLength(at: lengthAt)
    }

    /// A message prefixed with its uvarint length (`protoio.MarshalDelimited`), written in
    /// place as `message` writes a sub-message.
    public mutating func delimited(_ body: (inout ProtoWriter) -> Void) {
        let lengthAt = bytes.count
        bytes.append(0)
        body(&self)
        finishLength(at: lengthAt)
    }

    /// Writes the length of what follows the one byte reserved at `lengthAt`, widening the
    /// reservation when the length needs a longer varint.
    private mutating func finishLength(at lengthAt: Int) {
        let length = bytes.count - lengthAt - 1
        var value = UInt64(length)
        let size = Self.varintSize(value)
        if size > 1 { bytes.insert(contentsOf: repeatElement(0, count: size - 1), at: lengthAt + 1) }
        for i in lengthAt..<(lengthAt + size) {
            bytes[i] = UInt8(truncatingIfNeeded: value) | (i < lengthAt + size - 1 ? 0x80 : 0)
            value >>= 7
        }
    }

    /// Prefixes a message with its uvarint length, as `protoio.NewDelimitedWriter` does.
    public static func delimited(_ message: [UInt8]) -> [UInt8] {
        var w = ProtoWriter(capacity: message.count + 10)
        w.writeVarint(UInt64(message.count))
        w.bytes.append(contentsOf: message)
        return w.bytes
    }

    /// The number of bytes `writeVarint` produces for `value`.
    public static func varintSize(_ value: UInt64) -> Int {
        var n = 1
        var v = value >> 7
        while v != 0 { n += 1; v >>= 7 }
        return n
    }
}

// MARK: - Reading

/// One field as read from the wire. For length-delimited fields `data` is the payload
/// (a slice of the reader's buffer, bounds already checked).
public struct ProtoField: Sendable {
    public let number: Int
    public let wireType: WireType
    /// Offset of the field's tag, relative to the outermost buffer.
    public let offset: Int
    /// Varint, fixed32 or fixed64 value; zero for length-delimited fields.
    public let scalar: UInt64
    /// Payload of a length-delimited field; empty otherwise.
    public let data: ArraySlice<UInt8>
    /// Offset of `data`'s first byte relative to the outermost buffer.
    public let dataOffset: Int

    func expect(_ wt: WireType) throws {
        guard wireType == wt else {
            throw ProtoError.unexpectedWireType(offset: offset, field: number, expected: wt, actual: wireType)
        }
    }

    public func uint64() throws -> UInt64 { try expect(.varint); return scalar }
    public func int64() throws -> Int64 { try expect(.varint); return Int64(bitPattern: scalar) }
    public func bool() throws -> Bool { try expect(.varint); return scalar != 0 }

    /// `int32`/enum: Go truncates the 64-bit varint to 32 bits.
    public func int32() throws -> Int32 { try expect(.varint); return Int32(truncatingIfNeeded: scalar) }

    public func uint32() throws -> UInt32 { try expect(.varint); return UInt32(truncatingIfNeeded: scalar) }

    public func fixed64() throws -> UInt64 { try expect(.fixed64); return scalar }
    public func fixed32() throws -> UInt32 { try expect(.fixed32); return UInt32(truncatingIfNeeded: scalar) }

    public func bytes() throws -> [UInt8] { try expect(.lengthDelimited); return Array(data) }

    public func string() throws -> String {
        try expect(.lengthDelimited)
        guard let s = String(validating: data, as: UTF8.self) else {
            throw ProtoError.invalidUTF8(offset: offset, field: number)
        }
        return s
    }

    /// A reader over this field's payload, for sub-messages.
    public func messageReader() throws -> ProtoReader {
        try expect(.lengthDelimited)
        return ProtoReader(data, baseOffset: dataOffset)
    }
}

/// Iterates the fields of one protobuf message. Every length is checked against the bytes
/// that remain before anything is sliced, so a hostile length can neither crash nor allocate.
public struct ProtoReader: Sendable {
    public let buffer: ArraySlice<UInt8>
    private var index: Int
    private let baseOffset: Int

    public init(_ bytes: [UInt8]) {
        self.init(bytes[...], baseOffset: 0)
    }

    /// `baseOffset` is the offset of `buffer.first` in the outermost input, for error messages.
    public init(_ buffer: ArraySlice<UInt8>, baseOffset: Int = 0) {
        self.buffer = buffer
        self.index = buffer.startIndex
        self.baseOffset = baseOffset
    }

    /// Offset of the next unread byte relative to the outermost input.
    public var offset: Int { baseOffset + (index - buffer.startIndex) }

    public var isAtEnd: Bool { index >= buffer.endIndex }

    public mutating func readVarint() throws -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        for i in 0..<10 {
            guard index < buffer.endIndex else {
                throw ProtoError.truncated(offset: start, expected: "a varint")
            }
            let b = buffer[index]
            index += 1
            if i == 9 && b > 1 { throw ProtoError.varintTooLong(offset: start) }
            result |= UInt64(b & 0x7f) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
        throw ProtoError.varintTooLong(offset: start)
    }

    /// Reads `count` raw bytes after checking they exist.
    public mutating func readRaw(_ count: UInt64, what: String) throws -> ArraySlice<UInt8> {
        let remaining = buffer.endIndex - index
        guard count <= UInt64(remaining) else {
            if what == "length-delimited payload" {
                throw ProtoError.lengthPastEnd(offset: offset, length: count, remaining: remaining)
            }
            throw ProtoError.truncated(offset: offset, expected: what)
        }
        let slice = buffer[index..<(index + Int(count))]
        index += Int(count)
        return slice
    }

    /// The next field, or nil at the end of the message. Unknown fields are returned like any
    /// other; callers skip the numbers they do not know.
    public mutating func next() throws -> ProtoField? {
        guard !isAtEnd else { return nil }
        let tagOffset = offset
        let key = try readVarint()
        let fieldNumber = key >> 3
        guard fieldNumber != 0 else { throw ProtoError.invalidFieldNumber(offset: tagOffset) }
        guard fieldNumber < (1 << 29) else {
            throw ProtoError.invalid(offset: tagOffset, reason: "field number \(fieldNumber) out of range")
        }
        let field = Int(fieldNumber)
        guard let wt = WireType(rawValue: UInt8(key & 7)) else {
            throw ProtoError.invalidWireType(offset: tagOffset, field: field, wireType: UInt8(key & 7))
        }
        switch wt {
        case .varint:
            let v = try readVarint()
            return ProtoField(number: field, wireType: wt, offset: tagOffset, scalar: v, data: [], dataOffset: offset)
        case .fixed64:
            let raw = try readRaw(8, what: "8 bytes of fixed64 field \(field)")
            var v: UInt64 = 0
            for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
            return ProtoField(number: field, wireType: wt, offset: tagOffset, scalar: v, data: [], dataOffset: offset)
        case .fixed32:
            let raw = try readRaw(4, what: "4 bytes of fixed32 field \(field)")
            var v: UInt64 = 0
            for (i, b) in raw.enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
            return ProtoField(number: field, wireType: wt, offset: tagOffset, scalar: v, data: [], dataOffset: offset)
        case .lengthDelimited:
            let len = try readVarint()
            let dataOffset = offset
            let data = try readRaw(len, what: "length-delimited payload")
            return ProtoField(number: field, wireType: wt, offset: tagOffset, scalar: 0, data: data, dataOffset: dataOffset)
        }
    }

    /// Reads one uvarint-length-prefixed message from the front of `stream`, as
    /// `protoio.NewDelimitedReader` does, refusing lengths above `maxSize`. Returns nil when
    /// `stream` does not yet hold the whole message (streaming callers wait for more bytes).
    public static func delimited(_ stream: ArraySlice<UInt8>, maxSize: Int) throws -> (message: ArraySlice<UInt8>, consumed: Int)? {
        var r = ProtoReader(stream)
        let len: UInt64
        do { len = try r.readVarint() } catch ProtoError.truncated { return nil }
        guard len <= UInt64(maxSize) else {
            throw ProtoError.invalid(offset: 0, reason: "message length \(len) exceeds maximum \(maxSize)")
        }
        let header = r.offset
        guard stream.count - header >= Int(len) else { return nil }
        let start = stream.startIndex + header
        return (stream[start..<(start + Int(len))], header + Int(len))
    }
}
