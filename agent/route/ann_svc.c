/*
 * The announcement table's side of the other modules: what a service's
 * state means for it (through svc_mode() and svc_holds_announce()), what a
 * reload hands from one table to the next, and what the state file lists.
 * Kept apart from ann.c, which decides and applies the desired state.
 */
#include <stdbool.h>
#include <stddef.h>

#include "ann.h"
#include "cfg.h"
#include "state.h"
#include "svc.h"

void
ann_follow_svc(struct ann *a, size_t svc, const struct svc *s)
{
	ann_set_service(a, svc, svc_wants_announce(s), (enum ann_mode)svc_mode(s),
	    svc_withdrawn_unplanned(s));
}

void
ann_seed_svc(struct ann *a, size_t svc, const struct svc *s)
{
	a->svc_wanted[svc] = svc_holds_announce(s);
	a->svc_mode[svc] = (enum ann_mode)svc_mode(s);
}

void
ann_on_record(struct ann *a, ann_record_cb cb, void *arg)
{
	a->record_cb = cb;
	a->record_arg = arg;
}

void
ann_succeed(struct ann *nw, const struct ann *old)
{
	nw->errors = old->errors;
	ann_on_record(nw, old->record_cb, old->record_arg);
	ann_release_frr(old, nw);
	ann_take_over(nw, old);
}

void
ann_drop_frr(struct ann *a)
{
	a->frr = NULL;
}

void
ann_withdraw_final(struct ann *a)
{
	a->final = true;
	ann_withdraw_all(a);
}

int
ann_snapshot(const struct ann *a, struct state *st)
{
	int	rc = 0;

	/*
	 * A prefix is listed from the moment it is wanted (before the address
	 * is added or vtysh asked: ann_ waits for this write) until it is gone
	 * from the interface and FRR is read without it; an orphan (an earlier
	 * configuration's) until its removal is done.
	 */
	for (size_t i = 0; i < a->nprefixes && rc == 0; i++) {
		const struct ann_prefix *ap = &a->prefixes[i];
		if (ann_prefix_listed(a, ap))
			rc = state_add_announced(st, &ap->pfx, ap->ifname, ap->method);
	}
	for (size_t i = 0; i < a->norphans && rc == 0; i++) {
		const struct ann_orphan *o = &a->orphans[i];
		rc = state_add_announced(st, &o->pfx, o->ifname, o->addr && o->stmt ?
		    METHOD_BOTH : o->addr ? METHOD_ADDRESS : METHOD_NETWORK);
	}
	return rc;
}
