import ProtoWire

/// `tendermint.types.PartSetHeader` (specs/cometbft-blocksync.md §1.6).
public struct PartSetHeader: ProtoMessage, Hashable {
    public static let protoName = "tendermint.types.PartSetHeader"
    public var total: UInt32
    public var hash: [UInt8]

    public init() { self.init(total: 0, hash: []) }
    public init(total: UInt32, hash: [UInt8]) {
        self.total = total
        self.hash = hash
    }

    /// Go's `PartSetHeader.IsZero`: no parts and no hash.
    public var isZero: Bool { total == 0 && hash.isEmpty }

    public func encode(into writer: inout ProtoWriter) {
        writer.uint64(1, UInt64(total))
        writer.bytes(2, hash)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: total = try f.uint32()
            case 2: hash = try f.bytes()
            default: continue
            }
        }
    }
}

/// `tendermint.types.BlockID`: header hash plus part-set header (§1.6, §4.2).
public struct BlockID: ProtoMessage, Hashable, CustomStringConvertible {
    public static let protoName = "tendermint.types.BlockID"
    public var hash: [UInt8]
    public var partSetHeader: PartSetHeader

    public init() { self.init(hash: [], partSetHeader: PartSetHeader()) }
    public init(hash: [UInt8], partSetHeader: PartSetHeader) {
        self.hash = hash
        self.partSetHeader = partSetHeader
    }

    /// Go's `BlockID.IsZero`: empty hash and zero part-set header.
    public var isZero: Bool { hash.isEmpty && partSetHeader.isZero }

    /// `BLOCKHASH:TOTAL:PARTSHASH` in upper-case hex, like Go's `BlockID.String` but untruncated.
    public var description: String {
        "\(Hex.upper(hash)):\(partSetHeader.total):\(Hex.upper(partSetHeader.hash))"
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.bytes(1, hash)
        writer.message(2, partSetHeader, always: true)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: hash = try f.bytes()
            case 2: try partSetHeader.mergeField(f)
            default: continue
            }
        }
    }
}

/// `tendermint.version.Consensus`: block and app protocol versions.
public struct ConsensusVersion: ProtoMessage, Hashable {
    public static let protoName = "tendermint.version.Consensus"
    /// The block protocol version all versions of §0 use.
    public static let blockProtocol: UInt64 = 11

    public var block: UInt64
    public var app: UInt64

    public init() { self.init(block: 0, app: 0) }
    public init(block: UInt64, app: UInt64) {
        self.block = block
        self.app = app
    }

    public func encode(into writer: inout ProtoWriter) {
        writer.uint64(1, block)
        writer.uint64(2, app)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: block = try f.uint64()
            case 2: app = try f.uint64()
            default: continue
            }
        }
    }
}

/// Upper- and lower-case hex, as CometBFT's JSON (upper) and node IDs (lower) print bytes.
public enum Hex {
    private static let upperDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerDigits = Array("0123456789abcdef".utf8)

    public static func upper(_ bytes: some Sequence<UInt8>) -> String { encode(bytes, upperDigits) }
    public static func lower(_ bytes: some Sequence<UInt8>) -> String { encode(bytes, lowerDigits) }

    private static func encode(_ bytes: some Sequence<UInt8>, _ digits: [UInt8]) -> String {
        var out: [UInt8] = []
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex of either case; nil on odd length or a non-hex character.
    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = nibble(chars[i]), let lo = nibble(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }
}
