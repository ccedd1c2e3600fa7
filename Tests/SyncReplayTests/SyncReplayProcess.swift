import CommandExit
import Foundation

/// Runs the built `syncreplay` executable as a child process, as a user would.
enum SyncReplayProcess {
    typealias Result = ChildProcess.Result

    /// The directory holding the built products (the test bundle sits beside them).
    static var productsDirectory: URL {
        let bundle = Bundle.main.bundleURL
        if bundle.pathExtension == "xctest" { return bundle.deletingLastPathComponent() }
        // swift-testing's runner: the test binary itself lives in the products directory.
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    static var executable: URL {
        var dir = productsDirectory
        for _ in 0..<3 {
            let candidate = dir.appendingPathComponent("syncreplay")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return productsDirectory.appendingPathComponent("syncreplay")
    }

    /// Path of `../shared` (fixtures and specs), relative to this package.
    static var sharedDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("shared")
    }

    /// The package root (for `Traces/`).
    static var packageDirectory: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// A sibling product of `syncreplay` (`synccapture`, `syncsim`).
    static func product(_ name: String) -> URL {
        executable.deletingLastPathComponent().appendingPathComponent(name)
    }

    /// Runs `syncreplay` (or, with `program`, another built product) as a child process.
    static func run(_ arguments: [String], program: URL? = nil, environment: [String: String]? = nil, stdin: Data? = nil,
                    workingDirectory: URL? = nil) throws -> Result {
        try ChildProcess.run(program ?? executable, arguments, environment: environment, stdin: stdin, workingDirectory: workingDirectory)
    }
}
