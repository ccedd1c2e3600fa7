import HexCoding
import CometWire
import Crypto
import Testing

/// The chain builder produces chains that pass the same checks a syncing node runs, and its
/// invalid variants fail exactly the check they target (specs/cometbft-blocksync.md §3.4, §4.4, §4.5).
@Suite struct CometWireChainBuilderTests {
    static let builder = ChainBuilder(.init(seed: Array("seed".utf8), chainID: "test-chain", validatorPowers: [10, 10, 10, 10], length: 6))

    /// swift-crypto's ed25519 on Linux is RFC 8032 deterministic: byte-reproducible traces rely on it.
    @Test func ed25519SigningIsDeterministic() throws {
        let key = ChainBuilder.privateKey(seed: [1, 2, 3], index: 0)
        let message = Array("the same message".utf8)
        let a = try key.signature(for: message)
        let b = try key.signature(for: message)
        #expect(a == b)
        // RFC 8032 test 1 (empty message).
        let rfc = try Curve25519.Signing.PrivateKey(rawRepresentation: Hex.decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")!)
        #expect(Hex.lower(Array(rfc.publicKey.rawRepresentation)) == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
        #expect(Hex.lower(Array(try rfc.signature(for: [UInt8]())))
            == "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b")
    }

    @Test func buildsAreByteIdentical() {
        let a = Self.builder.build()
        let b = ChainBuilder(Self.builder.configuration).build()
        #expect(a == b)
        #expect(a.blocks.map { $0.encoded() } == b.blocks.map { $0.encoded() })
        #expect(a.blocks.count == 6)
        #expect(a.height == 6)
    }

    @Test func validChainSyncsLikeANode() throws {
        let chain = Self.builder.build()
        var state = chain.genesisState
        for h in Int64(1)..<chain.height {
            let first = try #require(chain.block(at: h))
            let second = try #require(chain.block(at: h + 1))
            // Blocks travel as BlockResponse bytes.
            let wire = BlocksyncMessage.blockResponse(block: first, extCommit: nil).encode()
            guard case .blockResponse(let decoded, nil) = try BlocksyncMessage.decode(wire) else { Issue.record("decode"); return }
            #expect(decoded == first)
            let firstID = decoded.blockID()
            #expect(firstID == chain.blockID(at: h))
            try state.validators.verifyCommitLight(chainID: state.chainID, blockID: firstID, height: h, commit: try #require(second.lastCommit))
            try state.validateBlock(decoded)
            state = state.applying(decoded, blockID: firstID, committedBy: second.header)
            #expect(state == chain.state(after: h))
        }
        // The last block is proved by the seen commit.
        try state.validators.verifyCommit(chainID: state.chainID, blockID: try #require(chain.blockID(at: 6)), height: 6, commit: chain.seenCommit)
        #expect(chain.commit(for: 6) == chain.seenCommit)
    }

    /// `StateHashes` gives each set's own hash: again for an equal set held elsewhere, afresh
    /// for a changed one; a chain validated through one keeps its outcomes, and a header with
    /// the wrong `ValidatorsHash` still fails after the right one was remembered (issue 19).
    @Test func stateHashesGiveEachSetItsOwnHash() throws {
        let chain = Self.builder.build()
        var hashes = StateHashes()
        let set = chain.genesisState.validators
        #expect(hashes.hash(of: set) == set.hash())
        let copy = try ValidatorSet(protobuf: set.encoded())  // equal, other storage
        #expect(hashes.hash(of: copy) == set.hash())
        var changed = set
        changed.validators[0].votingPower += 1
        #expect(changed.hash() != set.hash())
        #expect(hashes.hash(of: changed) == changed.hash())
        #expect(hashes.hash(of: set) == set.hash())
        var params = HashedParams.cometDefault
        #expect(hashes.hash(of: params) == params.hash())
        params.blockMaxGas = 7
        #expect(hashes.hash(of: params) == params.hash())

        var state = chain.genesisState
        var verified = VerifiedSignatures()
        hashes = StateHashes()
        for h in Int64(1)..<chain.height {
            let block = try #require(chain.block(at: h))
            try state.validateBlock(block, verified: &verified, hashes: &hashes)
            var wrong = block
            wrong.header.validatorsHash = Array(repeating: 0xAB, count: 32)
            #expect(throws: BlockValidationError.wrongHash(field: "ValidatorsHash", expected: state.validators.hash(), got: wrong.header.validatorsHash)) {
                try state.validateBlock(wrong, verified: &verified, hashes: &hashes)
            }
            state = state.applying(block, blockID: chain.blockID(at: h), committedBy: try #require(chain.block(at: h + 1)).header)
        }
    }

    @Test func validatorsAreInSetOrder() {
        let b = ChainBuilder(.init(seed: [7], validatorPowers: [5, 50, 20, 20], length: 2))
        let powers = b.validatorSet.validators.map(\.votingPower)
        #expect(powers == [50, 20, 20, 5])
        let twenties = b.validatorSet.validators.filter { $0.votingPower == 20 }.map(\.address)
        #expect(twenties[0].lexicographicallyPrecedes(twenties[1]))
        let chain = b.build()
        #expect(chain.blocks[1].header.validatorsHash == b.validatorSet.hash())
    }

    @Test func badSignatureBeforeQuorumFailsLightVerification() throws {
        let chain = Self.builder.build(.badSignature(height: 3, validator: 0))
        let state = chain.state(after: 2)
        let commit = try #require(chain.commit(for: 3))
        #expect(throws: CommitVerificationError.wrongSignature(index: 0, signature: commit.signatures[0].signature)) {
            try state.validators.verifyCommitLight(chainID: "test-chain", blockID: try #require(chain.blockID(at: 3)), height: 3, commit: commit)
        }
    }

    /// Light verification stops at +2/3 and never sees a bad fourth signature; the full
    /// `VerifyCommit` inside ValidateBlock of the next block does.
    @Test func badSignatureAfterQuorumPassesLightButNotFull() throws {
        let chain = Self.builder.build(.badSignature(height: 3, validator: 3))
        let commit = try #require(chain.commit(for: 3))
        let id = try #require(chain.blockID(at: 3))
        let state = chain.state(after: 2)
        try state.validators.verifyCommitLight(chainID: "test-chain", blockID: id, height: 3, commit: commit)
        #expect(throws: CommitVerificationError.wrongSignature(index: 3, signature: commit.signatures[3].signature)) {
            try state.validators.verifyCommit(chainID: "test-chain", blockID: id, height: 3, commit: commit)
        }
        let after3 = chain.state(after: 3)
        #expect(throws: BlockValidationError.lastCommit(.wrongSignature(index: 3, signature: commit.signatures[3].signature))) {
            try after3.validateBlock(try #require(chain.block(at: 4)))
        }
    }

    @Test func insufficientPowerAndMinorityForkFailLightVerification() throws {
        for (variant, got) in [(ChainBuilder.Variant.insufficientPower(height: 3), Int64(20)), (.forkedByMinority(height: 3), 10)] {
            let chain = Self.builder.build(variant)
            let state = chain.state(after: 2)
            #expect(throws: CommitVerificationError.insufficientVotingPower(got: got, needed: 26)) {
                try state.validators.verifyCommitLight(chainID: "test-chain", blockID: try #require(chain.blockID(at: 3)), height: 3,
                                                       commit: try #require(chain.commit(for: 3)))
            }
        }
        let fork = Self.builder.build(.forkedByMinority(height: 3))
        let valid = Self.builder.build()
        #expect(fork.block(at: 2) == valid.block(at: 2))
        #expect(fork.block(at: 3)?.data != valid.block(at: 3)?.data)
    }

    @Test func wrongHeaderFieldsFailValidateBlock() throws {
        let cases: [(ChainBuilder.Variant, String)] = [
            (.wrongLastBlockID(height: 3), "wrong Block.Header.LastBlockID"),
            (.wrongAppHash(height: 3), "wrong Block.Header.AppHash"),
            (.wrongValidatorsHash(height: 3), "wrong Block.Header.ValidatorsHash"),
        ]
        for (variant, text) in cases {
            let chain = Self.builder.build(variant)
            let state = chain.state(after: 2)
            let block = try #require(chain.block(at: 3))
            // Signed by everyone: the commit proves the bad block.
            try state.validators.verifyCommitLight(chainID: "test-chain", blockID: block.blockID(), height: 3,
                                                   commit: try #require(chain.commit(for: 3)))
            do {
                try state.validateBlock(block)
                Issue.record("\(variant) validated")
            } catch {
                #expect(error.description.hasPrefix(text), "\(error)")
            }
        }
    }
}

/// Vote extensions (cometbft v0.38+): the builder's extended commits verify, and tampering or
/// stripping is caught (specs §3.4 step 4).
@Suite struct CometWireExtendedCommitTests {
    @Test func extendedCommitVerifiesAndTamperingIsCaught() throws {
        let builder = CometWireChainBuilderTests.builder
        let chain = builder.build()
        let commit = try #require(chain.commit(for: 2))
        let ext = builder.extendedCommit(commit)
        let id = try #require(chain.blockID(at: 2))
        let vals = builder.validatorSet
        try ext.validateFromProto()
        try ext.ensureExtensions(enabled: true)
        #expect(throws: ValidateBasicError.self) { try ext.ensureExtensions(enabled: false) }
        try vals.verifyExtendedCommit(chainID: "test-chain", blockID: id, height: 2, extendedCommit: ext)
        #expect(ext.commit == commit)
        // Round trip inside a BlockResponse.
        let msg = BlocksyncMessage.blockResponse(block: try #require(chain.block(at: 2)), extCommit: ext)
        #expect(try BlocksyncMessage.decode(msg.encode()) == msg)

        var bad = ext
        bad.extendedSignatures[1].extension_ = Array("other".utf8)
        #expect(throws: ExtendedCommitVerificationError.wrongExtensionSignature(index: 1, signature: ext.extendedSignatures[1].extensionSignature)) {
            try vals.verifyExtendedCommit(chainID: "test-chain", blockID: id, height: 2, extendedCommit: bad)
        }
        var stripped = ext
        stripped.extendedSignatures[0].extensionSignature = []
        #expect(throws: ExtendedCommitVerificationError.self) {
            try vals.verifyExtendedCommit(chainID: "test-chain", blockID: id, height: 2, extendedCommit: stripped)
        }
    }
}

@Suite struct CometWireChainStateTests {
    /// A node resuming from its store at height 3 validates block 4 without knowing the
    /// application results, and from then on checks them.
    @Test func resumingFromAStoredBlock() throws {
        let chain = CometWireChainBuilderTests.builder.build()
        let stored = try #require(chain.block(at: 3))
        var state = ChainState.resuming(after: stored, validators: CometWireChainBuilderTests.builder.validatorSet)
        #expect(!state.checksApplicationHashes)
        let b4 = try #require(chain.block(at: 4))
        try state.validateBlock(b4)
        state = state.applying(b4, committedBy: try #require(chain.block(at: 5)).header)
        #expect(state.checksApplicationHashes)
        try state.validateBlock(try #require(chain.block(at: 5)))
        // Time must follow the weighted median of the LastCommit.
        var late = try #require(chain.block(at: 5))
        late.header.time = late.header.time.adding(nanoseconds: 1)
        do {
            try state.validateBlock(late)
            Issue.record("accepted a block with a wrong time")
        } catch {
            guard case .wrongMedianTime = error else { Issue.record("\(error)"); return }
        }
    }
}

/// The order of checks differs between tendermint v0.34 (single verification) and cometbft
/// v0.38 (batch path: collect, tally, then verify), read from the tagged sources (§4.4).
@Suite struct CometWireVerificationOrderTests {
    @Test func batchPathReportsPowerBeforeBadSignature() throws {
        let builder = CometWireChainBuilderTests.builder
        let chain = builder.build(.insufficientPower(height: 3))
        var commit = try #require(chain.commit(for: 3))
        commit.signatures[0].signature[0] ^= 1
        let id = try #require(chain.blockID(at: 3))
        let vals = builder.validatorSet
        #expect(throws: CommitVerificationError.insufficientVotingPower(got: 20, needed: 26)) {
            try vals.verifyCommitLight(chainID: "test-chain", blockID: id, height: 3, commit: commit, options: .cometbftV038)
        }
        #expect(throws: CommitVerificationError.wrongSignature(index: 0, signature: commit.signatures[0].signature)) {
            try vals.verifyCommitLight(chainID: "test-chain", blockID: id, height: 3, commit: commit, options: .tendermintV034)
        }
    }

    @Test func addressCheckOnlyFromV038_21() throws {
        let builder = CometWireChainBuilderTests.builder
        let chain = builder.build()
        var commit = try #require(chain.commit(for: 3))
        commit.signatures[1].validatorAddress = Array(repeating: 7, count: 20)
        let id = try #require(chain.blockID(at: 3))
        let vals = builder.validatorSet
        try vals.verifyCommitLight(chainID: "test-chain", blockID: id, height: 3, commit: commit, options: .tendermintV034)
        try vals.verifyCommitLight(chainID: "test-chain", blockID: id, height: 3, commit: commit, options: .cometbftV038_3)
        #expect(throws: CommitVerificationError.wrongValidatorAddress(index: 1, expected: vals.validators[1].address,
                                                                     got: commit.signatures[1].validatorAddress)) {
            try vals.verifyCommitLight(chainID: "test-chain", blockID: id, height: 3, commit: commit, options: .cometbft)
        }
    }
}

@Suite struct CometWireAbsentAndNilVoteTests {
    /// Commits with an absent validator and a nil voter (5 of 100 power each) still prove
    /// blocks, and ValidateBlock's median time counts the nil vote's timestamp.
    @Test func chainWithAbsentAndNilVotesValidates() throws {
        var config = ChainBuilder.Configuration(seed: [5], validatorPowers: [30, 30, 30, 5, 5], length: 4)
        config.absentValidators = [3]
        config.nilVoters = [4]
        let builder = ChainBuilder(config)
        let chain = builder.build()
        let commit = try #require(chain.commit(for: 2))
        #expect(commit.signatures.map(\.blockIDFlag) == [.commit, .commit, .commit, .absent, .nil])
        for h in Int64(1)...3 {
            let state = chain.state(after: h - 1)
            try state.validators.verifyCommitLight(chainID: state.chainID, blockID: try #require(chain.blockID(at: h)), height: h,
                                                   commit: try #require(chain.commit(for: h)))
            try state.validateBlock(try #require(chain.block(at: h)))
        }
        // Corrupting the nil vote is invisible to light verification, caught by the full one.
        var bad = commit
        bad.signatures[4].signature[0] ^= 1
        let id = try #require(chain.blockID(at: 2))
        try builder.validatorSet.verifyCommitLight(chainID: builder.configuration.chainID, blockID: id, height: 2, commit: bad)
        #expect(throws: CommitVerificationError.wrongSignature(index: 4, signature: bad.signatures[4].signature)) {
            try builder.validatorSet.verifyCommit(chainID: builder.configuration.chainID, blockID: id, height: 2, commit: bad)
        }
    }
}

@Suite struct CometWireRoundTests {
    /// A commit made in round 2 (round field present in the sign bytes) verifies, with a nil vote.
    @Test func commitInLaterRoundVerifies() throws {
        let builder = CometWireChainBuilderTests.builder
        let chain = builder.build()
        let id = try #require(chain.blockID(at: 2))
        let t = try #require(chain.block(at: 2)).header.time
        var sigs = (0..<4).map { builder.sign(index: $0, height: 2, round: 2, blockID: id, timestamp: t.adding(nanoseconds: Int64($0))) }
        sigs[3] = builder.sign(index: 3, height: 2, round: 2, blockID: nil, timestamp: t)
        let commit = Commit(height: 2, round: 2, blockID: id, signatures: sigs)
        for options in [CommitVerificationOptions.tendermintV034, .cometbft] {
            try builder.validatorSet.verifyCommit(chainID: "test-chain", blockID: id, height: 2, commit: commit, options: options)
            try builder.validatorSet.verifyCommitLight(chainID: "test-chain", blockID: id, height: 2, commit: commit, options: options)
        }
        let tally = builder.validatorSet.signatureVerdicts(chainID: "test-chain", commit: commit)
        #expect(tally.verdicts == [.validCommit(power: 10), .validCommit(power: 10), .validCommit(power: 10), .validNil(power: 10)])
    }
}
