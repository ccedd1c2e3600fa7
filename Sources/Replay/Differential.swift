import JSON
import SyncMachine

/// What a differential replay compares (issue 14 §1): `--ignore KIND[,KIND]` drops decision
/// kinds on both sides before alignment; `--ignore-time` compares decisions without their
/// virtual time `t` and without their cause (`event` index or `timer`), which timing decides —
/// "same outcome?" rather than "same steps?".
public struct DifferentialFilter: Equatable, Sendable {
    public var ignoredKinds: [DecisionKind]
    public var ignoreTime: Bool
    /// Compare without the cause only (set with the observed side: a recording's decision is
    /// caused by its own event, a replayed one by what triggered it).
    public var ignoreCause: Bool

    public init(ignoredKinds: [DecisionKind] = [], ignoreTime: Bool = false, ignoreCause: Bool = false) {
        self.ignoredKinds = Array(Set(ignoredKinds)).sorted()
        self.ignoreTime = ignoreTime
        self.ignoreCause = ignoreCause
    }

    /// The decisions that take part in the comparison, as recorded.
    public func kept(_ decisions: [Decision]) -> [Decision] {
        ignoredKinds.isEmpty ? decisions : decisions.filter { !ignoredKinds.contains($0.kind) }
    }

    /// A kept decision as it is compared: without time and cause under `ignoreTime`.
    func compared(_ decision: Decision) -> Decision {
        if ignoreTime { return Decision(decision.action, time: 0, cause: .event(0)) }
        return ignoreCause ? Decision(decision.action, time: decision.time, cause: .event(0)) : decision
    }
}

/// One side of a differential replay: a registered profile replayed on the trace.
public struct DifferentialSide: Sendable {
    /// The profile's name (a registered profile).
    public var name: String
    /// The implementation that owns the profile (nil for a trace without `/blocksync` events).
    public var implementation: String?
    public var decisions: [Decision]
    /// The replay stopped with this error (a "panic" of the summary table); its decisions are empty.
    public var failure: String?

    public init(name: String, implementation: String?, decisions: [Decision], failure: String? = nil) {
        self.name = name
        self.implementation = implementation
        self.decisions = decisions
        self.failure = failure
    }
}

/// One row of the summary table: what a side decided overall.
public struct DifferentialSummary: Equatable, Sendable {
    public var blocksApplied = 0
    public var lastHeight: Int64?
    public var switchTime: UInt64?
    public var switchHeight: Int64?
    /// `peer: reason` of every removal (resp. ban), in decision order.
    public var removed: [String] = []
    public var banned: [String] = []
    public var verifyFailures = 0
    public var panic: String?

    public init(_ side: DifferentialSide) {
        panic = side.failure
        for d in side.decisions {
            switch d.action {
            case .blockApplied(let h, _):
                blocksApplied += 1
                lastHeight = max(lastHeight ?? h, h)
            case .switchToConsensus(let h) where switchTime == nil:
                switchTime = d.time
                switchHeight = h
            case .peerRemoved(let p, let r): removed.append("\(p): \(r)")
            case .peerBanned(let p, let r): banned.append("\(p): \(r)")
            case .verifyFailed: verifyFailures += 1
            default: break
            }
        }
    }

    var json: JSONValue {
        .object([
            "blocks_applied": .int(Int64(blocksApplied)),
            "last_height": lastHeight.map { .int($0) } ?? .null,
            "switch_to_consensus": switchTime.map { .object(["t": .uint($0), "height": .int(switchHeight ?? 0)]) } ?? .null,
            "peers_removed": .array(removed.map { .string($0) }),
            "peers_banned": .array(banned.map { .string($0) }),
            "verify_failures": .int(Int64(verifyFailures)),
            "panic": panic.map { .string($0) } ?? .null,
        ])
    }
}

/// Two sides compared: `a` plays the golden's "expected" role, `b` the "actual" one.
public struct DifferentialPair: Sendable {
    public var a: Int
    public var b: Int
    /// The alignment of the two kept logs (Myers, keyed like goldens: (kind, height) / (kind, peer)).
    public var report: DivergenceReport

    public var comparison: GoldenComparison { report.comparison }
    /// The virtual time of the first difference (for choosing the earliest one).
    var firstTime: UInt64? { report.first == nil ? nil : report.cause?.time ?? 0 }
}

/// The differential report (issue 14 §1): a summary table per side, the first point where two
/// sides decide differently (cause and context exactly as in the golden divergence report),
/// and per-pair counts. `text` and `json` carry the same data.
public struct DifferentialReport: Sendable {
    public var tracePath: String
    public var traceSHA256: String
    public var mode: ReplayMode
    public var tool: String
    public var filter: DifferentialFilter
    public var sides: [DifferentialSide]
    /// Every pair (i < j) in the order the sides were named.
    public var pairs: [DifferentialPair]

    /// The pair whose first difference comes earliest in virtual time (ties: naming order).
    public var first: DifferentialPair? {
        pairs.filter { $0.report.first != nil }.min { ($0.firstTime ?? 0) < ($1.firstTime ?? 0) }
    }

    /// Sides that stopped with an error, when not all of them stopped the same way.
    var panicsDiffer: Bool { Set(sides.map(\.failure)).count > 1 }

    public var differs: Bool { first != nil || panicsDiffer }

    /// The profile names, `a,b`.
    var names: String { sides.map(\.name).joined(separator: ",") }

    /// One line for suite tables and JUnit messages.
    public var oneLine: String {
        if let p = first { return firstLine(p) }
        if panicsDiffer {
            let failed = sides.filter { $0.failure != nil }
            return "the replay stopped for \(failed.map(\.name).joined(separator: ", ")): \(failed[0].failure!)"
        }
        return "\(names) decide the same (\(sides.first?.decisions.count ?? 0) decisions)"
    }

    func firstLine(_ p: DifferentialPair) -> String {
        let a = sides[p.a].name, b = sides[p.b].name, r = p.report
        guard let d = r.first else { return "" }
        switch d {
        case .changed(let e, let x, let changes):
            let c = changes[0]
            return "first difference: \(a) decision #\(e) vs \(b) decision #\(x) (\(c.pointer)): \(a) \(c.expected.canonical), \(b) \(c.actual.canonical)"
        case .missing(let e, _):
            return "first difference: \(a) decision #\(e) has no counterpart in \(b): \(r.expected[e].json.canonical)"
        case .extra(let x, let before):
            return "first difference: \(b) decision #\(x) has no counterpart in \(a) (before \(a) decision #\(before)): \(r.actual[x].json.canonical)"
        }
    }

    var tableLines: [String] {
        let header = ["profile", "impl", "blocks", "last", "switch", "removed", "banned", "verify_failed", "panic"]
        var rows = [header]
        for s in sides {
            let m = DifferentialSummary(s)
            rows.append([s.name, s.implementation ?? "none", "\(m.blocksApplied)", m.lastHeight.map { "\($0)" } ?? "-",
                         m.switchTime.map { "h=\(m.switchHeight ?? 0) t=\(VirtualTime.format($0))" } ?? "-",
                         "\(m.removed.count)", "\(m.banned.count)", "\(m.verifyFailures)", m.panic == nil ? "0" : "1"])
        }
        let widths = header.indices.map { c in rows.map { $0[c].count }.max() ?? 0 }
        var out = rows.map { row in
            "  " + row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
        }
        for s in sides {
            let m = DifferentialSummary(s)
            for r in m.removed { out.append("  \(s.name) removed \(r)") }
            for r in m.banned { out.append("  \(s.name) banned \(r)") }
            if let p = m.panic { out.append("  \(s.name) stopped: \(p)") }
        }
        return out.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
    }

    var pairLines: [String] {
        pairs.map { p in
            let c = p.comparison
            let total = c.changedCount + c.missingCount + c.extraCount
            return "  \(sides[p.a].name) vs \(sides[p.b].name): \(total == 0 ? "same" : "\(total) differing")"
                + " (\(c.changedCount) changed, \(c.missingCount) only in \(sides[p.a].name), \(c.extraCount) only in \(sides[p.b].name);"
                + " \(c.expectedDecisions) vs \(c.actualDecisions) compared)"
        }
    }

    var comparedLine: String {
        var s = "compared: every decision kind"
        if !filter.ignoredKinds.isEmpty { s = "compared: all but " + filter.ignoredKinds.map(\.rawValue).joined(separator: ", ") }
        if filter.ignoreTime { return s + "; without t and cause (--ignore-time)" }
        return s + (filter.ignoreCause ? "; with t, without cause (the observed side)" : "; with t and cause")
    }

    public var text: String {
        var out = ["\(differs ? "DIFFER" : "SAME") \(GoldenNaming.caseName(trace: tracePath))  trace=sha256:\(traceSHA256)  profiles=\(names) mode=\(mode.rawValue)  \(tool)",
                   comparedLine, "summary:"]
        out += tableLines
        out.append(oneLine)
        if let p = first {
            let a = sides[p.a].name, b = sides[p.b].name
            out += p.report.causeAndContextLines(expectedLabel: a, actualLabel: b)
            out += p.report.decisionContextLines(expectedTitle: "\(a) decisions:", actualTitle: "\(b) decisions:")
            out.append("diff (- \(a), + \(b)):")
            out += p.report.diffLines(limit: 10).map { "  " + $0 }
        }
        out.append("pairs:")
        out += pairLines
        return out.joined(separator: "\n") + "\n"
    }

    public var json: JSONValue {
        var firstJSON: JSONValue = .null
        if let p = first, case .object(var m) = p.report.firstDivergenceJSON {
            m["summary"] = .string(firstLine(p))
            m["a"] = .string(sides[p.a].name)
            m["b"] = .string(sides[p.b].name)
            m["context"] = p.report.contextJSON
            m["diff"] = .array(p.report.diffLines(limit: Int.max).map { .string($0) })
            firstJSON = .object(m)
        }
        return .object([
            "status": .string(differs ? "differ" : "same"),
            "case": .string(GoldenNaming.caseName(trace: tracePath)),
            "trace": .object(["path": .string(tracePath), "sha256": .string(traceSHA256)]),
            "mode": .string(mode.rawValue),
            "tool": .string(tool),
            "ignore": .array(filter.ignoredKinds.map { .string($0.rawValue) }),
            "ignore_time": .bool(filter.ignoreTime),
            "ignore_cause": .bool(filter.ignoreTime || filter.ignoreCause),
            "profiles": .array(sides.map { s in
                .object(["profile": .string(s.name), "implementation": s.implementation.map { .string($0) } ?? .null,
                         "decisions": .int(Int64(s.decisions.count)), "summary": DifferentialSummary(s).json])
            }),
            "first_difference": firstJSON,
            "pairs": .array(pairs.map { p in
                let c = p.comparison
                return .object(["a": .string(sides[p.a].name), "b": .string(sides[p.b].name),
                                "changed": .int(Int64(c.changedCount)), "only_a": .int(Int64(c.missingCount)),
                                "only_b": .int(Int64(c.extraCount)), "a_decisions": .int(Int64(c.expectedDecisions)),
                                "b_decisions": .int(Int64(c.actualDecisions)),
                                "first": p.report.first == nil ? .null : .string(firstLine(p))])
            }),
        ])
    }
}

/// Differential replay (issue 14 §1): the same trace into several profiles, their decision logs
/// aligned pairwise with the golden comparison. No implementation is special-cased: the sides
/// are whatever the registry holds under the names given, plus `observed` (§3: the recorded
/// node's own decisions, `ObservedSide`; its presence narrows the comparison to what a
/// recording shows).
public enum DifferentialReplay {
    /// `replay` runs one side (the CLI passes `ReplaySession.replay`); an error it throws for
    /// one side is that side's panic, for every side the trace's fault (`CaseError`, exit 2).
    public static func run(trace: ReplayTrace, profiles: [ProfileName], mode: ReplayMode, filter: DifferentialFilter,
                           registry: MachineRegistry, contextSize: Int = 3, tool: String,
                           replay: (ReplayTrace, ReplayOptions) throws -> ReplayResult) throws(CaseError) -> DifferentialReport {
        guard profiles.count >= 2 else { throw CaseError("name at least two profiles to compare (--profiles A,B)") }
        for p in profiles where registry.implementation(of: p) == nil && p.rawValue != ObservedSide.name {
            throw CaseError("unknown profile \(p) (expected \(registry.profileList), \(ObservedSide.name) or all)")
        }
        var sides: [DifferentialSide] = []
        var filter = filter
        // The sides replay the same commits: each signature is verified by the first only.
        let memory = SignatureMemory()
        for p in profiles {
            if p.rawValue == ObservedSide.name {
                guard trace.events.contains(where: ObservedSide.shows) else {
                    throw CaseError("\(trace.path) records none of the node's own outbound messages and no pivot result, so there is no observed side to compare")
                }
                sides.append(DifferentialSide(name: ObservedSide.name, implementation: nil, decisions: ObservedSide.decisions(trace)))
                filter = DifferentialFilter(ignoredKinds: filter.ignoredKinds + DecisionKind.allCases.filter { !ObservedSide.kinds.contains($0) },
                                            ignoreTime: filter.ignoreTime, ignoreCause: true)
                continue
            }
            let implementation = trace.hasBlocksync ? registry.implementation(of: p)?.name : nil
            do {
                var options = ReplayOptions(profile: p, mode: mode)
                options.signatureMemory = memory
                let result = try replay(trace, options)
                sides.append(DifferentialSide(name: p.rawValue, implementation: implementation, decisions: result.decisions))
            } catch {
                sides.append(DifferentialSide(name: p.rawValue, implementation: implementation, decisions: [], failure: "\(error)"))
            }
        }
        if let failure = sides[0].failure, sides.allSatisfy({ $0.failure == failure }) { throw CaseError(failure) }
        return report(trace: trace, sides: sides, mode: mode, filter: filter, contextSize: contextSize, tool: tool)
    }

    /// Compares sides already replayed (every pair, in naming order).
    public static func report(trace: ReplayTrace, sides: [DifferentialSide], mode: ReplayMode, filter: DifferentialFilter,
                              contextSize: Int = 3, tool: String) -> DifferentialReport {
        let events = trace.events.map(\.summary)
        let kept = sides.map { filter.kept($0.decisions) }
        let compared = kept.map { $0.map(filter.compared) }
        var pairs: [DifferentialPair] = []
        for a in sides.indices {
            for b in sides.indices where b > a {
                let comparison = GoldenComparison.compare(expected: compared[a].map { .decision($0) }, actual: compared[b])
                let header = ReportHeader(caseName: GoldenNaming.caseName(trace: trace.path), tracePath: trace.path, traceSHA256: trace.sha256,
                                          goldenPath: sides[a].name, implementation: sides[b].implementation,
                                          profile: ProfileName(sides[b].name), mode: mode, tool: tool, goldenTool: nil)
                let report = DivergenceReport(header: header, comparison: comparison, expected: kept[a].map { .decision($0) },
                                              actual: kept[b], events: events, contextSize: contextSize,
                                              reproduceCommand: "", updateCommand: "")
                pairs.append(DifferentialPair(a: a, b: b, report: report))
            }
        }
        return DifferentialReport(tracePath: trace.path, traceSHA256: trace.sha256, mode: mode, tool: tool, filter: filter,
                                  sides: sides, pairs: pairs)
    }
}
