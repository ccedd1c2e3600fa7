import Testing
import Keccak
import PivotHint

/// specs/conflux-pivot-hint.md §8.1–§8.4 on the synthetic file S, row by row.
@Suite struct PivotHintConformanceTests {
    typealias S = SyntheticHint

    // MARK: §8.1

    @Test func syntheticFileIsByteIdentical() throws {
        let bytes = S.bytes
        #expect(bytes.count == 5548)
        #expect(S.hex(Array(bytes[0..<28])) == "020000000a00000064000000e8030000000000000400000008020000")
        #expect(S.header.majorSectionBytes == 320)
        #expect(S.header.minorSectionBytes == 200)
        #expect(S.header.pageBytes == 520)
        #expect(S.header.pageCount == 10)
        #expect(S.header.digestPartBytes == 320)
        #expect(S.header.expectedFileSize == 5548)
        let file = try PivotHintFile(source: PivotHintMemorySource(bytes))
        #expect(file.digest(ofPage: 0)?.hex == "334eac8944dad7130029ab9836cdb3779bc11acb874b323b691323a3a57b45c2")
        #expect(file.digest(ofPage: 9)?.hex == "d17eedcfdcc072ad97fe0bc942df945b22e9afce8eed3d0484372fd368a99125")
        #expect(file.checksum.hex == S.checksumHex)
        #expect(S.built.checksum.hex == S.checksumHex)
        // The checksum covers every page digest and the header is compared above, so S is
        // byte-identical; the layout is spot-checked too: H(10) is major record 1 of page 0 and
        // its prefix also fills minor slot 5 (§1.3).
        #expect(Array(bytes[(28 + 320 + 32)..<(28 + 320 + 64)]) == S.canon(10).bytes)
        #expect(Array(bytes[(28 + 320 + 320 + 5 * 4)..<(28 + 320 + 320 + 6 * 4)]) == Array(S.canon(10).bytes[0..<4]))
    }

    @Test func selectedPivotHashes() {
        let expected: [(UInt64, String, String)] = [
            (0, "011b4d03", "7bce"), (4, "22ea9b04", "42f4"), (8, "5e46462f", "30ec"),
            (10, "170278e9", "6274"), (18, "37bf6d81", "96d5"), (100, "36d684ba", "bfb0"),
            (108, "18f0dc92", "d373"), (990, "c60e8757", "791a"), (998, "296ab000", "ee00"),
        ]
        for (h, head, tail) in expected {
            let hex = S.canon(h).hex
            #expect(hex.hasPrefix(head) && hex.hasSuffix(tail), "H(\(h)) = \(hex)")
        }
        for h in UInt64(0)..<1000 { #expect(S.foreign(h).bytes[0..<4] != S.canon(h).bytes[0..<4]) }
    }

    // MARK: §8.2 then §8.3, one fresh instance (the cache sequence of §8.3)

    struct SwitchRow: Sendable {
        var forkAt: UInt64, meHeight: UInt64
        var checkHeight: UInt64?, section: PivotSection?
        var canon: Bool, foreign: Bool, pcoll: Bool
        var reasonWithoutCheck: PivotDecision.Reason = .notCovered
    }

    static let switchRows: [SwitchRow] = [
        .init(forkAt: 1, meHeight: 1, checkHeight: nil, section: nil, canon: true, foreign: true, pcoll: true),
        .init(forkAt: 1, meHeight: 5, checkHeight: 4, section: .minor, canon: true, foreign: false, pcoll: true),
        .init(forkAt: 3, meHeight: 9, checkHeight: 8, section: .minor, canon: true, foreign: false, pcoll: true),
        .init(forkAt: 3, meHeight: 10, checkHeight: 10, section: .major, canon: true, foreign: false, pcoll: false),
        .init(forkAt: 10, meHeight: 10, checkHeight: 10, section: .major, canon: true, foreign: false, pcoll: false),
        .init(forkAt: 11, meHeight: 11, checkHeight: nil, section: nil, canon: true, foreign: true, pcoll: true),
        .init(forkAt: 11, meHeight: 19, checkHeight: 18, section: .minor, canon: true, foreign: false, pcoll: true),
        .init(forkAt: 5, meHeight: 5000, checkHeight: 990, section: .major, canon: true, foreign: false, pcoll: false),
        .init(forkAt: 1, meHeight: 999, checkHeight: 990, section: .major, canon: true, foreign: false, pcoll: false),
        .init(forkAt: 91, meHeight: 109, checkHeight: 100, section: .major, canon: true, foreign: false, pcoll: false),
        .init(forkAt: 101, meHeight: 109, checkHeight: 108, section: .minor, canon: true, foreign: false, pcoll: true),
        .init(forkAt: 995, meHeight: 2000, checkHeight: 998, section: .minor, canon: true, foreign: false, pcoll: true),
        .init(forkAt: 998, meHeight: 998, checkHeight: 998, section: .minor, canon: true, foreign: false, pcoll: true),
        .init(forkAt: 999, meHeight: 5000, checkHeight: nil, section: nil, canon: true, foreign: true, pcoll: true),
        .init(forkAt: 1000, meHeight: 1200, checkHeight: nil, section: nil, canon: true, foreign: true, pcoll: true,
              reasonWithoutCheck: .beyondRange),
        .init(forkAt: 7, meHeight: 3, checkHeight: nil, section: nil, canon: true, foreign: true, pcoll: true),
    ]

    struct ExtendRow: Sendable {
        var height: UInt64, hash: PivotHash, allowed: Bool, reason: PivotDecision.Reason
    }

    static var extendRows: [ExtendRow] {
        var flipped = S.canon(10).bytes
        flipped[31] ^= 0x01
        return [
            .init(height: 7, hash: S.foreign(7), allowed: true, reason: .notCovered),
            .init(height: 8, hash: S.canon(8), allowed: true, reason: .minorMatch),
            .init(height: 8, hash: S.pcoll(8), allowed: true, reason: .minorMatch),
            .init(height: 8, hash: S.foreign(8), allowed: false, reason: .minorMismatch),
            .init(height: 10, hash: S.canon(10), allowed: true, reason: .majorMatch),
            .init(height: 10, hash: S.pcoll(10), allowed: false, reason: .majorMismatch),
            .init(height: 10, hash: PivotHash(flipped)!, allowed: false, reason: .majorMismatch),
            .init(height: 0, hash: S.canon(0), allowed: true, reason: .majorMatch),
            .init(height: 0, hash: S.foreign(0), allowed: false, reason: .majorMismatch),
            .init(height: 998, hash: S.foreign(998), allowed: false, reason: .minorMismatch),
            .init(height: 999, hash: S.foreign(999), allowed: true, reason: .notCovered),
            .init(height: 1000, hash: S.foreign(1000), allowed: true, reason: .beyondRange),
        ]
    }

    @Test func allowSwitchThenAllowExtendTablesAndCacheOrder() throws {
        var hint = try S.hint()
        var loadOrder: [UInt64] = []
        func noteLoads(_ before: Int) {
            if hint.pageLoadCount > before, let last = hint.cachedPages.last { loadOrder.append(last) }
        }
        for row in Self.switchRows {
            let branches: [(String, (UInt64) -> PivotHash, Bool)] = [
                ("canon", S.canon, row.canon), ("foreign", S.foreign, row.foreign), ("pcoll", S.pcoll, row.pcoll),
            ]
            for (name, branch, expected) in branches {
                var asked: [UInt64] = []
                let before = hint.pageLoadCount
                let d = try hint.allowSwitch(forkAt: row.forkAt, meHeight: row.meHeight) { h in
                    asked.append(h)
                    return branch(h)
                }
                noteLoads(before)
                let where_ = "(\(row.forkAt), \(row.meHeight)) \(name)"
                #expect(d.allowed == expected, "\(where_)")
                #expect(d.checkHeight == row.checkHeight, "\(where_)")
                #expect(d.section == row.section, "\(where_)")
                #expect(asked == (row.checkHeight.map { [$0] } ?? []), "callback at most once, only with a check height: \(where_)")
                #expect((d.fetchedHash != nil) == (row.checkHeight != nil), "\(where_)")
                if row.checkHeight == nil {
                    #expect(d.reason == row.reasonWithoutCheck, "\(where_)")
                } else {
                    let r: PivotDecision.Reason = switch (row.section!, expected) {
                    case (.major, true): .majorMatch
                    case (.major, false): .majorMismatch
                    case (.minor, true): .minorMatch
                    case (.minor, false): .minorMismatch
                    }
                    #expect(d.reason == r, "\(where_)")
                }
            }
        }
        // fork_at = 0: the original panics; here a clear error, and no callback.
        #expect(throws: PivotHintError.forkAtZero) {
            try hint.allowSwitch(forkAt: 0, meHeight: 50) { _ in Issue.record("callback asked"); return S.canon(0) }
        }
        for row in Self.extendRows {
            let before = hint.pageLoadCount
            let d = hint.allowExtend(height: row.height, hash: row.hash)
            noteLoads(before)
            #expect(d.allowed == row.allowed, "extend \(row.height) \(row.hash.hex.prefix(8))")
            #expect(d.reason == row.reason, "extend \(row.height) \(row.hash.hex.prefix(8))")
        }
        #expect(loadOrder == [0, 9, 1])
        #expect(hint.pageLoadCount == 3, "each page read once")
        #expect(hint.cachedPages == [1, 0, 9])
        #expect(hint.isActive)
    }

    /// Every height of S against the record rule of §1.3: canon always allowed; foreign denied
    /// exactly at recorded heights; pcoll denied exactly at major heights.
    @Test func allowExtendOnEveryHeightOfS() throws {
        var hint = try S.hint()
        for h in UInt64(0)..<1010 {
            let recorded = h < 1000 && h % 2 == 0
            let major = recorded && h % 10 == 0
            #expect(hint.allowExtend(height: h, hash: S.canon(h)).allowed, "canon \(h)")
            #expect(hint.allowExtend(height: h, hash: S.foreign(h)).allowed == !recorded, "foreign \(h)")
            #expect(hint.allowExtend(height: h, hash: S.pcoll(h)).allowed == !major, "pcoll \(h)")
            #expect(hint.header.section(ofHeight: h) == (recorded ? (major ? .major : .minor) : nil))
        }
        #expect(hint.isActive)
    }

    // MARK: §8.4

    @Test func wrongChecksumIsRefused() throws {
        #expect(throws: PivotHintError.incorrectChecksum(computed: S.checksum, configured: PivotHash([UInt8](repeating: 0, count: 32))!)) {
            try PivotHint(source: PivotHintMemorySource(S.bytes), checksum: PivotHash([UInt8](repeating: 0, count: 32))!)
        }
        let error = PivotHintError.incorrectChecksum(computed: S.checksum, configured: S.checksum)
        #expect(error.description == "Incorrect checksum")
    }

    @Test func truncatedFileDisablesOnFirstMissingPage() throws {
        var hint = try S.hint(Array(S.bytes[0..<2948]))
        let first = hint.allowExtend(height: 0, hash: S.foreign(0))
        #expect(!first.allowed && first.reason == .majorMismatch && hint.isActive)
        let second = hint.allowExtend(height: 600, hash: S.foreign(600))
        #expect(second.allowed && second.reason == .hintDisabled)
        #expect(second.disabled?.page == 6)
        #expect(second.disabled?.error.hasPrefix("Cannot load the page: ") == true)
        #expect(!hint.isActive)
        let third = hint.allowExtend(height: 0, hash: S.foreign(0))
        #expect(third.allowed && third.reason == .hintInactive && third.checkHeight == nil)
        // Disabled for good: switches are allowed without asking the callback.
        let d = try hint.allowSwitch(forkAt: 1, meHeight: 5) { _ in Issue.record("callback asked"); return S.foreign(4) }
        #expect(d.allowed && d.reason == .hintInactive)
    }

    @Test func corruptedPageDisables() throws {
        var bytes = S.bytes
        bytes[28 + 320 + 3 * 520 + 5] ^= 0xff
        var hint = try S.hint(bytes)
        let d = try hint.allowSwitch(forkAt: 301, meHeight: 305, ancestorHashAt: S.foreign)
        #expect(d.checkHeight == 304)
        #expect(d.allowed && d.reason == .hintDisabled)
        #expect(d.disabled == PivotDecision.Disabled(page: 3, error: "Incorrect checksum"))
        #expect(!hint.isActive)
        #expect(hint.disabledBy?.page == 3)
    }

    static func patched(_ edits: [(Int, [UInt8])], length: Int? = nil) -> [UInt8] {
        var bytes = S.bytes
        for (offset, value) in edits { bytes.replaceSubrange(offset..<(offset + value.count), with: value) }
        if let length { bytes = Array(bytes.prefix(length)) }
        return bytes
    }

    static func loadError(_ bytes: [UInt8]) -> String? {
        do { _ = try S.hint(bytes); return nil } catch { return error.description }
    }

    @Test func headerConsistencyErrors() {
        #expect(Self.loadError(Self.patched([(0, [3, 0, 0, 0])]))
                == "Cannot parse and check header: Inconsistent header params: major_interval")
        #expect(Self.loadError(Self.patched([(8, [105, 0, 0, 0])]))
                == "Cannot parse and check header: Inconsistent header params: page_interval")
        #expect(Self.loadError(Self.patched([(12, [0x1a, 0x04, 0, 0, 0, 0, 0, 0])]))
                == "Cannot parse and check header: Inconsistent header params: range_max")
        #expect(Self.loadError(Self.patched([(24, [0x07, 0x02, 0, 0])]))
                == "Cannot parse and check header: Inconsistent page bytes")
    }

    @Test func shortFiles() {
        for length in [0, 1, 27] {
            let e = Self.loadError(Array(S.bytes.prefix(length)))
            #expect(e?.hasPrefix("Cannot load header: ") == true, "\(length): \(e ?? "loaded")")
        }
        for length in [28, 29, 347] {
            let e = Self.loadError(Array(S.bytes.prefix(length)))
            #expect(e?.hasPrefix("Cannot load page digests: ") == true, "\(length): \(e ?? "loaded")")
        }
        // Digests complete, pages absent: the load succeeds (pages fail lazily, §1.2).
        #expect(Self.loadError(Array(S.bytes.prefix(348))) == nil)
    }
}
