/*
 * The one place that talks rtnetlink: service addresses on an interface.
 * Requests are synchronous: the kernel answers an address change at once,
 * so the event loop is held for well under a millisecond. Every request
 * carries NLM_F_ACK and its own sequence number, and every reply attribute
 * is validated before use.
 */
#ifndef AHD_NL_H
#define AHD_NL_H

#include <stdbool.h>
#include <stddef.h>

#include "pfx.h"

struct nl;

struct nl	*nl_open(char *err, size_t errlen);
void		 nl_close(struct nl *nl);

/*
 * Adds p as an address on ifindex: 0 if the kernel added it, 1 if it was
 * already there (success too), -1 with err.
 */
int		 nl_addr_add(struct nl *nl, unsigned ifindex, const struct pfx *p,
		    char *err, size_t errlen);
/* Removes p from ifindex: 0 removed, 1 it was not there (success), -1 with err. */
int		 nl_addr_del(struct nl *nl, unsigned ifindex, const struct pfx *p,
		    char *err, size_t errlen);

/* One address change of a batch: add, ifindex and pfx in; rc and err out. */
struct nl_addr_op {
	bool		add;
	unsigned	ifindex;
	struct pfx	pfx;
	int		rc;		/* as nl_addr_add/nl_addr_del: 0, 1, -1 with err */
	char		err[256];
};

/*
 * Many changes in few system calls (a service with a thousand prefixes):
 * up to 64 requests per sendmsg() buffer, each with its own sequence
 * number and ACK. The kernel handles them in order and independently, so
 * each op's rc and err are what nl_addr_add/nl_addr_del would have given.
 */
void		 nl_addr_batch(struct nl *nl, struct nl_addr_op *ops, size_t n);
/*
 * Calls cb for every address on ifindex (both families), as a prefix of the
 * address with its prefix length. Returns 0, or -1 with err.
 */
int		 nl_addr_dump(struct nl *nl, unsigned ifindex,
		    void (*cb)(const struct pfx *p, void *arg), void *arg,
		    char *err, size_t errlen);

/*
 * The kernel's own word on address changes (OpenBGPD's kroute keeps such a
 * mirror): a separate non-blocking socket subscribed to RTNLGRP_IPV4_IFADDR
 * and RTNLGRP_IPV6_IFADDR, read by the event loop. The daemon's own changes
 * come back through it as well.
 */
struct nl_addr_event {
	bool		added;		/* RTM_NEWADDR; false: RTM_DELADDR */
	unsigned	ifindex;
	struct pfx	pfx;		/* the local address with its prefix length */
};

typedef void (*nl_addr_event_cb)(const struct nl_addr_event *ev, void *arg);

struct nl_watch;

struct nl_watch	*nl_watch_open(char *err, size_t errlen);
void		 nl_watch_close(struct nl_watch *w);
int		 nl_watch_fd(const struct nl_watch *w);
/*
 * Reads every notification queued, calling cb for each valid one. 0; 1 if
 * notifications were lost (socket overrun: the caller must read the
 * interfaces again); -1 with err on another error.
 */
int		 nl_watch_read(struct nl_watch *w, nl_addr_event_cb cb, void *arg,
		    char *err, size_t errlen);
/*
 * Parses a buffer of netlink messages as the kernel sends them to the
 * group: cb per valid address message; anything else is skipped. Returns
 * how many messages were malformed (each attribute is validated).
 */
size_t		 nl_watch_parse(const void *buf, size_t len, nl_addr_event_cb cb, void *arg);

#endif
