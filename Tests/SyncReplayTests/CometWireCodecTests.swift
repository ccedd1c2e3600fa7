import HexCoding
import CometWire
import ProtoWire
import Testing

private func hex(_ s: String) -> [UInt8] { Hex.decode(s.replacingOccurrences(of: " ", with: ""))! }

@Suite struct CometWireCodecTests {
    /// Byte examples of specs/cometbft-blocksync.md §1.5.
    @Test func blocksyncMessageBytes() throws {
        #expect(BlocksyncMessage.blockRequest(height: 5).encode() == hex("0a 02 08 05"))
        #expect(BlocksyncMessage.noBlockResponse(height: 5).encode() == hex("12 02 08 05"))
        #expect(BlocksyncMessage.statusRequest.encode() == hex("22 00"))
        #expect(BlocksyncMessage.statusResponse(height: 100, base: 1).encode() == hex("2a 04 08 64 10 01"))
        #expect(BlocksyncMessage.statusResponse(height: 0, base: 0).encode() == hex("2a 00"))
        #expect(try BlocksyncMessage.decode(hex("2a 04 08 64 10 01")) == .statusResponse(height: 100, base: 1))
        #expect(try BlocksyncMessage.decode(hex("22 00")) == .statusRequest)
        // Any field order and unknown fields (field 7 varint, field 9 bytes) are accepted.
        #expect(try BlocksyncMessage.decode(hex("38 01 2a 06 10 01 4a 00 08 64")) == .statusResponse(height: 100, base: 1))
    }

    @Test func validateMsgRules() throws {
        #expect(throws: WireError.invalidMessage("negative Height")) { try BlocksyncMessage.blockRequest(height: -1).validate() }
        #expect(throws: WireError.invalidMessage("base 5 cannot be greater than height 4")) {
            try BlocksyncMessage.statusResponse(height: 4, base: 5).validate()
        }
        #expect(throws: WireError.invalidMessage("negative Base")) {
            try BlocksyncMessage.statusResponse(height: 4, base: -1).validate()
        }
        try BlocksyncMessage.statusResponse(height: 4, base: 4).validate()
    }

    @Test func malformedInputGivesTypedErrors() {
        // Only an unknown field: no message set.
        #expect(throws: WireError.unknownMessage(offset: 0)) { try BlocksyncMessage.decode(hex("38 01")) }
        #expect(throws: WireError.unknownMessage(offset: 0)) { try BlocksyncMessage.decode([]) }
        // Length prefix past the end at byte 1.
        do {
            _ = try BlocksyncMessage.decode(hex("1a 7f 0a"))
            Issue.record("decoded a truncated message")
        } catch {
            guard case .malformed(let p, _) = error else { Issue.record("wrong error \(error)"); return }
            #expect(p.offset == 2)
            #expect(error.description.contains("byte 2"))
        }
        // BlockResponse without a block.
        #expect(throws: WireError.missingField(offset: 0, message: "tendermint.blocksync.BlockResponse", field: "block")) {
            try BlocksyncMessage.decode(hex("1a 00"))
        }
        // A huge declared length never allocates: it is rejected against the remaining bytes.
        #expect(throws: (any Error).self) { try BlocksyncMessage.decode(hex("1a ff ff ff ff 0f")) }
    }

    /// Go's zero time is emitted for absent signatures (§1.6).
    @Test func absentCommitSigUsesGoZeroTime() throws {
        #expect(CommitSig.absent.encoded() == hex("08 01 1a 0b 08 80 92 b8 c3 98 fe ff ff ff 01"))
        // An absent timestamp field decodes as Go's zero time; an empty one as the Unix epoch.
        #expect(try CommitSig(protobuf: hex("08 01")).timestamp == .goZero)
        #expect(try CommitSig(protobuf: hex("08 01 1a 00")).timestamp == Timestamp(seconds: 0, nanos: 0))
        // Outside 0001…9999 is rejected like gogo's StdTimeUnmarshal.
        #expect(throws: (any Error).self) { try CommitSig(protobuf: hex("1a 0b 08 ff 91 b8 c3 98 fe ff ff ff 01")) }
    }

    @Test func emptyNonNullableMessagesAreEmitted() {
        let block = Block(header: Header(), data: BlockData(), lastCommit: nil)
        let bytes = block.encoded()
        // header{version{} time{goZero} last_block_id{part_set_header{}}} data{} evidence{}
        #expect(bytes == hex("0a 13 0a 00 22 0b 08 80 92 b8 c3 98 fe ff ff ff 01 2a 02 12 00 12 00 1a 00"))
        #expect((try? Block(protobuf: bytes)) == block)
    }

    @Test func blockResponseRoundTripsWithExtendedCommit() throws {
        var header = Header()
        header.chainID = "c"
        header.height = 7
        header.version = ConsensusVersion(block: 11, app: 1)
        let commit = Commit(height: 6, round: 1, blockID: BlockID(hash: Array(repeating: 1, count: 32),
                                                                   partSetHeader: PartSetHeader(total: 1, hash: Array(repeating: 2, count: 32))),
                            signatures: [.absent, CommitSig(blockIDFlag: .commit, validatorAddress: Array(repeating: 3, count: 20),
                                                            timestamp: Timestamp(seconds: 5, nanos: 6), signature: Array(repeating: 4, count: 64))])
        let block = Block(header: header, data: BlockData(txs: [[], [1, 2]]),
                          evidence: EvidenceList(evidence: [Evidence(kind: .lightClientAttack, payload: [9])]), lastCommit: commit)
        let ext = ExtendedCommit(height: 7, round: 0, blockID: commit.blockID, extendedSignatures: [
            ExtendedCommitSig(blockIDFlag: .commit, validatorAddress: [1], timestamp: .goZero, signature: [2], extension: [3], extensionSignature: [4]),
        ])
        let msg = BlocksyncMessage.blockResponse(block: block, extCommit: ext)
        let bytes = msg.encode()
        #expect(try BlocksyncMessage.decode(bytes) == msg)
        #expect(try BlocksyncMessage.decode(bytes).encode() == bytes)
        #expect(msg.height == 7)
        #expect(msg.kind == "block_response")
    }

    /// Fields repeated on the wire merge like Go's generated Unmarshal.
    @Test func repeatedSubMessagesMerge() throws {
        // header{height=1} then header{chain_id="x"} in two separate field-1 occurrences.
        let bytes = hex("0a 02 18 01 0a 03 12 01 78 12 00 1a 00")
        let block = try Block(protobuf: bytes)
        #expect(block.header.height == 1)
        #expect(block.header.chainID == "x")
    }

    /// The ghost rules' outline, read without decoding a block, agrees with the decoded message
    /// for what nodes send, merged occurrences included; where a block does not decode it does
    /// not (so the replay compares the two once per message, GhostPeers.HeightBuckets).
    @Test func outlineAgreesWithDecodingWhereTheBlockDecodes() throws {
        let chain = ChainBuilder(.init(seed: Array("outline".utf8), validatorPowers: [10, 20], length: 3, txsPerBlock: 2)).build()
        var messages: [BlocksyncMessage] = [.blockRequest(height: 7), .noBlockResponse(height: 0), .statusRequest,
                                            .statusResponse(height: 9, base: 2), .statusResponse(height: 0, base: 0)]
        for h: Int64 in 1...3 { messages.append(.blockResponse(block: chain.block(at: h)!, extCommit: nil)) }
        for m in messages {
            #expect(BlocksyncMessage.outline(of: m.encode()) == m.outline)
        }
        #expect(BlocksyncMessage.outline(of: chain.block(at: 2).map { BlocksyncMessage.blockResponse(block: $0, extCommit: nil).encode() }!) == .blockResponse(2))
        // BlockResponse{block{header{height=1}}, block{header{chain_id="x"}}}: the two merge.
        let merged = hex("1a 0d 0a 04 0a 02 18 01 0a 05 0a 03 12 01 78")
        #expect(try BlocksyncMessage.decode(merged).outline == .blockResponse(1))
        #expect(BlocksyncMessage.outline(of: merged) == .blockResponse(1))
        // Oneofs: the last wins in both.
        #expect(BlocksyncMessage.outline(of: hex("0a 02 08 05 12 02 08 06")) == .noBlockResponse(6))
        // A header time of the wrong wire type: the block does not decode, the outline still reads.
        let broken = hex("1a 08 0a 06 0a 04 18 03 20 01")
        #expect(throws: (any Error).self) { try BlocksyncMessage.decode(broken) }
        #expect(BlocksyncMessage.outline(of: broken) == .blockResponse(3))
        #expect(BlocksyncMessage.outline(of: hex("1a 00")) == nil)   // no block: decoding fails too
        #expect(BlocksyncMessage.outline(of: hex("0a 05 08")) == nil)  // truncated
    }

    /// The verifier ahead's read of a block's LastCommit alone gives what decoding the whole
    /// message gives: merged block occurrences, the last oneof winning, nil without a commit.
    @Test func lastCommitReadAloneAgreesWithDecoding() throws {
        let chain = ChainBuilder(.init(seed: Array("last-commit".utf8), validatorPowers: [10, 20, 30], length: 4, txsPerBlock: 3)).build()
        func decoded(_ bytes: [UInt8]) -> Commit? {
            guard case .blockResponse(let block, _)? = try? BlocksyncMessage.decode(bytes) else { return nil }
            return block.lastCommit
        }
        var payloads: [[UInt8]] = []
        for h: Int64 in 1...4 { payloads.append(BlocksyncMessage.blockResponse(block: chain.block(at: h)!, extCommit: nil).encode()) }
        payloads.append(payloads[1] + payloads[3])                                   // two responses: the last wins
        payloads.append(payloads[2] + BlocksyncMessage.statusRequest.encode())        // another oneof member wins
        payloads.append(BlocksyncMessage.blockRequest(height: 3).encode())
        payloads.append(hex("1a 0d 0a 04 0a 02 18 01 0a 05 0a 03 12 01 78"))          // merged blocks, no commit
        var sawCommit = 0
        for p in payloads {
            let alone = BlocksyncMessage.lastCommit(inBlockResponse: p)
            #expect(alone == decoded(p))
            if let alone, !alone.signatures.isEmpty { sawCommit += 1 }
        }
        #expect(sawCommit == 4)  // heights 2, 3, 4 and the two-response payload
        // A block's commit split over two occurrences of the block field merges as decoding does.
        let commit = chain.block(at: 3)!.lastCommit!
        var first = Commit(), second = Commit()
        first.height = commit.height; first.round = commit.round
        second.blockID = commit.blockID; second.signatures = commit.signatures
        var response = ProtoWriter()
        for part in [first, second] {
            var block = ProtoWriter()
            block.bytes(4, part.encoded(), always: true)
            response.bytes(1, block.bytes)
        }
        var message = ProtoWriter()
        message.bytes(3, response.bytes)
        let merged = message.bytes
        #expect(decoded(merged) == commit)
        #expect(BlocksyncMessage.lastCommit(inBlockResponse: merged) == commit)
        #expect(BlocksyncMessage.lastCommit(inBlockResponse: Array(payloads[2].dropLast(5))) == nil)  // truncated
    }

    /// Sign bytes of commit@10 of the real v0.34 fixture (§4.6).
    @Test func canonicalVoteSignBytesMatchFixture() throws {
        let blockID = BlockID(hash: hex("6AA59493037B1673949755B88F86B840FB75285485D95FDBA5BE79D28588F2AC"),
                              partSetHeader: PartSetHeader(total: 1, hash: hex("0DCBB02A8DFB86E78859A24426ED1D9D2A2C9C3D5C6CD1851477B98705564DD8")))
        let time = try #require(RFC3339.parse("2022-09-22T18:57:27.764730915Z"))
        let vote = CanonicalVote(type: .precommit, height: 10, round: 0, blockID: blockID, timestamp: time, chainID: "dockerchain")
        let expected = hex("700802110a0000000000000022480a206aa59493037b1673949755b88f86b840fb75285485d95fdba5be79d28588f2ac"
            + "1224080112200dcbb02a8dfb86e78859a24426ed1d9d2a2c9c3d5c6cd1851477b98705564dd82a0c0897e0b2990610a3bcd3ec02320b646f636b6572636861696e")
        #expect(vote.signBytes == expected)
        #expect(vote.signBytes.count == 113)
    }

    @Test func rfc3339RoundTrip() throws {
        let t = try #require(RFC3339.parse("2022-09-22T18:57:22.193215438Z"))
        #expect(t.description == "2022-09-22T18:57:22.193215438Z")
        #expect(RFC3339.parse("0001-01-01T00:00:00Z") == .goZero)
        #expect(Timestamp.goZero.description == "0001-01-01T00:00:00Z")
        #expect(RFC3339.parse("2022-09-22T20:57:22.5+02:00") == RFC3339.parse("2022-09-22T18:57:22.500Z"))
        #expect(RFC3339.parse("2022-02-30T00:00:00Z") == nil)
        #expect(RFC3339.parse("garbage") == nil)
    }
}

/// cometbft `types/vote_test.go TestVoteSignBytesTestVectors` (§4.3): zero height/round
/// omitted, sfixed64 height and round, Go's zero time always present, chain id last.
@Suite struct CometWireSignBytesVectorTests {
    static let zeroTime = "2a0b088092b8c398feffffff01"

    @Test func voteSignBytesVectors() {
        func bytes(_ type: SignedMsgType, _ h: Int64, _ r: Int64, _ chain: String) -> String {
            Hex.lower(CanonicalVote(type: type, height: h, round: r, blockID: nil, timestamp: .goZero, chainID: chain).signBytes)
        }
        #expect(bytes(.unknown, 0, 0, "") == "0d" + Self.zeroTime)
        #expect(bytes(.precommit, 1, 1, "") == "21" + "0802" + "110100000000000000" + "190100000000000000" + Self.zeroTime)
        #expect(bytes(.prevote, 1, 1, "") == "21" + "0801" + "110100000000000000" + "190100000000000000" + Self.zeroTime)
        #expect(bytes(.unknown, 1, 1, "") == "1f" + "110100000000000000" + "190100000000000000" + Self.zeroTime)
        #expect(bytes(.unknown, 1, 1, "test_chain_id") == "2e" + "110100000000000000" + "190100000000000000" + Self.zeroTime
            + "320d" + Hex.lower(Array("test_chain_id".utf8)))
    }

    /// `CommitSignBytes` (the shared heads written into one buffer) gives each signature the
    /// bytes `CanonicalVote` gives it: every flag, a zero BlockID, and chain ids that take
    /// the length prefix past one byte.
    @Test func commitSignBytesMatchEachVote() throws {
        let time = try #require(RFC3339.parse("2022-09-22T18:57:27.764730915Z"))
        let blockID = BlockID(hash: hex("6AA59493037B1673949755B88F86B840FB75285485D95FDBA5BE79D28588F2AC"),
                              partSetHeader: PartSetHeader(total: 1, hash: hex("0DCBB02A8DFB86E78859A24426ED1D9D2A2C9C3D5C6CD1851477B98705564DD8")))
        let signatures = [
            CommitSig(blockIDFlag: .commit, validatorAddress: [1], timestamp: time, signature: [2]),
            CommitSig(blockIDFlag: .`nil`, validatorAddress: [3], timestamp: .goZero, signature: [4]),
            .absent,
        ]
        for id in [blockID, BlockID()] {
            for chainID in ["", "dockerchain", String(repeating: "c", count: 20), String(repeating: "long-chain-", count: 30)] {
                for sigs in [signatures, [signatures[0]], [signatures[0], signatures[0]]] {
                    let commit = Commit(height: 300, round: 2, blockID: id, signatures: sigs)
                    let shared = CommitSignBytes(commit: commit, chainID: chainID)
                    for i in sigs.indices {
                        #expect(shared.bytes(i) == CanonicalVote(commit: commit, index: i, chainID: chainID).signBytes,
                                "signature \(i) of \(sigs.count), chain id of \(chainID.utf8.count) bytes, zero id: \(id.isZero)")
                    }
                }
            }
        }
        // A prefix of two bytes: 128 bytes or more.
        let long = CommitSignBytes(commit: Commit(height: 1, round: 0, blockID: blockID, signatures: [signatures[0]]),
                                   chainID: String(repeating: "x", count: 100)).bytes(0)
        #expect(long.count > 130 && long[0] & 0x80 != 0)
    }
}
