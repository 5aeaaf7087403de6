#!/usr/bin/env bash
# Runs one fuzz target on the stable toolchain: `fuzz/run.sh TARGET [LIBFUZZER-OPTION...]`,
# e.g. `fuzz/run.sh analyze -runs=10000000`. The corpus is seeded first from
# captures/ and ../shared/corpus (fuzz/seed.py, skipped without python3).
# No sanitizer: nothing the targets reach has unsafe code, so the fuzzer
# looks for panics, hangs and runaway memory, and runs about twice as fast.
# CARGO_FUZZ_FLAGS adds cargo-fuzz options, e.g. "--no-trace-compares
# --target-dir fuzz/target-ntc" for more runs a second on long runs (coverage
# of comparisons is then coarser; the seeded corpus already passes the magic
# numbers).
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: fuzz/run.sh TARGET [LIBFUZZER-OPTION...]}
shift
case $target in
    decode_frame) max_len=4096 ;;
    pcap_reader | pcapng_reader) max_len=16384 ;;
    analyze) max_len=32768 ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
if command -v python3 >/dev/null 2>&1; then
    python3 fuzz/seed.py "$target"
fi
mkdir -p "fuzz/corpus/$target"
# shellcheck disable=SC2086 # CARGO_FUZZ_FLAGS is a list of options
exec cargo fuzz run --sanitizer none ${CARGO_FUZZ_FLAGS:-} "$target" "fuzz/corpus/$target" -- \
    -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 "$@"
