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
    private let expected: [GoldenEntry]?
    private var compressor = GoldenCompressor()
    /// Lines of `expected` matched so far.
    private var matched = 0
    private var diverged = false

    init(compareWith expected: [GoldenEntry]?) {
        self.expected = expected
    }

    mutating func append(_ d: Decision) {
        count += 1
        if d.kind == .observedMismatch { observedMismatches.append(d) }
        guard let expected else {
            kept.append(d)
            return
        }
        guard !diverged else { return }
        compressor.append(d) { line in
            if !diverged, matched < expected.count, expected[matched] == line { matched += 1 } else { diverged = true }
        }
    }

    /// Whether the log matched the golden line for line; nil when kept instead.
    mutating func finish() -> Bool? {
        guard let expected else { return nil }
        if !diverged {
            compressor.finish { line in
                if !diverged, matched < expected.count, expected[matched] == line { matched += 1 } else { diverged = true }
            }
        }
        return !diverged && matched == expected.count
    }
}
