import CometWire
import SyncMachine

/// A replay could not run on this input (exit 2).
public enum ReplayError: Error, Equatable, Sendable, CustomStringConvertible {
    case noNodeRecord
    case noMachine
    case noImplementation(ProfileName)
    case noHint
    case pivot(event: Int, reason: String)
    case machine(String)
    case stalledClock(deadline: UInt64)
    case noOutbound
    case invariant(InvariantViolation)
    /// The event lies beyond `ReplayOptions.maxSpan` after the first one (issue 20).
    case spanExceeded(event: Int, time: UInt64, start: UInt64, maxSpan: VirtualSpan)

    public var description: String {
        switch self {
        case .noNodeRecord: return "the trace has blocksync events but no /node record to start the reactor from"
        case .noMachine: return "the trace has blocksync events but no block-sync implementation is available to replay them"
        case .noImplementation(let p): return "no registered block-sync implementation has the profile \(p)"
        case .noHint:
            return "the trace has pivot events but no pivot-hint attachment; pass --hint FILE --hint-checksum HEX"
        case .pivot(let e, let reason): return "pivot event #\(e): \(reason)"
        case .machine(let why): return "cannot start the reactor: \(why)"
        case .noOutbound:
            return "strict mode compares the node's own outbound messages, and this trace records none; use --mode reactive"
        case .stalledClock(let d): return "internal: the reactor's timer at \(d) ns did not advance the virtual clock"
        case .invariant(let v): return "the machine broke an invariant (--check-invariants): \(v)"
        case .spanExceeded(let e, let t, let start, let span):
            return "event #\(e) at \(t) ns lies \(t - start) ns after the first event (\(start) ns), beyond the maximum virtual span of \(span); pass --max-span to raise it"
        }
    }
}

/// Options of one replay.
public struct ReplayOptions: Sendable {
    public var profile: ProfileName
    public var mode: ReplayMode
    /// After the last input event, timers keep firing for this long (virtual ns), or until the
    /// reactor switches to consensus.
    ///
    /// Strict (default 1 s): the recording is the whole conversation, so the replay gives the
    /// reactor one switch-to-consensus check period (specs/cometbft-blocksync.md §3.4) to say
    /// that it caught up, and no more.
    ///
    /// Reactive (default 5 s): the ghost peers stay connected after the recording ends, as the
    /// real peers would, so the node keeps syncing from them: the horizon also moves to 5 s
    /// after the latest applied block. A trace recorded with a fast profile thus still lets a
    /// slower one finish (cometbft-v0.38 waits `peerConnWait` = 3 s before its first request,
    /// §2.3, and checks for the switch every 1 s); a node that stalls ends 5 s after its last
    /// progress. Progress is only an applied block, so the extension is bounded by the chain.
    public var drain: UInt64
    /// Test-only: lets the decision order follow a `Dictionary`'s iteration order, to prove
    /// that `--check-determinism` catches such a dependence. Never set in normal use.
    public var plantDictionaryOrder: Bool
    /// Run the invariant checker after every step (`InvariantChecker`); a violation fails the
    /// replay (exit 2) naming the step.
    public var checkInvariants: Bool
    /// The most virtual time the trace's events may cover, first to last (`VirtualSpan`);
    /// an event beyond it fails the replay (exit 2) before anything runs.
    public var maxSpan: VirtualSpan = .defaultMaximum

    public static let strictDrain: UInt64 = 1_000_000_000
    public static let reactiveDrain: UInt64 = 5_000_000_000

    public init(profile: ProfileName, mode: ReplayMode, drain: UInt64? = nil, plantDictionaryOrder: Bool = false, checkInvariants: Bool = false) {
        self.checkInvariants = checkInvariants
        self.profile = profile
        self.mode = mode
        self.drain = drain ?? (mode == .strict ? Self.strictDrain : Self.reactiveDrain)
        self.plantDictionaryOrder = plantDictionaryOrder
    }
}

/// What a replay produced.
public struct ReplayResult: Sendable {
    public var decisions: [Decision]
    public var eventsDelivered: Int
    public var blocksApplied: Int
    public var endTime: UInt64

    /// SHA-256 over the canonical decision lines (the determinism check compares these).
    public var digest: String { DecisionRun.digest(of: decisions) }
}

/// The replayer: one virtual clock over the trace's events, the ghost peers' replies and the
/// reactor's timers (DESIGN.md §3).
///
/// **Total order.** The next thing to happen is the one with the smallest virtual time. At
/// equal times: recorded trace events first (in file order), then ghost replies (in the order
/// they were scheduled), then the reactor's timers. Rationale: a recorded event at t happened
/// by t, so a timer firing at t must see it; a ghost reply is a consequence of earlier sends.
///
/// **Strict mode.** Every recorded event is delivered as recorded, at its recorded time.
/// Recorded outbound messages are not delivered; they are matched per peer against what the
/// reactor sends, by content, in order. Left-over recorded messages become `outbound_missing`
/// decisions and unmatched sends `outbound_extra` decisions, appended at the end of the log in
/// (time, cause) order. Inbound messages from a peer the reactor has disconnected are dropped,
/// as the switch would drop them.
///
/// **Reactive mode.** Ghost peers (`GhostPeers`) answer the reactor's requests; recorded
/// inbound block responses are not delivered as such.
///
/// A message that does not decode reaches the machine as `undecodable`; the reactor stops the
/// peer as on a `ValidateMsg` failure (§3.2).
public struct ReplayEngine {
    public let trace: ReplayTrace
    public let options: ReplayOptions

    public init(trace: ReplayTrace, options: ReplayOptions) {
        self.trace = trace
        self.options = options
    }

    /// Runs the replay. `machines` (the implementation owning `options.profile` starts from the
    /// trace's `NodeStart`) is required when the trace has blocksync events, `pivot` when it
    /// has pivot events.
    public func run(machines: MachineRegistry?, pivot: (any PivotValidating)?) throws(ReplayError) -> ReplayResult {
        var state = RunState(options: options, events: trace.events)
        if trace.hasBlocksync {
            guard trace.node != nil else { throw .noNodeRecord }
            guard let machines, !machines.implementations.isEmpty else { throw .noMachine }
            guard machines.implementation(of: options.profile) != nil else { throw .noImplementation(options.profile) }
            if options.mode == .strict && !trace.events.contains(where: {
                if case .blocksync(_, false, _) = $0.body { return true }; return false
            }) {
                throw .noOutbound
            }
            do {
                let machine = try machines.makeMachine(profile: options.profile, start: try trace.nodeStart())
                state.machine = options.checkInvariants ? machine.checked() : machine
            } catch {
                throw .machine(String(describing: error))
            }
        }
        if trace.hasPivot {
            guard let pivot else { throw .noHint }
            state.pivot = pivot
        }
        try state.run()
        var decisions = state.decisions
        if options.plantDictionaryOrder {
            // Deliberately wrong: a Dictionary's iteration order differs between processes.
            var byLine: [String: Decision] = [:]
            for d in decisions { byLine[d.json.canonical] = d }
            decisions = Array(byLine.values)
        }
        return ReplayResult(decisions: decisions, eventsDelivered: state.delivered, blocksApplied: state.applied, endTime: state.now)
    }
}

/// A ghost reply waiting in the virtual clock's queue.
struct PendingReply {
    var time: UInt64
    var order: Int
    var peer: String
    var message: [UInt8]
    var cause: DecisionCause
}

struct RunState {
    let options: ReplayOptions
    let events: [ReplayEvent]
    var machine: (any BlockSyncMachine)?
    var pivot: (any PivotValidating)?
    var ghosts: GhostPeers?
    var decisions: [Decision] = []
    var now: UInt64 = 0
    var delivered = 0
    var applied = 0
    var finished = false
    /// Timers fire up to this virtual time once the trace is exhausted (`ReplayOptions.drain`).
    var horizon: UInt64 = 0
    /// Peers currently connected (and not disconnected by the reactor).
    var connected: Set<String> = []
    var replies: [PendingReply] = []
    var replyOrder = 0
    // Strict-mode outbound matching, per peer, in order.
    var recordedUnmatched: [String: [(message: BlocksyncMessage, time: UInt64, index: Int)]] = [:]
    var sentUnmatched: [String: [(message: BlocksyncMessage, time: UInt64, cause: DecisionCause)]] = [:]

    init(options: ReplayOptions, events: [ReplayEvent]) {
        self.options = options
        self.events = events
        if options.mode == .reactive { ghosts = GhostPeers(events: events) }
    }

    mutating func run() throws(ReplayError) {
        try checkSpan()  // issue 20: the span bound; idle skipping itself is the machine's (nextTimer)
        var next = 0
        let lastTime = events.last?.time ?? 0
        horizon = lastTime &+ options.drain
        var lastTimer: UInt64?
        while !finished {
            if options.checkInvariants, let violation = machine?.invariantViolations.first { throw .invariant(violation) }
            let te = next < events.count ? events[next].time : nil
            let tg = replies.first?.time
            let td = machine?.nextTimerName?.deadline
            if let te, te <= (tg ?? .max), te <= (td ?? .max) {
                now = max(now, te)
                try deliver(events[next])
                next += 1
            } else if let tg, tg <= (td ?? .max) {
                let reply = replies.removeFirst()
                now = max(now, tg)
                deliverReply(reply)
            } else if let td, td <= horizon || next < events.count || !replies.isEmpty {
                if let lastTimer, td <= lastTimer, td <= now { throw .stalledClock(deadline: td) }
                lastTimer = td
                now = max(now, td)
                apply(machine!.fireNamedTimers().map { ($0.effect, .timer($0.timer)) })
            } else {
                break
            }
        }
        if options.checkInvariants, let violation = machine?.invariantViolations.first { throw .invariant(violation) }
        flushOutbound()
    }

    /// Issue 20: refuses a trace whose events cover more than `options.maxSpan`, naming the
    /// first event beyond it (events are in time order).
    func checkSpan() throws(ReplayError) {
        guard let start = events.first?.time,
              let beyond = events.first(where: { options.maxSpan.isExceeded(from: start, to: $0.time) }) else { return }
        throw .spanExceeded(event: beyond.index, time: beyond.time, start: start, maxSpan: options.maxSpan)
    }

    mutating func deliver(_ event: ReplayEvent) throws(ReplayError) {
        delivered += 1
        let cause = DecisionCause.event(event.index)
        switch event.body {
        case .node, .capture:
            break
        case .peerConnected(let peer, _):
            guard machine != nil else { return }
            connected.insert(peer)
            apply(machine!.handle(.peerAdded(peer, at: now)), cause: cause)
        case .peerDisconnected(let peer, let reason):
            guard machine != nil, connected.remove(peer) != nil else { return }
            apply(machine!.handle(.peerRemoved(peer, reason: reason, at: now)), cause: cause)
        case .blocksync(let peer, let inbound, let bytes):
            guard machine != nil else { return }
            if !inbound {
                if options.mode == .strict, let message = try? BlocksyncMessage.decode(bytes) {
                    recordOutbound(peer: peer, message: message, time: event.time, index: event.index)
                }
                return
            }
            guard connected.contains(peer) else { return }
            guard let message = decodeOrRemove(peer: peer, bytes: bytes, cause: cause) else { return }
            if options.mode == .reactive, ghosts?.unsolicited.contains(event.index) != true {
                switch message {
                case .blockResponse, .noBlockResponse: return  // ghosts answer instead (rules 3, 4; 6 delivers)
                default: break
                }
            }
            apply(machine!.handle(.received(message, from: peer, wireSize: bytes.count, at: now)), cause: cause)
        case .pivotSwitch(let forkAt, let meHeight, let meHash, let branch, let observed):
            guard pivot != nil else { return }
            let evaluation: PivotEvaluation
            do {
                evaluation = try PivotEvaluation.allowSwitch(&pivot!, forkAt: forkAt, meHeight: meHeight, meHash: meHash, branch: branch)
            } catch {
                throw .pivot(event: event.index, reason: String(describing: error))
            }
            guard case .decided(let outcome) = evaluation else {
                if case .unknown(let h) = evaluation { append(.unknown(forkAt: forkAt, meHeight: meHeight, height: h), cause: cause) }
                return
            }
            append(.pivotSwitch(forkAt: forkAt, meHeight: meHeight, checkHeight: outcome.checkHeight,
                                section: outcome.section, allowed: outcome.allowed, reason: outcome.reason), cause: cause)
            compare(observed, with: outcome, check: .switch, height: forkAt, cause: cause)
            if let d = outcome.disabled { append(.hintDisabled(page: d.page, error: d.error), cause: cause) }
        case .pivotExtend(let height, let hash, let observed):
            guard pivot != nil else { return }
            let outcome: PivotOutcome
            do { outcome = try pivot!.allowExtend(height: height, hash: hash) } catch {
                throw .pivot(event: event.index, reason: String(describing: error))
            }
            append(.pivotExtend(height: height, allowed: outcome.allowed, reason: outcome.reason), cause: cause)
            compare(observed, with: outcome, check: .extend, height: height, cause: cause)
            if let d = outcome.disabled { append(.hintDisabled(page: d.page, error: d.error), cause: cause) }
        }
    }

    /// Observed vs replayed (issue 17): a recorded result the validator disagrees with is a
    /// decision of its own, right after the pivot decision it contradicts.
    mutating func compare(_ observed: ObservedOutcome, with outcome: PivotOutcome, check: PivotCheck, height: UInt64, cause: DecisionCause) {
        guard PivotEvaluation.disagrees(observed: observed, decided: outcome.allowed) == true, let node = observed.allowed else { return }
        append(.observedMismatch(check: check, height: height, observed: node, decided: outcome.allowed, reason: outcome.reason), cause: cause)
    }

    mutating func deliverReply(_ reply: PendingReply) {
        guard machine != nil, connected.contains(reply.peer) else { return }
        guard let message = decodeOrRemove(peer: reply.peer, bytes: reply.message, cause: reply.cause) else { return }
        apply(machine!.handle(.received(message, from: reply.peer, wireSize: reply.message.count, at: now)), cause: reply.cause)
    }

    /// Decodes, or hands the bytes to the machine as undecodable (it stops the peer).
    mutating func decodeOrRemove(peer: String, bytes: [UInt8], cause: DecisionCause) -> BlocksyncMessage? {
        do {
            return try BlocksyncMessage.decode(bytes)
        } catch {
            apply(machine!.handle(.undecodable(from: peer, error: String(describing: error), at: now)), cause: cause)
            return nil
        }
    }

    mutating func append(_ action: DecisionAction, cause: DecisionCause) {
        decisions.append(Decision(action, time: now, cause: cause))
    }

    /// Turns effects into decisions, ghost replies and outbound matching; feeds disconnects
    /// back to the machine as the switch would (`StopPeerForError` → `RemovePeer`).
    mutating func apply(_ effects: [MachineEffect], cause: DecisionCause) {
        apply(effects.map { ($0, cause) })
    }

    /// `apply` with each effect's own cause (timers name theirs); fed-back effects take the
    /// cause of the disconnect that caused them.
    mutating func apply(_ effects: [(effect: MachineEffect, cause: DecisionCause)]) {
        var queue = effects[...]
        while let (effect, cause) = queue.popFirst() {
            switch effect {
            case .send(let message, let peer):
                switch message {
                case .blockRequest(let h): append(.request(peer: peer, height: h), cause: cause)
                case .blockResponse(let block, _): append(.respond(peer: peer, height: block.header.height, found: true), cause: cause)
                case .noBlockResponse(let h): append(.respond(peer: peer, height: h, found: false), cause: cause)
                case .statusRequest: append(.statusRequest, cause: cause)
                case .statusResponse: break
                }
                outbound(peer: peer, message: message, cause: cause)
            case .broadcastStatusRequest:
                append(.statusRequest, cause: cause)
                for peer in connected.sorted() { outbound(peer: peer, message: .statusRequest, cause: cause) }
            case .disconnect(let peer, let reason):
                append(.peerRemoved(peer: peer, reason: reason), cause: cause)
                if connected.remove(peer) != nil, machine != nil {
                    queue.append(contentsOf: machine!.handle(.peerRemoved(peer, reason: reason, at: now)).map { ($0, cause) })
                }
            case .removeFromPool(let peer, let reason):
                append(.peerRemoved(peer: peer, reason: reason), cause: cause)
            case .ban(let peer, let reason):
                append(.peerBanned(peer: peer, reason: reason), cause: cause)
            case .blockApplied(let h, let hash):
                applied += 1
                append(.blockApplied(height: h, hash: hash), cause: cause)
                if options.mode == .reactive { horizon = max(horizon, now &+ options.drain) }
            case .verifyFailed(let heights, let peers, let reason):
                append(.verifyFailed(heights: heights, peers: peers, reason: reason), cause: cause)
            case .switchToConsensus(let h, _):
                append(.switchToConsensus(height: h), cause: cause)
                finished = true
            case .reactorPanic(let message):
                append(.reactorPanic(message: message), cause: cause)
                finished = true
            }
        }
    }

    /// A message the machine sends: a ghost answers it (reactive) or it is matched against the
    /// recording (strict).
    mutating func outbound(peer: String, message: BlocksyncMessage, cause: DecisionCause) {
        switch options.mode {
        case .reactive:
            guard connected.contains(peer), let reply = ghosts?.answer(message, to: peer, at: now) else { return }
            for _ in 0..<max(1, reply.count) {
                let pending = PendingReply(time: now &+ reply.delay, order: replyOrder, peer: peer, message: reply.message,
                                           cause: reply.sourceIndex.map { .event($0) } ?? .timer("ghost_reply"))
                replyOrder += 1
                // Keep the queue sorted by (time, order): insert after every reply due no later.
                let at = replies.firstIndex { $0.time > pending.time } ?? replies.count
                replies.insert(pending, at: at)
            }
        case .strict:
            if let i = recordedUnmatched[peer]?.firstIndex(where: { $0.message == message }) {
                recordedUnmatched[peer]!.remove(at: i)
            } else {
                sentUnmatched[peer, default: []].append((message, now, cause))
            }
        }
    }

    mutating func recordOutbound(peer: String, message: BlocksyncMessage, time: UInt64, index: Int) {
        if let i = sentUnmatched[peer]?.firstIndex(where: { $0.message == message }) {
            sentUnmatched[peer]!.remove(at: i)
        } else {
            recordedUnmatched[peer, default: []].append((message, time, index))
        }
    }

    /// Strict mode: left-overs become decisions, sorted by (time, cause, peer) for determinism.
    mutating func flushOutbound() {
        var extra: [Decision] = []
        for peer in recordedUnmatched.keys.sorted() {
            for m in recordedUnmatched[peer]! {
                extra.append(Decision(.outboundMissing(peer: peer, message: describe(m.message)), time: m.time, cause: .event(m.index)))
            }
        }
        for peer in sentUnmatched.keys.sorted() {
            for m in sentUnmatched[peer]! {
                extra.append(Decision(.outboundExtra(peer: peer, message: describe(m.message)), time: m.time, cause: m.cause))
            }
        }
        extra.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            return a.json.canonical < b.json.canonical
        }
        decisions += extra
    }

    func describe(_ m: BlocksyncMessage) -> String {
        switch m {
        case .blockRequest(let h), .noBlockResponse(let h): return "\(m.kind) \(h)"
        case .blockResponse(let b, _): return "block_response \(b.header.height)"
        case .statusRequest: return "status_request"
        case .statusResponse(let h, let base): return "status_response \(base)..\(h)"
        }
    }
}
