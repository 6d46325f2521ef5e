/* Listen probe: the kernel says (sock_diag) whether a socket is bound/listening. */
#ifndef AHD_PROBE_LISTEN_H
#define AHD_PROBE_LISTEN_H

#include "probe.h"

extern const struct probe_type probe_type_listen;

#endif
