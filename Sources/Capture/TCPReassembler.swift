/// What one direction of a TCP connection yields, in stream order.
public enum StreamEvent: Sendable, Equatable {
    /// Contiguous bytes at `offset` (bytes since the stream's first data byte): a segment's
    /// payload as parsed (a slice of its frame) or bytes that waited for a hole to fill.
    case data(offset: UInt64, bytes: ArraySlice<UInt8>, timestampNanos: UInt64)
    /// `byteCount` bytes at `offset` were never seen: delivery resumes after them.
    case gap(offset: UInt64, byteCount: UInt64, timestampNanos: UInt64)
    /// The sender closed the stream (FIN reached in order) or the connection was reset.
    case closed(reset: Bool, timestampNanos: UInt64)
}

/// Counters of one direction (harness-notes.md §5.3: retransmissions, overlaps with different
/// bytes, gap bytes), for the per-connection summary and `/capture` events.
public struct StreamCounters: Sendable, Equatable {
    public var segments = 0
    public var retransmittedSegments = 0
    /// Bytes of overlapping segments that disagreed with the bytes already held (first copy wins).
    public var conflictingOverlapBytes: UInt64 = 0
    public var gapBytes: UInt64 = 0
    public var deliveredBytes: UInt64 = 0
    /// Payload bytes cut off by the snap length.
    public var truncatedBytes: UInt64 = 0
    public init() {}
}

/// Reassembles one direction of a TCP connection (sans-IO: segments in, stream events out).
///
/// harness-notes.md §5.3: the initial sequence number comes from the SYN; a stream seen without
/// its SYN is anchored on its first segment and marked mid-stream. Sequence numbers are mapped to
/// 64-bit stream offsets with serial-number arithmetic, so wrap-around is invisible above this type.
/// Out-of-order segments wait in a buffer sorted by offset; duplicates are dropped and counted;
/// overlaps are trimmed first-wins. When the buffer exceeds `maxBufferedBytes`, or the stream
/// ends (FIN, RST, end of capture) with a hole before buffered data, the hole becomes a `.gap`.
public struct TCPStreamReassembler: Sendable {
    public let maxBufferedBytes: Int
    public private(set) var counters = StreamCounters()
    /// True when the stream's SYN was not seen (the capture started after the connection opened).
    public private(set) var midStream = false
    public private(set) var isClosed = false

    /// Sequence number of stream offset 0 (ISN + 1); nil before the first segment.
    private var base: UInt32?
    /// Next stream offset to deliver.
    private var delivered: UInt64 = 0
    /// Out-of-order data, sorted by offset, non-overlapping.
    private var pending: [(offset: UInt64, bytes: [UInt8])] = []
    private var pendingBytes = 0
    /// Offset of the FIN once seen.
    private var finOffset: UInt64?

    public init(maxBufferedBytes: Int = 4 << 20) {
        self.maxBufferedBytes = maxBufferedBytes
    }

    /// Offset of the next byte the stream expects.
    public var nextOffset: UInt64 { delivered }

    /// Feeds one segment of this direction.
    public mutating func add(_ segment: TCPSegment) -> [StreamEvent] {
        var events: [StreamEvent] = []
        add(segment, events: &events)
        return events
    }

    /// Feeds one segment of this direction, appending what it delivers to `events` (a caller's
    /// reused array: no array per segment).
    mutating func add(_ segment: TCPSegment, events: inout [StreamEvent]) {
        guard !isClosed else {
            if !segment.payload.isEmpty { counters.retransmittedSegments += 1 }
            return
        }
        counters.segments += 1
        counters.truncatedBytes &+= UInt64(segment.truncatedBytes)
        let time = segment.timestampNanos
        var dataSequence = segment.sequence
        if segment.flags.contains(.syn) {
            dataSequence = segment.sequence &+ 1
            if base == nil { base = dataSequence }
        }
        if base == nil {
            if segment.payload.isEmpty && !segment.flags.contains(.fin) && !segment.flags.contains(.rst) { return }
            base = dataSequence
            midStream = true
        }
        guard let base else { return }
        // Offset relative to what has been delivered, in serial-number arithmetic (RFC 1982).
        let anchor = base &+ UInt32(truncatingIfNeeded: delivered)
        let distance = Int64(Int32(bitPattern: dataSequence &- anchor))
        let start = Int64(bitPattern: delivered) &+ distance

        // Bytes the snap length cut off leave a hole after the captured part: a gap once later data arrives.
        if !segment.payload.isEmpty {
            if pending.isEmpty && start == Int64(bitPattern: delivered) {
                // In-order fast path: nothing buffered, the segment is the next byte.
                events.append(.data(offset: delivered, bytes: segment.payload, timestampNanos: time))
                delivered &+= UInt64(segment.payload.count)
                counters.deliveredBytes &+= UInt64(segment.payload.count)
            } else {
                insert(start: start, bytes: segment.payload, events: &events)
            }
        }
        if segment.flags.contains(.fin) {
            let end = start &+ Int64(segment.payload.count) &+ Int64(segment.truncatedBytes)
            if end >= 0, finOffset == nil { finOffset = UInt64(end) }
        }
        drain(time: time, events: &events)
        if segment.flags.contains(.rst) {
            while !pending.isEmpty { skipToBuffered(time: time, events: &events) }
            close(reset: true, time: time, events: &events)
            return
        }
        if pendingBytes > maxBufferedBytes { skipToBuffered(time: time, events: &events) }
        // A FIN closes the stream once every byte before it is delivered; data missing before it
        // may still arrive as a retransmission, so until then the stream stays open.
        if let finOffset, delivered >= finOffset { close(reset: false, time: time, events: &events) }
    }

    /// The connection was reset by the other side: buffered data is delivered (holes become gaps)
    /// and the stream closes.
    public mutating func reset(timestampNanos: UInt64) -> [StreamEvent] {
        guard !isClosed else { return [] }
        var events: [StreamEvent] = []
        while !pending.isEmpty { skipToBuffered(time: timestampNanos, events: &events) }
        close(reset: true, time: timestampNanos, events: &events)
        return events
    }

    /// Ends the stream at the end of the capture: a hole before buffered data becomes a gap, and the
    /// buffered data is delivered.
    public mutating func finish(timestampNanos: UInt64) -> [StreamEvent] {
        var events: [StreamEvent] = []
        while !pending.isEmpty { skipToBuffered(time: timestampNanos, events: &events) }
        if let finOffset, delivered < finOffset, !isClosed {
            let missing = finOffset - delivered
            counters.gapBytes &+= missing
            events.append(.gap(offset: delivered, byteCount: missing, timestampNanos: timestampNanos))
            delivered = finOffset
        }
        if let finOffset, delivered >= finOffset { close(reset: false, time: timestampNanos, events: &events) }
        return events
    }

    private mutating func insert(start: Int64, bytes: ArraySlice<UInt8>, events: inout [StreamEvent]) {
        var lower = start
        var payload = bytes
        let deliveredSigned = Int64(bitPattern: delivered)
        // Already delivered (retransmission), wholly or in part.
        if lower < deliveredSigned {
            let skip = deliveredSigned &- lower
            if skip >= Int64(payload.count) {
                counters.retransmittedSegments += 1
                return
            }
            payload = payload.dropFirst(Int(skip))
            lower = deliveredSigned
        }
        if payload.isEmpty { return }
        var cursor = UInt64(lower)
        let end = cursor + UInt64(payload.count)
        // Fill only the parts no buffered segment covers (first copy wins); count conflicting bytes.
        var pieces: [(offset: UInt64, bytes: [UInt8])] = []
        var duplicate = true
        for held in pending where held.offset < end && held.offset + UInt64(held.bytes.count) > cursor {
            if held.offset > cursor {
                pieces.append((cursor, Array(payload[sliceRange(payload, from: lower, cursor, held.offset)])))
                duplicate = false
            }
            let overlapStart = max(cursor, held.offset)
            let overlapEnd = min(end, held.offset + UInt64(held.bytes.count))
            if overlapEnd > overlapStart {
                let mine = payload[sliceRange(payload, from: lower, overlapStart, overlapEnd)]
                let theirs = held.bytes[Int(overlapStart - held.offset)..<Int(overlapEnd - held.offset)]
                if !mine.elementsEqual(theirs) {
                    var differing: UInt64 = 0
                    for (a, b) in zip(mine, theirs) where a != b { differing += 1 }
                    counters.conflictingOverlapBytes &+= differing
                }
            }
            cursor = max(cursor, held.offset + UInt64(held.bytes.count))
        }
        if cursor < end {
            pieces.append((cursor, Array(payload[sliceRange(payload, from: lower, cursor, end)])))
            duplicate = false
        }
        if duplicate { counters.retransmittedSegments += 1; return }
        for piece in pieces {
            let index = pending.firstIndex { $0.offset > piece.offset } ?? pending.count
            pending.insert(piece, at: index)
            pendingBytes += piece.bytes.count
        }
    }

    /// Index range of `payload` (whose first byte is at stream offset `lower`) covering [from, to).
    private func sliceRange(_ payload: ArraySlice<UInt8>, from lower: Int64, _ from: UInt64, _ to: UInt64) -> Range<Int> {
        let a = payload.startIndex + Int(Int64(from) - lower)
        let b = payload.startIndex + Int(Int64(to) - lower)
        return a..<b
    }

    /// Delivers the contiguous prefix of the buffer.
    private mutating func drain(time: UInt64, events: inout [StreamEvent]) {
        var chunk: [UInt8] = []
        let startOffset = delivered
        while let first = pending.first, first.offset == delivered {
            pending.removeFirst()
            pendingBytes -= first.bytes.count
            chunk += first.bytes
            delivered += UInt64(first.bytes.count)
        }
        if !chunk.isEmpty {
            counters.deliveredBytes &+= UInt64(chunk.count)
            events.append(.data(offset: startOffset, bytes: chunk[...], timestampNanos: time))
        }
    }

    /// Declares the hole before the first buffered segment a gap and delivers what follows it.
    private mutating func skipToBuffered(time: UInt64, events: inout [StreamEvent]) {
        guard let first = pending.first else { return }
        if first.offset > delivered {
            let missing = first.offset - delivered
            counters.gapBytes &+= missing
            events.append(.gap(offset: delivered, byteCount: missing, timestampNanos: time))
            delivered = first.offset
        }
        drain(time: time, events: &events)
    }

    private mutating func close(reset: Bool, time: UInt64, events: inout [StreamEvent]) {
        guard !isClosed else { return }
        isClosed = true
        pending = []
        pendingBytes = 0
        events.append(.closed(reset: reset, timestampNanos: time))
    }
}
