import Testing
import Crypto
import CometP2P

/// Decrypting a recorded connection from a key log (§1.2 "Decrypting a pcap").
@Suite struct CometP2PRecordedStreamTests {
    struct Recording {
        var aToB: [UInt8] = []
        var bToA: [UInt8] = []
        var keyLogOfA = ""
        var infoA: NodeInfo
        var infoB: NodeInfo
        var idA = "", idB = ""
    }

    static func record(messagesFromA: [[UInt8]], messagesFromB: [[UInt8]]) throws -> Recording {
        let ka = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x0a, count: 32))
        let kb = try Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 0x0b, count: 32))
        var a = try SecretConnectionHandshake(nodeKey: ka, ephemeralPrivateKey: [UInt8](repeating: 0xaa, count: 32))
        var b = try SecretConnectionHandshake(nodeKey: kb, ephemeralPrivateKey: [UInt8](repeating: 0xbb, count: 32))
        let infoA = NodeInfo(nodeID: a.localNodeID, listenAddr: "tcp://10.0.0.1:26656", network: "c",
                             version: "0.38.13", channels: [0x40], moniker: "a")
        let infoB = NodeInfo(nodeID: b.localNodeID, listenAddr: "tcp://10.0.0.2:26656", network: "c",
                             version: "0.34.24", channels: [0x40, 0x20], moniker: "b")
        var rec = Recording(infoA: infoA, infoB: infoB, idA: a.localNodeID, idB: b.localNodeID)
        rec.aToB = a.initialBytes
        rec.bToA = b.initialBytes
        let authA = try a.receive(rec.bToA)
        let authB = try b.receive(rec.aToB)
        rec.aToB += authA
        rec.bToA += authB
        _ = try a.receive(authB)
        _ = try b.receive(authA)
        var sa = try #require(a.session), sb = try #require(b.session)
        rec.keyLogOfA = sa.keys.keyLogLine
        let enc = MConnectionEncoder()
        rec.aToB += try sa.sealer.seal(infoA.encodeDelimited())
        rec.bToA += try sb.sealer.seal(infoB.encodeDelimited())
        // MConnection bytes are written in flushes that do not align with messages.
        var streamA: [UInt8] = [], streamB: [UInt8] = []
        for m in messagesFromA { streamA += enc.encode(channel: 0x40, message: m) }
        streamA += MConnectionEncoder.ping
        for m in messagesFromB { streamB += enc.encode(channel: 0x40, message: m) }
        var i = 0
        while i < streamA.count { let e = min(streamA.count, i + 3000); rec.aToB += try sa.sealer.seal(streamA[i..<e]); i = e }
        rec.bToA += try sb.sealer.seal(streamB)
        return rec
    }

    static func decodeAll(_ bytes: [UInt8], keys: SecretConnectionKeys, pieces: Int) throws -> [RecordedStreamDecoder.Event] {
        var d = try RecordedStreamDecoder(senderKeys: keys)
        var events: [RecordedStreamDecoder.Event] = []
        var i = 0
        while i < bytes.count {
            let e = min(bytes.count, i + pieces)
            d.feed(bytes[i..<e])
            while let ev = try d.next() { events.append(ev) }
            i = e
        }
        return events
    }

    @Test func bothDirectionsDecodeFromOneKeyLogLine() throws {
        var gen = P2PTestBytes(seed: 21)
        let fromA: [[UInt8]] = [[0x22, 0x00], [0x0a, 0x02, 0x08, 0x05]]
        let fromB: [[UInt8]] = [[0x2a, 0x04, 0x08, 0x64, 0x10, 0x01], [0x1a] + gen.bytes(5000)]
        let rec = try Self.record(messagesFromA: fromA, messagesFromB: fromB)
        let keys = try #require(SecretConnectionKeys(keyLogLine: rec.keyLogOfA))

        let aEvents = try Self.decodeAll(rec.aToB, keys: keys, pieces: 777)
        #expect(aEvents.count == 3 + fromA.count + 1)  // eph key, auth, NodeInfo, messages, ping
        #expect(aEvents[0] == .ephemeralKey(keys.localEphemeralPublicKey))
        guard case .authenticated(let idA, _) = aEvents[1] else { Issue.record("no auth"); return }
        #expect(idA == rec.idA)
        #expect(aEvents[2] == .nodeInfo(rec.infoA))
        #expect(Array(aEvents[3...]) == fromA.map { .mconnection(.message(channel: 0x40, bytes: $0)) } + [.mconnection(.ping)])

        let bEvents = try Self.decodeAll(rec.bToA, keys: keys.swapped, pieces: 1)
        guard case .authenticated(let idB, _) = bEvents[1] else { Issue.record("no auth"); return }
        #expect(idB == rec.idB)
        #expect(bEvents[2] == .nodeInfo(rec.infoB))
        #expect(Array(bEvents[3...]) == fromB.map { .mconnection(.message(channel: 0x40, bytes: $0)) })
    }

    @Test func wrongKeyLogIsDetected() throws {
        let rec = try Self.record(messagesFromA: [[0x22, 0x00]], messagesFromB: [])
        let keys = try #require(SecretConnectionKeys(keyLogLine: rec.keyLogOfA))
        // Using A's keys on B's direction: the ephemeral key does not match.
        var d = try RecordedStreamDecoder(senderKeys: keys)
        d.feed(rec.bToA)
        #expect(throws: RecordedStreamDecoder.KeyMismatch.self) { try d.next() }
    }
}
