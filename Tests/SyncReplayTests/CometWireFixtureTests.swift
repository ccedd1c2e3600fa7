import HexCoding
import CometWire
import Foundation
import Testing
import JSON

/// The real kvstore chain of specs/cometbft-blocksync.md §4.6 (tendermint-rs v0.34 fixtures):
/// every hash and signature must be reproduced from the decoded contents.
@Suite struct CometWireFixtureTests {
    static let directory = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34")

    static func load(_ name: String) throws -> RPCDocument {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        return try RPCJSON.parse([UInt8](data))
    }

    static func block(_ name: String) throws -> (Block, BlockID) {
        guard case .block(let b, let id?) = try load(name) else { throw RPCJSONError(path: name, reason: "not a block") }
        return (b, id)
    }

    static func genesis() throws -> Genesis {
        guard case .genesis(let g) = try load("genesis.json") else { throw RPCJSONError(path: "genesis", reason: "not genesis") }
        return g
    }

    @Test(arguments: ["block_at_height_1.json", "block_at_height_10.json"])
    func blockHashesMatchTheNode(_ name: String) throws {
        let (block, id) = try Self.block(name)
        let genesis = try Self.genesis()
        #expect(block.hash() == id.hash)
        #expect(block.partSetHeader() == id.partSetHeader)
        #expect(block.blockID() == id)
        #expect(block.data.hash() == block.header.dataHash)
        #expect(block.evidence.hash() == block.header.evidenceHash)
        #expect(block.lastCommit?.hash() == block.header.lastCommitHash)
        #expect(genesis.validators.hash() == block.header.validatorsHash)
        #expect(genesis.validators.hash() == block.header.nextValidatorsHash)
        #expect(genesis.consensusParams.hash() == block.header.consensusHash)
        #expect(genesis.validators.validators[0].address == block.header.proposerAddress)
        try block.validateBasic()
        // The block survives a protobuf round trip unchanged.
        #expect(try Block(protobuf: block.encoded()) == block)
    }

    @Test func blockTenHashIsTheSpecValue() throws {
        let (block, _) = try Self.block("block_at_height_10.json")
        #expect(Hex.upper(block.hash()) == "6AA59493037B1673949755B88F86B840FB75285485D95FDBA5BE79D28588F2AC")
        #expect(block.data.hash() == Merkle.sha256([UInt8]()))
    }

    @Test(arguments: [CommitVerificationOptions.tendermintV034, .cometbft])
    func commitTenVerifies(_ options: CommitVerificationOptions) throws {
        let genesis = try Self.genesis()
        let (block, id) = try Self.block("block_at_height_10.json")
        guard case .commit(let header, let commit) = try Self.load("commit_at_height_10.json") else {
            Issue.record("not a commit"); return
        }
        #expect(header == block.header)
        try genesis.validators.verifyCommitLight(chainID: "dockerchain", blockID: id, height: 10, commit: commit, options: options)
        try genesis.validators.verifyCommit(chainID: "dockerchain", blockID: id, height: 10, commit: commit, options: options)
        // Block 10 carries the commit for block 9.
        let lastCommit = try #require(block.lastCommit)
        try genesis.validators.verifyCommitLight(chainID: "dockerchain", blockID: block.header.lastBlockID, height: 9,
                                                 commit: lastCommit, options: options)
        let tally = genesis.validators.signatureVerdicts(chainID: "dockerchain", commit: commit)
        #expect(tally.verdicts == [.validCommit(power: 10)])
        #expect(tally.hasQuorum)
    }

    @Test func tamperedCommitIsRejected() throws {
        let genesis = try Self.genesis()
        let (_, id) = try Self.block("block_at_height_10.json")
        guard case .commit(_, var commit) = try Self.load("commit_at_height_10.json") else { return }
        commit.signatures[0].signature[5] ^= 1
        #expect(throws: CommitVerificationError.wrongSignature(index: 0, signature: commit.signatures[0].signature)) {
            try genesis.validators.verifyCommitLight(chainID: "dockerchain", blockID: id, height: 10, commit: commit)
        }
        #expect(throws: CommitVerificationError.self) {
            try genesis.validators.verifyCommitLight(chainID: "otherchain", blockID: id, height: 10, commit: commit)
        }
        #expect(throws: CommitVerificationError.wrongHeight(expected: 11, got: 10)) {
            try genesis.validators.verifyCommitLight(chainID: "dockerchain", blockID: id, height: 11, commit: commit)
        }
    }

    /// Every header of `/blockchain` 1–10 hashes to its block ID and links to its parent.
    @Test func headerChainLinks() throws {
        guard case .blockchain(let metas) = try Self.load("blockchain_from_1_to_10.json") else {
            Issue.record("not a blockchain response"); return
        }
        #expect(metas.count == 10)
        let byHeight = Dictionary(uniqueKeysWithValues: metas.map { ($0.header.height, $0) })
        for h in Int64(1)...10 {
            let meta = try #require(byHeight[h])
            #expect(meta.header.hash() == meta.blockID.hash, "height \(h)")
            if h > 1 { #expect(meta.header.lastBlockID == byHeight[h - 1]?.blockID, "height \(h)") }
        }
    }

    /// Block 1 passes the application-free ValidateBlock from the genesis state (the kvstore
    /// application reports app version 1 at handshake).
    @Test func blockOneValidatesAgainstGenesis() throws {
        var state = try Self.genesis().initialState
        state.version.app = 1
        let (block, id) = try Self.block("block_at_height_1.json")
        try state.validateBlock(block)
        let next = state.applying(block, blockID: id, appHash: [0, 0, 0, 0, 0, 0, 0, 0], lastResultsHash: Merkle.root([]))
        #expect(next.lastBlockHeight == 1)
        #expect(next.nextHeight == 2)
        // A wrong chain id in the state is reported with Go's text.
        state.chainID = "x"
        #expect(throws: BlockValidationError.wrongChainID(expected: "x", got: "dockerchain")) { try state.validateBlock(block) }
    }

    @Test func malformedJSONIsAnError() {
        #expect(throws: RPCJSONError.self) { try RPCJSON.parse(Array("{".utf8)) }
        #expect(throws: RPCJSONError(path: "$.result.block.header", reason: "missing")) {
            try RPCJSON.parse(Array(#"{"jsonrpc":"2.0","result":{"block":{"data":{},"evidence":{}}}}"#.utf8))
        }
    }
}

/// RPC JSON shapes the fixtures do not cover: `/validators`, no envelope, numbers for int64s.
@Suite struct CometWireRPCJSONShapeTests {
    @Test func validatorsResponse() throws {
        let json = #"""
        {"jsonrpc":"2.0","id":1,"result":{"block_height":"10","validators":[{"address":"675F52E8FDA5F4047B8EAF498F946F551ED53DC2",
        "pub_key":{"type":"tendermint/PubKeyEd25519","value":"OKAnhjqSneoGRrC37lMmw13vpj3pge3Au8/5Q1YfGq0="},
        "voting_power":"10","proposer_priority":"0"}],"count":"1","total":"1"}}
        """#
        guard case .validators(let height, let set) = try RPCJSON.parse(Array(json.utf8)) else { Issue.record("shape"); return }
        #expect(height == 10)
        #expect(Hex.upper(set.hash()) == "6B95A63B261D3DDC1DFF6FA53F4C591AB8DA58BBA545700BFD45E6A54AAA2A84")
    }

    @Test func blockWithoutEnvelope() throws {
        let data = try Data(contentsOf: CometWireFixtureTests.directory.appendingPathComponent("block_at_height_10.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let bare = try JSONSerialization.data(withJSONObject: object["result"]!)
        guard case .block(let block, let id?) = try RPCJSON.parse([UInt8](bare)) else { Issue.record("shape"); return }
        #expect(block.blockID() == id)
    }

    @Test func errorsNameThePath() {
        #expect(throws: RPCJSONError(path: "$.error", reason: #"the RPC response is an error: {"code":1,"message":"x"}"#)) {
            try RPCJSON.parse(Array(#"{"jsonrpc":"2.0","error":{"message":"x","code":1}}"#.utf8))
        }
    }
}
