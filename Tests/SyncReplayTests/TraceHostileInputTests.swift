import Foundation
import Testing
import SyncTrace

/// Builds MCAP bytes by hand, for files our writer never produces (foreign layouts, padding,
/// unknown opcodes, compression, hostile lengths).
struct HandMCAP {
    var bytes: [UInt8] = [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]

    static func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
    static func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count), 4) + Array(s.utf8) }
    static func record(_ op: UInt8, _ content: [UInt8]) -> [UInt8] { [op] + le(UInt64(content.count), 8) + content }

    static func header(_ profile: String, _ library: String, pad: Bool = false) -> [UInt8] {
        record(0x01, str(profile) + str(library) + (pad ? [0x01, 0xFF, 0xFF] : []))
    }
    static func schema(_ id: UInt16, _ name: String, _ data: [UInt8], pad: Bool = false) -> [UInt8] {
        record(0x03, le(UInt64(id), 2) + str(name) + str("protobuf") + le(UInt64(data.count), 4) + data + (pad ? [0x01, 0xFF, 0xFF] : []))
    }
    static func channel(_ id: UInt16, _ schema: UInt16, _ topic: String, pad: Bool = false) -> [UInt8] {
        record(0x04, le(UInt64(id), 2) + le(UInt64(schema), 2) + str(topic) + str("protobuf") + le(0, 4) + (pad ? [0x01, 0xFF, 0xFF] : []))
    }
    static func message(_ channel: UInt16, _ seq: UInt32, _ time: UInt64, _ data: [UInt8]) -> [UInt8] {
        record(0x05, le(UInt64(channel), 2) + le(UInt64(seq), 4) + le(time, 8) + le(time, 8) + data)
    }
    static func chunk(_ records: [UInt8], start: UInt64, end: UInt64, compression: String = "", crc: Bool = true) -> [UInt8] {
        record(0x06, le(start, 8) + le(end, 8) + le(UInt64(records.count), 8) + le(UInt64(crc ? CRC32.checksum(records) : 0), 4)
               + str(compression) + le(UInt64(records.count), 8) + records)
    }
    mutating func append(_ r: [UInt8]) { bytes += r }
    /// DataEnd (CRC 0), a Footer without summary, the magic.
    mutating func finishWithoutSummary() {
        bytes += HandMCAP.record(0x0F, HandMCAP.le(0, 4))
        bytes += HandMCAP.record(0x02, HandMCAP.le(0, 8) + HandMCAP.le(0, 8) + HandMCAP.le(0, 4))
        bytes += [0x89, 0x4D, 0x43, 0x41, 0x50, 0x30, 0x0D, 0x0A]
    }
}

@Suite struct TraceHostileInputTests {
    static let event = TraceEvent.blocksync(BlocksyncRecord(peerID: "p", direction: .inbound, message: TraceFixtures.statusRequest()))

    /// A foreign-style file: padded records (trailing unknown fields), unknown top-level and
    /// in-chunk opcodes, schema and channel inside the chunk, no summary, no CRCs.
    @Test func readsPaddedUnknownAndSummaryLessFiles() throws {
        var f = HandMCAP()
        f.append(HandMCAP.header("syncreplay", "hand", pad: true))
        f.append(HandMCAP.record(0x80, [1, 2, 3]))          // private record
        f.append(HandMCAP.record(0x42, []))                 // reserved, unknown to us
        let inner = HandMCAP.schema(3, TraceTopic.blocksync.schemaName, TraceSchema.fileDescriptorSet, pad: true)
            + HandMCAP.channel(7, 3, "/blocksync", pad: true)
            + HandMCAP.record(0x81, [9, 9])
            + HandMCAP.message(7, 1, 100, TraceHostileInputTests.event.encode())
            + HandMCAP.message(7, 2, 200, TraceHostileInputTests.event.encode())
        f.append(HandMCAP.chunk(inner, start: 100, end: 200, crc: false))
        f.finishWithoutSummary()
        let reader = try TraceReader(bytes: f.bytes)
        #expect(reader.summary == nil)
        let entries = try reader.readAll()
        #expect(entries.map(\.sequence) == [1, 2])
        #expect(entries.allSatisfy { $0.event == TraceHostileInputTests.event })
        var seek = try reader.events(fromTime: 150)   // no index: filtered scan
        #expect(try seek.next()?.sequence == 2)
        let d = try TraceDoctor.examine(source: MCAPMemorySource(f.bytes))
        #expect(d.messageCount == 2 && d.chunkCount == 1)
        #expect(d.problems.contains { $0.message.contains("unknown record opcode 0x80") && $0.severity == .warning })
        #expect(d.problems.contains { $0.message.contains("inside a chunk") })  // mcap doctor's rule
    }

    @Test func compressedChunkIsNamed() throws {
        var f = HandMCAP()
        f.append(HandMCAP.header("syncreplay", "hand"))
        f.append(HandMCAP.chunk([0x28, 0xB5, 0x2F, 0xFD, 0, 0], start: 0, end: 0, compression: "zstd", crc: false))
        f.finishWithoutSummary()
        let reader = try TraceReader(bytes: f.bytes)
        #expect(throws: TraceError.compressedChunk(offset: 39, compression: "zstd")) { try reader.readAll() }
        #expect(TraceError.compressedChunk(offset: 34, compression: "zstd").description.contains("compressed chunk (zstd) not supported"))
        #expect(throws: TraceError.self) { try TraceDoctor.examine(source: MCAPMemorySource(f.bytes)) }
    }

    @Test func gigabyteLengthsAreRefusedBeforeAllocating() throws {
        var f = HandMCAP()
        f.append(HandMCAP.header("", "hand"))
        f.append([0x06] + HandMCAP.le(0x0000_0004_0000_0000, 8) + [UInt8](repeating: 0, count: 40))
        #expect(throws: TraceError.lengthOutOfBounds(offset: 29, what: "Chunk record", length: 0x0000_0004_0000_0000, available: 40)) {
            try TraceReader(bytes: f.bytes).readAll()
        }
        // A string length inside a record pointing past the record.
        var g = HandMCAP()
        g.append(HandMCAP.record(0x01, HandMCAP.le(0xFFFF_FFF0, 4) + [1, 2, 3]))
        #expect(throws: TraceError.lengthOutOfBounds(offset: 17, what: "Header field profile", length: 0xFFFF_FFF0, available: 3)) {
            try TraceReader(bytes: g.bytes)
        }
        #expect(throws: TraceError.invalidOpcode(offset: 8)) { try TraceReader(bytes: HandMCAP().bytes + [0] + HandMCAP.le(0, 8)) }
        #expect(throws: TraceError.notMCAP(found: Array("not mcap".utf8))) { try TraceReader(bytes: Array("not mcap at all".utf8)) }
    }

    /// The byte range of every Message record and of every Chunk record of `bytes`, in file
    /// order (from a full walk).
    static func layout(_ bytes: [UInt8]) throws -> (messages: [Range<UInt64>], chunks: [Range<UInt64>]) {
        var walker = MCAPWalker(scanner: try MCAPScanner(source: MCAPMemorySource(bytes)))
        var messages: [Range<UInt64>] = [], chunks: [Range<UInt64>] = []
        while let item = try walker.next() {
            switch item {
            case .topLevel(let r): if case .chunk = r.record { chunks.append(r.offset..<r.offset + r.length) }
            // Prefix, then channel id, sequence, log and publish time (22 bytes), then the data.
            case .inChunk(let offset, _, .message(let m)): messages.append(offset..<offset + 9 + 22 + UInt64(m.data.count))
            default: break
            }
        }
        return (messages, chunks)
    }

    /// Property (issue 16): for every cut point the streaming reader returns every event whose
    /// Message record is complete before the cut — also those inside the chunk the cut tears —
    /// and then an error; recover yields a file that reads cleanly with those same events and
    /// counts the message under the cut, if any, as lost; doctor says what was kept and lost.
    /// On the multi-chunk format fixture and on a corpus trace (one chunk, so every cut but
    /// those in the summary tears it).
    @Test(arguments: ["fixture", "Traces/no-progress-switch-5718.trace"])
    func everyTruncationPointLosesAtMostTheMessageUnderTheCut(_ name: String) throws {
        let full = name == "fixture" ? try TraceFixtures.handwrittenTrace()
            : Array(try Data(contentsOf: SyncReplayProcess.packageDirectory.appendingPathComponent(name)))
        let all = try TraceReader(bytes: full).readAll()
        let (messages, chunks) = try TraceHostileInputTests.layout(full)
        #expect(messages.count == all.count && all.count >= 13)
        // A chunk is torn by every cut after its 49-byte header (opcode, length, times, size,
        // CRC, empty compression, records length) and before its end.
        let tornCuts = chunks.reduce(0) { $0 + Int($1.count) - 49 }
        var torn = 0
        for n in 0..<full.count {
            let cut = Array(full[0..<n])
            let expected = messages.count { $0.upperBound <= UInt64(n) }
            let underCut = messages.contains { $0.lowerBound < UInt64(n) && UInt64(n) < $0.upperBound }
            var got: [TraceEntry] = []
            var failed = false
            do {
                var stream = try TraceReader(bytes: cut).events()
                while let e = try stream.next() { got.append(e) }
            } catch is TraceError {
                failed = true
            }
            #expect(failed, "cut at \(n) read without error")
            #expect(got == Array(all.prefix(expected)), "cut at \(n): \(got.count) events, expected \(expected)")
            guard n >= 8 else {
                #expect(throws: TraceError.self) { try TraceRecovery.recover(source: MCAPMemorySource(cut), into: MCAPMemorySink()) }
                continue
            }
            let sink = MCAPMemorySink()
            let report = try TraceRecovery.recover(source: MCAPMemorySource(cut), into: sink)
            #expect(report.keptMessages == UInt64(expected), "recovered cut at \(n)")
            #expect(report.lostMessages == (underCut ? 1 : 0), "lost, cut at \(n)")
            let recovered = try TraceReader(bytes: sink.bytes)
            #expect(try recovered.readAll() == Array(all.prefix(expected)), "recovered cut at \(n)")
            #expect(recovered.summary != nil)
            // Magic, then the 49-byte Header ("syncreplay", "syncreplay SyncTrace 1") ends at 57.
            if n >= 57 { #expect(recovered.header.profile == "syncreplay") }
            let diagnosis = try TraceDoctor.examine(source: MCAPMemorySource(cut))
            #expect(!diagnosis.isHealthy)
            if diagnosis.problems.contains(where: { $0.message.contains("the file ends inside the chunk") }) {
                torn += 1
                #expect(diagnosis.messageCount == UInt64(expected), "doctor, cut at \(n)")
            }
        }
        #expect(torn == tornCuts)
    }

    /// Property: random byte flips never crash any reader; doctor always notices them, and a
    /// streaming read that succeeds despite a flip returns the original events (the flip hit
    /// the summary, which the streaming reader does not use).
    @Test func randomByteFlipsNeverCrashAndAreDetected() throws {
        let full = try TraceFixtures.handwrittenTrace()
        let all = try TraceReader(bytes: full).readAll()
        var rng = SplitMix64(seed: 0x5eed)
        for round in 0..<1000 {
            var bytes = full
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let i = Int.random(in: 0..<bytes.count, using: &rng)
                bytes[i] ^= UInt8.random(in: 1...255, using: &rng)
            }
            if let reader = try? TraceReader(bytes: bytes) {
                if let entries = try? reader.readAll() {
                    #expect(entries == all, "round \(round): a flip changed events without an error")
                }
                if var s = try? reader.events(fromSequence: 7) { while (try? s.next()) != nil {} }
                if var s = try? reader.events(fromTime: 5_000_000) { while (try? s.next()) != nil {} }
                _ = try? reader.attachments()
            }
            if let d = try? TraceDoctor.examine(source: MCAPMemorySource(bytes)) {
                #expect(!d.isHealthy, "round \(round): doctor missed a flip")
            }
            _ = try? TraceRecovery.recover(source: MCAPMemorySource(bytes), into: MCAPMemorySink())
        }
    }
}
