import ArgumentParser
import CommandExit
import FileInput
import Foundation
import Implementations
import Replay
import SyncMachine
import Timeline
import JSON

/// `syncreplay suite`: `suite DIR …` runs a corpus (the default subcommand), `suite merge …`
/// joins the reports of shards.
struct Suite: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Replay every trace of a directory against its goldens; merge shard reports.",
        discussion: """
        `syncreplay suite DIR …` is `syncreplay suite run DIR …`.

        Examples:
          syncreplay suite Traces --jobs 4 --junit syncreplay.xml
          syncreplay suite Traces --shard 1/2 --junit shard-1.xml
          syncreplay suite Traces --shard 2/2 --junit shard-2.xml
          syncreplay suite merge shard-1.xml shard-2.xml --junit all.xml
        """,
        subcommands: [SuiteRunCommand.self, SuiteMergeCommand.self],
        defaultSubcommand: SuiteRunCommand.self
    )
}

/// `syncreplay suite DIR` (DESIGN.md §6; harness-notes.md §6).
struct SuiteRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Replay every trace of a directory against its goldens.",
        discussion: """
        Every NAME.golden.json or NAME.<profile>.golden.json with a NAME.trace beside it is a case; the golden names its profile and mode. Goldens with no trace and traces with no golden are warnings. The summary ends with coverage: the decision kinds and reasons the corpus reached and those it never reached. Exit 1 when any case fails or errs.

        --shard K/N runs the K-th of N slices, for a CI's parallel jobs: a case's shard depends only on its name and its trace's size class (README "Suite shards"), so shards 1/N … N/N run every case exactly once. `syncreplay suite merge` joins their JUnit or JSON outputs.

        --html writes one self-contained page with every case, the first divergence of failing cases and the coverage; --timelines DIR also writes each case's timeline there and links it from the page.

        \(MachineRegistry.standard.helpText)

        Examples:
          syncreplay suite Traces --jobs 4 --junit syncreplay.xml
          syncreplay suite Traces --format tap
          syncreplay suite Traces --shard 2/3 --junit shard-2.xml
          syncreplay suite Traces --html report.html --timelines timelines
          syncreplay suite Traces --diff tm-v0.34,cometbft-v0.38 --junit diff.xml
        """
    )

    enum Format: String, CaseIterable, ExpressibleByArgument { case text, tap, json }

    @Argument(help: "Directory holding NAME.trace and NAME[.<profile>].golden.json files (scanned recursively).")
    var directory: String

    @Option(help: ArgumentHelp("Also write JUnit XML to FILE.", valueName: "FILE"))
    var junit: String?

    @Option(help: "Output format on stdout: text, tap or json.")
    var format: Format = .text

    @Option(help: "Cases replayed in parallel.")
    var jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Option(help: ArgumentHelp("Run only the K-th of N deterministic slices of the cases.", valueName: "K/N"))
    var shard: String?

    @Option(help: ArgumentHelp("Also write a self-contained HTML report to FILE.", valueName: "FILE"))
    var html: String?

    @Option(help: ArgumentHelp("Write each case's timeline into DIR (linked from --html).", valueName: "DIR"))
    var timelines: String?

    @Option(help: ArgumentHelp("Instead of goldens, replay every trace into these profiles and report which differ (`syncreplay diff`; one JUnit case per trace).", valueName: "A,B[,C…]"))
    var diff: ProfileSelection?

    @Option(name: .customLong("v2-queue"),
            help: ArgumentHelp("With --diff: the execution model of the v2 sides (\(MachineOption.v2Queue.valueList), default \(MachineOption.v2Queue.defaultValue)). Without --diff each golden's provenance names its model. \(ReplayChoiceOptions.v2QueueModels)",
                               valueName: "MODEL"))
    var v2Queue: String?

    func validate() throws {
        if v2Queue != nil && diff == nil {
            throw ValidationError("--v2-queue applies to suite --diff; without it each golden's provenance names the model it was recorded with")
        }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if diff != nil && (shard != nil || html != nil || timelines != nil || format != .text) {
            throw ValidationError("--diff writes the text table and --junit only (no --shard, --html, --timelines or --format)")
        }
        if let shard { do { _ = try SuiteShard(parsing: shard) } catch { throw ValidationError(error.message) } }
    }

    func run() throws {
        if let diff { return try runDiff(diff) }
        let run = try SuiteRun.run(
            directory: directory, registry: .standard, jobs: jobs, ci: ProcessInfo.processInfo.environment["CI"] == "true",
            tool: "syncreplay \(SyncReplay.version)", shard: try shard.map { try SuiteShard(parsing: $0) },
            load: { try ReplayTraceLoader.load(path: $0) },
            replay: { try ReplaySession.replay($0, $1, machines: .standard) })
        switch format {
        case .text:
            FileHandle.standardOutput.write(Data(run.text.utf8))
            if ProcessInfo.processInfo.environment["GITHUB_ACTIONS"] == "true" { run.githubAnnotations.forEach { print($0) } }
        case .tap: FileHandle.standardOutput.write(Data(run.tap.utf8))
        case .json: print(run.json.canonical)
        }
        if let junit { try write(run.junit(timestamp: ISO8601DateFormatter().string(from: Date())), to: junit, what: "JUnit file") }
        let pages = try timelines.map { try SuiteTimelines.write(run, to: $0) } ?? []
        if let html {
            let links = pages.map { $0.map { SuiteTimelines.relativeLink(to: $0, fromPage: html) } }
            try write(SuiteReportHTML.render(run, links: links), to: html, what: "HTML report")
        }
        if run.failed + run.errors > 0 { throw CommandFailure(.problemsFound, "") }
    }

    /// `--diff A,B`: the differential replay over the corpus (issue 14 §1).
    func runDiff(_ selection: ProfileSelection) throws {
        let profiles = try selection.resolve(in: .standard)
        let registry = try v2QueueRegistry(v2Queue, profiles: profiles)
        let run = try SuiteDiffRun.run(
            directory: directory, profiles: profiles, mode: .reactive, filter: DifferentialFilter(),
            registry: registry, jobs: jobs, tool: "syncreplay \(SyncReplay.version)", load: { try ReplayTraceLoader.load(path: $0) },
            replay: { try ReplaySession.replay($0, options: $1, hint: HintSelection(), machines: registry) })
        FileHandle.standardOutput.write(Data(run.text.utf8))
        if let junit { try write(run.junitDocument(timestamp: ISO8601DateFormatter().string(from: Date())).xml, to: junit, what: "JUnit file") }
        if run.differing + run.errors > 0 { throw CommandFailure(.problemsFound, "") }
    }
}

/// Writes an output file or fails with exit 2 naming it.
func write(_ text: String, to path: String, what: String) throws {
    do {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
        throw CommandFailure.badInput("cannot write \(what) \(path): \(error.localizedDescription)")
    }
}

/// `syncreplay suite merge a.xml b.xml … --junit all.xml` (or JSON outputs with --json).
struct SuiteMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the JUnit or JSON outputs of suite shards into one report.",
        discussion: """
        Reads the JUnit XML files (`suite --junit`) or JSON outputs (`suite --format json`) of several shards and writes one report with every case, in the order of the files given, and the combined coverage. A case found in two files is an error (the shards overlap). Prints the summary and the coverage; exit 1 when any case failed or erred.

        Examples:
          syncreplay suite Traces --shard 1/2 --junit shard-1.xml
          syncreplay suite Traces --shard 2/2 --junit shard-2.xml
          syncreplay suite merge shard-1.xml shard-2.xml --junit all.xml
          syncreplay suite Traces --shard 1/2 --format json > shard-1.json
          syncreplay suite Traces --shard 2/2 --format json > shard-2.json
          syncreplay suite merge shard-1.json shard-2.json --json all.json
        """
    )

    @Argument(help: ArgumentHelp("Shard reports: all JUnit XML, or all JSON.", valueName: "REPORT"))
    var reports: [String]

    @Option(help: ArgumentHelp("Write the merged JUnit XML to FILE (JUnit inputs).", valueName: "FILE"))
    var junit: String?

    @Option(help: ArgumentHelp("Write the merged JSON to FILE (JSON inputs).", valueName: "FILE"))
    var json: String?

    func validate() throws {
        if reports.isEmpty { throw ValidationError("name at least one report to merge") }
        if junit == nil && json == nil { throw ValidationError("name the merged output: --junit FILE or --json FILE") }
    }

    func run() throws {
        let inputs = try reports.map { path in (path, try InputFile.read(path, what: "report")) }
        let isJSON = inputs.map { $0.1.first(where: { ![0x20, 0x09, 0x0A, 0x0D].contains($0) }) == UInt8(ascii: "{") }
        guard Set(isJSON).count == 1 else { throw CommandFailure.badInput("the reports mix JUnit XML and JSON; merge one kind at a time") }
        let summary: (cases: Int, bad: Int, coverage: Coverage)
        if isJSON[0] {
            guard json != nil, junit == nil else { throw CommandFailure.badInput("JSON reports merge into --json FILE") }
            var docs: [(path: String, value: JSONValue)] = []
            for (path, bytes) in inputs {
                do { docs.append((path, try JSONParser.parse(bytes))) } catch { throw CommandFailure.badInput("\(path): \(error)") }
            }
            let merged = try SuiteMerge.json(docs)
            try write(merged.canonical + "\n", to: json!, what: "merged JSON")
            let s = merged["summary"]
            summary = (Int(s?["cases"]?.int64 ?? 0), Int((s?["failed"]?.int64 ?? 0) + (s?["errors"]?.int64 ?? 0)),
                       try Coverage(json: merged["coverage"] ?? .null))
        } else {
            guard junit != nil, json == nil else { throw CommandFailure.badInput("JUnit reports merge into --junit FILE") }
            let docs = try inputs.map { (path: $0.0, document: try JUnitDocument.parse(Data($0.1), path: $0.0)) }
            let merged = try JUnitDocument.merged(docs)
            try write(merged.xml, to: junit!, what: "merged JUnit file")
            summary = (merged.cases.count, merged.failures + merged.errors, merged.coverage)
        }
        print(summary.coverage.lines.joined(separator: "\n"))
        print("\(summary.cases) cases from \(reports.count) reports: \(summary.cases - summary.bad) passed, \(summary.bad) failed or erred")
        if summary.bad > 0 { throw CommandFailure(.problemsFound, "") }
    }
}
