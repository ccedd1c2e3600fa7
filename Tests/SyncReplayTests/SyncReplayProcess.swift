import Foundation

/// Runs the built `syncreplay` executable as a child process, as a user would.
enum SyncReplayProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

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
        let process = Process()
        process.executableURL = program ?? executable
        process.arguments = arguments
        if let workingDirectory { process.currentDirectoryURL = workingDirectory }
        if let environment { process.environment = environment }
        // Children write to temporary files: no pipe can fill up and block them.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outURL = dir.appendingPathComponent("stdout"), errURL = dir.appendingPathComponent("stderr")
        FileManager.default.createFile(atPath: outURL.path, contents: nil)
        FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let inURL = dir.appendingPathComponent("stdin")
            try stdin.write(to: inURL)
            process.standardInput = try FileHandle(forReadingFrom: inURL)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        process.waitUntilExit()
        try out.close(); try err.close()
        let stdoutData = try Data(contentsOf: outURL), stderrData = try Data(contentsOf: errURL)
        return Result(status: process.terminationStatus,
                      stdout: String(decoding: stdoutData, as: UTF8.self),
                      stderr: String(decoding: stderrData, as: UTF8.self))
    }
}
