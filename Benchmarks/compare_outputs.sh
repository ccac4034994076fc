#!/usr/bin/env bash
# Runs a fixed set of user-visible commands with one spikescale build and stores their outputs with the
# timing fields taken out, so two builds (before and after a refactoring) can be compared byte for byte.
#   Benchmarks/compare_outputs.sh LABEL [REPO]     # REPO: checkout whose .build/release/spikescale runs (default .)
#   diff -r "$COMPARE_DIR/before" "$COMPARE_DIR/after"
# The set: runs the CI suite makes (zoo and converted networks, conversion inside simulate, yolo-fastest
# converted, N-MNIST event frames, bad-input messages), the Deng tables (Benchmarks/deng_tables.sh),
# the MNIST sweep (Configs/mnist-sweep.yaml), the yolo-fastest config run (Configs/yolo-fastest.yaml) and
# one report over them. Sizes are cut (samples, T) so a pass takes about 10 minutes on 2 cores:
# COMPARE_SAMPLES (Deng tables, default 300), COMPARE_SWEEP_SAMPLES (default COMPARE_SAMPLES), COMPARE_YF_SAMPLES
# (default 1). The full sizes: COMPARE_SAMPLES=10000 COMPARE_SWEEP_SAMPLES=1000 COMPARE_YF_SAMPLES=8 (about 10 minutes a pass).
# Removed before comparing: wallSeconds, secondsPerSample, synapticOpsPerSecond, timing, per-sample seconds,
# peakResidentBytes, the terminal's per-rank timing and wall lines, and the report's timing rows.
#   Benchmarks/compare_outputs.sh --diff A B [KEYS]  # the files of stored outputs A and B that differ, JSON
#                                                   # compared without the comma-separated KEYS (kind,version)
set -euo pipefail
COMPARE_DIR=${COMPARE_DIR:-/tmp/spikescale-compare}
if [ "${1:-}" = "--diff" ]; then
  python3 - "$COMPARE_DIR/${2:?}" "$COMPARE_DIR/${3:?}" "${4:-}" <<'EOF'
import json, os, sys
a_dir, b_dir, keys = sys.argv[1], sys.argv[2], set(filter(None, sys.argv[3].split(",")))
def strip(o):
    if isinstance(o, dict): return {k: strip(v) for k, v in o.items() if k not in keys}
    if isinstance(o, list): return [strip(v) for v in o]
    return o
def load(data, name):
    if name.endswith(".jsonl"): return [strip(json.loads(l)) for l in data.decode().splitlines()]
    return strip(json.loads(data))
names = set()
for d in (a_dir, b_dir):
    for root, _, files in os.walk(d): names |= {os.path.relpath(os.path.join(root, f), d) for f in files}
differ = 0
for n in sorted(names):
    pa, pb = os.path.join(a_dir, n), os.path.join(b_dir, n)
    if not (os.path.exists(pa) and os.path.exists(pb)): print("only in one:", n); differ += 1; continue
    A, B = open(pa, "rb").read(), open(pb, "rb").read()
    if A == B: continue
    try:
        if n.endswith((".json", ".jsonl")) and load(A, n) == load(B, n): continue
    except ValueError: pass
    print("differs:", n); differ += 1
print(f"{len(names)} files, {differ} differ" + (f" (ignoring {','.join(sorted(keys))})" if keys else ""))
EOF
  exit 0
fi
LABEL=${1:?usage: compare_outputs.sh LABEL [REPO]}
REPO=$(cd "${2:-.}" && pwd)
N=${COMPARE_SAMPLES:-300}
YF=${COMPARE_YF_SAMPLES:-1}
SW=${COMPARE_SWEEP_SAMPLES:-$N}
W="$COMPARE_DIR/work"            # the same absolute path for every build, so paths inside results agree
rm -rf "$W" "$COMPARE_DIR/$LABEL"; mkdir -p "$W" "$COMPARE_DIR/$LABEL"
cd "$REPO"
source Launch/env.sh
B="$REPO/.build/release/spikescale"
D=$(cd ../shared/data && pwd)
MPI="$MPIEXEC -n"
log() { echo "== $*" >&2; }
run() {  # run NAME RANKS ARGS...: stdout and stderr kept, exit status recorded
  local name=$1 ranks=$2; shift 2
  log "$name"
  set +e
  $MPI "$ranks" "$B" "$@" > "$W/$name.out" 2> "$W/$name.err"
  echo "exit $?" >> "$W/$name.out"
  set -e
}

# 1. The CI suite's runs
run mnist-zoo-1 1 simulate --model zoo:mnist-cnn --data "$D/mnist" --samples 3 -T 8 --seed 3 --json "$W/mnist-zoo-1.json" --quiet
run mnist-zoo-2 2 simulate --model zoo:mnist-cnn --data "$D/mnist" --samples 3 -T 8 --seed 3 --json "$W/mnist-zoo-2.json" --quiet
run mnist-convert-bernoulli 2 simulate --model Tests/Fixtures/mnist-cnn.onnx --calibration "$D/mnist" --calibration-count 20 \
    --output-neurons spiking --data "$D/mnist" --samples 4 -T 8 --seed 3 --encoder bernoulli --decoding spikes \
    --checkpoints 4 --compare-ann --json "$W/mnist-convert-bernoulli.json" --quiet
run branchy 3 simulate --model zoo:branchy --input synthetic --samples 2 -T 8 --seed 5 --raster 3 --json "$W/branchy.json" --quiet
run tiny-yolov3 2 simulate --config Configs/tiny-yolov3.yaml --json "$W/tiny-yolov3.json" --quiet --show-plan
run yf-convert 1 convert "$D/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg" --calibration "$D/coco8/images/train" \
    --calibration-count 2 --burst 2 --output "$W/yf.json"
run yf-simulate 2 simulate --model "$W/yf.json" --data "$D/coco8/images/val" --samples 1 -T 16 --compare-ann --layer-errors \
    --checkpoints 8 --json "$W/yf-simulate.json" --quiet
run nm5-convert 1 convert Tests/Fixtures/nmnist-model5-cnn.onnx --calibration "$D/nmnist-small" --calibration-count 20 \
    --output "$W/nm5.json"
run nm5-events 2 simulate --model "$W/nm5.json" --data "$D/nmnist-small" --encoder events -T 30 --bin-ms 10 --samples 3 \
    --checkpoints 10,20 --json "$W/nm5-events.json" --quiet
run resume-a 1 simulate --model zoo:mnist-cnn --data "$D/mnist" -T 4 --samples 2 --json "$W/resume.json" --quiet
run resume-b 2 simulate --model zoo:mnist-cnn --data "$D/mnist" -T 4 --samples 3 --resume --json "$W/resume.json" --quiet
printf 'timestep: 4\n' > "$W/bad-key.yaml"; printf 'timesteps: -2\n' > "$W/bad-t.yaml"
run bad-key 1 simulate --config "$W/bad-key.yaml" --input synthetic
run bad-t 2 simulate --config "$W/bad-t.yaml" --input synthetic
run bad-model 1 simulate --model "$W/none.json" --input synthetic
run bad-refused 1 simulate --model zoo:mnist-cnn --data "$D/mnist" --samples 1 -T 4 --decoding spikes --quiet
run bad-ranks 5 simulate --model zoo:branchy --input synthetic -T 2
run zoo 1 zoo mnist-cnn --output "$W/zoo-mnist.json"
run inspect 1 inspect "$W/yf.json"
run plan 1 plan zoo:tiny-yolov3 --ranks 3
run evaluate 1 evaluate Tests/Fixtures/mnist-mlp.onnx --data "$D/mnist" --samples 200 --json "$W/evaluate.json" --quiet

# 2. The Deng tables (smaller: N samples, T = 64)
log "deng tables"
mkdir -p "$W/deng"
( Benchmarks/deng_tables.sh "$N" 64 "$W/deng" > "$W/deng-tables.out" 2> "$W/deng-tables.err" )

# 3. The MNIST sweep (N samples a point)
run mnist-sweep 2 sweep --config Configs/mnist-sweep.yaml --samples "$SW" --output "$W/sweep" --quiet

# 4. The yolo-fastest config run (YF images; the config's T = 512, burst, burn-in, checkpoint 256)
run yolo-fastest 2 simulate --config Configs/yolo-fastest.yaml --samples "$YF" --json "$W/yolo-fastest.json" --quiet

# 5. One report over them
run report 1 report "$W/sweep/sweep.json" "$W/deng/m2-cnn-bernoulli.json" "$W/deng/mnist-cnn-snn.report.json" \
    "$W/yolo-fastest.json" "$W/yf-simulate.json" --output "$W/report"
run summarize 1 summarize --csv "$W/summary.csv" "$W/mnist-zoo-1.json" "$W/mnist-zoo-2.json"
run costs 1 costs "ANN=$W/evaluate.json" "SNN=$W/mnist-zoo-2.json" "missing=-"

# Normalize: drop timing, keep everything else byte for byte.
python3 - "$W" "$COMPARE_DIR/$LABEL" <<'EOF'
import json, os, re, sys
src, dst = sys.argv[1], sys.argv[2]
DROP = {"wallSeconds", "secondsPerSample", "synapticOpsPerSecond", "timing", "seconds", "peakResidentBytes"}
def strip(o):
    if isinstance(o, dict): return {k: strip(v) for k, v in o.items() if k not in DROP}
    if isinstance(o, list): return [strip(v) for v in o]
    return o
TIMING_LINES = re.compile(r"^(rank \d+: update|wall \d|\[\d+/\d+\] )|ms/sample|s/sample")
for root, _, files in os.walk(src):
    for f in files:
        p = os.path.join(root, f); rel = os.path.relpath(p, src)
        out = os.path.join(dst, rel); os.makedirs(os.path.dirname(out), exist_ok=True)
        data = open(p, "rb").read()
        if f.endswith(".bin"):
            open(out, "wb").write(data); continue
        text = data.decode("utf-8", "replace")
        if f.endswith(".json") or f.endswith(".jsonl"):
            try:
                if f.endswith(".jsonl"):
                    text = "\n".join(json.dumps(strip(json.loads(l)), sort_keys=True) for l in text.splitlines() if l.strip()) + "\n"
                else:
                    text = json.dumps(strip(json.loads(text)), sort_keys=True, indent=1) + "\n"
            except ValueError:
                pass
        elif f.endswith(".html"):
            text = re.sub(r"<tr><td>(wall time|seconds per sample|synaptic ops per second|slowest rank[^<]*)</td>.*?</tr>", "", text)
        elif (f.endswith(".csv") and "summary" in f) or f == "summarize.out":
            text = "\n".join(",".join(c for i, c in enumerate(l.split(",")) if i not in (6, 7, 8, 9, 10, 13, 14, 15, 16, 19))
                             for l in text.splitlines()) + "\n"
        else:
            text = "\n".join(l for l in text.splitlines() if not TIMING_LINES.search(l)) + "\n"
        open(out, "w").write(text)
EOF
echo "outputs of $B stored in $COMPARE_DIR/$LABEL"
