import CBLAS

/// Sets OpenBLAS's thread count for this process.
func openblasSetThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
