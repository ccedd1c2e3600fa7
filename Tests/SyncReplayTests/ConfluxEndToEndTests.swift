import Capture
import CometWire
import Foundation
import PivotHint
import Replay
import SyncTrace
import Testing

/// Issue 17: Conflux logs in, observed results compared, profile-free pivot goldens, and the
/// committed corpus in Traces/conflux (its logs are the real log4rs line format).
@Suite("Conflux end to end: log import, observed vs replayed, hint audit")
struct ConfluxEndToEndTests {
    static let corpus = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/conflux")
    static func corpusFile(_ name: String) -> String { corpus.appendingPathComponent(name).path }
    static let hash = String(repeating: "ab", count: 32)

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("conflux-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func unix(_ rfc3339: String) -> UInt64 {
        let t = RFC3339.parse(rfc3339)!
        return UInt64(t.seconds) * 1_000_000_000 + UInt64(t.nanos)
    }

    static func replay(_ args: [String]) throws -> SyncReplayProcess.Result {
        try SyncReplayProcess.run(args, environment: ReplayFixtures.environment())
    }

    // MARK: the log format

    @Test("Conflux's pattern {d} {h({l}):5.5} {T:<20.20} {t:12.12} - {m}: padded and cut fields, local offsets, nine-digit fractions")
    func confluxPattern() throws {
        let line = "2024-11-05T10:23:45.100000002+08:00 DEBUG Consensus Worker     cfxcore::con - "
            + "Pivot hint check switch result false. fork_at: 100, me_height: 120, check_height: 110, fetch_hash: 0x\(Self.hash)"
        let parsed = try #require(try ConfluxLog.parse(line: line)?.get())
        #expect(parsed.timeText == "2024-11-05T10:23:45.100000002+08:00")
        #expect(parsed.event.logTime == Self.unix("2024-11-05T02:23:45.100000002Z"))
        guard case .pivot(.switch(let s)) = parsed.event.event else { Issue.record("not a switch"); return }
        #expect(s.forkAt == 100 && s.meHeight == 120 && s.meHash.isEmpty && s.observed == .denied)
        #expect(s.branch == [PivotBranchEntry(height: 110, hash: [UInt8](repeating: 0xab, count: 32))])

        // A thread name cut at 20 characters, a level padded to 5; check height = me height gives me_hash.
        let extend = "2024-11-05T10:23:47.125+08:00 INFO  Sync Graph Block Pro cfxcore::con - Pivot hint check extend result true. me_height: 121, fetch_hash: 0x\(Self.hash)"
        guard case .pivot(.extend(let e)) = try #require(try ConfluxLog.parse(line: extend)?.get()).event.event else { Issue.record("not an extend"); return }
        #expect(e.height == 121 && e.observed == .allowed)
        let top = "2024-11-05T10:23:45Z DEBUG Consensus Worker     cfxcore::con - Pivot hint check switch result true. fork_at: 3, me_height: 10, check_height: 10, fetch_hash: 0x\(Self.hash)"
        guard case .pivot(.switch(let t)) = try #require(try ConfluxLog.parse(line: top)?.get()).event.event else { Issue.record("not a switch"); return }
        #expect(t.meHash.count == 32)
    }

    @Test("log4rs' default pattern {d} {l} {t} - {m} and a space-separated UTC time read too; other lines are skipped")
    func otherPatterns() throws {
        let plain = "2024-05-01T10:00:00Z DEBUG cfxcore::consensus::pivot_hint - Pivot hint check extend result false. me_height: 8, fetch_hash: 0x\(Self.hash)"
        #expect(try ConfluxLog.parse(line: plain)?.get().event.logTime == Self.unix("2024-05-01T10:00:00Z"))
        let spaced = "2024-01-02 03:04:05.123 DEBUG Consensus Worker     cfxcore::con - Pivot hint check extend result true. me_height: 8, fetch_hash: 0x\(Self.hash)"
        let parsed = try #require(try ConfluxLog.parse(line: spaced)?.get())
        #expect(parsed.event.logTime == Self.unix("2024-01-02T03:04:05.123Z") && parsed.timeText == "2024-01-02 03:04:05.123")
        #expect(ConfluxLog.parse(line: "2024-11-05T10:23:45+08:00 INFO  Consensus Worker     cfxcore::con - Loading pivot hint page 3") == nil)
        #expect(ConfluxLog.parse(line: "") == nil)
    }

    @Test("malformed pivot-hint lines say what is wrong", arguments: [
        ("2024-11-05T10:23:45+08:00 DEBUG Consensus Worker     cfxcore::con - Pivot hint check extend result true. me_height: 8, fetch_hash: 0x12",
         "fetch_hash must be 0x and 64 hex digits"),
        ("2024-11-05T10:23:45+08:00 DEBUG Consensus Worker     cfxcore::con - Pivot hint check switch result true. fork_at: 100, me_height: 120, check_height: 90, fetch_hash: 0x\(hash)",
         "check_height 90 must lie in [fork_at 100, me_height 120]"),
        ("2024-11-05T10:23:45+08:00 DEBUG Consensus Worker     cfxcore::con - Pivot hint check switch result maybe. fork_at: 1",
         "expected 'result true.' or 'result false.'"),
        ("2024-11-05T10:23:45+08:00 DEBUG Consensus Worker     cfxcore::con - Pivot hint check extend result true. me_height: 8",
         "expected the fields me_height, fetch_hash"),
        ("yesterday DEBUG Consensus Worker     cfxcore::con - Pivot hint check extend result true. me_height: 8, fetch_hash: 0x\(hash)",
         "does not start with an RFC 3339 timestamp"),
        ("2024-11-05T10:23:45+08:00 DEBUG quoting: Pivot hint check extend result true. me_height: 8, fetch_hash: 0x\(hash)",
         "is not at the start of the log message"),
    ])
    func malformed(line: String, reason: String) throws {
        guard case .failure(let e)? = ConfluxLog.parse(line: line) else { Issue.record("parsed: \(line)"); return }
        #expect(e.reason.contains(reason), "\(e.reason)")
    }

    @Test("seeded byte mutations of the corpus' pivot-hint lines parse, fail with a reason or are skipped — never trap")
    func mutatedLines() throws {
        let lines = try String(contentsOfFile: Self.corpusFile("agree.log"), encoding: .utf8)
            .split(separator: "\n").filter { $0.contains("Pivot hint check") }.map { Array($0.utf8) }
        var rng = SplitMix64(seed: 17)
        var outcomes = [0, 0, 0]
        for _ in 0..<3000 {
            var bytes = lines[Int(rng.next() % UInt64(lines.count))]
            for _ in 0..<(1 + rng.next() % 3) {
                let i = Int(rng.next() % UInt64(bytes.count))
                switch rng.next() % 3 {
                case 0: bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                case 1: bytes.remove(at: i)
                default: bytes.insert(UInt8(truncatingIfNeeded: rng.next()), at: i)
                }
            }
            switch bytes.withUnsafeBufferPointer({ ConfluxLog.parse(line: $0) }) {
            case nil: outcomes[0] += 1
            case .success?: outcomes[1] += 1
            case .failure(let e)?: outcomes[2] += 1; #expect(!e.reason.isEmpty)
            }
        }
        #expect(outcomes.allSatisfy { $0 > 0 }, "\(outcomes)")
    }

    @Test("a scan streams the file: warnings name malformed lines, --strict throws at the first")
    func scanWarningsAndStrict() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var text = try String(contentsOfFile: Self.corpusFile("agree.log"), encoding: .utf8)
        text += "2024-11-05T10:23:49+08:00 DEBUG Consensus Worker     cfxcore::con - Pivot hint check extend result true. me_height: x, fetch_hash: 0x\(Self.hash)\n"
        text += "2024-11-05T10:23:50+08:00 DEBUG Consensus Worker     cfxcore::con - Pivot hint check extend result true. me_height: 9"
        let path = dir.appendingPathComponent("c.log").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var lines: [Int] = []
        let summary = try ConfluxLog.scan(path: path, strict: false) { lines.append($0.line) }
        #expect(lines == [4, 6, 8, 10, 11, 12])
        #expect(summary.lines == 16 && summary.pivotLines == 6 && summary.malformedCount == 2)
        #expect(summary.malformed.map(\.line) == [15, 16])
        #expect(summary.warnings(path: "c.log").first?.hasPrefix("warning: c.log line 15: me_height must be a non-negative integer") == true)
        #expect(throws: CaptureError.badConfluxLog(path: path, line: 15, reason: "me_height must be a non-negative integer, got 'x'")) {
            _ = try ConfluxLog.scan(path: path, strict: true) { _ in }
        }
    }

    @Test("LineReader: CRLF, a last line without newline, a line longer than the buffer cut and skipped")
    func lineReader() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("l.txt").path
        let long = String(repeating: "x", count: 300)
        try Data("a\r\n\n\(long)\nb\nlast".utf8).write(to: URL(fileURLWithPath: path))
        var seen: [(Int, String)] = []
        var progress: [UInt64] = []
        try LineReader(path: path, bufferSize: 64).forEachLine({ bytes, n in seen.append((n, String(decoding: bytes, as: UTF8.self))) },
                                                                progress: { progress.append($0) })
        #expect(seen.map(\.0) == [1, 2, 3, 4, 5])
        #expect(seen.map(\.1) == ["a", "", String(repeating: "x", count: 64), "b", "last"])
        #expect(progress.last == 311)
        #expect(throws: CaptureError.self) { _ = try LineReader(path: dir.path) }
    }

    // MARK: synccapture without a pcap, replay, observed vs replayed

    @Test("synccapture --conflux-log L --hint H -o T with no pcap; --record all then replay passes; a flipped line fails naming its time and heights")
    func doneWhen() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("fork.trace").path
        let capture = try SyncCaptureProcess.run(["--conflux-log", Self.corpusFile("agree.log"), "--hint", Self.corpusFile("chain.hint"), "-o", trace])
        #expect(capture.status == 0, "\(capture.stderr)")
        #expect(capture.stderr.contains("14 lines, 6 pivot-hint lines, 0 malformed"))
        let entries = try TraceReader(path: trace).readAll()
        guard case .node(let node)? = entries.first?.event else { Issue.record("no /node"); return }
        #expect(node.captureMethod == "conflux-log" && entries.count == 7)

        let record = try Self.replay([trace, "--record", "all", "--profile", "tm-v0.34"])
        #expect(record.status == 0, "\(record.stdout)\(record.stderr)")
        #expect(record.stderr.contains("note: --profile tm-v0.34 ignored"))
        let goldenPath = dir.appendingPathComponent("fork.golden.json").path
        let golden = try GoldenFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: goldenPath))))
        #expect(golden.provenance.profile == nil && !golden.provenance.acceptsObservedMismatch)
        #expect(try Self.replay([trace]).status == 0)

        // Line 10 (fork_at 101, me_height 109, check height 108: allowed) logged as false instead.
        var lines = try String(contentsOfFile: Self.corpusFile("agree.log"), encoding: .utf8).components(separatedBy: "\n")
        lines[9] = lines[9].replacingOccurrences(of: "switch result true.", with: "switch result false.")
        let flippedLog = dir.appendingPathComponent("flipped.log").path
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: flippedLog))
        let flipped = dir.appendingPathComponent("flipped.trace").path
        #expect(try SyncCaptureProcess.run(["--conflux-log", flippedLog, "--hint", Self.corpusFile("chain.hint"), "-o", flipped, "--quiet"]).status == 0)
        for args in [[flipped, "--record", "all"], [flipped]] {
            let r = try Self.replay(args)
            #expect(r.status == 1, "\(args): \(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("2024-11-05T02:23:46.75Z") && r.stdout.contains("fork_at=101 me_height=109")
                    && r.stdout.contains("check_height=108") && r.stdout.contains("the node logged denied, the validator decided allowed"),
                    "\(r.stdout)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("flipped.golden.json").path))
    }

    @Test("--accept-observed-mismatch records the disagreement as known; the golden then passes without the flag")
    func acceptedMismatch() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("d.trace").path
        try FileManager.default.copyItem(atPath: Self.corpusFile("disputed.trace"), toPath: trace)
        #expect(try Self.replay([trace, "--record", "missing"]).status == 1)
        let accepted = try Self.replay([trace, "--record", "missing", "--accept-observed-mismatch"])
        #expect(accepted.status == 0, "\(accepted.stdout)")
        let golden = try GoldenFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: dir.appendingPathComponent("d.golden.json").path))))
        #expect(golden.provenance.acceptsObservedMismatch)
        #expect(golden.entries.compactMap { e -> DecisionAction? in if case .decision(let d) = e { return d.action } else { return nil } }
                    .contains(.observedMismatch(check: .switch, height: 11, observed: false, decided: true, reason: .minorMatch)))
        #expect(try Self.replay([trace]).status == 0)
        // Rewriting the golden needs the flag again: a re-record never blesses silently.
        #expect(try Self.replay([trace, "--record", "all"]).status == 1)
    }

    @Test("the committed corpus: suite passes, disputed shows as a known disagreement; hint check audits each log")
    func corpus() throws {
        let suite = try Self.replay(["suite", Self.corpus.path])
        #expect(suite.status == 0, "\(suite.stdout)")
        #expect(suite.stdout.contains("known disagreement: 1 observed_mismatch accepted by the golden"))
        #expect(suite.stdout.contains("3 cases: 3 passed, 0 failed, 0 errors (1 passing with known disagreements with the real node)"))

        let agree = try Self.replay(["hint", "check", "--hint", Self.corpusFile("chain.hint"), "--conflux-log", Self.corpusFile("agree.log")])
        #expect(agree.status == 0, "\(agree.stderr)")
        #expect(agree.stdout.contains("line 8 2024-11-05T10:23:46.000000002+08:00 switch fork_at=91 me_height=109 check_height=100: node denied, hint denied (major_mismatch): agree"))
        #expect(agree.stderr.contains("note: no --checksum"))
        let disputed = try Self.replay(["hint", "check", Self.corpusFile("chain.hint"), "--checksum", "c6057fdae1bd88e8ddc10bbd3c78e314b47576f8d15877762a2496c156455050",
                                        "--conflux-log", Self.corpusFile("disputed.log")])
        #expect(disputed.status == 1)
        #expect(disputed.stdout.contains("line 2 2024-11-05T11:00:00.000002+08:00 switch fork_at=11 me_height=19 check_height=18: node denied, hint allowed (minor_match): disagree"))
        #expect(disputed.stdout.contains("2 pivot-hint checks: 1 agree, 1 disagree"))
        let failOpen = try Self.replay(["hint", "check", "--hint", Self.corpusFile("chain-corrupt-page-3.hint"), "--conflux-log", Self.corpusFile("fail-open.log")])
        #expect(failOpen.status == 0 && failOpen.stdout.contains("(hint_disabled): agree"))
        #expect(failOpen.stderr.contains("Failed to load pivot hint page 3, pivot hint check disabled: Incorrect checksum"))
    }

    @Test("a trace with /blocksync events keeps its profile: a conflicting --profile still exits 2")
    func blocksyncKeepsProfile() throws {
        let traces = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces")
        let r = try Self.replay([traces.appendingPathComponent("catchup-basic.trace").path, "--expect",
                                 traces.appendingPathComponent("catchup-basic.tm-v0.34.golden.json").path, "--profile", "cometbft-v0.38"])
        #expect(r.status == 2 && r.stderr.contains("conflicts with the golden's profile tm-v0.34"), "\(r.stderr)")
    }

    @Test("a logged check height the hint would not choose: the audit disagrees, the replay decides unknown")
    func otherCheckHeight() throws {
        // §3.1: for [3, 10] the hint checks the major height 10; this node claims it checked 8.
        let line = "2024-11-05T10:23:45+08:00 DEBUG Consensus Worker     cfxcore::con - Pivot hint check switch result true. "
            + "fork_at: 3, me_height: 10, check_height: 8, fetch_hash: 0x\(Self.hash)"
        let event = try #require(try ConfluxLog.parse(line: line)?.get()).event
        let hint = try PivotHint(file: PivotHintFile(path: Self.corpusFile("chain.hint")),
                                 checksum: PivotHash(hex: "c6057fdae1bd88e8ddc10bbd3c78e314b47576f8d15877762a2496c156455050")!)
        var audit = PivotLogAudit(validator: PivotHintValidator(hint: hint))
        let verdict = try audit.check(event.event, line: 7, time: "t")
        #expect(!verdict.agrees && audit.disagreements == 1)
        #expect(verdict.text == "line 7 t switch fork_at=3 me_height=10 check_height=8: node allowed, hint checks height 10, which the line does not record (the node checked another height): disagree")
        guard case .pivot(.switch(let s)) = event.event else { Issue.record("not a switch"); return }
        var validator: any PivotValidating = PivotHintValidator(hint: hint)
        #expect(try PivotEvaluation.allowSwitch(&validator, forkAt: s.forkAt, meHeight: s.meHeight, meHash: s.meHash,
                                                branch: s.branch.map { ($0.height, $0.hash) }) == .unknown(height: 10))
    }

    @Test("bad invocations exit 2 with one line")
    func badInput() throws {
        let dir = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("o.trace").path
        let none = try SyncCaptureProcess.run(["-o", out])
        #expect(none.status == 2 && none.stderr.contains("or a fork-event source"))
        let keylog = try SyncCaptureProcess.run(["--conflux-log", Self.corpusFile("agree.log"), "--keylog", "k", "-o", out])
        #expect(keylog.status == 2 && keylog.stderr.contains("--keylog needs a capture"))
        let log = dir.appendingPathComponent("bad.log").path
        try Data("x\n2024-11-05T10:23:45+08:00 DEBUG T t - Pivot hint check extend result true. me_height: 1\n".utf8).write(to: URL(fileURLWithPath: log))
        let strict = try SyncCaptureProcess.run(["--conflux-log", log, "--strict", "-o", out])
        #expect(strict.status == 2 && strict.stderr.contains("bad.log line 2: expected the fields me_height, fetch_hash"), "\(strict.stderr)")
        let lenient = try SyncCaptureProcess.run(["--conflux-log", log, "-o", out, "--quiet"])
        #expect(lenient.status == 0 && lenient.stderr.contains("warning: \(log) line 2:"), "\(lenient.stderr)")
        let missing = try Self.replay(["hint", "check", "--hint", Self.corpusFile("chain.hint"), "--conflux-log", dir.appendingPathComponent("nope.log").path])
        #expect(missing.status == 2 && missing.stderr.contains("nope.log"))
    }

    // MARK: the capture recorder (issue 12's part: the loop out of the CLI)

    final class ListSource: FrameSource {
        var frames: [[UInt8]]
        let isLive: Bool
        let linkType: Int32 = 1
        init(frames: [[UInt8]], live: Bool) { self.frames = frames; self.isLive = live }
        func nextFrame() throws -> FrameRead {
            frames.isEmpty ? (isLive ? .timeout : .end) : .frame(data: frames.removeFirst(), timestampNanos: 5, originalLength: 60)
        }
        func dropCounts() -> (kernel: UInt32, interface: UInt32)? { isLive ? (3, 0) : nil }
    }

    @Test("CaptureRecorder: stops at the count, drains a stopped live source, records kernel drops")
    func recorder() throws {
        var session = CaptureSession()
        _ = try CaptureRecorder.record(from: ListSource(frames: Array(repeating: [0, 1, 2], count: 10), live: false), into: &session, count: 4)
        #expect(session.progress.packets == 4)
        var live = CaptureSession()
        let result = try CaptureRecorder.record(from: ListSource(frames: Array(repeating: [0, 1, 2], count: 10), live: true), into: &live,
                                                stop: { true })
        #expect(live.progress.packets == 10)
        #expect(result.events.last?.event == .capture(CaptureRecord(kind: .dropped, byteCount: 0,
                                                                    detail: "libpcap dropped 3 packets in the kernel and 0 at the interface")))
    }
}
