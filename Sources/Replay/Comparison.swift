import HexCoding
import Foundation
import JSON
import SyncDriver

/// One differing value, addressed by an RFC 6901 JSON Pointer into the golden.
public struct FieldChange: Equatable, Sendable {
    public var pointer: String
    public var expected: JSONValue
    public var actual: JSONValue

    public init(pointer: String, expected: JSONValue, actual: JSONValue) {
        self.pointer = pointer
        self.expected = expected
        self.actual = actual
    }
}

/// One difference between a golden and a replay's decisions.
public enum Divergence: Equatable, Sendable {
    /// The golden line `entry` and the actual decisions starting at `actual` have the same
    /// alignment key but different values.
    case changed(entry: Int, actual: Int, changes: [FieldChange])
    /// The golden line `entry` (or, for a run, the listed heights of it) has no actual decision.
    case missing(entry: Int, heights: [Int64])
    /// The actual decision `actual` has no golden line; it would sit before golden line `before`.
    case extra(actual: Int, before: Int)

    /// The JSON Pointer of the divergence's first differing value.
    public var pointer: String {
        switch self {
        case .changed(let e, _, let changes): return changes.first?.pointer ?? "/decisions/\(e)"
        case .missing(let e, _): return "/decisions/\(e)"
        case .extra(_, let before): return "/decisions/\(before)"
        }
    }

    public var entry: Int {
        switch self {
        case .changed(let e, _, _), .missing(let e, _): return e
        case .extra(_, let before): return before
        }
    }

    public var actualIndex: Int? {
        switch self {
        case .changed(_, let a, _), .extra(let a, _): return a
        case .missing: return nil
        }
    }
}

/// How the application order (the `block_applied` heights in order) compares.
public struct ApplyOrderComparison: Equatable, Sendable {
    public var expectedCount: Int
    public var actualCount: Int
    /// Length of the common prefix of applied heights.
    public var identicalPrefix: Int
    public var identical: Bool { identicalPrefix == expectedCount && expectedCount == actualCount }
}

/// The result of comparing a replay's decision log with a golden's `decisions`.
public struct GoldenComparison: Equatable, Sendable {
    public var divergences: [Divergence]
    public var expectedDecisions: Int
    public var actualDecisions: Int
    /// Actual decisions that matched before the first divergence.
    public var matchedPrefix: Int
    public var applyOrder: ApplyOrderComparison

    public var matches: Bool { divergences.isEmpty }
    public var missingCount: Int {
        divergences.reduce(0) { if case .missing(_, let h) = $1 { return $0 + max(h.count, 1) }; return $0 }
    }
    public var extraCount: Int { divergences.reduce(0) { if case .extra = $1 { return $0 + 1 }; return $0 } }
    public var changedCount: Int { divergences.reduce(0) { if case .changed = $1 { return $0 + 1 }; return $0 } }
    public var differingPaths: Int {
        divergences.reduce(0) { if case .changed(_, _, let c) = $1 { return $0 + c.count }; return $0 }
    }

    /// Compares semantically: golden lines are typed values, so key order, whitespace and hex
    /// case never matter; every member of every line is compared.
    public static func compare(expected entries: [GoldenEntry], actual: [Decision]) -> GoldenComparison {
        // Fast path (issue 19): a log that compresses to exactly the golden's lines matches it
        // (a run's digest covers every member; periodic lines determine theirs), so alignment
        // and field-by-field diffs are only needed when something differs.
        if GoldenFile.compress(actual) == entries {
            return GoldenComparison(divergences: [], expectedDecisions: entries.reduce(0) { $0 + $1.count },
                                    actualDecisions: actual.count, matchedPrefix: actual.count,
                                    applyOrder: applyOrder(entries, actual))
        }
        // Expand the golden into one slot per decision; runs contribute one slot per height.
        struct Slot { var entry: Int; var member: Int }
        var slots: [Slot] = []
        var expectedKeys: [AlignmentKey] = []
        for (e, entry) in entries.enumerated() {
            switch entry {
            case .decision(let d):
                slots.append(Slot(entry: e, member: 0))
                expectedKeys.append(AlignmentKey(d))
            case .run(let r):
                for i in 0..<r.count {
                    slots.append(Slot(entry: e, member: i))
                    expectedKeys.append(AlignmentKey(kind: r.kind, height: r.firstHeight + Int64(i), peer: nil))
                }
            case .periodic(let p):
                for i in 0..<p.count {
                    slots.append(Slot(entry: e, member: i))
                    expectedKeys.append(AlignmentKey(p.member(i)))
                }
            }
        }
        let actualKeys = actual.map(AlignmentKey.init)
        let steps = Alignment.align(expectedKeys, actualKeys)

        var found: [(position: Int, divergence: Divergence)] = []
        // Per run entry: matched actual indices, missing member heights, first step position.
        var runMatched: [Int: [Int]] = [:], runMissing: [Int: [Int64]] = [:], runPosition: [Int: Int] = [:]
        // Periodic entries report their first differing or missing member only.
        var periodicReported: Set<Int> = []
        var nextEntry = 0
        for (position, step) in steps.enumerated() {
            switch step {
            case let .pair(s, a):
                let slot = slots[s]
                nextEntry = slot.entry + (entries[slot.entry].count == slot.member + 1 ? 1 : 0)
                switch entries[slot.entry] {
                case .decision(let d):
                    let changes = fieldChanges(expected: d.json, actual: actual[a].json, pointer: "/decisions/\(slot.entry)")
                    if !changes.isEmpty { found.append((position, .changed(entry: slot.entry, actual: a, changes: changes))) }
                case .run:
                    runPosition[slot.entry] = runPosition[slot.entry] ?? position
                    runMatched[slot.entry, default: []].append(a)
                case .periodic(let p):
                    let changes = fieldChanges(expected: p.member(slot.member).json, actual: actual[a].json, pointer: "/decisions/\(slot.entry)")
                    if !changes.isEmpty, periodicReported.insert(slot.entry).inserted {
                        found.append((position, .changed(entry: slot.entry, actual: a, changes: changes)))
                    }
                }
            case let .missing(s):
                let slot = slots[s]
                nextEntry = slot.entry + (entries[slot.entry].count == slot.member + 1 ? 1 : 0)
                switch entries[slot.entry] {
                case .decision: found.append((position, .missing(entry: slot.entry, heights: [])))
                case .run(let r):
                    runPosition[slot.entry] = runPosition[slot.entry] ?? position
                    runMissing[slot.entry, default: []].append(r.firstHeight + Int64(slot.member))
                case .periodic:
                    if periodicReported.insert(slot.entry).inserted { found.append((position, .missing(entry: slot.entry, heights: []))) }
                }
            case let .extra(a):
                found.append((position, .extra(actual: a, before: nextEntry)))
            }
        }
        for (e, position) in runPosition {
            guard case .run(let r) = entries[e] else { continue }
            if let missing = runMissing[e], !missing.isEmpty {
                found.append((position, .missing(entry: e, heights: missing)))
                continue
            }
            let members = (runMatched[e] ?? []).map { actual[$0] }
            guard !members.isEmpty else { continue }
            let summary = DecisionRun(members: members[...])
            let changes = fieldChanges(expected: r.json, actual: summary.json, pointer: "/decisions/\(e)")
            if !changes.isEmpty { found.append((position, .changed(entry: e, actual: runMatched[e]![0], changes: changes))) }
        }
        found.sort { $0.position < $1.position }
        let divergences = found.map(\.divergence)

        var matchedPrefix = actual.count
        if let first = found.first {
            matchedPrefix = 0
            for step in steps[..<first.position] {
                if case .pair = step { matchedPrefix += 1 } else if case .extra = step { matchedPrefix += 1 }
            }
            // Decisions of a run the divergence belongs to are not "matched" either.
            if case .changed(_, let a, _) = first.divergence { matchedPrefix = min(matchedPrefix, a) }
        }
        return GoldenComparison(divergences: divergences,
                                expectedDecisions: entries.reduce(0) { $0 + $1.count },
                                actualDecisions: actual.count,
                                matchedPrefix: matchedPrefix,
                                applyOrder: applyOrder(entries, actual))
    }

    static func applyOrder(_ entries: [GoldenEntry], _ actual: [Decision]) -> ApplyOrderComparison {
        var expected: [(Int64, [UInt8]?)] = []
        for entry in entries {
            switch entry {
            case .decision(let d): if case .blockApplied(let h, let hash) = d.action { expected.append((h, hash)) }
            case .run(let r) where r.kind == .blockApplied:
                for i in 0..<r.count { expected.append((r.firstHeight + Int64(i), nil)) }
            case .run, .periodic: break
            }
        }
        var got: [(Int64, [UInt8])] = []
        for d in actual { if case .blockApplied(let h, let hash) = d.action { got.append((h, hash)) } }
        var prefix = 0
        while prefix < expected.count, prefix < got.count, expected[prefix].0 == got[prefix].0,
              expected[prefix].1 == nil || expected[prefix].1! == got[prefix].1 {
            prefix += 1
        }
        return ApplyOrderComparison(expectedCount: expected.count, actualCount: got.count, identicalPrefix: prefix)
    }

    /// Member-by-member differences; arrays of equal length element by element.
    static func fieldChanges(expected: JSONValue, actual: JSONValue, pointer: String) -> [FieldChange] {
        switch (expected, actual) {
        case let (.object(e), .object(a)):
            var changes: [FieldChange] = []
            for key in Set(e.keys).union(a.keys).sorted() {
                let ev = e[key] ?? .null, av = a[key] ?? .null
                changes += fieldChanges(expected: ev, actual: av, pointer: pointer + "/" + JSONPointer.escape(key))
            }
            return changes
        case let (.array(e), .array(a)) where e.count == a.count:
            return zip(e, a).enumerated().flatMap { fieldChanges(expected: $1.0, actual: $1.1, pointer: pointer + "/\($0)") }
        default:
            if case .string(let es) = expected, case .string(let acs) = actual, es.lowercased() == acs.lowercased(),
               Hex.decode(es) != nil, Hex.decode(acs) != nil {
                return []  // hex compared as bytes
            }
            return expected == actual ? [] : [FieldChange(pointer: pointer, expected: expected, actual: actual)]
        }
    }
}

/// The alignment key of harness-notes.md §2.5 item 3: kind and height, or kind and peer for
/// decisions without a height. Two decisions with one key are "the same decision", possibly
/// with changed values.
struct AlignmentKey: Hashable {
    var kind: DecisionKind
    var height: Int64?
    var peer: String?

    init(kind: DecisionKind, height: Int64?, peer: String?) {
        self.kind = kind
        self.height = height
        self.peer = peer
    }

    init(_ d: Decision) {
        kind = d.kind
        height = d.action.height
        switch d.action {
        case .peerRemoved(let p, _), .peerBanned(let p, _), .outboundExtra(let p, _), .outboundMissing(let p, _): peer = p
        default: peer = nil
        }
    }
}

/// RFC 6901 JSON Pointer escaping.
public enum JSONPointer {
    public static func escape(_ token: String) -> String {
        token.replacingOccurrences(of: "~", with: "~0").replacingOccurrences(of: "/", with: "~1")
    }
}
