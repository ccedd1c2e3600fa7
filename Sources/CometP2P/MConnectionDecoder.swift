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
    private var reassembly: [[UInt8]?]
    private var failure: MConnectionError?

    public init(channels: ChannelTable = .blocksyncOnly,
                maxPacketMsgPayloadSize: Int = CometP2P.maxPacketMsgPayloadSize) {
        self.channels = channels
        self.maxPacketSize = MConnectionEncoder.maxPacketSize(forPayloadSize: maxPacketMsgPayloadSize)
        self.reassembly = Array(repeating: nil, count: 256)
    }

    /// Appends received bytes.
    public mutating func feed<C: Collection>(_ bytes: C) where C.Element == UInt8 {
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
    public func partialMessageByteCount(channel: UInt8) -> Int { reassembly[Int(channel)]?.count ?? 0 }

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

    private mutating func nextPacket() throws -> (packet: MConnectionPacket, offset: Int)? {
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
        let packet: MConnectionPacket?
        do {
            packet = try MConnectionPacket.decode(body, baseOffset: start + header)
        } catch let e as ProtoError {
            throw MConnectionError.malformedPacket(offset: start, e)
        }
        guard let packet else { throw MConnectionError.unknownPacketType(offset: start) }
        return (packet, start)
    }

    private mutating func receive(_ packet: MConnectionPacket, at offset: Int) throws -> MConnectionEvent? {
        switch packet {
        case .ping: return .ping
        case .pong: return .pong
        case .msg(let m):
            guard (0...255).contains(m.channelID), let desc = channels[UInt8(m.channelID)] else {
                throw MConnectionError.unknownChannel(offset: offset, channelID: m.channelID)
            }
            let id = Int(m.channelID)
            let have = reassembly[id]?.count ?? 0
            let total = have + m.data.count
            guard total <= desc.recvMessageCapacity else {
                throw MConnectionError.messageExceedsCapacity(
                    offset: offset, channelID: desc.id, capacity: desc.recvMessageCapacity, received: total)
            }
            if m.eof {
                var message = reassembly[id] ?? []
                reassembly[id] = nil
                message.append(contentsOf: m.data)
                return .message(channel: desc.id, bytes: message)
            }
            var buffer: [UInt8]
            if let existing = reassembly[id] {
                buffer = existing
                reassembly[id] = nil  // keep the buffer uniquely referenced while appending
            } else {
                buffer = []
                buffer.reserveCapacity(min(desc.recvBufferCapacity, desc.recvMessageCapacity))
            }
            buffer.append(contentsOf: m.data)
            reassembly[id] = buffer
            return nil
        }
    }
}
