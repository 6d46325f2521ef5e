/*
 * Length: the prefix table, its passes and their netlink batching are one
 * state machine (present/desired/recorded per prefix); a split along the
 * passes would export the table's internals.
 */
#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ann.h"
#include "cfg.h"
#include "frr.h"
#include "log.h"
#include "nl.h"
#include "clock.h"

/*
 * A prefix's entry, through a hash index: the kernel's address dump (every
 * 5 s), status and every change look prefixes up, and a linear search made
 * each of those quadratic with thousands of services.
 */
static struct ann_prefix *
ann_find(const struct ann *a, const struct pfx *p)
{
	size_t	i, j;

	if (a->index_cap == 0)
		return NULL;
	for (i = pfx_hash(p) & (a->index_cap - 1); (j = a->index[i]) != 0;
	    i = (i + 1) & (a->index_cap - 1))
		if (pfx_equal(&a->prefixes[j - 1].pfx, p))
			return &a->prefixes[j - 1];
	return NULL;
}

/* Indexes prefixes[n]; the index grows (and is rebuilt) at half full. */
static int
ann_index_add(struct ann *a, size_t n)
{
	size_t	cap, *idx, i;

	if (2 * (n + 1) >= a->index_cap) {
		cap = a->index_cap ? a->index_cap * 2 : 64;
		if ((idx = calloc(cap, sizeof(*idx))) == NULL)
			return -1;
		free(a->index);
		a->index = idx;
		a->index_cap = cap;
		for (size_t k = 0; k < n; k++) {
			for (i = pfx_hash(&a->prefixes[k].pfx) & (cap - 1); idx[i] != 0;
			    i = (i + 1) & (cap - 1))
				;
			idx[i] = k + 1;
		}
	}
	for (i = pfx_hash(&a->prefixes[n].pfx) & (a->index_cap - 1); a->index[i] != 0;
	    i = (i + 1) & (a->index_cap - 1))
		;
	a->index[i] = n + 1;
	return 0;
}

static int
ann_add_prefix(struct ann *a, const struct pfx *p, size_t svc, const char *ifname,
    int method, char *err, size_t errlen)
{
	struct ann_prefix	*ap, *tmp;
	size_t			*svcs;
	char			 buf[PFX_STRLEN];

	if ((ap = ann_find(a, p)) == NULL) {
		tmp = realloc(a->prefixes, (a->nprefixes + 1) * sizeof(*tmp));
		if (tmp == NULL)
			goto nomem;
		a->prefixes = tmp;
		ap = &a->prefixes[a->nprefixes];
		memset(ap, 0, sizeof(*ap));
		ap->pfx = *p;
		ap->method = method;
		if ((ap->ifname = strdup(ifname)) == NULL)
			goto nomem;
		if (ann_index_add(a, a->nprefixes) == -1) {
			free(ap->ifname);
			goto nomem;
		}
		a->nprefixes++;
		/* The network method puts no address anywhere. */
		if (method != METHOD_NETWORK && (ap->ifindex = if_nametoindex(ifname)) == 0) {
			snprintf(err, errlen, "%s: interface '%s' of prefix %s: %s",
			    a->cfg->services[svc].name, ifname,
			    pfx_fmt(p, buf, sizeof(buf)), strerror(errno));
			return -1;
		}
	}
	if ((svcs = realloc(ap->svcs, (ap->nsvcs + 1) * sizeof(*svcs))) == NULL)
		goto nomem;
	ap->svcs = svcs;
	ap->svcs[ap->nsvcs++] = svc;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
ann_log_sharing(const struct ann *a)
{
	char	buf[PFX_STRLEN], names[512];
	size_t	off;

	for (size_t i = 0; i < a->nprefixes; i++) {
		const struct ann_prefix *ap = &a->prefixes[i];
		if (ap->nsvcs < 2)
			continue;
		off = 0;
		names[0] = '\0';
		for (size_t j = 0; j < ap->nsvcs && off < sizeof(names); j++)
			off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
			    j ? ", " : "", a->cfg->services[ap->svcs[j]].name);
		log_info("prefix %s is shared by %s: announced while %s of them %s up",
		    pfx_fmt(&ap->pfx, buf, sizeof(buf)), names,
		    a->cfg->shared_prefixes == SHARED_ALL ? "all" : "any",
		    a->cfg->shared_prefixes == SHARED_ALL ? "are" : "is");
	}
}

struct ann *
ann_new(const struct cfg *cfg, struct nl *nl, char *err, size_t errlen)
{
	struct ann	*a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	a->nl = nl;
	a->svc_wanted = calloc(cfg->nservices + 1, sizeof(bool));
	a->svc_mode = calloc(cfg->nservices + 1, sizeof(*a->svc_mode));
	a->svc_fell = calloc(cfg->nservices + 1, sizeof(bool));
	if (a->svc_wanted == NULL || a->svc_mode == NULL || a->svc_fell == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct cfg_service *s = &cfg->services[i];
		for (size_t j = 0; j < s->nprefixes; j++)
			if (ann_add_prefix(a, &s->prefixes[j], i, s->interface,
			    (int)s->method, err, errlen) == -1)
				goto fail;
	}
	ann_log_sharing(a);
	return a;
fail:
	ann_free(a);
	return NULL;
}

void
ann_free(struct ann *a)
{
	if (a == NULL)
		return;
	for (size_t i = 0; i < a->nprefixes; i++) {
		free(a->prefixes[i].ifname);
		free(a->prefixes[i].svcs);
	}
	free(a->prefixes);
	free(a->index);
	free(a->svc_wanted);
	free(a->svc_mode);
	free(a->svc_fell);
	free(a->orphans);
	free(a->batch);
	free(a->batch_ap);
	free(a);
}

struct scan_arg {
	struct ann	*a;
	unsigned	 ifindex;
	bool		*found;		/* per prefix, for this interface */
};

static void
ann_scan_cb(const struct pfx *p, void *arg)
{
	struct scan_arg		*sa = arg;
	struct ann_prefix	*ap;

	/* Exact prefix and interface only: anything else is not ours to touch. */
	if ((ap = ann_find(sa->a, p)) != NULL && ap->ifindex == sa->ifindex)
		sa->found[ap - sa->a->prefixes] = true;
}

/*
 * Reads what the interfaces hold. An interface whose dump fails keeps what
 * was known of it: marking its addresses absent would skip their removal
 * and drop them from the state file.
 */
/* Tells frr_ where the address of an address-method prefix is, for its verification. */
static void
ann_track_addr(struct ann *a, const struct ann_prefix *ap)
{
	if (a->frr != NULL && ap->method == METHOD_ADDRESS)
		frr_track_addr(a->frr, &ap->pfx, ap->present);
}

int
ann_scan(struct ann *a)
{
	struct scan_arg	 sa = { .a = a };
	const char	*last = NULL;
	char		 err[256];
	unsigned	 idx = 0;
	int		 rc = 0;

	if ((sa.found = calloc(a->nprefixes + 1, sizeof(bool))) == NULL) {
		log_err("cannot read the interfaces: out of memory");
		return -1;
	}
	/*
	 * A dummy interface deleted and made again has a new index. One
	 * lookup (three system calls) per run of prefixes on the same
	 * interface, not per prefix: a thousand services on lo are one.
	 */
	for (size_t i = 0; i < a->nprefixes; i++) {
		if (a->prefixes[i].method == METHOD_NETWORK)
			continue;
		if (last == NULL || strcmp(last, a->prefixes[i].ifname) != 0) {
			last = a->prefixes[i].ifname;
			idx = if_nametoindex(last);
		}
		if (idx != 0)
			a->prefixes[i].ifindex = idx;
	}
	for (size_t i = 0; i < a->nprefixes; i++) {
		bool seen = a->prefixes[i].method == METHOD_NETWORK;
		/* Dump each interface once. */
		for (size_t j = 0; j < i && !seen; j++)
			seen = a->prefixes[j].method != METHOD_NETWORK &&
			    a->prefixes[j].ifindex == a->prefixes[i].ifindex;
		if (seen)
			continue;
		sa.ifindex = a->prefixes[i].ifindex;
		memset(sa.found, 0, (a->nprefixes + 1) * sizeof(bool));
		if (nl_addr_dump(a->nl, sa.ifindex, ann_scan_cb, &sa, err, sizeof(err)) == -1) {
			log_err("cannot read the addresses of %s: %s",
			    a->prefixes[i].ifname, err);
			a->errors++;
			rc = -1;
			continue;
		}
		/*
		 * frr_ is told changes only: it already holds every other
		 * (see ann_set_frr), and a lookup per prefix in its table
		 * made each periodic scan of 10,000 prefixes a 250 ms stall.
		 */
		for (size_t j = i; j < a->nprefixes; j++)
			if (a->prefixes[j].method != METHOD_NETWORK &&
			    a->prefixes[j].ifindex == sa.ifindex &&
			    a->prefixes[j].present != sa.found[j]) {
				a->prefixes[j].present = sa.found[j];
				ann_track_addr(a, &a->prefixes[j]);
			}
	}
	free(sa.found);
	return rc;
}

bool
ann_prefix_announced(const struct ann *a, const struct ann_prefix *ap)
{
	if (ap->method != METHOD_NETWORK && !ap->present)
		return false;
	return ap->method == METHOD_ADDRESS || (a->frr != NULL && frr_holds(a->frr, &ap->pfx));
}

bool
ann_service_present(const struct ann *a, size_t svc)
{
	const struct cfg_service	*s = &a->cfg->services[svc];
	struct ann_prefix		*ap;

	for (size_t j = 0; j < s->nprefixes; j++) {
		ap = ann_find(a, &s->prefixes[j]);
		if (ap == NULL || !ann_prefix_announced(a, ap))
			return false;
	}
	return s->nprefixes > 0;
}

static bool
ann_desired(const struct ann *a, const struct ann_prefix *ap)
{
	bool	all = true, any = false;

	for (size_t i = 0; i < ap->nsvcs; i++) {
		all = all && a->svc_wanted[ap->svcs[i]];
		any = any || a->svc_wanted[ap->svcs[i]];
	}
	return a->cfg->shared_prefixes == SHARED_ALL ? all : any;
}

/* The route-map of the strongest mode among the wanting services, or NULL. */
static const char *
ann_route_map(const struct ann *a, const struct ann_prefix *ap)
{
	enum ann_mode	 best = ANN_PLAIN;
	const char	*rm = NULL;

	for (size_t i = 0; i < ap->nsvcs; i++) {
		size_t j = ap->svcs[i];
		if (!a->svc_wanted[j] || a->svc_mode[j] <= best)
			continue;
		best = a->svc_mode[j];
		rm = best == ANN_GSHUT ? ANN_GSHUT_ROUTE_MAP :
		    a->cfg->services[j].degraded_route_map;
	}
	return rm;
}

/* Whether a service of ap is unwanted because it fell (an unplanned withdrawal). */
static bool
ann_fell(const struct ann *a, const struct ann_prefix *ap)
{
	for (size_t i = 0; i < ap->nsvcs; i++)
		if (!a->svc_wanted[ap->svcs[i]] && a->svc_fell[ap->svcs[i]])
			return true;
	return false;
}

/* Whether ap must wait for the state file to list it before it goes out. */
static bool
ann_unrecorded(const struct ann *a, const struct ann_prefix *ap)
{
	return ap->desired && !ap->recorded && a->record_cb != NULL;
}

/* both, planned withdrawal: the address stays until FRR dropped the statement. */
static bool
ann_both_holds(const struct ann *a, const struct ann_prefix *ap)
{
	return !ap->desired && ap->method == METHOD_BOTH && !a->final && !ann_fell(a, ap) &&
	    a->frr != NULL && frr_holds(a->frr, &ap->pfx) && !frr_failing(a->frr);
}

/* The kernel's answer to an address change of ap (add: making it present). */
static void
ann_address_done(struct ann *a, struct ann_prefix *ap, bool add, int rc, const char *err)
{
	char	buf[PFX_STRLEN];

	pfx_fmt(&ap->pfx, buf, sizeof(buf));
	if (rc == -1) {
		/* The periodic reconcile retries; the state says what is really there. */
		log_err("cannot %s %s on %s: %s", add ? "add" : "remove", buf,
		    ap->ifname, err);
		a->errors++;
		return;
	}
	ap->present = add;
	ann_track_addr(a, ap);
	a->noop = rc == 1;
	log_msg(LOG_LVL_INFO, NULL, add ? "announce" : "withdraw",
	    "%s %s on %s", add ? "announced" : "withdrew", buf, ap->ifname);
}

/* Address changes sent at once by a pass: 16 sendmsg() buffers of 64. */
#define ANN_BATCH_MAX		1024

static void	ann_batch_flush(struct ann *a);

/* Queues ap's change for ann_batch_end(); -1 when out of memory (done alone then). */
static int
ann_batch_add(struct ann *a, struct ann_prefix *ap)
{
	struct nl_addr_op	*ops;
	size_t			*aps, cap;

	/* A long pass goes out in parts: the ops (their error buffers) stay small. */
	if (a->nbatch == ANN_BATCH_MAX)
		ann_batch_flush(a);
	if (a->nbatch == a->batch_cap) {
		cap = a->batch_cap == 0 ? 64 : a->batch_cap * 2;
		if ((ops = realloc(a->batch, cap * sizeof(*ops))) == NULL)
			return -1;
		a->batch = ops;
		if ((aps = realloc(a->batch_ap, cap * sizeof(*aps))) == NULL)
			return -1;
		a->batch_ap = aps;
		a->batch_cap = cap;
	}
	ops = &a->batch[a->nbatch];
	memset(ops, 0, sizeof(*ops));
	ops->add = ap->desired;
	ops->ifindex = ap->ifindex;
	ops->pfx = ap->pfx;
	a->batch_ap[a->nbatch++] = (size_t)(ap - a->prefixes);
	return 0;
}

/* true: the change waits in the batch, and so does the rest of ann_apply(). */
static bool
ann_apply_address(struct ann *a, struct ann_prefix *ap)
{
	char	err[256];
	int	rc;

	if (ap->desired == ap->present || ann_unrecorded(a, ap))
		return false;
	/*
	 * both, planned (drain, reload, stop): the statement goes first, the
	 * address after FRR dropped it (or could not be asked), so the
	 * neighbour sees one clean withdrawal. Unplanned (the service fell):
	 * the address goes at once, FRR's fastest path to the withdrawal
	 * (import-check), and the statement after it.
	 */
	if (ann_both_holds(a, ap))
		return false;
	if (a->batching > 0 && ann_batch_add(a, ap) == 0)
		return true;
	if (ap->desired)
		rc = nl_addr_add(a->nl, ap->ifindex, &ap->pfx, err, sizeof(err));
	else
		rc = nl_addr_del(a->nl, ap->ifindex, &ap->pfx, err, sizeof(err));
	ann_address_done(a, ap, ap->desired, rc, err);
	return false;
}

/* The statement FRR must hold for ap; frr_ is told when it changed. */
static void
ann_want_stmt(struct ann *a, struct ann_prefix *ap, bool present, const char *rm)
{
	const char	*old = ap->stmt_rm != NULL ? ap->stmt_rm : "";

	rm = present && rm != NULL ? rm : "";
	if (ap->stmt == present && strcmp(old, rm) == 0)
		return;
	ap->stmt = present;
	ap->stmt_rm = rm[0] != '\0' ? rm : NULL;
	frr_changed(a->frr);
}

/* The statement's part of ann_apply(), after the address's. */
static void
ann_apply_frr(struct ann *a, struct ann_prefix *ap)
{
	if (ap->method == METHOD_ADDRESS || a->frr == NULL)
		return;
	/* both: no statement without its address (import-check needs the route). */
	ann_want_stmt(a, ap, ap->desired && (ap->method == METHOD_NETWORK || ap->present),
	    ap->route_map);
}

static void
ann_apply(struct ann *a, struct ann_prefix *ap)
{
	ap->desired = ann_desired(a, ap);
	ap->route_map = ap->desired ? ann_route_map(a, ap) : NULL;
	if (ann_unrecorded(a, ap)) {
		/* Announced once the state file lists it: see ann_recorded(). */
		a->record_cb(a->record_arg);
		return;
	}
	if (ap->method != METHOD_NETWORK && ann_apply_address(a, ap))
		return;
	ann_apply_frr(a, ap);
}

/*
 * A pass over many prefixes: their address changes go to the kernel
 * together at the end (a thousand prefixes of one service in 16 system
 * calls instead of a thousand round trips), each finished as if alone.
 */
static void
ann_batch_begin(struct ann *a)
{
	a->batching++;
}

/* Sends what the pass collected so far and finishes each prefix. */
static void
ann_batch_flush(struct ann *a)
{
	struct nl_addr_op	*ops = a->batch;
	size_t			*aps = a->batch_ap, n = a->nbatch;
	struct ann_prefix	*ap;

	/* Taken off ann first: a pass started from the results has its own. */
	a->batch = NULL;
	a->batch_ap = NULL;
	a->nbatch = a->batch_cap = 0;
	nl_addr_batch(a->nl, ops, n);
	for (size_t k = 0; k < n; k++) {
		ap = &a->prefixes[aps[k]];
		ann_address_done(a, ap, ops[k].add, ops[k].rc, ops[k].err);
		ann_apply_frr(a, ap);
	}
	free(ops);
	free(aps);
}

static void
ann_batch_end(struct ann *a)
{
	if (--a->batching == 0 && a->nbatch > 0)
		ann_batch_flush(a);
}

void
ann_set_service(struct ann *a, size_t svc, bool wanted, enum ann_mode mode, bool fell)
{
	a->svc_wanted[svc] = wanted;
	a->svc_mode[svc] = mode;
	a->svc_fell[svc] = !wanted && fell;
	ann_batch_begin(a);
	/*
	 * Its own prefixes through the index: a pass over the whole table per
	 * change made 10,000 services coming up at start O(N^2).
	 */
	for (size_t j = 0; j < a->cfg->services[svc].nprefixes; j++) {
		struct ann_prefix *ap = ann_find(a, &a->cfg->services[svc].prefixes[j]);
		if (ap != NULL)
			ann_apply(a, ap);
	}
	ann_batch_end(a);
}

/*
 * A program fighting us over an address (another agent, a script in a
 * loop) gets this many immediate corrections per window; after that the
 * periodic reconcile corrects it, so the two never spin the loop.
 */
#define ANN_FOREIGN_MAX		30
#define ANN_FOREIGN_WINDOW_US	(10 * 1000000ULL)

bool
ann_addr_changed(struct ann *a, unsigned ifindex, const struct pfx *p, bool added)
{
	struct ann_prefix	*ap = ann_find(a, p);
	char			 buf[PFX_STRLEN];
	uint64_t		 now;

	/* Exact prefix on its own interface only: anything else is not ours. */
	if (ap == NULL || ap->method == METHOD_NETWORK || ap->ifindex != ifindex)
		return false;
	ap->present = added;
	ann_track_addr(a, ap);
	if (ap->present == ap->desired)
		return false;	/* our own change coming back, or a harmless one */
	/* both, planned: the address stays on purpose while FRR drops the statement. */
	if (added && ann_both_holds(a, ap))
		return false;
	now = now_us();
	if (now - ap->foreign_since >= ANN_FOREIGN_WINDOW_US) {
		ap->foreign_since = now;
		ap->foreign_n = 0;
	}
	pfx_fmt(&ap->pfx, buf, sizeof(buf));
	if (ap->foreign_n >= ANN_FOREIGN_MAX) {
		if (ap->foreign_n++ == ANN_FOREIGN_MAX)
			log_err("%s on %s keeps being %s by another program: leaving it "
			    "to the periodic check for now", buf, ap->ifname,
			    added ? "added" : "removed");
		return false;
	}
	/*
	 * Put right at once; only a change the kernel had to undo was someone
	 * else's (our own add or removal, notified late, finds it already so).
	 */
	a->noop = false;
	ann_apply(a, ap);
	if (a->noop)
		return false;
	ap->foreign_n++;
	log_warn("%s on %s was %s by someone else: %s it", buf, ap->ifname,
	    added ? "added" : "removed", added ? "removing" : "restoring");
	return true;
}

static void	ann_orphans_apply(struct ann *a);

void
ann_reconcile(struct ann *a)
{
	char	buf[PFX_STRLEN];

	/* An interface that could not be read keeps what was known of it. */
	ann_scan(a);
	ann_batch_begin(a);
	for (size_t i = 0; i < a->nprefixes; i++) {
		struct ann_prefix *ap = &a->prefixes[i];
		bool want = ann_desired(a, ap);
		/* Held back until recorded is not a difference to report. */
		if (ap->method != METHOD_NETWORK && want != ap->present &&
		    (!want || ap->recorded || a->record_cb == NULL))
			log_warn("%s on %s is %s but should %sbe: correcting",
			    pfx_fmt(&ap->pfx, buf, sizeof(buf)), ap->ifname,
			    ap->present ? "present" : "absent", ap->present ? "not " : "");
		ann_apply(a, ap);
	}
	ann_batch_end(a);
	ann_orphans_apply(a);
}

void
ann_withdraw_all(struct ann *a)
{
	for (size_t i = 0; i < a->cfg->nservices; i++)
		a->svc_wanted[i] = false;
	ann_batch_begin(a);
	for (size_t i = 0; i < a->nprefixes; i++)
		ann_apply(a, &a->prefixes[i]);
	ann_batch_end(a);
	ann_orphans_apply(a);
}

bool
ann_prefix_listed(const struct ann *a, const struct ann_prefix *ap)
{
	return ap->present || ap->desired || (ap->method != METHOD_ADDRESS &&
	    a->frr != NULL && frr_holds(a->frr, &ap->pfx));
}

bool
ann_recorded(struct ann *a)
{
	for (size_t i = 0; i < a->nprefixes; i++) {
		struct ann_prefix *ap = &a->prefixes[i];
		bool listed = ann_prefix_listed(a, ap);
		/*
		 * What waited goes out in parts (ann_release()), held back
		 * (unrecorded) until its part: the kernel takes ~0.4 ms per
		 * address next to 10,000 others on lo, and the loop must answer
		 * in between. Marked now, while listed is what was written.
		 */
		ap->release = listed && !ap->recorded && ap->desired;
		if (!ap->release)
			ap->recorded = listed;
	}
	a->release_next = 0;
	return ann_release(a);
}

bool
ann_release(struct ann *a)
{
	size_t	sent = 0, i;
	bool	more = false;

	ann_batch_begin(a);
	/* Prefixes are only appended (unmarked) between parts: none is skipped. */
	for (i = a->release_next; i < a->nprefixes; i++) {
		struct ann_prefix *ap = &a->prefixes[i];
		if (!ap->release)
			continue;
		if (sent == ANN_RECORDED_MAX) {
			more = true;
			break;
		}
		/* The file lists it, desired or no longer. */
		ap->release = false;
		ap->recorded = true;
		if (ap->desired) {
			ann_apply(a, ap);
			sent++;
		}
	}
	a->release_next = i;
	ann_batch_end(a);
	return more;
}

void
ann_record_lost(struct ann *a)
{
	for (size_t i = 0; i < a->nprefixes; i++) {
		struct ann_prefix *ap = &a->prefixes[i];
		/* A part not yet out waits for a write that lists it again. */
		ap->release = false;
		ap->recorded = ap->recorded && (ap->present || (ap->method != METHOD_ADDRESS &&
		    a->frr != NULL && frr_holds(a->frr, &ap->pfx)));
	}
}

void
ann_adopted(struct ann *a, size_t svc)
{
	const struct cfg_service	*s = &a->cfg->services[svc];
	struct ann_prefix		*ap;

	for (size_t j = 0; j < s->nprefixes; j++)
		if ((ap = ann_find(a, &s->prefixes[j])) != NULL && ann_prefix_announced(a, ap))
			ap->recorded = true;
}

size_t
ann_waiting(const struct ann *a)
{
	size_t	n = 0;

	for (size_t i = 0; i < a->nprefixes; i++)
		n += ann_unrecorded(a, &a->prefixes[i]);
	return n;
}

const struct ann_prefix *
ann_lookup(const struct ann *a, const struct pfx *p)
{
	return ann_find(a, p);
}

/* Removes o's address; false when it must be tried again. */
static bool
ann_orphan_del_addr(struct ann *a, const struct ann_orphan *o)
{
	struct ann_prefix	*ap;
	unsigned		 ifindex;
	char			 buf[PFX_STRLEN], err[256];

	pfx_fmt(&o->pfx, buf, sizeof(buf));
	if ((ifindex = if_nametoindex(o->ifname)) == 0) {
		/* The interface is gone, and its addresses with it. */
		log_info("%s on %s is no longer configured; interface gone", buf, o->ifname);
		goto gone;
	}
	if (nl_addr_del(a->nl, ifindex, &o->pfx, err, sizeof(err)) == -1) {
		log_err("cannot remove %s from %s: %s; retrying", buf, o->ifname, err);
		a->errors++;
		return false;
	}
	log_msg(LOG_LVL_INFO, NULL, "withdraw", "withdrew %s on %s (no longer configured "
	    "there)", buf, o->ifname);
gone:
	/* Verified until bgpd no longer announces it (see frr_untrack_all()). */
	if (a->frr != NULL)
		frr_track_addr(a->frr, &o->pfx, false);
	/* The same prefix, managed on another interface, says where it is now. */
	if ((ap = ann_find(a, &o->pfx)) != NULL)
		ann_track_addr(a, ap);
	return true;
}

/*
 * Works on the orphans: a statement is done once FRR has been read without
 * it (and nothing else is pending); an address goes after its statement
 * (method both, planned), unless FRR cannot be asked or the loop is over.
 */
static void
ann_orphans_apply(struct ann *a)
{
	char	buf[PFX_STRLEN];
	size_t	j = 0;

	for (size_t i = 0; i < a->norphans; i++) {
		struct ann_orphan *o = &a->orphans[i];
		if (o->stmt && (a->frr == NULL || (frr_synced(a->frr) &&
		    !frr_holds(a->frr, &o->pfx)))) {
			log_info("network %s is gone from FRR", pfx_fmt(&o->pfx, buf,
			    sizeof(buf)));
			o->stmt = false;
		}
		if (o->addr && (!o->stmt || a->final || frr_failing(a->frr)))
			o->addr = !ann_orphan_del_addr(a, o);
		if (o->addr || o->stmt)
			a->orphans[j++] = *o;
	}
	a->norphans = j;
}

/*
 * Adds what is to be removed of p (an address on ifname and/or a network
 * statement), leaving out what the current configuration manages.
 */
static void
ann_orphan_add(struct ann *a, const struct pfx *p, const char *ifname, bool addr,
    bool stmt)
{
	struct ann_prefix	*ap = ann_find(a, p);
	struct ann_orphan	*o;
	char			 buf[PFX_STRLEN];

	pfx_fmt(p, buf, sizeof(buf));
	/*
	 * The statement: only a prefix this configuration does not list at all
	 * is ours to remove (the address method relies on the operator's own
	 * `network` line for the same prefix).
	 */
	stmt = stmt && ap == NULL;
	if (stmt && a->frr == NULL) {
		log_warn("network %s was announced by an earlier run and is no longer "
		    "configured; no service uses FRR now, so remove it with "
		    "'anycast-healthctl withdraw-all' or by hand", buf);
		stmt = false;
	} else if (stmt) {
		if (frr_manage(a->frr, p) == -1) {
			log_err("network %s: out of memory; not removed", buf);
			stmt = false;
		} else
			frr_release(a->frr, p, true);
	}
	/* The address: still ours when an address-carrying method puts it there. */
	if (ap != NULL && ap->method != METHOD_NETWORK && strcmp(ap->ifname, ifname) == 0)
		addr = false;
	for (size_t i = 0; i < a->norphans && (addr || stmt); i++) {
		o = &a->orphans[i];
		if (!pfx_equal(&o->pfx, p))
			continue;
		if (stmt && o->stmt)
			stmt = false;
		if (addr && o->addr && strcmp(o->ifname, ifname) == 0)
			addr = false;
	}
	if (!addr && !stmt)
		return;
	if ((o = reallocarray(a->orphans, a->norphans + 1, sizeof(*o))) == NULL) {
		log_err("%s: out of memory; not removed", buf);
		return;
	}
	a->orphans = o;
	o = &a->orphans[a->norphans++];
	memset(o, 0, sizeof(*o));
	o->pfx = *p;
	snprintf(o->ifname, sizeof(o->ifname), "%s", ifname);
	o->addr = addr;
	o->stmt = stmt;
	if (stmt)
		log_info("network %s is no longer configured: removing it", buf);
}

void
ann_remove_unmanaged(struct ann *a, const struct pfx *p, const char *ifname,
    int method)
{
	ann_orphan_add(a, p, ifname, method != METHOD_NETWORK, method != METHOD_ADDRESS);
	ann_orphans_apply(a);
}

void
ann_take_over(struct ann *nw, const struct ann *old)
{
	for (size_t i = 0; i < old->norphans; i++)
		ann_orphan_add(nw, &old->orphans[i].pfx, old->orphans[i].ifname,
		    old->orphans[i].addr, old->orphans[i].stmt);
	/*
	 * A statement may be in FRR whenever it was managed: asking FRR to
	 * drop one that is absent costs a read.
	 */
	for (size_t i = 0; i < old->nprefixes; i++) {
		const struct ann_prefix *op = &old->prefixes[i];
		struct ann_prefix *np = ann_find(nw, &op->pfx);
		ann_orphan_add(nw, &op->pfx, op->ifname, op->method != METHOD_NETWORK &&
		    op->present, op->method != METHOD_ADDRESS && old->frr != NULL);
		/* The state file lists it as nw has it: no need to wait for a write. */
		if (np != NULL && op->recorded && np->method == op->method &&
		    strcmp(np->ifname, op->ifname) == 0)
			np->recorded = true;
	}
	ann_orphans_apply(nw);
}

bool
ann_needs_frr(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->nservices; i++)
		if (cfg->services[i].method != METHOD_ADDRESS)
			return true;
	return false;
}

/* frr_'s question (frr_set_desired()): the statement p must have. */
static bool
ann_frr_desired(void *arg, const struct pfx *p, const char **rm)
{
	const struct ann_prefix	*ap = ann_find(arg, p);

	*rm = NULL;
	if (ap == NULL || ap->method == METHOD_ADDRESS)
		return false;
	*rm = ap->stmt_rm;
	return ap->stmt;
}

int
ann_set_frr(struct ann *a, struct frr *f)
{
	a->frr = f;
	/* The address method needs no statement of ours, but bgpd is verified for it. */
	frr_untrack_all(f);
	for (size_t i = 0; i < a->nprefixes; i++) {
		struct ann_prefix *ap = &a->prefixes[i];
		if (ap->method != METHOD_ADDRESS && frr_manage(f, &ap->pfx) == -1)
			return -1;
		if (ap->method == METHOD_ADDRESS && frr_track(f, &ap->pfx) == -1)
			return -1;
		ann_track_addr(a, ap);
	}
	/* Only now: a failed reload leaves the running owner in place. */
	frr_set_desired(f, ann_frr_desired, a);
	return 0;
}

void
ann_release_frr(const struct ann *old, const struct ann *nw)
{
	const struct ann_prefix	*np;

	if (old->frr == NULL)
		return;
	for (size_t i = 0; i < old->nprefixes; i++) {
		const struct ann_prefix *op = &old->prefixes[i];
		if (op->method == METHOD_ADDRESS)
			continue;
		np = ann_find(nw, &op->pfx);
		if (np == NULL || np->method == METHOD_ADDRESS)
			frr_release(old->frr, &op->pfx, np == NULL);
	}
}

void
ann_frr_update(struct ann *a)
{
	ann_batch_begin(a);
	for (size_t i = 0; i < a->nprefixes; i++)
		if (a->prefixes[i].method == METHOD_BOTH)
			ann_apply(a, &a->prefixes[i]);
	ann_batch_end(a);
	ann_orphans_apply(a);
}
