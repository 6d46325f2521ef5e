/*
 * libFuzzer target for the DNS probe's reply handling: dns_check_reply(),
 * the code dns_examine() runs on every datagram or TCP message the server
 * (or anyone spoofing it) sends. The first input byte picks the probe (one
 * per query type, with and without expected answers) and the transport;
 * the rest is the reply. The probes come from a real configuration load,
 * so the parameters are exactly what the daemon would use.
 *
 * Invariants beyond "no crash": a verdict only for a reply carrying our ID;
 * a retry over TCP only from UDP; an ended attempt has a known DNS result
 * and a non-empty, printable message (server bytes never reach a log line
 * raw); OK only when the reply's RCODE and AA bit are what was asked for,
 * and, for the A, AAAA and TXT probes, only when every answer record of the
 * type is byte for byte one of the expected values (worked out here with
 * libresolv alone); and the same reply always gets the same verdict.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "dns.h"
#include "probe.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define OUR_ID	0xbeef
#define MSGLEN	256		/* sizeof(struct probe.msg), what dns_examine() passes */

/* Each probe, with what dns_check_reply() must enforce for it. */
static const struct {
	const char	*keys;
	int		 rcode;
	bool		 aa;
	/* For the oracle: the type and the values of every acceptable answer. */
	uint16_t	 type;
	const char	*want[3];
} probes[] = {
	{ "\"query\": \"www.example.test\", \"expect_answer\": [\"192.0.2.10\", \"192.0.2.11\"]", 0, false,
	  ns_t_a, { "192.0.2.10", "192.0.2.11" } },
	{ "\"query\": \"www.example.test\", \"qtype\": \"AAAA\", \"expect_answer\": [\"2001:db8::10\"]", 0, false,
	  ns_t_aaaa, { "2001:db8::10" } },
	{ "\"query\": \"example.test\", \"qtype\": \"MX\", \"expect_answer\": [\"10 mail.example.test.\"]", 0, false },
	{ "\"query\": \"example.test\", \"qtype\": \"TXT\", \"expect_answer\": [\"v=spf1 -all\"]", 0, false,
	  ns_t_txt, { "v=spf1 -all" } },
	{ "\"query\": \"_sip._udp.example.test\", \"qtype\": \"SRV\", \"expect_answer\": [\"10 20 5060 sip.example.test\"]", 0, false },
	{ "\"query\": \"example.test\", \"qtype\": \"CAA\", \"expect_answer\": [\"0 issue \\\"letsencrypt.org\\\"\"]", 0, false },
	{ "\"query\": \"example.test\", \"qtype\": \"SOA\", \"expect_answer\": [\"ns1.example.test. hostmaster.example.test. 2024010101 3600 600 86400 300\"]", 0, false },
	{ "\"query\": \"example.test\", \"qtype\": \"NS\", \"expect_aa\": true, \"expect_answer\": [\"ns1.example.test\"]", 0, true },
	{ "\"query\": \"alias.example.test\", \"qtype\": \"CNAME\", \"expect_answer\": [\"www.example.test\"]", 0, false },
	{ "\"query\": \"ptr.example.test\", \"qtype\": \"PTR\", \"expect_answer\": [\"www.example.test\"]", 0, false },
	{ "\"query\": \"alias.example.test\", \"expect_answer\": [\"192.0.2.11\", \"192.0.2.10\"]", 0, false,
	  ns_t_a, { "192.0.2.11", "192.0.2.10" } },
	{ "\"query\": \"big.example.test\", \"qtype\": \"TXT\", \"expect_answer\": []", 0, false },
	{ "\"query\": \"nx.example.test\", \"expect_rcode\": \"NXDOMAIN\", \"expect_aa\": true", 3, true },
	{ "\"query\": \"long.example.test\", \"qtype\": \"TXT\", \"expect_answer\": [\"part one, part two\"]", 0, false,
	  ns_t_txt, { "part one, part two" } },
	{ "\"query\": \"example.test\", \"qtype\": \"MX\", \"expect_answer\": []", 0, false },
	{ "\"query\": \"alias.example.test\", \"qtype\": \"AAAA\"", 0, false },
};
#define NPROBES	(sizeof(probes) / sizeof(probes[0]))

static struct cfg	*cfg;

static void
fuzz_setup(void)
{
	struct cfg_errors	 errs = { 0 };
	char			 dir[64], path[128];
	FILE			*f;

	snprintf(dir, sizeof(dir), "/tmp/ahd-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/services.d", dir);
	if (mkdir(path, 0755) == -1)
		abort();
	snprintf(path, sizeof(path), "%s/services.d/dns.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs("{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [", f);
	for (size_t i = 0; i < NPROBES; i++)
		fprintf(f, "%s { \"type\": \"dns\", \"server\": \"127.0.0.1\", %s }",
		    i ? "," : "", probes[i].keys);
	fputs("] }", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/main.json", dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fputs("{ \"interface\": \"lo\" }", f);
	fclose(f);
	if ((cfg = cfg_load(path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		abort();
	}
	if (cfg->services[0].nprobes != NPROBES)
		abort();
}

/*
 * Whether every answer record of the probe's type (class IN) is one of its
 * expected values, byte for byte, and every expected value came.
 */
static bool
answers_expected(size_t pi, const unsigned char *m, size_t len)
{
	unsigned char		 want[3][256], data[256];
	size_t			 wlen[3], nwant = 0, dlen;
	bool			 seen[3] = { false, false, false }, found;
	const unsigned char	*rd, *end;
	ns_msg			 h;
	ns_rr			 rr;

	for (; nwant < 3 && probes[pi].want[nwant] != NULL; nwant++) {
		if (probes[pi].type == ns_t_txt) {
			wlen[nwant] = strlen(probes[pi].want[nwant]);
			memcpy(want[nwant], probes[pi].want[nwant], wlen[nwant]);
		} else {
			wlen[nwant] = probes[pi].type == ns_t_a ? 4 : 16;
			if (inet_pton(probes[pi].type == ns_t_a ? AF_INET : AF_INET6,
			    probes[pi].want[nwant], want[nwant]) != 1)
				abort();
		}
	}
	if (ns_initparse(m, (int)len, &h) == -1)
		return false;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) == -1)
			return false;
		if (ns_rr_type(rr) != probes[pi].type || ns_rr_class(rr) != ns_c_in)
			continue;
		rd = ns_rr_rdata(rr);
		end = rd + ns_rr_rdlen(rr);
		dlen = 0;
		if (probes[pi].type == ns_t_txt) {
			/* The character-strings joined. */
			while (rd < end) {
				if (1 + (size_t)*rd > (size_t)(end - rd) ||
				    dlen + *rd > sizeof(data))
					return false;
				memcpy(data + dlen, rd + 1, *rd);
				dlen += *rd;
				rd += 1 + *rd;
			}
		} else {
			if ((size_t)(end - rd) > sizeof(data))
				return false;
			dlen = (size_t)(end - rd);
			memcpy(data, rd, dlen);
		}
		found = false;
		for (size_t j = 0; j < nwant; j++)
			if (dlen == wlen[j] && memcmp(data, want[j], dlen) == 0)
				found = seen[j] = true;
		if (!found)
			return false;
	}
	for (size_t j = 0; j < nwant; j++)
		if (!seen[j])
			return false;
	return true;
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const struct dns_params	*dp;
	enum dns_verdict	 v, v2;
	enum probe_result	 r = PROBE_RESULT_MAX, r2 = PROBE_RESULT_MAX;
	unsigned char		*m;
	char			*msg, *msg2;
	size_t			 len, pi;
	bool			 tcp, fell_back;

	probe_types_register();

	if (cfg == NULL)
		fuzz_setup();
	if (size < 1)
		return 0;
	pi = (data[0] & 0x0f) % NPROBES;
	tcp = (data[0] & 0x10) != 0;
	fell_back = tcp && (data[0] & 0x20) != 0;
	dp = cfg->services[0].probes[pi].params;
	/* An exact-size copy, so that ASan sees any read past the reply. */
	len = size - 1;
	if ((m = malloc(len ? len : 1)) == NULL || (msg = malloc(MSGLEN)) == NULL ||
	    (msg2 = malloc(MSGLEN)) == NULL)
		abort();
	memcpy(m, data + 1, len);
	msg[0] = msg2[0] = '\0';

	v = dns_check_reply(dp, OUR_ID, tcp, fell_back, m, len, &r, msg, MSGLEN);
	if (v != DNS_IGNORE && (len < 2 || ns_get16(m) != OUR_ID))
		abort();
	if (v == DNS_IGNORE && msg[0] != '\0')
		abort();
	if (v == DNS_RETRY_TCP && (tcp || (m[2] & 0x02) == 0))
		abort();
	if (v == DNS_DONE) {
		if (msg[0] == '\0' || strlen(msg) >= MSGLEN || !printable(msg))
			abort();
		if (strncmp(msg, "127.0.0.1:53 ", 13) != 0)
			abort();
		if (r != PROBE_OK && r != PROBE_DNS_RCODE && r != PROBE_DNS_ANSWER &&
		    r != PROBE_DNS_NOT_AA && r != PROBE_DNS_MALFORMED)
			abort();
	}
	if (v == DNS_DONE && r == PROBE_OK) {
		/* QR set, RCODE as expected, AA when required, not truncated. */
		if (len < NS_HFIXEDSZ || (m[2] & 0x80) == 0 || (m[2] & 0x02) != 0 ||
		    (m[3] & 0x0f) != probes[pi].rcode ||
		    (probes[pi].aa && (m[2] & 0x04) == 0))
			abort();
	}
	if (v == DNS_DONE && r == PROBE_OK && probes[pi].type != 0 &&
	    !answers_expected(pi, m, len))
		abort();
	if (v == DNS_DONE && r == PROBE_DNS_RCODE && (m[3] & 0x0f) == probes[pi].rcode)
		abort();

	v2 = dns_check_reply(dp, OUR_ID, tcp, fell_back, m, len, &r2, msg2, MSGLEN);
	if (v2 != v || (v == DNS_DONE && (r2 != r || strcmp(msg, msg2) != 0)))
		abort();
	/* Another ID: the same bytes are somebody else's reply. */
	if (len >= 2 && dns_check_reply(dp, (uint16_t)(ns_get16(m) ^ 1), tcp, fell_back,
	    m, len, &r2, msg2, MSGLEN) != DNS_IGNORE)
		abort();
	free(m);
	free(msg);
	free(msg2);
	return 0;
}
