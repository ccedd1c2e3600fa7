import ProtoWire

/// Everything that can go wrong reading or writing a trace. Each case renders as one line
/// naming what was expected and the absolute file offset where it went wrong, so a user can
/// look at the bytes (`xxd -s OFFSET`). The executable maps these to exit 2 (bad input).
public enum TraceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file could not be opened, read or written.
    case io(path: String, reason: String)
    /// The first 8 bytes are not the MCAP magic `89 4D 43 41 50 30 0D 0A` (specs/mcap.md §1).
    case notMCAP(found: [UInt8])
    /// The input ended inside a record or field.
    case truncated(offset: UInt64, expected: String)
    /// A length field claims more bytes than remain (or than `limit` allows).
    case lengthOutOfBounds(offset: UInt64, what: String, length: UInt64, available: UInt64)
    /// Opcode 0x00, which MCAP declares invalid.
    case invalidOpcode(offset: UInt64)
    /// A record other than Header where the Header must be, and similar structural rules.
    case unexpectedRecord(offset: UInt64, found: String, expected: String)
    case invalidUTF8(offset: UInt64, field: String)
    /// A stored CRC (non-zero) differs from the CRC of the bytes it covers.
    case crcMismatch(offset: UInt64, what: String, stored: UInt32, computed: UInt32)
    /// A chunk uses a compression this build cannot decompress.
    case compressedChunk(offset: UInt64, compression: String)
    /// A chunk's decompressed size disagrees with its header.
    case chunkSizeMismatch(offset: UInt64, declared: UInt64, actual: UInt64)
    /// A message names a channel no earlier Channel record defined.
    case unknownChannel(offset: UInt64, channelID: UInt16)
    /// A message on a syncreplay topic whose protobuf payload does not decode.
    case eventDecode(offset: UInt64, topic: String, reason: String)
    /// A message on a topic that is not part of the syncreplay schema.
    case unknownTopic(offset: UInt64, topic: String)
    /// The Footer at the end of the file is missing or malformed.
    case badFooter(offset: UInt64, reason: String)
    /// The summary section (indexes) is inconsistent with the file.
    case badSummary(offset: UInt64, reason: String)
    /// Events out of order: sequence must strictly increase and log time never decrease.
    case outOfOrder(offset: UInt64, reason: String)
    /// A syncreplay trace from a newer format version than this build reads.
    case unsupportedFormatVersion(found: String, supported: Int)
    /// Writer misuse: events must be appended in non-decreasing log time.
    case timeWentBackwards(previous: UInt64, logTime: UInt64)
    /// Writer misuse: more than 2^32-1 events.
    case sequenceExhausted
    /// Writer misuse: `append`/`attach` after `finish`.
    case writerFinished

    public var description: String {
        switch self {
        case .io(let path, let reason): return "\(path): \(reason)"
        case .notMCAP(let found):
            let hex = found.map { String($0, radix: 16).leftPadded(2) }.joined(separator: " ")
            return "not an MCAP file: offset 0 should hold the magic 89 4d 43 41 50 30 0d 0a, found \(hex.isEmpty ? "nothing" : hex)"
        case .truncated(let o, let what): return "truncated at offset \(o): expected \(what)"
        case .lengthOutOfBounds(let o, let what, let len, let avail):
            return "\(what) at offset \(o) claims \(len) bytes but only \(avail) are available"
        case .invalidOpcode(let o): return "invalid opcode 0x00 at offset \(o)"
        case .unexpectedRecord(let o, let found, let expected):
            return "unexpected \(found) at offset \(o): expected \(expected)"
        case .invalidUTF8(let o, let field): return "\(field) at offset \(o) is not valid UTF-8"
        case .crcMismatch(let o, let what, let stored, let computed):
            return "\(what) CRC mismatch at offset \(o): stored \(hex32(stored)), computed \(hex32(computed))"
        case .compressedChunk(let o, let compression):
            return "compressed chunk (\(compression)) not supported at offset \(o); rewrite it uncompressed (mcap convert --compression none)"
        case .chunkSizeMismatch(let o, let declared, let actual):
            return "chunk at offset \(o) declares uncompressed_size \(declared) but holds \(actual) bytes"
        case .unknownChannel(let o, let id): return "message at offset \(o) names channel \(id), which no earlier Channel record defines"
        case .eventDecode(let o, let topic, let reason): return "\(topic) event at offset \(o) does not decode: \(reason)"
        case .unknownTopic(let o, let topic): return "message at offset \(o) is on topic \(topic), which is not a syncreplay topic"
        case .badFooter(let o, let reason): return "bad footer at offset \(o): \(reason)"
        case .badSummary(let o, let reason): return "bad summary at offset \(o): \(reason)"
        case .outOfOrder(let o, let reason): return "event at offset \(o) is out of order: \(reason)"
        case .unsupportedFormatVersion(let found, let supported):
            return "trace format_version \(found) is not supported (this build reads version \(supported)); upgrade syncreplay"
        case .timeWentBackwards(let prev, let t):
            return "log time \(t) is before the previous event's \(prev): events must be appended in non-decreasing time"
        case .sequenceExhausted: return "trace is full: sequence numbers (UInt32) exhausted"
        case .writerFinished: return "trace writer already finished"
        }
    }
}

func hex32(_ v: UInt32) -> String { "0x" + String(v, radix: 16, uppercase: true).leftPadded(8) }

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
