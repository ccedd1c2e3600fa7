/// Which way bytes flow within one TCP connection.
public enum FlowDirection: Int, Sendable, Hashable, CaseIterable {
    /// From the dialing side (sent the SYN) to the listening side.
    case clientToServer = 0
    case serverToClient = 1

    public var reversed: FlowDirection { self == .clientToServer ? .serverToClient : .clientToServer }
}

/// One TCP connection: its two endpoints, roles and a reassembler per direction.
public struct CapturedConnection: Sendable {
    /// Index in order of first appearance (connection numbers in summaries and `/capture` events).
    public let index: Int
    /// The dialing side. For a mid-stream connection, a guess: the endpoint with the higher port.
    public let client: Endpoint
    public let server: Endpoint
    /// The SYN was not seen: roles are guessed and the handshake is missing.
    public let midStream: Bool
    public let firstSeenNanos: UInt64
    public var lastSeenNanos: UInt64
    public internal(set) var streams: [TCPStreamReassembler]
    /// Initial sequence number of the client's SYN, to tell a new connection on a reused 4-tuple.
    let clientISN: UInt32?

    public func sender(_ direction: FlowDirection) -> Endpoint { direction == .clientToServer ? client : server }
    public func receiver(_ direction: FlowDirection) -> Endpoint { direction == .clientToServer ? server : client }
    public func stream(_ direction: FlowDirection) -> TCPStreamReassembler { streams[direction.rawValue] }
    public var isClosed: Bool { streams.allSatisfy(\.isClosed) }
    /// "#3 10.0.0.1:51234->10.0.0.2:26656", the name used in `/capture` events.
    public var name: String { "#\(index) \(client)->\(server)" }
}

/// A stream event of one direction of one connection.
public struct ConnectionEvent: Sendable, Equatable {
    public var connection: Int
    public var direction: FlowDirection
    public var event: StreamEvent
}

/// Demultiplexes TCP segments into connections and directions (sans-IO).
///
/// Roles come from the handshake: the sender of a SYN without ACK is the client. A connection seen
/// without its SYN is mid-stream; its listening side is guessed as the endpoint with the lower port
/// (ties: the lower address), since P2P listeners use fixed low ports and dialers ephemeral ones.
/// A new SYN on a 4-tuple whose connection is closed, or with a different initial sequence number,
/// starts a new connection.
public struct ConnectionTracker: Sendable {
    public private(set) var connections: [CapturedConnection] = []
    private var active: [PairKey: Int] = [:]
    /// The last two (source, destination) pairs looked up in `active` (both directions of the
    /// connection in progress, usually), with their connection and direction: most segments
    /// skip hashing both endpoints. Emptied whenever `active` changes.
    private var recent: [(source: Endpoint, destination: Endpoint, index: Int, direction: FlowDirection)] = []
    /// One segment's stream events, reused from segment to segment (empty between calls).
    private var streamEvents: [StreamEvent] = []
    public let maxBufferedBytes: Int

    public init(maxBufferedBytes: Int = 4 << 20) {
        self.maxBufferedBytes = maxBufferedBytes
    }

    private struct PairKey: Hashable, Sendable {
        var low: Endpoint
        var high: Endpoint
        init(_ a: Endpoint, _ b: Endpoint) {
            if a < b { low = a; high = b } else { low = b; high = a }
        }
    }

    /// Feeds one segment; returns the stream events it releases. `opened` is set when the segment
    /// started a new connection.
    public mutating func add(_ segment: TCPSegment) -> (opened: Int?, events: [ConnectionEvent]) {
        var events: [ConnectionEvent] = []
        let opened = add(segment, into: &events)
        return (opened, events)
    }

    /// `add(_:)` appending the events to `events` (a caller's reused array: no arrays per
    /// segment); returns the index of the connection the segment opened, if any.
    mutating func add(_ segment: TCPSegment, into events: inout [ConnectionEvent]) -> Int? {
        let isOpeningSYN = segment.flags.contains(.syn) && !segment.flags.contains(.ack)
        if !isOpeningSYN,
           let hit = recent.first(where: { $0.source == segment.source && $0.destination == segment.destination }) {
            deliver(segment, to: hit.index, hit.direction, into: &events)
            return nil
        }
        let key = PairKey(segment.source, segment.destination)
        var opened: Int?
        var index = active[key]
        if let existing = index, isOpeningSYN {
            let connection = connections[existing]
            if connection.isClosed || (connection.clientISN != nil && connection.clientISN != segment.sequence)
                || connection.clientISN == nil {
                index = nil
            }
        }
        if index == nil {
            let client: Endpoint, server: Endpoint
            let midStream: Bool
            if segment.flags.contains(.syn) {
                midStream = false
                if segment.flags.contains(.ack) { client = segment.destination; server = segment.source } else {
                    client = segment.source; server = segment.destination
                }
            } else {
                midStream = true
                let (a, b) = (segment.source, segment.destination)
                let aListens = a.port < b.port || (a.port == b.port && a < b)
                client = aListens ? b : a
                server = aListens ? a : b
            }
            let new = CapturedConnection(
                index: connections.count, client: client, server: server, midStream: midStream,
                firstSeenNanos: segment.timestampNanos, lastSeenNanos: segment.timestampNanos,
                streams: [TCPStreamReassembler(maxBufferedBytes: maxBufferedBytes),
                          TCPStreamReassembler(maxBufferedBytes: maxBufferedBytes)],
                clientISN: isOpeningSYN ? segment.sequence : nil)
            connections.append(new)
            index = new.index
            active[key] = new.index
            recent = []
            opened = new.index
        }
        guard let index else { return opened }
        let direction: FlowDirection = segment.source == connections[index].client ? .clientToServer : .serverToClient
        recent.insert((segment.source, segment.destination, index, direction), at: 0)
        if recent.count > 2 { recent.removeLast() }
        deliver(segment, to: index, direction, into: &events)
        return opened
    }

    /// Feeds `segment` to its connection's reassembler for `direction`.
    private mutating func deliver(_ segment: TCPSegment, to index: Int, _ direction: FlowDirection,
                                  into events: inout [ConnectionEvent]) {
        connections[index].lastSeenNanos = max(connections[index].lastSeenNanos, segment.timestampNanos)
        connections[index].streams[direction.rawValue].add(segment, events: &streamEvents)
        for event in streamEvents { events.append(ConnectionEvent(connection: index, direction: direction, event: event)) }
        while streamEvents.popLast() != nil {}  // keeps the capacity
        // A reset ends both directions.
        if segment.flags.contains(.rst) {
            let other = direction.reversed
            events += connections[index].streams[other.rawValue].reset(timestampNanos: segment.timestampNanos).map { ConnectionEvent(connection: index, direction: other, event: $0) }
        }
    }

    /// Ends the capture: every open stream flushes its buffered data (holes become gaps).
    public mutating func finish(timestampNanos: UInt64) -> [ConnectionEvent] {
        var events: [ConnectionEvent] = []
        for index in connections.indices {
            for direction in FlowDirection.allCases {
                events += connections[index].streams[direction.rawValue].finish(timestampNanos: timestampNanos).map {
                    ConnectionEvent(connection: index, direction: direction, event: $0)
                }
            }
        }
        return events
    }
}
