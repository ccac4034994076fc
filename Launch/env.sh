# Sourced by the launch scripts: toolchain on PATH, one BLAS thread per rank, MPICH settings.
export PATH="/opt/swift/usr/bin:$PATH"
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
# Debian 12's OpenBLAS (0.3.21) does not recognise some recent CPUs (seen: an AVX-512 Xeon) and falls back to its
# Prescott (SSE3) kernels: a dense ANN forward 2-4x slower than the machine can do, and other rounding. Where the CPU
# has AVX2 and FMA, its Haswell kernels are used instead, unless OPENBLAS_CORETYPE is already set: the ANN reference
# is then timed at a fair speed, and it and the trainer compute the same bits on every AVX2 machine.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null && grep -qw fma /proc/cpuinfo 2>/dev/null; then
  export OPENBLAS_CORETYPE=Haswell
fi
SPIKESCALE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SPIKESCALE_BIN="${SPIKESCALE_BIN:-$SPIKESCALE_ROOT/.build/release/spikescale}"
# MPICH's mpiexec behind a guard that ends it when a rank reports a lost peer (see Launch/mpiexec-guard).
MPIEXEC_REAL="${MPIEXEC_REAL:-$(command -v mpiexec.mpich || command -v mpiexec || echo mpiexec)}"
MPIEXEC="${MPIEXEC:-$SPIKESCALE_ROOT/Launch/mpiexec-guard}"
export SPIKESCALE_ROOT SPIKESCALE_BIN MPIEXEC MPIEXEC_REAL
