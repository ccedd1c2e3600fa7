import BlockSync
import Implementations
import SyncMachine
import Foundation
import Replay
import Testing
import JSON

/// The golden file format, semantic comparison and alignment (DESIGN.md §4, harness-notes.md §2.5).
@Suite struct ReplayGoldenTests {
    static func request(_ h: Int64, peer: String = "aa", t: UInt64? = nil, event: Int? = nil) -> Decision {
        Decision(.request(peer: peer, height: h), time: t ?? UInt64(h) * 1000, cause: .event(event ?? Int(h)))
    }

    static func applied(_ h: Int64, t: UInt64? = nil) -> Decision {
        Decision(.blockApplied(height: h, hash: [UInt8](repeating: UInt8(truncatingIfNeeded: h), count: 32)),
                 time: t ?? UInt64(h) * 1000 + 500, cause: .timer("try_sync"))
    }

    static let provenance = Provenance(traceSHA256: String(repeating: "ab", count: 32), traceEvents: 10,
                                       implementation: "v0", profile: .tmV034, mode: .reactive, tool: "syncreplay test")

    /// `Decision.writeCanonical` writes the run kinds member by member; its bytes must be the
    /// canonical line of `json` for every kind, cause and awkward value (issue 19).
    @Test func decisionLineIsTheCanonicalJSON() {
        let peers = ["aa", "", "quote\"back\\slash", "tab\tnew\nline\u{01}", "ünïcödé", String(repeating: "f", count: 40)]
        let causes: [DecisionCause] = [.event(0), .event(123_456), .timer("try_sync"), .timer("odd \"timer\"")]
        var actions: [DecisionAction] = [
            .statusRequest, .switchToConsensus(height: 9), .peerRemoved(peer: "p\"q", reason: "timeout"),
            .verifyFailed(heights: [4, 5], peers: ["a", "b"], reason: "wrong signature (#0)"),
            .pivotSwitch(forkAt: 3, meHeight: 7, checkHeight: nil, section: nil, allowed: true, reason: .hintInactive),
            .blockApplied(height: 1, hash: []), .blockApplied(height: .max, hash: Array(0...31)),
        ]
        for peer in peers {
            for height: Int64 in [0, 1, -1, 1_000_000, .min, .max] {
                actions.append(.request(peer: peer, height: height))
                actions.append(.respond(peer: peer, height: height, found: true))
                actions.append(.respond(peer: peer, height: height, found: false))
            }
        }
        for action in actions {
            for cause in causes {
                for time: UInt64 in [0, 7, .max] {
                    let d = Decision(action, time: time, cause: cause)
                    var fast: [UInt8] = [], slow: [UInt8] = []
                    d.writeCanonical(to: &fast)
                    d.json.writeCanonical(to: &slow)
                    #expect(fast == slow, "\(String(decoding: fast, as: UTF8.self)) != \(String(decoding: slow, as: UTF8.self))")
                }
            }
        }
    }

    @Test func canonicalLayoutRoundTrips() throws {
        let decisions = (1...3).map { Self.request($0) } + (1...20).map { Self.applied($0) }
            + [Decision(.peerRemoved(peer: "bb", reason: "timeout"), time: 99_000, cause: .timer("peer_timeout"))]
        let golden = GoldenFile(provenance: Self.provenance, decisions: decisions)
        let text = golden.encoded()
        let lines = text.split(separator: "\n")
        #expect(lines.first == "{")
        #expect(lines[1] == "  \"decisions\": [")
        #expect(lines[2] == "    {\"event\":1,\"height\":1,\"kind\":\"request\",\"peer\":\"aa\",\"t\":1000},")
        // 20 consecutive block_applied decisions form one run line with a digest.
        #expect(golden.entries.count == 5)
        #expect(lines[5].contains("\"kind\":\"block_applied\",\"range\":[1,20]"))
        #expect(lines.last == "}")
        #expect(text.hasSuffix("\"schema\": \"syncreplay-golden/1\"\n}\n"))
        let decoded = try GoldenFile.decode(Array(text.utf8))
        #expect(decoded == golden)
        #expect(GoldenComparison.compare(expected: decoded.entries, actual: decisions).matches)
    }

    /// issue 6: `verify_failed` names both blocks of the failed pair and the node's error text,
    /// in one canonical line that reads back to the same decision.
    @Test func verifyFailedLineHasThePairAndTheReason() throws {
        let d = Decision(.verifyFailed(heights: [14, 15], peers: ["p2"], reason: "invalid commit -- wrong block ID: want A, got B"),
                         time: 30, cause: .timer("try_sync"))
        let golden = GoldenFile(provenance: Self.provenance, decisions: [d])
        let line = golden.encoded().split(separator: "\n")[2]
        #expect(line == #"    {"heights":[14,15],"kind":"verify_failed","peers":["p2"],"reason":"invalid commit -- wrong block ID: want A, got B","t":30,"timer":"try_sync"}"#)
        #expect(try GoldenFile.decode(Array(golden.encoded().utf8)) == golden)
        #expect(d.action.height == 14)
        // The old single-height form is refused with a clear message, not half-read.
        let old = #"{"decisions":[{"height":14,"kind":"verify_failed","peers":["p2"],"t":30,"timer":"try_sync"}],"provenance":{"implementation":"v0","mode":"reactive","profile":"tm-v0.34","tool":"t","trace":{"events":1,"sha256":"\#(String(repeating: "ab", count: 32))"}},"schema":"syncreplay-golden/1"}"#
        #expect(throws: GoldenError.invalid("/decisions/0: missing member \"heights\"")) { try GoldenFile.decode(Array(old.utf8)) }
    }

    @Test func comparisonIsSemantic() throws {
        let d = Decision(.blockApplied(height: 7, hash: [0xAB, 0xCD]), time: 5, cause: .event(2))
        let golden = GoldenFile(provenance: Self.provenance, decisions: [d])
        // Keys reordered, whitespace changed, hex in upper case: the same golden.
        let reordered = """
        {"schema":"syncreplay-golden/1","provenance":{"implementation":"v0","tool":"syncreplay test","trace":{"sha256":"\(String(repeating: "AB", count: 32))","events":10},"profile":"tm-v0.34","mode":"reactive"},
          "decisions":[ { "t":5, "kind":"block_applied", "hash":"ABCD", "height":7, "event":2 } ]}
        """
        let decoded = try GoldenFile.decode(Array(reordered.utf8))
        #expect(GoldenComparison.compare(expected: decoded.entries, actual: [d]).matches)
        #expect(decoded.provenance == golden.provenance)
    }

    @Test func everyMemberIsCompared() throws {
        let base = Decision(.pivotSwitch(forkAt: 5, meHeight: 9, checkHeight: 8, section: .minor, allowed: true, reason: .minorMatch),
                            time: 10, cause: .event(3))
        var changed = base
        changed.action = .pivotSwitch(forkAt: 5, meHeight: 9, checkHeight: 8, section: .minor, allowed: false, reason: .minorMismatch)
        let c1 = GoldenComparison.compare(expected: [.decision(base)], actual: [changed])
        #expect(c1.divergences == [.changed(entry: 0, actual: 0, changes: [
            FieldChange(pointer: "/decisions/0/allowed", expected: .bool(true), actual: .bool(false)),
            FieldChange(pointer: "/decisions/0/reason", expected: .string("minor_match"), actual: .string("minor_mismatch")),
        ])])
        // Time and cause are compared too.
        var later = base
        later.time = 11
        later.cause = .timer("status")
        let c2 = GoldenComparison.compare(expected: [.decision(base)], actual: [later])
        #expect(c2.divergences.first?.pointer == "/decisions/0/event")
        if case .changed(_, _, let changes)? = c2.divergences.first {
            #expect(changes.map(\.pointer) == ["/decisions/0/event", "/decisions/0/t", "/decisions/0/timer"])
        }
        // A list (verify_failed peers, heights) element by element.
        let v1 = Decision(.verifyFailed(heights: [4, 5], peers: ["a", "b"], reason: "wrong signature (#0): 00"), time: 1, cause: .event(0))
        let v2 = Decision(.verifyFailed(heights: [4, 5], peers: ["a", "c"], reason: "wrong signature (#0): 00"), time: 1, cause: .event(0))
        #expect(GoldenComparison.compare(expected: [.decision(v1)], actual: [v2]).divergences.first?.pointer == "/decisions/0/peers/1")
        let v3 = Decision(.verifyFailed(heights: [4, 6], peers: ["a", "b"], reason: "wrong signature (#0): 00"), time: 1, cause: .event(0))
        #expect(GoldenComparison.compare(expected: [.decision(v1)], actual: [v3]).divergences.first?.pointer == "/decisions/0/heights/1")
        // The reason text is compared too.
        let v4 = Decision(.verifyFailed(heights: [4, 5], peers: ["a", "b"], reason: "wrong signature (#1): 00"), time: 1, cause: .event(0))
        #expect(GoldenComparison.compare(expected: [.decision(v1)], actual: [v4]).divergences.first?.pointer == "/decisions/0/reason")
    }

    @Test func oneExtraDecisionShowsAsOne() {
        let expected = (1...6).map { Self.request($0) }
        var actual = expected
        actual.insert(Decision(.peerBanned(peer: "zz", reason: "lowered height"), time: 3500, cause: .event(3)), at: 3)
        let c = GoldenComparison.compare(expected: expected.map { .decision($0) }, actual: actual)
        #expect(c.divergences == [.extra(actual: 3, before: 3)])
        #expect(c.extraCount == 1 && c.missingCount == 0 && c.changedCount == 0)
        #expect(c.matchedPrefix == 3)
    }

    @Test func oneMissingDecisionShowsAsOne() {
        let expected = (1...6).map { Self.request($0) }
        var actual = expected
        actual.remove(at: 2)
        let c = GoldenComparison.compare(expected: expected.map { .decision($0) }, actual: actual)
        #expect(c.divergences == [.missing(entry: 2, heights: [])])
        #expect(c.matchedPrefix == 2)
    }

    @Test func runsAreAlignedPerDecision() {
        let decisions = (1...30).map { Self.applied($0) }
        let golden = GoldenFile.compress(decisions)
        #expect(golden.count == 1)
        // One block missing inside the run: reported as the run missing that height only.
        var actual = decisions
        actual.remove(at: 10)
        let c = GoldenComparison.compare(expected: golden, actual: actual)
        #expect(c.divergences == [.missing(entry: 0, heights: [11])])
        #expect(c.applyOrder.identicalPrefix == 10)
        // A changed hash inside the run changes the digest.
        var changed = decisions
        changed[20] = Decision(.blockApplied(height: 21, hash: [1]), time: changed[20].time, cause: changed[20].cause)
        let c2 = GoldenComparison.compare(expected: golden, actual: changed)
        #expect(c2.divergences.first?.pointer == "/decisions/0/digest")
        // A changed time of the last member changes t as well.
        var slower = decisions
        slower[29].time += 1
        let c3 = GoldenComparison.compare(expected: golden, actual: slower)
        if case .changed(_, _, let changes)? = c3.divergences.first {
            #expect(changes.map(\.pointer) == ["/decisions/0/digest", "/decisions/0/t/1"])
        } else {
            Issue.record("expected a changed run, got \(c3.divergences)")
        }
    }

    @Test func reportOnARunAndATimerCause() {
        let decisions = (1...30).map { Self.applied($0) }
        var actual = decisions
        actual.remove(at: 10)
        let golden = GoldenFile.compress(decisions)
        let header = ReportHeader(caseName: "c", tracePath: "c.trace", traceSHA256: String(repeating: "0", count: 64),
                                  goldenPath: "c.golden.json", implementation: "v0", profile: .tmV034, mode: .reactive, tool: "t", goldenTool: nil)
        let report = DivergenceReport(header: header, comparison: GoldenComparison.compare(expected: golden, actual: actual),
                                      expected: golden, actual: actual, events: [], reproduceCommand: "r", updateCommand: "u")
        #expect(report.oneLine == "first divergence at decision #0 (/decisions/0): missing block_applied at heights 11")
        #expect(report.text.contains("summary: 0 paths differ in 0 decisions; 1 missing, 0 extra"))
        #expect(report.text.contains("apply order identical up to index 10 (30 blocks expected, 29 applied)"))
        // A changed decision caused by a timer names the timer.
        var slow = decisions
        slow[0].time += 7
        let r2 = DivergenceReport(header: header, comparison: GoldenComparison.compare(expected: decisions.map { .decision($0) }, actual: slow),
                                  expected: decisions.map { .decision($0) }, actual: slow, events: [], reproduceCommand: "r", updateCommand: "u")
        #expect(r2.text.contains("caused by the v0 machine's try_sync timer at t=+0.000001507s virtual"))
        #expect(r2.oneLine == "first divergence at decision #0 (/decisions/0/t): expected 1500, got 1507")
    }

    @Test func alignmentIsMinimal() {
        let steps = Alignment.align(Array("abcabba"), Array("cbabac"))
        let edits = steps.filter { if case .pair = $0 { return false }; return true }.count
        #expect(edits == 5)  // Myers' example: D = 5
        #expect(Alignment.align([1, 2, 3], [1, 2, 3]) == [.pair(expected: 0, actual: 0), .pair(expected: 1, actual: 1), .pair(expected: 2, actual: 2)])
        #expect(Alignment.align([Int](), [7]) == [.extra(actual: 0)])
    }

    @Test func alignmentIsAValidShortestScript() {
        var rng = SplitMix64(seed: 6)
        for _ in 0..<300 {
            let a = (0..<Int.random(in: 0...12, using: &rng)).map { _ in Int.random(in: 0...3, using: &rng) }
            let b = (0..<Int.random(in: 0...12, using: &rng)).map { _ in Int.random(in: 0...3, using: &rng) }
            let steps = Alignment.align(a, b)
            var i = 0, j = 0, edits = 0
            for step in steps {
                switch step {
                case let .pair(e, x): #expect(e == i && x == j && a[e] == b[x]); i += 1; j += 1
                case let .missing(e): #expect(e == i); i += 1; edits += 1
                case let .extra(x): #expect(x == j); j += 1; edits += 1
                }
            }
            #expect(i == a.count && j == b.count)
            // Shortest: edits = |a| + |b| - 2·LCS.
            var lcs = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
            for p in 0..<a.count { for q in 0..<b.count {
                lcs[p + 1][q + 1] = a[p] == b[q] ? lcs[p][q] + 1 : max(lcs[p][q + 1], lcs[p + 1][q])
            } }
            #expect(edits == a.count + b.count - 2 * lcs[a.count][b.count])
        }
    }

    @Test func damagedGoldensAreRejectedWithPosition() {
        #expect(throws: GoldenError.syntax(JSONSyntaxError(line: 2, column: 3, reason: "expected a string key"))) {
            try GoldenFile.decode(Array("{\n  ,}".utf8))
        }
        let wrongSchema = #"{"schema":"syncreplay-golden/9","provenance":{},"decisions":[]}"#
        #expect(throws: GoldenError.schema(found: "syncreplay-golden/9")) { try GoldenFile.decode(Array(wrongSchema.utf8)) }
        let badProfile = #"{"schema":"syncreplay-golden/1","decisions":[],"provenance":{"mode":"strict","profile":"tm-v0.99","tool":"x","trace":{"events":1,"sha256":"\#(String(repeating: "0", count: 64))"}}}"#
        // A provenance must name its implementation (which profile names exist is the registry's business: GoldenCase).
        #expect(throws: GoldenError.self) { try GoldenFile.decode(Array(badProfile.utf8)) }
        let extraMember = #"{"schema":"syncreplay-golden/1","decisions":[{"kind":"status_request","t":1,"event":0,"note":"x"}],"provenance":{"implementation":"v0","mode":"strict","profile":"tm-v0.34","tool":"x","trace":{"events":1,"sha256":"\#(String(repeating: "0", count: 64))"}}}"#
        #expect(throws: GoldenError.invalid("/decisions/0: unexpected member \"note\" in a status_request decision")) {
            try GoldenFile.decode(Array(extraMember.utf8))
        }
    }

    @Test func jsonParserKeepsIntegersExact() throws {
        #expect(try JSONParser.parse("18446744073709551615") == .uint(.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(.min))
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("1.5") }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse("18446744073709551616") }
        #expect(throws: JSONSyntaxError.self) { try JSONParser.parse(#"{"a":1,"a":2}"#) }
        #expect(try JSONParser.parse(#""\ud83d\ude00""#) == .string("😀"))
    }

    @Test func namingFollowsTheTrace() {
        #expect(GoldenNaming.golden(trace: "T/fork.trace", profile: nil) == "T/fork.golden.json")
        #expect(GoldenNaming.golden(trace: "T/fork.trace", profile: .tmV035) == "T/fork.tm-v0.35.golden.json")
        #expect(GoldenNaming.pending(golden: "T/fork.tm-v0.35.golden.json") == "T/fork.tm-v0.35.golden.new.json")
        let profiles = MachineRegistry.standard.profileNames
        #expect(GoldenNaming.parse(golden: "fork.cometbft-v0.38.golden.json", profiles: profiles)! == ("fork", .cometbftV038))
        #expect(GoldenNaming.parse(golden: "fork.golden.new.json", profiles: profiles) == nil)
    }
}
