/*
 * exec probe: runs any Nagios plugin. The command is an argv list, run
 * without a shell, in its own process group, with stdin and stderr on
 * /dev/null, a clean environment and no descriptor of the daemon's, as
 * "user" (default anycast-healthd-probe, which the packages create) with
 * no capability at all, no_new_privs and only that user's groups (see
 * priv.h): a plugin can never change routing. Its exit status is the
 * result (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, anything else UNKNOWN);
 * the first line of its output is the message, and what follows '|' on that
 * line is kept as performance data.
 *
 * Nothing blocks the loop: the child's exit is watched through a pidfd,
 * stdout through a non-blocking pipe. On timeout the whole process group
 * gets SIGKILL and the child is reaped whenever it is gone.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "cfg.h"
#include "exec.h"
#include "log.h"
#include "nofile.h"
#include "plugin.h"
#include "priv.h"
#include "probe.h"

/* Output kept (long perfdata included); the rest is read and dropped. */
#define EXEC_OUT_MAX	16384
#define EXEC_GROUPS_MAX	256
#define EXEC_USER	"anycast-healthd-probe"
/* exec_kill_now(): how many milliseconds a killed child may take to go. */
#define EXEC_REAP_TRIES	20

struct exec_params {
	char		**argv;		/* argv[0] as configured: for messages */
	char		 *prog;		/* argv[0] resolved and checked: what runs */
	char		 *user;
	uid_t		  uid;
	gid_t		  gid;
	gid_t		  groups[EXEC_GROUPS_MAX];
	int		  ngroups;
};

struct exec_run {
	struct probe	*p;		/* NULL once aborted: only reaping is left */
	pid_t		 pid;
	int		 pidfd;
	int		 out;		/* read end of the child's stdout */
	int		 err;		/* read end of the exec error pipe */
	sd_event_source	*exit_src;
	sd_event_source	*out_src;
	char		 buf[EXEC_OUT_MAX + 1];
	size_t		 got;
	bool		 overflow;	/* more than EXEC_OUT_MAX: some was dropped */
};

/* What the child reports through the error pipe when it cannot exec. */
enum exec_stage { STAGE_FDS, STAGE_USER, STAGE_EXEC };
struct exec_failure {
	int	stage;
	int	priv;		/* enum priv_stage, for STAGE_USER */
	int	err;
};

/*
 * Groups that carry routing power (FRR's vty, the control socket's
 * mutating commands): a plugin's user must not be in them.
 */
static const char *const exec_forbidden_groups[] = { "frrvty", "anycast-healthd-admin", NULL };

static const char *const exec_keys[] = { "command", "user", NULL };

static int	exec_guard = -1;

void
exec_set_guard(int fd)
{
	exec_guard = fd;
}

/* "+PGID\n" or "-PGID\n", formatted by hand: the child may not call snprintf(). */
static size_t
exec_guard_msg(char *buf, char sign, pid_t pgid)
{
	char		digits[24];
	size_t		n = 0, len = 0;
	unsigned long	v = (unsigned long)pgid;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	buf[len++] = sign;
	while (n > 0)
		buf[len++] = digits[--n];
	buf[len++] = '\n';
	return len;
}

/* The child has been reaped: its group ID may be reused from now on. */
static void
exec_untrack(pid_t pid)
{
	char	msg[32];
	size_t	len;

	if (exec_guard == -1)
		return;
	len = exec_guard_msg(msg, '-', pid);
	if (write(exec_guard, msg, len) == -1 && errno == EPIPE)
		exec_guard = -1;
}

/* The plugin's whole environment. */
static char *const exec_env[] = {
	"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
	"LANG=C",
	NULL
};

static void
exec_free_params(void *arg)
{
	struct exec_params	*ep = arg;

	if (ep == NULL)
		return;
	cfg_strv_free(ep->argv);
	free(ep->prog);
	free(ep->user);
	free(ep);
}

/* The daemon's own user of the packages: never a plugin's. */
#define EXEC_DAEMON_USER	"anycast-healthd"

/* Whether gid is one of the groups a plugin must not have. */
static const char *
exec_forbidden_gid(gid_t gid)
{
	static char	why[128];
	struct group	gr;
	char		*buf;
	gid_t		mine[EXEC_GROUPS_MAX];
	int		n, r;

	if (gid == 0)
		return "root";
	for (size_t i = 0; exec_forbidden_groups[i] != NULL; i++) {
		r = priv_getgrnam(exec_forbidden_groups[i], &gr, &buf);
		if (r == -1) {
			/* Fail closed: an unknown answer is not "not that group". */
			snprintf(why, sizeof(why), "cannot look up group %s: %s",
			    exec_forbidden_groups[i], strerror(errno));
			return why;
		}
		n = r == 1 && gr.gr_gid == gid;
		free(buf);
		if (n)
			return exec_forbidden_groups[i];
	}
	/* The daemon's own groups (a non-root daemon's: frrvty, its primary group). */
	if (geteuid() != 0) {
		if (gid == getegid())
			return "the daemon's group";
		n = getgroups(EXEC_GROUPS_MAX, mine);
		if (n == -1)
			return "the daemon's groups cannot be read";
		for (int i = 0; i < n; i++)
			if (mine[i] == gid)
				return "one of the daemon's groups";
	}
	return NULL;
}

/*
 * Resolves "user" now (after fork() only async-signal-safe calls are
 * allowed) and refuses one that would hand a plugin routing power: root,
 * the daemon's user, a member of frrvty or of the admin group.
 */
static int
exec_resolve_user(struct cfg_ctx *ctx, struct exec_params *ep)
{
	struct passwd	 pw, dpw;
	char		*pwbuf = NULL, *dbuf = NULL, why[256];
	const char	*bad;
	int		 r, dr;

	if ((r = priv_getpwnam(ep->user, &pw, &pwbuf)) != 1) {
		if (r == -1)
			cfg_error(ctx, "user", "cannot look up user '%s': %s", ep->user,
			    strerror(errno));
		else if (strcmp(ep->user, EXEC_USER) == 0)
			cfg_error(ctx, "user", "no such user '%s' (the default user of exec "
			    "plugins, created by the packages; create it with "
			    "'useradd --system --no-create-home --shell /usr/sbin/nologin %s' "
			    "or name another unprivileged user in \"user\")",
			    ep->user, ep->user);
		else
			cfg_error(ctx, "user", "no such user '%s'", ep->user);
		return -1;
	}
	ep->uid = pw.pw_uid;
	ep->gid = pw.pw_gid;
	free(pwbuf);
	if ((dr = priv_getpwnam(EXEC_DAEMON_USER, &dpw, &dbuf)) == -1) {
		cfg_error(ctx, "user", "cannot look up user '%s': %s", EXEC_DAEMON_USER,
		    strerror(errno));
		return -1;
	}
	if (dr == 1 && dpw.pw_uid != ep->uid)
		dr = 0;
	free(dbuf);
	if (ep->uid == 0 || (geteuid() != 0 && ep->uid == geteuid()) || dr == 1) {
		cfg_error(ctx, "user", "'%s' (uid %u) is %s: a plugin must run as an "
		    "unprivileged user of its own", ep->user, (unsigned)ep->uid,
		    ep->uid == 0 ? "root" : "the daemon's user");
		return -1;
	}
	ep->ngroups = EXEC_GROUPS_MAX;
	if (getgrouplist(ep->user, ep->gid, ep->groups, &ep->ngroups) == -1) {
		cfg_error(ctx, "user", "'%s' is in more than %d groups", ep->user,
		    EXEC_GROUPS_MAX);
		return -1;
	}
	for (int i = 0; i < ep->ngroups; i++)
		if ((bad = exec_forbidden_gid(ep->groups[i])) != NULL) {
			cfg_error(ctx, "user", "'%s' is in group %u (%s): a plugin must not "
			    "have the daemon's routing power", ep->user,
			    (unsigned)ep->groups[i], bad);
			return -1;
		}
	/* The daemon must be able to honour "user", never run the plugin as itself. */
	if (priv_enforced() && !priv_can_switch(why, sizeof(why))) {
		cfg_error(ctx, "user", "cannot run plugins as '%s': %s", ep->user, why);
		return -1;
	}
	return 0;
}

static int
exec_parse(struct cfg_ctx *ctx, struct json_object *obj, void **params)
{
	struct exec_params	*ep;
	char			 why[PATH_MAX + 128], prog[PATH_MAX];
	size_t			 argc = 0;
	int			 ok = 0, r;

	if ((ep = calloc(1, sizeof(*ep))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	r = cfg_get_strings(ctx, obj, "command", true, &ep->argv, &argc);
	if (r != 1)
		ok = -1;
	else if (argc == 0) {
		cfg_error(ctx, "command", "must name the program to run");
		ok = -1;
	} else if (ep->argv[0][0] != '/') {
		/* No shell and no PATH search: what runs is exactly what is named. */
		cfg_error(ctx, "command[0]", "'%s' is not an absolute path", ep->argv[0]);
		ok = -1;
	} else if (cfg_path_trusted(ep->argv[0], prog, sizeof(prog), why,
	    sizeof(why)) == -1) {
		/* Whoever can replace the program runs code in every attempt. */
		cfg_error(ctx, "command[0]", "refusing %s: %s", ep->argv[0], why);
		ok = -1;
	} else if ((ep->prog = strdup(prog)) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		ok = -1;
	}
	if (cfg_get_string(ctx, obj, "user", false, &ep->user) == -1)
		ok = -1;
	else if (ep->user == NULL && (ep->user = strdup(EXEC_USER)) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		ok = -1;
	} else if (exec_resolve_user(ctx, ep) == -1)
		ok = -1;
	if (ok == -1) {
		exec_free_params(ep);
		return -1;
	}
	*params = ep;
	return 0;
}

static void
exec_fail(int fd, enum exec_stage stage, int priv)
{
	struct exec_failure	f = { .stage = (int)stage, .priv = priv, .err = errno };

	(void)!write(fd, &f, sizeof(f));
	_exit(127);
}

/*
 * In the child, between fork() and exec: async-signal-safe calls only
 * (no malloc, no stdio, no logging).
 */
static void __attribute__((__noreturn__))
exec_child(const struct exec_params *ep, int devnull, int out, int err)
{
	struct sigaction	sa;
	sigset_t		none;
	enum priv_stage		stage;
	char			msg[32];

	setpgid(0, 0);
	/*
	 * Announced from here, not by the parent after fork(): the parent
	 * may be killed in between. Before the descriptors are closed and
	 * the privileges dropped; a guardian that is gone changes nothing.
	 */
	if (exec_guard != -1)
		(void)!write(exec_guard, msg, exec_guard_msg(msg, '+', getpid()));
	/* Signal dispositions and the mask are inherited: the daemon ignores SIGPIPE and blocks others. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(devnull, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    dup2(devnull, STDERR_FILENO) == -1)
		exec_fail(err, STAGE_FDS, 0);
	/* Not even a close-on-exec one survives (libcurl's sockets are not). */
	if (priv_close_fds(err) == -1)
		exec_fail(err, STAGE_FDS, 0);
	if (chdir("/") == -1)
		exec_fail(err, STAGE_FDS, 0);
	nofile_child();
	if (priv_drop_child(ep->uid, ep->gid, ep->groups, (size_t)ep->ngroups, &stage) == -1)
		exec_fail(err, STAGE_USER, (int)stage);
	execve(ep->prog, ep->argv, exec_env);
	exec_fail(err, STAGE_EXEC, 0);
	_exit(127);
}

static void
exec_close_out(struct exec_run *run)
{
	run->out_src = sd_event_source_disable_unref(run->out_src);
	if (run->out != -1)
		close(run->out);
	run->out = -1;
}

static void
exec_run_free(struct exec_run *run)
{
	exec_close_out(run);
	run->exit_src = sd_event_source_disable_unref(run->exit_src);
	if (run->err != -1)
		close(run->err);
	if (run->pidfd != -1)
		close(run->pidfd);
	free(run);
}

/* Reads what the child has written; past EXEC_OUT_MAX it is dropped. */
static void
exec_read(struct exec_run *run)
{
	char	drop[4096];
	ssize_t	n;

	while (run->out != -1) {
		if (run->got < EXEC_OUT_MAX)
			n = read(run->out, run->buf + run->got, EXEC_OUT_MAX - run->got);
		else
			n = read(run->out, drop, sizeof(drop));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			exec_close_out(run);
			return;
		}
		if (run->got < EXEC_OUT_MAX)
			run->got += (size_t)n;
		else
			run->overflow = true;
	}
}

static int
exec_out_cb(sd_event_source *s UNUSED, int fd UNUSED, uint32_t revents UNUSED, void *arg)
{
	exec_read(arg);
	return 0;
}

/*
 * Splits the first output line into a printable message and perfdata;
 * both are trimmed. A line cut at EXEC_OUT_MAX loses its last perfdata
 * item, which may be cut too ("22.123456B" must not become "2").
 */
static void
exec_first_line(struct exec_run *run, const char **text, const char **perf)
{
	char	*line = run->buf, *bar, *e;
	bool	 cut;

	run->buf[run->got] = '\0';
	/* Exactly EXEC_OUT_MAX bytes and then EOF is whole. */
	cut = strchr(line, '\n') == NULL && run->overflow;
	line[strcspn(line, "\n")] = '\0';
	for (e = line; *e != '\0'; e++)
		if ((unsigned char)*e < 0x20 || (unsigned char)*e == 0x7f)
			*e = ' ';
	*perf = "";
	if ((bar = strchr(line, '|')) != NULL) {
		*bar = '\0';
		*perf = bar + 1;
		if (cut && (e = strrchr(bar + 1, ' ')) != NULL)
			*e = '\0';
		else if (cut)
			bar[1] = '\0';
		while (isspace((unsigned char)**perf))
			(*perf)++;
		for (e = bar + 1 + strlen(bar + 1); e > *perf && isspace((unsigned char)e[-1]); e--)
			e[-1] = '\0';
	}
	while (isspace((unsigned char)*line))
		line++;
	for (e = line + strlen(line); e > line && isspace((unsigned char)e[-1]); e--)
		e[-1] = '\0';
	*text = line;
}

static void
exec_cleanup(struct probe *p)
{
	if (p->run == NULL)
		return;
	exec_run_free(p->run);
	p->run = NULL;
}

/*
 * After an abort the group has been sent SIGKILL and the run is detached
 * from its probe; this reaps the child once it is gone. The source floats
 * (the loop owns it), so it is freed with the loop if that ends first.
 */
static void
exec_reap(sd_event_source *s, struct exec_run *run)
{
	siginfo_t	si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)run->pidfd, &si, WEXITED | WNOHANG) == 0 &&
	    si.si_pid == 0)
		return;
	exec_untrack(run->pid);
	sd_event_source_set_enabled(s, SD_EVENT_OFF);
	/* Drops the loop's reference: the source goes, and its destroy callback frees run. */
	sd_event_source_set_floating(s, false);
}

static void
exec_reap_destroy(void *arg)
{
	struct exec_run	*run = arg;
	siginfo_t	 si;

	/* The loop is being freed first: reap the child if it is gone by now. */
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)run->pidfd, &si, WEXITED | WNOHANG) == 0 &&
	    si.si_pid != 0)
		exec_untrack(run->pid);
	run->exit_src = NULL;
	exec_run_free(run);
}

/* Copies the first output line out of run, which is about to be freed. */
static void
exec_output(struct exec_run *run, char *msg, size_t msglen, char *perf, size_t perflen)
{
	const char	*t, *pd;

	exec_read(run);
	exec_first_line(run, &t, &pd);
	/* Between characters: probe_done() keeps only valid UTF-8. */
	plugin_clean(msg, msglen, t, strlen(t), PLUGIN_ELLIPSIS);
	snprintf(perf, perflen, "%s", pd);
}

/* The child has exited (pidfd readable): reap it, then report. */
static int
exec_exit_cb(sd_event_source *s, int fd UNUSED, uint32_t revents UNUSED, void *arg)
{
	static const enum probe_result	 results[] = {
		PROBE_OK, PROBE_EXEC_WARNING, PROBE_EXEC_CRITICAL, PROBE_EXEC_UNKNOWN
	};
	struct exec_run			*run = arg;
	struct probe			*p = run->p;
	const struct exec_params	*ep;
	struct exec_failure		 f;
	siginfo_t			 si;
	char				 msg[sizeof(p->msg)], perf[EXEC_OUT_MAX + 1];
	const char			*sep;
	int				 code, e;
	bool				 failed;

	if (p == NULL) {
		exec_reap(s, run);
		return 0;
	}
	ep = p->cfg->params;
	/* Leftovers in its group go too; the zombie keeps the group ID from being reused. */
	priv_kill_group(run->pid);
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)run->pidfd, &si, WEXITED | WNOHANG) == -1 ||
	    si.si_pid == 0) {
		e = si.si_pid == 0 ? EAGAIN : errno;
		exec_cleanup(p);
		probe_done(p, PROBE_INTERNAL, 0, NULL,
		    "cannot collect the exit status of %s: %s", ep->argv[0], strerror(e));
		return 0;
	}
	exec_untrack(run->pid);
	exec_output(run, msg, sizeof(msg), perf, sizeof(perf));
	code = si.si_status;
	failed = si.si_code == CLD_EXITED && code == 127 &&
	    read(run->err, &f, sizeof(f)) == (ssize_t)sizeof(f);
	exec_cleanup(p);
	sep = msg[0] != '\0' ? ": " : "";
	if (failed && f.stage == STAGE_USER)
		probe_done(p, PROBE_EXEC_FAILED, 0, NULL,
		    "cannot run %s as user '%s' (uid %u): "
		    "cannot %s: %s%s", ep->argv[0], ep->user, (unsigned)ep->uid,
		    priv_stage_str((enum priv_stage)f.priv), strerror(f.err),
		    f.err == EPERM && geteuid() != 0 ? " (not root, and no CAP_SETUID, "
		    "CAP_SETGID and CAP_SETPCAP)" : "");
	else if (failed)
		probe_done(p, PROBE_EXEC_FAILED, 0, NULL, "cannot %s %s: %s",
		    f.stage == STAGE_EXEC ? "execute" : "set up", ep->argv[0], strerror(f.err));
	else if (si.si_code != CLD_EXITED)
		probe_done(p, PROBE_EXEC_SIGNALED, 0, perf, "%s killed by signal %d "
		    "(%s)%s%s", ep->argv[0], code, strsignal(code), sep, msg);
	else if (code > 3)
		probe_done(p, PROBE_EXEC_BAD_EXIT, 0, perf, "%s exited %d (not a "
		    "Nagios state)%s%s", ep->argv[0], code, sep, msg);
	else if (msg[0] == '\0')
		probe_done(p, results[code], 0, perf, "%s exited %d without output",
		    ep->argv[0], code);
	else
		probe_done(p, results[code], 0, perf, "%s", msg);
	return 0;
}

/*
 * Kills a child that cannot be watched (a just-forked one dies at once)
 * and reaps it if it is gone within a few milliseconds: never a blocking
 * wait, a child in an uninterruptible sleep must not freeze the loop. One
 * that is not gone stays a zombie, still tracked (its group ID is not
 * reused), until the daemon exits.
 */
static void
exec_kill_now(struct exec_run *run)
{
	if (priv_kill_group(run->pid) == -1 && errno != ESRCH)
		log_warn("cannot kill plugin process group %d: %s", (int)run->pid,
		    strerror(errno));
	for (int i = 0; i < EXEC_REAP_TRIES; i++) {
		if (waitpid(run->pid, NULL, WNOHANG) == run->pid) {
			exec_untrack(run->pid);
			return;
		}
		usleep(1000);
	}
	log_warn("plugin process %d did not exit after SIGKILL: left unreaped",
	    (int)run->pid);
}

/* Timeout or shutdown: the plugin and everything it started are killed. */
static void
exec_abort(struct probe *p)
{
	struct exec_run	*run = p->run;

	if (run == NULL)
		return;
	p->run = NULL;
	run->p = NULL;
	if (priv_kill_group(run->pid) == -1 && errno != ESRCH)
		log_warn("cannot kill plugin process group %d: %s", (int)run->pid,
		    strerror(errno));
	exec_close_out(run);
	if (run->exit_src == NULL ||
	    sd_event_source_set_destroy_callback(run->exit_src, exec_reap_destroy) < 0 ||
	    sd_event_source_set_floating(run->exit_src, true) < 0) {
		exec_kill_now(run);
		exec_run_free(run);
		return;
	}
	/* The loop holds it now; exec_reap() lets go of it. */
	sd_event_source_unref(run->exit_src);
	run->exit_src = NULL;
}

static void
exec_start(struct probe *p)
{
	const struct exec_params	*ep = p->cfg->params;
	struct exec_run			*run;
	int				 outp[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int				 devnull = -1, r;
	const char			*what;

	if ((run = calloc(1, sizeof(*run))) == NULL) {
		probe_done(p, PROBE_INTERNAL, 0, NULL, "out of memory");
		return;
	}
	run->pidfd = run->out = run->err = -1;
	run->p = p;
	what = "pipe";
	if (pipe2(outp, O_CLOEXEC) == -1 || pipe2(errp, O_CLOEXEC) == -1)
		goto fail;
	/* Only our ends are non-blocking: the plugin writes to an ordinary pipe. */
	what = "fcntl";
	if (fcntl(outp[0], F_SETFL, O_NONBLOCK) == -1 ||
	    fcntl(errp[0], F_SETFL, O_NONBLOCK) == -1)
		goto fail;
	what = "/dev/null";
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		goto fail;
	what = "fork";
	if ((run->pid = fork()) == -1)
		goto fail;
	if (run->pid == 0)
		exec_child(ep, devnull, outp[1], errp[1]);

	/* Also here: a kill at timeout must reach the group even if the child has not run yet. */
	setpgid(run->pid, run->pid);
	close(outp[1]);
	close(errp[1]);
	close(devnull);
	run->out = outp[0];
	run->err = errp[0];
	p->run = run;
	if ((run->pidfd = pidfd_open(run->pid, 0)) == -1) {
		r = errno;
		exec_kill_now(run);
		exec_cleanup(p);
		probe_done(p, PROBE_INTERNAL, 0, NULL, "pidfd_open: %s", strerror(r));
		return;
	}
	if ((r = sd_event_add_io(p->ev, &run->exit_src, run->pidfd, EPOLLIN,
	    exec_exit_cb, run)) < 0 ||
	    (r = sd_event_add_io(p->ev, &run->out_src, run->out, EPOLLIN,
	    exec_out_cb, run)) < 0) {
		exec_abort(p);
		probe_done(p, PROBE_INTERNAL, 0, NULL, "cannot watch the plugin: %s",
		    strerror(-r));
	}
	return;
fail:
	r = errno;
	for (int i = 0; i < 2; i++) {
		if (outp[i] != -1)
			close(outp[i]);
		if (errp[i] != -1)
			close(errp[i]);
	}
	if (devnull != -1)
		close(devnull);
	free(run);
	probe_done(p, PROBE_INTERNAL, 0, NULL, "cannot start %s: %s: %s", ep->argv[0], what,
	    strerror(r));
}

const struct probe_type probe_type_exec = {
	.cfg = {
		.name = "exec",
		.keys = exec_keys,
		.parse = exec_parse,
		.free_params = exec_free_params,
	},
	.start = exec_start,
	.abort = exec_abort,
};
