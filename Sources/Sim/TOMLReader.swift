import Foundation

/// Finds the line of a key or table header in the scenario's source text. The document reader
/// reports positions for syntax errors; semantic errors (wrong type, unknown key, bad
/// value) are located here by scanning the text the way a reader would: table headers, then the
/// first `key =` line inside the wanted table.
struct SourceLocator: Sendable {
    let lines: [Substring]

    init(text: String) {
        lines = text.split(separator: "\n", omittingEmptySubsequences: false)
    }

    /// Normalised header name of a `[a.b]` / `[[a.b]]` line (quotes and spaces removed).
    static func header(of line: Substring) -> String? {
        let t = line.drop { $0 == " " || $0 == "\t" }
        guard t.hasPrefix("[") else { return nil }
        var name = ""
        var inQuote = false
        for ch in t.dropFirst(t.hasPrefix("[[") ? 2 : 1) {
            if ch == "\"" || ch == "'" { inQuote.toggle(); continue }
            if !inQuote && ch == "]" { return name }
            if !inQuote && (ch == " " || ch == "\t") { continue }
            name.append(ch)
        }
        return nil
    }

    /// The bare key of a `key = value` line, if the line is one.
    static func key(of line: Substring) -> String? {
        let t = line.drop { $0 == " " || $0 == "\t" }
        guard let eq = t.firstIndex(of: "="), !t.hasPrefix("#"), !t.hasPrefix("[") else { return nil }
        var k = t[..<eq].trimmingSpaces()
        if k.hasPrefix("\"") && k.hasSuffix("\"") && k.count >= 2 { k = String(k.dropFirst().dropLast()) }
        return k
    }

    /// Line (1-based) of `key` inside the `occurrence`-th table named `header` (nil header: the
    /// top level); with `key` nil, the header line itself.
    func line(header: String?, occurrence: Int, key: String?) -> Int? {
        var current: String? = nil
        var seen: [String: Int] = [:]
        var inTarget = header == nil
        var headerLine: Int?
        for (i, raw) in lines.enumerated() {
            if let h = SourceLocator.header(of: raw) {
                if inTarget && header != nil { break }
                if header == nil { return nil }
                current = h
                let n = seen[h, default: 0]
                seen[h] = n + 1
                if current == header && n == occurrence {
                    inTarget = true
                    headerLine = i + 1
                    if key == nil { return i + 1 }
                }
                continue
            }
            if inTarget, let key, SourceLocator.key(of: raw) == key { return i + 1 }
        }
        return headerLine
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}

/// One value of the parsed scenario with where it came from, so every error can cite the line
/// and key. Readers consume keys; `finish()` rejects keys nobody read (typos are errors).
final class TOMLNode {
    let value: TOMLValue
    /// Dotted path for messages, e.g. `peer[2].status[0].at`.
    let path: String
    let locator: SourceLocator
    /// The table header this value lives under, which occurrence of it, and the first key
    /// below the header on the way to this value.
    let header: String?
    let occurrence: Int
    let firstKey: String?
    private var used: Set<String> = []
    /// This value is an array of `[[tables]]` (its elements have their own header lines).
    var arrayOfTables = false

    init(value: TOMLValue, path: String, locator: SourceLocator, header: String?, occurrence: Int, firstKey: String?) {
        self.value = value
        self.path = path
        self.locator = locator
        self.header = header
        self.occurrence = occurrence
        self.firstKey = firstKey
    }

    var line: Int? { locator.line(header: header, occurrence: occurrence, key: firstKey) }

    func error(_ message: String) -> ScenarioError { ScenarioError(line: line, key: path, message) }

    private func join(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    var table: TOMLTable? { value.table }

    /// The member `key` of this table, or nil when absent.
    func optional(_ key: String) throws(ScenarioError) -> TOMLNode? {
        guard let t = table else { throw error("must be a table") }
        used.insert(key)
        guard let v = t[key] else { return nil }
        if let sub = v.table, !sub.inline {
            // A `[header]` table: its keys are located under their own header line.
            let h = header.map { $0 + "." + key } ?? key
            return TOMLNode(value: v, path: join(key), locator: locator, header: h, occurrence: 0, firstKey: nil)
        }
        if firstKey == nil, let a = v.array, let first = a.first, let sub = first.table, !sub.inline {
            // An array of `[[tables]]`: element i is located at the i-th header of that name.
            let h = header.map { $0 + "." + key } ?? key
            let node = TOMLNode(value: v, path: join(key), locator: locator, header: h, occurrence: 0, firstKey: nil)
            node.arrayOfTables = true
            return node
        }
        return TOMLNode(value: v, path: join(key), locator: locator, header: header, occurrence: occurrence,
                        firstKey: firstKey ?? key)
    }

    func required(_ key: String) throws(ScenarioError) -> TOMLNode {
        guard let n = try optional(key) else {
            throw ScenarioError(line: line, key: join(key), "missing required key")
        }
        return n
    }

    /// Elements of an array; an array of `[[tables]]` locates each element at its own header.
    func elements() throws(ScenarioError) -> [TOMLNode] {
        guard let a = value.array else { throw error("must be an array, got \(value.type)") }
        var out: [TOMLNode] = []
        for (i, v) in a.enumerated() {
            let p = "\(path)[\(i)]"
            if arrayOfTables {
                out.append(TOMLNode(value: v, path: p, locator: locator, header: header, occurrence: i, firstKey: nil))
            } else {
                out.append(TOMLNode(value: v, path: p, locator: locator, header: header, occurrence: occurrence, firstKey: firstKey))
            }
        }
        return out
    }

    /// Rejects members that no reader asked for.
    func finish() throws(ScenarioError) {
        guard let t = table else { return }
        for key in t.keys.sorted() where !used.contains(key) {
            let line = locator.line(header: header, occurrence: occurrence, key: firstKey ?? key)
            throw ScenarioError(line: line, key: join(key), "unknown key (check the spelling; Traces/README.md lists the keys)")
        }
    }

    // MARK: typed values

    func int() throws(ScenarioError) -> Int64 {
        guard let i = value.int else { throw error("must be an integer, got \(value.type)") }
        return Int64(i)
    }

    func nonNegative() throws(ScenarioError) -> Int64 {
        let i = try int()
        guard i >= 0 else { throw error("must be 0 or more, got \(i)") }
        return i
    }

    func string() throws(ScenarioError) -> String {
        guard let s = value.string else { throw error("must be a string, got \(value.type)") }
        return s
    }

    func bool() throws(ScenarioError) -> Bool {
        guard let b = value.bool else { throw error("must be true or false, got \(value.type)") }
        return b
    }

    /// A duration: a string `"<number><unit>"` with unit ns, us, ms, s or m (e.g. "250ms",
    /// "1.5s"); virtual nanoseconds.
    func duration() throws(ScenarioError) -> UInt64 {
        guard let s = value.string, let d = Duration.parse(s) else {
            let s = value.string ?? "\(value.type)"
            throw error("must be a duration like \"250ms\", \"2s\" or \"1.5s\" (units ns, us, ms, s, m), got \"\(s)\"")
        }
        return d
    }

    /// A set of heights: an array of integers and `"a..b"` inclusive range strings.
    func heights() throws(ScenarioError) -> HeightSet {
        var set = HeightSet()
        for e in try elements() {
            if let i = e.value.int {
                set.ranges.append(Int64(i)...Int64(i))
            } else if let s = e.value.string, let r = HeightSet.parseRange(s) {
                set.ranges.append(r)
            } else {
                throw e.error("must be a height (integer) or an inclusive range string like \"10..20\"")
            }
        }
        return set
    }
}

/// Parses virtual durations.
enum Duration {
    static func parse(_ text: String) -> UInt64? {
        let units: [(String, Double)] = [("ns", 1), ("us", 1e3), ("ms", 1e6), ("m", 60e9), ("s", 1e9)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "ms" and "ns" also end in "s": a number must remain.
            guard !number.isEmpty, number.allSatisfy({ $0.isNumber || $0 == "." }), let v = Double(number) else { continue }
            let ns = (v * scale).rounded()
            guard ns >= 0, ns < 1e18 else { return nil }
            return UInt64(ns)
        }
        return nil
    }
}

/// Heights named by a scenario (sorted ranges, duplicates allowed).
public struct HeightSet: Equatable, Sendable {
    public var ranges: [ClosedRange<Int64>] = []
    public init(_ ranges: [ClosedRange<Int64>] = []) { self.ranges = ranges }
    public func contains(_ h: Int64) -> Bool { ranges.contains { $0.contains(h) } }
    public var isEmpty: Bool { ranges.isEmpty }

    static func parseRange(_ s: String) -> ClosedRange<Int64>? {
        let parts = s.components(separatedBy: "..")
        guard parts.count == 2, let a = Int64(parts[0]), let b = Int64(parts[1]), a <= b else { return nil }
        return a...b
    }
}
