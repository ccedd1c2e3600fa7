import Crypto
import Foundation

/// Builds deterministic CometBFT chains with real ed25519-signed commits, for the simulator
/// and tests (issue 3). Everything is derived from the configuration: validator keys are
/// `SHA256(seed ‖ "validator" ‖ index as UInt32 big-endian)` used as ed25519 private-key
/// seeds, block times are the genesis time and then the weighted median of the previous
/// commit's vote times (which are `blockTime + interval + index ms`), transactions are
/// `key=value` strings hashed from the seed. No clock or randomness: the same configuration
/// gives the same bytes (swift-crypto's ed25519 signing on Linux is RFC 8032 deterministic).
///
/// The "application" is kvstore-like: the app hash after a block is the 8-byte big-endian
/// count of all transactions so far, and every transaction result is empty (code 0), so the
/// results hash is the merkle root of one empty leaf per transaction.
public struct ChainBuilder: Sendable {
    public struct Configuration: Hashable, Sendable {
        public var seed: [UInt8]
        public var chainID: String
        /// One entry per validator (before sorting into set order).
        public var validatorPowers: [Int64]
        /// Number of blocks.
        public var length: Int
        public var txsPerBlock: Int
        public var genesisTime: Timestamp
        /// Nominal time between blocks, in nanoseconds.
        public var blockInterval: Int64
        public var initialHeight: Int64
        public var appVersion: UInt64
        /// Validators (set-order indices) whose precommit is always missing (flag ABSENT).
        public var absentValidators: Set<Int> = []
        /// Validators (set-order indices) that always precommit nil (flag NIL, signed, not counted).
        public var nilVoters: Set<Int> = []

        public init(seed: [UInt8], chainID: String = "syncreplay-chain", validatorPowers: [Int64] = [10, 10, 10, 10],
                    length: Int, txsPerBlock: Int = 2, genesisTime: Timestamp = Timestamp(seconds: 1_700_000_000, nanos: 0),
                    blockInterval: Int64 = 1_000_000_000, initialHeight: Int64 = 1, appVersion: UInt64 = 1) {
            self.seed = seed
            self.chainID = chainID
            self.validatorPowers = validatorPowers
            self.length = length
            self.txsPerBlock = txsPerBlock
            self.genesisTime = genesisTime
            self.blockInterval = blockInterval
            self.initialHeight = initialHeight
            self.appVersion = appVersion
        }
    }

    /// A way to make the chain invalid at one height; blocks above it are built (and fully
    /// signed) on top of the bad one, as a byzantine peer would serve them.
    public enum Variant: Hashable, Sendable {
        case valid
        /// Validator `validator`'s signature in the commit for `height` is corrupted. With
        /// `VerifyCommitLight` this is only noticed if the signature is checked before +2/3 is reached.
        case badSignature(height: Int64, validator: Int)
        /// The commit for `height` is signed by validators holding at most 2/3 of the power.
        case insufficientPower(height: Int64)
        /// Block `height`'s header names a wrong previous block (still fully signed).
        case wrongLastBlockID(height: Int64)
        /// Block `height`'s header carries a wrong app hash (still fully signed).
        case wrongAppHash(height: Int64)
        /// Block `height`'s header carries a wrong validators hash (still fully signed).
        case wrongValidatorsHash(height: Int64)
        /// Block `height` is replaced by a sibling with other transactions whose commit is
        /// signed only by a minority (at most 1/3 of the power).
        case forkedByMinority(height: Int64)
    }

    public let configuration: Configuration
    /// Private keys in validator-set order.
    public let keys: [Curve25519.Signing.PrivateKey]
    public let validatorSet: ValidatorSet

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        var pairs: [(Validator, Curve25519.Signing.PrivateKey)] = []
        for (i, power) in configuration.validatorPowers.enumerated() {
            let key = Self.privateKey(seed: configuration.seed, index: i)
            pairs.append((Validator(ed25519: Array(key.publicKey.rawRepresentation), votingPower: power), key))
        }
        pairs.sort { a, b in
            a.0.votingPower != b.0.votingPower ? a.0.votingPower > b.0.votingPower : a.0.address.lexicographicallyPrecedes(b.0.address)
        }
        self.keys = pairs.map(\.1)
        self.validatorSet = ValidatorSet(validators: pairs.map(\.0))
    }

    /// The ed25519 key of validator `index` (creation order): seed = SHA256(seed ‖ "validator" ‖ index BE32).
    public static func privateKey(seed: [UInt8], index: Int) -> Curve25519.Signing.PrivateKey {
        let i = UInt32(truncatingIfNeeded: index)
        let material = seed + Array("validator".utf8) + [UInt8(i >> 24), UInt8(i >> 16 & 0xff), UInt8(i >> 8 & 0xff), UInt8(i & 0xff)]
        // A 32-byte seed is always a valid ed25519 private key.
        return try! Curve25519.Signing.PrivateKey(rawRepresentation: Merkle.sha256(material))
    }

    /// The state before the initial block.
    public var genesisState: ChainState {
        ChainState.genesis(chainID: configuration.chainID, initialHeight: configuration.initialHeight,
                           genesisTime: configuration.genesisTime, validators: validatorSet, appVersion: configuration.appVersion)
    }

    /// The honest application's app hash after `txCount` transactions in total.
    public static func appHash(totalTxs: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: totalTxs >> (8 * (7 - UInt64($0)))) }
    }

    /// The honest application's results hash for a block with `txCount` transactions.
    public static func resultsHash(txCount: Int) -> [UInt8] {
        Merkle.root(Array(repeating: [], count: txCount))
    }

    /// The transactions of block `height` (`fork` salts them for a sibling block).
    public func transactions(height: Int64, fork: Bool = false) -> [[UInt8]] {
        (0..<configuration.txsPerBlock).map { i in
            let digest = Merkle.sha256(configuration.seed + Array("tx/\(height)/\(i)\(fork ? "/fork" : "")".utf8))
            return Array("k\(height).\(i)=\(Hex.lower(digest.prefix(8)))".utf8)
        }
    }

    /// Signs the precommit of validator `index` for `blockID` (nil: a nil vote).
    public func sign(index: Int, height: Int64, round: Int32 = 0, blockID: BlockID?, timestamp: Timestamp) -> CommitSig {
        let vote = CanonicalVote(type: .precommit, height: height, round: Int64(round), blockID: blockID,
                                 timestamp: timestamp, chainID: configuration.chainID)
        // ed25519 signing with a valid key does not fail.
        let sig = try! keys[index].signature(for: vote.signBytes)
        return CommitSig(blockIDFlag: blockID == nil ? .nil : .commit, validatorAddress: validatorSet.validators[index].address,
                         timestamp: timestamp, signature: Array(sig))
    }

    /// A commit for `blockID` at `height` signed by the validators in `signers` (others absent).
    /// `configuration.absentValidators` are absent and `nilVoters` vote nil in every commit.
    public func commit(height: Int64, blockID: BlockID, blockTime: Timestamp, signers: Set<Int>? = nil) -> Commit {
        let sigs = validatorSet.validators.indices.map { i -> CommitSig in
            guard signers?.contains(i) ?? true, !configuration.absentValidators.contains(i) else { return .absent }
            let t = blockTime.adding(nanoseconds: configuration.blockInterval &+ Int64(i) * 1_000_000)
            return sign(index: i, height: height, blockID: configuration.nilVoters.contains(i) ? nil : blockID, timestamp: t)
        }
        return Commit(height: height, round: 0, blockID: blockID, signatures: sigs)
    }

    /// The extended commit for `commit` (cometbft v0.38+ `BlockResponse.ext_commit`): every
    /// COMMIT vote carries the extension `"ext/<height>/<index>"` and its signature.
    public func extendedCommit(_ commit: Commit) -> ExtendedCommit {
        let sigs = commit.signatures.enumerated().map { i, s -> ExtendedCommitSig in
            guard s.blockIDFlag == .commit else {
                return ExtendedCommitSig(blockIDFlag: s.blockIDFlag, validatorAddress: s.validatorAddress, timestamp: s.timestamp,
                                         signature: s.signature, extension: [], extensionSignature: [])
            }
            let ext = Array("ext/\(commit.height)/\(i)".utf8)
            let bytes = voteExtensionSignBytes(extension: ext, height: commit.height, round: Int64(commit.round), chainID: configuration.chainID)
            // ed25519 signing with a valid key does not fail.
            let extSig = Array(try! keys[i].signature(for: bytes))
            return ExtendedCommitSig(blockIDFlag: s.blockIDFlag, validatorAddress: s.validatorAddress, timestamp: s.timestamp,
                                     signature: s.signature, extension: ext, extensionSignature: extSig)
        }
        return ExtendedCommit(height: commit.height, round: commit.round, blockID: commit.blockID, extendedSignatures: sigs)
    }

    /// Validator indices, in set order, whose power stays at most `limit`.
    private func signers(upTo limit: Int64) -> Set<Int> {
        var chosen = Set<Int>()
        var power: Int64 = 0
        for (i, v) in validatorSet.validators.enumerated() where power + v.votingPower <= limit {
            chosen.insert(i)
            power += v.votingPower
        }
        return chosen
    }

    /// Builds the chain (valid, or invalid as `variant` says).
    public func build(_ variant: Variant = .valid) -> Chain {
        let c = configuration
        var blocks: [Block] = []
        var ids: [BlockID] = []
        var appHashes: [[UInt8]] = []
        var resultsHashes: [[UInt8]] = []
        var lastCommit = Commit()
        var lastID = BlockID()
        var totalTxs: UInt64 = 0
        let vh = validatorSet.hash()
        let total = validatorSet.totalVotingPower
        for i in 0..<max(c.length, 0) {
            let height = c.initialHeight + Int64(i)
            var header = Header()
            header.version = ConsensusVersion(block: ConsensusVersion.blockProtocol, app: c.appVersion)
            header.chainID = c.chainID
            header.height = height
            header.time = i == 0 ? c.genesisTime : ChainState.medianTime(lastCommit, validators: validatorSet)
            header.lastBlockID = lastID
            header.validatorsHash = vh
            header.nextValidatorsHash = vh
            header.consensusHash = HashedParams.cometDefault.hash()
            header.appHash = i == 0 ? [] : appHashes[i - 1]
            header.lastResultsHash = i == 0 ? Merkle.root([]) : resultsHashes[i - 1]
            header.proposerAddress = validatorSet.count == 0 ? [] : validatorSet.validators[i % validatorSet.count].address
            let fork = variant == .forkedByMinority(height: height)
            var block = Block(header: header, data: BlockData(txs: transactions(height: height, fork: fork)), lastCommit: lastCommit)
            block.fillHeaderHashes()
            switch variant {
            case .wrongLastBlockID(height): block.header.lastBlockID.hash = Merkle.sha256(Array("wrong last block \(height)".utf8))
            case .wrongAppHash(height): block.header.appHash = Merkle.sha256(Array("wrong app hash \(height)".utf8))
            case .wrongValidatorsHash(height): block.header.validatorsHash = Merkle.sha256(Array("wrong validators \(height)".utf8))
            default: break
            }
            let id = block.blockID()
            var signers: Set<Int>?
            if variant == .insufficientPower(height: height) { signers = self.signers(upTo: total * 2 / 3) }
            if fork { signers = self.signers(upTo: total / 3) }
            var commit = self.commit(height: height, blockID: id, blockTime: block.header.time, signers: signers)
            if case .badSignature(height, let v) = variant, commit.signatures.indices.contains(v) {
                commit.signatures[v].signature[0] ^= 0x01
            }
            totalTxs += UInt64(block.data.txs.count)
            appHashes.append(Self.appHash(totalTxs: totalTxs))
            resultsHashes.append(Self.resultsHash(txCount: block.data.txs.count))
            blocks.append(block)
            ids.append(id)
            lastCommit = commit
            lastID = id
        }
        return Chain(genesisState: genesisState, blocks: blocks, blockIDs: ids, seenCommit: lastCommit,
                     appHashes: appHashes, resultsHashes: resultsHashes)
    }
}

/// A built chain: blocks `initialHeight…`, their IDs, the seen commit of the newest block, and
/// the honest application's results after each block.
public struct Chain: Hashable, Sendable {
    public let genesisState: ChainState
    public let blocks: [Block]
    public let blockIDs: [BlockID]
    /// The commit for the last block (what the node stores as its seen commit).
    public let seenCommit: Commit
    /// `appHashes[i]`: the app hash after `blocks[i]` (what `blocks[i+1].header.appHash` must be).
    public let appHashes: [[UInt8]]
    public let resultsHashes: [[UInt8]]

    public var initialHeight: Int64 { genesisState.initialHeight }
    /// The newest height (initialHeight − 1 when empty).
    public var height: Int64 { initialHeight + Int64(blocks.count) - 1 }

    private func index(_ height: Int64) -> Int? {
        let i = height - initialHeight
        return i >= 0 && i < Int64(blocks.count) ? Int(i) : nil
    }

    public func block(at height: Int64) -> Block? { index(height).map { blocks[$0] } }
    public func blockID(at height: Int64) -> BlockID? { index(height).map { blockIDs[$0] } }

    /// The commit for block `height`: the next block's `LastCommit`, or the seen commit.
    public func commit(for height: Int64) -> Commit? {
        guard let i = index(height) else { return nil }
        return i + 1 < blocks.count ? blocks[i + 1].lastCommit : seenCommit
    }

    /// The state after applying blocks up to `height` with the honest application
    /// (`initialHeight − 1` gives the genesis state).
    public func state(after height: Int64) -> ChainState {
        var s = genesisState
        var h = initialHeight
        while h <= height, let i = index(h) {
            s = s.applying(blocks[i], blockID: blockIDs[i], appHash: appHashes[i], lastResultsHash: resultsHashes[i])
            h += 1
        }
        return s
    }

    /// The `BlockResponse` a peer sends for `height` (no extended commit).
    public func blockResponse(at height: Int64) -> BlocksyncMessage? {
        block(at: height).map { .blockResponse(block: $0, extCommit: nil) }
    }
}
