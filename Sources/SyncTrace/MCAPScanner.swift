/// One top-level record as found by a linear scan.
public struct MCAPScannedRecord: Sendable {
    /// Absolute offset of the opcode byte.
    public var offset: UInt64
    public var opcode: UInt8
    /// Whole record length (9 + content_length).
    public var length: UInt64
    public var record: MCAPRecord
    /// CRC of a Chunk's stored `records` bytes, when the scan computed it (for the data-section
    /// CRC, or because the chunk stores a CRC): the walker checks the chunk with it.
    public var recordsCRC: UInt32? = nil
}

/// Linear scan of an MCAP file's top-level records (specs/mcap.md §7 "Recovering reader"):
/// checks the leading magic, then frames records one at a time. A record needs its 9-byte
/// prefix, a non-zero opcode and `content_length` within the bytes that remain; anything else
/// is reported as a `TraceError` at the record's offset, after every earlier record has been
/// returned. Memory: one read-ahead window plus the current record.
public struct MCAPScanner {
    private var reader: MCAPBufferedReader
    public let size: UInt64
    /// Offset of the next record.
    public private(set) var position: UInt64
    /// CRC of every byte before `position` while scanning from offset 0 (DataEnd check).
    private var dataCRC = CRC32()
    private var trackCRC: Bool
    public private(set) var sawFooter = false
    public private(set) var sawDataEnd = false
    /// CRC of the bytes before the DataEnd record, when the scan started at 0.
    public private(set) var dataSectionCRC: UInt32?
    /// The worker scanning ahead, when one was started (`readAhead()`).
    private var ahead: MCAPScanAhead?

    /// Starts at offset 0 after checking the magic.
    public init(source: any MCAPByteSource) throws {
        reader = MCAPBufferedReader(source: source)
        size = source.size
        let magic = Array(try reader.bytes(at: 0, count: 8))
        guard magic == MCAP.magic else { throw TraceError.notMCAP(found: magic) }
        position = 8
        trackCRC = true
        dataCRC.update(magic)
    }

    /// Starts at a record boundary found through an index (no magic or DataEnd CRC check).
    public init(source: any MCAPByteSource, at offset: UInt64) {
        reader = MCAPBufferedReader(source: source)
        size = source.size
        position = offset
        trackCRC = false
    }

    /// The next record, or nil after the Footer and trailing magic. A file that ends before its
    /// Footer throws `truncated`.
    public mutating func next() throws -> MCAPScannedRecord? {
        if ahead != nil {
            if isKnownUniquelyReferenced(&ahead) {
                let step = ahead!.take()
                progress = step.progress
                switch step.result {
                case .success(let record?): return record
                case .success(nil): ahead = nil; return nil
                case .failure(let error): ahead = nil; throw error
                }
            }
            // A copy of a scanner reading ahead: it goes on by itself from its position.
            ahead = nil
        }
        if sawFooter { return nil }
        let offset = position
        let remaining = size >= offset ? size - offset : 0
        guard remaining >= 9 else {
            throw TraceError.truncated(offset: offset, expected: remaining == 0
                ? "another record or the Footer (the file ends before its Footer)"
                : "a 9-byte record prefix (opcode and length), \(remaining) bytes left")
        }
        let prefix = try reader.bytes(at: offset, count: 9)
        guard prefix.count == 9 else {
            throw TraceError.truncated(offset: offset, expected: "a 9-byte record prefix (the file shrank while being read)")
        }
        let opcode = prefix[prefix.startIndex]
        var length: UInt64 = 0
        for i in 0..<8 { length |= UInt64(prefix[prefix.startIndex + 1 + i]) << UInt64(8 * i) }
        guard opcode != 0 else { throw TraceError.invalidOpcode(offset: offset) }
        guard length <= remaining - 9 else {
            throw TraceError.lengthOutOfBounds(offset: offset, what: "\(MCAPOpcode.name(of: opcode)) record",
                                               length: length, available: remaining - 9)
        }
        let content = try reader.bytes(at: offset + 9, count: Int(length))
        guard UInt64(content.count) == length else {
            throw TraceError.truncated(offset: offset + 9, expected: "\(length) bytes of \(MCAPOpcode.name(of: opcode)) content")
        }
        if opcode == MCAPOpcode.dataEnd.rawValue, trackCRC { dataSectionCRC = dataCRC.value }
        let inDataCRC = trackCRC && !sawDataEnd && opcode != MCAPOpcode.dataEnd.rawValue
        // The framing is sound: a malformed record's content does not stop a scan that goes on
        // (doctor) from finding the next record.
        position = offset + 9 + length
        let record: MCAPRecord
        do {
            record = try MCAPRecord.parse(opcode: opcode, content: content, contentOffset: offset + 9)
        } catch {
            if inDataCRC { dataCRC.update(prefix); dataCRC.update(content) }
            throw error
        }
        var recordsCRC: UInt32?
        if case .chunk(let c) = record, inDataCRC || (c.uncompressedCRC != 0 && c.compression.isEmpty) {
            // Each byte is hashed once: the chunk's records lie inside the data section
            // (§2.1), so their CRC, which the chunk check needs, is folded into the running one.
            let crc = CRC32.checksum(c.records)
            recordsCRC = crc
            if inDataCRC {
                dataCRC.update(prefix)
                dataCRC.update(content[content.startIndex..<c.records.startIndex])
                dataCRC.append(crc: crc, length: c.records.count)
                dataCRC.update(content[c.records.endIndex...])
            }
        } else if inDataCRC {
            dataCRC.update(prefix)
            dataCRC.update(content)
        }
        switch record {
        case .dataEnd: sawDataEnd = true
        case .footer:
            guard length >= 20 else {
                throw TraceError.badFooter(offset: offset, reason: "content is \(length) bytes, expected 20")
            }
            let magic = Array(try reader.bytes(at: position, count: 8))
            guard magic == MCAP.magic else {
                throw TraceError.truncated(offset: position, expected: "the trailing magic after the Footer")
            }
            sawFooter = true
        default: break
        }
        return MCAPScannedRecord(offset: offset, opcode: opcode, length: 9 + length, record: record, recordsCRC: recordsCRC)
    }

    /// Hands the reading and CRC work of the records after `position` to a worker thread
    /// (`MCAPScanAhead`); `next()` gives the same records, errors and state as without it.
    public mutating func readAhead() {
        guard ahead == nil, !sawFooter else { return }
        ahead = MCAPScanAhead(continuing: self)
    }

    /// True while a worker started by `readAhead()` serves `next()` (it stops after the step
    /// that ends the scan, and a copy of the scanner stops taking its steps).
    public var isReadingAhead: Bool { ahead != nil }

    /// The state `next()` leaves (what the worker hands over with each step).
    var progress: MCAPScanAhead.Progress {
        get { .init(position: position, dataCRC: dataCRC, sawFooter: sawFooter, sawDataEnd: sawDataEnd, dataSectionCRC: dataSectionCRC) }
        set {
            position = newValue.position; dataCRC = newValue.dataCRC; sawFooter = newValue.sawFooter
            sawDataEnd = newValue.sawDataEnd; dataSectionCRC = newValue.dataSectionCRC
        }
    }

    /// How much of a chunk the file ends inside is read (64 MiB; our writer's chunks are 256 KiB).
    public static let tornChunkReadLimit = 64 << 20

    /// The readable part of an uncompressed Chunk record that the file ends inside (the record
    /// at `position` claims more bytes than remain): its header and the bytes of its records
    /// that exist, whose CRC cannot be checked. Nil when the record there is not a Chunk, its
    /// header is cut, or it is compressed. Reads at most `tornChunkReadLimit` bytes: a length
    /// field damaged to run past the end of a large file must not pull the whole file in.
    public mutating func tornChunk() throws -> MCAPChunk? {
        guard size > position, size - position > 9 else { return nil }
        let available = Int(min(size - position, UInt64(Self.tornChunkReadLimit)))
        let bytes = try reader.bytes(at: position, count: available)
        guard bytes.count == available, bytes[bytes.startIndex] == MCAPOpcode.chunk.rawValue else { return nil }
        var fields = MCAPFieldReader(bytes.dropFirst(9), baseOffset: position &+ 9, record: "Chunk")
        guard let start = try? fields.u64("message_start_time"), let end = try? fields.u64("message_end_time"),
              let declared = try? fields.u64("uncompressed_size"), let crc = try? fields.u32("uncompressed_crc"),
              let compression = try? fields.string("compression"), compression.isEmpty,
              let recordsLength = try? fields.u64("records") else { return nil }
        let recordsOffset = fields.offset
        let present = bytes[(bytes.endIndex - fields.remaining)...]
        let records = present.prefix(Int(min(recordsLength, UInt64(present.count))))
        return MCAPChunk(messageStartTime: start, messageEndTime: end, uncompressedSize: declared, uncompressedCRC: crc,
                         compression: compression, records: records, recordsOffset: recordsOffset)
    }
}

/// What a walker kept from a Chunk the file ends inside (specs/mcap.md §7: a recovering reader
/// keeps what it can): the complete records before the cut, read without a CRC check.
public struct MCAPTornChunk: Sendable, Equatable {
    /// Offset of the Chunk record.
    public var offset: UInt64
    /// Complete records read from it (Schema, Channel, Message).
    public var records = 0
    /// Complete Message records among them.
    public var messages = 0
    /// End of the last complete record (the start of the partial one, or of the chunk's
    /// records when none is complete): everything from here to the end of the file is lost.
    public var intactUntil: UInt64
    /// The opcode of the record under the cut, when its first byte is in the file.
    public var cutOpcode: UInt8?
}

/// A Message record inside a chunk, as `MCAPWalker.nextChunkMessage()` reads it: its fields,
/// and where its data lies in the walker's chunk (read it with `MCAPWalker.chunkData(_:)` before the
/// walker moves on). Holds no reference, so it moves for free.
public struct MCAPChunkMessage: Sendable {
    /// Absolute offset of the record's opcode byte.
    public var offset: UInt64
    public var channelID: UInt16
    public var sequence: UInt32
    public var logTime: UInt64
    public var publishTime: UInt64
    /// Indices of the message data in the chunk's records.
    public var data: Range<Int>
}

/// A record from inside a chunk, or a top-level record.
public enum MCAPWalkItem: Sendable {
    case topLevel(MCAPScannedRecord)
    /// A record inside the chunk at `chunkOffset`; `offset` is absolute (chunks are uncompressed).
    case inChunk(offset: UInt64, chunkOffset: UInt64, record: MCAPRecord)
}

/// Walks top-level records and the records inside each chunk, in file order, checking each
/// chunk's compression, size and CRC (§4, §2.1) before yielding its contents.
public struct MCAPWalker {
    public private(set) var scanner: MCAPScanner
    /// With `strictCRC` a chunk CRC mismatch throws; otherwise it is recorded in `chunkProblems`.
    public let strictCRC: Bool
    public private(set) var chunkProblems: [TraceError] = []
    /// The chunk the file ends inside, once the walk reached it: its complete records were
    /// yielded (without a CRC check) before the error that ends the walk.
    public private(set) var tornChunk: MCAPTornChunk?
    /// The records of the chunk being walked (empty when none is); `inner` indexes the next one.
    private(set) var records: ArraySlice<UInt8> = []
    private var recordsOffset: UInt64 = 0
    private var inChunk = false
    private var chunkOffset: UInt64 = 0
    private var inner = 0
    /// The framing error that ends the walk after the torn chunk's records.
    private var tornError: TraceError?

    public init(scanner: MCAPScanner, strictCRC: Bool = true) {
        self.scanner = scanner
        self.strictCRC = strictCRC
    }

    private mutating func enter(_ chunk: MCAPChunk, at offset: UInt64) {
        records = chunk.records
        recordsOffset = chunk.recordsOffset
        chunkOffset = offset
        inner = chunk.records.startIndex
        inChunk = true
    }

    private mutating func leaveChunk() {
        inChunk = false
        records = []
    }

    /// The next record when it is a well-formed Message inside an intact chunk, read without
    /// building an `MCAPWalkItem` (the event stream's fast path); nil, consuming nothing, in
    /// every other case, and then `next()` handles the record. Same values as `next()` gives.
    public mutating func nextChunkMessage() -> MCAPChunkMessage? {
        guard inChunk, tornError == nil else { return nil }
        let base = records.startIndex, at = inner - base, fileBase = recordsOffset
        // One pass over the raw bytes: the prefix, then the fixed fields (§5 Message).
        let found: MCAPChunkMessage? = records.withUnsafeBytes { raw in
            let left = raw.count - at
            guard left >= 9 + 22, raw[at] == MCAPOpcode.message.rawValue else { return nil }
            let length = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at + 1, as: UInt64.self))
            guard length >= 22, length <= UInt64(left - 9) else { return nil }
            let start = at + 9
            return MCAPChunkMessage(offset: fileBase &+ UInt64(at),
                                    channelID: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: start, as: UInt16.self)),
                                    sequence: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: start + 2, as: UInt32.self)),
                                    logTime: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 6, as: UInt64.self)),
                                    publishTime: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: start + 14, as: UInt64.self)),
                                    data: (base + start + 22)..<(base + start + Int(length)))
        }
        if let found { inner = found.data.upperBound }
        return found
    }

    /// The bytes at `range` of the chunk being walked (an `MCAPChunkMessage.data`).
    public func chunkData(_ range: Range<Int>) -> ArraySlice<UInt8> { records[range] }

    public mutating func next() throws -> MCAPWalkItem? {
        if inChunk {
            if inner < records.endIndex {
                let at = recordsOffset &+ UInt64(inner - records.startIndex)
                let left = records.endIndex - inner
                if let tornError, left < 9 || records[inner + 1..<inner + 9].littleEndianU64 > UInt64(left - 9) {
                    // The record under the cut: the walk ends with the error that found the cut.
                    tornChunk?.cutOpcode = records[inner]
                    leaveChunk()
                    throw tornError
                }
                guard left >= 9 else {
                    leaveChunk()
                    throw TraceError.truncated(offset: at, expected: "a 9-byte record prefix inside the chunk at offset \(chunkOffset), \(left) bytes left")
                }
                let opcode = records[inner]
                let length = records[inner + 1..<inner + 9].littleEndianU64
                guard opcode != 0 else { leaveChunk(); throw TraceError.invalidOpcode(offset: at) }
                guard length <= UInt64(left - 9) else {
                    leaveChunk()
                    throw TraceError.lengthOutOfBounds(offset: at, what: "\(MCAPOpcode.name(of: opcode)) record inside the chunk at offset \(chunkOffset)",
                                                       length: length, available: UInt64(left - 9))
                }
                let start = inner + 9, end = start + Int(length)
                inner = end
                let record: MCAPRecord
                do {
                    record = try MCAPRecord.parse(opcode: opcode, content: records[start..<end], contentOffset: at &+ 9)
                } catch { leaveChunk(); throw error }
                if tornError != nil {
                    tornChunk?.records += 1
                    if case .message = record { tornChunk?.messages += 1 }
                    tornChunk?.intactUntil = at &+ 9 &+ length
                }
                return .inChunk(offset: at, chunkOffset: chunkOffset, record: record)
            }
            leaveChunk()
            if let tornError { throw tornError }
        }
        let scanned: MCAPScannedRecord
        do {
            guard let next = try scanner.next() else { return nil }
            scanned = next
        } catch let error as TraceError {
            // The file ends inside an uncompressed chunk: walk the records that are complete,
            // then end with this error (issue 16: nothing lost but the record under the cut).
            guard case .lengthOutOfBounds = error, tornChunk == nil, let torn = try scanner.tornChunk() else { throw error }
            tornChunk = MCAPTornChunk(offset: scanner.position, intactUntil: torn.recordsOffset)
            tornError = error
            enter(torn, at: scanner.position)
            return try next()
        }
        if case .chunk(let c) = scanned.record {
            guard c.compression.isEmpty else {
                throw TraceError.compressedChunk(offset: scanned.offset, compression: c.compression)
            }
            guard c.uncompressedSize == UInt64(c.records.count) else {
                throw TraceError.chunkSizeMismatch(offset: scanned.offset, declared: c.uncompressedSize, actual: UInt64(c.records.count))
            }
            var usable = true
            if c.uncompressedCRC != 0 {
                let computed = scanned.recordsCRC ?? CRC32.checksum(c.records)
                if computed != c.uncompressedCRC {
                    let problem = TraceError.crcMismatch(offset: scanned.offset, what: "chunk", stored: c.uncompressedCRC, computed: computed)
                    if strictCRC { throw problem }
                    chunkProblems.append(problem)
                    usable = false
                }
            }
            if usable { enter(c, at: scanned.offset) }
        }
        return .topLevel(scanned)
    }
}

extension ArraySlice<UInt8> {
    /// The little-endian integer in these (at most 8) bytes.
    var littleEndianU64: UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        for i in startIndex..<endIndex {
            v |= UInt64(self[i]) << shift
            shift &+= 8
        }
        return v
    }
}
