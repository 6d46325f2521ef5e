/*
 * `anycast-healthctl status` against a fake daemon (a child process serving
 * a fixed reply on a unix socket): the text it prints, and that the two ways
 * of reading a reply (agent/ctl/status_read.c: one service at a time, or the
 * whole reply through json-c when it is not of the plain shape) print the
 * same, for a few services and for thousands.
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#define HEALTHCTL	AHD_BUILDDIR "/anycast-healthctl"
#define OUTMAX		(4 << 20)

static char	sock[108];
static pid_t	server = -1;

static void
stop_server(void)
{
	if (server > 0) {
		kill(server, SIGKILL);
		waitpid(server, NULL, 0);
		server = -1;
	}
	if (sock[0] != '\0')
		unlink(sock);
}

TestSuite(healthctl_status, .fini = stop_server);

/* A child answering every request on sock with reply (a newline added). */
static void
serve(const char *reply)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	char			buf[512];
	ssize_t			n;
	int			fd, c;

	stop_server();
	snprintf(sock, sizeof(sock), "/tmp/ahd-status-%d.sock", (int)getpid());
	unlink(sock);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(fd, 8), 0);
	if ((server = fork()) == 0) {
		for (;;) {
			if ((c = accept(fd, NULL, NULL)) == -1)
				_exit(1);
			/* The whole request (it comes in two writes), then the reply. */
			while ((n = read(c, buf, sizeof(buf))) > 0 && memchr(buf, '\n', (size_t)n) == NULL)
				;
			(void)!write(c, reply, strlen(reply));
			(void)!write(c, "\n", 1);
			close(c);
		}
	}
	cr_assert_gt(server, 0);
	close(fd);
}

/* Runs status ARGS against the fake daemon; out gets stdout; the exit code. */
static int
status(const char *args, char *out, size_t outlen)
{
	char	 cmd[512];
	FILE	*f;
	size_t	 n = 0, r;
	int	 st;

	snprintf(cmd, sizeof(cmd), "'%s' -s '%s' status %s 2>&1", HEALTHCTL, sock, args);
	f = popen(cmd, "r");
	cr_assert_not_null(f);
	while (n + 1 < outlen && (r = fread(out + n, 1, outlen - 1 - n, f)) > 0)
		n += r;
	out[n] = '\0';
	st = pclose(f);
	cr_assert(WIFEXITED(st), "%s did not exit", cmd);
	return WEXITSTATUS(st);
}

/*
 * As status(), the CLI run without a shell and waited for alone: *rss is
 * its own peak RSS (KiB), not the largest of every child so far (the fake
 * daemon is a fork of this process, as large as it).
 */
static int
status_rss(const char *arg, char *out, size_t outlen, long *rss)
{
	struct rusage	ru;
	size_t		n = 0;
	ssize_t		r;
	pid_t		pid;
	int		p[2], st;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		execl(HEALTHCTL, HEALTHCTL, "-s", sock, "status", arg, (char *)NULL);
		_exit(127);
	}
	cr_assert_gt(pid, 0);
	close(p[1]);
	while (n + 1 < outlen && (r = read(p[0], out + n, outlen - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(p[0]);
	cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
	cr_assert(WIFEXITED(st), "status %s did not exit", arg);
	*rss = ru.ru_maxrss;
	return WEXITSTATUS(st);
}

#define TOP	"\"version\":\"1.2\",\"pid\":7,\"started\":\"2026-01-01T00:00:00Z\"," \
		"\"state_file\":{\"ok\":true},\"ok\":true"
#define SVC_UP	"{\"name\":\"dns\",\"state\":\"up\",\"since\":\"2026-01-01T00:00:01Z\"," \
		"\"prefixes\":[{\"prefix\":\"192.0.2.53/32\",\"interface\":\"lo\"," \
		"\"announced\":true}],\"probes\":[{\"name\":\"dns#0\",\"state\":\"OK\"," \
		"\"message\":\"answered\",\"latency_ms\":1.5}]}"
#define SVC_DOWN "{\"name\":\"web\",\"state\":\"down\",\"since\":\"2026-01-01T00:00:02Z\"," \
		"\"prefixes\":[{\"prefix\":\"192.0.2.80/32\",\"announced\":false}," \
		"{\"prefix\":\"2001:db8::80/128\",\"announced\":false}],\"probes\":[" \
		"{\"name\":\"http#0\",\"state\":\"CRITICAL\",\"message\":\"503 | \\\"no\\\" \\u00e9\"," \
		"\"latency_ms\":20,\"critical_ms\":10},{\"name\":\"tcp#1\",\"state\":\"OK\"," \
		"\"message\":\"connected\",\"latency_ms\":0.25}]}"

Test(healthctl_status, plain_reply_printed)
{
	static char	out[8192];

	serve("{" TOP ",\"services\":[" SVC_UP "," SVC_DOWN "]}");
	cr_assert_eq(status("", out, sizeof(out)), 2, "%s", out);
	cr_expect_str_eq(out, "ANYCAST-HEALTH CRITICAL - web down: http#0 503 ¦ \"no\" é "
	    "(1/2 probes OK), dns up: 1/1 probes OK | 'web/state'=2;0;1;0;2 "
	    "'web/announced'=0;;;0;2 'web/http#0_time'=0.02s;;0.01;0 'web/tcp#1_time'=0.00025s;;;0 "
	    "'dns/state'=0;0;1;0;2 'dns/announced'=1;;;0;1 'dns/dns#0_time'=0.0015s;;;0\n"
	    "dns: up since 2026-01-01T00:00:01Z, 1/1 prefixes announced\n"
	    "dns/dns#0: OK - answered (1.5 ms)\n"
	    "web: down since 2026-01-01T00:00:02Z, 0/2 prefixes announced\n"
	    "web/http#0: CRITICAL - 503 ¦ \"no\" é (20 ms)\n"
	    "web/tcp#1: OK - connected (0.25 ms)\n");
	cr_assert_eq(status("dns", out, sizeof(out)), 0, "%s", out);
	cr_expect_str_eq(out, "ANYCAST-HEALTH OK - dns up: 1/1 probes OK | 'state'=0;0;1;0;2 "
	    "'announced'=1;;;0;1 'dns#0_time'=0.0015s;;;0\n"
	    "dns: up since 2026-01-01T00:00:01Z, 1/1 prefixes announced\n"
	    "dns/dns#0: OK - answered (1.5 ms)\n");
}

/* A comment json-c accepts sends the reply to the whole parse: the same text, --json too. */
Test(healthctl_status, both_readings_print_the_same)
{
	static char	a[8192], b[8192];
	const char	*args[] = { "", "--verbose", "web", "nosuch", "--json", "web --json" };

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		serve("{" TOP ",\"services\":[" SVC_UP "," SVC_DOWN "]}");
		int ra = status(args[i], a, sizeof(a));
		serve("{" TOP ",\"services\":[" SVC_UP ", /* whole */ " SVC_DOWN "]}");
		int rb = status(args[i], b, sizeof(b));
		cr_expect_eq(ra, rb, "status %s", args[i]);
		cr_expect_str_eq(a, b, "status %s", args[i]);
	}
}

/* null where the daemon writes text: empty, not a crash (strcmp(NULL) before). */
Test(healthctl_status, null_fields_are_empty)
{
	static char	out[4096];
	const char	*args[] = { "", "--verbose", "n" };

	serve("{" TOP ",\"services\":[{\"name\":\"n\",\"state\":null,\"since\":null,"
	    "\"prefixes\":[{\"prefix\":null}],\"probes\":[{\"name\":null,\"state\":"
	    "\"OK\",\"message\":null}]}]}");
	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		cr_expect_eq(status(args[i], out, sizeof(out)), 2, "status %s: %s", args[i], out);
		cr_expect(strncmp(out, "ANYCAST-HEALTH CRITICAL - n : 1/1 probes OK", 43) == 0,
		    "status %s: %s", args[i], out);
	}
	cr_expect_eq(status("--json", out, sizeof(out)), 2, "%s", out);
}

/*
 * json-c decodes escapes in keys and keeps the last of a repeated key: a
 * "services" spelt with an escape after the plain one is the array the
 * whole parse reads. The cut must not read the first one instead.
 */
Test(healthctl_status, escaped_services_key_read_as_json_c_does)
{
	static char	a[8192], b[8192];
	const char	*args[] = { "", "--verbose", "dns", "--json" };
	const char	*later[] = { "[" SVC_DOWN "]", "[]" };

	for (size_t k = 0; k < sizeof(later) / sizeof(later[0]); k++)
		for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
			char reply[4096];

			snprintf(reply, sizeof(reply), "{" TOP ",\"services\":[" SVC_UP
			    "],\"servic\\u0065s\":%s}", later[k]);
			serve(reply);
			int ra = status(args[i], a, sizeof(a));
			snprintf(reply, sizeof(reply), "/**/{" TOP ",\"services\":[" SVC_UP
			    "],\"servic\\u0065s\":%s}", later[k]);
			serve(reply);
			int rb = status(args[i], b, sizeof(b));
			cr_expect_eq(ra, rb, "status %s, %s", args[i], later[k]);
			cr_expect_str_eq(a, b, "status %s, %s", args[i], later[k]);
		}
}

/*
 * Numbers out of an int's (or an age's) range from a broken daemon: clamped
 * and printed, not cast (undefined; INT_MIN and "0s" on x86-64 before).
 */
Test(healthctl_status, huge_numbers_are_clamped)
{
	static char	out[4096];

	serve("{\"version\":\"1.2\",\"pid\":1e30,\"started\":\"x\",\"state_file\":"
	    "{\"ok\":false,\"error\":\"disk\",\"held_back\":-1e30},\"ok\":true,"
	    "\"services\":[{\"name\":\"a\",\"state\":\"up\",\"since\":\"x\","
	    "\"since_unix\":-1e300,\"damping\":{\"suppressed\":true,\"penalty\":5,"
	    "\"reuse_in_ms\":1e300}}]}");
	cr_assert_eq(status("--verbose", out, sizeof(out)), 2, "%s", out);
	cr_expect_str_eq(out, "ANYCAST-HEALTH CRITICAL - state file not written (disk); "
	    "-2147483648 prefix(es) held back, a up: 0/0 probes OK | 'a/state'=0;0;1;0;2 "
	    "'a/announced'=0;;;0;0\n"
	    "anycast-healthd 1.2, pid 2147483647, started x\n"
	    "CRITICAL: state file not written (disk); -2147483648 prefix(es) held back\n"
	    "\n"
	    "a                    up        since x (213503982334601d07h)\n"
	    "  damping SUPPRESSED, penalty 5 (suppress above 0, reuse below 0), reuse in "
	    "213503982334601d07h\n");
}

Test(healthctl_status, malformed_reply_is_unknown)
{
	static char	out[1024];

	serve("{" TOP ",\"services\":[" SVC_UP "," SVC_DOWN);
	cr_assert_eq(status("", out, sizeof(out)), 3, "%s", out);
	cr_expect_str_eq(out, "ANYCAST-HEALTH UNKNOWN - daemon not reachable: malformed reply "
	    "from the daemon\n");
	serve("{" TOP ",\"services\":[" SVC_UP " " SVC_DOWN "]}");
	cr_assert_eq(status("", out, sizeof(out)), 3, "%s", out);
	serve("{" TOP ",\"services\":{}}");
	cr_assert_eq(status("", out, sizeof(out)), 3, "%s", out);
}

/*
 * Thousands of services, in turn up, down and drained: both readings agree,
 * and the first (the plain reply) was read one service at a time.
 */
Test(healthctl_status, thousands_of_services_read_alike, .timeout = 60)
{
	char		*reply, *a, *b;
	size_t		 len = 0, cap = 6000 * 700;
	long		 rss[2];
	int		 ra = -1, rb = -1;

	reply = malloc(cap);
	a = malloc(OUTMAX);
	b = malloc(OUTMAX);
	cr_assert(reply != NULL && a != NULL && b != NULL);
	for (int pass = 0; pass < 2; pass++) {
		len = (size_t)snprintf(reply, cap, "{" TOP ",\"services\":[");
		for (int i = 0; i < 5000; i++)
			len += (size_t)snprintf(reply + len, cap - len, "%s{\"name\":\"s%04d\","
			    "\"state\":\"%s\",\"since\":\"x\",\"prefixes\":[{\"prefix\":"
			    "\"10.0.%d.%d/32\",\"interface\":\"lo\",\"announced\":%s}],"
			    "\"probes\":[{\"name\":\"tcp#0\",\"state\":\"%s\",\"message\":"
			    "\"m%d\",\"latency_ms\":%d.5}]}", i > 0 ? "," : "",
			    i, i % 3 == 0 ? "up" : i % 3 == 1 ? "down" : "drained", i / 256,
			    i % 256, i % 3 == 0 ? "true" : "false", i % 3 == 1 ? "CRITICAL" : "OK",
			    i, i % 7);
		/* The second time, a comment: the whole parse. */
		len += (size_t)snprintf(reply + len, cap - len, "%s]}", pass ? "/**/" : "");
		cr_assert_lt(len, cap - 1);
		serve(reply);
		if (pass == 0)
			ra = status_rss("--verbose", a, OUTMAX, &rss[0]);
		else
			rb = status_rss("--verbose", b, OUTMAX, &rss[1]);
	}
	/*
	 * The first reading was one service at a time, not a fallback to the
	 * whole tree: the client was several times smaller.
	 */
	cr_log_info("healthctl_status: peak RSS %ld KiB one at a time, %ld KiB whole",
	    rss[0], rss[1]);
#ifndef __SANITIZE_ADDRESS__
	/* ASan keeps what is freed in quarantine, and its shadow is most of the RSS. */
	cr_expect_lt(rss[0] * 2, rss[1]);
#endif
	cr_expect_eq(ra, 2);
	cr_expect_eq(rb, 2);
	cr_expect_gt(strlen(a), 5000 * 100);
	cr_expect(strcmp(a, b) == 0, "the two readings differ");
	/* --json: the reply with the comment (served now) read whole, then the plain one. */
	rb = status("--json", b, OUTMAX);
	reply[len - 6] = '\0';
	strcat(reply, "]}");
	serve(reply);
	ra = status("--json", a, OUTMAX);
	cr_expect_eq(ra, 2);
	cr_expect_eq(rb, 2);
	cr_expect_gt(strlen(a), 5000 * 200);
	cr_expect(strcmp(a, b) == 0, "the two readings differ in --json");
	free(reply);
	free(a);
	free(b);
}
