/*
 * The process probe with processes and cgroups made by the test: pidfile
 * missing, garbage, stale, reused, live; the exit event taking the service
 * down at once; a rewritten pidfile followed; a unit without a cgroup; a
 * real cgroup v2 group (when the hierarchy is writable here).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "compiler.h"
#include "clock.h"
#include "cfg.h"
#include "probe.h"
#include "process.h"
#include "svc.h"
#include "testutil.h"

static sd_event	*ev;
static char	 dir[64];
static char	 pidfile[128];
static bool	 done;

static void
setup(void)
{
	cr_assert_geq(sd_event_new(&ev), 0);
	snprintf(dir, sizeof(dir), "/tmp/ahd-proc-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(pidfile, sizeof(pidfile), "%s/svc.pid", dir);
}

static char	 cg[PATH_MAX];	/* a cgroup made by the test, removed even on failure */
static pid_t	 bus_pid;	/* a dbus-daemon started by the test, likewise stopped */

static void
teardown(void)
{
	char	path[PATH_MAX + 16];
	int	fd;

	if (cg[0] != '\0') {
		snprintf(path, sizeof(path), "%s/cgroup.kill", cg);
		if ((fd = open(path, O_WRONLY)) != -1) {
			(void)!write(fd, "1", 1);
			close(fd);
		}
		for (int i = 0; i < 50 && rmdir(cg) == -1 && errno == EBUSY; i++)
			usleep(10000);
	}
	if (bus_pid > 0)
		kill(bus_pid, SIGTERM);
	unlink(pidfile);
	rmdir(dir);
	sd_event_unref(ev);
	tu_cleanup();
}

TestSuite(process, .init = setup, .fini = teardown);

static void
on_done(struct probe *p UNUSED, void *arg UNUSED)
{
	done = true;
}

/* A child that sleeps until killed. */
static pid_t
spawn(void)
{
	pid_t	pid = fork();

	cr_assert_neq(pid, -1);
	if (pid == 0) {
		/* Never outlive a failed test (and hold its output pipe). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (;;)
			pause();
	}
	return pid;
}

static void
reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void
write_pidfile(const char *text)
{
	char	tmp[160];
	FILE	*f;

	/* As daemons do: write aside, rename into place (one inotify event). */
	snprintf(tmp, sizeof(tmp), "%s.tmp", pidfile);
	cr_assert_not_null(f = fopen(tmp, "w"));
	fputs(text, f);
	fclose(f);
	cr_assert_eq(rename(tmp, pidfile), 0);
}

static void
write_pid(pid_t pid)
{
	char	buf[32];

	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	write_pidfile(buf);
}

static const char *
probe_json(void)
{
	static char	json[256];

	snprintf(json, sizeof(json), "{ \"type\": \"process\", \"pidfile\": \"%s\" }",
	    pidfile);
	return json;
}

static struct cfg *
load_svc(const char *probe, const char *timing)
{
	char	svc[PATH_MAX + 1024];

	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], %s, "
	    "\"probes\": [ %s ] }", timing, probe);
	return tu_load("{ \"defaults\": { \"jitter\": \"0%\" } }", "svc", svc, NULL);
}

/* One attempt, as `anycast-healthctl check` runs it. */
static struct probe *
run_once(const char *probe, struct cfg **cfgp)
{
	struct probe	*p;

	*cfgp = load_svc(probe, "\"interval\": \"1s\", \"timeout\": \"500ms\"");
	p = probe_new(ev, &(*cfgp)->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 1000), "probe did not finish");
	return p;
}

struct pid_case {
	const char	*text;
	pid_t		 pid;
};

Test(process, parse_pid)
{
	static const struct pid_case cases[] = {
		{ "1234\n", 1234 }, { "1234", 1234 }, { "  42 \n\n", 42 },
		{ "\t7\r\n", 7 }, { "2147483647", 2147483647 },
		{ "", -1 }, { "\n", -1 }, { "0\n", -1 }, { "-5\n", -1 },
		{ "12a\n", -1 }, { "12 34\n", -1 }, { "2147483648", -1 },
		{ "99999999999999999999", -1 }, { "abc", -1 }, { "+5", -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_eq(process_parse_pid(cases[i].text, strlen(cases[i].text)),
		    cases[i].pid, "case %zu '%s'", i, cases[i].text);
	/* Lengths are respected: no NUL is needed, none is trusted. */
	cr_expect_eq(process_parse_pid("12345", 2), 12);
	cr_expect_eq(process_parse_pid("1\0002", 3), -1);
}

Test(process, cgroup2_mount_from_mountinfo)
{
	char	out[256];

	cr_expect_eq(process_cgroup2_mount(
	    "22 1 0:21 / /sys rw,nosuid - sysfs sysfs rw\n"
	    "30 22 0:26 / /sys/fs/cgroup/cpu rw shared:9 - cgroup cgroup rw,cpu\n"
	    "35 25 0:30 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n",
	    out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/sys/fs/cgroup/unified");
	cr_expect_eq(process_cgroup2_mount(
	    "35 25 0:30 / /sys/fs/cgroup rw,nosuid,nodev - cgroup2 cgroup2 rw,nsdelegate",
	    out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/sys/fs/cgroup");
	cr_expect_eq(process_cgroup2_mount(
	    "35 25 0:30 / /mnt/my\\040cg rw - cgroup2 none rw\n", out, sizeof(out)), 0);
	cr_expect_str_eq(out, "/mnt/my cg");
	cr_expect_eq(process_cgroup2_mount(
	    "30 22 0:26 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n", out,
	    sizeof(out)), -1);
	cr_expect_eq(process_cgroup2_mount("garbage\n\n - cgroup2\n", out, sizeof(out)), -1);
}

Test(process, pidfile_missing)
{
	struct cfg	*cfg;
	struct probe	*p = run_once(probe_json(), &cfg);
	char		 want[256];

	cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
	cr_expect_eq(p->state, NAGIOS_CRITICAL);
	snprintf(want, sizeof(want), "cannot open pidfile %s: No such file or directory",
	    pidfile);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
}

Test(process, pidfile_garbage)
{
	static const char *const texts[] = { "", "abc\n", "12 13\n", "0\n", "-1\n" };
	struct cfg	*cfg;
	struct probe	*p;
	char		 want[256];

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		write_pidfile(texts[i]);
		p = run_once(probe_json(), &cfg);
		cr_expect_eq(p->result, PROBE_BAD_PIDFILE, "'%s': %s", texts[i], p->msg);
		snprintf(want, sizeof(want), "pidfile %s does not hold a pid (%zu bytes)",
		    pidfile, strlen(texts[i]));
		cr_expect_str_eq(p->msg, want);
		probe_free(p);
		cfg_free(cfg);
		tu_cleanup();
	}
}

Test(process, pidfile_stale)
{
	struct cfg	*cfg;
	struct probe	*p;
	pid_t		 pid = spawn();
	char		 want[256];

	reap(pid);
	write_pid(pid);
	p = run_once(probe_json(), &cfg);
	cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
	snprintf(want, sizeof(want), "pid %d from pidfile %s: no such process "
	    "(stale pidfile)", (int)pid, pidfile);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
}

Test(process, pidfile_live)
{
	struct cfg	*cfg;
	struct probe	*p;
	pid_t		 pid = spawn();
	char		 want[256];

	write_pid(pid);
	p = run_once(probe_json(), &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	cr_expect_eq(p->state, NAGIOS_OK);
	snprintf(want, sizeof(want), "pid %d from pidfile %s is running", (int)pid, pidfile);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
	reap(pid);
}

Test(process, pidfile_zombie_is_gone)
{
	struct cfg	*cfg;
	struct probe	*p;
	pid_t		 pid = spawn();
	siginfo_t	 si;

	write_pid(pid);
	kill(pid, SIGKILL);
	/*
	 * Exited but not reaped: the pid exists, the server does not. WNOWAIT
	 * waits for the exit and leaves the zombie (a fixed sleep raced a
	 * loaded machine).
	 */
	cr_assert_eq(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0, "waitid: %s",
	    strerror(errno));
	p = run_once(probe_json(), &cfg);
	cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
	cr_expect_not_null(strstr(p->msg, "has exited"), "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
	waitpid(pid, NULL, 0);
}

/*
 * A pid reused: the pidfile names a live process that started long after
 * the pidfile was written, so it cannot be the process that wrote it.
 */
Test(process, pidfile_pid_reused)
{
	struct cfg	*cfg;
	struct probe	*p;
	struct timespec	 old[2];
	pid_t		 pid = spawn();
	char		 want[256];

	write_pid(pid);
	clock_gettime(CLOCK_REALTIME, &old[0]);
	old[0].tv_sec -= 3600;
	old[1] = old[0];
	cr_assert_eq(utimensat(AT_FDCWD, pidfile, old, 0), 0);
	p = run_once(probe_json(), &cfg);
	cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
	snprintf(want, sizeof(want), "pid %d from pidfile %s started 3600", (int)pid,
	    pidfile);
	cr_expect_eq(strncmp(p->msg, want, strlen(want)), 0, "%s", p->msg);
	cr_expect_not_null(strstr(p->msg, "the pid was reused by another process"));
	probe_free(p);
	cfg_free(cfg);
	reap(pid);
}

struct seen {
	enum svc_state	 state;
	unsigned	 changes;
	uint64_t	 at_us;
};

static void
on_changed(struct svc *s, void *arg)
{
	struct seen	*seen = arg;

	seen->state = s->state;
	seen->changes++;
	seen->at_us = now_us();
	done = true;
}

/*
 * Runs the loop until the service changes state or timeout_ms pass (the
 * loop stays usable: tu_run_until() ends it on a timeout).
 */
static bool
wait_change(unsigned timeout_ms)
{
	uint64_t	end = now_us() + (uint64_t)timeout_ms * 1000, now;

	done = false;
	while (!done && (now = now_us()) < end)
		cr_assert_geq(sd_event_run(ev, end - now), 0);
	return done;
}

/*
 * The exit is reported in the loop iteration that sees it: the service is
 * down long before the next attempt (1 s) and without fall (5) rounds.
 */
static void
check_exit_event(const char *probe)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { 0 };
	pid_t		 pid = spawn();
	uint64_t	 t0;

	write_pid(pid);
	cfg = load_svc(probe, "\"interval\": \"1s\", \"timeout\": \"500ms\", "
	    "\"rise\": 1, \"fall\": 5");
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	cr_assert_not_null(s);
	cr_assert_eq(svc_start(s), 0);
	cr_assert(wait_change(2000) && seen.state == SVC_UP, "never came up: %s",
	    s->probes[0]->msg);
	/* Let the loop go idle, then kill. */
	wait_change(100);
	t0 = now_us();
	kill(pid, SIGKILL);
	cr_assert(wait_change(900), "not down before the next attempt");
	cr_expect_eq(seen.state, SVC_DOWN);
	cr_expect_lt(seen.at_us - t0, 50000, "took %llu us",
	    (unsigned long long)(seen.at_us - t0));
	cr_expect_eq(s->probes[0]->result, PROBE_GONE);
	cr_expect_eq(s->probes[0]->runs, 2, "the exit is one result, not a round");
	waitpid(pid, NULL, 0);

	/* Back: rise applies through the periodic attempts. */
	pid = spawn();
	write_pid(pid);
	cr_assert(wait_change(2500), "never came back");
	cr_expect_eq(seen.state, SVC_UP);
	reap(pid);
	svc_free(s);
	cfg_free(cfg);
}

Test(process, exit_takes_service_down_at_once)
{
	check_exit_event(probe_json());
}

Test(process, rewritten_pidfile_is_followed)
{
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { 0 };
	pid_t		 a = spawn(), b = spawn();
	uint64_t	 t0;

	write_pid(a);
	cfg = load_svc(probe_json(), "\"interval\": \"1s\", \"timeout\": \"500ms\", "
	    "\"rise\": 1, \"fall\": 5");
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	cr_assert_eq(svc_start(s), 0);
	cr_assert(wait_change(2000) && seen.state == SVC_UP);
	/* A restart writes the new pid before the old process ends (inotify). */
	write_pid(b);
	wait_change(100);
	reap(a);
	cr_expect_not(wait_change(300), "went %s when the old process ended",
	    svc_state_str(seen.state));
	cr_expect_eq(seen.changes, 1);
	t0 = now_us();
	kill(b, SIGKILL);
	cr_assert(wait_change(900));
	cr_expect_eq(seen.state, SVC_DOWN);
	cr_expect_lt(seen.at_us - t0, 50000);
	waitpid(b, NULL, 0);
	svc_free(s);
	cfg_free(cfg);
}

Test(process, unit_without_cgroup)
{
	struct cfg	*cfg;
	struct probe	*p;

	/*
	 * No system bus, on every host: where systemd runs (a usual Debian
	 * machine) it would be asked and answer "not-found", a path the fake
	 * systemd test covers. A bus address with no socket is what a machine
	 * without systemd amounts to (ENOENT). Criterion forks each test: the
	 * variable stays in this one.
	 */
	cr_assert_eq(setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/ahd-no-bus", 1), 0);
	p = run_once("{ \"type\": \"process\", \"unit\": \"ahd-no-such-unit\" }", &cfg);
	/* Gone when the hierarchy exists; UNKNOWN where there is none at all. */
	if (p->result == PROBE_INTERNAL) {
		cr_expect_not_null(strstr(p->msg, "no cgroup v2 hierarchy"), "%s", p->msg);
	} else {
		cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
		cr_expect_not_null(strstr(p->msg, "unit ahd-no-such-unit.service has no "
		    "cgroup ("), "%s", p->msg);
		/* No system bus: systemd's default path, said so. */
		cr_expect_not_null(strstr(p->msg,
		    "/system.slice/ahd-no-such-unit.service/cgroup.events): not running "
		    "(path guessed: systemd cannot be asked)"), "%s", p->msg);
	}
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();

	p = run_once("{ \"type\": \"process\", \"cgroup\": \"/nonexistent/ahd.scope\" }",
	    &cfg);
	cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
	cr_expect_str_eq(p->msg, "cgroup /nonexistent/ahd.scope has no cgroup "
	    "(/nonexistent/ahd.scope/cgroup.events): not running");
	probe_free(p);
	cfg_free(cfg);
}

/* The cgroup v2 mount, or NULL (the real-cgroup test is skipped then). */
static const char *
cg_root(void)
{
	static char	root[256];
	char		buf[16384];
	FILE		*f = fopen("/proc/self/mountinfo", "r");
	size_t		n;

	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return process_cgroup2_mount(buf, root, sizeof(root)) == 0 ? root : NULL;
}

Test(process, cgroup_events)
{
	const char	*root = cg_root();
	char		 procs[PATH_MAX + 16], probe[PATH_MAX + 64], num[32];
	struct cfg	*cfg;
	struct svc	*s;
	struct seen	 seen = { 0 };
	pid_t		 pid;
	uint64_t	 t0;
	int		 fd;

	if (root == NULL || getuid() != 0)
		cr_skip_test("no cgroup v2 hierarchy, or not root");
	snprintf(cg, sizeof(cg), "%s/ahd-test-%d", root, (int)getpid());
	if (mkdir(cg, 0755) == -1) {
		cg[0] = '\0';
		cr_skip_test("cannot create a cgroup under %s: %s", root, strerror(errno));
	}
	pid = spawn();
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	fd = open(procs, O_WRONLY);
	cr_assert_geq(fd, 0);
	snprintf(num, sizeof(num), "%d", (int)pid);
	cr_assert_gt(write(fd, num, strlen(num)), 0, "%s", strerror(errno));
	close(fd);

	snprintf(probe, sizeof(probe), "{ \"type\": \"process\", \"cgroup\": \"%s\" }", cg);
	cfg = load_svc(probe, "\"interval\": \"1s\", \"timeout\": \"500ms\", "
	    "\"rise\": 1, \"fall\": 5");
	s = svc_new(ev, &cfg->services[0], on_changed, &seen);
	cr_assert_eq(svc_start(s), 0);
	cr_assert(wait_change(2000) && seen.state == SVC_UP, "%s",
	    s->probes[0]->msg);
	/* Idle: no event while populated (EPOLLPRI only, no spinning). */
	cr_expect_not(wait_change(300));
	cr_expect_eq(s->probes[0]->runs, 1);
	t0 = now_us();
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	cr_assert(wait_change(900), "not down before the next attempt");
	cr_expect_eq(seen.state, SVC_DOWN);
	cr_expect_lt(seen.at_us - t0, 50000);
	cr_expect_eq(s->probes[0]->result, PROBE_GONE);
	snprintf(probe, sizeof(probe), "cgroup %s has no process left", cg);
	cr_expect_str_eq(s->probes[0]->msg, probe);
	svc_free(s);
	cfg_free(cfg);
}

Test(process, unit_cgroup_guess_follows_systemd_defaults)
{
	static const struct { const char *unit, *want; } cases[] = {
		{ "unbound.service", "system.slice/unbound.service" },
		{ "unbound@x.service", "system.slice/system-unbound.slice/unbound@x.service" },
		{ "foo-bar@a-b.service", "system.slice/system-foo\\x2dbar.slice/foo-bar@a-b.service" },
		{ "sshd.socket", "system.slice/sshd.socket" },
		{ "system.slice", "system.slice" },
		{ "system-foo.slice", "system.slice/system-foo.slice" },
		{ "a-b-c.slice", "a.slice/a-b.slice/a-b-c.slice" },
	};
	char	out[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert_eq(process_unit_cgroup_guess(cases[i].unit, out, sizeof(out)), 0,
		    "%s", cases[i].unit);
		cr_expect_str_eq(out, cases[i].want, "%s", cases[i].unit);
	}
	cr_expect_eq(process_unit_cgroup_guess("unbound@x.service", out, 20), -1);
	cr_expect_eq(process_unit_cgroup_guess("nodot", out, sizeof(out)), -1);
}

Test(process, unit_without_a_cgroup_type_is_refused)
{
	char		errs[4096];
	struct cfg	*cfg;

	cfg = tu_try_load("{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"process\", \"unit\": \"multi-user.target\" } ] }", errs,
	    sizeof(errs));
	cr_expect_null(cfg);
	cr_expect_not_null(strstr(errs, "'multi-user.target' has no cgroup"), "%s", errs);
	cfg_free(cfg);
}

/*
 * systemd as the probe sees it, on a private dbus-daemon named by
 * DBUS_SYSTEM_BUS_ADDRESS: LoadUnit, and Properties.Get of ControlGroup and
 * LoadState, from a table. Served on the test's own loop.
 */
static const struct fake_unit {
	const char	*name;
	const char	*cgroup;	/* "" none; "@" the test's cgroup */
	const char	*load_state;
} fake_units[] = {
	{ "tmpl@x.service", "@", "loaded" },
	{ "ahd-stopped.service", "", "loaded" },
	{ "ahd-missing.service", "", "not-found" },
};

static int
fake_systemd_cb(sd_bus_message *m, void *arg, sd_bus_error *e)
{
	const char	*path = sd_bus_message_get_path(m), *name, *iface, *prop;
	char		 obj[256];
	const char	*relcg = arg;

	if (sd_bus_message_is_method_call(m, "org.freedesktop.systemd1.Manager", "LoadUnit")) {
		cr_assert_geq(sd_bus_message_read(m, "s", &name), 0);
		for (size_t i = 0; i < sizeof(fake_units) / sizeof(fake_units[0]); i++)
			if (strcmp(fake_units[i].name, name) == 0) {
				snprintf(obj, sizeof(obj), "/org/freedesktop/systemd1/unit/u%zu", i);
				return sd_bus_reply_method_return(m, "o", obj);
			}
		return sd_bus_reply_method_errorf(m, "org.freedesktop.systemd1.NoSuchUnit",
		    "unit %s not known to the fake", name);
	}
	if (sd_bus_message_is_method_call(m, "org.freedesktop.DBus.Properties", "Get")) {
		size_t i;
		cr_assert_geq(sd_bus_message_read(m, "ss", &iface, &prop), 0);
		cr_assert_eq(sscanf(path, "/org/freedesktop/systemd1/unit/u%zu", &i), 1);
		if (strcmp(prop, "ControlGroup") == 0) {
			cr_expect_str_eq(iface, "org.freedesktop.systemd1.Service");
			return sd_bus_reply_method_return(m, "v", "s",
			    strcmp(fake_units[i].cgroup, "@") == 0 ? relcg : fake_units[i].cgroup);
		}
		cr_expect_str_eq(iface, "org.freedesktop.systemd1.Unit");
		return sd_bus_reply_method_return(m, "v", "s", fake_units[i].load_state);
	}
	(void)e;
	return 0;
}

Test(process, unit_cgroup_is_where_systemd_says)
{
	const char	*root = cg_root();
	char		 line[512] = "", addr[512], relcg[PATH_MAX], num[32], procs[PATH_MAX + 16];
	sd_bus		*srv = NULL;
	struct cfg	*cfg;
	struct probe	*p;
	FILE		*f;
	pid_t		 pid;
	int		 fd;

	if (root == NULL || getuid() != 0 || access("/usr/bin/dbus-daemon", X_OK) != 0)
		cr_skip_test("no cgroup v2 hierarchy, not root, or no dbus-daemon");
	/* A cgroup where systemd would never put it, as Slice= can. */
	snprintf(relcg, sizeof(relcg), "/ahd-slice-%d", (int)getpid());
	snprintf(cg, sizeof(cg), "%s%s", root, relcg);
	if (mkdir(cg, 0755) == -1) {
		cg[0] = '\0';
		cr_skip_test("cannot create a cgroup under %s: %s", root, strerror(errno));
	}
	pid = spawn();
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", cg);
	cr_assert_geq(fd = open(procs, O_WRONLY), 0);
	snprintf(num, sizeof(num), "%d", (int)pid);
	cr_assert_gt(write(fd, num, strlen(num)), 0, "%s", strerror(errno));
	close(fd);

	f = popen("dbus-daemon --session --fork --print-address=1 --print-pid=1", "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(addr, sizeof(addr), f));
	cr_assert_not_null(fgets(line, sizeof(line), f));
	pclose(f);
	addr[strcspn(addr, "\n")] = '\0';
	bus_pid = (pid_t)atoi(line);
	cr_assert_gt(bus_pid, 0);
	setenv("DBUS_SYSTEM_BUS_ADDRESS", addr, 1);

	cr_assert_geq(sd_bus_new(&srv), 0);
	cr_assert_geq(sd_bus_set_address(srv, addr), 0);
	cr_assert_geq(sd_bus_set_bus_client(srv, 1), 0);
	cr_assert_geq(sd_bus_start(srv), 0);
	cr_assert_geq(sd_bus_add_fallback(srv, NULL, "/org/freedesktop/systemd1",
	    fake_systemd_cb, relcg), 0);
	cr_assert_geq(sd_bus_attach_event(srv, ev, SD_EVENT_PRIORITY_NORMAL), 0);

	/* systemd not on the bus yet (restarting): guessed for this attempt only. */
	p = run_once("{ \"type\": \"process\", \"unit\": \"tmpl@x.service\" }", &cfg);
	cr_expect_neq(p->result, PROBE_OK, "%s", p->msg);
	cr_expect_not_null(strstr(p->msg, "(path guessed: systemd cannot be asked)"), "%s",
	    p->msg);
	cr_assert_geq(sd_bus_request_name(srv, "org.freedesktop.systemd1", 0), 0);
	/* A template instance in a cgroup no guess would find: the same probe asks again. */
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 1000), "probe did not finish");
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	cr_expect_str_eq(p->msg, "unit tmpl@x.service has processes");
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();

	p = run_once("{ \"type\": \"process\", \"unit\": \"ahd-stopped\" }", &cfg);
	cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
	cr_expect_str_eq(p->msg, "unit ahd-stopped.service is not running (systemd gives "
	    "it no cgroup)");
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();

	p = run_once("{ \"type\": \"process\", \"unit\": \"ahd-missing.service\" }", &cfg);
	cr_expect_eq(p->result, PROBE_GONE, "%s", p->msg);
	cr_expect_str_eq(p->msg, "unit ahd-missing.service does not exist (systemd: "
	    "not-found)");
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();

	/* validate / -n: a blocking call, so from a child while this loop answers. */
	cfg = load_svc("{ \"type\": \"process\", \"unit\": \"tmpl@x.service\" }, "
	    "{ \"type\": \"process\", \"unit\": \"ahd-missing\" }",
	    "\"interval\": \"1s\", \"timeout\": \"500ms\"");
	{
		char	*text = NULL;
		size_t	 len = 0;
		int	 pfd[2], status = -1;
		pid_t	 child;
		FILE	*rf;

		cr_assert_eq(pipe(pfd), 0);
		cr_assert_geq(child = fork(), 0);
		if (child == 0) {
			FILE *w = fdopen(pfd[1], "w");
			close(pfd[0]);
			_exit(w != NULL && process_check_units(cfg, w) == 1 && fclose(w) == 0 ?
			    0 : 1);
		}
		close(pfd[1]);
		while (waitpid(child, &status, WNOHANG) == 0)
			sd_event_run(ev, 10000);
		cr_assert_not_null(rf = fdopen(pfd[0], "r"));
		cr_assert_gt(getdelim(&text, &len, '\0', rf), 0);
		fclose(rf);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", text);
		cr_expect_str_eq(text, "warning: service svc: unit ahd-missing.service does not "
		    "exist (systemd: not-found); its probe stays down until it does\n");
		free(text);
	}
	cfg_free(cfg);

	sd_bus_flush_close_unref(srv);
	reap(pid);
}
