import Foundation
import Testing

/// `syncreplay block verify` over the real v0.34 fixtures, run as a user would.
@Suite struct CometWireBlockCommandTests {
    static let fixtures = SyncReplayProcess.sharedDirectory.appendingPathComponent("fixtures/cometbft-v0.34").path

    @Test func validBlockWithCommitAndGenesisExitsZero() throws {
        let r = try SyncReplayProcess.run(["block", "verify", "--block", "\(Self.fixtures)/block_at_height_10.json",
                                           "--commit", "\(Self.fixtures)/commit_at_height_10.json",
                                           "--validators", "\(Self.fixtures)/genesis.json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("header hash: 6AA59493037B1673949755B88F86B840FB75285485D95FDBA5BE79D28588F2AC matches"))
        #expect(r.stdout.contains("#0 675F52E8FDA5F4047B8EAF498F946F551ED53DC2 COMMIT: valid (power 10)"))
        #expect(r.stdout.contains("tallied 10 of 10"))
        #expect(!r.stdout.contains("MISMATCH"))
    }

    @Test func withoutCommitSaysWhatWasSkipped() throws {
        let r = try SyncReplayProcess.run(["block", "verify", "--block", "\(Self.fixtures)/block_at_height_1.json"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("skipped  validators_hash"))
        #expect(r.stdout.contains("skipped  commit"))
    }

    @Test func tamperedSignatureExitsOne() throws {
        let original = try String(contentsOfFile: "\(Self.fixtures)/commit_at_height_10.json", encoding: .utf8)
        let tampered = original.replacingOccurrences(of: "tc1kyw26R5LJ", with: "tc1kyw26R5LK")
        #expect(tampered != original)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tampered-commit-\(UUID().uuidString).json").path
        try tampered.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try SyncReplayProcess.run(["block", "verify", "--block", "\(Self.fixtures)/block_at_height_10.json",
                                           "--commit", path, "--validators", "\(Self.fixtures)/genesis.json"])
        #expect(r.status == 1)
        #expect(r.stdout.contains("BAD SIGNATURE"))
        #expect(r.stdout.contains("MISMATCH commit"))
    }

    @Test func unreadableInputExitsTwo() throws {
        let r1 = try SyncReplayProcess.run(["block", "verify", "--block", "\(Self.fixtures)/genesis.json"])
        #expect(r1.status == 2)
        #expect(r1.stderr.contains("not a /block response"))
        let r2 = try SyncReplayProcess.run(["block", "verify", "--block", "/nonexistent/b.json"])
        #expect(r2.status == 2)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).json").path
        try #"{"result":{"block":{"header":{"height":"x"}}}}"#.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r3 = try SyncReplayProcess.run(["block", "verify", "--block", path])
        #expect(r3.status == 2)
        #expect(r3.stderr.contains("$.result.block"))
    }
}
