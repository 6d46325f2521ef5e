/* DNS probe: one query over UDP (TCP when truncated) or TCP; rcode, AA and answers checked. */
#ifndef AHD_PROBE_DNS_H
#define AHD_PROBE_DNS_H

#include "probe.h"

extern const struct probe_type probe_type_dns;

#endif
