import CometWire
import Crypto
import Foundation
import Implementations
import Replay
import SyncMachine
import Testing

/// Issue 19: each signature verified once across the replays of one process (`suite`, `diff`,
/// `reduce`). `SignatureMemory` remembers the triples replays found valid; a later replay's
/// machine asks it before running ed25519. Decisions must not depend on it.
@Suite struct SignatureMemoryTests {
    static let key = try! Curve25519.Signing.PrivateKey(rawRepresentation: [UInt8](repeating: 9, count: 32))
    static let raw = Array(key.publicKey.rawRepresentation)
    static func signed(_ text: String) -> SignatureTriple {
        let m = Array(text.utf8)
        return SignatureTriple(key: raw, message: m, signature: Array(try! key.signature(for: m)))
    }

    static func replay(_ trace: ReplayTrace, _ profile: ProfileName, _ mode: ReplayMode, memory: SignatureMemory?,
                       ahead: Bool = false) throws -> ReplayResult {
        var options = ReplayOptions(profile: profile, mode: mode)
        options.verifyAhead = ahead
        options.signatureMemory = memory
        return try ReplayEngine(trace: trace, options: options).run(machines: .standard, pivot: nil)
    }

    /// A machine's own verifications reach the memory (valid ones only); another machine
    /// sharing it is answered from it, and an invalid signature is still rejected there.
    @Test func machinesShareOnlyValidSignatures() {
        let memory = SignatureMemory()
        let good = Self.signed("vote"), other = Self.signed("other vote")
        var bad = good.signature
        bad[3] ^= 1
        var first = VerifiedSignatures(oracle: memory)
        do { let ok = first.verify(bad, message: good.message, key: .ed25519(Self.raw)); #expect(!ok) }
        #expect(memory.count == 0)
        do { let ok = first.verify(good.signature, message: good.message, key: .ed25519(Self.raw)); #expect(ok) }
        do { let ok = first.verify(other.signature, message: other.message, key: .ed25519(Self.raw)); #expect(ok) }
        #expect(memory.count == 2 && first.verifications == 3)

        var second = VerifiedSignatures(oracle: memory)
        do { let ok = second.verify(good.signature, message: good.message, key: .ed25519(Self.raw)); #expect(ok) }
        #expect(second.verifications == 0 && second.oracleHits == 1 && memory.hits == 1)
        do { let ok = second.verify(bad, message: good.message, key: .ed25519(Self.raw)); #expect(!ok) }
        do { let ok = second.verify(good.signature, message: other.message, key: .ed25519(Self.raw)); #expect(!ok) }
        #expect(second.verifications == 2 && memory.count == 2)
    }

    /// At most `capacity` triples, the oldest forgotten first.
    @Test func forgetsTheOldestBeyondCapacity() {
        let memory = SignatureMemory(capacity: 2)
        let a = Self.signed("a"), b = Self.signed("b"), c = Self.signed("c")
        for t in [a, b, c] { memory.didVerify(t) }
        memory.didVerify(c)  // already held: no second slot
        #expect(memory.count == 2)
        #expect(!memory.contains(a) && memory.contains(b) && memory.contains(c))
        for i in 0..<20 { memory.didVerify(Self.signed("n\(i)")) }
        #expect(memory.count == 2)
    }

    /// One trace replayed under every profile and mode through one memory, with and without
    /// the verifier ahead: every decision digest is the one a replay without memory gives, and
    /// the first replay that remembered anything, repeated, asks the memory for every
    /// signature it needs. (other-chain-bad-block's block fails verification under some
    /// profiles before any signature is found valid.)
    @Test(arguments: ["large-validator-set", "other-chain-bad-block"])
    func replaysSharingAMemoryDecideAlike(name: String) throws {
        let trace = try ReplayTraceLoader.load(path: VerificationAheadTests.corpus(name))
        let memory = SignatureMemory()
        var first = true
        for implementation in MachineRegistry.standard.implementations {
            for profile in implementation.profiles.map(\.name) {
                for mode in ReplayMode.allCases {
                    let alone = try Self.replay(trace, profile, mode, memory: nil)
                    let shared = try Self.replay(trace, profile, mode, memory: memory, ahead: !first)
                    #expect(shared.digest == alone.digest, "\(name) \(profile) \(mode)")
                    if first && memory.count > 0 {
                        // The same replay again: everything it verifies is in memory now.
                        let held = memory.count
                        let before = memory.hits
                        let again = try Self.replay(trace, profile, mode, memory: memory)
                        #expect(again.digest == alone.digest)
                        #expect(memory.count == held)
                        #expect(memory.hits - before >= held)
                        first = false
                    }
                }
            }
        }
        #expect(!first, "no replay of \(name) found a signature valid")
    }
}
