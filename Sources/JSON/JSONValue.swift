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
        var out = ""
        out.reserveCapacity(192)  // a decision line, without regrowing on the way
        write(to: &out, sortingKeys: true)
        return out
    }

    /// Compact text with object members in the order they were built; otherwise as `canonical`.
    public var asBuilt: String {
        var out = ""
        write(to: &out, sortingKeys: false)
        return out
    }

    func write(to out: inout String, sortingKeys: Bool) {
        switch self {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let v): out += String(v)
        case .uint(let v): out += String(v)
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.write(to: &out, sortingKeys: sortingKeys)
            }
            out += "]"
        case .object(let members):
            out += "{"
            // Sorted by UTF-8 bytes, so the order does not depend on locale or on how the object was built.
            var first = true
            for (key, value) in sortingKeys ? members.sortedByKey : Array(members) {
                if !first { out += "," }
                first = false
                JSONValue.writeString(key, to: &out)
                out += ":"
                value.write(to: &out, sortingKeys: sortingKeys)
            }
            out += "}"
        }
    }

    /// A JSON string literal with minimal escapes.
    public static func writeString(_ s: String, to out: inout String) {
        out += "\""
        // Most strings (peer ids, kinds, hex) need no escape: appended whole.
        if s.utf8.allSatisfy({ $0 >= 0x20 && $0 != 0x22 && $0 != 0x5C }) {
            out += s
            out += "\""
            return
        }
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
