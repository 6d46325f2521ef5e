/*
 * The control socket: a UNIX stream socket speaking one JSON object per
 * line each way. A request is {"cmd": NAME, ...}; a reply is {"ok": true,
 * ...} or {"ok": false, "error": "..."}. Clients are non-blocking sources
 * on the daemon's loop with a buffer cap, an idle timeout and a connection
 * limit, so a slow or hostile client can never block or crash the daemon.
 * The socket is mode 0666: status and metrics are for any local user.
 * Mutating commands are allowed only for root and members of group
 * anycast-healthd-admin (SO_PEERCRED / SO_PEERGROUPS), not for the
 * daemon's own user. Each uid may hold a few connections, and root and the
 * admin group have slots of their own, so that nobody can lock them out.
 */
#ifndef AHD_CTL_H
#define AHD_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "ctlproto.h"

struct json_object;

#define CTL_MAX_CLIENTS		16		/* connections of everyone else */
#define CTL_MAX_PRIV_CLIENTS	8		/* more for root and the admin group */
#define CTL_MAX_PER_UID		4
#define CTL_IDLE_US		(5 * 1000000ULL)

/*
 * Returns the reply (a JSON object; "ok" is added if missing) or NULL for
 * an internal error. Called on the loop; must not block.
 */
typedef struct json_object *(*ctl_fn)(struct json_object *req, void *arg);

struct ctl_command {
	const char	*name;
	bool		 mutating;
	ctl_fn		 fn;
};

struct ctl;

/*
 * Listens on path (mode 0666; a stale socket left by a crash is replaced,
 * a live one is an error). cmds ends with a NULL name.
 */
struct ctl	*ctl_open(sd_event *ev, const char *path, const struct ctl_command *cmds,
		    void *arg, char *err, size_t errlen);
/* Closes every connection and removes the socket. */
void		 ctl_close(struct ctl *c);
const char	*ctl_path(const struct ctl *c);
/* From now on every mutating command is refused (the daemon is stopping). */
void		 ctl_refuse_mutating(struct ctl *c);
/* For tests: how long a connection may stay silent (default CTL_IDLE_US). */
void		 ctl_set_idle_timeout(struct ctl *c, uint64_t us);
/* For tests: the group whose members may run mutating commands (default: CTL_ADMIN_GROUP's). */
void		 ctl_set_admin_gid(struct ctl *c, gid_t gid);

/*
 * The request side of one connection, apart from its socket: line framing,
 * JSON parsing, command lookup and the permission check. Bytes received
 * from the peer are appended to in (at most CTL_MAX_REQUEST - inlen at a
 * time), then ctl_session_input() answers the complete lines.
 */
struct ctl_session {
	const struct ctl_command *cmds;		/* ends with a NULL name */
	void			*arg;		/* for the commands */
	pid_t			 pid;		/* the peer, for logs */
	uid_t			 uid;
	bool			 privileged;	/* may run mutating commands */
	const bool		*refuse_mutating;	/* NULL, or: refuse them all now */
	char			 in[CTL_MAX_REQUEST + 1];
	size_t			 inlen;		/* received, not yet a complete line */
};

/* Takes one reply (borrowed); false: stop, the connection is closing. */
typedef bool (*ctl_reply_fn)(struct json_object *reply, void *arg);

/*
 * Answers every complete line in s->in through reply(), one reply per line
 * in order, and keeps the incomplete rest. Returns -1 when the connection
 * must close: reply() said so, or in is full without a newline (the request
 * is too long; that error was the last reply); 0 otherwise.
 */
int		 ctl_session_input(struct ctl_session *s, ctl_reply_fn reply, void *arg);

/* An error reply: {"ok": false, "error": msg}. */
struct json_object *ctl_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
