import Testing
import Foundation

/// The exit-code contract of DESIGN.md §6, checked against the built `syncreplay` binary.
@Suite struct ExitCodeTests {
    @Test func helpExitsZero() throws {
        let r = try SyncReplayProcess.run(["--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("Exit codes"))
    }

    @Test func unknownOptionIsUsageErrorExitTwo() throws {
        let r = try SyncReplayProcess.run(["--no-such-flag"])
        #expect(r.status == 2)
        #expect(!r.stderr.isEmpty)
    }
}
