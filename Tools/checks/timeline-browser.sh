#!/usr/bin/env bash
# Renders corpus timelines in headless Chromium (issue 15) and checks the DOM the page's script
# built: the lanes, spans and markers, the golden's first divergence, the element budget of the
# 10,000-block case, and that the page made no network request. Chromium runs with every
# request sent to a recording stand-in proxy (loopback included), so a fetch by the page shows
# up there; two control pages prove the check can fail: one that fetches (the proxy must see
# it) and one whose fetch the page's Content-Security-Policy blocks (the page must count it).
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${SYNCREPLAY_BIN:-$(swift build -c release --show-bin-path)}"
chrome="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$chrome" ] || { echo "timeline-browser: chromium not found (Tools/test installs Debian's chromium)"; exit 1; }
work="$(mktemp -d)"
proxy_pid=""
cleanup() { [ -z "$proxy_pid" ] || kill "$proxy_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "timeline-browser: FAIL: $*"; exit 1; }

python3 Tools/checks/record-connections.py "$work/port" "$work/connections" &
proxy_pid=$!
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || fail "the recording proxy did not start"
port="$(cat "$work/port")"
touch "$work/connections"

# render PAGE NAME: DOM after the page's script ran → $work/NAME.dom, screenshot → $work/NAME.png
render() {
    local flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run
        --disable-background-networking --disable-component-update --disable-sync --disable-default-apps
        --disable-features=MediaRouter,OptimizationHints,Translate,NetworkTimeServiceQuerying --user-data-dir="$work/profile-$2"
        --proxy-server="http://127.0.0.1:$port" --proxy-bypass-list="<-loopback>"
        --window-size=1400,640 --virtual-time-budget=3000)
    timeout 120 "$chrome" "${flags[@]}" --dump-dom "file://$1" > "$work/$2.dom" 2> "$work/$2.log" \
        || fail "chromium could not render $1 (see its log: $(tail -n 3 "$work/$2.log" | tr '\n' ' '))"
    timeout 120 "$chrome" "${flags[@]}" --screenshot="$work/$2.png" "file://$1" >> "$work/$2.log" 2>&1 \
        || fail "chromium could not take a screenshot of $1"
    [ -s "$work/$2.png" ] || fail "no screenshot of $1"
}
# has NAME PATTERN WHAT: the rendered DOM of NAME matches the extended regex PATTERN.
has() { grep -Eq -- "$2" "$work/$1.dom" || fail "$1: $3 missing from the rendered DOM"; }
count() { grep -Eo -- "$2" "$work/$1.dom" | wc -l; }

# 1. catchup-basic against its tm-v0.34 golden: four peer lanes, node, pivot, spans, height line.
"$bin/syncreplay" timeline Traces/catchup-basic.trace --golden Traces/catchup-basic.tm-v0.34.golden.json -o "$work/catchup.html" > /dev/null
render "$work/catchup.html" catchup
for lane in p1 p2 p3 p4 node pivot; do has catchup "<g class=\"lane [^\"]*\" data-lane=\"$lane\"" "lane $lane"; done
has catchup '<rect class="span block' "request → block spans"
has catchup '<polyline class="heights"' "the node's height line"
has catchup '<circle class="mark connected"' "connect markers"
has catchup 'data-network-violations="0"' "the zero count of blocked requests"
grep -q 'id="divergence' "$work/catchup.dom" && fail "catchup: a matching golden shows a divergence"

# 2. A case with removals, bans, a failed pair and the switch.
"$bin/syncreplay" timeline Traces/bad-signature-pair-blame.trace \
    --golden Traces/bad-signature-pair-blame.cometbft-v0.38.golden.json -o "$work/blame.html" > /dev/null
render "$work/blame.html" blame
for marker in removed banned verify_failed switch_to_consensus; do has blame "class=\"mark $marker\"" "$marker marker"; done
has blame '<title>[^<]*removed: ' "the removal reason on hover"

# 3. The golden's first divergence: a golden whose switch height is one off.
python3 - Traces/catchup-basic.tm-v0.34.golden.json "$work/catchup-basic.tm-v0.34.golden.json" <<'PY'
import json, sys
golden = json.load(open(sys.argv[1]))
for d in golden["decisions"]:
    if d["kind"] == "switch_to_consensus":
        d["height"] += 1
json.dump(golden, open(sys.argv[2], "w"))
PY
"$bin/syncreplay" timeline Traces/catchup-basic.trace --golden "$work/catchup-basic.tm-v0.34.golden.json" -o "$work/diverged.html" > /dev/null
render "$work/diverged.html" diverged
has diverged 'id="divergence-line"' "the first divergence line"
has diverged 'First divergence from the golden' "the first divergence note"

# 4. 10,000 blocks: under 5 MB of HTML and within the element budget when zoomed out.
start=$(date +%s%N)
"$bin/syncreplay" timeline Traces/long-sync-10k.trace --recorded -o "$work/long.html" > /dev/null
millis=$(( ($(date +%s%N) - start) / 1000000 ))
bytes=$(stat -c %s "$work/long.html")
[ "$bytes" -lt 5000000 ] || fail "long-sync-10k: $bytes bytes of HTML (over 5 MB)"
render "$work/long.html" long
for lane in p1 p8 node; do has long "data-lane=\"$lane\"" "lane $lane"; done
elements=$(grep -Eo 'data-elements="[0-9]+"' "$work/long.dom" | grep -Eo '[0-9]+')
[ "${elements:-99999}" -le 6000 ] || fail "long-sync-10k: $elements elements drawn (budget 6000)"
[ "$(count long '<rect class="agg"')" -gt 0 ] || fail "long-sync-10k: no aggregated spans when zoomed out"
echo "timeline-browser: long-sync-10k (--recorded): ${millis} ms to write, $bytes bytes, $elements elements drawn"

# 5. The Perfetto JSON parses and has a thread per peer and one for the node.
"$bin/syncreplay" timeline Traces/catchup-basic.trace --format perfetto -o "$work/catchup.json" > /dev/null
python3 - "$work/catchup.json" <<'PY'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
threads = sorted(e["args"]["name"] for e in events if e.get("name") == "thread_name")
assert threads == ["node", "peer p1", "peer p2", "peer p3", "peer p4", "pivot"], threads
assert any(e["ph"] == "X" for e in events) and any(e["ph"] == "s" for e in events), "no spans or flows"
PY

# Nothing above reached the network. Chromium itself calls its own Google services (component
# updater, accounts) even with background networking off; those hosts are set aside, any other
# request is the page's.
browser_own='(update\.googleapis\.com|accounts\.google\.com|clients[0-9]*\.google\.com|[a-z0-9.-]*\.gvt1\.com|safebrowsing\.googleapis\.com|optimizationguide-pa\.googleapis\.com|content-autofill\.googleapis\.com)'
page_requests() { grep -Ev "^(CONNECT |[A-Z]+ https?://)$browser_own[:/]" "$work/connections" || true; }
[ -z "$(page_requests)" ] || fail "a timeline page made network requests: $(page_requests | head -n 3 | tr '\n' ' ')"

# Controls: the check must see a fetch. Without the CSP the proxy receives it; with the CSP
# the page blocks it and counts the violation.
probe='<img src="http://timeline-check.invalid/pixel.png" alt="">'
sed "s|</body>|$probe</body>|; s|<meta http-equiv=\"Content-Security-Policy\"[^>]*>||" "$work/catchup.html" > "$work/control-open.html"
render "$work/control-open.html" control-open
grep -q 'timeline-check.invalid' "$work/connections" || fail "control: a page that fetches was not seen by the proxy"
sed "s|</body>|$probe</body>|" "$work/catchup.html" > "$work/control-csp.html"
: > "$work/connections"
render "$work/control-csp.html" control-csp
has control-csp 'data-network-violations="[1-9]' "the blocked request's count (control)"
[ -z "$(page_requests)" ] || fail "control: the Content-Security-Policy did not block the fetch"
echo "timeline-browser: ok (lanes, markers, divergence, budget, Perfetto JSON; no network requests)"
