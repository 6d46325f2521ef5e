/* exec probe: runs a Nagios plugin (argv, no shell); its exit status is the result. */
#ifndef AHD_PROBE_EXEC_H
#define AHD_PROBE_EXEC_H

#include <stdbool.h>
#include <sys/types.h>

#include "probe.h"

extern const struct probe_type probe_type_exec;

/*
 * Announces every plugin process group on fd (a pipe to a guardian):
 * "+PGID\n" written by the plugin's child itself, in its new group and
 * before anything else, so that no moment exists in which the group runs
 * unannounced (a SIGKILL to us right after fork() included); "-PGID\n"
 * by us once its leader is reaped. For a short-lived program whose own
 * process group may be killed with SIGKILL by a monitoring system:
 * whatever survives it must know which groups to kill. fd must be
 * close-on-exec; a write that fails (EPIPE: the guardian is gone; SIGPIPE
 * should be ignored) forgets it. -1: none.
 */
void	exec_set_guard(int fd);

#endif
