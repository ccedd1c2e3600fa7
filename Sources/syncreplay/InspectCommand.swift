import ArgumentParser
import CommandExit
import Foundation
import SyncTrace
import JSON

/// `syncreplay inspect TRACE [--json]`: what a trace holds and whether it is intact.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show a trace's header, metadata, channels, counts, time span, peers and integrity.",
        discussion: """
        Reads the whole file once (counts come from that scan, so files without a Statistics record are counted too) and shows: profile, writer library, format version, the trace's metadata (generator, scenario, `after_switch`, `blocksync`, the non-faithful `test_overrides`…), each channel with its schema and message count, the time span and sequence range, the peers seen, chunks, attachments, whether the file has a usable index, and an integrity verdict (details: `syncreplay doctor`). Any MCAP file opens, including ones written by other MCAP libraries; syncreplay-specific checks apply to files with the `syncreplay` profile. Compressed chunks (zstd, lz4) are not supported: exit 2.

        Example:
          syncreplay inspect Traces/pivot-file-s-switch.trace
          syncreplay inspect --json Traces/pivot-file-s-switch.trace \\
            | python3 -m json.tool
        """
    )

    @Argument(help: "The trace (MCAP file) to inspect.")
    var trace: String

    @Flag(help: "Print one JSON object instead of text.")
    var json = false

    /// Errors name the trace (most trace errors only know the offset).
    func run() throws { try FileInputError.naming(trace) { try read() } }

    private func read() throws {
        let d = try TraceDoctor.examine(source: try MCAPFileSource(path: trace))
        print(json ? Inspect.json(d, path: trace).asBuilt : Inspect.text(d, path: trace))
    }

    /// The `syncreplay` metadata record's entries but `format_version` (shown on its own), by
    /// key: generator, scenario, `after_switch`, `blocksync`, `test_overrides`…
    static func metadata(_ d: TraceDiagnosis) -> [(key: String, value: String)] {
        guard d.isSyncReplayTrace, let record = d.metadata.first(where: { $0.name == SyncTraceFormat.metadataName }) else { return [] }
        return record.entries.filter { $0.key != SyncTraceFormat.formatVersionKey }.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    static func verdict(_ d: TraceDiagnosis) -> String {
        if d.isHealthy { return d.problems.isEmpty ? "ok" : "ok (\(d.problems.count) warnings)" }
        return "damaged: \(d.errors.count) problems, first: \(d.errors[0].description) (run `syncreplay doctor`)"
    }

    static func text(_ d: TraceDiagnosis, path: String) -> String {
        var lines: [String] = []
        lines.append("trace:          \(path) (\(d.fileSize) bytes)")
        lines.append("profile:        \(d.header.map { $0.profile.isEmpty ? "(none)" : $0.profile } ?? "(no header)")")
        lines.append("library:        \(d.header?.library ?? "")")
        if d.isSyncReplayTrace { lines.append("format version: \(d.formatVersion ?? "(missing)")") }
        if !metadata(d).isEmpty { lines.append("metadata:       " + metadata(d).map { "\($0.key)=\($0.value)" }.joined(separator: ", ")) }
        lines.append("channels:       \(d.channels.count)")
        let width = d.channels.map(\.topic.count).max() ?? 0
        for c in d.channels {
            let pad = String(repeating: " ", count: max(0, width - c.topic.count))
            lines.append("  \(c.topic)\(pad)  \(c.messageCount) messages  (\(c.messageEncoding), schema \(c.schemaName.isEmpty ? "none" : c.schemaName))")
        }
        lines.append("messages:       \(d.messageCount)")
        if let first = d.firstTime, let last = d.lastTime {
            lines.append("time span:      \(first) .. \(last) ns (\(formatDuration(last &- first)))")
        }
        if let fs = d.firstSequence, let ls = d.lastSequence { lines.append("sequence:       \(fs) .. \(ls)") }
        if d.isSyncReplayTrace { lines.append("peers:          \(d.peers.count)\(d.peers.isEmpty ? "" : " (" + d.peers.joined(separator: ", ") + ")")") }
        if let p = d.consensusParams {
            lines.append("consensus:      vote extensions enable height \(p.voteExtensionsEnableHeight), block max bytes \(p.blockMaxBytes) (0: not recorded)")
        }
        lines.append("chunks:         \(d.chunkCount)")
        lines.append("attachments:    \(d.attachments.count)" + d.attachments.map { " \($0.name) (\($0.mediaType), \($0.size) bytes)" }.joined(separator: ","))
        if let s = d.summary {
            lines.append("index:          summary with \(s.chunkIndexes.count) chunk indexes\(s.statistics == nil ? ", no statistics" : ", statistics")")
        } else {
            lines.append("index:          none (readers scan linearly)")
        }
        lines.append("integrity:      \(verdict(d))")
        return lines.joined(separator: "\n")
    }

    static func json(_ d: TraceDiagnosis, path: String) -> JSONValue {
        func opt(_ v: UInt64?) -> JSONValue { v.map { .uint($0) } ?? .null }
        var object: JSONObject = [
            "path": .string(path),
            "size": .uint(d.fileSize),
            "profile": d.header.map { .string($0.profile) } ?? .null,
            "library": d.header.map { .string($0.library) } ?? .null,
            "format_version": d.formatVersion.map { .string($0) } ?? .null,
            "message_count": .uint(d.messageCount),
            "channels": .array(d.channels.map { c in
                .object(["id": .uint(UInt64(c.id)), "topic": .string(c.topic), "message_encoding": .string(c.messageEncoding),
                         "schema_name": .string(c.schemaName), "schema_encoding": .string(c.schemaEncoding),
                         "message_count": .uint(c.messageCount)])
            }),
            "start_time": opt(d.firstTime),
            "end_time": opt(d.lastTime),
            "first_sequence": opt(d.firstSequence.map(UInt64.init)),
            "last_sequence": opt(d.lastSequence.map(UInt64.init)),
            "peers": .array(d.peers.map { .string($0) }),
            "chunk_count": .uint(UInt64(d.chunkCount)),
            "attachments": .array(d.attachments.map { .object(["name": .string($0.name), "media_type": .string($0.mediaType), "size": .uint(UInt64($0.size))]) }),
            "indexed": .bool(d.summary.map { !$0.chunkIndexes.isEmpty } ?? false),
            "statistics_message_count": opt(d.summary?.statistics?.messageCount),
            "healthy": .bool(d.isHealthy),
            "problems": .array(d.problems.map { .string($0.description) }),
        ]
        let entries = metadata(d)
        if !entries.isEmpty {
            var m: JSONObject = [:]
            for (key, value) in entries { m[key] = .string(value) }
            object["metadata"] = .object(m)
        }
        // Only when the /node record carries consensus params, so older traces print as before.
        if let p = d.consensusParams {
            object["consensus_params"] = .object(["vote_extensions_enable_height": .int(p.voteExtensionsEnableHeight),
                                                  "block_max_bytes": .int(p.blockMaxBytes)])
        }
        return .object(object)
    }
}

func formatDuration(_ ns: UInt64) -> String {
    if ns < 1_000_000 { return "\(ns) ns" }
    let seconds = Double(ns) / 1e9
    return seconds < 1 ? String(format: "%.3f ms", seconds * 1000) : String(format: "%.3f s", seconds)
}
