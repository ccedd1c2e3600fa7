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

    /// Runs one child; its stdout goes to a temporary file (no pipe can fill and block it).
    /// A child that fails passes its exit status and stderr through.
    private func child(_ arguments: [String], environment: [String: String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executablePath())
        process.arguments = arguments
        process.environment = environment
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-determinism-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try out.close(); try err.close()
        let stdout = String(decoding: (try? Data(contentsOf: outURL)) ?? Data(), as: UTF8.self)
        if process.terminationStatus != 0 {
            let stderr = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self)
            let status = ExitStatus(rawValue: process.terminationStatus) ?? .internalError
            throw CommandFailure(status, stderr.trimmingCharacters(in: .whitespacesAndNewlines)
                .replacingOccurrences(of: "syncreplay: ", with: ""))
        }
        return stdout
    }

    private func executablePath() -> String {
        if let path = Bundle.main.executablePath { return path }
        return CommandLine.arguments[0]
    }
}
