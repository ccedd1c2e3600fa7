/// The fixed parts of the timeline page: style, legend and script (see `TimelineHTML`).
enum TimelinePage {
    /// Pixels per aggregate bucket: the element budget (README "Timeline").
    static let bucket = 4

    static let css = """
    body{font:13px/1.4 system-ui,sans-serif;margin:12px 16px;color:#1d2330;background:#fff}
    h1{font-size:18px;margin:0 0 4px}
    dl{display:flex;flex-wrap:wrap;gap:2px 14px;margin:0 0 8px}dt{color:#667}dd{margin:0 8px 0 -8px;font-weight:600}
    .divergence-note{background:#fdecea;border-left:4px solid #c62828;padding:4px 8px;margin:4px 0 8px}
    nav{display:flex;gap:8px;align-items:center;margin-bottom:6px}nav .hint{color:#667}
    button{font:inherit;padding:1px 9px}
    #legend{display:flex;flex-wrap:wrap;gap:4px 14px;margin:0 0 6px;color:#333}
    #legend span{display:inline-flex;align-items:center;gap:4px}
    #chart{border:1px solid #d6d9e0;overflow:hidden;cursor:grab;user-select:none}
    #chart.dragging{cursor:grabbing}
    svg text{font:11px system-ui,sans-serif;fill:#1d2330}
    .lane-bg{fill:#f7f8fa}.lane-bg.odd{fill:#eef0f4}.lane-label{font-weight:600}
    .axis line{stroke:#c3c8d2}.axis text{fill:#556}
    .span.block{fill:#3f7fd8}.span.no_block{fill:#f39c12}.span.none{fill:none;stroke:#c62828;stroke-width:1.2}
    .span.estimated{fill-opacity:.55;stroke:#1f4f9a;stroke-dasharray:2 2}
    .agg{fill:#3f7fd8}.agg.marks{fill:#7b5ea7}
    .mark{stroke:#fff;stroke-width:.6}
    .mark.connected{fill:#2e7d32}.mark.disconnected{fill:#6d4c41}.mark.removed{fill:#c62828}.mark.banned{fill:#000}
    .mark.no_block_response{fill:#f39c12}.mark.status{fill:#90a4ae}.mark.unsolicited{fill:#8e24aa}.mark.served{fill:#00897b}
    .mark.undecodable,.mark.capture{fill:#ad1457}.mark.outbound_extra,.mark.outbound_missing{fill:#d84315}
    .mark.verify_failed{fill:#c62828}.mark.reactor_panic{fill:#000}.mark.scheduler_fail{fill:#ffb300}.mark.switch_to_consensus{fill:#2e7d32}.mark.switch_to_blocksync{fill:#1565c0}
    .pivot.allowed{fill:#2e7d32}.pivot.denied{fill:#c62828}.pivot.unknown{fill:#90a4ae}.pivot.hint_disabled{fill:#000}.pivot.observed_mismatch{fill:#ff6f00;stroke:#000;stroke-width:1}
    .heights{fill:none;stroke:#1f4f9a;stroke-width:1.5}
    .divergence{stroke:#c62828;stroke-width:2;stroke-dasharray:6 3}
    """

    static let legend = """
    <div id="legend">
    <span><svg width="22" height="10"><rect class="span block" width="22" height="8" y="1"/></svg>request → block</span>
    <span><svg width="22" height="10"><rect class="span no_block" width="22" height="8" y="1"/></svg>request → NoBlockResponse</span>
    <span><svg width="22" height="10"><rect class="span none" width="20" height="7" x="1" y="1"/></svg>request, no answer</span>
    <span><svg width="22" height="10"><rect class="span block estimated" width="22" height="8" y="1"/></svg>answer time from recorded latency</span>
    <span><svg width="12" height="10"><rect class="agg" width="6" height="10" x="3"/></svg>many requests (aggregated; hover)</span>
    <span><svg width="12" height="12"><circle class="mark connected" cx="6" cy="6" r="5"/></svg>connected</span>
    <span><svg width="12" height="12"><circle class="mark disconnected" cx="6" cy="6" r="5"/></svg>disconnected</span>
    <span><svg width="12" height="12"><path class="mark removed" d="M1 1L11 11M11 1L1 11" style="stroke:#c62828;stroke-width:2.5"/></svg>removed</span>
    <span><svg width="12" height="12"><rect class="mark banned" width="10" height="10" x="1" y="1"/></svg>banned</span>
    <span><svg width="12" height="12"><path class="mark no_block_response" d="M6 1L11 11H1Z"/></svg>NoBlockResponse</span>
    <span><svg width="12" height="12"><circle class="mark status" cx="6" cy="6" r="3"/></svg>status</span>
    <span><svg width="12" height="12"><path class="mark verify_failed" d="M6 0L12 6L6 12L0 6Z"/></svg>verify failed</span>
    <span><svg width="12" height="12"><path class="mark reactor_panic" d="M6 0L12 6L6 12L0 6Z"/></svg>reactor panic</span>
    <span><svg width="12" height="12"><path class="mark scheduler_fail" d="M6 1L11 11H1Z"/></svg>scheduler failure (v2)</span>
    <span><svg width="12" height="12"><path class="mark switch_to_consensus" d="M2 0V12M2 1H11L8 4L11 7H2"/></svg>switch to consensus</span>
    <span><svg width="12" height="12"><path class="mark switch_to_blocksync" d="M2 0V12M2 1H11L8 4L11 7H2"/></svg>state sync → block sync</span>
    <span><svg width="22" height="10"><polyline class="heights" points="0,9 8,9 8,5 15,5 15,1 22,1"/></svg>node height</span>
    <span><svg width="12" height="12"><path class="pivot allowed" d="M6 0L12 6L6 12L0 6Z"/></svg>pivot allowed</span>
    <span><svg width="12" height="12"><path class="pivot denied" d="M6 0L12 6L6 12L0 6Z"/></svg>pivot denied</span>
    <span><svg width="12" height="12"><path class="pivot observed_mismatch" d="M6 0L12 6L6 12L0 6Z"/></svg>real node decided otherwise</span>
    <span><svg width="8" height="12"><line class="divergence" x1="4" x2="4" y1="0" y2="12"/></svg>first divergence</span>
    </div>
    """

    static let script = #"""
    (function () {
    "use strict";
    const D = JSON.parse(document.getElementById("timeline-data").textContent);
    const svg = document.getElementById("timeline");
    const chart = document.getElementById("chart");
    const NS = "http://www.w3.org/2000/svg";
    const BUCKET = \#(bucket), LABEL = 170, RIGHT = 12, AXIS = 24, PEER_H = 34, NODE_H = 70, PIVOT_H = 30;
    document.addEventListener("securitypolicyviolation", function () {
      document.body.dataset.networkViolations = String(Number(document.body.dataset.networkViolations) + 1);
    });
    const end = Math.max(D.end, 1);
    let v0 = 0, v1 = end;
    // A window to open at, in seconds from the start: page.html#from=2.9&to=3.2
    const want = new URLSearchParams(location.hash.slice(1));
    if (want.has("from") && want.has("to")) {
      const a = Math.max(0, Number(want.get("from")) * 1e9), b = Math.min(end, Number(want.get("to")) * 1e9);
      if (b > a) { v0 = a; v1 = b; }
    }
    const lanes = D.peers.map(function (p) { return { kind: "peer", id: p.id, h: PEER_H, data: p }; });
    lanes.push({ kind: "node", id: "node", h: NODE_H, data: D.node });
    lanes.push({ kind: "pivot", id: "pivot", h: PIVOT_H, data: D.pivot });
    let hMin = Infinity, hMax = -Infinity;
    for (let i = 1; i < D.node.heights.length; i += 2) { hMin = Math.min(hMin, D.node.heights[i]); hMax = Math.max(hMax, D.node.heights[i]); }

    function fmt(ns) {
      const a = Math.abs(ns);
      if (a >= 1e9) return (ns / 1e9).toFixed(a >= 1e10 ? 1 : 3) + " s";
      if (a >= 1e6) return (ns / 1e6).toFixed(a >= 1e7 ? 1 : 3) + " ms";
      if (a >= 1e3) return (ns / 1e3).toFixed(1) + " µs";
      return ns + " ns";
    }
    function el(tag, attrs, parent, title) {
      const e = document.createElementNS(NS, tag);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (title) { const t = document.createElementNS(NS, "title"); t.textContent = title; e.appendChild(t); }
      parent.appendChild(e);
      return e;
    }
    function width() { return Math.max(600, chart.clientWidth || 1400); }
    function render() {
      const W = width(), plot = W - LABEL - RIGHT;
      const x = function (t) { return LABEL + (t - v0) / (v1 - v0) * plot; };
      const bucketOf = function (t) { return Math.floor((x(t) - LABEL) / BUCKET); };
      const H = AXIS + lanes.reduce(function (s, l) { return s + l.h; }, 0) + 4;
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      svg.setAttribute("width", W); svg.setAttribute("height", H); svg.setAttribute("viewBox", "0 0 " + W + " " + H);
      const axis = el("g", { class: "axis" }, svg);
      const step = niceStep((v1 - v0) / 8);
      for (let t = Math.ceil(v0 / step) * step; t <= v1; t += step) {
        el("line", { x1: x(t), x2: x(t), y1: AXIS - 6, y2: H }, axis);
        el("text", { x: x(t) + 2, y: AXIS - 10 }, axis).textContent = fmt(t);
      }
      let y = AXIS, drawn = 0;
      lanes.forEach(function (lane, i) {
        const g = el("g", { class: "lane lane-" + lane.kind, "data-lane": lane.id, transform: "translate(0," + y + ")" }, svg);
        el("rect", { class: "lane-bg" + (i % 2 ? " odd" : ""), x: 0, y: 0, width: W, height: lane.h }, g);
        const label = lane.kind === "peer" ? "peer " + (lane.id.length > 18 ? lane.id.slice(0, 16) + "…" : lane.id) : lane.kind === "node" ? "node" : "pivot hint";
        el("text", { class: "lane-label", x: 6, y: 14 }, g, lane.kind === "peer" ? "peer " + lane.id : (lane.kind === "node" ? D.node.label : "pivot-hint checks")).textContent = label;
        const body = el("g", { class: "lane-body" }, g);
        if (lane.kind === "peer") { drawn += drawSpans(lane.data.spans, body, x, bucketOf, plot); drawn += drawMarks(lane.data.marks, body, x, bucketOf, plot, 27); }
        if (lane.kind === "node") { drawn += drawHeights(body, x, plot, lane.h); drawn += drawMarks(D.node.marks, body, x, bucketOf, plot, 12); }
        if (lane.kind === "pivot") drawn += drawPivot(body, x, bucketOf, plot);
        y += lane.h;
      });
      if (D.divergence && D.divergence.t >= v0 && D.divergence.t <= v1) {
        el("line", { class: "divergence", id: "divergence-line", x1: x(D.divergence.t), x2: x(D.divergence.t), y1: AXIS - 4, y2: H }, svg,
           "first divergence at " + fmt(D.divergence.t) + ": " + D.divergence.detail);
        drawn += 1;
      }
      svg.dataset.elements = String(drawn);
      document.getElementById("window").textContent = fmt(v0) + " – " + fmt(v1) + " · " + drawn + " elements";
    }
    function niceStep(raw) {
      const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
      const m = raw / p;
      return (m < 2 ? 1 : m < 5 ? 2 : 5) * p;
    }
    const ANSWER = ["block", "no_block", "none"];
    function drawSpans(s, g, x, bucketOf, plot) {
      const visible = [];
      for (let i = 0; i < s.length; i += 4) {
        const e = s[i + 1] < 0 ? s[i] : s[i + 1];
        if (e >= v0 && s[i] <= v1) visible.push(i);
      }
      if (visible.length <= plot / BUCKET) {
        visible.forEach(function (i, k) {
          const a = s[i + 3] & 3, est = s[i + 3] & 4, row = k % 3;
          const x0 = x(s[i]), x1 = s[i + 1] < 0 ? x0 + 6 : x(s[i + 1]);
          const title = "height " + s[i + 2] + ": requested at " + fmt(s[i]) +
            (s[i + 1] < 0 ? ", no answer" : ", " + (a === 1 ? "NoBlockResponse" : "block") + " after " + fmt(s[i + 1] - s[i]) + (est ? " (recorded latency)" : ""));
          el("rect", { class: "span " + ANSWER[a] + (est ? " estimated" : ""), "data-height": s[i + 2],
                       x: x0, y: 4 + row * 7, width: Math.max(1.5, x1 - x0), height: 6 }, g, title);
        });
        return visible.length;
      }
      const buckets = new Map();
      visible.forEach(function (i) {
        const b = bucketOf(s[i]);
        let o = buckets.get(b);
        if (!o) { o = { n: 0, lo: Infinity, hi: -Infinity, slow: 0, nb: 0, none: 0 }; buckets.set(b, o); }
        o.n++; o.lo = Math.min(o.lo, s[i + 2]); o.hi = Math.max(o.hi, s[i + 2]);
        if (s[i + 1] >= 0) o.slow = Math.max(o.slow, s[i + 1] - s[i]);
        if ((s[i + 3] & 3) === 1) o.nb++;
        if ((s[i + 3] & 3) === 2) o.none++;
      });
      let most = 1;
      buckets.forEach(function (o) { most = Math.max(most, o.n); });
      buckets.forEach(function (o, b) {
        el("rect", { class: "agg", "data-count": o.n, x: LABEL + b * BUCKET, y: 4, width: BUCKET - 0.5, height: 20,
                     "fill-opacity": (0.25 + 0.75 * o.n / most).toFixed(2) }, g,
           o.n + " requests, heights " + o.lo + "–" + o.hi + ", slowest answer " + fmt(o.slow) +
           (o.nb ? ", " + o.nb + " NoBlockResponse" : "") + (o.none ? ", " + o.none + " unanswered" : ""));
      });
      return buckets.size;
    }
    function shape(kind, cx, cy, g, title) {
      const c = "mark " + kind;
      switch (kind) {
        case "removed": return el("path", { class: c, d: "M" + (cx - 4) + " " + (cy - 4) + "l8 8m0 -8l-8 8", style: "stroke:#c62828;stroke-width:2.5" }, g, title);
        case "banned": return el("rect", { class: c, x: cx - 4, y: cy - 4, width: 8, height: 8 }, g, title);
        case "no_block_response": case "scheduler_fail": return el("path", { class: c, d: "M" + cx + " " + (cy - 5) + "l5 9h-10z" }, g, title);
        case "verify_failed": case "reactor_panic": return el("path", { class: c, d: "M" + cx + " " + (cy - 6) + "l6 6l-6 6l-6 -6z" }, g, title);
        case "switch_to_consensus": case "switch_to_blocksync": return el("path", { class: c, d: "M" + cx + " " + (cy + 8) + "v-16h9l-3 3l3 3h-9" }, g, title);
        case "status": return el("circle", { class: c, cx: cx, cy: cy, r: 2.5 }, g, title);
        default: return el("circle", { class: c, cx: cx, cy: cy, r: 4 }, g, title);
      }
    }
    function drawMarks(marks, g, x, bucketOf, plot, cy) {
      const visible = marks.filter(function (m) { return m[0] >= v0 && m[0] <= v1; });
      if (visible.length <= plot / BUCKET) {
        visible.forEach(function (m) { shape(m[1], x(m[0]), cy, g, fmt(m[0]) + " " + m[1].replace(/_/g, " ") + ": " + m[2]); });
        return visible.length;
      }
      const buckets = new Map();
      visible.forEach(function (m) {
        const b = bucketOf(m[0]);
        const o = buckets.get(b) || {};
        o[m[1]] = (o[m[1]] || 0) + 1;
        buckets.set(b, o);
      });
      buckets.forEach(function (o, b) {
        el("rect", { class: "agg marks", x: LABEL + b * BUCKET, y: cy - 4, width: BUCKET - 0.5, height: 8 }, g,
           Object.keys(o).sort().map(function (k) { return o[k] + " " + k.replace(/_/g, " "); }).join(", "));
      });
      return buckets.size;
    }
    function drawHeights(g, x, plot, h) {
      const p = D.node.heights;
      if (p.length === 0) return 0;
      const yOf = function (v) { return hMax === hMin ? h / 2 : h - 8 - (v - hMin) / (hMax - hMin) * (h - 24); };
      const pts = [];
      let lastCol = null, lastY = null;
      for (let i = 0; i < p.length; i += 2) {
        if (p[i] > v1) break;
        const next = i + 2 < p.length ? p[i + 2] : Infinity;
        if (next < v0) continue;
        const cx = Math.max(LABEL, x(p[i])), cy = yOf(p[i + 1]);
        const col = Math.round(cx);
        if (col === lastCol && pts.length >= 2) { pts[pts.length - 1] = cx.toFixed(1) + "," + cy.toFixed(1); lastY = cy; continue; }
        if (lastY !== null) pts.push(cx.toFixed(1) + "," + lastY.toFixed(1));
        pts.push(cx.toFixed(1) + "," + cy.toFixed(1));
        lastCol = col; lastY = cy;
      }
      if (lastY !== null) pts.push((LABEL + plot).toFixed(1) + "," + lastY.toFixed(1));
      el("polyline", { class: "heights", points: pts.join(" ") }, g, D.node.label + ": " + hMin + "–" + hMax);
      el("text", { x: 6, y: h - 6 }, g).textContent = hMin + "–" + hMax;
      return 1;
    }
    function drawPivot(g, x, bucketOf, plot) {
      const visible = D.pivot.filter(function (m) { return m[0] >= v0 && m[0] <= v1; });
      const many = visible.length > plot / BUCKET, seen = new Set();
      let n = 0;
      visible.forEach(function (m) {
        if (many) { const b = bucketOf(m[0]); if (seen.has(b)) return; seen.add(b); }
        const state = m[1] === "hint_disabled" || m[1] === "observed_mismatch" ? m[1] : m[2] === 1 ? "allowed" : m[2] === 0 ? "denied" : "unknown";
        const cx = x(m[0]), cy = 15;
        el("path", { class: "pivot " + state, "data-kind": m[1], d: "M" + cx + " " + (cy - 6) + "l6 6l-6 6l-6 -6z" }, g, fmt(m[0]) + " pivot " + m[3]);
        n++;
      });
      return n;
    }
    function zoom(f, at) {
      const c = at === undefined ? (v0 + v1) / 2 : at;
      const span = Math.min(end, Math.max(1000, (v1 - v0) * f));
      v0 = Math.max(0, c - (c - v0) * span / (v1 - v0)); v1 = Math.min(end, v0 + span); v0 = Math.max(0, v1 - span);
      render();
    }
    function pan(dt) { const s = v1 - v0; v0 = Math.min(Math.max(0, v0 + dt), end - s); v1 = v0 + s; render(); }
    function timeAt(px) { return v0 + (px - LABEL) / (width() - LABEL - RIGHT) * (v1 - v0); }
    chart.addEventListener("wheel", function (e) {
      e.preventDefault();
      const r = svg.getBoundingClientRect();
      zoom(e.deltaY < 0 ? 0.8 : 1.25, timeAt(e.clientX - r.left));
    }, { passive: false });
    let drag = null;
    chart.addEventListener("mousedown", function (e) { drag = { x: e.clientX, v0: v0 }; chart.classList.add("dragging"); });
    window.addEventListener("mouseup", function () { drag = null; chart.classList.remove("dragging"); });
    window.addEventListener("mousemove", function (e) {
      if (!drag) return;
      const s = v1 - v0, dt = -(e.clientX - drag.x) / (width() - LABEL - RIGHT) * s;
      v0 = Math.min(Math.max(0, drag.v0 + dt), end - s); v1 = v0 + s; render();
    });
    window.addEventListener("keydown", function (e) {
      if (e.key === "+" || e.key === "=") zoom(0.5);
      else if (e.key === "-") zoom(2);
      else if (e.key === "0") { v0 = 0; v1 = end; render(); }
      else if (e.key === "ArrowLeft") pan(-(v1 - v0) / 4);
      else if (e.key === "ArrowRight") pan((v1 - v0) / 4);
    });
    document.getElementById("zoom-in").onclick = function () { zoom(0.5); };
    document.getElementById("zoom-out").onclick = function () { zoom(2); };
    document.getElementById("zoom-reset").onclick = function () { v0 = 0; v1 = end; render(); };
    window.addEventListener("resize", render);
    render();
    })();
    """#
}
