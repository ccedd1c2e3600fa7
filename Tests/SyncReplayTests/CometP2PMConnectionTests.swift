import HexCoding
import Testing
import CometP2P

/// MConnection framing, specs/cometbft-blocksync.md §1.3–§1.4.
@Suite struct CometP2PMConnectionTests {
    let encoder = MConnectionEncoder()

    @Test func pingAndPongBytes() throws {
        #expect(MConnectionEncoder.ping == [0x02, 0x0a, 0x00])
        #expect(MConnectionEncoder.pong == [0x02, 0x12, 0x00])
        var d = MConnectionDecoder()
        #expect(try d.decode([0x02, 0x0a, 0x00, 0x02, 0x12, 0x00]) == [.ping, .pong])
    }

    /// §1.3 example: `BlockRequest{height=5}` on 0x40.
    @Test func blockRequestExampleBytes() throws {
        let blockRequest: [UInt8] = [0x0a, 0x02, 0x08, 0x05]
        let wire = encoder.encode(channel: 0x40, message: blockRequest)
        #expect(P2PHex.encode(wire) == "0c1a0a084010011a040a020805")
        var d = MConnectionDecoder()
        var events: [MConnectionEvent] = []
        for byte in wire { events += try d.decode([byte]) }  // one byte at a time
        #expect(events == [.message(channel: 0x40, bytes: blockRequest)])
        #expect(d.consumedByteCount == wire.count)
        #expect(d.bufferedByteCount == 0)
    }

    @Test func maxPacketSizeIs1034() {
        #expect(MConnectionEncoder.maxPacketSize(forPayloadSize: 1024) == 1034)
        #expect(MConnectionDecoder().maxPacketSize == 1034)
        #expect(ChannelDescriptor.blocksync.recvMessageCapacity == 104_857_605)
        #expect(ChannelDescriptor.blocksync.recvBufferCapacity == 204_800)
        #expect(ChannelDescriptor(id: 0x20).recvMessageCapacity == 22_020_096)
    }

    /// `nextPacketMsg`: ≤1024 remaining → one packet with eof; else 1024 bytes without eof.
    @Test func splitsIntoFullPayloadsWithEofOnLast() {
        var gen = P2PTestBytes(seed: 7)
        let message = gen.bytes(2500)
        let packets = encoder.packets(channel: 0x40, message: message)
        #expect(packets.map(\.data.count) == [1024, 1024, 452])
        #expect(packets.map(\.eof) == [false, false, true])
        #expect(packets.flatMap(\.data) == message)
        // A full packet of channel 0x40 is exactly the maximum size.
        let first = MConnectionPacket.msg(packets[0]).encode()
        #expect(first.count == 1032)  // eof omitted when false
        let exact = encoder.packets(channel: 0x40, message: Array(message[0..<1024]))
        #expect(exact.count == 1 && exact[0].eof)
        #expect(MConnectionPacket.msg(exact[0]).encode().count == 1034)
    }

    @Test func emptyMessageIsOneEofPacket() throws {
        let wire = encoder.encode(channel: 0x40, message: [])
        #expect(P2PHex.encode(wire) == "061a0408401001")
        var d = MConnectionDecoder()
        #expect(try d.decode(wire) == [.message(channel: 0x40, bytes: [])])
    }

    /// Interleaved channels reassemble independently; arbitrary feed boundaries.
    @Test func interleavedChannelsInRandomPieces() throws {
        var gen = P2PTestBytes(seed: 99)
        let a = gen.bytes(3000), b = gen.bytes(1500)
        let pa = encoder.packets(channel: 0x40, message: a)
        let pb = encoder.packets(channel: 0x20, message: b)
        var wire: [UInt8] = []
        for i in 0..<max(pa.count, pb.count) {
            if i < pa.count { wire += MConnectionPacket.msg(pa[i]).encodeDelimited() }
            if i < pb.count { wire += MConnectionPacket.msg(pb[i]).encodeDelimited() }
            if i == 0 { wire += MConnectionEncoder.ping }
        }
        var d = MConnectionDecoder(channels: .fullNode)
        var events: [MConnectionEvent] = []
        var i = 0
        while i < wire.count {
            let n = 1 + gen.below(700)
            let end = min(wire.count, i + n)
            events += try d.decode(wire[i..<end])
            i = end
        }
        #expect(events == [.ping, .message(channel: 0x20, bytes: b), .message(channel: 0x40, bytes: a)])
    }

    /// Messages of a steady size are handed over in their reassembly buffer, others copied out:
    /// sizes that repeat, grow, shrink and jump come out whole, in order, and none keeps more
    /// than an eighth of its size (or a malloc granule) spare.
    @Test func reassembledMessagesKeepLittleSpareCapacity() throws {
        var gen = P2PTestBytes(seed: 47)
        let sizes = [20_000, 20_000, 20_000, 3_000, 20_000, 25_000, 25_000, 1_025, 2_048, 40_000, 39_000, 40_000, 500]
        let messages = sizes.map { gen.bytes($0) }
        var wire: [UInt8] = []
        for m in messages { wire += encoder.encode(channel: 0x40, message: m) }
        var d = MConnectionDecoder(channels: .fullNode)
        var events: [MConnectionEvent] = []
        var i = 0
        while i < wire.count {
            let end = min(wire.count, i + 1460)
            events += try d.decode(wire[i..<end])
            i = end
        }
        #expect(events == messages.map { .message(channel: 0x40, bytes: $0) })
        for case let .message(_, bytes) in events {
            #expect(bytes.capacity - bytes.count <= max(bytes.count / 8, 32), "\(bytes.count) bytes kept in \(bytes.capacity)")
        }
    }

    /// The reassembly buffer is reused from message to message: a large message, then smaller
    /// multi-packet ones on two interleaved channels, fed in TCP-segment-sized pieces, come out
    /// whole and exact; a copy of the decoder taken mid-message finishes independently.
    @Test func reusedReassemblyBufferAndCopiesKeepMessagesExact() throws {
        var gen = P2PTestBytes(seed: 31)
        let big = gen.bytes(20_000), small = gen.bytes(1500), other = gen.bytes(2100), last = gen.bytes(1025)
        var wire = encoder.encode(channel: 0x40, message: big)
        let ps = encoder.packets(channel: 0x40, message: small), po = encoder.packets(channel: 0x20, message: other)
        for i in 0..<max(ps.count, po.count) {
            if i < po.count { wire += MConnectionPacket.msg(po[i]).encodeDelimited() }
            if i < ps.count { wire += MConnectionPacket.msg(ps[i]).encodeDelimited() }
        }
        let half = wire.count
        wire += encoder.encode(channel: 0x40, message: last)
        var d = MConnectionDecoder(channels: .fullNode)
        var events: [MConnectionEvent] = []
        var i = 0
        while i < half - 600 {
            let end = min(half - 600, i + 1448)
            events += try d.decode(wire[i..<end])
            i = end
        }
        #expect(events == [.message(channel: 0x40, bytes: big)])
        #expect(d.partialMessageByteCount(channel: 0x20) == 1024 && d.partialMessageByteCount(channel: 0x40) == 1024)
        var copy = d
        let rest = try d.decode(wire[i...])
        #expect(rest == [.message(channel: 0x40, bytes: small), .message(channel: 0x20, bytes: other), .message(channel: 0x40, bytes: last)])
        for case let .message(_, bytes) in rest { #expect(bytes.capacity < 2 * bytes.count) }  // exact-size copies
        #expect(try copy.decode(wire[i..<half]) == [.message(channel: 0x40, bytes: small), .message(channel: 0x20, bytes: other)])
        #expect(d.partialMessageByteCount(channel: 0x40) == 0 && copy.partialMessageByteCount(channel: 0x20) == 0)
    }

    /// The delimited reader refuses a prefix above 1034 as soon as the prefix is read.
    @Test func oversizedPacketRejectedBeforeItsPayload() throws {
        var d = MConnectionDecoder()
        d.feed([0x02, 0x0a, 0x00, 0x8b, 0x08])  // ping, then length 1035
        #expect(try d.next() == .ping)
        let expected = MConnectionError.packetTooLarge(offset: 3, length: 1035, max: 1034)
        #expect(throws: expected) { try d.next() }
        #expect(expected.nodeError == "message exceeds max size (1035 > 1034)")
        // The connection stays failed.
        d.feed(MConnectionEncoder.ping)
        #expect(throws: expected) { try d.next() }
    }

    @Test func unknownChannelClosesConnection() {
        var d = MConnectionDecoder()
        let wire = encoder.encode(channel: 0x41, message: [1, 2, 3])
        #expect(throws: MConnectionError.unknownChannel(offset: 0, channelID: 0x41)) { try d.decode(wire) }
        #expect(MConnectionError.unknownChannel(offset: 0, channelID: 0x41).nodeError == "unknown channel 41")
        // channel_id outside a byte: int32 300 → still unknown.
        var d2 = MConnectionDecoder(channels: .fullNode)
        let big = MConnectionPacket.msg(PacketMsg(channelID: 300, eof: true, data: [])).encodeDelimited()
        #expect(throws: MConnectionError.unknownChannel(offset: 0, channelID: 300)) { try d2.decode(big) }
        #expect(MConnectionError.unknownChannel(offset: 0, channelID: -1).nodeError == "unknown channel -1")
    }

    @Test func receiveCapacityEnforcedPerChannel() throws {
        let table = ChannelTable([ChannelDescriptor(id: 0x40, recvMessageCapacity: 2000)])
        var d = MConnectionDecoder(channels: table)
        // Exactly the capacity is accepted.
        var gen = P2PTestBytes(seed: 3)
        let ok = gen.bytes(2000)
        let okWire = encoder.encode(channel: 0x40, message: ok)
        #expect(try d.decode(okWire) == [.message(channel: 0x40, bytes: ok)])
        // One byte more fails on the packet that crosses the capacity (the second: 1024 + 977).
        let wire = encoder.encode(channel: 0x40, message: gen.bytes(2001))
        let expected = MConnectionError.messageExceedsCapacity(
            offset: okWire.count + 1034, channelID: 0x40, capacity: 2000, received: 2001)
        #expect(throws: expected) { try d.decode(wire) }
        #expect(expected.nodeError == "received message exceeds available capacity: 2000 < 2001")
    }

    @Test func emptyPacketIsUnknownMessageType() {
        var d = MConnectionDecoder()
        #expect(throws: MConnectionError.unknownPacketType(offset: 0)) { try d.decode([0x00]) }
        #expect(MConnectionError.unknownPacketType(offset: 0).nodeError == "unknown message type p2p.Packet")
    }

    @Test func malformedPacketIsAnError() {
        var d = MConnectionDecoder()
        // Packet of 3 bytes: field 3, length 0x7f (past the end).
        do {
            _ = try d.decode([0x03, 0x1a, 0x7f, 0x00])
            Issue.record("expected an error")
        } catch let e as MConnectionError {
            guard case .malformedPacket(0, _) = e else { Issue.record("unexpected \(e)"); return }
        } catch { Issue.record("unexpected \(error)") }
    }

    /// Decoding accepts unknown fields and any order, like gogoproto.
    @Test func packetMsgFieldsInAnyOrderWithUnknownFields() throws {
        // PacketMsg{data=3:[aa], unknown 9:varint 1, eof=2:1, channel_id=1:0x40}
        let msg: [UInt8] = [0x1a, 0x01, 0xaa, 0x48, 0x01, 0x10, 0x01, 0x08, 0x40]
        let packet: [UInt8] = [0x1a, UInt8(msg.count)] + msg
        var d = MConnectionDecoder()
        #expect(try d.decode([UInt8(packet.count)] + packet) == [.message(channel: 0x40, bytes: [0xaa])])
    }

    /// The decoder reads the shape nodes write (`1a L 08 ch 10 eof 1a N data`) without the general
    /// field walk; shapes beside it must still decode as gogoproto does (last value wins, any
    /// varint form, fields after the data, a later oneof member).
    @Test func packetShapesBesideTheCanonicalOneDecodeLikeGogoproto() throws {
        func stream(_ packet: [UInt8]) -> [UInt8] { [UInt8(packet.count)] + packet }
        func msgPacket(_ msg: [UInt8]) -> [UInt8] { [0x1a, UInt8(msg.count)] + msg }
        let cases: [(name: String, wire: [UInt8], expected: [MConnectionEvent])] = [
            ("canonical", stream(msgPacket([0x08, 0x40, 0x10, 0x01, 0x1a, 0x02, 0xaa, 0xbb])),
             [.message(channel: 0x40, bytes: [0xaa, 0xbb])]),
            ("data field twice: the last wins", stream(msgPacket([0x08, 0x40, 0x10, 0x01, 0x1a, 0x01, 0xaa, 0x1a, 0x01, 0xbb])),
             [.message(channel: 0x40, bytes: [0xbb])]),
            ("eof as 2", stream(msgPacket([0x08, 0x40, 0x10, 0x02, 0x1a, 0x01, 0xaa])),
             [.message(channel: 0x40, bytes: [0xaa])]),
            ("channel id as a two-byte varint", stream(msgPacket([0x08, 0xc0, 0x00, 0x10, 0x01, 0x1a, 0x01, 0xaa])),
             [.message(channel: 0x40, bytes: [0xaa])]),
            ("unknown field after the data", stream(msgPacket([0x08, 0x40, 0x10, 0x01, 0x1a, 0x01, 0xaa, 0x48, 0x01])),
             [.message(channel: 0x40, bytes: [0xaa])]),
            ("data length as a non-minimal varint", stream(msgPacket([0x08, 0x40, 0x10, 0x01, 0x1a, 0x81, 0x00, 0xaa])),
             [.message(channel: 0x40, bytes: [0xaa])]),
            ("no data field", stream(msgPacket([0x08, 0x40, 0x10, 0x01])),
             [.message(channel: 0x40, bytes: [])]),
            ("a ping after the message: the last oneof member wins", stream(msgPacket([0x08, 0x40, 0x10, 0x01, 0x1a, 0x01, 0xaa]) + [0x0a, 0x00]),
             [.ping]),
            ("eof false, then the rest", stream(msgPacket([0x08, 0x40, 0x1a, 0x01, 0xaa])) + stream(msgPacket([0x08, 0x40, 0x10, 0x01, 0x1a, 0x01, 0xbb])),
             [.message(channel: 0x40, bytes: [0xaa, 0xbb])]),
        ]
        for c in cases {
            var d = MConnectionDecoder()
            #expect(try d.decode(c.wire) == c.expected, "\(c.name)")
        }
    }
}

/// Hostile input never crashes or hangs: every random stream ends in events, a wait for more
/// bytes, or a typed error.
@Suite struct CometP2PMConnectionRobustnessTests {
    @Test func randomStreamsNeverCrash() {
        var gen = P2PTestBytes(seed: 1234)
        var errors = 0
        for _ in 0..<3000 {
            var d = MConnectionDecoder(channels: .fullNode)
            let bytes = gen.bytes(1 + gen.below(64))
            do { _ = try d.decode(bytes) } catch is MConnectionError { errors += 1 } catch {
                Issue.record("untyped error \(error)")
            }
        }
        #expect(errors > 0)
    }

    @Test func randomCiphertextIsRejectedByOpenerAndHandshake() throws {
        var gen = P2PTestBytes(seed: 77)
        var opener = try FrameOpener(key: gen.bytes(32))
        #expect(throws: SecretConnectionError.decryptFailed(frame: 0)) { try opener.open(gen.bytes(1044)) }
        let keys = SecretConnectionKeys(localEphemeralPublicKey: gen.bytes(32), remoteEphemeralPublicKey: gen.bytes(32),
                                        dhSecret: gen.bytes(32))
        var tap = try RecordedStreamDecoder(senderKeys: keys)
        tap.feed(SecretConnection.ephemeralKeyMessage(keys.localEphemeralPublicKey) + gen.bytes(3000))
        #expect(try tap.next() == .ephemeralKey(keys.localEphemeralPublicKey))
        #expect(throws: SecretConnectionError.decryptFailed(frame: 0)) { try tap.next() }
    }
}
