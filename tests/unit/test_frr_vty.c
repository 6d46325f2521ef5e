/*
 * The FRR driver's reads through the daemons' vty sockets (frr_vty.c),
 * against a fake bgpd.vty served by a child process: answers split across
 * writes, larger than a buffer, a status other than 0, a missing
 * terminator, a NUL inside the answer, no answer at all. Every failure must
 * end in the same read through vtysh (the fake vtysh of test_frr.c).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "cfg.h"
#include "frr.h"
#include "testutil.h"

#define FAKE	TEST_DATADIR "/frr/fake-vtysh"

/* What bgpd 8.4 prints for `show running-config` over its socket (its part only). */
static const char running[] =
    "Building configuration...\n\nCurrent configuration:\n!\nfrr version 8.4.4\n"
    "frr defaults traditional\nhostname node\n!\nrouter bgp 65001\n"
    " bgp router-id 192.0.2.1\n !\n address-family ipv4 unicast\n"
    "  network 192.0.2.53/32\n exit-address-family\n !\n"
    " address-family ipv6 unicast\n  network 2001:db8::53/128\n"
    " exit-address-family\nexit\n!\nend\n";

struct vrig {
	sd_event	*ev;
	struct cfg	*cfg;
	struct frr	*frr;
	char		 dir[64], state[96], log[96];
	pid_t		 srv;
	unsigned	 accepted;
};

static bool
vrig_desired(void *arg, const struct pfx *p, const char **rm)
{
	(void)arg;
	(void)p;
	*rm = NULL;
	return true;
}

static void
put(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 w;

	while (len > 0) {
		if ((w = write(fd, p, len)) <= 0)
			_exit(1);
		p += w;
		len -= (size_t)w;
	}
}

/* One command's answer as bgpd would give it, or broken as mode says. */
static void
srv_answer(int fd, const char *mode, const char *cmd, bool zebra)
{
	static const char	 ok[4] = { 0, 0, 0, 0 }, warn[4] = { 0, 0, 0, 1 };
	size_t			 half = sizeof(running) / 2;

	if (strcmp(cmd, "enable") == 0) {
		put(fd, ok, 4);
		return;
	}
	/* Each daemon knows its own commands only. */
	if (zebra != (strncmp(cmd, "show zebra ", 11) == 0 || strstr(cmd, " nht") != NULL)) {
		put(fd, "% Unknown command\n", 18);
		put(fd, warn, 4);
		return;
	}
	if (strncmp(cmd, "show bgp ", 9) == 0) {
		put(fd, "{\n}\n", 4);	/* not announced */
		put(fd, ok, 4);
		return;
	}
	if (strcmp(cmd, "show zebra client summary") == 0) {
		put(fd, "Name    Connect Time\n-----\nbgp     00:00:01\n", 44);
		put(fd, ok, 4);
		return;
	}
	if (strncmp(cmd, "show ip nht", 11) == 0 || strncmp(cmd, "show ipv6 nht", 13) == 0) {
		const char *a = strncmp(cmd, "show ip ", 8) == 0 ? "192.0.2.53\n" : "2001:db8::53\n";
		put(fd, a, strlen(a));
		a = " resolved via connected\n Client list: bgp(fd 15)\n";
		put(fd, a, strlen(a));
		put(fd, ok, 4);
		return;
	}
	if (strcmp(cmd, "show running-config") != 0) {
		put(fd, "% Unknown command\n", 18);
		put(fd, warn, 4);
		return;
	}
	if (strcmp(mode, "hang") == 0)
		pause();
	if (strcmp(mode, "big") == 0)
		for (size_t i = 0; i < 20000; i++)
			put(fd, "! a long configuration of someone else's\n", 41);
	if (strcmp(mode, "nul") == 0)
		put(fd, "Building\0configuration", 22);
	/* The text, then its terminator cut in the middle, in separate writes. */
	put(fd, running, half);
	usleep(20000);
	put(fd, running + half, sizeof(running) - 1 - half);
	if (strcmp(mode, "noterm") == 0)
		_exit(0);
	usleep(20000);
	put(fd, ok, 2);
	usleep(20000);
	put(fd, strcmp(mode, "status") == 0 ? warn + 2 : ok + 2, 2);
}

/* Serves one connection until the client closes it. */
static void
srv_conn(int fd, const char *mode, bool zebra)
{
	char	cmd[512];
	size_t	n = 0;
	ssize_t	r;

	while ((r = read(fd, cmd + n, 1)) == 1) {
		if (cmd[n] != '\0') {
			if (++n == sizeof(cmd))
				_exit(1);
			continue;
		}
		srv_answer(fd, mode, cmd, zebra);
		n = 0;
	}
	close(fd);
}

static int
srv_listen(struct vrig *r, const char *daemon)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			l;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.vty", r->dir, daemon);
	cr_assert_neq(l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), -1);
	cr_assert_eq(bind(l, (struct sockaddr *)&sun, sizeof(sun)), 0, "%s", strerror(errno));
	cr_assert_eq(listen(l, 8), 0);
	return l;
}

/* bgpd.vty and zebra.vty in r->dir, served one connection at a time by a child. */
static void
srv_start(struct vrig *r, const char *mode)
{
	struct pollfd	pf[2] = { { .events = POLLIN }, { .events = POLLIN } };
	int		c;

	pf[0].fd = srv_listen(r, "bgpd");
	pf[1].fd = srv_listen(r, "zebra");
	cr_assert_neq(r->srv = fork(), -1);
	if (r->srv == 0) {
		signal(SIGPIPE, SIG_IGN);
		while (poll(pf, 2, -1) > 0)
			for (size_t i = 0; i < 2; i++)
				if ((pf[i].revents & POLLIN) &&
				    (c = accept(pf[i].fd, NULL, NULL)) != -1)
					srv_conn(c, mode, i == 1);
		_exit(0);
	}
	close(pf[0].fd);
	close(pf[1].fd);
}

/* A driver managing two prefixes, both wanted, its sockets in r->dir. */
static void
vrig_setup_track(struct vrig *r, const char *mode, const char *timeout, bool track)
{
	char		main_json[512];
	sigset_t	mask;
	struct frr_timing t = { .backoff_min_us = 100000, .backoff_max_us = 400000,
		.check_interval_us = 60000000, .replay_poll_us = 50000, .replay_max_us = 200000,
		.verify_delay_us = 50000, .zebra_poll_us = 100000, .zebra_wait_max_us = 1000000 };

	memset(r, 0, sizeof(*r));
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	snprintf(r->dir, sizeof(r->dir), "/tmp/ahd-vty-XXXXXX");
	cr_assert_not_null(mkdtemp(r->dir));
	if (mode != NULL)
		srv_start(r, mode);
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
	setenv("FAKE_VTYSH_MODE", "ok", 1);
	cr_assert_geq(sd_event_new(&r->ev), 0);
	cr_assert_not_null(r->frr = frr_new(r->ev, r->cfg, NULL, NULL));
	frr_set_desired(r->frr, vrig_desired, r);
	frr_set_timing(r->frr, &t);
	frr_set_vty_dir(r->frr, r->dir);
	for (size_t i = 0; i < r->cfg->services[0].nprefixes; i++) {
		const struct pfx *p = &r->cfg->services[0].prefixes[i];
		cr_assert_eq(track ? frr_track(r->frr, p) : frr_manage(r->frr, p), 0);
		/* The v6 address gone: the verification asks bgpd about it. */
		if (track)
			frr_track_addr(r->frr, p, p->family == AF_INET);
	}
	cr_assert_geq(frr_start(r->frr), 0);
}

static void
vrig_setup(struct vrig *r, const char *mode, const char *timeout)
{
	vrig_setup_track(r, mode, timeout, false);
}

static void
vrig_teardown(struct vrig *r)
{
	char	path[160];

	frr_free(r->frr);
	sd_event_unref(r->ev);
	cfg_free(r->cfg);
	if (r->srv > 0) {
		kill(r->srv, SIGKILL);
		waitpid(r->srv, NULL, 0);
	}
	snprintf(path, sizeof(path), "%s/bgpd.vty", r->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/zebra.vty", r->dir);
	unlink(path);
	rmdir(r->dir);
	unlink(r->state);
	unlink(r->log);
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s.%s", r->state,
		    (const char *[]){ "addrs", "announced", "registered" }[i]);
		unlink(path);
	}
	tu_cleanup();
}

static bool
run_until_synced(struct vrig *r, unsigned ms)
{
	uint64_t	end = now_us() + ms * 1000ULL;

	while (now_us() < end && !frr_synced(r->frr))
		sd_event_run(r->ev, 10000);
	return frr_synced(r->frr);
}

/* How many times the fake vtysh ran a call with cmd in it. */
static unsigned
vtysh_calls(const struct vrig *r, const char *cmd)
{
	FILE		*fp = fopen(r->log, "r");
	char		 line[4096];
	unsigned	 n = 0;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		n += strstr(line, cmd) != NULL;
	fclose(fp);
	return n;
}

/*
 * The socket answers, split across writes (the terminator too): the
 * statements are known without a single vtysh run. Fails if the socket
 * path is broken, since the fallback would run the fake vtysh.
 */
Test(frr_vty, running_config_read_through_the_socket_without_vtysh)
{
	struct vrig	r;

	vrig_setup(&r, "ok", "2s");
	cr_expect(run_until_synced(&r, 3000), "not synced through the socket");
	for (size_t i = 0; i < r.cfg->services[0].nprefixes; i++)
		cr_expect(frr_holds(r.frr, &r.cfg->services[0].prefixes[i]));
	cr_expect_eq(frr_asn(r.frr), 65001);
	cr_expect_eq(vtysh_calls(&r, ""), 0, "vtysh ran %u times", vtysh_calls(&r, ""));
	cr_expect_geq(frr_stats(r.frr)->vty_reads, 1);
	cr_expect_eq(frr_stats(r.frr)->vty_fallbacks, 0);
	cr_expect_eq(frr_stats(r.frr)->calls, 0);
	/* A second read reuses nothing stale: a fresh connection, same answer. */
	frr_check(r.frr);
	cr_expect(run_until_synced(&r, 3000));
	cr_expect_geq(frr_stats(r.frr)->vty_reads, 2);
	cr_expect_eq(vtysh_calls(&r, ""), 0);
	vrig_teardown(&r);
}

Test(frr_vty, answer_larger_than_a_buffer)
{
	struct vrig	r;

	vrig_setup(&r, "big", "3s");
	cr_expect(run_until_synced(&r, 5000));
	for (size_t i = 0; i < r.cfg->services[0].nprefixes; i++)
		cr_expect(frr_holds(r.frr, &r.cfg->services[0].prefixes[i]));
	cr_expect_eq(vtysh_calls(&r, ""), 0);
	cr_expect_eq(frr_stats(r.frr)->vty_fallbacks, 0);
	vrig_teardown(&r);
}

/* Each broken answer: the read is made again by vtysh, which then applies. */
static void
expect_fallback(const char *mode, const char *timeout, unsigned ms)
{
	struct vrig	r;

	vrig_setup(&r, mode, timeout);
	cr_expect(run_until_synced(&r, ms), "%s: not synced through vtysh", mode);
	cr_expect_geq(frr_stats(r.frr)->vty_fallbacks, 1, "%s", mode);
	cr_expect_eq(frr_stats(r.frr)->vty_reads, 0, "%s", mode);
	cr_expect_geq(vtysh_calls(&r, "show running-config"), 1, "%s", mode);
	/* The apply went through vtysh, as every change does. */
	cr_expect_eq(vtysh_calls(&r, "configure terminal"), 1, "%s", mode);
	vrig_teardown(&r);
}

Test(frr_vty, no_socket_falls_back_to_vtysh)
{
	expect_fallback(NULL, "2s", 5000);
}

Test(frr_vty, status_other_than_success_falls_back_to_vtysh)
{
	expect_fallback("status", "2s", 5000);
}

Test(frr_vty, missing_terminator_falls_back_to_vtysh)
{
	expect_fallback("noterm", "2s", 5000);
}

Test(frr_vty, nul_inside_the_answer_falls_back_to_vtysh)
{
	expect_fallback("nul", "2s", 5000);
}

/* A daemon that never answers costs frr.timeout, then vtysh reads; the loop never blocks. */
Test(frr_vty, silent_socket_times_out_and_falls_back_to_vtysh)
{
	struct vrig	r;
	uint64_t	t0;

	vrig_setup(&r, "hang", "300ms");
	t0 = now_us();
	/* While the socket is silent the loop turns: nothing blocks in a callback. */
	cr_assert_geq(sd_event_run(r.ev, 50000), 0);
	cr_expect_lt(now_us() - t0, 200000);
	cr_expect(run_until_synced(&r, 5000));
	cr_expect_geq(frr_stats(r.frr)->vty_fallbacks, 1);
	cr_expect_geq(vtysh_calls(&r, "show running-config"), 1);
	vrig_teardown(&r);
}

/*
 * The address method's verification: `show bgp ... json` from bgpd,
 * `show zebra client summary` and `show ip|ipv6 nht` from zebra, each on
 * its own socket; nothing stale, nothing repaired, no vtysh.
 */
Test(frr_vty, verification_asks_bgpd_and_zebra_on_their_sockets)
{
	struct vrig	r;
	uint64_t	end;

	vrig_setup_track(&r, "ok", "2s", true);
	end = now_us() + 3000000;
	while (now_us() < end && (frr_stats(r.frr)->verifies == 0 || !frr_zebra_settled(r.frr)))
		sd_event_run(r.ev, 10000);
	cr_expect_geq(frr_stats(r.frr)->verifies, 1);
	cr_expect(frr_zebra_settled(r.frr), "zebra's answers not understood");
	cr_expect(!frr_verify_failing(r.frr));
	cr_expect(frr_withdrawn(r.frr), "the v6 prefix not seen withdrawn");
	cr_expect_eq(frr_stats(r.frr)->repairs, 0);
	cr_expect_eq(frr_stats(r.frr)->vty_fallbacks, 0);
	cr_expect_eq(vtysh_calls(&r, ""), 0, "vtysh ran: %u", vtysh_calls(&r, ""));
	vrig_teardown(&r);
}

/* Bit k set: descriptor k is a socket (k < 1024). */
static void
socket_fds(unsigned char set[128])
{
	char	path[64], link[64];
	ssize_t	n;

	memset(set, 0, 128);
	for (int k = 0; k < 1024; k++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", k);
		if ((n = readlink(path, link, sizeof(link) - 1)) <= 0)
			continue;
		link[n] = '\0';
		if (strncmp(link, "socket:", 7) == 0)
			set[k / 8] |= (unsigned char)(1u << (k % 8));
	}
}

/*
 * Shutting down while a daemon has not answered yet: frr_free() closes the
 * socket (and ASan's leak check sees the call's argv and buffer freed).
 */
Test(frr_vty, free_during_a_socket_read_closes_the_socket)
{
	struct vrig	r;
	unsigned char	before[128], during[128], after[128];
	int		opened = 0, left = 0;

	socket_fds(before);
	vrig_setup(&r, "hang", "5s");
	for (int i = 0; i < 5; i++)
		cr_assert_geq(sd_event_run(r.ev, 20000), 0);
	socket_fds(during);
	frr_free(r.frr);
	r.frr = NULL;
	socket_fds(after);
	for (size_t k = 0; k < 128; k++) {
		opened += __builtin_popcount(during[k] & (unsigned char)~before[k]);
		left += __builtin_popcount(during[k] & (unsigned char)~before[k] & after[k]);
	}
	cr_expect_eq(opened, 1, "%d sockets opened for the read, not one", opened);
	cr_expect_eq(left, 0, "%d of them still open after frr_free()", left);
	cr_expect_eq(vtysh_calls(&r, ""), 0, "vtysh ran before the socket's timeout");
	vrig_teardown(&r);
}
