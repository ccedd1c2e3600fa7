import Keccak
import PivotHint

/// The synthetic file S of specs/conflux-pivot-hint.md §8.1 and its branch callbacks.
enum SyntheticHint {
    static func le64(_ h: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * UInt64($0))) } }
    /// canon: `H(h) = keccak256(u64_le(h))`.
    static func canon(_ h: UInt64) -> PivotHash { PivotHash(Keccak256.hash(le64(h)))! }
    /// foreign: `F(h) = keccak256(0x42 ‖ u64_le(h))`.
    static func foreign(_ h: UInt64) -> PivotHash { PivotHash(Keccak256.hash([0x42] + le64(h)))! }
    /// pcoll: `P(h) = H(h)[0..4] ‖ 28 zero bytes`.
    static func pcoll(_ h: UInt64) -> PivotHash { PivotHash(Array(canon(h).bytes[0..<4]) + [UInt8](repeating: 0, count: 28))! }

    static let header = try! PivotHintHeader(minorInterval: 2, majorInterval: 10, pageInterval: 100,
                                             rangeMax: 1000, minorHashLength: 4)
    static let built = PivotHintWriter(header: header).build(hashAt: canon)
    static var bytes: [UInt8] { built.bytes }
    static let checksumHex = "30fe03f52e4d111da234bfb679a4e3cfdeba2b77fc057b73a4d1b5e827b075f1"
    static var checksum: PivotHash { PivotHash(hex: checksumHex)! }

    static func hint(_ bytes: [UInt8] = bytes) throws(PivotHintError) -> PivotHint {
        try PivotHint(source: PivotHintMemorySource(bytes), checksum: checksum)
    }

    static func hex(_ bytes: [UInt8]) -> String { PivotHash.hex(bytes) }

    static func bytes(hex: String) -> [UInt8] {
        let compact = hex.filter { !$0.isWhitespace }
        var out = [UInt8]()
        var it = compact.makeIterator()
        while let a = it.next(), let b = it.next() { out.append(UInt8(String([a, b]), radix: 16)!) }
        return out
    }
}

/// SplitMix64: a tiny seeded generator so random tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
