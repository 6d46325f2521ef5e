#include <math.h>
#include <stddef.h>

#include "damp.h"

void
damp_cfg_default(struct damp_cfg *c)
{
	c->enabled = true;
	c->penalty = 1000;
	c->suppress = 2000;
	c->reuse = 750;
	c->half_life_us = 60ULL * 1000000;
	c->max_suppress_us = 600ULL * 1000000;
}

bool
damp_cfg_equal(const struct damp_cfg *a, const struct damp_cfg *b)
{
	return a->enabled == b->enabled && a->penalty == b->penalty &&
	    a->suppress == b->suppress && a->reuse == b->reuse &&
	    a->half_life_us == b->half_life_us &&
	    a->max_suppress_us == b->max_suppress_us;
}

const char *
damp_cfg_check(const struct damp_cfg *c)
{
	if (!c->enabled)
		return NULL;
	if (c->penalty == 0)
		return "penalty must be above 0";
	/* The spec's promise: one failure is never held beyond rise. */
	if (c->penalty >= c->suppress)
		return "penalty must be below suppress (a single fall must not suppress)";
	if (c->reuse == 0 || c->reuse >= c->suppress)
		return "reuse must be above 0 and below suppress";
	if (c->half_life_us < 1000000)
		return "half_life must be at least 1s";
	if (c->max_suppress_us < c->half_life_us)
		return "max_suppress must be at least half_life";
	/* 2^(max/half) must stay a sane double. */
	if (c->max_suppress_us / c->half_life_us > 64)
		return "max_suppress must be at most 64 x half_life";
	return NULL;
}

static double
damp_ceiling(const struct damp_cfg *c)
{
	return c->reuse * exp2((double)c->max_suppress_us / (double)c->half_life_us);
}

double
damp_penalty(const struct damp *d, const struct damp_cfg *c, uint64_t now_us)
{
	if (d->penalty == 0 || now_us <= d->at_us)
		return d->penalty;
	return d->penalty * exp2(-(double)(now_us - d->at_us) / (double)c->half_life_us);
}

bool
damp_fall(struct damp *d, const struct damp_cfg *c, uint64_t now_us)
{
	bool	was = damp_update(d, c, now_us);
	double	ceiling = damp_ceiling(c);

	d->falls++;
	if (!c->enabled)
		return false;
	d->penalty = damp_penalty(d, c, now_us) + c->penalty;
	/* The cap bounds a suppression to max_suppress after the last fall. */
	if (d->penalty > ceiling)
		d->penalty = ceiling;
	d->at_us = now_us;
	if (d->penalty > c->suppress)
		d->suppressed = true;
	return d->suppressed && !was;
}

bool
damp_update(struct damp *d, const struct damp_cfg *c, uint64_t now_us)
{
	if (!c->enabled)
		d->suppressed = false;
	else if (d->suppressed && now_us >= damp_reuse_at(d, c))
		d->suppressed = false;
	return d->suppressed;
}

uint64_t
damp_reuse_at(const struct damp *d, const struct damp_cfg *c)
{
	double	dt;

	if (!c->enabled || !d->suppressed || d->penalty < c->reuse)
		return 0;
	/* penalty x 2^(-t/h) = reuse, plus 1 us so that it is strictly below. */
	dt = (double)c->half_life_us * log2(d->penalty / c->reuse);
	return d->at_us + (uint64_t)ceil(dt) + 1;
}
