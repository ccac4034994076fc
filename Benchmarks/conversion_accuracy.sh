#!/usr/bin/env bash
# ANN -> SNN conversion accuracy on the full test sets (issue: import and convert).
# Converts the committed ONNX fixtures with channel-norm and layer-norm (p99.99, 200 train images for
# calibration), simulates all 10,000 t10k images with direct input and membrane decoding for T = 256,
# decoding also at T = 8..128 (checkpoints: exact, see CheckpointTests), and prints one table.
# Usage: Benchmarks/conversion_accuracy.sh [samples] [out-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
samples="${1:-10000}"
out="${2:-results/conversion-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
swift build -c release --product spikescale >/dev/null
bin=.build/release/spikescale
run() {  # model dataset norm
  local m=$1 d=$2 n=$3
  "$bin" convert "Tests/Fixtures/$m.onnx" --calibration "../shared/data/$d" --calibration-count 200 --norm "$n" \
    --statistic p99.99 --output "$out/$m-$n.json" > "$out/$m-$n.convert.txt"
  "$bin" simulate --model "$out/$m-$n.json" --data "../shared/data/$d" --samples "$samples" -T 256 \
    --checkpoints 8,16,32,64,128 --compare-ann --quiet --overwrite --json "$out/$m-$n.result.json" > "$out/$m-$n.simulate.txt"
}
for m in "mnist-cnn mnist" "fashion-cnn fashion-mnist"; do
  set -- $m
  run "$1" "$2" channel &
  run "$1" "$2" layer
  wait
done
python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
print("| model | norm | ANN top-1 | T=8 | T=16 | T=32 | T=64 | T=128 | T=256 | samples |")
print("|---|---|---|---|---|---|---|---|---|---|")
for f in sorted(glob.glob(os.path.join(out, "*.result.json"))):
    r = json.load(open(f))
    name = os.path.basename(f).replace(".result.json", "")
    model, norm = name.rsplit("-", 1)
    cps = {c["timesteps"]: c["top1"] for c in r["checkpoints"]}
    cells = " | ".join(f"{cps[t]*100:.2f}" for t in (8, 16, 32, 64, 128, 256))
    print(f"| {model} | {norm} | {r['ann']['top1']*100:.2f} | {cells} | {r['samples']} |")
PY
