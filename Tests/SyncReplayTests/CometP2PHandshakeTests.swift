import Testing
import Crypto
import CometP2P

/// The sans-IO SecretConnection handshake (§1.2), two endpoints wired back to back.
@Suite struct CometP2PHandshakeTests {
    static func nodeKey(_ b: UInt8) throws -> Curve25519.Signing.PrivateKey {
        try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: b, count: 32))
    }

    /// Runs both state machines, delivering bytes in pieces chosen by `gen`.
    static func run(_ a: inout SecretConnectionHandshake, _ b: inout SecretConnectionHandshake,
                    gen: inout P2PTestBytes, tamperBToA: ((inout [UInt8]) -> Void)? = nil) throws {
        var toB = a.initialBytes, toA = b.initialBytes
        var rounds = 0
        while (a.session == nil || b.session == nil) && (!toA.isEmpty || !toB.isEmpty) {
            rounds += 1
            try #require(rounds < 10_000)
            if !toB.isEmpty {
                let n = min(toB.count, 1 + gen.below(200))
                let piece = Array(toB[0..<n]); toB.removeFirst(n)
                toA += try b.receive(piece)
            }
            if !toA.isEmpty {
                let n = min(toA.count, 1 + gen.below(200))
                var piece = Array(toA[0..<n]); toA.removeFirst(n)
                tamperBToA?(&piece)
                toB += try a.receive(piece)
            }
        }
    }

    @Test func handshakeEstablishesMirroredSessions() throws {
        let ka = try Self.nodeKey(1), kb = try Self.nodeKey(2)
        var a = try SecretConnectionHandshake(nodeKey: ka, ephemeralPrivateKey: [UInt8](repeating: 0xa1, count: 32))
        var b = try SecretConnectionHandshake(nodeKey: kb, ephemeralPrivateKey: [UInt8](repeating: 0xb2, count: 32))
        #expect(a.initialBytes.count == 35)
        var gen = P2PTestBytes(seed: 5)
        try Self.run(&a, &b, gen: &gen)
        var sa = try #require(a.session), sb = try #require(b.session)
        #expect(a.stage == .established && b.stage == .established)
        #expect(sa.remoteNodeID == SecretConnection.nodeID(fromEd25519: Array(kb.publicKey.rawRepresentation)))
        #expect(sb.remoteNodeID == a.localNodeID)
        #expect(sa.keys.swapped == sb.keys)
        #expect(sa.keys.sendSecret == sb.keys.recvSecret)
        // Each side sent exactly one frame (the AuthSigMessage), so data continues at counter 1.
        #expect(sa.sealer.counter == 1 && sb.opener.counter == 1)
        let wire = try sa.sealer.seal(Array("hello".utf8))
        #expect(try sb.opener.open(wire) == Array("hello".utf8))
        let back = try sb.sealer.seal([1, 2, 3])
        #expect(try sa.opener.open(back) == [1, 2, 3])
    }

    /// The same inputs give the same bytes: the handshake is deterministic.
    @Test func handshakeIsDeterministic() throws {
        func transcript() throws -> [UInt8] {
            var a = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(3), ephemeralPrivateKey: [UInt8](repeating: 0x33, count: 32))
            var b = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(4), ephemeralPrivateKey: [UInt8](repeating: 0x44, count: 32))
            let toA = try a.receive(b.initialBytes)
            let toB = try b.receive(a.initialBytes)
            _ = try a.receive(toB); _ = try b.receive(toA)
            return toA + toB + (a.keys?.challenge ?? [])
        }
        #expect(try transcript() == transcript())
    }

    @Test func tamperedAuthSignatureFails() throws {
        var a = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(1), ephemeralPrivateKey: [UInt8](repeating: 0x10, count: 32))
        var b = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(2), ephemeralPrivateKey: [UInt8](repeating: 0x20, count: 32))
        var gen = P2PTestBytes(seed: 9)
        var seen = 0
        #expect(throws: SecretConnectionError.decryptFailed(frame: 0)) {
            try Self.run(&a, &b, gen: &gen) { piece in
                // Flip a bit inside the first sealed frame (after the 35 plaintext bytes).
                for i in piece.indices { if seen + (i - piece.startIndex) == 100 { piece[i] ^= 0x80 } }
                seen += piece.count
            }
        }
        #expect(a.stage == .failed)
        // Keys were learnt before authentication failed (for key logs).
        #expect(a.keys != nil)
        #expect(throws: SecretConnectionError.decryptFailed(frame: 0)) { try a.receive([0]) }
    }

    @Test func lowOrderEphemeralKeyFails() throws {
        var a = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(1), ephemeralPrivateKey: [UInt8](repeating: 0x10, count: 32))
        let evil = SecretConnection.ephemeralKeyMessage([UInt8](repeating: 0, count: 32))
        #expect(throws: SecretConnectionError.lowOrderPoint) { try a.receive(evil) }
    }

    @Test func oversizedEphemeralMessageFailsOnPrefix() throws {
        var a = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(1), ephemeralPrivateKey: [UInt8](repeating: 0x10, count: 32))
        // Length 1 MiB + 1, no payload yet.
        #expect(throws: SecretConnectionError.messageTooLarge(what: "ephemeral key message", length: 1_048_577, max: 1_048_576)) {
            try a.receive([0x81, 0x80, 0x40])
        }
    }

    /// A signature by a different key than the one in the message fails verification.
    @Test func signatureByAnotherKeyFails() throws {
        var a = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(1), ephemeralPrivateKey: [UInt8](repeating: 0x10, count: 32))
        let ephB: [UInt8] = [UInt8](repeating: 0x20, count: 32)
        let pubB = try SecretConnection.ephemeralPublicKey(privateKey: ephB)
        let toB = try a.receive(SecretConnection.ephemeralKeyMessage(pubB))
        #expect(toB.count == 1044)
        let keys = try #require(a.keys).swapped
        var forged = try AuthSigMessage(signing: keys.challenge, with: try Self.nodeKey(7))
        forged.publicKey = .ed25519(Array(try Self.nodeKey(8).publicKey.rawRepresentation))
        var sealer = try FrameSealer(key: keys.sendSecret)
        #expect(throws: SecretConnectionError.challengeVerificationFailed) {
            try a.receive(sealer.seal(forged.encodeDelimited()))
        }
    }
}

extension CometP2PHandshakeTests {
    /// Fresh random ephemeral keys also complete a handshake (the keys differ per run).
    @Test func randomEphemeralKeysWork() throws {
        let e1 = SecretConnection.randomEphemeralPrivateKey(), e2 = SecretConnection.randomEphemeralPrivateKey()
        #expect(e1.count == 32 && e1 != e2)
        var a = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(1), ephemeralPrivateKey: e1)
        var b = try SecretConnectionHandshake(nodeKey: try Self.nodeKey(2), ephemeralPrivateKey: e2)
        var gen = P2PTestBytes(seed: 1)
        try Self.run(&a, &b, gen: &gen)
        #expect(a.stage == .established && b.stage == .established)
    }
}
