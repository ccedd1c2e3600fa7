import Capture

/// A capture as `synccapture -r` reads it: the first byte picks the link type, then frames
/// follow, each as a 2-byte big-endian length and its bytes; the session parses, tracks
/// connections, reassembles TCP and decodes the streams.
enum PacketInput {
    static func run(_ data: [UInt8]) {
        guard let first = data.first else { return }
        let linkType = LinkType.allCases[Int(first) % LinkType.allCases.count].rawValue
        var session = CaptureSession(maxBufferedBytes: 1 << 16)
        var i = 1
        var time: UInt64 = 1_000_000_000
        while data.count - i >= 2 {
            let length = Int(data[i]) << 8 | Int(data[i + 1])
            i += 2
            let frame = Array(data[i..<min(i + length, data.count)])
            i += frame.count
            time += 1_000
            session.add(frame: frame, linkType: linkType, timestampNanos: time)
        }
        _ = session.finish()
    }
}
