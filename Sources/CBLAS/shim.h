#ifndef SPIKESCALE_CBLAS_SHIM_H
#define SPIKESCALE_CBLAS_SHIM_H
#include <cblas.h>
#endif
