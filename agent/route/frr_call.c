/*
 * The one vtysh child of the FRR driver: spawned with an argv (never a
 * shell) in its own process group, its output collected through a pipe on
 * the event loop, killed at its deadline; frr_call_done() (frr.c) gets the
 * result.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "frr.h"
#include "frr_int.h"
#include "nofile.h"
#include "clock.h"

extern char **environ;

/* ---- one vtysh call at a time ---- */

void
frr_call_release(struct frr_call *c)
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
	frr_argv_free(c->argv);
	c->argv = NULL;
	c->vty = c->enabling = false;
	c->daemon = NULL;
	c->cmd = c->start = 0;
}

enum frr_drain
frr_drain(struct frr_call *c, int *err)
{
	char	*tmp, one;
	size_t	 cap;
	ssize_t	 r;
	bool	 full;

	*err = 0;
	for (;;) {
		if (c->cap - c->len < 4096 && c->cap < FRR_OUT_MAX) {
			/* c->cap only once allocated: a later call must not read past it. */
			cap = c->cap ? c->cap * 2 : 16384;
			if ((tmp = realloc(c->out, cap)) == NULL) {
				*err = ENOMEM;
				return FRR_DRAIN_ERROR;
			}
			c->out = tmp;
			c->cap = cap;
			/* A string from the first allocation on, even if nothing comes. */
			c->out[c->len] = '\0';
		}
		/*
		 * No room left but the NUL's: one byte more says the answer is
		 * larger than the cap; an answer that fits it exactly still ends
		 * (EOF, or the caller's framing after FRR_DRAIN_MORE).
		 */
		full = c->cap - c->len <= 1;
		if (full)
			r = read(c->fd, &one, 1);
		else
			r = read(c->fd, c->out + c->len, c->cap - c->len - 1);
		if (r > 0 && full)
			return FRR_DRAIN_FULL;
		if (r > 0) {
			c->len += (size_t)r;
			c->out[c->len] = '\0';
			continue;
		}
		if (r == 0)
			return FRR_DRAIN_EOF;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return FRR_DRAIN_MORE;
		*err = errno;
		return FRR_DRAIN_ERROR;
	}
}

/*
 * vtysh's output, without blocking; 1 at its end, 0 otherwise. Over the
 * cap is enough (the rest is not ours to parse), and so is a read error:
 * the exit status decides.
 */
static int
call_drain(struct frr_call *c)
{
	int	err;

	return frr_drain(c, &err) == FRR_DRAIN_MORE ? 0 : 1;
}

const char *
frr_op_name(enum frr_op op)
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

/*
 * A read-only call goes to the daemons' vty sockets when it can, vtysh
 * otherwise (and whenever the sockets fail: frr_vty.c falls back).
 */
int
frr_spawn(struct frr *f, enum frr_op op, char **argv)
{
	if ((op == FRR_OP_READ || op == FRR_OP_VERIFY) && frr_vty_start(f, op, argv) == 0)
		return 0;
	return frr_spawn_vtysh(f, op, argv);
}

int
frr_spawn_vtysh(struct frr *f, enum frr_op op, char **argv)
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
		frr_call_release(c);
		snprintf(f->last_err, sizeof(f->last_err), "event loop: %s", strerror(-r));
		return -1;
	}
	return 0;
}

/* The last lines of vtysh's output, on one line, for the log. */
const char *
frr_out_tail(const struct frr_call *c, char *buf, size_t len)
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
