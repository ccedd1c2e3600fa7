/// Format constants of a syncreplay trace (DESIGN.md §2).
public enum SyncTraceFormat {
    /// MCAP profile written into the Header record.
    public static let profile = "syncreplay"
    /// Header.library: constant per format version, so simulated traces are byte-reproducible.
    public static let library = "syncreplay SyncTrace 1"
    /// Name of the Metadata record written right after the Header.
    public static let metadataName = "syncreplay"
    /// Key of the format version in that Metadata record.
    public static let formatVersionKey = "format_version"
    /// The event schema version this build writes and reads.
    public static let formatVersion = 1
}

/// Attachment conventions. The pivot-hint file travels as an attachment named `pivot-hint.bin`
/// (media type `application/x-conflux-pivot-hint`); its checksum (the one `--hint-checksum`
/// takes, hex) is stored in the trace's `syncreplay` Metadata record under
/// `pivot_hint_checksum`, so a replay can verify the attachment before using it.
public enum TraceAttachmentName {
    public static let pivotHint = "pivot-hint.bin"
    public static let pivotHintMediaType = "application/x-conflux-pivot-hint"
    public static let pivotHintChecksumKey = "pivot_hint_checksum"
    /// Metadata key: the recording goes on after the node switched to consensus, for this long
    /// (a duration like `5s`; syncsim's `[node] after_switch`). Replay then keeps running after
    /// the switch up to the recording's end (`AfterSwitch.runEnd`); without it replay stops at the switch.
    public static let afterSwitchKey = "after_switch"
    /// Metadata key: `false` when the node under test ran with blocksync disabled (it serves
    /// blocks and status but never syncs, specs/cometbft-blocksync.md §3.1); replay starts the
    /// machine the same way (`NodeStart.blocksyncOption`).
    public static let blocksyncKey = "blocksync"
    /// Metadata key: the node ran with settings the originals' tests override, not faithful to
    /// any version (`peer_timeout=2s,switch_check_interval=50ms`; syncsim's `[test_overrides]`,
    /// specs/cometbft-blocksync.md §2.5, §3.4, §7); replay applies them (`NodeStart.testOverrides`).
    public static let testOverridesKey = "test_overrides"
}

/// Writes a syncreplay trace: an MCAP file with profile `syncreplay`, a `syncreplay` Metadata
/// record holding `format_version` (and the caller's metadata), five protobuf channels with
/// their FileDescriptorSet schema, and events in uncompressed, CRC-checked, indexed chunks.
///
/// Events get `sequence` 1, 2, 3… in append order (0 is MCAP's "no sequence") and must come
/// in non-decreasing `logTime` (nanoseconds of virtual time). Chunks are written as soon as
/// they fill, so an interrupted capture keeps every complete chunk; call `finish()` to write
/// the summary and footer.
public final class TraceWriter {
    /// Default chunk payload size. Smaller chunks lose less on a crash; larger ones index less.
    public static let defaultChunkSize = 256 * 1024

    private let writer: MCAPWriter
    private var nextSequence: UInt32 = 1
    private var lastLogTime: UInt64 = 0
    private var finished = false

    /// Events appended so far.
    public var eventCount: Int { Int(nextSequence &- 1) }
    /// Bytes written to the sink so far.
    public var bytesWritten: UInt64 { writer.bytesWritten }

    /// Creates (or replaces) the trace at `path`. `metadata` joins `format_version` in the
    /// `syncreplay` Metadata record (e.g. scenario name, seed, pivot_hint_checksum).
    public convenience init(path: String, metadata: [String: String] = [:], chunkSize: Int = TraceWriter.defaultChunkSize) throws {
        try self.init(sink: try MCAPFileSink(path: path), metadata: metadata, chunkSize: chunkSize)
    }

    /// Writes to any sink, e.g. `MCAPMemorySink` for fixtures.
    public init(sink: any MCAPSink, metadata: [String: String] = [:], chunkSize: Int = TraceWriter.defaultChunkSize) throws {
        writer = try MCAPWriter(sink: sink, header: MCAPHeader(profile: SyncTraceFormat.profile, library: SyncTraceFormat.library),
                                chunkSize: chunkSize)
        var entries = metadata
        entries[SyncTraceFormat.formatVersionKey] = String(SyncTraceFormat.formatVersion)
        try writer.addMetadata(MCAPMetadata(name: SyncTraceFormat.metadataName, entries: entries))
        for topic in TraceTopic.allCases {
            try writer.addSchema(MCAPSchema(id: topic.channelID, name: topic.schemaName, encoding: TraceSchema.encoding,
                                            data: TraceSchema.fileDescriptorSet))
        }
        for topic in TraceTopic.allCases {
            try writer.addChannel(MCAPChannel(id: topic.channelID, schemaID: topic.channelID, topic: topic.rawValue,
                                              messageEncoding: TraceSchema.encoding))
        }
    }

    /// Appends one event at `logTime` (ns) and returns its sequence number.
    @discardableResult
    public func append(_ event: TraceEvent, logTime: UInt64) throws -> UInt32 {
        if finished { throw TraceError.writerFinished }
        guard logTime >= lastLogTime else { throw TraceError.timeWentBackwards(previous: lastLogTime, logTime: logTime) }
        guard nextSequence != 0 else { throw TraceError.sequenceExhausted }
        let sequence = nextSequence
        try writer.addMessage(channelID: event.topic.channelID, sequence: sequence, logTime: logTime,
                              publishTime: logTime, data: event.encode())
        lastLogTime = logTime
        nextSequence = sequence &+ 1  // wraps to 0 after UInt32.max: the next append throws
        return sequence
    }

    /// Stores a file (genesis, pivot-hint file, provenance) as a top-level Attachment.
    public func attach(name: String, mediaType: String, data: [UInt8]) throws {
        if finished { throw TraceError.writerFinished }
        try writer.addAttachment(name: name, mediaType: mediaType, data: data, logTime: lastLogTime)
    }

    /// Adds another Metadata record (the `syncreplay` record is written by `init`).
    public func addMetadata(name: String, _ entries: [String: String]) throws {
        if finished { throw TraceError.writerFinished }
        try writer.addMetadata(MCAPMetadata(name: name, entries: entries))
    }

    /// Writes the open chunk now (bounds what a crash can lose).
    public func flush() throws {
        if finished { throw TraceError.writerFinished }
        try writer.flushChunk()
    }

    /// Writes the last chunk, the summary, the footer; fsyncs. The writer is then closed.
    public func finish() throws {
        if finished { throw TraceError.writerFinished }
        finished = true
        try writer.finish()
    }
}
