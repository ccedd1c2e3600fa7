import Foundation
import Replay
import Testing
import Timeline
import JSON

/// `suite --shard K/N`, `suite merge` and `suite --html` (issue 15).
@Suite final class SuiteShardTests {
    let dir: URL
    /// Small corpus cases copied into a scratch suite (the whole corpus is `Tools/checks/corpus.sh`'s job).
    static let cases = ["catchup-basic", "bad-signature-pair-blame", "disconnect-reconnect", "duplicate-block-response",
                        "noblockresponse-rerequest-2475", "base-greater-than-height"]

    init() throws {
        dir = try ReplayFixtures.directory()
        let corpus = SyncReplayProcess.packageDirectory.appendingPathComponent("Traces")
        let files = try FileManager.default.contentsOfDirectory(atPath: corpus.path).sorted()
        for name in Self.cases {
            for file in files where file.hasPrefix(name + ".") && (file.hasSuffix(".trace") || file.hasSuffix(".golden.json")) {
                try FileManager.default.copyItem(at: corpus.appendingPathComponent(file), to: dir.appendingPathComponent(file))
            }
        }
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    func run(_ args: [String]) throws -> SyncReplayProcess.Result {
        try SyncReplayProcess.run(args, environment: ReplayFixtures.environment(ci: true))
    }

    static func caseNames(junit path: String) throws -> [String] {
        try JUnitDocument.parse(Data(contentsOf: URL(fileURLWithPath: path)), path: path).cases.map(\.name)
    }

    @Test func shardsRunEveryCaseOnceAndMergeEqualsAFullRun() throws {
        let full = dir.appendingPathComponent("full.xml").path
        #expect(try run(["suite", dir.path, "--jobs", "2", "--junit", full]).status == 0)
        var shardFiles: [String] = [], seen: [String] = []
        for k in 1...3 {
            let path = dir.appendingPathComponent("shard-\(k).xml").path
            let r = try run(["suite", dir.path, "--shard", "\(k)/3", "--jobs", "2", "--junit", path])
            #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
            shardFiles.append(path)
            seen += try Self.caseNames(junit: path)
        }
        let fullNames = try Self.caseNames(junit: full)
        #expect(fullNames.count >= 12)
        #expect(seen.sorted() == fullNames.sorted())
        #expect(Set(seen).count == seen.count)
        let merged = dir.appendingPathComponent("all.xml").path
        let m = try run(["suite", "merge"] + shardFiles + ["--junit", merged])
        #expect(m.status == 0, "\(m.stderr)")
        #expect(m.stdout.hasSuffix("\(fullNames.count) cases from 3 reports: \(fullNames.count) passed, 0 failed or erred\n"))
        let fullDoc = try JUnitDocument.parse(Data(contentsOf: URL(fileURLWithPath: full)), path: full)
        let mergedDoc = try JUnitDocument.parse(Data(contentsOf: URL(fileURLWithPath: merged)), path: merged)
        #expect(mergedDoc.cases.map(\.name).sorted() == fullNames.sorted())
        #expect(mergedDoc.coverage == fullDoc.coverage)
        // The same shard twice overlaps: refused.
        let twice = try run(["suite", "merge", shardFiles[0], shardFiles[0], "--junit", merged])
        #expect(twice.status == 2)
        #expect(twice.stderr.contains("the reports overlap"))
    }

    @Test func jsonReportsMergeWithTheirCoverage() throws {
        var files: [String] = []
        for k in 1...2 {
            let r = try run(["suite", dir.path, "--shard", "\(k)/2", "--jobs", "2", "--format", "json"])
            let path = dir.appendingPathComponent("shard-\(k).json").path
            try Data(r.stdout.utf8).write(to: URL(fileURLWithPath: path))
            files.append(path)
        }
        let full = try JSONParser.parse(try run(["suite", dir.path, "--jobs", "2", "--format", "json"]).stdout)
        let out = dir.appendingPathComponent("all.json").path
        #expect(try run(["suite", "merge"] + files + ["--json", out]).status == 0)
        let merged = try JSONParser.parse(Array(FileManager.default.contents(atPath: out)!))
        #expect(merged["coverage"] == full["coverage"])
        #expect(merged["summary"] == full["summary"])
    }

    @Test func aCasesShardDependsOnlyOnItsNameAndSizeClass() throws {
        // The documented rule, pinned: FNV-1a-64("<class>/<name>") mod N + 1.
        #expect(SuiteShard.shard(of: "catchup-basic.tm-v0.34", sizeClass: .small, count: 3)
                == SuiteShard.shard(of: "catchup-basic.tm-v0.34", sizeClass: .small, count: 3))
        var counts = [0, 0, 0]
        for i in 0..<3000 { counts[SuiteShard.shard(of: "case-\(i)", sizeClass: .small, count: 3) - 1] += 1 }
        #expect(counts.allSatisfy { (900...1100).contains($0) }, "\(counts)")
        #expect(SuiteShard.SizeClass(bytes: 6_858_470) == .large)
        #expect(SuiteShard.SizeClass(bytes: 111_461) == .small)
        for bad in ["0/3", "4/3", "1/0", "x/3", "1", "1/2/3"] {
            #expect(throws: CaseError.self) { try SuiteShard(parsing: bad) }
        }
        let r = try run(["suite", dir.path, "--shard", "4/3"])
        #expect(r.status == 2)
    }

    @Test func htmlReportLinksEachCasesTimeline() throws {
        let report = dir.appendingPathComponent("out/report.html").path
        let timelines = dir.appendingPathComponent("out/timelines").path
        try FileManager.default.createDirectory(atPath: dir.appendingPathComponent("out").path, withIntermediateDirectories: true)
        #expect(try run(["suite", dir.path, "--shard", "1/2", "--jobs", "2", "--html", report, "--timelines", timelines]).status == 0)
        let html = try String(contentsOfFile: report, encoding: .utf8)
        let pages = try FileManager.default.contentsOfDirectory(atPath: timelines).sorted()
        #expect(!pages.isEmpty)
        for page in pages { #expect(html.contains("<a href=\"timelines/\(page)\">timeline</a>"), "\(page)") }
        #expect(html.contains("<p id=\"summary\">\(pages.count) cases: \(pages.count) passed, 0 failed, 0 errors</p>"))
        #expect(html.contains("<table id=\"coverage\">"))
    }
}
