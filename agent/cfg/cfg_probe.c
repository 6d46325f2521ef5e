/*
 * The keys every probe has (type, name, timing, thresholds) and the
 * registry of probe types; each type's own keys are parsed by the type
 * itself (probes/, through struct cfg_probe_type).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cfg.h"
#include "cfg_int.h"

#define PROBE_NAME_MAX		64

static const char *const probe_keys[] = {
	"type", "name", "interval", "timeout", "warning", "critical", NULL
};

/* Probe names end up in perfdata labels and metrics; keep them quotable. */
static bool
is_probe_name(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > PROBE_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || strchr("'\"=\\", s[i]))
			return false;
	return true;
}

static const struct cfg_probe_type *const *probe_types;

void
cfg_set_probe_types(const struct cfg_probe_type *const *types)
{
	probe_types = types;
}

const struct cfg_probe_type *
cfg_probe_type_find(const char *name)
{
	for (size_t i = 0; probe_types != NULL && probe_types[i] != NULL; i++)
		if (strcmp(probe_types[i]->name, name) == 0)
			return probe_types[i];
	return NULL;
}

static const char *
probe_type_names(void)
{
	static char	names[256];
	size_t		off = 0;

	names[0] = '\0';
	for (size_t i = 0; probe_types != NULL && probe_types[i] != NULL &&
	    off < sizeof(names); i++)
		off += (size_t)snprintf(names + off, sizeof(names) - off, "%s%s",
		    i ? ", " : "", probe_types[i]->name);
	return names;
}

int
cfg_parse_probe(struct cfg_ctx *ctx, struct json_object *obj, const struct cfg *cfg,
    const struct cfg_service *svc, unsigned index, struct cfg_probe *p)
{
	const struct cfg_probe_type *type;
	size_t			 nerr = ctx->errs->n;
	char			*tname = NULL, a[32], b[32];
	int			 ir, tr;

	p->index = index;
	p->interval_us = svc->interval_us;
	p->timeout_us = svc->timeout_us;
	p->jitter_pct = cfg->defaults.jitter_pct;
	if (!json_object_is_type(obj, json_type_object)) {
		cfg_wrong_type(ctx, NULL, "an object", obj);
		return -1;
	}
	if (cfg_get_string(ctx, obj, "type", true, &tname) != 1)
		return -1;
	if ((type = cfg_probe_type_find(tname)) == NULL) {
		cfg_error(ctx, "type", "unknown probe type '%s' (known: %s)", tname,
		    probe_type_names());
		free(tname);
		return -1;
	}
	p->type = type;
	cfg_check_keys(ctx, obj, probe_keys, type->keys);

	if (cfg_get_string(ctx, obj, "name", false, &p->name) == 1 &&
	    !is_probe_name(p->name))
		cfg_error(ctx, "name", "'%s' is not a valid probe name (1-%d characters, "
		    "no quotes, '=', '\\' or control characters)", p->name,
		    PROBE_NAME_MAX);
	if (p->name == NULL && (p->name = cfg_xcalloc(1, strlen(tname) + 16)) != NULL)
		snprintf(p->name, strlen(tname) + 16, "%s#%u", tname, index);
	free(tname);
	if (p->name == NULL)
		return -1;

	ir = cfg_get_duration(ctx, obj, "interval", false, &p->interval_us);
	tr = cfg_get_duration(ctx, obj, "timeout", false, &p->timeout_us);
	cfg_check_timing(ctx, p->interval_us, p->timeout_us, ir, tr);
	if (cfg_get_duration(ctx, obj, "warning", false, &p->warning_us) == 1 &&
	    p->warning_us == 0)
		cfg_error(ctx, "warning", "must be more than 0 (leave it out for no "
		    "threshold)");
	if (cfg_get_duration(ctx, obj, "critical", false, &p->critical_us) == 1 &&
	    p->critical_us == 0)
		cfg_error(ctx, "critical", "must be more than 0 (leave it out for no "
		    "threshold)");
	if (p->warning_us != 0 && p->critical_us != 0 &&
	    p->warning_us >= p->critical_us)
		cfg_error(ctx, "warning", "%s must be less than critical %s",
		    cfg_duration_fmt(p->warning_us, a, sizeof(a)),
		    cfg_duration_fmt(p->critical_us, b, sizeof(b)));

	if (type->parse(ctx, obj, &p->params) == -1 && ctx->errs->n == nerr)
		cfg_error(ctx, NULL, "invalid %s probe", type->name);
	p->canon = cfg_canon_json(obj);
	return ctx->errs->n == nerr ? 0 : -1;
}

void
cfg_probe_clear(struct cfg_probe *p)
{
	if (p->type != NULL && p->params != NULL)
		p->type->free_params(p->params);
	free(p->name);
	free(p->canon);
	memset(p, 0, sizeof(*p));
}
