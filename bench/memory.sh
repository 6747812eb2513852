#!/usr/bin/env bash
# `fakegpt serve` memory: RSS idle, then with STREAMS slow streams in
# flight (the emulator sends one event every 50 ms), and the difference per
# stream.
#
# usage: bench/memory.sh [STREAMS, default 500]
set -euo pipefail
cd "$(dirname "$0")/.."
streams="${1:-500}"
source bench/common.sh
rss_kib() { ps -o rss= -p "$1" | tr -d ' '; }

"$bin" upstream --port 0 --delay-ms 50 --reply-chars 2000 >"$tmp/upstream" 2>/dev/null & pids+=($!)
upstream=$(wait_line "$tmp/upstream")
"$bin" serve --base-url "$upstream" --port 0 >"$tmp/serve" 2>/dev/null & serve_pid=$!; pids+=($serve_pid)
url=$(wait_line "$tmp/serve")
sleep 1
idle=$(rss_kib "$serve_pid")
# One warm-up request (login, first connections), then the load.
"$bin" bench --openai "$url/v1" -n 1 -c 1 >/dev/null
warm=$(rss_kib "$serve_pid")
"$bin" bench --openai "$url/v1" -n "$streams" -c "$streams" >/dev/null & pids+=($!)
sleep 3
busy=$(rss_kib "$serve_pid")
inflight=$(curl -s "$url/metrics" | awk '/^fakegpt_in_flight_streams /{print $2}')
awk -v idle="$idle" -v warm="$warm" -v busy="$busy" -v n="$inflight" 'BEGIN {
  printf "fakegpt serve RSS: idle %.1f MB, after one request %.1f MB, with %d streams in flight %.1f MB\n", idle / 1024, warm / 1024, n, busy / 1024
  if (n > 0) printf "  per in-flight stream: %.1f KiB\n", (busy - warm) / n
}'
