/// An offline check of one block from RPC JSON, as `syncreplay block verify` prints it: each
/// recomputed hash against what the header (or the node) claims, and, given a commit and
/// validators, every signature's verdict and the tallied power.
public struct BlockCheck: Sendable {
    public enum Outcome: Hashable, Sendable {
        case ok
        case failed
        /// Could not be checked with the inputs given (the reason says what is missing).
        case skipped(String)
    }

    /// One line of the report.
    public struct Finding: Hashable, Sendable {
        public let name: String
        public let outcome: Outcome
        public let detail: String
    }

    /// One commit signature's verdict.
    public struct SignatureLine: Hashable, Sendable {
        public let index: Int
        public let address: [UInt8]
        public let flag: BlockIDFlag
        public let verdict: SignatureVerdict
    }

    public private(set) var findings: [Finding] = []
    public private(set) var commitHeight: Int64?
    public private(set) var signatures: [SignatureLine] = []
    public private(set) var tally: CommitTally?

    /// True when nothing failed (skipped checks do not count).
    public var isValid: Bool { !findings.contains { $0.outcome == .failed } }

    /// Runs every check the inputs allow. `commit` is a commit for this block (e.g. `/commit`
    /// at the same height); without it the block's own `last_commit` is checked against
    /// `validators` (assumed unchanged from the previous height). `genesis` supplies the
    /// consensus parameters for `consensus_hash`.
    public init(block: Block, reportedBlockID: BlockID?, commit: (header: Header, commit: Commit)?,
                validators: ValidatorSet?, genesis: Genesis?, options: CommitVerificationOptions = .cometbft) {
        let h = block.header
        let id = block.blockID()
        compare("header hash", Hex.upper(id.hash), reportedBlockID.map { Hex.upper($0.hash) }, against: "the node's block_id")
        compare("part set header", "\(id.partSetHeader.total):\(Hex.upper(id.partSetHeader.hash))",
                reportedBlockID.map { "\($0.partSetHeader.total):\(Hex.upper($0.partSetHeader.hash))" }, against: "the node's block_id")
        if let lc = block.lastCommit {
            compare("last_commit_hash", Hex.upper(lc.hash()), Hex.upper(h.lastCommitHash),
                    against: "the header (\(lc.signatures.count) signatures)")
        } else {
            add("last_commit_hash", .failed, "the block has no last_commit")
        }
        compare("data_hash", Hex.upper(block.data.hash()), Hex.upper(h.dataHash), against: "the header (\(block.data.txs.count) txs)")
        compare("evidence_hash", Hex.upper(block.evidence.hash()), Hex.upper(h.evidenceHash), against: "the header")
        if let validators {
            compare("validators_hash", Hex.upper(validators.hash()), Hex.upper(h.validatorsHash),
                    against: "the header (\(validators.count) validators given)")
            add("proposer", validators.contains(address: h.proposerAddress) ? .ok : .failed,
                "\(Hex.upper(h.proposerAddress)) \(validators.contains(address: h.proposerAddress) ? "is" : "is not") in the validator set")
        } else {
            add("validators_hash", .skipped("no --validators"), Hex.upper(h.validatorsHash))
        }
        if let genesis {
            compare("consensus_hash", Hex.upper(genesis.consensusParams.hash()), Hex.upper(h.consensusHash),
                    against: "the header (params from genesis)")
        } else {
            add("consensus_hash", .skipped("needs the consensus params of a genesis file as --validators"), Hex.upper(h.consensusHash))
        }
        do {
            try block.validateBasic()
            add("validate basic", .ok, "Block.ValidateBasic passes")
        } catch {
            add("validate basic", .failed, error.message)
        }
        checkCommits(block: block, id: id, commit: commit, validators: validators, options: options)
    }

    private mutating func checkCommits(block: Block, id: BlockID, commit: (header: Header, commit: Commit)?,
                                       validators: ValidatorSet?, options: CommitVerificationOptions) {
        let chainID = block.header.chainID
        let target: (commit: Commit, blockID: BlockID, height: Int64, what: String)
        if let commit {
            if commit.header != block.header {
                add("commit header", .failed, "the signed header of --commit is not this block's header")
            }
            target = (commit.commit, id, block.header.height, "commit for this block")
        } else if let lc = block.lastCommit, block.header.height > 1, !lc.signatures.isEmpty {
            target = (lc, block.header.lastBlockID, block.header.height - 1,
                      "last_commit for the previous block (no --commit; validators assumed unchanged)")
        } else {
            add("commit", .skipped("no --commit"), "signatures for this block are not checked")
            return
        }
        guard let validators else {
            add("commit", .skipped("no --validators"), "\(target.what): \(target.commit.signatures.count) signatures not verified")
            return
        }
        commitHeight = target.height
        let t = validators.signatureVerdicts(chainID: chainID, commit: target.commit)
        tally = t
        signatures = target.commit.signatures.enumerated().map { i, s in
            SignatureLine(index: i, address: s.validatorAddress, flag: s.blockIDFlag, verdict: t.verdicts[i])
        }
        do {
            try validators.verifyCommitLight(chainID: chainID, blockID: target.blockID, height: target.height,
                                             commit: target.commit, options: options)
            try validators.verifyCommit(chainID: chainID, blockID: target.blockID, height: target.height,
                                        commit: target.commit, options: options)
            add("commit", .ok, "\(target.what): VerifyCommitLight and VerifyCommit pass")
        } catch {
            add("commit", .failed, "\(target.what): \(error.description)")
        }
    }

    private mutating func add(_ name: String, _ outcome: Outcome, _ detail: String) {
        findings.append(Finding(name: name, outcome: outcome, detail: detail))
    }

    private mutating func compare(_ name: String, _ computed: String, _ claimed: String?, against source: String) {
        guard let claimed else {
            add(name, .skipped("nothing to compare with"), computed)
            return
        }
        if computed == claimed {
            add(name, .ok, "\(computed) matches \(source)")
        } else {
            add(name, .failed, "recomputed \(computed), \(source) says \(claimed)")
        }
    }
}
