import HexCoding
import Testing
import CometP2P

/// Merlin transcripts on STROBE-128, checked against the published merlin vectors
/// (merlin `transcript::tests::equivalence_simple` / gtank/merlin `TestSimpleTranscript`,
/// `TestComplexTranscript`).
@Suite struct CometP2PMerlinTests {
    @Test func simpleTranscript() {
        var t = Transcript(label: "test protocol")
        t.appendMessage(label: "some label", message: Array("some data".utf8))
        let c = t.challengeBytes(label: "challenge", count: 32)
        #expect(P2PHex.encode(c) == "d5a21972d0d5fe320c0d263fac7fffb8145aa640af6e9bca177c03c7efcf0615")
    }

    /// 32 rounds of challenge + 1024-byte message: crosses many STROBE blocks.
    @Test func complexTranscript() {
        var t = Transcript(label: "test protocol")
        t.appendMessage(label: "step1", message: Array("some data".utf8))
        let data = [UInt8](repeating: 99, count: 1024)
        var challenge: [UInt8] = []
        for _ in 0..<32 {
            challenge = t.challengeBytes(label: "challenge", count: 32)
            t.appendMessage(label: "bigdata", message: data)
            t.appendMessage(label: "challengedata", message: challenge)
        }
        #expect(P2PHex.encode(challenge) == "a8c933f54fae76e3f9bea93648c1308e7dfa2152dd51674ff3ca438351cf003c")
    }

    /// Copies are independent (value semantics) and continue identically.
    @Test func copiesContinueIdentically() {
        var a = Transcript(label: "test protocol")
        a.appendMessage(label: "some label", message: Array("some data".utf8))
        var b = a
        #expect(a.challengeBytes(label: "challenge", count: 32) == b.challengeBytes(label: "challenge", count: 32))
        var c = a
        c.appendMessage(label: "x", message: [1])
        #expect(a.challengeBytes(label: "challenge", count: 32) != c.challengeBytes(label: "challenge", count: 32))
    }
}
