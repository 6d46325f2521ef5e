/*
 * The daemon's loop and wiring: signals, the event sources (reconcile,
 * flush of the state and metrics files, address notifications, FRR), start
 * and stop. What a reload does is in reload.c, adoption at start in
 * adopt.c, the control socket's commands in commands.c; the policy lives in
 * the modules (svc: state and announcement mode; ann: the desired state
 * and what the state file lists).
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "compiler.h"
#include "ann.h"
#include "cfg.h"
#include "ctl.h"
#include "daemon.h"
#include "daemon_int.h"
#include "frr.h"
#include "clock.h"
#include "log.h"
#include "nl.h"
#include "nofile.h"
#include "state.h"
#include "status.h"
#include "svc.h"

/* How often the kernel's addresses are compared with the desired state. */
#define RECONCILE_INTERVAL_US	(5 * 1000000ULL)
/*
 * The shortest time between two writes of the state and metrics files. A
 * lone change is written at once; in a storm, announcements wait at most
 * this long for the write that records them (withdrawals never wait).
 */
#define FLUSH_GAP_US		(100 * 1000ULL)
/*
 * Descriptors: the daemon's own (netlink, control socket and clients, FRR
 * watch and vtysh pipes, state writes), and what one probe may hold at
 * once (exec: its pipe and pidfd; the others a socket or two).
 */
#define FDS_BASE		64
#define FDS_PER_PROBE		3

static int	daemon_begin(struct daemon *d);
static void	daemon_write_metrics(struct daemon *d);

/*
 * The open-files limit against what cfg's probes need at once (all of them
 * in flight: a storm). At start the soft limit goes up to the hard one
 * first (children get the old one back, see nofile.h): with the usual
 * 1024, 2000 services ran out ("Too many open files") as they all failed
 * together.
 */
void
daemon_nofile(const struct cfg *cfg, bool raise)
{
	struct rlimit	rl;
	size_t		need = FDS_BASE;

	for (size_t i = 0; i < cfg->nservices; i++)
		need += FDS_PER_PROBE * cfg->services[i].nprobes;
	if (raise && nofile_raise(&rl) == -1)
		log_warn("cannot raise the open files limit to the hard one: %s",
		    strerror(errno));
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("open files limit: %s", strerror(errno));
		return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		log_warn("open files limit %llu is too low: %zu service(s) may need about "
		    "%zu descriptors when all their probes run at once; raise LimitNOFILE= "
		    "(or ulimit -n)", (unsigned long long)rl.rlim_cur, cfg->nservices, need);
}

struct gen *
daemon_gen_new(struct daemon *d, struct cfg *cfg)
{
	struct gen	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->cfg = cfg;
	g->next = d->gens;
	d->gens = g;
	return g;
}

/* Frees every generation that is neither current nor used by a service. */
void
daemon_gen_collect(struct daemon *d)
{
	struct gen	**pp = &d->gens, *g;

	while ((g = *pp) != NULL) {
		if (g != d->cur && g->refs == 0) {
			*pp = g->next;
			cfg_free(g->cfg);
			free(g);
		} else
			pp = &g->next;
	}
}

static ssize_t
daemon_svc_index(const struct daemon *d, const struct svc *s)
{
	for (size_t i = 0; i < d->cfg->nservices; i++)
		if (d->svcs[i] == s)
			return (ssize_t)i;
	return -1;
}

void
daemon_svc_changed(struct svc *s, void *arg)
{
	struct daemon	*d = arg;
	ssize_t		 i;

	/* Stopping: everything is being withdrawn; nothing may come back. */
	if (d->stopping || (i = daemon_svc_index(d, s)) == -1)
		return;
	ann_follow_svc(d->ann, (size_t)i, s);
	/* The agent's own share of the reaction time, for operators and tests. */
	log_msg(LOG_LVL_DEBUG, s->cfg->name, "applied", "%s: announcements applied "
	    "%.3f ms after the deciding probe result began", svc_state_str(s->state),
	    (now_us() - s->cause_us) / 1000.0);
	daemon_dirty(d);
}

/*
 * The next part of what the state file lists, RECORDED_GAP_US after the
 * last: 10,000 services coming up at start would otherwise hold the loop
 * for seconds of address additions. A timer, not a defer source: sd-event
 * runs a re-enabled defer source ahead of what became ready meanwhile (an
 * older pending iteration), so the parts would run back to back.
 */
#define RECORDED_GAP_US	1000

static void
daemon_recorded_more(struct daemon *d)
{
	if (d->recorded == NULL ||
	    sd_event_source_set_time_relative(d->recorded, RECORDED_GAP_US) < 0 ||
	    sd_event_source_set_enabled(d->recorded, SD_EVENT_ONESHOT) < 0) {
		/* Cannot wait: everything at once, as before. */
		while (ann_release(d->ann))
			;
	}
}

static int
daemon_recorded_cb(sd_event_source *src UNUSED, uint64_t usec UNUSED, void *arg)
{
	struct daemon	*d = arg;

	/*
	 * Only what the last write listed (not ann_recorded(): that would take
	 * what became desired since as written); nothing new while stopping.
	 */
	if (!d->stopping && ann_release(d->ann))
		daemon_recorded_more(d);
	return 0;
}

static int
daemon_flush_cb(sd_event_source *src UNUSED, uint64_t usec UNUSED, void *arg)
{
	struct daemon	*d = arg;

	d->flushed_us = now_us();
	daemon_save_state(d, false);
	daemon_write_metrics(d);
	/* The state's JSON tree (thousands of small objects) is gone: so are its pages. */
	malloc_trim(0);
	return 0;
}

/*
 * Writes now, for what an operator's command changed: its reply says the
 * drain or the reload is on disk (a crash right after it must not lose it).
 */
void
daemon_flush_now(struct daemon *d)
{
	if (d->flush != NULL)
		sd_event_source_set_enabled(d->flush, SD_EVENT_OFF);
	daemon_flush_cb(d->flush, 0, d);
}

/* The state or the metrics changed: written once the pending events are handled. */
void
daemon_dirty(void *arg)
{
	struct daemon	*d = arg;
	uint64_t	 now = now_us(), at = d->flushed_us + FLUSH_GAP_US;
	int		 on = 0;

	if (d->flush != NULL && sd_event_source_get_enabled(d->flush, &on) >= 0 &&
	    on != SD_EVENT_OFF)
		return;
	if (d->flush == NULL || sd_event_source_set_time(d->flush, at > now ? at : now) < 0 ||
	    sd_event_source_set_enabled(d->flush, SD_EVENT_ONESHOT) < 0) {
		daemon_save_state(d, false);
		daemon_write_metrics(d);
	}
}

/*
 * The state file could not be written. Kept visible (status, metrics) until
 * a write succeeds; logged when the reason changes, not at every attempt.
 */
static void
daemon_state_failed(struct daemon *d, const char *why)
{
	d->counters.state_write_failures++;
	/* The file on disk may not list what it did: nothing goes out again unlisted. */
	ann_record_lost(d->ann);
	if (strcmp(d->counters.state_error, why) != 0)
		log_err("state file %s: %s; new announcements are held back until it can "
		    "be written (withdraw-all could not remove them after a crash)",
		    d->cfg->state_file, why);
	snprintf(d->counters.state_error, sizeof(d->counters.state_error), "%s", why);
}

/* Creates the directory a socket or state file goes into, if it is missing (no systemd). */
void
daemon_ensure_parent(const char *path)
{
	char	*dir, *slash;

	if ((dir = strdup(path)) == NULL)
		return;
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0)
			log_info("created %s", dir);
	}
	free(dir);
}

void
daemon_save_state(struct daemon *d, bool kept)
{
	struct state	 st = { .kept = kept };
	char		*text, err[512];
	int		 rc = 0;

	/*
	 * Until daemon_adopt() has read the previous run's file (drains,
	 * leftovers), writing would erase it: FRR's first read comes earlier.
	 */
	if (!d->begun)
		return;

	/* What withdraw-all after a crash at any point must remove. */
	rc = ann_snapshot(d->ann, &st);
	if (d->frr != NULL) {
		st.frr.set = true;
		snprintf(st.frr.vtysh, sizeof(st.frr.vtysh), "%s", d->cfg->frr.vtysh);
		snprintf(st.frr.pathspace, sizeof(st.frr.pathspace), "%s",
		    d->cfg->frr.pathspace ? d->cfg->frr.pathspace : "");
		snprintf(st.frr.vrf, sizeof(st.frr.vrf), "%s",
		    d->cfg->frr.vrf ? d->cfg->frr.vrf : "");
		st.frr.asn = frr_asn(d->frr);
		st.frr.timeout_us = d->cfg->frr.timeout_us;
	}
	for (size_t i = 0; i < d->cfg->nservices && rc == 0; i++)
		if (d->svcs[i]->state == SVC_DRAINED)
			rc = state_add_drained(&st, d->cfg->services[i].name);
	/*
	 * Nothing changed since the last write (the reconcile every 5 s, most
	 * flushes): compared as data, not formatted (10,000 prefixes are a
	 * JSON tree of 40,000 objects and a megabyte of text).
	 */
	if (rc == 0 && d->state_saved && state_equal(&st, &d->state_last))
		goto written;
	if (rc == -1 || (text = state_format(&st)) == NULL) {
		daemon_state_failed(d, "out of memory");
		goto out;
	}
	rc = state_write_file(d->cfg->state_file, text, err, sizeof(err));
	free(text);
	state_clear(&d->state_last);
	d->state_saved = rc == 0;
	if (rc == -1) {
		/* Retried at the next change or reconcile, even with the same text. */
		daemon_state_failed(d, err);
		goto out;
	}
	d->counters.state_writes++;
	d->state_last = st;
	memset(&st, 0, sizeof(st));
written:
	if (d->counters.state_error[0] != '\0') {
		log_info("state file %s written again", d->cfg->state_file);
		d->counters.state_error[0] = '\0';
	}
	/* What waited to be listed goes out now, or in parts from the loop. */
	if (ann_recorded(d->ann))
		daemon_recorded_more(d);
out:
	state_clear(&st);
}

/* The FRR driver's counters as they are now, for the metrics. */
void
daemon_counters(struct daemon *d)
{
	d->counters.frr = d->frr != NULL ? frr_stats(d->frr) : NULL;
	d->counters.frr_failing = d->frr != NULL && frr_failing(d->frr);
	d->counters.frr_verify_failing = d->frr != NULL && frr_verify_failing(d->frr);
}

static void
daemon_write_metrics(struct daemon *d)
{
	char	*text, err[512];

	if (d->cfg->metrics_file == NULL)
		return;
	daemon_counters(d);
	text = metrics_text(d->svcs, d->cfg->nservices, d->ann, &d->counters);
	if (text == NULL) {
		log_err("metrics: out of memory");
		return;
	}
	if (state_write_file(d->cfg->metrics_file, text, err, sizeof(err)) == -1)
		log_err("metrics file: %s", err);
	else
		d->counters.metrics_writes++;
	free(text);
}

static void	daemon_watch_addrs(struct daemon *d);

static int
daemon_reconcile_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct daemon	*d = arg;
	struct stat	 sb;

	/*
	 * A state file removed or replaced behind the daemon's back (by hand,
	 * a directory in its place) is written again, or shown as failing.
	 */
	if (stat(d->cfg->state_file, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		d->state_saved = false;
		ann_record_lost(d->ann);
	}
	if (d->nlw_reopen) {
		/* Once per failure; the scan below catches what was missed meanwhile. */
		d->nlw_reopen = false;
		daemon_watch_addrs(d);
		if (d->nlw != NULL)
			log_info("address notifications: subscribed again");
	}
	ann_reconcile(d->ann);
	daemon_dirty(d);
	sd_event_source_set_time(src, usec + RECONCILE_INTERVAL_US);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

/*
 * Whether a stop may end the loop: FRR confirmed the withdrawals (when it
 * was asked for any), and no repair of an operator's statement is half done.
 */
static bool
daemon_stop_done(const struct daemon *d)
{
	bool	withdraw = ann_needs_frr(d->cfg) && d->cfg->on_exit == ON_EXIT_WITHDRAW;

	return (!withdraw || frr_synced(d->frr)) && !frr_repairing(d->frr) &&
	    (!d->stop_addr || frr_withdrawn(d->frr));
}

/* FRR was read (or a call failed): finish what waited for it. */
static void
daemon_frr_cb(struct frr *f, void *arg)
{
	struct daemon	*d = arg;

	ann_frr_update(d->ann);
	daemon_dirty(d);
	if (!d->begun && (frr_known(f) || frr_failing(f)) && daemon_begin(d) == -1)
		sd_event_exit(d->ev, 1);
	if (d->stopping && daemon_stop_done(d))
		sd_event_exit(d->ev, 0);
}

static int
daemon_begin_cb(sd_event_source *src UNUSED, uint64_t usec UNUSED, void *arg)
{
	struct daemon	*d = arg;

	if (!d->begun) {
		log_warn("FRR's running configuration could not be read yet; "
		    "starting the probes without adopting network statements");
		if (daemon_begin(d) == -1)
			sd_event_exit(d->ev, 1);
	}
	return 0;
}

static int
daemon_stop_cb(sd_event_source *src, uint64_t usec UNUSED, void *arg UNUSED)
{
	log_err("FRR did not confirm the withdrawals in time; stopping anyway");
	sd_event_exit(sd_event_source_get_event(src), 0);
	return 0;
}

/*
 * The FRR driver for cfg: created the first time a configuration needs it,
 * then kept (a later configuration without network statements just releases
 * them). A driver created here that cannot be started is dropped again, so
 * a failure leaves things as they were.
 */
int
daemon_frr_attach(struct daemon *d, const struct cfg *cfg, struct ann *a, char *err,
    size_t errlen)
{
	int	r;

	/* The address method needs no statement of ours, but bgpd is verified for it. */
	if (d->frr == NULL && cfg->nservices == 0)
		return 0;
	if (d->frr != NULL) {
		if (frr_reconfigure(d->frr, cfg) == -1 || ann_set_frr(a, d->frr) == -1)
			goto nomem;
		return 0;
	}
	if ((d->frr = frr_new(d->ev, cfg, daemon_frr_cb, d)) == NULL)
		goto nomem;
	if (ann_set_frr(a, d->frr) == -1) {
		snprintf(err, errlen, "out of memory");
		goto drop;
	}
	if ((r = frr_start(d->frr)) < 0) {
		snprintf(err, errlen, "FRR driver: %s", strerror(-r));
		goto drop;
	}
	return 0;
drop:
	frr_free(d->frr);
	d->frr = NULL;
	ann_drop_frr(a);
	return -1;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}


void
daemon_notify_ready(const struct daemon *d)
{
	size_t	up = 0;

	for (size_t i = 0; i < d->cfg->nservices; i++)
		up += svc_wants_announce(d->svcs[i]);
	sd_notifyf(0, "READY=1\nSTATUS=%zu service(s), %zu announced", d->cfg->nservices, up);
}


static int
daemon_signal_cb(sd_event_source *src, const struct signalfd_siginfo *si, void *arg)
{
	struct daemon	*d = arg;

	switch (si->ssi_signo) {
	case SIGHUP:
		/* Never fatal: an invalid configuration keeps the running one. */
		if (d->stopping)
			log_warn("SIGHUP while stopping: ignored");
		else
			daemon_reload(d, NULL);
		return 0;
	default:
		log_info("%s: stopping", strsignal((int)si->ssi_signo));
		sd_notify(0, "STOPPING=1");
		if (d->frr == NULL || d->stopping) {
			sd_event_exit(sd_event_source_get_event(src), 0);
			return 0;
		}
		/*
		 * zebra restarted and not yet confirmed tracking the address
		 * method's prefixes for bgpd: their addresses go inside the
		 * loop, so that a stale announcement is verified and repaired.
		 */
		d->stop_addr = d->cfg->on_exit == ON_EXIT_WITHDRAW &&
		    !frr_zebra_settled(d->frr);
		/* Nothing to withdraw through FRR, nothing to verify, no repair half done. */
		if (!(ann_needs_frr(d->cfg) && d->cfg->on_exit == ON_EXIT_WITHDRAW) &&
		    !d->stop_addr && !frr_repairing(d->frr)) {
			sd_event_exit(sd_event_source_get_event(src), 0);
			return 0;
		}
		/*
		 * The loop stays up until FRR confirms that the statements are
		 * gone, and until a repair in flight has put the operator's
		 * statement back (killing vtysh between `no network P` and
		 * `network P` would lose it); meanwhile nothing may announce
		 * again (svc changes are ignored, drain/undrain/reload refused).
		 */
		d->stopping = true;
		ctl_refuse_mutating(d->ctl);
		if (d->cfg->on_exit == ON_EXIT_WITHDRAW &&
		    (ann_needs_frr(d->cfg) || d->stop_addr))
			ann_withdraw_all(d->ann);
		if (daemon_stop_done(d)) {
			sd_event_exit(sd_event_source_get_event(src), 0);
			return 0;
		}
		if (sd_event_add_time_relative(d->ev, &d->stop, CLOCK_MONOTONIC,
		    d->cfg->frr.timeout_us + 2000000, 10000, daemon_stop_cb, d) < 0)
			sd_event_exit(sd_event_source_get_event(src), 0);
		return 0;
	}
}

static void
daemon_addr_event(const struct nl_addr_event *ev, void *arg)
{
	struct daemon	*d = arg;

	/* Until adoption has decided, what is found stays for daemon_adopt(). */
	if (d->begun && ann_addr_changed(d->ann, ev->ifindex, &ev->pfx, ev->added))
		d->nlw_fixed = true;
}

static int
daemon_nlw_cb(sd_event_source *src UNUSED, int fd, uint32_t revents, void *arg)
{
	struct daemon	*d = arg;
	char		 err[256] = "";
	int		 rc;

	(void)fd;
	(void)revents;
	d->nlw_fixed = false;
	rc = nl_watch_read(d->nlw, daemon_addr_event, d, err, sizeof(err));
	if (rc == -1) {
		/* A one-off error must not end the mirror for good: see daemon_reconcile_cb. */
		log_err("%s; subscribing again at the next periodic check", err);
		d->nlw_src = sd_event_source_disable_unref(d->nlw_src);
		nl_watch_close(d->nlw);
		d->nlw = NULL;
		d->nlw_reopen = true;
		return 0;
	} else if (rc == 1) {
		log_warn("%s; reading the interfaces again", err[0] ? err :
		    "netlink: address notifications were lost");
		if (d->begun)
			ann_reconcile(d->ann);
	}
	if (d->nlw_fixed || rc == 1)
		daemon_dirty(d);
	return 0;
}

/*
 * A foreign change (an address deleted by hand, or lost with its link) is
 * corrected when the kernel announces it; the reconcile timer stays as a
 * safety net, and is all there is if the subscription fails.
 */
static void
daemon_watch_addrs(struct daemon *d)
{
	char	err[256];
	int	r;

	if ((d->nlw = nl_watch_open(err, sizeof(err))) == NULL) {
		log_warn("%s; noticing address changes at the periodic check only", err);
		return;
	}
	if ((r = sd_event_add_io(d->ev, &d->nlw_src, nl_watch_fd(d->nlw), EPOLLIN,
	    daemon_nlw_cb, d)) < 0) {
		log_warn("address notifications: %s; noticing address changes at the "
		    "periodic check only", strerror(-r));
		nl_watch_close(d->nlw);
		d->nlw = NULL;
	}
}

static int
daemon_setup(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	const struct cfg *cfg = d->cfg;
	sigset_t	 mask;
	char		 err[512];
	int		 r;

	/*
	 * Not sd_event_default(): a default loop checks its thread with a
	 * gettid() system call on every iteration, two per TCP check.
	 */
	if ((r = sd_event_new(&d->ev)) < 0) {
		log_err("event loop: %s", strerror(-r));
		return -1;
	}
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	/* SIGCHLD: vtysh and plugin children are watched by the loop. */
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* exec probes collect their children: an inherited SIG_IGN would reap them first. */
	signal(SIGCHLD, SIG_DFL);
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
	if ((r = sd_event_add_time(d->ev, &d->flush, CLOCK_MONOTONIC, now_us(), 1000,
	    daemon_flush_cb, d)) < 0 ||
	    (r = sd_event_source_set_enabled(d->flush, SD_EVENT_OFF)) < 0 ||
	    /* Accuracy 1 us: 0 is sd-event's default of 250 ms, a quarter second a part. */
	    (r = sd_event_add_time_relative(d->ev, &d->recorded, CLOCK_MONOTONIC,
	    RECORDED_GAP_US, 1, daemon_recorded_cb, d)) < 0 ||
	    (r = sd_event_source_set_enabled(d->recorded, SD_EVENT_OFF)) < 0) {
		log_err("event loop: %s", strerror(-r));
		return -1;
	}
	if ((d->ann = ann_new(cfg, d->nl, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	ann_on_record(d->ann, daemon_dirty, d);
	daemon_watch_addrs(d);
	if (daemon_frr_attach(d, cfg, d->ann, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	d->svcs = calloc(cfg->nservices + 1, sizeof(*d->svcs));
	d->svc_gen = calloc(cfg->nservices + 1, sizeof(*d->svc_gen));
	if (d->svcs == NULL || d->svc_gen == NULL) {
		log_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		if ((d->svcs[i] = svc_new(d->ev, &cfg->services[i], daemon_svc_changed,
		    d)) == NULL) {
			log_err("out of memory");
			return -1;
		}
		d->svc_gen[i] = d->cur;
		d->cur->refs++;
	}
	daemon_ensure_parent(cfg->control_socket);
	if ((d->ctl = ctl_open(d->ev, cfg->control_socket, daemon_cmds, d, err,
	    sizeof(err))) == NULL) {
		log_err("control socket: %s", err);
		return -1;
	}
	return 0;
}


/* Adoption decided: the probes start, the reconcile timer runs. */
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
	daemon_write_metrics(d);
	log_info("running %zu service(s); interface addresses reconciled%s; control socket %s",
	    d->cfg->nservices, d->frr != NULL && frr_known(d->frr) ? "; FRR read" : "",
	    ctl_path(d->ctl));
	daemon_notify_ready(d);
	return 0;
}

static void
daemon_teardown(struct daemon *d)
{
	struct gen	*g;

	ctl_close(d->ctl);
	for (size_t i = 0; d->svcs != NULL && i < d->cfg->nservices; i++)
		svc_free(d->svcs[i]);
	free(d->svcs);
	free(d->svc_gen);
	sd_event_source_disable_unref(d->reconcile);
	sd_event_source_disable_unref(d->begin);
	sd_event_source_disable_unref(d->stop);
	sd_event_source_disable_unref(d->flush);
	sd_event_source_disable_unref(d->recorded);
	ann_free(d->ann);
	frr_free(d->frr);
	sd_event_source_disable_unref(d->nlw_src);
	nl_watch_close(d->nlw);
	nl_close(d->nl);
	sd_event_unref(d->ev);
	while ((g = d->gens) != NULL) {
		d->gens = g->next;
		cfg_free(g->cfg);
		free(g);
	}
	state_clear(&d->state_last);
}

int
daemon_run(struct cfg *cfg)
{
	struct daemon	d = { .cfg = cfg, .exit_status = 1 };
	bool		started = false;
	int		r;

	d.counters.start_us = realtime_us();
	daemon_nofile(cfg, true);
	if ((d.cur = daemon_gen_new(&d, cfg)) == NULL) {
		log_err("out of memory");
		cfg_free(cfg);
		return 1;
	}
	if (daemon_setup(&d) == -1)
		goto out;
	/* From here on the system is ours to change, and to clean up on the way out. */
	started = true;
	if (d.frr != NULL && ann_needs_frr(cfg) && cfg->on_exit == ON_EXIT_KEEP) {
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
	if (started) {
		if (d.cfg->on_exit == ON_EXIT_WITHDRAW) {
			/* The loop is over: addresses of method both go without waiting for FRR. */
			ann_withdraw_final(d.ann);
		} else
			log_info("on_exit \"keep\": leaving announcements for the next start");
		/* A clean stop: what is left (if anything) is on purpose. */
		daemon_save_state(&d, d.cfg->on_exit == ON_EXIT_KEEP && d.exit_status == 0);
		/* Rewritten, not removed: running 0, and what is still announced. */
		d.counters.stopped = true;
		daemon_write_metrics(&d);
	}
	daemon_teardown(&d);
	return d.exit_status;
}
