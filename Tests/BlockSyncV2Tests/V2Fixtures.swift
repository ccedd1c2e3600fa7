import BlockSyncV2
import CometWire
import SyncMachine

/// Shared test data: real signed chains from `ChainBuilder`, a compact way to build scheduler
/// states in the notation of specs/cometbft-blocksync-v2.md §v2.7, and times.
enum V2Fixtures {
    static let ms: Nanoseconds = 1_000_000
    static let s: Nanoseconds = 1_000_000_000
    /// The test start `t` (a non-zero virtual time).
    static let t: Nanoseconds = 1_000 * s

    static func chain(_ length: Int, _ variant: ChainBuilder.Variant = .valid) -> Chain {
        ChainBuilder(.init(seed: Array("v2-tests".utf8), validatorPowers: [10, 10, 10], length: length, txsPerBlock: 1))
            .build(variant)
    }
    static let chain20 = chain(20)

    static func block(_ h: Int64) -> Block { chain20.block(at: h)! }

    /// A peer in §v2.7 notation: `R` Ready, `N` New, `X` Removed.
    struct P {
        var id: PeerID
        var state: Scheduler.PeerState
        var base: Int64 = 0
        var height: Int64 = -1
        var lastTouched: Nanoseconds?
        var lastRate: Int64 = 0
        static func r(_ id: PeerID, _ height: Int64, base: Int64 = 0, touched: Nanoseconds? = nil, rate: Int64 = 0) -> P {
            P(id: id, state: .ready, base: base, height: height, lastTouched: touched, lastRate: rate)
        }
        static func n(_ id: PeerID) -> P { P(id: id, state: .new, base: -1, height: -1) }
        static func x(_ id: PeerID, _ height: Int64 = -1, touched: Nanoseconds? = nil, rate: Int64 = 0) -> P {
            P(id: id, state: .removed, base: 0, height: height, lastTouched: touched, lastRate: rate)
        }
    }

    /// A scheduler at height `h` with `peers`, `S{states}` New unless pending or received.
    static func scheduler(height h: Int64 = 1, targetPending: Int64 = 10, peerTimeout: Nanoseconds = 15 * s,
                          minRecvRate: Int64 = 0, syncTimeout: Nanoseconds = 10 * s, peers: [P] = [], states: ClosedRange<Int64>? = nil,
                          pending: [Int64: PeerID] = [:], pendingAt: Nanoseconds = t, received: [Int64: PeerID] = [:]) -> Scheduler {
        var sc = Scheduler(initHeight: h, startTime: t, targetPending: targetPending, peerTimeout: peerTimeout,
                           minRecvRate: minRecvRate, syncTimeout: syncTimeout)
        for p in peers {
            sc.peers[p.id] = Scheduler.Peer(state: p.state, base: p.base, height: p.height, lastTouched: p.lastTouched, lastRate: p.lastRate)
        }
        for h in states.map(Array.init) ?? [] { sc.blockStates[h] = .new }
        for (h, p) in pending {
            sc.blockStates[h] = .pending
            sc.pendingBlocks[h] = p
            sc.pendingTime[h] = pendingAt
        }
        for (h, p) in received {
            sc.blockStates[h] = .received
            sc.receivedBlocks[h] = p
        }
        return sc
    }
}
