#!/usr/bin/env bash
# What stands between curl and `fakegpt chat` on the unpaced v1 framing of
# bench/compare-clients.sh: curl, a bare reqwest client, a bare hyper
# connection read in its own task, HTTP read by hand from a blocking
# socket, the fakegpt library alone and the whole command, run in turn (RUNS rounds) against one emulator; prints medians
# of CPU time and multiples of curl's.
#
# usage: bench/floors.sh [RUNS, default 21] [DIALECT, default v1] [PACE ms, default 0]
# BEFORE=PATH adds another `fakegpt` binary (an older build).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-21}"
dialect="${2:-v1}"
pace="${3:-0}"
source bench/common.sh
cargo build --release --quiet -p fakegpt --example floor_reqwest --example floor_hyper --example floor_raw --example floor_library
"$bin" upstream --port 0 --dialect auto --fresh-times --reply-chars 32000 \
  --chars-per-event 4 --delay-ms "$pace" >"$tmp/upstream" 2>/dev/null &
pids+=($!)
url=$(wait_line "$tmp/upstream")
python3 bench/floors.py "$url" "$runs" "$dialect" "$bin" \
  target/release/examples/floor_reqwest target/release/examples/floor_hyper \
  target/release/examples/floor_raw target/release/examples/floor_library ${BEFORE:+"$BEFORE"}
