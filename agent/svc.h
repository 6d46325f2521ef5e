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

#include "probe.h"

struct cfg_service;

enum svc_state { SVC_INIT, SVC_UP, SVC_DEGRADED, SVC_DOWN, SVC_DRAINED };
enum probe_health { PH_INIT, PH_UP, PH_DOWN };

struct debounce {
	unsigned		ok_streak;
	unsigned		fail_streak;
	enum probe_health	health;
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
/* The service state implied by n_up probes up and n_init still undecided. */
enum svc_state	 svc_decide(enum svc_state cur, size_t n_up, size_t n_init,
		    unsigned require);
/* Whether a Nagios state counts as healthy for routing. */
bool		 svc_state_healthy(enum nagios_state s, int on_warning);
const char	*svc_state_str(enum svc_state s);

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
	svc_changed_cb		 changed_cb;
	void			*changed_arg;
};

struct svc	*svc_new(sd_event *ev, const struct cfg_service *cfg,
		    svc_changed_cb cb, void *arg);
void		 svc_free(struct svc *s);
int		 svc_start(struct svc *s);
/* Whether the service's prefixes should be announced in its current state. */
bool		 svc_wants_announce(const struct svc *s);

#endif
