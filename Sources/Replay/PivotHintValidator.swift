import PivotHint
import SyncMachine

/// Where the pivot hint comes from: `--hint FILE --hint-checksum HEX`, or the trace's
/// `pivot-hint.bin` attachment with the checksum in its metadata (or `--hint-checksum`).
public struct HintSelection: Sendable, Equatable {
    public var path: String?
    public var checksum: String?
    public init(path: String? = nil, checksum: String? = nil) {
        self.path = path
        self.checksum = checksum
    }

    /// The command-line words that reproduce this selection.
    public var arguments: [String] {
        (path.map { ["--hint", $0] } ?? []) + (checksum.map { ["--hint-checksum", $0] } ?? [])
    }

    /// Opens the hint for `trace`; errors are exit-2 input problems.
    public func open(for trace: ReplayTrace) throws(CaseError) -> PivotHintValidator {
        let source: any PivotHintSource
        let checksumHex: String?
        let origin: String
        if let path {
            guard let checksum else { throw CaseError("--hint \(path) needs --hint-checksum HEX (the file's published checksum)") }
            do { source = try PivotHintFileSource(path: path) } catch { throw CaseError("hint \(path): \(error)") }
            checksumHex = checksum
            origin = path
        } else if let attached = trace.hintAttachment {
            source = PivotHintMemorySource(attached.data)
            checksumHex = checksum ?? attached.checksum
            origin = "the trace's pivot-hint.bin attachment"
            guard checksumHex != nil else {
                throw CaseError("\(origin) has no pivot_hint_checksum in the trace metadata; pass --hint-checksum HEX")
            }
        } else {
            throw CaseError(ReplayError.noHint.description)
        }
        guard let hex = checksumHex, let hash = PivotHash(hex: hex) else {
            throw CaseError("--hint-checksum must be 64 hex digits, got \"\(checksumHex ?? "")\"")
        }
        do {
            return PivotHintValidator(hint: try PivotHint(source: source, checksum: hash))
        } catch {
            throw CaseError("pivot hint from \(origin): \(error)")
        }
    }
}

/// Conflux's pivot-hint validator (PivotHint) as the replayer drives it.
public struct PivotHintValidator: PivotValidating {
    public var hint: PivotHint

    public init(hint: PivotHint) { self.hint = hint }

    struct BadHash: Error, CustomStringConvertible {
        let height: UInt64
        let count: Int
        var description: String { "the recorded hash at height \(height) has \(count) bytes, not 32" }
    }

    public mutating func allowSwitch(forkAt: UInt64, meHeight: UInt64,
                                     ancestorHashAt: (UInt64) throws -> [UInt8]) throws -> PivotOutcome {
        let decision = try hint.allowSwitch(forkAt: forkAt, meHeight: meHeight) { (h: UInt64) throws -> PivotHash in
            let bytes = try ancestorHashAt(h)
            guard let hash = PivotHash(bytes) else { throw BadHash(height: h, count: bytes.count) }
            return hash
        }
        return PivotHintValidator.outcome(decision)
    }

    public mutating func allowExtend(height: UInt64, hash: [UInt8]) throws -> PivotOutcome {
        guard let h = PivotHash(hash) else { throw BadHash(height: height, count: hash.count) }
        return PivotHintValidator.outcome(hint.allowExtend(height: height, hash: h))
    }

    static func outcome(_ d: PivotDecision) -> PivotOutcome {
        PivotOutcome(allowed: d.allowed, reason: d.reason, checkHeight: d.checkHeight, section: d.section,
                     disabled: d.disabled.map { ($0.page, $0.error) })
    }
}

/// Runs one replay of a loaded trace: opens the hint when the trace has pivot events and
/// drives the engine.
public enum ReplaySession {
    public static func replay(_ trace: ReplayTrace, options: ReplayOptions, hint: HintSelection,
                              machines: MachineRegistry?) throws(CaseError) -> ReplayResult {
        let validator: (any PivotValidating)? = trace.hasPivot ? try hint.open(for: trace) : nil
        do {
            return try ReplayEngine(trace: trace, options: options).run(machines: machines, pivot: validator)
        } catch {
            throw CaseError(error.description)
        }
    }
}
