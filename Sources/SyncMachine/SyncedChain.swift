import CometWire

/// The shared block processor (issue 12 item 3): the node's chain state and block store as block
/// sync advances them, with the steps every reactor version runs the same way — authenticate a
/// block by the next block's `LastCommit`, `ValidateBlock`, `SaveBlock` then `ApplyBlock`, and
/// `LoadBlock` to serve a request. Each reactor decides *when* to call them and what a failure
/// means (the v0 reactor: specs/cometbft-blocksync.md §3.4; v2: specs/cometbft-blocksync-v2.md
/// §v2.3).
public struct SyncedChain: Sendable {
    public private(set) var state: ChainState
    public private(set) var store: NodeBlockStore
    /// Where `ApplyBlock`'s results come from.
    public let application: ApplicationModel
    /// Blocks saved and applied so far.
    public private(set) var blocksSynced = 0
    /// Signatures found valid by earlier checks: the pair check of (H, H+1) verifies most of
    /// H+1's `LastCommit`, which `ValidateBlock(H+1)` checks again at the next pair; the second
    /// check gives the same outcome without verifying a signature twice (issue 19 item 2, #1830).
    public private(set) var verified = VerifiedSignatures()
    /// The state's set and parameter hashes, taken again only when they change (issue 19).
    private var hashes = StateHashes()

    /// `signatureOracle`: a shell's worker that verifies signatures ahead on another core
    /// (issue 19 item 3; `NodeStart.signatureOracle`); nil: every signature is verified here.
    public init(state: ChainState, store: NodeBlockStore, application: ApplicationModel,
                signatureOracle: (any SignatureOracle)? = nil) {
        self.state = state
        self.store = store
        self.application = application
        verified.oracle = signatureOracle
    }

    /// Asked before a signature is verified here (`VerifiedSignatures.oracle`).
    public var signatureOracle: (any SignatureOracle)? {
        get { verified.oracle }
        set { verified.oracle = newValue }
    }

    /// State sync's hand-over (`SwitchToBlockSync`, specs/cometbft-blocksync.md §2.2): the
    /// state after the snapshot height replaces the one the node started with; the store stays
    /// as it is (empty: state sync saves no block, so the first block synced becomes its base).
    public mutating func handOver(to state: ChainState) {
        self.state = state
    }

    /// How the second block's `LastCommit` must commit the first (§3.4 step 4, §v2.3 step 3).
    public enum CommitCheck: Sendable, Equatable {
        /// `VerifyCommitLight`: stops once +2/3 of the power is tallied.
        case light
        /// `VerifyCommit`: every signature.
        case full
    }

    /// Authenticates `first` (whose ID is `firstID`) with `commit` (the next block's
    /// `LastCommit`) against the current validators, in `check`'s way.
    public mutating func verifyCommit(of first: Block, id firstID: BlockID, by commit: Commit, check: CommitCheck,
                             options: CommitVerificationOptions) throws(CommitVerificationError) {
        let h = first.header.height
        switch check {
        case .light:
            try state.validators.verifyCommitLight(chainID: state.chainID, blockID: firstID, height: h, commit: commit,
                                                   options: options, verified: &verified)
        case .full:
            try state.validators.verifyCommit(chainID: state.chainID, blockID: firstID, height: h, commit: commit,
                                              options: options, verified: &verified)
        }
    }

    /// `ValidateBlock` against the current state (its own `LastCommit` fully verified unless
    /// `verifyLastCommit` is false); `basicValidated`: the block passed `validateBasic` since it
    /// was decoded (`ChainState.validateBlock`).
    public mutating func validate(_ block: Block, verifyLastCommit: Bool, options: CommitVerificationOptions,
                                  basicValidated: Bool = false) throws(BlockValidationError) {
        try state.validateBlock(block, verifyLastCommit: verifyLastCommit, commitOptions: options, basicValidated: basicValidated,
                                verified: &verified, hashes: &hashes)
    }

    /// `SaveBlock` then `ApplyBlock` of a block already checked: the state takes the
    /// application's results (never those of an unverified next header); returns the
    /// `block_applied` effect.
    public mutating func saveAndApply(_ block: Block, id: BlockID, extendedCommit: ExtendedCommit? = nil) -> MachineEffect {
        save(block, extendedCommit: extendedCommit)
        return apply(block, id: id)
    }

    /// `SaveBlock` alone (v2 saves before `ApplyBlock` validates, §v2.3 step 5).
    public mutating func save(_ block: Block, extendedCommit: ExtendedCommit? = nil) {
        store.save(StoredBlock(block: block, extendedCommit: extendedCommit))
    }

    /// `ApplyBlock` of a block already saved; returns the `block_applied` effect.
    public mutating func apply(_ block: Block, id: BlockID) -> MachineEffect {
        state = application.applying(block, blockID: id, to: state)
        blocksSynced += 1
        return .blockApplied(height: block.header.height, hash: id.hash)
    }

    /// `LoadBlock(h)` for a peer's BlockRequest; nil: NoBlockResponse.
    public func storedBlock(at h: Int64) -> StoredBlock? { store.block(at: h) }
}
