/*
 * Durations: parsed from "250ms", "1.5s" and the like, formatted back for
 * messages, and the interval/timeout rule shared by defaults, services and
 * probes.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "cfg.h"
#include "cfg_int.h"

#define MIN_INTERVAL_US		(10 * US_PER_MS)

int
cfg_duration_parse(const char *s, uint64_t *us, char *err, size_t errlen)
{
	static const struct {
		const char	*name;
		uint64_t	 us;
	} units[] = {
		{ "us", 1 }, { "ms", US_PER_MS }, { "s", US_PER_S },
		{ "m", US_PER_M }, { "h", US_PER_H },
	};
	const char	*p = s;
	uint64_t	 whole = 0, frac = 0, denom = 1, mult = 0, v, f;
	int		 nfrac = 0;

	if (s[0] == '\0') {
		snprintf(err, errlen, "empty duration (write e.g. \"250ms\" or \"2s\")");
		return -1;
	}
	if (s[0] == '-') {
		snprintf(err, errlen, "'%s' is negative", s);
		return -1;
	}
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			goto overflow;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			goto bad;
		/* Nine decimals keep frac * mult within 64 bits for every unit. */
		for (; isdigit((unsigned char)*p); p++) {
			if (nfrac == 9) {
				if (*p != '0')
					goto fine;
				continue;
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			denom *= 10;
			nfrac++;
		}
	}
	if (*p == '\0') {
		snprintf(err, errlen, "'%s' has no unit (us, ms, s, m or h)", s);
		return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].name) == 0)
			mult = units[i].us;
	if (mult == 0) {
		snprintf(err, errlen, "'%s' has an unknown unit '%s' (us, ms, s, m or h)",
		    s, p);
		return -1;
	}
	if (whole > UINT64_MAX / mult)
		goto overflow;
	f = frac * mult;
	if (f % denom != 0)
		goto fine;
	v = whole * mult;
	if (v > UINT64_MAX - f / denom || v + f / denom > CFG_MAX_DURATION_US)
		goto overflow;
	*us = v + f / denom;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a duration (write e.g. \"250ms\", \"2s\", "
	    "\"1m\")", s);
	return -1;
overflow:
	snprintf(err, errlen, "'%s' is too long (at most 24h)", s);
	return -1;
fine:
	snprintf(err, errlen, "'%s' is finer than a microsecond", s);
	return -1;
}

/* Whole and fraction, the fraction without trailing zeros: "1.5" from 1, 500000, 6. */
static void
fmt_fraction(char *buf, size_t buflen, uint64_t whole, uint64_t frac, int digits,
    const char *unit)
{
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, buflen, "%" PRIu64 ".%0*" PRIu64 "%s", whole, digits, frac, unit);
}

const char *
cfg_duration_fmt(uint64_t us, char *buf, size_t buflen)
{
	if (us == 0)
		snprintf(buf, buflen, "0s");
	else if (us % US_PER_H == 0)
		snprintf(buf, buflen, "%" PRIu64 "h", us / US_PER_H);
	else if (us % US_PER_M == 0)
		snprintf(buf, buflen, "%" PRIu64 "m", us / US_PER_M);
	else if (us % US_PER_S == 0)
		snprintf(buf, buflen, "%" PRIu64 "s", us / US_PER_S);
	else if (us >= US_PER_S)
		fmt_fraction(buf, buflen, us / US_PER_S, us % US_PER_S, 6, "s");
	else if (us % US_PER_MS == 0)
		snprintf(buf, buflen, "%" PRIu64 "ms", us / US_PER_MS);
	else if (us >= US_PER_MS)
		fmt_fraction(buf, buflen, us / US_PER_MS, us % US_PER_MS, 3, "ms");
	else
		snprintf(buf, buflen, "%" PRIu64 "us", us);
	return buf;
}

/* A probe's or service's interval and timeout, checked where they were set. */
void
cfg_check_timing(struct cfg_ctx *ctx, uint64_t interval, uint64_t timeout, int interval_r,
    int timeout_r)
{
	char	a[32], b[32];

	if (interval_r == 1 && interval < MIN_INTERVAL_US) {
		cfg_error(ctx, "interval", "%s is too short (at least %s)",
		    cfg_duration_fmt(interval, a, sizeof(a)),
		    cfg_duration_fmt(MIN_INTERVAL_US, b, sizeof(b)));
		return;
	}
	if (timeout_r == 1 && timeout == 0) {
		cfg_error(ctx, "timeout", "must be more than 0");
		return;
	}
	if (interval_r == -1 || timeout_r == -1 || (interval_r == 0 && timeout_r == 0))
		return;
	if (timeout > interval)
		cfg_error(ctx, timeout_r == 1 ? "timeout" : "interval",
		    "timeout %s exceeds interval %s (an attempt must end before "
		    "the next one starts)", cfg_duration_fmt(timeout, a, sizeof(a)),
		    cfg_duration_fmt(interval, b, sizeof(b)));
}
