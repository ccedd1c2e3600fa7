/// One registered profile: its name and the released versions it reproduces.
public struct MachineProfile: Sendable, Equatable {
    public var name: ProfileName
    /// Which released versions it matches (README, `syncreplay --help`).
    public var matches: String

    public init(name: ProfileName, matches: String) {
        self.name = name
        self.matches = matches
    }
}

/// An option a tool may set on an implementation (`NodeStart.implementationOptions`, a CLI flag
/// `--NAME VALUE`): its name, its values, and the value meant when it is not given. Goldens
/// record it only when not the default, and refuse a name or value not listed in `known`.
public struct MachineOption: Sendable, Equatable {
    public var name: String
    /// The allowed values, the default among them.
    public var values: [String]
    public var defaultValue: String

    public init(name: String, values: [String], defaultValue: String) {
        self.name = name
        self.values = values
        self.defaultValue = defaultValue
    }

    /// The v2 reactor's execution model (specs/cometbft-blocksync-v2.md §v2.1.9, §v2.8):
    /// `fifo` (Model A, the default), `heap` (Model B) or `heap-lag` (Model B, the scheduler
    /// running every 100 ms).
    public static let v2Queue = MachineOption(name: "v2-queue", values: ["fifo", "heap", "heap-lag"], defaultValue: "fifo")

    /// Every option an implementation may declare; goldens and the CLI know only these.
    public static let known: [MachineOption] = [.v2Queue]

    public static func named(_ name: String) -> MachineOption? { known.first { $0.name == name } }

    /// "fifo, heap or heap-lag".
    public var valueList: String {
        values.count > 1 ? values.dropLast().joined(separator: ", ") + " or " + values.last! : values.joined()
    }
}

/// A block-sync implementation (the v0 reactor, later v2…): its name, its profiles, and how to
/// start it for a profile from a `NodeStart`.
public struct MachineImplementation: Sendable {
    /// Short name recorded in goldens' provenance and reports (`v0`).
    public var name: String
    /// One line for `--help` and `suite`.
    public var summary: String
    public var profiles: [MachineProfile]
    /// The `NodeStart.implementationOptions` names it takes.
    public var options: [String]
    /// Starts the machine for one of `profiles`.
    public var make: @Sendable (ProfileName, NodeStart) throws(MachineStartError) -> any BlockSyncMachine

    public init(name: String, summary: String, profiles: [MachineProfile], options: [String] = [],
                make: @escaping @Sendable (ProfileName, NodeStart) throws(MachineStartError) -> any BlockSyncMachine) {
        self.name = name
        self.summary = summary
        self.profiles = profiles
        self.options = options
        self.make = make
    }
}

/// The implementations a tool can drive, and their profiles. Profile names are unique across
/// implementations, so golden file names (`NAME.<profile>.golden.json`) never collide and a
/// profile name alone picks the implementation.
public struct MachineRegistry: Sendable {
    public private(set) var implementations: [MachineImplementation] = []
    /// The profile used when neither an option, a golden nor the trace names one.
    public var defaultProfile: ProfileName?

    public init() {}

    /// A registry of `implementations`; `defaultProfile` must be one of their profiles.
    public init(_ implementations: [MachineImplementation], defaultProfile: ProfileName?) throws(MachineStartError) {
        for implementation in implementations { try register(implementation) }
        if let defaultProfile, self.implementation(of: defaultProfile) == nil {
            throw MachineStartError("the default profile \(defaultProfile) is not registered")
        }
        self.defaultProfile = defaultProfile
    }

    /// Adds an implementation; refuses a name or a profile name that is already registered.
    public mutating func register(_ implementation: MachineImplementation) throws(MachineStartError) {
        if implementations.contains(where: { $0.name == implementation.name }) {
            throw MachineStartError("implementation \(implementation.name) is already registered")
        }
        for p in implementation.profiles where self.implementation(of: p.name) != nil || implementation.profiles.filter({ $0.name == p.name }).count > 1 {
            throw MachineStartError("profile \(p.name) is already registered")
        }
        implementations.append(implementation)
    }

    /// Every profile with its implementation, in registration order.
    public var profiles: [(implementation: String, profile: MachineProfile)] {
        implementations.flatMap { i in i.profiles.map { (i.name, $0) } }
    }

    public var profileNames: [ProfileName] { profiles.map(\.profile.name) }

    /// The implementation that owns `profile`.
    public func implementation(of profile: ProfileName) -> MachineImplementation? {
        implementations.first { $0.profiles.contains { $0.name == profile } }
    }

    /// "tm-v0.34, tm-v0.35 or cometbft-v0.38": for help texts and errors.
    public var profileList: String {
        let names = profileNames.map(\.rawValue)
        guard names.count > 1 else { return names.first ?? "(none)" }
        return names.dropLast().joined(separator: ", ") + " or " + names.last!
    }

    /// The profiles of the implementations that take `option`, in registration order.
    public func profiles(taking option: String) -> [ProfileName] {
        implementations.filter { $0.options.contains(option) }.flatMap { $0.profiles.map(\.name) }
    }

    /// Starts the implementation that owns `profile`.
    public func makeMachine(profile: ProfileName, start: NodeStart) throws(MachineStartError) -> any BlockSyncMachine {
        guard let implementation = implementation(of: profile) else {
            throw MachineStartError("unknown profile \(profile) (expected \(profileList))")
        }
        if let option = start.implementationOptions.keys.sorted().first(where: { !implementation.options.contains($0) }) {
            if option == NodeStart.blocksyncOption {
                // Set by the trace (its node ran with blocksync off), not by a flag.
                throw MachineStartError("the trace's node ran with blocksync disabled, which profile \(profile) (implementation \(implementation.name)) does not model; replay it with a v0 profile")
            }
            throw MachineStartError("--\(option) does not apply to profile \(profile) (implementation \(implementation.name))")
        }
        return try implementation.make(profile, start)
    }
}

extension MachineRegistry {
    /// This registry with `option` set to `value` in the `NodeStart` of every implementation
    /// that takes it (a CLI flag such as `--v2-queue heap`); the others are unchanged, and
    /// `makeMachine` still refuses the option for them if a start carries it.
    public func setting(_ option: String, to value: String) -> MachineRegistry {
        var copy = self
        copy.implementations = implementations.map { i in
            guard i.options.contains(option) else { return i }
            var changed = i
            let make = i.make
            changed.make = { (profile, start) throws(MachineStartError) in
                var start = start
                start.implementationOptions[option] = value
                return try make(profile, start)
            }
            return changed
        }
        return copy
    }

    /// The registered implementations and their profiles, for `--help` and `suite`.
    public var helpText: String {
        var lines = ["Implementations and their profiles (--profile names both; default \(defaultProfile?.rawValue ?? "none")):"]
        for i in implementations {
            lines.append("  \(i.name): \(i.summary)")
            for p in i.profiles { lines.append("    \(p.name.rawValue)  \(p.matches)") }
        }
        return lines.joined(separator: "\n")
    }
}
