#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "cfg.h"
#include "probe.h"
#include "testutil.h"

static char	tu_dir[64];

/* Every test process (Criterion forks one per test) knows the probe types. */
__attribute__((constructor)) static void
tu_register_probe_types(void)
{
	probe_types_register();
}

static void
tu_write(const char *path, const char *text)
{
	FILE	*f = fopen(path, "w");

	cr_assert_not_null(f, "fopen %s", path);
	fputs(text, f);
	fclose(f);
	chmod(path, 0644);
}

struct cfg *
tu_load(const char *main_json, const char *name, const char *svc_json, ...)
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*cfg;
	char			 path[512], main_path[512];
	va_list			 ap;

	snprintf(tu_dir, sizeof(tu_dir), "/tmp/ahd-test-XXXXXX");
	cr_assert_not_null(mkdtemp(tu_dir));
	chmod(tu_dir, 0755);
	snprintf(path, sizeof(path), "%s/services.d", tu_dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(main_path, sizeof(main_path), "%s/main.json", tu_dir);
	tu_write(main_path, main_json ? main_json : "{}");
	va_start(ap, svc_json);
	while (name != NULL) {
		snprintf(path, sizeof(path), "%s/services.d/%s.json", tu_dir, name);
		tu_write(path, svc_json);
		name = va_arg(ap, const char *);
		if (name != NULL)
			svc_json = va_arg(ap, const char *);
	}
	va_end(ap);
	cfg = cfg_load(main_path, &errs);
	for (size_t i = 0; i < errs.n; i++)
		cr_log_error("%s", errs.msgs[i]);
	cr_assert_not_null(cfg, "configuration did not load (%zu errors)", errs.n);
	cfg_errors_clear(&errs);
	return cfg;
}

struct cfg *
tu_try_load(const char *svc_json, char *errs, size_t errlen)
{
	struct cfg_errors	 e = { 0 };
	struct cfg		*cfg;
	char			 path[512], main_path[512];
	size_t			 off = 0;

	snprintf(tu_dir, sizeof(tu_dir), "/tmp/ahd-test-XXXXXX");
	cr_assert_not_null(mkdtemp(tu_dir));
	chmod(tu_dir, 0755);
	snprintf(path, sizeof(path), "%s/services.d", tu_dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(main_path, sizeof(main_path), "%s/main.json", tu_dir);
	tu_write(main_path, "{}");
	snprintf(path, sizeof(path), "%s/services.d/svc.json", tu_dir);
	tu_write(path, svc_json);
	cfg = cfg_load(main_path, &e);
	errs[0] = '\0';
	for (size_t i = 0; i < e.n && off < errlen; i++) {
		/* Without the directory: messages start at "services.d/". */
		const char *m = strstr(e.msgs[i], "services.d/");
		off += (size_t)snprintf(errs + off, errlen - off, "%s%s", i ? "\n" : "",
		    m != NULL ? m : e.msgs[i]);
	}
	cfg_errors_clear(&e);
	return cfg;
}

static int
tu_rm(const char *path, const struct stat *st UNUSED, int flag UNUSED, struct FTW *ftw UNUSED)
{
	return remove(path);
}

void
tu_cleanup(void)
{
	if (tu_dir[0] != '\0')
		nftw(tu_dir, tu_rm, 8, FTW_DEPTH | FTW_PHYS);
	tu_dir[0] = '\0';
}

int
tu_listen(int backlog, uint16_t *port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	socklen_t		len = sizeof(sin);
	int			fd, one = 1;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	cr_assert_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	cr_assert_eq(listen(fd, backlog), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

uint16_t
tu_closed_port(void)
{
	uint16_t	port;
	int		fd = tu_listen(1, &port);

	close(fd);
	return port;
}

static int
tu_timeout_cb(sd_event_source *s, uint64_t usec UNUSED, void *arg UNUSED)
{
	return sd_event_exit(sd_event_source_get_event(s), 0);
}

bool
tu_run_until(sd_event *ev, const bool *flag, unsigned timeout_ms)
{
	sd_event_source	*t = NULL;

	cr_assert_geq(sd_event_add_time_relative(ev, &t, CLOCK_MONOTONIC,
	    (uint64_t)timeout_ms * 1000, 1, tu_timeout_cb, NULL), 0);
	while (!*flag && sd_event_get_state(ev) != SD_EVENT_FINISHED)
		cr_assert_geq(sd_event_run(ev, UINT64_MAX), 0);
	sd_event_source_disable_unref(t);
	return *flag;
}

const char *
tu_mkdir(void)
{
	snprintf(tu_dir, sizeof(tu_dir), "/tmp/ahd-test-XXXXXX");
	cr_assert_not_null(mkdtemp(tu_dir));
	chmod(tu_dir, 0755);
	return tu_dir;
}

/*
 * The calling process in a network namespace of its own, lo up (127.0.0.1
 * and ::1, whatever the host's sysctls): a test's sockets, addresses and
 * counts meet no other process's. Criterion runs each test in a process of
 * its own, so the namespace goes with it.
 */
void
tu_private_netns(void)
{
	struct ifreq	ifr;
	int		fd;

	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET): %s",
	    strerror(errno));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	cr_assert_eq(ioctl(fd, SIOCGIFFLAGS, &ifr), 0);
	ifr.ifr_flags |= IFF_UP;
	cr_assert_eq(ioctl(fd, SIOCSIFFLAGS, &ifr), 0, "lo up: %s", strerror(errno));
	close(fd);
}
