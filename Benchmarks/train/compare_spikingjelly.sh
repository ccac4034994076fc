#!/usr/bin/env bash
# SpikeScale vs SpikingJelly (CPU torch, one thread each), the same STBP-tdBN training side by side in one run:
# same network, data subset, epochs, batch size, optimiser. Usage: compare_spikingjelly.sh [TRAIN] [TEST] [EPOCHS]
# Needs a built spikescale (.build*/release) and a venv with torch (CPU wheel) + spikingjelly: PYTHON=/path/to/python.
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-6400}; M=${2:-2000}; E=${3:-1}
PY=${PYTHON:-python3}
BIN=${SPIKESCALE:-$(ls -t .build*/release/spikescale | head -1)}
OUT=results/train/compare; mkdir -p "$OUT"
echo "== SpikeScale ($BIN)"
/usr/bin/time -f "%e s wall, %U s user" "$BIN" train --data ../shared/data/mnist --train-limit "$N" --test-limit "$M" --epochs "$E" \
    --architecture 16c3-ap2-32c3-ap2-128fc --timesteps 4 --batch-size 64 --chunk-size 16 --learning-rate 0.002 \
    --json "$OUT/spikescale.json" --overwrite --quiet
echo "== SpikingJelly"
/usr/bin/time -f "%e s wall, %U s user" "$PY" Benchmarks/train/spikingjelly_mnist.py ../shared/data/mnist "$N" "$M" "$E" 0.002 | tee "$OUT/spikingjelly.jsonl"
