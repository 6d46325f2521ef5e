/*
 * FRR: the one place that talks to FRR. It runs vtysh as a child of the
 * event loop (argv, never a shell), one call at a time, each with a hard
 * timeout; changes made in one loop iteration go out in one call; every
 * change is read back from `show running-config`, and a mismatch is an error
 * retried with backoff. ann_ decides what FRR must hold and keeps it (the one
 * desired state); frr_ keeps only what it read from FRR and what it has in
 * flight, asks ann_ for the desired statement at every flush
 * (frr_set_desired()), makes FRR so and keeps it so across bgpd restarts.
 * It never touches a `network` statement for a prefix it was not told to
 * manage, and never runs `write memory`.
 */
#ifndef AHD_FRR_H
#define AHD_FRR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <systemd/sd-event.h>

#include "frr_index.h"
#include "pfx.h"

struct cfg;

/* Route-map names are words of at most 64 characters (cfg.c). */
#define FRR_RM_MAX	65

/* One `network` line found in the running configuration. */
struct frr_net {
	struct pfx	pfx;
	int		af;			/* family of the address-family section it is in */
	char		route_map[FRR_RM_MAX];	/* "" without one */
	bool		options;		/* words other than `route-map RM` follow */
};

/* What `show running-config` says about one `router bgp` instance. */
struct frr_running {
	bool		 found;		/* `router bgp ASN [vrf VRF]` for the VRF asked for */
	uint32_t	 asn;
	struct frr_net	*nets;
	size_t		 nnets, cap;
	struct frr_index idx;		/* nets in their own family's section, by prefix */
};

/*
 * Parses `show running-config` output for the instance of vrf (NULL: the
 * default VRF). Lines it does not understand are skipped. 0, or -1 on memory
 * exhaustion.
 */
int		 frr_running_parse(const char *text, const char *vrf, struct frr_running *out);
void		 frr_running_clear(struct frr_running *r);
/*
 * The statement the running configuration holds for p in its own family's
 * section, or NULL. A statement that sits in the other family's section
 * (vtysh's fall-through) does not count.
 */
const struct frr_net *frr_running_find(const struct frr_running *r, const struct pfx *p);

/* One change for frr_build_argv(): route_map NULL or "" for the plain statement. */
struct frr_change {
	struct pfx	 pfx;
	bool		 present;
	const char	*route_map;
};

/*
 * The argv of one vtysh call making all the changes: `configure terminal`,
 * `router bgp ASN [vrf VRF]`, then per family `address-family ... unicast`,
 * `[no] network P [route-map RM]`, `exit-address-family`. Prefix text comes
 * from pfx_fmt(). NULL-terminated; free with frr_argv_free(). NULL on ENOMEM.
 */
char		**frr_build_argv(const char *vtysh, const char *pathspace, uint32_t asn,
		    const char *vrf, const struct frr_change *c, size_t n);
/* The argv of `show running-config`. */
char		**frr_build_show_argv(const char *vtysh, const char *pathspace);
void		 frr_argv_free(char **argv);

struct frr;

/* Called after every read-back and every failed call: see frr_holds(). */
typedef void (*frr_update_cb)(struct frr *f, void *arg);

struct frr_stats {
	uint64_t	calls;		/* vtysh calls made */
	uint64_t	failures;	/* failed calls, timeouts, read-back mismatches */
	uint64_t	timeouts;
	uint64_t	mismatches;
	uint64_t	reads;
	uint64_t	applies;
	uint64_t	verifies;	/* read-only checks of the address method */
	uint64_t	repairs;	/* statements re-entered to make bgpd re-evaluate */
	uint64_t	vty_reads;	/* read-only calls answered by the vty sockets */
	uint64_t	vty_fallbacks;	/* ... that fell back to vtysh */
};

struct frr	*frr_new(sd_event *ev, const struct cfg *cfg, frr_update_cb cb, void *arg);
void		 frr_free(struct frr *f);
/*
 * Takes a reloaded configuration's FRR settings, used from the next call on
 * (timeout, and a configured frr.asn replaces a learned one); f keeps its
 * own copy, so no configuration needs to outlive it. The statements are not
 * moved: the caller has refused a reload changing vtysh, pathspace, frr.asn
 * or vrf. The managed set is left alone: the caller follows with
 * frr_manage() and frr_release(). 0, or -1 (out of memory, f unchanged).
 */
int		 frr_reconfigure(struct frr *f, const struct cfg *cfg);
/*
 * Declares p as managed, before frr_start() or after it (a reload: FRR is
 * read again soon to learn what it holds for p). Its statement is what the
 * owner of the desired state says (frr_set_desired()); an entry still being
 * released (see frr_release()) is managed again, and the owner asked again.
 */
int		 frr_manage(struct frr *f, const struct pfx *p);
/*
 * Ends the management of p after a reload. remove false (p is now announced
 * by method address, whose `network` line is the operator's): p is forgotten
 * and its statement never touched again; at once, unless FRR holds (or is
 * being sent) it with a route-map, which is ours: then plain `network P` is
 * asked for first, and p forgotten once a read shows it. remove true (p left the
 * configuration): its statement is wanted absent, and p is forgotten once a
 * read shows it absent, so that a statement added by hand later stays.
 * The owner of the desired state is not asked about p meanwhile.
 */
void		 frr_release(struct frr *f, const struct pfx *p, bool remove);
/*
 * The owner of the desired state (ann_): the statement a managed p must
 * have, absent (false), `network P` or `network P route-map RM` (true,
 * *route_map NULL or "" for the plain one). Asked whenever the driver
 * compares or flushes; it must answer from its own state, without calling
 * back into frr_.
 */
typedef bool (*frr_desired_fn)(void *arg, const struct pfx *p, const char **route_map);
/*
 * Sets the owner (after a reload: the new one; arg must stay valid until it
 * is replaced or f is freed), and compares its answers soon (frr_changed()).
 * Without an owner every managed statement is wanted absent: that is what
 * withdraw-all asks for.
 */
void		 frr_set_desired(struct frr *f, frr_desired_fn fn, void *arg);
/*
 * The owner's desired state changed: FRR is made to match soon. Nothing is
 * sent when nothing differs; changes made in the same loop iteration go out
 * in one vtysh call.
 */
void		 frr_changed(struct frr *f);
/*
 * Reads FRR's running configuration and makes it match (the first read
 * also serves adoption, see frr_holds()); watches the FRR run directory for
 * bgpd restarts and re-checks periodically.
 */
int		 frr_start(struct frr *f);
/* Reads the running configuration again soon and repairs any difference. */
void		 frr_check(struct frr *f);
/* Whether the last read showed FRR holding a statement for p (any route-map). */
bool		 frr_holds(const struct frr *f, const struct pfx *p);
/* The route-map of p's statement as last read: "" without one, NULL if none is held. */
const char	*frr_held_route_map(const struct frr *f, const struct pfx *p);
/* The AS number in use: configured, or learned from FRR (0: not yet known). */
uint32_t	 frr_asn(const struct frr *f);
/* Whether FRR has been read at least once. */
bool		 frr_known(const struct frr *f);
/* Whether the last read matched the desired state and nothing is pending. */
bool		 frr_synced(const struct frr *f);
/* Whether the last call failed (FRR unreachable, timeout, mismatch). */
bool		 frr_failing(const struct frr *f);
/* The last verification of the address method failed (FRR's link may be fine). */
bool		 frr_verify_failing(const struct frr *f);
/*
 * A repair of an address-method statement is in flight or not yet read
 * back: stopping now could leave the operator's statement out of FRR.
 */
bool		 frr_repairing(const struct frr *f);
const struct frr_stats *frr_stats(const struct frr *f);

/*
 * Verification of the address method. bgpd announces an address-method
 * prefix through the operator's own `network P` while zebra reports a
 * route for P (import-check). After zebra restarts, FRR 8.4's bgpd does not
 * register P with zebra again, so it never hears that the address went:
 * the prefix stays announced for a dead service. frr_ therefore reads what
 * bgpd announces and what zebra tracks (read-only), and re-enters a
 * statement whose tracking is lost or whose announcement is stale.
 */

/* The argv of the read-only verification: `show bgp [vrf V] ipv4|ipv6 unicast P json`
 * per prefix, then `show zebra client summary`, `show ip nht`, `show ipv6 nht`. */
char		**frr_build_verify_argv(const char *vtysh, const char *pathspace,
		    const char *vrf, const struct pfx *ps, size_t n);

/* What one verification read shows. */
struct frr_seen {
	bool	 bgp_ok;	/* one JSON answer per prefix asked */
	bool	*announced;	/* per prefix asked: bgpd holds a valid path of its own */
	bool	 zebra_ok;	/* zebra's part of the output is there */
	bool	 bgp_client;	/* bgpd is connected to zebra */
	bool	*registered;	/* per tracked prefix: zebra tracks its address for bgpd */
};

/*
 * Parses the output of frr_build_verify_argv(ps, n)'s call; zebra_answered
 * says whether vtysh exited 0 (a daemon that is down makes it exit 1, after
 * the other daemons answered); registration is looked up for the tracked
 * prefixes. 0, or -1 on memory exhaustion; free with frr_seen_clear().
 */
int		 frr_verify_parse(const char *text, bool zebra_answered,
		    const struct pfx *ps, size_t n, const struct pfx *tracked,
		    size_t ntracked, struct frr_seen *out);
void		 frr_seen_clear(struct frr_seen *s);

/*
 * Declares p as announced by the address method, to be verified; after a
 * reload the caller first calls frr_untrack_all(): a prefix not declared
 * again stays verified (and repaired) until bgpd is seen not announcing it,
 * or it is managed (frr_manage()). 0, or -1 (ENOMEM).
 */
int		 frr_track(struct frr *f, const struct pfx *p);
void		 frr_untrack_all(struct frr *f);
/*
 * Whether the last verification found bgpd on zebra with every tracked
 * prefix tracked (or FRR was never read): a stop can then leave withdrawals
 * of the address method to FRR's own path.
 */
bool		 frr_zebra_settled(const struct frr *f);
/* Every tracked prefix whose address is gone was verified withdrawn since. */
bool		 frr_withdrawn(const struct frr *f);
/*
 * Whether the address of tracked p is on its interface now. A removal is
 * verified after FRR's own path had its time.
 */
void		 frr_track_addr(struct frr *f, const struct pfx *p, bool present);

/*
 * Values for frr_render(): NULL leaves out the lines using the placeholder.
 * prefixes: every managed prefix; addr_prefixes: those of method address.
 */
struct frr_render {
	const char		*asn;
	const char		*router_id;
	const char		*neighbor;
	const char		*neighbor_asn;
	const char		*bfd_interval;	/* ms; NULL: no BFD lines */
	const struct pfx	*prefixes;
	size_t			 nprefixes;
	const struct pfx	*addr_prefixes;
	size_t			 naddr_prefixes;
};

/*
 * Renders a template of frr-templates/: comment lines ("!" and text) are
 * dropped, a line with a PREFIX placeholder repeats per prefix of its kind,
 * a line with a placeholder without value is left out ({{BFD}} is empty
 * when bfd_interval is set: it marks the lines of an optional block).
 * 0, or -1 (errno).
 */
int		 frr_render(FILE *in, FILE *out, const struct frr_render *v);

/* Tunables for tests; the defaults are the daemon's. */
struct frr_timing {
	uint64_t	backoff_min_us;		/* first retry after a failure: 1 s */
	uint64_t	backoff_max_us;		/* doubling up to: 30 s */
	uint64_t	check_interval_us;	/* periodic read: 10 s */
	uint64_t	replay_poll_us;		/* while FRR replays its config: 250 ms */
	uint64_t	replay_max_us;		/* longest wait for `router bgp`: 10 s */
	uint64_t	verify_delay_us;	/* address removed -> verification: 150 ms (FRR's own path is ~65 ms) */
	uint64_t	zebra_poll_us;		/* after a zebra restart, until re-registered: 1 s */
	uint64_t	zebra_wait_max_us;	/* longest such polling: 120 s */
};
void		 frr_set_timing(struct frr *f, const struct frr_timing *t);
/* For tests: where bgpd.vty and zebra.vty are (default FRR_RUNDIR[/pathspace]). */
void		 frr_set_vty_dir(struct frr *f, const char *dir);

#endif
