import JSON
import SyncMachine

/// How a failure is recognised while reducing (issue 14 §2, "failure identity"): a candidate
/// counts only if it fails the same way. Heights and times may shift; the words may not.
public struct FailureIdentity: Equatable, Sendable, CustomStringConvertible {
    /// `changed`, `missing` (the expected side has a decision the other lacks) or `extra`;
    /// with `--diff`: `changed`, `only in A` or `only in B`.
    public var change: String
    public var kind: DecisionKind
    /// The JSON Pointer below `/decisions/N` (`/reason`, `/hash`…; empty for missing and extra).
    public var pointerTail: String
    /// The reason text of the decision (nil for kinds without one).
    public var reason: String?
    /// `--diff`: the two profiles, in order; `--expect`: the replayed profile.
    public var profiles: [String]

    public var description: String {
        var s = "\(change) \(kind.rawValue)"
        if !pointerTail.isEmpty { s += " at \(pointerTail)" }
        if let reason { s += ", reason \"\(reason)\"" }
        return s + " (" + profiles.joined(separator: " vs ") + ")"
    }
}

/// What a failing candidate gives back: its identity and the goldens that pin it.
public struct ReductionObservation: Sendable {
    public var identity: FailureIdentity
    /// Per profile, the decisions its golden records beside the reduced trace.
    public var goldens: [(profile: ProfileName, decisions: [Decision])]
}

/// What the reducer keeps failing, and how a candidate is tested.
public enum ReductionTarget: Sendable {
    /// `--expect GOLDEN`: the golden's profile and mode; the first divergence's identity.
    case golden(GoldenFile, profile: ProfileName, mode: ReplayMode)
    /// `--diff A,B`: the first difference between the two profiles, in the same decision kind.
    case diff(ProfileName, ProfileName, mode: ReplayMode, filter: DifferentialFilter)
}

/// Decides whether a candidate trace fails the same way as the original (issue 14 §2).
///
/// **Between two profiles** the first difference must be of the same kind (the issue's
/// identity), and also the same change (changed, only in A, only in B), pointer tail and reason
/// text, so a candidate cannot slip to another difference of that kind (e.g. a removal for a
/// different reason, decided by the other profile).
///
/// **Against a golden** the golden describes the original trace only, so a candidate is judged
/// by the decision at the first divergence: a `changed` one must still be decided with the same
/// kind, reason and (non-numeric) value at the same pointer tail; an `extra` one must still be
/// decided (same kind and words: peer, reason, hash…); a `missing` one must still be missing
/// while the decision before it in the golden is still reached. The reduced golden is the
/// candidate's own log with the expected side put back at that decision (the golden's value,
/// the extra decision left out, the missing one inserted), so the reduced pair fails the same
/// way. A first divergence inside a compressed run (only its digest is known) cannot be
/// followed: reduce it with `--diff`.
public struct ReductionOracle: Sendable {
    public var target: ReductionTarget
    public var replay: @Sendable (ReplayTrace, ReplayOptions) throws -> ReplayResult
    /// The decision at the first divergence on the original trace (golden target).
    var template: Decision?
    /// Golden target, `missing`: the golden decision before the missing one.
    var anchor: Decision?
    var expectedValue: JSONValue?
    public private(set) var identity: FailureIdentity?

    /// Every replay of the reduction shares one `SignatureMemory`: the candidates keep most
    /// of the original's commits, whose signatures are then verified once (issue 19).
    public init(target: ReductionTarget, replay: @escaping @Sendable (ReplayTrace, ReplayOptions) throws -> ReplayResult) {
        self.target = target
        let memory = SignatureMemory()
        self.replay = { trace, options in
            var options = options
            options.signatureMemory = memory
            return try replay(trace, options)
        }
    }

    /// Fixes the identity from the original trace; throws when it does not fail.
    public mutating func start(_ trace: ReplayTrace) throws(CaseError) -> FailureIdentity {
        switch target {
        case .diff:
            guard let o = observe(trace) else { throw CaseError("\(trace.path): the profiles decide the same; nothing to reduce") }
            identity = o.identity
        case .golden(let golden, let profile, let mode):
            let actual: [Decision]
            do { actual = try replay(trace, golden.options(profile: profile, mode: mode)).decisions } catch { throw CaseError("\(error)") }
            let comparison = GoldenComparison.compare(expected: golden.entries, actual: actual)
            guard let d = comparison.divergences.first else { throw CaseError("\(trace.path) matches the golden; nothing to reduce") }
            let runNote = "the first divergence (\(d.pointer)) is inside a compressed run, whose members only its digest records; reduce with --diff A,B instead"
            switch d {
            case .changed(let e, let a, let changes):
                guard case .decision(let expected) = golden.entries[e] else { throw CaseError(runNote) }
                let c = changes[0]
                template = actual[a]
                expectedValue = c.expected
                identity = FailureIdentity(change: "changed", kind: expected.kind, pointerTail: String(c.pointer.dropFirst("/decisions/\(e)".count)),
                                           reason: actual[a].action.reason, profiles: [profile.rawValue])
            case .extra(let a, _):
                template = actual[a]
                identity = FailureIdentity(change: "extra", kind: actual[a].kind, pointerTail: "", reason: actual[a].action.reason,
                                           profiles: [profile.rawValue])
            case .missing(let e, _):
                guard case .decision(let expected) = golden.entries[e] else { throw CaseError(runNote) }
                if e > 0 {
                    guard case .decision(let before) = golden.entries[e - 1] else { throw CaseError(runNote) }
                    anchor = before
                }
                template = expected
                identity = FailureIdentity(change: "missing", kind: expected.kind, pointerTail: "", reason: expected.action.reason,
                                           profiles: [profile.rawValue])
            }
        }
        return identity!
    }

    /// The candidate's failure when it has the original's identity, else nil.
    public func test(_ trace: ReplayTrace) -> ReductionObservation? {
        guard let o = observe(trace), o.identity == identity else { return nil }
        return o
    }

    func observe(_ trace: ReplayTrace) -> ReductionObservation? {
        switch target {
        case .diff(let a, let b, let mode, let filter):
            guard let da = try? replay(trace, ReplayOptions(profile: a, mode: mode)).decisions,
                  let db = try? replay(trace, ReplayOptions(profile: b, mode: mode)).decisions else { return nil }
            let report = DifferentialReplay.report(trace: trace, sides: [DifferentialSide(name: a.rawValue, implementation: nil, decisions: da),
                                                                         DifferentialSide(name: b.rawValue, implementation: nil, decisions: db)],
                                                   mode: mode, filter: filter, tool: "")
            let r = report.pairs[0].report
            guard let d = r.first else { return nil }
            let identity: FailureIdentity
            switch d {
            case .changed(let e, let x, let changes):
                identity = FailureIdentity(change: "changed", kind: r.expected[e].kind,
                                           pointerTail: String(changes[0].pointer.dropFirst("/decisions/\(e)".count)),
                                           reason: r.actual[x].action.reason, profiles: [a.rawValue, b.rawValue])
            case .missing(let e, _):
                guard case .decision(let only) = r.expected[e] else { return nil }
                identity = FailureIdentity(change: "only in \(a)", kind: only.kind, pointerTail: "", reason: only.action.reason,
                                           profiles: [a.rawValue, b.rawValue])
            case .extra(let x, _):
                identity = FailureIdentity(change: "only in \(b)", kind: r.actual[x].kind, pointerTail: "", reason: r.actual[x].action.reason,
                                           profiles: [a.rawValue, b.rawValue])
            }
            return ReductionObservation(identity: identity, goldens: [(a, da), (b, db)])
        case .golden(let golden, let profile, let mode):
            guard let identity, let template,
                  let actual = try? replay(trace, golden.options(profile: profile, mode: mode)).decisions else { return nil }
            var expected = actual
            switch identity.change {
            case "changed":
                guard let i = actual.firstIndex(where: { Self.sameWords($0.json, template.json, except: nil) && $0.action.reason == identity.reason }),
                      let value = expectedValue else { return nil }
                guard let patched = try? Decision(json: Self.setting(actual[i].json, at: identity.pointerTail, to: value)) else { return nil }
                expected[i] = patched
            case "extra":
                guard let i = actual.firstIndex(where: { Self.sameWords($0.json, template.json, except: nil) }) else { return nil }
                expected.remove(at: i)
            default:  // missing
                guard !actual.contains(where: { Self.sameWords($0.json, template.json, except: nil) }) else { return nil }
                var at = 0
                var inserted = template
                if let anchor {
                    guard let i = actual.firstIndex(where: { Self.sameWords($0.json, anchor.json, except: nil) }) else { return nil }
                    at = i + 1
                    inserted.time = actual[i].time
                    inserted.cause = actual[i].cause
                } else if let first = actual.first {
                    inserted.time = first.time
                }
                expected.insert(inserted, at: at)
            }
            return ReductionObservation(identity: identity, goldens: [(profile, expected)])
        }
    }

    /// Same kind and same words: every string, boolean and array of strings of `template`
    /// (except the cause's `timer`, which timing decides) equals `x`'s; numbers (heights,
    /// times, event indices) may shift.
    static func sameWords(_ x: JSONValue, _ template: JSONValue, except: String?) -> Bool {
        guard case .object(let xm) = x, case .object(let tm) = template else { return false }
        for (key, value) in tm where key != "timer" && key != except {
            switch value {
            case .string, .bool: if xm[key] != value { return false }
            case .array(let items) where items.allSatisfy({ $0.stringValue != nil }): if xm[key] != value { return false }
            default: continue
            }
        }
        return true
    }

    /// `json` with the member at `tail` (`/reason`, `/peers/0`) replaced by `value`.
    static func setting(_ json: JSONValue, at tail: String, to value: JSONValue) -> JSONValue {
        let tokens = tail.split(separator: "/", omittingEmptySubsequences: true).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
        func set(_ node: JSONValue, _ rest: ArraySlice<String>) -> JSONValue {
            guard let token = rest.first else { return value }
            switch node {
            case .object(var m):
                m[token] = set(m[token] ?? .null, rest.dropFirst())
                return .object(m)
            case .array(var items):
                guard let i = Int(token), items.indices.contains(i) else { return node }
                items[i] = set(items[i], rest.dropFirst())
                return .array(items)
            default: return node
            }
        }
        return set(json, tokens[...])
    }
}

extension GoldenFile {
    /// Replay options for `profile` and `mode` with the implementation options of this golden's
    /// provenance (a heap-model v2 golden reduces under the heap model).
    func options(profile: ProfileName, mode: ReplayMode) -> ReplayOptions {
        var options = ReplayOptions(profile: profile, mode: mode)
        options.implementationOptions = provenance.options
        return options
    }
}
