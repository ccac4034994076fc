#!/usr/bin/env bash
# Installs what SpikeScale needs on Debian 12 (run as root; a no-op when everything is there).
# Swift itself is expected at /opt/swift (or on PATH).
set -euo pipefail
# --cluster adds what Launch/testcluster.sh needs (Slurm, munge, iproute2, util-linux), as the tests do.
pkgs=(libmpich-dev mpich libopenblas-dev zlib1g-dev libturbojpeg0-dev libhdf5-dev pkg-config darknet)
if [ "${1:-}" = "--cluster" ]; then pkgs+=(slurm-wlm munge iproute2 util-linux); fi
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq "${missing[@]}"
fi
if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then echo "add /opt/swift/usr/bin to PATH"; else echo "Swift 6 toolchain not found" >&2; exit 1; fi
fi
