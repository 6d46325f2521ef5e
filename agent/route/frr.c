/*
 * The FRR driver: reconciliation of the managed `network` statements
 * (read, apply, read back, retry with backoff), the bgpd and zebra restart
 * watch, and the lifecycle. The vtysh child is frr_call.c's, the address
 * method's verification frr_repair.c's; the parser, argv builder and
 * template renderer are pure (frr_parse.c, frr_argv.c, frr_render.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/wait.h>

#include "cfg.h"
#include "frr.h"
#include "frr_int.h"
#include "log.h"
#include "clock.h"

/* ---- reconciliation ---- */

static struct frr_entry *
frr_find(const struct frr *f, const struct pfx *p)
{
	ptrdiff_t	i = frr_index_find(&f->eidx, f->e, p);

	return i >= 0 ? &f->e[i] : NULL;
}

/*
 * The statement e should have (*rm: "" or its route-map): the owner's
 * answer, or the end of its release, which no owner lists any more.
 */
static bool
entry_wanted(const struct frr *f, const struct frr_entry *e, const char **rm)
{
	bool	present = false;

	*rm = NULL;
	if (e->released)
		present = e->release_plain;
	else if (f->desired != NULL)
		present = f->desired(f->desired_arg, &e->pfx, rm);
	if (!present || *rm == NULL)
		*rm = "";
	return present;
}

static bool
entry_differs(const struct frr *f, const struct frr_entry *e)
{
	const char	*rm;
	bool		 want = entry_wanted(f, e, &rm);

	if (want != e->have)
		return true;
	return want && strcmp(rm, e->have_rm) != 0;
}

static const char *
stmt_fmt(bool present, const char *rm, const struct pfx *p, char *buf, size_t len)
{
	char	pb[PFX_STRLEN];

	pfx_fmt(p, pb, sizeof(pb));
	if (!present)
		snprintf(buf, len, "no statement for %s", pb);
	else if (rm[0] != '\0')
		snprintf(buf, len, "'network %s route-map %s'", pb, rm);
	else
		snprintf(buf, len, "'network %s'", pb);
	return buf;
}

static void
frr_schedule_retry(struct frr *f, uint64_t delay_us)
{
	sd_event_source_set_time_relative(f->retry, delay_us);
	sd_event_source_set_enabled(f->retry, SD_EVENT_ONESHOT);
}

static bool
retry_pending(const struct frr *f)
{
	int	en = SD_EVENT_OFF;

	sd_event_source_get_enabled(f->retry, &en);
	return en != SD_EVENT_OFF;
}

/* A failed call, timeout or mismatch: logged, then retried after a doubling pause. */
static void
frr_fail(struct frr *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
frr_fail(struct frr *f, const char *fmt, ...)
{
	char		 msg[1024], d[32];
	va_list		 ap;
	/*
	 * Nothing managed (address method only): FRR is asked for verification
	 * alone, and a node without reachable FRR still works. Said once.
	 */
	bool		 optional = f->n == 0;
	enum log_level	 lvl = !optional ? LOG_LVL_ERROR :
	    f->failing ? LOG_LVL_DEBUG : LOG_LVL_WARNING;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->stats.failures++;
	f->failing = true;
	f->need_read = true;
	f->readback = false;
	log_msg(lvl, NULL, "frr", "%s; retrying in %s%s", msg,
	    cfg_duration_fmt(f->backoff_us, d, sizeof(d)), optional ? " (until FRR answers, "
	    "what bgpd announces for the address method is not verified)" : "");
	frr_schedule_retry(f, f->backoff_us);
	f->backoff_us = f->backoff_us * 2 > f->t.backoff_max_us ? f->t.backoff_max_us :
	    f->backoff_us * 2;
	/* A read the tracked statements wait for failed as well: not in a tight loop. */
	if (f->tr_read)
		frr_vhold(f, 0);
	/* The address method's work goes on meanwhile (frr_kick). */
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
}

/*
 * No `router bgp` for our VRF: bgpd is down, or (re)started and not yet
 * replaying its own configuration. Read again until replay_max_us, then a
 * failure.
 */
static void
frr_read_unconfigured(struct frr *f, uint64_t now)
{
	char	d[32];

	if (f->replay_since_us == 0)
		f->replay_since_us = now;
	if (now - f->replay_since_us < f->t.replay_max_us) {
		log_debug("FRR's running configuration has no router bgp%s%s yet; "
		    "waiting for FRR to load its configuration",
		    f->set.vrf ? " vrf " : "", f->set.vrf ? f->set.vrf : "");
		f->need_read = true;
		frr_schedule_retry(f, f->t.replay_poll_us);
		if (f->tr_read)
			frr_vhold(f, f->t.replay_poll_us);
		return;
	}
	frr_fail(f, "FRR's running configuration has no router bgp%s%s after %s "
	    "(bgpd not running, or not configured)", f->set.vrf ? " vrf " : "",
	    f->set.vrf ? f->set.vrf : "",
	    cfg_duration_fmt(f->t.replay_max_us, d, sizeof(d)));
	f->known = false;
}

/* Takes what r holds for the managed entries; true if a read-back shows a mismatch. */
static bool
frr_entries_read(struct frr *f, const struct frr_running *r)
{
	const struct frr_net	*net;
	char			 w[256], h[256];
	bool			 mismatch = false;

	for (size_t i = 0; i < f->n; i++) {
		struct frr_entry *e = &f->e[i];
		net = frr_running_find(r, &e->pfx);
		e->have = net != NULL;
		snprintf(e->have_rm, sizeof(e->have_rm), "%s", net ? net->route_map : "");
		/*
		 * Checked against what the call sent: a wish changed while it was
		 * in flight is no failure of FRR's, and goes out next (frr_kick).
		 */
		if (f->readback && e->sent && (e->have != e->sent_want ||
		    (e->have && strcmp(e->have_rm, e->sent_rm) != 0))) {
			log_msg(LOG_LVL_ERROR, NULL, "frr", "read-back mismatch: asked for %s, "
			    "FRR holds %s", stmt_fmt(e->sent_want, e->sent_rm, &e->pfx, w,
			    sizeof(w)), stmt_fmt(e->have, e->have_rm, &e->pfx, h, sizeof(h)));
			mismatch = true;
		}
		e->sent = false;
	}
	return mismatch;
}

/*
 * Released statements now absent (or plain, for method address) are no
 * longer ours: a hand-made one stays.
 */
static void
frr_drop_released(struct frr *f)
{
	size_t	n = 0;

	/* In one pass: a reload can release thousands at once. */
	for (size_t i = 0; i < f->n; i++) {
		if (f->e[i].released && (!f->e[i].have ||
		    (f->e[i].release_plain && f->e[i].have_rm[0] == '\0')))
			continue;
		if (n != i)
			f->e[n] = f->e[i];
		n++;
	}
	if (n != f->n) {
		f->n = n;
		frr_index_rebuild(&f->eidx, f->e, f->n);
	}
}

static void
frr_read_done(struct frr *f, const char *out)
{
	struct frr_running	 r;
	bool			 mismatch;

	if (frr_running_parse(out != NULL ? out : "", f->set.vrf, &r) == -1) {
		frr_fail(f, "out of memory reading FRR's running configuration");
		return;
	}
	if (!r.found) {
		frr_read_unconfigured(f, now_us());
		goto out;
	}
	f->replay_since_us = 0;
	if (f->set.asn != 0 && r.asn != f->set.asn) {
		frr_fail(f, "FRR runs router bgp %u%s%s, but frr.asn is %u", r.asn,
		    f->set.vrf ? " vrf " : "", f->set.vrf ? f->set.vrf : "",
		    f->set.asn);
		goto out;
	}
	if (f->asn != r.asn)
		log_info("FRR: router bgp %u%s%s", r.asn, f->set.vrf ? " vrf " : "",
		    f->set.vrf ? f->set.vrf : "");
	f->asn = r.asn;
	mismatch = frr_entries_read(f, &r);
	frr_tracks_read(f, &r);
	frr_drop_released(f);
	f->known = true;
	f->need_read = false;
	f->tr_read = false;
	if (mismatch) {
		f->stats.mismatches++;
		frr_fail(f, "FRR did not take the change");
		goto out;
	}
	/* Failing until a read-back (or a read needing no change) shows FRR as wanted. */
	if (f->readback || frr_synced(f)) {
		if (f->failing)
			log_msg(LOG_LVL_INFO, NULL, "frr", "FRR holds the desired statements again");
		f->failing = false;
		f->backoff_us = f->t.backoff_min_us;
	}
	f->readback = false;
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
	frr_kick(f);
out:
	frr_running_clear(&r);
}

void
frr_call_done(struct frr *f)
{
	struct frr_call	*c = &f->call;
	enum frr_op	 op = c->op;
	char		 tail[320], d[32];
	double		 ms = (double)(now_us() - c->started_us) / 1000.0;

	if (c->timed_out) {
		frr_call_release(c);
		if (op == FRR_OP_VERIFY || op == FRR_OP_REPAIR) {
			/* A repair may have stopped half-way: a read tells. */
			f->tr_read = f->tr_read || op == FRR_OP_REPAIR;
			f->verify_due = f->verify_due || op == FRR_OP_VERIFY;
			frr_vfail(f, "vtysh %s timed out after %s and was killed",
			    frr_op_name(op), cfg_duration_fmt(f->set.timeout_us, d, sizeof(d)));
		} else
			frr_fail(f, "vtysh %s timed out after %s and was killed", frr_op_name(op),
			    cfg_duration_fmt(f->set.timeout_us, d, sizeof(d)));
		return;
	}
	log_debug("%s %s: exit %d in %.1f ms", c->vty ? "vty" : "vtysh", frr_op_name(op),
	    c->status, ms);
	if (op == FRR_OP_VERIFY) {
		/* A daemon that is down makes vtysh exit 1 after the others answered. */
		char *out = c->out;
		int status = c->status;
		c->out = NULL;
		frr_call_release(c);
		f->stats.verifies++;
		frr_verify_done(f, out, status);
		free(out);
		return;
	}
	if (c->status != 0) {
		frr_out_tail(c, tail, sizeof(tail));
		frr_call_release(c);
		if (op == FRR_OP_REPAIR) {
			f->tr_read = true;
			frr_vfail(f, "vtysh %s failed (exit %d): %s", frr_op_name(op),
			    c->status, tail[0] ? tail : "no output");
		} else
			frr_fail(f, "vtysh %s failed (exit %d): %s", frr_op_name(op),
			    c->status, tail[0] ? tail : "no output");
		return;
	}
	if (op == FRR_OP_READ) {
		/* Released first: reading may start the next call. */
		char *out = c->out;
		c->out = NULL;
		frr_call_release(c);
		f->stats.reads++;
		frr_read_done(f, out);
		free(out);
		return;
	}
	frr_call_release(c);
	/* vtysh exits 0 on some failures: only the read-back says it worked. */
	if (op == FRR_OP_REPAIR) {
		f->tr_read = true;
		/* Whether bgpd now judges the prefixes afresh: after FRR's own path. */
		frr_verify_after(f, f->t.verify_delay_us);
	} else {
		f->need_read = true;
		f->stats.applies++;
		f->readback = true;
	}
	frr_kick(f);
}

static void
frr_start_read(struct frr *f)
{
	char	**argv;

	if ((argv = frr_build_show_argv(f->set.vtysh, f->set.pathspace)) == NULL) {
		frr_fail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_READ, argv) == -1)
		frr_fail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

static void
frr_start_apply(struct frr *f)
{
	struct frr_change	*ch;
	char			**argv = NULL, buf[PFX_STRLEN];
	size_t			 n = 0;
	uint32_t		 asn = f->asn != 0 ? f->asn : f->set.asn;

	if ((ch = calloc(f->n + 1, sizeof(*ch))) == NULL) {
		frr_fail(f, "out of memory");
		return;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct frr_entry *e = &f->e[i];
		const char *rm;
		bool want = entry_wanted(f, e, &rm);
		if (!entry_differs(f, e))
			continue;
		e->sent = true;
		e->sent_want = want;
		snprintf(e->sent_rm, sizeof(e->sent_rm), "%s", rm);
		ch[n].pfx = e->pfx;
		ch[n].present = want;
		ch[n].route_map = e->sent_rm;
		log_msg(LOG_LVL_INFO, NULL, "frr", "%s %s%s%s", want ? "network" :
		    "no network", pfx_fmt(&e->pfx, buf, sizeof(buf)),
		    want && rm[0] ? " route-map " : "", want ? rm : "");
		n++;
	}
	argv = frr_build_argv(f->set.vtysh, f->set.pathspace, asn,
	    f->set.vrf, ch, n);
	free(ch);
	if (argv == NULL) {
		frr_fail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_APPLY, argv) == -1)
		frr_fail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

/* Decides the next call; at most one is in flight. */
void
frr_kick(struct frr *f)
{
	bool		diff = false;
	uint64_t	now = now_us(), next;

	if (!f->started || f->call.op != FRR_OP_NONE)
		return;
	/*
	 * The address method first, with its own backoff: a statement lost by
	 * a repair cut short, and a prefix announced for a dead service, must
	 * not wait behind the network method's retries or its changes.
	 */
	if (f->known && frr_reenter_wanted(f)) {
		frr_start_repair(f);
		return;
	}
	if (f->known && !frr_vretry_pending(f)) {
		bool ready = frr_repair_ready(f, now, &next);
		if (f->tr_read && (ready || frr_inflight_any(f))) {
			frr_start_read(f);
			return;
		}
		if (ready) {
			frr_start_repair(f);
			return;
		}
		if (next != UINT64_MAX)
			frr_verify_after(f, next - now);
		/* A prefix waiting for its repair backoff holds up no verification. */
		if (f->verify_due && f->ntr > 0) {
			frr_start_verify(f);
			return;
		}
	}
	if (retry_pending(f))
		return;
	if (f->need_read || !f->known) {
		frr_start_read(f);
		return;
	}
	for (size_t i = 0; i < f->n && !diff; i++)
		diff = entry_differs(f, &f->e[i]);
	if (diff) {
		if (f->asn == 0 && f->set.asn == 0) {
			frr_fail(f, "the AS number is unknown (frr.asn is null and FRR has "
			    "no router bgp)");
			return;
		}
		frr_start_apply(f);
	}
}

static int
frr_defer_cb(sd_event_source *src, void *arg)
{
	(void)src;
	frr_kick(arg);
	return 0;
}

static int
frr_retry_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	(void)src;
	(void)usec;
	frr_kick(arg);
	return 0;
}

static int
frr_periodic_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct frr	*f = arg;

	sd_event_source_set_time(src, usec + f->t.check_interval_us);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	/* Catches a stale announcement whatever caused it, even while failing. */
	f->verify_due = f->ntr > 0;
	/* A read while failing would defeat the backoff; the retry reads anyway. */
	if (!retry_pending(f))
		frr_check(f);
	else
		sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	return 0;
}

static int
frr_watch_cb(sd_event_source *src, const struct inotify_event *ev, void *arg)
{
	struct frr	*f = arg;

	(void)src;
	if (ev->len == 0 || !(ev->mask & (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)))
		return 0;
	if (strcmp(ev->name, "zebra.pid") == 0 || strcmp(ev->name, "zserv.api") == 0) {
		frr_zebra_restarted(f, ev->name);
		return 0;
	}
	if (strcmp(ev->name, "bgpd.pid") == 0 || strcmp(ev->name, "bgpd.vty") == 0) {
		log_msg(LOG_LVL_WARNING, NULL, "frr", "bgpd (re)started (%s changed): "
		    "re-reading FRR's running configuration", ev->name);
		/* A restart is no failure of ours: retry at once, with a fresh backoff. */
		sd_event_source_set_enabled(f->retry, SD_EVENT_OFF);
		sd_event_source_set_enabled(f->vretry, SD_EVENT_OFF);
		f->backoff_us = f->t.backoff_min_us;
		f->vbackoff_us = f->t.backoff_min_us;
		f->replay_since_us = 0;
		f->verify_due = f->ntr > 0;
		frr_check(f);
	}
	return 0;
}

static char *
dup_or_null(const char *s, bool *fail)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = true;
	return d;
}

/* Copies cfg's FRR settings into f, replacing the old ones; 0, or -1 (ENOMEM, f unchanged). */
static int
frr_settings(struct frr *f, const struct cfg *cfg)
{
	bool	 fail = false;
	char	*vtysh = dup_or_null(cfg->frr.vtysh, &fail);
	char	*pathspace = dup_or_null(cfg->frr.pathspace, &fail);
	char	*vrf = dup_or_null(cfg->frr.vrf, &fail);

	if (fail || vtysh == NULL) {
		free(vtysh);
		free(pathspace);
		free(vrf);
		return -1;
	}
	free(f->set.vtysh);
	free(f->set.pathspace);
	free(f->set.vrf);
	f->set.vtysh = vtysh;
	f->set.pathspace = pathspace;
	f->set.vrf = vrf;
	f->set.asn = cfg->frr.asn;
	f->set.timeout_us = cfg->frr.timeout_us;
	return 0;
}

struct frr *
frr_new(sd_event *ev, const struct cfg *cfg, frr_update_cb cb, void *arg)
{
	struct frr	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	frr_index_init(&f->eidx, sizeof(f->e[0]), offsetof(struct frr_entry, pfx));
	frr_index_init(&f->tridx, sizeof(f->tr[0]), offsetof(struct frr_track, pfx));
	f->ev = sd_event_ref(ev);
	if (frr_settings(f, cfg) == -1) {
		frr_free(f);
		return NULL;
	}
	f->cb = cb;
	f->cb_arg = arg;
	f->asn = cfg->frr.asn;
	f->call.fd = -1;
	f->t.backoff_min_us = 1000000;
	f->t.backoff_max_us = 30 * 1000000ULL;
	f->t.check_interval_us = 10 * 1000000ULL;
	f->t.replay_poll_us = 250000;
	f->t.replay_max_us = 10 * 1000000ULL;
	f->t.verify_delay_us = 150000;
	f->t.zebra_poll_us = 1000000;
	f->t.zebra_wait_max_us = 120 * 1000000ULL;
	f->backoff_us = f->t.backoff_min_us;
	f->vbackoff_us = f->t.backoff_min_us;
	if (sd_event_add_defer(ev, &f->defer, frr_defer_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->defer, SD_EVENT_OFF) < 0 ||
	    sd_event_add_time_relative(ev, &f->retry, CLOCK_MONOTONIC, 0, 1000,
	    frr_retry_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->retry, SD_EVENT_OFF) < 0 ||
	    sd_event_add_time_relative(ev, &f->verify, CLOCK_MONOTONIC, 0, 1000,
	    frr_verify_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->verify, SD_EVENT_OFF) < 0 ||
	    sd_event_add_time_relative(ev, &f->vretry, CLOCK_MONOTONIC, 0, 1000,
	    frr_vretry_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->vretry, SD_EVENT_OFF) < 0) {
		frr_free(f);
		return NULL;
	}
	return f;
}

void
frr_set_timing(struct frr *f, const struct frr_timing *t)
{
	f->t = *t;
	f->backoff_us = t->backoff_min_us;
	f->vbackoff_us = t->backoff_min_us;
}

void
frr_free(struct frr *f)
{
	if (f == NULL)
		return;
	if (f->call.op != FRR_OP_NONE && f->call.pid > 0) {
		/* Shutting down with a call in flight: it must not outlive us. */
		f->call.child = sd_event_source_disable_unref(f->call.child);
		kill(-f->call.pid, SIGKILL);
		kill(f->call.pid, SIGKILL);
		waitpid(f->call.pid, NULL, 0);
	}
	frr_call_release(&f->call);	/* a vty call's socket, too */
	sd_event_source_disable_unref(f->defer);
	sd_event_source_disable_unref(f->retry);
	sd_event_source_disable_unref(f->periodic);
	sd_event_source_disable_unref(f->watch);
	sd_event_source_disable_unref(f->verify);
	sd_event_source_disable_unref(f->vretry);
	sd_event_unref(f->ev);
	frr_tracks_free(f);
	frr_index_free(&f->eidx);
	free(f->asked);
	free(f->set.vtysh);
	free(f->set.pathspace);
	free(f->set.vrf);
	free(f->e);
	free(f);
}

int
frr_manage(struct frr *f, const struct pfx *p)
{
	struct frr_entry	*e;

	frr_untrack_leaving(f, p);
	if ((e = frr_find(f, p)) != NULL) {
		/*
		 * Managed again before its release completed: it stays, as the
		 * owner wants it (a new owner has not asked for it yet).
		 */
		e->released = false;
		e->release_plain = false;
		return 0;
	}
	if ((e = frr_index_append(&f->eidx, f->e, &f->n, &f->ecap, p)) == NULL)
		return -1;
	f->e = e;
	/* Managed by a reload: what FRR holds for it is not known before a read. */
	if (f->started)
		frr_check(f);
	return 0;
}

void
frr_release(struct frr *f, const struct pfx *p, bool remove)
{
	struct frr_entry	*e;
	char			 buf[PFX_STRLEN];

	if ((e = frr_find(f, p)) == NULL)
		return;
	if (!remove) {
		/*
		 * The line is the operator's, but a route-map on it (degraded,
		 * GSHUT) is ours: taken off first, or it would stay for good.
		 */
		if ((e->have && e->have_rm[0] != '\0') ||
		    (e->sent && e->sent_want && e->sent_rm[0] != '\0')) {
			log_msg(LOG_LVL_INFO, NULL, "frr", "network %s: now method address; "
			    "taking its route-map off, the plain line stays",
			    pfx_fmt(p, buf, sizeof(buf)));
			e->released = true;
			e->release_plain = true;
			sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
			return;
		}
		/* Forgotten: its statement is never touched again. */
		frr_index_remove(&f->eidx, f->e, &f->n, (size_t)(e - f->e));
		return;
	}
	e->released = true;
	e->release_plain = false;
	/* A read decides: absent drops it, present sends `no network` first. */
	frr_check(f);
}

uint32_t
frr_asn(const struct frr *f)
{
	return f->asn;
}

int
frr_reconfigure(struct frr *f, const struct cfg *cfg)
{
	if (frr_settings(f, cfg) == -1)
		return -1;
	if (cfg->frr.asn != 0)
		f->asn = cfg->frr.asn;
	return 0;
}

void
frr_set_desired(struct frr *f, frr_desired_fn fn, void *arg)
{
	f->desired = fn;
	f->desired_arg = arg;
	/*
	 * The new owner's answers may differ from the old one's without any
	 * of them changing afterwards (a prefix the new configuration keeps
	 * but does not want): compared soon, not at the periodic check.
	 */
	frr_changed(f);
}

void
frr_changed(struct frr *f)
{
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
}

void
frr_check(struct frr *f)
{
	f->need_read = true;
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
}

int
frr_start(struct frr *f)
{
	char	dir[512];
	int	r;

	if (f->set.pathspace != NULL)
		snprintf(dir, sizeof(dir), "%s/%s", FRR_RUNDIR, f->set.pathspace);
	else
		snprintf(dir, sizeof(dir), "%s", FRR_RUNDIR);
	r = sd_event_add_inotify(f->ev, &f->watch, dir, IN_CREATE | IN_MOVED_TO |
	    IN_CLOSE_WRITE | IN_ONLYDIR, frr_watch_cb, f);
	if (r < 0)
		log_warn("cannot watch %s for bgpd and zebra restarts (%s); relying on "
		    "the periodic check", dir, strerror(-r));
	if ((r = sd_event_add_time_relative(f->ev, &f->periodic, CLOCK_MONOTONIC,
	    f->t.check_interval_us, 100000, frr_periodic_cb, f)) < 0)
		return r;
	f->started = true;
	f->verify_due = f->ntr > 0;
	frr_check(f);
	return 0;
}

bool
frr_holds(const struct frr *f, const struct pfx *p)
{
	const struct frr_entry	*e = frr_find(f, p);

	return e != NULL && e->have;
}

const char *
frr_held_route_map(const struct frr *f, const struct pfx *p)
{
	const struct frr_entry	*e = frr_find(f, p);

	return e != NULL && e->have ? e->have_rm : NULL;
}

bool
frr_known(const struct frr *f)
{
	return f->known;
}

bool
frr_synced(const struct frr *f)
{
	if (!f->known || f->need_read || f->call.op != FRR_OP_NONE)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (entry_differs(f, &f->e[i]))
			return false;
	return true;
}

bool
frr_failing(const struct frr *f)
{
	return f->failing;
}

bool
frr_verify_failing(const struct frr *f)
{
	return f->vfailing;
}

const struct frr_stats *
frr_stats(const struct frr *f)
{
	return &f->stats;
}
