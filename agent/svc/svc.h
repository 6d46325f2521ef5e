/*
 * Service state: the one place that applies rise/fall and require.
 *
 * rise and fall count consecutive results of each probe (each probe's run is
 * a round for that probe), so a 20 ms listen probe never waits for a 1 s DNS
 * probe. A service is healthy while at least `require` of its probes are up.
 */
#ifndef AHD_SVC_H
#define AHD_SVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "damp.h"
#include "probe.h"

struct cfg_service;

enum svc_state { SVC_INIT, SVC_UP, SVC_DEGRADED, SVC_DOWN, SVC_DRAINED };
/*
 * How a service's prefixes are announced while it wants them (through the
 * network statement; the address method can only say yes or no). A larger
 * value wins when services sharing a prefix disagree (ann_mode).
 */
enum svc_mode {
	SVC_MODE_PLAIN,		/* `network P` */
	SVC_MODE_DEGRADED,	/* its degraded_route_map: prepend, MED */
	SVC_MODE_GSHUT,		/* draining, still announced: GRACEFUL_SHUTDOWN */
};
enum probe_health { PH_INIT, PH_UP, PH_DOWN };

struct debounce {
	unsigned		ok_streak;
	unsigned		fail_streak;
	enum probe_health	health;
	/*
	 * WARNING is debounced like CRITICAL: a probe is `warned` (its service
	 * degraded, with on_warning "degrade") after `fall` consecutive results
	 * that are not OK, and clear again after `rise` consecutive OK ones.
	 */
	unsigned		clean_streak;
	unsigned		warn_streak;
	bool			warned;
};

/* Feeds one result; returns the probe's health after it. */
enum probe_health svc_debounce(struct debounce *d, bool healthy, unsigned rise,
		    unsigned fall);
/*
 * Feeds one probe result: PROBE_GONE (the kernel says the server process
 * is gone) is a fact, not a symptom that might pass, so it takes the probe
 * down at once; every other result is debounced by rise/fall.
 */
enum probe_health svc_debounce_result(struct debounce *d, enum probe_result r,
		    bool healthy, unsigned rise, unsigned fall);
/*
 * Feeds one result to the WARNING side of d (clean: the result was OK).
 * rose: this result has just taken the probe up from init or down, decided
 * by the results alone (not an adoption): then the rise results that did it
 * decide, warned unless all of them were OK. Otherwise (up, or adopted with
 * the warned flag inherited) rise/fall apply. Returns d->warned.
 */
bool		 svc_debounce_warning(struct debounce *d, bool clean, bool rose,
		    unsigned rise, unsigned fall);
/* The service state implied by n_up probes up and n_init still undecided. */
enum svc_state	 svc_decide(enum svc_state cur, size_t n_up, size_t n_init,
		    unsigned require);
/*
 * An up service with a warned probe (see svc_debounce_warning()) and
 * on_warning "degrade" is degraded (announced through its degraded
 * route-map); back to up when none is.
 */
enum svc_state	 svc_degrade(enum svc_state decided, bool any_warning, int on_warning);
/*
 * The hold after a fall: base_us, doubled from the previous hold when the
 * previous fall was less than 10 x base_us ago (since_prev_us; UINT64_MAX:
 * no previous fall), at most 8 x base_us. 0 when base_us is 0.
 */
uint64_t	 svc_hold_next(uint64_t prev_hold_us, uint64_t base_us, uint64_t since_prev_us);
/* Whether a Nagios state counts as healthy for routing. */
bool		 svc_state_healthy(enum nagios_state s, int on_warning);
const char	*svc_state_str(enum svc_state s);
const char	*probe_health_str(enum probe_health h);

struct svc;
typedef void (*svc_changed_cb)(struct svc *s, void *arg);

struct svc {
	const struct cfg_service *cfg;
	enum svc_state		 state;
	uint64_t		 since_us;	/* CLOCK_REALTIME of the last transition */
	/* CLOCK_MONOTONIC start of the probe attempt (or event) that decided it. */
	uint64_t		 cause_us;
	struct probe		**probes;
	struct debounce		*db;
	/*
	 * Set when the daemon found this service's prefixes announced at start
	 * (on_exit: keep): the first result of each probe decides at once, so a
	 * healthy service is adopted without a withdraw/announce flap.
	 */
	bool			 adopt;
	/*
	 * Drained by the operator: the state is SVC_DRAINED and the probes go
	 * on (so undrain knows at once whether the service is healthy). During
	 * the grace period the prefixes stay announced.
	 */
	bool			 drain_announcing;
	/*
	 * The grace was cut short because the probes found the service
	 * gone: withdrawn as after a fall (SPEC: never announce a service
	 * that is not there).
	 */
	bool			 drain_died;
	sd_event_source		*drain_timer;
	uint64_t		 transitions;	/* state changes since the service was created */
	/*
	 * hold_down: after a fall (up or degraded -> down) the service stays
	 * down until fell_us + hold_us, whatever its probes say.
	 */
	uint64_t		 fell_us;	/* CLOCK_MONOTONIC of the last fall; 0: none */
	uint64_t		 hold_us;
	bool			 hold_logged;	/* the current hold was logged once */
	/*
	 * hold_down applies to leaving degraded as to coming back after a fall:
	 * a service that went up -> degraded stays degraded until degr_us +
	 * degr_hold_us (doubled for repeated degradations like a fall's hold).
	 */
	uint64_t		 degr_us;	/* CLOCK_MONOTONIC of the last up -> degraded; 0: none */
	uint64_t		 degr_hold_us;
	/*
	 * While adopting after a reload of a degraded service: announced
	 * through its degraded route-map until the probes decide.
	 */
	bool			 adopt_degraded;
	sd_event_source		*hold_timer;
	/*
	 * Flap damping (damp.h): fed with every fall the probes show, also
	 * while held or suppressed (raw_up: the probes' verdict, unheld).
	 * A suppression extends the hold above.
	 */
	struct damp		 damp;
	bool			 raw_up;
	sd_event		*ev;
	svc_changed_cb		 changed_cb;
	void			*changed_arg;
};

struct svc	*svc_new(sd_event *ev, const struct cfg_service *cfg,
		    svc_changed_cb cb, void *arg);
void		 svc_free(struct svc *s);
int		 svc_start(struct svc *s);
/* Whether the service's prefixes should be announced in its current state. */
bool		 svc_wants_announce(const struct svc *s);
/*
 * Whether the service is withdrawn because it is not there (down, or dead
 * during a drain grace), not by a plan (drain, reload, stop).
 */
bool		 svc_withdrawn_unplanned(const struct svc *s);
/* Whether they are announced through the degraded route-map. */
bool		 svc_is_degraded(const struct svc *s);
/*
 * How they are announced: a draining service still announced says so
 * (GRACEFUL_SHUTDOWN); a degraded one prepends.
 */
enum svc_mode	 svc_mode(const struct svc *s);
/*
 * Whether its prefixes are to stay announced when a new announcement table
 * takes over (reload, adoption): wanted now, or adopted until its first
 * probe results decide.
 */
bool		 svc_holds_announce(const struct svc *s);
/*
 * A reload replaced old (changed configuration) with s, not started yet:
 * s takes over what the operator and the history set up. A drain stays,
 * with what is left of its grace period; an announced (or adopting)
 * service is adopted, through its degraded route-map if it was degraded;
 * the hold-down history (falls and degradations) carries over. Returns 0,
 * or -errno when the grace timer cannot be armed (drained at once).
 */
int		 svc_inherit(struct svc *s, const struct svc *old);
/*
 * s, not started yet, is announced already (by a previous run or
 * configuration): its first probe results decide up or down at once;
 * degraded says whether it is announced through its degraded route-map,
 * which it then leaves only after rise OK results.
 */
void		 svc_adopt(struct svc *s, bool degraded);
/*
 * Operator maintenance. svc_drain() keeps announcing for grace_us (if the
 * service is announced now), then withdraws; returns 0, or -errno if the
 * grace timer cannot be armed (the service is then drained at once).
 * svc_undrain() returns to the state the probes show now.
 */
int		 svc_drain(struct svc *s, uint64_t grace_us);
void		 svc_undrain(struct svc *s);

#endif
