#!/usr/bin/env bash
# One Deng-style table for issue 12: for MNIST, Fashion-MNIST and yolo-fastest-1.1, the ANN, the rate SNN at
# the smallest T reaching 99% of the ANN's accuracy (or its best T where none does), and the FS SNN, with
# accuracy or mAP@0.5, latency (steps or sub-steps), throughput (images/s on RANKS ranks), spikes per neuron,
# synaptic ops, energy under each preset and memory (Deng et al. eq. 8), all from this one run.
# - MNIST / Fashion: the committed fixtures; rate = `convert` with the defaults (channel norm, p99.9 of 100 train
#   images, IF neurons with memory for ReLU layers) decoded at T = 8, 16, 32, 64, 128 in one run, then run again at the chosen T; FS = `convert
#   --coding fs -K K`; all on the first N t10k images, direct (analog) input.
# - yolo-fastest-1.1: Configs/yolo-fastest.yaml (burst 2, burn-in 128) at T = 256 and
#   Configs/yolo-fastest-fs.yaml (K = 16), all 8 COCO8 images; the ANN by `evaluate`.
# A model whose OUT/MODEL-fs.json exists is kept (a rerun resumes after the last finished model). YOLO=0 leaves
# the detector out (its rows do not depend on the ReLU-layer defaults: it has no ReLU layer).
# Usage: [RANKS=2] [YOLO=1] [BIN=.build/release/spikescale] Benchmarks/deng_fs_table.sh [N] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}; OUT=${2:-results/deng-fs}; BIN=${BIN:-.build/release/spikescale}; RANKS=${RANKS:-2}; YOLO=${YOLO:-1}
mkdir -p "$OUT"
run() { MPIR_CVAR_CH4_NUM_VCIS=1 mpiexec -n "$RANKS" "$BIN" "$@"; }
for spec in mnist-cnn:mnist:8 fashion-cnn:fashion-mnist:8; do
  IFS=: read -r m d k <<< "$spec"
  [ -f "$OUT/$m-fs.json" ] && { echo "$m: kept from an earlier run in $OUT" >&2; continue; }
  data=../shared/data/$d
  "$BIN" evaluate --model "Tests/Fixtures/$m.onnx" --data "$data" --samples "$N" --quiet --json "$OUT/$m-ann.json" > /dev/null
  "$BIN" convert --model "Tests/Fixtures/$m.onnx" --calibration "$data" --snn-model "$OUT/$m-rate-snn.json" > /dev/null
  run simulate --model "$OUT/$m-rate-snn.json" --data "$data" --samples "$N" -T 128 --checkpoints 8,16,32,64 --encoder direct \
      --quiet --overwrite --json "$OUT/$m-rate-sweep.json" > /dev/null
  T=$(python3 - "$OUT/$m-ann.json" "$OUT/$m-rate-sweep.json" <<'PY'
import json, sys
a = json.load(open(sys.argv[1]))["top1"]; r = json.load(open(sys.argv[2]))
cps = sorted(r["checkpoints"], key=lambda c: c["timesteps"])
ok = [c["timesteps"] for c in cps if c["top1"] >= 0.99 * a]
print(ok[0] if ok else max(cps, key=lambda c: c["top1"])["timesteps"])
PY
)
  run simulate --model "$OUT/$m-rate-snn.json" --data "$data" --samples "$N" -T "$T" --encoder direct --quiet --overwrite \
      --json "$OUT/$m-rate.json" > /dev/null
  "$BIN" convert --model "Tests/Fixtures/$m.onnx" --calibration "$data" --coding fs -K "$k" --snn-model "$OUT/$m-fs-snn.json" > /dev/null
  run simulate --model "$OUT/$m-fs-snn.json" --data "$data" --samples "$N" --encoder direct --quiet --overwrite --json "$OUT/$m-fs.json" > /dev/null
  echo "$m done (rate T = $T)" >&2
done
if [ "$YOLO" = 1 ] && [ -f "$OUT/yolo-fastest-fs.json" ]; then
  echo "yolo-fastest: kept from an earlier run in $OUT" >&2
elif [ "$YOLO" = 1 ]; then
  "$BIN" evaluate --model ../shared/data/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg --data ../shared/data/coco8 --split train+val --samples 8 \
      --quiet --json "$OUT/yolo-fastest-ann.json" > /dev/null
  run simulate --config Configs/yolo-fastest.yaml -T 256 --checkpoints 192 --snn-model "$OUT/yolo-fastest-rate-snn.json" --quiet --overwrite \
      --json "$OUT/yolo-fastest-rate.json" > /dev/null
  run simulate --config Configs/yolo-fastest-fs.yaml --snn-model "$OUT/yolo-fastest-fs-snn.json" --quiet --overwrite --json "$OUT/yolo-fastest-fs.json" > /dev/null
  echo "yolo-fastest done" >&2
fi
python3 - "$OUT" "$RANKS" "$YOLO" <<'PY'
import json, os, sys
out, ranks, yolo = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
def load(n): return json.load(open(os.path.join(out, n)))
presets = ["spiking-yolo-fp32", "spiking-yolo-int32", "horowitz-45nm-fp32"]
def energies(es, key):
    d = {e["preset"]: e[key] for e in es}
    return " / ".join(f"{d[p]*1e6:.3g}" if p in d else "–" for p in presets)
print(f"| model | network | accuracy | latency | images/s ({ranks} ranks; ANN 1 process) | spikes / neuron / image | synaptic ops / image | energy / image, µJ ({' / '.join(presets)}) | memory (MB) |")
print("|---|---|---|---|---|---|---|---|---|")
for m, det in (("mnist-cnn", False), ("fashion-cnn", False)) + ((("yolo-fastest", True),) if yolo else ()):
    a = load(f"{m}-ann.json")
    acc = (lambda r: f"mAP {r['detection']['map50']:.4f}") if det else (lambda r: f"{100*r['top1']:.2f}%")
    fs = load(f"{m}-fs.json"); rate = load(f"{m}-rate.json")
    print(f"| {m} | ANN | {acc(a)} | 1 forward | {1/a['secondsPerSample']:.1f} | – | {a['compute']['multiplies']:.3g} MACs | "
          f"{energies(a['energy'], 'annJoules')} | {a['memory']['annBits']/8e6:.3f} |")
    for name, r in (("rate", rate), ("FS", fs)):
        n = r["samples"]
        lat = f"{r['fewSpike']['latencySubSteps']} sub-steps (K = {r['fewSpike']['subSteps']})" if r.get("fewSpike") else f"T = {r['timesteps']}"
        ips = r["fewSpike"]["imagesPerSecond"] if r.get("fewSpike") else 1 / r["secondsPerSample"]
        print(f"| {m} | {name} SNN | {acc(r)} | {lat} | {ips:.1f} | {r['spikes']/n/r['neurons']:.3f} | {r['synapticOps']/n:.3g} "
              f"(+{r['analogMacs']/n:.3g} analog MACs) | {energies(r['energyPresets'], 'snnJoules')} | {r['memory']['snnBits']/8e6:.3f} |")
PY
