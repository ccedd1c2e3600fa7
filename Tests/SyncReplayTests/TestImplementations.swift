import SyncMachine

/// Registers test-only implementations from the test target: a registry of their own, built
/// exactly as `MachineRegistry.standard` is (no edit to Replay, Sim or the CLI).
enum TestImplementations {
    static func registry<M: BlockSyncMachine>(name: String, profile: ProfileName,
                                              make: @escaping @Sendable (NodeStart) -> M) -> MachineRegistry {
        let implementation = MachineImplementation(
            name: name, summary: "test-only \(name) machine",
            profiles: [MachineProfile(name: profile, matches: "nothing released")],
            make: { (_, start) throws(MachineStartError) in make(start) })
        return try! MachineRegistry([implementation], defaultProfile: profile)
    }
}

import BlockSync
import Foundation
import Implementations
import Replay
import Sim
import Testing

/// A second implementation is a registry entry: the engine, goldens, provenance and golden
/// names need nothing else (issue 12).
@Suite struct MachineRegistryTests {
    @Test func aTestOnlyImplementationRecordsAndMatchesItsOwnGolden() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tracePath = dir.appendingPathComponent("case.trace").path
        let registry = ReplayEngineTests.ScriptedMachine.registry
        let replay: (ReplayTrace, ResolvedReplay) throws -> ReplayResult = {
            try ReplaySession.replay($0, $1, machines: registry)
        }
        let load: (String) throws -> ReplayTrace = { _ in ReplayEngineTests.recording }
        let recorded = try GoldenCase(registry: registry, tracePath: tracePath, request: ReplayRequest(profile: "scripted-1", mode: .reactive),
                                      record: .missing, ci: false, tool: "t").run(load: load, replay: replay)
        guard case .recorded(let header, _, let path, _) = recorded else { Issue.record("not recorded: \(recorded)"); return }
        #expect(path == dir.appendingPathComponent("case.scripted-1.golden.json").path)
        #expect(header.implementation == "scripted")
        let golden = try GoldenFile.decode(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
        #expect(golden.provenance.implementation == "scripted" && golden.provenance.profile == "scripted-1")
        // The status timer is named by the implementation's own enum.
        #expect(golden.entries.contains { if case .decision(let d) = $0 { d.cause == .timer("status") } else { false } })
        let again = try GoldenCase(registry: registry, tracePath: tracePath, goldenPath: path, ci: false, tool: "t").run(load: load, replay: replay)
        guard case .matched = again else { Issue.record("no match: \(again)"); return }
        // The standard registry does not know the test profile: a clear input error.
        #expect(throws: CaseError.self) {
            try GoldenCase(registry: .standard, tracePath: tracePath, goldenPath: path, ci: false, tool: "t").run(load: load, replay: replay)
        }
    }

    @Test func profileNamesAreUniqueAcrossImplementations() {
        let clash = MachineImplementation(name: "v0-copy", summary: "", profiles: [MachineProfile(name: "tm-v0.34", matches: "")],
                                          make: { (_, _) throws(MachineStartError) in ReplayEngineTests.ScriptedMachine() })
        var registry = MachineRegistry.standard
        #expect(throws: MachineStartError("profile tm-v0.34 is already registered")) { try registry.register(clash) }
        #expect(MachineRegistry.standard.implementation(of: "cometbft-v0.38")?.name == "v0")
        #expect(MachineRegistry.standard.helpText.contains("v0: CometBFT's v0 blocksync reactor"))
    }
}

/// The invariant checker (issue 12) catches what it should, names the step, and never traps.
@Suite struct InvariantCheckerTests {
    /// The toy machine, with one planted bug: on its first timer it also asks peer "a" for a
    /// height far above what "a" reported.
    struct PlantedMachine: BlockSyncMachine {
        var toy = ToyMachine()
        var planted = false
        var now: UInt64 { toy.now }
        var nextTimer: (deadline: UInt64, timer: ToyMachine.Timer)? { toy.nextTimer }
        mutating func handle(_ input: MachineInput) -> [MachineEffect] { toy.handle(input) }
        mutating func fireTimers() -> [(timer: ToyMachine.Timer, effect: MachineEffect)] {
            var fired = toy.fireTimers()
            if !planted, toy.peers["a"] != nil {
                planted = true
                fired.append((.tick, .send(.blockRequest(height: 999), to: "a")))
            }
            return fired
        }
    }

    @Test func theSimulatorFailsOnAPlantedViolationNamingTheStep() throws {
        let registry = TestImplementations.registry(name: "planted", profile: "tm-v0.34") { _ in PlantedMachine() }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("planted-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try Simulation(scenario: try Scenario.parse(SimDriverTests.scenario), machines: registry).run(to: path)
            Issue.record("the planted request was not caught")
        } catch let SimulationError.invariant(why) {
            #expect(why.hasPrefix("invariant violated at step "), "\(why)")
            #expect(why.contains("requested height 999 from peer a outside its reported range [1, 12]"), "\(why)")
        }
    }

    @Test func timeGoingBackwardsIsAViolationNotNow() throws {
        let chain = ReactorTests.chain60
        var machine = CheckedMachine(try Reactor(profile: .tmV034, start: NodeStart(genesis: chain.genesisState)))
        _ = machine.handle(.peerAdded("a", at: 10 * ReactorTests.ms))
        #expect(machine.violations.isEmpty)
        _ = machine.handle(.peerAdded("b", at: 5 * ReactorTests.ms))
        #expect(machine.violations == [InvariantViolation(step: 2, time: 10 * ReactorTests.ms,
                                                           message: "time went backwards: 5000000 ns after 10000000 ns")])
    }

    @Test func checkedReplayOfACorpusTraceHasNoViolations() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Traces/catchup-basic.trace")
        let trace = try ReplayTraceLoader.load(path: url.path)
        for mode in ReplayMode.allCases {
            let options = ReplayOptions(profile: .cometbftV038, mode: mode, checkInvariants: true)
            let result = try ReplayEngine(trace: trace, options: options).run(machines: .standard, pivot: nil)
            #expect(result.blocksApplied > 0)
        }
    }
}
