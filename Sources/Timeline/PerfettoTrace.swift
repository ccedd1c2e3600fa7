import Replay
import JSON

/// The timeline in Chrome's trace-event JSON format (the "JSON Object Format" that
/// ui.perfetto.dev and chrome://tracing open): one process for the trace, one thread per peer,
/// one for the node and one for pivot checks; a complete event (`X`) per request → answer, an
/// instant event (`i`) per decision or peer event, and a flow (`s` → `f`) from each request to
/// the node receiving its answer. Times are microseconds from the timeline's start (the format's
/// unit; the trace's nanoseconds are truncated). Keys sorted, events in a fixed order.
public enum PerfettoTrace {
    static let pid: Int64 = 1
    static let nodeThread: Int64 = 1
    static let pivotThread: Int64 = 2
    static func peerThread(_ lane: Int) -> Int64 { Int64(lane) + 3 }

    public static func render(_ timeline: Timeline) -> String {
        var events: [JSONValue] = []
        let title = "syncreplay \(timeline.name) (\(timeline.profile), \(timeline.mode))"
        events.append(metadata("process_name", tid: nodeThread, ["name": .string(title)]))
        let threads: [(Int64, String)] = [(nodeThread, "node"), (pivotThread, "pivot")]
            + timeline.peers.enumerated().map { (peerThread($0.offset), "peer \($0.element.peer)") }
        for (tid, name) in threads {
            events.append(metadata("thread_name", tid: tid, ["name": .string(name)]))
            events.append(metadata("thread_sort_index", tid: tid, ["sort_index": .int(tid)]))
        }
        var flow: Int64 = 0
        for (lane, peer) in timeline.peers.enumerated() {
            let tid = peerThread(lane)
            for span in peer.spans {
                let start = micros(span.start, timeline)
                guard let end = span.end else {
                    events.append(instant("request \(span.height) (no answer)", cat: "request", tid: tid, ts: start,
                                          ["height": .int(span.height), "answer": .string(span.answer.rawValue)]))
                    continue
                }
                flow += 1
                let name = span.answer == .block ? "block \(span.height)" : "no block \(span.height)"
                events.append(.object(["ph": .string("X"), "pid": .int(pid), "tid": .int(tid), "ts": .int(start),
                                       "dur": .int(max(0, micros(end, timeline) - start)), "name": .string(name), "cat": .string("request"),
                                       "args": .object(["height": .int(span.height), "answer": .string(span.answer.rawValue),
                                                        "estimated": .bool(span.estimated)])]))
                events.append(.object(["ph": .string("s"), "id": .int(flow), "pid": .int(pid), "tid": .int(tid), "ts": .int(start),
                                       "name": .string("request → answer"), "cat": .string("flow")]))
                events.append(instant("received \(name)", cat: "answer", tid: nodeThread, ts: micros(end, timeline),
                                      ["height": .int(span.height), "peer": .string(peer.peer)]))
                events.append(.object(["ph": .string("f"), "bp": .string("e"), "id": .int(flow), "pid": .int(pid), "tid": .int(nodeThread),
                                       "ts": .int(micros(end, timeline)), "name": .string("request → answer"), "cat": .string("flow")]))
            }
            for mark in peer.marks {
                events.append(instant(mark.kind.rawValue, cat: "peer", tid: tid, ts: micros(mark.time, timeline), ["detail": .string(mark.detail)]))
            }
        }
        for point in timeline.node.heights {
            events.append(.object(["ph": .string("C"), "pid": .int(pid), "tid": .int(nodeThread), "ts": .int(micros(point.time, timeline)),
                                   "name": .string(timeline.node.heightsLabel), "args": .object(["height": .int(point.height)])]))
        }
        for mark in timeline.node.marks {
            events.append(instant(mark.kind.rawValue, cat: "node", tid: nodeThread, ts: micros(mark.time, timeline), ["detail": .string(mark.detail)]))
        }
        for mark in timeline.pivot {
            events.append(instant("pivot \(mark.kind.rawValue)", cat: "pivot", tid: pivotThread, ts: micros(mark.time, timeline),
                                  ["detail": .string(mark.detail), "allowed": mark.allowed.map { .bool($0) } ?? .null]))
        }
        if let d = timeline.divergence {
            events.append(instant("first divergence", cat: "golden", tid: nodeThread, ts: micros(d.time, timeline), ["detail": .string(d.detail)], scope: "g"))
        }
        var out = "{\"displayTimeUnit\":\"ms\",\"otherData\":" + JSONValue.object([
            "trace": .string(timeline.name), "profile": .string(timeline.profile), "mode": .string(timeline.mode),
            "start_ns": .uint(timeline.start),
        ]).canonical + ",\"traceEvents\":[\n"
        out += events.map(\.canonical).joined(separator: ",\n")
        out += "\n]}\n"
        return out
    }

    static func micros(_ t: UInt64, _ timeline: Timeline) -> Int64 {
        Int64(truncatingIfNeeded: (t &- timeline.start) / 1000)
    }

    static func metadata(_ name: String, tid: Int64, _ args: JSONObject) -> JSONValue {
        .object(["ph": .string("M"), "pid": .int(pid), "tid": .int(tid), "name": .string(name), "args": .object(args)])
    }

    static func instant(_ name: String, cat: String, tid: Int64, ts: Int64, _ args: JSONObject, scope: String = "t") -> JSONValue {
        .object(["ph": .string("i"), "s": .string(scope), "pid": .int(pid), "tid": .int(tid), "ts": .int(ts),
                 "name": .string(name), "cat": .string(cat), "args": .object(args)])
    }
}
