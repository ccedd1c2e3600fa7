#!/usr/bin/env bash
# The capture tool against independent readers, on the committed real captures (Traces/capture):
#  1. tcpdump (libpcap's own CLI) counts the same packets in each pcap as synccapture reads;
#  2. synccapture's trace of each opens in the official Python `mcap` reader, whose /blocksync
#     count equals the messages synccapture reports decoding, and which finds the /node record first.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${SYNCREPLAY_BIN:?set SYNCREPLAY_BIN to the directory holding synccapture}/synccapture"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
genesis=../shared/fixtures/cometbft-v0.34/genesis.json
[ -e "$genesis" ] || genesis=""

for pcap in Traces/capture/*.pcap; do
    name="${pcap%.pcap}"
    args=(-r "$pcap" -o "$work/out.trace")
    [ -e "$name.keylog" ] && args+=(--keylog "$name.keylog")
    [ -n "$genesis" ] && args+=(--genesis "$genesis")
    "$bin" "${args[@]}" 2> "$work/stderr"
    ours_packets=$(grep -o '^synccapture: [0-9]* packets' "$work/stderr" | tail -1 | awk '{print $2}')
    ours_messages=$(grep -o 'blocksync [0-9]*' "$work/stderr" | awk '{s += $2} END {print s + 0}')
    if command -v tcpdump > /dev/null; then
        theirs=$(tcpdump -r "$pcap" -nn 2> /dev/null | wc -l)
        [ "$theirs" = "$ours_packets" ] || { echo "$pcap: tcpdump counts $theirs packets, synccapture $ours_packets"; exit 1; }
    fi
    python3 - "$work/out.trace" "$ours_messages" "$pcap" <<'PY'
import sys
from collections import Counter
from mcap.reader import make_reader
path, expected, pcap = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "rb") as f:
    topics = [channel.topic for _s, channel, _m in make_reader(f).iter_messages(log_time_order=False)]
counts = Counter(topics)
assert topics and topics[0] == "/node", f"{pcap}: first topic {topics[:1]}"
assert counts["/blocksync"] == expected > 0, f"{pcap}: mcap reads {counts['/blocksync']} /blocksync, synccapture decoded {expected}"
print(f"{pcap}: {sum(counts.values())} events, {counts['/blocksync']} /blocksync (tcpdump and mcap agree)")
PY
done
