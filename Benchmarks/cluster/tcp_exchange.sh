#!/usr/bin/env bash
# Spike exchange between two hosts over TCP against two ranks on one host (shared memory), in one run.
#   Benchmarks/cluster/tcp_exchange.sh [OUT_DIR]        (root; brings the test cluster up and down)
# First times one exchange of N bytes between 2 ranks (spikescale-bench exchange: the engine's own
# MPITransport.exchange) on one host with shared memory, on one host over TCP, and on two hosts over TCP.
# Then runs Tiny-YOLOv3 (zoo, 416x416, T = 16, 1 image) and the converted yolo-fastest-1.1 (COCO8, T = 16,
# 1 image) on: 1 rank; 2 ranks on this host (MPICH's default UCX transports: shared memory); 2 ranks on
# two hosts of Launch/testcluster.sh (UCX_TLS=tcp over the veth/bridge link). Prints, per run: wall
# time, the exchange time per timestep (rank 0's post + wait, over all exchanges of a timestep), bytes
# on the wire per timestep, and checks that every run gives the same counters.
set -euo pipefail
cd "$(dirname "$0")/../.."
source Launch/env.sh
out="${1:-results/tcp-exchange-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
[ -x "$SPIKESCALE_BIN" ] || Launch/build.sh
Launch/testcluster.sh down >/dev/null 2>&1 || true
Launch/testcluster.sh up 2
trap 'Launch/testcluster.sh down >/dev/null' EXIT
Launch/testcluster.sh hosts > "$out/hosts"

bench="$(dirname "$SPIKESCALE_BIN")/spikescale-bench"
[ -x "$bench" ] || swift build -c release --product spikescale-bench
echo "== one exchange, 2 ranks on 1 host, shared memory (default UCX transports)"
"$MPIEXEC_REAL" -n 2 "$bench" exchange
echo "== one exchange, 2 ranks on 1 host, TCP (UCX_TLS=tcp)"
UCX_TLS=tcp "$MPIEXEC_REAL" -n 2 "$bench" exchange
echo "== one exchange, 2 ranks on 2 hosts, TCP"
UCX_TLS=tcp "$MPIEXEC_REAL" -n 2 -f "$out/hosts" -launcher ssh -launcher-exec Launch/testcluster-ssh "$bench" exchange

ty=(--model zoo:tiny-yolov3 --input synthetic -T 16 --samples 1)
yf=(--config Configs/yolo-fastest.yaml --samples 1 -T 16 --burn-in 4 --checkpoints 8)

run() {   # label, where (one|host|two), model args...
  local label=$1 where=$2; shift 2
  local json="$out/$label-$where.json"
  case "$where" in
    one)  "$MPIEXEC_REAL" -n 1 "$SPIKESCALE_BIN" simulate "$@" --quiet --overwrite --json "$json" >/dev/null ;;
    host) "$MPIEXEC_REAL" -n 2 "$SPIKESCALE_BIN" simulate "$@" --quiet --overwrite --json "$json" >/dev/null ;;
    two)  UCX_TLS=tcp "$MPIEXEC_REAL" -n 2 -f "$out/hosts" -launcher ssh -launcher-exec Launch/testcluster-ssh \
            "$SPIKESCALE_BIN" simulate "$@" --quiet --overwrite --json "$json" >/dev/null ;;
  esac
}
for m in ty yf; do
  for w in one host two; do
    if [ "$m" = ty ]; then run ty "$w" "${ty[@]}"; else run yf "$w" "${yf[@]}"; fi
  done
done
python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
print(f"{'model':8} {'ranks':22} {'wall s':>8} {'exch ms/step':>13} {'kB/step':>9} {'msgs/step':>10} counters")
for m, name in [("ty", "tiny-yolov3"), ("yf", "yolo-fastest")]:
    base = None
    for w, where in [("one", "1 rank"), ("host", "2 ranks, 1 host (shm)"), ("two", "2 ranks, 2 hosts (TCP)")]:
        r = json.load(open(f"{out}/{m}-{w}.json"))
        steps = r["timesteps"] * r["samples"]
        t0 = r["timing"][0]
        exch = (t0["exchange"] + t0["wait"]) / steps * 1e3
        wire = sum(c["bytesSent"] for c in r["communication"]) / steps / 1e3
        msgs = sum(c["messages"] for c in r["communication"]) / steps
        counters = [(l["spikes"], l["synapticOps"]) for l in r["layers"]]
        base = base or counters
        print(f"{name:12} {where:22} {r['wallSeconds']:8.3f} {exch:13.3f} {wire:9.1f} {msgs:10.1f} {'same' if counters == base else 'DIFFER'}")
EOF
