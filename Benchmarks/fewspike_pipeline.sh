#!/usr/bin/env bash
# The pipelined few-spike schedule against the layer-by-layer one (issue 12), side by side in one run: for each
# fixture, convert once with --coding fs, then simulate the same samples with --pipeline 1 (layer by layer) and
# --pipeline P, alternating, REPEAT times each, on 1 and 2 ranks. Checks that the samples files are identical
# (outputs and counters do not depend on the pipeline) and prints images/s, sub-steps per image and the ratio.
# Usage: [MODELS='model:dataset:K ...'] [P=8] [REPEAT=2] [BIN=built binary] Benchmarks/fewspike_pipeline.sh [samples] [out-dir] [scratch-path]
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
samples="${1:-2000}"
out="${2:-results/fewspike-pipeline-$(date +%Y%m%d-%H%M%S)}"
scratch="${3:-.build}"
P="${P:-8}"; REPEAT="${REPEAT:-2}"
mkdir -p "$out"
if [ -z "${BIN:-}" ]; then swift build -c release --product spikescale --scratch-path "$scratch" >/dev/null; fi
bin="${BIN:-$scratch/release/spikescale}"
for spec in ${MODELS:-mnist-cnn:mnist:8 fashion-mobilenet-hs:fashion-mnist:16}; do
  IFS=: read -r m d k <<< "$spec"
  "$bin" convert --model "Tests/Fixtures/$m.onnx" --calibration "../shared/data/$d" --coding fs -K "$k" \
    --snn-model "$out/$m-fs$k" > "$out/$m-fs$k.convert.txt"
  for r in $(seq "$REPEAT"); do
    for ranks in 1 2; do
      for p in 1 "$P"; do
        "$MPIEXEC" -n "$ranks" "$bin" simulate --model "$out/$m-fs$k" --data "../shared/data/$d" --samples "$samples" \
          --encoder direct --pipeline "$p" --quiet --overwrite --json "$out/$m-r$ranks-p$p-$r.json" > /dev/null
      done
    done
  done
done
python3 - "$out" "$P" <<'PY'
import json, sys, glob, os, re, statistics
out, P = sys.argv[1], sys.argv[2]
runs = {}
for f in glob.glob(os.path.join(out, "*-r*-p*-*.json")):
    if ".samples" in f: continue
    m, ranks, p, rep = re.match(r"(.*)-r(\d+)-p(\d+)-(\d+)\.json", os.path.basename(f)).groups()
    runs.setdefault((m, int(ranks)), {}).setdefault(int(p), []).append(f)
def strip(path):   # the samples file without wall-clock fields
    lines = []
    for line in open(path + ".samples.jsonl"):
        o = json.loads(line)
        if "run" in o: continue
        o.pop("seconds", None)
        lines.append(json.dumps(o, sort_keys=True))
    return lines
print(f"| model | ranks | layer by layer: images/s | sub-steps/image | pipeline {P}: images/s | sub-steps/image | speed-up | samples files identical |")
print("|---|---|---|---|---|---|---|---|")
for (m, ranks), by in sorted(runs.items()):
    one, many = by[1], by[int(P)]
    ips = lambda fs: statistics.median(json.load(open(f))["fewSpike"]["imagesPerSecond"] for f in fs)
    sub = lambda fs: json.load(open(fs[0]))["fewSpike"]["subStepsPerImage"]
    same = all(strip(f) == strip(one[0]) for f in one + many)
    print(f"| {m} | {ranks} | {ips(one):.1f} | {sub(one):.0f} | {ips(many):.1f} | {sub(many):.1f} | {ips(many)/ips(one):.2f}x | {'yes' if same else 'NO'} |")
PY
