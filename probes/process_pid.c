/*
 * Process probe, pidfile side: reads the pidfile, checks that the pid it
 * names is the process that wrote it, holds it as a pidfd (readable when it
 * exits) and follows rewrites of the pidfile through one inotify instance
 * shared by every process probe. Moved from process.c.
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

#include "compiler.h"
#include "cfg.h"
#include "log.h"
#include "probe.h"
#include "process.h"
#include "process_int.h"

#define PIDFILE_MAX	64		/* "4194304\n" and then some */
/*
 * A pid whose process started this long after its pidfile was last written
 * is not the process that wrote it: the pid was reused. (A daemon writes
 * its pidfile after it started; the slack covers clock-tick resolution.)
 */
#define REUSE_SLACK_US	1000000ULL

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

void
proc_pid_drop(struct proc_held *h)
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

	proc_pid_drop(h);
	h->pidfd = pidfd;
	h->pid = pid;
	if ((r = sd_event_add_io(h->p->ev, &h->pid_src, pidfd, EPOLLIN, pidfd_cb, h)) < 0) {
		proc_pid_drop(h);
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

	proc_pid_drop(h);
	/* A restart may already have rewritten the pidfile: follow it. */
	if (pidfile_resolve(pp, &pid, &pidfd, msg, sizeof(msg)) == PROBE_OK &&
	    pid != old) {
		log_msg(LOG_LVL_INFO, NULL, "process", "probe %s: pid %d exited; %s now "
		    "names pid %d", h->p->cfg->name, (int)old, pp->what, (int)pid);
		if (held_watch_pid(h, pid, pidfd) < 0)
			probe_done(h->p, PROBE_INTERNAL, PROBE_DONE_EVENT, NULL,
			    "cannot watch pid %d", (int)pid);
		return 0;
	}
	if (pidfd != -1)
		close(pidfd);
	probe_done(h->p, PROBE_GONE, PROBE_DONE_EVENT, NULL, "pid %d from %s exited", (int)old,
	    pp->what);
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

int
proc_hub_join(struct proc_held *h, char *err, size_t errlen)
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

void
proc_hub_leave(struct proc_held *h)
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

/* One attempt of a pidfile probe. */
void
proc_pid_start(struct proc_held *h)
{
	struct probe			*p = h->p;
	const struct proc_params	*pp = p->cfg->params;
	enum probe_result		 r;
	char				 msg[PATH_MAX + 128];
	pid_t				 pid;
	int				 fd;

	if (h->wd == -1)
		hub_add_watch(h);
	if (h->pidfd != -1 && !pidfd_exited(h->pidfd)) {
		probe_done(p, PROBE_OK, 0, NULL, "pid %d from %s is running", (int)h->pid,
		    pp->what);
		return;
	}
	proc_pid_drop(h);
	if ((r = pidfile_resolve(pp, &pid, &fd, msg, sizeof(msg))) == PROBE_OK &&
	    held_watch_pid(h, pid, fd) < 0) {
		probe_done(p, PROBE_INTERNAL, 0, NULL, "cannot watch pid %d", (int)pid);
		return;
	}
	probe_done(p, r, 0, NULL, "%s", msg);
}
