/// The 28-byte little-endian header and the sizes derived from it
/// (specs/conflux-pivot-hint.md §1.1, §1.2, §2.1).
///
/// The header is not covered by the checksum (§1.4): it is validated only by the four
/// consistency rules, which run in the original's order with its error texts. Where the
/// original panics instead (a zero interval makes `x % 0` trap, `minor_hash_length > 32`
/// makes the first minor check slice out of bounds, size arithmetic overflows) this port
/// returns a `PivotHintHeaderError` — a deliberate, documented divergence (README "Pivot hint").
public struct PivotHintHeader: Sendable, Equatable {
    /// `HEADER_LENGTH` (§1.1).
    public static let byteCount = 28

    public let minorInterval: UInt64
    public let majorInterval: UInt64
    public let pageInterval: UInt64
    /// Exclusive upper bound of the recorded heights.
    public let rangeMax: UInt64
    /// Length in bytes of a minor record: the leading bytes of the pivot hash.
    public let minorHashLength: Int

    /// `32 * (page_interval / major_interval)` (§1.2).
    public let majorSectionBytes: Int
    /// `minor_hash_length * (page_interval / minor_interval)` (§1.2).
    public let minorSectionBytes: Int
    /// `major_section_bytes + minor_section_bytes`; equal to the stored u32 at offset 24.
    public let pageBytes: Int
    /// `N = range_max / page_interval`, derived from the header only (§1.2, §9).
    public let pageCount: UInt64
    /// `28 + 32·N + N·page_bytes`, checked against overflow. The loader does not require the
    /// file to have this length (trailing bytes are ignored, missing pages fail lazily, §2.3).
    public let expectedFileSize: UInt64

    /// Validates parameters as the original's `from_raw` does, computing `page_bytes` (used by
    /// the writer).
    public init(minorInterval: UInt32, majorInterval: UInt32, pageInterval: UInt32,
                rangeMax: UInt64, minorHashLength: UInt32) throws(PivotHintHeaderError) {
        try self.init(minorInterval: UInt64(minorInterval), majorInterval: UInt64(majorInterval),
                      pageInterval: UInt64(pageInterval), rangeMax: rangeMax, minorHashLength: minorHashLength,
                      storedPageBytes: nil)
    }

    /// Parses and checks the first 28 bytes of a hint file (`PivotHintHeader::from_raw`, §2.1).
    public init(bytes: [UInt8]) throws(PivotHintHeaderError) {
        guard bytes.count >= PivotHintHeader.byteCount else { throw .tooShort(bytes.count) }
        func u32(_ at: Int) -> UInt32 {
            UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        }
        let rangeMax = UInt64(u32(12)) | UInt64(u32(16)) << 32
        try self.init(minorInterval: UInt64(u32(0)), majorInterval: UInt64(u32(4)), pageInterval: UInt64(u32(8)),
                      rangeMax: rangeMax, minorHashLength: u32(20), storedPageBytes: u32(24))
    }

    private init(minorInterval: UInt64, majorInterval: UInt64, pageInterval: UInt64, rangeMax: UInt64,
                 minorHashLength: UInt32, storedPageBytes: UInt32?) throws(PivotHintHeaderError) {
        // The four checks of §2.1, in order. Before each `%` the divisor is checked for zero,
        // exactly where the original would trap.
        guard minorInterval != 0 else { throw .zeroInterval("minor_interval") }
        guard majorInterval % minorInterval == 0 else { throw .inconsistent("major_interval") }
        guard majorInterval != 0 else { throw .zeroInterval("major_interval") }
        guard pageInterval % majorInterval == 0 else { throw .inconsistent("page_interval") }
        guard pageInterval != 0 else { throw .zeroInterval("page_interval") }
        guard rangeMax % pageInterval == 0 else { throw .inconsistent("range_max") }
        // Every factor is below 2^32, so these products fit in UInt64; the sum is checked.
        let major = 32 * (pageInterval / majorInterval)
        let minor = UInt64(minorHashLength) * (pageInterval / minorInterval)
        let (computed, sumOverflow) = major.addingReportingOverflow(minor)
        if let stored = storedPageBytes {
            guard !sumOverflow, computed == UInt64(stored) else { throw .inconsistentPageBytes }
        } else {
            guard !sumOverflow, computed <= UInt64(UInt32.max) else { throw .pageTooLarge }
        }
        // Additions of this port: the original panics later for these.
        guard minorHashLength <= 32 else { throw .minorHashTooLong(minorHashLength) }
        let pages = rangeMax / pageInterval
        let (digestBytes, o1) = pages.multipliedReportingOverflow(by: 32)
        let (pageData, o2) = pages.multipliedReportingOverflow(by: computed)
        let (partial, o3) = digestBytes.addingReportingOverflow(pageData)
        let (total, o4) = partial.addingReportingOverflow(UInt64(PivotHintHeader.byteCount))
        guard !(o1 || o2 || o3 || o4), total <= UInt64(Int.max) else { throw .sizeOverflow(pageCount: pages) }

        self.minorInterval = minorInterval
        self.majorInterval = majorInterval
        self.pageInterval = pageInterval
        self.rangeMax = rangeMax
        self.minorHashLength = Int(minorHashLength)
        self.majorSectionBytes = Int(major)
        self.minorSectionBytes = Int(minor)
        self.pageBytes = Int(computed)
        self.pageCount = pages
        self.expectedFileSize = total
    }

    /// Size of the page-digest part, `32·N` bytes at offset 28 (fits: `expectedFileSize` did).
    public var digestPartBytes: UInt64 { pageCount &* 32 }

    /// File offset of page `p` (`28 + 32·N + p·page_bytes`, §2.3); nil when `p ≥ N`.
    public func pageOffset(_ page: UInt64) -> UInt64? {
        guard page < pageCount else { return nil }
        return UInt64(PivotHintHeader.byteCount) &+ digestPartBytes &+ page &* UInt64(pageBytes)
    }

    /// The 28 header bytes, `page_bytes` included.
    public var bytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(PivotHintHeader.byteCount)
        func put(_ v: UInt64, _ n: Int) { for i in 0..<n { out.append(UInt8(truncatingIfNeeded: v >> (8 * UInt64(i)))) } }
        put(minorInterval, 4); put(majorInterval, 4); put(pageInterval, 4)
        put(rangeMax, 8); put(UInt64(minorHashLength), 4); put(UInt64(pageBytes), 4)
        return out
    }

    /// `compute_check_height` in closed form (§3.1): with `I = [forkAt, min(meHeight, range_max − 1)]`,
    /// the largest multiple of `major_interval` in I, else the largest multiple of
    /// `minor_interval` in I, else nil. The highest height wins (closest to the branch tip) and
    /// major beats minor. `forkAt = 0` is accepted here; `PivotHint.allowSwitch` rejects it first
    /// as the original's `fork_at − 1` would underflow.
    public func checkHeight(forkAt: UInt64, meHeight: UInt64) -> UInt64? {
        guard rangeMax > 0 else { return nil }
        let top = min(meHeight, rangeMax - 1)
        guard forkAt <= top else { return nil }
        func largestMultiple(of k: UInt64) -> UInt64? {
            let h = top - top % k
            return h >= forkAt ? h : nil
        }
        return largestMultiple(of: majorInterval) ?? largestMultiple(of: minorInterval)
    }

    /// Whether `height` is a major record (full 32 bytes) or a minor one (prefix), or nil when the
    /// height is not recorded (not a multiple of `minor_interval`, or ≥ range_max).
    public func section(ofHeight height: UInt64) -> PivotSection? {
        guard height < rangeMax, height % minorInterval == 0 else { return nil }
        return height % pageInterval % majorInterval == 0 ? .major : .minor
    }
}

/// Which part of a page a height's record lives in (§1.3).
public enum PivotSection: String, Sendable, Codable, Equatable {
    /// Full 32-byte hash at multiples of `major_interval`.
    case major
    /// `minor_hash_length`-byte prefix at the other multiples of `minor_interval`.
    case minor
}

/// Why a header was refused (§2.1). `description` is the original's text for its four checks.
public enum PivotHintHeaderError: Error, Equatable, Sendable, CustomStringConvertible {
    /// Fewer than 28 bytes were given.
    case tooShort(Int)
    /// One of the three divisibility checks failed; the payload names the field.
    case inconsistent(String)
    /// The stored `page_bytes` differs from the computed page size.
    case inconsistentPageBytes
    /// Divergence: the original traps on `x % 0`.
    case zeroInterval(String)
    /// Divergence: the original panics on its first minor check (`actual_hash[..len]`).
    case minorHashTooLong(UInt32)
    /// Divergence: the original's size arithmetic would overflow (and panic, `overflow-checks = true`).
    case sizeOverflow(pageCount: UInt64)
    /// Writer only: the computed page size does not fit the u32 `page_bytes` field.
    case pageTooLarge

    public var description: String {
        switch self {
        case .tooShort(let n): return "header needs 28 bytes, got \(n)"
        case .inconsistent(let field): return "Inconsistent header params: \(field)"
        case .inconsistentPageBytes: return "Inconsistent page bytes"
        case .zeroInterval(let field):
            return "Inconsistent header params: \(field) is 0 (the original panics on division by zero)"
        case .minorHashTooLong(let n):
            return "Inconsistent header params: minor_hash_length \(n) exceeds the 32-byte hash (the original panics on the first minor check)"
        case .sizeOverflow(let n):
            return "Inconsistent header params: file size for \(n) pages overflows 64 bits (the original panics on overflow)"
        case .pageTooLarge: return "Inconsistent page bytes: the page size does not fit the u32 page_bytes field"
        }
    }
}
