#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "compiler.h"
#include "ann.h"
#include "cfg.h"
#include "ctl.h"
#include "daemon.h"
#include "frr.h"
#include "clock.h"
#include "log.h"
#include "nl.h"
#include "nofile.h"
#include "probe.h"
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

/*
 * A loaded configuration. Services and probes keep pointers into the cfg
 * they were created from, so a reload that keeps a service keeps its cfg
 * alive: a generation is freed once it is not the current one and no
 * service points into it.
 */
struct gen {
	struct cfg	*cfg;
	unsigned	 refs;		/* services created from it */
	struct gen	*next;
};

struct daemon {
	struct gen		 *gens;
	struct gen		 *cur;
	struct cfg		 *cfg;		/* cur->cfg: global settings, service order */
	sd_event		 *ev;
	struct nl		 *nl;
	struct nl_watch		 *nlw;		/* address notifications; NULL: scan only */
	sd_event_source		 *nlw_src;
	bool			  nlw_fixed;	/* a foreign change was corrected */
	bool			  nlw_reopen;	/* a read failed: open again at the next reconcile */
	struct ann		 *ann;
	struct svc		**svcs;		/* by index into cfg->services */
	struct gen		**svc_gen;	/* where each service's cfg lives */
	struct ctl		 *ctl;
	struct frr		 *frr;		/* NULL until there is a service */
	sd_event_source		 *reconcile;
	sd_event_source		 *begin;	/* bounds the wait for FRR's first read */
	sd_event_source		 *stop;		/* bounds the wait for FRR at SIGTERM */
	/*
	 * Writes the state file and the metrics file at most once per
	 * FLUSH_GAP_US, so that a storm of transitions is a few writes, not
	 * one each. Normal priority: at idle priority a storm that keeps the
	 * loop busy would starve it, and announcements wait for it.
	 */
	sd_event_source		 *flush;
	uint64_t		  flushed_us;	/* CLOCK_MONOTONIC of the last flush */
	bool			  begun;
	bool			  stopping;
	/* Stopping with the address method's withdrawals verified (zebra unsettled). */
	bool			  stop_addr;
	/* What the state file says, as last written; valid while state_saved. */
	struct state		  state_last;
	bool			  state_saved;
	struct status_counters	  counters;
	int			  exit_status;
};

static int	daemon_begin(struct daemon *d);
static void	daemon_save_state(struct daemon *d, bool kept);
static void	daemon_write_metrics(struct daemon *d);
static void	daemon_dirty(void *arg);

/*
 * The open-files limit against what cfg's probes need at once (all of them
 * in flight: a storm). At start the soft limit goes up to the hard one
 * first (children get the old one back, see nofile.h): with the usual
 * 1024, 2000 services ran out ("Too many open files") as they all failed
 * together.
 */
static void
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

static struct gen *
gen_new(struct daemon *d, struct cfg *cfg)
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
static void
gen_collect(struct daemon *d)
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

/* A draining service still announced says so (GRACEFUL_SHUTDOWN); a degraded one prepends. */
static enum ann_mode
daemon_svc_mode(const struct svc *s)
{
	if (s->state == SVC_DRAINED)
		return ANN_GSHUT;
	return svc_is_degraded(s) ? ANN_DEGRADED : ANN_PLAIN;
}

static void
daemon_svc_changed(struct svc *s, void *arg)
{
	struct daemon	*d = arg;
	ssize_t		 i;

	/* Stopping: everything is being withdrawn; nothing may come back. */
	if (d->stopping || (i = daemon_svc_index(d, s)) == -1)
		return;
	ann_set_service(d->ann, (size_t)i, svc_wants_announce(s), daemon_svc_mode(s),
	    svc_withdrawn_unplanned(s));
	/* The agent's own share of the reaction time, for operators and tests. */
	log_msg(LOG_LVL_DEBUG, s->cfg->name, "applied", "%s: announcements applied "
	    "%.3f ms after the deciding probe result began", svc_state_str(s->state),
	    (now_us() - s->cause_us) / 1000.0);
	daemon_dirty(d);
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
static void
daemon_flush_now(struct daemon *d)
{
	if (d->flush != NULL)
		sd_event_source_set_enabled(d->flush, SD_EVENT_OFF);
	daemon_flush_cb(d->flush, 0, d);
}

/* The state or the metrics changed: written once the pending events are handled. */
static void
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
static void
ensure_parent(const char *path)
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

static void
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

	/*
	 * A prefix is listed from the moment it is wanted (before the address
	 * is added or vtysh asked: ann_ waits for this write) until it is gone
	 * from the interface and FRR is read without it; an orphan (an earlier
	 * configuration's) until its removal is done. So withdraw-all after a
	 * crash at any point removes it.
	 */
	for (size_t i = 0; i < d->ann->nprefixes && rc == 0; i++) {
		const struct ann_prefix *ap = &d->ann->prefixes[i];
		if (ann_prefix_listed(d->ann, ap))
			rc = state_add_announced(&st, &ap->pfx, ap->ifname, ap->method);
	}
	for (size_t i = 0; i < d->ann->norphans && rc == 0; i++) {
		const struct ann_orphan *o = &d->ann->orphans[i];
		rc = state_add_announced(&st, &o->pfx, o->ifname, o->addr && o->stmt ?
		    METHOD_BOTH : o->addr ? METHOD_ADDRESS : METHOD_NETWORK);
	}
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
	/* What waited to be listed goes out now. */
	ann_recorded(d->ann);
out:
	state_clear(&st);
}

/* The FRR driver's counters as they are now, for the metrics. */
static void
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
 * then kept (a later configuration without network statements just wants
 * them all absent). Moving statements to another vtysh, pathspace, ASN or
 * VRF at run time would orphan the old ones, so that needs a restart.
 */
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

/*
 * The FRR driver for cfg: created the first time a configuration needs it,
 * then kept (a later configuration without network statements just releases
 * them). A driver created here that cannot be started is dropped again, so
 * a failure leaves things as they were.
 */
static int
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
	a->frr = NULL;
	return -1;
nomem:
	snprintf(err, errlen, "out of memory");
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
notify_ready(const struct daemon *d)
{
	size_t	up = 0;

	for (size_t i = 0; i < d->cfg->nservices; i++)
		up += svc_wants_announce(d->svcs[i]);
	sd_notifyf(0, "READY=1\nSTATUS=%zu service(s), %zu announced", d->cfg->nservices, up);
}

static void
reload_error(struct json_object *errors, const char *msg)
{
	log_err("reload: %s", msg);
	if (errors != NULL)
		json_object_array_add(errors, json_object_new_string(msg));
}

/*
 * Loads the configuration again. If it is invalid, nothing changes and every
 * error is logged and added to errors. Otherwise: a service whose settings
 * are unchanged keeps its probes, state and announcement (no flap); a
 * changed service starts again, adopting its announcement if it had one (its
 * first probe results decide, as after a restart with on_exit "keep"); a new
 * service starts in init; a removed service's prefixes are withdrawn.
 */
static int
daemon_reload(struct daemon *d, struct json_object *errors)
{
	struct cfg_errors	  errs = { 0 };
	struct cfg		 *ncfg;
	struct ann		 *nann;
	struct svc		**nsvcs = NULL;
	struct gen		**ngen = NULL, *g = NULL;
	bool			 *kept = NULL;
	char			  err[512];
	size_t			  nkept = 0, nnew = 0;
	int			  r;

	log_info("reloading the configuration");
	if ((ncfg = cfg_load(d->cfg->main_file, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			reload_error(errors, errs.msgs[i]);
		log_err("reload: configuration invalid (%zu error%s); still running the "
		    "previous one", errs.n, errs.n == 1 ? "" : "s");
		cfg_errors_clear(&errs);
		d->counters.reloads_failed++;
		return -1;
	}
	if ((nann = ann_new(ncfg, d->nl, err, sizeof(err))) == NULL) {
		reload_error(errors, err);
		goto invalid;
	}
	if (daemon_frr_check(d, ncfg, err, sizeof(err)) == -1) {
		reload_error(errors, err);
		ann_free(nann);
		goto invalid;
	}
	nsvcs = calloc(ncfg->nservices + 1, sizeof(*nsvcs));
	ngen = calloc(ncfg->nservices + 1, sizeof(*ngen));
	kept = calloc(d->cfg->nservices + 1, sizeof(*kept));
	if (nsvcs == NULL || ngen == NULL || kept == NULL || (g = gen_new(d, ncfg)) == NULL) {
		reload_error(errors, "out of memory");
		ann_free(nann);
		goto invalid;
	}
	notify_reloading();

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
			nsvcs[i] = old;
			ngen[i] = d->svc_gen[j];
			kept[j] = true;
			nkept++;
			continue;
		}
		if ((nsvcs[i] = svc_new(d->ev, nc, daemon_svc_changed, d)) == NULL) {
			snprintf(err, sizeof(err), "out of memory");
			goto unwind;
		}
		ngen[i] = g;
		g->refs++;
		nnew++;
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
		if ((r = svc_inherit(nsvcs[i], old)) < 0)
			log_err("%s: grace timer: %s; drained at once", nc->name, strerror(-r));
	}
	/* The last step that can fail: FRR is changed only for a reload that goes through. */
	if (daemon_frr_attach(d, ncfg, nann, err, sizeof(err)) == -1)
		goto unwind;

	for (size_t i = 0; i < ncfg->nservices; i++) {
		nann->svc_wanted[i] = svc_wants_announce(nsvcs[i]) || nsvcs[i]->adopt;
		nann->svc_mode[i] = daemon_svc_mode(nsvcs[i]);
	}

	/*
	 * Withdraw what the old configuration announced and the new one does
	 * not manage: retried until done, listed in the state file meanwhile.
	 */
	nann->errors = d->ann->errors;
	nann->record_cb = daemon_dirty;
	nann->record_arg = d;
	ann_release_frr(d->ann, nann);
	ann_take_over(nann, d->ann);
	for (size_t j = 0; j < d->cfg->nservices; j++) {
		if (kept[j])
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
	d->ann = nann;
	free(d->svcs);
	free(d->svc_gen);
	d->svcs = nsvcs;
	d->svc_gen = ngen;
	if (strcmp(ncfg->control_socket, d->cfg->control_socket) != 0)
		log_warn("reload: control_socket changed to %s; the daemon keeps listening "
		    "on %s until it is restarted", ncfg->control_socket, d->cfg->control_socket);
	d->cur = g;
	d->cfg = ncfg;
	gen_collect(d);
	log_setup((enum log_level)ncfg->log.level, (enum log_format)ncfg->log.format,
	    ncfg->log.syslog);

	ann_reconcile(d->ann);
	for (size_t i = 0; i < ncfg->nservices; i++)
		/* Before daemon_begin() nothing runs yet; it starts every service. */
		if (d->begun && ngen[i] == g && (r = svc_start(d->svcs[i])) < 0)
			log_err("%s: cannot schedule probes: %s", ncfg->services[i].name,
			    strerror(-r));
	free(kept);
	d->counters.reloads_ok++;
	daemon_flush_now(d);
	log_info("reloaded: %zu service(s), %zu unchanged, %zu (re)started", ncfg->nservices,
	    nkept, nnew);
	daemon_nofile(ncfg, false);
	notify_ready(d);
	return 0;
unwind:
	reload_error(errors, err);
	for (size_t k = 0; k < ncfg->nservices; k++)
		if (ngen[k] == g && nsvcs[k] != NULL)
			svc_free(nsvcs[k]);
	g->refs = 0;
	ann_free(nann);
	/* RELOADING=1 was sent: the running configuration is ready again. */
	notify_ready(d);
invalid:
	log_err("reload: configuration not usable; still running the previous one");
	free(nsvcs);
	free(ngen);
	free(kept);
	if (g == NULL)
		cfg_free(ncfg);
	else
		gen_collect(d);
	d->counters.reloads_failed++;
	return -1;
}

static struct svc *
daemon_find_svc(const struct daemon *d, struct json_object *req, struct json_object **errp)
{
	struct json_object	*v;
	const char		*name;

	if (!json_object_object_get_ex(req, "service", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		*errp = ctl_error("\"service\" (a service name) is required");
		return NULL;
	}
	name = json_object_get_string(v);
	for (size_t i = 0; i < d->cfg->nservices; i++)
		if (strcmp(d->cfg->services[i].name, name) == 0)
			return d->svcs[i];
	*errp = ctl_error("no service '%.64s'", name);
	return NULL;
}

static struct json_object *
cmd_status(struct json_object *req UNUSED, void *arg)
{
	struct daemon	*d = arg;

	return status_json(d->svcs, d->cfg->nservices, d->ann, &d->counters);
}

static struct json_object *
cmd_metrics(struct json_object *req UNUSED, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*o;
	char			*text;

	daemon_counters(d);
	if ((text = metrics_text(d->svcs, d->cfg->nservices, d->ann, &d->counters)) == NULL)
		return ctl_error("out of memory");
	o = json_object_new_object();
	json_object_object_add(o, "metrics", json_object_new_string(text));
	free(text);
	return o;
}

static struct json_object *
cmd_drain(struct json_object *req, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*o, *v, *e = NULL;
	struct svc		*s;
	uint64_t		 grace;
	char			 why[128];
	bool			 was;
	int			 r;

	if ((s = daemon_find_svc(d, req, &e)) == NULL)
		return e;
	grace = s->cfg->drain_grace_us;
	if (json_object_object_get_ex(req, "grace", &v)) {
		if (json_object_is_type(v, json_type_string)) {
			if (cfg_duration_parse(json_object_get_string(v), &grace, why,
			    sizeof(why)) == -1)
				return ctl_error("grace: %s", why);
		} else if (json_object_is_type(v, json_type_int) &&
		    json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= 86400)
			grace = (uint64_t)json_object_get_int64(v) * 1000000;
		else
			return ctl_error("grace: expected a duration such as \"30s\"");
	}
	was = s->state == SVC_DRAINED;
	if ((r = svc_drain(s, grace)) < 0)
		log_err("%s: grace timer: %s; drained at once", s->cfg->name, strerror(-r));
	daemon_flush_now(d);
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(s->cfg->name));
	json_object_object_add(o, "state", json_object_new_string(svc_state_str(s->state)));
	json_object_object_add(o, "already", json_object_new_boolean(was));
	json_object_object_add(o, "announcing", json_object_new_boolean(
	    svc_wants_announce(s)));
	json_object_object_add(o, "grace_ms", json_object_new_int64(
	    (int64_t)(was ? 0 : grace / 1000)));
	return o;
}

static struct json_object *
cmd_undrain(struct json_object *req, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*o, *e = NULL;
	struct svc		*s;
	bool			 was;

	if ((s = daemon_find_svc(d, req, &e)) == NULL)
		return e;
	was = s->state == SVC_DRAINED;
	svc_undrain(s);
	/* Nothing else writes the file when undrain leaves the announcement as it was. */
	daemon_flush_now(d);
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(s->cfg->name));
	json_object_object_add(o, "state", json_object_new_string(svc_state_str(s->state)));
	json_object_object_add(o, "was_drained", json_object_new_boolean(was));
	return o;
}

static struct json_object *
cmd_reload(struct json_object *req UNUSED, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*errors = json_object_new_array(), *o;

	if (daemon_reload(d, errors) == 0) {
		json_object_put(errors);
		o = json_object_new_object();
		json_object_object_add(o, "services", json_object_new_int(
		    (int)d->cfg->nservices));
		return o;
	}
	o = ctl_error("configuration invalid (%zu error%s); still running the previous "
	    "one", json_object_array_length(errors),
	    json_object_array_length(errors) == 1 ? "" : "s");
	json_object_object_add(o, "errors", errors);
	return o;
}

/*
 * The probe engine's counters alone, for benchmarks: with thousands of
 * services, building status or metrics stalls the loop long enough to
 * show up in the lateness it is asked to measure; this costs microseconds.
 */
static struct json_object *
cmd_probe_stats(struct json_object *req UNUSED, void *arg)
{
	struct daemon			*d = arg;
	const struct probe_lateness	*l = probe_lateness();
	struct json_object		*o, *le, *cnt;
	uint64_t			 runs = 0;

	for (size_t i = 0; i < d->cfg->nservices; i++)
		for (size_t j = 0; j < d->cfg->services[i].nprobes; j++)
			runs += d->svcs[i]->probes[j]->runs;
	o = json_object_new_object();
	json_object_object_add(o, "runs", json_object_new_int64((int64_t)runs));
	le = json_object_new_array();
	cnt = json_object_new_array();
	for (size_t i = 0; i < PROBE_LATENESS_BUCKETS; i++) {
		if (i < PROBE_LATENESS_BUCKETS - 1)
			json_object_array_add(le, json_object_new_int64(
			    (int64_t)probe_lateness_le_us[i]));
		json_object_array_add(cnt, json_object_new_int64((int64_t)l->count[i]));
	}
	json_object_object_add(o, "lateness_le_us", le);
	json_object_object_add(o, "lateness_count", cnt);
	json_object_object_add(o, "lateness_max_us", json_object_new_int64((int64_t)l->max_us));
	return o;
}

static const struct ctl_command daemon_cmds[] = {
	{ "status",	false,	cmd_status },
	{ "metrics",	false,	cmd_metrics },
	{ "probe-stats", false,	cmd_probe_stats },
	{ "drain",	true,	cmd_drain },
	{ "undrain",	true,	cmd_undrain },
	{ "reload",	true,	cmd_reload },
	{ NULL,		false,	NULL },
};

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
	    (r = sd_event_source_set_enabled(d->flush, SD_EVENT_OFF)) < 0) {
		log_err("event loop: %s", strerror(-r));
		return -1;
	}
	if ((d->ann = ann_new(cfg, d->nl, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	d->ann->record_cb = daemon_dirty;
	d->ann->record_arg = d;
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
	ensure_parent(cfg->control_socket);
	if ((d->ctl = ctl_open(d->ev, cfg->control_socket, daemon_cmds, d, err,
	    sizeof(err))) == NULL) {
		log_err("control socket: %s", err);
		return -1;
	}
	return 0;
}

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
static void
daemon_adopt(struct daemon *d)
{
	struct state	st;
	char		err[512];
	int		rc;

	ensure_parent(d->cfg->state_file);
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
		d->ann->svc_wanted[i] = true;
		d->ann->svc_mode[i] = daemon_svc_mode(d->svcs[i]);
		ann_adopted(d->ann, i);
		log_info("%s: prefixes found announced%s; adopting them until the "
		    "first probe results", d->cfg->services[i].name,
		    d->svcs[i]->adopt_degraded ? " through the degraded route-map" : "");
	}
	ann_reconcile(d->ann);
	daemon_save_state(d, false);
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
	notify_ready(d);
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
	if ((d.cur = gen_new(&d, cfg)) == NULL) {
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
			d.ann->final = true;
			ann_withdraw_all(d.ann);
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
