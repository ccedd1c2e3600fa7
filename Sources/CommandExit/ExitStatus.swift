import ArgumentParser
import Foundation

/// The exit-code contract shared by every command of `syncreplay`, `synccapture` and
/// `syncsim` (DESIGN.md §6).
public enum ExitStatus: Int32, Sendable, CaseIterable {
    /// Success, or the replay matched its golden.
    case success = 0
    /// A divergence or problems were found (the input itself was readable).
    case problemsFound = 1
    /// Bad input or usage: unreadable files, malformed data, wrong flags.
    case badInput = 2
    /// A bug in syncreplay.
    case internalError = 3
    /// The same input gave different outputs in two processes.
    case nondeterminism = 4
}

/// An error a command reports with a specific exit status and a one-line message.
public struct CommandFailure: Error, CustomStringConvertible, Sendable {
    public let status: ExitStatus
    public let message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    public static func badInput(_ message: String) -> CommandFailure { .init(.badInput, message) }
    public static func problems(_ message: String) -> CommandFailure { .init(.problemsFound, message) }

    public var description: String { message }
}

/// Library errors that mean "the user's input is bad" conform to this (usually by a
/// retroactive extension in the executable), so they exit 2 instead of 3.
public protocol InputError: Error, CustomStringConvertible {}

/// Runs a root command with the exit-code map of DESIGN.md §6. swift-argument-parser exits 64
/// on usage and validation errors; here they exit 2. `--help` and `--version` exit 0.
public enum CommandRunner {
    public static func main<Root: ParsableCommand>(_ root: Root.Type, arguments: [String]? = nil) -> Never {
        exit(run(root, arguments: arguments))
    }

    /// Parses and runs, returning the exit status instead of exiting (used by tests).
    public static func run<Root: ParsableCommand>(_ root: Root.Type, arguments: [String]? = nil) -> Int32 {
        var command: ParsableCommand
        do {
            command = try root.parseAsRoot(arguments)
        } catch {
            return report(error, root: root)
        }
        do {
            try command.run()
            return ExitStatus.success.rawValue
        } catch {
            return report(error, root: root)
        }
    }

    /// The exit status an error maps to.
    public static func status<Root: ParsableCommand>(for error: Error, root: Root.Type) -> ExitStatus {
        switch error {
        case let failure as CommandFailure: return failure.status
        case is InputError: return .badInput
        case let exit as ExitCode:
            return ExitStatus(rawValue: exit.rawValue) ?? .internalError
        default:
            let code = root.exitCode(for: error)
            if code == .success { return .success }
            if code == .validationFailure { return .badInput }  // usage errors (64 by default)
            return .internalError
        }
    }

    private static func report<Root: ParsableCommand>(_ error: Error, root: Root.Type) -> Int32 {
        let status = status(for: error, root: root)
        switch error {
        case let failure as CommandFailure:
            if !failure.message.isEmpty { printError("\(root.configuration.commandName ?? "error"): \(failure.message)") }
        case let input as InputError:
            printError("\(root.configuration.commandName ?? "error"): \(input.description)")
        case is ExitCode:
            break
        default:
            let message = root.fullMessage(for: error)
            if status == .success {
                print(message)
            } else if status == .internalError {
                printError("\(root.configuration.commandName ?? "error"): internal error: \(message.isEmpty ? String(describing: error) : message)")
            } else if !message.isEmpty {
                printError(message)
            }
        }
        return status.rawValue
    }

    public static func printError(_ line: String) {
        var text = line
        if !text.hasSuffix("\n") { text += "\n" }
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// An `InputError` about one input file, described as `FILE: error` so the one-line message
/// says which input is at fault (DESIGN.md §6; several library errors only know offsets).
public struct FileInputError: InputError {
    public let path: String
    public let error: any InputError

    public init(path: String, error: any InputError) {
        self.path = path
        self.error = error
    }

    public var description: String { "\(path): \(error.description)" }

    /// Runs `body`, rethrowing any `InputError` as a `FileInputError` about `path`, except
    /// those that name their own file (`NamesItsFile`); other errors (e.g. `CommandFailure`)
    /// pass through unchanged.
    public static func naming<T>(_ path: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as InputError {
            if let named = error as? NamesItsFile, named.namesItsFile { throw error }
            throw FileInputError(path: path, error: error)
        }
    }
}

/// An input error whose description may already name the file it is about (an I/O error
/// carrying its path), so `FileInputError.naming` does not name it twice.
public protocol NamesItsFile {
    var namesItsFile: Bool { get }
}
