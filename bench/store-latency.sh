#!/usr/bin/env bash
# What the Redis store and the fleet-wide limits add to a request: the same
# load through `fakegpt serve` keeping its session in memory, in Redis, and
# in Redis with `--max-concurrency-global` and `--key-rate-limit` (three
# Redis round trips more per request: the key's rate, the lease, its
# release). The emulator and Redis run on core 1, the gateway on core 0,
# the load tool on core 1. Each configuration runs RUNS times, the three
# alternating, so that drift hits them alike; prints request latency
# p50/p99 (whole answers, not streamed) and TTFT, medians of the runs.
#
# usage: bench/store-latency.sh [REQUESTS, default 3000] [CONCURRENCY, default 4] [RUNS, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-3000}"
concurrency="${2:-4}"
runs="${3:-3}"
[ "$(nproc --all)" -ge 2 ] || { echo "needs 2 cores" >&2; exit 1; }
command -v redis-server >/dev/null || { echo "needs redis-server (apt-get install redis-server)" >&2; exit 1; }
source bench/common.sh

redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
taskset -c 1 redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >/dev/null 2>&1 & pids+=($!)
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis="redis://127.0.0.1:$redis_port/"

taskset -c 1 "$bin" upstream --port 0 --delay-ms 0 >"$tmp/upstream" 2>/dev/null & pids+=($!)
upstream=$(wait_line "$tmp/upstream")

serve() { # NAME ARGS...: a gateway on core 0; its URL in $tmp/NAME.url
  local name=$1; shift
  taskset -c 0 "$bin" serve --base-url "$upstream" --port 0 --api-key sk-bench \
    "$@" >"$tmp/$name.serve" 2>/dev/null & pids+=($!)
  wait_line "$tmp/$name.serve" >"$tmp/$name.url"
}
serve memory --store memory
serve redis --store "$redis"
serve limits --store "$redis" --max-concurrency-global 1000 --key-rate-limit 10000000/min

for name in memory redis limits; do
  taskset -c 1 "$bin" bench --openai "$(cat "$tmp/$name.url")/v1" --api-key sk-bench -n 300 -c "$concurrency" --no-stream --json >/dev/null
done
for i in $(seq "$runs"); do
  for name in memory redis limits; do
    taskset -c 1 "$bin" bench --openai "$(cat "$tmp/$name.url")/v1" --api-key sk-bench \
      -n "$requests" -c "$concurrency" --no-stream --json >"$tmp/$name-$i.json"
  done
done
echo "Redis calls per configuration run (commandstats at the end):"
redis-cli -p "$redis_port" info commandstats | grep -E '^cmdstat_(evalsha|eval|get|set|zrem|ping)' || true

python3 - "$tmp" "$runs" <<'PY'
import json, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
rows = {}
for name in ("memory", "redis", "limits"):
    r = [json.load(open(f"{tmp}/{name}-{i}.json")) for i in range(1, runs + 1)]
    med = lambda f: statistics.median(f(x) for x in r)
    rows[name] = {
        "p50": med(lambda x: x["request_ms"]["p50"]),
        "p99": med(lambda x: x["request_ms"]["p99"]),
        "rps": med(lambda x: x["requests_per_second"]),
        "failed": sum(x["failed"] for x in r),
        "spread50": [round(x["request_ms"]["p50"], 3) for x in r],
        "spread99": [round(x["request_ms"]["p99"], 3) for x in r],
    }
base = rows["memory"]
for name, row in rows.items():
    print(f"{name:7} p50 {row['p50']:7.3f} ms {row['spread50']}  p99 {row['p99']:7.3f} ms {row['spread99']}"
          f"  {row['rps']:7.1f} req/s  failed {row['failed']}"
          f"  added p50 {row['p50'] - base['p50']:+.3f} ms  p99 {row['p99'] - base['p99']:+.3f} ms")
PY
