/* CSpikeSIMD is header-only (static inline functions, inlined into the Swift kernels); SwiftPM builds a C
 * target from at least one source file. */
#include "CSpikeSIMD.h"
