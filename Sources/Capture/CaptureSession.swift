import CometP2P
import SyncTrace

/// Bad input to the capture tool, one line each, naming the file and place.
public enum CaptureError: Error, Equatable, Sendable, CustomStringConvertible {
    case badKeyLog(line: Int, reason: String)
    case badNodeSelector(String)
    case streamDecode(offset: Int, what: String, reason: String)
    case badForkEvents(path: String, line: Int, reason: String)
    case badConfluxLog(path: String, line: Int, reason: String)
    case badStartState(path: String, reason: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .badKeyLog(line, reason): return "key log line \(line): \(reason)"
        case let .badNodeSelector(text):
            return "bad --node '\(text)': expected ADDR:PORT (e.g. 10.0.0.1:26656, [::1]:26656) or a 40-hex-digit node id"
        case let .streamDecode(offset, what, reason): return "\(what) at stream byte \(offset): \(reason)"
        case let .badForkEvents(path, line, reason): return "\(path) line \(line): \(reason)"
        case let .badConfluxLog(path, line, reason): return "\(path) line \(line): \(reason)"
        case let .badStartState(path, reason): return "\(path): \(reason)"
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        }
    }
}

/// Which endpoint is the node under test (`--node`).
public enum NodeSelector: Sendable, Equatable {
    /// Its listening address. Matches that endpoint, and the dialing side of connections whose
    /// NodeInfo announces the same listen port on the same address.
    case endpoint(Endpoint)
    case nodeID(String)

    public init(parsing text: String) throws {
        let lower = text.lowercased()
        if lower.count == 40, lower.allSatisfy({ $0.isHexDigit }) {
            self = .nodeID(lower)
        } else if let endpoint = Endpoint(parsing: text) {
            self = .endpoint(endpoint)
        } else {
            throw CaptureError.badNodeSelector(text)
        }
    }
}

/// Running totals for progress lines on stderr.
public struct CaptureProgress: Sendable, Equatable {
    public var packets = 0
    public var bytes: UInt64 = 0
    public var tcpSegments = 0
    public var skippedFrames = 0
    public var malformedFrames = 0
    public var connections = 0
    public var messages = 0
}

/// What the capture found on one connection (the end-of-run summary).
public struct ConnectionSummary: Sendable, Equatable {
    public var name: String
    /// The peer of the node under test (or "A <-> B" when the node is on neither side).
    public var peer: String
    public var encrypted: Bool?
    /// Reassembled bytes client→server and server→client.
    public var bytes: [UInt64]
    public var messages: Int
    public var blocksyncMessages: Int
    public var gaps: Int
    public var gapBytes: UInt64
    public var retransmittedSegments: Int
    /// "decoded", or why not.
    public var status: String
}

/// A trace event with its capture time.
public struct TimedEvent: Sendable, Equatable {
    public var logTime: UInt64
    public var event: TraceEvent
    public init(logTime: UInt64, event: TraceEvent) { self.logTime = logTime; self.event = event }
}

/// The result of a capture: the node under test, events in replay order, and per-connection summaries.
public struct CaptureResult: Sendable {
    /// Node id (or endpoint when no id was seen) of the node under test; nil when no connection was seen.
    public var node: String?
    public var nodeInfo: NodeInfo?
    public var events: [TimedEvent]
    public var summaries: [ConnectionSummary]
}

/// The capture pipeline without I/O: frames or segments in, trace events out (DESIGN.md §5).
///
/// Everything is kept until `finish()`, because the default node under test (the endpoint present
/// in the most connections) is only known at the end. Memory is the decoded messages, not the bytes.
public struct CaptureSession: Sendable {
    public let keyLog: KeyLog
    public let nodeSelector: NodeSelector?
    public private(set) var progress = CaptureProgress()
    private var tracker: ConnectionTracker
    private var states: [ConnectionState] = []
    private var log: [LogEntry] = []
    /// Whether some entry was logged after one of a later step (a batch of frames read late):
    /// `finish` then puts the log in step order.
    private var logOutOfOrder = false
    /// The number of the next capture step (`CaptureStamp`).
    private var nextStep: UInt64 = 0
    private var lastTime: UInt64 = 0
    private let frameOpening: FrameBatchOpening
    /// The tracker's events for one segment, reused from segment to segment (empty between calls).
    private var segmentEvents: [ConnectionEvent] = []

    struct ConnectionState: Sendable {
        var decoder: ConnectionDecoder
        var authenticated: [String?] = [nil, nil]
        var nodeInfo: [NodeInfo?] = [nil, nil]
        var messages = 0
        var blocksync = 0
        var gaps = 0
        var closedAt: UInt64?
        var reset = false
    }

    struct LogEntry: Sendable {
        var stamp: CaptureStamp
        var connection: Int
        var direction: FlowDirection
        var item: DecodedItem
    }

    /// `frameOpening`: where SecretConnection frames are opened (`FramesOpenedAhead` for a
    /// second core); the trace is the same either way.
    public init(keyLog: KeyLog = KeyLog(), node: NodeSelector? = nil, maxBufferedBytes: Int = 4 << 20,
                frameOpening: FrameBatchOpening = FramesOpenedInPlace()) {
        self.keyLog = keyLog
        self.nodeSelector = node
        self.frameOpening = frameOpening
        self.tracker = ConnectionTracker(maxBufferedBytes: maxBufferedBytes)
    }

    /// Feeds one captured frame.
    public mutating func add(frame: [UInt8], linkType: Int32, timestampNanos: UInt64, originalLength: Int? = nil) {
        progress.packets += 1
        progress.bytes &+= UInt64(frame.count)
        switch PacketParser.parse(frame: frame, linkType: linkType, timestampNanos: timestampNanos, originalLength: originalLength) {
        case .success(let segment): add(segment: segment)
        case .failure(.malformed): progress.malformedFrames += 1
        case .failure: progress.skippedFrames += 1
        }
    }

    /// Feeds one TCP segment.
    public mutating func add(segment: TCPSegment) {
        progress.tcpSegments += 1
        lastTime = max(lastTime, segment.timestampNanos)
        var events = segmentEvents
        segmentEvents = []
        let opened = tracker.add(segment, into: &events)
        if let opened {
            let connection = tracker.connections[opened]
            states.append(ConnectionState(decoder: ConnectionDecoder(keyLog: keyLog, midStream: connection.midStream, opening: frameOpening)))
            progress.connections += 1
        }
        handle(events)
        while events.popLast() != nil {}  // keeps the capacity (cheaper than removeAll(keepingCapacity:))
        segmentEvents = events
    }

    private mutating func handle(_ events: [ConnectionEvent]) {
        for e in events {
            let c = e.connection
            switch e.event {
            case let .data(_, bytes, t):
                record(states[c].decoder.feed(bytes, direction: e.direction, at: stamp(t)), connection: c)
            case let .gap(_, count, t):
                record(states[c].decoder.gap(count, direction: e.direction, at: stamp(t)), connection: c)
            case let .closed(reset, t):
                record(states[c].decoder.end(direction: e.direction, at: stamp(t)), connection: c)
                if tracker.connections[c].isClosed, states[c].closedAt == nil {
                    states[c].closedAt = t
                    states[c].reset = reset
                }
            }
        }
    }

    /// The next step's stamp.
    private mutating func stamp(_ time: UInt64) -> CaptureStamp {
        defer { nextStep += 1 }
        return CaptureStamp(step: nextStep, timeNanos: time)
    }

    private mutating func record(_ items: [StampedItem], connection c: Int) {
        for entry in items {
            let direction = entry.direction
            switch entry.item {
            case .authenticated(let id): states[c].authenticated[direction.rawValue] = id
            case .nodeInfo(let info): states[c].nodeInfo[direction.rawValue] = info
            case .message(let channel, _):
                states[c].messages += 1
                progress.messages += 1
                if channel == ChannelDescriptor.blocksyncChannelID { states[c].blocksync += 1 }
            case .stopped(let reason, _, _):
                if reason == .gap { states[c].gaps += 1 }
            }
            if let last = log.last, Self.order(last) > Self.order(entry.stamp, direction) { logOutOfOrder = true }
            log.append(LogEntry(stamp: entry.stamp, connection: c, direction: direction, item: entry.item))
        }
    }

    /// Log order: by step, then client-to-server before server-to-client (the decoder's order
    /// within a step), then as logged.
    private static func order(_ stamp: CaptureStamp, _ direction: FlowDirection) -> (UInt64, Int) {
        (stamp.step, direction.rawValue)
    }

    private static func order(_ entry: LogEntry) -> (UInt64, Int) { order(entry.stamp, entry.direction) }

    /// Puts the log in step order (stable), if batches read late left it out of order.
    private mutating func orderLog() {
        guard logOutOfOrder else { return }
        var keys = log.indices.map { i in (order: Self.order(log[i]), index: i) }
        keys.sort { a, b in a.order != b.order ? a.order < b.order : a.index < b.index }
        log = keys.map { log[$0.index] }
        logOutOfOrder = false
    }

    /// Ends the capture and builds the trace events (without the `/node` event, which needs the
    /// start state: see `TraceAssembler`).
    public mutating func finish() -> CaptureResult {
        handle(tracker.finish(timestampNanos: lastTime))
        for c in states.indices {
            for direction in FlowDirection.allCases where !states[c].decoder.isStopped(direction) {
                record(states[c].decoder.end(direction: direction, at: stamp(lastTime)), connection: c)
            }
        }
        orderLog()
        // Each connection's first stop, in log order, for its summary.
        var firstStops = [Int?](repeating: nil, count: states.count)
        for (i, entry) in log.enumerated() where firstStops[entry.connection] == nil {
            if case .stopped = entry.item { firstStops[entry.connection] = i }
        }
        let connections = tracker.connections
        // Identity of each side: authenticated id, else NodeInfo id, else the address.
        func identity(_ c: Int, _ side: FlowDirection) -> String {
            states[c].authenticated[side.rawValue] ?? states[c].nodeInfo[side.rawValue]?.nodeID
                ?? connections[c].sender(side).description
        }
        let nodeIdentity = chooseNode(connections: connections, identity: identity)
        // The side (as sender direction) of each connection that is the node under test.
        var nodeSide: [FlowDirection?] = []
        for c in connections.indices {
            nodeSide.append(FlowDirection.allCases.first { side in
                matches(c, side, connections: connections, identity: identity, node: nodeIdentity)
            })
        }
        var events: [TimedEvent] = []
        var summaries: [ConnectionSummary] = []
        var nodeInfo: NodeInfo?
        for c in connections.indices {
            let conn = connections[c]
            let state = states[c]
            if let side = nodeSide[c] {
                nodeInfo = nodeInfo ?? state.nodeInfo[side.rawValue]
                let peerSide = side.reversed
                events.append(TimedEvent(logTime: conn.firstSeenNanos, event: .p2p(PeerRecord(
                    peerID: identity(c, peerSide), address: conn.sender(peerSide).description,
                    outbound: side == .clientToServer, kind: .connected,
                    reason: conn.midStream ? "connection already open when the capture started" : ""))))
            }
            if conn.midStream {
                let total = conn.streams.reduce(UInt64(0)) { $0 &+ $1.counters.deliveredBytes }
                events.append(TimedEvent(logTime: conn.firstSeenNanos, event: .capture(CaptureRecord(
                    kind: .undecodable, connection: conn.name, direction: nil, byteCount: total,
                    detail: "connection already open when the capture started (no handshake seen): not decoded"))))
            }
        }
        var dropped: [Int: Int] = [:]
        for entry in log {
            let c = entry.connection
            let conn = connections[c]
            let side = nodeSide[c]
            let relative: TraceDirection? = side.map { entry.direction == $0 ? .outbound : .inbound }
            switch entry.item {
            case let .message(channel, bytes) where channel == ChannelDescriptor.blocksyncChannelID:
                if let side, let relative {
                    events.append(TimedEvent(logTime: entry.stamp.timeNanos, event: .blocksync(BlocksyncRecord(
                        peerID: identity(c, side.reversed), direction: relative, message: bytes))))
                } else {
                    dropped[c, default: 0] += 1
                }
            case let .stopped(reason, count, detail):
                let kind: CaptureKind = switch reason { case .gap: .gap; case .decodeError: .decodeError; case .undecodable: .undecodable }
                let after = states[c].decoder.undecodedBytes[entry.direction.rawValue]
                let byteCount = reason == .gap ? count : after
                let fullDetail = reason == .gap && after > 0 ? detail + "; \(after) later bytes not decoded" : detail
                events.append(TimedEvent(logTime: entry.stamp.timeNanos, event: .capture(CaptureRecord(
                    kind: kind, connection: conn.name + " " + (entry.direction == .clientToServer ? "client->server" : "server->client"),
                    direction: relative, byteCount: byteCount, detail: fullDetail))))
            default:
                break
            }
        }
        for c in connections.indices {
            let conn = connections[c], state = states[c]
            if let side = nodeSide[c], let closed = state.closedAt {
                events.append(TimedEvent(logTime: closed, event: .p2p(PeerRecord(
                    peerID: identity(c, side.reversed), address: conn.sender(side.reversed).description,
                    outbound: side == .clientToServer, kind: .disconnected,
                    reason: state.reset ? "connection reset (RST)" : "connection closed (FIN)"))))
            }
            if let count = dropped[c] {
                events.append(TimedEvent(logTime: conn.lastSeenNanos, event: .capture(CaptureRecord(
                    kind: .dropped, connection: conn.name, direction: nil, byteCount: 0,
                    detail: "\(count) blocksync messages not kept: neither side is the node under test (\(nodeIdentity ?? "none"))"))))
            }
            summaries.append(summary(c, conn: conn, nodeSide: nodeSide[c], firstStop: firstStops[c], identity: identity))
        }
        // The capture covers the node until its last packet: replay runs up to there (then drains).
        if !connections.isEmpty {
            events.append(TimedEvent(logTime: lastTime, event: .capture(CaptureRecord(
                kind: .end, detail: "capture ended: last packet seen"))))
        }
        // Replay order: by time; same time keeps pipeline order. Sorts (time, index) keys, not
        // the events themselves (each moved event is a whole decoded message record).
        var keys: [(time: UInt64, index: Int)] = events.indices.map { i in (events[i].logTime, i) }
        keys.sort { a, b in a.time != b.time ? a.time < b.time : a.index < b.index }
        let ordered: [TimedEvent] = keys.map { key in events[key.index] }
        return CaptureResult(node: nodeIdentity, nodeInfo: nodeInfo, events: ordered, summaries: summaries)
    }

    private func summary(_ c: Int, conn: CapturedConnection, nodeSide: FlowDirection?, firstStop: Int?,
                         identity: (Int, FlowDirection) -> String) -> ConnectionSummary {
        let state = states[c]
        let peer = nodeSide.map { identity(c, $0.reversed) }
            ?? "\(identity(c, .clientToServer)) <-> \(identity(c, .serverToClient))"
        var status = "decoded"
        if conn.midStream {
            status = "not decoded: mid-stream (handshake not captured)"
        } else if let firstStop, case let .stopped(reason, _, detail) = log[firstStop].item {
            status = "\(reason.rawValue): \(detail)"
        }
        return ConnectionSummary(
            name: conn.name, peer: peer, encrypted: state.decoder.encrypted,
            bytes: conn.streams.map(\.counters.deliveredBytes), messages: state.messages,
            blocksyncMessages: state.blocksync, gaps: state.gaps,
            gapBytes: conn.streams.reduce(0) { $0 &+ $1.counters.gapBytes },
            retransmittedSegments: conn.streams.reduce(0) { $0 + $1.counters.retransmittedSegments },
            status: status)
    }

    /// `--node`, or the default: the identity present in the most connections, ties to the one that
    /// was the listening side more often, then the smallest identity (deterministic).
    private func chooseNode(connections: [CapturedConnection], identity: (Int, FlowDirection) -> String) -> String? {
        if let nodeSelector {
            switch nodeSelector {
            case .nodeID(let id): return id
            case .endpoint(let endpoint):
                // Prefer the id seen on that endpoint, so outbound connections match too.
                for c in connections.indices where connections[c].server == endpoint {
                    let id = identity(c, .serverToClient)
                    if id != endpoint.description { return id }
                }
                return endpoint.description
            }
        }
        var counts: [String: (connections: Int, listening: Int)] = [:]
        for c in connections.indices {
            let client = identity(c, .clientToServer), server = identity(c, .serverToClient)
            counts[client, default: (0, 0)].connections += 1
            counts[server, default: (0, 0)].connections += 1
            counts[server, default: (0, 0)].listening += 1
        }
        return counts.sorted { a, b in
            if a.value.connections != b.value.connections { return a.value.connections > b.value.connections }
            if a.value.listening != b.value.listening { return a.value.listening > b.value.listening }
            return a.key < b.key
        }.first?.key
    }

    private func matches(_ c: Int, _ side: FlowDirection, connections: [CapturedConnection],
                         identity: (Int, FlowDirection) -> String, node: String?) -> Bool {
        guard let node else { return false }
        if identity(c, side) == node { return true }
        if case .endpoint(let endpoint)? = nodeSelector {
            let sender = connections[c].sender(side)
            if sender == endpoint { return true }
            // The node dialing out: same address, NodeInfo announcing the same listen port.
            if sender.address == endpoint.address, let info = states[c].nodeInfo[side.rawValue],
               info.listenAddr.hasSuffix(":\(endpoint.port)") { return true }
        }
        return false
    }
}
