/*
 * The one place that talks rtnetlink: service addresses on an interface.
 * Requests are synchronous: the kernel answers an address change at once,
 * so the event loop is held for well under a millisecond. Every request
 * carries NLM_F_ACK and its own sequence number, and every reply attribute
 * is validated before use.
 */
#ifndef AHD_NL_H
#define AHD_NL_H

#include <stddef.h>

#include "pfx.h"

struct nl;

struct nl	*nl_open(char *err, size_t errlen);
void		 nl_close(struct nl *nl);

/* Adds p as an address on ifindex; an address that is already there is success. */
int		 nl_addr_add(struct nl *nl, unsigned ifindex, const struct pfx *p,
		    char *err, size_t errlen);
/* Removes p from ifindex; an address that is not there is success. */
int		 nl_addr_del(struct nl *nl, unsigned ifindex, const struct pfx *p,
		    char *err, size_t errlen);
/*
 * Calls cb for every address on ifindex (both families), as a prefix of the
 * address with its prefix length. Returns 0, or -1 with err.
 */
int		 nl_addr_dump(struct nl *nl, unsigned ifindex,
		    void (*cb)(const struct pfx *p, void *arg), void *arg,
		    char *err, size_t errlen);

#endif
