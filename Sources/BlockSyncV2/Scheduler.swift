import CometWire
import SyncMachine

/// The v2 scheduler routine (`scheduler.go`, specs/cometbft-blocksync-v2.md §v2.2): peers,
/// the window of heights, requests, removals and the finish decision. One method per event;
/// every handler returns exactly one event (§v2.2.4). Maps are never iterated into an output
/// in their own order (DET-6): selection and pruning sort by ID.
public struct Scheduler: Sendable, Equatable {
    public enum PeerState: String, Sendable { case new = "New", ready = "Ready", removed = "Removed" }
    public enum BlockState: String, Sendable { case unknown = "Unknown", new = "New", pending = "Pending", received = "Received", processed = "Processed" }

    /// A peer record; created New with base/height −1, a zero `lastTouched` (nil: Go's year 1,
    /// "infinitely old", DET-7) and rate 0.
    public struct Peer: Sendable, Equatable {
        public var state: PeerState = .new
        public var base: Int64 = -1
        public var height: Int64 = -1
        public var lastTouched: Nanoseconds?
        public var lastRate: Int64 = 0

        public init(state: PeerState = .new, base: Int64 = -1, height: Int64 = -1, lastTouched: Nanoseconds? = nil, lastRate: Int64 = 0) {
            self.state = state
            self.base = base
            self.height = height
            self.lastTouched = lastTouched
            self.lastRate = lastRate
        }
    }

    public let targetPending: Int64
    public let peerTimeout: Nanoseconds
    public let minRecvRate: Int64
    public let syncTimeout: Nanoseconds

    public private(set) var initHeight: Int64
    /// The next height to process; every lower height counts as Processed.
    public private(set) var height: Int64
    /// Last block processed or state reset (construction time at first, DET-12).
    public private(set) var lastAdvance: Nanoseconds
    public var peers: [PeerID: Peer] = [:]
    public var blockStates: [Int64: BlockState] = [:]
    public var pendingBlocks: [Int64: PeerID] = [:]
    public var pendingTime: [Int64: Nanoseconds] = [:]
    public var receivedBlocks: [Int64: PeerID] = [:]

    public init(initHeight: Int64, startTime: Nanoseconds, profile: BlockSyncV2Profile) {
        self.init(initHeight: initHeight, startTime: startTime, targetPending: profile.targetPending,
                  peerTimeout: profile.peerTimeout, minRecvRate: profile.minRecvRate, syncTimeout: profile.syncTimeout)
    }

    /// `newScheduler` with explicit constants (the Go tests' `newTestScheduler`).
    public init(initHeight: Int64, startTime: Nanoseconds, targetPending: Int64 = 10, peerTimeout: Nanoseconds = 15_000_000_000,
                minRecvRate: Int64 = 0, syncTimeout: Nanoseconds = 60_000_000_000) {
        self.initHeight = initHeight
        height = initHeight
        lastAdvance = startTime
        self.targetPending = targetPending
        self.peerTimeout = peerTimeout
        self.minRecvRate = minRecvRate
        self.syncTimeout = syncTimeout
    }

    // MARK: Handlers (§v2.2.4)

    /// Dispatches one event; `now` is the virtual time of the input that started the cascade
    /// (markProcessed's and handleResetState's `time.Now()`, §v2.1.9).
    public mutating func handle(_ event: V2Event, now: Nanoseconds) -> V2Event {
        switch event {
        case .bcResetState(let state): return handleResetState(state, now: now)
        case let .bcStatusResponse(peer, base, height): return handleStatusResponse(peer, base: base, height: height)
        case let .bcBlockResponse(peer, block, time, size): return handleBlockResponse(peer, block: block, time: time, size: size)
        case let .bcNoBlockResponse(peer, height, _): return handleNoBlockResponse(peer, height: height)
        case .rTrySchedule(let time): return handleTrySchedule(time: time)
        case .bcAddNewPeer(let peer): return handleAddNewPeer(peer)
        case .bcRemovePeer(let peer, _): return handleRemovePeer(peer)
        case .rTryPrunePeer(let time): return handleTryPrunePeer(time: time)
        case let .pcBlockProcessed(height, _): return handleBlockProcessed(height: height, now: now)
        case let .pcBlockVerificationFailure(_, first, second, _): return handleBlockVerificationFailure(first: first, second: second)
        default: return .scSchedulerFail(reason: "unknown event \(event)")
        }
    }

    /// a. The initial height of `state`; `lastAdvance` = now; other maps are kept.
    public mutating func handleResetState(_ state: ChainState, now: Nanoseconds) -> V2Event {
        let ih = state.lastBlockHeight &+ 1 == 1 ? state.initialHeight : state.lastBlockHeight &+ 1
        initHeight = ih
        height = ih
        lastAdvance = now
        addNewBlocks()
        return .noOp
    }

    /// b. Termination is never evaluated here.
    public mutating func handleStatusResponse(_ peer: PeerID, base: Int64, height: Int64) -> V2Event {
        if let error = setPeerRange(peer, base: base, height: height) { return .scPeerError(peer: peer, reason: error) }
        return .noOp
    }

    /// c. A block from an unknown, New or Removed peer is dropped silently; `lastTouched` is
    /// updated even when `markReceived` then fails.
    public mutating func handleBlockResponse(_ peer: PeerID, block: Block, time: Nanoseconds, size: Int64) -> V2Event {
        guard touchPeer(peer, time: time) == nil else { return .noOp }
        if let error = markReceived(peer, height: block.header.height, size: size, now: time) {
            removePeer(peer)
            return .scPeerError(peer: peer, reason: error)
        }
        return .scBlockReceived(peer: peer, block: block)
    }

    /// d. Any NoBlockResponse from a known, not removed peer removes it (§v2.6 B13).
    public mutating func handleNoBlockResponse(_ peer: PeerID, height h: Int64) -> V2Event {
        guard let p = peers[peer], p.state != .removed else { return .noOp }
        removePeer(peer)
        return .scPeerError(peer: peer, reason: "peer \(peer) with base \(p.base) height \(p.height) claims no block for \(h)")
    }

    /// e. The 60 s no-advance timeout first, then one request for the lowest New height.
    public mutating func handleTrySchedule(time: Nanoseconds) -> V2Event {
        if elapsed(since: lastAdvance, to: time) > Int64(syncTimeout) { return .scFinished(reason: "timeout, no advance") }
        let h = nextHeightToSchedule()
        guard h != -1 else { return .noOp }
        let peer: PeerID
        switch selectPeer(height: h) {
        case .failure(let error): return .scSchedulerFail(reason: error.message)
        case .success(let p): peer = p
        }
        if let error = markPending(peer, height: h, time: time) { return .scSchedulerFail(reason: error) }
        return .scBlockRequest(peer: peer, height: h)
    }

    /// f.
    public mutating func handleAddNewPeer(_ peer: PeerID) -> V2Event {
        ensurePeer(peer)
        return .noOp
    }

    /// g. Also for unknown and already removed peers.
    public mutating func handleRemovePeer(_ peer: PeerID) -> V2Event {
        removePeer(peer)
        if allBlocksProcessed() { return .scFinished(reason: "removed peer") }
        return .scPeerError(peer: peer, reason: "peer was stopped")
    }

    /// h. Step 1 silently removes the holder of a current-height request older than
    /// `peerTimeout`; step 2 prunes peers without a delivery for `peerTimeout`.
    public mutating func handleTryPrunePeer(time: Nanoseconds) -> V2Event {
        if let requested = pendingTime[height], elapsed(since: requested, to: time) > Int64(peerTimeout),
           let holder = pendingBlocks[height] {
            removePeer(holder)
        }
        let prunable = prunablePeers(timeout: peerTimeout, minRecvRate: minRecvRate, now: time)
        guard !prunable.isEmpty else { return .noOp }
        for peer in prunable { removePeer(peer) }
        if allBlocksProcessed() { return .scFinished(reason: "after try prune") }
        return .scPeersPruned(prunable)
    }

    /// i. A processed height other than ours is the original's panic (§v2.6 B3).
    public mutating func handleBlockProcessed(height h: Int64, now: Nanoseconds) -> V2Event {
        guard h == height else { return .panic("processed height \(h), but expected height \(height)") }
        markProcessed(h, now: now)
        if allBlocksProcessed() { return .scFinished(reason: "processed all blocks") }
        return .noOp
    }

    /// j. Both suppliers are tombstoned, not reported (§v2.6 B10).
    public mutating func handleBlockVerificationFailure(first: PeerID, second: PeerID) -> V2Event {
        removePeer(first)
        if second != first { removePeer(second) }
        if allBlocksProcessed() { return .scFinished(reason: "error on last block") }
        return .noOp
    }

    // MARK: Helper rules (§v2.2.3)

    /// H1.
    public mutating func ensurePeer(_ peer: PeerID) {
        if peers[peer] == nil { peers[peer] = Peer() }
    }

    /// H2: nil on success, else the error text.
    public mutating func touchPeer(_ peer: PeerID, time: Nanoseconds) -> String? {
        guard let p = peers[peer] else { return "couldn't find peer \(peer)" }
        guard p.state == .ready else { return "tried to touch peer in state \(p.state.rawValue), must be Ready" }
        peers[peer]!.lastTouched = time
        return nil
    }

    /// H3: pending and received heights of the peer back to New, the peer a tombstone, and the
    /// window cut at the highest remaining Ready peer (floor 0).
    public mutating func removePeer(_ peer: PeerID) {
        guard let p = peers[peer], p.state != .removed else { return }
        for (h, holder) in pendingBlocks where holder == peer {
            blockStates[h] = .new
            pendingBlocks[h] = nil
            pendingTime[h] = nil
        }
        for (h, supplier) in receivedBlocks where supplier == peer {
            blockStates[h] = .new
            receivedBlocks[h] = nil
        }
        peers[peer]!.state = .removed
        let m = peers.values.filter { $0.state == .ready }.map(\.height).max().map { max($0, 0) } ?? 0
        for h in blockStates.keys where h > m { blockStates[h] = nil }
    }

    /// H4.
    public mutating func addNewBlocks() {
        guard Int64(blockStates.count) < targetPending else { return }
        // Saturating: a height near Int64.max (a crafted initial height) must not trap.
        let top = min(maxHeight(), height > Int64.max - targetPending ? Int64.max : height + targetPending - 1)
        var h = height
        while h <= top {
            if state(at: h) == .unknown { blockStates[h] = .new }
            if h == Int64.max { break }
            h += 1
        }
    }

    /// H5: nil on success, else the error text (the peer is then removed).
    public mutating func setPeerRange(_ peer: PeerID, base: Int64, height h: Int64) -> String? {
        ensurePeer(peer)
        let p = peers[peer]!
        if p.state == .removed { return nil }
        if h < p.height {
            removePeer(peer)
            return "cannot move peer height lower. from \(p.height) to \(h)"
        }
        if base > h {
            removePeer(peer)
            return "cannot set peer base higher than its height"
        }
        peers[peer]!.base = base
        peers[peer]!.height = h
        peers[peer]!.state = .ready
        addNewBlocks()
        return nil
    }

    /// H6.
    public func state(at h: Int64) -> BlockState {
        if h < height { return .processed }
        return blockStates[h] ?? .unknown
    }

    /// H7: Ready peers whose range holds `h`, in ID order.
    public func peersWithHeight(_ h: Int64) -> [PeerID] {
        peers.filter { $0.value.state == .ready && $0.value.base <= h && h <= $0.value.height }.map(\.key).sorted(by: idOrder)
    }

    /// H8: in ID order.
    public func prunablePeers(timeout: Nanoseconds, minRecvRate: Int64, now: Nanoseconds) -> [PeerID] {
        peers.filter { _, p in
            p.state == .ready && (elapsed(since: p.lastTouched, to: now) > Int64(timeout) || p.lastRate < minRecvRate)
        }.map(\.key).sorted(by: idOrder)
    }

    /// H9: nil on success, else the error text (the original's argument order in the clock
    /// error: requested time after "received at").
    public mutating func markReceived(_ peer: PeerID, height h: Int64, size: Int64, now: Nanoseconds) -> String? {
        guard state(at: h) == .pending, pendingBlocks[h] == peer else {
            return "received block \(h) from peer \(peer) without being requested"
        }
        guard let requested = pendingTime[h], elapsed(since: requested, to: now) > 0 else {
            return "clock error: block \(h) received at \(pendingTime[h].map { "\($0)" } ?? "0") but requested at \(now)"
        }
        let rate = size / elapsed(since: requested, to: now)
        peers[peer]?.lastRate = rate
        blockStates[h] = .received
        pendingBlocks[h] = nil
        pendingTime[h] = nil
        receivedBlocks[h] = peer
        return nil
    }

    /// H10: nil on success, else the error text.
    public mutating func markPending(_ peer: PeerID, height h: Int64, time: Nanoseconds) -> String? {
        let s = state(at: h)
        guard s == .new else { return "block \(h) should be in blockStateNew but is \(s.rawValue)" }
        guard let p = peers[peer] else { return "cannot find peer \(peer)" }
        guard p.state == .ready else { return "cannot schedule \(h) from \(peer) in \(p.state.rawValue)" }
        guard h <= p.height else { return "cannot request height \(h) from peer \(peer) that is at height \(p.height)" }
        guard h >= p.base else { return "cannot request height \(h) for peer \(peer) with base \(p.base)" }
        blockStates[h] = .pending
        pendingBlocks[h] = peer
        pendingTime[h] = time
        return nil
    }

    /// H11: no state check (since #5530), never fails.
    public mutating func markProcessed(_ h: Int64, now: Nanoseconds) {
        lastAdvance = now
        height = h &+ 1
        pendingBlocks[h] = nil
        pendingTime[h] = nil
        receivedBlocks[h] = nil
        blockStates[h] = nil
        addNewBlocks()
    }

    /// H12.
    public func maxHeight() -> Int64 {
        peers.values.filter { $0.state == .ready }.map(\.height).reduce(height &- 1, max)
    }

    /// H13: tombstones and New peers count as entries of the map.
    public func allBlocksProcessed() -> Bool {
        guard !peers.isEmpty else { return false }
        return height >= maxHeight()
    }

    /// H14: the smallest New height, else −1.
    public func nextHeightToSchedule() -> Int64 {
        blockStates.filter { $0.value == .new }.map(\.key).min() ?? -1
    }

    /// H15: heights Pending with the peer (Received ones do not count).
    public func pendingFrom(_ peer: PeerID) -> [Int64] {
        pendingBlocks.filter { $0.value == peer && state(at: $0.key) == .pending }.map(\.key).sorted()
    }

    public struct SelectionError: Error, Equatable {
        public var message: String
        public init(message: String) { self.message = message }
    }

    /// H16: fewest pending requests, ties to the lowest ID.
    public func selectPeer(height h: Int64) -> Result<PeerID, SelectionError> {
        let candidates = peersWithHeight(h)
        guard !candidates.isEmpty else { return .failure(SelectionError(message: "cannot find peer for height \(h)")) }
        let counts = candidates.map { ($0, pendingFrom($0).count) }
        let fewest = counts.map(\.1).min()!
        return .success(counts.first { $0.1 == fewest }!.0)
    }

    /// `now − t` in ns, saturating (DET-7): a zero time (nil) is infinitely old.
    private func elapsed(since t: Nanoseconds?, to now: Nanoseconds) -> Int64 {
        guard let t else { return .max }
        return Int64(clamping: now) &- Int64(clamping: t)
    }
}
