import HexCoding
import Crypto
import ProtoWire

/// `tendermint.crypto.PublicKey`: `oneof sum { bytes ed25519 = 1; bytes secp256k1 = 2; }`.
///
/// Decoding rejects a key with no known `sum` (Go's `PubKeyFromProto` fails on it).
public enum PublicKey: ProtoMessage, Hashable, CustomStringConvertible {
    public static let protoName = "tendermint.crypto.PublicKey"

    case ed25519([UInt8])
    case secp256k1([UInt8])

    /// An empty ed25519 key (placeholder for a message being decoded).
    public init() { self = .ed25519([]) }

    public var bytes: [UInt8] {
        switch self {
        case .ed25519(let b), .secp256k1(let b): return b
        }
    }

    /// The key type name CometBFT uses in JSON (`tendermint/PubKeyEd25519`…).
    public var typeName: String {
        switch self {
        case .ed25519: return "tendermint/PubKeyEd25519"
        case .secp256k1: return "tendermint/PubKeySecp256k1"
        }
    }

    /// The validator address: `SHA256(pubkey)[:20]` for ed25519 (specs §4.1). secp256k1
    /// addresses are RIPEMD160(SHA256(key)), which this module does not implement: nil.
    public var address: [UInt8]? {
        switch self {
        case .ed25519(let key): return Array(SHA256.hash(data: key).prefix(20))
        case .secp256k1: return nil
        }
    }

    public var description: String { "\(typeName){\(Hex.upper(bytes))}" }

    public func encode(into writer: inout ProtoWriter) {
        switch self {
        case .ed25519(let key): writer.bytes(1, key, always: true)
        case .secp256k1(let key): writer.bytes(2, key, always: true)
        }
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        let start = reader.offset
        var found = false
        while let f = try reader.next() {
            switch f.number {
            case 1: self = .ed25519(try f.bytes()); found = true
            case 2: self = .secp256k1(try f.bytes()); found = true
            default: continue
            }
        }
        guard found else {
            throw WireError.invalidField(offset: start, message: Self.protoName, field: "sum",
                                         reason: "public key has no known type")
        }
    }
}

/// `tendermint.types.Validator`: address, key, voting power and proposer priority.
public struct Validator: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.Validator"
    public var address: [UInt8]
    public var pubKey: PublicKey
    public var votingPower: Int64
    public var proposerPriority: Int64

    public init() { self.init(address: [], pubKey: PublicKey(), votingPower: 0, proposerPriority: 0) }

    public init(address: [UInt8], pubKey: PublicKey, votingPower: Int64, proposerPriority: Int64 = 0) {
        self.address = address
        self.pubKey = pubKey
        self.votingPower = votingPower
        self.proposerPriority = proposerPriority
    }

    /// A validator whose address is derived from its ed25519 key.
    public init(ed25519 key: [UInt8], votingPower: Int64) {
        let pk = PublicKey.ed25519(key)
        self.init(address: pk.address ?? [], pubKey: pk, votingPower: votingPower)
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.bytes(1, address)
        writer.message(2, pubKey, always: true)
        writer.int64(3, votingPower)
        writer.int64(4, proposerPriority)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        var sawKey = false
        let start = reader.offset
        while let f = try reader.next() {
            switch f.number {
            case 1: address = try f.bytes()
            case 2:
                var r = try f.messageReader()
                try pubKey.merge(from: &r)
                sawKey = true
            case 3: votingPower = try f.int64()
            case 4: proposerPriority = try f.int64()
            default: continue
            }
        }
        guard sawKey else {
            throw WireError.missingField(offset: start, message: Self.protoName, field: "pub_key")
        }
    }

    /// `SimpleValidator{pub_key=1, voting_power=2}`: the leaf of `ValidatorsHash` (§4.2).
    public var simpleValidatorBytes: [UInt8] {
        var w = ProtoWriter()
        encodeSimpleValidator(into: &w)
        return w.bytes
    }

    func encodeSimpleValidator(into w: inout ProtoWriter) {
        w.message(1, pubKey, always: true)
        w.int64(2, votingPower)
    }
}

/// `tendermint.types.ValidatorSet`: validators in set order (the order `ValidatorsHash` and
/// commit signatures use), the current proposer and the total power.
public struct ValidatorSet: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.ValidatorSet"
    /// `MaxTotalVotingPower = MaxInt64 / 8` (§1.6).
    public static let maxTotalVotingPower: Int64 = Int64.max / 8

    public var validators: [Validator]
    public var proposer: Validator?
    /// The `total_voting_power` field as carried on the wire (0 when absent); use `totalVotingPower`.
    public var wireTotalVotingPower: Int64

    public init() { self.init(validators: []) }

    /// A set with validators in exactly the given order.
    public init(validators: [Validator], proposer: Validator? = nil) {
        self.validators = validators
        self.proposer = proposer
        self.wireTotalVotingPower = 0
    }

    /// A set ordered as Go's `NewValidatorSet` orders it: voting power descending, then
    /// address ascending (`ValidatorsByVotingPower`). Genesis validators go through this.
    public init(sorting validators: [Validator]) {
        self.init(validators: validators.sorted { a, b in
            a.votingPower != b.votingPower ? a.votingPower > b.votingPower : a.address.lexicographicallyPrecedes(b.address)
        })
    }

    public var count: Int { validators.count }

    /// The sum of voting powers, saturating at `Int64.max` (Go panics above `maxTotalVotingPower`;
    /// `ValidatorSet.validate()` reports that instead).
    public var totalVotingPower: Int64 {
        var total: Int64 = 0
        for v in validators {
            let (sum, overflow) = total.addingReportingOverflow(v.votingPower)
            if overflow { return Int64.max }
            total = sum
        }
        return total
    }

    /// The validator with this address and its index, if present (`GetByAddress`).
    public func validator(address: [UInt8]) -> (index: Int, validator: Validator)? {
        for (i, v) in validators.enumerated() where v.address == address { return (i, v) }
        return nil
    }

    /// `HasAddress`.
    public func contains(address: [UInt8]) -> Bool { validator(address: address) != nil }

    public func encode(into writer: inout ProtoWriter) {
        for v in validators { writer.message(1, v, always: true) }
        if let p = proposer { writer.message(2, p, always: true) }
        writer.int64(3, wireTotalVotingPower)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: validators.append(try Validator.decode(f))
            case 2:
                var p = proposer ?? Validator()
                try p.mergeField(f)
                proposer = p
            case 3: wireTotalVotingPower = try f.int64()
            default: continue
            }
        }
    }
}
