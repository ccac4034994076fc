#!/usr/bin/env bash
# Deng et al. 2020 ("Rethinking the performance comparison between SNNs and ANNs") Tables 4-6 on the
# real data: accuracy beside memory and compute cost.
#   ANN-oriented workload (MNIST t10k): model 1 = the trained ANN, model 2 = its converted SNN with
#   Bernoulli input, direct analog current (input IF neurons) and an analog encoding layer (encoder
#   direct), at the same T; for an MLP and a CNN.
#   SNN-oriented workload (N-MNIST test100): model 4 = ANN on unrolled binary images, model 5 = ANN on
#   intensity images (trained on train1K by Benchmarks/nmnist/train_models45.py). Models 3 and 6 (SNNs trained
#   directly, `spikescale train`) come from Benchmarks/train/deng_models36.sh; their rows stay empty until it ran.
# Usage: Benchmarks/deng_tables.sh [SAMPLES=10000] [T=64] [OUT=results/deng]
set -euo pipefail
cd "$(dirname "$0")/.."
SAMPLES=${1:-10000}; T=${2:-64}; OUT=${3:-results/deng}
DATA=${DATA:-../shared/data}
B=.build/release/spikescale
[ -x "$B" ] || swift build -c release --product spikescale
mkdir -p "$OUT"
for net in mlp cnn; do
  $B convert Tests/Fixtures/mnist-$net.onnx --calibration "$DATA/mnist" --calibration-count 100 --norm channel \
     --statistic p99.99 --output "$OUT/mnist-$net-snn.json" > "$OUT/mnist-$net-convert.txt"
  $B evaluate Tests/Fixtures/mnist-$net.onnx --data "$DATA/mnist" --samples "$SAMPLES" --json "$OUT/m1-$net.json" --quiet
  for enc in bernoulli current direct; do
    $B simulate --model "$OUT/mnist-$net-snn.json" --data "$DATA/mnist" -T "$T" --samples "$SAMPLES" --encoder $enc \
       --seed 1 --compare-ann --checkpoints 16,32 --json "$OUT/m2-$net-$enc.json" --overwrite --quiet > /dev/null
  done
done
NM="$DATA/nmnist-small"
ROWS45=()
for net in cnn mlp; do
  for m in 4 5; do
    f=Tests/Fixtures/nmnist-model$m-$net.onnx
    [ -f "$f" ] || continue
    rep=intensity; [ $m = 4 ] && rep=$(python3 -c "import json;d=json.load(open('Tests/Fixtures/nmnist-fixtures.json'));print('binary:%d'%d['bins'])" 2>/dev/null || echo binary)
    bin=$(python3 -c "import json;d=json.load(open('Tests/Fixtures/nmnist-fixtures.json'));print(d['binMicroseconds']/1000)" 2>/dev/null || echo 10)
    $B evaluate "$f" --data "$NM" --split test100 --representation "$rep" --bin-ms "$bin" --json "$OUT/m$m-$net-nmnist.json" --quiet
    ROWS45+=("Model $m ($net, ANN on ${rep%%:*} images)=$OUT/m$m-$net-nmnist.json")
  done
done
# Model 5's CNN converted to an SNN (calibrated on 200 train1K intensity images): fed its intensity image
# through the analog encoding layer, and fed the raw events as 30 binary frames of 10 ms (encoder events).
if [ -f Tests/Fixtures/nmnist-model5-cnn.onnx ]; then
  $B convert Tests/Fixtures/nmnist-model5-cnn.onnx --calibration "$NM" --calibration-count 200 --output "$OUT/nm5-snn.json" > /dev/null
  $B simulate --model "$OUT/nm5-snn.json" --data "$NM" -T 30 --samples 100 --encoder direct --compare-ann \
     --json "$OUT/m5-snn-direct.json" --overwrite --quiet > /dev/null
  $B simulate --model "$OUT/nm5-snn.json" --data "$NM" -T 30 --bin-ms 10 --samples 100 --encoder events \
     --checkpoints 10,20 --json "$OUT/m5-snn-events.json" --overwrite --quiet > /dev/null
  ROWS45+=("Model 5 (cnn) converted to SNN, intensity image=$OUT/m5-snn-direct.json"
           "Model 5 (cnn) converted to SNN, fed 10 ms event frames=$OUT/m5-snn-events.json")
fi
ROW3="Model 3 CNN (directly trained SNN; run Benchmarks/train/deng_models36.sh)=-"
ROW6="Model 6 (directly trained SNN; run Benchmarks/train/deng_models36.sh)=-"
[ -f results/train/deng-model3-sim.json ] && ROW3="Model 3 CNN (SNN trained with STBP-tdBN, Bernoulli)=results/train/deng-model3-sim.json"
[ -f results/train/deng-model6-sim.json ] && ROW6="Model 6 (cnn, SNN trained with STBP-tdBN on 30 ms event frames)=results/train/deng-model6-sim.json"
{
  echo "## ANN-oriented workload: MNIST t10k ($SAMPLES images), T = $T"
  echo
  $B costs "Model 1 MLP (ANN)=$OUT/m1-mlp.json" "Model 2 MLP (SNN, Bernoulli)=$OUT/m2-mlp-bernoulli.json" \
           "Model 2 MLP (SNN, direct current)=$OUT/m2-mlp-current.json" \
           "Model 2 MLP (SNN, analog encoding layer)=$OUT/m2-mlp-direct.json" "Model 1 CNN (ANN)=$OUT/m1-cnn.json" \
           "Model 2 CNN (SNN, Bernoulli)=$OUT/m2-cnn-bernoulli.json" "Model 2 CNN (SNN, direct current)=$OUT/m2-cnn-current.json" \
           "Model 2 CNN (SNN, analog encoding layer)=$OUT/m2-cnn-direct.json" "$ROW3"
  echo
  echo "## SNN-oriented workload: N-MNIST test100 (models trained on train1K)"
  echo
  $B costs "${ROWS45[@]}" "$ROW6"
} | tee "$OUT/table.md"
