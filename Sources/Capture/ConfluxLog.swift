import CometWire
import SyncTrace
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// A Conflux node's log (`--conflux-log`): its pivot-hint check lines become `/pivot` events
/// (specs/conflux-pivot-hint.md §3.2 step 6, §3.3 step 5).
///
/// Conflux writes its log with log4rs' pattern `{d} {h({l}):5.5} {T:<20.20} {t:12.12} - {m}{n}`:
/// the time (`{d}`: RFC 3339 with the local offset and up to nine fractional digits, e.g.
/// `2024-11-05T10:23:45.123456789+08:00`), the level cut or padded to 5 characters, the thread
/// name to 20 (it may hold spaces: `Consensus Worker    `), the target to 12
/// (`cfxcore::con`), then ` - ` and the message. log4rs' own default `{d} {l} {t} - {m}` has the
/// same shape with unpadded fields. So a line is: its first token is the time, and the message
/// starts after the ` - ` that precedes it; the fields in between are not needed and, being cut
/// to width, not trusted. The two messages read are
///
///     Pivot hint check switch result {bool}. fork_at: {u64}, me_height: {u64}, check_height: {u64}, fetch_hash: {H256:?}
///     Pivot hint check extend result {bool}. me_height: {u64}, fetch_hash: {H256:?}
///
/// (`{H256:?}` is `0x` and 64 lowercase hex digits). Every other line is skipped after one
/// substring search. `2024-01-02 03:04:05.123` (a space for the `T`, UTC assumed) is read too.
public enum ConfluxLog {
    static let marker = Array("Pivot hint check ".utf8)

    /// One pivot-hint line read.
    public struct Entry: Sendable, Equatable {
        public var line: Int
        /// The line's time as written (with its offset).
        public var timeText: String
        public var event: TimedEvent
    }

    /// A line that names a pivot-hint check but does not parse.
    public struct Malformed: Sendable, Equatable {
        public var line: Int
        public var reason: String
    }

    /// What a scan saw.
    public struct Summary: Sendable, Equatable {
        public var lines = 0
        public var bytes: UInt64 = 0
        public var pivotLines = 0
        public var malformedCount = 0
        /// The first `Summary.keptMalformed` malformed lines.
        public var malformed: [Malformed] = []
        public static let keptMalformed = 20

        public init() {}

        /// One line per kept malformed line, then the count of the others.
        public func warnings(path: String) -> [String] {
            var out = malformed.map { "warning: \(path) line \($0.line): \($0.reason) (skipped)" }
            if malformedCount > malformed.count { out.append("warning: \(path): \(malformedCount - malformed.count) more malformed pivot-hint lines skipped") }
            return out
        }
    }

    /// Scans `path` line by line (never loading it whole): `entry` gets each pivot-hint line in
    /// file order, `progress` the running summary after every 1 MiB read. A malformed pivot-hint
    /// line is counted and skipped, or with `strict` thrown as `CaptureError.badConfluxLog`
    /// naming its line.
    public static func scan(path: String, strict: Bool, progress: (Summary) -> Void = { _ in },
                            entry: (Entry) throws -> Void) throws -> Summary {
        let reader = try LineReader(path: path)
        var summary = Summary()
        try reader.forEachLine({ bytes, number in
            summary.lines = number
            switch parse(line: bytes) {
            case nil: break
            case .success(let parsed)?:
                summary.pivotLines += 1
                try entry(Entry(line: number, timeText: parsed.timeText, event: parsed.event))
            case .failure(let failure)?:
                if strict { throw CaptureError.badConfluxLog(path: path, line: number, reason: failure.reason) }
                summary.malformedCount += 1
                if summary.malformed.count < Summary.keptMalformed { summary.malformed.append(Malformed(line: number, reason: failure.reason)) }
            }
        }, progress: { bytes in
            summary.bytes = bytes
            progress(summary)
        })
        summary.bytes = reader.size
        return summary
    }

    public struct LineError: Error, Equatable, Sendable { public let reason: String }

    /// nil for a line that is not a pivot-hint check; else the event or why it does not parse.
    public static func parse(line bytes: UnsafeBufferPointer<UInt8>) -> Result<(timeText: String, event: TimedEvent), LineError>? {
        guard let at = markerOffset(bytes) else { return nil }
        return Result { () throws(LineError) in try parse(pivotLine: bytes, markerAt: at) }
    }

    /// Where `marker` starts in the line: memchr for its first byte, memcmp for the rest (the
    /// cheap skip of every other line; Glibc does not export memmem to Swift).
    static func markerOffset(_ bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        guard bytes.count >= marker.count, let base = bytes.baseAddress else { return nil }
        let last = bytes.count - marker.count
        var from = 0
        return marker.withUnsafeBufferPointer { m -> Int? in
            while from <= last, let hit = memchr(base + from, Int32(m[0]), last - from + 1) {
                let at = UnsafeRawPointer(base).distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at + 1, m.baseAddress! + 1, m.count - 1) == 0 { return at }
                from = at + 1
            }
            return nil
        }
    }

    /// Parses a pivot-hint line from text (tests, tools).
    public static func parse(line text: String) -> Result<(timeText: String, event: TimedEvent), LineError>? {
        var copy = Array(text.utf8)
        return copy.withUnsafeMutableBufferPointer { parse(line: UnsafeBufferPointer($0)) }
    }

    private static func parse(pivotLine bytes: UnsafeBufferPointer<UInt8>, markerAt at: Int) throws(LineError) -> (timeText: String, event: TimedEvent) {
        guard at >= 3, bytes[at - 3] == 0x20, bytes[at - 2] == 0x2D, bytes[at - 1] == 0x20 else {
            throw LineError(reason: "'Pivot hint check' is not at the start of the log message (after ' - ')")
        }
        let head = String(decoding: bytes[..<(at - 3)], as: UTF8.self)
        let (timeText, time) = try logTime(head)
        let message = String(decoding: bytes[(at + marker.count)...], as: UTF8.self)
        let kind: String, rest: Substring
        if message.hasPrefix("switch result ") {
            kind = "switch"; rest = message.dropFirst("switch result ".count)
        } else if message.hasPrefix("extend result ") {
            kind = "extend"; rest = message.dropFirst("extend result ".count)
        } else {
            throw LineError(reason: "expected 'Pivot hint check switch result' or 'Pivot hint check extend result'")
        }
        let observed: PivotObservation
        let fieldsText: Substring
        if rest.hasPrefix("true. ") { observed = .allowed; fieldsText = rest.dropFirst(6) }
        else if rest.hasPrefix("false. ") { observed = .denied; fieldsText = rest.dropFirst(7) }
        else { throw LineError(reason: "expected 'result true.' or 'result false.'") }
        let keys = kind == "switch" ? ["fork_at", "me_height", "check_height", "fetch_hash"] : ["me_height", "fetch_hash"]
        let parts = fieldsText.trimmingSuffix(while: { $0 == " " || $0 == "\t" }).split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == keys.count else {
            throw LineError(reason: "expected the fields \(keys.joined(separator: ", ")), found \(parts.count) comma-separated part(s)")
        }
        var numbers: [String: UInt64] = [:]
        var hash: [UInt8] = []
        for (key, part) in zip(keys, parts) {
            let trimmed = part.drop(while: { $0 == " " })
            guard trimmed.hasPrefix(key + ": ") else { throw LineError(reason: "expected '\(key): …' where the line has '\(trimmed.prefix(24))'") }
            let value = String(trimmed.dropFirst(key.count + 2))
            if key == "fetch_hash" {
                guard value.hasPrefix("0x"), value.count == 66, let bytes = importedHex(value) else {
                    throw LineError(reason: "fetch_hash must be 0x and 64 hex digits (H256 Debug), got '\(value.prefix(70))'")
                }
                hash = bytes
            } else {
                guard let n = UInt64(value) else { throw LineError(reason: "\(key) must be a non-negative integer, got '\(value.prefix(24))'") }
                numbers[key] = n
            }
        }
        if kind == "extend" {
            return (timeText, TimedEvent(logTime: time, event: .pivot(.extend(PivotExtend(height: numbers["me_height"]!, hash: hash, observed: observed)))))
        }
        let forkAt = numbers["fork_at"]!, meHeight = numbers["me_height"]!, checkHeight = numbers["check_height"]!
        // §3.1: the check height lies in [fork_at, me_height], and fork_at ≥ 1 (lca height + 1).
        guard forkAt >= 1, forkAt <= checkHeight, checkHeight <= meHeight else {
            throw LineError(reason: "check_height \(checkHeight) must lie in [fork_at \(forkAt), me_height \(meHeight)] with fork_at ≥ 1 (§3.1)")
        }
        let record = PivotSwitch(forkAt: forkAt, meHeight: meHeight, meHash: checkHeight == meHeight ? hash : [],
                                 branch: [PivotBranchEntry(height: checkHeight, hash: hash)], observed: observed)
        return (timeText, TimedEvent(logTime: time, event: .pivot(.switch(record))))
    }

    /// The line's leading time: `{d}` (RFC 3339), or `YYYY-MM-DD HH:MM:SS[.f]` in UTC.
    static func logTime(_ head: String) throws(LineError) -> (String, UInt64) {
        let tokens = head.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard let first = tokens.first else { throw LineError(reason: "no timestamp before the message") }
        var candidates = [(String(first), String(first))]
        if tokens.count > 1, !first.contains("T") {
            candidates.append((first + " " + tokens[1], first + "T" + tokens[1] + "Z"))
        }
        for (text, rfc) in candidates {
            if let t = RFC3339.parse(rfc), t.seconds >= 0 {
                return (text, UInt64(t.seconds) &* 1_000_000_000 &+ UInt64(max(0, t.nanos)))
            }
        }
        throw LineError(reason: "the line does not start with an RFC 3339 timestamp ('\(first.prefix(40))')")
    }
}

extension Substring {
    func trimmingSuffix(while predicate: (Character) -> Bool) -> Substring {
        var s = self
        while let last = s.last, predicate(last) { s = s.dropLast() }
        return s
    }
}
