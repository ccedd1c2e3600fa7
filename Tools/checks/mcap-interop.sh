#!/usr/bin/env bash
# Interop with the official Python `mcap` package (pip install mcap), both ways:
#  1. traces written by syncreplay (the committed fixture, and a `recover`ed cut-off copy) open
#     in Python's indexed (SeekingReader) and streaming (NonSeekingReader) readers with CRC
#     validation, and show the same message count, channels and per-channel counts as
#     `syncreplay inspect --json`;
#  2. files written by Python's writer (chunked, unchunked without index, no statistics)
#     are counted the same by `syncreplay inspect --json`, and a zstd-compressed one exits 2
#     naming the compression.
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${SYNCREPLAY_BIN:?set SYNCREPLAY_BIN to the directory holding syncreplay}/syncreplay"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

compare() {  # $1 trace: Python's view (indexed + streaming) must equal inspect --json
    "$bin" inspect --json "$1" > "$work/inspect.json"
    python3 - "$1" "$work/inspect.json" <<'PY'
import json, sys
from collections import Counter
from mcap.reader import NonSeekingReader, SeekingReader

path, inspect_path = sys.argv[1], sys.argv[2]
ours = json.load(open(inspect_path))
expected_channels = {c["topic"]: c["message_count"] for c in ours["channels"]}

def view(reader):
    counts = Counter()
    for _schema, channel, _message in reader.iter_messages(log_time_order=False):
        counts[channel.topic] += 1
    return counts

with open(path, "rb") as f:
    summary = SeekingReader(f, validate_crcs=True).get_summary()
    topics = None if summary is None else sorted(c.topic for c in summary.channels.values())
with open(path, "rb") as f:
    indexed = view(SeekingReader(f, validate_crcs=True))
with open(path, "rb") as f:
    streamed = view(NonSeekingReader(f, validate_crcs=True))

for name, counts in (("indexed", indexed), ("streaming", streamed)):
    got = {t: counts.get(t, 0) for t in expected_channels}
    if sum(counts.values()) != ours["message_count"] or got != expected_channels:
        sys.exit(f"{path}: Python {name} reader saw {dict(counts)}, inspect says {ours['message_count']} {expected_channels}")
if topics is not None and topics != sorted(expected_channels):
    sys.exit(f"{path}: Python summary channels {topics} != inspect {sorted(expected_channels)}")
print(f"ok {path}: {ours['message_count']} messages on {len(expected_channels)} channels (indexed and streaming)")
PY
}

# 1. Our traces in Python.
compare Tests/Fixtures/example-handwritten.trace
head -c 12000 Tests/Fixtures/example-handwritten.trace > "$work/cut.trace"
"$bin" recover "$work/cut.trace" -o "$work/recovered.trace" > /dev/null
compare "$work/recovered.trace"

# 2. Python's files in syncreplay.
python3 - "$work" <<'PY'
import sys
from mcap.writer import Writer, CompressionType, IndexType
work = sys.argv[1]
def write(name, **options):
    with open(f"{work}/{name}.mcap", "wb") as f:
        w = Writer(f, **options)
        w.start(profile="", library="python interop")
        s = w.register_schema(name="S", encoding="jsonschema", data=b'{"type":"object"}')
        a = w.register_channel(topic="/a", message_encoding="json", schema_id=s)
        b = w.register_channel(topic="/b", message_encoding="json", schema_id=0)
        for i in range(250):
            w.add_message(channel_id=a if i % 3 else b, log_time=i * 10, publish_time=i * 10, sequence=i, data=b'{"i":%d}' % i)
        w.finish()
write("chunked", compression=CompressionType.NONE, chunk_size=1024, enable_data_crcs=True)
write("loose", compression=CompressionType.NONE, use_chunking=False, index_types=IndexType.NONE, use_statistics=False)
write("nostats", compression=CompressionType.NONE, use_statistics=False, use_summary_offsets=False)
write("zstd", compression=CompressionType.ZSTD)
PY
for name in chunked loose nostats; do compare "$work/$name.mcap"; done

set +e
"$bin" inspect "$work/zstd.mcap" > /dev/null 2> "$work/zstd.err"
status=$?
set -e
if [ "$status" -ne 2 ] || ! grep -q "compressed chunk (zstd) not supported" "$work/zstd.err"; then
    echo "zstd file: expected exit 2 naming the compression, got $status: $(cat "$work/zstd.err")" >&2
    exit 1
fi
echo "ok zstd-compressed file: exit 2, $(cat "$work/zstd.err")"
