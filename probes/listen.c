/*
 * Listen probe: asks the kernel over NETLINK_SOCK_DIAG whether a TCP socket
 * listens (or a UDP socket is bound) on a port, optionally on an address,
 * without sending any traffic. An attempt is one or two filtered dumps
 * answered within the system call, so a 20 ms interval costs next to
 * nothing. All listen probes share one netlink socket.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <json-c/json.h>

#include "compiler.h"
#include "cfg.h"
#include "listen.h"
#include "probe.h"
#include "sockdiag.h"

struct listen_params {
	int		 protocol;	/* IPPROTO_TCP, IPPROTO_UDP */
	uint16_t	 port;
	bool		 v4, v6;	/* socket families to look at */
	int		 addr_family;	/* 0: any address */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} addr;
	char		 what[INET6_ADDRSTRLEN + 32];	/* "udp [::1]:53" */
};

static const char *const listen_keys[] = { "protocol", "port", "address", "family", NULL };

static struct sockdiag	*shared;
static unsigned		 users;

static void
listen_free_params(void *arg)
{
	free(arg);
}

static int
listen_parse(struct cfg_ctx *ctx, struct json_object *obj, void **params)
{
	struct listen_params	*lp;
	char			*proto = NULL, *family = NULL, a[INET6_ADDRSTRLEN];
	int			 ok = 0, ar;

	if ((lp = calloc(1, sizeof(*lp))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	lp->protocol = IPPROTO_TCP;
	lp->v4 = lp->v6 = true;
	if (cfg_get_string(ctx, obj, "protocol", false, &proto) == -1)
		ok = -1;
	else if (proto != NULL && strcmp(proto, "udp") == 0)
		lp->protocol = IPPROTO_UDP;
	else if (proto != NULL && strcmp(proto, "tcp") != 0) {
		cfg_error(ctx, "protocol", "'%s' is not tcp or udp", proto);
		ok = -1;
	}
	if (cfg_get_port(ctx, obj, "port", true, &lp->port) != 1)
		ok = -1;
	if (cfg_get_string(ctx, obj, "family", false, &family) == -1)
		ok = -1;
	else if (family != NULL && strcmp(family, "ipv4") == 0)
		lp->v6 = false;
	else if (family != NULL && strcmp(family, "ipv6") == 0)
		lp->v4 = false;
	else if (family != NULL && strcmp(family, "any") != 0) {
		cfg_error(ctx, "family", "'%s' is not ipv4, ipv6 or any", family);
		ok = -1;
	}
	if ((ar = cfg_get_ipaddr(ctx, obj, "address", false, &lp->addr_family,
	    &lp->addr)) == -1)
		ok = -1;
	/* An IPv6 address is served only by IPv6 sockets; IPv4 by both kinds. */
	if (ar == 1 && lp->addr_family == AF_INET6)
		lp->v4 = false;
	if (ar == 1 && lp->addr_family == AF_INET6 && !lp->v6) {
		cfg_error(ctx, "family", "ipv4 does not fit the IPv6 address");
		ok = -1;
	}
	free(proto);
	free(family);
	if (ok == -1) {
		free(lp);
		return -1;
	}
	if (ar == 1) {
		inet_ntop(lp->addr_family, &lp->addr, a, sizeof(a));
		snprintf(lp->what, sizeof(lp->what), lp->addr_family == AF_INET6 ?
		    "%s [%s]:%u" : "%s %s:%u", lp->protocol == IPPROTO_TCP ? "tcp" : "udp",
		    a, lp->port);
	} else
		snprintf(lp->what, sizeof(lp->what), "%s port %u%s",
		    lp->protocol == IPPROTO_TCP ? "tcp" : "udp", lp->port,
		    !lp->v6 ? " (ipv4)" : !lp->v4 ? " (ipv6)" : "");
	*params = lp;
	return 0;
}

static int
listen_open(struct probe *p, char *err, size_t errlen)
{
	if (shared == NULL && (shared = sockdiag_open(err, errlen)) == NULL)
		return -1;
	users++;
	p->held = shared;
	return 0;
}

static void
listen_close(struct probe *p)
{
	if (p->held == NULL)
		return;
	p->held = NULL;
	if (--users == 0) {
		sockdiag_close(shared);
		shared = NULL;
	}
}

static void
listen_start(struct probe *p)
{
	const struct listen_params	*lp = p->cfg->params;
	struct sockdiag_query		 q = { .protocol = lp->protocol, .port = lp->port,
	    .addr_family = lp->addr_family, .addr = { .v6 = lp->addr.v6 } };
	unsigned			 n, total = 0;
	char				 err[256];

	for (int i = 0; i < 2; i++) {
		if (!(i == 0 ? lp->v4 : lp->v6))
			continue;
		q.family = i == 0 ? AF_INET : AF_INET6;
		if (sockdiag_count(p->held, &q, &n, err, sizeof(err)) == -1) {
			probe_done(p, PROBE_INTERNAL, 0, NULL, "%s", err);
			return;
		}
		total += n;
	}
	if (total == 0)
		probe_done(p, PROBE_NOT_LISTENING, 0, NULL, "nothing %s on %s", lp->protocol ==
		    IPPROTO_TCP ? "listens" : "is bound", lp->what);
	else
		probe_done(p, PROBE_OK, 0, NULL, "%u socket%s %s on %s", total,
		    total == 1 ? "" : "s",
		    lp->protocol == IPPROTO_TCP ? "listening" : "bound", lp->what);
}

/* Attempts finish before start() returns: nothing is ever in flight. */
static void
listen_abort(struct probe *p UNUSED)
{
}

const struct probe_type probe_type_listen = {
	.cfg = {
		.name = "listen",
		.keys = listen_keys,
		.parse = listen_parse,
		.free_params = listen_free_params,
	},
	.start = listen_start,
	.abort = listen_abort,
	.open = listen_open,
	.close = listen_close,
};
