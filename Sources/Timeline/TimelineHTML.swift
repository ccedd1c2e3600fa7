import Replay
import JSON

/// The timeline as one self-contained HTML page: inline CSS, inline SVG drawn by a little inline
/// JavaScript from the model embedded as JSON, no network (a Content-Security-Policy forbids
/// every fetch). Zoom and pan on the time axis; hover a span or mark for its details.
///
/// **Element budget.** At any zoom each lane draws at most one element per `TimelinePage.bucket`
/// pixels for its spans and as many for its marks (≈ 300 each at the default 1,400 px width):
/// when more spans or marks are visible, those falling in one bucket are drawn as a single
/// aggregate whose hover gives their count, heights and slowest answer. The node's height line
/// is one polyline of at most two points per pixel. A 10,000-block trace with 8 peers thus draws
/// a few thousand elements, not 30,000.
public enum TimelineHTML {
    public static func render(_ timeline: Timeline) -> String {
        var page = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>syncreplay timeline: \(Markup.html(timeline.name))</title>
        <style>\(TimelinePage.css)</style>
        </head>
        <body data-network-violations="0">
        <header>
        <h1>\(Markup.html(timeline.name))</h1>
        <dl id="facts">
        <dt>profile</dt><dd id="profile">\(Markup.html(timeline.profile))</dd>
        <dt>mode</dt><dd id="mode">\(Markup.html(timeline.mode))</dd>
        <dt>span</dt><dd>\(Markup.html(VirtualTime.format(timeline.end &- timeline.start)))</dd>
        <dt>peers</dt><dd>\(timeline.peers.count)</dd>
        <dt>requests</dt><dd>\(timeline.peers.reduce(0) { $0 + $1.spans.count })</dd>
        <dt>\(Markup.html(timeline.node.heightsLabel))</dt><dd>\(timeline.node.heights.last.map { String($0.height) } ?? "none")</dd>
        </dl>
        </header>

        """
        if let d = timeline.divergence {
            page += "<p id=\"divergence\" class=\"divergence-note\">First divergence from the golden at \(Markup.html(VirtualTime.format(d.time &- timeline.start))): \(Markup.html(d.detail))</p>\n"
        }
        page += """
        <nav id="controls">
        <button id="zoom-in" type="button" title="zoom in (+)">+</button>
        <button id="zoom-out" type="button" title="zoom out (−)">−</button>
        <button id="zoom-reset" type="button" title="whole trace (0)">whole trace</button>
        <span id="window"></span>
        <span class="hint">Wheel or +/− to zoom, drag or ←/→ to pan; hover for details.</span>
        </nav>
        \(TimelinePage.legend)
        <div id="chart"><svg id="timeline" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="sync timeline"></svg></div>
        <noscript><p>The timeline is drawn by the page's inline script; enable JavaScript to see it.</p></noscript>
        <script type="application/json" id="timeline-data">\(data(timeline))</script>
        <script>\(TimelinePage.script)</script>
        </body>
        </html>

        """
        return page
    }

    /// The model as compact JSON for the page's script: times relative to `start` (ns, exact in
    /// a JavaScript number up to 104 days), spans as flat number arrays.
    static func data(_ t: Timeline) -> String {
        func rel(_ time: UInt64) -> JSONValue { .uint(time &- t.start) }
        func marks(_ ms: [LaneMark]) -> JSONValue {
            .array(ms.map { .array([rel($0.time), .string($0.kind.rawValue), .string($0.detail)]) })
        }
        let peers: [JSONValue] = t.peers.map { lane in
            var flat: [JSONValue] = []
            flat.reserveCapacity(lane.spans.count * 4)
            for s in lane.spans {
                let answer: Int64 = switch s.answer { case .block: 0; case .noBlock: 1; case .none: 2 }
                flat += [rel(s.start), s.end.map(rel) ?? .int(-1), .int(s.height), .int(answer + (s.estimated ? 4 : 0))]
            }
            return .object(["id": .string(lane.peer), "spans": .array(flat), "marks": marks(lane.marks)])
        }
        let heights: [JSONValue] = t.node.heights.flatMap { [rel($0.time), JSONValue.int($0.height)] }
        let pivot: [JSONValue] = t.pivot.map {
            .array([rel($0.time), .string($0.kind.rawValue), .int($0.allowed.map { $0 ? 1 : 0 } ?? -1), .string($0.detail)])
        }
        let json = JSONValue.object([
            "name": .string(t.name), "profile": .string(t.profile), "mode": .string(t.mode), "start_ns": .uint(t.start),
            "end": rel(t.end), "peers": .array(peers),
            "node": .object(["label": .string(t.node.heightsLabel), "heights": .array(heights), "marks": marks(t.node.marks)]),
            "pivot": .array(pivot),
            "divergence": t.divergence.map { .object(["t": rel($0.time), "detail": .string($0.detail)]) } ?? .null,
        ]).canonical
        // Inside <script>, "</" would end the element; in JSON it can only occur inside a string.
        return json.replacingOccurrences(of: "</", with: "<\\/")
    }
}
