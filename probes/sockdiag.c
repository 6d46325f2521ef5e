#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/tcp.h>

#include "sockdiag.h"

/* TCP states as inet_diag numbers them (linux/tcp_states.h is not exported). */
#define DIAG_TCP_LISTEN	10
#define DIAG_UDP_UNCONN	7	/* TCP_CLOSE: a bound, unconnected UDP socket */

struct sockdiag {
	struct mnl_socket	*sock;
	uint32_t		 portid;
	uint32_t		 seq;
	char			*buf;		/* MNL_SOCKET_BUFFER_SIZE */
};

struct sockdiag *
sockdiag_open(char *err, size_t errlen)
{
	struct sockdiag	*sd;

	if ((sd = calloc(1, sizeof(*sd))) == NULL ||
	    (sd->buf = malloc(MNL_SOCKET_BUFFER_SIZE)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* Non-blocking: the kernel answers a dump within sendmsg/recvmsg. */
	if ((sd->sock = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) == NULL) {
		snprintf(err, errlen, "NETLINK_SOCK_DIAG socket: %s", strerror(errno));
		goto fail;
	}
	if (mnl_socket_bind(sd->sock, 0, MNL_SOCKET_AUTOPID) == -1) {
		snprintf(err, errlen, "NETLINK_SOCK_DIAG bind: %s", strerror(errno));
		goto fail;
	}
	sd->portid = mnl_socket_get_portid(sd->sock);
	return sd;
fail:
	sockdiag_close(sd);
	return NULL;
}

void
sockdiag_close(struct sockdiag *sd)
{
	if (sd == NULL)
		return;
	if (sd->sock != NULL)
		mnl_socket_close(sd->sock);
	free(sd->buf);
	free(sd);
}

static bool
v6_is_any(const uint32_t a[4])
{
	return (a[0] | a[1] | a[2] | a[3]) == 0;
}

/* Whether a socket bound to src (of family) serves the query's address. */
static bool
addr_matches(const struct sockdiag_query *q, int family, const uint32_t src[4],
    bool v6only)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (q->addr_family == 0)
		return true;
	if (family == AF_INET) {
		return q->addr_family == AF_INET &&
		    (src[0] == INADDR_ANY || src[0] == q->addr.v4.s_addr);
	}
	if (q->addr_family == AF_INET6)
		return v6_is_any(src) || memcmp(src, &q->addr.v6, 16) == 0;
	/* An IPv4 address reaches a dual-stack [::] socket, or [::ffff:a.b.c.d]. */
	if (v6_is_any(src))
		return !v6only;
	return memcmp(src, mapped, 12) == 0 && src[3] == q->addr.v4.s_addr;
}

struct parse_arg {
	const struct sockdiag_query	*q;
	unsigned			*count;
	bool				 v6only;
};

static int
attr_cb(const struct nlattr *a, void *arg)
{
	struct parse_arg	*pa = arg;

	if (mnl_attr_type_valid(a, INET_DIAG_MAX) < 0)
		return MNL_CB_OK;	/* newer kernels add attributes: skip */
	if (mnl_attr_get_type(a) == INET_DIAG_SKV6ONLY) {
		if (mnl_attr_validate(a, MNL_TYPE_U8) < 0)
			return MNL_CB_ERROR;
		pa->v6only = mnl_attr_get_u8(a) != 0;
	}
	return MNL_CB_OK;
}

/*
 * Walks the attributes after the fixed header. Unlike mnl_attr_parse(), an
 * attribute running past the message is an error, not the silent end.
 */
static int
parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, struct parse_arg *pa)
{
	const char		*c = mnl_nlmsg_get_payload_offset(nlh, hdrlen);
	const char		*end = mnl_nlmsg_get_payload_tail(nlh);
	const struct nlattr	*a;

	while (c < end) {
		a = (const struct nlattr *)(const void *)c;
		if ((size_t)(end - c) < sizeof(*a) || a->nla_len < sizeof(*a) ||
		    a->nla_len > (size_t)(end - c))
			return -1;
		if (attr_cb(a, pa) != MNL_CB_OK)
			return -1;
		c += MNL_ALIGN(a->nla_len);
	}
	return 0;
}

static int
msg_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct parse_arg		*pa = arg;
	const struct sockdiag_query	*q = pa->q;
	const struct inet_diag_msg	*m;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*m)) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	m = mnl_nlmsg_get_payload(nlh);
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	pa->v6only = false;
	if (parse_attrs(nlh, sizeof(*m), pa) == -1) {
		errno = EBADMSG;
		return MNL_CB_ERROR;
	}
	/* The kernel filtered already; checking again costs nothing. */
	if (m->idiag_family != q->family || ntohs(m->id.idiag_sport) != q->port)
		return MNL_CB_OK;
	if (m->idiag_state != (q->protocol == IPPROTO_TCP ? DIAG_TCP_LISTEN :
	    DIAG_UDP_UNCONN))
		return MNL_CB_OK;
	if (addr_matches(q, m->idiag_family, m->id.idiag_src, pa->v6only))
		(*pa->count)++;
	return MNL_CB_OK;
}

int
sockdiag_parse(const void *buf, size_t len, uint32_t seq, uint32_t portid,
    const struct sockdiag_query *q, unsigned *count)
{
	struct parse_arg	pa = { .q = q, .count = count };
	int			r;

	r = mnl_cb_run(buf, len, seq, portid, msg_cb, &pa);
	if (r == MNL_CB_ERROR)
		return -1;
	return r == MNL_CB_STOP ? 1 : 0;
}

int
sockdiag_count(struct sockdiag *sd, const struct sockdiag_query *q,
    unsigned *count, char *err, size_t errlen)
{
	struct nlmsghdr			*nlh;
	struct inet_diag_req_v2		*req;
	struct inet_diag_bc_op		 bc[2];
	ssize_t				 n;
	int				 r;

	*count = 0;
	nlh = mnl_nlmsg_put_header(sd->buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++sd->seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)q->family;
	req->sdiag_protocol = (uint8_t)q->protocol;
	req->idiag_states = 1U << (q->protocol == IPPROTO_TCP ? DIAG_TCP_LISTEN :
	    DIAG_UDP_UNCONN);
	/* "source port == port": yes jumps to the end (accept), no past it (reject). */
	bc[0] = (struct inet_diag_bc_op){ .code = INET_DIAG_BC_S_EQ, .yes = 8, .no = 12 };
	bc[1] = (struct inet_diag_bc_op){ .no = q->port };
	mnl_attr_put(nlh, INET_DIAG_REQ_BYTECODE, sizeof(bc), bc);
	if (mnl_socket_sendto(sd->sock, nlh, nlh->nlmsg_len) == -1) {
		snprintf(err, errlen, "sock_diag request: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		n = mnl_socket_recvfrom(sd->sock, sd->buf, MNL_SOCKET_BUFFER_SIZE);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* EAGAIN too: the kernel fills a dump while we ask, never later. */
			snprintf(err, errlen, "sock_diag reply: %s", strerror(errno));
			return -1;
		}
		r = sockdiag_parse(sd->buf, (size_t)n, sd->seq, sd->portid, q, count);
		if (r == -1) {
			snprintf(err, errlen, "sock_diag: %s", strerror(errno));
			/* Drop the rest, so the next request reads only its own reply. */
			while (mnl_socket_recvfrom(sd->sock, sd->buf,
			    MNL_SOCKET_BUFFER_SIZE) > 0)
				;
			return -1;
		}
		if (r == 1)
			return 0;
	}
}
