/* HTTP(S) probe: one request through libcurl's multi interface on the event loop. */
#ifndef AHD_PROBE_HTTP_H
#define AHD_PROBE_HTTP_H

#include "probe.h"

extern const struct probe_type probe_type_http;

#endif
