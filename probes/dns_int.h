/*
 * The DNS probe's parts, private to them: dns.c (configuration and the
 * attempt on the loop) and dns_wire.c (the wire format: names of query
 * types and RCODEs, record data in presentation form, judging a reply).
 */
#ifndef AHD_PROBE_DNS_INT_H
#define AHD_PROBE_DNS_INT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sock.h"

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

const char	*dns_qtype_name(uint16_t t);	/* "?" if not supported */
const char	*dns_rcode_name(int rc, char *buf, size_t len);	/* "RCODE<n>" in buf if unnamed */
int		 dns_qtype_lookup(const char *name);
int		 dns_rcode_lookup(const char *name);
/* Normalises answer text in place for comparison (see dns_wire.c). */
void		 dns_norm(char *s, uint16_t qtype);

#endif
