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

/// Exit codes of the trace commands (inspect, cat, doctor, recover): 0 healthy/success,
/// 1 problems found, 2 unreadable input or usage.
@Suite struct TraceCommandExitCodeTests {
    static var fixture: String { TraceFixtures.committedHandwrittenPath.path }

    static func temp(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-exit-\(UUID().uuidString)-\(name)")
    }

    static func cutFixture(at n: Int) throws -> URL {
        let url = temp("cut.trace")
        try Data(try Data(contentsOf: TraceFixtures.committedHandwrittenPath).prefix(n)).write(to: url)
        return url
    }

    @Test func healthyTraceExitsZero() throws {
        for command in [["inspect"], ["inspect", "--json"], ["cat"], ["cat", "--json", "--raw"], ["doctor"]] {
            let r = try SyncReplayProcess.run(command + [Self.fixture])
            #expect(r.status == 0, "\(command): \(r.stderr)")
        }
        let cat = try SyncReplayProcess.run(["cat", "--json", Self.fixture])
        let lines = cat.stdout.split(separator: "\n")
        #expect(lines.count == 13)
        #expect(lines.allSatisfy { $0.hasPrefix("{\"seq\":") && $0.contains("\"time\":") && $0.contains("\"topic\":") })
        #expect(lines[2].contains("\"topic\":\"/blocksync\"") && lines[2].contains("\"direction\":\"outbound\"") && lines[2].contains("\"size\":2"))
    }

    @Test func damagedTraceDoctorExitsOneAndCatExitsTwo() throws {
        let cut = try Self.cutFixture(at: 12000)
        defer { try? FileManager.default.removeItem(at: cut) }
        let doctor = try SyncReplayProcess.run(["doctor", cut.path])
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("error at offset"))
        #expect(doctor.stdout.contains("syncreplay recover"))
        let cat = try SyncReplayProcess.run(["cat", cut.path])
        #expect(cat.status == 2)
        #expect(cat.stderr.contains("offset"))
        #expect(!cat.stdout.isEmpty)  // the intact prefix was printed first
        let inspect = try SyncReplayProcess.run(["inspect", cut.path])
        #expect(inspect.status == 0)
        #expect(inspect.stdout.contains("integrity:      damaged"))
    }

    @Test func unreadableInputExitsTwo() throws {
        let junk = Self.temp("junk.trace")
        try Data("definitely not an MCAP file".utf8).write(to: junk)
        defer { try? FileManager.default.removeItem(at: junk) }
        for command in ["inspect", "cat", "doctor"] {
            let r = try SyncReplayProcess.run([command, junk.path])
            #expect(r.status == 2, "\(command)")
            #expect(r.stderr.contains("not an MCAP file"))
            #expect(r.stderr.split(separator: "\n").count == 1)
            #expect(try SyncReplayProcess.run([command, "/nonexistent/x.trace"]).status == 2)
        }
        #expect(try SyncReplayProcess.run(["recover", junk.path, "-o", Self.temp("out").path]).status == 2)
        #expect(try SyncReplayProcess.run(["recover", Self.fixture]).status == 2)  // missing -o: usage error
    }

    /// Issue 16: a corpus trace cut two thirds into its only chunk. `doctor` says what it read
    /// from the torn chunk and what the cut lost; `recover` keeps those events (it kept none
    /// before) and the recovered trace is healthy.
    @Test func tornChunkDoctorAndRecoverSayWhatWasKept() throws {
        let full = Array(try Data(contentsOf: SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/no-progress-switch-5718.trace")))
        let chunk = try #require(try TraceHostileInputTests.layout(full).chunks.first)
        let cut = Self.temp("torn.trace"), out = Self.temp("torn-recovered.trace")
        defer { try? FileManager.default.removeItem(at: cut); try? FileManager.default.removeItem(at: out) }
        try Data(full.prefix(Int(chunk.lowerBound) + chunk.count * 2 / 3)).write(to: cut)
        let doctor = try SyncReplayProcess.run(["doctor", cut.path])
        #expect(doctor.status == 1)
        #expect(doctor.stdout.contains("the file ends inside the chunk at offset \(chunk.lowerBound): its "), "\(doctor.stdout)")
        #expect(doctor.stdout.contains("complete messages before the cut were read without a CRC check"))
        let r = try SyncReplayProcess.run(["recover", cut.path, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("of them from the chunk the input ends inside (no CRC check)"), "\(r.stdout)")
        #expect(!r.stdout.contains("kept 0 events"))
        #expect(try SyncReplayProcess.run(["doctor", out.path]).status == 0)
    }

    @Test func recoverWritesReadableFileAndNeverOverwritesInput() throws {
        let cut = try Self.cutFixture(at: 15000)
        let out = Self.temp("recovered.trace")
        defer { try? FileManager.default.removeItem(at: cut); try? FileManager.default.removeItem(at: out) }
        let before = try Data(contentsOf: cut)
        let r = try SyncReplayProcess.run(["recover", cut.path, "-o", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("kept ") && r.stdout.contains(" events") && r.stdout.contains("lost"))
        #expect(try SyncReplayProcess.run(["doctor", out.path]).status == 0)
        let same = try SyncReplayProcess.run(["recover", cut.path, "-o", cut.path])
        #expect(same.status == 2)
        #expect(try Data(contentsOf: cut) == before)
    }
}
