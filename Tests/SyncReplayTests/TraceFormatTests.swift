import Foundation
import ProtoWire
import Testing
import SyncTrace

/// The MCAP layer against the byte-level facts of specs/mcap.md.
@Suite struct TraceFormatTests {
    @Test func crc32Vectors() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([0x01]) == 0xA505_DF1B)
        #expect(CRC32.checksum([UInt8]()) == 0)
        // The byte loop and the whole-buffer paths (slicing-by-16 below 64 bytes, carry-less
        // multiplication from 64 where the CPU has it) agree at every length.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        for n in 0...data.count {
            var byByte = CRC32()
            for b in data[0..<n] { byByte.update([b]) }
            #expect(byByte.value == CRC32.checksum(data[0..<n]))
        }
    }

    /// `combine` and `append(crc:length:)` give the CRC of the concatenation, at every split,
    /// including empty parts and a part longer than the 16-byte step.
    @Test func crc32Combine() {
        let data = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 91 &+ 7) }
        for split in [0, 1, 15, 16, 17, 100, 299, 300] {
            let a = CRC32.checksum(data[0..<split]), b = CRC32.checksum(data[split...])
            #expect(CRC32.combine(a, b, secondLength: data.count - split) == CRC32.checksum(data))
            var running = CRC32()
            running.update(data[0..<split])
            running.append(crc: b, length: data.count - split)
            running.update([0x01])
            #expect(running.value == CRC32.checksum(data + [0x01]))
        }
    }

    /// Blocksync payloads off the writer's shape (an unknown field, a repeated field, a
    /// non-minimal varint, a bad direction before a good one, bad UTF-8) decode as the
    /// protobuf rules say, whichever decoding path takes them.
    @Test func blocksyncDecodeEdgeCases() throws {
        let peer = Array("ab".utf8)
        func decode(_ bytes: [UInt8]) throws -> BlocksyncRecord {
            guard case .blocksync(let b) = try TraceEvent.decode(topic: .blocksync, bytes) else { throw TraceError.truncated(offset: 0, expected: "blocksync") }
            return b
        }
        let plain: [UInt8] = [0x0A, 0x02] + peer + [0x10, 0x02, 0x1A, 0x01, 0x07]
        #expect(try decode(plain) == BlocksyncRecord(peerID: "ab", direction: .outbound, message: [0x07]))
        #expect(try decode(plain + [0x20, 0x05]) == BlocksyncRecord(peerID: "ab", direction: .outbound, message: [0x07]))
        #expect(try decode(plain + [0x10, 0x01, 0x0A, 0x01, 0x63]) == BlocksyncRecord(peerID: "c", direction: .inbound, message: [0x07]))
        #expect(try decode([0x8A, 0x00, 0x02] + peer + [0x10, 0x81, 0x00]) == BlocksyncRecord(peerID: "ab", direction: .inbound, message: []))
        #expect(throws: ProtoError.invalid(offset: 4, reason: "unknown Direction value 3")) { try decode([0x0A, 0x02] + peer + [0x10, 0x03, 0x10, 0x01]) }
        #expect(throws: ProtoError.invalidUTF8(offset: 0, field: 1)) { try decode([0x0A, 0x01, 0xFF, 0x10, 0x01]) }
        #expect(throws: ProtoError.invalid(offset: 4, reason: "Blocksync.direction missing")) { try decode([0x0A, 0x02] + peer) }
        #expect(throws: ProtoError.lengthPastEnd(offset: 2, length: 9, remaining: 2)) { try decode([0x0A, 0x09] + peer) }
        // The writer's shape with the longest one-byte message length, then a two-byte one
        // (200 = 0xC8 0x01), and bad UTF-8 in that shape.
        let long127 = [UInt8](repeating: 0x5A, count: 127), long200 = [UInt8](repeating: 0x5B, count: 200)
        #expect(try decode([0x0A, 0x02] + peer + [0x10, 0x01, 0x1A, 0x7F] + long127) == BlocksyncRecord(peerID: "ab", direction: .inbound, message: long127))
        #expect(try decode([0x0A, 0x02] + peer + [0x10, 0x02, 0x1A, 0xC8, 0x01] + long200) == BlocksyncRecord(peerID: "ab", direction: .outbound, message: long200))
        #expect(throws: ProtoError.invalidUTF8(offset: 0, field: 1)) { try decode([0x0A, 0x01, 0xFF, 0x10, 0x01, 0x1A, 0x01, 0x07]) }
        // A stream shares one String per peer id and still decodes every event whole.
        let bytes = try TraceFixtures.handwrittenTrace()
        let streamed = try TraceReader(bytes: bytes).readAll()
        var oneByOne: [TraceEntry] = []
        var scanner = MCAPWalker(scanner: try MCAPScanner(source: MCAPMemorySource(bytes)))
        var topics: [UInt16: TraceTopic] = [:]
        while let item = try scanner.next() {
            let record: MCAPRecord
            switch item { case .topLevel(let r): record = r.record; case .inChunk(_, _, let r): record = r }
            if case .channel(let c) = record { topics[c.id] = TraceTopic(rawValue: c.topic) }
            if case .message(let m) = record, let topic = topics[m.channelID] {
                oneByOne.append(TraceEntry(sequence: m.sequence, logTime: m.logTime, event: try TraceEvent.decode(topic: topic, m.data)))
            }
        }
        #expect(!streamed.isEmpty && streamed == oneByOne)
    }

    @Test func writesMagicHeaderAndMetadataFirst() throws {
        let bytes = try TraceFixtures.handwrittenTrace()
        #expect(Array(bytes[0..<8]) == [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A])
        #expect(Array(bytes.suffix(8)) == Array(bytes[0..<8]))
        #expect(bytes[8] == 0x01)  // Header
        let reader = try TraceReader(bytes: bytes)
        #expect(reader.header.profile == "syncreplay")
        #expect(reader.formatVersion == "1")
        #expect(reader.traceMetadata["source"] == "Tests/SyncReplayTests/TraceFixtures.swift")
        let summary = try #require(reader.summary)
        #expect(summary.schemas.map(\.name) == TraceTopic.allCases.map(\.schemaName))
        #expect(summary.schemas.allSatisfy { $0.encoding == "protobuf" && $0.data == TraceSchema.fileDescriptorSet })
        #expect(summary.channels.map(\.topic) == ["/node", "/p2p", "/blocksync", "/pivot", "/capture"])
        #expect(summary.channels.allSatisfy { $0.messageEncoding == "protobuf" })
        #expect(summary.statistics?.messageCount == UInt64(TraceFixtures.handwrittenEvents().count))
        #expect(summary.chunkIndexes.count > 2)
        #expect(summary.attachmentIndexes.map(\.name) == ["provenance.txt"])
    }

    /// The Python writer's worked example (specs/mcap.md §6, 719 bytes, written with
    /// `enable_data_crcs=True`): a foreign file with its schema and channel inside the chunk.
    static let pythonExampleHex = """
    894d43415030 0d0a010c000000000000000000000004000000 64656d6f06c600000000000000e803000000000000d007000000000000 \
    9e0000000000000037bdf5d2000000009e00000000000000032a00000000000000010001000000530a0000006a736f6e736368656d61 \
    110000007b2274797065223a226f626a656374227d0416000000000000000100010002000000 2f7404000000 6a736f6e00000000 \
    051d00000000000000010000000000e803000000000000e8030000000000007b2261223a317d051d00000000000000010001000000 \
    d007000000000000d0070000000000007b2261223a327d072600000000000000010020000000e8030000000000005200000000000000 \
    d0070000000000007800000000000000 0f04000000000000006996164c
    """

    @Test func computesThePythonExampleDataSectionCRC() throws {
        let hex = TraceFormatTests.pythonExampleHex.filter { $0.isHexDigit }
        var bytes: [UInt8] = []
        var i = hex.startIndex
        while i < hex.endIndex {
            let j = hex.index(i, offsetBy: 2)
            bytes.append(UInt8(hex[i..<j], radix: 16)!)
            i = j
        }
        #expect(bytes.count == 296)  // magic .. DataEnd of the example
        #expect(CRC32.checksum(bytes[0..<283]) == 0x4C16_9669)
        #expect(CRC32.checksum(bytes[78..<236]) == 0xD2F5_BD37)
    }

    /// The conformant minimum (specs/mcap.md §3, 75 bytes) and the 62-byte form without DataEnd.
    @Test func readsMinimalFiles() throws {
        let minimal: [UInt8] = [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A,
                                0x01, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                0x0F, 4, 0, 0, 0, 0, 0, 0, 0, 0x73, 0xC3, 0xFA, 0xEB,
                                0x02, 20, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 16) + [0xB0, 0xC9, 0xC4, 0x6F]
            + [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]
        #expect(minimal.count == 75)
        #expect(CRC32.checksum(minimal[0..<25]) == 0xEBFA_C373)
        let reader = try TraceReader(bytes: minimal)
        #expect(reader.summary == nil && reader.summaryError == nil)
        #expect(try reader.readAll().isEmpty)
        let diagnosis = try TraceDoctor.examine(source: MCAPMemorySource(minimal))
        #expect(diagnosis.hasDataEnd && diagnosis.hasFooter)
        #expect(diagnosis.errors.isEmpty)

        let noDataEnd = Array(minimal[0..<25]) + Array(minimal[38...])
        #expect(noDataEnd.count == 62)
        #expect(try TraceReader(bytes: noDataEnd).readAll().isEmpty)
    }

    @Test func emptyTraceRoundTrips() throws {
        let sink = MCAPMemorySink()
        try TraceWriter(sink: sink).finish()
        let reader = try TraceReader(bytes: sink.bytes)
        #expect(try reader.readAll().isEmpty)
        #expect(reader.summary?.statistics?.messageCount == 0)
        #expect(try TraceDoctor.examine(source: MCAPMemorySource(sink.bytes)).isHealthy)
    }
}
