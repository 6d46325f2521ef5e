/*
 * Configuration loading. Every check reports through cfg_error() and goes on,
 * so that one run shows an operator every mistake; cfg_load() decides at the
 * end, from the error count, whether the result may be used.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cfg.h"
#include "log.h"
#include "pfx.h"

#define US_PER_MS		UINT64_C(1000)
#define US_PER_S		UINT64_C(1000000)
#define US_PER_M		(60 * US_PER_S)
#define US_PER_H		(60 * US_PER_M)

#define MIN_INTERVAL_US		(10 * US_PER_MS)
#define IFNAME_MAX		15	/* IFNAMSIZ - 1 */
#define SVC_NAME_MAX		64
#define PROBE_NAME_MAX		64
#define VRF_NAME_MAX		36	/* FRR's VRF_NAMSIZ */
#define JITTER_MAX		50
#define RISE_FALL_MAX		100
#define CTX_PATH_MAX		256
#define MSG_MAX			1024
#define SUN_PATH_MAX		(sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1)

struct cfg_ctx {
	struct cfg_errors	*errs;
	const char		*file;		/* as shown in messages */
	char			 path[CTX_PATH_MAX];	/* "probes[1]", "" at the top */
	size_t			 pathlen;
};

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
static const char *const service_keys[] = {
	"name", "prefixes", "method", "interface", "interval", "timeout", "rise",
	"fall", "hold_down", "damping", "require", "on_warning", "degraded_route_map",
	"drain_grace", "probes", NULL
};
static const char *const probe_keys[] = {
	"type", "name", "interval", "timeout", "warning", "critical", NULL
};

static const char *const method_names[] = { "address", "network", "both", NULL };
static const char *const on_warning_names[] = {
	"announce", "degrade", "withdraw", NULL
};
static const char *const on_exit_names[] = { "withdraw", "keep", NULL };
static const char *const shared_names[] = { "all", "any", NULL };
static const char *const log_format_names[] = { "text", "json", NULL };

/*
 * Out of memory while loading: the allocators below set this and return
 * NULL, every caller stops or leaves its field NULL, and cfg_load() throws
 * the partial configuration away with an error. A reload that runs out of
 * memory thus keeps the running configuration instead of ending the daemon.
 */
static bool	cfg_oom;
unsigned	cfg_test_fail_alloc;

static bool
alloc_fails(void)
{
	return cfg_test_fail_alloc > 0 && --cfg_test_fail_alloc == 0;
}

static void *
xcalloc(size_t n, size_t size)
{
	void	*p = NULL;

	if (alloc_fails() || (p = calloc(n, size)) == NULL)
		cfg_oom = true;
	return p;
}

/* NULL on failure, p left as it was. */
static void *
xreallocarray(void *p, size_t n, size_t size)
{
	void	*q = NULL;

	if (alloc_fails() || (size != 0 && n > SIZE_MAX / size) ||
	    (q = realloc(p, n * size)) == NULL)
		cfg_oom = true;
	return q;
}

/* NULL for NULL: a string that could not be made cannot be copied either. */
static char *
xstrdup(const char *s)
{
	char	*d = NULL;

	if (s == NULL || alloc_fails() || (d = strdup(s)) == NULL)
		cfg_oom = true;
	return d;
}

static char *
path_join(const char *dir, const char *name)
{
	size_t	 dlen, len;
	char	*p;

	if (dir == NULL || name == NULL)
		return NULL;
	if (name[0] == '/' || strcmp(dir, ".") == 0)
		return xstrdup(name);
	dlen = strlen(dir);
	len = dlen + strlen(name) + 2;
	if ((p = xcalloc(1, len)) == NULL)
		return NULL;
	snprintf(p, len, "%s%s%s", dir, dlen > 0 && dir[dlen - 1] == '/' ? "" : "/",
	    name);
	return p;
}

static char *
path_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*d;

	if (slash == NULL)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	if ((d = xcalloc(1, (size_t)(slash - path) + 1)) == NULL)
		return NULL;
	memcpy(d, path, (size_t)(slash - path));
	return d;
}

/* Names in messages: relative to the main file's directory when under it. */
static char *
path_shown(const char *base_dir, const char *path)
{
	size_t	len;

	if (base_dir == NULL || path == NULL)
		return NULL;
	len = strlen(base_dir);

	if (strcmp(base_dir, ".") == 0) {
		if (path[0] != '/' && strncmp(path, "../", 3) != 0)
			goto strip;
		return xstrdup(path);
	}
	if (strncmp(path, base_dir, len) != 0)
		return xstrdup(path);
	if (len > 0 && base_dir[len - 1] == '/') {
		if (path[len] == '\0')
			return xstrdup(path);
		path += len;
	} else if (path[len] == '/')
		path += len + 1;
	else
		return xstrdup(path);
strip:
	while (strncmp(path, "./", 2) == 0)
		path += 2;
	return xstrdup(path[0] == '\0' ? "." : path);
}

static void
errs_add(struct cfg_errors *errs, const char *line)
{
	char	*copy = xstrdup(line), **tmp;

	if (copy == NULL)
		return;
	/* Messages quote operator input; keep a terminal or journal line one line. */
	for (char *c = copy; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if ((tmp = xreallocarray(errs->msgs, errs->n + 1, sizeof(*tmp))) == NULL) {
		free(copy);
		return;
	}
	errs->msgs = tmp;
	errs->msgs[errs->n++] = copy;
}

void
cfg_errors_clear(struct cfg_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

static void
ctx_init(struct cfg_ctx *ctx, struct cfg_errors *errs, const char *file)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->errs = errs;
	ctx->file = file;
}

/* Descends into "key" or "key[index]"; returns what ctx_pop() needs to come back. */
static size_t
ctx_push(struct cfg_ctx *ctx, const char *key, long index)
{
	size_t	old = ctx->pathlen;
	int	n;

	if (index < 0)
		n = snprintf(ctx->path + old, sizeof(ctx->path) - old, "%s%s",
		    old > 0 ? "." : "", key);
	else
		n = snprintf(ctx->path + old, sizeof(ctx->path) - old, "%s%s[%ld]",
		    old > 0 ? "." : "", key, index);
	if (n < 0 || (size_t)n >= sizeof(ctx->path) - old)
		ctx->pathlen = sizeof(ctx->path) - 1;
	else
		ctx->pathlen = old + (size_t)n;
	return old;
}

static void
ctx_pop(struct cfg_ctx *ctx, size_t mark)
{
	ctx->pathlen = mark;
	ctx->path[mark] = '\0';
}

static void
cfg_verror(struct cfg_ctx *ctx, const char *key, const char *fmt, va_list ap)
{
	char	msg[MSG_MAX], line[PATH_MAX + CTX_PATH_MAX + MSG_MAX + 8];
	bool	has_key = key != NULL && key[0] != '\0';

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (ctx->pathlen == 0 && !has_key)
		snprintf(line, sizeof(line), "%s: %s", ctx->file, msg);
	else
		snprintf(line, sizeof(line), "%s: %s%s%s: %s", ctx->file, ctx->path,
		    ctx->pathlen > 0 && has_key ? "." : "", has_key ? key : "", msg);
	errs_add(ctx->errs, line);
}

void
cfg_error(struct cfg_ctx *ctx, const char *key, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cfg_verror(ctx, key, fmt, ap);
	va_end(ap);
}

static const char *
json_type_word(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number with a fraction";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

/* JSON null counts as absent: "send": null reads as "no send". */
static struct json_object *
lookup(struct json_object *obj, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

static int
absent(struct cfg_ctx *ctx, const char *key, bool required)
{
	if (required)
		cfg_error(ctx, key, "is required");
	return 0;
}

static int
wrong_type(struct cfg_ctx *ctx, const char *key, const char *expected,
    struct json_object *v)
{
	cfg_error(ctx, key, "expected %s, got %s", expected, json_type_word(v));
	return -1;
}

int
cfg_get_string(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, char **out)
{
	struct json_object	*v;
	const char		*s;

	if ((v = lookup(obj, key)) == NULL)
		return absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_string))
		return wrong_type(ctx, key, "a string", v);
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		cfg_error(ctx, key, "contains a NUL character");
		return -1;
	}
	if ((*out = xstrdup(s)) == NULL)
		return -1;
	return 1;
}

int
cfg_get_bool(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, bool *out)
{
	struct json_object	*v;

	if ((v = lookup(obj, key)) == NULL)
		return absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_boolean))
		return wrong_type(ctx, key, "true or false", v);
	*out = json_object_get_boolean(v);
	return 1;
}

/*
 * Returns 1 with an integer in [min, max], or -1 with nothing reported (the
 * caller words it). json-c clamps integers beyond int64 to INT64_MAX/MIN,
 * which every caller's range excludes.
 */
static int
int_in_range(struct json_object *v, int64_t min, int64_t max, int64_t *out)
{
	int64_t	i;

	i = json_object_get_int64(v);
	if (i < min || i > max)
		return -1;
	*out = i;
	return 1;
}

static const char *
json_text(struct json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

int
cfg_get_uint(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, unsigned min, unsigned max, unsigned *out)
{
	struct json_object	*v;
	int64_t			 i;

	if ((v = lookup(obj, key)) == NULL)
		return absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_int))
		return wrong_type(ctx, key, "an integer", v);
	if (int_in_range(v, min, max, &i) == -1) {
		cfg_error(ctx, key, "%s is out of range (%u-%u)", json_text(v), min,
		    max);
		return -1;
	}
	*out = (unsigned)i;
	return 1;
}

int
cfg_get_port(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, uint16_t *out)
{
	struct json_object	*v;
	int64_t			 i;

	if ((v = lookup(obj, key)) == NULL)
		return absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_int))
		return wrong_type(ctx, key, "a port number", v);
	if (int_in_range(v, 1, 65535, &i) == -1) {
		cfg_error(ctx, key, "%s is not a port (1-65535)", json_text(v));
		return -1;
	}
	*out = (uint16_t)i;
	return 1;
}

int
cfg_get_duration(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, uint64_t *out_us)
{
	struct json_object	*v;
	char			 err[MSG_MAX];
	double			 d;
	int64_t			 i;

	if ((v = lookup(obj, key)) == NULL)
		return absent(ctx, key, required);
	switch (json_object_get_type(v)) {
	case json_type_string:
		if (cfg_duration_parse(json_object_get_string(v), out_us, err,
		    sizeof(err)) == -1) {
			cfg_error(ctx, key, "%s", err);
			return -1;
		}
		return 1;
	case json_type_int:
		if (json_object_get_int64(v) < 0)
			goto negative;
		if (int_in_range(v, 0, (int64_t)(CFG_MAX_DURATION_US / US_PER_S), &i) == -1)
			goto too_large;
		*out_us = (uint64_t)i * US_PER_S;
		return 1;
	case json_type_double:
		d = json_object_get_double(v);
		if (d < 0)
			goto negative;
		if (isnan(d) || d * 1e6 > (double)CFG_MAX_DURATION_US)
			goto too_large;
		*out_us = (uint64_t)(d * 1e6 + 0.5);
		return 1;
	default:
		return wrong_type(ctx, key,
		    "a duration (a string like \"250ms\" or a number of seconds)", v);
	}
negative:
	cfg_error(ctx, key, "%s is negative", json_text(v));
	return -1;
too_large:
	cfg_error(ctx, key, "%s seconds is too long (at most 24h)", json_text(v));
	return -1;
}

int
cfg_get_ipaddr(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, int *family, void *addr)
{
	struct json_object	*v;
	struct in6_addr		 a;
	int			 fam;

	if ((v = lookup(obj, key)) == NULL)
		return absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_string))
		return wrong_type(ctx, key, "an IP address string", v);
	if (pfx_addr_parse(json_object_get_string(v), &fam, &a) == -1) {
		cfg_error(ctx, key, "'%s' is not an IPv4 or IPv6 address "
		    "(host names are not resolved)", json_object_get_string(v));
		return -1;
	}
	*family = fam;
	memcpy(addr, &a, fam == AF_INET ? sizeof(struct in_addr) : sizeof(a));
	return 1;
}

void
cfg_strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int
cfg_get_strings(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, char ***out, size_t *n)
{
	struct json_object	 *v, *e;
	char			**strv, k[128];
	size_t			  len;
	int			  rc = 1;

	if ((v = lookup(obj, key)) == NULL)
		return absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_array))
		return wrong_type(ctx, key, "an array of strings", v);
	len = json_object_array_length(v);
	if ((strv = xcalloc(len + 1, sizeof(*strv))) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		e = json_object_array_get_idx(v, i);
		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		if (e == NULL || !json_object_is_type(e, json_type_string)) {
			cfg_error(ctx, k, "expected a string, got %s",
			    e == NULL ? "null" : json_type_word(e));
			rc = -1;
		} else if (strlen(json_object_get_string(e)) !=
		    (size_t)json_object_get_string_len(e)) {
			cfg_error(ctx, k, "contains a NUL character");
			rc = -1;
		}
		if (rc == -1)
			continue;
		if ((strv[i] = xstrdup(json_object_get_string(e))) == NULL)
			rc = -1;
	}
	if (rc == -1) {
		/* Not cfg_strv_free(): a bad element left a NULL in the middle. */
		for (size_t i = 0; i < len; i++)
			free(strv[i]);
		free(strv);
		return -1;
	}
	*out = strv;
	*n = len;
	return 1;
}

static int
get_object(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    struct json_object **out)
{
	struct json_object	*v;

	if ((v = lookup(obj, key)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_object))
		return wrong_type(ctx, key, "an object", v);
	*out = v;
	return 1;
}

static int
get_enum(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    const char *const *names, int *out)
{
	struct json_object	*v;
	const char		*s;
	char			 list[128];
	size_t			 off = 0;

	if ((v = lookup(obj, key)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return wrong_type(ctx, key, "a string", v);
	s = json_object_get_string(v);
	for (int i = 0; names[i] != NULL; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = i;
			return 1;
		}
		if (off < sizeof(list))
			off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
			    i > 0 ? (names[i + 1] == NULL ? " or " : ", ") : "", names[i]);
	}
	cfg_error(ctx, key, "'%s' is not %s", s, list);
	return -1;
}

/*
 * The get_* helpers below replace *out, a heap string or NULL, only when the
 * value is present and valid.
 */

/* A string made of [A-Za-z0-9_.-]: safe in vtysh arguments and file names. */
static bool
is_word(const char *s, size_t maxlen)
{
	size_t	n = 0;

	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && strchr("_.-", s[n]) == NULL)
			return false;
	return n > 0 && n <= maxlen;
}

static int
get_word(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    size_t maxlen, const char *what, char **out)
{
	char	*s = NULL;
	int	 r;

	if ((r = cfg_get_string(ctx, obj, key, false, &s)) != 1)
		return r;
	/* A pathspace or VRF name ends up in a path: "." and ".." would climb. */
	if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		cfg_error(ctx, key, "'%s' is not a valid %s (it would name a directory "
		    "that is not its own)", s, what);
		free(s);
		return -1;
	}
	if (!is_word(s, maxlen)) {
		cfg_error(ctx, key, "'%s' is not a valid %s (1-%zu characters of "
		    "A-Z a-z 0-9 _ . -)", s, what, maxlen);
		free(s);
		return -1;
	}
	free(*out);
	*out = s;
	return 1;
}

/* What the kernel's dev_valid_name() accepts. */
static bool
is_ifname(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > IFNAME_MAX || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '/' || s[i] == ':' || isspace((unsigned char)s[i]))
			return false;
	return true;
}

static int
get_ifname(struct cfg_ctx *ctx, struct json_object *obj, const char *key, char **out)
{
	char	*s = NULL;
	int	 r;

	if ((r = cfg_get_string(ctx, obj, key, false, &s)) != 1)
		return r;
	if (!is_ifname(s)) {
		cfg_error(ctx, key, "'%s' is not an interface name (1-%d characters, "
		    "no '/', ':' or white space)", s, IFNAME_MAX);
		free(s);
		return -1;
	}
	free(*out);
	*out = s;
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

	if ((v = lookup(obj, key)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return wrong_type(ctx, key, "a percentage string like \"10%\"", v);
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

/* Small edit distance, for "did you mean" hints. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t	la = strlen(a), lb = strlen(b), row[33], diag, up;

	if (la > 32 || lb > 32)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			up = row[j];
			row[j] = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < row[j])
				row[j] = up + 1;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			diag = up;
		}
	}
	return row[lb];
}

static bool
in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

static const char *
closest(const char *s, const char *const *list, const char *best, size_t *bestd)
{
	size_t	d;

	for (size_t i = 0; list != NULL && list[i] != NULL; i++) {
		d = edit_distance(s, list[i]);
		if (d < *bestd && d <= 2 && d < strlen(list[i])) {
			*bestd = d;
			best = list[i];
		}
	}
	return best;
}

/* Typos must not pass silently: every key must be one of known or more. */
static void
check_keys(struct cfg_ctx *ctx, struct json_object *obj, const char *const *known,
    const char *const *more)
{
	const char	*hint;
	size_t		 d;

	json_object_object_foreach(obj, key, val) {
		(void)val;
		if (in_list(key, known) || in_list(key, more))
			continue;
		d = SIZE_MAX;
		hint = closest(key, more, closest(key, known, NULL, &d), &d);
		if (hint != NULL)
			cfg_error(ctx, NULL, "unknown key '%s' (did you mean '%s'?)",
			    key, hint);
		else
			cfg_error(ctx, NULL, "unknown key '%s'", key);
	}
}

/* One file or directory: root's, and writable by nobody else (a sticky directory may be). */
static int
trusted_node(const char *path, bool dir, char *why, size_t whylen)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != 0) {
		snprintf(why, whylen, "%s is owned by uid %u: only root may own it and the "
		    "directories above it", path, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st.st_mode & S_ISVTX))) {
		snprintf(why, whylen, "%s is writable by group or others (mode %04o): only "
		    "root may write it and the directories above it", path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
cfg_stat_trusted(const struct stat *st, char *why, size_t whylen)
{
	if (st->st_uid != 0) {
		snprintf(why, whylen, "owned by uid %u: only root may own it",
		    (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "writable by group or others (mode %04o): only root "
		    "may write it", (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * One name on a path as given: a symbolic link there must be root's too
 * (in a sticky directory its owner could point it elsewhere), and what it
 * names follows trusted_node()'s rule.
 */
static int
trusted_name(const char *path, bool dir, char *why, size_t whylen)
{
	struct stat	st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != 0) {
		snprintf(why, whylen, "%s is a symbolic link owned by uid %u: only root may "
		    "own it", path, (unsigned)st.st_uid);
		return -1;
	}
	return trusted_node(path, dir, why, whylen);
}

/* path and every directory above it, by name (path is changed). */
static int
trusted_chain(char *path, char *why, size_t whylen)
{
	char	*slash;

	if (trusted_name(path, false, why, whylen) == -1)
		return -1;
	while ((slash = strrchr(path, '/')) != NULL) {
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (trusted_name(path, true, why, whylen) == -1)
			return -1;
		if (slash == path)
			break;
	}
	return 0;
}

int
cfg_path_trusted(const char *path, char *resolved, size_t reslen, char *why,
    size_t whylen)
{
	struct stat	st;
	char		given[PATH_MAX], real[PATH_MAX];

	if ((size_t)snprintf(given, sizeof(given), "%s", path) >= sizeof(given)) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	/* A missing file is root's to create: the directories above it are checked. */
	if (lstat(path, &st) == -1 && errno == ENOENT) {
		snprintf(real, sizeof(real), "%s", path);
	} else if (realpath(path, real) == NULL) {
		snprintf(why, whylen, "%s: %s", path, errno == ENOENT ?
		    "a dangling symbolic link" : strerror(errno));
		return -1;
	}
	/*
	 * Both the names as given (a directory on the way may be a link, or
	 * writable by a user) and what they resolve to; the caller executes
	 * the resolved path, so a link changed after the check is not followed.
	 */
	if (trusted_chain(given, why, whylen) == -1)
		return -1;
	if (resolved != NULL &&
	    (size_t)snprintf(resolved, reslen, "%s", real) >= reslen) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	return trusted_chain(real, why, whylen);
}

int
cfg_duration_parse(const char *s, uint64_t *us, char *err, size_t errlen)
{
	static const struct {
		const char	*name;
		uint64_t	 us;
	} units[] = {
		{ "us", 1 }, { "ms", US_PER_MS }, { "s", US_PER_S },
		{ "m", US_PER_M }, { "h", US_PER_H },
	};
	const char	*p = s;
	uint64_t	 whole = 0, frac = 0, denom = 1, mult = 0, v, f;
	int		 nfrac = 0;

	if (s[0] == '\0') {
		snprintf(err, errlen, "empty duration (write e.g. \"250ms\" or \"2s\")");
		return -1;
	}
	if (s[0] == '-') {
		snprintf(err, errlen, "'%s' is negative", s);
		return -1;
	}
	if (!isdigit((unsigned char)*p))
		goto bad;
	for (; isdigit((unsigned char)*p); p++) {
		if (whole > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			goto overflow;
		whole = whole * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.') {
		if (!isdigit((unsigned char)*++p))
			goto bad;
		/* Nine decimals keep frac * mult within 64 bits for every unit. */
		for (; isdigit((unsigned char)*p); p++) {
			if (nfrac == 9) {
				if (*p != '0')
					goto fine;
				continue;
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			denom *= 10;
			nfrac++;
		}
	}
	if (*p == '\0') {
		snprintf(err, errlen, "'%s' has no unit (us, ms, s, m or h)", s);
		return -1;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strcmp(p, units[i].name) == 0)
			mult = units[i].us;
	if (mult == 0) {
		snprintf(err, errlen, "'%s' has an unknown unit '%s' (us, ms, s, m or h)",
		    s, p);
		return -1;
	}
	if (whole > UINT64_MAX / mult)
		goto overflow;
	f = frac * mult;
	if (f % denom != 0)
		goto fine;
	v = whole * mult;
	if (v > UINT64_MAX - f / denom || v + f / denom > CFG_MAX_DURATION_US)
		goto overflow;
	*us = v + f / denom;
	return 0;
bad:
	snprintf(err, errlen, "'%s' is not a duration (write e.g. \"250ms\", \"2s\", "
	    "\"1m\")", s);
	return -1;
overflow:
	snprintf(err, errlen, "'%s' is too long (at most 24h)", s);
	return -1;
fine:
	snprintf(err, errlen, "'%s' is finer than a microsecond", s);
	return -1;
}

/* Whole and fraction, the fraction without trailing zeros: "1.5" from 1, 500000, 6. */
static void
fmt_fraction(char *buf, size_t buflen, uint64_t whole, uint64_t frac, int digits,
    const char *unit)
{
	while (frac % 10 == 0) {
		frac /= 10;
		digits--;
	}
	snprintf(buf, buflen, "%" PRIu64 ".%0*" PRIu64 "%s", whole, digits, frac, unit);
}

const char *
cfg_duration_fmt(uint64_t us, char *buf, size_t buflen)
{
	if (us == 0)
		snprintf(buf, buflen, "0s");
	else if (us % US_PER_H == 0)
		snprintf(buf, buflen, "%" PRIu64 "h", us / US_PER_H);
	else if (us % US_PER_M == 0)
		snprintf(buf, buflen, "%" PRIu64 "m", us / US_PER_M);
	else if (us % US_PER_S == 0)
		snprintf(buf, buflen, "%" PRIu64 "s", us / US_PER_S);
	else if (us >= US_PER_S)
		fmt_fraction(buf, buflen, us / US_PER_S, us % US_PER_S, 6, "s");
	else if (us % US_PER_MS == 0)
		snprintf(buf, buflen, "%" PRIu64 "ms", us / US_PER_MS);
	else if (us >= US_PER_MS)
		fmt_fraction(buf, buflen, us / US_PER_MS, us % US_PER_MS, 3, "ms");
	else
		snprintf(buf, buflen, "%" PRIu64 "us", us);
	return buf;
}

/*
 * Reads one whole file into *buf. The checks use the open descriptor, not
 * the name, so they see the very file that is read. *missing (if not NULL)
 * tells an absent file apart, without an error.
 */
static int
read_file(struct cfg_ctx *ctx, const char *path, bool *missing, char **buf,
    size_t *len)
{
	struct stat	st;
	size_t		cap, next;
	char		*tmp;
	ssize_t		n;
	int		fd;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO in services.d must not hang the loader. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == ENOENT && missing != NULL)
			*missing = true;
		else
			cfg_error(ctx, NULL, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		cfg_error(ctx, NULL, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_error(ctx, NULL, "not a regular file");
		goto fail;
	}
	/* Whoever may write it may announce any prefix and run any plugin. */
	if (st.st_uid != 0) {
		cfg_error(ctx, NULL, "refusing a configuration file owned by uid %u: only "
		    "root may own it", (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		cfg_error(ctx, NULL, "refusing a configuration file writable by group or "
		    "others (mode %04o): only root may write it", (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size > CFG_MAX_FILE_SIZE)
		goto too_large;
	/*
	 * Sized by fstat(), not the limit: zeroing 1 MiB per file was most
	 * of the start-up time with thousands of service files. The file may
	 * grow after fstat(): the buffer grows too, and reading one byte more
	 * than the limit tells.
	 */
	cap = (size_t)st.st_size + 2;
	if ((*buf = xcalloc(1, cap + 1)) == NULL)
		goto fail;
	while (*len <= CFG_MAX_FILE_SIZE) {
		if (*len == cap) {
			next = cap * 2 > CFG_MAX_FILE_SIZE + 1 ? CFG_MAX_FILE_SIZE + 1 : cap * 2;
			if ((tmp = xreallocarray(*buf, next + 1, 1)) == NULL)
				goto fail;
			*buf = tmp;
			memset(*buf + cap, 0, next + 1 - cap);
			cap = next;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cfg_error(ctx, NULL, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (*len > CFG_MAX_FILE_SIZE)
		goto too_large;
	close(fd);
	return 0;

too_large:
	cfg_error(ctx, NULL, "larger than %d bytes", CFG_MAX_FILE_SIZE);
fail:
	free(*buf);
	*buf = NULL;
	close(fd);
	return -1;
}

/* Parses strict JSON whose top level is an object; errors say where. */
static struct json_object *
parse_json(struct cfg_ctx *ctx, const char *buf, size_t len)
{
	struct json_object	*obj;
	struct json_tokener	*tok;
	enum json_tokener_error	 jerr;
	size_t			 end, line = 1, col = 1;

	if ((tok = json_tokener_new()) == NULL) {
		cfg_oom = true;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_success) {
		/* Only white space may follow the value. */
		while (end < len && isspace((unsigned char)buf[end]))
			end++;
		if (end < len)
			jerr = json_tokener_error_parse_unexpected;
	}
	if (jerr != json_tokener_success) {
		for (size_t i = 0; i < end && i < len; i++, col++)
			if (buf[i] == '\n') {
				line++;
				col = 0;
			}
		cfg_error(ctx, NULL, "not valid JSON: %s (line %zu, column %zu)",
		    jerr == json_tokener_continue ? "unexpected end of file" :
		    json_tokener_error_desc(jerr), line, col);
		json_object_put(obj);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		cfg_error(ctx, NULL, "the top level must be a JSON object, not %s",
		    json_type_word(obj));
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *
read_json(struct cfg_ctx *ctx, const char *path, bool *missing)
{
	struct json_object	*obj;
	char			*buf;
	size_t			 len;

	if (read_file(ctx, path, missing, &buf, &len) == -1)
		return NULL;
	obj = parse_json(ctx, buf, len);
	free(buf);
	return obj;
}

/* A probe's or service's interval and timeout, checked where they were set. */
static void
check_timing(struct cfg_ctx *ctx, uint64_t interval, uint64_t timeout, int interval_r,
    int timeout_r)
{
	char	a[32], b[32];

	if (interval_r == 1 && interval < MIN_INTERVAL_US) {
		cfg_error(ctx, "interval", "%s is too short (at least %s)",
		    cfg_duration_fmt(interval, a, sizeof(a)),
		    cfg_duration_fmt(MIN_INTERVAL_US, b, sizeof(b)));
		return;
	}
	if (timeout_r == 1 && timeout == 0) {
		cfg_error(ctx, "timeout", "must be more than 0");
		return;
	}
	if (interval_r == -1 || timeout_r == -1 || (interval_r == 0 && timeout_r == 0))
		return;
	if (timeout > interval)
		cfg_error(ctx, timeout_r == 1 ? "timeout" : "interval",
		    "timeout %s exceeds interval %s (an attempt must end before "
		    "the next one starts)", cfg_duration_fmt(timeout, a, sizeof(a)),
		    cfg_duration_fmt(interval, b, sizeof(b)));
}

/*
 * "damping": false | true | { "enabled", "penalty", "suppress", "reuse",
 * "half_life", "max_suppress" }; keys not given keep the values in *dc
 * (the shipped defaults, or defaults.damping for a service).
 */
static void
parse_damping(struct cfg_ctx *ctx, struct json_object *obj, struct damp_cfg *dc)
{
	struct json_object	*v;
	const char		*why;
	size_t			 mark;

	if ((v = lookup(obj, "damping")) == NULL)
		return;
	if (json_object_is_type(v, json_type_boolean)) {
		dc->enabled = json_object_get_boolean(v);
		return;
	}
	if (!json_object_is_type(v, json_type_object)) {
		wrong_type(ctx, "damping", "true, false or an object", v);
		return;
	}
	mark = ctx_push(ctx, "damping", -1);
	check_keys(ctx, v, damping_keys, NULL);
	cfg_get_bool(ctx, v, "enabled", false, &dc->enabled);
	cfg_get_uint(ctx, v, "penalty", false, 1, 100000, &dc->penalty);
	cfg_get_uint(ctx, v, "suppress", false, 1, 100000, &dc->suppress);
	cfg_get_uint(ctx, v, "reuse", false, 1, 100000, &dc->reuse);
	cfg_get_duration(ctx, v, "half_life", false, &dc->half_life_us);
	cfg_get_duration(ctx, v, "max_suppress", false, &dc->max_suppress_us);
	if ((why = damp_cfg_check(dc)) != NULL)
		cfg_error(ctx, NULL, "%s", why);
	ctx_pop(ctx, mark);
}

static void
parse_defaults(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	int	ir, tr;

	check_keys(ctx, obj, defaults_keys, NULL);
	ir = cfg_get_duration(ctx, obj, "interval", false, &cfg->defaults.interval_us);
	tr = cfg_get_duration(ctx, obj, "timeout", false, &cfg->defaults.timeout_us);
	check_timing(ctx, cfg->defaults.interval_us, cfg->defaults.timeout_us, ir, tr);
	cfg_get_uint(ctx, obj, "rise", false, 1, RISE_FALL_MAX, &cfg->defaults.rise);
	cfg_get_uint(ctx, obj, "fall", false, 1, RISE_FALL_MAX, &cfg->defaults.fall);
	get_jitter(ctx, obj, "jitter", &cfg->defaults.jitter_pct);
	parse_damping(ctx, obj, &cfg->defaults.damping);
}

static void
parse_frr(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	char	*s = NULL;

	check_keys(ctx, obj, frr_keys, NULL);
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
	get_word(ctx, obj, "pathspace", 64, "pathspace name", &cfg->frr.pathspace);
	cfg_get_uint(ctx, obj, "asn", false, 1, UINT32_MAX, &cfg->frr.asn);
	get_word(ctx, obj, "vrf", VRF_NAME_MAX, "VRF name", &cfg->frr.vrf);
	if (cfg_get_duration(ctx, obj, "timeout", false, &cfg->frr.timeout_us) == 1 &&
	    cfg->frr.timeout_us == 0)
		cfg_error(ctx, "timeout", "must be more than 0");
}

static void
parse_log(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	char	*s = NULL;
	int	 lvl;

	check_keys(ctx, obj, log_keys, NULL);
	if (cfg_get_string(ctx, obj, "level", false, &s) == 1) {
		if ((lvl = log_level_parse(s)) == -1)
			cfg_error(ctx, "level", "'%s' is not debug, info, warning "
			    "or error", s);
		else
			cfg->log.level = lvl;
		free(s);
	}
	get_enum(ctx, obj, "format", log_format_names, &cfg->log.format);
	cfg_get_bool(ctx, obj, "syslog", false, &cfg->log.syslog);
}

static void
parse_sub(struct cfg_ctx *ctx, struct json_object *obj, const char *key, struct cfg *cfg,
    void (*parse)(struct cfg_ctx *, struct json_object *, struct cfg *))
{
	struct json_object	*sub;
	size_t			 mark;

	if (get_object(ctx, obj, key, &sub) != 1)
		return;
	mark = ctx_push(ctx, key, -1);
	parse(ctx, sub, cfg);
	ctx_pop(ctx, mark);
}

static void
parse_main(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg)
{
	int	e;

	check_keys(ctx, obj, main_keys, NULL);
	get_nonempty(ctx, obj, "services_dir", &cfg->services_dir);
	get_ifname(ctx, obj, "interface", &cfg->interface);
	parse_sub(ctx, obj, "frr", cfg, parse_frr);
	if (get_nonempty(ctx, obj, "control_socket", &cfg->control_socket) == 1 &&
	    strlen(cfg->control_socket) > SUN_PATH_MAX)
		cfg_error(ctx, "control_socket", "'%s' is too long for a Unix socket "
		    "(at most %zu bytes)", cfg->control_socket, SUN_PATH_MAX);
	get_nonempty(ctx, obj, "state_file", &cfg->state_file);
	get_nonempty(ctx, obj, "metrics_file", &cfg->metrics_file);
	parse_sub(ctx, obj, "log", cfg, parse_log);
	if (get_enum(ctx, obj, "on_exit", on_exit_names, &e) == 1)
		cfg->on_exit = (enum cfg_on_exit)e;
	if (get_enum(ctx, obj, "shared_prefixes", shared_names, &e) == 1)
		cfg->shared_prefixes = (enum cfg_shared)e;
	parse_sub(ctx, obj, "defaults", cfg, parse_defaults);
}

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

static int
key_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct canon {
	char	*buf;
	size_t	 len, cap;
};

static void
canon_put(struct canon *c, const char *text)
{
	size_t	 tlen = strlen(text);
	char	*tmp;

	if (c->len + tlen + 1 > c->cap) {
		if ((tmp = xreallocarray(c->buf, (c->len + tlen + 1) * 2, 1)) == NULL)
			return;
		c->buf = tmp;
		c->cap = (c->len + tlen + 1) * 2;
	}
	memcpy(c->buf + c->len, text, tlen + 1);
	c->len += tlen;
}

/* JSON with object keys sorted, so equal objects give equal text. */
static void
canon_value(struct canon *c, struct json_object *v)
{
	struct json_object	*key;
	const char		**keys;
	size_t			  n = 0;

	if (json_object_is_type(v, json_type_object)) {
		if ((keys = xcalloc((size_t)json_object_object_length(v) + 1,
		    sizeof(*keys))) == NULL)
			return;
		json_object_object_foreach(v, k, val) {
			(void)val;
			keys[n++] = k;
		}
		qsort(keys, n, sizeof(*keys), key_cmp);
		canon_put(c, "{");
		for (size_t i = 0; i < n; i++) {
			key = json_object_new_string(keys[i]);
			canon_put(c, i ? "," : "");
			canon_put(c, json_object_to_json_string_ext(key, JSON_C_TO_STRING_PLAIN));
			canon_put(c, ":");
			json_object_put(key);
			canon_value(c, json_object_object_get(v, keys[i]));
		}
		canon_put(c, "}");
		free(keys);
	} else if (json_object_is_type(v, json_type_array)) {
		canon_put(c, "[");
		for (size_t i = 0; i < json_object_array_length(v); i++) {
			canon_put(c, i ? "," : "");
			canon_value(c, json_object_array_get_idx(v, i));
		}
		canon_put(c, "]");
	} else
		canon_put(c, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
}

static char *
canon_json(struct json_object *v)
{
	struct canon	c = { 0 };

	canon_value(&c, v);
	return c.buf;
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

static int
parse_probe(struct cfg_ctx *ctx, struct json_object *obj, const struct cfg *cfg,
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
		wrong_type(ctx, NULL, "an object", obj);
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
	check_keys(ctx, obj, probe_keys, type->keys);

	if (cfg_get_string(ctx, obj, "name", false, &p->name) == 1 &&
	    !is_probe_name(p->name))
		cfg_error(ctx, "name", "'%s' is not a valid probe name (1-%d characters, "
		    "no quotes, '=', '\\' or control characters)", p->name,
		    PROBE_NAME_MAX);
	if (p->name == NULL && (p->name = xcalloc(1, strlen(tname) + 16)) != NULL)
		snprintf(p->name, strlen(tname) + 16, "%s#%u", tname, index);
	free(tname);
	if (p->name == NULL)
		return -1;

	ir = cfg_get_duration(ctx, obj, "interval", false, &p->interval_us);
	tr = cfg_get_duration(ctx, obj, "timeout", false, &p->timeout_us);
	check_timing(ctx, p->interval_us, p->timeout_us, ir, tr);
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
	p->canon = canon_json(obj);
	return ctx->errs->n == nerr ? 0 : -1;
}

static void
probe_clear(struct cfg_probe *p)
{
	if (p->type != NULL && p->params != NULL)
		p->type->free_params(p->params);
	free(p->name);
	free(p->canon);
	memset(p, 0, sizeof(*p));
}

static void
service_clear(struct cfg_service *s)
{
	for (size_t i = 0; i < s->nprobes; i++)
		probe_clear(&s->probes[i]);
	free(s->probes);
	free(s->prefixes);
	free(s->name);
	free(s->file);
	free(s->interface);
	free(s->degraded_route_map);
	memset(s, 0, sizeof(*s));
}

static void
parse_prefixes(struct cfg_ctx *ctx, struct json_object *obj, struct cfg_service *s)
{
	struct json_object	*arr, *v;
	char			 err[256], buf[PFX_STRLEN];
	size_t			 n, mark;

	if ((arr = lookup(obj, "prefixes")) == NULL) {
		absent(ctx, "prefixes", true);
		return;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		wrong_type(ctx, "prefixes", "an array of prefixes", arr);
		return;
	}
	if ((n = json_object_array_length(arr)) == 0) {
		cfg_error(ctx, "prefixes", "must list at least one prefix");
		return;
	}
	if ((s->prefixes = xcalloc(n, sizeof(*s->prefixes))) == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		v = json_object_array_get_idx(arr, i);
		mark = ctx_push(ctx, "prefixes", (long)i);
		if (!json_object_is_type(v, json_type_string))
			wrong_type(ctx, NULL, "a prefix string", v);
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
		ctx_pop(ctx, mark);
	}
}

static void
parse_probes(struct cfg_ctx *ctx, struct json_object *obj, const struct cfg *cfg,
    struct cfg_service *s)
{
	struct json_object	*arr;
	struct cfg_probe	*p;
	size_t			 n, mark;

	if ((arr = lookup(obj, "probes")) == NULL) {
		absent(ctx, "probes", true);
		return;
	}
	if (!json_object_is_type(arr, json_type_array)) {
		wrong_type(ctx, "probes", "an array of probes", arr);
		return;
	}
	if ((n = json_object_array_length(arr)) == 0) {
		cfg_error(ctx, "probes", "must list at least one probe");
		return;
	}
	if ((s->probes = xcalloc(n, sizeof(*s->probes))) == NULL)
		return;
	s->nprobes = n;
	for (size_t i = 0; i < n; i++) {
		p = &s->probes[i];
		mark = ctx_push(ctx, "probes", (long)i);
		if (parse_probe(ctx, json_object_array_get_idx(arr, i), cfg, s,
		    (unsigned)i, p) == 0) {
			for (size_t j = 0; j < i; j++)
				if (s->probes[j].name != NULL &&
				    strcmp(s->probes[j].name, p->name) == 0) {
					cfg_error(ctx, "name", "probe name '%s' is already "
					    "used by probes[%zu]", p->name, j);
					break;
				}
		}
		ctx_pop(ctx, mark);
	}
}

static void
parse_require(struct cfg_ctx *ctx, struct json_object *obj, struct cfg_service *s)
{
	struct json_object	*v;
	int64_t			 i;

	s->require_all = true;
	s->require = (unsigned)s->nprobes;
	if ((v = lookup(obj, "require")) == NULL)
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
		wrong_type(ctx, "require", "\"all\", \"any\" or an integer", v);
		return;
	}
	if (int_in_range(v, 1, INT64_MAX, &i) == -1) {
		cfg_error(ctx, "require", "%s is not a number of probes (at least 1)",
		    json_text(v));
		return;
	}
	if (s->nprobes > 0 && (uint64_t)i > s->nprobes) {
		cfg_error(ctx, "require", "%s is more than the number of probes (%zu)",
		    json_text(v), s->nprobes);
		return;
	}
	s->require_all = false;
	s->require = (unsigned)i;
}

static int
parse_service(struct cfg_ctx *ctx, struct json_object *obj, const struct cfg *cfg,
    const char *stem, struct cfg_service *s)
{
	size_t	nerr = ctx->errs->n;
	int	e, ir, tr, mr;

	check_keys(ctx, obj, service_keys, NULL);
	if (lookup(obj, "name") != NULL)
		get_word(ctx, obj, "name", SVC_NAME_MAX, "service name", &s->name);
	else if (!is_word(stem, SVC_NAME_MAX))
		cfg_error(ctx, NULL, "the file name gives the service name '%s', which "
		    "is not valid (1-%d characters of A-Z a-z 0-9 _ . -); rename the "
		    "file or set \"name\"", stem, SVC_NAME_MAX);
	else
		s->name = xstrdup(stem);

	parse_prefixes(ctx, obj, s);
	if ((mr = get_enum(ctx, obj, "method", method_names, &e)) == 1)
		s->method = (enum cfg_method)e;
	if (get_ifname(ctx, obj, "interface", &s->interface) != 1)
		s->interface = xstrdup(cfg->interface);
	s->interval_us = cfg->defaults.interval_us;
	s->timeout_us = cfg->defaults.timeout_us;
	ir = cfg_get_duration(ctx, obj, "interval", false, &s->interval_us);
	tr = cfg_get_duration(ctx, obj, "timeout", false, &s->timeout_us);
	check_timing(ctx, s->interval_us, s->timeout_us, ir, tr);
	s->rise = cfg->defaults.rise;
	s->fall = cfg->defaults.fall;
	cfg_get_uint(ctx, obj, "rise", false, 1, RISE_FALL_MAX, &s->rise);
	cfg_get_uint(ctx, obj, "fall", false, 1, RISE_FALL_MAX, &s->fall);
	cfg_get_duration(ctx, obj, "hold_down", false, &s->hold_down_us);
	s->damping = cfg->defaults.damping;
	parse_damping(ctx, obj, &s->damping);
	if (get_enum(ctx, obj, "on_warning", on_warning_names, &e) == 1)
		s->on_warning = (enum cfg_on_warning)e;
	if (s->on_warning == ONW_DEGRADE && s->method == METHOD_ADDRESS && mr != -1)
		cfg_error(ctx, "on_warning", "'degrade' needs method network or both "
		    "(the degraded route-map belongs to the network statement)");
	if (get_word(ctx, obj, "degraded_route_map", SVC_NAME_MAX, "route-map name",
	    &s->degraded_route_map) != 1)
		s->degraded_route_map = xstrdup("ANYCAST-DEGRADED");
	cfg_get_duration(ctx, obj, "drain_grace", false, &s->drain_grace_us);
	parse_probes(ctx, obj, cfg, s);
	parse_require(ctx, obj, s);
	return ctx->errs->n == nerr && !cfg_oom ? 0 : -1;
}

static int
service_cmp(const void *a, const void *b)
{
	const struct cfg_service	*x = a, *y = b;
	int				 r;

	if ((r = strcmp(x->name, y->name)) != 0)
		return r;
	return strcmp(x->file, y->file);
}

static int
file_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
is_json_name(const struct dirent *d)
{
	size_t	n = strlen(d->d_name);

	return n >= 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static void
load_service(struct cfg *cfg, struct cfg_errors *errs, const char *base_dir,
    const char *name)
{
	struct cfg_service	 s, *tmp;
	struct cfg_ctx		 ctx;
	struct json_object	*obj = NULL;
	char			*path, *stem;

	memset(&s, 0, sizeof(s));
	path = path_join(cfg->services_dir, name);
	s.file = path_shown(base_dir, path);
	stem = xstrdup(name);
	if (path == NULL || s.file == NULL || stem == NULL) {
		service_clear(&s);
		goto out;
	}
	ctx_init(&ctx, errs, s.file);
	stem[strlen(stem) - 5] = '\0';
	if ((obj = read_json(&ctx, path, NULL)) != NULL &&
	    parse_service(&ctx, obj, cfg, stem, &s) == 0 &&
	    (tmp = xreallocarray(cfg->services, cfg->nservices + 1,
	    sizeof(*cfg->services))) != NULL) {
		cfg->services = tmp;
		cfg->services[cfg->nservices++] = s;
	} else
		service_clear(&s);
out:
	json_object_put(obj);
	free(stem);
	free(path);
}

static void
load_services(struct cfg *cfg, struct cfg_errors *errs, const char *base_dir)
{
	struct dirent	**list;
	struct cfg_ctx	  ctx;
	struct stat	  st;
	char		 *shown;
	int		  n;

	if ((shown = path_shown(base_dir, cfg->services_dir)) == NULL)
		return;
	ctx_init(&ctx, errs, shown);
	if ((n = scandir(cfg->services_dir, &list, is_json_name, file_cmp)) == -1) {
		if (strcmp(shown, cfg->services_dir) == 0)
			cfg_error(&ctx, NULL, "cannot read the services directory: %s",
			    strerror(errno));
		else
			cfg_error(&ctx, NULL, "cannot read the services directory %s: %s",
			    cfg->services_dir, strerror(errno));
		free(shown);
		return;
	}
	/* Whoever may write there may add a service that announces any prefix. */
	if (stat(cfg->services_dir, &st) == 0 && st.st_uid != 0)
		cfg_error(&ctx, NULL, "refusing a services directory owned by uid %u: only "
		    "root may own it", (unsigned)st.st_uid);
	else if (stat(cfg->services_dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
		cfg_error(&ctx, NULL, "refusing a services directory writable by group or "
		    "others (mode %04o): only root may write it", (unsigned)(st.st_mode & 07777));
	else
		for (int i = 0; i < n && !cfg_oom; i++)
			load_service(cfg, errs, base_dir, list[i]->d_name);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	free(shown);
}

/* The first service before the one at index "before" that lists p, or NULL. */
static const struct cfg_service *
first_with(const struct cfg *cfg, size_t before, const struct pfx *p)
{
	for (size_t i = 0; i < before; i++)
		for (size_t k = 0; k < cfg->services[i].nprefixes; k++)
			if (pfx_equal(&cfg->services[i].prefixes[k], p))
				return &cfg->services[i];
	return NULL;
}

/*
 * A prefix shared by services is one route: it can be announced only one
 * way, and an address lives on one interface.
 */
static void
check_shared(const struct cfg *cfg, struct cfg_errors *errs)
{
	const struct cfg_service	*a, *b;
	struct cfg_ctx			 ctx;
	char				 buf[PFX_STRLEN];
	size_t				 mark;

	for (size_t j = 0; j < cfg->nservices; j++) {
		b = &cfg->services[j];
		ctx_init(&ctx, errs, b->file);
		for (size_t k = 0; k < b->nprefixes; k++) {
			if ((a = first_with(cfg, j, &b->prefixes[k])) == NULL)
				continue;
			mark = ctx_push(&ctx, "prefixes", (long)k);
			pfx_fmt(&b->prefixes[k], buf, sizeof(buf));
			if (a->method != b->method)
				cfg_error(&ctx, NULL, "%s is in service '%s' with method %s "
				    "and in service '%s' with method %s (a shared prefix "
				    "needs one method)", buf, a->name,
				    method_names[a->method], b->name,
				    method_names[b->method]);
			else if (a->method != METHOD_NETWORK &&
			    strcmp(a->interface, b->interface) != 0)
				cfg_error(&ctx, NULL, "%s is in service '%s' on interface "
				    "%s and in service '%s' on interface %s (an address "
				    "lives on one interface)", buf, a->name, a->interface,
				    b->name, b->interface);
			ctx_pop(&ctx, mark);
		}
	}
}

static void
check_names(const struct cfg *cfg, struct cfg_errors *errs)
{
	struct cfg_ctx	ctx;

	for (size_t i = 1; i < cfg->nservices; i++) {
		if (strcmp(cfg->services[i].name, cfg->services[i - 1].name) != 0)
			continue;
		ctx_init(&ctx, errs, cfg->services[i].file);
		cfg_error(&ctx, NULL, "service name '%s' is also used by %s",
		    cfg->services[i].name, cfg->services[i - 1].file);
	}
}

static struct cfg *
cfg_new(void)
{
	struct cfg	*cfg;

	if ((cfg = xcalloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	cfg->interface = xstrdup("lo");
	cfg->frr.vtysh = xstrdup("/usr/bin/vtysh");
	cfg->frr.timeout_us = 5 * US_PER_S;
	cfg->control_socket = xstrdup("/run/anycast-healthd/control.sock");
	cfg->state_file = xstrdup("/run/anycast-healthd/state.json");
	cfg->log.level = LOG_LVL_INFO;
	cfg->log.format = LOG_FMT_TEXT;
	cfg->on_exit = ON_EXIT_WITHDRAW;
	cfg->shared_prefixes = SHARED_ALL;
	cfg->defaults.interval_us = US_PER_S;
	cfg->defaults.timeout_us = 500 * US_PER_MS;
	cfg->defaults.rise = 3;
	cfg->defaults.fall = 2;
	cfg->defaults.jitter_pct = 10;
	damp_cfg_default(&cfg->defaults.damping);
	return cfg;
}

/*
 * vtysh runs as the daemon's user with its groups (frrvty) and, from
 * withdraw-all, as root: the same rule as for plugins. A missing one is
 * not refused here (FRR may be installed later; running it says so).
 */
static void
check_vtysh(struct cfg_ctx *ctx, const struct cfg *cfg)
{
	char	why[PATH_MAX + 256];

	if (cfg_oom || cfg->frr.vtysh == NULL)
		return;
	if (cfg_path_trusted(cfg->frr.vtysh, NULL, 0, why, sizeof(why)) == -1)
		cfg_error(ctx, NULL, "frr.vtysh: refusing %s: %s", cfg->frr.vtysh, why);
}

struct cfg *
cfg_load(const char *main_path, struct cfg_errors *errs)
{
	struct cfg		*cfg;
	struct json_object	*obj = NULL;
	struct cfg_ctx		 ctx;
	size_t			 nerr = errs->n;
	char			*base_dir = NULL, *rel, *shown = NULL;
	bool			 optional, missing;

	cfg_oom = false;
	/* Only the default may be absent: a path the operator typed must exist. */
	optional = main_path == NULL || strcmp(main_path, CFG_DEFAULT_MAIN) == 0;
	if (main_path == NULL)
		main_path = CFG_DEFAULT_MAIN;
	cfg = cfg_new();
	base_dir = path_dir(main_path);
	shown = path_shown(base_dir, main_path);
	if (cfg_oom)
		goto out;
	ctx_init(&ctx, errs, shown);
	missing = false;
	obj = read_json(&ctx, main_path, optional ? &missing : NULL);
	if (missing)
		cfg->services_dir = path_join(base_dir, "services.d");
	else {
		cfg->main_file = xstrdup(main_path);
		cfg->services_dir = xstrdup("services.d");
		if (obj != NULL)
			parse_main(&ctx, obj, cfg);
		rel = cfg->services_dir;
		cfg->services_dir = path_join(base_dir, rel);
		free(rel);
	}
	check_vtysh(&ctx, cfg);
	/*
	 * Services are checked even when the main file has mistakes, to show
	 * everything at once; not when it could not be read at all, as then
	 * services_dir and the defaults are guesses.
	 */
	if ((obj != NULL || cfg->main_file == NULL) && !cfg_oom)
		load_services(cfg, errs, base_dir);
	if (!cfg_oom) {
		if (cfg->nservices > 0)
			qsort(cfg->services, cfg->nservices, sizeof(*cfg->services),
			    service_cmp);
		check_names(cfg, errs);
		check_shared(cfg, errs);
	}
out:
	json_object_put(obj);
	free(base_dir);
	free(shown);
	if (cfg_oom) {
		/* Not counted by the test hook: it has fired by now. */
		errs_add(errs, "out of memory while loading the configuration");
		cfg_oom = false;
	}
	if (errs->n != nerr || cfg == NULL || cfg->services_dir == NULL) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static bool
probe_equal(const struct cfg_probe *a, const struct cfg_probe *b)
{
	return str_equal(a->name, b->name) && a->type == b->type &&
	    a->index == b->index && a->interval_us == b->interval_us &&
	    a->timeout_us == b->timeout_us && a->warning_us == b->warning_us &&
	    a->critical_us == b->critical_us && a->jitter_pct == b->jitter_pct &&
	    str_equal(a->canon, b->canon);
}

bool
cfg_service_equal(const struct cfg_service *a, const struct cfg_service *b)
{
	if (!str_equal(a->name, b->name) || a->nprefixes != b->nprefixes ||
	    a->method != b->method || !str_equal(a->interface, b->interface) ||
	    a->interval_us != b->interval_us || a->timeout_us != b->timeout_us ||
	    a->rise != b->rise || a->fall != b->fall ||
	    a->hold_down_us != b->hold_down_us ||
	    !damp_cfg_equal(&a->damping, &b->damping) ||
	    a->require != b->require ||
	    a->require_all != b->require_all || a->on_warning != b->on_warning ||
	    !str_equal(a->degraded_route_map, b->degraded_route_map) ||
	    a->drain_grace_us != b->drain_grace_us || a->nprobes != b->nprobes)
		return false;
	for (size_t i = 0; i < a->nprefixes; i++)
		if (!pfx_equal(&a->prefixes[i], &b->prefixes[i]))
			return false;
	for (size_t i = 0; i < a->nprobes; i++)
		if (!probe_equal(&a->probes[i], &b->probes[i]))
			return false;
	return true;
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nservices; i++)
		service_clear(&cfg->services[i]);
	free(cfg->services);
	free(cfg->main_file);
	free(cfg->services_dir);
	free(cfg->interface);
	free(cfg->frr.vtysh);
	free(cfg->frr.pathspace);
	free(cfg->frr.vrf);
	free(cfg->control_socket);
	free(cfg->state_file);
	free(cfg->metrics_file);
	free(cfg);
}
