import FileInput
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Random-access bytes of an MCAP file: a file on disk or an array in memory. `read` may be
/// called from two threads at once (a stream reading ahead, `MCAPScanAhead`, and its reader):
/// both sources read without shared state (`pread(2)` at an offset, or an immutable array).
public protocol MCAPByteSource: AnyObject {
    var size: UInt64 { get }
    /// Up to `count` bytes starting at `offset` (fewer only at the end of the source).
    func read(at offset: UInt64, count: Int) throws -> [UInt8]
}

public final class MCAPMemorySource: MCAPByteSource {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public var size: UInt64 { UInt64(bytes.count) }
    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard offset < UInt64(bytes.count), count > 0 else { return [] }
        let start = Int(offset)
        return Array(bytes[start..<min(bytes.count, start + count)])
    }
}

public final class MCAPFileSource: MCAPByteSource {
    public let path: String
    public let size: UInt64
    private let handle: FileHandle

    public init(path: String) throws {
        if let why = InputFile.problem(path) { throw TraceError.io(path: path, reason: why) }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TraceError.io(path: path, reason: "cannot open for reading")
        }
        self.handle = handle
        self.path = path
        do { size = try handle.seekToEnd() } catch {
            throw TraceError.io(path: path, reason: "cannot determine size: \(error.localizedDescription)")
        }
    }

    /// Reads with pread(2) straight into the returned array (no `Data` in between).
    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard offset < size, count > 0 else { return [] }
        let want = Int(min(UInt64(count), size - offset))
        let fd = handle.fileDescriptor
        var failure: Int32 = 0
        let out = [UInt8](unsafeUninitializedCapacity: want) { buffer, initialized in
            var done = 0
            while done < want {
                let n = pread(fd, buffer.baseAddress! + done, want - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if failure != 0 {
            throw TraceError.io(path: path, reason: "read failed at offset \(offset): \(String(cString: strerror(failure)))")
        }
        return out
    }

    deinit { try? handle.close() }
}

/// Sequential access with read-ahead, so a linear scan makes few system calls yet keeps at
/// most one window (or one record) in memory.
struct MCAPBufferedReader {
    let source: any MCAPByteSource
    private var window: [UInt8] = []
    private var windowStart: UInt64 = 0
    static let windowSize = 1 << 20

    init(source: any MCAPByteSource) { self.source = source }

    /// Exactly `count` bytes at `offset`, or fewer if the source ends first.
    mutating func bytes(at offset: UInt64, count: Int) throws -> ArraySlice<UInt8> {
        let windowEnd = windowStart &+ UInt64(window.count)
        if offset >= windowStart, offset &+ UInt64(count) <= windowEnd {
            let s = Int(offset - windowStart)
            return window[s..<(s + count)]
        }
        if count > MCAPBufferedReader.windowSize {
            return try source.read(at: offset, count: count)[...]
        }
        window = try source.read(at: offset, count: MCAPBufferedReader.windowSize)
        windowStart = offset
        return window[0..<min(count, window.count)]
    }
}
