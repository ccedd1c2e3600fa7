/// The index at the end of an MCAP file (specs/mcap.md §3 "Indexed open"): Footer, summary
/// groups and summary offsets. Loaded without trusting any offset: each one is checked
/// against the file before it is used.
public struct MCAPSummary: Sendable {
    public var footerOffset: UInt64
    public var footer: MCAPFooter
    /// Schemas and channels in summary order.
    public var schemas: [MCAPSchema] = []
    public var channels: [MCAPChannel] = []
    public var statistics: MCAPStatistics?
    /// Chunk indexes sorted by chunk offset.
    public var chunkIndexes: [MCAPChunkIndex] = []
    public var attachmentIndexes: [MCAPAttachmentIndex] = []
    public var metadataIndexes: [MCAPMetadataIndex] = []

    /// Reads the Footer and the summary it points to. Returns nil for a file without a summary
    /// (summary_start = 0); throws when the tail is not a well-formed Footer or the summary is
    /// inconsistent (the caller then falls back to a linear scan).
    public static func load(from source: any MCAPByteSource) throws -> MCAPSummary? {
        let size = source.size
        guard size >= 8 + MCAP.footerAndMagicSize else {
            throw TraceError.badFooter(offset: 0, reason: "file is \(size) bytes, too short for magic, Footer and magic")
        }
        let footerOffset = size - MCAP.footerAndMagicSize
        let tail = try source.read(at: footerOffset, count: Int(MCAP.footerAndMagicSize))
        guard tail.count == Int(MCAP.footerAndMagicSize) else {
            throw TraceError.truncated(offset: footerOffset, expected: "37 bytes of Footer and magic")
        }
        guard Array(tail[29...]) == MCAP.magic else {
            throw TraceError.badFooter(offset: footerOffset + 29, reason: "the file does not end with the MCAP magic (truncated or still being written?)")
        }
        guard tail[0] == MCAPOpcode.footer.rawValue, tail[1...8].elementsEqual([20, 0, 0, 0, 0, 0, 0, 0]) else {
            throw TraceError.badFooter(offset: footerOffset, reason: "expected opcode 0x02 with content length 20")
        }
        var r = MCAPFieldReader(tail[9..<29], baseOffset: footerOffset + 9, record: "Footer")
        let footer = try MCAPFooter.parse(&r)
        if footer.summaryStart == 0 {
            if footer.summaryCRC != 0 {
                let computed = CRC32.checksum(tail[0..<25])
                if computed != footer.summaryCRC {
                    throw TraceError.crcMismatch(offset: footerOffset, what: "summary", stored: footer.summaryCRC, computed: computed)
                }
            }
            return nil
        }
        guard footer.summaryStart >= 8, footer.summaryStart <= footerOffset else {
            throw TraceError.badFooter(offset: footerOffset + 9, reason: "summary_start \(footer.summaryStart) is outside the file (footer at \(footerOffset))")
        }
        let summaryEnd: UInt64
        if footer.summaryOffsetStart != 0 {
            guard footer.summaryOffsetStart >= footer.summaryStart, footer.summaryOffsetStart <= footerOffset else {
                throw TraceError.badFooter(offset: footerOffset + 17, reason: "summary_offset_start \(footer.summaryOffsetStart) is outside [\(footer.summaryStart), \(footerOffset)]")
            }
            summaryEnd = footer.summaryOffsetStart
        } else {
            summaryEnd = footerOffset
        }
        let region = try source.read(at: footer.summaryStart, count: Int(footerOffset + 25 - footer.summaryStart))
        guard region.count == Int(footerOffset + 25 - footer.summaryStart) else {
            throw TraceError.truncated(offset: footer.summaryStart, expected: "the summary section")
        }
        if footer.summaryCRC != 0 {
            let computed = CRC32.checksum(region)
            if computed != footer.summaryCRC {
                throw TraceError.crcMismatch(offset: footerOffset, what: "summary", stored: footer.summaryCRC, computed: computed)
            }
        }
        var summary = MCAPSummary(footerOffset: footerOffset, footer: footer)
        let records = region[0..<Int(summaryEnd - footer.summaryStart)]
        var i = records.startIndex
        while i < records.endIndex {
            let at = footer.summaryStart + UInt64(i)
            let left = records.endIndex - i
            guard left >= 9 else { throw TraceError.truncated(offset: at, expected: "a 9-byte record prefix in the summary") }
            let opcode = records[i]
            var length: UInt64 = 0
            for k in 0..<8 { length |= UInt64(records[i + 1 + k]) << UInt64(8 * k) }
            guard opcode != 0 else { throw TraceError.invalidOpcode(offset: at) }
            guard length <= UInt64(left - 9) else {
                throw TraceError.lengthOutOfBounds(offset: at, what: "\(MCAPOpcode.name(of: opcode)) record in the summary",
                                                   length: length, available: UInt64(left - 9))
            }
            let content = records[(i + 9)..<(i + 9 + Int(length))]
            i += 9 + Int(length)
            switch try MCAPRecord.parse(opcode: opcode, content: content, contentOffset: at + 9) {
            case .schema(let s): summary.schemas.append(s)
            case .channel(let c): summary.channels.append(c)
            case .statistics(let s):
                guard summary.statistics == nil else { throw TraceError.badSummary(offset: at, reason: "more than one Statistics record") }
                summary.statistics = s
            case .chunkIndex(let c):
                guard c.chunkStartOffset >= 8, c.chunkLength >= 9,
                      c.chunkStartOffset.addingReportingOverflow(c.chunkLength).partialValue <= footer.summaryStart,
                      !c.chunkStartOffset.addingReportingOverflow(c.chunkLength).overflow else {
                    throw TraceError.badSummary(offset: at, reason: "Chunk Index points at [\(c.chunkStartOffset), +\(c.chunkLength)), outside the data section")
                }
                summary.chunkIndexes.append(c)
            case .attachmentIndex(let a):
                guard a.offset >= 8, a.offset <= footer.summaryStart, a.length <= footer.summaryStart - a.offset else {
                    throw TraceError.badSummary(offset: at, reason: "Attachment Index points outside the data section")
                }
                summary.attachmentIndexes.append(a)
            case .metadataIndex(let m):
                guard m.offset >= 8, m.offset <= footer.summaryStart, m.length <= footer.summaryStart - m.offset else {
                    throw TraceError.badSummary(offset: at, reason: "Metadata Index points outside the data section")
                }
                summary.metadataIndexes.append(m)
            default: break  // other and unknown records are ignored (§1)
            }
        }
        summary.chunkIndexes.sort { $0.chunkStartOffset < $1.chunkStartOffset }
        return summary
    }

    /// Reads one complete top-level record that an index points at.
    static func readRecord(from source: any MCAPByteSource, offset: UInt64, length: UInt64, expected: MCAPOpcode) throws -> MCAPRecord {
        guard length >= 9, offset <= source.size, length <= source.size - offset else {
            throw TraceError.badSummary(offset: offset, reason: "index points at \(length) bytes past the end of the file")
        }
        let bytes = try source.read(at: offset, count: Int(length))
        guard bytes.count == Int(length) else {
            throw TraceError.truncated(offset: offset, expected: "\(length) bytes of \(expected.name)")
        }
        guard bytes[0] == expected.rawValue else {
            throw TraceError.unexpectedRecord(offset: offset, found: MCAPOpcode.name(of: bytes[0]), expected: expected.name)
        }
        var content: UInt64 = 0
        for k in 0..<8 { content |= UInt64(bytes[1 + k]) << UInt64(8 * k) }
        guard content == length - 9 else {
            throw TraceError.badSummary(offset: offset, reason: "record length \(content &+ 9) differs from the index's \(length)")
        }
        return try MCAPRecord.parse(opcode: bytes[0], content: bytes[9...], contentOffset: offset + 9)
    }
}
