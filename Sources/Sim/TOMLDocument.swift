import HexCoding

/// A value of the TOML subset that scenario files use: TOML 1.0 (https://toml.io/en/v1.0.0)
/// without floats, dates and times, multi-line strings, non-decimal integers and dotted keys in
/// key/value pairs — each of those is refused with its name, line and column. Read by
/// `TOMLDocumentReader` in Swift, so hostile text can only give a `ScenarioError`: the C++
/// reader used before (toml++ via TOMLKit) aborted the process on two bytes (issue 16).
enum TOMLValue {
    case string(String)
    case integer(Int64)
    case boolean(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }
    var array: [TOMLValue]? { if case .array(let a) = self { a } else { nil } }
    var int: Int64? { if case .integer(let i) = self { i } else { nil } }
    var string: String? { if case .string(let s) = self { s } else { nil } }
    var bool: Bool? { if case .boolean(let b) = self { b } else { nil } }

    /// The type's name in messages ("must be an integer, got string").
    var type: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .boolean: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }
}

/// A TOML table: the root, a `[header]` table (or one a dotted header created on the way), an
/// element of a `[[header]]` array, or an `{inline}` table. A reference while the document is
/// read (headers reopen tables defined earlier); nothing changes it afterwards.
final class TOMLTable {
    /// Written as `{…}`: complete where it stands (TOML 1.0 "Inline Table").
    let inline: Bool
    private(set) var members: [String: TOMLValue] = [:]
    /// Defined by its own `[header]` line (a second one is an error); false for a table that
    /// only exists because a longer header named it.
    fileprivate var definedByHeader: Bool
    /// Members that are arrays of `[[tables]]` (which later headers append to or enter).
    fileprivate var tableArrays: Set<String> = []

    fileprivate init(inline: Bool, definedByHeader: Bool) {
        self.inline = inline
        self.definedByHeader = definedByHeader
    }

    var keys: Dictionary<String, TOMLValue>.Keys { members.keys }
    subscript(key: String) -> TOMLValue? { members[key] }

    fileprivate func set(_ key: String, _ value: TOMLValue) { members[key] = value }
}

/// Reads scenario TOML byte by byte: no recursion deeper than `maximumNesting`, no allocation
/// beyond the values the text spells out, every error a `ScenarioError` with line and column.
struct TOMLDocumentReader {
    /// Arrays and inline tables nested deeper than this are refused (recursion depth must not
    /// be up to the input; scenarios nest two levels).
    static let maximumNesting = 32

    private let bytes: [UInt8]
    private var index = 0
    private var line = 1
    private var lineStart = 0

    private init(_ text: String) { bytes = Array(text.utf8) }

    /// The root table of `text`.
    static func parse(_ text: String) throws(ScenarioError) -> TOMLTable {
        var reader = TOMLDocumentReader(text)
        return try reader.document()
    }

    // MARK: lines

    private mutating func document() throws(ScenarioError) -> TOMLTable {
        let root = TOMLTable(inline: false, definedByHeader: true)
        var current = root
        while index < bytes.count {
            skipBlanks()
            switch peek() {
            case UInt8(ascii: "["): current = try header(root)
            case UInt8(ascii: "#"), UInt8(ascii: "\n"), UInt8(ascii: "\r"), nil: break
            default: try keyValue(into: current)
            }
            skipBlanks()
            try comment()
            try endOfLine()
        }
        return root
    }

    /// `[a.b]` or `[[a.b]]`: the table that the following key/value lines fill.
    private mutating func header(_ root: TOMLTable) throws(ScenarioError) -> TOMLTable {
        let start = position
        index += 1
        let isArray = peek() == UInt8(ascii: "[")
        if isArray { index += 1 }
        skipBlanks()
        var path = [try simpleKey()]
        skipBlanks()
        while peek() == UInt8(ascii: ".") {
            index += 1
            skipBlanks()
            path.append(try simpleKey())
            skipBlanks()
        }
        try expect("]", isArray ? "expected ']]' to close the table header" : "expected ']' to close the table header")
        if isArray { try expect("]", "expected ']]' to close the table header") }
        let name = path.joined(separator: ".")

        var table = root
        for key in path.dropLast() {
            switch table[key] {
            case nil:
                let implicit = TOMLTable(inline: false, definedByHeader: false)
                table.set(key, .table(implicit))
                table = implicit
            case .table(let t) where !t.inline:
                table = t
            case .array(let elements) where table.tableArrays.contains(key):
                guard let last = elements.last?.table else { throw error("[\(name)]: \(key) is not a table", at: start) }
                table = last
            default:
                throw error("[\(name)]: \(key) is already a value, not a table", at: start)
            }
        }
        let key = path[path.count - 1]
        if isArray {
            let element = TOMLTable(inline: false, definedByHeader: true)
            switch table[key] {
            case nil:
                table.set(key, .array([.table(element)]))
                table.tableArrays.insert(key)
            case .array(let elements) where table.tableArrays.contains(key):
                table.set(key, .array(elements + [.table(element)]))
            default:
                throw error("[[\(name)]]: \(name) is already defined and is not an array of tables", at: start)
            }
            return element
        }
        switch table[key] {
        case nil:
            let defined = TOMLTable(inline: false, definedByHeader: true)
            table.set(key, .table(defined))
            return defined
        case .table(let t) where !t.inline && !t.definedByHeader:
            t.definedByHeader = true
            return t
        default:
            throw error("table [\(name)] is defined twice", at: start)
        }
    }

    /// `key = value` on a line of its own.
    private mutating func keyValue(into table: TOMLTable) throws(ScenarioError) {
        let (key, value, start) = try pair()
        guard table[key] == nil else { throw error("key \"\(key)\" is defined twice", at: start) }
        table.set(key, value)
    }

    /// A key, `=` and a value (a line's or an inline table's).
    private mutating func pair(depth: Int = 0) throws(ScenarioError) -> (String, TOMLValue, Position) {
        let start = position
        let key = try simpleKey()
        skipBlanks()
        if peek() == UInt8(ascii: ".") {
            throw error("dotted keys are not supported in scenario files; write a [table] header instead")
        }
        try expect("=", "expected '=' after the key \"\(key)\"")
        skipBlanks()
        return (key, try value(depth: depth), start)
    }

    // MARK: keys and values

    private mutating func simpleKey() throws(ScenarioError) -> String {
        switch peek() {
        case UInt8(ascii: "\""): return try basicString()
        case UInt8(ascii: "'"): return try literalString()
        case let b? where Self.isBareKey(b):
            let start = index
            while let b = peek(), Self.isBareKey(b) { index += 1 }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        default:
            throw error("expected a key, got \(describeNext())")
        }
    }

    private mutating func value(depth: Int) throws(ScenarioError) -> TOMLValue {
        guard depth < Self.maximumNesting else {
            throw error("arrays and inline tables nested more than \(Self.maximumNesting) deep")
        }
        switch peek() {
        case UInt8(ascii: "\""):
            if starts(with: "\"\"\"") { throw error("multi-line strings are not supported in scenario files") }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if starts(with: "'''") { throw error("multi-line strings are not supported in scenario files") }
            return .string(try literalString())
        case UInt8(ascii: "["): return try array(depth: depth)
        case UInt8(ascii: "{"): return try inlineTable(depth: depth)
        case let b? where Self.isScalarToken(b): return try scalar()
        default: throw error("expected a value, got \(describeNext())")
        }
    }

    /// `true`, `false` or a decimal integer (`+`/`-`, `_` between digits, no leading zero).
    private mutating func scalar() throws(ScenarioError) -> TOMLValue {
        let start = position
        let from = index
        while let b = peek(), Self.isScalarToken(b) { index += 1 }
        let token = String(decoding: bytes[from..<index], as: UTF8.self)
        if token == "true" { return .boolean(true) }
        if token == "false" { return .boolean(false) }
        let unsigned = token.drop { $0 == "+" || $0 == "-" }
        let numeric = unsigned.first.map { $0.isASCII && $0.isNumber } ?? false
        if numeric && (unsigned.hasPrefix("0x") || unsigned.hasPrefix("0o") || unsigned.hasPrefix("0b")) {
            throw error("only decimal integers are supported in scenario files, got \(token)", at: start)
        }
        if numeric && token.dropFirst().contains(where: { $0 == ":" || $0 == "-" }) {
            throw error("dates and times are not supported in scenario files, got \(token)", at: start)
        }
        if (numeric && unsigned.contains(where: { $0 == "." || $0 == "e" || $0 == "E" })) || unsigned == "inf" || unsigned == "nan" {
            throw error("floats are not supported in scenario files (durations are strings like \"1.5s\"), got \(token)", at: start)
        }
        guard Self.isDecimalInteger(unsigned), token.count - unsigned.count <= 1 else {
            throw error("invalid value \(token)", at: start)
        }
        guard let i = Int64(token.filter { $0 != "_" }) else {
            throw error("integer \(token) does not fit in 64 bits", at: start)
        }
        return .integer(i)
    }

    /// `0`, or digits without a leading zero, with single `_` between digits.
    private static func isDecimalInteger(_ s: Substring) -> Bool {
        guard let first = s.first, first.isASCII, first.isNumber, s.last != "_" else { return false }
        if first == "0" { return s.count == 1 }
        var previous: Character = first
        for c in s.dropFirst() {
            if c == "_" { if previous == "_" { return false } }
            else if !(c.isASCII && c.isNumber) { return false }
            previous = c
        }
        return true
    }

    /// `[v, v, …]`, over several lines if wanted, with comments and a trailing comma.
    private mutating func array(depth: Int) throws(ScenarioError) -> TOMLValue {
        index += 1
        var items: [TOMLValue] = []
        while true {
            try skipArraySpace()
            if peek() == UInt8(ascii: "]") { index += 1; return .array(items) }
            items.append(try value(depth: depth + 1))
            try skipArraySpace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"): index += 1; return .array(items)
            default: throw error("expected ',' or ']' in an array, got \(describeNext())")
            }
        }
    }

    /// `{k = v, …}` on one line, no trailing comma (TOML 1.0).
    private mutating func inlineTable(depth: Int) throws(ScenarioError) -> TOMLValue {
        index += 1
        let table = TOMLTable(inline: true, definedByHeader: true)
        skipBlanks()
        if peek() == UInt8(ascii: "}") { index += 1; return .table(table) }
        while true {
            let (key, value, start) = try pair(depth: depth + 1)
            guard table[key] == nil else { throw error("key \"\(key)\" is defined twice", at: start) }
            table.set(key, value)
            skipBlanks()
            switch peek() {
            case UInt8(ascii: ","): index += 1; skipBlanks()
            case UInt8(ascii: "}"): index += 1; return .table(table)
            default: throw error("expected ',' or '}' in an inline table (which must stay on one line), got \(describeNext())")
            }
        }
    }

    /// `"…"` with TOML's escapes.
    private mutating func basicString() throws(ScenarioError) -> String {
        index += 1
        var out: [UInt8] = []
        while true {
            guard let b = peek(), b != UInt8(ascii: "\n"), b != UInt8(ascii: "\r") else {
                throw error("unterminated string (a basic string ends with \" on the same line)")
            }
            index += 1
            switch b {
            case UInt8(ascii: "\""): return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"): out.append(contentsOf: try escape())
            case _ where Self.isControl(b): throw error("control character 0x\(hex(b)) in a string", at: Position(line: line, column: column - 1))
            default: out.append(b)
            }
        }
    }

    private mutating func escape() throws(ScenarioError) -> [UInt8] {
        let start = Position(line: line, column: column - 1)
        guard let b = peek() else { throw error("unterminated string") }
        index += 1
        switch b {
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "\""): return [0x22]
        case UInt8(ascii: "\\"): return [0x5C]
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let digits = b == UInt8(ascii: "u") ? 4 : 8
            guard index + digits <= bytes.count,
                  let code = UInt32(String(decoding: bytes[index..<index + digits], as: UTF8.self), radix: 16),
                  bytes[index..<index + digits].allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x66) }),
                  let scalar = Unicode.Scalar(code) else {
                throw error("invalid unicode escape (\\u takes 4 hex digits, \\U 8, of a Unicode scalar value)", at: start)
            }
            index += digits
            return Array(String(Character(scalar)).utf8)
        default:
            throw error("invalid escape \\\(describe(b)) in a string", at: start)
        }
    }

    /// `'…'`: no escapes.
    private mutating func literalString() throws(ScenarioError) -> String {
        index += 1
        let from = index
        while true {
            guard let b = peek(), b != UInt8(ascii: "\n"), b != UInt8(ascii: "\r") else {
                throw error("unterminated string (a literal string ends with ' on the same line)")
            }
            if b == UInt8(ascii: "'") { index += 1; return String(decoding: bytes[from..<index - 1], as: UTF8.self) }
            if Self.isControl(b) { throw error("control character 0x\(hex(b)) in a string") }
            index += 1
        }
    }

    // MARK: space, comments, line ends

    private mutating func skipBlanks() {
        while let b = peek(), b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") { index += 1 }
    }

    /// Inside an array: blanks, comments and line breaks.
    private mutating func skipArraySpace() throws(ScenarioError) {
        while true {
            skipBlanks()
            switch peek() {
            case UInt8(ascii: "#"): try comment()
            case UInt8(ascii: "\n"), UInt8(ascii: "\r"): try endOfLine()
            case nil: throw error("unterminated array (expected ']')")
            default: return
            }
        }
    }

    /// `# …` up to the line end, if there is one here.
    private mutating func comment() throws(ScenarioError) {
        guard peek() == UInt8(ascii: "#") else { return }
        while let b = peek(), b != UInt8(ascii: "\n"), b != UInt8(ascii: "\r") {
            if Self.isControl(b) { throw error("control character 0x\(hex(b)) in a comment") }
            index += 1
        }
    }

    /// `\n`, `\r\n` or the end of the text.
    private mutating func endOfLine() throws(ScenarioError) {
        switch peek() {
        case nil: return
        case UInt8(ascii: "\n"): index += 1
        case UInt8(ascii: "\r") where index + 1 < bytes.count && bytes[index + 1] == UInt8(ascii: "\n"): index += 2
        default: throw error("expected the end of the line, got \(describeNext())")
        }
        line += 1
        lineStart = index
    }

    // MARK: bytes and positions

    private struct Position { var line: Int, column: Int }

    private var position: Position { Position(line: line, column: column) }

    /// 1-based column in characters (UTF-8 lead bytes) of the next byte.
    private var column: Int { bytes[lineStart..<index].count { $0 & 0xC0 != 0x80 } + 1 }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func starts(with s: String) -> Bool { bytes[index...].starts(with: s.utf8) }

    private mutating func expect(_ c: Character, _ message: String) throws(ScenarioError) {
        guard peek() == c.asciiValue else { throw error("\(message), got \(describeNext())") }
        index += 1
    }

    private static func isBareKey(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    /// Bytes of an unquoted value token (`true`, `-12_000`, and the floats and dates refused).
    private static func isScalarToken(_ b: UInt8) -> Bool {
        isBareKey(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: ".") || b == UInt8(ascii: ":")
    }

    /// Control characters TOML forbids in strings and comments (tab is allowed).
    private static func isControl(_ b: UInt8) -> Bool { (b < 0x20 && b != 0x09) || b == 0x7F }

    private func describeNext() -> String {
        guard let b = peek() else { return "the end of the file" }
        if b == UInt8(ascii: "\n") || starts(with: "\r\n") { return "the end of the line" }
        return describe(b)
    }

    private func describe(_ b: UInt8) -> String {
        b >= 0x21 && b < 0x7F ? "'\(Character(Unicode.Scalar(b)))'" : "byte 0x\(hex(b))"
    }

    private func hex(_ b: UInt8) -> String { Hex.upper([b]) }

    private func error(_ message: String) -> ScenarioError { error(message, at: position) }

    private func error(_ message: String, at p: Position) -> ScenarioError {
        ScenarioError(line: p.line, key: "", "TOML syntax: \(message) (column \(p.column))")
    }
}
