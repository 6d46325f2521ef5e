#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "priv.h"

/* What a child needs to become another user and drop everything. */
#define PRIV_SWITCH_CAPS	((UINT64_C(1) << CAP_SETUID) | (UINT64_C(1) << CAP_SETGID) | \
				 (UINT64_C(1) << CAP_SETPCAP))
/* Plugins run as another uid: killing them at timeout takes CAP_KILL. */
#define PRIV_KILL_CAP		(UINT64_C(1) << CAP_KILL)
/* Kept permitted, never effective except for the moment they are used. */
#define PRIV_HELD_CAPS		(PRIV_SWITCH_CAPS | PRIV_KILL_CAP)
/* NSS buffers grow (on ERANGE) up to this: a group of many members is large. */
#define PRIV_NSS_MAX		(1024 * 1024)
/* Higher than any capability the kernel knows; PR_CAPBSET_DROP says EINVAL past the last. */
#define PRIV_CAP_MAX		64

struct priv_caps {
	uint64_t	eff, prm, inh;
};

static bool	priv_daemon;

/* Raw system calls: async-signal-safe, and no libcap dependency for two calls. */
static int
priv_get(struct priv_caps *c)
{
	struct __user_cap_header_struct	hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct	data[2];

	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == -1)
		return -1;
	c->eff = data[0].effective | (uint64_t)data[1].effective << 32;
	c->prm = data[0].permitted | (uint64_t)data[1].permitted << 32;
	c->inh = data[0].inheritable | (uint64_t)data[1].inheritable << 32;
	return 0;
}

static int
priv_set(const struct priv_caps *c)
{
	struct __user_cap_header_struct	hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct	data[2];

	data[0].effective = (uint32_t)c->eff;
	data[1].effective = (uint32_t)(c->eff >> 32);
	data[0].permitted = (uint32_t)c->prm;
	data[1].permitted = (uint32_t)(c->prm >> 32);
	data[0].inheritable = (uint32_t)c->inh;
	data[1].inheritable = (uint32_t)(c->inh >> 32);
	return syscall(SYS_capset, &hdr, data) == -1 ? -1 : 0;
}

int
priv_init(char *err, size_t errlen)
{
	struct priv_caps	c;

	priv_daemon = true;
	if (priv_get(&c) == -1) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	/*
	 * Nothing the daemon executes (vtysh, plugins) needs a capability:
	 * none is passed on, and the switching ones are not even effective.
	 */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "clearing the ambient capabilities: %s", strerror(errno));
		return -1;
	}
	if (geteuid() == 0)
		return 0;
	c.eff &= ~PRIV_HELD_CAPS;
	c.inh = 0;
	if (priv_set(&c) == -1) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
priv_ctl_init(bool net_admin, char *err, size_t errlen)
{
	struct priv_caps	c;
	uint64_t		keep = net_admin ? UINT64_C(1) << CAP_NET_ADMIN : 0;

	/* Root regains every capability at exec anyway; its children are root's business. */
	if (geteuid() == 0)
		return 0;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL) {
		snprintf(err, errlen, "clearing the ambient capabilities: %s", strerror(errno));
		return -1;
	}
	if (priv_get(&c) == -1) {
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return -1;
	}
	c.eff &= keep;
	c.prm &= keep;
	c.inh = 0;
	if (priv_set(&c) == -1) {
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return -1;
	}
	return 0;
}

bool
priv_enforced(void)
{
	return priv_daemon;
}

bool
priv_can_switch(char *why, size_t whylen)
{
	struct priv_caps	c;

	if (geteuid() == 0)
		return true;
	if (priv_get(&c) == -1) {
		snprintf(why, whylen, "capget: %s", strerror(errno));
		return false;
	}
	if ((c.prm & PRIV_HELD_CAPS) == PRIV_HELD_CAPS)
		return true;
	snprintf(why, whylen, "this process (uid %u) is not root and lacks CAP_SETUID, "
	    "CAP_SETGID, CAP_SETPCAP or CAP_KILL (the unit grants them: "
	    "AmbientCapabilities=, CapabilityBoundingSet=)", (unsigned)geteuid());
	return false;
}

int
priv_drop_child(uid_t uid, gid_t gid, const gid_t *groups, size_t ngroups,
    enum priv_stage *stage)
{
	struct priv_caps	c, none = { 0 };

	/* Raise what is permitted: a non-root daemon keeps the switching caps there only. */
	*stage = PRIV_BOUNDING;
	if (priv_get(&c) == -1)
		return -1;
	c.eff = c.prm;
	if (priv_set(&c) == -1)
		return -1;
	for (int cap = 0; cap < PRIV_CAP_MAX; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1 && errno != EINVAL)
			return -1;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) == -1 &&
	    errno != EINVAL)
		return -1;
	*stage = PRIV_GROUPS;
	if (setgroups(ngroups, groups) == -1 || setresgid(gid, gid, gid) == -1)
		return -1;
	*stage = PRIV_UID;
	if (setresuid(uid, uid, uid) == -1)
		return -1;
	/* From a non-root uid, setuid() leaves the capabilities where they were. */
	*stage = PRIV_CAPS;
	if (priv_set(&none) == -1)
		return -1;
	*stage = PRIV_NNP;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return -1;
	*stage = PRIV_VERIFY;
	if (setresuid(0, 0, 0) != -1 || setgroups(0, NULL) != -1) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

int
priv_kill_group(pid_t pgid)
{
	struct priv_caps	c;
	bool			raised = false;
	int			r, e;

	/* CAP_KILL is effective only for these two calls (see priv_init()). */
	if (geteuid() != 0 && priv_get(&c) == 0 && (c.prm & PRIV_KILL_CAP) &&
	    !(c.eff & PRIV_KILL_CAP)) {
		c.eff |= PRIV_KILL_CAP;
		raised = priv_set(&c) == 0;
	}
	r = kill(-pgid, SIGKILL);
	/* A child killed before its setpgid() is alone in its parent's group. */
	if (r == -1 && errno == ESRCH)
		r = kill(pgid, SIGKILL);
	e = errno;
	if (raised) {
		c.eff &= ~PRIV_KILL_CAP;
		if (priv_set(&c) == -1 && r == 0) {
			e = errno;
			r = -1;
		}
	}
	errno = e;
	return r;
}

/* The buffer to start with: what sysconf() says, or a sane size. */
static size_t
priv_nss_size(int name)
{
	long	n = sysconf(name);

	return n > 0 && n < PRIV_NSS_MAX ? (size_t)n : 4096;
}

/* What a *_r lookup said: 1 found, 0 no such entry, -1 with errno. */
static int
priv_nss_result(int r, bool found, char **buf)
{
	if (r == 0 && found)
		return 1;
	free(*buf);
	*buf = NULL;
	if (r == 0 || r == ENOENT)
		return 0;
	errno = r;
	return -1;
}

/* One *_r lookup into buf of len bytes; *found tells whether it found the entry. */
typedef int	priv_nss_fn(const char *, void *, char *, size_t, bool *);

static int
priv_nss_group(const char *name, void *ent, char *buf, size_t len, bool *found)
{
	struct group	*res = NULL;
	int		 r;

	r = getgrnam_r(name, ent, buf, len, &res);
	*found = res != NULL;
	return r;
}

static int
priv_nss_passwd(const char *name, void *ent, char *buf, size_t len, bool *found)
{
	struct passwd	*res = NULL;
	int		 r;

	r = getpwnam_r(name, ent, buf, len, &res);
	*found = res != NULL;
	return r;
}

/* The buffer grows on ERANGE up to PRIV_NSS_MAX: a large group is no "no such group". */
static int
priv_nss(const char *name, void *ent, char **buf, int sizename, priv_nss_fn *lookup)
{
	size_t	 len = priv_nss_size(sizename);
	bool	 found = false;
	char	*b;
	int	 r;

	*buf = NULL;
	for (;;) {
		if ((b = realloc(*buf, len)) == NULL) {
			free(*buf);
			*buf = NULL;
			errno = ENOMEM;
			return -1;
		}
		*buf = b;
		r = lookup(name, ent, *buf, len, &found);
		if (r != ERANGE || len >= PRIV_NSS_MAX)
			break;
		len *= 2;
	}
	return priv_nss_result(r, found, buf);
}

int
priv_getgrnam(const char *name, struct group *gr, char **buf)
{
	return priv_nss(name, gr, buf, _SC_GETGR_R_SIZE_MAX, priv_nss_group);
}

int
priv_getpwnam(const char *name, struct passwd *pw, char **buf)
{
	return priv_nss(name, pw, buf, _SC_GETPW_R_SIZE_MAX, priv_nss_passwd);
}

const char *
priv_stage_str(enum priv_stage stage)
{
	switch (stage) {
	case PRIV_BOUNDING:
		return "drop the capability bounding set";
	case PRIV_GROUPS:
		return "set its groups";
	case PRIV_UID:
		return "set its uid";
	case PRIV_CAPS:
		return "clear its capabilities";
	case PRIV_NNP:
		return "set no_new_privs";
	case PRIV_VERIFY:
		return "drop root for good (it could regain it)";
	}
	return "drop privileges";
}

/* close_range(2) is in Linux 5.9; older kernels get one close() per possible descriptor. */
static int
priv_close_from_to(unsigned first, unsigned last)
{
	struct rlimit	rl;
	unsigned	max;

	if (first > last)
		return 0;
	if (syscall(SYS_close_range, first, last, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	max = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (1U << 20) ? 1U << 20 :
	    (unsigned)rl.rlim_max;
	for (unsigned fd = first; fd <= last && fd < max; fd++)
		close((int)fd);
	return 0;
}

int
priv_close_fds(int keep)
{
	if (keep < 3)
		return priv_close_from_to(3, ~0U);
	if (priv_close_from_to(3, (unsigned)keep - 1) == -1)
		return -1;
	return priv_close_from_to((unsigned)keep + 1, ~0U);
}
