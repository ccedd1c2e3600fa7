/// The MCAP records of specs/mcap.md §2, as values. `content` encodes the fields in order;
/// `parse` reads the known fields and ignores trailing ones (§1: records may grow).

public struct MCAPHeader: Sendable, Equatable {
    public var profile: String
    public var library: String
    public init(profile: String, library: String) { self.profile = profile; self.library = library }

    var content: [UInt8] { var b = MCAPBuilder(); b.string(profile); b.string(library); return b.bytes }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPHeader {
        MCAPHeader(profile: try r.string("profile"), library: try r.string("library"))
    }
}

public struct MCAPFooter: Sendable, Equatable {
    public var summaryStart: UInt64
    public var summaryOffsetStart: UInt64
    public var summaryCRC: UInt32

    var content: [UInt8] { var b = MCAPBuilder(); b.u64(summaryStart); b.u64(summaryOffsetStart); b.u32(summaryCRC); return b.bytes }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPFooter {
        MCAPFooter(summaryStart: try r.u64("summary_start"), summaryOffsetStart: try r.u64("summary_offset_start"),
                   summaryCRC: try r.u32("summary_crc"))
    }
}

public struct MCAPSchema: Sendable, Equatable {
    public var id: UInt16
    public var name: String
    public var encoding: String
    public var data: [UInt8]
    public init(id: UInt16, name: String, encoding: String, data: [UInt8]) {
        self.id = id; self.name = name; self.encoding = encoding; self.data = data
    }

    var content: [UInt8] {
        var b = MCAPBuilder(capacity: data.count + 32)
        b.u16(id); b.string(name); b.string(encoding)
        b.u32(UInt32(truncatingIfNeeded: data.count)); b.raw(data)
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPSchema {
        MCAPSchema(id: try r.u16("id"), name: try r.string("name"), encoding: try r.string("encoding"),
                   data: Array(try r.u32Bytes("data")))
    }
}

public struct MCAPChannel: Sendable, Equatable {
    public var id: UInt16
    public var schemaID: UInt16
    public var topic: String
    public var messageEncoding: String
    public var metadata: [String: String]
    public init(id: UInt16, schemaID: UInt16, topic: String, messageEncoding: String, metadata: [String: String] = [:]) {
        self.id = id; self.schemaID = schemaID; self.topic = topic; self.messageEncoding = messageEncoding; self.metadata = metadata
    }

    var content: [UInt8] {
        var b = MCAPBuilder()
        b.u16(id); b.u16(schemaID); b.string(topic); b.string(messageEncoding)
        b.stringMap(metadata.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPChannel {
        let id = try r.u16("id"), schemaID = try r.u16("schema_id")
        let topic = try r.string("topic"), enc = try r.string("message_encoding")
        var meta: [String: String] = [:]
        for (k, v) in try r.stringMap("metadata") { meta[k] = v }
        return MCAPChannel(id: id, schemaID: schemaID, topic: topic, messageEncoding: enc, metadata: meta)
    }
}

/// A Message record's fixed fields; `data` is the rest of the record.
public struct MCAPMessage: Sendable, Equatable {
    public var channelID: UInt16
    public var sequence: UInt32
    public var logTime: UInt64
    public var publishTime: UInt64
    public var data: ArraySlice<UInt8>

    /// Appends the complete framed record to `out` without an intermediate copy.
    static func appendRecord(to out: inout [UInt8], channelID: UInt16, sequence: UInt32,
                             logTime: UInt64, publishTime: UInt64, data: [UInt8]) {
        var b = MCAPBuilder(capacity: 0)
        swap(&b.bytes, &out)
        b.u8(MCAPOpcode.message.rawValue)
        b.u64(UInt64(22 + data.count))
        b.u16(channelID); b.u32(sequence); b.u64(logTime); b.u64(publishTime)
        b.raw(data)
        swap(&b.bytes, &out)
    }

    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPMessage {
        MCAPMessage(channelID: try r.u16("channel_id"), sequence: try r.u32("sequence"),
                    logTime: try r.u64("log_time"), publishTime: try r.u64("publish_time"), data: r.rest())
    }
}

/// A Chunk record; `records` is the stored (possibly compressed) payload.
public struct MCAPChunk: Sendable {
    public var messageStartTime: UInt64
    public var messageEndTime: UInt64
    public var uncompressedSize: UInt64
    public var uncompressedCRC: UInt32
    public var compression: String
    public var records: ArraySlice<UInt8>
    /// Absolute offset of the first byte of `records`.
    public var recordsOffset: UInt64

    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPChunk {
        let start = try r.u64("message_start_time"), end = try r.u64("message_end_time")
        let size = try r.u64("uncompressed_size"), crc = try r.u32("uncompressed_crc")
        let compression = try r.string("compression")
        let records = try r.u64Bytes("records")
        return MCAPChunk(messageStartTime: start, messageEndTime: end, uncompressedSize: size, uncompressedCRC: crc,
                         compression: compression, records: records, recordsOffset: r.offset &- UInt64(records.count))
    }
}

public struct MCAPMessageIndex: Sendable, Equatable {
    public var channelID: UInt16
    /// (log_time, offset into the chunk's uncompressed records).
    public var entries: [(UInt64, UInt64)]

    public static func == (a: MCAPMessageIndex, b: MCAPMessageIndex) -> Bool {
        a.channelID == b.channelID && a.entries.elementsEqual(b.entries, by: { $0 == $1 })
    }

    var content: [UInt8] {
        var b = MCAPBuilder(capacity: 6 + 16 * entries.count)
        b.u16(channelID)
        b.u32(UInt32(truncatingIfNeeded: entries.count * 16))
        for (t, o) in entries { b.u64(t); b.u64(o) }
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPMessageIndex {
        let id = try r.u16("channel_id")
        let raw = try r.u32Bytes("records")
        var inner = MCAPFieldReader(raw, baseOffset: r.offset &- UInt64(raw.count), record: "Message Index")
        var entries = inner.timeOffsetPairs()
        while inner.remaining > 0 { entries.append((try inner.u64("log_time"), try inner.u64("offset"))) }
        return MCAPMessageIndex(channelID: id, entries: entries)
    }
}

public struct MCAPChunkIndex: Sendable, Equatable {
    public var messageStartTime: UInt64
    public var messageEndTime: UInt64
    public var chunkStartOffset: UInt64
    public var chunkLength: UInt64
    public var messageIndexOffsets: [UInt16: UInt64]
    public var messageIndexLength: UInt64
    public var compression: String
    public var compressedSize: UInt64
    public var uncompressedSize: UInt64

    var content: [UInt8] {
        var b = MCAPBuilder()
        b.u64(messageStartTime); b.u64(messageEndTime); b.u64(chunkStartOffset); b.u64(chunkLength)
        b.u16u64Map(messageIndexOffsets.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        b.u64(messageIndexLength); b.string(compression); b.u64(compressedSize); b.u64(uncompressedSize)
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPChunkIndex {
        let start = try r.u64("message_start_time"), end = try r.u64("message_end_time")
        let off = try r.u64("chunk_start_offset"), len = try r.u64("chunk_length")
        var offsets: [UInt16: UInt64] = [:]
        for (k, v) in try r.u16u64Map("message_index_offsets") { offsets[k] = v }
        return MCAPChunkIndex(messageStartTime: start, messageEndTime: end, chunkStartOffset: off, chunkLength: len,
                              messageIndexOffsets: offsets, messageIndexLength: try r.u64("message_index_length"),
                              compression: try r.string("compression"), compressedSize: try r.u64("compressed_size"),
                              uncompressedSize: try r.u64("uncompressed_size"))
    }
}

public struct MCAPAttachment: Sendable, Equatable {
    public var logTime: UInt64
    public var createTime: UInt64
    public var name: String
    public var mediaType: String
    public var data: [UInt8]
    /// Stored CRC (0 = not computed) and the CRC of the bytes it covers (§2.1).
    public var storedCRC: UInt32
    public var computedCRC: UInt32

    /// Content with the CRC computed over everything before the crc field (§2.1).
    var content: [UInt8] {
        var b = MCAPBuilder(capacity: data.count + 64)
        b.u64(logTime); b.u64(createTime); b.string(name); b.string(mediaType)
        b.u64(UInt64(data.count)); b.raw(data)
        b.u32(CRC32.checksum(b.bytes))
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPAttachment {
        let start = r.index
        let logTime = try r.u64("log_time"), create = try r.u64("create_time")
        let name = try r.string("name"), media = try r.string("media_type")
        let data = try r.u64Bytes("data")
        let computed = CRC32.checksum(r.content[start..<r.index])
        let stored = try r.u32("crc")
        return MCAPAttachment(logTime: logTime, createTime: create, name: name, mediaType: media, data: Array(data),
                              storedCRC: stored, computedCRC: computed)
    }
}

public struct MCAPAttachmentIndex: Sendable, Equatable {
    public var offset: UInt64
    public var length: UInt64
    public var logTime: UInt64
    public var createTime: UInt64
    public var dataSize: UInt64
    public var name: String
    public var mediaType: String

    var content: [UInt8] {
        var b = MCAPBuilder()
        b.u64(offset); b.u64(length); b.u64(logTime); b.u64(createTime); b.u64(dataSize)
        b.string(name); b.string(mediaType)
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPAttachmentIndex {
        MCAPAttachmentIndex(offset: try r.u64("offset"), length: try r.u64("length"), logTime: try r.u64("log_time"),
                            createTime: try r.u64("create_time"), dataSize: try r.u64("data_size"),
                            name: try r.string("name"), mediaType: try r.string("media_type"))
    }
}

public struct MCAPStatistics: Sendable, Equatable {
    public var messageCount: UInt64
    public var schemaCount: UInt16
    public var channelCount: UInt32
    public var attachmentCount: UInt32
    public var metadataCount: UInt32
    public var chunkCount: UInt32
    public var messageStartTime: UInt64
    public var messageEndTime: UInt64
    /// Empty means "not available" (§2).
    public var channelMessageCounts: [UInt16: UInt64]

    var content: [UInt8] {
        var b = MCAPBuilder()
        b.u64(messageCount); b.u16(schemaCount); b.u32(channelCount); b.u32(attachmentCount)
        b.u32(metadataCount); b.u32(chunkCount); b.u64(messageStartTime); b.u64(messageEndTime)
        b.u16u64Map(channelMessageCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPStatistics {
        let mc = try r.u64("message_count"), sc = try r.u16("schema_count"), cc = try r.u32("channel_count")
        let ac = try r.u32("attachment_count"), mdc = try r.u32("metadata_count"), chc = try r.u32("chunk_count")
        let st = try r.u64("message_start_time"), et = try r.u64("message_end_time")
        var counts: [UInt16: UInt64] = [:]
        for (k, v) in try r.u16u64Map("channel_message_counts") { counts[k] = v }
        return MCAPStatistics(messageCount: mc, schemaCount: sc, channelCount: cc, attachmentCount: ac, metadataCount: mdc,
                              chunkCount: chc, messageStartTime: st, messageEndTime: et, channelMessageCounts: counts)
    }
}

public struct MCAPMetadata: Sendable, Equatable {
    public var name: String
    /// Entries in file order (the writer sorts keys).
    public var entries: [String: String]
    public init(name: String, entries: [String: String]) { self.name = name; self.entries = entries }

    var content: [UInt8] {
        var b = MCAPBuilder()
        b.string(name)
        b.stringMap(entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        return b.bytes
    }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPMetadata {
        let name = try r.string("name")
        var entries: [String: String] = [:]
        for (k, v) in try r.stringMap("metadata") { entries[k] = v }
        return MCAPMetadata(name: name, entries: entries)
    }
}

public struct MCAPMetadataIndex: Sendable, Equatable {
    public var offset: UInt64
    public var length: UInt64
    public var name: String

    var content: [UInt8] { var b = MCAPBuilder(); b.u64(offset); b.u64(length); b.string(name); return b.bytes }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPMetadataIndex {
        MCAPMetadataIndex(offset: try r.u64("offset"), length: try r.u64("length"), name: try r.string("name"))
    }
}

public struct MCAPSummaryOffset: Sendable, Equatable {
    public var groupOpcode: UInt8
    public var groupStart: UInt64
    public var groupLength: UInt64

    var content: [UInt8] { var b = MCAPBuilder(); b.u8(groupOpcode); b.u64(groupStart); b.u64(groupLength); return b.bytes }
    static func parse(_ r: inout MCAPFieldReader) throws -> MCAPSummaryOffset {
        MCAPSummaryOffset(groupOpcode: try r.u8("group_opcode"), groupStart: try r.u64("group_start"),
                          groupLength: try r.u64("group_length"))
    }
}

/// One parsed record of any kind.
public enum MCAPRecord: Sendable {
    case header(MCAPHeader)
    case footer(MCAPFooter)
    case schema(MCAPSchema)
    case channel(MCAPChannel)
    case message(MCAPMessage)
    case chunk(MCAPChunk)
    case messageIndex(MCAPMessageIndex)
    case chunkIndex(MCAPChunkIndex)
    case attachment(MCAPAttachment)
    case attachmentIndex(MCAPAttachmentIndex)
    case statistics(MCAPStatistics)
    case metadata(MCAPMetadata)
    case metadataIndex(MCAPMetadataIndex)
    case summaryOffset(MCAPSummaryOffset)
    /// data_section_crc (0 = not computed).
    case dataEnd(UInt32)
    /// Reserved or private opcode: skipped as §1 requires.
    case unknown(opcode: UInt8)

    /// The record's opcode byte, so its name comes from `MCAPOpcode` alone.
    public var opcode: UInt8 {
        let op: MCAPOpcode
        switch self {
        case .unknown(let raw): return raw
        case .header: op = .header
        case .footer: op = .footer
        case .schema: op = .schema
        case .channel: op = .channel
        case .message: op = .message
        case .chunk: op = .chunk
        case .messageIndex: op = .messageIndex
        case .chunkIndex: op = .chunkIndex
        case .attachment: op = .attachment
        case .attachmentIndex: op = .attachmentIndex
        case .statistics: op = .statistics
        case .metadata: op = .metadata
        case .metadataIndex: op = .metadataIndex
        case .summaryOffset: op = .summaryOffset
        case .dataEnd: op = .dataEnd
        }
        return op.rawValue
    }

    /// Parses one record's content. `contentOffset` is the absolute offset of its first byte.
    static func parse(opcode: UInt8, content: ArraySlice<UInt8>, contentOffset: UInt64) throws -> MCAPRecord {
        guard let op = MCAPOpcode(rawValue: opcode) else { return .unknown(opcode: opcode) }
        var r = MCAPFieldReader(content, baseOffset: contentOffset, record: op.name)
        switch op {
        case .header: return .header(try .parse(&r))
        case .footer: return .footer(try .parse(&r))
        case .schema: return .schema(try .parse(&r))
        case .channel: return .channel(try .parse(&r))
        case .message: return .message(try .parse(&r))
        case .chunk: return .chunk(try .parse(&r))
        case .messageIndex: return .messageIndex(try .parse(&r))
        case .chunkIndex: return .chunkIndex(try .parse(&r))
        case .attachment: return .attachment(try .parse(&r))
        case .attachmentIndex: return .attachmentIndex(try .parse(&r))
        case .statistics: return .statistics(try .parse(&r))
        case .metadata: return .metadata(try .parse(&r))
        case .metadataIndex: return .metadataIndex(try .parse(&r))
        case .summaryOffset: return .summaryOffset(try .parse(&r))
        case .dataEnd: return .dataEnd(try r.u32("data_section_crc"))
        }
    }
}
