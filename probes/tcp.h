/* TCP probe: connect, optionally send a string and expect a substring back. */
#ifndef AHD_PROBE_TCP_H
#define AHD_PROBE_TCP_H

#include "probe.h"

extern const struct probe_type probe_type_tcp;

#endif
