import ArgumentParser
import CommandExit
import Foundation
import Keccak
import PivotHint

/// `syncreplay bench hint`: pivot-hint throughput next to raw Keccak-256 and raw file-read
/// speed measured in the same run (README "Pivot hint").
struct HintBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hint",
        abstract: "Measure allowSwitch checks/s and hint load + verification time against raw Keccak-256.",
        discussion: """
        1. Raw Keccak-256 throughput over a 64 MiB buffer (the physical reference).

        2. allowSwitch checks/s on a generated 1,000,000-height file (the sample's parameters 5/100/20000/4) read through the file source: warm (check heights in 5 cached pages) and cold (every check misses the 5-page LRU and loads and verifies a page).

        3. Load (header, digests, checksum) and full verification of every page of a generated file with --large-range-max heights (default 107,000,000, the size of Conflux's mainnet file, 120 MB), next to a plain sequential read of the same file. The file is written to a temporary directory and deleted afterwards.

        Build in release first: swift build -c release

        Example:
          .build/release/syncreplay bench hint
        """
    )

    @Option(help: "Warm allowSwitch checks to time.") var warmChecks = 1_000_000
    @Option(help: "Cold allowSwitch checks to time (each loads a page).") var coldChecks = 20_000
    @Option(help: "range_max of the large file (a multiple of 20000; 0 skips it).") var largeRangeMax: UInt64 = 107_000_000
    @Option(help: "Directory for the temporary files.") var directory: String = NSTemporaryDirectory()

    /// A deterministic synthetic pivot chain (SplitMix64 of the height): cheap, so generation
    /// does not dominate the figures.
    static func chainHash(_ height: UInt64) -> PivotHash {
        var rng = SplitMix64(seed: height &* 0x2545_F491_4F6C_DD1D)
        return PivotHash(rng.hash32())!
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    static func time<T>(_ body: () throws -> T) rethrows -> (T, Double) {
        let clock = ContinuousClock()
        let start = clock.now
        let value = try body()
        return (value, seconds(clock.now - start))
    }

    static func rate(_ x: Double) -> String { String(format: "%.1f", x) }

    func run() throws {
        let workDir = URL(fileURLWithPath: directory).appendingPathComponent("syncreplay-bench-hint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workDir) }

        // 1. Raw Keccak-256.
        let buffer = (0..<(64 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        _ = Keccak256.hash(buffer[0..<(1 << 20)])
        var keccakMBs = 0.0
        for _ in 0..<3 {
            let (_, t) = Self.time { Keccak256.hash(buffer) }
            keccakMBs = max(keccakMBs, Double(buffer.count) / t / 1e6)
        }
        print("raw keccak256: \(Self.rate(keccakMBs)) MB/s (64 MiB buffer, best of 3)")
        // The same in page-sized pieces, the shape of page verification.
        var pageKeccakMBs = 0.0
        for _ in 0..<3 {
            let (_, t) = Self.time { () -> Int in
                var start = 0, sink = 0
                while start + 22_400 <= buffer.count {
                    sink &+= Int(Keccak256.hash(buffer[start..<(start + 22_400)])[0])
                    start += 22_400
                }
                return sink
            }
            pageKeccakMBs = max(pageKeccakMBs, Double(buffer.count / 22_400 * 22_400) / t / 1e6)
        }
        print("raw keccak256 over 22,400 B pages: \(Self.rate(pageKeccakMBs)) MB/s (best of 3)")

        // 2. allowSwitch on a 1,000,000-height file.
        let header = try PivotHintHeader(minorInterval: 5, majorInterval: 100, pageInterval: 20_000,
                                         rangeMax: 1_000_000, minorHashLength: 4)
        let smallPath = workDir.appendingPathComponent("hint-1000000.bin").path
        let checksum = try PivotHintWriter(header: header).write(toPath: smallPath, hashAt: Self.chainHash)
        var hint = try PivotHint(source: PivotHintFileSource(path: smallPath), checksum: checksum)
        var rng = SplitMix64(seed: 7)
        // Warm: fork points in pages 0–4, all cached after the first touches.
        let warm = (0..<warmChecks).map { _ -> (UInt64, UInt64) in
            let forkAt = 1 + rng.next() % 99_000
            return (forkAt, forkAt + rng.next() % 200)
        }
        for page in UInt64(0)..<5 { _ = hint.allowExtend(height: page * 20_000, hash: Self.chainHash(page * 20_000)) }
        let loadsBefore = hint.pageLoadCount
        var denied = 0
        let (_, warmTime) = try Self.time {
            for (f, m) in warm {
                if try !hint.allowSwitch(forkAt: f, meHeight: m, ancestorHashAt: Self.chainHash).allowed { denied += 1 }
            }
        }
        let warmLoads = hint.pageLoadCount - loadsBefore
        print("allowSwitch warm: \(Self.rate(Double(warmChecks) / warmTime)) checks/s (\(warmChecks) checks, \(warmLoads) page loads, \(denied) denied)")
        // Cold: pages visited with stride 7 over 50 pages, so every check misses the 5-page LRU.
        let cold = (0..<coldChecks).map { i -> (UInt64, UInt64) in
            let page = UInt64(i * 7 % 50)
            let forkAt = page * 20_000 + 1 + rng.next() % 19_000
            return (forkAt, forkAt + rng.next() % 200)
        }
        let coldBefore = hint.pageLoadCount
        let (_, coldTime) = try Self.time {
            for (f, m) in cold {
                if try !hint.allowSwitch(forkAt: f, meHeight: m, ancestorHashAt: Self.chainHash).allowed { denied += 1 }
            }
        }
        let coldLoads = hint.pageLoadCount - coldBefore
        let coldMBs = Double(coldLoads * header.pageBytes) / coldTime / 1e6
        print("allowSwitch cold: \(Self.rate(Double(coldChecks) / coldTime)) checks/s (\(coldChecks) checks, \(coldLoads) page loads of \(header.pageBytes) B = \(Self.rate(coldMBs)) MB/s read+verified, \(denied) denied)")
        guard denied == 0, hint.isActive else { throw CommandFailure.internalFailure("canonical hashes were denied") }

        // 3. The mainnet-sized file.
        guard largeRangeMax > 0 else { return }
        let large = try PivotHintHeader(minorInterval: 5, majorInterval: 100, pageInterval: 20_000,
                                        rangeMax: largeRangeMax, minorHashLength: 4)
        let largePath = workDir.appendingPathComponent("hint-\(largeRangeMax).bin").path
        let (largeChecksum, writeTime) = try Self.time {
            try PivotHintWriter(header: large).write(toPath: largePath, hashAt: Self.chainHash)
        }
        let sizeMB = Double(large.expectedFileSize) / 1e6
        print("generated range_max \(largeRangeMax): \(large.expectedFileSize) B, \(large.pageCount) pages in \(Self.rate(writeTime)) s")
        let (readBytes, readTime) = try Self.time { () throws -> Int in
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: largePath))
            defer { try? handle.close() }
            var total = 0
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty { total += chunk.count }
            return total
        }
        print("raw sequential read: \(Self.rate(Double(readBytes) / readTime / 1e6)) MB/s (\(readBytes) B in \(String(format: "%.3f", readTime)) s)")
        let (loaded, loadTime) = try Self.time {
            try PivotHint(file: PivotHintFile(path: largePath), checksum: largeChecksum)
        }
        print("load (header + \(large.digestPartBytes) B digests + checksum): \(String(format: "%.2f", loadTime * 1e3)) ms")
        var verifyTime = Double.infinity
        for _ in 0..<3 {
            let (failures, t) = Self.time { loaded.file.verifyPages() }
            guard failures.isEmpty else { throw CommandFailure.internalFailure("generated file failed verification") }
            verifyTime = min(verifyTime, t)
        }
        print("full verification of \(large.pageCount) pages: \(String(format: "%.3f", verifyTime)) s = \(Self.rate(sizeMB / verifyTime)) MB/s (best of 3); raw keccak alone would take \(String(format: "%.3f", sizeMB / keccakMBs)) s")
    }
}

extension CommandFailure {
    static func internalFailure(_ message: String) -> CommandFailure { .init(.internalError, message) }
}
