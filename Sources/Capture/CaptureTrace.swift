import CometP2P
import SyncTrace

/// Writes a capture's events as a trace: `/node` first, then every event in time order (capture
/// events merged with imported fork events), then attachments (DESIGN.md §2, §5).
public enum CaptureTrace {
    /// Merges event lists by `logTime`; equal times keep the order of `lists` (capture first), then
    /// each list's own order. Times that go backwards within the capture (pcap clocks may step back)
    /// are clamped so `logTime` is non-decreasing, as the trace format requires.
    public static func merge(_ lists: [[TimedEvent]]) -> [TimedEvent] {
        // Sorts (clamped time, list, index) keys, not the events themselves.
        var keys: [(time: UInt64, list: Int, index: Int)] = []
        keys.reserveCapacity(lists.reduce(0) { $0 + $1.count })
        for (l, list) in lists.enumerated() {
            var floor: UInt64 = 0
            for (i, e) in list.enumerated() {
                floor = max(floor, e.logTime)
                keys.append((floor, l, i))
            }
        }
        keys.sort { a, b in
            if a.time != b.time { return a.time < b.time }
            if a.list != b.list { return a.list < b.list }
            return a.index < b.index
        }
        return keys.map { TimedEvent(logTime: $0.time, event: lists[$0.list][$0.index].event) }
    }

    /// Writes the trace. `node` is the `/node` record, logged at the first event's time.
    /// Returns the number of events written (the `/node` event included).
    @discardableResult
    public static func write(to path: String, node: NodeRecord, events: [TimedEvent],
                             attachments: [(name: String, mediaType: String, data: [UInt8])] = [],
                             metadata: [String: String] = [:]) throws -> Int {
        let writer = try TraceWriter(path: path, metadata: metadata)
        let start = events.first?.logTime ?? 0
        _ = try writer.append(.node(node), logTime: start)
        for e in events { _ = try writer.append(e.event, logTime: e.logTime) }
        for a in attachments { try writer.attach(name: a.name, mediaType: a.mediaType, data: a.data) }
        try writer.finish()
        return events.count + 1
    }
}
