#!/usr/bin/env bash
# Full YOLOv3 at 416x416 (zoo:yolov3: Darknet's yolov3.cfg, seeded weights scaled to ~10% firing), issue 11 item 5.
# Writes the zoo model once as a native model (so that each run's peak RSS is the simulation's, not the
# weight calibration's), simulates one synthetic image at T on 1 and on 2 ranks, checks that every counter
# (per layer spikes, synaptic ops, MACs, neuron updates) and every output is identical, and prints wall
# time, seconds per image and peak RSS per rank. Also writes a 1-rank profile for the scaling model.
# Usage: Benchmarks/yolov3.sh [T] [out-dir] [scratch-path]
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
T="${1:-16}"
out="${2:-results/yolov3-$(date +%Y%m%d-%H%M%S)}"
scratch="${3:-.build}"
mkdir -p "$out"
swift build -c release --product spikescale --scratch-path "$scratch" >/dev/null
export SPIKESCALE_BIN="$PWD/$scratch/release/spikescale"
bin="$SPIKESCALE_BIN"
[ -f "$out/yolov3.json" ] || "$bin" zoo yolov3 --output "$out/yolov3.json"
for n in 1 2; do
  /usr/bin/time -f "%e s wall, %M kB max RSS (largest rank)" -o "$out/r$n.time" \
    Launch/mpirun.sh -n "$n" simulate --model "$out/yolov3.json" --input synthetic -T "$T" --samples 1 --quiet --overwrite \
    --json "$out/r$n.json" > "$out/r$n.txt"
done
"$bin" profile --model "$out/yolov3.json" --input synthetic -T "$T" --samples 1 --quiet --output "$out/profile.json" > "$out/profile.txt"
python3 - "$out" <<'PY'
import json, sys, os
out = sys.argv[1]
r = {n: json.load(open(os.path.join(out, f"r{n}.json"))) for n in (1, 2)}
keys = ("spikes", "positiveSpikes", "negativeSpikes", "synapticOps", "analogMacs", "neuronUpdates")
same = all(a[k] == b[k] for a, b in zip(r[1]["layers"], r[2]["layers"]) for k in keys) and \
       all(r[1][k] == r[2][k] for k in ("spikes", "synapticOps", "analogMacs"))
s1 = [json.loads(l) for l in open(os.path.join(out, "r1.json.samples.jsonl"))]
s2 = [json.loads(l) for l in open(os.path.join(out, "r2.json.samples.jsonl"))]
o1 = [a["outputs"] for a in s1 if "sample" in a]; o2 = [b["outputs"] for b in s2 if "sample" in b]
outs_same = len(o1) == 1 and o1 == o2
print(f"{r[1]['network']}: {r[1]['neurons']} neurons, {r[1]['annMacsPerSample']/1e9:.2f} G MACs per forward, T = {r[1]['timesteps']}")
print(f"counters identical on 1 and 2 ranks: {same}; outputs identical: {outs_same}")
print(f"firing rate {r[1]['firingRate']:.4f}, spikes {r[1]['spikes']}, synaptic ops {r[1]['synapticOps']}")
print("| ranks | s/image | synaptic ops/s | peak RSS per rank (MB) | wall (s) |")
print("|---|---|---|---|---|")
for n in (1, 2):
    x = r[n]
    rss = ", ".join(f"{c['peakResidentBytes']/1e6:.0f}" for c in x["communication"])
    wall = open(os.path.join(out, f"r{n}.time")).read().split()[0]
    print(f"| {n} | {x['secondsPerSample']:.2f} | {x['synapticOpsPerSecond']/1e9:.2f} G | {rss} | {wall} |")
m1 = max(c["peakResidentBytes"] for c in r[1]["communication"]); m2 = max(c["peakResidentBytes"] for c in r[2]["communication"])
print(f"2-rank peak per rank / 1-rank peak: {m2/m1:.2f}; speed-up 1 -> 2 ranks: {r[1]['secondsPerSample']/r[2]['secondsPerSample']:.2f}x")
sys.exit(0 if same and outs_same else 1)
PY
