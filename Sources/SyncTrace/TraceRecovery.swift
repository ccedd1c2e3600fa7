import Foundation

/// What `TraceRecovery` kept and lost.
public struct RecoveryReport: Sendable {
    public var keptMessages: UInt64 = 0
    /// Messages known to be lost: exact when the input's Statistics survived, otherwise those
    /// counted in damaged or partial chunks (a lower bound, see `lostIsExact`).
    public var lostMessages: UInt64 = 0
    public var lostIsExact = false
    public var chunksKept = 0
    public var chunksDropped = 0
    /// Messages kept from the chunk the input ends inside (read without a CRC check; issue 16).
    public var keptFromTornChunk: UInt64 = 0
    public var attachmentsKept = 0
    public var attachmentsDropped = 0
    /// The first damage met (nil when the input was intact to its DataEnd).
    public var damage: String?
    /// Bytes from the end of the last intact record to the end of the input.
    public var bytesUnreadable: UInt64 = 0
    public var isLossless: Bool { damage == nil && lostMessages == 0 && chunksDropped == 0 && attachmentsDropped == 0 }
}

/// Rebuilds a valid, indexed MCAP file from whatever is intact in a damaged one
/// (specs/mcap.md §7 "Recovering reader", like `mcap recover`): scans linearly from the
/// start, re-writes every Schema, Channel, Message (from complete chunks whose CRC holds, and
/// the complete records of an uncompressed chunk the file ends inside), intact Attachment and
/// data-section Metadata through a new `MCAPWriter`, and stops at the first framing error or at
/// DataEnd (the old summary is ignored and regenerated).
/// Divergence from `mcap recover`: chunks with a wrong CRC are dropped, not trusted.
public enum TraceRecovery {
    public static func recover(source: any MCAPByteSource, into sink: any MCAPSink,
                               chunkSize: Int = TraceWriter.defaultChunkSize) throws -> RecoveryReport {
        var report = RecoveryReport()
        var walker = MCAPWalker(scanner: try MCAPScanner(source: source), strictCRC: false)
        var writer: MCAPWriter?
        var schemas: [UInt16: MCAPSchema] = [:]
        var channels: [UInt16: MCAPChannel] = [:]
        var seenDropped = 0
        var intactUntil: UInt64 = 8

        func output() throws -> MCAPWriter {
            if let writer { return writer }
            let w = try MCAPWriter(sink: sink, header: MCAPHeader(profile: "", library: "syncreplay recover"), chunkSize: chunkSize)
            writer = w
            return w
        }
        func addSchema(_ s: MCAPSchema) throws {
            guard s.id != 0, schemas[s.id] == nil else { return }
            schemas[s.id] = s
            try output().addSchema(s)
        }
        func addChannel(_ c: MCAPChannel) throws {
            guard channels[c.id] == nil, c.schemaID == 0 || schemas[c.schemaID] != nil else { return }
            channels[c.id] = c
            try output().addChannel(c)
        }
        func addMessage(_ m: MCAPMessage) throws {
            guard channels[m.channelID] != nil else { report.lostMessages &+= 1; return }
            try output().addMessage(channelID: m.channelID, sequence: m.sequence, logTime: m.logTime,
                                    publishTime: m.publishTime, data: Array(m.data))
            report.keptMessages &+= 1
        }

        scan: while true {
            let item: MCAPWalkItem
            do {
                guard let next = try walker.next() else { break }
                item = next
            } catch let error as TraceError {
                switch error {
                case .compressedChunk, .io, .notMCAP: throw error
                default: break
                }
                report.damage = error.description
                if let torn = walker.tornChunk {
                    // Its complete records were kept; only the record under the cut is lost.
                    intactUntil = torn.intactUntil
                    report.keptFromTornChunk = UInt64(torn.messages)
                    if torn.cutOpcode == MCAPOpcode.message.rawValue { report.lostMessages &+= 1 }
                }
                break scan
            }
            while seenDropped < walker.chunkProblems.count {
                seenDropped += 1
                report.chunksDropped += 1
                if report.damage == nil { report.damage = walker.chunkProblems[seenDropped - 1].description }
            }
            switch item {
            case .topLevel(let r):
                intactUntil = r.offset &+ r.length
                switch r.record {
                case .header(let h) where writer == nil:
                    writer = try MCAPWriter(sink: sink, header: h, chunkSize: chunkSize)
                case .schema(let s): try addSchema(s)
                case .channel(let c): try addChannel(c)
                case .message(let m): try addMessage(m)
                case .chunk(let c):
                    if c.uncompressedCRC != 0 && CRC32.checksum(c.records) != c.uncompressedCRC {
                        report.lostMessages &+= countMessages(in: c.records)
                    } else {
                        report.chunksKept += 1
                    }
                case .attachment(let a):
                    if a.storedCRC != 0 && a.storedCRC != a.computedCRC {
                        report.attachmentsDropped += 1
                        if report.damage == nil { report.damage = "attachment \(a.name) at offset \(r.offset) has a wrong CRC" }
                    } else {
                        try output().addAttachment(name: a.name, mediaType: a.mediaType, data: a.data,
                                                   logTime: a.logTime, createTime: a.createTime)
                        report.attachmentsKept += 1
                    }
                case .metadata(let m): try output().addMetadata(m)
                case .dataEnd: break scan
                case .footer: break scan
                default: break
                }
            case .inChunk(_, _, let record):
                switch record {
                case .schema(let s): try addSchema(s)
                case .channel(let c): try addChannel(c)
                case .message(let m): try addMessage(m)
                default: break
                }
            }
        }
        report.bytesUnreadable = report.damage == nil ? 0 : source.size &- intactUntil
        if report.damage != nil, let summary = try? MCAPSummary.load(from: source), let stats = summary.statistics,
           stats.messageCount >= report.keptMessages {
            report.lostMessages = stats.messageCount - report.keptMessages
            report.lostIsExact = true
        } else if report.damage == nil {
            report.lostIsExact = true
        }
        try output().finish()
        return report
    }

    /// Recovers `inputPath` into `outputPath`, never touching the input: writes a temporary
    /// file beside the output and renames it into place once complete.
    public static func recover(inputPath: String, outputPath: String) throws -> RecoveryReport {
        let input = URL(fileURLWithPath: inputPath).standardizedFileURL.resolvingSymlinksInPath()
        let output = URL(fileURLWithPath: outputPath).standardizedFileURL.resolvingSymlinksInPath()
        guard input.path != output.path else {
            throw TraceError.io(path: outputPath, reason: "is the input file; recover never overwrites its input, choose another -o")
        }
        let fm = FileManager.default
        if let a = try? fm.attributesOfItem(atPath: input.path)[.systemFileNumber] as? Int,
           let b = try? fm.attributesOfItem(atPath: output.path)[.systemFileNumber] as? Int, a == b {
            throw TraceError.io(path: outputPath, reason: "is the input file (hard link); recover never overwrites its input")
        }
        let source = try MCAPFileSource(path: inputPath)
        let temp = output.deletingLastPathComponent()
            .appendingPathComponent(".\(output.lastPathComponent).recover-\(ProcessInfo.processInfo.processIdentifier).tmp")
        let report: RecoveryReport
        do {
            let sink: MCAPFileSink
            do { sink = try MCAPFileSink(path: temp.path) } catch {
                // Name the output the user gave, not the temporary file beside it.
                var isDirectory: ObjCBool = false
                let dir = output.deletingLastPathComponent().path
                let why = fm.fileExists(atPath: dir, isDirectory: &isDirectory) && isDirectory.boolValue
                    ? "cannot create a file in \(dir)" : "directory \(dir) does not exist"
                throw TraceError.io(path: outputPath, reason: why)
            }
            report = try recover(source: source, into: sink)
        } catch {
            try? fm.removeItem(at: temp)
            throw error
        }
        guard rename(temp.path, output.path) == 0 else {
            try? fm.removeItem(at: temp)
            throw TraceError.io(path: outputPath, reason: "cannot move the recovered file into place")
        }
        return report
    }

    /// Message records in a chunk payload, framed leniently (for loss counts only).
    static func countMessages(in records: ArraySlice<UInt8>) -> UInt64 {
        var n: UInt64 = 0
        var i = records.startIndex
        while records.endIndex - i >= 9 {
            var length: UInt64 = 0
            for k in 0..<8 { length |= UInt64(records[i + 1 + k]) << UInt64(8 * k) }
            guard length <= UInt64(records.endIndex - i - 9) else { break }
            if records[i] == MCAPOpcode.message.rawValue { n &+= 1 }
            i += 9 + Int(length)
        }
        return n
    }
}
