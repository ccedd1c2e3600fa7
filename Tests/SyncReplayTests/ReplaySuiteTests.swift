import SyncMachine
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Replay
import Testing
import JSON

/// `syncreplay suite DIR`: cases, warnings, coverage, JUnit/TAP/JSON (harness-notes.md §6).
@Suite final class ReplaySuiteTests {
    let dir: URL

    /// A corpus: `good` (matches), `bad` (diverges), `lonely.trace` (no golden) and
    /// `ghost.golden.json` (no trace).
    init() throws {
        dir = try ReplayFixtures.directory()
        let env = ReplayFixtures.environment()
        for name in ["good", "bad"] {
            let trace = try ReplayFixtures.writeTrace(at: dir.appendingPathComponent("\(name).trace"))
            // Pivot events only: the profile is ignored (issue 17), the golden is NAME.golden.json.
            let r = try SyncReplayProcess.run([trace, "--profile", "tm-v0.34", "--record", "missing"], environment: env)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stderr.contains("note: --profile tm-v0.34 ignored"))
        }
        // `bad`: the trace changes behaviour; its golden's provenance is pointed at the new trace.
        let badTrace = dir.appendingPathComponent("bad.trace")
        try ReplayFixtures.writeTrace(at: badTrace, variant: .flippedSwitch)
        let goldenPath = dir.appendingPathComponent("bad.golden.json").path
        var g = try GoldenFile.decode(Array(FileManager.default.contents(atPath: goldenPath)!))
        g.provenance.traceSHA256 = try ReplayTraceLoader.load(path: badTrace.path).sha256
        try Data(g.encoded().utf8).write(to: URL(fileURLWithPath: goldenPath))
        try ReplayFixtures.writeTrace(at: dir.appendingPathComponent("lonely.trace"))
        try Data(g.encoded().utf8).write(to: dir.appendingPathComponent("ghost.golden.json"))
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func suite(_ args: [String]) throws -> SyncReplayProcess.Result {
        try SyncReplayProcess.run(["suite", dir.path] + args, environment: ReplayFixtures.environment(ci: true))
    }

    @Test func textSummaryWarningsAndCoverage() throws {
        let r = try suite(["--jobs", "2"])
        #expect(r.status == 1)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("STATUS"))
        #expect(lines[1].hasPrefix("FAIL    bad   -        reactive  13 "))
        #expect(lines[1].contains("first divergence at decision #2 (/decisions/2/allowed)"))
        #expect(lines[2] == "PASS    good  -        reactive  13")
        #expect(r.stdout.contains("warning: golden \(dir.path)/ghost.golden.json has no trace"))
        #expect(r.stdout.contains("warning: trace \(dir.path)/lonely.trace has no golden"))
        #expect(r.stdout.contains("reached pivot_switch ×10: beyond_range ×2, major_match ×3, major_mismatch ×1, minor_match ×2, not_covered ×2"))
        #expect(r.stdout.contains("never reached: request, status_request"))
        #expect(r.stdout.contains("pivot_extend reasons never reached: hint_inactive, beyond_range, major_mismatch, hint_disabled"))
        #expect(r.stdout.hasSuffix("2 cases: 1 passed, 1 failed, 0 errors\n"))
    }

    @Test func junitParsesBackAsXML() throws {
        let junit = dir.appendingPathComponent("out/junit.xml")
        try FileManager.default.createDirectory(at: junit.deletingLastPathComponent(), withIntermediateDirectories: true)
        let r = try suite(["--junit", junit.path, "--jobs", "1"])
        #expect(r.status == 1)
        let doc = try XMLDocument(contentsOf: junit, options: [])
        let root = try #require(doc.rootElement())
        #expect(root.name == "testsuites")
        #expect(root.attribute(forName: "tests")?.stringValue == "2")
        #expect(root.attribute(forName: "failures")?.stringValue == "1")
        let cases = try root.nodes(forXPath: "testsuite/testcase").compactMap { $0 as? XMLElement }
        #expect(cases.map { $0.attribute(forName: "name")?.stringValue } == ["bad", "good"])
        let bad = cases[0]
        let failure = try #require(bad.elements(forName: "failure").first)
        #expect(failure.attribute(forName: "message")?.stringValue?.hasPrefix("first divergence at decision #2") == true)
        let props = Dictionary(uniqueKeysWithValues: try bad.nodes(forXPath: "properties/property").compactMap { node -> (String, String)? in
            guard let e = node as? XMLElement, let n = e.attribute(forName: "name")?.stringValue,
                  let v = e.attribute(forName: "value")?.stringValue else { return nil }
            return (n, v)
        })
        #expect(props["first_divergence.pointer"] == "/decisions/2/allowed")
        #expect(props["profile"] == nil)  // a pivot-only trace has no block-sync profile
        #expect(props["trace.sha256"]?.count == 64)
        let out = try #require(bad.elements(forName: "system-out").first?.stringValue)
        #expect(out.contains("reproduce: syncreplay "))
        #expect(cases[1].elements(forName: "failure").isEmpty)
    }

    @Test func tapAndJSONFormats() throws {
        let tap = try suite(["--format", "tap"])
        #expect(tap.status == 1)
        let lines = tap.stdout.split(separator: "\n").map(String.init)
        #expect(Array(lines.prefix(3)) == ["TAP version 14", "1..2", "not ok 1 - bad"])
        #expect(lines.contains("  pointer: \"/decisions/2/allowed\""))
        #expect(lines.contains("ok 2 - good"))
        let json = try suite(["--format", "json"])
        let value = try JSONParser.parse(json.stdout)
        #expect(value["summary"]?["failed"] == .int(1))
        #expect(value["cases"]?.arrayValue?.count == 2)
        #expect(value["warnings"]?.arrayValue?.count == 2)
        #expect(value["coverage"]?["never_reached"]?.arrayValue?.contains(.string("block_applied")) == true)
    }

    @Test func passingSuiteExitsZeroAndMissingDirectoryTwo() throws {
        try FileManager.default.removeItem(at: dir.appendingPathComponent("bad.golden.json"))
        let r = try suite([])
        #expect(r.status == 0, "\(r.stdout)")
        #expect(try SyncReplayProcess.run(["suite", dir.appendingPathComponent("none").path]).status == 2)
    }
}
