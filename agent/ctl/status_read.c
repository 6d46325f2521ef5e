/*
 * status's reading of the daemon's reply. The reply of 10,000 services is
 * ~6 MB of JSON; as one json-c tree it was ~450,000 objects in ~80 MB (each
 * JSON object a hash table of its own), and parsing, walking and freeing
 * that tree was most of the client's time. So the services array is cut
 * out of the text, each service parsed alone, read into a view (what
 * status prints of it) and freed at once: the memory stays small and warm.
 * A reply not of the plain shape the daemon writes (comments, quotes json-c
 * reads leniently, a services array of other things) is parsed whole, as
 * before, and read into the same views; so is one that fails here, so that
 * whether a reply is accepted, and the message when not, stay json-c's.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "ctl_int.h"

struct span {
	size_t	start, end;
};

/* Where the services are in the text: the array's brackets, its objects. */
struct spans {
	size_t		 open, close;
	struct span	*v;
	size_t		 n, cap;
};

static bool
is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t
skip_ws(const char *t, size_t len, size_t i)
{
	while (i < len && is_ws(t[i]))
		i++;
	return i;
}

/* The index after the string whose quote is t[i], or 0 if it does not end. */
static size_t
string_end(const char *t, size_t len, size_t i)
{
	for (i++; i < len; i++) {
		if (t[i] == '\\')
			i++;
		else if (t[i] == '"')
			return i + 1;
	}
	return 0;
}

/*
 * The index after the object whose '{' is t[i]; 0 if it does not end, or
 * holds a comment or a single quote (json-c's lenient reading decides those).
 */
static size_t
object_end(const char *t, size_t len, size_t i)
{
	size_t	depth = 0;

	while (i < len) {
		if (t[i] == '"') {
			if ((i = string_end(t, len, i)) == 0)
				return 0;
			continue;
		}
		if (t[i] == '{' || t[i] == '[')
			depth++;
		else if ((t[i] == '}' || t[i] == ']') && --depth == 0)
			return i + 1;
		else if (t[i] == '/' || t[i] == '\'')
			return 0;
		i++;
	}
	return 0;
}

/* The array whose '[' is t[i]: objects separated by commas. 0, or -1. */
static int
scan_array(const char *t, size_t len, size_t i, struct spans *sp)
{
	struct span	*v;
	size_t		 e;

	sp->open = i;
	i = skip_ws(t, len, i + 1);
	while (i < len && t[i] != ']') {
		if (sp->n > 0 && (t[i] != ',' || (i = skip_ws(t, len, i + 1)) >= len))
			return -1;
		if (t[i] != '{' || (e = object_end(t, len, i)) == 0)
			return -1;
		if (sp->n == sp->cap) {
			if ((v = reallocarray(sp->v, sp->cap ? sp->cap * 2 : 1024,
			    sizeof(*v))) == NULL)
				return -1;
			sp->v = v;
			sp->cap = sp->cap ? sp->cap * 2 : 1024;
		}
		sp->v[sp->n].start = i;
		sp->v[sp->n++].end = e;
		i = skip_ws(t, len, e);
	}
	if (i >= len)
		return -1;
	sp->close = i;
	return 0;
}

/*
 * The one "services" array of the top-level object. 0, or -1. A key of
 * that object with an escape is not taken: json-c decodes it (and cuts it
 * at a \u0000), so it may be "services" again, and the last one counts.
 */
static int
scan_reply(const char *t, size_t len, struct spans *sp)
{
	size_t	depth = 0, i = 0, e;
	bool	key = false, colon = false, found = false, esc = false;

	while (i < len) {
		if (is_ws(t[i])) {
			i++;
			continue;
		}
		if (t[i] == '"') {
			if ((e = string_end(t, len, i)) == 0)
				return -1;
			key = depth == 1 && e - i == 10 && memcmp(t + i, "\"services\"", 10) == 0;
			esc = depth == 1 && memchr(t + i, '\\', e - i) != NULL;
			colon = false;
			i = e;
			continue;
		}
		if (t[i] == ':' && esc)
			return -1;
		esc = false;
		if (t[i] == '[' && colon && depth == 1) {
			/* Twice: json-c keeps the last; the whole parse does that. */
			if (found || scan_array(t, len, i, sp) == -1)
				return -1;
			found = true;
			i = sp->close + 1;
			key = colon = false;
			continue;
		}
		colon = t[i] == ':' && key;
		key = false;
		if (t[i] == '{' || t[i] == '[')
			depth++;
		else if ((t[i] == '}' || t[i] == ']') && (depth == 0 || --depth == 0))
			break;
		else if (t[i] == '/' || t[i] == '\'')
			return -1;
		i++;
	}
	return found && depth == 0 ? 0 : -1;
}

static void	view_clear(struct svc_view *v);

static char *
vdup(struct json_object *o, const char *key, bool *oom)
{
	char	*s;

	if ((s = strdup(jstr(o, key))) == NULL)
		*oom = true;
	return s;
}

/* Reads what status prints of the prefixes and probes. 0, or -1 out of memory. */
static int
view_lists(struct svc_view *v, struct json_object *svc)
{
	struct json_object	*arr, *e;
	bool			 oom = false;

	if ((arr = jarr(svc, "prefixes")) != NULL &&
	    (v->npfx = json_object_array_length(arr)) > 0 &&
	    (v->pfx = calloc(v->npfx, sizeof(*v->pfx))) == NULL)
		return -1;
	for (size_t j = 0; v->pfx != NULL && j < v->npfx; j++) {
		e = json_object_array_get_idx(arr, j);
		v->pfx[j].prefix = vdup(e, "prefix", &oom);
		v->pfx[j].interface = vdup(e, "interface", &oom);
		v->pfx[j].announced = jbool(e, "announced");
	}
	if ((arr = jarr(svc, "probes")) != NULL &&
	    (v->nprobes = json_object_array_length(arr)) > 0 &&
	    (v->probes = calloc(v->nprobes, sizeof(*v->probes))) == NULL)
		return -1;
	for (size_t j = 0; v->probes != NULL && j < v->nprobes; j++) {
		struct probe_view *p = &v->probes[j];

		e = json_object_array_get_idx(arr, j);
		p->name = vdup(e, "name", &oom);
		p->state = vdup(e, "state", &oom);
		p->health = vdup(e, "health", &oom);
		p->message = vdup(e, "message", &oom);
		p->latency_ms = jnum(e, "latency_ms");
		p->warning_ms = jnum(e, "warning_ms");
		p->critical_ms = jnum(e, "critical_ms");
	}
	return oom ? -1 : 0;
}

/* One service's view, from its object. 0, or -1 out of memory (v cleared). */
static int
view_fill(struct svc_view *v, struct json_object *svc)
{
	struct json_object	*d;
	bool			 oom = false;

	memset(v, 0, sizeof(*v));
	v->name = vdup(svc, "name", &oom);
	v->state = vdup(svc, "state", &oom);
	v->since = vdup(svc, "since", &oom);
	v->since_unix = jnum(svc, "since_unix");
	v->init_limit_ms = jnum(svc, "init_limit_ms");
	v->announcing = jbool(svc, "announcing");
	if ((d = json_object_object_get(svc, "damping")) != NULL) {
		v->damping = true;
		v->d_suppressed = jbool(d, "suppressed");
		v->d_penalty = jnum(d, "penalty");
		v->d_suppress = jnum(d, "suppress");
		v->d_reuse = jnum(d, "reuse");
		v->d_reuse_in_ms = jnum(d, "reuse_in_ms");
	}
	if (view_lists(v, svc) == -1 || oom) {
		view_clear(v);
		return -1;
	}
	return 0;
}

static void
view_clear(struct svc_view *v)
{
	free(v->name);
	free(v->state);
	free(v->since);
	for (size_t j = 0; v->pfx != NULL && j < v->npfx; j++) {
		free(v->pfx[j].prefix);
		free(v->pfx[j].interface);
	}
	free(v->pfx);
	for (size_t j = 0; v->probes != NULL && j < v->nprobes; j++) {
		free(v->probes[j].name);
		free(v->probes[j].state);
		free(v->probes[j].health);
		free(v->probes[j].message);
	}
	free(v->probes);
	free(v->json);
	memset(v, 0, sizeof(*v));
}

/*
 * A service as --json prints it inside the reply: json-c's text of it
 * alone, every line after the first indented two levels more (a string
 * holds no newline: json-c escapes it). NULL out of memory.
 */
static char *
view_json(struct json_object *svc)
{
	const char	*t = json_object_to_json_string_ext(svc, STATUS_JSON_FLAGS);
	size_t		 nl = 0, o = 0;
	char		*s;

	if (t == NULL)
		return NULL;
	for (const char *c = t; *c != '\0'; c++)
		nl += *c == '\n';
	if ((s = malloc(strlen(t) + 4 * nl + 1)) == NULL)
		return NULL;
	for (const char *c = t; *c != '\0'; c++) {
		s[o++] = *c;
		if (*c == '\n') {
			memcpy(s + o, "    ", 4);
			o += 4;
		}
	}
	s[o] = '\0';
	return s;
}

/* Adds svc's view if it is the one asked for (all: only NULL). 0, or -1. */
static int
view_add(struct status_views *sv, struct json_object *svc, const char *only)
{
	if (only != NULL && strcmp(jstr(svc, "name"), only) != 0)
		return 0;
	if (view_fill(&sv->v[sv->n], svc) == -1)
		return -1;
	sv->n++;
	if (sv->json && (sv->v[sv->n - 1].json = view_json(svc)) == NULL)
		return -1;
	return 0;
}

/*
 * The cut: the reply without its services (parsed whole: it is small),
 * then each service alone. 1 done, 0 not of that shape (nothing kept), -1
 * out of memory.
 */
static int
read_cut(const char *text, size_t len, const char *only, struct status_views *sv)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*o;
	struct spans		 sp = { 0 };
	char			*top = NULL;
	size_t			 rest;
	int			 rc = 0;

	if (scan_reply(text, len, &sp) == -1)
		goto out;
	rest = len - sp.close;
	if ((top = malloc(sp.open + 1 + rest + 1)) == NULL ||
	    (sv->v = calloc(sp.n + 1, sizeof(*sv->v))) == NULL ||
	    (tok = json_tokener_new_ex(JSON_TOKENER_DEFAULT_DEPTH - 2)) == NULL) {
		rc = -1;
		goto out;
	}
	memcpy(top, text, sp.open + 1);
	memcpy(top + sp.open + 1, text + sp.close, rest + 1);
	if ((sv->reply = json_tokener_parse(top)) == NULL ||
	    !json_object_is_type(sv->reply, json_type_object))
		goto out;
	/* A service is two levels down in the reply: json-c's depth limit less two. */
	for (size_t i = 0; i < sp.n; i++) {
		json_tokener_reset(tok);
		o = json_tokener_parse_ex(tok, text + sp.v[i].start,
		    (int)(sp.v[i].end - sp.v[i].start));
		if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
		    json_tokener_get_parse_end(tok) != sp.v[i].end - sp.v[i].start) {
			json_object_put(o);
			goto out;
		}
		rc = view_add(sv, o, only);
		json_object_put(o);
		if (rc == -1)
			goto out;
	}
	sv->cut = true;
	rc = 1;
out:
	if (rc != 1)
		status_views_free(sv);
	if (tok != NULL)
		json_tokener_free(tok);
	free(top);
	free(sp.v);
	return rc;
}

int
status_views_read(const char *text, size_t len, const char *only, bool json,
    struct status_views *sv)
{
	struct json_object	*svcs;
	size_t			 n;
	int			 rc;

	memset(sv, 0, sizeof(*sv));
	sv->json = json;
	/* A NUL inside: json-c's whole parse stops there; let it. */
	rc = len < (size_t)INT_MAX && memchr(text, '\0', len) == NULL ?
	    read_cut(text, len, only, sv) : 0;
	if (rc != 0)
		goto out;
	sv->json = json;	/* the failed cut cleared it */
	/* --json prints the whole tree then: no views. */
	if ((sv->reply = ctl_parse_reply(text)) == NULL ||
	    (svcs = jarr(sv->reply, "services")) == NULL || json)
		goto out;
	n = json_object_array_length(svcs);
	if ((sv->v = calloc(n + 1, sizeof(*sv->v))) == NULL)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < n; i++)
		rc = view_add(sv, json_object_array_get_idx(svcs, i), only);
	if (rc == -1)
		status_views_free(sv);
out:
	return rc == -1 ? -1 : 0;
}

void
status_views_free(struct status_views *sv)
{
	for (size_t i = 0; sv->v != NULL && i < sv->n; i++)
		view_clear(&sv->v[i]);
	free(sv->v);
	json_object_put(sv->reply);
	memset(sv, 0, sizeof(*sv));
}
