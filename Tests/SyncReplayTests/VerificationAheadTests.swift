import CometWire
import Foundation
import Implementations
import Replay
import SyncMachine
import Testing

/// Issue 19 item 3: both cores. A worker verifies the trace's commit signatures ahead of the
/// machine (`VerificationAhead`); the machine's `VerifiedSignatures` asks it before running
/// ed25519. Decisions must be the same with it on or off, and it must actually be used.
@Suite struct VerificationAheadTests {
    static func corpus(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Traces/\(name).trace").path
    }

    static func replay(_ trace: ReplayTrace, _ profile: ProfileName, _ mode: ReplayMode, ahead: Bool) throws -> ReplayResult {
        var options = ReplayOptions(profile: profile, mode: mode)
        options.verifyAhead = ahead
        return try ReplayEngine(trace: trace, options: options).run(machines: .standard, pivot: nil)
    }

    /// The 10,000-block corpus trace (tm-v0.34, strict, as its golden): the same decision digest
    /// with the verifier ahead as without, and the machine took signatures from it.
    @Test func longSyncGivesTheSameDigestAndTheOracleHits() throws {
        let trace = try ReplayTraceLoader.load(path: Self.corpus("long-sync-10k"))
        let off = try Self.replay(trace, .tmV034, .strict, ahead: false)
        let on = try Self.replay(trace, .tmV034, .strict, ahead: true)
        #expect(off.verifiedAhead == nil)
        #expect(on.digest == off.digest)
        #expect(on.blocksApplied == off.blocksApplied)
        let stats = try #require(on.verifiedAhead)
        #expect(stats.hits > 0)
        #expect(stats.published <= stats.verified)
        #expect(stats.hits + stats.dropped <= stats.published)
    }

    /// Many signers, a bad block from another chain and extended commits, under every profile
    /// in both modes: decisions never depend on the verifier ahead.
    @Test(arguments: ["large-validator-set", "other-chain-bad-block", "vote-extensions-honest-chain"])
    func everyProfileGivesTheSameDigest(name: String) throws {
        let trace = try ReplayTraceLoader.load(path: Self.corpus(name))
        for implementation in MachineRegistry.standard.implementations {
            for profile in implementation.profiles.map(\.name) {
                for mode in ReplayMode.allCases {
                    let off = try Self.replay(trace, profile, mode, ahead: false)
                    let on = try Self.replay(trace, profile, mode, ahead: true)
                    #expect(on.digest == off.digest, "\(name) \(profile) \(mode)")
                }
            }
        }
    }

    static func start(of trace: ReplayTrace) throws -> NodeStart { try trace.nodeStart() }

    /// Every non-absent signature of every LastCommit, with its sign bytes and key, in trace order.
    static func triples(of trace: ReplayTrace, start: NodeStart) -> [(height: Int64, key: [UInt8], message: [UInt8], signature: [UInt8])] {
        var out: [(Int64, [UInt8], [UInt8], [UInt8])] = []
        var seen = Set<Int64>()
        for event in trace.events {
            guard case .blocksync(_, true, let bytes) = event.body,
                  case .blockResponse(let block, _)? = try? BlocksyncMessage.decode(bytes),
                  let commit = block.lastCommit, !commit.signatures.isEmpty, seen.insert(commit.height).inserted else { continue }
            let signBytes = CommitSignBytes(commit: commit, chainID: start.state.chainID)
            for (i, sig) in commit.signatures.enumerated() where sig.blockIDFlag != .absent {
                guard case .ed25519(let key) = start.state.validators.validators[i].pubKey else { continue }
                out.append((commit.height, key, signBytes.bytes(i), sig.signature))
            }
        }
        return out
    }

    /// The oracle answers exactly the triples it verified, once each: a changed byte in the
    /// signature or the message is a miss, and a hit is consumed.
    @Test func answersOnlyWhatItVerified() throws {
        let trace = try ReplayTraceLoader.load(path: Self.corpus("large-validator-set"))
        let start = try Self.start(of: trace)
        let ahead = VerificationAhead(start: start, trace: trace, capacity: 100_000)
        defer { ahead.stop() }
        ahead.waitUntilDone()
        let all = Self.triples(of: trace, start: start)
        #expect(all.count > 100)
        #expect(ahead.statistics.published == all.count)
        let (h, key, message, signature) = all[0]
        var badSignature = signature
        badSignature[10] ^= 1
        var otherMessage = message
        otherMessage[otherMessage.count - 1] ^= 1
        #expect(!ahead.isKnownValid(SignatureTriple(key: key, message: message, signature: badSignature), height: h))
        #expect(!ahead.isKnownValid(SignatureTriple(key: key, message: otherMessage, signature: signature), height: h))
        #expect(ahead.isKnownValid(SignatureTriple(key: key, message: message, signature: signature), height: h))
        #expect(!ahead.isKnownValid(SignatureTriple(key: key, message: message, signature: signature), height: h))  // consumed
        // Asking at a later height drops what lies more than one commit below it.
        let last = all[all.count - 1]
        #expect(!ahead.isKnownValid(SignatureTriple(key: last.key, message: last.message, signature: badSignature), height: last.height))
        let below = all.filter { $0.height < last.height - 1 }
        #expect(ahead.statistics.dropped == below.count - 1)
        #expect(!ahead.isKnownValid(SignatureTriple(key: below[1].key, message: below[1].message, signature: below[1].signature), height: last.height))
        #expect(ahead.isKnownValid(SignatureTriple(key: last.key, message: last.message, signature: last.signature), height: last.height))
    }

    /// Bounded look-ahead: the worker stops publishing at `capacity` until the core consumes
    /// or passes entries, the core never waits, and `stop()` ends a waiting worker.
    @Test func waitsWhenFullAndStopsWhileWaiting() throws {
        let trace = try ReplayTraceLoader.load(path: Self.corpus("large-validator-set"))
        let start = try Self.start(of: trace)
        let all = Self.triples(of: trace, start: start)
        let ahead = VerificationAhead(start: start, trace: trace, capacity: 4)
        defer { ahead.stop() }
        func published(reaching n: Int) -> Int {
            for _ in 0..<2_000 where ahead.statistics.published < n { Thread.sleep(forTimeInterval: 0.005) }
            return ahead.statistics.published
        }
        #expect(published(reaching: 4) == 4)
        #expect(ahead.isKnownValid(SignatureTriple(key: all[0].key, message: all[0].message, signature: all[0].signature), height: all[0].height))
        #expect(published(reaching: 5) == 5)
        #expect(ahead.statistics.published == 5)  // still bounded: 4 waiting again
        ahead.stop()
        #expect(ahead.statistics.published == 5)
    }
}
