/*
 * The FRR driver's prefix index (agent/route/frr_index.c) and the lookups
 * built on it: thousands of prefixes added in any order, found at their
 * positions after growth, removal in the middle and compaction; the
 * running-config and verification parsers' lookups at that size.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frr.h"
#include "frr_index.h"

#define NREC	5000

/* A record like the driver's: the prefix not first, so the offset counts. */
struct rec {
	int		tag;
	struct pfx	pfx;
	char		pad[7];
};

static struct pfx
P(const char *s)
{
	struct pfx	p;
	char		err[128];

	cr_assert_eq(pfx_parse(s, &p, err, sizeof(err)), 0, "%s: %s", s, err);
	return p;
}

/*
 * Prefix k, distinct for distinct k: IPv4 and IPv6 mixed, and k ^ 1 at the
 * same address with another length (the index keys on the length too;
 * zebra's verification lists addresses without it).
 */
static struct pfx
nth(unsigned k)
{
	char	buf[64];

	switch (k % 4) {
	case 0:
	case 1:
		snprintf(buf, sizeof(buf), "10.%u.%u.0/%u", k / 4 / 256, k / 4 % 256,
		    k % 4 == 0 ? 24 : 25);
		break;
	default:
		snprintf(buf, sizeof(buf), "2001:db8:%x::/%u", k / 4, k % 4 == 2 ? 48 : 64);
		break;
	}
	return P(buf);
}

/* 0 .. n - 1 in a fixed shuffled order. */
static unsigned *
shuffled(unsigned n)
{
	unsigned	*o = calloc(n, sizeof(*o)), t;
	unsigned long	 x = 12345;

	cr_assert_not_null(o);
	for (unsigned i = 0; i < n; i++)
		o[i] = i;
	for (unsigned i = n - 1; i > 0; i--) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		unsigned j = (unsigned)(x >> 33) % (i + 1);
		t = o[i];
		o[i] = o[j];
		o[j] = t;
	}
	return o;
}

static void
expect_positions(const struct frr_index *x, const struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		ptrdiff_t got = frr_index_find(x, r, &r[i].pfx);
		cr_assert_eq(got, (ptrdiff_t)i, "record %zu (tag %d) found at %td", i,
		    r[i].tag, got);
	}
}

Test(frr_index, thousands_found_after_growth_and_removal)
{
	struct frr_index	 x;
	struct rec		*r = NULL, *tmp;
	size_t			 n = 0, cap = 0, kept = 0;
	unsigned		*order = shuffled(NREC);
	struct pfx		 absent = P("192.0.2.1/32"), p0, pmid, plast;

	frr_index_init(&x, sizeof(struct rec), offsetof(struct rec, pfx));
	cr_expect_eq(frr_index_find(&x, r, &absent), -1, "an empty index finds nothing");
	for (unsigned i = 0; i < NREC; i++) {
		struct pfx p = nth(order[i]);
		cr_assert_eq(frr_index_find(&x, r, &p), -1, "prefix %u is new", order[i]);
		tmp = frr_index_append(&x, r, &n, &cap, &p);
		cr_assert_not_null(tmp);
		r = tmp;
		r[n - 1].tag = (int)order[i];
		cr_assert(n <= cap);
	}
	cr_assert_eq(n, NREC);
	/* Insertion order kept; growth amortised (by half), not one record at a time. */
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(r[i].tag, (int)order[i]);
	cr_expect(cap < 2 * NREC, "capacity %zu for %d records", cap, NREC);
	cr_expect(x.cap >= 2 * n && x.cap <= 4 * (n + 1), "index of %zu slots", x.cap);
	expect_positions(&x, r, n);
	cr_expect_eq(frr_index_find(&x, r, &absent), -1);

	/* Removal in the middle, at both ends: the others keep order and are found. */
	frr_index_remove(&x, r, &n, n / 2);
	frr_index_remove(&x, r, &n, 0);
	frr_index_remove(&x, r, &n, n - 1);
	cr_assert_eq(n, NREC - 3);
	for (size_t i = 0, j = 1; i < n; i++, j++) {
		if (j == NREC / 2)
			j++;
		cr_assert_eq(r[i].tag, (int)order[j], "record %zu", i);
	}
	expect_positions(&x, r, n);
	p0 = nth(order[0]);
	pmid = nth(order[NREC / 2]);
	plast = nth(order[NREC - 1]);
	cr_expect_eq(frr_index_find(&x, r, &p0), -1);
	cr_expect_eq(frr_index_find(&x, r, &pmid), -1);
	cr_expect_eq(frr_index_find(&x, r, &plast), -1);

	/* A compaction (every third kept), as the drop passes do: one rebuild. */
	for (size_t i = 0; i < n; i++)
		if (i % 3 == 0)
			r[kept++] = r[i];
	n = kept;
	frr_index_rebuild(&x, r, n);
	expect_positions(&x, r, n);
	cr_expect(x.cap <= 8 * 4 * (n + 1), "the index shrinks with the table");
	for (unsigned i = 0; i < NREC; i++) {
		p0 = nth(i);
		if (frr_index_find(&x, r, &p0) >= 0)
			kept--;
	}
	cr_expect_eq(kept, 0, "nothing but the kept records is found");
	/* Everything gone, then added again. */
	frr_index_rebuild(&x, r, 0);
	cr_expect_eq(frr_index_find(&x, r, &r[0].pfx), -1);
	n = 0;
	r = frr_index_append(&x, r, &n, &cap, &absent);
	cr_assert_not_null(r);
	cr_expect_eq(frr_index_find(&x, r, &absent), 0);
	frr_index_free(&x);
	free(r);
	free(order);
}

Test(frr_index, a_duplicate_is_found_at_its_first_position)
{
	struct frr_index	 x;
	struct rec		 r[4];

	frr_index_init(&x, sizeof(struct rec), offsetof(struct rec, pfx));
	memset(r, 0, sizeof(r));
	r[0].pfx = P("192.0.2.0/24");
	r[1].pfx = P("192.0.2.0/25");
	r[2].pfx = P("192.0.2.0/24");
	r[3].pfx = P("2001:db8::/32");
	for (size_t i = 0; i < 4; i++)
		cr_assert_eq(frr_index_add(&x, r, i), 0);
	cr_expect_eq(frr_index_find(&x, r, &r[2].pfx), 0);
	cr_expect_eq(frr_index_find(&x, r, &r[1].pfx), 1);
	cr_expect_eq(frr_index_find(&x, r, &r[3].pfx), 3);
	/* The first removed: the duplicate behind it is found in its place. */
	memmove(&r[0], &r[1], 3 * sizeof(r[0]));
	frr_index_rebuild(&x, r, 3);
	cr_expect_eq(frr_index_find(&x, r, &r[1].pfx), 1);
	cr_expect_eq(frr_index_find(&x, r, &r[0].pfx), 0);
	frr_index_free(&x);
}

/* A running configuration of n statements, each family in its own section plus strays. */
static char *
running_text(unsigned n)
{
	size_t	 len = 200 + (size_t)n * 80, off = 0;
	char	*t = malloc(len), pb[PFX_STRLEN];

	cr_assert_not_null(t);
	for (int fam = 0; fam < 2; fam++) {
		off += (size_t)snprintf(t + off, len - off, "%s address-family %s unicast\n",
		    fam == 0 ? "router bgp 65001\n" : "", fam == 0 ? "ipv4" : "ipv6");
		for (unsigned k = 0; k < n; k++) {
			struct pfx p = nth(k);
			if ((p.family == AF_INET) != (fam == 0))
				continue;
			off += (size_t)snprintf(t + off, len - off, "  network %s%s\n",
			    pfx_fmt(&p, pb, sizeof(pb)), k % 7 == 0 ? " route-map RM" : "");
			/* Every hundredth twice: the first line is the one found. */
			if (k % 100 == 0)
				off += (size_t)snprintf(t + off, len - off,
				    "  network %s route-map SECOND\n", pb);
		}
		off += (size_t)snprintf(t + off, len - off, " exit-address-family\n");
	}
	return t;
}

Test(frr_index, running_config_lookups_at_scale)
{
	char			*text = running_text(NREC);
	struct frr_running	 r;
	const struct frr_net	*net;
	struct pfx		 stray = P("192.0.2.0/24");
	char			*t2;

	cr_assert_eq(frr_running_parse(text, NULL, &r), 0);
	cr_assert(r.found);
	for (unsigned k = 0; k < NREC; k++) {
		struct pfx p = nth(k);
		net = frr_running_find(&r, &p);
		cr_assert_not_null(net, "statement %u", k);
		cr_assert(pfx_equal(&net->pfx, &p));
		cr_assert_str_eq(net->route_map, k % 7 == 0 ? "RM" : "", "statement %u", k);
	}
	cr_expect_null(frr_running_find(&r, &stray));
	frr_running_clear(&r);
	free(text);
	/* An IPv4 statement in the ipv6 section (vtysh's fall-through) does not count. */
	t2 = strdup("router bgp 65001\n address-family ipv6 unicast\n  network 192.0.2.0/24\n"
	    " exit-address-family\n address-family ipv4 unicast\n  network 192.0.2.0/24 "
	    "route-map B\n exit-address-family\n");
	cr_assert_eq(frr_running_parse(t2, NULL, &r), 0);
	net = frr_running_find(&r, &stray);
	cr_assert_not_null(net);
	cr_expect_str_eq(net->route_map, "B");
	frr_running_clear(&r);
	free(t2);
}

Test(frr_index, verification_marks_every_tracked_address)
{
	struct pfx	*tr = calloc(NREC, sizeof(*tr));
	size_t		 len = (size_t)NREC * 80, off = 0;
	char		*text = malloc(len), ab[INET6_ADDRSTRLEN];
	struct frr_seen	 s;

	cr_assert(tr != NULL && text != NULL);
	for (unsigned k = 0; k < NREC; k++)
		tr[k] = nth(k);
	off += (size_t)snprintf(text + off, len - off, "bgp           00:00:01\n");
	/* zebra's blocks, in its own order; every third address not tracked for bgpd. */
	for (unsigned k = NREC; k-- > 0; ) {
		inet_ntop(tr[k].family, &tr[k].addr, ab, sizeof(ab));
		off += (size_t)snprintf(text + off, len - off, "%s\n resolved via connected\n"
		    " Client list: %s(fd 15)\n", ab, k % 3 == 0 ? "static" : "bgp");
	}
	cr_assert_eq(frr_verify_parse(text, true, NULL, 0, tr, NREC, &s), 0);
	for (unsigned k = 0; k < NREC; k++) {
		/* k ^ 1 has the same address: either's bgp block registers both. */
		bool want = k % 3 != 0 || (k ^ 1) % 3 != 0;
		cr_assert_eq(s.registered[k], want, "tracked %u", k);
	}
	frr_seen_clear(&s);
	free(text);
	free(tr);
}
