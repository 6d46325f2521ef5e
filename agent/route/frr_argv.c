/*
 * The argv of every vtysh call: `configure terminal` with the `network`
 * changes, `show running-config`, and the verification read. Each command
 * is one `-c` word; nothing goes through a shell.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frr.h"

/* ---- command builder ---- */

struct argv_buf {
	char	**v;
	size_t	  n, cap;
	bool	  failed;
};

static void
argv_push(struct argv_buf *a, const char *s)
{
	char	**tmp;

	if (a->failed)
		return;
	if (a->n + 2 > a->cap) {
		a->cap = a->cap ? a->cap * 2 : 16;
		if ((tmp = realloc(a->v, a->cap * sizeof(*tmp))) == NULL)
			goto fail;
		a->v = tmp;
	}
	if ((a->v[a->n] = strdup(s)) == NULL)
		goto fail;
	a->v[++a->n] = NULL;
	return;
fail:
	a->failed = true;
}

static void
argv_cmd(struct argv_buf *a, const char *cmd)
{
	argv_push(a, "-c");
	argv_push(a, cmd);
}

static void
argv_head(struct argv_buf *a, const char *vtysh, const char *pathspace)
{
	argv_push(a, vtysh);
	if (pathspace != NULL) {
		argv_push(a, "-N");
		argv_push(a, pathspace);
	}
}

static char **
argv_done(struct argv_buf *a)
{
	if (a->failed || a->v == NULL) {
		frr_argv_free(a->v);
		return NULL;
	}
	return a->v;
}

char **
frr_build_argv(const char *vtysh, const char *pathspace, uint32_t asn, const char *vrf,
    const struct frr_change *c, size_t n)
{
	static const int	 fams[] = { AF_INET, AF_INET6 };
	struct argv_buf		 a = { 0 };
	char			 cmd[256], buf[PFX_STRLEN];
	bool			 any;

	argv_head(&a, vtysh, pathspace);
	argv_cmd(&a, "configure terminal");
	if (vrf != NULL)
		snprintf(cmd, sizeof(cmd), "router bgp %u vrf %s", asn, vrf);
	else
		snprintf(cmd, sizeof(cmd), "router bgp %u", asn);
	argv_cmd(&a, cmd);
	for (size_t k = 0; k < 2; k++) {
		any = false;
		for (size_t i = 0; i < n; i++) {
			if (c[i].pfx.family != fams[k])
				continue;
			if (!any)
				argv_cmd(&a, fams[k] == AF_INET ? "address-family ipv4 unicast" :
				    "address-family ipv6 unicast");
			any = true;
			pfx_fmt(&c[i].pfx, buf, sizeof(buf));
			if (!c[i].present)
				snprintf(cmd, sizeof(cmd), "no network %s", buf);
			else if (c[i].route_map != NULL && c[i].route_map[0] != '\0')
				snprintf(cmd, sizeof(cmd), "network %s route-map %s", buf,
				    c[i].route_map);
			else
				snprintf(cmd, sizeof(cmd), "network %s", buf);
			argv_cmd(&a, cmd);
		}
		if (any)
			argv_cmd(&a, "exit-address-family");
	}
	return argv_done(&a);
}

char **
frr_build_show_argv(const char *vtysh, const char *pathspace)
{
	struct argv_buf	a = { 0 };

	argv_head(&a, vtysh, pathspace);
	argv_cmd(&a, "show running-config");
	return argv_done(&a);
}

char **
frr_build_verify_argv(const char *vtysh, const char *pathspace, const char *vrf,
    const struct pfx *ps, size_t n)
{
	struct argv_buf	a = { 0 };
	char		cmd[256], buf[PFX_STRLEN], v[160] = "";

	if (vrf != NULL)
		snprintf(v, sizeof(v), " vrf %s", vrf);
	argv_head(&a, vtysh, pathspace);
	/* bgpd's answers first: a zebra that is down makes vtysh stop at its commands. */
	for (size_t i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "show bgp%s %s unicast %s json", v,
		    ps[i].family == AF_INET ? "ipv4" : "ipv6", pfx_fmt(&ps[i], buf, sizeof(buf)));
		argv_cmd(&a, cmd);
	}
	argv_cmd(&a, "show zebra client summary");
	snprintf(cmd, sizeof(cmd), "show ip nht%s", v);
	argv_cmd(&a, cmd);
	snprintf(cmd, sizeof(cmd), "show ipv6 nht%s", v);
	argv_cmd(&a, cmd);
	return argv_done(&a);
}

void
frr_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
