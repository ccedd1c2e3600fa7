/// One stored event: its global order, its virtual time (ns) and the decoded event.
public struct TraceEntry: Sendable, Equatable, Hashable {
    public var sequence: UInt32
    public var logTime: UInt64
    public var event: TraceEvent
    public init(sequence: UInt32, logTime: UInt64, event: TraceEvent) {
        self.sequence = sequence; self.logTime = logTime; self.event = event
    }
}

/// Reads a syncreplay trace.
///
/// - `events()` streams every event in file order (= replay order) with memory constant in the
///   trace's length (one chunk at a time), verifying chunk CRCs, the data-section CRC and the
///   trailing Footer; a damaged trace yields its intact prefix and then throws.
/// - `events(fromTime:)` / `events(fromSequence:)` seek through the summary's Chunk Indexes
///   and stream from the first chunk that can hold the target; without a usable summary they
///   fall back to a filtered linear scan.
///
/// Events must have strictly increasing sequence and non-decreasing log time; a stream that
/// breaks this throws `outOfOrder`. Messages on topics outside the schema throw `unknownTopic`.
public final class TraceReader {
    public let source: any MCAPByteSource
    public let header: MCAPHeader
    /// Metadata records that precede the first chunk (where `TraceWriter` puts them).
    public let metadata: [MCAPMetadata]
    /// The index, when the file has an intact one.
    public let summary: MCAPSummary?
    /// Why the index could not be used (nil when it could, or the file has none by design).
    public let summaryError: TraceError?

    public convenience init(path: String) throws {
        try self.init(source: try MCAPFileSource(path: path))
    }

    public convenience init(bytes: [UInt8]) throws {
        try self.init(source: MCAPMemorySource(bytes))
    }

    public init(source: any MCAPByteSource) throws {
        self.source = source
        var scanner = try MCAPScanner(source: source)
        guard let first = try scanner.next() else {
            throw TraceError.truncated(offset: 8, expected: "the Header record")
        }
        guard case .header(let header) = first.record else {
            throw TraceError.unexpectedRecord(offset: first.offset, found: MCAPOpcode.name(of: first.opcode), expected: "Header")
        }
        self.header = header
        var metadata: [MCAPMetadata] = []
        scan: while let scanned = try? scanner.next() {
            switch scanned.record {
            case .metadata(let m): metadata.append(m)
            case .chunk, .message, .dataEnd, .footer: break scan
            default: continue
            }
        }
        self.metadata = metadata
        do {
            summary = try MCAPSummary.load(from: source)
            summaryError = nil
        } catch let error as TraceError {
            summary = nil
            summaryError = error
        }
        if header.profile == SyncTraceFormat.profile, let v = formatVersion, (Int(v) ?? Int.max) > SyncTraceFormat.formatVersion {
            throw TraceError.unsupportedFormatVersion(found: v, supported: SyncTraceFormat.formatVersion)
        }
    }

    /// True for files with the `syncreplay` profile.
    public var isSyncReplayTrace: Bool { header.profile == SyncTraceFormat.profile }

    /// `format_version` from the `syncreplay` Metadata record.
    public var formatVersion: String? {
        metadata.first { $0.name == SyncTraceFormat.metadataName }?.entries[SyncTraceFormat.formatVersionKey]
    }

    /// Entries of the `syncreplay` Metadata record (format version and writer-supplied keys).
    public var traceMetadata: [String: String] {
        metadata.first { $0.name == SyncTraceFormat.metadataName }?.entries ?? [:]
    }

    /// Streams every event from the start of the file. With `readingAhead`, a worker thread
    /// reads the file and checks chunk CRCs ahead of the stream (`MCAPScanAhead`: the same
    /// events and errors, in the same order); by default it does when more than one core is
    /// available (`SYNCREPLAY_READ_AHEAD` = `0`/`1` overrides) and the file is 4 MiB or more.
    public func events(readingAhead: Bool? = nil) throws -> TraceEventStream {
        var scanner = try MCAPScanner(source: source)
        if readingAhead ?? Self.readsAhead(size: source.size) { scanner.readAhead() }
        return TraceEventStream(walker: MCAPWalker(scanner: scanner), channels: [:], stopAtDataEnd: false)
    }

    /// Whether `events()` reads a file of `size` bytes ahead by default.
    public static func readsAhead(size: UInt64) -> Bool {
        size >= MCAPScanAhead.minimumSize && MCAPScanAhead.isEnabledByDefault
    }

    /// Streams events with `logTime >= time`, seeking through the chunk index.
    public func events(fromTime time: UInt64) throws -> TraceEventStream {
        guard let summary, !summary.chunkIndexes.isEmpty else {
            var s = try events(); s.minTime = time; return s
        }
        guard let start = summary.chunkIndexes.first(where: { $0.messageEndTime >= time }) else {
            return TraceEventStream(walker: MCAPWalker(scanner: MCAPScanner(source: source, at: source.size)), channels: [:], stopAtDataEnd: true, ended: true)
        }
        var s = indexedStream(at: start.chunkStartOffset, summary: summary)
        s.minTime = time
        return s
    }

    /// Streams events with `sequence >= sequence`, binary-searching chunks by their first
    /// message's sequence (chunks are in sequence order, since file order is sequence order).
    public func events(fromSequence sequence: UInt32) throws -> TraceEventStream {
        guard let summary, !summary.chunkIndexes.isEmpty else {
            var s = try events(); s.minSequence = sequence; return s
        }
        let chunks = summary.chunkIndexes
        var lo = 0, hi = chunks.count - 1, best = 0
        while lo <= hi {
            let mid = (lo + hi) / 2
            if let first = try firstSequence(in: chunks[mid]), first <= sequence {
                best = mid; lo = mid + 1
            } else {
                hi = mid - 1
            }
        }
        var s = indexedStream(at: chunks[best].chunkStartOffset, summary: summary)
        s.minSequence = sequence
        return s
    }

    /// Calls `body` with every event in order, streaming (constant memory); stops at the
    /// first damage by throwing, after `body` has seen the intact prefix.
    public func forEach(_ body: (TraceEntry) throws -> Void) throws {
        var stream = try events()
        while let entry = try stream.next() { try body(entry) }
    }

    /// Every event, in order (convenience for small traces and tests).
    public func readAll() throws -> [TraceEntry] {
        var stream = try events()
        var out: [TraceEntry] = []
        while let e = try stream.next() { out.append(e) }
        return out
    }

    /// The file's attachments (through the index when present, else by scanning).
    public func attachments() throws -> [MCAPAttachment] {
        if let summary {
            return try summary.attachmentIndexes.map { index in
                guard case .attachment(let a) = try MCAPSummary.readRecord(from: source, offset: index.offset, length: index.length, expected: .attachment) else {
                    throw TraceError.badSummary(offset: index.offset, reason: "Attachment Index does not point at an Attachment")
                }
                return a
            }
        }
        var scanner = try MCAPScanner(source: source)
        var out: [MCAPAttachment] = []
        while let r = try scanner.next() {
            if case .attachment(let a) = r.record { out.append(a) }
        }
        return out
    }

    /// The event whose Message record starts at `offset` (`TraceEventStream.lastOffset`), read
    /// again from `source`; `topic` is its channel's. Throws when no Message record is there.
    public static func event(in source: any MCAPByteSource, atOffset offset: UInt64, topic: TraceTopic) throws -> TraceEntry {
        let prefix = try source.read(at: offset, count: 9)
        guard prefix.count == 9 else { throw TraceError.truncated(offset: offset, expected: "a 9-byte record prefix") }
        var content: UInt64 = 0
        for k in 0..<8 { content |= UInt64(prefix[1 + k]) << UInt64(8 * k) }
        guard content <= source.size, offset <= source.size - content, source.size - offset - content >= 9 else {
            throw TraceError.truncated(offset: offset, expected: "a record of \(content) bytes")
        }
        guard case .message(let m) = try MCAPSummary.readRecord(from: source, offset: offset, length: content + 9, expected: .message) else {
            throw TraceError.unexpectedRecord(offset: offset, found: MCAPOpcode.name(of: prefix[0]), expected: "Message")
        }
        do {
            return TraceEntry(sequence: m.sequence, logTime: m.logTime, event: try TraceEvent.decode(topic: topic, m.data))
        } catch {
            throw TraceError.eventDecode(offset: offset &+ 31, topic: topic.rawValue, reason: String(describing: error))
        }
    }

    private func indexedStream(at offset: UInt64, summary: MCAPSummary) -> TraceEventStream {
        var channels: [UInt16: MCAPChannel] = [:]
        for c in summary.channels { channels[c.id] = c }
        return TraceEventStream(walker: MCAPWalker(scanner: MCAPScanner(source: source, at: offset)), channels: channels, stopAtDataEnd: true)
    }

    private func firstSequence(in index: MCAPChunkIndex) throws -> UInt32? {
        var walker = MCAPWalker(scanner: MCAPScanner(source: source, at: index.chunkStartOffset))
        guard let first = try walker.next(), case .topLevel(let r) = first, case .chunk = r.record else {
            throw TraceError.badSummary(offset: index.chunkStartOffset, reason: "Chunk Index does not point at a Chunk")
        }
        while let item = try walker.next() {
            guard case .inChunk(_, _, let record) = item else { return nil }
            if case .message(let m) = record { return m.sequence }
        }
        return nil
    }
}

/// A stream of decoded events; call `next()` until it returns nil. Holds one chunk at a time.
public struct TraceEventStream {
    /// Not optional, so that each step reads it in place (an Optional walker costs a tag check
    /// on every access); `ended` says the stream is over.
    private var walker: MCAPWalker
    private var ended: Bool
    private var channels: [UInt16: MCAPChannel]
    private let stopAtDataEnd: Bool
    var minTime: UInt64 = 0
    var minSequence: UInt32 = 0
    private var last: (sequence: UInt32, logTime: UInt64)?
    /// The last message's channel and topic (consecutive messages usually share a channel).
    private var cachedChannel: (id: UInt16, topic: TraceTopic?) = (0, nil)
    /// File offset of the Message record of the event `next()` returned last
    /// (`TraceReader.event(in:atOffset:topic:)` reads it again).
    public private(set) var lastOffset: UInt64 = 0
    /// The peer ids seen so far, so each event shares one String per peer.
    private var peerIDs = TracePeerIDs()

    init(walker: MCAPWalker, channels: [UInt16: MCAPChannel], stopAtDataEnd: Bool, ended: Bool = false) {
        self.walker = walker
        self.ended = ended
        self.channels = channels
        self.stopAtDataEnd = stopAtDataEnd
    }

    /// True while a worker reads the file ahead of this stream (`TraceReader.events(readingAhead:)`).
    public var isReadingAhead: Bool { walker.scanner.isReadingAhead }

    /// The next event, nil at the end of the trace; throws at the first damage.
    public mutating func next() throws -> TraceEntry? {
        guard !ended else { return nil }
        do {
            if let entry = try advance() { return entry }
        } catch {
            ended = true  // after an error the stream stays ended
            throw error
        }
        ended = true
        return nil
    }

    /// Walks to the next event in place (the walker and its chunk are never copied); inlined
    /// into `next()` so the entry is built where it is returned.
    @inline(__always)
    private mutating func advance() throws -> TraceEntry? {
        while true {
            if let found = walker.nextChunkMessage() {
                guard let topic = try admit(channelID: found.channelID, sequence: found.sequence, logTime: found.logTime, at: found.offset) else { continue }
                let event: TraceEvent
                if topic == .blocksync, let quick = TraceEvent.quickBlocksync(in: walker.records, found.data, peerIDs: &peerIDs) {
                    event = .blocksync(quick)
                } else {
                    event = try decode(topic, walker.chunkData(found.data), at: found.offset)
                }
                lastOffset = found.offset
                return TraceEntry(sequence: found.sequence, logTime: found.logTime, event: event)
            }
            guard let item = try walker.next() else { return nil }
            let offset: UInt64, record: MCAPRecord
            switch item {
            case .topLevel(let r): offset = r.offset; record = r.record
            case .inChunk(let o, _, let r): offset = o; record = r
            }
            switch record {
            case .channel(let c):
                channels[c.id] = c
                if c.id == cachedChannel.id { cachedChannel = (0, nil) }
            case .dataEnd(let stored):
                if stopAtDataEnd { return nil }
                if stored != 0, let computed = walker.scanner.dataSectionCRC, computed != stored {
                    throw TraceError.crcMismatch(offset: offset, what: "data section", stored: stored, computed: computed)
                }
            case .message(let m):
                guard let topic = try admit(channelID: m.channelID, sequence: m.sequence, logTime: m.logTime, at: offset) else { continue }
                let event = try decode(topic, m.data, at: offset)
                lastOffset = offset
                return TraceEntry(sequence: m.sequence, logTime: m.logTime, event: event)
            default: continue
            }
        }
    }

    /// The topic of the Message record at `offset` after checking its channel and order, or nil
    /// when it is before the start point.
    private mutating func admit(channelID: UInt16, sequence: UInt32, logTime: UInt64, at offset: UInt64) throws -> TraceTopic? {
        let topic: TraceTopic
        if channelID == cachedChannel.id, let cached = cachedChannel.topic {
            topic = cached
        } else {
            guard let channel = channels[channelID] else {
                throw TraceError.unknownChannel(offset: offset, channelID: channelID)
            }
            guard let t = TraceTopic(rawValue: channel.topic) else {
                throw TraceError.unknownTopic(offset: offset, topic: channel.topic)
            }
            topic = t
            cachedChannel = (channelID, t)
        }
        if let last {
            guard sequence > last.sequence else {
                throw TraceError.outOfOrder(offset: offset, reason: "sequence \(sequence) after \(last.sequence)")
            }
            guard logTime >= last.logTime else {
                throw TraceError.outOfOrder(offset: offset, reason: "log time \(logTime) after \(last.logTime)")
            }
        }
        last = (sequence, logTime)
        guard logTime >= minTime, sequence >= minSequence else { return nil }
        return topic
    }

    /// The event in the data of the Message record at `offset`.
    private mutating func decode(_ topic: TraceTopic, _ data: ArraySlice<UInt8>, at offset: UInt64) throws -> TraceEvent {
        do { return try TraceEvent.decode(topic: topic, data, peerIDs: &peerIDs) } catch {
            throw TraceError.eventDecode(offset: offset &+ 31, topic: topic.rawValue, reason: String(describing: error))
        }
    }
}
