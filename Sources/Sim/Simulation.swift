import CometWire
import SyncMachine
import SyncTrace

/// What a simulation did.
public struct SimulationSummary: Sendable, Equatable {
    public var events: Int
    public var blocksApplied: Int
    public var switchedAt: Int64?
    public var endTime: UInt64
}

/// The simulation could not run (exit 2 for scenario problems, 3 otherwise).
public enum SimulationError: Error, Equatable, Sendable, CustomStringConvertible {
    case noReactor
    case machine(String)
    case trace(String)
    /// The machine broke an invariant (`InvariantChecker`), at the step it names.
    case invariant(String)

    public var description: String {
        switch self {
        case .noReactor: return "this build has no BlockSync reactor to drive the scenario's peers against"
        case .machine(let why): return "cannot start the reactor: \(why)"
        case .trace(let why): return "cannot write the trace: \(why)"
        case .invariant(let why): return "the machine broke an invariant: \(why)"
        }
    }
}

/// Drives a scenario's scripted peers against a block-sync machine on a virtual clock and
/// records the conversation at the node, both directions, as real wire bytes (issue 7).
///
/// **Order** (the replayer's, DESIGN.md §3, so strict replay reproduces the run): the next
/// thing to happen is the one with the smallest virtual time; at equal times scripted arrivals
/// come first, in the order they were scheduled, then the machine's timers. Peers answer after
/// their latency (≥ 1 µs), so an answer never ties with the send that caused it.
///
/// **What is recorded**: the `/node` record, every message reaching the node (`inbound`) and
/// every message it sends (`outbound`), peer connections and the disconnects the *peers*
/// initiate, and `/pivot` fork events. The node's own disconnects are decisions the replayer
/// reproduces from the reactor, so they are not recorded (a recorded one would make reactive
/// replay's ghost peers leave at that time under every profile). No wall clock, no randomness:
/// the same scenario gives the same bytes.
public struct Simulation {
    public let scenario: Scenario
    /// The implementations the scenario's profile may name.
    public let machines: MachineRegistry?

    public init(scenario: Scenario, machines: MachineRegistry?) {
        self.scenario = scenario
        self.machines = machines
    }

    /// The `/node` record for the scenario (genesis validator set, store at start).
    public static func nodeRecord(_ s: Scenario, chain: Chain, builder: ChainBuilder) -> NodeRecord {
        let store = s.node.storeHeight
        return NodeRecord(
            chainID: s.chain.chainID, initialHeight: chain.initialHeight, storeBase: store > 0 ? chain.initialHeight : 0,
            storeHeight: store, nodeID: s.node.id,
            validators: builder.validatorSet.validators.map { ValidatorRecord(pubKey: $0.pubKey.bytes, power: $0.votingPower) },
            appHash: store > 0 ? chain.appHashes[Int(store - chain.initialHeight)] : [],
            startBlock: store > 0 ? chain.block(at: store)!.encoded() : [],
            genesisTime: TraceTimestamp(seconds: builder.configuration.genesisTime.seconds, nanos: builder.configuration.genesisTime.nanos),
            captureMethod: "syncsim", profileHint: s.node.profile,
            localValidatorAddress: s.node.validator.map { builder.validatorSet.validators[$0].address } ?? [])
    }

    /// Where the node starts: what the replayer builds from the same `/node` record
    /// (`NodeStart(record:…)`, the simulator's application, the clock at 0), so strict replay
    /// reproduces the run.
    static func nodeStart(_ n: NodeRecord) throws(MachineStartError) -> NodeStart {
        let record = NodeStart.Record(
            chainID: n.chainID, initialHeight: n.initialHeight, storeBase: n.storeBase, storeHeight: n.storeHeight,
            validators: ValidatorSet(sorting: n.validators.map { Validator(ed25519: $0.pubKey, votingPower: $0.power) }),
            appHash: n.appHash, startBlock: n.startBlock,
            genesisTime: Timestamp(seconds: n.genesisTime.seconds, nanos: n.genesisTime.nanos),
            localValidatorAddress: n.localValidatorAddress)
        return try NodeStart(record: record, application: .transactionCounter, startTime: 0)
    }

    /// Runs the scenario, writing the trace to `path`.
    public func run(to path: String) throws -> SimulationSummary {
        let s = scenario
        let builder = ChainBuilder(s.chain.configuration)
        let chain = builder.build()
        let node = Simulation.nodeRecord(s, chain: chain, builder: builder)
        let pivot = try s.pivot.map { p throws(ScenarioError) in try PivotScript(p) }

        var machine: (any BlockSyncMachine)?
        if !s.peers.isEmpty {
            guard let machines, !machines.implementations.isEmpty else { throw SimulationError.noReactor }
            do {
                // Every simulator run checks the invariants after every step.
                machine = try machines.makeMachine(profile: ProfileName(s.node.profile), start: try Simulation.nodeStart(node)).checked()
            } catch {
                throw SimulationError.machine(String(describing: error))
            }
        }

        var metadata = ["generator": "syncsim", "scenario": s.name]
        if let pivot { metadata[TraceAttachmentName.pivotHintChecksumKey] = pivot.checksum.hex }
        let writer: TraceWriter
        do { writer = try TraceWriter(path: path, metadata: metadata) } catch { throw SimulationError.trace("\(path): \(error)") }
        var run = SimRun(scenario: s, builder: builder, honest: chain, writer: writer, machine: machine, pivot: pivot)
        try run.record(.node(node))
        if let pivot {
            try writer.attach(name: TraceAttachmentName.pivotHint, mediaType: TraceAttachmentName.pivotHintMediaType, data: pivot.file)
        }
        try run.execute()
        try run.recordEnd()
        try writer.finish()
        return SimulationSummary(events: writer.eventCount, blocksApplied: run.applied, switchedAt: run.switchedAt, endTime: run.now)
    }
}

/// Something scheduled on the virtual clock.
enum Arrival {
    case connect(peer: Int)
    case hangUp(peer: Int)
    /// A message reaching the node from `peer`, sent during connection `epoch` (dropped if the
    /// connection it belonged to is gone).
    case message(peer: Int, epoch: Int, bytes: [UInt8])
    /// A scripted action of a connected peer (status push, unsolicited block, request…).
    case scripted(peer: Int, action: ScriptedAction)
    case pivot(PivotEventSpec)
}

enum ScriptedAction {
    case status(base: Int64, height: Int64)
    case unsolicited(height: Int64)
    case ask(height: Int64)
    case statusRequest
}

/// A scripted peer's live state.
struct PeerState {
    let spec: PeerSpec
    let chain: Chain
    /// Block `height` replaced after signing (`wrong_hash`).
    let tampered: Int64?
    var connected = false
    var epoch = 0
    /// `drop_once` heights whose first request was already lost.
    var dropped: Set<Int64> = []
    /// When the serial link (`service_time`) is free again.
    var linkFree: UInt64 = 0
}

struct SimRun {
    let scenario: Scenario
    let writer: TraceWriter
    var machine: (any BlockSyncMachine)?
    let pivot: PivotScript?
    var peers: [PeerState]
    var queue: [(time: UInt64, order: Int, arrival: Arrival)] = []
    var order = 0
    var now: UInt64 = 0
    var applied = 0
    var switchedAt: Int64?

    init(scenario: Scenario, builder: ChainBuilder, honest: Chain, writer: TraceWriter, machine: (any BlockSyncMachine)?, pivot: PivotScript?) {
        self.scenario = scenario
        self.writer = writer
        self.machine = machine
        self.pivot = pivot
        var variants: [ChainBuilder.Variant: Chain] = [.valid: honest]
        peers = scenario.peers.map { spec in
            var variant = ChainBuilder.Variant.valid
            var tampered: Int64?
            if let bad = spec.badBlock {
                switch bad.kind {
                case .badSignature: variant = .badSignature(height: bad.height, validator: 0)
                case .wrongHash: tampered = bad.height
                case .forgedLastCommit: variant = .insufficientPower(height: bad.height)
                case .minorityFork: variant = .forkedByMinority(height: bad.height)
                case .wrongLastBlockID: variant = .wrongLastBlockID(height: bad.height)
                case .wrongAppHash: variant = .wrongAppHash(height: bad.height)
                }
            }
            if variants[variant] == nil { variants[variant] = builder.build(variant) }
            return PeerState(spec: spec, chain: variants[variant]!, tampered: tampered)
        }
    }

    mutating func schedule(_ time: UInt64, _ arrival: Arrival) {
        let entry = (time: time, order: order, arrival: arrival)
        order += 1
        // Keep (time, order) order: insert after everything due no later.
        var lo = 0, hi = queue.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if queue[mid].time <= time { lo = mid + 1 } else { hi = mid }
        }
        queue.insert(entry, at: lo)
    }

    mutating func record(_ event: TraceEvent) throws {
        try writer.append(event, logTime: now)
    }

    /// The recording ends when the node switched to consensus, else at the scenario's
    /// duration: a `/capture` end marker says so, so replay covers the quiet time after the last
    /// event (e.g. a 60 s no-progress timeout) exactly as far as the recording did.
    mutating func recordEnd() throws {
        let detail: String
        if let h = switchedAt {
            detail = "syncsim: the node switched to consensus at height \(h)"
        } else {
            now = max(now, scenario.node.duration)
            detail = "syncsim: the scenario's duration ended"
        }
        try record(.capture(CaptureRecord(kind: .end, detail: detail)))
    }

    mutating func execute() throws {
        for (i, p) in peers.enumerated() {
            schedule(p.spec.connectAt, .connect(peer: i))
            for point in p.spec.status.dropFirst() where point.send {
                schedule(point.at, .scripted(peer: i, action: .status(base: point.base, height: point.height)))
            }
            for u in p.spec.unsolicited { schedule(u.at, .scripted(peer: i, action: .unsolicited(height: u.height))) }
            for a in p.spec.asks { schedule(a.at, .scripted(peer: i, action: .ask(height: a.height))) }
            for t in p.spec.statusRequests { schedule(t, .scripted(peer: i, action: .statusRequest)) }
            if let d = p.spec.disconnectAt { schedule(d, .hangUp(peer: i)) }
            if let r = p.spec.reconnectAt { schedule(r, .connect(peer: i)) }
        }
        if let pivot { for e in pivot.spec.events { schedule(e.at, .pivot(e)) } }

        let horizon = scenario.node.duration
        while switchedAt == nil {
            let ta = queue.first?.time
            let td = machine?.nextTimerName?.deadline
            if let ta, ta <= (td ?? .max) {
                guard ta <= horizon else { break }
                let item = queue.removeFirst()
                now = max(now, item.time)
                try handle(item.arrival)
            } else if let td {
                guard td <= horizon else { break }
                now = max(now, td)
                try apply(machine!.fireNamedTimers().map(\.effect))
            } else {
                break
            }
        }
    }

    mutating func handle(_ arrival: Arrival) throws {
        switch arrival {
        case .connect(let i):
            guard !peers[i].connected else { return }
            peers[i].connected = true
            peers[i].epoch += 1
            try record(.p2p(PeerRecord(peerID: peers[i].spec.id, address: "\(peers[i].spec.id).syncsim:26656", outbound: true, kind: .connected)))
            if machine != nil { try apply(machine!.handle(.peerAdded(peers[i].spec.id, at: now))) }
            // AddPeer: each side sends its StatusResponse (specs/cometbft-blocksync.md §3.1).
            let r = peers[i].spec.range(at: now)
            reply(i, .statusResponse(height: r.height, base: r.base), delay: peers[i].spec.latency)
        case .hangUp(let i):
            guard peers[i].connected else { return }
            peers[i].connected = false
            let reason = "peer closed the connection"
            try record(.p2p(PeerRecord(peerID: peers[i].spec.id, address: "\(peers[i].spec.id).syncsim:26656", outbound: true,
                                       kind: .disconnected, reason: reason)))
            if machine != nil { try apply(machine!.handle(.peerRemoved(peers[i].spec.id, reason: reason, at: now))) }
        case .message(let i, let epoch, let bytes):
            guard peers[i].connected, peers[i].epoch == epoch else { return }
            try deliver(i, bytes)
        case .scripted(let i, let action):
            guard peers[i].connected else { return }
            switch action {
            case .status(let base, let height): try deliver(i, BlocksyncMessage.statusResponse(height: height, base: base).encode())
            case .unsolicited(let h): if let b = blockBytes(i, h) { try deliver(i, b) }
            case .ask(let h): try deliver(i, BlocksyncMessage.blockRequest(height: h).encode())
            case .statusRequest: try deliver(i, BlocksyncMessage.statusRequest.encode())
            }
        case .pivot(let e):
            try record(.pivot(pivot!.record(e)))
        }
    }

    /// Records an inbound message and hands it to the machine (undecodable bytes never occur:
    /// the peers only send what `BlocksyncMessage.encode()` produced).
    mutating func deliver(_ i: Int, _ bytes: [UInt8]) throws {
        let id = peers[i].spec.id
        try record(.blocksync(BlocksyncRecord(peerID: id, direction: .inbound, message: bytes)))
        guard machine != nil, let message = try? BlocksyncMessage.decode(bytes) else { return }
        try apply(machine!.handle(.received(message, from: id, wireSize: bytes.count, at: now)))
    }

    mutating func reply(_ i: Int, _ message: BlocksyncMessage, delay: UInt64) {
        reply(i, bytes: message.encode(), delay: delay)
    }

    mutating func reply(_ i: Int, bytes: [UInt8], delay: UInt64) {
        schedule(now &+ delay, .message(peer: i, epoch: peers[i].epoch, bytes: bytes))
    }

    /// The block response peer `i` serves for `h` (its chain, tampered as scripted).
    func blockBytes(_ i: Int, _ h: Int64) -> [UInt8]? {
        guard var block = peers[i].chain.block(at: h) else { return nil }
        if peers[i].tampered == h {
            // Changed after signing: the committed block ID no longer matches this block.
            block.header.appHash = Array(repeating: 0xAB, count: 32)
        }
        return BlocksyncMessage.blockResponse(block: block, extCommit: nil).encode()
    }

    /// A scripted peer's answer to what the node sent it.
    mutating func peerReceives(_ i: Int, _ message: BlocksyncMessage) {
        let spec = peers[i].spec
        switch message {
        case .statusRequest:
            let r = spec.range(at: now)
            reply(i, .statusResponse(height: r.height, base: r.base), delay: spec.latency)
        case .blockRequest(let h):
            if spec.silent.contains(h) { return }
            if spec.dropOnce.contains(h) && peers[i].dropped.insert(h).inserted { return }
            let r = spec.range(at: now)
            guard !spec.noBlock.contains(h), h >= r.base, h <= r.height, let bytes = blockBytes(i, h) else {
                reply(i, .noBlockResponse(height: h), delay: spec.latency)
                return
            }
            var delay = spec.latency &+ spec.slow
            if spec.serviceTime > 0 {
                // Serial link: this answer leaves when the previous one is through.
                let departure = max(now, peers[i].linkFree) &+ spec.serviceTime
                peers[i].linkFree = departure
                delay &+= departure &- now
            }
            reply(i, bytes: bytes, delay: delay)
            if spec.duplicate.contains(h) { reply(i, bytes: bytes, delay: delay) }
        default:
            break
        }
    }

    /// Records the machine's effects; sends reach the scripted peers, disconnects are fed back
    /// to the machine as the switch does (`StopPeerForError` → `RemovePeer`), as the replayer does.
    mutating func apply(_ effects: [MachineEffect]) throws {
        if let violation = machine?.invariantViolations.first { throw SimulationError.invariant(violation.description) }
        var queue = effects[...]
        while let effect = queue.popFirst() {
            switch effect {
            case .send(let message, let peer):
                try record(.blocksync(BlocksyncRecord(peerID: peer, direction: .outbound, message: message.encode())))
                if let i = peers.firstIndex(where: { $0.spec.id == peer }), peers[i].connected { peerReceives(i, message) }
            case .broadcastStatusRequest:
                for i in peers.indices.sorted(by: { peers[$0].spec.id < peers[$1].spec.id }) where peers[i].connected {
                    try record(.blocksync(BlocksyncRecord(peerID: peers[i].spec.id, direction: .outbound,
                                                          message: BlocksyncMessage.statusRequest.encode())))
                    peerReceives(i, .statusRequest)
                }
            case .disconnect(let peer, let reason):
                if let i = peers.firstIndex(where: { $0.spec.id == peer }), peers[i].connected {
                    peers[i].connected = false
                    if machine != nil { queue.append(contentsOf: machine!.handle(.peerRemoved(peer, reason: reason, at: now))) }
                }
            case .removeFromPool, .ban, .verifyFailed:
                break
            case .blockApplied:
                applied += 1
            case .switchToConsensus(let h, _):
                switchedAt = h
                return
            case .reactorPanic:
                return
            }
        }
    }
}
