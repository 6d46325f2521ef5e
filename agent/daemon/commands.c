/*
 * The control socket's commands (ctl.h): status, metrics, probe-stats,
 * drain, undrain, reload. Each turns a request into a call on the daemon's
 * modules and its result into the reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "compiler.h"
#include "cfg.h"
#include "ctl.h"
#include "daemon_int.h"
#include "log.h"
#include "probe.h"
#include "status.h"
#include "svc.h"

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
cmd_status(struct json_object *req UNUSED, void *arg)
{
	struct daemon	*d = arg;

	struct json_object	*o = status_json(d->svcs, d->cfg->nservices, d->ann, &d->counters);

	return o != NULL ? o : ctl_error("out of memory");
}

static struct json_object *
cmd_metrics(struct json_object *req UNUSED, void *arg)
{
	struct daemon		*d = arg;
	struct json_object	*o;
	char			*text;

	daemon_counters(d);
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
	daemon_flush_now(d);
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
	daemon_flush_now(d);
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string(s->cfg->name));
	json_object_object_add(o, "state", json_object_new_string(svc_state_str(s->state)));
	json_object_object_add(o, "was_drained", json_object_new_boolean(was));
	return o;
}

static struct json_object *
cmd_reload(struct json_object *req UNUSED, void *arg)
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
cmd_probe_stats(struct json_object *req UNUSED, void *arg)
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

const struct ctl_command daemon_cmds[] = {
	{ "status",	false,	cmd_status },
	{ "metrics",	false,	cmd_metrics },
	{ "probe-stats", false,	cmd_probe_stats },
	{ "drain",	true,	cmd_drain },
	{ "undrain",	true,	cmd_undrain },
	{ "reload",	true,	cmd_reload },
	{ NULL,		false,	NULL },
};
