#!/usr/bin/env bash
# The Spiking-YOLO study (issue 5), as run for Benchmarks/RESULTS.md. Long: hours on 2 cores.
#   Benchmarks/detection_study.sh yolo-fastest   # real COCO detector on COCO8 (+ Darknet's sample images)
#   Benchmarks/detection_study.sh yolo-fastest-xl
#   Benchmarks/detection_study.sh tinyyolo       # Tiny-YOLOv3 trained here on MNIST canvases (Benchmarks/tinyyolo)
# Results go to results/yf and results/ty; `spikescale report` turns them into plots.
set -euo pipefail
cd "$(dirname "$0")/.."
B=.build/release/spikescale
[ -x "$B" ] || swift build -c release --product spikescale
DATA=${DATA:-../shared/data}
case "${1:-}" in
yolo-fastest)
  # Calibrate on Darknet's 7 sample images (apt-get install darknet), so all 8 COCO8 images are held out.
  SAMPLES=/usr/share/darknet/data
  mkdir -p results/yf/coco8/images/all results/yf/coco8/labels/all
  for s in train val; do
    ln -sf "$(realpath "$DATA/coco8/images/$s")"/*.jpg results/yf/coco8/images/all/
    ln -sf "$(realpath "$DATA/coco8/labels/$s")"/*.txt results/yf/coco8/labels/all/
  done
  Y="$DATA/yolo-fastest-1.1-coco/yolo-fastest-1.1.cfg"
  $B convert "$Y" --calibration "$SAMPLES" --calibration-count 7 --output results/yf/yf-v0.json
  $B convert "$Y" --calibration "$SAMPLES" --calibration-count 7 --initial-membrane 0.5 --signed-initial-membrane 0.5 --output results/yf/yf-v0.5.json
  $B convert "$Y" --calibration "$SAMPLES" --calibration-count 7 --initial-membrane 0.5 --signed-initial-membrane 0.5 --residual max --output results/yf/yf-v0.5-rmax.json
  $B evaluate "$Y" --data results/yf/coco8 --split all --json results/yf/ann-coco8.json
  # R1: plain decoding, mAP and fidelity at every T up to 1024 in one run.
  $B simulate --model results/yf/yf-v0.json --data results/yf/coco8 --split all --samples 8 -T 1024 \
     --checkpoints 32,64,128,256,512 --compare-ann --json results/yf/R1-coco8-T1024.json --overwrite --quiet
  # R2/R3: burn-in 128 (outputs averaged over t = 129..T), COCO8 (held out) and the calibration images.
  $B simulate --model results/yf/yf-v0.json --data results/yf/coco8 --split all --samples 8 -T 1024 --burn-in 128 \
     --checkpoints 256,512 --compare-ann --json results/yf/R2-coco8-T1024-b128.json --overwrite --quiet
  $B simulate --model results/yf/yf-v0.json --data "$SAMPLES" --samples 7 -T 1024 --burn-in 128 \
     --checkpoints 256,512 --compare-ann --json results/yf/R3-darknet-T1024-b128.json --overwrite --quiet
  # Ablations at T = 512, burn-in 128: statistic, layer-norm, plain ReLU neurons, spike-count decoding.
  for v in max p99.9 layer relu spk; do
    extra=""; dec=membrane
    case $v in max|p99.9) extra="--statistic $v";; layer) extra="--norm layer";; relu) extra="--neurons relu";;
               spk) extra="--output-neurons spiking"; dec=spikes;; esac
    $B convert "$Y" --calibration "$SAMPLES" --calibration-count 7 $extra --output results/yf/yf-$v.json
    tag=S-$v; [ $v = spk ] && tag=D-spikes
    mpiexec -n 2 $B simulate --model results/yf/yf-$v.json --data results/yf/coco8 --split all --samples 8 -T 512 --burn-in 128 \
       --decoding $dec --checkpoints 256 --compare-ann --json results/yf/$tag.json --overwrite --quiet
  done
  # The plain recipe at T = 512 (fidelity and head error at T = 256 and 512).
  mpiexec -n 2 $B simulate --model results/yf/yf-v0.json --data results/yf/coco8 --split all --samples 8 -T 512 --burn-in 128 \
     --checkpoints 256 --compare-ann --json results/yf/V0-coco8-T512-b128.json --overwrite --quiet
  # The calibration images themselves (Darknet's samples): fidelity without held-out clipping.
  mpiexec -n 2 $B simulate --model results/yf/yf-v0.json --data "$SAMPLES" --samples 7 -T 512 --burn-in 128 \
     --checkpoints 256 --compare-ann --json results/yf/R3-darknet-T512-b128.json --overwrite --quiet
  # Where the error comes from (first COCO8 image, T = 1024, burn-in 128): per-layer errors against the
  # exact ANN, against the rate-limited ANN (clipped at one spike per step), and with the count max-pool gate.
  $B simulate --model results/yf/yf-v0.json --data results/yf/coco8 --split all --samples 1 -T 1024 --burn-in 128 \
     --compare-ann --layer-errors --json results/yf/L-exact.json --overwrite --quiet
  $B simulate --model results/yf/yf-v0.json --data results/yf/coco8 --split all --samples 1 -T 1024 --burn-in 128 \
     --compare-ann --rate-limited-ann --layer-errors --json results/yf/L-ratelimited.json --overwrite --quiet
  $B simulate --model results/yf/yf-v0.json --data results/yf/coco8 --split all --samples 8 -T 1 \
     --compare-ann --rate-limited-ann --json results/yf/L-ratelimited-ann-coco8.json --overwrite --quiet
  # Burst spikes (at most 2 spikes per step): no clipping up to 2λ.
  $B convert "$Y" --calibration "$SAMPLES" --calibration-count 7 --burst 2 --output results/yf/yf-b2.json
  $B convert "$Y" --calibration "$SAMPLES" --calibration-count 7 --burst 2 --output-neurons spiking --output results/yf/yf-b2-spk.json
  mpiexec -n 2 $B simulate --model results/yf/yf-b2.json --data results/yf/coco8 --split all --samples 8 -T 512 --burn-in 128 \
     --checkpoints 256 --compare-ann --json results/yf/B2-coco8-T512-b128.json --overwrite --quiet
  mpiexec -n 2 $B simulate --model results/yf/yf-b2.json --data results/yf/coco8 --split all --samples 8 -T 1024 \
     --checkpoints 32,64,128,256,512 --compare-ann --json results/yf/B2-coco8-T1024.json --overwrite --quiet
  mpiexec -n 2 $B simulate --model results/yf/yf-b2-spk.json --data results/yf/coco8 --split all --samples 8 -T 512 --burn-in 128 \
     --decoding spikes --checkpoints 256 --compare-ann --json results/yf/B2-spikes.json --overwrite --quiet
  mpiexec -n 2 $B simulate --model results/yf/yf-b2.json --data "$SAMPLES" --samples 7 -T 512 --burn-in 128 \
     --checkpoints 256 --compare-ann --json results/yf/B2-darknet-T512-b128.json --overwrite --quiet
  # Probes of the other options (2 images, T = 256, burn-in 96).
  for m in v0 v0.5 v0.5-rmax; do
    $B simulate --model results/yf/yf-$m.json --data results/yf/coco8 --split all --samples 2 -T 256 --burn-in 96 \
       --checkpoints 128,192 --compare-ann --json results/yf/probe2-$m.json --overwrite --quiet
  done
  ;;
yolo-fastest-xl)
  SAMPLES=/usr/share/darknet/data
  X="$DATA/yolo-fastest-1.1-coco/yolo-fastest-1.1-xl.cfg"
  mkdir -p results/yfxl
  $B evaluate "$X" --data results/yf/coco8 --split all --json results/yfxl/ann-coco8.json
  for v in v0 b2; do
    extra=""; [ $v = b2 ] && extra="--burst 2"
    $B convert "$X" --calibration "$SAMPLES" --calibration-count 7 $extra --output results/yfxl/xl-$v.json
    mpiexec -n 2 $B simulate --model results/yfxl/xl-$v.json --data results/yf/coco8 --split all --samples 8 -T 512 --burn-in 128 \
       --checkpoints 256 --compare-ann --json results/yfxl/X-$v-coco8-T512-b128.json --overwrite --quiet
  done
  ;;
tinyyolo)
  CFG=results/tinyyolo/yolov3-tiny-mnist.cfg   # with yolov3-tiny-mnist.weights beside it (Benchmarks/tinyyolo/README.md)
  $B evaluate "$CFG" --data results/tinyyolo/data --split val --json results/ty/ann-val.json
  for v in channel layer relu; do
    extra=""; [ $v = layer ] && extra="--norm layer"; [ $v = relu ] && extra="--neurons relu"
    $B convert "$CFG" --calibration results/tinyyolo/data/images/train --calibration-count 32 $extra --output results/ty/ty-$v.json
    $B simulate --model results/ty/ty-$v.json --data results/tinyyolo/data --split val --samples 100 -T 256 \
       --checkpoints 8,16,32,64,128 --compare-ann --json results/ty/A-$v.json --overwrite --quiet
  done
  # Spike-count decoding (spiking output layers), and the count max-pool gate.
  $B convert "$CFG" --calibration results/tinyyolo/data/images/train --calibration-count 32 --output-neurons spiking --output results/ty/ty-spk.json
  mpiexec -n 2 $B simulate --model results/ty/ty-spk.json --data results/tinyyolo/data --split val --samples 100 -T 256 --decoding spikes \
     --checkpoints 8,16,32,64,128 --compare-ann --json results/ty/A-spikes.json --overwrite --quiet
  $B simulate --model results/ty/ty-channel.json --data results/tinyyolo/data --split val --samples 100 -T 256 --maxpool-gate count \
     --checkpoints 8,16,32,64,128 --compare-ann --json results/ty/A-countgate.json --overwrite --quiet
  ;;
*) echo "usage: $0 yolo-fastest|yolo-fastest-xl|tinyyolo" >&2; exit 2 ;;
esac
