#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed socket call: the operation and `errno`.
public struct SocketError: Error, Equatable, Sendable, CustomStringConvertible {
    public let operation: String
    public let code: Int32

    public var description: String {
        if code == EAGAIN || code == EWOULDBLOCK { return "socket \(operation) timed out" }
        return "socket \(operation) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}

private func withSockaddr<T>(_ address: inout sockaddr_in, _ body: (UnsafeMutablePointer<sockaddr>, socklen_t) -> T) -> T {
    withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
}

private func ipv4(_ host: String, port: UInt16) throws -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = port.bigEndian
    guard inet_pton(AF_INET, host, &a.sin_addr) == 1 else { throw SocketError(operation: "address \(host)", code: EINVAL) }
    return a
}

private func newStreamSocket() throws -> Int32 {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw SocketError(operation: "socket", code: errno) }
    return fd
}

/// Applies receive/send timeouts so a silent peer cannot block forever.
private func setTimeouts(_ fd: Int32, seconds: Int) {
    var tv = timeval(tv_sec: seconds, tv_usec: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
}

/// A listening IPv4 TCP socket (blocking).
public struct TCPListener: Sendable {
    public let descriptor: Int32
    /// The bound port (the ephemeral one the kernel chose when asked for 0).
    public let port: UInt16
    let timeoutSeconds: Int

    /// Listens on `host:port`; port 0 picks an ephemeral port.
    public static func listen(host: String = "127.0.0.1", port: UInt16 = 0, timeoutSeconds: Int = 10) throws -> TCPListener {
        let fd = try newStreamSocket()
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = try ipv4(host, port: port)
        guard withSockaddr(&address, { bind(fd, $0, $1) }) == 0 else {
            let e = errno; _ = closeDescriptor(fd); throw SocketError(operation: "bind", code: e)
        }
        guard listenOn(fd, 16) else { let e = errno; _ = closeDescriptor(fd); throw SocketError(operation: "listen", code: e) }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let rc = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { let e = errno; _ = closeDescriptor(fd); throw SocketError(operation: "getsockname", code: e) }
        setTimeouts(fd, seconds: timeoutSeconds)
        return TCPListener(descriptor: fd, port: UInt16(bigEndian: bound.sin_port), timeoutSeconds: timeoutSeconds)
    }

    /// Waits (up to the timeout) for one inbound connection.
    public func accept() throws -> TCPConnection {
        #if canImport(Glibc)
        let fd = Glibc.accept(descriptor, nil, nil)
        #else
        let fd = Darwin.accept(descriptor, nil, nil)
        #endif
        guard fd >= 0 else { throw SocketError(operation: "accept", code: errno) }
        return TCPConnection(descriptor: fd, timeoutSeconds: timeoutSeconds)
    }

    public func close() { _ = closeDescriptor(descriptor) }
}

private func closeDescriptor(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.close(fd)
    #else
    return Darwin.close(fd)
    #endif
}

/// A connected TCP stream with blocking reads and writes (and timeouts).
public final class TCPConnection {
    public let descriptor: Int32
    private var closed = false

    init(descriptor: Int32, timeoutSeconds: Int) {
        self.descriptor = descriptor
        setTimeouts(descriptor, seconds: timeoutSeconds)
        var one: Int32 = 1
        _ = setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Dials `host:port`.
    public static func connect(host: String = "127.0.0.1", port: UInt16, timeoutSeconds: Int = 10) throws -> TCPConnection {
        let fd = try newStreamSocket()
        var address = try ipv4(host, port: port)
        #if canImport(Glibc)
        let rc = withSockaddr(&address) { Glibc.connect(fd, $0, $1) }
        #else
        let rc = withSockaddr(&address) { Darwin.connect(fd, $0, $1) }
        #endif
        guard rc == 0 else { let e = errno; _ = closeDescriptor(fd); throw SocketError(operation: "connect", code: e) }
        return TCPConnection(descriptor: fd, timeoutSeconds: timeoutSeconds)
    }

    /// Writes all of `bytes`.
    public func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            #if canImport(Glibc)
            let flags = Int32(MSG_NOSIGNAL)
            #else
            let flags: Int32 = 0
            #endif
            let n = bytes.withUnsafeBytes { send(descriptor, $0.baseAddress! + sent, bytes.count - sent, flags) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SocketError(operation: "send", code: errno)
            }
            sent += n
        }
    }

    /// Reads what is available (at most `maxBytes`, blocking until something arrives);
    /// empty at end of stream.
    public func read(maxBytes: Int = 65536) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: maxBytes)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, maxBytes, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SocketError(operation: "recv", code: errno)
            }
            return Array(buffer[0..<n])
        }
    }

    public func close() {
        guard !closed else { return }
        closed = true
        _ = closeDescriptor(descriptor)
    }

    deinit { close() }
}

private func listenOn(_ fd: Int32, _ backlog: Int32) -> Bool {
    #if canImport(Glibc)
    return Glibc.listen(fd, backlog) == 0
    #else
    return Darwin.listen(fd, backlog) == 0
    #endif
}
