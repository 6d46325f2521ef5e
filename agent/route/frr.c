#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cfg.h"
#include "frr.h"
#include "log.h"
#include "nofile.h"
#include "clock.h"

extern char **environ;

/* vtysh prints a few KiB; a running-config of a big router is still far below this. */
#define FRR_OUT_MAX	(8 * 1024 * 1024)
#define FRR_RUNDIR	"/var/run/frr"
/* bgpd answers `show bgp ... P json` in about 1 ms each: one call stays short. */
#define FRR_VERIFY_MAX	100

/*
 * A managed prefix: what ann_ wants, and what the last read of the running
 * configuration showed.
 */
struct frr_entry {
	struct pfx	pfx;
	bool		want;
	char		want_rm[FRR_RM_MAX];
	bool		have;
	char		have_rm[FRR_RM_MAX];
	bool		sent;		/* part of the call whose read-back is pending */
	/* What that call asked for: want may have moved on since. */
	bool		sent_want;
	char		sent_rm[FRR_RM_MAX];
	/*
	 * Left by the configuration: wanted absent (or, for method address,
	 * plain), dropped once a read shows it so.
	 */
	bool		released;
};

/*
 * An address-method prefix: bgpd announces it through the operator's own
 * statement while zebra reports its address. Verified, never managed: its
 * statement is only ever re-entered as it was (frr_start_repair()).
 */
struct frr_track {
	struct pfx	pfx;
	bool		addr;		/* on its interface, as ann_ last said */
	bool		stmt;		/* the last read showed `network P` */
	bool		options;	/* ... with words we would not re-enter faithfully */
	char		rm[FRR_RM_MAX];
	bool		repair;		/* to be re-entered by the next repair call */
	/*
	 * Re-entered by a repair not yet read back: until a read shows the
	 * statement again, a vtysh killed (or failing) between `no network P`
	 * and `network P` must not cost the operator the statement.
	 */
	bool		inflight;
	char		inflight_rm[FRR_RM_MAX];
	bool		reenter;	/* a read showed it missing: `network P [RM]` alone */
	/* Repaired and still stale: retried after its own doubling pause. */
	bool		repaired;
	uint64_t	rbackoff_us;
	uint64_t	rnext_us;
	bool		warned;		/* missing or unrepairable statement logged */
	/* No longer configured (reload): verified until bgpd no longer announces it. */
	bool		leaving;
	bool		gone;		/* a verification showed it withdrawn since the removal */
};

enum frr_op { FRR_OP_NONE, FRR_OP_READ, FRR_OP_APPLY, FRR_OP_VERIFY, FRR_OP_REPAIR };

struct frr_call {
	enum frr_op	 op;
	pid_t		 pid;
	int		 fd;		/* read end of stdout+stderr */
	sd_event_source	*child;
	sd_event_source	*io;
	sd_event_source	*deadline;
	char		*out;
	size_t		 len, cap;
	bool		 exited;
	bool		 timed_out;
	int		 status;	/* si_code/si_status folded: exit code, or 128+signal */
	uint64_t	 started_us;
};

struct frr {
	sd_event		*ev;
	/*
	 * A copy of the configuration's FRR settings: a reload frees the
	 * configuration they came from whenever it is done with it.
	 */
	struct {
		char		*vtysh;
		char		*pathspace;	/* NULL: none */
		char		*vrf;		/* NULL: default VRF */
		uint32_t	 asn;		/* 0: learn it */
		uint64_t	 timeout_us;
	} set;
	frr_update_cb		 cb;
	void			*cb_arg;
	struct frr_entry	*e;
	size_t			 n;
	uint32_t		 asn;		/* configured, or learned from FRR */
	struct frr_timing	 t;

	struct frr_call		 call;
	bool			 started;
	bool			 known;		/* `have` reflects a read */
	bool			 need_read;
	bool			 readback;	/* the next read checks the last apply */
	bool			 failing;
	uint64_t		 backoff_us;
	uint64_t		 replay_since_us;	/* 0: not waiting for FRR's config */
	char			 last_err[512];

	sd_event_source		*defer;		/* coalesces one iteration's changes */
	sd_event_source		*retry;		/* backoff after a failure */
	sd_event_source		*periodic;
	sd_event_source		*watch;		/* inotify on the FRR run directory */
	struct frr_stats	 stats;

	struct frr_track	*tr;		/* address-method prefixes, verified */
	size_t			 ntr;
	bool			 verify_due;
	sd_event_source		*verify;	/* delays a verification */
	uint64_t		 zebra_since_us;	/* 0, or when a zebra restart was seen */
	/*
	 * The address method's calls fail and back off on their own: a failing
	 * network method must not hold up the withdrawal of a stale prefix,
	 * and a failed verification says nothing about the statements.
	 */
	bool			 tr_read;	/* a read for the tracked statements is due */
	bool			 vfailing;
	uint64_t		 vbackoff_us;
	sd_event_source		*vretry;
	bool			 zebra_settled;	/* the last verification found zebra tracking all */
	struct pfx		*asked;		/* what the verification in flight asks about */
	size_t			 nasked;
	size_t			 vcursor;	/* where the next verification starts asking */
};

static void	frr_kick(struct frr *f);
static void	frr_verify_after(struct frr *f, uint64_t delay_us);
static void	frr_tracks_read(struct frr *f, const struct frr_running *r);
static void	frr_verify_done(struct frr *f, const char *out, int status);
static void	frr_vhold(struct frr *f, uint64_t delay_us);

/* ---- running-config parser ---- */

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* "router bgp 65001" / "router bgp 65001 vrf BLUE": 1 if it is the instance asked for. */
static int
parse_router_line(const char *line, const char *vrf, uint32_t *asn)
{
	char		 name[128] = "", kw[16] = "";
	unsigned long	 a;
	char		*end;
	int		 n;

	if (!starts_with(line, "router bgp "))
		return 0;
	errno = 0;
	a = strtoul(line + strlen("router bgp "), &end, 10);
	if (errno != 0 || end == line + strlen("router bgp ") || a == 0 || a > UINT32_MAX)
		return 0;
	n = sscanf(end, " %15s %127s", kw, name);
	if (n <= 0) {
		if (vrf != NULL)
			return 0;
	} else if (n != 2 || strcmp(kw, "vrf") != 0 || vrf == NULL ||
	    strcmp(name, vrf) != 0)
		return 0;
	*asn = (uint32_t)a;
	return 1;
}

static int
running_add(struct frr_running *r, const struct pfx *p, int af, const char *rm, bool options)
{
	struct frr_net	*tmp;

	if ((tmp = realloc(r->nets, (r->nnets + 1) * sizeof(*tmp))) == NULL)
		return -1;
	r->nets = tmp;
	memset(&r->nets[r->nnets], 0, sizeof(r->nets[0]));
	r->nets[r->nnets].pfx = *p;
	r->nets[r->nnets].af = af;
	snprintf(r->nets[r->nnets].route_map, FRR_RM_MAX, "%s", rm);
	r->nets[r->nnets].options = options;
	r->nnets++;
	return 0;
}

/* "  network 192.0.2.0/24 route-map RM" inside an address-family section. */
static int
parse_network_line(struct frr_running *r, const char *line, int af)
{
	char		 ptxt[128] = "", kw[32] = "", rm[FRR_RM_MAX + 1] = "", err[64];
	char		 more[32] = "";
	struct pfx	 p;
	bool		 options;
	int		 n;

	n = sscanf(line, " network %127s %31s %65s %31s", ptxt, kw, rm, more);
	if (n < 1 || pfx_parse(ptxt, &p, err, sizeof(err)) == -1)
		return 0;
	/* backdoor, label-index ...: such a line cannot be re-entered as it was. */
	options = n == 4 || (n >= 2 && strcmp(kw, "route-map") != 0) ||
	    (n == 3 && strlen(rm) >= FRR_RM_MAX);
	if (n < 3 || strcmp(kw, "route-map") != 0 || strlen(rm) >= FRR_RM_MAX)
		rm[0] = '\0';
	return running_add(r, &p, af, rm, options);
}

int
frr_running_parse(const char *text, const char *vrf, struct frr_running *out)
{
	const char	*s = text, *nl;
	char		 line[512];
	bool		 in_router = false;
	int		 af = 0;	/* AF_INET, AF_INET6, -1 other family, 0 none */
	uint32_t	 asn;
	size_t		 len;

	memset(out, 0, sizeof(*out));
	while (*s != '\0') {
		nl = strchr(s, '\n');
		len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (len >= sizeof(line))
			len = sizeof(line) - 1;	/* no line we care about is this long */
		memcpy(line, s, len);
		line[len] = '\0';
		if (len > 0 && line[len - 1] == '\r')
			line[len - 1] = '\0';
		s = nl != NULL ? nl + 1 : s + strlen(s);

		if (line[0] != ' ' && line[0] != '\0') {
			/* A top-level line ends any router block. */
			in_router = false;
			af = 0;
			if (parse_router_line(line, vrf, &asn) == 1) {
				in_router = true;
				out->found = true;
				out->asn = asn;
			}
			continue;
		}
		if (!in_router)
			continue;
		if (starts_with(line, " address-family ")) {
			if (strcmp(line, " address-family ipv4 unicast") == 0)
				af = AF_INET;
			else if (strcmp(line, " address-family ipv6 unicast") == 0)
				af = AF_INET6;
			else
				af = -1;
		} else if (strcmp(line, " exit-address-family") == 0) {
			af = 0;
		} else if ((af == AF_INET || af == AF_INET6) && starts_with(line, "  network ")) {
			if (parse_network_line(out, line, af) == -1) {
				frr_running_clear(out);
				return -1;
			}
		}
	}
	return 0;
}

void
frr_running_clear(struct frr_running *r)
{
	free(r->nets);
	memset(r, 0, sizeof(*r));
}

const struct frr_net *
frr_running_find(const struct frr_running *r, const struct pfx *p)
{
	for (size_t i = 0; i < r->nnets; i++)
		if (r->nets[i].af == p->family && pfx_equal(&r->nets[i].pfx, p))
			return &r->nets[i];
	return NULL;
}

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
frr_seen_clear(struct frr_seen *s)
{
	free(s->announced);
	free(s->registered);
	memset(s, 0, sizeof(*s));
}

static bool
json_true(json_object *o, const char *key)
{
	json_object	*v;

	return json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/*
 * Whether a `show bgp ... P json` answer, for P itself, holds a valid path
 * bgpd sources itself from a network statement.
 */
static bool
json_announced(json_object *o, const struct pfx *asked)
{
	json_object	*paths, *path, *v;
	struct pfx	 p;
	char		 err[64];
	bool		 valid, own;

	/* An answer about another prefix (a covering one) says nothing of P. */
	if (!json_object_object_get_ex(o, "prefix", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    pfx_parse(json_object_get_string(v), &p, err, sizeof(err)) == -1 ||
	    !pfx_equal(&p, asked))
		return false;
	if (!json_object_object_get_ex(o, "paths", &paths) ||
	    !json_object_is_type(paths, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(paths); i++) {
		path = json_object_array_get_idx(paths, i);
		if (!json_object_is_type(path, json_type_object))
			continue;
		valid = json_true(path, "valid");
		/*
		 * A path learned from a peer (another site of the anycast prefix)
		 * is not ours, nor is an aggregate bgpd builds itself.
		 */
		own = json_true(path, "sourced") && json_true(path, "local") &&
		    !json_true(path, "aggregated");
		if (valid && own)
			return true;
	}
	return false;
}

/* "192.0.2.53" or "198.51.100.2(Connected)" at the start of an nht block. */
static bool
nht_header(const char *line, int *af, unsigned char addr[16])
{
	char	buf[64];
	size_t	len = strcspn(line, "( \t");

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\0';
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*af = AF_INET;
		return true;
	}
	if (inet_pton(AF_INET6, buf, addr) == 1) {
		*af = AF_INET6;
		return true;
	}
	return false;
}

/* zebra prints the tracked address without its length: the prefix's address. */
static void
nht_mark(const struct pfx *ps, size_t n, int af, const unsigned char addr[16], bool *reg)
{
	size_t	alen = af == AF_INET ? 4 : 16;

	for (size_t i = 0; i < n; i++)
		if (ps[i].family == af && memcmp(&ps[i].addr, addr, alen) == 0)
			reg[i] = true;
}

int
frr_verify_parse(const char *text, bool zebra_answered, const struct pfx *ps, size_t n,
    const struct pfx *tracked, size_t ntracked, struct frr_seen *out)
{
	json_tokener	*tok = NULL;
	json_object	*o;
	const char	*s = text, *nl;
	char		 line[512];
	size_t		 njson = 0, len;
	unsigned char	 addr[16];
	int		 af = 0, rc = -1;
	bool		 in_block = false;

	memset(out, 0, sizeof(*out));
	out->announced = calloc(n + 1, sizeof(bool));
	out->registered = calloc(ntracked + 1, sizeof(bool));
	if (out->announced == NULL || out->registered == NULL ||
	    (tok = json_tokener_new()) == NULL)
		goto fail;
	while (*s != '\0') {
		nl = strchr(s, '\n');
		len = nl != NULL ? (size_t)(nl - s) : strlen(s);
		if (s[0] == '{') {
			/* One answer per prefix, in the order asked. */
			json_tokener_reset(tok);
			o = json_tokener_parse_ex(tok, s, (int)strlen(s));
			if (o == NULL)
				break;	/* truncated or not JSON: bgp_ok stays false */
			if (njson < n && json_object_is_type(o, json_type_object))
				out->announced[njson] = json_announced(o, &ps[njson]);
			njson++;
			json_object_put(o);
			s += json_tokener_get_parse_end(tok);
			continue;
		}
		if (len >= sizeof(line))
			len = sizeof(line) - 1;	/* no line we care about is this long */
		memcpy(line, s, len);
		line[len] = '\0';
		s = nl != NULL ? nl + 1 : s + strlen(s);
		if (!zebra_answered)
			continue;
		/* `show zebra client summary`: one row per connected daemon. */
		if (strncmp(line, "bgp ", 4) == 0)
			out->bgp_client = true;
		else if (line[0] != ' ' && line[0] != '\t')
			in_block = nht_header(line, &af, addr);
		else if (in_block && strstr(line, "Client list:") != NULL &&
		    strstr(line, "bgp(") != NULL)
			nht_mark(tracked, ntracked, af, addr, out->registered);
	}
	out->bgp_ok = njson == n;
	out->zebra_ok = zebra_answered;
	rc = 0;
fail:
	if (tok != NULL)
		json_tokener_free(tok);
	if (rc == -1)
		frr_seen_clear(out);
	return rc;
}

void
frr_argv_free(char **argv)
{
	for (size_t i = 0; argv != NULL && argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}

/* ---- one vtysh call at a time ---- */

static void
call_release(struct frr_call *c)
{
	c->child = sd_event_source_disable_unref(c->child);
	c->io = sd_event_source_disable_unref(c->io);
	c->deadline = sd_event_source_disable_unref(c->deadline);
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->out);
	c->out = NULL;
	c->len = c->cap = 0;
	c->op = FRR_OP_NONE;
	c->pid = 0;
	c->exited = c->timed_out = false;
}

/* Reads what is there without blocking; 1 at EOF, 0 otherwise. */
static int
call_drain(struct frr_call *c)
{
	char	*tmp;
	ssize_t	 r;

	for (;;) {
		if (c->cap - c->len < 4096) {
			if (c->cap >= FRR_OUT_MAX)
				return 1;	/* enough; the rest is not ours to parse */
			c->cap = c->cap ? c->cap * 2 : 16384;
			if ((tmp = realloc(c->out, c->cap)) == NULL)
				return 1;
			c->out = tmp;
			/* A string from the first allocation on, even if vtysh says nothing. */
			c->out[c->len] = '\0';
		}
		r = read(c->fd, c->out + c->len, c->cap - c->len - 1);
		if (r > 0) {
			c->len += (size_t)r;
			c->out[c->len] = '\0';
			continue;
		}
		if (r == 0)
			return 1;
		if (errno == EINTR)
			continue;
		return errno == EAGAIN ? 0 : 1;
	}
}

static void	frr_call_done(struct frr *f);

static const char *
op_name(enum frr_op op)
{
	switch (op) {
	case FRR_OP_READ:
		return "show running-config";
	case FRR_OP_APPLY:
		return "configuration call";
	case FRR_OP_VERIFY:
		return "verification (show bgp, show nht)";
	case FRR_OP_REPAIR:
		return "re-entering network statements";
	default:
		return "call";
	}
}

static int
call_io_cb(sd_event_source *src, int fd, uint32_t revents, void *arg)
{
	struct frr	*f = arg;

	(void)fd;
	(void)revents;
	if (call_drain(&f->call) == 1)
		f->call.io = sd_event_source_disable_unref(src);
	return 0;
}

static int
call_child_cb(sd_event_source *src, const siginfo_t *si, void *arg)
{
	struct frr	*f = arg;
	struct frr_call	*c = &f->call;

	(void)src;
	c->exited = true;
	c->status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
	/* Everything the child wrote is in the pipe now. */
	if (c->fd != -1)
		call_drain(c);
	frr_call_done(f);
	return 0;
}

static int
call_deadline_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct frr	*f = arg;

	(void)src;
	(void)usec;
	f->call.timed_out = true;
	f->stats.timeouts++;
	/*
	 * The group first: vtysh is not reaped before its exit event, so its
	 * group ID cannot have been reused. Then vtysh itself through the
	 * child source (pidfd): never a recycled pid. The exit event reaps it.
	 */
	kill(-f->call.pid, SIGKILL);
	if (sd_event_source_send_child_signal(f->call.child, SIGKILL, NULL, 0) < 0)
		kill(f->call.pid, SIGKILL);
	return 0;
}

static int
frr_spawn(struct frr *f, enum frr_op op, char **argv)
{
	struct frr_call		*c = &f->call;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t	 attr;
	sigset_t		 none, defsigs;
	int			 fds[2], r;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		snprintf(f->last_err, sizeof(f->last_err), "pipe: %s", strerror(errno));
		return -1;
	}
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	/* No descriptor of the daemon's (libcurl's sockets are not close-on-exec). */
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	/* vtysh must not inherit the loop's blocked signals or ignored SIGPIPE. */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&defsigs);
	sigaddset(&defsigs, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defsigs);
	/* Its own process group: a timeout kills whatever vtysh started, too. */
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
	    POSIX_SPAWN_SETPGROUP);
	nofile_child();
	r = posix_spawn(&c->pid, argv[0], &fa, &attr, argv, environ);
	nofile_parent();
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (r != 0) {
		close(fds[0]);
		snprintf(f->last_err, sizeof(f->last_err), "cannot run %s: %s", argv[0],
		    strerror(r));
		return -1;
	}
	c->fd = fds[0];
	c->op = op;
	c->started_us = now_us();
	f->stats.calls++;
	if ((r = sd_event_add_child(f->ev, &c->child, c->pid, WEXITED, call_child_cb, f)) < 0 ||
	    (r = sd_event_add_io(f->ev, &c->io, c->fd, EPOLLIN, call_io_cb, f)) < 0 ||
	    (r = sd_event_add_time_relative(f->ev, &c->deadline, CLOCK_MONOTONIC,
	    f->set.timeout_us, 1000, call_deadline_cb, f)) < 0) {
		/* Nothing will watch it: stop and reap it here (SIGKILL is immediate). */
		kill(-c->pid, SIGKILL);
		kill(c->pid, SIGKILL);
		waitpid(c->pid, NULL, 0);
		call_release(c);
		snprintf(f->last_err, sizeof(f->last_err), "event loop: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* ---- reconciliation ---- */

static struct frr_entry *
frr_find(const struct frr *f, const struct pfx *p)
{
	for (size_t i = 0; i < f->n; i++)
		if (pfx_equal(&f->e[i].pfx, p))
			return &f->e[i];
	return NULL;
}

/* Forgets entry i: its statement is never touched again. */
static void
frr_drop(struct frr *f, size_t i)
{
	memmove(&f->e[i], &f->e[i + 1], (f->n - i - 1) * sizeof(f->e[0]));
	f->n--;
}

static bool
entry_differs(const struct frr_entry *e)
{
	if (e->want != e->have)
		return true;
	return e->want && strcmp(e->want_rm, e->have_rm) != 0;
}

static const char *
stmt_fmt(bool present, const char *rm, const struct pfx *p, char *buf, size_t len)
{
	char	pb[PFX_STRLEN];

	pfx_fmt(p, pb, sizeof(pb));
	if (!present)
		snprintf(buf, len, "no statement for %s", pb);
	else if (rm[0] != '\0')
		snprintf(buf, len, "'network %s route-map %s'", pb, rm);
	else
		snprintf(buf, len, "'network %s'", pb);
	return buf;
}

static void
frr_schedule_retry(struct frr *f, uint64_t delay_us)
{
	sd_event_source_set_time_relative(f->retry, delay_us);
	sd_event_source_set_enabled(f->retry, SD_EVENT_ONESHOT);
}

static bool
retry_pending(const struct frr *f)
{
	int	en = SD_EVENT_OFF;

	sd_event_source_get_enabled(f->retry, &en);
	return en != SD_EVENT_OFF;
}

/* A failed call, timeout or mismatch: logged, then retried after a doubling pause. */
static void
frr_fail(struct frr *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
frr_fail(struct frr *f, const char *fmt, ...)
{
	char		 msg[1024], d[32];
	va_list		 ap;
	/*
	 * Nothing managed (address method only): FRR is asked for verification
	 * alone, and a node without reachable FRR still works. Said once.
	 */
	bool		 optional = f->n == 0;
	enum log_level	 lvl = !optional ? LOG_LVL_ERROR :
	    f->failing ? LOG_LVL_DEBUG : LOG_LVL_WARNING;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->stats.failures++;
	f->failing = true;
	f->need_read = true;
	f->readback = false;
	log_msg(lvl, NULL, "frr", "%s; retrying in %s%s", msg,
	    cfg_duration_fmt(f->backoff_us, d, sizeof(d)), optional ? " (until FRR answers, "
	    "what bgpd announces for the address method is not verified)" : "");
	frr_schedule_retry(f, f->backoff_us);
	f->backoff_us = f->backoff_us * 2 > f->t.backoff_max_us ? f->t.backoff_max_us :
	    f->backoff_us * 2;
	/* A read the tracked statements wait for failed as well: not in a tight loop. */
	if (f->tr_read)
		frr_vhold(f, 0);
	/* The address method's work goes on meanwhile (frr_kick). */
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
}

static bool
vretry_pending(const struct frr *f)
{
	int	en = SD_EVENT_OFF;

	sd_event_source_get_enabled(f->vretry, &en);
	return en != SD_EVENT_OFF;
}

/* Holds the address method's calls for delay_us, or (0) a doubling backoff. */
static void
frr_vhold(struct frr *f, uint64_t delay_us)
{
	if (delay_us == 0) {
		delay_us = f->vbackoff_us;
		f->vbackoff_us = f->vbackoff_us * 2 > f->t.backoff_max_us ?
		    f->t.backoff_max_us : f->vbackoff_us * 2;
	}
	sd_event_source_set_time_relative(f->vretry, delay_us);
	sd_event_source_set_enabled(f->vretry, SD_EVENT_ONESHOT);
}

/*
 * A verification or repair failed: retried after its own backoff. FRR's
 * statements are not in question, so the link is not marked failing.
 */
static void
frr_vfail(struct frr *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
frr_vfail(struct frr *f, const char *fmt, ...)
{
	char		 msg[1024], d[32];
	va_list		 ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	f->stats.failures++;
	log_msg(f->vfailing ? LOG_LVL_DEBUG : LOG_LVL_ERROR, NULL, "frr", "%s; retrying in "
	    "%s (what bgpd announces for the address method is not verified meanwhile)",
	    msg, cfg_duration_fmt(f->vbackoff_us, d, sizeof(d)));
	f->vfailing = true;
	frr_vhold(f, 0);
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
}

/* The last lines of vtysh's output, on one line, for the log. */
static const char *
out_tail(const struct frr_call *c, char *buf, size_t len)
{
	const char	*s = c->out != NULL ? c->out : "";
	size_t		 n = strlen(s), j = 0;

	if (n > 300)
		s += n - 300;
	for (; *s != '\0' && j + 1 < len; s++)
		buf[j++] = *s == '\n' ? ' ' : *s;
	while (j > 0 && buf[j - 1] == ' ')
		j--;
	buf[j] = '\0';
	return buf;
}

static void
frr_read_done(struct frr *f, const char *out)
{
	struct frr_running	 r;
	const struct frr_net	*net;
	char			 w[256], h[256], d[32];
	bool			 mismatch = false;
	uint64_t		 now = now_us();

	if (frr_running_parse(out != NULL ? out : "", f->set.vrf, &r) == -1) {
		frr_fail(f, "out of memory reading FRR's running configuration");
		return;
	}
	if (!r.found) {
		/* bgpd down, or (re)started and not yet replaying its own configuration. */
		if (f->replay_since_us == 0)
			f->replay_since_us = now;
		if (now - f->replay_since_us < f->t.replay_max_us) {
			log_debug("FRR's running configuration has no router bgp%s%s yet; "
			    "waiting for FRR to load its configuration",
			    f->set.vrf ? " vrf " : "", f->set.vrf ? f->set.vrf : "");
			f->need_read = true;
			frr_schedule_retry(f, f->t.replay_poll_us);
			if (f->tr_read)
				frr_vhold(f, f->t.replay_poll_us);
			goto out;
		}
		frr_fail(f, "FRR's running configuration has no router bgp%s%s after %s "
		    "(bgpd not running, or not configured)", f->set.vrf ? " vrf " : "",
		    f->set.vrf ? f->set.vrf : "",
		    cfg_duration_fmt(f->t.replay_max_us, d, sizeof(d)));
		f->known = false;
		goto out;
	}
	f->replay_since_us = 0;
	if (f->set.asn != 0 && r.asn != f->set.asn) {
		frr_fail(f, "FRR runs router bgp %u%s%s, but frr.asn is %u", r.asn,
		    f->set.vrf ? " vrf " : "", f->set.vrf ? f->set.vrf : "",
		    f->set.asn);
		goto out;
	}
	if (f->asn != r.asn)
		log_info("FRR: router bgp %u%s%s", r.asn, f->set.vrf ? " vrf " : "",
		    f->set.vrf ? f->set.vrf : "");
	f->asn = r.asn;
	for (size_t i = 0; i < f->n; i++) {
		struct frr_entry *e = &f->e[i];
		net = frr_running_find(&r, &e->pfx);
		e->have = net != NULL;
		snprintf(e->have_rm, sizeof(e->have_rm), "%s", net ? net->route_map : "");
		/*
		 * Checked against what the call sent: a wish changed while it was
		 * in flight is no failure of FRR's, and goes out next (frr_kick).
		 */
		if (f->readback && e->sent && (e->have != e->sent_want ||
		    (e->have && strcmp(e->have_rm, e->sent_rm) != 0))) {
			log_msg(LOG_LVL_ERROR, NULL, "frr", "read-back mismatch: asked for %s, "
			    "FRR holds %s", stmt_fmt(e->sent_want, e->sent_rm, &e->pfx, w,
			    sizeof(w)), stmt_fmt(e->have, e->have_rm, &e->pfx, h, sizeof(h)));
			mismatch = true;
		}
		e->sent = false;
	}
	frr_tracks_read(f, &r);
	/*
	 * Released statements now absent (or plain, for method address) are
	 * no longer ours: a hand-made one stays.
	 */
	for (size_t i = 0; i < f->n; ) {
		if (f->e[i].released && (!f->e[i].have ||
		    (f->e[i].want && f->e[i].have_rm[0] == '\0')))
			frr_drop(f, i);
		else
			i++;
	}
	f->known = true;
	f->need_read = false;
	f->tr_read = false;
	if (mismatch) {
		f->stats.mismatches++;
		frr_fail(f, "FRR did not take the change");
		goto out;
	}
	/* Failing until a read-back (or a read needing no change) shows FRR as wanted. */
	if (f->readback || frr_synced(f)) {
		if (f->failing)
			log_msg(LOG_LVL_INFO, NULL, "frr", "FRR holds the desired statements again");
		f->failing = false;
		f->backoff_us = f->t.backoff_min_us;
	}
	f->readback = false;
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
	frr_kick(f);
out:
	frr_running_clear(&r);
}

static void
frr_call_done(struct frr *f)
{
	struct frr_call	*c = &f->call;
	enum frr_op	 op = c->op;
	char		 tail[320], d[32];
	double		 ms = (double)(now_us() - c->started_us) / 1000.0;

	if (c->timed_out) {
		call_release(c);
		if (op == FRR_OP_VERIFY || op == FRR_OP_REPAIR) {
			/* A repair may have stopped half-way: a read tells. */
			f->tr_read = f->tr_read || op == FRR_OP_REPAIR;
			f->verify_due = f->verify_due || op == FRR_OP_VERIFY;
			frr_vfail(f, "vtysh %s timed out after %s and was killed",
			    op_name(op), cfg_duration_fmt(f->set.timeout_us, d, sizeof(d)));
		} else
			frr_fail(f, "vtysh %s timed out after %s and was killed", op_name(op),
			    cfg_duration_fmt(f->set.timeout_us, d, sizeof(d)));
		return;
	}
	log_debug("vtysh %s: exit %d in %.1f ms", op_name(op), c->status, ms);
	if (op == FRR_OP_VERIFY) {
		/* A daemon that is down makes vtysh exit 1 after the others answered. */
		char *out = c->out;
		int status = c->status;
		c->out = NULL;
		call_release(c);
		f->stats.verifies++;
		frr_verify_done(f, out, status);
		free(out);
		return;
	}
	if (c->status != 0) {
		out_tail(c, tail, sizeof(tail));
		call_release(c);
		if (op == FRR_OP_REPAIR) {
			f->tr_read = true;
			frr_vfail(f, "vtysh %s failed (exit %d): %s", op_name(op),
			    c->status, tail[0] ? tail : "no output");
		} else
			frr_fail(f, "vtysh %s failed (exit %d): %s", op_name(op),
			    c->status, tail[0] ? tail : "no output");
		return;
	}
	if (op == FRR_OP_READ) {
		/* Released first: reading may start the next call. */
		char *out = c->out;
		c->out = NULL;
		call_release(c);
		f->stats.reads++;
		frr_read_done(f, out);
		free(out);
		return;
	}
	call_release(c);
	/* vtysh exits 0 on some failures: only the read-back says it worked. */
	if (op == FRR_OP_REPAIR) {
		f->tr_read = true;
		/* Whether bgpd now judges the prefixes afresh: after FRR's own path. */
		frr_verify_after(f, f->t.verify_delay_us);
	} else {
		f->need_read = true;
		f->stats.applies++;
		f->readback = true;
	}
	frr_kick(f);
}

static void
frr_start_read(struct frr *f)
{
	char	**argv;

	if ((argv = frr_build_show_argv(f->set.vtysh, f->set.pathspace)) == NULL) {
		frr_fail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_READ, argv) == -1)
		frr_fail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

static void
frr_start_apply(struct frr *f)
{
	struct frr_change	*ch;
	char			**argv = NULL, buf[PFX_STRLEN];
	size_t			 n = 0;
	uint32_t		 asn = f->asn != 0 ? f->asn : f->set.asn;

	if ((ch = calloc(f->n + 1, sizeof(*ch))) == NULL) {
		frr_fail(f, "out of memory");
		return;
	}
	for (size_t i = 0; i < f->n; i++) {
		struct frr_entry *e = &f->e[i];
		if (!entry_differs(e))
			continue;
		ch[n].pfx = e->pfx;
		ch[n].present = e->want;
		ch[n].route_map = e->want_rm;
		e->sent = true;
		e->sent_want = e->want;
		snprintf(e->sent_rm, sizeof(e->sent_rm), "%s", e->want_rm);
		log_msg(LOG_LVL_INFO, NULL, "frr", "%s %s%s%s", e->want ? "network" :
		    "no network", pfx_fmt(&e->pfx, buf, sizeof(buf)),
		    e->want && e->want_rm[0] ? " route-map " : "", e->want ? e->want_rm : "");
		n++;
	}
	argv = frr_build_argv(f->set.vtysh, f->set.pathspace, asn,
	    f->set.vrf, ch, n);
	free(ch);
	if (argv == NULL) {
		frr_fail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_APPLY, argv) == -1)
		frr_fail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

/* ---- verification of the address method ---- */

static struct frr_track *
track_find(const struct frr *f, const struct pfx *p)
{
	for (size_t i = 0; i < f->ntr; i++)
		if (pfx_equal(&f->tr[i].pfx, p))
			return &f->tr[i];
	return NULL;
}

/* A repair due now: newly stale at once, repaired and still stale after its backoff. */
static bool
repair_ready(const struct frr *f, uint64_t now, uint64_t *next)
{
	bool	ready = false;

	*next = UINT64_MAX;
	for (size_t i = 0; i < f->ntr; i++) {
		if (!f->tr[i].repair)
			continue;
		if (f->tr[i].rnext_us <= now)
			ready = true;
		else if (f->tr[i].rnext_us < *next)
			*next = f->tr[i].rnext_us;
	}
	return ready;
}

static bool
inflight_any(const struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		if (f->tr[i].inflight)
			return true;
	return false;
}

static bool
reenter_wanted(const struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		if (f->tr[i].reenter)
			return true;
	return false;
}

bool
frr_repairing(const struct frr *f)
{
	return f->call.op == FRR_OP_REPAIR || inflight_any(f);
}

/* What a read of the running configuration says about the tracked statements. */
static void
frr_tracks_read(struct frr *f, const struct frr_running *r)
{
	const struct frr_net	*net;
	char			 buf[PFX_STRLEN];

	for (size_t i = 0; i < f->ntr; i++) {
		struct frr_track *t = &f->tr[i];
		net = frr_running_find(r, &t->pfx);
		if (t->inflight && net == NULL) {
			/* Our repair was cut short after `no network P`: put it back. */
			if (!t->reenter)
				log_msg(LOG_LVL_WARNING, NULL, "frr", "'network %s%s%s' is missing "
				    "after an interrupted repair; entering it again as it was",
				    pfx_fmt(&t->pfx, buf, sizeof(buf)),
				    t->inflight_rm[0] ? " route-map " : "", t->inflight_rm);
			t->reenter = true;
			t->repair = false;
			t->stmt = true;
			t->options = false;
			snprintf(t->rm, sizeof(t->rm), "%s", t->inflight_rm);
			continue;
		}
		if (net == NULL && t->stmt && !t->inflight)
			log_msg(LOG_LVL_WARNING, NULL, "frr", "'network %s' is gone from FRR's "
			    "running configuration (removed by hand?); not re-entering it",
			    pfx_fmt(&t->pfx, buf, sizeof(buf)));
		/* Back (as it was, or as the operator changed it since): no longer ours. */
		t->inflight = false;
		t->reenter = false;
		t->stmt = net != NULL;
		t->options = net != NULL && net->options;
		snprintf(t->rm, sizeof(t->rm), "%s", net != NULL ? net->route_map : "");
		/* Re-entered only as the read just showed it. */
		if (!t->stmt)
			t->repair = false;
	}
}

/*
 * `no network P` then `network P [route-map RM]` in one call: bgpd drops
 * the static route and its nexthop registration, then makes both anew and
 * asks zebra, which answers with the current state of P. Measured with FRR
 * 8.4: a prefix whose address is gone is withdrawn (60-80 ms), one whose
 * address is there sends nothing to the neighbour, and zebra tracks P for
 * bgpd again. `clear bgp * soft` does not re-evaluate, and toggling `bgp
 * network import-check` would announce every prefix for a moment.
 */
static void
frr_start_repair(struct frr *f)
{
	struct frr_change	*ch;
	char			**argv, buf[PFX_STRLEN];
	size_t			 n = 0;
	uint64_t		 now = now_us();

	if ((ch = calloc(2 * f->ntr + 1, sizeof(*ch))) == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	for (size_t i = 0; i < f->ntr; i++) {
		struct frr_track *t = &f->tr[i];
		if (t->reenter) {
			/* Only what is missing: `no network` would find nothing. */
			t->reenter = false;
			ch[n].pfx = t->pfx;
			ch[n].present = true;
			ch[n++].route_map = t->inflight_rm;
			log_msg(LOG_LVL_WARNING, NULL, "frr", "entering 'network %s%s%s' again",
			    pfx_fmt(&t->pfx, buf, sizeof(buf)), t->inflight_rm[0] ?
			    " route-map " : "", t->inflight_rm);
			continue;
		}
		if (!t->repair || t->rnext_us > now)
			continue;
		t->repair = false;
		t->repaired = true;
		t->inflight = true;
		snprintf(t->inflight_rm, sizeof(t->inflight_rm), "%s", t->rm);
		ch[n].pfx = t->pfx;
		ch[n++].present = false;
		ch[n].pfx = t->pfx;
		ch[n].present = true;
		ch[n++].route_map = t->rm;
		f->stats.repairs++;
		log_msg(LOG_LVL_WARNING, NULL, "frr", "re-entering 'network %s%s%s' so that "
		    "bgpd evaluates it against zebra again", pfx_fmt(&t->pfx, buf, sizeof(buf)),
		    t->rm[0] ? " route-map " : "", t->rm);
	}
	argv = frr_build_argv(f->set.vtysh, f->set.pathspace, f->asn, f->set.vrf, ch, n);
	free(ch);
	if (argv == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_REPAIR, argv) == -1)
		frr_vfail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

static void
frr_start_verify(struct frr *f)
{
	char	**argv;

	f->verify_due = false;
	free(f->asked);
	f->nasked = 0;
	if ((f->asked = calloc(f->ntr + 1, sizeof(*f->asked))) == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	/*
	 * Only a prefix whose address is gone can be announced stale; whether
	 * zebra tracks them all is one command whatever their number.
	 */
	for (size_t k = 0, i; k < f->ntr; k++) {
		i = (f->vcursor + k) % f->ntr;
		if (f->tr[i].addr)
			continue;
		if (f->nasked == FRR_VERIFY_MAX) {
			/* A storm: the rest in the next calls, round robin. */
			f->vcursor = i;
			f->verify_due = true;
			break;
		}
		f->asked[f->nasked++] = f->tr[i].pfx;
	}
	argv = frr_build_verify_argv(f->set.vtysh, f->set.pathspace, f->set.vrf, f->asked,
	    f->nasked);
	if (argv == NULL) {
		frr_vfail(f, "out of memory");
		return;
	}
	if (frr_spawn(f, FRR_OP_VERIFY, argv) == -1)
		frr_vfail(f, "%s", f->last_err);
	frr_argv_free(argv);
}

/* Decides, per tracked prefix, whether its statement must be re-entered. */
static void
frr_verify_done(struct frr *f, const char *out, int status)
{
	struct frr_seen	 seen;
	struct frr_track *t;
	struct pfx	*all;
	char		 buf[PFX_STRLEN], d[32];
	bool		 settled, lost_any = false, repair = false;
	uint64_t	 now = now_us();

	/* The tracked set as it is now: a reload may have changed it meanwhile. */
	if ((all = calloc(f->ntr + 1, sizeof(*all))) == NULL) {
		frr_vfail(f, "out of memory reading bgpd's announcements");
		return;
	}
	for (size_t i = 0; i < f->ntr; i++)
		all[i] = f->tr[i].pfx;
	if (frr_verify_parse(out != NULL ? out : "", status == 0, f->asked, f->nasked,
	    all, f->ntr, &seen) == -1) {
		free(all);
		frr_vfail(f, "out of memory reading bgpd's announcements");
		return;
	}
	free(all);
	if (!seen.bgp_ok) {
		frr_seen_clear(&seen);
		f->verify_due = true;	/* again after the backoff */
		frr_vfail(f, "vtysh %s (exit %d): bgpd did not answer for every prefix",
		    op_name(FRR_OP_VERIFY), status);
		return;
	}
	if (f->vfailing)
		log_msg(LOG_LVL_INFO, NULL, "frr", "bgpd answers the verification again");
	f->vfailing = false;
	f->vbackoff_us = f->t.backoff_min_us;
	/* Before bgpd is back on zebra, re-entering cannot register anything. */
	settled = seen.zebra_ok && seen.bgp_client;
	for (size_t i = 0; i < f->ntr; i++) {
		bool stale = false, lost, asked = false;
		t = &f->tr[i];
		for (size_t j = 0; j < f->nasked; j++)
			if (pfx_equal(&f->asked[j], &t->pfx)) {
				asked = true;
				stale = seen.announced[j] && !t->addr;
			}
		t->gone = !t->addr && ((asked && !stale) || !t->stmt);
		lost = settled && !seen.registered[i];
		pfx_fmt(&t->pfx, buf, sizeof(buf));
		if (!t->stmt) {
			if (!t->warned && !t->leaving)
				log_warn("FRR has no 'network %s' in router bgp%s%s: the address "
				    "method cannot announce it (see frr-templates/"
				    "bgpd-address-method.conf)", buf, f->set.vrf ? " vrf " : "",
				    f->set.vrf ? f->set.vrf : "");
			t->warned = true;
			continue;
		}
		lost_any = lost_any || lost;
		if (!stale && !lost) {
			t->repaired = false;
			t->rbackoff_us = t->rnext_us = 0;
			continue;
		}
		if (t->options) {
			if (!t->warned)
				log_msg(LOG_LVL_ERROR, NULL, "frr", "bgpd %s %s, but its network "
				    "statement has options this daemon does not re-enter; "
				    "restart bgpd", stale ? "still announces" : "no longer "
				    "tracks the address of", buf);
			t->warned = true;
			continue;
		}
		if (stale)
			log_msg(LOG_LVL_ERROR, NULL, "frr", "bgpd still announces %s although "
			    "its address is gone (import-check not re-evaluated, e.g. after "
			    "a zebra restart)", buf);
		else
			log_msg(LOG_LVL_WARNING, NULL, "frr", "zebra does not track %s for "
			    "bgpd (zebra restarted): bgpd would not see its address go", buf);
		if (t->repaired) {
			/* Repaired and still stale: again, but never in a tight loop. */
			t->rbackoff_us = t->rbackoff_us == 0 ? f->t.backoff_min_us :
			    t->rbackoff_us * 2 > f->t.backoff_max_us ? f->t.backoff_max_us :
			    t->rbackoff_us * 2;
			t->rnext_us = now + t->rbackoff_us;
		}
		t->repair = true;
		repair = true;
	}
	frr_seen_clear(&seen);
	f->zebra_settled = settled && !lost_any;
	/* Removed by a reload and seen withdrawn: no longer ours to verify. */
	for (size_t i = 0; i < f->ntr; ) {
		if (f->tr[i].leaving && f->tr[i].gone && !f->tr[i].inflight &&
		    !f->tr[i].reenter) {
			memmove(&f->tr[i], &f->tr[i + 1], (f->ntr - i - 1) * sizeof(f->tr[0]));
			f->ntr--;
		} else
			i++;
	}
	f->vcursor = f->ntr > 0 ? f->vcursor % f->ntr : 0;
	if (f->zebra_since_us != 0) {
		if (settled && !lost_any) {
			log_msg(LOG_LVL_INFO, NULL, "frr", "zebra restart: bgpd is back on zebra "
			    "and the address-method prefixes are tracked again");
			f->zebra_since_us = 0;
		} else if (now - f->zebra_since_us >= f->t.zebra_wait_max_us) {
			log_msg(LOG_LVL_ERROR, NULL, "frr", "zebra restart: bgpd not back on "
			    "zebra after %s; verifying at the periodic check only",
			    cfg_duration_fmt(f->t.zebra_wait_max_us, d, sizeof(d)));
			f->zebra_since_us = 0;
		} else
			frr_verify_after(f, f->t.zebra_poll_us);
	}
	if (repair)
		/* The statement is re-entered as a fresh read shows it. */
		f->tr_read = true;
	if (f->cb != NULL)
		f->cb(f, f->cb_arg);
	frr_kick(f);
}

static int
frr_verify_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct frr	*f = arg;

	(void)src;
	(void)usec;
	f->verify_due = true;
	frr_kick(f);
	return 0;
}

/* Verifies in delay_us, or earlier if already planned so. */
static void
frr_verify_after(struct frr *f, uint64_t delay_us)
{
	uint64_t	at = now_us() + delay_us, old;
	int		en = SD_EVENT_OFF;

	if (f->verify == NULL || f->ntr == 0)
		return;
	sd_event_source_get_enabled(f->verify, &en);
	if (en != SD_EVENT_OFF && sd_event_source_get_time(f->verify, &old) >= 0 && old <= at)
		return;
	sd_event_source_set_time(f->verify, at);
	sd_event_source_set_enabled(f->verify, SD_EVENT_ONESHOT);
}

int
frr_track(struct frr *f, const struct pfx *p)
{
	struct frr_track	*tmp, *t;

	if ((t = track_find(f, p)) != NULL) {
		/* Still configured after the reload. */
		t->leaving = false;
		return 0;
	}
	if ((tmp = realloc(f->tr, (f->ntr + 1) * sizeof(*tmp))) == NULL)
		return -1;
	f->tr = tmp;
	memset(&f->tr[f->ntr], 0, sizeof(f->tr[0]));
	f->tr[f->ntr].pfx = *p;
	f->ntr++;
	if (f->started) {
		f->verify_due = true;
		frr_check(f);
	}
	return 0;
}

/*
 * A reload: what frr_track() does not declare again stays verified until
 * bgpd is seen not announcing it (an address removed while zebra does not
 * track it for bgpd would otherwise stay announced, unverified).
 */
void
frr_untrack_all(struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		f->tr[i].leaving = true;
}

/* Whether a stop may leave the address method alone: see frr_withdrawn(). */
bool
frr_zebra_settled(const struct frr *f)
{
	/*
	 * FRR never read, or bgpd not answering the verification: nothing to
	 * verify against, so waiting would not help (vtysh missing, no bgpd).
	 */
	return !f->known || f->vfailing || (f->zebra_settled && f->zebra_since_us == 0);
}

bool
frr_withdrawn(const struct frr *f)
{
	for (size_t i = 0; i < f->ntr; i++)
		if (!f->tr[i].addr && f->tr[i].stmt && !f->tr[i].gone)
			return false;
	return true;
}

void
frr_track_addr(struct frr *f, const struct pfx *p, bool present)
{
	struct frr_track	*t = track_find(f, p);

	if (t == NULL || t->addr == present)
		return;
	t->addr = present;
	t->gone = false;
	if (present)
		return;
	/*
	 * Between a zebra restart and bgpd being tracked again, bgpd cannot
	 * see the address go: re-enter the statement at once, as last read.
	 */
	if (f->zebra_since_us != 0 && f->known && t->stmt && !t->options) {
		t->repair = true;
		sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	}
	/* Otherwise a removal is where a stale announcement would show. */
	frr_verify_after(f, f->t.verify_delay_us);
}

/* Decides the next call; at most one is in flight. */
static void
frr_kick(struct frr *f)
{
	bool		diff = false;
	uint64_t	now = now_us(), next;

	if (!f->started || f->call.op != FRR_OP_NONE)
		return;
	/*
	 * The address method first, with its own backoff: a statement lost by
	 * a repair cut short, and a prefix announced for a dead service, must
	 * not wait behind the network method's retries or its changes.
	 */
	if (f->known && reenter_wanted(f)) {
		frr_start_repair(f);
		return;
	}
	if (f->known && !vretry_pending(f)) {
		bool ready = repair_ready(f, now, &next);
		if (f->tr_read && (ready || inflight_any(f))) {
			frr_start_read(f);
			return;
		}
		if (ready) {
			frr_start_repair(f);
			return;
		}
		if (next != UINT64_MAX)
			frr_verify_after(f, next - now);
		/* A prefix waiting for its repair backoff holds up no verification. */
		if (f->verify_due && f->ntr > 0) {
			frr_start_verify(f);
			return;
		}
	}
	if (retry_pending(f))
		return;
	if (f->need_read || !f->known) {
		frr_start_read(f);
		return;
	}
	for (size_t i = 0; i < f->n && !diff; i++)
		diff = entry_differs(&f->e[i]);
	if (diff) {
		if (f->asn == 0 && f->set.asn == 0) {
			frr_fail(f, "the AS number is unknown (frr.asn is null and FRR has "
			    "no router bgp)");
			return;
		}
		frr_start_apply(f);
	}
}

static int
frr_defer_cb(sd_event_source *src, void *arg)
{
	(void)src;
	frr_kick(arg);
	return 0;
}

static int
frr_retry_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	(void)src;
	(void)usec;
	frr_kick(arg);
	return 0;
}

static int
frr_vretry_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	(void)src;
	(void)usec;
	frr_kick(arg);
	return 0;
}

static int
frr_periodic_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct frr	*f = arg;

	sd_event_source_set_time(src, usec + f->t.check_interval_us);
	sd_event_source_set_enabled(src, SD_EVENT_ONESHOT);
	/* Catches a stale announcement whatever caused it, even while failing. */
	f->verify_due = f->ntr > 0;
	/* A read while failing would defeat the backoff; the retry reads anyway. */
	if (!retry_pending(f))
		frr_check(f);
	else
		sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
	return 0;
}

static int
frr_watch_cb(sd_event_source *src, const struct inotify_event *ev, void *arg)
{
	struct frr	*f = arg;

	(void)src;
	if (ev->len == 0 || !(ev->mask & (IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE)))
		return 0;
	if (strcmp(ev->name, "zebra.pid") == 0 || strcmp(ev->name, "zserv.api") == 0) {
		/*
		 * bgpd comes back to zebra by itself (within about 10 s) but does
		 * not register its network statements again: poll until it is back,
		 * then re-enter what zebra does not track.
		 */
		if (f->zebra_since_us == 0)
			log_msg(LOG_LVL_WARNING, NULL, "frr", "zebra (re)started (%s changed): "
			    "verifying what bgpd announces until it is back on zebra",
			    ev->name);
		f->zebra_since_us = now_us();
		/* A restart is no failure of the verification's: at once. */
		sd_event_source_set_enabled(f->vretry, SD_EVENT_OFF);
		f->vbackoff_us = f->t.backoff_min_us;
		frr_verify_after(f, 0);
		return 0;
	}
	if (strcmp(ev->name, "bgpd.pid") == 0 || strcmp(ev->name, "bgpd.vty") == 0) {
		log_msg(LOG_LVL_WARNING, NULL, "frr", "bgpd (re)started (%s changed): "
		    "re-reading FRR's running configuration", ev->name);
		/* A restart is no failure of ours: retry at once, with a fresh backoff. */
		sd_event_source_set_enabled(f->retry, SD_EVENT_OFF);
		sd_event_source_set_enabled(f->vretry, SD_EVENT_OFF);
		f->backoff_us = f->t.backoff_min_us;
		f->vbackoff_us = f->t.backoff_min_us;
		f->replay_since_us = 0;
		f->verify_due = f->ntr > 0;
		frr_check(f);
	}
	return 0;
}

static char *
dup_or_null(const char *s, bool *fail)
{
	char	*d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*fail = true;
	return d;
}

/* Copies cfg's FRR settings into f, replacing the old ones; 0, or -1 (ENOMEM, f unchanged). */
static int
frr_settings(struct frr *f, const struct cfg *cfg)
{
	bool	 fail = false;
	char	*vtysh = dup_or_null(cfg->frr.vtysh, &fail);
	char	*pathspace = dup_or_null(cfg->frr.pathspace, &fail);
	char	*vrf = dup_or_null(cfg->frr.vrf, &fail);

	if (fail || vtysh == NULL) {
		free(vtysh);
		free(pathspace);
		free(vrf);
		return -1;
	}
	free(f->set.vtysh);
	free(f->set.pathspace);
	free(f->set.vrf);
	f->set.vtysh = vtysh;
	f->set.pathspace = pathspace;
	f->set.vrf = vrf;
	f->set.asn = cfg->frr.asn;
	f->set.timeout_us = cfg->frr.timeout_us;
	return 0;
}

struct frr *
frr_new(sd_event *ev, const struct cfg *cfg, frr_update_cb cb, void *arg)
{
	struct frr	*f;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->ev = sd_event_ref(ev);
	if (frr_settings(f, cfg) == -1) {
		frr_free(f);
		return NULL;
	}
	f->cb = cb;
	f->cb_arg = arg;
	f->asn = cfg->frr.asn;
	f->call.fd = -1;
	f->t.backoff_min_us = 1000000;
	f->t.backoff_max_us = 30 * 1000000ULL;
	f->t.check_interval_us = 10 * 1000000ULL;
	f->t.replay_poll_us = 250000;
	f->t.replay_max_us = 10 * 1000000ULL;
	f->t.verify_delay_us = 150000;
	f->t.zebra_poll_us = 1000000;
	f->t.zebra_wait_max_us = 120 * 1000000ULL;
	f->backoff_us = f->t.backoff_min_us;
	f->vbackoff_us = f->t.backoff_min_us;
	if (sd_event_add_defer(ev, &f->defer, frr_defer_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->defer, SD_EVENT_OFF) < 0 ||
	    sd_event_add_time_relative(ev, &f->retry, CLOCK_MONOTONIC, 0, 1000,
	    frr_retry_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->retry, SD_EVENT_OFF) < 0 ||
	    sd_event_add_time_relative(ev, &f->verify, CLOCK_MONOTONIC, 0, 1000,
	    frr_verify_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->verify, SD_EVENT_OFF) < 0 ||
	    sd_event_add_time_relative(ev, &f->vretry, CLOCK_MONOTONIC, 0, 1000,
	    frr_vretry_cb, f) < 0 ||
	    sd_event_source_set_enabled(f->vretry, SD_EVENT_OFF) < 0) {
		frr_free(f);
		return NULL;
	}
	return f;
}

void
frr_set_timing(struct frr *f, const struct frr_timing *t)
{
	f->t = *t;
	f->backoff_us = t->backoff_min_us;
	f->vbackoff_us = t->backoff_min_us;
}

void
frr_free(struct frr *f)
{
	if (f == NULL)
		return;
	if (f->call.op != FRR_OP_NONE) {
		/* Shutting down with a call in flight: it must not outlive us. */
		f->call.child = sd_event_source_disable_unref(f->call.child);
		kill(-f->call.pid, SIGKILL);
		kill(f->call.pid, SIGKILL);
		waitpid(f->call.pid, NULL, 0);
		call_release(&f->call);
	}
	sd_event_source_disable_unref(f->defer);
	sd_event_source_disable_unref(f->retry);
	sd_event_source_disable_unref(f->periodic);
	sd_event_source_disable_unref(f->watch);
	sd_event_source_disable_unref(f->verify);
	sd_event_source_disable_unref(f->vretry);
	sd_event_unref(f->ev);
	free(f->tr);
	free(f->asked);
	free(f->set.vtysh);
	free(f->set.pathspace);
	free(f->set.vrf);
	free(f->e);
	free(f);
}

int
frr_manage(struct frr *f, const struct pfx *p)
{
	struct frr_entry	*e, *tmp;

	/* Moved from the address method: no longer verified as one. */
	for (size_t i = 0; i < f->ntr; i++)
		if (f->tr[i].leaving && pfx_equal(&f->tr[i].pfx, p)) {
			memmove(&f->tr[i], &f->tr[i + 1], (f->ntr - i - 1) * sizeof(f->tr[0]));
			f->ntr--;
			break;
		}
	if ((e = frr_find(f, p)) != NULL) {
		/* Managed again before its release completed: it stays, wanted absent. */
		e->released = false;
		e->want = false;
		e->want_rm[0] = '\0';
		return 0;
	}
	if ((tmp = realloc(f->e, (f->n + 1) * sizeof(*tmp))) == NULL)
		return -1;
	f->e = tmp;
	memset(&f->e[f->n], 0, sizeof(f->e[0]));
	f->e[f->n].pfx = *p;
	f->n++;
	/* Managed by a reload: what FRR holds for it is not known before a read. */
	if (f->started)
		frr_check(f);
	return 0;
}

void
frr_release(struct frr *f, const struct pfx *p, bool remove)
{
	struct frr_entry	*e;
	char			 buf[PFX_STRLEN];

	if ((e = frr_find(f, p)) == NULL)
		return;
	if (!remove) {
		/*
		 * The line is the operator's, but a route-map on it (degraded,
		 * GSHUT) is ours: taken off first, or it would stay for good.
		 */
		if ((e->have && e->have_rm[0] != '\0') ||
		    (e->sent && e->sent_want && e->sent_rm[0] != '\0')) {
			log_msg(LOG_LVL_INFO, NULL, "frr", "network %s: now method address; "
			    "taking its route-map off, the plain line stays",
			    pfx_fmt(p, buf, sizeof(buf)));
			e->released = true;
			e->want = true;
			e->want_rm[0] = '\0';
			sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
			return;
		}
		frr_drop(f, (size_t)(e - f->e));
		return;
	}
	e->released = true;
	e->want = false;
	e->want_rm[0] = '\0';
	/* A read decides: absent drops it, present sends `no network` first. */
	frr_check(f);
}

uint32_t
frr_asn(const struct frr *f)
{
	return f->asn;
}

int
frr_reconfigure(struct frr *f, const struct cfg *cfg)
{
	if (frr_settings(f, cfg) == -1)
		return -1;
	if (cfg->frr.asn != 0)
		f->asn = cfg->frr.asn;
	return 0;
}

void
frr_want(struct frr *f, const struct pfx *p, bool present, const char *route_map)
{
	struct frr_entry	*e;
	const char		*rm = present && route_map != NULL ? route_map : "";

	if ((e = frr_find(f, p)) == NULL || e->released)
		return;
	if (e->want == present && strcmp(e->want_rm, rm) == 0)
		return;
	e->want = present;
	snprintf(e->want_rm, sizeof(e->want_rm), "%s", rm);
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
}

void
frr_check(struct frr *f)
{
	f->need_read = true;
	sd_event_source_set_enabled(f->defer, SD_EVENT_ONESHOT);
}

int
frr_start(struct frr *f)
{
	char	dir[512];
	int	r;

	if (f->set.pathspace != NULL)
		snprintf(dir, sizeof(dir), "%s/%s", FRR_RUNDIR, f->set.pathspace);
	else
		snprintf(dir, sizeof(dir), "%s", FRR_RUNDIR);
	r = sd_event_add_inotify(f->ev, &f->watch, dir, IN_CREATE | IN_MOVED_TO |
	    IN_CLOSE_WRITE | IN_ONLYDIR, frr_watch_cb, f);
	if (r < 0)
		log_warn("cannot watch %s for bgpd and zebra restarts (%s); relying on "
		    "the periodic check", dir, strerror(-r));
	if ((r = sd_event_add_time_relative(f->ev, &f->periodic, CLOCK_MONOTONIC,
	    f->t.check_interval_us, 100000, frr_periodic_cb, f)) < 0)
		return r;
	f->started = true;
	f->verify_due = f->ntr > 0;
	frr_check(f);
	return 0;
}

bool
frr_holds(const struct frr *f, const struct pfx *p)
{
	const struct frr_entry	*e = frr_find(f, p);

	return e != NULL && e->have;
}

const char *
frr_held_route_map(const struct frr *f, const struct pfx *p)
{
	const struct frr_entry	*e = frr_find(f, p);

	return e != NULL && e->have ? e->have_rm : NULL;
}

bool
frr_known(const struct frr *f)
{
	return f->known;
}

bool
frr_synced(const struct frr *f)
{
	if (!f->known || f->need_read || f->call.op != FRR_OP_NONE)
		return false;
	for (size_t i = 0; i < f->n; i++)
		if (entry_differs(&f->e[i]))
			return false;
	return true;
}

bool
frr_failing(const struct frr *f)
{
	return f->failing;
}

bool
frr_verify_failing(const struct frr *f)
{
	return f->vfailing;
}

const struct frr_stats *
frr_stats(const struct frr *f)
{
	return &f->stats;
}

/* ---- templates ---- */

static bool
render_sub(char *dst, size_t len, const char *line, const char *ph, const char *val)
{
	const char	*at;
	size_t		 off = 0;

	dst[0] = '\0';
	while ((at = strstr(line, ph)) != NULL) {
		off += (size_t)snprintf(dst + off, off < len ? len - off : 0, "%.*s%s",
		    (int)(at - line), line, val);
		line = at + strlen(ph);
	}
	off += (size_t)snprintf(dst + off, off < len ? len - off : 0, "%s", line);
	return off < len;
}

/* Substitutes the plain placeholders; false if one has no value. */
static bool
render_plain(char *buf, size_t len, const char *line, const struct frr_render *v)
{
	const struct { const char *ph, *val; } subs[] = {
		{ "{{ASN}}", v->asn }, { "{{ROUTER_ID}}", v->router_id },
		{ "{{NEIGHBOR_ASN}}", v->neighbor_asn }, { "{{NEIGHBOR}}", v->neighbor },
		{ "{{BFD_INTERVAL}}", v->bfd_interval },
		{ "{{BFD}}", v->bfd_interval != NULL ? "" : NULL },
	};
	char	tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", line);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strstr(tmp, subs[i].ph) == NULL)
			continue;
		if (subs[i].val == NULL)
			return false;
		if (!render_sub(buf, len, tmp, subs[i].ph, subs[i].val))
			return false;
		snprintf(tmp, sizeof(tmp), "%s", buf);
	}
	snprintf(buf, len, "%s", tmp);
	return true;
}

int
frr_render(FILE *in, FILE *out, const struct frr_render *v)
{
	static const struct { const char *ph; int fam; bool addr; } rep[] = {
		{ "{{ADDRESS_PREFIX_V4}}", AF_INET, true },
		{ "{{ADDRESS_PREFIX_V6}}", AF_INET6, true },
		{ "{{PREFIX_V4}}", AF_INET, false },
		{ "{{PREFIX_V6}}", AF_INET6, false },
	};
	char	 line[1024], plain[1024], buf[1024], pb[PFX_STRLEN];
	char	*s;
	size_t	 k;

	while (fgets(line, sizeof(line), in) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (s[0] == '!' && s[1] != '\0')
			continue;
		if (!render_plain(plain, sizeof(plain), line, v))
			continue;
		for (k = 0; k < sizeof(rep) / sizeof(rep[0]); k++)
			if (strstr(plain, rep[k].ph) != NULL)
				break;
		if (k == sizeof(rep) / sizeof(rep[0])) {
			fprintf(out, "%s\n", plain);
			continue;
		}
		const struct pfx *ps = rep[k].addr ? v->addr_prefixes : v->prefixes;
		size_t n = rep[k].addr ? v->naddr_prefixes : v->nprefixes;
		for (size_t i = 0; i < n; i++) {
			if (ps[i].family != rep[k].fam)
				continue;
			if (render_sub(buf, sizeof(buf), plain, rep[k].ph,
			    pfx_fmt(&ps[i], pb, sizeof(pb))))
				fprintf(out, "%s\n", buf);
		}
	}
	if (ferror(in) || ferror(out) || fflush(out) == EOF)
		return -1;
	return 0;
}
