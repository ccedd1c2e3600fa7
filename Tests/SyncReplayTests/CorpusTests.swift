import BlockSync
import Implementations
import SyncMachine
import HexCoding
import Foundation
import Replay
import ScenarioReview
import Sim
import Testing
import Crypto

/// The conformance corpus in Traces/ (issue 7): every scenario's spec-derived `[expect]` tables
/// hold in the goldens recorded for it, every golden belongs to the committed trace, and every
/// profile has enough goldens.
@Suite struct CorpusTests {
    static var traces: URL { SyncReplayProcess.packageDirectory.appendingPathComponent("Traces") }

    static func scenarioFiles() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(atPath: traces.path).sorted()
            .filter { $0.hasSuffix(".scenario.toml") }
            .map { traces.appendingPathComponent($0) }
    }

    @Test func everyExpectationHoldsInItsGolden() throws {
        let files = try Self.scenarioFiles()
        #expect(files.count >= 30, "the corpus needs at least 30 cases")
        var problems: [String] = []
        // Block-sync cases whose trace is not generated yet (syncsim needs the BlockSync
        // reactor's adapter): a known issue while it lasts, so the gap stays visible.
        var pending: [String] = []
        for file in files {
            let scenario = try Scenario.load(path: file.path)
            let stem = file.lastPathComponent.replacingOccurrences(of: ".scenario.toml", with: "")
            guard FileManager.default.fileExists(atPath: Scenario.tracePath(scenarioPath: file.path)) else {
                if scenario.peers.isEmpty { problems.append("\(stem): no \(stem).trace") } else { pending.append(stem) }
                continue
            }
            if scenario.expectations.isEmpty { problems.append("\(stem): no [expect] table") }
            // The review syncsim --review prints: the golden belongs to this trace, and every
            // table holds (or, marked known_divergence, still diverges).
            let review = try GoldenReview.review(scenario, scenarioPath: file.path)
            problems += review.tables.filter(\.fails).flatMap(\.lines).map { "\(stem).\($0)" }
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        if !pending.isEmpty {
            withKnownIssue("block-sync traces not generated yet (run Tools/sim-record.sh once the reactor adapter is registered)") {
                Issue.record("no trace for \(pending.count) block-sync scenarios: \(pending.joined(separator: ", "))")
            }
        }
    }

    /// The review names a golden recorded from another trace than the one beside the scenario.
    @Test func theReviewCatchesAGoldenOfAnotherTrace() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("review-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for (from, to) in [("catchup-basic.scenario.toml", "catchup-basic.scenario.toml"), ("disconnect-reconnect.trace", "catchup-basic.trace"),
                           ("catchup-basic.tm-v0.34.golden.json", "catchup-basic.tm-v0.34.golden.json")] {
            try FileManager.default.copyItem(at: Self.traces.appendingPathComponent(from), to: dir.appendingPathComponent(to))
        }
        let path = dir.appendingPathComponent("catchup-basic.scenario.toml").path
        let review = try GoldenReview.review(try Scenario.load(path: path), scenarioPath: path)
        // Tables in file order: cometbft-v0.38, tm-v0.34, then the rest (tm-v0.35 and the v2 profiles).
        #expect(review.tables.count >= 3)
        #expect(review.tables.map(\.verdict) == [.noGolden, .otherTrace] + Array(repeating: .noGolden, count: review.tables.count - 2))
        #expect(review.failed == review.tables.count)
        #expect(review.lines[1] == "tm-v0.34: golden \(dir.path)/catchup-basic.tm-v0.34.golden.json was recorded from another trace (sha256 differs)")
    }

    /// The check is not vacuous: a wrong expectation against a committed golden fails.
    @Test func aWrongExpectationIsCaught() throws {
        let scenario = try Scenario.load(path: Self.traces.appendingPathComponent("pivot-file-s-switch.scenario.toml").path)
        let data = try #require(FileManager.default.contents(
            atPath: Self.traces.appendingPathComponent("pivot-file-s-switch.golden.json").path))
        let golden = try GoldenFile.decode(Array(data))
        var e = try #require(scenario.expectations.first)
        #expect(ExpectationCheck.failures(e, golden: golden).isEmpty)
        e.decisionsInclude = [["kind": .string("pivot_switch"), "fork_at": .int(3), "me_height": .int(10), "allowed": .bool(true),
                               "reason": .string("major_mismatch")]]
        e.decisionsExclude = [["kind": .string("pivot_switch"), "reason": .string("beyond_range")]]
        e.lastApplied = 5
        e.mode = "reactive"
        let failures = ExpectationCheck.failures(e, golden: golden)
        #expect(failures.count == 4, "\(failures)")
    }

    /// Runs keep one peer, and a pattern a run cannot decide is reported, not passed.
    @Test func compressedRunsAreCheckedOnlyWhereTheyAreExact() throws {
        let ms: UInt64 = 1_000_000
        let p1 = (1...10).map { Decision(.request(peer: "p1", height: Int64($0)), time: UInt64($0) * ms, cause: .timer("requester_loop")) }
        let golden = GoldenFile(provenance: Provenance(traceSHA256: String(repeating: "0", count: 64), traceEvents: 1,
                                                       implementation: "v0", profile: .tmV034, mode: .strict, tool: "test"), decisions: p1)
        guard case .run(let run)? = golden.entries.first, golden.entries.count == 1 else {
            Issue.record("ten requests to one peer should compress into one run"); return
        }
        #expect(run.peers == ["p1"])
        #expect(ExpectationCheck.match(golden, ["kind": .string("request"), "peer": .string("p1"), "height": .int(4)]) == .yes)
        #expect(ExpectationCheck.match(golden, ["kind": .string("request"), "peer": .string("p2")]) == .no)
        #expect(ExpectationCheck.match(golden, ["kind": .string("request"), "height": .int(1), "t_max": .int(Int64(ms))]) == .yes)
        #expect(ExpectationCheck.match(golden, ["kind": .string("request"), "height": .int(10), "t_max": .int(Int64(ms))]) == .no)
        // Height 5's own time is not in the golden: the bound cuts the run there.
        #expect(ExpectationCheck.match(golden, ["kind": .string("request"), "height": .int(5), "t_max": .int(Int64(3 * ms))]) == .ambiguous)
        let scenario = try Scenario.load(path: Self.traces.appendingPathComponent("pivot-file-s-switch.scenario.toml").path)
        var e = try #require(scenario.expectations.first)
        (e.profile, e.mode, e.lastApplied, e.switchedToConsensus, e.banned, e.removed, e.decisionsExclude) = ("tm-v0.34", "strict", nil, nil, [], [], [])
        e.decisionsInclude = [["kind": .string("request"), "height": .int(5), "t_max": .int(Int64(3 * ms))]]
        #expect(ExpectationCheck.failures(e, golden: golden).count == 1)
        // Alternating peers never share a run.
        let mixed = (1...10).map { Decision(.request(peer: $0 % 2 == 0 ? "p2" : "p1", height: Int64($0)), time: 0, cause: .timer("requester_loop")) }
        #expect(GoldenFile.compress(mixed).allSatisfy { if case .decision = $0 { true } else { false } })
    }

    /// issue 6: a `verify_failed` pattern names the failed pair (`heights = [h, h+1]`, equal),
    /// or one height of it (`heights = h`, contained); its `reason` matches as a substring.
    @Test func verifyFailedPatternsMatchThePair() throws {
        let text = ScenarioParsingTests.valid + """

        [expect."tm-v0.34"]
        spec = "§3.4 step 5"
        decisions_include = [{kind = "verify_failed", heights = [14, 15], reason = "wrong block ID"}]
        """
        let e = try #require(try Scenario.parse(text).expectations.first)
        #expect(e.decisionsInclude == [["kind": .string("verify_failed"), "heights": .ints([14, 15]), "reason": .string("wrong block ID")]])
        let d = Decision(.verifyFailed(heights: [14, 15], peers: ["p2"], reason: "invalid commit -- wrong block ID: want A, got B"),
                         time: 1, cause: .timer("try_sync"))
        let golden = GoldenFile(provenance: Provenance(traceSHA256: String(repeating: "0", count: 64), traceEvents: 1,
                                                       implementation: "v0", profile: .tmV034, mode: .strict, tool: "t"), decisions: [d])
        #expect(ExpectationCheck.matches(golden, e.decisionsInclude[0]))
        let kind: [String: PatternValue] = ["kind": .string("verify_failed")]
        #expect(ExpectationCheck.matches(golden, kind.merging(["heights": .int(15)]) { $1 }))
        #expect(!ExpectationCheck.matches(golden, kind.merging(["heights": .int(16)]) { $1 }))
        #expect(!ExpectationCheck.matches(golden, kind.merging(["heights": .ints([13, 14])]) { $1 }))
        #expect(!ExpectationCheck.matches(golden, kind.merging(["reason": .string("wrong signature")]) { $1 }))
    }

    @Test func everyProfileHasFiveGoldens() throws {
        var counts: [String: Int] = [:]
        for file in try Self.scenarioFiles() {
            let scenario = try Scenario.load(path: file.path)
            guard !scenario.peers.isEmpty else { continue }  // block-sync cases only
            let stem = file.lastPathComponent.replacingOccurrences(of: ".scenario.toml", with: "")
            for e in scenario.expectations where FileManager.default.fileExists(
                atPath: Self.traces.appendingPathComponent("\(stem).\(e.profile).golden.json").path) {
                counts[e.profile, default: 0] += 1
            }
        }
        let short = MachineRegistry.standard.profileNames.filter { counts[$0.rawValue, default: 0] < 5 }
            .map { "\($0.rawValue) has \(counts[$0.rawValue, default: 0]) block-sync goldens" }
        let pending = try Self.scenarioFiles().contains { file in
            let stem = file.lastPathComponent.replacingOccurrences(of: ".scenario.toml", with: "")
            return !FileManager.default.fileExists(atPath: Self.traces.appendingPathComponent(stem + ".trace").path)
        }
        if pending && !short.isEmpty {
            withKnownIssue("block-sync traces not generated yet") { Issue.record(Comment(rawValue: short.joined(separator: "; "))) }
        } else {
            #expect(short.isEmpty, "\(short.joined(separator: "; "))")
        }
    }

    @Test func everyPivotReasonIsReached() throws {
        var reasons: Set<String> = []
        var kinds: Set<String> = []
        for file in try FileManager.default.contentsOfDirectory(atPath: Self.traces.path) where file.hasSuffix(".golden.json") {
            let data = try #require(FileManager.default.contents(atPath: Self.traces.appendingPathComponent(file).path))
            for entry in try GoldenFile.decode(Array(data)).entries {
                guard case .decision(let d) = entry else { continue }
                kinds.insert(d.kind.rawValue)
                if d.kind == .pivotSwitch || d.kind == .pivotExtend, let r = d.action.reason { reasons.insert(r) }
            }
        }
        for r in PivotReason.allCases { #expect(reasons.contains(r.rawValue), "no golden reaches pivot reason \(r.rawValue)") }
        #expect(kinds.contains("hint_disabled"))
        #expect(kinds.contains("unknown"))
    }
}

/// Scenario files: bad ones give the line and the key (issue 7).
@Suite struct ScenarioParsingTests {
    static let valid = """
    name = "t"
    [chain]
    seed = "s"
    length = 20

    [node]
    profile = "tm-v0.34"

    [[peer]]
    id = "p1"

    [[peer]]
    id = "p2"
    latency = "20ms"
    no_block = [3, "5..7"]
    """

    @Test func parsesAValidScenario() throws {
        let s = try Scenario.parse(Self.valid)
        #expect(s.peers.map(\.id) == ["p1", "p2"])
        #expect(s.peers[1].latency == 20_000_000)
        #expect(s.peers[1].noBlock.contains(6) && !s.peers[1].noBlock.contains(4))
        #expect(s.peers[0].range(at: 0) == (1, 20))
    }

    func error(_ text: String) -> ScenarioError? {
        do { _ = try Scenario.parse(text); return nil } catch { return error }
    }

    @Test func wrongTypeNamesLineAndKey() {
        let e = error(Self.valid.replacingOccurrences(of: "latency = \"20ms\"", with: "latency = 20"))
        #expect(e?.line == 14)
        #expect(e?.key == "peer[1].latency")
        #expect(e?.description.contains("duration") == true)
    }

    @Test func unknownKeyNamesLineAndKey() {
        let e = error(Self.valid.replacingOccurrences(of: "id = \"p2\"", with: "id = \"p2\"\nlatncy = \"5ms\""))
        #expect(e?.line == 14)
        #expect(e?.key == "peer[1].latncy")
    }

    @Test func missingKeyNamesItsTable() {
        let e = error(Self.valid.replacingOccurrences(of: "length = 20\n", with: ""))
        #expect(e?.key == "chain.length")
        #expect(e?.line == 2)
    }

    @Test func syntaxErrorsCarryTheParserLine() {
        let e = error(Self.valid.replacingOccurrences(of: "profile = \"tm-v0.34\"", with: "profile = "))
        #expect(e?.line == 7)
        #expect(e?.description.contains("TOML syntax") == true)
    }

    @Test func badValuesAreRejectedWithTheirLine() {
        let e = error(Self.valid.replacingOccurrences(of: "profile = \"tm-v0.34\"", with: "profile = \"tm-v0.99\""))
        #expect(e?.line == 7)
        #expect(e?.description.contains("unknown profile") == true)
        let f = error(Self.valid + "\nsilent = [\"9..2\"]\n")
        #expect(f?.key == "peer[1].silent[0]")
        #expect(f?.line == 16)
    }

    /// The v2 bug knobs (issue 18 §3; §v2.6 B6, B7, B11): initial height, status style, a claimed
    /// height that moves with time, a link that turns slow.
    @Test func v2BugKnobsParse() throws {
        let s = try Scenario.parse(Self.valid.replacingOccurrences(of: "length = 20\n", with: "length = 20\ninitial_height = 1000\n")
                                   + "\nstatus_style = \"request\"\nslow = \"14s\"\nslow_from = \"500ms\"\n")
        #expect(s.chain.initialHeight == 1000 && s.chain.lastHeight == 1019)
        #expect(s.peers[0].range(at: 0) == (1000, 1019))
        #expect(s.peers[1].statusStyle == .request && s.peers[1].slowFrom == 500_000_000)
        let g = try Scenario.parse(Self.valid.replacingOccurrences(of: "id = \"p1\"", with: "id = \"p1\"\nheight = 10\nstatus_every = {interval = \"1s\", step = 2}"))
        #expect(g.peers[0].range(at: 999_999_999) == (1, 10) && g.peers[0].range(at: 3_500_000_000) == (1, 16))
        #expect(g.peers[0].growthTimes(until: 3_000_000_000) == [1_000_000_000, 2_000_000_000, 3_000_000_000])
    }

    @Test func v2BugKnobErrorsNameLineAndKey() {
        let e = error(Self.valid.replacingOccurrences(of: "length = 20\n", with: "length = 20\ninitial_height = 0\n"))
        #expect(e?.key == "chain.initial_height" && e?.line == 5)
        #expect(e?.description.contains("must be 1") == true)
        let f = error(Self.valid + "\nstatus_style = \"bounce\"\n")
        #expect(f?.key == "peer[1].status_style" && f?.line == 16)
        #expect(f?.description.contains("unknown status style \"bounce\" (expected one of response, request, none)") == true)
        let g = error(Self.valid + "\nstatus_every = {interval = \"1s\", step = 0}\n")
        #expect(g?.key == "peer[1].status_every.step" && g?.line == 16)
        let h = error(Self.valid + "\nstatus_every = {interval = \"1s\"}\n")
        #expect(h?.key == "peer[1].status_every.step")
        let i = error(Self.valid + "\nstatus_style = \"none\"\nstatus = [{at = \"1s\", height = 30}]\n")
        #expect(i?.description.contains("needs status_style = \"response\"") == true && i?.line == 17)
        let j = error(Self.valid + "\nstatus_style = \"request\"\nstatus_every = {interval = \"1s\", step = 1}\n")
        #expect(j?.key == "peer[1].status_every")
        let k = error(Self.valid.replacingOccurrences(of: "length = 20\n", with: "length = 20\ninitial_height = 5\n")
                      .replacingOccurrences(of: "profile = \"tm-v0.34\"", with: "profile = \"tm-v0.34\"\nstore_height = 3"))
        #expect(k?.key == "node.store_height" && k?.description.contains("initial_height") == true)
        let m = error(Self.valid.replacingOccurrences(of: "profile = \"tm-v0.34\"", with: "profile = \"tm-v0.34\"\nduration = \"200s\"")
                      + "\nstatus_every = {interval = \"1ms\", step = 1}\n")
        #expect(m?.key == "peer[1].status_every" && m?.line == 17 && m?.description.contains("more than 100000") == true)
        let l = error(Self.valid + "\nslow_from = 5\n")
        #expect(l?.key == "peer[1].slow_from" && l?.description.contains("duration") == true)
    }
}
