/* IPv4/IPv6 prefixes: parsed once from configuration, printed from the parsed form. */
#ifndef AHD_PFX_H
#define AHD_PFX_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest text form: full IPv6 address, '/', three digits, NUL. */
#define PFX_STRLEN (INET6_ADDRSTRLEN + 5)

struct pfx {
	int		family;		/* AF_INET or AF_INET6 */
	uint8_t		len;		/* prefix length */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} addr;
};

/*
 * Parses "192.0.2.53/32" or "2001:db8::53/128". The length is mandatory and
 * host bits must be zero: FRR silently turns "192.0.2.5/24" into
 * "192.0.2.0/24", so such input is refused rather than guessed at.
 * Returns 0, or -1 with a reason in err.
 */
int		 pfx_parse(const char *s, struct pfx *p, char *err, size_t errlen);
/* Writes the canonical text form; returns buf. */
const char	*pfx_fmt(const struct pfx *p, char *buf, size_t buflen);
bool		 pfx_equal(const struct pfx *a, const struct pfx *b);
size_t		 pfx_hash(const struct pfx *p);
/* Parses a bare IPv4/IPv6 address literal (no hostname lookups). */
int		 pfx_addr_parse(const char *s, int *family, void *addr);

#endif
