#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ann.h"
#include "cfg.h"
#include "probe.h"
#include "status.h"
#include "svc.h"

static const char *const method_names[] = { "address", "network", "both" };

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

static struct json_object *
service_json(const struct svc *s, const struct ann *a)
{
	const struct cfg_service	*c = s->cfg;
	struct json_object		*o, *arr, *e;
	char				 buf[64];

	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(c->name));
	json_object_object_add(o, "state", json_object_new_string(svc_state_str(s->state)));
	iso_time(s->since_us, buf, sizeof(buf));
	json_object_object_add(o, "since", json_object_new_string(buf));
	json_object_object_add(o, "since_unix", json_object_new_double(
	    (double)s->since_us / 1e6));
	json_object_object_add(o, "transitions", json_object_new_int64(
	    (int64_t)s->transitions));
	json_object_object_add(o, "announcing", json_object_new_boolean(
	    svc_wants_announce(s)));
	json_object_object_add(o, "method", json_object_new_string(method_names[c->method]));
	json_object_object_add(o, "rise", json_object_new_int((int)c->rise));
	json_object_object_add(o, "fall", json_object_new_int((int)c->fall));
	json_object_object_add(o, "init_limit_ms", json_object_new_int64(
	    (int64_t)(status_init_limit_us(s) / 1000)));
	arr = json_object_new_array();
	for (size_t i = 0; i < c->nprefixes; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "prefix", json_object_new_string(
		    pfx_fmt(&c->prefixes[i], buf, sizeof(buf))));
		json_object_object_add(e, "interface", json_object_new_string(c->interface));
		json_object_object_add(e, "announced", json_object_new_boolean(
		    prefix_announced(a, &c->prefixes[i])));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "prefixes", arr);
	arr = json_object_new_array();
	for (size_t i = 0; i < c->nprobes; i++) {
		const struct probe *p = s->probes[i];
		e = json_object_new_object();
		json_object_object_add(e, "name", json_object_new_string(p->cfg->name));
		json_object_object_add(e, "type", json_object_new_string(p->cfg->type->name));
		json_object_object_add(e, "state", json_object_new_string(
		    p->runs ? nagios_state_str(p->state) : "PENDING"));
		json_object_object_add(e, "health", json_object_new_string(
		    probe_health_str(s->db[i].health)));
		json_object_object_add(e, "result", json_object_new_string(
		    p->runs ? probe_result_str(p->result) : "not run yet"));
		json_object_object_add(e, "latency_ms", json_object_new_double(
		    (double)p->latency_us / 1000.0));
		json_object_object_add(e, "message", json_object_new_string(p->msg));
		json_object_object_add(e, "runs", json_object_new_int64((int64_t)p->runs));
		json_object_object_add(e, "failures", json_object_new_int64(
		    (int64_t)p->failures));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "probes", arr);
	return o;
}

struct json_object *
status_json(struct svc *const *svcs, size_t n, const struct ann *a,
    const struct status_counters *sc)
{
	struct json_object	*o, *arr;
	char			 buf[64];

	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	iso_time(sc->start_us, buf, sizeof(buf));
	json_object_object_add(o, "started", json_object_new_string(buf));
	json_object_object_add(o, "netlink_errors", json_object_new_int64(
	    (int64_t)a->errors));
	arr = json_object_new_array();
	for (size_t i = 0; i < n; i++)
		json_object_array_add(arr, service_json(svcs[i], a));
	json_object_object_add(o, "services", arr);
	return o;
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

char *
metrics_text(struct svc *const *svcs, size_t n, const struct ann *a,
    const struct status_counters *sc)
{
	static const enum svc_state states[] = {
		SVC_INIT, SVC_UP, SVC_DEGRADED, SVC_DOWN, SVC_DRAINED
	};
	struct buf	 b = { 0 };
	char		 sv[160], pr[160], px[PFX_STRLEN], ifn[64];

	help(&b, "build_info", "gauge", "Version of the running daemon.");
	put(&b, "anycast_healthd_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	help(&b, "start_time_seconds", "gauge", "When the daemon started (Unix time).");
	put(&b, "anycast_healthd_start_time_seconds %.3f\n", (double)sc->start_us / 1e6);
	help(&b, "service_state", "gauge", "1 for the state the service is in, 0 for the others.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < sizeof(states) / sizeof(states[0]); j++)
			put(&b, "anycast_healthd_service_state{service=\"%s\",state=\"%s\"} %d\n",
			    esc(svcs[i]->cfg->name, sv, sizeof(sv)), svc_state_str(states[j]),
			    svcs[i]->state == states[j]);
	help(&b, "service_state_since_seconds", "gauge",
	    "When the service entered its current state (Unix time).");
	for (size_t i = 0; i < n; i++)
		put(&b, "anycast_healthd_service_state_since_seconds{service=\"%s\"} %.3f\n",
		    esc(svcs[i]->cfg->name, sv, sizeof(sv)), (double)svcs[i]->since_us / 1e6);
	help(&b, "service_transitions_total", "counter", "State changes of the service.");
	for (size_t i = 0; i < n; i++)
		put(&b, "anycast_healthd_service_transitions_total{service=\"%s\"} %llu\n",
		    esc(svcs[i]->cfg->name, sv, sizeof(sv)),
		    (unsigned long long)svcs[i]->transitions);
	help(&b, "probe_state", "gauge",
	    "Nagios state of the probe's last run: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(&b, "anycast_healthd_probe_state{service=\"%s\",probe=\"%s\"} %d\n",
			    esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    (int)svcs[i]->probes[j]->state);
	help(&b, "probe_latency_seconds", "gauge", "Duration of the probe's last run.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(&b, "anycast_healthd_probe_latency_seconds{service=\"%s\",probe=\"%s\"} "
			    "%.6f\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    (double)svcs[i]->probes[j]->latency_us / 1e6);
	help(&b, "probe_runs_total", "counter", "Probe runs.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(&b, "anycast_healthd_probe_runs_total{service=\"%s\",probe=\"%s\"} %llu\n",
			    esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    (unsigned long long)svcs[i]->probes[j]->runs);
	help(&b, "probe_failures_total", "counter", "Probe runs that were not OK.");
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < svcs[i]->cfg->nprobes; j++)
			put(&b, "anycast_healthd_probe_failures_total{service=\"%s\",probe=\"%s\"} "
			    "%llu\n", esc(svcs[i]->cfg->name, sv, sizeof(sv)),
			    esc(svcs[i]->probes[j]->cfg->name, pr, sizeof(pr)),
			    (unsigned long long)svcs[i]->probes[j]->failures);
	metrics_lateness(&b);
	help(&b, "prefix_announced", "gauge",
	    "1 while the prefix is announced (its address on the interface and/or "
	    "its network statement in FRR, as the method has it).");
	for (size_t i = 0; i < a->nprefixes; i++)
		put(&b, "anycast_healthd_prefix_announced{prefix=\"%s\",interface=\"%s\"} %d\n",
		    pfx_fmt(&a->prefixes[i].pfx, px, sizeof(px)),
		    esc(a->prefixes[i].ifname, ifn, sizeof(ifn)),
		    ann_prefix_announced(a, &a->prefixes[i]));
	help(&b, "netlink_errors_total", "counter", "Failed kernel requests.");
	put(&b, "anycast_healthd_netlink_errors_total %u\n", a->errors);
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
