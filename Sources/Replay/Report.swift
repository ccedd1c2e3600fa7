import Foundation
import SyncMachine
import JSON
import SyncDriver

/// One input event as reports show it: index in file order, trace sequence, virtual time,
/// peer and a one-line description of the message.
public struct EventSummary: Equatable, Sendable {
    public var index: Int
    public var sequence: UInt32
    public var time: UInt64
    public var peer: String?
    public var description: String

    public init(index: Int, sequence: UInt32, time: UInt64, peer: String?, description: String) {
        self.index = index
        self.sequence = sequence
        self.time = time
        self.peer = peer
        self.description = description
    }

    var json: JSONValue {
        .object(["index": .int(Int64(index)), "sequence": .uint(UInt64(sequence)), "t": .uint(time),
                 "peer": peer.map { .string($0) } ?? .null, "message": .string(description)])
    }

    var line: String {
        "#\(index) t=\(VirtualTime.format(time)) " + (peer.map { "peer=\($0) " } ?? "") + description
    }
}

/// Formats virtual nanoseconds as seconds with nine decimals (`+12.345000000s`).
public enum VirtualTime {
    public static func format(_ ns: UInt64) -> String {
        let frac = String(ns % 1_000_000_000)
        return "+\(ns / 1_000_000_000).\(String(repeating: "0", count: 9 - frac.count))\(frac)s"
    }
}

/// What a report says about the run it comes from (harness-notes.md §2.5 item 1).
public struct ReportHeader: Equatable, Sendable {
    public var caseName: String
    public var tracePath: String
    public var traceSHA256: String
    public var goldenPath: String
    /// The implementation that ran (`v0`…); reports name its timers. Nil, like `profile`, for a
    /// trace without `/blocksync` events (no block-sync profile applies).
    public var implementation: String?
    public var profile: ProfileName?
    public var mode: ReplayMode
    public var tool: String
    /// The tool version that wrote the golden, when it differs from this one.
    public var goldenTool: String?
    /// Notes for stderr (e.g. an ignored `--profile`).
    public var notes: [String]

    public init(caseName: String, tracePath: String, traceSHA256: String, goldenPath: String,
                implementation: String?, profile: ProfileName?, mode: ReplayMode, tool: String, goldenTool: String?, notes: [String] = []) {
        self.implementation = implementation
        self.caseName = caseName
        self.tracePath = tracePath
        self.traceSHA256 = traceSHA256
        self.goldenPath = goldenPath
        self.profile = profile
        self.mode = mode
        self.tool = tool
        self.goldenTool = goldenTool
        self.notes = notes
    }

    /// `tm-v0.34`, or `none` for a profile-free (pivot-only) trace.
    public var profileName: String { profile?.rawValue ?? "none" }
}

/// The divergence report of harness-notes.md §2.5: first divergence with decision index, JSON
/// Pointer, expected vs actual and the causing input event; context; summary counts; an
/// alignment-aware diff; copy-pasteable reproduce and update commands. `text` and `json` carry
/// the same data.
public struct DivergenceReport: Sendable {
    public var header: ReportHeader
    public var comparison: GoldenComparison
    public var expected: [GoldenEntry]
    public var actual: [Decision]
    public var events: [EventSummary]
    public var contextSize: Int
    public var reproduceCommand: String
    public var updateCommand: String

    public init(header: ReportHeader, comparison: GoldenComparison, expected: [GoldenEntry], actual: [Decision],
                events: [EventSummary], contextSize: Int = 3, reproduceCommand: String, updateCommand: String) {
        self.header = header
        self.comparison = comparison
        self.expected = expected
        self.actual = actual
        self.events = events
        self.contextSize = contextSize
        self.reproduceCommand = reproduceCommand
        self.updateCommand = updateCommand
    }

    public var first: Divergence? { comparison.divergences.first }

    /// The one-line first divergence (JUnit `failure@message`, TAP, suite table).
    public var oneLine: String {
        guard let d = first else { return "matches \(header.goldenPath)" }
        switch d {
        case .changed(let e, _, let changes):
            let c = changes[0]
            return "first divergence at decision #\(e) (\(c.pointer)): expected \(c.expected.canonical), got \(c.actual.canonical)"
        case .missing(let e, let heights):
            return "first divergence at decision #\(e) (/decisions/\(e)): missing \(expected[e].kind.rawValue)"
                + (heights.isEmpty ? "" : " at heights \(HeightList.format(heights))")
        case .extra(let a, let before):
            return "first divergence at decision #\(before) (/decisions/\(before)): extra \(actual[a].json.canonical)"
        }
    }

    /// The input event (or timer) that caused the first divergence, and its virtual time. A
    /// missing run has no single cause (its members' causes are only in its digest), so only
    /// its first time is known.
    public var cause: (cause: DecisionCause?, time: UInt64)? {
        guard let d = first else { return nil }
        switch d {
        case .changed(_, let a, _), .extra(let a, _): return (actual[a].cause, actual[a].time)
        case .missing(let e, _):
            switch expected[e] {
            case .decision(let dec): return (dec.cause, dec.time)
            case .run(let r): return (nil, r.firstTime)
            case .periodic(let p): return (.timer(p.timer), p.firstTime)
            }
        }
    }

    var causeEvent: EventSummary? {
        guard let c = cause else { return nil }
        if case .event(let i)? = c.cause { return events.first { $0.index == i } }
        return nil
    }

    /// Events around the cause (or around the divergence's virtual time for timer causes).
    public var contextEvents: [EventSummary] {
        guard let c = cause else { return [] }
        let center: Int
        if case .event(let i)? = c.cause, let pos = events.firstIndex(where: { $0.index == i }) {
            center = pos
        } else {
            center = events.lastIndex(where: { $0.time <= c.time }) ?? 0
        }
        guard !events.isEmpty else { return [] }
        let lo = max(0, center - contextSize), hi = min(events.count - 1, center + contextSize)
        return Array(events[lo...hi])
    }

    /// Golden lines and actual decisions around the first divergence.
    var contextLines: (expected: [(Int, String)], actual: [(Int, String)]) {
        guard let d = first else { return ([], []) }
        let e = d.entry
        let eLo = max(0, e - contextSize), eHi = min(expected.count, e + contextSize + 1)
        let a = d.actualIndex ?? min(comparison.matchedPrefix, actual.count)
        let aLo = max(0, a - contextSize), aHi = min(actual.count, a + contextSize + 1)
        return ((eLo..<eHi).map { ($0, expected[$0].json.canonical) }, (aLo..<aHi).map { ($0, actual[$0].json.canonical) })
    }

    var summaryLine: String {
        let c = comparison
        var s = "\(c.differingPaths) path\(c.differingPaths == 1 ? "" : "s") differ in \(c.changedCount) decision\(c.changedCount == 1 ? "" : "s"); "
            + "\(c.missingCount) missing, \(c.extraCount) extra; \(c.matchedPrefix) decisions matched before the first divergence "
            + "(\(c.expectedDecisions) expected, \(c.actualDecisions) actual); "
        let ao = c.applyOrder
        if ao.identical {
            s += "apply order identical (\(ao.expectedCount) blocks)"
        } else {
            s += "apply order identical up to index \(ao.identicalPrefix) (\(ao.expectedCount) blocks expected, \(ao.actualCount) applied)"
        }
        return s
    }

    /// The alignment-aware diff, one hunk per divergence (at most `limit`).
    public func diffLines(limit: Int = 20) -> [String] {
        var lines: [String] = []
        for d in comparison.divergences.prefix(limit) {
            switch d {
            case .changed(let e, let a, let changes):
                lines.append("@@ /decisions/\(e) changed (actual decision #\(a))")
                lines.append("- " + expected[e].json.canonical)
                if case .run(let r) = expected[e] {
                    let members = actual[a..<min(actual.count, a + r.count)]
                    lines.append("+ " + DecisionRun(members: members).json.canonical)
                } else {
                    lines.append("+ " + actual[a].json.canonical)
                }
                for c in changes { lines.append("  \(c.pointer): expected \(c.expected.canonical), got \(c.actual.canonical)") }
            case .missing(let e, let heights):
                lines.append("@@ /decisions/\(e) missing" + (heights.isEmpty ? "" : " heights \(HeightList.format(heights))"))
                lines.append("- " + expected[e].json.canonical)
            case .extra(let a, let before):
                lines.append("@@ extra actual decision #\(a), before /decisions/\(before)")
                lines.append("+ " + actual[a].json.canonical)
            }
        }
        if comparison.divergences.count > limit {
            lines.append("… \(comparison.divergences.count - limit) more difference(s); the full list is in --report json")
        }
        return lines
    }

    /// The cause of the first divergence, its differing values and the input events around it
    /// (the text report; `DifferentialReport` shows the same lines with its profiles' names).
    func causeAndContextLines(expectedLabel: String = "expected", actualLabel: String = "got") -> [String] {
        var out: [String] = []
        if let c = cause {
            switch c.cause {
            case nil:
                out.append("  the \(expectedLabel) run starts at t=\(VirtualTime.format(c.time)) virtual")
            case .event(let i)?:
                if let e = causeEvent {
                    out.append("  caused by input event #\(i) (t=\(VirtualTime.format(e.time)) virtual, seq=\(e.sequence)"
                               + (e.peer.map { ", peer=\($0)" } ?? "") + ", \(e.description))")
                } else {
                    out.append("  caused by input event #\(i)")
                }
            case .timer(let name)?:
                out.append("  caused by the \(header.implementation ?? "block-sync") machine's \(name) timer at t=\(VirtualTime.format(c.time)) virtual")
            }
        }
        if case .changed(_, _, let changes)? = first {
            for ch in changes { out.append("  \(ch.pointer)   \(expectedLabel) \(ch.expected.canonical)   \(actualLabel) \(ch.actual.canonical)") }
        }
        let ctx = contextEvents
        if let lo = ctx.first, let hi = ctx.last {
            out.append("context: events \(lo.index)..\(hi.index)  (use --context N)")
            for e in ctx { out.append("  " + e.line) }
        }
        return out
    }

    /// The decisions of both sides around the first divergence.
    func decisionContextLines(expectedTitle: String = "expected decisions:", actualTitle: String = "actual decisions:") -> [String] {
        var out: [String] = []
        let lines = contextLines
        if !lines.expected.isEmpty || !lines.actual.isEmpty {
            out.append(expectedTitle)
            for (i, l) in lines.expected { out.append("  #\(i) \(l)") }
            out.append(actualTitle)
            for (i, l) in lines.actual { out.append("  #\(i) \(l)") }
        }
        return out
    }

    /// The human report; says "first divergence" and ends with the two commands.
    public var text: String {
        var out: [String] = []
        let h = header
        var head = "FAIL \(h.caseName)  trace=sha256:\(h.traceSHA256)  golden=\(h.goldenPath)  implementation=\(h.implementation ?? "none") profile=\(h.profileName) mode=\(h.mode.rawValue)  \(h.tool)"
        if let g = h.goldenTool { head += " (golden written by \(g))" }
        out.append(head)
        out.append(oneLine)
        out += causeAndContextLines()
        out += decisionContextLines()
        out.append("summary: " + summaryLine)
        out.append("diff:")
        out += diffLines().map { "  " + $0 }
        out.append("reproduce: " + reproduceCommand)
        out.append("update:    " + updateCommand)
        return out.joined(separator: "\n") + "\n"
    }

    /// The first divergence as JSON (`first_divergence`; null when the logs match).
    var firstDivergenceJSON: JSONValue {
        var first: JSONValue = .null
        if let d = self.first {
            var m: JSONObject = ["decision_index": .int(Int64(d.entry)), "pointer": .string(d.pointer), "summary": .string(oneLine)]
            switch d {
            case .changed(let e, let a, let changes):
                m["type"] = .string("changed")
                m["actual_index"] = .int(Int64(a))
                m["expected"] = expected[e].json
                m["actual"] = actual[a].json
                m["changes"] = .array(changes.map { .object(["pointer": .string($0.pointer), "expected": $0.expected, "actual": $0.actual]) })
            case .missing(let e, let heights):
                m["type"] = .string("missing")
                m["expected"] = expected[e].json
                m["heights"] = .array(heights.map { .int($0) })
            case .extra(let a, _):
                m["type"] = .string("extra")
                m["actual_index"] = .int(Int64(a))
                m["actual"] = actual[a].json
            }
            if let c = cause {
                switch c.cause {
                case nil: m["cause"] = .object(["t": .uint(c.time)])
                case .event(let i)?: m["cause"] = causeEvent?.json ?? .object(["index": .int(Int64(i))])
                case .timer(let name)?:
                    m["cause"] = .object(["timer": .string(name), "implementation": header.implementation.map { .string($0) } ?? .null, "t": .uint(c.time)])
                }
            }
            first = .object(m)
        }
        return first
    }

    /// Input events and decisions of both sides around the first divergence, as JSON.
    var contextJSON: JSONValue {
        .object([
            "events": .array(contextEvents.map(\.json)),
            "expected": .array(contextLines.expected.map { .object(["index": .int(Int64($0.0)), "line": .string($0.1)]) }),
            "actual": .array(contextLines.actual.map { .object(["index": .int(Int64($0.0)), "line": .string($0.1)]) }),
        ])
    }

    /// The same data for bots (`--report json`).
    public var json: JSONValue {
        let first = firstDivergenceJSON
        let c = comparison
        return .object([
            "status": .string(c.matches ? "match" : "fail"),
            "case": .string(header.caseName),
            "trace": .object(["path": .string(header.tracePath), "sha256": .string(header.traceSHA256)]),
            "golden": .object(["path": .string(header.goldenPath), "tool": header.goldenTool.map { .string($0) } ?? .null]),
            "implementation": header.implementation.map { .string($0) } ?? .null,
            "profile": header.profile.map { .string($0.rawValue) } ?? .null,
            "mode": .string(header.mode.rawValue),
            "tool": .string(header.tool),
            "first_divergence": first,
            "context": contextJSON,
            "summary": .object([
                "differing_paths": .int(Int64(c.differingPaths)),
                "changed": .int(Int64(c.changedCount)),
                "missing": .int(Int64(c.missingCount)),
                "extra": .int(Int64(c.extraCount)),
                "matched_prefix": .int(Int64(c.matchedPrefix)),
                "expected_decisions": .int(Int64(c.expectedDecisions)),
                "actual_decisions": .int(Int64(c.actualDecisions)),
                "apply_order": .object([
                    "identical": .bool(c.applyOrder.identical),
                    "identical_prefix": .int(Int64(c.applyOrder.identicalPrefix)),
                    "expected": .int(Int64(c.applyOrder.expectedCount)),
                    "actual": .int(Int64(c.applyOrder.actualCount)),
                ]),
            ]),
            "diff": .array(diffLines(limit: Int.max).map { .string($0) }),
            "reproduce": .string(reproduceCommand),
            "update": .string(updateCommand),
        ])
    }
}

/// Compact height lists: `5, 7..9, 12`.
enum HeightList {
    static func format(_ heights: [Int64]) -> String {
        var parts: [String] = []
        var i = 0
        while i < heights.count {
            var j = i
            while j + 1 < heights.count, heights[j + 1] == heights[j] &+ 1 { j += 1 }
            parts.append(i == j ? "\(heights[i])" : "\(heights[i])..\(heights[j])")
            i = j + 1
        }
        return parts.joined(separator: ", ")
    }
}

/// POSIX shell quoting for the copy-pasteable commands.
public enum ShellQuote {
    public static func quote(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !word.isEmpty, word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public static func command(_ words: [String]) -> String { words.map(quote).joined(separator: " ") }
}
