import BlockSync
import Foundation
import Implementations
import Replay
import Sim
import SyncMachine
import SyncTrace
import Testing

/// Issue 20: replay cost follows events, not virtual time. The inputs are the issue's own: a
/// corpus trace whose last event (the `/capture` end marker) is moved later by a quiet gap.
@Suite struct IdleSkippingTests {
    static let corpusTrace = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Traces/no-progress-switch-5718.trace").path
    static let second: UInt64 = 1_000_000_000
    static let profiles: [ProfileName] = [.tmV034, .tmV035, .cometbftV038]

    /// The corpus trace with its last event `gap` ns later (`TraceRetiming`).
    static func withQuietGap(_ gap: UInt64) throws -> ReplayTrace {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("idle-\(gap)-\(UUID().uuidString).trace")
        defer { try? FileManager.default.removeItem(at: url) }
        try TraceRetiming.write(try TraceReader(path: corpusTrace), to: url.path, lastEventLater: gap)
        return try ReplayTraceLoader.load(path: url.path)
    }

    /// The v0 reactor with idle skipping off: every switch check and requester-loop wake-up
    /// runs, as the replay stepped before issue 20.
    static let stepping: MachineRegistry = {
        let v0 = Reactor.implementation
        let implementation = MachineImplementation(name: v0.name, summary: v0.summary, profiles: v0.profiles) { (name, start) throws(MachineStartError) in
            guard let profile = BlockSyncProfile(named: name) else { throw MachineStartError("unknown profile \(name)") }
            let configuration = ReactorConfiguration(startTime: start.startTime, voteExtensionsEnableHeight: start.voteExtensionsEnableHeight,
                                                     localValidatorAddress: start.localValidatorAddress, application: start.application,
                                                     skipsIdleTicks: false)
            do { return try Reactor(profile: profile, state: start.state, store: start.store, configuration: configuration) } catch {
                throw MachineStartError("\(error)")
            }
        }
        return try! MachineRegistry([implementation], defaultProfile: .cometbftV038)
    }()

    /// Counts `fireTimers()` calls: the replay's cost in machine steps.
    final class Steps: @unchecked Sendable { var fired = 0 }
    struct Counting<Base: BlockSyncMachine>: BlockSyncMachine {
        var base: Base
        let steps: Steps
        var now: Nanoseconds { base.now }
        var nextTimer: (deadline: Nanoseconds, timer: Base.Timer)? { base.nextTimer }
        mutating func handle(_ input: MachineInput) -> [MachineEffect] { base.handle(input) }
        mutating func fireTimers() -> [(timer: Base.Timer, effect: MachineEffect)] {
            steps.fired += 1
            return base.fireTimers()
        }
    }

    static func replay(_ trace: ReplayTrace, _ profile: ProfileName, _ mode: ReplayMode,
                       machines: MachineRegistry = .standard) throws -> [Decision] {
        try ReplayEngine(trace: trace, options: ReplayOptions(profile: profile, mode: mode)).run(machines: machines, pivot: nil).decisions
    }

    /// Timer firings of a replay (the standard reactor, skipping idle ticks).
    static func firings(_ trace: ReplayTrace, _ profile: ProfileName, _ mode: ReplayMode) throws -> (steps: Int, decisions: [Decision]) {
        let steps = Steps()
        let implementation = MachineImplementation(name: "v0", summary: "counted", profiles: Reactor.implementation.profiles) { (name, start) throws(MachineStartError) in
            guard let profile = BlockSyncProfile(named: name) else { throw MachineStartError("unknown profile \(name)") }
            do { return Counting(base: try Reactor(profile: profile, start: start), steps: steps) } catch { throw MachineStartError("\(error)") }
        }
        let registry = try MachineRegistry([implementation], defaultProfile: .cometbftV038)
        let decisions = try replay(trace, profile, mode, machines: registry)
        return (steps.fired, decisions)
    }

    @Test func aQuietGapReplaysExactlyAsSteppingThroughEveryTick() throws {
        let trace = try Self.withQuietGap(120 * Self.second)
        for profile in Self.profiles {
            for mode in ReplayMode.allCases {
                let skipped = try Self.replay(trace, profile, mode)
                let stepped = try Self.replay(trace, profile, mode, machines: Self.stepping)
                #expect(skipped == stepped, "\(profile) \(mode)")
            }
        }
    }

    /// An hour of quiet costs one step per status broadcast (its decision), not one per tick:
    /// stepping would add ~3600 switch checks and as many requester-loop wake-ups.
    @Test func anHourOfQuietCostsOneStepPerStatusBroadcast() throws {
        let short = try Self.withQuietGap(Self.second), long = try Self.withQuietGap(3600 * Self.second)
        for profile in Self.profiles {
            for mode in ReplayMode.allCases {
                let a = try Self.firings(short, profile, mode), b = try Self.firings(long, profile, mode)
                let statusA = a.decisions.filter { $0.kind == .statusRequest }.count
                let statusB = b.decisions.filter { $0.kind == .statusRequest }.count
                #expect(b.steps - a.steps <= statusB - statusA + 2, "\(profile) \(mode): \(a.steps) → \(b.steps) steps")
                if profile == .cometbftV038 { #expect(statusB - statusA >= 359, "\(profile) \(mode)") }
            }
        }
    }

    @Test func aTimestampBeyondTheSpanExitsWithTheEventNamed() throws {
        let trace = try Self.withQuietGap(1 << 62)
        let last = trace.events.last!
        #expect(throws: ReplayError.spanExceeded(event: last.index, time: last.time, start: trace.events[0].time, maxSpan: .defaultMaximum)) {
            try Self.replay(trace, .cometbftV038, .reactive)
        }
        let error = ReplayError.spanExceeded(event: last.index, time: last.time, start: trace.events[0].time, maxSpan: .defaultMaximum)
        #expect(error.description.hasPrefix("event #\(last.index) at \(last.time) ns lies "))
        #expect(error.description.contains("beyond the maximum virtual span of 7d; pass --max-span"))
    }

    @Test func theSpanOptionParsesWholeUnits() {
        #expect(VirtualSpan(text: "7d") == .defaultMaximum)
        #expect(VirtualSpan(text: "36h")?.nanoseconds == 36 * 3600 * Self.second)
        #expect(VirtualSpan(text: "90m")?.description == "90m")
        #expect(VirtualSpan(text: "120s")?.description == "2m")
        #expect(VirtualSpan(text: "50ms")?.nanoseconds == 50_000_000 && VirtualSpan(nanoseconds: 1_500_000).description == "1500us")
        for bad in ["", "d", "7", "1.5h", "-1d", "7w", "999999999999d"] { #expect(VirtualSpan(text: bad) == nil, "\(bad)") }
    }

    /// The status broadcasts of a quiet hour become one golden line that expands back exactly;
    /// a change to any member fails the comparison.
    @Test func periodicStatusBroadcastsCompressToOneLineAndRoundTrip() throws {
        let decisions = try Self.replay(try Self.withQuietGap(3600 * Self.second), .cometbftV038, .reactive)
        let provenance = Provenance(traceSHA256: String(repeating: "0", count: 64), traceEvents: 1, implementation: "v0",
                                    profile: .cometbftV038, mode: .reactive, tool: "t")
        let golden = GoldenFile(provenance: provenance, decisions: decisions)
        let periodic = golden.entries.compactMap { if case .periodic(let p) = $0 { return p }; return nil }
        #expect(periodic.count == 1)
        #expect(periodic.first.map { $0.count >= 350 && $0.period == 10 * Self.second && $0.timer == "status" } == true)
        #expect(golden.entries.count < 40)
        let decoded = try GoldenFile.decode(Array(golden.encoded().utf8))
        #expect(decoded == golden)
        var expanded: [Decision] = []
        for entry in decoded.entries {
            switch entry {
            case .decision(let d): expanded.append(d)
            case .periodic(let p): expanded += (0..<p.count).map(p.member)
            case .run(let r): expanded += decisions.filter { $0.kind == r.kind && ($0.action.height.map { (r.firstHeight...r.lastHeight).contains($0) } ?? false) }
            }
        }
        #expect(expanded == decisions)
        #expect(GoldenComparison.compare(expected: decoded.entries, actual: decisions).matches)
        let statusIndex = decisions.lastIndex { $0.kind == .statusRequest }! - 5
        var dropped = decisions
        dropped.remove(at: statusIndex)
        #expect(!GoldenComparison.compare(expected: decoded.entries, actual: dropped).matches)
        var shifted = decisions
        shifted[statusIndex].time += 1
        let comparison = GoldenComparison.compare(expected: decoded.entries, actual: shifted)
        #expect(comparison.divergences.first?.pointer.hasSuffix("/t") == true)
    }

    @Test func aHostilePeriodicLineIsRefused() {
        let line = #"{"decisions":[{"count":4294967296,"kind":"status_request","period":1,"t":[0,4294967295],"timer":"status"}],"# +
            #""provenance":{"implementation":"v0","mode":"reactive","profile":"tm-v0.34","tool":"t","trace":{"events":1,"sha256":"\#(String(repeating: "0", count: 64))"}},"schema":"syncreplay-golden/1"}"#
        #expect(throws: GoldenError.self) { try GoldenFile.decode(Array(line.utf8)) }
    }

    @Test func aScenarioLongerThanTheSpanIsRefused() {
        let text = """
        name = "long"
        [chain]
        seed = "s"
        length = 5
        [node]
        profile = "tm-v0.34"
        duration = "20000m"
        [[peer]]
        id = "p1"
        """
        #expect {
            _ = try Scenario.parse(text)
        } throws: { "\($0)".contains("maximum virtual span") }
    }
}
