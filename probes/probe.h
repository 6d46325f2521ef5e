/*
 * Probe engine. Each probe type (probes/X.c) is a non-blocking state machine
 * on the event loop; every attempt, however it ends, reports through exactly
 * one probe_done(), the one sink of a finished attempt. The engine owns
 * scheduling (interval with jitter), the hard timeout, and the one mapping
 * from results to Nagios states.
 */
#ifndef AHD_PROBE_H
#define AHD_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "cfg.h"

struct cfg_ctx;
struct cfg_probe;
struct json_object;
struct probe;

/* What happened, precisely. probe_nagios() turns it into a Nagios state. */
enum probe_result {
	PROBE_OK,
	PROBE_CONN_REFUSED,	/* RST to our SYN: nothing listens */
	PROBE_CONN_FAILED,	/* any other connect error (unreachable, ...) */
	PROBE_TIMEOUT,		/* the hard timeout fired */
	PROBE_SEND_FAILED,
	PROBE_RECV_FAILED,
	PROBE_CLOSED,		/* peer closed before the expected data came */
	PROBE_EXPECT_MISMATCH,	/* an answer came, but not the one expected */
	PROBE_INTERNAL,		/* our own failure (socket(), memory): UNKNOWN */
	PROBE_HTTP_STATUS,	/* an HTTP status not in expect_status */
	PROBE_HTTP_FAILED,	/* any other failed HTTP transfer (protocol error, ...) */
	PROBE_TLS_FAILED,	/* handshake or verification failed */
	PROBE_CERT_EXPIRING,	/* served certificate expires within cert_min_days: WARNING */
	PROBE_CERT_EXPIRED,	/* served certificate has expired */
	PROBE_DNS_RCODE,	/* the server answered with another RCODE */
	PROBE_DNS_ANSWER,	/* the answer section is not the one expected */
	PROBE_DNS_NOT_AA,	/* authoritative answer required, AA not set */
	PROBE_DNS_MALFORMED,	/* a reply to our query that does not parse */
	PROBE_EXEC_WARNING,	/* the plugin exited 1 */
	PROBE_EXEC_CRITICAL,	/* the plugin exited 2 */
	PROBE_EXEC_UNKNOWN,	/* the plugin exited 3 */
	PROBE_EXEC_BAD_EXIT,	/* the plugin exited with a code outside 0-3 */
	PROBE_EXEC_SIGNALED,	/* the plugin was killed by a signal (not ours) */
	PROBE_EXEC_FAILED,	/* the plugin could not be started */
	PROBE_GONE,		/* the server process is gone: down at once, no fall */
	PROBE_BAD_PIDFILE,	/* the pidfile does not hold a pid */
	PROBE_NOT_LISTENING,	/* the kernel has no such socket bound/listening */
	PROBE_RESULT_MAX
};

enum nagios_state {
	NAGIOS_OK = 0,
	NAGIOS_WARNING = 1,
	NAGIOS_CRITICAL = 2,
	NAGIOS_UNKNOWN = 3,
};

/*
 * A probe type: its configuration side (name, keys, parser: registered
 * with cfg by probe_types_register()) first, then the engine's operations.
 */
struct probe_type {
	struct cfg_probe_type	 cfg;
	/* Begins one attempt; ends with exactly one probe_done(), possibly before returning. */
	void			(*start)(struct probe *p);
	/* Drops an attempt in flight (timeout, shutdown); no probe_done() follows. */
	void			(*abort)(struct probe *p);
	/*
	 * Optional: long-lived resources kept across attempts (a netlink socket,
	 * a pidfd and its watches) in p->held. open runs before the first
	 * attempt (0, or -1 with err: that attempt is UNKNOWN and the next one
	 * tries again); close runs when the probe is freed.
	 */
	int			(*open)(struct probe *p, char *err, size_t errlen);
	void			(*close)(struct probe *p);
};

typedef void (*probe_done_cb)(struct probe *p, void *arg);

/* Upper bounds of the latency histogram's buckets (+Inf is lat_count). */
#define PROBE_LAT_BUCKETS	15
extern const uint64_t probe_lat_bounds_us[PROBE_LAT_BUCKETS];

struct probe {
	const struct cfg_probe	*cfg;
	sd_event		*ev;
	probe_done_cb		 done_cb;
	void			*done_arg;
	sd_event_source		*timer;		/* next attempt */
	sd_event_source		*deadline;	/* hard timeout of the attempt in flight */
	void			*run;		/* the type's per-attempt state */
	void			*held;		/* the type's long-lived state (open..close) */
	bool			 opened;
	bool			 running;
	bool			 periodic;
	bool			 rearm_fallback;	/* the deadline source carries the next attempt */
	unsigned		 rearm_failures;	/* the periodic timer could not be armed */
	uint64_t		 started_us;	/* CLOCK_MONOTONIC */
	/*
	 * Attempts in the latency histogram (lat_buckets): runs but for
	 * PROBE_DONE_EVENT reports, which are a wake-up, not a 0 s attempt.
	 */
	uint64_t		 lat_count;
	/* How late the last periodic start was against its timer, and the worst so far. */
	uint64_t		 late_us;
	uint64_t		 late_max_us;
	uint64_t		 due_us;	/* when the last periodic attempt was due */
	uint64_t		 slot_us;	/* the shared wake-up the timer holds (0: none) */
	/* The last completed attempt. */
	enum probe_result	 result;
	enum nagios_state	 state;
	uint64_t		 latency_us;
	char			 msg[256];	/* valid UTF-8, cut between characters */
	/*
	 * Performance data the attempt reported (exec: after '|'), validated
	 * and whole items only (plugin_perf_parse()), "" if none; perf_note
	 * says what was dropped, "" if nothing. Both on the heap only when
	 * not empty: most probes have none, and 8 KiB a probe would be four
	 * times the memory a service may cost.
	 */
	char			*perfdata;
	char			*perf_note;
	uint64_t		 runs;
	uint64_t		 failures;	/* attempts not OK */
	/* Every attempt's latency, for the metrics' histogram. */
	uint64_t		 lat_buckets[PROBE_LAT_BUCKETS];	/* cumulative */
	uint64_t		 lat_sum_us;
	/*
	 * CLOCK_MONOTONIC start of the first attempt postponed because the
	 * process was out of descriptors (0: none): not a result, retried
	 * shortly, for at most one interval.
	 */
	uint64_t		 starved_us;
	uint64_t		 starved;	/* attempts postponed so, since start */
};

/*
 * How late periodic attempts started against their schedule, over every
 * probe since the start: a histogram (bucket i counts lateness up to
 * probe_lateness_le_us[i]; the last bucket is everything above) and the worst.
 */
#define PROBE_LATENESS_BUCKETS	11
extern const uint64_t probe_lateness_le_us[PROBE_LATENESS_BUCKETS - 1];
struct probe_lateness {
	uint64_t	 count[PROBE_LATENESS_BUCKETS];
	uint64_t	 n;
	uint64_t	 sum_us;
	uint64_t	 max_us;
};
const struct probe_lateness *probe_lateness(void);

/*
 * Wake-ups shared between probes: a periodic attempt joins a grid slot of
 * its jitter window where fewer than PROBE_SLOT_MAX attempts are due.
 * probe_slot_count() says how many timers are armed for time t (tests).
 */
#define PROBE_SLOT_MAX	12
uint64_t	 probe_slot_count(uint64_t t);

struct probe	*probe_new(sd_event *ev, const struct cfg_probe *cfg,
		    probe_done_cb cb, void *arg);
void		 probe_free(struct probe *p);
/* Runs periodically, the first attempt after a random part of one jitter span. */
int		 probe_schedule(struct probe *p);
/* Runs one attempt now (check mode, tests). */
void		 probe_run_once(struct probe *p);

/*
 * How an attempt ends, for probe_done(): 0 for a plain end, or
 * PROBE_DONE_ABORT: the type's abort() releases the attempt's state; the
 *	message is formatted first (it may quote that state), then the state
 *	is released, then the result recorded (whose callee may start the
 *	next attempt).
 * PROBE_DONE_EVENT: an event-driven type heard from the kernel that the
 *	service is gone: the result is reported at once, outside the schedule
 *	(an attempt in flight is dropped, then a zero-length attempt starting
 *	now carries the result, and stays out of the latency histogram); the
 *	periodic attempts go on from now. It implies the abort of whatever
 *	was in flight; with PROBE_DONE_ABORT as well, abort() still runs once.
 */
#define PROBE_DONE_ABORT	0x1
#define PROBE_DONE_EVENT	0x2

/*
 * The one sink of a finished attempt (relayd's hce_notify_done()): every
 * probe type ends every attempt here, exactly once, however it ends.
 * perfdata is the performance data the attempt reported (exec: after '|'),
 * NULL for none; how is 0 or PROBE_DONE_* above.
 */
void		 probe_done(struct probe *p, enum probe_result r, unsigned how,
		    const char *perfdata, const char *fmt, ...)
		    __attribute__((format(printf, 5, 6)));

/* The one mapping from a result and its latency to a Nagios state. */
enum nagios_state probe_nagios(enum probe_result r, uint64_t latency_us,
		    const struct cfg_probe *cfg);
const char	*probe_result_str(enum probe_result r);
const char	*nagios_state_str(enum nagios_state s);
const struct probe_type *probe_type_find(const char *name);
/* Registers every probe type with cfg: before the first cfg_load(). */
void		 probe_types_register(void);
/* The type of a configured probe (cfg keeps the configuration side only). */
static inline const struct probe_type *
probe_type_of(const struct cfg_probe *c)
{
	return (const struct probe_type *)(const void *)c->type;
}
/* For tests: the next N re-arms of a periodic timer fail (as when out of memory). */
extern unsigned	probe_test_arm_failures;

#endif
