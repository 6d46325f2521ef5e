#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
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

static const char *
health_str(enum probe_health h)
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

enum probe_health
svc_debounce(struct debounce *d, bool healthy, unsigned rise, unsigned fall)
{
	if (healthy) {
		d->fail_streak = 0;
		if (d->ok_streak < rise)
			d->ok_streak++;
		if (d->ok_streak >= rise)
			d->health = PH_UP;
	} else {
		d->ok_streak = 0;
		if (d->fail_streak < fall)
			d->fail_streak++;
		if (d->fail_streak >= fall)
			d->health = PH_DOWN;
	}
	return d->health;
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

bool
svc_wants_announce(const struct svc *s)
{
	return s->state == SVC_UP || s->state == SVC_DEGRADED;
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
		    health_str(s->db[i].health), p->msg);
	}
}

static void
svc_transition(struct svc *s, enum svc_state to)
{
	struct timespec	ts;
	char		why[1536];

	describe_probes(s, why, sizeof(why));
	log_msg(to == SVC_UP ? LOG_LVL_INFO : LOG_LVL_WARNING, s->cfg->name,
	    "state", "%s -> %s: %s", svc_state_str(s->state), svc_state_str(to), why);
	s->state = to;
	clock_gettime(CLOCK_REALTIME, &ts);
	s->since_us = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	s->changed_cb(s, s->changed_arg);
}

static void
svc_probe_done(struct probe *p, void *arg)
{
	struct svc	*s = arg;
	size_t		 i, n_up = 0, n_init = 0;
	unsigned	 rise = s->cfg->rise, fall = s->cfg->fall;
	enum svc_state	 to;
	bool		 healthy;

	for (i = 0; i < s->cfg->nprobes; i++)
		if (s->probes[i] == p)
			break;
	if (i == s->cfg->nprobes)
		return;
	/* Adoption: the first result of each probe decides on its own. */
	if (s->adopt && s->db[i].health == PH_INIT)
		rise = fall = 1;
	healthy = svc_state_healthy(p->state, s->cfg->on_warning);
	svc_debounce_result(&s->db[i], p->result, healthy, rise, fall);
	log_msg(LOG_LVL_DEBUG, s->cfg->name, "probe", "%s: %s in %.1f ms: %s",
	    p->cfg->name, nagios_state_str(p->state), p->latency_us / 1000.0, p->msg);

	for (i = 0; i < s->cfg->nprobes; i++) {
		if (s->db[i].health == PH_UP)
			n_up++;
		else if (s->db[i].health == PH_INIT)
			n_init++;
	}
	to = svc_decide(s->state, n_up, n_init, s->cfg->require);
	if (to != SVC_INIT)
		s->adopt = false;
	if (to != s->state) {
		s->cause_us = p->started_us;
		svc_transition(s, to);
	}
}

struct svc *
svc_new(sd_event *ev, const struct cfg_service *cfg, svc_changed_cb cb, void *arg)
{
	struct svc	*s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->cfg = cfg;
	s->state = SVC_INIT;
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
