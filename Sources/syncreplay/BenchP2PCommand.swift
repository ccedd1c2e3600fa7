import ArgumentParser
import CometP2P
import Crypto
import Foundation

/// `syncreplay bench p2p`: CometBFT transport throughput (MConnection decoding, SecretConnection
/// frame opening, handshakes), each next to a raw reference measured in the same run.
struct BenchP2P: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "p2p",
        abstract: "Benchmark MConnection decoding, SecretConnection frames and handshakes.",
        discussion: """
        Prints three figures, each next to a physical reference measured in the same run:
        MConnection decoding of blocksync traffic (100 kB messages) fed --segment bytes at a time as capture feeds TCP segments (MB/s; reference: a plain memory copy of the same bytes in the same pieces, alternating with the decoder for --iterations rounds, best of each), SecretConnection frame opening (MB/s; reference: swift-crypto's raw ChaCha20-Poly1305 open of the same 1028-byte frames) and complete handshakes between two state machines (per second; reference: the raw X25519, ed25519 sign and verify both sides perform). Build in release first.

        Example:
          swift build -c release
          .build/release/syncreplay bench p2p --megabytes 64
        """
    )

    @Option(help: "Megabytes of traffic for the decode and frame figures.")
    var megabytes: Int = 64

    @Option(help: "Handshakes to run.")
    var handshakes: Int = 300

    @Option(help: "Bytes handed to the MConnection decoder per call: one TCP segment's payload as capture feeds it (1448: a 1500-byte MTU with TCP timestamps).")
    var segment: Int = 1448

    @Option(help: "Rounds of the decode figure and its reference, interleaved; the best of each is reported.")
    var iterations: Int = 3

    func validate() throws {
        guard megabytes > 0, megabytes <= 4096 else { throw ValidationError("--megabytes must be 1...4096") }
        guard handshakes > 0 else { throw ValidationError("--handshakes must be positive") }
        guard segment > 0 else { throw ValidationError("--segment must be positive") }
        guard iterations > 0 else { throw ValidationError("--iterations must be positive") }
    }

    func run() throws {
        let total = megabytes * 1_000_000
        // Blocksync-shaped traffic: 100 kB messages on channel 0x40.
        let message = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 131) }
        let oneMessage = MConnectionEncoder().encode(channel: 0x40, message: message)
        var stream: [UInt8] = []
        stream.reserveCapacity(total + oneMessage.count)
        while stream.count < total { stream += oneMessage }
        let piece = segment

        // Reference and decoder alternate, round by round, so machine load affects both alike.
        var copySeconds = Double.infinity, decodeSeconds = Double.infinity
        for _ in 0..<iterations {
            copySeconds = min(copySeconds, seconds {
                var sink = [UInt8](repeating: 0, count: piece)
                var i = 0
                while i < stream.count {
                    let n = min(piece, stream.count - i)
                    sink.withUnsafeMutableBytes { dst in
                        stream.withUnsafeBytes { src in dst.baseAddress!.copyMemory(from: src.baseAddress! + i, byteCount: n) }
                    }
                    i += n
                }
                blackHole(sink[0])
            })
            decodeSeconds = min(decodeSeconds, try seconds {
                var d = MConnectionDecoder()
                var i = 0, messages = 0
                while i < stream.count {
                    let n = min(piece, stream.count - i)
                    d.feed(stream[i..<(i + n)])
                    while let _ = try d.next() { messages += 1 }
                    i += n
                }
                blackHole(UInt8(truncatingIfNeeded: messages))
            })
        }
        let copyRate = Double(stream.count) / 1e6 / copySeconds, decodeRate = Double(stream.count) / 1e6 / decodeSeconds
        print(String(format: "mconnection decode  %8.1f MB/s   (memory copy of the same bytes: %8.1f MB/s; %.1f%%; %d-byte pieces)",
                     decodeRate, copyRate, 100 * decodeRate / copyRate, piece))

        // Frames: seal once, then time opening.
        let key = [UInt8](repeating: 7, count: 32)
        var sealer = try FrameSealer(key: key)
        let frameBudget = min(stream.count, 64_000_000)
        let sealed = try sealer.seal(stream[0..<frameBudget])
        let openRate = try rate(bytes: frameBudget) {
            var opener = try FrameOpener(key: key)
            var i = 0, n = 0
            while i < sealed.count {
                let e = min(sealed.count, i + 65536)
                opener.feed(sealed[i..<e])
                while let chunk = try opener.next() { n &+= chunk.count }
                i = e
            }
            blackHole(UInt8(truncatingIfNeeded: n))
        }
        let frames = sealed.count / SecretConnection.sealedFrameSize
        // The fastest open we have, the one `FrameOpener` uses: `ChaChaPolyOpener` (one BoringSSL
        // AEAD context per key) opening each frame straight from the sealed bytes into one reused
        // buffer, so the share stays at or below 100 % (issue 19 item 5).
        let cipher = ChaChaPolyOpener(key: key)
        let rawOpenRate = try rate(bytes: frameBudget) {
            var n = 0
            var plain = [UInt8](repeating: 0, count: SecretConnection.sealedFrameSize)
            try sealed.withUnsafeBytes { src in
                try plain.withUnsafeMutableBytes { out in
                    for f in 0..<frames {
                        let start = f * SecretConnection.sealedFrameSize
                        let ok = cipher.openFrame(UnsafeRawBufferPointer(rebasing: src[start..<(start + SecretConnection.sealedFrameSize)]),
                                                  counter: UInt64(f), into: out)
                        guard ok else { throw CleanExit.message("raw open: frame \(f) does not open") }
                        n &+= SecretConnection.sealedFrameSize - ChaChaPolyOpener.tagSize
                    }
                }
            }
            blackHole(UInt8(truncatingIfNeeded: n))
        }
        print(String(format: "frame open          %8.1f MB/s   (raw ChaCha20-Poly1305 open, 1028-byte frames: %8.1f MB/s; %.1f%%)",
                     openRate, rawOpenRate, 100 * openRate / rawOpenRate))

        // Handshakes.
        let ka = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 1, count: 32))
        let kb = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 2, count: 32))
        let handshakeSeconds = try seconds {
            for i in 0..<handshakes {
                var a = try SecretConnectionHandshake(nodeKey: ka, ephemeralPrivateKey: [UInt8](repeating: UInt8(truncatingIfNeeded: i), count: 32))
                var b = try SecretConnectionHandshake(nodeKey: kb, ephemeralPrivateKey: [UInt8](repeating: UInt8(truncatingIfNeeded: i &+ 1), count: 32))
                let toA = try b.receive(a.initialBytes)
                let toB = try a.receive(b.initialBytes)
                _ = try a.receive(toA)
                _ = try b.receive(toB)
                guard a.session != nil, b.session != nil else { throw CleanExit.message("handshake did not complete") }
            }
        }
        let rawSeconds = try seconds {
            let challenge = [UInt8](repeating: 9, count: 32)
            for i in 0..<handshakes {
                for side in 0..<2 {
                    let priv = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: [UInt8](repeating: UInt8(truncatingIfNeeded: i &+ side), count: 32))
                    let peer = try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: [UInt8](repeating: UInt8(truncatingIfNeeded: i &+ 1 &- side), count: 32))
                    _ = try priv.sharedSecretFromKeyAgreement(with: peer.publicKey)
                    let key = side == 0 ? ka : kb
                    let sig = try key.signature(for: challenge)
                    blackHole(key.publicKey.isValidSignature(sig, for: challenge) ? 1 : 0)
                }
            }
        }
        print(String(format: "handshake           %8.0f /s     (raw X25519 + ed25519 sign + verify, both sides: %8.0f /s)",
                     Double(handshakes) / handshakeSeconds, Double(handshakes) / rawSeconds))
    }

    private func seconds(_ body: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        let elapsed = try clock.measure(body)
        let c = elapsed.components
        return max(1e-9, Double(c.seconds) + Double(c.attoseconds) / 1e18)
    }

    private func rate(bytes: Int, _ body: () throws -> Void) rethrows -> Double {
        Double(bytes) / 1e6 / (try seconds(body))
    }
}

@inline(never)
private func blackHole(_ x: UInt8) {
    if x == 0x5a && ProcessInfo.processInfo.environment["SYNCREPLAY_NEVER"] != nil { print(x) }
}
