# Sourced by the launch scripts: toolchain on PATH, one BLAS thread per rank, MPICH settings.
export PATH="/opt/swift/usr/bin:$PATH"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
SPIKESCALE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPIKESCALE_BIN="${SPIKESCALE_BIN:-$SPIKESCALE_ROOT/.build/release/spikescale}"
# MPICH's mpiexec behind a guard that ends it when a rank reports a lost peer (see Launch/mpiexec-guard).
MPIEXEC_REAL="${MPIEXEC_REAL:-$(command -v mpiexec.mpich || command -v mpiexec || echo mpiexec)}"
MPIEXEC="${MPIEXEC:-$SPIKESCALE_ROOT/Launch/mpiexec-guard}"
export SPIKESCALE_ROOT SPIKESCALE_BIN MPIEXEC MPIEXEC_REAL
