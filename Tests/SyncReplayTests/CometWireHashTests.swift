import HexCoding
import CometWire
import Testing

/// Hashing primitives against published vectors (specs/cometbft-blocksync.md §4.1, §4.2).
@Suite struct CometWireHashTests {
    /// `crypto/merkle/rfc6962_test.go`.
    @Test func rfc6962Vectors() {
        #expect(Hex.lower(Merkle.root([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Hex.lower(Merkle.leafHash([UInt8]())) == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        #expect(Hex.lower(Merkle.leafHash(Array("L123456".utf8))) == "395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        #expect(Hex.lower(Merkle.innerHash(Array("N123".utf8), Array("N456".utf8)))
            == "aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb")
    }

    /// The split is at the largest power of two below n: for 3 items, (a b) c.
    @Test func unbalancedTreeShape() {
        let items: [[UInt8]] = [[1], [2], [3]]
        let expected = Merkle.innerHash(Merkle.innerHash(Merkle.leafHash([1]), Merkle.leafHash([2])), Merkle.leafHash([3]))
        #expect(Merkle.root(items) == expected)
        let five: [[UInt8]] = [[1], [2], [3], [4], [5]]
        let left = Merkle.root(Array(five[0..<4]))
        #expect(Merkle.root(five) == Merkle.innerHash(left, Merkle.leafHash([5])))
    }

    /// cometbft `types/block_test.go TestHeaderHash`.
    @Test func cometbftHeaderHashVector() {
        func sum(_ s: String) -> [UInt8] { Merkle.sha256(Array(s.utf8)) }
        var h = Header()
        h.version = ConsensusVersion(block: 1, app: 2)
        h.chainID = "chainId"
        h.height = 3
        h.time = RFC3339.parse("2019-10-13T16:14:44Z")!
        h.lastBlockID = BlockID(hash: Array(repeating: 0, count: 32), partSetHeader: PartSetHeader(total: 6, hash: Array(repeating: 0, count: 32)))
        h.lastCommitHash = sum("last_commit_hash")
        h.dataHash = sum("data_hash")
        h.validatorsHash = sum("validators_hash")
        h.nextValidatorsHash = sum("next_validators_hash")
        h.consensusHash = sum("consensus_hash")
        h.appHash = sum("app_hash")
        h.lastResultsHash = sum("last_results_hash")
        h.evidenceHash = sum("evidence_hash")
        h.proposerAddress = Array(sum("proposer_address").prefix(20))
        #expect(Hex.upper(h.hash()) == "F740121F553B5418C3EFBD343C2DBFE9E007BB67B0D020A0741374BAB65242A4")
        h.validatorsHash = []
        #expect(h.hash().isEmpty)
    }

    /// Parts are 65,536 bytes; the part-set hash is the merkle root of the raw parts.
    @Test func partSetSplitsAt64KiB() {
        let bytes = (0..<(2 * 65_536 + 10)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let ps = PartSet(bytes: bytes)
        #expect(ps.parts.map(\.count) == [65_536, 65_536, 10])
        #expect(ps.header.total == 3)
        #expect(ps.header.hash == Merkle.root(ps.parts))
        #expect(PartSet(bytes: Array(bytes.prefix(65_536))).header.total == 1)
        // RFC 6962 by hand for three parts: split at two.
        let l = ps.parts.map { Merkle.leafHash($0) }
        #expect(ps.header.hash == Merkle.innerHash(Merkle.innerHash(l[0], l[1]), l[2]))
        // The header alone (hashed over ranges of the one encoding) agrees at every edge.
        for count in [0, 1, 65_535, 65_536, 65_537, 2 * 65_536 + 10] {
            let prefix = Array(bytes.prefix(count))
            #expect(PartSet.header(of: prefix) == PartSet(bytes: prefix).header, "\(count) bytes")
        }
        #expect(PartSet.header(of: []).hash == Merkle.sha256([UInt8]()))
    }

    @Test func validatorAddressIsTruncatedSHA256() {
        // genesis.json of the v0.34 fixture: key OKAnhjqS… has address 675F52E8….
        let key = Hex.decode("38a027863a929dea0646b0b7ee5326c35def a63de981edc0bbcff943561f1aad".replacingOccurrences(of: " ", with: ""))!
        #expect(Hex.upper(PublicKey.ed25519(key).address ?? []) == "675F52E8FDA5F4047B8EAF498F946F551ED53DC2")
    }
}
