/* frr-config: prints the FRR configuration the configured services need. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "frr.h"
#include "pfx.h"
#include "ctl_int.h"

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

/* frr-config's options, into v and *tpl: 0, or the exit status after the error. */
static int
frr_config_args(char **args, int nargs, struct frr_render *v, const char **tpl)
{
	char		*end;
	unsigned long	 ms;

	for (int i = 0; i < nargs; i++) {
		const char **dst = NULL;
		if (strcmp(args[i], "--asn") == 0)
			dst = &v->asn;
		else if (strcmp(args[i], "--router-id") == 0)
			dst = &v->router_id;
		else if (strcmp(args[i], "--neighbor") == 0)
			dst = &v->neighbor;
		else if (strcmp(args[i], "--neighbor-asn") == 0)
			dst = &v->neighbor_asn;
		else if (strcmp(args[i], "--template") == 0)
			dst = tpl;
		else if (strcmp(args[i], "--bfd") == 0)
			dst = &v->bfd_interval;
		if (dst == NULL || i + 1 == nargs) {
			usage(stderr);
			return EXIT_UNKNOWN;
		}
		*dst = args[++i];
	}
	/* bfdd takes 10-60000 ms. */
	if (v->bfd_interval != NULL && (errno = 0, ms = strtoul(v->bfd_interval, &end, 10),
	    errno != 0 || end == v->bfd_interval || *end != '\0' || ms < 10 || ms > 60000)) {
		fprintf(stderr, "frr-config: --bfd %s: not an interval in ms (10-60000)\n",
		    v->bfd_interval);
		return 2;
	}
	return 0;
}

/* Prints frr-templates/anycast-healthd.conf filled in for the configured services. */
int
cmd_frr_config(const char *path, char **args, int nargs)
{
	struct frr_render	 v = { 0 };
	struct cfg		*cfg;
	struct pfx		*all = NULL, *addr = NULL;
	const char		*tpl = NULL;
	char			 asn[16], tplbuf[PATH_MAX + 64];
	size_t			 total = 0;
	FILE			*in = NULL;
	int			 rc;

	if ((rc = frr_config_args(args, nargs, &v, &tpl)) != 0)
		return rc;
	rc = 2;		/* until the configuration is printed */
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
