/* anycast-healthctl: the operator's tool. */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "cfg.h"
#include "ctl.h"
#include "frr.h"
#include "log.h"
#include "nl.h"
#include "probe.h"
#include "state.h"
#include "svc.h"

#define DEFAULT_SOCKET		"/run/anycast-healthd/control.sock"
#define DEFAULT_STATE		"/run/anycast-healthd/state.json"
/* A reload of a large configuration may take a moment; nothing else should. */
#define CLIENT_TIMEOUT_S	30

/* Nagios plugin exit codes, also used for our own usage errors. */
#define EXIT_UNKNOWN	3

static void
usage(FILE *f)
{
	fprintf(f, "usage: anycast-healthctl [-c PATH] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  validate              check the configuration: exit 0 valid, 2 invalid\n"
	    "  check SERVICE|--all   run the probes once, here, without the daemon;\n"
	    "                        print a Nagios plugin line, exit 0/1/2/3\n"
	    "  status [--json]       the daemon's services, prefixes and probes;\n"
	    "                        exit 0 all up, 1 degraded/drained, 2 down, 3 no daemon\n"
	    "  drain SERVICE [--grace DURATION]   withdraw a service for maintenance\n"
	    "  undrain SERVICE       end the maintenance\n"
	    "  reload                load the configuration again (invalid: kept as is)\n"
	    "  metrics               Prometheus text metrics\n"
	    "  withdraw-all [--force]  withdraw everything the state file lists\n"
	    "  frr-config [--asn N] [--router-id A] [--neighbor A] [--neighbor-asn N]\n"
	    "             [--template FILE]\n"
	    "                        print the FRR configuration the services need\n"
	    "-c PATH  main configuration file (default %s); also accepted after COMMAND\n"
	    "-s PATH  control socket (default: control_socket of the configuration)\n",
	    CFG_DEFAULT_MAIN);
}

static struct cfg *
load(const char *path)
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*cfg;

	if ((cfg = cfg_load(path, &errs)) != NULL)
		return cfg;
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	fprintf(stderr, "configuration invalid (%zu error%s)\n", errs.n,
	    errs.n == 1 ? "" : "s");
	cfg_errors_clear(&errs);
	return NULL;
}

static int
cmd_validate(const char *path)
{
	struct cfg	*cfg;

	if ((cfg = load(path)) == NULL)
		return 2;
	printf("configuration OK: %zu service(s)", cfg->nservices);
	for (size_t i = 0; i < cfg->nservices; i++)
		printf("%s%s", i ? ", " : ": ", cfg->services[i].name);
	printf("\n");
	cfg_free(cfg);
	return 0;
}

struct check {
	size_t	pending;
};

static void
check_probe_done(struct probe *p, void *arg)
{
	struct check	*c = arg;

	if (--c->pending == 0)
		sd_event_exit(p->ev, 0);
}

/* monitoring-plugins' order of badness: CRITICAL > WARNING > UNKNOWN > OK. */
static int
badness(enum nagios_state s)
{
	static const int rank[] = { 0, 2, 3, 1 };

	return rank[s];
}

static enum nagios_state
worse(enum nagios_state a, enum nagios_state b)
{
	return badness(b) > badness(a) ? b : a;
}

/* The service's verdict: require decides; a satisfied service is at worst WARNING. */
static enum nagios_state
check_service_state(const struct cfg_service *s, struct probe **probes, size_t *n_ok)
{
	enum nagios_state	 worst = NAGIOS_OK;
	size_t			 healthy = 0;

	*n_ok = 0;
	for (size_t i = 0; i < s->nprobes; i++) {
		worst = worse(worst, probes[i]->state);
		if (probes[i]->state == NAGIOS_OK)
			(*n_ok)++;
		if (svc_state_healthy(probes[i]->state, s->on_warning))
			healthy++;
	}
	if (healthy < s->require)
		return NAGIOS_CRITICAL;
	return worst == NAGIOS_CRITICAL ? NAGIOS_WARNING : worst;
}

static void
perfdata_value(char *buf, size_t len, uint64_t us)
{
	if (us == 0)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%g", (double)us / 1e6);
}

/*
 * Appends a probe's own performance data (an exec plugin's) with each label
 * prefixed by the probe's name and a colon, so that they collide neither with
 * another plugin's nor with our own "PROBE_time": "offset=0.1s;1;2" of probe
 * ntp becomes "'ntp:offset'=0.1s;1;2". Parsing
 * stops at the first item that is not "label=value" (the rest is dropped
 * rather than passed on broken).
 */
static size_t
perfdata_append(char *perf, size_t len, size_t off, const char *prefix,
    const char *probe, const char *pd)
{
	char	label[256];
	size_t	l, v;

	while (*pd != '\0' && off < len) {
		while (*pd == ' ' || *pd == '\t')
			pd++;
		if (*pd == '\0')
			break;
		l = 0;
		if (*pd == '\'') {
			/* Quoted: '' stands for one quote and stays escaped. */
			for (pd++; *pd != '\0' && l + 2 < sizeof(label); pd++) {
				if (*pd == '\'' && pd[1] != '\'')
					break;
				if (*pd == '\'')
					label[l++] = *pd++;
				label[l++] = *pd;
			}
			if (*pd++ != '\'')
				return off;
		} else
			for (; *pd != '\0' && *pd != '=' && *pd != ' ' &&
			    l + 1 < sizeof(label); pd++)
				label[l++] = *pd;
		label[l] = '\0';
		if (*pd++ != '=' || l == 0)
			return off;
		v = strcspn(pd, " \t");
		if (v == 0)
			return off;
		off += (size_t)snprintf(perf + off, off < len ? len - off : 0,
		    " '%s%s:%s'=%.*s", prefix, probe, label, (int)v, pd);
		pd += v;
	}
	return off;
}

static int
cmd_check(const char *path, const char *name)
{
	struct cfg		 *cfg;
	struct probe		***probes = NULL;
	struct check		  c = { 0 };
	sd_event		 *ev = NULL;
	enum nagios_state	  total = NAGIOS_OK;
	char			  summary[1024] = "", perf[8192] = "", w[32], cr[32];
	char			  prefix[128];
	size_t			  soff = 0, poff = 0, n_ok, nsel = 0;
	int			  r, rc = EXIT_UNKNOWN;
	bool			  all = strcmp(name, "--all") == 0;

	if ((cfg = load(path)) == NULL)
		return EXIT_UNKNOWN;
	for (size_t i = 0; i < cfg->nservices; i++)
		if (all || strcmp(cfg->services[i].name, name) == 0)
			nsel++;
	if (nsel == 0) {
		printf("ANYCAST-HEALTH UNKNOWN - no service '%s' in the configuration\n", name);
		goto out;
	}
	log_setup(LOG_LVL_ERROR, LOG_FMT_TEXT, false);
	/* exec probes collect their children: an inherited SIG_IGN would reap them first. */
	signal(SIGCHLD, SIG_DFL);
	if ((r = sd_event_new(&ev)) < 0 ||
	    (probes = calloc(cfg->nservices, sizeof(*probes))) == NULL) {
		printf("ANYCAST-HEALTH UNKNOWN - cannot set up: %s\n", strerror(r < 0 ? -r : ENOMEM));
		goto out;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct cfg_service *s = &cfg->services[i];
		if (!all && strcmp(s->name, name) != 0)
			continue;
		probes[i] = calloc(s->nprobes, sizeof(**probes));
		for (size_t j = 0; probes[i] != NULL && j < s->nprobes; j++) {
			probes[i][j] = probe_new(ev, &s->probes[j], check_probe_done, &c);
			if (probes[i][j] == NULL)
				break;
			c.pending++;
		}
	}
	for (size_t i = 0; i < cfg->nservices; i++)
		for (size_t j = 0; probes[i] != NULL && j < cfg->services[i].nprobes; j++)
			if (probes[i][j] != NULL)
				probe_run_once(probes[i][j]);
	if (c.pending > 0 && (r = sd_event_loop(ev)) < 0) {
		printf("ANYCAST-HEALTH UNKNOWN - event loop: %s\n", strerror(-r));
		goto out;
	}

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct cfg_service *s = &cfg->services[i];
		enum nagios_state st;
		if (probes[i] == NULL)
			continue;
		st = check_service_state(s, probes[i], &n_ok);
		total = worse(total, st);
		soff += (size_t)snprintf(summary + soff, soff < sizeof(summary) ?
		    sizeof(summary) - soff : 0, "%s%s: %zu/%zu probes OK",
		    soff ? ", " : "", s->name, n_ok, s->nprobes);
		for (size_t j = 0; j < s->nprobes; j++) {
			const struct probe *p = probes[i][j];
			perfdata_value(w, sizeof(w), p->cfg->warning_us);
			perfdata_value(cr, sizeof(cr), p->cfg->critical_us);
			poff += (size_t)snprintf(perf + poff, poff < sizeof(perf) ?
			    sizeof(perf) - poff : 0, "%s'%s%s%s_time'=%.6fs;%s;%s;0",
			    poff ? " " : "", all ? s->name : "", all ? "/" : "",
			    p->cfg->name, (double)p->latency_us / 1e6, w, cr);
			snprintf(prefix, sizeof(prefix), "%s%s", all ? s->name : "",
			    all ? "/" : "");
			poff = perfdata_append(perf, sizeof(perf), poff, prefix,
			    p->cfg->name, p->perfdata);
		}
	}
	printf("ANYCAST-HEALTH %s - %s | %s\n", nagios_state_str(total), summary, perf);
	for (size_t i = 0; i < cfg->nservices; i++)
		for (size_t j = 0; probes[i] != NULL && j < cfg->services[i].nprobes; j++)
			printf("%s/%s: %s - %s (%.1f ms)\n", cfg->services[i].name,
			    probes[i][j]->cfg->name, nagios_state_str(probes[i][j]->state),
			    probes[i][j]->msg, (double)probes[i][j]->latency_us / 1000.0);
	rc = (int)total;
out:
	for (size_t i = 0; probes != NULL && i < cfg->nservices; i++) {
		for (size_t j = 0; probes[i] != NULL && j < cfg->services[i].nprobes; j++)
			probe_free(probes[i][j]);
		free(probes[i]);
	}
	free(probes);
	sd_event_unref(ev);
	cfg_free(cfg);
	return rc;
}

/*
 * One key of the main file, read without validating the rest: the control
 * socket and the state file must be found even when the configuration has
 * just been broken (that is when reload and withdraw-all matter most).
 */
static char *
main_key(const char *path, const char *key, const char *def)
{
	struct json_object	*o, *v;
	char			*r;

	o = json_object_from_file(path != NULL ? path : CFG_DEFAULT_MAIN);
	if (o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		r = strdup(json_object_get_string(v));
	else
		r = strdup(def);
	json_object_put(o);
	if (r == NULL) {
		fprintf(stderr, "anycast-healthctl: out of memory\n");
		exit(EXIT_UNKNOWN);
	}
	return r;
}

static int
ctl_connect(const char *path, bool quiet)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	struct timeval		tv = { .tv_sec = CLIENT_TIMEOUT_S };
	int			fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		if (!quiet)
			fprintf(stderr, "anycast-healthctl: %s: path too long\n", path);
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (!quiet)
			fprintf(stderr, "anycast-healthctl: cannot reach the daemon at %s: %s\n",
			    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Sends req (taken) and returns the reply, or NULL if the daemon cannot be reached. */
static struct json_object *
ctl_request(const char *sock, struct json_object *req)
{
	struct json_object	*reply = NULL;
	const char		*text;
	char			*buf = NULL, *tmp;
	size_t			 len = 0, cap = 0;
	ssize_t			 n;
	int			 fd;

	if ((fd = ctl_connect(sock, false)) == -1)
		goto out;
	text = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	if (send(fd, text, strlen(text), MSG_NOSIGNAL) != (ssize_t)strlen(text) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "anycast-healthctl: %s: %s\n", sock, strerror(errno));
		goto out;
	}
	for (;;) {
		if (len + 4096 > cap) {
			/* Doubling: a status of thousands of services is megabytes. */
			if (cap > CTL_MAX_CLIENT_REPLY ||
			    (tmp = realloc(buf, cap ? cap * 2 : 65536)) == NULL) {
				fprintf(stderr, "anycast-healthctl: reply too long\n");
				goto out;
			}
			buf = tmp;
			cap = cap ? cap * 2 : 65536;
		}
		if ((n = recv(fd, buf + len, cap - len - 1, 0)) == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "anycast-healthctl: %s: %s\n", sock, n == 0 ?
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
	if ((reply = json_tokener_parse(buf)) == NULL ||
	    !json_object_is_type(reply, json_type_object)) {
		fprintf(stderr, "anycast-healthctl: malformed reply from the daemon\n");
		json_object_put(reply);
		reply = NULL;
	}
out:
	if (fd != -1)
		close(fd);
	free(buf);
	json_object_put(req);
	return reply;
}

static bool
reply_ok(struct json_object *reply)
{
	struct json_object	*v;

	return json_object_object_get_ex(reply, "ok", &v) && json_object_get_boolean(v);
}

static const char *
jstr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		return "";
	return json_object_get_string(v);
}

static double
jnum(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	return json_object_get_double(v);
}

static bool
jbool(struct json_object *o, const char *key)
{
	struct json_object	*v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static struct json_object *
jarr(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_array))
		return NULL;
	return v;
}

static void
fmt_age(double secs, char *buf, size_t len)
{
	unsigned long	s = secs < 0 ? 0 : (unsigned long)secs;

	if (s < 60)
		snprintf(buf, len, "%lus", s);
	else if (s < 3600)
		snprintf(buf, len, "%lum%02lus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%luh%02lum", s / 3600, s / 60 % 60);
	else
		snprintf(buf, len, "%lud%02luh", s / 86400, s / 3600 % 24);
}

/*
 * The Nagios verdict for one service: up 0; degraded, drained or briefly
 * in init 1; down, or in init for longer than rise x interval, 2.
 */
static int
service_exit(struct json_object *svc, double now)
{
	const char	*st = jstr(svc, "state");

	if (strcmp(st, "up") == 0)
		return 0;
	if (strcmp(st, "degraded") == 0 || strcmp(st, "drained") == 0)
		return 1;
	if (strcmp(st, "init") == 0 &&
	    (now - jnum(svc, "since_unix")) * 1000 <= jnum(svc, "init_limit_ms"))
		return 1;
	return 2;
}

static int
cmd_status(const char *sock, bool json)
{
	struct json_object	*reply, *req = json_object_new_object(), *svcs, *svc, *e;
	struct timespec		 ts;
	double			 now;
	char			 age[32];
	int			 rc = 0, src;

	json_object_object_add(req, "cmd", json_object_new_string("status"));
	if ((reply = ctl_request(sock, req)) == NULL) {
		if (!json)
			printf("ANYCAST-HEALTH UNKNOWN - daemon not reachable at %s\n", sock);
		return EXIT_UNKNOWN;
	}
	if (!reply_ok(reply) || (svcs = jarr(reply, "services")) == NULL) {
		fprintf(stderr, "anycast-healthctl: %s\n", jstr(reply, "error"));
		json_object_put(reply);
		return EXIT_UNKNOWN;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	for (size_t i = 0; i < json_object_array_length(svcs); i++) {
		src = service_exit(json_object_array_get_idx(svcs, i), now);
		rc = src > rc ? src : rc;
	}
	if (json) {
		json_object_object_del(reply, "ok");
		printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(reply);
		return rc;
	}
	printf("anycast-healthd %s, pid %d, started %s\n", jstr(reply, "version"),
	    (int)jnum(reply, "pid"), jstr(reply, "started"));
	if (json_object_array_length(svcs) == 0)
		printf("no services configured\n");
	for (size_t i = 0; i < json_object_array_length(svcs); i++) {
		struct json_object *arr;
		svc = json_object_array_get_idx(svcs, i);
		fmt_age(now - jnum(svc, "since_unix"), age, sizeof(age));
		printf("\n%-20s %-9s since %s (%s)%s\n", jstr(svc, "name"), jstr(svc, "state"),
		    jstr(svc, "since"), age, strcmp(jstr(svc, "state"), "drained") == 0 &&
		    jbool(svc, "announcing") ? ", grace period: still announced" : "");
		if ((arr = jarr(svc, "prefixes")) != NULL)
			for (size_t j = 0; j < json_object_array_length(arr); j++) {
				e = json_object_array_get_idx(arr, j);
				printf("  prefix %-28s on %-8s %s\n", jstr(e, "prefix"),
				    jstr(e, "interface"), jbool(e, "announced") ?
				    "announced" : "not announced");
			}
		if ((arr = jarr(svc, "probes")) != NULL)
			for (size_t j = 0; j < json_object_array_length(arr); j++) {
				e = json_object_array_get_idx(arr, j);
				printf("  probe  %-20s %-8s %-4s %8.1f ms  %s\n", jstr(e, "name"),
				    jstr(e, "state"), jstr(e, "health"), jnum(e, "latency_ms"),
				    jstr(e, "message"));
			}
	}
	json_object_put(reply);
	return rc;
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

static int
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

static int
cmd_reload(const char *sock)
{
	struct json_object	*req = json_object_new_object(), *reply, *errs;

	json_object_object_add(req, "cmd", json_object_new_string("reload"));
	if ((reply = ctl_request(sock, req)) == NULL)
		return EXIT_UNKNOWN;
	if (reply_ok(reply)) {
		printf("reloaded: %d service(s)\n", (int)jnum(reply, "services"));
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

static int
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

struct withdraw {
	sd_event	*ev;
};

static void
withdraw_frr_cb(struct frr *f, void *arg)
{
	struct withdraw	*w = arg;

	if (frr_synced(f) || frr_failing(f))
		sd_event_exit(w->ev, frr_synced(f) ? 0 : 1);
}

static int
withdraw_deadline_cb(sd_event_source *s, uint64_t usec, void *arg)
{
	return sd_event_exit(sd_event_source_get_event(s), 2);
}

static bool
state_has_address(const struct state *st)
{
	for (size_t i = 0; i < st->nannounced; i++)
		if (st->announced[i].method != METHOD_NETWORK)
			return true;
	return false;
}

/*
 * Removes the network statements st lists through the daemon's own FRR
 * driver (read the running configuration, remove what is there, read it
 * back), on a short-lived event loop. 0 when FRR confirmed them gone.
 */
static int
withdraw_statements(const struct state *st, char *err, size_t errlen)
{
	struct state_frr	 fr = st->frr;
	struct cfg		 cfg = { 0 };
	struct withdraw		 w = { 0 };
	struct frr		*f = NULL;
	sd_event_source		*deadline = NULL;
	sigset_t		 mask;
	size_t			 n = 0;
	int			 r, rc = -1;

	for (size_t i = 0; i < st->nannounced; i++)
		n += st->announced[i].method != METHOD_ADDRESS;
	if (n == 0)
		return 0;
	if (!fr.set) {
		snprintf(err, errlen, "the state file does not say how to reach FRR");
		return -1;
	}
	cfg.frr.vtysh = fr.vtysh;
	cfg.frr.pathspace = fr.pathspace[0] != '\0' ? fr.pathspace : NULL;
	cfg.frr.vrf = fr.vrf[0] != '\0' ? fr.vrf : NULL;
	cfg.frr.asn = fr.asn;
	cfg.frr.timeout_us = fr.timeout_us;
	/* vtysh is watched as a child of the loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((r = sd_event_new(&w.ev)) < 0 ||
	    (f = frr_new(w.ev, &cfg, withdraw_frr_cb, &w)) == NULL) {
		snprintf(err, errlen, "cannot set up: %s", strerror(r < 0 ? -r : ENOMEM));
		goto out;
	}
	for (size_t i = 0; i < st->nannounced; i++) {
		if (st->announced[i].method == METHOD_ADDRESS)
			continue;
		if (frr_manage(f, &st->announced[i].pfx) == -1) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		frr_want(f, &st->announced[i].pfx, false, NULL);
	}
	/* A few vtysh calls at most: read, remove, read back. */
	if ((r = frr_start(f)) < 0 ||
	    (r = sd_event_add_time_relative(w.ev, &deadline, CLOCK_MONOTONIC,
	    3 * fr.timeout_us + 2000000, 1000, withdraw_deadline_cb, NULL)) < 0) {
		snprintf(err, errlen, "cannot start: %s", strerror(-r));
		goto out;
	}
	switch (sd_event_loop(w.ev)) {
	case 0:
		rc = 0;
		break;
	case 2:
		snprintf(err, errlen, "no confirmation from FRR in time");
		break;
	default:
		snprintf(err, errlen, "vtysh failed (is bgpd running? see above)");
	}
out:
	sd_event_source_disable_unref(deadline);
	frr_free(f);
	sd_event_unref(w.ev);
	return rc;
}

/*
 * Withdraws what the state file lists: for systemd's ExecStopPost=, so that
 * a daemon that died (kill -9, crash) leaves nothing announced.
 */
static int
cmd_withdraw_all(const char *path, const char *sock, bool force)
{
	struct state	 st, left = { 0 };
	struct nl	*nl = NULL;
	char		*file, *text = NULL, err[512], buf[PFX_STRLEN];
	const char	*result;
	unsigned	 ifindex;
	int		 rc = 0, fd;
	bool		 frr_ok;

	file = main_key(path, "state_file", DEFAULT_STATE);
	if ((rc = state_read(file, &st, err, sizeof(err))) == 1) {
		printf("no state file %s: nothing to withdraw\n", file);
		rc = 0;
		goto out;
	}
	if (rc == -1) {
		fprintf(stderr, "anycast-healthctl: state file %s: %s\n", file, err);
		rc = 1;
		goto out;
	}
	result = getenv("SERVICE_RESULT");
	if (st.kept && result != NULL && strcmp(result, "success") == 0) {
		/* systemd's ExecStopPost= after a clean stop with on_exit "keep". */
		printf("the daemon stopped cleanly with on_exit \"keep\": leaving %zu "
		    "announcement(s) for its next start\n", st.nannounced);
		goto out;
	}
	if (!force && (fd = ctl_connect(sock, true)) != -1) {
		close(fd);
		fprintf(stderr, "anycast-healthctl: the daemon is running (%s) and would "
		    "announce again; stop it first, drain a service, or use --force\n", sock);
		rc = 1;
		goto out;
	}
	if (state_has_address(&st) && (nl = nl_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "anycast-healthctl: netlink: %s\n", err);
		rc = 1;
		goto out;
	}
	/* What stays listed can be retried: keep how to reach FRR. */
	left.frr = st.frr;
	frr_ok = withdraw_statements(&st, err, sizeof(err)) == 0;
	if (!frr_ok)
		fprintf(stderr, "anycast-healthctl: FRR: %s\n", err);
	for (size_t i = 0; i < st.nannounced; i++) {
		const struct state_entry *e = &st.announced[i];
		bool stays = false;

		pfx_fmt(&e->pfx, buf, sizeof(buf));
		if (e->method != METHOD_ADDRESS) {
			if (frr_ok)
				printf("withdrew network %s from FRR\n", buf);
			else
				stays = true;
		}
		/* both: the address goes even if the statement stays (import-check). */
		if (e->method != METHOD_NETWORK) {
			if ((ifindex = if_nametoindex(e->ifname)) == 0) {
				printf("%s on %s: interface gone, nothing to withdraw\n", buf,
				    e->ifname);
			} else if (nl_addr_del(nl, ifindex, &e->pfx, err, sizeof(err)) == -1) {
				fprintf(stderr, "%s on %s: %s\n", buf, e->ifname, err);
				stays = true;
			} else
				printf("withdrew %s on %s\n", buf, e->ifname);
		}
		if (stays) {
			state_add_announced(&left, &e->pfx, e->ifname, e->method);
			rc = 1;
		}
	}
	/* Drains survive; what could not be withdrawn stays listed for another try. */
	for (size_t i = 0; i < st.ndrained; i++)
		state_add_drained(&left, st.drained[i]);
	if ((text = state_format(&left)) == NULL ||
	    state_write_file(file, text, err, sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthctl: state file: %s\n", text ? err :
		    "out of memory");
		rc = 1;
	}
out:
	nl_close(nl);
	state_clear(&st);
	state_clear(&left);
	free(text);
	free(file);
	return rc;
}

static void
collect_prefixes(const struct cfg *cfg, bool address_only, struct pfx *out, size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct cfg_service *s = &cfg->services[i];
		if (address_only && s->method != METHOD_ADDRESS)
			continue;
		for (size_t j = 0; j < s->nprefixes; j++) {
			bool dup = false;
			for (size_t k = 0; k < *n && !dup; k++)
				dup = pfx_equal(&out[k], &s->prefixes[j]);
			if (!dup)
				out[(*n)++] = s->prefixes[j];
		}
	}
}

/* Prints frr-templates/anycast-healthd.conf filled in for the configured services. */
static int
cmd_frr_config(const char *path, char **args, int nargs)
{
	struct frr_render	 v = { 0 };
	struct cfg		*cfg;
	struct pfx		*all = NULL, *addr = NULL;
	const char		*tpl = PKGDATADIR "/frr-templates/anycast-healthd.conf";
	char			 asn[16];
	size_t			 total = 0;
	FILE			*in = NULL;
	int			 rc = 2;

	for (int i = 0; i < nargs; i++) {
		const char **dst = NULL;
		if (strcmp(args[i], "--asn") == 0)
			dst = &v.asn;
		else if (strcmp(args[i], "--router-id") == 0)
			dst = &v.router_id;
		else if (strcmp(args[i], "--neighbor") == 0)
			dst = &v.neighbor;
		else if (strcmp(args[i], "--neighbor-asn") == 0)
			dst = &v.neighbor_asn;
		else if (strcmp(args[i], "--template") == 0)
			dst = &tpl;
		if (dst == NULL || i + 1 == nargs) {
			usage(stderr);
			return EXIT_UNKNOWN;
		}
		*dst = args[++i];
	}
	if ((cfg = load(path)) == NULL)
		return 2;
	if (v.asn == NULL && cfg->frr.asn != 0) {
		snprintf(asn, sizeof(asn), "%u", cfg->frr.asn);
		v.asn = asn;
	}
	if (v.asn == NULL) {
		fprintf(stderr, "frr-config: the AS number is needed: --asn N, or frr.asn\n");
		goto out;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		total += cfg->services[i].nprefixes;
		if (cfg->services[i].on_warning == ONW_DEGRADE &&
		    strcmp(cfg->services[i].degraded_route_map, "ANYCAST-DEGRADED") != 0)
			fprintf(stderr, "frr-config: %s uses route-map %s, which the "
			    "template does not define; write it yourself\n",
			    cfg->services[i].name, cfg->services[i].degraded_route_map);
	}
	all = calloc(total + 1, sizeof(*all));
	addr = calloc(total + 1, sizeof(*addr));
	if (all == NULL || addr == NULL) {
		fprintf(stderr, "frr-config: out of memory\n");
		goto out;
	}
	collect_prefixes(cfg, false, all, &v.nprefixes);
	collect_prefixes(cfg, true, addr, &v.naddr_prefixes);
	v.prefixes = all;
	v.addr_prefixes = addr;
	if ((in = fopen(tpl, "r")) == NULL) {
		fprintf(stderr, "frr-config: %s: %s\n", tpl, strerror(errno));
		goto out;
	}
	printf("! anycast-healthd frr-config: %zu service(s), %zu prefix(es), "
	    "%zu with method address\n", cfg->nservices, v.nprefixes, v.naddr_prefixes);
	if (frr_render(in, stdout, &v) == -1) {
		fprintf(stderr, "frr-config: %s: %s\n", tpl, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (in != NULL)
		fclose(in);
	free(all);
	free(addr);
	cfg_free(cfg);
	return rc;
}

int
main(int argc, char *argv[])
{
	const char	*path = NULL, *cmd = NULL, *sockopt = NULL, *grace = NULL;
	char		*args[16];
	char		*sock;
	bool		 json = false, force = false;
	int		 nargs = 0, rc;

	/* Options are accepted before and after the command. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0 ||
		    strcmp(argv[i], "--grace") == 0) {
			if (i + 1 == argc) {
				usage(stderr);
				return EXIT_UNKNOWN;
			}
			if (argv[i][1] == 'c')
				path = argv[++i];
			else if (argv[i][1] == 's')
				sockopt = argv[++i];
			else
				grace = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (cmd == NULL) {
			cmd = argv[i];
		} else if (nargs < (int)(sizeof(args) / sizeof(args[0]))) {
			args[nargs++] = argv[i];
		} else {
			usage(stderr);
			return EXIT_UNKNOWN;
		}
	}
	if (cmd != NULL && strcmp(cmd, "validate") == 0 && nargs == 0)
		return cmd_validate(path);
	if (cmd != NULL && strcmp(cmd, "check") == 0 && nargs == 1)
		return cmd_check(path, args[0]);
	if (cmd != NULL && strcmp(cmd, "frr-config") == 0)
		return cmd_frr_config(path, args, nargs);
	if (cmd == NULL) {
		usage(stderr);
		return EXIT_UNKNOWN;
	}
	sock = sockopt != NULL ? strdup(sockopt) : main_key(path, "control_socket",
	    DEFAULT_SOCKET);
	if (sock == NULL)
		return EXIT_UNKNOWN;
	rc = -1;
	if (strcmp(cmd, "status") == 0 && nargs == 0)
		rc = cmd_status(sock, json);
	else if (strcmp(cmd, "drain") == 0 && nargs == 1)
		rc = cmd_drain(sock, true, args[0], grace);
	else if (strcmp(cmd, "undrain") == 0 && nargs == 1 && grace == NULL)
		rc = cmd_drain(sock, false, args[0], NULL);
	else if (strcmp(cmd, "reload") == 0 && nargs == 0)
		rc = cmd_reload(sock);
	else if (strcmp(cmd, "metrics") == 0 && nargs == 0)
		rc = cmd_metrics(sock);
	else if (strcmp(cmd, "withdraw-all") == 0 && nargs == 0)
		rc = cmd_withdraw_all(path, sock, force);
	free(sock);
	if (rc == -1) {
		usage(stderr);
		return EXIT_UNKNOWN;
	}
	return rc;
}
