#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "clock.h"
#include "compiler.h"
#include "ann.h"
#include "cfg.h"
#include "frr.h"
#include "plugin.h"
#include "probe.h"
#include "status.h"
#include "svc.h"
#include "text.h"

static void
iso_time(uint64_t us, char *buf, size_t len)
{
	time_t		t = (time_t)(us / 1000000);
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

uint64_t
status_init_limit_us(const struct svc *s)
{
	uint64_t	longest = s->cfg->interval_us;

	for (size_t i = 0; i < s->cfg->nprobes; i++)
		if (s->cfg->probes[i].interval_us > longest)
			longest = s->cfg->probes[i].interval_us;
	return s->cfg->rise * longest;
}

static bool
prefix_announced(const struct ann *a, const struct pfx *p)
{
	const struct ann_prefix	*ap = ann_lookup(a, p);

	return ap != NULL && ann_prefix_announced(a, ap);
}

/* The damping state as of now: the penalty decays between falls. */
static void
damp_now(const struct svc *s, bool *suppressed, double *penalty, uint64_t *reuse_in_us)
{
	uint64_t	now = now_us(), at = damp_reuse_at(&s->damp, &s->cfg->damping);

	*penalty = damp_penalty(&s->damp, &s->cfg->damping, now);
	*suppressed = at != 0 && now < at;
	*reuse_in_us = *suppressed ? at - now : 0;
}

#define JBOOL(b)	((b) ? "true" : "false")

/*
 * A double as json-c writes it (JSON_C_TO_STRING_PLAIN): "%.17g", ".0" on an
 * integral value; but null for NaN and infinity, which json-c writes as
 * such (not JSON).
 */
static void
put_double(FILE *f, double v)
{
	char	buf[64];

	/* JSON has no NaN or infinity; null keeps the answer parseable. */
	if (!isfinite(v)) {
		fputs("null", f);
		return;
	}
	snprintf(buf, sizeof(buf), "%.17g", v);
	fputs(buf, f);
	if (strpbrk(buf, ".e") == NULL)
		fputs(".0", f);
}

/* ,"key":"value" (or without the comma) */
static void
put_kstr(FILE *f, bool comma, const char *key, const char *val)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", key);
	text_json_str(f, val);
}

static void
damp_text(FILE *f, const struct svc *s)
{
	bool		sup;
	double		pen;
	uint64_t	in;

	damp_now(s, &sup, &pen, &in);
	fprintf(f, "{\"enabled\":%s,\"suppressed\":%s,\"penalty\":",
	    JBOOL(s->cfg->damping.enabled), JBOOL(sup));
	/* Rounded to a whole number; the cast only on a value it can hold. */
	put_double(f, pen >= 0 && pen < 1e15 ? (double)(int64_t)(pen + 0.5) : pen);
	fprintf(f, ",\"suppress\":%d,\"reuse\":%d,\"reuse_in_ms\":%" PRId64 ",\"falls\":%"
	    PRId64 "}", (int)s->cfg->damping.suppress, (int)s->cfg->damping.reuse,
	    (int64_t)(in / 1000), (int64_t)s->damp.falls);
}

static void
probe_text(FILE *f, const struct svc *s, size_t i)
{
	const struct probe	*p = s->probes[i];

	putc('{', f);
	put_kstr(f, false, "name", p->cfg->name);
	put_kstr(f, true, "type", p->cfg->type->name);
	put_kstr(f, true, "state", p->runs ? nagios_state_str(p->state) : "PENDING");
	put_kstr(f, true, "health", probe_health_str(s->db[i].health));
	put_kstr(f, true, "result", p->runs ? probe_result_str(p->result) : "not run yet");
	fputs(",\"latency_ms\":", f);
	put_double(f, (double)p->latency_us / 1000.0);
	/* The thresholds, for status's perfdata; 0: none. */
	fputs(",\"warning_ms\":", f);
	put_double(f, (double)p->cfg->warning_us / 1000.0);
	fputs(",\"critical_ms\":", f);
	put_double(f, (double)p->cfg->critical_us / 1000.0);
	put_kstr(f, true, "message", p->msg);
	fprintf(f, ",\"runs\":%" PRId64 ",\"failures\":%" PRId64 "}", (int64_t)p->runs,
	    (int64_t)p->failures);
}

static void
service_text(FILE *f, const struct svc *s, const struct ann *a)
{
	const struct cfg_service	*c = s->cfg;
	char				 buf[64];

	putc('{', f);
	put_kstr(f, false, "name", c->name);
	put_kstr(f, true, "state", svc_state_str(s->state));
	iso_time(s->since_us, buf, sizeof(buf));
	put_kstr(f, true, "since", buf);
	fputs(",\"since_unix\":", f);
	put_double(f, (double)s->since_us / 1e6);
	fprintf(f, ",\"transitions\":%" PRId64 ",\"announcing\":%s", (int64_t)s->transitions,
	    JBOOL(svc_wants_announce(s)));
	put_kstr(f, true, "method", cfg_method_str(c->method));
	fprintf(f, ",\"rise\":%d,\"fall\":%d,\"init_limit_ms\":%" PRId64 ",\"damping\":",
	    (int)c->rise, (int)c->fall, (int64_t)(status_init_limit_us(s) / 1000));
	damp_text(f, s);
	fputs(",\"prefixes\":[", f);
	for (size_t i = 0; i < c->nprefixes; i++) {
		fputs(i ? ",{" : "{", f);
		put_kstr(f, false, "prefix", pfx_fmt(&c->prefixes[i], buf, sizeof(buf)));
		put_kstr(f, true, "interface", c->interface);
		fprintf(f, ",\"announced\":%s}", JBOOL(prefix_announced(a, &c->prefixes[i])));
	}
	fputs("],\"probes\":[", f);
	for (size_t i = 0; i < c->nprobes; i++) {
		if (i > 0)
			putc(',', f);
		probe_text(f, s, i);
	}
	fputs("]}", f);
}

/* The text made by status_json(), handed to json-c as the object's own serialization. */
struct status_text {
	char	*p;
	size_t	 len;
};

static int
status_serialize(struct json_object *o, struct printbuf *pb, int level UNUSED,
    int flags UNUSED)
{
	struct status_text	*t = json_object_get_userdata(o);

	return printbuf_memappend(pb, t->p, (int)t->len) < 0 ? -1 : 0;
}

static void
status_text_free(struct json_object *o UNUSED, void *arg)
{
	struct status_text	*t = arg;

	free(t->p);
	free(t);
}

/*
 * {"version", ..., "state_file": {"ok", "error", "held_back", "writes",
 * "write_failures"}, "services": [...], "ok": true}: an unwritable state
 * file holds new announcements back (see ann_recorded()).
 */
static void
status_write(FILE *f, struct svc *const *svcs, size_t n, const struct ann *a,
    const struct status_counters *sc)
{
	char	buf[64];

	putc('{', f);
	put_kstr(f, false, "version", PACKAGE_VERSION);
	fprintf(f, ",\"pid\":%d", (int)getpid());
	iso_time(sc->start_us, buf, sizeof(buf));
	put_kstr(f, true, "started", buf);
	fprintf(f, ",\"netlink_errors\":%" PRId64 ",\"state_file\":{\"ok\":%s",
	    (int64_t)a->errors, JBOOL(sc->state_error[0] == '\0'));
	if (sc->state_error[0] != '\0')
		put_kstr(f, true, "error", sc->state_error);
	fprintf(f, ",\"held_back\":%" PRId64 ",\"writes\":%" PRId64 ",\"write_failures\":%"
	    PRId64 "},\"services\":[", (int64_t)ann_waiting(a), (int64_t)sc->state_writes,
	    (int64_t)sc->state_write_failures);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			putc(',', f);
		service_text(f, svcs[i], a);
	}
	fputs("],\"ok\":true}", f);
}

/*
 * Written as text, not built as a json-c tree: 10,000 services were ~450,000
 * objects, 250 ms of the loop per call (malloc, free and strlen), and the
 * first status after a start waited behind it. The object returned carries
 * "ok" (so the control socket adds none) and serializes to the text.
 */
struct json_object *
status_json(struct svc *const *svcs, size_t n, const struct ann *a,
    const struct status_counters *sc)
{
	struct json_object	*o = NULL;
	struct status_text	*t;
	FILE			*f;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if ((f = open_memstream(&t->p, &t->len)) == NULL)
		goto fail;
	status_write(f, svcs, n, a, sc);
	if (fclose(f) != 0 || t->len > INT_MAX || (o = json_object_new_object()) == NULL)
		goto fail;
	json_object_object_add(o, "ok", json_object_new_boolean(true));
	json_object_set_serializer(o, status_serialize, t, status_text_free);
	return o;
fail:
	json_object_put(o);
	free(t->p);
	free(t);
	return NULL;
}

struct buf {
	char	*p;
	size_t	 len, cap;
	bool	 failed;
};

static void
put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct buf *b, const char *fmt, ...)
{
	va_list	ap;
	int	n;
	char	*tmp;

	for (;;) {
		if (b->failed)
			return;
		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if (b->p != NULL && b->len + (size_t)n < b->cap) {
			b->len += (size_t)n;
			return;
		}
		b->cap = (b->cap + (size_t)n + 1) * 2;
		if ((tmp = realloc(b->p, b->cap)) == NULL) {
			b->failed = true;
			return;
		}
		b->p = tmp;
	}
}

/* A label value: backslash, double quote and newline escaped. */
static const char *
esc(const char *s, char *buf, size_t len)
{
	size_t	o = 0;

	for (; *s != '\0' && o + 3 < len; s++) {
		if (*s == '\\' || *s == '"') {
			buf[o++] = '\\';
			buf[o++] = *s;
		} else if (*s == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else
			buf[o++] = *s;
	}
	buf[o] = '\0';
	return buf;
}

static void
help(struct buf *b, const char *name, const char *type, const char *text)
{
	put(b, "# HELP anycast_healthd_%s %s\n# TYPE anycast_healthd_%s %s\n",
	    name, text, name, type);
}

/* How late periodic probe attempts start against their schedule: loop latency. */
static void
metrics_lateness(struct buf *b)
{
	const struct probe_lateness	*l = probe_lateness();
	uint64_t			 cum = 0;

	help(b, "probe_lateness_seconds", "histogram",
	    "How late periodic probe attempts started against their schedule.");
	for (size_t i = 0; i < PROBE_LATENESS_BUCKETS - 1; i++) {
		cum += l->count[i];
		put(b, "anycast_healthd_probe_lateness_seconds_bucket{le=\"%g\"} %llu\n",
		    (double)probe_lateness_le_us[i] / 1e6, (unsigned long long)cum);
	}
	put(b, "anycast_healthd_probe_lateness_seconds_bucket{le=\"+Inf\"} %llu\n",
	    (unsigned long long)l->n);
	put(b, "anycast_healthd_probe_lateness_seconds_sum %.6f\n", (double)l->sum_us / 1e6);
	put(b, "anycast_healthd_probe_lateness_seconds_count %llu\n", (unsigned long long)l->n);
	help(b, "probe_lateness_max_seconds", "gauge",
	    "The latest start of a periodic probe attempt against its schedule.");
	put(b, "anycast_healthd_probe_lateness_max_seconds %.6f\n", (double)l->max_us / 1e6);
}

/* Seconds in fixed notation: promtool and every parser take it. */
static const char *
secs(uint64_t us, char *buf, size_t len)
{
	plugin_num(buf, len, (double)us / 1e6);
	return buf;
}

/*
 * The latency of every timed attempt since the probe was created (a reload
 * of its service resets it); an event-driven report is no attempt.
 */
static void
probe_histogram(struct buf *b, const char *sv, const char *pr, const struct probe *p)
{
	char	le[32];

	for (size_t k = 0; k < PROBE_LAT_BUCKETS; k++)
		put(b, "anycast_healthd_probe_duration_seconds_bucket{service=\"%s\","
		    "probe=\"%s\",le=\"%s\"} %llu\n", sv, pr,
		    secs(probe_lat_bounds_us[k], le, sizeof(le)),
		    (unsigned long long)p->lat_buckets[k]);
	put(b, "anycast_healthd_probe_duration_seconds_bucket{service=\"%s\",probe=\"%s\","
	    "le=\"+Inf\"} %llu\n", sv, pr, (unsigned long long)p->lat_count);
	put(b, "anycast_healthd_probe_duration_seconds_sum{service=\"%s\",probe=\"%s\"} "
	    "%s\n", sv, pr, secs(p->lat_sum_us, le, sizeof(le)));
	put(b, "anycast_healthd_probe_duration_seconds_count{service=\"%s\",probe=\"%s\"} "
	    "%llu\n", sv, pr, (unsigned long long)p->lat_count);
}

static void
frr_metrics(struct buf *b, const struct status_counters *sc)
{
	const struct frr_stats	*fs = sc->frr;

	if (fs == NULL)
		return;
	help(b, "frr_calls_total", "counter", "vtysh calls made by the FRR driver.");
	put(b, "anycast_healthd_frr_calls_total %llu\n", (unsigned long long)fs->calls);
	help(b, "frr_vty_reads_total", "counter",
	    "Read-only FRR calls answered through bgpd's and zebra's vty sockets.");
	put(b, "anycast_healthd_frr_vty_reads_total %llu\n", (unsigned long long)fs->vty_reads);
	help(b, "frr_vty_fallbacks_total", "counter",
	    "Read-only FRR calls the vty sockets could not answer, made through vtysh.");
	put(b, "anycast_healthd_frr_vty_fallbacks_total %llu\n",
	    (unsigned long long)fs->vty_fallbacks);
	help(b, "frr_failures_total", "counter",
	    "Failed vtysh calls: errors, timeouts and read-back mismatches.");
	put(b, "anycast_healthd_frr_failures_total %llu\n", (unsigned long long)fs->failures);
	help(b, "frr_timeouts_total", "counter", "vtysh calls that ran out of time.");
	put(b, "anycast_healthd_frr_timeouts_total %llu\n", (unsigned long long)fs->timeouts);
	help(b, "frr_mismatches_total", "counter",
	    "Read-backs of FRR's running configuration that did not hold what was applied.");
	put(b, "anycast_healthd_frr_mismatches_total %llu\n",
	    (unsigned long long)fs->mismatches);
	help(b, "frr_failing", "gauge", "1 while the last vtysh call failed.");
	put(b, "anycast_healthd_frr_failing %d\n", sc->frr_failing);
	help(b, "frr_verify_failing", "gauge", "1 while the last verification of what bgpd "
	    "announces for the address method failed.");
	put(b, "anycast_healthd_frr_verify_failing %d\n", sc->frr_verify_failing);
}

/* Per service: the state it is in, since when, how often it changed. */
static void
metrics_services(struct buf *b, struct svc *const *svcs, size_t n)
{
	static const enum svc_state states[] = {
		SVC_INIT, SVC_UP, SVC_DEGRADED, SVC_DOWN, SVC_DRAINED
	};
	char		 sv[160], t[32];

	if (n > 0)
		help(b, "service_state", "gauge",
		    "1 for the state the service is in, 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof(states) / sizeof(states[0]); j++)
			put(b, "anycast_healthd_service_state{service=\"%s\",state=\"%s\"} %d\n",
			    esc(svcs[i]->cfg->name, sv, sizeof(sv)), svc_state_str(states[j]),
			    svcs[i]->state == states[j]);
	if (n > 0)
		help(b, "service_state_since_timestamp_seconds", "gauge",
		    "When the service entered its current state (Unix time).");
	for (size_t i = 0; i < n; i++)
		put(b, "anycast_healthd_service_state_since_timestamp_seconds{service=\"%s\"} "
		    "%s\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)),
		    secs(svcs[i]->since_us, t, sizeof(t)));
	if (n > 0)
		help(b, "service_transitions_total", "counter", "State changes of the service.");
	for (size_t i = 0; i < n; i++)
		put(b, "anycast_healthd_service_transitions_total{service=\"%s\"} %llu\n",
		    esc(svcs[i]->cfg->name, sv, sizeof(sv)),
		    (unsigned long long)svcs[i]->transitions);
}

/* Per service (n > 0): flap damping. */
static void
metrics_damping(struct buf *b, struct svc *const *svcs, size_t n)
{
	char		 sv[160], t[32];
	bool		 sup;
	double		 pen;
	uint64_t	 in;

	help(b, "service_damping_suppressed", "gauge",
	    "1 while flap damping keeps the service withdrawn.");
	for (size_t i = 0; i < n; i++) {
		damp_now(svcs[i], &sup, &pen, &in);
		put(b, "anycast_healthd_service_damping_suppressed{service=\"%s\"} %d\n",
		    esc(svcs[i]->cfg->name, sv, sizeof(sv)), sup);
	}
	help(b, "service_damping_penalty", "gauge", "Flap damping penalty, decayed "
	    "to now (suppressed above the suppress threshold).");
	for (size_t i = 0; i < n; i++) {
		damp_now(svcs[i], &sup, &pen, &in);
		put(b, "anycast_healthd_service_damping_penalty{service=\"%s\"} %.0f\n",
		    esc(svcs[i]->cfg->name, sv, sizeof(sv)), pen);
	}
	help(b, "service_damping_reuse_seconds", "gauge", "Time until a suppressed "
	    "service may be announced again; 0 when not suppressed.");
	for (size_t i = 0; i < n; i++) {
		damp_now(svcs[i], &sup, &pen, &in);
		put(b, "anycast_healthd_service_damping_reuse_seconds{service=\"%s\"} "
		    "%s\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)), secs(in, t, sizeof(t)));
	}
}

/* Per probe (n > 0): its last run, the histogram of its runs, its counters. */
static void
metrics_probes(struct buf *b, struct svc *const *svcs, size_t n)
{
	char		 sv[160], pr[160], t[32];

	help(b, "probe_state", "gauge", "Nagios state of the probe's last run: "
	    "0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(b, "anycast_healthd_probe_state{service=\"%s\",probe=\"%s\"} "
			    "%d\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    (int)svcs[i]->probes[j]->state);
	help(b, "probe_latency_seconds", "gauge", "Duration of the probe's last run.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(b, "anycast_healthd_probe_latency_seconds{service=\"%s\","
			    "probe=\"%s\"} %s\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    secs(svcs[i]->probes[j]->latency_us, t, sizeof(t)));
	help(b, "probe_duration_seconds", "histogram",
	    "Duration of every run of the probe.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			probe_histogram(b, esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    svcs[i]->probes[j]);
	help(b, "probe_runs_total", "counter", "Probe runs.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(b, "anycast_healthd_probe_runs_total{service=\"%s\",probe=\"%s\"} "
			    "%llu\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    (unsigned long long)svcs[i]->probes[j]->runs);
	help(b, "probe_failures_total", "counter", "Probe runs that were not OK.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(b, "anycast_healthd_probe_failures_total{service=\"%s\","
			    "probe=\"%s\"} %llu\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    (unsigned long long)svcs[i]->probes[j]->failures);
}

/* The prefixes, and what stands between them and the system: netlink, the state file. */
static void
metrics_prefixes(struct buf *b, const struct ann *a, const struct status_counters *sc)
{
	char		 px[PFX_STRLEN], ifn[64];

	if (a->nprefixes > 0)
		help(b, "prefix_announced", "gauge",
		    "1 while the prefix is announced (its address on the interface and/or "
		    "its network statement in FRR, as the method has it).");
	for (size_t i = 0; i < a->nprefixes; i++)
		put(b, "anycast_healthd_prefix_announced{prefix=\"%s\",interface=\"%s\"} %d\n",
		    pfx_fmt(&a->prefixes[i].pfx, px, sizeof(px)),
		    esc(a->prefixes[i].ifname, ifn, sizeof(ifn)),
		    ann_prefix_announced(a, &a->prefixes[i]));
	help(b, "netlink_errors_total", "counter", "Failed kernel requests.");
	put(b, "anycast_healthd_netlink_errors_total %u\n", a->errors);
	help(b, "state_file_ok", "gauge", "1 while the state file is written, 0 while "
	    "it cannot be (new announcements are then held back).");
	put(b, "anycast_healthd_state_file_ok %d\n", sc->state_error[0] == '\0');
	help(b, "state_file_writes_total", "counter", "State file writes, by result.");
	put(b, "anycast_healthd_state_file_writes_total{result=\"ok\"} %llu\n",
	    (unsigned long long)sc->state_writes);
	put(b, "anycast_healthd_state_file_writes_total{result=\"failed\"} %llu\n",
	    (unsigned long long)sc->state_write_failures);
	help(b, "metrics_file_writes_total", "counter", "Writes of metrics_file.");
	put(b, "anycast_healthd_metrics_file_writes_total %llu\n",
	    (unsigned long long)sc->metrics_writes);
	help(b, "prefixes_held_back", "gauge", "Prefixes that should be announced and "
	    "wait for the state file to list them.");
	put(b, "anycast_healthd_prefixes_held_back %zu\n", ann_waiting(a));
}

char *
metrics_text(struct svc *const *svcs, size_t n, const struct ann *a,
    const struct status_counters *sc)
{
	struct buf	 b = { 0 };
	char		 t[32];

	help(&b, "build_info", "gauge", "Version of the running daemon.");
	put(&b, "anycast_healthd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	help(&b, "running", "gauge",
	    "1 while the daemon runs; 0 in the metrics file a clean stop leaves behind.");
	put(&b, "anycast_healthd_running %d\n", !sc->stopped);
	help(&b, "start_time_seconds", "gauge", "When the daemon started (Unix time).");
	put(&b, "anycast_healthd_start_time_seconds %s\n", secs(sc->start_us, t, sizeof(t)));
	/* Stopped: no service has a state any more; the prefixes say what is left. */
	if (sc->stopped)
		n = 0;
	metrics_services(&b, svcs, n);
	if (n > 0) {
		metrics_damping(&b, svcs, n);
		metrics_probes(&b, svcs, n);
	}
	metrics_lateness(&b);
	metrics_prefixes(&b, a, sc);
	frr_metrics(&b, sc);
	help(&b, "reloads_total", "counter", "Configuration reloads, by result.");
	put(&b, "anycast_healthd_reloads_total{result=\"ok\"} %llu\n",
	    (unsigned long long)sc->reloads_ok);
	put(&b, "anycast_healthd_reloads_total{result=\"failed\"} %llu\n",
	    (unsigned long long)sc->reloads_failed);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
