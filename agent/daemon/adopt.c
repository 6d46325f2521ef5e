/* Adoption at start: what the previous run left on the system. */
#include <stdio.h>
#include <string.h>

#include "ann.h"
#include "cfg.h"
#include "daemon_int.h"
#include "frr.h"
#include "log.h"
#include "state.h"
#include "svc.h"

/*
 * Whether FRR announces service i's prefixes through its degraded route-map
 * (a previous run left it degraded, on_exit "keep"): adopted as it is, so
 * that the restart changes nothing at the neighbour.
 */
static bool
daemon_found_degraded(const struct daemon *d, size_t i)
{
	const struct cfg_service	*c = &d->cfg->services[i];
	const char			*rm;

	if (d->frr == NULL || c->method == METHOD_ADDRESS || c->on_warning != ONW_DEGRADE)
		return false;
	for (size_t j = 0; j < c->nprefixes; j++)
		if ((rm = frr_held_route_map(d->frr, &c->prefixes[j])) == NULL ||
		    strcmp(rm, c->degraded_route_map) != 0)
			return false;
	return c->nprefixes > 0;
}

/*
 * What is on the system at start. The state file of the previous run names
 * drained services (they stay drained) and what it announced: anything
 * there that this configuration does not manage is removed. With on_exit
 * "keep", a service whose prefixes are all present is adopted (its first
 * probe results decide); every other configured prefix that is present is
 * removed, since its service has not been seen healthy by this process.
 */
void
daemon_adopt(struct daemon *d)
{
	struct state	st;
	char		err[512];
	int		rc;

	daemon_ensure_parent(d->cfg->state_file);
	rc = state_read(d->cfg->state_file, &st, err, sizeof(err));
	if (rc == -1)
		log_warn("state file %s: %s; ignored", d->cfg->state_file, err);
	else if (rc == 0 && st.nbad > 0)
		log_warn("state file %s: %zu malformed entries ignored (first: %s)",
		    d->cfg->state_file, st.nbad, err);
	for (size_t i = 0; rc == 0 && i < st.nannounced; i++)
		ann_remove_unmanaged(d->ann, &st.announced[i].pfx, st.announced[i].ifname,
		    st.announced[i].method);
	for (size_t i = 0; rc == 0 && i < d->cfg->nservices; i++)
		if (state_is_drained(&st, d->cfg->services[i].name))
			svc_drain(d->svcs[i], 0);
	state_clear(&st);

	ann_scan(d->ann);
	for (size_t i = 0; i < d->cfg->nservices; i++) {
		if (d->cfg->on_exit != ON_EXIT_KEEP || d->svcs[i]->state == SVC_DRAINED ||
		    !ann_service_present(d->ann, i))
			continue;
		svc_adopt(d->svcs[i], daemon_found_degraded(d, i));
		ann_seed_svc(d->ann, i, d->svcs[i]);
		ann_adopted(d->ann, i);
		log_info("%s: prefixes found announced%s; adopting them until the "
		    "first probe results", d->cfg->services[i].name,
		    d->svcs[i]->adopt_degraded ? " through the degraded route-map" : "");
	}
	ann_reconcile(d->ann);
	daemon_save_state(d, false);
}
