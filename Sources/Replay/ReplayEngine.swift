import CometWire
// Replay's users get the driver's vocabulary (`ReplayMode`, `DecisionKind`, `GoldenNaming`) with it.
@_exported import SyncDriver
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
    /// A streamed trace could not be read again as it was checked (issue 19).
    case traceRead(String)

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
        case .traceRead(let why): return why
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
    /// Implementation options that differ from their default (`MachineOption`, e.g.
    /// `v2-queue` = `heap`), put into the machine's `NodeStart`; the golden's provenance
    /// records exactly these.
    public var implementationOptions: [String: String] = [:]
    /// What the replay does once the machine switched to consensus; nil: from the trace — the
    /// recording's end (`.runEnd`) when it records past the switch (metadata `after_switch`),
    /// else stop there. Recordings made before the knob stop at the switch, so their goldens
    /// keep their meaning (late traffic after a switch is only replayed where it was recorded).
    public var afterSwitch: AfterSwitch?
    /// A golden's lines to compare with as decisions are produced (issue 19): the replay then
    /// keeps no decision log, only whether it matched (`ReplayResult.goldenMatch`).
    public var compareWith: [GoldenEntry]?
    /// How many applied blocks the node's store holds decoded at least (issue 19); older ones
    /// are read again from the trace when a peer asks for them (`TraceBlockArchive`).
    public var recentBlocks = ReplayOptions.defaultRecentBlocks
    public static let defaultRecentBlocks = 256
    /// Verify commit signatures ahead on another thread (issue 19 item 3, `VerificationAhead`);
    /// decisions are the same either way. `ReplayRequest` turns it on where cores allow.
    public var verifyAhead = false
    /// Signatures earlier replays of this process found valid (`SignatureMemory`: suite, diff,
    /// reduce); nil: this replay verifies its own. Decisions are the same either way.
    public var signatureMemory: SignatureMemory?

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
    /// What the verifier ahead did (nil: it did not run, `ReplayOptions.verifyAhead`).
    public var verifiedAhead: VerificationAhead.Statistics?

    /// SHA-256 over the canonical decision lines of `decisions` (the determinism check compares
    /// these; a replay compared as produced keeps none).
    public var digest: String { DecisionRun.digest(of: decisions) }
    /// How many decisions the replay made (also when `decisions` was not kept).
    public var decisionCount: Int
    /// Compared with a golden as produced (`ReplayOptions.compareWith`): whether every line
    /// matched — `decisions` is then empty; nil when the log was kept.
    public var goldenMatch: Bool?
    /// The `observed_mismatch` decisions (issue 17), also when `decisions` was not kept.
    public var observedMismatches: [Decision]
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
        let facts = trace.facts
        var stream: ReplayEventStream
        do { stream = try trace.eventStream() } catch { throw .traceRead(error.message) }
        // Messages are read again by location (a ghost's answer, a block the store let go of).
        let messages: TraceMessages
        do { messages = try TraceMessages(trace: trace) } catch { throw .traceRead(error.message) }
        var ghosts: GhostPeers?
        if options.mode == .reactive {
            // The ghosts' look-ahead: one pass over the events before the replay's own.
            do { ghosts = try GhostPeers(open: { () throws(CaseError) -> ReplayEventStream in try trace.eventStream() },
                                           recordingEnd: facts.lastTime ?? 0, messages: messages) } catch {
                throw .traceRead(error.message)
            }
        }
        var peers = RecordedPeers(options: options, stream: stream, ghosts: ghosts)
        let archive = TraceBlockArchive(messages: messages)
        var machine: (any BlockSyncMachine)?
        var ahead: VerificationAhead?
        defer { ahead?.stop() }
        if facts.hasBlocksync {
            guard facts.node != nil else { throw .noNodeRecord }
            guard let machines, !machines.implementations.isEmpty else { throw .noMachine }
            guard machines.implementation(of: options.profile) != nil else { throw .noImplementation(options.profile) }
            if options.mode == .strict && !facts.hasOutbound { throw .noOutbound }
            do {
                var start = try trace.nodeStart()
                // The replay's options join what the trace itself sets (`blocksync = false`).
                start.implementationOptions.merge(options.implementationOptions) { _, chosen in chosen }
                start.store.keepRecent(options.recentBlocks, archive: archive)
                if options.verifyAhead {
                    ahead = VerificationAhead(start: start, trace: trace, memory: options.signatureMemory)
                    start.signatureOracle = ahead
                } else if let memory = options.signatureMemory {
                    start.signatureOracle = memory
                }
                let started = try machines.makeMachine(profile: options.profile, start: start)
                machine = options.checkInvariants ? started.checked() : started
            } catch {
                throw .machine(String(describing: error))
            }
            peers.drivesMachine = true
            peers.archive = archive
        }
        if facts.hasPivot {
            guard let pivot else { throw .noHint }
            peers.pivot = pivot
        }
        try checkSpan(facts)  // issue 20: the span bound; idle skipping itself is the machine's (nextTimer)
        // Recorded events enter the clock one at a time (issue 19): each one, when it happens,
        // schedules the next. Lane 0 holds only them, so file order is kept at equal times.
        let first: Scheduled<ReplayArrival>?
        do { first = try peers.nextRecorded() } catch { throw .traceRead(error.message) }
        var driver = Driver(machine: machine, source: peers)
        driver.afterSwitch = options.afterSwitch ?? (trace.recordsAfterSwitch ? .runEnd : .stop)
        if let first { driver.schedule(first) }
        let horizon = (facts.lastTime ?? 0) &+ options.drain
        do {
            try driver.run(until: .drain(horizon: horizon, progress: options.mode == .reactive ? options.drain : nil))
        } catch let error as ReplayError {
            throw error
        } catch let error as CaseError {
            throw .traceRead(error.message)
        } catch DriverError.invariant(let violation) {
            throw .invariant(violation)
        } catch DriverError.stalledClock(let deadline) {
            throw .stalledClock(deadline: deadline)
        } catch {
            throw .machine(String(describing: error))
        }
        if let failure = messages.failure { throw .traceRead(failure) }
        var state = driver.source
        for d in state.unmatchedOutbound() { state.log.append(d) }
        let goldenMatch = state.log.finish()
        var decisions = state.log.kept
        if options.plantDictionaryOrder {
            // Deliberately wrong: a Dictionary's iteration order differs between processes.
            var byLine: [String: Decision] = [:]
            for d in decisions { byLine[d.json.canonical] = d }
            decisions = Array(byLine.values)
        }
        ahead?.stop()
        return ReplayResult(decisions: decisions, eventsDelivered: state.delivered, blocksApplied: state.applied, endTime: driver.now,
                            verifiedAhead: ahead?.statistics, decisionCount: state.log.count, goldenMatch: goldenMatch,
                            observedMismatches: state.log.observedMismatches)
    }

    /// Issue 20: refuses a trace whose events cover more than `options.maxSpan`, naming the
    /// first event beyond it (events are in time order, so only a trace whose last event lies
    /// beyond is searched).
    func checkSpan(_ facts: TraceFacts) throws(ReplayError) {
        guard let start = facts.firstTime, let end = facts.lastTime, options.maxSpan.isExceeded(from: start, to: end) else { return }
        var beyond: ReplayEvent?
        do {
            var stream = try trace.eventStream()
            while let e = try stream.next() {
                if options.maxSpan.isExceeded(from: start, to: e.time) { beyond = e; break }
            }
        } catch {
            throw .traceRead(error.message)
        }
        if let beyond { throw .spanExceeded(event: beyond.index, time: beyond.time, start: start, maxSpan: options.maxSpan) }
    }
}

/// What replay schedules on the driver's clock: a recorded event (by position) or a ghost's reply.
enum ReplayArrival {
    /// A recorded event and where it lies (`ReplayEventStream.lastLocation`).
    case recorded(ReplayEvent, location: UInt64)
    /// A ghost's reply, and where the recorded event it copies lies.
    case reply(peer: String, message: [UInt8], source: UInt64?)
}

/// The trace's peers as the driver's peer source (`SyncDriver`): recorded events delivered as
/// recorded, ghost peers (`GhostPeers`) answering in reactive mode, the node's recorded outbound
/// messages matched in strict mode; and the decision log, built from the machine's effects
/// and the pivot events.
struct RecordedPeers: PeerSource {
    /// Lanes at equal virtual times: recorded events before ghost replies.
    static let recordedLane = 0, replyLane = 1

    let options: ReplayOptions
    /// The recorded events not yet on the clock (one is on it at a time).
    var stream: ReplayEventStream
    /// Whether a block-sync machine runs (the trace has blocksync events).
    var drivesMachine = false
    var pivot: (any PivotValidating)?
    var ghosts: GhostPeers?
    var log: DecisionLog
    /// Where applied blocks came from, for the store's older heights (nil: no machine).
    var archive: TraceBlockArchive?
    /// Block responses delivered for heights not applied yet: where each lies.
    var candidates: [Int64: [UInt64]] = [:]
    var lastApplied: Int64 = 0
    var delivered = 0
    var applied = 0
    /// The driver's clock at the current callback (decisions are stamped with it).
    var now: UInt64 = 0
    // Strict-mode outbound matching, per peer, in order.
    var recordedUnmatched: [String: [(message: BlocksyncMessage, time: UInt64, index: Int)]] = [:]
    var sentUnmatched: [String: [(message: BlocksyncMessage, time: UInt64, cause: DecisionCause)]] = [:]

    init(options: ReplayOptions, stream: ReplayEventStream, ghosts: GhostPeers?) {
        self.options = options
        self.stream = stream
        self.ghosts = ghosts
        log = DecisionLog(compareWith: options.compareWith)
    }

    /// The next recorded event, to put on the clock at its recorded time.
    mutating func nextRecorded() throws(CaseError) -> Scheduled<ReplayArrival>? {
        guard let event = try stream.next() else { return nil }
        return Scheduled(.recorded(event, location: stream.lastLocation), at: event.time, lane: Self.recordedLane, cause: .event(event.index))
    }

    mutating func happen(_ arrival: ReplayArrival, cause: EffectCause, at now: UInt64, connected: Set<PeerID>) throws -> [PeerStep<ReplayArrival>] {
        switch arrival {
        case .recorded(let event, let location):
            self.now = now
            var steps = try deliver(event, connected: connected)
            if case .receive(.blockResponse(let block, _), let peer, _)? = steps.first, connected.contains(peer) {
                noteDelivery(height: block.header.height, location: location)
            }
            if let next = try nextRecorded() { steps.append(.schedule(next)) }
            return steps
        case .reply(let peer, let bytes, let source):
            // Decoded here rather than by the driver (`.deliver`), to note where a block came from.
            let message: BlocksyncMessage
            do { message = try BlocksyncMessage.decode(bytes) } catch {
                return [.undecodable(from: peer, error: String(describing: error))]
            }
            if case .blockResponse(let block, _) = message, let source, connected.contains(peer) {
                noteDelivery(height: block.header.height, location: source)
            }
            return [.receive(message, from: peer, wireSize: bytes.count)]
        }
    }

    /// A block response reaches the machine: remembered until its height is applied.
    mutating func noteDelivery(height: Int64, location: UInt64) {
        guard archive != nil, height > lastApplied else { return }
        candidates[height, default: []].append(location)
    }

    /// The block applied at `height` (with `hash`) came from the only response delivered for
    /// it, else the latest one whose block has that hash (`TraceBlockArchive`).
    mutating func noteApplied(height: Int64, hash: [UInt8]) {
        guard let archive else { return }
        lastApplied = height
        let delivered = candidates.removeValue(forKey: height) ?? []
        var source = delivered.count == 1 ? delivered[0] : nil
        if delivered.count > 1 {
            source = delivered.last { location in
                archive.deliveredBlock(at: location)?.blockID().hash == hash
            }
        }
        archive.record(height: height, location: source ?? TraceBlockArchive.unknown)
    }

    /// A recorded event, at its recorded time.
    mutating func deliver(_ event: ReplayEvent, connected: Set<PeerID>) throws(ReplayError) -> [PeerStep<ReplayArrival>] {
        delivered += 1
        let cause = DecisionCause.event(event.index)
        switch event.body {
        case .node, .capture:
            return []
        case .peerConnected(let peer, _):
            return drivesMachine ? [.connect(peer)] : []
        case .peerDisconnected(let peer, let reason):
            return drivesMachine ? [.hangUp(peer, reason: reason)] : []
        case .blocksync(let peer, let inbound, let bytes):
            guard drivesMachine else { return [] }
            if !inbound {
                if options.mode == .strict, let message = try? BlocksyncMessage.decode(bytes) {
                    recordOutbound(peer: peer, message: message, time: event.time, index: event.index)
                }
                return []
            }
            guard connected.contains(peer) else { return [] }
            let message: BlocksyncMessage
            do { message = try BlocksyncMessage.decode(bytes) } catch {
                return [.undecodable(from: peer, error: String(describing: error))]
            }
            if options.mode == .reactive, ghosts?.unsolicited.contains(event.index) != true {
                switch message {
                case .blockResponse, .noBlockResponse: return []  // ghosts answer instead (rules 3, 4; 6 delivers)
                default: break
                }
            }
            return [.receive(message, from: peer, wireSize: bytes.count)]
        case .pivotSwitch(let forkAt, let meHeight, let meHash, let branch, let observed):
            guard pivot != nil else { return [] }
            let evaluation: PivotEvaluation
            do {
                evaluation = try PivotEvaluation.allowSwitch(&pivot!, forkAt: forkAt, meHeight: meHeight, meHash: meHash, branch: branch)
            } catch {
                throw .pivot(event: event.index, reason: String(describing: error))
            }
            guard case .decided(let outcome) = evaluation else {
                if case .unknown(let h) = evaluation { append(.unknown(forkAt: forkAt, meHeight: meHeight, height: h), cause: cause) }
                return []
            }
            append(.pivotSwitch(forkAt: forkAt, meHeight: meHeight, checkHeight: outcome.checkHeight,
                                section: outcome.section, allowed: outcome.allowed, reason: outcome.reason), cause: cause)
            compare(observed, with: outcome, check: .switch, height: forkAt, cause: cause)
            if let d = outcome.disabled { append(.hintDisabled(page: d.page, error: d.error), cause: cause) }
            return []
        case .pivotExtend(let height, let hash, let observed):
            guard pivot != nil else { return [] }
            let outcome: PivotOutcome
            do { outcome = try pivot!.allowExtend(height: height, hash: hash) } catch {
                throw .pivot(event: event.index, reason: String(describing: error))
            }
            append(.pivotExtend(height: height, allowed: outcome.allowed, reason: outcome.reason), cause: cause)
            compare(observed, with: outcome, check: .extend, height: height, cause: cause)
            if let d = outcome.disabled { append(.hintDisabled(page: d.page, error: d.error), cause: cause) }
            return []
        }
    }

    /// Observed vs replayed (issue 17): a recorded result the validator disagrees with is a
    /// decision of its own, right after the pivot decision it contradicts.
    mutating func compare(_ observed: ObservedOutcome, with outcome: PivotOutcome, check: PivotCheck, height: UInt64, cause: DecisionCause) {
        guard PivotEvaluation.disagrees(observed: observed, decided: outcome.allowed) == true, let node = observed.allowed else { return }
        append(.observedMismatch(check: check, height: height, observed: node, decided: outcome.allowed, reason: outcome.reason), cause: cause)
    }

    mutating func append(_ action: DecisionAction, cause: DecisionCause) {
        log.append(Decision(action, time: now, cause: cause))
    }

    /// Every effect becomes its decision (the driver then sends, feeds disconnects back…).
    mutating func observe(_ effect: MachineEffect, cause: EffectCause, at now: UInt64) {
        self.now = now
        let cause = DecisionCause(cause)
        switch effect {
        case .send(let message, let peer):
            switch message {
            case .blockRequest(let h): append(.request(peer: peer, height: h), cause: cause)
            case .blockResponse(let block, _): append(.respond(peer: peer, height: block.header.height, found: true), cause: cause)
            case .noBlockResponse(let h): append(.respond(peer: peer, height: h, found: false), cause: cause)
            case .statusRequest: append(.statusRequest, cause: cause)
            case .statusResponse: break
            }
        case .broadcastStatusRequest:
            append(.statusRequest, cause: cause)
        case .disconnect(let peer, let reason), .removeFromPool(let peer, let reason):
            append(.peerRemoved(peer: peer, reason: reason), cause: cause)
        case .ban(let peer, let reason):
            append(.peerBanned(peer: peer, reason: reason), cause: cause)
        case .blockApplied(let h, let hash):
            applied += 1
            noteApplied(height: h, hash: hash)
            append(.blockApplied(height: h, hash: hash), cause: cause)
        case .verifyFailed(let heights, let peers, let reason):
            append(.verifyFailed(heights: heights, peers: peers, reason: reason), cause: cause)
        case .switchToConsensus(let h, _):
            append(.switchToConsensus(height: h), cause: cause)
        case .switchToBlockSync(let h):
            append(.switchToBlockSync(height: h), cause: cause)
        case .reactorPanic(let message):
            append(.reactorPanic(message: message), cause: cause)
        case .schedulerFail(let reason):
            append(.schedulerFail(reason: reason), cause: cause)
        }
    }

    mutating func send(_ message: BlocksyncMessage, to peer: PeerID, connected: Bool, cause: EffectCause, at now: UInt64) -> [Scheduled<ReplayArrival>] {
        self.now = now
        return outbound(peer: peer, message: message, connected: connected, cause: DecisionCause(cause))
    }

    /// A message the machine sends: a ghost answers it (reactive) or it is matched against the
    /// recording (strict).
    mutating func outbound(peer: String, message: BlocksyncMessage, connected: Bool, cause: DecisionCause) -> [Scheduled<ReplayArrival>] {
        switch options.mode {
        case .reactive:
            guard connected, let reply = ghosts?.answer(message, to: peer, at: now) else { return [] }
            let replyCause: EffectCause = reply.sourceIndex.map { .event($0) } ?? .timer("ghost_reply")
            let pending = Scheduled(ReplayArrival.reply(peer: peer, message: reply.message, source: reply.sourceLocation), at: now &+ reply.delay,
                                    lane: Self.replyLane, cause: replyCause)
            return Array(repeating: pending, count: max(1, reply.count))
        case .strict:
            if let i = recordedUnmatched[peer]?.firstIndex(where: { $0.message == message }) {
                recordedUnmatched[peer]!.remove(at: i)
            } else {
                sentUnmatched[peer, default: []].append((message, now, cause))
            }
            return []
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
    func unmatchedOutbound() -> [Decision] {
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
        return extra
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

extension DecisionCause {
    init(_ cause: EffectCause) {
        switch cause {
        case .event(let i): self = .event(i)
        case .timer(let name): self = .timer(name)
        }
    }
}
