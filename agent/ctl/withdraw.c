/*
 * withdraw-all: withdraws what the state file lists, through the daemon's
 * own netlink and FRR drivers, for a daemon that is gone.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "compiler.h"
#include "cfg.h"
#include "frr.h"
#include "nl.h"
#include "peek.h"
#include "pfx.h"
#include "state.h"
#include "ctl_int.h"

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
	}
	/*
	 * No owner of a desired state (frr_set_desired()): every managed
	 * statement is wanted absent. A few vtysh calls at most: read, remove,
	 * read back.
	 */
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
 * Splits st's announcements: those of configured prefixes go to todo, the
 * others (left alone) to left. 0, 1 when some were left alone, -1 out of
 * memory.
 */
static int
withdraw_select(const struct state *st, const struct reach *reach, struct state *todo,
    struct state *left)
{
	char	buf[PFX_STRLEN];
	int	rc = 0;

	for (size_t i = 0; i < st->nannounced; i++) {
		const struct state_entry *e = &st->announced[i];

		if (reach_has(reach, &e->pfx)) {
			if (state_add_announced(todo, &e->pfx, e->ifname, e->method) == -1)
				return -1;
			continue;
		}
		fprintf(stderr, "%s on %s: not a prefix of the configuration; left alone\n",
		    pfx_fmt(&e->pfx, buf, sizeof(buf)), e->ifname);
		if (state_add_announced(left, &e->pfx, e->ifname, e->method) == -1)
			return -1;
		rc = 1;
	}
	return rc;
}

/*
 * Removes todo's addresses (FRR's statements are gone if frr_ok) and lists
 * what stays in left. 0, 1 when something stays, -1 out of memory.
 */
static int
withdraw_entries(const struct state *todo, struct nl *nl, bool frr_ok, struct state *left)
{
	char		 err[512], buf[PFX_STRLEN];
	unsigned	 ifindex;
	int		 rc = 0;

	for (size_t i = 0; i < todo->nannounced; i++) {
		const struct state_entry *e = &todo->announced[i];
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
			if (state_add_announced(left, &e->pfx, e->ifname, e->method) == -1)
				return -1;
			rc = 1;
		}
	}
	return rc;
}

/*
 * Writes the state file again with what is left: drains survive; what
 * could not be withdrawn stays listed for another try. 0, or -1 said.
 */
static int
withdraw_save(const struct state *st, struct state *left, const char *path)
{
	char	*text = NULL, err[512];
	int	 rc = 0;

	for (size_t i = 0; i < st->ndrained; i++)
		if (state_add_drained(left, st->drained[i]) == -1) {
			fprintf(stderr, "anycast-healthctl: out of memory\n");
			return -1;
		}
	if ((text = state_format(left)) == NULL ||
	    state_write_file(path, text, err, sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthctl: state file: %s\n", text ? err :
		    "out of memory");
		rc = -1;
	}
	free(text);
	return rc;
}

/*
 * Withdraws what the state file lists: for systemd's ExecStopPost=, so that
 * a daemon that died (kill -9, crash) leaves nothing announced. The file is
 * hostile data: only well-formed entries for configured prefixes are
 * withdrawn, through the vtysh of the configuration.
 */
int
cmd_withdraw_all(const char *path, const char *sock, bool force)
{
	struct state	 st, todo = { 0 }, left = { 0 };
	struct reach	 reach;
	struct nl	*nl = NULL;
	char		 err[512];
	const char	*result;
	int		 rc = 0, fd, r;
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
	if ((r = withdraw_select(&st, &reach, &todo, &left)) == -1)
		goto nomem;
	rc |= r;
	if (state_has_address(&todo) && (nl = nl_open(err, sizeof(err))) == NULL) {
		fprintf(stderr, "anycast-healthctl: netlink: %s\n", err);
		rc = 1;
		goto out;
	}
	frr_ok = withdraw_statements(&todo, &reach, err, sizeof(err)) == 0;
	if (!frr_ok)
		fprintf(stderr, "anycast-healthctl: FRR: %s\n", err);
	if ((r = withdraw_entries(&todo, nl, frr_ok, &left)) == -1)
		goto nomem;
	rc |= r;
	if (withdraw_save(&st, &left, reach.state_file) == -1)
		rc = 1;
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
	return rc;
}
