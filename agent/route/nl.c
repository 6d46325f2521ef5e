#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "nl.h"

/* A safety net only: the kernel answers address requests at once. */
#define NL_TIMEOUT_SEC		2
#define NL_STR(x)		NL_STR2(x)
#define NL_STR2(x)		#x
/* The kernel never builds a dump message larger than this. */
#define NL_RECV_BUFSIZE		32768
#define NL_REQ_BUFSIZE		512
/* A dump that races an address change is retried this often. */
#define NL_DUMP_TRIES	10	/* IPv6 addrconf work finishes asynchronously after an add */
/*
 * Requests per sendmsg() of a batch. The kernel handles them one after the
 * other and queues an ACK for each before we read any: 64 short ACKs
 * (NETLINK_CAP_ACK) stay far below the default receive buffer, so none is
 * dropped. An address request is at most 72 bytes; the batch buffer has
 * room for one more past its limit, as mnl_nlmsg_batch asks.
 */
#define NL_BATCH_MAX		64
#define NL_BATCH_LIMIT		(NL_BATCH_MAX * 128)

struct nl {
	struct mnl_socket	*sock;
	unsigned		 portid;
	unsigned		 seq;
	char			 buf[NL_RECV_BUFSIZE];
	char			 bbuf[2 * NL_BATCH_LIMIT];
};

/* One request in flight: what went wrong, and for dumps what came back. */
struct nl_req {
	unsigned	 seq;
	int		 error;		/* errno, 0 while all is well */
	const char	*what;		/* our words for error, if not strerror */
	char		 extack[256];	/* the kernel's words, if it gave any */
	bool		 interrupted;	/* dump raced a change (NLM_F_DUMP_INTR) */

	unsigned	 ifindex;	/* dumps: the interface wanted */
	struct pfx	*pfx;
	size_t		 npfx;
	size_t		 cappfx;
};

struct nl_ifa_attrs {
	size_t			 alen;
	const struct nlattr	*addr;
	const struct nlattr	*local;
};

static void
nl_req_fail(struct nl_req *rq, int error, const char *what)
{
	if (rq->error != 0)
		return;
	rq->error = error != 0 ? error : EIO;
	rq->what = what;
}

static int
nl_extack_attr_cb(const struct nlattr *a, void *data)
{
	struct nl_req	*rq = data;

	if (mnl_attr_type_valid(a, NLMSGERR_ATTR_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(a) != NLMSGERR_ATTR_MSG)
		return MNL_CB_OK;
	if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0)
		return MNL_CB_OK;
	snprintf(rq->extack, sizeof(rq->extack), "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/*
 * The extended ACK attributes follow the error code and either the header of
 * the request (NLM_F_CAPPED) or the whole request; off is where the part
 * after the error code begins.
 */
static void
nl_extack_parse(const struct nlmsghdr *nlh, size_t off, struct nl_req *rq)
{
	size_t	len = mnl_nlmsg_get_payload_len(nlh);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || off > len)
		return;
	mnl_attr_parse_payload((const char *)mnl_nlmsg_get_payload(nlh) + off,
	    len - off, nl_extack_attr_cb, rq);
}

static int
nl_error_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req		*rq = data;
	const struct nlmsgerr	*e = mnl_nlmsg_get_payload(nlh);
	size_t			 off;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		nl_req_fail(rq, EBADMSG, "truncated error message from the kernel");
		return MNL_CB_ERROR;
	}
	if (e->error == 0)
		return MNL_CB_STOP;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += NLMSG_ALIGN(e->msg.nlmsg_len) - NLMSG_HDRLEN;
	nl_extack_parse(nlh, off, rq);
	/* Subsystems differ in the sign of the code they report. */
	nl_req_fail(rq, e->error < 0 ? -e->error : e->error, NULL);
	return MNL_CB_ERROR;
}

/* A dump that failed part-way ends with NLMSG_DONE carrying the error. */
static int
nl_done_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req	*rq = data;
	int		 code;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(code))
		return MNL_CB_STOP;
	memcpy(&code, mnl_nlmsg_get_payload(nlh), sizeof(code));
	if (code == 0)
		return MNL_CB_STOP;
	nl_extack_parse(nlh, sizeof(code), rq);
	nl_req_fail(rq, code < 0 ? -code : code, NULL);
	return MNL_CB_ERROR;
}

/* Whether buf holds the last message the kernel sends for request seq. */
static bool
nl_buf_ends(const void *buf, size_t n, unsigned seq)
{
	const struct nlmsghdr	*nlh = buf;
	int			 len = (int)n;

	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len))
		if (nlh->nlmsg_seq == seq &&
		    (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR))
			return true;
	return false;
}

/*
 * Sends the request in nlh and reads until the kernel's final word on it
 * (ACK, error or NLMSG_DONE). Replies to earlier requests that were given
 * up on are read and dropped, so nothing is left behind for the next one.
 */
static int
nl_talk(struct nl *nl, struct nlmsghdr *nlh, struct nl_req *rq, mnl_cb_t data_cb)
{
	/* Not const: libmnl 1.0.4 takes a plain pointer. */
	static mnl_cb_t		 ctl_cb[NLMSG_MIN_TYPE] = {
		[NLMSG_ERROR] = nl_error_cb,
		[NLMSG_DONE] = nl_done_cb,
	};
	ssize_t			 n;
	int			 ret;

	if (++nl->seq == 0)	/* 0 would match any reply */
		nl->seq = 1;
	nlh->nlmsg_seq = rq->seq = nl->seq;

	do
		n = mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len);
	while (n == -1 && errno == EINTR);
	if (n != (ssize_t)nlh->nlmsg_len) {
		nl_req_fail(rq, n == -1 ? errno : EMSGSIZE, NULL);
		return -1;
	}

	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				nl_req_fail(rq, ETIMEDOUT,
				    "no reply from the kernel within "
				    NL_STR(NL_TIMEOUT_SEC) " s");
			else if (errno == ENOBUFS)
				nl_req_fail(rq, ENOBUFS, "netlink socket overrun, "
				    "reply lost (outcome unknown)");
			else
				nl_req_fail(rq, errno, NULL);
			return -1;
		}
		errno = 0;
		ret = mnl_cb_run2(nl->buf, (size_t)n, rq->seq, nl->portid,
		    data_cb, rq, ctl_cb, NLMSG_MIN_TYPE);
		if (ret == MNL_CB_STOP)
			break;
		if (ret >= MNL_CB_OK)
			continue;
		if (rq->error != 0)
			return -1;
		/* libmnl: EPROTO for a foreign seq, ESRCH for a foreign portid. */
		if (errno == EPROTO || errno == ESRCH)
			continue;
		if (errno == EINTR) {
			rq->interrupted = true;
			if (nl_buf_ends(nl->buf, (size_t)n, rq->seq))
				break;
			continue;
		}
		nl_req_fail(rq, errno, "bad reply from the kernel");
		return -1;
	}
	return rq->error != 0 ? -1 : 0;
}

/* "netlink: <op> [<prefix>] on ifindex <n>: <why> (kernel: <extack>)" */
static void
nl_fmt_err(char *err, size_t errlen, const char *op, const struct pfx *p,
    unsigned ifindex, const struct nl_req *rq)
{
	char	pb[PFX_STRLEN + 1] = "";
	char	why[160];
	bool	ext = rq->extack[0] != '\0';

	if (p != NULL) {
		pb[0] = ' ';
		pfx_fmt(p, pb + 1, sizeof(pb) - 1);
	}
	if (rq->what != NULL)
		snprintf(why, sizeof(why), "%s (%s)", rq->what, strerror(rq->error));
	else
		snprintf(why, sizeof(why), "%s", strerror(rq->error));
	snprintf(err, errlen, "netlink: %s%s on ifindex %u: %s%s%s%s", op, pb,
	    ifindex, why, ext ? " (kernel: " : "", rq->extack, ext ? ")" : "");
}

static struct nlmsghdr *
nl_addr_msg(char *buf, uint16_t type, uint16_t flags, unsigned ifindex,
    const struct pfx *p)
{
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;
	size_t			 alen;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)p->family;
	ifa->ifa_prefixlen = p->len;
	/* What `ip addr add` picks for anything but 127/8: scope global. */
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	if (p->family == AF_INET) {
		alen = sizeof(p->addr.v4);
		mnl_attr_put(nlh, IFA_LOCAL, alen, &p->addr);
		mnl_attr_put(nlh, IFA_ADDRESS, alen, &p->addr);
	} else {
		alen = sizeof(p->addr.v6);
		mnl_attr_put(nlh, IFA_ADDRESS, alen, &p->addr);
		if (type == RTM_NEWADDR) {
			/*
			 * Zebra ignores a tentative address, so skip DAD. Keep
			 * the prefix route (no IFA_F_NOPREFIXROUTE): BGP
			 * import-check needs it.
			 */
			ifa->ifa_flags = IFA_F_NODAD;
			mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
		}
	}
	return nlh;
}

/* What a request's ACK means to nl_addr_add/nl_addr_del: 0, 1 (no change needed), -1 with err. */
static int
nl_change_result(uint16_t type, unsigned ifindex, const struct pfx *p,
    const struct nl_req *rq, char *err, size_t errlen)
{
	if (rq->error == 0)
		return 0;
	/* The state asked for is already there: the kernel changed nothing. */
	if (type == RTM_NEWADDR && rq->error == EEXIST)
		return 1;
	if (type == RTM_DELADDR && rq->error == EADDRNOTAVAIL)
		return 1;
	nl_fmt_err(err, errlen, type == RTM_NEWADDR ? "add" : "delete", p, ifindex, rq);
	return -1;
}

#define nl_change_flags(type) ((uint16_t)(NLM_F_REQUEST | NLM_F_ACK | \
	((type) == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0)))

static int
nl_addr_change(struct nl *nl, uint16_t type, unsigned ifindex,
    const struct pfx *p, char *err, size_t errlen)
{
	char		 buf[NL_REQ_BUFSIZE];
	struct nl_req	 rq = { 0 };
	struct nlmsghdr	*nlh;

	if (p->family != AF_INET && p->family != AF_INET6)
		nl_req_fail(&rq, EAFNOSUPPORT, NULL);
	else {
		nlh = nl_addr_msg(buf, type, nl_change_flags(type), ifindex, p);
		nl_talk(nl, nlh, &rq, NULL);
	}
	return nl_change_result(type, ifindex, p, &rq, err, errlen);
}

int
nl_addr_add(struct nl *nl, unsigned ifindex, const struct pfx *p,
    char *err, size_t errlen)
{
	return nl_addr_change(nl, RTM_NEWADDR, ifindex, p, err, errlen);
}

int
nl_addr_del(struct nl *nl, unsigned ifindex, const struct pfx *p,
    char *err, size_t errlen)
{
	return nl_addr_change(nl, RTM_DELADDR, ifindex, p, err, errlen);
}

/* Fails every request of a chunk still unanswered. */
static void
nl_batch_fail(struct nl_req *rq, const bool *done, size_t n, int error, const char *what)
{
	for (size_t k = 0; k < n; k++)
		if (!done[k])
			nl_req_fail(&rq[k], error, what);
}

/*
 * Reads the ACKs of requests first .. first + n - 1 (in any order, with
 * replies to earlier requests given up on dropped) into rq[].
 */
static void
nl_batch_acks(struct nl *nl, unsigned first, struct nl_req *rq, bool *done, size_t n)
{
	const struct nlmsghdr	*nlh;
	size_t			 left = n, k;
	ssize_t			 got;
	int			 len, e;

	for (k = 0; k < n; k++)
		left -= done[k];
	while (left > 0) {
		got = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			e = errno;
			nl_batch_fail(rq, done, n, e == EAGAIN ? ETIMEDOUT : e,
			    e == EAGAIN ? "no reply from the kernel within "
			    NL_STR(NL_TIMEOUT_SEC) " s" : e == ENOBUFS ?
			    "netlink socket overrun, reply lost (outcome unknown)" : NULL);
			return;
		}
		nlh = (const struct nlmsghdr *)nl->buf;
		for (len = (int)got; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_pid != nl->portid ||
			    nlh->nlmsg_seq - first >= n || done[nlh->nlmsg_seq - first])
				continue;
			k = nlh->nlmsg_seq - first;
			/* The one-request path's parser: an error code and the kernel's words. */
			nl_error_cb(nlh, &rq[k]);
			done[k] = true;
			left--;
		}
	}
}

/* Up to NL_BATCH_MAX requests: one sendmsg, then their ACKs. */
static void
nl_batch_chunk(struct nl *nl, struct nl_addr_op *ops, size_t n)
{
	struct nl_req		 rq[NL_BATCH_MAX];
	bool			 done[NL_BATCH_MAX] = { false };
	struct mnl_nlmsg_batch	*b;
	struct nlmsghdr		*nlh;
	unsigned		 first;
	ssize_t			 sent;
	uint16_t		 type;

	memset(rq, 0, sizeof(rq));
	/* Sequence numbers first .. first + n - 1, none of them 0. */
	if (nl->seq > UINT32_MAX - NL_BATCH_MAX - 1)
		nl->seq = 0;
	first = nl->seq + 1;
	nl->seq += (unsigned)n;
	if ((b = mnl_nlmsg_batch_start(nl->bbuf, NL_BATCH_LIMIT)) == NULL) {
		nl_batch_fail(rq, done, n, ENOMEM, NULL);
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		if (ops[k].pfx.family != AF_INET && ops[k].pfx.family != AF_INET6) {
			nl_req_fail(&rq[k], EAFNOSUPPORT, NULL);
			done[k] = true;
			continue;
		}
		type = ops[k].add ? RTM_NEWADDR : RTM_DELADDR;
		nlh = nl_addr_msg(mnl_nlmsg_batch_current(b), type, nl_change_flags(type),
		    ops[k].ifindex, &ops[k].pfx);
		nlh->nlmsg_seq = first + (unsigned)k;
		/* Never full: the limit has room for NL_BATCH_MAX requests. */
		mnl_nlmsg_batch_next(b);
	}
	if (!mnl_nlmsg_batch_is_empty(b)) {
		do
			sent = mnl_socket_sendto(nl->sock, mnl_nlmsg_batch_head(b),
			    mnl_nlmsg_batch_size(b));
		while (sent == -1 && errno == EINTR);
		if (sent != (ssize_t)mnl_nlmsg_batch_size(b))
			nl_batch_fail(rq, done, n, sent == -1 ? errno : EMSGSIZE, NULL);
		else
			nl_batch_acks(nl, first, rq, done, n);
	}
	mnl_nlmsg_batch_stop(b);
out:
	for (size_t k = 0; k < n; k++)
		ops[k].rc = nl_change_result(ops[k].add ? RTM_NEWADDR : RTM_DELADDR,
		    ops[k].ifindex, &ops[k].pfx, &rq[k], ops[k].err, sizeof(ops[k].err));
}

void
nl_addr_batch(struct nl *nl, struct nl_addr_op *ops, size_t n)
{
	size_t	k;

	for (size_t i = 0; i < n; i += k) {
		k = n - i < NL_BATCH_MAX ? n - i : NL_BATCH_MAX;
		nl_batch_chunk(nl, ops + i, k);
	}
}

static int
nl_ifa_attr_cb(const struct nlattr *a, void *data)
{
	struct nl_ifa_attrs	*at = data;
	uint16_t		 type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, IFA_MAX) < 0)
		return MNL_CB_OK;	/* newer than our headers */
	if (type != IFA_ADDRESS && type != IFA_LOCAL)
		return MNL_CB_OK;
	if (mnl_attr_validate2(a, MNL_TYPE_BINARY, at->alen) < 0)
		return MNL_CB_ERROR;
	if (type == IFA_ADDRESS)
		at->addr = a;
	else
		at->local = a;
	return MNL_CB_OK;
}

/* Collects; after the first bad message, only reads on to NLMSG_DONE. */
static int
nl_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nl_req		*rq = data;
	const struct ifaddrmsg	*ifa;
	struct nl_ifa_attrs	 at = { 0 };
	const struct nlattr	*a;
	struct pfx		*p;
	size_t			 cap;

	if (rq->error != 0 || nlh->nlmsg_type != RTM_NEWADDR)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa)) {
		nl_req_fail(rq, EBADMSG, "truncated address message");
		return MNL_CB_OK;
	}
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_index != rq->ifindex)
		return MNL_CB_OK;
	if (ifa->ifa_family == AF_INET)
		at.alen = sizeof(struct in_addr);
	else if (ifa->ifa_family == AF_INET6)
		at.alen = sizeof(struct in6_addr);
	else
		return MNL_CB_OK;
	if (mnl_attr_parse(nlh, sizeof(*ifa), nl_ifa_attr_cb, &at) != MNL_CB_OK) {
		nl_req_fail(rq, errno, "malformed address attribute");
		return MNL_CB_OK;
	}
	/* With a peer, IFA_LOCAL is ours and IFA_ADDRESS the peer's. */
	a = at.local != NULL ? at.local : at.addr;
	if (a == NULL || ifa->ifa_prefixlen > at.alen * 8) {
		nl_req_fail(rq, EBADMSG, a == NULL ? "address message without "
		    "an address" : "address message with a bad prefix length");
		return MNL_CB_OK;
	}
	if (rq->npfx == rq->cappfx) {
		cap = rq->cappfx == 0 ? 16 : rq->cappfx * 2;
		p = realloc(rq->pfx, cap * sizeof(*p));
		if (p == NULL) {
			nl_req_fail(rq, errno, NULL);
			return MNL_CB_OK;
		}
		rq->pfx = p;
		rq->cappfx = cap;
	}
	p = &rq->pfx[rq->npfx++];
	memset(p, 0, sizeof(*p));
	p->family = ifa->ifa_family;
	p->len = ifa->ifa_prefixlen;
	memcpy(&p->addr, mnl_attr_get_payload(a), at.alen);
	return MNL_CB_OK;
}

/*
 * The callbacks run only after a complete, consistent dump, so cb may call
 * nl_addr_add/nl_addr_del itself, and sees nothing at all on failure.
 */
int
nl_addr_dump(struct nl *nl, unsigned ifindex,
    void (*cb)(const struct pfx *p, void *arg), void *arg,
    char *err, size_t errlen)
{
	char			 buf[NL_REQ_BUFSIZE];
	struct nl_req		 rq;
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;
	int			 tries = 0, ret = -1;

	do {
		memset(&rq, 0, sizeof(rq));
		rq.ifindex = ifindex;
		nlh = mnl_nlmsg_put_header(buf);
		nlh->nlmsg_type = RTM_GETADDR;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
		/*
		 * With NETLINK_GET_STRICT_CHK (set in nl_open) the kernel sends
		 * this interface's addresses only; an older kernel ignores the
		 * index and dumps all, and nl_dump_cb filters them here.
		 */
		ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
		ifa->ifa_family = AF_UNSPEC;
		ifa->ifa_index = ifindex;
		if (nl_talk(nl, nlh, &rq, nl_dump_cb) == -1) {
			/* A strict kernel's word for an interface that is gone: no addresses. */
			if (rq.error == ENODEV)
				ret = 0;
			goto fail;
		}
		if (!rq.interrupted)
			break;
		free(rq.pfx);
		rq.pfx = NULL;
	} while (++tries < NL_DUMP_TRIES);
	if (rq.interrupted) {
		nl_req_fail(&rq, EAGAIN, "addresses kept changing during the dump");
		goto fail;
	}
	for (size_t i = 0; i < rq.npfx; i++)
		cb(&rq.pfx[i], arg);
	ret = 0;
fail:
	if (ret == -1)
		nl_fmt_err(err, errlen, "dump addresses", NULL, ifindex, &rq);
	free(rq.pfx);
	return ret;
}

struct nl *
nl_open(char *err, size_t errlen)
{
	struct nl	*nl;
	struct timeval	 tv = { .tv_sec = NL_TIMEOUT_SEC };
	int		 on = 1;
	const char	*what;

	nl = calloc(1, sizeof(*nl));
	if (nl == NULL) {
		what = "allocating";
		goto fail;
	}
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (nl->sock == NULL) {
		what = "opening the rtnetlink socket";
		goto fail;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) == -1) {
		what = "binding the rtnetlink socket";
		goto fail;
	}
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO,
	    &tv, sizeof(tv)) == -1) {
		what = "setting the receive timeout";
		goto fail;
	}
	/* Best effort, older kernels lack them: the kernel's error text, short errors. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &on, sizeof(on));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &on, sizeof(on));
	/* Best effort (Linux >= 4.20): dumps filtered by the kernel. */
	mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &on, sizeof(on));
	nl->portid = mnl_socket_get_portid(nl->sock);
	return nl;

fail:
	snprintf(err, errlen, "netlink: %s: %s", what, strerror(errno));
	nl_close(nl);
	return NULL;
}

void
nl_close(struct nl *nl)
{
	if (nl == NULL)
		return;
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	free(nl);
}

/* ---- the address mirror ---- */

/* Room for a burst (a storm of 2000 services) before the kernel drops notifications. */
#define NL_WATCH_RCVBUF		(1024 * 1024)
/* Per call: a burst (a link with many addresses going down) never starves the loop. */
#define NL_WATCH_READS_MAX	64

struct nl_watch {
	struct mnl_socket	*sock;
	char			 buf[NL_RECV_BUFSIZE];
};

/* One notification: 1 an event in ev, 0 not an address message, -1 malformed. */
static int
nl_watch_msg(const struct nlmsghdr *nlh, struct nl_addr_event *ev)
{
	const struct ifaddrmsg	*ifa;
	struct nl_ifa_attrs	 at = { 0 };
	const struct nlattr	*a;

	if (nlh->nlmsg_type != RTM_NEWADDR && nlh->nlmsg_type != RTM_DELADDR)
		return 0;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return -1;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family == AF_INET)
		at.alen = sizeof(struct in_addr);
	else if (ifa->ifa_family == AF_INET6)
		at.alen = sizeof(struct in6_addr);
	else
		return 0;
	if (mnl_attr_parse(nlh, sizeof(*ifa), nl_ifa_attr_cb, &at) != MNL_CB_OK)
		return -1;
	/* With a peer, IFA_LOCAL is ours and IFA_ADDRESS the peer's. */
	a = at.local != NULL ? at.local : at.addr;
	if (a == NULL || ifa->ifa_prefixlen > at.alen * 8 || ifa->ifa_index == 0)
		return -1;
	memset(ev, 0, sizeof(*ev));
	ev->added = nlh->nlmsg_type == RTM_NEWADDR;
	ev->ifindex = ifa->ifa_index;
	ev->pfx.family = ifa->ifa_family;
	ev->pfx.len = ifa->ifa_prefixlen;
	memcpy(&ev->pfx.addr, mnl_attr_get_payload(a), at.alen);
	return 1;
}

size_t
nl_watch_parse(const void *buf, size_t len, nl_addr_event_cb cb, void *arg)
{
	const struct nlmsghdr	*nlh = buf;
	struct nl_addr_event	 ev;
	int			 left = len > INT32_MAX ? INT32_MAX : (int)len;
	size_t			 bad = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		switch (nl_watch_msg(nlh, &ev)) {
		case 1:
			cb(&ev, arg);
			break;
		case -1:
			bad++;
			break;
		}
	}
	/* Trailing bytes that do not make a message. */
	if (left > 0)
		bad++;
	return bad;
}

int
nl_watch_read(struct nl_watch *w, nl_addr_event_cb cb, void *arg, char *err, size_t errlen)
{
	struct sockaddr_nl	 sa;
	struct iovec		 iov = { .iov_base = w->buf, .iov_len = sizeof(w->buf) };
	struct msghdr		 msg = { .msg_name = &sa, .msg_namelen = sizeof(sa),
				    .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t			 n;
	size_t			 bad = 0;
	bool			 lost = false;

	/* The rest, if any, on the next iteration: the descriptor stays readable. */
	for (int reads = 0; reads < NL_WATCH_READS_MAX; reads++) {
		msg.msg_namelen = sizeof(sa);
		n = recvmsg(mnl_socket_get_fd(w->sock), &msg, MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) {
				/* The kernel dropped notifications: only a fresh read knows. */
				lost = true;
				continue;
			}
			snprintf(err, errlen, "netlink: reading address notifications: %s",
			    strerror(errno));
			return -1;
		}
		/* Only the kernel speaks for the kernel; a truncated burst is a lost one. */
		if (msg.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK ||
		    sa.nl_pid != 0)
			continue;
		if (msg.msg_flags & MSG_TRUNC) {
			lost = true;
			continue;
		}
		bad += nl_watch_parse(w->buf, (size_t)n, cb, arg);
	}
	if (bad > 0) {
		snprintf(err, errlen, "netlink: %zu malformed address notification%s ignored",
		    bad, bad == 1 ? "" : "s");
		/* What they said is unknown: read the interfaces again. */
		return 1;
	}
	return lost ? 1 : 0;
}

struct nl_watch *
nl_watch_open(char *err, size_t errlen)
{
	struct nl_watch	*w;
	const char	*what;
	int		 grp, sz = NL_WATCH_RCVBUF, fd;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		what = "allocating";
		goto fail;
	}
	w->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (w->sock == NULL) {
		what = "opening the rtnetlink socket for notifications";
		goto fail;
	}
	if (mnl_socket_bind(w->sock, 0, MNL_SOCKET_AUTOPID) == -1) {
		what = "binding the notification socket";
		goto fail;
	}
	grp = RTNLGRP_IPV4_IFADDR;
	if (mnl_socket_setsockopt(w->sock, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) == -1) {
		what = "joining RTNLGRP_IPV4_IFADDR";
		goto fail;
	}
	grp = RTNLGRP_IPV6_IFADDR;
	if (mnl_socket_setsockopt(w->sock, NETLINK_ADD_MEMBERSHIP, &grp, sizeof(grp)) == -1) {
		what = "joining RTNLGRP_IPV6_IFADDR";
		goto fail;
	}
	/* Beyond rmem_max with CAP_NET_ADMIN; otherwise as much as allowed. */
	fd = mnl_socket_get_fd(w->sock);
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) == -1)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	return w;
fail:
	snprintf(err, errlen, "netlink: %s: %s", what, strerror(errno));
	nl_watch_close(w);
	return NULL;
}

void
nl_watch_close(struct nl_watch *w)
{
	if (w == NULL)
		return;
	if (w->sock != NULL)
		mnl_socket_close(w->sock);
	free(w);
}

int
nl_watch_fd(const struct nl_watch *w)
{
	return mnl_socket_get_fd(w->sock);
}
