import Testing
import ArgumentParser
import CommandExit

/// The error → exit-status map of DESIGN.md §6, one case per code, in-process (the codes a
/// command cannot be made to produce on demand, 3 and 4, are covered here; the subprocess
/// tests cover 0, 1 and 2 through real commands).
@Suite struct ExitStatusMappingTests {
    struct Root: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "root")
        @Option var count: Int = 0
        func validate() throws {
            if count < 0 { throw ValidationError("--count must not be negative") }
        }
    }

    struct Unexpected: Error {}
    struct BadFile: InputError { var description: String { "bad file at byte 3" } }

    @Test func eachCodeHasItsError() {
        #expect(CommandRunner.status(for: CommandFailure(.success, ""), root: Root.self) == .success)
        #expect(CommandRunner.status(for: CommandFailure.problems("1 divergence"), root: Root.self) == .problemsFound)
        #expect(CommandRunner.status(for: BadFile(), root: Root.self) == .badInput)
        #expect(CommandRunner.status(for: Unexpected(), root: Root.self) == .internalError)
        #expect(CommandRunner.status(for: CommandFailure(.nondeterminism, "digests differ"), root: Root.self) == .nondeterminism)
        #expect(ExitStatus.allCases.map(\.rawValue) == [0, 1, 2, 3, 4])
    }

    /// swift-argument-parser exits 64 on usage and validation errors; ours exit 2.
    @Test func argumentParserUsageErrorsExitTwo() {
        #expect(CommandRunner.run(Root.self, arguments: ["--count", "x"]) == 2)
        #expect(CommandRunner.run(Root.self, arguments: ["--count", "-1"]) == 2)
        #expect(CommandRunner.run(Root.self, arguments: ["--nope"]) == 2)
        #expect(CommandRunner.run(Root.self, arguments: ["--count", "3"]) == 0)
        #expect(CommandRunner.run(Root.self, arguments: ["--help"]) == 0)
    }
}
