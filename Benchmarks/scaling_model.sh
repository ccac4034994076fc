#!/usr/bin/env bash
# The scaling model (issue 11, item 7): per-layer costs measured here (`spikescale profile`, 1 rank), checked
# against measured 1- and 2-rank runs (and 2 rank groups) of the same model, then projected to 64, 512 and
# 4096 ranks for a COCO val2017 evaluation (5,000 images) at T = 256 (`spikescale plan --project`).
# Models: yolo-fastest-1.1 converted as Configs/yolo-fastest.yaml does (burst 2, channel norm, p99.99,
# calibrated on Darknet's 7 sample images), and zoo:yolov3 (Benchmarks/yolov3.sh's model and 1/2-rank runs).
# Measurements stay small (T below, 1-2 COCO8 images) because the machine has 2 shared cores.
# Usage: Benchmarks/scaling_model.sh [T] [out-dir] [scratch-path] [yolov3-dir of Benchmarks/yolov3.sh, optional]
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
T="${1:-32}"
out="${2:-results/scaling-model-$(date +%Y%m%d-%H%M%S)}"
scratch="${3:-.build}"
y3="${4:-}"
D=../shared/data
mkdir -p "$out"
swift build -c release --product spikescale --scratch-path "$scratch" >/dev/null
export SPIKESCALE_BIN="$PWD/$scratch/release/spikescale"
bin="$SPIKESCALE_BIN"
ranks=1,2,64,512,4096
[ -f "$out/yf.json" ] || "$bin" convert "$D/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg" --calibration /usr/share/darknet/data \
  --calibration-count 7 --norm channel --statistic p99.99 --initial-membrane 0 --residual per-source --burst 2 \
  --output "$out/yf.json" > "$out/yf.convert.txt"
data=(--data "$D/coco8" --split val --encoder direct -T "$T")
"$bin" profile --model "$out/yf.json" "${data[@]}" --samples 1 --output "$out/yf-profile.json" | tee "$out/yf-profile.txt"
Launch/mpirun.sh -n 1 simulate --model "$out/yf.json" "${data[@]}" --samples 1 --quiet --overwrite --json "$out/yf-r1.json" > "$out/yf-r1.txt"
Launch/mpirun.sh -n 2 simulate --model "$out/yf.json" "${data[@]}" --samples 1 --quiet --overwrite --json "$out/yf-r2.json" > "$out/yf-r2.txt"
Launch/mpirun.sh -n 2 simulate --model "$out/yf.json" "${data[@]}" --samples 2 --groups 2 --quiet --overwrite --json "$out/yf-g2.json" > "$out/yf-g2.txt"
"$bin" plan "$out/yf.json" --ranks "$ranks" --project --profile "$out/yf-profile.json" --timesteps 256 --images 5000 \
  --measured "$out/yf-r1.json,$out/yf-r2.json,$out/yf-g2.json" | tee "$out/yf-plan.txt"
if [ -n "$y3" ]; then
  "$bin" plan "$y3/yolov3.json" --ranks "$ranks" --project --profile "$y3/profile.json" --timesteps 256 --images 5000 \
    --measured "$y3/r1.json,$y3/r2.json" | tee "$out/yolov3-plan.txt"
fi
