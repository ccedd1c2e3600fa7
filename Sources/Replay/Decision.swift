import HexCoding
import PivotHint
import JSON
import SyncDriver
/// What caused a decision: an input event of the trace (by its index in file order, 0-based) or
/// one of the reactor's own timers firing at the decision's virtual time (DESIGN.md §3).
public enum DecisionCause: Hashable, Sendable {
    case event(Int)
    case timer(String)
}

/// One normalised decision of a system under test (DESIGN.md §4). The taxonomy is shared by
/// every implementation a trace drives, so goldens compare behaviour, not log text.
public struct Decision: Equatable, Sendable {
    public var action: DecisionAction
    /// Virtual time in nanoseconds (the trace's `log_time` clock).
    public var time: UInt64
    public var cause: DecisionCause

    public init(_ action: DecisionAction, time: UInt64, cause: DecisionCause) {
        self.action = action
        self.time = time
        self.cause = cause
    }

    public var kind: DecisionKind { action.kind }
}

/// Which hint section a pivot check compared against (specs/conflux-pivot-hint.md §3.2 step 5),
/// and why the pivot validator answered as it did (the branch of `allow_switch` /
/// `allow_extend` that returned, §3.2, §3.3): PivotHint's own types, so the decision log names
/// exactly what the validator reported — no second spelling to keep in step.
public typealias HintSection = PivotSection
public typealias PivotReason = PivotDecision.Reason

/// Which pivot-hint call a check was (specs/conflux-pivot-hint.md §3.2, §3.3).
public enum PivotCheck: String, Sendable, CaseIterable {
    case `switch`, extend

    /// The words of `observed` in traces and goldens: `allowed` / `denied`.
    public static func verdict(_ allowed: Bool) -> String { allowed ? "allowed" : "denied" }
}

/// The decision itself, with the fields of DESIGN.md §4.
public enum DecisionAction: Equatable, Sendable {
    case request(peer: String, height: Int64)
    case statusRequest
    case respond(peer: String, height: Int64, found: Bool)
    case peerRemoved(peer: String, reason: String)
    case peerBanned(peer: String, reason: String)
    /// The pair `heights` = [first, second] failed verification (§3.4 steps 4–5); `peers` are
    /// its suppliers, blamed; `reason` is the verification error as the node logs it.
    case verifyFailed(heights: [Int64], peers: [String], reason: String)
    case blockApplied(height: Int64, hash: [UInt8])
    /// State sync's hand-over: block sync starts at `height` (§2.2, §3.1).
    case switchToBlockSync(height: Int64)
    case switchToConsensus(height: Int64)
    case reactorPanic(message: String)
    /// tendermint v2's `scSchedulerFail` (§v2.2.4): the scheduler's error text.
    case schedulerFail(reason: String)
    case pivotSwitch(forkAt: UInt64, meHeight: UInt64, checkHeight: UInt64?, section: HintSection?, allowed: Bool, reason: PivotReason)
    case pivotExtend(height: UInt64, allowed: Bool, reason: PivotReason)
    case hintDisabled(page: UInt64, error: String)
    case unknown(forkAt: UInt64, meHeight: UInt64, height: UInt64)
    case outboundExtra(peer: String, message: String)
    case outboundMissing(peer: String, message: String)
    /// `check` is `switch` or `extend`; `height` is the check's `fork_at` (switch) or `height`
    /// (extend), as in the `pivot_switch` / `pivot_extend` decision just before it; `observed`
    /// and `decided` are `allowed` or `denied`; `reason` is the validator's.
    case observedMismatch(check: PivotCheck, height: UInt64, observed: Bool, decided: Bool, reason: PivotReason)

    public var kind: DecisionKind {
        switch self {
        case .request: .request
        case .statusRequest: .statusRequest
        case .respond: .respond
        case .peerRemoved: .peerRemoved
        case .peerBanned: .peerBanned
        case .verifyFailed: .verifyFailed
        case .blockApplied: .blockApplied
        case .switchToBlockSync: .switchToBlockSync
        case .switchToConsensus: .switchToConsensus
        case .reactorPanic: .reactorPanic
        case .schedulerFail: .schedulerFail
        case .pivotSwitch: .pivotSwitch
        case .pivotExtend: .pivotExtend
        case .hintDisabled: .hintDisabled
        case .unknown: .unknown
        case .outboundExtra: .outboundExtra
        case .outboundMissing: .outboundMissing
        case .observedMismatch: .observedMismatch
        }
    }

    /// The height the decision is about, when it has one (the alignment key with the kind).
    public var height: Int64? {
        switch self {
        case .request(_, let h), .respond(_, let h, _), .blockApplied(let h, _), .switchToConsensus(let h),
             .switchToBlockSync(let h):
            return h
        case .verifyFailed(let heights, _, _): return heights.first
        case .pivotSwitch(let forkAt, _, _, _, _, _): return Int64(truncatingIfNeeded: forkAt)
        case .pivotExtend(let h, _, _), .unknown(_, _, let h), .observedMismatch(_, let h, _, _, _): return Int64(truncatingIfNeeded: h)
        case .hintDisabled(let page, _): return Int64(truncatingIfNeeded: page)
        default: return nil
        }
    }

    /// The peer a request or response went to (nil for other kinds).
    public var peer: String? {
        switch self {
        case .request(let p, _), .respond(let p, _, _): return p
        default: return nil
        }
    }

    /// The reason string, for coverage (decision kinds × reasons).
    public var reason: String? {
        switch self {
        case .peerRemoved(_, let r), .peerBanned(_, let r), .verifyFailed(_, _, let r), .schedulerFail(let r): return r
        case .pivotSwitch(_, _, _, _, _, let r), .pivotExtend(_, _, let r), .observedMismatch(_, _, _, _, let r): return r.rawValue
        case .hintDisabled(_, let e), .reactorPanic(let e): return e
        default: return nil
        }
    }

    /// The golden fields of this action (without `kind`, `t` and the cause).
    var fields: JSONObject {
        switch self {
        case let .request(peer, height): return ["peer": .string(peer), "height": .int(height)]
        case .statusRequest: return [:]
        case let .respond(peer, height, found): return ["peer": .string(peer), "height": .int(height), "found": .bool(found)]
        case let .peerRemoved(peer, reason), let .peerBanned(peer, reason): return ["peer": .string(peer), "reason": .string(reason)]
        case let .verifyFailed(heights, peers, reason):
            return ["heights": .array(heights.map { .int($0) }), "peers": .array(peers.map { .string($0) }), "reason": .string(reason)]
        case let .blockApplied(height, hash): return ["height": .int(height), "hash": .string(Hex.lower(hash))]
        case let .switchToConsensus(height), let .switchToBlockSync(height): return ["height": .int(height)]
        case let .reactorPanic(message): return ["message": .string(message)]
        case let .schedulerFail(reason): return ["reason": .string(reason)]
        case let .pivotSwitch(forkAt, meHeight, checkHeight, section, allowed, reason):
            return ["fork_at": .uint(forkAt), "me_height": .uint(meHeight),
                    "check_height": checkHeight.map { .uint($0) } ?? .null,
                    "section": section.map { .string($0.rawValue) } ?? .null,
                    "allowed": .bool(allowed), "reason": .string(reason.rawValue)]
        case let .pivotExtend(height, allowed, reason):
            return ["height": .uint(height), "allowed": .bool(allowed), "reason": .string(reason.rawValue)]
        case let .hintDisabled(page, error): return ["page": .uint(page), "error": .string(error)]
        case let .unknown(forkAt, meHeight, height):
            return ["fork_at": .uint(forkAt), "me_height": .uint(meHeight), "height": .uint(height)]
        case let .outboundExtra(peer, message), let .outboundMissing(peer, message):
            return ["peer": .string(peer), "message": .string(message)]
        case let .observedMismatch(check, height, observed, decided, reason):
            return ["check": .string(check.rawValue), "height": .uint(height),
                    "observed": .string(PivotCheck.verdict(observed)), "decided": .string(PivotCheck.verdict(decided)),
                    "reason": .string(reason.rawValue)]
        }
    }
}

extension Decision {
    /// The decision as a golden line: `kind`, the action's fields, `t`, and `event` or `timer`.
    public var json: JSONValue {
        var members = action.fields
        members["kind"] = .string(kind.rawValue)
        members["t"] = .uint(time)
        switch cause {
        case .event(let index): members["event"] = .int(Int64(index))
        case .timer(let name): members["timer"] = .string(name)
        }
        return .object(members)
    }

    /// The canonical golden line (`json.writeCanonical`: sorted keys, no spaces) appended to
    /// `out`. The kinds that form runs (`request`, `respond`, `block_applied`) and are hashed by
    /// the thousand (`DecisionRun.hash`) are written member by member in sorted key order without
    /// building a `JSONValue` (issue 19: building the value and sorting its keys cost a few per
    /// cent of a strict replay); the rest go through `json`.
    /// `ReplayGoldenTests.decisionLineIsTheCanonicalJSON` checks both ways give the same bytes.
    public func writeCanonical(to out: inout [UInt8]) {
        func key(_ name: StaticString) {
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(UInt8(ascii: "\""))
            out.append(UInt8(ascii: ":"))
        }
        func int(_ v: Int64) {
            if v < 0 { out.append(UInt8(ascii: "-")) }
            JSONValue.writeDecimal(v.magnitude, to: &out)
        }
        func kindMember() {
            key("kind")
            JSONValue.writeString(kind.rawValue, to: &out)
            out.append(UInt8(ascii: ","))
        }
        // Sorted keys: "event" < the action's members (with "kind" in its place) < "t" < "timer".
        func open() {
            out.append(UInt8(ascii: "{"))
            if case .event(let index) = cause { key("event"); int(Int64(index)); out.append(UInt8(ascii: ",")) }
        }
        func close() {
            key("t")
            JSONValue.writeDecimal(time, to: &out)
            if case .timer(let name) = cause { out.append(UInt8(ascii: ",")); key("timer"); JSONValue.writeString(name, to: &out) }
            out.append(UInt8(ascii: "}"))
        }
        switch action {
        case let .request(peer, height):
            open()
            key("height"); int(height); out.append(UInt8(ascii: ","))
            kindMember()
            key("peer"); JSONValue.writeString(peer, to: &out); out.append(UInt8(ascii: ","))
            close()
        case let .respond(peer, height, found):
            open()
            key("found"); out.append(contentsOf: (found ? "true" : "false").utf8); out.append(UInt8(ascii: ","))
            key("height"); int(height); out.append(UInt8(ascii: ","))
            kindMember()
            key("peer"); JSONValue.writeString(peer, to: &out); out.append(UInt8(ascii: ","))
            close()
        case let .blockApplied(height, hash):
            open()
            key("hash"); out.append(UInt8(ascii: "\"")); Hex.appendLower(hash, to: &out); out.append(UInt8(ascii: "\"")); out.append(UInt8(ascii: ","))
            key("height"); int(height); out.append(UInt8(ascii: ","))
            kindMember()
            close()
        default:
            json.writeCanonical(to: &out)
        }
    }

    /// Parses one golden decision line; every member must be known and well typed (nothing in a
    /// golden is decoration, so an unknown member is an error rather than ignored).
    public init(json: JSONValue) throws(GoldenError) {
        guard case .object(let m) = json else { throw .invalid("a decision must be a JSON object") }
        var reader = FieldReader(members: m)
        let kindName = try reader.string("kind")
        guard let kind = DecisionKind(rawValue: kindName) else { throw .invalid("unknown decision kind \"\(kindName)\"") }
        let time = try reader.uint("t")
        let cause: DecisionCause
        if m["timer"] != nil {
            cause = .timer(try reader.string("timer"))
        } else {
            let index = try reader.uint("event")
            guard index <= UInt64(Int.max) else { throw .invalid("event index \(index) out of range") }
            cause = .event(Int(index))
        }
        let action: DecisionAction
        switch kind {
        case .request: action = .request(peer: try reader.string("peer"), height: try reader.int("height"))
        case .statusRequest: action = .statusRequest
        case .respond: action = .respond(peer: try reader.string("peer"), height: try reader.int("height"), found: try reader.bool("found"))
        case .peerRemoved: action = .peerRemoved(peer: try reader.string("peer"), reason: try reader.string("reason"))
        case .peerBanned: action = .peerBanned(peer: try reader.string("peer"), reason: try reader.string("reason"))
        case .verifyFailed:
            action = .verifyFailed(heights: try reader.ints("heights"), peers: try reader.strings("peers"), reason: try reader.string("reason"))
        case .blockApplied: action = .blockApplied(height: try reader.int("height"), hash: try reader.hex("hash"))
        case .switchToConsensus: action = .switchToConsensus(height: try reader.int("height"))
        case .switchToBlockSync: action = .switchToBlockSync(height: try reader.int("height"))
        case .reactorPanic: action = .reactorPanic(message: try reader.string("message"))
        case .schedulerFail: action = .schedulerFail(reason: try reader.string("reason"))
        case .pivotSwitch:
            let section = try reader.optionalString("section")
            guard section == nil || HintSection(rawValue: section!) != nil else { throw .invalid("unknown hint section \"\(section!)\"") }
            action = .pivotSwitch(forkAt: try reader.uint("fork_at"), meHeight: try reader.uint("me_height"),
                                  checkHeight: try reader.optionalUInt("check_height"),
                                  section: section.flatMap(HintSection.init(rawValue:)),
                                  allowed: try reader.bool("allowed"), reason: try reader.pivotReason())
        case .pivotExtend:
            action = .pivotExtend(height: try reader.uint("height"), allowed: try reader.bool("allowed"), reason: try reader.pivotReason())
        case .hintDisabled: action = .hintDisabled(page: try reader.uint("page"), error: try reader.string("error"))
        case .unknown:
            action = .unknown(forkAt: try reader.uint("fork_at"), meHeight: try reader.uint("me_height"), height: try reader.uint("height"))
        case .outboundExtra: action = .outboundExtra(peer: try reader.string("peer"), message: try reader.string("message"))
        case .outboundMissing: action = .outboundMissing(peer: try reader.string("peer"), message: try reader.string("message"))
        case .observedMismatch:
            let check = try reader.string("check")
            guard let c = PivotCheck(rawValue: check) else { throw .invalid("unknown pivot check \"\(check)\" (switch or extend)") }
            action = .observedMismatch(check: c, height: try reader.uint("height"), observed: try reader.verdict("observed"),
                                       decided: try reader.verdict("decided"), reason: try reader.pivotReason())
        }
        try reader.finish(kind: kindName)
        self.init(action, time: time, cause: cause)
    }
}

/// Reads typed members of a golden object and checks that none is left unread.
struct FieldReader {
    let members: JSONObject
    private var used: Set<String> = []

    init(members: JSONObject) { self.members = members }

    /// Marks a member checked by the caller.
    mutating func markUsed(_ key: String) { used.insert(key) }

    private mutating func value(_ key: String) throws(GoldenError) -> JSONValue {
        used.insert(key)
        guard let v = members[key] else { throw .invalid("missing member \"\(key)\"") }
        return v
    }

    mutating func string(_ key: String) throws(GoldenError) -> String {
        guard let s = try value(key).stringValue else { throw .invalid("member \"\(key)\" must be a string") }
        return s
    }

    mutating func optionalString(_ key: String) throws(GoldenError) -> String? {
        let v = try value(key)
        if v == .null { return nil }
        guard let s = v.stringValue else { throw .invalid("member \"\(key)\" must be a string or null") }
        return s
    }

    mutating func uint(_ key: String) throws(GoldenError) -> UInt64 {
        guard let n = try value(key).uint64 else { throw .invalid("member \"\(key)\" must be a non-negative integer") }
        return n
    }

    mutating func optionalUInt(_ key: String) throws(GoldenError) -> UInt64? {
        let v = try value(key)
        if v == .null { return nil }
        guard let n = v.uint64 else { throw .invalid("member \"\(key)\" must be a non-negative integer or null") }
        return n
    }

    mutating func int(_ key: String) throws(GoldenError) -> Int64 {
        guard let n = try value(key).int64 else { throw .invalid("member \"\(key)\" must be an integer") }
        return n
    }

    mutating func bool(_ key: String) throws(GoldenError) -> Bool {
        guard let b = try value(key).boolValue else { throw .invalid("member \"\(key)\" must be true or false") }
        return b
    }

    mutating func strings(_ key: String) throws(GoldenError) -> [String] {
        guard let items = try value(key).arrayValue else { throw .invalid("member \"\(key)\" must be an array of strings") }
        var out: [String] = []
        for item in items {
            guard let s = item.stringValue else { throw .invalid("member \"\(key)\" must be an array of strings") }
            out.append(s)
        }
        return out
    }

    mutating func ints(_ key: String) throws(GoldenError) -> [Int64] {
        guard let items = try value(key).arrayValue else { throw .invalid("member \"\(key)\" must be an array of integers") }
        var out: [Int64] = []
        for item in items {
            guard let n = item.int64 else { throw .invalid("member \"\(key)\" must be an array of integers") }
            out.append(n)
        }
        return out
    }

    mutating func hex(_ key: String) throws(GoldenError) -> [UInt8] {
        let s = try string(key)
        guard let bytes = Hex.decode(s) else { throw .invalid("member \"\(key)\" must be hex, got \"\(s.prefix(20))\"") }
        return bytes
    }

    /// `allowed` → true, `denied` → false.
    mutating func verdict(_ key: String) throws(GoldenError) -> Bool {
        switch try string(key) {
        case "allowed": return true
        case "denied": return false
        case let other: throw .invalid("member \"\(key)\" must be \"allowed\" or \"denied\", got \"\(other)\"")
        }
    }

    mutating func pivotReason() throws(GoldenError) -> PivotReason {
        let s = try string("reason")
        guard let r = PivotReason(rawValue: s) else { throw .invalid("unknown pivot reason \"\(s)\"") }
        return r
    }

    func finish(kind: String) throws(GoldenError) {
        let extra = members.keys.filter { !used.contains($0) }.sorted()
        if let first = extra.first { throw .invalid("unexpected member \"\(first)\" in a \(kind) decision") }
    }
}

