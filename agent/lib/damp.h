/*
 * Flap damping at the source, after RFC 2439 but applied where the flaps
 * start: each fall of a service adds a penalty that halves every half_life;
 * while it is above `suppress` the prefixes stay withdrawn, and they come
 * back once it has decayed below `reuse` (and the probes say healthy).
 *
 * A neighbour's own route-flap damping would suppress the whole site for up
 * to an hour; a node that damps itself keeps its announcements boring, so
 * upstream damping never triggers. With the defaults one fall (1000) never
 * suppresses, three falls within a couple of half-lives do.
 *
 * Pure functions over a plain struct and a caller-supplied clock (monotonic
 * microseconds), so tests can run ten minutes of flapping in a loop.
 */
#ifndef AHD_DAMP_H
#define AHD_DAMP_H

#include <stdbool.h>
#include <stdint.h>

struct damp_cfg {
	bool		 enabled;
	unsigned	 penalty;	/* added by each fall */
	unsigned	 suppress;	/* above it: suppressed; > penalty */
	unsigned	 reuse;		/* below it: no longer suppressed; < suppress */
	uint64_t	 half_life_us;
	uint64_t	 max_suppress_us;	/* caps the penalty: reuse x 2^(max/half_life) */
};

struct damp {
	double		 penalty;	/* as of at_us */
	uint64_t	 at_us;
	bool		 suppressed;
	uint64_t	 falls;		/* counted since the service was created */
};

/* The shipped defaults: 1000 per fall, suppress 2000, reuse 750, 60 s, 10 min. */
void		 damp_cfg_default(struct damp_cfg *c);
bool		 damp_cfg_equal(const struct damp_cfg *a, const struct damp_cfg *b);
/* NULL if usable, else what is wrong ("reuse must be below suppress"). */
const char	*damp_cfg_check(const struct damp_cfg *c);
/* The penalty decayed to now_us. */
double		 damp_penalty(const struct damp *d, const struct damp_cfg *c, uint64_t now_us);
/* Records a fall at now_us; returns whether it started a suppression. */
bool		 damp_fall(struct damp *d, const struct damp_cfg *c, uint64_t now_us);
/*
 * Whether the service is suppressed at now_us; ends the suppression once
 * the penalty has decayed below reuse.
 */
bool		 damp_update(struct damp *d, const struct damp_cfg *c, uint64_t now_us);
/* When (monotonic us) a suppression ends if no fall comes; 0: not suppressed. */
uint64_t	 damp_reuse_at(const struct damp *d, const struct damp_cfg *c);

#endif
