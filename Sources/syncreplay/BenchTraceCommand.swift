import ArgumentParser
import CommandExit
import Foundation
import SyncTrace

/// `syncreplay bench trace`: trace write and read throughput next to a raw file read of the
/// same file (the `cat FILE > /dev/null` reference), all in one run.
struct BenchTrace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Write and read N small trace events; compare with a raw read of the same file.",
        discussion: """
        Writes N /blocksync events (a BlockRequest each, ~60 bytes of protobuf) with TraceWriter, then for --rounds rounds alternates a raw read of the file in 1 MiB blocks (what `cat FILE > /dev/null` does) with streaming it back through TraceReader (decoding every event and checking every CRC; with more than one core a worker thread reads and CRC-checks chunks ahead of the stream, as replay's does), and seeks to the middle through the index. Prints MB/s and events/s for each (reads: the best round of each) and the stream read's share of the raw read. The file is read from the page cache, so the raw read is the ceiling for the reader.

        Example:
          swift build -c release
          .build/release/syncreplay bench trace --events 1000000
        """
    )

    @Option(help: "Number of events to write and read.")
    var events = 1_000_000

    @Option(help: "Directory for the temporary trace file.")
    var directory: String = FileManager.default.temporaryDirectory.path

    @Option(help: "Rounds of the raw read and the stream read, alternating (the best of each is reported).")
    var rounds = 5

    func validate() throws {
        guard events > 0 && events < Int(UInt32.max) else { throw ValidationError("--events must be between 1 and 4294967294") }
        guard (1...100).contains(rounds) else { throw ValidationError("--rounds must be between 1 and 100") }
    }

    func run() throws {
        let path = URL(fileURLWithPath: directory).appendingPathComponent("syncreplay-bench-\(ProcessInfo.processInfo.processIdentifier).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let peers = (0..<8).map { i in String(repeating: String(i), count: 40) }

        let writeStart = DispatchTime.now()
        let writer = try TraceWriter(path: path)
        for i in 0..<events {
            // BlockRequest{height}: oneof field 1, height field 1 (varint).
            var height = UInt64(i + 1)
            var inner: [UInt8] = [0x08]
            while height >= 0x80 { inner.append(UInt8(truncatingIfNeeded: height) | 0x80); height >>= 7 }
            inner.append(UInt8(height))
            let message = [0x0A, UInt8(inner.count)] + inner
            try writer.append(.blocksync(BlocksyncRecord(peerID: peers[i & 7], direction: i & 1 == 0 ? .outbound : .inbound, message: message)),
                              logTime: UInt64(i) * 1000)
        }
        try writer.finish()
        let writeSeconds = elapsed(since: writeStart)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.doubleValue ?? 0

        // The reference and the work alternate, so a slow stretch of the machine hits both.
        var rawSeconds = Double.infinity, readSeconds = Double.infinity
        for _ in 0..<rounds {
            rawSeconds = min(rawSeconds, try rawRead(path, size: Int(size)))
            readSeconds = min(readSeconds, try streamRead(path))
        }
        let reader = try TraceReader(path: path)

        let seekStart = DispatchTime.now()
        var seek = try reader.events(fromSequence: UInt32(events / 2))
        guard let middle = try seek.next(), middle.sequence == UInt32(events / 2) else {
            throw CommandFailure(.internalError, "seek to sequence \(events / 2) failed")
        }
        let seekSeconds = elapsed(since: seekStart)

        let mb = size / 1e6
        print("trace: \(events) events, \(Int(size)) bytes (\(String(format: "%.1f", size / Double(events))) bytes/event), \(reader.summary?.chunkIndexes.count ?? 0) chunks")
        print(row("write (TraceWriter)", seconds: writeSeconds, mb: mb, events: events))
        print(row("raw read (cat > /dev/null)", seconds: rawSeconds, mb: mb, events: nil))
        print(row("stream read + decode", seconds: readSeconds, mb: mb, events: events)
              + String(format: "   (%.1f%% of the raw read; best of %d alternating rounds)", 100 * rawSeconds / readSeconds, rounds))
        print("  read ahead: \(TraceReader.readsAhead(size: UInt64(size)) ? "on" : "off") (a worker reads and CRC-checks chunks ahead of the stream when more than one core is available and the file is 4 MiB or more; SYNCREPLAY_READ_AHEAD=0 turns it off, 1 on)")
        print(pad("indexed seek to middle") + String(format: " %10.3f ms", seekSeconds * 1000))
    }

    /// Seconds to read the file in 1 MiB blocks (the reference).
    private func rawRead(_ path: String, size: Int) throws -> Double {
        let start = DispatchTime.now()
        var bytes = 0
        guard let handle = FileHandle(forReadingAtPath: path) else { throw TraceError.io(path: path, reason: "cannot open") }
        while let block = try handle.read(upToCount: 1 << 20), !block.isEmpty { bytes += block.count }
        try handle.close()
        let seconds = elapsed(since: start)
        guard bytes == size else { throw CommandFailure(.internalError, "read back \(bytes) of \(size) bytes") }
        return seconds
    }

    /// Seconds to stream and decode every event (the measured work).
    private func streamRead(_ path: String) throws -> Double {
        let start = DispatchTime.now()
        let reader = try TraceReader(path: path)
        var stream = try reader.events()
        var count = 0, payload = 0
        while let e = try stream.next() {
            count += 1
            if case .blocksync(let b) = e.event { payload &+= b.messageBytes.count }
        }
        let seconds = elapsed(since: start)
        guard count == events, payload > 0 else { throw CommandFailure(.internalError, "read back \(count) of \(events) events") }
        return seconds
    }

    private func row(_ name: String, seconds: Double, mb: Double, events: Int?) -> String {
        var s = pad(name) + String(format: " %10.3f s %10.1f MB/s", seconds, mb / seconds)
        if let events { s += String(format: " %12.0f events/s", Double(events) / seconds) }
        return s
    }

    private func pad(_ name: String) -> String {
        name + String(repeating: " ", count: max(0, 28 - name.count))
    }

    private func elapsed(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
