/*
 * libFuzzer target for the control socket's request side:
 * ctl_session_input(), which the daemon runs on every byte a local client
 * sends (framing into lines, JSON parsing, command lookup, the permission
 * check), here with a fake command table. The first input byte says whether
 * the peer is privileged and how the stream is cut into reads; the rest is
 * the stream.
 *
 * Invariants beyond "no crash": exactly one reply per complete line, and
 * one "too long" error for a line that does not fit (then nothing more),
 * whatever the cut; the same replies whatever the cut; every reply is a
 * JSON object that serialises to one line, an error has a non-empty
 * message; a command sees only requests naming it, and a mutating one only
 * from a privileged peer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cfg.h"
#include "ctl.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static bool	privileged;

static void
check_req(struct json_object *req, const char *name)
{
	struct json_object	*v;

	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), name) != 0)
		abort();
}

static struct json_object *
cmd_status(struct json_object *req, void *arg)
{
	struct json_object	*o = json_object_new_object();

	check_req(req, "status");
	json_object_object_add(o, "keys", json_object_new_int(json_object_object_length(req)));
	return o;
}

/* Validates its arguments like the daemon's drain: "service" and "grace". */
static struct json_object *
cmd_drain(struct json_object *req, void *arg)
{
	struct json_object	*o, *v;
	uint64_t		 grace = 0;
	char			 why[128];

	check_req(req, "drain");
	if (!privileged)
		abort();
	if (!json_object_object_get_ex(req, "service", &v) ||
	    !json_object_is_type(v, json_type_string))
		return ctl_error("\"service\" (a service name) is required");
	if (strcmp(json_object_get_string(v), "web") != 0)
		return ctl_error("no service '%.64s'", json_object_get_string(v));
	if (json_object_object_get_ex(req, "grace", &v)) {
		if (!json_object_is_type(v, json_type_string))
			return ctl_error("grace: expected a duration such as \"30s\"");
		why[0] = '\0';
		if (cfg_duration_parse(json_object_get_string(v), &grace, why,
		    sizeof(why)) == -1) {
			if (why[0] == '\0')
				abort();
			return ctl_error("grace: %s", why);
		}
	}
	o = json_object_new_object();
	json_object_object_add(o, "service", json_object_new_string("web"));
	json_object_object_add(o, "grace_ms", json_object_new_int64((int64_t)(grace / 1000)));
	return o;
}

static struct json_object *
cmd_reload(struct json_object *req, void *arg)
{
	check_req(req, "reload");
	if (!privileged)
		abort();
	return json_object_new_object();
}

/* A command failing internally: the session must still answer. */
static struct json_object *
cmd_broken(struct json_object *req, void *arg)
{
	check_req(req, "broken");
	return NULL;
}

static const struct ctl_command cmds[] = {
	{ "status",	false,	cmd_status },
	{ "drain",	true,	cmd_drain },
	{ "reload",	true,	cmd_reload },
	{ "broken",	false,	cmd_broken },
	{ NULL,		false,	NULL },
};

/* The replies of one run, one line each, as the daemon would send them. */
struct replies {
	char	*text;
	size_t	 len, cap;
	size_t	 n;
	bool	 too_long;	/* the last reply was the "too long" error */
};

static bool
on_reply(struct json_object *reply, void *arg)
{
	struct replies		*r = arg;
	struct json_object	*ok, *err;
	const char		*text;
	size_t			 len;

	if (r->too_long || !json_object_is_type(reply, json_type_object))
		abort();
	if (json_object_object_get_ex(reply, "ok", &ok)) {
		if (!json_object_is_type(ok, json_type_boolean))
			abort();
		if (!json_object_get_boolean(ok) &&
		    (!json_object_object_get_ex(reply, "error", &err) ||
		    !json_object_is_type(err, json_type_string) ||
		    json_object_get_string_len(err) == 0))
			abort();
		if (!json_object_get_boolean(ok) && strncmp(json_object_get_string(err),
		    "request longer than", 19) == 0)
			r->too_long = true;
	}
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	if (memchr(text, '\n', len) != NULL)
		abort();
	/* Doubling: ASan's realloc() always copies. */
	while (r->len + len + 2 > r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4096;
		if ((r->text = realloc(r->text, r->cap)) == NULL)
			abort();
	}
	memcpy(r->text + r->len, text, len);
	r->text[r->len + len] = '\n';
	r->len += len + 1;
	r->text[r->len] = '\0';
	r->n++;
	return true;
}

/* Feeds the stream in reads of at most chunk bytes, as recv() would deliver it. */
static void
feed(const unsigned char *data, size_t size, size_t chunk, struct replies *r)
{
	struct ctl_session	*s;
	size_t			 off = 0, n;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		abort();
	s->cmds = cmds;
	s->privileged = privileged;
	s->pid = 4242;
	s->uid = 1000;
	while (off < size) {
		n = CTL_MAX_REQUEST - s->inlen;
		if (n == 0)
			abort();	/* a full buffer must have been answered */
		if (n > chunk)
			n = chunk;
		if (n > size - off)
			n = size - off;
		memcpy(s->in + s->inlen, data + off, n);
		s->inlen += n;
		off += n;
		if (ctl_session_input(s, on_reply, r) == -1) {
			if (!r->too_long)
				abort();
			break;
		}
		if (memchr(s->in, '\n', s->inlen) != NULL)
			abort();
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const size_t	 chunks[] = { 1, 2, 3, 7, 64, 1000, 4095, 4096 };
	struct replies		 a = { 0 }, b = { 0 };
	size_t			 lines = 0, linelen = 0;
	bool			 too_long = false;

	/* Refused mutating commands are logged as warnings: not wanted here. */
	log_setup(LOG_LVL_ERROR, LOG_FMT_TEXT, false);
	if (size < 1)
		return 0;
	privileged = (data[0] & 0x80) != 0;
	/* What the framing must do, worked out without it. */
	for (size_t i = 1; i < size && !too_long; i++) {
		if (data[i] == '\n') {
			lines++;
			linelen = 0;
		} else if (++linelen == CTL_MAX_REQUEST)
			too_long = true;
	}
	feed(data + 1, size - 1, chunks[data[0] & 0x07], &a);
	feed(data + 1, size - 1, CTL_MAX_REQUEST, &b);
	if (a.n != lines + too_long || a.too_long != too_long)
		abort();
	if (a.len != b.len || (a.len != 0 && memcmp(a.text, b.text, a.len) != 0))
		abort();
	free(a.text);
	free(b.text);
	return 0;
}
