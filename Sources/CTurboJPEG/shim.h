#ifndef SPIKESCALE_TURBOJPEG_SHIM_H
#define SPIKESCALE_TURBOJPEG_SHIM_H
#include <turbojpeg.h>
#endif
