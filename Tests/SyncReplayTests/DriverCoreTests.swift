import CometWire
import SyncDriver
import SyncMachine
import Testing

/// The driver core (issue 12) on its own: the tie rule, the switch's disconnect feedback, causes,
/// and both ways a run ends — with a test-only machine and peer source.
@Suite struct DriverCoreTests {
    /// Logs every input and timer firing; a NoBlockResponse makes it disconnect the peer; its
    /// one timer (`beat`, every 10 ms until 30 ms) broadcasts a StatusRequest.
    struct LoggingMachine: BlockSyncMachine {
        enum Timer: String, MachineTimer { case beat }
        var now: UInt64 = 0
        var beat: UInt64? = 10
        var log: [String] = []

        var nextTimer: (deadline: UInt64, timer: Timer)? { beat.map { ($0, .beat) } }

        mutating func handle(_ input: MachineInput) -> [MachineEffect] {
            now = max(now, input.time)
            switch input {
            case .peerAdded(let p, let t): log.append("added \(p) @\(t)")
            case .peerRemoved(let p, let reason, let t): log.append("removed \(p) (\(reason)) @\(t)")
            case .received(let m, let p, _, let t):
                log.append("\(m.kind) from \(p) @\(t)")
                if case .noBlockResponse = m { return [.disconnect(p, reason: "no block")] }
            case .undecodable(let p, _, let t): log.append("undecodable from \(p) @\(t)")
            case .timeAdvanced(let t): log.append("advanced @\(t)")
            }
            return []
        }

        mutating func fireTimers() -> [(timer: Timer, effect: MachineEffect)] {
            guard let t = beat else { return [] }
            now = t
            log.append("beat @\(t)")
            beat = t < 30 ? t + 10 : nil
            return [(.beat, .broadcastStatusRequest)]
        }
    }

    /// Peers that answer a StatusRequest after 10 ns (lane 1) and whose scripted messages sit in lane 0.
    struct Peers: PeerSource {
        enum Event { case connect(PeerID), message(BlocksyncMessage, from: PeerID) }
        var effects: [String] = []

        mutating func happen(_ event: Event, cause: EffectCause, at now: UInt64, connected: Set<PeerID>) -> [PeerStep<Event>] {
            switch event {
            case .connect(let p): return [.connect(p)]
            case .message(let m, let p): return [.deliver(m.encode(), from: p)]
            }
        }

        mutating func observe(_ effect: MachineEffect, cause: EffectCause, at now: UInt64) {
            effects.append("\(effect) by \(cause) @\(now)")
        }

        mutating func send(_ message: BlocksyncMessage, to peer: PeerID, connected: Bool, cause: EffectCause, at now: UInt64) -> [Scheduled<Event>] {
            [Scheduled(.message(.statusResponse(height: 5, base: 1), from: peer), at: now + 10, lane: 1)]
        }
    }

    static func driver() -> Driver<Peers> {
        var driver = Driver(machine: LoggingMachine(), source: Peers())
        driver.schedule(Scheduled(.connect("b"), at: 0))
        driver.schedule(Scheduled(.connect("a"), at: 0))
        // At 10: a lane-1 message scheduled first still comes after the lane-0 one; both before the beat.
        driver.schedule(Scheduled(.message(.statusRequest, from: "a"), at: 10, lane: 1))
        driver.schedule(Scheduled(.message(.noBlockResponse(height: 3), from: "b"), at: 10, lane: 0, cause: .event(42)))
        // From b after it was dropped: lost.
        driver.schedule(Scheduled(.message(.statusRequest, from: "b"), at: 15))
        return driver
    }

    @Test func peerEventsBeforeTimersLanesInOrderAndDisconnectsFedBack() throws {
        var driver = Self.driver()
        try driver.run(until: .at(25))
        let machine = driver.machine as! LoggingMachine
        #expect(machine.log == [
            "added b @0", "added a @0",
            "no_block_response from b @10", "removed b (no block) @10",
            "status_request from a @10",
            "beat @10",
            "status_response from a @20",
            "beat @20",
        ])
        #expect(driver.connected == ["a"])
        #expect(driver.source.effects == [
            "disconnect(\"b\", reason: \"no block\") by event(42) @10",
            "broadcastStatusRequest by timer(\"beat\") @10",
            "broadcastStatusRequest by timer(\"beat\") @20",
        ])
        #expect(driver.steps == 8)
    }

    @Test func aHardEndStopsWhatIsDueLaterADrainDeliversEveryEvent() throws {
        var hard = Self.driver()
        try hard.run(until: .at(5))
        #expect((hard.machine as! LoggingMachine).log == ["added b @0", "added a @0"])
        // Drain: every scheduled event happens; timers fire past the horizon only while events are pending.
        var drained = Self.driver()
        drained.schedule(Scheduled(.connect("c"), at: 100))
        try drained.run(until: .drain(horizon: 0, progress: nil))
        let log = (drained.machine as! LoggingMachine).log
        #expect(log.suffix(3) == ["beat @30", "status_response from a @40", "added c @100"])
    }

    @Test func aStuckTimerIsAnErrorNotAHang() {
        struct Stuck: BlockSyncMachine {
            enum Timer: String, MachineTimer { case stuck }
            var now: UInt64 = 0
            var nextTimer: (deadline: UInt64, timer: Timer)? { (7, .stuck) }
            mutating func handle(_ input: MachineInput) -> [MachineEffect] { [] }
            mutating func fireTimers() -> [(timer: Timer, effect: MachineEffect)] { now = 7; return [] }
        }
        var driver = Driver(machine: Stuck(), source: Peers())
        #expect(throws: DriverError.stalledClock(deadline: 7)) { try driver.run(until: .at(100)) }
    }
}
