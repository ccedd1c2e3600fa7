import SyncTrace

/// One read from a `FrameSource`.
public enum FrameRead: Sendable {
    case frame(data: [UInt8], timestampNanos: UInt64, originalLength: Int)
    /// A live source's read timeout expired with nothing to deliver.
    case timeout
    case end
}

/// Where link-layer frames come from: libpcap's handle on a file or an interface (PcapSource),
/// or a test's list.
public protocol FrameSource: AnyObject {
    /// The link-layer header type (LINKTYPE_/DLT_ value).
    var linkType: Int32 { get }
    var isLive: Bool { get }
    func nextFrame() throws -> FrameRead
    /// Frames a live source lost in the kernel and at the interface; nil for files.
    func dropCounts() -> (kernel: UInt32, interface: UInt32)?
}

/// `synccapture record`'s loop (issue 12: out of the CLI): frames from a source into a
/// `CaptureSession` until the source ends, `count` frames were read, `deadline` passed or
/// `stop()` says so. A live source is then drained of what the kernel already captured
/// (bounded), and kernel drops become a `/capture dropped` event.
public enum CaptureRecorder {
    /// At most this many frames are drained from a live source after a stop.
    public static let drainLimit = 1_000_000

    public static func record(from source: any FrameSource, into session: inout CaptureSession, count: Int? = nil,
                              deadline: ContinuousClock.Instant? = nil, stop: () -> Bool = { false },
                              progress: ((CaptureProgress) -> Void)? = nil) throws -> CaptureResult {
        let clock = ContinuousClock()
        var lastProgress = clock.now
        var frames = 0
        func take(_ read: FrameRead) -> Bool {
            guard case let .frame(data, time, length) = read else { return false }
            session.add(frame: data, linkType: source.linkType, timestampNanos: time, originalLength: length)
            frames += 1
            return true
        }
        reading: while !stop() {
            if let deadline, clock.now >= deadline { break }
            let read = try source.nextFrame()
            if case .end = read { break }
            if take(read), let count, frames >= count { break reading }
            if let progress, clock.now - lastProgress >= .seconds(1) {
                lastProgress = clock.now
                progress(session.progress)
            }
        }
        // Interrupted or out of time: keep what the kernel already captured (bounded drain).
        if source.isLive, count.map({ frames < $0 }) ?? true {
            var drained = 0
            while drained < drainLimit, take(try source.nextFrame()) {
                drained += 1
                if let count, frames >= count { break }
            }
        }
        var result = session.finish()
        if let drops = source.dropCounts(), drops.kernel > 0 || drops.interface > 0 {
            result.events.append(TimedEvent(logTime: result.events.last?.logTime ?? 0, event: .capture(CaptureRecord(
                kind: .dropped, byteCount: 0,
                detail: "libpcap dropped \(drops.kernel) packets in the kernel and \(drops.interface) at the interface"))))
        }
        return result
    }
}
