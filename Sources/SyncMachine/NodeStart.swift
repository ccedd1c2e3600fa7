import CometWire

/// A machine could not be started from what it was given (exit 2 for the CLIs).
public struct MachineStartError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Where the node under test starts: its chain state, its block store, the application that
/// produces `ApplyBlock`'s results, the virtual start time, its own validator address and the
/// vote-extension enable height. Built once — from a trace's `/node` record (`init(record:…)`),
/// from a genesis state (`init(genesis:…)`), or by the simulator from a scenario (which writes
/// the same record) — and handed to any implementation (`MachineImplementation.make`).
public struct NodeStart: Sendable {
    public var state: ChainState
    public var store: NodeBlockStore
    public var application: ApplicationModel
    public var startTime: Nanoseconds
    /// Our validator's address (for `localNodeBlocksTheChain`); nil for a non-validator.
    public var localValidatorAddress: [UInt8]?
    /// `VoteExtensionsEnableHeight` from the consensus params (0: disabled).
    public var voteExtensionsEnableHeight: Int64
    /// Options of one implementation by name (the v2 reactor's `v2-queue`: `fifo` or `heap`);
    /// the registry refuses an option the chosen profile's implementation does not take.
    public var implementationOptions: [String: String] = [:]
    /// The state-sync hand-over: the node starts with blocksync off and, at `at`, state sync
    /// calls `SwitchToBlockSync(state)` (specs/cometbft-blocksync.md §2.2, §3.1). nil: the node
    /// block-syncs (or not, `blocksyncOption`) from the start.
    public var stateSync: StateSyncHandover?

    /// What `SwitchToBlockSync` is given: the state after the snapshot height, and when.
    public struct StateSyncHandover: Sendable, Equatable {
        public var at: Nanoseconds
        public var state: ChainState
        public init(at: Nanoseconds, state: ChainState) {
            self.at = at
            self.state = state
        }
    }

    /// The `implementationOptions` key that disables blocksync (value `false`): the node answers
    /// requests and status but never syncs (specs/cometbft-blocksync.md §3.1; syncsim's
    /// `[node] blocksync`, recorded as the trace metadata `blocksync`). The v0 reactor takes it.
    public static let blocksyncOption = "blocksync"
    /// Settings the originals' tests override (`TestOverrides`, not faithful to any version):
    /// from syncsim's `[test_overrides]` or the trace metadata `test_overrides`. The v0
    /// reactor applies them to its profile; an implementation that cannot refuses to start.
    public var testOverrides = TestOverrides()
    /// Issue 19 item 3: a shell's worker that verified signatures ahead on another core, asked
    /// before the core verifies one (`SignatureOracle`: it answers only for triples it found
    /// valid, so decisions are the same with or without it). nil (tests, sim, benches): none.
    public var signatureOracle: (any SignatureOracle)?

    public init(state: ChainState, store: NodeBlockStore, application: ApplicationModel = .unknown, startTime: Nanoseconds = 0,
                localValidatorAddress: [UInt8]? = nil, voteExtensionsEnableHeight: Int64 = 0) {
        self.state = state
        self.store = store
        self.application = application
        self.startTime = startTime
        self.localValidatorAddress = localValidatorAddress
        self.voteExtensionsEnableHeight = voteExtensionsEnableHeight
    }

    /// A node syncing from genesis: `state` before its first block, an empty store.
    public init(genesis state: ChainState, application: ApplicationModel = .unknown, startTime: Nanoseconds = 0,
                localValidatorAddress: [UInt8]? = nil) {
        self.init(state: state, store: NodeBlockStore(), application: application, startTime: startTime,
                  localValidatorAddress: localValidatorAddress)
    }

    /// What a `/node` record (DESIGN.md §2) says about the node, field by field.
    public struct Record: Sendable {
        public var chainID: String
        public var initialHeight: Int64
        public var storeBase: Int64
        public var storeHeight: Int64
        /// The validators as recorded (ordered as Go's `NewValidatorSet` orders them here).
        public var validators: ValidatorSet
        public var appHash: [UInt8]
        /// Encoded `tendermint.types.Block` at `storeHeight`; empty when syncing from genesis.
        public var startBlock: [UInt8]
        public var genesisTime: Timestamp
        public var localValidatorAddress: [UInt8]
        /// Consensus params `VoteExtensionsEnableHeight` (0: disabled or not recorded).
        public var voteExtensionsEnableHeight: Int64
        /// Consensus params `Block.MaxBytes` (0: not recorded, CometBFT's default applies).
        public var blockMaxBytes: Int64
        /// The state-sync hand-over (`/node` field 15), when the node started with state sync.
        public var stateSync: StateSync?

        /// `/node`'s `StateSync`: at log time `at`, state sync hands over with the state after
        /// `block` (the snapshot height), whose application results are `appHash` and
        /// `lastResultsHash` — what CometBFT's state provider takes from the light client's
        /// verified headers. The validators are the record's (a state-synced node's validator
        /// set is the chain's at the snapshot; the traces we make keep one set).
        public struct StateSync: Sendable, Equatable {
            public var at: Nanoseconds
            public var block: [UInt8]
            public var appHash: [UInt8]
            public var lastResultsHash: [UInt8]
            public init(at: Nanoseconds, block: [UInt8], appHash: [UInt8], lastResultsHash: [UInt8]) {
                self.at = at
                self.block = block
                self.appHash = appHash
                self.lastResultsHash = lastResultsHash
            }
        }

        public init(chainID: String, initialHeight: Int64, storeBase: Int64, storeHeight: Int64, validators: ValidatorSet,
                    appHash: [UInt8], startBlock: [UInt8], genesisTime: Timestamp, localValidatorAddress: [UInt8],
                    voteExtensionsEnableHeight: Int64 = 0, blockMaxBytes: Int64 = 0, stateSync: StateSync? = nil) {
            self.stateSync = stateSync
            self.voteExtensionsEnableHeight = voteExtensionsEnableHeight
            self.blockMaxBytes = blockMaxBytes
            self.chainID = chainID
            self.initialHeight = initialHeight
            self.storeBase = storeBase
            self.storeHeight = storeHeight
            self.validators = validators
            self.appHash = appHash
            self.startBlock = startBlock
            self.genesisTime = genesisTime
            self.localValidatorAddress = localValidatorAddress
        }

        var initialHeightOrOne: Int64 { initialHeight == 0 ? 1 : initialHeight }
    }

    /// The node as its `/node` record describes it. Syncing from genesis (store height 0): the
    /// `genesis` state when the trace attached a genesis document, else `MakeGenesisState` from
    /// the record with CometBFT's default consensus parameters and app version 0. Resuming
    /// (store height > 0): from the record's start block and validators; the store declares the
    /// recorded `base…height` but holds only that block (a peer asking for an older stored
    /// height gets NoBlockResponse — the trace does not carry those blocks), and the first synced
    /// block's `AppHash`/`LastResultsHash` are not compared (`ChainState.resuming`: the stored
    /// block's results are not on the wire). The record's consensus params, where recorded,
    /// override the defaults (and an attached genesis): `Block.MaxBytes` enters the expected
    /// header consensus hash (§4.2), `VoteExtensionsEnableHeight` switches on v0.38's
    /// extended-commit rules (§3.2, §3.4).
    public init(record r: Record, genesis: ChainState? = nil, application: ApplicationModel, startTime: Nanoseconds) throws(MachineStartError) {
        let address = r.localValidatorAddress.isEmpty ? nil : r.localValidatorAddress
        guard r.storeHeight > 0 else {
            var state = genesis ?? ChainState.genesis(chainID: r.chainID, initialHeight: r.initialHeightOrOne, genesisTime: r.genesisTime,
                                                      validators: r.validators, appHash: r.appHash)
            if r.blockMaxBytes != 0 { state.consensusParams.blockMaxBytes = r.blockMaxBytes }
            self.init(genesis: state, application: application, startTime: startTime, localValidatorAddress: address)
            voteExtensionsEnableHeight = r.voteExtensionsEnableHeight
            if let handover = r.stateSync {
                stateSync = try Self.handover(handover, record: r, params: state.consensusParams, startTime: startTime)
            }
            return
        }
        if r.stateSync != nil {
            throw MachineStartError("the /node record has a state-sync hand-over but a store height of \(r.storeHeight): state sync starts from an empty store")
        }
        let block = try Self.startBlock(of: r)
        // The record's app hash is the one after the stored block: the application's state
        // (it lets `.transactionCounter` continue).
        var state = ChainState.resuming(after: block, initialHeight: r.initialHeightOrOne, validators: r.validators,
                                        appHash: r.appHash.isEmpty ? nil : r.appHash)
        if r.blockMaxBytes != 0 { state.consensusParams.blockMaxBytes = r.blockMaxBytes }
        let store: NodeBlockStore
        do {
            store = try NodeBlockStore(base: r.storeBase > 0 ? r.storeBase : r.storeHeight, height: r.storeHeight,
                                       blocks: [StoredBlock(block: block)])
        } catch { throw MachineStartError("cannot build the node's store: \(error)") }
        self.init(state: state, store: store, application: application, startTime: startTime, localValidatorAddress: address,
                  voteExtensionsEnableHeight: r.voteExtensionsEnableHeight)
    }

    /// The state `SwitchToBlockSync` is given: after the record's snapshot block, with its
    /// application results, the record's validators and the node's consensus params.
    static func handover(_ h: Record.StateSync, record r: Record, params: HashedParams, startTime: Nanoseconds) throws(MachineStartError) -> StateSyncHandover {
        let block: Block
        do { block = try Block(protobuf: h.block) } catch {
            throw MachineStartError("the /node record's state-sync block does not decode: \(error)")
        }
        guard block.header.chainID == r.chainID else {
            throw MachineStartError("the /node record's state-sync block belongs to chain \"\(block.header.chainID)\", not \"\(r.chainID)\"")
        }
        guard block.header.height >= r.initialHeightOrOne else {
            throw MachineStartError("the /node record's state-sync block has height \(block.header.height), below the initial height \(r.initialHeightOrOne)")
        }
        guard h.at >= startTime else {
            throw MachineStartError("the /node record's state-sync hand-over at \(h.at) ns comes before the recording starts (\(startTime) ns)")
        }
        let state = ChainState.resuming(after: block, initialHeight: r.initialHeightOrOne, validators: r.validators,
                                        appHash: h.appHash, lastResultsHash: h.lastResultsHash, consensusParams: params)
        return StateSyncHandover(at: h.at, state: state)
    }

    /// The record's start block, checked against its store height and chain.
    public static func startBlock(of r: Record) throws(MachineStartError) -> Block {
        guard !r.startBlock.isEmpty else {
            throw MachineStartError("the /node record resumes at store height \(r.storeHeight) but carries no start block to resume from")
        }
        let block: Block
        do { block = try Block(protobuf: r.startBlock) } catch {
            throw MachineStartError("the /node record's start block does not decode: \(error)")
        }
        guard block.header.height == r.storeHeight else {
            throw MachineStartError("the /node record's start block has height \(block.header.height), but the store height is \(r.storeHeight)")
        }
        guard block.header.chainID == r.chainID else {
            throw MachineStartError("the /node record's start block belongs to chain \"\(block.header.chainID)\", not \"\(r.chainID)\"")
        }
        return block
    }
}
