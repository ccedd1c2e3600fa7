/// Writes classic pcap files (the libpcap format, not pcapng) and builds Ethernet/IPv4/IPv6 TCP
/// frames. Used by tests to make captures with reordered, duplicated or missing segments, and for
/// deliberately broken files; the capture tool itself only reads through libpcap.
public struct PcapFileWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    public let nanosecond: Bool

    /// Starts a file with the given link type (`LinkType.rawValue`) and timestamp resolution.
    public init(linkType: Int32 = LinkType.ethernet.rawValue, nanosecond: Bool = false, snapLength: UInt32 = 262_144) {
        self.nanosecond = nanosecond
        append32(nanosecond ? 0xa1b2_3c4d : 0xa1b2_c3d4)
        append16(2); append16(4)
        append32(0); append32(0)
        append32(snapLength)
        append32(UInt32(bitPattern: linkType))
    }

    /// Appends one record. `originalLength` defaults to the frame's length.
    public mutating func append(frame: [UInt8], timestampNanos: UInt64, originalLength: Int? = nil) {
        append32(UInt32(truncatingIfNeeded: timestampNanos / 1_000_000_000))
        let fraction = timestampNanos % 1_000_000_000
        append32(UInt32(truncatingIfNeeded: nanosecond ? fraction : fraction / 1000))
        append32(UInt32(truncatingIfNeeded: frame.count))
        append32(UInt32(truncatingIfNeeded: originalLength ?? frame.count))
        bytes += frame
    }

    private mutating func append16(_ v: UInt16) { bytes += [UInt8(v & 0xff), UInt8(v >> 8)] }
    private mutating func append32(_ v: UInt32) {
        bytes += [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
    }
}

/// Builds link-layer frames carrying one TCP segment (checksums left zero: readers here ignore them).
public enum FrameBuilder {
    /// An Ethernet II frame (IPv4 or IPv6 by the endpoints' address size).
    public static func ethernet(_ s: TCPSegment) -> [UInt8] {
        let etherType: [UInt8] = s.source.address.count == 16 ? [0x86, 0xdd] : [0x08, 0x00]
        return [UInt8](repeating: 0, count: 6) + [0x02, 0, 0, 0, 0, 1] + etherType + ip(s)
    }

    /// The IP packet alone (for LINKTYPE_RAW and as the body of other link types).
    public static func ip(_ s: TCPSegment) -> [UInt8] {
        let tcpBytes = tcp(s)
        if s.source.address.count == 16 {
            let len = UInt16(truncatingIfNeeded: tcpBytes.count)
            return [0x60, 0, 0, 0, UInt8(len >> 8), UInt8(len & 0xff), 6, 64] + s.source.address + s.destination.address + tcpBytes
        }
        let total = UInt16(truncatingIfNeeded: 20 + tcpBytes.count)
        return [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 0, 0x40, 0, 64, 6, 0, 0]
            + s.source.address + s.destination.address + tcpBytes
    }

    static func tcp(_ s: TCPSegment) -> [UInt8] {
        func be16(_ v: UInt16) -> [UInt8] { [UInt8(v >> 8), UInt8(v & 0xff)] }
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        return be16(s.source.port) + be16(s.destination.port) + be32(s.sequence) + be32(s.acknowledgment)
            + [0x50, s.flags.rawValue, 0xff, 0xff, 0, 0, 0, 0] + s.payload
    }
}
