/// Rewrites a trace with its last event moved later (issue 20): the quiet-gap input of the
/// idle-skipping tests and `syncreplay bench idle` — a recorded node that stays connected but
/// idle (benign), or a fuzzed timestamp far in the future (hostile). Events, their order, the
/// trace metadata and the attachments are kept; only the last event's log time changes.
public enum TraceRetiming {
    public static func write(_ reader: TraceReader, to path: String, lastEventLater gap: UInt64) throws {
        let entries = try reader.readAll()
        var metadata = reader.traceMetadata
        metadata.removeValue(forKey: SyncTraceFormat.formatVersionKey)
        let writer = try TraceWriter(path: path, metadata: metadata)
        for (i, entry) in entries.enumerated() {
            _ = try writer.append(entry.event, logTime: i == entries.count - 1 ? entry.logTime &+ gap : entry.logTime)
        }
        for a in try reader.attachments() { try writer.attach(name: a.name, mediaType: a.mediaType, data: a.data) }
        try writer.finish()
    }
}
