import ArgumentParser
import Capture
import CometP2P
import Crypto
import CommandExit
import Foundation
import PcapSource

/// `synccapture bench`: decode throughput of pcap input, plaintext and encrypted, next to
/// `tcpdump -r FILE -w /dev/null` on the same file and, for the encrypted one, a raw
/// ChaCha20-Poly1305 open of its frames, each reference alternating with the decode (issue 19 item 5).
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure capture decoding throughput (MB/s) next to tcpdump reading the same file.",
        discussion: """
        Writes two synthetic captures of one connection carrying blocksync messages of --message-size bytes (one plaintext, one SecretConnection with its key log), then times `synccapture record`'s pipeline on each (libpcap read, TCP reassembly, decryption, MConnection decoding; no trace writing; with more than one core, SecretConnection frames are opened and decoded ahead on a second one, as `record` does), alternating round by round with `tcpdump -r FILE -w /dev/null` on the same file and, for the encrypted file, swift-crypto's raw ChaCha20-Poly1305 open of its 1,044-byte frames; prints each rate and the decode's share of each reference. Build in release first: swift build -c release --product synccapture.

        Example:
          .build/release/synccapture bench --megabytes 64
        """)

    @Option(help: "Approximate size of each capture file in MB.")
    var megabytes: Int = 64

    @Option(help: "Size of each blocksync message in bytes.")
    var messageSize: Int = 20_000

    @Option(help: "Rounds of the decode and its references, alternating (the best of each is reported).")
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
        guard let connectionKeys = SecretConnectionKeys(keyLogLine: secret.keyLogLine) else {
            throw CommandFailure(.internalError, "synthetic key-log line does not parse: \(secret.keyLogLine)")
        }
        // The encrypted capture's sealed frames, each direction with its key: what the raw open opens.
        let sealed = [(ChaChaPolyOpener(key: connectionKeys.sendSecret), Array(secret.client[SecretConnection.ephemeralKeyMessageSize...])),
                      (ChaChaPolyOpener(key: connectionKeys.recvSecret), Array(secret.server[SecretConnection.ephemeralKeyMessageSize...]))]
        let frames = sealed.reduce(0) { $0 + $1.1.count / SecretConnection.sealedFrameSize }
        let tcpdump = Self.tcpdumpPath()
        let ahead = FramesOpenedAhead.isEnabledByDefault
            ? "SecretConnection frames opened and decoded ahead on a second core (SYNCCAPTURE_OPEN_AHEAD=0: on one)"
            : "one core (SYNCCAPTURE_OPEN_AHEAD=1: frames opened ahead on a second)"
        print("synccapture bench: \(count) messages of \(messageSize) bytes per file; decode, tcpdump and (encrypted) raw open alternate, \(runs) rounds, best of each; \(ahead)")
        for (name, path, keyLog) in [("plaintext", plainPath, KeyLog()), ("encrypted", secretPath, keys)] {
            let size = Double((try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0)
            var best = Double.infinity, bestTcpdump = Double.infinity, bestOpen = Double.infinity
            var decoded = 0
            for _ in 0..<runs {
                if let tcpdump { bestTcpdump = min(bestTcpdump, try Self.time { try Self.runTcpdump(tcpdump, path) }) }
                if keyLog.count > 0 { bestOpen = min(bestOpen, try Self.time { try Self.rawOpen(sealed) }) }
                best = min(best, try Self.time {
                    let result = try FramesOpenedAhead.withDefault { opening in
                        var session = CaptureSession(keyLog: keyLog, frameOpening: opening)
                        return try CaptureRecorder.record(from: try PcapHandle.openFile(path), into: &session)
                    }
                    decoded = result.events.count { if case .blocksync = $0.event { true } else { false } }
                })
            }
            guard decoded == count else { throw CommandFailure(.internalError, "\(name): decoded \(decoded) of \(count) messages") }
            let mb = size / 1_000_000
            var line = String(format: "  %@: %.1f MB file, decode %7.1f MB/s", name, mb, mb / best)
            line += tcpdump == nil ? "; tcpdump not installed"
                : String(format: "; tcpdump -r FILE -w /dev/null %7.1f MB/s (decode %.1f %%)", mb / bestTcpdump, 100 * bestTcpdump / best)
            if keyLog.count > 0 {
                line += String(format: "; raw ChaCha20-Poly1305 open of its %d frames %7.1f MB/s (decode %.1f %%)",
                               frames, mb / bestOpen, 100 * bestOpen / best)
            }
            print(line)
        }
    }

    /// Wall time of `body`.
    static func time(_ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        try body()
        return seconds(ContinuousClock.now - start)
    }

    /// The physical reference of the encrypted pipeline: ChaCha20-Poly1305 open of every sealed
    /// 1,044-byte frame (1,028 plaintext bytes), counters 0, 1, 2… per direction, the fastest way
    /// we have: `ChaChaPolyOpener` (BoringSSL's AEAD context set up once per key, as
    /// `FrameOpener` uses it) opening straight from the capture's bytes into one reused buffer.
    static func rawOpen(_ directions: [(ChaChaPolyOpener, [UInt8])]) throws {
        var plain = [UInt8](repeating: 0, count: SecretConnection.totalFrameSize)
        var opened = 0
        for (cipher, bytes) in directions {
            var counter: UInt64 = 0
            var start = 0
            try bytes.withUnsafeBytes { src in
                try plain.withUnsafeMutableBytes { out in
                    while start + SecretConnection.sealedFrameSize <= src.count {
                        let ok = cipher.openFrame(UnsafeRawBufferPointer(rebasing: src[start..<(start + SecretConnection.sealedFrameSize)]),
                                                  counter: counter, into: out)
                        guard ok else { throw CommandFailure(.internalError, "raw open: frame \(counter) does not open") }
                        opened += 1
                        counter += 1
                        start += SecretConnection.sealedFrameSize
                    }
                }
            }
        }
        guard opened > 0 else { throw CommandFailure(.internalError, "raw open: no frames") }
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    static func tcpdumpPath() -> String? {
        ["/usr/bin/tcpdump", "/usr/sbin/tcpdump", "/sbin/tcpdump"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// One `tcpdump -r path -w /dev/null`.
    static func runTcpdump(_ binary: String, _ path: String) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = ["-r", path, "-w", "/dev/null"]
        p.standardError = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
    }
}
