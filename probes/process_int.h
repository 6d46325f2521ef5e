/*
 * The process probe's parts, private to them: process.c (configuration,
 * the type's operations), process_pid.c (pidfile: the pid it names, its
 * pidfd, the shared inotify watch), process_cgroup.c (unit and cgroup: the
 * cgroup's cgroup.events, asking systemd over sd-bus where a unit's cgroup
 * is, and the blocking unit check of `validate`).
 */
#ifndef AHD_PROBE_PROCESS_INT_H
#define AHD_PROBE_PROCESS_INT_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "probe.h"

enum proc_mode { PROC_PIDFILE, PROC_CGROUP };

struct proc_params {
	enum proc_mode	 mode;
	char		*pidfile;
	char		*dir;		/* the pidfile's directory and base name */
	char		*base;
	char		*unit;		/* with its suffix: "unbound.service" */
	const char	*iface;		/* its type's D-Bus interface (ControlGroup) */
	char		*cgroup;	/* absolute, or relative to the cgroup2 mount;
					   for a unit, the guess used without systemd */
	char		 what[PATH_MAX + 16];	/* "pidfile /run/x.pid", for messages */
};

struct proc_held {
	struct probe	*p;
	/* pidfile */
	int		 pidfd;
	pid_t		 pid;
	sd_event_source	*pid_src;
	int		 wd;		/* inotify watch on the pidfile's directory */
	/* cgroup */
	int		 evfd;		/* cgroup.events */
	sd_event_source	*ev_src;
	/* unit: the call to systemd in flight, and the unit's object */
	sd_bus_slot	*slot;
	char		*objpath;
};

/* process_pid.c */
void	proc_pid_start(struct proc_held *h);	/* one attempt; ends in probe_done() */
void	proc_pid_drop(struct proc_held *h);	/* lets the pidfd and its watch go */
/* Joins the inotify instance shared by every pidfile probe of the loop. */
int	proc_hub_join(struct proc_held *h, char *err, size_t errlen);
void	proc_hub_leave(struct proc_held *h);

/* process_cgroup.c */
void	proc_cgroup_start(struct proc_held *h);	/* one attempt; ends in probe_done() */
void	proc_cgroup_drop(struct proc_held *h);	/* lets cgroup.events and its watch go */
/* The connection to systemd shared by every unit probe of the loop. */
void	proc_sysd_join(sd_event *ev);
void	proc_sysd_leave(void);

#endif
