/// One fork event put to a pivot validator (specs/conflux-pivot-hint.md §3.2, §3.3): what the
/// replayer and `syncreplay hint check --conflux-log` both do with a `/pivot` event.
public enum PivotEvaluation: Equatable, Sendable {
    /// The validator answered.
    case decided(PivotOutcome)
    /// `allow_switch` asked its callback for a height whose hash the event did not record
    /// (DESIGN.md §3: an explicit `unknown`, never a guess).
    case unknown(height: UInt64)

    /// `allow_switch(fork_at, me_height, ancestor_hash_at)` with the callback (§3.2 step 4)
    /// answered from the event: `me_hash` at `me_height` when it was recorded, else the branch
    /// entry for the height. A Conflux log line records one branch hash (`check_height`,
    /// `fetch_hash`) and no `me_hash` unless the two heights coincide.
    public static func allowSwitch(_ validator: inout any PivotValidating, forkAt: UInt64, meHeight: UInt64, meHash: [UInt8],
                                   branch: [(height: UInt64, hash: [UInt8])]) throws -> PivotEvaluation {
        var missing: UInt64?
        do {
            return .decided(try validator.allowSwitch(forkAt: forkAt, meHeight: meHeight) { (h: UInt64) throws -> [UInt8] in
                if h == meHeight, !meHash.isEmpty { return meHash }
                if let entry = branch.first(where: { $0.height == h }) { return entry.hash }
                missing = h
                throw MissingHash()
            })
        } catch {
            if let h = missing { return .unknown(height: h) }
            throw error
        }
    }

    struct MissingHash: Error {}

    /// Whether the real node's recorded result disagrees with the validator's (nil when the
    /// event carries no observed result).
    public static func disagrees(observed: ObservedOutcome, decided: Bool) -> Bool? {
        switch observed {
        case .unknown: return nil
        case .allowed: return !decided
        case .denied: return decided
        }
    }
}

extension ObservedOutcome {
    /// `allowed` → true, `denied` → false, `unknown` → nil.
    public var allowed: Bool? {
        switch self {
        case .unknown: return nil
        case .allowed: return true
        case .denied: return false
        }
    }
}
