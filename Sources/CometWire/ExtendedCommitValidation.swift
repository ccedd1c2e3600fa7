import HexCoding
/// Vote-extension checks of cometbft v0.38+ (`types/block.go`, `types/validation.go`;
/// specs/cometbft-blocksync.md §3.4 step 4).
public enum VoteExtensionLimits {
    /// `MaxVoteExtensionSize`.
    public static let maxVoteExtensionSize = 1024 * 1024
}

extension ExtendedCommitSig {
    /// `ExtendedCommitSig.ValidateBasic`: the commit-signature rules, then size limits on the
    /// extension of a COMMIT vote; other votes may not carry an extension without its signature.
    public func validateBasic() throws(ValidateBasicError) {
        try commitSig.validateBasic()
        if blockIDFlag == .commit {
            if extension_.count > VoteExtensionLimits.maxVoteExtensionSize {
                throw ValidateBasicError("vote extension is too big (max: \(VoteExtensionLimits.maxVoteExtensionSize))")
            }
            if extensionSignature.count > Limits.maxSignatureSize {
                throw ValidateBasicError("vote extension signature is too big (max: \(Limits.maxSignatureSize))")
            }
            return
        }
        if extensionSignature.isEmpty && !extension_.isEmpty {
            throw ValidateBasicError("vote extension signature absent on vote with extension")
        }
    }

    /// `EnsureExtension(extEnabled)`: with extensions enabled every COMMIT vote carries an
    /// extension signature and no other vote carries extension data; disabled, none does.
    public func ensureExtension(enabled: Bool) throws(ValidateBasicError) {
        let who = "validator addr \(Hex.upper(validatorAddress)), timestamp \(timestamp)"
        if enabled {
            if blockIDFlag == .commit && extensionSignature.isEmpty {
                throw ValidateBasicError("vote extension signature is missing; \(who)")
            }
            if blockIDFlag != .commit && !extension_.isEmpty { throw ValidateBasicError("non-commit vote extension present; \(who)") }
            if blockIDFlag != .commit && !extensionSignature.isEmpty {
                throw ValidateBasicError("non-commit vote extension signature present; \(who)")
            }
        } else {
            if !extension_.isEmpty { throw ValidateBasicError("vote extension present but extensions disabled; \(who)") }
            if !extensionSignature.isEmpty {
                throw ValidateBasicError("vote extension signature present but extensions disabled; \(who)")
            }
        }
    }
}

extension ExtendedCommit {
    /// `ExtendedCommit.ValidateBasic`.
    public func validateBasic() throws(ValidateBasicError) {
        if height < 0 { throw ValidateBasicError("negative Height") }
        if round < 0 { throw ValidateBasicError("negative Round") }
        guard height >= 1 else { return }
        if blockID.isZero { throw ValidateBasicError("commit cannot be for nil block") }
        if extendedSignatures.isEmpty { throw ValidateBasicError("no signatures in commit") }
        for (i, sig) in extendedSignatures.enumerated() {
            do { try sig.validateBasic() } catch { throw error.wrapped("wrong ExtendedCommitSig #\(i)") }
        }
    }

    /// `ExtendedCommit.EnsureExtensions(extEnabled)`.
    public func ensureExtensions(enabled: Bool) throws(ValidateBasicError) {
        for sig in extendedSignatures { try sig.ensureExtension(enabled: enabled) }
    }
}

/// Why an extended commit does not verify.
public enum ExtendedCommitVerificationError: Error, Hashable, Sendable, CustomStringConvertible {
    case missingExtensions(ValidateBasicError)
    case commit(CommitVerificationError)
    case wrongExtensionSignature(index: Int, signature: [UInt8])

    public var description: String {
        switch self {
        case .missingExtensions(let e): return e.description
        case .commit(let e): return e.description
        // v0.38 `VerifyCommitExtended`'s wording (`ErrVoteInvalidSignature`).
        case .wrongExtensionSignature(let i, _): return "invalid vote extension signature (val #\(i)): invalid signature"
        }
    }
}

extension ValidatorSet {
    /// `VerifyCommitExtended` (v0.38.22+): extensions present, full `VerifyCommit` of the
    /// stripped commit, then every COMMIT vote's extension signature over
    /// `CanonicalVoteExtension` (§4.3).
    public func verifyExtendedCommit(chainID: String, blockID: BlockID, height: Int64, extendedCommit ext: ExtendedCommit,
                                     options: CommitVerificationOptions = .cometbft) throws(ExtendedCommitVerificationError) {
        do { try ext.ensureExtensions(enabled: true) } catch { throw .missingExtensions(error) }
        do {
            try verifyCommit(chainID: chainID, blockID: blockID, height: height, commit: ext.commit, options: options)
        } catch { throw .commit(error) }
        for (i, sig) in ext.extendedSignatures.enumerated() where sig.blockIDFlag == .commit {
            let bytes = voteExtensionSignBytes(extension: sig.extension_, height: ext.height, round: Int64(ext.round), chainID: chainID)
            if !SignatureCheck.verify(sig.extensionSignature, message: bytes, key: validators[i].pubKey) {
                throw .wrongExtensionSignature(index: i, signature: sig.extensionSignature)
            }
        }
    }
}

extension Block {
    /// What `BlockFromProto` checks when a node decodes a received block (§1.5, §3.2), in its
    /// order: `Header.ValidateBasic`; for the LastCommit `BlockID.ValidateBasic`, every
    /// `CommitSig.ValidateBasic` (at any height) and `Commit.ValidateBasic`; then
    /// `Block.ValidateBasic`. (Evidence items are opaque here and not validated.)
    public func validateFromProto() throws(ValidateBasicError) {
        try header.validateBasic()
        if let lastCommit {
            try lastCommit.blockID.validateBasic()
            for sig in lastCommit.signatures { try sig.validateBasic() }
            try lastCommit.validateBasic()
        }
        try validateBasic()
    }
}

extension ExtendedCommit {
    /// What `ExtendedCommitFromProto` checks: BlockID, every signature, then `ValidateBasic`.
    public func validateFromProto() throws(ValidateBasicError) {
        try blockID.validateBasic()
        for sig in extendedSignatures { try sig.validateBasic() }
        try validateBasic()
    }
}
