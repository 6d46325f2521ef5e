#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "probe.h"
#include "svc.h"

const char *
svc_state_str(enum svc_state s)
{
	switch (s) {
	case SVC_INIT:
		return "init";
	case SVC_UP:
		return "up";
	case SVC_DEGRADED:
		return "degraded";
	case SVC_DOWN:
		return "down";
	case SVC_DRAINED:
		return "drained";
	}
	return "?";
}

const char *
probe_health_str(enum probe_health h)
{
	return h == PH_UP ? "up" : h == PH_DOWN ? "down" : "init";
}

bool
svc_state_healthy(enum nagios_state s, int on_warning)
{
	if (s == NAGIOS_OK)
		return true;
	if (s == NAGIOS_WARNING)
		return on_warning != ONW_WITHDRAW;
	return false;
}

/*
 * One result into a pair of streaks: good counts up to rise, bad up to fall,
 * and each resets the other. CRITICAL and WARNING are debounced alike.
 */
static void
streak_feed(unsigned *good, unsigned *bad, bool ok, unsigned rise, unsigned fall)
{
	if (ok) {
		*bad = 0;
		if (*good < rise)
			(*good)++;
	} else {
		*good = 0;
		if (*bad < fall)
			(*bad)++;
	}
}

enum probe_health
svc_debounce(struct debounce *d, bool healthy, unsigned rise, unsigned fall)
{
	streak_feed(&d->ok_streak, &d->fail_streak, healthy, rise, fall);
	if (healthy && d->ok_streak >= rise)
		d->health = PH_UP;
	else if (!healthy && d->fail_streak >= fall)
		d->health = PH_DOWN;
	return d->health;
}

bool
svc_debounce_warning(struct debounce *d, bool clean, bool rose, unsigned rise,
    unsigned fall)
{
	streak_feed(&d->clean_streak, &d->warn_streak, clean, rise, fall);
	if (rose)
		d->warned = d->clean_streak < rise;
	else if (d->clean_streak >= rise)
		d->warned = false;
	else if (d->warn_streak >= fall)
		d->warned = true;
	return d->warned;
}

enum probe_health
svc_debounce_result(struct debounce *d, enum probe_result r, bool healthy,
    unsigned rise, unsigned fall)
{
	if (r == PROBE_GONE)
		return svc_debounce(d, false, rise, 1);
	return svc_debounce(d, healthy, rise, fall);
}

enum svc_state
svc_decide(enum svc_state cur, size_t n_up, size_t n_init, unsigned require)
{
	if (cur == SVC_DRAINED)
		return SVC_DRAINED;
	if (n_up >= require)
		return SVC_UP;
	/* Not yet decided while probes still rising could satisfy require. */
	if (cur == SVC_INIT && n_up + n_init >= require)
		return SVC_INIT;
	return SVC_DOWN;
}

enum svc_state
svc_degrade(enum svc_state decided, bool any_warning, int on_warning)
{
	if (decided == SVC_UP && any_warning && on_warning == ONW_DEGRADE)
		return SVC_DEGRADED;
	return decided;
}

uint64_t
svc_hold_next(uint64_t prev_hold_us, uint64_t base_us, uint64_t since_prev_us)
{
	if (base_us == 0)
		return 0;
	if (prev_hold_us == 0 || since_prev_us >= 10 * base_us)
		return base_us;
	return prev_hold_us * 2 > 8 * base_us ? 8 * base_us : prev_hold_us * 2;
}

bool
svc_wants_announce(const struct svc *s)
{
	if (s->state == SVC_DRAINED)
		return s->drain_announcing;
	return s->state == SVC_UP || s->state == SVC_DEGRADED;
}

bool
svc_withdrawn_unplanned(const struct svc *s)
{
	return s->state == SVC_DOWN || (s->state == SVC_DRAINED && s->drain_died);
}

bool
svc_is_degraded(const struct svc *s)
{
	return s->state == SVC_DEGRADED || (s->state == SVC_INIT && s->adopt &&
	    s->adopt_degraded);
}

enum svc_mode
svc_mode(const struct svc *s)
{
	if (s->state == SVC_DRAINED)
		return SVC_MODE_GSHUT;
	return svc_is_degraded(s) ? SVC_MODE_DEGRADED : SVC_MODE_PLAIN;
}

bool
svc_holds_announce(const struct svc *s)
{
	return svc_wants_announce(s) || s->adopt;
}

/* "tcp#0 CRITICAL (connection to 127.0.0.1:53 refused), tcp#1 OK (...)" */
static void
describe_probes(const struct svc *s, char *buf, size_t len)
{
	size_t	off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->cfg->nprobes && off < len; i++) {
		const struct probe *p = s->probes[i];
		off += (size_t)snprintf(buf + off, len - off, "%s%s %s/%s (%s)",
		    i ? ", " : "", p->cfg->name, nagios_state_str(p->state),
		    probe_health_str(s->db[i].health), p->msg);
	}
}

/*
 * A fall starts a hold on coming back, up -> degraded one on leaving
 * degraded: longer when the previous one was recent (flapping). at_us and
 * hold_us are the pair for that kind (fell_us/hold_us, degr_us/degr_hold_us);
 * what and held name it in the log.
 */
static void
svc_hold_start(struct svc *s, uint64_t *at_us, uint64_t *hold_us, const char *what,
    const char *held)
{
	uint64_t	now = now_us(), base = s->cfg->hold_down_us;
	char		d[32];

	*hold_us = svc_hold_next(*hold_us, base, *at_us != 0 ? now - *at_us : UINT64_MAX);
	*at_us = now;
	s->hold_logged = false;
	if (*hold_us > base)
		log_msg(LOG_LVL_WARNING, s->cfg->name, "hold", "%s again within "
		    "10 x hold_down: %s for at least %s", what, held,
		    cfg_duration_fmt(*hold_us, d, sizeof(d)));
}

static void
svc_fell(struct svc *s)
{
	svc_hold_start(s, &s->fell_us, &s->hold_us, "fell", "withdrawn");
}

static void
svc_degraded_start(struct svc *s)
{
	svc_hold_start(s, &s->degr_us, &s->degr_hold_us, "degraded", "degraded");
}

static void
svc_transition(struct svc *s, enum svc_state to, const char *cause)
{
	char	why[1536];

	if (cause == NULL)
		describe_probes(s, why, sizeof(why));
	/* Degraded is good news when coming from down or init. */
	log_msg(to == SVC_UP || (to == SVC_DEGRADED && s->state != SVC_UP) ?
	    LOG_LVL_INFO : LOG_LVL_WARNING, s->cfg->name,
	    "state", "%s -> %s: %s", svc_state_str(s->state), svc_state_str(to),
	    cause != NULL ? cause : why);
	if (to == SVC_DOWN && (s->state == SVC_UP || s->state == SVC_DEGRADED))
		svc_fell(s);
	if (to == SVC_DEGRADED && s->state == SVC_UP)
		svc_degraded_start(s);
	s->state = to;
	s->since_us = realtime_us();
	s->transitions++;
	s->changed_cb(s, s->changed_arg);
}

/*
 * The state the probes' health implies, starting from cur: the one decision.
 * Degraded follows the debounced warned flag of the probes that are up, not
 * their last raw result, so a latency hovering around `warning` does not
 * flip the route-map every round.
 */
static enum svc_state
svc_evaluate(const struct svc *s, enum svc_state cur)
{
	size_t	n_up = 0, n_init = 0;
	bool	any_warning = false;

	for (size_t i = 0; i < s->cfg->nprobes; i++) {
		if (s->db[i].health == PH_UP) {
			n_up++;
			any_warning = any_warning || s->db[i].warned;
		} else if (s->db[i].health == PH_INIT)
			n_init++;
	}
	return svc_degrade(svc_decide(cur, n_up, n_init, s->cfg->require),
	    any_warning, s->cfg->on_warning);
}

static enum svc_state	svc_hold(struct svc *s, enum svc_state to);

static int
svc_hold_cb(sd_event_source *src UNUSED, uint64_t usec UNUSED, void *arg)
{
	struct svc	*s = arg;
	enum svc_state	 to = svc_hold(s, svc_evaluate(s, s->state));

	if (to != s->state) {
		s->cause_us = now_us();
		svc_transition(s, to, s->state == SVC_DEGRADED ? "hold_down over; no "
		    "probe warns any more" : "hold_down or flap damping over; the probes "
		    "say it is healthy");
	}
	return 0;
}

/*
 * hold_down: a service that fell stays down until its hold ends, and one
 * that went up -> degraded stays degraded until its own hold ends; the
 * timer re-decides then, since no probe may report at that moment.
 */
static enum svc_state
svc_hold(struct svc *s, enum svc_state to)
{
	uint64_t	until = 0, reuse = 0, now = now_us();
	enum svc_state	held = SVC_DOWN;
	char		left[32];
	int		r;

	/*
	 * Drained counts too: an undrain must not cut a running hold short;
	 * and init, for a service restarted by a reload during its hold.
	 * A flap-damping suppression holds the same way, until reuse.
	 */
	if ((s->state == SVC_DOWN || s->state == SVC_DRAINED || s->state == SVC_INIT) &&
	    (to == SVC_UP || to == SVC_DEGRADED)) {
		if (s->hold_us != 0)
			until = s->fell_us + s->hold_us;
		if (damp_update(&s->damp, &s->cfg->damping, now))
			reuse = damp_reuse_at(&s->damp, &s->cfg->damping);
		if (reuse > until)
			until = reuse;
	} else if (s->state == SVC_DEGRADED && to == SVC_UP && s->degr_hold_us != 0) {
		until = s->degr_us + s->degr_hold_us;
		held = SVC_DEGRADED;
	}
	if (now >= until)
		return to;
	if (s->hold_timer == NULL)
		r = sd_event_add_time(s->ev, &s->hold_timer, CLOCK_MONOTONIC, until, 1000,
		    svc_hold_cb, s);
	else if ((r = sd_event_source_set_time(s->hold_timer, until)) >= 0)
		r = sd_event_source_set_enabled(s->hold_timer, SD_EVENT_ONESHOT);
	if (r < 0) {
		log_err("%s: hold_down timer: %s; not holding", s->cfg->name, strerror(-r));
		return to;
	}
	if (!s->hold_logged) {
		s->hold_logged = true;
		if (reuse != 0 && reuse == until)
			log_msg(LOG_LVL_INFO, s->cfg->name, "damp", "healthy again, but "
			    "suppressed for another %s (flap damping: penalty %.0f, reuse "
			    "below %u)", cfg_duration_fmt(until - now, left, sizeof(left)),
			    damp_penalty(&s->damp, &s->cfg->damping, now),
			    s->cfg->damping.reuse);
		else
			log_msg(LOG_LVL_INFO, s->cfg->name, "hold", "%s, but held %s for "
			    "another %s (hold_down)", held == SVC_DOWN ? "healthy again" :
			    "no probe warns", svc_state_str(held), cfg_duration_fmt(until -
			    now, left, sizeof(left)));
	}
	return held;
}

/*
 * Flap damping counts every fall the probes show, also while the service is
 * held down or suppressed: a service that keeps flapping stays suppressed.
 */
static void
svc_damp_track(struct svc *s)
{
	enum svc_state	raw = svc_evaluate(s, s->state == SVC_INIT ? SVC_INIT : SVC_DOWN);
	bool		up = raw == SVC_UP || raw == SVC_DEGRADED;
	uint64_t	now = now_us();
	char		d[32];

	if (s->raw_up && !up && damp_fall(&s->damp, &s->cfg->damping, now))
		log_msg(LOG_LVL_WARNING, s->cfg->name, "damp", "flapping (penalty %.0f "
		    "above %u): withdrawn for at least %s, until the penalty decays "
		    "below %u", s->damp.penalty, s->cfg->damping.suppress,
		    cfg_duration_fmt(damp_reuse_at(&s->damp, &s->cfg->damping) - now,
		    d, sizeof(d)), s->cfg->damping.reuse);
	s->raw_up = up;
}

static void
svc_probe_done(struct probe *p, void *arg)
{
	struct svc	*s = arg;
	size_t		 i;
	unsigned	 rise = s->cfg->rise, fall = s->cfg->fall;
	enum svc_state	 to;
	enum probe_health prev, h;
	bool		 healthy, adopting, was_announced;

	for (i = 0; i < s->cfg->nprobes; i++)
		if (s->probes[i] == p)
			break;
	if (i == s->cfg->nprobes)
		return;
	prev = s->db[i].health;
	/*
	 * Adoption: the first result of each probe decides up or down on its
	 * own; degraded or not keeps what was inherited until rise/fall say
	 * otherwise.
	 */
	adopting = s->adopt && prev == PH_INIT;
	if (adopting)
		rise = fall = 1;
	healthy = svc_state_healthy(p->state, s->cfg->on_warning);
	h = svc_debounce_result(&s->db[i], p->result, healthy, rise, fall);
	svc_debounce_warning(&s->db[i], p->state == NAGIOS_OK,
	    prev != PH_UP && h == PH_UP && !adopting, s->cfg->rise, s->cfg->fall);
	log_msg(LOG_LVL_DEBUG, s->cfg->name, "probe", "%s: %s in %.1f ms: %s",
	    p->cfg->name, nagios_state_str(p->state), p->latency_us / 1000.0, p->msg);

	svc_damp_track(s);
	/*
	 * An adopted service is announced (by a previous run or before a
	 * reload): leaving init down is a fall, and degraded from plain a
	 * degradation, with their holds; or a reload would bypass hold_down.
	 */
	was_announced = s->state == SVC_INIT && s->adopt;
	if (s->state == SVC_DRAINED && s->drain_announcing) {
		/*
		 * The grace announces a service that is there: one the
		 * probes find down (fall results, as if not drained) is
		 * withdrawn now, as after a fall.
		 */
		if (svc_evaluate(s, SVC_INIT) == SVC_DOWN) {
			s->drain_announcing = false;
			s->drain_died = true;
			sd_event_source_set_enabled(s->drain_timer, SD_EVENT_OFF);
			s->cause_us = p->started_us;
			log_msg(LOG_LVL_WARNING, s->cfg->name, "drain", "down during the drain "
			    "grace: withdrawing now");
			s->changed_cb(s, s->changed_arg);
		}
		return;
	}
	to = svc_hold(s, svc_evaluate(s, s->state));
	if (to != SVC_INIT) {
		if (was_announced && to == SVC_DOWN)
			svc_fell(s);
		else if (was_announced && to == SVC_DEGRADED && !s->adopt_degraded)
			svc_degraded_start(s);
		s->adopt = s->adopt_degraded = false;
	}
	if (to != s->state) {
		s->cause_us = p->started_us;
		svc_transition(s, to, NULL);
	}
}

struct svc *
svc_new(sd_event *ev, const struct cfg_service *cfg, svc_changed_cb cb, void *arg)
{
	struct svc	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = cfg;
	s->ev = sd_event_ref(ev);
	s->state = SVC_INIT;
	s->since_us = realtime_us();
	s->changed_cb = cb;
	s->changed_arg = arg;
	s->probes = calloc(cfg->nprobes, sizeof(*s->probes));
	s->db = calloc(cfg->nprobes, sizeof(*s->db));
	if (s->probes == NULL || s->db == NULL)
		goto fail;
	for (size_t i = 0; i < cfg->nprobes; i++)
		if ((s->probes[i] = probe_new(ev, &cfg->probes[i], svc_probe_done, s)) == NULL)
			goto fail;
	return s;
fail:
	svc_free(s);
	return NULL;
}

void
svc_free(struct svc *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; s->probes != NULL && i < s->cfg->nprobes; i++)
		probe_free(s->probes[i]);
	free(s->probes);
	free(s->db);
	sd_event_source_disable_unref(s->drain_timer);
	sd_event_source_disable_unref(s->hold_timer);
	sd_event_unref(s->ev);
	free(s);
}

int
svc_start(struct svc *s)
{
	int	r;

	for (size_t i = 0; i < s->cfg->nprobes; i++)
		if ((r = probe_schedule(s->probes[i])) < 0)
			return r;
	return 0;
}

static int
svc_grace_cb(sd_event_source *src UNUSED, uint64_t usec UNUSED, void *arg)
{
	struct svc	*s = arg;

	s->drain_announcing = false;
	log_msg(LOG_LVL_INFO, s->cfg->name, "drain", "drain grace over: withdrawing");
	s->changed_cb(s, s->changed_arg);
	return 0;
}

/* svc_drain(), with who asked in the log line. */
static int
svc_drain_by(struct svc *s, uint64_t grace_us, const char *by)
{
	char	why[160], g[32];
	int	r = 0;

	if (s->state == SVC_DRAINED)
		return 0;
	s->drain_died = false;
	/* A service being adopted is announced too: it gets its grace period. */
	s->drain_announcing = grace_us > 0 && (svc_wants_announce(s) || s->adopt);
	s->adopt = s->adopt_degraded = false;
	if (s->drain_announcing) {
		if (s->drain_timer == NULL)
			r = sd_event_add_time_relative(s->ev, &s->drain_timer,
			    CLOCK_MONOTONIC, grace_us, 1000, svc_grace_cb, s);
		else if ((r = sd_event_source_set_time_relative(s->drain_timer,
		    grace_us)) >= 0)
			r = sd_event_source_set_enabled(s->drain_timer, SD_EVENT_ONESHOT);
		if (r < 0)
			s->drain_announcing = false;
	}
	if (s->drain_announcing)
		snprintf(why, sizeof(why), "%s; still announced for the grace period of "
		    "%s", by, cfg_duration_fmt(grace_us, g, sizeof(g)));
	else
		snprintf(why, sizeof(why), "%s", by);
	svc_transition(s, SVC_DRAINED, why);
	return r < 0 ? r : 0;
}

int
svc_drain(struct svc *s, uint64_t grace_us)
{
	return svc_drain_by(s, grace_us, "drained by the operator");
}

void
svc_undrain(struct svc *s)
{
	if (s->state != SVC_DRAINED)
		return;
	s->drain_announcing = s->drain_died = false;
	if (s->drain_timer != NULL)
		sd_event_source_set_enabled(s->drain_timer, SD_EVENT_OFF);
	svc_transition(s, svc_hold(s, svc_evaluate(s, SVC_INIT)),
	    "undrained by the operator");
}

int
svc_inherit(struct svc *s, const struct svc *old)
{
	uint64_t	until, grace = 0, now = now_us(), cap;

	/*
	 * A hold is never longer than 8 x hold_down (svc_hold_next()): one
	 * started under a longer hold_down is cut to that, and hold_down 0
	 * ends it, or an operator who lowered it would wait out the old one.
	 */
	cap = 8 * s->cfg->hold_down_us;
	s->fell_us = old->fell_us;
	s->hold_us = old->hold_us < cap ? old->hold_us : cap;
	/* A new setting must not wipe out a flapping service's penalty. */
	s->damp = old->damp;
	s->degr_us = old->degr_us;
	s->degr_hold_us = old->degr_hold_us < cap ? old->degr_hold_us : cap;
	if (old->state == SVC_DRAINED) {
		if (old->drain_announcing && old->drain_timer != NULL &&
		    sd_event_source_get_time(old->drain_timer, &until) >= 0 && until > now)
			grace = until - now;
		/* Still announced: svc_drain() gives it what is left of its grace. */
		s->adopt = grace > 0;
		return svc_drain_by(s, grace, "still drained after a reload");
	}
	if (svc_wants_announce(old) || old->adopt)
		svc_adopt(s, svc_is_degraded(old));
	return 0;
}

void
svc_adopt(struct svc *s, bool degraded)
{
	s->adopt = true;
	s->adopt_degraded = degraded;
	for (size_t i = 0; i < s->cfg->nprobes; i++)
		s->db[i].warned = degraded;
}
