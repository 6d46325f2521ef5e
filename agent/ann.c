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

/* FNV-1a over what pfx_equal() compares. */
static size_t
pfx_hash(const struct pfx *p)
{
	const unsigned char	*b = (const unsigned char *)&p->addr;
	size_t			 n = p->family == AF_INET ? sizeof(p->addr.v4) : sizeof(p->addr.v6);
	uint64_t		 h = 0xcbf29ce484222325ULL;

	h = (h ^ (uint64_t)p->family) * 0x100000001b3ULL;
	h = (h ^ p->len) * 0x100000001b3ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return (size_t)h;
}

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
	if (a->svc_wanted == NULL || a->svc_mode == NULL) {
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
		for (size_t j = i; j < a->nprefixes; j++)
			if (a->prefixes[j].method != METHOD_NETWORK &&
			    a->prefixes[j].ifindex == sa.ifindex)
				a->prefixes[j].present = sa.found[j];
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

static void
ann_apply_address(struct ann *a, struct ann_prefix *ap)
{
	char	buf[PFX_STRLEN], err[256];
	int	rc;

	if (ap->desired == ap->present)
		return;
	/*
	 * both: the statement goes first, the address after FRR dropped it
	 * (or could not be asked), so the neighbour sees one clean withdrawal.
	 */
	if (!ap->desired && ap->method == METHOD_BOTH && !a->final &&
	    a->frr != NULL && frr_holds(a->frr, &ap->pfx) && !frr_failing(a->frr))
		return;
	pfx_fmt(&ap->pfx, buf, sizeof(buf));
	if (ap->desired)
		rc = nl_addr_add(a->nl, ap->ifindex, &ap->pfx, err, sizeof(err));
	else
		rc = nl_addr_del(a->nl, ap->ifindex, &ap->pfx, err, sizeof(err));
	if (rc == -1) {
		/* The periodic reconcile retries; the state says what is really there. */
		log_err("cannot %s %s on %s: %s", ap->desired ? "add" : "remove", buf,
		    ap->ifname, err);
		a->errors++;
		return;
	}
	ap->present = ap->desired;
	log_msg(LOG_LVL_INFO, NULL, ap->desired ? "announce" : "withdraw",
	    "%s %s on %s", ap->desired ? "announced" : "withdrew", buf, ap->ifname);
}

static void
ann_apply(struct ann *a, struct ann_prefix *ap)
{
	ap->desired = ann_desired(a, ap);
	ap->route_map = ap->desired ? ann_route_map(a, ap) : NULL;
	if (ap->method != METHOD_NETWORK)
		ann_apply_address(a, ap);
	if (ap->method == METHOD_ADDRESS || a->frr == NULL)
		return;
	/* both: no statement without its address (import-check needs the route). */
	frr_want(a->frr, &ap->pfx, ap->desired &&
	    (ap->method == METHOD_NETWORK || ap->present), ap->route_map);
}

void
ann_set_service(struct ann *a, size_t svc, bool wanted, enum ann_mode mode)
{
	a->svc_wanted[svc] = wanted;
	a->svc_mode[svc] = mode;
	for (size_t i = 0; i < a->nprefixes; i++)
		for (size_t j = 0; j < a->prefixes[i].nsvcs; j++)
			if (a->prefixes[i].svcs[j] == svc)
				ann_apply(a, &a->prefixes[i]);
}

void
ann_reconcile(struct ann *a)
{
	char	buf[PFX_STRLEN];

	/* An interface that could not be read keeps what was known of it. */
	ann_scan(a);
	for (size_t i = 0; i < a->nprefixes; i++) {
		struct ann_prefix *ap = &a->prefixes[i];
		if (ap->method != METHOD_NETWORK && ann_desired(a, ap) != ap->present)
			log_warn("%s on %s is %s but should %sbe: correcting",
			    pfx_fmt(&ap->pfx, buf, sizeof(buf)), ap->ifname,
			    ap->present ? "present" : "absent", ap->present ? "not " : "");
		ann_apply(a, ap);
	}
}

void
ann_withdraw_all(struct ann *a)
{
	for (size_t i = 0; i < a->cfg->nservices; i++)
		a->svc_wanted[i] = false;
	for (size_t i = 0; i < a->nprefixes; i++)
		ann_apply(a, &a->prefixes[i]);
}

const struct ann_prefix *
ann_lookup(const struct ann *a, const struct pfx *p)
{
	return ann_find(a, p);
}

void
ann_remove_unmanaged(struct ann *a, const struct pfx *p, const char *ifname,
    int method)
{
	struct ann_prefix	*ap = ann_find(a, p);
	unsigned		 ifindex;
	char			 buf[PFX_STRLEN], err[256];

	pfx_fmt(p, buf, sizeof(buf));
	/*
	 * The statement: only a prefix this configuration does not list at all
	 * is ours to remove (the address method relies on the operator's own
	 * `network` line for the same prefix).
	 */
	if (method != METHOD_ADDRESS && ap == NULL) {
		if (a->frr != NULL) {
			log_info("network %s is no longer configured: removing it", buf);
			if (frr_manage(a->frr, p) == 0)
				frr_want(a->frr, p, false, NULL);
		} else
			log_warn("network %s was announced by an earlier run and is no longer "
			    "configured; no service uses FRR now, so remove it with "
			    "'anycast-healthctl withdraw-all' or by hand", buf);
	}
	if (method == METHOD_NETWORK)
		return;
	/* The address: still ours when an address-carrying method puts it there. */
	if (ap != NULL && ap->method != METHOD_NETWORK && strcmp(ap->ifname, ifname) == 0)
		return;
	if ((ifindex = if_nametoindex(ifname)) == 0) {
		/* The interface is gone, and its addresses with it. */
		log_info("%s on %s is no longer configured; interface gone", buf, ifname);
		return;
	}
	if (nl_addr_del(a->nl, ifindex, p, err, sizeof(err)) == -1) {
		log_err("cannot remove %s from %s: %s", buf, ifname, err);
		a->errors++;
		return;
	}
	log_msg(LOG_LVL_INFO, NULL, "withdraw", "withdrew %s on %s (no longer configured "
	    "there)", buf, ifname);
}

bool
ann_needs_frr(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->nservices; i++)
		if (cfg->services[i].method != METHOD_ADDRESS)
			return true;
	return false;
}

int
ann_set_frr(struct ann *a, struct frr *f)
{
	a->frr = f;
	for (size_t i = 0; i < a->nprefixes; i++)
		if (a->prefixes[i].method != METHOD_ADDRESS &&
		    frr_manage(f, &a->prefixes[i].pfx) == -1)
			return -1;
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
	for (size_t i = 0; i < a->nprefixes; i++)
		if (a->prefixes[i].method == METHOD_BOTH)
			ann_apply_address(a, &a->prefixes[i]);
}
