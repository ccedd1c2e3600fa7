import ArgumentParser
import CometWire
import CommandExit
import Foundation
import Implementations
import Replay
import SyncMachine
import SyncTrace

/// `syncreplay bench reduce` (issue 14 §2): the corpus's long case with one planted bad block,
/// reduced between two profiles, next to the time of full replays of the same trace.
struct BenchReduce: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reduce",
        abstract: "Reduce the long corpus case with one planted bad block; time it against full replays.",
        discussion: """
        Plants a bad block in --trace: every recorded copy of block --height gets another AppHash, so its block ID no longer matches the commit of the next block and the node cannot get past it. Then `reduce --diff A,B --ignore request,status_request,respond --ignore-time` runs on it (the versions word the removal of the blamed peers differently) with --jobs replays at a time, and the reduced size, the runs, the failure identity and the wall time are printed next to the reference: one load + replay of the planted trace per profile, measured before and after the reduction. The issue's target: at most 50 events in under 60 s on 2 cores. Build in release first.

        Example:
          swift build -c release && .build/release/syncreplay bench reduce
        """
    )

    @Option(help: "The trace to plant the bad block in.")
    var trace: String = "Traces/long-sync-10k.trace"

    @Option(help: ArgumentHelp("The two profiles whose first difference is reduced.", valueName: "A,B"))
    var profiles: ProfileSelection = ProfileSelection(argument: "tm-v0.34,cometbft-v0.38")!

    @Option(help: "The height of the planted bad block.")
    var height: Int64 = 25

    @Option(help: "Candidates replayed in parallel.")
    var jobs: Int = max(1, ProcessInfo.processInfo.activeProcessorCount)

    @Option(help: "The most candidate replays.")
    var maxRuns: Int = 2000

    func validate() throws {
        if height < 1 { throw ValidationError("--height must be at least 1") }
        if jobs < 1 || maxRuns < 1 { throw ValidationError("--jobs and --max-runs must be at least 1") }
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-bench-reduce-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let clean = try ReducibleTrace(path: trace)
        var copies = 0
        let entries = clean.entries.map { entry -> TraceEntry in
            guard case .blocksync(var b) = entry.event, b.direction == .inbound,
                  case .blockResponse(var block, let ext)? = try? BlocksyncMessage.decode(b.message), block.header.height == height else { return entry }
            block.header.appHash = [UInt8](repeating: 0xBA, count: 32)
            b.message = BlocksyncMessage.blockResponse(block: block, extCommit: ext).encode()
            copies += 1
            var planted = entry
            planted.event = .blocksync(b)
            return planted
        }
        guard copies > 0 else { throw CommandFailure.badInput("\(trace) holds no block \(height) to plant") }
        let plantedPath = dir.appendingPathComponent("planted.trace").path
        let planted = ReducibleTrace(path: plantedPath, entries: entries, metadata: clean.metadata, attachments: clean.attachments)
        try planted.write(planted.all, shortenChain: false, to: plantedPath)

        let registry = MachineRegistry.standard
        let pair = try profiles.resolve(in: registry)
        guard pair.count == 2 else { throw CommandFailure.badInput("--profiles names two profiles: A,B") }
        let target = ReductionTarget.diff(pair[0], pair[1], mode: .reactive,
                                          filter: DifferentialFilter(ignoredKinds: [.request, .statusRequest, .respond], ignoreTime: true))
        let replay: @Sendable (ReplayTrace, ReplayOptions) throws -> ReplayResult = {
            try ReplaySession.replay($0, options: $1, hint: HintSelection(), machines: registry)
        }
        let reference = {
            let loaded = try ReplayTraceLoader.load(path: plantedPath)
            for p in pair { _ = try replay(loaded, ReplayOptions(profile: p, mode: .reactive)) }
        }
        let referenceBefore = try BenchIdle.time(reference)
        var reducer = TraceReducer(trace: try ReducibleTrace(path: plantedPath), oracle: ReductionOracle(target: target, replay: replay),
                                   maxRuns: maxRuns, jobs: jobs)
        var result: ReductionResult?
        let seconds = try BenchIdle.time { result = try reducer.run() }
        let referenceAfter = try BenchIdle.time(reference)
        let r = result!
        print("trace \(trace) (\(entries.count) events), bad block at height \(height) (\(copies) copies), profiles \(pair.map(\.rawValue).joined(separator: ",")), jobs \(jobs)")
        print("  failure identity: \(r.identity)")
        print(String(format: "  reduced to %d events in %d runs, %.1f s%@", r.kept.count, r.runs, seconds,
                     r.stoppedEarly.map { " (\($0))" } ?? ""))
        print(String(format: "  reference: one load + replay of the planted trace per profile %.2f s before, %.2f s after", referenceBefore, referenceAfter))
        print("  target: at most 50 events in under 60 s: \(r.kept.count <= 50 && seconds < 60 ? "met" : "NOT met")")
    }
}
