import Foundation

/// The outcome of one `allowSwitch` or `allowExtend` call, with the reason the original's code
/// path took (§3.2, §3.3). `Codable` with snake_case keys; `canonicalJSON` is the one-line,
/// sorted-key rendering printed by `syncreplay hint check` and stored in golden files
/// (DESIGN.md §4: `pivot_switch{…}`, `pivot_extend{…}`, `hint_disabled{page,error}`).
public struct PivotDecision: Codable, Sendable, Equatable {
    public enum Event: String, Codable, Sendable {
        case pivotSwitch = "pivot_switch"
        case pivotExtend = "pivot_extend"
    }

    public enum Reason: String, Codable, Sendable, CaseIterable {
        /// The hint was disabled by an earlier page failure: allowed without looking (§2.3).
        case hintInactive = "hint_inactive"
        /// `fork_at ≥ range_max` (switch) or `height ≥ range_max` (extend): allowed.
        case beyondRange = "beyond_range"
        /// No recorded height in `[fork_at, min(me_height, range_max−1)]` (switch), or the height
        /// is not a multiple of `minor_interval` (extend): allowed, nothing compared.
        case notCovered = "not_covered"
        case majorMatch = "major_match"
        case majorMismatch = "major_mismatch"
        case minorMatch = "minor_match"
        case minorMismatch = "minor_mismatch"
        /// The page holding the check height failed to load or verify during this call: the hint
        /// disables itself for good and this call is allowed (§2.3). `disabled` says why.
        case hintDisabled = "hint_disabled"
    }

    /// The page failure that disabled the hint (DESIGN.md §4 `hint_disabled{page,error}`).
    public struct Disabled: Codable, Sendable, Equatable {
        public var page: UInt64
        /// The original's message, e.g. "Cannot load the page: …" or "Incorrect checksum".
        public var error: String

        public init(page: UInt64, error: String) {
            self.page = page
            self.error = error
        }
    }

    public var event: Event
    public var allowed: Bool
    public var reason: Reason
    /// Switch only.
    public var forkAt: UInt64?
    /// Switch only.
    public var meHeight: UInt64?
    /// Extend only.
    public var height: UInt64?
    /// The height whose record was (or would have been) compared.
    public var checkHeight: UInt64?
    public var section: PivotSection?
    /// Switch only: the callback's answer, present exactly when the callback was invoked.
    public var fetchedHash: String?
    public var disabled: Disabled?

    enum CodingKeys: String, CodingKey {
        case event, allowed, reason, height, section, disabled
        case forkAt = "fork_at", meHeight = "me_height", checkHeight = "check_height", fetchedHash = "fetched_hash"
    }

    /// One line of JSON with sorted keys, absent fields omitted, lowercase hex.
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding plain integers, strings and bools cannot fail.
        guard let data = try? encoder.encode(self) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
