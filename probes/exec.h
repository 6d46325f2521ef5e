/* exec probe: runs a Nagios plugin (argv, no shell); its exit status is the result. */
#ifndef AHD_PROBE_EXEC_H
#define AHD_PROBE_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "probe.h"

extern const struct probe_type probe_type_exec;

/*
 * Tells cb of every plugin process group: started (right after the fork)
 * and gone (its leader reaped, the group killed). For a short-lived
 * program whose own process group may be killed with SIGKILL by a monitoring
 * system: whatever survives it must know which groups to kill. NULL: none.
 */
void	exec_set_tracker(void (*cb)(pid_t pgid, bool started));

#endif
