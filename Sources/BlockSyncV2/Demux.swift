import CometWire
import DequeModule
import SyncMachine

// # BlockSyncV2: tendermint's blockchain/v2 reactor as a deterministic state machine
//
// The scheduler (`Scheduler`), the processor (`Processor`) and the demux (`Demux`, the
// `BlockSyncMachine`) of specs/cometbft-blocksync-v2.md, without goroutines, clocks or I/O.
// The original runs each routine in its own goroutine behind a priority queue and lets the
// demux `select` among ready channels at random; here every choice is a documented rule
// (§v2.8):
// - DET-1/DET-2, Model A (`V2QueueModel.fifo`, default): each input or tick is run to
//   completion: repeat { scheduler inbox, else processor inbox, else the reactor event queue
//   `E` }, each FIFO; a handler's output is routed at once in program order (`scPeerError`:
//   processor first, then the report; `scPeersPruned`: list order).
// - Model B (`V2QueueModel.heap`): the routines' inboxes are the original's min-heap
//   (§v2.1.3, DET-4) and their outputs FIFO buffers. Tie rule: the inputs of one instant are
//   routed first (all ticks due at one deadline are pushed together), then rounds run until
//   everything is empty: the demux routes the scheduler's output buffer, then the processor's,
//   then `E`; then the scheduler handles one event (the heap's minimum), then the processor
//   one. So events waiting together at a routine pop in heap order (High after Normal, equal
//   priorities not FIFO); the original's arbitrary lag of a routine across several inputs
//   (§v2.6 B3's trigger) is not chosen by this rule.
// - DET-3: one event per tick; the tickers share the start as phase (process and schedule
//   every 20 ms, prune every 1 s, status every 10 s from the start, the status broadcast also
//   at the start); at equal deadlines they fire in `V2Timer` order.
// - DET-5/DET-12: event times are the inputs' virtual times; the scheduler's `lastAdvance`
//   starts at the machine's start time.
// - DET-8: a report (`StopPeerForError`) disconnects the peer and appends its `bcRemovePeer`
//   to `E` (handled after the current cascade); a `peerRemoved` the driver feeds back for it
//   is ignored (the peer is no longer connected).
// - DET-9/DET-10: routines run from the start; queues are unbounded.
// - Panics (issue 13 item 4): a handler that panics in the original returns `V2Event.panic`;
//   the demux emits `reactorPanic` with the original's text and the routine's history
//   (§v2.1.3) and the machine stops (the node process would die). Never a Swift trap.
// - Time: input times never go backwards (an earlier stamp is "now"); handling an input first
//   fires every tick due strictly before it, `.timeAdvanced(to:)` those due at or before.
// Deliberate extensions, visible decisions: a pruned peer is `removeFromPool` ("peer was
// pruned"; the original only logs it), a failed pair is `verifyFailed` with the verification
// error (the original drops the text), and `scSchedulerFail` (only logged by the original) is
// `schedulerFail` with the scheduler's error text; a run of them (one per 20 ms schedule tick
// while no peer has the next height) compresses in a golden as one periodic line.

/// The v2 reactor's tickers (§v2.1.6); at equal deadlines they fire in this order.
public enum V2Timer: String, MachineTimer {
    /// `processBlock` ticker (20 ms): `rProcessBlock` to the processor.
    case process
    /// `schedule` ticker (20 ms): `rTrySchedule` to the scheduler.
    case schedule
    /// `prunePeer` ticker (1 s): `rTryPrunePeer` to the scheduler.
    case prune
    /// `status` ticker (10 s, and once at the start): StatusRequest to every peer.
    case status
}

/// The v2 demux: the reactor's IO, the event routing between the routines, and the tickers
/// (§v2.1.4–§v2.1.8, §v2.4).
public struct Demux: BlockSyncMachine {
    public let profile: BlockSyncV2Profile
    public let queueModel: V2QueueModel
    public let startTime: Nanoseconds
    public private(set) var now: Nanoseconds
    public private(set) var scheduler: Scheduler
    public private(set) var processor: Processor
    /// Connected peers (membership only; nothing iterates it into an output).
    public private(set) var connected: Set<PeerID> = []
    /// A sync runs (Go: `events` non-nil).
    public private(set) var isSyncing = false
    /// The original panicked: the machine does nothing more.
    public private(set) var panicked: String?
    /// Monotone max of reported heights (logged/queried only, never a decision).
    public private(set) var maxPeerHeight: Int64 = 0
    /// The last processed height.
    public private(set) var syncHeight: Int64 = 0
    /// Set once `pcFinished` switched to consensus.
    public private(set) var switched: (height: Int64, reason: SwitchReason)?

    private var events: Deque<V2Event> = []
    private var schedulerInbox: RoutineQueue
    private var processorInbox: RoutineQueue
    private var schedulerOutput: Deque<V2Event> = []
    private var processorOutput: Deque<V2Event> = []
    private var schedulerRunning = false
    private var processorRunning = false
    private var schedulerHistory: [V2Event] = []
    private var processorHistory: [V2Event] = []
    private var finishReason: String?
    private var deadlines: [V2Timer: Nanoseconds] = [:]
    private var effects: [(timer: V2Timer?, effect: MachineEffect)] = []
    private var firing: V2Timer?

    /// `newReactor` + `Start`: the state must be at the store's height; with `fastSync` the
    /// sync starts at once (§v2.1.4), else the reactor only serves (helper mode, §v2.6 B2).
    public init(profile: BlockSyncV2Profile, start: NodeStart, queueModel: V2QueueModel = .fifo, fastSync: Bool = true) throws(NodeStateError) {
        guard start.state.lastBlockHeight == start.store.height else {
            throw .stateStoreMismatch(stateHeight: start.state.lastBlockHeight, storeHeight: start.store.height)
        }
        self.profile = profile
        self.queueModel = queueModel
        startTime = start.startTime
        now = start.startTime
        let next = start.state.lastBlockHeight &+ 1
        scheduler = Scheduler(initHeight: next == 1 ? start.state.initialHeight : next, startTime: start.startTime, profile: profile)
        processor = Processor(chain: SyncedChain(state: start.state, store: start.store, application: start.application,
                                                 signatureOracle: start.signatureOracle),
                              commitVerification: profile.commitVerification)
        schedulerInbox = RoutineQueue(queueModel)
        processorInbox = RoutineQueue(queueModel)
        if fastSync { startSync() }
    }

    public var chain: SyncedChain { processor.chain }

    public var invariantView: InvariantView {
        let counts = Dictionary(grouping: scheduler.pendingBlocks.values, by: { $0 }).mapValues(\.count)
        return InvariantView(firstHeight: processor.height &+ 1, maxPendingPerPeer: nil, banDuration: nil,
                             pendingPerPeer: counts.sorted { idOrder($0.key, $1.key) }.map { ($0.key, $0.value) })
    }

    public var nextTimer: (deadline: Nanoseconds, timer: V2Timer)? {
        var best: (deadline: Nanoseconds, timer: V2Timer)?
        for timer in V2Timer.allCases {
            if let d = deadlines[timer], best.map({ d < $0.deadline }) ?? true { best = (d, timer) }
        }
        return best
    }

    public mutating func handle(_ input: MachineInput) -> [MachineEffect] {
        let t = max(input.time, now)
        fireTimers(through: t, inclusive: input.isTimeAdvance)
        now = t
        if panicked == nil {
            switch input {
            case .peerAdded(let peer, _): addPeer(peer)
            case .peerRemoved(let peer, let reason, _): removePeer(peer, reason: reason)
            case .received(let message, let peer, let wireSize, _): if connected.contains(peer) { receive(message, from: peer, wireSize: wireSize) }
            case .undecodable(let peer, let error, _): report(peer, reason: profile.undecodablePrefix + error)
            case .timeAdvanced: break
            }
            drain()
        }
        defer { effects.removeAll(keepingCapacity: true) }
        return effects.map(\.effect)
    }

    public mutating func fireTimers() -> [(timer: V2Timer, effect: MachineEffect)] {
        guard let first = nextTimer else { return [] }
        fireTimers(through: first.deadline, inclusive: true)
        defer { effects.removeAll(keepingCapacity: true) }
        return effects.map { ($0.timer ?? first.timer, $0.effect) }
    }

    // MARK: Lifecycle (§v2.1.4, §v2.1.8)

    /// `startSync`: routines running, the status broadcast due now, the tickers one period on.
    private mutating func startSync() {
        isSyncing = true
        schedulerRunning = true
        processorRunning = true
        deadlines = [.status: now, .process: now &+ profile.processInterval,
                     .schedule: now &+ profile.scheduleInterval, .prune: now &+ profile.pruneInterval]
    }

    /// `endSync`: queues dropped, routines and tickers stopped; serving continues.
    private mutating func endSync() {
        isSyncing = false
        schedulerRunning = false
        processorRunning = false
        events.removeAll()
        schedulerInbox.removeAll()
        processorInbox.removeAll()
        schedulerOutput.removeAll()
        processorOutput.removeAll()
        deadlines.removeAll()
    }

    // MARK: IO (§v2.1.7, §v2.4)

    /// AddPeer: our status message (V34: a StatusRequest, B6), then `bcAddNewPeer` if syncing.
    private mutating func addPeer(_ peer: PeerID) {
        guard connected.insert(peer).inserted else { return }
        sendStatus(to: peer)
        if isSyncing { events.append(.bcAddNewPeer(peer: peer)) }
    }

    /// RemovePeer from the switch.
    private mutating func removePeer(_ peer: PeerID, reason: String) {
        guard connected.remove(peer) != nil else { return }
        if isSyncing { events.append(.bcRemovePeer(peer: peer, reason: reason)) }
    }

    /// `sendStatusResponse` (§v2.4.1, §v2.5.1).
    private mutating func sendStatus(to peer: PeerID) {
        switch profile.statusReply {
        case .statusRequest: emit(.send(.statusRequest, to: peer))
        case .statusResponse: emit(.send(.statusResponse(height: chain.store.height, base: chain.store.base), to: peer))
        }
    }

    /// Receive: `ValidateMsg` (a failure reports the peer), requests served always, responses
    /// forwarded only while syncing (§v2.4.2).
    private mutating func receive(_ message: BlocksyncMessage, from peer: PeerID, wireSize: Int) {
        do {
            try message.validate()
        } catch {
            // `ValidateMsg`'s own text ("negative Height", "base %v cannot be greater than height %v").
            if case .invalidMessage(let text) = error { report(peer, reason: text) } else { report(peer, reason: "\(error)") }
            return
        }
        if case .blockResponse(let block, _) = message {
            do { try block.validateFromProto() } catch {
                report(peer, reason: "\(error)")
                return
            }
        }
        switch message {
        case .statusRequest:
            sendStatus(to: peer)
        case .blockRequest(let h):
            if let stored = chain.storedBlock(at: h) {
                emit(.send(.blockResponse(block: stored.block, extCommit: nil), to: peer))
            } else {
                emit(.send(.noBlockResponse(height: h), to: peer))
            }
        case .statusResponse(let height, let base):
            if isSyncing { events.append(.bcStatusResponse(peer: peer, base: base, height: height)) }
        case .blockResponse(let block, _):
            let size = profile.rateInput == .blockSize ? Int64(block.encodedSize) : Int64(wireSize)
            if isSyncing { events.append(.bcBlockResponse(peer: peer, block: block, time: now, size: size)) }
        case .noBlockResponse(let h):
            if isSyncing { events.append(.bcNoBlockResponse(peer: peer, height: h, time: now)) }
        }
    }

    /// The reporter's `BadMessage` → `StopPeerForError`: disconnect, and the switch's
    /// synchronous `RemovePeer` appends `bcRemovePeer` to `E` (DET-8). An unknown peer: the
    /// original logs "peer not found".
    private mutating func report(_ peer: PeerID, reason: String) {
        guard connected.remove(peer) != nil else { return }
        emit(.disconnect(peer, reason: reason))
        if isSyncing { events.append(.bcRemovePeer(peer: peer, reason: reason)) }
    }

    // MARK: Ticks (§v2.1.6)

    private mutating func fireTimers(through limit: Nanoseconds, inclusive: Bool) {
        while panicked == nil, let (due, _) = nextTimer, due < limit || (inclusive && due == limit) {
            now = due
            let batch = V2Timer.allCases.filter { deadlines[$0] == due }
            for timer in batch {
                firing = timer
                tick(timer)
                if queueModel == .fifo { drain() }
            }
            if queueModel.usesHeap {
                firing = batch.first
                drain()
            }
            firing = nil
        }
    }

    private mutating func tick(_ timer: V2Timer) {
        let period: Nanoseconds
        switch timer {
        case .process:
            period = profile.processInterval
            sendToProcessor(.rProcessBlock)
        case .schedule:
            period = profile.scheduleInterval
            sendToScheduler(.rTrySchedule(time: now))
        case .prune:
            period = profile.pruneInterval
            sendToScheduler(.rTryPrunePeer(time: now))
        case .status:
            period = profile.statusInterval
            emit(.broadcastStatusRequest)
        }
        if isSyncing { deadlines[timer] = now &+ period }
    }

    // MARK: Routing (§v2.1.5, §v2.1.9)

    private mutating func drain() {
        switch queueModel {
        case .fifo:
            while panicked == nil {
                if schedulerRunning, let event = schedulerInbox.pop() {
                    routeScheduler(runScheduler(event))
                } else if processorRunning, let event = processorInbox.pop() {
                    routeProcessor(runProcessor(event))
                } else if let event = events.popFirst() {
                    routeEvent(event)
                } else {
                    return
                }
            }
        case .heap, .heapLag:
            // heap-lag: the scheduler runs only at multiples of `lagPeriod` (its backlog waits).
            let schedulerAwake = queueModel == .heap || now % V2QueueModel.lagPeriod == 0
            while panicked == nil {
                while panicked == nil, let out = schedulerOutput.popFirst() { routeScheduler(out) }
                while panicked == nil, let out = processorOutput.popFirst() { routeProcessor(out) }
                while panicked == nil, let event = events.popFirst() { routeEvent(event) }
                var stepped = false
                if panicked == nil, schedulerRunning, schedulerAwake, let event = schedulerInbox.pop() {
                    schedulerOutput.append(runScheduler(event))
                    stepped = true
                }
                if panicked == nil, processorRunning, let event = processorInbox.pop() {
                    processorOutput.append(runProcessor(event))
                    stepped = true
                }
                if !stepped && schedulerOutput.isEmpty && processorOutput.isEmpty && events.isEmpty { return }
            }
        }
    }

    private mutating func runScheduler(_ event: V2Event) -> V2Event {
        let out = scheduler.handle(event, now: now)
        remember(event, output: out, routine: .scheduler)
        return out
    }

    private mutating func runProcessor(_ event: V2Event) -> V2Event {
        let out = processor.handle(event)
        if let applied = processor.takeApplied() { emit(applied) }
        remember(event, output: out, routine: .processor)
        return out
    }

    /// The routine's history (§v2.1.3): the last 25 events handled without panicking,
    /// excluding `rTrySchedule` and `rProcessBlock`; a panic ends the machine with the text
    /// and the history, most recent first.
    private mutating func remember(_ event: V2Event, output: V2Event, routine: Routine) {
        if case .panic(let text) = output {
            let history = routine == .scheduler ? schedulerHistory : processorHistory
            let lines = history.reversed().enumerated().map { "\($0.offset): \($0.element)" }
            let message = text + "\nlast events:\n" + lines.joined(separator: "\n")
            panicked = message
            emit(.reactorPanic(message: message))
            endSync()
            return
        }
        switch event {
        case .rTrySchedule, .rProcessBlock: return
        default: break
        }
        switch routine {
        case .scheduler:
            schedulerHistory.append(event)
            if schedulerHistory.count > 25 { schedulerHistory.removeFirst() }
        case .processor:
            processorHistory.append(event)
            if processorHistory.count > 25 { processorHistory.removeFirst() }
        }
    }

    private enum Routine { case scheduler, processor }

    private mutating func sendToScheduler(_ event: V2Event) {
        if schedulerRunning { schedulerInbox.push(event) }
    }

    private mutating func sendToProcessor(_ event: V2Event) {
        if processorRunning { processorInbox.push(event) }
    }

    /// A reactor event from `E`.
    private mutating func routeEvent(_ event: V2Event) {
        switch event {
        case .bcStatusResponse(_, _, let height):
            maxPeerHeight = max(maxPeerHeight, height)
            sendToScheduler(event)
        case .bcAddNewPeer, .bcRemovePeer, .bcBlockResponse, .bcNoBlockResponse:
            sendToScheduler(event)
        default:
            break  // "Received unexpected event"
        }
    }

    private mutating func routeScheduler(_ event: V2Event) {
        switch event {
        case .scBlockReceived:
            sendToProcessor(event)
        case .scPeerError(let peer, let reason):
            sendToProcessor(event)
            // The original reports `BadMessage(peer, "scPeerError")`; the scheduler's error
            // is kept in the reason so the decision says why.
            report(peer, reason: "scPeerError: \(reason)")
        case .scBlockRequest(let peer, let height):
            // `sendBlockRequest`: "peer not found" is only logged; the height stays Pending (B4).
            if connected.contains(peer) { emit(.send(.blockRequest(height: height), to: peer)) }
        case .scFinished(let reason):
            finishReason = reason
            sendToProcessor(event)
            schedulerRunning = false
            schedulerInbox.removeAll()
        case .scPeersPruned(let peers):
            for peer in peers {
                sendToProcessor(.scPeerError(peer: peer, reason: "peer was pruned"))
                emit(.removeFromPool(peer, reason: "peer was pruned"))
            }
        case .scSchedulerFail(let reason):
            // The original logs "Scheduler failure"; here it is a decision (issue 13 item 4).
            emit(.schedulerFail(reason: reason))
        case .noOp, .panic:
            break  // a panic was handled when it was returned
        default:
            break  // "Received unexpected scheduler event"
        }
    }

    private mutating func routeProcessor(_ event: V2Event) {
        switch event {
        case .pcBlockProcessed(let height, _):
            syncHeight = height
            sendToScheduler(event)
        case let .pcBlockVerificationFailure(height, first, second, reason):
            emit(.verifyFailed(heights: [height, height &+ 1], peers: first == second ? [first] : [first, second], reason: reason))
            sendToScheduler(event)
        case .pcFinished(_, let lastBlockHeight):
            switchToConsensus(lastBlockHeight: lastBlockHeight)
        default:
            break
        }
    }

    /// §v2.1.8: `trySwitchToConsensus`, then `endSync`. The height is the one consensus
    /// starts at (as the v0 reactor reports it); the reason is `noProgress` for the 60 s
    /// timeout, else `caughtUp` (every other finish requires `allBlocksProcessed`).
    private mutating func switchToConsensus(lastBlockHeight: Int64) {
        let height = lastBlockHeight == 0 ? chain.state.initialHeight : lastBlockHeight &+ 1
        let reason: SwitchReason = finishReason == "timeout, no advance" ? .noProgress : .caughtUp
        switched = (height, reason)
        emit(.switchToConsensus(height: height, reason: reason))
        endSync()
    }

    private mutating func emit(_ effect: MachineEffect) { effects.append((firing, effect)) }
}

extension MachineInput {
    var isTimeAdvance: Bool {
        if case .timeAdvanced = self { return true }
        return false
    }
}

extension Demux {
    /// The v2 reactor's registry entry: its two profiles; the option `v2-queue` (`fifo`, the
    /// default, or `heap`) picks the execution model.
    public static let implementation = MachineImplementation(
        name: "v2",
        summary: "tendermint's blockchain/v2 reactor (scheduler + processor + demux)",
        profiles: BlockSyncV2Profile.all.map { MachineProfile(name: $0.name, matches: $0.matches) },
        options: [V2QueueModel.optionName],
        make: { (name, start) throws(MachineStartError) in
            guard let profile = BlockSyncV2Profile(named: name) else { throw MachineStartError("unknown v2 profile \(name)") }
            guard start.stateSync == nil else {
                // v2's SwitchToFastSync (§v2.1 item 5) is not modelled.
                throw MachineStartError("the trace's node hands over from state sync, which profile \(name) (implementation v2) does not model; replay it with a v0 profile")
            }
            // The overrides serve the v0 originals' tests (pool_test, reactor_test); v2 has its own timers.
            if let first = start.testOverrides.entries.first {
                throw MachineStartError("test override \(first.name) does not apply to profile \(name) (implementation v2): it sets the v0 pool's and reactor's timers")
            }
            var model = V2QueueModel.fifo
            if let value = start.implementationOptions[V2QueueModel.optionName] {
                guard let chosen = V2QueueModel(rawValue: value) else {
                    throw MachineStartError("--\(V2QueueModel.optionName) must be \(MachineOption.v2Queue.valueList), not \"\(value)\"")
                }
                model = chosen
            }
            do { return try Demux(profile: profile, start: start, queueModel: model) } catch { throw MachineStartError("\(error)") }
        })
}
