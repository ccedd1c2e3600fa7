import Capture
import CPcap
#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// One frame as libpcap delivered it: capture time, link type and the captured bytes.
public struct PcapFrame: Sendable {
    /// Capture time in nanoseconds since the Unix epoch (microsecond files are scaled up).
    public var timestampNanos: UInt64
    /// The captured bytes (at most the snap length).
    public var data: [UInt8]
    /// The frame's length on the wire; larger than `data.count` when the snap length cut it.
    public var originalLength: Int
}

/// Packet counters of a live capture (`pcap_stats`), so losses in the kernel are visible in the trace
/// (harness-notes.md §5.2 item 4).
public struct PcapStatistics: Sendable, Equatable {
    public var received: UInt32
    public var droppedByKernel: UInt32
    public var droppedByInterface: UInt32
}

/// Why libpcap could not open, filter or read a source. One line each, naming the source.
public enum PcapError: Error, Equatable, Sendable, CustomStringConvertible {
    case openFile(path: String, reason: String)
    case openInterface(name: String, reason: String)
    case filter(expression: String, reason: String)
    case read(source: String, reason: String)

    public var description: String {
        switch self {
        case let .openFile(path, reason): return "cannot read capture file \(path): \(reason)"
        case let .openInterface(name, reason): return "cannot capture on interface \(name): \(reason)"
        case let .filter(expression, reason): return "bad capture filter '\(expression)': \(reason)"
        case let .read(source, reason): return "reading \(source) failed: \(reason)"
        }
    }
}

/// A libpcap handle on a capture file (pcap or pcapng) or a live interface, read frame by frame
/// with `pcap_next_ex` (no C callbacks, so no context boxes: harness-notes.md §5.2 item 1).
///
/// Not `Sendable`: one thread owns it. A live capture wakes up every `readTimeout` even when the
/// link is idle so the owner can check its stop conditions (SIGINT, `--duration`).
public final class PcapHandle {
    private let handle: OpaquePointer
    private let nanosecondTimestamps: Bool
    /// What the handle reads, for error messages ("file X" / "interface Y").
    public let sourceName: String
    /// The link-layer header type (`pcap_datalink`), a LINKTYPE_/DLT_ value.
    public let linkType: Int32
    public let isLive: Bool
    private var readTimeoutMilliseconds: Int32 = 100
    /// The bytes of the frame read last (`next()`).
    private var frameBytes: [UInt8] = []

    private init(handle: OpaquePointer, sourceName: String, isLive: Bool) {
        self.handle = handle
        self.sourceName = sourceName
        self.isLive = isLive
        self.linkType = pcap_datalink(handle)
        self.nanosecondTimestamps = pcap_get_tstamp_precision(handle) == Int32(PCAP_TSTAMP_PRECISION_NANO)
    }

    /// The stdio buffer of a capture file's stream (`openFile`), freed once the stream is closed.
    private var streamBuffer: UnsafeMutablePointer<CChar>?
    private static let fileBufferSize = 1 << 20

    deinit {
        pcap_close(handle)
        streamBuffer?.deallocate()
    }

    /// Opens a pcap or pcapng file asking for nanosecond timestamps, so nanosecond files keep their
    /// precision (harness-notes.md §5.2 item 3). libpcap reads it through a stdio stream we open
    /// with a 1 MiB buffer (issue 19): with the default one it reads 4 KiB per system call, some
    /// 17,000 calls for a 70 MB capture. `-` is standard input, as for `pcap_open_offline`.
    public static func openFile(_ path: String) throws -> PcapHandle {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        let precision = UInt32(PCAP_TSTAMP_PRECISION_NANO)
        guard path != "-" else {
            guard let raw = pcap_open_offline_with_tstamp_precision(path, precision, &errbuf) else {
                throw PcapError.openFile(path: path, reason: Self.string(errbuf))
            }
            return PcapHandle(handle: raw, sourceName: "file \(path)", isLive: false)
        }
        guard let stream = fopen(path, "rb") else {
            // libpcap's own wording for a file it cannot open.
            throw PcapError.openFile(path: path, reason: "\(path): \(String(cString: strerror(errno)))")
        }
        // glibc sizes a buffer it allocates by the file's block size, whatever setvbuf asks: the
        // buffer is ours, and freed after pcap_close has closed the stream.
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Self.fileBufferSize)
        _ = setvbuf(stream, buffer, _IOFBF, Self.fileBufferSize)
        guard let raw = pcap_fopen_offline_with_tstamp_precision(stream, precision, &errbuf) else {
            fclose(stream)  // a handle that failed to open leaves the stream to its caller
            buffer.deallocate()
            throw PcapError.openFile(path: path, reason: Self.string(errbuf))
        }
        let handle = PcapHandle(handle: raw, sourceName: "file \(path)", isLive: false)
        handle.streamBuffer = buffer
        return handle
    }

    /// Opens a live interface in immediate mode with nanosecond timestamps when the platform has them.
    /// `readTimeoutMilliseconds` bounds how long `next()` waits on an idle link.
    public static func openInterface(_ name: String, snapLength: Int32 = 262_144,
                                     readTimeoutMilliseconds: Int32 = 100) throws -> PcapHandle {
        var errbuf = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE) + 1)
        guard let raw = pcap_create(name, &errbuf) else {
            throw PcapError.openInterface(name: name, reason: Self.string(errbuf))
        }
        _ = pcap_set_snaplen(raw, snapLength)
        _ = pcap_set_buffer_size(raw, 16 << 20)
        _ = pcap_set_immediate_mode(raw, 1)
        _ = pcap_set_timeout(raw, readTimeoutMilliseconds)
        _ = pcap_set_tstamp_precision(raw, Int32(PCAP_TSTAMP_PRECISION_NANO))  // falls back to µs if unsupported
        let status = pcap_activate(raw)
        if status < 0 {
            let reason = status == PCAP_ERROR ? String(cString: pcap_geterr(raw)) : String(cString: pcap_statustostr(status))
            pcap_close(raw)
            throw PcapError.openInterface(name: name, reason: reason)
        }
        // Non-blocking reads plus poll(2): on Linux an idle link can otherwise block
        // pcap_next_ex forever despite the timeout, and SIGINT/--duration would never be seen.
        _ = pcap_setnonblock(raw, 1, &errbuf)
        let live = PcapHandle(handle: raw, sourceName: "interface \(name)", isLive: true)
        live.readTimeoutMilliseconds = readTimeoutMilliseconds
        return live
    }

    /// Installs a BPF filter (`pcap_compile` with an unknown netmask, then `pcap_setfilter`).
    public func setFilter(_ expression: String) throws {
        var program = bpf_program()
        guard pcap_compile(handle, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw PcapError.filter(expression: expression, reason: String(cString: pcap_geterr(handle)))
        }
        defer { pcap_freecode(&program) }
        guard pcap_setfilter(handle, &program) == 0 else {
            throw PcapError.filter(expression: expression, reason: String(cString: pcap_geterr(handle)))
        }
    }

    /// The outcome of one read.
    public enum ReadResult {
        case frame(PcapFrame)
        /// A live capture's read timeout expired with nothing to deliver.
        case timeout
        /// End of file, or `breakLoop()` was called.
        case end
    }

    /// Reads the next frame. Corrupt or truncated files throw `PcapError.read` with libpcap's message.
    public func next() throws -> ReadResult {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        if isLive {
            let fd = pcap_get_selectable_fd(handle)
            if fd >= 0 {
                var descriptor = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let ready = poll(&descriptor, 1, readTimeoutMilliseconds)
                if ready == 0 { return .timeout }
            }
        }
        let status = pcap_next_ex(handle, &header, &data)
        switch status {
        case 1:
            guard let header, let data else { return .timeout }
            let h = header.pointee
            let seconds = UInt64(truncatingIfNeeded: h.ts.tv_sec)
            let fraction = UInt64(truncatingIfNeeded: h.ts.tv_usec)
            let nanos = seconds &* 1_000_000_000 &+ (nanosecondTimestamps ? fraction : fraction &* 1000)
            // One array reused frame after frame: it is uniquely referenced again once the caller
            // has let go of the previous frame, so reading a frame copies it without allocating.
            frameBytes.removeAll(keepingCapacity: true)
            frameBytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(h.caplen)))
            return .frame(PcapFrame(timestampNanos: nanos, data: frameBytes, originalLength: Int(h.len)))
        case 0:
            return .timeout
        case PCAP_ERROR_BREAK:
            return .end
        default:
            throw PcapError.read(source: sourceName, reason: String(cString: pcap_geterr(handle)))
        }
    }

    /// Asks a blocked or future `next()` to return `.end` (safe from another thread or a signal source).
    public func breakLoop() { pcap_breakloop(handle) }

    /// Kernel and interface drop counters of a live capture; nil for files.
    public func statistics() -> PcapStatistics? {
        guard isLive else { return nil }
        var stats = pcap_stat()
        guard pcap_stats(handle, &stats) == 0 else { return nil }
        return PcapStatistics(received: stats.ps_recv, droppedByKernel: stats.ps_drop, droppedByInterface: stats.ps_ifdrop)
    }

    /// The libpcap version string, for provenance.
    public static var libraryVersion: String { String(cString: pcap_lib_version()) }

    private static func string(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// libpcap as the capture recorder's frame source (Capture.CaptureRecorder).
extension PcapHandle: FrameSource {
    public func nextFrame() throws -> FrameRead {
        switch try next() {
        case .frame(let f): return .frame(data: f.data, timestampNanos: f.timestampNanos, originalLength: f.originalLength)
        case .timeout: return .timeout
        case .end: return .end
        }
    }

    public func dropCounts() -> (kernel: UInt32, interface: UInt32)? {
        statistics().map { ($0.droppedByKernel, $0.droppedByInterface) }
    }
}
