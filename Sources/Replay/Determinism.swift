import JSON
/// The determinism self-check (DESIGN.md §1; harness-notes.md §0 item 5): the same replay run
/// in two separate processes must give byte-identical decision logs. Each child prints its
/// canonical decision lines and a final `digest …` line; this compares the two outputs.
public struct DeterminismComparison: Sendable {
    public struct Run: Sendable {
        public var lines: [String]
        public var digest: String
        public var trailer: String
    }

    public var trace: String
    /// The replay command's options both children were given: the parent's resolved options
    /// (`ResolvedReplay.arguments`).
    public var options: [String]
    public var first: Run
    public var second: Run

    /// Parses a child's stdout; nil when it is not a complete emission.
    public static func parse(_ output: String) -> Run? {
        var lines = output.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let last = lines.popLast(), last.hasPrefix("digest ") else { return nil }
        let parts = last.split(separator: " ")
        guard parts.count >= 2 else { return nil }
        return Run(lines: lines, digest: String(parts[1]), trailer: last)
    }

    public init(trace: String, options: [String], first: Run, second: Run) {
        self.trace = trace
        self.options = options
        self.first = first
        self.second = second
    }

    public var deterministic: Bool { first.digest == second.digest && first.lines == second.lines }

    /// Index of the first differing decision line (alignment is not wanted here: any
    /// reordering is the bug).
    public var firstDifference: Int? {
        guard !deterministic else { return nil }
        var i = 0
        while i < first.lines.count, i < second.lines.count, first.lines[i] == second.lines[i] { i += 1 }
        return i
    }

    public var text: String {
        if deterministic {
            return "deterministic: 2 processes gave digest \(first.digest) (\(first.lines.count) decisions) for \(trace)\n"
                + "  both replayed with \(options.joined(separator: " "))\n"
        }
        let i = firstDifference ?? 0
        var out = ["NONDETERMINISM \(trace): two processes replaying the same trace with the same options gave different decision logs",
                   "  process 1: digest \(first.digest) (\(first.lines.count) decisions)",
                   "  process 2: digest \(second.digest) (\(second.lines.count) decisions)",
                   "  both replayed with \(options.joined(separator: " "))",
                   "first difference at decision #\(i) (/decisions/\(i)):",
                   "  process 1: " + (i < first.lines.count ? first.lines[i] : "(no decision)"),
                   "  process 2: " + (i < second.lines.count ? second.lines[i] : "(no decision)"),
                   "This is a bug in the system under test or the replayer (e.g. Dictionary/Set order reaching a decision), not a golden mismatch."]
        out.append("")
        return out.joined(separator: "\n")
    }

    public var json: JSONValue {
        .object([
            "status": .string(deterministic ? "deterministic" : "nondeterministic"),
            "trace": .string(trace),
            "options": .array(options.map { .string($0) }),
            "digests": .array([.string(first.digest), .string(second.digest)]),
            "decisions": .array([.int(Int64(first.lines.count)), .int(Int64(second.lines.count))]),
            "first_difference": firstDifference.map { i in
                .object(["index": .int(Int64(i)), "pointer": .string("/decisions/\(i)"),
                         "process1": i < first.lines.count ? .string(first.lines[i]) : .null,
                         "process2": i < second.lines.count ? .string(second.lines[i]) : .null])
            } ?? .null,
        ])
    }
}
