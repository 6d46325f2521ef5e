/*
 * A reload: the configuration loaded again and swapped in, or refused
 * whole. A service whose settings are unchanged keeps its probes, state
 * and announcement; the announcement table is built anew and succeeds the
 * old one (ann_succeed()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>

#include "ann.h"
#include "cfg.h"
#include "clock.h"
#include "daemon_int.h"
#include "log.h"
#include "svc.h"

/* Two optional strings (NULL: not set) are the same. */
static bool
str_same(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/*
 * Whether cfg may take over the running FRR driver: moving statements to
 * another vtysh, pathspace, ASN or VRF at run time would orphan the old
 * ones, so that needs a restart. No side effects.
 */
static int
daemon_frr_check(const struct daemon *d, const struct cfg *cfg, char *err, size_t errlen)
{
	const struct cfg	*o = d->cfg;

	if (d->frr == NULL || (str_same(o->frr.vtysh, cfg->frr.vtysh) &&
	    o->frr.asn == cfg->frr.asn && str_same(o->frr.pathspace, cfg->frr.pathspace) &&
	    str_same(o->frr.vrf, cfg->frr.vrf)))
		return 0;
	snprintf(err, errlen, "frr: vtysh, pathspace, asn or vrf changed; "
	    "restart the daemon to move the network statements");
	return -1;
}

static void
notify_reloading(void)
{
	/* MONOTONIC_USEC lets Type=notify-reload match this to its request. */
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the configuration\n"
	    "MONOTONIC_USEC=%llu", (unsigned long long)now_us());
}

static void
reload_error(struct json_object *errors, const char *msg)
{
	log_err("reload: %s", msg);
	if (errors != NULL)
		json_object_array_add(errors, json_object_new_string(msg));
}

/* One reload in progress: the new configuration and what is built for it. */
struct reload {
	struct cfg	 *ncfg;
	struct ann	 *nann;
	struct svc	**nsvcs;	/* by index into ncfg->services */
	struct gen	**ngen;		/* where each of them has its cfg */
	struct gen	 *g;		/* ncfg's generation */
	bool		 *kept;		/* by index into the running cfg->services */
	size_t		  nkept, nnew;
	char		  err[512];
};

/* The configuration loaded again, or NULL with every error logged and in errors. */
static struct cfg *
reload_load(struct daemon *d, struct json_object *errors)
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*ncfg;

	if ((ncfg = cfg_load(d->cfg->main_file, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			reload_error(errors, errs.msgs[i]);
		log_err("reload: configuration invalid (%zu error%s); still running the "
		    "previous one", errs.n, errs.n == 1 ? "" : "s");
		cfg_errors_clear(&errs);
		d->counters.reloads_failed++;
	}
	return ncfg;
}

/*
 * The new announcement table and the arrays for rl->ncfg, and its
 * generation; nothing running is changed. 0, or -1 with rl->err set.
 */
static int
reload_prepare(struct daemon *d, struct reload *rl)
{
	struct cfg	*ncfg = rl->ncfg;

	if ((rl->nann = ann_new(ncfg, d->nl, rl->err, sizeof(rl->err))) == NULL ||
	    daemon_frr_check(d, ncfg, rl->err, sizeof(rl->err)) == -1)
		goto fail;
	rl->nsvcs = calloc(ncfg->nservices + 1, sizeof(*rl->nsvcs));
	rl->ngen = calloc(ncfg->nservices + 1, sizeof(*rl->ngen));
	rl->kept = calloc(d->cfg->nservices + 1, sizeof(*rl->kept));
	if (rl->nsvcs == NULL || rl->ngen == NULL || rl->kept == NULL ||
	    (rl->g = daemon_gen_new(d, ncfg)) == NULL) {
		snprintf(rl->err, sizeof(rl->err), "out of memory");
		goto fail;
	}
	return 0;
fail:
	ann_free(rl->nann);
	rl->nann = NULL;
	return -1;
}

/*
 * The services of rl->ncfg: a running one with the same settings is kept,
 * any other is created (not started yet), taking over from the running one
 * of its name. 0, or -1 with rl->err set.
 */
static int
reload_services(struct daemon *d, struct reload *rl)
{
	struct cfg	*ncfg = rl->ncfg;
	int		 r;

	for (size_t i = 0; i < ncfg->nservices; i++) {
		const struct cfg_service *nc = &ncfg->services[i];
		struct svc *old = NULL;
		size_t j;
		for (j = 0; j < d->cfg->nservices; j++)
			if (strcmp(d->cfg->services[j].name, nc->name) == 0) {
				old = d->svcs[j];
				break;
			}
		if (old != NULL && cfg_service_equal(old->cfg, nc)) {
			rl->nsvcs[i] = old;
			rl->ngen[i] = d->svc_gen[j];
			rl->kept[j] = true;
			rl->nkept++;
			continue;
		}
		if ((rl->nsvcs[i] = svc_new(d->ev, nc, daemon_svc_changed, d)) == NULL) {
			snprintf(rl->err, sizeof(rl->err), "out of memory");
			return -1;
		}
		rl->ngen[i] = rl->g;
		rl->g->refs++;
		rl->nnew++;
		if (old == NULL) {
			log_info("%s: new service, starting in init", nc->name);
			continue;
		}
		log_info("%s: configuration changed, restarting its probes", nc->name);
		/*
		 * What the operator set up stays: a drain and its grace, the
		 * degraded route-map until the probes decide, the hold-down
		 * history (an edit must not bypass flap damping).
		 */
		if ((r = svc_inherit(rl->nsvcs[i], old)) < 0)
			log_err("%s: grace timer: %s; drained at once", nc->name, strerror(-r));
	}
	return 0;
}

/* Nothing can fail any more: the new configuration, table and services take over. */
static void
reload_commit(struct daemon *d, struct reload *rl)
{
	struct cfg	*ncfg = rl->ncfg;
	int		 r;

	for (size_t i = 0; i < ncfg->nservices; i++)
		ann_seed_svc(rl->nann, i, rl->nsvcs[i]);

	/*
	 * Withdraw what the old configuration announced and the new one does
	 * not manage: retried until done, listed in the state file meanwhile.
	 */
	ann_succeed(rl->nann, d->ann);
	for (size_t j = 0; j < d->cfg->nservices; j++) {
		if (rl->kept[j])
			continue;
		bool gone = true;
		for (size_t i = 0; i < ncfg->nservices && gone; i++)
			gone = strcmp(ncfg->services[i].name, d->cfg->services[j].name) != 0;
		if (gone)
			log_info("%s: removed from the configuration", d->cfg->services[j].name);
		d->svc_gen[j]->refs--;
		svc_free(d->svcs[j]);
	}
	ann_free(d->ann);
	d->ann = rl->nann;
	free(d->svcs);
	free(d->svc_gen);
	d->svcs = rl->nsvcs;
	d->svc_gen = rl->ngen;
	if (strcmp(ncfg->control_socket, d->cfg->control_socket) != 0)
		log_warn("reload: control_socket changed to %s; the daemon keeps listening "
		    "on %s until it is restarted", ncfg->control_socket, d->cfg->control_socket);
	d->cur = rl->g;
	d->cfg = ncfg;
	daemon_gen_collect(d);
	log_setup((enum log_level)ncfg->log.level, (enum log_format)ncfg->log.format,
	    ncfg->log.syslog);

	ann_reconcile(d->ann);
	for (size_t i = 0; i < ncfg->nservices; i++)
		/* Before daemon_begin() nothing runs yet; it starts every service. */
		if (d->begun && rl->ngen[i] == rl->g && (r = svc_start(d->svcs[i])) < 0)
			log_err("%s: cannot schedule probes: %s", ncfg->services[i].name,
			    strerror(-r));
}

/*
 * Loads the configuration again. If it is invalid, nothing changes and every
 * error is logged and added to errors. Otherwise: a service whose settings
 * are unchanged keeps its probes, state and announcement (no flap); a
 * changed service starts again, adopting its announcement if it had one (its
 * first probe results decide, as after a restart with on_exit "keep"); a new
 * service starts in init; a removed service's prefixes are withdrawn.
 */
int
daemon_reload(struct daemon *d, struct json_object *errors)
{
	struct reload	rl = { 0 };

	log_info("reloading the configuration");
	if ((rl.ncfg = reload_load(d, errors)) == NULL)
		return -1;
	if (reload_prepare(d, &rl) == -1) {
		reload_error(errors, rl.err);
		goto invalid;
	}
	notify_reloading();
	if (reload_services(d, &rl) == -1)
		goto unwind;
	/* The last step that can fail: FRR is changed only for a reload that goes through. */
	if (daemon_frr_attach(d, rl.ncfg, rl.nann, rl.err, sizeof(rl.err)) == -1)
		goto unwind;
	reload_commit(d, &rl);
	free(rl.kept);
	d->counters.reloads_ok++;
	daemon_flush_now(d);
	log_info("reloaded: %zu service(s), %zu unchanged, %zu (re)started",
	    rl.ncfg->nservices, rl.nkept, rl.nnew);
	daemon_nofile(rl.ncfg, false);
	daemon_notify_ready(d);
	return 0;
unwind:
	reload_error(errors, rl.err);
	for (size_t k = 0; k < rl.ncfg->nservices; k++)
		if (rl.ngen[k] == rl.g && rl.nsvcs[k] != NULL)
			svc_free(rl.nsvcs[k]);
	rl.g->refs = 0;
	ann_free(rl.nann);
	/* RELOADING=1 was sent: the running configuration is ready again. */
	daemon_notify_ready(d);
invalid:
	log_err("reload: configuration not usable; still running the previous one");
	free(rl.nsvcs);
	free(rl.ngen);
	free(rl.kept);
	if (rl.g == NULL)
		cfg_free(rl.ncfg);
	else
		daemon_gen_collect(d);
	d->counters.reloads_failed++;
	return -1;
}
