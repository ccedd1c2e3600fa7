import BlockSync
import CometWire
import Crypto
import SyncDriver
import SyncMachine
import Testing

/// Issue 19 item 2: each signature verified once. `VerifiedSignatures` remembers valid
/// (key, sign bytes, signature) triples; the reactors' shared block processor consults it, so
/// `ValidateBlock`'s second check of a commit the pair check just verified costs no ed25519.
@Suite struct VerifiedSignaturesTests {
    static let key = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 7, count: 32))
    static let pub = PublicKey.ed25519(Array(key.publicKey.rawRepresentation))
    static func signed(_ text: String) -> (message: [UInt8], signature: [UInt8]) {
        let m = Array(text.utf8)
        return (m, Array(try! key.signature(for: m)))
    }

    @Test func aValidTripleIsVerifiedOnceThenRemembered() {
        var verified = VerifiedSignatures()
        let (m, sig) = Self.signed("vote")
        do { let ok = verified.verify(sig, message: m, key: Self.pub); #expect(ok) }
        do { let ok = verified.verify(sig, message: m, key: Self.pub); #expect(ok) }
        #expect(verified.verifications == 1)
        #expect(verified.hits == 1)
    }

    @Test func failuresAreNeverRemembered() {
        var verified = VerifiedSignatures()
        let (m, sig) = Self.signed("vote")
        var bad = sig
        bad[5] ^= 1
        do { let ok = verified.verify(bad, message: m, key: Self.pub); #expect(!ok) }
        do { let ok = verified.verify(bad, message: m, key: Self.pub); #expect(!ok) }
        #expect(verified.verifications == 2)
        #expect(verified.hits == 0)
        // The whole triple is the key: the valid signature on other bytes is not a hit.
        do { let ok = verified.verify(sig, message: m, key: Self.pub); #expect(ok) }
        do { let ok = verified.verify(sig, message: Array("other".utf8), key: Self.pub); #expect(!ok) }
        #expect(verified.hits == 0)
    }

    @Test func theOldestAreForgottenBeyondCapacity() {
        var verified = VerifiedSignatures(capacity: 2)
        let a = Self.signed("a"), b = Self.signed("b"), c = Self.signed("c")
        for s in [a, b, c] { do { let ok = verified.verify(s.signature, message: s.message, key: Self.pub); #expect(ok) } }
        do { let ok = verified.verify(c.signature, message: c.message, key: Self.pub); #expect(ok) }
        do { let ok = verified.verify(b.signature, message: b.message, key: Self.pub); #expect(ok) }
        #expect(verified.hits == 2)
        do { let ok = verified.verify(a.signature, message: a.message, key: Self.pub); #expect(ok) }
        #expect(verified.verifications == 4)  // a was forgotten and verified again
        // Many more than the capacity: memory stays bounded and answers stay right.
        for i in 0..<50 {
            let s = Self.signed("n\(i)")
            do { let ok = verified.verify(s.signature, message: s.message, key: Self.pub); #expect(ok) }
        }
        do { let ok = verified.verify(b.signature, message: b.message, key: Self.pub); #expect(ok) }
    }

    /// tm-v0.34 checks block H's LastCommit twice: `VerifyCommitLight` of the pair (H-1, H), then
    /// `ValidateBlock(H)`'s full check. With three equal validators the light check verifies all
    /// three signatures (2/3 is exceeded only by the third), so the second check is all hits:
    /// 59 pairs → 177 ed25519 verifications, 58 validated LastCommits → 174 hits.
    @Test func anHonestTendermintSyncVerifiesEachSignatureOnce() {
        let chain = ReactorTests.chain60
        var net = ReactorTests.network(.tmV034, chain: chain)
        for i in 0..<2 { net.connect(.init(id: "p\(i)", chain: chain, latency: 5 * ReactorTests.ms), at: 0) }
        net.run(until: 60 * ReactorTests.s)
        #expect(ReactorTests.applied(net) == Array(1...59))
        #expect(net.machine.chain.verified.verifications == 3 * 59)
        #expect(net.machine.chain.verified.hits == 3 * 58)
    }

    /// The outcome of a failing check is unchanged by remembered signatures: a corrupted commit
    /// signature is still found, with the same error, after its neighbours were remembered.
    @Test func aBadSignatureIsStillFoundAfterHits() throws {
        let chain = ReactorTests.chain60
        var verified = VerifiedSignatures()
        let state = chain.genesisState
        let id = try #require(chain.blockID(at: 1))
        var commit = try #require(chain.commit(for: 1))
        try state.validators.verifyCommitLight(chainID: state.chainID, blockID: id, height: 1, commit: commit, verified: &verified)
        #expect(verified.verifications == 3)
        commit.signatures[1].signature[0] ^= 1
        #expect(throws: CommitVerificationError.wrongSignature(index: 1, signature: commit.signatures[1].signature)) {
            try state.validators.verifyCommitLight(chainID: state.chainID, blockID: id, height: 1, commit: commit, verified: &verified)
        }
        #expect(verified.hits == 1)
    }
}
