import Replay
import Sim

/// Checks a scenario's `[expect."<profile>"]` table against a recorded golden, so a golden that
/// contradicts the spec-derived expectations cannot be blessed silently (issue 7). Returns the
/// failures, one line each (empty: every expectation holds).
public enum ExpectationCheck {
    public static func failures(_ e: Expectation, golden: GoldenFile) -> [String] {
        var out: [String] = []
        let cite = " (\(e.spec))"
        if let recorded = golden.provenance.profile, recorded.rawValue != e.profile {
            out.append("golden was recorded for profile \(recorded.rawValue), expected \(e.profile)")
        }
        if golden.provenance.mode.rawValue != e.mode {
            out.append("golden was recorded in mode \(golden.provenance.mode.rawValue), expected \(e.mode)")
        }
        if let want = e.lastApplied {
            let got = lastApplied(golden)
            if got != want { out.append("last_applied: expected \(want), golden has \(got)" + cite) }
        }
        if let want = e.switchedToConsensus {
            let got = golden.entries.contains { $0.kind == .switchToConsensus }
            if got != want { out.append("switched_to_consensus: expected \(want), golden has \(got)" + cite) }
        }
        for b in e.banned where !matches(golden, ["kind": .string("peer_banned"), "peer": .string(b.peer), "reason": .string(b.reason)]) {
            out.append("banned: no peer_banned decision for \(b.peer)" + (b.reason.isEmpty ? "" : " with reason containing \"\(b.reason)\"") + cite)
        }
        for r in e.removed where !matches(golden, ["kind": .string("peer_removed"), "peer": .string(r.peer), "reason": .string(r.reason)]) {
            out.append("removed: no peer_removed decision for \(r.peer)" + (r.reason.isEmpty ? "" : " with reason containing \"\(r.reason)\"") + cite)
        }
        for p in e.decisionsInclude {
            switch match(golden, p) {
            case .yes: break
            case .no: out.append("decisions_include: nothing matches \(describe(p))" + cite)
            case .ambiguous:
                out.append("decisions_include: only a compressed run could match \(describe(p)), and it cannot tell which peer or time; make the pattern checkable" + cite)
            }
        }
        for p in e.decisionsExclude {
            switch match(golden, p) {
            case .no: break
            case .yes: out.append("decisions_exclude: a decision matches \(describe(p))" + cite)
            case .ambiguous:
                out.append("decisions_exclude: a compressed run may hold a decision matching \(describe(p)); make the pattern checkable" + cite)
            }
        }
        return out
    }

    /// Whether a golden holds a decision matching a pattern. `ambiguous`: no single decision
    /// matches, but a compressed run might hold one — its members' peers or times are not
    /// recorded one by one — so neither an include nor an exclude can be confirmed.
    public enum Match: Equatable, Sendable { case yes, no, ambiguous }

    public static func match(_ golden: GoldenFile, _ pattern: [String: PatternValue]) -> Match {
        var result = Match.no
        for entry in golden.entries {
            switch match(entry, pattern) {
            case .yes: return .yes
            case .ambiguous: result = .ambiguous
            case .no: break
            }
        }
        return result
    }

    /// The highest applied height (0 when nothing was applied).
    public static func lastApplied(_ golden: GoldenFile) -> Int64 {
        var top: Int64 = 0
        for entry in golden.entries {
            switch entry {
            case .decision(let d): if case .blockApplied(let h, _) = d.action { top = max(top, h) }
            case .run(let r): if r.kind == .blockApplied { top = max(top, r.lastHeight) }
            case .periodic: break
            }
        }
        return top
    }

    static func describe(_ p: [String: PatternValue]) -> String {
        "{" + p.keys.sorted().map { "\($0) = \(p[$0]!)" }.joined(separator: ", ") + "}"
    }

    public static func matches(_ golden: GoldenFile, _ pattern: [String: PatternValue]) -> Bool {
        match(golden, pattern) == .yes
    }

    /// `t_min` / `t_max` (virtual ns) bound a decision's time `t`.
    static func timeBound(_ key: String, _ value: PatternValue) -> ClosedRange<UInt64>? {
        guard case .int(let v) = value, v >= 0 else { return nil }
        switch key {
        case "t_min": return UInt64(v)...UInt64.max
        case "t_max": return 0...UInt64(v)
        default: return nil
        }
    }

    /// A decision matches when every pattern field equals its field (`reason`, `error` and a
    /// `reactor_panic`'s `message` match as substrings; `t_min`/`t_max` bound its time; an integer matches an integer
    /// array that contains it, an integer array must equal it). A compressed run (one peer, heights
    /// ascending by one) matches on kind, a `height` inside its range and its peer. Only its
    /// first and last members' times are recorded: a time bound is decided when it holds the
    /// time of the member in question (the first or last, or any member when the bound covers
    /// the whole run) and `ambiguous` when the bound cuts the run where no time is recorded. A
    /// run cannot match other fields.
    static func match(_ entry: GoldenEntry, _ pattern: [String: PatternValue]) -> Match {
        if case .periodic(let p) = entry {
            return (0..<p.count).contains { matches(.decision(p.member($0)), pattern) } ? .yes : .no
        }
        guard case .run(let r) = entry else { return matches(entry, pattern) ? .yes : .no }
        var bound: ClosedRange<UInt64> = 0...UInt64.max
        var height: Int64?
        for (key, want) in pattern {
            if let b = timeBound(key, want) {
                guard b.overlaps(bound) else { return .no }
                bound = max(b.lowerBound, bound.lowerBound)...min(b.upperBound, bound.upperBound)
                continue
            }
            switch (key, want) {
            case ("kind", .string(let k)): if k != r.kind.rawValue { return .no }
            case ("height", .int(let h)):
                if h < r.firstHeight || h > r.lastHeight { return .no }
                height = h
            case ("peer", .string(let p)):
                if !r.peers.contains(p) { return .no }
                if r.peers.count > 1 { return .ambiguous }
            default: return .no
            }
        }
        if r.lastTime < bound.lowerBound || r.firstTime > bound.upperBound { return .no }
        if bound.contains(r.firstTime) && bound.contains(r.lastTime) { return .yes }
        switch height {
        case r.firstHeight?: return bound.contains(r.firstTime) ? .yes : .no
        case r.lastHeight?: return bound.contains(r.lastTime) ? .yes : .no
        case nil: return bound.contains(r.firstTime) || bound.contains(r.lastTime) ? .yes : .ambiguous
        default: return .ambiguous
        }
    }

    static func matches(_ entry: GoldenEntry, _ pattern: [String: PatternValue]) -> Bool {
        switch entry {
        case .decision(let d):
            guard case .object(let fields) = d.json else { return false }
            for (key, want) in pattern {
                if let bound = timeBound(key, want) {
                    guard let t = d.json["t"]?.uint64, bound.contains(t) else { return false }
                    continue
                }
                guard let have = fields[key] else { return false }
                switch want {
                case .string(let s):
                    guard let h = have.stringValue else { return false }
                    if key == "reason" || key == "error" || key == "message" { if !s.isEmpty && !h.contains(s) { return false } } else if h != s { return false }
                case .int(let i):
                    // Against an array (`heights` of verify_failed): the array contains it.
                    if let items = have.arrayValue {
                        if !items.contains(where: { $0.int64 == i }) { return false }
                    } else if have.int64 != i { return false }
                case .ints(let want):
                    guard let items = have.arrayValue, items.map(\.int64) == want.map(Optional.some) else { return false }
                case .bool(let b): if have.boolValue != b { return false }
                case .null: if have != .null { return false }
                }
            }
            return true
        case .run, .periodic:
            return match(entry, pattern) == .yes
        }
    }
}
