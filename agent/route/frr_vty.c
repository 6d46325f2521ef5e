/*
 * Read-only FRR calls through the daemons' own vty sockets (bgpd.vty,
 * zebra.vty), the way vtysh talks to them, without vtysh: each vtysh run
 * costs ~25 ms of CPU building its command tree, the socket a few hundred
 * microseconds. The protocol (FRR lib/vty.c, VTY_SHELL_SERV): the client
 * writes one command line and a NUL byte; the daemon answers with the
 * output, three NUL bytes and one status byte (0: CMD_SUCCESS).
 *
 * Configuration changes always go through vtysh (frr_call.c), and so does
 * any read the sockets cannot answer: a socket missing or refused, EACCES,
 * a timeout, bad framing, a status other than 0. The read is then made
 * again by vtysh, so a broken socket is never worse than no socket.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "clock.h"
#include "frr.h"
#include "frr_int.h"
#include "log.h"

static int	vty_next(struct frr *f);

/* The daemon that answers a read-only command by itself; NULL: vtysh only. */
const char *
frr_vty_daemon(const char *cmd)
{
	static const struct {
		const char	*prefix, *daemon;
	} map[] = {
		/* bgpd's part of the configuration is all the parser reads. */
		{ "show running-config", "bgpd" },
		{ "show bgp ", "bgpd" },
		{ "show zebra client summary", "zebra" },
		{ "show ip nht", "zebra" },
		{ "show ipv6 nht", "zebra" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strncmp(cmd, map[i].prefix, strlen(map[i].prefix)) == 0)
			return map[i].daemon;
	return NULL;
}

void
frr_set_vty_dir(struct frr *f, const char *dir)
{
	snprintf(f->vty_dir, sizeof(f->vty_dir), "%s", dir != NULL ? dir : "");
}

/* The -c word of argv answered as command i, or NULL past the last one. */
static const char *
vty_cmd(char **argv, size_t i)
{
	size_t	k = 1, n = 0;

	while (argv[k] != NULL) {
		if (strcmp(argv[k], "-N") == 0 && argv[k + 1] != NULL) {
			k += 2;
			continue;
		}
		if (strcmp(argv[k], "-c") != 0 || argv[k + 1] == NULL)
			return NULL;
		if (n++ == i)
			return argv[k + 1];
		k += 2;
	}
	return NULL;
}

/* Whether every word of argv is a command the sockets can answer. */
static bool
vty_eligible(char **argv)
{
	size_t	k = 1, n = 0;

	while (argv[k] != NULL) {
		if (strcmp(argv[k], "-N") == 0 && argv[k + 1] != NULL)
			k += 2;
		else if (strcmp(argv[k], "-c") == 0 && argv[k + 1] != NULL &&
		    frr_vty_daemon(argv[k + 1]) != NULL) {
			k += 2;
			n++;
		} else
			return false;
	}
	return n > 0;
}

static char **
argv_dup(char **argv)
{
	size_t	  n = 0;
	char	**d;

	while (argv[n] != NULL)
		n++;
	if ((d = calloc(n + 1, sizeof(*d))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if ((d[i] = strdup(argv[i])) == NULL) {
			frr_argv_free(d);
			return NULL;
		}
	return d;
}

/* Said once per change between the sockets answering and not. */
static void
vty_say(struct frr *f, int state, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
vty_say(struct frr *f, int state, const char *fmt, ...)
{
	char	msg[512];
	va_list	ap;

	if (state == 1 && f->vty_state == 1)
		return;		/* every read answered: frr_call_done() says it at debug */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(f->vty_state != state ? LOG_LVL_INFO : LOG_LVL_DEBUG, NULL, "frr", "%s", msg);
	f->vty_state = state;
}

/*
 * The sockets could not answer: the same read again through vtysh. If
 * vtysh cannot run either, the call ends as a failed vtysh call would.
 */
static void
vty_fallback(struct frr *f, const char *why)
{
	struct frr_call	*c = &f->call;
	enum frr_op	 op = c->op;
	char		**argv = c->argv;

	c->argv = NULL;
	frr_call_release(c);
	f->stats.vty_fallbacks++;
	vty_say(f, -1, "vty socket read failed (%s); reading through vtysh", why);
	if (frr_spawn_vtysh(f, op, argv) == -1) {
		c->op = op;
		c->exited = true;
		c->status = 127;
		c->out = strdup(f->last_err);
		c->started_us = now_us();
		frr_call_done(f);
	}
	frr_argv_free(argv);
}

static int
vty_send(struct frr *f, const char *cmd)
{
	struct frr_call	*c = &f->call;
	size_t		 len = strlen(cmd) + 1;	/* with its NUL */
	ssize_t		 w;

	c->start = c->len;
	/* A few bytes on a fresh connection: the socket buffer takes them whole. */
	w = send(c->fd, cmd, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (w == (ssize_t)len)
		return 0;
	snprintf(f->last_err, sizeof(f->last_err), "%s: send: %s", c->daemon,
	    w < 0 ? strerror(errno) : "short write");
	return -1;
}

/*
 * Reads what is there; 1 on EOF, -1 on error or an answer too large (vtysh
 * then answers: it has no cap of its own to hit), 0 otherwise.
 */
static int
vty_drain(struct frr *f)
{
	struct frr_call	*c = &f->call;
	int		 err;

	switch (frr_drain(c, &err)) {
	case FRR_DRAIN_MORE:
		return 0;
	case FRR_DRAIN_EOF:
		return 1;
	case FRR_DRAIN_FULL:
		snprintf(f->last_err, sizeof(f->last_err), "%s: answer larger than %d "
		    "bytes", c->daemon, FRR_OUT_MAX);
		return -1;
	default:
		snprintf(f->last_err, sizeof(f->last_err), "%s: read: %s", c->daemon,
		    strerror(err));
		return -1;
	}
}

/*
 * Looks for the end of the current answer: 1 (complete, *status set), 0
 * (more to come), -1 (bad framing). Output is text: its first NUL starts
 * the terminator, and nothing may follow the status byte.
 */
static int
vty_framed(struct frr *f, int *status)
{
	struct frr_call	*c = &f->call;
	const char	*z = memchr(c->out + c->start, '\0', c->len - c->start);
	size_t		 k;

	if (z == NULL)
		return 0;
	k = (size_t)(z - c->out);
	/* Split across reads: what is there of the three NULs must be NULs. */
	for (size_t i = 1; i < 3 && k + i < c->len; i++)
		if (c->out[k + i] != '\0')
			goto bad;
	if (c->len - k < 4)
		return 0;
	if (c->len - k > 4)
		goto bad;
	*status = (unsigned char)c->out[k + 3];
	c->len = k;
	c->out[k] = '\0';
	return 1;
bad:
	snprintf(f->last_err, sizeof(f->last_err), "%s: bad framing (a NUL inside the "
	    "answer, or bytes after its status)", c->daemon);
	return -1;
}

/* One answer complete: the next command, or the end of the call. */
static int
vty_answered(struct frr *f, int status)
{
	struct frr_call	*c = &f->call;
	const char	*cmd = vty_cmd(c->argv, c->cmd);

	if (c->enabling) {
		/* `enable`'s own answer is not ours to return; bgpd may not need it. */
		c->enabling = false;
		c->len = c->start;
		c->out[c->len] = '\0';
		return vty_send(f, cmd);
	}
	if (status != 0) {
		snprintf(f->last_err, sizeof(f->last_err), "%s: '%s' returned status %d",
		    c->daemon, cmd, status);
		return -1;
	}
	c->cmd++;
	return vty_next(f);
}

static int
vty_io_cb(sd_event_source *src, int fd, uint32_t revents, void *arg)
{
	struct frr	*f = arg;
	struct frr_call	*c = &f->call;
	int		 r, framed, status = 0;

	(void)src;
	(void)fd;
	(void)revents;
	r = vty_drain(f);
	if (r != -1 && (framed = vty_framed(f, &status)) != 0) {
		/*
		 * Nothing follows a complete answer (vty_framed), so the next
		 * event is the next answer's. Once answered, the call may be
		 * over and another one started: c is not ours to look at.
		 */
		if (framed == 1 && vty_answered(f, status) == 0)
			return 0;
		r = -1;
	}
	if (r == 1) {
		snprintf(f->last_err, sizeof(f->last_err), "%s closed the connection "
		    "before the end of its answer", c->daemon);
		r = -1;
	}
	if (r == -1)
		vty_fallback(f, f->last_err);
	return 0;
}

static int
vty_deadline_cb(sd_event_source *src, uint64_t usec, void *arg)
{
	struct frr	*f = arg;
	char		 d[32], why[300];

	(void)src;
	(void)usec;
	snprintf(why, sizeof(why), "%s: no answer within %s", f->call.daemon ?
	    f->call.daemon : "vty", cfg_duration_fmt(f->set.timeout_us, d, sizeof(d)));
	vty_fallback(f, why);
	return 0;
}

static void
vty_dir(const struct frr *f, char *buf, size_t len)
{
	if (f->vty_dir[0] != '\0')
		snprintf(buf, len, "%s", f->vty_dir);
	else if (f->set.pathspace != NULL)
		snprintf(buf, len, "%s/%s", FRR_RUNDIR, f->set.pathspace);
	else
		snprintf(buf, len, "%s", FRR_RUNDIR);
}

/* Connects to daemon's socket, without waiting: a full backlog is a failure. */
static int
vty_connect(struct frr *f, const char *daemon)
{
	struct frr_call		*c = &f->call;
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	char			 dir[256];
	int			 r;

	c->io = sd_event_source_disable_unref(c->io);
	if (c->fd != -1)
		close(c->fd);
	c->daemon = daemon;
	vty_dir(f, dir, sizeof(dir));
	if ((size_t)snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/%s.vty", dir, daemon) >=
	    sizeof(sun.sun_path)) {
		snprintf(f->last_err, sizeof(f->last_err), "%s/%s.vty: path too long", dir, daemon);
		return -1;
	}
	if ((c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		snprintf(f->last_err, sizeof(f->last_err), "%s: %s", sun.sun_path,
		    strerror(errno));
		return -1;
	}
	if ((r = sd_event_add_io(f->ev, &c->io, c->fd, EPOLLIN, vty_io_cb, f)) < 0) {
		snprintf(f->last_err, sizeof(f->last_err), "event loop: %s", strerror(-r));
		return -1;
	}
	/* As vtysh does first: `show running-config` is an enable-node command. */
	c->enabling = true;
	return vty_send(f, "enable");
}

/* Sends the next command, or ends the call when all are answered; -1 on error. */
static int
vty_next(struct frr *f)
{
	struct frr_call	*c = &f->call;
	const char	*cmd = vty_cmd(c->argv, c->cmd), *daemon;

	if (cmd == NULL) {
		c->io = sd_event_source_disable_unref(c->io);
		close(c->fd);
		c->fd = -1;
		c->exited = true;
		c->status = 0;
		f->stats.vty_reads++;
		vty_say(f, 1, "reading FRR through the vty sockets of bgpd and zebra");
		frr_call_done(f);
		return 0;
	}
	daemon = frr_vty_daemon(cmd);
	if (c->daemon == NULL || strcmp(c->daemon, daemon) != 0)
		return vty_connect(f, daemon);
	return vty_send(f, cmd);
}

/*
 * Starts a read-only call on the sockets: 0 (in flight; frr_call_done()
 * gets its result, through vtysh if the sockets fail later), or -1 (the
 * caller runs vtysh).
 */
int
frr_vty_start(struct frr *f, enum frr_op op, char **argv)
{
	struct frr_call	*c = &f->call;
	int		 r;

	if (!vty_eligible(argv))
		return -1;
	if ((c->argv = argv_dup(argv)) == NULL)
		return -1;
	c->vty = true;
	c->op = op;
	c->started_us = now_us();
	if ((r = sd_event_add_time_relative(f->ev, &c->deadline, CLOCK_MONOTONIC,
	    f->set.timeout_us, 1000, vty_deadline_cb, f)) < 0) {
		snprintf(f->last_err, sizeof(f->last_err), "event loop: %s", strerror(-r));
		goto fail;
	}
	if (vty_next(f) == -1)
		goto fail;
	return 0;
fail:
	f->stats.vty_fallbacks++;
	vty_say(f, -1, "vty socket read failed (%s); reading through vtysh", f->last_err);
	frr_call_release(c);
	return -1;
}
