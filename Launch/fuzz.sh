#!/usr/bin/env bash
# Coverage-guided fuzzing of every parser: libFuzzer with the address sanitizer (leaks included), each target
# for SECONDS (default 60), starting from its committed seed corpus (Tests/Fuzz/Corpus) and crash inputs
# (Tests/Fuzz/Crashes). Fails on any crash, hang (an input taking over 10 s), leak or out-of-memory; the
# input is kept as .build-fuzz/runs/TARGET/crash-* (or leak-*, timeout-*, oom-*). Prints one table row per
# target: executions per second, total executions, coverage edges and the result. Leaks in the toolchain's
# own libraries are suppressed by Tests/Fuzz/lsan.supp (each one explained there). allocator_may_return_null=1:
# a C library's malloc of an absurd size read from a corrupt file (HDF5's metadata cache does this) returns
# NULL as glibc's does, which the library handles and SpikeScale reports as one error, instead of ASan
# aborting; a Swift allocation that fails still traps (swift_slowAlloc), so SpikeScale's own huge requests
# are still found.
# FUZZ_SEED=N: libFuzzer's -seed (default: a random seed per run). With a fixed seed a target replays the
# same mutation sequence, so a CI run re-checks what was checked before instead of failing on a new random
# find; long randomized runs (no FUZZ_SEED) are how new crashes are found (Benchmarks/RESULTS.md).
# Usage: [FUZZ_SKIP='TARGET ...'] [FUZZ_SEED=N] Launch/fuzz.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
SECS=${1:-60}; shift || true
set -e
swift build -c debug --product spikescale-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING 2>&1 | grep -E "error|warning: unre|Compiling SpikeFuzz|Build complete" || true
BIN=.build-fuzz/debug/spikescale-fuzz
[ -x "$BIN" ] || { echo "fuzz: the build failed" >&2; exit 1; }
set +e
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || mapfile -t TARGETS < <(SPIKESCALE_FUZZ_TARGET=list "$BIN")
# FUZZ_SKIP="a b": targets left out (each with its reason where it is set).
for skip in ${FUZZ_SKIP:-}; do
  for i in "${!TARGETS[@]}"; do [ "${TARGETS[$i]}" = "$skip" ] && { unset 'TARGETS[i]'; echo "fuzz: skipping $skip (FUZZ_SKIP)" >&2; }; done
done
RUNS=.build-fuzz/runs
failed=0
printf '| target | execs/s | executions | edges (cov) | features | result |\n|---|---:|---:|---:|---:|---|\n'
for t in "${TARGETS[@]}"; do
  dir="$RUNS/$t"; rm -rf "$dir"; mkdir -p "$dir/corpus"
  seeds=(Tests/Fuzz/Corpus/"$t"); [ -d Tests/Fuzz/Crashes/"$t" ] && seeds+=(Tests/Fuzz/Crashes/"$t")
  SPIKESCALE_FUZZ_TARGET=$t ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 LSAN_OPTIONS=suppressions=Tests/Fuzz/lsan.supp "$BIN" "$dir/corpus" "${seeds[@]}" -max_total_time="$SECS" ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
    -timeout=10 -rss_limit_mb=4096 -detect_leaks=1 -print_final_stats=1 -artifact_prefix="$dir/" > "$dir/log" 2>&1
  status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' "$dir/log" | tail -1 | grep -o '[0-9]*')
  artifact=$(ls "$dir" | grep -E '^(crash|leak|timeout|oom|slow-unit)-' | head -1)
  if [ $status -eq 0 ]; then result=clean; else result="FAILED ($status) ${artifact:-see $dir/log}"; failed=1; fi
  printf '| %s | %s | %s | %s | %s | %s |\n' "$t" "${rate:-?}" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$result"
done
exit $failed
