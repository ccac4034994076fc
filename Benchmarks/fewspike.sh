#!/usr/bin/env bash
# Few-spike (FS / AMOS) conversion on the full test sets (issue 12). For each fixture: the ANN
# (`evaluate`, the imported ONNX graph) and the FS SNN (`convert --coding fs -K K`, calibrated on 100
# train images, then `simulate` with direct input for depth x K sub-steps), all 10,000 t10k images.
# Prints one line per run: top-1 of both, spikes per neuron per image, synaptic ops, latency, wall time.
# Usage: [MODELS='model:dataset:K ...'] Benchmarks/fewspike.sh [samples] [out-dir] [scratch-path]
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
samples="${1:-10000}"
out="${2:-results/fewspike-$(date +%Y%m%d-%H%M%S)}"
scratch="${3:-.build}"
mkdir -p "$out"
swift build -c release --product spikescale --scratch-path "$scratch" >/dev/null
bin="$scratch/release/spikescale"
run() {  # model dataset K
  local m=$1 d=$2 k=$3
  "$bin" evaluate --model "Tests/Fixtures/$m.onnx" --data "../shared/data/$d" --samples "$samples" --quiet \
    --json "$out/$m-ann.json" > "$out/$m-ann.txt"
  "$bin" convert --model "Tests/Fixtures/$m.onnx" --calibration "../shared/data/$d" --coding fs -K "$k" \
    --snn-model "$out/$m-fs$k" > "$out/$m-fs$k.convert.txt"
  "$bin" simulate --model "$out/$m-fs$k" --data "../shared/data/$d" --samples "$samples" --encoder direct --quiet --overwrite \
    --json "$out/$m-fs$k.json" > "$out/$m-fs$k.simulate.txt"
}
for spec in ${MODELS:-mnist-cnn:mnist:8 fashion-cnn:fashion-mnist:8 fashion-silu-cnn:fashion-mnist:16 fashion-mobilenet-hs:fashion-mnist:16}; do
  IFS=: read -r m d k <<< "$spec"
  run "$m" "$d" "$k"
done
python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
print("| model | ANN top-1 | FS top-1 | K | latency (sub-steps) | spikes/neuron/image | synaptic ops/image | s/image |")
print("|---|---|---|---|---|---|---|---|")
for f in sorted(glob.glob(os.path.join(out, "*-fs*.json"))):
    if f.endswith(".report.json") or ".samples" in f: continue
    r = json.load(open(f))
    if r.get("kind") != "run": continue
    m = os.path.basename(f).split("-fs")[0]
    k = os.path.basename(f).split("-fs")[1].split(".")[0]
    a = json.load(open(os.path.join(out, m + "-ann.json")))
    n = r["samples"]
    neurons, spikes = r["neurons"], r["spikes"]
    print(f"| {m} | {100*a['top1']:.2f}% | {100*r['top1']:.2f}% | {k} | {r['timesteps']} | {spikes/n/neurons:.3f} | "
          f"{r['synapticOps']/n:.3g} | {r['secondsPerSample']:.4f} |")
PY
