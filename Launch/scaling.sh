#!/usr/bin/env bash
# Strong or weak scaling study: runs one config at several rank counts and writes one CSV.
#   Launch/scaling.sh [--weak] [--ranks "1 2 4 8"] [--groups G|all] [--out DIR] CONFIG.yaml [extra simulate options]
# Strong scaling: the same problem on every rank count. Weak scaling (zoo tiny-yolov3): the input
# side grows with sqrt(ranks) (rounded to a multiple of 32), so each rank keeps about the same rows;
# then the CSV column `speedup` (T1 / TN per sample) is the weak-scaling efficiency.
# --groups G runs each rank count K >= G as G rank groups (data x model parallel; G must divide K), smaller
# counts as one group; --groups all makes every rank its own group (pure data parallel).
set -euo pipefail
source "$(dirname "$0")/env.sh"
weak=0; ranks="1 2"; groups=1; out="results/scaling-$(date +%Y%m%d-%H%M%S)"; base=416
while [ $# -gt 0 ]; do
  case "$1" in
    --weak) weak=1; shift ;;
    --ranks) ranks="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --groups) groups="$2"; shift 2 ;;
    --base-size) base="$2"; shift 2 ;;
    *) break ;;
  esac
done
config="${1:?usage: Launch/scaling.sh [--weak] [--ranks LIST] [--out DIR] CONFIG.yaml [options]}"; shift
[ -x "$SPIKESCALE_BIN" ] || "$SPIKESCALE_ROOT/Launch/build.sh"
mkdir -p "$out"
files=()
for k in $ranks; do
  extra=()
  if [ "$weak" = 1 ]; then
    size=$(awk -v b="$base" -v k="$k" 'BEGIN { s = b * sqrt(k); s = int((s + 16) / 32) * 32; print s }')
    extra+=(--input-size "$size")
  fi
  g=1
  if [ "$groups" = all ]; then g=$k; elif [ "$k" -ge "$groups" ]; then g=$groups; fi
  if [ $((k % g)) -ne 0 ]; then echo "--groups $g does not divide $k ranks" >&2; exit 2; fi
  extra+=(--groups "$g")
  echo "== $k rank(s) ${extra[*]:-}"
  bind=(); [ "$k" -le "$(nproc)" ] && bind=(-bind-to "${SPIKESCALE_BIND:-core}")
  "$MPIEXEC" -n "$k" "${bind[@]}" "$SPIKESCALE_BIN" simulate --config "$config" --quiet --overwrite \
    --json "$out/ranks-$k.json" "${extra[@]}" "$@" | tail -n 3
  files+=("$out/ranks-$k.json")
done
"$SPIKESCALE_BIN" summarize --csv "$out/scaling.csv" "${files[@]}"
echo "wrote $out/scaling.csv"
