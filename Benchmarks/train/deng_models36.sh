#!/usr/bin/env bash
# Deng et al.'s model 3 (SNN trained directly on Bernoulli-coded MNIST) and model 6 (SNN trained directly on
# N-MNIST events): the networks `spikescale train` wrote (Configs/train/deng-model{3,6}-*.yaml) simulated by
# the engine on the test sets, then their rows of the six-model tables through `spikescale costs`.
# Benchmarks/deng_tables.sh picks these result files up for the full tables.
# Usage: Benchmarks/train/deng_models36.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/../.."
B=${1:-$(ls -t .build*/release/spikescale | head -1)}
DATA=${DATA:-../shared/data}
OUT=results/train
"$B" simulate --model "$OUT/deng-model3-snn.json" --data "$DATA/mnist" -T 15 --samples 10000 --encoder bernoulli --seed 1 \
    --json "$OUT/deng-model3-sim.json" --overwrite --quiet > /dev/null
"$B" simulate --model "$OUT/deng-model6-snn.json" --data "$DATA/nmnist-small" -T 10 --bin-ms 30 --samples 100 --encoder events \
    --json "$OUT/deng-model6-sim.json" --overwrite --quiet > /dev/null
"$B" costs "Model 3 CNN (SNN trained with STBP-tdBN, Bernoulli)=$OUT/deng-model3-sim.json" \
           "Model 6 (cnn, SNN trained with STBP-tdBN on 30 ms event frames)=$OUT/deng-model6-sim.json"
