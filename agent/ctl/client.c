/*
 * The control-socket client: one JSON request, one JSON reply per line
 * (ctlproto.h); and the commands that are one request: drain, undrain,
 * reload, metrics.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cfg.h"
#include "ctlproto.h"
#include "peek.h"
#include "plugin.h"
#include "ctl_int.h"

/*
 * The control socket's path, from a main file that may be broken: that is
 * when reload and status matter most. Never a silent default: a key that
 * is there but unreadable is an error (exit UNKNOWN).
 */
char *
socket_path(const char *path)
{
	struct peek	 pk;
	char		*sock = NULL, err[512] = "";

	if (path == NULL)
		path = CFG_DEFAULT_MAIN;
	if (peek_open(&pk, path, err, sizeof(err)) == -1 ||
	    peek_string(&pk, NULL, "control_socket", DEFAULT_SOCKET, &sock, err,
	    sizeof(err)) == -1 || sock == NULL) {
		if (sock == NULL && pk.text != NULL && err[0] == '\0')
			snprintf(err, sizeof(err), "%s: control_socket is null", path);
		fprintf(stderr, "anycast-healthctl: %s\n", err);
		peek_close(&pk);
		exit(EXIT_UNKNOWN);
	}
	if (pk.text != NULL && pk.obj == NULL)
		fprintf(stderr, "anycast-healthctl: warning: %s is not valid JSON; using "
		    "control_socket %s%s\n", path, sock, strstr(pk.text, "control_socket") ?
		    " found in it" : " (the default: it names none)");
	peek_close(&pk);
	return sock;
}

/*
 * The last failure to talk to the daemon, for status's plugin line; other
 * commands print it to stderr as it happens.
 */
char	ctl_err[512];
int	ctl_errno;
bool	ctl_plugin;
double	ctl_timeout_s = CLIENT_TIMEOUT_S;

static void
ctl_fail(int e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ctl_fail(int e, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(ctl_err, sizeof(ctl_err), fmt, ap);
	va_end(ap);
	ctl_errno = e;
	if (!ctl_plugin)
		fprintf(stderr, "anycast-healthctl: %s\n", ctl_err);
}

int
ctl_connect(const char *path, bool quiet)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	struct timeval		tv;
	int			fd, e;

	tv.tv_sec = (time_t)ctl_timeout_s;
	tv.tv_usec = (suseconds_t)((ctl_timeout_s - (double)tv.tv_sec) * 1e6);
	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (!quiet)
			ctl_fail(ENAMETOOLONG, "%s: path too long", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		e = errno;
		if (!quiet)
			ctl_fail(e, "cannot reach the daemon at %s: %s", path, strerror(e));
		if (fd != -1)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * Sends req (taken) and returns the reply's text up to its newline,
 * NUL-terminated (*lenp bytes; the caller frees it), or NULL if the daemon
 * cannot be reached.
 */
char *
ctl_request_text(const char *sock, struct json_object *req, size_t *lenp)
{
	const char		*text;
	char			*buf = NULL, *tmp, t[32];
	size_t			 len = 0, cap = 0;
	bool			 done = false;
	ssize_t			 n;
	int			 fd;

	if ((fd = ctl_connect(sock, false)) == -1)
		goto out;
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (send(fd, text, strlen(text), MSG_NOSIGNAL) != (ssize_t)strlen(text) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		ctl_fail(errno, "%s: %s", sock, strerror(errno));
		goto out;
	}
	for (;;) {
		if (len + 4096 > cap) {
			/* Doubling: a status of thousands of services is megabytes. */
			if (cap > CTL_MAX_CLIENT_REPLY ||
			    (tmp = realloc(buf, cap ? cap * 2 : 65536)) == NULL) {
				ctl_fail(EMSGSIZE, "reply too long");
				goto out;
			}
			buf = tmp;
			cap = cap ? cap * 2 : 65536;
		}
		if ((n = recv(fd, buf + len, cap - len - 1, 0)) == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			plugin_num(t, sizeof(t), ctl_timeout_s);
			ctl_fail(ETIMEDOUT, "%s: no answer from the daemon within %ss", sock, t);
			goto out;
		}
		if (n <= 0) {
			ctl_fail(n == 0 ? ECONNRESET : errno, "%s: %s", sock, n == 0 ?
			    "the daemon closed the connection" : strerror(errno));
			goto out;
		}
		/* Only the new bytes: searching all of a large reply each time is quadratic. */
		if (memchr(buf + len, '\n', (size_t)n) != NULL) {
			len += (size_t)n;
			break;
		}
		len += (size_t)n;
	}
	buf[len] = '\0';
	*lenp = len;
	done = true;
out:
	if (fd != -1)
		close(fd);
	if (!done) {
		free(buf);
		buf = NULL;
	}
	json_object_put(req);
	return buf;
}

/* The reply as an object, or NULL after saying why. */
struct json_object *
ctl_parse_reply(const char *text)
{
	struct json_object	*reply;

	if ((reply = json_tokener_parse(text)) == NULL ||
	    !json_object_is_type(reply, json_type_object)) {
		ctl_fail(EPROTO, "malformed reply from the daemon");
		json_object_put(reply);
		reply = NULL;
	}
	return reply;
}

/* Sends req (taken) and returns the reply, or NULL if the daemon cannot be reached. */
struct json_object *
ctl_request(const char *sock, struct json_object *req)
{
	struct json_object	*reply = NULL;
	char			*text;
	size_t			 len;

	if ((text = ctl_request_text(sock, req, &len)) != NULL)
		reply = ctl_parse_reply(text);
	free(text);
	return reply;
}

bool
reply_ok(struct json_object *reply)
{
	struct json_object	*v;

	return json_object_object_get_ex(reply, "ok", &v) && json_object_get_boolean(v);
}

/* A value as text; "" when absent or null (json-c gives NULL for null). */
const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return "";
	return json_object_get_string(v);
}

double
jnum(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_double(v);
}

/*
 * A number as an int, clamped, 0 for NaN: a reply is a peer's bytes, and a
 * cast of a double out of range is undefined.
 */
int
jint(struct json_object *o, const char *key)
{
	double	v = jnum(o, key);

	if (isnan(v))
		return 0;
	if (v >= (double)INT_MAX)
		return INT_MAX;
	if (v <= (double)INT_MIN)
		return INT_MIN;
	return (int)v;
}

bool
jbool(struct json_object *o, const char *key)
{
	struct json_object	*v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

struct json_object *
jarr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

/* Sends a command and prints its error; 0, 1 refused, 3 not reachable. */
static int
simple_request(const char *sock, struct json_object *req, struct json_object **replyp)
{
	struct json_object	*reply;

	if ((reply = ctl_request(sock, req)) == NULL)
		return EXIT_UNKNOWN;
	if (!reply_ok(reply)) {
		fprintf(stderr, "anycast-healthctl: %s\n", jstr(reply, "error"));
		json_object_put(reply);
		return 1;
	}
	*replyp = reply;
	return 0;
}

int
cmd_drain(const char *sock, bool drain, const char *service, const char *grace)
{
	struct json_object	*req = json_object_new_object(), *reply;
	int			 rc;

	json_object_object_add(req, "cmd", json_object_new_string(drain ? "drain" : "undrain"));
	json_object_object_add(req, "service", json_object_new_string(service));
	if (grace != NULL)
		json_object_object_add(req, "grace", json_object_new_string(grace));
	if ((rc = simple_request(sock, req, &reply)) != 0)
		return rc;
	if (drain && jbool(reply, "already"))
		printf("%s: already drained\n", service);
	else if (drain && jbool(reply, "announcing"))
		printf("%s: drained; still announced for %.3gs, then withdrawn\n", service,
		    jnum(reply, "grace_ms") / 1000.0);
	else if (drain)
		printf("%s: drained and withdrawn\n", service);
	else if (!jbool(reply, "was_drained"))
		printf("%s: was not drained (%s)\n", service, jstr(reply, "state"));
	else
		printf("%s: undrained, now %s\n", service, jstr(reply, "state"));
	json_object_put(reply);
	return 0;
}

int
cmd_reload(const char *sock)
{
	struct json_object	*req = json_object_new_object(), *reply, *errs;

	json_object_object_add(req, "cmd", json_object_new_string("reload"));
	if ((reply = ctl_request(sock, req)) == NULL)
		return EXIT_UNKNOWN;
	if (reply_ok(reply)) {
		printf("reloaded: %d service(s)\n", jint(reply, "services"));
		json_object_put(reply);
		return 0;
	}
	if ((errs = jarr(reply, "errors")) != NULL)
		for (size_t i = 0; i < json_object_array_length(errs); i++)
			fprintf(stderr, "%s\n", json_object_get_string(
			    json_object_array_get_idx(errs, i)));
	fprintf(stderr, "anycast-healthctl: %s\n", jstr(reply, "error"));
	json_object_put(reply);
	return errs != NULL ? 2 : 1;
}

int
cmd_metrics(const char *sock)
{
	struct json_object	*req = json_object_new_object(), *reply;
	int			 rc;

	json_object_object_add(req, "cmd", json_object_new_string("metrics"));
	if ((rc = simple_request(sock, req, &reply)) != 0)
		return rc;
	fputs(jstr(reply, "metrics"), stdout);
	json_object_put(reply);
	return 0;
}
