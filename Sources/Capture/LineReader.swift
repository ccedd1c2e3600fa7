#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// Reads a text file line by line through one fixed buffer, so a multi-GB log is never held
/// whole (issue 17). Lines end at `\n` (a `\r` before it is dropped); a last line without one
/// counts. A line longer than the buffer is handed over cut at the buffer size and the rest of it
/// is skipped: memory stays bounded whatever the input.
public struct LineReader: ~Copyable {
    public let path: String
    /// The file's size when opened (for progress), in bytes.
    public let size: UInt64
    private let descriptor: Int32
    private let bufferSize: Int

    public init(path: String, bufferSize: Int = 1 << 20) throws(CaptureError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) != S_IFDIR else {
            close(fd)
            throw .unreadable(path: path, reason: "a directory, not a file")
        }
        self.path = path
        self.size = UInt64(max(0, st.st_size))
        self.descriptor = fd
        self.bufferSize = max(64, bufferSize)
    }

    deinit { close(descriptor) }

    /// Calls `line` for every line with its 1-based number, and `progress` with the bytes read
    /// so far after every buffer refill. Read errors throw `CaptureError.unreadable`.
    public func forEachLine(_ line: (UnsafeBufferPointer<UInt8>, Int) throws -> Void,
                            progress: (UInt64) -> Void = { _ in }) throws {
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: bufferSize)
        defer { buffer.deallocate() }
        var filled = 0, number = 0
        var bytesRead: UInt64 = 0
        var skippingOverlong = false
        func emit(_ start: Int, _ end: Int) throws {
            var e = end
            if e > start, buffer[e - 1] == 0x0D { e -= 1 }
            number += 1
            try line(UnsafeBufferPointer(start: buffer + start, count: e - start), number)
        }
        while true {
            let n = read(descriptor, buffer + filled, bufferSize - filled)
            if n < 0 {
                if errno == EINTR { continue }
                throw CaptureError.unreadable(path: path, reason: "read failed after \(bytesRead) bytes: \(String(cString: strerror(errno)))")
            }
            if n == 0 {
                if filled > 0, !skippingOverlong { try emit(0, filled) }
                return
            }
            bytesRead += UInt64(n)
            filled += n
            var start = 0
            while start < filled, let hit = memchr(buffer + start, 0x0A, filled - start) {
                let end = buffer.distance(to: hit.assumingMemoryBound(to: UInt8.self))
                if skippingOverlong { skippingOverlong = false } else { try emit(start, end) }
                start = end + 1
            }
            if start == 0 && filled == bufferSize {
                // One line fills the whole buffer: hand over its first part, skip the rest.
                if !skippingOverlong { try emit(0, filled) }
                skippingOverlong = true
                filled = 0
            } else {
                if start < filled { memmove(buffer, buffer + start, filled - start) }
                filled -= start
            }
            progress(bytesRead)
        }
    }
}
