#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "ann.h"
#include "cfg.h"
#include "ctl.h"
#include "daemon.h"
#include "frr.h"
#include "log.h"
#include "nl.h"
#include "probe.h"
#include "state.h"
#include "status.h"
#include "svc.h"

/* How often the kernel's addresses are compared with the desired state. */
#define RECONCILE_INTERVAL_US	(5 * 1000000ULL)

/*
 * A loaded configuration. Services and probes keep pointers into the cfg
 * they were created from, so a reload that keeps a service keeps its cfg
 * alive: a generation is freed once it is not the current one and no
 * service points into it.
 */
struct gen {
	struct cfg	*cfg;
	unsigned	 refs;		/* services created from it */
	struct gen	*next;
};

struct daemon {
	struct gen		 *gens;
	struct gen		 *cur;
	struct cfg		 *cfg;		/* cur->cfg: global settings, service order */
	sd_event		 *ev;
	struct nl		 *nl;
	struct ann		 *ann;
	struct svc		**svcs;		/* by index into cfg->services */
	struct gen		**svc_gen;	/* where each service's cfg lives */
	struct ctl		 *ctl;
	struct frr		 *frr;		/* NULL until a service uses network or both */
	sd_event_source		 *reconcile;
	sd_event_source		 *begin;	/* bounds the wait for FRR's first read */
	sd_event_source		 *stop;		/* bounds the wait for FRR at SIGTERM */
	sd_event_source		 *save;		/* writes state and metrics, batched */
	bool			  save_pending;
	uint64_t		  save_next_us;	/* CLOCK_MONOTONIC: not before */
	bool			  begun;
	bool			  stopping;
	char			 *state_text;	/* as last written */
	struct status_counters	  counters;
	int			  exit_status;
};

static int	daemon_begin(struct daemon *d);
static void	daemon_save_state(struct daemon *d, bool kept);
static void	daemon_write_metrics(struct daemon *d);

static uint64_t
realtime_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct gen *
gen_new(struct daemon *d, struct cfg *cfg)
{
	struct gen	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->cfg = cfg;
	g->next = d->gens;
	d->gens = g;
	return g;
}

/* Frees every generation that is neither current nor used by a service. */
static void
gen_collect(struct daemon *d)
{
	struct gen	**pp = &d->gens, *g;

	while ((g = *pp) != NULL) {
		if (g != d->cur && g->refs == 0) {
			*pp = g->next;
			cfg_free(g->cfg);
			free(g);
		} else
			pp = &g->next;
	}
}

static ssize_t
daemon_svc_index(const struct daemon *d, const struct svc *s)
{
	for (size_t i = 0; i < d->cfg->nservices; i++)
		if (d->svcs[i] == s)
			return (ssize_t)i;
	return -1;
}

/* A draining service still announced says so (GRACEFUL_SHUTDOWN); a degraded one prepends. */
static enum ann_mode
daemon_svc_mode(const struct svc *s)
{
	if (s->state == SVC_DRAINED)
		return ANN_GSHUT;
	return s->state == SVC_DEGRADED ? ANN_DEGRADED : ANN_PLAIN;
}

/*
 * Writing the state file and metrics is linear in the number of services:
 * the next write waits at least ten times as long as this one took (at
 * most 1 s), so that with thousands of services changing (a start, a
 * flapping upstream) the writes take at most a tenth of the loop. With a
 * few services a write takes well under a millisecond and follows each
 * change at once.
 */
static int
daemon_save_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct daemon	*d = arg;
	uint64_t	 t0 = now_us(), cost;

	d->save_pending = false;
	daemon_save_state(d, false);
	daemon_write_metrics(d);
	/* The state's JSON tree (thousands of small objects) is gone: so are its pages. */
	malloc_trim(0);
	cost = (now_us() - t0) * 10;
	d->save_next_us = now_us() + (cost > 1000000 ? 1000000 : cost);
	return 0;
}

static void
daemon_save_soon(struct daemon *d)
{
	uint64_t	when = now_us();
	int		r;

	if (when < d->save_next_us)
		when = d->save_next_us;
	if (d->save == NULL)
		r = sd_event_add_time(d->ev, &d->save, CLOCK_MONOTONIC, when, 1,
		    daemon_save_cb, d);
	else if ((r = sd_event_source_set_time(d->save, when)) >= 0)
		r = sd_event_source_set_enabled(d->save, SD_EVENT_ONESHOT);
	if (r < 0) {
		daemon_save_state(d, false);
		daemon_write_metrics(d);
		return;
	}
	d->save_pending = true;
}

static void
daemon_svc_changed(struct svc *s, void *arg)
{
	struct daemon	*d = arg;
	ssize_t		 i;

	/* Stopping: everything is being withdrawn; nothing may come back. */
	if (d->stopping || (i = daemon_svc_index(d, s)) == -1)
		return;
	ann_set_service(d->ann, (size_t)i, svc_wants_announce(s), daemon_svc_mode(s));
	/* The agent's own share of the reaction time, for operators and tests. */
	log_msg(LOG_LVL_DEBUG, s->cfg->name, "applied", "%s: announcements applied "
	    "%.3f ms after the deciding probe result began", svc_state_str(s->state),
	    (now_us() - s->cause_us) / 1000.0);
	/*
	 * The state file and metrics are written once for all the services
	 * that changed meanwhile (daemon_save_cb() says when): ten thousand
	 * services rising one by one at start would otherwise format them ten
	 * thousand times. If the timer cannot be armed they are written at once.
	 */
	if (!d->save_pending)
		daemon_save_soon(d);
}

/* Creates the directory a socket or state file goes into, if it is missing (no systemd). */
static void
ensure_parent(const char *path)
{
	char	*dir, *slash;

	if ((dir = strdup(path)) == NULL)
		return;
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) == 0)
			log_info("created %s", dir);
	}
	free(dir);
}

static void
daemon_save_state(struct daemon *d, bool kept)
{
	struct state	 st = { .kept = kept };
	char		*text, err[512];
	int		 rc = 0;

	/*
	 * Until daemon_adopt() has read the previous run's file (drains,
	 * leftovers), writing would erase it: FRR's first read comes earlier.
	 */
	if (!d->begun)
		return;

	/*
	 * A statement is listed from the moment it is wanted (before vtysh is
	 * even asked) until FRR is read without it, so that withdraw-all after
	 * a crash at any point removes it.
	 */
	for (size_t i = 0; i < d->ann->nprefixes && rc == 0; i++) {
		const struct ann_prefix *ap = &d->ann->prefixes[i];
		bool statement = ap->method != METHOD_ADDRESS && d->frr != NULL &&
		    (ap->desired || frr_holds(d->frr, &ap->pfx));
		if (ap->present || statement)
			rc = state_add_announced(&st, &ap->pfx, ap->ifname, ap->method);
	}
	if (d->frr != NULL) {
		st.frr.set = true;
		snprintf(st.frr.vtysh, sizeof(st.frr.vtysh), "%s", d->cfg->frr.vtysh);
		snprintf(st.frr.pathspace, sizeof(st.frr.pathspace), "%s",
		    d->cfg->frr.pathspace ? d->cfg->frr.pathspace : "");
		snprintf(st.frr.vrf, sizeof(st.frr.vrf), "%s",
		    d->cfg->frr.vrf ? d->cfg->frr.vrf : "");
		st.frr.asn = frr_asn(d->frr);
		st.frr.timeout_us = d->cfg->frr.timeout_us;
	}
	for (size_t i = 0; i < d->cfg->nservices && rc == 0; i++)
		if (d->svcs[i]->state == SVC_DRAINED)
			rc = state_add_drained(&st, d->cfg->services[i].name);
	if (rc == -1 || (text = state_format(&st)) == NULL) {
		log_err("state file: out of memory");
		goto out;
	}
	if (d->state_text != NULL && strcmp(text, d->state_text) == 0) {
		free(text);
		goto out;
	}
	if (state_write_file(d->cfg->state_file, text, err, sizeof(err)) == -1) {
		/* Retried at the next change or reconcile. */
		log_err("state file: %s", err);
		free(text);
		goto out;
	}
	free(d->state_text);
	d->state_text = text;
out:
	state_clear(&st);
}

static void
daemon_write_metrics(struct daemon *d)
{
	char	*text, err[512];

	if (d->cfg->metrics_file == NULL)
		return;
	text = metrics_text(d->svcs, d->cfg->nservices, d->ann, &d->counters);
	if (text == NULL) {
		log_err("metrics: out of memory");
		return;
	}
	if (state_write_file(d->cfg->metrics_file, text, err, sizeof(err)) == -1)
		log_err("metrics file: %s", err);
	free(text);
}

static int
daemon_reconcile_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct daemon	*d = arg;

	ann_reconcile(d->ann);
	daemon_save_state(d, false);
	daemon_write_metrics(d);
	sd_event_source_set_time(src, usec + RECONCILE_INTERVAL_US);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	return 0;
}

/* FRR was read (or a call failed): finish what waited for it. */
static void
daemon_frr_cb(struct frr *f, void *arg)
{
	struct daemon	*d = arg;

	ann_frr_update(d->ann);
	daemon_save_state(d, false);
	if (!d->begun && (frr_known(f) || frr_failing(f)) && daemon_begin(d) == -1)
		sd_event_exit(d->ev, 1);
	if (d->stopping && frr_synced(f))
		sd_event_exit(d->ev, 0);
}

static int
daemon_begin_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct daemon	*d = arg;

	if (!d->begun) {
		log_warn("FRR's running configuration could not be read yet; "
		    "starting the probes without adopting network statements");
		if (daemon_begin(d) == -1)
			sd_event_exit(d->ev, 1);
	}
	return 0;
}

static int
daemon_stop_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	log_err("FRR did not confirm the withdrawals in time; stopping anyway");
	sd_event_exit(sd_event_source_get_event(src), 0);
	return 0;
}

/*
 * The FRR driver for cfg: created the first time a configuration needs it,
 * then kept (a later configuration without network statements just wants
 * them all absent). Moving statements to another vtysh, pathspace, ASN or
 * VRF at run time would orphan the old ones, so that needs a restart.
 */
static bool
str_same(const char *a, const char *b)
{
	return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

/*
 * Whether cfg may take over the running FRR driver: moving statements to
 * another vtysh, pathspace, ASN or VRF at run time would orphan the old
 * ones, so that needs a restart. No side effects.
 */
static int
daemon_frr_check(const struct daemon *d, const struct cfg *cfg, char *err, size_t errlen)
{
	const struct cfg	*o = d->cfg;

	if (d->frr == NULL || (str_same(o->frr.vtysh, cfg->frr.vtysh) &&
	    o->frr.asn == cfg->frr.asn && str_same(o->frr.pathspace, cfg->frr.pathspace) &&
	    str_same(o->frr.vrf, cfg->frr.vrf)))
		return 0;
	snprintf(err, errlen, "frr: vtysh, pathspace, asn or vrf changed; "
	    "restart the daemon to move the network statements");
	return -1;
}

/*
 * The FRR driver for cfg: created the first time a configuration needs it,
 * then kept (a later configuration without network statements just releases
 * them). A driver created here that cannot be started is dropped again, so
 * a failure leaves things as they were.
 */
static int
daemon_frr_attach(struct daemon *d, const struct cfg *cfg, struct ann *a, char *err,
    size_t errlen)
{
	int	r;

	if (d->frr == NULL && !ann_needs_frr(cfg))
		return 0;
	if (d->frr != NULL) {
		if (frr_reconfigure(d->frr, cfg) == -1 || ann_set_frr(a, d->frr) == -1)
			goto nomem;
		return 0;
	}
	if ((d->frr = frr_new(d->ev, cfg, daemon_frr_cb, d)) == NULL)
		goto nomem;
	if (ann_set_frr(a, d->frr) == -1) {
		snprintf(err, errlen, "out of memory");
		goto drop;
	}
	if ((r = frr_start(d->frr)) < 0) {
		snprintf(err, errlen, "FRR driver: %s", strerror(-r));
		goto drop;
	}
	return 0;
drop:
	frr_free(d->frr);
	d->frr = NULL;
	a->frr = NULL;
	return -1;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

static void
notify_reloading(void)
{
	/* MONOTONIC_USEC lets Type=notify-reload match this to its request. */
	sd_notifyf(0, "RELOADING=1\nSTATUS=reloading the configuration\n"
	    "MONOTONIC_USEC=%llu", (unsigned long long)now_us());
}

static void
notify_ready(const struct daemon *d)
{
	size_t	up = 0;

	for (size_t i = 0; i < d->cfg->nservices; i++)
		up += svc_wants_announce(d->svcs[i]);
	sd_notifyf(0, "READY=1\nSTATUS=%zu service(s), %zu announced", d->cfg->nservices, up);
}

static void
reload_error(struct json_object *errors, const char *msg)
{
	log_err("reload: %s", msg);
	if (errors != NULL)
		json_object_array_add(errors, json_object_new_string(msg));
}

/*
 * Loads the configuration again. If it is invalid, nothing changes and every
 * error is logged and added to errors. Otherwise: a service whose settings
 * are unchanged keeps its probes, state and announcement (no flap); a
 * changed service starts again, adopting its announcement if it had one (its
 * first probe results decide, as after a restart with on_exit "keep"); a new
 * service starts in init; a removed service's prefixes are withdrawn.
 */
static int
daemon_reload(struct daemon *d, struct json_object *errors)
{
	struct cfg_errors	  errs = { 0 };
	struct cfg		 *ncfg;
	struct ann		 *nann;
	struct svc		**nsvcs = NULL;
	struct gen		**ngen = NULL, *g = NULL;
	bool			 *kept = NULL;
	char			  err[512];
	size_t			  nkept = 0, nnew = 0;
	int			  r;

	log_info("reloading the configuration");
	if ((ncfg = cfg_load(d->cfg->main_file, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			reload_error(errors, errs.msgs[i]);
		log_err("reload: configuration invalid (%zu error%s); still running the "
		    "previous one", errs.n, errs.n == 1 ? "" : "s");
		cfg_errors_clear(&errs);
		d->counters.reloads_failed++;
		return -1;
	}
	if ((nann = ann_new(ncfg, d->nl, err, sizeof(err))) == NULL) {
		reload_error(errors, err);
		goto invalid;
	}
	if (daemon_frr_check(d, ncfg, err, sizeof(err)) == -1) {
		reload_error(errors, err);
		ann_free(nann);
		goto invalid;
	}
	nsvcs = calloc(ncfg->nservices + 1, sizeof(*nsvcs));
	ngen = calloc(ncfg->nservices + 1, sizeof(*ngen));
	kept = calloc(d->cfg->nservices + 1, sizeof(*kept));
	if (nsvcs == NULL || ngen == NULL || kept == NULL || (g = gen_new(d, ncfg)) == NULL) {
		reload_error(errors, "out of memory");
		ann_free(nann);
		goto invalid;
	}
	notify_reloading();

	for (size_t i = 0; i < ncfg->nservices; i++) {
		const struct cfg_service *nc = &ncfg->services[i];
		struct svc *old = NULL;
		size_t j;
		for (j = 0; j < d->cfg->nservices; j++)
			if (strcmp(d->cfg->services[j].name, nc->name) == 0) {
				old = d->svcs[j];
				break;
			}
		if (old != NULL && cfg_service_equal(old->cfg, nc)) {
			nsvcs[i] = old;
			ngen[i] = d->svc_gen[j];
			kept[j] = true;
			nkept++;
			continue;
		}
		if ((nsvcs[i] = svc_new(d->ev, nc, daemon_svc_changed, d)) == NULL) {
			snprintf(err, sizeof(err), "out of memory");
			goto unwind;
		}
		ngen[i] = g;
		g->refs++;
		nnew++;
		if (old == NULL) {
			log_info("%s: new service, starting in init", nc->name);
			continue;
		}
		log_info("%s: configuration changed, restarting its probes", nc->name);
		if (old->state == SVC_DRAINED)
			svc_drain(nsvcs[i], 0);
		else if (svc_wants_announce(old) || old->adopt)
			/* Announced (or being adopted): keep it until the first results. */
			nsvcs[i]->adopt = true;
	}
	/* The last step that can fail: FRR is changed only for a reload that goes through. */
	if (daemon_frr_attach(d, ncfg, nann, err, sizeof(err)) == -1)
		goto unwind;

	for (size_t i = 0; i < ncfg->nservices; i++) {
		nann->svc_wanted[i] = svc_wants_announce(nsvcs[i]) || nsvcs[i]->adopt;
		nann->svc_mode[i] = daemon_svc_mode(nsvcs[i]);
	}

	/* Withdraw what the old configuration announced and the new one does not manage. */
	nann->errors = d->ann->errors;
	for (size_t i = 0; i < d->ann->nprefixes; i++)
		if (d->ann->prefixes[i].present)
			/* Addresses only: ann_release_frr() hands statements back. */
			ann_remove_unmanaged(nann, &d->ann->prefixes[i].pfx,
			    d->ann->prefixes[i].ifname, METHOD_ADDRESS);
	for (size_t j = 0; j < d->cfg->nservices; j++) {
		if (kept[j])
			continue;
		bool gone = true;
		for (size_t i = 0; i < ncfg->nservices && gone; i++)
			gone = strcmp(ncfg->services[i].name, d->cfg->services[j].name) != 0;
		if (gone)
			log_info("%s: removed from the configuration", d->cfg->services[j].name);
		d->svc_gen[j]->refs--;
		svc_free(d->svcs[j]);
	}
	ann_release_frr(d->ann, nann);
	ann_free(d->ann);
	d->ann = nann;
	free(d->svcs);
	free(d->svc_gen);
	d->svcs = nsvcs;
	d->svc_gen = ngen;
	if (strcmp(ncfg->control_socket, d->cfg->control_socket) != 0)
		log_warn("reload: control_socket changed to %s; the daemon keeps listening "
		    "on %s until it is restarted", ncfg->control_socket, d->cfg->control_socket);
	d->cur = g;
	d->cfg = ncfg;
	gen_collect(d);
	log_setup((enum log_level)ncfg->log.level, (enum log_format)ncfg->log.format,
	    ncfg->log.syslog);

	ann_reconcile(d->ann);
	for (size_t i = 0; i < ncfg->nservices; i++)
		/* Before daemon_begin() nothing runs yet; it starts every service. */
		if (d->begun && ngen[i] == g && (r = svc_start(d->svcs[i])) < 0)
			log_err("%s: cannot schedule probes: %s", ncfg->services[i].name,
			    strerror(-r));
	free(kept);
	d->counters.reloads_ok++;
	daemon_save_state(d, false);
	daemon_write_metrics(d);
	log_info("reloaded: %zu service(s), %zu unchanged, %zu (re)started", ncfg->nservices,
	    nkept, nnew);
	notify_ready(d);
	return 0;
unwind:
	reload_error(errors, err);
	for (size_t k = 0; k < ncfg->nservices; k++)
		if (ngen[k] == g && nsvcs[k] != NULL)
			svc_free(nsvcs[k]);
	g->refs = 0;
	ann_free(nann);
	/* RELOADING=1 was sent: the running configuration is ready again. */
	notify_ready(d);
invalid:
	log_err("reload: configuration not usable; still running the previous one");
	free(nsvcs);
	free(ngen);
	free(kept);
	if (g == NULL)
		cfg_free(ncfg);
	else
		gen_collect(d);
	d->counters.reloads_failed++;
	return -1;
}

static struct svc *
daemon_find_svc(const struct daemon *d, struct json_object *req, struct json_object **errp)
{
	struct json_object	*v;
	const char		*name;

	if (!json_object_object_get_ex(req, "service", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		*errp = ctl_error("\"service\" (a service name) is required");
		return NULL;
	}
	name = json_object_get_string(v);
	for (size_t i = 0; i < d->cfg->nservices; i++)
		if (strcmp(d->cfg->services[i].name, name) == 0)
			return d->svcs[i];
	*errp = ctl_error("no service '%.64s'", name);
	return NULL;
}

static struct json_object *
cmd_status(struct json_object *req, void *arg)
{
	struct daemon	*d = arg;

	return status_json(d->svcs, d->cfg->nservices, d->ann, &d->counters);
}

static struct json_object *
cmd_metrics(struct json_object *req, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*o;
	char			*text;

	if ((text = metrics_text(d->svcs, d->cfg->nservices, d->ann, &d->counters)) == NULL)
		return ctl_error("out of memory");
	o = json_object_new_object();
	json_object_object_add(o, "metrics", json_object_new_string(text));
	free(text);
	return o;
}

static struct json_object *
cmd_drain(struct json_object *req, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*o, *v, *e = NULL;
	struct svc		*s;
	uint64_t		 grace;
	char			 why[128];
	bool			 was;
	int			 r;

	if ((s = daemon_find_svc(d, req, &e)) == NULL)
		return e;
	grace = s->cfg->drain_grace_us;
	if (json_object_object_get_ex(req, "grace", &v)) {
		if (json_object_is_type(v, json_type_string)) {
			if (cfg_duration_parse(json_object_get_string(v), &grace, why,
			    sizeof(why)) == -1)
				return ctl_error("grace: %s", why);
		} else if (json_object_is_type(v, json_type_int) &&
		    json_object_get_int64(v) >= 0 && json_object_get_int64(v) <= 86400)
			grace = (uint64_t)json_object_get_int64(v) * 1000000;
		else
			return ctl_error("grace: expected a duration such as \"30s\"");
	}
	was = s->state == SVC_DRAINED;
	if ((r = svc_drain(s, grace)) < 0)
		log_err("%s: grace timer: %s; drained at once", s->cfg->name, strerror(-r));
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(s->cfg->name));
	json_object_object_add(o, "state", json_object_new_string(svc_state_str(s->state)));
	json_object_object_add(o, "already", json_object_new_boolean(was));
	json_object_object_add(o, "announcing", json_object_new_boolean(
	    svc_wants_announce(s)));
	json_object_object_add(o, "grace_ms", json_object_new_int64(
	    (int64_t)(was ? 0 : grace / 1000)));
	return o;
}

static struct json_object *
cmd_undrain(struct json_object *req, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*o, *e = NULL;
	struct svc		*s;
	bool			 was;

	if ((s = daemon_find_svc(d, req, &e)) == NULL)
		return e;
	was = s->state == SVC_DRAINED;
	svc_undrain(s);
	/* Nothing else writes the file when undrain leaves the announcement as it was. */
	daemon_save_state(d, false);
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(s->cfg->name));
	json_object_object_add(o, "state", json_object_new_string(svc_state_str(s->state)));
	json_object_object_add(o, "was_drained", json_object_new_boolean(was));
	return o;
}

static struct json_object *
cmd_reload(struct json_object *req, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*errors = json_object_new_array(), *o;

	if (daemon_reload(d, errors) == 0) {
		json_object_put(errors);
		o = json_object_new_object();
		json_object_object_add(o, "services", json_object_new_int(
		    (int)d->cfg->nservices));
		return o;
	}
	o = ctl_error("configuration invalid (%zu error%s); still running the previous "
	    "one", json_object_array_length(errors),
	    json_object_array_length(errors) == 1 ? "" : "s");
	json_object_object_add(o, "errors", errors);
	return o;
}

/*
 * The probe engine's counters alone, for benchmarks: with thousands of
 * services, building status or metrics stalls the loop long enough to
 * show up in the lateness it is asked to measure; this costs microseconds.
 */
static struct json_object *
cmd_probe_stats(struct json_object *req, void *arg)
{
	struct daemon			*d = arg;
	const struct probe_lateness	*l = probe_lateness();
	struct json_object		*o, *le, *cnt;
	uint64_t			 runs = 0;

	for (size_t i = 0; i < d->cfg->nservices; i++)
		for (size_t j = 0; j < d->cfg->services[i].nprobes; j++)
			runs += d->svcs[i]->probes[j]->runs;
	o = json_object_new_object();
	json_object_object_add(o, "runs", json_object_new_int64((int64_t)runs));
	le = json_object_new_array();
	cnt = json_object_new_array();
	for (size_t i = 0; i < PROBE_LATENESS_BUCKETS; i++) {
		if (i < PROBE_LATENESS_BUCKETS - 1)
			json_object_array_add(le, json_object_new_int64(
			    (int64_t)probe_lateness_le_us[i]));
		json_object_array_add(cnt, json_object_new_int64((int64_t)l->count[i]));
	}
	json_object_object_add(o, "lateness_le_us", le);
	json_object_object_add(o, "lateness_count", cnt);
	json_object_object_add(o, "lateness_max_us", json_object_new_int64((int64_t)l->max_us));
	return o;
}

static const struct ctl_command daemon_cmds[] = {
	{ "status",	false,	cmd_status },
	{ "metrics",	false,	cmd_metrics },
	{ "probe-stats", false,	cmd_probe_stats },
	{ "drain",	true,	cmd_drain },
	{ "undrain",	true,	cmd_undrain },
	{ "reload",	true,	cmd_reload },
	{ NULL,		false,	NULL },
};

static int
daemon_signal_cb(sd_event_source *src, const struct signalfd_siginfo *si, void *arg)
{
	struct daemon	*d = arg;

	switch (si->ssi_signo) {
	case SIGHUP:
		/* Never fatal: an invalid configuration keeps the running one. */
		if (d->stopping)
			log_warn("SIGHUP while stopping: ignored");
		else
			daemon_reload(d, NULL);
		return 0;
	default:
		log_info("%s: stopping", strsignal((int)si->ssi_signo));
		sd_notify(0, "STOPPING=1");
		if (d->frr == NULL || d->cfg->on_exit != ON_EXIT_WITHDRAW || d->stopping) {
			sd_event_exit(sd_event_source_get_event(src), 0);
			return 0;
		}
		/*
		 * The loop stays up until FRR confirms that the statements are
		 * gone; meanwhile nothing may announce again (svc changes are
		 * ignored, drain/undrain/reload refused).
		 */
		d->stopping = true;
		ctl_refuse_mutating(d->ctl);
		ann_withdraw_all(d->ann);
		if (frr_synced(d->frr)) {
			sd_event_exit(sd_event_source_get_event(src), 0);
			return 0;
		}
		if (sd_event_add_time_relative(d->ev, &d->stop, CLOCK_MONOTONIC,
		    d->cfg->frr.timeout_us + 2000000, 10000, daemon_stop_cb, d) < 0)
			sd_event_exit(sd_event_source_get_event(src), 0);
		return 0;
	}
}

static int
daemon_setup(struct daemon *d)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	const struct cfg *cfg = d->cfg;
	sigset_t	 mask;
	char		 err[512];
	int		 r;

	/*
	 * Not sd_event_default(): a default loop checks its thread with a
	 * gettid() system call on every iteration, two per TCP check.
	 */
	if ((r = sd_event_new(&d->ev)) < 0) {
		log_err("event loop: %s", strerror(-r));
		return -1;
	}
	sigemptyset(&mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaddset(&mask, sigs[i]);
	/* SIGCHLD: vtysh and plugin children are watched by the loop. */
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* exec probes collect their children: an inherited SIG_IGN would reap them first. */
	signal(SIGCHLD, SIG_DFL);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((r = sd_event_add_signal(d->ev, NULL, sigs[i], daemon_signal_cb, d)) < 0) {
			log_err("signal %d: %s", sigs[i], strerror(-r));
			return -1;
		}
	/* Feeds WatchdogSec= from the loop itself: a hung loop gets killed. */
	sd_event_set_watchdog(d->ev, true);

	if ((d->nl = nl_open(err, sizeof(err))) == NULL) {
		log_err("netlink: %s", err);
		return -1;
	}
	if ((d->ann = ann_new(cfg, d->nl, err, sizeof(err))) == NULL) {
		log_err("%s", err);
		return -1;
	}
	if (daemon_frr_attach(d, cfg, d->ann, err, sizeof(err)) == -1) {
		log_err("%s", err);
		return -1;
	}
	d->svcs = calloc(cfg->nservices + 1, sizeof(*d->svcs));
	d->svc_gen = calloc(cfg->nservices + 1, sizeof(*d->svc_gen));
	if (d->svcs == NULL || d->svc_gen == NULL) {
		log_err("out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		if ((d->svcs[i] = svc_new(d->ev, &cfg->services[i], daemon_svc_changed,
		    d)) == NULL) {
			log_err("out of memory");
			return -1;
		}
		d->svc_gen[i] = d->cur;
		d->cur->refs++;
	}
	ensure_parent(cfg->control_socket);
	if ((d->ctl = ctl_open(d->ev, cfg->control_socket, daemon_cmds, d, err,
	    sizeof(err))) == NULL) {
		log_err("control socket: %s", err);
		return -1;
	}
	return 0;
}

/*
 * What is on the system at start. The state file of the previous run names
 * drained services (they stay drained) and what it announced: anything
 * there that this configuration does not manage is removed. With on_exit
 * "keep", a service whose prefixes are all present is adopted (its first
 * probe results decide); every other configured prefix that is present is
 * removed, since its service has not been seen healthy by this process.
 */
static void
daemon_adopt(struct daemon *d)
{
	struct state	st;
	char		err[512];
	int		rc;

	ensure_parent(d->cfg->state_file);
	rc = state_read(d->cfg->state_file, &st, err, sizeof(err));
	if (rc == -1)
		log_warn("state file %s: %s; ignored", d->cfg->state_file, err);
	for (size_t i = 0; rc == 0 && i < st.nannounced; i++)
		ann_remove_unmanaged(d->ann, &st.announced[i].pfx, st.announced[i].ifname,
		    st.announced[i].method);
	for (size_t i = 0; rc == 0 && i < d->cfg->nservices; i++)
		if (state_is_drained(&st, d->cfg->services[i].name))
			svc_drain(d->svcs[i], 0);
	state_clear(&st);

	ann_scan(d->ann);
	for (size_t i = 0; i < d->cfg->nservices; i++) {
		if (d->cfg->on_exit != ON_EXIT_KEEP || d->svcs[i]->state == SVC_DRAINED ||
		    !ann_service_present(d->ann, i))
			continue;
		d->svcs[i]->adopt = true;
		d->ann->svc_wanted[i] = true;
		log_info("%s: prefixes found announced; adopting them until the "
		    "first probe results", d->cfg->services[i].name);
	}
	ann_reconcile(d->ann);
	daemon_save_state(d, false);
}

/* Adoption decided: the probes start, the reconcile timer runs. */
static int
daemon_begin(struct daemon *d)
{
	int	r;

	d->begun = true;
	d->begin = sd_event_source_disable_unref(d->begin);
	daemon_adopt(d);
	for (size_t i = 0; i < d->cfg->nservices; i++)
		if ((r = svc_start(d->svcs[i])) < 0) {
			log_err("%s: cannot schedule probes: %s", d->cfg->services[i].name,
			    strerror(-r));
			return -1;
		}
	r = sd_event_add_time_relative(d->ev, &d->reconcile, CLOCK_MONOTONIC,
	    RECONCILE_INTERVAL_US, 0, daemon_reconcile_cb, d);
	if (r < 0) {
		log_err("reconcile timer: %s", strerror(-r));
		return -1;
	}
	daemon_write_metrics(d);
	log_info("running %zu service(s); interface addresses reconciled%s; control socket %s",
	    d->cfg->nservices, d->frr != NULL ? "; FRR read" : "", ctl_path(d->ctl));
	notify_ready(d);
	return 0;
}

static void
daemon_teardown(struct daemon *d)
{
	struct gen	*g;

	ctl_close(d->ctl);
	for (size_t i = 0; d->svcs != NULL && i < d->cfg->nservices; i++)
		svc_free(d->svcs[i]);
	free(d->svcs);
	free(d->svc_gen);
	sd_event_source_disable_unref(d->reconcile);
	sd_event_source_disable_unref(d->begin);
	sd_event_source_disable_unref(d->stop);
	sd_event_source_disable_unref(d->save);
	ann_free(d->ann);
	frr_free(d->frr);
	nl_close(d->nl);
	sd_event_unref(d->ev);
	while ((g = d->gens) != NULL) {
		d->gens = g->next;
		cfg_free(g->cfg);
		free(g);
	}
	free(d->state_text);
}

int
daemon_run(struct cfg *cfg)
{
	struct daemon	d = { .cfg = cfg, .exit_status = 1 };
	bool		started = false;
	int		r;

	d.counters.start_us = realtime_us();
	if ((d.cur = gen_new(&d, cfg)) == NULL) {
		log_err("out of memory");
		cfg_free(cfg);
		return 1;
	}
	if (daemon_setup(&d) == -1)
		goto out;
	/* From here on the system is ours to change, and to clean up on the way out. */
	started = true;
	if (d.frr != NULL && cfg->on_exit == ON_EXIT_KEEP) {
		/*
		 * Adoption needs FRR's running configuration: the probes start
		 * after the first read, or after a bound.
		 */
		r = sd_event_add_time_relative(d.ev, &d.begin, CLOCK_MONOTONIC,
		    cfg->frr.timeout_us + 1000000, 1000, daemon_begin_cb, &d);
		if (r < 0) {
			log_err("start timer: %s", strerror(-r));
			goto out;
		}
	} else if (daemon_begin(&d) == -1)
		goto out;

	if ((r = sd_event_loop(d.ev)) < 0) {
		log_err("event loop: %s", strerror(-r));
		goto out;
	}
	d.exit_status = r == 0 ? 0 : 1;
out:
	if (started) {
		if (d.cfg->on_exit == ON_EXIT_WITHDRAW) {
			/* The loop is over: addresses of method both go without waiting for FRR. */
			d.ann->final = true;
			ann_withdraw_all(d.ann);
		} else
			log_info("on_exit \"keep\": leaving announcements for the next start");
		/* A clean stop: what is left (if anything) is on purpose. */
		daemon_save_state(&d, d.cfg->on_exit == ON_EXIT_KEEP && d.exit_status == 0);
		daemon_write_metrics(&d);
	}
	daemon_teardown(&d);
	return d.exit_status;
}
