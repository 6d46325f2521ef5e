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

/* Writes main.json and services.d/svc.json; runs check ARG; returns the exit code. */
static int
check(const char *svc_json, const char *arg, char *out, size_t outlen)
{
	char	 path[256], cmd[512];
	FILE	*f;
	size_t	 n;
	int	 st;

	snprintf(dir, sizeof(dir), "/tmp/ahd-ctl-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/services.d", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/main.json", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/services.d/svc.json", dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(svc_json, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "'%s' check %s -c '%s/main.json'", HEALTHCTL, arg, dir);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	n = fread(out, 1, outlen - 1, f);
	out[n] = '\0';
	st = pclose(f);
	cr_assert(WIFEXITED(st), "%s did not exit", HEALTHCTL);
	teardown();
	dir[0] = '\0';
	return WEXITSTATUS(st);
}

static bool
nagios_line(const char *out)
{
	regex_t	re;
	char	line[4096];
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
	const char	*first;		/* the first line up to " | " */
	const char	*perf;		/* a substring of the perfdata */
};

#define EXIT(name, code) "{ \"type\": \"exec\", \"name\": \"" name "\", \"command\": " \
	"[\"" PLUGINS "/exit.sh\", \"CHECK " #code "\", \"" #code "\"], \"user\": \"nobody\" }"

Test(healthctl, check_exit_codes_and_plugin_line)
{
	static const struct check_case cases[] = {
		{ EXIT("a", 0) ", " EXIT("b", 0), "all", 0,
		  "ANYCAST-HEALTH OK - svc: 2/2 probes OK",
		  "'a:time'=0s;1;2;0 'a:count'=7 'b_time'=" },
		{ EXIT("a", 0) ", " EXIT("b", 1), "all", 1,
		  "ANYCAST-HEALTH WARNING - svc: 1/2 probes OK", "'b:time'=1s;1;2;0" },
		{ EXIT("a", 0) ", " EXIT("b", 2), "all", 2,
		  "ANYCAST-HEALTH CRITICAL - svc: 1/2 probes OK", "'b:time'=2s;1;2;0" },
		/* require met by a: an UNKNOWN probe leaves the service UNKNOWN. */
		{ EXIT("a", 0) ", " EXIT("b", 3), "\"any\"", 3,
		  "ANYCAST-HEALTH UNKNOWN - svc: 1/2 probes OK", "'b:time'=3s;1;2;0" },
		/* require not met: CRITICAL, whatever the probes' own states. */
		{ EXIT("a", 0) ", " EXIT("b", 3), "all", 2,
		  "ANYCAST-HEALTH CRITICAL - svc: 1/2 probes OK", "'a_time'=" },
		{ "{ \"type\": \"dns\", \"server\": \"127.0.0.1\", \"port\": 1, "
		  "\"query\": \"example.test\", \"warning\": \"100ms\", \"critical\": \"200ms\" }",
		  "all", 2, "ANYCAST-HEALTH CRITICAL - svc: 0/1 probes OK",
		  ";0.1;0.2;0" },
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
		snprintf(want, sizeof(want), "%s | ", cases[i].first);
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

Test(healthctl, plugin_perfdata_is_relabelled_or_dropped_when_broken)
{
	char	out[8192], svc[1024];
	int	rc;

	/* Quoted labels with spaces and '' survive; parsing stops at a broken item. */
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [ "
	    "{ \"type\": \"exec\", \"name\": \"p\", \"command\": [\"/bin/sh\", \"-c\", "
	    "\"echo \\\"OK | 'a b'=1ms;2;3 'it''s'=5%%;;;0;100 broken c=1\\\"\"], "
	    "\"user\": \"nobody\" } ] }");
	rc = check(svc, "svc", out, sizeof(out));
	cr_expect_eq(rc, 0, "%s", out);
	cr_expect(nagios_line(out), "not a Nagios plugin line: %s", out);
	cr_expect_not_null(strstr(out, " 'p:a b'=1ms;2;3 'p:it''s'=5%;;;0;100\n"), "%s", out);
	cr_expect_null(strstr(out, "c=1"), "%s", out);
}
