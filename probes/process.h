/*
 * Process probe: is the service's server process alive? Event-driven
 * (pidfd, cgroup.events), so a crash is reported in the same loop iteration
 * as the kernel's news, as PROBE_GONE (down at once, no fall).
 */
#ifndef AHD_PROBE_PROCESS_H
#define AHD_PROBE_PROCESS_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>
#include <time.h>

#include "probe.h"

extern const struct probe_type probe_type_process;

/*
 * Parses a pidfile's contents: optional blanks, a decimal pid in
 * 1..INT_MAX, optional blanks/newline, nothing else. Returns the pid or -1.
 */
pid_t	process_parse_pid(const char *buf, size_t len);
/* The mount point of the cgroup v2 hierarchy ("" if none), from mountinfo text. */
int	process_cgroup2_mount(const char *mountinfo, char *out, size_t outlen);

/*
 * The cgroup (relative to the cgroup2 mount) that systemd's defaults give a
 * unit named with its suffix: system.slice/UNIT, a template instance
 * system.slice/system-PREFIX.slice/UNIT (PREFIX escaped as systemd does), a
 * slice a-b.slice a.slice/a-b.slice. What is used when systemd cannot be
 * asked; a unit with Slice= is elsewhere. 0, or -1 if it does not fit.
 */
int	process_unit_cgroup_guess(const char *unit, char *out, size_t outlen);

struct cfg;
/*
 * For `validate` and `-n`: asks systemd (blocking: never in the loop)
 * whether each unit of a process probe exists, and writes a warning line
 * to out for each that does not, or a note when systemd cannot be asked.
 * Returns the number of units that do not exist.
 */
size_t	process_check_units(const struct cfg *cfg, FILE *out);

#endif
