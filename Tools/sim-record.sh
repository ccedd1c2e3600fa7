#!/usr/bin/env bash
# Regenerates corpus traces from their scenarios and records their goldens (issue 7).
# Goldens are recorded only where missing (--record missing): review new ones, then commit.
# Usage: Tools/sim-record.sh [--rerecord] [NAME...]   (default: every Traces/*.scenario.toml)
# --rerecord deletes a case's goldens first (after a deliberate change to its scenario).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${SYNCREPLAY_BIN:-$(swift build --show-bin-path)}"
rerecord=0
if [ "${1:-}" = "--rerecord" ]; then rerecord=1; shift; fi
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for s in Traces/*.scenario.toml; do names+=("$(basename "$s" .scenario.toml)"); done
fi
for name in "${names[@]}"; do
    scenario="Traces/$name.scenario.toml"
    "$bin/syncsim" "$scenario" -o "Traces/$name.trace"
    [ $rerecord -eq 1 ] && rm -f Traces/"$name".golden.json Traces/"$name".*.golden.json
    # syncreplay names the golden: NAME.<profile>.golden.json, or NAME.golden.json for a trace
    # without /blocksync events (pivot-only: the profile is ignored, with a note).
    # Each line: PROFILE MODE, then replay options (`--v2-queue heap` for a v2_queue table).
    "$bin/syncsim" "$scenario" --expectations | while read -r profile mode options; do
        # shellcheck disable=SC2086  # options are whole words (--v2-queue heap)
        "$bin/syncreplay" "Traces/$name.trace" --profile "$profile" --mode "$mode" $options --record missing
    done
done
