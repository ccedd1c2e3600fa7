/// Conflux's pivot-hint validator (`cfxcore::consensus::pivot_hint::PivotHint`,
/// specs/conflux-pivot-hint.md §2–§3), bool-for-bool with the original.
///
/// A value type: the page cache and the `active` flag are mutated by the checks, so calls are
/// `mutating` and serialised by construction (the original serialises them under one write
/// lock, §9). Deterministic: no clock, thread or randomness; pages are read from the injected
/// `PivotHintSource` only on a cache miss.
public struct PivotHint: Sendable {
    /// The LRU capacity of the original (`LruCache::with_capacity(5)`, §2.2).
    public static let cachedPageLimit = 5

    public let file: PivotHintFile
    public var header: PivotHintHeader { file.header }
    /// False once a page failed to load or verify; stays false for the life of the value (§2.3).
    public private(set) var isActive = true
    /// The failure that disabled the hint, if any.
    public private(set) var disabledBy: PivotDecision.Disabled?
    /// Pages read from the source so far (cache misses, failed loads included).
    public private(set) var pageLoadCount = 0
    private var cache: [PivotHintPage] = []  // least recently used first

    /// Page numbers in the cache, least recently used first.
    public var cachedPages: [UInt64] { cache.map(\.number) }

    /// `PivotHint::new` (§2): the file's checksum must equal `checksum` ("Incorrect checksum").
    public init(file: PivotHintFile, checksum: PivotHash) throws(PivotHintError) {
        guard file.checksum == checksum else {
            throw .incorrectChecksum(computed: file.checksum, configured: checksum)
        }
        self.file = file
    }

    /// Opens and checks a hint from any source (a path's `PivotHintFileSource`, or a trace
    /// attachment's bytes in a `PivotHintMemorySource`).
    public init(source: any PivotHintSource, checksum: PivotHash) throws(PivotHintError) {
        try self.init(file: PivotHintFile(source: source), checksum: checksum)
    }

    /// `allow_switch` (§3.2): may the pivot chain switch to a branch forking at `forkAt` whose
    /// tip is at `meHeight`? `ancestorHashAt(h)` returns the branch's block hash at absolute
    /// height h; it is called at most once, and only when a check height exists. Its errors
    /// propagate unchanged (a replayer lacking the hash can throw) and leave the state untouched.
    ///
    /// Throws `PivotHintError.forkAtZero` where the original panics (active, `0 < range_max`).
    public mutating func allowSwitch(forkAt: UInt64, meHeight: UInt64,
                                     ancestorHashAt: (UInt64) throws -> PivotHash) throws -> PivotDecision {
        var decision = PivotDecision(event: .pivotSwitch, allowed: true, reason: .hintInactive,
                                     forkAt: forkAt, meHeight: meHeight)
        guard isActive else { return decision }
        guard forkAt < header.rangeMax else { decision.reason = .beyondRange; return decision }
        guard forkAt > 0 else { throw PivotHintError.forkAtZero }
        guard let height = header.checkHeight(forkAt: forkAt, meHeight: meHeight) else {
            decision.reason = .notCovered
            return decision
        }
        decision.checkHeight = height
        let actual = try ancestorHashAt(height)
        decision.fetchedHash = actual.hex
        compare(height: height, hash: actual, into: &decision)
        return decision
    }

    /// `allow_extend` (§3.3): may the block `hash` at `height` extend the pivot chain?
    public mutating func allowExtend(height: UInt64, hash: PivotHash) -> PivotDecision {
        var decision = PivotDecision(event: .pivotExtend, allowed: true, reason: .hintInactive, height: height)
        guard isActive else { return decision }
        guard height < header.rangeMax else { decision.reason = .beyondRange; return decision }
        guard height % header.minorInterval == 0 else { decision.reason = .notCovered; return decision }
        decision.checkHeight = height
        compare(height: height, hash: hash, into: &decision)
        return decision
    }

    /// `check_hash` (§3.2 step 5): the page through the LRU, then a full 32-byte compare at major
    /// offsets or a `minor_hash_length`-byte prefix compare at minor ones. A page failure
    /// disables the hint and allows.
    private mutating func compare(height: UInt64, hash: PivotHash, into decision: inout PivotDecision) {
        let h = header
        let pageNumber = height / h.pageInterval
        let offset = height % h.pageInterval
        let section: PivotSection = offset % h.majorInterval == 0 ? .major : .minor
        decision.section = section
        let page: PivotHintPage
        switch cachedPage(pageNumber) {
        case .success(let p): page = p
        case .failure(let error):
            isActive = false
            let disabled = PivotDecision.Disabled(page: pageNumber, error: error.description)
            disabledBy = disabled
            decision.reason = .hintDisabled
            decision.disabled = disabled
            decision.allowed = true
            return
        }
        let equal: Bool
        switch section {
        case .major:
            let start = Int(offset / h.majorInterval) * PivotHash.byteCount
            equal = page.bytes[start..<(start + PivotHash.byteCount)].elementsEqual(hash.bytes)
        case .minor:
            let start = page.majorSectionBytes + Int(offset / h.minorInterval) * h.minorHashLength
            equal = page.bytes[start..<(start + h.minorHashLength)].elementsEqual(hash.bytes[0..<h.minorHashLength])
        }
        decision.allowed = equal
        switch (section, equal) {
        case (.major, true): decision.reason = .majorMatch
        case (.major, false): decision.reason = .majorMismatch
        case (.minor, true): decision.reason = .minorMatch
        case (.minor, false): decision.reason = .minorMismatch
        }
    }

    /// LRU lookup (a hit refreshes recency); on a miss, load and verify, then insert, evicting
    /// the least recently used page beyond `cachedPageLimit` (§2.2).
    private mutating func cachedPage(_ number: UInt64) -> Result<PivotHintPage, PivotHintPageError> {
        if let index = cache.firstIndex(where: { $0.number == number }) {
            let page = cache.remove(at: index)
            cache.append(page)
            return .success(page)
        }
        pageLoadCount += 1
        let result = Result { () throws(PivotHintPageError) in try file.loadPage(number) }
        if case .success(let page) = result {
            cache.append(page)
            if cache.count > PivotHint.cachedPageLimit { cache.removeFirst() }
        }
        return result
    }
}
