/* check: runs a service's probes once, here, without the daemon; a Nagios plugin. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "compiler.h"
#include "cfg.h"
#include "exec.h"
#include "log.h"
#include "plugin.h"
#include "priv.h"
#include "probe.h"
#include "svc.h"
#include "ctl_int.h"

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

/*
 * The service's verdict, decided by svc as the daemon decides it
 * (svc_decide(), svc_degrade()), on one result per probe: a probe is up if
 * its state is healthy for routing, and none is still rising. Mapped back
 * to a Nagios state for the plugin line: down is CRITICAL; up or degraded
 * is the worst probe's state, at worst WARNING (require is met).
 */
static enum nagios_state
check_service_state(const struct cfg_service *s, struct probe **probes, size_t *n_ok)
{
	enum nagios_state	 worst = NAGIOS_OK;
	enum svc_state		 st;
	size_t			 n_up = 0;
	bool			 up, warned = false;

	*n_ok = 0;
	for (size_t i = 0; i < s->nprobes; i++) {
		worst = worse(worst, probes[i]->state);
		if (probes[i]->state == NAGIOS_OK)
			(*n_ok)++;
		up = svc_state_healthy(probes[i]->state, s->on_warning);
		n_up += up;
		/* What the daemon counts as warned (after fall such results): up, not OK. */
		warned = warned || (up && probes[i]->state != NAGIOS_OK);
	}
	st = svc_degrade(svc_decide(SVC_INIT, n_up, 0, s->require), warned, s->on_warning);
	if (st != SVC_UP && st != SVC_DEGRADED)
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

/* One run of check: the services' probes on a loop of their own. */
struct check_run {
	struct cfg	  *cfg;
	struct probe	***probes;	/* per service; NULL: not selected */
	size_t		  *order;	/* the services reported, worst first */
	size_t		   norder;
	char		  *perf;
	sd_event	  *ev;
	struct check	   c;
	bool		   all;
};

/*
 * Whether the services asked for exist and can be checked here; *nexec is
 * their number of exec probes. 0, or -1 after the plugin line saying why.
 */
static int
check_select(const struct cfg *cfg, const char *name, bool all, size_t *nexec)
{
	/* Larger than SUMMARY_MAX: plugin_head() cuts it between characters, with "…". */
	char	summary[8192], why[256];
	size_t	nsel = 0;

	*nexec = 0;
	for (size_t i = 0; i < cfg->nservices; i++)
		if (all || strcmp(cfg->services[i].name, name) == 0) {
			nsel++;
			for (size_t j = 0; j < cfg->services[i].nprobes; j++)
				*nexec += cfg->services[i].probes[j].type == &probe_type_exec.cfg;
		}
	if (nsel == 0) {
		snprintf(summary, sizeof(summary), "no service '%s' in the configuration", name);
		plugin_line("UNKNOWN", summary);
		return -1;
	}
	/*
	 * exec plugins run as their own users, which takes root: an
	 * unprivileged monitoring user cannot tell anything about them, and
	 * that is not the service's fault (never CRITICAL).
	 */
	if (*nexec > 0 && !priv_can_switch(why, sizeof(why))) {
		snprintf(summary, sizeof(summary), "cannot run the exec probes of %s as their "
		    "users: %s; run check as root (or use status, which any user may)",
		    all ? "the services" : name, why);
		plugin_line("UNKNOWN", summary);
		return -1;
	}
	return 0;
}

/*
 * The loop with its signals and timeout, and the probes of the services
 * asked for, started. 0, or -1 after the plugin line saying why.
 */
static int
check_setup(struct check_run *cr, const char *name, double timeout_s)
{
	const struct cfg	*cfg = cr->cfg;
	char			 summary[SUMMARY_MAX];
	sigset_t		 mask;
	int			 r;

	/* Handled on the loop, like the daemon's. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	if ((r = sd_event_new(&cr->ev)) < 0 ||
	    (r = sd_event_add_signal(cr->ev, NULL, SIGTERM, check_signal_cb, &cr->c)) < 0 ||
	    (r = sd_event_add_signal(cr->ev, NULL, SIGINT, check_signal_cb, &cr->c)) < 0 ||
	    (timeout_s > 0 && (r = sd_event_add_time_relative(cr->ev, NULL, CLOCK_MONOTONIC,
	    (uint64_t)(timeout_s * 1e6), 1000, check_timeout_cb, &cr->c)) < 0) ||
	    (cr->probes = calloc(cfg->nservices, sizeof(*cr->probes))) == NULL ||
	    (cr->order = calloc(cfg->nservices, sizeof(*cr->order))) == NULL ||
	    (cr->perf = malloc(FIRST_LINE_MAX)) == NULL) {
		snprintf(summary, sizeof(summary), "cannot set up: %s",
		    strerror(r < 0 ? -r : ENOMEM));
		plugin_line("UNKNOWN", summary);
		return -1;
	}
	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct cfg_service *s = &cfg->services[i];
		if (!cr->all && strcmp(s->name, name) != 0)
			continue;
		cr->probes[i] = calloc(s->nprobes, sizeof(**cr->probes));
		for (size_t j = 0; cr->probes[i] != NULL && j < s->nprobes; j++) {
			cr->probes[i][j] = probe_new(cr->ev, &s->probes[j], check_probe_done,
			    &cr->c);
			if (cr->probes[i][j] == NULL)
				break;
			cr->c.pending++;
		}
	}
	for (size_t i = 0; i < cfg->nservices; i++)
		for (size_t j = 0; cr->probes[i] != NULL && j < cfg->services[i].nprobes; j++)
			if (cr->probes[i][j] != NULL)
				probe_run_once(cr->probes[i][j]);
	return 0;
}

/*
 * The first line's summary, the worst services first (the first line may
 * be all a pager shows), and that order in cr->order. Returns the worst
 * service state.
 */
static enum nagios_state
check_summary(struct check_run *cr, char *summary, size_t len)
{
	const struct cfg	*cfg = cr->cfg;
	enum nagios_state	 total = NAGIOS_OK;
	size_t			 soff = 0, n_ok;

	for (int b = 3; b >= 0; b--)
		for (size_t i = 0; i < cfg->nservices; i++) {
			const struct cfg_service *s = &cfg->services[i];
			enum nagios_state st;
			const struct probe *worst = NULL;
			if (cr->probes[i] == NULL)
				continue;
			st = check_service_state(s, cr->probes[i], &n_ok);
			if (badness(st) != b)
				continue;
			cr->order[cr->norder++] = i;
			total = worse(total, st);
			for (size_t j = 0; st != NAGIOS_OK && j < s->nprobes; j++)
				if (worst == NULL || badness(cr->probes[i][j]->state) >
				    badness(worst->state))
					worst = cr->probes[i][j];
			summary_item(summary, len, &soff, s->name, NULL,
			    worst != NULL ? worst->cfg->name : NULL,
			    worst != NULL ? worst->msg : NULL, n_ok, s->nprobes);
		}
	return total;
}

/* The plugin line, then a detail line per probe in the summary's order. */
static int
check_report(struct check_run *cr)
{
	const struct cfg	*cfg = cr->cfg;
	struct plugin_perf	 pp;
	enum nagios_state	 total;
	/* Larger than SUMMARY_MAX: plugin_head() cuts it between characters, with "…". */
	char			 summary[8192] = "", head[HEAD_MAX], t[32];

	total = check_summary(cr, summary, sizeof(summary));
	plugin_head(head, sizeof(head), nagios_state_str(total), summary);
	plugin_perf_init(&pp, cr->perf, perf_room(head));
	check_perfdata(cr->cfg, cr->probes, cr->all, &pp);
	plugin_print(head, cr->perf);
	for (size_t k = 0; k < cr->norder; k++) {
		size_t i = cr->order[k];
		for (size_t j = 0; j < cfg->services[i].nprobes; j++) {
			const struct probe *p = cr->probes[i][j];
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
	return (int)total;
}

int
cmd_check(const char *path, const char *name, double timeout_s)
{
	struct check_run	 cr = { 0 };
	char			 summary[SUMMARY_MAX];
	size_t			 nexec;
	int			 r, rc = EXIT_UNKNOWN;

	cr.all = strcmp(name, "--all") == 0;
	if ((cr.cfg = load_plugin(path)) == NULL)
		return EXIT_UNKNOWN;
	if (check_select(cr.cfg, name, cr.all, &nexec) == -1)
		goto out;
	log_setup(LOG_LVL_ERROR, LOG_FMT_TEXT, false);
	/* exec probes collect their children: an inherited SIG_IGN would reap them first. */
	signal(SIGCHLD, SIG_DFL);
	/* A guardian that is gone is an EPIPE (then forgotten), not our death without output. */
	signal(SIGPIPE, SIG_IGN);
	if (nexec > 0)
		guard_start();
	if (check_setup(&cr, name, timeout_s) == -1)
		goto out;
	if (cr.c.pending > 0 && (r = sd_event_loop(cr.ev)) < 0) {
		snprintf(summary, sizeof(summary), "event loop: %s", strerror(-r));
		plugin_line("UNKNOWN", summary);
		goto out;
	}
	if (cr.c.timed_out || cr.c.signal != 0) {
		check_abort(cr.cfg, cr.probes, &cr.c, timeout_s);
		cr.probes = NULL;
		goto out;
	}
	rc = check_report(&cr);
out:
	fflush(stdout);
	check_cleanup(cr.cfg, cr.probes);
	free(cr.order);
	free(cr.perf);
	sd_event_unref(cr.ev);
	cfg_free(cr.cfg);
	exec_set_guard(-1);
	if (guard_fd != -1)
		close(guard_fd);
	return rc;
}
