#!/usr/bin/env bash
# Instruction counts of `isatap-trace analyze` over the replay capture,
# counted by valgrind's callgrind: the same binary and input give the same
# count whatever else the machine is doing, so a change of a few percent
# shows even where wall times (benches/replay.sh) vary by more than that
# from run to run on a shared machine. Counts leave out the kernel (reading
# the file) and cache misses; they complement the timings, not replace them.
#
# Usage: benches/instructions.sh [FRAMES]   (default 500000)
# Needs valgrind (apt-get install valgrind). Prints the instructions of each
# thread (the caller's: correlating and concluding; the reading thread:
# framing and decoding; helpers: parallel summaries), in all and per frame.
set -euo pipefail
cd "$(dirname "$0")/.."

frames=${1:-500000}
command -v valgrind >/dev/null || { echo "instructions.sh: valgrind is missing (apt-get install valgrind)" >&2; exit 2; }

cargo build --release --quiet --bin isatap-trace --example make-replay
dir=target/replay
mkdir -p "$dir"
file="$dir/replay-$frames.pcapng"
[ -f "$file" ] || target/release/examples/make-replay --frames "$frames" --out "$file" >/dev/null

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg" \
    target/release/isatap-trace analyze "$file" >/dev/null 2>"$out/log" || true

total=0
printf '%-10s %15s %12s\n' thread instructions "per frame"
for part in "$out"/cg-*; do
    n=$(callgrind_annotate "$part" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    [ -n "$n" ] || continue
    total=$((total + n))
    printf '%-10s %15d %12.1f\n' "${part##*-}" "$n" "$(awk -v n="$n" -v f="$frames" 'BEGIN{print n/f}')"
done
printf '%-10s %15d %12.1f\n' all "$total" "$(awk -v n="$total" -v f="$frames" 'BEGIN{print n/f}')"
echo "(01: the caller's thread; 02: the reading thread, whose slot the helpers of the conclusion reuse)"
