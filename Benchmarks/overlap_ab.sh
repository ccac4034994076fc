#!/usr/bin/env bash
# 1 -> 2 ranks with the spike exchange overlapped with the next convolution's interior rows (--overlap interior)
# and without (--overlap none), alternated in one run (issue 11, item 6): the seeded zoo Tiny-YOLOv3 (T = 16, one
# synthetic image) and the converted yolo-fastest-1.1 of Configs/yolo-fastest.yaml (T = 64, the first COCO8
# image). Each round measures 1 rank, then 2 ranks without and with overlap; every measurement keeps the fastest
# of REPEATS timed runs. Prints the step times, the wait on 2 ranks and the speed-ups.
# Usage: Benchmarks/overlap_ab.sh OUT [ROUNDS] [REPEATS]
# With HOSTS=FILE (e.g. from `Launch/testcluster.sh up 2; Launch/testcluster.sh hosts > FILE`), the 2-rank runs
# put one rank on each of the first two hosts, over TCP (UCX_TLS=tcp) through the test cluster's ssh launcher.
set -euo pipefail
cd "$(dirname "$0")/.."
source Launch/env.sh
out="$1"; rounds="${2:-3}"; repeats="${3:-5}"
bench=.build/release/spikescale-bench
yf=results/yolo-fastest/yolo-fastest-snn.json
[ -f "$yf" ] || { echo "missing $yf: convert it first (see Configs/yolo-fastest.yaml)" >&2; exit 1; }
mkdir -p "$out"
two=()
if [ -n "${HOSTS:-}" ]; then
  export UCX_TLS=tcp MPIR_CVAR_CH4_NUM_VCIS=1
  two=(-f "$HOSTS" -ppn 1 -launcher ssh -launcher-exec Launch/testcluster-ssh)
fi
for r in $(seq "$rounds"); do
  for run in 1-interior 2-none 2-interior; do
    n=${run%%-*}; ov=${run#*-}
    opts=(); [ "$n" = 2 ] && opts=("${two[@]}")
    mpiexec "${opts[@]}" -n "$n" "$bench" measure --networks tiny-yolov3 -T 16 --repeats "$repeats" --overlap "$ov" --json "$out/ty-$run-r$r.json" > /dev/null
    mpiexec "${opts[@]}" -n "$n" "$bench" measure --networks "$yf" --data ../shared/data/coco8 -T 64 --repeats "$repeats" --overlap "$ov" --json "$out/yf-$run-r$r.json" > /dev/null
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
fig = lambda p: json.load(open(p))[0]
print("| network | round | step, 1 rank (ms) | step, 2 ranks, none (ms) | step, 2 ranks, interior (ms) | wait per rank, none / interior (s) | speed-up none | speed-up interior |")
print("|---|---|---|---|---|---|---|---|")
for net, label in (("ty", "Tiny-YOLOv3, seeded"), ("yf", "yolo-fastest-1.1")):
    for r in range(1, rounds + 1):
        one, no, ov = (fig(f"{out}/{net}-{k}-r{r}.json") for k in ("1-interior", "2-none", "2-interior"))
        s1, sn, si = (f["snnSecondsPerStep"] * 1e3 for f in (one, no, ov))
        w = lambda f: "/".join(f"{x:.3f}" for x in f["waitSeconds"])
        print(f"| {label} | {r} | {s1:.1f} | {sn:.1f} | {si:.1f} | {w(no)} / {w(ov)} | {s1/sn:.2f}x | {s1/si:.2f}x |")
PY
