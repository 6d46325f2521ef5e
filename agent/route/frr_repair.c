/*
 * Verification and repair of the address method (see frr.h): after a zebra
 * restart FRR 8.4's bgpd no longer hears that an address went, so the
 * driver reads what bgpd announces and what zebra tracks, and re-enters a
 * statement whose tracking is lost or whose announcement is stale. These
 * calls have their own backoff (frr_vhold()) so that a failing network
 * method never holds up the withdrawal of a stale prefix.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "frr.h"
#include "frr_int.h"
#include "log.h"
#include "clock.h"

bool
frr_vretry_pending(const struct frr *f)
{
	int	en = SD_EVENT_OFF;

	sd_event_source_get_enabled(f->vretry, &en);
	return en != SD_EVENT_OFF;
}

/* Holds the address method's calls for delay_us, or (0) a doubling backoff. */
void
frr_vhold(struct frr *f, uint64_t delay_us)
{
	if (delay_us == 0) {
		delay_us = f->vbackoff_us;
		f->vbackoff_us = f->vbackoff_us * 2 > f->t.backoff_max_us ?
		    f->t.backoff_max_us : f->vbackoff_us * 2;
	}
	sd_event_source_set_time_relative(f->vretry, delay_us);
	sd_event_source_set_enabled(f->vretry, SD_EVENT_ONESHOT);
}

/*
 * A verification or repair failed: retried after its own backoff. FRR's
 * statements are not in question, so the link is not marked failing.
 */
void
frr_vfail(struct frr *f, const char *fmt, ...)
{
	char		 msg[1024], d[32];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->stats.failures++;
	log_msg(f->vfailing ? LOG_LVL_DEBUG : LOG_LVL_ERROR, NULL, "frr", "%s; retrying in "
	    "%s (what bgpd announces for the address method is not verified meanwhile)",
	    msg, cfg_duration_fmt(f->vbackoff_us, d, sizeof(d)));
	f->vfailing = true;
	frr_vhold(f, 0);
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
}

/* ---- verification of the address method ---- */

static struct frr_track *
track_find(const struct frr *f, const struct pfx *p)
{
	ptrdiff_t	i = frr_index_find(&f->tridx, f->tr, p);

	return i >= 0 ? &f->tr[i] : NULL;
}

void
frr_tracks_free(struct frr *f)
{
	free(f->tr);
	f->tr = NULL;
	f->ntr = f->trcap = 0;
	frr_index_free(&f->tridx);
}

/* A repair due now: newly stale at once, repaired and still stale after its backoff. */
bool
frr_repair_ready(const struct frr *f, uint64_t now, uint64_t *next)
{
	bool	ready = false;

	*next = UINT64_MAX;
	for (size_t i = 0; i < f->ntr; i++) {
		if (!f->tr[i].repair)
			continue;
		if (f->tr[i].rnext_us <= now)
			ready = true;
		else if (f->tr[i].rnext_us < *next)
			*next = f->tr[i].rnext_us;
	}
	return ready;
}

bool
frr_inflight_any(const struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		if (f->tr[i].inflight)
			return true;
	return false;
}

bool
frr_reenter_wanted(const struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		if (f->tr[i].reenter)
			return true;
	return false;
}

bool
frr_repairing(const struct frr *f)
{
	return f->call.op == FRR_OP_REPAIR || frr_inflight_any(f);
}

/* What a read of the running configuration says about the tracked statements. */
void
frr_tracks_read(struct frr *f, const struct frr_running *r)
{
	const struct frr_net	*net;
	char			 buf[PFX_STRLEN];

	for (size_t i = 0; i < f->ntr; i++) {
		struct frr_track *t = &f->tr[i];
		net = frr_running_find(r, &t->pfx);
		if (t->inflight && net == NULL) {
			/* Our repair was cut short after `no network P`: put it back. */
			if (!t->reenter)
				log_msg(LOG_LVL_WARNING, NULL, "frr", "'network %s%s%s' is missing "
				    "after an interrupted repair; entering it again as it was",
				    pfx_fmt(&t->pfx, buf, sizeof(buf)),
				    t->inflight_rm[0] ? " route-map " : "", t->inflight_rm);
			t->reenter = true;
			t->repair = false;
			t->stmt = true;
			t->options = false;
			snprintf(t->rm, sizeof(t->rm), "%s", t->inflight_rm);
			continue;
		}
		if (net == NULL && t->stmt && !t->inflight)
			log_msg(LOG_LVL_WARNING, NULL, "frr", "'network %s' is gone from FRR's "
			    "running configuration (removed by hand?); not re-entering it",
			    pfx_fmt(&t->pfx, buf, sizeof(buf)));
		/* Back (as it was, or as the operator changed it since): no longer ours. */
		t->inflight = false;
		t->reenter = false;
		t->stmt = net != NULL;
		t->options = net != NULL && net->options;
		snprintf(t->rm, sizeof(t->rm), "%s", net != NULL ? net->route_map : "");
		/* Re-entered only as the read just showed it. */
		if (!t->stmt)
			t->repair = false;
	}
}

/*
 * `no network P` then `network P [route-map RM]` in one call: bgpd drops
 * the static route and its nexthop registration, then makes both anew and
 * asks zebra, which answers with the current state of P. Measured with FRR
 * 8.4: a prefix whose address is gone is withdrawn (60-80 ms), one whose
 * address is there sends nothing to the neighbour, and zebra tracks P for
 * bgpd again. `clear bgp * soft` does not re-evaluate, and toggling `bgp
 * network import-check` would announce every prefix for a moment.
 */
void
frr_start_repair(struct frr *f)
{
	struct frr_change	*ch;
	char			**argv, buf[PFX_STRLEN];
	size_t			 n = 0;
	uint64_t		 now = now_us();

	if ((ch = calloc(2 * f->ntr + 1, sizeof(*ch))) == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	for (size_t i = 0; i < f->ntr; i++) {
		struct frr_track *t = &f->tr[i];
		if (t->reenter) {
			/* Only what is missing: `no network` would find nothing. */
			t->reenter = false;
			ch[n].pfx = t->pfx;
			ch[n].present = true;
			ch[n++].route_map = t->inflight_rm;
			log_msg(LOG_LVL_WARNING, NULL, "frr", "entering 'network %s%s%s' again",
			    pfx_fmt(&t->pfx, buf, sizeof(buf)), t->inflight_rm[0] ?
			    " route-map " : "", t->inflight_rm);
			continue;
		}
		if (!t->repair || t->rnext_us > now)
			continue;
		t->repair = false;
		t->repaired = true;
		t->inflight = true;
		snprintf(t->inflight_rm, sizeof(t->inflight_rm), "%s", t->rm);
		ch[n].pfx = t->pfx;
		ch[n++].present = false;
		ch[n].pfx = t->pfx;
		ch[n].present = true;
		ch[n++].route_map = t->rm;
		f->stats.repairs++;
		log_msg(LOG_LVL_WARNING, NULL, "frr", "re-entering 'network %s%s%s' so that "
		    "bgpd evaluates it against zebra again", pfx_fmt(&t->pfx, buf, sizeof(buf)),
		    t->rm[0] ? " route-map " : "", t->rm);
	}
	argv = frr_build_argv(f->set.vtysh, f->set.pathspace, f->asn, f->set.vrf, ch, n);
	free(ch);
	if (argv == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_REPAIR, argv) == -1)
		frr_vfail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

void
frr_start_verify(struct frr *f)
{
	char	**argv;

	f->verify_due = false;
	free(f->asked);
	f->nasked = 0;
	if ((f->asked = calloc(f->ntr + 1, sizeof(*f->asked))) == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	/*
	 * Only a prefix whose address is gone can be announced stale; whether
	 * zebra tracks them all is one command whatever their number.
	 */
	for (size_t k = 0, i; k < f->ntr; k++) {
		i = (f->vcursor + k) % f->ntr;
		if (f->tr[i].addr)
			continue;
		if (f->nasked == FRR_VERIFY_MAX) {
			/* A storm: the rest in the next calls, round robin. */
			f->vcursor = i;
			f->verify_due = true;
			break;
		}
		f->asked[f->nasked++] = f->tr[i].pfx;
	}
	argv = frr_build_verify_argv(f->set.vtysh, f->set.pathspace, f->set.vrf, f->asked,
	    f->nasked);
	if (argv == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_VERIFY, argv) == -1)
		frr_vfail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

/*
 * Parses a verification's output against the tracked set as it is now (a
 * reload may have changed it meanwhile). 0, or -1 (failed: retried).
 */
static int
frr_verify_read(struct frr *f, const char *out, int status, struct frr_seen *seen)
{
	struct pfx	*all;

	if ((all = calloc(f->ntr + 1, sizeof(*all))) == NULL) {
		frr_vfail(f, "out of memory reading bgpd's announcements");
		return -1;
	}
	for (size_t i = 0; i < f->ntr; i++)
		all[i] = f->tr[i].pfx;
	if (frr_verify_parse(out != NULL ? out : "", status == 0, f->asked, f->nasked,
	    all, f->ntr, seen) == -1) {
		free(all);
		frr_vfail(f, "out of memory reading bgpd's announcements");
		return -1;
	}
	free(all);
	if (!seen->bgp_ok) {
		frr_seen_clear(seen);
		f->verify_due = true;	/* again after the backoff */
		frr_vfail(f, "vtysh %s (exit %d): bgpd did not answer for every prefix",
		    frr_op_name(FRR_OP_VERIFY), status);
		return -1;
	}
	return 0;
}

/*
 * Judges tracked prefix i from seen: marks it for repair if bgpd announces
 * it stale or zebra lost it (settled: bgpd is on zebra, so tracking can be
 * judged). Returns whether it is to be repaired; *lost: zebra lost it.
 */
static bool
frr_track_judge(struct frr *f, size_t i, const struct frr_seen *seen, bool settled,
    uint64_t now, bool *lost)
{
	struct frr_track	*t = &f->tr[i];
	char			 buf[PFX_STRLEN];
	bool			 stale = false, asked = false;

	for (size_t j = 0; j < f->nasked; j++)
		if (pfx_equal(&f->asked[j], &t->pfx)) {
			asked = true;
			stale = seen->announced[j] && !t->addr;
		}
	t->gone = !t->addr && ((asked && !stale) || !t->stmt);
	*lost = false;
	pfx_fmt(&t->pfx, buf, sizeof(buf));
	if (!t->stmt) {
		if (!t->warned && !t->leaving)
			log_warn("FRR has no 'network %s' in router bgp%s%s: the address "
			    "method cannot announce it (see frr-templates/"
			    "bgpd-address-method.conf)", buf, f->set.vrf ? " vrf " : "",
			    f->set.vrf ? f->set.vrf : "");
		t->warned = true;
		return false;
	}
	*lost = settled && !seen->registered[i];
	if (!stale && !*lost) {
		t->repaired = false;
		t->rbackoff_us = t->rnext_us = 0;
		return false;
	}
	if (t->options) {
		if (!t->warned)
			log_msg(LOG_LVL_ERROR, NULL, "frr", "bgpd %s %s, but its network "
			    "statement has options this daemon does not re-enter; "
			    "restart bgpd", stale ? "still announces" : "no longer "
			    "tracks the address of", buf);
		t->warned = true;
		return false;
	}
	if (stale)
		log_msg(LOG_LVL_ERROR, NULL, "frr", "bgpd still announces %s although "
		    "its address is gone (import-check not re-evaluated, e.g. after "
		    "a zebra restart)", buf);
	else
		log_msg(LOG_LVL_WARNING, NULL, "frr", "zebra does not track %s for "
		    "bgpd (zebra restarted): bgpd would not see its address go", buf);
	if (t->repaired) {
		/* Repaired and still stale: again, but never in a tight loop. */
		t->rbackoff_us = t->rbackoff_us == 0 ? f->t.backoff_min_us :
		    t->rbackoff_us * 2 > f->t.backoff_max_us ? f->t.backoff_max_us :
		    t->rbackoff_us * 2;
		t->rnext_us = now + t->rbackoff_us;
	}
	t->repair = true;
	return true;
}

/* Removed by a reload and seen withdrawn: no longer ours to verify. */
static void
frr_drop_gone(struct frr *f)
{
	size_t	n = 0;

	/* In one pass: a reload can remove thousands at once. */
	for (size_t i = 0; i < f->ntr; i++) {
		if (f->tr[i].leaving && f->tr[i].gone && !f->tr[i].inflight &&
		    !f->tr[i].reenter)
			continue;
		if (n != i)
			f->tr[n] = f->tr[i];
		n++;
	}
	if (n != f->ntr) {
		f->ntr = n;
		frr_index_rebuild(&f->tridx, f->tr, f->ntr);
	}
	f->vcursor = f->ntr > 0 ? f->vcursor % f->ntr : 0;
}

/* After a zebra restart: polls until bgpd is back on zebra with everything tracked. */
static void
frr_zebra_wait(struct frr *f, bool tracked, uint64_t now)
{
	char	d[32];

	if (f->zebra_since_us == 0)
		return;
	if (tracked) {
		log_msg(LOG_LVL_INFO, NULL, "frr", "zebra restart: bgpd is back on zebra "
		    "and the address-method prefixes are tracked again");
		f->zebra_since_us = 0;
	} else if (now - f->zebra_since_us >= f->t.zebra_wait_max_us) {
		log_msg(LOG_LVL_ERROR, NULL, "frr", "zebra restart: bgpd not back on "
		    "zebra after %s; verifying at the periodic check only",
		    cfg_duration_fmt(f->t.zebra_wait_max_us, d, sizeof(d)));
		f->zebra_since_us = 0;
	} else
		frr_verify_after(f, f->t.zebra_poll_us);
}

/* Decides, per tracked prefix, whether its statement must be re-entered. */
void
frr_verify_done(struct frr *f, const char *out, int status)
{
	struct frr_seen	 seen;
	bool		 settled, lost, lost_any = false, repair = false;
	uint64_t	 now = now_us();

	if (frr_verify_read(f, out, status, &seen) == -1)
		return;
	if (f->vfailing)
		log_msg(LOG_LVL_INFO, NULL, "frr", "bgpd answers the verification again");
	f->vfailing = false;
	f->vbackoff_us = f->t.backoff_min_us;
	/* Before bgpd is back on zebra, re-entering cannot register anything. */
	settled = seen.zebra_ok && seen.bgp_client;
	for (size_t i = 0; i < f->ntr; i++) {
		repair = frr_track_judge(f, i, &seen, settled, now, &lost) || repair;
		lost_any = lost_any || lost;
	}
	frr_seen_clear(&seen);
	f->zebra_settled = settled && !lost_any;
	frr_drop_gone(f);
	frr_zebra_wait(f, settled && !lost_any, now);
	if (repair)
		/* The statement is re-entered as a fresh read shows it. */
		f->tr_read = true;
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
	frr_kick(f);
}

int
frr_verify_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct frr	*f = arg;

	(void)src;
	(void)usec;
	f->verify_due = true;
	frr_kick(f);
	return 0;
}

/* Verifies in delay_us, or earlier if already planned so. */
void
frr_verify_after(struct frr *f, uint64_t delay_us)
{
	uint64_t	at = now_us() + delay_us, old;
	int		en = SD_EVENT_OFF;

	if (f->verify == NULL || f->ntr == 0)
		return;
	sd_event_source_get_enabled(f->verify, &en);
	if (en != SD_EVENT_OFF && sd_event_source_get_time(f->verify, &old) >= 0 && old <= at)
		return;
	sd_event_source_set_time(f->verify, at);
	sd_event_source_set_enabled(f->verify, SD_EVENT_ONESHOT);
}

int
frr_vretry_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	(void)src;
	(void)usec;
	frr_kick(arg);
	return 0;
}

/* zebra.pid or zserv.api changed in FRR's run directory. */
void
frr_zebra_restarted(struct frr *f, const char *name)
{
	/*
	 * bgpd comes back to zebra by itself (within about 10 s) but does
	 * not register its network statements again: poll until it is back,
	 * then re-enter what zebra does not track.
	 */
	if (f->zebra_since_us == 0)
		log_msg(LOG_LVL_WARNING, NULL, "frr", "zebra (re)started (%s changed): "
		    "verifying what bgpd announces until it is back on zebra",
		    name);
	f->zebra_since_us = now_us();
	/* A restart is no failure of the verification's: at once. */
	sd_event_source_set_enabled(f->vretry, SD_EVENT_OFF);
	f->vbackoff_us = f->t.backoff_min_us;
	frr_verify_after(f, 0);
}

/* p is managed now (moved from the address method): no longer verified as one. */
void
frr_untrack_leaving(struct frr *f, const struct pfx *p)
{
	struct frr_track	*t = track_find(f, p);

	if (t != NULL && t->leaving)
		frr_index_remove(&f->tridx, f->tr, &f->ntr, (size_t)(t - f->tr));
}

int
frr_track(struct frr *f, const struct pfx *p)
{
	struct frr_track	*t;

	if ((t = track_find(f, p)) != NULL) {
		/* Still configured after the reload. */
		t->leaving = false;
		return 0;
	}
	if ((t = frr_index_append(&f->tridx, f->tr, &f->ntr, &f->trcap, p)) == NULL)
		return -1;
	f->tr = t;
	if (f->started) {
		f->verify_due = true;
		frr_check(f);
	}
	return 0;
}

/*
 * A reload: what frr_track() does not declare again stays verified until
 * bgpd is seen not announcing it (an address removed while zebra does not
 * track it for bgpd would otherwise stay announced, unverified).
 */
void
frr_untrack_all(struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		f->tr[i].leaving = true;
}

/* Whether a stop may leave the address method alone: see frr_withdrawn(). */
bool
frr_zebra_settled(const struct frr *f)
{
	/*
	 * FRR never read, or bgpd not answering the verification: nothing to
	 * verify against, so waiting would not help (vtysh missing, no bgpd).
	 */
	return !f->known || f->vfailing || (f->zebra_settled && f->zebra_since_us == 0);
}

bool
frr_withdrawn(const struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		if (!f->tr[i].addr && f->tr[i].stmt && !f->tr[i].gone)
			return false;
	return true;
}

void
frr_track_addr(struct frr *f, const struct pfx *p, bool present)
{
	struct frr_track	*t = track_find(f, p);

	if (t == NULL || t->addr == present)
		return;
	t->addr = present;
	t->gone = false;
	if (present)
		return;
	/*
	 * Between a zebra restart and bgpd being tracked again, bgpd cannot
	 * see the address go: re-enter the statement at once, as last read.
	 */
	if (f->zebra_since_us != 0 && f->known && t->stmt && !t->options) {
		t->repair = true;
		sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	}
	/* Otherwise a removal is where a stale announcement would show. */
	frr_verify_after(f, f->t.verify_delay_us);
}
