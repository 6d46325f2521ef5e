#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pfx.h"

int
pfx_addr_parse(const char *s, int *family, void *addr)
{
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

static bool
host_bits_zero(const uint8_t *a, unsigned bytes, unsigned len)
{
	for (unsigned bit = len; bit < bytes * 8; bit++)
		if (a[bit / 8] & (0x80 >> (bit % 8)))
			return false;
	return true;
}

int
pfx_parse(const char *s, struct pfx *p, char *err, size_t errlen)
{
	char		 addr[INET6_ADDRSTRLEN];
	const char	*slash;
	char		*end;
	unsigned long	 len;
	unsigned	 maxlen;
	size_t		 alen;

	memset(p, 0, sizeof(*p));
	slash = strchr(s, '/');
	if (slash == NULL) {
		snprintf(err, errlen, "'%s' has no prefix length (write %s/32 or %s/128)",
		    s, s, s);
		return -1;
	}
	alen = (size_t)(slash - s);
	if (alen == 0 || alen >= sizeof(addr))
		goto bad_addr;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (pfx_addr_parse(addr, &p->family, &p->addr) == -1)
		goto bad_addr;
	maxlen = p->family == AF_INET ? 32 : 128;
	errno = 0;
	if (slash[1] < '0' || slash[1] > '9')
		goto bad_len;
	len = strtoul(slash + 1, &end, 10);
	if (errno != 0 || *end != '\0' || len > maxlen)
		goto bad_len;
	p->len = (uint8_t)len;
	if (!host_bits_zero((const uint8_t *)&p->addr, maxlen / 8, p->len)) {
		snprintf(err, errlen, "'%s' has host bits set beyond /%u "
		    "(FRR would silently announce the covering network)", s, p->len);
		return -1;
	}
	return 0;

bad_addr:
	snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 prefix", s);
	return -1;
bad_len:
	snprintf(err, errlen, "'%s' has a bad prefix length (0-%u)", s, maxlen);
	return -1;
}

const char *
pfx_fmt(const struct pfx *p, char *buf, size_t buflen)
{
	char	a[INET6_ADDRSTRLEN];

	if (inet_ntop(p->family, &p->addr, a, sizeof(a)) == NULL)
		snprintf(a, sizeof(a), "?");
	snprintf(buf, buflen, "%s/%u", a, p->len);
	return buf;
}

bool
pfx_equal(const struct pfx *a, const struct pfx *b)
{
	size_t	n;

	if (a->family != b->family || a->len != b->len)
		return false;
	n = a->family == AF_INET ? sizeof(a->addr.v4) : sizeof(a->addr.v6);
	return memcmp(&a->addr, &b->addr, n) == 0;
}

/* FNV-1a over what pfx_equal() compares, high half folded in: the tables index by the low bits. */
size_t
pfx_hash(const struct pfx *p)
{
	const unsigned char	*b = (const unsigned char *)&p->addr;
	size_t			 n = p->family == AF_INET ? sizeof(p->addr.v4) : sizeof(p->addr.v6);
	uint64_t		 h = 0xcbf29ce484222325ULL;

	h = (h ^ (uint64_t)p->family) * 0x100000001b3ULL;
	h = (h ^ p->len) * 0x100000001b3ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return (size_t)(h ^ (h >> 32));
}
