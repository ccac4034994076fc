/* MPI_Finalize of MPICH 4.0.2 (Debian 12, ch4:ucx) over UCX 1.13 with UCX_TLS=tcp often never returns
 * with three or more ranks, even in this program (one message to the next rank, then finalize).
 *   mpicc Benchmarks/cluster/finalize_hang.c -o /tmp/finalize_hang
 *   for i in 1 2 3 4 5 6; do UCX_TLS=tcp timeout 8 mpiexec -n 4 /tmp/finalize_hang; echo rc=$?; done
 * rc=124 is a hang (measured 2026-11-30 on the 2-core Debian 12 machine: about one run in two; 0 of 6
 * with the default UCX_TLS). Without the point-to-point message (an allreduce only) it does not hang.
 * SpikeScale works around it in MPIRuntime.finalize (barrier, then exit without finalizing). */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int mine = rank, theirs = -1;
    MPI_Sendrecv(&mine, 1, MPI_INT, (rank + 1) % size, 0, &theirs, 1, MPI_INT, (rank + size - 1) % size, 0,
                 MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    if (rank == 0) printf("rank 0 got %d; finalizing\n", theirs);
    MPI_Finalize();
    return 0;
}
