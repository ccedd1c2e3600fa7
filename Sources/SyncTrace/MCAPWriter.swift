import Foundation

/// Where an `MCAPWriter` puts its bytes: a file, or memory (fixtures, tests).
public protocol MCAPSink: AnyObject {
    func write(_ bytes: [UInt8]) throws
    /// Makes everything written so far durable (fsync for files).
    func synchronize() throws
}

/// An in-memory sink (fixture builders, tests, benchmarks).
public final class MCAPMemorySink: MCAPSink {
    public private(set) var bytes: [UInt8] = []
    public init() {}
    public func write(_ bytes: [UInt8]) throws { self.bytes.append(contentsOf: bytes) }
    public func synchronize() throws {}
}

/// A file sink. Creates (or truncates) the file; every `write` reaches the OS at once (no
/// user-space buffer), so a crash loses at most the writer's open chunk.
public final class MCAPFileSink: MCAPSink {
    private let handle: FileHandle
    public let path: String

    public init(path: String) throws {
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw TraceError.io(path: path, reason: "cannot create file")
        }
        self.handle = handle
        self.path = path
    }

    public func write(_ bytes: [UInt8]) throws {
        do { try handle.write(contentsOf: bytes) } catch {
            throw TraceError.io(path: path, reason: "write failed: \(error.localizedDescription)")
        }
    }

    public func synchronize() throws {
        do { try handle.synchronize() } catch {
            throw TraceError.io(path: path, reason: "fsync failed: \(error.localizedDescription)")
        }
    }

    deinit { try? handle.close() }
}

/// A crash-safe, append-only MCAP writer (specs/mcap.md §7 "Crash-safe writer").
///
/// Magic and Header are written at once; Schemas, Channels, Attachments and Metadata go
/// straight to the data section as they are added; messages collect in an uncompressed chunk
/// that is written — Chunk and its Message Indexes in one `write` — as soon as it reaches
/// `chunkSize`. Nothing is ever patched, so a file cut at any byte keeps every complete
/// chunk. `finish()` writes DataEnd (with the data-section CRC), the summary (Schema, Channel,
/// Statistics, Chunk Index, Attachment Index, Metadata Index groups), Summary Offsets, the
/// Footer with its summary CRC, and the trailing magic.
public final class MCAPWriter {
    public let sink: any MCAPSink
    public let chunkSize: Int
    /// Write the summary section and summary offsets (off only to produce summary-less files in tests).
    public let writeSummary: Bool

    private var position: UInt64 = 0
    private var dataCRC = CRC32()
    private var finished = false

    private var schemas: [MCAPSchema] = []
    private var channels: [MCAPChannel] = []
    private var chunkIndexes: [MCAPChunkIndex] = []
    private var attachmentIndexes: [MCAPAttachmentIndex] = []
    private var metadataIndexes: [MCAPMetadataIndex] = []
    private var messageCount: UInt64 = 0
    private var channelCounts: [UInt16: UInt64] = [:]
    private var firstTime: UInt64 = 0
    private var lastTime: UInt64 = 0

    // The open chunk.
    private var chunkRecords: [UInt8] = []
    private var chunkIndex: [UInt16: [(UInt64, UInt64)]] = [:]
    private var chunkStart: UInt64 = 0
    private var chunkEnd: UInt64 = 0

    public init(sink: any MCAPSink, header: MCAPHeader, chunkSize: Int = 256 * 1024, writeSummary: Bool = true) throws {
        self.sink = sink
        self.chunkSize = max(1, chunkSize)
        self.writeSummary = writeSummary
        chunkRecords.reserveCapacity(self.chunkSize + 1024)
        try emit(MCAP.magic + MCAPBuilder.record(.header, header.content), data: true)
    }

    /// Bytes written so far.
    public var bytesWritten: UInt64 { position }

    private func emit(_ bytes: [UInt8], data: Bool) throws {
        if data { dataCRC.update(bytes) }
        try sink.write(bytes)
        position &+= UInt64(bytes.count)
    }

    private func checkOpen() throws { if finished { throw TraceError.writerFinished } }

    /// Adds a Schema (top level, written at once). Ids must be non-zero and unique.
    public func addSchema(_ schema: MCAPSchema) throws {
        try checkOpen()
        schemas.append(schema)
        try emit(MCAPBuilder.record(.schema, schema.content), data: true)
    }

    /// Adds a Channel (top level, written at once); its schema must have been added.
    public func addChannel(_ channel: MCAPChannel) throws {
        try checkOpen()
        channels.append(channel)
        try emit(MCAPBuilder.record(.channel, channel.content), data: true)
    }

    /// Appends a message to the open chunk, writing the chunk once it is full.
    public func addMessage(channelID: UInt16, sequence: UInt32, logTime: UInt64, publishTime: UInt64, data: [UInt8]) throws {
        try checkOpen()
        let offset = UInt64(chunkRecords.count)
        if chunkIndex.isEmpty {
            chunkStart = logTime; chunkEnd = logTime
        } else {
            chunkStart = min(chunkStart, logTime); chunkEnd = max(chunkEnd, logTime)
        }
        chunkIndex[channelID, default: []].append((logTime, offset))
        MCAPMessage.appendRecord(to: &chunkRecords, channelID: channelID, sequence: sequence,
                                 logTime: logTime, publishTime: publishTime, data: data)
        if messageCount == 0 { firstTime = logTime; lastTime = logTime } else {
            firstTime = min(firstTime, logTime); lastTime = max(lastTime, logTime)
        }
        messageCount &+= 1
        channelCounts[channelID, default: 0] &+= 1
        if chunkRecords.count >= chunkSize { try flushChunk() }
    }

    /// Writes the open chunk (if it holds messages) with its Message Indexes in one write.
    public func flushChunk() throws {
        guard !chunkIndex.isEmpty else { return }
        let chunkOffset = position
        var chunk = MCAPBuilder(capacity: chunkRecords.count + 64)
        chunk.u8(MCAPOpcode.chunk.rawValue)
        chunk.u64(UInt64(40 + chunkRecords.count))
        chunk.u64(chunkStart); chunk.u64(chunkEnd)
        chunk.u64(UInt64(chunkRecords.count))
        chunk.u32(CRC32.checksum(chunkRecords))
        chunk.string("")
        chunk.u64(UInt64(chunkRecords.count))
        chunk.raw(chunkRecords)
        let chunkLength = UInt64(chunk.bytes.count)
        var offsets: [UInt16: UInt64] = [:]
        var indexOffset = chunkOffset &+ chunkLength
        for id in chunkIndex.keys.sorted() {
            let record = MCAPBuilder.record(.messageIndex, MCAPMessageIndex(channelID: id, entries: chunkIndex[id] ?? []).content)
            offsets[id] = indexOffset
            indexOffset &+= UInt64(record.count)
            chunk.raw(record)
        }
        let compressedSize = UInt64(chunkRecords.count)
        try emit(chunk.bytes, data: true)
        chunkIndexes.append(MCAPChunkIndex(
            messageStartTime: chunkStart, messageEndTime: chunkEnd, chunkStartOffset: chunkOffset,
            chunkLength: chunkLength, messageIndexOffsets: offsets,
            messageIndexLength: UInt64(chunk.bytes.count) &- chunkLength,
            compression: "", compressedSize: compressedSize, uncompressedSize: compressedSize))
        chunkRecords.removeAll(keepingCapacity: true)
        chunkIndex.removeAll(keepingCapacity: true)
    }

    /// Writes an Attachment at top level (never inside a chunk, §2).
    public func addAttachment(name: String, mediaType: String, data: [UInt8], logTime: UInt64 = 0, createTime: UInt64 = 0) throws {
        try checkOpen()
        let attachment = MCAPAttachment(logTime: logTime, createTime: createTime, name: name, mediaType: mediaType,
                                        data: data, storedCRC: 0, computedCRC: 0)
        let record = MCAPBuilder.record(.attachment, attachment.content)
        attachmentIndexes.append(MCAPAttachmentIndex(offset: position, length: UInt64(record.count), logTime: logTime,
                                                     createTime: createTime, dataSize: UInt64(data.count),
                                                     name: name, mediaType: mediaType))
        try emit(record, data: true)
    }

    /// Writes a Metadata record at top level.
    public func addMetadata(_ metadata: MCAPMetadata) throws {
        try checkOpen()
        let record = MCAPBuilder.record(.metadata, metadata.content)
        metadataIndexes.append(MCAPMetadataIndex(offset: position, length: UInt64(record.count), name: metadata.name))
        try emit(record, data: true)
    }

    /// Flushes the last chunk and writes DataEnd, summary, summary offsets, Footer and magic.
    public func finish() throws {
        try checkOpen()
        try flushChunk()
        finished = true
        var end = MCAPBuilder(); end.u32(dataCRC.value)
        try emit(MCAPBuilder.record(.dataEnd, end.bytes), data: false)

        var tail: [UInt8] = []
        var summaryStart: UInt64 = 0, summaryOffsetStart: UInt64 = 0
        if writeSummary {
            summaryStart = position
            var groups: [MCAPSummaryOffset] = []
            func group(_ op: MCAPOpcode, _ contents: [[UInt8]]) {
                guard !contents.isEmpty else { return }
                let start = summaryStart &+ UInt64(tail.count)
                for c in contents { tail.append(contentsOf: MCAPBuilder.record(op, c)) }
                groups.append(MCAPSummaryOffset(groupOpcode: op.rawValue, groupStart: start,
                                                groupLength: summaryStart &+ UInt64(tail.count) &- start))
            }
            let stats = MCAPStatistics(
                messageCount: messageCount, schemaCount: UInt16(truncatingIfNeeded: schemas.count),
                channelCount: UInt32(truncatingIfNeeded: channels.count),
                attachmentCount: UInt32(truncatingIfNeeded: attachmentIndexes.count),
                metadataCount: UInt32(truncatingIfNeeded: metadataIndexes.count),
                chunkCount: UInt32(truncatingIfNeeded: chunkIndexes.count),
                messageStartTime: firstTime, messageEndTime: lastTime,
                channelMessageCounts: channelCounts)
            group(.schema, schemas.map(\.content))
            group(.channel, channels.map(\.content))
            group(.statistics, [stats.content])
            group(.chunkIndex, chunkIndexes.map(\.content))
            group(.attachmentIndex, attachmentIndexes.map(\.content))
            group(.metadataIndex, metadataIndexes.map(\.content))
            if tail.isEmpty { summaryStart = 0 }
            if !groups.isEmpty {
                summaryOffsetStart = summaryStart &+ UInt64(tail.count)
                for g in groups { tail.append(contentsOf: MCAPBuilder.record(.summaryOffset, g.content)) }
            }
        }
        var footer = MCAPBuilder()
        footer.u8(MCAPOpcode.footer.rawValue); footer.u64(20)
        footer.u64(summaryStart); footer.u64(summaryOffsetStart)
        tail.append(contentsOf: footer.bytes)
        var crc = CRC32(); crc.update(tail)
        var last = MCAPBuilder(); last.u32(crc.value); last.raw(MCAP.magic)
        tail.append(contentsOf: last.bytes)
        try emit(tail, data: false)
        try sink.synchronize()
    }
}
