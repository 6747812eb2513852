#!/usr/bin/env bash
# One long answer (32,000 characters, 4 per event: ~180 MB of cumulative
# events) from the emulator, received by: curl (the floor, plus a memchr
# pass), `fakegpt chat` (the whole process, start-up and login included),
# and gpt4free 0.5.2.9's FakeGpt (in-process, logged in beforehand).
# Prints CPU seconds (median of RUNS) and the ratios.
#
# usage: bench/compare-clients.sh [RUNS, default 3] [CHARS, default 32000]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
chars="${2:-32000}"

cargo build --release --quiet -p fakegpt-cli
cargo build --release --quiet -p fakegpt --example memchr_scan
venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check g4f==0.5.2.9

bin=target/release/fakegpt
out=$(mktemp)
"$bin" upstream --port 0 --reply-chars "$chars" --chars-per-event 4 --delay-ms 0 >"$out" 2>/dev/null &
upstream_pid=$!
trap 'kill $upstream_pid 2>/dev/null; rm -f "$out"' EXIT
for _ in $(seq 50); do [ -s "$out" ] && break; sleep 0.1; done
url=$(head -n 1 "$out")
prompt="Tell me a long story"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

floor_receive=(); floor_scan=(); ours=(); theirs=()
for _ in $(seq "$runs"); do
  read -r receive size file < <("$venv/bin/python" bench/floor.py "$url" "$prompt")
  read -r scan _ < <(target/release/examples/memchr_scan "$file")
  rm -f "$file"
  floor_receive+=("$receive"); floor_scan+=("$scan")
  ours+=("$( { /usr/bin/time -f '%U %S' "$bin" chat --base-url "$url" "$prompt" >/dev/null; } 2>&1 | awk '{print $1 + $2}')")
  theirs+=("$("$venv/bin/python" bench/g4f_client.py "${url/127.0.0.1/localhost}" "$prompt" | awk '{print $1}')")
done

r=$(printf '%s\n' "${floor_receive[@]}" | median)
s=$(printf '%s\n' "${floor_scan[@]}" | median)
o=$(printf '%s\n' "${ours[@]}" | median)
t=$(printf '%s\n' "${theirs[@]}" | median)
awk -v r="$r" -v s="$s" -v o="$o" -v t="$t" -v size="$size" -v chars="$chars" -v runs="$runs" 'BEGIN {
  floor = r + s
  printf "answer: %d characters, %.1f MB of events; median of %d runs, CPU seconds\n", chars, size / 1e6, runs
  printf "  floor: curl receive %.3f + memchr pass %.3f = %.3f\n", r, s, floor
  printf "  fakegpt chat (whole process): %.3f  = %.2fx the floor\n", o, o / floor
  printf "  gpt4free FakeGpt (in-process): %.3f = %.2fx the floor\n", t, t / floor
  printf "  gpt4free / fakegpt: %.1fx\n", t / o
}'
