import CometWire
import DequeModule
import SyncMachine

/// A deterministic in-process driver for `Reactor`: simulated peers that serve blocks from a
/// `Chain` (honest or byzantine) after a fixed latency, answer status requests, and can be
/// scripted to stay silent, to refuse or lose requests, to serve over a slow link, or to attach
/// extended commits. It owns virtual time the way the replayer does (inbound deliveries at time t
/// before the reactor's timers due at t; equal-time deliveries in send order). Each peer's
/// connection is FIFO (one blocksync channel): a message never overtakes an earlier one. Used by
/// the reactor tests and `syncreplay bench reactor`.
public struct LoopbackNetwork: Sendable {
    /// A simulated remote node.
    public struct Peer: Sendable {
        public var id: PeerID
        /// The blocks it serves (heights `chain.initialHeight…`).
        public var chain: Chain
        public var base: Int64
        /// The height it reports in StatusResponses.
        public var height: Int64
        /// Delay of every message it sends.
        public var latency: Nanoseconds
        /// Never answers block requests.
        public var silent = false
        /// Heights it answers once with NoBlockResponse before serving them.
        public var refuseOnce: Set<Int64> = []
        /// Heights whose block it serves with the header's app hash altered after signing (the
        /// committed block ID no longer matches it; syncsim's `wrong_hash`).
        public var tamperedAfterSigning: Set<Int64> = []
        /// Heights whose first request it silently ignores (a request lost on the way, e.g. a
        /// `TrySend` dropped on a full queue, tm #9518); later requests are served.
        public var dropOnce: Set<Int64> = []
        /// A slow link: answers to BlockRequests leave one after another, each occupying the
        /// link for this long (0: all at once), then travel `latency`.
        public var serviceTime: Nanoseconds = 0
        /// Extended commits it attaches to its BlockResponses, by height (a cometbft v0.38 peer
        /// with vote extensions enabled); heights without one get a BlockResponse without
        /// `ext_commit`.
        public var extendedCommits: [Int64: ExtendedCommit] = [:]

        public init(id: PeerID, chain: Chain, base: Int64? = nil, height: Int64? = nil, latency: Nanoseconds) {
            self.id = id
            self.chain = chain
            self.base = base ?? chain.initialHeight
            self.height = height ?? chain.height
            self.latency = latency
        }
    }

    private struct Delivery: Sendable {
        var at: Nanoseconds
        var sequence: Int
        var message: BlocksyncMessage
        var size: Int
    }

    public private(set) var reactor: Reactor
    public private(set) var peers: [Peer] = []
    /// Peers that were disconnected by the reactor or the script.
    public private(set) var disconnected: Set<PeerID> = []
    /// Every effect with the virtual time it happened at.
    public private(set) var log: [(time: Nanoseconds, effect: MachineEffect)] = []
    /// Inputs handed to the reactor so far (the "virtual events" of the bench).
    public private(set) var inputCount = 0
    private var queues: [Deque<Delivery>] = []
    /// When each peer's slow link is free again (`Peer.serviceTime`).
    private var linkFree: [Nanoseconds] = []
    private var sequence = 0
    private var sizes: [Int64: Int] = [:]
    /// Record effects in `log` (off in the bench to measure the reactor only).
    public var recordsLog = true
    /// Fed every input and its effects (`InvariantChecker`); the tests expect no violations.
    public private(set) var checker: InvariantChecker

    public init(reactor: Reactor) {
        self.reactor = reactor
        checker = InvariantChecker(view: reactor.invariantView)
    }

    /// Invariants the reactor broke so far (each names its step).
    public var violations: [InvariantViolation] { checker.violations }

    public var now: Nanoseconds { reactor.now }

    /// Connects `peer` at `time`: the reactor learns of it, and the peer sends its own
    /// StatusResponse (as a node's `AddPeer` does).
    public mutating func connect(_ peer: Peer, at time: Nanoseconds) {
        peers.append(peer)
        queues.append([])
        linkFree.append(0)
        feed(.peerAdded(peer.id, at: time))
        enqueue(.statusResponse(height: peer.height, base: peer.base), from: peers.count - 1)
    }

    /// The peer reports a new status (e.g. a lie, then a lower height).
    public mutating func report(_ id: PeerID, base: Int64, height: Int64) {
        guard let i = peers.firstIndex(where: { $0.id == id }) else { return }
        peers[i].base = base
        peers[i].height = height
        enqueue(.statusResponse(height: height, base: base), from: i)
    }

    /// The connection to `id` drops at `time`.
    public mutating func drop(_ id: PeerID, at time: Nanoseconds) {
        guard let i = peers.firstIndex(where: { $0.id == id }), !disconnected.contains(id) else { return }
        disconnected.insert(id)
        queues[i].removeAll()
        feed(.peerRemoved(id, reason: "connection closed", at: time))
    }

    /// Runs until `end` (virtual) or until `stop` holds after an input.
    public mutating func run(until end: Nanoseconds, stop: (LoopbackNetwork) -> Bool = { _ in false }) {
        while !stop(self) {
            var best: Int?
            for i in queues.indices {
                guard let head = queues[i].first else { continue }
                if let b = best, let other = queues[b].first,
                   (other.at, other.sequence) <= (head.at, head.sequence) { continue }
                best = i
            }
            let deliveryAt = best.flatMap { queues[$0].first?.at }
            let deadline = reactor.nextDeadline
            if let i = best, let at = deliveryAt, at <= end, deadline.map({ at <= $0 }) ?? true {
                let delivery = queues[i].removeFirst()
                feed(.received(delivery.message, from: peers[i].id, wireSize: delivery.size, at: delivery.at))
            } else if let t = deadline, t <= end {
                feed(.timeAdvanced(to: t))
            } else {
                if end > reactor.now { feed(.timeAdvanced(to: end)) }
                return
            }
        }
    }

    private mutating func feed(_ input: MachineInput) {
        inputCount += 1
        checker.willHandle(input)
        let effects = reactor.handle(input)
        checker.did(effects, view: reactor.invariantView)
        for effect in effects { perform(effect) }
    }

    private mutating func perform(_ effect: MachineEffect) {
        if recordsLog { log.append((reactor.now, effect)) }
        switch effect {
        case .send(let message, let id):
            guard let i = peers.firstIndex(where: { $0.id == id }), !disconnected.contains(id) else { return }
            if case .blockRequest(let h) = message { answer(h, peer: i) }
        case .broadcastStatusRequest:
            for i in peers.indices where !disconnected.contains(peers[i].id) {
                enqueue(.statusResponse(height: peers[i].height, base: peers[i].base), from: i)
            }
        case .disconnect(let id, _):
            if let i = peers.firstIndex(where: { $0.id == id }) {
                disconnected.insert(id)
                queues[i].removeAll()
            }
        case .removeFromPool, .ban, .blockApplied, .verifyFailed, .switchToConsensus, .reactorPanic:
            break
        }
    }

    /// A peer's `respondToPeer`.
    private mutating func answer(_ h: Int64, peer i: Int) {
        let peer = peers[i]
        if peer.silent { return }
        if peers[i].dropOnce.remove(h) != nil { return }
        var departure = reactor.now
        if peer.serviceTime > 0 {
            departure = max(departure, linkFree[i]) &+ peer.serviceTime
            linkFree[i] = departure
        }
        if peer.refuseOnce.contains(h) {
            peers[i].refuseOnce.remove(h)
            enqueue(.noBlockResponse(height: h), from: i, departure: departure)
            return
        }
        guard h >= peer.base, h <= peer.height, let block = peer.chain.block(at: h) else {
            enqueue(.noBlockResponse(height: h), from: i, departure: departure)
            return
        }
        guard peer.tamperedAfterSigning.contains(h) else {
            enqueue(.blockResponse(block: block, extCommit: peer.extendedCommits[h]), from: i, departure: departure)
            return
        }
        var tampered = block
        tampered.header.appHash = Array(repeating: 0xAB, count: 32)
        enqueue(.blockResponse(block: tampered, extCommit: peer.extendedCommits[h]), from: i, departure: departure, sizeCached: false)
    }

    private static func varintSize(_ n: Int) -> Int {
        var v = UInt64(n), count = 1
        while v >= 0x80 { v >>= 7; count += 1 }
        return count
    }

    /// `sizeCached: false` for a block that differs from the chain's copy of its height.
    private mutating func enqueue(_ message: BlocksyncMessage, from i: Int, departure: Nanoseconds? = nil, sizeCached: Bool = true) {
        sequence += 1
        // FIFO connection: never before the message queued ahead of it.
        let at = max((departure ?? reactor.now) &+ peers[i].latency, queues[i].last?.at ?? 0)
        let size: Int
        if case .blockResponse(let block, nil) = message {
            // Block + BlockResponse + Message framing: tag and length varint at each level.
            let blockSize = (sizeCached ? sizes[block.header.height] : nil) ?? block.encodedSize
            if sizeCached { sizes[block.header.height] = blockSize }
            let inner = 1 + Self.varintSize(blockSize) + blockSize
            size = 1 + Self.varintSize(inner) + inner
        } else {
            size = message.encode().count
        }
        queues[i].append(Delivery(at: at, sequence: sequence, message: message, size: size))
    }
}
