/*
 * `anycast-healthctl check`, the built binary run through popen(): its first
 * line must parse as a Nagios plugin line (monitoring-plugins guidelines:
 * "TEXT | 'label'=value[UOM];[warn];[crit];[min];[max] ..."), and each exit
 * code 0/1/2/3 must come out for the state it stands for.
 */
#include <criterion/criterion.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "testutil.h"

#define HEALTHCTL	AHD_BUILDDIR "/anycast-healthctl"
#define PLUGINS		TEST_DATADIR "/exec"

/* One performance data item; labels are quoted, '' is an escaped quote. */
#define PERF_RE	"'([^']|'')+'=-?[0-9]+(\\.[0-9]+)?([a-zA-Z%]+)?" \
		"(;(-?[0-9.:~@]*)){0,4}"
#define LINE_RE	"^ANYCAST-HEALTH (OK|WARNING|CRITICAL|UNKNOWN) - [^|]+ \\| " \
		PERF_RE "( " PERF_RE ")*$"

static char	 dir[64];

static void
teardown(void)
{
	char	cmd[128];

	if (dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)!system(cmd);
	}
}

TestSuite(healthctl, .fini = teardown);

/* Writes main.json and services.d/svc.json (copies > 1: svc00.json, svc01.json, ...). */
static void
write_config(const char *svc_json, int copies)
{
	char	 path[256];
	FILE	*f;

	snprintf(dir, sizeof(dir), "/tmp/ahd-ctl-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/services.d", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/main.json", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{}", f);
	fclose(f);
	for (int i = 0; i < copies; i++) {
		if (copies == 1)
			snprintf(path, sizeof(path), "%s/services.d/svc.json", dir);
		else
			snprintf(path, sizeof(path), "%s/services.d/svc%02d.json", dir, i);
		f = fopen(path, "w");
		cr_assert_not_null(f);
		fputs(svc_json, f);
		fclose(f);
	}
}

/* Runs cmd (sh -c) and returns the exit code; out gets its stdout. */
static int
run(const char *cmd, char *out, size_t outlen)
{
	FILE	*f;
	size_t	 n;
	int	 st;

	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	st = pclose(f);
	cr_assert(WIFEXITED(st), "%s did not exit", cmd);
	return WEXITSTATUS(st);
}

/* Writes the configuration (see write_config()); runs check ARG; returns the exit code. */
static int
checkn(const char *svc_json, int copies, const char *arg, char *out, size_t outlen)
{
	char	cmd[512];
	int	rc;

	write_config(svc_json, copies);
	snprintf(cmd, sizeof(cmd), "'%s' check %s -c '%s/main.json'", HEALTHCTL, arg, dir);
	rc = run(cmd, out, outlen);
	teardown();
	dir[0] = '\0';
	return rc;
}

static int
check(const char *svc_json, const char *arg, char *out, size_t outlen)
{
	return checkn(svc_json, 1, arg, out, outlen);
}

static bool
nagios_line(const char *out)
{
	regex_t	re;
	char	line[16384];
	bool	ok;

	snprintf(line, sizeof(line), "%.*s", (int)strcspn(out, "\n"), out);
	cr_assert_eq(regcomp(&re, LINE_RE, REG_EXTENDED | REG_NOSUB), 0);
	ok = regexec(&re, line, 0, NULL, 0) == 0;
	regfree(&re);
	return ok;
}

struct check_case {
	const char	*probes;	/* the "probes" array's contents */
	const char	*require;
	int		 rc;
	const char	*first;		/* the first line's beginning */
	const char	*perf;		/* a substring of the perfdata */
};

#define EXIT(name, code) "{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"" name "\", \"command\": " \
	"[\"" PLUGINS "/exit.sh\", \"CHECK " #code "\", \"" #code "\"], \"user\": \"nobody\" }"

Test(healthctl, check_exit_codes_and_plugin_line)
{
	static const struct check_case cases[] = {
		/* Our own items first, then the plugins' relabelled. */
		{ EXIT("a", 0) ", " EXIT("b", 0), "all", 0,
		  "ANYCAST-HEALTH OK - svc: 2/2 probes OK | ",
		  ";;;0 'a:time'=0s;1;2;0 'a:count'=7 'b:time'=0s;1;2;0 'b:count'=7" },
		/* The probe that decides, and its message, in the first line. */
		{ EXIT("a", 0) ", " EXIT("b", 1), "all", 1,
		  "ANYCAST-HEALTH WARNING - svc: b CHECK 1 (1/2 probes OK) | ",
		  "'b:time'=1s;1;2;0" },
		{ EXIT("a", 0) ", " EXIT("b", 2), "all", 2,
		  "ANYCAST-HEALTH CRITICAL - svc: b CHECK 2 (1/2 probes OK) | ",
		  "'b:time'=2s;1;2;0" },
		/* require met by a: an UNKNOWN probe leaves the service UNKNOWN. */
		{ EXIT("a", 0) ", " EXIT("b", 3), "\"any\"", 3,
		  "ANYCAST-HEALTH UNKNOWN - svc: b CHECK 3 (1/2 probes OK) | ",
		  "'b:time'=3s;1;2;0" },
		/* require not met: CRITICAL, whatever the probes' own states. */
		{ EXIT("a", 0) ", " EXIT("b", 3), "all", 2,
		  "ANYCAST-HEALTH CRITICAL - svc: b CHECK 3 (1/2 probes OK) | ", "'a_time'=" },
		/* Thresholds in fixed notation (no 5e-05). */
		{ "{ \"type\": \"dns\", \"server\": \"127.0.0.1\", \"port\": 1, "
		  "\"query\": \"example.test\", \"warning\": \"50us\", \"critical\": \"200ms\" }",
		  "all", 2, "ANYCAST-HEALTH CRITICAL - svc: dns#0 127.0.0.1",
		  ";0.00005;0.2;0" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char	svc[2048], out[8192], want[256];
		int	rc;

		snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
		    "\"timeout\": \"900ms\", \"require\": %s, \"probes\": [ %s ] }",
		    strcmp(cases[i].require, "all") == 0 ? "\"all\"" : cases[i].require,
		    cases[i].probes);
		rc = check(svc, "svc", out, sizeof(out));
		cr_expect_eq(rc, cases[i].rc, "case %zu: exit %d\n%s", i, rc, out);
		snprintf(want, sizeof(want), "%s", cases[i].first);
		cr_expect_eq(strncmp(out, want, strlen(want)), 0, "case %zu: %s", i, out);
		cr_expect(nagios_line(out), "case %zu: not a Nagios plugin line: %s", i, out);
		cr_expect_not_null(strstr(out, cases[i].perf), "case %zu: no '%s' in %s", i,
		    cases[i].perf, out);
	}
}

Test(healthctl, check_unknown_service_is_unknown)
{
	char	out[4096];
	int	rc;

	rc = check("{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ " EXIT("a", 0) " ] }",
	    "nosuch", out, sizeof(out));
	cr_expect_eq(rc, 3);
	cr_expect_str_eq(out, "ANYCAST-HEALTH UNKNOWN - no service 'nosuch' in the "
	    "configuration\n");
}

Test(healthctl, check_all_prefixes_labels_with_the_service)
{
	char	out[8192];
	int	rc;

	rc = check("{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ " EXIT("a", 1) " ] }",
	    "--all", out, sizeof(out));
	cr_expect_eq(rc, 1, "%s", out);
	cr_expect(nagios_line(out), "not a Nagios plugin line: %s", out);
	cr_expect_not_null(strstr(out, " 'svc/a:time'=1s;1;2;0 'svc/a:count'=7\n"), "%s", out);
	cr_expect_not_null(strstr(out, "\nsvc/a: WARNING - CHECK 1 ("), "%s", out);
}

/*
 * check decides a service as the daemon does (svc_decide(), svc_degrade()):
 * on_warning says whether a WARNING probe counts for require.
 */
Test(healthctl, check_on_warning_decides_like_the_daemon)
{
	static const struct {
		const char	*on_warning, *method, *require;
		int		 rc;
		const char	*first;
	} cases[] = {
		/* A WARNING probe is down for routing: require "all" is not met. */
		{ "withdraw", "address", "\"all\"", 2,
		  "ANYCAST-HEALTH CRITICAL - svc: b CHECK 1 (1/2 probes OK) | " },
		{ "withdraw", "address", "\"any\"", 1,
		  "ANYCAST-HEALTH WARNING - svc: b CHECK 1 (1/2 probes OK) | " },
		/* Up for routing (degraded, or announced as it is): WARNING. */
		{ "degrade", "network", "\"all\"", 1,
		  "ANYCAST-HEALTH WARNING - svc: b CHECK 1 (1/2 probes OK) | " },
		{ "announce", "address", "\"all\"", 1,
		  "ANYCAST-HEALTH WARNING - svc: b CHECK 1 (1/2 probes OK) | " },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char	svc[2048], out[8192];
		int	rc;

		snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], "
		    "\"method\": \"%s\", \"on_warning\": \"%s\", \"require\": %s, "
		    "\"timeout\": \"900ms\", \"probes\": [ " EXIT("a", 0) ", " EXIT("b", 1)
		    " ] }", cases[i].method, cases[i].on_warning, cases[i].require);
		rc = check(svc, "svc", out, sizeof(out));
		cr_expect_eq(rc, cases[i].rc, "case %zu: exit %d\n%s", i, rc, out);
		cr_expect_eq(strncmp(out, cases[i].first, strlen(cases[i].first)), 0,
		    "case %zu: %s", i, out);
	}
}

Test(healthctl, plugin_perfdata_is_relabelled_or_dropped_when_broken)
{
	char	out[8192], svc[1024];
	int	rc;

	/* Quoted labels with spaces and '' survive; a broken item is dropped, and said. */
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"p\", \"command\": [\"/bin/sh\", \"-c\", "
	    "\"echo \\\"OK | 'a b'=1ms;2;3 'it''s'=5%%;;;0;100 broken c=1\\\"\"], "
	    "\"user\": \"nobody\" } ] }");
	rc = check(svc, "svc", out, sizeof(out));
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(nagios_line(out), "not a Nagios plugin line: %s", out);
	cr_expect_not_null(strstr(out, " 'p:a b'=1ms;2;3 'p:it''s'=5%;;;0;100 'p:c'=1\n"),
	    "%s", out);
	cr_expect_not_null(strstr(out, "\nsvc/p: 1 invalid perfdata item dropped (broken: "
	    "not 'label'=value)\n"), "%s", out);
}

/* Running, not a zombie waiting for its reaper. */
static bool
running(pid_t pid)
{
	char	path[64], stat[512], *s;
	FILE	*f;
	bool	 r;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	r = fgets(stat, sizeof(stat), f) != NULL && (s = strrchr(stat, ')')) != NULL &&
	    s[1] == ' ' && s[2] != 'Z';
	fclose(f);
	return r;
}

Test(healthctl, check_timeout_kills_the_plugins_group)
{
	char	 pdir[64] = "/tmp/ahd-ctl-pids-XXXXXX", file[128], svc[1024], out[4096];
	FILE	*f;
	int	 rc, shell = 0, helper = 0;

	/* World-writable: the plugin runs as nobody when the tests run as root. */
	cr_assert_not_null(mkdtemp(pdir));
	chmod(pdir, 01777);
	snprintf(file, sizeof(file), "%s/pids", pdir);
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"interval\": \"60s\", "
	    "\"probes\": [ { \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"h\", \"timeout\": \"30s\", "
	    "\"command\": [\"" PLUGINS "/hang.sh\", \"%s\"] } ] }", file);
	rc = check(svc, "svc -t 0.5", out, sizeof(out));
	cr_expect_eq(rc, 3, "%s", out);
	cr_expect_str_eq(out, "ANYCAST-HEALTH UNKNOWN - timed out after 0.5s; still running: "
	    "svc/h\n");
	f = fopen(file, "r");
	cr_assert_not_null(f, "the plugin did not write its pids");
	cr_assert_eq(fscanf(f, "%d %d", &shell, &helper), 2);
	fclose(f);
	for (int i = 0; i < 50 && (running(shell) || running(helper)); i++)
		usleep(10000);
	cr_expect_not(running(shell), "plugin %d survived check -t", shell);
	cr_expect_not(running(helper), "its helper %d survived check -t", helper);
	unlink(file);
	rmdir(pdir);
}

Test(healthctl, bad_configuration_is_a_plugin_line_on_stdout)
{
	char		 out[4096];
	const char	*d;
	int		 rc;

	/* stderr merged, as Icinga 2 does: the plugin line must still come first. */
	rc = check("{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ ] ", "svc 2>&1", out,
	    sizeof(out));
	cr_expect_eq(rc, 3, "%s", out);
	cr_expect_eq(strncmp(out, "ANYCAST-HEALTH UNKNOWN - configuration ", 39), 0, "%s", out);
	cr_expect_not_null(strstr(out, "invalid: services.d/svc.json: not valid JSON"), "%s", out);
	/* The error once, as a detail line, not again from stderr. */
	d = strstr(out, "\nservices.d/svc.json: not valid JSON");
	cr_assert_not_null(d, "%s", out);
	cr_expect_null(strstr(d + 1, "\nservices.d/svc.json: not valid JSON"), "%s", out);
}

Test(healthctl, check_first_line_escapes_the_pipe_and_cuts_the_reason)
{
	char	out[8192], svc[2048], longmsg[401];
	int	rc;

	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = '\0';
	/* A probe name with '|' and a 400-byte message: one line, no stray '|'. */
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"a|b\", \"command\": [\"" PLUGINS "/exit.sh\", "
	    "\"%s\", \"2\"] } ] }", longmsg);
	rc = check(svc, "svc", out, sizeof(out));
	cr_expect_eq(rc, 2, "%s", out);
	cr_expect(nagios_line(out), "not a Nagios plugin line: %s", out);
	cr_expect_eq(strncmp(out, "ANYCAST-HEALTH CRITICAL - svc: a\xc2\xa6" "b xxx", 34), 0, "%s",
	    out);
	cr_expect_not_null(strstr(out, "x\xe2\x80\xa6 (0/1 probes OK) | 'a\xc2\xa6" "b_time'="),
	    "%s", out);
	cr_expect_not_null(strstr(out, "\nsvc/a\xc2\xa6" "b: CRITICAL - xxx"), "%s", out);
}

/*
 * The whole first line, state, summary, " | " and newline included, stays
 * within Nagios Core's 8 KiB, however long the summary and the perfdata.
 */
Test(healthctl, check_first_line_fits_in_8_kib)
{
	static char	 out[65536];
	const char	*last;
	size_t		 len;
	int		 rc;

	/* 12 services: a summary past its 1 KiB, 2400 perfdata items. */
	rc = checkn("{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ { \"type\": \"exec\", "
	    "\"user\": \"nobody\", \"name\": \"f\", \"command\": [\"" PLUGINS "/flood.sh\", "
	    "\"300\", \"200\"] } ] }", 12, "--all", out, sizeof(out));
	cr_expect_eq(rc, 2, "%.300s", out);
	len = strcspn(out, "\n");
	cr_expect_leq(len + 1, 8192, "first line of %zu bytes and its newline", len);
	cr_expect_gt(len, 7000, "first line of %zu bytes only", len);
	cr_expect(nagios_line(out), "not a Nagios plugin line: %.300s", out);
	/* The summary was cut (with an ellipsis), and the perfdata ends with a whole item. */
	cr_expect_not_null(strstr(out, "\xe2\x80\xa6 | "), "%.1100s", out);
	for (last = out + len; last > out && last[-1] != ' '; last--)
		;
	cr_expect_eq(strncmp(last, "'svc", 4), 0, "last item %.*s", (int)(out + len - last), last);
	cr_expect_eq(out[len - 2], '5', "%.*s", 40, out + len - 40);
	cr_expect_eq(out[len - 1], 'B', "%.*s", 40, out + len - 40);
	cr_expect_not_null(strstr(out, "\nperfdata: "), "no note of the dropped items");
}

/* A plugin's item of 128 to 255 bytes, which the parser accepts, is passed on whole. */
Test(healthctl, long_plugin_perfdata_items_are_whole)
{
	char	out[8192], svc[2048], item[256], zeros[61];

	memset(zeros, '0', sizeof(zeros) - 1);
	zeros[sizeof(zeros) - 1] = '\0';
	/* 'big'=1.000...s;0.000...1;2.000...;0;100: 200 bytes after the '='. */
	snprintf(item, sizeof(item), "'big'=1.%ss;0.%s1;2.%s;0;100", zeros, zeros, zeros);
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"user\": \"nobody\", \"name\": \"p\", \"command\": "
	    "[\"/bin/echo\", \"OK | %s last=1\"] } ] }", item);
	cr_assert_eq(check(svc, "svc", out, sizeof(out)), 0, "%s", out);
	cr_expect(nagios_line(out), "not a Nagios plugin line: %s", out);
	snprintf(svc, sizeof(svc), " 'p:%s 'p:last'=1\n", item + 1);
	cr_expect_not_null(strstr(out, svc), "no %s in %s", svc, out);
}

/*
 * The guardian (the only child running as root; the plugin runs as nobody)
 * killed while a plugin runs: check must still print its line, not die of
 * SIGPIPE when it tells the guardian the plugin is gone.
 */
Test(healthctl, check_outlives_its_guardian)
{
	char	out[4096], cmd[1024];
	int	rc;

	write_config("{ \"prefixes\": [\"192.0.2.53/32\"], \"interval\": \"10s\", "
	    "\"timeout\": \"3s\", \"probes\": [ { \"type\": \"exec\", "
	    "\"user\": \"nobody\", \"name\": \"s\", \"command\": [\"/bin/sh\", \"-c\", "
	    "\"sleep 1; echo SLOW OK\"] } ] }", 1);
	snprintf(cmd, sizeof(cmd), "'%s' check svc -c '%s/main.json' & c=$!; sleep 0.5; "
	    "g=$(pgrep -P $c -u root); [ -n \"$g\" ] && kill -KILL $g; wait $c; "
	    "echo \"exit $? guardian $g\"", HEALTHCTL, dir);
	rc = run(cmd, out, sizeof(out));
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect_eq(strncmp(out, "ANYCAST-HEALTH OK - svc: 1/1 probes OK | ", 41), 0, "%s", out);
	cr_expect(strstr(out, "\nexit 0 guardian ") != NULL &&
	    strstr(out, "\nexit 0 guardian \n") == NULL, "%s", out);
}

/* A plugin's usage error is an UNKNOWN plugin line on stdout, and nothing on stderr. */
Test(healthctl, usage_errors_are_plugin_lines)
{
	char	out[4096];

	cr_expect_eq(run("'" HEALTHCTL "' check -c /nonexistent 2>&1", out, sizeof(out)), 3);
	cr_expect_str_eq(out, "ANYCAST-HEALTH UNKNOWN - usage: anycast-healthctl check "
	    "{SERVICE,--all} [-c PATH] [-t SECONDS]\n");
	cr_expect_eq(run("'" HEALTHCTL "' status a b -s /nonexistent 2>&1", out, sizeof(out)), 3);
	cr_expect_str_eq(out, "ANYCAST-HEALTH UNKNOWN - usage: anycast-healthctl status "
	    "[SERVICE] [--json] [--verbose] [-s PATH] [-t SECONDS]\n");
	/* Not a number of seconds: NaN and infinity compare false either way. */
	for (size_t i = 0; i < 5; i++) {
		static const char *const bad[] = { "nan", "inf", "0", "-1", "1x" };
		char cmd[256];

		snprintf(cmd, sizeof(cmd), "'" HEALTHCTL "' check svc -t %s -c /nonexistent 2>&1",
		    bad[i]);
		cr_expect_eq(run(cmd, out, sizeof(out)), 3, "-t %s", bad[i]);
		cr_expect_str_eq(out, "ANYCAST-HEALTH UNKNOWN - -t needs a number of seconds "
		    "(0 < t <= 86400)\n", "-t %s", bad[i]);
	}
}
