/// How much virtual time one run (a replay, a simulation) may cover, first event to last
/// (issue 20). Idle skipping makes a quiet stretch cheap, but a timestamp far in the future
/// would still make the periodic status broadcast (one decision per 10 s) grow without
/// bound; beyond the span the drivers refuse the input (exit 2) naming the event and its time.
public struct VirtualSpan: Sendable, Equatable, Comparable, CustomStringConvertible {
    public var nanoseconds: Nanoseconds

    public init(nanoseconds: Nanoseconds) { self.nanoseconds = nanoseconds }

    /// The default: 7 days, a generous quiet week for a recorded node.
    public static let defaultMaximum = VirtualSpan(nanoseconds: 7 * day)

    static let day: Nanoseconds = 86_400_000_000_000
    /// Units of the text form, largest first.
    static let units: [(suffix: String, ns: Nanoseconds)] = [
        ("d", day), ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000),
        ("ms", 1_000_000), ("us", 1_000), ("ns", 1),
    ]

    /// `"<whole number><unit>"`, unit d, h, m, s, ms, us or ns (`7d`, `36h`, `50ms`); nil
    /// otherwise or past 2^63 ns. The one duration text of trace metadata and options.
    public init?(text: String) {
        // Longest suffix first: "ms", "us" and "ns" also end in "s".
        guard let unit = Self.units.sorted(by: { $0.suffix.count > $1.suffix.count })
            .first(where: { text.hasSuffix($0.suffix) }) else { return nil }
        let digits = text.dropLast(unit.suffix.count)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), let n = UInt64(digits) else { return nil }
        let (ns, overflow) = n.multipliedReportingOverflow(by: unit.ns)
        guard !overflow, ns <= UInt64(Int64.max) else { return nil }
        self.nanoseconds = ns
    }

    /// The largest unit that divides it evenly (`7d`, `90m`, `50ms`).
    public var description: String {
        let unit = Self.units.first { nanoseconds % $0.ns == 0 } ?? ("ns", 1)
        return "\(nanoseconds / unit.ns)\(unit.suffix)"
    }

    /// Whether `time` lies beyond the span measured from `start`.
    public func isExceeded(from start: Nanoseconds, to time: Nanoseconds) -> Bool {
        time > start && time &- start > nanoseconds
    }

    public static func < (a: VirtualSpan, b: VirtualSpan) -> Bool { a.nanoseconds < b.nanoseconds }
}
