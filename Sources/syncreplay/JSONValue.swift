import HexCoding
import Replay
/// A JSON value with ordered object keys, rendered deterministically on one line (the
/// output of `cat --json` and `inspect --json`).
enum JSONValue: Equatable {
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case bool(Bool)
    case null
    case array([JSONValue])
    case object([(String, JSONValue)])

    static func == (a: JSONValue, b: JSONValue) -> Bool { a.rendered == b.rendered }

    static func hex(_ bytes: [UInt8]) -> JSONValue { .string(hexString(bytes)) }

    var rendered: String {
        var out = ""
        render(into: &out)
        return out
    }

    func render(into out: inout String) {
        switch self {
        case .string(let s): JSONValue.quote(s, into: &out)
        case .int(let v): out += String(v)
        case .uint(let v): out += String(v)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .array(let items):
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                item.render(into: &out)
            }
            out += "]"
        case .object(let fields):
            out += "{"
            for (i, (k, v)) in fields.enumerated() {
                if i > 0 { out += "," }
                JSONValue.quote(k, into: &out)
                out += ":"
                v.render(into: &out)
            }
            out += "}"
        }
    }

    /// Plain-text rendering for `key=value` lines: strings bare, nested values as JSON.
    var text: String {
        if case .string(let s) = self { return s.contains(" ") || s.isEmpty ? rendered : s }
        return rendered
    }

    private static func quote(_ s: String, into out: inout String) {
        Replay.JSONValue.writeString(s, to: &out)
    }
}

func hexString(_ bytes: [UInt8]) -> String { Hex.lower(bytes) }
