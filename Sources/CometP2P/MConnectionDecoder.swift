import ProtoWire

/// What the receive side of an MConnection yields (§1.3).
public enum MConnectionEvent: Equatable, Sendable {
    case ping
    case pong
    /// A complete channel message (the concatenated PacketMsg payloads up to `eof`).
    case message(channel: UInt8, bytes: [UInt8])
}

/// The receive side of an MConnection as a streaming, sans-IO decoder (§1.3,
/// `MConnection.recvRoutine` + `Channel.recvPacketMsg`).
///
/// Feed bytes in pieces of any size with `feed(_:)`, then call `next()` until it returns nil.
/// Enforced like a node: the length prefix may not exceed the maximum packet size (1034 by
/// default; checked as soon as the prefix is complete), the channel must be registered, and
/// each channel's reassembled message may not exceed its `recvMessageCapacity`. Packets of
/// different channels may interleave; each channel reassembles on its own.
///
/// Divergence: a node closes the connection; this decoder throws the `MConnectionError`
/// and keeps throwing it on every later `next()`.
public struct MConnectionDecoder: Sendable {
    public let channels: ChannelTable
    public let maxPacketSize: Int

    private var pending: [UInt8] = []
    private var readIndex = 0
    /// Stream offset of `pending[0]`.
    private var pendingBase = 0
    /// Unfinished messages (no `eof` yet), one per channel that has one, in the order their
    /// first packets arrived: rarely more than one, so this stays small and cheap to copy
    /// (a 256-slot table was copied whenever a holder's copy of the decoder was mutated).
    private var partial: [(channel: UInt8, bytes: [UInt8])] = []
    /// An empty reassembly buffer kept for the next multi-packet message.
    private var spare: [UInt8] = []
    /// The largest message reassembled so far: a new reassembly buffer is made this large.
    private var largestMessage = 0
    private var failure: MConnectionError?

    public init(channels: ChannelTable = .blocksyncOnly,
                maxPacketMsgPayloadSize: Int = CometP2P.maxPacketMsgPayloadSize) {
        self.channels = channels
        self.maxPacketSize = MConnectionEncoder.maxPacketSize(forPayloadSize: maxPacketMsgPayloadSize)
    }

    /// Appends received bytes.
    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable({ feed($0) }) == nil { Array(bytes).withUnsafeBufferPointer { feed($0) } }
    }

    /// Appends received bytes (not generic: callers in other modules get a specialized copy).
    public mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        if readIndex > 0 && readIndex >= pending.count / 2 {
            pending.removeFirst(readIndex)
            pendingBase += readIndex
            readIndex = 0
        }
        pending.append(contentsOf: bytes)
    }

    /// Bytes consumed into complete packets so far (the stream offset of the next packet).
    public var consumedByteCount: Int { pendingBase + readIndex }

    /// Bytes received but not yet forming a complete packet.
    public var bufferedByteCount: Int { pending.count - readIndex }

    /// Bytes of an unfinished message (no `eof` yet) on `channel`.
    public func partialMessageByteCount(channel: UInt8) -> Int { partial.first { $0.channel == channel }?.bytes.count ?? 0 }

    /// The next event, or nil when more bytes are needed.
    public mutating func next() throws -> MConnectionEvent? {
        if let failure { throw failure }
        do {
            while let packet = try nextPacket() {
                if let event = try receive(packet.packet, at: packet.offset) { return event }
            }
            return nil
        } catch let error as MConnectionError {
            failure = error
            throw error
        }
    }

    /// Convenience: feeds `bytes` and drains every complete event.
    public mutating func decode<C: Collection>(_ bytes: C) throws -> [MConnectionEvent] where C.Element == UInt8 {
        feed(bytes)
        var events: [MConnectionEvent] = []
        while let e = try next() { events.append(e) }
        return events
    }

    private mutating func nextPacket() throws -> (packet: MConnectionPacket.View, offset: Int)? {
        let start = consumedByteCount
        let window = pending[readIndex...]
        var r = ProtoReader(window)
        let length: UInt64
        do {
            length = try r.readVarint()
        } catch ProtoError.truncated {
            return nil
        } catch {
            throw MConnectionError.lengthVarintOverflow(offset: start)
        }
        guard length < UInt64(Int.max) else { throw MConnectionError.lengthOutOfRange(offset: start, length: length) }
        guard length <= UInt64(maxPacketSize) else {
            throw MConnectionError.packetTooLarge(offset: start, length: length, max: maxPacketSize)
        }
        let header = r.offset
        guard window.count - header >= Int(length) else { return nil }
        let bodyStart = readIndex + header
        let body = pending[bodyStart..<(bodyStart + Int(length))]
        readIndex = bodyStart + Int(length)
        let packet: MConnectionPacket.View?
        do {
            packet = try MConnectionPacket.View.decode(body, baseOffset: start + header)
        } catch let e as ProtoError {
            throw MConnectionError.malformedPacket(offset: start, e)
        }
        guard let packet else { throw MConnectionError.unknownPacketType(offset: start) }
        return (packet, start)
    }

    /// `packet`'s message data is a slice of `pending`: appended to a reassembly buffer, or
    /// copied out once when it is a whole message.
    private mutating func receive(_ packet: MConnectionPacket.View, at offset: Int) throws -> MConnectionEvent? {
        switch packet {
        case .ping: return .ping
        case .pong: return .pong
        case let .msg(channelID, eof, data):
            guard (0...255).contains(channelID), let desc = channels[UInt8(channelID)] else {
                throw MConnectionError.unknownChannel(offset: offset, channelID: channelID)
            }
            let slot = partial.firstIndex { $0.channel == desc.id }
            let total = (slot.map { partial[$0].bytes.count } ?? 0) + data.count
            guard total <= desc.recvMessageCapacity else {
                throw MConnectionError.messageExceedsCapacity(
                    offset: offset, channelID: desc.id, capacity: desc.recvMessageCapacity, received: total)
            }
            // A reassembly buffer starts as large as the largest message so far (Go reuses
            // `recving[:0]`; there is no up-front recvBufferCapacity reservation per message). A
            // finished message that fills all but an eighth of its buffer is handed over in it;
            // a smaller one is copied out at its exact size and the buffer kept for the next.
            // Either way a decoded message the caller keeps holds at most an eighth spare.
            switch (slot, eof) {
            case (nil, true):
                return .message(channel: desc.id, bytes: Array(data))
            case (let slot?, true):
                var buffer = partial.remove(at: slot).bytes
                buffer.append(contentsOf: data)
                largestMessage = max(largestMessage, buffer.count)
                if buffer.capacity - buffer.count <= buffer.count / 8 { return .message(channel: desc.id, bytes: buffer) }
                var message: [UInt8] = []
                message.reserveCapacity(buffer.count)
                message.append(contentsOf: buffer)
                // Kept unless it grew well past the largest message (then the next one starts
                // from a buffer of the largest message's size, which it can be handed over in).
                buffer.removeAll(keepingCapacity: true)
                if buffer.capacity - largestMessage <= largestMessage / 8 { spare = buffer }
                return .message(channel: desc.id, bytes: message)
            case (nil, false):
                var buffer = spare
                spare = []
                buffer.reserveCapacity(largestMessage)
                buffer.append(contentsOf: data)
                partial.append((desc.id, buffer))
            case (let slot?, false):
                partial[slot].bytes.append(contentsOf: data)
            }
            return nil
        }
    }
}
