import CometWire
import SyncMachine

/// A simulated remote node for `LoopbackPeers`: it serves blocks from a `Chain` (honest or
/// byzantine) after a fixed latency, answers status requests, and can be told to stay silent,
/// to refuse or lose requests, to serve over a slow link, or to attach extended commits.
public struct LoopbackPeer: Sendable {
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
    /// Heights whose block it serves altered after signing (`PeerTricks.tamperedAfterSigning`).
    public var tamperedAfterSigning: Set<Int64> = []
    /// Heights whose first request it silently ignores (`LoseOnce`); later requests are served.
    public var dropOnce: Set<Int64> = []
    /// A slow link (`SerialLink`): answers to BlockRequests leave one after another, each
    /// occupying the link for this long (0: all at once), then travel `latency`.
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

/// In-process peers as the driver's peer source: the reactor tests and `syncreplay bench
/// reactor`. Each peer's connection is FIFO (one blocksync channel): a message never overtakes
/// an earlier one. Messages go to the machine decoded, with their wire size computed from the
/// block's encoded size (no re-encoding per message).
public struct LoopbackPeers: PeerSource {
    public enum Event: Sendable {
        case message(BlocksyncMessage, from: Int, wireSize: Int)
    }

    public private(set) var peers: [LoopbackPeer] = []
    /// Every effect with the virtual time it happened at (when `recordsLog`).
    public private(set) var log: [(time: Nanoseconds, effect: MachineEffect)] = []
    /// Record effects in `log` (off in the bench, to measure the machine only).
    public var recordsLog = true
    private var links: [SerialLink] = []
    private var lost: [LoseOnce] = []
    /// When each peer's latest message arrives (FIFO).
    private var lastArrival: [Nanoseconds] = []
    private var sizes: [Int64: Int] = [:]

    public init() {}

    /// Adds `peer`; the driver then connects it.
    mutating func add(_ peer: LoopbackPeer) {
        peers.append(peer)
        links.append(SerialLink())
        lost.append(LoseOnce())
        lastArrival.append(0)
    }

    /// Peer `id` reports a new range (e.g. a lie, then a lower height).
    mutating func report(_ id: PeerID, base: Int64, height: Int64, at now: Nanoseconds) -> [PeerStep<Event>] {
        guard let i = peers.firstIndex(where: { $0.id == id }) else { return [] }
        peers[i].base = base
        peers[i].height = height
        return [.schedule(status(from: i, at: now))]
    }

    /// Peer `i`'s StatusResponse, sent now.
    mutating func status(from i: Int, at now: Nanoseconds) -> Scheduled<Event> {
        mark(sendable(.statusResponse(height: peers[i].height, base: peers[i].base), from: i, departure: now), from: i)
    }

    public mutating func happen(_ event: Event, cause: EffectCause, at now: Nanoseconds, connected: Set<PeerID>) -> [PeerStep<Event>] {
        switch event {
        case .message(let message, let i, let size): return [.receive(message, from: peers[i].id, wireSize: size)]
        }
    }

    public mutating func observe(_ effect: MachineEffect, cause: EffectCause, at now: Nanoseconds) {
        if recordsLog { log.append((now, effect)) }
    }

    public mutating func send(_ message: BlocksyncMessage, to peer: PeerID, connected: Bool, cause: EffectCause, at now: Nanoseconds) -> [Scheduled<Event>] {
        guard connected, let i = peers.firstIndex(where: { $0.id == peer }) else { return [] }
        switch message {
        case .blockRequest(let h): return answer(h, peer: i, at: now).map { [$0] } ?? []
        case .statusRequest: return [status(from: i, at: now)]
        default: return []
        }
    }

    /// A peer's `respondToPeer`.
    private mutating func answer(_ h: Int64, peer i: Int, at now: Nanoseconds) -> Scheduled<Event>? {
        let peer = peers[i]
        if peer.silent { return nil }
        if lost[i].loses(h, listed: peer.dropOnce.contains(h)) { return nil }
        var departure = now
        if peer.serviceTime > 0 { departure = links[i].departure(at: now, serviceTime: peer.serviceTime) }
        if peer.refuseOnce.contains(h) {
            peers[i].refuseOnce.remove(h)
            return mark(sendable(.noBlockResponse(height: h), from: i, departure: departure), from: i)
        }
        guard h >= peer.base, h <= peer.height, let block = peer.chain.block(at: h) else {
            return mark(sendable(.noBlockResponse(height: h), from: i, departure: departure), from: i)
        }
        guard peer.tamperedAfterSigning.contains(h) else {
            let message = BlocksyncMessage.blockResponse(block: block, extCommit: peer.extendedCommits[h])
            return mark(sendable(message, from: i, departure: departure, size: wireSize(message, cached: true)), from: i)
        }
        let message = BlocksyncMessage.blockResponse(block: PeerTricks.tamperedAfterSigning(block), extCommit: peer.extendedCommits[h])
        return mark(sendable(message, from: i, departure: departure, size: wireSize(message, cached: false)), from: i)
    }

    /// The message leaving peer `i` at `departure`, arriving after its latency but never before
    /// the message sent ahead of it.
    private func sendable(_ message: BlocksyncMessage, from i: Int, departure: Nanoseconds, size: Int? = nil) -> Scheduled<Event> {
        let at = max(departure &+ peers[i].latency, lastArrival[i])
        return Scheduled(.message(message, from: i, wireSize: size ?? message.encode().count), at: at)
    }

    private mutating func mark(_ item: Scheduled<Event>, from i: Int) -> Scheduled<Event> {
        lastArrival[i] = item.time
        return item
    }

    /// Block + BlockResponse + Message framing (tag and length varint at each level) around the
    /// block's encoded size, cached per height for the chain's own blocks.
    private mutating func wireSize(_ message: BlocksyncMessage, cached: Bool) -> Int {
        guard case .blockResponse(let block, nil) = message else { return message.encode().count }
        let blockSize = (cached ? sizes[block.header.height] : nil) ?? block.encodedSize
        if cached { sizes[block.header.height] = blockSize }
        let inner = 1 + Self.varintSize(blockSize) + blockSize
        return 1 + Self.varintSize(inner) + inner
    }

    private static func varintSize(_ n: Int) -> Int {
        var v = UInt64(n), count = 1
        while v >= 0x80 { v >>= 7; count += 1 }
        return count
    }
}

/// A machine syncing from loopback peers through the driver, with the invariant checker on
/// (`CheckedMachine`): what the reactor tests and `bench reactor` run.
public struct LoopbackRun<Machine: BlockSyncMachine> {
    public private(set) var driver: Driver<LoopbackPeers>
    /// Why the last run stopped early (an invariant violation, a stalled clock).
    public private(set) var failure: DriverError?

    public init(machine: Machine) {
        driver = Driver(machine: CheckedMachine(machine), source: LoopbackPeers())
    }

    /// The machine as it stands.
    public var machine: Machine { (driver.machine as! CheckedMachine<Machine>).base }
    /// Invariants the machine broke so far (each names its step).
    public var violations: [InvariantViolation] { driver.machine?.invariantViolations ?? [] }
    public var log: [(time: Nanoseconds, effect: MachineEffect)] { driver.source.log }
    /// Machine steps so far (the "virtual events" of the bench).
    public var inputCount: Int { driver.steps }
    public var now: Nanoseconds { driver.now }
    public var peers: [LoopbackPeer] { driver.source.peers }
    public var recordsLog: Bool {
        get { driver.source.recordsLog }
        set { driver.source.recordsLog = newValue }
    }

    /// Connects `peer` at `time`: the machine learns of it, and the peer sends its own
    /// StatusResponse (as a node's `AddPeer` does).
    public mutating func connect(_ peer: LoopbackPeer, at time: Nanoseconds) {
        driver.wait(until: time)
        driver.source.add(peer)
        attempt { try $0.perform([.connect(peer.id)], cause: .event(0)) }
        let status = driver.source.status(from: driver.source.peers.count - 1, at: driver.now)
        driver.schedule(status)
    }

    /// The peer reports a new status (e.g. a lie, then a lower height).
    public mutating func report(_ id: PeerID, base: Int64, height: Int64) {
        let steps = driver.source.report(id, base: base, height: height, at: driver.now)
        attempt { try $0.perform(steps, cause: .event(0)) }
    }

    /// The connection to `id` drops at `time`.
    public mutating func drop(_ id: PeerID, at time: Nanoseconds) {
        driver.wait(until: time)
        attempt { try $0.perform([.hangUp(id, reason: "connection closed")], cause: .event(0)) }
    }

    /// Runs until `end` (virtual) or until the machine switches to consensus; when it has not
    /// switched, the machine's clock then stands at `end`.
    public mutating func run(until end: Nanoseconds) {
        attempt { try $0.run(until: .at(end)) }
        if failure == nil, driver.switchedAt == nil, end > driver.now { attempt { try $0.advance(to: end) } }
    }

    private mutating func attempt(_ body: (inout Driver<LoopbackPeers>) throws -> Void) {
        guard failure == nil else { return }
        do { try body(&driver) } catch let error as DriverError { failure = error } catch { preconditionFailure("\(error)") }
    }
}
