/*
 * The FRR driver: the running-config parser on real FRR 8.4 output, the
 * command builder, template rendering, and the driver against a fake vtysh
 * (tests/unit/data/frr/fake-vtysh) reproducing vtysh's pitfalls.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "cfg.h"
#include "frr.h"
#include "nofile.h"
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

/* The desired statement of one prefix, as its owner (ann_ in the daemon) keeps it. */
struct rig_want {
	struct pfx	 pfx;
	bool		 present;
	const char	*rm;
};

struct rig {
	struct cfg	*cfg;
	sd_event	*ev;
	struct frr	*frr;
	struct rig_want	 wants[4];	/* the owner of the desired state */
	size_t		 nwants;
	char		 state[256], log[256];
	unsigned	 updates;
	bool		 track;		/* frr_track() the prefixes instead of frr_manage() */
	void		(*before_start)(struct rig *r);
};

static void
rig_cb(struct frr *f, void *arg)
{
	struct rig	*r = arg;

	(void)f;
	r->updates++;
}

/* The owner's answer (frr_set_desired()): absent unless asked for. */
static bool
rig_desired(void *arg, const struct pfx *p, const char **rm)
{
	struct rig	*r = arg;

	*rm = NULL;
	for (size_t i = 0; i < r->nwants; i++)
		if (pfx_equal(&r->wants[i].pfx, p)) {
			*rm = r->wants[i].rm;
			return r->wants[i].present;
		}
	return false;
}

/* What ann_ does when a prefix's statement is to change: keep it, tell frr_. */
static void
want(struct rig *r, const struct pfx *p, bool present, const char *rm)
{
	size_t	i;

	for (i = 0; i < r->nwants && !pfx_equal(&r->wants[i].pfx, p); i++)
		;
	if (i == r->nwants) {
		cr_assert_lt(r->nwants, sizeof(r->wants) / sizeof(r->wants[0]));
		r->nwants++;
	}
	r->wants[i] = (struct rig_want){ .pfx = *p, .present = present, .rm = rm };
	frr_changed(r->frr);
}

static void	rig_setup_vtysh(struct rig *r, const char *mode, const char *timeout,
		    const char *vtysh);

static void
rig_setup(struct rig *r, const char *mode, const char *timeout)
{
	rig_setup_vtysh(r, mode, timeout, FAKE);
}

static void
rig_setup_vtysh(struct rig *r, const char *mode, const char *timeout, const char *vtysh)
{
	char		main_json[512];
	sigset_t	mask;
	struct frr_timing t = { .backoff_min_us = 100000, .backoff_max_us = 400000,
		.check_interval_us = 60000000, .replay_poll_us = 50000, .replay_max_us = 200000,
		.verify_delay_us = 50000, .zebra_poll_us = 100000, .zebra_wait_max_us = 1000000 };

	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	snprintf(main_json, sizeof(main_json), "{ \"frr\": { \"vtysh\": \"%s\", "
	    "\"timeout\": \"%s\", \"pathspace\": \"unit-test-none\" } }", vtysh, timeout);
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
	frr_set_desired(r->frr, rig_desired, r);
	frr_set_timing(r->frr, &t);
	for (size_t i = 0; i < r->cfg->services[0].nprefixes; i++)
		cr_assert_eq(r->track ? frr_track(r->frr, &r->cfg->services[0].prefixes[i]) :
		    frr_manage(r->frr, &r->cfg->services[0].prefixes[i]), 0);
	if (r->before_start != NULL)
		r->before_start(r);
	cr_assert_geq(frr_start(r->frr), 0);
}

static void
rig_teardown(struct rig *r)
{
	char	path[300];

	frr_free(r->frr);
	sd_event_unref(r->ev);
	cfg_free(r->cfg);
	unlink(r->state);
	unlink(r->log);
	unsetenv("FAKE_VTYSH_STUCK");
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s.%s", r->state,
		    (const char *[]){ "addrs", "announced", "registered" }[i]);
		unlink(path);
	}
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
	want(&r, &v4, true, "ANYCAST-DEGRADED");
	want(&r, &v6, true, NULL);
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
	want(&r, &v6, true, NULL);
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
	want(&r, &v4, true, NULL);
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
	want(&r, &v6, true, NULL);
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
	want(&r, &v4, true, NULL);
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
	want(&r, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	/* Someone removes it behind our back; we still believe it is there. */
	f = fopen(r.state, "w");
	fclose(f);
	want(&r, &v4, false, NULL);	/* `no network` for an absent one: exit 1 */
	cr_expect(run_until_synced(&r, 3000));
	cr_expect_eq(frr_stats(r.frr)->failures, 1);
	cr_expect_not(frr_holds(r.frr, &v4));
	rig_teardown(&r);
}

/*
 * vtysh failing without output: the log says "no output", not whatever the
 * heap held. M_PERTURB fills fresh allocations with non-zero bytes, so an
 * unterminated buffer shows instead of reading as an empty string by luck.
 */
Test(frr, silent_vtysh_failure_logs_no_heap_bytes)
{
	struct rig	r = { 0 };
	struct pfx	v4 = P("192.0.2.53/32");
	char		path[64], buf[4096], *line;
	int		fd, saved;
	ssize_t		n;

	/*
	 * glibc then fills fresh blocks with 0xa5 bytes; ASan's allocator
	 * refuses mallopt() but fills them itself (malloc_fill_byte 0xbe).
	 * Either way, garbage is non-printable and shows in the check below.
	 */
	(void)mallopt(M_PERTURB, 0x5a);
	rig_setup(&r, "mute", "2s");
	cr_assert(run_until_synced(&r, 3000));
	snprintf(path, sizeof(path), "/tmp/ahd-frr-stderr-%d", getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	want(&r, &v4, true, NULL);
	run_ms(r.ev, 300);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(path);
	cr_assert_geq(n, 0);
	buf[n] = '\0';
	line = strstr(buf, "vtysh configuration call failed (exit 1)");
	cr_assert_not_null(line, "no failure logged: %s", buf);
	line[strcspn(line, "\n")] = '\0';
	cr_expect(strstr(line, "(exit 1): no output") != NULL, "logged: %s", line);
	for (const char *c = line; *c != '\0'; c++)
		if (*c < 0x20 || *c >= 0x7f) {
			cr_expect_fail("non-printable byte 0x%02x in: %s", (unsigned char)*c, line);
			break;
		}
	cr_expect_geq(frr_stats(r.frr)->failures, 1);
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
	want(&r, &v4, true, NULL);
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
	want(&r, &v4, true, NULL);
	run_ms(r.ev, 700);
	cr_expect_geq(frr_stats(r.frr)->timeouts, 1);
	/* The call in flight now goes with the driver, as at shutdown. */
	frr_free(r.frr);
	r.frr = NULL;
	snprintf(path, sizeof(path), "%s.child", r.state);
	f = fopen(path, "r");
	cr_assert_not_null(f, "the fake vtysh never started its child");
	while (fscanf(f, "%ld", &child) == 1) {
		n++;
		/*
		 * SIGKILL is immediate, but the kernel may take a moment to
		 * tear a process down (longer on a loaded machine): up to 2 s,
		 * polled; a child nobody killed sleeps far longer.
		 */
		for (int i = 0; i < 200 && alive((pid_t)child); i++)
			usleep(10000);
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
	want(&r, &v4, true, NULL);
	/* Service up, then down again while `network` is on its way. */
	end = now_us() + 3000000;
	while (frr_stats(r.frr)->calls < 2 && now_us() < end)
		cr_assert_geq(sd_event_run(r.ev, 10000), 0);
	cr_assert_eq(frr_stats(r.frr)->calls, 2);
	want(&r, &v4, false, NULL);
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
	want(&r, &v4, true, NULL);
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
	want(&r, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	/* A reload drops the prefix from the configuration. */
	frr_release(r.frr, &v4, true);
	want(&r, &v4, true, NULL);	/* ignored from now on */
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

/* Many prefixes: the owner wants every managed one present unless listed as absent. */
#define MANY	120

struct many {
	struct pfx	p[MANY];
	bool		absent[MANY];
};

static bool
many_desired(void *arg, const struct pfx *p, const char **rm)
{
	struct many	*m = arg;

	*rm = NULL;
	for (size_t i = 0; i < MANY; i++)
		if (pfx_equal(&m->p[i], p))
			return !m->absent[i];
	return false;
}

static unsigned
state_lines(const struct rig *r)
{
	char		*st = slurp(r->state);
	unsigned	 n = 0;

	for (const char *c = st; *c != '\0'; c++)
		n += *c == '\n';
	free(st);
	return n;
}

/*
 * Hundreds of statements through the driver's table (hashed since the
 * linear search made 10,000 O(N^2)): added in scrambled order and twice,
 * removed in the middle, forgotten, managed again; each found as itself.
 */
Test(frr, hundreds_of_statements_are_found_removed_and_managed_again)
{
	struct rig	 r = { 0 };
	static struct many m;
	char		 buf[64];
	size_t		 k;

	rig_setup(&r, "ok", "10s");
	cr_assert(run_until_synced(&r, 5000));
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i < MANY; i++) {
		k = (i * 97) % MANY;	/* 97 is prime to MANY: a permutation */
		snprintf(buf, sizeof(buf), k % 2 ? "10.%zu.0.0/16" : "2001:db8:%zx::/48", k);
		m.p[i] = P(buf);
	}
	frr_set_desired(r.frr, many_desired, &m);
	for (size_t i = 0; i < MANY; i++)
		cr_assert_eq(frr_manage(r.frr, &m.p[i]), 0);
	for (size_t i = 0; i < MANY; i += 3)
		cr_assert_eq(frr_manage(r.frr, &m.p[i]), 0, "managed twice");
	cr_assert(run_until_synced(&r, 20000));
	for (size_t i = 0; i < MANY; i++)
		cr_assert(frr_holds(r.frr, &m.p[i]), "%s", pfx_fmt(&m.p[i], buf, sizeof(buf)));
	cr_expect_eq(state_lines(&r), MANY, "one statement each");
	/* A reload removes a third from the middle. */
	for (size_t i = MANY / 3; i < 2 * MANY / 3; i++)
		frr_release(r.frr, &m.p[i], true);
	cr_assert(run_until_synced(&r, 20000));
	for (size_t i = 0; i < MANY; i++)
		cr_assert_eq(frr_holds(r.frr, &m.p[i]), i < MANY / 3 || i >= 2 * MANY / 3,
		    "%zu %s", i, pfx_fmt(&m.p[i], buf, sizeof(buf)));
	cr_expect_eq(state_lines(&r), MANY - MANY / 3);
	/* Ten at the start move to the address method: forgotten at once, left in FRR. */
	for (size_t i = 0; i < 10; i++)
		frr_release(r.frr, &m.p[i], false);
	for (size_t i = 0; i < 10; i++)
		cr_expect_not(frr_holds(r.frr, &m.p[i]), "forgotten");
	cr_expect(frr_holds(r.frr, &m.p[10]));
	cr_expect(frr_holds(r.frr, &m.p[MANY - 1]));
	/* And the removed ones come back with the next reload. */
	for (size_t i = MANY / 3; i < 2 * MANY / 3; i++)
		cr_assert_eq(frr_manage(r.frr, &m.p[i]), 0);
	cr_assert(run_until_synced(&r, 20000));
	for (size_t i = 10; i < MANY; i++)
		cr_assert(frr_holds(r.frr, &m.p[i]), "%zu %s", i,
		    pfx_fmt(&m.p[i], buf, sizeof(buf)));
	cr_expect_eq(state_lines(&r), MANY, "the forgotten ones are still there");
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	rig_teardown(&r);
}

Test(frr, managed_again_before_the_release_completed)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		*state;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	want(&r, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	/*
	 * Released by one reload, managed again by the next before any read:
	 * the next configuration's owner has not asked for it yet.
	 */
	frr_release(r.frr, &v4, true);
	r.nwants = 0;
	cr_assert_eq(frr_manage(r.frr, &v4), 0);
	cr_assert(run_until_synced(&r, 3000));
	cr_expect_not(frr_holds(r.frr, &v4));
	want(&r, &v4, true, "ANYCAST-DEGRADED");
	cr_assert(run_until_synced(&r, 3000));
	cr_expect(frr_holds(r.frr, &v4));
	state = slurp(r.state);
	cr_expect_str_eq(state, "ipv4 192.0.2.53/32 ANYCAST-DEGRADED\n");
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	free(state);
	rig_teardown(&r);
}

/*
 * A reload hands the desired state to a new owner (ann_set_frr()) whose
 * answer differs from the old one's without ever changing itself: a prefix
 * still configured that the new configuration does not want (its service
 * renamed and in init, shared_prefixes now "all", a sharing service that
 * was up removed). Its `no network` must go out at once, not at the next
 * periodic check (60 s here, 10 s in the daemon).
 */
Test(frr, a_new_owner_of_the_desired_state_is_asked_at_once)
{
	struct rig	 r = { 0 }, nw = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		*state;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	want(&r, &v4, true, NULL);
	cr_assert(run_until_synced(&r, 3000));
	cr_assert(frr_holds(r.frr, &v4));
	/* The new owner has not asked for v4, and never will while it is not wanted. */
	frr_set_desired(r.frr, rig_desired, &nw);
	cr_expect(run_until_synced(&r, 2000), "the new owner's answer was not applied");
	cr_expect_not(frr_holds(r.frr, &v4));
	state = slurp(r.state);
	cr_expect_str_eq(state, "", "%s", state);
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	free(state);
	rig_teardown(&r);
}

/* {{BFD}} marks the lines of the optional BFD block: written only with --bfd. */
Test(frr, render_bfd_block_only_when_asked)
{
	const char *tpl = "{{BFD}}bfd\n{{BFD}} profile P\n{{BFD}}  receive-interval "
	    "{{BFD_INTERVAL}}\n{{BFD}}exit\nrouter bgp {{ASN}}\n"
	    "{{BFD}} neighbor {{NEIGHBOR}} bfd profile P\nexit\n";
	struct frr_render v = { .asn = "65001", .neighbor = "198.51.100.2" };
	const char *want[] = { "router bgp 65001\nexit\n",
	    "bfd\n profile P\n  receive-interval 50\nexit\nrouter bgp 65001\n"
	    " neighbor 198.51.100.2 bfd profile P\nexit\n" };

	for (int i = 0; i < 2; i++) {
		char	*out = NULL;
		size_t	 len = 0;
		FILE	*in = fmemopen((void *)(uintptr_t)tpl, strlen(tpl), "r");
		FILE	*o = open_memstream(&out, &len);

		v.bfd_interval = i ? "50" : NULL;
		cr_assert_eq(frr_render(in, o, &v), 0);
		fclose(o);
		fclose(in);
		cr_expect_str_eq(out, want[i]);
		free(out);
	}
}

/* ---- the address method's verification ---- */

static struct frr_seen
seen_of(const char *file, bool zebra_answered)
{
	char		 path[512];
	char		*text;
	struct pfx	 ps[2] = { P("192.0.2.53/32"), P("2001:db8::53/128") };
	struct frr_seen	 s;

	snprintf(path, sizeof(path), "%s/frr/%s", TEST_DATADIR, file);
	text = slurp(path);
	cr_assert_eq(frr_verify_parse(text, zebra_answered, ps, 2, ps, 2, &s), 0);
	free(text);
	return s;
}

Test(frr, verify_parser_on_captured_output)
{
	struct frr_seen	s;

	/* Healthy: v4's address is on lo, v6's is not; zebra tracks both for bgpd. */
	s = seen_of("verify-normal.txt", true);
	cr_expect(s.bgp_ok);
	cr_expect(s.announced[0]);
	cr_expect_not(s.announced[1]);
	cr_expect(s.zebra_ok);
	cr_expect(s.bgp_client);
	cr_expect(s.registered[0]);
	cr_expect(s.registered[1]);
	frr_seen_clear(&s);
	/* zebra down: bgpd still answers, vtysh exits 1. */
	s = seen_of("verify-zebra-down.txt", false);
	cr_expect(s.bgp_ok);
	cr_expect(s.announced[0]);
	cr_expect_not(s.zebra_ok);
	cr_expect_not(s.bgp_client);
	cr_expect_not(s.registered[0]);
	frr_seen_clear(&s);
	/* zebra restarted, bgpd back on it, address deleted: stale and untracked. */
	s = seen_of("verify-zebra-restarted.txt", true);
	cr_expect(s.bgp_ok);
	cr_expect(s.announced[0], "the stale announcement");
	cr_expect(s.bgp_client);
	cr_expect_not(s.registered[0]);
	cr_expect_not(s.registered[1]);
	frr_seen_clear(&s);
}

Test(frr, verify_parser_refuses_what_it_cannot_trust)
{
	struct pfx	 ps[2] = { P("192.0.2.53/32"), P("2001:db8::53/128") };
	struct frr_seen	 s;

	/* bgpd down. */
	cr_assert_eq(frr_verify_parse("Exiting: failed to connect to any daemons.\n", false,
	    ps, 2, ps, 2, &s), 0);
	cr_expect_not(s.bgp_ok);
	frr_seen_clear(&s);
	/* One answer short, or cut off. */
	cr_assert_eq(frr_verify_parse("{\n}\n", true, ps, 2, ps, 2, &s), 0);
	cr_expect_not(s.bgp_ok);
	frr_seen_clear(&s);
	cr_assert_eq(frr_verify_parse("{\n}\n{\n  \"prefix\":\"2001:db8::53/128\",\n  \"paths\":[\n",
	    true, ps, 2, ps, 2, &s), 0);
	cr_expect_not(s.bgp_ok);
	frr_seen_clear(&s);
	/*
	 * A valid path learned from a peer (another site) is not ours; wrong
	 * types are not true; an nht block of another address or client does
	 * not count; a "bgp " row only in the client summary sense.
	 */
	cr_assert_eq(frr_verify_parse(
	    "{\n\"prefix\":\"192.0.2.53/32\",\"paths\":[{\"valid\":true,\"sourced\":false},"
	    "{\"valid\":\"true\",\"sourced\":true,\"local\":true},{\"valid\":true}]}\n"
	    "{\"prefix\":\"2001:db8::53/128\",\"paths\":[{\"valid\":true,\"local\":true,"
	    "\"sourced\":true}]}\n"
	    "192.0.2.54\n Client list: bgp(fd 15)\n2001:db8::53\n Client list: static(fd 9)\n",
	    true, ps, 2, ps, 2, &s), 0);
	cr_expect(s.bgp_ok);
	cr_expect_not(s.announced[0]);
	cr_expect(s.announced[1]);
	cr_expect_not(s.registered[0]);
	cr_expect_not(s.registered[1]);
	cr_expect_not(s.bgp_client);
	frr_seen_clear(&s);
	/*
	 * Only an answer about the prefix asked counts, and only a path both
	 * sourced and local, not an aggregate.
	 */
	cr_assert_eq(frr_verify_parse(
	    "{\"prefix\":\"192.0.2.0/24\",\"paths\":[{\"valid\":true,\"sourced\":true,"
	    "\"local\":true}]}\n"
	    "{\"prefix\":\"2001:db8::53/128\",\"paths\":[{\"valid\":true,\"local\":true},"
	    "{\"valid\":true,\"sourced\":true},{\"valid\":true,\"sourced\":true,"
	    "\"local\":true,\"aggregated\":true}]}\n",
	    true, ps, 2, ps, 2, &s), 0);
	cr_expect(s.bgp_ok);
	cr_expect_not(s.announced[0], "an answer about a covering prefix");
	cr_expect_not(s.announced[1], "local alone, sourced alone, or aggregated");
	frr_seen_clear(&s);
}

Test(frr, verify_parser_asks_some_and_looks_up_all)
{
	struct pfx	 all[2] = { P("192.0.2.53/32"), P("2001:db8::53/128") };
	struct frr_seen	 s;

	/* Only v6's address is gone: one JSON answer; registration for both. */
	cr_assert_eq(frr_verify_parse("{\n}\nbgp           00:00:01\n"
	    "192.0.2.53\n resolved via connected\n Client list: bgp(fd 15)\n",
	    true, &all[1], 1, all, 2, &s), 0);
	cr_expect(s.bgp_ok);
	cr_expect_not(s.announced[0]);
	cr_expect(s.bgp_client);
	cr_expect(s.registered[0]);
	cr_expect_not(s.registered[1]);
	frr_seen_clear(&s);
	/* Nothing asked of bgpd: still a valid answer. */
	cr_assert_eq(frr_verify_parse("bgp   x\n", true, NULL, 0, all, 2, &s), 0);
	cr_expect(s.bgp_ok);
	frr_seen_clear(&s);
}

Test(frr, verify_command_builder_exact_argv)
{
	struct pfx	  ps[2] = { P("192.0.2.53/32"), P("2001:db8::53/128") };
	char		**argv = frr_build_verify_argv("/usr/bin/vtysh", "NS", "BLUE", ps, 2);
	const char	 *want[] = { "/usr/bin/vtysh", "-N", "NS",
		"-c", "show bgp vrf BLUE ipv4 unicast 192.0.2.53/32 json",
		"-c", "show bgp vrf BLUE ipv6 unicast 2001:db8::53/128 json",
		"-c", "show zebra client summary", "-c", "show ip nht vrf BLUE",
		"-c", "show ipv6 nht vrf BLUE", NULL };
	size_t		  i;

	cr_assert_not_null(argv);
	for (i = 0; want[i] != NULL; i++)
		cr_expect_str_eq(argv[i], want[i]);
	cr_expect_null(argv[i]);
	frr_argv_free(argv);
}

Test(frr, parser_flags_statements_with_options)
{
	struct frr_running	r;

	cr_assert_eq(frr_running_parse("router bgp 65001\n address-family ipv4 unicast\n"
	    "  network 192.0.2.0/24 backdoor\n  network 192.0.2.53/32 route-map RM\n"
	    "  network 192.0.2.54/32 route-map RM label-index 5\n  network 192.0.2.55/32\n"
	    " exit-address-family\nexit\n", NULL, &r), 0);
	cr_assert_eq(r.nnets, 4);
	cr_expect(r.nets[0].options);
	cr_expect_not(r.nets[1].options);
	cr_expect_str_eq(r.nets[1].route_map, "RM");
	cr_expect(r.nets[2].options);
	cr_expect_not(r.nets[3].options);
	frr_running_clear(&r);
}

static void
put(const struct rig *r, const char *ext, const char *text)
{
	char	 path[300];
	FILE	*f;

	snprintf(path, sizeof(path), "%s%s", r->state, ext);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static char *
get(const struct rig *r, const char *ext)
{
	char	path[300];

	snprintf(path, sizeof(path), "%s%s", r->state, ext);
	return slurp(path);
}

/* Managed statements and one of the operator's in FRR; the driver has no owner. */
static void
owner_less(struct rig *r)
{
	put(r, "", "ipv4 192.0.2.53/32 ANYCAST-GSHUT\nipv4 198.51.100.0/24 \n"
	    "ipv6 2001:db8::53/128 \n");
	/* The owner it had wanted v4 kept as it is; it is gone now. */
	want(r, &r->cfg->services[0].prefixes[0], true, "ANYCAST-GSHUT");
	frr_set_desired(r->frr, NULL, NULL);
}

/* withdraw-all's driver: without an owner of the desired state, everything managed goes. */
Test(frr, without_an_owner_every_managed_statement_is_wanted_absent)
{
	struct rig	 r = { .before_start = owner_less };
	char		*state;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	state = get(&r, "");
	cr_expect_str_eq(state, "ipv4 198.51.100.0/24 \n", "%s", state);
	cr_expect_not(frr_holds(r.frr, &r.cfg->services[0].prefixes[0]));
	cr_expect_not(frr_holds(r.frr, &r.cfg->services[0].prefixes[1]));
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	free(state);
	rig_teardown(&r);
}

/* Both statements in FRR; v4 announced by bgpd, its address gone, nothing tracked. */
static void
stale_after_zebra_restart(struct rig *r)
{
	put(r, "", "ipv4 192.0.2.53/32 RM1\nipv6 2001:db8::53/128 \n");
	put(r, ".announced", "192.0.2.53/32\n");
	put(r, ".addrs", "");
	put(r, ".registered", "");
}

Test(frr, stale_announcement_and_lost_tracking_are_repaired_once)
{
	struct rig	 r = { .track = true, .before_start = stale_after_zebra_restart };
	char		*log, *ann, *reg, *state;
	uint64_t	 calls;

	rig_setup(&r, "ok", "2s");
	run_ms(r.ev, 1500);
	log = slurp(r.log);
	/* Read, verify, fresh read, re-enter both as they were, read, verify. */
	cr_expect(strstr(log, "configure terminal|router bgp 65001|address-family ipv4 unicast|"
	    "no network 192.0.2.53/32|network 192.0.2.53/32 route-map RM1|exit-address-family|"
	    "address-family ipv6 unicast|no network 2001:db8::53/128|network 2001:db8::53/128|"
	    "exit-address-family|\n") != NULL, "%s", log);
	ann = get(&r, ".announced");
	reg = get(&r, ".registered");
	state = get(&r, "");
	cr_expect_str_eq(ann, "", "withdrawn by bgpd");
	cr_expect(strstr(reg, "192.0.2.53/32") && strstr(reg, "2001:db8::53/128"), "%s", reg);
	cr_expect(strstr(state, "ipv4 192.0.2.53/32 RM1") != NULL, "%s", state);
	cr_expect_eq(frr_stats(r.frr)->repairs, 2);
	/* Repaired: later verifications find nothing to do. */
	calls = frr_stats(r.frr)->calls;
	frr_check(r.frr);
	run_ms(r.ev, 500);
	cr_expect_eq(frr_stats(r.frr)->repairs, 2);
	cr_expect_leq(frr_stats(r.frr)->calls, calls + 1);
	free(log);
	free(ann);
	free(reg);
	free(state);
	rig_teardown(&r);
}

static void
healthy(struct rig *r)
{
	struct pfx	v4 = P("192.0.2.53/32");

	put(r, "", "ipv4 192.0.2.53/32 \nipv6 2001:db8::53/128 \n");
	put(r, ".announced", "192.0.2.53/32\n");
	put(r, ".addrs", "192.0.2.53/32\n");
	put(r, ".registered", "192.0.2.53/32\n2001:db8::53/128\n");
	frr_track_addr(r->frr, &v4, true);
}

Test(frr, healthy_tracking_is_never_touched)
{
	struct rig	 r = { .track = true, .before_start = healthy };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		*log, *ann;

	rig_setup(&r, "ok", "2s");
	run_ms(r.ev, 600);
	/* The address goes: zebra tells bgpd, the verification finds it withdrawn. */
	put(&r, ".addrs", "");
	frr_track_addr(r.frr, &v4, false);
	run_ms(r.ev, 600);
	log = slurp(r.log);
	cr_expect(strstr(log, "configure terminal") == NULL, "%s", log);
	cr_expect_geq(frr_stats(r.frr)->verifies, 2);
	cr_expect_eq(frr_stats(r.frr)->repairs, 0);
	ann = get(&r, ".announced");
	cr_expect_str_eq(ann, "");
	free(log);
	free(ann);
	rig_teardown(&r);
}

/* zebra down: bgpd is not on zebra, so re-entering cannot register anything... */
static void
untracked_not_stale(struct rig *r)
{
	put(r, "", "ipv4 192.0.2.53/32 \n");
	put(r, ".announced", "");
	put(r, ".addrs", "");
	put(r, ".registered", "");
}

Test(frr, untracked_is_left_alone_until_bgpd_is_back_on_zebra)
{
	struct rig	 r = { .track = true, .before_start = untracked_not_stale };
	char		*log;

	rig_setup(&r, "nozebra", "2s");
	run_ms(r.ev, 600);
	log = slurp(r.log);
	cr_expect(strstr(log, "configure terminal") == NULL, "%s", log);
	cr_expect_geq(frr_stats(r.frr)->verifies, 1);
	cr_expect_eq(frr_stats(r.frr)->failures, 0, "zebra down is no failure of bgpd's");
	free(log);
	rig_teardown(&r);
}

/* ... but a stale announcement is withdrawn all the same. */
static void
stale_zebra_down(struct rig *r)
{
	put(r, "", "ipv4 192.0.2.53/32 \n");
	put(r, ".announced", "192.0.2.53/32\n");
	put(r, ".addrs", "");
	put(r, ".registered", "");
}

Test(frr, stale_announcement_is_repaired_while_zebra_is_down)
{
	struct rig	 r = { .track = true, .before_start = stale_zebra_down };
	char		*log;

	rig_setup(&r, "nozebra", "2s");
	run_ms(r.ev, 800);
	log = slurp(r.log);
	cr_expect(strstr(log, "no network 192.0.2.53/32|network 192.0.2.53/32|") != NULL,
	    "%s", log);
	cr_expect_eq(frr_stats(r.frr)->repairs, 1);
	free(log);
	rig_teardown(&r);
}

/* The operator's statement is missing: nothing to re-enter, nothing added. */
static void
no_statement(struct rig *r)
{
	put(r, "", "");
	put(r, ".announced", "");
	put(r, ".addrs", "");
	put(r, ".registered", "");
}

Test(frr, missing_statement_is_never_added)
{
	struct rig	 r = { .track = true, .before_start = no_statement };
	char		*log, *state;

	rig_setup(&r, "ok", "2s");
	run_ms(r.ev, 600);
	log = slurp(r.log);
	state = get(&r, "");
	cr_expect(strstr(log, "configure terminal") == NULL, "%s", log);
	cr_expect_str_eq(state, "");
	free(log);
	free(state);
	rig_teardown(&r);
}

static void
stale_rm1(struct rig *r)
{
	put(r, "", "ipv4 192.0.2.53/32 RM1\n");
	put(r, ".announced", "192.0.2.53/32\n");
	put(r, ".addrs", "");
	put(r, ".registered", "");
}

/* A repair cut short after `no network P` puts the operator's statement back. */
Test(frr, repair_cut_short_re_enters_the_statement)
{
	struct rig	 r = { .track = true, .before_start = stale_rm1 };
	char		*log, *state;

	rig_setup(&r, "cut", "2s");
	run_ms(r.ev, 1500);
	log = slurp(r.log);
	state = get(&r, "");
	cr_expect(strstr(log, "|no network 192.0.2.53/32|network 192.0.2.53/32 route-map RM1|")
	    != NULL, "%s", log);
	cr_expect(strstr(log, "address-family ipv4 unicast|network 192.0.2.53/32 route-map RM1|"
	    "exit-address-family|") != NULL, "re-entered alone: %s", log);
	cr_expect(strstr(state, "ipv4 192.0.2.53/32 RM1") != NULL, "%s", state);
	cr_expect_not(frr_repairing(r.frr));
	free(log);
	free(state);
	rig_teardown(&r);
}

/* The network method fails (read-back mismatch, long backoff); v6 is tracked and stale. */
static void
network_failing_v6_stale(struct rig *r)
{
	struct pfx	v4 = P("192.0.2.53/32"), v6 = P("2001:db8::53/128");
	struct frr_timing t = { .backoff_min_us = 5000000, .backoff_max_us = 10000000,
		.check_interval_us = 60000000, .replay_poll_us = 50000, .replay_max_us = 200000,
		.verify_delay_us = 50000, .zebra_poll_us = 100000, .zebra_wait_max_us = 1000000 };

	frr_set_timing(r->frr, &t);
	frr_untrack_all(r->frr);
	cr_assert_eq(frr_track(r->frr, &v6), 0);
	cr_assert_eq(frr_manage(r->frr, &v4), 0);
	want(r, &v4, true, NULL);
	put(r, "", "ipv6 2001:db8::53/128 \n");
	put(r, ".announced", "2001:db8::53/128\n");
	put(r, ".addrs", "");
	put(r, ".registered", "");
}

Test(frr, failing_network_method_never_holds_up_a_repair)
{
	struct rig	 r = { .track = true, .before_start = network_failing_v6_stale };
	char		*log, *ann;

	/* "normalize" stores network 192.0.2.53/32 as 192.0.2.0/24: a mismatch. */
	rig_setup(&r, "normalize", "2s");
	run_ms(r.ev, 1500);
	log = slurp(r.log);
	ann = get(&r, ".announced");
	cr_expect(strstr(log, "no network 2001:db8::53/128|network 2001:db8::53/128|") != NULL,
	    "%s", log);
	cr_expect_eq(frr_stats(r.frr)->repairs, 1);
	cr_expect_str_eq(ann, "", "the stale v6 prefix is withdrawn");
	cr_expect(frr_failing(r.frr), "the network method fails all the same");
	free(log);
	free(ann);
	rig_teardown(&r);
}

/* v4 stays announced whatever is re-entered; v6 is healthy until later. */
static void
v4_stuck_v6_healthy(struct rig *r)
{
	struct pfx	v6 = P("2001:db8::53/128");
	struct frr_timing t = { .backoff_min_us = 2000000, .backoff_max_us = 4000000,
		.check_interval_us = 60000000, .replay_poll_us = 50000, .replay_max_us = 200000,
		.verify_delay_us = 50000, .zebra_poll_us = 100000, .zebra_wait_max_us = 1000000 };

	frr_set_timing(r->frr, &t);
	setenv("FAKE_VTYSH_STUCK", "192.0.2.53/32", 1);
	put(r, "", "ipv4 192.0.2.53/32 \nipv6 2001:db8::53/128 \n");
	put(r, ".announced", "192.0.2.53/32\n2001:db8::53/128\n");
	put(r, ".addrs", "2001:db8::53/128\n");
	put(r, ".registered", "2001:db8::53/128\n");
	frr_track_addr(r->frr, &v6, true);
}

Test(frr, repair_backoff_is_per_prefix)
{
	struct rig	 r = { .track = true, .before_start = v4_stuck_v6_healthy };
	struct pfx	 v6 = P("2001:db8::53/128");
	char		*log, *ann;
	uint64_t	 verifies;

	rig_setup(&r, "ok", "2s");
	run_ms(r.ev, 800);
	/* v4 repaired once, still stale: it waits for its own backoff (2 s). */
	cr_expect_eq(frr_stats(r.frr)->repairs, 1);
	verifies = frr_stats(r.frr)->verifies;
	/* v6 goes stale (zebra no longer tracks it): repaired at once. */
	put(&r, ".addrs", "");
	put(&r, ".registered", "");
	frr_track_addr(r.frr, &v6, false);
	run_ms(r.ev, 600);
	log = slurp(r.log);
	ann = get(&r, ".announced");
	cr_expect(strstr(log, "no network 2001:db8::53/128|network 2001:db8::53/128|") != NULL,
	    "%s", log);
	cr_expect_eq(frr_stats(r.frr)->repairs, 2, "v4 not again, v6 at once");
	cr_expect_gt(frr_stats(r.frr)->verifies, verifies, "verified during v4's backoff");
	cr_expect(strstr(ann, "2001:db8::53/128") == NULL, "%s", ann);
	free(log);
	free(ann);
	rig_teardown(&r);
}

/* A verification that fails says nothing about FRR's statements. */
Test(frr, failed_verification_is_not_a_failing_link)
{
	struct rig	 r = { .track = true, .before_start = stale_after_zebra_restart };

	rig_setup(&r, "noverify", "2s");
	run_ms(r.ev, 600);
	cr_expect_geq(frr_stats(r.frr)->verifies, 1);
	cr_expect_geq(frr_stats(r.frr)->failures, 1);
	cr_expect(frr_verify_failing(r.frr));
	cr_expect_not(frr_failing(r.frr));
	cr_expect(frr_synced(r.frr));
	rig_teardown(&r);
}

/* v4 healthy, tracked by zebra for bgpd. */
static void
v4_healthy(struct rig *r)
{
	struct pfx	v4 = P("192.0.2.53/32");

	put(r, "", "ipv4 192.0.2.53/32 \n");
	put(r, ".announced", "192.0.2.53/32\n");
	put(r, ".addrs", "192.0.2.53/32\n");
	put(r, ".registered", "192.0.2.53/32\n");
	frr_track_addr(r->frr, &v4, true);
}

/* A reload drops v4 from the configuration while zebra no longer tracks it. */
Test(frr, prefix_removed_by_reload_is_verified_until_withdrawn)
{
	struct rig	 r = { .track = true, .before_start = v4_healthy };
	struct pfx	 v4 = P("192.0.2.53/32"), v6 = P("2001:db8::53/128");
	char		*ann;

	rig_setup(&r, "ok", "2s");
	run_ms(r.ev, 400);
	frr_untrack_all(r.frr);
	cr_assert_eq(frr_track(r.frr, &v6), 0);
	/* zebra restarted meanwhile; then the orphan's address goes. */
	put(&r, ".registered", "");
	put(&r, ".addrs", "");
	frr_track_addr(r.frr, &v4, false);
	cr_expect_not(frr_withdrawn(r.frr));
	run_ms(r.ev, 800);
	ann = get(&r, ".announced");
	cr_expect_str_eq(ann, "", "the removed prefix is withdrawn");
	cr_expect_eq(frr_stats(r.frr)->repairs, 1);
	cr_expect(frr_withdrawn(r.frr));
	free(ann);
	rig_teardown(&r);
}

/*
 * Moved to method address while degraded or draining: the route-map is
 * ours and comes off (plain `network P` stays, the operator's), then the
 * prefix is forgotten.
 */
Test(frr, released_to_method_address_loses_our_route_map)
{
	struct rig	 r = { 0 };
	struct pfx	 v4 = P("192.0.2.53/32");
	char		*state, *log;

	rig_setup(&r, "ok", "2s");
	cr_assert(run_until_synced(&r, 3000));
	want(&r, &v4, true, "ANYCAST-GSHUT");
	cr_assert(run_until_synced(&r, 3000));
	frr_release(r.frr, &v4, false);
	want(&r, &v4, false, NULL);	/* ignored from now on */
	cr_assert(run_until_synced(&r, 3000));
	state = slurp(r.state);
	cr_expect_str_eq(state, "ipv4 192.0.2.53/32 \n", "the route-map stayed: %s", state);
	free(state);
	cr_expect_not(frr_holds(r.frr, &v4), "still managed after the read-back");
	/* Forgotten: a route-map set by hand later stays. */
	cr_assert_not_null(r.state);
	FILE *fp = fopen(r.state, "w");
	cr_assert_not_null(fp);
	fputs("ipv4 192.0.2.53/32 HAND\n", fp);
	fclose(fp);
	frr_check(r.frr);
	cr_assert(run_until_synced(&r, 3000));
	state = slurp(r.state);
	cr_expect_str_eq(state, "ipv4 192.0.2.53/32 HAND\n");
	log = slurp(r.log);
	cr_expect_eq(log_count(log, "no network 192.0.2.53/32"), 0, "%s", log);
	cr_expect_eq(frr_stats(r.frr)->failures, 0);
	free(state);
	free(log);
	rig_teardown(&r);
}

/* vtysh gets the open-files limit the daemon had before raising its own. */
Test(frr, vtysh_gets_the_open_files_limit_from_before_the_raise)
{
	struct rig	 r = { 0 };
	struct rlimit	 rl;
	char		 wrap[256], out[256], *got;
	FILE		*fp;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= 512)
		cr_skip_test("hard open files limit %llu", (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 512;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(nofile_raise(&rl), 0);
	cr_assert_eq(rl.rlim_cur, rl.rlim_max);
	snprintf(wrap, sizeof(wrap), "/tmp/ahd-vtysh-nofile-%d.sh", getpid());
	snprintf(out, sizeof(out), "/tmp/ahd-vtysh-nofile-%d.out", getpid());
	fp = fopen(wrap, "w");
	cr_assert_not_null(fp);
	fprintf(fp, "#!/bin/sh\nulimit -Sn >%s\nexec %s \"$@\"\n", out, FAKE);
	fclose(fp);
	chmod(wrap, 0755);
	rig_setup_vtysh(&r, "ok", "2s", wrap);
	cr_expect(run_until_synced(&r, 3000));
	got = slurp(out);
	cr_expect_str_eq(got, "512\n");
	free(got);
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_expect_eq(rl.rlim_cur, rl.rlim_max, "the daemon's own limit was not put back");
	unlink(wrap);
	unlink(out);
	rig_teardown(&r);
}
