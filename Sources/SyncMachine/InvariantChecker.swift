/// What the invariant checker needs from an implementation beyond its inputs and effects: its
/// limits and, TigerBeetle state-checker style, the state it claims (pending requests per peer).
public struct InvariantView: Sendable, Equatable {
    /// The height the first applied block must have (store height + 1, or the initial height).
    public var firstHeight: Int64
    /// The profile's pending-request cap per peer; nil: not checked.
    public var maxPendingPerPeer: Int?
    /// How long a ban lasts; nil: the implementation does not ban.
    public var banDuration: Nanoseconds?
    /// Requests outstanding per peer, as the machine counts them.
    public var pendingPerPeer: [(peer: PeerID, pending: Int)]

    public init(firstHeight: Int64, maxPendingPerPeer: Int?, banDuration: Nanoseconds?, pendingPerPeer: [(peer: PeerID, pending: Int)]) {
        self.firstHeight = firstHeight
        self.maxPendingPerPeer = maxPendingPerPeer
        self.banDuration = banDuration
        self.pendingPerPeer = pendingPerPeer
    }

    public static func == (a: InvariantView, b: InvariantView) -> Bool {
        a.firstHeight == b.firstHeight && a.maxPendingPerPeer == b.maxPendingPerPeer && a.banDuration == b.banDuration
            && a.pendingPerPeer.map(\.peer) == b.pendingPerPeer.map(\.peer) && a.pendingPerPeer.map(\.pending) == b.pendingPerPeer.map(\.pending)
    }
}

/// One broken invariant: the step (inputs and timer firings counted from 1) and what broke.
public struct InvariantViolation: Error, Equatable, Sendable, CustomStringConvertible {
    public var step: Int
    public var time: Nanoseconds
    public var message: String

    public init(step: Int, time: Nanoseconds, message: String) {
        self.step = step
        self.time = time
        self.message = message
    }

    public var description: String { "invariant violated at step \(step) (t=\(time) ns): \(message)" }
}

/// Checks a block-sync machine after every step, in the style of TigerBeetle's state checker:
/// it keeps its own model of what the machine may do, built only from the inputs it was given
/// and the effects it returned, and compares. Invariants (issue 12):
/// 1. blocks are applied once each, in height order, from the first height on;
/// 2. a block is requested from a peer only inside the peer's last reported [base, height];
/// 3. no peer has more requests pending than the profile's cap (the machine's own count);
/// 4. nothing is requested from a peer after it was removed, until it reconnects or, after a
///    ban, reports its range again once the ban is over;
/// 5. time never goes backwards (an input stamped before the previous one is a violation, not
///    "now").
/// A violation is recorded, never trapped on; drivers fail the run naming the step.
public struct InvariantChecker: Sendable {
    public private(set) var violations: [InvariantViolation] = []
    public private(set) var step = 0
    private var now: Nanoseconds?
    private var nextHeight: Int64
    private let maxPendingPerPeer: Int?
    private let banDuration: Nanoseconds?
    /// Each peer's last reported (base, height).
    private var ranges: [PeerID: (base: Int64, height: Int64)] = [:]
    /// Removed peers, with the time their ban ends (nil: until they reconnect).
    private var removed: [PeerID: Nanoseconds?] = [:]

    public init(view: InvariantView) {
        nextHeight = view.firstHeight
        maxPendingPerPeer = view.maxPendingPerPeer
        banDuration = view.banDuration
    }

    /// Before the machine handles `input`.
    public mutating func willHandle(_ input: MachineInput) {
        step += 1
        advance(to: input.time)
        switch input {
        case .peerAdded(let p, _):
            removed[p] = nil
        case .peerRemoved(let p, _, _):
            ranges[p] = nil
            if removed[p] == nil { removed[p] = .some(nil) }
        case .received(.statusResponse(let height, let base), let p, _, let t):
            if let end = removed[p] {
                // A banned peer is let back in by a status report after its ban.
                if let end, t >= end { removed[p] = nil } else { break }
            }
            ranges[p] = (base, height)
        case .received, .undecodable, .timeAdvanced:
            break
        }
    }

    /// Before the machine fires the timer due at `deadline`.
    public mutating func willFireTimer(at deadline: Nanoseconds) {
        step += 1
        advance(to: deadline)
    }

    /// After the step: its effects, and the machine's view of itself.
    public mutating func did(_ effects: [MachineEffect], view: InvariantView) {
        let t = now ?? 0
        for effect in effects {
            switch effect {
            case .send(.blockRequest(let h), let p):
                if removed[p] != nil {
                    fail("requested height \(h) from peer \(p) after it was removed")
                } else if let r = ranges[p] {
                    if h < r.base || h > r.height { fail("requested height \(h) from peer \(p) outside its reported range [\(r.base), \(r.height)]") }
                } else {
                    fail("requested height \(h) from peer \(p), which never reported its range")
                }
            case .disconnect(let p, _):
                ranges[p] = nil
                if removed[p] == nil { removed[p] = .some(nil) }
            case .removeFromPool(let p, _):
                ranges[p] = nil
                if removed[p] == nil { removed[p] = .some(t) }
            case .ban(let p, _):
                ranges[p] = nil
                removed[p] = .some(banDuration.map { t &+ $0 } ?? t)
            case .blockApplied(let h, _):
                if h != nextHeight { fail("applied height \(h), expected \(nextHeight) (each block once, in height order)") }
                nextHeight = max(nextHeight, h &+ 1)
            case .switchToBlockSync(let h):
                // State sync's hand-over: the node's chain continues after the snapshot.
                nextHeight = h
            case .send, .broadcastStatusRequest, .verifyFailed, .switchToConsensus, .reactorPanic, .schedulerFail:
                break
            }
        }
        if let cap = maxPendingPerPeer {
            for (p, pending) in view.pendingPerPeer where pending > cap {
                fail("peer \(p) has \(pending) requests pending, over the cap of \(cap)")
            }
        }
    }

    private mutating func advance(to t: Nanoseconds) {
        if let now, t < now { fail("time went backwards: \(t) ns after \(now) ns") }
        now = max(now ?? t, t)
    }

    private mutating func fail(_ message: String) {
        violations.append(InvariantViolation(step: step, time: now ?? 0, message: message))
    }
}

/// A machine with the invariant checker fed every step: drivers run it like the machine it
/// wraps and read `violations` after each step.
public struct CheckedMachine<Base: BlockSyncMachine>: BlockSyncMachine {
    public private(set) var base: Base
    public private(set) var checker: InvariantChecker

    public init(_ base: Base) {
        self.base = base
        checker = InvariantChecker(view: base.invariantView)
    }

    public var now: Nanoseconds { base.now }
    public var nextTimer: (deadline: Nanoseconds, timer: Base.Timer)? { base.nextTimer }
    public var nextDeadline: Nanoseconds? { base.nextDeadline }
    public var invariantView: InvariantView { base.invariantView }
    public var violations: [InvariantViolation] { checker.violations }

    public mutating func handle(_ input: MachineInput) -> [MachineEffect] {
        checker.willHandle(input)
        let effects = base.handle(input)
        checker.did(effects, view: base.invariantView)
        return effects
    }

    public mutating func fireTimers() -> [(timer: Base.Timer, effect: MachineEffect)] {
        checker.willFireTimer(at: base.nextTimer?.deadline ?? base.now)
        let fired = base.fireTimers()
        checker.did(fired.map(\.effect), view: base.invariantView)
        return fired
    }
}

extension BlockSyncMachine {
    /// This machine with the invariant checker (`CheckedMachine`).
    public func checked() -> any BlockSyncMachine { CheckedMachine(self) }
}

extension CheckedMachine {
    public var invariantViolations: [InvariantViolation] { checker.violations }
}
