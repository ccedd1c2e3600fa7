import BlockSyncV2
import CometWire
import SyncMachine

/// A minimal deterministic driver for the v2 demux in tests: remote peers that serve a chain
/// after a fixed latency and answer status requests (as a v0 node or a tm v0.34.0–.22 v2 node
/// does — or, `bounces`, with a StatusRequest as a v0.34.23+ v2 node does, §v2.6 B6). Inbound
/// deliveries at time t come before the machine's timers due at t (the seam's contract); the
/// machine runs inside the invariant checker. Disconnects are fed back as the switch does.
struct V2Net {
    struct Remote {
        var id: PeerID
        var chain: Chain
        var height: Int64
        var latency: Nanoseconds
        /// Answers a StatusRequest with a StatusRequest (tm v0.34.23+ v2, §v2.5.1).
        var bounces = false
        /// Never answers block requests.
        var silent = false
        var connected = true
    }

    struct Entry: Equatable {
        var time: Nanoseconds
        var timer: String?
        var effect: MachineEffect
    }

    var machine: CheckedMachine<Demux>
    var remotes: [Remote] = []
    var log: [Entry] = []
    private var deliveries: [(at: Nanoseconds, seq: Int, peer: PeerID, message: BlocksyncMessage)] = []
    private var seq = 0
    private(set) var stopped = false

    init(_ demux: Demux) { machine = CheckedMachine(demux) }

    var demux: Demux { machine.base }

    /// Connects `remote` at `time`: AddPeer, and the remote announces its status (a v0 or
    /// pre-.23 v2 node answers our AddPeer status message; a bouncing one only asks back).
    mutating func connect(_ remote: Remote, at time: Nanoseconds) {
        remotes.append(remote)
        record(time, nil, machine.handle(.peerAdded(remote.id, at: time)))
    }

    mutating func run(until end: Nanoseconds) {
        while !stopped {
            deliveries.sort { ($0.at, $0.seq) < ($1.at, $1.seq) }
            let timer = machine.nextTimer?.deadline
            if let d = deliveries.first, d.at <= end, timer.map({ d.at <= $0 }) ?? true {
                deliveries.removeFirst()
                guard let i = remotes.firstIndex(where: { $0.id == d.peer }), remotes[i].connected else { continue }
                let size = d.message.encode().count
                record(d.at, nil, machine.handle(.received(d.message, from: d.peer, wireSize: size, at: d.at)))
            } else if let t = timer, t <= end {
                for (name, effect) in machine.fireTimers() { perform(Entry(time: t, timer: name.rawValue, effect: effect)) }
            } else {
                return
            }
        }
    }

    private mutating func record(_ time: Nanoseconds, _ timer: String?, _ effects: [MachineEffect]) {
        for effect in effects { perform(Entry(time: time, timer: timer, effect: effect)) }
    }

    private mutating func perform(_ entry: Entry) {
        log.append(entry)
        let now = entry.time
        switch entry.effect {
        case .send(let message, let peer):
            answer(message, to: peer, at: now)
        case .broadcastStatusRequest:
            for r in remotes where r.connected { answer(.statusRequest, to: r.id, at: now) }
        case .disconnect(let peer, let reason):
            if let i = remotes.firstIndex(where: { $0.id == peer }) { remotes[i].connected = false }
            record(now, entry.timer, machine.handle(.peerRemoved(peer, reason: reason, at: now)))
        case .switchToConsensus, .reactorPanic:
            stopped = true
        case .removeFromPool, .ban, .blockApplied, .verifyFailed, .schedulerFail, .switchToBlockSync:
            break
        }
    }

    /// What the remote sends back for a message from the node.
    private mutating func answer(_ message: BlocksyncMessage, to peer: PeerID, at now: Nanoseconds) {
        guard let r = remotes.first(where: { $0.id == peer }), r.connected else { return }
        let reply: BlocksyncMessage?
        switch message {
        case .statusRequest:
            reply = r.bounces ? .statusRequest : .statusResponse(height: r.height, base: r.chain.initialHeight)
        case .statusResponse:
            reply = nil
        case .blockRequest(let h):
            if r.silent { return }
            if h <= r.height, let block = r.chain.block(at: h) {
                reply = .blockResponse(block: block, extCommit: nil)
            } else {
                reply = .noBlockResponse(height: h)
            }
        case .blockResponse, .noBlockResponse:
            reply = nil
        }
        guard let reply else { return }
        deliveries.append((now + r.latency, seq, peer, reply))
        seq += 1
    }

    var applied: [Int64] { log.compactMap { if case .blockApplied(let h, _) = $0.effect { h } else { nil } } }
    var switched: (time: Nanoseconds, height: Int64, reason: SwitchReason)? {
        log.lazy.compactMap { if case .switchToConsensus(let h, let r) = $0.effect { ($0.time, h, r) } else { nil } }.first
    }
    var disconnects: [(peer: PeerID, reason: String)] {
        log.compactMap { if case .disconnect(let p, let r) = $0.effect { (p, r) } else { nil } }
    }
    func requests(_ h: Int64) -> [(time: Nanoseconds, peer: PeerID)] {
        log.compactMap { if case .send(.blockRequest(let x), let p) = $0.effect, x == h { ($0.time, p) } else { nil } }
    }
}

extension V2Fixtures {
    static func remote(_ id: PeerID, height: Int64? = nil, latency: Nanoseconds = 5 * ms, bounces: Bool = false, silent: Bool = false,
                       chain: Chain = chain20) -> V2Net.Remote {
        V2Net.Remote(id: id, chain: chain, height: height ?? chain.height, latency: latency, bounces: bounces, silent: silent)
    }

    static func demux(_ profile: BlockSyncV2Profile, queue: V2QueueModel = .fifo, chain: Chain = chain20, fastSync: Bool = true,
                      start: Nanoseconds = 0) -> Demux {
        try! Demux(profile: profile, start: NodeStart(genesis: chain.genesisState, startTime: start), queueModel: queue, fastSync: fastSync)
    }
}
