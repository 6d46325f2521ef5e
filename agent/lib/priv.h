/*
 * Privileges of the daemon and of the children it starts.
 *
 * The daemon's routing power is CAP_NET_ADMIN (and FRR's vty through its
 * groups). To run exec plugins as another, unprivileged user without a
 * root process, the unit also grants CAP_SETUID, CAP_SETGID and
 * CAP_SETPCAP, and CAP_KILL to kill such a plugin at its timeout;
 * priv_init() keeps those four in the permitted set only
 * (not effective, not inheritable, not ambient), so the daemon itself
 * cannot use them by accident and nothing it executes inherits them. A
 * forked child raises them just long enough for priv_drop_child() to drop
 * the bounding set, change groups, gid and uid, and clear every set before
 * exec; priv_kill_group() raises CAP_KILL around its kill() only. A daemon running as root needs nothing of this: root may switch.
 */
#ifndef AHD_PRIV_H
#define AHD_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct group;
struct passwd;

/* Why a child could not drop its privileges (for the error pipe). */
enum priv_stage {
	PRIV_BOUNDING = 1,	/* dropping the bounding set */
	PRIV_GROUPS,		/* setgroups / setgid */
	PRIV_UID,		/* setuid */
	PRIV_CAPS,		/* clearing the capability sets */
	PRIV_NNP,		/* no_new_privs */
	PRIV_VERIFY,		/* could become root again */
};

/*
 * In the daemon, before the configuration is loaded: moves CAP_SETUID,
 * CAP_SETGID, CAP_SETPCAP and CAP_KILL to the permitted set only and clears the
 * ambient set. -1 with err if the capability sets cannot be read or set.
 */
int		 priv_init(char *err, size_t errlen);
/*
 * In anycast-healthctl, run by the unit (ExecStopPost=) with its ambient
 * capabilities: a non-root caller keeps CAP_NET_ADMIN (if net_admin, for
 * withdraw-all) and nothing else, and passes nothing on (no ambient, no
 * inheritable), so the vtysh it runs gets no capability. Root keeps all.
 * -1 with err if the sets cannot be changed.
 */
int		 priv_ctl_init(bool net_admin, char *err, size_t errlen);
/* Whether priv_init() ran: this process is the daemon and must honour "user". */
bool		 priv_enforced(void);
/*
 * Whether this process may run children as another user: root, or the
 * four capabilities in the permitted set. why says what is missing.
 */
bool		 priv_can_switch(char *why, size_t whylen);
/*
 * SIGKILL to process group pgid (to pid pgid alone if there is no such
 * group yet), with CAP_KILL effective for that moment only when it is
 * permitted: a plugin runs as another uid. 0, or -1 with errno.
 */
int		 priv_kill_group(pid_t pgid);
/*
 * In a forked child, before exec: async-signal-safe. Drops every
 * capability (bounding, ambient, effective, permitted, inheritable), sets
 * the groups, gid and uid, and no_new_privs. 0, or -1 with errno set and
 * *stage saying which step failed.
 */
int		 priv_drop_child(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
		    enum priv_stage *stage);
const char	*priv_stage_str(enum priv_stage stage);
/*
 * getgrnam_r/getpwnam_r with a buffer sized by sysconf() and grown on
 * ERANGE: 1 found (free *buf once done with the entry), 0 no such entry,
 * -1 the lookup failed (errno): a caller deciding on privileges must then
 * fail closed, never read it as "no such entry".
 */
int		 priv_getgrnam(const char *name, struct group *gr, char **buf);
int		 priv_getpwnam(const char *name, struct passwd *pw, char **buf);
/*
 * In a forked child, before exec: async-signal-safe. Closes every
 * descriptor above 2 except keep (-1: none), close-on-exec or not: a
 * child starts with stdin, stdout and stderr only. 0, or -1 with errno.
 */
int		 priv_close_fds(int keep);

#endif
