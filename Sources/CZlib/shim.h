#ifndef SPIKESCALE_ZLIB_SHIM_H
#define SPIKESCALE_ZLIB_SHIM_H
#include <zlib.h>
#endif
