import CometWire
import JSON

/// Observed vs replayed (issue 17): the pivot checks where the validator under test decided
/// against the result the real node logged, and no golden or option accepted that. Each line
/// names the input event's time (the log line's timestamp, UTC), its heights and both results.
public struct ObservedMismatchReport: Sendable {
    public var header: ReportHeader
    public var lines: [Line]
    /// The run asked for `--record`; the golden was not written.
    public var recordRefused: Bool

    public struct Line: Sendable, Equatable {
        public var decisionIndex: Int
        public var decision: Decision
        /// The input event that carried the observed result.
        public var event: EventSummary?
        /// The check height the validator compared (switch), when it had one.
        public var checkHeight: UInt64?
    }

    public init(header: ReportHeader, decisions: [Decision], events: [ReplayEvent], recordRefused: Bool) {
        self.header = header
        self.recordRefused = recordRefused
        var lines: [Line] = []
        for (i, d) in decisions.enumerated() where d.kind == .observedMismatch {
            var event: EventSummary?
            if case .event(let e) = d.cause, e < events.count { event = events[e].summary }
            var checkHeight: UInt64?
            if i > 0, case .pivotSwitch(_, _, let ch, _, _, _) = decisions[i - 1].action { checkHeight = ch }
            lines.append(Line(decisionIndex: i, decision: d, event: event, checkHeight: checkHeight))
        }
        self.lines = lines
    }

    /// `2024-05-01T10:00:02.5Z` for a Unix-nanosecond event time.
    static func wallClock(_ ns: UInt64) -> String {
        RFC3339.format(Timestamp(seconds: Int64(ns / 1_000_000_000), nanos: Int32(ns % 1_000_000_000)))
    }

    public var oneLine: String {
        "the validator disagrees with the real node on \(lines.count) pivot check(s) (observed_mismatch"
            + (lines.first.map { ", first at \(Self.wallClock($0.decision.time))" } ?? "") + ")"
    }

    public var text: String {
        let h = header
        var out = ["DISAGREE \(h.caseName)  trace=sha256:\(h.traceSHA256)  golden=\(h.goldenPath)  profile=\(h.profileName) mode=\(h.mode.rawValue)  \(h.tool)",
                   oneLine]
        for l in lines {
            guard case let .observedMismatch(check, _, observed, decided, reason) = l.decision.action else { continue }
            let what = l.event?.description ?? "\(check.rawValue) check"
            let checked = l.checkHeight.map { " check_height=\($0)" } ?? ""
            out.append("  decision #\(l.decisionIndex) at \(Self.wallClock(l.decision.time)) (event #\(l.event?.index ?? -1), t=\(l.decision.time) ns): "
                       + "\(what)\(checked): the node logged \(PivotCheck.verdict(observed)), the validator decided \(PivotCheck.verdict(decided)) (\(reason.rawValue))")
        }
        out.append(recordRefused
                   ? "not recorded: a golden never blesses a disagreement with the real node silently; add --accept-observed-mismatch to record it as known"
                   : "add --accept-observed-mismatch with --record to record these as known disagreements in the golden")
        return out.joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        .object([
            "status": .string("disagree"),
            "case": .string(header.caseName),
            "trace": .string(header.tracePath),
            "golden": .string(header.goldenPath),
            "recorded": .bool(false),
            "mismatches": .array(lines.map { l in
                var m: JSONObject = ["decision": l.decision.json, "index": .int(Int64(l.decisionIndex)),
                                              "time": .string(Self.wallClock(l.decision.time))]
                if let e = l.event { m["event"] = .string(e.description) }
                if let c = l.checkHeight { m["check_height"] = .uint(c) }
                return .object(m)
            }),
        ])
    }
}
