#!/usr/bin/env bash
# Peak memory per rank and update time of two builds, alternated in one run (issue 11, memory).
# Simulates MODEL (a native model; default: zoo tiny-yolov3 at 416 written once) on 1 and 2 ranks, SAMPLES
# synthetic images at T, with build A then build B, ROUNDS times; checks that both builds give the same
# counters and outputs, and prints peak RSS per rank (VmHWM) and the busiest rank's update seconds.
# Usage: Benchmarks/memory_ab.sh BIN_A BIN_B OUT [MODEL] [T] [SAMPLES] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
A="$1"; B="$2"; out="$3"; model="${4:-}"; T="${5:-16}"; samples="${6:-2}"; rounds="${7:-2}"
mkdir -p "$out"
if [ -z "$model" ]; then
  model="$out/ty.json"
  [ -f "$model" ] || "$B" zoo tiny-yolov3 --output "$model" >/dev/null
fi
for r in $(seq "$rounds"); do
  for n in 1 2; do
    for build in A B; do
      bin="$A"; [ "$build" = B ] && bin="$B"
      SPIKESCALE_BIN="$bin" Launch/mpirun.sh -n "$n" simulate --model "$model" --input synthetic --samples "$samples" -T "$T" \
        --quiet --overwrite --json "$out/$build-n$n-r$r.json" > /dev/null
    done
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
keys = ("spikes", "positiveSpikes", "negativeSpikes", "synapticOps", "analogMacs", "neuronUpdates")
def load(p):
    r = json.load(open(p))
    s = [json.loads(l) for l in open(p + ".samples.jsonl")][1:]
    return r, [x["outputs"] for x in s]
ok = True
print("| build | ranks | peak RSS per rank (MB), by round | busiest rank's update (s), by round |")
print("|---|---|---|---|")
ref = None
for n in (1, 2):
    for b in ("A", "B"):
        mem, upd = [], []
        for r in range(1, rounds + 1):
            res, outs = load(os.path.join(out, f"{b}-n{n}-r{r}.json"))
            if ref is None: ref = (res, outs)
            same = all(x[k] == y[k] for x, y in zip(ref[0]["layers"], res["layers"]) for k in keys) and outs == ref[1]
            ok &= same
            mem.append("/".join(f"{c['peakResidentBytes']/1e6:.1f}" for c in res["communication"]))
            upd.append(f"{max(t['update'] for t in res['timing']):.2f}")
        print(f"| {b} | {n} | {', '.join(mem)} | {', '.join(upd)} |")
print("counters and outputs identical across builds and rank counts:", ok)
sys.exit(0 if ok else 1)
PY
