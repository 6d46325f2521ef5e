/*
 * HTTP(S) probe: one request per attempt through libcurl's multi interface,
 * driven by the daemon's sd-event loop like every other probe. One CURLM
 * serves the whole process; curl tells us which sockets to watch and when to
 * wake it (the glue below), and every finished transfer ends in exactly one
 * probe_done(). Names are never looked up on the loop: the URL's host is an
 * IP literal, or "connect_to" sends every connection to one.
 *
 * Length: the curl <-> sd-event glue, the configuration's checks and the
 * judging of one transfer belong together; each part is short, and split
 * apart they would share the private structures through a header.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "compiler.h"
#include "clock.h"
#include "cfg.h"
#include "http.h"
#include "http_curl.h"
#include "probe.h"

#define HTTP_MAX_BODY_DEFAULT	(64 * 1024)
#define HTTP_MAX_BODY_LIMIT	(16 * 1024 * 1024)
#define HTTP_MAX_REDIRS		5
#define HTTP_URL_MAX		2048
#define HM_CONNECTING		16
#define HM_IDLE			16
/* OpenSSL's X509_V_ERR_CERT_HAS_EXPIRED, as CURLINFO_SSL_VERIFYRESULT reports it. */
#define X509_ERR_CERT_HAS_EXPIRED	10

struct status_range {
	unsigned	 lo, hi;
};

struct http_params {
	char			*url;
	char			*host;		/* the URL's host, for messages */
	char			 where[INET6_ADDRSTRLEN + 8];	/* where we connect */
	char			*method;
	char			*body;
	struct curl_slist	*headers;
	struct curl_slist	*connect_to;
	struct status_range	*status;
	size_t			 nstatus;
	char			*expect_body;	/* NULL: any body */
	regex_t			 re;
	size_t			 max_body;
	bool			 tls_verify;
	char			*ca_file;
	unsigned		 cert_min_days;	/* 0: no check */
	bool			 follow_redirects;
	bool			 one_segment;	/* the request is one small write */
};

struct http_run {
	CURL		*easy;
	char		*body;		/* only with expect_body */
	size_t		 len;		/* body bytes received */
	bool		 full;		/* max_body reached: the rest is not read */
	char		 errbuf[CURL_ERROR_SIZE];
};

static const char *const http_keys[] = {
	"url", "method", "headers", "body", "expect_status", "expect_body",
	"max_body", "tls_verify", "ca_file", "connect_to", "cert_min_days",
	"follow_redirects", NULL
};

static void	http_complete(struct probe *p, CURLcode rc);

/*
 * The curl <-> sd-event glue: the one CURLM, an io source per socket curl
 * asks us to watch, and one timer for curl's own timeouts. The multi lives
 * as long as its loop: it caches the parsed CA store (CURLOPT_CA_CACHE_TIMEOUT),
 * and loading the system bundle anew costs ~15 ms of loop time per attempt.
 */
static struct {
	CURLM		*multi;
	sd_event	*ev;
	sd_event_source	*timer;
	sd_event_source	*now;		/* curl's "call me now": a defer source */
	unsigned	 transfers;
	unsigned	 dispatching;	/* inside a call into curl */
	/*
	 * New sockets curl waits to see writable (connecting), at most
	 * HM_CONNECTING, not yet watched by the loop (see hm_action()).
	 */
	curl_socket_t	 connecting[HM_CONNECTING];
	unsigned	 nconnecting;
	curl_socket_t	 nudged;	/* hm_nudge()'s socket until curl speaks of it */
	/*
	 * Easy handles of finished transfers, at most HM_IDLE (as many as
	 * run at once, not one per probe): a reused handle keeps its buffers
	 * (a 16 KiB receive buffer each), which saves an allocation that
	 * costs a heap consolidation per attempt.
	 */
	CURL		*idle[HM_IDLE];
	unsigned	 nidle;
} hm = { .nudged = CURL_SOCKET_BAD };

static void
hm_teardown(void)
{
	while (hm.nidle > 0)
		hc.easy_cleanup(hm.idle[--hm.nidle]);
	hc.multi_cleanup(hm.multi);
	hm.multi = NULL;
	hm.nconnecting = 0;
	hm.nudged = CURL_SOCKET_BAD;
	hm.timer = sd_event_source_disable_unref(hm.timer);
	hm.now = sd_event_source_disable_unref(hm.now);
	hm.ev = sd_event_unref(hm.ev);
}

/* Finishes every transfer curl reports done; each ends its probe's attempt. */
static void
hm_collect(void)
{
	CURLMsg		*msg;
	CURLcode	 rc;
	char		*priv;
	int		 left;

	while ((msg = hc.multi_info_read(hm.multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg dies with the transfer: copy what we need first. */
		rc = msg->data.result;
		if (hc.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv) == CURLE_OK &&
		    priv != NULL)
			http_complete((struct probe *)priv, rc);
	}
}

static void
hm_connecting_drop(curl_socket_t fd)
{
	if (fd == hm.nudged)
		hm.nudged = CURL_SOCKET_BAD;
	for (unsigned i = 0; i < hm.nconnecting; i++)
		if (hm.connecting[i] == fd) {
			hm.connecting[i] = hm.connecting[--hm.nconnecting];
			return;
		}
}

static int	hm_io_cb(sd_event_source *s, int fd, uint32_t revents, void *arg);

static void
hm_call(curl_socket_t fd, int flags)
{
	int	running;

	hm.dispatching++;
	hc.multi_socket_action(hm.multi, fd, flags, &running);
	hm_collect();
	hm.dispatching--;
}

/*
 * A connecting socket the loop does not watch yet: tell curl it is
 * writable. A connect on loopback has completed by the time curl gets back
 * (curl checks: poll() and SO_ERROR), so this saves a wake-up of the loop
 * per attempt, and curl's next wish (readable: the answer) becomes the
 * socket's first epoll registration instead of a second one. If curl says
 * nothing about the socket, its connect is still in flight: watch it for
 * writability as curl asked.
 */
static void
hm_nudge(curl_socket_t s)
{
	sd_event_source	*src = NULL;

	hm.nudged = s;
	hm_call(s, CURL_CSELECT_OUT);
	if (hm.nudged != s)
		return;
	hm.nudged = CURL_SOCKET_BAD;
	/* On failure the transfer waits for the probe's deadline, which ends it. */
	if (sd_event_add_io(hm.ev, &src, s, EPOLLOUT, hm_io_cb, NULL) >= 0)
		hc.multi_assign(hm.multi, s, src);
}

static void
hm_action(curl_socket_t fd, int flags)
{
	hm_call(fd, flags);
	/* Calls into curl do not nest: one nudge at a time, from the outermost. */
	while (hm.dispatching == 0 && hm.nconnecting > 0)
		hm_nudge(hm.connecting[--hm.nconnecting]);
}

static int
hm_io_cb(sd_event_source *s UNUSED, int fd, uint32_t revents, void *arg UNUSED)
{
	int	flags = 0;

	if (revents & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	hm_action(fd, flags);
	return 0;
}

static int
hm_timer_cb(sd_event_source *s UNUSED, uint64_t usec UNUSED, void *arg UNUSED)
{
	hm_action(CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

static int
hm_now_cb(sd_event_source *s UNUSED, void *arg UNUSED)
{
	hm_action(CURL_SOCKET_TIMEOUT, 0);
	return 0;
}

static int
hm_socket_fn(CURL *easy UNUSED, curl_socket_t fd, int what, void *arg UNUSED, void *sockp)
{
	sd_event_source	*src = sockp;
	uint32_t	 events = 0;

	hm_connecting_drop(fd);
	if (what == CURL_POLL_REMOVE) {
		sd_event_source_disable_unref(src);
		hc.multi_assign(hm.multi, fd, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	/*
	 * Edge-triggered: sd-event dispatches one source per iteration and
	 * polls epoll again in between, so a level-triggered socket that is
	 * ready re-polls the kernel at every dispatch until its turn (at
	 * 2000 checks a second about 100 such sockets, a third of the CPU).
	 * curl reads until the socket is drained (or asks to run again), and
	 * a change of events re-arms the edge. What this relies on, measured
	 * with libcurl 7.88 (test http/a_large_answer_in_one_write_is_read_to_
	 * its_end): a transfer that stops reading early sets itself a timeout
	 * of 0, so even with every read event after the third dropped, a
	 * 768 KiB answer was read to its end at once. A libcurl that did
	 * neither would leave an attempt to its timeout (the test fails then).
	 */
	events |= EPOLLET;
	if (src != NULL)
		return sd_event_source_set_io_events(src, events) < 0 ? -1 : 0;
	/*
	 * A new socket waiting for writability is connecting: registered
	 * after a nudge (hm_nudge()), once curl knows what it waits for next.
	 * Only inside a call into curl, which hm_action() follows up.
	 */
	if (what == CURL_POLL_OUT && hm.dispatching > 0 && hm.nconnecting < HM_CONNECTING) {
		hm.connecting[hm.nconnecting++] = fd;
		return 0;
	}
	if (sd_event_add_io(hm.ev, &src, fd, events, hm_io_cb, NULL) < 0)
		return -1;
	hc.multi_assign(hm.multi, fd, src);
	return 0;
}

static int
hm_timer_fn(CURLM *multi UNUSED, long timeout_ms, void *arg UNUSED)
{
	uint64_t	when;

	/* One timeout at a time: each call replaces the previous one. */
	if (hm.timer != NULL && sd_event_source_set_enabled(hm.timer, SD_EVENT_OFF) < 0)
		return -1;
	if (hm.now != NULL && sd_event_source_set_enabled(hm.now, SD_EVENT_OFF) < 0)
		return -1;
	if (timeout_ms < 0)
		return 0;
	/*
	 * 0 means "now" (every new transfer asks for it): the loop calls back
	 * on its next iteration, outside curl, through a defer source, which
	 * needs no timerfd update and no epoll_wait() to fire.
	 */
	if (timeout_ms == 0) {
		if (hm.now == NULL)
			return sd_event_add_defer(hm.ev, &hm.now, hm_now_cb, NULL) < 0 ? -1 : 0;
		return sd_event_source_set_enabled(hm.now, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
	}
	when = now_us() + (uint64_t)timeout_ms * 1000;
	if (hm.timer == NULL)
		return sd_event_add_time(hm.ev, &hm.timer, CLOCK_MONOTONIC, when, 1,
		    hm_timer_cb, NULL) < 0 ? -1 : 0;
	if (sd_event_source_set_time(hm.timer, when) < 0 ||
	    sd_event_source_set_enabled(hm.timer, SD_EVENT_ONESHOT) < 0)
		return -1;
	return 0;
}

/* Hands a prepared transfer to the one multi; 0, or -1 with a reason. */
static int
hm_add(sd_event *ev, CURL *easy, const char **why)
{
	static bool	global_done;

	/* A new loop (tests, check mode after a daemon run): start over on it. */
	if (hm.multi != NULL && hm.ev != ev) {
		if (hm.transfers > 0 || hm.dispatching > 0) {
			*why = "HTTP probes on two event loops at once";
			return -1;
		}
		hm_teardown();
	}
	if (hm.multi == NULL) {
		if (!global_done && hc.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			*why = "curl_global_init failed";
			return -1;
		}
		global_done = true;
		if ((hm.multi = hc.multi_init()) == NULL) {
			*why = "curl_multi_init failed";
			return -1;
		}
		hm.ev = sd_event_ref(ev);
		hc.multi_setopt(hm.multi, CURLMOPT_SOCKETFUNCTION, hm_socket_fn);
		hc.multi_setopt(hm.multi, CURLMOPT_TIMERFUNCTION, hm_timer_fn);
	}
	if (hc.multi_add_handle(hm.multi, easy) != CURLM_OK) {
		*why = "curl_multi_add_handle failed";
		return -1;
	}
	hm.transfers++;
	return 0;
}

/*
 * A handle for a new transfer, as curl_easy_init() makes it: an idle one
 * reset to curl's defaults (the reset keeps its TLS session cache, which
 * http_setup() keeps empty), else a new one.
 */
static CURL *
hm_easy(void)
{
	CURL	*e;

	if (hm.nidle == 0)
		return hc.easy_init();
	e = hm.idle[--hm.nidle];
	hc.easy_reset(e);
	return e;
}

/* A handle no transfer uses any more (out of the multi). */
static void
hm_release(CURL *easy)
{
	if (hm.nidle < HM_IDLE)
		hm.idle[hm.nidle++] = easy;
	else
		hc.easy_cleanup(easy);
}

static void
hm_remove(CURL *easy)
{
	hc.multi_remove_handle(hm.multi, easy);
	hm_release(easy);
	hm.transfers--;
}

/* End of the glue. */

static void
http_free_params(void *arg)
{
	struct http_params	*hp = arg;

	if (hp == NULL)
		return;
	free(hp->url);
	free(hp->host);
	free(hp->method);
	free(hp->body);
	hc.slist_free_all(hp->headers);
	hc.slist_free_all(hp->connect_to);
	free(hp->status);
	if (hp->expect_body != NULL)
		regfree(&hp->re);
	free(hp->expect_body);
	free(hp->ca_file);
	free(hp);
}

/* "2xx", "404", or 404: a class or a code. */
static int
parse_status(struct cfg_ctx *ctx, const char *key, struct json_object *v,
    struct status_range *sr)
{
	const char	*s;
	long		 n;
	char		*end;

	if (json_object_is_type(v, json_type_int)) {
		n = (long)json_object_get_int64(v);
		if (n < 100 || n > 599)
			goto bad_code;
		sr->lo = sr->hi = (unsigned)n;
		return 0;
	}
	if (!json_object_is_type(v, json_type_string)) {
		cfg_error(ctx, key, "expected a status code (200) or class (\"2xx\")");
		return -1;
	}
	s = json_object_get_string(v);
	if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' &&
	    (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X')) {
		sr->lo = (unsigned)(s[0] - '0') * 100;
		sr->hi = sr->lo + 99;
		return 0;
	}
	errno = 0;
	n = strtol(s, &end, 10);
	if (strlen(s) == 3 && *end == '\0' && errno == 0 && n >= 100 && n <= 599) {
		sr->lo = sr->hi = (unsigned)n;
		return 0;
	}
	cfg_error(ctx, key, "'%s' is not a status code (100-599) or class (1xx-5xx)", s);
	return -1;
bad_code:
	cfg_error(ctx, key, "%ld is not a status code (100-599)", n);
	return -1;
}

static int
parse_expect_status(struct cfg_ctx *ctx, struct json_object *obj, struct http_params *hp)
{
	struct json_object	*arr;
	char			 key[48];
	size_t			 n;
	int			 ok = 0;

	if (!json_object_object_get_ex(obj, "expect_status", &arr) ||
	    json_object_is_type(arr, json_type_null)) {
		hp->status = calloc(1, sizeof(*hp->status));
		if (hp->status == NULL)
			return -1;
		hp->status[0].lo = 200;
		hp->status[0].hi = 299;
		hp->nstatus = 1;
		return 0;
	}
	if (!json_object_is_type(arr, json_type_array) ||
	    (n = json_object_array_length(arr)) == 0) {
		cfg_error(ctx, "expect_status", "expected a non-empty list of codes "
		    "and classes, e.g. [\"2xx\", 301]");
		return -1;
	}
	if ((hp->status = calloc(n, sizeof(*hp->status))) == NULL)
		return -1;
	hp->nstatus = n;
	for (size_t i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "expect_status[%zu]", i);
		if (parse_status(ctx, key, json_object_array_get_idx(arr, i),
		    &hp->status[i]) == -1)
			ok = -1;
	}
	return ok;
}

/* A header name is an RFC 9110 token; a value has no line breaks. */
static bool
header_name_ok(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (strchr("!#$%&'*+-.^_`|~", *s) == NULL &&
		    !(*s >= '0' && *s <= '9') && !(*s >= 'a' && *s <= 'z') &&
		    !(*s >= 'A' && *s <= 'Z'))
			return false;
	return true;
}

static int
parse_headers(struct cfg_ctx *ctx, struct json_object *obj, struct http_params *hp)
{
	struct json_object	*hdrs;
	struct curl_slist	*l;
	char			 key[300], *line;
	const char		*val;
	int			 ok = 0;

	if (!json_object_object_get_ex(obj, "headers", &hdrs) ||
	    json_object_is_type(hdrs, json_type_null))
		return 0;
	if (!json_object_is_type(hdrs, json_type_object)) {
		cfg_error(ctx, "headers", "expected an object of header names and values, "
		    "e.g. { \"Host\": \"www.example.com\" }");
		return -1;
	}
	json_object_object_foreach(hdrs, name, v) {
		snprintf(key, sizeof(key), "headers.%s", name);
		if (!header_name_ok(name)) {
			cfg_error(ctx, "headers", "'%s' is not a header name", name);
			ok = -1;
			continue;
		}
		if (!json_object_is_type(v, json_type_string)) {
			cfg_error(ctx, key, "expected a string");
			ok = -1;
			continue;
		}
		val = json_object_get_string(v);
		if (val[0] == '\0' || strpbrk(val, "\r\n") != NULL ||
		    strlen(val) != (size_t)json_object_get_string_len(v)) {
			cfg_error(ctx, key, "must be non-empty, without line breaks or NUL");
			ok = -1;
			continue;
		}
		if (asprintf(&line, "%s: %s", name, val) == -1)
			return -1;
		l = hc.slist_append(hp->headers, line);
		free(line);
		if (l == NULL)
			return -1;
		hp->headers = l;
	}
	return ok;
}

/* "ADDR", "ADDR:PORT", "[V6ADDR]" or "[V6ADDR]:PORT"; port 0 keeps the URL's. */
static int
parse_connect_to(const char *s, char *addr, size_t addrlen, unsigned *port)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*colon, *close;
	char		*end;
	size_t		 n;
	long		 pn;

	*port = 0;
	if (inet_pton(AF_INET6, s, &a6) == 1) {
		snprintf(addr, addrlen, "[%s]", s);
		return 0;
	}
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL)
			return -1;
		n = (size_t)(close - s - 1);
		if (n == 0 || n >= addrlen - 2)
			return -1;
		snprintf(addr, addrlen, "%.*s", (int)n, s + 1);
		if (inet_pton(AF_INET6, addr, &a6) != 1)
			return -1;
		snprintf(addr, addrlen, "[%.*s]", (int)n, s + 1);
		colon = close[1] == ':' ? close + 1 : NULL;
		if (colon == NULL && close[1] != '\0')
			return -1;
	} else {
		colon = strchr(s, ':');
		n = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (n == 0 || n >= addrlen)
			return -1;
		snprintf(addr, addrlen, "%.*s", (int)n, s);
		if (inet_pton(AF_INET, addr, &a4) != 1)
			return -1;
	}
	if (colon == NULL)
		return 0;
	errno = 0;
	pn = strtol(colon + 1, &end, 10);
	if (colon[1] == '\0' || *end != '\0' || errno != 0 || pn < 1 || pn > 65535)
		return -1;
	*port = (unsigned)pn;
	return 0;
}

/* Checks the URL; sets host, where and connect_to. */
static int
parse_url(struct cfg_ctx *ctx, struct json_object *obj, struct http_params *hp,
    bool *https)
{
	CURLU		*u;
	CURLUcode	 uc;
	char		*scheme = NULL, *host = NULL, *port = NULL, *ct = NULL;
	char		 bare[INET6_ADDRSTRLEN + 2], addr[INET6_ADDRSTRLEN + 2];
	char		 line[INET6_ADDRSTRLEN + 16];
	struct in6_addr	 a;
	unsigned	 ctport;
	size_t		 hl;
	int		 ok = -1;

	if ((u = hc.url()) == NULL)
		return -1;
	if (strlen(hp->url) > HTTP_URL_MAX) {
		cfg_error(ctx, "url", "longer than %d characters", HTTP_URL_MAX);
		goto out;
	}
	if ((uc = hc.url_set(u, CURLUPART_URL, hp->url, 0)) != CURLUE_OK) {
		cfg_error(ctx, "url", "'%s' is not a URL: %s", hp->url, hc.url_strerror(uc));
		goto out;
	}
	if (hc.url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		cfg_error(ctx, "url", "'%s' is not an http:// or https:// URL", hp->url);
		goto out;
	}
	*https = strcmp(scheme, "https") == 0;
	if (hc.url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    hc.url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		cfg_error(ctx, "url", "'%s' has no host", hp->url);
		goto out;
	}
	hl = strlen(host);
	if (host[0] == '[' && hl >= 2 && hl - 2 < sizeof(bare))
		snprintf(bare, sizeof(bare), "%.*s", (int)(hl - 2), host + 1);
	else
		snprintf(bare, sizeof(bare), "%s", host);
	if ((hp->host = strdup(host)) == NULL)
		goto out;
	if (cfg_get_string(ctx, obj, "connect_to", false, &ct) == -1)
		goto out;
	if (ct == NULL) {
		if (inet_pton(AF_INET, bare, &a) != 1 && inet_pton(AF_INET6, bare, &a) != 1) {
			cfg_error(ctx, "url", "host '%s' is a name: give \"connect_to\" "
			    "(an IP address) so that the daemon never waits for DNS", host);
			goto out;
		}
		snprintf(hp->where, sizeof(hp->where), "%s:%s", host, port);
		ok = 0;
		goto out;
	}
	if (parse_connect_to(ct, addr, sizeof(addr), &ctport) == -1) {
		cfg_error(ctx, "connect_to", "'%s' is not ADDRESS or ADDRESS:PORT "
		    "(an IP address, IPv6 in brackets with a port)", ct);
		goto out;
	}
	/* Empty host and port match every connection, redirects included. */
	if (ctport != 0) {
		snprintf(line, sizeof(line), "::%s:%u", addr, ctport);
		snprintf(hp->where, sizeof(hp->where), "%s:%u", addr, ctport);
	} else {
		snprintf(line, sizeof(line), "::%s:", addr);
		snprintf(hp->where, sizeof(hp->where), "%s:%s", addr, port);
	}
	if ((hp->connect_to = hc.slist_append(NULL, line)) == NULL)
		goto out;
	ok = 0;
out:
	free(ct);
	hc.free(scheme);
	hc.free(host);
	hc.free(port);
	hc.url_cleanup(u);
	return ok;
}

static bool
method_ok(const char *m)
{
	if (*m == '\0' || strlen(m) > 16)
		return false;
	for (; *m != '\0'; m++)
		if (*m < 'A' || *m > 'Z')
			return false;
	return true;
}

/*
 * Whether an attempt is one write of less than any path's MSS: a GET or
 * HEAD without body over plain HTTP, no redirect followed, and a short
 * request line and headers.
 */
static bool
one_segment(const struct http_params *hp, bool https)
{
	const struct curl_slist	*l;
	size_t			 n = strlen(hp->url) + 128;

	if (https || hp->follow_redirects || hp->body != NULL ||
	    (hp->method != NULL && strcmp(hp->method, "GET") != 0 &&
	    strcmp(hp->method, "HEAD") != 0))
		return false;
	for (l = hp->headers; l != NULL; l = l->next)
		n += strlen(l->data) + 2;
	return n < 1000;
}

static int
http_parse(struct cfg_ctx *ctx, struct json_object *obj, void **params)
{
	struct http_params	*hp;
	struct stat		 st;
	unsigned		 max_body = HTTP_MAX_BODY_DEFAULT;
	char			 reerr[128], lerr[512];
	bool			 https = false;
	int			 ok = 0, r;

	/* The first http probe loads libcurl (probes/http_curl.c): the URL needs it. */
	if (hc_load(lerr, sizeof(lerr)) == -1) {
		cfg_error(ctx, NULL, "%s", lerr);
		return -1;
	}
	if ((hp = calloc(1, sizeof(*hp))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	hp->tls_verify = true;
	if (cfg_get_string(ctx, obj, "url", true, &hp->url) != 1 ||
	    parse_url(ctx, obj, hp, &https) == -1)
		ok = -1;
	if (cfg_get_string(ctx, obj, "method", false, &hp->method) == -1)
		ok = -1;
	else if (hp->method != NULL && !method_ok(hp->method)) {
		cfg_error(ctx, "method", "'%s' is not a method (GET, HEAD, POST, ...)",
		    hp->method);
		ok = -1;
	}
	if (parse_headers(ctx, obj, hp) == -1)
		ok = -1;
	if (cfg_get_string(ctx, obj, "body", false, &hp->body) == -1)
		ok = -1;
	if (parse_expect_status(ctx, obj, hp) == -1)
		ok = -1;
	if (cfg_get_uint(ctx, obj, "max_body", false, 1, HTTP_MAX_BODY_LIMIT, &max_body) == -1)
		ok = -1;
	hp->max_body = max_body;
	if ((r = cfg_get_string(ctx, obj, "expect_body", false, &hp->expect_body)) == -1)
		ok = -1;
	if (r == 1 && (r = regcomp(&hp->re, hp->expect_body, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(r, &hp->re, reerr, sizeof(reerr));
		cfg_error(ctx, "expect_body", "'%s' is not a regular expression: %s",
		    hp->expect_body, reerr);
		free(hp->expect_body);
		hp->expect_body = NULL;
		ok = -1;
	}
	if (cfg_get_bool(ctx, obj, "tls_verify", false, &hp->tls_verify) == -1)
		ok = -1;
	if (cfg_get_bool(ctx, obj, "follow_redirects", false, &hp->follow_redirects) == -1)
		ok = -1;
	if ((r = cfg_get_string(ctx, obj, "ca_file", false, &hp->ca_file)) == -1)
		ok = -1;
	else if (r == 1 && stat(hp->ca_file, &st) == -1) {
		cfg_error(ctx, "ca_file", "%s: %s", hp->ca_file, strerror(errno));
		ok = -1;
	}
	if ((r = cfg_get_uint(ctx, obj, "cert_min_days", false, 1, 3650,
	    &hp->cert_min_days)) == -1)
		ok = -1;
	if (ok == 0 && !https && (hp->ca_file != NULL || hp->cert_min_days != 0)) {
		cfg_error(ctx, hp->ca_file != NULL ? "ca_file" : "cert_min_days",
		    "needs an https:// URL");
		ok = -1;
	}
	if (ok == -1) {
		http_free_params(hp);
		return -1;
	}
	hp->one_segment = one_segment(hp, https);
	*params = hp;
	return 0;
}

static void
http_cleanup(struct probe *p)
{
	struct http_run	*run = p->run;

	if (run == NULL)
		return;
	if (run->easy != NULL)
		hm_remove(run->easy);
	free(run->body);
	free(run);
	p->run = NULL;
}

static size_t
http_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct probe			*p = arg;
	const struct http_params	*hp = p->cfg->params;
	struct http_run			*run = p->run;
	size_t				 n = size * nmemb, take;
	char				*b;

	take = hp->max_body - run->len < n ? hp->max_body - run->len : n;
	if (hp->expect_body != NULL && take > 0) {
		if ((b = realloc(run->body, run->len + take + 1)) == NULL)
			return 0;
		run->body = b;
		memcpy(run->body + run->len, data, take);
		/* REG_STARTEND bounds the match; the NUL is for regexec() wrappers (ASan). */
		run->body[run->len + take] = '\0';
	}
	run->len += take;
	if (take < n) {
		/* Enough to judge: stop reading (curl reports a write error, we know better). */
		run->full = true;
		return 0;
	}
	return n;
}

static bool
status_expected(const struct http_params *hp, long code)
{
	for (size_t i = 0; i < hp->nstatus; i++)
		if (code >= hp->status[i].lo && code <= hp->status[i].hi)
			return true;
	return false;
}

static const char *
errtext(struct http_run *run, CURLcode rc)
{
	return run->errbuf[0] != '\0' ? run->errbuf : hc.easy_strerror(rc);
}

/* Turns a failed transfer into a precise result. */
static enum probe_result
classify_error(struct probe *p, CURLcode rc, char *msg, size_t len)
{
	const struct http_params	*hp = p->cfg->params;
	struct http_run			*run = p->run;
	long				 oserr = 0, verify = 0;

	hc.easy_getinfo(run->easy, CURLINFO_OS_ERRNO, &oserr);
	hc.easy_getinfo(run->easy, CURLINFO_SSL_VERIFYRESULT, &verify);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		if (oserr == ECONNREFUSED) {
			snprintf(msg, len, "connection to %s refused", hp->where);
			return PROBE_CONN_REFUSED;
		}
		snprintf(msg, len, "connect to %s failed: %s", hp->where, errtext(run, rc));
		return PROBE_CONN_FAILED;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(msg, len, "%s: %s", hp->url, errtext(run, rc));
		return PROBE_TIMEOUT;
	case CURLE_SEND_ERROR:
		snprintf(msg, len, "send to %s failed: %s", hp->where, errtext(run, rc));
		return PROBE_SEND_FAILED;
	case CURLE_RECV_ERROR:
		snprintf(msg, len, "receive from %s failed: %s", hp->where, errtext(run, rc));
		return PROBE_RECV_FAILED;
	case CURLE_GOT_NOTHING:
		snprintf(msg, len, "%s closed the connection without answering", hp->where);
		return PROBE_CLOSED;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_CRL_BADFILE:
		if (verify == X509_ERR_CERT_HAS_EXPIRED) {
			snprintf(msg, len, "certificate for %s has expired: %s", hp->host,
			    errtext(run, rc));
			return PROBE_CERT_EXPIRED;
		}
		snprintf(msg, len, "TLS with %s failed: %s", hp->where, errtext(run, rc));
		return PROBE_TLS_FAILED;
	case CURLE_OUT_OF_MEMORY:
		snprintf(msg, len, "out of memory");
		return PROBE_INTERNAL;
	default:
		snprintf(msg, len, "%s: %s", hp->url, errtext(run, rc));
		return PROBE_HTTP_FAILED;
	}
}

/* The server certificate's expiry, from curl's CERTINFO ("Mar  1 12:00:00 2025 GMT"). */
static int
cert_expiry(CURL *easy, time_t *when, char *text, size_t len)
{
	struct curl_certinfo	*ci = NULL;
	struct curl_slist	*sl;
	struct tm		 tm;
	const char		*v;
	char			*end;

	if (hc.easy_getinfo(easy, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
	    ci->num_of_certs < 1)
		return -1;
	for (sl = ci->certinfo[0]; sl != NULL; sl = sl->next) {
		if (strncmp(sl->data, "Expire date:", 12) != 0)
			continue;
		v = sl->data + 12;
		memset(&tm, 0, sizeof(tm));
		if ((end = strptime(v, "%b %d %H:%M:%S %Y", &tm)) == NULL ||
		    strcmp(end, " GMT") != 0)
			return -1;
		*when = timegm(&tm);
		snprintf(text, len, "%s", v);
		return 0;
	}
	return -1;
}

static enum probe_result
check_cert(struct probe *p, char *msg, size_t len)
{
	const struct http_params	*hp = p->cfg->params;
	struct http_run			*run = p->run;
	time_t				 expiry, now = time(NULL);
	char				 text[64];
	long				 days;

	if (cert_expiry(run->easy, &expiry, text, sizeof(text)) == -1) {
		snprintf(msg, len, "no certificate expiry date from %s", hp->where);
		return PROBE_INTERNAL;
	}
	if (expiry <= now) {
		snprintf(msg, len, "certificate for %s expired on %s", hp->host, text);
		return PROBE_CERT_EXPIRED;
	}
	days = (long)((expiry - now) / 86400);
	if (days < (long)hp->cert_min_days) {
		snprintf(msg, len, "certificate for %s expires in %ld day%s (< %u)",
		    hp->host, days, days == 1 ? "" : "s", hp->cert_min_days);
		return PROBE_CERT_EXPIRING;
	}
	return PROBE_OK;
}

/* A transfer ended (curl said so): judge it, release it, report once. */
static void
http_complete(struct probe *p, CURLcode rc)
{
	const struct http_params	*hp = p->cfg->params;
	struct http_run			*run = p->run;
	enum probe_result		 r;
	char				 msg[512];
	const char			*url = NULL, *loc = NULL;
	curl_off_t			 total = 0;
	long				 code = 0;
	regmatch_t			 m;

	if (rc == CURLE_WRITE_ERROR && run->full)
		rc = CURLE_OK;
	hc.easy_getinfo(run->easy, CURLINFO_RESPONSE_CODE, &code);
	hc.easy_getinfo(run->easy, CURLINFO_TOTAL_TIME_T, &total);
	hc.easy_getinfo(run->easy, CURLINFO_EFFECTIVE_URL, &url);
	if (url == NULL)
		url = hp->url;
	if (rc != CURLE_OK) {
		r = classify_error(p, rc, msg, sizeof(msg));
		goto done;
	}
	if (!status_expected(hp, code)) {
		hc.easy_getinfo(run->easy, CURLINFO_REDIRECT_URL, &loc);
		snprintf(msg, sizeof(msg), "HTTP %ld from %s in %ld ms%s%s%s", code, url,
		    (long)(total / 1000), loc ? " (redirect to " : "", loc ? loc : "",
		    loc ? ")" : "");
		r = PROBE_HTTP_STATUS;
		goto done;
	}
	if (hp->expect_body != NULL) {
		m.rm_so = 0;
		m.rm_eo = (regoff_t)run->len;
		if (regexec(&hp->re, run->body ? run->body : "", 0, &m, REG_STARTEND) != 0) {
			snprintf(msg, sizeof(msg), "body did not match '%s' (HTTP %ld from %s, "
			    "%zu%s bytes)", hp->expect_body, code, url, run->len,
			    run->full ? " or more" : "");
			r = PROBE_EXPECT_MISMATCH;
			goto done;
		}
	}
	if (hp->cert_min_days != 0 && (r = check_cert(p, msg, sizeof(msg))) != PROBE_OK)
		goto done;
	snprintf(msg, sizeof(msg), "HTTP %ld from %s in %ld ms", code, url,
	    (long)(total / 1000));
	r = PROBE_OK;
done:
	http_cleanup(p);
	probe_done(p, r, 0, NULL, "%s", msg);
}

static int
http_setup(struct probe *p, CURL *e)
{
	const struct http_params	*hp = p->cfg->params;
	struct http_run			*run = p->run;
	CURLcode			 rc = CURLE_OK;

#define SET(opt, val) do { if (rc == CURLE_OK) rc = hc.easy_setopt(e, opt, val); } while (0)
	SET(CURLOPT_URL, hp->url);
	SET(CURLOPT_PRIVATE, p);
	SET(CURLOPT_ERRORBUFFER, run->errbuf);
	SET(CURLOPT_WRITEFUNCTION, http_write);
	SET(CURLOPT_WRITEDATA, p);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	/* Probe this host as configured: no proxy from the environment. */
	SET(CURLOPT_PROXY, "");
	/* A fresh connection per attempt: a reused one would hide a dead listener. */
	SET(CURLOPT_FRESH_CONNECT, 1L);
	SET(CURLOPT_FORBID_REUSE, 1L);
	/*
	 * And a full TLS handshake per attempt: a resumed session sends no
	 * certificate, and cert_min_days judges the one of every attempt. A
	 * reused handle keeps its session cache through curl_easy_reset()
	 * (and libcurl >= 8.12 keeps one in the multi): without this, the
	 * second attempt resumes and sees the first one's certificate.
	 */
	SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
	/*
	 * A small plain GET or HEAD is one segment on a new connection, which
	 * Nagle never holds back (nothing is unacknowledged yet): one
	 * setsockopt() less per attempt. TLS, bodies and redirects write
	 * more than once: no delay for them.
	 */
	if (hp->one_segment)
		SET(CURLOPT_TCP_NODELAY, 0L);
	SET(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SET(CURLOPT_FOLLOWLOCATION, hp->follow_redirects ? 1L : 0L);
	SET(CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRS);
	SET(CURLOPT_SSL_VERIFYPEER, hp->tls_verify ? 1L : 0L);
	SET(CURLOPT_SSL_VERIFYHOST, hp->tls_verify ? 2L : 0L);
	if (hp->ca_file != NULL)
		SET(CURLOPT_CAINFO, hp->ca_file);
	if (hp->cert_min_days != 0)
		SET(CURLOPT_CERTINFO, 1L);
	if (hp->connect_to != NULL)
		SET(CURLOPT_CONNECT_TO, hp->connect_to);
	if (hp->headers != NULL)
		SET(CURLOPT_HTTPHEADER, hp->headers);
	if (hp->method != NULL && strcmp(hp->method, "HEAD") == 0)
		SET(CURLOPT_NOBODY, 1L);
	else if (hp->body != NULL || (hp->method != NULL && strcmp(hp->method, "POST") == 0)) {
		SET(CURLOPT_POSTFIELDS, hp->body != NULL ? hp->body : "");
		SET(CURLOPT_POSTFIELDSIZE, (long)(hp->body != NULL ? strlen(hp->body) : 0));
	}
	if (hp->method != NULL && strcmp(hp->method, "HEAD") != 0 &&
	    (strcmp(hp->method, "GET") != 0 || hp->body != NULL) &&
	    strcmp(hp->method, "POST") != 0)
		SET(CURLOPT_CUSTOMREQUEST, hp->method);
#undef SET
	return rc == CURLE_OK ? 0 : -1;
}

static void
http_start(struct probe *p)
{
	struct http_run	*run;
	const char	*why = NULL;
	CURL		*e;

	if ((run = calloc(1, sizeof(*run))) == NULL) {
		probe_done(p, PROBE_INTERNAL, 0, NULL, "out of memory");
		return;
	}
	p->run = run;
	if ((e = hm_easy()) == NULL) {
		why = "curl_easy_init failed";
		goto fail;
	}
	if (http_setup(p, e) == -1) {
		why = "this libcurl lacks an option the probe needs";
		hm_release(e);
		goto fail;
	}
	if (hm_add(p->ev, e, &why) == -1) {
		hm_release(e);
		goto fail;
	}
	/* Nothing completes inside curl_multi_add_handle(): curl only asks for a timer. */
	run->easy = e;
	/*
	 * It asks to be called at once: unless we are inside a call into curl
	 * already, do it here rather than one loop iteration later. The
	 * transfer may end inside (a refused connection): that is this
	 * attempt's probe_done().
	 */
	if (hm.dispatching == 0 && hm.now != NULL &&
	    sd_event_source_get_enabled(hm.now, NULL) > 0) {
		sd_event_source_set_enabled(hm.now, SD_EVENT_OFF);
		hm_action(CURL_SOCKET_TIMEOUT, 0);
	}
	return;
fail:
	http_cleanup(p);
	probe_done(p, PROBE_INTERNAL, 0, NULL, "%s", why);
}

const struct probe_type probe_type_http = {
	.cfg = {
		.name = "http",
		.keys = http_keys,
		.parse = http_parse,
		.free_params = http_free_params,
	},
	.start = http_start,
	.abort = http_cleanup,
};
