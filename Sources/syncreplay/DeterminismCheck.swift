import CommandExit
import Foundation
import Replay

/// `--check-determinism`: re-executes this binary twice with the hidden `--emit-decisions`
/// flag, with `SWIFT_DETERMINISTIC_HASHING` removed from the children's environment so each
/// process gets its own hash seed, and compares their decision logs (exit 4 on mismatch).
struct DeterminismCheck {
    let command: ReplayCommand

    func run() throws {
        // The parent resolves (golden, trace hint, defaults) exactly as a replay would; the
        // children get every option spelt out, so they cannot resolve differently.
        let prepared = try command.goldenCase.prepare(load: { try ReplayTraceLoader.open(path: $0) })
        let options = prepared.resolved.arguments
        let arguments = [command.trace, "--emit-decisions"] + options
        var environment = ProcessInfo.processInfo.environment
        environment.removeValue(forKey: "SWIFT_DETERMINISTIC_HASHING")
        let outputs = try (0..<2).map { _ in try child(arguments, environment: environment) }
        guard let first = DeterminismComparison.parse(outputs[0]), let second = DeterminismComparison.parse(outputs[1]) else {
            throw CommandFailure(.internalError, "a determinism child produced no decision log")
        }
        let expected = "profile \(prepared.resolved.profile.rawValue) mode \(prepared.resolved.mode.rawValue)"
        guard first.trailer.hasSuffix(expected), second.trailer.hasSuffix(expected) else {
            throw CommandFailure(.internalError, "a determinism child replayed with other options than \(expected)")
        }
        let comparison = DeterminismComparison(trace: command.trace, options: options, first: first, second: second)
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
