/*
 * What the daemon reports about itself: the status object of
 * `anycast-healthctl status --json` and the Prometheus text of
 * `anycast-healthctl metrics` / metrics_file. Both are read-only views of
 * the services and the announcement table.
 */
#ifndef AHD_STATUS_H
#define AHD_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ann;
struct json_object;
struct svc;

struct frr_stats;

struct status_counters {
	uint64_t	reloads_ok;
	uint64_t	reloads_failed;
	uint64_t	start_us;	/* CLOCK_REALTIME when the daemon started */
	uint64_t	state_writes;		/* state file written (renamed into place) */
	uint64_t	state_write_failures;
	uint64_t	metrics_writes;
	/* Why the last state file write failed; "" once one succeeded. */
	char		state_error[512];
	/* The FRR driver's, NULL while no service needs FRR. */
	const struct frr_stats	*frr;
	bool		frr_failing;	/* the last vtysh call failed */
	bool		frr_verify_failing;	/* the last verification failed */
	/*
	 * The daemon has stopped: the metrics say so (running 0) and keep
	 * only what is still true (prefixes left announced, counters).
	 */
	bool		stopped;
};

/* {"version", "pid", "started", "services": [...]}, see anycast-healthctl(8). */
struct json_object	*status_json(struct svc *const *svcs, size_t n, const struct ann *a,
			    const struct status_counters *sc);
/* node_exporter textfile format; the caller frees it. NULL when out of memory. */
char			*metrics_text(struct svc *const *svcs, size_t n, const struct ann *a,
			    const struct status_counters *sc);
/* The longest a service may stay in init before it counts as broken: rise x its longest interval. */
uint64_t		 status_init_limit_us(const struct svc *s);

#endif
