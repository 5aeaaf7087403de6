#!/usr/bin/env bash
# Replay benchmark: analyze a busy ISATAP router's capture (half ISATAP pings
# from 256 stations to 64 DA clients, half LAN chatter: SMB, DNS, ARP, IPv4
# ping, MLD) at 0.5, 1, 2 and 4 million frames, side by side with
# `tcpdump -nn -r FILE 'ip proto 41'`, tshark (on a 200k-frame slice) and
# `cat FILE > /dev/null` (the page-cache floor), all in one run.
#
# Then bounded state: 10 million pings that are each a flow of their own
# (20 million frames, piped from the generator, never on disk) through
# `analyze -`: peak RSS and the eviction note of the report.
#
# Usage: benches/replay.sh [SIZES...]     (default: 500000 1000000 2000000 4000000)
#        DISTINCT_FLOWS=N benches/replay.sh  (default 10000000; 0 skips that part)
#        KEEP_CAPTURES=1 benches/replay.sh   (time the captures already in
#                                             target/replay as they are)
# Needs tcpdump and tshark (apt-get install tcpdump tshark). Each timing is the
# best of 3 runs with the file in the page cache, the tools taking turns (cat,
# isatap-trace, tcpdump, cat, ...) so that a busy spell of a shared machine
# falls on all of them alike; memory is peak RSS.
#
# Each capture is written afresh right before it is timed (1.5 s for 4
# million frames), as a capture copied onto the machine would be. A capture
# left from an earlier run is in an unknown state: a virtual machine that
# pages out memory nobody touched for a while (this project's does so after
# a minute, with DAMON) drops part of it, and what is read back in sits in
# the page cache in small pieces, which `cat` reads up to 60 % slower.
# KEEP_CAPTURES=1 times such a capture on purpose (see the README).
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ "${#sizes[@]}" -gt 0 ] || sizes=(500000 1000000 2000000 4000000)
for tool in tcpdump tshark /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "replay.sh: $tool is missing (apt-get install tcpdump tshark time)" >&2; exit 2; }
done

cargo build --release --quiet --bin isatap-trace --example make-replay
bin=target/release/isatap-trace
gen=target/release/examples/make-replay
dir=target/replay
mkdir -p "$dir"

# timed CMD...: the wall time of one run (to the millisecond: /usr/bin/time's
# own figure is rounded to 10 ms, a seventh of what cat takes) and its peak
# RSS (KiB).
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT
timed() {
    local from to
    from=$(date +%s%N)
    /usr/bin/time -o "$stats" -f "%M" "$@" >/dev/null 2>&1 || true
    to=$(date +%s%N)
    echo "$(awk -v ns="$((to - from))" 'BEGIN{printf "%.3f", ns/1e9}') $(tail -1 "$stats")"
}
# shorter A B: true when wall time A is below B (or B is not set yet).
shorter() { [ -z "$2" ] || awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<b)}'; }
# best_of CMD...: the shortest wall time of 3 runs, and the peak RSS (KiB) of that run.
best_of() {
    local best="" rss="" t m
    for _ in 1 2 3; do
        read -r t m < <(timed "$@")
        if shorter "$t" "$best"; then best=$t; rss=$m; fi
    done
    echo "$best $rss"
}

# capture N FILE: writes the N-frame capture to FILE afresh, unless
# KEEP_CAPTURES=1 and FILE is there already.
capture() {
    if [ "${KEEP_CAPTURES:-0}" = 1 ] && [ -f "$2" ]; then return; fi
    "$gen" --frames "$1" --out "$2" >/dev/null
}

slice="$dir/replay-200000.pcapng"
capture 200000 "$slice"
cat "$slice" >/dev/null
read -r tshark_s _ < <(best_of tshark -n -r "$slice")
tshark_fps=$(awk -v t="$tshark_s" 'BEGIN{printf "%.0f", 200000/t}')

printf '%-9s %7s  %7s  %14s %9s  %9s  %12s  %10s %10s\n' \
    frames MB "cat s" "isatap-trace s" "Mframes/s" "RSS MiB" "tcpdump s" "vs tcpdump" "vs cat"
for n in "${sizes[@]}"; do
    file="$dir/replay-$n.pcapng"
    capture "$n" "$file"
    mb=$(( $(stat -c %s "$file") / 1048576 ))
    cat "$file" >/dev/null
    cat_s="" ours_s="" ours_rss="" tcpdump_s=""
    for _ in 1 2 3; do
        read -r t _ < <(timed cat "$file")
        shorter "$t" "$cat_s" && cat_s=$t
        read -r t m < <(timed "$bin" analyze "$file")
        shorter "$t" "$ours_s" && { ours_s=$t; ours_rss=$m; }
        read -r t _ < <(timed tcpdump -nn -r "$file" 'ip proto 41')
        shorter "$t" "$tcpdump_s" && tcpdump_s=$t
    done
    awk -v n="$n" -v mb="$mb" -v c="$cat_s" -v o="$ours_s" -v r="$ours_rss" -v t="$tcpdump_s" 'BEGIN{
        printf "%-9d %7d  %7.3f  %14.3f %9.2f  %9.1f  %12.3f  %9.1fx %9.1fx\n",
            n, mb, c, o, n/o/1e6, r/1024, t, t/o, o/c }'
done
echo
echo "tshark -n -r (200000-frame slice): ${tshark_s} s, ${tshark_fps} frames/s"
echo "vs tcpdump: how many times faster than tcpdump (target: at least 15x)"
echo "vs cat: how many times the time of cat (target: at most 3x); RSS target: at most 256 MiB"

flows=${DISTINCT_FLOWS:-10000000}
if [ "$flows" -gt 0 ]; then
    echo
    report=$(mktemp)
    trap 'rm -f "$stats" "$report"' EXIT
    "$gen" --distinct-flows "$flows" --out - |
        /usr/bin/time -o "$stats" -f "%e %M" "$bin" analyze - >"$report" 2>/dev/null || true
    read -r t m < <(tail -1 "$stats")
    awk -v n="$flows" -v t="$t" -v m="$m" 'BEGIN{
        printf "bounded state: %d distinct flows (%d frames) in %.1f s (generator included), peak RSS %.1f MiB (target: at most 256)\n",
            n, 2*n, t, m/1024 }'
    grep -E '^note: state limits' "$report" || echo "no eviction note in the report" >&2
fi
