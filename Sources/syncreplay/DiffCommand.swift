import ArgumentParser
import CommandExit
import Foundation
import Implementations
import Replay
import SyncMachine

/// The profiles a differential command names: `A,B[,C…]` or `all` (every registered one).
struct ProfileSelection: ExpressibleByArgument {
    var names: [String]

    init?(argument: String) {
        names = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        if names.contains(where: \.isEmpty) { return nil }
    }

    /// The registered profiles named (`all`: every one, in registration order).
    func resolve(in registry: MachineRegistry) throws -> [ProfileName] {
        if names == ["all"] { return registry.profileNames }
        return try names.map { name in
            let p = ProfileName(name)
            guard registry.implementation(of: p) != nil || name == ObservedSide.name else {
                throw CommandFailure.badInput("unknown profile \(name) in --profiles (expected \(registry.profileList), \(ObservedSide.name) or all)")
            }
            return p
        }
    }
}

/// Decision kinds left out of a comparison: `KIND[,KIND]`.
struct DecisionKindList: ExpressibleByArgument {
    var kinds: [DecisionKind]

    init?(argument: String) {
        var kinds: [DecisionKind] = []
        for name in argument.split(separator: ",") {
            guard let k = DecisionKind(rawValue: name.trimmingCharacters(in: .whitespaces)) else { return nil }
            kinds.append(k)
        }
        self.kinds = kinds
    }

    static var allValueStrings: [String] { DecisionKind.allCases.map(\.rawValue) }
}

/// `syncreplay diff TRACE --profiles A,B` (issue 14 §1).
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Replay one trace into several profiles and show where they first decide differently.",
        discussion: """
        Replays the trace into every named profile (`all`: every registered one, of every implementation) and aligns their decision logs pairwise with the golden comparison (Myers, keyed on kind and height, or kind and peer). The report: a summary table per profile (blocks applied, last height, switch to consensus, peers removed and banned with reasons, verify failures, panics — a replay that stopped with an error), then the first point where two profiles decide differently with the causing input event and its context as in the golden divergence report, then per-pair counts. --report json writes the same data as one JSON document.

        Exit 0 when all decide the same, 1 when they differ, 2 on bad input.

        `observed` is the recorded node itself: its outbound messages in the trace as request, respond and status_request decisions (a capture from a real node), so `--profiles observed,P` diffs the real node against an implementation; with it, only request, respond, status_request and observed_mismatch are compared, and without their cause (a recorded message is caused by itself).

        --ignore KIND[,KIND] drops decision kinds from the comparison (e.g. request, whose timing legitimately differs between versions); --ignore-time compares decisions without t and without their cause (event or timer), asking "same outcome?" rather than "same steps?".

        \(MachineRegistry.standard.helpText)

        Examples:
          syncreplay diff Traces/noblockresponse-rerequest-2475.trace \\
            --profiles tm-v0.34,cometbft-v0.38
          syncreplay diff Traces/catchup-basic.trace --profiles all \\
            --ignore request,status_request --ignore-time
        """
    )

    @Argument(help: "The trace to replay (NAME.trace).")
    var trace: String

    @Option(help: ArgumentHelp("Profiles to compare, comma-separated (observed: the recorded node), or all.", valueName: "A,B[,C…]"))
    var profiles: ProfileSelection

    @Option(help: "strict (inbound as recorded, outbound compared) or reactive (ghost peers).")
    var mode: ReplayMode = .reactive

    @Option(help: "Report format on stdout: text or json (json writes only JSON).")
    var report: ReportFormat = .text

    @Option(help: ArgumentHelp("Decision kinds left out of the comparison.", valueName: "KIND[,KIND]"))
    var ignore: DecisionKindList?

    @Flag(help: "Compare decisions without their virtual time and cause.")
    var ignoreTime = false

    @Option(help: "Input events and decisions shown around the first difference.")
    var context: Int = 3

    @Option(help: ArgumentHelp("Pivot-hint file (overrides the trace's attachment).", valueName: "FILE"))
    var hint: String?

    @Option(help: ArgumentHelp("Checksum of the pivot-hint file, 64 hex digits.", valueName: "HEX"))
    var hintChecksum: String?

    @Option(name: .customLong("v2-queue"),
            help: ArgumentHelp("The execution model of the v2 sides (\(MachineOption.v2Queue.valueList), default \(MachineOption.v2Queue.defaultValue)); the other sides are unchanged. \(ReplayChoiceOptions.v2QueueModels)",
                               valueName: "MODEL"))
    var v2Queue: String?

    func validate() throws {
        if context < 0 { throw ValidationError("--context must be 0 or more") }
    }

    func run() throws {
        let names = try profiles.resolve(in: .standard)
        let registry = try v2QueueRegistry(v2Queue, profiles: names)
        let loaded = try ReplayTraceLoader.load(path: trace)
        let hint = HintSelection(path: hint, checksum: hintChecksum)
        let diff = try DifferentialReplay.run(
            trace: loaded, profiles: names, mode: mode,
            filter: DifferentialFilter(ignoredKinds: ignore?.kinds ?? [], ignoreTime: ignoreTime),
            registry: registry, contextSize: context, tool: "syncreplay \(SyncReplay.version)",
            replay: { try ReplaySession.replay($0, options: $1, hint: hint, machines: registry) })
        switch report {
        case .text: FileHandle.standardOutput.write(Data(diff.text.utf8))
        case .json: print(diff.json.canonical)
        }
        if diff.differs { throw CommandFailure(.problemsFound, "") }
    }
}
