/// MCAP framing constants and the little-endian primitives of specs/mcap.md §1.
public enum MCAP {
    /// `89 4D 43 41 50 30 0D 0A`: leading and trailing magic.
    public static let magic: [UInt8] = [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]
    /// opcode (1) + content_length (8).
    public static let recordPrefixSize = 9
    /// The Footer record is always 29 bytes; with the trailing magic the file ends in 37.
    public static let footerRecordSize = 29
    public static let footerAndMagicSize: UInt64 = 37
}

/// Record opcodes (specs/mcap.md §2). 0x80–0xFF are private; other unknown values are skipped.
public enum MCAPOpcode: UInt8, Sendable, CaseIterable {
    case header = 0x01, footer = 0x02, schema = 0x03, channel = 0x04, message = 0x05, chunk = 0x06
    case messageIndex = 0x07, chunkIndex = 0x08, attachment = 0x09, attachmentIndex = 0x0A
    case statistics = 0x0B, metadata = 0x0C, metadataIndex = 0x0D, summaryOffset = 0x0E, dataEnd = 0x0F

    public var name: String {
        switch self {
        case .header: return "Header"
        case .footer: return "Footer"
        case .schema: return "Schema"
        case .channel: return "Channel"
        case .message: return "Message"
        case .chunk: return "Chunk"
        case .messageIndex: return "Message Index"
        case .chunkIndex: return "Chunk Index"
        case .attachment: return "Attachment"
        case .attachmentIndex: return "Attachment Index"
        case .statistics: return "Statistics"
        case .metadata: return "Metadata"
        case .metadataIndex: return "Metadata Index"
        case .summaryOffset: return "Summary Offset"
        case .dataEnd: return "Data End"
        }
    }

    static func name(of raw: UInt8) -> String {
        MCAPOpcode(rawValue: raw)?.name ?? "unknown record 0x" + String(raw, radix: 16).leftPadded(2)
    }
}

/// Builds record content: little-endian integers, u32-prefixed strings, maps and arrays.
struct MCAPBuilder {
    var bytes: [UInt8]

    init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { bytes.append(UInt8(truncatingIfNeeded: v)); bytes.append(UInt8(truncatingIfNeeded: v >> 8)) }
    mutating func u32(_ v: UInt32) {
        for s in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s))) }
    }
    mutating func u64(_ v: UInt64) {
        for s in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s))) }
    }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        u32(UInt32(truncatingIfNeeded: utf8.count))
        bytes.append(contentsOf: utf8)
    }
    mutating func raw<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }

    /// `Map<String,String>` with keys in sorted order (deterministic output).
    mutating func stringMap(_ map: [(String, String)]) {
        var inner = MCAPBuilder()
        for (k, v) in map { inner.string(k); inner.string(v) }
        u32(UInt32(truncatingIfNeeded: inner.bytes.count))
        raw(inner.bytes)
    }

    /// `Map<u16,u64>` (channel message counts, message index offsets).
    mutating func u16u64Map(_ map: [(UInt16, UInt64)]) {
        u32(UInt32(truncatingIfNeeded: map.count * 10))
        for (k, v) in map { u16(k); u64(v) }
    }

    /// Frames `content` as a complete record: opcode, u64 length, content.
    static func record(_ opcode: MCAPOpcode, _ content: [UInt8]) -> [UInt8] {
        var b = MCAPBuilder(capacity: content.count + 9)
        b.u8(opcode.rawValue)
        b.u64(UInt64(content.count))
        b.raw(content)
        return b.bytes
    }
}

/// Reads the fields of one record's content. Every read is bounds-checked against the
/// content (never the file), so trailing unknown fields are simply left unread (§1), and a
/// length that points past the record gives a `TraceError` naming the absolute offset.
struct MCAPFieldReader {
    let content: ArraySlice<UInt8>
    /// Absolute file offset of `content.startIndex`.
    let baseOffset: UInt64
    let record: String
    private(set) var index: Int

    init(_ content: ArraySlice<UInt8>, baseOffset: UInt64, record: String) {
        self.content = content
        self.baseOffset = baseOffset
        self.record = record
        self.index = content.startIndex
    }

    var offset: UInt64 { baseOffset &+ UInt64(index - content.startIndex) }
    var remaining: Int { content.endIndex - index }

    @inline(__always)
    private func need(_ n: Int, _ field: String) throws {
        guard n <= remaining else { throw shortField(n, field) }
    }

    @inline(never)
    private func shortField(_ n: Int, _ field: String) -> TraceError {
        TraceError.truncated(offset: offset, expected: "\(n) bytes of \(record) field \(field), \(remaining) left in the record")
    }

    private mutating func take(_ n: Int, _ field: String) throws -> ArraySlice<UInt8> {
        try need(n, field)
        let s = content[index..<(index + n)]
        index += n
        return s
    }

    /// The little-endian integer in the next `n` bytes (bounds already checked).
    @inline(__always)
    private mutating func little(_ n: Int) -> UInt64 {
        let at = index - content.startIndex
        index += n
        return content.withUnsafeBytes { raw in
            switch n {
            case 8: return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            case 4: return UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt32.self)))
            case 2: return UInt64(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt16.self)))
            default: return UInt64(raw[at])
            }
        }
    }

    /// The (log_time, offset) pairs of a Message Index's records: every whole 16-byte pair,
    /// read directly; a partial pair is left for `u64` to report.
    mutating func timeOffsetPairs() -> [(UInt64, UInt64)] {
        let count = remaining / 16
        let at = index - content.startIndex
        index += 16 * count
        return content.withUnsafeBytes { raw in
            [(UInt64, UInt64)](unsafeUninitializedCapacity: count) { pairs, initialized in
                for k in 0..<count {
                    pairs[k] = (UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 16 * k, as: UInt64.self)),
                                UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 16 * k + 8, as: UInt64.self)))
                }
                initialized = count
            }
        }
    }

    mutating func u8(_ field: String) throws -> UInt8 { try need(1, field); return UInt8(little(1)) }
    mutating func u16(_ field: String) throws -> UInt16 { try need(2, field); return UInt16(little(2)) }
    mutating func u32(_ field: String) throws -> UInt32 { try need(4, field); return UInt32(little(4)) }
    mutating func u64(_ field: String) throws -> UInt64 { try need(8, field); return little(8) }

    /// Bytes with a length prefix already read: checked against what remains in the record.
    mutating func bytes(count: UInt64, _ field: String, lengthOffset: UInt64) throws -> ArraySlice<UInt8> {
        guard count <= UInt64(remaining) else {
            throw TraceError.lengthOutOfBounds(offset: lengthOffset, what: "\(record) field \(field)",
                                               length: count, available: UInt64(remaining))
        }
        return try take(Int(count), field)
    }

    mutating func u32Bytes(_ field: String) throws -> ArraySlice<UInt8> {
        let at = offset
        let n = try u32(field)
        return try bytes(count: UInt64(n), field, lengthOffset: at)
    }

    mutating func u64Bytes(_ field: String) throws -> ArraySlice<UInt8> {
        let at = offset
        let n = try u64(field)
        return try bytes(count: n, field, lengthOffset: at)
    }

    mutating func string(_ field: String) throws -> String {
        let at = offset
        let raw = try u32Bytes(field)
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw TraceError.invalidUTF8(offset: at, field: "\(record) field \(field)")
        }
        return s
    }

    /// `Map<String,String>`, in file order.
    mutating func stringMap(_ field: String) throws -> [(String, String)] {
        let raw = try u32Bytes(field)
        var inner = MCAPFieldReader(raw, baseOffset: offset &- UInt64(raw.count), record: record)
        var out: [(String, String)] = []
        while inner.remaining > 0 {
            let k = try inner.string("\(field) key")
            let v = try inner.string("\(field) value")
            out.append((k, v))
        }
        return out
    }

    /// `Map<u16,u64>`, in file order.
    mutating func u16u64Map(_ field: String) throws -> [(UInt16, UInt64)] {
        let raw = try u32Bytes(field)
        var inner = MCAPFieldReader(raw, baseOffset: offset &- UInt64(raw.count), record: record)
        var out: [(UInt16, UInt64)] = []
        while inner.remaining > 0 {
            out.append((try inner.u16("\(field) key"), try inner.u64("\(field) value")))
        }
        return out
    }

    /// Everything left in the record (Message.data).
    mutating func rest() -> ArraySlice<UInt8> {
        let s = content[index...]
        index = content.endIndex
        return s
    }
}
