/*
 * The announcement table against the kernel: nothing is added before the
 * state file lists it, and what an earlier configuration left behind is
 * removed, retried until the kernel lets it go. Every test runs in its own
 * process (Criterion forks) inside a private network namespace, as
 * test_nl.c does; a failing RTM_DELADDR is made by dropping CAP_NET_ADMIN
 * from the effective set for a moment. Needs root.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/capability.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "ann.h"
#include "cfg.h"
#include "nl.h"
#include "pfx.h"
#include "testutil.h"

/* The daemon's timer: the next part of what the last write listed. */
#define RELEASE(a)	ann_release(a)

static struct nl	*nl;
static unsigned		 lo;
static char		 err[512];

static void
ann_test_setup(void)
{
	tu_private_netns();
	lo = if_nametoindex("lo");
	nl = nl_open(err, sizeof(err));
	cr_assert_not_null(nl, "nl_open: %s", err);
}

static void
ann_test_teardown(void)
{
	nl_close(nl);
	tu_cleanup();
}

TestSuite(ann, .init = ann_test_setup, .fini = ann_test_teardown);

static struct pfx
P(const char *s)
{
	struct pfx	p;
	char		why[128];

	cr_assert_eq(pfx_parse(s, &p, why, sizeof(why)), 0, "%s: %s", s, why);
	return p;
}

struct find {
	struct pfx	p;
	bool		found;
};

static void
find_cb(const struct pfx *p, void *arg)
{
	struct find	*f = arg;

	f->found = f->found || pfx_equal(p, &f->p);
}

static bool
on_lo(const char *s)
{
	struct find	f = { .p = P(s) };

	cr_assert_eq(nl_addr_dump(nl, lo, find_cb, &f, err, sizeof(err)), 0, "%s", err);
	return f.found;
}

/* CAP_NET_ADMIN in the effective set, or not: rtnetlink checks the sender. */
static void
net_admin(bool on)
{
	struct __user_cap_header_struct	h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct	d[2];

	cr_assert_eq(syscall(SYS_capget, &h, d), 0, "capget: %s", strerror(errno));
	if (on)
		d[0].effective |= 1u << CAP_NET_ADMIN;
	else
		d[0].effective &= ~(1u << CAP_NET_ADMIN);
	cr_assert_eq(syscall(SYS_capset, &h, d), 0, "capset: %s", strerror(errno));
}

static void
count_cb(void *arg)
{
	(*(unsigned *)arg)++;
}

#define SVC(pfx) "{ \"prefixes\": [\"" pfx "\"], \"probes\": [ { \"type\": \"tcp\", " \
	"\"host\": \"127.0.0.1\", \"port\": 9 } ] }"

/*
 * What waited for the state file goes out ANN_RECORDED_MAX at a time, each
 * part from its own call (the daemon's loop answers in between), and a
 * prefix not yet sent stays unrecorded, held back.
 */
Test(ann, what_waited_goes_out_in_parts)
{
	char		 json[16384], pb[32];
	size_t		 off, n = 2 * ANN_RECORDED_MAX + 22, calls = 0;
	struct cfg	*cfg;
	struct ann	*a;
	unsigned	 asked = 0;
	bool		 more;

	off = (size_t)snprintf(json, sizeof(json), "{ \"prefixes\": [");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s\"198.18.%zu.%zu/32\"",
		    i ? ", " : "", i / 200, i % 200 + 1);
	snprintf(json + off, sizeof(json) - off, "], \"probes\": [ { \"type\": \"tcp\", "
	    "\"host\": \"127.0.0.1\", \"port\": 9 } ] }");
	cfg = tu_load(NULL, "a", json, NULL);
	a = ann_new(cfg, nl, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	a->record_cb = count_cb;
	a->record_arg = &asked;
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	cr_assert_eq(ann_waiting(a), n);
	do {
		more = ann_recorded(a);
		calls++;
		cr_expect_eq(ann_waiting(a), n - (calls * ANN_RECORDED_MAX < n ?
		    calls * ANN_RECORDED_MAX : n), "after call %zu", calls);
		/* The first of those still waiting is not on lo yet. */
		snprintf(pb, sizeof(pb), "198.18.%zu.%zu/32", calls * ANN_RECORDED_MAX / 200,
		    calls * ANN_RECORDED_MAX % 200 + 1);
		if (more)
			cr_expect_not(on_lo(pb), "%s added before its part", pb);
	} while (more && calls < 10);
	cr_expect_eq(calls, 3);
	for (size_t i = 0; i < n; i++) {
		snprintf(pb, sizeof(pb), "198.18.%zu.%zu/32", i / 200, i % 200 + 1);
		cr_expect(on_lo(pb), "%s", pb);
	}
	cr_expect_not(ann_recorded(a), "nothing left");
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	cr_expect_not(on_lo("198.18.0.1/32"), "withdrawals never wait");
	ann_free(a);
	cfg_free(cfg);
}

/*
 * The parts after the first go out from the loop, with no write in between:
 * only what that write listed may go. A service that came up meanwhile
 * waits for the next write, and so does everything after a lost record.
 */
Test(ann, the_parts_release_only_what_the_write_listed)
{
	char		 json[16384], pb[32];
	size_t		 off, n = ANN_RECORDED_MAX + 10;
	struct cfg	*cfg;
	struct ann	*a;
	unsigned	 asked = 0;

	off = (size_t)snprintf(json, sizeof(json), "{ \"prefixes\": [");
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s\"198.18.0.%zu/32\"",
		    i ? ", " : "", i + 1);
	snprintf(json + off, sizeof(json) - off, "], \"probes\": [ { \"type\": \"tcp\", "
	    "\"host\": \"127.0.0.1\", \"port\": 9 } ] }");
	cfg = tu_load(NULL, "a", json, "b", SVC("192.0.2.53/32"), "c", SVC("192.0.2.54/32"),
	    NULL);
	a = ann_new(cfg, nl, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	a->record_cb = count_cb;
	a->record_arg = &asked;
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	cr_assert(ann_recorded(a), "the state file was written: a first part goes");
	/* b comes up before the next part: the file on disk does not list it. */
	ann_set_service(a, 1, true, ANN_PLAIN, false);
	cr_expect_not(RELEASE(a), "the second part is the last");
	cr_expect(on_lo("198.18.0.74/32"), "the rest of what the write listed");
	cr_expect_not(on_lo("192.0.2.53/32"), "added before a write listed it");
	cr_expect_eq(ann_waiting(a), 1);
	cr_expect_not(ann_recorded(a), "written again");
	cr_expect(on_lo("192.0.2.53/32"));

	/* A record lost between the write and the part: the part waits for a write. */
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	cr_expect_not(ann_recorded(a), "written without a's prefixes");
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	ann_set_service(a, 2, true, ANN_PLAIN, false);
	cr_assert(ann_recorded(a));
	ann_record_lost(a);
	cr_expect_not(RELEASE(a));
	snprintf(pb, sizeof(pb), "198.18.0.%zu/32", n);
	cr_expect_not(on_lo(pb), "%s added after the record was lost", pb);
	cr_expect_not(on_lo("192.0.2.54/32"), "added after the record was lost");
	cr_expect_eq(ann_waiting(a), n - ANN_RECORDED_MAX + 1);
	ann_free(a);
	cfg_free(cfg);
}

Test(ann, nothing_is_added_before_the_state_file_lists_it)
{
	struct cfg	*cfg = tu_load(NULL, "a", SVC("192.0.2.53/32"), NULL);
	struct ann	*a = ann_new(cfg, nl, err, sizeof(err));
	unsigned	 asked = 0;

	cr_assert_not_null(a, "%s", err);
	a->record_cb = count_cb;
	a->record_arg = &asked;
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	cr_expect_gt(asked, 0, "no write was asked for");
	cr_expect_not(on_lo("192.0.2.53/32"), "added before it was recorded");
	cr_expect_eq(ann_waiting(a), 1);
	cr_expect(ann_prefix_listed(a, &a->prefixes[0]), "a wanted prefix must be listed");
	/* The file listing it was written. */
	ann_recorded(a);
	cr_expect(on_lo("192.0.2.53/32"));
	cr_expect_eq(ann_waiting(a), 0);
	/* Withdrawals never wait; the next announcement needs no new write. */
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	cr_expect_not(on_lo("192.0.2.53/32"));
	asked = 0;
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	cr_expect(on_lo("192.0.2.53/32"), "the file on disk still lists it");
	ann_free(a);
	cfg_free(cfg);
}

Test(ann, a_failed_removal_is_retried_and_listed_until_done)
{
	struct cfg	*cfg = tu_load(NULL, "a", SVC("192.0.2.53/32"), NULL);
	struct ann	*a = ann_new(cfg, nl, err, sizeof(err));
	struct pfx	 left = P("192.0.2.54/32"), kept = P("192.0.2.53/32");

	cr_assert_not_null(a, "%s", err);
	/* What an earlier configuration put on lo, and one this one manages there. */
	cr_assert_eq(nl_addr_add(nl, lo, &left, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(nl_addr_add(nl, lo, &kept, err, sizeof(err)), 0, "%s", err);
	ann_remove_unmanaged(a, &kept, "lo", METHOD_ADDRESS);
	cr_expect_eq(a->norphans, 0, "a managed address is not an orphan");
	cr_expect(on_lo("192.0.2.53/32"));

	net_admin(false);
	ann_remove_unmanaged(a, &left, "lo", METHOD_ADDRESS);
	net_admin(true);
	cr_expect(on_lo("192.0.2.54/32"));
	cr_expect_eq(a->errors, 1);
	cr_assert_eq(a->norphans, 1, "a failed removal was forgotten");
	cr_expect(pfx_equal(&a->orphans[0].pfx, &left));
	cr_expect(a->orphans[0].addr);
	cr_expect_str_eq(a->orphans[0].ifname, "lo");
	/* The next reconcile tries again. */
	ann_reconcile(a);
	cr_expect_not(on_lo("192.0.2.54/32"));
	cr_expect_eq(a->norphans, 0);
	ann_free(a);
	cfg_free(cfg);
}

Test(ann, a_reload_hands_over_what_the_new_configuration_drops)
{
	struct cfg	*o = tu_load(NULL, "a", SVC("192.0.2.53/32"), "b", SVC("192.0.2.54/32"),
			    NULL);
	struct cfg	*n;
	struct ann	*old = ann_new(o, nl, err, sizeof(err)), *nw;

	cr_assert_not_null(old, "%s", err);
	ann_set_service(old, 0, true, ANN_PLAIN, false);
	ann_set_service(old, 1, true, ANN_PLAIN, false);
	cr_assert(on_lo("192.0.2.53/32") && on_lo("192.0.2.54/32"));
	tu_cleanup();
	n = tu_load(NULL, "a", SVC("192.0.2.53/32"), NULL);
	nw = ann_new(n, nl, err, sizeof(err));
	cr_assert_not_null(nw, "%s", err);
	nw->svc_wanted[0] = true;
	net_admin(false);
	ann_take_over(nw, old);
	net_admin(true);
	cr_expect(on_lo("192.0.2.54/32"));
	cr_assert_eq(nw->norphans, 1, "b's address is not kept for a retry");
	ann_free(old);
	ann_reconcile(nw);
	cr_expect_not(on_lo("192.0.2.54/32"));
	cr_expect(on_lo("192.0.2.53/32"), "a kept service lost its address");
	cr_expect_eq(nw->norphans, 0);
	ann_free(nw);
	cfg_free(o);
	cfg_free(n);
}

struct mirror {
	struct ann	*a;
	unsigned	 fixed;
};

static void
mirror_cb(const struct nl_addr_event *ev, void *arg)
{
	struct mirror	*m = arg;

	if (ann_addr_changed(m->a, ev->ifindex, &ev->pfx, ev->added))
		m->fixed++;
}

/* Feeds what the kernel has said so far to ann_addr_changed(). */
static void
mirror_drain(struct nl_watch *w, struct mirror *m)
{
	usleep(20000);
	cr_assert_eq(nl_watch_read(w, mirror_cb, m, err, sizeof(err)), 0, "%s", err);
}

Test(ann, the_kernel_mirror_corrects_foreign_changes_only)
{
	struct cfg	*cfg = tu_load(NULL, "a", SVC("192.0.2.53/32"), NULL);
	struct ann	*a = ann_new(cfg, nl, err, sizeof(err));
	struct nl_watch	*w = nl_watch_open(err, sizeof(err));
	struct mirror	 m = { .a = a };
	struct pfx	 p = P("192.0.2.53/32"), other = P("192.0.2.99/32");

	cr_assert_not_null(a, "%s", err);
	cr_assert_not_null(w, "%s", err);
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	ann_recorded(a);
	cr_assert(on_lo("192.0.2.53/32"));
	/* Our own add comes back: nothing to correct. */
	mirror_drain(w, &m);
	cr_expect_eq(m.fixed, 0);
	/* Deleted by hand: restored at once. */
	cr_assert_eq(nl_addr_del(nl, lo, &p, err, sizeof(err)), 0, "%s", err);
	mirror_drain(w, &m);
	cr_expect_eq(m.fixed, 1);
	cr_expect(on_lo("192.0.2.53/32"));
	/* An address that is not configured: neither restored nor removed. */
	cr_assert_eq(nl_addr_add(nl, lo, &other, err, sizeof(err)), 0, "%s", err);
	mirror_drain(w, &m);
	cr_expect(on_lo("192.0.2.99/32"));
	cr_assert_eq(nl_addr_del(nl, lo, &other, err, sizeof(err)), 0, "%s", err);
	mirror_drain(w, &m);
	cr_expect_not(on_lo("192.0.2.99/32"));
	cr_expect_eq(m.fixed, 1);
	/* The service goes down: our own removal changes nothing more ... */
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	mirror_drain(w, &m);
	cr_expect_eq(m.fixed, 1);
	cr_expect_not(on_lo("192.0.2.53/32"));
	/* ... and one added by hand is removed at once. */
	cr_assert_eq(nl_addr_add(nl, lo, &p, err, sizeof(err)), 0, "%s", err);
	mirror_drain(w, &m);
	cr_expect_eq(m.fixed, 2);
	cr_expect_not(on_lo("192.0.2.53/32"));
	/* Our own add and removal, notified only afterwards: nothing foreign. */
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	mirror_drain(w, &m);
	cr_expect_eq(m.fixed, 2, "%u corrections", m.fixed);
	cr_expect_not(on_lo("192.0.2.53/32"));
	/* A program fighting over it gets a bounded number of corrections. */
	for (int i = 0; i < 40; i++) {
		/* 1 once the daemon leaves it to the periodic check. */
		cr_assert_geq(nl_addr_add(nl, lo, &p, err, sizeof(err)), 0, "%s", err);
		mirror_drain(w, &m);
	}
	cr_expect_eq(m.fixed, 30, "%u corrections", m.fixed);
	nl_watch_close(w);
	ann_free(a);
	cfg_free(cfg);
}

Test(ann, a_lost_record_holds_back_what_is_no_longer_on_the_system)
{
	struct cfg	*cfg = tu_load(NULL, "a", SVC("192.0.2.53/32"), "b", SVC("192.0.2.54/32"),
			    NULL);
	struct ann	*a = ann_new(cfg, nl, err, sizeof(err));
	unsigned	 asked = 0;

	cr_assert_not_null(a, "%s", err);
	a->record_cb = count_cb;
	a->record_arg = &asked;
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	ann_set_service(a, 1, true, ANN_PLAIN, false);
	ann_recorded(a);
	cr_assert(on_lo("192.0.2.53/32") && on_lo("192.0.2.54/32"));
	/* a falls; then the file is removed (or a write fails). */
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	cr_assert_not(on_lo("192.0.2.53/32"));
	ann_record_lost(a);
	cr_expect_not(a->prefixes[0].recorded, "no file lists it any more");
	cr_expect(a->prefixes[1].recorded, "on the system: listed again by the next write");
	asked = 0;
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	cr_expect_not(on_lo("192.0.2.53/32"), "announced again with no record");
	cr_expect_gt(asked, 0);
	cr_expect_eq(ann_waiting(a), 1);
	cr_expect(on_lo("192.0.2.54/32"), "what is out stays out");
	ann_recorded(a);
	cr_expect(on_lo("192.0.2.53/32"));
	ann_free(a);
	cfg_free(cfg);
}

/* What a service adopted at start has out already needs no new record. */
Test(ann, adopted_prefixes_count_as_recorded)
{
	struct cfg	*cfg = tu_load(NULL, "a", SVC("192.0.2.53/32"), NULL);
	struct ann	*a = ann_new(cfg, nl, err, sizeof(err));
	struct pfx	 p = P("192.0.2.53/32");
	unsigned	 asked = 0;

	cr_assert_not_null(a, "%s", err);
	a->record_cb = count_cb;
	a->record_arg = &asked;
	cr_assert_eq(nl_addr_add(nl, lo, &p, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(ann_scan(a), 0);
	a->svc_wanted[0] = true;
	ann_adopted(a, 0);
	ann_reconcile(a);
	cr_expect_eq(ann_waiting(a), 0, "held back though it is out already");
	cr_expect(on_lo("192.0.2.53/32"));
	/* Not found announced: not adopted, a record is needed as ever. */
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	a->prefixes[0].recorded = false;
	ann_adopted(a, 0);
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	cr_expect_eq(ann_waiting(a), 1);
	cr_expect_not(on_lo("192.0.2.53/32"));
	ann_free(a);
	cfg_free(cfg);
}

struct count {
	size_t	n;
};

static void
count_10_cb(const struct pfx *p, void *arg)
{
	struct count	*c = arg;

	c->n += p->family == AF_INET && (ntohl(p->addr.v4.s_addr) >> 24) == 10;
}

static size_t
on_lo_10(void)
{
	struct count	c = { 0 };

	cr_assert_eq(nl_addr_dump(nl, lo, count_10_cb, &c, err, sizeof(err)), 0, "%s", err);
	return c.n;
}

/*
 * One service with more prefixes than one batch holds: every address goes
 * on and off with the service, a refused batch leaves each prefix as it
 * was (counted, retried by the reconcile), as one request at a time did.
 */
Test(ann, a_thousand_prefixes_go_in_batches_each_as_if_alone)
{
	enum { N = 1100 };
	static char	 json[N * 24 + 256];
	struct cfg	*cfg;
	struct ann	*a;
	size_t		 off;

	off = (size_t)snprintf(json, sizeof(json), "{ \"prefixes\": [");
	for (int i = 0; i < N; i++)
		off += (size_t)snprintf(json + off, sizeof(json) - off, "%s\"10.%d.%d.1/32\"",
		    i ? ", " : "", i / 250, i % 250);
	snprintf(json + off, sizeof(json) - off, "], \"probes\": [ { \"type\": \"tcp\", "
	    "\"host\": \"127.0.0.1\", \"port\": 9 } ] }");
	cfg = tu_load(NULL, "many", json, NULL);
	a = ann_new(cfg, nl, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	ann_set_service(a, 0, true, ANN_PLAIN, false);
	cr_expect_eq(on_lo_10(), N);
	cr_expect_eq(a->errors, 0);
	for (size_t i = 0; i < a->nprefixes; i++)
		cr_assert(a->prefixes[i].present, "prefix %zu", i);

	net_admin(false);
	ann_set_service(a, 0, false, ANN_PLAIN, true);
	net_admin(true);
	cr_expect_eq(a->errors, N, "one error per refused request");
	cr_expect_eq(on_lo_10(), N);
	for (size_t i = 0; i < a->nprefixes; i++)
		cr_assert(a->prefixes[i].present, "prefix %zu: a refused removal is not done", i);
	ann_reconcile(a);
	cr_expect_eq(on_lo_10(), 0, "the reconcile removes what was refused");
	for (size_t i = 0; i < a->nprefixes; i++)
		cr_assert_not(a->prefixes[i].present, "prefix %zu", i);
	cr_expect_null(a->batch, "no batch is kept between passes");
	ann_free(a);
	cfg_free(cfg);
}
