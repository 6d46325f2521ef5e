/* status: the daemon's services, prefixes and probes, as a Nagios plugin or a table. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "plugin.h"
#include "probe.h"
#include "ctl_int.h"

static void
fmt_age(double secs, char *buf, size_t len)
{
	unsigned long	s;

	/* Clamped: since_unix is the daemon's, and a cast out of range is undefined. */
	if (!(secs > 0))
		s = 0;
	else if (secs >= (double)ULONG_MAX)
		s = ULONG_MAX;
	else
		s = (unsigned long)secs;

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
service_exit(const char *st, double since_unix, double init_limit_ms, double now)
{
	if (strcmp(st, "up") == 0)
		return 0;
	if (strcmp(st, "degraded") == 0 || strcmp(st, "drained") == 0)
		return 1;
	if (strcmp(st, "init") == 0 && (now - since_unix) * 1000 <= init_limit_ms)
		return 1;
	return 2;
}

/* What status prints when -t runs out or it is terminated: set before the alarm. */
static char	status_alarm_line[256];

static void
status_signal(int sig)
{
	const char	*l = sig == SIGALRM ? status_alarm_line :
	    sig == SIGTERM ? "ANYCAST-HEALTH UNKNOWN - terminated by SIGTERM\n" :
	    "ANYCAST-HEALTH UNKNOWN - interrupted\n";

	(void)!write(STDOUT_FILENO, l, strlen(l));
	_exit(EXIT_UNKNOWN);
}

/* The daemon could not be asked: why, in a plugin line. */
static int
status_unreachable(const char *sock)
{
	char	summary[SUMMARY_MAX];

	if (ctl_errno == EACCES || ctl_errno == EPERM)
		snprintf(summary, sizeof(summary), "permission denied on the control socket "
		    "%s for uid %u: status needs write access to the socket (its group, "
		    "see anycast-healthctl(8))", sock, (unsigned)geteuid());
	else if (ctl_errno == ENOENT || ctl_errno == ECONNREFUSED)
		snprintf(summary, sizeof(summary), "daemon not running: %s", ctl_err);
	else
		snprintf(summary, sizeof(summary), "daemon not reachable: %s", ctl_err);
	plugin_line("UNKNOWN", summary);
	return EXIT_UNKNOWN;
}

/* A probe's Nagios state as status reports it; PENDING (not run yet) counts as UNKNOWN. */
static enum nagios_state
probe_state(const char *st)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(st, names[i]) == 0)
			return (enum nagios_state)i;
	return NAGIOS_UNKNOWN;
}

/* One service of the daemon in the first line. */
static void
status_summary(const struct svc_view *v, int src, char *summary, size_t len, size_t *off)
{
	const struct probe_view	*worst = NULL;
	size_t			 n_ok = 0;

	/* Full (append() keeps it at len - 1): nothing more would show. */
	if (*off + 1 >= len)
		return;
	for (size_t j = 0; j < v->nprobes; j++) {
		if (probe_state(v->probes[j].state) == NAGIOS_OK)
			n_ok++;
		else if (src != 0 && (worst == NULL || badness(probe_state(v->probes[j].state)) >
		    badness(probe_state(worst->state))))
			worst = &v->probes[j];
	}
	summary_item(summary, len, off, v->name, v->state,
	    worst != NULL ? worst->name : NULL,
	    worst != NULL ? worst->message : NULL, n_ok, v->nprobes);
}

/* One service's perfdata: state, announced prefixes, probe latencies. */
static void
status_perf(const struct svc_view *v, int src, bool prefixed, struct plugin_perf *pp)
{
	const struct probe_view	*e;
	char			 prefix[160], rest[128], w[32], c[32], t[32];
	size_t			 ann = 0;

	/*
	 * Once an item is dropped, so is every later one (plugin_perf_add()):
	 * count them without formatting them, which at 10,000 services was
	 * most of this function's cost.
	 */
	if (pp->dropped > 0) {
		pp->dropped += 2 + v->nprobes;
		return;
	}
	snprintf(prefix, sizeof(prefix), "%s%s", prefixed ? v->name : "", prefixed ? "/" : "");
	/*
	 * 0 up, 1 degraded, drained or starting, 2 down: the exit status's
	 * scale. Nagios ranges: warning "0" alerts above 0, critical "1" above 1.
	 */
	snprintf(rest, sizeof(rest), "%d;0;1;0;2", src);
	plugin_perf_add(pp, prefix, "state", rest);
	for (size_t j = 0; j < v->npfx; j++)
		ann += v->pfx[j].announced;
	snprintf(rest, sizeof(rest), "%zu;;;0;%zu", ann, v->npfx);
	plugin_perf_add(pp, prefix, "announced", rest);
	for (size_t j = 0; j < v->nprobes; j++) {
		e = &v->probes[j];
		snprintf(prefix, sizeof(prefix), "%s%s%s", prefixed ? v->name : "",
		    prefixed ? "/" : "", e->name);
		plugin_num(t, sizeof(t), e->latency_ms / 1000.0);
		w[0] = c[0] = '\0';
		if (e->warning_ms > 0)
			plugin_num(w, sizeof(w), e->warning_ms / 1000.0);
		if (e->critical_ms > 0)
			plugin_num(c, sizeof(c), e->critical_ms / 1000.0);
		snprintf(rest, sizeof(rest), "%ss;%s;%s;0", t, w, c);
		plugin_perf_add(pp, prefix, "_time", rest);
	}
}

/* The damping line of the table, if there is something to say. */
static void
status_damping(const struct svc_view *v)
{
	char	age[32];

	if (!v->damping || !(v->d_suppressed || v->d_penalty >= 1))
		return;
	fmt_age(v->d_reuse_in_ms / 1000, age, sizeof(age));
	printf("  damping %s, penalty %.0f (suppress above %.0f, reuse below "
	    "%.0f)%s%s\n", v->d_suppressed ? "SUPPRESSED" : "not suppressed",
	    v->d_penalty, v->d_suppress, v->d_reuse,
	    v->d_suppressed ? ", reuse in " : "", v->d_suppressed ? age : "");
}

/* The table for a person at a terminal (--verbose): the daemon, then each service. */
static void
status_table(struct json_object *reply, const struct svc_view *sel, size_t nsel, double now)
{
	const struct svc_view	*v;
	struct json_object	*e;
	char			 age[32];

	detail_line("anycast-healthd %s, pid %d, started %s", jstr(reply, "version"),
	    jint(reply, "pid"), jstr(reply, "started"));
	if (json_object_object_get_ex(reply, "state_file", &e) && !jbool(e, "ok"))
		detail_line("CRITICAL: state file not written (%s); %d prefix(es) held back",
		    jstr(e, "error"), jint(e, "held_back"));
	if (nsel == 0)
		detail_line("no services configured");
	for (size_t i = 0; i < nsel; i++) {
		v = &sel[i];
		fmt_age(now - v->since_unix, age, sizeof(age));
		printf("\n");
		detail_line("%-20s %-9s since %s (%s)%s", v->name, v->state, v->since, age,
		    strcmp(v->state, "drained") == 0 && v->announcing ?
		    ", grace period: still announced" : "");
		status_damping(v);
		for (size_t j = 0; j < v->npfx; j++)
			detail_line("  prefix %-28s on %-8s %s", v->pfx[j].prefix,
			    v->pfx[j].interface, v->pfx[j].announced ?
			    "announced" : "not announced");
		for (size_t j = 0; j < v->nprobes; j++) {
			const struct probe_view *p = &v->probes[j];

			detail_line("  probe  %-20s %-8s %-4s %8.1f ms  %s", p->name,
			    p->state, p->health, p->latency_ms, p->message);
		}
	}
}

/* Long output for a monitoring system: one line per probe. */
static void
status_details(const struct svc_view *sel, size_t nsel)
{
	const struct probe_view	*p;
	char			 t[32];
	size_t			 ann;

	for (size_t i = 0; i < nsel; i++) {
		ann = 0;
		for (size_t j = 0; j < sel[i].npfx; j++)
			ann += sel[i].pfx[j].announced;
		detail_line("%s: %s since %s, %zu/%zu prefixes announced", sel[i].name,
		    sel[i].state, sel[i].since, ann, sel[i].npfx);
		for (size_t j = 0; j < sel[i].nprobes; j++) {
			p = &sel[i].probes[j];
			plugin_num(t, sizeof(t), p->latency_ms);
			detail_line("%s/%s: %s - %s (%s ms)", sel[i].name, p->name,
			    p->state, p->message, t);
		}
	}
}

/*
 * Until the daemon answers, -t and SIGTERM/SIGINT end status with a plugin
 * line of their own.
 */
static void
status_timer_on(const char *sock, double timeout_s)
{
	struct sigaction	 sa;
	struct itimerval	 it = { 0 };
	char			 t[32];

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = status_signal;
	plugin_num(t, sizeof(t), timeout_s);
	snprintf(status_alarm_line, sizeof(status_alarm_line), "ANYCAST-HEALTH UNKNOWN - "
	    "no answer from the daemon at %s within %ss\n", sock, t);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (timeout_s > 0) {
		/*
		 * The timer says why; the socket's timeouts, a little longer,
		 * are only a backstop, so that the message does not depend on
		 * which of the two comes first.
		 */
		ctl_timeout_s = timeout_s + 0.5;
		it.it_value.tv_sec = (time_t)timeout_s;
		it.it_value.tv_usec = (suseconds_t)((timeout_s - (double)(time_t)timeout_s) *
		    1e6);
		if (it.it_value.tv_sec == 0 && it.it_value.tv_usec == 0)
			it.it_value.tv_usec = 1;
		setitimer(ITIMER_REAL, &it, NULL);
	}
}

/* Answered: no timer any more, and a signal no longer adds a line to the output. */
static void
status_timer_off(void)
{
	struct sigaction	 sa;
	struct itimerval	 it = { 0 };

	setitimer(ITIMER_REAL, &it, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
}

/*
 * Asks the daemon for its status and reads the reply (status_read.c): the
 * services asked for as views, or, with --json when the reply is not of the
 * plain shape, whole (sv->reply).
 * 0, or -1 after saying why (a plugin line, or stderr with --json).
 */
static int
status_request(const char *sock, const char *service, bool json, double timeout_s,
    struct status_views *sv)
{
	struct json_object	*req = json_object_new_object();
	char			*text;
	size_t			 len;
	int			 rc = -1;

	memset(sv, 0, sizeof(*sv));
	ctl_plugin = !json;
	status_timer_on(sock, timeout_s);
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	if ((text = ctl_request_text(sock, req, &len)) != NULL &&
	    status_views_read(text, len, service, json, sv) == -1) {
		if (json)
			fprintf(stderr, "anycast-healthctl: out of memory\n");
		else
			plugin_line("UNKNOWN", "out of memory");
		goto out;
	}
	if (sv->reply == NULL) {
		if (!json)
			status_unreachable(sock);
		goto out;
	}
	status_timer_off();
	if (!reply_ok(sv->reply) || jarr(sv->reply, "services") == NULL) {
		ctl_errno = strncmp(jstr(sv->reply, "error"), "permission denied", 17) == 0 ?
		    EACCES : EPROTO;
		snprintf(ctl_err, sizeof(ctl_err), "%s", jstr(sv->reply, "error"));
		status_views_free(sv);
		if (json)
			fprintf(stderr, "anycast-healthctl: %s\n", ctl_err);
		else
			status_unreachable(sock);
		goto out;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

/* The services status reports, with their exit statuses. */
struct status_sel {
	struct status_views	  sv;	/* the reply, its services' views */
	struct json_object	**sel;	/* --json, the reply whole: the services asked for */
	int			 *exits;
	size_t			  nsel;
	double			  now;
	int			  rc;	/* the worst exit status */
};

/* Selects the service asked for (all: NULL). 0, or -1 out of memory. */
static int
status_select(struct status_sel *ss, const char *service)
{
	struct json_object	*svcs = jarr(ss->sv.reply, "services"), *svc;
	struct timespec		 ts;
	bool			 json = ss->sv.json && !ss->sv.cut;
	size_t			 n = json ? json_object_array_length(svcs) : ss->sv.n;

	clock_gettime(CLOCK_REALTIME, &ts);
	ss->now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	if ((json && (ss->sel = calloc(n + 1, sizeof(*ss->sel))) == NULL) ||
	    (ss->exits = calloc(n + 1, sizeof(*ss->exits))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (json) {
			svc = json_object_array_get_idx(svcs, i);
			if (service != NULL && strcmp(jstr(svc, "name"), service) != 0)
				continue;
			ss->exits[ss->nsel] = service_exit(jstr(svc, "state"),
			    jnum(svc, "since_unix"), jnum(svc, "init_limit_ms"), ss->now);
			ss->sel[ss->nsel] = svc;
		} else
			/* The views are of the service asked for already. */
			ss->exits[ss->nsel] = service_exit(ss->sv.v[i].state,
			    ss->sv.v[i].since_unix, ss->sv.v[i].init_limit_ms, ss->now);
		ss->rc = ss->exits[ss->nsel] > ss->rc ? ss->exits[ss->nsel] : ss->rc;
		ss->nsel++;
	}
	return 0;
}

/*
 * --json, read a service at a time: the reply without its services as
 * json-c prints it, the services' own text put in its empty array the way
 * json-c prints an array's elements: the text of the reply parsed whole.
 */
static void
status_json_cut(const struct status_sel *ss)
{
	static const char	 empty[] = "\n  \"services\": [\n  ]";
	const char		*t, *at;
	size_t			 head = sizeof(empty) - 1 - 4;

	t = json_object_to_json_string_ext(ss->sv.reply, STATUS_JSON_FLAGS);
	/* No services: json-c prints the empty array as it is here. */
	if (ss->nsel == 0 || t == NULL || (at = strstr(t, empty)) == NULL)
		printf("%s\n", t != NULL ? t : "");
	else {
		fwrite(t, 1, (size_t)(at - t) + head, stdout);
		for (size_t i = 0; i < ss->nsel; i++)
			printf("%s    %s", i > 0 ? ",\n" : "\n", ss->sv.v[i].json);
		printf("\n  ]%s\n", at + sizeof(empty) - 1);
	}
}

/* --json: the daemon's object, with the one service asked for if any. */
static void
status_json(const struct status_sel *ss, const char *service)
{
	struct json_object	*reply = ss->sv.reply;

	json_object_object_del(reply, "ok");
	if (ss->sv.cut)
		status_json_cut(ss);
	else {
		if (service != NULL) {
			struct json_object *one = json_object_new_array();
			for (size_t i = 0; i < ss->nsel; i++)
				json_object_array_add(one, json_object_get(ss->sel[i]));
			json_object_object_add(reply, "services", one);
		}
		printf("%s\n", json_object_to_json_string_ext(reply, STATUS_JSON_FLAGS));
	}
}

/*
 * The plugin line after what summary has already (soff bytes), the worst
 * services first; then the table or the detail lines.
 */
static void
status_plugin(const struct status_sel *ss, char *summary, size_t len, size_t soff,
    char *perf, bool prefixed, bool verbose)
{
	struct plugin_perf	 pp;
	char			 head[HEAD_MAX];

	if (ss->nsel == 0)
		append(summary, len, &soff, "%sno services configured", soff > 0 ? ", " : "");
	/* The worst services first: 2, 1, then 0. */
	for (int b = 2; b >= 0; b--)
		for (size_t i = 0; i < ss->nsel; i++)
			if (ss->exits[i] == b)
				status_summary(&ss->sv.v[i], ss->exits[i], summary, len,
				    &soff);
	plugin_head(head, sizeof(head), nagios_state_str((enum nagios_state)ss->rc), summary);
	plugin_perf_init(&pp, perf, perf_room(head));
	for (int b = 2; b >= 0; b--)
		for (size_t i = 0; i < ss->nsel; i++)
			if (ss->exits[i] == b)
				status_perf(&ss->sv.v[i], ss->exits[i], prefixed, &pp);
	plugin_print(head, perf);
	if (verbose)
		status_table(ss->sv.reply, ss->sv.v, ss->nsel, ss->now);
	else
		status_details(ss->sv.v, ss->nsel);
	if (pp.dropped > 0)
		detail_line("perfdata: %zu of %zu items dropped to keep the first line "
		    "within 8 KiB", pp.dropped, pp.dropped + pp.kept);
}

/*
 * status is a plugin: "ANYCAST-HEALTH STATE - summary | perfdata" first,
 * the worst services first and the probe that decides named; then the
 * table (verbose: --verbose, or stdout is a terminal) or one line per
 * probe (for a monitoring system). --json prints the daemon's object.
 */
int
cmd_status(const char *sock, const char *service, bool json, bool verbose, double timeout_s)
{
	struct status_sel	 ss = { 0 };
	struct json_object	*sf;
	char			 summary[8192] = "", *perf = NULL;
	size_t			 soff = 0;

	if (status_request(sock, service, json, timeout_s, &ss.sv) == -1)
		return EXIT_UNKNOWN;
	if (status_select(&ss, service) == -1 ||
	    (perf = malloc(FIRST_LINE_MAX)) == NULL) {
		plugin_line("UNKNOWN", "out of memory");
		ss.rc = EXIT_UNKNOWN;
		goto out;
	}
	/*
	 * An unwritable state file is critical: new announcements are held
	 * back, and withdraw-all after a crash would miss what is out.
	 */
	if (json_object_object_get_ex(ss.sv.reply, "state_file", &sf) && !jbool(sf, "ok")) {
		ss.rc = 2;
		append(summary, sizeof(summary), &soff, "state file not written (%s); %d "
		    "prefix(es) held back", jstr(sf, "error"), jint(sf, "held_back"));
	}
	if (service != NULL && ss.nsel == 0) {
		snprintf(summary, sizeof(summary), "no service '%s' in the daemon", service);
		plugin_line("UNKNOWN", summary);
		ss.rc = EXIT_UNKNOWN;
		goto out;
	}
	if (json)
		status_json(&ss, service);
	else
		status_plugin(&ss, summary, sizeof(summary), soff, perf, service == NULL,
		    verbose);
out:
	free(ss.sel);
	free(ss.exits);
	free(perf);
	status_views_free(&ss.sv);
	return ss.rc;
}
