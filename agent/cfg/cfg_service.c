/*
 * The schema of a service file: its prefixes, how they are announced,
 * its timing and the list of probes (each parsed by cfg_probe.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cfg.h"
#include "cfg_int.h"
#include "pfx.h"

static const char *const service_keys[] = {
	"name", "prefixes", "method", "interface", "interval", "timeout", "rise",
	"fall", "hold_down", "damping", "require", "on_warning", "degraded_route_map",
	"drain_grace", "probes", NULL
};

static const char *const method_names[] = { "address", "network", "both", NULL };
static const char *const on_warning_names[] = {
	"announce", "degrade", "withdraw", NULL
};

const char *
cfg_method_str(enum cfg_method m)
{
	if ((unsigned)m >= sizeof(method_names) / sizeof(method_names[0]) - 1)
		return "?";
	return method_names[m];
}

int
cfg_method_parse(const char *s)
{
	for (int i = 0; method_names[i] != NULL; i++)
		if (strcmp(s, method_names[i]) == 0)
			return i;
	return -1;
}

void
cfg_service_clear(struct cfg_service *s)
{
	for (size_t i = 0; i < s->nprobes; i++)
		cfg_probe_clear(&s->probes[i]);
	free(s->probes);
	free(s->prefixes);
	free(s->name);
	free(s->file);
	free(s->interface);
	free(s->degraded_route_map);
	memset(s, 0, sizeof(*s));
}

/*
 * A required, non-empty array named by its plural key ("prefixes" of
 * "prefix"): its length, or 0 with an error reported.
 */
static size_t
get_list(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    const char *one, struct json_object **arr)
{
	char	expected[64];
	size_t	n;

	if ((*arr = cfg_lookup(obj, key)) == NULL) {
		cfg_absent(ctx, key, true);
		return 0;
	}
	if (!json_object_is_type(*arr, json_type_array)) {
		snprintf(expected, sizeof(expected), "an array of %s", key);
		cfg_wrong_type(ctx, key, expected, *arr);
		return 0;
	}
	if ((n = json_object_array_length(*arr)) == 0)
		cfg_error(ctx, key, "must list at least one %s", one);
	return n;
}

static void
parse_prefixes(struct cfg_ctx *ctx, struct json_object *obj, struct cfg_service *s)
{
	struct json_object	*arr, *v;
	char			 err[256], buf[PFX_STRLEN];
	size_t			 n, mark;

	if ((n = get_list(ctx, obj, "prefixes", "prefix", &arr)) == 0)
		return;
	if ((s->prefixes = cfg_xcalloc(n, sizeof(*s->prefixes))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		mark = cfg_ctx_push(ctx, "prefixes", (long)i);
		if (!json_object_is_type(v, json_type_string))
			cfg_wrong_type(ctx, NULL, "a prefix string", v);
		else if (pfx_parse(json_object_get_string(v), &s->prefixes[s->nprefixes],
		    err, sizeof(err)) == -1)
			cfg_error(ctx, NULL, "%s", err);
		else {
			for (size_t j = 0; j < s->nprefixes; j++)
				if (pfx_equal(&s->prefixes[j], &s->prefixes[s->nprefixes])) {
					cfg_error(ctx, NULL, "%s is listed twice",
					    pfx_fmt(&s->prefixes[j], buf, sizeof(buf)));
					s->nprefixes--;
					break;
				}
			s->nprefixes++;
		}
		cfg_ctx_pop(ctx, mark);
	}
}

static void
parse_probes(struct cfg_ctx *ctx, struct json_object *obj, const struct cfg *cfg,
    struct cfg_service *s)
{
	struct json_object	*arr;
	struct cfg_probe	*p;
	size_t			 n, mark;

	if ((n = get_list(ctx, obj, "probes", "probe", &arr)) == 0)
		return;
	if ((s->probes = cfg_xcalloc(n, sizeof(*s->probes))) == NULL)
		return;
	s->nprobes = n;
	for (size_t i = 0; i < n; i++) {
		p = &s->probes[i];
		mark = cfg_ctx_push(ctx, "probes", (long)i);
		if (cfg_parse_probe(ctx, json_object_array_get_idx(arr, i), cfg, s,
		    (unsigned)i, p) == 0) {
			for (size_t j = 0; j < i; j++)
				if (s->probes[j].name != NULL &&
				    strcmp(s->probes[j].name, p->name) == 0) {
					cfg_error(ctx, "name", "probe name '%s' is already "
					    "used by probes[%zu]", p->name, j);
					break;
				}
		}
		cfg_ctx_pop(ctx, mark);
	}
}

static void
parse_require(struct cfg_ctx *ctx, struct json_object *obj, struct cfg_service *s)
{
	struct json_object	*v;
	int64_t			 i;

	s->require_all = true;
	s->require = (unsigned)s->nprobes;
	if ((v = cfg_lookup(obj, "require")) == NULL)
		return;
	if (json_object_is_type(v, json_type_string)) {
		if (strcmp(json_object_get_string(v), "any") == 0) {
			s->require_all = false;
			s->require = 1;
		} else if (strcmp(json_object_get_string(v), "all") != 0)
			cfg_error(ctx, "require", "'%s' is not all, any or a number of "
			    "probes", json_object_get_string(v));
		return;
	}
	if (!json_object_is_type(v, json_type_int)) {
		cfg_wrong_type(ctx, "require", "\"all\", \"any\" or an integer", v);
		return;
	}
	if (cfg_int_in_range(v, 1, INT64_MAX, &i) == -1) {
		cfg_error(ctx, "require", "%s is not a number of probes (at least 1)",
		    cfg_json_text(v));
		return;
	}
	if (s->nprobes > 0 && (uint64_t)i > s->nprobes) {
		cfg_error(ctx, "require", "%s is more than the number of probes (%zu)",
		    cfg_json_text(v), s->nprobes);
		return;
	}
	s->require_all = false;
	s->require = (unsigned)i;
}

int
cfg_parse_service(struct cfg_ctx *ctx, struct json_object *obj, const struct cfg *cfg,
    const char *stem, struct cfg_service *s)
{
	size_t	nerr = ctx->errs->n;
	int	e, ir, tr, mr;

	cfg_check_keys(ctx, obj, service_keys, NULL);
	if (cfg_lookup(obj, "name") != NULL)
		cfg_get_word(ctx, obj, "name", SVC_NAME_MAX, "service name", &s->name);
	else if (!cfg_is_word(stem, SVC_NAME_MAX))
		cfg_error(ctx, NULL, "the file name gives the service name '%s', which "
		    "is not valid (1-%d characters of A-Z a-z 0-9 _ . -); rename the "
		    "file or set \"name\"", stem, SVC_NAME_MAX);
	else
		s->name = cfg_xstrdup(stem);

	parse_prefixes(ctx, obj, s);
	if ((mr = cfg_get_enum(ctx, obj, "method", method_names, &e)) == 1)
		s->method = (enum cfg_method)e;
	if (cfg_get_ifname(ctx, obj, "interface", &s->interface) != 1)
		s->interface = cfg_xstrdup(cfg->interface);
	s->interval_us = cfg->defaults.interval_us;
	s->timeout_us = cfg->defaults.timeout_us;
	ir = cfg_get_duration(ctx, obj, "interval", false, &s->interval_us);
	tr = cfg_get_duration(ctx, obj, "timeout", false, &s->timeout_us);
	cfg_check_timing(ctx, s->interval_us, s->timeout_us, ir, tr);
	s->rise = cfg->defaults.rise;
	s->fall = cfg->defaults.fall;
	cfg_get_uint(ctx, obj, "rise", false, 1, RISE_FALL_MAX, &s->rise);
	cfg_get_uint(ctx, obj, "fall", false, 1, RISE_FALL_MAX, &s->fall);
	cfg_get_duration(ctx, obj, "hold_down", false, &s->hold_down_us);
	s->damping = cfg->defaults.damping;
	cfg_parse_damping(ctx, obj, &s->damping);
	if (cfg_get_enum(ctx, obj, "on_warning", on_warning_names, &e) == 1)
		s->on_warning = (enum cfg_on_warning)e;
	if (s->on_warning == ONW_DEGRADE && s->method == METHOD_ADDRESS && mr != -1)
		cfg_error(ctx, "on_warning", "'degrade' needs method network or both "
		    "(the degraded route-map belongs to the network statement)");
	if (cfg_get_word(ctx, obj, "degraded_route_map", CFG_ROUTE_MAP_MAX, "route-map name",
	    &s->degraded_route_map) != 1)
		s->degraded_route_map = cfg_xstrdup("ANYCAST-DEGRADED");
	cfg_get_duration(ctx, obj, "drain_grace", false, &s->drain_grace_us);
	parse_probes(ctx, obj, cfg, s);
	parse_require(ctx, obj, s);
	return ctx->errs->n == nerr && !cfg_oom ? 0 : -1;
}
