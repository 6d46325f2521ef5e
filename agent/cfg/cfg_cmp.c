/*
 * The comparison reload uses to tell which services changed: every
 * resolved setting, and each probe's JSON in a canonical form (keys
 * sorted) so that a probe type need not know about reloads.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cfg.h"
#include "cfg_int.h"
#include "pfx.h"

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
		if ((tmp = cfg_xreallocarray(c->buf, (c->len + tlen + 1) * 2, 1)) == NULL)
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
		if ((keys = cfg_xcalloc((size_t)json_object_object_length(v) + 1,
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

char *
cfg_canon_json(struct json_object *v)
{
	struct canon	c = { 0 };

	canon_value(&c, v);
	return c.buf;
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

