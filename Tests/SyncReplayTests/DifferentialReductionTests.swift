import JSON
import BlockSync
import Foundation
import Implementations
import Replay
import Sim
import SyncMachine
import Testing

/// A test-only variant of the v0 reactor's tm-v0.34 profile with one planted bug: when it
/// applies block `height`, it also bans a peer that does not exist.
struct PlantedReactor: BlockSyncMachine {
    static let profile: ProfileName = "planted-v0.34"
    static let height: Int64 = 9
    var inner: Reactor

    var now: Nanoseconds { inner.now }
    var nextTimer: (deadline: Nanoseconds, timer: ReactorTimer)? { inner.nextTimer }
    mutating func handle(_ input: MachineInput) -> [MachineEffect] { plant(inner.handle(input)) }
    mutating func fireTimers() -> [(timer: ReactorTimer, effect: MachineEffect)] {
        inner.fireTimers().flatMap { fired in plant([fired.effect]).map { (fired.timer, $0) } }
    }

    func plant(_ effects: [MachineEffect]) -> [MachineEffect] {
        effects.flatMap { e -> [MachineEffect] in
            if case .blockApplied(Self.height, _) = e { return [e, .ban("planted", reason: "planted bug")] }
            return [e]
        }
    }

    /// The standard registry plus this variant.
    static var registry: MachineRegistry {
        var r = MachineRegistry.standard
        try! r.register(MachineImplementation(
            name: "planted", summary: "test-only v0 with a planted bug",
            profiles: [MachineProfile(name: profile, matches: "nothing released")],
            make: { (_, start) throws(MachineStartError) in
                do { return PlantedReactor(inner: try Reactor(profile: .tmV034, start: start)) } catch { throw MachineStartError("\(error)") }
            }))
        return r
    }
}

@Suite struct DifferentialReplayTests {
    static let nbr = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/noblockresponse-rerequest-2475.trace").path

    @Test func versionsThatHandleNoBlockResponseDifferentlyDiffer() throws {
        let r = try SyncReplayProcess.run(["diff", Self.nbr, "--profiles", "tm-v0.34,cometbft-v0.38"])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stdout.contains("first difference: tm-v0.34 decision #"))
        #expect(r.stdout.contains("caused by "))
        #expect(r.stdout.contains("tm-v0.34 vs cometbft-v0.38: "))
        // tm-v0.34 removes the silent p1 after its peer timeout; cometbft-v0.38 never does.
        #expect(r.stdout.contains("tm-v0.34 removed p1: "))
    }

    @Test func theSameProfileTwiceDecidesTheSame() throws {
        let r = try SyncReplayProcess.run(["diff", Self.nbr, "--profiles", "tm-v0.34,tm-v0.34"])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.hasPrefix("SAME "))
    }

    @Test func jsonCarriesTheSameFirstDifference() throws {
        let r = try SyncReplayProcess.run(["diff", Self.nbr, "--profiles", "tm-v0.34,cometbft-v0.38", "--report", "json"])
        #expect(r.status == 1)
        let json = try JSONParser.parse(r.stdout)
        #expect(json["status"]?.stringValue == "differ")
        #expect(json["first_difference"]?["a"]?.stringValue == "tm-v0.34")
        #expect(json["first_difference"]?["b"]?.stringValue == "cometbft-v0.38")
        #expect(json["profiles"]?.arrayValue?.count == 2)
    }

    @Test func ignoringKindsAndTimeNarrowsTheQuestion() throws {
        let trace = try ReplayTraceLoader.load(path: Self.nbr)
        let replay: (ReplayTrace, ReplayOptions) throws -> ReplayResult = {
            try ReplaySession.replay($0, options: $1, hint: HintSelection(), machines: .standard)
        }
        let steps = try DifferentialReplay.run(trace: trace, profiles: ["tm-v0.34", "tm-v0.35"], mode: .reactive,
                                               filter: DifferentialFilter(), registry: .standard, tool: "t", replay: replay)
        let outcome = try DifferentialReplay.run(trace: trace, profiles: ["tm-v0.34", "cometbft-v0.38"], mode: .reactive,
                                                 filter: DifferentialFilter(ignoredKinds: DecisionKind.allCases.filter { $0 != .blockApplied },
                                                                            ignoreTime: true),
                                                 registry: .standard, tool: "t", replay: replay)
        // Both apply the same blocks in the same order: the same outcome, not the same steps.
        #expect(outcome.differs == false, "\(outcome.text)")
        #expect(steps.sides.count == 2)
    }

    @Test func theRecordedNodeIsASide() throws {
        let catchup = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/catchup-basic.trace").path
        // Recorded by the simulator with cometbft-v0.38: strict replay sends what it sent.
        let same = try SyncReplayProcess.run(["diff", catchup, "--profiles", "observed,cometbft-v0.38", "--mode", "strict", "--report", "json"])
        let json = try JSONParser.parse(same.stdout)
        #expect(same.status == 0, "\(same.stdout)")
        #expect(json["profiles"]?.arrayValue?.first?["profile"]?.stringValue == "observed")
        #expect(json["ignore"]?.arrayValue?.contains(.string("block_applied")) == true)
        // tm-v0.34 asks differently (no peerConnWait, one request per height).
        let other = try SyncReplayProcess.run(["diff", catchup, "--profiles", "observed,tm-v0.34", "--mode", "strict"])
        #expect(other.status == 1, "\(other.stdout)")
        #expect(other.stdout.contains("first difference: "))
    }

    @Test func suiteDiffReportsEachTraceWithJUnit() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("suite-diff-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(atPath: Self.nbr, toPath: dir.appendingPathComponent("nbr.trace").path)
        let junit = dir.appendingPathComponent("diff.xml").path
        let r = try SyncReplayProcess.run(["suite", dir.path, "--diff", "tm-v0.34,cometbft-v0.38", "--junit", junit])
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("DIFF  nbr: first difference: "))
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains("<testcase classname=\"syncreplay.diff\" name=\"nbr\""))
        #expect(xml.contains("<failure message=\"first difference: "))
        let same = try SyncReplayProcess.run(["suite", dir.path, "--diff", "tm-v0.35,tm-v0.35"])
        #expect(same.status == 0, "\(same.stdout)\(same.stderr)")
    }

    @Test func unknownProfileIsBadInput() throws {
        let r = try SyncReplayProcess.run(["diff", Self.nbr, "--profiles", "tm-v0.34,no-such"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("unknown profile no-such"))
    }
}

@Suite struct TraceReducerTests {
    /// A long-ish sync: 120 blocks from 6 peers (several hundred events).
    static let scenario = """
    name = "reduce-planted"
    [chain]
    seed = "reduce"
    length = 120
    [node]
    profile = "tm-v0.34"
    duration = "60s"
    [[peer]]
    id = "p1"
    latency = "5ms"
    [[peer]]
    id = "p2"
    latency = "7ms"
    [[peer]]
    id = "p3"
    latency = "9ms"
    [[peer]]
    id = "p4"
    latency = "11ms"
    [[peer]]
    id = "p5"
    latency = "13ms"
    [[peer]]
    id = "p6"
    latency = "15ms"
    """

    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("reduce-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func reduce(_ trace: String, target: ReductionTarget, registry: MachineRegistry, to output: String) throws -> (ReductionResult, [String]) {
        let reducible = try ReducibleTrace(path: trace)
        let oracle = ReductionOracle(target: target, replay: { try ReplaySession.replay($0, options: $1, hint: HintSelection(), machines: registry) })
        var reducer = TraceReducer(trace: reducible, oracle: oracle, maxRuns: 2000, jobs: 2)
        let result = try reducer.run()
        let goldens = try ReductionOutput.write(result, trace: reducible, to: output, target: target, registry: registry, tool: "t")
        return (result, goldens)
    }

    @Test func aPlantedProfileBugReducesToAFewEventsByteIdentically() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let trace = dir.appendingPathComponent("long.trace").path
        _ = try Simulation(scenario: try Scenario.parse(Self.scenario), machines: .standard).run(to: trace)
        let original = try ReplayTraceLoader.load(path: trace).events.count
        let registry = PlantedReactor.registry
        let target = ReductionTarget.diff("tm-v0.34", PlantedReactor.profile, mode: .reactive, filter: DifferentialFilter())
        var outputs: [[Data]] = []
        for run in 1...2 {
            let out = dir.appendingPathComponent("min\(run).trace").path
            let (result, goldens) = try Self.reduce(trace, target: target, registry: registry, to: out)
            #expect(result.identity.kind == .peerBanned && result.identity.reason == "planted bug")
            #expect(result.identity.change == "only in planted-v0.34")
            #expect(result.kept.count <= 50, "\(result.kept.count) events left of \(original)")
            #expect(result.kept.count < original / 4)
            #expect(goldens.map { ($0 as NSString).lastPathComponent } == ["min\(run).tm-v0.34.golden.json", "min\(run).planted-v0.34.golden.json"])
            // The written trace still fails the same way.
            var oracle = ReductionOracle(target: target, replay: { try ReplaySession.replay($0, options: $1, hint: HintSelection(), machines: registry) })
            #expect(try oracle.start(try ReplayTraceLoader.load(path: out)) == result.identity)
            outputs.append(try ([out] + goldens).map { try Data(contentsOf: URL(fileURLWithPath: $0)) })
        }
        #expect(outputs[0][0] == outputs[1][0], "MIN.trace differs between two runs")
        #expect(outputs[0][1] == outputs[1][1] && outputs[0][2] == outputs[1][2], "the goldens differ between two runs")
    }

    @Test func aGoldenWithOneDecisionChangedReducesAndItsReducedGoldenFailsTheSameWay() throws {
        let dir = try Self.directory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let corpus = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces")
        let trace = dir.appendingPathComponent("nbr.trace").path
        try FileManager.default.copyItem(atPath: corpus.appendingPathComponent("noblockresponse-rerequest-2475.trace").path, toPath: trace)
        // Plant: the golden says p1 is removed for another reason.
        var golden = try GoldenFile.decode(Array(try Data(contentsOf: corpus.appendingPathComponent("noblockresponse-rerequest-2475.tm-v0.34.golden.json"))))
        let i = try #require(golden.entries.firstIndex { if case .decision(let d) = $0, d.kind == .peerRemoved { true } else { false } })
        guard case .decision(var planted) = golden.entries[i], case .peerRemoved(let peer, _) = planted.action else { Issue.record("no removal"); return }
        planted.action = .peerRemoved(peer: peer, reason: "planted reason")
        golden.entries[i] = .decision(planted)
        let target = ReductionTarget.golden(golden, profile: "tm-v0.34", mode: golden.provenance.mode)
        let out = dir.appendingPathComponent("min.trace").path
        let (result, goldens) = try Self.reduce(trace, target: target, registry: .standard, to: out)
        #expect(result.identity.change == "changed" && result.identity.kind == .peerRemoved && result.identity.pointerTail == "/reason")
        #expect(result.kept.count <= 50)
        #expect(goldens == [dir.appendingPathComponent("min.tm-v0.34.golden.json").path])
        // The reduced pair fails the same way through the ordinary replay command.
        let r = try SyncReplayProcess.run([out, "--expect", goldens[0], "--report", "json"], environment: ReplayFixtures.environment(ci: true))
        #expect(r.status == 1, "\(r.stdout)\(r.stderr)")
        let json = try JSONParser.parse(r.stdout)
        #expect(json["first_divergence"]?["pointer"]?.stringValue?.hasSuffix("/reason") == true)
        #expect(json["first_divergence"]?["expected"]?["reason"]?.stringValue == "planted reason")
        // doctor-clean.
        #expect(try SyncReplayProcess.run(["doctor", out]).status == 0)
    }
}
