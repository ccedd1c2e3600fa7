#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An input file that cannot be read, and why: missing, a directory, not a regular file (a
/// device, a socket), permission, or empty. `description` is the one line a command prints
/// (`cannot read trace /dev/null: not a regular file (a character device)`).
public struct UnreadableFile: Error, Equatable, Sendable, CustomStringConvertible {
    public let path: String
    /// What the file was meant to be (`trace`, `golden`, `scenario`…).
    public let what: String
    public let reason: String

    public init(path: String, what: String, reason: String) {
        self.path = path
        self.what = what
        self.reason = reason
    }

    public var description: String { "cannot read \(what) \(path): \(reason)" }
}

/// Reads whole input files, saying why one cannot be read instead of just that it cannot.
public enum InputFile {
    /// Why `path` cannot be read as an input file, or nil when it can. Pipes are readable
    /// (`<(…)` process substitution); devices, sockets and directories are not.
    public static func problem(_ path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return reason(errno) }
        switch st.st_mode & S_IFMT {
        case S_IFREG: break
        case S_IFIFO: return access(path, R_OK) == 0 ? nil : reason(errno)
        case S_IFDIR: return "it is a directory"
        case S_IFCHR: return "not a regular file (a character device)"
        case S_IFBLK: return "not a regular file (a block device)"
        case S_IFSOCK: return "not a regular file (a socket)"
        default: return "not a regular file"
        }
        if access(path, R_OK) != 0 { return reason(errno) }
        return st.st_size == 0 ? "the file is empty" : nil
    }

    /// The file's bytes, or an `UnreadableFile` naming `what` it was meant to be and why.
    public static func read(_ path: String, what: String) throws(UnreadableFile) -> [UInt8] {
        if let why = problem(path) { throw UnreadableFile(path: path, what: what, reason: why) }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw UnreadableFile(path: path, what: what, reason: reason(errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { systemRead(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw UnreadableFile(path: path, what: what, reason: reason(errno))
            }
            if n == 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        if bytes.isEmpty { throw UnreadableFile(path: path, what: what, reason: "the file is empty") }
        return bytes
    }

    #if canImport(Glibc)
    static let systemRead = Glibc.read
    #else
    static let systemRead = Darwin.read
    #endif

    static func reason(_ code: Int32) -> String {
        switch code {
        case ENOENT: return "no such file"
        case EACCES, EPERM: return "permission denied"
        case ENOTDIR: return "a component of the path is not a directory"
        case ELOOP: return "too many symbolic links"
        case ENAMETOOLONG: return "the path is too long"
        case EISDIR: return "it is a directory"
        default: return String(cString: strerror(code))
        }
    }
}
