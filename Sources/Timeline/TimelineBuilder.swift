import CometWire
import HexCoding
import Replay
import SyncMachine

/// Builds a `Timeline` from a loaded trace, and from a replay's decision log when there is one.
/// Peers keep their order of first appearance; dictionaries are used for look-ups only, never
/// iterated, so the model (and every byte drawn from it) follows the trace's order.
public enum TimelineBuilder {
    /// What the recording shows (`--recorded`): the node's requests and the peers' answers as
    /// recorded, `/p2p` events, and the highest contiguous height the node had received (the
    /// trace does not record what the node applied). The node's own disconnects are decisions,
    /// not recorded events, so removals and bans appear only in a replay.
    public static func recorded(trace: ReplayTrace, name: String) -> Timeline {
        var lanes = Lanes()
        var open: [Key: [Int]] = [:]  // requests awaiting an answer, per peer and height
        var received = ContiguousHeight(from: trace.node?.storeHeight ?? 0)
        var nodeMarks: [LaneMark] = []
        var pivot: [PivotMark] = []
        for event in trace.events {
            switch event.body {
            case .blocksync(let peer, let inbound, let bytes):
                let lane = lanes.index(of: peer)
                guard let message = try? BlocksyncMessage.decode(bytes) else {
                    lanes.mark(lane, LaneMark(time: event.time, kind: .undecodable, detail: "\(inbound ? "from" : "to") peer: \(bytes.count) bytes that do not decode (event #\(event.index))"))
                    continue
                }
                if !inbound {
                    switch message {
                    case .blockRequest(let h):
                        open[Key(peer, h), default: []].append(lanes.addSpan(lane, RequestSpan(height: h, start: event.time, end: nil, answer: .none)))
                    case .blockResponse(let block, _):
                        lanes.mark(lane, LaneMark(time: event.time, kind: .served, detail: "node sent block \(block.header.height)"))
                    case .noBlockResponse(let h):
                        lanes.mark(lane, LaneMark(time: event.time, kind: .served, detail: "node had no block \(h)"))
                    case .statusRequest, .statusResponse: break
                    }
                    continue
                }
                switch message {
                case .blockResponse(let block, _):
                    let h = block.header.height
                    if let i = open[Key(peer, h)]?.first {
                        open[Key(peer, h)]!.removeFirst()
                        lanes.answer(lane, span: i, at: event.time, .block)
                    } else {
                        lanes.mark(lane, LaneMark(time: event.time, kind: .unsolicited, detail: "block \(h) nobody asked this peer for"))
                    }
                    received.add(h)
                    received.note(at: event.time)
                case .noBlockResponse(let h):
                    if let i = open[Key(peer, h)]?.first {
                        open[Key(peer, h)]!.removeFirst()
                        lanes.answer(lane, span: i, at: event.time, .noBlock)
                    }
                    lanes.mark(lane, LaneMark(time: event.time, kind: .noBlockResponse, detail: "no block \(h)"))
                case .statusResponse(let h, let base):
                    lanes.mark(lane, LaneMark(time: event.time, kind: .status, detail: "status base \(base), height \(h)"))
                case .blockRequest, .statusRequest: break
                }
            case .peerConnected, .peerDisconnected:
                lanes.peerEvent(event)
            case .pivotSwitch(let forkAt, let meHeight, _, let branch, let observed):
                pivot.append(PivotMark(time: event.time, kind: .switch, allowed: observed.allowed,
                                       detail: "switch fork_at \(forkAt), me_height \(meHeight), \(branch.count) branch hashes; observed \(observed.rawValue)"))
            case .pivotExtend(let height, _, let observed):
                pivot.append(PivotMark(time: event.time, kind: .extend, allowed: observed.allowed,
                                       detail: "extend height \(height); observed \(observed.rawValue)"))
            case .capture(let kind, let detail):
                nodeMarks.append(LaneMark(time: event.time, kind: .capture, detail: detail.isEmpty ? kind : "\(kind): \(detail)"))
            case .node: break
            }
        }
        return Timeline(name: name, source: .recorded, start: trace.events.first?.time ?? 0, end: trace.events.last?.time ?? 0,
                        peers: lanes.lanes,
                        node: NodeLane(heights: received.points, heightsLabel: "highest contiguous block received", marks: nodeMarks),
                        pivot: pivot, divergence: nil)
    }

    /// What our reactor did under `profile`: requests, responses, removals, bans, applied
    /// blocks, verify failures, the switch and pivot checks from the decision log; connects,
    /// disconnects, status reports and NoBlockResponses from the trace. A request's answer time:
    /// strict — the peer's next recorded answer for that height (inbound messages are delivered
    /// as recorded); reactive — the request's time plus the peer's recorded latency for that
    /// height (the ghost peers' rule 3), or, when the peer never answered that height but some
    /// peer served it, plus the peer's median latency (rule 4), marked `estimated`; none
    /// otherwise. The timeline approximates the ghosts from the trace, without rule 4's
    /// misbehaviour exceptions: the replay's log does not carry the ghosts' deliveries.
    public static func replayed(trace: ReplayTrace, name: String, decisions: [Decision], profile: ProfileName?,
                                mode: ReplayMode, divergence: DivergenceMark? = nil) -> Timeline {
        var lanes = Lanes()
        let recorded = RecordedAnswers(trace: trace)
        var consumed: [Key: Int] = [:]
        for event in trace.events {
            switch event.body {
            case .peerConnected, .peerDisconnected: lanes.peerEvent(event)
            case .blocksync(let peer, true, let bytes):
                let lane = lanes.index(of: peer)
                switch try? BlocksyncMessage.decode(bytes) {
                case .noBlockResponse(let h)?:
                    lanes.mark(lane, LaneMark(time: event.time, kind: .noBlockResponse, detail: "no block \(h) (recorded)"))
                case .statusResponse(let h, let base)?:
                    lanes.mark(lane, LaneMark(time: event.time, kind: .status, detail: "status base \(base), height \(h)"))
                case nil:
                    lanes.mark(lane, LaneMark(time: event.time, kind: .undecodable, detail: "\(bytes.count) bytes that do not decode (event #\(event.index))"))
                default: break
                }
            default: break
            }
        }
        var heights: [HeightPoint] = []
        var nodeMarks: [LaneMark] = []
        var pivot: [PivotMark] = []
        // The latest scheduler_fail mark: its index in nodeMarks, reason and how many it stands for.
        var schedulerFail: (index: Int, reason: String, count: Int)?
        for d in decisions {
            let cause = describe(d.cause)
            switch d.action {
            case .request(let peer, let h):
                let lane = lanes.index(of: peer)
                let key = Key(peer, h)
                var span = RequestSpan(height: h, start: d.time, end: nil, answer: .none)
                switch mode {
                case .strict:
                    let answers = recorded.answers[key] ?? []
                    var i = consumed[key] ?? 0
                    while i < answers.count && answers[i].time < d.time { i += 1 }
                    if i < answers.count {
                        span.end = answers[i].time
                        span.answer = answers[i].answer
                        consumed[key] = i + 1
                    }
                case .reactive:
                    if let first = recorded.latency[key] {
                        span.end = d.time &+ first.latency
                        span.answer = first.answer
                        span.estimated = true
                    } else if recorded.served.contains(h), let median = recorded.medianLatency(of: peer) {
                        span.end = d.time &+ median
                        span.answer = .block
                        span.estimated = true
                    }
                }
                _ = lanes.addSpan(lane, span)
            case .respond(let peer, let h, let found):
                lanes.mark(lanes.index(of: peer), LaneMark(time: d.time, kind: .served, detail: found ? "node sent block \(h)" : "node had no block \(h)"))
            case .peerRemoved(let peer, let reason):
                lanes.mark(lanes.index(of: peer), LaneMark(time: d.time, kind: .removed, detail: "removed: \(reason) (\(cause))"))
            case .peerBanned(let peer, let reason):
                lanes.mark(lanes.index(of: peer), LaneMark(time: d.time, kind: .banned, detail: "banned: \(reason) (\(cause))"))
            case .verifyFailed(let hs, let peers, let reason):
                nodeMarks.append(LaneMark(time: d.time, kind: .verifyFailed,
                                          detail: "verify failed, heights \(hs.map(String.init).joined(separator: ", ")), peers \(peers.joined(separator: ", ")): \(reason)"))
            case .blockApplied(let h, _):
                heights.append(HeightPoint(time: d.time, height: h))
            case .switchToBlockSync(let h):
                nodeMarks.append(LaneMark(time: d.time, kind: .switchToBlockSync, detail: "state sync hands over: block sync from height \(h) (\(cause))"))
            case .switchToConsensus(let h):
                nodeMarks.append(LaneMark(time: d.time, kind: .switchToConsensus, detail: "switch to consensus at height \(h) (\(cause))"))
            case .statusRequest: break
            case .reactorPanic(let message):
                nodeMarks.append(LaneMark(time: d.time, kind: .reactorPanic, detail: "reactor panic: \(message) (\(cause))"))
            case .schedulerFail(let reason):
                if var run = schedulerFail, run.reason == reason, run.index == nodeMarks.count - 1 {
                    run.count += 1
                    nodeMarks[run.index].detail = "scheduler failure: \(reason) (\(run.count)× in a row over \(VirtualTime.format(d.time &- nodeMarks[run.index].time)))"
                    schedulerFail = run
                } else {
                    schedulerFail = (nodeMarks.count, reason, 1)
                    nodeMarks.append(LaneMark(time: d.time, kind: .schedulerFail, detail: "scheduler failure: \(reason) (\(cause))"))
                }
            case .pivotSwitch(let forkAt, let meHeight, let check, let section, let allowed, let reason):
                pivot.append(PivotMark(time: d.time, kind: .switch, allowed: allowed,
                                       detail: "switch fork_at \(forkAt), me_height \(meHeight): \(allowed ? "allowed" : "denied"), \(reason.rawValue)"
                                           + (section.map { ", section \($0.rawValue)" } ?? "") + (check.map { ", check height \($0)" } ?? "")))
            case .pivotExtend(let height, let allowed, let reason):
                pivot.append(PivotMark(time: d.time, kind: .extend, allowed: allowed,
                                       detail: "extend height \(height): \(allowed ? "allowed" : "denied"), \(reason.rawValue)"))
            case .hintDisabled(let page, let error):
                pivot.append(PivotMark(time: d.time, kind: .hintDisabled, allowed: nil, detail: "hint disabled by page \(page): \(error)"))
            case .unknown(let forkAt, let meHeight, let h):
                pivot.append(PivotMark(time: d.time, kind: .unknown, allowed: nil,
                                       detail: "switch fork_at \(forkAt), me_height \(meHeight): the trace has no hash at height \(h)"))
            case .observedMismatch(let check, let height, let observed, let decided, let reason):
                pivot.append(PivotMark(time: d.time, kind: .observedMismatch, allowed: decided,
                                       detail: "\(check.rawValue) at height \(height): the real node logged \(PivotCheck.verdict(observed)), "
                                           + "the validator decided \(PivotCheck.verdict(decided)) (\(reason.rawValue))"))
            case .outboundExtra(let peer, let message):
                lanes.mark(lanes.index(of: peer), LaneMark(time: d.time, kind: .outboundExtra, detail: "sent but not in the recording: \(message)"))
            case .outboundMissing(let peer, let message):
                lanes.mark(lanes.index(of: peer), LaneMark(time: d.time, kind: .outboundMissing, detail: "recorded but not sent: \(message)"))
            }
        }
        lanes.sortMarks()
        nodeMarks.sort { $0.time < $1.time }
        let times = trace.events.map(\.time) + decisions.map(\.time) + lanes.lanes.flatMap { $0.spans.compactMap(\.end) }
        return Timeline(name: name, source: .replay(profile: profile?.rawValue ?? "none", mode: mode.rawValue),
                        start: times.min() ?? 0, end: times.max() ?? 0, peers: lanes.lanes,
                        node: NodeLane(heights: heights, heightsLabel: "applied height", marks: nodeMarks),
                        pivot: pivot, divergence: divergence)
    }

    static func describe(_ cause: DecisionCause) -> String {
        switch cause {
        case .event(let i): return "event #\(i)"
        case .timer(let name): return "timer \(name)"
        }
    }
}

/// The golden's first divergence as a timeline marker.
extension DivergenceMark {
    public init?(report: DivergenceReport) {
        guard let cause = report.cause else { return nil }
        self.init(time: cause.time, detail: report.oneLine)
    }
}

extension ObservedOutcome {
    var allowed: Bool? {
        switch self {
        case .allowed: return true
        case .denied: return false
        case .unknown: return nil
        }
    }
}

/// (peer, height): the key of a request and its answer.
struct Key: Hashable {
    var peer: String
    var height: Int64
    init(_ peer: String, _ height: Int64) {
        self.peer = peer
        self.height = height
    }
}

/// The peers' recorded answers, for placing a replayed request's answer in time.
struct RecordedAnswers {
    /// Every recorded answer from the peer for the height, in trace order.
    var answers: [Key: [(time: UInt64, answer: RequestSpan.Answer)]] = [:]
    /// The peer's first recorded answer for the height, timed from the latest request for it
    /// before the answer (the one it answered; ghost rule 3).
    var latency: [Key: (latency: UInt64, answer: RequestSpan.Answer)] = [:]

    /// Heights some peer served a block for.
    var served: Set<Int64> = []
    /// Every recorded request → answer latency, per peer.
    var latencies: [String: [UInt64]] = [:]

    func medianLatency(of peer: String) -> UInt64? {
        guard let all = latencies[peer], !all.isEmpty else { return nil }
        return all.sorted()[all.count / 2]
    }

    init(trace: ReplayTrace) {
        var asked: [Key: UInt64] = [:]
        for event in trace.events {
            guard case .blocksync(let peer, let inbound, let bytes) = event.body,
                  let message = try? BlocksyncMessage.decode(bytes) else { continue }
            switch (inbound, message) {
            case (false, .blockRequest(let h)):
                asked[Key(peer, h)] = event.time
            case (true, .blockResponse(let block, _)):
                served.insert(block.header.height)
                record(Key(peer, block.header.height), event.time, .block, asked: asked)
            case (true, .noBlockResponse(let h)):
                record(Key(peer, h), event.time, .noBlock, asked: asked)
            default: break
            }
        }
    }

    mutating func record(_ key: Key, _ time: UInt64, _ answer: RequestSpan.Answer, asked: [Key: UInt64]) {
        answers[key, default: []].append((time, answer))
        guard let at = asked[key], time >= at else { return }
        latencies[key.peer, default: []].append(time - at)
        if latency[key] == nil { latency[key] = (time - at, answer) }
    }
}

/// The highest height `h` such that every height from the start to `h` was received.
struct ContiguousHeight {
    var height: Int64
    var pending: Set<Int64> = []
    var points: [HeightPoint] = []
    private var grew = false

    init(from height: Int64) { self.height = height }

    /// Adds a received height.
    mutating func add(_ h: Int64) {
        guard h > height else { return }
        pending.insert(h)
        let before = height
        while pending.remove(height + 1) != nil { height += 1 }
        grew = grew || height > before
    }

    mutating func note(at time: UInt64) {
        guard grew else { return }
        points.append(HeightPoint(time: time, height: height))
        grew = false
    }
}

/// Peer lanes in order of first appearance.
struct Lanes {
    var lanes: [PeerLane] = []
    private var position: [String: Int] = [:]

    mutating func index(of peer: String) -> Int {
        if let i = position[peer] { return i }
        position[peer] = lanes.count
        lanes.append(PeerLane(peer: peer, spans: [], marks: []))
        return lanes.count - 1
    }

    mutating func addSpan(_ lane: Int, _ span: RequestSpan) -> Int {
        lanes[lane].spans.append(span)
        return lanes[lane].spans.count - 1
    }

    mutating func answer(_ lane: Int, span: Int, at time: UInt64, _ answer: RequestSpan.Answer) {
        lanes[lane].spans[span].end = time
        lanes[lane].spans[span].answer = answer
    }

    mutating func mark(_ lane: Int, _ mark: LaneMark) { lanes[lane].marks.append(mark) }

    mutating func peerEvent(_ event: ReplayEvent) {
        switch event.body {
        case .peerConnected(let peer, let outbound):
            mark(index(of: peer), LaneMark(time: event.time, kind: .connected, detail: "connected (\(outbound ? "outbound" : "inbound"))"))
        case .peerDisconnected(let peer, let reason):
            mark(index(of: peer), LaneMark(time: event.time, kind: .disconnected, detail: "disconnected" + (reason.isEmpty ? "" : ": \(reason)")))
        default: break
        }
    }

    /// Trace marks and decision marks merged by time (stable: trace first at equal times).
    mutating func sortMarks() {
        for i in lanes.indices {
            let ordered = lanes[i].marks.enumerated().sorted { a, b in
                a.element.time != b.element.time ? a.element.time < b.element.time : a.offset < b.offset
            }
            lanes[i].marks = ordered.map(\.element)
        }
    }
}
