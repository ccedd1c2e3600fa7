import ArgumentParser
import Capture
import CommandExit
import Foundation
import PcapSource

/// `synccapture bench`: decode throughput of pcap input, plaintext and encrypted, next to
/// `tcpdump -r FILE -w /dev/null` on the same file (common.md: figures next to a physical reference).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure capture decoding throughput (MB/s) next to tcpdump reading the same file.",
        discussion: """
        Writes two synthetic captures of one connection carrying blocksync messages of --message-size bytes (one plaintext, one SecretConnection with its key log), then times `synccapture record`'s pipeline on each (libpcap read, TCP reassembly, decryption, MConnection decoding; no trace writing) and `tcpdump -r FILE -w /dev/null` on the same files. Build in release first: swift build -c release --product synccapture.

        Example:
          .build/release/synccapture bench --megabytes 64
        """)

    @Option(help: "Approximate size of each capture file in MB.")
    var megabytes: Int = 64

    @Option(help: "Size of each blocksync message in bytes.")
    var messageSize: Int = 20_000

    @Option(help: "Timed runs per measurement (the best is reported).")
    var runs: Int = 3

    func validate() throws {
        guard megabytes > 0, megabytes <= 4096, messageSize > 0, runs > 0 else {
            throw ArgumentParser.ValidationError("--megabytes 1...4096, --message-size and --runs must be positive")
        }
    }

    func run() throws {
        let count = max(1, megabytes * 1_000_000 / messageSize)
        var messages: [(fromClient: Bool, bytes: [UInt8])] = []
        for i in 0..<count {
            messages.append((i % 8 == 0, (0..<messageSize).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ i) }))
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("synccapture-bench-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let plain = SyntheticCapture.plainStreams(messages: messages)
        let secret = try SyntheticCapture.secretStreams(messages: messages)
        let plainPath = dir.appendingPathComponent("plain.pcap").path
        let secretPath = dir.appendingPathComponent("secret.pcap").path
        try Data(SyntheticCapture.pcap(clientBytes: plain.client, serverBytes: plain.server)).write(to: URL(fileURLWithPath: plainPath))
        try Data(SyntheticCapture.pcap(clientBytes: secret.client, serverBytes: secret.server)).write(to: URL(fileURLWithPath: secretPath))
        let keys = try KeyLog(text: secret.keyLogLine)
        print("synccapture bench: \(count) messages of \(messageSize) bytes per file, best of \(runs)")
        for (name, path, keyLog) in [("plaintext", plainPath, KeyLog()), ("encrypted", secretPath, keys)] {
            let size = Double((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)
            var best = Double.infinity
            var decoded = 0
            for _ in 0..<runs {
                let start = ContinuousClock.now
                var session = CaptureSession(keyLog: keyLog)
                let result = try CaptureRecorder.record(from: try PcapHandle.openFile(path), into: &session)
                best = min(best, Self.seconds(ContinuousClock.now - start))
                decoded = result.events.filter { if case .blocksync = $0.event { return true } else { return false } }.count
            }
            guard decoded == count else { throw CommandFailure(.internalError, "\(name): decoded \(decoded) of \(count) messages") }
            let reference = try Self.tcpdump(path, runs: runs)
            let mb = size / 1_000_000
            let ref = reference.map { String(format: "%8.1f MB/s", mb / $0) } ?? "(tcpdump not installed)"
            print(String(format: "  %@: %.1f MB file, decode %8.1f MB/s; tcpdump -r FILE -w /dev/null %@", name, mb, mb / best, ref))
        }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Best wall time of `tcpdump -r path -w /dev/null`, or nil when tcpdump is missing.
    static func tcpdump(_ path: String, runs: Int) throws -> Double? {
        let candidates = ["/usr/bin/tcpdump", "/usr/sbin/tcpdump", "/sbin/tcpdump"]
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
        var best = Double.infinity
        for _ in 0..<runs {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = ["-r", path, "-w", "/dev/null"]
            p.standardError = FileHandle.nullDevice
            p.standardOutput = FileHandle.nullDevice
            let start = ContinuousClock.now
            try p.run()
            p.waitUntilExit()
            best = min(best, seconds(ContinuousClock.now - start))
        }
        return best
    }
}
