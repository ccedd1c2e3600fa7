import ArgumentParser
import Implementations
import Replay
import SyncMachine

/// The options every replaying command shares (`replay`, `timeline`): what `ReplayRequest`
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

    var hintSelection: HintSelection { HintSelection(path: hint, checksum: hintChecksum) }

    var request: ReplayRequest { ReplayRequest(profile: profile, mode: mode, hint: hintSelection) }
}
