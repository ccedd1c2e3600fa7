import HexCoding
import Crypto
import SyncMachine
import JSON
import SyncDriver

/// A golden file could not be used (exit 2).
public enum GoldenError: Error, Equatable, Sendable, CustomStringConvertible {
    case invalid(String)
    case syntax(JSONSyntaxError)
    case schema(found: String)
    case unknownProfile(String, known: String)

    public var description: String {
        switch self {
        case .invalid(let why): return why
        case .syntax(let e): return "not valid JSON at \(e)"
        case .schema(let found):
            return "golden schema \"\(found)\" is not \"\(GoldenFile.schema)\"; re-record it with this syncreplay (--record all)"
        case .unknownProfile(let p, let known):
            return "unknown profile \"\(p)\" (expected \(known))"
        }
    }
}

/// What a golden was made from. Everything here is checked: `schema` must match, `profile` and
/// `mode` supply defaults and refuse conflicting options, `implementation` must be the one
/// registered for `profile` (`MachineRegistry`), `trace.sha256` must be the replayed trace's. `tool` is the version that wrote the file; a different version is reported in the
/// header but does not fail (the decisions are what is compared).
///
/// `profile` is absent for a trace without `/blocksync` events (issue 17: a pivot-only trace has
/// no block-sync implementation to name). `accept_observed_mismatch: true` is written only when
/// the golden was recorded with `--accept-observed-mismatch` and holds `observed_mismatch`
/// decisions: it declares those disagreements with the real node known and expected.
public struct Provenance: Equatable, Sendable {
    public var traceSHA256: String
    public var traceEvents: Int
    /// The implementation that owns `profile` (`v0`…); present exactly when `profile` is.
    public var implementation: String?
    public var profile: ProfileName?
    public var mode: ReplayMode
    public var tool: String
    public var acceptsObservedMismatch: Bool
    /// Implementation options the golden was recorded with (`"options":{"v2-queue":"heap"}`),
    /// only those that differ from their default (`MachineOption`), so a golden recorded without
    /// any has no `options` member.
    public var options: [String: String]
    /// The originals' test settings the trace's node ran with (trace metadata `test_overrides`,
    /// applied by replay): `"non_faithful":{"peer_timeout":"2s","switch_check_interval":"50ms"}`,
    /// written only when present, so the decisions are marked as not those of a released version.
    public var nonFaithful: TestOverrides

    public init(traceSHA256: String, traceEvents: Int, implementation: String?, profile: ProfileName?, mode: ReplayMode, tool: String,
                acceptsObservedMismatch: Bool = false, options: [String: String] = [:], nonFaithful: TestOverrides = TestOverrides()) {
        self.traceSHA256 = traceSHA256
        self.traceEvents = traceEvents
        self.implementation = implementation
        self.profile = profile
        self.mode = mode
        self.tool = tool
        self.acceptsObservedMismatch = acceptsObservedMismatch
        self.options = options
        self.nonFaithful = nonFaithful
    }

    var json: JSONValue {
        var m: JSONObject = ["trace": .object(["sha256": .string(traceSHA256), "events": .int(Int64(traceEvents))]),
                                      "mode": .string(mode.rawValue), "tool": .string(tool)]
        if let profile { m["profile"] = .string(profile.rawValue) }
        if let implementation { m["implementation"] = .string(implementation) }
        if acceptsObservedMismatch { m["accept_observed_mismatch"] = .bool(true) }
        if !options.isEmpty {
            var o: JSONObject = [:]
            for (name, value) in options.sorted(by: { $0.key < $1.key }) { o[name] = .string(value) }
            m["options"] = .object(o)
        }
        if !nonFaithful.isEmpty {
            var o: JSONObject = [:]
            for (name, value) in nonFaithful.entries { o[name] = .string(value) }
            m["non_faithful"] = .object(o)
        }
        return .object(m)
    }

    init(json: JSONValue) throws(GoldenError) {
        guard case .object(let m) = json else { throw .invalid("\"provenance\" must be an object") }
        var reader = FieldReader(members: m)
        var profile: ProfileName?
        var implementation: String?
        if m["profile"] != nil {
            profile = ProfileName(try reader.string("profile"))
            implementation = try reader.string("implementation")
        } else if m["implementation"] != nil {
            throw .invalid("\"provenance\" names an implementation but no profile")
        }
        let accepts = m["accept_observed_mismatch"] != nil ? try reader.bool("accept_observed_mismatch") : false
        var options: [String: String] = [:]
        if let o = m["options"] {
            guard case .object(let members) = o else { throw .invalid("provenance \"options\" must be an object") }
            reader.markUsed("options")
            if profile == nil { throw .invalid("provenance \"options\" need a profile") }
            for name in members.keys.sorted() {
                guard let option = MachineOption.named(name) else {
                    throw .invalid("unknown option \"\(name)\" in provenance (known: \(MachineOption.known.map(\.name).joined(separator: ", ")))")
                }
                guard let value = members[name]?.stringValue, option.values.contains(value) else {
                    throw .invalid("provenance option \"\(name)\" must be \(option.valueList)")
                }
                guard value != option.defaultValue else {
                    throw .invalid("provenance option \"\(name)\" is \"\(value)\", the default: leave it out")
                }
                options[name] = value
            }
        }
        var nonFaithful = TestOverrides()
        if let o = m["non_faithful"] {
            guard case .object(let members) = o, !members.isEmpty else { throw .invalid("provenance \"non_faithful\" must be a non-empty object") }
            reader.markUsed("non_faithful")
            if profile == nil { throw .invalid("provenance \"non_faithful\" needs a profile") }
            for name in members.keys.sorted() {
                guard let text = members[name]?.stringValue else { throw .invalid("provenance non_faithful \"\(name)\" must be a duration string") }
                do { try nonFaithful.set(name, text: text) } catch { throw .invalid("provenance non_faithful: \(error)") }
            }
        }
        let modeName = try reader.string("mode")
        guard let mode = ReplayMode(rawValue: modeName) else { throw .invalid("unknown mode \"\(modeName)\" in provenance") }
        let tool = try reader.string("tool")
        guard case .object(let t)? = m["trace"] else { throw .invalid("provenance \"trace\" must be an object") }
        reader.markUsed("trace")
        var traceReader = FieldReader(members: t)
        let sha = try traceReader.string("sha256")
        guard sha.count == 64, Hex.decode(sha) != nil else { throw .invalid("provenance trace sha256 must be 64 hex digits") }
        let events = try traceReader.uint("events")
        try traceReader.finish(kind: "provenance.trace")
        try reader.finish(kind: "provenance")
        self.init(traceSHA256: sha.lowercased(), traceEvents: Int(clamping: events), implementation: implementation, profile: profile, mode: mode, tool: tool,
                  acceptsObservedMismatch: accepts, options: options, nonFaithful: nonFaithful)
    }
}

/// A run of uniform decisions kept as one golden line (DESIGN.md §4: "long uniform runs are
/// compressed"): consecutive decisions of one kind (`request`, `respond` or `block_applied`)
/// whose heights ascend by one and, for requests and responses, with one peer — so a run
/// still says who was asked for every height in it. The line keeps the height range, the first and last virtual
/// time, the sorted distinct peers, and a SHA-256 digest over the canonical lines of every
/// member, so a change anywhere inside (a hash, a peer, a time, a cause) still fails.
public struct DecisionRun: Equatable, Sendable {
    public static let compressibleKinds: Set<DecisionKind> = [.request, .respond, .blockApplied]
    /// Runs shorter than this stay as individual lines (short runs are easier to review).
    public static let minimumLength = 8

    public var kind: DecisionKind
    public var firstHeight: Int64
    public var lastHeight: Int64
    public var firstTime: UInt64
    public var lastTime: UInt64
    /// Distinct peers of the members, sorted; empty for `block_applied`.
    public var peers: [String]
    public var digest: String

    public var count: Int { Int(lastHeight - firstHeight) + 1 }

    /// Summarises `members` (which must form a run).
    public init(members: ArraySlice<Decision>) {
        let first = members.first!, last = members.last!
        kind = first.kind
        firstHeight = first.action.height ?? 0
        lastHeight = last.action.height ?? 0
        firstTime = first.time
        lastTime = last.time
        var peerSet: Set<String> = []
        for m in members {
            switch m.action {
            case .request(let p, _), .respond(let p, _, _): peerSet.insert(p)
            default: break
            }
        }
        peers = peerSet.sorted()
        digest = DecisionRun.digest(of: members)
    }

    /// A run's first and last members and the digest over all of them (`GoldenCompressor`).
    init(first: Decision, last: Decision, digest: String) {
        kind = first.kind
        firstHeight = first.action.height ?? 0
        lastHeight = last.action.height ?? 0
        firstTime = first.time
        lastTime = last.time
        switch first.action {
        case .request(let p, _), .respond(let p, _, _): peers = [p]
        default: peers = []
        }
        self.digest = digest
    }

    public static func digest<S: Sequence>(of members: S) -> String where S.Element == Decision {
        var hasher = SHA256()
        var line: [UInt8] = []
        for m in members { hash(m, into: &hasher, line: &line) }
        return digestText(hasher)
    }

    /// One member's canonical line and its newline, into a run's (or a log's) digest; `line` is
    /// the caller's buffer for it, reused from member to member (issue 19: one array each).
    static func hash(_ d: Decision, into hasher: inout SHA256, line: inout [UInt8]) {
        line.removeAll(keepingCapacity: true)
        line.reserveCapacity(192)
        d.writeCanonical(to: &line)
        line.append(0x0A)
        line.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }

    /// A finished digest as the lowercase hex a golden holds.
    static func digestText(_ hasher: SHA256) -> String {
        hasher.finalize().withUnsafeBytes { Hex.lower($0) }
    }

    var json: JSONValue {
        var m: JSONObject = [
            "kind": .string(kind.rawValue),
            "range": .array([.int(firstHeight), .int(lastHeight)]),
            "t": .array([.uint(firstTime), .uint(lastTime)]),
            "digest": .string(digest),
        ]
        if kind != .blockApplied { m["peers"] = .array(peers.map { .string($0) }) }
        return .object(m)
    }

    init(json m: JSONObject) throws(GoldenError) {
        var reader = FieldReader(members: m)
        let kindName = try reader.string("kind")
        guard let kind = DecisionKind(rawValue: kindName), DecisionRun.compressibleKinds.contains(kind) else {
            throw .invalid("a run of \"\(kindName)\" decisions is not allowed")
        }
        self.kind = kind
        guard let range = m["range"]?.arrayValue, range.count == 2, let a = range[0].int64, let b = range[1].int64, a <= b,
              b - a < Int64(Int32.max) else {
            throw .invalid("run \"range\" must be [first, last] heights with first <= last")
        }
        reader.markUsed("range")
        guard let t = m["t"]?.arrayValue, t.count == 2, let t0 = t[0].uint64, let t1 = t[1].uint64, t0 <= t1 else {
            throw .invalid("run \"t\" must be [first, last] virtual times")
        }
        reader.markUsed("t")
        firstHeight = a; lastHeight = b; firstTime = t0; lastTime = t1
        let d = try reader.string("digest")
        guard d.count == 64, Hex.decode(d) != nil else { throw .invalid("run \"digest\" must be 64 hex digits") }
        digest = d.lowercased()
        peers = kind == .blockApplied ? [] : try reader.strings("peers")
        try reader.finish(kind: "run")
    }
}

/// A run of one timer's repeated decision at a fixed period kept as one golden line (issue 20;
/// DESIGN.md §4): the 10 s status broadcast through a quiet night, or tendermint v2's
/// `scheduler_fail` on every 20 ms schedule tick while no peer has the next height (up to 3000
/// in the 60 s before the no-advance timeout, §v2.2.4 e). Consecutive identical decisions
/// caused by one timer, evenly spaced in virtual time; the line (kind and the action's fields,
/// timer, first and last time, period, count) determines every member, so it expands back
/// exactly and compares member by member — no digest needed. A change of reason (another
/// height) starts a new line.
public struct PeriodicRun: Equatable, Sendable {
    public static let compressibleKinds: Set<DecisionKind> = [.statusRequest, .schedulerFail]
    /// Longer runs in a golden are refused (a line must not expand without bound); 2^24
    /// status broadcasts are over five years of 10 s periods.
    public static let maximumLength = 1 << 24

    public var action: DecisionAction
    public var timer: String
    public var firstTime: UInt64
    public var period: UInt64
    public var count: Int

    public var kind: DecisionKind { action.kind }
    public var lastTime: UInt64 { firstTime + period * UInt64(count - 1) }

    /// The decision at `index` (0 ..< count).
    public func member(_ index: Int) -> Decision {
        Decision(action, time: firstTime + period * UInt64(index), cause: .timer(timer))
    }

    init(action: DecisionAction, cause: DecisionCause, firstTime: UInt64, period: UInt64, count: Int) {
        self.action = action
        if case .timer(let name) = cause { timer = name } else { timer = "" }
        self.firstTime = firstTime
        self.period = period
        self.count = count
    }

    var json: JSONValue {
        var m = action.fields
        m["kind"] = .string(kind.rawValue)
        m["timer"] = .string(timer)
        m["t"] = .array([.uint(firstTime), .uint(lastTime)])
        m["period"] = .uint(period)
        m["count"] = .int(Int64(count))
        return .object(m)
    }

    init(json m: JSONObject) throws(GoldenError) {
        var reader = FieldReader(members: m)
        let kindName = try reader.string("kind")
        guard let kind = DecisionKind(rawValue: kindName), PeriodicRun.compressibleKinds.contains(kind) else {
            throw .invalid("a periodic run of \"\(kindName)\" decisions is not allowed")
        }
        switch kind {
        case .schedulerFail: action = .schedulerFail(reason: try reader.string("reason"))
        default: action = .statusRequest
        }
        timer = try reader.string("timer")
        let p = try reader.uint("period")
        let n = try reader.uint("count")
        guard p > 0, n >= 2, n <= UInt64(PeriodicRun.maximumLength) else {
            throw .invalid("periodic run needs \"period\" > 0 and 2 <= \"count\" <= \(PeriodicRun.maximumLength)")
        }
        guard let t = m["t"]?.arrayValue, t.count == 2, let t0 = t[0].uint64, let t1 = t[1].uint64,
              case let (span, overflow) = p.multipliedReportingOverflow(by: n - 1), !overflow,
              t0 <= UInt64.max - span, t1 == t0 + span else {
            throw .invalid("periodic run \"t\" must be [first, first + period × (count − 1)]")
        }
        reader.markUsed("t")
        try reader.finish(kind: "periodic run")
        firstTime = t0; period = p; count = Int(n)
    }
}

/// One line of a golden's `decisions` list.
public enum GoldenEntry: Equatable, Sendable {
    case decision(Decision)
    case run(DecisionRun)
    case periodic(PeriodicRun)

    public var json: JSONValue {
        switch self {
        case .decision(let d): return d.json
        case .run(let r): return r.json
        case .periodic(let p): return p.json
        }
    }

    public var kind: DecisionKind {
        switch self {
        case .decision(let d): return d.kind
        case .run(let r): return r.kind
        case .periodic(let p): return p.kind
        }
    }

    /// How many decisions the line stands for.
    public var count: Int {
        switch self {
        case .decision: return 1
        case .run(let r): return r.count
        case .periodic(let p): return p.count
        }
    }
}

/// A golden file: provenance plus the expected decision log (DESIGN.md §4).
///
/// On disk (canonical form, written only by `encoded()`):
/// ```
/// {
///   "decisions": [
///     {"event":3,"height":1,"kind":"request","peer":"aa01","t":1000000},
///     {"digest":"…","kind":"block_applied","range":[1,40],"t":[2000000,90000000]}
///   ],
///   "provenance": {"mode":"reactive","profile":"tm-v0.34","tool":"syncreplay 0.1.0","trace":{"events":120,"sha256":"…"}},
///   "schema": "syncreplay-golden/1"
/// }
/// ```
public struct GoldenFile: Equatable, Sendable {
    public static let schema = "syncreplay-golden/1"

    public var provenance: Provenance
    public var entries: [GoldenEntry]

    public init(provenance: Provenance, entries: [GoldenEntry]) {
        self.provenance = provenance
        self.entries = entries
    }

    /// The golden of a decision log: runs compressed, everything else one line per decision.
    public init(provenance: Provenance, decisions: [Decision]) {
        self.init(provenance: provenance, entries: GoldenFile.compress(decisions))
    }

    /// Groups maximal runs (see `DecisionRun`, `PeriodicRun`) of at least
    /// `DecisionRun.minimumLength` decisions (`GoldenCompressor`, one decision at a time).
    public static func compress(_ decisions: [Decision]) -> [GoldenEntry] {
        var compressor = GoldenCompressor()
        var out: [GoldenEntry] = []
        for d in decisions { compressor.append(d) { out.append($0) } }
        compressor.finish { out.append($0) }
        return out
    }

    /// The canonical text: sorted keys, one decision per line, two-space indent, final newline.
    public func encoded() -> String {
        var out = "{\n  \"decisions\": ["
        for (i, entry) in entries.enumerated() {
            out += i == 0 ? "\n    " : ",\n    "
            out += entry.json.canonical
        }
        out += entries.isEmpty ? "],\n" : "\n  ],\n"
        out += "  \"provenance\": " + provenance.json.canonical + ",\n"
        out += "  \"schema\": " + JSONValue.string(GoldenFile.schema).canonical + "\n}\n"
        return out
    }

    /// Parses a golden in any JSON layout (key order and whitespace do not matter).
    public static func decode(_ bytes: [UInt8]) throws(GoldenError) -> GoldenFile {
        let value: JSONValue
        do { value = try JSONParser.parse(bytes) } catch { throw .syntax(error) }
        guard case .object(let m) = value else { throw .invalid("a golden must be a JSON object") }
        guard let schema = m["schema"]?.stringValue else { throw .invalid("missing \"schema\"") }
        guard schema == GoldenFile.schema else { throw .schema(found: schema) }
        guard let p = m["provenance"] else { throw .invalid("missing \"provenance\"") }
        let provenance = try Provenance(json: p)
        guard let list = m["decisions"]?.arrayValue else { throw .invalid("missing \"decisions\" list") }
        if let extra = m.keys.filter({ !["schema", "provenance", "decisions"].contains($0) }).sorted().first {
            throw .invalid("unexpected member \"\(extra)\" at the top level")
        }
        var entries: [GoldenEntry] = []
        entries.reserveCapacity(list.count)
        for (i, item) in list.enumerated() {
            do {
                guard case .object(let members) = item else { throw GoldenError.invalid("must be an object") }
                if members["period"] != nil {
                    entries.append(.periodic(try PeriodicRun(json: members)))
                } else if members["range"] != nil {
                    entries.append(.run(try DecisionRun(json: members)))
                } else {
                    entries.append(.decision(try Decision(json: item)))
                }
            } catch {
                throw .invalid("/decisions/\(i): \(error)")
            }
        }
        return GoldenFile(provenance: provenance, entries: entries)
    }
}

/// `GoldenFile.compress` one decision at a time (issue 19: goldens are compared as they are
/// produced, so a replay need not keep its decision log). It holds at most one unfinished
/// group: fewer than `DecisionRun.minimumLength` decisions, or the summary of a longer run
/// (heights, times, peers and a running digest) — memory independent of the log's length.
///
/// The grouping is the batch algorithm's, greedy from the left: at each decision, a periodic
/// run (`PeriodicRun`) of at least the minimum length if one starts there; else a run of
/// consecutive heights (`DecisionRun`) of at least the minimum length; else single lines. A
/// periodic candidate that ends short gives up its first decision only (the next one may start
/// a run with another period); a height candidate that ends short gives up all its members.
public struct GoldenCompressor {
    private enum Group {
        /// Periodic candidate: same action and timer cause, evenly spaced and increasing times.
        case periodic(members: [Decision], period: UInt64?)
        case periodicRun(PeriodicRun)
        /// Consecutive heights of one kind and peer.
        case heights(members: [Decision])
        /// Its digest so far is `runHasher`.
        case heightRun(first: Decision, last: Decision, count: Int)
    }

    private var group: Group?
    /// The running digest of the `heightRun` being held, kept outside the enum so that hashing
    /// the next decision updates it in place (issue 19: bound out of the enum and put back, its
    /// SHA-256 context was copied for every decision of a run).
    private var runHasher = SHA256()
    /// The buffer each member's line is written into before it is hashed.
    private var line: [UInt8] = []

    public init() {}

    /// Feeds the next decision; `emit` gets every line this completes, in order.
    public mutating func append(_ d: Decision, emit: (GoldenEntry) -> Void) {
        // Taken out, not copied, so a candidate's members are held once. Every path below sets
        // `group` again.
        guard let current = group.take() else {
            start(d, emit: emit)
            return
        }
        switch current {
        case .periodic(var members, let period):
            let last = members[members.count - 1]
            let p = period ?? (d.time > last.time ? d.time - last.time : 0)
            if Self.continuesPeriodic(d, head: members[0], last: last, period: p) {
                members.append(d)
                if members.count >= DecisionRun.minimumLength {
                    group = .periodicRun(PeriodicRun(action: members[0].action, cause: members[0].cause,
                                                     firstTime: members[0].time, period: p, count: members.count))
                } else {
                    group = .periodic(members: members, period: p)
                }
                return
            }
            // Short: the first decision stands alone; the rest start over from the next one.
            group = nil
            emit(.decision(members[0]))
            for m in members.dropFirst() { append(m, emit: emit) }
            append(d, emit: emit)
        case .periodicRun(var run):
            if Self.continuesPeriodic(d, head: run.member(0), last: run.member(run.count - 1), period: run.period) {
                run.count += 1
                group = .periodicRun(run)
                return
            }
            emit(.periodic(run))
            start(d, emit: emit)
        case .heights(var members):
            if Self.continuesHeights(d, last: members[members.count - 1]) {
                members.append(d)
                if members.count >= DecisionRun.minimumLength {
                    runHasher = SHA256()
                    for m in members { DecisionRun.hash(m, into: &runHasher, line: &line) }
                    group = .heightRun(first: members[0], last: d, count: members.count)
                } else {
                    group = .heights(members: members)
                }
                return
            }
            group = nil
            for m in members { emit(.decision(m)) }
            start(d, emit: emit)
        case .heightRun(let first, let last, let count):
            if Self.continuesHeights(d, last: last) {
                DecisionRun.hash(d, into: &runHasher, line: &line)
                group = .heightRun(first: first, last: d, count: count + 1)
                return
            }
            emit(.run(DecisionRun(first: first, last: last, digest: DecisionRun.digestText(runHasher))))
            start(d, emit: emit)
        }
    }

    /// Ends the log: `emit` gets the lines still held.
    public mutating func finish(emit: (GoldenEntry) -> Void) {
        guard let current = group else { return }
        group = nil
        switch current {
        case .periodic(let members, _):
            emit(.decision(members[0]))
            for m in members.dropFirst() { append(m, emit: emit) }
            finish(emit: emit)
        case .periodicRun(let run): emit(.periodic(run))
        case .heights(let members): for m in members { emit(.decision(m)) }
        case .heightRun(let first, let last, _):
            emit(.run(DecisionRun(first: first, last: last, digest: DecisionRun.digestText(runHasher))))
        }
    }

    private mutating func start(_ d: Decision, emit: (GoldenEntry) -> Void) {
        if PeriodicRun.compressibleKinds.contains(d.kind), case .timer = d.cause {
            group = .periodic(members: [d], period: nil)
        } else if DecisionRun.compressibleKinds.contains(d.kind), d.action.height != nil {
            group = .heights(members: [d])
        } else {
            group = nil
            emit(.decision(d))
        }
    }

    private static func continuesPeriodic(_ d: Decision, head: Decision, last: Decision, period: UInt64) -> Bool {
        period > 0 && d.action == head.action && d.cause == head.cause && d.time > last.time && d.time &- last.time == period
    }

    private static func continuesHeights(_ d: Decision, last: Decision) -> Bool {
        guard d.kind == last.kind, let h = last.action.height, let next = d.action.height else { return false }
        return next == h &+ 1 && d.action.peer == last.action.peer
    }
}
