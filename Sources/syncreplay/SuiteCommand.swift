import ArgumentParser
import CommandExit
import Foundation
import Implementations
import Replay
import SyncMachine

/// `syncreplay suite DIR` (DESIGN.md §6; harness-notes.md §6).
struct Suite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Replay every trace of a directory against its goldens.",
        discussion: """
        Every NAME.golden.json or NAME.<profile>.golden.json with a NAME.trace beside it is a
        case; the golden names its profile and mode. Goldens with no trace and traces with no
        golden are warnings. The summary ends with coverage: the decision kinds and reasons
        the corpus reached and those it never reached. Exit 1 when any case fails or errs.

        \(MachineRegistry.standard.helpText)

        Example:
          syncreplay suite Traces --jobs 4 --junit build/syncreplay.xml
          syncreplay suite Traces --format tap
        """
    )

    enum Format: String, CaseIterable, ExpressibleByArgument { case text, tap, json }

    @Argument(help: "Directory holding NAME.trace and NAME[.<profile>].golden.json files (scanned recursively).")
    var directory: String

    @Option(help: ArgumentHelp("Also write JUnit XML to FILE.", valueName: "FILE"))
    var junit: String?

    @Option(help: "Output format on stdout: text, tap or json.")
    var format: Format = .text

    @Option(help: "Cases replayed in parallel.")
    var jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    func validate() throws {
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
    }

    func run() throws {
        let run = try SuiteRun.run(
            directory: directory, registry: .standard, jobs: jobs, ci: ProcessInfo.processInfo.environment["CI"] == "true",
            tool: "syncreplay \(SyncReplay.version)",
            load: { try ReplayTraceLoader.load(path: $0) },
            replay: { try ReplaySession.replay($0, options: $1, hint: HintSelection(), machines: .standard) })
        switch format {
        case .text:
            FileHandle.standardOutput.write(Data(run.text.utf8))
            if ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true" { run.githubAnnotations.forEach { print($0) } }
        case .tap: FileHandle.standardOutput.write(Data(run.tap.utf8))
        case .json: print(run.json.canonical)
        }
        if let junit {
            let stamp = ISO8601DateFormatter().string(from: Date())
            do {
                try Data(run.junit(timestamp: stamp).utf8).write(to: URL(fileURLWithPath: junit), options: .atomic)
            } catch {
                throw CommandFailure.badInput("cannot write JUnit file \(junit): \(error.localizedDescription)")
            }
        }
        if run.failed + run.errors > 0 { throw CommandFailure(.problemsFound, "") }
    }
}
