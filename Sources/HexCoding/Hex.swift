/// Hex text for bytes: the one codec every module uses (hashes in goldens and reports are
/// lowercase; CometBFT's JSON and error texts print uppercase).
public enum Hex {
    private static let upperDigits = Array("0123456789ABCDEF".utf8)
    private static let lowerDigits = Array("0123456789abcdef".utf8)

    public static func upper(_ bytes: some Sequence<UInt8>) -> String { encode(bytes, upperDigits) }
    public static func lower(_ bytes: some Sequence<UInt8>) -> String { encode(bytes, lowerDigits) }

    /// Lowercase hex of `bytes` appended to `out` as UTF-8 (a golden line written as bytes);
    /// not generic, so callers in other modules need no specialization of it.
    public static func appendLower(_ bytes: [UInt8], to out: inout [UInt8]) { append(bytes, lowerDigits, to: &out) }

    private static func encode(_ bytes: some Sequence<UInt8>, _ digits: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount * 2)
        append(bytes, digits, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func append(_ bytes: some Sequence<UInt8>, _ digits: [UInt8], to out: inout [UInt8]) {
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
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
