#!/usr/bin/env bash
# Builds the release binary (.build/release/spikescale).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SPIKESCALE_ROOT"
swift build -c release --product spikescale
