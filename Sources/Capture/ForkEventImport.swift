import SyncTrace

/// The fork-event sources of a capture (`--conflux-log`, `--fork-events`), read before any
/// packet so a bad file fails early; either is enough for a trace without a pcap (issue 17).
public struct ForkEventSources: Sendable {
    public var confluxLog: String?
    public var forkEvents: String?
    /// A malformed pivot-hint line in the Conflux log is an error (exit 2), not a warning.
    public var strict: Bool

    public init(confluxLog: String? = nil, forkEvents: String? = nil, strict: Bool = false) {
        self.confluxLog = confluxLog
        self.forkEvents = forkEvents
        self.strict = strict
    }

    public var isEmpty: Bool { confluxLog == nil && forkEvents == nil }

    /// What was read: the events (each source in file order) and the log's summary.
    public struct Imported: Sendable {
        public var events: [TimedEvent] = []
        public var logSummary: ConfluxLog.Summary?
    }

    /// Reads both sources line by line; `progress` gets the log's running summary (every MiB).
    /// Memory grows with the pivot-hint lines kept, not with the log's size.
    public func read(progress: (ConfluxLog.Summary) -> Void = { _ in }) throws -> Imported {
        var imported = Imported()
        if let forkEvents { imported.events += try ForkEvents.readJSONLines(path: forkEvents) }
        if let confluxLog {
            var fromLog: [TimedEvent] = []
            imported.logSummary = try ConfluxLog.scan(path: confluxLog, strict: strict, progress: progress) { fromLog.append($0.event) }
            imported.events = CaptureTrace.merge([imported.events, fromLog])
        }
        return imported
    }

    /// The `source` metadata of a trace made from these files alone.
    public var sourceDescription: String {
        var parts: [String] = []
        if let confluxLog { parts.append("conflux log \(Self.fileName(confluxLog))") }
        if let forkEvents { parts.append("fork events \(Self.fileName(forkEvents))") }
        return parts.joined(separator: ", ")
    }

    static func fileName(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }
}
