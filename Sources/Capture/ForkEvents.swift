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
        for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            if let e = try parseJSONLine(String(raw), number: i + 1, path: path) { events.append(e) }
        }
        return events
    }

    /// `--fork-events FILE`, read line by line (never whole).
    public static func readJSONLines(path: String) throws -> [TimedEvent] {
        var events: [TimedEvent] = []
        try LineReader(path: path).forEachLine { bytes, number in
            if let e = try parseJSONLine(String(decoding: bytes, as: UTF8.self), number: number, path: path) { events.append(e) }
        }
        return events
    }

    /// One line of a fork-events file; nil for a blank line.
    static func parseJSONLine(_ raw: String, number lineNumber: Int, path: String) throws -> TimedEvent? {
        let line = raw.trimmingCharacters(in: .whitespaces)
        if line.isEmpty { return nil }
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
            return TimedEvent(logTime: time, event: .pivot(.switch(record)))
        case "extend":
            let record = PivotExtend(height: try field.uint("height"), hash: try field.hash("hash"), observed: observed)
            return TimedEvent(logTime: time, event: .pivot(.extend(record)))
        default:
            throw fail("\"kind\" must be \"switch\" or \"extend\"")
        }
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
