#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "ctl.h"
#include "log.h"
#include "priv.h"

#define CTL_MAX_GROUPS	256
#define CTL_WARN_US	(10 * 1000000ULL)	/* at most one refusal warning per 10 s */

struct ctl_client;

struct ctl {
	sd_event			*ev;
	char				*path;
	int				 fd;
	gid_t				 admin_gid;	/* may run mutating commands */
	bool				 have_admin;	/* the admin group exists */
	sd_event_source			*io;
	const struct ctl_command	*cmds;
	void				*arg;
	struct ctl_client		*clients;
	unsigned			 nclients;
	unsigned			 npriv;		/* of which root or admin */
	unsigned			 refused;	/* since the last warning */
	uint64_t			 warn_next_us;
	uint64_t			 idle_us;
	bool				 refuse_mutating;
};

struct ctl_client {
	struct ctl		*ctl;
	struct ctl_client	*next;
	int			 fd;
	sd_event_source		*io;
	sd_event_source		*idle;
	struct ctl_session	 s;
	bool			 priv_slot;	/* counted in ctl->npriv */
	bool			 closing;	/* close once the output is sent */
	char			*out;
	size_t			 outlen, outoff;
};

struct json_object *
ctl_error(const char *fmt, ...)
{
	struct json_object	*o = json_object_new_object();
	char			 buf[1024];
	va_list			 ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	json_object_object_add(o, "ok", json_object_new_boolean(false));
	json_object_object_add(o, "error", json_object_new_string(buf));
	return o;
}

void
ctl_refuse_mutating(struct ctl *c)
{
	c->refuse_mutating = true;
}

const char *
ctl_path(const struct ctl *c)
{
	return c->path;
}

void
ctl_set_idle_timeout(struct ctl *c, uint64_t us)
{
	c->idle_us = us;
}

void
ctl_set_admin_gid(struct ctl *c, gid_t gid)
{
	c->admin_gid = gid;
	c->have_admin = true;
}

static void
client_free(struct ctl_client *cl)
{
	struct ctl_client	**pp;

	for (pp = &cl->ctl->clients; *pp != NULL; pp = &(*pp)->next)
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	cl->ctl->nclients--;
	if (cl->priv_slot)
		cl->ctl->npriv--;
	sd_event_source_disable_unref(cl->io);
	sd_event_source_disable_unref(cl->idle);
	close(cl->fd);
	free(cl->out);
	free(cl);
}

/* Sends what it can; 0 when all is sent or more must wait, -1 when the client is gone. */
static int
client_flush(struct ctl_client *cl)
{
	ssize_t	n;

	while (cl->outoff < cl->outlen) {
		n = send(cl->fd, cl->out + cl->outoff, cl->outlen - cl->outoff,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return -1;
		cl->outoff += (size_t)n;
	}
	if (cl->outoff == cl->outlen) {
		cl->outoff = cl->outlen = 0;
		if (cl->closing)
			return -1;
		sd_event_source_set_io_events(cl->io, EPOLLIN);
	} else
		/* Replies unread: read no more requests until they are (backpressure). */
		sd_event_source_set_io_events(cl->io, EPOLLOUT);
	return 0;
}

static void
client_queue(struct ctl_client *cl, struct json_object *reply)
{
	const char	*text;
	size_t		 len;
	char		*tmp;

	if (!json_object_object_get_ex(reply, "ok", NULL))
		json_object_object_add(reply, "ok", json_object_new_boolean(true));
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	/*
	 * Bounds replies queued unread, not one reply: the status of ten
	 * thousand services is larger than the bound by itself.
	 */
	if (cl->outlen > cl->outoff && cl->outlen + len + 1 > CTL_MAX_REPLY) {
		/* A client that never reads its replies is dropped. */
		log_warn("control: client pid %d does not read its replies; dropped",
		    (int)cl->s.pid);
		cl->closing = true;
		cl->outlen = cl->outoff = 0;
		return;
	}
	if ((tmp = realloc(cl->out, cl->outlen + len + 1)) == NULL) {
		cl->closing = true;
		return;
	}
	cl->out = tmp;
	memcpy(cl->out + cl->outlen, text, len);
	cl->out[cl->outlen + len] = '\n';
	cl->outlen += len + 1;
}

static struct json_object *
session_dispatch(const struct ctl_session *s, const char *line, size_t len)
{
	struct json_tokener	*tok;
	struct json_object	*req, *v, *reply;
	const struct ctl_command *cmd = NULL;
	const char		*name;

	if (len == 0)
		return ctl_error("malformed request: empty line");
	if ((tok = json_tokener_new()) == NULL)
		return ctl_error("out of memory");
	req = json_tokener_parse_ex(tok, line, (int)len);
	if (req == NULL && json_tokener_get_error(tok) == json_tokener_continue) {
		reply = ctl_error("malformed request: incomplete JSON");
		goto out;
	}
	if (req == NULL || tok->char_offset != (int)len) {
		reply = ctl_error("malformed request: %s", req == NULL ?
		    json_tokener_error_desc(json_tokener_get_error(tok)) :
		    "text after the JSON object");
		goto out;
	}
	if (!json_object_is_type(req, json_type_object) ||
	    !json_object_object_get_ex(req, "cmd", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		reply = ctl_error("malformed request: expected {\"cmd\": \"NAME\", ...}");
		goto out;
	}
	name = json_object_get_string(v);
	for (const struct ctl_command *c = s->cmds; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			cmd = c;
	if (cmd == NULL) {
		reply = ctl_error("unknown command '%.64s'", name);
		goto out;
	}
	if (cmd->mutating && !s->privileged) {
		log_warn("control: '%s' refused for uid %u (pid %d): not root, not in "
		    "group %s", cmd->name, (unsigned)s->uid, (int)s->pid, CTL_ADMIN_GROUP);
		reply = ctl_error("permission denied: '%s' needs root or membership in "
		    "group %s", cmd->name, CTL_ADMIN_GROUP);
		goto out;
	}
	if (cmd->mutating && s->refuse_mutating != NULL && *s->refuse_mutating) {
		reply = ctl_error("'%s' refused: the daemon is stopping", cmd->name);
		goto out;
	}
	if (cmd->mutating)
		log_info("control: '%s' from uid %u (pid %d)", cmd->name,
		    (unsigned)s->uid, (int)s->pid);
	if ((reply = cmd->fn(req, s->arg)) == NULL)
		reply = ctl_error("internal error");
out:
	json_object_put(req);
	json_tokener_free(tok);
	return reply;
}

int
ctl_session_input(struct ctl_session *s, ctl_reply_fn reply, void *arg)
{
	struct json_object	*r;
	char			*nl;
	size_t			 linelen;
	bool			 go_on;

	while ((nl = memchr(s->in, '\n', s->inlen)) != NULL) {
		linelen = (size_t)(nl - s->in);
		if (linelen > 0 && s->in[linelen - 1] == '\r')
			linelen--;
		r = session_dispatch(s, s->in, linelen);
		go_on = reply(r, arg);
		json_object_put(r);
		/*
		 * A status of thousands of services is a large tree of small
		 * objects: give the pages back rather than keep the heap at
		 * its high-water mark (a control request is rare; this is cheap).
		 */
		malloc_trim(0);
		s->inlen -= (size_t)(nl + 1 - s->in);
		memmove(s->in, nl + 1, s->inlen);
		if (!go_on)
			return -1;
	}
	if (s->inlen == CTL_MAX_REQUEST) {
		r = ctl_error("request longer than %d bytes", CTL_MAX_REQUEST);
		reply(r, arg);
		json_object_put(r);
		return -1;
	}
	return 0;
}

/* Queues a reply; false once the client is being closed. */
static bool
client_reply(struct json_object *reply, void *arg)
{
	struct ctl_client	*cl = arg;

	client_queue(cl, reply);
	return !cl->closing;
}

static int
/*
 * One read per wake-up (the loop comes back while more is waiting), so a
 * client pipelining requests cannot keep the loop to itself.
 */
client_read(struct ctl_client *cl)
{
	ssize_t	n;

	n = recv(cl->fd, cl->s.in + cl->s.inlen, CTL_MAX_REQUEST - cl->s.inlen,
	    MSG_DONTWAIT);
	if (n == -1 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
		return 0;
	if (n <= 0) {
		/* The peer is done: finish sending, then close. */
		cl->closing = true;
		return 0;
	}
	cl->s.inlen += (size_t)n;
	if (ctl_session_input(&cl->s, client_reply, cl) == -1)
		cl->closing = true;
	return 0;
}

static int
client_io_cb(sd_event_source *src UNUSED, int fd UNUSED, uint32_t revents, void *arg)
{
	struct ctl_client	*cl = arg;

	if ((revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !cl->closing) {
		client_read(cl);
		/*
		 * Only a complete request buys more time: a byte every few
		 * seconds must not hold one of the few connection slots.
		 */
		if (cl->s.inlen == 0)
			sd_event_source_set_time_relative(cl->idle, cl->ctl->idle_us);
	}
	if (client_flush(cl) == -1)
		client_free(cl);
	return 0;
}

static int
client_idle_cb(sd_event_source *src UNUSED, uint64_t usec UNUSED, void *arg)
{
	struct ctl_client	*cl = arg;

	log_debug("control: client pid %d idle; closed", (int)cl->s.pid);
	client_free(cl);
	return 0;
}

/*
 * Root, or a member (primary or supplementary) of the admin group. Not the
 * daemon's own user: whatever runs as it (or once ran as it) must not
 * steer routing.
 */
static bool
peer_privileged(const struct ctl *c, int fd, const struct ucred *cred)
{
	gid_t		groups[CTL_MAX_GROUPS];
	socklen_t	len = sizeof(groups);

	if (cred->uid == 0)
		return true;
	if (!c->have_admin)
		return false;
	if (cred->gid == c->admin_gid)
		return true;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == -1)
		return false;
	for (size_t i = 0; i < len / sizeof(gid_t); i++)
		if (groups[i] == c->admin_gid)
			return true;
	return false;
}

static unsigned
ctl_count_uid(const struct ctl *c, uid_t uid)
{
	unsigned	n = 0;

	for (const struct ctl_client *cl = c->clients; cl != NULL; cl = cl->next)
		n += cl->s.uid == uid;
	return n;
}

/*
 * When the shared pool is full: the oldest connection of the uid that holds
 * the most there, if that is at least two more than uid holds (a few uids
 * with CTL_MAX_PER_UID each must not lock every other user out); NULL if
 * every holder has its fair share.
 */
static struct ctl_client *
ctl_victim(const struct ctl *c, uid_t uid)
{
	struct ctl_client	*victim = NULL;
	unsigned		 most = 0, n;

	for (struct ctl_client *cl = c->clients; cl != NULL; cl = cl->next) {
		if (cl->priv_slot)
			continue;
		/* The list is newest first: the last one seen is the oldest. */
		n = ctl_count_uid(c, cl->s.uid);
		if (n > most || (n == most && victim != NULL && victim->s.uid == cl->s.uid)) {
			most = n;
			victim = cl;
		}
	}
	if (victim == NULL || most < ctl_count_uid(c, uid) + 2)
		return NULL;
	return victim;
}

/*
 * NULL when one more connection of uid fits, else why not: each uid may
 * hold CTL_MAX_PER_UID, all others together CTL_MAX_CLIENTS (when that is
 * full, *evict is a connection of a heavier holder to close for it), and
 * root and the admin group have CTL_MAX_PRIV_CLIENTS of their own, so that
 * held connections can lock nobody out but their holder.
 */
static const char *
ctl_admit(const struct ctl *c, uid_t uid, bool privileged, bool *priv_slot,
    struct ctl_client **evict)
{
	*priv_slot = false;
	*evict = NULL;
	if (ctl_count_uid(c, uid) >= CTL_MAX_PER_UID)
		return "too many connections from this user";
	if (c->nclients - c->npriv < CTL_MAX_CLIENTS)
		return NULL;
	if (privileged && c->npriv < CTL_MAX_PRIV_CLIENTS) {
		*priv_slot = true;
		return NULL;
	}
	if ((*evict = ctl_victim(c, uid)) != NULL)
		return NULL;
	return "too many connections";
}

/* Logged at most once per CTL_WARN_US, with how many were refused meanwhile. */
static void
ctl_warn_refused(struct ctl *c, const struct ucred *cred, const char *why)
{
	struct timespec	ts;
	uint64_t	now;

	c->refused++;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
	if (now < c->warn_next_us)
		return;
	log_warn("control: refused pid %d (uid %u): %s; %u connection(s) open, %u refused "
	    "since the last warning", (int)cred->pid, (unsigned)cred->uid, why,
	    c->nclients, c->refused);
	c->refused = 0;
	c->warn_next_us = now + CTL_WARN_US;
}

static void
reject(int fd, const char *msg)
{
	char	line[256];
	int	n;

	n = snprintf(line, sizeof(line), "{\"ok\":false,\"error\":\"%s\"}\n", msg);
	/* Best effort: a fresh socket has room for one short line. */
	(void)!send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

static int
ctl_accept_cb(sd_event_source *src UNUSED, int lfd, uint32_t revents UNUSED, void *arg)
{
	struct ctl		*c = arg;
	struct ctl_client	*cl, *victim;
	struct ucred		 cred;
	socklen_t		 len = sizeof(cred);
	const char		*why;
	bool			 privileged, priv_slot;
	int			 fd, r;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			log_warn("control: accept: %s", strerror(errno));
		return 0;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("control: SO_PEERCRED: %s", strerror(errno));
		close(fd);
		return 0;
	}
	privileged = peer_privileged(c, fd, &cred);
	if ((why = ctl_admit(c, cred.uid, privileged, &priv_slot, &victim)) != NULL) {
		ctl_warn_refused(c, &cred, why);
		reject(fd, why);
		return 0;
	}
	if (victim != NULL) {
		log_debug("control: the pool is full: closing the oldest connection of uid "
		    "%u for pid %d (uid %u)", (unsigned)victim->s.uid, (int)cred.pid,
		    (unsigned)cred.uid);
		client_free(victim);
	}
	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		reject(fd, "out of memory");
		return 0;
	}
	cl->ctl = c;
	cl->fd = fd;
	cl->s.cmds = c->cmds;
	cl->s.arg = c->arg;
	cl->s.pid = cred.pid;
	cl->s.uid = cred.uid;
	cl->s.privileged = privileged;
	cl->s.refuse_mutating = &c->refuse_mutating;
	cl->priv_slot = priv_slot;
	cl->next = c->clients;
	c->clients = cl;
	c->nclients++;
	c->npriv += priv_slot;
	r = sd_event_add_io(c->ev, &cl->io, fd, EPOLLIN, client_io_cb, cl);
	if (r >= 0)
		r = sd_event_add_time_relative(c->ev, &cl->idle, CLOCK_MONOTONIC,
		    c->idle_us, c->idle_us / 50, client_idle_cb, cl);
	if (r < 0) {
		log_warn("control: cannot watch a client: %s", strerror(-r));
		client_free(cl);
	}
	return 0;
}

/* Whether a daemon answers on path (then it is not ours to replace). */
static bool
socket_alive(const struct sockaddr_un *sun)
{
	int	fd, rc;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	rc = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	close(fd);
	return rc == 0 || errno == EAGAIN;
}

/* The admin group, looked up once: no NSS call on the loop for every connection. */
static void
ctl_lookup_admin(struct ctl *c)
{
	struct group	 gr;
	char		*grbuf = NULL;
	int		 r;

	if ((r = priv_getgrnam(CTL_ADMIN_GROUP, &gr, &grbuf)) == 1)
		ctl_set_admin_gid(c, gr.gr_gid);
	else if (r == 0)
		log_warn("control: group %s does not exist: only root may drain, undrain "
		    "and reload", CTL_ADMIN_GROUP);
	else
		log_warn("control: cannot look up group %s: %s: only root may drain, "
		    "undrain and reload", CTL_ADMIN_GROUP, strerror(errno));
	free(grbuf);
}

struct ctl *
ctl_open(sd_event *ev, const char *path, const struct ctl_command *cmds, void *arg,
    char *err, size_t errlen)
{
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	struct stat		 st;
	struct ctl		*c;
	mode_t			 old;
	int			 r;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: too long for a Unix socket", path);
		return NULL;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((c = calloc(1, sizeof(*c))) == NULL || (c->path = strdup(path)) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->ev = sd_event_ref(ev);
	c->cmds = cmds;
	c->arg = arg;
	c->idle_us = CTL_IDLE_US;
	ctl_lookup_admin(c);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "%s exists and is not a socket", path);
			goto fail;
		}
		if (socket_alive(&sun)) {
			snprintf(err, errlen, "%s: another daemon is listening there", path);
			goto fail;
		}
		/* Left behind by a daemon that did not stop cleanly. */
		unlink(path);
	}
	old = umask(0177);
	r = bind(c->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (r == -1) {
		snprintf(err, errlen, "bind %s: %s", path, strerror(errno));
		goto fail;
	}
	/* Anyone may connect (status, metrics); each command is authorised on its own. */
	if (chmod(path, 0666) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	if (listen(c->fd, CTL_MAX_CLIENTS + CTL_MAX_PRIV_CLIENTS) == -1) {
		snprintf(err, errlen, "listen %s: %s", path, strerror(errno));
		goto fail_unlink;
	}
	if ((r = sd_event_add_io(ev, &c->io, c->fd, EPOLLIN, ctl_accept_cb, c)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto fail_unlink;
	}
	return c;
fail_unlink:
	unlink(path);
fail:
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	free(c->path);
	c->path = NULL;
	sd_event_unref(c->ev);
	free(c);
	return NULL;
}

void
ctl_close(struct ctl *c)
{
	if (c == NULL)
		return;
	while (c->clients != NULL)
		client_free(c->clients);
	sd_event_source_disable_unref(c->io);
	close(c->fd);
	unlink(c->path);
	free(c->path);
	sd_event_unref(c->ev);
	free(c);
}
