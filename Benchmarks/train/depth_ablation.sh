#!/usr/bin/env bash
# The STBP-tdBN depth ablation (Zheng et al. 2021, issue 13 item 5): spiking ResNets of depth 8, 14 and 20
# (a stride-2 stem, then 3, 6 or 9 basic blocks over 16/32/64 channels, the output layer) trained on a
# Fashion-MNIST subset at T = 4 with tdBN, plain BN and no normalisation; same data, seed, epochs and
# optimiser for all nine. Writes results/train/ablation/NORM-dDEPTH.json, the report (accuracy vs depth,
# test accuracy vs epoch) in results/train/ablation/report, and prints a markdown table.
# Usage: [RANKS=1] [TRAIN=4000] [TEST=2000] [EPOCHS=4] Benchmarks/train/depth_ablation.sh [BIN]
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-$(ls -t .build*/release/spikescale | head -1)}
RANKS=${RANKS:-1}; TRAIN=${TRAIN:-4000}; TEST=${TEST:-2000}; EPOCHS=${EPOCHS:-4}
OUT=results/train/ablation; mkdir -p "$OUT"
declare -A ARCH=(
  [8]="16c3s2-16r-32rs2-64rs2"
  [14]="16c3s2-16r-16r-32rs2-32r-64rs2-64r"
  [20]="16c3s2-16r-16r-16r-32rs2-32r-32r-64rs2-64r-64r"
)
files=()
for d in 8 14 20; do
  for norm in tdbn bn none; do
    f="$OUT/$norm-d$d.json"
    MPIR_CVAR_CH4_NUM_VCIS=1 mpiexec -n "$RANKS" "$BIN" train --data ../shared/data/fashion-mnist --train-limit "$TRAIN" --test-limit "$TEST" \
      --architecture "${ARCH[$d]}" --normalization "$norm" --timesteps 4 --epochs "$EPOCHS" --batch-size 64 --chunk-size 16 \
      --learning-rate 0.002 --seed 1 --json "$f" --overwrite --quiet > /dev/null
    files+=("$f")
    python3 -c "import json;r=json.load(open('$f'));print('depth $d %-5s test %.2f%%  (%.0f s/epoch)'%('$norm',r['testAccuracy']*100,r['secondsPerEpoch']))"
  done
done
"$BIN" report "${files[@]}" --output "$OUT/report" --title "STBP-tdBN depth ablation" > /dev/null
python3 - "${files[@]}" <<'PY'
import json, sys
rows = {}
for f in sys.argv[1:]:
    r = json.load(open(f))
    norm = r['normalization']; arch = r['architecture']
    rows.setdefault(arch, {})[norm] = (r['testAccuracy'] * 100, [h['testAccuracy'] * 100 for h in r['history']])
print("| depth | architecture | tdBN | BN | none |\n|---:|---|---:|---:|---:|")
for arch, v in rows.items():
    depth = 1 + sum(2 if 'r' in t else 1 for t in arch.split('-'))
    print(f"| {depth} | `{arch}` | " + " | ".join(f"{v[n][0]:.2f}%" if n in v else "–" for n in ("tdbn", "bn", "none")) + " |")
PY
