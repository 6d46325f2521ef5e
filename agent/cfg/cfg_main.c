/*
 * The schema of the main file: its top-level keys and the "frr", "log" and
 * "defaults" sections (with "damping", which a service may override).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <json-c/json.h>

#include "cfg.h"
#include "cfg_int.h"
#include "log.h"

#define VRF_NAME_MAX		36	/* FRR's VRF_NAMSIZ */
#define JITTER_MAX		50
#define SUN_PATH_MAX		(sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)

static const char *const main_keys[] = {
	"services_dir", "interface", "frr", "control_socket", "state_file",
	"metrics_file", "log", "on_exit", "shared_prefixes", "defaults", NULL
};
static const char *const frr_keys[] = {
	"vtysh", "pathspace", "asn", "vrf", "timeout", NULL
};
static const char *const log_keys[] = { "level", "format", "syslog", NULL };
static const char *const defaults_keys[] = {
	"interval", "timeout", "rise", "fall", "jitter", "damping", NULL
};
static const char *const damping_keys[] = {
	"enabled", "penalty", "suppress", "reuse", "half_life", "max_suppress", NULL
};
static const char *const on_exit_names[] = { "withdraw", "keep", NULL };
static const char *const shared_names[] = { "all", "any", NULL };
static const char *const log_format_names[] = { "text", "json", NULL };

static int
get_object(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    struct json_object **out)
{
	struct json_object	*v;

	if ((v = cfg_lookup(obj, key)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return cfg_wrong_type(ctx, key, "an object", v);
	*out = v;
	return 1;
}

/* A string that must not be empty. */
static int
get_nonempty(struct cfg_ctx *ctx, struct json_object *obj, const char *key, char **out)
{
	char	*s = NULL;
	int	 r;

	if ((r = cfg_get_string(ctx, obj, key, false, &s)) != 1)
		return r;
	if (s[0] == '\0') {
		cfg_error(ctx, key, "must not be empty");
		free(s);
		return -1;
	}
	free(*out);
	*out = s;
	return 1;
}

static int
get_jitter(struct cfg_ctx *ctx, struct json_object *obj, const char *key, unsigned *out)
{
	struct json_object	*v;
	const char		*s;
	unsigned long		 n;
	char			*end;

	if ((v = cfg_lookup(obj, key)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cfg_wrong_type(ctx, key, "a percentage string like \"10%\"", v);
	s = json_object_get_string(v);
	errno = 0;
	if (!isdigit((unsigned char)s[0]) || (n = strtoul(s, &end, 10), errno != 0) ||
	    strcmp(end, "%") != 0) {
		cfg_error(ctx, key, "'%s' is not a percentage like \"10%%\"", s);
		return -1;
	}
	if (n > JITTER_MAX) {
		cfg_error(ctx, key, "'%s' is out of range (0%%-%d%%)", s, JITTER_MAX);
		return -1;
	}
	*out = (unsigned)n;
	return 1;
}

/*
 * "damping": false | true | { "enabled", "penalty", "suppress", "reuse",
 * "half_life", "max_suppress" }; keys not given keep the values in *dc
 * (the shipped defaults, or defaults.damping for a service).
 */
void
cfg_parse_damping(struct cfg_ctx *ctx, struct json_object *obj, struct damp_cfg *dc)
{
	struct json_object	*v;
	const char		*why;
	size_t			 mark;

	if ((v = cfg_lookup(obj, "damping")) == NULL)
		return;
	if (json_object_is_type(v, json_type_boolean)) {
		dc->enabled = json_object_get_boolean(v);
		return;
	}
	if (!json_object_is_type(v, json_type_object)) {
		cfg_wrong_type(ctx, "damping", "true, false or an object", v);
		return;
	}
	mark = cfg_ctx_push(ctx, "damping", -1);
	cfg_check_keys(ctx, v, damping_keys, NULL);
	cfg_get_bool(ctx, v, "enabled", false, &dc->enabled);
	cfg_get_uint(ctx, v, "penalty", false, 1, 100000, &dc->penalty);
	cfg_get_uint(ctx, v, "suppress", false, 1, 100000, &dc->suppress);
	cfg_get_uint(ctx, v, "reuse", false, 1, 100000, &dc->reuse);
	cfg_get_duration(ctx, v, "half_life", false, &dc->half_life_us);
	cfg_get_duration(ctx, v, "max_suppress", false, &dc->max_suppress_us);
	if ((why = damp_cfg_check(dc)) != NULL)
		cfg_error(ctx, NULL, "%s", why);
	cfg_ctx_pop(ctx, mark);
}

static void
parse_defaults(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	int	ir, tr;

	cfg_check_keys(ctx, obj, defaults_keys, NULL);
	ir = cfg_get_duration(ctx, obj, "interval", false, &cfg->defaults.interval_us);
	tr = cfg_get_duration(ctx, obj, "timeout", false, &cfg->defaults.timeout_us);
	cfg_check_timing(ctx, cfg->defaults.interval_us, cfg->defaults.timeout_us, ir, tr);
	cfg_get_uint(ctx, obj, "rise", false, 1, RISE_FALL_MAX, &cfg->defaults.rise);
	cfg_get_uint(ctx, obj, "fall", false, 1, RISE_FALL_MAX, &cfg->defaults.fall);
	get_jitter(ctx, obj, "jitter", &cfg->defaults.jitter_pct);
	cfg_parse_damping(ctx, obj, &cfg->defaults.damping);
}

static void
parse_frr(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	char	*s = NULL;

	cfg_check_keys(ctx, obj, frr_keys, NULL);
	if (cfg_get_string(ctx, obj, "vtysh", false, &s) == 1) {
		/* Run with execv(), never through a shell or PATH. */
		if (s[0] != '/') {
			cfg_error(ctx, "vtysh", "'%s' is not an absolute path", s);
			free(s);
		} else {
			free(cfg->frr.vtysh);
			cfg->frr.vtysh = s;
		}
	}
	cfg_get_word(ctx, obj, "pathspace", 64, "pathspace name", &cfg->frr.pathspace);
	cfg_get_uint(ctx, obj, "asn", false, 1, UINT32_MAX, &cfg->frr.asn);
	cfg_get_word(ctx, obj, "vrf", VRF_NAME_MAX, "VRF name", &cfg->frr.vrf);
	if (cfg_get_duration(ctx, obj, "timeout", false, &cfg->frr.timeout_us) == 1 &&
	    cfg->frr.timeout_us == 0)
		cfg_error(ctx, "timeout", "must be more than 0");
}

static void
parse_log(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	char	*s = NULL;
	int	 lvl;

	cfg_check_keys(ctx, obj, log_keys, NULL);
	if (cfg_get_string(ctx, obj, "level", false, &s) == 1) {
		if ((lvl = log_level_parse(s)) == -1)
			cfg_error(ctx, "level", "'%s' is not debug, info, warning "
			    "or error", s);
		else
			cfg->log.level = lvl;
		free(s);
	}
	cfg_get_enum(ctx, obj, "format", log_format_names, &cfg->log.format);
	cfg_get_bool(ctx, obj, "syslog", false, &cfg->log.syslog);
}

static void
parse_sub(struct cfg_ctx *ctx, struct json_object *obj, const char *key, struct cfg *cfg,
    void (*parse)(struct cfg_ctx *, struct json_object *, struct cfg *))
{
	struct json_object	*sub = NULL;
	size_t			 mark;

	if (get_object(ctx, obj, key, &sub) != 1)
		return;
	mark = cfg_ctx_push(ctx, key, -1);
	parse(ctx, sub, cfg);
	cfg_ctx_pop(ctx, mark);
}

void
cfg_parse_main(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	int	e;

	cfg_check_keys(ctx, obj, main_keys, NULL);
	get_nonempty(ctx, obj, "services_dir", &cfg->services_dir);
	cfg_get_ifname(ctx, obj, "interface", &cfg->interface);
	parse_sub(ctx, obj, "frr", cfg, parse_frr);
	if (get_nonempty(ctx, obj, "control_socket", &cfg->control_socket) == 1 &&
	    strlen(cfg->control_socket) > SUN_PATH_MAX)
		cfg_error(ctx, "control_socket", "'%s' is too long for a Unix socket "
		    "(at most %zu bytes)", cfg->control_socket, SUN_PATH_MAX);
	get_nonempty(ctx, obj, "state_file", &cfg->state_file);
	get_nonempty(ctx, obj, "metrics_file", &cfg->metrics_file);
	parse_sub(ctx, obj, "log", cfg, parse_log);
	if (cfg_get_enum(ctx, obj, "on_exit", on_exit_names, &e) == 1)
		cfg->on_exit = (enum cfg_on_exit)e;
	if (cfg_get_enum(ctx, obj, "shared_prefixes", shared_names, &e) == 1)
		cfg->shared_prefixes = (enum cfg_shared)e;
	parse_sub(ctx, obj, "defaults", cfg, parse_defaults);
}
