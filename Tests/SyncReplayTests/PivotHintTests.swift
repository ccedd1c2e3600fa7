import Foundation
import Testing
import Keccak
import PivotHint

/// Check-height property, the original's randomized `test_pivot_hint`, bad input, writer and
/// sources (specs/conflux-pivot-hint.md §2–§5).
@Suite struct PivotHintTests {
    typealias S = SyntheticHint

    // MARK: compute_check_height (§3.1)

    /// Brute force: scan I = [forkAt, min(meHeight, rangeMax−1)] downward for a major multiple,
    /// then for a minor multiple.
    static func bruteForce(_ h: PivotHintHeader, forkAt: UInt64, meHeight: UInt64) -> UInt64? {
        guard h.rangeMax > 0, forkAt <= min(meHeight, h.rangeMax - 1) else { return nil }
        let top = min(meHeight, h.rangeMax - 1)
        for k in [h.majorInterval, h.minorInterval] {
            var x = top
            while true {
                if x % k == 0 { return x }
                if x == forkAt { break }
                x -= 1
            }
        }
        return nil
    }

    /// The original's tick ranges: `((fork_at−1)/k + 1) ..= (me_height/k)` ∩ `0 .. range_max/k`,
    /// last tick × k, major first.
    static func ticks(_ h: PivotHintHeader, forkAt: UInt64, meHeight: UInt64) -> UInt64? {
        for k in [h.majorInterval, h.minorInterval] {
            let lo = (forkAt - 1) / k + 1
            let hi = min(meHeight / k, h.rangeMax / k == 0 ? 0 : h.rangeMax / k - 1)
            if h.rangeMax / k > 0, lo <= hi { return hi * k }
        }
        return nil
    }

    @Test func checkHeightMatchesBruteForceAndTicks() throws {
        var rng = SplitMix64(seed: 0x5eed_c0de)
        var checked = 0
        for _ in 0..<400 {
            let minor = UInt32.random(in: 1...6, using: &rng)
            let major = minor * UInt32.random(in: 1...5, using: &rng)
            let page = major * UInt32.random(in: 1...4, using: &rng)
            let rangeMax = UInt64(page) * UInt64.random(in: 0...5, using: &rng)
            let header = try PivotHintHeader(minorInterval: minor, majorInterval: major, pageInterval: page,
                                             rangeMax: rangeMax, minorHashLength: 4)
            for _ in 0..<100 {
                let span = rangeMax + 40
                let forkAt = UInt64.random(in: 1...span, using: &rng)
                let meHeight = Bool.random(using: &rng)
                    ? forkAt &+ UInt64.random(in: 0...60, using: &rng)
                    : UInt64.random(in: 0...span, using: &rng)
                let got = header.checkHeight(forkAt: forkAt, meHeight: meHeight)
                let brute = Self.bruteForce(header, forkAt: forkAt, meHeight: meHeight)
                #expect(got == brute, "\(minor)/\(major)/\(page)/\(rangeMax): (\(forkAt), \(meHeight))")
                #expect(got == Self.ticks(header, forkAt: forkAt, meHeight: meHeight))
                if let got {
                    #expect(got >= forkAt && got <= meHeight && got < rangeMax && got % UInt64(minor) == 0)
                }
                checked += 1
            }
        }
        #expect(checked == 40_000)
    }

    @Test func checkHeightEdgesWithSampleParameters() throws {
        let h = try PivotHintHeader(minorInterval: 5, majorInterval: 100, pageInterval: 20000,
                                    rangeMax: 1_000_000, minorHashLength: 4)
        let rows: [(UInt64, UInt64, UInt64?)] = [  // §8.5
            (1, 4, nil), (1, 5, 5), (1, 99, 95), (1, 100, 100), (1, 199, 100), (101, 199, 195),
            (101, 200, 200), (19999, 20001, 20000), (123456, 123459, nil), (123456, 123460, 123460),
            (1, 1_000_000, 999_900), (999_901, 2_000_000, 999_995), (999_996, 2_000_000, nil),
            (1_000_000, 5_000_000, nil), (2, UInt64.max, 999_900),
        ]
        for (f, m, expected) in rows { #expect(h.checkHeight(forkAt: f, meHeight: m) == expected, "(\(f), \(m))") }
    }

    // MARK: test_pivot_hint (§5), on a generated chain

    /// A cheap deterministic "pivot chain": 32 bytes from SplitMix64 seeded by the height.
    static func chainHash(_ h: UInt64) -> PivotHash {
        var g = SplitMix64(seed: h &* 0x2545_F491_4F6C_DD1D ^ 0xc0ff_ee)
        var bytes = [UInt8]()
        bytes.reserveCapacity(32)
        for _ in 0..<4 { let v = g.next(); for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        return PivotHash(bytes)!
    }

    /// 100,000 random switch checks as the original test draws them (fork_at < 1.5 × range_max,
    /// three kinds of distance, a coin for manipulating byte 0 of the asked hash). Sample
    /// parameters with range_max 50,000 (5 pages) keep it quick in debug builds.
    @Test func randomSwitchChecksLikeTheOriginalTest() throws {
        let header = try PivotHintHeader(minorInterval: 5, majorInterval: 100, pageInterval: 10_000,
                                         rangeMax: 50_000, minorHashLength: 4)
        let built = PivotHintWriter(header: header).build(hashAt: Self.chainHash)
        var hint = try PivotHint(source: PivotHintMemorySource(built.bytes), checksum: built.checksum)
        var rng = SplitMix64(seed: 20241028)
        let limit: UInt64 = 75_000
        var iterations = 0, asked = 0, denied = 0
        while iterations < 100_000 {
            let forkAt = rng.next() % limit
            if forkAt == 0 { continue }
            iterations += 1
            let diff: UInt64 = switch rng.next() % 3 {
            case 0: rng.next() % 10
            case 1: rng.next() % 200
            default: rng.next() % (limit - forkAt)
            }
            let success = rng.next() % 2 == 0
            var manipulated = false
            var badHeight = false
            let d = try hint.allowSwitch(forkAt: forkAt, meHeight: forkAt + diff) { h in
                if h >= header.rangeMax || h % 5 != 0 { badHeight = true }
                var bytes = Self.chainHash(h).bytes
                if !success { bytes[0] ^= 0x80; manipulated = true }
                return PivotHash(bytes)!
            }
            if d.fetchedHash != nil { asked += 1 }
            if !d.allowed { denied += 1 }
            if d.allowed == manipulated || badHeight {
                Issue.record("fork_at \(forkAt) me_height \(forkAt + diff): \(d.canonicalJSON)")
                break
            }
        }
        #expect(iterations == 100_000)
        #expect(hint.isActive)
        #expect(asked > 30_000 && denied > 15_000, "the draws exercise both outcomes: asked \(asked), denied \(denied)")
        #expect(hint.pageLoadCount == 5, "5 pages fit the LRU: each read once")
    }

    // MARK: LRU (§2.2)

    @Test func lruEvictsLeastRecentlyUsedBeyondFive() throws {
        var hint = try S.hint()
        for page in UInt64(0)..<7 { _ = hint.allowExtend(height: page * 100, hash: S.canon(page * 100)) }
        #expect(hint.cachedPages == [2, 3, 4, 5, 6])
        _ = hint.allowExtend(height: 300, hash: S.canon(300))  // hit: refreshes page 3
        #expect(hint.cachedPages == [2, 4, 5, 6, 3])
        _ = hint.allowExtend(height: 0, hash: S.canon(0))  // miss: evicts page 2
        #expect(hint.cachedPages == [4, 5, 6, 3, 0])
        #expect(hint.pageLoadCount == 8)
    }

    // MARK: bad input

    static func header(minor: UInt32, major: UInt32, page: UInt32, rangeMax: UInt64, minorLength: UInt32, pageBytes: UInt32) -> [UInt8] {
        func le(_ v: UInt64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
        return le(UInt64(minor), 4) + le(UInt64(major), 4) + le(UInt64(page), 4) + le(rangeMax, 8)
            + le(UInt64(minorLength), 4) + le(UInt64(pageBytes), 4)
    }

    static func loadError(_ bytes: [UInt8]) -> String? {
        do { _ = try PivotHintFile(source: PivotHintMemorySource(bytes)); return nil } catch { return error.description }
    }

    @Test func zeroIntervalsAreErrorsNotTraps() {
        #expect(Self.loadError(Self.header(minor: 0, major: 10, page: 100, rangeMax: 1000, minorLength: 4, pageBytes: 520))
                == "Cannot parse and check header: Inconsistent header params: minor_interval is 0 (the original panics on division by zero)")
        #expect(Self.loadError(Self.header(minor: 2, major: 0, page: 100, rangeMax: 1000, minorLength: 4, pageBytes: 520))?
                .hasSuffix("major_interval is 0 (the original panics on division by zero)") == true)
        #expect(Self.loadError(Self.header(minor: 2, major: 10, page: 0, rangeMax: 1000, minorLength: 4, pageBytes: 520))?
                .hasSuffix("page_interval is 0 (the original panics on division by zero)") == true)
    }

    @Test func minorHashLongerThanAHashIsRefused() {
        // page_bytes consistent with L = 33: 32·10 + 33·50.
        let e = Self.loadError(Self.header(minor: 2, major: 10, page: 100, rangeMax: 1000, minorLength: 33, pageBytes: 320 + 33 * 50))
        #expect(e?.contains("minor_hash_length 33 exceeds the 32-byte hash") == true, "\(e ?? "loaded")")
    }

    @Test func absurdRangeMaxNeitherOverflowsNorAllocates() {
        // N = 2^64 − 1 pages: the size arithmetic overflows.
        let overflow = Self.loadError(Self.header(minor: 1, major: 1, page: 1, rangeMax: UInt64.max, minorLength: 0, pageBytes: 32))
        #expect(overflow?.contains("overflows 64 bits") == true, "\(overflow ?? "loaded")")
        // N = 2^40 pages fits in 64 bits, but 32·N bytes of digests are not in a 28-byte file:
        // refused before allocating.
        let huge = Self.loadError(Self.header(minor: 1, major: 1, page: 1, rangeMax: 1 << 40, minorLength: 0, pageBytes: 32))
        #expect(huge?.hasPrefix("Cannot load page digests: unexpected end of file") == true, "\(huge ?? "loaded")")
        // A page_bytes beyond u32 cannot be stored: refused by the writer's header.
        #expect(throws: PivotHintHeaderError.pageTooLarge) {
            try PivotHintHeader(minorInterval: 1, majorInterval: 1, pageInterval: UInt32.max, rangeMax: 0, minorHashLength: 32)
        }
    }

    @Test func emptyRangeLoadsAndAllowsEverything() throws {
        let bytes = Self.header(minor: 2, major: 10, page: 100, rangeMax: 0, minorLength: 4, pageBytes: 520)
        let file = try PivotHintFile(source: PivotHintMemorySource(bytes))
        #expect(file.checksum.hex == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470")
        var hint = try PivotHint(file: file, checksum: file.checksum)
        let d = try hint.allowSwitch(forkAt: 0, meHeight: 9) { _ in Issue.record("callback asked"); return S.canon(0) }
        #expect(d.allowed && d.reason == .beyondRange, "fork_at 0 ≥ range_max 0 returns before the underflow")
    }

    /// A header edit keeping N and page_bytes passes every check and reinterprets the data (§9):
    /// reproduced, not "fixed".
    @Test func headerIsNotAuthenticated() throws {
        var bytes = S.bytes
        bytes[0] = 5  // minor 2 → 5
        bytes[20] = 10  // minor_hash_length 4 → 10: minor section stays 200 bytes
        var hint = try S.hint(bytes)
        #expect(hint.header.minorInterval == 5 && hint.header.pageBytes == 520)
        #expect(hint.allowExtend(height: 5, hash: S.canon(5)).reason == .minorMismatch)
        #expect(hint.isActive)
    }

    /// Random garbage and random corruption of S never crash; answers stay decisions.
    @Test func fuzzedInputsGiveErrorsOrDecisions() throws {
        var rng = SplitMix64(seed: 99)
        for round in 0..<300 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = (0..<Int(rng.next() % 700)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            } else {
                bytes = S.bytes
                for _ in 0..<(1 + rng.next() % 4) {
                    let i = Int(rng.next() % UInt64(bytes.count))
                    bytes[i] = UInt8(truncatingIfNeeded: rng.next())
                }
                if rng.next() % 3 == 0 { bytes = Array(bytes.prefix(Int(rng.next() % UInt64(bytes.count)))) }
            }
            guard let file = try? PivotHintFile(source: PivotHintMemorySource(bytes)) else { continue }
            var hint = try PivotHint(file: file, checksum: file.checksum)
            for _ in 0..<20 {
                let f = 1 + rng.next() % 1200, m = rng.next() % 1500
                _ = try hint.allowSwitch(forkAt: f, meHeight: m, ancestorHashAt: S.canon)
                _ = hint.allowExtend(height: rng.next() % 1200, hash: S.foreign(7))
            }
            _ = file.verifyPages()
        }
    }

    @Test func callbackErrorsPropagateAndLeaveStateAlone() throws {
        struct Missing: Error {}
        var hint = try S.hint()
        #expect(throws: Missing.self) { try hint.allowSwitch(forkAt: 1, meHeight: 5) { _ in throw Missing() } }
        #expect(hint.isActive && hint.pageLoadCount == 0)
    }

    // MARK: decisions

    @Test func decisionCanonicalJSON() throws {
        var hint = try S.hint()
        let d = try hint.allowSwitch(forkAt: 1, meHeight: 5, ancestorHashAt: S.pcoll)
        #expect(d.canonicalJSON == """
            {"allowed":true,"check_height":4,"event":"pivot_switch","fetched_hash":"\(S.pcoll(4).hex)","fork_at":1,"me_height":5,"reason":"minor_match","section":"minor"}
            """)
        let e = hint.allowExtend(height: 7, hash: S.foreign(7))
        #expect(e.canonicalJSON == #"{"allowed":true,"event":"pivot_extend","height":7,"reason":"not_covered"}"#)
        let decoded = try JSONDecoder().decode(PivotDecision.self, from: Data(d.canonicalJSON.utf8))
        #expect(decoded == d)
        var broken = S.bytes
        broken[28 + 320 + 5] ^= 1
        var disabled = try S.hint(broken)
        #expect(disabled.allowExtend(height: 0, hash: S.canon(0)).canonicalJSON == """
            {"allowed":true,"check_height":0,"disabled":{"error":"Incorrect checksum","page":0},"event":"pivot_extend","height":0,"reason":"hint_disabled","section":"major"}
            """)
    }

    // MARK: writer inputs and sources

    @Test func hashListFormats() throws {
        let hashes = (UInt64(0)..<3).map(S.canon)
        let binary = try PivotHashList(bytes: hashes.flatMap(\.bytes))
        let text = "0x" + hashes[0].hex + "\n" + hashes[1].hex.uppercased() + "  \r\n\n" + hashes[2].hex
        let hex = try PivotHashList(bytes: Array(text.utf8))
        #expect(binary.count == 3 && hex.count == 3)
        for h in UInt64(0)..<3 { #expect(binary[h] == hashes[Int(h)] && hex[h] == hashes[Int(h)]) }
        #expect(binary[3] == nil)
        #expect(throws: PivotHashListError.badHexLine(2)) { try PivotHashList(bytes: Array((hashes[0].hex + "\nzz\n").utf8)) }
        #expect(throws: PivotHashListError.binaryLength(33)) { try PivotHashList(bytes: [UInt8](repeating: 1, count: 33)) }
    }

    @Test func checksumHexParsingFollowsFixedHash() {
        #expect(PivotHash(hex: "0x" + S.checksumHex) == S.checksum)
        #expect(PivotHash(hex: S.checksumHex.uppercased()) == S.checksum)
        #expect(PivotHash(hex: "0X" + S.checksumHex) == nil)
        #expect(PivotHash(hex: String(S.checksumHex.dropLast())) == nil)
    }

    @Test func fileSourceWriterAndTruncation() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pivot-hint-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("S.bin").path
        let checksum = try PivotHintWriter(header: S.header).write(toPath: path, hashAt: S.canon)
        #expect(checksum == S.checksum)
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) == S.bytes)
        let source = try PivotHintFileSource(path: path)
        #expect(source.size == 5548)
        #expect(throws: PivotHintSourceError.pastEnd(offset: 5540, count: 9, size: 5548)) { try source.read(offset: 5540, count: 9) }
        #expect(throws: PivotHintSourceError.self) { try source.read(offset: UInt64.max, count: 2) }
        var hint = try PivotHint(source: source, checksum: S.checksum)
        #expect(hint.allowExtend(height: 990, hash: S.canon(990)).reason == .majorMatch)
        // Truncated in place after loading: the next page load fails and disables (§2.3).
        try FileHandle(forWritingTo: URL(fileURLWithPath: path)).truncate(atOffset: 2948)
        let d = hint.allowExtend(height: 600, hash: S.canon(600))
        #expect(d.reason == .hintDisabled && d.disabled?.page == 6)
        #expect(throws: PivotHintError.self) { try PivotHintFile(path: dir.appendingPathComponent("absent").path) }
        #expect(throws: PivotHintError.self) { try PivotHintFile(path: dir.path) }
    }
}
