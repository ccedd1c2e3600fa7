import Capture
import Testing

@Suite("Capture: link layers and TCP reassembly")
struct CaptureReassemblyTests {
    let segment = TCPSegment(timestampNanos: 5, source: Endpoint(address: [192, 168, 1, 2], port: 40000),
                             destination: Endpoint(address: [192, 168, 1, 3], port: 26656),
                             sequence: 0xdead_beef, acknowledgment: 7, flags: [.ack, .psh], payload: [1, 2, 3, 4, 5])

    @Test("every supported link type yields the same segment")
    func linkTypes() throws {
        let ip = FrameBuilder.ip(segment)
        let frames: [(LinkType, [UInt8])] = [
            (.ethernet, FrameBuilder.ethernet(segment)),
            (.ethernet, [UInt8](repeating: 0, count: 12) + [0x81, 0x00, 0, 5, 0x08, 0x00] + ip),  // VLAN tag
            (.raw, ip), (.rawDLT, ip), (.ipv4, ip),
            (.null, [2, 0, 0, 0] + ip), (.loop, [0, 0, 0, 2] + ip),
            (.linuxSLL, [0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, 0x08, 0x00] + ip),
            (.linuxSLL2, [0x08, 0x00, 0, 0, 0, 0, 0, 1, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0] + ip),
        ]
        for (link, frame) in frames {
            let parsed = PacketParser.parse(frame: frame, linkType: link.rawValue, timestampNanos: 5)
            #expect(parsed == .success(segment), "link type \(link)")
        }
        // Ethernet padding after a short IP packet is not payload.
        let padded = FrameBuilder.ethernet(segment) + [0, 0, 0, 0]
        #expect(PacketParser.parse(frame: padded, linkType: 1, timestampNanos: 5) == .success(segment))
    }

    @Test("IPv6, with a hop-by-hop extension header")
    func ipv6() throws {
        var s6 = segment
        s6.source = Endpoint(address: [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1], port: 40000)
        s6.destination = Endpoint(address: [UInt8](repeating: 0, count: 15) + [1], port: 26656)
        #expect(PacketParser.parse(frame: FrameBuilder.ethernet(s6), linkType: 1, timestampNanos: 5) == .success(s6))
        let ip = FrameBuilder.ip(s6)
        var withHop = Array(ip[0..<40])
        withHop[6] = 0  // next header: hop-by-hop
        let payloadLength = Int(ip[4]) << 8 | Int(ip[5]) + 8
        withHop[4] = UInt8(payloadLength >> 8); withHop[5] = UInt8(payloadLength & 0xff)
        withHop += [6, 0, 1, 4, 0, 0, 0, 0] + ip[40...]
        #expect(PacketParser.parse(frame: withHop, linkType: LinkType.raw.rawValue, timestampNanos: 5) == .success(s6))
        #expect(s6.source.description == "[2001:db8:0:0:0:0:0:1]:40000")
        #expect(Endpoint(parsing: "[2001:db8::1]:40000") == s6.source)
    }

    @Test("every truncation of a frame is rejected or parsed, never a crash; non-TCP is skipped")
    func truncatedFrames() {
        let frame = FrameBuilder.ethernet(segment)
        for cut in 0..<frame.count {
            let result = PacketParser.parse(frame: Array(frame[0..<cut]), linkType: 1, timestampNanos: 0)
            if case .success(let s) = result { #expect(s.payload.count < segment.payload.count) }
        }
        var udp = FrameBuilder.ethernet(segment)
        udp[14 + 9] = 17
        #expect(PacketParser.parse(frame: udp, linkType: 1, timestampNanos: 0) == .failure(.notTCP))
        var fragment = FrameBuilder.ethernet(segment)
        fragment[14 + 6] = 0x20
        #expect(PacketParser.parse(frame: fragment, linkType: 1, timestampNanos: 0) == .failure(.fragment))
        #expect(PacketParser.parse(frame: frame, linkType: 147, timestampNanos: 0) == .failure(.unsupportedLinkType(147)))
    }

    @Test("in-order stream with SYN and FIN")
    func inOrder() {
        var script = SegmentScript()
        let data = pattern(1000)
        script.send(.clientToServer, data)
        script.fin(.clientToServer)
        let r = reassemble(script.segments, from: script.client)
        #expect(r.bytes == data)
        #expect(r.gaps.isEmpty && r.closed && !r.midStream)
    }

    @Test("reordered, duplicated and overlapping segments reassemble exactly")
    func reorderedDuplicated() {
        var script = SegmentScript(mss: 37)
        let data = pattern(2000, seed: 9)
        script.send(.clientToServer, data)
        script.fin(.clientToServer)
        var segments = script.segments
        let handshake = Array(segments.prefix(3))
        var body = Array(segments.dropFirst(3))
        // Deterministic shuffle: reverse blocks of 5, then duplicate every 7th segment at the end.
        body = stride(from: 0, to: body.count, by: 5).flatMap { Array(body[$0..<min(body.count, $0 + 5)].reversed()) }
        body += stride(from: 0, to: body.count, by: 7).map { body[$0] }
        // An overlapping retransmission covering two segments with the same bytes.
        var overlap = body[0]
        overlap.sequence = script.clientISN &+ 1 &+ 20
        overlap.payload = data[20..<90]
        body.append(overlap)
        segments = handshake + body
        let r = reassemble(segments, from: script.client)
        #expect(r.bytes == data)
        #expect(r.gaps.isEmpty && r.closed)
        #expect(r.counters.retransmittedSegments > 0)
        #expect(r.counters.conflictingOverlapBytes == 0)
    }

    @Test("overlap with different bytes: first copy wins, the difference is counted")
    func conflictingOverlap() {
        var script = SegmentScript(mss: 50)
        let data = pattern(200)
        script.send(.clientToServer, data)
        var segments = script.segments
        // Reorder so segment 2 is buffered, then a conflicting copy of it arrives before the hole fills.
        let second = segments[4]
        var forged = second
        forged.payload = forged.payload.map { $0 ^ 0xff }[...]
        segments.remove(at: 4)
        segments.insert(second, at: 3)
        segments.insert(forged, at: 4)
        let r = reassemble(segments, from: script.client)
        #expect(r.bytes == data)
        #expect(r.counters.conflictingOverlapBytes == 50)
    }

    @Test("sequence numbers wrap around 2^32")
    func wrap() {
        var script = SegmentScript(clientISN: UInt32.max - 150, mss: 64)
        let data = pattern(1000, seed: 3)
        script.send(.clientToServer, data)
        script.fin(.clientToServer)
        var segments = script.segments
        segments.swapAt(4, 5)
        let r = reassemble(segments, from: script.client)
        #expect(r.bytes == data && r.gaps.isEmpty && r.closed)
    }

    @Test("a missing segment becomes a gap with its byte count")
    func gap() {
        var script = SegmentScript(mss: 100)
        let data = pattern(1000)
        script.send(.clientToServer, data)
        script.fin(.clientToServer)
        var segments = script.segments
        segments.remove(at: 3 + 4)  // bytes 400..<500
        let r = reassemble(segments, from: script.client)
        #expect(r.gaps.count == 1)
        #expect(r.gaps.first?.0 == 400 && r.gaps.first?.1 == 100)
        #expect(r.bytes == Array(data[0..<400] + data[500...]))
        #expect(r.closed)
    }

    @Test("the buffer bound declares a gap without waiting for the end")
    func bufferBound() {
        var script = SegmentScript(mss: 100)
        script.send(.clientToServer, pattern(3000))
        var segments = script.segments
        segments.remove(at: 3)
        var events: [StreamEvent] = []
        var r = TCPStreamReassembler(maxBufferedBytes: 1000)
        for s in segments where s.source == script.client { events += r.add(s) }
        #expect(events.contains { if case .gap(0, 100, _) = $0 { return true } else { return false } })
        #expect(r.nextOffset == 3000)
    }

    @Test("mid-stream: anchored on the first segment and marked")
    func midStream() {
        var script = SegmentScript(handshake: false)
        let data = pattern(500)
        script.send(.clientToServer, data)
        let r = reassemble(Array(script.segments.dropFirst(2)), from: script.client)
        #expect(r.midStream)
        #expect(r.bytes == Array(data[200...]))
    }

    @Test("RST closes both directions; connections are keyed and roles come from the SYN")
    func resetAndTracker() {
        var script = SegmentScript()
        script.send(.clientToServer, pattern(300))
        script.send(.serverToClient, pattern(200, seed: 2))
        script.reset(.serverToClient)
        var tracker = ConnectionTracker()
        var events: [ConnectionEvent] = []
        for s in script.segments { events += tracker.add(s).events }
        #expect(tracker.connections.count == 1)
        #expect(tracker.connections[0].client == script.client && !tracker.connections[0].midStream)
        #expect(tracker.connections[0].isClosed)
        let closes = events.filter { if case .closed(true, _) = $0.event { return true } else { return false } }
        #expect(closes.count == 2)
        // A new SYN on the same 4-tuple after the reset is a new connection.
        var again = SegmentScript(clientISN: 77)
        again.send(.clientToServer, [1])
        for s in again.segments { _ = tracker.add(s) }
        #expect(tracker.connections.count == 2)
    }
}

@Suite("Capture: hostile input")
struct CaptureHostileInputTests {
    /// A small deterministic generator (no randomness source in tests).
    struct LCG {
        var state: UInt64
        mutating func next() -> UInt64 { state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return state >> 11 }
        mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
    }

    @Test("random segments and random frames never crash or hang the pipeline")
    func randomSegments() {
        var rng = LCG(state: 42)
        var session = CaptureSession(maxBufferedBytes: 4096)
        let endpoints = [Endpoint(address: [1, 1, 1, 1], port: 26656), Endpoint(address: [2, 2, 2, 2], port: 40000),
                         Endpoint(address: [3, 3, 3, 3], port: 26656)]
        for i in 0..<3000 {
            let a = endpoints[Int(rng.next() % 3)], b = endpoints[Int(rng.next() % 3)]
            var payload = (0..<Int(rng.next() % 200)).map { _ in rng.byte() }
            if i % 50 == 0 { payload = [0x22, 0x0a, 0x20] + payload }
            let flags = TCPFlags(rawValue: UInt8(rng.next() % 32))
            let seq: UInt32 = rng.next() % 4 == 0 ? UInt32(truncatingIfNeeded: rng.next()) : UInt32(i * 100)
            session.add(segment: TCPSegment(timestampNanos: UInt64(i), source: a, destination: b, sequence: seq, flags: flags, payload: payload))
            let frame = (0..<Int(rng.next() % 120)).map { _ in rng.byte() }
            for link in LinkType.allCases { session.add(frame: frame, linkType: link.rawValue, timestampNanos: UInt64(i)) }
        }
        let result = session.finish()
        #expect(result.summaries.count == session.progress.connections)
        #expect(session.progress.packets == 3000 * LinkType.allCases.count)
    }

    @Test("a valid plaintext handshake followed by garbage stops with a decode error, not a crash")
    func garbageAfterHandshake() {
        var rng = LCG(state: 7)
        for trial in 0..<50 {
            var script = SegmentScript(mss: 64)
            let garbage = (0..<(200 + trial * 13)).map { _ in rng.byte() }
            script.send(.clientToServer, plainStream(nodeID: String(repeating: "9", count: 40), messages: []) + garbage)
            script.send(.serverToClient, [0x22, 0x0a, 0x20] + garbage)
            var session = CaptureSession()
            for s in script.segments { session.add(segment: s) }
            let result = session.finish()
            // The server side opened like a SecretConnection, the client never did: nothing to decrypt.
            #expect(captureEvents(result.events).contains { $0.kind == .undecodable && $0.detail.contains("never sent") })
        }
    }
}
