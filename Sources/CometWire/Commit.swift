import ProtoWire

/// `tendermint.types.BlockIDFlag`: what a validator's commit signature is for (§1.6).
/// Kept as a raw `Int32` so that any value on the wire round-trips; `ValidateBasic` rejects
/// values other than absent/commit/nil.
public struct BlockIDFlag: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unknown = BlockIDFlag(rawValue: 0)
    /// The validator did not vote.
    public static let absent = BlockIDFlag(rawValue: 1)
    /// The validator precommitted this block.
    public static let commit = BlockIDFlag(rawValue: 2)
    /// The validator precommitted nil.
    public static let `nil` = BlockIDFlag(rawValue: 3)

    public var description: String {
        switch rawValue {
        case 0: return "UNKNOWN"
        case 1: return "ABSENT"
        case 2: return "COMMIT"
        case 3: return "NIL"
        default: return "FLAG(\(rawValue))"
        }
    }
}

/// `tendermint.types.CommitSig`: one validator's precommit inside a `Commit`.
public struct CommitSig: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.CommitSig"
    public var blockIDFlag: BlockIDFlag
    public var validatorAddress: [UInt8]
    /// Always emitted; Go's zero time for absent signatures.
    public var timestamp: Timestamp
    public var signature: [UInt8]

    public init() { self.init(blockIDFlag: .unknown, validatorAddress: [], timestamp: .goZero, signature: []) }

    public init(blockIDFlag: BlockIDFlag, validatorAddress: [UInt8], timestamp: Timestamp, signature: [UInt8]) {
        self.blockIDFlag = blockIDFlag
        self.validatorAddress = validatorAddress
        self.timestamp = timestamp
        self.signature = signature
    }

    /// `NewCommitSigAbsent`: flag ABSENT, no address, zero time, no signature.
    public static let absent = CommitSig(blockIDFlag: .absent, validatorAddress: [], timestamp: .goZero, signature: [])

    public func encode(into writer: inout ProtoWriter) {
        writer.int32(1, blockIDFlag.rawValue)
        writer.bytes(2, validatorAddress)
        writer.message(3, timestamp, always: true)
        writer.bytes(4, signature)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: blockIDFlag = BlockIDFlag(rawValue: try f.int32())
            case 2: validatorAddress = try f.bytes()
            case 3: timestamp = try Timestamp.decodeStdTime(f, in: Self.protoName, name: "timestamp")
            case 4: signature = try f.bytes()
            default: continue
            }
        }
    }
}

/// `tendermint.types.Commit`: +2/3 precommits for a block, carried as the next block's
/// `last_commit` (or as the "seen commit" of the newest block).
public struct Commit: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.Commit"
    public var height: Int64
    public var round: Int32
    public var blockID: BlockID
    public var signatures: [CommitSig]

    public init() { self.init(height: 0, round: 0, blockID: BlockID(), signatures: []) }

    public init(height: Int64, round: Int32, blockID: BlockID, signatures: [CommitSig]) {
        self.height = height
        self.round = round
        self.blockID = blockID
        self.signatures = signatures
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.int64(1, height)
        writer.int32(2, round)
        writer.message(3, blockID, always: true)
        for s in signatures { writer.message(4, s, always: true) }
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: height = try f.int64()
            case 2: round = try f.int32()
            case 3: try blockID.mergeField(f)
            case 4: signatures.append(try CommitSig.decode(f))
            default: continue
            }
        }
    }
}

/// `tendermint.types.ExtendedCommitSig` (cometbft v0.38+): a commit signature plus the
/// validator's vote extension and its signature.
public struct ExtendedCommitSig: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.ExtendedCommitSig"
    public var blockIDFlag: BlockIDFlag
    public var validatorAddress: [UInt8]
    public var timestamp: Timestamp
    public var signature: [UInt8]
    public var extension_: [UInt8]
    public var extensionSignature: [UInt8]

    public init() {
        self.init(blockIDFlag: .unknown, validatorAddress: [], timestamp: .goZero, signature: [],
                  extension: [], extensionSignature: [])
    }

    public init(blockIDFlag: BlockIDFlag, validatorAddress: [UInt8], timestamp: Timestamp, signature: [UInt8],
                extension ext: [UInt8], extensionSignature: [UInt8]) {
        self.blockIDFlag = blockIDFlag
        self.validatorAddress = validatorAddress
        self.timestamp = timestamp
        self.signature = signature
        self.extension_ = ext
        self.extensionSignature = extensionSignature
    }

    /// The plain commit signature (`ExtendedCommitSig.CommitSig`).
    public var commitSig: CommitSig {
        CommitSig(blockIDFlag: blockIDFlag, validatorAddress: validatorAddress, timestamp: timestamp, signature: signature)
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.int32(1, blockIDFlag.rawValue)
        writer.bytes(2, validatorAddress)
        writer.message(3, timestamp, always: true)
        writer.bytes(4, signature)
        writer.bytes(5, extension_)
        writer.bytes(6, extensionSignature)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: blockIDFlag = BlockIDFlag(rawValue: try f.int32())
            case 2: validatorAddress = try f.bytes()
            case 3: timestamp = try Timestamp.decodeStdTime(f, in: Self.protoName, name: "timestamp")
            case 4: signature = try f.bytes()
            case 5: extension_ = try f.bytes()
            case 6: extensionSignature = try f.bytes()
            default: continue
            }
        }
    }
}

/// `tendermint.types.ExtendedCommit` (cometbft v0.38+, `BlockResponse.ext_commit`).
public struct ExtendedCommit: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.ExtendedCommit"
    public var height: Int64
    public var round: Int32
    public var blockID: BlockID
    public var extendedSignatures: [ExtendedCommitSig]

    public init() { self.init(height: 0, round: 0, blockID: BlockID(), extendedSignatures: []) }

    public init(height: Int64, round: Int32, blockID: BlockID, extendedSignatures: [ExtendedCommitSig]) {
        self.height = height
        self.round = round
        self.blockID = blockID
        self.extendedSignatures = extendedSignatures
    }

    /// `ExtendedCommit.ToCommit`: the commit without extensions.
    public var commit: Commit {
        Commit(height: height, round: round, blockID: blockID, signatures: extendedSignatures.map(\.commitSig))
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.int64(1, height)
        writer.int32(2, round)
        writer.message(3, blockID, always: true)
        for s in extendedSignatures { writer.message(4, s, always: true) }
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: height = try f.int64()
            case 2: round = try f.int32()
            case 3: try blockID.mergeField(f)
            case 4: extendedSignatures.append(try ExtendedCommitSig.decode(f))
            default: continue
            }
        }
    }
}
