import Foundation
import Implementations
import JSON
import Replay
import Sim
import SyncDriver
import SyncMachine
import Testing

/// `--v2-queue fifo|heap` (issue 13 item 1): resolved like the profile (option > golden's
/// provenance > default `fifo`), recorded in the provenance only when not the default, refused
/// for a v0 profile; and a scenario table's `v2_queue` key.
@Suite struct V2QueueOptionTests {
    static let heap = [MachineOption.v2Queue.name: "heap"]

    static func golden(_ profile: ProfileName, options: [String: String] = [:]) -> (path: String, provenance: Provenance) {
        ("x.golden.json", Provenance(traceSHA256: String(repeating: "0", count: 64), traceEvents: 1, implementation: MachineRegistry.standard.implementation(of: profile)?.name,
                                     profile: profile, mode: .reactive, tool: "t", options: options))
    }

    static func resolve(_ request: ReplayRequest, golden: (path: String, provenance: Provenance)? = nil) -> String {
        do {
            let r = try request.resolve(trace: ReplayRequestTests.trace(hint: ""), golden: golden, registry: .standard)
            return "\(r.profile.rawValue) \(r.options.implementationOptions.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" })"
        } catch {
            return "error: \(error.message)"
        }
    }

    @Test func resolutionOrder() {
        let v2: ProfileName = "tm-v0.34-v2"
        // Default: fifo, recorded as nothing.
        #expect(Self.resolve(ReplayRequest(profile: v2)) == "tm-v0.34-v2 []")
        // Option.
        #expect(Self.resolve(ReplayRequest(profile: v2, implementationOptions: Self.heap)) == "tm-v0.34-v2 [\"v2-queue=heap\"]")
        // `fifo` spelt out is the default: nothing recorded.
        #expect(Self.resolve(ReplayRequest(profile: v2, implementationOptions: ["v2-queue": "fifo"])) == "tm-v0.34-v2 []")
        // Golden, with the profile from it too.
        #expect(Self.resolve(ReplayRequest(), golden: Self.golden(v2, options: Self.heap)) == "tm-v0.34-v2 [\"v2-queue=heap\"]")
        // Option agreeing with the golden.
        #expect(Self.resolve(ReplayRequest(implementationOptions: Self.heap), golden: Self.golden(v2, options: Self.heap)) == "tm-v0.34-v2 [\"v2-queue=heap\"]")
        // Option conflicting with the golden (a fifo golden: no options).
        #expect(Self.resolve(ReplayRequest(implementationOptions: Self.heap), golden: Self.golden(v2))
                == "error: --v2-queue heap conflicts with the golden's v2-queue fifo (x.golden.json); omit --v2-queue")
        // A v0 profile, explicit or resolved (the registry default).
        #expect(Self.resolve(ReplayRequest(profile: "tm-v0.34", implementationOptions: Self.heap))
                == "error: --v2-queue applies to the v2 profiles (tm-v0.34-v2, tm-v0.34.22-v2), not tm-v0.34")
        #expect(Self.resolve(ReplayRequest(implementationOptions: Self.heap))
                == "error: --v2-queue applies to the v2 profiles (tm-v0.34-v2, tm-v0.34.22-v2), not cometbft-v0.38")
        #expect(Self.resolve(ReplayRequest(profile: v2, implementationOptions: ["v2-queue": "lifo"]))
                == "error: --v2-queue must be fifo, heap or heap-lag, not \"lifo\"")
    }

    /// `--check-determinism`'s children get the resolved model.
    @Test func childrenGetTheModel() throws {
        let parent = try ReplayRequest().resolve(trace: ReplayRequestTests.trace(hint: ""), golden: Self.golden("tm-v0.34-v2", options: Self.heap),
                                                 registry: .standard)
        #expect(parent.arguments.prefix(6) == ["--profile", "tm-v0.34-v2", "--mode", "reactive", "--v2-queue", "heap"])
        let child = try parent.request.resolve(trace: ReplayRequestTests.trace(hint: ""), golden: nil, registry: .standard)
        #expect(child.options.implementationOptions == Self.heap)
    }

    @Test func provenanceRoundTrip() throws {
        let heap = GoldenFile(provenance: Self.golden("tm-v0.34-v2", options: Self.heap).provenance, decisions: [])
        let text = heap.encoded()
        #expect(text.contains("\"options\":{\"v2-queue\":\"heap\"}"), "\(text)")
        #expect(try GoldenFile.decode(Array(text.utf8)).provenance.options == Self.heap)
        // The default is never written, so fifo goldens are byte-identical to those from before the flag.
        let fifo = GoldenFile(provenance: Self.golden("tm-v0.34-v2").provenance, decisions: []).encoded()
        #expect(!fifo.contains("options"))
        func refusal(_ options: String) -> String {
            let bad = text.replacingOccurrences(of: "\"options\":{\"v2-queue\":\"heap\"}", with: "\"options\":\(options)")
            do { _ = try GoldenFile.decode(Array(bad.utf8)); return "decoded" } catch { return error.description }
        }
        #expect(refusal("{\"v3-queue\":\"heap\"}") == "unknown option \"v3-queue\" in provenance (known: v2-queue)")
        #expect(refusal("{\"v2-queue\":\"lifo\"}") == "provenance option \"v2-queue\" must be fifo, heap or heap-lag")
        #expect(refusal("{\"v2-queue\":\"fifo\"}") == "provenance option \"v2-queue\" is \"fifo\", the default: leave it out")
        #expect(refusal("[]") == "provenance \"options\" must be an object")
    }

    /// The registry knows which implementation takes the option, and `v2-queue`'s values are the
    /// v2 models.
    @Test func optionTableMatchesTheImplementations() {
        #expect(MachineOption.v2Queue.values == ["fifo", "heap", "heap-lag"] && MachineOption.v2Queue.defaultValue == "fifo")
        #expect(MachineRegistry.standard.profiles(taking: "v2-queue").map(\.rawValue) == ["tm-v0.34-v2", "tm-v0.34.22-v2"])
    }

    /// A scenario table's `v2_queue`: only for v2 profiles, only fifo or heap; it becomes the
    /// recording options (`syncsim --expectations`) and the provenance the review requires.
    @Test func scenarioKey() throws {
        let base = SimTOMLTests.minimal + "[expect.\"PROFILE\"]\nspec = \"§v2.6\"\nv2_queue = \"VALUE\"\n"
        func parse(_ profile: String, _ value: String) -> String {
            do {
                let e = try #require(try Scenario.parse(base.replacingOccurrences(of: "PROFILE", with: profile)
                    .replacingOccurrences(of: "VALUE", with: value)).expectations.first)
                return (e.implementationArguments + e.implementationOptions.map { "\($0.key)=\($0.value)" }).joined(separator: " ")
            } catch {
                return "\(error)"
            }
        }
        #expect(parse("tm-v0.34-v2", "heap") == "--v2-queue heap v2-queue=heap")
        #expect(parse("tm-v0.34-v2", "fifo") == "--v2-queue fifo")
        #expect(parse("tm-v0.34", "heap") == "line 10, key expect.tm-v0.34.v2_queue: applies to the v2 profiles (tm-v0.34-v2, tm-v0.34.22-v2), not tm-v0.34")
        #expect(parse("tm-v0.34-v2", "lifo") == "line 10, key expect.tm-v0.34-v2.v2_queue: must be fifo, heap or heap-lag")
    }
}

/// `scheduler_fail` (issue 13 item 4): a decision, compressed in goldens as a periodic run.
@Suite struct SchedulerFailDecisionTests {
    @Test func periodicRunRoundTrip() throws {
        let ms: UInt64 = 1_000_000
        var decisions = (0..<50).map { Decision(.schedulerFail(reason: "cannot find peer for height 7"), time: (100 + 20 * UInt64($0)) * ms, cause: .timer("schedule")) }
        decisions += (0..<3).map { Decision(.schedulerFail(reason: "cannot find peer for height 8"), time: (1100 + 20 * UInt64($0)) * ms, cause: .timer("schedule")) }
        let golden = GoldenFile(provenance: Provenance(traceSHA256: String(repeating: "0", count: 64), traceEvents: 1, implementation: "v2",
                                                       profile: "tm-v0.34-v2", mode: .reactive, tool: "t"), decisions: decisions)
        // One periodic line for the first reason; the three of another reason stay lines.
        #expect(golden.entries.count == 4)
        guard case .periodic(let run) = golden.entries[0] else { Issue.record("no periodic run"); return }
        #expect(run.count == 50 && run.period == 20 * ms && run.timer == "schedule")
        let text = golden.encoded()
        #expect(text.contains("{\"count\":50,\"kind\":\"scheduler_fail\",\"period\":20000000,\"reason\":\"cannot find peer for height 7\",\"t\":[100000000,1080000000],\"timer\":\"schedule\"}"), "\(text)")
        let decoded = try GoldenFile.decode(Array(text.utf8))
        #expect(decoded == golden)
        #expect(GoldenComparison.compare(expected: decoded.entries, actual: decisions).matches)
        var changed = decisions
        changed[10] = Decision(.schedulerFail(reason: "cannot find peer for height 9"), time: changed[10].time, cause: changed[10].cause)
        #expect(!GoldenComparison.compare(expected: decoded.entries, actual: changed).matches)
    }
}

/// `--v2-queue` on the command line: error lines, a heap golden recorded and replayed, its
/// provenance obeyed, and `--check-determinism` children given the model.
@Suite(.serialized) final class V2QueueCommandTests {
    let dir: URL
    let trace: String

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("v2queue-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        trace = dir.appendingPathComponent("c.trace").path
        try FileManager.default.copyItem(atPath: SyncReplayProcess.packageDirectory.appendingPathComponent("Traces/catchup-basic.trace").path,
                                         toPath: trace)
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    @Test func errorLines() throws {
        let v0 = try SyncReplayProcess.run([trace, "--profile", "cometbft-v0.38", "--v2-queue", "heap"])
        #expect(v0.status == 2)
        #expect(v0.stderr == "syncreplay: --v2-queue applies to the v2 profiles (tm-v0.34-v2, tm-v0.34.22-v2), not cometbft-v0.38\n", "\(v0.stderr)")
        let bad = try SyncReplayProcess.run([trace, "--profile", "tm-v0.34-v2", "--v2-queue", "lifo"])
        #expect(bad.status == 2 && bad.stderr.contains("--v2-queue must be fifo, heap or heap-lag, not \"lifo\""), "\(bad.stderr)")
        let timeline = try SyncReplayProcess.run(["timeline", trace, "--profile", "tm-v0.34", "--v2-queue", "heap", "-o", dir.appendingPathComponent("t.html").path])
        #expect(timeline.status == 2 && timeline.stderr.contains("--v2-queue applies to the v2 profiles"), "\(timeline.stderr)")
        let diff = try SyncReplayProcess.run(["diff", trace, "--profiles", "tm-v0.34,cometbft-v0.38", "--v2-queue", "heap"])
        #expect(diff.status == 2 && diff.stderr.contains("--v2-queue applies to the v2 profiles (tm-v0.34-v2, tm-v0.34.22-v2), not tm-v0.34, cometbft-v0.38"), "\(diff.stderr)")
        let suite = try SyncReplayProcess.run(["suite", dir.path, "--v2-queue", "heap"])
        #expect(suite.status == 2 && suite.stderr.contains("--v2-queue applies to suite --diff"), "\(suite.stderr)")
    }

    @Test func heapGoldenRoundTrip() throws {
        let recorded = try SyncReplayProcess.run([trace, "--profile", "tm-v0.34-v2", "--v2-queue", "heap", "--record", "missing"], environment: ReplayFixtures.environment())
        #expect(recorded.status == 0, "\(recorded.stdout)\(recorded.stderr)")
        let golden = dir.appendingPathComponent("c.tm-v0.34-v2.golden.json").path
        let text = try String(contentsOfFile: golden, encoding: .utf8)
        #expect(text.contains("\"options\":{\"v2-queue\":\"heap\"}"), "\(text)")
        // The golden names the model: no flag needed, a conflicting one refused.
        let replayed = try SyncReplayProcess.run([trace, "--expect", golden])
        #expect(replayed.status == 0, "\(replayed.stdout)\(replayed.stderr)")
        let conflict = try SyncReplayProcess.run([trace, "--expect", golden, "--v2-queue", "fifo"])
        #expect(conflict.status == 2 && conflict.stderr.contains("--v2-queue fifo conflicts with the golden's v2-queue heap"), "\(conflict.stderr)")
        let checked = try SyncReplayProcess.run([trace, "--expect", golden, "--check-determinism", "--report", "json"])
        #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
        #expect(try JSONParser.parse(checked.stdout)["options"] == .array(["--profile", "tm-v0.34-v2", "--mode", "reactive", "--v2-queue", "heap", "--max-span", "7d"].map { .string($0) }))
    }
}
