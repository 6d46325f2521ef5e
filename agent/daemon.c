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
#include "frr.h"
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
	struct frr	 *frr;		/* NULL unless a service uses network or both */
	struct svc	**svcs;
	sd_event_source	 *reconcile;
	sd_event_source	 *begin;	/* bounds the wait for FRR's first read */
	sd_event_source	 *stop;		/* bounds the wait for FRR at SIGTERM */
	bool		  begun;
	bool		  stopping;
	int		  exit_status;
};

static int	daemon_begin(struct daemon *d);

static void
daemon_svc_changed(struct svc *s, void *arg)
{
	struct daemon	*d = arg;
	size_t		 i = (size_t)(s->cfg - d->cfg->services);

	ann_set_service_mode(d->ann, i, svc_wants_announce(s), s->state == SVC_DEGRADED);
}

/* FRR was read (or failed): finish what waited for it. */
static void
daemon_frr_cb(struct frr *f, void *arg)
{
	struct daemon	*d = arg;

	ann_frr_update(d->ann);
	if (!d->begun && (frr_known(f) || frr_failing(f)) && daemon_begin(d) == -1)
		sd_event_exit(d->ev, 1);
	if (d->stopping && frr_synced(f))
		sd_event_exit(d->ev, 0);
}

static int
daemon_begin_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct daemon	*d = arg;

	(void)src;
	(void)usec;
	if (!d->begun) {
		log_warn("FRR's running configuration could not be read yet; "
		    "starting the probes without adopting network statements");
		if (daemon_begin(d) == -1)
			sd_event_exit(d->ev, 1);
	}
	return 0;
}

static int
daemon_stop_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	(void)usec;
	(void)arg;
	log_err("FRR did not confirm the withdrawals in time; stopping anyway");
	sd_event_exit(sd_event_source_get_event(src), 0);
	return 0;
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
	struct daemon	*d = arg;

	switch (si->ssi_signo) {
	case SIGHUP:
		/* Never fatal: a reload request must not drop announcements. */
		log_warn("SIGHUP: live reload is not in this version; "
		    "restart with on_exit \"keep\" to apply a new configuration");
		return 0;
	default:
		log_info("%s: stopping", strsignal((int)si->ssi_signo));
		sd_notify(0, "STOPPING=1");
		if (d->frr == NULL || d->cfg->on_exit != ON_EXIT_WITHDRAW || d->stopping) {
			sd_event_exit(sd_event_source_get_event(src), 0);
			return 0;
		}
		/* The loop stays up until FRR confirms that the statements are gone. */
		d->stopping = true;
		ann_withdraw_all(d->ann);
		if (frr_synced(d->frr)) {
			sd_event_exit(sd_event_source_get_event(src), 0);
			return 0;
		}
		if (sd_event_add_time_relative(d->ev, &d->stop, CLOCK_MONOTONIC,
		    d->cfg->frr.timeout_us + 2000000, 10000, daemon_stop_cb, d) < 0)
			sd_event_exit(sd_event_source_get_event(src), 0);
		return 0;
	}
}

static int
daemon_setup(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	const struct cfg *cfg = d->cfg;
	sigset_t	 mask;
	char		 err[256];
	int		 r;

	if ((r = sd_event_default(&d->ev)) < 0) {
		log_err("event loop: %s", strerror(-r));
		return -1;
	}
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	/* SIGCHLD: vtysh children are watched by the loop (sd_event_add_child). */
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((r = sd_event_add_signal(d->ev, NULL, sigs[i], daemon_signal_cb, d)) < 0) {
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
	if (ann_needs_frr(cfg)) {
		if ((d->frr = frr_new(d->ev, cfg, daemon_frr_cb, d)) == NULL ||
		    ann_set_frr(d->ann, d->frr) == -1) {
			log_err("out of memory");
			return -1;
		}
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

/* Adoption decided: the probes start, the address reconcile timer runs. */
static int
daemon_begin(struct daemon *d)
{
	int	r;

	d->begun = true;
	d->begin = sd_event_source_disable_unref(d->begin);
	daemon_adopt(d);
	for (size_t i = 0; i < d->cfg->nservices; i++)
		if ((r = svc_start(d->svcs[i])) < 0) {
			log_err("%s: cannot schedule probes: %s", d->cfg->services[i].name,
			    strerror(-r));
			return -1;
		}
	r = sd_event_add_time_relative(d->ev, &d->reconcile, CLOCK_MONOTONIC,
	    RECONCILE_INTERVAL_US, 0, daemon_reconcile_cb, d);
	if (r < 0) {
		log_err("reconcile timer: %s", strerror(-r));
		return -1;
	}
	log_info("running %zu service(s); interface addresses reconciled%s",
	    d->cfg->nservices, d->frr != NULL ? "; FRR read" : "");
	sd_notify(0, "READY=1");
	return 0;
}

static void
daemon_teardown(struct daemon *d)
{
	for (size_t i = 0; d->svcs != NULL && i < d->cfg->nservices; i++)
		svc_free(d->svcs[i]);
	free(d->svcs);
	sd_event_source_disable_unref(d->reconcile);
	sd_event_source_disable_unref(d->begin);
	sd_event_source_disable_unref(d->stop);
	ann_free(d->ann);
	frr_free(d->frr);
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
	if (d.frr != NULL) {
		if ((r = frr_start(d.frr)) < 0) {
			log_err("FRR driver: %s", strerror(-r));
			goto out;
		}
	}
	if (d.frr != NULL && cfg->on_exit == ON_EXIT_KEEP) {
		/*
		 * Adoption needs FRR's running configuration: the probes start
		 * after the first read, or after a bound.
		 */
		r = sd_event_add_time_relative(d.ev, &d.begin, CLOCK_MONOTONIC,
		    cfg->frr.timeout_us + 1000000, 1000, daemon_begin_cb, &d);
		if (r < 0) {
			log_err("start timer: %s", strerror(-r));
			goto out;
		}
	} else if (daemon_begin(&d) == -1)
		goto out;

	if ((r = sd_event_loop(d.ev)) < 0) {
		log_err("event loop: %s", strerror(-r));
		goto out;
	}
	d.exit_status = r == 0 ? 0 : 1;
out:
	if (d.ann != NULL && cfg->on_exit == ON_EXIT_WITHDRAW) {
		/* The loop is over: addresses of method both go without waiting for FRR. */
		d.ann->final = true;
		ann_withdraw_all(d.ann);
	} else if (d.ann != NULL)
		log_info("on_exit \"keep\": leaving announcements for the next start");
	daemon_teardown(&d);
	return d.exit_status;
}
