/* exec probe: runs a Nagios plugin (argv, no shell); its exit status is the result. */
#ifndef AHD_PROBE_EXEC_H
#define AHD_PROBE_EXEC_H

#include "probe.h"

extern const struct probe_type probe_type_exec;

#endif
