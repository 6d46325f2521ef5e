/*
 * What every part of the schema parses with: the error context (file and
 * JSON path of each message), the allocators that turn running out of
 * memory into an error, the typed getters (also used by the probe types,
 * see cfg.h) and the check for unknown keys with its "did you mean" hint.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cfg.h"
#include "cfg_int.h"
#include "pfx.h"

#define IFNAME_MAX		15	/* IFNAMSIZ - 1 */

/*
 * Out of memory while loading: the allocators below set this and return
 * NULL, every caller stops or leaves its field NULL, and cfg_load() throws
 * the partial configuration away with an error. A reload that runs out of
 * memory thus keeps the running configuration instead of ending the daemon.
 */
bool		cfg_oom;
unsigned	cfg_test_fail_alloc;

static bool
alloc_fails(void)
{
	return cfg_test_fail_alloc > 0 && --cfg_test_fail_alloc == 0;
}

void *
cfg_xcalloc(size_t n, size_t size)
{
	void	*p = NULL;

	if (alloc_fails() || (p = calloc(n, size)) == NULL)
		cfg_oom = true;
	return p;
}

/* NULL on failure, p left as it was. */
void *
cfg_xreallocarray(void *p, size_t n, size_t size)
{
	void	*q = NULL;

	if (alloc_fails() || (size != 0 && n > SIZE_MAX / size) ||
	    (q = realloc(p, n * size)) == NULL)
		cfg_oom = true;
	return q;
}

/* NULL for NULL: a string that could not be made cannot be copied either. */
char *
cfg_xstrdup(const char *s)
{
	char	*d = NULL;

	if (s == NULL || alloc_fails() || (d = strdup(s)) == NULL)
		cfg_oom = true;
	return d;
}

void
cfg_errs_add(struct cfg_errors *errs, const char *line)
{
	char	*copy = cfg_xstrdup(line), **tmp;

	if (copy == NULL)
		return;
	/* Messages quote operator input; keep a terminal or journal line one line. */
	for (char *c = copy; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if ((tmp = cfg_xreallocarray(errs->msgs, errs->n + 1, sizeof(*tmp))) == NULL) {
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

void
cfg_ctx_init(struct cfg_ctx *ctx, struct cfg_errors *errs, const char *file)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->errs = errs;
	ctx->file = file;
}

/* Descends into "key" or "key[index]"; returns what cfg_ctx_pop() needs to come back. */
size_t
cfg_ctx_push(struct cfg_ctx *ctx, const char *key, long index)
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

void
cfg_ctx_pop(struct cfg_ctx *ctx, size_t mark)
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
	cfg_errs_add(ctx->errs, line);
}

void
cfg_error(struct cfg_ctx *ctx, const char *key, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	cfg_verror(ctx, key, fmt, ap);
	va_end(ap);
}

const char *
cfg_json_type_word(struct json_object *v)
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
struct json_object *
cfg_lookup(struct json_object *obj, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

int
cfg_absent(struct cfg_ctx *ctx, const char *key, bool required)
{
	if (required)
		cfg_error(ctx, key, "is required");
	return 0;
}

int
cfg_wrong_type(struct cfg_ctx *ctx, const char *key, const char *expected,
    struct json_object *v)
{
	cfg_error(ctx, key, "expected %s, got %s", expected, cfg_json_type_word(v));
	return -1;
}

int
cfg_get_string(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, char **out)
{
	struct json_object	*v;
	const char		*s;

	if ((v = cfg_lookup(obj, key)) == NULL)
		return cfg_absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_string))
		return cfg_wrong_type(ctx, key, "a string", v);
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v)) {
		cfg_error(ctx, key, "contains a NUL character");
		return -1;
	}
	if ((*out = cfg_xstrdup(s)) == NULL)
		return -1;
	return 1;
}

int
cfg_get_bool(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, bool *out)
{
	struct json_object	*v;

	if ((v = cfg_lookup(obj, key)) == NULL)
		return cfg_absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_boolean))
		return cfg_wrong_type(ctx, key, "true or false", v);
	*out = json_object_get_boolean(v);
	return 1;
}

/*
 * Returns 1 with an integer in [min, max], or -1 with nothing reported (the
 * caller words it). json-c clamps integers beyond int64 to INT64_MAX/MIN,
 * which every caller's range excludes.
 */
int
cfg_int_in_range(struct json_object *v, int64_t min, int64_t max, int64_t *out)
{
	int64_t	i;

	i = json_object_get_int64(v);
	if (i < min || i > max)
		return -1;
	*out = i;
	return 1;
}

const char *
cfg_json_text(struct json_object *v)
{
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

int
cfg_get_uint(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, unsigned min, unsigned max, unsigned *out)
{
	struct json_object	*v;
	int64_t			 i;

	if ((v = cfg_lookup(obj, key)) == NULL)
		return cfg_absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_int))
		return cfg_wrong_type(ctx, key, "an integer", v);
	if (cfg_int_in_range(v, min, max, &i) == -1) {
		cfg_error(ctx, key, "%s is out of range (%u-%u)", cfg_json_text(v), min,
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

	if ((v = cfg_lookup(obj, key)) == NULL)
		return cfg_absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_int))
		return cfg_wrong_type(ctx, key, "a port number", v);
	if (cfg_int_in_range(v, 1, 65535, &i) == -1) {
		cfg_error(ctx, key, "%s is not a port (1-65535)", cfg_json_text(v));
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

	if ((v = cfg_lookup(obj, key)) == NULL)
		return cfg_absent(ctx, key, required);
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
		if (cfg_int_in_range(v, 0, (int64_t)(CFG_MAX_DURATION_US / US_PER_S), &i) == -1)
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
		return cfg_wrong_type(ctx, key,
		    "a duration (a string like \"250ms\" or a number of seconds)", v);
	}
negative:
	cfg_error(ctx, key, "%s is negative", cfg_json_text(v));
	return -1;
too_large:
	cfg_error(ctx, key, "%s seconds is too long (at most 24h)", cfg_json_text(v));
	return -1;
}

int
cfg_get_ipaddr(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    bool required, int *family, void *addr)
{
	struct json_object	*v;
	struct in6_addr		 a;
	int			 fam;

	if ((v = cfg_lookup(obj, key)) == NULL)
		return cfg_absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_string))
		return cfg_wrong_type(ctx, key, "an IP address string", v);
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

	if ((v = cfg_lookup(obj, key)) == NULL)
		return cfg_absent(ctx, key, required);
	if (!json_object_is_type(v, json_type_array))
		return cfg_wrong_type(ctx, key, "an array of strings", v);
	len = json_object_array_length(v);
	if ((strv = cfg_xcalloc(len + 1, sizeof(*strv))) == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		e = json_object_array_get_idx(v, i);
		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		if (e == NULL || !json_object_is_type(e, json_type_string)) {
			cfg_error(ctx, k, "expected a string, got %s",
			    e == NULL ? "null" : cfg_json_type_word(e));
			rc = -1;
		} else if (strlen(json_object_get_string(e)) !=
		    (size_t)json_object_get_string_len(e)) {
			cfg_error(ctx, k, "contains a NUL character");
			rc = -1;
		}
		if (rc == -1)
			continue;
		if ((strv[i] = cfg_xstrdup(json_object_get_string(e))) == NULL)
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

int
cfg_get_enum(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
    const char *const *names, int *out)
{
	struct json_object	*v;
	const char		*s;
	char			 list[128];
	size_t			 off = 0;

	if ((v = cfg_lookup(obj, key)) == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return cfg_wrong_type(ctx, key, "a string", v);
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
bool
cfg_is_word(const char *s, size_t maxlen)
{
	size_t	n = 0;

	for (; s[n] != '\0'; n++)
		if (!isalnum((unsigned char)s[n]) && strchr("_.-", s[n]) == NULL)
			return false;
	return n > 0 && n <= maxlen;
}

int
cfg_get_word(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
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
	if (!cfg_is_word(s, maxlen)) {
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

int
cfg_get_ifname(struct cfg_ctx *ctx, struct json_object *obj, const char *key, char **out)
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
void
cfg_check_keys(struct cfg_ctx *ctx, struct json_object *obj, const char *const *known,
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
