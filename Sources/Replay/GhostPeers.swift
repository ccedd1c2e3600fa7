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
///    A recorded request the peer never answered stays unanswered.
/// 4. **Blocks it was never asked for.** Blocks are the same chain whoever served them, so if
///    the peer's reported range covers h and any peer served h in the recording, the ghost
///    serves that first recorded copy after its usual latency (the median of its recorded
///    request→response latencies) — unless the recording shows the peer misbehaving (it left a
///    request unanswered, or served a block that differs from the first recorded copy), in
///    which case it stays silent. When no copy of h exists the ghost stays silent (it cannot
///    invent a block; the reactor's timeouts take over). Outside the reported range it answers
///    `NoBlockResponse`, as a real node lacking the block does.
/// 5. **Latency.** With no recorded request→response pair, a ghost's latency is
///    `defaultLatency` (10 ms virtual).
///
/// Recorded inbound `BlockResponse`/`NoBlockResponse`s are not replayed as such in reactive
/// mode; they only feed these rules. Requests the peers sent to the node are replayed as
/// recorded.
public struct GhostPeers: Sendable {
    public static let defaultLatency: UInt64 = 10_000_000

    /// A recorded answer: the message bytes, the event that carried it, and its latency.
    struct Answer: Sendable {
        var message: [UInt8]
        var sourceIndex: Int
        var latency: UInt64?
    }

    struct Ghost: Sendable {
        /// Recorded (time, base, height, event index) status reports, in order.
        var statuses: [(time: UInt64, base: Int64, height: Int64, index: Int)] = []
        /// First recorded answer per height.
        var answers: [Int64: Answer] = [:]
        /// Heights the node asked this peer for, with the first request time.
        var asked: [Int64: UInt64] = [:]
        var latencies: [UInt64] = []
        var misbehaving = false
        var medianLatency: UInt64 = GhostPeers.defaultLatency
    }

    var ghosts: [String: Ghost] = [:]
    /// First recorded copy of each height (message bytes and source event).
    var copies: [Int64: (message: [UInt8], index: Int)] = [:]

    /// Builds the model from the recording.
    public init(events: [ReplayEvent]) {
        for event in events {
            guard case .blocksync(let peer, let inbound, let bytes) = event.body,
                  let message = try? BlocksyncMessage.decode(bytes) else { continue }
            var ghost = ghosts[peer] ?? Ghost()
            if inbound {
                switch message {
                case .statusResponse(let height, let base):
                    ghost.statuses.append((event.time, base, height, event.index))
                case .blockResponse(let block, _):
                    let h = block.header.height
                    if let copy = copies[h] {
                        if copy.message != bytes { ghost.misbehaving = true }
                    } else {
                        copies[h] = (bytes, event.index)
                    }
                    record(&ghost, height: h, bytes: bytes, index: event.index, time: event.time)
                case .noBlockResponse(let h):
                    record(&ghost, height: h, bytes: bytes, index: event.index, time: event.time)
                default: break
                }
            } else if case .blockRequest(let h) = message, ghost.asked[h] == nil {
                ghost.asked[h] = event.time
            }
            ghosts[peer] = ghost
        }
        for (peer, var ghost) in ghosts {
            if ghost.asked.keys.contains(where: { ghost.answers[$0] == nil }) { ghost.misbehaving = true }
            if !ghost.latencies.isEmpty {
                let sorted = ghost.latencies.sorted()
                ghost.medianLatency = sorted[sorted.count / 2]
            }
            ghosts[peer] = ghost
        }
    }

    private func record(_ ghost: inout Ghost, height: Int64, bytes: [UInt8], index: Int, time: UInt64) {
        guard ghost.answers[height] == nil else { return }
        var latency: UInt64?
        if let asked = ghost.asked[height], time >= asked {
            latency = time - asked
            ghost.latencies.append(time - asked)
        }
        ghost.answers[height] = Answer(message: bytes, sourceIndex: index, latency: latency)
    }

    /// A reply a ghost will deliver: message bytes, delay, and the recorded event it copies.
    public struct Reply: Equatable, Sendable {
        public var message: [UInt8]
        public var delay: UInt64
        public var sourceIndex: Int?

        public init(message: [UInt8], delay: UInt64, sourceIndex: Int?) {
            self.message = message
            self.delay = delay
            self.sourceIndex = sourceIndex
        }
    }

    /// The ghost's answer to `message` sent to `peer` at virtual time `time` (rules 2–5).
    public func answer(_ message: BlocksyncMessage, to peer: String, at time: UInt64) -> Reply? {
        guard let ghost = ghosts[peer] else { return nil }
        switch message {
        case .statusRequest:
            guard let status = ghost.statuses.last(where: { $0.time <= time }) ?? ghost.statuses.first else { return nil }
            return Reply(message: BlocksyncMessage.statusResponse(height: status.height, base: status.base).encode(),
                         delay: ghost.medianLatency, sourceIndex: status.index)
        case .blockRequest(let h):
            if let recorded = ghost.answers[h] {
                return Reply(message: recorded.message, delay: recorded.latency ?? ghost.medianLatency, sourceIndex: recorded.sourceIndex)
            }
            if ghost.asked[h] != nil || ghost.misbehaving { return nil }
            guard let status = ghost.statuses.last(where: { $0.time <= time }) ?? ghost.statuses.first else { return nil }
            if h >= status.base && h <= status.height {
                guard let copy = copies[h] else { return nil }
                return Reply(message: copy.message, delay: ghost.medianLatency, sourceIndex: copy.index)
            }
            return Reply(message: BlocksyncMessage.noBlockResponse(height: h).encode(), delay: ghost.medianLatency, sourceIndex: nil)
        default:
            return nil
        }
    }
}
