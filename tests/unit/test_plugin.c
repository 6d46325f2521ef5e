/*
 * The monitoring text helpers: UTF-8 kept valid and never cut inside a
 * character, '|' replaced, numbers without exponents, perfdata validated
 * and never cut inside an item.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "plugin.h"

Test(plugin, clean_replaces_invalid_bytes_and_controls)
{
	char	out[64];

	cr_expect_not(plugin_clean(out, sizeof(out), "a\xff" "b\tc\x80", 6, 0));
	cr_expect_str_eq(out, "a\xef\xbf\xbd" "b c\xef\xbf\xbd");
	/* Overlong '/' and a surrogate are not UTF-8 either. */
	plugin_clean(out, sizeof(out), "\xc0\xaf" "\xed\xa0\x80", 5, 0);
	cr_expect_str_eq(out, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* Valid 2-, 3- and 4-byte characters pass. */
	plugin_clean(out, sizeof(out), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9, 0);
	cr_expect_str_eq(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	/* A character cut by the source's own end is invalid. */
	plugin_clean(out, sizeof(out), "x\xe2\x82", 3, 0);
	cr_expect_str_eq(out, "x\xef\xbf\xbd\xef\xbf\xbd");
}

Test(plugin, clean_cuts_between_characters)
{
	char	out[6];

	/* "aé€" is 1+2+3 bytes: 5 bytes of room hold "aé" only. */
	cr_expect(plugin_clean(out, sizeof(out), "a\xc3\xa9\xe2\x82\xac", 6, 0));
	cr_expect_str_eq(out, "a\xc3\xa9");
	cr_expect(plugin_clean(out, sizeof(out), "abcdefgh", 8, PLUGIN_ELLIPSIS));
	cr_expect_str_eq(out, "ab\xe2\x80\xa6");
	cr_expect_not(plugin_clean(out, sizeof(out), "abcde", 5, PLUGIN_ELLIPSIS));
	cr_expect_str_eq(out, "abcde");
}

Test(plugin, clean_replaces_the_pipe)
{
	char	out[64];

	plugin_clean(out, sizeof(out), "^(healthy|fine)", 64, PLUGIN_PIPE);
	cr_expect_str_eq(out, "^(healthy\xc2\xa6" "fine)");
	plugin_clean(out, sizeof(out), "a|b", 64, 0);
	cr_expect_str_eq(out, "a|b");
}

Test(plugin, numbers_have_no_exponent)
{
	char	buf[32];

	plugin_num(buf, sizeof(buf), 5e-05);
	cr_expect_str_eq(buf, "0.00005");
	plugin_num(buf, sizeof(buf), 0.1);
	cr_expect_str_eq(buf, "0.1");
	plugin_num(buf, sizeof(buf), 2);
	cr_expect_str_eq(buf, "2");
	plugin_num(buf, sizeof(buf), 1e7);
	cr_expect_str_eq(buf, "10000000");
	plugin_num(buf, sizeof(buf), -0.0000001);
	cr_expect_str_eq(buf, "0");
}

Test(plugin, perf_parse_keeps_valid_items_and_says_what_it_dropped)
{
	char	out[512], note[256];
	size_t	n;

	n = plugin_perf_parse("'a b'=1ms;2;3 'it''s'=5%;;;0;100 'app:bad'=abc x=5xs "
	    "six=1;2;3;4;5;6 r=1;@10:20;~:5;0 time=0.5s c=12c", out, sizeof(out), note,
	    sizeof(note));
	cr_expect_eq(n, 5, "%s", out);
	cr_expect_str_eq(out, "'a b'=1ms;2;3 'it''s'=5%;;;0;100 'r'=1;@10:20;~:5;0 "
	    "'time'=0.5s 'c'=12c");
	cr_expect_str_eq(note, "3 invalid perfdata items dropped (first: 'app:bad'=abc: "
	    "value not a number)");
	plugin_perf_parse("x=5xs", out, sizeof(out), note, sizeof(note));
	cr_expect_str_eq(note, "1 invalid perfdata item dropped (x=5xs: unit not one of "
	    "s ms us % B KB MB GB TB c)");
	plugin_perf_parse("y=1;2;3;4;5;6", out, sizeof(out), note, sizeof(note));
	cr_expect_str_eq(note, "1 invalid perfdata item dropped (y=1;2;3;4;5;6: more "
	    "than 5 fields)");
	/* A literal U: the value could not be determined; not with a unit. */
	n = plugin_perf_parse("rta=U;3000;5000;; 'b'=U u=Us", out, sizeof(out), note,
	    sizeof(note));
	cr_expect_eq(n, 2, "%s", out);
	cr_expect_str_eq(out, "'rta'=U;3000;5000;; 'b'=U");
	cr_expect_str_eq(note, "1 invalid perfdata item dropped (u=Us: value not a number)");
	/* A broken quote: the rest cannot be split into items. */
	n = plugin_perf_parse("a=1 'b=2", out, sizeof(out), note, sizeof(note));
	cr_expect_eq(n, 1);
	cr_expect_str_eq(out, "'a'=1");
	cr_expect_neq(note[0], '\0');
}

Test(plugin, perf_is_never_cut_inside_an_item)
{
	char	in[8192], out[100], note[256];
	size_t	o = 0, n;

	for (int i = 0; i < 120; i++)
		o += (size_t)snprintf(in + o, sizeof(in) - o, "'app:metric_number_%03d'="
		    "%d.123456B ", i, i);
	n = plugin_perf_parse(in, out, sizeof(out), note, sizeof(note));
	/* 34 bytes an item with its blank: two fit in 99. */
	cr_expect_eq(n, 2, "%s", out);
	cr_expect_str_eq(out, "'app:metric_number_000'=0.123456B "
	    "'app:metric_number_001'=1.123456B");
	cr_expect_str_eq(note, "118 perfdata items dropped (more than 99 bytes)");
}

Test(plugin, perf_add_relabels_and_escapes)
{
	struct plugin_perf	 pp;
	char			 buf[128], label[64];
	const char		*s, *rest;
	size_t			 restlen;

	plugin_perf_init(&pp, buf, sizeof(buf));
	cr_expect(plugin_perf_add(&pp, "svc/p|q's:", "it''s", "1"));
	cr_expect(plugin_perf_add(&pp, "a=b", "_time", "0.1s;;;0"));
	cr_expect_str_eq(buf, "'svc/p\xc2\xa6q''s:it''s'=1 'a_b_time'=0.1s;;;0");
	s = plugin_perf_next(buf, label, sizeof(label), &rest, &restlen);
	cr_assert_not_null(s);
	cr_expect_str_eq(label, "svc/p\xc2\xa6q''s:it''s");
	cr_expect_eq(restlen, 1);
	s = plugin_perf_next(s, label, sizeof(label), &rest, &restlen);
	cr_assert_not_null(s);
	cr_expect_str_eq(label, "a_b_time");
	cr_expect_eq(strncmp(rest, "0.1s;;;0", restlen), 0);
	cr_expect_null(plugin_perf_next(s, label, sizeof(label), &rest, &restlen));
	/* Full: the item is dropped whole and counted. */
	cr_expect_not(plugin_perf_add(&pp, "", "a_rather_long_label_that_cannot_fit_any_more_"
	    "not_even_in_one_hundred_and_twenty_eight_bytes", "123456789"));
	/* And after one is dropped, so is every later one: the order is kept. */
	cr_expect_not(plugin_perf_add(&pp, "", "x", "1"));
	cr_expect_eq(pp.dropped, 2);
	cr_expect_eq(pp.kept, 2);
}
