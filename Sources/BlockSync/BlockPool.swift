import DequeModule
import Foundation
import OrderedCollections
import SyncMachine

/// What the pool asks its reactor to do (the Go pool's `requestsCh` and `errorsCh`, plus bans).
public enum PoolEffect: Sendable, Equatable {
    /// `requestsCh`: send `BlockRequest{height}` to `peer`.
    case sendRequest(height: Int64, peer: PeerID)
    /// `errorsCh`: the reactor stops the peer (`StopPeerForError`), which removes it from the pool.
    case peerError(peer: PeerID, reason: String)
    /// `banPeer`: the pool ignores the peer's status for the ban duration (no disconnect by itself).
    case peerBanned(peer: PeerID, reason: String)
    /// The pool itself called `removePeer` (SetPeerRange: lowered range, base > height): the
    /// peer leaves the pool and its heights are redone, but it stays connected — §2.7,
    /// "disconnection is separate".
    case peerRemoved(peer: PeerID, reason: String)
}

/// A peer as the pool knows it (`bpPeer`, specs/cometbft-blocksync.md §2.2, §2.5).
public struct PoolPeer: Sendable, Equatable {
    public let id: PeerID
    public internal(set) var base: Int64
    public internal(set) var height: Int64
    /// Requests assigned and not yet answered by a block. NoBlockResponse, redo and the retry
    /// never decrement it (phantom pending, §2.5 quirk).
    public internal(set) var numPending: Int = 0
    public internal(set) var didTimeout = false
    /// Last rate read by `removeTimedoutPeers` (sort key of the rate-sorted profiles).
    public internal(set) var curRate: Int64 = 0
    /// When the 15 s "did not send us anything" timer fires; nil when stopped.
    public internal(set) var timeoutDeadline: Nanoseconds?
    var monitor: FlowMonitor?

    init(id: PeerID, base: Int64, height: Int64) {
        self.id = id
        self.base = base
        self.height = height
    }
}

/// One height being fetched (`bpRequester`, §2.6) — the goroutine's loop state made explicit.
struct Requester<Block: Sendable>: Sendable {
    let height: Int64
    var peerID: PeerID?
    var secondPeerID: PeerID?
    var gotBlockFrom: PeerID?
    var block: Block?
    /// The routine's local `gotBlock` (dual style only).
    var gotBlock = false
    /// false while in the pick loop (OUTER), true while waiting on its channels.
    var waiting = false
    var retryDeadline: Nanoseconds?
    /// `redoCh`, `newHeightCh`, `gotBlockCh`: capacity-1 channels; a send to a full one is dropped.
    var redoSignal: PeerID?
    var newHeightSignal: Int64?
    var gotBlockSignal = false

    init(height: Int64) { self.height = height }

    func didRequestFrom(_ peer: PeerID) -> Bool { peerID == peer || secondPeerID == peer }
    var requestedFrom: [PeerID] { [peerID, secondPeerID].compactMap { $0 } }
    var hasSignal: Bool { redoSignal != nil || newHeightSignal != nil || gotBlockSignal }
}

/// The v0 `BlockPool` (specs/cometbft-blocksync.md §2) as a value: requesters, peers, the
/// request window, per-peer timeouts and receive rates, bans, redo — over a virtual clock.
///
/// Goroutines become explicit steps (see the module documentation in `Reactor.swift` for the
/// full list of ordering rules): pool calls made while handling one input are atomic; after
/// each input or timer the driver calls `settle(now:)`, where the requester-making loop runs and
/// then every requester reacts to its channels in ascending height order.
public struct BlockPool<Block: Sendable>: Sendable {
    public let profile: BlockSyncProfile
    public let startHeight: Int64
    /// `pool.startTime`: set by `OnStart` (the construction, or `start(height:now:)`).
    public private(set) var startTime: Nanoseconds
    /// Next height to apply: the lowest requester height.
    public private(set) var height: Int64
    public private(set) var maxPeerHeight: Int64 = 0
    /// Peers in order of arrival (the module's replacement for Go's map order).
    public private(set) var peers: OrderedDictionary<PeerID, PoolPeer> = [:]
    /// `sortedPeers` (rate-sorted profiles): new peers first, stable-sorted by rate.
    private(set) var sortedPeers: [PeerID] = []
    public private(set) var bannedPeers: OrderedDictionary<PeerID, Nanoseconds> = [:]
    var requesters: Deque<Requester<Block>> = []
    /// The pool-wide `numPending` counter (requesters without a block, §2.3).
    public private(set) var numPending = 0
    public private(set) var isRunning = true
    /// Time of the last `PopRequest` (tm v0.35 `lastAdvance`), initially the start time.
    public private(set) var lastAdvance: Nanoseconds
    /// The next iteration of `makeRequestersRoutine` that can change anything; nil while it
    /// would only sleep (no requester to make, none saturated).
    public private(set) var loopDeadline: Nanoseconds?
    /// Busy-spin profiles: the routine is in its saturated sleep branch.
    private var loopSleeping = false
    /// Origin of the loop's 2 ms grid (start + peerConnWait when paced; when saturation began).
    private var loopAnchor: Nanoseconds = 0
    private var lastLoopTick: Nanoseconds?
    /// Some requester has a channel message waiting (a shortcut for `settle`).
    private var signalled = false
    /// The lowest and highest heights signalled since `settle`'s last pass began (only
    /// meaningful while `signalled`).
    private var signalledHeights: (low: Int64, high: Int64) = (.max, .min)
    private var outbox: [PoolEffect] = []
    /// `settle`'s scratch list of the peers a pick could take (kept for its capacity).
    private var pickable: [PickablePeer] = []
    /// How many requesters are in their pick loop (`waiting == false`): `settle` asks after
    /// every input, and counting is cheaper than scanning 600 requesters each time (issue 19).
    private(set) var idleRequesters = 0
    /// Request-retry deadlines as they were armed, (deadline, height), oldest first. Armed at
    /// `now + requestRetry` with a clock that never goes back, they are in order, so the first
    /// entry still armed on its requester is the earliest retry (`earliestRetry`); entries
    /// whose requester moved on are dropped when they reach the front (issue 19: the earliest
    /// retry was a scan of every requester after every step).
    private var armedRetries: Deque<(deadline: Nanoseconds, height: Int64)> = []
    /// Set if a retry was ever armed earlier than the one before it (not expected: time only
    /// moves forward); `earliestRetry` then scans, as before.
    private var armedRetriesUnordered = false
    /// Idle skipping (Reactor module doc, rule 8): the loop is not woken while there are no
    /// peers. Set by the reactor from `ReactorConfiguration.skipsIdleTicks`.
    var skipsIdleTicks = true

    public init(profile: BlockSyncProfile, startHeight: Int64, startTime: Nanoseconds) {
        self.profile = profile
        self.startHeight = startHeight
        self.height = startHeight
        self.startTime = startTime
        self.lastAdvance = startTime
        if case .paced(let wait) = profile.requesterCreation { loopAnchor = startTime &+ wait }
    }

    // MARK: Observation

    public var requesterCount: Int { requesters.count }
    /// Heights with a requester, with the peers asked (primary, second) and whether a block is held.
    public var requests: [(height: Int64, peer: PeerID?, secondPeer: PeerID?, hasBlock: Bool)] {
        requesters.map { ($0.height, $0.peerID, $0.secondPeerID, $0.block != nil) }
    }

    /// Effects produced since the last call, in order.
    public mutating func takeEffects() -> [PoolEffect] {
        // Handed over whole (issue 19: emptying it "keeping capacity" while the caller held the
        // same buffer allocated a new one on every call, even with nothing to take).
        guard !outbox.isEmpty else { return [] }
        defer { outbox = [] }
        return outbox
    }

    /// `HasPendingRequestFrom`: some requester asked `peer`.
    public func hasPendingRequest(from peer: PeerID) -> Bool {
        requesters.indices.contains { requesters[$0].didRequestFrom(peer) }
    }

    /// `IsPeerBanned`: banned less than the ban duration ago.
    public func isBanned(_ peer: PeerID, now: Nanoseconds) -> Bool {
        guard let duration = profile.banDuration, let at = bannedPeers[peer] else { return false }
        return now &- at < duration
    }

    /// `IsCaughtUp` (§2.10). `height ≥ 1` always, so the 5 s clause is vacuous but kept.
    public func isCaughtUp(now: Nanoseconds) -> Bool {
        guard !peers.isEmpty else { return false }
        switch profile.caughtUp {
        case .poolHeightNearMax:
            let receivedOrTimedOut = height > 0 || now &- startTime > 5 * .second
            return receivedOrTimedOut && (maxPeerHeight == 0 || height >= maxPeerHeight &- 1)
        case .poolHeightNearMaxOrStalled:
            return height >= maxPeerHeight &- 1
        }
    }

    /// `PeekTwoBlocks`: the blocks at `height` and `height + 1`.
    public func peekTwoBlocks() -> (first: Block?, second: Block?) {
        (requesters.first?.block, requesters.count > 1 ? requesters[1].block : nil)
    }

    /// Whether `peekTwoBlocks` would give two blocks (without handing them out).
    public var hasTwoBlocks: Bool {
        requesters.count > 1 && requesters[0].block != nil && requesters[1].block != nil
    }

    /// Which peer supplied the block held at `height` (`gotBlockFrom`, or the single-style peer).
    public func supplier(at height: Int64) -> PeerID? {
        guard let index = index(of: height) else { return nil }
        switch profile.requesterStyle {
        case .single: return requesters[index].block == nil ? nil : requesters[index].peerID
        case .dual: return requesters[index].gotBlockFrom
        }
    }

    /// The earliest pending timer: peer timeouts, request retries, the requester-making loop.
    public var nextDeadline: Nanoseconds? {
        guard isRunning else { return nil }
        var best = loopDeadline
        for i in peers.values.indices {
            if let d = peers.values[i].timeoutDeadline, best.map({ d < $0 }) ?? true { best = d }
        }
        if let d = earliestRetry, best.map({ d < $0 }) ?? true { best = d }
        return best
    }

    /// The earliest retry deadline of a waiting requester (`armedRetries`).
    private var earliestRetry: Nanoseconds? {
        if armedRetriesUnordered { return scannedEarliestRetry }
        for entry in armedRetries where isArmed(entry) { return entry.deadline }
        return nil
    }

    /// The earliest retry deadline of a waiting requester, found by reading every requester.
    private var scannedEarliestRetry: Nanoseconds? {
        var best: Nanoseconds?
        // By index: reading two fields, not copying (retaining) each requester and its block.
        for i in requesters.indices where requesters[i].waiting {
            if let d = requesters[i].retryDeadline, best.map({ d < $0 }) ?? true { best = d }
        }
        return best
    }

    private func isArmed(_ entry: (deadline: Nanoseconds, height: Int64)) -> Bool {
        guard let i = index(of: entry.height) else { return false }
        return requesters[i].waiting && requesters[i].retryDeadline == entry.deadline
    }

    /// Drops retry entries that no longer arm their requester from the front of `armedRetries`.
    private mutating func dropDisarmedRetries() {
        while let first = armedRetries.first, !isArmed(first) { armedRetries.removeFirst() }
    }

    /// Arms requester `r`'s retry timer at `now + requestRetry` (when the profile has one).
    private mutating func armRetry(_ r: inout Requester<Block>, now: Nanoseconds) {
        r.retryDeadline = profile.requestRetry.map { now &+ $0 }
        guard let deadline = r.retryDeadline else { return }
        if let last = armedRetries.last, deadline < last.deadline { armedRetriesUnordered = true }
        armedRetries.append((deadline, r.height))
    }

    // MARK: Inputs

    /// `SetPeerRange` (§2.7), on every StatusResponse. Peers enter the pool only here.
    public mutating func setPeerRange(_ id: PeerID, base: Int64, height: Int64, now: Nanoseconds) {
        if profile.baseFilter && base > height {
            let reason = "peer reported base \(base) greater than height \(height)"
            if peers[id] != nil {
                removePeer(id)
                outbox.append(.peerRemoved(peer: id, reason: reason))
            }
            ban(id, now: now, reason: reason)
            return
        }
        if var peer = peers[id] {
            if profile.banOnLoweredRange && (base < peer.base || height < peer.height) {
                let reason = "peer reported height/base lower than it previously reported"
                removePeer(id)
                outbox.append(.peerRemoved(peer: id, reason: reason))
                ban(id, now: now, reason: reason)
                return
            }
            peer.base = base
            peer.height = height
            peers[id] = peer
        } else {
            if isBanned(id, now: now) { return }
            peers[id] = PoolPeer(id: id, base: base, height: height)
            if profile.peerOrder == .sortedByRate { sortedPeers.insert(id, at: 0) }
        }
        if profile.baseFilter {
            updateMaxPeerHeight()
        } else if height > maxPeerHeight {
            maxPeerHeight = height
        }
    }

    /// `RemovePeer`: redo every request it was asked, forget it. Unknown peers are a no-op.
    public mutating func removePeer(_ id: PeerID) {
        for i in requesters.indices {
            let asked: Bool
            switch profile.requesterStyle {
            case .single: asked = requesters[i].peerID == id
            case .dual: asked = requesters[i].didRequestFrom(id)
            }
            if asked && requesters[i].redoSignal == nil {
                requesters[i].redoSignal = id
                noteSignal(at: i)
            }
        }
        guard let peer = peers.removeValue(forKey: id) else { return }
        if let at = sortedPeers.firstIndex(of: id) { sortedPeers.remove(at: at) }
        if peer.height == maxPeerHeight { updateMaxPeerHeight() }
    }

    /// `AddBlock(peer, block, extCommit, size)` (§2.8). `extCommitHeight` is the height of the
    /// response's extended commit when it carried one. Returns whether the block was stored.
    @discardableResult
    public mutating func addBlock(
        _ block: Block, height blockHeight: Int64, extCommitHeight: Int64? = nil,
        from id: PeerID, size: Int, now: Nanoseconds
    ) -> Bool {
        if profile.extendedCommits, let extHeight = extCommitHeight, extHeight != blockHeight {
            sendError(id, "block height \(blockHeight) != extCommit height \(extHeight)")
            return false
        }
        guard let index = index(of: blockHeight) else {
            switch profile.unexpectedBlock {
            case .disconnectIfFarFrom(let maxDiff):
                let diff = height > blockHeight ? height &- blockHeight : blockHeight &- height
                if diff > maxDiff || diff < 0 {
                    sendError(id, "peer sent us a block we didn't expect with a height too far ahead/behind")
                }
            case .disconnectIfAheadOrBeforeStart:
                if blockHeight > height || blockHeight < startHeight {
                    sendError(id, "peer sent us block #\(blockHeight) we didn't expect (current height: \(height), start height: \(startHeight))")
                }
            }
            return false
        }
        var r = requesters[index]
        switch profile.requesterStyle {
        case .single:
            guard r.block == nil, r.peerID == id else {
                sendError(id, profile.addBlockMismatchError)
                return false
            }
            r.block = block
            r.gotBlockSignal = true
            noteSignal(at: index)
        case .dual:
            guard r.didRequestFrom(id) else {
                // Go's `%v` of a peer-ID slice: `[p2 p3]`, no quotes (cometbft v0.38 pool.go).
                sendError(id, "requested block #\(blockHeight) from [\(r.requestedFrom.joined(separator: " "))], not \(id)")
                return false
            }
            if r.block == nil {
                r.block = block
                r.gotBlockFrom = id
                r.gotBlockSignal = true
                noteSignal(at: index)
            }
        }
        requesters[index] = r
        numPending &-= 1
        if var peer = peers[id] {
            peer.numPending &-= 1
            if peer.numPending == 0 {
                peer.timeoutDeadline = nil
            } else {
                peer.monitor?.update(bytes: size, now: now)
                peer.timeoutDeadline = now &+ profile.peerTimeout
            }
            peers[id] = peer
        }
        return true
    }

    /// `PopRequest`: drop the requester at `height` (the reactor applied its block).
    public mutating func popRequest(now: Nanoseconds) {
        guard !requesters.isEmpty else { return }
        if !requesters.removeFirst().waiting { idleRequesters &-= 1 }
        height &+= 1
        lastAdvance = now
        if let window = profile.secondRequestWindow {
            for i in 0..<min(Int(window), requesters.count) where requesters[i].newHeightSignal == nil {
                requesters[i].newHeightSignal = height
                noteSignal(at: i)
            }
        }
        if profile.baseFilter { updateMaxPeerHeight() }
    }

    /// `RedoRequestFrom(h, peer)` (NoBlockResponse, dual style): redo if that peer was asked.
    public mutating func redoRequest(at height: Int64, from peer: PeerID) {
        guard let index = index(of: height), requesters[index].didRequestFrom(peer) else { return }
        if requesters[index].redoSignal == nil {
            requesters[index].redoSignal = peer
            noteSignal(at: index)
        }
    }

    /// Blames the supplier of the block at `height` after a failed verification (§2.9):
    /// `RedoRequest` (assigned peer, no ban) or `RemovePeerAndRedoAllPeerRequests` (+ ban).
    /// Returns the peer removed, if any.
    @discardableResult
    public mutating func removeSupplier(at height: Int64, now: Nanoseconds) -> PeerID? {
        guard let index = index(of: height) else { return nil }
        switch profile.blame {
        case .assignedPeer:
            guard let peer = requesters[index].peerID else { return nil }
            removePeer(peer)
            return peer
        case .supplierBanned:
            guard let peer = requesters[index].gotBlockFrom else { return nil }
            removePeer(peer)
            ban(peer, now: now, reason: "sent a block that failed verification")
            return peer
        }
    }

    /// `SwitchToBlockSync` on a pool that never ran: `pool.height = height`, then `pool.Start()`
    /// (`OnStart`: `startTime` and tm v0.35's `lastAdvance` now, the requester loop from now —
    /// after `peerConnWait` on the paced profiles). Peers and bans recorded while it was not
    /// running stay; `startHeight` stays as constructed (Go does not update it either).
    public mutating func start(height newHeight: Int64, now: Nanoseconds) {
        guard !isRunning, requesters.isEmpty else { return }
        height = newHeight
        startTime = now
        lastAdvance = now
        lastLoopTick = nil
        loopSleeping = false
        loopAnchor = now
        if case .paced(let wait) = profile.requesterCreation { loopAnchor = now &+ wait }
        isRunning = true
    }

    /// `pool.Stop()`: requesters and timers stop; the pool keeps its state for inspection.
    public mutating func stop() {
        isRunning = false
        loopDeadline = nil
    }

    // MARK: Time

    /// Which of the pool's timers `nextDeadline` is, in the tie order of `advance(to:)`.
    public var nextTimer: (deadline: Nanoseconds, timer: ReactorTimer)? {
        guard let due = nextDeadline else { return nil }
        if peers.values.indices.contains(where: { peers.values[$0].timeoutDeadline == due }) { return (due, .peerTimeout) }
        if earliestRetry == due { return (due, .requestRetry) }
        return (due, .requesterLoop)
    }

    /// Fires every timer due at or before `now`, earliest first; at equal times peer timeouts
    /// (arrival order), then request retries (height order), then the requester loop. The pool
    /// settles after each.
    public mutating func advance(to now: Nanoseconds) {
        while isRunning, let due = nextDeadline, due <= now {
            // By index throughout: a closure over elements would copy each peer and requester.
            if let index = peers.values.indices.first(where: { peers.values[$0].timeoutDeadline == due }) {
                peers.values[index].timeoutDeadline = nil
                peers.values[index].didTimeout = true
                sendError(peers.keys[index], "peer did not send us anything")
            } else if let index = requesters.indices.first(where: { requesters[$0].waiting && requesters[$0].retryDeadline == due }) {
                fireRetry(index, now: due)
            } else {
                loopTick(now: due)
            }
            settle(now: due, afterInput: false)
        }
    }

    /// Lets the goroutines run: after an input (`afterInput`) the requester-making loop wakes
    /// (busy-spin profiles create requesters at once; paced ones tick at their next 2 ms grid
    /// point); then every requester reacts in ascending height order. Pass `afterInput: false`
    /// after `advance(to:)`, which settles by itself.
    public mutating func settle(now: Nanoseconds, afterInput: Bool = true) {
        guard isRunning else { return }
        var again = true
        while again {
            var created = false
            switch profile.requesterCreation {
            case .busySpin:
                if loopSleeping {
                    if afterInput { wakeLoop(now: now) }
                } else {
                    created = spin(now: now)
                }
            case .paced:
                if afterInput && pacedLoopHasWork && !(skipsIdleTicks && peers.isEmpty) {
                    wakeLoop(now: now)
                }
            }
            if signalled || (idleRequesters > 0 && anyPeerPickable) {
                let signals = signalled ? indices(of: signalledHeights) : 0..<0
                signalled = false
                signalledHeights = (.max, .min)
                // The peers a pick could take, read again after each reaction (which may change them).
                collectPickable()
                // Every requester in height order acts when it has a signal or could pick. Only
                // those signalled before the pass and idle ones whose height a pickable peer
                // covers can, and reactions only take peers away: the pass runs over the span
                // of those (issue 19: all 600 requesters were checked after every block and
                // every 2 ms tick of the asa case's stall), and on to the end once a reaction
                // signalled someone. The reactions are the same, in the same order.
                var span = Self.hull(signals, coverSpan())
                var i = span.lowerBound
                while i < requesters.count {
                    if i >= span.upperBound && !signalled { break }
                    if requesters[i].hasSignal || (!requesters[i].waiting && requesterCouldPick(i)) {
                        react(i, now: now)
                        collectPickable()
                        span = Self.hull(signals, coverSpan())
                    }
                    i += 1
                }
            }
            again = created || signalled
        }
    }

    // MARK: Internals

    private func index(of h: Int64) -> Int? {
        let offset = h &- height
        guard offset >= 0, offset < Int64(requesters.count) else { return nil }
        return Int(offset)
    }

    /// Whether a paced tick would do anything (saturated: check rates; else make a requester).
    private var pacedLoopHasWork: Bool {
        requesters.count >= peers.count &* profile.maxPendingPerPeer
            || height &+ Int64(requesters.count) <= maxPeerHeight
    }

    private mutating func sendError(_ peer: PeerID, _ reason: String) {
        guard isRunning else { return }
        outbox.append(.peerError(peer: peer, reason: reason))
    }

    private mutating func ban(_ peer: PeerID, now: Nanoseconds, reason: String) {
        guard profile.banDuration != nil else { return }
        bannedPeers[peer] = now
        outbox.append(.peerBanned(peer: peer, reason: reason))
    }

    /// `updateMaxPeerHeight`; with the #5803 base filter, peers pruned ahead of us are skipped.
    private mutating func updateMaxPeerHeight() {
        var best: Int64 = 0
        for peer in peers.values {
            if profile.baseFilter && height > 0 && peer.base > height { continue }
            if peer.height > best { best = peer.height }
        }
        maxPeerHeight = best
    }

    private mutating func makeRequester(_ h: Int64) {
        requesters.append(Requester(height: h))
        idleRequesters &+= 1
        numPending &+= 1
    }

    /// The busy-spin loop (≤ v0.38.5): create requesters without sleeping until saturated,
    /// then sleep (`loopSleeping`) and run `removeTimedoutPeers` on each wake-up.
    private mutating func spin(now: Nanoseconds) -> Bool {
        guard case .busySpin(let maxTotal, let maxPending) = profile.requesterCreation else { return false }
        var created = false
        while true {
            if numPending >= maxPending || requesters.count >= maxTotal {
                loopSleeping = true
                loopAnchor = now
                loopDeadline = now &+ profile.requestInterval
                return created
            }
            let next = height &+ Int64(requesters.count)
            guard next <= maxPeerHeight else { return created }
            makeRequester(next)
            created = true
        }
    }

    /// One wake-up of `makeRequestersRoutine` at `now`, on its 2 ms grid.
    private mutating func loopTick(now: Nanoseconds) {
        loopDeadline = nil
        lastLoopTick = now
        switch profile.requesterCreation {
        case .busySpin:
            loopSleeping = false
            removeTimedoutPeers(now: now)
            _ = spin(now: now)
            if loopSleeping {
                loopAnchor = now
                loopDeadline = nextUsefulSaturatedTick(after: now)
            }
        case .paced:
            let saturated = requesters.count >= peers.count &* profile.maxPendingPerPeer
            if saturated {
                removeTimedoutPeers(now: now)
            } else {
                let next = height &+ Int64(requesters.count)
                if next <= maxPeerHeight { makeRequester(next) }
            }
            if requesters.count >= peers.count &* profile.maxPendingPerPeer {
                loopDeadline = nextUsefulSaturatedTick(after: now)
            } else if pacedLoopHasWork {
                loopDeadline = now &+ profile.requestInterval
            }
        }
    }

    /// The next grid point at or after `t` (ticks are `requestInterval` apart from `loopAnchor`).
    private func gridTick(atOrAfter t: Nanoseconds) -> Nanoseconds {
        guard t > loopAnchor else { return loopAnchor }
        let step = profile.requestInterval
        return loopAnchor &+ (t &- loopAnchor &+ step &- 1) / step &* step
    }

    /// Brings the sleeping loop's next tick forward to the grid point at or after `now` (and
    /// after the tick that last ran).
    private mutating func wakeLoop(now: Nanoseconds) {
        var tick = gridTick(atOrAfter: now)
        if let last = lastLoopTick, tick <= last { tick = gridTick(atOrAfter: last &+ 1) }
        if loopDeadline.map({ $0 > tick }) ?? true { loopDeadline = tick }
    }

    /// While saturated, a tick only runs `removeTimedoutPeers`, whose outcome changes only when
    /// a peer's rate monitor closes a 1 s sample or a peer is flagged: ticks in between are
    /// no-ops and are skipped (an input wakes the loop at its next grid point anyway).
    private func nextUsefulSaturatedTick(after t: Nanoseconds) -> Nanoseconds? {
        let earliest = gridTick(atOrAfter: t &+ profile.requestInterval)
        var best: Nanoseconds?
        for peer in peers.values {
            if peer.didTimeout { return earliest }
            guard peer.numPending > 0, let monitor = peer.monitor else { continue }
            let tick = gridTick(atOrAfter: max(earliest, monitor.nextSampleTime))
            if best.map({ tick < $0 }) ?? true { best = tick }
        }
        return best
    }

    /// `removeTimedoutPeers` (§2.5): flag peers below the minimum rate, remove flagged peers,
    /// purge expired bans, re-sort.
    private mutating func removeTimedoutPeers(now: Nanoseconds) {
        for id in Array(peers.keys) {
            guard var peer = peers[id] else { continue }
            if !peer.didTimeout && peer.numPending > 0 {
                let rate = peer.monitor?.currentRate(now: now) ?? 0
                if rate != 0 && rate < profile.minRecvRate {
                    sendError(id, "peer is not sending us data fast enough")
                    peer.didTimeout = true
                }
                peer.curRate = rate
                peers[id] = peer
            }
            if peer.didTimeout { removePeer(id) }
        }
        if let duration = profile.banDuration {
            bannedPeers.removeAll { now &- $0.value >= duration }
        }
        if profile.peerOrder == .sortedByRate {
            let rates = sortedPeers.map { peers[$0]?.curRate ?? 0 }
            sortedPeers = zip(sortedPeers, rates).enumerated()
                .sorted { a, b in a.element.1 != b.element.1 ? a.element.1 > b.element.1 : a.offset < b.offset }
                .map { $0.element.0 }
        }
    }

    /// Whether `pickIncrAvailablePeer` could return anyone (a shortcut that skips requesters
    /// spinning in their pick loop when every peer is at its cap).
    private var anyPeerPickable: Bool {
        peers.values.indices.contains(where: isPickable)
    }

    /// Whether `pickIncrAvailablePeer` could take peer `i`: flagged timed out (the pick removes
    /// it) or below its pending cap.
    private func isPickable(_ i: Int) -> Bool {
        peers.values[i].didTimeout || peers.values[i].numPending < profile.maxPendingPerPeer
    }

    /// Whether requester `i`'s pick (`pickPeer`, excluding its second peer) would act: some
    /// other peer is flagged timed out (the pick removes it) or has room and covers the height.
    /// A pick that would not act fails without any effect, so the requester is not reacted
    /// (issue 19: the asa case copied 600 large requesters per tick for picks that could not
    /// succeed). Reads `pickable` (filled by `collectPickable`): a few plain values per peer,
    /// not each `PoolPeer` copied for every requester.
    private func requesterCouldPick(_ i: Int) -> Bool {
        guard !pickable.isEmpty else { return false }
        let h = requesters[i].height
        let excluded = profile.requesterStyle == .single ? nil : requesters[i].secondPeerID
        for peer in pickable where peer.didTimeout || (peer.base <= h && h <= peer.height) {
            if let excluded, peers.keys[peer.index] == excluded { continue }
            return true
        }
        return false
    }

    /// Marks requester `i` as having a channel message for `settle`.
    private mutating func noteSignal(at i: Int) {
        signalled = true
        let h = requesters[i].height
        signalledHeights = (min(signalledHeights.low, h), max(signalledHeights.high, h))
    }

    /// The requester indices of the heights `span.low...span.high` (those still held).
    private func indices(of span: (low: Int64, high: Int64)) -> Range<Int> {
        guard let low = index(of: max(span.low, height)), let high = index(of: min(span.high, height &+ Int64(requesters.count) &- 1)),
              low <= high else { return 0..<0 }
        return low..<(high + 1)
    }

    /// The indices of the idle requesters a pick could act for: none without idle requesters,
    /// else those whose heights the peers in `pickable` cover (all of them when a peer is
    /// flagged timed out: any pick removes it).
    private func coverSpan() -> Range<Int> {
        guard idleRequesters > 0, !pickable.isEmpty else { return 0..<0 }
        var low = Int64.max, high = Int64.min
        for peer in pickable {
            if peer.didTimeout { return 0..<requesters.count }
            low = min(low, peer.base)
            high = max(high, peer.height)
        }
        guard height >= 0 else { return 0..<requesters.count }  // (differences below cannot overflow from here)
        let count = Int64(requesters.count)
        let lower = low <= height ? 0 : (low - height >= count ? count : low - height)
        let upper = high < height ? 0 : (high - height >= count ? count : high - height + 1)
        return Int(lower)..<Int(max(lower, upper))
    }

    /// The smallest range holding both (an empty one holds nothing).
    private static func hull(_ a: Range<Int>, _ b: Range<Int>) -> Range<Int> {
        if a.isEmpty { return b }
        if b.isEmpty { return a }
        return min(a.lowerBound, b.lowerBound)..<max(a.upperBound, b.upperBound)
    }

    /// A peer `pickIncrAvailablePeer` could take (`isPickable`), as `requesterCouldPick` reads it.
    struct PickablePeer: Sendable {
        var index: Int
        var base: Int64
        var height: Int64
        var didTimeout: Bool
    }

    /// Fills `pickable` anew from `peers` (in arrival order; the order does not matter to the check).
    private mutating func collectPickable() {
        pickable.removeAll(keepingCapacity: true)
        for i in peers.values.indices where isPickable(i) {
            pickable.append(PickablePeer(index: i, base: peers.values[i].base, height: peers.values[i].height,
                                         didTimeout: peers.values[i].didTimeout))
        }
    }

    /// `pickIncrAvailablePeer(height, exclude)` (§2.4).
    private mutating func pickPeer(for h: Int64, excluding excluded: PeerID?, now: Nanoseconds) -> PeerID? {
        let sorted = profile.peerOrder == .sortedByRate
        var position = 0
        while position < (sorted ? sortedPeers.count : peers.count) {
            let id = sorted ? sortedPeers[position] : peers.keys[position]
            position += 1
            if id == excluded { continue }
            guard var peer = peers[id] else { continue }
            if peer.didTimeout {
                removePeer(id)
                position -= 1
                continue
            }
            if peer.numPending >= profile.maxPendingPerPeer { continue }
            if h < peer.base || h > peer.height { continue }
            if peer.numPending == 0 {
                peer.monitor = FlowMonitor(now: now, initialRate: Double(profile.minRecvRate) * M_E)
                peer.timeoutDeadline = now &+ profile.peerTimeout
            }
            peer.numPending &+= 1
            peers[id] = peer
            return id
        }
        return nil
    }

    /// One requester goroutine step: pick (OUTER) if needed, then drain its channels in a fixed
    /// order (block arrived, redo, new pool height).
    private mutating func react(_ i: Int, now: Nanoseconds) {
        var r = requesters[i]
        defer { store(r, at: i) }
        while true {
            if !r.waiting {
                let h = r.height
                switch profile.requesterStyle {
                case .single:
                    guard let peer = pickPeer(for: h, excluding: nil, now: now) else { return }
                    r.peerID = peer
                    armRetry(&r, now: now)
                    outbox.append(.sendRequest(height: h, peer: peer))
                case .dual(let window):
                    guard let peer = pickPeer(for: h, excluding: r.secondPeerID, now: now) else { return }
                    r.peerID = peer
                    outbox.append(.sendRequest(height: h, peer: peer))
                    if h &- height < window { _ = pickSecond(&r, now: now) }
                    armRetry(&r, now: now)
                }
                r.waiting = true
            }
            if r.gotBlockSignal {
                r.gotBlockSignal = false
                r.gotBlock = true
            }
            if let peer = r.redoSignal {
                r.redoSignal = nil
                switch profile.requesterStyle {
                case .single:
                    if peer == r.peerID {
                        resetSingle(&r)
                        continue
                    }
                case .dual:
                    if r.didRequestFrom(peer), resetDual(&r, peer) { r.gotBlock = false }
                    if r.requestedFrom.isEmpty {
                        r.retryDeadline = nil
                        r.waiting = false
                        continue
                    }
                }
            }
            if let newHeight = r.newHeightSignal {
                r.newHeightSignal = nil
                if case .dual(let window) = profile.requesterStyle,
                   !r.gotBlock, r.height &- newHeight < window, pickSecond(&r, now: now) {
                    armRetry(&r, now: now)
                }
            }
            return
        }
    }

    /// `pickSecondPeerAndSendRequest`: no-op when a second peer is already set.
    private mutating func pickSecond(_ r: inout Requester<Block>, now: Nanoseconds) -> Bool {
        guard r.secondPeerID == nil,
              let second = pickPeer(for: r.height, excluding: r.peerID, now: now) else { return false }
        r.secondPeerID = second
        outbox.append(.sendRequest(height: r.height, peer: second))
        return true
    }

    /// Old `reset()`: forget the peer and any block (the pool counts the height pending again).
    private mutating func resetSingle(_ r: inout Requester<Block>) {
        if r.block != nil { numPending &+= 1 }
        r.peerID = nil
        r.block = nil
        r.retryDeadline = nil
        r.waiting = false
    }

    /// New `reset(peer)`: clear that slot; drop the block only if that peer supplied it.
    private mutating func resetDual(_ r: inout Requester<Block>, _ peer: PeerID?) -> Bool {
        var removed = false
        if r.gotBlockFrom == peer {
            r.block = nil
            r.gotBlockFrom = nil
            removed = true
            numPending &+= 1
        }
        if r.peerID == peer { r.peerID = nil } else { r.secondPeerID = nil }
        return removed
    }

    private mutating func fireRetry(_ i: Int, now: Nanoseconds) {
        var r = requesters[i]
        r.retryDeadline = nil
        switch profile.requesterStyle {
        case .single:
            resetSingle(&r)
        case .dual:
            if !r.gotBlock {
                _ = resetDual(&r, r.peerID)
                _ = resetDual(&r, r.secondPeerID)
                r.waiting = false
            }
        }
        store(r, at: i)
    }

    /// Writes back requester `i` after a step of its routine, keeping `idleRequesters` and
    /// `armedRetries` in step with it.
    private mutating func store(_ r: Requester<Block>, at i: Int) {
        if r.waiting != requesters[i].waiting { idleRequesters &+= r.waiting ? -1 : 1 }
        requesters[i] = r
        dropDisarmedRetries()
    }

    /// Whether what is kept for speed (`idleRequesters`, `armedRetries`, the signalled
    /// heights) agrees with the requesters themselves (the pool simulation checks it after
    /// every step).
    public func countsAgree() -> Bool {
        let idle = requesters.indices.filter { !requesters[$0].waiting }.count
        // Every channel message waiting lies within the heights noted for `settle`.
        let signalsNoted = requesters.indices.allSatisfy { i in
            !requesters[i].hasSignal
                || (signalled && signalledHeights.low <= requesters[i].height && requesters[i].height <= signalledHeights.high)
        }
        return idle == idleRequesters && scannedEarliestRetry == earliestRetry && signalsNoted
    }
}
