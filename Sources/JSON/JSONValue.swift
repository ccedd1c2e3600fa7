/// A JSON value with exact 64-bit integers and ordered objects, and two writers: `canonical`
/// (sorted keys: the golden file's data model, DESIGN.md §4: sorted keys, lowercase hex, integer
/// heights, one decision per line) and `asBuilt` (members in the order they were built: the
/// output of `syncreplay cat --json` and `inspect --json`).
///
/// Foundation's `JSONSerialization` loses the distinction between `1`, `1.0` and `true` and
/// reports errors without positions; goldens are reviewed by people, so a damaged golden gets a
/// one-line error with its line and column instead (`JSONParser`).
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    /// Every number in a golden is an integer (heights, virtual nanoseconds, indices).
    case int(Int64)
    case uint(UInt64)
    case string(String)
    case array([JSONValue])
    /// Members in build (or parse) order; `canonical` sorts them, `asBuilt` keeps the order.
    case object(JSONObject)

    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// Equality of numbers independent of how they were spelt (`.int(3) == .uint(3)`).
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.int(a), .int(b)): return a == b
        case let (.uint(a), .uint(b)): return a == b
        case let (.int(a), .uint(b)), let (.uint(b), .int(a)): return a >= 0 && UInt64(a) == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)): return a == b
        default: return false
        }
    }

    /// The value as an unsigned integer, if it is a non-negative integer.
    public var uint64: UInt64? {
        switch self {
        case .int(let v): return v >= 0 ? UInt64(v) : nil
        case .uint(let v): return v
        default: return nil
        }
    }

    /// The value as a signed integer, if it fits.
    public var int64: Int64? {
        switch self {
        case .int(let v): return v
        case .uint(let v): return v <= UInt64(Int64.max) ? Int64(v) : nil
        default: return nil
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: JSONObject? { if case .object(let o) = self { return o }; return nil }

    // MARK: output

    /// Compact canonical text: sorted keys, no whitespace, minimal string escapes.
    public var canonical: String {
        var out: [UInt8] = []
        out.reserveCapacity(192)  // a decision line, without regrowing on the way
        write(to: &out, sortingKeys: true)
        return String(decoding: out, as: UTF8.self)
    }

    /// Compact text with object members in the order they were built; otherwise as `canonical`.
    public var asBuilt: String {
        var out: [UInt8] = []
        write(to: &out, sortingKeys: false)
        return String(decoding: out, as: UTF8.self)
    }

    /// `canonical`'s UTF-8 bytes appended to `out` (issue 19: the decision digests hash these
    /// bytes; building a `String` first cost more than the hashing).
    public func writeCanonical(to out: inout [UInt8]) {
        write(to: &out, sortingKeys: true)
    }

    /// The one writer behind `canonical`, `asBuilt` and `writeCanonical`, into UTF-8 bytes.
    func write(to out: inout [UInt8], sortingKeys: Bool) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .int(let v):
            if v < 0 { out.append(UInt8(ascii: "-")) }
            JSONValue.writeDecimal(v.magnitude, to: &out)
        case .uint(let v): JSONValue.writeDecimal(v, to: &out)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(to: &out, sortingKeys: sortingKeys)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // Sorted by UTF-8 bytes, so the order does not depend on locale or on how the object was built.
            var first = true
            for (key, value) in sortingKeys ? members.sortedByKey : Array(members) {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                JSONValue.writeString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                value.write(to: &out, sortingKeys: sortingKeys)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// `v` in decimal, without a `String` in between.
    public static func writeDecimal(_ v: UInt64, to out: inout [UInt8]) {
        guard v >= 10 else { out.append(UInt8(ascii: "0") &+ UInt8(v)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: UInt64.max has 20 digits
        var count = 0
        var rest = v
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[23 - count] = UInt8(ascii: "0") &+ UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            out.append(contentsOf: buffer[(24 - count)...])
        }
    }

    /// A JSON string literal with minimal escapes, as UTF-8 bytes.
    public static func writeString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        // Most strings (peer ids, kinds, hex) need no escape: appended whole.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {
            out.append(contentsOf: s.utf8)
            out.append(UInt8(ascii: "\""))
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append(contentsOf: "\\\"".utf8)
            case "\\": out.append(contentsOf: "\\\\".utf8)
            case "\n": out.append(contentsOf: "\\n".utf8)
            case "\r": out.append(contentsOf: "\\r".utf8)
            case "\t": out.append(contentsOf: "\\t".utf8)
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out.append(contentsOf: ("\\u" + String(repeating: "0", count: 4 - hex.count) + hex).utf8)
                } else {
                    out.append(contentsOf: String(scalar).utf8)
                }
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
