/*
 * The exec probe with small plugins from tests/unit/data/exec, on the real
 * event loop: exit codes, signals, timeouts that must kill the whole process
 * group, capped output, perfdata, a clean environment and the user.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compiler.h"
#include "clock.h"
#include "cfg.h"
#include "nofile.h"
#include "priv.h"
#include "probe.h"
#include "testutil.h"

#define PLUGINS	TEST_DATADIR "/exec"

static sd_event	*ev;
static bool	 done;

static void
on_done(struct probe *p UNUSED, void *arg UNUSED)
{
	done = true;
}

static void
setup(void)
{
	cr_assert_geq(sd_event_new(&ev), 0);
}

static void
teardown(void)
{
	sd_event_unref(ev);
	tu_cleanup();
}

TestSuite(exec, .init = setup, .fini = teardown);

/* Runs one attempt of an exec probe with the given keys (after "type"). */
static struct probe *
run_exec(const char *keys, const char *timeout, struct cfg **cfgp)
{
	char		 svc[2048];
	struct probe	*p;

	/* The default user is created by the packages; a test host has nobody. */
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
	    "\"interval\": \"2s\", \"timeout\": \"%s\", \"probes\": [ "
	    "{ \"type\": \"exec\", %s%s } ] }", timeout, keys,
	    strstr(keys, "\"user\"") == NULL ? ", \"user\": \"nobody\"" : "");
	*cfgp = tu_load(NULL, "svc", svc, NULL);
	p = probe_new(ev, &(*cfgp)->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 3000), "probe did not finish");
	return p;
}

struct exit_case {
	const char		*args;		/* JSON array elements after the script */
	enum probe_result	 result;
	enum nagios_state	 state;
	const char		*msg;
	const char		*perfdata;
};

Test(exec, exit_codes_map_to_nagios_states)
{
	static const struct exit_case cases[] = {
		{ "\"DISK OK - 10% used\", \"0\"", PROBE_OK, NAGIOS_OK,
		  "DISK OK - 10% used", "'time'=0s;1;2;0 'count'=7" },
		{ "\"DISK WARNING - 85% used\", \"1\"", PROBE_EXEC_WARNING, NAGIOS_WARNING,
		  "DISK WARNING - 85% used", "'time'=1s;1;2;0 'count'=7" },
		{ "\"DISK CRITICAL - 99% used\", \"2\"", PROBE_EXEC_CRITICAL, NAGIOS_CRITICAL,
		  "DISK CRITICAL - 99% used", "'time'=2s;1;2;0 'count'=7" },
		{ "\"DISK UNKNOWN - no such disk\", \"3\"", PROBE_EXEC_UNKNOWN, NAGIOS_UNKNOWN,
		  "DISK UNKNOWN - no such disk", "'time'=3s;1;2;0 'count'=7" },
		{ "\"odd\", \"4\"", PROBE_EXEC_BAD_EXIT, NAGIOS_UNKNOWN,
		  PLUGINS "/exit.sh exited 4 (not a Nagios state): odd",
		  "'time'=4s;1;2;0 'count'=7" },
		{ "\"odd\", \"255\"", PROBE_EXEC_BAD_EXIT, NAGIOS_UNKNOWN,
		  PLUGINS "/exit.sh exited 255 (not a Nagios state): odd",
		  "'time'=255s;1;2;0 'count'=7" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg	*cfg;
		struct probe	*p;
		char		 keys[512];

		snprintf(keys, sizeof(keys), "\"command\": [\"%s/exit.sh\", %s]",
		    PLUGINS, cases[i].args);
		p = run_exec(keys, "2s", &cfg);
		cr_expect_eq(p->result, cases[i].result, "case %zu: %s (%s)", i,
		    probe_result_str(p->result), p->msg);
		cr_expect_eq(p->state, cases[i].state, "case %zu", i);
		cr_expect_str_eq(p->msg, cases[i].msg, "case %zu", i);
		cr_expect_str_eq(p->perfdata, cases[i].perfdata, "case %zu", i);
		probe_free(p);
		cfg_free(cfg);
		tu_cleanup();
	}
}

struct fail_case {
	const char		*command;
	enum probe_result	 result;
	const char		*msg;
};

Test(exec, signals_and_failures_to_start_are_unknown)
{
	static const struct fail_case cases[] = {
		{ "\"" PLUGINS "/signal.sh\"", PROBE_EXEC_SIGNALED,
		  PLUGINS "/signal.sh killed by signal 15 (Terminated): about to die" },
		{ "\"" PLUGINS "/quiet.sh\"", PROBE_OK,
		  PLUGINS "/quiet.sh exited 0 without output" },
		{ "\"/nonexistent/check_thing\", \"-H\", \"x\"", PROBE_EXEC_FAILED,
		  "cannot execute /nonexistent/check_thing: No such file or directory" },
		{ "\"" PLUGINS "/notexec.txt\"", PROBE_EXEC_FAILED,
		  "cannot execute " PLUGINS "/notexec.txt: Permission denied" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg	*cfg;
		struct probe	*p;
		char		 keys[512];

		snprintf(keys, sizeof(keys), "\"command\": [%s]", cases[i].command);
		p = run_exec(keys, "2s", &cfg);
		cr_expect_eq(p->result, cases[i].result, "case %zu: %s (%s)", i,
		    probe_result_str(p->result), p->msg);
		cr_expect_eq(p->state, cases[i].result == PROBE_OK ? NAGIOS_OK :
		    NAGIOS_UNKNOWN, "case %zu", i);
		cr_expect_str_eq(p->msg, cases[i].msg, "case %zu", i);
		cr_expect_str_eq(p->perfdata, "", "case %zu", i);
		probe_free(p);
		cfg_free(cfg);
		tu_cleanup();
	}
}

/* A process is gone, or a zombie nobody has reaped yet (it is dead either way). */
static bool
dead(pid_t pid)
{
	char	path[64], stat[512];
	FILE	*f;
	char	*s;
	bool	 zombie;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return true;
	zombie = fgets(stat, sizeof(stat), f) != NULL &&
	    (s = strrchr(stat, ')')) != NULL && s[1] == ' ' && s[2] == 'Z';
	fclose(f);
	return zombie;
}

Test(exec, timeout_kills_the_whole_process_group)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 dir[] = "/tmp/ahd-exec-XXXXXX", file[128], keys[512];
	int		 shell = 0, helper = 0;
	uint64_t	 t0;
	FILE		*f;

	/* World-writable: the plugin runs as nobody when the tests run as root. */
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 01777);
	snprintf(file, sizeof(file), "%s/pids", dir);
	snprintf(keys, sizeof(keys), "\"command\": [\"%s/hang.sh\", \"%s\"]", PLUGINS, file);
	t0 = now_us();
	p = run_exec(keys, "400ms", &cfg);
	cr_expect_eq(p->result, PROBE_TIMEOUT, "%s: %s", probe_result_str(p->result), p->msg);
	cr_expect_eq(p->state, NAGIOS_CRITICAL);
	cr_expect_str_eq(p->msg, "no answer within 400ms");
	cr_expect_lt(now_us() - t0, 700000, "the hard timeout was late");
	f = fopen(file, "r");
	cr_assert_not_null(f, "the plugin did not write its pids in 400 ms");
	cr_assert_eq(fscanf(f, "%d %d", &shell, &helper), 2);
	fclose(f);
	/* SIGKILL was sent to the group: both die at once; the loop reaps the plugin. */
	for (int i = 0; i < 100 && !(kill(shell, 0) == -1 && dead(helper)); i++)
		sd_event_run(ev, 10000);
	cr_expect(dead(helper), "helper %d of the plugin's group survived the timeout", helper);
	cr_expect(dead(shell), "plugin %d survived the timeout", shell);
	cr_expect_eq(kill(shell, 0), -1, "plugin %d was not reaped", shell);
	cr_expect_eq(errno, ESRCH);
	probe_free(p);
	cfg_free(cfg);
	unlink(file);
	rmdir(dir);
}

Test(exec, huge_output_is_capped_and_drained)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 keys[256], want[256];

	snprintf(keys, sizeof(keys), "\"command\": [\"%s/big.sh\"]", PLUGINS);
	p = run_exec(keys, "2s", &cfg);
	/* 200 kB through a 64 kB pipe: finishing at all means the pipe was drained. */
	cr_expect_eq(p->result, PROBE_OK, "%s: %s", probe_result_str(p->result), p->msg);
	/* Cut between characters, and marked with U+2026. */
	memset(want, 'x', sizeof(p->msg) - 4);
	snprintf(want + sizeof(p->msg) - 4, 4, "\xe2\x80\xa6");
	cr_expect_str_eq(p->msg, want);
	/* The perfdata came after the first 16 KiB: dropped with the rest. */
	cr_expect_str_eq(p->perfdata, "");
	probe_free(p);
	cfg_free(cfg);
}

Test(exec, clean_environment_user_stdin_stderr_and_fds)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 keys[256], want[512];
	int		 leak, leak_cloexec;

	if (geteuid() != 0)
		cr_skip_test("needs root (or CAP_SETUID, CAP_SETGID, CAP_SETPCAP)");
	/* Inherited without close-on-exec (as libcurl opens its sockets): the plugin must not see it. */
	leak = fcntl(STDOUT_FILENO, F_DUPFD, 20);
	cr_assert_geq(leak, 20);
	leak_cloexec = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 30);
	cr_assert_geq(leak_cloexec, 30);
	setenv("AHD_SECRET", "must-not-leak", 1);
	snprintf(keys, sizeof(keys), "\"command\": [\"%s/env.sh\", \"%d\"]", PLUGINS, leak);
	p = run_exec(keys, "2s", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s: %s", probe_result_str(p->result), p->msg);
	snprintf(want, sizeof(want), "env=[LANG=C PATH=/usr/sbin:/usr/bin:/sbin:/bin "
	    "PWD=/ ] user=nobody groups=%u stdin=eof fd=closed",
	    (unsigned)getpwnam("nobody")->pw_gid);
	cr_expect_eq(strncmp(p->msg, want, strlen(want)), 0, "got '%s', want '%s'",
	    p->msg, want);
	probe_free(p);
	cfg_free(cfg);
	close(leak);
	close(leak_cloexec);
}

Test(exec, plugin_has_no_capability_and_no_new_privs)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 keys[256], want[512];
	struct passwd	*pw;

	if (geteuid() != 0)
		cr_skip_test("needs root (or CAP_SETUID, CAP_SETGID, CAP_SETPCAP)");
	pw = getpwnam("nobody");
	cr_assert_not_null(pw);
	snprintf(keys, sizeof(keys), "\"command\": [\"%s/privs.sh\"]", PLUGINS);
	p = run_exec(keys, "2s", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s: %s", probe_result_str(p->result), p->msg);
	/* Root's bounding set is full; the plugin's must be empty too. */
	snprintf(want, sizeof(want), "CapInh:0000000000000000 CapPrm:0000000000000000 "
	    "CapEff:0000000000000000 CapBnd:0000000000000000 CapAmb:0000000000000000 "
	    "NoNewPrivs:1 uid=%u gid=%u groups=%u", (unsigned)pw->pw_uid,
	    (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
	cr_expect_str_eq(p->msg, want);
	probe_free(p);
	cfg_free(cfg);
}

Test(exec, without_the_right_to_switch_the_user_the_plugin_fails_loudly)
{
	struct cfg	*cfg;
	struct probe	*p;
	char		 keys[256];

	if (geteuid() == 0)
		cr_skip_test("needs a user without CAP_SETUID");
	snprintf(keys, sizeof(keys), "\"command\": [\"%s/env.sh\", \"0\"]", PLUGINS);
	p = run_exec(keys, "2s", &cfg);
	cr_expect_eq(p->result, PROBE_EXEC_FAILED, "%s: %s", probe_result_str(p->result),
	    p->msg);
	cr_expect_not_null(strstr(p->msg, "not root, and no CAP_SETUID"), "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
}

Test(exec, daemon_signal_mask_is_not_inherited)
{
	struct cfg	*cfg;
	struct probe	*p;
	sigset_t	 mask;
	char		 keys[256];

	/* The daemon blocks SIGTERM and ignores SIGPIPE; the plugin must not. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	snprintf(keys, sizeof(keys), "\"command\": [\"%s/signal.sh\"]", PLUGINS);
	p = run_exec(keys, "2s", &cfg);
	cr_expect_eq(p->result, PROBE_EXEC_SIGNALED, "%s: %s", probe_result_str(p->result),
	    p->msg);
	probe_free(p);
	cfg_free(cfg);
}

struct bad_case {
	const char	*keys;
	const char	*errs;
};

Test(exec, configuration_errors)
{
	static const struct bad_case cases[] = {
		{ "\"command\": []",
		  "services.d/svc.json: probes[0].command: must name the program to run" },
		{ "\"command\": [\"check_ping\", \"-H\", \"::1\"]",
		  "services.d/svc.json: probes[0].command[0]: 'check_ping' is not an "
		  "absolute path" },
		{ "\"command\": \"/bin/true\"",
		  "services.d/svc.json: probes[0].command: expected an array of strings, "
		  "got a string" },
		{ "\"command\": [\"/bin/true\", 5]",
		  "services.d/svc.json: probes[0].command[1]: expected a string, got an "
		  "integer" },
		{ "\"user\": \"nobody\"",
		  "services.d/svc.json: probes[0].command: is required" },
		{ "\"command\": [\"/bin/true\"], \"user\": \"no-such-user-here\"",
		  "services.d/svc.json: probes[0].user: no such user 'no-such-user-here'" },
		{ "\"command\": [\"/bin/true\"], \"user\": \"root\"",
		  "services.d/svc.json: probes[0].user: 'root' (uid 0) is root: a plugin "
		  "must run as an unprivileged user of its own" },
		{ "\"command\": [\"/bin/true\"], \"user\": \"frr\"",
		  "services.d/svc.json: probes[0].user: 'frr' is in group " },
		{ "\"command\": [\"/bin/true\"], \"shell\": true",
		  "services.d/svc.json: probes[0]: unknown key 'shell'" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cfg	*cfg;
		char		 svc[512], errs[2048];

		snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
		    "\"probes\": [ { \"type\": \"exec\", %s } ] }", cases[i].keys);
		cfg = tu_try_load(svc, errs, sizeof(errs));
		cr_expect_null(cfg, "case %zu loaded", i);
		cfg_free(cfg);
		cr_expect_eq(strncmp(errs, cases[i].errs, strlen(cases[i].errs)), 0,
		    "case %zu: got '%s'", i, errs);
		tu_cleanup();
	}
}

/* A plugin gets the open-files limit the daemon had before raising its own. */
Test(exec, plugin_gets_the_open_files_limit_from_before_the_raise)
{
	struct cfg	*cfg;
	struct probe	*p;
	struct rlimit	 rl;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max <= 512)
		cr_skip_test("hard open files limit %llu", (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 512;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_eq(nofile_raise(&rl), 0);
	cr_assert_eq(rl.rlim_cur, rl.rlim_max);
	p = run_exec("\"command\": [\"/bin/sh\", \"-c\", \"echo nofile=$(ulimit -Sn)\"]",
	    "2s", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s: %s", probe_result_str(p->result), p->msg);
	cr_expect_str_eq(p->msg, "nofile=512");
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_expect_eq(rl.rlim_cur, rl.rlim_max);
	probe_free(p);
	cfg_free(cfg);
}

Test(exec, missing_default_user_is_a_configuration_error)
{
	struct cfg	*cfg;
	char		 errs[2048];

	if (getpwnam("anycast-healthd-probe") != NULL)
		cr_skip_test("anycast-healthd-probe exists here");
	/* Never a silent fallback to another user. */
	cfg = tu_try_load("{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"command\": [\"/bin/true\"] } ] }", errs, sizeof(errs));
	cr_expect_null(cfg);
	cfg_free(cfg);
	cr_expect_not_null(strstr(errs, "probes[0].user: no such user "
	    "'anycast-healthd-probe' (the default user of exec plugins, created by the "
	    "packages; create it with 'useradd --system"), "%s", errs);
}

/* keepalived's script security: only root may change what runs. */
Test(exec, plugins_others_could_change_are_refused)
{
	char		 dir[64], sub[96], prog[128], svc[512], errs[2048];
	struct cfg	*cfg;
	FILE		*f;

	snprintf(dir, sizeof(dir), "/tmp/ahd-exec-trust-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(sub, sizeof(sub), "%s/plugins", dir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	snprintf(prog, sizeof(prog), "%s/check.sh", sub);
	cr_assert_not_null(f = fopen(prog, "w"));
	fputs("#!/bin/sh\necho OK\n", f);
	fclose(f);
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"command\": [\"%s\"], \"user\": \"nobody\" } ] }", prog);

	cr_assert_eq(chmod(prog, 0775), 0);
	cfg = tu_try_load(svc, errs, sizeof(errs));
	cr_expect_null(cfg);
	cfg_free(cfg);
	cr_expect_not_null(strstr(errs, "is writable by group or others (mode 0775)"), "%s", errs);
	tu_cleanup();

	cr_assert_eq(chmod(prog, 0755), 0);
	cr_assert_eq(chown(prog, 65534, 65534), 0);
	cfg = tu_try_load(svc, errs, sizeof(errs));
	cr_expect_null(cfg);
	cfg_free(cfg);
	cr_expect_not_null(strstr(errs, "is owned by uid 65534"), "%s", errs);
	tu_cleanup();

	/* The program is root's, but a user may replace the directory's entries. */
	cr_assert_eq(chown(prog, 0, 0), 0);
	cr_assert_eq(chown(sub, 65534, 65534), 0);
	cfg = tu_try_load(svc, errs, sizeof(errs));
	cr_expect_null(cfg);
	cfg_free(cfg);
	cr_expect_not_null(strstr(errs, "plugins is owned by uid 65534: only root may own it "
	    "and the directories above it"), "%s", errs);
	tu_cleanup();

	cr_assert_eq(chown(sub, 0, 0), 0);
	cfg = tu_try_load(svc, errs, sizeof(errs));
	cr_expect_not_null(cfg, "%s", errs);
	cfg_free(cfg);
	unlink(prog);
	rmdir(sub);
	rmdir(dir);
}

static void
put_script(const char *path, const char *text)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
}

/* A plugin named through links: every name checked, and what runs is what was checked. */
Test(exec, plugins_named_through_links)
{
	char		 dir[64], p[8][160], svc[512], errs[2048];
	struct cfg	*cfg;
	struct probe	*pr;

	snprintf(dir, sizeof(dir), "/tmp/ahd-exec-link-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(p[0], sizeof(p[0]), "%s/real.sh", dir);
	snprintf(p[1], sizeof(p[1]), "%s/other.sh", dir);
	snprintf(p[2], sizeof(p[2]), "%s/dangling", dir);
	snprintf(p[3], sizeof(p[3]), "%s/user", dir);
	snprintf(p[4], sizeof(p[4]), "%s/user/link", dir);
	snprintf(p[5], sizeof(p[5]), "%s/sticky", dir);
	snprintf(p[6], sizeof(p[6]), "%s/sticky/link", dir);
	snprintf(p[7], sizeof(p[7]), "%s/link", dir);
	put_script(p[0], "#!/bin/sh\necho REAL\n");
	put_script(p[1], "#!/bin/sh\necho OTHER\n");

	/* A dangling link. */
	cr_assert_eq(symlink("nothing", p[2]), 0);
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"command\": [\"%s\"], \"user\": \"nobody\" } ] }", p[2]);
	cfg = tu_try_load(svc, errs, sizeof(errs));
	cr_expect_null(cfg);
	cfg_free(cfg);
	cr_expect_not_null(strstr(errs, "dangling: a dangling symbolic link"), "%s", errs);
	tu_cleanup();

	/* A link to a root-owned plugin, in a directory a user owns. */
	cr_assert_eq(mkdir(p[3], 0755), 0);
	cr_assert_eq(symlink(p[0], p[4]), 0);
	cr_assert_eq(chown(p[3], 65534, 65534), 0);
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"command\": [\"%s\"], \"user\": \"nobody\" } ] }", p[4]);
	cfg = tu_try_load(svc, errs, sizeof(errs));
	cr_expect_null(cfg);
	cfg_free(cfg);
	cr_expect_not_null(strstr(errs, "user is owned by uid 65534"), "%s", errs);
	tu_cleanup();

	/* A user's link in a sticky directory: its owner may point it elsewhere. */
	cr_assert_eq(mkdir(p[5], 01777), 0);
	cr_assert_eq(chmod(p[5], 01777), 0);
	cr_assert_eq(symlink(p[0], p[6]), 0);
	cr_assert_eq(lchown(p[6], 65534, 65534), 0);
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"command\": [\"%s\"], \"user\": \"nobody\" } ] }", p[6]);
	cfg = tu_try_load(svc, errs, sizeof(errs));
	cr_expect_null(cfg);
	cfg_free(cfg);
	cr_expect_not_null(strstr(errs, "link is a symbolic link owned by uid 65534"), "%s",
	    errs);
	tu_cleanup();

	/* root's link: accepted, and the program checked is the one that runs. */
	cr_assert_eq(symlink(p[0], p[7]), 0);
	snprintf(svc, sizeof(svc), "\"command\": [\"%s\"]", p[7]);
	{
		char		 full[1024];

		snprintf(full, sizeof(full), "{ \"prefixes\": [\"192.0.2.53/32\"], "
		    "\"interval\": \"2s\", \"timeout\": \"1s\", \"probes\": [ "
		    "{ \"type\": \"exec\", %s, \"user\": \"nobody\" } ] }", svc);
		cr_assert_not_null(cfg = tu_try_load(full, errs, sizeof(errs)), "%s", errs);
	}
	cr_assert_eq(unlink(p[7]), 0);
	cr_assert_eq(symlink(p[1], p[7]), 0);
	pr = probe_new(ev, &cfg->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(pr);
	done = false;
	probe_run_once(pr);
	cr_assert(tu_run_until(ev, &done, 3000), "probe did not finish");
	cr_expect_str_eq(pr->msg, "REAL");
	probe_free(pr);
	cfg_free(cfg);
	unlink(p[7]);
	unlink(p[6]);
	rmdir(p[5]);
	unlink(p[4]);
	rmdir(p[3]);
	unlink(p[2]);
	unlink(p[1]);
	unlink(p[0]);
	rmdir(dir);
}

/* Lookups that decide on privileges: found, absent, and never a fixed buffer. */
Test(exec, nss_lookups_found_absent)
{
	struct group	 gr;
	struct passwd	 pw;
	char		*buf = NULL;

	cr_expect_eq(priv_getgrnam("root", &gr, &buf), 1);
	cr_expect_eq(gr.gr_gid, 0);
	free(buf);
	cr_expect_eq(priv_getpwnam("root", &pw, &buf), 1);
	cr_expect_eq(pw.pw_uid, 0);
	cr_expect_str_eq(pw.pw_name, "root");
	free(buf);
	cr_expect_eq(priv_getgrnam("ahd-no-such-group", &gr, &buf), 0);
	cr_expect_null(buf);
	cr_expect_eq(priv_getpwnam("ahd-no-such-user", &pw, &buf), 0);
	cr_expect_null(buf);
}

/*
 * Output of exactly the kept size is whole: its last perfdata item stays.
 * One byte more and the line was cut: the last item, maybe cut, goes.
 */
Test(exec, output_of_exactly_the_kept_size_is_not_cut)
{
	static const struct { const char *n, *perf; } cases[] = {
		{ "16384", "'a'=1 'b'=2" },
		{ "16385", "'a'=1" },
	};
	struct cfg	*cfg;
	struct probe	*p;
	char		 keys[256];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(keys, sizeof(keys), "\"command\": [\"%s/exact.sh\", \"%s\"]", PLUGINS,
		    cases[i].n);
		p = run_exec(keys, "2s", &cfg);
		cr_expect_eq(p->result, PROBE_OK, "%s: %s", probe_result_str(p->result), p->msg);
		cr_expect_str_eq(p->perfdata, cases[i].perf, "%s bytes", cases[i].n);
		probe_free(p);
		cfg_free(cfg);
	}
}
