/*
 * The DNS probe on the real event loop, against a real authoritative server
 * (nsd, started by the test with a temporary configuration on 127.0.0.1 at a
 * free high port) and against a deliberately broken responder written here
 * (wrong ID, QR not set, wrong question, garbage, truncation, silence).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <arpa/nameser_compat.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <resolv.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler.h"
#include "cfg.h"
#include "dns.h"
#include "probe.h"
#include "testutil.h"

#define NSD	"/usr/sbin/nsd"

static sd_event	*ev;
static bool	 done;

static void
on_done(struct probe *p UNUSED, void *arg UNUSED)
{
	done = true;
}

/* Runs one attempt of a dns probe with the given keys against 127.0.0.1:port. */
static struct probe *
run_dns(uint16_t port, const char *keys, struct cfg **cfgp)
{
	char		 svc[2048];
	struct probe	*p;

	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"1s\", \"timeout\": \"250ms\", \"probes\": [ "
	    "{ \"type\": \"dns\", \"server\": \"127.0.0.1\", \"port\": %u, %s } ] }",
	    port, keys);
	*cfgp = tu_load(NULL, "svc", svc, NULL);
	p = probe_new(ev, &(*cfgp)->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 2000), "probe did not finish");
	return p;
}

/* A port free for both UDP and TCP on 127.0.0.1 (the kernel picks it). */
static uint16_t
free_port(void)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);
	int			u, t;

	for (int i = 0; i < 20; i++) {
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sin.sin_port = 0;
		u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		cr_assert(u >= 0 && t >= 0);
		cr_assert_eq(bind(u, (struct sockaddr *)&sin, sizeof(sin)), 0);
		cr_assert_eq(getsockname(u, (struct sockaddr *)&sin, &len), 0);
		if (bind(t, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			close(u);
			close(t);
			return ntohs(sin.sin_port);
		}
		close(u);
		close(t);
	}
	cr_assert_fail("no free port");
	return 0;
}

/* --- nsd ------------------------------------------------------------------ */

static const char zone[] =
    "$ORIGIN example.test.\n"
    "$TTL 300\n"
    "@ IN SOA ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300\n"
    "@ IN NS ns1.example.test.\n"
    "@ IN MX 10 mail.example.test.\n"
    "@ IN TXT \"v=spf1 -all\"\n"
    "@ IN CAA 0 issue \"letsencrypt.org\"\n"
    "ns1 IN A 192.0.2.1\n"
    "www IN A 192.0.2.10\n"
    "www IN A 192.0.2.11\n"
    "www IN AAAA 2001:db8::10\n"
    "alias IN CNAME www.example.test.\n"
    "ptr IN PTR www.example.test.\n"
    "_sip._udp IN SRV 10 20 5060 sip.example.test.\n"
    "long IN TXT \"part one,\" \" part two\"\n";

static struct {
	pid_t		pid;
	char		dir[64];
	uint16_t	port;
} nsd;

static void
write_file(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	cr_assert_not_null(f, "%s: %s", path, strerror(errno));
	fputs(text, f);
	fclose(f);
}

static void
nsd_start(void)
{
	char	path[128], conf[2048], zonef[4096], log[4096];
	size_t	off = sizeof(zone) - 1;
	FILE	*f;

	cr_assert_eq(access(NSD, X_OK), 0, NSD " is missing: run tests/deps.sh");
	snprintf(nsd.dir, sizeof(nsd.dir), "/tmp/ahd-nsd-XXXXXX");
	cr_assert_not_null(mkdtemp(nsd.dir));
	nsd.port = free_port();
	/* Over 512 bytes of TXT: a UDP answer without EDNS is truncated (TC). */
	memcpy(zonef, zone, off);
	for (int i = 0; i < 12; i++)
		off += (size_t)snprintf(zonef + off, sizeof(zonef) - off,
		    "big IN TXT \"record %02d, padded to make the answer large enough "
		    "to be truncated\"\n", i);
	snprintf(path, sizeof(path), "%s/example.test.zone", nsd.dir);
	write_file(path, zonef);
	snprintf(conf, sizeof(conf),
	    "server:\n"
	    "  ip-address: 127.0.0.1@%u\n"
	    "  port: %u\n"
	    "  username: \"\"\n"
	    "  chroot: \"\"\n"
	    "  zonesdir: \"%s\"\n"
	    "  database: \"\"\n"
	    "  zonelistfile: \"%s/zone.list\"\n"
	    "  xfrdfile: \"%s/xfrd.state\"\n"
	    "  xfrdir: \"%s\"\n"
	    "  pidfile: \"%s/nsd.pid\"\n"
	    "  logfile: \"%s/nsd.log\"\n"
	    "  server-count: 1\n"
	    "remote-control:\n"
	    "  control-enable: no\n"
	    "zone:\n"
	    "  name: example.test\n"
	    "  zonefile: example.test.zone\n",
	    nsd.port, nsd.port, nsd.dir, nsd.dir, nsd.dir, nsd.dir, nsd.dir, nsd.dir);
	snprintf(path, sizeof(path), "%s/nsd.conf", nsd.dir);
	write_file(path, conf);

	if ((nsd.pid = fork()) == 0) {
		/* Never outlive the test, even if it crashes. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(NSD, "nsd", "-d", "-c", path, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(nsd.pid, 0);
	/* Ready when it says so in its log (polled; this is the test, not the loop). */
	snprintf(path, sizeof(path), "%s/nsd.log", nsd.dir);
	for (int i = 0; i < 250; i++) {
		usleep(20000);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		off = fread(log, 1, sizeof(log) - 1, f);
		fclose(f);
		log[off] = '\0';
		if (strstr(log, "nsd started") != NULL)
			return;
		cr_assert_null(strstr(log, "error"), "nsd: %s", log);
	}
	cr_assert_fail("nsd did not start in 5 s");
}

static void
nsd_stop(void)
{
	char	cmd[128];

	if (nsd.pid > 0) {
		kill(nsd.pid, SIGTERM);
		waitpid(nsd.pid, NULL, 0);
		nsd.pid = 0;
	}
	if (nsd.dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", nsd.dir);
		(void)!system(cmd);
		nsd.dir[0] = '\0';
	}
}

static void
setup(void)
{
	cr_assert_geq(sd_event_new(&ev), 0);
}

static void
teardown(void)
{
	nsd_stop();
	sd_event_unref(ev);
	tu_cleanup();
}

TestSuite(dns, .init = setup, .fini = teardown);

struct dns_case {
	const char		*keys;
	enum probe_result	 result;
	const char		*msg;		/* what the message holds after "127.0.0.1:PORT " */
};

Test(dns, against_nsd)
{
	static const struct dns_case cases[] = {
		{ "\"query\": \"www.example.test\", \"expect_answer\": [\"192.0.2.11\", "
		  "\"192.0.2.10\"], \"expect_aa\": true",
		  PROBE_OK, "answered NOERROR for www.example.test/A (2 records, authoritative)" },
		/* Names compare case-insensitively; the message keeps the configured case. */
		{ "\"query\": \"WWW.Example.Test.\", \"qtype\": \"a\"",
		  PROBE_OK, "answered NOERROR for WWW.Example.Test/A (2 records, authoritative)" },
		{ "\"query\": \"www.example.test\", \"expect_answer\": [\"192.0.2.10\"]",
		  PROBE_DNS_ANSWER, "answered www.example.test/A with 192.0.2.10, 192.0.2.11, "
		  "expected 192.0.2.10" },
		{ "\"query\": \"www.example.test\", \"expect_answer\": [\"192.0.2.10\", "
		  "\"192.0.2.11\", \"192.0.2.12\"]",
		  PROBE_DNS_ANSWER, "answered www.example.test/A with 192.0.2.10, 192.0.2.11, "
		  "expected 192.0.2.10, 192.0.2.11, 192.0.2.12" },
		{ "\"query\": \"www.example.test\", \"qtype\": \"AAAA\", "
		  "\"expect_answer\": [\"2001:DB8:0:0::10\"]",
		  PROBE_OK, "answered NOERROR for www.example.test/AAAA (1 record, authoritative)" },
		/* NODATA: no AAAA for ns1; [] says exactly that. */
		{ "\"query\": \"ns1.example.test\", \"qtype\": \"AAAA\", \"expect_answer\": []",
		  PROBE_OK, "answered NOERROR for ns1.example.test/AAAA (0 records" },
		{ "\"query\": \"ns1.example.test\", \"qtype\": \"AAAA\", "
		  "\"expect_answer\": [\"2001:db8::1\"]",
		  PROBE_DNS_ANSWER, "answered ns1.example.test/AAAA with no record, expected "
		  "2001:db8::1" },
		/* The CNAME ahead of the addresses is not compared. */
		{ "\"query\": \"alias.example.test\", \"expect_answer\": [\"192.0.2.10\", "
		  "\"192.0.2.11\"]",
		  PROBE_OK, "answered NOERROR for alias.example.test/A (3 records" },
		{ "\"query\": \"alias.example.test\", \"qtype\": \"CNAME\", "
		  "\"expect_answer\": [\"www.example.test.\"]",
		  PROBE_OK, "answered NOERROR for alias.example.test/CNAME" },
		{ "\"query\": \"example.test\", \"qtype\": \"NS\", "
		  "\"expect_answer\": [\"NS1.example.test\"]",
		  PROBE_OK, "answered NOERROR for example.test/NS" },
		{ "\"query\": \"example.test\", \"qtype\": \"MX\", "
		  "\"expect_answer\": [\"10  mail.example.test.\"]",
		  PROBE_OK, "answered NOERROR for example.test/MX" },
		{ "\"query\": \"example.test\", \"qtype\": \"MX\", "
		  "\"expect_answer\": [\"20 mail.example.test\"]",
		  PROBE_DNS_ANSWER, "answered example.test/MX with '10 mail.example.test', "
		  "expected '20 mail.example.test'" },
		{ "\"query\": \"example.test\", \"qtype\": \"SOA\", \"expect_answer\": "
		  "[\"ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300\"]",
		  PROBE_OK, "answered NOERROR for example.test/SOA" },
		{ "\"query\": \"example.test\", \"qtype\": \"SOA\", \"expect_answer\": "
		  "[\"ns1.example.test hostmaster.example.test 2024010102 3600 600 86400 300\"]",
		  PROBE_DNS_ANSWER, "with 'ns1.example.test hostmaster.example.test 2024010101 "
		  "3600 600 86400 300', expected 'ns1.example.test hostmaster.example.test "
		  "2024010102 3600 600 86400 300'" },
		{ "\"query\": \"example.test\", \"qtype\": \"TXT\", "
		  "\"expect_answer\": [\"v=spf1 -all\"]",
		  PROBE_OK, "answered NOERROR for example.test/TXT" },
		{ "\"query\": \"example.test\", \"qtype\": \"TXT\", "
		  "\"expect_answer\": [\"v=spf1 -ALL\"]",
		  PROBE_DNS_ANSWER, "with 'v=spf1 -all', expected 'v=spf1 -ALL'" },
		/* Strings of one TXT record are joined. */
		{ "\"query\": \"long.example.test\", \"qtype\": \"TXT\", "
		  "\"expect_answer\": [\"part one, part two\"]",
		  PROBE_OK, "answered NOERROR for long.example.test/TXT" },
		{ "\"query\": \"example.test\", \"qtype\": \"CAA\", "
		  "\"expect_answer\": [\"0 issue \\\"letsencrypt.org\\\"\"]",
		  PROBE_OK, "answered NOERROR for example.test/CAA" },
		{ "\"query\": \"_sip._udp.example.test\", \"qtype\": \"SRV\", "
		  "\"expect_answer\": [\"10 20 5060 sip.example.test.\"]",
		  PROBE_OK, "answered NOERROR for _sip._udp.example.test/SRV" },
		{ "\"query\": \"ptr.example.test\", \"qtype\": \"PTR\", "
		  "\"expect_answer\": [\"www.example.test\"]",
		  PROBE_OK, "answered NOERROR for ptr.example.test/PTR" },
		{ "\"query\": \"nope.example.test\"",
		  PROBE_DNS_RCODE, "answered NXDOMAIN for nope.example.test/A, expected NOERROR" },
		{ "\"query\": \"nope.example.test\", \"expect_rcode\": \"NXDOMAIN\"",
		  PROBE_OK, "answered NXDOMAIN for nope.example.test/A (0 records, authoritative)" },
		/* Not nsd's zone, and it does not recurse. */
		{ "\"query\": \"www.example.org\"",
		  PROBE_DNS_RCODE, "answered REFUSED for www.example.org/A, expected NOERROR" },
		{ "\"query\": \"www.example.org\", \"expect_rcode\": \"REFUSED\"",
		  PROBE_OK, "answered REFUSED for www.example.org/A" },
		{ "\"query\": \"www.example.test\", \"transport\": \"tcp\", "
		  "\"expect_answer\": [\"192.0.2.10\", \"192.0.2.11\"]",
		  PROBE_OK, "answered NOERROR for www.example.test/A (2 records, authoritative) "
		  "over TCP" },
		/* 12 long TXT records do not fit 512 bytes: TC over UDP, then TCP. */
		{ "\"query\": \"big.example.test\", \"qtype\": \"TXT\"",
		  PROBE_OK, "answered NOERROR for big.example.test/TXT (12 records, "
		  "authoritative) (over TCP after a truncated UDP answer)" },
	};

	nsd_start();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg	*cfg;
		struct probe	*p;

		p = run_dns(nsd.port, cases[i].keys, &cfg);
		cr_expect_eq(p->result, cases[i].result, "case %zu: %s (%s)", i,
		    probe_result_str(p->result), p->msg);
		cr_expect_not_null(strstr(p->msg, cases[i].msg), "case %zu: got '%s', "
		    "want '%s'", i, p->msg, cases[i].msg);
		cr_expect_eq(p->state, probe_nagios(cases[i].result, p->latency_us, p->cfg),
		    "case %zu", i);
		probe_free(p);
		cfg_free(cfg);
		tu_cleanup();
	}
}

Test(dns, nothing_listening)
{
	struct cfg	*cfg;
	struct probe	*p;
	uint16_t	 port = free_port();

	p = run_dns(port, "\"query\": \"www.example.test\"", &cfg);
	cr_expect_eq(p->result, PROBE_CONN_REFUSED, "%s", p->msg);
	cr_expect_eq(p->state, NAGIOS_CRITICAL);
	cr_expect_not_null(strstr(p->msg, "refused the query (port unreachable)"), "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();
	p = run_dns(port, "\"query\": \"www.example.test\", \"transport\": \"tcp\"", &cfg);
	cr_expect_eq(p->result, PROBE_CONN_REFUSED, "%s", p->msg);
	cr_expect_not_null(strstr(p->msg, "TCP connection to 127.0.0.1:"), "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
}

/* --- a broken responder --------------------------------------------------- */

enum fake_mode {
	F_GOOD,			/* A 192.0.2.10, AA */
	F_WRONG_ID,
	F_NO_QR,
	F_WRONG_QUESTION,
	F_WRONG_QTYPE,
	F_SPOOF_THEN_GOOD,	/* a wrong-ID reply first, then the real one */
	F_GARBAGE,		/* random bytes, not even our ID */
	F_GARBAGE_ID,		/* our ID, then bytes that do not parse */
	F_SHORT,		/* our ID and 3 bytes */
	F_TC,			/* truncated over UDP, full over TCP */
	F_TC_TCP_TOO,		/* truncated over TCP as well */
	F_SILENT,
	F_NOT_AA,
	F_BAD_RDATA,		/* an A record with 3 bytes of data */
	F_SERVFAIL,
	F_TCP_CLOSE,		/* TCP: closes without answering */
};

struct fake {
	enum fake_mode	 mode;
	int		 udp, lfd, cfd;
	uint16_t	 port;
	sd_event_source	*usrc, *lsrc, *csrc;
	unsigned	 udp_queries, tcp_queries;
	int		 rd;		/* RD bit of the last query */
	uint16_t	 last_id;
	unsigned char	 cbuf[2 + 512];
	size_t		 cgot;
};

/* Appends an A record for the question (compression pointer to offset 12). */
static size_t
add_a(unsigned char *m, size_t len, bool bad)
{
	unsigned char	*p = m + len;
	HEADER		*h = (HEADER *)m;

	ns_put16(0xc00c, p);
	ns_put16(ns_t_a, p + 2);
	ns_put16(ns_c_in, p + 4);
	ns_put32(300, p + 6);
	ns_put16(bad ? 3 : 4, p + 10);
	inet_pton(AF_INET, "192.0.2.10", p + 12);
	h->ancount = htons(1);
	return len + 12 + (bad ? 3 : 4);
}

/* Builds the reply to q for the mode; returns its length (0: none). */
static size_t
fake_build(struct fake *f, const unsigned char *q, size_t qlen, bool tcp,
    unsigned char *r, size_t rmax)
{
	HEADER		*h = (HEADER *)r;
	size_t		 len = qlen;
	int		 n;

	cr_assert_geq(qlen, 12);
	cr_assert_leq(qlen, rmax - 64);
	memcpy(r, q, qlen);
	f->rd = h->rd;
	f->last_id = ns_get16(q);
	switch (f->mode) {
	case F_SILENT:
		return 0;
	case F_GARBAGE:
		for (size_t i = 0; i < 40; i++)
			r[i] = (unsigned char)(rand() & 0xff);
		ns_put16((unsigned)(f->last_id ^ 0xffff), r);
		return 40;
	case F_GARBAGE_ID:
		memset(r + 2, 0xff, 38);
		return 40;
	case F_SHORT:
		return 5;
	case F_TCP_CLOSE:
		return 0;
	case F_WRONG_QUESTION:
	case F_WRONG_QTYPE:
		n = res_mkquery(ns_o_query, f->mode == F_WRONG_QUESTION ?
		    "evil.example.test" : "www.example.test", ns_c_in,
		    f->mode == F_WRONG_QUESTION ? ns_t_a : ns_t_aaaa, NULL, 0, NULL, r,
		    (int)rmax);
		cr_assert_gt(n, 0);
		len = (size_t)n;
		ns_put16(f->last_id, r);
		break;
	default:
		break;
	}
	h->qr = f->mode != F_NO_QR;
	h->aa = f->mode != F_NOT_AA;
	h->rcode = f->mode == F_SERVFAIL ? SERVFAIL : NOERROR;
	if (f->mode == F_WRONG_ID)
		h->id ^= htons(0x0101);
	if ((f->mode == F_TC && !tcp) || f->mode == F_TC_TCP_TOO) {
		h->tc = 1;
		return len;
	}
	if (f->mode == F_SERVFAIL)
		return len;
	return add_a(r, len, f->mode == F_BAD_RDATA);
}

/* The same into any buffer (HEADER needs an aligned one to work in). */
static size_t
fake_reply(struct fake *f, const unsigned char *q, size_t qlen, bool tcp,
    unsigned char *r, size_t rmax)
{
	union {
		HEADER		h;
		unsigned char	b[600];
	} a;
	size_t	len;

	cr_assert_leq(rmax, sizeof(a.b));
	len = fake_build(f, q, qlen, tcp, a.b, rmax);
	memcpy(r, a.b, len);
	return len;
}

static int
fake_udp_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg)
{
	struct fake		*f = arg;
	struct sockaddr_storage	 from;
	socklen_t		 flen = sizeof(from);
	unsigned char		 q[512], r[600];
	union {
		HEADER		h;
		unsigned char	b[600];
	} spoof;
	ssize_t			 n;
	size_t			 rlen;

	n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &flen);
	if (n <= 0)
		return 0;
	f->udp_queries++;
	rlen = fake_reply(f, q, (size_t)n, false, r, sizeof(r));
	if (f->mode == F_SPOOF_THEN_GOOD) {
		memcpy(spoof.b, r, rlen);
		spoof.h.id ^= htons(0x8000);
		sendto(fd, spoof.b, rlen, 0, (struct sockaddr *)&from, flen);
	}
	if (rlen > 0)
		sendto(fd, r, rlen, 0, (struct sockaddr *)&from, flen);
	return 0;
}

static void
fake_close_conn(struct fake *f)
{
	f->csrc = sd_event_source_disable_unref(f->csrc);
	if (f->cfd != -1)
		close(f->cfd);
	f->cfd = -1;
	f->cgot = 0;
}

static int
fake_conn_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg)
{
	struct fake	*f = arg;
	unsigned char	 r[2 + 600];
	size_t		 qlen, rlen;
	ssize_t		 n;

	n = recv(fd, f->cbuf + f->cgot, sizeof(f->cbuf) - f->cgot, MSG_DONTWAIT);
	if (n <= 0) {
		fake_close_conn(f);
		return 0;
	}
	f->cgot += (size_t)n;
	if (f->cgot < 2 || f->cgot < 2 + (qlen = ns_get16(f->cbuf)))
		return 0;
	f->tcp_queries++;
	rlen = fake_reply(f, f->cbuf + 2, qlen, true, r + 2, sizeof(r) - 2);
	f->cgot = 0;
	if (f->mode == F_TCP_CLOSE) {
		fake_close_conn(f);
		return 0;
	}
	if (rlen == 0)
		return 0;
	ns_put16((unsigned)rlen, r);
	(void)!write(fd, r, rlen + 2);
	return 0;
}

static int
fake_accept_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg)
{
	struct fake	*f = arg;
	int		 c;

	if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1)
		return 0;
	fake_close_conn(f);
	f->cfd = c;
	cr_assert_geq(sd_event_add_io(ev, &f->csrc, c, EPOLLIN, fake_conn_cb, f), 0);
	return 0;
}

static void
fake_start(struct fake *f)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	int			one = 1;

	f->cfd = -1;
	f->port = free_port();
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(f->port);
	f->udp = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(f->udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(f->lfd, 8), 0);
	cr_assert_geq(sd_event_add_io(ev, &f->usrc, f->udp, EPOLLIN, fake_udp_cb, f), 0);
	cr_assert_geq(sd_event_add_io(ev, &f->lsrc, f->lfd, EPOLLIN, fake_accept_cb, f), 0);
}

static void
fake_stop(struct fake *f)
{
	fake_close_conn(f);
	sd_event_source_disable_unref(f->usrc);
	sd_event_source_disable_unref(f->lsrc);
	close(f->udp);
	close(f->lfd);
}

struct fake_case {
	enum fake_mode		 mode;
	const char		*keys;		/* after "query" */
	enum probe_result	 result;
	const char		*msg;
	unsigned		 udp, tcp;	/* queries the responder must have seen */
};

Test(dns, broken_responder)
{
	static const struct fake_case cases[] = {
		{ F_GOOD, "", PROBE_OK, "answered NOERROR for www.example.test/A (1 record, "
		  "authoritative)", 1, 0 },
		{ F_GOOD, ", \"transport\": \"tcp\"", PROBE_OK, "over TCP", 0, 1 },
		/* Not a reply to our query: ignored, the attempt times out. */
		{ F_WRONG_ID, "", PROBE_TIMEOUT, "no answer within 250ms", 1, 0 },
		{ F_WRONG_ID, ", \"transport\": \"tcp\"", PROBE_TIMEOUT, "no answer within 250ms", 0, 1 },
		{ F_NO_QR, "", PROBE_TIMEOUT, "no answer within 250ms", 1, 0 },
		{ F_WRONG_QUESTION, "", PROBE_TIMEOUT, "no answer within 250ms", 1, 0 },
		{ F_WRONG_QTYPE, "", PROBE_TIMEOUT, "no answer within 250ms", 1, 0 },
		{ F_GARBAGE, "", PROBE_TIMEOUT, "no answer within 250ms", 1, 0 },
		{ F_SILENT, "", PROBE_TIMEOUT, "no answer within 250ms", 1, 0 },
		/* ... and the real reply after a spoofed one is taken. */
		{ F_SPOOF_THEN_GOOD, ", \"expect_answer\": [\"192.0.2.10\"]", PROBE_OK,
		  "answered NOERROR for www.example.test/A (1 record", 1, 0 },
		/* Our ID but unparseable: CRITICAL, never a crash. */
		{ F_GARBAGE_ID, "", PROBE_DNS_MALFORMED, "sent a malformed reply (40 bytes)", 1, 0 },
		{ F_SHORT, "", PROBE_DNS_MALFORMED, "sent a malformed reply (5 bytes)", 1, 0 },
		{ F_SHORT, ", \"transport\": \"tcp\"", PROBE_DNS_MALFORMED,
		  "sent a malformed reply (5 bytes) over TCP", 0, 1 },
		{ F_BAD_RDATA, ", \"expect_answer\": [\"192.0.2.10\"]", PROBE_DNS_MALFORMED,
		  "sent a reply with a malformed A record", 1, 0 },
		{ F_TC, ", \"expect_answer\": [\"192.0.2.10\"]", PROBE_OK,
		  "(1 record, authoritative) (over TCP after a truncated UDP answer)", 1, 1 },
		{ F_TC_TCP_TOO, "", PROBE_DNS_MALFORMED, "sent a truncated reply over TCP", 1, 1 },
		{ F_TCP_CLOSE, ", \"transport\": \"tcp\"", PROBE_CLOSED,
		  "closed the TCP connection without answering", 0, 1 },
		{ F_NOT_AA, ", \"expect_aa\": true", PROBE_DNS_NOT_AA,
		  "answered www.example.test/A without the AA flag (not authoritative)", 1, 0 },
		{ F_NOT_AA, "", PROBE_OK, "answered NOERROR for www.example.test/A (1 record)", 1, 0 },
		{ F_SERVFAIL, "", PROBE_DNS_RCODE,
		  "answered SERVFAIL for www.example.test/A, expected NOERROR", 1, 0 },
	};
	struct fake	f = { 0 };

	fake_start(&f);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg	*cfg;
		struct probe	*p;
		char		 keys[512];

		f.mode = cases[i].mode;
		f.udp_queries = f.tcp_queries = 0;
		fake_close_conn(&f);
		snprintf(keys, sizeof(keys), "\"query\": \"www.example.test\"%s", cases[i].keys);
		p = run_dns(f.port, keys, &cfg);
		cr_expect_eq(p->result, cases[i].result, "case %zu: %s (%s)", i,
		    probe_result_str(p->result), p->msg);
		cr_expect_eq(p->state, cases[i].result == PROBE_OK ? NAGIOS_OK :
		    NAGIOS_CRITICAL, "case %zu", i);
		cr_expect_not_null(strstr(p->msg, cases[i].msg), "case %zu: got '%s', "
		    "want '%s'", i, p->msg, cases[i].msg);
		cr_expect_eq(f.udp_queries, cases[i].udp, "case %zu: UDP queries", i);
		cr_expect_eq(f.tcp_queries, cases[i].tcp, "case %zu: TCP queries", i);
		probe_free(p);
		cfg_free(cfg);
		tu_cleanup();
	}
	fake_stop(&f);
}

Test(dns, recursion_desired_flag_and_random_ids)
{
	struct fake	 f = { .mode = F_GOOD };
	struct cfg	*cfg;
	struct probe	*p;
	uint16_t	 id1;

	fake_start(&f);
	p = run_dns(f.port, "\"query\": \"www.example.test\"", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	cr_expect_eq(f.rd, 1, "RD is set by default");
	id1 = f.last_id;
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();
	p = run_dns(f.port, "\"query\": \"www.example.test\", \"recursion_desired\": false",
	    &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	cr_expect_eq(f.rd, 0, "RD set although recursion_desired is false");
	cr_expect_neq(f.last_id, id1, "two queries with the same ID %u", id1);
	probe_free(p);
	cfg_free(cfg);
	fake_stop(&f);
}

struct bad_case {
	const char	*keys;
	const char	*errs;
};

Test(dns, configuration_errors)
{
	static const struct bad_case cases[] = {
		{ "\"server\": \"ns1.example.test\", \"query\": \"a.test\"",
		  "services.d/svc.json: probes[0].server: 'ns1.example.test' is not an IPv4 "
		  "or IPv6 address (host names are not resolved)" },
		{ "\"server\": \"127.0.0.1\"",
		  "services.d/svc.json: probes[0].query: is required" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a..test\"",
		  "services.d/svc.json: probes[0].query: 'a..test' is not a domain name" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"transport\": \"quic\"",
		  "services.d/svc.json: probes[0].transport: 'quic' is not udp or tcp" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"qtype\": \"ANY\"",
		  "services.d/svc.json: probes[0].qtype: 'ANY' is not a supported query type" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"expect_rcode\": \"OK\"",
		  "services.d/svc.json: probes[0].expect_rcode: 'OK' is not an RCODE" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"expect_answer\": "
		  "[\"192.0.2.300\"]",
		  "services.d/svc.json: probes[0].expect_answer[0]: '192.0.2.300' is not an "
		  "IPv4 address (qtype A)" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"qtype\": \"AAAA\", "
		  "\"expect_answer\": [\"192.0.2.1\"]",
		  "services.d/svc.json: probes[0].expect_answer[0]: '192.0.2.1' is not an "
		  "IPv6 address (qtype AAAA)" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"expect_answer\": "
		  "\"192.0.2.1\"",
		  "services.d/svc.json: probes[0].expect_answer: expected an array of "
		  "strings, got a string" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"expect_aa\": \"yes\"",
		  "services.d/svc.json: probes[0].expect_aa: expected true or false, got a "
		  "string" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"port\": 0",
		  "services.d/svc.json: probes[0].port: 0 is not a port (1-65535)" },
		{ "\"server\": \"127.0.0.1\", \"query\": \"a.test\", \"qtpye\": \"A\"",
		  "services.d/svc.json: probes[0]: unknown key 'qtpye' (did you mean 'qtype'?)" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg	*cfg;
		char		 svc[512], errs[2048];

		snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
		    "\"probes\": [ { \"type\": \"dns\", %s } ] }", cases[i].keys);
		cfg = tu_try_load(svc, errs, sizeof(errs));
		cr_expect_null(cfg, "case %zu loaded", i);
		cfg_free(cfg);
		cr_expect_eq(strncmp(errs, cases[i].errs, strlen(cases[i].errs)), 0,
		    "case %zu: got '%s'", i, errs);
		tu_cleanup();
	}
}

/*
 * A reply to "example.test TXT" or "CAA" with ID 0x1234, AA, and one answer
 * of that type whose data is rdata[0..rdlen).
 */
static size_t
reply_with(uint16_t type, const void *rdata, size_t rdlen, unsigned char *m, size_t max)
{
	unsigned char	*p;
	int		 n;

	n = res_mkquery(ns_o_query, "example.test", ns_c_in, type, NULL, 0, NULL, m,
	    (int)max);
	cr_assert_gt(n, 0);
	ns_put16(0x1234, m);
	m[2] |= 0x84;			/* QR, AA */
	ns_put16(1, m + 6);		/* ANCOUNT */
	p = m + n;
	ns_put16(0xc00c, p);
	ns_put16(type, p + 2);
	ns_put16(ns_c_in, p + 4);
	ns_put32(300, p + 6);
	ns_put16((unsigned)rdlen, p + 10);
	memcpy(p + 12, rdata, rdlen);
	return (size_t)n + 12 + rdlen;
}

/*
 * Record data holding a NUL byte is not the expected C string that ends
 * there: "v=spf1 -all\0x" is not "v=spf1 -all" (found by fuzz_dns).
 */
Test(dns, nul_in_txt_or_caa_data_does_not_match)
{
	static const struct {
		uint16_t	 type;
		const char	*keys;
		const char	*rdata;
		size_t		 rdlen;
		int		 result;
		const char	*msg;
	} cases[] = {
		{ ns_t_txt, "\"TXT\", \"expect_answer\": [\"v=spf1 -all\"]",
		  "\x0bv=spf1 -all", 12, PROBE_OK,
		  "127.0.0.1:53 answered NOERROR for example.test/TXT (1 record, "
		  "authoritative)" },
		{ ns_t_txt, "\"TXT\", \"expect_answer\": [\"v=spf1 -all\"]",
		  "\x0dv=spf1 -all\0x", 14, PROBE_DNS_ANSWER,
		  "127.0.0.1:53 answered example.test/TXT with 'v=spf1 -all\\x00x', "
		  "expected 'v=spf1 -all'" },
		{ ns_t_caa, "\"CAA\", \"expect_answer\": [\"0 issue \\\"ca.test\\\"\"]",
		  "\0\x05issueca.test", 14, PROBE_OK,
		  "127.0.0.1:53 answered NOERROR for example.test/CAA (1 record, "
		  "authoritative)" },
		{ ns_t_caa, "\"CAA\", \"expect_answer\": [\"0 issue \\\"ca.test\\\"\"]",
		  "\0\x05issueca.test\0.evil", 20, PROBE_DNS_ANSWER,
		  "127.0.0.1:53 answered example.test/CAA with "
		  "'0 issue \"ca.test\\x00.evil\"', expected '0 issue \"ca.test\"'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg		*cfg;
		unsigned char		 m[512];
		char			 svc[512], msg[256] = "";
		enum probe_result	 r = PROBE_RESULT_MAX;
		size_t			 len;

		snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
		    "\"probes\": [ { \"type\": \"dns\", \"server\": \"127.0.0.1\", "
		    "\"query\": \"example.test\", \"qtype\": %s } ] }", cases[i].keys);
		cfg = tu_load(NULL, "svc", svc, NULL);
		len = reply_with(cases[i].type, cases[i].rdata, cases[i].rdlen, m, sizeof(m));
		cr_expect_eq(dns_check_reply(cfg->services[0].probes[0].params, 0x1234,
		    false, false, m, len, &r, msg, sizeof(msg)), DNS_DONE, "case %zu", i);
		cr_expect_eq(r, cases[i].result, "case %zu: %s", i, msg);
		cr_expect_str_eq(msg, cases[i].msg, "case %zu", i);
		cfg_free(cfg);
		tu_cleanup();
	}
}
