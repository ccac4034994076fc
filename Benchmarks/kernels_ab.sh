#!/usr/bin/env bash
# SNN step against the dense ANN forward of the same network, for two builds alternated in one run
# (issue 11, kernels): the seeded zoo Tiny-YOLOv3 (T = 16, one synthetic image), the converted
# yolo-fastest-1.1 of Configs/yolo-fastest.yaml (T = 64, the first COCO8 image) and, if given, a trained
# model with its data folder (T = 64, its first image), each on 1 and 2 ranks, ROUNDS times.
# Usage: Benchmarks/kernels_ab.sh BENCH_A BENCH_B OUT [ROUNDS] [TRAINED_MODEL TRAINED_DATA]
#   BENCH_x: a spikescale-bench binary (e.g. /work/old/.build/release/spikescale-bench)
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
A="$1"; B="$2"; out="$3"; rounds="${4:-2}"; trained="${5:-}"; tdata="${6:-}"
yf=results/yolo-fastest/yolo-fastest-snn.json
[ -f "$yf" ] || { echo "missing $yf: convert it first (spikescale convert --config Configs/yolo-fastest.yaml)" >&2; exit 1; }
mkdir -p "$out"
runs=()
for r in $(seq "$rounds"); do
  for n in 1 2; do
    for build in A B; do
      bin="$A"; [ "$build" = B ] && bin="$B"
      mpiexec -n "$n" "$bin" measure --networks tiny-yolov3 -T 16 --json "$out/$build-ty-n$n-r$r.json" > /dev/null
      mpiexec -n "$n" "$bin" measure --networks "$yf" --data ../shared/data/coco8 -T 64 --json "$out/$build-yf-n$n-r$r.json" > /dev/null
      if [ -n "$trained" ]; then
        mpiexec -n "$n" "$bin" measure --networks "$trained" --data "$tdata" -T 64 --json "$out/$build-tr-n$n-r$r.json" > /dev/null
      fi
    done
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, sys, glob, os
out, rounds = sys.argv[1], int(sys.argv[2])
def fig(p):
    return json.load(open(p))[0]
print("| network | build | ranks | step (ms), by round | forward (ms), by round | step / forward (1 rank), by round | synaptic ops/s (G) |")
print("|---|---|---|---|---|---|---|")
for net in ("ty", "yf", "tr"):
    for b in ("A", "B"):
        for n in (1, 2):
            ps = [f"{out}/{b}-{net}-n{n}-r{r}.json" for r in range(1, rounds + 1)]
            if not all(os.path.exists(p) for p in ps): continue
            f = [fig(p) for p in ps]
            step = [x["snnSecondsPerStep"] * 1e3 for x in f]
            fwd = [x["annSecondsPerForward"] * 1e3 for x in f]
            ratio = [s / a for s, a in zip(step, fwd)]
            ops = [x["synapticOpsPerSecond"] / 1e9 for x in f]
            print(f"| {net} | {b} | {n} | {', '.join(f'{s:.2f}' for s in step)} | {', '.join(f'{s:.2f}' for s in fwd)} | "
                  f"{', '.join(f'{s:.2f}' for s in ratio) if n == 1 else '-'} | {', '.join(f'{s:.2f}' for s in ops)} |")
PY
