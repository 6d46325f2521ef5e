/* anycast-healthctl: the operator's tool. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "cfg.h"
#include "log.h"
#include "probe.h"
#include "svc.h"

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
	    "-c PATH  main configuration file (default %s); also accepted after COMMAND\n",
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

int
main(int argc, char *argv[])
{
	const char	*path = NULL, *cmd = NULL, *arg = NULL;
	int		 nargs = 0;

	/* -c is accepted before and after the command. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0) {
			if (++i == argc) {
				usage(stderr);
				return EXIT_UNKNOWN;
			}
			path = argv[i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (cmd == NULL) {
			cmd = argv[i];
		} else {
			arg = argv[i];
			nargs++;
		}
	}
	if (cmd != NULL && strcmp(cmd, "validate") == 0 && nargs == 0)
		return cmd_validate(path);
	if (cmd != NULL && strcmp(cmd, "check") == 0 && nargs == 1)
		return cmd_check(path, arg);
	usage(stderr);
	return EXIT_UNKNOWN;
}
