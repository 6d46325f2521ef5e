/* The state machine, table-driven: rise/fall per probe, require per service. */
#include <criterion/criterion.h>
#include <string.h>

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
#include <stdio.h>
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
