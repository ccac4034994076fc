#!/usr/bin/env bash
# mpirun wrapper: Launch/mpirun.sh -n K [mpiexec options --] spikescale-arguments...
#   Launch/mpirun.sh -n 4 simulate --config Configs/tiny-yolov3.yaml
#   Launch/mpirun.sh -n 8 -f hosts -- simulate --model zoo:tiny-yolov3 --input synthetic -T 16
# Uses the release binary, one BLAS thread per rank, and binds ranks to cores when there are enough.
set -euo pipefail
source "$(dirname "$0")/env.sh"
[ -x "$SPIKESCALE_BIN" ] || "$SPIKESCALE_ROOT/Launch/build.sh"
mpiopts=()
if [ "${1:-}" = "-n" ]; then mpiopts+=("-n" "$2"); shift 2; fi
if printf '%s\n' "$@" | grep -qx -- '--'; then
  while [ "$1" != "--" ]; do mpiopts+=("$1"); shift; done
  shift
fi
n=1
for ((i = 0; i < ${#mpiopts[@]}; i++)); do [ "${mpiopts[$i]}" = "-n" ] && n="${mpiopts[$((i + 1))]}"; done
if [ "$n" -le "$(nproc)" ]; then mpiopts+=("-bind-to" "${SPIKESCALE_BIND:-core}"); fi
exec "$MPIEXEC" "${mpiopts[@]}" "$SPIKESCALE_BIN" "$@"
