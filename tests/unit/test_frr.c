/*
 * The FRR driver: the running-config parser on real FRR 8.4 output, the
 * command builder, template rendering, and the driver against a fake vtysh
 * (tests/unit/data/frr/fake-vtysh) reproducing vtysh's pitfalls.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "frr.h"
#include "probe.h"
#include "testutil.h"

#define FAKE	TEST_DATADIR "/frr/fake-vtysh"

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	*buf = calloc(1, 65536);
	size_t	 n;

	cr_assert_not_null(f, "%s", path);
	n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static struct pfx
P(const char *s)
{
	struct pfx	p;
	char		err[64];

	cr_assert_eq(pfx_parse(s, &p, err, sizeof(err)), 0, "%s: %s", s, err);
	return p;
}

struct want_net {
	const char	*pfx;
	int		 af;
	const char	*rm;
};

struct parse_case {
	const char		*file;
	const char		*vrf;
	bool			 found;
	uint32_t		 asn;
	struct want_net		 nets[6];
	size_t			 nnets;
};

Test(frr, running_config_parser_on_captured_output)
{
	static const struct parse_case cases[] = {
		/* 198.51.100.64/26 was typed under ipv6 and fell through to ipv4. */
		{ "running-vrf-both.txt", NULL, true, 65001,
		    { { "192.0.2.53/32", AF_INET, "" },
		      { "198.51.100.64/26", AF_INET, "" },
		      { "203.0.113.0/24", AF_INET, "FOO" },
		      { "2001:db8:1::/48", AF_INET6, "" } }, 4 },
		{ "running-vrf-both.txt", "BLUE", true, 65001,
		    { { "198.51.100.128/25", AF_INET, "" },
		      { "2001:db8:2::/48", AF_INET6, "" } }, 2 },
		{ "running-vrf-both.txt", "RED", false, 0, { { NULL, 0, NULL } }, 0 },
		{ "running-no-bgpd.txt", NULL, false, 0, { { NULL, 0, NULL } }, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		struct frr_running	 r;
		char			 path[512], *text;

		snprintf(path, sizeof(path), "%s/frr/%s", TEST_DATADIR, c->file);
		text = slurp(path);
		cr_assert_eq(frr_running_parse(text, c->vrf, &r), 0);
		cr_expect_eq(r.found, c->found, "case %zu", i);
		cr_expect_eq(r.asn, c->asn, "case %zu: asn %u", i, r.asn);
		cr_expect_eq(r.nnets, c->nnets, "case %zu: %zu nets", i, r.nnets);
		for (size_t j = 0; j < c->nnets && j < r.nnets; j++) {
			struct pfx p = P(c->nets[j].pfx);
			const struct frr_net *n = frr_running_find(&r, &p);
			cr_expect_not_null(n, "case %zu: %s", i, c->nets[j].pfx);
			if (n == NULL)
				continue;
			cr_expect_eq(n->af, c->nets[j].af, "case %zu: %s", i, c->nets[j].pfx);
			cr_expect_str_eq(n->route_map, c->nets[j].rm, "case %zu", i);
		}
		frr_running_clear(&r);
		free(text);
	}
}

Test(frr, parser_ignores_statements_in_the_wrong_family)
{
	/* What vtysh's fall-through would leave: a v6 prefix under ipv4, and the reverse. */
	const char *text = "router bgp 65001\n !\n address-family ipv4 unicast\n"
	    "  network 2001:db8::53/128\n exit-address-family\n"
	    " address-family ipv6 unicast\n  network 192.0.2.53/32\n"
	    " exit-address-family\n address-family ipv4 vpn\n  network 192.0.2.54/32\n"
	    " exit-address-family\nexit\n";
	struct frr_running	r;
	struct pfx		a = P("2001:db8::53/128"), b = P("192.0.2.53/32"),
				c = P("192.0.2.54/32");

	cr_assert_eq(frr_running_parse(text, NULL, &r), 0);
	cr_expect_eq(r.nnets, 2);
	cr_expect_null(frr_running_find(&r, &a));
	cr_expect_null(frr_running_find(&r, &b));
	cr_expect_null(frr_running_find(&r, &c));
	frr_running_clear(&r);
}

static void
expect_argv(char **argv, const char *const *want)
{
	size_t	i;

	cr_assert_not_null(argv);
	for (i = 0; want[i] != NULL; i++) {
		cr_assert_not_null(argv[i], "argv ends at %zu, want '%s'", i, want[i]);
		cr_expect_str_eq(argv[i], want[i], "argv[%zu]", i);
	}
	cr_expect_null(argv[i], "argv longer than expected: '%s'", argv[i]);
}

Test(frr, command_builder_exact_argv)
{
	struct frr_change ch[] = {
		{ P("2001:db8::53/128"), true, NULL },
		{ P("192.0.2.53/32"), true, "ANYCAST-DEGRADED" },
		{ P("203.0.113.0/24"), false, "ignored" },
	};
	static const char *const want[] = { "/usr/bin/vtysh", "-N", "ns1",
		"-c", "configure terminal", "-c", "router bgp 65001 vrf BLUE",
		"-c", "address-family ipv4 unicast",
		"-c", "network 192.0.2.53/32 route-map ANYCAST-DEGRADED",
		"-c", "no network 203.0.113.0/24", "-c", "exit-address-family",
		"-c", "address-family ipv6 unicast", "-c", "network 2001:db8::53/128",
		"-c", "exit-address-family", NULL };
	static const char *const want1[] = { "/v", "-c", "configure terminal",
		"-c", "router bgp 4200000000", "-c", "address-family ipv6 unicast",
		"-c", "no network 2001:db8::53/128", "-c", "exit-address-family", NULL };
	static const char *const show[] = { "/v", "-c", "show running-config", NULL };
	char **argv;

	argv = frr_build_argv("/usr/bin/vtysh", "ns1", 65001, "BLUE", ch, 3);
	expect_argv(argv, want);
	frr_argv_free(argv);
	ch[0].present = false;
	argv = frr_build_argv("/v", NULL, 4200000000u, NULL, ch, 1);
	expect_argv(argv, want1);
	frr_argv_free(argv);
	argv = frr_build_show_argv("/v", NULL);
	expect_argv(argv, show);
	frr_argv_free(argv);
}

Test(frr, render_repeats_prefix_lines_and_drops_unset_ones)
{
	const char *tpl = "! doc line\n!\nip prefix-list X permit {{PREFIX_V4}}\n"
	    "ipv6 prefix-list X permit {{PREFIX_V6}}\nrouter bgp {{ASN}}\n"
	    " bgp router-id {{ROUTER_ID}}\n neighbor {{NEIGHBOR}} remote-as {{NEIGHBOR_ASN}}\n"
	    "  network {{ADDRESS_PREFIX_V4}}\n  network {{ADDRESS_PREFIX_V6}}\nexit\n";
	struct pfx	 all[] = { P("192.0.2.53/32"), P("203.0.113.0/24"), P("2001:db8::53/128") };
	struct frr_render v = { .asn = "65001", .neighbor = "198.51.100.2",
		.neighbor_asn = "65002", .prefixes = all, .nprefixes = 3,
		.addr_prefixes = all, .naddr_prefixes = 1 };
	char		*out = NULL;
	size_t		 len = 0;
	FILE		*in = fmemopen((void *)(uintptr_t)tpl, strlen(tpl), "r");
	FILE		*o = open_memstream(&out, &len);

	cr_assert_eq(frr_render(in, o, &v), 0);
	fclose(o);
	fclose(in);
	cr_expect_str_eq(out, "!\nip prefix-list X permit 192.0.2.53/32\n"
	    "ip prefix-list X permit 203.0.113.0/24\n"
	    "ipv6 prefix-list X permit 2001:db8::53/128\nrouter bgp 65001\n"
	    " neighbor 198.51.100.2 remote-as 65002\n  network 192.0.2.53/32\nexit\n");
	free(out);
}

/* ---- the driver against the fake vtysh ---- */

struct rig {
	struct cfg	*cfg;
	sd_event	*ev;
	struct frr	*frr;
	char		 state[256], log[256];
	unsigned	 updates;
};

static void
rig_cb(struct frr *f, void *arg)
{
	struct rig	*r = arg;

	(void)f;
	r->updates++;
}

static void
rig_setup(struct rig *r, const char *mode, const char *timeout)
{
	char		main_json[512];
	sigset_t	mask;
	struct frr_timing t = { .backoff_min_us = 100000, .backoff_max_us = 400000,
		.check_interval_us = 60000000, .replay_poll_us = 50000, .replay_max_us = 200000 };

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	snprintf(main_json, sizeof(main_json), "{ \"frr\": { \"vtysh\": \"%s\", "
	    "\"timeout\": \"%s\", \"pathspace\": \"unit-test-none\" } }", FAKE, timeout);
	r->cfg = tu_load(main_json, "web", "{ \"prefixes\": [\"192.0.2.53/32\", "
	    "\"2001:db8::53/128\"], \"method\": \"network\", \"probes\": [ { \"type\": "
	    "\"tcp\", \"host\": \"127.0.0.1\", \"port\": 9 } ] }", NULL);
	snprintf(r->state, sizeof(r->state), "/tmp/ahd-fake-vtysh-%d.state", getpid());
	snprintf(r->log, sizeof(r->log), "/tmp/ahd-fake-vtysh-%d.log", getpid());
	unlink(r->state);
	unlink(r->log);
	setenv("FAKE_VTYSH_STATE", r->state, 1);
	setenv("FAKE_VTYSH_LOG", r->log, 1);
	setenv("FAKE_VTYSH_MODE", mode, 1);
	cr_assert_geq(sd_event_new(&r->ev), 0);
	r->frr = frr_new(r->ev, r->cfg, rig_cb, r);
	cr_assert_not_null(r->frr);
	frr_set_timing(r->frr, &t);
	for (size_t i = 0; i < r->cfg->services[0].nprefixes; i++)
		cr_assert_eq(frr_manage(r->frr, &r->cfg->services[0].prefixes[i]), 0);
	cr_assert_geq(frr_start(r->frr), 0);
}

static void
rig_teardown(struct rig *r)
{
	frr_free(r->frr);
	sd_event_unref(r->ev);
	cfg_free(r->cfg);
	unlink(r->state);
	unlink(r->log);
	tu_cleanup();
}

/* Runs the loop for ms milliseconds (and leaves it usable, unlike tu_run_until). */
static void
run_ms(sd_event *ev, unsigned ms)
{
	uint64_t	end = now_us() + ms * 1000ULL, now;

	while ((now = now_us()) < end)
		cr_assert_geq(sd_event_run(ev, end - now), 0);
}

static bool
run_until_synced(struct rig *r, unsigned ms)
{
	uint64_t	end = now_us() + ms * 1000ULL;

	while (now_us() < end && !frr_synced(r->frr))
		sd_event_run(r->ev, 10000);
	return frr_synced(r->frr);
}

Test(frr, changes_of_one_iteration_go_out_in_one_call_and_are_read_back)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32"), v6 = P("2001:db8::53/128");
	char		*state, *log;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	frr_want(r.frr, &v4, true, "ANYCAST-DEGRADED");
	frr_want(r.frr, &v6, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	cr_expect(frr_holds(r.frr, &v4));
	cr_expect(frr_holds(r.frr, &v6));
	state = slurp(r.state);
	cr_expect_str_eq(state, "ipv4 192.0.2.53/32 ANYCAST-DEGRADED\nipv6 2001:db8::53/128 \n");
	log = slurp(r.log);
	/* read, one apply for both changes, read back. */
	cr_expect_str_eq(log, "show running-config|\n"
	    "configure terminal|router bgp 65001|address-family ipv4 unicast|"
	    "network 192.0.2.53/32 route-map ANYCAST-DEGRADED|exit-address-family|"
	    "address-family ipv6 unicast|network 2001:db8::53/128|exit-address-family|\n"
	    "show running-config|\n");
	cr_expect_eq(frr_stats(r.frr)->calls, 3);
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	/* Nothing is re-sent when nothing changed. */
	frr_want(r.frr, &v6, true, NULL);
	run_ms(r.ev, 100);
	cr_expect_eq(frr_stats(r.frr)->calls, 3);
	free(state);
	free(log);
	rig_teardown(&r);
}

Test(frr, readback_catches_normalised_prefix)
{
	struct rig	r = { 0 };
	struct pfx	v4 = P("192.0.2.53/32");

	rig_setup(&r, "normalize", "2s");
	frr_want(r.frr, &v4, true, NULL);
	run_ms(r.ev, 600);
	cr_expect_geq(frr_stats(r.frr)->mismatches, 1);
	cr_expect(frr_failing(r.frr));
	cr_expect_not(frr_holds(r.frr, &v4));
	/* Retried with backoff (100 ms doubling to 400 ms), not in a busy loop. */
	cr_expect_leq(frr_stats(r.frr)->calls, 12, "%lu calls", frr_stats(r.frr)->calls);
	rig_teardown(&r);
}

Test(frr, readback_catches_wrong_family_fallthrough)
{
	struct rig	r = { 0 };
	struct pfx	v6 = P("2001:db8::53/128");

	rig_setup(&r, "fallthrough", "2s");
	frr_want(r.frr, &v6, true, NULL);
	run_ms(r.ev, 400);
	cr_expect_geq(frr_stats(r.frr)->mismatches, 1);
	cr_expect(frr_failing(r.frr));
	cr_expect_not(frr_synced(r.frr));
	rig_teardown(&r);
}

Test(frr, bgpd_not_running_is_a_failure_with_backoff)
{
	struct rig	r = { 0 };
	struct pfx	v4 = P("192.0.2.53/32");
	uint64_t	calls;

	rig_setup(&r, "down", "2s");
	frr_want(r.frr, &v4, true, NULL);
	/* No router bgp: waits for FRR's replay (200 ms), then fails and backs off. */
	run_ms(r.ev, 1000);
	cr_expect(frr_failing(r.frr));
	cr_expect_not(frr_known(r.frr));
	calls = frr_stats(r.frr)->calls;
	cr_expect_leq(calls, 12, "%lu calls in 1 s", calls);
	/* bgpd comes back: the statement is made without anyone asking. */
	setenv("FAKE_VTYSH_MODE", "ok", 1);
	cr_expect(run_until_synced(&r, 3000));
	cr_expect(frr_holds(r.frr, &v4));
	cr_expect_not(frr_failing(r.frr));
	rig_teardown(&r);
}

Test(frr, nonzero_exit_is_an_error)
{
	struct rig	r = { 0 };
	struct pfx	v4 = P("192.0.2.53/32");
	FILE		*f;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	frr_want(r.frr, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	/* Someone removes it behind our back; we still believe it is there. */
	f = fopen(r.state, "w");
	fclose(f);
	frr_want(r.frr, &v4, false, NULL);	/* `no network` for an absent one: exit 1 */
	cr_expect(run_until_synced(&r, 3000));
	cr_expect_eq(frr_stats(r.frr)->failures, 1);
	cr_expect_not(frr_holds(r.frr, &v4));
	rig_teardown(&r);
}

struct lateness {
	uint64_t	last_us, worst_us, interval_us;
	unsigned	n;
};

static void
late_cb(struct probe *p, void *arg)
{
	struct lateness	*l = arg;
	uint64_t	 now = now_us();

	(void)p;
	if (l->last_us != 0 && now - l->last_us > l->interval_us &&
	    now - l->last_us - l->interval_us > l->worst_us)
		l->worst_us = now - l->last_us - l->interval_us;
	l->last_us = now;
	l->n++;
}

Test(frr, hung_vtysh_is_killed_and_probes_keep_their_schedule)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	struct cfg	*pcfg;
	struct probe	*p;
	struct lateness	 l = { .interval_us = 20000 };
	/* Refused at once: the probe itself never waits, so any lateness is the loop's. */
	uint16_t	 port = tu_closed_port();
	char		 svc[256];
	pid_t		 pid;

	rig_setup(&r, "hang", "300ms");
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.1/32\"], \"interval\": \"20ms\","
	    " \"timeout\": \"10ms\", \"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\","
	    " \"port\": %u } ] }", port);
	tu_cleanup();	/* the rig's configuration is loaded; its directory may go */
	pcfg = tu_load("{ \"defaults\": { \"jitter\": \"0%\" } }", "p", svc, NULL);
	p = probe_new(r.ev, &pcfg->services[0].probes[0], late_cb, &l);
	cr_assert_not_null(p);
	cr_assert_geq(probe_schedule(p), 0);
	frr_want(r.frr, &v4, true, NULL);
	run_ms(r.ev, 1000);
	cr_expect_geq(frr_stats(r.frr)->timeouts, 1);
	cr_expect(frr_failing(r.frr));
	cr_expect_geq(l.n, 40, "%u probe runs in 1 s", l.n);
	cr_log_info("20 ms tcp probe while vtysh hangs: %u runs in 1 s, worst lateness %.2f ms",
	    l.n, l.worst_us / 1000.0);
	fprintf(stderr, "frr: 20 ms tcp probe while vtysh hangs: %u runs in 1 s, "
	    "worst lateness %.2f ms\n", l.n, l.worst_us / 1000.0);
	cr_expect_lt(l.worst_us, 8000, "worst lateness %lu us", l.worst_us);
	/* Every killed vtysh was reaped: no child of ours is left, zombie or not. */
	frr_free(r.frr);
	r.frr = NULL;
	pid = waitpid(-1, NULL, WNOHANG);
	cr_expect_eq(pid, -1, "a child is left: %d", pid);
	cr_expect_eq(errno, ECHILD);
	probe_free(p);
	cfg_free(pcfg);
	rig_teardown(&r);
}

/* Alive and not a zombie. */
static bool
alive(pid_t pid)
{
	char	path[64], buf[512], *s;
	FILE	*f;
	bool	 live;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	live = fgets(buf, sizeof(buf), f) != NULL && (s = strrchr(buf, ')')) != NULL &&
	    s[1] == ' ' && s[2] != 'Z';
	fclose(f);
	return live;
}

Test(frr, hung_vtysh_is_killed_with_everything_it_started)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		 path[300];
	FILE		*f;
	long		 child;
	unsigned	 n = 0, left = 0;

	rig_setup(&r, "hangchild", "200ms");
	frr_want(r.frr, &v4, true, NULL);
	run_ms(r.ev, 700);
	cr_expect_geq(frr_stats(r.frr)->timeouts, 1);
	/* The call in flight now goes with the driver, as at shutdown. */
	frr_free(r.frr);
	r.frr = NULL;
	/* SIGKILL is immediate, but the kernel may take a moment to tear a process down. */
	usleep(100000);
	snprintf(path, sizeof(path), "%s.child", r.state);
	f = fopen(path, "r");
	cr_assert_not_null(f, "the fake vtysh never started its child");
	while (fscanf(f, "%ld", &child) == 1) {
		n++;
		if (alive((pid_t)child)) {
			left++;
			kill((pid_t)child, SIGKILL);
		}
	}
	fclose(f);
	unlink(path);
	cr_expect_geq(n, 1);
	cr_expect_eq(left, 0, "%u of %u children of a killed vtysh are still running", left, n);
	rig_teardown(&r);
}

/* How many vtysh calls in the fake's log carried cmd. */
static unsigned
log_count(const char *log, const char *cmd)
{
	char		 needle[256];
	const char	*s = log;
	unsigned	 n = 0;

	snprintf(needle, sizeof(needle), "|%s|", cmd);
	while ((s = strstr(s, needle)) != NULL) {
		n++;
		s++;
	}
	return n;
}

Test(frr, wish_changed_during_an_apply_is_no_mismatch)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	/* A mismatch would hold the next change back by 5 s: far beyond the wait below. */
	struct frr_timing t = { .backoff_min_us = 5000000, .backoff_max_us = 5000000,
		.check_interval_us = 60000000, .replay_poll_us = 50000, .replay_max_us = 200000 };
	uint64_t	 end;
	char		*state, *log;

	rig_setup(&r, "ok", "2s");
	frr_set_timing(r.frr, &t);
	cr_assert(run_until_synced(&r, 3000));
	frr_want(r.frr, &v4, true, NULL);
	/* Service up, then down again while `network` is on its way. */
	end = now_us() + 3000000;
	while (frr_stats(r.frr)->calls < 2 && now_us() < end)
		cr_assert_geq(sd_event_run(r.ev, 10000), 0);
	cr_assert_eq(frr_stats(r.frr)->calls, 2);
	frr_want(r.frr, &v4, false, NULL);
	cr_expect(run_until_synced(&r, 2000));
	cr_expect_eq(frr_stats(r.frr)->mismatches, 0);
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	cr_expect_not(frr_failing(r.frr));
	cr_expect_not(frr_holds(r.frr, &v4));
	state = slurp(r.state);
	cr_expect_str_eq(state, "");
	log = slurp(r.log);
	/* read, apply, read back, apply, read back. */
	cr_expect_str_eq(log, "show running-config|\n"
	    "configure terminal|router bgp 65001|address-family ipv4 unicast|"
	    "network 192.0.2.53/32|exit-address-family|\n"
	    "show running-config|\n"
	    "configure terminal|router bgp 65001|address-family ipv4 unicast|"
	    "no network 192.0.2.53/32|exit-address-family|\n"
	    "show running-config|\n");
	free(state);
	free(log);
	rig_teardown(&r);
}

Test(frr, released_to_method_address_is_never_touched_again)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		*state, *log;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	frr_want(r.frr, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	/* A reload moves it to method address: the line is the operator's now. */
	frr_release(r.frr, &v4, false);
	for (int i = 0; i < 2; i++) {
		frr_check(r.frr);	/* what the periodic check does */
		cr_assert(run_until_synced(&r, 3000));
	}
	state = slurp(r.state);
	cr_expect_str_eq(state, "ipv4 192.0.2.53/32 \n");
	log = slurp(r.log);
	cr_expect_eq(log_count(log, "no network 192.0.2.53/32"), 0, "%s", log);
	/* read, apply, read back, two periodic reads. */
	cr_expect_eq(frr_stats(r.frr)->calls, 5);
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	cr_expect_not(frr_holds(r.frr, &v4));
	free(state);
	free(log);
	rig_teardown(&r);
}

Test(frr, released_prefix_is_removed_once_then_forgotten)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		*state, *log;
	FILE		*fp;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	frr_want(r.frr, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	/* A reload drops the prefix from the configuration. */
	frr_release(r.frr, &v4, true);
	frr_want(r.frr, &v4, true, NULL);	/* ignored from now on */
	cr_assert(run_until_synced(&r, 3000));
	state = slurp(r.state);
	cr_expect_str_eq(state, "");
	free(state);
	/* The operator adds it by hand: the next periodic check leaves it alone. */
	fp = fopen(r.state, "w");
	cr_assert_not_null(fp);
	fputs("ipv4 192.0.2.53/32 \n", fp);
	fclose(fp);
	frr_check(r.frr);
	cr_assert(run_until_synced(&r, 3000));
	state = slurp(r.state);
	cr_expect_str_eq(state, "ipv4 192.0.2.53/32 \n");
	log = slurp(r.log);
	cr_expect_eq(log_count(log, "no network 192.0.2.53/32"), 1, "%s", log);
	cr_expect_eq(log_count(log, "network 192.0.2.53/32"), 1, "%s", log);
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	cr_expect_not(frr_holds(r.frr, &v4));
	free(state);
	free(log);
	rig_teardown(&r);
}

Test(frr, managed_again_before_the_release_completed)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		*state;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	frr_want(r.frr, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	/* Released by one reload, managed again by the next before any read. */
	frr_release(r.frr, &v4, true);
	cr_assert_eq(frr_manage(r.frr, &v4), 0);
	cr_assert(run_until_synced(&r, 3000));
	cr_expect_not(frr_holds(r.frr, &v4));
	frr_want(r.frr, &v4, true, "ANYCAST-DEGRADED");
	cr_assert(run_until_synced(&r, 3000));
	cr_expect(frr_holds(r.frr, &v4));
	state = slurp(r.state);
	cr_expect_str_eq(state, "ipv4 192.0.2.53/32 ANYCAST-DEGRADED\n");
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	free(state);
	rig_teardown(&r);
}
