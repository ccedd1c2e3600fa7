import CCryptoBoringSSL
import Foundation
import ProtoWire

/// RFC 6962 merkle tree over SHA-256 as CometBFT's `crypto/merkle` computes it (§4.1):
/// empty → SHA256(""), leaf = SHA256(0x00‖item), inner = SHA256(0x01‖left‖right), split at the
/// largest power of two smaller than the item count.
public enum Merkle {
    /// `merkle.HashFromByteSlices`.
    public static func root(_ items: [[UInt8]]) -> [UInt8] {
        rootDigest(items).bytes
    }

    /// `tmhash.Sum`: plain SHA-256.
    public static func sha256(_ bytes: some Sequence<UInt8>) -> [UInt8] {
        Array(bytes).withUnsafeBytes { Digest(hashing: $0) }.bytes
    }

    public static func leafHash(_ item: some Collection<UInt8>) -> [UInt8] {
        Array(item).withUnsafeBytes { leafDigest($0) }.bytes
    }

    public static func innerHash(_ left: [UInt8], _ right: [UInt8]) -> [UInt8] {
        ([1] + left + right).withUnsafeBytes { Digest(hashing: $0) }.bytes
    }

    /// The root as a digest value: the tree's inner nodes are 32-byte values, not arrays
    /// (issue 19: a header hash built 27 arrays and 27 more for the digests).
    static func rootDigest(_ items: [[UInt8]]) -> Digest {
        rootDigest(count: items.count) { i in items[i].withUnsafeBytes { leafDigest($0) } }
    }

    /// The root over `count` leaves lying one after another in `bytes`, leaf `i` at `range(i)`:
    /// hashed in place, with no array of slices (issue 19: header, commit and part set).
    static func rootDigest(of bytes: [UInt8], count: Int, range: (Int) -> Range<Int>) -> Digest {
        bytes.withUnsafeBytes { buffer in
            rootDigest(count: count) { i in leafDigest(UnsafeRawBufferPointer(rebasing: buffer[range(i)])) }
        }
    }

    /// The root over `count` leaves, `leaf(i)` hashing item `i` as a leaf.
    private static func rootDigest(count: Int, leaf: (Int) -> Digest) -> Digest {
        guard count > 0 else { return Digest(hashing: Digest.none) }
        return node(0, count, leaf)
    }

    private static func node(_ lower: Int, _ upper: Int, _ leaf: (Int) -> Digest) -> Digest {
        if upper - lower == 1 { return leaf(lower) }
        let mid = lower + splitPoint(upper - lower)
        let left = node(lower, mid, leaf), right = node(mid, upper, leaf)
        // 0x01 ‖ left ‖ right, hashed in one call.
        var input = (UInt8(1), left.words, right.words)
        return withUnsafeBytes(of: &input) { raw in
            // The tuple's layout pads the prefix byte to 8: hash its three pieces in order.
            Digest(hashing: UnsafeRawBufferPointer(rebasing: raw[0..<1]),
                   UnsafeRawBufferPointer(rebasing: raw[8..<40]), UnsafeRawBufferPointer(rebasing: raw[40..<72]))
        }
    }

    /// SHA256(0x00 ‖ item).
    private static func leafDigest(_ item: UnsafeRawBufferPointer) -> Digest {
        var prefix = UInt8(0)
        return withUnsafeBytes(of: &prefix) { Digest(hashing: $0, item) }
    }

    /// A SHA-256 digest held inline, hashed by BoringSSL (the C library swift-crypto wraps)
    /// with its state on the stack: swift-crypto's `SHA256` allocates a context object for
    /// every hash, 27 of them for one header (issue 19).
    struct Digest {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)

        /// SHA-256 of `a ‖ b ‖ c` (not variadic: that would be an array per hash).
        init(hashing a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer = Digest.none,
             _ c: UnsafeRawBufferPointer = Digest.none) {
            var context = SHA256_CTX()
            CCryptoBoringSSL_SHA256_Init(&context)
            if a.count > 0 { CCryptoBoringSSL_SHA256_Update(&context, a.baseAddress, a.count) }
            if b.count > 0 { CCryptoBoringSSL_SHA256_Update(&context, b.baseAddress, b.count) }
            if c.count > 0 { CCryptoBoringSSL_SHA256_Update(&context, c.baseAddress, c.count) }
            withUnsafeMutableBytes(of: &words) {
                _ = CCryptoBoringSSL_SHA256_Final($0.baseAddress!.assumingMemoryBound(to: UInt8.self), &context)
            }
        }

        static var none: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

        var bytes: [UInt8] { withUnsafeBytes(of: words) { Array($0) } }
    }

    /// The largest power of two strictly smaller than `n` (n ≥ 2).
    static func splitPoint(_ n: Int) -> Int {
        var k = 1
        while k * 2 < n { k *= 2 }
        return k
    }
}

/// Merkle leaves encoded one after another into one buffer, then hashed as slices of it
/// (issue 19: a header hash built an array per leaf).
struct MerkleLeaves {
    private var writer: ProtoWriter
    private var ends: [Int] = []

    init(count: Int, bytes: Int) {
        writer = ProtoWriter(capacity: bytes)
        ends.reserveCapacity(count)
    }

    /// Appends one leaf: whatever `write` encodes.
    mutating func leaf(_ write: (inout ProtoWriter) -> Void) {
        write(&writer)
        ends.append(writer.bytes.count)
    }

    /// `merkle.HashFromByteSlices` of the leaves.
    func root() -> [UInt8] {
        Merkle.rootDigest(of: writer.bytes, count: ends.count) { i in (i == 0 ? 0 : ends[i - 1])..<ends[i] }.bytes
    }
}

/// Size of each part of a block's part set (`BlockPartSizeBytes`, §1.6).
public let blockPartSizeBytes = 65_536

extension Header {
    /// `Header.Hash()` (§4.2): merkle root of 14 leaves in field order; empty when
    /// `validatorsHash` is empty (Go returns nil).
    public func hash() -> [UInt8] {
        guard !validatorsHash.isEmpty else { return [] }
        // `cdcEncode` (§4.2): string, int64 and bytes leaves are `StringValue` / `Int64Value` /
        // `BytesValue` with the value in field 1; an empty value encodes to no bytes at all.
        var leaves = MerkleLeaves(count: 14, bytes: 512)
        leaves.leaf { version.encode(into: &$0) }
        leaves.leaf { $0.string(1, chainID) }
        leaves.leaf { $0.int64(1, height) }
        leaves.leaf { time.encode(into: &$0) }
        leaves.leaf { lastBlockID.encode(into: &$0) }
        leaves.leaf { $0.bytes(1, lastCommitHash) }
        leaves.leaf { $0.bytes(1, dataHash) }
        leaves.leaf { $0.bytes(1, validatorsHash) }
        leaves.leaf { $0.bytes(1, nextValidatorsHash) }
        leaves.leaf { $0.bytes(1, consensusHash) }
        leaves.leaf { $0.bytes(1, appHash) }
        leaves.leaf { $0.bytes(1, lastResultsHash) }
        leaves.leaf { $0.bytes(1, evidenceHash) }
        leaves.leaf { $0.bytes(1, proposerAddress) }
        return leaves.root()
    }
}

extension BlockData {
    /// `Data.Hash()`: merkle root of the SHA-256 of each transaction (§4.2).
    public func hash() -> [UInt8] { Merkle.root(txs.map { Merkle.sha256($0) }) }
}

extension EvidenceList {
    /// `EvidenceList.Hash()`: merkle root of each evidence item's own encoding.
    public func hash() -> [UInt8] { Merkle.root(evidence.map(\.payload)) }
}

extension Commit {
    /// `Commit.Hash()`: merkle root of each `CommitSig`'s encoding (the header's `LastCommitHash`).
    public func hash() -> [UInt8] {
        var leaves = MerkleLeaves(count: signatures.count, bytes: 128 * signatures.count)
        for signature in signatures { leaves.leaf { signature.encode(into: &$0) } }
        return leaves.root()
    }
}

extension ValidatorSet {
    /// `ValidatorSet.Hash()`: merkle root of each `SimpleValidator{pub_key, voting_power}` in
    /// set order (the header's `ValidatorsHash` / `NextValidatorsHash`).
    public func hash() -> [UInt8] {
        var leaves = MerkleLeaves(count: validators.count, bytes: 48 * validators.count)
        for validator in validators { leaves.leaf { validator.encodeSimpleValidator(into: &$0) } }
        return leaves.root()
    }
}

/// The consensus parameters that `ConsensusHash` commits to: `HashedParams{block_max_bytes=1,
/// block_max_gas=2}` (§4.2).
public struct HashedParams: Hashable, Sendable {
    public var blockMaxBytes: Int64
    public var blockMaxGas: Int64

    public init(blockMaxBytes: Int64, blockMaxGas: Int64) {
        self.blockMaxBytes = blockMaxBytes
        self.blockMaxGas = blockMaxGas
    }

    /// CometBFT's defaults (`DefaultBlockParams`: 22,020,096 bytes, gas -1).
    public static let cometDefault = HashedParams(blockMaxBytes: 22_020_096, blockMaxGas: -1)

    /// `ConsensusParams.Hash()`: SHA-256 of the `HashedParams` protobuf.
    public func hash() -> [UInt8] {
        var w = ProtoWriter()
        w.int64(1, blockMaxBytes)
        w.int64(2, blockMaxGas)
        return Merkle.sha256(w.bytes)
    }
}

/// A block split into 65,536-byte parts (`Block.MakePartSet`, §4.2).
public struct PartSet: Sendable, Hashable {
    public let parts: [[UInt8]]
    public let header: PartSetHeader

    /// Splits `bytes` (an encoded block) into parts of `partSize` bytes.
    public init(bytes: [UInt8], partSize: Int = blockPartSizeBytes) {
        parts = (0..<PartSet.partCount(bytes.count, partSize: partSize)).map { Array(bytes[PartSet.part($0, of: bytes.count, partSize: partSize)]) }
        header = PartSetHeader(total: UInt32(truncatingIfNeeded: parts.count), hash: Merkle.root(parts))
    }

    /// `MakePartSet(partSize).Header()` of `bytes` without copying the parts out.
    public static func header(of bytes: [UInt8], partSize: Int = blockPartSizeBytes) -> PartSetHeader {
        let total = partCount(bytes.count, partSize: partSize)
        let root = Merkle.rootDigest(of: bytes, count: total) { part($0, of: bytes.count, partSize: partSize) }
        return PartSetHeader(total: UInt32(truncatingIfNeeded: total), hash: root.bytes)
    }

    /// How many parts `count` bytes make (the last may be short).
    private static func partCount(_ count: Int, partSize: Int) -> Int { (count + partSize - 1) / partSize }

    /// The byte range of part `i` of `count` bytes.
    private static func part(_ i: Int, of count: Int, partSize: Int) -> Range<Int> {
        (i * partSize)..<min((i + 1) * partSize, count)
    }
}

extension Block {
    /// `Block.Hash()`: the header hash; empty (Go: nil) without a LastCommit. Go's
    /// `fillHeader` (which fills empty LastCommitHash/DataHash/EvidenceHash first) is not
    /// applied: blocks that passed `validateBasic()` already carry those hashes, and
    /// `ChainBuilder` fills them.
    public func hash() -> [UInt8] { lastCommit == nil ? [] : header.hash() }

    /// The part set of this block's canonical encoding (re-encoded, never the peer's bytes, §3.4).
    public func partSet() -> PartSet { PartSet(bytes: encoded()) }

    /// `firstParts.Header()`.
    public func partSetHeader() -> PartSetHeader { PartSet.header(of: encoded()) }

    /// `BlockID{Hash(), MakePartSet(65536).Header()}`.
    public func blockID() -> BlockID { BlockID(hash: hash(), partSetHeader: partSetHeader()) }

    /// Copies the hashes that the header commits to from the contents (Go's `fillHeader`,
    /// used by block producers): LastCommitHash, DataHash, EvidenceHash.
    public mutating func fillHeaderHashes() {
        header.lastCommitHash = lastCommit?.hash() ?? []
        header.dataHash = data.hash()
        header.evidenceHash = evidence.hash()
    }
}
