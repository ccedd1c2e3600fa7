import Foundation
import ProtoWire

/// Hand-written protobuf codecs for Schema/syncreplay_trace.proto. Encoding follows proto3:
/// fields in number order, zero scalars omitted, repeated and oneof sub-messages always
/// written. Decoding skips unknown fields (schema evolution) and rejects enum values this
/// version does not know, since an event cannot be replayed half-understood.
extension TraceEvent {
    /// The protobuf bytes stored as the MCAP message data.
    public func encode() -> [UInt8] {
        var w = ProtoWriter(capacity: 64)
        switch self {
        case .node(let n):
            w.string(1, n.chainID)
            w.int64(2, n.initialHeight)
            w.int64(3, n.storeBase)
            w.int64(4, n.storeHeight)
            w.string(5, n.nodeID)
            for v in n.validators {
                w.message(6, always: true) { m in m.bytes(1, v.pubKey); m.int64(2, v.power) }
            }
            w.bytes(7, n.appHash)
            w.bytes(8, n.startBlock)
            w.message(9) { m in m.int64(1, n.genesisTime.seconds); m.int32(2, n.genesisTime.nanos) }
            w.string(10, n.captureMethod)
            w.string(11, n.profileHint)
            w.bytes(12, n.localValidatorAddress)
            // Zero is not written: a trace without consensus params keeps its bytes.
            w.int64(13, n.voteExtensionsEnableHeight)
            w.int64(14, n.blockMaxBytes)
            if let h = n.stateSync {
                w.message(15, always: true) { m in
                    m.uint64(1, h.at)
                    m.bytes(2, h.block)
                    m.bytes(3, h.appHash)
                    m.bytes(4, h.lastResultsHash)
                }
            }
        case .p2p(let p):
            w.string(1, p.peerID)
            w.string(2, p.address)
            w.bool(3, p.outbound)
            w.uint64(4, p.kind.wire)
            w.string(5, p.reason)
        case .blocksync(let b):
            w.string(1, b.peerID)
            w.uint64(2, b.direction.wire)
            w.bytes(3, b.messageBytes)
        case .pivot(.switch(let s)):
            w.message(1, always: true) { m in
                m.uint64(1, s.forkAt)
                m.uint64(2, s.meHeight)
                m.bytes(3, s.meHash)
                for e in s.branch {
                    m.message(4, always: true) { b in b.uint64(1, e.height); b.bytes(2, e.hash) }
                }
                m.uint64(5, s.observed.wire)
            }
        case .pivot(.extend(let e)):
            w.message(2, always: true) { m in
                m.uint64(1, e.height)
                m.bytes(2, e.hash)
                m.uint64(3, e.observed.wire)
            }
        case .capture(let c):
            w.uint64(1, c.kind.wire)
            w.string(2, c.connection)
            w.uint64(3, c.direction?.wire ?? 0)
            w.uint64(4, c.byteCount)
            w.string(5, c.detail)
        }
        return w.bytes
    }

    /// Decodes the protobuf payload of a message on `topic`.
    public static func decode(topic: TraceTopic, _ bytes: ArraySlice<UInt8>) throws -> TraceEvent {
        var peerIDs = TracePeerIDs()
        return try decode(topic: topic, bytes, peerIDs: &peerIDs)
    }

    /// Decodes with a stream's peer-id table (same result and errors as `decode(topic:_:)`).
    static func decode(topic: TraceTopic, _ bytes: ArraySlice<UInt8>, peerIDs: inout TracePeerIDs) throws -> TraceEvent {
        var r = ProtoReader(bytes, baseOffset: 0)
        switch topic {
        case .node: return .node(try decodeNode(&r))
        case .p2p: return .p2p(try decodePeer(&r, peerIDs: &peerIDs))
        case .blocksync: return .blocksync(try decodeBlocksync(&r, peerIDs: &peerIDs))
        case .pivot: return .pivot(try decodePivot(&r))
        case .capture: return .capture(try decodeCapture(&r))
        }
    }

    public static func decode(topic: TraceTopic, _ bytes: [UInt8]) throws -> TraceEvent {
        try decode(topic: topic, bytes[...])
    }

    private static func enumValue<T>(_ f: ProtoField, _ name: String, _ make: (UInt64) -> T?) throws -> T {
        let raw = try f.uint64()
        guard let v = make(raw) else {
            throw ProtoError.invalid(offset: f.offset, reason: "unknown \(name) value \(raw)")
        }
        return v
    }

    private static func decodeNode(_ r: inout ProtoReader) throws -> NodeRecord {
        var n = NodeRecord()
        while let f = try r.next() {
            switch f.number {
            case 1: n.chainID = try f.string()
            case 2: n.initialHeight = try f.int64()
            case 3: n.storeBase = try f.int64()
            case 4: n.storeHeight = try f.int64()
            case 5: n.nodeID = try f.string()
            case 6:
                var m = try f.messageReader()
                var v = ValidatorRecord(pubKey: [], power: 0)
                while let g = try m.next() {
                    switch g.number {
                    case 1: v.pubKey = try g.bytes()
                    case 2: v.power = try g.int64()
                    default: break
                    }
                }
                n.validators.append(v)
            case 7: n.appHash = try f.bytes()
            case 8: n.startBlock = try f.bytes()
            case 9:
                var m = try f.messageReader()
                while let g = try m.next() {
                    switch g.number {
                    case 1: n.genesisTime.seconds = try g.int64()
                    case 2: n.genesisTime.nanos = try g.int32()
                    default: break
                    }
                }
            case 10: n.captureMethod = try f.string()
            case 11: n.profileHint = try f.string()
            case 12: n.localValidatorAddress = try f.bytes()
            case 13: n.voteExtensionsEnableHeight = try f.int64()
            case 14: n.blockMaxBytes = try f.int64()
            case 15:
                var m = try f.messageReader()
                var h = StateSyncRecord(at: 0, block: [], appHash: [], lastResultsHash: [])
                while let g = try m.next() {
                    switch g.number {
                    case 1: h.at = try g.uint64()
                    case 2: h.block = try g.bytes()
                    case 3: h.appHash = try g.bytes()
                    case 4: h.lastResultsHash = try g.bytes()
                    default: break
                    }
                }
                n.stateSync = h
            default: break
            }
        }
        return n
    }

    private static func decodePeer(_ r: inout ProtoReader, peerIDs: inout TracePeerIDs) throws -> PeerRecord {
        var p = PeerRecord(peerID: "", kind: .connected)
        var kind: PeerEventKind?
        while let f = try r.next() {
            switch f.number {
            case 1: p.peerID = try peerIDs.string(f)
            case 2: p.address = try f.string()
            case 3: p.outbound = try f.bool()
            case 4: kind = try enumValue(f, "PeerEventKind", PeerEventKind.init(wire:))
            case 5: p.reason = try f.string()
            default: break
            }
        }
        guard let kind else { throw ProtoError.invalid(offset: r.offset, reason: "Peer.kind missing (neither connected nor disconnected)") }
        p.kind = kind
        return p
    }

    /// The common Blocksync payload read without `ProtoReader`: fields 1–3 with their wire
    /// types, varints of at most 9 bytes, valid UTF-8, a known direction at each occurrence.
    /// Nil for anything else, which `decodeBlocksync` then reads (and reports) as always.
    static func quickBlocksync(_ bytes: ArraySlice<UInt8>, peerIDs: inout TracePeerIDs) -> BlocksyncRecord? {
        quickBlocksync(in: bytes, bytes.indices, peerIDs: &peerIDs)
    }

    /// `quickBlocksync` of the payload at `range` of `buffer` (a chunk's records), whose
    /// message is then the one slice made of `buffer`. Inlined into the stream's step, so the
    /// record is built where it is used (returned through memory, its fields were stored in
    /// halves and loaded whole, a stall on every event).
    @inline(__always)
    static func quickBlocksync(in buffer: ArraySlice<UInt8>, _ range: Range<Int>, peerIDs: inout TracePeerIDs) -> BlocksyncRecord? {
        let fields = buffer.withUnsafeBytes { all in
            quickBlocksyncFields(UnsafeRawBufferPointer(rebasing: all[(range.lowerBound - buffer.startIndex)..<(range.upperBound - buffer.startIndex)]), peerIDs: &peerIDs)
        }
        guard let (peer, direction, message) = fields else { return nil }
        let base = range.lowerBound
        return BlocksyncRecord(peerID: peer, direction: direction, messageBytes: buffer[(base + message.lowerBound)..<(base + message.upperBound)])
    }

    /// The peer id, direction and message range (within `raw`) of `quickBlocksync`.
    @inline(__always)
    private static func quickBlocksyncFields(_ raw: UnsafeRawBufferPointer, peerIDs: inout TracePeerIDs) -> (String, TraceDirection, Range<Int>)? {
        let end = raw.count
        // The writer's layout, checked byte by byte: peer_id (1), direction (2), message (3),
        // each once, in this order, with one-byte lengths; anything else takes the loop.
        if end >= 6, raw[0] == 0x0A {
            let n = Int(raw[1])
            if n < 0x80, n + 6 <= end, raw[n + 2] == 0x10, raw[n + 4] == 0x1A, raw[n + 5] < 0x80, Int(raw[n + 5]) == end - n - 6,
               let d = TraceDirection(wire: UInt64(raw[n + 3])) {
                guard let text = peerIDs.string(UnsafeRawBufferPointer(rebasing: raw[2..<(n + 2)])) else { return nil }
                return (text, d, (n + 6)..<end)
            }
        }
        return quickBlocksyncLoop(raw, peerIDs: &peerIDs)
    }

    /// `quickBlocksyncFields` for payloads in another layout: fields in any order and repeated,
    /// longer lengths (out of line: the writer never takes it).
    @inline(never)
    private static func quickBlocksyncLoop(_ raw: UnsafeRawBufferPointer, peerIDs: inout TracePeerIDs) -> (String, TraceDirection, Range<Int>)? {
        let end = raw.count
        var peer = "", messageStart = 0, messageEnd = 0, direction: TraceDirection?
        var i = 0
        func varint() -> UInt64? {
            var v: UInt64 = 0, shift: UInt64 = 0
            while i < end && shift < 63 {
                let b = raw[i]
                i += 1
                v |= UInt64(b & 0x7F) << shift
                if b & 0x80 == 0 { return v }
                shift += 7
            }
            return nil
        }
        while i < end {
            guard let key = varint() else { return nil }
            switch key {
            case 0x0A, 0x1A:  // peer_id (1) and message (3), length-delimited
                guard let n = varint(), n <= UInt64(end - i) else { return nil }
                let start = i
                i += Int(n)
                if key == 0x1A { messageStart = start; messageEnd = i; continue }
                guard let text = peerIDs.string(UnsafeRawBufferPointer(rebasing: raw[start..<i])) else { return nil }
                peer = text
            case 0x10:  // direction (2), varint
                guard let wire = varint(), let d = TraceDirection(wire: wire) else { return nil }
                direction = d
            default: return nil
            }
        }
        guard let direction else { return nil }
        return (peer, direction, messageStart..<messageEnd)
    }

    private static func decodeBlocksync(_ r: inout ProtoReader, peerIDs: inout TracePeerIDs) throws -> BlocksyncRecord {
        if let quick = quickBlocksync(r.buffer, peerIDs: &peerIDs) { return quick }
        var peer = "", message: [UInt8] = []
        var direction: TraceDirection?
        while let f = try r.next() {
            switch f.number {
            case 1: peer = try peerIDs.string(f)
            case 2: direction = try enumValue(f, "Direction", TraceDirection.init(wire:))
            case 3: message = try f.bytes()
            default: break
            }
        }
        guard let direction else { throw ProtoError.invalid(offset: r.offset, reason: "Blocksync.direction missing") }
        return BlocksyncRecord(peerID: peer, direction: direction, message: message)
    }

    private static func decodePivot(_ r: inout ProtoReader) throws -> PivotRecord {
        var result: PivotRecord?
        while let f = try r.next() {
            switch f.number {
            case 1:
                var m = try f.messageReader()
                var s = PivotSwitch(forkAt: 0, meHeight: 0, meHash: [], branch: [])
                while let g = try m.next() {
                    switch g.number {
                    case 1: s.forkAt = try g.uint64()
                    case 2: s.meHeight = try g.uint64()
                    case 3: s.meHash = try g.bytes()
                    case 4:
                        var b = try g.messageReader()
                        var e = PivotBranchEntry(height: 0, hash: [])
                        while let h = try b.next() {
                            switch h.number {
                            case 1: e.height = try h.uint64()
                            case 2: e.hash = try h.bytes()
                            default: break
                            }
                        }
                        s.branch.append(e)
                    case 5: s.observed = try enumValue(g, "PivotObserved", PivotObservation.init(wire:))
                    default: break
                    }
                }
                result = .switch(s)
            case 2:
                var m = try f.messageReader()
                var e = PivotExtend(height: 0, hash: [])
                while let g = try m.next() {
                    switch g.number {
                    case 1: e.height = try g.uint64()
                    case 2: e.hash = try g.bytes()
                    case 3: e.observed = try enumValue(g, "PivotObserved", PivotObservation.init(wire:))
                    default: break
                    }
                }
                result = .extend(e)
            default: break
            }
        }
        guard let result else { throw ProtoError.invalid(offset: r.offset, reason: "Pivot has neither switch_attempt nor extend") }
        return result
    }

    private static func decodeCapture(_ r: inout ProtoReader) throws -> CaptureRecord {
        var c = CaptureRecord(kind: .gap)
        var kind: CaptureKind?
        while let f = try r.next() {
            switch f.number {
            case 1: kind = try enumValue(f, "CaptureKind", CaptureKind.init(wire:))
            case 2: c.connection = try f.string()
            case 3:
                let raw = try f.uint64()
                if raw == 0 { c.direction = nil } else {
                    c.direction = try enumValue(f, "Direction", TraceDirection.init(wire:))
                }
            case 4: c.byteCount = try f.uint64()
            case 5: c.detail = try f.string()
            default: break
            }
        }
        guard let kind else { throw ProtoError.invalid(offset: r.offset, reason: "Capture.kind missing") }
        c.kind = kind
        return c
    }
}

/// The distinct peer ids of one event stream (a trace has few peers), so that each event
/// shares one String per peer instead of validating and allocating its own.
struct TracePeerIDs {
    private struct Entry {
        var bytes: [UInt8]
        /// The first 8 bytes (0 when shorter), compared before the whole id.
        var head: UInt64
        var text: String
    }
    private var known: [Entry] = []
    /// Past this many distinct ids, new ones are decoded but not kept.
    static let limit = 64
    /// For a hash of an id's head and length, the index + 1 in `known` of the id last found
    /// with it (0: none), tried before the scan: one comparison per event with a few peers.
    private var slots = [UInt8](repeating: 0, count: 64)

    /// The UTF-8 text of `raw`, nil when it is not valid UTF-8. The id its slot names is tried
    /// inline; anything else (another id in the slot, a new id) out of line.
    @inline(__always)
    mutating func string(_ raw: UnsafeRawBufferPointer) -> String? {
        let n = raw.count
        let head = n >= 8 ? raw.loadUnaligned(as: UInt64.self) : 0
        let slot = Int(truncatingIfNeeded: ((head ^ UInt64(n)) &* 0x9E37_79B9_7F4A_7C15) >> 58)
        let hint = Int(slots[slot]) - 1
        if hint >= 0 {
            let found: String? = known.withUnsafeBufferPointer { entries in
                guard entries[hint].head == head, entries[hint].bytes.count == n,
                      entries[hint].bytes.withUnsafeBytes({ Self.same($0, raw) }) else { return nil }
                return entries[hint].text
            }
            if let found { return found }
        }
        return lookUp(raw, head: head, slot: slot, hint: hint)
    }

    /// `string(_:)` when the id is not the one its slot names: scans the known ids, then
    /// decodes and keeps a new one.
    @inline(never)
    private mutating func lookUp(_ raw: UnsafeRawBufferPointer, head: UInt64, slot: Int, hint: Int) -> String? {
        let n = raw.count
        guard n > 0 else { return "" }
        let index: Int? = known.withUnsafeBufferPointer { entries in
            func matches(_ k: Int) -> Bool {
                entries[k].head == head && entries[k].bytes.count == n && entries[k].bytes.withUnsafeBytes { Self.same($0, raw) }
            }
            for k in entries.indices where k != hint && matches(k) { return k }
            return nil
        }
        if let index {
            if index != hint { slots[slot] = UInt8(index + 1) }
            return known[index].text
        }
        guard let text = String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self) else { return nil }
        if known.count < Self.limit {
            known.append(Entry(bytes: Array(raw), head: head, text: text))
            slots[slot] = UInt8(known.count)
        }
        return text
    }

    /// True when `a` and `b` (of equal length) hold the same bytes; compares 8 bytes at a time
    /// inline, as ids are short (a call to memcmp costs more than the comparison).
    @inline(__always)
    private static func same(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = a.count
        var i = 0
        while i + 8 <= n {
            if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
            i += 8
        }
        while i < n {
            if a[i] != b[i] { return false }
            i += 1
        }
        return true
    }

    /// The UTF-8 text of `bytes`, nil when they are not valid UTF-8.
    mutating func string(_ bytes: ArraySlice<UInt8>) -> String? {
        bytes.withUnsafeBytes { string($0) }
    }

    /// The field's text, as `ProtoField.string()` gives it (same errors).
    mutating func string(_ field: ProtoField) throws -> String {
        guard field.wireType == .lengthDelimited, let text = string(field.data) else { return try field.string() }
        return text
    }
}
