/*
 * NETLINK_SOCK_DIAG (inet_diag, INET_DIAG_REQ_V2) through libmnl: which
 * sockets are bound or listening on a port, asked of the kernel without
 * sending any traffic. The kernel filters by port (bytecode), so a busy
 * resolver's thousands of sockets cost nothing; every reply length and
 * attribute is validated before use.
 */
#ifndef AHD_SOCKDIAG_H
#define AHD_SOCKDIAG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockdiag;

struct sockdiag_query {
	int		 family;	/* AF_INET or AF_INET6: the sockets dumped */
	int		 protocol;	/* IPPROTO_TCP (listening) or IPPROTO_UDP (bound) */
	uint16_t	 port;
	/* Optional: sockets bound to this address or to the wildcard. */
	int		 addr_family;	/* 0: any address, AF_INET, AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} addr;
};

struct sockdiag	*sockdiag_open(char *err, size_t errlen);
void		 sockdiag_close(struct sockdiag *sd);
/* Counts the matching sockets; 0, or -1 with err. */
int		 sockdiag_count(struct sockdiag *sd, const struct sockdiag_query *q,
		    unsigned *count, char *err, size_t errlen);
/*
 * Parses len bytes of a dump reply (sequence seq, our port id portid) and
 * adds the matching sockets to *count. Returns 1 when the dump is complete,
 * 0 when more is to come, -1 on a malformed reply or a kernel error (errno).
 */
int		 sockdiag_parse(const void *buf, size_t len, uint32_t seq,
		    uint32_t portid, const struct sockdiag_query *q, unsigned *count);

#endif
