import ArgumentParser
import CommandExit
import Foundation
import Implementations
import Replay
import ScenarioReview
import Sim

extension ScenarioError: InputError {}
extension SimulationError: InputError {}
extension CaseError: InputError {}

/// `syncsim SCENARIO.toml -o OUT.trace` (DESIGN.md §6; issue 7).
@main
struct SyncSim: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syncsim",
        abstract: "Run a scenario's scripted peers against the BlockSync reactor and write the trace.",
        discussion: """
        The scenario (TOML; Traces/README.md documents every key) names a chain, the node under test and its profile, scripted peers with their behaviours, and optionally a pivot-hint script. The simulator builds the chain with real ed25519 commits, drives the peers against the reactor on a virtual clock and records the conversation at the node in both directions as real blocksync wire bytes, with /node, /p2p and /pivot events and the hint file as an attachment. The same scenario always gives the same bytes.

        Exit codes: 0 written, 2 bad scenario (with line and key) or usage, 3 internal error.

        Example:
          syncsim Traces/catchup-basic.scenario.toml -o /tmp/catchup-basic.trace
          syncreplay /tmp/catchup-basic.trace --profile cometbft-v0.38 --mode strict
        """,
        version: "0.1.0"
    )

    @Argument(help: ArgumentHelp("The scenario file.", valueName: "SCENARIO.toml"))
    var scenario: String

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the trace.", valueName: "OUT.trace"))
    var output: String?

    @Flag(help: "Parse and check the scenario only; write nothing.")
    var check = false

    @Flag(help: "Print the scenario's expectation tables, one `PROFILE MODE [--v2-queue MODEL]` line each (for recording goldens: the rest of the line is replay options).")
    var expectations = false

    @Flag(help: ArgumentHelp("Check the scenario's [expect] tables against the goldens beside it (NAME.<profile>.golden.json; NAME.golden.json for a scenario without peers); print one line per failed expectation and exit 1 if any fails.",
                             discussion: "A table marked known_divergence is reported, and does not fail the review."))
    var review = false

    func validate() throws {
        if output == nil && !check && !expectations && !review { throw ValidationError("missing -o OUT.trace") }
    }

    func run() throws {
        let parsed = try Scenario.load(path: scenario)
        if check {
            print("ok \(parsed.name): \(parsed.peers.count) peers, \(parsed.chain.length) blocks, profile \(parsed.node.profile)")
            return
        }
        if expectations {
            for e in parsed.expectations { print(([e.profile, e.mode] + e.implementationArguments).joined(separator: " ")) }
            return
        }
        if review { return try reviewGoldens(parsed) }
        guard let output else { return }
        let summary = try Simulation(scenario: parsed, machines: .standard).run(to: output)
        var line = "wrote \(output): \(summary.events) events, \(summary.blocksApplied) blocks applied"
        if let h = summary.switchedAt { line += ", switched to consensus at \(h)" }
        line += String(format: ", %.3f s virtual", Double(summary.endTime) / 1e9)
        print(line)
    }

    /// `--review`: the check CorpusTests runs (`GoldenReview`), for one scenario, readable by
    /// the person recording its goldens.
    func reviewGoldens(_ parsed: Scenario) throws {
        let review = try GoldenReview.review(parsed, scenarioPath: scenario)
        review.lines.forEach { print($0) }
        if review.failed > 0 { throw CommandFailure.problems("\(review.failed) of \(review.tables.count) expectation tables fail") }
    }

    static func main() {
        CommandRunner.main(SyncSim.self)
    }
}
