import ProtoWire

/// `google.protobuf.Timestamp` as CometBFT uses it: a Go `time.Time` marshalled with
/// gogoproto `stdtime` (specs/cometbft-blocksync.md §1.6).
///
/// Non-nullable timestamp fields are always emitted; a field that is absent on the wire
/// decodes as Go's zero time (0001-01-01T00:00:00Z, `seconds = -62135596800`), which is what
/// absent commit signatures carry. Like gogo's `StdTimeUnmarshal`, decoding rejects seconds
/// outside [0001-01-01, 10000-01-01) and nanos outside [0, 1e9).
public struct Timestamp: ProtoMessage, Hashable, Comparable, CustomStringConvertible {
    public static let protoName = "google.protobuf.Timestamp"
    /// Seconds since the Unix epoch of 0001-01-01T00:00:00Z.
    public static let minSeconds: Int64 = -62_135_596_800
    /// Seconds since the Unix epoch of 10000-01-01T00:00:00Z (exclusive upper bound).
    public static let maxSecondsExclusive: Int64 = 253_402_300_800
    /// Go's zero `time.Time`.
    public static let goZero = Timestamp(seconds: minSeconds, nanos: 0)

    public var seconds: Int64
    public var nanos: Int32

    /// Go's zero time, the value of an absent non-nullable timestamp.
    public init() { self = .goZero }

    public init(seconds: Int64, nanos: Int32) {
        self.seconds = seconds
        self.nanos = nanos
    }

    /// True for Go's zero time (`time.Time.IsZero`).
    public var isGoZero: Bool { self == .goZero }

    /// Nanoseconds since the Unix epoch (wrapping; only used for medians and ordering of valid times).
    public var unixNanos: Int64 { seconds &* 1_000_000_000 &+ Int64(nanos) }

    public func encode(into writer: inout ProtoWriter) {
        writer.int64(1, seconds)
        writer.int32(2, nanos)
    }

    public mutating func merge(from reader: inout ProtoReader) throws {
        while let f = try reader.next() {
            switch f.number {
            case 1: seconds = try f.int64()
            case 2: nanos = try f.int32()
            default: continue
            }
        }
    }

    /// Decodes a stdtime field: a fresh timestamp (not merged), range-checked.
    static func decodeStdTime(_ field: ProtoField, in message: String, name: String) throws -> Timestamp {
        var t = Timestamp(seconds: 0, nanos: 0)
        try t.mergeField(field)
        guard t.seconds >= minSeconds, t.seconds < maxSecondsExclusive else {
            throw WireError.invalidField(offset: field.offset, message: message, field: name,
                                         reason: "timestamp seconds \(t.seconds) outside 0001-01-01…9999-12-31")
        }
        guard t.nanos >= 0, t.nanos < 1_000_000_000 else {
            throw WireError.invalidField(offset: field.offset, message: message, field: name,
                                         reason: "timestamp nanos \(t.nanos) outside [0, 1e9)")
        }
        return t
    }

    public static func < (a: Timestamp, b: Timestamp) -> Bool {
        (a.seconds, a.nanos) < (b.seconds, b.nanos)
    }

    /// RFC 3339 in UTC with nanoseconds, trailing zeros trimmed (Go's `RFC3339Nano`).
    public var description: String { RFC3339.format(self) }
}

extension Timestamp {
    /// This time plus `nanoseconds` (normalised; wrapping on overflow, which valid times never reach).
    public func adding(nanoseconds: Int64) -> Timestamp {
        let total = Int64(nanos) &+ nanoseconds % 1_000_000_000
        var s = seconds &+ nanoseconds / 1_000_000_000
        var n = total
        if n >= 1_000_000_000 { n -= 1_000_000_000; s &+= 1 }
        if n < 0 { n += 1_000_000_000; s &-= 1 }
        return Timestamp(seconds: s, nanos: Int32(n))
    }
}
