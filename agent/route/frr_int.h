/*
 * What the parts of the FRR driver share (frr.c, frr_call.c,
 * frr_repair.c); nothing outside agent/route/frr*.c includes it. frr.h is
 * the public API.
 */
#ifndef AHD_FRR_INT_H
#define AHD_FRR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "cfg.h"
#include "frr.h"
#include "frr_index.h"
#include "pfx.h"

/*
 * A route-map name read back from FRR is cut to FRR_RM_MAX - 1 characters
 * and compared with ann's whole name: a longer configured name would never
 * match and be re-applied forever.
 */
_Static_assert(FRR_RM_MAX > CFG_ROUTE_MAP_MAX, "FRR_RM_MAX must hold any degraded_route_map");

/* vtysh prints a few KiB; a running-config of a big router is still far below this. */
#define FRR_OUT_MAX	(8 * 1024 * 1024)
#define FRR_RUNDIR	"/var/run/frr"
/* bgpd answers `show bgp ... P json` in about 1 ms each: one call stays short. */
#define FRR_VERIFY_MAX	100

/*
 * A managed prefix: what the last read of the running configuration showed
 * and what is in flight. What it should be is not kept here: the owner of
 * the desired state (ann_, see frr_set_desired()) is asked at every flush
 * and check (entry_wanted()), so there is one desired state, not two.
 */
struct frr_entry {
	struct pfx	pfx;
	bool		have;
	char		have_rm[FRR_RM_MAX];
	bool		sent;		/* part of the call whose read-back is pending */
	/* What that call asked for: the desired state may have moved on since. */
	bool		sent_want;
	char		sent_rm[FRR_RM_MAX];
	/*
	 * Left by the configuration, so no owner wants it any more: wanted
	 * absent (or, for method address, plain: release_plain), dropped once
	 * a read shows it so. The end of a release is the driver's own.
	 */
	bool		released;
	bool		release_plain;
};

/*
 * An address-method prefix: bgpd announces it through the operator's own
 * statement while zebra reports its address. Verified, never managed: its
 * statement is only ever re-entered as it was (frr_start_repair()).
 */
struct frr_track {
	struct pfx	pfx;
	bool		addr;		/* on its interface, as ann_ last said */
	bool		stmt;		/* the last read showed `network P` */
	bool		options;	/* ... with words we would not re-enter faithfully */
	char		rm[FRR_RM_MAX];
	bool		repair;		/* to be re-entered by the next repair call */
	/*
	 * Re-entered by a repair not yet read back: until a read shows the
	 * statement again, a vtysh killed (or failing) between `no network P`
	 * and `network P` must not cost the operator the statement.
	 */
	bool		inflight;
	char		inflight_rm[FRR_RM_MAX];
	bool		reenter;	/* a read showed it missing: `network P [RM]` alone */
	/* Repaired and still stale: retried after its own doubling pause. */
	bool		repaired;
	uint64_t	rbackoff_us;
	uint64_t	rnext_us;
	bool		warned;		/* missing or unrepairable statement logged */
	/* No longer configured (reload): verified until bgpd no longer announces it. */
	bool		leaving;
	bool		gone;		/* a verification showed it withdrawn since the removal */
};

enum frr_op { FRR_OP_NONE, FRR_OP_READ, FRR_OP_APPLY, FRR_OP_VERIFY, FRR_OP_REPAIR };

struct frr_call {
	enum frr_op	 op;
	pid_t		 pid;
	int		 fd;		/* read end of stdout+stderr */
	sd_event_source	*child;
	sd_event_source	*io;
	sd_event_source	*deadline;
	char		*out;
	size_t		 len, cap;
	bool		 exited;
	bool		 timed_out;
	int		 status;	/* si_code/si_status folded: exit code, or 128+signal */
	uint64_t	 started_us;
	/*
	 * A read-only call answered through the daemons' vty sockets
	 * (frr_vty.c) instead of vtysh: pid 0, fd the socket. argv is the
	 * vtysh call it falls back to.
	 */
	bool		 vty;
	char		**argv;
	size_t		 cmd;		/* the -c word being answered */
	const char	*daemon;	/* connected to: "bgpd", "zebra", NULL */
	bool		 enabling;	/* the answer to `enable` is pending */
	size_t		 start;		/* where the current answer starts in out */
};

struct frr {
	sd_event		*ev;
	/*
	 * A copy of the configuration's FRR settings: a reload frees the
	 * configuration they came from whenever it is done with it.
	 */
	struct {
		char		*vtysh;
		char		*pathspace;	/* NULL: none */
		char		*vrf;		/* NULL: default VRF */
		uint32_t	 asn;		/* 0: learn it */
		uint64_t	 timeout_us;
	} set;
	frr_update_cb		 cb;
	void			*cb_arg;
	frr_desired_fn		 desired;	/* NULL: every statement wanted absent */
	void			*desired_arg;
	struct frr_entry	*e;
	size_t			 n, ecap;
	struct frr_index	 eidx;		/* e by prefix */
	uint32_t		 asn;		/* configured, or learned from FRR */
	struct frr_timing	 t;

	struct frr_call		 call;
	char			 vty_dir[256];	/* "": FRR_RUNDIR[/pathspace] */
	int			 vty_state;	/* 1 sockets answer, -1 falling back, 0 unknown */
	bool			 started;
	bool			 known;		/* `have` reflects a read */
	bool			 need_read;
	bool			 readback;	/* the next read checks the last apply */
	bool			 failing;
	uint64_t		 backoff_us;
	uint64_t		 replay_since_us;	/* 0: not waiting for FRR's config */
	char			 last_err[512];

	sd_event_source		*defer;		/* coalesces one iteration's changes */
	sd_event_source		*retry;		/* backoff after a failure */
	sd_event_source		*periodic;
	sd_event_source		*watch;		/* inotify on the FRR run directory */
	struct frr_stats	 stats;

	struct frr_track	*tr;		/* address-method prefixes, verified */
	size_t			 ntr, trcap;
	struct frr_index	 tridx;		/* tr by prefix */
	bool			 verify_due;
	sd_event_source		*verify;	/* delays a verification */
	uint64_t		 zebra_since_us;	/* 0, or when a zebra restart was seen */
	/*
	 * The address method's calls fail and back off on their own: a failing
	 * network method must not hold up the withdrawal of a stale prefix,
	 * and a failed verification says nothing about the statements.
	 */
	bool			 tr_read;	/* a read for the tracked statements is due */
	bool			 vfailing;
	uint64_t		 vbackoff_us;
	sd_event_source		*vretry;
	bool			 zebra_settled;	/* the last verification found zebra tracking all */
	struct pfx		*asked;		/* what the verification in flight asks about */
	size_t			 nasked;
	size_t			 vcursor;	/* where the next verification starts asking */
};

/* frr_call.c: the vtysh child. */
enum frr_drain {
	FRR_DRAIN_MORE,		/* nothing more to read now */
	FRR_DRAIN_EOF,
	FRR_DRAIN_FULL,		/* more than FRR_OUT_MAX - 1 bytes: what that means is the caller's */
	FRR_DRAIN_ERROR		/* *err: errno, ENOMEM */
};
/* Reads c->fd without blocking into c->out, a string whenever allocated. */
enum frr_drain	 frr_drain(struct frr_call *c, int *err);
int		 frr_spawn(struct frr *f, enum frr_op op, char **argv);
int		 frr_spawn_vtysh(struct frr *f, enum frr_op op, char **argv);
void		 frr_call_release(struct frr_call *c);
const char	*frr_op_name(enum frr_op op);
const char	*frr_out_tail(const struct frr_call *c, char *buf, size_t len);

/* frr_vty.c: read-only calls through the daemons' vty sockets. */
int		 frr_vty_start(struct frr *f, enum frr_op op, char **argv);
const char	*frr_vty_daemon(const char *cmd);

/* frr.c: the driver. */
void		 frr_kick(struct frr *f);
void		 frr_call_done(struct frr *f);

/* frr_repair.c: verification and repair of the address method. */
void		 frr_vhold(struct frr *f, uint64_t delay_us);
void		 frr_vfail(struct frr *f, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
bool		 frr_vretry_pending(const struct frr *f);
void		 frr_verify_after(struct frr *f, uint64_t delay_us);
int		 frr_verify_cb(sd_event_source *src, uint64_t usec, void *arg);
int		 frr_vretry_cb(sd_event_source *src, uint64_t usec, void *arg);
void		 frr_zebra_restarted(struct frr *f, const char *name);
void		 frr_untrack_leaving(struct frr *f, const struct pfx *p);
void		 frr_tracks_free(struct frr *f);
void		 frr_tracks_read(struct frr *f, const struct frr_running *r);
void		 frr_verify_done(struct frr *f, const char *out, int status);
void		 frr_start_repair(struct frr *f);
void		 frr_start_verify(struct frr *f);
bool		 frr_repair_ready(const struct frr *f, uint64_t now, uint64_t *next);
bool		 frr_inflight_any(const struct frr *f);
bool		 frr_reenter_wanted(const struct frr *f);

#endif
