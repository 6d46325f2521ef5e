/*
 * DNS probe: one query to one server, over UDP (retried over TCP when the
 * answer comes back truncated) or TCP. The message is built and parsed with
 * glibc's libresolv (res_nmkquery, ns_initparse, ns_parserr,
 * ns_name_uncompress); the only bytes written by hand are TCP's 2-byte
 * length prefix. A reply that is not for our query (ID, QR flag or question
 * differ) is ignored as spoofed or stray, so the attempt waits on and times
 * out; a reply for our query that does not parse is CRITICAL. Judging a
 * reply (the wire format) is dns_wire.c.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "cfg.h"
#include "dns.h"
#include "dns_int.h"
#include "sock.h"
#include "probe.h"

#define DNS_MSG_MAX	65535		/* largest DNS message (TCP length field) */

enum dns_step { DNS_CONNECTING, DNS_SENDING, DNS_RECEIVING };

struct dns_run {
	int		 fd;
	sd_event_source	*io;
	bool		 tcp;		/* the transport in use now */
	bool		 fell_back;	/* UDP answer was truncated; now on TCP */
	enum dns_step	 step;
	uint16_t	 id;
	/* The query, after a 2-byte length prefix used only over TCP. */
	unsigned char	 q[2 + NS_PACKETSZ];
	size_t		 qlen;		/* without the prefix */
	size_t		 sent;
	/*
	 * TCP only (2 + DNS_MSG_MAX bytes, made when the attempt goes over TCP):
	 * a UDP reply is read and judged at once from one buffer shared by all
	 * probes, so a UDP attempt, the usual case, costs no 64 KiB to zero
	 * and many attempts in flight no 64 KiB each.
	 */
	unsigned char	*buf;
	size_t		 got;
};

static const char *const dns_keys[] = {
	"server", "port", "transport", "query", "qtype", "expect_rcode",
	"expect_answer", "expect_aa", "recursion_desired", NULL
};

static void
dns_free_params(void *arg)
{
	struct dns_params	*dp = arg;

	if (dp == NULL)
		return;
	free(dp->query);
	cfg_strv_free(dp->expect);
	free(dp->expect_addr);
	free(dp);
}

static int
dns_parse_answers(struct cfg_ctx *ctx, struct json_object *obj, struct dns_params *dp)
{
	int	r, fam = dp->qtype == ns_t_aaaa ? AF_INET6 : AF_INET;
	char	k[64];

	r = cfg_get_strings(ctx, obj, "expect_answer", false, &dp->expect, &dp->nexpect);
	if (r != 1)
		return r;
	dp->check_answer = true;
	if (dp->qtype != ns_t_a && dp->qtype != ns_t_aaaa) {
		for (size_t i = 0; i < dp->nexpect; i++)
			dns_norm(dp->expect[i], dp->qtype);
		return 1;
	}
	if ((dp->expect_addr = calloc(dp->nexpect + 1, sizeof(*dp->expect_addr))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < dp->nexpect; i++) {
		if (inet_pton(fam, dp->expect[i], &dp->expect_addr[i]) == 1)
			continue;
		snprintf(k, sizeof(k), "expect_answer[%zu]", i);
		cfg_error(ctx, k, "'%s' is not an %s address (qtype %s)", dp->expect[i],
		    fam == AF_INET ? "IPv4" : "IPv6", dns_qtype_name(dp->qtype));
		r = -1;
	}
	return r;
}

static int
dns_parse(struct cfg_ctx *ctx, struct json_object *obj, void **params)
{
	struct dns_params	*dp;
	unsigned char		 wire[NS_MAXCDNAME];
	char			 name[NS_MAXDNAME], *s = NULL;
	int			 ok = 0, t;

	if ((dp = calloc(1, sizeof(*dp))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	dp->peer.port = NS_DEFAULTPORT;
	dp->qtype = ns_t_a;
	dp->rd = true;
	if (cfg_get_ipaddr(ctx, obj, "server", true, &dp->peer.family, &dp->peer.addr) != 1)
		ok = -1;
	if (cfg_get_port(ctx, obj, "port", false, &dp->peer.port) == -1)
		ok = -1;
	if (cfg_get_string(ctx, obj, "transport", false, &s) == 1) {
		if (strcmp(s, "tcp") == 0)
			dp->tcp = true;
		else if (strcmp(s, "udp") != 0) {
			cfg_error(ctx, "transport", "'%s' is not udp or tcp", s);
			ok = -1;
		}
	}
	free(s);
	s = NULL;
	if (cfg_get_string(ctx, obj, "query", true, &s) == 1) {
		/* Canonical form: how libresolv prints the question of a reply. */
		if (s[0] == '\0' || ns_name_pton(s, wire, sizeof(wire)) == -1 ||
		    ns_name_ntop(wire, name, sizeof(name)) == -1) {
			cfg_error(ctx, "query", "'%s' is not a domain name", s);
			ok = -1;
		} else if ((dp->query = strdup(name)) == NULL) {
			cfg_error(ctx, NULL, "out of memory");
			ok = -1;
		}
	} else
		ok = -1;
	free(s);
	s = NULL;
	if (cfg_get_string(ctx, obj, "qtype", false, &s) == 1) {
		if ((t = dns_qtype_lookup(s)) == -1) {
			cfg_error(ctx, "qtype", "'%s' is not a supported query type "
			    "(A, AAAA, NS, SOA, MX, TXT, CNAME, PTR, SRV, CAA)", s);
			ok = -1;
		} else
			dp->qtype = (uint16_t)t;
	}
	free(s);
	s = NULL;
	if (cfg_get_string(ctx, obj, "expect_rcode", false, &s) == 1) {
		if ((t = dns_rcode_lookup(s)) == -1) {
			cfg_error(ctx, "expect_rcode", "'%s' is not an RCODE (NOERROR, "
			    "FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, "
			    "YXRRSET, NXRRSET, NOTAUTH, NOTZONE)", s);
			ok = -1;
		} else
			dp->expect_rcode = t;
	}
	free(s);
	if (cfg_get_bool(ctx, obj, "expect_aa", false, &dp->expect_aa) == -1)
		ok = -1;
	if (cfg_get_bool(ctx, obj, "recursion_desired", false, &dp->rd) == -1)
		ok = -1;
	/* After qtype: the expected answers are read according to it. */
	if (ok == 0 && dns_parse_answers(ctx, obj, dp) == -1)
		ok = -1;
	if (ok == -1) {
		dns_free_params(dp);
		return -1;
	}
	sock_peer_name(&dp->peer);
	*params = dp;
	return 0;
}

static void
dns_close(struct dns_run *run)
{
	run->io = sd_event_source_disable_unref(run->io);
	if (run->fd != -1)
		close(run->fd);
	run->fd = -1;
}

static void
dns_cleanup(struct probe *p)
{
	struct dns_run	*run = p->run;

	if (run == NULL)
		return;
	dns_close(run);
	free(run->buf);
	free(run);
	p->run = NULL;
}

static void	dns_send_tcp(struct probe *p);

/*
 * Looks at one reply. Returns 0 if it is not for our query (ignored: the
 * attempt goes on), 1 if the attempt has ended or moved on to TCP.
 */
static int
dns_examine(struct probe *p, const unsigned char *m, size_t len)
{
	struct dns_run		*run = p->run;
	enum probe_result	 r = PROBE_INTERNAL;
	char			 msg[sizeof(p->msg)];

	switch (dns_check_reply(p->cfg->params, run->id, run->tcp, run->fell_back, m,
	    len, &r, msg, sizeof(msg))) {
	case DNS_IGNORE:
		return 0;
	case DNS_RETRY_TCP:
		run->fell_back = true;
		dns_send_tcp(p);
		return 1;
	case DNS_DONE:
		break;
	}
	dns_cleanup(p);
	probe_done(p, r, 0, NULL, "%s", msg);
	return 1;
}

static void
dns_recv_udp(struct probe *p)
{
	static unsigned char	 buf[DNS_MSG_MAX];
	const struct dns_params	*dp = p->cfg->params;
	struct dns_run		*run = p->run;
	ssize_t			 n;

	for (;;) {
		n = recv(run->fd, buf, sizeof(buf), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1 && errno == ECONNREFUSED) {
			probe_done(p, PROBE_CONN_REFUSED, PROBE_DONE_ABORT, NULL,
			    "%s refused the query (port "
			    "unreachable)", dp->peer.where);
			return;
		}
		if (n == -1) {
			probe_done(p, PROBE_RECV_FAILED, PROBE_DONE_ABORT, NULL,
			    "receive from %s failed: %s", dp->peer.where, strerror(errno));
			return;
		}
		if (dns_examine(p, buf, (size_t)n))
			return;
	}
}

static void
dns_recv_tcp(struct probe *p)
{
	const struct dns_params	*dp = p->cfg->params;
	struct dns_run		*run = p->run;
	size_t			 mlen;
	ssize_t			 n;

	for (;;) {
		n = recv(run->fd, run->buf + run->got, 2 + DNS_MSG_MAX - run->got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			probe_done(p, PROBE_RECV_FAILED, PROBE_DONE_ABORT, NULL,
			    "receive from %s over TCP "
			    "failed: %s", dp->peer.where, strerror(errno));
			return;
		}
		if (n == 0) {
			probe_done(p, PROBE_CLOSED, PROBE_DONE_ABORT, NULL,
			    "%s closed the TCP connection "
			    "without answering", dp->peer.where);
			return;
		}
		run->got += (size_t)n;
		/* Each message has a 2-byte length; skip those not for us. */
		while (run->got >= 2 && run->got >= 2 + (mlen = ns_get16(run->buf))) {
			if (dns_examine(p, run->buf + 2, mlen))
				return;
			memmove(run->buf, run->buf + 2 + mlen, run->got - 2 - mlen);
			run->got -= 2 + mlen;
		}
	}
}

static void
dns_send(struct probe *p)
{
	const struct dns_params	*dp = p->cfg->params;
	struct dns_run		*run = p->run;
	const unsigned char	*q = run->tcp ? run->q : run->q + 2;
	size_t			 qlen = run->tcp ? run->qlen + 2 : run->qlen;
	int			 r;

	if ((r = sock_send(run->fd, q, qlen, &run->sent)) == 1) {
		sd_event_source_set_io_events(run->io, EPOLLOUT | EPOLLET);
		return;
	}
	if (r == -1 && errno == ECONNREFUSED) {
		probe_done(p, PROBE_CONN_REFUSED, PROBE_DONE_ABORT, NULL,
		    "%s refused the query", dp->peer.where);
		return;
	}
	if (r == -1) {
		probe_done(p, PROBE_SEND_FAILED, PROBE_DONE_ABORT, NULL,
		    "send to %s failed: %s", dp->peer.where, strerror(errno));
		return;
	}
	run->step = DNS_RECEIVING;
	sd_event_source_set_io_events(run->io, EPOLLIN | EPOLLET);
	if (run->tcp)
		dns_recv_tcp(p);
	else
		dns_recv_udp(p);
}

static int
dns_io_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg)
{
	struct probe		*p = arg;
	const struct dns_params	*dp = p->cfg->params;
	struct dns_run		*run = p->run;
	char			 msg[128];
	int			 err;

	switch (run->step) {
	case DNS_CONNECTING:
		if ((err = sock_connect_error(fd)) != 0) {
			probe_done(p, sock_connect_result(err), PROBE_DONE_ABORT, NULL,
			    "TCP %s", sock_connect_msg(err, dp->peer.where, msg, sizeof(msg)));
			return 0;
		}
		run->step = DNS_SENDING;
		/* FALLTHROUGH */
	case DNS_SENDING:
		dns_send(p);
		return 0;
	case DNS_RECEIVING:
		if (run->tcp)
			dns_recv_tcp(p);
		else
			dns_recv_udp(p);
		return 0;
	}
	return 0;
}

/* Opens a socket to the server and starts sending the query on it. */
static void
dns_open(struct probe *p)
{
	const struct dns_params	*dp = p->cfg->params;
	struct dns_run		*run = p->run;
	char			 msg[128];
	int			 r, err;

	run->sent = 0;
	run->got = 0;
	if (run->tcp && run->buf == NULL && (run->buf = malloc(2 + DNS_MSG_MAX)) == NULL) {
		probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL, "out of memory");
		return;
	}
	/* Connected UDP: only the server's datagrams arrive, and ICMP errors are seen. */
	run->fd = sock_connect(&dp->peer, run->tcp ? SOCK_STREAM : SOCK_DGRAM, &err);
	if (run->fd == -1) {
		if (err == 0)
			probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL, "socket: %s",
			    strerror(errno));
		else
			probe_done(p, sock_connect_result(err), PROBE_DONE_ABORT, NULL, "%s",
			    sock_connect_msg(err, dp->peer.where, msg, sizeof(msg)));
		return;
	}
	/*
	 * A UDP socket can be written at once, and a TCP connect on loopback
	 * has completed by now: send without waiting for a wake-up, and watch
	 * for the answer. Only a TCP connect still in flight waits (EPOLLOUT).
	 * Edge-triggered, as in the tcp probe: each step reads or writes until
	 * EAGAIN.
	 */
	err = run->tcp ? sock_connect_done(run->fd) : 0;
	if (err > 0) {
		probe_done(p, sock_connect_result(err), PROBE_DONE_ABORT, NULL, "TCP %s",
		    sock_connect_msg(err, dp->peer.where, msg, sizeof(msg)));
		return;
	}
	run->step = err == 0 ? DNS_SENDING : DNS_CONNECTING;
	r = sd_event_add_io(p->ev, &run->io, run->fd, EPOLLET | (err == 0 ? EPOLLIN : EPOLLOUT),
	    dns_io_cb, p);
	if (r < 0) {
		probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL, "cannot watch socket: %s",
		    strerror(-r));
		return;
	}
	if (run->step == DNS_SENDING)
		dns_send(p);
}

/* The UDP answer was truncated: ask the same question over TCP. */
static void
dns_send_tcp(struct probe *p)
{
	struct dns_run	*run = p->run;

	dns_close(run);
	run->tcp = true;
	dns_open(p);
}

static void
dns_start(struct probe *p)
{
	static struct __res_state	 res;
	static bool			 res_ready;
	const struct dns_params		*dp = p->cfg->params;
	struct dns_run			*run;
	int				 n;

	if ((run = calloc(1, sizeof(*run))) == NULL) {
		probe_done(p, PROBE_INTERNAL, 0, NULL, "out of memory");
		return;
	}
	run->fd = -1;
	run->tcp = dp->tcp;
	p->run = run;
	/* Once per process: res_ninit reads /etc/resolv.conf, which we do not use. */
	if (!res_ready) {
		if (res_ninit(&res) == -1) {
			probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL,
			    "cannot initialise libresolv");
			return;
		}
		res_ready = true;
	}
	/* Only RD comes from the options: no AD bit, no EDNS from resolv.conf. */
	res.options = RES_INIT | (dp->rd ? RES_RECURSE : 0);
	n = res_nmkquery(&res, ns_o_query, dp->query, ns_c_in, dp->qtype, NULL, 0,
	    NULL, run->q + 2, NS_PACKETSZ);
	if (n <= 0) {
		probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL,
		    "cannot build a query for %s/%s", dp->query, dns_qtype_name(dp->qtype));
		return;
	}
	run->qlen = (size_t)n;
	ns_put16((unsigned)n, run->q);
	run->id = ns_get16(run->q + 2);
	dns_open(p);
}

const struct probe_type probe_type_dns = {
	.cfg = {
		.name = "dns",
		.keys = dns_keys,
		.parse = dns_parse,
		.free_params = dns_free_params,
	},
	.start = dns_start,
	.abort = dns_cleanup,
};
