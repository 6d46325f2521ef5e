/*
 * TCP probe: a non-blocking connect; then, if configured, send a string and
 * read until the expected substring arrives. Each step is a state of one
 * small machine driven by the event loop; the engine enforces the timeout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "cfg.h"
#include "probe.h"
#include "sock.h"
#include "tcp.h"
#include "text.h"

#define TCP_RECV_MAX	4096

struct tcp_params {
	struct sock_peer peer;
	char		*send;		/* NULL: send nothing */
	size_t		 send_len;
	char		*expect;	/* NULL: connecting is enough */
};

enum tcp_step { TCP_CONNECTING, TCP_SENDING, TCP_RECEIVING };

struct tcp_run {
	int		 fd;
	sd_event_source	*io;
	enum tcp_step	 step;
	bool		 reset;		/* close with a RST: connected, nothing left to deliver */
	size_t		 sent;
	size_t		 got;
	/* TCP_RECV_MAX + 1 bytes with expect, none without: most probes only connect. */
	char		 buf[];
};

static int	tcp_io_cb(sd_event_source *s, int fd, uint32_t revents, void *arg);

static const char *const tcp_keys[] = { "host", "port", "send", "expect", NULL };

static void
tcp_free_params(void *arg)
{
	struct tcp_params	*tp = arg;

	if (tp == NULL)
		return;
	free(tp->send);
	free(tp->expect);
	free(tp);
}

static int
tcp_parse(struct cfg_ctx *ctx, struct json_object *obj, void **params)
{
	struct tcp_params	*tp;
	int			 ok = 0;

	if ((tp = calloc(1, sizeof(*tp))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	if (cfg_get_ipaddr(ctx, obj, "host", true, &tp->peer.family, &tp->peer.addr) != 1)
		ok = -1;
	if (cfg_get_port(ctx, obj, "port", true, &tp->peer.port) != 1)
		ok = -1;
	if (cfg_get_string(ctx, obj, "send", false, &tp->send) == -1)
		ok = -1;
	if (cfg_get_string(ctx, obj, "expect", false, &tp->expect) == -1)
		ok = -1;
	if (tp->expect != NULL && tp->expect[0] == '\0') {
		cfg_error(ctx, "expect", "must not be empty (omit it to accept any connection)");
		ok = -1;
	}
	if (tp->expect != NULL && strlen(tp->expect) > TCP_RECV_MAX) {
		cfg_error(ctx, "expect", "longer than %d bytes", TCP_RECV_MAX);
		ok = -1;
	}
	if (ok == -1) {
		tcp_free_params(tp);
		return -1;
	}
	if (tp->send != NULL)
		tp->send_len = strlen(tp->send);
	sock_peer_name(&tp->peer);
	*params = tp;
	return 0;
}

/*
 * A connection the probe is done with is reset, not closed (SO_LINGER 0,
 * as HAProxy's health checks do): the FIN/ACK exchange is skipped, and
 * neither side keeps a TIME_WAIT socket (1000 checks a second kept
 * ~14,000 of them, each holding an ephemeral port, and made every
 * connect's port search longer). The server sees ECONNRESET instead of
 * EOF. A reset discards what is still queued or unacknowledged, and some
 * stacks drop what the server has not read yet: a `send` without `expect`
 * always ends with a FIN, so the server gets the whole string; so does a
 * `send` with `expect` whose string is still in flight (a server that
 * spoke first can match `expect` before our `send` is acknowledged).
 */
static void
tcp_close(struct tcp_run *run)
{
	static const struct linger	rst = { .l_onoff = 1, .l_linger = 0 };
	int				queued = 0;

	if (run->reset && run->sent > 0 &&
	    (ioctl(run->fd, SIOCOUTQ, &queued) == -1 || queued > 0))
		run->reset = false;
	if (run->reset)
		(void)setsockopt(run->fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	close(run->fd);
}

static void
tcp_cleanup(struct probe *p)
{
	struct tcp_run	*run = p->run;

	if (run == NULL)
		return;
	sd_event_source_disable_unref(run->io);
	if (run->fd != -1)
		tcp_close(run);
	free(run);
	p->run = NULL;
}

static void
tcp_step_receive(struct probe *p)
{
	const struct tcp_params	*tp = p->cfg->params;
	struct tcp_run		*run = p->run;
	char			 shown[96];
	ssize_t			 n;

	for (;;) {
		n = recv(run->fd, run->buf + run->got, TCP_RECV_MAX - run->got, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n == -1) {
			probe_done(p, PROBE_RECV_FAILED, PROBE_DONE_ABORT, NULL,
			    "receive from %s failed: %s", tp->peer.where, strerror(errno));
			return;
		}
		run->got += (size_t)n;
		run->buf[run->got] = '\0';
		if (memmem(run->buf, run->got, tp->expect, strlen(tp->expect)) != NULL) {
			probe_done(p, PROBE_OK, PROBE_DONE_ABORT, NULL,
			    "%s answered as expected", tp->peer.where);
			return;
		}
		if (n == 0 || run->got == TCP_RECV_MAX) {
			size_t got = run->got;

			text_printable(run->buf, got > 40 ? 40 : got, shown, sizeof(shown));
			if (got == 0)
				probe_done(p, PROBE_CLOSED, PROBE_DONE_ABORT, NULL,
				    "%s closed the connection "
				    "without answering", tp->peer.where);
			else
				probe_done(p, PROBE_EXPECT_MISMATCH, PROBE_DONE_ABORT, NULL,
				    "%s answered '%s%s', "
				    "expected '%s'", tp->peer.where, shown,
				    got > 40 ? "..." : "", tp->expect);
			return;
		}
	}
}

static void
tcp_step_send(struct probe *p)
{
	const struct tcp_params	*tp = p->cfg->params;
	struct tcp_run		*run = p->run;
	int			 r;

	if ((r = sock_send(run->fd, tp->send, tp->send_len, &run->sent)) == 1)
		return;
	if (r == -1) {
		probe_done(p, PROBE_SEND_FAILED, PROBE_DONE_ABORT, NULL,
		    "send to %s failed: %s", tp->peer.where, strerror(errno));
		return;
	}
	if (tp->expect == NULL) {
		run->reset = false;
		probe_done(p, PROBE_OK, PROBE_DONE_ABORT, NULL,
		    "connected to %s and sent %zu bytes", tp->peer.where, tp->send_len);
		return;
	}
	run->step = TCP_RECEIVING;
	sd_event_source_set_io_events(run->io, EPOLLIN | EPOLLET);
	tcp_step_receive(p);
}

/*
 * The socket is watched edge-triggered: every step reads or writes until
 * EAGAIN anyway, and a level-triggered socket that is ready while the loop
 * is behind is reported again by every epoll_wait() until its turn comes
 * (with thousands of probes, quadratic work in the kernel).
 */

/* The connect has completed with err (0: connected): the next step. */
static void
tcp_connected(struct probe *p, int err)
{
	const struct tcp_params	*tp = p->cfg->params;
	struct tcp_run		*run = p->run;
	char			 msg[128];
	int			 r;

	if (err != 0) {
		probe_done(p, sock_connect_result(err), PROBE_DONE_ABORT, NULL, "%s",
		    sock_connect_msg(err, tp->peer.where, msg, sizeof(msg)));
		return;
	}
	run->reset = true;
	if (tp->send == NULL && tp->expect == NULL) {
		probe_done(p, PROBE_OK, PROBE_DONE_ABORT, NULL, "connected to %s",
		    tp->peer.where);
		return;
	}
	run->step = TCP_SENDING;
	/* Known at once (loopback): the socket is watched only from here on. */
	if (run->io == NULL) {
		r = sd_event_add_io(p->ev, &run->io, run->fd, EPOLLOUT | EPOLLET, tcp_io_cb, p);
		if (r < 0) {
			probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL,
			    "cannot watch socket: %s", strerror(-r));
			return;
		}
	}
	tcp_step_send(p);
}

static int
tcp_io_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg)
{
	struct probe		*p = arg;
	struct tcp_run		*run = p->run;

	switch (run->step) {
	case TCP_CONNECTING:
		tcp_connected(p, sock_connect_error(fd));
		return 0;
	case TCP_SENDING:
		tcp_step_send(p);
		return 0;
	case TCP_RECEIVING:
		tcp_step_receive(p);
		return 0;
	}
	return 0;
}

static void
tcp_start(struct probe *p)
{
	const struct tcp_params	*tp = p->cfg->params;
	struct tcp_run		*run;
	char			 msg[128];
	int			 r, err;

	run = calloc(1, sizeof(*run) + (tp->expect != NULL ? TCP_RECV_MAX + 1 : 0));
	if (run == NULL) {
		probe_done(p, PROBE_INTERNAL, 0, NULL, "out of memory");
		return;
	}
	p->run = run;
	if ((run->fd = sock_connect(&tp->peer, SOCK_STREAM, &err)) == -1) {
		if (err == 0)
			probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL, "socket: %s",
			    strerror(errno));
		else
			probe_done(p, sock_connect_result(err), PROBE_DONE_ABORT, NULL, "%s",
			    sock_connect_msg(err, tp->peer.where, msg, sizeof(msg)));
		return;
	}
	run->step = TCP_CONNECTING;
	/*
	 * On loopback the handshake (or the RST) has been processed by the
	 * time connect() returns: one getsockopt() settles it, instead of a
	 * watch, a wake-up and an unwatch. Only a connect still in flight is
	 * watched.
	 */
	if ((err = sock_connect_done(run->fd)) != -1) {
		tcp_connected(p, err);
		return;
	}
	r = sd_event_add_io(p->ev, &run->io, run->fd, EPOLLOUT | EPOLLET, tcp_io_cb, p);
	if (r < 0)
		probe_done(p, PROBE_INTERNAL, PROBE_DONE_ABORT, NULL, "cannot watch socket: %s",
		    strerror(-r));
}

const struct probe_type probe_type_tcp = {
	.cfg = {
		.name = "tcp",
		.keys = tcp_keys,
		.parse = tcp_parse,
		.free_params = tcp_free_params,
	},
	.start = tcp_start,
	.abort = tcp_cleanup,
};
