/* anycast-healthctl: the operator's tool. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "cfg.h"
#include "frr.h"
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
	    "  frr-config [--asn N] [--router-id A] [--neighbor A] [--neighbor-asn N]\n"
	    "             [--template FILE]\n"
	    "                        print the FRR configuration the services need\n"
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

static int
cmd_check(const char *path, const char *name)
{
	struct cfg		 *cfg;
	struct probe		***probes = NULL;
	struct check		  c = { 0 };
	sd_event		 *ev = NULL;
	enum nagios_state	  total = NAGIOS_OK;
	char			  summary[1024] = "", perf[4096] = "", w[32], cr[32];
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
	const char	*path = NULL, *cmd = NULL, *arg = NULL;
	char		*args[32];
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
			if (nargs < (int)(sizeof(args) / sizeof(args[0])))
				args[nargs] = argv[i];
			nargs++;
		}
	}
	if (cmd != NULL && strcmp(cmd, "validate") == 0 && nargs == 0)
		return cmd_validate(path);
	if (cmd != NULL && strcmp(cmd, "check") == 0 && nargs == 1)
		return cmd_check(path, arg);
	if (cmd != NULL && strcmp(cmd, "frr-config") == 0 &&
	    nargs <= (int)(sizeof(args) / sizeof(args[0])))
		return cmd_frr_config(path, args, nargs);
	usage(stderr);
	return EXIT_UNKNOWN;
}
