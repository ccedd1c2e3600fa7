import ProtoWire

/// `tendermint.types.SignedMsgType` (an open enum on the wire: any value round-trips).
public struct SignedMsgType: RawRepresentable, Hashable, Sendable {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    public static let unknown = SignedMsgType(rawValue: 0)
    public static let prevote = SignedMsgType(rawValue: 1)
    public static let precommit = SignedMsgType(rawValue: 2)
}

/// `tendermint.types.CanonicalVote`: what a validator signs (specs/cometbft-blocksync.md §4.3).
///
/// `blockID` nil means "no block" (a nil precommit or an absent signature): the field is
/// omitted. Height and round are `sfixed64`; the timestamp is always emitted.
public struct CanonicalVote: Hashable, Sendable {
    public var type: SignedMsgType
    public var height: Int64
    public var round: Int64
    public var blockID: BlockID?
    public var timestamp: Timestamp
    public var chainID: String

    public init(type: SignedMsgType, height: Int64, round: Int64, blockID: BlockID?, timestamp: Timestamp, chainID: String) {
        self.type = type
        self.height = height
        self.round = round
        // `CanonicalizeBlockID`: a zero BlockID becomes nil.
        self.blockID = (blockID?.isZero ?? true) ? nil : blockID
        self.timestamp = timestamp
        self.chainID = chainID
    }

    /// The precommit of validator `index` in `commit` (`Commit.GetVote` + `VoteSignBytes`):
    /// COMMIT signs the commit's BlockID, NIL and ABSENT sign no block.
    public init(commit: Commit, index: Int, chainID: String) {
        let sig = commit.signatures[index]
        self.init(type: .precommit, height: commit.height, round: Int64(commit.round),
                  blockID: sig.blockIDFlag == .commit ? commit.blockID : nil,
                  timestamp: sig.timestamp, chainID: chainID)
    }

    /// The undelimited `CanonicalVote` protobuf.
    public func encoded() -> [UInt8] {
        var w = ProtoWriter(capacity: 128)
        encodeHead(into: &w)
        w.message(5, timestamp, always: true)
        w.string(6, chainID)
        return w.bytes
    }

    /// Fields 1–4 (type, height, round, block id): what the precommits of one commit voting
    /// the same way share (`CommitSignBytes`).
    func encodeHead(into w: inout ProtoWriter) {
        w.int32(1, type.rawValue)
        w.fixed64(2, UInt64(bitPattern: height))
        w.fixed64(3, UInt64(bitPattern: round))
        if let id = blockID {
            // CanonicalBlockID{hash=1; CanonicalPartSetHeader part_set_header=2 (non-null)}
            w.message(4, always: true) { b in
                b.bytes(1, id.hash)
                b.message(2, always: true) { p in
                    p.uint64(1, UInt64(id.partSetHeader.total))
                    p.bytes(2, id.partSetHeader.hash)
                }
            }
        }
    }

    /// The signed bytes: the varint-length-prefixed protobuf (`protoio.MarshalDelimited`).
    public var signBytes: [UInt8] { ProtoWriter.delimited(encoded()) }
}

/// `CanonicalVoteExtension{bytes extension=1; sfixed64 height=2; sfixed64 round=3; string chain_id=4}`,
/// delimited: what a vote-extension signature covers (§4.3).
public func voteExtensionSignBytes(extension ext: [UInt8], height: Int64, round: Int64, chainID: String) -> [UInt8] {
    var w = ProtoWriter()
    w.bytes(1, ext)
    w.fixed64(2, UInt64(bitPattern: height))
    w.fixed64(3, UInt64(bitPattern: round))
    w.string(4, chainID)
    return ProtoWriter.delimited(w.bytes)
}

/// The sign bytes of every precommit in one commit, built from two shared parts: only the
/// timestamp differs between validators voting the same way (Go caches the same way).
public struct CommitSignBytes: Sendable {
    private let forBlock: [UInt8]
    /// Empty when every signature votes for the block (as on most chains).
    private let forNil: [UInt8]
    private let suffix: [UInt8]
    private let commit: Commit

    public init(commit: Commit, chainID: String) {
        self.commit = commit
        func head(_ id: BlockID?) -> [UInt8] {
            var w = ProtoWriter(capacity: 96)
            CanonicalVote(type: .precommit, height: commit.height, round: Int64(commit.round), blockID: id,
                          timestamp: .goZero, chainID: "").encodeHead(into: &w)
            return w.bytes
        }
        forBlock = head(commit.blockID)
        forNil = commit.signatures.contains { $0.blockIDFlag != .commit } ? head(nil) : []
        var w = ProtoWriter(capacity: chainID.utf8.count + 2)
        w.string(6, chainID)
        suffix = w.bytes
    }

    /// `VoteSignBytes` of signature `index`, written into one buffer (issue 19).
    public func bytes(_ index: Int) -> [UInt8] {
        let sig = commit.signatures[index]
        var w = ProtoWriter(capacity: forBlock.count + suffix.count + 24)
        w.delimited { vote in
            vote.writeRaw(sig.blockIDFlag == .commit ? forBlock : forNil)
            vote.message(5, sig.timestamp, always: true)
            vote.writeRaw(suffix)
        }
        return w.bytes
    }
}
