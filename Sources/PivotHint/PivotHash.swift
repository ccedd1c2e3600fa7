/// A 32-byte pivot block hash (Conflux `H256`), byte 0 first as displayed in hex.
///
/// Minor records compare the *leading* `minor_hash_length` bytes of this value
/// (specs/conflux-pivot-hint.md §1.3, §9).
public struct PivotHash: Hashable, Sendable, CustomStringConvertible {
    public static let byteCount = 32

    /// Exactly 32 bytes.
    public let bytes: [UInt8]

    /// Fails unless `bytes` holds exactly 32 bytes.
    public init?(_ bytes: [UInt8]) {
        guard bytes.count == PivotHash.byteCount else { return nil }
        self.bytes = bytes
    }

    /// Wraps a slice known to be 32 bytes long (internal callers check the length).
    init(checked slice: ArraySlice<UInt8>) {
        self.bytes = Array(slice)
    }

    /// Parses hex the way `fixed-hash` 0.8 `H256::from_str` does for `pivot_hint_checksum`
    /// (§2.4): an optional lowercase `0x` prefix, then exactly 64 hex digits in either case.
    public init?(hex: String) {
        var text = Substring(hex)
        if text.hasPrefix("0x") { text = text.dropFirst(2) }
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(32)
        var i = 0
        while i < 64 {
            guard let hi = PivotHash.nibble(utf8[i]), let lo = PivotHash.nibble(utf8[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        self.bytes = out
    }

    /// Lowercase hex, no prefix.
    public var hex: String { PivotHash.hex(bytes) }

    public var description: String { hex }

    /// Lowercase hex of any byte sequence.
    public static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
