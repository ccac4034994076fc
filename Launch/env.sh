# Sourced by the launch scripts: toolchain on PATH, one BLAS thread per rank, MPICH settings.
export PATH="/opt/swift/usr/bin:$PATH"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
SPIKESCALE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPIKESCALE_BIN="${SPIKESCALE_BIN:-$SPIKESCALE_ROOT/.build/release/spikescale}"
MPIEXEC="${MPIEXEC:-$(command -v mpiexec.mpich || command -v mpiexec || echo mpiexec)}"
export SPIKESCALE_ROOT SPIKESCALE_BIN MPIEXEC
