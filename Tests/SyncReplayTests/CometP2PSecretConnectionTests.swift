import HexCoding
import Testing
import Foundation
import Crypto
import CometP2P

/// SecretConnection primitives, specs/cometbft-blocksync.md §1.2.
@Suite struct CometP2PSecretConnectionTests {
    static let goldenPath = "/work/shared/fixtures/secret-connection/TestDeriveSecretsAndChallengeGolden.golden"

    static func goldenPathResolved() -> String {
        let shared = SyncReplayProcess.sharedDirectory.appendingPathComponent(
            "fixtures/secret-connection/TestDeriveSecretsAndChallengeGolden.golden").path
        return FileManager.default.fileExists(atPath: shared) ? shared : goldenPath
    }

    /// Every line of CometBFT's golden file: `dh,locIsLeast,recv,send,oldChallenge`.
    @Test func deriveSecretsMatchesEveryGoldenLine() throws {
        let text = try String(contentsOfFile: Self.goldenPathResolved(), encoding: .utf8)
        let lines = text.split(separator: "\n").filter { !$0.isEmpty }
        #expect(lines.count == 32)
        for line in lines {
            let cols = line.split(separator: ",").map(String.init)
            try #require(cols.count == 5)
            let dh = P2PHex.decode(cols[0])
            try #require(dh.count == 32)
            let (recv, send) = SecretConnection.deriveSecrets(dh: dh, locIsLeast: cols[1] == "true")
            #expect(P2PHex.encode(recv) == cols[2], "recv for dh \(cols[0])")
            #expect(P2PHex.encode(send) == cols[3], "send for dh \(cols[0])")
        }
    }

    /// lo/hi assignment: both ends of one connection get mirrored keys.
    @Test func keysOfBothEndsMirror() throws {
        let a = try SecretConnection.ephemeralPublicKey(privateKey: [UInt8](repeating: 7, count: 32))
        let b = try SecretConnection.ephemeralPublicKey(privateKey: [UInt8](repeating: 9, count: 32))
        let dhA = try SecretConnection.dhSecret(privateKey: [UInt8](repeating: 7, count: 32), remotePublicKey: b)
        let dhB = try SecretConnection.dhSecret(privateKey: [UInt8](repeating: 9, count: 32), remotePublicKey: a)
        #expect(dhA == dhB)
        let ka = SecretConnectionKeys(localEphemeralPublicKey: a, remoteEphemeralPublicKey: b, dhSecret: dhA)
        let kb = SecretConnectionKeys(localEphemeralPublicKey: b, remoteEphemeralPublicKey: a, dhSecret: dhB)
        #expect(ka.locIsLeast != kb.locIsLeast)
        #expect(ka.sendSecret == kb.recvSecret && ka.recvSecret == kb.sendSecret)
        #expect(ka.sendSecret != ka.recvSecret)
        #expect(ka.challenge == kb.challenge)
        #expect(ka.swapped == kb)
        // The lo side sends with K2 (§1.2 step 6).
        let lo = ka.locIsLeast ? ka : kb
        let k = SecretConnection.deriveSecrets(dh: dhA, locIsLeast: false)
        #expect(lo.sendSecret == k.recv)
        // The key log line round-trips.
        #expect(SecretConnectionKeys(keyLogLine: ka.keyLogLine) == ka)
        #expect(SecretConnectionKeys(keyLogLine: "# comment") == nil)
    }

    /// RFC 7748 §5.2 (unclamped scalar, X25519 clamps) and §6.1 (Alice/Bob).
    @Test func x25519AcceptsRawUnclampedScalars() throws {
        let k = P2PHex.decode("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4")
        let u = P2PHex.decode("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")
        #expect(P2PHex.encode(try SecretConnection.dhSecret(privateKey: k, remotePublicKey: u))
                == "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552")
        let alice = P2PHex.decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
        let bobPub = P2PHex.decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        #expect(P2PHex.encode(try SecretConnection.ephemeralPublicKey(privateKey: alice))
                == "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
        #expect(P2PHex.encode(try SecretConnection.dhSecret(privateKey: alice, remotePublicKey: bobPub))
                == "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
    }

    @Test func lowOrderRemoteKeyIsRejected() {
        let priv = [UInt8](repeating: 5, count: 32)
        #expect(throws: SecretConnectionError.lowOrderPoint) {
            try SecretConnection.dhSecret(privateKey: priv, remotePublicKey: [UInt8](repeating: 0, count: 32))
        }
        // u = 1 is also of low order.
        #expect(throws: SecretConnectionError.lowOrderPoint) {
            try SecretConnection.dhSecret(privateKey: priv, remotePublicKey: [1] + [UInt8](repeating: 0, count: 31))
        }
    }

    @Test func ephemeralKeyMessageIs35Bytes() throws {
        let key = (0..<32).map { UInt8($0) }
        let msg = SecretConnection.ephemeralKeyMessage(key)
        #expect(msg.count == 35)
        #expect(Array(msg[0..<3]) == [0x22, 0x0a, 0x20])
        #expect(try SecretConnection.ephemeralKey(fromBytesValue: msg[1...]) == key)
        // A short value is zero-padded like Go's copy into [32]byte.
        #expect(try SecretConnection.ephemeralKey(fromBytesValue: [0x0a, 0x01, 0xff]) == [0xff] + [UInt8](repeating: 0, count: 31))
    }

    @Test func nodeIDFromRealValidatorKey() {
        // cometbft-v0.34 genesis: the address is SHA256(pubkey)[:20], like the node ID.
        let pk = Array(Data(base64Encoded: "OKAnhjqSneoGRrC37lMmw13vpj3pge3Au8/5Q1YfGq0=")!)
        #expect(SecretConnection.nodeID(fromEd25519: pk) == "675f52e8fda5f4047b8eaf498f946f551ed53dc2")
    }

    // MARK: frames

    @Test func framesRoundTripInArbitraryPieces() throws {
        let key = (0..<32).map { UInt8($0 &* 3) }
        var sealer = try FrameSealer(key: key)
        var gen = P2PTestBytes(seed: 11)
        let data = gen.bytes(5000)
        var wire: [UInt8] = []
        wire += try sealer.seal(data[0..<100])
        wire += try sealer.seal(data[100...])
        #expect(wire.count == 1044 * (1 + 5))  // 100 → 1 frame; 4900 → 4 full + 1
        #expect(sealer.counter == 6)
        #expect(try sealer.seal([UInt8]()).isEmpty)
        var opener = try FrameOpener(key: key)
        var chunks: [[UInt8]] = []
        var i = 0
        while i < wire.count {
            let end = min(wire.count, i + 1 + gen.below(2000))
            opener.feed(wire[i..<end])
            while let c = try opener.next() { chunks.append(c) }
            i = end
        }
        #expect(chunks.map(\.count) == [100, 1024, 1024, 1024, 1024, 804])
        #expect(chunks.flatMap { $0 } == data)
        #expect(opener.counter == 6 && opener.bufferedByteCount == 0)
    }

    /// Nonce = 4 zero bytes ‖ LE64 counter; plaintext = LE32 length ‖ chunk ‖ zero padding.
    @Test func frameLayoutMatchesSpec() throws {
        let key = [UInt8](repeating: 0x42, count: 32)
        var sealer = try FrameSealer(key: key)
        _ = try sealer.seal([1, 2, 3])
        let second = try sealer.seal([9, 8])
        let nonce = try ChaChaPoly.Nonce(data: [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
        let box = try ChaChaPoly.SealedBox(nonce: nonce, ciphertext: second[0..<1028], tag: second[1028..<1044])
        let plain = Array(try ChaChaPoly.open(box, using: SymmetricKey(data: key)))
        #expect(plain.count == 1028)
        #expect(Array(plain[0..<6]) == [2, 0, 0, 0, 9, 8])
        #expect(plain[6...].allSatisfy { $0 == 0 })
    }

    @Test func tamperedFrameFailsAndStaysFailed() throws {
        let key = [UInt8](repeating: 1, count: 32)
        var sealer = try FrameSealer(key: key)
        var wire = try sealer.seal([UInt8](repeating: 7, count: 10)) + sealer.seal([1])
        wire[1044 + 5] ^= 0x01
        var opener = try FrameOpener(key: key)
        opener.feed(wire)
        #expect(try opener.next() == [UInt8](repeating: 7, count: 10))
        #expect(throws: SecretConnectionError.decryptFailed(frame: 1)) { try opener.next() }
        #expect(throws: SecretConnectionError.decryptFailed(frame: 1)) { try opener.next() }
    }

    /// A batch taken from the opener reads the same whether it is opened whole or in parts (as
    /// the capture's two threads open it), and a frame that fails stops it at that frame: it and
    /// every later frame report the failure, whichever part reached it.
    @Test func batchOpenedInPartsReadsAsOpenedWhole() throws {
        let key = [UInt8](repeating: 5, count: 32)
        var gen = P2PTestBytes(seed: 23)
        let data = gen.bytes(6 * 1024 + 300)
        var sealer = try FrameSealer(key: key)
        let wire = try sealer.seal(data[...])  // 7 frames
        func read(_ wire: [UInt8], parts: [Int]) throws -> [Result<[UInt8], SecretConnectionError>] {
            var opener = try FrameOpener(key: key)
            opener.feed(wire[..<(wire.count - 500)])  // the last frame is not whole yet
            let taken = opener.takeFrames()
            let batch = try #require(taken)
            #expect(batch.frameCount == 6 && batch.firstCounter == 0 && opener.bufferedByteCount == 1044 - 500)
            for end in parts { batch.open(upTo: end) }
            #expect(!parts.isEmpty || !batch.isOpened)
            batch.open()
            #expect(batch.isOpened)
            return batch.withOpenedFrames { frames in
                (0..<batch.frameCount).map { frame in
                    Result { Array(try frames.chunk(frame)) }.mapError { $0 as! SecretConnectionError }
                }
            }
        }
        let whole = try read(wire, parts: [])
        #expect(whole.map { (try? $0.get())?.count } == [1024, 1024, 1024, 1024, 1024, 1024])
        #expect(whole.compactMap { try? $0.get() }.flatMap { $0 } == Array(data[..<(6 * 1024)]))
        for parts in [[1], [3], [2, 4], [0, 5, 6], [6]] { #expect(try read(wire, parts: parts) == whole) }
        var flipped = wire
        flipped[3 * 1044 + 10] ^= 0x40
        let failed = try read(flipped, parts: [])
        #expect(failed[..<3] == whole[..<3])
        #expect(failed[3...].allSatisfy { $0 == .failure(.decryptFailed(frame: 3)) })
        for parts in [[2], [3], [4], [1, 5]] { #expect(try read(flipped, parts: parts) == failed) }
    }

    @Test func chunkLengthAbove1024IsRejected() throws {
        let key = [UInt8](repeating: 3, count: 32)
        var frame = [UInt8](repeating: 0, count: 1028)
        frame[0] = 0x01; frame[1] = 0x04  // 1025
        let box = try ChaChaPoly.seal(frame, using: SymmetricKey(data: key),
                                      nonce: ChaChaPoly.Nonce(data: [UInt8](repeating: 0, count: 12)))
        var opener = try FrameOpener(key: key)
        opener.feed(Array(box.ciphertext) + Array(box.tag))
        #expect(throws: SecretConnectionError.chunkTooLong(frame: 0, length: 1025)) { try opener.next() }
    }

    @Test func nonceExhaustionThrowsInsteadOfPanicking() throws {
        var sealer = try FrameSealer(key: [UInt8](repeating: 0, count: 32), counter: UInt64.max - 1)
        _ = try sealer.seal([1])
        #expect(throws: SecretConnectionError.nonceExhausted) { try sealer.seal([1]) }
    }

    // MARK: AuthSigMessage

    @Test func authSigMessageEncodesTo103BytesAndVerifies() throws {
        let nodeKey = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x11, count: 32))
        let challenge = (0..<32).map { UInt8($0) }
        let msg = try AuthSigMessage(signing: challenge, with: nodeKey)
        let wire = msg.encodeDelimited()
        #expect(wire.count == 103)
        #expect(Array(wire[0..<5]) == [0x66, 0x0a, 0x22, 0x0a, 0x20])
        #expect(Array(wire[37..<39]) == [0x12, 0x40])
        let decoded = try AuthSigMessage.decode(wire[1...])
        #expect(decoded == msg)
        #expect(try decoded.verify(challenge: challenge) == Array(nodeKey.publicKey.rawRepresentation))
        var wrong = challenge; wrong[0] ^= 1
        #expect(throws: SecretConnectionError.challengeVerificationFailed) { try decoded.verify(challenge: wrong) }
        let secp = AuthSigMessage(publicKey: .secp256k1([UInt8](repeating: 2, count: 33)), signature: msg.signature)
        #expect(throws: SecretConnectionError.unsupportedPublicKey("expected ed25519 pubkey, got secp256k1.PubKey")) {
            try AuthSigMessage.decode(secp.encode()[...]).verify(challenge: challenge)
        }
        let short = AuthSigMessage(publicKey: .ed25519([1, 2]), signature: msg.signature)
        #expect(throws: SecretConnectionError.unsupportedPublicKey("invalid size for PubKeyEd25519. Got 2, expected 32")) {
            try short.verify(challenge: challenge)
        }
    }

    // MARK: NodeInfo

    @Test func nodeInfoRoundTripAndCompatibility() throws {
        let info = NodeInfo(nodeID: "675f52e8fda5f4047b8eaf498f946f551ed53dc2", listenAddr: "tcp://0.0.0.0:26656",
                            network: "dockerchain", version: "0.34.24", channels: [0x40, 0x20, 0x00],
                            moniker: "node0", txIndex: "on", rpcAddress: "tcp://0.0.0.0:26657")
        let body = info.encode()
        // protocol_version{p2p=8, block=11} first, then default_node_id.
        #expect(Array(body[0..<6]) == [0x0a, 0x04, 0x08, 0x08, 0x10, 0x0b])
        #expect(try NodeInfo.decode(body[...]) == info)
        // Empty `other` is still emitted (non-nullable).
        let bare = NodeInfo(nodeID: "", listenAddr: "", network: "", version: "", channels: [], moniker: "")
        #expect(P2PHex.encode(bare.encode()) == "0a040808100b4200")
        var other = info
        other.network = "otherchain"
        #expect(info.incompatibility(with: other) == "peer is on a different network. Got otherchain, expected dockerchain")
        other = info
        other.channels = [0x30]
        #expect(info.incompatibility(with: other) == "peer has no common channels. Our channels: 402000 ; Peer channels: 30")
        #expect(info.incompatibility(with: info) == nil)
    }
}
