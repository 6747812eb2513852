# Sourced by the bench scripts: builds the release binary and sets up
# `$bin`, a scratch directory `$tmp`, the `pids` to kill on exit, and
# `wait_line FILE` (the first line a background process writes there).
cargo build --release --quiet -p fakegpt-cli
bin=target/release/fakegpt
tmp=$(mktemp -d)
pids=()
# A process already gone must not fail the script (errexit holds in the trap).
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$tmp"' EXIT
wait_line() { for _ in $(seq 100); do [ -s "$1" ] && break; sleep 0.1; done; head -n 1 "$1"; }
