import CommandExit
import Foundation
import Replay

/// `--check-determinism`: re-executes this binary twice with the hidden `--emit-decisions`
/// flag, with `SWIFT_DETERMINISTIC_HASHING` removed from the children's environment so each
/// process gets its own hash seed, and compares their decision logs (exit 4 on mismatch).
struct DeterminismCheck {
    let command: ReplayCommand

    func run() throws {
        var arguments = [command.trace, "--emit-decisions"]
        if let e = command.expect { arguments += ["--expect", e] }
        if let p = command.profile { arguments += ["--profile", p.rawValue] }
        if let m = command.mode { arguments += ["--mode", m.rawValue] }
        arguments += command.hintSelection.arguments
        if command.plantDictionaryOrder { arguments.append("--plant-dictionary-order") }
        if command.checkInvariants { arguments.append("--check-invariants") }
        if command.maxSpan != .defaultMaximum { arguments += ["--max-span", command.maxSpan.description] }
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SWIFT_DETERMINISTIC_HASHING")
        let outputs = try (0..<2).map { _ in try child(arguments, environment: environment) }
        guard let first = DeterminismComparison.parse(outputs[0]), let second = DeterminismComparison.parse(outputs[1]) else {
            throw CommandFailure(.internalError, "a determinism child produced no decision log")
        }
        let comparison = DeterminismComparison(trace: command.trace, first: first, second: second)
        switch command.report {
        case .text: FileHandle.standardOutput.write(Data(comparison.text.utf8))
        case .json: print(comparison.json.canonical)
        }
        if !comparison.deterministic { throw CommandFailure(.nondeterminism, "") }
    }

    /// Runs one child. A child that fails passes its exit status and stderr through.
    private func child(_ arguments: [String], environment: [String: String]) throws -> String {
        let result = try ChildProcess.run(URL(fileURLWithPath: executablePath()), arguments, environment: environment)
        if result.status != 0 {
            let status = ExitStatus(rawValue: result.status) ?? .internalError
            throw CommandFailure(status, result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: "syncreplay: ", with: ""))
        }
        return result.stdout
    }

    private func executablePath() -> String {
        if let path = Bundle.main.executablePath { return path }
        return CommandLine.arguments[0]
    }
}
