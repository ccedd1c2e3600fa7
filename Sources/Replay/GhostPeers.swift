import CometWire

/// Reactive-mode peers modelled from a trace (DESIGN.md §3, "ghost peers"). Each peer that
/// appears in the trace becomes a ghost that answers whatever the reactor under test asks,
/// by these rules (also in README "Replay and golden files"):
///
/// 1. **Presence.** A ghost connects and disconnects at the recorded times. A ghost the reactor
///    disconnected stays gone. Replies due after a disconnect are dropped.
/// 2. **Status.** Recorded `StatusResponse`s from the peer are delivered at their recorded
///    times (they are the peer's range over time). A `StatusRequest` from the reactor is
///    answered with the peer's latest recorded range at that time (the first recorded one if
///    none is recorded yet); a peer that never reported a range does not answer.
/// 3. **Blocks the peer was asked for in the recording.** The ghost answers a request for
///    height h exactly as the peer answered its first recorded request for h: the same
///    `BlockResponse` bytes or a `NoBlockResponse`, after the recorded latency for that height.
///    Identical copies the peer sent at the same instant (duplicate responses) are sent as
///    many times: recorded misbehaviour is reproduced, not cleaned up. A request the peer
///    **skipped** (left unanswered while answering a later request on the same connection,
///    or for longer than `answerWindow` — 1 s, or twice its slowest recorded answer — before
///    the connection or the recording ended) is reproduced by count: the n-th request for h
///    goes unanswered when the peer skipped its n-th recorded request for h (a request lost
///    once, then served, tm #9518), and a height it skipped and never served stays silent. A
///    request merely cut off by a disconnect or by the end of the recording is not skipped.
/// 4. **Blocks it was never asked for.** Blocks are the same chain whoever served them, so if
///    the peer's reported range covers h and any peer served h in the recording, the ghost
///    serves that first recorded copy after its usual latency (the median of its recorded
///    request→response latencies) — unless the recording shows the peer misbehaving (it
///    skipped a request, or served a block that differs from the first recorded copy), in
///    which case it stays silent. When no copy of h exists the ghost stays silent (it cannot
///    invent a block; the reactor's timeouts take over). Outside the reported range it answers
///    `NoBlockResponse`, as a real node lacking the block does.
/// 5. **Latency.** With no recorded request→response pair, a ghost's latency is
///    `defaultLatency` (10 ms virtual).
/// 6. **Unsolicited blocks.** A `BlockResponse` the peer sent on its own initiative — no
///    request for that height was outstanding to it, and it is not a same-instant duplicate —
///    is delivered as recorded, at its recorded time: it answers nothing, so no rule can
///    derive it from the reactor's requests.
///
/// Other recorded inbound `BlockResponse`/`NoBlockResponse`s are not replayed as such in
/// reactive mode; they only feed these rules. Requests the peers sent to the node are replayed
/// as recorded.
public struct GhostPeers: Sendable {
    public static let defaultLatency: UInt64 = 10_000_000
    /// An unanswered request older than this (or twice the peer's slowest recorded answer)
    /// when its connection or the recording ended was skipped, not cut off (rule 3).
    public static let answerWindow: UInt64 = 1_000_000_000

    /// A recorded answer: where its message lies (read again when the ghost answers, issue 19),
    /// the event that carried it, and its latency.
    struct Answer: Sendable {
        var sourceIndex: Int
        /// The source event's `ReplayEventStream.lastLocation`.
        var sourceLocation: UInt64
        var latency: UInt64?
        var time: UInt64
        /// How many identical copies the peer sent at that instant (rule 3).
        var count = 1
    }

    /// One recorded request from the node to the peer.
    struct Ask: Sendable {
        var height: Int64
        var time: UInt64
        /// Connection of the peer it was made on (counts the peer's recorded connects).
        var connection: Int
        var answered = false
    }

    struct Ghost: Sendable {
        /// Recorded (time, base, height, event index) status reports, in order.
        var statuses: [(time: UInt64, base: Int64, height: Int64, index: Int)] = []
        /// First recorded answer per height.
        var answers: [Int64: Answer] = [:]
        /// Their messages' digests (while building: same-instant duplicates are identical copies).
        var answerDigests: [Int64: TraceMessages.Digest] = [:]
        var asks: [Ask] = []
        /// Per height, the indices in `asks` of its unanswered requests, oldest first: the
        /// latest one is the request an answer answers (a lookup, not a scan: issue 19).
        var openAsks: [Int64: [Int]] = [:]
        /// Heights the peer skipped at least once (rule 3).
        var skipped: Set<Int64> = []
        /// Per skipped height, whether each recorded request for it (in order) was skipped
        /// (heights never skipped have no entry).
        var skips: [Int64: [Bool]] = [:]
        var connection = 0
        /// When each connection (by number) ended, from the recorded disconnects.
        var connectionEnds: [Int: UInt64] = [:]
        var latencies: [UInt64] = []
        var misbehaving = false
        var medianLatency: UInt64 = GhostPeers.defaultLatency

        /// The latest unanswered request for `height` (its index in `asks`), now answered.
        mutating func takeOpenAsk(height: Int64) -> Int? {
            guard let i = openAsks[height]?.popLast() else { return nil }
            if openAsks[height]!.isEmpty { openAsks[height] = nil }
            return i
        }
    }

    var ghosts: [String: Ghost] = [:]
    /// Requests the replayed reactor has made so far, per peer and height (rule 3 counts).
    var requestsSeen: [String: [Int64: Int]] = [:]
    /// First recorded copy of each height (its digest, source event and location).
    var copies: [Int64: (digest: TraceMessages.Digest, index: Int, location: UInt64)] = [:]
    /// Where the answers' messages are read from.
    let messages: TraceMessages
    /// Events carrying unsolicited block responses (rule 6), delivered as recorded.
    public private(set) var unsolicited: Set<Int> = []

    /// Builds the model from the recording.
    public init(events: [ReplayEvent]) {
        messages = TraceMessages(events: events)
        for event in events { add(event, location: UInt64(event.index)) }
        finish(recordingEnd: events.last?.time ?? 0)
    }

    /// Builds the model from the recording read once, in file order (a streamed trace's
    /// look-ahead pass, issue 19); `recordingEnd` is the last event's time.
    init(events: ReplayEventStream, recordingEnd: UInt64, messages: TraceMessages) throws(CaseError) {
        self.messages = messages
        var events = events
        while let event = try events.next() { add(event, location: events.lastLocation) }
        finish(recordingEnd: recordingEnd)
    }

    private mutating func add(_ event: ReplayEvent, location: UInt64) {
            if case .peerConnected(let peer, _) = event.body {
                ghosts[peer, default: Ghost()].connection += 1
                return
            }
            if case .peerDisconnected(let peer, _) = event.body {
                let connection = ghosts[peer, default: Ghost()].connection
                ghosts[peer]!.connectionEnds[connection] = event.time
                return
            }
            guard case .blocksync(let peer, let inbound, let bytes) = event.body,
                  let message = try? BlocksyncMessage.decode(bytes) else { return }
            // Taken out of the dictionary while it changes, so its arrays are not copied on
            // every event (issue 19: that copy made building the model quadratic).
            var ghost = ghosts.removeValue(forKey: peer) ?? Ghost()
            if inbound {
                switch message {
                case .statusResponse(let height, let base):
                    ghost.statuses.append((event.time, base, height, event.index))
                case .blockResponse(let block, _):
                    let h = block.header.height
                    let digest = TraceMessages.Digest(bytes)
                    if let first = ghost.answers[h], ghost.answerDigests[h] == digest, first.time == event.time {
                        ghost.answers[h]!.count += 1
                    } else if let ask = ghost.takeOpenAsk(height: h) {
                        if let copy = copies[h] {
                            if copy.digest != digest { ghost.misbehaving = true }
                        } else {
                            copies[h] = (digest, event.index, location)
                        }
                        ghost.asks[ask].answered = true
                        record(&ghost, height: h, bytes: bytes, index: event.index, location: location, time: event.time,
                               askedAt: ghost.asks[ask].time)
                    } else {
                        unsolicited.insert(event.index)
                    }
                case .noBlockResponse(let h):
                    if let ask = ghost.takeOpenAsk(height: h) {
                        ghost.asks[ask].answered = true
                        record(&ghost, height: h, bytes: bytes, index: event.index, location: location, time: event.time,
                               askedAt: ghost.asks[ask].time)
                    }
                default: break
                }
            } else if case .blockRequest(let h) = message {
                ghost.openAsks[h, default: []].append(ghost.asks.count)
                ghost.asks.append(Ask(height: h, time: event.time, connection: ghost.connection))
            }
            ghosts[peer] = ghost
    }

    private mutating func finish(recordingEnd: UInt64) {
        for (peer, var ghost) in ghosts {
            let window = max(Self.answerWindow, 2 &* (ghost.latencies.max() ?? 0))
            var answeredLater = Set<Int>()
            var skippedAsk = [Bool](repeating: false, count: ghost.asks.count)
            for (i, ask) in ghost.asks.enumerated().reversed() {
                if !ask.answered {
                    let end = ghost.connectionEnds[ask.connection] ?? recordingEnd
                    if answeredLater.contains(ask.connection) || end &- ask.time > window {
                        ghost.skipped.insert(ask.height)
                        skippedAsk[i] = true
                    }
                }
                if ask.answered { answeredLater.insert(ask.connection) }
            }
            for (i, ask) in ghost.asks.enumerated() where ghost.skipped.contains(ask.height) {
                ghost.skips[ask.height, default: []].append(skippedAsk[i])
            }
            if !ghost.skipped.isEmpty { ghost.misbehaving = true }
            if !ghost.latencies.isEmpty {
                let sorted = ghost.latencies.sorted()
                ghost.medianLatency = sorted[sorted.count / 2]
            }
            // What only building needed (issue 19: the model's memory while replaying).
            ghost.asks = []
            ghost.answerDigests = [:]
            ghost.openAsks = [:]
            ghost.latencies = []
            ghost.connectionEnds = [:]
            ghosts[peer] = ghost
        }
    }

    private func record(_ ghost: inout Ghost, height: Int64, bytes: [UInt8], index: Int, location: UInt64, time: UInt64, askedAt: UInt64) {
        let latency = time >= askedAt ? time - askedAt : nil
        if let latency { ghost.latencies.append(latency) }
        guard ghost.answers[height] == nil else { return }
        ghost.answers[height] = Answer(sourceIndex: index, sourceLocation: location, latency: latency, time: time)
        ghost.answerDigests[height] = TraceMessages.Digest(bytes)
    }

    /// A reply a ghost will deliver: message bytes, delay, and the recorded event it copies.
    public struct Reply: Equatable, Sendable {
        public var message: [UInt8]
        public var delay: UInt64
        public var sourceIndex: Int?
        /// Where the recorded event lies (`ReplayEventStream.lastLocation`), when it copies one.
        public var sourceLocation: UInt64?
        /// How many times the ghost sends it (more than once only for recorded duplicates).
        public var count: Int

        public init(message: [UInt8], delay: UInt64, sourceIndex: Int?, sourceLocation: UInt64? = nil, count: Int = 1) {
            self.message = message
            self.sourceLocation = sourceLocation
            self.delay = delay
            self.sourceIndex = sourceIndex
            self.count = count
        }
    }

    /// The ghost's answer to `message` sent to `peer` at virtual time `time` (rules 2–5).
    public mutating func answer(_ message: BlocksyncMessage, to peer: String, at time: UInt64) -> Reply? {
        guard let ghost = ghosts[peer] else { return nil }
        switch message {
        case .statusRequest:
            guard let status = ghost.statuses.last(where: { $0.time <= time }) ?? ghost.statuses.first else { return nil }
            return Reply(message: BlocksyncMessage.statusResponse(height: status.height, base: status.base).encode(),
                         delay: ghost.medianLatency, sourceIndex: status.index)
        case .blockRequest(let h):
            // Requests are counted only for heights the peer skipped: elsewhere the count decides nothing.
            if let skips = ghost.skips[h] {
                let n = requestsSeen[peer, default: [:]][h, default: 0]
                requestsSeen[peer, default: [:]][h] = n + 1
                if n < skips.count, skips[n] { return nil }
            }
            if let recorded = ghost.answers[h] {
                return Reply(message: messages.bytes(at: recorded.sourceLocation, for: "\(peer)'s answer for height \(h)") ?? [], delay: recorded.latency ?? ghost.medianLatency, sourceIndex: recorded.sourceIndex,
                             sourceLocation: recorded.sourceLocation, count: recorded.count)
            }
            if ghost.skipped.contains(h) || ghost.misbehaving { return nil }
            guard let status = ghost.statuses.last(where: { $0.time <= time }) ?? ghost.statuses.first else { return nil }
            if h >= status.base && h <= status.height {
                guard let copy = copies[h] else { return nil }
                return Reply(message: messages.bytes(at: copy.location, for: "the first copy of height \(h)") ?? [], delay: ghost.medianLatency, sourceIndex: copy.index, sourceLocation: copy.location)
            }
            return Reply(message: BlocksyncMessage.noBlockResponse(height: h).encode(), delay: ghost.medianLatency, sourceIndex: nil)
        default:
            return nil
        }
    }
}
