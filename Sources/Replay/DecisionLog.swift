/// A replay's decision log (issue 19). Either every decision is kept, or — when the replay
/// compares with a golden as it goes (`ReplayOptions.compareWith`) — each decision is
/// compressed as `GoldenFile.compress` would (`GoldenCompressor`) and every finished line is
/// matched against the golden's next line, keeping only the verdict, the count and the
/// `observed_mismatch` decisions: a matching replay holds no log, whatever its length.
struct DecisionLog {
    /// Every decision, in order (none while comparing as produced).
    private(set) var kept: [Decision] = []
    private(set) var count = 0
    /// The `observed_mismatch` decisions (issue 17), kept in both ways.
    private(set) var observedMismatches: [Decision] = []
    private var compressor = GoldenCompressor()
    private var matcher: Matcher?

    /// The golden's lines and how far they matched.
    private struct Matcher {
        let expected: [GoldenEntry]
        /// Lines of `expected` matched so far.
        var matched = 0
        var diverged = false

        /// A finished line against the golden's next one.
        mutating func take(_ line: GoldenEntry) {
            if !diverged, matched < expected.count, expected[matched] == line { matched += 1 } else { diverged = true }
        }
    }

    init(compareWith expected: [GoldenEntry]?) {
        matcher = expected.map { Matcher(expected: $0) }
    }

    mutating func append(_ d: Decision) {
        count += 1
        if d.kind == .observedMismatch { observedMismatches.append(d) }
        guard matcher != nil else {
            kept.append(d)
            return
        }
        guard !matcher!.diverged else { return }
        compressor.append(d) { matcher!.take($0) }
    }

    /// Whether the log matched the golden line for line; nil when kept instead.
    mutating func finish() -> Bool? {
        guard matcher != nil else { return nil }
        if !matcher!.diverged { compressor.finish { matcher!.take($0) } }
        return !matcher!.diverged && matcher!.matched == matcher!.expected.count
    }
}
