import ArgumentParser

/// `syncreplay bench AREA`: throughput benchmarks, each printed next to a physical reference
/// measured in the same run (README "Performance"). Never run in CI.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput of one area, next to a physical reference measured in the same run.",
        subcommands: [BenchP2P.self, BenchWire.self, HintBench.self, BenchTrace.self, BenchReplay.self, BenchReactor.self, BenchIdle.self, BenchReduce.self, BenchScaling.self]
    )
}
