import Testing
import Foundation
import SyncTrace
import CometWire

/// `cat` and `doctor` decode `/blocksync` payloads with the CometWire codecs.
@Suite struct BlocksyncPayloadCLITests {
    func writeTrace(payloads: [[UInt8]]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("payload-\(UUID().uuidString).trace").path
        let writer = try TraceWriter(path: path)
        for (i, p) in payloads.enumerated() {
            _ = try writer.append(.blocksync(BlocksyncRecord(peerID: "p1", direction: .inbound, message: p)), logTime: UInt64(i) * 1000)
        }
        try writer.finish()
        return path
    }

    @Test func catShowsKindAndHeight() throws {
        let path = try writeTrace(payloads: [BlocksyncMessage.statusResponse(height: 100, base: 1).encode(),
                                             BlocksyncMessage.blockRequest(height: 5).encode()])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try SyncReplayProcess.run(["cat", path, "--json"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].contains(#""kind":"status_response""#) && lines[0].contains(#""height":100"#) && lines[0].contains(#""base":1"#))
        #expect(lines[1].contains(#""kind":"block_request""#) && lines[1].contains(#""height":5"#))
    }

    @Test func doctorFlagsUndecodablePayload() throws {
        // Field 1 (block_request) claiming 16 bytes that are not there.
        let path = try writeTrace(payloads: [BlocksyncMessage.statusRequest.encode(), [0x0a, 0x10, 0x08]])
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try SyncReplayProcess.run(["doctor", path])
        #expect(r.status == 1)
        #expect((r.stdout + r.stderr).contains("blocksync payload does not decode"))
    }
}
