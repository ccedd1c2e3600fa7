#if canImport(Darwin)
import Darwin
#elseif canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where hint bytes come from: a file on disk (`PivotHintFileSource`) or bytes already in
/// memory, e.g. a trace attachment (`PivotHintMemorySource`). Reads are bounds-checked against
/// `size` before anything is allocated, so a header claiming 2^64 heights cannot make the
/// loader allocate or read past the end (§1.2: the file length itself is never trusted).
public protocol PivotHintSource: Sendable {
    /// Current length in bytes.
    var size: UInt64 { get }
    /// Exactly `count` bytes at `offset`, or an error; never a short result.
    func read(offset: UInt64, count: Int) throws(PivotHintSourceError) -> [UInt8]
}

/// A failed read. `description` is one line naming the range and the file size.
public enum PivotHintSourceError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The range `[offset, offset+count)` does not lie inside the source.
    case pastEnd(offset: UInt64, count: Int, size: UInt64)
    /// The operating system refused (open, pread, fstat); the text is `strerror`'s.
    case io(String)

    public var description: String {
        switch self {
        case let .pastEnd(offset, count, size):
            let end = offset.addingReportingOverflow(UInt64(count))
            let endText = end.overflow ? "beyond 2^64" : "\(end.partialValue)"
            return "unexpected end of file: needs bytes [\(offset), \(endText)) but the file has \(size)"
        case .io(let message): return message
        }
    }

    static func check(offset: UInt64, count: Int, size: UInt64) throws(PivotHintSourceError) {
        guard count >= 0 else { throw .pastEnd(offset: offset, count: count, size: size) }
        let (end, overflow) = offset.addingReportingOverflow(UInt64(count))
        guard !overflow, end <= size else { throw .pastEnd(offset: offset, count: count, size: size) }
    }
}

/// Hint bytes held in memory (a trace attachment, a generated file, a test fixture).
public struct PivotHintMemorySource: PivotHintSource {
    public let bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var size: UInt64 { UInt64(bytes.count) }

    public func read(offset: UInt64, count: Int) throws(PivotHintSourceError) -> [UInt8] {
        try PivotHintSourceError.check(offset: offset, count: count, size: size)
        let start = Int(offset)
        return Array(bytes[start..<(start + count)])
    }
}

/// A hint file read with `pread` on one descriptor kept open for the lifetime of the source.
///
/// Divergence (documented in README): the original reopens the file by path for every page
/// load (§2.3). Holding the descriptor gives the same answers for a file that is truncated or
/// corrupted in place, but does not notice a file *replaced* under the same path.
public final class PivotHintFileSource: PivotHintSource {
    public let path: String
    private let descriptor: Int32

    /// Opens `path` read-only. The error text is `strerror`'s, prefixed by the path.
    public init(path: String) throws(PivotHintSourceError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw .io("\(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw .io("\(path): Is a directory")
        }
        self.path = path
        self.descriptor = fd
    }

    deinit { close(descriptor) }

    public var size: UInt64 {
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { return 0 }
        return UInt64(max(0, info.st_size))
    }

    public func read(offset: UInt64, count: Int) throws(PivotHintSourceError) -> [UInt8] {
        let size = self.size
        try PivotHintSourceError.check(offset: offset, count: count, size: size)
        var out = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: PivotHintSourceError?
        out.withUnsafeMutableBytes { buffer in
            while done < count {
                let n = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + UInt64(done)))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .io("\(path): \(String(cString: strerror(errno)))")
                    return
                }
                if n == 0 {
                    failure = .pastEnd(offset: offset, count: count, size: offset + UInt64(done))
                    return
                }
                done += n
            }
        }
        if let failure { throw failure }
        return out
    }
}
