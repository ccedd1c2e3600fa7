/// Settings the originals' own tests override and no released node runs with (issue 18 §3):
/// the pool's `peerTimeout` (a Go `var`; pool_test.go sets 2 s, specs/cometbft-blocksync.md
/// §2.5, §7) and the switch-to-consensus check interval (`switchToConsensusMs`, the test hook
/// of §3.4; 50 ms in reactor_test's CheckSwitchToConsensusLastHeightZero, §7). They are
/// **not faithful** to any version: syncsim's `[test_overrides]` sets them, the trace records
/// them as the metadata `test_overrides` (the trace says how its node ran), replay applies
/// them from there, and a golden's provenance marks them `non_faithful`.
public struct TestOverrides: Sendable, Equatable {
    /// `peer_timeout`: replaces the profile's `peerTimeout` (§2.5).
    public var peerTimeout: Nanoseconds?
    /// `switch_check_interval`: replaces the profile's `switchToConsensusInterval` (§3.4).
    public var switchCheckInterval: Nanoseconds?

    public init(peerTimeout: Nanoseconds? = nil, switchCheckInterval: Nanoseconds? = nil) {
        self.peerTimeout = peerTimeout
        self.switchCheckInterval = switchCheckInterval
    }

    /// The setting names, in the order they are written.
    public static let names = ["peer_timeout", "switch_check_interval"]

    /// No setting overridden: the profile runs as released.
    public var isEmpty: Bool { peerTimeout == nil && switchCheckInterval == nil }

    /// The settings present, by name in `names` order, each a duration text (`2s`, `50ms`).
    public var entries: [(name: String, value: String)] {
        var out: [(name: String, value: String)] = []
        if let t = peerTimeout { out.append(("peer_timeout", Self.text(t))) }
        if let t = switchCheckInterval { out.append(("switch_check_interval", Self.text(t))) }
        return out
    }

    /// Sets the setting `name` to `nanoseconds` (> 0); a name not in `names` is refused.
    public mutating func set(_ name: String, nanoseconds: Nanoseconds) throws(TestOverrideError) {
        guard nanoseconds > 0 else { throw TestOverrideError("\(name) must be a positive duration") }
        switch name {
        case "peer_timeout": peerTimeout = nanoseconds
        case "switch_check_interval": switchCheckInterval = nanoseconds
        default: throw TestOverrideError("unknown test override \"\(name)\" (expected \(Self.names.joined(separator: " or ")))")
        }
    }

    /// Sets `name` from a duration text as `entries` writes it (`<whole number><unit>`, unit
    /// ns, us, ms or s).
    public mutating func set(_ name: String, text: String) throws(TestOverrideError) {
        guard let ns = Self.nanoseconds(text) else {
            throw TestOverrideError("\(name) must be a duration like \"2s\" or \"50ms\" (a whole number with unit d, h, m, s, ms, us or ns), got \"\(text)\"")
        }
        try set(name, nanoseconds: ns)
    }

    /// The value of the trace metadata `test_overrides`: `peer_timeout=2s,switch_check_interval=50ms`.
    public var metadataValue: String { entries.map { "\($0.name)=\($0.value)" }.joined(separator: ",") }

    /// Reads a `metadataValue`; each name at most once.
    public init(metadataValue: String) throws(TestOverrideError) {
        self.init()
        var seen: [String] = []
        for item in metadataValue.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw TestOverrideError("test_overrides entry \"\(item)\" is not NAME=DURATION") }
            let name = String(parts[0])
            guard !seen.contains(name) else { throw TestOverrideError("test_overrides names \(name) twice") }
            seen.append(name)
            try set(name, text: String(parts[1]))
        }
    }

    /// `2s`, `50ms`: `VirtualSpan`'s text (the largest unit that divides it evenly).
    static func text(_ ns: Nanoseconds) -> String { VirtualSpan(nanoseconds: ns).description }

    /// `<whole number><unit>` as `VirtualSpan` reads it; nil otherwise or on overflow.
    static func nanoseconds(_ text: String) -> Nanoseconds? { VirtualSpan(text: text)?.nanoseconds }
}

/// A test override that cannot be read (a bad trace metadata value or golden provenance).
public struct TestOverrideError: Error, Equatable, Sendable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
