import CometWire
import SyncMachine

// # SyncDriver: the one driver of a block-sync machine
//
// Replay (recorded and ghost peers), the simulator (scripted peers), the reactor tests and
// `bench reactor` (loopback peers) all run a machine the same way (DESIGN.md §3): one virtual
// clock over a queue of scheduled peer events and the machine's timers, the switch's view of
// who is connected, disconnects fed back as `RemovePeer`, the invariant checker after every
// step, and every effect handed on with its cause. What differs between them is only where the
// peers' messages come from: a `PeerSource`.

/// What caused an effect: a scheduled peer event (its source's index — for replay, the trace
/// event) or the machine's named timer (`try_sync`…).
public enum EffectCause: Hashable, Sendable {
    case event(Int)
    case timer(String)
}

/// Something a peer source schedules on the driver's clock.
public struct Scheduled<Event> {
    public var time: Nanoseconds
    /// Ties at equal times: lower lanes first (replay: recorded events 0, ghost replies 1), then
    /// scheduling order.
    public var lane: Int
    /// The cause of the effects it leads to; nil: `.event(n)` with n its scheduling order.
    public var cause: EffectCause?
    public var event: Event

    public init(_ event: Event, at time: Nanoseconds, lane: Int = 0, cause: EffectCause? = nil) {
        self.time = time
        self.lane = lane
        self.cause = cause
        self.event = event
    }
}

/// What a peer source asks the driver to do when one of its events happens, in order.
public enum PeerStep<Event> {
    /// A peer connected: the switch adds it; the machine gets `.peerAdded`.
    case connect(PeerID)
    /// The peer closed the connection: if the switch has it, it drops it and the machine gets
    /// `.peerRemoved`.
    case hangUp(PeerID, reason: String)
    /// Bytes from a peer: decoded and handed to the machine (`.undecodable` when they do not
    /// decode, specs/cometbft-blocksync.md §3.2); dropped when the switch no longer has the peer.
    case deliver([UInt8], from: PeerID)
    /// An already decoded message and its size on the wire (dropped as `deliver` is).
    case receive(BlocksyncMessage, from: PeerID, wireSize: Int)
    /// Bytes the source found undecodable itself (dropped as `deliver` is).
    case undecodable(from: PeerID, error: String)
    /// Something for later.
    case schedule(Scheduled<Event>)
}

/// Where the peers' messages come from (recorded, ghost, scripted or loopback peers).
///
/// The driver calls `happen` when a scheduled event is due, `observe` for every effect of the
/// machine (fed-back ones included) before acting on it, and `send` for every message the
/// machine sends — a broadcast once per connected peer, in peer-ID order — whether or not the
/// switch still has the peer (`connected` says).
public protocol PeerSource {
    associatedtype Event
    mutating func happen(_ event: Event, cause: EffectCause, at now: Nanoseconds, connected: Set<PeerID>) throws -> [PeerStep<Event>]
    mutating func observe(_ effect: MachineEffect, cause: EffectCause, at now: Nanoseconds) throws
    mutating func send(_ message: BlocksyncMessage, to peer: PeerID, connected: Bool, cause: EffectCause, at now: Nanoseconds) throws -> [Scheduled<Event>]
}

extension PeerSource {
    public mutating func observe(_ effect: MachineEffect, cause: EffectCause, at now: Nanoseconds) throws {}
}

/// When a run ends (besides the machine switching to consensus). A documented parameter, since
/// replay and the simulator bound a run differently.
public enum RunEnd: Sendable, Equatable {
    /// Nothing due after this time happens (the simulator's scenario duration, the tests).
    case at(Nanoseconds)
    /// Every scheduled event happens, whatever its time; the machine's timers fire while events
    /// are pending and, after the last one, up to `horizon`, which each applied block moves to
    /// `progress` after it when set (replay's drain, `ReplayOptions.drain`).
    case drain(horizon: Nanoseconds, progress: Nanoseconds?)
}

/// What a run does once the machine has switched to consensus. The original node keeps its
/// blocksync reactor on the switch after `SwitchToConsensus` (specs/cometbft-blocksync.md §3.3,
/// §3.4): it still answers requests and receives late responses (cometbft #5860/#5959, #5975),
/// so a run may go on to see what it does with them.
public enum AfterSwitch: Sendable, Equatable {
    /// The run ends at the switch (after the rest of that step's effects).
    case stop
    /// Peer events and timers due at most this long after the switch still happen; the run's
    /// `RunEnd` no longer applies.
    case grace(Nanoseconds)
    /// The run goes on as its `RunEnd` bounds it, as if there had been no switch (replay: up to
    /// the recording's end).
    case runEnd
}

/// A run stopped on a machine fault.
public enum DriverError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The invariant checker (`CheckedMachine`) found a violation; it names the step.
    case invariant(InvariantViolation)
    /// The machine's next timer did not move past the previous one (it would loop forever).
    case stalledClock(deadline: Nanoseconds)

    public var description: String {
        switch self {
        case .invariant(let v): return v.description
        case .stalledClock(let d): return "internal: the machine's timer at \(d) ns did not advance the virtual clock"
        }
    }
}

/// The driver: a machine, a peer source, the virtual clock and the switch.
///
/// **Order** (the tie rule `BlockSyncMachine` states): the next thing to happen is the one with
/// the smallest virtual time; at equal times scheduled peer events come first (by lane, then in
/// scheduling order), then the machine's timers. `now` never goes backwards.
///
/// **Switch.** A `.disconnect` effect removes the peer from the switch and feeds `.peerRemoved`
/// back to the machine at once (`StopPeerForError` → `RemovePeer`); the effects that causes take
/// the disconnect's cause and run after the rest of the step's effects. Messages from a peer the
/// switch does not have are dropped. The run ends at `switchToConsensus` (unless `afterSwitch`
/// keeps it going) or `reactorPanic` (after the rest of that step's effects), when nothing is
/// left, or by `RunEnd`.
///
/// **Checks.** After every machine step the invariant checker's first violation, if any, stops
/// the run (`DriverError.invariant`); without a `CheckedMachine` there is none.
public struct Driver<Source: PeerSource> {
    public var machine: (any BlockSyncMachine)?
    public var source: Source
    public private(set) var now: Nanoseconds = 0
    /// Peers the switch has (connected, not disconnected since).
    public private(set) var connected: Set<PeerID> = []
    /// Machine steps so far: inputs handled and timer firings.
    public private(set) var steps = 0
    /// The height the machine switched to consensus at, once it has.
    public private(set) var switchedAt: Int64?
    /// When the machine switched to consensus (virtual ns), once it has.
    public private(set) var switchTime: Nanoseconds?
    /// What the run does after the switch (default: it ends there).
    public var afterSwitch: AfterSwitch = .stop
    /// The original's panic (`reactorPanic`, tendermint v2): the run ends there, as the node would.
    public private(set) var panicked: String?
    private var queue = EventQueue<Source.Event>()
    private var horizon: Nanoseconds = 0
    private var lastTimer: Nanoseconds?

    public init(machine: (any BlockSyncMachine)?, source: Source) {
        self.machine = machine
        self.source = source
    }

    /// Puts an event on the clock.
    public mutating func schedule(_ item: Scheduled<Source.Event>) { queue.push(item) }

    /// Runs until the machine switches to consensus (then as `afterSwitch` says), nothing is
    /// left, or `end` says so.
    public mutating func run(until end: RunEnd) throws {
        if case .drain(let h, _) = end { horizon = max(horizon, h) }
        while panicked == nil {
            var end = end
            if let t = switchTime {
                switch afterSwitch {
                case .stop: return
                case .grace(let g): end = .at(t &+ g)
                case .runEnd: break
                }
            }
            let ta = queue.first?.time
            let td = machineDeadline
            if let ta, ta <= (td ?? .max) {
                if case .at(let limit) = end, ta > limit { break }
                let (item, order) = queue.pop()!
                now = max(now, item.time)
                let cause = item.cause ?? .event(order)
                try perform(source.happen(item.event, cause: cause, at: now, connected: connected), cause: cause, end: end)
            } else if let td {
                switch end {
                case .at(let limit): guard td <= limit else { return }
                case .drain: guard td <= horizon || !queue.isEmpty else { return }
                }
                if let lastTimer, td <= lastTimer, td <= now { throw DriverError.stalledClock(deadline: td) }
                lastTimer = td
                now = max(now, td)
                steps += 1
                let fired = machine!.fireNamedTimers()
                try check()
                try dispatch(fired.lazy.map { ($0.effect, .timer($0.timer)) }, end: end)
            } else {
                return
            }
        }
    }

    /// Performs steps now (a test connecting a peer between runs, a source's event).
    public mutating func perform(_ steps: [PeerStep<Source.Event>], cause: EffectCause, end: RunEnd = .at(.max)) throws {
        for step in steps {
            switch step {
            case .connect(let peer):
                connected.insert(peer)
                try feed(.peerAdded(peer, at: now), cause: cause, end: end)
            case .hangUp(let peer, let reason):
                guard connected.remove(peer) != nil else { continue }
                try feed(.peerRemoved(peer, reason: reason, at: now), cause: cause, end: end)
            case .deliver(let bytes, let peer):
                guard connected.contains(peer) else { continue }
                let message: BlocksyncMessage
                do { message = try BlocksyncMessage.decode(bytes) } catch {
                    try feed(.undecodable(from: peer, error: String(describing: error), at: now), cause: cause, end: end)
                    continue
                }
                try feed(.received(message, from: peer, wireSize: bytes.count, at: now), cause: cause, end: end)
            case .receive(let message, let peer, let size):
                guard connected.contains(peer) else { continue }
                try feed(.received(message, from: peer, wireSize: size, at: now), cause: cause, end: end)
            case .undecodable(let peer, let error):
                guard connected.contains(peer) else { continue }
                try feed(.undecodable(from: peer, error: error, at: now), cause: cause, end: end)
            case .schedule(let item):
                queue.push(item)
            }
        }
    }

    /// Moves the machine's clock to `time` (firing whatever is due by then) as one step.
    public mutating func advance(to time: Nanoseconds) throws {
        now = max(now, time)
        try feed(.timeAdvanced(to: now), cause: .timer("advance"), end: .at(.max))
    }

    /// Sets the clock at least to `time` without a step (a recording's end).
    public mutating func wait(until time: Nanoseconds) { now = max(now, time) }

    private mutating func feed(_ input: MachineInput, cause: EffectCause, end: RunEnd) throws {
        guard machine != nil else { return }
        steps += 1
        let effects = machine!.handle(input)
        try check()
        try dispatch(effects.lazy.map { ($0, cause) }, end: end)
    }

    /// The machine's next deadline, read in place: asked from `run`'s mutating context as
    /// `machine?.nextDeadline`, it copied the whole machine out of its existential and
    /// destroyed the copy on every step (issue 19).
    private var machineDeadline: Nanoseconds? { machine?.nextDeadline }

    private func check() throws {
        if let violation = machine?.invariantViolations.first { throw DriverError.invariant(violation) }
    }

    /// Carries out one step's effects in order, each with its cause, then what the machine fed
    /// back meanwhile (a disconnect's `.peerRemoved`), first in first out. The step's effects
    /// are passed lazily, not as an array of pairs made for the purpose (issue 19).
    private mutating func dispatch<Effects: Sequence>(_ effects: Effects, end: RunEnd) throws
    where Effects.Element == (MachineEffect, EffectCause) {
        var fedBack: [(MachineEffect, EffectCause)] = []
        for (effect, cause) in effects { try carryOut(effect, cause: cause, end: end, fedBack: &fedBack) }
        var next = 0
        while next < fedBack.count {
            let (effect, cause) = fedBack[next]
            next += 1
            try carryOut(effect, cause: cause, end: end, fedBack: &fedBack)
        }
    }

    /// One effect: the source observes it, then the switch acts on it; effects the machine
    /// returns on a disconnect join `fedBack` with the disconnect's cause.
    private mutating func carryOut(_ effect: MachineEffect, cause: EffectCause, end: RunEnd,
                                   fedBack: inout [(MachineEffect, EffectCause)]) throws {
        try source.observe(effect, cause: cause, at: now)
        switch effect {
        case .send(let message, let peer):
            for item in try source.send(message, to: peer, connected: connected.contains(peer), cause: cause, at: now) { queue.push(item) }
        case .broadcastStatusRequest:
            for peer in connected.sorted() {
                for item in try source.send(.statusRequest, to: peer, connected: true, cause: cause, at: now) { queue.push(item) }
            }
        case .disconnect(let peer, let reason):
            if connected.remove(peer) != nil, machine != nil {
                steps += 1
                let returned = machine!.handle(.peerRemoved(peer, reason: reason, at: now))
                try check()
                fedBack.append(contentsOf: returned.lazy.map { ($0, cause) })
            }
        case .blockApplied:
            if case .drain(_, let progress?) = end { horizon = max(horizon, now &+ progress) }
        case .switchToConsensus(let height, _):
            // The first switch counts (a run going on after it may see a machine repeat it).
            if switchedAt == nil {
                switchedAt = height
                switchTime = now
            }
        case .reactorPanic(let message):
            panicked = message
        case .removeFromPool, .ban, .verifyFailed, .schedulerFail, .switchToBlockSync:
            break
        }
    }
}
