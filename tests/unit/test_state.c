/* The state file: round trip, atomic replacement, malformed input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "state.h"
#include "../state_reference.h"

static char	dir[64], path[128];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ahd-state-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state.json", dir);
}

static void
teardown(void)
{
	char	tmp[160];

	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
}

static void
write_text(const char *text)
{
	FILE	*f = fopen(path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

TestSuite(state, .init = setup, .fini = teardown);

Test(state, round_trip)
{
	struct state	st = { 0 }, back;
	struct pfx	p4, p6;
	char		err[256], buf[PFX_STRLEN], tmp[160], *text;
	struct stat	sb;

	cr_assert_eq(pfx_parse("192.0.2.53/32", &p4, err, sizeof(err)), 0);
	cr_assert_eq(pfx_parse("2001:db8::53/128", &p6, err, sizeof(err)), 0);
	cr_assert_eq(state_add_announced(&st, &p4, "lo", METHOD_ADDRESS), 0);
	cr_assert_eq(state_add_announced(&st, &p6, "dummy0", METHOD_ADDRESS), 0);
	cr_assert_eq(state_add_drained(&st, "web"), 0);
	st.kept = true;
	text = state_format(&st);
	cr_assert_not_null(text);
	cr_assert_eq(state_write_file(path, text, err, sizeof(err)), 0, "%s", err);
	free(text);
	/* Nothing is left of the temporary file. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_expect_neq(stat(tmp, &sb), 0);

	cr_assert_eq(state_read(path, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.nannounced, 2);
	cr_expect_str_eq(pfx_fmt(&back.announced[0].pfx, buf, sizeof(buf)), "192.0.2.53/32");
	cr_expect_str_eq(back.announced[0].ifname, "lo");
	cr_expect_str_eq(pfx_fmt(&back.announced[1].pfx, buf, sizeof(buf)),
	    "2001:db8::53/128");
	cr_expect_str_eq(back.announced[1].ifname, "dummy0");
	cr_expect_eq(back.announced[1].method, METHOD_ADDRESS);
	cr_assert_eq(back.ndrained, 1);
	cr_expect(state_is_drained(&back, "web"));
	cr_expect_not(state_is_drained(&back, "dns"));
	cr_expect(back.kept);
	state_clear(&st);
	state_clear(&back);
}

Test(state, missing_file_is_empty)
{
	struct state	st;
	char		err[256];

	cr_expect_eq(state_read(path, &st, err, sizeof(err)), 1);
	cr_expect_eq(st.nannounced, 0);
	cr_expect_eq(st.ndrained, 0);
}

Test(state, malformed_files)
{
	static const struct { const char *text, *err; } cases[] = {
		{ "{ \"announced\": {} }", "announced: not an array" },
		{ "{ \"drained\": \"web\" }", "drained: not an array" },
		{ "[]", "not a JSON object" },
		{ "{ truncated", "not JSON" },
	};
	struct state	st;
	char		err[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_text(cases[i].text);
		cr_expect_eq(state_read(path, &st, err, sizeof(err)), -1, "case %zu", i);
		cr_expect_str_eq(err, cases[i].err, "case %zu", i);
		cr_expect_eq(st.nannounced, 0);
	}
}

/* Written by an unprivileged user: bad entries are skipped, the good ones still count. */
Test(state, malformed_entries_are_skipped_and_counted)
{
	static const struct { const char *entry, *err; } cases[] = {
		{ "{ \"prefix\": \"192.0.2.5/24\", \"interface\": \"lo\", \"method\": \"address\" }",
		  "announced[0].prefix: '192.0.2.5/24' has host bits set beyond /24 "
		    "(FRR would silently announce the covering network)" },
		{ "{ \"prefix\": \"192.0.2.5/32\" }",
		  "announced[0]: needs prefix, interface and method" },
		{ "{ \"prefix\": \"192.0.2.5/32\", \"interface\": \"lo\", \"method\": \"bgp\" }",
		  "announced[0].method: unknown method 'bgp'" },
		{ "{ \"prefix\": \"192.0.2.5/32\", \"interface\": \"../../etc\", "
		    "\"method\": \"address\" }",
		  "announced[0].interface: '../../etc' is not an interface name" },
		{ "{ \"prefix\": \"192.0.2.5/32; rm -rf /\", \"interface\": \"lo\", "
		    "\"method\": \"network\" }",
		  "announced[0].prefix: '192.0.2.5/32; rm -rf /' has a bad prefix length (0-32)" },
		{ "7", "announced[0]: needs prefix, interface and method" },
	};
	struct state	st;
	char		err[256], text[1024];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "{ \"announced\": [ %s, { \"prefix\": "
		    "\"192.0.2.53/32\", \"interface\": \"lo\", \"method\": \"both\" } ], "
		    "\"drained\": [ \"web\", \"bad name\", 3 ] }", cases[i].entry);
		write_text(text);
		cr_expect_eq(state_read(path, &st, err, sizeof(err)), 0, "case %zu: %s", i, err);
		cr_expect_eq(st.nbad, 3, "case %zu", i);
		cr_expect_str_eq(err, cases[i].err, "case %zu", i);
		cr_expect_eq(st.nannounced, 1, "case %zu", i);
		cr_expect_eq(st.ndrained, 1, "case %zu", i);
		state_clear(&st);
	}
}

/* The frr block is written for the operator, never read back: it is not trusted. */
Test(state, frr_block_is_written_but_never_read)
{
	struct state	st = { 0 }, back;
	struct pfx	p;
	char		err[256], *text;

	cr_assert_eq(pfx_parse("203.0.113.0/24", &p, err, sizeof(err)), 0);
	cr_assert_eq(state_add_announced(&st, &p, "lo", METHOD_NETWORK), 0);
	st.frr.set = true;
	snprintf(st.frr.vtysh, sizeof(st.frr.vtysh), "/tmp/evil");
	snprintf(st.frr.pathspace, sizeof(st.frr.pathspace), "node1");
	st.frr.asn = 4200000001u;
	st.frr.timeout_us = 2500000;
	cr_assert_not_null(text = state_format(&st));
	cr_expect_not_null(strstr(text, "\"vtysh\": \"/tmp/evil\""));
	cr_assert_eq(state_write_file(path, text, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(state_read(path, &back, err, sizeof(err)), 0, "%s", err);
	cr_expect(!back.frr.set);
	cr_expect_str_eq(back.frr.vtysh, "");
	cr_expect_eq(back.nannounced, 1);
	cr_expect_eq(back.nbad, 0);
	free(text);
	state_clear(&st);
	state_clear(&back);

	/* A daemon without network statements writes no frr block. */
	cr_assert_not_null(text = state_format(&st));
	cr_expect_null(strstr(text, "\"frr\""));
	free(text);
}

/* withdraw-all must not read a link as "no state file: nothing to withdraw". */
Test(state, links_are_errors_not_missing)
{
	struct state	st;
	char		err[256] = "", target[160];

	cr_assert_eq(symlink("/nonexistent/state.json", path), 0);
	cr_expect_eq(state_read(path, &st, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "a symbolic link, not a file the daemon wrote");
	cr_assert_eq(unlink(path), 0);
	snprintf(target, sizeof(target), "%s/real.json", dir);
	{
		FILE	*f = fopen(target, "w");

		cr_assert_not_null(f);
		fputs("{ \"announced\": [] }", f);
		fclose(f);
	}
	cr_assert_eq(symlink(target, path), 0);
	cr_expect_eq(state_read(path, &st, err, sizeof(err)), -1);
	unlink(target);
	/* A directory in its place is not "missing" either. */
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(mkdir(path, 0755), 0);
	cr_expect_eq(state_read(path, &st, err, sizeof(err)), -1);
	rmdir(path);
}

/* Two states built alike; each field that the file shows makes them differ. */
static void
build(struct state *st, const char *ifname, enum cfg_method m, const char *drained)
{
	struct pfx	p;
	char		err[256], text[PFX_STRLEN];

	memset(st, 0, sizeof(*st));
	/* Past the first growth of the array. */
	for (int i = 0; i < 40; i++) {
		snprintf(text, sizeof(text), "198.51.100.%d/32", i);
		cr_assert_eq(pfx_parse(text, &p, err, sizeof(err)), 0);
		cr_assert_eq(state_add_announced(st, &p, i == 39 ? ifname : "lo", m), 0);
	}
	cr_assert_eq(state_add_drained(st, drained), 0);
	st->frr.set = true;
	snprintf(st->frr.vtysh, sizeof(st->frr.vtysh), "/usr/bin/vtysh");
	st->frr.asn = 65001;
}

Test(state, equal_means_the_same_text)
{
	struct state	a, b;
	char		*ta, *tb;

	build(&a, "lo", METHOD_ADDRESS, "web");
	build(&b, "lo", METHOD_ADDRESS, "web");
	cr_expect(state_equal(&a, &b));
	cr_assert_not_null(ta = state_format(&a));
	cr_assert_not_null(tb = state_format(&b));
	cr_expect_str_eq(ta, tb);
	free(ta);
	free(tb);
	state_clear(&b);
	build(&b, "dummy0", METHOD_ADDRESS, "web");
	cr_expect_not(state_equal(&a, &b), "interface");
	state_clear(&b);
	build(&b, "lo", METHOD_BOTH, "web");
	cr_expect_not(state_equal(&a, &b), "method");
	state_clear(&b);
	build(&b, "lo", METHOD_ADDRESS, "dns");
	cr_expect_not(state_equal(&a, &b), "drained");
	state_clear(&b);
	build(&b, "lo", METHOD_ADDRESS, "web");
	b.nannounced--;
	cr_expect_not(state_equal(&a, &b), "one prefix fewer");
	b.nannounced++;
	b.kept = true;
	cr_expect_not(state_equal(&a, &b), "kept");
	b.kept = false;
	b.frr.asn = 65002;
	cr_expect_not(state_equal(&a, &b), "asn");
	b.frr.asn = 65001;
	cr_expect(state_equal(&a, &b));
	state_clear(&a);
	state_clear(&b);
}


static void
expect_as_before(const struct state *st, const char *what)
{
	char	*a = state_format(st), *b = state_reference_format(st);

	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_expect_str_eq(a, b, "%s", what);
	free(a);
	free(b);
}

Test(state, the_text_is_what_json_c_printed)
{
	struct state	st = { 0 };
	struct pfx	p;
	char		err[256];

	expect_as_before(&st, "empty");
	cr_assert_eq(pfx_parse("192.0.2.1/32", &p, err, sizeof(err)), 0);
	cr_assert_eq(state_add_announced(&st, &p, "lo", METHOD_ADDRESS), 0);
	cr_assert_eq(pfx_parse("2001:db8::1/128", &p, err, sizeof(err)), 0);
	cr_assert_eq(state_add_announced(&st, &p, "a\"b\\c/d\te\x01\x7f\xc3\xa9", METHOD_BOTH), 0);
	cr_assert_eq(state_add_announced(&st, &p, "x\b\f\n\ry\x1f", METHOD_NETWORK), 0);
	expect_as_before(&st, "announced only");
	cr_assert_eq(state_add_drained(&st, "web"), 0);
	cr_assert_eq(state_add_drained(&st, "q\"\\/\x02"), 0);
	st.kept = true;
	expect_as_before(&st, "drained, kept");
	st.frr.set = true;
	snprintf(st.frr.vtysh, sizeof(st.frr.vtysh), "/usr/bin/vtysh");
	snprintf(st.frr.vrf, sizeof(st.frr.vrf), "red\"");
	st.frr.asn = 4200000000u;
	st.frr.timeout_us = 5000000;
	expect_as_before(&st, "frr");
	state_clear(&st);
}
