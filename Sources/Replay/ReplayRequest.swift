import SyncMachine

/// What a replay is parameterised by, as asked for: a field left nil is resolved by
/// `resolve(trace:golden:registry:)`. Every entry point that replays (the replay command and
/// its `--check-determinism` children, `suite`, `timeline`, the benches, the fuzz entry) resolves
/// through this one type, so they cannot disagree (issue 12 item 6).
public struct ReplayRequest: Sendable, Equatable {
    /// `--profile`: also names the implementation (`MachineRegistry`).
    public var profile: ProfileName?
    /// `--mode`.
    public var mode: ReplayMode?
    /// `--max-span` (issue 20); not resolved against anything.
    public var maxSpan: VirtualSpan
    /// `--hint`/`--hint-checksum`: when absent the trace's attachment is used (`HintSelection.open`).
    public var hint: HintSelection
    /// `--check-invariants`.
    public var checkInvariants: Bool
    /// Test-only (`ReplayOptions.plantDictionaryOrder`).
    public var plantDictionaryOrder: Bool
    /// Implementation options given on the command line (`--v2-queue heap`), by
    /// `MachineOption` name; an option left out comes from the golden, else its default.
    public var implementationOptions: [String: String]
    /// `ReplayOptions.verifyAhead`: on by default where more than one core is available
    /// (`VerificationAhead.isEnabledByDefault`); it never changes a decision.
    public var verifyAhead: Bool

    /// Defaults when neither an option nor a golden names them (README "Options"): reactive
    /// works on any trace (strict needs the node's own outbound messages).
    public static let defaultMode = ReplayMode.reactive

    public init(profile: ProfileName? = nil, mode: ReplayMode? = nil, maxSpan: VirtualSpan = .defaultMaximum,
                hint: HintSelection = HintSelection(), checkInvariants: Bool = false, plantDictionaryOrder: Bool = false,
                implementationOptions: [String: String] = [:], verifyAhead: Bool = VerificationAhead.isEnabledByDefault) {
        self.verifyAhead = verifyAhead
        self.profile = profile
        self.mode = mode
        self.maxSpan = maxSpan
        self.hint = hint
        self.checkInvariants = checkInvariants
        self.plantDictionaryOrder = plantDictionaryOrder
        self.implementationOptions = implementationOptions
    }

    /// Resolves the profile as option > golden > the trace's `/node` profile hint (when it names
    /// a registered profile) > the registry's default, and the mode as option > golden > reactive.
    /// An option that names an unregistered profile, or conflicts with the golden, is an error
    /// naming the golden (`golden.path`). Implementation options (`MachineOption`) resolve as
    /// option > golden > default; one given for a profile whose implementation does not take it
    /// is an error naming the profiles that do.
    public func resolve(trace: ReplayTrace?, golden: (path: String, provenance: Provenance)?,
                        registry: MachineRegistry) throws(CaseError) -> ResolvedReplay {
        if let profile, registry.implementation(of: profile) == nil {
            throw CaseError("unknown profile \(profile) (expected \(registry.profileList))")
        }
        if let golden {
            if let profile, let theirs = golden.provenance.profile, profile != theirs {
                throw CaseError("--profile \(profile.rawValue) conflicts with the golden's profile \(theirs.rawValue) (\(golden.path)); omit --profile or use NAME.\(profile.rawValue).golden.json")
            }
            if let mode, mode != golden.provenance.mode {
                throw CaseError("--mode \(mode.rawValue) conflicts with the golden's mode \(golden.provenance.mode.rawValue) (\(golden.path)); omit --mode")
            }
        }
        let hinted = trace?.node.map { ProfileName($0.profileHint) }.flatMap { registry.implementation(of: $0) == nil ? nil : $0 }
        let profileChoice: (ProfileName, ResolvedReplay.Source)
        if let profile { profileChoice = (profile, .option) }
        else if let theirs = golden?.provenance.profile { profileChoice = (theirs, .golden) }
        else if let hinted { profileChoice = (hinted, .traceHint) }
        else if let fallback = registry.defaultProfile { profileChoice = (fallback, .registryDefault) }
        else { throw CaseError("no profile: pass --profile (\(registry.profileList))") }
        let modeChoice: (ReplayMode, ResolvedReplay.Source)
        if let mode { modeChoice = (mode, .option) }
        else if let theirs = golden?.provenance.mode { modeChoice = (theirs, .golden) }
        else { modeChoice = (Self.defaultMode, .registryDefault) }
        var options = ReplayOptions(profile: profileChoice.0, mode: modeChoice.0, plantDictionaryOrder: plantDictionaryOrder,
                                    checkInvariants: checkInvariants)
        options.maxSpan = maxSpan
        options.verifyAhead = verifyAhead
        options.implementationOptions = try resolveImplementationOptions(profile: profileChoice.0, golden: golden, registry: registry)
        return ResolvedReplay(options: options, hint: hint, profileSource: profileChoice.1, modeSource: modeChoice.1)
    }

    /// The implementation options that differ from their default, option > golden > default.
    private func resolveImplementationOptions(profile: ProfileName, golden: (path: String, provenance: Provenance)?,
                                              registry: MachineRegistry) throws(CaseError) -> [String: String] {
        var resolved: [String: String] = [:]
        for (name, value) in implementationOptions.sorted(by: { $0.key < $1.key }) {
            guard let option = MachineOption.named(name) else {
                throw CaseError("unknown option --\(name) (known: \(MachineOption.known.map { "--" + $0.name }.joined(separator: ", ")))")
            }
            guard option.values.contains(value) else {
                throw CaseError("--\(name) must be \(option.valueList), not \"\(value)\"")
            }
            guard registry.implementation(of: profile)?.options.contains(name) == true else {
                let takers = registry.profiles(taking: name).map(\.rawValue).joined(separator: ", ")
                throw CaseError("--\(name) applies to the \(registry.implementations.first { $0.options.contains(name) }?.name ?? "") profiles (\(takers)), not \(profile.rawValue)")
            }
            if let golden {
                let theirs = golden.provenance.options[name] ?? option.defaultValue
                if theirs != value {
                    throw CaseError("--\(name) \(value) conflicts with the golden's \(name) \(theirs) (\(golden.path)); omit --\(name)")
                }
            }
            if value != option.defaultValue { resolved[name] = value }
        }
        if let golden {
            for (name, value) in golden.provenance.options where resolved[name] == nil && implementationOptions[name] == nil {
                resolved[name] = value
            }
        }
        return resolved
    }
}

/// A replay's every parameter, resolved (`ReplayRequest.resolve`).
public struct ResolvedReplay: Sendable {
    /// Where a resolved value came from.
    public enum Source: String, Sendable {
        case option
        case golden
        /// The trace's `/node` profile hint.
        case traceHint = "trace hint"
        /// The registry's default profile, or the default mode.
        case registryDefault = "default"
    }

    public var options: ReplayOptions
    public var hint: HintSelection
    public var profileSource: Source
    public var modeSource: Source

    public var profile: ProfileName { options.profile }
    public var mode: ReplayMode { options.mode }

    /// The same replay as an explicit request: every field given, so resolving it again (by
    /// `--check-determinism`'s children, which get `arguments`) gives exactly these options
    /// whatever golden or hint lies beside the trace.
    public var request: ReplayRequest {
        ReplayRequest(profile: options.profile, mode: options.mode, maxSpan: options.maxSpan, hint: hint,
                      checkInvariants: options.checkInvariants, plantDictionaryOrder: options.plantDictionaryOrder,
                      implementationOptions: options.implementationOptions, verifyAhead: options.verifyAhead)
    }

    /// `--v2-queue heap`…: the implementation options that differ from their default, by name.
    public var implementationArguments: [String] {
        options.implementationOptions.sorted { $0.key < $1.key }.flatMap { ["--" + $0.key, $0.value] }
    }

    /// The replay command's options that spell `request`.
    public var arguments: [String] {
        var words = ["--profile", options.profile.rawValue, "--mode", options.mode.rawValue] + implementationArguments
        words += ["--max-span", options.maxSpan.description]
        words += hint.arguments
        if options.checkInvariants { words.append("--check-invariants") }
        if options.plantDictionaryOrder { words.append("--plant-dictionary-order") }
        return words
    }
}

extension ReplaySession {
    /// Replays `trace` with resolved options.
    public static func replay(_ trace: ReplayTrace, _ resolved: ResolvedReplay, machines: MachineRegistry?) throws(CaseError) -> ReplayResult {
        try replay(trace, options: resolved.options, hint: resolved.hint, machines: machines)
    }
}
