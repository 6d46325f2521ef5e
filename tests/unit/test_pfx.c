#include <criterion/criterion.h>
#include <string.h>
#include <sys/socket.h>

#include "pfx.h"

struct good { const char *in, *out; int family; unsigned len; };

Test(pfx, parses_and_prints_canonically)
{
	static const struct good cases[] = {
		{ "192.0.2.53/32", "192.0.2.53/32", AF_INET, 32 },
		{ "192.0.2.0/24", "192.0.2.0/24", AF_INET, 24 },
		{ "0.0.0.0/0", "0.0.0.0/0", AF_INET, 0 },
		{ "2001:db8::53/128", "2001:db8::53/128", AF_INET6, 128 },
		{ "2001:0db8:0000::0053/128", "2001:db8::53/128", AF_INET6, 128 },
		{ "2001:db8::/32", "2001:db8::/32", AF_INET6, 32 },
	};
	struct pfx	p;
	char		err[128], buf[PFX_STRLEN];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(pfx_parse(cases[i].in, &p, err, sizeof(err)), 0, "%s: %s",
		    cases[i].in, err);
		cr_expect_eq(p.family, cases[i].family, "%s", cases[i].in);
		cr_expect_eq(p.len, cases[i].len, "%s", cases[i].in);
		cr_expect_str_eq(pfx_fmt(&p, buf, sizeof(buf)), cases[i].out);
	}
}

struct bad { const char *in, *why; };

Test(pfx, refuses_bad_prefixes_with_a_reason)
{
	static const struct bad cases[] = {
		{ "192.0.2.53", "no prefix length" },
		{ "192.0.2.5/24", "host bits set beyond /24" },
		{ "2001:db8::1/64", "host bits set beyond /64" },
		{ "192.0.2.53/33", "bad prefix length (0-32)" },
		{ "2001:db8::53/129", "bad prefix length (0-128)" },
		{ "192.0.2.53/", "bad prefix length" },
		{ "192.0.2.53/-1", "bad prefix length" },
		{ "192.0.2.53/3x", "bad prefix length" },
		{ "www.example.com/32", "not an IPv4 or IPv6 prefix" },
		{ "/32", "not an IPv4 or IPv6 prefix" },
		{ "300.0.2.1/32", "not an IPv4 or IPv6 prefix" },
	};
	struct pfx	p;
	char		err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_expect_eq(pfx_parse(cases[i].in, &p, err, sizeof(err)), -1, "%s", cases[i].in);
		cr_expect_not_null(strstr(err, cases[i].why), "%s: got '%s'", cases[i].in, err);
	}
}

Test(pfx, equality_needs_family_length_and_address)
{
	struct pfx	a, b, c, d;
	char		err[64];

	pfx_parse("192.0.2.53/32", &a, err, sizeof(err));
	pfx_parse("192.0.2.53/32", &b, err, sizeof(err));
	pfx_parse("192.0.2.54/32", &c, err, sizeof(err));
	pfx_parse("::ffff:192.0.2.53/128", &d, err, sizeof(err));
	cr_expect(pfx_equal(&a, &b));
	cr_expect_not(pfx_equal(&a, &c));
	cr_expect_not(pfx_equal(&a, &d));
}
