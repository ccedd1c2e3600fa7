/// A scenario file could not be used. Every message names the file position (line, when it can
/// be located) and the key, so a typo is fixed without guessing (issue 7).
public struct ScenarioError: Error, Equatable, Sendable, CustomStringConvertible {
    /// 1-based line of the offending key or table header; nil when it cannot be located.
    public var line: Int?
    /// Dotted key path, e.g. `peer[2].latency` (empty for whole-file problems).
    public var key: String
    public var message: String

    public init(line: Int?, key: String, _ message: String) {
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var where_ = line.map { "line \($0)" } ?? ""
        if !key.isEmpty { where_ += (where_.isEmpty ? "" : ", ") + "key \(key)" }
        return where_.isEmpty ? message : "\(where_): \(message)"
    }
}
