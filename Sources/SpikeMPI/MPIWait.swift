internal import CMPI

/// How a `waitAll` ended.
enum WaitOutcome {
    /// Every request completed successfully.
    case success
    /// Every request completed or failed; the error code of each (`MPI_SUCCESS` where it completed).
    case failed([Int32])
    /// `MPI_Waitall` itself failed with this code: which requests are still active is unknown.
    case broken(Int32)
}

/// Waits for every request in `handles` with `MPI_Waitall`, filling `statuses`; when some fail, waits
/// again for those MPI reports still pending (`MPI_ERR_PENDING`), so nothing is left in flight.
///
/// Completed handles become `MPI_REQUEST_NULL`. Terminates: each repeated wait is only entered after
/// a failure removed at least one request from the pending set.
func waitAll(_ handles: inout [MPI_Request], _ statuses: inout [MPI_Status]) -> WaitOutcome {
    let rc = MPI_Waitall(Int32(handles.count), &handles, &statuses)
    if rc == MPI_SUCCESS { return .success }
    guard rc == cmpi_err_in_status() else { return .broken(rc) }
    var errors = statuses.indices.map { cmpi_status_error(&statuses[$0]) }
    while true {
        let pending = errors.indices.filter { cmpi_error_class(errors[$0]) == cmpi_err_pending() }
        if pending.isEmpty { return .failed(errors) }
        var h = pending.map { handles[$0] }
        var st = [MPI_Status](repeating: MPI_Status(), count: pending.count)
        let rc2 = MPI_Waitall(Int32(h.count), &h, &st)
        if rc2 != MPI_SUCCESS && rc2 != cmpi_err_in_status() { return .broken(rc2) }
        for (j, i) in pending.enumerated() {
            handles[i] = h[j]; statuses[i] = st[j]
            errors[i] = rc2 == MPI_SUCCESS ? MPI_SUCCESS : cmpi_status_error(&st[j])
        }
    }
}
