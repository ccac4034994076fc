#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: unit tests (in-process ranks) and the
# multi-rank tests that run the real binary under mpiexec on 1-5 ranks. Release build (the
# engine's kernels are slow unoptimised).
set -euo pipefail
cd "$(dirname "$0")/.."
Launch/deps.sh --cluster
source Launch/env.sh
# One build of the binary and the test bundles (a plain `swift build` then `swift test` compiles
# everything twice, once without and once with testability).
swift build -c release --build-tests
swift test -c release --skip-build "$@"
