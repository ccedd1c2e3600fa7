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
///
/// **How the model is held (issue 19).** What the rules need of one height — its first
/// recorded copy, each peer's first answer to a request for it — follows from the events about
/// that height alone, so heights are read in buckets of 1,024 (`HeightBuckets`). A first pass
/// finds where the last event about each bucket lies; a second (`GhostFacts`) keeps only what
/// holds for a whole peer (statuses, misbehaviour, skipped requests, latencies) and lets each
/// bucket go once its last event is read; during the replay a look-ahead (`LookAhead`) reads the
/// recording again ahead of the reactor's requests and keeps the answers of the buckets it
/// reached, at most `LookAhead.capacity` of them. Memory is thus bounded by how far apart the
/// events about one height lie in the recording, not by its length; a bucket let go of and asked
/// for again is read again from the start (exact, slower). What grows with the recording: the
/// statuses, one entry per distinct latency, and the recorded misbehaviour (skipped or
/// unanswered requests, unsolicited blocks).
public struct GhostPeers {
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

    /// One recorded request from the node to a peer.
    struct Ask: Sendable {
        var time: UInt64
        /// Connection of the peer it was made on (counts the peer's recorded connects).
        var connection: Int
        /// Its place among all the requests made to the peer.
        var ordinal: Int
        var answered = false
    }

    /// What the rules need of a peer as a whole, after the whole recording was read.
    struct Ghost {
        /// Recorded (time, base, height, event index) status reports, in order.
        var statuses: [(time: UInt64, base: Int64, height: Int64, index: Int)] = []
        /// Heights the peer skipped at least once (rule 3).
        var skipped: Set<Int64> = []
        /// Per skipped height, whether each recorded request for it (in order) was skipped
        /// (heights never skipped have no entry).
        var skips: [Int64: [Bool]] = [:]
        var misbehaving = false
        var medianLatency: UInt64 = GhostPeers.defaultLatency

        /// The latest status recorded at or before `time`, else the first (rule 2); statuses are
        /// in time order, so a binary search (a scan grew with the recording).
        func status(at time: UInt64) -> (time: UInt64, base: Int64, height: Int64, index: Int)? {
            var lo = 0, hi = statuses.count  // first index with a later time
            while lo < hi {
                let mid = (lo + hi) / 2
                if statuses[mid].time <= time { lo = mid + 1 } else { hi = mid }
            }
            return lo > 0 ? statuses[lo - 1] : statuses.first
        }
    }

    var ghosts: [String: Ghost] = [:]
    /// Requests the replayed reactor has made so far, per peer and height (rule 3 counts).
    var requestsSeen: [String: [Int64: Int]] = [:]
    /// Where the answers' messages are read from.
    let messages: TraceMessages
    /// Events carrying unsolicited block responses (rule 6), delivered as recorded.
    public private(set) var unsolicited: Set<Int> = []
    /// The recorded answers, read ahead of the reactor's requests.
    var lookAhead: LookAhead

    /// Buckets of recorded answers the look-ahead holds now (at most `LookAhead.capacity`).
    public var bucketsHeld: Int { lookAhead.held.count }
    /// Buckets the look-ahead read again from the start, after letting them go.
    public var bucketsReadAgain: Int { lookAhead.rereads }

    /// Builds the model from the recording.
    public init(events: [ReplayEvent]) {
        let messages = TraceMessages(events: events)
        // In memory the events cannot fail to read.
        try! self.init(open: { ReplayEventStream(events: events) }, recordingEnd: events.last?.time ?? 0, messages: messages)
    }

    /// Builds the model from the recording, read in file order by streams `open` makes (two
    /// passes now, and the look-ahead's during the replay); `recordingEnd` is the last event's time.
    init(open: @escaping () throws(CaseError) -> ReplayEventStream, recordingEnd: UInt64, messages: TraceMessages) throws(CaseError) {
        self.messages = messages
        let buckets = try HeightBuckets(open())
        var facts = GhostFacts(buckets: buckets)
        var events = try open()
        while let event = try events.next() { facts.add(event, location: events.lastLocation) }
        facts.finishAll()
        unsolicited = facts.unsolicited
        for (peer, peerFacts) in facts.peers {
            ghosts[peer] = peerFacts.ghost(recordingEnd: recordingEnd)
        }
        lookAhead = LookAhead(open: open, buckets: buckets, messages: messages)
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
            guard let status = ghost.status(at: time) else { return nil }
            return Reply(message: BlocksyncMessage.statusResponse(height: status.height, base: status.base).encode(),
                         delay: ghost.medianLatency, sourceIndex: status.index)
        case .blockRequest(let h):
            // Requests are counted only for heights the peer skipped: elsewhere the count decides nothing.
            if let skips = ghost.skips[h] {
                let n = requestsSeen[peer, default: [:]][h, default: 0]
                requestsSeen[peer, default: [:]][h] = n + 1
                if n < skips.count, skips[n] { return nil }
            }
            let recording = lookAhead.height(h)
            if let recorded = recording?.answers[peer] {
                return Reply(message: messages.bytes(at: recorded.sourceLocation, for: "\(peer)'s answer for height \(h)") ?? [], delay: recorded.latency ?? ghost.medianLatency, sourceIndex: recorded.sourceIndex,
                             sourceLocation: recorded.sourceLocation, count: recorded.count)
            }
            if ghost.skipped.contains(h) || ghost.misbehaving { return nil }
            guard let status = ghost.status(at: time) else { return nil }
            if h >= status.base && h <= status.height {
                guard let copy = recording?.copy else { return nil }
                return Reply(message: messages.bytes(at: copy.location, for: "the first copy of height \(h)") ?? [], delay: ghost.medianLatency, sourceIndex: copy.index, sourceLocation: copy.location)
            }
            return Reply(message: BlocksyncMessage.noBlockResponse(height: h).encode(), delay: ghost.medianLatency, sourceIndex: nil)
        default:
            return nil
        }
    }
}
