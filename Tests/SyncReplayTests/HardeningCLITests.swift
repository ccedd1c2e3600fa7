import Foundation
import Testing
import PivotHint

/// Bad input to every command that reads a file (common rules, "Bad input"; DESIGN.md §6):
/// exit 2 (1 where the command's contract is "problems found"), stderr exactly one line that
/// names the file and what went wrong, and nothing written on failure.
@Suite struct HardeningCLITests {
    /// A scratch directory holding the bad inputs of one test.
    final class Scratch {
        let dir: URL
        init() throws {
            dir = FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-harden-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        deinit { try? FileManager.default.removeItem(at: dir) }

        func file(_ name: String, _ bytes: [UInt8]) throws -> String {
            let url = dir.appendingPathComponent(name)
            try Data(bytes).write(to: url)
            return url.path
        }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        var contents: [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted() }
    }

    /// The bad inputs every file-reading command gets: name → path.
    static func badInputs(_ s: Scratch, truncatedFrom good: [UInt8]) throws -> [(String, String)] {
        var rng = SplitMix64(seed: 42)
        let garbage = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let sub = s.path("a-directory")
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: true)
        return [("nonexistent", s.path("does-not-exist.bin")),
                ("empty", try s.file("empty.bin", [])),
                ("directory", sub),
                ("truncated", try s.file("truncated.bin", Array(good.prefix(good.count / 3)))),
                ("garbage", try s.file("garbage.bin", garbage))]
    }

    static func expectOneLineNaming(_ r: SyncReplayProcess.Result, _ path: String, _ context: String,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1 && r.stderr.hasSuffix("\n"), "\(context): stderr \(r.stderr.debugDescription)", sourceLocation: sourceLocation)
        #expect(r.stderr.contains((path as NSString).lastPathComponent), "\(context): stderr does not name the file: \(r.stderr)",
                sourceLocation: sourceLocation)
    }

    static var tracePath: String { TraceFixtures.committedHandwrittenPath.path }

    @Test func traceCommands() throws {
        let s = try Scratch()
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.tracePath)))
        for (what, path) in try Self.badInputs(s, truncatedFrom: good) {
            for command in [["inspect"], ["inspect", "--json"], ["cat"], ["cat", "--json"], ["doctor"]] {
                let r = try SyncReplayProcess.run(command + [path])
                // A truncated trace is readable up to the damage: doctor reports problems (1),
                // inspect describes it (0), cat prints the intact prefix then fails (2).
                if what == "truncated" {
                    let expected: Int32 = command[0] == "doctor" ? 1 : command[0] == "inspect" ? 0 : 2
                    #expect(r.status == expected, "\(command) \(what): \(r.stderr)")
                    if expected == 2 { Self.expectOneLineNaming(r, path, "\(command) \(what)") }
                    continue
                }
                #expect(r.status == 2, "\(command) \(what): \(r.status) \(r.stderr)")
                #expect(r.stdout.isEmpty, "\(command) \(what): \(r.stdout)")
                Self.expectOneLineNaming(r, path, "\(command) \(what)")
            }
        }
    }

    @Test func recoverWritesNothingOnFailure() throws {
        let s = try Scratch()
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.tracePath)))
        let inputs = try Self.badInputs(s, truncatedFrom: good)
        let before = s.contents
        for (what, path) in inputs where what != "truncated" {
            let out = s.path("out-\(what).trace")
            let r = try SyncReplayProcess.run(["recover", path, "-o", out])
            #expect(r.status == 2, "\(what): \(r.stderr)")
            Self.expectOneLineNaming(r, path, "recover \(what)")
            #expect(s.contents == before, "recover \(what) left files: \(s.contents)")
        }
        // Output into a directory that does not exist: exit 2, one line, nothing left behind.
        let r = try SyncReplayProcess.run(["recover", Self.tracePath, "-o", s.path("no-such-dir/out.trace")])
        #expect(r.status == 2, "\(r.stderr)")
        Self.expectOneLineNaming(r, "out.trace", "recover into a missing directory")
        #expect(s.contents == before)
        // A truncated input recovers; only OUT appears (no temporary file stays).
        let out = s.path("recovered.trace")
        let ok = try SyncReplayProcess.run(["recover", inputs[3].1, "-o", out])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(s.contents == (before + ["recovered.trace"]).sorted())
    }

    @Test func blockVerify() throws {
        let s = try Scratch()
        let fixtures = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34")
        let block = fixtures.appendingPathComponent("block_at_height_10.json").path
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: block)))
        for (what, path) in try Self.badInputs(s, truncatedFrom: good) {
            for args in [["--block", path],
                         ["--block", block, "--commit", path],
                         ["--block", block, "--validators", path]] {
                let r = try SyncReplayProcess.run(["block", "verify"] + args)
                #expect(r.status == 2, "\(args) \(what): \(r.status) \(r.stderr)")
                Self.expectOneLineNaming(r, path, "block verify \(args[args.count - 2]) \(what)")
            }
        }
    }

    /// Mutated real inputs through every command: exit 0, 1 or 2 as each contract allows,
    /// never 3 or a signal; stderr one line naming the file whenever the input was refused.
    @Test func mutatedInputsThroughEveryCommand() throws {
        let s = try Scratch()
        var rng = FuzzRun.rng(30)
        let trace = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.tracePath)))
        let fixtures = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34")
        let block = try String(contentsOf: fixtures.appendingPathComponent("block_at_height_10.json"), encoding: .utf8)
        let commit = fixtures.appendingPathComponent("commit_at_height_10.json").path
        let genesis = fixtures.appendingPathComponent("genesis.json").path
        func check(_ args: [String], _ path: String, allowed: Set<Int32>) throws {
            let r = try SyncReplayProcess.run(args)
            #expect(allowed.contains(r.status), "\(args): exit \(r.status) \(r.stderr)")
            if r.status == 2 { Self.expectOneLineNaming(r, path, "\(args)") }
        }
        for n in 0..<12 * FuzzRun.scale {
            let t = try s.file("m\(n).trace", Mutator.mutate(trace, &rng))
            try check(["inspect", t], t, allowed: [0, 2])
            try check(["cat", "--json", t], t, allowed: [0, 2])
            try check(["doctor", t], t, allowed: [0, 1, 2])
            try check(["recover", t, "-o", s.path("r\(n).trace")], t, allowed: [0, 2])
            let b = try s.file("b\(n).json", Mutator.mutateJSON(block, &rng))
            try check(["block", "verify", "--block", b, "--commit", commit, "--validators", genesis], b, allowed: [0, 1, 2])
            let h = try s.file("h\(n).bin", Mutator.mutate(SyntheticHint.bytes, &rng))
            try check(["hint", "inspect", h], h, allowed: [0, 2])
            try check(["hint", "verify", h, "--checksum", Self.hintChecksum], h, allowed: [0, 1, 2])
            try check(["hint", "check", h, "--checksum", Self.hintChecksum, "--switch", "91", "109", "--hash", "100:\(SyntheticHint.canon(100).hex)"],
                      h, allowed: [0, 1, 2])
        }
        #expect(!s.contents.contains { $0.contains(".tmp") }, "\(s.contents)")
    }

    /// A file whose name appears inside the error text is still named (short names like
    /// `file` or `t` would fool a substring check).
    @Test func shortFileNamesAreStillNamed() throws {
        let s = try Scratch()
        _ = try s.file("file", Array("not mcap".utf8))
        let r = try SyncReplayProcess.run(["inspect", "file"], workingDirectory: s.dir)
        #expect(r.status == 2)
        #expect(r.stderr.hasPrefix("syncreplay: file: not an MCAP file"), "\(r.stderr)")
    }

    static let hintChecksum = SyntheticHint.checksumHex

    @Test func hintCommands() throws {
        let s = try Scratch()
        for (what, path) in try Self.badInputs(s, truncatedFrom: SyntheticHint.bytes) {
            for args in [["inspect", path],
                         ["verify", path, "--checksum", Self.hintChecksum],
                         ["check", path, "--checksum", Self.hintChecksum, "--extend", "10", Self.hintChecksum]] {
                let r = try SyncReplayProcess.run(["hint"] + args)
                if what == "truncated" && args[0] != "check" {
                    // Header and digests intact, pages missing: inspect describes, verify finds problems.
                    #expect(r.status == (args[0] == "verify" ? 1 : 0), "\(args[0]) \(what): \(r.stderr)")
                    continue
                }
                if what == "truncated" { continue }  // check: the page is lazily loaded, the hint disables itself
                #expect(r.status == 2, "hint \(args[0]) \(what): \(r.status) \(r.stderr)")
                Self.expectOneLineNaming(r, path, "hint \(args[0]) \(what)")
            }
        }
    }

    @Test func hintBuildWritesNothingOnBadHashes() throws {
        let s = try Scratch()
        let params = ["--minor-interval", "2", "--major-interval", "10", "--page-interval", "100",
                      "--range-max", "1000", "--minor-hash-length", "4"]
        var inputs = try Self.badInputs(s, truncatedFrom: Array(String(repeating: String(repeating: "ab", count: 32) + "\n", count: 999).utf8))
        inputs.append(("bad hex", try s.file("bad.hex", Array((String(repeating: "ab", count: 32) + "\nzz\n").utf8))))
        let before = s.contents
        for (what, path) in inputs {
            let out = s.path("out-\(what).bin")
            let r = try SyncReplayProcess.run(["hint", "build", "--hashes", path, "-o", out] + params)
            #expect(r.status == 2, "\(what): \(r.status) \(r.stderr)")
            Self.expectOneLineNaming(r, path, "hint build \(what)")
            #expect(s.contents == before, "hint build \(what) left \(s.contents)")
            if what == "empty" { #expect(r.stderr.contains("has no hashes; range_max 1000 needs every height up to 998"), "\(r.stderr)") }
        }
        // A good list into an unwritable place: exit 2, one line naming OUT.
        let list = try s.file("good.hex", Array((0..<1000).map { _ in String(repeating: "cd", count: 32) + "\n" }.joined().utf8))
        let r = try SyncReplayProcess.run(["hint", "build", "--hashes", list, "-o", s.path("missing/out.bin")] + params)
        #expect(r.status == 2, "\(r.stderr)")
        Self.expectOneLineNaming(r, "out.bin", "hint build into a missing directory")
        let ok = try SyncReplayProcess.run(["hint", "build", "--hashes", list, "-o", s.path("out.bin")] + params)
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(s.contents == (before + ["good.hex", "out.bin"]).sorted())
    }
}

/// `PivotHintWriter.write` is atomic: a failure part-way leaves neither a partial file nor a
/// temporary one, and keeps an existing file.
@Suite struct HardeningHintWriterTests {
    struct Stop: Error {}

    @Test func failedWriteLeavesNothingAndKeepsTheOldFile() throws {
        let s = try HardeningCLITests.Scratch()
        let path = s.path("S.bin")
        let writer = PivotHintWriter(header: SyntheticHint.header)
        #expect(throws: Stop.self) {
            _ = try writer.write(toPath: path) { h in if h == 500 { throw Stop() }; return SyntheticHint.canon(h) }
        }
        #expect(s.contents.isEmpty, "\(s.contents)")
        let checksum = try writer.write(toPath: path, hashAt: SyntheticHint.canon)
        #expect(checksum.hex == SyntheticHint.checksumHex)
        #expect(throws: Stop.self) {
            _ = try writer.write(toPath: path) { h in if h == 500 { throw Stop() }; return SyntheticHint.canon(h) }
        }
        #expect(s.contents == ["S.bin"])
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == SyntheticHint.bytes)
        #expect(throws: PivotHintSourceError.self) { _ = try writer.write(toPath: s.path("missing/S.bin"), hashAt: SyntheticHint.canon) }
        #expect(s.contents == ["S.bin"])
    }
}
