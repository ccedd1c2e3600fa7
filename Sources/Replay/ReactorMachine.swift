import BlockSync
import CometWire

/// The BlockSync reactor (specs/cometbft-blocksync.md §2, §3) as the replayer drives it.
public struct ReactorMachine: BlockSyncMachine {
    public var reactor: Reactor

    public init(reactor: Reactor) { self.reactor = reactor }

    /// The application the replayed node runs (specs/cometbft-blocksync.md §3.4 step 6): a
    /// simulator trace (`capture_method` `syncsim`) has `ChainBuilder`'s chain, whose application
    /// is `.transactionCounter`, so app-hash checks are real; any other trace gets `.unknown`
    /// (its application results are not checked after the first block).
    public static func application(for node: ReplayNode) -> ApplicationModel {
        node.captureMethod == "syncsim" ? .transactionCounter : .unknown
    }

    /// Builds the reactor for a trace: the profile by name, the application of `application(for:)`, the
    /// reactor's clock starting at the trace's first event time, and the node's starting point from its `/node` record —
    /// syncing from genesis (`ReplayTrace.initialState()`, empty store) or resuming from its
    /// stored block (`ReplayNode.resumingState()`; the store declares the recorded
    /// `base…height` and holds the start block, so a peer asking for an older stored height
    /// gets NoBlockResponse — the trace does not carry those blocks).
    public static let factory: MachineFactory = { trace, profile in
        guard let node = trace.node else { throw CaseError("the trace has no /node record") }
        guard let p = BlockSyncProfile(named: profile.rawValue) else { throw CaseError("unknown profile \(profile.rawValue)") }
        let state: ChainState
        let store: NodeBlockStore
        if node.storeHeight > 0 {
            let resumed = try node.resumingState()
            state = resumed.state
            do {
                store = try NodeBlockStore(base: node.storeBase > 0 ? node.storeBase : node.storeHeight, height: node.storeHeight,
                                           blocks: [StoredBlock(block: resumed.block)])
            } catch { throw CaseError("cannot build the node's store: \(error)") }
        } else {
            guard let genesis = try trace.initialState() else { throw CaseError("cannot build the node's starting state") }
            state = genesis
            store = NodeBlockStore()
        }
        let start = trace.events.first?.time ?? 0
        do {
            return ReactorMachine(reactor: try Reactor(profile: p, state: state, store: store,
                                                       configuration: ReactorConfiguration(
                                                           startTime: start,
                                                           localValidatorAddress: node.localValidatorAddress.isEmpty ? nil : node.localValidatorAddress,
                                                           application: application(for: node))))
        } catch {
            throw CaseError("cannot start the reactor: \(error)")
        }
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
        return effects.flatMap { effect -> [MachineEffect] in
            switch effect {
            case .send(let m, let p): return [.send(peer: p, message: m)]
            case .broadcastStatusRequest: return [.broadcastStatusRequest]
            case .disconnect(let p, let reason): return [.disconnect(peer: p, reason: reason)]
            case .removeFromPool(let p, let reason): return [.removeFromPool(peer: p, reason: reason)]
            case .ban(let p, let reason): return [.ban(peer: p, reason: reason)]
            case .blockApplied(let h, let hash): return [.blockApplied(height: h, hash: hash)]
            case .verifyFailed(let heights, let peers, let reason): return [.verifyFailed(heights: heights, peers: peers, reason: reason)]
            case .switchToConsensus(let h, _): return [.switchToConsensus(height: h)]
            }
        }
    }

    public var nextTimer: (deadline: UInt64, name: String)? {
        reactor.nextDeadline.map { ($0, "reactor") }
    }
}
