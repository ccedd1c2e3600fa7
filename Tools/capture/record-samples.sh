#!/usr/bin/env bash
# Re-records the small real captures in Traces/capture/: the wire player (`synccapture play`) talks
# over 127.0.0.1 while tcpdump (libpcap) captures lo; then `synccapture record` makes each trace.
# Needs root (or CAP_NET_RAW) and tcpdump. Usage: bash Tools/capture/record-samples.sh [BIN_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${1:-$(swift build --show-bin-path)}"
fixtures="${FIXTURES:-../shared/fixtures/cometbft-v0.34}"
out=Traces/capture
mkdir -p "$out"
# The node's start state: NAME.args when present (one line of synccapture arguments, e.g.
# --node-from TRACE), else the fixture chain's genesis (the node syncs from it).
start_args() { if [ -e "Traces/capture/$1.args" ]; then cat "Traces/capture/$1.args"; else echo "--genesis $fixtures/genesis.json"; fi; }

record() {  # NAME PORT play-args...
    local name=$1 port=$2; shift 2
    rm -f "$out/$name.pcap" "$out/$name.keylog"
    tcpdump -Z root -i lo -U -w "$out/$name.pcap" "tcp port $port" 2>/dev/null &
    local dump=$!
    sleep 1
    "$bin/synccapture" play --port "$port" "$@"
    sleep 1
    kill -INT "$dump"; wait "$dump" || true
    local keyarg=()
    [ -e "$out/$name.keylog" ] && keyarg=(--keylog "$out/$name.keylog")
    # shellcheck disable=SC2046 # start_args prints whole arguments without spaces inside
    "$bin/synccapture" -r "$out/$name.pcap" "${keyarg[@]}" $(start_args "$name") -o "$out/$name.trace" --quiet
}

record plain-sync 26656 --blocks "$fixtures/block_at_height_1.json" "$fixtures/block_at_height_10.json"
record secret-sync 26657 --blocks "$fixtures/block_at_height_1.json" "$fixtures/block_at_height_10.json" \
    --encrypted --keylog "$out/secret-sync.keylog"
record secret-handwritten 26658 --trace Tests/Fixtures/example-handwritten.trace --encrypted --keylog "$out/secret-handwritten.keylog"
# A whole sync: the four peers of the corpus case catch-up-basic (40 blocks) at once, p2 over
# SecretConnection, each staying connected 6 s after its conversation (cometbft-v0.38 waits 3 s
# before its first request, so a reactive replay needs the peers still there).
record sim-sync 26659 --trace Traces/catchup-basic.trace --all-peers --encrypted-peer p2 --keylog "$out/sim-sync.keylog" --linger 6
ls -l "$out"
