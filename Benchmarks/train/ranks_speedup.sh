#!/usr/bin/env bash
# Data-parallel training, 1 vs 2 ranks side by side in one run: the same epoch on N MNIST images, wall time
# of each, and the two trained models compared byte for byte. Usage: ranks_speedup.sh [N] [BIN]
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-6400}
BIN=${2:-$(ls -t .build*/release/spikescale | head -1)}
OUT=results/train/speedup; mkdir -p "$OUT"
for k in 1 2; do
  s=$(date +%s.%N)
  MPIR_CVAR_CH4_NUM_VCIS=1 mpiexec -n $k "$BIN" train --data ../shared/data/mnist --train-limit "$N" --test-limit 1000 --epochs 1 \
      --architecture 16c3-ap2-32c3-ap2-128fc --timesteps 4 --batch-size 64 --chunk-size 16 --learning-rate 0.002 \
      --model "$OUT/m$k" --json "$OUT/r$k.json" --overwrite --quiet > /dev/null
  e=$(date +%s.%N)
  echo "$k rank(s): $(echo "$e - $s" | bc) s wall, epoch $(python3 -c "import json;print(round(json.load(open('$OUT/r$k.json'))['history'][0]['seconds'],1))") s, test $(python3 -c "import json;print(json.load(open('$OUT/r$k.json'))['testAccuracy'])")"
done
cmp "$OUT/m1.bin" "$OUT/m2.bin" && echo "weights after one epoch: identical (cmp m1.bin m2.bin)"
