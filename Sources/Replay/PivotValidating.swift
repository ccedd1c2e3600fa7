import PivotHint

/// The result of one pivot-hint check, in the fields of DESIGN.md §4.
public struct PivotOutcome: Equatable, Sendable {
    public var allowed: Bool
    public var reason: PivotReason
    public var checkHeight: UInt64?
    public var section: HintSection?
    /// The page failure that disabled the hint during this call.
    public var disabled: (page: UInt64, error: String)?

    public init(allowed: Bool, reason: PivotReason, checkHeight: UInt64?, section: HintSection?, disabled: (page: UInt64, error: String)?) {
        self.allowed = allowed
        self.reason = reason
        self.checkHeight = checkHeight
        self.section = section
        self.disabled = disabled
    }

    public static func == (a: PivotOutcome, b: PivotOutcome) -> Bool {
        a.allowed == b.allowed && a.reason == b.reason && a.checkHeight == b.checkHeight && a.section == b.section
            && a.disabled?.page == b.disabled?.page && a.disabled?.error == b.disabled?.error
    }
}

/// A pivot-hint validator the replayer can drive (`allow_switch` / `allow_extend`,
/// specs/conflux-pivot-hint.md §3). `ancestorHashAt` may throw; the validator must then leave
/// its state untouched and rethrow.
public protocol PivotValidating {
    mutating func allowSwitch(forkAt: UInt64, meHeight: UInt64, ancestorHashAt: (UInt64) throws -> [UInt8]) throws -> PivotOutcome
    mutating func allowExtend(height: UInt64, hash: [UInt8]) throws -> PivotOutcome
}
