import Keccak

/// A hint file opened for reading: header checked, page digests in memory, checksum computed
/// (steps 2–4 of §2; step 5, the checksum comparison, is `PivotHint.init`). Pages are read on
/// demand with `loadPage`.
public struct PivotHintFile: Sendable {
    public let source: any PivotHintSource
    public let header: PivotHintHeader
    /// The raw digest part, `32·N` bytes from offset 28 (§1.4).
    public let digestPart: [UInt8]
    /// The Pivot Hint Checksum: Keccak-256 of the raw digest part, not covering the header (§1.4).
    public let checksum: PivotHash

    /// Reads the header and the digest part. Errors carry the original's prefixes
    /// ("Cannot load header", "Cannot parse and check header", "Cannot load page digests").
    /// The digest part is bounds-checked against the source size before it is allocated.
    public init(source: any PivotHintSource) throws(PivotHintError) {
        let raw: [UInt8]
        do { raw = try source.read(offset: 0, count: PivotHintHeader.byteCount) } catch {
            throw .cannotLoadHeader(error.description)
        }
        let header: PivotHintHeader
        do { header = try PivotHintHeader(bytes: raw) } catch { throw .header(error) }
        let digests: [UInt8]
        do {
            // digestPartBytes ≤ expectedFileSize ≤ Int.max, checked by the header; the read checks the size.
            digests = try source.read(offset: UInt64(PivotHintHeader.byteCount), count: Int(header.digestPartBytes))
        } catch {
            throw .cannotLoadDigests(error.description)
        }
        self.source = source
        self.header = header
        self.digestPart = digests
        self.checksum = PivotHash(checked: Keccak256.hash(digests)[...])
    }

    /// Opens a file by path (`"Cannot open file: …"` on failure, §2 step 1).
    public init(path: String) throws(PivotHintError) {
        let source: PivotHintFileSource
        do { source = try PivotHintFileSource(path: path) } catch { throw .cannotOpen(error.description) }
        try self.init(source: source)
    }

    /// The stored digest of page `p`, or nil when `p ≥ N` (the original's "Empty page checksum").
    public func digest(ofPage page: UInt64) -> PivotHash? {
        guard page < header.pageCount else { return nil }
        let start = Int(page) * 32
        return PivotHash(checked: digestPart[start..<(start + 32)])
    }

    /// Reads page `p` and checks it against its digest (`load_page`, §2.3).
    public func loadPage(_ page: UInt64) throws(PivotHintPageError) -> PivotHintPage {
        guard let offset = header.pageOffset(page), let expected = digest(ofPage: page) else {
            throw .emptyPageChecksum
        }
        let bytes: [UInt8]
        do { bytes = try source.read(offset: offset, count: header.pageBytes) } catch {
            throw .cannotLoadPage(error.description)
        }
        guard Keccak256.hash(bytes) == expected.bytes else { throw .incorrectChecksum }
        return PivotHintPage(number: page, bytes: bytes, majorSectionBytes: header.majorSectionBytes)
    }

    /// Checks every page against its digest, in page order; returns the failures (empty when
    /// the file is good). Reads one page at a time.
    public func verifyPages() -> [(page: UInt64, error: PivotHintPageError)] {
        var failures: [(page: UInt64, error: PivotHintPageError)] = []
        var page: UInt64 = 0
        while page < header.pageCount {
            do { _ = try loadPage(page) } catch { failures.append((page, error)) }
            page += 1
        }
        return failures
    }
}

/// One verified page: the major section (full hashes) followed by the minor section
/// (prefixes), §1.3.
public struct PivotHintPage: Sendable, Equatable {
    public let number: UInt64
    public let bytes: [UInt8]
    public let majorSectionBytes: Int
}

/// Why loading a hint failed (§2). `description` starts with the original's text.
public enum PivotHintError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotOpen(String)
    case cannotLoadHeader(String)
    case header(PivotHintHeaderError)
    case cannotLoadDigests(String)
    /// keccak256(digest part) differs from the configured checksum.
    case incorrectChecksum(computed: PivotHash, configured: PivotHash)
    /// Divergence: `allow_switch` with `fork_at = 0` underflows `fork_at − 1` and panics in the
    /// original (consensus never passes 0: fork_at = lca height + 1).
    case forkAtZero

    public var description: String {
        switch self {
        case .cannotOpen(let e): return "Cannot open file: \(e)"
        case .cannotLoadHeader(let e): return "Cannot load header: \(e)"
        case .header(let e): return "Cannot parse and check header: \(e)"
        case .cannotLoadDigests(let e): return "Cannot load page digests: \(e)"
        case .incorrectChecksum: return "Incorrect checksum"
        case .forkAtZero:
            return "fork_at must be at least 1 (it is lca height + 1; the original panics on u64 underflow)"
        }
    }
}

/// Why a page could not be used (§2.3). Not an error for the validator's caller: the hint
/// disables itself and allows (see `PivotDecision.Reason.hintDisabled`).
public enum PivotHintPageError: Error, Equatable, Sendable, CustomStringConvertible {
    case cannotLoadPage(String)
    case emptyPageChecksum
    case incorrectChecksum

    public var description: String {
        switch self {
        case .cannotLoadPage(let e): return "Cannot load the page: \(e)"
        case .emptyPageChecksum: return "Empty page checksum"
        case .incorrectChecksum: return "Incorrect checksum"
        }
    }
}
