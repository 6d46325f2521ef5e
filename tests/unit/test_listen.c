/*
 * The sock_diag code against real sockets opened by the test (IPv4, IPv6,
 * TCP, UDP), the reply parser against malformed replies, and the listen
 * probe on the loop. The tests with real sockets run in a private network
 * namespace (Criterion forks each test), as test_ann.c does: there ::1
 * exists whatever the host's IPv6 settings, no other socket of the host
 * shares a port with the test's, and a dump holds the test's sockets only.
 * Needs root.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "compiler.h"
#include "cfg.h"
#include "probe.h"
#include "sockdiag.h"
#include "testutil.h"

/* A socket bound to addr (port 0: the kernel picks); *port is set. */
static int
bound(int family, int type, const char *addr, bool v6only, uint16_t *port)
{
	struct sockaddr_storage	 ss = { 0 };
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 len = family == AF_INET ? sizeof(*sin) : sizeof(*sin6);
	int			 fd, on = v6only;

	fd = socket(family, type | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	ss.ss_family = (sa_family_t)family;
	if (family == AF_INET)
		cr_assert_eq(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
	else {
		cr_assert_eq(inet_pton(AF_INET6, addr, &sin6->sin6_addr), 1);
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	}
	if (*port != 0) {
		if (family == AF_INET)
			sin->sin_port = htons(*port);
		else
			sin6->sin6_port = htons(*port);
	}
	cr_assert_eq(bind(fd, (struct sockaddr *)&ss, len), 0, "bind %s: %s", addr,
	    strerror(errno));
	if (type == SOCK_STREAM)
		cr_assert_eq(listen(fd, 8), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*port = ntohs(family == AF_INET ? sin->sin_port : sin6->sin6_port);
	return fd;
}

static unsigned
count(int family, int protocol, uint16_t port, const char *addr)
{
	struct sockdiag_query	 q = { .family = family, .protocol = protocol,
	    .port = port };
	struct sockdiag		*sd;
	char			 err[256];
	unsigned		 n = 99;

	if (addr != NULL) {
		q.addr_family = strchr(addr, ':') ? AF_INET6 : AF_INET;
		cr_assert_eq(inet_pton(q.addr_family, addr, &q.addr), 1);
	}
	sd = sockdiag_open(err, sizeof(err));
	cr_assert_not_null(sd, "%s", err);
	cr_assert_eq(sockdiag_count(sd, &q, &n, err, sizeof(err)), 0, "%s", err);
	sockdiag_close(sd);
	return n;
}

Test(sockdiag, tcp_listening_ipv4_and_ipv6, .init = tu_private_netns)
{
	uint16_t	p4 = 0, p6 = 0;
	int		f4 = bound(AF_INET, SOCK_STREAM, "127.0.0.1", false, &p4);
	int		f6;

	cr_expect_eq(count(AF_INET, IPPROTO_TCP, p4, NULL), 1);
	cr_expect_eq(count(AF_INET, IPPROTO_TCP, p4, "127.0.0.1"), 1);
	cr_expect_eq(count(AF_INET, IPPROTO_TCP, p4, "127.0.0.2"), 0);
	cr_expect_eq(count(AF_INET6, IPPROTO_TCP, p4, NULL), 0);
	cr_expect_eq(count(AF_INET, IPPROTO_UDP, p4, NULL), 0, "TCP is not UDP");
	p6 = p4;
	f6 = bound(AF_INET6, SOCK_STREAM, "::1", true, &p6);
	cr_expect_eq(count(AF_INET6, IPPROTO_TCP, p6, NULL), 1);
	cr_expect_eq(count(AF_INET6, IPPROTO_TCP, p6, "::1"), 1);
	cr_expect_eq(count(AF_INET6, IPPROTO_TCP, p6, "2001:db8::1"), 0);
	cr_expect_eq(count(AF_INET, IPPROTO_TCP, p6, NULL), 1, "still the IPv4 one only");
	close(f4);
	close(f6);
	cr_expect_eq(count(AF_INET, IPPROTO_TCP, p4, NULL), 0);
	cr_expect_eq(count(AF_INET6, IPPROTO_TCP, p6, NULL), 0);
}

Test(sockdiag, tcp_connection_is_not_listening, .init = tu_private_netns)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);
	uint16_t		port = 0;
	int			l = bound(AF_INET, SOCK_STREAM, "127.0.0.1", false, &port);
	int			c = socket(AF_INET, SOCK_STREAM, 0), a;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	cr_assert_eq(connect(c, (struct sockaddr *)&sin, len), 0);
	cr_assert_geq(a = accept(l, NULL, NULL), 0);
	close(l);
	/* The accepted connection still has source port `port`, but does not listen. */
	cr_expect_eq(count(AF_INET, IPPROTO_TCP, port, NULL), 0);
	close(a);
	close(c);
}

Test(sockdiag, udp_bound_ipv4_and_ipv6, .init = tu_private_netns)
{
	uint16_t	p4 = 0, p6 = 0, pw = 0;
	int		f4 = bound(AF_INET, SOCK_DGRAM, "127.0.0.1", false, &p4);
	int		f6 = bound(AF_INET6, SOCK_DGRAM, "::1", true, &p6);
	int		fw = bound(AF_INET6, SOCK_DGRAM, "::", false, &pw);

	cr_expect_eq(count(AF_INET, IPPROTO_UDP, p4, NULL), 1);
	cr_expect_eq(count(AF_INET, IPPROTO_TCP, p4, NULL), 0);
	cr_expect_eq(count(AF_INET6, IPPROTO_UDP, p6, NULL), 1);
	cr_expect_eq(count(AF_INET6, IPPROTO_UDP, p6, "::1"), 1);
	/* A dual-stack [::] socket serves any IPv4 and IPv6 address... */
	cr_expect_eq(count(AF_INET6, IPPROTO_UDP, pw, "192.0.2.53"), 1);
	cr_expect_eq(count(AF_INET6, IPPROTO_UDP, pw, "2001:db8::53"), 1);
	close(fw);
	/* ... a v6only one no IPv4 address. */
	pw = 0;
	fw = bound(AF_INET6, SOCK_DGRAM, "::", true, &pw);
	cr_expect_eq(count(AF_INET6, IPPROTO_UDP, pw, "192.0.2.53"), 0);
	cr_expect_eq(count(AF_INET6, IPPROTO_UDP, pw, "2001:db8::53"), 1);
	close(f4);
	close(f6);
	close(fw);
	cr_expect_eq(count(AF_INET, IPPROTO_UDP, p4, NULL), 0);
	cr_expect_eq(count(AF_INET6, IPPROTO_UDP, p6, NULL), 0);
}

/* Builds a reply: one SOCK_DIAG_BY_FAMILY message of payload_len bytes. */
static size_t
reply(char *buf, uint32_t seq, uint16_t type, size_t payload_len, int family,
    uint16_t port, uint8_t state)
{
	struct nlmsghdr		*nlh = (struct nlmsghdr *)buf;
	struct inet_diag_msg	*m = (struct inet_diag_msg *)NLMSG_DATA(nlh);

	memset(buf, 0, NLMSG_SPACE(payload_len) + 64);
	nlh->nlmsg_len = (uint32_t)NLMSG_LENGTH(payload_len);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 7;
	if (payload_len >= sizeof(*m)) {
		m->idiag_family = (uint8_t)family;
		m->idiag_state = state;
		m->id.idiag_sport = htons(port);
	}
	return NLMSG_SPACE(payload_len);
}

Test(sockdiag, parser_validates_lengths)
{
	struct sockdiag_query	 q = { .family = AF_INET, .protocol = IPPROTO_TCP,
	    .port = 53 };
	char			 buf[1024] __attribute__((aligned(8)));
	struct nlmsghdr		*nlh = (struct nlmsghdr *)buf;
	struct nlattr		*a;
	unsigned		 n = 0;
	size_t			 len;

	/* A good one. */
	len = reply(buf, 5, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg), AF_INET, 53, 10);
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), 0);
	cr_expect_eq(n, 1);
	/* Another port or state: not counted. */
	n = 0;
	len = reply(buf, 5, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg), AF_INET, 54, 10);
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), 0);
	len = reply(buf, 5, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg), AF_INET, 53, 1);
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), 0);
	cr_expect_eq(n, 0);
	/* Payload shorter than struct inet_diag_msg. */
	len = reply(buf, 5, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg) - 4, AF_INET, 53, 10);
	errno = 0;
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), -1);
	cr_expect_eq(errno, EBADMSG);
	/* A header claiming more than was received. */
	len = reply(buf, 5, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg), AF_INET, 53, 10);
	cr_expect_eq(sockdiag_parse(buf, len - 8, 5, 7, &q, &n), 0, "nothing complete");
	cr_expect_eq(n, 0);
	/* Less than a header. */
	cr_expect_eq(sockdiag_parse(buf, 10, 5, 7, &q, &n), 0);
	/* Someone else's sequence number or port id. */
	cr_expect_eq(sockdiag_parse(buf, len, 6, 7, &q, &n), -1);
	cr_expect_eq(sockdiag_parse(buf, len, 5, 8, &q, &n), -1);
	/* An unknown family. */
	len = reply(buf, 5, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg), AF_UNIX, 53, 10);
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), -1);
	/* An attribute running past the message. */
	len = reply(buf, 5, SOCK_DIAG_BY_FAMILY, sizeof(struct inet_diag_msg) + 8, AF_INET, 53, 10);
	a = (struct nlattr *)((char *)NLMSG_DATA(nlh) + sizeof(struct inet_diag_msg));
	a->nla_type = INET_DIAG_SKV6ONLY;
	a->nla_len = 64;
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), -1);
	/* INET_DIAG_SKV6ONLY of the wrong size. */
	a->nla_len = 8;
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), -1);
	a->nla_len = 5;
	n = 0;
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), 0);
	cr_expect_eq(n, 1);
	/* The end of the dump, and a kernel error. */
	len = reply(buf, 5, NLMSG_DONE, 4, 0, 0, 0);
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), 1);
	len = reply(buf, 5, NLMSG_ERROR, sizeof(struct nlmsgerr), 0, 0, 0);
	((struct nlmsgerr *)NLMSG_DATA(nlh))->error = -ENOENT;
	errno = 0;
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), -1);
	cr_expect_eq(errno, ENOENT);
	/* A message of another type. */
	len = reply(buf, 5, NLMSG_MIN_TYPE + 1, sizeof(struct inet_diag_msg), AF_INET, 53, 10);
	cr_expect_eq(sockdiag_parse(buf, len, 5, 7, &q, &n), -1);
}

static bool done;

static void
on_done(struct probe *p UNUSED, void *arg UNUSED)
{
	done = true;
}

static struct probe *
run_listen(sd_event *ev, const char *probe, struct cfg **cfgp)
{
	char		 svc[1024];
	struct probe	*p;

	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"20ms\", \"timeout\": \"10ms\", \"probes\": [ %s ] }", probe);
	*cfgp = tu_load(NULL, "svc", svc, NULL);
	p = probe_new(ev, &(*cfgp)->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 1000));
	return p;
}

Test(listen, probe_results, .init = tu_private_netns, .fini = tu_cleanup)
{
	sd_event	*ev;
	struct cfg	*cfg;
	struct probe	*p;
	uint16_t	 port = 0;
	char		 json[256], want[128];
	int		 fd = bound(AF_INET6, SOCK_DGRAM, "::", false, &port);

	cr_assert_geq(sd_event_new(&ev), 0);
	snprintf(json, sizeof(json), "{ \"type\": \"listen\", \"protocol\": \"udp\", "
	    "\"port\": %u }", port);
	p = run_listen(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	snprintf(want, sizeof(want), "1 socket bound on udp port %u", port);
	cr_expect_str_eq(p->msg, want);
	cr_expect_lt(p->latency_us, 5000);
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();

	snprintf(json, sizeof(json), "{ \"type\": \"listen\", \"protocol\": \"udp\", "
	    "\"address\": \"192.0.2.53\", \"port\": %u }", port);
	p = run_listen(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_OK, "dual-stack socket: %s", p->msg);
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();

	snprintf(json, sizeof(json), "{ \"type\": \"listen\", \"port\": %u }", port);
	p = run_listen(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_NOT_LISTENING, "%s", p->msg);
	cr_expect_eq(p->state, NAGIOS_CRITICAL);
	snprintf(want, sizeof(want), "nothing listens on tcp port %u", port);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();

	close(fd);
	snprintf(json, sizeof(json), "{ \"type\": \"listen\", \"protocol\": \"udp\", "
	    "\"address\": \"::1\", \"port\": %u }", port);
	p = run_listen(ev, json, &cfg);
	cr_expect_eq(p->result, PROBE_NOT_LISTENING, "%s", p->msg);
	snprintf(want, sizeof(want), "nothing is bound on udp [::1]:%u", port);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
	sd_event_unref(ev);
}
