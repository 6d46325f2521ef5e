/*
 * Process probe. Nothing is polled: the kernel wakes the loop.
 *
 * pidfile: the pid the file names is held as a pidfd, which becomes
 *   readable when that process exits. The pidfile's directory is watched
 *   with inotify (one instance shared by every process probe: the default
 *   limit is 128 instances per user), so a restart that rewrites the
 *   pidfile moves the watch to the new process without a withdrawal.
 * unit / cgroup: the cgroup v2 group's cgroup.events file; the kernel
 *   signals EPOLLPRI when "populated" changes, i.e. when the last process
 *   of the unit is gone. A unit's cgroup is where systemd says it is (its
 *   ControlGroup property, asked over the system bus without blocking the
 *   loop), so template instances and units with Slice= are found; without
 *   systemd on a system bus, the path systemd's defaults give is used.
 *
 * Gone is reported at once through probe_event() as PROBE_GONE, which svc
 * takes down without fall. The periodic attempts read the same state (no
 * file is read while a live pidfd is held) so that rise works as usual when
 * the service comes back.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "compiler.h"
#include "cfg.h"
#include "log.h"
#include "probe.h"
#include "process.h"

#define PIDFILE_MAX	64		/* "4194304\n" and then some */
/*
 * A pid whose process started this long after its pidfile was last written
 * is not the process that wrote it: the pid was reused. (A daemon writes
 * its pidfile after it started; the slack covers clock-tick resolution.)
 */
#define REUSE_SLACK_US	1000000ULL

enum proc_mode { PROC_PIDFILE, PROC_CGROUP };

struct proc_params {
	enum proc_mode	 mode;
	char		*pidfile;
	char		*dir;		/* the pidfile's directory and base name */
	char		*base;
	char		*unit;		/* with its suffix: "unbound.service" */
	const char	*iface;		/* its type's D-Bus interface (ControlGroup) */
	char		*cgroup;	/* absolute, or relative to the cgroup2 mount;
					   for a unit, the guess used without systemd */
	char		 what[PATH_MAX + 16];	/* "pidfile /run/x.pid", for messages */
};

struct proc_held {
	struct probe	*p;
	/* pidfile */
	int		 pidfd;
	pid_t		 pid;
	sd_event_source	*pid_src;
	int		 wd;		/* inotify watch on the pidfile's directory */
	/* cgroup */
	int		 evfd;		/* cgroup.events */
	sd_event_source	*ev_src;
	/* unit: the call to systemd in flight, and the unit's object */
	sd_bus_slot	*slot;
	char		*objpath;
};

static const char *const process_keys[] = { "pidfile", "unit", "cgroup", NULL };

/* The inotify instance shared by all process probes of the loop. */
static struct {
	sd_event		 *ev;
	int			  fd;
	sd_event_source		 *src;
	struct proc_held	**held;
	size_t			  n;
} hub = { .fd = -1 };

static int
sys_pidfd_open(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

pid_t
process_parse_pid(const char *buf, size_t len)
{
	size_t		i = 0;
	long long	v = 0;
	bool		digits = false;

	while (i < len && (buf[i] == ' ' || buf[i] == '\t'))
		i++;
	for (; i < len && buf[i] >= '0' && buf[i] <= '9'; i++) {
		v = v * 10 + (buf[i] - '0');
		digits = true;
		if (v > INT_MAX)
			return -1;
	}
	while (i < len && isspace((unsigned char)buf[i]))
		i++;
	if (!digits || i != len || v < 1)
		return -1;
	return (pid_t)v;
}

/* Undoes mountinfo's octal escapes (\040 for a space). */
static void
unescape_path(const char *in, size_t n, char *out, size_t outlen)
{
	size_t	o = 0;

	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		if (in[i] == '\\' && i + 3 < n && in[i + 1] >= '0' && in[i + 1] <= '3') {
			out[o++] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 +
			    (in[i + 3] - '0'));
			i += 3;
		} else
			out[o++] = in[i];
	}
	out[o] = '\0';
}

int
process_cgroup2_mount(const char *mi, char *out, size_t outlen)
{
	const char	*line = mi, *end, *sep, *f, *mp, *mpe;
	int		 field;

	out[0] = '\0';
	for (; *line != '\0'; line = *end ? end + 1 : end) {
		if ((end = strchr(line, '\n')) == NULL)
			end = line + strlen(line);
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE ..." */
		if ((sep = strstr(line, " - ")) == NULL || sep > end)
			continue;
		if (strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		mp = NULL;
		for (f = line, field = 0; f < sep && field < 4; field++) {
			if ((f = memchr(f, ' ', (size_t)(sep - f))) == NULL)
				break;
			f++;
		}
		if (f == NULL || field != 4)
			continue;
		mp = f;
		if ((mpe = memchr(mp, ' ', (size_t)(sep - mp))) == NULL)
			continue;
		unescape_path(mp, (size_t)(mpe - mp), out, outlen);
		return 0;
	}
	return -1;
}

/* The cgroup v2 mount point, looked up once. */
static const char *
cgroup2_root(void)
{
	static char	root[PATH_MAX];
	static bool	looked;
	char		buf[16384];
	ssize_t		n;
	int		fd;

	if (looked)
		return root[0] ? root : NULL;
	if ((fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	looked = true;
	if (process_cgroup2_mount(buf, root, sizeof(root)) == -1)
		root[0] = '\0';
	return root[0] ? root : NULL;
}

static void
process_free_params(void *arg)
{
	struct proc_params	*pp = arg;

	if (pp == NULL)
		return;
	free(pp->pidfile);
	free(pp->dir);
	free(pp->base);
	free(pp->unit);
	free(pp->cgroup);
	free(pp);
}

static bool
is_unit_name(const char *s)
{
	if (s[0] == '\0' || strlen(s) > 255 || s[0] == '.')
		return false;
	for (const char *c = s; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && strchr(":_.\\@-", *c) == NULL)
			return false;
	return true;
}

/* Unit types that have a cgroup, and the interface carrying their ControlGroup. */
static const struct {
	const char	*suffix;
	const char	*iface;
} unit_types[] = {
	{ ".service", "org.freedesktop.systemd1.Service" },
	{ ".scope", "org.freedesktop.systemd1.Scope" },
	{ ".slice", "org.freedesktop.systemd1.Slice" },
	{ ".socket", "org.freedesktop.systemd1.Socket" },
	{ ".mount", "org.freedesktop.systemd1.Mount" },
	{ ".swap", "org.freedesktop.systemd1.Swap" },
};

static const char *
unit_iface(const char *unit)
{
	const char	*dot = strrchr(unit, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(unit_types) / sizeof(unit_types[0]); i++)
		if (strcmp(dot, unit_types[i].suffix) == 0)
			return unit_types[i].iface;
	return NULL;
}

/* systemd's unit_name_escape() for a slice name: [A-Za-z0-9:_.] stay, the rest \xNN. */
static int
unit_escape(const char *in, size_t n, char *out, size_t outlen)
{
	size_t	o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (isalnum(c) || c == ':' || c == '_' || c == '.') {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				return -1;
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		}
	}
	out[o] = '\0';
	return 0;
}

int
process_unit_cgroup_guess(const char *unit, char *out, size_t outlen)
{
	const char	*at = strchr(unit, '@'), *dot = strrchr(unit, '.');
	char		 esc[512];
	size_t		 off = 0, n;
	int		 w;

	if (dot == NULL)
		return -1;
	if (strcmp(dot, ".slice") == 0) {
		/* a-b.slice lives in a.slice: one level per dash. */
		if (strcmp(unit, "-.slice") == 0)
			return snprintf(out, outlen, "%s", "") >= 0 ? 0 : -1;
		out[0] = '\0';
		for (const char *d = strchr(unit, '-'); d != NULL && d < dot;
		    d = strchr(d + 1, '-')) {
			n = (size_t)(d - unit);
			w = snprintf(out + off, outlen - off, "%.*s.slice/", (int)n, unit);
			if (w < 0 || (size_t)w >= outlen - off)
				return -1;
			off += (size_t)w;
		}
		w = snprintf(out + off, outlen - off, "%s", unit);
		return w < 0 || (size_t)w >= outlen - off ? -1 : 0;
	}
	/* A template's instances share the slice system-PREFIX.slice. */
	if (at != NULL && at < dot) {
		if (unit_escape(unit, (size_t)(at - unit), esc, sizeof(esc)) == -1)
			return -1;
		w = snprintf(out, outlen, "system.slice/system-%s.slice/%s", esc, unit);
	} else
		w = snprintf(out, outlen, "system.slice/%s", unit);
	return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

static int
process_parse(struct cfg_ctx *ctx, struct json_object *obj, void **params)
{
	struct proc_params	*pp;
	char			*slash;
	int			 n;

	if ((pp = calloc(1, sizeof(*pp))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	if (cfg_get_string(ctx, obj, "pidfile", false, &pp->pidfile) == -1 ||
	    cfg_get_string(ctx, obj, "unit", false, &pp->unit) == -1 ||
	    cfg_get_string(ctx, obj, "cgroup", false, &pp->cgroup) == -1)
		goto fail;
	n = (pp->pidfile != NULL) + (pp->unit != NULL) + (pp->cgroup != NULL);
	if (n != 1) {
		cfg_error(ctx, NULL, "needs exactly one of pidfile, unit, cgroup");
		goto fail;
	}
	if (pp->pidfile != NULL) {
		if (pp->pidfile[0] != '/' || strlen(pp->pidfile) >= PATH_MAX ||
		    pp->pidfile[strlen(pp->pidfile) - 1] == '/') {
			cfg_error(ctx, "pidfile", "'%s' is not an absolute file path",
			    pp->pidfile);
			goto fail;
		}
		pp->mode = PROC_PIDFILE;
		slash = strrchr(pp->pidfile, '/');
		pp->dir = slash == pp->pidfile ? strdup("/") :
		    strndup(pp->pidfile, (size_t)(slash - pp->pidfile));
		pp->base = strdup(slash + 1);
		if (pp->dir == NULL || pp->base == NULL) {
			cfg_error(ctx, NULL, "out of memory");
			goto fail;
		}
		snprintf(pp->what, sizeof(pp->what), "pidfile %s", pp->pidfile);
	} else if (pp->unit != NULL) {
		if (!is_unit_name(pp->unit)) {
			cfg_error(ctx, "unit", "'%s' is not a systemd unit name", pp->unit);
			goto fail;
		}
		pp->mode = PROC_CGROUP;
		/* As systemctl does: a bare name means a service. */
		if (strchr(pp->unit, '.') == NULL) {
			char *full;
			if (asprintf(&full, "%s.service", pp->unit) == -1) {
				cfg_error(ctx, NULL, "out of memory");
				goto fail;
			}
			free(pp->unit);
			pp->unit = full;
		}
		if ((pp->iface = unit_iface(pp->unit)) == NULL) {
			cfg_error(ctx, "unit", "'%s' has no cgroup (only .service, .scope, "
			    ".slice, .socket, .mount and .swap units have one)", pp->unit);
			goto fail;
		}
		if ((pp->cgroup = malloc(PATH_MAX)) == NULL) {
			cfg_error(ctx, NULL, "out of memory");
			goto fail;
		}
		if (process_unit_cgroup_guess(pp->unit, pp->cgroup, PATH_MAX - 32) == -1) {
			cfg_error(ctx, "unit", "'%s' is too long", pp->unit);
			goto fail;
		}
		snprintf(pp->what, sizeof(pp->what), "unit %s", pp->unit);
	} else {
		if (pp->cgroup[0] == '\0' || strlen(pp->cgroup) >= PATH_MAX - 32 ||
		    strstr(pp->cgroup, "..") != NULL) {
			cfg_error(ctx, "cgroup", "'%s' is not a cgroup path", pp->cgroup);
			goto fail;
		}
		pp->mode = PROC_CGROUP;
		snprintf(pp->what, sizeof(pp->what), "cgroup %s", pp->cgroup);
	}
	*params = pp;
	return 0;
fail:
	process_free_params(pp);
	return -1;
}

/* Whether the process behind pidfd has exited (a pidfd is readable then). */
static bool
pidfd_exited(int pidfd)
{
	struct pollfd	pfd = { .fd = pidfd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 1;
}

/* A process's start, in µs since boot (CLOCK_BOOTTIME), from /proc/PID/stat. */
static int
proc_start_us(pid_t pid, uint64_t *us)
{
	char			 path[64], buf[1024], *s;
	unsigned long long	 ticks;
	ssize_t			 n;
	int			 fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* comm may hold anything, ')' included: fields start after the last ')'. */
	if ((s = strrchr(buf, ')')) == NULL)
		return -1;
	/* After the loop, s is at the space before field 22, starttime. */
	for (field = 2; field < 22; field++)
		if ((s = strchr(s + 1, ' ')) == NULL)
			return -1;
	if (sscanf(s, " %llu", &ticks) != 1)
		return -1;
	*us = ticks * 1000000ULL / (unsigned long long)sysconf(_SC_CLK_TCK);
	return 0;
}

static uint64_t
clock_us(clockid_t c)
{
	struct timespec	ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Reads the pidfile and checks the process it names. PROBE_OK with *pidfd
 * (the caller's) and *pid set, or a failure with a message.
 */
static enum probe_result
pidfile_resolve(const struct proc_params *pp, pid_t *pid, int *pidfd, char *msg,
    size_t msglen)
{
	char		buf[PIDFILE_MAX + 1];
	struct stat	st;
	uint64_t	start_us, written_us;
	ssize_t		n;
	int		fd, e;

	*pidfd = -1;
	if ((fd = open(pp->pidfile, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		e = errno;
		snprintf(msg, msglen, "cannot open %s: %s", pp->what, strerror(e));
		return e == ENOENT || e == ENOTDIR ? PROBE_GONE : PROBE_INTERNAL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(msg, msglen, "%s is not a regular file", pp->what);
		return PROBE_BAD_PIDFILE;
	}
	n = read(fd, buf, sizeof(buf));
	e = errno;
	close(fd);
	if (n == -1) {
		snprintf(msg, msglen, "cannot read %s: %s", pp->what, strerror(e));
		return PROBE_INTERNAL;
	}
	if ((*pid = process_parse_pid(buf, (size_t)n)) == -1) {
		snprintf(msg, msglen, "%s does not hold a pid (%zd bytes)", pp->what, n);
		return PROBE_BAD_PIDFILE;
	}
	if ((*pidfd = sys_pidfd_open(*pid)) == -1) {
		e = errno;
		snprintf(msg, msglen, "pid %d from %s: %s", (int)*pid, pp->what,
		    e == ESRCH ? "no such process (stale pidfile)" : strerror(e));
		return e == ESRCH ? PROBE_GONE : PROBE_INTERNAL;
	}
	/* With the pidfd held, the process cannot be replaced under us. */
	written_us = (uint64_t)st.st_mtim.tv_sec * 1000000 +
	    (uint64_t)st.st_mtim.tv_nsec / 1000;
	written_us -= clock_us(CLOCK_REALTIME) - clock_us(CLOCK_BOOTTIME);
	if (proc_start_us(*pid, &start_us) == -1 || pidfd_exited(*pidfd)) {
		snprintf(msg, msglen, "pid %d from %s has exited", (int)*pid, pp->what);
		goto gone;
	}
	if ((int64_t)start_us > (int64_t)(written_us + REUSE_SLACK_US)) {
		snprintf(msg, msglen, "pid %d from %s started %.1f s after the pidfile "
		    "was written: the pid was reused by another process", (int)*pid,
		    pp->what, ((int64_t)start_us - (int64_t)written_us) / 1e6);
		goto gone;
	}
	snprintf(msg, msglen, "pid %d from %s is running", (int)*pid, pp->what);
	return PROBE_OK;
gone:
	close(*pidfd);
	*pidfd = -1;
	return PROBE_GONE;
}

static void
held_drop_pid(struct proc_held *h)
{
	h->pid_src = sd_event_source_disable_unref(h->pid_src);
	if (h->pidfd != -1)
		close(h->pidfd);
	h->pidfd = -1;
	h->pid = 0;
}

static int	pidfd_cb(sd_event_source *s, int fd, uint32_t revents, void *arg);

/* Watches a resolved process; takes ownership of pidfd. */
static int
held_watch_pid(struct proc_held *h, pid_t pid, int pidfd)
{
	int	r;

	held_drop_pid(h);
	h->pidfd = pidfd;
	h->pid = pid;
	if ((r = sd_event_add_io(h->p->ev, &h->pid_src, pidfd, EPOLLIN, pidfd_cb, h)) < 0) {
		held_drop_pid(h);
		return r;
	}
	/*
	 * Ahead of whatever else is pending: with thousands of probes a
	 * second the exit would otherwise wait its turn behind them (tens
	 * of milliseconds at 10,000 services), and its bound is 10 ms.
	 */
	sd_event_source_set_priority(h->pid_src, SD_EVENT_PRIORITY_IMPORTANT);
	return 0;
}

/* The process exited: report it in this very loop iteration. */
static int
pidfd_cb(sd_event_source *s UNUSED, int fd UNUSED, uint32_t revents UNUSED, void *arg)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	pid_t				 old = h->pid, pid;
	int				 pidfd;
	char				 msg[PATH_MAX + 128];

	held_drop_pid(h);
	/* A restart may already have rewritten the pidfile: follow it. */
	if (pidfile_resolve(pp, &pid, &pidfd, msg, sizeof(msg)) == PROBE_OK &&
	    pid != old) {
		log_msg(LOG_LVL_INFO, NULL, "process", "probe %s: pid %d exited; %s now "
		    "names pid %d", h->p->cfg->name, (int)old, pp->what, (int)pid);
		if (held_watch_pid(h, pid, pidfd) < 0)
			probe_event(h->p, PROBE_INTERNAL, "cannot watch pid %d", (int)pid);
		return 0;
	}
	if (pidfd != -1)
		close(pidfd);
	probe_event(h->p, PROBE_GONE, "pid %d from %s exited", (int)old, pp->what);
	return 0;
}

/* The pidfile was (re)written: move the watch to the process it now names. */
static void
pidfile_changed(struct proc_held *h)
{
	const struct proc_params	*pp = h->p->cfg->params;
	pid_t				 pid;
	int				 pidfd;
	char				 msg[PATH_MAX + 128];

	/* Only a live new process counts; the pidfd decides when one is gone. */
	if (pidfile_resolve(pp, &pid, &pidfd, msg, sizeof(msg)) != PROBE_OK)
		return;
	if (pid == h->pid) {
		close(pidfd);
		return;
	}
	if (h->pid != 0)
		log_msg(LOG_LVL_INFO, NULL, "process", "probe %s: %s now names pid %d "
		    "(was %d)", h->p->cfg->name, pp->what, (int)pid, (int)h->pid);
	if (held_watch_pid(h, pid, pidfd) < 0)
		log_err("probe %s: cannot watch pid %d", h->p->cfg->name, (int)pid);
}

static int
hub_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg UNUSED)
{
	char				 buf[8192]
	    __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event	*ie;
	ssize_t				 n;

	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		for (char *c = buf; c + sizeof(*ie) <= buf + n; c += sizeof(*ie) + ie->len) {
			ie = (const struct inotify_event *)c;
			if (c + sizeof(*ie) + ie->len > buf + n)
				break;
			for (size_t i = 0; i < hub.n; i++) {
				struct proc_held *h = hub.held[i];
				const struct proc_params *pp = h->p->cfg->params;
				/* Events were lost: any pidfile may have changed. */
				if (ie->mask & IN_Q_OVERFLOW)
					pidfile_changed(h);
				else if (ie->mask & IN_IGNORED && h->wd == ie->wd)
					h->wd = -1;	/* directory gone: re-added later */
				else if (h->wd == ie->wd && ie->len > 0 &&
				    strcmp(ie->name, pp->base) == 0)
					pidfile_changed(h);
			}
		}
	}
}

static int
hub_add_watch(struct proc_held *h)
{
	const struct proc_params	*pp = h->p->cfg->params;

	h->wd = inotify_add_watch(hub.fd, pp->dir, IN_CLOSE_WRITE | IN_MOVED_TO |
	    IN_ONLYDIR);
	return h->wd;
}

static int
hub_join(struct proc_held *h, char *err, size_t errlen)
{
	struct proc_held	**v;
	int			  r;

	if (hub.n > 0 && hub.ev != h->p->ev) {
		snprintf(err, errlen, "process probes of two event loops");
		return -1;
	}
	if (hub.fd == -1) {
		if ((hub.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
			snprintf(err, errlen, "inotify: %s", strerror(errno));
			return -1;
		}
		if ((r = sd_event_add_io(h->p->ev, &hub.src, hub.fd, EPOLLIN, hub_cb,
		    NULL)) < 0) {
			close(hub.fd);
			hub.fd = -1;
			snprintf(err, errlen, "cannot watch inotify: %s", strerror(-r));
			return -1;
		}
		hub.ev = h->p->ev;
	}
	if ((v = reallocarray(hub.held, hub.n + 1, sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	hub.held = v;
	hub.held[hub.n++] = h;
	/* A directory that does not exist yet is retried by each attempt. */
	hub_add_watch(h);
	return 0;
}

static void
hub_leave(struct proc_held *h)
{
	bool	shared = false;
	size_t	i, j;

	for (i = j = 0; i < hub.n; i++) {
		if (hub.held[i] == h)
			continue;
		/* inotify gives one wd per directory: keep it while others use it. */
		shared = shared || (h->wd != -1 && hub.held[i]->wd == h->wd);
		hub.held[j++] = hub.held[i];
	}
	hub.n = j;
	if (h->wd != -1 && !shared && hub.fd != -1)
		inotify_rm_watch(hub.fd, h->wd);
	if (hub.n > 0)
		return;
	hub.src = sd_event_source_disable_unref(hub.src);
	if (hub.fd != -1)
		close(hub.fd);
	hub.fd = -1;
	hub.ev = NULL;
	free(hub.held);
	hub.held = NULL;
}

/* The cgroup's cgroup.events, read afresh: 1 populated, 0 empty, -1 error. */
static int
cgroup_populated(int fd)
{
	char	buf[256], *s;
	ssize_t	n;

	/* Reading also acknowledges the kernel's notification (else EPOLLPRI stays). */
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	for (s = buf; s != NULL && *s != '\0'; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
		if (strncmp(s, "populated ", 10) == 0)
			return s[10] == '1' ? 1 : s[10] == '0' ? 0 : -1;
	return -1;
}

static void
held_drop_cgroup(struct proc_held *h)
{
	h->ev_src = sd_event_source_disable_unref(h->ev_src);
	if (h->evfd != -1)
		close(h->evfd);
	h->evfd = -1;
}

/* The cgroup's path; false (msg set) if it cannot be known. */
static bool
cgroup_path(const struct proc_params *pp, char *path, size_t len, char *msg,
    size_t msglen)
{
	const char	*root;

	if (pp->cgroup[0] == '/') {
		snprintf(path, len, "%s/cgroup.events", pp->cgroup);
		return true;
	}
	if ((root = cgroup2_root()) == NULL) {
		snprintf(msg, msglen, "%s: no cgroup v2 hierarchy is mounted", pp->what);
		return false;
	}
	snprintf(path, len, "%s/%s/cgroup.events", root, pp->cgroup);
	return true;
}

static int	cgroup_cb(sd_event_source *s, int fd, uint32_t revents, void *arg);
static int	held_watch_cgroup(struct proc_held *h, int fd);

/*
 * Opens the cgroup afresh (a restarted unit gets a new directory) and
 * reads it; *fd is the caller's on PROBE_OK.
 */
static enum probe_result
cgroup_open_events(const struct proc_params *pp, const char *path, int *fd, char *msg,
    size_t msglen)
{
	int	e, pop;

	*fd = -1;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			snprintf(msg, msglen, "%.300s has no cgroup (%.1000s): not running",
			    pp->what, path);
			return PROBE_GONE;
		}
		snprintf(msg, msglen, "cannot open %.1000s: %s", path, strerror(e));
		return PROBE_INTERNAL;
	}
	pop = cgroup_populated(*fd);
	if (pop == 1) {
		snprintf(msg, msglen, "%s has processes", pp->what);
		return PROBE_OK;
	}
	close(*fd);
	*fd = -1;
	if (pop == 0) {
		snprintf(msg, msglen, "%s has no process left", pp->what);
		return PROBE_GONE;
	}
	snprintf(msg, msglen, "%.1000s is not a cgroup v2 cgroup.events file", path);
	return PROBE_INTERNAL;
}

static enum probe_result
cgroup_resolve(const struct proc_params *pp, int *fd, char *msg, size_t msglen)
{
	char	path[PATH_MAX + 64];

	*fd = -1;
	if (!cgroup_path(pp, path, sizeof(path), msg, msglen))
		return PROBE_INTERNAL;
	return cgroup_open_events(pp, path, fd, msg, msglen);
}

/* One attempt on a path known to hold the cgroup: finishes the attempt. */
static void
cgroup_attempt(struct proc_held *h, enum probe_result r, int fd, const char *msg,
    const char *note)
{
	const struct proc_params	*pp = h->p->cfg->params;

	if (r == PROBE_OK && held_watch_cgroup(h, fd) < 0) {
		probe_done(h->p, PROBE_INTERNAL, "cannot watch %s", pp->what);
		return;
	}
	probe_done(h->p, r, "%s%s", msg, note);
}

/* ---- asking systemd where a unit's cgroup is ---- */

/* systemd on the system bus, shared by every unit probe of the loop. */
static struct {
	sd_event	*ev;
	sd_bus		*bus;
	size_t		 users;
	bool		 absent;	/* no systemd to ask: the guessed path is used */
	bool		 warned;
} sysd;

#define SYSD_GUESS_NOTE	" (path guessed: systemd cannot be asked)"

/*
 * systemd cannot be asked for now (no bus connection, systemd1 not on the
 * bus yet): this attempt guesses, the next one asks again.
 */
static void
sysd_transient(const char *why)
{
	log_msg(sysd.warned ? LOG_LVL_DEBUG : LOG_LVL_WARNING, NULL, "process",
	    "unit probes: systemd cannot be asked now (%s); guessing the cgroup path "
	    "until it can", why);
	sysd.warned = true;
}

/* No systemd at all (not booted with it, or no system bus): guessed from now on. */
static void
sysd_absent(const char *why)
{
	sysd.absent = true;
	if (!sysd.warned)
		log_warn("unit probes: systemd cannot be asked (%s); watching the cgroup "
		    "systemd's defaults give each unit (system.slice/UNIT, or "
		    "system.slice/system-PREFIX.slice/PREFIX@INSTANCE.service): a unit "
		    "placed by Slice= is not found", why);
	sysd.warned = true;
}

static void
sysd_connect(void)
{
	int	r;

	/* Never flushing: that could block the loop on a stuck bus. */
	sysd.bus = sd_bus_close_unref(sysd.bus);
	/* sd_booted(); an explicit bus address (a test's) is asked all the same. */
	if (getenv("DBUS_SYSTEM_BUS_ADDRESS") == NULL &&
	    access("/run/systemd/system", F_OK) == -1) {
		sysd_absent("not booted with systemd: no /run/systemd/system");
		return;
	}
	if ((r = sd_bus_open_system(&sysd.bus)) < 0 ||
	    (r = sd_bus_attach_event(sysd.bus, sysd.ev, SD_EVENT_PRIORITY_NORMAL)) < 0) {
		sysd.bus = sd_bus_close_unref(sysd.bus);
		/* The bus socket is gone: no systemd to ask. Anything else may pass. */
		if (r == -ENOENT || r == -ECONNREFUSED)
			sysd_absent(strerror(-r));
		else
			sysd_transient(strerror(-r));
		return;
	}
	if (sysd.absent || sysd.warned)
		log_info("unit probes: connected to the system bus; asking systemd again");
	sysd.absent = false;
	sysd.warned = false;
}

static void
sysd_join(sd_event *ev)
{
	if (sysd.users++ > 0)
		return;
	sysd.ev = ev;
	sysd.absent = false;
	sysd_connect();
}

static void
sysd_leave(void)
{
	if (sysd.users == 0 || --sysd.users > 0)
		return;
	sysd.bus = sd_bus_close_unref(sysd.bus);
	sysd.ev = NULL;
}

static void
unit_guess(struct proc_held *h)
{
	const struct proc_params	*pp = h->p->cfg->params;
	enum probe_result		 r;
	char				 msg[PATH_MAX + 128];
	int				 fd;

	r = cgroup_resolve(pp, &fd, msg, sizeof(msg));
	cgroup_attempt(h, r, fd, msg, SYSD_GUESS_NOTE);
}

/* Whether m is an error reply; if so the attempt is finished (or falls back). */
static bool
unit_reply_failed(struct proc_held *h, sd_bus_message *m)
{
	const struct proc_params	*pp = h->p->cfg->params;
	const sd_bus_error		*e = sd_bus_message_get_error(m);

	if (e == NULL)
		return false;
	/* Spawn.*: the bus tried to activate systemd1 and could not. */
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
	    (e->name != NULL && strncmp(e->name, "org.freedesktop.DBus.Error.Spawn.",
	    strlen("org.freedesktop.DBus.Error.Spawn.")) == 0)) {
		/* systemd (re)starting, or the bus restarted: guessed this once. */
		sysd_transient("no org.freedesktop.systemd1 on the system bus");
		unit_guess(h);
		return true;
	}
	probe_done(h->p, PROBE_INTERNAL, "%s: systemd: %.300s", pp->what,
	    e->message != NULL ? e->message : e->name);
	return true;
}

static int	unit_loaded_cb(sd_bus_message *m, void *arg, sd_bus_error *ret);
static int	unit_cgroup_cb(sd_bus_message *m, void *arg, sd_bus_error *ret);
static int	unit_state_cb(sd_bus_message *m, void *arg, sd_bus_error *ret);

static int
unit_get(struct proc_held *h, const char *iface, const char *prop,
    sd_bus_message_handler_t cb)
{
	return sd_bus_call_method_async(sysd.bus, &h->slot, "org.freedesktop.systemd1",
	    h->objpath, "org.freedesktop.DBus.Properties", "Get", cb, h, "ss", iface, prop);
}

/* LoadUnit, then ControlGroup, then (without a cgroup) LoadState: never blocking. */
static void
unit_ask(struct proc_held *h)
{
	const struct proc_params	*pp = h->p->cfg->params;
	int				 r;

	/* The bus went away (dbus restarted): connect again. */
	if (sysd.bus == NULL || sd_bus_is_open(sysd.bus) <= 0)
		sysd_connect();
	if (sysd.absent || sysd.bus == NULL) {
		unit_guess(h);
		return;
	}
	r = sd_bus_call_method_async(sysd.bus, &h->slot, "org.freedesktop.systemd1",
	    "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "LoadUnit",
	    unit_loaded_cb, h, "s", pp->unit);
	if (r < 0)
		probe_done(h->p, PROBE_INTERNAL, "%s: cannot ask systemd: %s", pp->what,
		    strerror(-r));
}

static int
unit_loaded_cb(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	const char			*path;
	char				*dup;
	int				 r;

	(void)ret;
	h->slot = sd_bus_slot_unref(h->slot);
	if (unit_reply_failed(h, m))
		return 0;
	if (sd_bus_message_read(m, "o", &path) < 0 || (dup = strdup(path)) == NULL) {
		probe_done(h->p, PROBE_INTERNAL, "%s: unreadable reply from systemd", pp->what);
		return 0;
	}
	free(h->objpath);
	h->objpath = dup;
	if ((r = unit_get(h, pp->iface, "ControlGroup", unit_cgroup_cb)) < 0)
		probe_done(h->p, PROBE_INTERNAL, "%s: cannot ask systemd: %s", pp->what,
		    strerror(-r));
	return 0;
}

static int
unit_cgroup_cb(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	const char			*cg, *root;
	char				 path[PATH_MAX + 64], msg[PATH_MAX + 128];
	enum probe_result		 res;
	int				 r, fd;

	(void)ret;
	h->slot = sd_bus_slot_unref(h->slot);
	if (unit_reply_failed(h, m))
		return 0;
	if (sd_bus_message_read(m, "v", "s", &cg) < 0) {
		probe_done(h->p, PROBE_INTERNAL, "%s: unreadable ControlGroup from systemd",
		    pp->what);
		return 0;
	}
	if (cg[0] == '\0') {
		/* No cgroup: not running, or no such unit. */
		if ((r = unit_get(h, "org.freedesktop.systemd1.Unit", "LoadState",
		    unit_state_cb)) < 0)
			probe_done(h->p, PROBE_INTERNAL, "%s: cannot ask systemd: %s",
			    pp->what, strerror(-r));
		return 0;
	}
	/* Data from another process: a path below the hierarchy, nothing else. */
	if (cg[0] != '/' || strlen(cg) >= PATH_MAX - 32 || strstr(cg, "/..") != NULL) {
		probe_done(h->p, PROBE_INTERNAL, "%s: systemd gave the cgroup '%.300s'",
		    pp->what, cg);
		return 0;
	}
	if ((root = cgroup2_root()) == NULL) {
		probe_done(h->p, PROBE_INTERNAL, "%s: no cgroup v2 hierarchy is mounted",
		    pp->what);
		return 0;
	}
	snprintf(path, sizeof(path), "%s%s/cgroup.events", root, cg);
	res = cgroup_open_events(pp, path, &fd, msg, sizeof(msg));
	cgroup_attempt(h, res, fd, msg, "");
	return 0;
}

static int
unit_state_cb(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	const char			*st;

	(void)ret;
	h->slot = sd_bus_slot_unref(h->slot);
	if (unit_reply_failed(h, m))
		return 0;
	if (sd_bus_message_read(m, "v", "s", &st) < 0)
		probe_done(h->p, PROBE_INTERNAL, "%s: unreadable LoadState from systemd",
		    pp->what);
	else if (strcmp(st, "not-found") == 0)
		probe_done(h->p, PROBE_GONE, "%s does not exist (systemd: not-found)", pp->what);
	else if (strcmp(st, "loaded") == 0)
		probe_done(h->p, PROBE_GONE, "%s is not running (systemd gives it no cgroup)",
		    pp->what);
	else
		probe_done(h->p, PROBE_GONE, "%s is not running (systemd: %.64s)", pp->what,
		    st);
	return 0;
}

static int
held_watch_cgroup(struct proc_held *h, int fd)
{
	int	r;

	held_drop_cgroup(h);
	h->evfd = fd;
	/* EPOLLPRI only: a kernfs file is always readable, EPOLLIN would spin. */
	if ((r = sd_event_add_io(h->p->ev, &h->ev_src, fd, EPOLLPRI, cgroup_cb, h)) < 0)
		held_drop_cgroup(h);
	return r;
}

static int
cgroup_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	int				 pop = cgroup_populated(fd);

	if (pop == 1)
		return 0;
	held_drop_cgroup(h);
	if (pop == 0)
		probe_event(h->p, PROBE_GONE, "%s has no process left", pp->what);
	else
		probe_event(h->p, PROBE_GONE, "%s: its cgroup was removed", pp->what);
	return 0;
}

static int
process_open(struct probe *p, char *err, size_t errlen)
{
	const struct proc_params	*pp = p->cfg->params;
	struct proc_held		*h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->p = p;
	h->pidfd = h->evfd = h->wd = -1;
	if (pp->mode == PROC_PIDFILE && hub_join(h, err, errlen) == -1) {
		free(h);
		return -1;
	}
	if (pp->unit != NULL)
		sysd_join(p->ev);
	p->held = h;
	return 0;
}

static void
process_close(struct probe *p)
{
	const struct proc_params	*pp = p->cfg->params;
	struct proc_held		*h = p->held;

	if (h == NULL)
		return;
	if (pp->mode == PROC_PIDFILE)
		hub_leave(h);
	held_drop_pid(h);
	held_drop_cgroup(h);
	h->slot = sd_bus_slot_unref(h->slot);
	free(h->objpath);
	if (pp->unit != NULL)
		sysd_leave();
	free(h);
	p->held = NULL;
}

static void
process_start(struct probe *p)
{
	const struct proc_params	*pp = p->cfg->params;
	struct proc_held		*h = p->held;
	enum probe_result		 r;
	char				 msg[PATH_MAX + 128];
	pid_t				 pid;
	int				 fd;

	if (pp->mode == PROC_CGROUP) {
		/* Held and populated: the kernel would have told us otherwise. */
		if (h->evfd != -1 && cgroup_populated(h->evfd) == 1) {
			probe_done(p, PROBE_OK, "%s has processes", pp->what);
			return;
		}
		held_drop_cgroup(h);
		/* A unit's cgroup is where systemd says (a loop of its own: the guess). */
		if (pp->unit != NULL && sysd.ev == p->ev) {
			unit_ask(h);
			return;
		}
		r = cgroup_resolve(pp, &fd, msg, sizeof(msg));
		cgroup_attempt(h, r, fd, msg, pp->unit != NULL ? SYSD_GUESS_NOTE : "");
		return;
	}
	if (h->wd == -1)
		hub_add_watch(h);
	if (h->pidfd != -1 && !pidfd_exited(h->pidfd)) {
		probe_done(p, PROBE_OK, "pid %d from %s is running", (int)h->pid, pp->what);
		return;
	}
	held_drop_pid(h);
	if ((r = pidfile_resolve(pp, &pid, &fd, msg, sizeof(msg))) == PROBE_OK &&
	    held_watch_pid(h, pid, fd) < 0) {
		probe_done(p, PROBE_INTERNAL, "cannot watch pid %d", (int)pid);
		return;
	}
	probe_done(p, r, "%s", msg);
}

/* Only a question to systemd is ever in flight; its answer is dropped. */
static void
process_abort(struct probe *p)
{
	struct proc_held	*h = p->held;

	if (h != NULL)
		h->slot = sd_bus_slot_unref(h->slot);
}

/* ---- validate: does each unit exist? Blocking: never on the loop. ---- */

/* systemd's LoadState of unit ("not-found" for none); 0, or -1 with err. */
static int
unit_load_state(sd_bus *bus, const char *unit, char *state, size_t len, char *err,
    size_t errlen)
{
	sd_bus_error	 e = SD_BUS_ERROR_NULL;
	sd_bus_message	*reply = NULL;
	const char	*path;
	char		*ls = NULL;
	int		 r;

	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
	    "org.freedesktop.systemd1.Manager", "LoadUnit", &e, &reply, "s", unit);
	if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
		snprintf(state, len, "not-found");
		r = 0;
		goto out;
	}
	if (r < 0 || (r = sd_bus_message_read(reply, "o", &path)) < 0)
		goto out;
	if ((r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
	    "org.freedesktop.systemd1.Unit", "LoadState", &e, &ls)) < 0)
		goto out;
	snprintf(state, len, "%s", ls);
out:
	if (r < 0)
		snprintf(err, errlen, "%s", e.message != NULL ? e.message : strerror(-r));
	free(ls);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return r < 0 ? -1 : 0;
}

size_t
process_check_units(const struct cfg *cfg, FILE *out)
{
	const struct proc_params	*pp;
	sd_bus				*bus = NULL;
	char				 state[64], err[256];
	size_t				 missing = 0;
	int				 r;

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct cfg_service *s = &cfg->services[i];
		for (size_t j = 0; j < s->nprobes; j++) {
			if (s->probes[j].type != &probe_type_process.cfg ||
			    (pp = s->probes[j].params) == NULL || pp->unit == NULL)
				continue;
			if (bus == NULL) {
				if (getenv("DBUS_SYSTEM_BUS_ADDRESS") == NULL &&
				    access("/run/systemd/system", F_OK) == -1) {
					fprintf(out, "note: units not checked: not booted "
					    "with systemd\n");
					goto out;
				}
				if ((r = sd_bus_open_system(&bus)) < 0) {
					fprintf(out, "note: units not checked: no system "
					    "bus (%s)\n", strerror(-r));
					goto out;
				}
			}
			if (unit_load_state(bus, pp->unit, state, sizeof(state), err,
			    sizeof(err)) == -1)
				fprintf(out, "note: service %s: unit %s not checked: %s\n",
				    s->name, pp->unit, err);
			else if (strcmp(state, "not-found") == 0) {
				fprintf(out, "warning: service %s: unit %s does not exist "
				    "(systemd: not-found); its probe stays down until it "
				    "does\n", s->name, pp->unit);
				missing++;
			}
		}
	}
out:
	sd_bus_close_unref(bus);
	return missing;
}

const struct probe_type probe_type_process = {
	.cfg = {
		.name = "process",
		.keys = process_keys,
		.parse = process_parse,
		.free_params = process_free_params,
	},
	.start = process_start,
	.abort = process_abort,
	.open = process_open,
	.close = process_close,
};
