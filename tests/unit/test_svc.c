/* The state machine, table-driven: rise/fall per probe, require per service. */
#include <criterion/criterion.h>
#include <string.h>

#include "clock.h"
#include "cfg.h"
#include "svc.h"

struct db_case {
	const char	*results;	/* '+' healthy, '-' unhealthy */
	unsigned	 rise, fall;
	const char	*health;	/* after each result: i(nit) u(p) d(own) */
};

Test(svc, debounce_counts_consecutive_results)
{
	static const struct db_case cases[] = {
		{ "+++", 3, 2, "iiu" },
		{ "++-+++", 3, 2, "iiiiiu" },	/* a failure restarts rise */
		{ "--", 3, 2, "id" },		/* init goes down after fall */
		{ "+++-+--", 3, 2, "iiuuuud" },	/* one failure is not fall=2 */
		{ "+++--++", 3, 2, "iiuuddd" },	/* rise needs 3 again */
		{ "+++--+++", 3, 2, "iiuudddu" },
		{ "+", 1, 1, "u" },
		{ "+-+-", 1, 1, "udud" },
		{ "-----+", 2, 5, "iiiidd" },	/* one OK is not rise=2 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct debounce	d = { 0 };
		char		got[16] = "";

		for (size_t j = 0; cases[i].results[j] != '\0'; j++) {
			enum probe_health h = svc_debounce(&d, cases[i].results[j] == '+',
			    cases[i].rise, cases[i].fall);
			got[j] = h == PH_UP ? 'u' : h == PH_DOWN ? 'd' : 'i';
		}
		cr_expect_str_eq(got, cases[i].health, "case %zu (%s rise %u fall %u)",
		    i, cases[i].results, cases[i].rise, cases[i].fall);
	}
}

Test(svc, gone_is_down_at_once)
{
	/* '+' healthy, '-' unhealthy, 'g' PROBE_GONE (the process is gone). */
	static const struct db_case cases[] = {
		{ "g", 3, 2, "d" },		/* at start: down at once */
		{ "+++g", 3, 2, "iiud" },	/* up: down at once, no fall */
		{ "+++g+", 3, 5, "iiudd" },	/* back: rise applies again */
		{ "+++g+++", 3, 5, "iiudddu" },
		{ "+++-g", 3, 3, "iiuud" },	/* a pending fall does not delay it */
		{ "g-", 1, 2, "dd" },
		{ "++g++", 2, 100, "iuddu" },	/* whatever fall says */
		{ "+++-", 3, 2, "iiuu" },	/* a plain failure still waits for fall */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct debounce	d = { 0 };
		char		got[16] = "";

		for (size_t j = 0; cases[i].results[j] != '\0'; j++) {
			char c = cases[i].results[j];
			enum probe_health h = svc_debounce_result(&d,
			    c == 'g' ? PROBE_GONE : c == '+' ? PROBE_OK : PROBE_TIMEOUT,
			    c == '+', cases[i].rise, cases[i].fall);
			got[j] = h == PH_UP ? 'u' : h == PH_DOWN ? 'd' : 'i';
		}
		cr_expect_str_eq(got, cases[i].health, "case %zu (%s rise %u fall %u)",
		    i, cases[i].results, cases[i].rise, cases[i].fall);
	}
}

struct decide_case {
	enum svc_state	cur;
	size_t		n_up, n_init;
	unsigned	require;
	enum svc_state	want;
};

Test(svc, decide_applies_require)
{
	/* Three probes in every case; require 3 = "all", 1 = "any". */
	static const struct decide_case cases[] = {
		{ SVC_INIT, 3, 0, 3, SVC_UP },
		{ SVC_INIT, 2, 1, 3, SVC_INIT },	/* still rising */
		{ SVC_INIT, 2, 0, 3, SVC_DOWN },	/* one probe went down */
		{ SVC_INIT, 0, 3, 1, SVC_INIT },
		{ SVC_INIT, 1, 0, 1, SVC_UP },		/* any: one is enough */
		{ SVC_INIT, 0, 0, 1, SVC_DOWN },
		{ SVC_UP, 2, 0, 3, SVC_DOWN },
		{ SVC_UP, 1, 0, 1, SVC_UP },
		{ SVC_UP, 1, 0, 2, SVC_DOWN },		/* require N=2 */
		{ SVC_UP, 2, 0, 2, SVC_UP },
		{ SVC_DOWN, 3, 0, 3, SVC_UP },
		{ SVC_DOWN, 2, 1, 3, SVC_DOWN },	/* init only waits at start */
		{ SVC_DRAINED, 3, 0, 3, SVC_DRAINED },	/* the operator's word stands */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(svc_decide(cases[i].cur, cases[i].n_up, cases[i].n_init,
		    cases[i].require), cases[i].want, "case %zu: got %s want %s", i,
		    svc_state_str(svc_decide(cases[i].cur, cases[i].n_up,
		    cases[i].n_init, cases[i].require)), svc_state_str(cases[i].want));
}

Test(svc, warning_counts_per_on_warning)
{
	cr_expect(svc_state_healthy(NAGIOS_OK, ONW_WITHDRAW));
	cr_expect(svc_state_healthy(NAGIOS_WARNING, ONW_ANNOUNCE));
	cr_expect(svc_state_healthy(NAGIOS_WARNING, ONW_DEGRADE));
	cr_expect_not(svc_state_healthy(NAGIOS_WARNING, ONW_WITHDRAW));
	cr_expect_not(svc_state_healthy(NAGIOS_CRITICAL, ONW_ANNOUNCE));
	cr_expect_not(svc_state_healthy(NAGIOS_UNKNOWN, ONW_ANNOUNCE));
}

Test(svc, state_names)
{
	cr_expect_str_eq(svc_state_str(SVC_INIT), "init");
	cr_expect_str_eq(svc_state_str(SVC_UP), "up");
	cr_expect_str_eq(svc_state_str(SVC_DOWN), "down");
	cr_expect_str_eq(svc_state_str(SVC_DEGRADED), "degraded");
	cr_expect_str_eq(svc_state_str(SVC_DRAINED), "drained");
}

/* A live service on the real loop: a TCP probe every 20 ms against a listener. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "testutil.h"

struct seen {
	enum svc_state	states[8];
	size_t		n;
	bool		flag;
	enum svc_state	until;
};

static void
on_changed(struct svc *s, void *arg)
{
	struct seen *seen = arg;

	if (seen->n < 8)
		seen->states[seen->n++] = s->state;
	if (s->state == seen->until)
		seen->flag = true;
}

Test(svc, live_rise_and_fall, .fini = tu_cleanup)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { .until = SVC_UP };
	sd_event	*ev;
	char		 json[512];
	uint16_t	 port;
	uint64_t	 t0;
	int		 lfd = tu_listen(64, &port);

	snprintf(json, sizeof(json), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"20ms\", \"timeout\": \"10ms\", \"rise\": 3, \"fall\": 2, "
	    "\"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %u } ] }",
	    port);
	cfg = tu_load("{ \"defaults\": { \"jitter\": \"0%\" } }", "web", json, NULL);
	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	cr_assert_not_null(s);
	t0 = now_us();
	cr_assert_eq(svc_start(s), 0);
	cr_assert(tu_run_until(ev, &seen.flag, 1000), "never came up");
	/* rise 3 at 20 ms: the third attempt starts at 40 ms. */
	cr_expect_geq(now_us() - t0, 40000);
	cr_expect_lt(now_us() - t0, 150000);
	cr_expect_eq(seen.n, 1);
	cr_expect_eq(s->probes[0]->runs, 3);

	close(lfd);
	seen.flag = false;
	seen.until = SVC_DOWN;
	t0 = now_us();
	cr_assert(tu_run_until(ev, &seen.flag, 1000), "never went down");
	/* fall 2 at 20 ms: at most two intervals after the listener closed. */
	cr_expect_lt(now_us() - t0, 60000, "took %llu us",
	    (unsigned long long)(now_us() - t0));
	cr_expect_eq(seen.n, 2);
	cr_expect_eq(seen.states[1], SVC_DOWN);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* Drain: the grace period keeps announcing, then the loop withdraws; undrain follows the probes. */
Test(svc, drain_grace_then_undrain, .fini = tu_cleanup)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { .until = SVC_DRAINED };
	sd_event	*ev;
	uint64_t	 t0;
	bool		 never = false;

	cfg = tu_load(NULL, "web", "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": "
	    "[ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 9 } ] }", NULL);
	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	cr_assert_not_null(s);
	/* As if its probe had risen. */
	s->db[0].health = PH_UP;
	s->state = SVC_UP;

	t0 = now_us();
	cr_assert_eq(svc_drain(s, 50000), 0);
	cr_expect_eq(s->state, SVC_DRAINED);
	cr_expect(svc_wants_announce(s), "withdrawn before the grace period ended");
	cr_expect_eq(seen.n, 1);
	tu_run_until(ev, &never, 200);
	cr_expect_not(svc_wants_announce(s));
	cr_expect_eq(seen.n, 2, "the grace timer must report once");
	cr_expect_geq(now_us() - t0, 50000);
	cr_expect_eq(s->transitions, 1);

	/* Draining again changes nothing. */
	cr_assert_eq(svc_drain(s, 50000), 0);
	cr_expect_eq(seen.n, 2);
	cr_expect_not(svc_wants_announce(s));

	svc_undrain(s);
	cr_expect_eq(s->state, SVC_UP);
	cr_expect(svc_wants_announce(s));
	cr_expect_eq(s->transitions, 2);

	/* Drained without grace, and the probe down meanwhile: undrain says down. */
	cr_assert_eq(svc_drain(s, 0), 0);
	cr_expect_not(svc_wants_announce(s));
	s->db[0].health = PH_DOWN;
	svc_undrain(s);
	cr_expect_eq(s->state, SVC_DOWN);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* Undrain during the grace period cancels the pending withdrawal. */
Test(svc, undrain_cancels_grace, .fini = tu_cleanup)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { .until = SVC_DRAINED };
	sd_event	*ev;
	bool		 never = false;

	cfg = tu_load(NULL, "web", "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": "
	    "[ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 9 } ] }", NULL);
	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	s->db[0].health = PH_UP;
	s->state = SVC_UP;
	cr_assert_eq(svc_drain(s, 30000), 0);
	svc_undrain(s);
	tu_run_until(ev, &never, 100);
	cr_expect_eq(s->state, SVC_UP);
	cr_expect(svc_wants_announce(s));
	cr_expect_eq(seen.n, 2, "no callback from a cancelled grace timer");
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

Test(svc, degrade_applies_only_to_an_up_service_with_on_warning_degrade)
{
	cr_expect_eq(svc_degrade(SVC_UP, true, ONW_DEGRADE), SVC_DEGRADED);
	cr_expect_eq(svc_degrade(SVC_UP, false, ONW_DEGRADE), SVC_UP);
	cr_expect_eq(svc_degrade(SVC_UP, true, ONW_ANNOUNCE), SVC_UP);
	cr_expect_eq(svc_degrade(SVC_UP, true, ONW_WITHDRAW), SVC_UP);
	cr_expect_eq(svc_degrade(SVC_DOWN, true, ONW_DEGRADE), SVC_DOWN);
	cr_expect_eq(svc_degrade(SVC_INIT, true, ONW_DEGRADE), SVC_INIT);
	cr_expect_eq(svc_degrade(SVC_DRAINED, true, ONW_DEGRADE), SVC_DRAINED);
	/* A degraded service is still announced. */
	struct svc s = { .state = SVC_DEGRADED };
	cr_expect(svc_wants_announce(&s));
}

struct hold_case {
	uint64_t	prev, base, since, want;
};

Test(svc, hold_down_doubles_for_quick_falls_up_to_eight_times)
{
	static const uint64_t NONE = UINT64_MAX;
	static const struct hold_case cases[] = {
		{ 0, 0, NONE, 0 },		/* no hold_down */
		{ 0, 1000, NONE, 1000 },	/* first fall */
		{ 1000, 1000, 9999, 2000 },	/* within 10 x: doubled */
		{ 2000, 1000, 5000, 4000 },
		{ 4000, 1000, 5000, 8000 },
		{ 8000, 1000, 5000, 8000 },	/* capped at 8 x */
		{ 8000, 1000, 10000, 1000 },	/* 10 x later: back to the base */
		{ 4000, 1000, NONE, 1000 },
		{ 5000, 0, 1, 0 },		/* hold_down removed by a reload */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(svc_hold_next(cases[i].prev, cases[i].base, cases[i].since),
		    cases[i].want, "case %zu: got %llu", i, (unsigned long long)
		    svc_hold_next(cases[i].prev, cases[i].base, cases[i].since));
}

static int
listen_backlog(uint16_t port, int backlog)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	int			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	return fd;
}

static int
listen_on(uint16_t port)
{
	return listen_backlog(port, 64);
}

/* A service that comes back at once stays down for hold_down, then twice as long. */
Test(svc, live_hold_down, .fini = tu_cleanup)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { .until = SVC_UP };
	sd_event	*ev;
	char		 json[512];
	uint16_t	 port;
	uint64_t	 t0;
	int		 lfd = tu_listen(64, &port);

	snprintf(json, sizeof(json), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"20ms\", \"timeout\": \"10ms\", \"rise\": 1, \"fall\": 1, "
	    "\"hold_down\": \"150ms\", \"probes\": [ { \"type\": \"tcp\", "
	    "\"host\": \"127.0.0.1\", \"port\": %u } ] }", port);
	cfg = tu_load("{ \"defaults\": { \"jitter\": \"0%\" } }", "web", json, NULL);
	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	cr_assert_eq(svc_start(s), 0);
	cr_assert(tu_run_until(ev, &seen.flag, 1000), "never came up");

	for (unsigned round = 1; round <= 2; round++) {
		uint64_t want = 150000 * round;	/* the second fall doubles it */

		close(lfd);
		seen.flag = false;
		seen.until = SVC_DOWN;
		cr_assert(tu_run_until(ev, &seen.flag, 1000), "never went down");
		t0 = now_us();
		lfd = listen_on(port);
		seen.flag = false;
		seen.until = SVC_UP;
		cr_assert(tu_run_until(ev, &seen.flag, 2000), "never came back");
		cr_expect_geq(now_us() - t0, want - 20000, "round %u: up after %llu us, "
		    "hold %llu", round, (unsigned long long)(now_us() - t0),
		    (unsigned long long)want);
		cr_expect_lt(now_us() - t0, want + 80000, "round %u: held too long", round);
		cr_expect_eq(s->hold_us, want);
	}
	close(lfd);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* An undrain during a hold stays down until the hold ends, then follows the probes. */
Test(svc, undrain_respects_hold_down, .fini = tu_cleanup)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { .until = SVC_UP };
	sd_event	*ev;
	uint64_t	 t0;

	cfg = tu_load(NULL, "web", "{ \"prefixes\": [\"192.0.2.53/32\"], \"hold_down\": "
	    "\"200ms\", \"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": 9 } ] }", NULL);
	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	/* As if it had just fallen, and its probe were up again. */
	t0 = now_us();
	s->state = SVC_DOWN;
	s->fell_us = t0;
	s->hold_us = 200000;
	s->db[0].health = PH_UP;
	cr_assert_eq(svc_drain(s, 0), 0);
	svc_undrain(s);
	cr_expect_eq(s->state, SVC_DOWN, "undrain cut the hold short");
	cr_expect_not(svc_wants_announce(s));
	cr_assert(tu_run_until(ev, &seen.flag, 1000), "never came up after the hold");
	cr_expect_geq(now_us() - t0, 190000);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* A service still being adopted is announced: a drain gives it its grace period. */
Test(svc, drain_while_adopting_keeps_the_grace, .fini = tu_cleanup)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { .until = SVC_DRAINED };
	sd_event	*ev;
	bool		 never = false;

	cfg = tu_load(NULL, "web", "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": "
	    "[ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 9 } ] }", NULL);
	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	s->adopt = true;
	cr_assert_eq(svc_drain(s, 50000), 0);
	cr_expect(svc_wants_announce(s), "withdrawn at once instead of after the grace");
	cr_expect_not(s->adopt);
	tu_run_until(ev, &never, 120);
	cr_expect_not(svc_wants_announce(s));
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/*
 * Flap damping on the real loop: two quick falls come straight back (a
 * single failure is never held), the third suppresses the service until the
 * penalty has decayed below reuse, then the hold timer brings it back.
 */
Test(svc, live_flap_damping, .fini = tu_cleanup)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { .until = SVC_UP };
	sd_event	*ev;
	char		 json[640];
	uint16_t	 port;
	uint64_t	 t0, reuse;
	int		 lfd = tu_listen(64, &port);

	snprintf(json, sizeof(json), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"20ms\", \"timeout\": \"10ms\", \"rise\": 1, \"fall\": 1, "
	    "\"damping\": { \"half_life\": \"1s\", \"max_suppress\": \"2s\" }, "
	    "\"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": %u } ] }",
	    port);
	cfg = tu_load("{ \"defaults\": { \"jitter\": \"0%\" } }", "web", json, NULL);
	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	cr_assert_eq(svc_start(s), 0);
	cr_assert(tu_run_until(ev, &seen.flag, 1000), "never came up");

	for (unsigned fall = 1; fall <= 3; fall++) {
		close(lfd);
		seen.flag = false;
		seen.until = SVC_DOWN;
		cr_assert(tu_run_until(ev, &seen.flag, 1000), "never went down");
		t0 = now_us();
		/* Nothing accepts: room for 2 s of 20 ms probes. */
		lfd = listen_backlog(port, 1024);
		seen.flag = false;
		seen.until = SVC_UP;
		if (fall < 3) {
			cr_assert(tu_run_until(ev, &seen.flag, 1000), "fall %u: never back", fall);
			cr_expect_lt(now_us() - t0, 100000, "fall %u: held %llu us", fall,
			    (unsigned long long)(now_us() - t0));
			cr_expect_not(s->damp.suppressed);
		}
	}
	cr_expect(s->damp.suppressed, "penalty %.0f", s->damp.penalty);
	reuse = damp_reuse_at(&s->damp, &s->cfg->damping);
	cr_expect_gt(reuse, t0 + 1000000, "suppressed for at least a second");
	cr_assert(tu_run_until(ev, &seen.flag, 3000), "never came back after damping");
	cr_expect_geq(now_us(), reuse);
	cr_expect_lt(now_us(), reuse + 100000, "late by %llu us",
	    (unsigned long long)(now_us() - reuse));
	cr_expect_not(s->damp.suppressed);
	cr_expect_eq(s->damp.falls, 3);
	close(lfd);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

struct warn_case {
	const char	*results;	/* 'O' OK, 'W' not OK; 'r' OK that took the probe up */
	unsigned	 rise, fall;
	const char	*warned;	/* after each result: w(arned) or c(lear) */
};

Test(svc, warning_is_debounced_like_critical)
{
	static const struct warn_case cases[] = {
		{ "OWOWOWOW", 2, 2, "cccccccc" },	/* flapping every round: no change */
		{ "OWWOWOOO", 2, 2, "ccwwwwcc" },	/* fall 2 to warn, rise 2 to clear */
		{ "WWWOOO", 3, 3, "ccwwwc" },
		{ "WOW", 1, 1, "wcw" },		/* rise/fall 1: follows each result */
		{ "Wr", 2, 2, "cw" },		/* came up with a warning among rise results */
		{ "Or", 2, 2, "cc" },		/* came up clean */
		{ "OWOr", 3, 2, "cccw" },	/* up: one of its three rise results warned */
		{ "OWOOr", 3, 2, "ccccc" },	/* up: its three rise results were OK */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct debounce	d = { 0 };
		char		got[16] = "";

		for (size_t j = 0; cases[i].results[j] != '\0'; j++) {
			char c = cases[i].results[j];
			bool w = svc_debounce_warning(&d, c != 'W', c == 'r', cases[i].rise,
			    cases[i].fall);
			got[j] = w ? 'w' : 'c';
		}
		cr_expect_str_eq(got, cases[i].warned, "case %zu (%s rise %u fall %u)",
		    i, cases[i].results, cases[i].rise, cases[i].fall);
	}
}

/* Feeds one finished attempt with Nagios state st to probe i, as the probe would. */
static void
feed(struct svc *s, size_t i, enum nagios_state st)
{
	struct probe	*p = s->probes[i];

	p->state = st;
	p->result = st == NAGIOS_OK ? PROBE_OK : st == NAGIOS_WARNING ?
	    PROBE_EXEC_WARNING : PROBE_EXEC_CRITICAL;
	p->runs++;
	p->started_us = now_us();
	p->done_cb(p, p->done_arg);
}

static struct cfg *
degrade_cfg(const char *hold)
{
	char	json[512];

	snprintf(json, sizeof(json), "{ \"prefixes\": [\"192.0.2.53/32\"], \"method\": "
	    "\"network\", \"rise\": 2, \"fall\": 2, \"on_warning\": \"degrade\", "
	    "\"hold_down\": \"%s\", \"probes\": [ { \"type\": \"tcp\", "
	    "\"host\": \"127.0.0.1\", \"port\": 9 } ] }", hold);
	return tu_load(NULL, "web", json, NULL);
}

/* A probe flipping OK/WARNING every round never flips the service. */
Test(svc, warning_flapping_every_round_does_not_flip, .fini = tu_cleanup)
{
	struct cfg	*cfg = degrade_cfg("0s");
	struct seen	 seen = { .until = SVC_DEGRADED };
	struct svc	*s;
	sd_event	*ev;

	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_assert_eq(s->state, SVC_UP);
	for (int k = 0; k < 50; k++)
		feed(s, 0, k % 2 ? NAGIOS_OK : NAGIOS_WARNING);
	cr_expect_eq(s->state, SVC_UP);
	cr_expect_eq(s->transitions, 1, "%llu transitions", (unsigned long long)s->transitions);
	/* A steady warning degrades after fall rounds, and rise OKs clear it. */
	feed(s, 0, NAGIOS_WARNING);
	cr_expect_eq(s->state, SVC_UP);
	feed(s, 0, NAGIOS_WARNING);
	cr_expect_eq(s->state, SVC_DEGRADED);
	cr_expect(svc_is_degraded(s));
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DEGRADED);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_UP);
	/* Coming up with a warning among its rise results: degraded at once. */
	feed(s, 0, NAGIOS_CRITICAL);
	feed(s, 0, NAGIOS_CRITICAL);
	cr_expect_eq(s->state, SVC_DOWN);
	feed(s, 0, NAGIOS_WARNING);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DEGRADED);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* hold_down applies to leaving degraded: it stays degraded until the hold ends. */
Test(svc, hold_down_applies_to_leaving_degraded, .fini = tu_cleanup)
{
	struct cfg	*cfg = degrade_cfg("150ms");
	struct seen	 seen = { .until = SVC_UP };
	struct svc	*s;
	sd_event	*ev;
	uint64_t	 t0;

	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_assert_eq(s->state, SVC_UP);
	seen.flag = false;
	feed(s, 0, NAGIOS_WARNING);
	feed(s, 0, NAGIOS_WARNING);
	cr_assert_eq(s->state, SVC_DEGRADED);
	t0 = now_us();
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DEGRADED, "left degraded during its hold");
	cr_assert(tu_run_until(ev, &seen.flag, 1000), "never left degraded");
	cr_expect_geq(now_us() - t0, 140000);
	cr_expect_eq(s->state, SVC_UP);
	/* Degraded again at once: the hold doubles. */
	feed(s, 0, NAGIOS_WARNING);
	feed(s, 0, NAGIOS_WARNING);
	cr_expect_eq(s->degr_hold_us, 300000);
	/* Bad news is never held: degraded -> down at once. */
	feed(s, 0, NAGIOS_CRITICAL);
	feed(s, 0, NAGIOS_CRITICAL);
	cr_expect_eq(s->state, SVC_DOWN);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* A reload's replacement keeps the degraded route-map, the drain grace and the hold history. */
Test(svc, inherit_keeps_degraded_drain_and_hold, .fini = tu_cleanup)
{
	struct cfg	*cfg = degrade_cfg("10s");
	struct seen	 seen = { 0 }, seen2 = { 0 };
	struct svc	*old, *s;
	sd_event	*ev;
	uint64_t	 until;
	bool		 never = false;

	cr_assert_geq(sd_event_new(&ev), 0);
	old = svc_new(ev, &cfg->services[0], on_changed, &seen);
	feed(old, 0, NAGIOS_OK);
	feed(old, 0, NAGIOS_OK);
	feed(old, 0, NAGIOS_WARNING);
	feed(old, 0, NAGIOS_WARNING);
	cr_assert_eq(old->state, SVC_DEGRADED);

	/* Degraded: adopted through the route-map; one OK does not clear it. */
	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	cr_assert_eq(svc_inherit(s, old), 0);
	cr_expect(s->adopt);
	cr_expect(svc_is_degraded(s), "the degraded route-map is lost until new results");
	cr_expect_eq(s->degr_us, old->degr_us);
	cr_expect_eq(s->degr_hold_us, old->degr_hold_us);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DEGRADED);
	svc_free(s);

	/* Fallen and held down: a reload does not cut the hold short. */
	feed(old, 0, NAGIOS_CRITICAL);
	feed(old, 0, NAGIOS_CRITICAL);
	cr_assert_eq(old->state, SVC_DOWN);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	cr_assert_eq(svc_inherit(s, old), 0);
	cr_expect_not(s->adopt);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DOWN, "the reload cut the hold short: %s",
	    svc_state_str(s->state));
	cr_expect_not(svc_wants_announce(s));
	svc_free(s);

	/* Draining with a grace: the rest of the grace carries over. */
	old->state = SVC_UP;
	cr_assert_eq(svc_drain(old, 300000), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	cr_assert_eq(svc_inherit(s, old), 0);
	cr_expect_eq(s->state, SVC_DRAINED);
	cr_expect(svc_wants_announce(s), "the grace was cut to zero");
	cr_assert_geq(sd_event_source_get_time(s->drain_timer, &until), 0);
	cr_expect_gt(until, now_us() + 200000);
	cr_expect_leq(until, now_us() + 300000);
	svc_free(old);
	tu_run_until(ev, &never, 400);
	cr_expect_not(svc_wants_announce(s), "still announced after the grace");
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/*
 * An announced service restarted by a reload (or adopted at start) that
 * falls before its probes rose is a fall like any other: it starts a hold,
 * and a quick second one doubles it.
 */
Test(svc, up_reload_fall_healthy_is_still_held, .fini = tu_cleanup)
{
	struct cfg	*cfg = degrade_cfg("10s");
	struct seen	 seen = { 0 }, seen2 = { 0 };
	struct svc	*old, *s;
	sd_event	*ev;

	cr_assert_geq(sd_event_new(&ev), 0);
	old = svc_new(ev, &cfg->services[0], on_changed, &seen);
	feed(old, 0, NAGIOS_OK);
	feed(old, 0, NAGIOS_OK);
	cr_assert_eq(old->state, SVC_UP);

	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	cr_assert_eq(svc_inherit(s, old), 0);
	cr_assert(s->adopt);
	feed(s, 0, NAGIOS_CRITICAL);
	cr_assert_eq(s->state, SVC_DOWN);
	cr_expect_neq(s->fell_us, 0, "the withdrawal was no fall");
	cr_expect_eq(s->hold_us, 10000000);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DOWN, "up, reload, fall, healthy: not held (%s)",
	    svc_state_str(s->state));
	cr_expect_not(svc_wants_announce(s));
	svc_free(s);
	svc_free(old);

	/* Adopted at start, then fell: held too. */
	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	svc_adopt(s, false);
	feed(s, 0, NAGIOS_CRITICAL);
	cr_assert_eq(s->state, SVC_DOWN);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DOWN, "adopted, fell, healthy: not held");
	cr_expect_eq(s->hold_us, 10000000);
	svc_free(s);

	/* Adopted, degraded, then fell: held too. */
	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	svc_adopt(s, true);
	feed(s, 0, NAGIOS_CRITICAL);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_DOWN, "adopted degraded, fell, healthy: not held");
	svc_free(s);

	/* Never announced (a new service) that starts down: no fall, no hold. */
	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	feed(s, 0, NAGIOS_CRITICAL);
	feed(s, 0, NAGIOS_CRITICAL);
	cr_assert_eq(s->state, SVC_DOWN);
	cr_expect_eq(s->fell_us, 0);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_UP);
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* SPEC: never announce a service that is not there, not even during a drain grace. */
Test(svc, death_during_the_drain_grace_withdraws_at_once, .fini = tu_cleanup)
{
	struct cfg	*cfg = degrade_cfg("0s");
	struct seen	 seen = { 0 }, seen2 = { 0 };
	struct svc	*old, *s;
	sd_event	*ev;
	int		 on = -1;

	cr_assert_geq(sd_event_new(&ev), 0);
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_assert_eq(s->state, SVC_UP);
	cr_assert_eq(svc_drain(s, 10000000), 0);
	cr_assert(svc_wants_announce(s));
	/* Healthy results, and one failure (fall 2), change nothing. */
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_CRITICAL);
	cr_expect(svc_wants_announce(s), "withdrawn before fall results");
	cr_expect_not(svc_withdrawn_unplanned(s));
	seen.n = 0;
	feed(s, 0, NAGIOS_CRITICAL);
	cr_expect_eq(s->state, SVC_DRAINED);
	cr_expect_not(svc_wants_announce(s), "a dead service kept announcing for its grace");
	cr_expect(svc_withdrawn_unplanned(s), "an unplanned withdrawal, not the drain's");
	cr_expect_eq(seen.n, 1, "the withdrawal was not reported");
	cr_assert_geq(sd_event_source_get_enabled(s->drain_timer, &on), 0);
	cr_expect_eq(on, SD_EVENT_OFF, "the grace timer still runs");
	/* Back: still drained, still withdrawn; undrain follows the probes. */
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_not(svc_wants_announce(s));
	svc_undrain(s);
	cr_expect_eq(s->state, SVC_UP);
	cr_expect_not(svc_withdrawn_unplanned(s));

	/* Carried over by a reload: the new probes' fall results end the grace. */
	cr_assert_eq(svc_drain(s, 10000000), 0);
	old = s;
	s = svc_new(ev, &cfg->services[0], on_changed, &seen2);
	cr_assert_eq(svc_inherit(s, old), 0);
	svc_free(old);
	cr_assert(svc_wants_announce(s));
	feed(s, 0, NAGIOS_CRITICAL);
	cr_expect(svc_wants_announce(s), "one result is not fall 2");
	feed(s, 0, NAGIOS_CRITICAL);
	cr_expect_not(svc_wants_announce(s), "reload: a dead service kept its grace");
	cr_expect(svc_withdrawn_unplanned(s));
	svc_free(s);
	sd_event_unref(ev);
	cfg_free(cfg);
}

/* A reload that lowers hold_down shortens an inherited hold to at most 8 x the new one. */
Test(svc, inherited_hold_follows_a_lowered_hold_down, .fini = tu_cleanup)
{
	struct cfg	*hour, *none, *small;
	struct seen	 seen = { 0 };
	struct svc	*old, *s;
	sd_event	*ev;

	/* Each load makes its own directory: removed before the next. */
	hour = degrade_cfg("1h");
	tu_cleanup();
	none = degrade_cfg("0s");
	tu_cleanup();
	small = degrade_cfg("100ms");
	cr_assert_geq(sd_event_new(&ev), 0);
	old = svc_new(ev, &hour->services[0], on_changed, &seen);
	feed(old, 0, NAGIOS_OK);
	feed(old, 0, NAGIOS_OK);
	feed(old, 0, NAGIOS_WARNING);
	feed(old, 0, NAGIOS_WARNING);
	cr_assert_eq(old->state, SVC_DEGRADED);
	feed(old, 0, NAGIOS_CRITICAL);
	feed(old, 0, NAGIOS_CRITICAL);
	cr_assert_eq(old->state, SVC_DOWN);
	cr_assert_eq(old->hold_us, 3600000000ULL);
	cr_assert_eq(old->degr_hold_us, 3600000000ULL);

	/* hold_down 0s: no hold left. */
	s = svc_new(ev, &none->services[0], on_changed, &seen);
	cr_assert_eq(svc_inherit(s, old), 0);
	cr_expect_eq(s->hold_us, 0);
	cr_expect_eq(s->degr_hold_us, 0);
	feed(s, 0, NAGIOS_OK);
	feed(s, 0, NAGIOS_OK);
	cr_expect_eq(s->state, SVC_UP, "still held by the old hour: %s", svc_state_str(s->state));
	svc_free(s);

	/* hold_down 100ms: at most 800 ms. */
	s = svc_new(ev, &small->services[0], on_changed, &seen);
	cr_assert_eq(svc_inherit(s, old), 0);
	cr_expect_eq(s->hold_us, 800000);
	cr_expect_eq(s->degr_hold_us, 800000);
	cr_expect_eq(s->fell_us, old->fell_us);
	svc_free(s);

	/* Raised or equal: the running hold is kept as it is. */
	s = svc_new(ev, &hour->services[0], on_changed, &seen);
	cr_assert_eq(svc_inherit(s, old), 0);
	cr_expect_eq(s->hold_us, 3600000000ULL);
	svc_free(s);
	svc_free(old);
	sd_event_unref(ev);
	cfg_free(hour);
	cfg_free(none);
	cfg_free(small);
}
