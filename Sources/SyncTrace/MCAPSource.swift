import FileInput
import Foundation

/// Random-access bytes of an MCAP file: a file on disk or an array in memory.
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

    public func read(at offset: UInt64, count: Int) throws -> [UInt8] {
        guard offset < size, count > 0 else { return [] }
        do {
            try handle.seek(toOffset: offset)
            let want = Int(min(UInt64(count), size - offset))
            var out: [UInt8] = []
            out.reserveCapacity(want)
            while out.count < want {
                guard let data = try handle.read(upToCount: want - out.count), !data.isEmpty else { break }
                out.append(contentsOf: data)
            }
            return out
        } catch {
            throw TraceError.io(path: path, reason: "read failed at offset \(offset): \(error.localizedDescription)")
        }
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
