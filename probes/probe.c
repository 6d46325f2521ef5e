#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "compiler.h"
#include "cfg.h"
#include "clock.h"
#include "log.h"
#include "plugin.h"
#include "probe.h"


static const char *const result_names[PROBE_RESULT_MAX] = {
	[PROBE_OK] = "ok",
	[PROBE_CONN_REFUSED] = "connection refused",
	[PROBE_CONN_FAILED] = "connection failed",
	[PROBE_TIMEOUT] = "timeout",
	[PROBE_SEND_FAILED] = "send failed",
	[PROBE_RECV_FAILED] = "receive failed",
	[PROBE_CLOSED] = "closed by peer",
	[PROBE_EXPECT_MISMATCH] = "unexpected answer",
	[PROBE_INTERNAL] = "internal error",
	[PROBE_HTTP_STATUS] = "unexpected HTTP status",
	[PROBE_HTTP_FAILED] = "HTTP transfer failed",
	[PROBE_TLS_FAILED] = "TLS failed",
	[PROBE_CERT_EXPIRING] = "certificate expiring",
	[PROBE_CERT_EXPIRED] = "certificate expired",
	[PROBE_DNS_RCODE] = "unexpected DNS rcode",
	[PROBE_DNS_ANSWER] = "unexpected DNS answer",
	[PROBE_DNS_NOT_AA] = "DNS answer not authoritative",
	[PROBE_DNS_MALFORMED] = "malformed DNS reply",
	[PROBE_EXEC_WARNING] = "plugin WARNING",
	[PROBE_EXEC_CRITICAL] = "plugin CRITICAL",
	[PROBE_EXEC_UNKNOWN] = "plugin UNKNOWN",
	[PROBE_EXEC_BAD_EXIT] = "plugin exit code not 0-3",
	[PROBE_EXEC_SIGNALED] = "plugin killed by a signal",
	[PROBE_EXEC_FAILED] = "plugin could not be started",
	[PROBE_GONE] = "process gone",
	[PROBE_BAD_PIDFILE] = "bad pidfile",
	[PROBE_NOT_LISTENING] = "not listening",
};

/* From a 20 ms listen probe to a slow plugin (timeouts up to 30 s); Prometheus' usual spacing. */
const uint64_t probe_lat_bounds_us[PROBE_LAT_BUCKETS] = {
	500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000, 30000000,
};

const char *
probe_result_str(enum probe_result r)
{
	if (r >= PROBE_RESULT_MAX)
		return "?";
	return result_names[r];
}

const char *
nagios_state_str(enum nagios_state s)
{
	switch (s) {
	case NAGIOS_OK:
		return "OK";
	case NAGIOS_WARNING:
		return "WARNING";
	case NAGIOS_CRITICAL:
		return "CRITICAL";
	case NAGIOS_UNKNOWN:
		break;
	}
	return "UNKNOWN";
}

enum nagios_state
probe_nagios(enum probe_result r, uint64_t latency_us, const struct cfg_probe *cfg)
{
	enum nagios_state	base;

	switch (r) {
	case PROBE_OK:
		base = NAGIOS_OK;
		break;
	case PROBE_CERT_EXPIRING:
		/* The service answers correctly: a warning, unless it is also too slow. */
	case PROBE_EXEC_WARNING:
		/* A plugin's WARNING still gets worse when it is also too slow. */
		base = NAGIOS_WARNING;
		break;
	case PROBE_INTERNAL:
	case PROBE_EXEC_UNKNOWN:
	case PROBE_EXEC_BAD_EXIT:
	case PROBE_EXEC_SIGNALED:
	case PROBE_EXEC_FAILED:
	case PROBE_RESULT_MAX:
		return NAGIOS_UNKNOWN;
	default:
		return NAGIOS_CRITICAL;
	}
	if (cfg->critical_us != 0 && latency_us > cfg->critical_us)
		return NAGIOS_CRITICAL;
	if (cfg->warning_us != 0 && latency_us > cfg->warning_us)
		return NAGIOS_WARNING;
	return base;
}

/*
 * A uniformly random offset in [-span, +span]. xorshift64*, seeded once:
 * a system call per attempt would be a good part of a 20 ms listen probe's
 * cost, and spreading probes needs no cryptographic quality.
 */
static int64_t
jitter(uint64_t span)
{
	static uint64_t	x;

	if (span == 0)
		return 0;
	if (x == 0 && getrandom(&x, sizeof(x), GRND_NONBLOCK) != sizeof(x))
		x = now_us();
	x |= x == 0;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	return (int64_t)((x * 0x2545F4914F6CDD1DULL >> 32) % (2 * span + 1)) -
	    (int64_t)span;
}

/*
 * How late the loop may run an attempt: 2 % of the interval, at most 1 ms,
 * so that the loop wakes once for several probes due at about the same
 * time (a 20 ms probe may start 0.4 ms late) instead of once per probe.
 */
static uint64_t
accuracy(const struct cfg_probe *cfg)
{
	uint64_t	a = cfg->interval_us / 50;

	return a > 1000 ? 1000 : a < 1 ? 1 : a;
}

/*
 * Where a periodic attempt's start may fall: multiples of interval / 250
 * (4 ms for 1 s, 80 us for 20 ms; at most 4 ms), so that probes of one
 * interval due at about the same time share one wake-up of the loop (with
 * a thousand probes a second, a quarter of the wake-ups). The jitter is
 * random anyway; rounding it up to the grid changes an interval by at
 * most 0.4 %, and lateness is measured against the rounded time.
 */
static uint64_t
grid(const struct cfg_probe *cfg)
{
	uint64_t	g = cfg->interval_us / 250;

	return g > 4000 ? 4000 : g;
}

static uint64_t
on_grid(uint64_t t, const struct cfg_probe *cfg)
{
	uint64_t	g = grid(cfg);

	return g > 1 && t < UINT64_MAX - g ? (t + g - 1) / g * g : t;
}

/*
 * Shared wake-ups. At a few checks a second, each wake-up of an otherwise
 * idle process costs more than the check itself (cold caches: a 10/s HTTP
 * check cost ~300 us of CPU against ~80 us at 1000/s). So the next attempt
 * prefers a grid slot of its jitter window where other attempts are already
 * due, while that slot holds fewer than PROBE_SLOT_MAX: the loop wakes once
 * for them all, every interval stays within its +- jitter, and a slot's
 * burst stays short (12 checks of ~90 us: about a millisecond). Otherwise
 * the slot is random as before. The table counts, per slot time, the
 * periodic timers armed there (open addressing, linear probing, deletion
 * by backward shift); a timer leaves its slot when it fires, is re-armed
 * elsewhere, or its probe is freed.
 */
#define SLOT_SCAN	64	/* slots of a window looked at, at most: O(1) per attempt */

struct slot {
	uint64_t	t;	/* 0: empty */
	uint64_t	n;
};
static struct slot	*slots;
static size_t		 slots_cap, slots_used;	/* cap: a power of two */

static size_t
slot_home(uint64_t t, size_t cap)
{
	return (size_t)((t * 0x9E3779B97F4A7C15ULL) >> 32) & (cap - 1);
}

static size_t
slot_find(const struct slot *tab, size_t cap, uint64_t t)
{
	size_t	i = slot_home(t, cap);

	while (tab[i].t != 0 && tab[i].t != t)
		i = (i + 1) & (cap - 1);
	return i;
}

uint64_t
probe_slot_count(uint64_t t)
{
	size_t	i;

	if (slots_cap == 0 || t == 0)
		return 0;
	i = slot_find(slots, slots_cap, t);
	return slots[i].t == t ? slots[i].n : 0;
}

/* Counts one more timer at t; -1 out of memory (the slot is then not shared, no harm). */
static int
slot_take(uint64_t t)
{
	struct slot	*tab;
	size_t		 cap, i;

	if (t == 0)
		return -1;
	if ((slots_used + 1) * 2 > slots_cap) {
		cap = slots_cap == 0 ? 64 : slots_cap * 2;
		if ((tab = calloc(cap, sizeof(*tab))) == NULL)
			return -1;
		for (i = 0; i < slots_cap; i++)
			if (slots[i].t != 0)
				tab[slot_find(tab, cap, slots[i].t)] = slots[i];
		free(slots);
		slots = tab;
		slots_cap = cap;
	}
	i = slot_find(slots, slots_cap, t);
	if (slots[i].t == 0) {
		slots[i].t = t;
		slots[i].n = 0;	/* an emptied entry keeps its old count */
		slots_used++;
	}
	slots[i].n++;
	return 0;
}

/* Counts one timer less at t; an empty slot leaves the table (Knuth's algorithm R). */
static void
slot_put(uint64_t t)
{
	size_t	i, j, h;

	if (slots_cap == 0 || t == 0)
		return;
	i = slot_find(slots, slots_cap, t);
	if (slots[i].t != t || --slots[i].n > 0)
		return;
	slots_used--;
	for (j = i;;) {
		slots[i].t = 0;
		do {
			j = (j + 1) & (slots_cap - 1);
			if (slots[j].t == 0)
				return;
			h = slot_home(slots[j].t, slots_cap);
		} while (i <= j ? i < h && h <= j : i < h || h <= j);
		slots[i] = slots[j];
		i = j;
	}
}

/*
 * The start of a periodic attempt within [lo, hi]: the grid slot nearest
 * to pick (the random choice, on the grid), either side, that already
 * holds 1 to PROBE_SLOT_MAX - 1 attempts; pick if none. Nearest, either
 * side: later slots have had fewer takers yet, so the first one found
 * looking only forwards, or the least loaded one, lengthens intervals
 * (with 10,000 probes, the least loaded made them 9 % longer on average).
 */
static uint64_t
slot_choose(uint64_t lo, uint64_t hi, uint64_t pick, const struct cfg_probe *cfg)
{
	uint64_t	g = grid(cfg), first = on_grid(lo, cfg), n, k0, k, c, looked = 0;
	int64_t		dir;

	/* On the grid, rounded up, a random pick may pass the window's end by < g. */
	if (g > 1 && pick > hi && pick - g >= first)
		pick -= g;
	if (g <= 1 || slots_used == 0 || hi < first || pick < first)
		return pick;
	n = (hi - first) / g + 1;
	k0 = (pick - first) / g;
	dir = (pick / g) & 1 ? 1 : -1;	/* which side first: pick is random */
	for (uint64_t i = 0; i < 2 * n && looked < SLOT_SCAN; i++) {
		/* k0, k0 + dir, k0 - dir, k0 + 2 dir, ...: outside [0, n) skipped */
		k = k0 + (uint64_t)((i % 2 ? dir : -dir) * (int64_t)((i + 1) / 2));
		if (k >= n)
			continue;
		looked++;
		if ((c = probe_slot_count(first + k * g)) > 0 && c < PROBE_SLOT_MAX)
			return first + k * g;
	}
	return pick;
}

static void
slot_release(struct probe *p)
{
	slot_put(p->slot_us);
	p->slot_us = 0;
}

const uint64_t probe_lateness_le_us[PROBE_LATENESS_BUCKETS - 1] = {
	100, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000
};
static struct probe_lateness	lateness;
static size_t			nprobes;	/* alive: spreads first attempts */

const struct probe_lateness *
probe_lateness(void)
{
	return &lateness;
}

static void
lateness_add(uint64_t us)
{
	size_t	i = 0;

	while (i < PROBE_LATENESS_BUCKETS - 1 && us > probe_lateness_le_us[i])
		i++;
	lateness.count[i]++;
	lateness.n++;
	lateness.sum_us += us;
	if (us > lateness.max_us)
		lateness.max_us = us;
}

static int	probe_timer_cb(sd_event_source *s, uint64_t usec, void *arg);
static int	probe_deadline_cb(sd_event_source *s, uint64_t usec, void *arg);

/*
 * A point in time plus a signed offset, saturating: no timer can wrap into
 * the past or onto sd-event's "never" (UINT64_MAX). Durations are bounded
 * (CFG_MAX_DURATION_US), so this only matters against broken input.
 */
static uint64_t
usec_add(uint64_t t, int64_t d)
{
	uint64_t	m = d < 0 ? (uint64_t)-(d + 1) + 1 : (uint64_t)d;

	if (d < 0)
		return t > m ? t - m : 0;
	return t < UINT64_MAX - 1 - m ? t + m : UINT64_MAX - 1;
}

static int
arm(sd_event *ev, sd_event_source **src, uint64_t when, uint64_t acc,
    sd_event_time_handler_t cb, void *arg)
{
	int	r;

	if (*src != NULL) {
		if ((r = sd_event_source_set_time(*src, when)) < 0)
			return r;
		return sd_event_source_set_enabled(*src, SD_EVENT_ONESHOT);
	}
	/* An explicit accuracy: sd-event's default (250 ms) would swallow a 20 ms probe. */
	return sd_event_add_time(ev, src, CLOCK_MONOTONIC, when, acc, cb, arg);
}

/* Arms the periodic timer at when, a slot chosen by slot_choose() (its old one released). */
static int
arm_periodic(struct probe *p, uint64_t when)
{
	int	r;

	r = arm(p->ev, &p->timer, when, accuracy(p->cfg), probe_timer_cb, p);
	if (r >= 0 && slot_take(when) == 0)
		p->slot_us = when;
	return r;
}

struct probe *
probe_new(sd_event *ev, const struct cfg_probe *cfg, probe_done_cb cb, void *arg)
{
	struct probe	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	nprobes++;
	p->cfg = cfg;
	p->ev = sd_event_ref(ev);
	p->done_cb = cb;
	p->done_arg = arg;
	p->state = NAGIOS_UNKNOWN;
	p->perfdata = p->perf_note = (char *)"";
	snprintf(p->msg, sizeof(p->msg), "not run yet");
	return p;
}

void
probe_free(struct probe *p)
{
	if (p == NULL)
		return;
	if (p->running)
		probe_type_of(p->cfg)->abort(p);
	if (p->opened && probe_type_of(p->cfg)->close != NULL)
		probe_type_of(p->cfg)->close(p);
	sd_event_source_disable_unref(p->timer);
	slot_release(p);
	sd_event_source_disable_unref(p->deadline);
	sd_event_unref(p->ev);
	if (p->perfdata[0] != '\0')
		free(p->perfdata);
	if (p->perf_note[0] != '\0')
		free(p->perf_note);
	free(p);
	nprobes--;
}

static void
probe_begin(struct probe *p)
{
	char		err[200];
	uint64_t	runs;
	int		r;

	p->running = true;
	p->started_us = now_us();
	if (!p->opened && probe_type_of(p->cfg)->open != NULL) {
		if (probe_type_of(p->cfg)->open(p, err, sizeof(err)) == -1) {
			probe_done(p, PROBE_INTERNAL, 0, NULL, "%s", err);
			return;
		}
	}
	p->opened = true;
	runs = p->runs;
	probe_type_of(p->cfg)->start(p);
	/*
	 * Most attempts against a local service end inside start() (a connect
	 * on loopback completes at once): the hard timeout is armed only for
	 * an attempt still in flight, from when it began.
	 */
	if (!p->running || p->runs != runs)
		return;
	r = arm(p->ev, &p->deadline, usec_add(p->started_us, (int64_t)p->cfg->timeout_us), 1,
	    probe_deadline_cb, p);
	if (r < 0)
		probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL, "cannot arm timeout: %s",
		    strerror(-r));
}

void
probe_run_once(struct probe *p)
{
	if (!p->running)
		probe_begin(p);
}

int
probe_schedule(struct probe *p)
{
	uint64_t	span = p->cfg->interval_us * p->cfg->jitter_pct / 100, first, now;

	p->periodic = true;
	/*
	 * Spread the first attempts so that probes never start in lock-step:
	 * over one jitter span, or with many probes over up to the whole
	 * interval (all of it from 1000 probes on). Ten thousand first
	 * attempts within one jitter span would overrun the loop, and the
	 * schedule, which keeps its cadence, would stay bunched for many
	 * intervals.
	 */
	first = p->cfg->interval_us / 1000 * (nprobes < 1000 ? nprobes : 1000);
	if (first < span)
		first = span;
	now = now_us();
	slot_release(p);
	return arm_periodic(p, slot_choose(now, usec_add(now, (int64_t)first),
	    on_grid(usec_add(now, jitter(first / 2) + (int64_t)(first / 2)), p->cfg), p->cfg));
}

static int
probe_timer_cb(sd_event_source *s UNUSED, uint64_t usec, void *arg)
{
	struct probe	*p = arg;
	uint64_t	 now = now_us();

	/* This wake-up is the slot's: it holds no future attempt any more. */
	slot_release(p);
	/* Never two attempts of one probe at once (probe_schedule() called twice). */
	if (p->running)
		return 0;

	/* usec is when the timer was due: the difference is loop latency. */
	p->due_us = usec;
	p->late_us = now > usec ? now - usec : 0;
	if (p->late_us > p->late_max_us)
		p->late_max_us = p->late_us;
	lateness_add(p->late_us);
	probe_begin(p);
	return 0;
}

static int
probe_deadline_cb(sd_event_source *s, uint64_t usec, void *arg)
{
	struct probe	*p = arg;
	char		 buf[32];

	/* Carrying the next attempt: the periodic timer could not be armed. */
	if (!p->running && p->rearm_fallback) {
		p->rearm_fallback = false;
		return probe_timer_cb(s, usec, arg);
	}
	if (!p->running)
		return 0;
	probe_done(p, PROBE_TIMEOUT, PROBE_DONE_ABORT, NULL, "no answer within %s",
	    cfg_duration_fmt(p->cfg->timeout_us, buf, sizeof(buf)));
	return 0;
}

/*
 * The process is out of descriptors (EMFILE, ENFILE) and the attempt could
 * not open its socket, pipe or pidfd: the service was not probed, so this
 * is no result (an UNKNOWN would withdraw a healthy service). The attempt
 * runs again shortly, once probes in flight have let theirs go. One that
 * still cannot run an interval after it was due is reported as it is: a
 * probe cannot stay silent for ever. Logged at most every 10 s.
 */
static bool
probe_starved(struct probe *p, enum probe_result r, int err)
{
	static uint64_t	logged_us;
	static unsigned	postponed;
	uint64_t	now = now_us(), retry;

	if (r != PROBE_INTERNAL || (err != EMFILE && err != ENFILE) || !p->periodic)
		return false;
	if (p->starved_us == 0)
		p->starved_us = p->started_us;
	if (now - p->starved_us >= p->cfg->interval_us)
		return false;
	p->starved++;
	postponed++;
	if (logged_us == 0 || now - logged_us >= 10000000) {
		log_warn("out of file descriptors (%s): %u probe attempt(s) postponed, "
		    "retried shortly; raise LimitNOFILE= (ulimit -n)", strerror(err),
		    postponed);
		logged_us = now;
		postponed = 0;
	}
	p->running = false;
	sd_event_source_set_enabled(p->deadline, SD_EVENT_OFF);
	/* A tenth of the interval, 1 to 100 ms, spread so that they do not retry together. */
	retry = p->cfg->interval_us / 10;
	retry = retry > 100000 ? 100000 : retry < 1000 ? 1000 : retry;
	retry += (uint64_t)jitter(retry / 2);
	slot_release(p);	/* off the grid: a retry shares no wake-up */
	if (arm(p->ev, &p->timer, now + retry, accuracy(p->cfg), probe_timer_cb, p) < 0) {
		log_err("probe %s: cannot schedule the next attempt", p->cfg->name);
		return false;
	}
	return true;
}

unsigned	probe_test_arm_failures;

/*
 * Sets the performance data from what an attempt reported (NULL: none):
 * validated and whole items only, and on the heap only when not empty.
 */
static void
perf_set(struct probe *p, const char *perfdata)
{
	char	perf[8192], note[256];

	if (p->perfdata[0] != '\0')
		free(p->perfdata);
	if (p->perf_note[0] != '\0')
		free(p->perf_note);
	p->perfdata = p->perf_note = (char *)"";
	if (perfdata == NULL)
		return;
	perf[0] = note[0] = '\0';
	plugin_perf_parse(perfdata, perf, sizeof(perf), note, sizeof(note));
	if (perf[0] != '\0' && (p->perfdata = strdup(perf)) == NULL)
		p->perfdata = (char *)"";
	if (note[0] != '\0' && (p->perf_note = strdup(note)) == NULL)
		p->perf_note = (char *)"";
}

/*
 * Arms the next periodic attempt. If the timer cannot be armed, the
 * deadline source carries the attempt instead (a second after now), and
 * the result just recorded is replaced by UNKNOWN with the reason: a probe
 * that cannot run again must never keep showing a stale state.
 */
static void
probe_rearm(struct probe *p, uint64_t now)
{
	uint64_t	span, base, next, lo;
	int		r, r2;

	/* Keep the cadence from the start of this attempt, never in the past. */
	span = p->cfg->interval_us * p->cfg->jitter_pct / 100;
	base = usec_add(p->started_us, (int64_t)p->cfg->interval_us);
	next = usec_add(base, jitter(span));
	if (next < now)
		next = now;
	lo = usec_add(base, -(int64_t)span);
	slot_release(p);
	if (probe_test_arm_failures > 0) {
		probe_test_arm_failures--;
		r = -ENOMEM;
	} else if ((r = arm_periodic(p, slot_choose(lo < now ? now : lo,
	    usec_add(base, (int64_t)span), on_grid(next, p->cfg), p->cfg))) >= 0)
		return;
	p->rearm_failures++;
	r2 = arm(p->ev, &p->deadline, usec_add(now, 1000000), 1000, probe_deadline_cb, p);
	p->rearm_fallback = r2 >= 0;
	p->result = PROBE_INTERNAL;
	p->state = probe_nagios(PROBE_INTERNAL, 0, p->cfg);
	snprintf(p->msg, sizeof(p->msg), "cannot schedule the next attempt: %s; %s",
	    strerror(-r), r2 >= 0 ? "retrying in 1s" : "no retry possible");
	perf_set(p, NULL);
	log_err("probe %s: %s", p->cfg->name, p->msg);
}

/* Records the attempt's result and hands it on (which may start the next attempt). */
static void
probe_record(struct probe *p, enum probe_result r, bool timed, const char *perfdata,
    const char *msg)
{
	uint64_t	now = now_us();
	char		t[32];
	size_t		len;

	p->running = false;
	p->starved_us = 0;
	sd_event_source_set_enabled(p->deadline, SD_EVENT_OFF);
	p->latency_us = now - p->started_us;
	p->result = r;
	p->state = probe_nagios(r, p->latency_us, p->cfg);
	p->runs++;
	if (p->state != NAGIOS_OK)
		p->failures++;
	if (timed) {
		for (size_t i = 0; i < PROBE_LAT_BUCKETS; i++)
			p->lat_buckets[i] += p->latency_us <= probe_lat_bounds_us[i];
		p->lat_sum_us += p->latency_us;
		p->lat_count++;
	}
	plugin_clean(p->msg, sizeof(p->msg), msg, strlen(msg) + 1, PLUGIN_ELLIPSIS);
	perf_set(p, perfdata);
	if ((r == PROBE_OK && p->state != NAGIOS_OK) ||
	    (r == PROBE_EXEC_WARNING && p->state == NAGIOS_CRITICAL)) {
		len = strlen(p->msg);
		snprintf(p->msg + len, sizeof(p->msg) - len, " (slower than %s)",
		    cfg_duration_fmt(p->state == NAGIOS_CRITICAL ? p->cfg->critical_us :
		    p->cfg->warning_us, t, sizeof(t)));
	}

	if (p->periodic)
		probe_rearm(p, now);
	p->done_cb(p, p->done_arg);
}

/*
 * The one sink of a finished attempt. errno is taken on entry, before
 * anything here can change it: for PROBE_INTERNAL it is what made the
 * type give up (socket(), pipe2(), pidfd_open() ...), see probe_starved().
 * Messages quote what servers and plugins said: any bytes, any length; the
 * message is formatted before the attempt's state is released (it may
 * quote that state).
 */
void
probe_done(struct probe *p, enum probe_result r, unsigned how, const char *perfdata,
    const char *fmt, ...)
{
	int		err = errno;
	char		msg[1024];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (how & PROBE_DONE_EVENT) {
		if (p->running)
			probe_type_of(p->cfg)->abort(p);
		/* An attempt of zero length that starts now: the wake-up is the news. */
		p->running = true;
		p->started_us = now_us();
		err = 0;
	}
	if (!p->running) {
		log_err("probe %s: result after the attempt ended (bug)", p->cfg->name);
		return;
	}
	/* An event already dropped the attempt in flight: never abort twice. */
	if ((how & PROBE_DONE_ABORT) && !(how & PROBE_DONE_EVENT))
		probe_type_of(p->cfg)->abort(p);
	if (probe_starved(p, r, err))
		return;
	probe_record(p, r, !(how & PROBE_DONE_EVENT), perfdata, msg);
}
