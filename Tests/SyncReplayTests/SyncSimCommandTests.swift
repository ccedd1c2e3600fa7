import Foundation
import Testing

/// `syncsim` as a user runs it: exit codes and one-line errors (DESIGN.md §6; issue 7).
@Suite struct SyncSimCommandTests {
    static var syncsim: URL { SyncReplayProcess.product("syncsim") }

    func run(_ arguments: [String]) throws -> SyncReplayProcess.Result {
        try SyncReplayProcess.run(arguments, program: Self.syncsim)
    }

    func scenarioFile(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("scenario-\(UUID().uuidString).scenario.toml").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func badScenarioExitsTwoWithLineAndKey() throws {
        let path = try scenarioFile("[chain]\nseed = \"x\"\nlength = \"forty\"\n[node]\nprofile = \"tm-v0.34\"\n[[peer]]\nid = \"p\"\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try run([path, "-o", "/dev/null"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("line 3, key chain.length: must be an integer"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    /// Issue 16's reproducers: toml++ aborted (SIGABRT, exit 134) on these bytes; the Swift
    /// reader gives exit 2 and one line with line and column, with `-o` and with `--check`.
    @Test(arguments: [("[\n", "line 1: TOML syntax: expected a key, got the end of the line (column 2)"),
                      ("s=[}", "line 1: TOML syntax: expected a value, got '}' (column 4)")])
    func malformedTOMLExitsTwoWithLineAndColumn(_ text: String, _ message: String) throws {
        let path = try scenarioFile(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for mode in [["-o", "/dev/null"], ["--check"]] {
            let r = try run([path] + mode)
            #expect(r.status == 2, "\(mode): \(r.stderr)")
            #expect(r.stderr.contains(message), "\(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count == 1)
        }
    }

    @Test func missingFileAndMissingOutputExitTwo() throws {
        #expect(try run(["/nonexistent/x.scenario.toml", "-o", "/tmp/x.trace"]).status == 2)
        #expect(try run(["Traces/catchup-basic.scenario.toml"]).status == 2)
    }

    /// `--review`: every table of a committed case holds (exit 0); a wrong expectation next to
    /// the same goldens is reported with its line and exits 1; a missing golden too.
    @Test func reviewChecksExpectationsAgainstGoldens() throws {
        let traces = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces")
        let ok = try run([traces.appendingPathComponent("catchup-basic.scenario.toml").path, "--review"])
        #expect(ok.status == 0, "\(ok.stdout)\(ok.stderr)")
        // Five tables: the three v0 profiles and the two v2 ones (issue 13).
        #expect(ok.stdout.split(separator: "\n").count == 5 && ok.stdout.split(separator: "\n").allSatisfy { $0.hasSuffix(": ok") })

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("review-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try String(contentsOf: traces.appendingPathComponent("catchup-basic.scenario.toml"), encoding: .utf8)
        try Data(text.replacingOccurrences(of: "last_applied = 39", with: "last_applied = 38").utf8)
            .write(to: dir.appendingPathComponent("catchup-basic.scenario.toml"))
        for p in ["tm-v0.34", "cometbft-v0.38"] {
            try FileManager.default.copyItem(at: traces.appendingPathComponent("catchup-basic.\(p).golden.json"),
                                             to: dir.appendingPathComponent("catchup-basic.\(p).golden.json"))
        }
        let bad = try run([dir.appendingPathComponent("catchup-basic.scenario.toml").path, "--review"])
        #expect(bad.status == 1)
        #expect(bad.stdout.contains("tm-v0.34: last_applied: expected 38, golden has 39"), "\(bad.stdout)")
        #expect(bad.stdout.contains("tm-v0.35: no golden at"), "\(bad.stdout)")
        #expect(bad.stderr.contains("5 of 5 expectation tables fail"), "\(bad.stderr)")
    }

    /// A pivot-only scenario needs no reactor: the trace is written, twice the same bytes.
    @Test func writesTheSameTraceTwice() throws {
        let scenario = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/pivot-file-s-switch.scenario.toml").path
        let dir = FileManager.default.temporaryDirectory
        let a = dir.appendingPathComponent("sim-a-\(UUID().uuidString).trace").path
        let b = dir.appendingPathComponent("sim-b-\(UUID().uuidString).trace").path
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        #expect(try run([scenario, "-o", a]).status == 0)
        #expect(try run([scenario, "-o", b]).status == 0)
        let committed = FileManager.default.contents(atPath: SyncReplayProcess.packageDirectory
            .appendingPathComponent("Traces/pivot-file-s-switch.trace").path)
        #expect(FileManager.default.contents(atPath: a) == FileManager.default.contents(atPath: b))
        #expect(FileManager.default.contents(atPath: a) == committed)
    }
}
