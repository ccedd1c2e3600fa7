import Crypto

/// Which variant of the commit checks a node version runs (specs/cometbft-blocksync.md §4.4).
public struct CommitVerificationOptions: Hashable, Sendable {
    /// cometbft errors when `vals.Validators[idx].Address != sig.ValidatorAddress`; tm v0.34 did not check.
    public var checkValidatorAddress: Bool
    /// cometbft runs `CommitSig.ValidateBasic` on every signature it looks at.
    public var validateSignatures: Bool

    public init(checkValidatorAddress: Bool, validateSignatures: Bool) {
        self.checkValidatorAddress = checkValidatorAddress
        self.validateSignatures = validateSignatures
    }

    /// tendermint v0.34 (`types/validator_set.go`): index lookup, no address check.
    public static let tendermintV034 = CommitVerificationOptions(checkValidatorAddress: false, validateSignatures: false)
    /// cometbft (`types/validation.go`): address check and `CommitSig.ValidateBasic`.
    public static let cometbft = CommitVerificationOptions(checkValidatorAddress: true, validateSignatures: true)
}

/// Why a commit does not prove a block, with Go's error texts (§4.4).
public enum CommitVerificationError: Error, Hashable, Sendable, CustomStringConvertible {
    case wrongSetSize(validators: Int, signatures: Int)
    case wrongHeight(expected: Int64, got: Int64)
    case wrongBlockID(expected: BlockID, got: BlockID)
    case invalidSignature(index: Int, reason: String)
    case wrongValidatorAddress(index: Int, expected: [UInt8], got: [UInt8])
    case wrongSignature(index: Int, signature: [UInt8])
    case insufficientVotingPower(got: Int64, needed: Int64)

    public var description: String {
        switch self {
        case .wrongSetSize(let v, let s): return "invalid commit -- wrong set size: \(v) vs \(s)"
        case .wrongHeight(let e, let g): return "invalid commit -- wrong height: \(e) vs \(g)"
        case .wrongBlockID(let e, let g): return "invalid commit -- wrong block ID: want \(e), got \(g)"
        case .invalidSignature(let i, let r): return "invalid signature at index \(i): \(r)"
        case .wrongValidatorAddress(let i, let e, let g):
            return "wrong validator address (#\(i)): expected \(Hex.upper(e)), got \(Hex.upper(g))"
        case .wrongSignature(let i, let s): return "wrong signature (#\(i)): \(Hex.upper(s))"
        case .insufficientVotingPower(let g, let n):
            return "invalid commit -- insufficient voting power: got \(g), needed more than \(n)"
        }
    }
}

/// ed25519 verification of one CometBFT signature. Go's `PubKey.VerifySignature` returns false
/// for a signature that is not 64 bytes or a key that is not 32 bytes; secp256k1 keys are not
/// supported here and never verify. swift-crypto (BoringSSL) rejects non-canonical encodings
/// that cometbft v0.38's ZIP-215 verifier would accept: they differ only on adversarial signatures.
public enum SignatureCheck {
    public static func verify(_ signature: [UInt8], message: [UInt8], key: PublicKey) -> Bool {
        guard case .ed25519(let raw) = key, raw.count == 32, signature.count == 64,
              let pk = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return false }
        return pk.isValidSignature(signature, for: message)
    }
}

extension ValidatorSet {
    /// `needed = TotalVotingPower * 2 / 3`; a commit proves a block when the tallied power exceeds it.
    public var votingPowerNeeded: Int64 { totalVotingPower / 3 * 2 + (totalVotingPower % 3) * 2 / 3 }

    /// `VerifyCommitLight` (§4.4): only COMMIT signatures are looked at (absent and nil are
    /// skipped), validator `i` signs signature `i`, and verification stops as soon as more
    /// than 2/3 of the power has been verified (later signatures are never checked).
    public func verifyCommitLight(chainID: String, blockID: BlockID, height: Int64, commit: Commit,
                                  options: CommitVerificationOptions = .cometbft) throws(CommitVerificationError) {
        try verifyBasics(blockID: blockID, height: height, commit: commit)
        let needed = votingPowerNeeded
        var tallied: Int64 = 0
        for (i, sig) in commit.signatures.enumerated() where sig.blockIDFlag == .commit {
            try verifyOne(index: i, sig: sig, chainID: chainID, commit: commit, options: options)
            tallied = tallied.addingReportingOverflow(validators[i].votingPower).partialValue
            if tallied > needed { return }
        }
        throw .insufficientVotingPower(got: tallied, needed: needed)
    }

    /// `VerifyCommit` (full, §4.4): every COMMIT and NIL signature is verified, only COMMIT
    /// power counts, no early exit.
    public func verifyCommit(chainID: String, blockID: BlockID, height: Int64, commit: Commit,
                             options: CommitVerificationOptions = .cometbft) throws(CommitVerificationError) {
        try verifyBasics(blockID: blockID, height: height, commit: commit)
        let needed = votingPowerNeeded
        var tallied: Int64 = 0
        for (i, sig) in commit.signatures.enumerated() where sig.blockIDFlag != .absent {
            try verifyOne(index: i, sig: sig, chainID: chainID, commit: commit, options: options)
            if sig.blockIDFlag == .commit {
                tallied = tallied.addingReportingOverflow(validators[i].votingPower).partialValue
            }
        }
        if tallied <= needed { throw .insufficientVotingPower(got: tallied, needed: needed) }
    }

    /// `verifyBasicValsAndCommit`: set size, height and BlockID agree.
    private func verifyBasics(blockID: BlockID, height: Int64, commit: Commit) throws(CommitVerificationError) {
        if validators.count != commit.signatures.count {
            throw .wrongSetSize(validators: validators.count, signatures: commit.signatures.count)
        }
        if height != commit.height { throw .wrongHeight(expected: height, got: commit.height) }
        if blockID != commit.blockID { throw .wrongBlockID(expected: blockID, got: commit.blockID) }
    }

    private func verifyOne(index i: Int, sig: CommitSig, chainID: String, commit: Commit,
                           options: CommitVerificationOptions) throws(CommitVerificationError) {
        if options.validateSignatures {
            do { try sig.validateBasic() } catch { throw .invalidSignature(index: i, reason: error.message) }
        }
        let val = validators[i]
        if options.checkValidatorAddress && val.address != sig.validatorAddress {
            throw .wrongValidatorAddress(index: i, expected: val.address, got: sig.validatorAddress)
        }
        let bytes = CanonicalVote(commit: commit, index: i, chainID: chainID).signBytes
        if !SignatureCheck.verify(sig.signature, message: bytes, key: val.pubKey) {
            throw .wrongSignature(index: i, signature: sig.signature)
        }
    }

    /// Every signature's verdict without early exit (for reports such as `block verify`):
    /// what a full check would say about each index, and the COMMIT power that verified.
    public func signatureVerdicts(chainID: String, commit: Commit) -> CommitTally {
        var verdicts: [SignatureVerdict] = []
        var tallied: Int64 = 0
        for (i, sig) in commit.signatures.enumerated() {
            guard i < validators.count else { verdicts.append(.noValidator); continue }
            let val = validators[i]
            if sig.blockIDFlag == .absent { verdicts.append(.absent); continue }
            if val.address != sig.validatorAddress {
                verdicts.append(.wrongAddress(expected: val.address))
                continue
            }
            let bytes = CanonicalVote(commit: commit, index: i, chainID: chainID).signBytes
            guard SignatureCheck.verify(sig.signature, message: bytes, key: val.pubKey) else {
                verdicts.append(.badSignature)
                continue
            }
            if sig.blockIDFlag == .commit {
                tallied = tallied.addingReportingOverflow(val.votingPower).partialValue
                verdicts.append(.validCommit(power: val.votingPower))
            } else {
                verdicts.append(.validNil(power: val.votingPower))
            }
        }
        return CommitTally(verdicts: verdicts, tallied: tallied, total: totalVotingPower, needed: votingPowerNeeded)
    }
}

/// The verdict on one commit signature.
public enum SignatureVerdict: Hashable, Sendable {
    case absent
    case validCommit(power: Int64)
    case validNil(power: Int64)
    case badSignature
    case wrongAddress(expected: [UInt8])
    case noValidator
}

/// All signature verdicts of a commit and the tallied COMMIT power.
public struct CommitTally: Hashable, Sendable {
    public let verdicts: [SignatureVerdict]
    public let tallied: Int64
    public let total: Int64
    public let needed: Int64
    /// More than 2/3 of the power signed for the block.
    public var hasQuorum: Bool { tallied > needed }
}
