#!/usr/bin/env bash
# The same streaming load sent to `fakegpt serve` and to gpt4free 0.5.2.9's
# own API server (its FakeGpt provider pointed at the same emulator), and
# to the emulator directly through the library, with `fakegpt bench`.
# Prints streams per second and latencies for each, and the ratio.
#
# usage: bench/compare-gateways.sh [REQUESTS, default 1000] [CONCURRENCY, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-1000}"
concurrency="${2:-10}"

venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check g4f==0.5.2.9 fastapi uvicorn python-multipart

source bench/common.sh

"$bin" upstream --port 0 --delay-ms 0 >"$tmp/upstream" 2>/dev/null & pids+=($!)
upstream=$(wait_line "$tmp/upstream")
"$bin" serve --base-url "$upstream" --port 0 >"$tmp/serve" 2>/dev/null & pids+=($!)
ours=$(wait_line "$tmp/serve")
port=$(( 20000 + RANDOM % 20000 ))
"$venv/bin/python" bench/g4f_api.py "${upstream/127.0.0.1/localhost}" "$port" >"$tmp/g4f.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/v1/models" >/dev/null && break; sleep 0.2; done

run() { "$bin" bench "$@" -n "$requests" -c "$concurrency" --json; }
run --base-url "$upstream" >"$tmp/direct.json"
run --openai "$ours/v1" >"$tmp/ours.json"
run --openai "http://127.0.0.1:$port/v1" >"$tmp/theirs.json"

python3 - "$tmp" <<'PY'
import json, sys
d = {k: json.load(open(f"{sys.argv[1]}/{k}.json")) for k in ("direct", "ours", "theirs")}
names = {"direct": "library → emulator", "ours": "fakegpt serve", "theirs": "gpt4free API (FakeGpt)"}
print(f"{d['ours']['requests']} streamed requests at concurrency {d['ours']['concurrency']}, one run:")
for k, r in d.items():
    t, c = r["time_to_first_token_ms"], r["inter_chunk_ms"]
    print(f"  {names[k]:<24} {r['requests_per_second']:8.1f} streams/s  TTFT p50 {t['p50']:7.3f} p99 {t['p99']:7.3f} ms"
          f"  chunk gap p99 {c['p99']:7.3f} ms  failed {r['failed']}")
print(f"  fakegpt serve / gpt4free API: {d['ours']['requests_per_second'] / d['theirs']['requests_per_second']:.1f}x streams/s")
print(f"  gateway adds TTFT p99 {d['ours']['time_to_first_token_ms']['p99'] - d['direct']['time_to_first_token_ms']['p99']:+.3f} ms,"
      f" chunk gap p99 {d['ours']['inter_chunk_ms']['p99'] - d['direct']['inter_chunk_ms']['p99']:+.3f} ms")
PY
