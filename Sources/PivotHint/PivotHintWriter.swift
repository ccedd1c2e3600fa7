#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import Keccak

/// Builds hint files from pivot hashes (§1, §8.1). The repository has no generator (§5); this
/// follows the conventions of the shipped sample: minor slots at major heights hold the hash
/// prefix too (§1.3), so files come out byte-identical to the original's.
public struct PivotHintWriter: Sendable {
    public let header: PivotHintHeader

    public init(header: PivotHintHeader) { self.header = header }

    /// The highest height a file with this header records (`range_max − minor_interval`), or nil
    /// for an empty range. A hash source must answer every multiple of `minor_interval` up to it.
    public var lastRecordedHeight: UInt64? {
        header.rangeMax == 0 ? nil : header.rangeMax - header.minorInterval
    }

    /// The bytes of page `p`: major records (full hashes) then minor records (prefixes), §1.3.
    /// `hashAt` is asked only for multiples of `minor_interval` below `range_max`.
    public func page(_ p: UInt64, hashAt: (UInt64) throws -> PivotHash) rethrows -> [UInt8] {
        let h = header
        var out = [UInt8]()
        out.reserveCapacity(h.pageBytes)
        let base = p * h.pageInterval
        var offset: UInt64 = 0
        while offset < h.pageInterval {
            out.append(contentsOf: try hashAt(base + offset).bytes)
            offset += h.majorInterval
        }
        offset = 0
        while offset < h.pageInterval {
            out.append(contentsOf: try hashAt(base + offset).bytes[0..<h.minorHashLength])
            offset += h.minorInterval
        }
        return out
    }

    /// The whole file in memory, with its Pivot Hint Checksum. For files that fit in memory;
    /// `write(toPath:hashAt:)` streams large ones.
    public func build(hashAt: (UInt64) throws -> PivotHash) rethrows -> (bytes: [UInt8], checksum: PivotHash) {
        var digests = [UInt8]()
        var pages = [UInt8]()
        digests.reserveCapacity(Int(header.digestPartBytes))
        var p: UInt64 = 0
        while p < header.pageCount {
            let bytes = try page(p, hashAt: hashAt)
            digests.append(contentsOf: Keccak256.hash(bytes))
            pages.append(contentsOf: bytes)
            p += 1
        }
        let checksum = PivotHash(checked: Keccak256.hash(digests)[...])
        return (header.bytes + digests + pages, checksum)
    }

    /// Streams the file to `path` (created or truncated): header, a placeholder digest part,
    /// the pages, then the real digests written back at offset 28. Memory stays at one page
    /// plus the digests. Returns the Pivot Hint Checksum.
    public func write(toPath path: String, hashAt: (UInt64) throws -> PivotHash) throws -> PivotHash {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw PivotHintSourceError.io("\(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        func put(_ bytes: [UInt8], at offset: UInt64) throws {
            var done = 0
            try bytes.withUnsafeBytes { buffer in
                while done < bytes.count {
                    let n = pwrite(fd, buffer.baseAddress! + done, bytes.count - done, off_t(offset + UInt64(done)))
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw PivotHintSourceError.io("\(path): \(String(cString: strerror(errno)))")
                    }
                    done += n
                }
            }
        }
        try put(header.bytes, at: 0)
        var digests = [UInt8]()
        digests.reserveCapacity(Int(header.digestPartBytes))
        var pending = [UInt8]()
        let flushSize = 1 << 20
        var pendingOffset = UInt64(PivotHintHeader.byteCount) + header.digestPartBytes
        var p: UInt64 = 0
        while p < header.pageCount {
            let bytes = try page(p, hashAt: hashAt)
            digests.append(contentsOf: Keccak256.hash(bytes))
            pending.append(contentsOf: bytes)
            if pending.count >= flushSize {
                try put(pending, at: pendingOffset)
                pendingOffset += UInt64(pending.count)
                pending.removeAll(keepingCapacity: true)
            }
            p += 1
        }
        if !pending.isEmpty { try put(pending, at: pendingOffset) }
        if !digests.isEmpty { try put(digests, at: UInt64(PivotHintHeader.byteCount)) }
        return PivotHash(checked: Keccak256.hash(digests)[...])
    }
}

/// Pivot hashes indexed by height (height = index), parsed from a writer input file:
/// binary 32-byte records, or text with one 64-digit hex hash per line (optional `0x`, blank
/// lines and surrounding spaces ignored). Text is recognised by its first line.
public struct PivotHashList: Sendable {
    /// All hashes back to back.
    private let flat: [UInt8]

    public var count: Int { flat.count / PivotHash.byteCount }

    public init(bytes: [UInt8]) throws(PivotHashListError) {
        if PivotHashList.looksLikeHex(bytes) {
            var flat = [UInt8]()
            var lineNumber = 0
            for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
                lineNumber += 1
                let text = String(decoding: line, as: UTF8.self).trimmingASCIIWhitespace()
                if text.isEmpty { continue }
                guard let hash = PivotHash(hex: text) else { throw .badHexLine(lineNumber) }
                flat.append(contentsOf: hash.bytes)
            }
            self.flat = flat
        } else {
            guard bytes.count % PivotHash.byteCount == 0 else { throw .binaryLength(bytes.count) }
            self.flat = bytes
        }
    }

    public subscript(height: UInt64) -> PivotHash? {
        guard height < UInt64(count) else { return nil }
        let start = Int(height) * PivotHash.byteCount
        return PivotHash(checked: flat[start..<(start + PivotHash.byteCount)])
    }

    static func looksLikeHex(_ bytes: [UInt8]) -> Bool {
        let firstLine = bytes.prefix(while: { $0 != UInt8(ascii: "\n") })
        let text = String(decoding: firstLine, as: UTF8.self).trimmingASCIIWhitespace()
        return PivotHash(hex: text) != nil
    }
}

public enum PivotHashListError: Error, Equatable, Sendable, CustomStringConvertible {
    case badHexLine(Int)
    case binaryLength(Int)

    public var description: String {
        switch self {
        case .badHexLine(let n): return "line \(n): expected a 64-digit hex hash"
        case .binaryLength(let n):
            return "binary hash list is \(n) bytes, not a multiple of 32 (and its first line is not a hex hash)"
        }
    }
}

extension String {
    func trimmingASCIIWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\r" }
        var s = Substring(self)
        while let c = s.first, isSpace(c) { s.removeFirst() }
        while let c = s.last, isSpace(c) { s.removeLast() }
        return String(s)
    }
}
