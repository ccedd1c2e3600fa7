import Foundation
import Testing
import SyncTrace

/// Reading ahead (`TraceReader.events(readingAhead:)`, `MCAPScanAhead`): a worker thread reads
/// and CRC-checks the records, and the stream must give exactly what it gives alone — the same
/// entries at the same offsets, and on a damaged file the same intact prefix and the same error.
@Suite struct TraceReadAheadTests {
    /// A trace of many small chunks (more than the worker may hold ahead, so it waits for the
    /// stream), every topic, deterministic.
    static func manyChunks(seed: UInt64 = 7, events: Int = 1500, chunkSize: Int = 600) throws -> [UInt8] {
        var rng = SplitMix64(seed: seed)
        let sink = MCAPMemorySink()
        let writer = try TraceWriter(sink: sink, chunkSize: chunkSize)
        var time: UInt64 = 0
        for i in 0..<events {
            time += UInt64.random(in: 0...1000, using: &rng)
            let event: TraceEvent = i % 3 == 0 ? TraceFixtures.randomEvent(&rng)
                : .blocksync(BlocksyncRecord(peerID: i % 2 == 0 ? TraceFixtures.peerA : TraceFixtures.peerB,
                                             direction: .inbound, message: TraceFixtures.blockRequest(Int64(i))))
            try writer.append(event, logTime: time)
        }
        try writer.finish()
        return sink.bytes
    }

    /// Every entry, the offset of each, and the error that ended the stream (nil at a clean end).
    struct Outcome: Equatable {
        var entries: [TraceEntry] = []
        var offsets: [UInt64] = []
        var error: String?
    }

    static func read(_ bytes: [UInt8], ahead: Bool) -> Outcome {
        var outcome = Outcome()
        do {
            var stream = try TraceReader(bytes: bytes).events(readingAhead: ahead)
            #expect(stream.isReadingAhead == ahead)
            while let e = try stream.next() {
                outcome.entries.append(e)
                outcome.offsets.append(stream.lastOffset)
            }
            #expect(!stream.isReadingAhead, "the worker ends with the scan")
        } catch {
            outcome.error = String(describing: error)
        }
        return outcome
    }

    @Test func intactTraceReadsTheSameAhead() throws {
        let bytes = try Self.manyChunks()
        #expect(try TraceReader(bytes: bytes).summary!.chunkIndexes.count > 100)
        let alone = Self.read(bytes, ahead: false)
        #expect(alone.error == nil && alone.entries.count == 1500)
        #expect(Self.read(bytes, ahead: true) == alone)
    }

    enum Damage: String, CaseIterable {
        /// A byte of a chunk's records: that chunk's CRC fails.
        case chunkByte
        /// A byte of a Message Index between chunks: only the data-section CRC (at DataEnd) fails.
        case messageIndexByte
        /// The file ends inside a chunk: its complete records, then the error.
        case cutInsideChunk
        /// The file ends before its Footer.
        case cutBeforeFooter
    }

    @Test(arguments: Damage.allCases)
    func damagedTraceFailsAtTheSamePlace(_ damage: Damage) throws {
        var bytes = try Self.manyChunks()
        let chunk = try TraceReader(bytes: bytes).summary!.chunkIndexes[40]
        let start = Int(chunk.chunkStartOffset), length = Int(chunk.chunkLength)
        switch damage {
        case .chunkByte: bytes[start + length / 2] ^= 0x40
        case .messageIndexByte: bytes[start + length + 20] ^= 0x01
        case .cutInsideChunk: bytes.removeSubrange((start + length / 2)...)
        case .cutBeforeFooter: bytes.removeLast(12)
        }
        let alone = Self.read(bytes, ahead: false)
        #expect(alone.error != nil, "the damage is found")
        if damage != .cutBeforeFooter && damage != .messageIndexByte {
            #expect(alone.entries.count < 1500)
        }
        #expect(Self.read(bytes, ahead: true) == alone)
    }

    /// A stream is a value: a copy made midway reads on by itself, and so does the original;
    /// each gives the rest of the trace.
    @Test func copiedStreamReadsTheRestByItself() throws {
        let bytes = try Self.manyChunks()
        let all = Self.read(bytes, ahead: false).entries
        var stream = try TraceReader(bytes: bytes).events(readingAhead: true)
        for _ in 0..<700 { _ = try stream.next() }
        var copy = stream
        var fromCopy: [TraceEntry] = [], fromOriginal: [TraceEntry] = []
        while let e = try copy.next() { fromCopy.append(e) }
        #expect(!copy.isReadingAhead)
        while let e = try stream.next() { fromOriginal.append(e) }
        #expect(fromCopy == Array(all[700...]))
        #expect(fromOriginal == Array(all[700...]))
    }

    /// Dropping a stream midway ends its worker, which then lets go of the file: with the
    /// worker left waiting, the source would stay alive.
    @Test func droppedStreamEndsItsWorker() throws {
        let bytes = try Self.manyChunks()
        weak var weakSource: MCAPMemorySource?
        do {
            let source = MCAPMemorySource(bytes)
            weakSource = source
            var stream = try TraceReader(source: source).events(readingAhead: true)
            for _ in 0..<5 { _ = try stream.next() }
            #expect(stream.isReadingAhead)
        }
        let deadline = Date().addingTimeInterval(10)
        while weakSource != nil && Date() < deadline { usleep(1000) }
        #expect(weakSource == nil, "the worker still holds the source 10 s after its stream was dropped")
    }

    /// Small files are read without a worker unless asked.
    @Test func smallFilesAreReadAlone() throws {
        #expect(!TraceReader.readsAhead(size: 1 << 20))
        let stream = try TraceReader(bytes: try Self.manyChunks(events: 20)).events()
        #expect(!stream.isReadingAhead)
    }
}
