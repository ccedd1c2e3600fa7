import ArgumentParser
import Crypto
import Foundation
import Implementations
import Replay
import SyncMachine
import SyncTrace

/// `syncreplay bench idle`: replay time of one trace's events with a 1 s, 1 h and 24 h quiet
/// gap before its last event (issue 20) — flat, because the machine skips idle ticks — next
/// to the physical reference of reading the same file and hashing it with SHA-256.
struct BenchIdle: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "idle",
        abstract: "Replay time against quiet virtual time (1 s, 1 h, 24 h gaps): flat.",
        discussion: """
        Rewrites --trace with its last event moved later by each gap (TraceRetiming), then replays each copy in both modes, interleaving the runs with the reference (read + SHA-256 of the file) so machine load affects all alike; the best of --iterations is reported. Build in release first.

        Example:
          swift build -c release && .build/release/syncreplay bench idle --iterations 5
        """
    )

    static let gaps: [(label: String, ns: UInt64)] = [("1 s", 1_000_000_000), ("1 h", 3_600_000_000_000), ("24 h", 86_400_000_000_000)]

    @Option(help: "Trace whose last event is moved (default: the corpus's no-progress case).")
    var trace: String = "Traces/no-progress-switch-5718.trace"

    @Option(help: "Behaviour profile (the default one paced its requester loop per tick before issue 20).")
    var profile: ProfileName = "cometbft-v0.38"

    @Option(help: "Rounds; the best time of each row is reported.")
    var iterations: Int = 3

    func validate() throws {
        if iterations < 1 { throw ValidationError("--iterations must be at least 1") }
    }

    func run() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("syncreplay-bench-idle-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let reader = try TraceReader(path: trace)
        let paths = try Self.gaps.map { gap in
            let path = dir.appendingPathComponent("gap-\(gap.ns).trace").path
            try TraceRetiming.write(reader, to: path, lastEventLater: gap.ns)
            return path
        }
        let registry = MachineRegistry.standard, chosen = profile
        var reference = Double.infinity
        var best = [[Double]](repeating: [Double](repeating: .infinity, count: ReplayMode.allCases.count), count: paths.count)
        var decisions = best.map { $0.map { _ in 0 } }
        for _ in 0..<iterations {
            reference = min(reference, try Self.time { _ = SHA256.hash(data: try Data(contentsOf: URL(fileURLWithPath: trace))) })
            for (g, path) in paths.enumerated() {
                for (m, mode) in ReplayMode.allCases.enumerated() {
                    var count = 0
                    best[g][m] = min(best[g][m], try Self.time {
                        let loaded = try ReplayTraceLoader.load(path: path)
                        count = try ReplaySession.replay(loaded, options: ReplayOptions(profile: chosen, mode: mode), hint: HintSelection(),
                                                         machines: registry).decisions.count
                    })
                    decisions[g][m] = count
                }
            }
        }
        print("trace \(trace), profile \(chosen.rawValue), last event moved later by each gap")
        print(String(format: "  reference: read + SHA-256 of the trace %.3f ms", reference * 1e3))
        for (g, gap) in Self.gaps.enumerated() {
            let cells = ReplayMode.allCases.enumerated().map { m, mode in
                String(format: "%@ %.3f ms (%d decisions)", mode.rawValue, best[g][m] * 1e3, decisions[g][m])
            }
            print("  gap \(gap.label): load+replay " + cells.joined(separator: ", "))
        }
    }

    static func time(_ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now()
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }
}
