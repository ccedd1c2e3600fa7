import CometWire
import SyncDriver
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
            localValidatorAddress: s.node.validator.map { builder.validatorSet.validators[$0].address } ?? [],
            voteExtensionsEnableHeight: s.chain.voteExtensionsEnableHeight,
            stateSync: s.node.stateSync.map { h in
                // What the light client verified: block h, and the results after it (block h+1's header).
                StateSyncRecord(at: h.at, block: chain.block(at: h.height)!.encoded(),
                                appHash: chain.appHashes[Int(h.height - chain.initialHeight)],
                                lastResultsHash: chain.block(at: h.height + 1)!.header.lastResultsHash)
            })
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
            localValidatorAddress: n.localValidatorAddress,
            voteExtensionsEnableHeight: n.voteExtensionsEnableHeight, blockMaxBytes: n.blockMaxBytes,
            stateSync: n.stateSync.map { NodeStart.Record.StateSync(at: $0.at, block: $0.block, appHash: $0.appHash, lastResultsHash: $0.lastResultsHash) })
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
                var start = try Simulation.nodeStart(node)
                if !s.node.blocksync { start.implementationOptions[NodeStart.blocksyncOption] = "false" }
                start.testOverrides = s.testOverrides
                machine = try machines.makeMachine(profile: ProfileName(s.node.profile), start: start).checked()
            } catch {
                throw SimulationError.machine(String(describing: error))
            }
        }

        var metadata = ["generator": "syncsim", "scenario": s.name]
        if let pivot { metadata[TraceAttachmentName.pivotHintChecksumKey] = pivot.checksum.hex }
        if let grace = s.node.afterSwitch { metadata[TraceAttachmentName.afterSwitchKey] = VirtualSpan(nanoseconds: grace).description }
        if !s.node.blocksync { metadata[TraceAttachmentName.blocksyncKey] = "false" }
        if !s.testOverrides.isEmpty { metadata[TraceAttachmentName.testOverridesKey] = s.testOverrides.metadataValue }
        let writer: TraceWriter
        do { writer = try TraceWriter(path: path, metadata: metadata) } catch { throw SimulationError.trace("\(path): \(error)") }
        var driver = Driver(machine: machine, source: ScriptedPeers(scenario: s, builder: builder, honest: chain, writer: writer, pivot: pivot))
        try driver.source.record(.node(node), at: 0)
        if let pivot {
            try writer.attach(name: TraceAttachmentName.pivotHint, mediaType: TraceAttachmentName.pivotHintMediaType, data: pivot.file)
        }
        for item in driver.source.script() { driver.schedule(item) }
        if let grace = s.node.afterSwitch { driver.afterSwitch = .grace(grace) }
        do {
            try driver.run(until: .at(s.node.duration))
        } catch DriverError.invariant(let violation) {
            throw SimulationError.invariant(violation.description)
        } catch let error as DriverError {
            throw SimulationError.machine(error.description)
        }
        if let t = driver.switchTime, let grace = s.node.afterSwitch {
            driver.wait(until: t &+ grace)
        } else if driver.switchedAt == nil {
            driver.wait(until: s.node.duration)
        }
        try driver.source.recordEnd(switchedAt: driver.switchedAt, afterSwitch: s.node.afterSwitch, at: driver.now)
        try writer.finish()
        return SimulationSummary(events: writer.eventCount, blocksApplied: driver.source.applied, switchedAt: driver.switchedAt, endTime: driver.now)
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
    case raw(RawPayload)
}

/// A scripted peer's live state.
struct PeerState {
    let spec: PeerSpec
    let chain: Chain
    /// Block `height` replaced after signing (`wrong_hash`).
    let tampered: Int64?
    /// Another chain served from a height on (`other_chain`).
    var other: (chain: Chain, from: Int64)? = nil
    /// Connections so far (a message sent on an earlier one is dropped).
    var epoch = 0
    /// `drop_once`.
    var lost = LoseOnce()
    /// The serial link of `service_time`.
    var link = SerialLink()
}

/// The scenario's scripted peers as the driver's peer source (`SyncDriver`): they connect,
/// answer and misbehave as scripted, and every message crossing the node is recorded.
struct ScriptedPeers: PeerSource {
    let scenario: Scenario
    /// Signs the extended commits the peers serve.
    let builder: ChainBuilder
    let writer: TraceWriter
    let pivot: PivotScript?
    var peers: [PeerState]
    var applied = 0

    init(scenario: Scenario, builder: ChainBuilder, honest: Chain, writer: TraceWriter, pivot: PivotScript?) {
        self.scenario = scenario
        self.builder = builder
        self.writer = writer
        self.pivot = pivot
        var variants: [ChainBuilder.Variant: Chain] = [.valid: honest]
        var otherChain: Chain?
        peers = scenario.peers.map { spec in
            var variant = ChainBuilder.Variant.valid
            var tampered: Int64?
            var other: (chain: Chain, from: Int64)?
            if let bad = spec.badBlock {
                switch bad.kind {
                case .badSignature: variant = .badSignature(height: bad.height, validator: 0)
                case .wrongHash: tampered = bad.height
                case .forgedLastCommit: variant = .insufficientPower(height: bad.height)
                case .minorityFork: variant = .forkedByMinority(height: bad.height)
                case .wrongLastBlockID: variant = .wrongLastBlockID(height: bad.height)
                case .wrongAppHash: variant = .wrongAppHash(height: bad.height)
                case .otherChain:
                    if otherChain == nil { otherChain = ScriptedPeers.otherChain(builder.configuration) }
                    other = (otherChain!, bad.height)
                }
            }
            if variants[variant] == nil { variants[variant] = builder.build(variant) }
            return PeerState(spec: spec, chain: variants[variant]!, tampered: tampered, other: other)
        }
    }

    /// `other_chain`'s chain: the scenario's configuration with the seed extended, so every
    /// validator key (and with them every hash and signature) differs.
    static func otherChain(_ configuration: ChainBuilder.Configuration) -> Chain {
        var c = configuration
        c.seed += Array("/other-chain".utf8)
        return ChainBuilder(c).build()
    }

    func record(_ event: TraceEvent, at now: UInt64) throws {
        try writer.append(event, logTime: now)
    }

    /// The recording ends when the node switched to consensus, else at the scenario's
    /// duration: a `/capture` end marker says so, so replay covers the quiet time after the last
    /// event (e.g. a 60 s no-progress timeout) exactly as far as the recording did.
    func recordEnd(switchedAt: Int64?, afterSwitch: UInt64?, at now: UInt64) throws {
        var detail = switchedAt.map { "syncsim: the node switched to consensus at height \($0)" } ?? "syncsim: the scenario's duration ended"
        if switchedAt != nil, let grace = afterSwitch { detail += "; recorded \(VirtualSpan(nanoseconds: grace)) after the switch" }
        try record(.capture(CaptureRecord(kind: .end, detail: detail)), at: now)
    }

    /// Everything the scenario schedules up front, peer by peer, then the pivot events.
    func script() -> [Scheduled<Arrival>] {
        var out: [Scheduled<Arrival>] = []
        for (i, p) in peers.enumerated() {
            out.append(Scheduled(.connect(peer: i), at: p.spec.connectAt))
            for point in p.spec.status.dropFirst() where point.send {
                out.append(Scheduled(.scripted(peer: i, action: .status(base: point.base, height: point.height)), at: point.at))
            }
            // `status_every`: the claimed height moves up with time, pushed each interval (§v2.6 B11).
            for t in p.spec.growthTimes(until: scenario.node.duration) {
                let r = p.spec.range(at: t)
                out.append(Scheduled(.scripted(peer: i, action: .status(base: r.base, height: r.height)), at: t))
            }
            for u in p.spec.unsolicited { out.append(Scheduled(.scripted(peer: i, action: .unsolicited(height: u.height)), at: u.at)) }
            for a in p.spec.asks { out.append(Scheduled(.scripted(peer: i, action: .ask(height: a.height)), at: a.at)) }
            for t in p.spec.statusRequests { out.append(Scheduled(.scripted(peer: i, action: .statusRequest), at: t)) }
            for r in p.spec.raw { out.append(Scheduled(.scripted(peer: i, action: .raw(r.payload)), at: r.at)) }
            if let d = p.spec.disconnectAt { out.append(Scheduled(.hangUp(peer: i), at: d)) }
            if let r = p.spec.reconnectAt { out.append(Scheduled(.connect(peer: i), at: r)) }
        }
        if let pivot { for e in pivot.spec.events { out.append(Scheduled(.pivot(e), at: e.at)) } }
        return out
    }

    func address(_ i: Int) -> String { "\(peers[i].spec.id).syncsim:26656" }

    mutating func happen(_ arrival: Arrival, cause: EffectCause, at now: UInt64, connected: Set<PeerID>) throws -> [PeerStep<Arrival>] {
        switch arrival {
        case .connect(let i):
            let id = peers[i].spec.id
            guard !connected.contains(id) else { return [] }
            peers[i].epoch += 1
            try record(.p2p(PeerRecord(peerID: id, address: address(i), outbound: true, kind: .connected)), at: now)
            // AddPeer: each side sends its StatusResponse (specs/cometbft-blocksync.md §3.1) — or, as
            // `status_style` says, a v0.34.23+ v2 peer's StatusRequest or nothing (§v2.5.1, §v2.6 B6).
            guard let greeting = statusMessage(i, at: now) else { return [.connect(id)] }
            return [.connect(id), .schedule(reply(i, greeting, delay: peers[i].spec.latency, at: now))]
        case .hangUp(let i):
            let id = peers[i].spec.id
            guard connected.contains(id) else { return [] }
            let reason = "peer closed the connection"
            try record(.p2p(PeerRecord(peerID: id, address: address(i), outbound: true, kind: .disconnected, reason: reason)), at: now)
            return [.hangUp(id, reason: reason)]
        case .message(let i, let epoch, let bytes):
            guard connected.contains(peers[i].spec.id), peers[i].epoch == epoch else { return [] }
            return try deliver(i, bytes, at: now)
        case .scripted(let i, let action):
            guard connected.contains(peers[i].spec.id) else { return [] }
            switch action {
            case .status(let base, let height): return try deliver(i, BlocksyncMessage.statusResponse(height: height, base: base).encode(), at: now)
            case .unsolicited(let h): return try blockBytes(i, h).map { try deliver(i, $0, at: now) } ?? []
            case .ask(let h): return try deliver(i, BlocksyncMessage.blockRequest(height: h).encode(), at: now)
            case .statusRequest: return try deliver(i, BlocksyncMessage.statusRequest.encode(), at: now)
            case .raw(let payload): return try deliver(i, rawBytes(i, payload), at: now)
            }
        case .pivot(let e):
            try record(.pivot(pivot!.record(e)), at: now)
            return []
        }
    }

    /// Records an inbound message and hands it on (the driver decodes it; bytes that do not
    /// decode — only a `raw` entry sends such — reach the machine as undecodable).
    func deliver(_ i: Int, _ bytes: [UInt8], at now: UInt64) throws -> [PeerStep<Arrival>] {
        let id = peers[i].spec.id
        try record(.blocksync(BlocksyncRecord(peerID: id, direction: .inbound, message: bytes)), at: now)
        return [.deliver(bytes, from: id)]
    }

    func reply(_ i: Int, _ message: BlocksyncMessage, delay: UInt64, at now: UInt64) -> Scheduled<Arrival> {
        reply(i, bytes: message.encode(), delay: delay, at: now)
    }

    func reply(_ i: Int, bytes: [UInt8], delay: UInt64, at now: UInt64) -> Scheduled<Arrival> {
        Scheduled(.message(peer: i, epoch: peers[i].epoch, bytes: bytes), at: now &+ delay)
    }

    /// The block response peer `i` serves for `h` (its chain, tampered as scripted), with the
    /// extended commit for `h` where vote extensions are enabled (`respondToPeer`, §3.2), or
    /// the scripted wrong one (`ext_commit`).
    func blockBytes(_ i: Int, _ h: Int64) -> [UInt8]? {
        // Another chain's blocks from `other.from` on (`bad_block.kind = "other_chain"`).
        let chain = peers[i].other.flatMap { h >= $0.from ? $0.chain : nil } ?? peers[i].chain
        guard let block = chain.block(at: h) else { return nil }
        let served = peers[i].tampered == h ? PeerTricks.tamperedAfterSigning(block) : block
        var ext: ExtendedCommit?
        let fault = peers[i].spec.extCommit.flatMap { $0.height == h ? $0.kind : nil }
        if scenario.chain.voteExtensionsEnabled(at: h) || fault == .presentWhileDisabled, let commit = chain.commit(for: h) {
            ext = builder.extendedCommit(commit)
        }
        switch fault {
        case nil, .presentWhileDisabled: break
        case .missing: ext = nil
        case .badExtensionSignature:
            if let v = ext?.extendedSignatures.firstIndex(where: { $0.blockIDFlag == .commit }) {
                ext!.extendedSignatures[v].extensionSignature[0] ^= 0x01
            }
        case .wrongHeight:
            // The next height's extended commit (the last block's: its own, one height up).
            if let next = chain.commit(for: h + 1) { ext = builder.extendedCommit(next) } else { ext?.height = h + 1 }
        }
        return BlocksyncMessage.blockResponse(block: served, extCommit: ext).encode()
    }

    /// The bytes of a `raw` entry of peer `i` (shapes carrying a block take it from the peer's chain).
    func rawBytes(_ i: Int, _ payload: RawPayload) -> [UInt8] {
        switch payload {
        case .bytes(let bytes): return bytes
        case .shape(let shape, let h): return shape.bytes(block: peers[i].chain.block(at: h))
        }
    }

    mutating func observe(_ effect: MachineEffect, cause: EffectCause, at now: UInt64) throws {
        if case .blockApplied = effect { applied += 1 }
    }

    /// Records what the node sends; a connected scripted peer answers it.
    mutating func send(_ message: BlocksyncMessage, to peer: PeerID, connected: Bool, cause: EffectCause, at now: UInt64) throws -> [Scheduled<Arrival>] {
        try record(.blocksync(BlocksyncRecord(peerID: peer, direction: .outbound, message: message.encode())), at: now)
        guard connected, let i = peers.firstIndex(where: { $0.spec.id == peer }) else { return [] }
        return peerReceives(i, message, at: now)
    }

    /// The status message peer `i` greets with and answers a `StatusRequest` with (`status_style`).
    func statusMessage(_ i: Int, at now: UInt64) -> BlocksyncMessage? {
        switch peers[i].spec.statusStyle {
        case .response:
            let r = peers[i].spec.range(at: now)
            return .statusResponse(height: r.height, base: r.base)
        case .request: return .statusRequest
        case .none: return nil
        }
    }

    /// A scripted peer's answer to what the node sent it.
    mutating func peerReceives(_ i: Int, _ message: BlocksyncMessage, at now: UInt64) -> [Scheduled<Arrival>] {
        let spec = peers[i].spec
        switch message {
        case .statusRequest:
            guard let answer = statusMessage(i, at: now) else { return [] }
            return [reply(i, answer, delay: spec.latency, at: now)]
        case .blockRequest(let h):
            if spec.silent.contains(h) { return [] }
            if peers[i].lost.loses(h, listed: spec.dropOnce.contains(h)) { return [] }
            let r = spec.range(at: now)
            let claimed = !spec.noBlock.contains(h) && h >= r.base && h <= r.height
            guard claimed, let bytes = blockBytes(i, h) else {
                // A claimed height its chain lacks (a lie, `lacking`): blackholed or NoBlockResponse.
                if claimed && spec.lacking == .silent { return [] }
                return [reply(i, .noBlockResponse(height: h), delay: spec.latency, at: now)]
            }
            var delay = spec.latency &+ (now >= spec.slowFrom ? spec.slow : 0)
            if spec.serviceTime > 0 {
                // Serial link: this answer leaves when the previous one is through.
                delay &+= peers[i].link.departure(at: now, serviceTime: spec.serviceTime) &- now
            }
            let answer = reply(i, bytes: bytes, delay: delay, at: now)
            return spec.duplicate.contains(h) ? [answer, answer] : [answer]
        default:
            return []
        }
    }
}

extension RawShape {
    /// The payload on channel 0x40 (`block`: the peer's block at the entry's height, for the
    /// shapes that carry one; the parser guarantees it exists).
    public func bytes(block: Block?) -> [UInt8] {
        switch self {
        case .empty: return []
        case .wrongTag: return [0x08, 0x05]
        case .unknownOneof: return [0x32, 0x00]
        case .garbage: return [0xDE, 0xAD, 0xBE, 0xEF]
        case .duplicateBlockField:
            let encoded = block!.encoded()
            let field = [0x0A] + Self.varint(encoded.count) + encoded
            let response = field + field
            return [0x1A] + Self.varint(response.count) + response
        case .oversized:
            var padded = block!
            let count = padded.lastCommit?.signatures.count ?? 0
            padded.lastCommit?.signatures += Array(repeating: CommitSig.absent, count: Limits.maxVotesCount + 1 - count)
            return BlocksyncMessage.blockResponse(block: padded, extCommit: nil).encode()
        }
    }

    private static func varint(_ n: Int) -> [UInt8] {
        var v = UInt64(n), out: [UInt8] = []
        while v >= 0x80 { out.append(UInt8(v & 0x7F) | 0x80); v >>= 7 }
        out.append(UInt8(v))
        return out
    }
}
