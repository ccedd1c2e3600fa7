/// A `ValidateBasic` failure: a block, header, commit or signature that is malformed on its own,
/// with Go's error text (`types/block.go`, specs/cometbft-blocksync.md §4.4, §4.5).
public struct ValidateBasicError: Error, Hashable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    func wrapped(_ prefix: String) -> ValidateBasicError { ValidateBasicError("\(prefix): \(message)") }
}

/// Protocol limits of §1.6.
public enum Limits {
    public static let maxChainIDLength = 50
    public static let maxSignatureSize = 64
    public static let addressSize = 20
    public static let hashSize = 32
    public static let maxVotesCount = 10_000
    public static let maxBlockSizeBytes = 104_857_600
}

/// `ValidateHash`: empty or exactly 32 bytes.
func validateHash(_ h: [UInt8]) throws(ValidateBasicError) {
    if !h.isEmpty && h.count != Limits.hashSize {
        throw ValidateBasicError("expected size to be \(Limits.hashSize) bytes, got \(h.count) bytes")
    }
}

extension PartSetHeader {
    /// `PartSetHeader.ValidateBasic`: hash empty or 32 bytes (total is unsigned on the wire).
    public func validateBasic() throws(ValidateBasicError) {
        do { try validateHash(hash) } catch { throw error.wrapped("wrong Hash") }
    }
}

extension BlockID {
    /// `BlockID.ValidateBasic`.
    public func validateBasic() throws(ValidateBasicError) {
        do { try validateHash(hash) } catch { throw error.wrapped("wrong Hash") }
        do { try partSetHeader.validateBasic() } catch { throw error.wrapped("wrong PartSetHeader") }
    }
}

extension CommitSig {
    /// `CommitSig.ValidateBasic` (§4.4): a known flag; ABSENT carries nothing; otherwise a
    /// 20-byte address and a 1…64-byte signature.
    public func validateBasic() throws(ValidateBasicError) {
        switch blockIDFlag {
        case .absent:
            if !validatorAddress.isEmpty { throw ValidateBasicError("validator address is present") }
            if !timestamp.isGoZero { throw ValidateBasicError("time is present") }
            if !signature.isEmpty { throw ValidateBasicError("signature is present") }
        case .commit, .nil:
            if validatorAddress.count != Limits.addressSize {
                throw ValidateBasicError("expected ValidatorAddress size to be \(Limits.addressSize) bytes, got \(validatorAddress.count) bytes")
            }
            if signature.isEmpty { throw ValidateBasicError("signature is missing") }
            if signature.count > Limits.maxSignatureSize {
                throw ValidateBasicError("signature is too big (max: \(Limits.maxSignatureSize))")
            }
        default:
            throw ValidateBasicError("unknown BlockIDFlag: \(blockIDFlag.rawValue)")
        }
    }
}

extension Commit {
    /// `Commit.ValidateBasic` (§4.4): non-negative height and round; from height 1 a non-zero
    /// BlockID, at least one signature, and every signature basic-valid.
    public func validateBasic() throws(ValidateBasicError) {
        if height < 0 { throw ValidateBasicError("negative Height") }
        if round < 0 { throw ValidateBasicError("negative Round") }
        guard height >= 1 else { return }
        if blockID.isZero { throw ValidateBasicError("commit cannot be for nil block") }
        if signatures.isEmpty { throw ValidateBasicError("no signatures in commit") }
        for (i, sig) in signatures.enumerated() {
            do { try sig.validateBasic() } catch { throw error.wrapped("wrong CommitSig #\(i)") }
        }
    }
}

extension Header {
    /// `Header.ValidateBasic` (§4.5): block protocol 11, chain id ≤ 50 bytes, height > 0,
    /// well-formed LastBlockID, 32-byte (or empty) hashes, 20-byte proposer. AppHash is arbitrary.
    public func validateBasic() throws(ValidateBasicError) {
        if version.block != ConsensusVersion.blockProtocol {
            throw ValidateBasicError("block protocol is incorrect: got: \(version.block), want: \(ConsensusVersion.blockProtocol) ")
        }
        if chainID.utf8.count > Limits.maxChainIDLength {
            throw ValidateBasicError("chainID is too long; got: \(chainID.utf8.count), max: \(Limits.maxChainIDLength)")
        }
        if height < 0 { throw ValidateBasicError("negative Height") }
        if height == 0 { throw ValidateBasicError("zero Height") }
        do { try lastBlockID.validateBasic() } catch { throw error.wrapped("wrong LastBlockID") }
        let hashes: [(String, [UInt8])] = [("LastCommitHash", lastCommitHash), ("DataHash", dataHash), ("EvidenceHash", evidenceHash)]
        for (name, h) in hashes {
            do { try validateHash(h) } catch { throw error.wrapped("wrong \(name)") }
        }
        if proposerAddress.count != Limits.addressSize {
            throw ValidateBasicError("invalid ProposerAddress length; got: \(proposerAddress.count), expected: \(Limits.addressSize)")
        }
        let appHashes: [(String, [UInt8])] = [("ValidatorsHash", validatorsHash), ("NextValidatorsHash", nextValidatorsHash),
                                              ("ConsensusHash", consensusHash), ("LastResultsHash", lastResultsHash)]
        for (name, h) in appHashes {
            do { try validateHash(h) } catch { throw error.wrapped("wrong \(name)") }
        }
    }
}

extension Block {
    /// `Block.ValidateBasic` (§4.5): header basic, LastCommit present and basic-valid, and the
    /// header's LastCommitHash, DataHash and EvidenceHash equal to the contents' hashes.
    /// Evidence items are not validated individually (this module keeps them opaque).
    public func validateBasic() throws(ValidateBasicError) {
        do { try header.validateBasic() } catch { throw error.wrapped("invalid header") }
        guard let lastCommit else { throw ValidateBasicError("nil LastCommit") }
        do { try lastCommit.validateBasic() } catch { throw error.wrapped("wrong LastCommit") }
        let lch = lastCommit.hash()
        if header.lastCommitHash != lch {
            throw ValidateBasicError("wrong Header.LastCommitHash. Expected \(Hex.upper(lch)), got \(Hex.upper(header.lastCommitHash))")
        }
        let dh = data.hash()
        if header.dataHash != dh {
            throw ValidateBasicError("wrong Header.DataHash. Expected \(Hex.upper(dh)), got \(Hex.upper(header.dataHash))")
        }
        let eh = evidence.hash()
        if header.evidenceHash != eh {
            // Go prints the header's value as "Expected"; reproduced.
            throw ValidateBasicError("wrong Header.EvidenceHash. Expected \(Hex.upper(header.evidenceHash)), got \(Hex.upper(eh))")
        }
    }
}
