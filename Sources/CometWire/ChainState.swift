import HexCoding
/// Why `ChainState.validateBlock` rejects a block (`state/validation.go`, specs §4.5), with
/// Go's error texts.
public enum BlockValidationError: Error, Hashable, Sendable, CustomStringConvertible {
    case basic(ValidateBasicError)
    case wrongVersion(expected: ConsensusVersion, got: ConsensusVersion)
    case wrongChainID(expected: String, got: String)
    case wrongInitialHeight(expected: Int64, got: Int64)
    case wrongHeight(expected: Int64, got: Int64)
    case wrongLastBlockID(expected: BlockID, got: BlockID)
    case wrongHash(field: String, expected: [UInt8], got: [UInt8])
    case initialBlockHasLastCommitSignatures
    case lastCommit(CommitVerificationError)
    case proposerNotValidator(address: [UInt8])
    case timeNotIncreasing(time: Timestamp, lastBlockTime: Timestamp)
    case wrongMedianTime(expected: Timestamp, got: Timestamp)
    case wrongGenesisTime(expected: Timestamp, got: Timestamp)
    case evidenceOverflow(max: Int64, got: Int64)
    /// cometbft v0.38.21+: a LastCommit signer unknown to `LastValidators` while computing the median time.
    case commitValidatorNotFound(address: [UInt8])

    public var description: String {
        switch self {
        case .basic(let e): return e.description
        case .wrongVersion(let e, let g):
            return "wrong Block.Header.Version. Expected {\(e.block) \(e.app)}, got {\(g.block) \(g.app)}"
        case .wrongChainID(let e, let g): return "wrong Block.Header.ChainID. Expected \(e), got \(g)"
        // Go prints the two values the other way round; reproduced.
        case .wrongInitialHeight(let e, let g): return "wrong Block.Header.Height. Expected \(g) for initial block, got \(e)"
        case .wrongHeight(let e, let g): return "wrong Block.Header.Height. Expected \(e), got \(g)"
        case .wrongLastBlockID(let e, let g): return "wrong Block.Header.LastBlockID.  Expected \(e), got \(g)"
        case .wrongHash(let f, let e, let g): return "wrong Block.Header.\(f).  Expected \(Hex.upper(e)), got \(Hex.upper(g))"
        case .initialBlockHasLastCommitSignatures: return "initial block can't have LastCommit signatures"
        case .lastCommit(let e): return e.description
        case .proposerNotValidator(let a): return "block.Header.ProposerAddress \(Hex.upper(a)) is not a validator"
        case .timeNotIncreasing(let t, let l): return "block time \(t) not greater than last block time \(l)"
        case .wrongMedianTime(let e, let g): return "invalid block time. Expected \(e), got \(g)"
        case .wrongGenesisTime(let e, let g): return "block time \(g) is not equal to genesis time \(e)"
        case .evidenceOverflow(let m, let g): return "Too much evidence: Max \(m), got \(g)"
        case .commitValidatorNotFound(let a): return "error validating block while calculating median time: commit validator not found in validator set: \(Hex.upper(a))"
        }
    }
}

/// The slice of a node's `state.State` that block validation reads, without an application.
///
/// Lifecycle in blocksync (§3.4): verify `first` with `second.lastCommit`
/// (`validators.verifyCommitLight`), then `validateBlock(first)`, then
/// `applying(first, appHash:lastResultsHash:)`. Without an application the post-state app
/// hash and results hash are what a simulated application (e.g. `ChainBuilder`) says, or
/// unknown (`applying(_:blockID:)`, not checked next). `applying(_:committedBy:)` takes them
/// from the next header — only sound once that header is authenticated, so blocksync, which
/// applies `first` while `second` is still unverified, does not use it.
/// The validator set is static unless the caller passes a new next set.
public struct ChainState: Hashable, Sendable {
    public var chainID: String
    public var initialHeight: Int64
    public var version: ConsensusVersion
    /// 0 before the initial block.
    public var lastBlockHeight: Int64
    /// Zero before the initial block.
    public var lastBlockID: BlockID
    /// Genesis time before the initial block.
    public var lastBlockTime: Timestamp
    /// Validators for block `lastBlockHeight + 1` (they sign its commit).
    public var validators: ValidatorSet
    /// Validators for block `lastBlockHeight + 2` (`NextValidatorsHash`).
    public var nextValidators: ValidatorSet
    /// Validators of block `lastBlockHeight` (they signed the next block's `LastCommit`).
    public var lastValidators: ValidatorSet
    public var appHash: [UInt8]
    public var lastResultsHash: [UInt8]
    public var consensusParams: HashedParams
    /// `ConsensusParams.Evidence.MaxBytes` (default 1,048,576).
    public var evidenceMaxBytes: Int64
    /// When false, `AppHash` and `LastResultsHash` are not compared: for replaying a node
    /// whose application results are unknown (e.g. the first block after resuming from a
    /// store). A real node always checks them; this is a documented divergence, off by default.
    public var checksApplicationHashes: Bool = true

    public init(chainID: String, initialHeight: Int64 = 1, version: ConsensusVersion = ConsensusVersion(block: 11, app: 0),
                lastBlockHeight: Int64 = 0, lastBlockID: BlockID = BlockID(), lastBlockTime: Timestamp,
                validators: ValidatorSet, nextValidators: ValidatorSet? = nil, lastValidators: ValidatorSet? = nil,
                appHash: [UInt8] = [], lastResultsHash: [UInt8] = [], consensusParams: HashedParams = .cometDefault,
                evidenceMaxBytes: Int64 = 1_048_576) {
        self.chainID = chainID
        self.initialHeight = initialHeight
        self.version = version
        self.lastBlockHeight = lastBlockHeight
        self.lastBlockID = lastBlockID
        self.lastBlockTime = lastBlockTime
        self.validators = validators
        self.nextValidators = nextValidators ?? validators
        self.lastValidators = lastValidators ?? ValidatorSet()
        self.appHash = appHash
        self.lastResultsHash = lastResultsHash
        self.consensusParams = consensusParams
        self.evidenceMaxBytes = evidenceMaxBytes
    }

    /// The state before the initial block (`MakeGenesisState`): no last block, genesis time as
    /// last block time, genesis validators as current and next set, `LastResultsHash` of an
    /// empty result list (SHA256("") — `merkle.HashFromByteSlices(nil)`).
    public static func genesis(chainID: String, initialHeight: Int64 = 1, genesisTime: Timestamp,
                               validators: ValidatorSet, appHash: [UInt8] = [], appVersion: UInt64 = 0,
                               consensusParams: HashedParams = .cometDefault) -> ChainState {
        ChainState(chainID: chainID, initialHeight: initialHeight, version: ConsensusVersion(block: 11, app: appVersion),
                   lastBlockTime: genesisTime, validators: validators, appHash: appHash,
                   lastResultsHash: Merkle.root([]), consensusParams: consensusParams)
    }

    /// The height `validateBlock` expects next.
    public var nextHeight: Int64 { lastBlockHeight == 0 ? initialHeight : lastBlockHeight + 1 }

    /// Checks `block` as `state/validation.go validateBlock` does, except what needs an
    /// application (§4.5). `verifyLastCommit: false` is v0.38.22+'s `ValidateBlockSkipLastCommit`.
    public func validateBlock(_ block: Block, verifyLastCommit: Bool = true,
                              commitOptions: CommitVerificationOptions = .cometbft) throws(BlockValidationError) {
        var verified = VerifiedSignatures(capacity: 1)
        var hashes = StateHashes()
        try validateBlock(block, verifyLastCommit: verifyLastCommit, commitOptions: commitOptions, verified: &verified, hashes: &hashes)
    }

    /// `validateBlock`, with `LastCommit` signatures found valid before answered by `verified`
    /// (the pair check just verified most of them: issue 19, cometbft #1830) and the hashes of
    /// the state's validator sets and parameters taken from `hashes` when they are unchanged.
    /// `basicValidated`: this very block already passed `validateBasic` (the v0 reactor's
    /// receive path runs `BlockFromProto`'s checks, which end with it, before it pools a block),
    /// so it is not run again. Go runs it again here; it is a pure function of the block, so the
    /// outcome is the same and only its cost (two Merkle roots, of the txs and of the
    /// `LastCommit`) is saved (issue 19).
    public func validateBlock(_ block: Block, verifyLastCommit: Bool = true,
                              commitOptions: CommitVerificationOptions = .cometbft, basicValidated: Bool = false,
                              verified: inout VerifiedSignatures, hashes: inout StateHashes) throws(BlockValidationError) {
        if !basicValidated {
            do { try block.validateBasic() } catch { throw .basic(error) }
        }
        let h = block.header
        if h.version != version { throw .wrongVersion(expected: version, got: h.version) }
        if h.chainID != chainID { throw .wrongChainID(expected: chainID, got: h.chainID) }
        if lastBlockHeight == 0 && h.height != initialHeight {
            throw .wrongInitialHeight(expected: initialHeight, got: h.height)
        }
        if lastBlockHeight > 0 && h.height != lastBlockHeight &+ 1 {
            throw .wrongHeight(expected: lastBlockHeight + 1, got: h.height)
        }
        if h.lastBlockID != lastBlockID { throw .wrongLastBlockID(expected: lastBlockID, got: h.lastBlockID) }
        if checksApplicationHashes && h.appHash != appHash {
            throw .wrongHash(field: "AppHash", expected: appHash, got: h.appHash)
        }
        let cph = hashes.hash(of: consensusParams)
        if h.consensusHash != cph { throw .wrongHash(field: "ConsensusHash", expected: cph, got: h.consensusHash) }
        if checksApplicationHashes && h.lastResultsHash != lastResultsHash {
            throw .wrongHash(field: "LastResultsHash", expected: lastResultsHash, got: h.lastResultsHash)
        }
        let vh = hashes.hash(of: validators)
        if h.validatorsHash != vh { throw .wrongHash(field: "ValidatorsHash", expected: vh, got: h.validatorsHash) }
        let nvh = hashes.hash(of: nextValidators)
        if h.nextValidatorsHash != nvh { throw .wrongHash(field: "NextValidatorsHash", expected: nvh, got: h.nextValidatorsHash) }
        // validateBasic guaranteed lastCommit is present.
        let lastCommit = block.lastCommit ?? Commit()
        if h.height == initialHeight {
            if !lastCommit.signatures.isEmpty { throw .initialBlockHasLastCommitSignatures }
        } else if verifyLastCommit {
            do {
                try lastValidators.verifyCommit(chainID: chainID, blockID: lastBlockID, height: h.height - 1,
                                                commit: lastCommit, options: commitOptions, verified: &verified)
            } catch { throw .lastCommit(error) }
        }
        if !validators.contains(address: h.proposerAddress) { throw .proposerNotValidator(address: h.proposerAddress) }
        if h.height > initialHeight {
            if !(h.time > lastBlockTime) { throw .timeNotIncreasing(time: h.time, lastBlockTime: lastBlockTime) }
            if commitOptions.checkValidatorAddress,
               let unknown = lastCommit.signatures.first(where: { $0.blockIDFlag != .absent && !lastValidators.contains(address: $0.validatorAddress) }) {
                throw .commitValidatorNotFound(address: unknown.validatorAddress)
            }
            let median = Self.medianTime(lastCommit, validators: lastValidators)
            if h.time != median { throw .wrongMedianTime(expected: median, got: h.time) }
        } else if h.time != lastBlockTime {
            throw .wrongGenesisTime(expected: lastBlockTime, got: h.time)
        }
        let evidenceBytes = Int64(block.evidence.byteSize)
        if evidenceBytes > evidenceMaxBytes { throw .evidenceOverflow(max: evidenceMaxBytes, got: evidenceBytes) }
    }

    /// The state after `block`, whose application produced `appHash` and `lastResultsHash`
    /// (`state.Update` without validator or parameter changes unless `nextNextValidators` is given).
    public func applying(_ block: Block, blockID: BlockID? = nil, appHash: [UInt8], lastResultsHash: [UInt8],
                         nextNextValidators: ValidatorSet? = nil) -> ChainState {
        var s = self
        s.lastBlockHeight = block.header.height
        s.lastBlockID = blockID ?? block.blockID()
        s.lastBlockTime = block.header.time
        s.lastValidators = validators
        s.validators = nextValidators
        s.nextValidators = nextNextValidators ?? nextValidators
        s.appHash = appHash
        s.lastResultsHash = lastResultsHash
        s.checksApplicationHashes = true
        return s
    }

    /// The state of a node whose store ends at `lastBlock` (blocksync resuming at
    /// `lastBlock.height + 1`): the same validators signed `lastBlock` and sign the next ones
    /// unless `lastValidators` says otherwise. Pass `appHash` / `lastResultsHash` when known
    /// (e.g. from the next header); without them application hashes are not checked for the
    /// first block.
    public static func resuming(after lastBlock: Block, lastBlockID: BlockID? = nil, initialHeight: Int64 = 1,
                                validators: ValidatorSet, lastValidators: ValidatorSet? = nil,
                                appHash: [UInt8]? = nil, lastResultsHash: [UInt8]? = nil,
                                consensusParams: HashedParams = .cometDefault) -> ChainState {
        var s = ChainState(chainID: lastBlock.header.chainID, initialHeight: initialHeight, version: lastBlock.header.version,
                           lastBlockHeight: lastBlock.header.height, lastBlockID: lastBlockID ?? lastBlock.blockID(),
                           lastBlockTime: lastBlock.header.time, validators: validators,
                           lastValidators: lastValidators ?? validators, appHash: appHash ?? [],
                           lastResultsHash: lastResultsHash ?? [], consensusParams: consensusParams)
        s.checksApplicationHashes = appHash != nil && lastResultsHash != nil
        return s
    }

    /// The state after `block` when the application results are not known: the next
    /// `validateBlock` does not compare `AppHash` / `LastResultsHash` (they are taken from the
    /// validated block by the following `applying`). Prefer `applying(_:committedBy:)` or
    /// explicit results when they are available.
    public func applying(_ block: Block, blockID: BlockID? = nil) -> ChainState {
        var s = applying(block, blockID: blockID, appHash: appHash, lastResultsHash: lastResultsHash)
        s.checksApplicationHashes = false
        return s
    }

    /// The state after `block`, taking the application results from the header that follows it
    /// (what a syncing node without an application can know).
    public func applying(_ block: Block, blockID: BlockID? = nil, committedBy next: Header) -> ChainState {
        applying(block, blockID: blockID, appHash: next.appHash, lastResultsHash: next.lastResultsHash)
    }

    /// `MedianTime`: the voting-power-weighted median of the non-absent commit timestamps
    /// (validators found by address; unknown addresses ignored). Go's zero time if none.
    public static func medianTime(_ commit: Commit, validators: ValidatorSet) -> Timestamp {
        var weighted: [(Timestamp, Int64)] = []
        var total: Int64 = 0
        for sig in commit.signatures where sig.blockIDFlag != .absent {
            guard let (_, v) = validators.validator(address: sig.validatorAddress) else { continue }
            total = total &+ v.votingPower
            weighted.append((sig.timestamp, v.votingPower))
        }
        weighted.sort { $0.0.unixNanos < $1.0.unixNanos }
        var median = total / 2
        for (t, w) in weighted {
            if median <= w { return t }
            median -= w
        }
        return .goZero
    }
}

/// The hashes `validateBlock` compares a header with (`ValidatorsHash`, `NextValidatorsHash`,
/// `ConsensusHash`), remembered with the sets and parameters they were taken of. Go hashes the
/// state's sets for every block; they rarely change, so a block processor keeps one of these
/// across blocks and a set equal to one hashed before is not hashed again (issue 19: two Merkle
/// trees of 100 leaves a block on a 100-validator chain). Equality is checked in full (cheap
/// next to hashing: the arrays are usually the very same storage), so a changed set is always
/// hashed afresh. Holds the last two sets (current and next) and the last parameters.
public struct StateHashes: Sendable {
    private var sets: [(set: ValidatorSet, hash: [UInt8])] = []
    private var params: (params: HashedParams, hash: [UInt8])?

    public init() {}

    /// `set.hash()`.
    public mutating func hash(of set: ValidatorSet) -> [UInt8] {
        if let known = sets.first(where: { $0.set == set }) { return known.hash }
        let hash = set.hash()
        if sets.count == 2 { sets.removeFirst() }
        sets.append((set, hash))
        return hash
    }

    /// `params.hash()`.
    public mutating func hash(of params: HashedParams) -> [UInt8] {
        if let known = self.params, known.params == params { return known.hash }
        let hash = params.hash()
        self.params = (params, hash)
        return hash
    }
}
