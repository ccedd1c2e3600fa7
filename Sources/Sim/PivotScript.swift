import Keccak
import PivotHint
import SyncTrace

/// The pivot chain and branches of a `[pivot]` section, the hint file built from it, and the
/// fork events (specs/conflux-pivot-hint.md §8.1 conventions; with an empty seed the file is
/// exactly the spec's synthetic file S).
public struct PivotScript: Sendable {
    public let spec: PivotSpec
    public let header: PivotHintHeader
    /// The hint file as attached to the trace (after any corruption or truncation).
    public let file: [UInt8]
    /// The Pivot Hint Checksum (over the page digests; unaffected by page damage, §1.4).
    public let checksum: PivotHash

    public init(_ spec: PivotSpec) throws(ScenarioError) {
        self.spec = spec
        do {
            header = try PivotHintHeader(minorInterval: spec.minorInterval, majorInterval: spec.majorInterval,
                                         pageInterval: spec.pageInterval, rangeMax: spec.rangeMax,
                                         minorHashLength: spec.minorHashLength)
        } catch {
            throw ScenarioError(line: nil, key: "pivot", "hint parameters rejected: \(error)")
        }
        let seed = Array(spec.seed.utf8)
        let built = PivotHintWriter(header: header).build { h in PivotHash(PivotScript.canonical(seed: seed, h))! }
        var bytes = built.bytes
        let pagesStart = PivotHintHeader.byteCount + Int(header.digestPartBytes)
        if let p = spec.corruptPage {
            // §8.4 scenario 3: one flipped byte inside the page; its digest no longer matches.
            bytes[pagesStart + Int(p) * header.pageBytes + 5] ^= 0x01
        }
        if let k = spec.truncatePages {
            // §8.4 scenario 2: the file ends before page k; loading succeeds, page k fails.
            bytes.removeSubrange((pagesStart + Int(k) * header.pageBytes)...)
        }
        file = bytes
        checksum = built.checksum
    }

    static func le64(_ h: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: h >> (8 * $0)) } }

    /// `H(h) = keccak256(seed ‖ u64_le(h))`.
    static func canonical(seed: [UInt8], _ h: UInt64) -> [UInt8] { Keccak256.hash(seed + le64(h)) }

    /// The hash of `branch` at height `h` (§8.1: canonical H, foreign F, prefix-colliding P).
    public func hash(_ branch: PivotBranch, at h: UInt64) -> [UInt8] {
        let seed = Array(spec.seed.utf8)
        switch branch {
        case .canonical: return PivotScript.canonical(seed: seed, h)
        case .foreign: return Keccak256.hash(seed + [0x42] + PivotScript.le64(h))
        case .prefix:
            let l = min(Int(spec.minorHashLength), 32)
            return Array(PivotScript.canonical(seed: seed, h)[0..<l]) + [UInt8](repeating: 0, count: 32 - l)
        }
    }

    /// The `/pivot` record of one event. A switch records the branch's hash at the height the
    /// hint will check (§3.1), unless `record_branch = false` (then replay reports `unknown`).
    public func record(_ event: PivotEventSpec) -> PivotRecord {
        func observation(_ s: String) -> PivotObservation { PivotObservation(rawValue: s) ?? .unknown }
        switch event {
        case let .switch(_, forkAt, meHeight, branch, recordBranch, observed):
            var entries: [PivotBranchEntry] = []
            if recordBranch, let ch = header.checkHeight(forkAt: forkAt, meHeight: meHeight), ch != meHeight {
                entries.append(PivotBranchEntry(height: ch, hash: hash(branch, at: ch)))
            }
            return .switch(PivotSwitch(forkAt: forkAt, meHeight: meHeight, meHash: hash(branch, at: meHeight),
                                       branch: entries, observed: observation(observed)))
        case let .extend(_, height, branch, observed):
            return .extend(PivotExtend(height: height, hash: hash(branch, at: height), observed: observation(observed)))
        }
    }
}
