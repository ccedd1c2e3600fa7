import Capture
import CometP2P
import CometWire
import Foundation
import PcapSource
import SyncTrace
import Testing

@Suite("Capture: stream decoding, pcap files, live loopback")
struct CaptureDecodingTests {
    let statusRequest = BlocksyncMessage.statusRequest.encode()
    let statusResponse = BlocksyncMessage.statusResponse(height: 100, base: 1).encode()
    let request = BlocksyncMessage.blockRequest(height: 5).encode()
    /// Large enough to span several PacketMsgs and SecretConnection frames.
    let big = pattern(5000, seed: 4)

    func script(client: [UInt8], server: [UInt8], mss: Int = 300) -> SegmentScript {
        var s = SegmentScript(mss: mss)
        s.send(.clientToServer, client)
        s.send(.serverToClient, server)
        s.fin(.clientToServer)
        s.fin(.serverToClient)
        return s
    }

    func run(_ segments: [TCPSegment], keyLog: KeyLog = KeyLog(), node: NodeSelector? = nil) -> CaptureResult {
        var session = CaptureSession(keyLog: keyLog, node: node)
        for s in segments { session.add(segment: s) }
        return session.finish()
    }

    @Test("plaintext: NodeInfo then packets; only channel 0x40 kept; directions relative to the node")
    func plaintext() throws {
        let clientID = String(repeating: "a", count: 40), serverID = String(repeating: "b", count: 40)
        let client = plainStream(nodeID: clientID, messages: [(0x40, statusRequest), (0x20, [9, 9]), (0x40, request)])
        let server = plainStream(nodeID: serverID, messages: [(0x40, statusResponse), (0x40, big)])
        let s = script(client: client, server: server)
        // The listening side is the node: one connection, tie goes to the listener.
        let result = run(s.segments)
        #expect(result.node == serverID)
        let records = blocksyncEvents(result.events)
        #expect(records.map(\.message) == [statusRequest, request, statusResponse, big])
        #expect(records.map(\.direction) == [.inbound, .inbound, .outbound, .outbound])
        #expect(Set(records.map(\.peerID)) == [clientID])
        #expect(result.summaries.first?.status == "decoded")
        // --node picks the other side: directions flip.
        let flipped = run(s.segments, node: .nodeID(clientID))
        #expect(blocksyncEvents(flipped.events).map(\.direction) == [.outbound, .outbound, .inbound, .inbound])
        let p2p = flipped.events.compactMap { if case .p2p(let p) = $0.event { return p } else { return nil } }
        #expect(p2p.map(\.kind) == [.connected, .disconnected])
        #expect(p2p.first?.outbound == true && p2p.first?.peerID == serverID)
    }

    @Test("plaintext without NodeInfo: packets directly, the peer named by address")
    func packetsOnly() {
        let s = script(client: plainStream(nodeID: "", messages: [(0x40, statusRequest)], withNodeInfo: false),
                       server: plainStream(nodeID: "", messages: [(0x40, statusResponse)], withNodeInfo: false))
        let result = run(s.segments, node: .endpoint(s.server))
        let records = blocksyncEvents(result.events)
        #expect(records.map(\.message) == [statusRequest, statusResponse])
        #expect(records.first?.peerID == s.client.description)
    }

    @Test("reordered segments decode; a missing one stops that direction with a gap event")
    func gapStopsDecoding() {
        let client = plainStream(nodeID: String(repeating: "c", count: 40), messages: [(0x40, big), (0x40, statusRequest)])
        let server = plainStream(nodeID: String(repeating: "d", count: 40), messages: [(0x40, statusResponse)])
        var segments = script(client: client, server: server, mss: 200).segments
        segments.swapAt(5, 7)
        #expect(blocksyncEvents(run(segments).events).count == 3)
        segments.remove(at: 6)
        let result = run(segments)
        let gaps = captureEvents(result.events).filter { $0.kind == .gap }
        #expect(gaps.count == 1)
        #expect(gaps.first?.byteCount == 200)
        #expect(gaps.first?.direction == .inbound)
        // The server's message still decodes; nothing after the gap is guessed.
        #expect(blocksyncEvents(result.events).map(\.message) == [statusResponse])
    }

    @Test("mid-stream connections are undecodable; connections without the node are counted as dropped")
    func midStreamAndOtherPeers() {
        let node = String(repeating: "1", count: 40)
        var a = SegmentScript()
        a.send(.clientToServer, plainStream(nodeID: String(repeating: "2", count: 40), messages: [(0x40, statusRequest)]))
        a.send(.serverToClient, plainStream(nodeID: node, messages: [(0x40, statusResponse)]))
        // A second connection between two other endpoints, and a third seen without its SYN.
        var b = SegmentScript(clientISN: 5)
        let other = b.segments.map { seg -> TCPSegment in
            var s = seg
            s.source.port &+= 1; s.destination.port &+= 1
            s.source.address[3] &+= 10; s.destination.address[3] &+= 10
            return s
        }
        b = SegmentScript(clientISN: 5)
        b.send(.clientToServer, plainStream(nodeID: String(repeating: "3", count: 40), messages: [(0x40, request)]))
        b.send(.serverToClient, plainStream(nodeID: String(repeating: "4", count: 40), messages: [(0x40, request)]))
        let otherData = b.segments.dropFirst(3).map { seg -> TCPSegment in
            var s = seg
            s.source.port &+= 1; s.destination.port &+= 1
            s.source.address[3] &+= 10; s.destination.address[3] &+= 10
            return s
        }
        var c = SegmentScript(clientISN: 9, handshake: false)
        c.send(.clientToServer, pattern(300))
        let mid = c.segments.map { seg -> TCPSegment in
            var s = seg
            s.source.port &+= 2
            s.destination.port &+= 2
            return s
        }
        let result = run(a.segments + other + Array(otherData) + mid, node: .nodeID(node))
        #expect(blocksyncEvents(result.events).map(\.message) == [statusRequest, statusResponse])
        let problems = captureEvents(result.events)
        #expect(problems.contains { $0.kind == .dropped && $0.detail.hasPrefix("2 blocksync messages") })
        #expect(problems.contains { $0.kind == .undecodable && $0.byteCount == 300 && $0.detail.contains("already open") })
        #expect(result.summaries.count == 3)
        #expect(result.summaries[2].status.contains("mid-stream"))
    }

    @Test("SecretConnection: decrypted with the key log, peer id from AuthSigMessage")
    func secret() throws {
        let convo = try SecretConversation(messages: [(true, 0x40, statusRequest), (false, 0x40, statusResponse),
                                                      (true, 0x40, request), (false, 0x40, big), (false, 0x20, [1])])
        let s = script(client: convo.clientBytes, server: convo.serverBytes, mss: 700)
        let keys = try KeyLog(text: "# test\n\(convo.keyLogLine)\n")
        let result = run(s.segments, keyLog: keys)
        #expect(result.node == convo.serverNodeID)
        let records = blocksyncEvents(result.events)
        #expect(records.map(\.message) == [statusRequest, request, statusResponse, big])
        #expect(records.allSatisfy { $0.peerID == convo.clientNodeID })
        #expect(result.summaries.first?.encrypted == true)
        #expect(result.nodeInfo?.network == "capture-test")
    }

    @Test("SecretConnection without a key: undecodable, said plainly, no messages")
    func secretWithoutKey() throws {
        let convo = try SecretConversation(messages: [(true, 0x40, statusRequest)])
        let s = script(client: convo.clientBytes, server: convo.serverBytes)
        let result = run(s.segments)
        let problems = captureEvents(result.events)
        #expect(problems.count == 2)
        #expect(problems.allSatisfy { $0.kind == .undecodable && $0.detail.contains("--keylog") })
        #expect(captureEnd(result.events)?.time == result.events.map(\.logTime).max())
        #expect(problems.map(\.byteCount).reduce(0, +) == UInt64(convo.clientBytes.count + convo.serverBytes.count - 70))
        #expect(blocksyncEvents(result.events).isEmpty)
        // A wrong key: the first frame fails authentication → decode_error.
        var wrong = convo.keyLogLine.split(separator: " ").map(String.init)
        wrong[3] = String(repeating: "11", count: 32)
        let bad = run(s.segments, keyLog: try KeyLog(text: wrong.joined(separator: " ")))
        #expect(captureEvents(bad.events).contains { $0.kind == .decodeError && $0.detail.contains("authentication") })
    }

    @Test("key-log and --node parsing errors are one line with the place")
    func inputErrors() {
        #expect(throws: CaptureError.badKeyLog(line: 2, reason: "expected 'SECRET_CONNECTION <eph pub hex> <eph pub hex> <dh hex>' with 32-byte values")) {
            try KeyLog(text: "\nSECRET_CONNECTION zz\n")
        }
        #expect(throws: CaptureError.badNodeSelector("nowhere")) { try NodeSelector(parsing: "nowhere") }
        #expect((try? NodeSelector(parsing: "127.0.0.1:26656")) == .endpoint(Endpoint(address: [127, 0, 0, 1], port: 26656)))
    }

    @Test("pcap and pcapng files through libpcap: µs and ns, reordered; broken files give a clear error")
    func pcapFiles() throws {
        let clientID = String(repeating: "e", count: 40)
        let s = script(client: plainStream(nodeID: clientID, messages: [(0x40, statusRequest), (0x40, big)]),
                       server: plainStream(nodeID: String(repeating: "f", count: 40), messages: [(0x40, statusResponse)]))
        var segments = s.segments
        segments.swapAt(4, 6)
        segments.insert(segments[5], at: 8)  // a retransmission
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("capture-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for nano in [false, true] {
            var w = PcapFileWriter(nanosecond: nano)
            for seg in segments { w.append(frame: FrameBuilder.ethernet(seg), timestampNanos: seg.timestampNanos + 123) }
            let path = dir.appendingPathComponent(nano ? "n.pcap" : "u.pcap").path
            try Data(w.bytes).write(to: URL(fileURLWithPath: path))
            let handle = try PcapHandle.openFile(path)
            var session = CaptureSession()
            var first: UInt64?
            while case .frame(let f) = try handle.next() {
                first = first ?? f.timestampNanos
                session.add(frame: f.data, linkType: handle.linkType, timestampNanos: f.timestampNanos, originalLength: f.originalLength)
            }
            #expect(first == segments[0].timestampNanos + (nano ? 123 : 0))
            let result = session.finish()
            #expect(blocksyncEvents(result.events).map(\.message) == [statusRequest, big, statusResponse])
            // Cut inside the last record: libpcap reports a truncated file; we fail with its message.
            let cut = dir.appendingPathComponent("cut.pcap").path
            try Data(w.bytes.dropLast(10)).write(to: URL(fileURLWithPath: cut))
            let truncated = try PcapHandle.openFile(cut)
            #expect(throws: PcapError.self) { while case .frame = try truncated.next() {} }
        }
        // pcapng, µs and ns resolution (if_tsresol).
        for nano in [false, true] {
            let path = dir.appendingPathComponent(nano ? "n.pcapng" : "u.pcapng").path
            let bytes = pcapng(frames: segments.map { (FrameBuilder.ethernet($0), $0.timestampNanos + 789) }, nanosecond: nano)
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let handle = try PcapHandle.openFile(path)
            var session = CaptureSession()
            var first: UInt64?
            while case .frame(let f) = try handle.next() {
                first = first ?? f.timestampNanos
                session.add(frame: f.data, linkType: handle.linkType, timestampNanos: f.timestampNanos)
            }
            #expect(first == segments[0].timestampNanos + (nano ? 789 : 0), "pcapng nano=\(nano)")
            #expect(blocksyncEvents(session.finish().events).map(\.message) == [statusRequest, big, statusResponse])
        }
        let garbage = dir.appendingPathComponent("garbage.pcap").path
        try Data(pattern(100)).write(to: URL(fileURLWithPath: garbage))
        #expect(throws: PcapError.self) { try PcapHandle.openFile(garbage) }
    }

    @Test("synccapture on a pcap with a missing segment: decodes what it can, records the gap, exit 0")
    func cliGap() throws {
        let client = plainStream(nodeID: String(repeating: "7", count: 40), messages: [(0x40, big)])
        let server = plainStream(nodeID: String(repeating: "8", count: 40), messages: [(0x40, statusResponse)])
        var segments = script(client: client, server: server, mss: 500).segments
        segments.remove(at: 5)
        var w = PcapFileWriter()
        for seg in segments { w.append(frame: FrameBuilder.ethernet(seg), timestampNanos: seg.timestampNanos) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let pcap = dir.appendingPathComponent("gap.pcap").path, out = dir.appendingPathComponent("gap.trace").path
        try Data(w.bytes).write(to: URL(fileURLWithPath: pcap))
        let r = try SyncCaptureProcess.run(["-r", pcap, "-o", out, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("gaps 1 (500 bytes)") && r.stderr.contains("gap: 500 bytes missing"), "\(r.stderr)")
        let entries = try TraceReader(path: out).readAll()
        #expect(entries.contains { if case .capture(let c) = $0.event { return c.kind == .gap && c.byteCount == 500 } else { return false } })
        #expect(entries.contains { if case .blocksync(let b) = $0.event { return b.message == statusResponse } else { return false } })
    }

    @Test("synccapture usage: --count stops early; a missing source, a bad --node or a bad filter exit 2")
    func cliOptions() throws {
        let pcap = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/capture/plain-sync.pcap").path
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let counted = try SyncCaptureProcess.run(["-r", pcap, "--count", "8", "-o", out, "--quiet"])
        #expect(counted.status == 0, "\(counted.stderr)")
        let blocksync = try TraceReader(path: out).readAll().filter { if case .blocksync = $0.event { return true } else { return false } }
        #expect(blocksync.count > 0 && blocksync.count < 24)
        #expect(try SyncCaptureProcess.run(["-o", out]).status == 2)
        #expect(try SyncCaptureProcess.run(["-r", pcap, "--node", "nowhere", "-o", out]).status == 2)
        let filter = try SyncCaptureProcess.run(["-r", pcap, "--filter", "tcp port banana", "-o", out])
        #expect(filter.status == 2 && filter.stderr.contains("bad capture filter"))
    }

    @Test("committed broken pcaps under Tests/ fail with one line, exit 2")
    func brokenFixtures() throws {
        let dir = SyncReplayProcess.packageDirectory.appendingPathComponent("Tests/CaptureFixtures")
        for name in ["truncated-record.pcap", "bad-magic.pcap"] {
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).trace").path
            let r = try SyncCaptureProcess.run(["-r", dir.appendingPathComponent(name).path, "-o", out, "--quiet"])
            #expect(r.status == 2, "\(name): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(name): \(r.stderr)")
        }
    }
}

/// Real traffic: the wire player talks over 127.0.0.1 while libpcap captures `lo`.
@Suite("Capture: live loopback", .serialized)
struct CaptureLiveTests {
    static let conversation: [WireMessage] = [
        WireMessage(fromNode: false, bytes: BlocksyncMessage.statusRequest.encode()),
        WireMessage(fromNode: true, bytes: BlocksyncMessage.statusResponse(height: 7, base: 1).encode()),
        WireMessage(fromNode: false, bytes: BlocksyncMessage.blockRequest(height: 2).encode()),
        WireMessage(fromNode: true, bytes: pattern(70_000, seed: 8)),
        WireMessage(fromNode: false, bytes: BlocksyncMessage.blockRequest(height: 3).encode()),
        WireMessage(fromNode: true, bytes: BlocksyncMessage.noBlockResponse(height: 3).encode()),
    ]

    /// Opens `lo`, or says why the test cannot run here.
    static func openLoopback() -> PcapHandle? {
        do {
            return try PcapHandle.openInterface("lo", readTimeoutMilliseconds: 50)
        } catch {
            print("SKIPPED live capture: libpcap cannot open the loopback device: \(error)")
            return nil
        }
    }

    func captureWhilePlaying(encrypted: Bool) throws -> (CaptureResult, WirePlayer.Outcome)? {
        guard let handle = Self.openLoopback() else { return nil }
        // Reserve a port for the filter: the player listens on it.
        let probe = try TCPListener.listen(host: "127.0.0.1", port: 0)
        let port = probe.port
        probe.close()
        try handle.setFilter("tcp port \(port)")
        let player = WirePlayer(conversation: Self.conversation, encrypted: encrypted)
        let outcome = try player.play(port: port)
        var session: CaptureSession
        if encrypted {
            session = CaptureSession(keyLog: try KeyLog(text: outcome.keyLog.joined(separator: "\n")))
        } else {
            session = CaptureSession()
        }
        // Drain what the kernel buffered; stop after the link is idle.
        var idle = 0
        while idle < 4 {
            switch try handle.next() {
            case .frame(let f):
                idle = 0
                session.add(frame: f.data, linkType: handle.linkType, timestampNanos: f.timestampNanos, originalLength: f.originalLength)
            case .timeout: idle += 1
            case .end: idle = 4
            }
        }
        return (session.finish(), outcome)
    }

    func check(encrypted: Bool) throws {
        guard let (result, _) = try captureWhilePlaying(encrypted: encrypted) else { return }
        #expect(result.node == WirePlayer.nodeID(node: true))
        let records = blocksyncEvents(result.events)
        #expect(records.map(\.message) == Self.conversation.map(\.bytes))
        #expect(records.map(\.direction) == Self.conversation.map { $0.fromNode ? .outbound : .inbound })
        #expect(records.allSatisfy { $0.peerID == WirePlayer.nodeID(node: false) })
        #expect(captureEvents(result.events).isEmpty)
        #expect(result.summaries.count == 1 && result.summaries[0].encrypted == encrypted)
    }

    @Test("synccapture -i lo: SIGINT finishes the trace cleanly with every message played")
    func cliLiveInterrupt() throws {
        guard Self.openLoopback() != nil else { return }
        let probe = try TCPListener.listen(host: "127.0.0.1", port: 0)
        let port = probe.port
        probe.close()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("live-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("live.trace").path, errURL = dir.appendingPathComponent("stderr")
        #expect(FileManager.default.createFile(atPath: errURL.path, contents: nil))
        let err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = SyncCaptureProcess.executable
        process.arguments = ["-i", "lo", "--filter", "tcp port \(port)", "-o", out]
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // The first progress line (once a second) says the capture is running.
        var started = false
        for _ in 0..<200 where !started {
            started = String(decoding: (try? Data(contentsOf: errURL)) ?? Data(), as: UTF8.self).contains("packets")
            if !started { usleep(50_000) }
        }
        #expect(started)
        _ = try WirePlayer(conversation: Self.conversation, encrypted: false).play(port: port)
        usleep(300_000)
        process.interrupt()
        process.waitUntilExit()
        try err.close()
        #expect(process.terminationStatus == 0)
        let records = try TraceReader(path: out).readAll().compactMap { entry -> BlocksyncRecord? in
            if case .blocksync(let r) = entry.event { return r } else { return nil }
        }
        #expect(records.map(\.message) == Self.conversation.map(\.bytes))
    }

    @Test("plaintext conversation captured on lo holds exactly the messages sent, in order")
    func plaintext() throws { try check(encrypted: false) }

    @Test("SecretConnection conversation captured on lo decrypts with the player's key log")
    func encrypted() throws { try check(encrypted: true) }
}

@Suite("Capture: committed real captures")
struct CaptureCorpusTests {
    @Test("every Traces/capture pcap decodes without --node, has /blocksync events, and reproduces its committed trace byte for byte")
    func corpus() throws {
        let dir = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/capture")
        let pcaps = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".pcap") }.sorted()
        #expect(pcaps.count >= 3)
        for pcap in pcaps {
            let name = String(pcap.dropLast(5))
            let out = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString).trace").path
            defer { try? FileManager.default.removeItem(atPath: out) }
            // As Tools/capture/record-samples.sh made them: NAME.args names the node's start state
            // (relative to the package), else the sample syncs the fixture chain from genesis.
            let genesis = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34/genesis.json").path
            var start = ["--genesis", genesis]
            if let line = try? String(contentsOf: dir.appendingPathComponent(name + ".args"), encoding: .utf8) {
                start = line.split(whereSeparator: \.isWhitespace).map(String.init).map { arg in
                    arg.hasPrefix("Traces/") ? SyncReplayProcess.packageDirectory.appendingPathComponent(arg).path : arg
                }
            }
            var args = ["-r", dir.appendingPathComponent(pcap).path] + start + ["-o", out, "--quiet"]
            let keylog = dir.appendingPathComponent(name + ".keylog").path
            if FileManager.default.fileExists(atPath: keylog) { args += ["--keylog", keylog] }
            let r = try SyncCaptureProcess.run(args)
            #expect(r.status == 0, "\(pcap): \(r.stderr)")
            #expect(r.stderr.contains(": decoded"), "\(pcap): \(r.stderr)")
            let made = try Data(contentsOf: URL(fileURLWithPath: out))
            let committed = try Data(contentsOf: dir.appendingPathComponent(name + ".trace"))
            #expect(made == committed, "\(pcap): trace differs from the committed \(name).trace")
            let entries = try TraceReader(path: out).readAll()
            #expect(entries.contains { if case .blocksync = $0.event { return true } else { return false } }, "\(pcap)")
            // Nothing lost: the only /capture event is the end marker, last.
            #expect(entries.filter { if case .capture = $0.event { return true } else { return false } }.count == 1, "\(pcap)")
            if case .capture(let end)? = entries.last?.event { #expect(end.kind == .end, "\(pcap)") } else { Issue.record("\(pcap): no end marker") }
        }
    }
}
