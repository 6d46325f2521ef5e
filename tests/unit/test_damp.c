/* Flap damping at the source: pure functions driven by a fake clock. */
#include <criterion/criterion.h>
#include <math.h>

#include "damp.h"

#define S	1000000ULL

/*
 * A service's route as the upstream sees it, with the rules svc.c applies:
 * a fall withdraws at once (and feeds damp_fall), a recovery announces after
 * `rise` seconds of health unless damping suppresses it. Returns the number
 * of announce/withdraw changes.
 */
struct sim {
	struct damp	d;
	bool		announced;	/* what the upstream sees */
	bool		healthy;	/* what the probes say */
	uint64_t	healthy_since;
	unsigned	changes;
};

static void
sim_step(struct sim *m, const struct damp_cfg *c, uint64_t now, bool healthy,
    uint64_t rise_us)
{
	if (m->healthy && !healthy) {
		damp_fall(&m->d, c, now);
		if (m->announced) {
			m->announced = false;
			m->changes++;
		}
	}
	if (!m->healthy && healthy)
		m->healthy_since = now;
	m->healthy = healthy;
	if (healthy && !m->announced && now - m->healthy_since >= rise_us &&
	    !damp_update(&m->d, c, now)) {
		m->announced = true;
		m->changes++;
	}
}

Test(damp, defaults_are_valid_and_spec_shaped)
{
	struct damp_cfg	c;

	damp_cfg_default(&c);
	cr_assert(c.enabled);
	cr_assert_null(damp_cfg_check(&c));
	cr_assert_lt(c.penalty, c.suppress);
	cr_assert_lt(c.reuse, c.suppress);
}

Test(damp, bad_settings_are_refused)
{
	struct damp_cfg	c;

	damp_cfg_default(&c);
	c.suppress = c.penalty;
	cr_assert_not_null(damp_cfg_check(&c), "one fall would suppress");
	damp_cfg_default(&c);
	c.reuse = c.suppress;
	cr_assert_not_null(damp_cfg_check(&c));
	damp_cfg_default(&c);
	c.half_life_us = 0;
	cr_assert_not_null(damp_cfg_check(&c));
	damp_cfg_default(&c);
	c.max_suppress_us = c.half_life_us / 2;
	cr_assert_not_null(damp_cfg_check(&c));
	damp_cfg_default(&c);
	c.max_suppress_us = 100 * c.half_life_us;
	cr_assert_not_null(damp_cfg_check(&c));
	damp_cfg_default(&c);
	c.enabled = false;
	c.reuse = 0;
	cr_assert_null(damp_cfg_check(&c), "off: the numbers do not matter");
}

Test(damp, penalty_halves_every_half_life)
{
	struct damp_cfg	c;
	struct damp	d = { 0 };

	damp_cfg_default(&c);
	cr_assert_not(damp_fall(&d, &c, 10 * S));
	cr_assert_float_eq(damp_penalty(&d, &c, 10 * S), 1000, 1e-6);
	cr_assert_float_eq(damp_penalty(&d, &c, 10 * S + c.half_life_us), 500, 1e-6);
	cr_assert_float_eq(damp_penalty(&d, &c, 10 * S + 2 * c.half_life_us), 250, 1e-6);
	cr_assert_eq(d.falls, 1);
}

Test(damp, single_fall_never_suppresses)
{
	struct damp_cfg	c;
	struct damp	d = { 0 };

	damp_cfg_default(&c);
	cr_assert_not(damp_fall(&d, &c, S));
	cr_assert_not(damp_update(&d, &c, S));
	cr_assert_eq(damp_reuse_at(&d, &c), 0);
	/* Another single fall much later: the first has decayed away. */
	cr_assert_not(damp_fall(&d, &c, S + 10 * c.half_life_us));
	cr_assert_not(damp_update(&d, &c, S + 10 * c.half_life_us));
}

Test(damp, single_failure_is_not_delayed_beyond_rise)
{
	struct damp_cfg	c;
	struct sim	m = { .healthy = true, .announced = true };
	uint64_t	t;

	damp_cfg_default(&c);
	/* Fails at 100 s, healthy again at 105 s, rise 3 s: back at 108 s. */
	for (t = 100 * S; t <= 120 * S; t += S / 10) {
		sim_step(&m, &c, t, t < 100 * S || t >= 105 * S, 3 * S);
		if (t >= 108 * S)
			cr_assert(m.announced, "still withdrawn at %.1f s", t / 1e6);
		else if (t >= 100 * S)
			cr_assert_not(m.announced);
	}
	cr_assert_eq(m.changes, 2);
}

Test(damp, third_quick_fall_suppresses_until_reuse)
{
	struct damp_cfg	c;
	struct damp	d = { 0 };
	uint64_t	at, t;

	damp_cfg_default(&c);
	cr_assert_not(damp_fall(&d, &c, 0));
	cr_assert_not(damp_fall(&d, &c, 5 * S));
	cr_assert(damp_fall(&d, &c, 10 * S), "penalty %.0f", d.penalty);
	cr_assert(damp_update(&d, &c, 11 * S));
	at = damp_reuse_at(&d, &c);
	t = (uint64_t)(c.half_life_us * log2(d.penalty / c.reuse));
	cr_assert(at >= 10 * S + t && at <= 10 * S + t + 2, "reuse at %llu",
	    (unsigned long long)at);
	cr_assert(damp_update(&d, &c, at - 1));
	cr_assert_lt(damp_penalty(&d, &c, at), c.reuse);
	cr_assert_not(damp_update(&d, &c, at));
	cr_assert_eq(damp_reuse_at(&d, &c), 0);
}

Test(damp, max_suppress_caps_the_penalty)
{
	struct damp_cfg	c;
	struct damp	d = { 0 };
	uint64_t	t;

	damp_cfg_default(&c);
	/* An hour of falls every second: never longer than max_suppress after the last. */
	for (t = 0; t < 3600 * S; t += S)
		damp_fall(&d, &c, t);
	t -= S;
	cr_assert(d.suppressed);
	cr_assert_leq(damp_reuse_at(&d, &c), t + c.max_suppress_us + 2);
	/* With a short half-life the cap binds: exactly max_suppress. */
	c.half_life_us = 10 * S;
	c.max_suppress_us = 20 * S;
	d = (struct damp){ 0 };
	for (t = 0; t < 600 * S; t += S)
		damp_fall(&d, &c, t);
	t -= S;
	cr_assert_float_eq(d.penalty, 4.0 * c.reuse, 1e-6);
	cr_assert_leq(damp_reuse_at(&d, &c), t + c.max_suppress_us + 2);
	cr_assert_geq(damp_reuse_at(&d, &c), t + c.max_suppress_us);
}

Test(damp, disabled_never_suppresses)
{
	struct damp_cfg	c;
	struct damp	d = { 0 };

	damp_cfg_default(&c);
	c.enabled = false;
	for (uint64_t t = 0; t < 100 * S; t += S)
		cr_assert_not(damp_fall(&d, &c, t));
	cr_assert_not(damp_update(&d, &c, 100 * S));
	cr_assert_eq(d.falls, 100);
}

/*
 * The spec's bound: with the shipped defaults a service killed and restarted
 * every second for 10 minutes changes its route upstream at most 6 times.
 * The service is down for 0.5 s of every second; with rise 1 (the most
 * eager) it would be announced again each time if nothing damped it.
 */
Test(damp, ten_minutes_of_flapping_change_the_route_at_most_6_times)
{
	struct damp_cfg	c;
	struct sim	m = { .healthy = true, .announced = true };
	struct sim	off = { .healthy = true, .announced = true };
	struct damp_cfg	none;
	uint64_t	t, end = 600 * S, step = S / 100;

	damp_cfg_default(&c);
	none = c;
	none.enabled = false;
	for (t = S; t < end; t += step) {
		bool up = (t / (S / 2)) % 2 == 0;
		sim_step(&m, &c, t, up, 0);
		sim_step(&off, &none, t, up, 0);
	}
	cr_assert_leq(m.changes, 6, "%u route changes in 10 min", m.changes);
	cr_assert_geq(off.changes, 1000, "without damping: %u", off.changes);
	cr_assert_not(m.announced, "still suppressed at the end of the flapping");
	/* Healthy from then on: it comes back once, within max_suppress. */
	for (; t < end + c.max_suppress_us + S; t += step)
		sim_step(&m, &c, t, true, 0);
	cr_assert(m.announced);
	cr_assert_leq(m.changes, 6, "%u route changes in all", m.changes);
}
