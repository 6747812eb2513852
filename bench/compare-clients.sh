#!/usr/bin/env bash
# One long answer (CHARS characters, 4 per event) received by: curl (the
# floor: receiving the bytes, logged in beforehand), `fakegpt chat` (the
# whole process: start-up and decoding included) twice — with the session
# its default `file` store kept from an earlier run, as a user's next
# command runs and as the others are measured, and logging in first
# (`--store memory`) — and gpt4free 0.5.2.9's FakeGpt (in-process, logged
# in beforehand; it reads only the legacy dialect). Four framings from the
# emulator, each event's JSON
# carrying a fresh timestamp before the answer as a real upstream's does:
#   legacy, unpaced    cumulative events as fast as the socket takes them
#   legacy, paced      one event every PACE ms, each its own read
#   v1, unpaced        delta-encoded frames
#   v1, paced
# Prints CPU seconds (median of RUNS) and the ratios, all from one run.
#
# usage: bench/compare-clients.sh [RUNS, default 5] [CHARS, default 32000] [PACE ms, default 0.2]
# BEFORE=PATH adds a column: another `fakegpt` binary (an older build) on
# the legacy framings (older builds have no --dialect).
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
chars="${2:-32000}"
pace="${3:-0.2}"

source bench/common.sh
venv=target/bench-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check g4f==0.5.2.9
prompt="Tell me a long story"
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

before="${BEFORE:-}"
printf '%-16s %6s %7s %18s %18s %18s %16s %16s\n' framing "MB" "curl s" "fakegpt s (×curl)" "+login s (×curl)" \
  "gpt4free s (×curl)" "gpt4free/fakegpt" "$( [ -n "$before" ] && echo "before, +login (×curl)")"
for framing in "legacy 0" "legacy $pace" "v1 0" "v1 $pace"; do
  read -r dialect delay <<<"$framing"
  out="$tmp/upstream-$dialect-$delay"
  "$bin" upstream --port 0 --dialect auto --fresh-times --reply-chars "$chars" \
    --chars-per-event 4 --delay-ms "$delay" >"$out" 2>/dev/null &
  pids+=($!)
  url=$(wait_line "$out")
  # The session kept in a file store, as the default `file` store keeps it.
  kept=(chat --base-url "$url" --store "file:$tmp/state-$dialect-$delay" --dialect "$dialect")
  "$bin" "${kept[@]}" "log in" >/dev/null
  curl_s=(); ours=(); login=(); theirs=(); old=()
  for _ in $(seq "$runs"); do
    read -r receive size < <("$venv/bin/python" bench/floor.py "$url" "$prompt" "$dialect")
    curl_s+=("$receive")
    ours+=("$("$venv/bin/python" bench/cpu.py "$bin" "${kept[@]}" "$prompt")")
    login+=("$("$venv/bin/python" bench/cpu.py "$bin" chat --base-url "$url" --store memory --dialect "$dialect" "$prompt")")
    if [ "$dialect" = legacy ] && [ -n "$before" ]; then
      old+=("$("$venv/bin/python" bench/cpu.py "$before" chat --base-url "$url" --store memory "$prompt")")
    fi
    if [ "$dialect" = legacy ]; then
      theirs+=("$("$venv/bin/python" bench/g4f_client.py "${url/127.0.0.1/localhost}" "$prompt" | awk '{print $1}')")
    fi
  done
  kill "${pids[-1]}" 2>/dev/null || true
  c=$(printf '%s\n' "${curl_s[@]}" | median)
  o=$(printf '%s\n' "${ours[@]}" | median)
  l=$(printf '%s\n' "${login[@]}" | median)
  t=$( [ "${#theirs[@]}" -gt 0 ] && printf '%s\n' "${theirs[@]}" | median || echo "")
  b=$( [ "${#old[@]}" -gt 0 ] && printf '%s\n' "${old[@]}" | median || echo "")
  label="$dialect, $( [ "$delay" = 0 ] && echo unpaced || echo "${delay} ms")"
  awk -v label="$label" -v size="$size" -v c="$c" -v o="$o" -v l="$l" -v t="$t" -v b="$b" 'BEGIN {
    theirs = (t == "") ? sprintf("%18s", "cannot read v1") : sprintf("%9.4f (%5.2fx)", t, t / c)
    ratio = (t == "") ? "" : sprintf("%.1fx", t / o)
    old = (b == "") ? "" : sprintf("%9.4f (%5.2fx)", b, b / c)
    printf "%-16s %6.1f %7.4f %9.4f (%5.2fx) %9.4f (%5.2fx) %s %16s %16s\n", label, size / 1e6, c, o, o / c, l, l / c, theirs, ratio, old
  }'
done
echo "median of $runs runs; curl and fakegpt are whole processes, gpt4free is measured in-process after its log-in;"
echo "fakegpt: the session kept from an earlier run (curl and gpt4free are logged in beforehand too); +login: logging in first"
