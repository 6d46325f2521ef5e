/*
 * Every test runs in its own process (Criterion forks) and moves into a
 * private network namespace first, so only that namespace's lo is touched.
 * Needs root (CAP_SYS_ADMIN for unshare, CAP_NET_ADMIN for addresses).
 */
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>

#include "nl.h"
#include "pfx.h"
#include "testutil.h"

#define MAXSEEN 1024

struct seen {
	struct pfx	p[MAXSEEN];
	size_t		n;
};

static struct nl	*nl;
static unsigned		 lo;
static char		 err[512];

static void
nl_test_setup(void)
{
	tu_private_netns();
	lo = if_nametoindex("lo");
	cr_assert_neq(lo, 0);

	nl = nl_open(err, sizeof(err));
	cr_assert_not_null(nl, "nl_open: %s", err);
}

static void
nl_test_teardown(void)
{
	nl_close(nl);
	nl = NULL;
}

TestSuite(nl, .init = nl_test_setup, .fini = nl_test_teardown);

/* Like pfx_parse, but host bits are allowed: lo has 127.0.0.1/8. */
static struct pfx
P(const char *s)
{
	struct pfx	 p;
	char		 a[INET6_ADDRSTRLEN];
	const char	*slash = strchr(s, '/');

	memset(&p, 0, sizeof(p));
	cr_assert_not_null(slash, "%s", s);
	cr_assert_lt((size_t)(slash - s), sizeof(a));
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = '\0';
	cr_assert_eq(pfx_addr_parse(a, &p.family, &p.addr), 0, "%s", s);
	p.len = (uint8_t)atoi(slash + 1);
	return p;
}

static void
collect(const struct pfx *p, void *arg)
{
	struct seen	*s = arg;

	cr_assert_lt(s->n, MAXSEEN);
	s->p[s->n++] = *p;
}

static void
dump(struct seen *s)
{
	memset(s, 0, sizeof(*s));
	cr_assert_eq(nl_addr_dump(nl, lo, collect, s, err, sizeof(err)), 0,
	    "dump: %s", err);
}

static bool
has(const struct seen *s, const char *text)
{
	struct pfx	p = P(text);

	for (size_t i = 0; i < s->n; i++)
		if (pfx_equal(&s->p[i], &p))
			return true;
	return false;
}

/* 0: the kernel changed it, 1: it was already so. */
static int
add(const char *text)
{
	struct pfx	p = P(text);
	int		rc = nl_addr_add(nl, lo, &p, err, sizeof(err));

	cr_assert_geq(rc, 0, "add %s: %s", text, err);
	return rc;
}

static int
del(const char *text)
{
	struct pfx	p = P(text);
	int		rc = nl_addr_del(nl, lo, &p, err, sizeof(err));

	cr_assert_geq(rc, 0, "del %s: %s", text, err);
	return rc;
}

/* The line of `cmd` (run in this namespace) that contains needle, or "". */
static void
cmd_line(const char *cmd, const char *needle, char *line, size_t linelen)
{
	FILE	*f;
	bool	 found = false;

	f = popen(cmd, "r");
	cr_assert_not_null(f, "popen %s", cmd);
	while (fgets(line, (int)linelen, f) != NULL)
		if (strstr(line, needle) != NULL) {
			found = true;
			break;
		}
	while (!found && fgets(line, (int)linelen, f) != NULL)
		;
	pclose(f);
	if (!found)
		line[0] = '\0';
}

Test(nl, add_v4_v6_then_dump_finds_them)
{
	struct seen	s;

	add("192.0.2.53/32");
	add("2001:db8::53/128");
	dump(&s);
	cr_assert(has(&s, "192.0.2.53/32"));
	cr_assert(has(&s, "2001:db8::53/128"));
	/* The length is the address's, not a guess. */
	cr_assert_not(has(&s, "192.0.2.0/24"));
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i].family == AF_INET && s.p[i].addr.v4.s_addr ==
		    htonl(0xc0000235))
			cr_assert_eq(s.p[i].len, 32);
		if (s.p[i].family == AF_INET6 && s.p[i].addr.v6.s6_addr[15] == 0x53)
			cr_assert_eq(s.p[i].len, 128);
	}
}

Test(nl, v6_is_nodad_global_with_prefix_route)
{
	char	line[512];

	add("2001:db8::53/128");
	cmd_line("ip -o -6 addr show dev lo", " 2001:db8::53/128 ", line, sizeof(line));
	cr_assert_neq(line[0], '\0', "address not shown by ip");
	cr_assert_not_null(strstr(line, "nodad"), "no nodad: %s", line);
	cr_assert_not_null(strstr(line, "scope global"), "not global: %s", line);
	cr_assert_null(strstr(line, "tentative"), "tentative: %s", line);
	cr_assert_null(strstr(line, "noprefixroute"), "noprefixroute: %s", line);
	/* What BGP import-check looks for in zebra. */
	cmd_line("ip -6 route show table main", "2001:db8::53 ", line, sizeof(line));
	cr_assert_not_null(strstr(line, "proto kernel"), "no prefix route: '%s'", line);
}

Test(nl, v4_is_global_like_ip_addr_add)
{
	char	line[512];

	add("192.0.2.53/32");
	cmd_line("ip -o -4 addr show dev lo", " 192.0.2.53/32 ", line, sizeof(line));
	cr_assert_not_null(strstr(line, "scope global"), "not global: '%s'", line);
	cmd_line("ip -4 route show table local", "192.0.2.53 ", line, sizeof(line));
	cr_assert_not_null(strstr(line, "local 192.0.2.53 "), "no local route: '%s'",
	    line);
}

Test(nl, adding_twice_is_success)
{
	struct seen	s;
	size_t		before;

	cr_expect_eq(add("192.0.2.53/32"), 0);
	cr_expect_eq(add("2001:db8::53/128"), 0);
	dump(&s);
	before = s.n;
	/* Said so: the daemon's own late notifications are not someone else's. */
	cr_expect_eq(add("192.0.2.53/32"), 1);
	cr_expect_eq(add("2001:db8::53/128"), 1);
	dump(&s);
	cr_assert_eq(s.n, before);
	cr_assert(has(&s, "192.0.2.53/32"));
	cr_assert(has(&s, "2001:db8::53/128"));
}

Test(nl, deleting_twice_is_success)
{
	struct seen	s;

	add("192.0.2.53/32");
	add("2001:db8::53/128");
	del("192.0.2.53/32");
	del("2001:db8::53/128");
	dump(&s);
	cr_assert_not(has(&s, "192.0.2.53/32"));
	cr_assert_not(has(&s, "2001:db8::53/128"));
	cr_expect_eq(del("192.0.2.53/32"), 1);
	cr_expect_eq(del("2001:db8::53/128"), 1);
	dump(&s);
	cr_assert(has(&s, "127.0.0.1/8"), "unrelated address lost");
}

Test(nl, deleting_what_never_was_is_success)
{
	del("198.51.100.7/32");
	del("2001:db8::7/128");
}

Test(nl, delete_matches_the_length_too)
{
	struct seen	s;

	add("192.0.2.53/32");
	del("192.0.2.53/24");
	dump(&s);
	cr_assert(has(&s, "192.0.2.53/32"));
}

Test(nl, bad_ifindex_is_an_error_naming_it)
{
	const char	*pfx[] = { "192.0.2.53/32", "2001:db8::53/128" };

	for (size_t i = 0; i < 2; i++) {
		struct pfx	p = P(pfx[i]);

		err[0] = '\0';
		cr_assert_eq(nl_addr_add(nl, 999999, &p, err, sizeof(err)), -1);
		cr_assert_not_null(strstr(err, "ifindex 999999"), "%s", err);
		cr_assert_not_null(strstr(err, pfx[i]), "%s", err);
		cr_assert_not_null(strstr(err, "add"), "%s", err);
		cr_assert_not_null(strstr(err, strerror(ENODEV)), "%s", err);
		err[0] = '\0';
		cr_assert_eq(nl_addr_del(nl, 999999, &p, err, sizeof(err)), -1);
		cr_assert_not_null(strstr(err, "ifindex 999999"), "%s", err);
		cr_assert_not_null(strstr(err, "delete"), "%s", err);
	}
}

/* This kernel (6.x) explains itself; the text is passed on. */
Test(nl, kernel_extack_text_is_in_the_error)
{
	struct pfx	p = P("192.0.2.53/32");

	cr_assert_eq(nl_addr_add(nl, 999999, &p, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "(kernel: "), "%s", err);
}

Test(nl, unknown_family_is_refused)
{
	struct pfx	p = P("192.0.2.53/32");

	p.family = AF_UNIX;
	cr_assert_eq(nl_addr_add(nl, lo, &p, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, strerror(EAFNOSUPPORT)), "%s", err);
}

Test(nl, dump_returns_every_address_on_the_interface)
{
	struct seen	s;

	add("192.0.2.53/32");
	add("198.51.100.0/24");
	add("2001:db8::53/128");
	dump(&s);
	/* lo brings 127.0.0.1/8 and ::1/128 of its own. */
	cr_assert_eq(s.n, 5, "got %zu addresses", s.n);
	cr_assert(has(&s, "127.0.0.1/8"));
	cr_assert(has(&s, "::1/128"));
	cr_assert(has(&s, "192.0.2.53/32"));
	cr_assert(has(&s, "198.51.100.0/24"));
	cr_assert(has(&s, "2001:db8::53/128"));
}

Test(nl, dump_of_another_ifindex_is_empty)
{
	struct seen	s;

	add("192.0.2.53/32");
	memset(&s, 0, sizeof(s));
	cr_assert_eq(nl_addr_dump(nl, 999999, collect, &s, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(s.n, 0);
}

Test(nl, network_prefixes_round_trip)
{
	struct seen	s;

	add("192.0.2.0/24");
	add("2001:db8:1::/64");
	dump(&s);
	cr_assert(has(&s, "192.0.2.0/24"));
	cr_assert(has(&s, "2001:db8:1::/64"));
	cr_assert_not(has(&s, "192.0.2.0/32"));
	del("192.0.2.0/24");
	del("2001:db8:1::/64");
	dump(&s);
	cr_assert_not(has(&s, "192.0.2.0/24"));
	cr_assert_not(has(&s, "2001:db8:1::/64"));
}

/* With a peer, IFA_ADDRESS is the far end: the address is IFA_LOCAL. */
Test(nl, peer_addresses_report_the_local_side)
{
	struct seen	s;

	cr_assert_eq(system("ip addr add 10.9.9.1 peer 10.9.9.2/32 dev lo && "
	    "ip -6 addr add 2001:db8::a peer 2001:db8::b/128 dev lo"), 0);
	dump(&s);
	cr_assert(has(&s, "10.9.9.1/32"));
	cr_assert(has(&s, "2001:db8::a/128"));
	cr_assert_not(has(&s, "10.9.9.2/32"));
	cr_assert_not(has(&s, "2001:db8::b/128"));
}

/* Enough addresses that the kernel needs several messages for the dump. */
Test(nl, multipart_dump_is_complete)
{
	struct seen	s;
	char		text[PFX_STRLEN];

	for (int i = 0; i < 300; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.1/32", i / 200, i % 200);
		add(text);
		snprintf(text, sizeof(text), "2001:db8:%x::1/128", i);
		add(text);
	}
	dump(&s);
	cr_assert_eq(s.n, 602, "got %zu addresses", s.n);
	cr_assert(has(&s, "10.0.0.1/32"));
	cr_assert(has(&s, "10.1.99.1/32"));
	cr_assert(has(&s, "2001:db8:12b::1/128"));
}

static void
delete_documentation(const struct pfx *p, void *arg)
{
	int	*n = arg;

	if (p->family == AF_INET && (ntohl(p->addr.v4.s_addr) >> 8) == 0xc00002) {
		cr_assert_eq(nl_addr_del(nl, lo, p, err, sizeof(err)), 0, "%s", err);
		(*n)++;
	}
}

/* A reconcile may well delete from inside the dump callback. */
Test(nl, dump_callback_may_change_addresses)
{
	struct seen	s;
	int		n = 0;

	for (int i = 1; i <= 50; i++) {
		char	text[PFX_STRLEN];

		snprintf(text, sizeof(text), "192.0.2.%d/32", i);
		add(text);
	}
	add("198.51.100.1/32");
	cr_assert_eq(nl_addr_dump(nl, lo, delete_documentation, &n, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(n, 50);
	dump(&s);
	cr_assert_eq(s.n, 3, "got %zu addresses", s.n);
	cr_assert(has(&s, "198.51.100.1/32"));
}

Test(nl, close_of_null_is_harmless)
{
	nl_close(NULL);
}

/* ---- the address mirror ---- */

struct events {
	struct nl_addr_event	ev[64];
	size_t			n;
};

static void
on_event(const struct nl_addr_event *ev, void *arg)
{
	struct events	*e = arg;

	cr_assert_lt(e->n, 64);
	e->ev[e->n++] = *ev;
}

static bool
saw(const struct events *e, bool added, const char *text)
{
	struct pfx	p = P(text);

	for (size_t i = 0; i < e->n; i++)
		if (e->ev[i].added == added && e->ev[i].ifindex == lo &&
		    pfx_equal(&e->ev[i].pfx, &p))
			return true;
	return false;
}

/* Reads notifications until cond holds or a second passed. */
static void
watch_until(struct nl_watch *w, struct events *e, bool added, const char *text)
{
	struct pollfd	pfd = { .fd = nl_watch_fd(w), .events = POLLIN };

	for (int i = 0; i < 20 && !saw(e, added, text); i++) {
		poll(&pfd, 1, 50);
		cr_assert_eq(nl_watch_read(w, on_event, e, err, sizeof(err)), 0, "%s", err);
	}
}

Test(nl, watch_reports_changes_of_both_families)
{
	struct nl_watch	*w = nl_watch_open(err, sizeof(err));
	struct events	 e = { 0 };

	cr_assert_not_null(w, "%s", err);
	/* Nothing queued: a read does not block. */
	cr_expect_eq(nl_watch_read(w, on_event, &e, err, sizeof(err)), 0);
	cr_expect_eq(e.n, 0);
	add("192.0.2.53/32");
	add("2001:db8::53/128");
	watch_until(w, &e, true, "192.0.2.53/32");
	watch_until(w, &e, true, "2001:db8::53/128");
	cr_expect(saw(&e, true, "192.0.2.53/32"));
	cr_expect(saw(&e, true, "2001:db8::53/128"));
	del("192.0.2.53/32");
	del("2001:db8::53/128");
	watch_until(w, &e, false, "192.0.2.53/32");
	watch_until(w, &e, false, "2001:db8::53/128");
	cr_expect(saw(&e, false, "192.0.2.53/32"));
	cr_expect(saw(&e, false, "2001:db8::53/128"));
	nl_watch_close(w);
}

/* Appends one address message to buf; returns its length. */
static size_t
put_addr_msg(char *buf, uint16_t type, uint8_t family, uint8_t plen, unsigned ifindex,
    uint16_t attr, const void *addr, size_t alen, uint16_t attr2, const void *addr2)
{
	struct nlmsghdr		*nlh = mnl_nlmsg_put_header(buf);
	struct ifaddrmsg	*ifa;

	nlh->nlmsg_type = type;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = family;
	ifa->ifa_prefixlen = plen;
	ifa->ifa_index = ifindex;
	if (addr != NULL)
		mnl_attr_put(nlh, attr, alen, addr);
	if (addr2 != NULL)
		mnl_attr_put(nlh, attr2, alen, addr2);
	return nlh->nlmsg_len;
}

Test(nl, watch_parse_validates_every_message)
{
	char			buf[4096] __attribute__((aligned(4)));
	struct events		e = { 0 };
	struct pfx		v4 = P("192.0.2.53/32"), v6 = P("2001:db8::53/128");
	struct pfx		peer = P("198.51.100.9/32");
	size_t			off = 0;
	unsigned char		junk[3] = { 1, 2, 3 };

	memset(buf, 0, sizeof(buf));
	lo = 1;
	/* Good: v4 with IFA_LOCAL and a peer's IFA_ADDRESS, v6 with IFA_ADDRESS only. */
	off += put_addr_msg(buf + off, RTM_NEWADDR, AF_INET, 32, 1, IFA_ADDRESS, &peer.addr, 4,
	    IFA_LOCAL, &v4.addr);
	off += put_addr_msg(buf + off, RTM_DELADDR, AF_INET6, 128, 1, IFA_ADDRESS, &v6.addr, 16,
	    0, NULL);
	/* Not ours: another family, another message type. Skipped, not malformed. */
	off += put_addr_msg(buf + off, RTM_NEWADDR, AF_PACKET, 0, 1, 0, NULL, 0, 0, NULL);
	off += put_addr_msg(buf + off, RTM_NEWLINK, AF_INET, 0, 1, 0, NULL, 0, 0, NULL);
	/* Malformed: short attribute, too long a prefix, no address, ifindex 0. */
	off += put_addr_msg(buf + off, RTM_NEWADDR, AF_INET, 32, 1, IFA_ADDRESS, junk, 3, 0, NULL);
	off += put_addr_msg(buf + off, RTM_NEWADDR, AF_INET, 33, 1, IFA_ADDRESS, &v4.addr, 4,
	    0, NULL);
	off += put_addr_msg(buf + off, RTM_NEWADDR, AF_INET6, 128, 1, 0, NULL, 0, 0, NULL);
	off += put_addr_msg(buf + off, RTM_DELADDR, AF_INET, 32, 0, IFA_LOCAL, &v4.addr, 4,
	    0, NULL);
	cr_expect_eq(nl_watch_parse(buf, off, on_event, &e), 4);
	cr_assert_eq(e.n, 2);
	cr_expect(saw(&e, true, "192.0.2.53/32"), "IFA_LOCAL is ours, not the peer's");
	cr_expect(saw(&e, false, "2001:db8::53/128"));

	/* A message shorter than its ifaddrmsg, and trailing bytes. */
	memset(&e, 0, sizeof(e));
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWADDR;
	mnl_nlmsg_put_extra_header(nlh, 4);
	cr_expect_eq(nl_watch_parse(buf, nlh->nlmsg_len, on_event, &e), 1);
	cr_expect_eq(nl_watch_parse(buf, 7, on_event, &e), 1);
	cr_expect_eq(e.n, 0);
}

static void
count_event(const struct nl_addr_event *ev, void *arg)
{
	(void)ev;
	(*(size_t *)arg)++;
}

/* A burst is read in slices: one call never holds the loop for all of it. */
Test(nl, watch_read_is_bounded_per_call)
{
	struct nl_watch	*w = nl_watch_open(err, sizeof(err));
	struct pollfd	 pfd;
	char		 text[32];
	size_t		 first = 0, total = 0;

	cr_assert_not_null(w, "%s", err);
	for (int i = 1; i <= 100; i++) {
		snprintf(text, sizeof(text), "198.18.0.%d/32", i);
		add(text);
	}
	pfd = (struct pollfd){ .fd = nl_watch_fd(w), .events = POLLIN };
	cr_assert_eq(poll(&pfd, 1, 1000), 1);
	usleep(50000);
	cr_assert_eq(nl_watch_read(w, count_event, &first, err, sizeof(err)), 0, "%s", err);
	cr_expect_leq(first, 64, "%zu notifications in one call", first);
	cr_expect_gt(first, 0);
	total = first;
	for (int i = 0; i < 10 && total < 100; i++)
		cr_assert_eq(nl_watch_read(w, count_event, &total, err, sizeof(err)), 0, "%s",
		    err);
	cr_expect_eq(total, 100, "the rest comes with the next calls");
	for (int i = 1; i <= 100; i++) {
		snprintf(text, sizeof(text), "198.18.0.%d/32", i);
		del(text);
	}
	nl_watch_close(w);
}

/*
 * A batch larger than one sendmsg() buffer: every op gets the answer it
 * would have got alone (added, already there, bad interface), in order.
 */
Test(nl, batch_answers_each_request)
{
	static struct nl_addr_op	ops[203];
	struct seen			s;
	size_t				n = 0;

	add("10.9.0.7/32");
	for (int i = 0; i < 200; i++) {
		snprintf(err, sizeof(err), "10.8.%d.%d/32", i / 100, i % 100);
		ops[n].add = true;
		ops[n].ifindex = lo;
		/* One already there, in the middle of the first buffer. */
		ops[n++].pfx = i == 7 ? P("10.9.0.7/32") : P(err);
	}
	ops[n].add = true;
	ops[n].ifindex = 999999;
	ops[n++].pfx = P("10.9.0.9/32");
	ops[n].add = false;
	ops[n].ifindex = lo;
	ops[n++].pfx = P("10.9.9.9/32");
	ops[n].add = false;
	ops[n].ifindex = lo;
	ops[n++].pfx = P("10.8.0.0/32");
	nl_addr_batch(nl, ops, n);
	for (size_t k = 0; k < 200; k++)
		cr_expect_eq(ops[k].rc, k == 7 ? 1 : 0, "op %zu: rc %d %s", k, ops[k].rc,
		    ops[k].err);
	cr_expect_eq(ops[200].rc, -1);
	cr_expect(strstr(ops[200].err, "add 10.9.0.9/32 on ifindex 999999") != NULL,
	    "%s", ops[200].err);
	cr_expect_eq(ops[201].rc, 1, "%s", ops[201].err);
	cr_expect_eq(ops[202].rc, 0, "%s", ops[202].err);
	dump(&s);
	/* 127.0.0.1, ::1, 10.9.0.7 and the 199 added, less 10.8.0.0 (gone again). */
	cr_assert_eq(s.n, 201, "got %zu addresses", s.n);
	cr_assert(has(&s, "10.8.1.99/32"));
	cr_assert(!has(&s, "10.8.0.0/32"));
	/* A single request after a batch still matches its own ACK. */
	cr_assert_eq(del("10.8.1.99/32"), 0);
	cr_assert_eq(del("10.8.1.99/32"), 1);
}
