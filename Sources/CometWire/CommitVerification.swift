import HexCoding
import Crypto

/// Which variant of the commit checks a node version runs (`types/validation.go`; tm v0.34:
/// `types/validator_set.go`; specs/cometbft-blocksync.md §4.4). Read from the tagged sources:
/// batch verification from cometbft v0.38.0, `CommitSig.ValidateBasic` in the single path from
/// v0.38.3, the index/address check from v0.38.21.
public struct CommitVerificationOptions: Hashable, Sendable {
    /// Error when `vals.Validators[idx].Address != sig.ValidatorAddress`.
    public var checkValidatorAddress: Bool
    /// Run `CommitSig.ValidateBasic` on every looked-at signature (single-verification path only).
    public var validateSignatures: Bool
    /// Use cometbft's batch path when the commit has ≥ 2 signatures and every key is ed25519:
    /// collect signatures (address checks, power tally, early stop) first, report too little
    /// power before any bad signature, then report the first invalid collected signature.
    /// Results equal the batch verifier's; signatures are still checked one by one.
    public var batchVerification: Bool

    public init(checkValidatorAddress: Bool, validateSignatures: Bool, batchVerification: Bool) {
        self.checkValidatorAddress = checkValidatorAddress
        self.validateSignatures = validateSignatures
        self.batchVerification = batchVerification
    }

    /// tendermint v0.34 and cometbft v0.34/v0.37: single verification by index, no address check.
    public static let tendermintV034 = CommitVerificationOptions(checkValidatorAddress: false, validateSignatures: false, batchVerification: false)
    /// cometbft v0.38.0–v0.38.2: batch path added.
    public static let cometbftV038 = CommitVerificationOptions(checkValidatorAddress: false, validateSignatures: false, batchVerification: true)
    /// cometbft v0.38.3–v0.38.20 and v1.0.x: `CommitSig.ValidateBasic` in the single path.
    public static let cometbftV038_3 = CommitVerificationOptions(checkValidatorAddress: false, validateSignatures: true, batchVerification: true)
    /// cometbft v0.38.21+: validator address checked against the index.
    public static let cometbftV038_21 = CommitVerificationOptions(checkValidatorAddress: true, validateSignatures: true, batchVerification: true)
    /// The newest behaviour (`cometbftV038_21`).
    public static let cometbft = cometbftV038_21
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
        case .wrongSetSize(let v, let s): return "Invalid commit -- wrong set size: \(v) vs \(s)"
        case .wrongHeight(let e, let g): return "Invalid commit -- wrong height: \(e) vs \(g)"
        case .wrongBlockID(let e, let g): return "invalid commit -- wrong block ID: want \(e), got \(g)"
        case .invalidSignature(let i, let r): return "invalid signatures at index \(i): \(r)"
        case .wrongValidatorAddress(let i, let e, let g):
            return "validator address mismatch at index \(i): expected \(Hex.upper(e)), got \(Hex.upper(g))"
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

extension SignatureCheck {
    /// An ed25519 key parsed once for many verifications (issue 19 item 3: the shell's verifier
    /// ahead checks every block's commit with the same few keys); its verdicts are `verify`'s.
    public struct PreparedKey: Sendable {
        private let key: Curve25519.Signing.PublicKey

        /// nil for a key `verify` never accepts (not ed25519, not 32 bytes, not a curve point).
        public init?(_ key: PublicKey) {
            guard case .ed25519(let raw) = key, raw.count == 32,
                  let pk = try? Curve25519.Signing.PublicKey(rawRepresentation: raw) else { return nil }
            self.key = pk
        }

        /// `SignatureCheck.verify(signature, message: message, key: <this key>)`.
        public func verify(_ signature: [UInt8], message: [UInt8]) -> Bool {
            signature.count == 64 && key.isValidSignature(signature, for: message)
        }
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
        try verifySignatures(chainID: chainID, commit: commit, options: options, full: false) { i, bytes in
            SignatureCheck.verify(commit.signatures[i].signature, message: bytes, key: validators[i].pubKey)
        }
    }

    /// `verifyCommitLight`, with signatures found valid before answered by `verified` (issue 19:
    /// the same outcome, each signature verified once).
    public func verifyCommitLight(chainID: String, blockID: BlockID, height: Int64, commit: Commit,
                                  options: CommitVerificationOptions = .cometbft,
                                  verified: inout VerifiedSignatures) throws(CommitVerificationError) {
        try verifyBasics(blockID: blockID, height: height, commit: commit)
        try verifySignatures(chainID: chainID, commit: commit, options: options, full: false) { i, bytes in
            verified.verify(commit.signatures[i].signature, message: bytes, key: validators[i].pubKey, height: commit.height)
        }
    }

    /// `VerifyCommit` (full, §4.4): every COMMIT and NIL signature is verified, only COMMIT
    /// power counts, no early exit.
    public func verifyCommit(chainID: String, blockID: BlockID, height: Int64, commit: Commit,
                             options: CommitVerificationOptions = .cometbft) throws(CommitVerificationError) {
        try verifyBasics(blockID: blockID, height: height, commit: commit)
        try verifySignatures(chainID: chainID, commit: commit, options: options, full: true) { i, bytes in
            SignatureCheck.verify(commit.signatures[i].signature, message: bytes, key: validators[i].pubKey)
        }
    }

    /// `verifyCommit`, with signatures found valid before answered by `verified`.
    public func verifyCommit(chainID: String, blockID: BlockID, height: Int64, commit: Commit,
                             options: CommitVerificationOptions = .cometbft,
                             verified: inout VerifiedSignatures) throws(CommitVerificationError) {
        try verifyBasics(blockID: blockID, height: height, commit: commit)
        try verifySignatures(chainID: chainID, commit: commit, options: options, full: true) { i, bytes in
            verified.verify(commit.signatures[i].signature, message: bytes, key: validators[i].pubKey, height: commit.height)
        }
    }

    /// `shouldBatchVerify`: at least 2 signatures and every key ed25519.
    private func usesBatchPath(_ commit: Commit, _ options: CommitVerificationOptions) -> Bool {
        guard options.batchVerification, commit.signatures.count >= 2 else { return false }
        return validators.allSatisfy { if case .ed25519 = $0.pubKey { return true } else { return false } }
    }

    /// The signature loop shared by the light and full checks; `verifies(i, signBytes)` checks
    /// signature `i` (directly, or through a `VerifiedSignatures`).
    private func verifySignatures(chainID: String, commit: Commit, options: CommitVerificationOptions,
                                  full: Bool, verifies: (Int, [UInt8]) -> Bool) throws(CommitVerificationError) {
        let needed = votingPowerNeeded
        var tallied: Int64 = 0
        // Light ignores everything but COMMIT and counts all it checks; full ignores ABSENT and counts COMMIT.
        func ignored(_ s: CommitSig) -> Bool { full ? s.blockIDFlag == .absent : s.blockIDFlag != .commit }
        func counted(_ s: CommitSig) -> Bool { full ? s.blockIDFlag == .commit : true }
        let signBytes = CommitSignBytes(commit: commit, chainID: chainID)
        if usesBatchPath(commit, options) {
            var collected: [Int] = []
            for (i, sig) in commit.signatures.enumerated() where !ignored(sig) {
                let val = validators[i]
                if options.checkValidatorAddress && val.address != sig.validatorAddress {
                    throw .wrongValidatorAddress(index: i, expected: val.address, got: sig.validatorAddress)
                }
                // `BatchVerifier.Add` rejects a signature that is not 64 bytes.
                if sig.signature.count != 64 { throw .invalidSignature(index: i, reason: "invalid signature") }
                collected.append(i)
                if counted(sig) { tallied = tallied.addingReportingOverflow(val.votingPower).partialValue }
                if !full && tallied > needed { break }
            }
            if tallied <= needed { throw .insufficientVotingPower(got: tallied, needed: needed) }
            for i in collected where !verifies(i, signBytes.bytes(i)) {
                throw .wrongSignature(index: i, signature: commit.signatures[i].signature)
            }
            return
        }
        for (i, sig) in commit.signatures.enumerated() where !ignored(sig) {
            if options.validateSignatures {
                do { try sig.validateBasic() } catch { throw .invalidSignature(index: i, reason: error.message) }
            }
            let val = validators[i]
            if options.checkValidatorAddress && val.address != sig.validatorAddress {
                throw .wrongValidatorAddress(index: i, expected: val.address, got: sig.validatorAddress)
            }
            if !verifies(i, signBytes.bytes(i)) {
                throw .wrongSignature(index: i, signature: sig.signature)
            }
            if counted(sig) { tallied = tallied.addingReportingOverflow(val.votingPower).partialValue }
            if !full && tallied > needed { return }
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
