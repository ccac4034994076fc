import Testing

extension Tag {
    /// Runs the `spikescale` binary under `mpiexec` (needs MPICH and a built binary).
    @Tag public static var mpi: Self
    /// Takes more than a few seconds in a release build; left out of the fast inner loop (README, Tests).
    @Tag public static var slow: Self
}
