import Foundation

/// An IP address and TCP port. IPv4 addresses are 4 bytes, IPv6 16.
///
/// The bytes are held inline (big-endian in two words, with their count), not in an array: every
/// captured segment carries two endpoints, and two arrays per segment were two allocations.
public struct Endpoint: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Address bytes 0-7 and 8-15, big-endian, zero past `byteCount`.
    private var high: UInt64
    private var low: UInt64
    private var byteCount: UInt8
    public var port: UInt16

    /// `address` holds at most 16 bytes.
    public init(address: [UInt8], port: UInt16) {
        precondition(address.count <= 16, "an IP address of \(address.count) bytes")
        self.init(port: port, byteCount: address.count) { address[$0] }
    }

    /// The `count` (4 or 16) address bytes at `start` of a frame.
    init(frame: [UInt8], at start: Int, count: Int, port: UInt16) {
        self.init(port: port, byteCount: count) { frame[start + $0] }
    }

    @inline(__always)
    private init(port: UInt16, byteCount: Int, byte: (Int) -> UInt8) {
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<byteCount {
            if i < 8 { high |= UInt64(byte(i)) << (56 - 8 * UInt64(i)) } else { low |= UInt64(byte(i)) << (56 - 8 * UInt64(i - 8)) }
        }
        self.high = high
        self.low = low
        self.byteCount = UInt8(byteCount)
        self.port = port
    }

    public var address: [UInt8] {
        get {
            (0..<Int(byteCount)).map { i in
                i < 8 ? UInt8(truncatingIfNeeded: high >> (56 - 8 * UInt64(i))) : UInt8(truncatingIfNeeded: low >> (56 - 8 * UInt64(i - 8)))
            }
        }
        set { self = Endpoint(address: newValue, port: port) }
    }

    /// Parses `1.2.3.4:26656` or `[::1]:26656`; nil when malformed.
    public init?(parsing text: String) {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()), let bytes = Self.parseIPv6(host) else { return nil }
            self.init(address: bytes, port: port)
            return
        }
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        let parts = text[..<colon].split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard let value = UInt8(part) else { return nil }
            bytes.append(value)
        }
        self.init(address: bytes, port: port)
    }

    private static func parseIPv6(_ host: String) -> [UInt8]? {
        let halves = host.components(separatedBy: "::")
        guard halves.count <= 2 else { return nil }
        func groups(_ s: String) -> [UInt16]? {
            if s.isEmpty { return [] }
            var out: [UInt16] = []
            for g in s.split(separator: ":", omittingEmptySubsequences: false) {
                guard let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += [UInt16](repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }

    public var description: String {
        if address.count == 4 {
            return address.map(String.init).joined(separator: ".") + ":\(port)"
        }
        var groups: [String] = []
        var i = 0
        while i + 1 < address.count {
            groups.append(String(UInt16(address[i]) << 8 | UInt16(address[i + 1]), radix: 16))
            i += 2
        }
        return "[" + groups.joined(separator: ":") + "]:\(port)"
    }

    /// Shorter addresses first, then the address bytes in order, then the port.
    public static func < (a: Endpoint, b: Endpoint) -> Bool {
        if a.byteCount != b.byteCount { return a.byteCount < b.byteCount }
        if a.high != b.high { return a.high < b.high }
        if a.low != b.low { return a.low < b.low }
        return a.port < b.port
    }
}

/// TCP header flags this tool acts on.
public struct TCPFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let fin = TCPFlags(rawValue: 0x01)
    public static let syn = TCPFlags(rawValue: 0x02)
    public static let rst = TCPFlags(rawValue: 0x04)
    public static let psh = TCPFlags(rawValue: 0x08)
    public static let ack = TCPFlags(rawValue: 0x10)
}

/// One TCP segment lifted out of a captured frame.
public struct TCPSegment: Sendable, Equatable {
    public var timestampNanos: UInt64
    public var source: Endpoint
    public var destination: Endpoint
    public var sequence: UInt32
    public var acknowledgment: UInt32
    public var flags: TCPFlags
    /// The TCP payload: a slice of the captured frame (no copy per segment).
    public var payload: ArraySlice<UInt8>
    /// Payload bytes the snap length cut off (the segment carried more than was captured).
    public var truncatedBytes: Int

    public init(timestampNanos: UInt64, source: Endpoint, destination: Endpoint, sequence: UInt32,
                acknowledgment: UInt32 = 0, flags: TCPFlags, payload: ArraySlice<UInt8>, truncatedBytes: Int = 0) {
        self.timestampNanos = timestampNanos
        self.source = source
        self.destination = destination
        self.sequence = sequence
        self.acknowledgment = acknowledgment
        self.flags = flags
        self.payload = payload
        self.truncatedBytes = truncatedBytes
    }

    public init(timestampNanos: UInt64, source: Endpoint, destination: Endpoint, sequence: UInt32,
                acknowledgment: UInt32 = 0, flags: TCPFlags, payload: [UInt8], truncatedBytes: Int = 0) {
        self.init(timestampNanos: timestampNanos, source: source, destination: destination, sequence: sequence,
                  acknowledgment: acknowledgment, flags: flags, payload: payload[...], truncatedBytes: truncatedBytes)
    }
}

/// Link-layer header types (LINKTYPE_* of the pcap spec; the DLT_* that libpcap reports on Linux).
/// harness-notes.md §5.2 item 5: Linux `lo` is Ethernet, `any` is SLL/SLL2, macOS loopback is NULL.
public enum LinkType: Int32, Sendable, CaseIterable {
    case null = 0          // BSD loopback: 4-byte address family in host byte order
    case ethernet = 1
    case rawDLT = 12       // DLT_RAW on Linux
    case raw = 101         // LINKTYPE_RAW
    case loop = 108        // OpenBSD loopback: address family in network byte order
    case linuxSLL = 113
    case ipv4 = 228
    case ipv6 = 229
    case linuxSLL2 = 276
}

/// Why a frame yielded no TCP segment. Only `.malformed` is a problem worth reporting; the others
/// are traffic the filter let through that this tool does not look at.
public enum FrameSkip: Error, Equatable, Sendable {
    case unsupportedLinkType(Int32)
    case notIP
    case notTCP
    case fragment
    case malformed(String)
}

/// Parses captured frames down to TCP segments: link layer, IPv4/IPv6 (with extension headers) and
/// TCP, with every offset bounds-checked (a short or lying frame is `.malformed`, never a crash).
public enum PacketParser {
    public static func parse(frame: [UInt8], linkType: Int32, timestampNanos: UInt64,
                             originalLength: Int? = nil) -> Result<TCPSegment, FrameSkip> {
        guard let link = LinkType(rawValue: linkType) else { return .failure(.unsupportedLinkType(linkType)) }
        let ipStart: Int
        switch link {
        case .ethernet:
            guard frame.count >= 14 else { return .failure(.malformed("Ethernet header needs 14 bytes, frame has \(frame.count)")) }
            var offset = 12
            var etherType = be16(frame, offset)
            // 802.1Q / 802.1ad VLAN tags.
            while etherType == 0x8100 || etherType == 0x88a8 {
                offset += 4
                guard frame.count >= offset + 2 else { return .failure(.malformed("truncated VLAN tag")) }
                etherType = be16(frame, offset)
            }
            guard etherType == 0x0800 || etherType == 0x86dd else { return .failure(.notIP) }
            ipStart = offset + 2
        case .null, .loop:
            guard frame.count >= 4 else { return .failure(.malformed("loopback header needs 4 bytes")) }
            let family = link == .loop
                ? be32(frame, 0)
                : (UInt32(frame[0]) | UInt32(frame[1]) << 8 | UInt32(frame[2]) << 16 | UInt32(frame[3]) << 24)
            // Either byte order may appear in files written on another host.
            switch family {
            case 2, 10, 24, 28, 30, 0x0200_0000, 0x0a00_0000, 0x1800_0000, 0x1c00_0000, 0x1e00_0000: break
            default: return .failure(.notIP)
            }
            ipStart = 4
        case .raw, .rawDLT, .ipv4, .ipv6:
            ipStart = 0
        case .linuxSLL:
            guard frame.count >= 16 else { return .failure(.malformed("SLL header needs 16 bytes")) }
            let proto = be16(frame, 14)
            guard proto == 0x0800 || proto == 0x86dd else { return .failure(.notIP) }
            ipStart = 16
        case .linuxSLL2:
            guard frame.count >= 20 else { return .failure(.malformed("SLL2 header needs 20 bytes")) }
            let proto = be16(frame, 0)
            guard proto == 0x0800 || proto == 0x86dd else { return .failure(.notIP) }
            ipStart = 20
        }
        let wireMissing = max(0, (originalLength ?? frame.count) - frame.count)
        return parseIP(frame, at: ipStart, timestampNanos: timestampNanos, wireMissing: wireMissing)
    }

    private static func parseIP(_ f: [UInt8], at start: Int, timestampNanos: UInt64, wireMissing: Int) -> Result<TCPSegment, FrameSkip> {
        guard f.count > start else { return .failure(.malformed("no IP header")) }
        let version = f[start] >> 4
        var tcpStart: Int
        var ipEnd: Int  // end of the IP packet within the captured bytes
        var declaredEnd: Int  // end as the IP header declares it (may exceed what was captured)
        let addressStart: Int, addressCount: Int
        if version == 4 {
            guard f.count >= start + 20 else { return .failure(.malformed("IPv4 header needs 20 bytes")) }
            let ihl = Int(f[start] & 0x0f) * 4
            guard ihl >= 20, f.count >= start + ihl else { return .failure(.malformed("bad IPv4 header length \(ihl)")) }
            let total = Int(be16(f, start + 2))
            guard total >= ihl else { return .failure(.malformed("IPv4 total length \(total) < header \(ihl)")) }
            guard f[start + 9] == 6 else { return .failure(.notTCP) }
            let fragment = be16(f, start + 6)
            if fragment & 0x2000 != 0 || fragment & 0x1fff != 0 { return .failure(.fragment) }
            addressStart = start + 12
            addressCount = 4
            tcpStart = start + ihl
            declaredEnd = start + total
        } else if version == 6 {
            guard f.count >= start + 40 else { return .failure(.malformed("IPv6 header needs 40 bytes")) }
            let payloadLength = Int(be16(f, start + 4))
            var next = f[start + 6]
            addressStart = start + 8
            addressCount = 16
            tcpStart = start + 40
            declaredEnd = start + 40 + payloadLength
            // Hop-by-hop, routing and destination options headers; fragments are not reassembled.
            while next != 6 {
                switch next {
                case 0, 43, 60:
                    guard f.count >= tcpStart + 2 else { return .failure(.malformed("truncated IPv6 extension header")) }
                    next = f[tcpStart]
                    tcpStart += (Int(f[tcpStart + 1]) + 1) * 8
                case 44:
                    return .failure(.fragment)
                default:
                    return .failure(.notTCP)
                }
            }
        } else {
            return .failure(.notIP)
        }
        // Ethernet pads short frames: trust the IP length, but never beyond the captured bytes.
        ipEnd = min(declaredEnd, f.count)
        guard ipEnd >= tcpStart + 20 else { return .failure(.malformed("TCP header needs 20 bytes")) }
        let dataOffset = Int(f[tcpStart + 12] >> 4) * 4
        guard dataOffset >= 20, ipEnd >= tcpStart + dataOffset else { return .failure(.malformed("bad TCP data offset \(dataOffset)")) }
        let segment = TCPSegment(
            timestampNanos: timestampNanos,
            source: Endpoint(frame: f, at: addressStart, count: addressCount, port: be16(f, tcpStart)),
            destination: Endpoint(frame: f, at: addressStart + addressCount, count: addressCount, port: be16(f, tcpStart + 2)),
            sequence: be32(f, tcpStart + 4),
            acknowledgment: be32(f, tcpStart + 8),
            flags: TCPFlags(rawValue: f[tcpStart + 13] & 0x1f),
            payload: f[(tcpStart + dataOffset)..<ipEnd],
            truncatedBytes: max(0, declaredEnd - f.count) > 0 ? max(declaredEnd - f.count, wireMissing) : 0)
        return .success(segment)
    }

    @inline(__always) static func be16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) << 8 | UInt16(b[i + 1]) }
    @inline(__always) static func be32(_ b: [UInt8], _ i: Int) -> UInt32 {
        UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
    }
}
