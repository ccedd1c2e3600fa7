import ProtoWire

/// `tendermint.types.Header` (specs/cometbft-blocksync.md §1.6). Hashes are raw bytes; empty
/// means "not set".
public struct Header: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.Header"
    public var version: ConsensusVersion
    public var chainID: String
    public var height: Int64
    public var time: Timestamp
    public var lastBlockID: BlockID
    public var lastCommitHash: [UInt8]
    public var dataHash: [UInt8]
    public var validatorsHash: [UInt8]
    public var nextValidatorsHash: [UInt8]
    public var consensusHash: [UInt8]
    public var appHash: [UInt8]
    public var lastResultsHash: [UInt8]
    public var evidenceHash: [UInt8]
    public var proposerAddress: [UInt8]

    public init() {
        version = ConsensusVersion()
        chainID = ""
        height = 0
        time = .goZero
        lastBlockID = BlockID()
        lastCommitHash = []
        dataHash = []
        validatorsHash = []
        nextValidatorsHash = []
        consensusHash = []
        appHash = []
        lastResultsHash = []
        evidenceHash = []
        proposerAddress = []
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.message(1, version, always: true)
        writer.string(2, chainID)
        writer.int64(3, height)
        writer.message(4, time, always: true)
        writer.message(5, lastBlockID, always: true)
        writer.bytes(6, lastCommitHash)
        writer.bytes(7, dataHash)
        writer.bytes(8, validatorsHash)
        writer.bytes(9, nextValidatorsHash)
        writer.bytes(10, consensusHash)
        writer.bytes(11, appHash)
        writer.bytes(12, lastResultsHash)
        writer.bytes(13, evidenceHash)
        writer.bytes(14, proposerAddress)
    }

    /// Note: Go does not check `chain_id` for UTF-8 while unmarshalling; this decoder rejects
    /// invalid UTF-8 (documented divergence: such a block fails decoding here instead of
    /// failing later in validation).
    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: try version.mergeField(f)
            case 2: chainID = try f.string()
            case 3: height = try f.int64()
            case 4: time = try Timestamp.decodeStdTime(f, in: Self.protoName, name: "time")
            case 5: try lastBlockID.mergeField(f)
            case 6: lastCommitHash = try f.bytes()
            case 7: dataHash = try f.bytes()
            case 8: validatorsHash = try f.bytes()
            case 9: nextValidatorsHash = try f.bytes()
            case 10: consensusHash = try f.bytes()
            case 11: appHash = try f.bytes()
            case 12: lastResultsHash = try f.bytes()
            case 13: evidenceHash = try f.bytes()
            case 14: proposerAddress = try f.bytes()
            default: continue
            }
        }
    }
}

/// `tendermint.types.Data`: the block's transactions. (Named `BlockData` so it does not clash
/// with Foundation's `Data`.)
public struct BlockData: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.Data"
    public var txs: [[UInt8]]

    public init() { txs = [] }
    public init(txs: [[UInt8]]) { self.txs = txs }

    public func encode(into writer: inout ProtoWriter) {
        for tx in txs { writer.bytes(1, tx, always: true) }
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            if f.number == 1 { txs.append(try f.bytes()) }
        }
    }
}

/// One `tendermint.types.Evidence` item, kept as the raw bytes of its oneof payload: this
/// module does not interpret evidence, but round-trips it exactly and hashes it as Go does
/// (`EvidenceHash` leaves are the payload message bytes, §4.2).
public struct Evidence: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.Evidence"

    /// The oneof case: `DuplicateVoteEvidence = 1`, `LightClientAttackEvidence = 2`.
    public enum Kind: Int, Sendable, Hashable {
        case duplicateVote = 1
        case lightClientAttack = 2
    }

    public var kind: Kind
    /// The encoded `DuplicateVoteEvidence` / `LightClientAttackEvidence` message.
    public var payload: [UInt8]

    public init() { self.init(kind: .duplicateVote, payload: []) }
    public init(kind: Kind, payload: [UInt8]) {
        self.kind = kind
        self.payload = payload
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.bytes(kind.rawValue, payload, always: true)
    }

    /// Rejects an item with no known kind (Go's `EvidenceFromProto` fails on it).
    public mutating func merge(from reader: inout ProtoReader) throws {
        let start = reader.offset
        var found = false
        while let f = try reader.next() {
            guard let k = Kind(rawValue: f.number) else { continue }
            kind = k
            payload = try f.bytes()
            found = true
        }
        guard found else {
            throw WireError.invalidField(offset: start, message: Self.protoName, field: "sum",
                                         reason: "evidence item has no known type")
        }
    }
}

/// `tendermint.types.EvidenceList`.
public struct EvidenceList: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.EvidenceList"
    public var evidence: [Evidence]

    public init() { evidence = [] }
    public init(evidence: [Evidence]) { self.evidence = evidence }

    public func encode(into writer: inout ProtoWriter) {
        for e in evidence { writer.message(1, e, always: true) }
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            if f.number == 1 { evidence.append(try Evidence.decode(f)) }
        }
    }

    /// `EvidenceData.ByteSize`: the encoded size of the list (for the `evidence bytes ≤ params` check).
    public var byteSize: Int { encodedSize }
}

/// `tendermint.types.Block`: header, transactions, evidence and the commit for the previous block.
public struct Block: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.Block"
    public var header: Header
    public var data: BlockData
    public var evidence: EvidenceList
    /// Nullable on the wire; `Block.ValidateBasic` requires it.
    public var lastCommit: Commit?

    public init() { self.init(header: Header(), data: BlockData(), evidence: EvidenceList(), lastCommit: nil) }

    public init(header: Header, data: BlockData, evidence: EvidenceList = EvidenceList(), lastCommit: Commit?) {
        self.header = header
        self.data = data
        self.evidence = evidence
        self.lastCommit = lastCommit
    }

    public var height: Int64 { header.height }

    public func encode(into writer: inout ProtoWriter) {
        writer.message(1, header, always: true)
        writer.message(2, data, always: true)
        writer.message(3, evidence, always: true)
        if let c = lastCommit { writer.message(4, c, always: true) }
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: try header.mergeField(f)
            case 2: try data.mergeField(f)
            case 3: try evidence.mergeField(f)
            case 4:
                var c = lastCommit ?? Commit()
                try c.mergeField(f)
                lastCommit = c
            default: continue
            }
        }
    }
}
