/* SpikeScale's view of MPI for Swift.
 *
 * MPICH defines its handles and special values (MPI_COMM_WORLD, MPI_SUM, MPI_REQUEST_NULL,
 * datatypes, ...) as cast macros, which Swift cannot import. Each one used by
 * SpikeMPI is wrapped here in a `static inline` function prefixed `cmpi_`. The MPI functions
 * themselves (MPI_Allreduce, MPI_Isend, ...) are plain C functions and are called directly. */
#ifndef SPIKESCALE_CMPI_SHIM_H
#define SPIKESCALE_CMPI_SHIM_H

#include <mpi.h>
#include <stdio.h>
#include <string.h>

/* Communicators, error handlers, requests. */
static inline MPI_Comm cmpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Errhandler cmpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request cmpi_request_null(void) { return MPI_REQUEST_NULL; }

/* Reduction operations. */
static inline MPI_Op cmpi_sum(void) { return MPI_SUM; }
static inline MPI_Op cmpi_max(void) { return MPI_MAX; }

/* Status fields, read through functions so Swift does not depend on MPICH's struct layout. */
static inline int cmpi_status_error(const MPI_Status *s) { return s->MPI_ERROR; }

/* Datatypes. */
static inline MPI_Datatype cmpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype cmpi_uint8(void) { return MPI_UINT8_T; }
static inline MPI_Datatype cmpi_int32(void) { return MPI_INT32_T; }
static inline MPI_Datatype cmpi_int64(void) { return MPI_INT64_T; }

/* Return codes and thread levels. */
static inline int cmpi_err_in_status(void) { return MPI_ERR_IN_STATUS; }
static inline int cmpi_err_pending(void) { return MPI_ERR_PENDING; }
/* The error class (MPI_ERR_TRUNCATE, MPI_ERR_PENDING, ...) of an error code, or the code itself if MPI cannot say. */
static inline int cmpi_error_class(int code) {
    int cls = code;
    if (MPI_Error_class(code, &cls) != MPI_SUCCESS) return code;
    return cls;
}
static inline int cmpi_thread_funneled(void) { return MPI_THREAD_FUNNELED; }

/* Writes MPI's description of error `code` into `buf` (capacity `cap` bytes, always
 * NUL-terminated, truncated if need be) and returns its length. Falls back to
 * "MPI error code N" when MPI cannot describe the code. */
static inline int cmpi_error_string(int code, char *buf, int cap) {
    char text[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (buf == NULL || cap <= 0) return 0;
    if (MPI_Error_string(code, text, &len) != MPI_SUCCESS || len <= 0) {
        len = snprintf(text, sizeof text, "MPI error code %d", code);
    }
    if (len > MPI_MAX_ERROR_STRING) len = MPI_MAX_ERROR_STRING;
    if (len > cap - 1) len = cap - 1;
    memcpy(buf, text, (size_t)len);
    buf[len] = '\0';
    return len;
}

/* The capacity a buffer for cmpi_error_string needs to hold any message whole. */
static inline int cmpi_max_error_string(void) { return MPI_MAX_ERROR_STRING + 1; }

#endif
