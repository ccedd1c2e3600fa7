import CometWire
import Testing

/// Corrupt and truncated payloads give errors, never crashes (common rules: bad input).
@Suite struct CometWireRobustnessTests {
    static let payload: [UInt8] = {
        let b = ChainBuilder(.init(seed: [9], validatorPowers: [10, 20, 30], length: 3, txsPerBlock: 3))
        let chain = b.build()
        let block = chain.block(at: 2)!
        return BlocksyncMessage.blockResponse(block: block, extCommit: b.extendedCommit(chain.commit(for: 2)!)).encode()
    }()

    @Test func everyTruncationIsHandled() {
        var errors = 0
        for n in 0..<Self.payload.count {
            if (try? BlocksyncMessage.decode(Array(Self.payload.prefix(n)))) == nil { errors += 1 }
        }
        // Most prefixes cut a length-delimited field and must fail; none may crash.
        #expect(errors > Self.payload.count / 2)
        #expect((try? BlocksyncMessage.decode(Self.payload)) != nil)
    }

    @Test func everyByteFlipIsHandled() {
        for i in 0..<Self.payload.count {
            for mask: UInt8 in [0x01, 0xff] {
                var bytes = Self.payload
                bytes[i] ^= mask
                if let msg = try? BlocksyncMessage.decode(bytes), case .blockResponse(let block, let ext) = msg {
                    // Whatever decoded can be hashed, validated and re-encoded.
                    _ = block.blockID()
                    _ = try? block.validateFromProto()
                    _ = try? ext?.validateFromProto()
                    _ = msg.encode()
                }
            }
        }
    }

    @Test func summaryNamesKindHeightAndSizes() throws {
        let s = try BlocksyncSummary.of(Self.payload).get()
        #expect(s.kind == "block_response")
        #expect(s.height == 2)
        #expect(s.txCount == 3)
        #expect(s.lastCommitSignatures == 3)
        #expect(s.extCommitSignatures == 3)
        #expect(s.description.hasPrefix("block_response height=2 bytes=\(Self.payload.count) block="))
        #expect(try BlocksyncSummary.of([0x2a, 0x04, 0x08, 0x64, 0x10, 0x01]).get().description == "status_response height=100 base=1 bytes=6")
        guard case .failure(let e) = BlocksyncSummary.of([0x1a, 0x05]) else { Issue.record("decoded garbage"); return }
        #expect(e.description.contains("byte"))
    }
}

/// cometbft v0.38.24 `FilterMsgBytes` stub counts (specs §3.3).
@Suite struct CometWireSignatureCountTests {
    @Test func countsLikeTheStubProto() throws {
        let counts = try #require(try BlockResponseSignatureCount.read(CometWireRobustnessTests.payload))
        #expect(counts == BlockResponseSignatureCount(lastCommit: 3, extendedCommit: 3))
        try counts.validateMaxVotes()
        // Not a BlockResponse.
        #expect(try BlockResponseSignatureCount.read([0x22, 0x00]) == nil)
        // A duplicated block_response field adds up (the stub merges).
        let doubled = CometWireRobustnessTests.payload + CometWireRobustnessTests.payload
        #expect(try BlockResponseSignatureCount.read(doubled) == BlockResponseSignatureCount(lastCommit: 6, extendedCommit: 6))
        // Wrong wire type for block_response is malformed.
        #expect(throws: WireError.self) { try BlockResponseSignatureCount.read([0x18, 0x01]) }
        #expect(throws: WireError.invalidMessage("too many commit signatures: 10001 (max 10000)")) {
            try BlockResponseSignatureCount(lastCommit: 10_001, extendedCommit: 0).validateMaxVotes()
        }
    }
}
