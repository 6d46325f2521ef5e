/*
 * The check on prefixes shared between services (cfg_check_shared(),
 * agent/cfg/cfg.c) against the pairwise search it replaced, kept here as
 * the reference: random configurations where many prefixes are shared, in
 * any method and interface, must give the same errors in the same order,
 * naming the same pair of services. The messages themselves are asserted
 * through cfg_load() in test_cfg.c (shared_*).
 */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cfg.h"
#include "cfg_int.h"
#include "pfx.h"

#define MAXSVC	40
#define MAXPFX	6

/* The check before: every listing against every earlier service. */
static const struct cfg_service *
ref_first_with(const struct cfg *cfg, size_t before, const struct pfx *p)
{
	for (size_t i = 0; i < before; i++)
		for (size_t k = 0; k < cfg->services[i].nprefixes; k++)
			if (pfx_equal(&cfg->services[i].prefixes[k], p))
				return &cfg->services[i];
	return NULL;
}

static void
ref_check_shared(const struct cfg *cfg, struct cfg_errors *errs)
{
	const struct cfg_service	*a, *b;
	struct cfg_ctx			 ctx;
	char				 buf[PFX_STRLEN];
	size_t				 mark;

	for (size_t j = 0; j < cfg->nservices; j++) {
		b = &cfg->services[j];
		cfg_ctx_init(&ctx, errs, b->file);
		for (size_t k = 0; k < b->nprefixes; k++) {
			if ((a = ref_first_with(cfg, j, &b->prefixes[k])) == NULL)
				continue;
			mark = cfg_ctx_push(&ctx, "prefixes", (long)k);
			pfx_fmt(&b->prefixes[k], buf, sizeof(buf));
			if (a->method != b->method)
				cfg_error(&ctx, NULL, "%s is in service '%s' with method %s "
				    "and in service '%s' with method %s (a shared prefix "
				    "needs one method)", buf, a->name,
				    cfg_method_str(a->method), b->name,
				    cfg_method_str(b->method));
			else if (a->method != METHOD_NETWORK &&
			    strcmp(a->interface, b->interface) != 0)
				cfg_error(&ctx, NULL, "%s is in service '%s' on interface "
				    "%s and in service '%s' on interface %s (an address "
				    "lives on one interface)", buf, a->name, a->interface,
				    b->name, b->interface);
			cfg_ctx_pop(&ctx, mark);
		}
	}
}

/*
 * One of npool prefixes: IPv4 and IPv6, and pairs at the same address with
 * another length, so equality must look at family, length and address.
 */
static struct pfx
pool_pfx(unsigned k)
{
	struct pfx	p;
	char		s[64], err[128];

	if (k % 3 == 0)
		snprintf(s, sizeof(s), "192.0.2.%u/32", k / 2);
	else if (k % 3 == 1)
		snprintf(s, sizeof(s), "2001:db8::%x00/%u", k / 2, k % 2 ? 128 : 120);
	else
		snprintf(s, sizeof(s), "198.51.%u.0/%u", k / 2, k % 2 ? 24 : 25);
	cr_assert_eq(pfx_parse(s, &p, err, sizeof(err)), 0, "%s: %s", s, err);
	return p;
}

static char *
xstrdup(const char *s)
{
	char	*d = strdup(s);

	cr_assert_not_null(d);
	return d;
}

/*
 * A random configuration of nsvc services drawing on npool prefixes; when
 * agree, most services share one method and interface, so that shared
 * prefixes are often allowed and the errors come from the few that differ.
 */
static void
random_cfg(struct cfg *cfg, size_t nsvc, unsigned npool, bool agree)
{
	static const char *const ifs[] = { "lo", "dummy0", "eth0" };
	char	name[64];

	memset(cfg, 0, sizeof(*cfg));
	cfg->services = calloc(nsvc ? nsvc : 1, sizeof(*cfg->services));
	cr_assert_not_null(cfg->services);
	cfg->nservices = nsvc;
	for (size_t j = 0; j < nsvc; j++) {
		struct cfg_service *s = &cfg->services[j];

		snprintf(name, sizeof(name), "s%03zu", j);
		s->name = xstrdup(name);
		snprintf(name, sizeof(name), "services.d/s%03zu.json", j);
		s->file = xstrdup(name);
		if (agree && rand() % 8 != 0) {
			s->method = METHOD_BOTH;
			s->interface = xstrdup("lo");
		} else {
			s->method = (enum cfg_method)(rand() % 3);
			s->interface = xstrdup(ifs[rand() % 3]);
		}
		s->nprefixes = (size_t)(rand() % (MAXPFX + 1));
		s->prefixes = calloc(s->nprefixes ? s->nprefixes : 1, sizeof(*s->prefixes));
		cr_assert_not_null(s->prefixes);
		/* Within a service too a prefix may repeat: not this check's business. */
		for (size_t k = 0; k < s->nprefixes; k++)
			s->prefixes[k] = pool_pfx((unsigned)rand() % npool);
	}
}

static void
free_cfg(struct cfg *cfg)
{
	for (size_t j = 0; j < cfg->nservices; j++) {
		free(cfg->services[j].name);
		free(cfg->services[j].file);
		free(cfg->services[j].interface);
		free(cfg->services[j].prefixes);
	}
	free(cfg->services);
}

Test(cfg_shared, same_errors_as_the_pairwise_search)
{
	struct cfg		cfg;
	struct cfg_errors	want, got;
	unsigned		seed = (unsigned)time(NULL), some = 0, none = 0;

	cr_log_info("cfg_shared: seed %u", seed);
	srand(seed);
	for (int round = 0; round < 2000; round++) {
		random_cfg(&cfg, (size_t)(rand() % (MAXSVC + 1)),
		    1 + (unsigned)rand() % 200, rand() % 2 == 0);
		memset(&want, 0, sizeof(want));
		memset(&got, 0, sizeof(got));
		ref_check_shared(&cfg, &want);
		cfg_oom = false;
		cfg_check_shared(&cfg, &got);
		cr_assert(!cfg_oom);
		cr_assert_eq(got.n, want.n, "seed %u round %d: %zu errors, the reference "
		    "%zu", seed, round, got.n, want.n);
		for (size_t i = 0; i < want.n; i++)
			cr_assert_str_eq(got.msgs[i], want.msgs[i], "seed %u round %d, "
			    "error %zu", seed, round, i);
		if (want.n > 0)
			some++;
		else
			none++;
		cfg_errors_clear(&want);
		cfg_errors_clear(&got);
		free_cfg(&cfg);
	}
	/* Both outcomes were exercised, many times. */
	cr_log_info("cfg_shared: %u configurations with errors, %u without", some, none);
	cr_expect_gt(some, 200);
	cr_expect_gt(none, 200);
}

/* 10,000 services sharing nothing but one prefix at the end: found, named once. */
Test(cfg_shared, large_configuration)
{
	struct cfg		cfg;
	struct cfg_errors	want, got;

	memset(&cfg, 0, sizeof(cfg));
	cfg.nservices = 10000;
	cfg.services = calloc(cfg.nservices, sizeof(*cfg.services));
	cr_assert_not_null(cfg.services);
	for (size_t j = 0; j < cfg.nservices; j++) {
		struct cfg_service *s = &cfg.services[j];
		char	 name[64], err[128];

		snprintf(name, sizeof(name), "s%05zu", j);
		s->name = xstrdup(name);
		s->file = xstrdup(name);
		s->interface = xstrdup("lo");
		s->method = j == cfg.nservices - 1 ? METHOD_NETWORK : METHOD_ADDRESS;
		s->nprefixes = 1;
		s->prefixes = calloc(1, sizeof(*s->prefixes));
		cr_assert_not_null(s->prefixes);
		snprintf(name, sizeof(name), "10.%zu.%zu.0/24",
		    j == cfg.nservices - 1 ? 0 : j / 256, j == cfg.nservices - 1 ? 7 : j % 256);
		cr_assert_eq(pfx_parse(name, &s->prefixes[0], err, sizeof(err)), 0);
	}
	memset(&want, 0, sizeof(want));
	memset(&got, 0, sizeof(got));
	cfg_check_shared(&cfg, &got);
	cr_assert_eq(got.n, 1);
	cr_expect_str_eq(got.msgs[0], "s09999: prefixes[0]: 10.0.7.0/24 is in service "
	    "'s00007' with method address and in service 's09999' with method network "
	    "(a shared prefix needs one method)");
	ref_check_shared(&cfg, &want);
	cr_assert_eq(want.n, 1);
	cr_expect_str_eq(got.msgs[0], want.msgs[0]);
	cfg_errors_clear(&want);
	cfg_errors_clear(&got);
	free_cfg(&cfg);
}
