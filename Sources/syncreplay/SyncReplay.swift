import ArgumentParser
import CommandExit
import Implementations
import SyncMachine

/// The `syncreplay` command line (DESIGN.md §6). Thin: every command parses its arguments,
/// calls into the libraries and maps errors to the exit codes of `ExitStatus`.
@main
struct SyncReplay: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "syncreplay",
        abstract: "Record/replay conformance harness for CometBFT blocksync and Conflux pivot hints.",
        discussion: """
        Exit codes (every command): 0 success or match, 1 divergence or problems found, 2 bad input or usage, 3 internal error, 4 nondeterminism detected.

        \(MachineRegistry.standard.helpText)
        """,
        version: version,
        subcommands: [ReplayCommand.self, Suite.self, DiffCommand.self, ReduceCommand.self, TimelineCommand.self, Inspect.self, Cat.self, Doctor.self, Recover.self, Hint.self, BlockCommand.self, Bench.self],
        defaultSubcommand: ReplayCommand.self
    )

    static func main() {
        CommandRunner.main(SyncReplay.self)
    }
}
