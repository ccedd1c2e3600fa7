import ArgumentParser
import CommandExit
import FileInput
import Foundation
import Implementations
import Replay
import SyncMachine

/// Set by SIGINT while `reduce` runs: the reducer stops and the best result so far is written.
nonisolated(unsafe) private var reduceInterrupted: sig_atomic_t = 0

/// `syncreplay reduce TRACE (--expect GOLDEN | --diff A,B) -o MIN.trace` (issue 14 §2).
struct ReduceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reduce",
        abstract: "Cut a failing trace down to the few events that still fail the same way.",
        discussion: """
        Delta debugging (hierarchical ddmin) over the trace: whole peers (all their /p2p and /blocksync events), then contiguous height ranges, then single events, then shortening the chain the trace serves (no peer claims a block that no event holds); repeated until a pass removes nothing. Every candidate is a valid trace: the /node record and the end marker stay, a peer's messages only while it is connected.

        Failure identity (printed first): a candidate counts only if it fails the same way. With --expect, the decision at the golden's first divergence must still be decided the same way: same kind, same JSON Pointer tail, same reason text and words (heights and times may shift); an extra decision must still be decided, a missing one still be missing after the decision before it. With --diff, the first difference must be between the same two profiles, in the same decision kind, and also the same change (changed, only in A, only in B), pointer tail and reason text.

        Writes MIN.trace (-o) and beside it, for MIN.trace named MIN.trace: with --expect, MIN.<profile>.golden.json — the reduced trace's decisions with the golden's side put back at the first divergence, so `syncreplay MIN.trace --expect MIN.<profile>.golden.json` fails the same way; with --diff A,B, MIN.A.golden.json and MIN.B.golden.json, each profile's own decisions, so both pass and `syncreplay diff MIN.trace --profiles A,B` shows the difference. Existing files are replaced.

        Progress goes to stderr (phase, runs, events left). The result is deterministic: the same input gives the same bytes whatever --jobs is. --max-runs and --timeout bound the search, and Ctrl-C stops it; the best result so far is written either way.

        Examples:
          syncreplay reduce Traces/noblockresponse-rerequest-2475.trace \\
            --diff tm-v0.34,cometbft-v0.38 --ignore request,status_request \\
            --ignore-time -o min.trace
          syncreplay reduce Traces/local-validator-blocks-chain-3406.trace \\
            --diff tm-v0.35,cometbft-v0.38 -o min2.trace --max-runs 500 \\
            --timeout 120
        """
    )

    @Argument(help: "The failing trace (NAME.trace).")
    var trace: String

    @Option(help: ArgumentHelp("Reduce against this golden (its profile and mode).", valueName: "GOLDEN.json"))
    var expect: String?

    @Option(help: ArgumentHelp("Reduce the difference between two profiles.", valueName: "A,B"))
    var diff: ProfileSelection?

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the reduced trace.", valueName: "MIN.trace"))
    var output: String

    @Option(help: "strict or reactive (--diff; default reactive). With --expect the golden's mode.")
    var mode: ReplayMode?

    @Option(help: ArgumentHelp("Decision kinds left out of the comparison (--diff).", valueName: "KIND[,KIND]"))
    var ignore: DecisionKindList?

    @Flag(help: "Compare decisions without their virtual time and cause (--diff).")
    var ignoreTime = false

    @Option(help: "The most candidate replays.")
    var maxRuns: Int = 2000

    @Option(help: ArgumentHelp("Stop after this many seconds of wall-clock time and write the best so far.", valueName: "SECONDS"))
    var timeout: Int?

    @Option(help: "Candidates replayed in parallel.")
    var jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    func validate() throws {
        if (expect == nil) == (diff == nil) { throw ValidationError("name what fails: --expect GOLDEN or --diff A,B") }
        if diff != nil && diff!.names.count != 2 { throw ValidationError("--diff names exactly two profiles: A,B") }
        if expect != nil && (ignore != nil || ignoreTime) { throw ValidationError("--ignore and --ignore-time go with --diff") }
        if maxRuns < 1 { throw ValidationError("--max-runs must be at least 1") }
        if let timeout, timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
        if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if !output.hasSuffix(GoldenNaming.traceSuffix) { throw ValidationError("-o names a trace: MIN.trace") }
    }

    func run() throws {
        let registry = MachineRegistry.standard
        let tool = "syncreplay \(SyncReplay.version)"
        let target = try reductionTarget(registry)
        let reducible = try ReducibleTrace(path: trace)
        let oracle = ReductionOracle(target: target, replay: { try ReplaySession.replay($0, options: $1, hint: HintSelection(), machines: registry) })
        var reducer = TraceReducer(trace: reducible, oracle: oracle, maxRuns: maxRuns, jobs: jobs)
        let deadline = timeout.map { Date().addingTimeInterval(TimeInterval($0)) }
        reduceInterrupted = 0
        signal(SIGINT) { _ in reduceInterrupted = 1 }
        defer { signal(SIGINT, SIG_DFL) }
        let result = try reducer.run(progress: { p in
            if p.phase == "start" { CommandRunner.printError("reduce: failure identity: \(p.identity)") }
            CommandRunner.printError("reduce: \(p.phase): \(p.runs) runs, \(p.best) of \(p.original) events left")
        }, shouldStop: { reduceInterrupted != 0 || deadline.map { Date() >= $0 } == true })
        let outcome = try ReductionOutput.write(result, trace: reducible, to: output, target: target, registry: registry, tool: tool)
        if let why = result.stoppedEarly { CommandRunner.printError("reduce: \(why); the best result so far is written") }
        print("reduced \(trace) from \(reducible.entries.count) to \(result.kept.count) events in \(result.runs) runs (failure: \(result.identity))")
        for path in [output] + outcome { print("wrote \(path)") }
    }

    func reductionTarget(_ registry: MachineRegistry) throws -> ReductionTarget {
        if let diff {
            let p = try diff.resolve(in: registry)
            if p.contains(where: { $0.rawValue == ObservedSide.name }) {
                throw CommandFailure.badInput("reduce --diff takes two registered profiles; the observed side is the trace itself, which reduce cuts")
            }
            return .diff(p[0], p[1], mode: mode ?? .reactive, filter: DifferentialFilter(ignoredKinds: ignore?.kinds ?? [], ignoreTime: ignoreTime))
        }
        let golden: GoldenFile
        do { golden = try GoldenFile.decode(try InputFile.read(expect!, what: "golden")) } catch { throw CommandFailure.badInput("golden \(expect!): \(error)") }
        guard let profile = golden.provenance.profile ?? registry.defaultProfile else { throw CommandFailure.badInput("golden \(expect!) names no profile") }
        if let mode, mode != golden.provenance.mode {
            throw CommandFailure.badInput("--mode \(mode.rawValue) conflicts with the golden's mode \(golden.provenance.mode.rawValue) (\(expect!)); omit --mode")
        }
        return .golden(golden, profile: profile, mode: golden.provenance.mode)
    }
}
