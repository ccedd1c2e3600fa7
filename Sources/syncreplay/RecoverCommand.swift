import ArgumentParser
import CommandExit
import SyncTrace

/// `syncreplay recover TRACE -o OUT`: rebuild a valid, indexed trace from a damaged one.
struct Recover: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recover",
        abstract: "Write a valid, indexed trace holding all intact data of a damaged one.",
        discussion: """
        Scans the input from the start and copies every intact Schema, Channel, event (from complete chunks whose CRC holds), Attachment and Metadata record into a new file with a fresh index, summary and CRCs; it stops at the first point where the input is cut off or unreadable. The input is never modified: the output is written to a temporary file beside OUT and renamed into place once complete. Reports how many events were kept and lost. Exit 0 when it wrote a readable file, 2 when the input cannot be read at all or OUT is the input.

        Example:
          head -c 20000 Traces/catchup-basic.trace > crashed.trace
          syncreplay recover crashed.trace -o fixed.trace
        """
    )

    @Argument(help: "The damaged trace.")
    var trace: String

    @Option(name: .shortAndLong, help: "Where to write the recovered trace (must not be the input).")
    var output: String

    func run() throws {
        // I/O errors name their file (input, output or its temporary); the others are about
        // the input's bytes and only know the offset.
        let report = try FileInputError.naming(trace) { try TraceRecovery.recover(inputPath: trace, outputPath: output) }
        let check = try TraceDoctor.examine(source: try MCAPFileSource(path: output))
        guard check.isHealthy else {
            throw CommandFailure(.internalError, "recovered file \(output) is not healthy: \(check.errors[0].description)")
        }
        let lost = report.lostIsExact ? "\(report.lostMessages)" : "at least \(report.lostMessages)"
        if let damage = report.damage {
            print("input damaged: \(damage)")
            if report.bytesUnreadable > 0 { print("unreadable: \(report.bytesUnreadable) bytes at the end of the input") }
        }
        let torn = report.keptFromTornChunk > 0 ? ", \(report.keptFromTornChunk) of them from the chunk the input ends inside (no CRC check)" : ""
        print("kept \(report.keptMessages) events (\(report.chunksKept) chunks, \(report.attachmentsKept) attachments\(torn)), lost \(lost) events"
              + (report.chunksDropped > 0 ? " (\(report.chunksDropped) chunks with a bad CRC dropped)" : ""))
        print("wrote \(output)")
    }
}
