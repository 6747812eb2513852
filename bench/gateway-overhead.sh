#!/usr/bin/env bash
# What `fakegpt serve` adds: the same streaming load sent to the emulator
# through the library, then through the gateway. The emulator runs on core
# 1; the upstream work (the library talking to the emulator) runs on core 0
# in both runs: in the load tool itself when direct, in the gateway when
# through it, with the load tool then on core 1. So each figure is not its
# neighbours' run queue, and "added" includes the extra hop's cost on the
# client side too. The emulator stamps each event with its send time
# (`--stamp`), so the load tool measures each chunk's latency from the
# emulator to it. Prints added TTFT, chunk latency and chunk-gap p99.
#
# Two loads: 1 stream at a time with no delay between events (the latency
# of one request), and about CONCURRENCY streams in flight with DELAY ms
# between events: an open load (`--rate`), requests arriving steadily as
# users' do, at the rate that keeps CONCURRENCY answers live. Each pair
# of runs is repeated RUNS times, alternating, to show the run-to-run
# spread; the gateway's own CPU time per chunk comes from /proc.
#
# usage: bench/gateway-overhead.sh [CONCURRENCY, default 500] [DELAY_MS, default 20] [RUNS, default 3]
set -euo pipefail
cd "$(dirname "$0")/.."
concurrency="${1:-500}"
delay="${2:-20}"
runs="${3:-3}"
[ "$(nproc --all)" -ge 2 ] || { echo "needs 2 cores" >&2; exit 1; }
source bench/common.sh

start() { # DELAY_MS: starts an emulator and a gateway in front of it
  taskset -c 1 "$bin" upstream --port 0 --stamp --delay-ms "$1" >"$tmp/upstream" 2>/dev/null & pids+=($!)
  upstream=$(wait_line "$tmp/upstream")
  upstream_pid=${pids[-1]}
  taskset -c 0 "$bin" serve --base-url "$upstream" --port 0 --max-concurrency 4096 >"$tmp/serve" 2>/dev/null & pids+=($!)
  gateway=$(wait_line "$tmp/serve")
  gateway_pid=${pids[-1]}
}
cpu_ticks() { awk '{printf "%d ", $14 + $15}' "/proc/$gateway_pid/stat" "/proc/$upstream_pid/stat"; }
run() { # NAME N C ARGS...: one load, JSON report in $tmp/NAME.json
  local name=$1 n=$2 c=$3 core=1; shift 3
  [[ " $* " == *" --base-url "* ]] && core=0
  local before after; before=($(cpu_ticks))
  taskset -c "$core" "$bin" bench "$@" -n "$n" -c "$c" --json >"$tmp/$name.json"
  after=($(cpu_ticks))
  echo $(( after[0] - before[0] )) $(( after[1] - before[1] )) >"$tmp/$name.ticks"
}

start 0
run warm 200 10 --openai "$gateway/v1"
for i in $(seq "$runs"); do
  run "direct1-$i" 2000 1 --base-url "$upstream"
  run "gateway1-$i" 2000 1 --openai "$gateway/v1"
done
kill "${pids[@]}"; pids=()

start "$delay"
run warm 500 500 --openai "$gateway/v1"
# How long one answer lasts, hence the arrival rate for CONCURRENCY live ones.
run probe 5 1 --base-url "$upstream"
rate=$(python3 -c "import json,sys; r=json.load(open('$tmp/probe.json')); print(round($concurrency / (r['request_ms']['p50'] / 1000), 1))")
n=$(python3 -c "print(int($rate * 10))")
for i in $(seq "$runs"); do
  run "directN-$i" "$n" $((concurrency * 2)) --rate "$rate" --base-url "$upstream"
  run "gatewayN-$i" "$n" $((concurrency * 2)) --rate "$rate" --openai "$gateway/v1"
done

python3 - "$tmp" "$concurrency" "$delay" "$runs" "$(getconf CLK_TCK)" <<'PY'
import json, statistics, sys
tmp, c, delay, runs, hz = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def load(name):
    r = json.load(open(f"{tmp}/{name}.json"))
    gateway, upstream = open(f"{tmp}/{name}.ticks").read().split()
    r["cpu"], r["upstream_cpu"] = int(gateway) / hz, int(upstream) / hz
    return r
def report(label, key):
    print(label)
    added = {"ttft50": [], "ttft99": [], "lat50": [], "lat99": [], "gap99": []}
    for i in range(1, runs + 1):
        d, g = load(f"direct{key}-{i}"), load(f"gateway{key}-{i}")
        for name, x in (("direct ", d), ("gateway", g)):
            t, ch = x["time_to_first_token_ms"], x["inter_chunk_ms"]
            l = x["chunk_latency_ms"]
            print(f"  {name} {x['requests_per_second']:7.1f} streams/s, {x['mean_in_flight']:4.0f} live  TTFT p50 {t['p50']:7.3f} p99 {t['p99']:7.3f} ms"
                  f"  chunk latency p50 {l['p50']:6.3f} p99 {l['p99']:6.3f} ms  gap p99 {ch['p99']:7.3f} ms  failed {x['failed']}")
        print(f"  gateway CPU: {g['cpu'] * 1e6 / g['chunks']:.1f} µs per chunk, core 0 {100 * g['cpu'] / g['seconds']:.0f} % busy;"
              f" core 1 (emulator + load tool) {100 * (g['upstream_cpu'] + g['client_cpu_seconds']) / g['seconds']:.0f} % busy,"
              f" in the direct run core 0 (load tool) {100 * d['client_cpu_seconds'] / d['seconds']:.0f} %, core 1 (emulator) {100 * d['upstream_cpu'] / d['seconds']:.0f} %")
        added["ttft50"].append(g["time_to_first_token_ms"]["p50"] - d["time_to_first_token_ms"]["p50"])
        added["ttft99"].append(g["time_to_first_token_ms"]["p99"] - d["time_to_first_token_ms"]["p99"])
        added["lat50"].append(g["chunk_latency_ms"]["p50"] - d["chunk_latency_ms"]["p50"])
        added["lat99"].append(g["chunk_latency_ms"]["p99"] - d["chunk_latency_ms"]["p99"])
        added["gap99"].append((g["inter_chunk_ms"]["p99"] - d["inter_chunk_ms"]["p99"]) * 1000)
    def show(xs, unit, scale=1):
        return f"median {statistics.median(xs):+.3f} {unit} (runs {', '.join(f'{x:+.3f}' for x in xs)})"
    print(f"  added TTFT p50: {show(added['ttft50'], 'ms')}")
    print(f"  added TTFT p99: {show(added['ttft99'], 'ms')}")
    print(f"  added chunk latency p50: {show(added['lat50'], 'ms')}")
    print(f"  added chunk latency p99: {show(added['lat99'], 'ms')}")
    print(f"  added chunk gap p99: {show(added['gap99'], 'µs')}")
report("1 stream, no delay between events:", "1")
report(f"about {c} streams live, {delay} ms between events, open load:", "N")
PY
