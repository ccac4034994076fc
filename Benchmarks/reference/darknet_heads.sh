#!/usr/bin/env bash
# Dumps libdarknet's letterboxed input and raw [yolo]-feeding layer outputs for yolo-fastest-1.1 on one
# image, then runs the comparison test against SpikeScale's DenseForward.
# Needs Debian's darknet package (apt-get install darknet) and gcc. Usage (from the repository root):
#   Benchmarks/reference/darknet_heads.sh [image] [scratch-path]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
data="$root/../shared/data/yolo-fastest-1.1-coco"
image="${1:-/usr/share/darknet/data/dog.jpg}"
scratch="${2:-.build}"
out="$(mktemp -d)"
gcc -O2 -I/usr/lib/darknet/include "$here/darknet_heads.c" -L/usr/lib/darknet -ldarknet \
    -Wl,-rpath,/usr/lib/darknet -o "$out/darknet_heads"
"$out/darknet_heads" "$data/yolo-fastest-1.1.cfg" "$data/yolo-fastest-1.1.weights" "$image" "$out" 2>/dev/null
cd "$root"
DARKNET_REFERENCE_DIR="$out" swift test --scratch-path "$scratch" --filter darknetReferenceHeads
