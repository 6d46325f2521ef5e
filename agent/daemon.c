#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "ann.h"
#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "nl.h"
#include "probe.h"
#include "svc.h"

/* How often the kernel's addresses are compared with the desired state. */
#define RECONCILE_INTERVAL_US	(5 * 1000000ULL)

struct daemon {
	struct cfg	 *cfg;
	sd_event	 *ev;
	struct nl	 *nl;
	struct ann	 *ann;
	struct svc	**svcs;
	sd_event_source	 *reconcile;
	int		  exit_status;
};

static void
daemon_svc_changed(struct svc *s, void *arg)
{
	struct daemon	*d = arg;
	size_t		 i = (size_t)(s->cfg - d->cfg->services);

	ann_set_service(d->ann, i, svc_wants_announce(s));
	/* The agent's own share of the reaction time, for operators and tests. */
	log_msg(LOG_LVL_DEBUG, s->cfg->name, "applied", "%s: announcements applied "
	    "%.3f ms after the deciding probe result began", svc_state_str(s->state),
	    (now_us() - s->cause_us) / 1000.0);
}

static int
daemon_reconcile_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct daemon	*d = arg;

	ann_reconcile(d->ann);
	sd_event_source_set_time(src, usec + RECONCILE_INTERVAL_US);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

static int
daemon_signal_cb(sd_event_source *src, const struct signalfd_siginfo *si, void *arg)
{
	switch (si->ssi_signo) {
	case SIGHUP:
		/* Never fatal: a reload request must not drop announcements. */
		log_warn("SIGHUP: live reload is not in this version; "
		    "restart with on_exit \"keep\" to apply a new configuration");
		return 0;
	default:
		log_info("%s: stopping", strsignal((int)si->ssi_signo));
		sd_notify(0, "STOPPING=1");
		sd_event_exit(sd_event_source_get_event(src), 0);
		return 0;
	}
}

/*
 * Only the address method is driven by this version; refusing the others
 * at start is better than accepting a service that would never be announced.
 */
static int
daemon_check_methods(const struct cfg *cfg)
{
	int	rc = 0;

	for (size_t i = 0; i < cfg->nservices; i++) {
		if (cfg->services[i].method == METHOD_ADDRESS)
			continue;
		log_err("%s: method: \"%s\" needs the FRR vtysh driver, which this "
		    "version does not have; use \"address\"", cfg->services[i].file,
		    cfg->services[i].method == METHOD_NETWORK ? "network" : "both");
		rc = -1;
	}
	return rc;
}

static int
daemon_setup(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	const struct cfg *cfg = d->cfg;
	sigset_t	 mask;
	char		 err[256];
	int		 r;

	if (daemon_check_methods(cfg) == -1) {
		d->exit_status = 2;
		return -1;
	}
	if ((r = sd_event_default(&d->ev)) < 0) {
		log_err("event loop: %s", strerror(-r));
		return -1;
	}
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((r = sd_event_add_signal(d->ev, NULL, sigs[i], daemon_signal_cb, NULL)) < 0) {
			log_err("signal %d: %s", sigs[i], strerror(-r));
			return -1;
		}
	/* Feeds WatchdogSec= from the loop itself: a hung loop gets killed. */
	sd_event_set_watchdog(d->ev, true);

	if ((d->nl = nl_open(err, sizeof(err))) == NULL) {
		log_err("netlink: %s", err);
		return -1;
	}
	if ((d->ann = ann_new(cfg, d->nl, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	if ((d->svcs = calloc(cfg->nservices + 1, sizeof(*d->svcs))) == NULL) {
		log_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nservices; i++)
		if ((d->svcs[i] = svc_new(d->ev, &cfg->services[i], daemon_svc_changed,
		    d)) == NULL) {
			log_err("out of memory");
			return -1;
		}
	return 0;
}

/*
 * What is on the system at start: with on_exit "keep", a service whose
 * prefixes are all present is adopted (its first probe results decide);
 * every other configured prefix that is present is removed, since its
 * service has not been seen healthy by this process.
 */
static void
daemon_adopt(struct daemon *d)
{
	ann_scan(d->ann);
	for (size_t i = 0; i < d->cfg->nservices; i++) {
		if (d->cfg->on_exit != ON_EXIT_KEEP || !ann_service_present(d->ann, i))
			continue;
		d->svcs[i]->adopt = true;
		d->ann->svc_wanted[i] = true;
		log_info("%s: prefixes found announced; adopting them until the "
		    "first probe results", d->cfg->services[i].name);
	}
	ann_reconcile(d->ann);
}

static void
daemon_teardown(struct daemon *d)
{
	for (size_t i = 0; d->svcs != NULL && i < d->cfg->nservices; i++)
		svc_free(d->svcs[i]);
	free(d->svcs);
	sd_event_source_disable_unref(d->reconcile);
	ann_free(d->ann);
	nl_close(d->nl);
	sd_event_unref(d->ev);
	cfg_free(d->cfg);
}

int
daemon_run(struct cfg *cfg)
{
	struct daemon	d = { .cfg = cfg, .exit_status = 1 };
	int		r;

	if (daemon_setup(&d) == -1)
		goto out;
	daemon_adopt(&d);
	for (size_t i = 0; i < cfg->nservices; i++)
		if ((r = svc_start(d.svcs[i])) < 0) {
			log_err("%s: cannot schedule probes: %s", cfg->services[i].name,
			    strerror(-r));
			goto out;
		}
	r = sd_event_add_time_relative(d.ev, &d.reconcile, CLOCK_MONOTONIC,
	    RECONCILE_INTERVAL_US, 0, daemon_reconcile_cb, &d);
	if (r < 0) {
		log_err("reconcile timer: %s", strerror(-r));
		goto out;
	}
	log_info("running %zu service(s); interface addresses reconciled", cfg->nservices);
	sd_notify(0, "READY=1");

	if ((r = sd_event_loop(d.ev)) < 0) {
		log_err("event loop: %s", strerror(-r));
		goto out;
	}
	d.exit_status = 0;
out:
	if (d.ann != NULL && cfg->on_exit == ON_EXIT_WITHDRAW)
		ann_withdraw_all(d.ann);
	else if (d.ann != NULL)
		log_info("on_exit \"keep\": leaving announcements for the next start");
	daemon_teardown(&d);
	return d.exit_status;
}
