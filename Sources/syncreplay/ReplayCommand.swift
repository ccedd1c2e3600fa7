import ArgumentParser
import CommandExit
import Foundation
import Implementations
import Replay
import SyncMachine
import JSON

extension ProfileName: ExpressibleByArgument {
    public init?(argument: String) { self.init(argument) }
}
extension ReplayMode: ExpressibleByArgument {}
extension RecordMode: ExpressibleByArgument {}
extension CaseError: InputError {}
extension VirtualSpan: ExpressibleByArgument {
    public init?(argument: String) { self.init(text: argument) }
}

/// Report formats of the replay command.
enum ReportFormat: String, CaseIterable, ExpressibleByArgument {
    case text, json
}

/// `syncreplay TRACE --expect GOLDEN.json …` (the default command; DESIGN.md §3, §4, §6).
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a trace and compare its decisions with a golden file.",
        discussion: """
        The default command: `syncreplay TRACE …` is `syncreplay replay TRACE …`.

        Options left out come from the golden's provenance (profile, mode, the v2 profiles' --v2-queue); an option that conflicts with the golden exits 2. Without a golden: the trace's profile hint, else cometbft-v0.38, and mode reactive (it works on any trace). The golden defaults to NAME.golden.json beside NAME.trace (NAME.<profile>.golden.json with --profile).

        A failing comparison exits 1, prints the report ("first divergence" …) and, when CI is not "true", writes NAME.golden.new.json beside the golden for review. --record missing|failed|all writes goldens instead (refused when CI=true).

        A trace without /blocksync events (e.g. Conflux fork events only) has no block-sync profile: its golden is NAME.golden.json, its provenance names no profile, and --profile is ignored with a note on stderr.

        A pivot check whose event carries the real node's result (observed) and that the validator decides the other way is an observed_mismatch decision. It fails the replay (exit 1, nothing written even with --record) unless --accept-observed-mismatch is given, or the golden was recorded with it: then the golden holds the mismatch as a known disagreement.

        Examples:
          syncreplay Traces/catchup-basic.trace \\
            --expect Traces/catchup-basic.tm-v0.34.golden.json
          syncreplay Traces/pivot-file-s-switch.trace --profile cometbft-v0.38 \\
            --hint docs/examples/S.bin \\
            --hint-checksum \\
            30fe03f52e4d111da234bfb679a4e3cfdeba2b77fc057b73a4d1b5e827b075f1
          syncreplay Traces/catchup-basic.trace --profile tm-v0.35 --check-determinism
        """
    )

    @Argument(help: "The trace to replay (NAME.trace).")
    var trace: String

    @Option(help: ArgumentHelp("The golden file to compare with.", valueName: "GOLDEN.json"))
    var expect: String?

    @OptionGroup var choice: ReplayChoiceOptions

    @Option(help: "Write goldens: missing (new ones only), failed (rewrite failing ones), all.")
    var record: RecordMode?

    @Option(help: "Report format on stdout: text or json (json writes only JSON).")
    var report: ReportFormat = .text

    @Flag(help: "Record observed_mismatch decisions (the validator disagrees with a result the real node logged) in the golden as known disagreements instead of failing.")
    var acceptObservedMismatch = false

    @Option(help: "Input events and decisions shown around the first divergence.")
    var context: Int = 3

    @Flag(help: "Replay in two separate processes and compare the decision-log digests (exit 4 on mismatch).")
    var checkDeterminism = false

    @Flag(help: "Check the machine's invariants after every step (blocks applied once in order, requests inside the peer's range and under the pending cap, none to removed peers, time never backwards); a violation exits 2 naming the step.")
    var checkInvariants = false

    @Option(help: ArgumentHelp("The most virtual time the trace's events may cover, first to last, as a whole number with unit d, h, m, s, ms, us or ns; an event beyond it exits 2 naming it. Quiet stretches cost nothing (idle skipping), but the 10 s status broadcast is still one decision per period.",
                               valueName: "SPAN"))
    var maxSpan: VirtualSpan = .defaultMaximum

    @Flag(help: .hidden)
    var emitDecisions = false

    @Flag(help: .hidden)
    var plantDictionaryOrder = false

    var ci: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    /// Everything the replay is parameterised by, as given on the command line.
    var request: ReplayRequest {
        var r = choice.request
        r.maxSpan = maxSpan
        r.checkInvariants = checkInvariants
        r.plantDictionaryOrder = plantDictionaryOrder
        return r
    }

    /// The golden case this command runs (also what `--check-determinism` resolves with).
    var goldenCase: GoldenCase {
        GoldenCase(registry: .standard, tracePath: trace, goldenPath: expect, request: request, record: record, ci: ci,
                   contextSize: context, tool: "syncreplay \(SyncReplay.version)",
                   extraArguments: acceptObservedMismatch ? ["--accept-observed-mismatch"] : [],
                   acceptObservedMismatch: acceptObservedMismatch)
    }

    func validate() throws {
        if context < 0 { throw ValidationError("--context must be 0 or more") }
        if checkDeterminism && record != nil { throw ValidationError("--check-determinism cannot be combined with --record") }
        if emitDecisions && (choice.profile == nil || choice.mode == nil) {
            throw ValidationError("--emit-decisions replays with the options it is given: pass --profile and --mode")
        }
    }

    func run() throws {
        if emitDecisions { return try emit() }
        if checkDeterminism { return try DeterminismCheck(command: self).run() }
        var goldenCase = goldenCase
        goldenCase.compareAsProduced = true
        let outcome = try goldenCase.run(load: { try ReplayTraceLoader.open(path: $0) },
                                         replay: { try ReplaySession.replay($0, $1, machines: .standard) })
        for note in outcome.header.notes { CommandRunner.printError(note) }
        switch outcome {
        case .matched(let h, let result):
            output(text: "ok \(h.caseName): \(result.decisionCount) decisions match \(h.goldenPath) (profile \(h.profileName), mode \(h.mode.rawValue))",
                   json: ["status": .string("match"), "golden": .string(h.goldenPath), "decisions": .int(Int64(result.decisionCount)),
                          "profile": h.profile.map { .string($0.rawValue) } ?? .null, "mode": .string(h.mode.rawValue), "trace_sha256": .string(h.traceSHA256)])
        case .recorded(let h, let result, let path, let reason):
            output(text: "recorded \(path): \(result.decisions.count) decisions (--record \(reason.rawValue); profile \(h.profileName), mode \(h.mode.rawValue))",
                   json: ["status": .string("recorded"), "golden": .string(path), "decisions": .int(Int64(result.decisions.count)),
                          "profile": h.profile.map { .string($0.rawValue) } ?? .null, "mode": .string(h.mode.rawValue), "trace_sha256": .string(h.traceSHA256)])
        case .diverged(let r, _, let pending):
            switch report {
            case .text:
                var text = r.text
                if let pending { text += "pending golden written: \(pending) (review it, then move it over \(r.header.goldenPath))\n" }
                FileHandle.standardOutput.write(Data(text.utf8))
            case .json:
                var json = r.json
                if case .object(var m) = json { m["pending"] = pending.map { .string($0) } ?? .null; json = .object(m) }
                print(json.canonical)
            }
            throw CommandFailure(.problemsFound, "")
        case .disagreed(let r, _):
            switch report {
            case .text: FileHandle.standardOutput.write(Data(r.text.utf8))
            case .json: print(r.json.canonical)
            }
            throw CommandFailure(.problemsFound, "")
        }
    }

    func output(text: String, json: JSONObject) {
        switch report {
        case .text: print(text)
        case .json: print(JSONValue.object(json).canonical)
        }
    }

    /// Child mode of `--check-determinism`: replay with exactly the options given (the parent's
    /// resolved ones, `ResolvedReplay.arguments`; no golden is read), print the canonical
    /// decision lines, then the digest.
    func emit() throws {
        let loaded = try ReplayTraceLoader.open(path: trace)
        let resolved = try request.resolve(trace: loaded, golden: nil, registry: .standard)
        let result = try ReplaySession.replay(loaded, resolved, machines: .standard)
        var out = ""
        for d in result.decisions { out += d.json.canonical + "\n" }
        out += "digest \(result.digest) decisions \(result.decisions.count) profile \(resolved.profile.rawValue) mode \(resolved.mode.rawValue)\n"
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
