import SyncMachine
import Foundation
import Replay
import Testing
import JSON

/// `syncreplay TRACE --expect GOLDEN` end to end, through the built binary (DESIGN.md §4, §6).
@Suite final class ReplayCommandTests {
    let dir: URL
    let trace: String
    let golden: String

    init() throws {
        dir = try ReplayFixtures.directory()
        trace = try ReplayFixtures.writeTrace(at: dir.appendingPathComponent("fork.trace"))
        golden = dir.appendingPathComponent("fork.golden.json").path
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func run(_ args: [String], ci: Bool = false) throws -> SyncReplayProcess.Result {
        try SyncReplayProcess.run(args, environment: ReplayFixtures.environment(ci: ci))
    }

    /// Records the standard golden and returns its text.
    @discardableResult
    func recordGolden() throws -> String {
        let r = try run([trace, "--record", "missing"])
        #expect(r.status == 0, "\(r.stderr)")
        return ReplayFixtures.read(golden)
    }

    /// Replaces the trace with a variant (the golden keeps the standard decisions).
    func rewriteTrace(_ variant: ReplayFixtures.Variant) throws {
        try ReplayFixtures.writeTrace(at: URL(fileURLWithPath: trace), variant: variant)
    }

    @Test func recordMissingThenMatch() throws {
        let text = try recordGolden()
        #expect(text.contains(#""kind":"pivot_switch","me_height":305,"reason":"minor_match","section":"minor""#))
        #expect(!text.contains(#""profile""#))  // pivot events only: no block-sync profile (issue 17)
        #expect(text.contains(#""mode":"reactive""#))
        let r = try run([trace, "--expect", golden])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("ok fork: 13 decisions match"))
        // The subcommand spelling works the same way.
        #expect(try run(["replay", trace, "--expect", golden]).status == 0)
        // --record missing does not touch an existing golden.
        let again = try run([trace, "--record", "missing"])
        #expect(again.status == 0)
        #expect(ReplayFixtures.read(golden) == text)
    }

    @Test func pivotDecisionsCoverEveryBranch() throws {
        let text = try recordGolden()
        for reason in ["minor_match", "major_match", "major_mismatch", "beyond_range", "not_covered", "minor_mismatch"] {
            #expect(text.contains("\"reason\":\"\(reason)\""), "missing \(reason)")
        }
        #expect(text.contains(#"{"allowed":false,"check_height":200,"event":3,"fork_at":150,"kind":"pivot_switch","me_height":205,"reason":"major_mismatch","section":"major","t":3000000}"#))
    }

    @Test func changedDecisionReport() throws {
        try recordGolden()
        try rewriteTrace(.flippedSwitch)
        // The trace changed, so its sha256 no longer matches: exit 2 without --record all.
        let refused = try run([trace, "--expect", golden])
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("different trace"))
        // Compare against a golden whose provenance names the new trace.
        try retargetGolden()
        let r = try run([trace, "--expect", golden])
        #expect(r.status == 1)
        #expect(r.stdout.contains("first divergence at decision #2 (/decisions/2/allowed): expected false, got true"))
        #expect(r.stdout.contains("caused by input event #3 (t=+0.003000000s virtual, seq=4, pivot switch fork_at=150 me_height=205"))
        #expect(r.stdout.contains("/decisions/2/reason   expected \"major_mismatch\"   got \"major_match\""))
        #expect(r.stdout.contains("context: events 0..6"))
        #expect(r.stdout.contains("summary: 2 paths differ in 1 decision; 0 missing, 0 extra"))
        #expect(r.stdout.contains("reproduce: syncreplay \(trace) --expect \(golden) --mode reactive"))
        #expect(r.stdout.contains("update:    syncreplay \(trace) --expect \(golden) --record failed"))
        // A pending golden is written beside it (CI unset), and it matches the new behaviour.
        let pending = dir.appendingPathComponent("fork.golden.new.json").path
        #expect(FileManager.default.fileExists(atPath: pending))
        #expect(try run([trace, "--expect", pending]).status == 0)
    }

    @Test func jsonReportIsOnlyJSON() throws {
        try recordGolden()
        try rewriteTrace(.extraExtend)
        try retargetGolden()
        let r = try run([trace, "--expect", golden, "--report", "json"])
        #expect(r.status == 1)
        let json = try JSONParser.parse(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        #expect(json["status"] == .string("fail"))
        let first = json["first_divergence"]
        #expect(first?["type"] == .string("extra"))
        #expect(first?["pointer"] == .string("/decisions/9"))
        #expect(first?["actual"]?["height"] == .uint(21) || first?["actual"]?["height"] == .int(21))
        #expect(first?["cause"]?["index"] == .int(10))
        #expect(json["summary"]?["extra"] == .int(1))
        #expect(json["summary"]?["missing"] == .int(0))
        // The four later extends moved by one event (t and event differ): aligned, not extra.
        #expect(json["summary"]?["changed"] == .int(4))
        #expect(json["reproduce"]?.stringValue?.hasPrefix("syncreplay ") == true)
    }

    @Test func missingDecisionIsOneDivergence() throws {
        try recordGolden()
        try rewriteTrace(.droppedExtend)
        try retargetGolden()
        let r = try run([trace, "--expect", golden, "--report", "json"])
        #expect(r.status == 1)
        let json = try JSONParser.parse(r.stdout)
        #expect(json["first_divergence"]?["type"] == .string("missing"))
        #expect(json["first_divergence"]?["pointer"] == .string("/decisions/9"))
        #expect(json["summary"]?["missing"] == .int(1))
        #expect(json["summary"]?["extra"] == .int(0))
        // Later decisions have other event indices (one event fewer), so they differ in "event"
        // and "t" — but they are aligned, not reported missing or extra.
        #expect(json["summary"]?["changed"] == .int(3))
    }

    @Test func unknownHeightIsAnExplicitDecision() throws {
        try rewriteTrace(.missingBranchHash)
        let r = try run([trace, "--record", "missing"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(ReplayFixtures.read(golden).contains(#"{"event":6,"fork_at":401,"height":450,"kind":"unknown","me_height":455,"t":6000000}"#))
    }

    @Test func recordModes() throws {
        try recordGolden()
        try rewriteTrace(.flippedSwitch)
        try retargetGolden()
        let before = ReplayFixtures.read(golden)
        // CI=true: refused, exit 2, nothing written.
        let ci = try run([trace, "--expect", golden, "--record", "failed"], ci: true)
        #expect(ci.status == 2)
        #expect(ci.stderr.contains("CI=true"))
        #expect(ReplayFixtures.read(golden) == before)
        // CI=true without --record: fails, but writes no pending file.
        let ciFail = try run([trace, "--expect", golden], ci: true)
        #expect(ciFail.status == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("fork.golden.new.json").path))
        // --record failed rewrites the failing golden; then it matches.
        let failed = try run([trace, "--expect", golden, "--record", "failed"])
        #expect(failed.status == 0)
        #expect(failed.stdout.hasPrefix("recorded "))
        #expect(ReplayFixtures.read(golden) != before)
        #expect(try run([trace, "--expect", golden]).status == 0)
        // A pending golden from an earlier failure is removed once the golden is current.
        let stale = dir.appendingPathComponent("fork.golden.new.json")
        try Data("{}".utf8).write(to: stale)
        #expect(try run([trace, "--expect", golden]).status == 0)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        // --record all rewrites even a golden recorded from another trace.
        try rewriteTrace(.standard)
        #expect(try run([trace, "--expect", golden]).status == 2)
        #expect(try run([trace, "--expect", golden, "--record", "all"]).status == 0)
        #expect(try run([trace, "--expect", golden]).status == 0)
    }

    @Test func badInputExitsTwoAndWritesNothing() throws {
        // No golden and no --record.
        let none = try run([trace])
        #expect(none.status == 2)
        #expect(none.stderr.contains("--record missing"))
        #expect(!FileManager.default.fileExists(atPath: golden))
        try recordGolden()
        // A profile means nothing for a pivot-only trace: ignored with a note, not a conflict.
        let ignored = try run([trace, "--expect", golden, "--profile", "tm-v0.34"])
        #expect(ignored.status == 0)
        #expect(ignored.stderr.contains("note: --profile tm-v0.34 ignored: \(trace) has no /blocksync events"))
        // Conflicting options.
        #expect(try run([trace, "--expect", golden, "--mode", "strict"]).status == 2)
        // Unknown profile (argument parsing).
        #expect(try run([trace, "--profile", "tm-v0.99"]).status == 2)
        // Golden of another schema version, and a damaged golden.
        let other = dir.appendingPathComponent("other.golden.json").path
        try Data(ReplayFixtures.read(golden).replacingOccurrences(of: "syncreplay-golden/1", with: "syncreplay-golden/2").utf8)
            .write(to: URL(fileURLWithPath: other))
        let schema = try run([trace, "--expect", other])
        #expect(schema.status == 2)
        #expect(schema.stderr.contains("golden schema \"syncreplay-golden/2\""))
        try Data("{\"decisions\": [".utf8).write(to: URL(fileURLWithPath: other))
        let broken = try run([trace, "--expect", other])
        #expect(broken.status == 2)
        #expect(broken.stderr.contains("line 1"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("other.golden.new.json").path))
        // Missing trace.
        #expect(try run([dir.appendingPathComponent("nope.trace").path]).status == 2)
    }

    @Test func damagedTraceIsRefusedWithRecoverPointer() throws {
        try recordGolden()
        let bytes = [UInt8](FileManager.default.contents(atPath: trace)!)
        // Cut the footer and summary away: the data is intact but the trace is shortened.
        try Data(bytes.prefix(bytes.count - 40)).write(to: URL(fileURLWithPath: trace))
        let cut = try run([trace, "--expect", golden])
        #expect(cut.status == 2)
        #expect(cut.stderr.contains("syncreplay recover"))
        // Flip a byte of a recorded hash inside the first chunk: its CRC no longer matches.
        let needle = ReplayFixtures.canon(304)
        let at = try #require((0...(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
        var flipped = bytes
        flipped[at] ^= 0xFF
        try Data(flipped).write(to: URL(fileURLWithPath: trace))
        let crc = try run([trace, "--expect", golden])
        #expect(crc.status == 2)
        #expect(crc.stderr.contains("syncreplay recover"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("fork.golden.new.json").path))
    }

    @Test func explicitHintOptions() throws {
        // A trace without the attachment needs --hint and --hint-checksum.
        try ReplayFixtures.writeTrace(at: URL(fileURLWithPath: trace), attachHint: false)
        let none = try run([trace, "--record", "missing"])
        #expect(none.status == 2)
        #expect(none.stderr.contains("--hint FILE --hint-checksum HEX"))
        let hintPath = dir.appendingPathComponent("hint.bin").path
        try Data(SyntheticHint.bytes).write(to: URL(fileURLWithPath: hintPath))
        let wrong = try run([trace, "--hint", hintPath, "--hint-checksum", String(repeating: "0", count: 64), "--record", "missing"])
        #expect(wrong.status == 2)
        #expect(!FileManager.default.fileExists(atPath: golden))
        let ok = try run([trace, "--hint", hintPath, "--hint-checksum", SyntheticHint.checksumHex, "--record", "missing"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(try run([trace, "--hint", hintPath, "--hint-checksum", SyntheticHint.checksumHex]).status == 0)
    }

    @Test func hintDisabledByAMissingPage() throws {
        // Pages 5–9 cut off (specs/conflux-pivot-hint.md §8.4 scenario 2); an extend at 600
        // needs page 6: the hint disables itself, allows, and stays inactive afterwards.
        let truncated = Array(SyntheticHint.bytes.prefix(2948))
        try ReplayFixtures.writeTrace(at: URL(fileURLWithPath: trace), variant: .farExtend, hintBytes: truncated)
        let r = try run([trace, "--record", "missing"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = ReplayFixtures.read(golden).split(separator: "\n").map(String.init)
        let i = try #require(lines.firstIndex { $0.contains(#""height":600,"kind":"pivot_extend","reason":"hint_disabled""#) })
        #expect(lines[i + 1].contains(#""kind":"hint_disabled","page":6"#))
        #expect(lines[i + 2].contains(#""height":44,"kind":"pivot_extend","reason":"hint_inactive""#))
    }

    @Test func determinismAcrossProcesses() throws {
        try recordGolden()
        let ok = try run([trace, "--check-determinism"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.hasPrefix("deterministic: 2 processes gave digest "))
        // A planted Dictionary-order dependence differs between processes: exit 4, own report.
        let planted = try run([trace, "--check-determinism", "--plant-dictionary-order"])
        #expect(planted.status == 4, "\(planted.stdout)\(planted.stderr)")
        #expect(planted.stdout.hasPrefix("NONDETERMINISM "))
        #expect(planted.stdout.contains("first difference at decision #"))
        let json = try run([trace, "--check-determinism", "--plant-dictionary-order", "--report", "json"])
        #expect(json.status == 4)
        #expect(try JSONParser.parse(json.stdout)["status"] == .string("nondeterministic"))
    }

    /// The children of `--check-determinism` replay with the parent's resolved options. Here the
    /// golden is `c.golden.json` (strict, cometbft-v0.38) and `--profile cometbft-v0.38` is given:
    /// replay compares with that golden, so the mode is strict, and so must the children's be
    /// (they once looked for `c.cometbft-v0.38.golden.json` and fell back to reactive).
    @Test func determinismChildrenGetTheParentsOptions() throws {
        let corpus = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces")
        let c = dir.appendingPathComponent("c.trace").path
        try FileManager.default.copyItem(atPath: corpus.appendingPathComponent("catchup-basic.trace").path, toPath: c)
        try FileManager.default.copyItem(atPath: corpus.appendingPathComponent("catchup-basic.cometbft-v0.38.golden.json").path,
                                         toPath: dir.appendingPathComponent("c.golden.json").path)
        let replayed = try run([c, "--profile", "cometbft-v0.38"])
        #expect(replayed.status == 0 && replayed.stdout.contains("(profile cometbft-v0.38, mode strict)"), "\(replayed.stdout)\(replayed.stderr)")
        let checked = try run([c, "--profile", "cometbft-v0.38", "--check-determinism", "--report", "json"])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        let json = try JSONParser.parse(checked.stdout)
        #expect(json["options"] == .array(["--profile", "cometbft-v0.38", "--mode", "strict", "--max-span", "7d"].map { .string($0) }))
        // A child given only part of the options refuses rather than resolving on its own.
        let child = try run([c, "--emit-decisions", "--profile", "cometbft-v0.38"])
        #expect(child.status == 2, "\(child.stderr)")
    }

    /// Points the golden's provenance at the current trace (as a reviewer re-recording only the
    /// provenance would), keeping its decisions.
    func retargetGolden() throws {
        let data = FileManager.default.contents(atPath: golden)!
        var g = try GoldenFile.decode(Array(data))
        let sha = try ReplayTraceLoader.load(path: trace).sha256
        g.provenance.traceSHA256 = sha
        try Data(g.encoded().utf8).write(to: URL(fileURLWithPath: golden))
    }
}
