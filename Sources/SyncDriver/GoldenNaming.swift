import Foundation
import SyncMachine

/// Golden naming (DESIGN.md §4): `NAME.trace` with `NAME.golden.json` or, one per profile,
/// `NAME.<profile>.golden.json`; a pending golden is `… .golden.new.json` beside it. Profile
/// names are unique across implementations (`MachineRegistry`), so these names never collide.
public enum GoldenNaming {
    public static let traceSuffix = ".trace"
    public static let goldenSuffix = ".golden.json"
    public static let pendingSuffix = ".golden.new.json"

    /// `dir/NAME.trace` → `NAME`.
    public static func caseName(trace: String) -> String {
        let file = (trace as NSString).lastPathComponent
        return file.hasSuffix(traceSuffix) ? String(file.dropLast(traceSuffix.count)) : file
    }

    /// `dir/NAME.trace` → `dir/NAME` (the stem goldens are named from).
    public static func stem(trace: String) -> String {
        trace.hasSuffix(traceSuffix) ? String(trace.dropLast(traceSuffix.count)) : trace
    }

    public static func golden(trace: String, profile: ProfileName?) -> String {
        stem(trace: trace) + (profile.map { "." + $0.rawValue } ?? "") + goldenSuffix
    }

    /// The pending path for a golden: `X.golden.json` → `X.golden.new.json`.
    public static func pending(golden: String) -> String {
        golden.hasSuffix(goldenSuffix) ? String(golden.dropLast(goldenSuffix.count)) + pendingSuffix : golden + ".new.json"
    }

    /// For `NAME.<profile>.golden.json` (one of `profiles`): NAME's stem and the profile; for
    /// `NAME.golden.json`: (stem, nil).
    public static func parse(golden: String, profiles: [ProfileName]) -> (stem: String, profile: ProfileName?)? {
        guard golden.hasSuffix(goldenSuffix), !golden.hasSuffix(pendingSuffix) else { return nil }
        let stem = String(golden.dropLast(goldenSuffix.count))
        for p in profiles where stem.hasSuffix("." + p.rawValue) {
            return (String(stem.dropLast(p.rawValue.count + 1)), p)
        }
        return (stem, nil)
    }
}
