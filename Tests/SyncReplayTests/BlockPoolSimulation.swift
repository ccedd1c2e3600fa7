import SyncMachine
import BlockSync
import Testing

/// A tiny in-test driver for `BlockPool<Int64>` (the payload is the height): scripted peers
/// answer requests after a latency, a consumer pops blocks as soon as two consecutive ones are
/// held (the reactor's step without verification), peer errors remove the peer (the reactor's
/// `StopPeerForError`). Inbound deliveries at time t run before timers due at t.
struct PoolSimulation {
    enum Behaviour: Equatable {
        /// Answers every request after `latency` with a block of `size` bytes.
        case honest(latency: Nanoseconds, size: Int)
        /// Never answers.
        case silent
        /// Answers one request at a time, one block every `interval`.
        case slow(interval: Nanoseconds, size: Int)
    }

    struct Delivery { var at: Nanoseconds; var peer: PeerID; var height: Int64; var size: Int }

    var pool: BlockPool<Int64>
    var now: Nanoseconds = 0
    var behaviours: [PeerID: Behaviour] = [:]
    var busyUntil: [PeerID: Nanoseconds] = [:]
    var deliveries: [Delivery] = []
    var requests: [(at: Nanoseconds, peer: PeerID, height: Int64)] = []
    var errors: [(at: Nanoseconds, peer: PeerID, reason: String)] = []
    var bans: [(at: Nanoseconds, peer: PeerID)] = []
    /// Violations of the request window rules seen after any step.
    var violations: [String] = []
    var consume = true

    init(profile: BlockSyncProfile, start: Int64 = 1) {
        pool = BlockPool(profile: profile, startHeight: start, startTime: 0)
    }

    mutating func addPeer(_ id: PeerID, base: Int64 = 1, height: Int64, _ behaviour: Behaviour) {
        behaviours[id] = behaviour
        pool.setPeerRange(id, base: base, height: height, now: now)
        step()
    }

    mutating func report(_ id: PeerID, base: Int64, height: Int64) {
        pool.setPeerRange(id, base: base, height: height, now: now)
        step()
    }

    /// Settles the pool, consumes blocks, dispatches effects.
    mutating func step(afterInput: Bool = true) {
        pool.settle(now: now, afterInput: afterInput)
        while consume {
            let (first, second) = pool.peekTwoBlocks()
            guard first != nil, second != nil else { break }
            pool.popRequest(now: now)
            pool.settle(now: now)
        }
        dispatch()
        check()
    }

    mutating func dispatch() {
        for effect in pool.takeEffects() {
            switch effect {
            case .sendRequest(let h, let peer):
                requests.append((now, peer, h))
                guard let peerInfo = pool.peers[peer] else {
                    violations.append("request to unknown peer \(peer)"); continue
                }
                if h < peerInfo.base || h > peerInfo.height { violations.append("h=\(h) outside \(peer)'s range") }
                switch behaviours[peer] ?? .silent {
                case .honest(let latency, let size):
                    deliveries.append(Delivery(at: now + latency, peer: peer, height: h, size: size))
                case .silent:
                    break
                case .slow(let interval, let size):
                    let at = max(busyUntil[peer] ?? 0, now) + interval
                    busyUntil[peer] = at
                    deliveries.append(Delivery(at: at, peer: peer, height: h, size: size))
                }
            case .peerError(let peer, let reason):
                errors.append((now, peer, reason))
                pool.removePeer(peer)
                deliveries.removeAll { $0.peer == peer }
                behaviours[peer] = nil
                pool.settle(now: now)
                dispatch()
            case .peerBanned(let peer, _):
                bans.append((now, peer))
            case .peerRemoved:
                break
            }
        }
    }

    mutating func check() {
        #expect(pool.countsAgree(), "idle requester count or earliest retry out of step at \(now)")
        for peer in pool.peers.values where peer.numPending > pool.profile.maxPendingPerPeer {
            violations.append("\(peer.id) has \(peer.numPending) pending")
        }
        switch pool.profile.requesterCreation {
        case .busySpin(let total, _):
            if pool.requesterCount > total { violations.append("\(pool.requesterCount) requesters") }
        case .paced:
            // The cap is checked before each creation; peers leaving can leave more behind.
            break
        }
    }

    /// Runs until `end` or until `stop` holds.
    mutating func run(until end: Nanoseconds, stop: (PoolSimulation) -> Bool = { _ in false }) {
        while !stop(self) {
            let nextDelivery = deliveries.indices.min { deliveries[$0].at < deliveries[$1].at }
            let deliveryAt = nextDelivery.map { deliveries[$0].at }
            let timerAt = pool.nextDeadline
            if let d = deliveryAt, d <= end, timerAt.map({ d <= $0 }) ?? true, let index = nextDelivery {
                let delivery = deliveries.remove(at: index)
                now = delivery.at
                pool.addBlock(delivery.height, height: delivery.height, from: delivery.peer, size: delivery.size, now: now)
                step()
            } else if let t = timerAt, t <= end {
                now = t
                pool.advance(to: t)
                step(afterInput: false)
            } else {
                now = end
                return
            }
        }
    }
}
