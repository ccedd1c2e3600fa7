import CometWire

// Reading the recording for the ghost peers (GhostPeers, issue 19): the rules' per-height
// facts follow from the events about that height alone, so they are read a bucket of heights
// at a time and let go of once the bucket's last event is read.

extension GhostPeers {
    /// Heights are read 1,024 to a bucket.
    static let bucketShift: Int64 = 10

    static func bucket(_ height: Int64) -> Int64 { height >> bucketShift }

    /// The height a recorded /blocksync message is about, for the rules that read heights
    /// (requests and block answers); nil for status messages.
    static func ruleHeight(_ message: BlocksyncMessage.Outline, inbound: Bool) -> Int64? {
        switch message {
        case .blockResponse(let h), .noBlockResponse(let h): return inbound ? h : nil
        case .blockRequest(let h): return inbound ? nil : h
        default: return nil
        }
    }

    /// Where the last event about each bucket of heights lies (the first pass), and which
    /// messages the later passes must decode whole.
    struct HeightBuckets {
        /// Per bucket, the index of the last event about one of its heights.
        let lastEvent: [Int64: Int]
        /// The buckets in the order their last events come.
        let finishOrder: [(lastEvent: Int, bucket: Int64)]
        /// Events whose bytes' outline differs from their decoded message's (a block that does
        /// not decode, merged oneofs): the rules read them decoded, as every message once was.
        let irregular: Set<Int>

        init(_ events: ReplayEventStream) throws(CaseError) {
            var events = events
            var last: [Int64: Int] = [:]
            var irregular: Set<Int> = []
            while let event = try events.next() {
                guard case .blocksync(_, let inbound, let bytes) = event.body else { continue }
                let decoded = (try? BlocksyncMessage.decode(bytes))?.outline
                if decoded != BlocksyncMessage.outline(of: bytes) { irregular.insert(event.index) }
                guard let decoded, let h = GhostPeers.ruleHeight(decoded, inbound: inbound) else { continue }
                last[GhostPeers.bucket(h)] = event.index
            }
            lastEvent = last
            finishOrder = last.map { ($0.value, $0.key) }.sorted { $0.lastEvent < $1.lastEvent }
            self.irregular = irregular
        }

        /// What the rules read of a recorded message (nil: it does not decode), without
        /// decoding its block unless the first pass found it irregular.
        func outline(_ index: Int, _ bytes: [UInt8]) -> BlocksyncMessage.Outline? {
            irregular.contains(index) ? (try? BlocksyncMessage.decode(bytes))?.outline : BlocksyncMessage.outline(of: bytes)
        }
    }

    /// One peer's part of a height: its requests for it, and its first answer.
    struct PeerHeight {
        var asks: [Ask] = []
        var answer: Answer?
        /// The first answer's message digest (same-instant duplicates are identical copies).
        var answerDigest: TraceMessages.Digest?

        /// The latest unanswered request (rule 3: an answer answers the latest), now answered.
        mutating func takeOpenAsk() -> Int? {
            guard let i = asks.lastIndex(where: { !$0.answered }) else { return nil }
            asks[i].answered = true
            return i
        }
    }

    /// What the recording says of one height: its first recorded copy and each peer's part.
    struct HeightRecord {
        var copy: (digest: TraceMessages.Digest, index: Int, location: UInt64)?
        var peers: [String: PeerHeight] = [:]
    }

    /// What a peer's answer or request told, for the pass that keeps whole-peer facts.
    enum Observation {
        case none
        /// `differentCopy`: the block differs from the first recorded copy of its height.
        case answered(ask: Ask, latency: UInt64?, differentCopy: Bool)
        case unsolicited
    }

    /// Reads the recording's events about heights in file order and hands over each bucket
    /// when its last event has been read; `only` restricts it to one bucket.
    struct HeightReader {
        let buckets: HeightBuckets
        let only: Int64?
        private(set) var live: [Int64: [Int64: HeightRecord]] = [:]
        private var nextFinish = 0
        /// The index of the last event read.
        private var lastRead = -1
        /// Per peer: connects so far, requests so far.
        private var connection: [String: Int] = [:]
        private var askCount: [String: Int] = [:]

        init(buckets: HeightBuckets, only: Int64? = nil) {
            self.buckets = buckets
            self.only = only
        }

        /// The connection a peer's next event belongs to (its recorded connects so far).
        func connection(of peer: String) -> Int { connection[peer, default: 0] }

        mutating func connected(_ peer: String) { connection[peer, default: 0] += 1 }

        /// A decoded /blocksync message of `event` (`height` is its `ruleHeight`).
        mutating func add(_ message: BlocksyncMessage.Outline, height h: Int64, bytes: [UInt8], from peer: String, inbound: Bool,
                          event: ReplayEvent, location: UInt64) -> Observation {
            let b = GhostPeers.bucket(h)
            if !inbound {
                let ordinal = askCount[peer, default: 0]
                askCount[peer] = ordinal + 1
                guard only == nil || only == b else { return .none }
                live[b, default: [:]][h, default: HeightRecord()].peers[peer, default: PeerHeight()]
                    .asks.append(Ask(time: event.time, connection: connection(of: peer), ordinal: ordinal))
                return .none
            }
            guard only == nil || only == b else { return .none }
            // Taken out while they change, so nothing is copied on write.
            var record = live[b]?.removeValue(forKey: h) ?? HeightRecord()
            var part = record.peers.removeValue(forKey: peer) ?? PeerHeight()
            defer {
                record.peers[peer] = part
                live[b, default: [:]][h] = record
            }
            let digest = TraceMessages.Digest(bytes)
            if case .blockResponse = message, let first = part.answer, part.answerDigest == digest, first.time == event.time {
                part.answer!.count += 1
                return .none
            }
            guard let i = part.takeOpenAsk() else {
                if case .blockResponse = message { return .unsolicited }
                return .none
            }
            let ask = part.asks[i]
            var different = false
            if case .blockResponse = message {
                if let copy = record.copy {
                    different = copy.digest != digest
                } else {
                    record.copy = (digest, event.index, location)
                }
            }
            let latency = event.time >= ask.time ? event.time - ask.time : nil
            if part.answer == nil {
                part.answer = Answer(sourceIndex: event.index, sourceLocation: location, latency: latency, time: event.time)
                part.answerDigest = digest
            }
            return .answered(ask: ask, latency: latency, differentCopy: different)
        }

        /// An event of the recording, for the passes that need only the per-height records
        /// (connects number the requests' connections).
        mutating func read(_ event: ReplayEvent, location: UInt64) {
            switch event.body {
            case .peerConnected(let peer, _): connected(peer)
            case .blocksync(let peer, let inbound, let bytes):
                if let message = buckets.outline(event.index, bytes), let h = GhostPeers.ruleHeight(message, inbound: inbound) {
                    _ = add(message, height: h, bytes: bytes, from: peer, inbound: inbound, event: event, location: location)
                }
            default: break
            }
        }

        /// Whether the event at `index` has been read (a bucket ending there was handed over).
        func hasRead(_ index: Int) -> Bool { lastRead >= index }

        /// The buckets whose last event is at or before `index` (the event just read), handed over once.
        mutating func finished(through index: Int) -> [(bucket: Int64, heights: [Int64: HeightRecord])] {
            lastRead = max(lastRead, index)
            var out: [(Int64, [Int64: HeightRecord])] = []
            let order = buckets.finishOrder
            while nextFinish < order.count, order[nextFinish].lastEvent <= index {
                let b = order[nextFinish].bucket
                nextFinish += 1
                if let heights = live.removeValue(forKey: b) { out.append((b, heights)) }
            }
            return out
        }
    }

    /// A peer's whole-recording facts while they are gathered.
    struct PeerFacts {
        var statuses: [(time: UInt64, base: Int64, height: Int64, index: Int)] = []
        /// When each connection (by number) ended, from the recorded disconnects.
        var connectionEnds: [Int: UInt64] = [:]
        /// Per connection, the latest request (by ordinal) that was answered.
        var lastAnswered: [Int: Int] = [:]
        /// Recorded latencies, each distinct value with its count (the median, the slowest).
        var latencies: [UInt64: Int] = [:]
        var servedDifferentCopy = false
        /// Heights with an unanswered request: all of the peer's requests for them, in order.
        var unanswered: [Int64: [Ask]] = [:]

        /// The ghost the rules run (rule 3's skips need the whole recording: a later answer on
        /// the same connection, the slowest answer).
        func ghost(recordingEnd: UInt64) -> Ghost {
            var ghost = Ghost()
            ghost.statuses = statuses
            let slowest = latencies.keys.max() ?? 0
            let window = max(GhostPeers.answerWindow, 2 &* slowest)
            for (h, asks) in unanswered {
                let flags = asks.map { ask in
                    guard !ask.answered else { return false }
                    let end = connectionEnds[ask.connection] ?? recordingEnd
                    return lastAnswered[ask.connection, default: -1] > ask.ordinal || end &- ask.time > window
                }
                if flags.contains(true) {
                    ghost.skipped.insert(h)
                    ghost.skips[h] = flags
                }
            }
            ghost.misbehaving = servedDifferentCopy || !ghost.skipped.isEmpty
            let count = latencies.values.reduce(0, +)
            if count > 0 {
                var seen = 0
                for value in latencies.keys.sorted() {
                    seen += latencies[value]!
                    if seen > count / 2 { ghost.medianLatency = value; break }
                }
            }
            return ghost
        }
    }

    /// The pass that gathers the whole-peer facts, letting each bucket go when it is read.
    struct GhostFacts {
        var reader: HeightReader
        var peers: [String: PeerFacts] = [:]
        var unsolicited: Set<Int> = []

        init(buckets: HeightBuckets) { reader = HeightReader(buckets: buckets) }

        mutating func add(_ event: ReplayEvent, location: UInt64) {
            switch event.body {
            case .peerConnected(let peer, _):
                reader.connected(peer)
                if peers[peer] == nil { peers[peer] = PeerFacts() }
            case .peerDisconnected(let peer, _):
                peers[peer, default: PeerFacts()].connectionEnds[reader.connection(of: peer)] = event.time
            case .blocksync(let peer, let inbound, let bytes):
                guard let message = reader.buckets.outline(event.index, bytes) else { return }
                var facts = peers.removeValue(forKey: peer) ?? PeerFacts()
                defer { peers[peer] = facts }
                if inbound, case .statusResponse(let height, let base) = message {
                    facts.statuses.append((event.time, base, height, event.index))
                }
                guard let h = GhostPeers.ruleHeight(message, inbound: inbound) else { return }
                switch reader.add(message, height: h, bytes: bytes, from: peer, inbound: inbound, event: event, location: location) {
                case .none: break
                case .unsolicited: unsolicited.insert(event.index)
                case .answered(let ask, let latency, let differentCopy):
                    if differentCopy { facts.servedDifferentCopy = true }
                    facts.lastAnswered[ask.connection] = max(facts.lastAnswered[ask.connection, default: -1], ask.ordinal)
                    if let latency { facts.latencies[latency, default: 0] += 1 }
                }
            default:
                return
            }
            finish(through: event.index)
        }

        /// Lets go of every bucket whose last event has been read, keeping its unanswered requests.
        private mutating func finish(through index: Int) {
            for (_, heights) in reader.finished(through: index) {
                for (h, record) in heights {
                    for (peer, part) in record.peers where part.asks.contains(where: { !$0.answered }) {
                        peers[peer, default: PeerFacts()].unanswered[h] = part.asks
                    }
                }
            }
        }

        mutating func finishAll() { finish(through: Int.max) }
    }

    /// The recorded answers of one height, as the rules read them during the replay.
    struct HeightAnswers {
        var copy: (index: Int, location: UInt64)?
        var answers: [String: Answer] = [:]

        init(_ record: HeightRecord) {
            copy = record.copy.map { ($0.index, $0.location) }
            for (peer, part) in record.peers { if let a = part.answer { answers[peer] = a } }
        }
    }

    /// Reads the recording again during the replay, ahead of the reactor's requests, keeping
    /// the answers of at most `capacity` buckets (the lowest are let go of first).
    struct LookAhead {
        static let capacity = 16
        let open: () throws(CaseError) -> ReplayEventStream
        let buckets: HeightBuckets
        let messages: TraceMessages
        var reader: HeightReader
        var events: ReplayEventStream?
        var started = false
        var held: [Int64: [Int64: HeightAnswers]] = [:]
        /// Buckets read again from the start after being let go of (for tests and reports).
        private(set) var rereads = 0

        init(open: @escaping () throws(CaseError) -> ReplayEventStream, buckets: HeightBuckets, messages: TraceMessages) {
            self.open = open
            self.buckets = buckets
            self.messages = messages
            reader = HeightReader(buckets: buckets)
        }

        /// What the recording says of height `h` (nil: no event about it); a read failure is
        /// reported through `messages` and reads as nothing recorded.
        mutating func height(_ h: Int64) -> HeightAnswers? {
            let b = GhostPeers.bucket(h)
            if let bucket = held[b] { return bucket[h] }
            guard let last = buckets.lastEvent[b] else { return nil }
            do throws(CaseError) {
                if !reader.hasRead(last) { try advance(until: b) }
                if let bucket = held[b] { return bucket[h] }
                // Read past and let go of: read again from the start.
                rereads += 1
                let heights = try Self.read(bucket: b, through: last, open: open, buckets: buckets)
                hold(b, heights, keeping: b)
                return heights[h].map(HeightAnswers.init)
            } catch {
                messages.fail(error.message)
                return nil
            }
        }

        private mutating func advance(until b: Int64) throws(CaseError) {
            if !started {
                started = true
                events = try open()
            }
            while held[b] == nil {
                guard let event = try events?.next() else {
                    events = nil
                    break
                }
                reader.read(event, location: events!.lastLocation)
                for (bucket, heights) in reader.finished(through: event.index) { hold(bucket, heights, keeping: b) }
            }
        }

        /// Keeps a bucket's answers; over capacity the lowest bucket other than `keep` goes.
        private mutating func hold(_ b: Int64, _ heights: [Int64: HeightRecord], keeping keep: Int64) {
            held[b] = heights.mapValues(HeightAnswers.init)
            while held.count > Self.capacity, let lowest = held.keys.filter({ $0 != keep }).min() { held[lowest] = nil }
        }

        /// One bucket read again from the start of the recording.
        static func read(bucket b: Int64, through last: Int, open: () throws(CaseError) -> ReplayEventStream,
                         buckets: HeightBuckets) throws(CaseError) -> [Int64: HeightRecord] {
            var reader = HeightReader(buckets: buckets, only: b)
            var events = try open()
            while let event = try events.next(), event.index <= last { reader.read(event, location: events.lastLocation) }
            return reader.live[b] ?? [:]
        }
    }
}
