/*
 * The daemon's parts (daemon.c: loop, signals, wiring, start and stop;
 * reload.c; adopt.c; commands.c: the control socket's commands) share
 * this state. Nothing outside agent/daemon/ includes it.
 */
#ifndef AHD_DAEMON_INT_H
#define AHD_DAEMON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "ctl.h"
#include "state.h"
#include "status.h"

struct ann;
struct cfg;
struct frr;
struct nl;
struct nl_watch;
struct svc;

/*
 * A loaded configuration. Services and probes keep pointers into the cfg
 * they were created from, so a reload that keeps a service keeps its cfg
 * alive: a generation is freed once it is not the current one and no
 * service points into it.
 */
struct gen {
	struct cfg	*cfg;
	unsigned	 refs;		/* services created from it */
	struct gen	*next;
};

struct daemon {
	struct gen		 *gens;
	struct gen		 *cur;
	struct cfg		 *cfg;		/* cur->cfg: global settings, service order */
	sd_event		 *ev;
	struct nl		 *nl;
	struct nl_watch		 *nlw;		/* address notifications; NULL: scan only */
	sd_event_source		 *nlw_src;
	bool			  nlw_fixed;	/* a foreign change was corrected */
	bool			  nlw_reopen;	/* a read failed: open again at the next reconcile */
	struct ann		 *ann;
	struct svc		**svcs;		/* by index into cfg->services */
	struct gen		**svc_gen;	/* where each service's cfg lives */
	struct ctl		 *ctl;
	struct frr		 *frr;		/* NULL until there is a service */
	sd_event_source		 *reconcile;
	sd_event_source		 *begin;	/* bounds the wait for FRR's first read */
	sd_event_source		 *stop;		/* bounds the wait for FRR at SIGTERM */
	/*
	 * Writes the state file and the metrics file at most once per
	 * FLUSH_GAP_US, so that a storm of transitions is a few writes, not
	 * one each. Normal priority: at idle priority a storm that keeps the
	 * loop busy would starve it, and announcements wait for it.
	 */
	sd_event_source		 *flush;
	sd_event_source		 *recorded;	/* announces what the state file lists, in parts */
	uint64_t		  flushed_us;	/* CLOCK_MONOTONIC of the last flush */
	bool			  begun;
	bool			  stopping;
	/* Stopping with the address method's withdrawals verified (zebra unsettled). */
	bool			  stop_addr;
	/* What the state file says, as last written; valid while state_saved. */
	struct state		  state_last;
	bool			  state_saved;
	struct status_counters	  counters;
	int			  exit_status;
};

/* daemon.c */
/* Checks the open-files limit against cfg; raise: first up to the hard limit. */
void		 daemon_nofile(const struct cfg *cfg, bool raise);
/* A new generation for cfg, or NULL (out of memory); it does not take cfg over. */
struct gen	*daemon_gen_new(struct daemon *d, struct cfg *cfg);
/* Frees every generation that is neither current nor used by a service. */
void		 daemon_gen_collect(struct daemon *d);
/* A service changed state: its announcements follow (svc_changed_cb). */
void		 daemon_svc_changed(struct svc *s, void *arg);
/* The state or the metrics changed: written soon (ann_record_cb). */
void		 daemon_dirty(void *arg);
/* Writes the state and metrics files now. */
void		 daemon_flush_now(struct daemon *d);
/* Creates the directory path goes into, if it is missing. */
void		 daemon_ensure_parent(const char *path);
/* Writes the state file if it changed; kept: a clean stop with on_exit "keep". */
void		 daemon_save_state(struct daemon *d, bool kept);
/* The FRR driver's counters as they are now, for status and metrics. */
void		 daemon_counters(struct daemon *d);
/* Creates or reconfigures the FRR driver for cfg and hands it to a; 0 or -1 (err). */
int		 daemon_frr_attach(struct daemon *d, const struct cfg *cfg, struct ann *a,
		    char *err, size_t errlen);
/* Tells systemd the daemon is ready, with how many services are announced. */
void		 daemon_notify_ready(const struct daemon *d);

/* reload.c: loads the configuration again; 0, or -1 with every error in errors (may be NULL). */
int		 daemon_reload(struct daemon *d, struct json_object *errors);

/* adopt.c: what the previous run left (state file, prefixes present) is taken over. */
void		 daemon_adopt(struct daemon *d);

/* commands.c: the control socket's commands. */
extern const struct ctl_command daemon_cmds[];

#endif
