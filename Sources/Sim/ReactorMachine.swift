import BlockSync
import CometWire
import Replay

/// The BlockSync reactor as a `Replay.BlockSyncMachine`, built the way the replayer builds it
/// (start state from `ReplayTrace.initialState()`, start time = the first event's time), so
/// strict replay reproduces a simulated trace.
public struct ReactorMachine: BlockSyncMachine {
    public var reactor: Reactor

    public init(reactor: Reactor) { self.reactor = reactor }

    public static let factory: MachineFactory = { trace, profile in
        guard let state = try trace.initialState() else {
            throw SimulationError.machine("the trace's /node record does not give a starting state (store height > 0 needs genesis.json)")
        }
        guard let p = BlockSyncProfile(named: profile.rawValue) else { throw SimulationError.machine("unknown profile \(profile.rawValue)") }
        let start = trace.events.first?.time ?? 0
        return ReactorMachine(reactor: try Reactor(profile: p, state: state, store: NodeBlockStore(),
                                                   configuration: ReactorConfiguration(startTime: start)))
    }

    public mutating func handle(_ input: MachineInput, at time: UInt64) -> [MachineEffect] {
        let effects: [ReactorEffect]
        switch input {
        case .peerAdded(let p): effects = reactor.handle(.peerAdded(p, at: time))
        case .peerRemoved(let p, let reason): effects = reactor.handle(.peerRemoved(p, reason: reason, at: time))
        case .received(let p, let m, let size): effects = reactor.handle(.received(m, from: p, wireSize: size, at: time))
        case .undecodable(let p, let error): effects = reactor.handle(.undecodable(from: p, error: error, at: time))
        case .timersDue: effects = reactor.handle(.timeAdvanced(to: time))
        }
        return effects.map { e in
            switch e {
            case .send(let m, let p): return .send(peer: p, message: m)
            case .broadcastStatusRequest: return .broadcastStatusRequest
            case .disconnect(let p, let r): return .disconnect(peer: p, reason: r)
            case .ban(let p, let r): return .ban(peer: p, reason: r)
            case .blockApplied(let h, let hash): return .blockApplied(height: h, hash: hash)
            case .verifyFailed(let hs, let ps, _): return .verifyFailed(height: hs.first ?? 0, peers: ps)
            case .switchToConsensus(let h, _): return .switchToConsensus(height: h)
            }
        }
    }

    public var nextTimer: (deadline: UInt64, name: String)? { reactor.nextDeadline.map { ($0, "reactor") } }
}
