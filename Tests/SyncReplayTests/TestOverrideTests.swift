import BlockSync
import BlockSyncV2
import Foundation
import Implementations
import Replay
import Sim
import SyncMachine
import SyncTrace
import Testing

/// Issue 18 §3 "test knobs": `[test_overrides]` (pool_test's `peerTimeout`, reactor_test's
/// `switchToConsensusMs`; specs/cometbft-blocksync.md §2.5, §3.4, §7), recorded as the trace
/// metadata `test_overrides`, applied by replay, marked `non_faithful` in goldens.
@Suite struct TestOverrideTests {
    static let base = "[chain]\nseed = \"overrides\"\nlength = 12\n[node]\nprofile = \"tm-v0.34\"\n[[peer]]\nid = \"p1\"\n"

    func error(_ text: String) -> String? {
        do { _ = try Scenario.parse(text); return nil } catch { return error.description }
    }

    @Test func theTableParsesAndRefusesNonsense() throws {
        let both = try Scenario.parse(Self.base + "[test_overrides]\npeer_timeout = \"2s\"\nswitch_check_interval = \"50ms\"\n")
        #expect(both.testOverrides == TestOverrides(peerTimeout: 2_000_000_000, switchCheckInterval: 50_000_000))
        #expect(try Scenario.parse(Self.base + "[test_overrides]\nswitch_check_interval = \"1.5s\"\n").testOverrides
            == TestOverrides(switchCheckInterval: 1_500_000_000))
        #expect(try Scenario.parse(Self.base).testOverrides.isEmpty)
        #expect(try Scenario.parse(Self.base + "[test_overrides]\n").testOverrides.isEmpty)
        let cases: [(String, String)] = [
            ("[test_overrides]\npeer_timeout = \"0s\"\n", "line 9, key test_overrides.peer_timeout: must be a positive duration"),
            ("[test_overrides]\npeer_timeout = \"2 s\"\n", "line 9, key test_overrides.peer_timeout: must be a duration like"),
            ("[test_overrides]\nswitch_check_interval = 50\n", "line 9, key test_overrides.switch_check_interval: must be a duration like"),
            ("[test_overrides]\nswitch_check_interval = \"8d\"\n", "line 9, key test_overrides.switch_check_interval: must be a duration like"),
            ("[test_overrides]\npeer_timout = \"2s\"\n", "line 9, key test_overrides.peer_timout: unknown key"),
        ]
        for (text, message) in cases {
            let e = error(Self.base + text)
            #expect(e?.hasPrefix(message) == true, "\(text): \(e ?? "parsed")")
        }
        #expect(error("test_overrides = 5\n" + Self.base) == "line 1, key test_overrides: must be a table: [test_overrides]")
    }

    @Test func theMetadataValueRoundTripsAndRefusesNonsense() throws {
        let both = TestOverrides(peerTimeout: 2_000_000_000, switchCheckInterval: 50_000_000)
        #expect(both.metadataValue == "peer_timeout=2s,switch_check_interval=50ms")
        #expect(try TestOverrides(metadataValue: both.metadataValue) == both)
        #expect(TestOverrides(switchCheckInterval: 1_500_000).metadataValue == "switch_check_interval=1500us")
        let cases: [(String, String)] = [
            ("peer_timeout=0s", "peer_timeout must be a positive duration"),
            ("peer_timeout=1.5s", "peer_timeout must be a duration like \"2s\" or \"50ms\" (a whole number with unit d, h, m, s, ms, us or ns), got \"1.5s\""),
            ("peer_timeout", "test_overrides entry \"peer_timeout\" is not NAME=DURATION"),
            ("peer_timeout=2s,peer_timeout=3s", "test_overrides names peer_timeout twice"),
            ("request_retry=2s", "unknown test override \"request_retry\" (expected peer_timeout or switch_check_interval)"),
            ("", "test_overrides entry \"\" is not NAME=DURATION"),
        ]
        for (value, message) in cases {
            #expect(throws: TestOverrideError(message), "\(value)") { try TestOverrides(metadataValue: value) }
        }
    }

    /// The v0 profile takes the overrides; the v2 implementation refuses to start with them.
    @Test func v0AppliesThemAndV2Refuses() throws {
        let overrides = TestOverrides(peerTimeout: 2_000_000_000, switchCheckInterval: 50_000_000)
        let p = BlockSyncProfile.tmV034.overridden(by: overrides)
        #expect(p.peerTimeout == 2_000_000_000 && p.switchToConsensusInterval == 50_000_000 && p.name == .tmV034)
        #expect(BlockSyncProfile.cometbftV038.overridden(by: TestOverrides()) == .cometbftV038)
        let trace = try Self.simulate(Self.base)
        var start = try trace.nodeStart()
        start.testOverrides = overrides
        #expect(throws: MachineStartError("test override peer_timeout does not apply to profile tm-v0.34-v2 (implementation v2): it sets the v0 pool's and reactor's timers")) {
            _ = try MachineRegistry.standard.makeMachine(profile: "tm-v0.34-v2", start: start)
        }
        _ = try MachineRegistry.standard.makeMachine(profile: "tm-v0.34", start: start)
    }

    /// p1 claims the chain and never answers; p2 comes at 6 s. With pool_test's 2 s the trace
    /// says so and replay times p1 out at 2.01 s, p2 serves the chain from 6 s and the node
    /// switches at its 7 s check; the same trace without the metadata replays the released 15 s
    /// (tm-v0.35 has no request retry, §2.1): p1 holds every height past the recording's end,
    /// so nothing is applied and the node never switches.
    @Test func theTraceCarriesThemAndRemovingThemChangesTheDecisions() throws {
        let text = Self.base.replacingOccurrences(of: "id = \"p1\"\n", with: "id = \"p1\"\nsilent = [\"1..12\"]\n")
            + "[[peer]]\nid = \"p2\"\nconnect_at = \"6s\"\n[test_overrides]\npeer_timeout = \"2s\"\n"
        let trace = try Self.simulate(text)
        #expect(trace.testOverrides == TestOverrides(peerTimeout: 2_000_000_000))
        let options = ReplayOptions(profile: "tm-v0.35", mode: .reactive)
        let overridden = try ReplayEngine(trace: trace, options: options).run(machines: .standard, pivot: nil)
        var plain = trace
        plain.testOverrides = TestOverrides()
        let released = try ReplayEngine(trace: plain, options: options).run(machines: .standard, pivot: nil)
        func removal(_ r: ReplayResult) -> UInt64? {
            r.decisions.first { if case .peerRemoved("p1", _) = $0.action { true } else { false } }?.time
        }
        #expect(removal(overridden) == 2_010_000_000)
        #expect(overridden.decisions.contains { $0.kind == .switchToConsensus && $0.time == 7_000_000_000 })
        #expect(removal(released) == nil)
        #expect(!released.decisions.contains { $0.kind == .switchToConsensus || $0.kind == .blockApplied })
    }

    /// A golden recorded from such a trace says `non_faithful` in its provenance; the member
    /// is absent otherwise, and a bad one is refused.
    @Test func theGoldenProvenanceMarksThem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("overrides-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tracePath = dir.appendingPathComponent("case.trace").path
        _ = try Simulation(scenario: try Scenario.parse(Self.base + "[test_overrides]\nswitch_check_interval = \"50ms\"\n"),
                       machines: .standard).run(to: tracePath)
        let replay: (ReplayTrace, ResolvedReplay) throws -> ReplayResult = { try ReplaySession.replay($0, $1, machines: .standard) }
        let load: (String) throws -> ReplayTrace = { try ReplayTraceLoader.load(path: $0) }
        let outcome = try GoldenCase(registry: .standard, tracePath: tracePath, request: ReplayRequest(profile: "tm-v0.34", mode: .strict),
                                     record: .missing, ci: false, tool: "t").run(load: load, replay: replay)
        guard case .recorded(let header, _, let path, _) = outcome else { Issue.record("not recorded: \(outcome)"); return }
        #expect(header.notes == ["note: \(tracePath) ran with non-faithful test overrides (switch_check_interval=50ms), applied to this replay: its decisions are no released version's"])
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("\"non_faithful\":{\"switch_check_interval\":\"50ms\"}"))
        #expect(try GoldenFile.decode(Array(text.utf8)).provenance.nonFaithful == TestOverrides(switchCheckInterval: 50_000_000))
        guard case .matched = try GoldenCase(registry: .standard, tracePath: tracePath, goldenPath: path, ci: false, tool: "t")
            .run(load: load, replay: replay) else { Issue.record("the golden does not match its own trace"); return }
        let plain = try String(contentsOf: SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/catchup-basic.tm-v0.34.golden.json"),
                               encoding: .utf8)
        #expect(!plain.contains("non_faithful"))
        let bad = text.replacingOccurrences(of: "\"switch_check_interval\":\"50ms\"", with: "\"switch_check_interval\":\"0ms\"")
        #expect(throws: GoldenError.invalid("provenance non_faithful: switch_check_interval must be a positive duration")) {
            try GoldenFile.decode(Array(bad.utf8))
        }
        let unknown = text.replacingOccurrences(of: "\"switch_check_interval\":\"50ms\"", with: "\"retry\":\"5s\"")
        #expect(throws: GoldenError.invalid("provenance non_faithful: unknown test override \"retry\" (expected peer_timeout or switch_check_interval)")) {
            try GoldenFile.decode(Array(unknown.utf8))
        }
    }

    static func simulate(_ text: String) throws -> ReplayTrace {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("overrides-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        _ = try Simulation(scenario: try Scenario.parse(text), machines: .standard).run(to: path)
        return try ReplayTraceLoader.load(path: path)
    }
}
