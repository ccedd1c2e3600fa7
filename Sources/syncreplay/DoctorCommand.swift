import ArgumentParser
import CommandExit
import BlockSync
import SyncMachine
import SyncTrace

/// `syncreplay doctor TRACE`: every structural, CRC and semantic check, each problem listed.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a trace's structure, CRCs and events; list every problem.",
        discussion: """
        Scans the whole file: record framing, chunk / data-section / summary / attachment CRCs, Schema and Channel definitions, chunk time bounds, the summary against the data (chunk indexes, statistics) and, for syncreplay traces, the event rules: sequence strictly increasing, time never decreasing, known topics and schemas, a supported format version, and every event decoding. A cut-off trace is reported with the offset where it breaks and how many bytes are lost; `syncreplay recover` rebuilds a valid trace from the intact part.

        Exit status: 0 healthy (warnings allowed), 1 problems found (each listed), 2 the file cannot be read at all (not MCAP, compressed chunks, I/O error).

        Example:
          syncreplay doctor Traces/pivot-file-s-switch.trace
        """
    )

    @Argument(help: "The trace (MCAP file) to check.")
    var trace: String

    /// Errors name the trace (most trace errors only know the offset).
    func run() throws { try FileInputError.naming(trace) { try read() } }

    private func read() throws {
        var d = try TraceDoctor.examine(source: try MCAPFileSource(path: trace), checkPayload: BlocksyncPayload.check)
        d.problems += Self.timeWarnings(d)
        for p in d.problems { print(p.description) }
        let what = "\(d.messageCount) messages in \(d.chunkCount) chunks"
        if d.isHealthy {
            print("\(trace): healthy (\(what)\(d.problems.isEmpty ? "" : ", \(d.problems.count) warnings"))")
            return
        }
        if d.intactUntil < d.fileSize && !d.hasFooter {
            print("\(trace): intact up to offset \(d.intactUntil); \(d.fileSize - d.intactUntil) bytes after it are lost. Run: syncreplay recover \(trace) -o FIXED.trace")
        }
        throw CommandFailure.problems("\(trace): \(d.errors.count) problems (\(what) readable)")
    }

    /// Issue 20: replay skips quiet time, but a gap far longer than any profile's longest timer
    /// is worth a look (a wrong clock, a moved timestamp), and a span past the replay bound
    /// will be refused.
    static func timeWarnings(_ d: TraceDiagnosis) -> [TraceProblem] {
        var warnings: [TraceProblem] = []
        let longestTimer = BlockSyncProfile.all.map(\.longestTimer).max() ?? 0
        if let gap = d.longestGap, gap.to - gap.from > BlockSyncProfile.quietGapFactor * longestTimer {
            warnings.append(TraceProblem(severity: .warning, offset: gap.offset, message:
                "quiet gap of \(gap.to - gap.from) ns (log time \(gap.from) to \(gap.to)), over \(BlockSyncProfile.quietGapFactor)× the longest reactor timer (\(longestTimer) ns)"))
        }
        if let first = d.firstTime, let last = d.lastTime, VirtualSpan.defaultMaximum.isExceeded(from: first, to: last) {
            warnings.append(TraceProblem(severity: .warning, offset: 0, message:
                "the events span \(last - first) ns, beyond replay's default maximum virtual span of \(VirtualSpan.defaultMaximum) (replay needs --max-span)"))
        }
        return warnings
    }
}
