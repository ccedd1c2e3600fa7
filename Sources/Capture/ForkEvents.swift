import HexCoding
import CometWire
import Foundation
import SyncTrace

/// Imports Conflux fork events into `/pivot` events (conflux-pivot-hint.md §3.2-§4).
public enum ForkEvents {
    /// `--fork-events FILE.jsonl`: one JSON object per line (blank lines ignored):
    ///
    ///     {"time_ns": 1700000000000000000, "kind": "switch", "fork_at": 100, "me_height": 120,
    ///      "me_hash": "0x…32 bytes…", "branch": [{"height": 110, "hash": "0x…"}], "observed": "allowed"}
    ///     {"time_ns": 1700000000000000001, "kind": "extend", "height": 121, "hash": "0x…", "observed": "denied"}
    ///
    /// `time_ns` is Unix time in nanoseconds (the capture's clock) and may be replaced by `"time"`,
    /// an RFC 3339 string. Integers may be JSON numbers or decimal strings; hashes are hex with or
    /// without `0x`. `observed` is `allowed`, `denied` or `unknown` (the default); `branch` holds
    /// the branch's hashes at the heights the hint may ask for (§3.2 callback answers).
    public static func parseJSONLines(_ text: String, path: String) throws -> [TimedEvent] {
        var events: [TimedEvent] = []
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            func fail(_ reason: String) -> CaptureError { .badForkEvents(path: path, line: lineNumber, reason: reason) }
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                throw fail("not a JSON object")
            }
            let field = Fields(object: object, fail: fail)
            let time: UInt64
            if object["time_ns"] != nil {
                time = try field.uint("time_ns")
            } else if let text = object["time"] as? String, let t = RFC3339.parse(text), t.seconds >= 0 {
                time = UInt64(t.seconds) &* 1_000_000_000 &+ UInt64(max(0, t.nanos))
            } else {
                throw fail("needs \"time_ns\" (Unix nanoseconds) or \"time\" (RFC 3339)")
            }
            let observed = try field.observed()
            switch object["kind"] as? String {
            case "switch":
                var branch: [PivotBranchEntry] = []
                if let list = object["branch"] {
                    guard let entries = list as? [[String: Any]] else { throw fail("\"branch\" must be a list of {height, hash}") }
                    for entry in entries {
                        let f = Fields(object: entry, fail: fail)
                        branch.append(PivotBranchEntry(height: try f.uint("height"), hash: try f.hash("hash")))
                    }
                }
                let record = PivotSwitch(forkAt: try field.uint("fork_at"), meHeight: try field.uint("me_height"),
                                         meHash: object["me_hash"] == nil ? [] : try field.hash("me_hash"),
                                         branch: branch, observed: observed)
                events.append(TimedEvent(logTime: time, event: .pivot(.switch(record))))
            case "extend":
                let record = PivotExtend(height: try field.uint("height"), hash: try field.hash("hash"), observed: observed)
                events.append(TimedEvent(logTime: time, event: .pivot(.extend(record))))
            default:
                throw fail("\"kind\" must be \"switch\" or \"extend\"")
            }
        }
        return events
    }

    /// `--conflux-log FILE`: a Conflux node's debug log. Only the pivot-hint lines are read:
    ///
    ///     <time> … Pivot hint check switch result true. fork_at: 100, me_height: 120, check_height: 110, fetch_hash: 0x…
    ///     <time> … Pivot hint check extend result false. me_height: 121, fetch_hash: 0x…
    ///
    /// (§3.2 step 6 and §3.3 step 5). `<time>` is the line's first field, RFC 3339 (log4rs' default
    /// `{d}`); `2024-01-02 03:04:05.123` (space instead of `T`, UTC assumed) is accepted too.
    /// A switch line becomes a `/pivot` switch with `branch = [(check_height, fetch_hash)]` and the
    /// logged result as `observed`; `me_hash` is the fetched hash when `check_height == me_height`,
    /// else empty (the log does not carry it). Other lines are ignored.
    public static func parseConfluxLog(_ text: String, path: String) throws -> [TimedEvent] {
        var events: [TimedEvent] = []
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(raw)
            let isSwitch = line.contains("Pivot hint check switch result ")
            let isExtend = line.contains("Pivot hint check extend result ")
            guard isSwitch || isExtend else { continue }
            func fail(_ reason: String) -> CaptureError { .badConfluxLog(path: path, line: lineNumber, reason: reason) }
            guard let time = logTime(line) else { throw fail("pivot-hint line without a leading RFC 3339 timestamp") }
            let marker = isSwitch ? "Pivot hint check switch result " : "Pivot hint check extend result "
            guard let range = line.range(of: marker) else { continue }
            let rest = line[range.upperBound...]
            let result: PivotObservation
            if rest.hasPrefix("true.") { result = .allowed } else if rest.hasPrefix("false.") { result = .denied } else {
                throw fail("expected 'result true.' or 'result false.'")
            }
            var values: [String: String] = [:]
            for part in rest.drop(while: { $0 != "." }).dropFirst().split(separator: ",") {
                let pair = part.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2 { values[pair[0]] = pair[1] }
            }
            func number(_ key: String) throws -> UInt64 {
                guard let text = values[key], let v = UInt64(text) else { throw fail("missing or bad \(key)") }
                return v
            }
            func hash(_ key: String) throws -> [UInt8] {
                guard let text = values[key], let v = importedHex(text), v.count == 32 else { throw fail("missing or bad \(key) (32-byte hex)") }
                return v
            }
            if isSwitch {
                let checkHeight = try number("check_height"), meHeight = try number("me_height")
                let fetched = try hash("fetch_hash")
                let record = PivotSwitch(forkAt: try number("fork_at"), meHeight: meHeight,
                                         meHash: checkHeight == meHeight ? fetched : [],
                                         branch: [PivotBranchEntry(height: checkHeight, hash: fetched)], observed: result)
                events.append(TimedEvent(logTime: time, event: .pivot(.switch(record))))
            } else {
                let record = PivotExtend(height: try number("me_height"), hash: try hash("fetch_hash"), observed: result)
                events.append(TimedEvent(logTime: time, event: .pivot(.extend(record))))
            }
        }
        return events
    }

    /// Unix nanoseconds of the line's leading timestamp.
    static func logTime(_ line: String) -> UInt64? {
        let first = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
        guard let head = first.first else { return nil }
        var candidates = [String(head)]
        if first.count > 1 { candidates.append(head + "T" + first[1] + (first[1].contains("Z") || first[1].contains("+") ? "" : "Z")) }
        for candidate in candidates {
            if let t = RFC3339.parse(candidate), t.seconds >= 0 {
                return UInt64(t.seconds) &* 1_000_000_000 &+ UInt64(max(0, t.nanos))
            }
        }
        return nil
    }

    private struct Fields {
        let object: [String: Any]
        let fail: (String) -> CaptureError

        func uint(_ key: String) throws -> UInt64 {
            // JSON booleans may bridge to NSNumber 0/1; only genuine numbers count.
            if let value = object[key], type(of: value) != Bool.self, let n = value as? NSNumber, let v = UInt64(n.stringValue) { return v }
            if let s = object[key] as? String, let v = UInt64(s) { return v }
            throw fail("\"\(key)\" must be a non-negative integer")
        }

        func hash(_ key: String) throws -> [UInt8] {
            guard let s = object[key] as? String, let bytes = importedHex(s) else { throw fail("\"\(key)\" must be hex") }
            return bytes
        }

        func observed() throws -> PivotObservation {
            guard let value = object["observed"] else { return .unknown }
            guard let s = value as? String, let o = PivotObservation(rawValue: s) else {
                throw fail("\"observed\" must be allowed, denied or unknown")
            }
            return o
        }
    }
}

/// Hex for the importers: `0x` prefix optional, either case.
func importedHex(_ text: String) -> [UInt8]? {
    var s = Substring(text)
    if s.hasPrefix("0x") || s.hasPrefix("0X") { s = s.dropFirst(2) }
    return Hex.decode(String(s))
}
