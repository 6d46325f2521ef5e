/* anycast-healthctl: the operator's tool. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
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

#include "compiler.h"
#include "cfg.h"
#include "ctlproto.h"
#include "frr.h"
#include "log.h"
#include "exec.h"
#include "nl.h"
#include "peek.h"
#include "plugin.h"
#include "priv.h"
#include "probe.h"
#include "process.h"
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
	    "  check SERVICE|--all [-t SECONDS]\n"
	    "                        run the probes once, here, without the daemon;\n"
	    "                        print a Nagios plugin line, exit 0/1/2/3\n"
	    "  status [SERVICE] [--json] [--verbose] [-t SECONDS]\n"
	    "                        the daemon's services, prefixes and probes, as a\n"
	    "                        Nagios plugin (the table with --verbose or on a\n"
	    "                        terminal); exit 0 all up, 1 degraded/drained,\n"
	    "                        2 down, 3 no answer\n"
	    "  drain SERVICE [--grace DURATION]   withdraw a service for maintenance\n"
	    "  undrain SERVICE       end the maintenance\n"
	    "  reload                load the configuration again (invalid: kept as is)\n"
	    "  metrics               Prometheus text metrics\n"
	    "  withdraw-all [--force]  withdraw everything the state file lists\n"
	    "  frr-config [--asn N] [--router-id A] [--neighbor A] [--neighbor-asn N]\n"
	    "             [--bfd MS] [--template FILE]\n"
	    "                        print the FRR configuration the services need\n"
	    "-c PATH  main configuration file (default %s); also accepted after COMMAND\n"
	    "-s PATH  control socket (default: control_socket of the configuration)\n"
	    "-t SECONDS  check, status: give up (UNKNOWN) after this long, killing\n"
	    "            every plugin started\n",
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
	fflush(stdout);
	/* Valid all the same: a unit may be installed after the configuration. */
	process_check_units(cfg, stderr);
	cfg_free(cfg);
	return 0;
}

/*
 * The plugin line's limits. Nagios Core keeps 8 KiB of a plugin's output
 * (MAX_PLUGIN_OUTPUT_LENGTH) and the perfdata sits on the first line: the
 * whole line, newline included, stays within FIRST_LINE_MAX. The perfdata
 * gets what the state and summary leave (perf_room()); past that whole
 * items are dropped, and a detail line says so.
 */
#define FIRST_LINE_MAX	8192
#define SUMMARY_MAX	1024
#define HEAD_MAX	(SUMMARY_MAX + 32)	/* "ANYCAST-HEALTH STATE - summary" */
#define REASON_MAX	120	/* a probe's message in the first line */

struct check {
	size_t		 pending;
	bool		 timed_out;
	int		 signal;	/* SIGTERM or SIGINT received */
};

static void
check_probe_done(struct probe *p, void *arg)
{
	struct check	*c = arg;

	if (--c->pending == 0)
		sd_event_exit(p->ev, 0);
}

static int
check_timeout_cb(sd_event_source *s, uint64_t usec UNUSED, void *arg)
{
	struct check	*c = arg;

	c->timed_out = true;
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

static int
check_signal_cb(sd_event_source *s, const struct signalfd_siginfo *si, void *arg)
{
	struct check	*c = arg;

	c->signal = (int)si->ssi_signo;
	return sd_event_exit(sd_event_source_get_event(s), 0);
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

/* A threshold or a latency: seconds, never in exponent notation; "" when unset. */
static void
perfdata_value(char *buf, size_t len, uint64_t us)
{
	if (us == 0)
		snprintf(buf, len, "%s", "");
	else
		plugin_num(buf, len, (double)us / 1e6);
}

/* Appends to a growing text, never past its end. */
static void
append(char *buf, size_t len, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
	if (*off >= len)
		*off = len - 1;
}

/*
 * One service in the first line: "dns: 2/2 probes OK", or with the probe
 * that decides and its reason, shortened: "dns: dns#0 127.0.0.1:53
 * answered SERVFAIL (1/2 probes OK)".
 */
static void
summary_item(char *buf, size_t len, size_t *off, const char *svc, const char *state,
    const char *probe, const char *msg, size_t n_ok, size_t n)
{
	char	reason[REASON_MAX];

	append(buf, len, off, "%s%s%s%s: ", *off > 0 ? ", " : "", svc,
	    state != NULL ? " " : "", state != NULL ? state : "");
	if (probe == NULL) {
		append(buf, len, off, "%zu/%zu probes OK", n_ok, n);
		return;
	}
	plugin_clean(reason, sizeof(reason), msg, strlen(msg), PLUGIN_ELLIPSIS);
	append(buf, len, off, "%s %s (%zu/%zu probes OK)", probe, reason, n_ok, n);
}

/* The first line before its perfdata: "ANYCAST-HEALTH STATE - summary". */
static void
plugin_head(char *head, size_t len, const char *state, const char *summary)
{
	char	text[SUMMARY_MAX];

	plugin_clean(text, sizeof(text), summary, strlen(summary),
	    PLUGIN_PIPE | PLUGIN_ELLIPSIS);
	snprintf(head, len, "ANYCAST-HEALTH %s - %s", state, text);
}

/*
 * The perfdata buffer's size (its NUL included) that keeps head, " | ",
 * the perfdata and the newline within FIRST_LINE_MAX.
 */
static size_t
perf_room(const char *head)
{
	return FIRST_LINE_MAX - strlen(head) - 3;
}

/* Prints the plugin line: "ANYCAST-HEALTH STATE - summary | perfdata". */
static void
plugin_print(const char *head, const char *perf)
{
	printf("%s%s%s\n", head, perf[0] != '\0' ? " | " : "", perf);
}

/* A plugin line without perfdata. */
static void
plugin_line(const char *state, const char *summary)
{
	char	head[HEAD_MAX];

	plugin_head(head, sizeof(head), state, summary);
	plugin_print(head, "");
}

/* A detail line (long output): one line, no '|'. */
static void
detail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
detail_line(const char *fmt, ...)
{
	char	raw[2048], text[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	plugin_clean(text, sizeof(text), raw, sizeof(raw), PLUGIN_PIPE | PLUGIN_ELLIPSIS);
	printf("%s\n", text);
}

/*
 * The process groups of the plugins `check` starts (each exec plugin runs
 * in its own) must not outlive it, however it ends. A timeout or SIGTERM
 * ends the loop and the probes' abort kills them; but Icinga 2 and Nagios
 * kill a plugin that runs too long with SIGKILL to its process group, which
 * reaches neither our handlers nor the plugins' groups. So a guardian
 * process outside our group learns each plugin group through a pipe and,
 * when the pipe closes (we are gone, however), kills those still listed.
 */
static int	guard_fd = -1;

static void __attribute__((__noreturn__))
guard_run(int fd)
{
	pid_t	 groups[1024];
	size_t	 n = 0, len = 0;
	char	 buf[4096], *nl, *line;
	ssize_t	 r;
	long	 v;

	for (;;) {
		if ((r = read(fd, buf + len, sizeof(buf) - 1 - len)) == -1 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		for (line = buf; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
			*nl = '\0';
			v = strtol(line + 1, NULL, 10);
			if (line[0] == '+' && v > 1 && n < sizeof(groups) / sizeof(groups[0]))
				groups[n++] = (pid_t)v;
			for (size_t i = 0; line[0] == '-' && i < n; i++)
				if (groups[i] == (pid_t)v) {
					groups[i] = groups[--n];
					break;
				}
		}
		len -= (size_t)(line - buf);
		memmove(buf, line, len);
	}
	/*
	 * A group listed here was not reaped by us: its leader is a zombie
	 * (of ours, then of init) for a moment at most, so the ID still
	 * names that group.
	 */
	for (size_t i = 0; i < n; i++)
		kill(-groups[i], SIGKILL);
	_exit(0);
}

static void
guard_start(void)
{
	int	p[2], devnull;
	pid_t	pid;

	if (pipe2(p, O_CLOEXEC) == -1)
		return;
	if ((pid = fork()) == -1) {
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		/* Out of the caller's process group, and off its stdout (it waits for EOF). */
		setpgid(0, 0);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		if ((devnull = open("/dev/null", O_RDWR)) != -1) {
			dup2(devnull, STDIN_FILENO);
			dup2(devnull, STDOUT_FILENO);
			dup2(devnull, STDERR_FILENO);
		}
		if (dup2(p[0], 3) == -1)
			_exit(1);
		close_range(4, ~0U, 0);
		guard_run(3);
	}
	close(p[0]);
	guard_fd = p[1];
	exec_set_guard(guard_fd);
}

/*
 * A bad configuration is a plugin line on stdout too: Nagios Core reads
 * nothing else. Nothing goes to stderr: Icinga 2 merges it with stdout, and
 * an unbuffered error would come before the buffered plugin line and
 * become the first line. The detail lines carry every error.
 */
static struct cfg *
load_plugin(const char *path)
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*cfg;
	char			 summary[SUMMARY_MAX];

	if ((cfg = cfg_load(path, &errs)) != NULL)
		return cfg;
	snprintf(summary, sizeof(summary), "configuration %s invalid: %s%s",
	    path != NULL ? path : CFG_DEFAULT_MAIN, errs.n > 0 ? errs.msgs[0] : "?",
	    errs.n > 1 ? " (and more, below)" : "");
	plugin_line("UNKNOWN", summary);
	for (size_t i = 0; i < errs.n; i++)
		detail_line("%s", errs.msgs[i]);
	cfg_errors_clear(&errs);
	return NULL;
}

static void
check_cleanup(struct cfg *cfg, struct probe ***probes)
{
	for (size_t i = 0; probes != NULL && i < cfg->nservices; i++) {
		for (size_t j = 0; probes[i] != NULL && j < cfg->services[i].nprobes; j++)
			probe_free(probes[i][j]);
		free(probes[i]);
	}
	free(probes);
}

/* Timeout or signal: the probes still running, in the first line, and their groups killed. */
static void
check_abort(struct cfg *cfg, struct probe ***probes, const struct check *c,
    double timeout_s)
{
	char	summary[SUMMARY_MAX], t[32];
	size_t	off = 0;

	plugin_num(t, sizeof(t), timeout_s);
	if (c->timed_out)
		append(summary, sizeof(summary), &off, "timed out after %ss", t);
	else
		append(summary, sizeof(summary), &off, "terminated by %s",
		    c->signal == SIGTERM ? "SIGTERM" : "SIGINT");
	append(summary, sizeof(summary), &off, "; still running:");
	for (size_t i = 0; i < cfg->nservices; i++)
		for (size_t j = 0; probes[i] != NULL && j < cfg->services[i].nprobes; j++)
			if (probes[i][j] != NULL && probes[i][j]->running)
				append(summary, sizeof(summary), &off, " %s/%s",
				    cfg->services[i].name, probes[i][j]->cfg->name);
	/* probe_free() aborts: an exec plugin's whole process group gets SIGKILL. */
	check_cleanup(cfg, probes);
	plugin_line("UNKNOWN", summary);
}

/* Our own latency items first: they must survive a plugin's flood of perfdata. */
static void
check_perfdata(struct cfg *cfg, struct probe ***probes, bool all, struct plugin_perf *pp)
{
	char		 w[32], cr[32], v[32], rest[PLUGIN_REST_MAX], prefix[160];
	char		 label[PLUGIN_LABEL_MAX];
	const char	*s, *r;
	size_t		 rlen;

	for (size_t i = 0; i < cfg->nservices; i++)
		for (size_t j = 0; probes[i] != NULL && j < cfg->services[i].nprobes; j++) {
			const struct probe *p = probes[i][j];
			perfdata_value(w, sizeof(w), p->cfg->warning_us);
			perfdata_value(cr, sizeof(cr), p->cfg->critical_us);
			plugin_num(v, sizeof(v), (double)p->latency_us / 1e6);
			snprintf(rest, sizeof(rest), "%ss;%s;%s;0", v, w, cr);
			snprintf(prefix, sizeof(prefix), "%s%s%s", all ? cfg->services[i].name :
			    "", all ? "/" : "", p->cfg->name);
			plugin_perf_add(pp, prefix, "_time", rest);
		}
	/*
	 * A plugin's own items, relabelled "PROBE:label" ("SERVICE/PROBE:label"
	 * with --all) so that they collide neither with another plugin's nor
	 * with ours.
	 */
	for (size_t i = 0; i < cfg->nservices; i++)
		for (size_t j = 0; probes[i] != NULL && j < cfg->services[i].nprobes; j++) {
			const struct probe *p = probes[i][j];
			snprintf(prefix, sizeof(prefix), "%s%s%s:", all ? cfg->services[i].name :
			    "", all ? "/" : "", p->cfg->name);
			for (s = p->perfdata; (s = plugin_perf_next(s, label, sizeof(label), &r,
			    &rlen)) != NULL; ) {
				/* Never cut: none is this long (plugin.h); one would be dropped. */
				if (rlen >= sizeof(rest)) {
					pp->dropped++;
					continue;
				}
				memcpy(rest, r, rlen);
				rest[rlen] = '\0';
				plugin_perf_add(pp, prefix, label, rest);
			}
		}
}

static int
cmd_check(const char *path, const char *name, double timeout_s)
{
	struct cfg		 *cfg;
	struct probe		***probes = NULL;
	struct check		  c = { 0 };
	struct plugin_perf	  pp;
	sd_event		 *ev = NULL;
	enum nagios_state	  total = NAGIOS_OK;
	/* Larger than SUMMARY_MAX: plugin_head() cuts it between characters, with "…". */
	char			  summary[8192] = "", head[HEAD_MAX], *perf = NULL;
	char			  t[32], why[256];
	size_t			  soff = 0, n_ok, nsel = 0, nexec = 0, *order = NULL, norder = 0;
	sigset_t		  mask;
	int			  r, rc = EXIT_UNKNOWN;
	bool			  all = strcmp(name, "--all") == 0;

	if ((cfg = load_plugin(path)) == NULL)
		return EXIT_UNKNOWN;
	for (size_t i = 0; i < cfg->nservices; i++)
		if (all || strcmp(cfg->services[i].name, name) == 0) {
			nsel++;
			for (size_t j = 0; j < cfg->services[i].nprobes; j++)
				nexec += cfg->services[i].probes[j].type == &probe_type_exec.cfg;
		}
	if (nsel == 0) {
		snprintf(summary, sizeof(summary), "no service '%s' in the configuration", name);
		plugin_line("UNKNOWN", summary);
		goto out;
	}
	/*
	 * exec plugins run as their own users, which takes root: an
	 * unprivileged monitoring user cannot tell anything about them, and
	 * that is not the service's fault (never CRITICAL).
	 */
	if (nexec > 0 && !priv_can_switch(why, sizeof(why))) {
		snprintf(summary, sizeof(summary), "cannot run the exec probes of %s as their "
		    "users: %s; run check as root (or use status, which any user may)",
		    all ? "the services" : name, why);
		plugin_line("UNKNOWN", summary);
		goto out;
	}
	log_setup(LOG_LVL_ERROR, LOG_FMT_TEXT, false);
	/* exec probes collect their children: an inherited SIG_IGN would reap them first. */
	signal(SIGCHLD, SIG_DFL);
	/* A guardian that is gone is an EPIPE (then forgotten), not our death without output. */
	signal(SIGPIPE, SIG_IGN);
	if (nexec > 0)
		guard_start();
	/* Handled on the loop, like the daemon's. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((r = sd_event_new(&ev)) < 0 ||
	    (r = sd_event_add_signal(ev, NULL, SIGTERM, check_signal_cb, &c)) < 0 ||
	    (r = sd_event_add_signal(ev, NULL, SIGINT, check_signal_cb, &c)) < 0 ||
	    (timeout_s > 0 && (r = sd_event_add_time_relative(ev, NULL, CLOCK_MONOTONIC,
	    (uint64_t)(timeout_s * 1e6), 1000, check_timeout_cb, &c)) < 0) ||
	    (probes = calloc(cfg->nservices, sizeof(*probes))) == NULL ||
	    (order = calloc(cfg->nservices, sizeof(*order))) == NULL ||
	    (perf = malloc(FIRST_LINE_MAX)) == NULL) {
		snprintf(summary, sizeof(summary), "cannot set up: %s",
		    strerror(r < 0 ? -r : ENOMEM));
		plugin_line("UNKNOWN", summary);
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
		snprintf(summary, sizeof(summary), "event loop: %s", strerror(-r));
		plugin_line("UNKNOWN", summary);
		goto out;
	}
	if (c.timed_out || c.signal != 0) {
		check_abort(cfg, probes, &c, timeout_s);
		probes = NULL;
		goto out;
	}

	/* The worst services first: the first line may be all a pager shows. */
	for (int b = 3; b >= 0; b--)
		for (size_t i = 0; i < cfg->nservices; i++) {
			const struct cfg_service *s = &cfg->services[i];
			enum nagios_state st;
			const struct probe *worst = NULL;
			if (probes[i] == NULL)
				continue;
			st = check_service_state(s, probes[i], &n_ok);
			if (badness(st) != b)
				continue;
			order[norder++] = i;
			total = worse(total, st);
			for (size_t j = 0; st != NAGIOS_OK && j < s->nprobes; j++)
				if (worst == NULL || badness(probes[i][j]->state) >
				    badness(worst->state))
					worst = probes[i][j];
			summary_item(summary, sizeof(summary), &soff, s->name, NULL,
			    worst != NULL ? worst->cfg->name : NULL,
			    worst != NULL ? worst->msg : NULL, n_ok, s->nprobes);
		}
	plugin_head(head, sizeof(head), nagios_state_str(total), summary);
	plugin_perf_init(&pp, perf, perf_room(head));
	check_perfdata(cfg, probes, all, &pp);
	plugin_print(head, perf);
	for (size_t k = 0; k < norder; k++) {
		size_t i = order[k];
		for (size_t j = 0; j < cfg->services[i].nprobes; j++) {
			const struct probe *p = probes[i][j];
			plugin_num(t, sizeof(t), (double)p->latency_us / 1000.0);
			detail_line("%s/%s: %s - %s (%s ms)", cfg->services[i].name,
			    p->cfg->name, nagios_state_str(p->state), p->msg, t);
			if (p->perf_note[0] != '\0')
				detail_line("%s/%s: %s", cfg->services[i].name, p->cfg->name,
				    p->perf_note);
		}
	}
	if (pp.dropped > 0)
		detail_line("perfdata: %zu of %zu items dropped to keep the first line "
		    "within 8 KiB", pp.dropped, pp.dropped + pp.kept);
	rc = (int)total;
out:
	fflush(stdout);
	check_cleanup(cfg, probes);
	free(order);
	free(perf);
	sd_event_unref(ev);
	cfg_free(cfg);
	exec_set_guard(-1);
	if (guard_fd != -1)
		close(guard_fd);
	return rc;
}

/*
 * The control socket's path, from a main file that may be broken: that is
 * when reload and status matter most. Never a silent default: a key that
 * is there but unreadable is an error (exit UNKNOWN).
 */
static char *
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
static char	ctl_err[512];
static int	ctl_errno;
static bool	ctl_plugin;
static double	ctl_timeout_s = CLIENT_TIMEOUT_S;

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

static int
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

/* Sends req (taken) and returns the reply, or NULL if the daemon cannot be reached. */
static struct json_object *
ctl_request(const char *sock, struct json_object *req)
{
	struct json_object	*reply = NULL;
	const char		*text;
	char			*buf = NULL, *tmp, t[32];
	size_t			 len = 0, cap = 0;
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
	if ((reply = json_tokener_parse(buf)) == NULL ||
	    !json_object_is_type(reply, json_type_object)) {
		ctl_fail(EPROTO, "malformed reply from the daemon");
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
json_probe_state(struct json_object *probe)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL" };
	const char	*st = jstr(probe, "state");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(st, names[i]) == 0)
			return (enum nagios_state)i;
	return NAGIOS_UNKNOWN;
}

/* One service of the daemon in the first line. */
static void
status_summary(struct json_object *svc, int src, char *summary, size_t len, size_t *off)
{
	struct json_object	*arr, *e, *worst = NULL;
	size_t			 n_ok = 0, n = 0;

	if ((arr = jarr(svc, "probes")) != NULL)
		n = json_object_array_length(arr);
	for (size_t j = 0; j < n; j++) {
		e = json_object_array_get_idx(arr, j);
		if (json_probe_state(e) == NAGIOS_OK)
			n_ok++;
		else if (src != 0 && (worst == NULL || badness(json_probe_state(e)) >
		    badness(json_probe_state(worst))))
			worst = e;
	}
	summary_item(summary, len, off, jstr(svc, "name"), jstr(svc, "state"),
	    worst != NULL ? jstr(worst, "name") : NULL,
	    worst != NULL ? jstr(worst, "message") : NULL, n_ok, n);
}

/* One service's perfdata: state, announced prefixes, probe latencies. */
static void
status_perf(struct json_object *svc, int src, bool prefixed, struct plugin_perf *pp)
{
	struct json_object	*arr, *e;
	char			 prefix[160], rest[128], v[32], w[32], c[32];
	size_t			 n = 0, ann = 0, npfx = 0;
	const char		*name = jstr(svc, "name");

	if ((arr = jarr(svc, "probes")) != NULL)
		n = json_object_array_length(arr);
	snprintf(prefix, sizeof(prefix), "%s%s", prefixed ? name : "", prefixed ? "/" : "");
	/*
	 * 0 up, 1 degraded, drained or starting, 2 down: the exit status's
	 * scale. Nagios ranges: warning "0" alerts above 0, critical "1" above 1.
	 */
	snprintf(rest, sizeof(rest), "%d;0;1;0;2", src);
	plugin_perf_add(pp, prefix, "state", rest);
	if ((arr = jarr(svc, "prefixes")) != NULL)
		npfx = json_object_array_length(arr);
	for (size_t j = 0; j < npfx; j++)
		ann += jbool(json_object_array_get_idx(arr, j), "announced");
	snprintf(rest, sizeof(rest), "%zu;;;0;%zu", ann, npfx);
	plugin_perf_add(pp, prefix, "announced", rest);
	arr = jarr(svc, "probes");
	for (size_t j = 0; j < n; j++) {
		e = json_object_array_get_idx(arr, j);
		snprintf(prefix, sizeof(prefix), "%s%s%s", prefixed ? name : "",
		    prefixed ? "/" : "", jstr(e, "name"));
		plugin_num(v, sizeof(v), jnum(e, "latency_ms") / 1000.0);
		w[0] = c[0] = '\0';
		if (jnum(e, "warning_ms") > 0)
			plugin_num(w, sizeof(w), jnum(e, "warning_ms") / 1000.0);
		if (jnum(e, "critical_ms") > 0)
			plugin_num(c, sizeof(c), jnum(e, "critical_ms") / 1000.0);
		snprintf(rest, sizeof(rest), "%ss;%s;%s;0", v, w, c);
		plugin_perf_add(pp, prefix, "_time", rest);
	}
}

/* The table for a person at a terminal (--verbose): the daemon, then each service. */
static void
status_table(struct json_object *reply, struct json_object **sel, size_t nsel, double now)
{
	struct json_object	*svc, *e, *arr;
	char			 age[32];

	detail_line("anycast-healthd %s, pid %d, started %s", jstr(reply, "version"),
	    (int)jnum(reply, "pid"), jstr(reply, "started"));
	if (json_object_object_get_ex(reply, "state_file", &e) && !jbool(e, "ok"))
		detail_line("CRITICAL: state file not written (%s); %d prefix(es) held back",
		    jstr(e, "error"), (int)jnum(e, "held_back"));
	if (nsel == 0)
		detail_line("no services configured");
	for (size_t i = 0; i < nsel; i++) {
		svc = sel[i];
		fmt_age(now - jnum(svc, "since_unix"), age, sizeof(age));
		printf("\n");
		detail_line("%-20s %-9s since %s (%s)%s", jstr(svc, "name"), jstr(svc, "state"),
		    jstr(svc, "since"), age, strcmp(jstr(svc, "state"), "drained") == 0 &&
		    jbool(svc, "announcing") ? ", grace period: still announced" : "");
		if ((e = json_object_object_get(svc, "damping")) != NULL &&
		    (jbool(e, "suppressed") || jnum(e, "penalty") >= 1)) {
			fmt_age(jnum(e, "reuse_in_ms") / 1000, age, sizeof(age));
			printf("  damping %s, penalty %.0f (suppress above %.0f, reuse below "
			    "%.0f)%s%s\n", jbool(e, "suppressed") ? "SUPPRESSED" : "not suppressed",
			    jnum(e, "penalty"), jnum(e, "suppress"), jnum(e, "reuse"),
			    jbool(e, "suppressed") ? ", reuse in " : "",
			    jbool(e, "suppressed") ? age : "");
		}
		if ((arr = jarr(svc, "prefixes")) != NULL)
			for (size_t j = 0; j < json_object_array_length(arr); j++) {
				e = json_object_array_get_idx(arr, j);
				detail_line("  prefix %-28s on %-8s %s", jstr(e, "prefix"),
				    jstr(e, "interface"), jbool(e, "announced") ?
				    "announced" : "not announced");
			}
		if ((arr = jarr(svc, "probes")) != NULL)
			for (size_t j = 0; j < json_object_array_length(arr); j++) {
				e = json_object_array_get_idx(arr, j);
				detail_line("  probe  %-20s %-8s %-4s %8.1f ms  %s", jstr(e, "name"),
				    jstr(e, "state"), jstr(e, "health"), jnum(e, "latency_ms"),
				    jstr(e, "message"));
			}
	}
}

/* Long output for a monitoring system: one line per probe. */
static void
status_details(struct json_object **sel, size_t nsel)
{
	struct json_object	*arr, *e;
	char			 t[32];
	size_t			 ann, npfx;

	for (size_t i = 0; i < nsel; i++) {
		ann = npfx = 0;
		if ((arr = jarr(sel[i], "prefixes")) != NULL)
			npfx = json_object_array_length(arr);
		for (size_t j = 0; j < npfx; j++)
			ann += jbool(json_object_array_get_idx(arr, j), "announced");
		detail_line("%s: %s since %s, %zu/%zu prefixes announced", jstr(sel[i], "name"),
		    jstr(sel[i], "state"), jstr(sel[i], "since"), ann, npfx);
		if ((arr = jarr(sel[i], "probes")) == NULL)
			continue;
		for (size_t j = 0; j < json_object_array_length(arr); j++) {
			e = json_object_array_get_idx(arr, j);
			plugin_num(t, sizeof(t), jnum(e, "latency_ms"));
			detail_line("%s/%s: %s - %s (%s ms)", jstr(sel[i], "name"), jstr(e, "name"),
			    jstr(e, "state"), jstr(e, "message"), t);
		}
	}
}

/*
 * status is a plugin: "ANYCAST-HEALTH STATE - summary | perfdata" first,
 * the worst services first and the probe that decides named; then the
 * table (verbose: --verbose, or stdout is a terminal) or one line per
 * probe (for a monitoring system). --json prints the daemon's object.
 */
static int
cmd_status(const char *sock, const char *service, bool json, bool verbose, double timeout_s)
{
	struct json_object	 *reply, *req = json_object_new_object(), *svcs, **sel = NULL;
	struct json_object	 *sf;
	struct plugin_perf	  pp;
	struct timespec		  ts;
	struct sigaction	  sa;
	struct itimerval	  it = { 0 };
	char			  summary[8192] = "", head[HEAD_MAX], *perf = NULL, t[32];
	size_t			  nsel = 0, soff = 0, n;
	double			  now;
	int			  rc = 0, *exits = NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = status_signal;
	plugin_num(t, sizeof(t), timeout_s);
	snprintf(status_alarm_line, sizeof(status_alarm_line), "ANYCAST-HEALTH UNKNOWN - "
	    "no answer from the daemon at %s within %ss\n", sock, t);
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	ctl_plugin = !json;
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
	json_object_object_add(req, "cmd", json_object_new_string("status"));
	if ((reply = ctl_request(sock, req)) == NULL)
		return json ? EXIT_UNKNOWN : status_unreachable(sock);
	/* Answered: no timer any more, and a signal no longer adds a line to the output. */
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (!reply_ok(reply) || (svcs = jarr(reply, "services")) == NULL) {
		ctl_errno = strncmp(jstr(reply, "error"), "permission denied", 17) == 0 ?
		    EACCES : EPROTO;
		snprintf(ctl_err, sizeof(ctl_err), "%s", jstr(reply, "error"));
		json_object_put(reply);
		if (json) {
			fprintf(stderr, "anycast-healthctl: %s\n", ctl_err);
			return EXIT_UNKNOWN;
		}
		return status_unreachable(sock);
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	n = json_object_array_length(svcs);
	if ((sel = calloc(n + 1, sizeof(*sel))) == NULL ||
	    (exits = calloc(n + 1, sizeof(*exits))) == NULL ||
	    (perf = malloc(FIRST_LINE_MAX)) == NULL) {
		plugin_line("UNKNOWN", "out of memory");
		rc = EXIT_UNKNOWN;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *svc = json_object_array_get_idx(svcs, i);
		if (service != NULL && strcmp(jstr(svc, "name"), service) != 0)
			continue;
		exits[nsel] = service_exit(svc, now);
		rc = exits[nsel] > rc ? exits[nsel] : rc;
		sel[nsel++] = svc;
	}
	/*
	 * An unwritable state file is critical: new announcements are held
	 * back, and withdraw-all after a crash would miss what is out.
	 */
	if (json_object_object_get_ex(reply, "state_file", &sf) && !jbool(sf, "ok")) {
		rc = 2;
		append(summary, sizeof(summary), &soff, "state file not written (%s); %d "
		    "prefix(es) held back", jstr(sf, "error"), (int)jnum(sf, "held_back"));
	}
	if (service != NULL && nsel == 0) {
		snprintf(summary, sizeof(summary), "no service '%s' in the daemon", service);
		plugin_line("UNKNOWN", summary);
		rc = EXIT_UNKNOWN;
		goto out;
	}
	if (json) {
		json_object_object_del(reply, "ok");
		if (service != NULL) {
			struct json_object *one = json_object_new_array();
			for (size_t i = 0; i < nsel; i++)
				json_object_array_add(one, json_object_get(sel[i]));
			json_object_object_add(reply, "services", one);
		}
		printf("%s\n", json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PRETTY |
		    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
		goto out;
	}
	if (nsel == 0)
		append(summary, sizeof(summary), &soff, "%sno services configured",
		    soff > 0 ? ", " : "");
	/* The worst services first: 2, 1, then 0. */
	for (int b = 2; b >= 0; b--)
		for (size_t i = 0; i < nsel; i++)
			if (exits[i] == b)
				status_summary(sel[i], exits[i], summary, sizeof(summary),
				    &soff);
	plugin_head(head, sizeof(head), nagios_state_str((enum nagios_state)rc), summary);
	plugin_perf_init(&pp, perf, perf_room(head));
	for (int b = 2; b >= 0; b--)
		for (size_t i = 0; i < nsel; i++)
			if (exits[i] == b)
				status_perf(sel[i], exits[i], service == NULL, &pp);
	plugin_print(head, perf);
	if (verbose)
		status_table(reply, sel, nsel, now);
	else
		status_details(sel, nsel);
	if (pp.dropped > 0)
		detail_line("perfdata: %zu of %zu items dropped to keep the first line "
		    "within 8 KiB", pp.dropped, pp.dropped + pp.kept);
out:
	free(sel);
	free(exits);
	free(perf);
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
withdraw_deadline_cb(sd_event_source *s, uint64_t usec UNUSED, void *arg UNUSED)
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
 * What withdraw-all may touch and how it reaches FRR: from the root-owned
 * configuration, never from the state file (which the daemon's user, and
 * so anything running as it, can write).
 */
struct reach {
	char		*state_file;
	char		*vtysh;
	char		*pathspace;	/* NULL: the default */
	char		*vrf;		/* NULL: the default */
	uint32_t	 asn;		/* 0: read from FRR */
	uint64_t	 timeout_us;
	struct pfx	*pfxs;		/* every configured prefix */
	size_t		 npfx;
};

static void
reach_clear(struct reach *r)
{
	free(r->state_file);
	free(r->vtysh);
	free(r->pathspace);
	free(r->vrf);
	free(r->pfxs);
	memset(r, 0, sizeof(*r));
}

static bool
reach_word(const char *s)
{
	size_t	n = strlen(s);

	/* "." and "..": a pathspace is a directory name under FRR's run directory. */
	return n > 0 && n <= 64 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0 &&
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int
reach_from_cfg(struct reach *r, const struct cfg *cfg)
{
	size_t	n = 0;

	for (size_t i = 0; i < cfg->nservices; i++)
		n += cfg->services[i].nprefixes;
	if ((r->pfxs = calloc(n + 1, sizeof(*r->pfxs))) == NULL)
		return -1;
	for (size_t i = 0; i < cfg->nservices; i++)
		for (size_t j = 0; j < cfg->services[i].nprefixes; j++)
			r->pfxs[r->npfx++] = cfg->services[i].prefixes[j];
	r->asn = cfg->frr.asn;
	r->timeout_us = cfg->frr.timeout_us;
	if ((r->state_file = strdup(cfg->state_file)) == NULL ||
	    (r->vtysh = strdup(cfg->frr.vtysh)) == NULL ||
	    (cfg->frr.pathspace != NULL &&
	    (r->pathspace = strdup(cfg->frr.pathspace)) == NULL) ||
	    (cfg->frr.vrf != NULL && (r->vrf = strdup(cfg->frr.vrf)) == NULL))
		return -1;
	return 0;
}

/* The configuration is invalid: the few keys withdraw-all needs, read tolerantly. */
static int
reach_from_peek(struct reach *r, const char *path, char *err, size_t errlen)
{
	struct peek	 pk;
	char		*dir = NULL, *sdir = NULL, *joined, *slash, why[256];
	int		 rc = -1;

	/* peek_open() and peek_prefixes() refuse files others may write. */
	if (peek_open(&pk, path, err, errlen) == -1)
		goto out;
	if (peek_string(&pk, NULL, "state_file", DEFAULT_STATE, &r->state_file, err,
	    errlen) == -1 ||
	    peek_string(&pk, NULL, "services_dir", "services.d", &sdir, err, errlen) == -1 ||
	    peek_string(&pk, "frr", "vtysh", "/usr/bin/vtysh", &r->vtysh, err,
	    errlen) == -1 ||
	    peek_string(&pk, "frr", "pathspace", NULL, &r->pathspace, err, errlen) == -1 ||
	    peek_string(&pk, "frr", "vrf", NULL, &r->vrf, err, errlen) == -1 ||
	    peek_asn(&pk, &r->asn, err, errlen) == -1)
		goto out;
	if (r->state_file == NULL || r->state_file[0] != '/' || r->vtysh == NULL ||
	    r->vtysh[0] != '/' || sdir == NULL ||
	    (r->pathspace != NULL && !reach_word(r->pathspace)) ||
	    (r->vrf != NULL && !reach_word(r->vrf))) {
		snprintf(err, errlen, "%s: state_file, services_dir, frr.vtysh, frr.pathspace "
		    "or frr.vrf is not usable", path);
		goto out;
	}
	/* Run as root: the same rule as for plugins (cfg_load() applies it too). */
	if (cfg_path_trusted(r->vtysh, NULL, 0, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "refusing frr.vtysh %.200s: %s", r->vtysh, why);
		goto out;
	}
	/* The shortest frr.timeout that vtysh gets; the deadline adds to it. */
	r->timeout_us = 5000000;
	if (sdir[0] != '/') {
		if ((dir = strdup(path)) == NULL)
			goto nomem;
		if ((slash = strrchr(dir, '/')) != NULL)
			*slash = '\0';
		else
			strcpy(dir, ".");
		if (asprintf(&joined, "%s/%s", dir, sdir) == -1)
			goto nomem;
		free(sdir);
		sdir = joined;
	}
	if (peek_prefixes(sdir, &r->pfxs, &r->npfx, err, errlen) == -1)
		goto out;
	fprintf(stderr, "anycast-healthctl: read tolerantly: state_file %s, services in %s "
	    "(%zu prefixes), vtysh %s\n", r->state_file, sdir, r->npfx, r->vtysh);
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	free(dir);
	free(sdir);
	peek_close(&pk);
	return rc;
}

/*
 * The whole configuration if it is valid; if not, the errors are shown and
 * the keys withdraw-all needs are read tolerantly (never the defaults in
 * place of what the file says). 0, or -1 with err.
 */
static int
reach_load(struct reach *r, const char *path, char *err, size_t errlen)
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*cfg;
	int			 rc;

	memset(r, 0, sizeof(*r));
	if ((cfg = cfg_load(path, &errs)) != NULL) {
		rc = reach_from_cfg(r, cfg);
		if (rc == -1)
			snprintf(err, errlen, "out of memory");
		cfg_free(cfg);
		return rc;
	}
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	fprintf(stderr, "anycast-healthctl: warning: the configuration is invalid (%zu "
	    "error%s); withdrawing with what can be read from it\n", errs.n,
	    errs.n == 1 ? "" : "s");
	cfg_errors_clear(&errs);
	return reach_from_peek(r, path != NULL ? path : CFG_DEFAULT_MAIN, err, errlen);
}

static bool
reach_has(const struct reach *r, const struct pfx *p)
{
	for (size_t i = 0; i < r->npfx; i++)
		if (pfx_equal(&r->pfxs[i], p))
			return true;
	return false;
}

/*
 * Removes the network statements st lists through the daemon's own FRR
 * driver (read the running configuration, remove what is there, read it
 * back), on a short-lived event loop. 0 when FRR confirmed them gone.
 */
static int
withdraw_statements(const struct state *st, const struct reach *rc_, char *err,
    size_t errlen)
{
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
	cfg.frr.vtysh = rc_->vtysh;
	cfg.frr.pathspace = rc_->pathspace;
	cfg.frr.vrf = rc_->vrf;
	cfg.frr.asn = rc_->asn;
	cfg.frr.timeout_us = rc_->timeout_us;
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
	    3 * rc_->timeout_us + 2000000, 1000, withdraw_deadline_cb, NULL)) < 0) {
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
 * a daemon that died (kill -9, crash) leaves nothing announced. The file is
 * hostile data: only well-formed entries for configured prefixes are
 * withdrawn, through the vtysh of the configuration.
 */
static int
cmd_withdraw_all(const char *path, const char *sock, bool force)
{
	struct state	 st, todo = { 0 }, left = { 0 };
	struct reach	 reach;
	struct nl	*nl = NULL;
	char		*text = NULL, err[512], buf[PFX_STRLEN];
	const char	*result;
	unsigned	 ifindex;
	int		 rc = 0, fd;
	bool		 frr_ok;

	memset(&st, 0, sizeof(st));
	if (reach_load(&reach, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthctl: withdraw-all: %s; nothing withdrawn\n", err);
		rc = 1;
		goto out;
	}
	if ((rc = state_read(reach.state_file, &st, err, sizeof(err))) == 1) {
		printf("no state file %s: nothing to withdraw\n", reach.state_file);
		rc = 0;
		goto out;
	}
	if (rc == -1) {
		fprintf(stderr, "anycast-healthctl: state file %s: %s; nothing withdrawn\n",
		    reach.state_file, err);
		rc = 1;
		goto out;
	}
	if (st.nbad > 0) {
		fprintf(stderr, "anycast-healthctl: state file %s: %zu malformed entr%s "
		    "ignored (first: %s); withdrawing the well-formed ones\n",
		    reach.state_file, st.nbad, st.nbad == 1 ? "y" : "ies", err);
		rc = 1;
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
	/* Never an address or statement the configuration does not name. */
	for (size_t i = 0; i < st.nannounced; i++) {
		const struct state_entry *e = &st.announced[i];

		if (reach_has(&reach, &e->pfx)) {
			if (state_add_announced(&todo, &e->pfx, e->ifname, e->method) == -1)
				goto nomem;
			continue;
		}
		fprintf(stderr, "%s on %s: not a prefix of the configuration; left alone\n",
		    pfx_fmt(&e->pfx, buf, sizeof(buf)), e->ifname);
		if (state_add_announced(&left, &e->pfx, e->ifname, e->method) == -1)
			goto nomem;
		rc = 1;
	}
	if (state_has_address(&todo) && (nl = nl_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "anycast-healthctl: netlink: %s\n", err);
		rc = 1;
		goto out;
	}
	frr_ok = withdraw_statements(&todo, &reach, err, sizeof(err)) == 0;
	if (!frr_ok)
		fprintf(stderr, "anycast-healthctl: FRR: %s\n", err);
	for (size_t i = 0; i < todo.nannounced; i++) {
		const struct state_entry *e = &todo.announced[i];
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
			if (state_add_announced(&left, &e->pfx, e->ifname, e->method) == -1)
				goto nomem;
			rc = 1;
		}
	}
	/* Drains survive; what could not be withdrawn stays listed for another try. */
	for (size_t i = 0; i < st.ndrained; i++)
		if (state_add_drained(&left, st.drained[i]) == -1)
			goto nomem;
	if ((text = state_format(&left)) == NULL ||
	    state_write_file(reach.state_file, text, err, sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthctl: state file: %s\n", text ? err :
		    "out of memory");
		rc = 1;
	}
	goto out;
nomem:
	fprintf(stderr, "anycast-healthctl: out of memory\n");
	rc = 1;
out:
	nl_close(nl);
	state_clear(&st);
	state_clear(&todo);
	state_clear(&left);
	reach_clear(&reach);
	free(text);
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

/*
 * The template: beside the program when it runs from a build tree (make
 * copies frr-templates/ there), so that a build is tried with its own
 * templates; else the installed one.
 */
static const char *
default_template(char *buf, size_t len)
{
	char	exe[PATH_MAX], *slash;
	ssize_t	n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) > 0) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			snprintf(buf, len, "%s/frr-templates/anycast-healthd.conf", exe);
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	return PKGDATADIR "/frr-templates/anycast-healthd.conf";
}

/* Prints frr-templates/anycast-healthd.conf filled in for the configured services. */
static int
cmd_frr_config(const char *path, char **args, int nargs)
{
	struct frr_render	 v = { 0 };
	struct cfg		*cfg;
	struct pfx		*all = NULL, *addr = NULL;
	const char		*tpl = NULL;
	char			 asn[16], tplbuf[PATH_MAX + 64], *end;
	unsigned long		 ms;
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
		else if (strcmp(args[i], "--bfd") == 0)
			dst = &v.bfd_interval;
		if (dst == NULL || i + 1 == nargs) {
			usage(stderr);
			return EXIT_UNKNOWN;
		}
		*dst = args[++i];
	}
	/* bfdd takes 10-60000 ms. */
	if (v.bfd_interval != NULL && (errno = 0, ms = strtoul(v.bfd_interval, &end, 10),
	    errno != 0 || end == v.bfd_interval || *end != '\0' || ms < 10 || ms > 60000)) {
		fprintf(stderr, "frr-config: --bfd %s: not an interval in ms (10-60000)\n",
		    v.bfd_interval);
		return 2;
	}
	if (tpl == NULL)
		tpl = default_template(tplbuf, sizeof(tplbuf));
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
	char		*sock, *end, err[256];
	double		 timeout_s = 0;
	bool		 json = false, force = false, verbose = false;
	int		 nargs = 0, rc;

	probe_types_register();
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
		} else if (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--timeout") == 0) {
			/* The plugin's own timeout (Monitoring Plugins: -t SECONDS). */
			/* Written so that NaN fails too. */
			if (i + 1 == argc || (timeout_s = strtod(argv[++i], &end),
			    *end != '\0' || end == argv[i]) || !(timeout_s > 0 && timeout_s <= 86400)) {
				printf("ANYCAST-HEALTH UNKNOWN - -t needs a number of seconds "
				    "(0 < t <= 86400)\n");
				return EXIT_UNKNOWN;
			}
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbose = true;
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
	/* Before anything is read or run; withdraw-all alone changes addresses. */
	if (priv_ctl_init(cmd != NULL && strcmp(cmd, "withdraw-all") == 0, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthctl: cannot drop capabilities: %s\n", err);
		return EXIT_UNKNOWN;
	}
	if (cmd != NULL && strcmp(cmd, "validate") == 0 && nargs == 0)
		return cmd_validate(path);
	if (cmd != NULL && strcmp(cmd, "check") == 0 && nargs == 1)
		return cmd_check(path, args[0], timeout_s);
	/* The plugins' usage errors are plugin lines too, and only on stdout (see load_plugin()). */
	if (cmd != NULL && strcmp(cmd, "check") == 0) {
		plugin_line("UNKNOWN", "usage: anycast-healthctl check {SERVICE,--all} "
		    "[-c PATH] [-t SECONDS]");
		return EXIT_UNKNOWN;
	}
	if (cmd != NULL && strcmp(cmd, "status") == 0 && nargs > 1) {
		plugin_line("UNKNOWN", "usage: anycast-healthctl status [SERVICE] [--json] "
		    "[--verbose] [-s PATH] [-t SECONDS]");
		return EXIT_UNKNOWN;
	}
	if (cmd != NULL && strcmp(cmd, "frr-config") == 0)
		return cmd_frr_config(path, args, nargs);
	if (cmd == NULL) {
		usage(stderr);
		return EXIT_UNKNOWN;
	}
	sock = sockopt != NULL ? strdup(sockopt) : socket_path(path);
	if (sock == NULL)
		return EXIT_UNKNOWN;
	rc = -1;
	if (strcmp(cmd, "status") == 0 && nargs <= 1)
		rc = cmd_status(sock, nargs == 1 ? args[0] : NULL, json,
		    verbose || isatty(STDOUT_FILENO), timeout_s);
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
