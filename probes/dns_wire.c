/*
 * DNS probe, wire format: the names of query types and RCODEs, record data
 * in presentation form, and dns_check_reply(), which judges one reply (the
 * server's bytes, parsed with libresolv's ns_initparse, ns_parserr and
 * ns_name_uncompress) against the probe's expectations. Moved from dns.c;
 * no sockets here, so it is fuzzed alone (tests/fuzz/fuzz_dns.c).
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns.h"
#include "dns_int.h"
#include "probe.h"
#include "text.h"

#define DNS_SHOW_MAX	160		/* answer text quoted in a message */

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

const char *
dns_qtype_name(uint16_t t)
{
	for (size_t i = 0; i < NQTYPES; i++)
		if (qtypes[i].type == t)
			return qtypes[i].name;
	return "?";
}

const char *
dns_rcode_name(int rc, char *buf, size_t len)
{
	if (rc >= 0 && (size_t)rc < NRCODES)
		return rcodes[rc];
	snprintf(buf, len, "RCODE%d", rc);
	return buf;
}

/* The query type named name (any case), or -1 if it is not supported. */
int
dns_qtype_lookup(const char *name)
{
	for (size_t i = 0; i < NQTYPES; i++)
		if (strcasecmp(name, qtypes[i].name) == 0)
			return qtypes[i].type;
	return -1;
}

/* The RCODE named name (any case), or -1 if there is none. */
int
dns_rcode_lookup(const char *name)
{
	for (size_t i = 0; i < NRCODES; i++)
		if (strcasecmp(name, rcodes[i]) == 0)
			return (int)i;
	return -1;
}

/*
 * The form answers are compared in, for types other than A/AAAA: words
 * separated by one space; for types whose data holds domain names (all but
 * TXT and CAA) lower case, and a word's trailing dot dropped ("10
 * mail.example.com." and "10 Mail.Example.COM" are the same MX). TXT and CAA
 * compare exactly.
 */
void
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
		snprintf(out, len, "no %s record", dns_qtype_name(dp->qtype));
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
		    "for %s/%s, expected %s%s", dp->peer.where, dns_rcode_name(rcode, rc,
		    sizeof(rc)), dp->query, dns_qtype_name(dp->qtype),
		    dns_rcode_name(dp->expect_rcode, erc, sizeof(erc)), via);
	if (dp->expect_aa && !ns_msg_getflag(h, ns_f_aa))
		return verdict(result, PROBE_DNS_NOT_AA, msg, msglen, "%s answered "
		    "%s/%s without the AA flag (not authoritative)%s", dp->peer.where,
		    dp->query, dns_qtype_name(dp->qtype), via);
	if (dp->check_answer) {
		if ((eq = dns_compare(dp, &h, got, sizeof(got))) == -1)
			return verdict(result, PROBE_DNS_MALFORMED, msg, msglen, "%s "
			    "sent a reply with a malformed %s record%s", dp->peer.where,
			    dns_qtype_name(dp->qtype), via);
		if (eq == 0) {
			expected_str(dp, want, sizeof(want));
			return verdict(result, PROBE_DNS_ANSWER, msg, msglen, "%s "
			    "answered %s/%s with %s, expected %s%s", dp->peer.where,
			    dp->query, dns_qtype_name(dp->qtype), got[0] ? got :
			    "no record", want, via);
		}
	}
	return verdict(result, PROBE_OK, msg, msglen, "%s answered %s for %s/%s "
	    "(%u record%s%s)%s", dp->peer.where, dns_rcode_name(rcode, rc, sizeof(rc)),
	    dp->query, dns_qtype_name(dp->qtype), ns_msg_count(h, ns_s_an),
	    ns_msg_count(h, ns_s_an) == 1 ? "" : "s",
	    ns_msg_getflag(h, ns_f_aa) ? ", authoritative" : "", via);
}
