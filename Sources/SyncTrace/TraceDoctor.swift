import ProtoWire
/// One finding of `TraceDoctor`.
public struct TraceProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    public var severity: Severity
    /// Absolute file offset the problem is about.
    public var offset: UInt64
    public var message: String
    public var description: String { "\(severity.rawValue) at offset \(offset): \(message)" }

    public init(severity: Severity, offset: UInt64, message: String) {
        self.severity = severity
        self.offset = offset
        self.message = message
    }
}

/// Per-channel facts gathered by a scan.
public struct TraceChannelSummary: Sendable, Equatable {
    public var id: UInt16
    public var topic: String
    public var messageEncoding: String
    public var schemaName: String
    public var schemaEncoding: String
    public var messageCount: UInt64
}

/// Everything a full linear scan of a file learns: what `inspect` shows and `doctor` judges.
public struct TraceDiagnosis: Sendable {
    public var fileSize: UInt64 = 0
    public var header: MCAPHeader?
    public var metadata: [MCAPMetadata] = []
    public var channels: [TraceChannelSummary] = []
    public var schemaCount = 0
    public var messageCount: UInt64 = 0
    public var firstTime: UInt64?
    public var lastTime: UInt64?
    public var firstSequence: UInt32?
    public var lastSequence: UInt32?
    public var chunkCount = 0
    public var attachments: [(name: String, mediaType: String, size: Int)] = []
    /// Peer ids seen in /p2p and /blocksync events, sorted.
    public var peers: [String] = []
    /// The first `/node` record's consensus params, when it recorded any (issue 18 §2).
    public var consensusParams: (voteExtensionsEnableHeight: Int64, blockMaxBytes: Int64)?
    public var hasDataEnd = false
    public var hasFooter = false
    /// The summary as loaded through the Footer (nil when absent or unusable).
    public var summary: MCAPSummary?
    /// End of the last record that was read completely; bytes after it (to `fileSize`) are lost.
    public var intactUntil: UInt64 = 0
    public var problems: [TraceProblem] = []
    /// The longest stretch between consecutive messages (file order) and where it ends.
    public var longestGap: (offset: UInt64, from: UInt64, to: UInt64)?

    public var isSyncReplayTrace: Bool { header?.profile == SyncTraceFormat.profile }
    public var formatVersion: String? {
        metadata.first { $0.name == SyncTraceFormat.metadataName }?.entries[SyncTraceFormat.formatVersionKey]
    }
    public var errors: [TraceProblem] { problems.filter { $0.severity == .error } }
    public var isHealthy: Bool { errors.isEmpty }
}

/// Structural, CRC and semantic checks of a trace (`syncreplay doctor`, and `inspect`'s
/// integrity verdict). The checks follow `mcap doctor` (specs/mcap.md §7 "Official tooling"):
/// framing, chunk/data-section/summary/attachment CRCs, Schema/Channel definitions and
/// conflicts, chunk time bounds, summary against data; for `syncreplay` traces also the event
/// rules of DESIGN.md §2: strictly increasing sequence, non-decreasing time, known topics and
/// schemas, format version, every event decodes.
public enum TraceDoctor {
    /// Describes a `/blocksync` payload problem (e.g. it is not a valid
    /// `tendermint.blocksync.Message`); nil when it is fine. Supplied by callers that have the
    /// wire codecs.
    public typealias PayloadCheck = @Sendable (_ message: [UInt8]) -> String?

    /// Scans the whole file. Throws only when it cannot be read at all (not MCAP, I/O,
    /// compressed chunks); every other finding is a problem in the diagnosis.
    public static func examine(source: any MCAPByteSource, checkPayload: PayloadCheck? = nil) throws -> TraceDiagnosis {
        var d = TraceDiagnosis()
        d.fileSize = source.size
        var walker = MCAPWalker(scanner: try MCAPScanner(source: source), strictCRC: false)
        var schemas: [UInt16: MCAPSchema] = [:]
        var channels: [UInt16: MCAPChannel] = [:]
        var counts: [UInt16: UInt64] = [:]
        var channelOrder: [UInt16] = []
        var peers = Set<String>()
        var sawNode = false
        var chunkOffsets: [UInt64] = []
        var reportedCRC = 0
        var lastSeq: UInt32?, lastTime: UInt64?
        var chunkTimes: (offset: UInt64, start: UInt64, end: UInt64, minSeen: UInt64?, maxSeen: UInt64?)?
        var first = true
        var inSummary = false
        var unknownTopics = Set<String>()

        func problem(_ offset: UInt64, _ message: String, _ severity: TraceProblem.Severity = .error) {
            // Messages quote names from the file: keep each problem on one line.
            d.problems.append(TraceProblem(severity: severity, offset: offset, message: message.escapingLineBreaks))
        }
        func closeChunk() {
            if let c = chunkTimes {
                let start = c.minSeen ?? 0, end = c.maxSeen ?? 0
                if start != c.start || end != c.end {
                    problem(c.offset, "chunk message times [\(c.start), \(c.end)] differ from its messages' [\(start), \(end)]")
                }
                chunkTimes = nil
            }
        }

        func define(schema s: MCAPSchema, at offset: UInt64) {
            if s.id == 0 { problem(offset, "Schema with id 0"); return }
            if let old = schemas[s.id] {
                if old != s { problem(offset, "Schema \(s.id) redefined with different content") }
            } else {
                schemas[s.id] = s
            }
            if s.encoding.isEmpty && !s.data.isEmpty { problem(offset, "Schema \(s.id) has empty encoding but \(s.data.count) bytes of data") }
        }
        func define(channel c: MCAPChannel, at offset: UInt64) {
            if c.schemaID != 0 && schemas[c.schemaID] == nil {
                problem(offset, "Channel \(c.id) (\(c.topic)) names Schema \(c.schemaID), which is not defined before it")
            }
            if let old = channels[c.id] {
                if old != c { problem(offset, "Channel \(c.id) redefined with different content") }
                return
            }
            channels[c.id] = c
            channelOrder.append(c.id)
            if d.isSyncReplayTrace {
                if let topic = TraceTopic(rawValue: c.topic) {
                    let schemaName = schemas[c.schemaID]?.name ?? ""
                    if schemaName != topic.schemaName {
                        problem(offset, "Channel \(c.topic) uses schema \"\(schemaName)\", expected \(topic.schemaName)")
                    }
                    if c.messageEncoding != TraceSchema.encoding {
                        problem(offset, "Channel \(c.topic) has message encoding \"\(c.messageEncoding)\", expected protobuf")
                    }
                } else {
                    problem(offset, "Channel \(c.id) has topic \(c.topic), which is not a syncreplay topic")
                }
            }
        }
        func message(_ m: MCAPMessage, at offset: UInt64, inChunk: Bool) {
            guard let channel = channels[m.channelID] else {
                problem(offset, TraceError.unknownChannel(offset: offset, channelID: m.channelID).description)
                return
            }
            d.messageCount &+= 1
            counts[m.channelID, default: 0] &+= 1
            d.firstTime = min(d.firstTime ?? m.logTime, m.logTime)
            d.lastTime = max(d.lastTime ?? m.logTime, m.logTime)
            if d.firstSequence == nil { d.firstSequence = m.sequence }
            d.lastSequence = m.sequence
            if inChunk, var c = chunkTimes {
                c.minSeen = min(c.minSeen ?? m.logTime, m.logTime)
                c.maxSeen = max(c.maxSeen ?? m.logTime, m.logTime)
                chunkTimes = c
            }
            if let lt = lastTime, m.logTime > lt, m.logTime - lt > d.longestGap.map({ $0.to - $0.from }) ?? 0 {
                d.longestGap = (offset, lt, m.logTime)
            }
            if let lt = lastTime, m.logTime < lt {
                problem(offset, "log time \(m.logTime) decreases (previous \(lt))", d.isSyncReplayTrace ? .error : .warning)
            }
            lastTime = m.logTime
            guard d.isSyncReplayTrace else { return }
            if let ls = lastSeq, m.sequence <= ls {
                problem(offset, "sequence \(m.sequence) does not increase (previous \(ls))")
            }
            lastSeq = m.sequence
            guard let topic = TraceTopic(rawValue: channel.topic) else {
                if unknownTopics.insert(channel.topic).inserted {
                    problem(offset, "message on topic \(channel.topic), which is not a syncreplay topic")
                }
                return
            }
            do {
                let event = try TraceEvent.decode(topic: topic, m.data)
                switch event {
                case .p2p(let p): peers.insert(p.peerID)
                case .node(let n):
                    if !sawNode && (n.voteExtensionsEnableHeight != 0 || n.blockMaxBytes != 0) {
                        d.consensusParams = (n.voteExtensionsEnableHeight, n.blockMaxBytes)
                    }
                    sawNode = true
                case .blocksync(let b):
                    peers.insert(b.peerID)
                    if let checkPayload, let issue = checkPayload(b.message) {
                        problem(offset, "/blocksync payload (seq \(m.sequence)) does not decode: \(issue)")
                    }
                default: break
                }
            } catch {
                problem(offset, "\(topic.rawValue) event (seq \(m.sequence)) does not decode: \(error)")
            }
        }

        scan: while true {
            let item: MCAPWalkItem
            do {
                guard let next = try walker.next() else { break scan }
                item = next
            } catch let error as TraceError {
                if case .compressedChunk = error { throw error }
                if case .io = error { throw error }
                if let o = errorOffset(error), o < d.intactUntil {
                    // Damage inside a chunk that was read whole: report it, go on with the next record.
                    problem(o, error.description + "; the rest of that chunk is skipped")
                    continue scan
                }
                if walker.scanner.position > d.intactUntil {
                    // A well-framed record with malformed content: report it and skip it.
                    problem(errorOffset(error) ?? d.intactUntil, error.description + "; record skipped")
                    d.intactUntil = walker.scanner.position
                    continue scan
                }
                var kept = ""
                if let torn = walker.tornChunk {
                    // The file ends inside this chunk: say what of it was read and what is lost.
                    d.intactUntil = torn.intactUntil
                    let cut = torn.cutOpcode.map { "the \(MCAPOpcode.name(of: $0)) record under the cut is lost" } ?? "the cut falls between records"
                    kept = "; the file ends inside the chunk at offset \(torn.offset): its \(torn.messages) complete messages "
                        + "before the cut were read without a CRC check, \(cut)"
                }
                let lost = d.fileSize &- d.intactUntil
                problem(errorOffset(error) ?? d.intactUntil,
                        "\(error.description)\(kept); \(lost) bytes from offset \(d.intactUntil) to the end are unreadable")
                break scan
            }
            while reportedCRC < walker.chunkProblems.count {
                problem(errorOffset(walker.chunkProblems[reportedCRC]) ?? 0,
                        walker.chunkProblems[reportedCRC].description + "; its messages are not trusted")
                reportedCRC += 1
            }
            switch item {
            case .topLevel(let r):
                closeChunk()
                d.intactUntil = r.offset &+ r.length
                if first {
                    first = false
                    guard case .header(let h) = r.record else {
                        problem(r.offset, "the first record is \(MCAPOpcode.name(of: r.opcode)), expected Header")
                        continue scan
                    }
                    d.header = h
                    if h.library.isEmpty { problem(r.offset, "Header.library is empty", .warning) }
                    continue scan
                }
                switch r.record {
                case .header: problem(r.offset, "second Header record")
                case .chunk(let c):
                    d.chunkCount += 1
                    chunkOffsets.append(r.offset)
                    chunkTimes = (r.offset, c.messageStartTime, c.messageEndTime, nil, nil)
                case .attachment(let a):
                    if a.storedCRC != 0 && a.storedCRC != a.computedCRC {
                        problem(r.offset, TraceError.crcMismatch(offset: r.offset, what: "attachment \(a.name)", stored: a.storedCRC, computed: a.computedCRC).description)
                    }
                    d.attachments.append((a.name, a.mediaType, a.data.count))
                case .metadata(let m): if !inSummary { d.metadata.append(m) }
                case .dataEnd(let stored):
                    d.hasDataEnd = true
                    inSummary = true
                    if stored != 0, let computed = walker.scanner.dataSectionCRC, computed != stored {
                        problem(r.offset, TraceError.crcMismatch(offset: r.offset, what: "data section", stored: stored, computed: computed).description)
                    }
                case .footer: d.hasFooter = true
                case .unknown(let op):
                    if !inSummary { problem(r.offset, "unknown record opcode 0x\(String(op, radix: 16)) (skipped)", .warning) }
                case .schema(let s) where !inSummary: define(schema: s, at: r.offset)
                case .channel(let c) where !inSummary: define(channel: c, at: r.offset)
                case .message(let m) where !inSummary: message(m, at: r.offset, inChunk: false)
                default: break
                }
            case .inChunk(let offset, _, let record):
                switch record {
                case .schema(let s): define(schema: s, at: offset)
                case .channel(let c): define(channel: c, at: offset)
                case .message(let m): message(m, at: offset, inChunk: true)
                default: problem(offset, "\(MCAPOpcode.name(of: record.opcode)) inside a chunk (only Schema, Channel and Message belong there)")
                }
            }
        }
        closeChunk()

        d.schemaCount = schemas.count
        d.peers = peers.sorted()
        d.channels = channelOrder.compactMap { id in
            guard let c = channels[id] else { return nil }
            let s = schemas[c.schemaID]
            return TraceChannelSummary(id: id, topic: c.topic, messageEncoding: c.messageEncoding, schemaName: s?.name ?? "",
                                       schemaEncoding: s?.encoding ?? "", messageCount: counts[id] ?? 0)
        }
        if d.header == nil && d.problems.isEmpty { problem(8, "no Header record") }
        if d.isSyncReplayTrace {
            if let v = d.formatVersion {
                if v != String(SyncTraceFormat.formatVersion) {
                    problem(8, "format_version \(v) is not supported (this build reads \(SyncTraceFormat.formatVersion))")
                }
            } else {
                problem(8, "no syncreplay Metadata record with format_version")
            }
        }
        if !d.hasDataEnd && d.errors.isEmpty { problem(d.intactUntil, "no Data End record") }
        if !d.hasFooter && d.errors.isEmpty { problem(d.intactUntil, "no Footer") }

        // The index, checked against what the scan found.
        if d.hasFooter {
            do {
                if let s = try MCAPSummary.load(from: source) {
                    d.summary = s
                    if !s.chunkIndexes.isEmpty {
                        let indexed = s.chunkIndexes.map(\.chunkStartOffset)
                        if indexed != chunkOffsets {
                            problem(s.footer.summaryStart, "summary indexes \(indexed.count) chunks but the data section holds \(chunkOffsets.count) (or at other offsets)")
                        }
                        let summaryChannels = Set(s.channels.map(\.id))
                        for id in channelOrder where (counts[id] ?? 0) > 0 && !summaryChannels.contains(id) {
                            problem(s.footer.summaryStart, "summary lacks Channel \(id), which has indexed messages")
                        }
                    }
                    if let stats = s.statistics {
                        if stats.messageCount != d.messageCount {
                            problem(s.footer.summaryStart, "Statistics count \(stats.messageCount) messages, the file holds \(d.messageCount)")
                        }
                        if Int(stats.chunkCount) != d.chunkCount {
                            problem(s.footer.summaryStart, "Statistics count \(stats.chunkCount) chunks, the file holds \(d.chunkCount)")
                        }
                        for (id, n) in stats.channelMessageCounts.sorted(by: { $0.key < $1.key }) where (counts[id] ?? 0) != n {
                            problem(s.footer.summaryStart, "Statistics count \(n) messages on channel \(id), the file holds \(counts[id] ?? 0)")
                        }
                    }
                }
            } catch let error as TraceError {
                problem(errorOffset(error) ?? 0, "summary unusable: \(error.description)")
            }
        }
        return d
    }
}

/// The offset a `TraceError` names, if any.
func errorOffset(_ error: TraceError) -> UInt64? {
    switch error {
    case .truncated(let o, _), .lengthOutOfBounds(let o, _, _, _), .invalidOpcode(let o), .unexpectedRecord(let o, _, _),
         .invalidUTF8(let o, _), .crcMismatch(let o, _, _, _), .compressedChunk(let o, _), .chunkSizeMismatch(let o, _, _),
         .unknownChannel(let o, _), .eventDecode(let o, _, _), .unknownTopic(let o, _), .badFooter(let o, _),
         .badSummary(let o, _), .outOfOrder(let o, _):
        return o
    case .notMCAP: return 0
    default: return nil
    }
}
