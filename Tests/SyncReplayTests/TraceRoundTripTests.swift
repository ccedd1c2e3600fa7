import Foundation
import Testing
import SyncTrace

@Suite struct TraceFixtureTests {
    /// `Tests/Fixtures/example-handwritten.trace` is exactly what the fixture builder writes (the
    /// writer is deterministic). With SYNCREPLAY_WRITE_FIXTURES=1 the test rewrites the file.
    @Test func committedHandwrittenTraceMatchesBuilder() throws {
        let built = try TraceFixtures.handwrittenTrace()
        let url = TraceFixtures.committedHandwrittenPath
        if ProcessInfo.processInfo.environment["SYNCREPLAY_WRITE_FIXTURES"] == "1" {
            try Data(built).write(to: url)
        }
        let committed = try [UInt8](Data(contentsOf: url))
        #expect(committed == built, "regenerate with SYNCREPLAY_WRITE_FIXTURES=1 swift test --filter TraceFixtureTests")
    }

    @Test func builderIsDeterministic() throws {
        #expect(try TraceFixtures.handwrittenTrace() == TraceFixtures.handwrittenTrace())
    }
}

@Suite struct TraceRoundTripTests {
    @Test func handwrittenEventsRoundTrip() throws {
        let reader = try TraceReader(bytes: try TraceFixtures.handwrittenTrace())
        let entries = try reader.readAll()
        let expected = TraceFixtures.handwrittenEvents()
        #expect(entries.count == expected.count)
        for (i, entry) in entries.enumerated() {
            #expect(entry.sequence == UInt32(i + 1))
            #expect(entry.logTime == expected[i].0)
            #expect(entry.event == expected[i].1)
        }
        let attachments = try reader.attachments()
        #expect(attachments.map(\.name) == ["provenance.txt"])
        #expect(attachments.first?.storedCRC == attachments.first?.computedCRC)
    }

    /// Property: random event sequences (random kinds, field values, gaps in time, chunk
    /// sizes) come back exactly, streaming and through the index.
    @Test(arguments: 0..<20)
    func randomEventsRoundTrip(seed: UInt64) throws {
        var rng = SplitMix64(seed: seed)
        let count = Int.random(in: 0...300, using: &rng)
        var time: UInt64 = UInt64.random(in: 0...1_000_000, using: &rng)
        var events: [(UInt64, TraceEvent)] = []
        for _ in 0..<count {
            time += Bool.random(using: &rng) ? 0 : UInt64.random(in: 1...10_000_000, using: &rng)
            events.append((time, TraceFixtures.randomEvent(&rng)))
        }
        let sink = MCAPMemorySink()
        let writer = try TraceWriter(sink: sink, chunkSize: Int.random(in: 1...4096, using: &rng))
        for (t, e) in events { try writer.append(e, logTime: t) }
        try writer.finish()

        let reader = try TraceReader(bytes: sink.bytes)
        let entries = try reader.readAll()
        #expect(entries.map(\.event) == events.map(\.1))
        #expect(entries.map(\.logTime) == events.map(\.0))
        #expect(entries.map(\.sequence) == (0..<count).map { UInt32($0 + 1) })
        #expect(try TraceDoctor.examine(source: MCAPMemorySource(sink.bytes)).problems.isEmpty)

        // Indexed seeks agree with filtering the full list.
        if !events.isEmpty {
            for _ in 0..<5 {
                let target = events[Int.random(in: 0..<count, using: &rng)].0
                var stream = try reader.events(fromTime: target)
                var got: [TraceEntry] = []
                while let e = try stream.next() { got.append(e) }
                #expect(got == entries.filter { $0.logTime >= target })
                let seq = UInt32.random(in: 0...UInt32(count + 1), using: &rng)
                var byseq = try reader.events(fromSequence: seq)
                got = []
                while let e = try byseq.next() { got.append(e) }
                #expect(got == entries.filter { $0.sequence >= seq })
            }
        }
    }

    @Test func writerRejectsTimeGoingBackwards() throws {
        let writer = try TraceWriter(sink: MCAPMemorySink())
        try writer.append(.p2p(PeerRecord(peerID: "a", kind: .connected)), logTime: 10)
        #expect(throws: TraceError.timeWentBackwards(previous: 10, logTime: 9)) {
            try writer.append(.p2p(PeerRecord(peerID: "a", kind: .disconnected)), logTime: 9)
        }
        try writer.finish()
        #expect(throws: TraceError.writerFinished) { try writer.finish() }
    }

    @Test func fileWriterFlushesEachChunk() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synctrace-flush-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try TraceWriter(path: path, chunkSize: 100)
        for i in 0..<50 {
            try writer.append(.blocksync(BlocksyncRecord(peerID: "p", direction: .inbound, message: TraceFixtures.blockRequest(Int64(i)))), logTime: UInt64(i))
        }
        // Not finished: the complete chunks are already on disk and readable as a prefix.
        var stream = try TraceReader(path: path).events()
        var n = 0
        do { while try stream.next() != nil { n += 1 } } catch let e as TraceError {
            guard case .truncated = e else { throw e }
        }
        #expect(n > 40 && n < 50)
        try writer.finish()
        #expect(try TraceReader(path: path).readAll().count == 50)
    }

    /// More peer ids than the stream's table keeps (64), many sharing their first 8 bytes or
    /// differing only in length, interleaved: every event streams back with its own id.
    @Test func manyPeerIDsStreamBackWhole() throws {
        let ids = (0..<100).map { "peerpeer" + String(repeating: "x", count: $0 % 7) + String($0) } + ["peerpeer", "peerpee", "p", "pé", ""]
        var written: [TraceEvent] = []
        for round in 0..<3 {
            for (k, id) in ids.enumerated() {
                let message = TraceFixtures.blockRequest(Int64(round * 1000 + k))
                written.append(.blocksync(BlocksyncRecord(peerID: id, direction: k % 2 == 0 ? .inbound : .outbound, message: message)))
            }
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("synctrace-peers-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let writer = try TraceWriter(path: path, chunkSize: 1000)
        for (i, e) in written.enumerated() { try writer.append(e, logTime: UInt64(i)) }
        try writer.finish()
        #expect(try TraceReader(path: path).readAll().map(\.event) == written)
    }
}

@Suite struct TraceIndexedReaderTests {
    @Test func seeksIntoTheCommittedTrace() throws {
        let reader = try TraceReader(path: TraceFixtures.committedHandwrittenPath.path)
        #expect(reader.summary?.chunkIndexes.count == 5)
        var byTime = try reader.events(fromTime: 5_000_000)
        #expect(try byTime.next()?.sequence == 7)
        var bySequence = try reader.events(fromSequence: 12)
        #expect(try bySequence.next()?.logTime == 16_000_000)
        #expect(try bySequence.next()?.sequence == 13)
        #expect(try bySequence.next() == nil)
        var pastEnd = try reader.events(fromTime: 31_000_000)
        #expect(try pastEnd.next() == nil)
        var seen: [UInt32] = []
        try reader.forEach { seen.append($0.sequence) }
        #expect(seen == Array(1...13))
    }
}
