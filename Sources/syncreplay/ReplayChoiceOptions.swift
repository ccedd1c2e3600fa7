import ArgumentParser
import CommandExit
import Implementations
import Replay
import SyncMachine

/// The options every replaying command shares (`replay`, `timeline`, `suite`'s `--v2-queue`): what `ReplayRequest`
/// resolves against the golden and the trace.
struct ReplayChoiceOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Behaviour profile; names the implementation too (`syncreplay --help` lists them): \(MachineRegistry.standard.profileList).",
                               valueName: "PROFILE"))
    var profile: ProfileName?

    @Option(help: "strict (inbound as recorded, outbound compared) or reactive (ghost peers).")
    var mode: ReplayMode?

    @Option(help: ArgumentHelp("Pivot-hint file (overrides the trace's attachment).", valueName: "FILE"))
    var hint: String?

    @Option(help: ArgumentHelp("Checksum of the pivot-hint file, 64 hex digits.", valueName: "HEX"))
    var hintChecksum: String?

    @Option(name: .customLong("v2-queue"),
            help: ArgumentHelp("The v2 profiles' execution model (\(MachineOption.v2Queue.valueList); default \(MachineOption.v2Queue.defaultValue), else the golden's). \(Self.v2QueueModels)",
                               valueName: "MODEL"))
    var v2Queue: String?

    /// One paragraph on the two models (README "BlockSync v2", spec §v2.1.9, §v2.8).
    static let v2QueueModels = "fifo (Model A, for conformance): every input or tick runs to completion through FIFO queues, each routine's output routed at once. heap (Model B): the original's priority heap — events waiting together at a routine pop Low before Normal before High, equal priorities not FIFO — and buffered outputs, one event per routine per round; heap-lag: Model B with the scheduler running only every 100 ms (a deterministic stand-in for a lagging goroutine), which reaches the heap-order bugs of §v2.6 (B3). Recorded in the golden's provenance only when not fifo."

    var hintSelection: HintSelection { HintSelection(path: hint, checksum: hintChecksum) }

    var request: ReplayRequest {
        ReplayRequest(profile: profile, mode: mode, hint: hintSelection,
                      implementationOptions: v2Queue.map { [MachineOption.v2Queue.name: $0] } ?? [:])
    }

    func validate() throws {
        if let v2Queue, !MachineOption.v2Queue.values.contains(v2Queue) {
            throw ValidationError("--v2-queue must be \(MachineOption.v2Queue.valueList), not \"\(v2Queue)\"")
        }
    }
}

/// `--v2-queue` for the commands that replay one trace into several profiles (`diff`,
/// `suite --diff`), which resolve no golden: the standard registry with the model set on the
/// implementations that take it (`MachineRegistry.setting`); the other sides are unchanged. An
/// error (exit 2) when none of `profiles` takes it, or the value is not allowed.
func v2QueueRegistry(_ v2Queue: String?, profiles: [ProfileName]) throws -> MachineRegistry {
    let registry = MachineRegistry.standard
    guard let v2Queue else { return registry }
    let option = MachineOption.v2Queue
    guard option.values.contains(v2Queue) else {
        throw CommandFailure.badInput("--\(option.name) must be \(option.valueList), not \"\(v2Queue)\"")
    }
    let takers = registry.profiles(taking: option.name)
    guard profiles.contains(where: takers.contains) else {
        throw CommandFailure.badInput("--\(option.name) applies to the v2 profiles (\(takers.map(\.rawValue).joined(separator: ", "))), not \(profiles.map(\.rawValue).joined(separator: ", "))")
    }
    return registry.setting(option.name, to: v2Queue)
}
