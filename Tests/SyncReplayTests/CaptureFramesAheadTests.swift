import Capture
import CometP2P
import Foundation
import Testing

/// The reference for batched opening: every step's whole frames opened and decoded at that step,
/// on the caller's thread (how a capture decoded before batches).
private final class FramesOpenedEachStep: FrameBatchOpening {
    var framesPerBatch: Int { 1 }
    var batchesAhead: Int { 0 }
    func submit(_ job: FrameBatchJob) {}
    func waitUntilDone(_ job: FrameBatchJob) { job.run() }
}

/// Every batch opened by the thread that hands it over (as the capture thread does while the
/// worker is behind), decoded later when it is collected.
private final class FramesPreparedOnSubmit: FrameBatchOpening {
    var framesPerBatch: Int { 5 }
    var batchesAhead: Int { 2 }
    func submit(_ job: FrameBatchJob) { job.prepare() }
    func waitUntilDone(_ job: FrameBatchJob) { job.run() }
}

@Suite("Capture: SecretConnection frames opened in batches, ahead on a second core")
struct CaptureFramesAheadTests {
    /// Both directions interleaved in small segments, so batches hold frames of many steps and the
    /// two directions' batches are read out of step order.
    func segments(client: [UInt8], server: [UInt8], mss: Int, dropServerSegment: Int? = nil) -> [TCPSegment] {
        var s = SegmentScript(mss: mss)
        var offsets = [0, 0]
        let streams = [client, server]
        var turn = 0
        while offsets[0] < client.count || offsets[1] < server.count {
            let d = turn % 3 == 0 ? 0 : 1  // the server sends twice as often
            turn += 1
            guard offsets[d] < streams[d].count else { continue }
            let end = min(streams[d].count, offsets[d] + mss * (1 + turn % 4))
            s.send(d == 0 ? .clientToServer : .serverToClient, Array(streams[d][offsets[d]..<end]))
            offsets[d] = end
        }
        s.fin(.clientToServer)
        s.fin(.serverToClient)
        var result = s.segments
        if let drop = dropServerSegment {
            let server = result.indices.filter { result[$0].source.port == 26_656 && !result[$0].payload.isEmpty }
            result.remove(at: server[drop])
        }
        return result
    }

    func capture(_ segments: [TCPSegment], keys: KeyLog, opening: FrameBatchOpening) -> CaptureResult {
        var session = CaptureSession(keyLog: keys, frameOpening: opening)
        for s in segments { session.add(segment: s) }
        return session.finish()
    }

    /// The capture of `segments` with every opening; all equal to opening at each step.
    func agreeing(_ segments: [TCPSegment], keys: KeyLog) -> CaptureResult {
        let reference = capture(segments, keys: keys, opening: FramesOpenedEachStep())
        var openings: [FrameBatchOpening] = [FramesOpenedInPlace(), FramesPreparedOnSubmit()]
        let aheads = [FramesOpenedAhead(framesPerBatch: 1, batchesAhead: 1), FramesOpenedAhead(framesPerBatch: 3, batchesAhead: 2),
                      FramesOpenedAhead()]
        defer { aheads.forEach { $0.stop() } }
        openings += aheads as [FrameBatchOpening]
        for opening in openings {
            let result = capture(segments, keys: keys, opening: opening)
            #expect(result.events == reference.events, "events differ with \(type(of: opening)) of \(opening.framesPerBatch) frames")
            #expect(result.summaries == reference.summaries, "summaries differ with \(type(of: opening)) of \(opening.framesPerBatch) frames")
            #expect(result.node == reference.node)
        }
        return reference
    }

    func conversation(unknownChannelAt bad: Int? = nil) throws -> (SecretConversation, KeyLog, [[UInt8]]) {
        var messages: [(fromClient: Bool, channel: UInt8, bytes: [UInt8])] = []
        var blocks: [[UInt8]] = []
        for i in 0..<40 {
            let bytes = pattern(300 + (i * 977) % 6000, seed: UInt8(i))
            messages.append((i % 5 == 0, i == bad ? 0x77 : 0x40, bytes))
            if i != bad { blocks.append(bytes) }
        }
        let convo = try SecretConversation(messages: messages)
        return (convo, try KeyLog(text: convo.keyLogLine), blocks)
    }

    @Test("every message, in order, whatever the batch size and the thread that opened it")
    func clean() throws {
        let (convo, keys, blocks) = try conversation()
        for mss in [97, 700, 1460] {
            let result = agreeing(segments(client: convo.clientBytes, server: convo.serverBytes, mss: mss), keys: keys)
            #expect(Set(blocksyncEvents(result.events).map(\.message)) == Set(blocks))
            #expect(blocksyncEvents(result.events).count == blocks.count)
            #expect(captureEvents(result.events).allSatisfy { $0.kind == .end })
        }
    }

    @Test("a frame that does not open stops its direction at the step that completed it, later bytes undecoded")
    func decryptFailure() throws {
        let (convo, keys, _) = try conversation()
        var server = convo.serverBytes
        server[server.count / 2] ^= 0x01
        let result = agreeing(segments(client: convo.clientBytes, server: server, mss: 500), keys: keys)
        let stops = captureEvents(result.events).filter { $0.kind == .decodeError }
        #expect(stops.count == 1)
        #expect(stops.first?.detail.contains("authentication failed") == true)
        #expect((stops.first?.byteCount ?? 0) > 0)
        // The client's messages all decode.
        #expect(blocksyncEvents(result.events).filter { $0.direction == .inbound }.count == 8)
    }

    @Test("a chunk the MConnection decoder rejects stops the direction; a gap stops it after the frames before it")
    func innerFailureAndGap() throws {
        let (convo, keys, _) = try conversation(unknownChannelAt: 21)
        let rejected = agreeing(segments(client: convo.clientBytes, server: convo.serverBytes, mss: 300), keys: keys)
        #expect(captureEvents(rejected.events).contains { $0.kind == .decodeError && $0.detail.contains("channel") })
        #expect(!blocksyncEvents(rejected.events).isEmpty)
        let (clean, cleanKeys, _) = try conversation()
        let gapped = agreeing(segments(client: clean.clientBytes, server: clean.serverBytes, mss: 400, dropServerSegment: 30),
                              keys: cleanKeys)
        #expect(captureEvents(gapped.events).contains { $0.kind == .gap })
        #expect(!blocksyncEvents(gapped.events).isEmpty)
    }
}
