import ArgumentParser
import CommandExit
import Foundation
import Replay
import Implementations
import SyncMachine
import Timeline

/// `syncreplay timeline TRACE -o OUT` (issue 15): a picture of one sync.
struct TimelineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "timeline",
        abstract: "Draw a trace's sync as a self-contained HTML timeline or a Perfetto trace.",
        discussion: """
        Replays the trace (profile and mode from --golden, else --profile and --mode, else the trace's profile hint and reactive) and draws what the reactor did: a lane per peer with request → answer spans, NoBlockResponses, disconnects, removals and bans (hover for reasons); a node lane with the applied height, verify failures and the switch to consensus; a pivot lane. With --golden, a replay that diverges marks the golden's first divergence. --recorded draws the trace alone, as recorded.

        The HTML page has no external resources and opens from disk offline; zoom with the wheel or +/−, pan by dragging. --format perfetto writes Chrome trace-event JSON for ui.perfetto.dev or chrome://tracing.

        Examples:
          syncreplay timeline Traces/catchup-basic.trace -o catchup.html
          syncreplay timeline Traces/catchup-basic.trace \\
            --golden Traces/catchup-basic.tm-v0.34.golden.json -o catchup.html
          syncreplay timeline Traces/long-sync-10k.trace --recorded \\
            --format perfetto -o long.json
        """
    )

    enum Format: String, CaseIterable, ExpressibleByArgument { case html, perfetto }

    @Argument(help: "The trace to draw (NAME.trace).")
    var trace: String

    @Option(help: ArgumentHelp("Compare with this golden and mark its first divergence.", valueName: "GOLDEN.json"))
    var golden: String?

    @OptionGroup var choice: ReplayChoiceOptions

    @Flag(help: "Draw the trace as recorded, without replaying it.")
    var recorded = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Where to write the page or the JSON.", valueName: "OUT"))
    var output: String

    @Option(help: "html (a self-contained page) or perfetto (Chrome trace-event JSON).")
    var format: Format = .html

    func validate() throws {
        if golden != nil && choice.profile != nil { throw ValidationError("--golden names the profile; use --golden or --profile, not both") }
        if recorded && (golden != nil || choice.profile != nil || choice.mode != nil) {
            throw ValidationError("--recorded draws the trace without replaying it; it takes no --golden, --profile or --mode")
        }
    }

    func run() throws {
        let session = TimelineSession(tracePath: trace, goldenPath: golden, request: choice.request, recorded: recorded,
                                      tool: "syncreplay \(SyncReplay.version)")
        let timeline = try session.timeline(machines: .standard)
        let text = format == .html ? TimelineHTML.render(timeline) : PerfettoTrace.render(timeline)
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        } catch {
            throw CommandFailure.badInput("cannot write \(output): \(error.localizedDescription)")
        }
        let requests = timeline.peers.reduce(0) { $0 + $1.spans.count }
        print("wrote \(output): \(timeline.name), \(timeline.profile), \(timeline.mode); \(timeline.peers.count) peers, \(requests) requests"
              + (timeline.divergence.map { "; first divergence at \(VirtualTime.format($0.time &- timeline.start))" } ?? ""))
    }
}
