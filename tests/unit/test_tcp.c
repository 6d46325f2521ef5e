/* The TCP probe against listeners made by the test, on the real event loop. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compiler.h"
#include "clock.h"
#include "cfg.h"
#include "probe.h"
#include "testutil.h"

struct server {
	int		 lfd;
	const char	*reply;		/* NULL: accept, say nothing */
	bool		 read_first;	/* answer only after the client has sent */
	bool		 close_after;
	unsigned	 delay_ms;	/* before answering */
	char		 got[256];	/* what the client sent */
	sd_event_source	*src, *csrc;
	int		 cfd;
};

static void
server_answer(struct server *sv)
{
	if (sv->delay_ms)
		usleep(sv->delay_ms * 1000);
	if (sv->reply != NULL)
		(void)!write(sv->cfd, sv->reply, strlen(sv->reply));
	if (sv->close_after) {
		sd_event_source_disable_unref(sv->csrc);
		sv->csrc = NULL;
		close(sv->cfd);
		sv->cfd = -1;
	}
}

static int
server_read_cb(sd_event_source *s, int fd, uint32_t revents UNUSED, void *arg)
{
	struct server	*sv = arg;
	ssize_t		 n;

	n = recv(fd, sv->got, sizeof(sv->got) - 1, MSG_DONTWAIT);
	if (n > 0) {
		sv->got[n] = '\0';
		server_answer(sv);
	}
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	return 0;
}

static int
server_accept_cb(sd_event_source *s, int fd, uint32_t revents UNUSED, void *arg)
{
	struct server	*sv = arg;

	if ((sv->cfd = accept(fd, NULL, NULL)) == -1)
		return 0;
	if (sv->read_first)
		sd_event_add_io(sd_event_source_get_event(s), &sv->csrc, sv->cfd,
		    EPOLLIN, server_read_cb, sv);
	else
		server_answer(sv);
	return 0;
}

static void
server_start(sd_event *ev, struct server *sv, uint16_t *port)
{
	sv->lfd = tu_listen(8, port);
	sv->cfd = -1;
	cr_assert_geq(sd_event_add_io(ev, &sv->src, sv->lfd, EPOLLIN,
	    server_accept_cb, sv), 0);
}

static bool done;

static void
on_done(struct probe *p UNUSED, void *arg UNUSED)
{
	done = true;
}

/* Runs one attempt of a probe whose JSON body is given; returns the probe. */
static struct probe *
run_probe(sd_event *ev, const char *probe_json, struct cfg **cfgp)
{
	char		 svc[1024];
	struct probe	*p;

	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"1s\", \"timeout\": \"300ms\", \"probes\": [ %s ] }",
	    probe_json);
	*cfgp = tu_load(NULL, "svc", svc, NULL);
	p = probe_new(ev, &(*cfgp)->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 2000), "probe did not finish");
	return p;
}

static sd_event *ev;

static void
setup(void)
{
	cr_assert_geq(sd_event_new(&ev), 0);
}

static void
teardown(void)
{
	sd_event_unref(ev);
	tu_cleanup();
}

TestSuite(tcp, .init = setup, .fini = teardown);

Test(tcp, connect_ok)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 json[128];
	uint16_t	 port;
	int		 fd = tu_listen(8, &port);

	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u }", port);
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	cr_expect_eq(p->state, NAGIOS_OK);
	cr_expect_lt(p->latency_us, 100000);
	probe_free(p);
	cfg_free(cfg);
	close(fd);
}

Test(tcp, refused_is_critical_with_a_precise_message)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 json[128], want[64];
	uint16_t	 port = tu_closed_port();

	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u }", port);
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_CONN_REFUSED);
	cr_expect_eq(p->state, NAGIOS_CRITICAL);
	snprintf(want, sizeof(want), "connection to 127.0.0.1:%u refused", port);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
}

Test(tcp, ipv6_refused)
{
	struct cfg	*cfg;
	struct probe	*p;

	p = run_probe(ev, "{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 1 }", &cfg);
	/* ::1 may be absent in a minimal namespace; either way it is a precise failure. */
	cr_expect(p->result == PROBE_CONN_REFUSED || p->result == PROBE_CONN_FAILED);
	cr_expect_not_null(strstr(p->msg, "[::1]:1"), "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
}

Test(tcp, connect_timeout_when_the_accept_queue_is_full)
{
	struct cfg		*cfg;
	struct probe		*p;
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	char			 json[128];
	uint16_t		 port;
	int			 lfd = tu_listen(0, &port), filler[2];
	uint64_t		 t0;

	/* Fill the listener's queue: further SYNs are dropped, connect hangs. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (int i = 0; i < 2; i++) {
		filler[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(filler[i], (struct sockaddr *)&sin, sizeof(sin));
	}
	usleep(50000);
	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u }", port);
	t0 = now_us();
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_TIMEOUT, "%s: %s", probe_result_str(p->result), p->msg);
	cr_expect_str_eq(p->msg, "no answer within 300ms");
	cr_expect_geq(now_us() - t0, 290000);
	cr_expect_lt(now_us() - t0, 400000, "the hard timeout was late");
	probe_free(p);
	cfg_free(cfg);
	close(filler[0]);
	close(filler[1]);
	close(lfd);
}

Test(tcp, send_and_expect)
{
	struct cfg	*cfg;
	struct probe	*p;
	struct server	 sv = { .reply = "+PONG\r\n", .read_first = true };
	char		 json[256];
	uint16_t	 port;
	ssize_t		 n;
	int		 e;

	server_start(ev, &sv, &port);
	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u, \"send\": \"PING\\r\\n\", \"expect\": \"PONG\" }", port);
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	cr_expect_str_eq(sv.got, "PING\r\n");
	/* Answered: nothing more to say, the connection is reset. */
	n = recv(sv.cfd, sv.got, 1, MSG_DONTWAIT);
	e = errno;
	cr_expect(n == -1 && e == ECONNRESET, "recv %zd: %s", n, strerror(e));
	probe_free(p);
	cfg_free(cfg);
}

Test(tcp, expect_mismatch_shows_what_came)
{
	struct cfg	*cfg;
	struct probe	*p;
	struct server	 sv = { .reply = "-ERR busy\r\n", .close_after = true };
	char		 json[256], want[128];
	uint16_t	 port;

	server_start(ev, &sv, &port);
	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u, \"expect\": \"+OK\" }", port);
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_EXPECT_MISMATCH);
	cr_expect_eq(p->state, NAGIOS_CRITICAL);
	snprintf(want, sizeof(want), "127.0.0.1:%u answered '-ERR busy\\x0d\\x0a', "
	    "expected '+OK'", port);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
}

Test(tcp, closed_without_answer)
{
	struct cfg	*cfg;
	struct probe	*p;
	struct server	 sv = { .close_after = true };
	char		 json[256];
	uint16_t	 port;

	server_start(ev, &sv, &port);
	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u, \"expect\": \"220\" }", port);
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_CLOSED, "%s", p->msg);
	cr_expect_not_null(strstr(p->msg, "closed the connection without answering"));
	probe_free(p);
	cfg_free(cfg);
}

Test(tcp, silent_server_times_out)
{
	struct cfg	*cfg;
	struct probe	*p;
	struct server	 sv = { 0 };
	char		 json[256];
	uint16_t	 port;
	char		 c;
	ssize_t		 n;
	int		 e;

	server_start(ev, &sv, &port);
	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u, \"expect\": \"220\" }", port);
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_TIMEOUT, "%s", p->msg);
	/* Connected, then timed out waiting: that connection is reset too. */
	cr_assert_geq(sv.cfd, 0, "the server never accepted");
	n = recv(sv.cfd, &c, 1, MSG_DONTWAIT);
	e = errno;
	cr_expect(n == -1 && e == ECONNRESET, "recv %zd: %s", n, strerror(e));
	close(sv.cfd);
	probe_free(p);
	cfg_free(cfg);
}

Test(tcp, slow_answer_is_a_warning)
{
	struct cfg	*cfg;
	struct probe	*p;
	struct server	 sv = { .reply = "ok", .delay_ms = 20 };
	char		 json[256];
	uint16_t	 port;

	/* The server waits 20 ms before answering; warn above 5 ms, critical above 1 s. */
	server_start(ev, &sv, &port);
	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u, \"expect\": \"ok\", \"warning\": \"5ms\", \"critical\": \"1s\" }",
	    port);
	p = run_probe(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_OK);
	cr_expect_eq(p->state, NAGIOS_WARNING, "%s", p->msg);
	cr_expect_not_null(strstr(p->msg, "(slower than 5ms)"), "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
}

/*
 * TCP sockets on 127.0.0.1 in TIME_WAIT towards port (a sock_diag dump of
 * that state), or -1 when this kernel offers no sock_diag for TCP (no
 * tcp_diag/inet_diag module, or a sandbox without NETLINK_SOCK_DIAG): a
 * clean machine may lack it, and then there is nothing to count with.
 */
static int
time_wait_towards(uint16_t port)
{
	struct {
		struct nlmsghdr		nlh;
		struct inet_diag_req_v2	req;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		    .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.req = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP,
		    .idiag_states = 1U << TCP_TIME_WAIT },
	};
	static char		 buf[32768];
	struct nlmsghdr		*h;
	struct nlmsgerr		*e;
	struct inet_diag_msg	*m;
	int			 n = 0, err;
	bool			 end = false;
	ssize_t			 len;
	int			 fd;

	fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (fd == -1 && (errno == EPROTONOSUPPORT || errno == EAFNOSUPPORT))
		return -1;
	cr_assert_geq(fd, 0, "sock_diag: %s", strerror(errno));
	cr_assert_eq(send(fd, &q, sizeof(q), 0), (ssize_t)sizeof(q));
	while (!end) {
		len = recv(fd, buf, sizeof(buf), 0);
		cr_assert_gt(len, 0, "sock_diag: %s", strerror(errno));
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)len) && !end;
		    h = NLMSG_NEXT(h, len)) {
			/*
			 * No inet_diag: an NLMSG_ERROR; inet_diag without
			 * tcp_diag: NLMSG_DONE carrying the error. Both ENOENT.
			 */
			if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) {
				e = NLMSG_DATA(h);
				err = h->nlmsg_type == NLMSG_ERROR ? e->error :
				    h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) ?
				    *(int *)NLMSG_DATA(h) : 0;
				end = true;
				if (err == -ENOENT || err == -EOPNOTSUPP ||
				    err == -EPROTONOSUPPORT) {
					n = -1;
					break;
				}
				cr_assert_eq(err, 0, "sock_diag dump failed: %s", strerror(-err));
				break;
			}
			m = NLMSG_DATA(h);
			n += m->id.idiag_dport == htons(port) &&
			    m->id.idiag_dst[0] == htonl(INADDR_LOOPBACK);
		}
	}
	close(fd);
	return n;
}

/*
 * 20 connect-only checks against the listener lfd on port: each resets the
 * connection it is done with, so the server reads ECONNRESET, not EOF; the
 * server then closes its side.
 */
static void
expect_resets(int lfd, uint16_t port)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 json[128], c;
	int		 cfd;
	ssize_t		 n;

	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u }", port);
	for (int i = 0; i < 20; i++) {
		p = run_probe(ev, json, &cfg);
		cr_assert_eq(p->result, PROBE_OK, "%s", p->msg);
		probe_free(p);
		cfg_free(cfg);
		tu_cleanup();
		cr_assert_geq(cfd = accept(lfd, NULL, NULL), 0, "accept: %s", strerror(errno));
		n = recv(cfd, &c, 1, 0);
		cr_expect(n == -1 && errno == ECONNRESET, "attempt %d: the server read %zd (%s), "
		    "not a reset", i, n, n == -1 ? strerror(errno) : "EOF");
		close(cfd);
	}
}

/* A connect-only check resets the connection it is done with. */
Test(tcp, done_connection_is_reset)
{
	uint16_t	 port;
	int		 lfd = tu_listen(32, &port);

	expect_resets(lfd, port);
	close(lfd);
}

/*
 * ... and so, once the server has closed its side too, no TIME_WAIT socket
 * is left (a FIN close leaves one on the probe's side per check). Counted
 * with sock_diag; skipped, saying so, where the kernel has none for TCP.
 */
Test(tcp, done_connection_leaves_no_time_wait)
{
	uint16_t	 port;
	int		 lfd = tu_listen(32, &port);

	if (time_wait_towards(port) == -1) {
		close(lfd);
		cr_skip_test("no sock_diag for TCP on this kernel (tcp_diag module?): "
		    "cannot count TIME_WAIT sockets");
	}
	expect_resets(lfd, port);
	cr_expect_eq(time_wait_towards(port), 0);
	close(lfd);
}

/* send without expect: what was sent must arrive whole, so that connection ends with a FIN. */
Test(tcp, send_without_expect_closes_gracefully)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 json[160], got[16];
	uint16_t	 port;
	int		 lfd = tu_listen(8, &port), cfd;
	ssize_t		 n, m;

	snprintf(json, sizeof(json), "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": %u, \"send\": \"QUIT\\r\\n\" }", port);
	p = run_probe(ev, json, &cfg);
	cr_assert_eq(p->result, PROBE_OK, "%s", p->msg);
	cr_assert_geq(cfd = accept(lfd, NULL, NULL), 0);
	n = recv(cfd, got, sizeof(got) - 1, MSG_WAITALL);
	cr_assert_eq(n, 6, "read %zd: %s", n, n == -1 ? strerror(errno) : "");
	got[n] = '\0';
	cr_expect_str_eq(got, "QUIT\r\n");
	m = recv(cfd, got, sizeof(got), 0);
	cr_expect_eq(m, 0, "not EOF after the string: %zd (%s)", m, m == -1 ? strerror(errno) : "");
	probe_free(p);
	cfg_free(cfg);
	close(cfd);
	close(lfd);
}

/*
 * A server that speaks first can match `expect` while our `send` is still
 * in flight (here: more than its small window, and it does not read). A
 * reset would discard the rest; the probe closes with a FIN instead, and the
 * server, reading later, gets the whole string and then EOF.
 */
Test(tcp, send_still_in_flight_after_expect_closes_gracefully)
{
	enum { LEN = 8192 };
	struct cfg	*cfg;
	struct probe	*p;
	struct server	 sv = { .reply = "220 ready\r\n" };
	struct timeval	 tv = { .tv_sec = 1 };
	static char	 json[LEN + 512], big[LEN + 1], got[LEN + 1];
	int		 small = 2048;
	uint16_t	 port;
	size_t		 total = 0;
	ssize_t		 n;

	memset(big, 'x', LEN);
	server_start(ev, &sv, &port);
	/* Accepted sockets inherit the listener's receive buffer: a window of ~2 KiB. */
	cr_assert_eq(setsockopt(sv.lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	snprintf(json, sizeof(json), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"1s\", \"timeout\": \"300ms\", \"probes\": [ { \"type\": \"tcp\", "
	    "\"host\": \"127.0.0.1\", \"port\": %u, \"send\": \"%s\", \"expect\": \"220\" } ] }",
	    port, big);
	cfg = tu_load(NULL, "svc", json, NULL);
	p = probe_new(ev, &cfg->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 2000), "probe did not finish");
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	probe_free(p);
	cr_assert_geq(sv.cfd, 0);
	cr_assert_eq(setsockopt(sv.cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	while ((n = recv(sv.cfd, got, sizeof(got), 0)) > 0)
		total += (size_t)n;
	cr_expect_eq(total, (size_t)LEN, "server got %zu of %d bytes", total, LEN);
	cr_expect_eq(n, 0, "not EOF after the string: %zd (%s)", n, n == -1 ? strerror(errno) : "");
	close(sv.cfd);
	cfg_free(cfg);
}
