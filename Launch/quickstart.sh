#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs the main job on the bundled default:
# Tiny-YOLOv3 (416x416, seeded weights firing at ~10%) for T = 16 on 2 MPI ranks.
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/deps.sh
source Launch/env.sh
Launch/build.sh
mkdir -p results
Launch/mpirun.sh -n "${RANKS:-2}" simulate --config Configs/tiny-yolov3.yaml --overwrite "$@"
