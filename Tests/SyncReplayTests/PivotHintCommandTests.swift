import Foundation
import Testing
import PivotHint

/// `syncreplay hint inspect|verify|check|build` through the built binary.
@Suite struct PivotHintCommandTests {
    typealias S = SyntheticHint

    final class TempDir {
        let url: URL
        init() throws {
            url = FileManager.default.temporaryDirectory.appendingPathComponent("hint-cli-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        }
        func path(_ name: String) -> String { url.appendingPathComponent(name).path }
        func write(_ name: String, _ bytes: [UInt8]) throws -> String {
            try Data(bytes).write(to: url.appendingPathComponent(name))
            return path(name)
        }
        deinit { try? FileManager.default.removeItem(at: url) }
    }

    static let buildArguments = ["--minor-interval", "2", "--major-interval", "10", "--page-interval", "100",
                                 "--range-max", "1000", "--minor-hash-length", "4"]

    @Test func buildFromHexLinesAndBinaryGivesS() throws {
        let dir = try TempDir()
        let chain = (UInt64(0)..<1000).map(S.canon)
        let hexPath = try dir.write("chain.hex", Array(chain.map(\.hex).joined(separator: "\n").utf8))
        let binPath = try dir.write("chain.bin", chain.flatMap(\.bytes))
        for (input, output) in [(hexPath, "a.bin"), (binPath, "b.bin")] {
            let r = try SyncReplayProcess.run(["hint", "build", "--hashes", input] + Self.buildArguments + ["-o", dir.path(output)])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("checksum: \(S.checksumHex)"))
            #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.path(output)))) == S.bytes)
        }
        let short = try dir.write("short.bin", chain.prefix(998).flatMap(\.bytes))
        let r = try SyncReplayProcess.run(["hint", "build", "--hashes", short] + Self.buildArguments + ["-o", dir.path("c.bin")])
        #expect(r.status == 2)
        #expect(r.stderr.contains("needs every height up to 998"))
        let bad = try SyncReplayProcess.run(["hint", "build", "--hashes", binPath, "--minor-interval", "3", "--major-interval", "10",
                                             "--page-interval", "100", "--range-max", "1000", "--minor-hash-length", "4", "-o", dir.path("d.bin")])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("Inconsistent header params: major_interval"))
    }

    @Test func inspectAndVerify() throws {
        let dir = try TempDir()
        let good = try dir.write("S.bin", S.bytes)
        let inspect = try SyncReplayProcess.run(["hint", "inspect", good])
        #expect(inspect.status == 0)
        for line in ["minor_interval: 2", "range_max: 1000", "page_bytes: 520", "pages: 10", "expected_size: 5548",
                     "actual_size: 5548 (matches)", "checksum: \(S.checksumHex)"] {
            #expect(inspect.stdout.contains(line), "\(line)")
        }
        let ok = try SyncReplayProcess.run(["hint", "verify", good, "--checksum", S.checksumHex])
        #expect(ok.status == 0 && ok.stdout.contains("pages: 10 of 10 verify"))

        let truncated = try dir.write("T.bin", Array(S.bytes.prefix(2948)))
        let shortInspect = try SyncReplayProcess.run(["hint", "inspect", truncated])
        #expect(shortInspect.status == 0 && shortInspect.stdout.contains("2600 bytes short: pages from 5 on"))
        let bad = try SyncReplayProcess.run(["hint", "verify", truncated, "--checksum", S.checksumHex])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("page 5: Cannot load the page") && bad.stdout.contains("pages: 5 of 10 verify"))

        let wrong = try SyncReplayProcess.run(["hint", "verify", good, "--checksum", String(repeating: "0", count: 64)])
        #expect(wrong.status == 1 && wrong.stdout.contains("Incorrect checksum"))
        let header = try SyncReplayProcess.run(["hint", "verify", try dir.write("H.bin", Array(S.bytes.prefix(20))), "--checksum", S.checksumHex])
        #expect(header.status == 2 && header.stderr.contains("Cannot load header"))
    }

    @Test func checkPrintsDecisionsWithExitCodes() throws {
        let dir = try TempDir()
        let file = try dir.write("S.bin", S.bytes)
        let base = ["hint", "check", file, "--checksum", S.checksumHex]
        let allowed = try SyncReplayProcess.run(base + ["--switch", "1", "5", "--hash", "4:\(S.canon(4).hex)"])
        #expect(allowed.status == 0)
        #expect(allowed.stdout.contains(#""reason":"minor_match""#) && allowed.stdout.contains(#""check_height":4"#))
        let denied = try SyncReplayProcess.run(base + ["--switch", "3", "10", "--hash", "10:\(S.pcoll(10).hex)"])
        #expect(denied.status == 1 && denied.stdout.contains(#""reason":"major_mismatch""#))
        let missing = try SyncReplayProcess.run(base + ["--switch", "91", "109", "--hash", "108:\(S.canon(108).hex)"])
        #expect(missing.status == 2 && missing.stderr.contains("check height is 100: add --hash 100:"))
        let uncovered = try SyncReplayProcess.run(base + ["--switch", "999", "5000"])
        #expect(uncovered.status == 0 && uncovered.stdout.contains(#""reason":"not_covered""#))
        let zero = try SyncReplayProcess.run(base + ["--switch", "0", "5"])
        #expect(zero.status == 2 && zero.stderr.contains("fork_at must be at least 1"))
        let extend = try SyncReplayProcess.run(base + ["--extend", "8", S.foreign(8).hex])
        #expect(extend.status == 1 && extend.stdout.contains(#""reason":"minor_mismatch""#))
        let usage = try SyncReplayProcess.run(base + ["--switch", "1"])
        #expect(usage.status == 2)
        let checksum = try SyncReplayProcess.run(["hint", "check", file, "--checksum", "xyz", "--switch", "1", "5"])
        #expect(checksum.status == 2)

        var corrupt = S.bytes
        corrupt[28 + 320 + 3 * 520 + 5] ^= 0xff
        let broken = try dir.write("C.bin", corrupt)
        let disabled = try SyncReplayProcess.run(["hint", "check", broken, "--checksum", S.checksumHex,
                                                  "--switch", "301", "305", "--hash", "304:\(S.foreign(304).hex)"])
        #expect(disabled.status == 0 && disabled.stdout.contains(#""reason":"hint_disabled""#))
        #expect(disabled.stderr.contains("Failed to load pivot hint page 3, pivot hint check disabled: Incorrect checksum"))
    }
}
