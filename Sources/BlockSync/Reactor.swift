import CometWire
import OrderedCollections
import SyncMachine

// # BlockSync: the v0 blocksync reactor as a deterministic state machine
//
// `Reactor` is CometBFT's v0 blocksync reactor (`blocksync/reactor.go` + `pool.go`;
// specs/cometbft-blocksync.md §2, §3) without clocks, goroutines or I/O (DESIGN.md §1): the
// driver feeds `MachineInput`s stamped with virtual time (ns) and carries out the returned
// `MachineEffect`s; `nextTimer` says which of its own timers (`ReactorTimer`) wants to run
// when, and `fireTimers()` fires them naming each (SyncMachine's `BlockSyncMachine`).
//
// Determinism rules (where Go iterates a map or races goroutines):
// 1. Time. Input times never go backwards (an earlier stamp is treated as "now"). Handling an
//    input first fires every timer due strictly before its time; `.timeAdvanced(to: t)` fires
//    those due at or before t. So at equal virtual time inbound events run before timers.
// 2. Timers at equal times fire in this order: peer timeouts (peers in order of arrival),
//    request retries (ascending height), the requester-making loop, the try-sync step, the
//    switch-to-consensus check, the status broadcast.
// 3. Goroutines. Pool calls made while handling one input or timer are atomic; afterwards the
//    requester-making loop runs and then every requester reacts to its channels in ascending
//    height order (block received, then redo, then new pool height). A requester waiting for a
//    free peer picks one as soon as one is free (its 2 ms sleep is not modelled). Channel
//    capacities are kept: a second redo to a requester before it reacts is dropped (as in Go).
// 4. Map order. Go's random `pool.peers` order becomes order of arrival in the pool (first
//    StatusResponse); `sortedPeers` (cometbft) is sorted with a stable sort; `removePeer` redoes
//    requesters in height order.
// 5. The processing step runs at try-sync ticks (10 ms grid from the start) and applies every
//    consecutive verifiable block at that instant, letting requesters react after each block
//    applied or pair rejected. Ticks that could not apply anything are not materialised.
// 6. The request loop runs on its 2 ms grid; while saturated, ticks that cannot change
//    anything (no rate sample closes, no peer flagged) are skipped. Peer errors
//    (`errorsCh` → `StopPeerForError` → `RemovePeer`) are handled at the instant they occur.
// 7. Messages from peers that are not connected (never added, or already disconnected by
//    the reactor) are ignored; the driver is expected not to deliver them.
// 8. Idle skipping (issue 20): `nextTimer` is the next time the state or the output can
//    change, never a tick that would only look and return. A switch check whose outcome
//    cannot flip before a later grid point is skipped to that point (its clauses depend on
//    time only through the no-progress timeout and the 5 s clause, both monotone), and the
//    requester loop is not woken while the pool has no peers (its tick could only purge
//    expired bans, which `isBanned` already ignores). What stays is what acts: peer
//    timeouts, retries, the try-sync step with two blocks ready, and the 10 s status
//    broadcast, whose every firing is a decision. Replay cost thus follows events, not
//    virtual time; `skipsIdleTicks: false` keeps every tick, for tests to compare with.

/// A block held by the pool, with the extended commit its response carried (v0.38).
///
/// A final class of constants, not a struct: the pool moves its blocks between requesters and
/// hands out the next two on every try-sync tick, and a struct copy retained every array and
/// string inside the block and its extended commit (issue 19: those copies were about 8 % of a
/// strict one-validator replay's work apart from ed25519). Immutable, so copies are shares and
/// equality is the fields'.
public final class PooledBlock: Sendable, Equatable {
    public let block: Block
    public let extendedCommit: ExtendedCommit?
    /// `msg.Block.Size()`: the size of the block's canonical encoding, what `AddBlock` counts
    /// (§3.2) — the re-encoded size, not the bytes received.
    public let encodedSize: Int
    /// The header of the part set of that encoding (`MakePartSet`, §3.4). Both come from one
    /// encoding made when the block arrives (issue 19: it is not encoded again to be processed).
    public let partSetHeader: PartSetHeader

    /// `encodingCapacity`: room to reserve for the encoding, such as the size of the message that
    /// carried the block (issue 19: encoding into an empty buffer regrew it seven times); a hint,
    /// of which at most 4 MiB is reserved ahead.
    public init(block: Block, extendedCommit: ExtendedCommit?, encodingCapacity: Int = 0) {
        self.block = block
        self.extendedCommit = extendedCommit
        let bytes = block.encoded(capacity: min(max(encodingCapacity, 0), 4 << 20))
        encodedSize = bytes.count
        partSetHeader = PartSet.header(of: bytes)
    }

    /// `BlockID{Hash(), MakePartSet(65536).Header()}` (§3.4).
    public var blockID: BlockID { BlockID(hash: block.hash(), partSetHeader: partSetHeader) }

    public static func == (a: PooledBlock, b: PooledBlock) -> Bool {
        a === b || (a.block == b.block && a.extendedCommit == b.extendedCommit
                    && a.encodedSize == b.encodedSize && a.partSetHeader == b.partSetHeader)
    }
}

/// The v0 reactor's timers (specs/cometbft-blocksync.md §2.3, §2.5, §3.4), named in decisions
/// and reports; at equal times they fire in this order (module doc, rule 2).
public enum ReactorTimer: String, MachineTimer {
    /// A peer sent nothing for `peerTimeout` while we wait for its block (§2.5).
    case peerTimeout = "peer_timeout"
    /// A requester's `requestRetrySeconds` timer (§2.6, #9518).
    case requestRetry = "request_retry"
    /// `makeRequestersRoutine`'s 2 ms loop (§2.3).
    case requesterLoop = "requester_loop"
    /// `trySyncTicker`: the processing step (§3.4).
    case trySync = "try_sync"
    /// `switchToConsensusTicker` (§3.4).
    case switchCheck = "switch_check"
    /// `statusUpdateTicker`: StatusRequest to every peer (§3.4).
    case status = "status"
    /// State sync finished: it calls `SwitchToBlockSync(state)` (§2.2, §3.1) at the recorded
    /// time (`NodeStart.stateSync`). Not a timer of the reactor's own, but it runs at a set
    /// time and decisions name it as their cause.
    case stateSync = "state_sync"
}

/// Options of one reactor instance that are not version behaviour.
public struct ReactorConfiguration: Sendable, Equatable {
    /// Virtual time at which the reactor (and its pool and tickers) start.
    public var startTime: Nanoseconds
    /// false: the node only serves blocks and status (blocksync disabled, §3.1).
    public var blocksync: Bool
    /// `VoteExtensionsEnableHeight` from the consensus params (0: disabled).
    public var voteExtensionsEnableHeight: Int64
    /// Our validator's address (for `localNodeBlocksTheChain`); nil for a non-validator.
    public var localValidatorAddress: [UInt8]?
    /// State sync's hand-over: the reactor starts with blocksync off and switches it on then
    /// (§3.1). Ignored when `blocksync` is false: a node with blocksync off goes from state
    /// sync straight to consensus and never starts the pool.
    public var stateSync: NodeStart.StateSyncHandover?
    /// Commit signature verification (on for conformance; off only to measure the rest).
    public var verifySignatures: Bool
    /// The application whose results `ValidateBlock` checks the next block against.
    public var application: ApplicationModel
    /// Idle skipping (module doc, rule 8). Test-only when false: every switch check runs and
    /// the requester loop wakes without peers, as a step-by-step reference to compare with.
    public var skipsIdleTicks: Bool

    public init(startTime: Nanoseconds = 0, blocksync: Bool = true, voteExtensionsEnableHeight: Int64 = 0,
                localValidatorAddress: [UInt8]? = nil, stateSync: NodeStart.StateSyncHandover? = nil,
                verifySignatures: Bool = true, application: ApplicationModel = .unknown, skipsIdleTicks: Bool = true) {
        self.stateSync = stateSync
        self.skipsIdleTicks = skipsIdleTicks
        self.startTime = startTime
        self.blocksync = blocksync
        self.voteExtensionsEnableHeight = voteExtensionsEnableHeight
        self.localValidatorAddress = localValidatorAddress
        self.verifySignatures = verifySignatures
        self.application = application
    }
}

/// The v0 blocksync reactor: a copyable value (snapshots share the pool's storage and the
/// store's chunks until written).
public struct Reactor: BlockSyncMachine {
    public let profile: BlockSyncProfile
    public let configuration: ReactorConfiguration
    /// The node's state and store, advanced by the shared block processor (`SyncedChain`).
    public private(set) var chain: SyncedChain
    public var state: ChainState { chain.state }
    public var store: NodeBlockStore { chain.store }
    public var blocksSynced: Int { chain.blocksSynced }
    public private(set) var pool: BlockPool<PooledBlock>
    public private(set) var now: Nanoseconds
    /// Connected peers in order of connection.
    public private(set) var peers: OrderedSet<PeerID> = []
    /// The first height the reactor syncs (store height + 1, or the initial height; after
    /// state sync's hand-over the snapshot height + 1 — Go's `pool.startHeight` is not updated
    /// then, but nothing observable reads it).
    public private(set) var startHeight: Int64
    /// Whether blocksync is on (`bcR.blockSync`): from the start, or since state sync's
    /// hand-over. FilterMsgBytes rejects every BlockResponse while it never was (§3.3).
    public var blocksyncActive: Bool {
        // A pattern, not `handover == nil`: that compares two optionals and copied the
        // handover's whole chain state on every step (issue 19).
        guard configuration.blocksync, case .none = handover else { return false }
        return true
    }
    /// State sync's pending hand-over (`ReactorTimer.stateSync`).
    private var handover: NodeStart.StateSyncHandover?
    /// Set once the reactor switched to consensus.
    public private(set) var switched: (height: Int64, reason: SwitchReason)?

    private var nextTrySync: Nanoseconds?
    private var lastTrySync: Nanoseconds?
    private var nextStatusUpdate: Nanoseconds?
    private var nextSwitchCheck: Nanoseconds?
    /// Effects so far in this step, each with the timer that caused it (nil: the input).
    private var effects: [(timer: ReactorTimer?, effect: MachineEffect)] = []
    /// The timer being fired, while `fireTimers` runs one.
    private var firing: ReactorTimer?

    /// `NewReactor` + `OnStart`: the state must be at the store's height (Go panics otherwise);
    /// the pool starts at `store.height + 1` (or the initial height for an empty store).
    public init(profile: BlockSyncProfile, state: ChainState, store: NodeBlockStore,
                configuration: ReactorConfiguration = ReactorConfiguration()) throws(NodeStateError) {
        guard state.lastBlockHeight == store.height else {
            throw .stateStoreMismatch(stateHeight: state.lastBlockHeight, storeHeight: store.height)
        }
        self.profile = profile
        self.configuration = configuration
        self.chain = SyncedChain(state: state, store: store, application: configuration.application)
        self.now = configuration.startTime
        let start = store.height == 0 ? state.initialHeight : store.height &+ 1
        startHeight = start
        pool = BlockPool(profile: profile, startHeight: start, startTime: configuration.startTime)
        pool.skipsIdleTicks = configuration.skipsIdleTicks
        handover = configuration.blocksync ? configuration.stateSync : nil
        if blocksyncActive {
            nextStatusUpdate = configuration.startTime &+ profile.statusUpdateInterval
            nextSwitchCheck = configuration.startTime &+ profile.switchToConsensusInterval
        } else {
            pool.stop()
        }
    }

    /// `init(profile:state:store:configuration:)` from a `NodeStart` (its test overrides applied
    /// to the profile, `BlockSyncProfile.overridden(by:)`).
    public init(profile: BlockSyncProfile, start: NodeStart, verifySignatures: Bool = true) throws(NodeStateError) {
        try self.init(profile: profile.overridden(by: start.testOverrides), state: start.state, store: start.store,
                      configuration: ReactorConfiguration(startTime: start.startTime,
                                                          blocksync: start.implementationOptions[NodeStart.blocksyncOption] != "false",
                                                          voteExtensionsEnableHeight: start.voteExtensionsEnableHeight,
                                                          localValidatorAddress: start.localValidatorAddress,
                                                          stateSync: start.stateSync,
                                                          verifySignatures: verifySignatures, application: start.application))
        chain.signatureOracle = start.signatureOracle
    }

    /// Its profile's limits and the pool's pending counts, for the invariant checker.
    public var invariantView: InvariantView {
        InvariantView(firstHeight: startHeight, maxPendingPerPeer: profile.maxPendingPerPeer, banDuration: profile.banDuration,
                      pendingPerPeer: pool.peers.values.map { ($0.id, $0.numPending) })
    }

    /// Whether the reactor is still syncing (the pool runs).
    public var isSyncing: Bool { pool.isRunning }

    /// The earliest timer, in the tie order of rule 2 (pool timers first: peer timeout, request
    /// retry, requester loop; then try-sync, switch check, status).
    public var nextTimer: (deadline: Nanoseconds, timer: ReactorTimer)? {
        var best = pool.nextTimer
        forEachOwnTimer { deadline, timer in
            if best.map({ deadline < $0.deadline }) ?? true { best = (deadline, timer) }
        }
        return best
    }

    /// When the reactor next wants to run (`.timeAdvanced(to:)`): `nextTimer`'s deadline without
    /// naming the timer (no scan of the pool for its kind); nil when nothing is scheduled.
    public var nextDeadline: Nanoseconds? {
        var best = pool.nextDeadline
        forEachOwnTimer { deadline, _ in
            if best.map({ deadline < $0 }) ?? true { best = deadline }
        }
        return best
    }

    /// The reactor's own armed timers in tie order (earlier wins ties), the one list both
    /// `nextTimer` and `nextDeadline` read (no array: this runs after every step).
    private func forEachOwnTimer(_ body: (Nanoseconds, ReactorTimer) -> Void) {
        if let d = nextTrySync { body(d, .trySync) }
        if let d = nextActingSwitchCheck { body(d, .switchCheck) }
        if let d = nextStatusUpdate { body(d, .status) }
        if let d = handover?.at { body(d, .stateSync) }
    }

    /// Handles one input; returns the effects in the order they happened.
    public mutating func handle(_ input: MachineInput) -> [MachineEffect] {
        step(input).map(\.effect)
    }

    /// Fires every timer due at the earliest deadline, as `.timeAdvanced(to:)` that deadline
    /// does; each effect names its timer. Pool timers due at the same instant fire as one step
    /// (the pool settles between them before the reactor sees their effects), named after the
    /// first of them.
    public mutating func fireTimers() -> [(timer: ReactorTimer, effect: MachineEffect)] {
        guard let first = nextTimer else { return [] }
        // Effects of the settling after the last timer belong to that timer.
        var current = first.timer
        return step(.timeAdvanced(to: first.deadline)).map { caused in
            if let t = caused.timer { current = t }
            return (current, caused.effect)
        }
    }

    private mutating func step(_ input: MachineInput) -> [(timer: ReactorTimer?, effect: MachineEffect)] {
        let t = max(input.time, now)
        if case .timeAdvanced = input {
            fireTimers(through: t, inclusive: true)
        } else {
            fireTimers(through: t, inclusive: false)
        }
        now = t
        switch input {
        case .peerAdded(let peer, _):
            if !peers.contains(peer) {
                peers.append(peer)
                emit(.send(.statusResponse(height: store.height, base: store.base), to: peer))
            }
        case .peerRemoved(let peer, _, _):
            if peers.remove(peer) != nil { pool.removePeer(peer) }
        case .undecodable(let peer, let error, _):
            // §1.5: v0.35.9's router drops what does not unmarshal and keeps the peer. Divergence:
            // a BlockResponse without its block unmarshals in Go and is evicted by the handler's
            // BlockFromProto; our decoder rejects it first, so here it is dropped too (README).
            if peers.contains(peer), profile.messageCheck == .validateMsg { stopPeer(peer, reason: "invalid message: \(error)") }
        case .received(let message, let peer, let wireSize, _):
            if peers.contains(peer) { receive(message, from: peer, wireSize: wireSize) }
        case .timeAdvanced:
            break
        }
        settlePool()
        armTrySync()
        defer { effects.removeAll(keepingCapacity: true) }
        return effects
    }

    // MARK: Receive (§3.2)

    private mutating func receive(_ message: BlocksyncMessage, from peer: PeerID, wireSize: Int) {
        if profile.messageCheck == .validateMsg {
            do {
                try message.validate()
            } catch {
                stopPeer(peer, reason: "invalid message: \(error)")
                return
            }
        }
        switch message {
        case .blockRequest(let h):
            respond(to: peer, height: h)
        case .statusRequest:
            emit(.send(.statusResponse(height: store.height, base: store.base), to: peer))
        case .statusResponse(let height, let base):
            // Unconditional, as in Go: a pool not started yet (state sync running) or stopped
            // (switched to consensus) still records the peer's range.
            pool.setPeerRange(peer, base: base, height: height, now: now)
        case .noBlockResponse(let h):
            if profile.redoOnNoBlockResponse && pool.isRunning { pool.redoRequest(at: h, from: peer) }
        case .blockResponse(let block, let ext):
            receiveBlock(block, extendedCommit: profile.extendedCommits ? ext : nil, from: peer, wireSize: wireSize)
        }
    }

    /// §3.3 `FilterMsgBytes` (cometbft v0.38.24: #5860, #5959) with its error texts, which
    /// become the disconnect reason. The original runs it on the raw bytes before the message
    /// is unmarshalled and validated; we run it on the decoded message, first as well. A node
    /// that never ran blocksync rejects every BlockResponse; once the pool has stopped (switched
    /// to consensus) only the signature caps apply; while it runs the sender must have a
    /// pending request (`HasPendingRequestFrom`) and the caps apply.
    private func filterBlockResponse(_ block: Block, extendedCommit ext: ExtendedCommit?, from peer: PeerID) -> String? {
        guard blocksyncActive else { return "unsolicited BlockResponse: blocksync not active" }
        let sigs = block.lastCommit?.signatures.count ?? 0
        let extSigs = ext?.extendedSignatures.count ?? 0
        var maxVotes: String? {
            if sigs > Limits.maxVotesCount { return "too many commit signatures: \(sigs) (max \(Limits.maxVotesCount))" }
            if extSigs > Limits.maxVotesCount { return "too many extended commit signatures: \(extSigs) (max \(Limits.maxVotesCount))" }
            return nil
        }
        guard pool.isRunning else { return maxVotes }
        guard pool.hasPendingRequest(from: peer) else { return "unsolicited BlockResponse from peer \(peer)" }
        return maxVotes.map { "validating max votes in BlockResponse from peer \(peer): \($0)" }
    }

    /// `respondToPeer`: the block (with its extended commit where vote extensions are enabled;
    /// nothing at all if that is missing), or NoBlockResponse.
    private mutating func respond(to peer: PeerID, height h: Int64) {
        guard let stored = chain.storedBlock(at: h) else {
            emit(.send(.noBlockResponse(height: h), to: peer))
            return
        }
        var ext: ExtendedCommit?
        if profile.extendedCommits && voteExtensionsEnabled(at: h) {
            guard let stored = stored.extendedCommit else { return }
            ext = stored
        }
        emit(.send(.blockResponse(block: stored.block, extCommit: ext), to: peer))
    }

    private mutating func receiveBlock(_ block: Block, extendedCommit ext: ExtendedCommit?, from peer: PeerID, wireSize: Int) {
        if profile.filterBlockResponses, let error = filterBlockResponse(block, extendedCommit: ext, from: peer) {
            stopPeer(peer, reason: error)
            return
        }
        do {
            try block.validateFromProto()
            try ext?.validateFromProto()
        } catch {
            stopPeer(peer, reason: "invalid block response: \(error)")
            return
        }
        guard pool.isRunning else { return }
        let pooled = PooledBlock(block: block, extendedCommit: ext, encodingCapacity: wireSize)
        pool.addBlock(pooled, height: block.header.height, extCommitHeight: ext?.height, from: peer, size: pooled.encodedSize, now: now)
    }

    // MARK: Timers

    private mutating func fireTimers(through limit: Nanoseconds, inclusive: Bool) {
        while let (due, timer) = nextTimer, due < limit || (inclusive && due == limit) {
            now = due
            firing = timer
            defer { firing = nil }
            switch timer {
            case .peerTimeout, .requestRetry, .requesterLoop:
                pool.advance(to: due)
            case .trySync:
                nextTrySync = nil
                lastTrySync = due
                processBlocks()
            case .switchCheck:
                nextSwitchCheck = due &+ profile.switchToConsensusInterval
                checkSwitchToConsensus()
            case .status:
                nextStatusUpdate = due &+ profile.statusUpdateInterval
                emit(.broadcastStatusRequest)
            case .stateSync:
                switchToBlockSync()
            }
            settlePool(afterInput: false)
            armTrySync()
        }
    }

    /// Arms the try-sync tick at the next 10 ms grid point if two blocks are ready.
    private mutating func armTrySync() {
        guard pool.isRunning, nextTrySync == nil else { return }
        guard pool.hasTwoBlocks else { return }
        // poolRoutine's tickers start with the pool: at the start, or at the hand-over.
        let start = pool.startTime
        let step = profile.trySyncInterval
        var k = now <= start ? 1 : (now &- start &+ step &- 1) / step
        if let last = lastTrySync, start &+ k &* step <= last { k = (last &- start) / step &+ 1 }
        nextTrySync = start &+ Swift.max(k, 1) &* step
    }

    /// Lets the pool's goroutines run and turns its effects into reactor effects, until quiet.
    private mutating func settlePool(afterInput: Bool = true) {
        var wake = afterInput
        while true {
            pool.settle(now: now, afterInput: wake)
            wake = false
            let poolEffects = pool.takeEffects()
            if poolEffects.isEmpty { return }
            for effect in poolEffects {
                switch effect {
                case .sendRequest(let h, let peer):
                    emit(.send(.blockRequest(height: h), to: peer))
                case .peerError(let peer, let reason):
                    stopPeer(peer, reason: reason)
                case .peerBanned(let peer, let reason):
                    emit(.ban(peer, reason: reason))
                case .peerRemoved(let peer, let reason):
                    emit(.removeFromPool(peer, reason: reason))
                }
            }
        }
    }

    /// `StopPeerForError`: disconnect, and the switch calls our `RemovePeer`.
    private mutating func stopPeer(_ peer: PeerID, reason: String) {
        guard peers.remove(peer) != nil else { return }
        emit(.disconnect(peer, reason: reason))
        pool.removePeer(peer)
    }

    // MARK: Processing step (§3.4)

    /// Step 1–7 for every consecutive pair ready now; a rejected pair ends the step.
    private mutating func processBlocks() {
        while pool.isRunning {
            let (firstHeld, secondHeld) = pool.peekTwoBlocks()
            guard let first = firstHeld, let second = secondHeld else { return }
            let firstID = first.blockID
            if let error = verify(first, second, firstID: firstID) {
                rejectPair(first.block.header.height, second.block.header.height, error: error)
                // Go re-enters its loop at once; here the next try-sync tick retries, after the
                // requesters dropped the rejected blocks (never spinning on an unchanged pair).
                settlePool()
                return
            } else {
                pool.popRequest(now: now)
                let ext = voteExtensionsEnabled(at: first.block.header.height) ? first.extendedCommit : nil
                // ApplyBlock: the results come from the application, never from `second`'s
                // unverified header (a tampered second block must not poison the state).
                emit(chain.saveAndApply(first.block, id: firstID, extendedCommit: ext))
            }
            settlePool()
        }
    }

    /// Step 4: authenticate `first` with `second.LastCommit`, then `ValidateBlock`.
    private mutating func verify(_ first: PooledBlock, _ second: PooledBlock, firstID: BlockID) -> String? {
        let h = first.block.header.height
        let options = profile.commitVerification
        let enabled = voteExtensionsEnabled(at: h)
        if profile.extendedCommits {
            // v0.38.24 poolRoutine's presence check, with its error text (one check for both directions).
            let present = first.extendedCommit != nil
            if present != enabled {
                return "non-nil extended commit must be received iff vote extensions are enabled for its height "
                    + "(height \(h), non-nil extended commit \(present), extensions enabled \(enabled))"
            }
        }
        // Unreachable after `validateFromProto` (Block.ValidateBasic requires a LastCommit);
        // Go's commit verification would say "nil commit".
        guard let lastCommit = second.block.lastCommit else { return "nil commit" }
        do {
            if configuration.verifySignatures {
                try chain.verifyCommit(of: first.block, id: firstID, by: lastCommit,
                                       check: profile.commitCheck == .light ? .light : .full, options: options)
                if enabled, let ext = first.extendedCommit {
                    try state.validators.verifyExtendedCommit(chainID: state.chainID, blockID: firstID, height: h,
                                                              extendedCommit: ext, options: options)
                }
            }
            let checkLastCommit = configuration.verifySignatures
                && (profile.commitCheck == .light || blocksSynced == 0)
            // Every pooled block passed `validateFromProto` (ending in `validateBasic`) on arrival.
            try chain.validate(first.block, verifyLastCommit: checkLastCommit, options: options, basicValidated: true)
        } catch {
            return "\(error)"
        }
        return nil
    }

    /// Step 5 ([FS-ISSUE-KILL]): both suppliers are removed (and banned where the profile
    /// bans), all their outstanding heights redone — even when only `second` was bad. The
    /// disconnect reason wraps `error` as the version does (`validationErrorPrefix`).
    private mutating func rejectPair(_ h1: Int64, _ h2: Int64, error: String) {
        let suppliers = [pool.supplier(at: h1), pool.supplier(at: h2)]
        emit(.verifyFailed(heights: [h1, h2], peers: Array(OrderedSet(suppliers.compactMap { $0 })), reason: error))
        let reason = profile.validationErrorPrefix + error
        for h in [h1, h2] {
            guard let peer = pool.removeSupplier(at: h, now: now) else { continue }
            for case .peerBanned(let banned, let why) in pool.takeEffects() { emit(.ban(banned, reason: why)) }
            if peers.remove(peer) != nil { emit(.disconnect(peer, reason: reason)) }
        }
    }

    // MARK: State sync's hand-over (§2.2, §3.1)

    /// `SwitchToBlockSync(state)`: blocksync on, the state-synced state, `pool.height` the
    /// snapshot height + 1, `pool.Start()` (its start time now: the 3 s `peerConnWait` of the
    /// paced profiles and the 5 s caught-up clause count from here; tm v0.35's `lastAdvance`
    /// too), then `poolRoutine(stateSynced: true)` with its tickers from now. Peers whose
    /// StatusResponse came while state sync ran are already in the pool (SetPeerRange runs
    /// regardless); `maxPeerHeight` is as they left it.
    private mutating func switchToBlockSync() {
        guard let h = handover else { return }
        handover = nil
        chain.handOver(to: h.state)
        let height = h.state.lastBlockHeight &+ 1
        startHeight = height
        emit(.switchToBlockSync(height: height))
        pool.start(height: height, now: now)
        nextStatusUpdate = now &+ profile.statusUpdateInterval
        nextSwitchCheck = now &+ profile.switchToConsensusInterval
        settlePool(afterInput: true)
    }

    // MARK: Switch to consensus (§3.4)

    /// Why a switch check at `t` would switch, in the current state; nil: it would return.
    private func switchReason(at t: Nanoseconds) -> SwitchReason? {
        guard pool.isRunning, !missingExtension else { return nil }
        if pool.isCaughtUp(now: t) { return .caughtUp }
        if profile.localNodeBlocksTheChain && localNodeBlocksTheChain { return .localNodeBlocksTheChain }
        if case .poolHeightNearMaxOrStalled(let timeout) = profile.caughtUp, t &- pool.lastAdvance > timeout { return .noProgress }
        return nil
    }

    /// The first switch check (on its grid from the start, at or after the scheduled one and
    /// `now`) that would switch if nothing else changes first (rule 8); nil when none would.
    /// Checks before it see the same state and return, so skipping them changes nothing; any
    /// change of state re-asks this before the next timer fires.
    private var nextActingSwitchCheck: Nanoseconds? {
        guard let scheduled = nextSwitchCheck else { return nil }
        guard configuration.skipsIdleTicks else { return scheduled }
        let first = Swift.max(scheduled, switchCheckGrid(atOrAfter: now))
        // Only these clauses depend on time, each turning true once and staying true: the check
        // acts at `first` or else at the grid point where its clause turns, if that one would
        // switch (no arrays: this runs after every step).
        let turns: Nanoseconds
        switch profile.caughtUp {
        case .poolHeightNearMax: turns = switchCheckGrid(atOrAfter: pool.startTime &+ 5 * .second &+ 1)
        case .poolHeightNearMaxOrStalled(let timeout): turns = switchCheckGrid(atOrAfter: pool.lastAdvance &+ timeout &+ 1)
        }
        if switchReason(at: first) != nil { return first }
        let later = Swift.max(turns, first)
        return switchReason(at: later) != nil ? later : nil
    }

    /// The switch-check tick at or after `t` (ticks every `switchToConsensusInterval` from the start).
    private func switchCheckGrid(atOrAfter t: Nanoseconds) -> Nanoseconds {
        let start = pool.startTime, step = profile.switchToConsensusInterval
        guard t > start &+ step else { return start &+ step }
        return start &+ (t &- start &+ step &- 1) / step &* step
    }

    private mutating func checkSwitchToConsensus() {
        guard let reason = switchReason(at: now) else { return }
        pool.stop()
        nextTrySync = nil
        nextSwitchCheck = nil
        nextStatusUpdate = nil
        switched = (pool.height, reason)
        emit(.switchToConsensus(height: pool.height, reason: reason))
    }

    /// v0.38: don't switch before an extended commit for the last block exists.
    private var missingExtension: Bool {
        guard profile.extendedCommits, state.lastBlockHeight > 0,
              voteExtensionsEnabled(at: state.lastBlockHeight), blocksSynced == 0 else { return false }
        return store.block(at: state.lastBlockHeight)?.extendedCommit == nil
    }

    private var localNodeBlocksTheChain: Bool {
        guard let address = configuration.localValidatorAddress,
              let (_, validator) = state.validators.validator(address: address) else { return false }
        return validator.votingPower >= state.validators.totalVotingPower / 3
    }

    private func voteExtensionsEnabled(at h: Int64) -> Bool {
        let enable = configuration.voteExtensionsEnableHeight
        return enable > 0 && h >= enable
    }

    private mutating func emit(_ effect: MachineEffect) { effects.append((firing, effect)) }
}

extension Reactor {
    /// The v0 reactor's registry entry (`MachineRegistry`): its three profiles.
    public static let implementation = MachineImplementation(
        name: "v0",
        summary: "CometBFT's v0 blocksync reactor (BlockPool + reactor)",
        profiles: BlockSyncProfile.all.map { MachineProfile(name: $0.name, matches: $0.matches) },
        options: [NodeStart.blocksyncOption],
        make: { (name, start) throws(MachineStartError) in
            guard let profile = BlockSyncProfile(named: name) else { throw MachineStartError("unknown v0 profile \(name)") }
            do { return try Reactor(profile: profile, start: start) } catch { throw MachineStartError("\(error)") }
        })
}
