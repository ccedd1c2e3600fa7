import HexCoding
import JSON

/// How `cat` and `inspect` spell values: hex bytes, and `key=value` text.
extension JSONValue {
    static func hex(_ bytes: [UInt8]) -> JSONValue { .string(Hex.lower(bytes)) }

    /// Plain-text rendering for `key=value` lines: strings bare, nested values as JSON.
    var text: String {
        if case .string(let s) = self { return s.contains(" ") || s.isEmpty ? asBuilt : s }
        return asBuilt
    }
}
