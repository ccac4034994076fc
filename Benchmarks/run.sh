#!/usr/bin/env bash
# Engine benchmark, one command: builds release, measures on 1 and 2 ranks in one run, prints the
# side-by-side table (synaptic ops/s; SNN timestep vs dense ANN forward through OpenBLAS sgemm;
# 1 vs 2 ranks) and per-layer breakdowns. Usage: Benchmarks/run.sh [-T 16] [--networks tiny-yolov3,mnist-cnn]
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
swift build -c release --product spikescale-bench >/dev/null
bin=.build/release/spikescale-bench
out="${BENCH_OUT:-results/bench-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
for k in 1 2; do
  echo "== $k rank(s)"
  "$MPIEXEC" -n "$k" -bind-to core "$bin" measure --json "$out/ranks-$k.json" "$@"
done
echo
"$bin" compare "$out/ranks-1.json" "$out/ranks-2.json" | tee "$out/table.md"
