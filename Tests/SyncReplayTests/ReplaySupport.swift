import Foundation
import PivotHint
import SyncTrace

/// Pivot-only traces for the replayer's tests, built on the synthetic hint file S of
/// specs/conflux-pivot-hint.md §8.1 (canonical hashes `H(h) = keccak256(u64_le(h))`).
enum ReplayFixtures {
    /// A fresh directory under the temporary directory.
    static func directory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("replay-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func canon(_ h: UInt64) -> [UInt8] { SyntheticHint.canon(h).bytes }
    static func foreign(_ h: UInt64) -> [UInt8] { SyntheticHint.foreign(h).bytes }

    /// The fork events of the standard pivot trace; `variant` changes one of them so replays
    /// diverge in a known way.
    enum Variant { case standard, flippedSwitch, extraExtend, droppedExtend, missingBranchHash, farExtend }

    static func events(_ variant: Variant) -> [PivotRecord] {
        var events: [PivotRecord] = [
            // check height 304 (minor), canonical → minor_match.
            .switch(PivotSwitch(forkAt: 301, meHeight: 305, meHash: canon(305),
                                branch: [PivotBranchEntry(height: 304, hash: canon(304))])),
            // check height 190 (major beats minor), canonical → major_match.
            .switch(PivotSwitch(forkAt: 1, meHeight: 199, meHash: canon(199),
                                branch: [PivotBranchEntry(height: 190, hash: canon(190))])),
            // check height 200 (major), foreign → major_mismatch.
            .switch(PivotSwitch(forkAt: 150, meHeight: 205, meHash: foreign(205),
                                branch: [PivotBranchEntry(height: 200, hash: variant == .flippedSwitch ? canon(200) : foreign(200))])),
            // beyond range_max = 1000.
            .switch(PivotSwitch(forkAt: 1000, meHeight: 1010, meHash: canon(1010), branch: [])),
            // [997, 997] holds no multiple of 2 → not_covered.
            .switch(PivotSwitch(forkAt: 997, meHeight: 997, meHash: canon(997), branch: [])),
        ]
        if variant == .missingBranchHash {
            events.append(.switch(PivotSwitch(forkAt: 401, meHeight: 455, meHash: canon(455), branch: [])))
        }
        for h: UInt64 in [10, 11, 12, 20, 22, 30, 44, 50] {
            if variant == .droppedExtend && h == 22 { continue }
            events.append(.extend(PivotExtend(height: h, hash: h == 44 ? foreign(h) : canon(h))))
            if variant == .extraExtend && h == 20 { events.append(.extend(PivotExtend(height: 21, hash: canon(21)))) }
        }
        if variant == .farExtend {
            events.append(.extend(PivotExtend(height: 600, hash: canon(600))))
            events.append(.extend(PivotExtend(height: 44, hash: foreign(44))))
        }
        return events
    }

    /// Writes a pivot trace with the hint attached; returns its path.
    @discardableResult
    static func writeTrace(at url: URL, variant: Variant = .standard, attachHint: Bool = true, hintBytes: [UInt8]? = nil) throws -> String {
        var metadata: [String: String] = [:]
        if attachHint { metadata[TraceAttachmentName.pivotHintChecksumKey] = SyntheticHint.checksumHex }
        let writer = try TraceWriter(path: url.path, metadata: metadata)
        _ = try writer.append(.node(NodeRecord(chainID: "conflux-test", nodeID: "node0", captureMethod: "test", profileHint: "")), logTime: 0)
        for (i, e) in events(variant).enumerated() {
            _ = try writer.append(.pivot(e), logTime: UInt64(i + 1) * 1_000_000)
        }
        if attachHint {
            try writer.attach(name: TraceAttachmentName.pivotHint, mediaType: TraceAttachmentName.pivotHintMediaType,
                              data: hintBytes ?? SyntheticHint.bytes)
        }
        try writer.finish()
        return url.path
    }

    static func read(_ path: String) -> String {
        String(decoding: FileManager.default.contents(atPath: path) ?? Data(), as: UTF8.self)
    }

    /// Environment for child processes with CI unset (or set).
    static func environment(ci: Bool = false) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "CI")
        if ci { env["CI"] = "true" }
        return env
    }
}
