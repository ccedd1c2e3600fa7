import Foundation
import Implementations
import Replay
import SyncMachine
import Testing

/// The one option resolver (issue 12 item 6): option > golden > the trace's profile hint >
/// the registry's default, and the mode likewise; replay, `--check-determinism`, suite,
/// timeline, the replay bench and the fuzz entry all resolve through it.
@Suite struct ReplayRequestTests {
    static func trace(hint: String) -> ReplayTrace {
        var node = ReplayEngineTests.node
        node.profileHint = hint
        let events = [ReplayEvent(index: 0, sequence: 1, time: 0, body: .node(node))]
        return ReplayTrace(path: "mem.trace", sha256: String(repeating: "0", count: 64), events: events, hintAttachment: nil)
    }

    static func golden(_ profile: ProfileName?, _ mode: ReplayMode) -> (path: String, provenance: Provenance) {
        ("x.golden.json", Provenance(traceSHA256: "", traceEvents: 1, implementation: profile == nil ? nil : "v0", profile: profile,
                                     mode: mode, tool: "t"))
    }

    struct Row: Sendable, CustomStringConvertible {
        var profile: ProfileName?
        var mode: ReplayMode?
        var golden: (ProfileName?, ReplayMode)?
        var hint: String
        /// "PROFILE(source) MODE(source)", or the start of the error.
        var expected: String
        var description: String { "\(profile?.rawValue ?? "-") \(mode?.rawValue ?? "-") \(golden.map { "\($0.0?.rawValue ?? "none")/\($0.1)" } ?? "-") \(hint)" }
    }

    static let rows: [Row] = [
        Row(hint: "", expected: "cometbft-v0.38(default) reactive(default)"),
        Row(hint: "tm-v0.34", expected: "tm-v0.34(trace hint) reactive(default)"),
        Row(hint: "geth-1.14", expected: "cometbft-v0.38(default) reactive(default)"),  // unregistered hint: ignored
        Row(golden: ("tm-v0.35", .strict), hint: "tm-v0.34", expected: "tm-v0.35(golden) strict(golden)"),
        Row(golden: (nil, .strict), hint: "tm-v0.34", expected: "tm-v0.34(trace hint) strict(golden)"),  // profile-free golden
        Row(profile: "tm-v0.35", golden: ("tm-v0.35", .strict), hint: "tm-v0.34", expected: "tm-v0.35(option) strict(golden)"),
        Row(profile: "tm-v0.34", mode: .strict, hint: "tm-v0.35", expected: "tm-v0.34(option) strict(option)"),
        Row(mode: .reactive, golden: ("tm-v0.35", .reactive), hint: "", expected: "tm-v0.35(golden) reactive(option)"),
        Row(profile: "tm-v0.34", golden: ("tm-v0.35", .strict), hint: "", expected: "error: --profile tm-v0.34 conflicts with the golden's profile tm-v0.35"),
        Row(mode: .reactive, golden: ("tm-v0.35", .strict), hint: "", expected: "error: --mode reactive conflicts with the golden's mode strict"),
        Row(profile: "tm-v9", hint: "", expected: "error: unknown profile tm-v9"),
    ]

    @Test(arguments: rows) func resolution(_ row: Row) {
        let request = ReplayRequest(profile: row.profile, mode: row.mode)
        let got: String
        do {
            let r = try request.resolve(trace: Self.trace(hint: row.hint), golden: row.golden.map { Self.golden($0.0, $0.1) },
                                        registry: .standard)
            got = "\(r.profile.rawValue)(\(r.profileSource.rawValue)) \(r.mode.rawValue)(\(r.modeSource.rawValue))"
        } catch {
            got = "error: \(error.message)"
        }
        #expect(got.hasPrefix(row.expected), "\(row): \(got)")
    }

    /// What `--check-determinism` hands its children: every option spelt out, so resolving it
    /// again, beside any golden or hint, gives exactly the parent's options.
    @Test func resolvedOptionsSpellThemselvesOut() throws {
        let asked = ReplayRequest(maxSpan: VirtualSpan(text: "36h")!, hint: HintSelection(path: "h.bin", checksum: nil), checkInvariants: true)
        let parent = try asked.resolve(trace: Self.trace(hint: ""), golden: Self.golden("tm-v0.35", .strict), registry: .standard)
        #expect(parent.arguments == ["--profile", "tm-v0.35", "--mode", "strict", "--max-span", "36h", "--hint", "h.bin", "--check-invariants"])
        let child = try parent.request.resolve(trace: Self.trace(hint: "tm-v0.34"), golden: nil, registry: .standard)
        #expect(child.profile == "tm-v0.35" && child.mode == .strict && child.profileSource == .option && child.modeSource == .option)
        #expect(child.options.maxSpan == parent.options.maxSpan && child.options.checkInvariants && !child.options.plantDictionaryOrder)
        #expect(child.options.drain == parent.options.drain && child.hint == parent.hint)
    }
}
