/*
 * DNS probe: one query to one server, over UDP (retried over TCP when the
 * answer comes back truncated) or TCP. The message is built and parsed with
 * glibc's libresolv (res_nmkquery, ns_initparse, ns_parserr,
 * ns_name_uncompress); the only bytes written by hand are TCP's 2-byte
 * length prefix. A reply that is not for our query (ID, QR flag or question
 * differ) is ignored as spoofed or stray, so the attempt waits on and times
 * out; a reply for our query that does not parse is CRITICAL.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "cfg.h"
#include "dns.h"
#include "sock.h"
#include "probe.h"
#include "text.h"

#define DNS_MSG_MAX	65535		/* largest DNS message (TCP length field) */
#define DNS_SHOW_MAX	160		/* answer text quoted in a message */

struct dns_params {
	struct sock_peer peer;
	bool		 tcp;		/* "transport": "tcp" */
	char		*query;		/* canonical presentation form */
	uint16_t	 qtype;
	int		 expect_rcode;
	bool		 check_answer;	/* "expect_answer" was given */
	char		**expect;	/* normalised, see dns_norm() */
	size_t		 nexpect;
	struct in6_addr	*expect_addr;	/* A/AAAA: expect[] parsed */
	bool		 expect_aa;
	bool		 rd;
};

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

static const struct {
	const char	*name;
	uint16_t	 type;
} qtypes[] = {
	{ "A", ns_t_a }, { "AAAA", ns_t_aaaa }, { "NS", ns_t_ns },
	{ "SOA", ns_t_soa }, { "MX", ns_t_mx }, { "TXT", ns_t_txt },
	{ "CNAME", ns_t_cname }, { "PTR", ns_t_ptr }, { "SRV", ns_t_srv },
	{ "CAA", ns_t_caa },
};
#define NQTYPES (sizeof(qtypes) / sizeof(qtypes[0]))

/* RFC 1035 and RFC 2136 RCODEs, indexed by value. */
static const char *const rcodes[] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};
#define NRCODES (sizeof(rcodes) / sizeof(rcodes[0]))

static const char *
qtype_name(uint16_t t)
{
	for (size_t i = 0; i < NQTYPES; i++)
		if (qtypes[i].type == t)
			return qtypes[i].name;
	return "?";
}

static const char *
rcode_name(int rc, char *buf, size_t len)
{
	if (rc >= 0 && (size_t)rc < NRCODES)
		return rcodes[rc];
	snprintf(buf, len, "RCODE%d", rc);
	return buf;
}

/*
 * The form answers are compared in, for types other than A/AAAA: words
 * separated by one space; for types whose data holds domain names (all but
 * TXT and CAA) lower case, and a word's trailing dot dropped ("10
 * mail.example.com." and "10 Mail.Example.COM" are the same MX). TXT and CAA
 * compare exactly.
 */
static void
dns_norm(char *s, uint16_t qtype)
{
	bool	names = qtype != ns_t_txt && qtype != ns_t_caa;
	char	*o = s, *i = s;

	if (qtype == ns_t_txt)
		return;
	while (*i != '\0') {
		if (isspace((unsigned char)*i)) {
			while (isspace((unsigned char)*i))
				i++;
			if (o != s && *i != '\0')
				*o++ = ' ';
			continue;
		}
		if (names && *i == '.' && o != s && o[-1] != ' ' &&
		    (i[1] == '\0' || isspace((unsigned char)i[1]))) {
			i++;
			continue;
		}
		*o++ = names ? (char)tolower((unsigned char)*i) : *i;
		i++;
	}
	*o = '\0';
}

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
		    fam == AF_INET ? "IPv4" : "IPv6", qtype_name(dp->qtype));
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
	int			 ok = 0;
	size_t			 i;

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
		for (i = 0; i < NQTYPES; i++)
			if (strcasecmp(s, qtypes[i].name) == 0)
				break;
		if (i == NQTYPES) {
			cfg_error(ctx, "qtype", "'%s' is not a supported query type "
			    "(A, AAAA, NS, SOA, MX, TXT, CNAME, PTR, SRV, CAA)", s);
			ok = -1;
		} else
			dp->qtype = qtypes[i].type;
	}
	free(s);
	s = NULL;
	if (cfg_get_string(ctx, obj, "expect_rcode", false, &s) == 1) {
		for (i = 0; i < NRCODES; i++)
			if (strcasecmp(s, rcodes[i]) == 0)
				break;
		if (i == NRCODES) {
			cfg_error(ctx, "expect_rcode", "'%s' is not an RCODE (NOERROR, "
			    "FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED, YXDOMAIN, "
			    "YXRRSET, NXRRSET, NOTAUTH, NOTZONE)", s);
			ok = -1;
		} else
			dp->expect_rcode = (int)i;
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

/* Appends one character-string (RFC 1035 3.3) of rdata at *rd to out. */
static int
txt_append(const unsigned char **rd, const unsigned char *end, char *out, size_t len,
    size_t *off)
{
	size_t	n;

	if (*rd >= end || (size_t)(end - *rd) < 1U + **rd)
		return -1;
	n = **rd;
	if (*off + n >= len)
		return -1;
	memcpy(out + *off, *rd + 1, n);
	*off += n;
	out[*off] = '\0';
	*rd += 1 + n;
	return 0;
}

/* Appends the domain name at *rd (compressed against the message) to out. */
static int
name_append(const ns_msg *h, const unsigned char **rd, const unsigned char *end,
    char *out, size_t len, size_t *off)
{
	char	name[NS_MAXDNAME];
	int	n;

	if (*rd >= end)
		return -1;
	n = ns_name_uncompress(ns_msg_base(*h), ns_msg_end(*h), *rd, name, sizeof(name));
	if (n < 0 || *rd + n > end)
		return -1;
	*rd += n;
	n = snprintf(out + *off, len - *off, "%s", name);
	if (n < 0 || (size_t)n >= len - *off)
		return -1;
	*off += (size_t)n;
	return 0;
}

/* Appends a number, then sep. */
static int
u_append(char *out, size_t len, size_t *off, unsigned long v, const char *sep)
{
	int	n = snprintf(out + *off, len - *off, "%lu%s", v, sep);

	if (n < 0 || (size_t)n >= len - *off)
		return -1;
	*off += (size_t)n;
	return 0;
}

/*
 * The presentation form of a record's data, for non-address types (see
 * dns_norm()), and its length in *outlen; -1 if the data does not parse.
 * TXT and CAA data may hold NUL bytes: such text is left as it came, and
 * *outlen counts past the first NUL.
 */
static int
dns_rdata_str(const ns_msg *h, const ns_rr *rr, char *out, size_t len, size_t *outlen)
{
	const unsigned char	*rd = ns_rr_rdata(*rr), *end = rd + ns_rr_rdlen(*rr);
	size_t			 off = 0;
	unsigned		 tlen;

	out[0] = '\0';
	switch (ns_rr_type(*rr)) {
	case ns_t_ns:
	case ns_t_cname:
	case ns_t_ptr:
		if (name_append(h, &rd, end, out, len, &off) == -1)
			return -1;
		break;
	case ns_t_mx:
		if (end - rd < 2 || u_append(out, len, &off, ns_get16(rd), " ") == -1)
			return -1;
		rd += 2;
		if (name_append(h, &rd, end, out, len, &off) == -1)
			return -1;
		break;
	case ns_t_srv:
		if (end - rd < 6)
			return -1;
		for (int i = 0; i < 3; i++, rd += 2)
			if (u_append(out, len, &off, ns_get16(rd), " ") == -1)
				return -1;
		if (name_append(h, &rd, end, out, len, &off) == -1)
			return -1;
		break;
	case ns_t_soa:
		if (name_append(h, &rd, end, out, len, &off) == -1 || off + 1 >= len)
			return -1;
		out[off++] = ' ';
		if (name_append(h, &rd, end, out, len, &off) == -1 || end - rd != 20 ||
		    off + 1 >= len)
			return -1;
		out[off++] = ' ';
		for (int i = 0; i < 5; i++, rd += 4)
			if (u_append(out, len, &off, ns_get32(rd), i < 4 ? " " : "") == -1)
				return -1;
		break;
	case ns_t_txt:
		/* The strings joined: long TXT data is split at 255 bytes. */
		while (rd < end)
			if (txt_append(&rd, end, out, len, &off) == -1)
				return -1;
		break;
	case ns_t_caa:
		/* RFC 8659: FLAGS TAG "VALUE". */
		if (end - rd < 2 || (tlen = rd[1]) == 0 || (size_t)(end - rd) < 2 + tlen)
			return -1;
		if (u_append(out, len, &off, rd[0], " ") == -1 ||
		    off + tlen + (size_t)(end - rd) + 4 > len)
			return -1;
		memcpy(out + off, rd + 2, tlen);
		off += tlen;
		rd += 2 + tlen;
		out[off++] = ' ';
		out[off++] = '"';
		memcpy(out + off, rd, (size_t)(end - rd));
		off += (size_t)(end - rd);
		out[off++] = '"';
		out[off] = '\0';
		rd = end;
		break;
	default:
		return -1;
	}
	if (rd != end)
		return -1;
	if (memchr(out, '\0', off) != NULL) {
		*outlen = off;
		return 0;
	}
	dns_norm(out, ns_rr_type(*rr));
	*outlen = strlen(out);
	return 0;
}

/*
 * Compares the answer section's records of the query type with the expected
 * set (order does not matter; duplicates do not count). Returns 1 if equal,
 * 0 if not, -1 if a record does not parse; got holds what came.
 */
static int
dns_compare(const struct dns_params *dp, ns_msg *h, char *got, size_t gotlen)
{
	ns_rr		 rr;
	char		 text[NS_MAXDNAME * 2 + 64], esc[NS_MAXDNAME * 2 + 64];
	bool		*seen = NULL;
	int		 equal = 1, fam = dp->qtype == ns_t_aaaa ? AF_INET6 : AF_INET;
	size_t		 goff = 0, alen = dp->qtype == ns_t_aaaa ? 16 : 4, tlen;
	uint16_t	 n = ns_msg_count(*h, ns_s_an);

	got[0] = '\0';
	if ((seen = calloc(dp->nexpect + 1, sizeof(*seen))) == NULL)
		return -1;
	for (uint16_t i = 0; i < n; i++) {
		bool	found = false;

		if (ns_parserr(h, ns_s_an, i, &rr) == -1) {
			equal = -1;
			break;
		}
		/* A CNAME chain ahead of the records asked for is not compared. */
		if (ns_rr_type(rr) != dp->qtype || ns_rr_class(rr) != ns_c_in)
			continue;
		if (dp->expect_addr != NULL) {
			if (ns_rr_rdlen(rr) != alen) {
				equal = -1;
				break;
			}
			inet_ntop(fam, ns_rr_rdata(rr), text, sizeof(text));
			tlen = strlen(text);
			for (size_t j = 0; j < dp->nexpect; j++)
				if (memcmp(&dp->expect_addr[j], ns_rr_rdata(rr), alen) == 0)
					found = seen[j] = true;
		} else {
			if (dns_rdata_str(h, &rr, text, sizeof(text), &tlen) == -1) {
				equal = -1;
				break;
			}
			/* Data holding a NUL equals no expected string (those end there). */
			for (size_t j = 0; j < dp->nexpect && strlen(text) == tlen; j++)
				if (strcmp(dp->expect[j], text) == 0)
					found = seen[j] = true;
		}
		if (!found)
			equal = 0;
		text_printable(text, tlen, esc, sizeof(esc));
		if (goff < gotlen)
			goff += (size_t)snprintf(got + goff, gotlen - goff, "%s%s%s%s",
			    goff ? ", " : "", dp->expect_addr == NULL ? "'" : "", esc,
			    dp->expect_addr == NULL ? "'" : "");
	}
	for (size_t j = 0; equal == 1 && j < dp->nexpect; j++)
		if (!seen[j])
			equal = 0;
	free(seen);
	return equal;
}

/* Joins the expected answers for a message. */
static void
expected_str(const struct dns_params *dp, char *out, size_t len)
{
	size_t	off = 0;
	char	esc[DNS_SHOW_MAX];

	out[0] = '\0';
	if (dp->nexpect == 0)
		snprintf(out, len, "no %s record", qtype_name(dp->qtype));
	for (size_t i = 0; i < dp->nexpect && off < len; i++) {
		text_printable(dp->expect[i], strlen(dp->expect[i]), esc, sizeof(esc));
		off += (size_t)snprintf(out + off, len - off, "%s%s%s%s", i ? ", " : "",
		    dp->expect_addr == NULL ? "'" : "", esc,
		    dp->expect_addr == NULL ? "'" : "");
	}
}

/* Ends the verdict of dns_check_reply() with a result and its message. */
static enum dns_verdict __attribute__((format(printf, 5, 6)))
verdict(enum probe_result *result, enum probe_result r, char *msg, size_t msglen,
    const char *fmt, ...)
{
	va_list	ap;

	*result = r;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	return DNS_DONE;
}

enum dns_verdict
dns_check_reply(const struct dns_params *dp, uint16_t id, bool tcp, bool fell_back,
    const unsigned char *m, size_t len, enum probe_result *result, char *msg,
    size_t msglen)
{
	ns_msg		 h;
	ns_rr		 q;
	char		 rc[16], erc[16], got[DNS_SHOW_MAX], want[DNS_SHOW_MAX];
	const char	*via = fell_back ? " (over TCP after a truncated UDP answer)" :
			    tcp ? " over TCP" : "";
	int		 rcode, eq;

	if (len < 2 || ns_get16(m) != id)
		return DNS_IGNORE;
	if (ns_initparse(m, (int)len, &h) == -1)
		return verdict(result, PROBE_DNS_MALFORMED, msg, msglen, "%s sent a "
		    "malformed reply (%zu bytes)%s", dp->peer.where, len, via);
	if (!ns_msg_getflag(h, ns_f_qr) || ns_msg_count(h, ns_s_qd) != 1)
		return DNS_IGNORE;
	if (ns_parserr(&h, ns_s_qd, 0, &q) == -1)
		return verdict(result, PROBE_DNS_MALFORMED, msg, msglen, "%s sent a "
		    "reply whose question does not parse%s", dp->peer.where, via);
	if (ns_rr_type(q) != dp->qtype || ns_rr_class(q) != ns_c_in ||
	    strcasecmp(ns_rr_name(q), dp->query) != 0)
		return DNS_IGNORE;

	if (ns_msg_getflag(h, ns_f_tc)) {
		if (tcp)
			return verdict(result, PROBE_DNS_MALFORMED, msg, msglen, "%s "
			    "sent a truncated reply over TCP", dp->peer.where);
		return DNS_RETRY_TCP;
	}
	rcode = ns_msg_getflag(h, ns_f_rcode);
	if (rcode != dp->expect_rcode)
		return verdict(result, PROBE_DNS_RCODE, msg, msglen, "%s answered %s "
		    "for %s/%s, expected %s%s", dp->peer.where, rcode_name(rcode, rc,
		    sizeof(rc)), dp->query, qtype_name(dp->qtype),
		    rcode_name(dp->expect_rcode, erc, sizeof(erc)), via);
	if (dp->expect_aa && !ns_msg_getflag(h, ns_f_aa))
		return verdict(result, PROBE_DNS_NOT_AA, msg, msglen, "%s answered "
		    "%s/%s without the AA flag (not authoritative)%s", dp->peer.where,
		    dp->query, qtype_name(dp->qtype), via);
	if (dp->check_answer) {
		if ((eq = dns_compare(dp, &h, got, sizeof(got))) == -1)
			return verdict(result, PROBE_DNS_MALFORMED, msg, msglen, "%s "
			    "sent a reply with a malformed %s record%s", dp->peer.where,
			    qtype_name(dp->qtype), via);
		if (eq == 0) {
			expected_str(dp, want, sizeof(want));
			return verdict(result, PROBE_DNS_ANSWER, msg, msglen, "%s "
			    "answered %s/%s with %s, expected %s%s", dp->peer.where,
			    dp->query, qtype_name(dp->qtype), got[0] ? got :
			    "no record", want, via);
		}
	}
	return verdict(result, PROBE_OK, msg, msglen, "%s answered %s for %s/%s "
	    "(%u record%s%s)%s", dp->peer.where, rcode_name(rcode, rc, sizeof(rc)),
	    dp->query, qtype_name(dp->qtype), ns_msg_count(h, ns_s_an),
	    ns_msg_count(h, ns_s_an) == 1 ? "" : "s",
	    ns_msg_getflag(h, ns_f_aa) ? ", authoritative" : "", via);
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
		    "cannot build a query for %s/%s", dp->query, qtype_name(dp->qtype));
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
