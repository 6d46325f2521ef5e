/*
 * The HTTP(S) probe against a real nginx started for this test run (one
 * process, HTTP and HTTPS ports on 127.0.0.1, certificates made by
 * tests/mkcerts.sh with a test CA) and against a hung server made here (a
 * listener that never accepts: the kernel completes the handshake, nobody
 * answers). Criterion runs each test in a fresh process of this binary, so
 * the runner starts nginx once in a PRE_ALL hook and hands the ports down
 * through the environment; POST_ALL stops it.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "compiler.h"
#include "clock.h"
#include "cfg.h"
#include "probe.h"
#include "testutil.h"

#define SRCDIR	TEST_DATADIR "/../../.."

static pid_t	nginx_pid = -1;
static char	nginx_dir[64];

static void
put(const char *dir, const char *name, const char *text)
{
	char	 path[1024];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fputs(text, f);
	fclose(f);
}

static bool
port_open(uint16_t port)
{
	struct sockaddr_in	sin = { .sin_family = AF_INET };
	int			fd, r;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return false;
	r = connect(fd, (struct sockaddr *)&sin, sizeof(sin));
	close(fd);
	return r == 0;
}

/* Why nginx is not there, for the tests to fail with; "" when it is. */
static char	nginx_err[512];

static void
nginx_start(void)
{
	char		 cmd[300], conf[6144], big[100 * 1024 + 8];
	uint16_t	 hport, sport;
	int		 r;

	snprintf(nginx_dir, sizeof(nginx_dir), "/tmp/ahd-http-test-XXXXXX");
	if (mkdtemp(nginx_dir) == NULL) {
		snprintf(nginx_err, sizeof(nginx_err), "mkdtemp: %s", strerror(errno));
		return;
	}
	chmod(nginx_dir, 0755);
	snprintf(cmd, sizeof(cmd), "bash %s/tests/mkcerts.sh %s/certs", SRCDIR, nginx_dir);
	if ((r = system(cmd)) != 0) {
		snprintf(nginx_err, sizeof(nginx_err), "%s failed (%d)", cmd, r);
		return;
	}
	memset(big, 'a', 100 * 1024);
	strcpy(big + 100 * 1024, "END\n");
	snprintf(cmd, sizeof(cmd), "%s/www", nginx_dir);
	mkdir(cmd, 0755);
	put(cmd, "big.txt", big);
	hport = tu_closed_port();
	sport = tu_closed_port();
	snprintf(conf, sizeof(conf),
	    "daemon off; master_process off; worker_processes 1;\n"
	    "pid %1$s/nginx.pid; error_log %1$s/error.log;\n"
	    "events { worker_connections 512; }\n"
	    "http {\n"
	    "  access_log off; default_type text/plain;\n"
	    /* Sessions are looked up in the first server's cache, before SNI. */
	    "  ssl_session_cache shared:tls:1m; ssl_session_tickets on;\n"
	    "  client_body_temp_path %1$s; proxy_temp_path %1$s; fastcgi_temp_path %1$s;\n"
	    "  uwsgi_temp_path %1$s; scgi_temp_path %1$s;\n"
	    "  server { listen 127.0.0.1:%2$u default_server; root %1$s/www;\n"
	    "    location = /healthz { return 200 \"ok\\n\"; }\n"
	    "    location = /fail { return 503 \"down\\n\"; }\n"
	    "    location = /redirect { return 302 /healthz; }\n"
	    "    location = /method { return 200 \"$request_method\\n\"; }\n"
	    "    location = /hdr { return 200 \"x-probe=$http_x_probe\\n\"; }\n"
	    "    location = /whoami { return 200 \"default\\n\"; }\n"
	    "  }\n"
	    "  server { listen 127.0.0.1:%2$u; server_name www.example.com;\n"
	    "    location = /whoami { return 200 \"vhost\\n\"; }\n"
	    "  }\n"
	    "  server { listen 127.0.0.1:%3$u ssl default_server;\n"
	    "    ssl_certificate %1$s/certs/valid.pem; ssl_certificate_key %1$s/certs/valid.key;\n"
	    "    location / { return 200 \"tls ok\\n\"; } }\n"
	    "  server { listen 127.0.0.1:%3$u ssl; server_name expiring.example.com;\n"
	    "    ssl_certificate %1$s/certs/expiring.pem; ssl_certificate_key %1$s/certs/expiring.key;\n"
	    "    location / { return 200 \"tls ok\\n\"; } }\n"
	    "  server { listen 127.0.0.1:%3$u ssl; server_name expired.example.com;\n"
	    "    ssl_certificate %1$s/certs/expired.pem; ssl_certificate_key %1$s/certs/expired.key;\n"
	    "    location / { return 200 \"tls ok\\n\"; } }\n"
	    /*
	     * A certificate read at every handshake (a variable in the path) from
	     * a symlink the test turns: same server, same session cache, so a
	     * client that resumed a session would not see the new certificate.
	     */
	    "  map $ssl_server_name $rot { default %1$s/certs/rotating; }\n"
	    "  server { listen 127.0.0.1:%3$u ssl; server_name rotating.example.com;\n"
	    "    ssl_certificate $rot.pem; ssl_certificate_key $rot.key;\n"
	    "    location / { return 200 \"tls ok\\n\"; } }\n"
	    "}\n", nginx_dir, hport, sport);
	put(nginx_dir, "nginx.conf", conf);
	snprintf(conf, sizeof(conf), "%s/nginx.conf", nginx_dir);
	if ((nginx_pid = fork()) == 0) {
		/* Never outlive the runner, even if it is killed. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execlp("nginx", "nginx", "-p", nginx_dir, "-c", conf, (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		if (port_open(hport) && port_open(sport))
			break;
		if (waitpid(nginx_pid, &r, WNOHANG) == nginx_pid) {
			nginx_pid = -1;
			snprintf(nginx_err, sizeof(nginx_err), "nginx exited (status %d; is "
			    "it installed? see %s/error.log)", r, nginx_dir);
			return;
		}
		usleep(10000);
	}
	snprintf(cmd, sizeof(cmd), "%u", hport);
	setenv("AHD_TEST_HTTP_PORT", cmd, 1);
	snprintf(cmd, sizeof(cmd), "%u", sport);
	setenv("AHD_TEST_HTTPS_PORT", cmd, 1);
	setenv("AHD_TEST_HTTP_DIR", nginx_dir, 1);
}

ReportHook(PRE_ALL)(struct criterion_test_set *set UNUSED)
{
	nginx_start();
	if (nginx_err[0] != '\0')
		setenv("AHD_TEST_NGINX_ERR", nginx_err, 1);
}

static int
rm_entry(const char *path, const struct stat *st UNUSED, int flag UNUSED, struct FTW *ftw UNUSED)
{
	return remove(path);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats UNUSED)
{
	if (nginx_pid > 0) {
		kill(nginx_pid, SIGTERM);
		waitpid(nginx_pid, NULL, 0);
	}
	if (nginx_dir[0] != '\0' && getenv("AHD_KEEP_TMP") == NULL)
		nftw(nginx_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The fixture as a test sees it. */
static struct {
	unsigned	 http, https, closed, hung;
	const char	*dir;
} fx;
static int	hung_fd = -1;
static sd_event	*ev;

static void
setup(void)
{
	const char	*err = getenv("AHD_TEST_NGINX_ERR");
	uint16_t	 port;

	cr_assert_null(err, "nginx fixture: %s", err);
	cr_assert_not_null(getenv("AHD_TEST_HTTP_PORT"), "no nginx fixture");
	fx.http = (unsigned)atoi(getenv("AHD_TEST_HTTP_PORT"));
	fx.https = (unsigned)atoi(getenv("AHD_TEST_HTTPS_PORT"));
	fx.dir = getenv("AHD_TEST_HTTP_DIR");
	fx.closed = tu_closed_port();
	hung_fd = tu_listen(64, &port);
	fx.hung = port;
	cr_assert_geq(sd_event_new(&ev), 0);
}

static void
teardown(void)
{
	sd_event_unref(ev);
	close(hung_fd);
	tu_cleanup();
}

TestSuite(http, .init = setup, .fini = teardown);

/* Expands {HTTP} {HTTPS} {CLOSED} {HUNG} {DIR} in a template. */
static void
expand(const char *tpl, char *out, size_t len)
{
	static const char *const names[] = { "{HTTP}", "{HTTPS}", "{CLOSED}", "{HUNG}", "{DIR}" };
	char	vals[5][64];
	size_t	o = 0;

	snprintf(vals[0], sizeof(vals[0]), "%u", fx.http);
	snprintf(vals[1], sizeof(vals[1]), "%u", fx.https);
	snprintf(vals[2], sizeof(vals[2]), "%u", fx.closed);
	snprintf(vals[3], sizeof(vals[3]), "%u", fx.hung);
	snprintf(vals[4], sizeof(vals[4]), "%s", fx.dir);
	while (*tpl != '\0' && o + 1 < len) {
		size_t i;
		for (i = 0; i < 5; i++)
			if (strncmp(tpl, names[i], strlen(names[i])) == 0)
				break;
		if (i < 5) {
			o += (size_t)snprintf(out + o, len - o, "%s", vals[i]);
			tpl += strlen(names[i]);
		} else
			out[o++] = *tpl++;
	}
	out[o < len ? o : len - 1] = '\0';
}

static bool	done;

static void
on_done(struct probe *p UNUSED, void *arg UNUSED)
{
	done = true;
}

static struct probe *
run_probe(const char *probe_tpl, const char *timeout, struct cfg **cfgp)
{
	char		 probe[2048], svc[2600];
	struct probe	*p;

	expand(probe_tpl, probe, sizeof(probe));
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.80/32\"], "
	    "\"interval\": \"2s\", \"timeout\": \"%s\", \"probes\": [ %s ] }",
	    timeout, probe);
	*cfgp = tu_load(NULL, "svc", svc, NULL);
	p = probe_new(ev, &(*cfgp)->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	done = false;
	probe_run_once(p);
	cr_assert(tu_run_until(ev, &done, 5000), "probe did not finish");
	return p;
}

struct http_case {
	const char		*name;
	const char		*probe;		/* JSON with {PLACEHOLDERS} */
	enum probe_result	 result;
	enum nagios_state	 state;
	const char		*msg;		/* the message starts with this */
};

#define CA	"\"ca_file\": \"{DIR}/certs/ca.pem\""
#define H(path)	"\"url\": \"http://127.0.0.1:{HTTP}" path "\""

static const struct http_case cases[] = {
	{ "ok with body", "{ \"type\": \"http\", " H("/healthz") ", \"expect_body\": \"^ok\" }",
	  PROBE_OK, NAGIOS_OK, "HTTP 200 from http://127.0.0.1:{HTTP}/healthz in " },
	{ "503", "{ \"type\": \"http\", " H("/fail") " }",
	  PROBE_HTTP_STATUS, NAGIOS_CRITICAL, "HTTP 503 from http://127.0.0.1:{HTTP}/fail in " },
	{ "503 expected", "{ \"type\": \"http\", " H("/fail") ", \"expect_status\": [\"2xx\", 503] }",
	  PROBE_OK, NAGIOS_OK, "HTTP 503 from " },
	{ "200 not in 5xx", "{ \"type\": \"http\", " H("/healthz") ", \"expect_status\": [\"5xx\"] }",
	  PROBE_HTTP_STATUS, NAGIOS_CRITICAL, "HTTP 200 from " },
	{ "404 as string", "{ \"type\": \"http\", " H("/nothing") ", \"expect_status\": [\"404\"] }",
	  PROBE_OK, NAGIOS_OK, "HTTP 404 from " },
	{ "redirect not followed", "{ \"type\": \"http\", " H("/redirect") " }",
	  PROBE_HTTP_STATUS, NAGIOS_CRITICAL, "HTTP 302 from http://127.0.0.1:{HTTP}/redirect in " },
	{ "redirect expected", "{ \"type\": \"http\", " H("/redirect") ", \"expect_status\": [\"3xx\"] }",
	  PROBE_OK, NAGIOS_OK, "HTTP 302 from " },
	{ "redirect followed", "{ \"type\": \"http\", " H("/redirect") ", \"follow_redirects\": true, "
	  "\"expect_body\": \"^ok\" }",
	  PROBE_OK, NAGIOS_OK, "HTTP 200 from http://127.0.0.1:{HTTP}/healthz in " },
	{ "body mismatch", "{ \"type\": \"http\", " H("/healthz") ", \"expect_body\": \"^bad\" }",
	  PROBE_EXPECT_MISMATCH, NAGIOS_CRITICAL, "body did not match '^bad' (HTTP 200 from "
	  "http://127.0.0.1:{HTTP}/healthz, 3 bytes)" },
	{ "body beyond max_body", "{ \"type\": \"http\", " H("/big.txt") ", \"expect_body\": \"END\" }",
	  PROBE_EXPECT_MISMATCH, NAGIOS_CRITICAL, "body did not match 'END' (HTTP 200 from "
	  "http://127.0.0.1:{HTTP}/big.txt, 65536 or more bytes)" },
	{ "body within max_body", "{ \"type\": \"http\", " H("/big.txt") ", \"expect_body\": \"a{100}END\", "
	  "\"max_body\": 200000 }", PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "POST", "{ \"type\": \"http\", " H("/method") ", \"method\": \"POST\", \"body\": \"x=1\", "
	  "\"expect_body\": \"^POST\\n$\" }", PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "PUT", "{ \"type\": \"http\", " H("/method") ", \"method\": \"PUT\", "
	  "\"expect_body\": \"^PUT\\n$\" }", PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "HEAD", "{ \"type\": \"http\", " H("/healthz") ", \"method\": \"HEAD\" }",
	  PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "header sent", "{ \"type\": \"http\", " H("/hdr") ", \"headers\": { \"X-Probe\": \"hello\" }, "
	  "\"expect_body\": \"^x-probe=hello\\n$\" }", PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "default server", "{ \"type\": \"http\", " H("/whoami") ", \"expect_body\": \"^vhost\" }",
	  PROBE_EXPECT_MISMATCH, NAGIOS_CRITICAL, "body did not match '^vhost' (HTTP 200" },
	{ "Host header selects the vhost", "{ \"type\": \"http\", " H("/whoami") ", "
	  "\"headers\": { \"Host\": \"www.example.com\" }, \"expect_body\": \"^vhost\" }",
	  PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "connect_to selects the vhost", "{ \"type\": \"http\", \"url\": "
	  "\"http://www.example.com:{HTTP}/whoami\", \"connect_to\": \"127.0.0.1\", "
	  "\"expect_body\": \"^vhost\" }", PROBE_OK, NAGIOS_OK,
	  "HTTP 200 from http://www.example.com:{HTTP}/whoami in " },
	{ "connect_to with a port", "{ \"type\": \"http\", \"url\": "
	  "\"http://www.example.com/whoami\", \"connect_to\": \"127.0.0.1:{HTTP}\", "
	  "\"expect_body\": \"^vhost\" }", PROBE_OK, NAGIOS_OK,
	  "HTTP 200 from http://www.example.com/whoami in " },
	{ "refused", "{ \"type\": \"http\", \"url\": \"http://127.0.0.1:{CLOSED}/\" }",
	  PROBE_CONN_REFUSED, NAGIOS_CRITICAL, "connection to 127.0.0.1:{CLOSED} refused" },
	{ "slow is warning", "{ \"type\": \"http\", " H("/healthz") ", \"warning\": \"1us\" }",
	  PROBE_OK, NAGIOS_WARNING, "HTTP 200 from " },
	{ "https with SNI, test CA", "{ \"type\": \"http\", \"url\": \"https://www.example.com:{HTTPS}/\", "
	  "\"connect_to\": \"127.0.0.1\", " CA ", \"cert_min_days\": 14, \"expect_body\": \"^tls ok\" }",
	  PROBE_OK, NAGIOS_OK, "HTTP 200 from https://www.example.com:{HTTPS}/ in " },
	{ "https to an IP", "{ \"type\": \"http\", \"url\": \"https://127.0.0.1:{HTTPS}/\", " CA " }",
	  PROBE_OK, NAGIOS_OK, "HTTP 200 from https://127.0.0.1:{HTTPS}/ in " },
	{ "certificate expiring", "{ \"type\": \"http\", \"url\": \"https://expiring.example.com:{HTTPS}/\", "
	  "\"connect_to\": \"127.0.0.1\", " CA ", \"cert_min_days\": 14 }",
	  PROBE_CERT_EXPIRING, NAGIOS_WARNING,
	  "certificate for expiring.example.com expires in 2 days (< 14)" },
	{ "certificate expiring, threshold lower", "{ \"type\": \"http\", \"url\": "
	  "\"https://expiring.example.com:{HTTPS}/\", \"connect_to\": \"127.0.0.1\", " CA ", "
	  "\"cert_min_days\": 2 }", PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "certificate expired, verified", "{ \"type\": \"http\", \"url\": "
	  "\"https://expired.example.com:{HTTPS}/\", \"connect_to\": \"127.0.0.1\", " CA " }",
	  PROBE_CERT_EXPIRED, NAGIOS_CRITICAL, "certificate for expired.example.com has expired: "
	  "SSL certificate problem: certificate has expired" },
	{ "certificate expired, not verified", "{ \"type\": \"http\", \"url\": "
	  "\"https://expired.example.com:{HTTPS}/\", \"connect_to\": \"127.0.0.1\", "
	  "\"tls_verify\": false, \"cert_min_days\": 1 }",
	  PROBE_CERT_EXPIRED, NAGIOS_CRITICAL, "certificate for expired.example.com expired on " },
	{ "wrong name", "{ \"type\": \"http\", \"url\": \"https://wrong.example.com:{HTTPS}/\", "
	  "\"connect_to\": \"127.0.0.1\", " CA " }", PROBE_TLS_FAILED, NAGIOS_CRITICAL,
	  "TLS with 127.0.0.1:{HTTPS} failed: SSL: no alternative certificate subject name "
	  "matches target host name 'wrong.example.com'" },
	{ "wrong name, not verified", "{ \"type\": \"http\", \"url\": "
	  "\"https://wrong.example.com:{HTTPS}/\", \"connect_to\": \"127.0.0.1\", "
	  "\"tls_verify\": false }", PROBE_OK, NAGIOS_OK, "HTTP 200 from " },
	{ "unknown CA", "{ \"type\": \"http\", \"url\": \"https://www.example.com:{HTTPS}/\", "
	  "\"connect_to\": \"127.0.0.1\" }", PROBE_TLS_FAILED, NAGIOS_CRITICAL,
	  "TLS with 127.0.0.1:{HTTPS} failed: SSL certificate problem: unable to get local "
	  "issuer certificate" },
	{ "https to a plain HTTP port", "{ \"type\": \"http\", \"url\": \"https://127.0.0.1:{HTTP}/\", "
	  CA " }", PROBE_TLS_FAILED, NAGIOS_CRITICAL, "TLS with 127.0.0.1:{HTTP} failed: " },
	{ "plain HTTP to the HTTPS port", "{ \"type\": \"http\", \"url\": "
	  "\"http://127.0.0.1:{HTTPS}/\" }", PROBE_HTTP_STATUS, NAGIOS_CRITICAL, "HTTP 400 from " },
};

#define PARAM_INDICES(table) do {					\
	static size_t idx[sizeof(table) / sizeof(table[0])];		\
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)	\
		idx[i] = i;						\
	return cr_make_param_array(size_t, idx, sizeof(idx) / sizeof(idx[0])); \
} while (0)

ParameterizedTestParameters(http, results)
{
	PARAM_INDICES(cases);
}

ParameterizedTest(size_t *i, http, results)
{
	const struct http_case	*c = &cases[*i];
	struct cfg		*cfg;
	struct probe		*p;
	char			 want[512];

	p = run_probe(c->probe, "1s", &cfg);
	expand(c->msg, want, sizeof(want));
	cr_expect_eq(p->result, c->result, "%s: got %s: %s", c->name,
	    probe_result_str(p->result), p->msg);
	cr_expect_eq(p->state, c->state, "%s: got %s", c->name, nagios_state_str(p->state));
	cr_expect(strncmp(p->msg, want, strlen(want)) == 0, "%s:\n  want [%s...]\n  got  [%s]",
	    c->name, want, p->msg);
	probe_free(p);
	cfg_free(cfg);
}

Test(http, hung_server_times_out_on_time)
{
	struct cfg	*cfg;
	struct probe	*p;
	uint64_t	 t0 = now_us();

	p = run_probe("{ \"type\": \"http\", \"url\": \"http://127.0.0.1:{HUNG}/\" }", "300ms", &cfg);
	cr_expect_eq(p->result, PROBE_TIMEOUT, "%s: %s", probe_result_str(p->result), p->msg);
	cr_expect_str_eq(p->msg, "no answer within 300ms");
	cr_expect_geq(now_us() - t0, 290000);
	cr_expect_lt(now_us() - t0, 450000, "the hard timeout was late");
	/* The aborted transfer is gone from the multi: the next attempt works. */
	probe_free(p);
	cfg_free(cfg);
	tu_cleanup();
	p = run_probe("{ \"type\": \"http\", " H("/healthz") " }", "300ms", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
}

Test(http, free_while_running_releases_the_transfer)
{
	struct cfg	*cfg;
	struct probe	*p, *q;
	char		 svc[512];

	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.80/32\"], \"probes\": ["
	    "{ \"type\": \"http\", \"url\": \"http://127.0.0.1:%u/\" },"
	    "{ \"type\": \"http\", \"url\": \"http://127.0.0.1:%u/healthz\" } ] }", fx.hung, fx.http);
	cfg = tu_load(NULL, "svc", svc, NULL);
	p = probe_new(ev, &cfg->services[0].probes[0], on_done, NULL);
	q = probe_new(ev, &cfg->services[0].probes[1], on_done, NULL);
	probe_run_once(p);
	cr_expect(p->running);
	probe_free(p);
	done = false;
	probe_run_once(q);
	cr_assert(tu_run_until(ev, &done, 2000));
	cr_expect_eq(q->result, PROBE_OK, "%s", q->msg);
	probe_free(q);
	cfg_free(cfg);
}

/*
 * A connect still in flight after the probe's first look (hm_nudge()): a
 * listener whose accept queue is full drops the SYN, so the connect stays
 * in progress until the attempt's deadline, which must end it and leave
 * the multi clean for the next attempt.
 */
Test(http, connect_in_flight_times_out_on_time)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	struct pollfd		 pfd = { .events = POLLOUT };
	struct cfg		*cfg;
	struct probe		*p;
	char			 probe[256];
	uint16_t		 port;
	uint64_t		 t0;
	int			 lfd, c[4];

	lfd = tu_listen(0, &port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	/* Fill the accept queue; the last connect is left in flight (checked). */
	for (int i = 0; i < 4; i++) {
		c[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		cr_assert_geq(c[i], 0);
		connect(c[i], (struct sockaddr *)&sin, sizeof(sin));
		usleep(20000);
	}
	pfd.fd = c[3];
	cr_assert_eq(poll(&pfd, 1, 50), 0, "the accept queue is not full: no connect in flight");
	snprintf(probe, sizeof(probe), "{ \"type\": \"http\", \"url\": \"http://127.0.0.1:%u/\" }",
	    port);
	t0 = now_us();
	p = run_probe(probe, "300ms", &cfg);
	cr_expect_eq(p->result, PROBE_TIMEOUT, "%s: %s", probe_result_str(p->result), p->msg);
	cr_expect_geq(now_us() - t0, 290000);
	cr_expect_lt(now_us() - t0, 450000, "the hard timeout was late");
	probe_free(p);
	cfg_free(cfg);
	for (int i = 0; i < 4; i++)
		close(c[i]);
	close(lfd);
	tu_cleanup();
	p = run_probe("{ \"type\": \"http\", " H("/healthz") " }", "300ms", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s", p->msg);
	probe_free(p);
	cfg_free(cfg);
}

/* A one-shot HTTP server on the loop for the test below. */
static struct {
	int		 lfd, cfd;
	int		 queued[4];
	sd_event_source	*drain, *listen, *conn;
} late;

static int
late_conn_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg UNUSED)
{
	static const char	 ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "Connection: close\r\n\r\n";
	char			 buf[2048];

	/* The request fits one read on loopback; answer it and stop. */
	if (read(fd, buf, sizeof(buf)) > 0 && write(fd, ok, sizeof(ok) - 1) < 0)
		return 0;
	late.conn = sd_event_source_disable_unref(late.conn);
	return 0;
}

static int
late_listen_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg UNUSED)
{
	if ((late.cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) >= 0)
		sd_event_add_io(ev, &late.conn, late.cfd, EPOLLIN, late_conn_cb, NULL);
	late.listen = sd_event_source_disable_unref(late.listen);
	return 0;
}

/* Empties the accept queue: the probe's next SYN gets through. */
static int
late_drain_cb(sd_event_source *s UNUSED, uint64_t usec UNUSED, void *arg UNUSED)
{
	int	fd;

	while ((fd = accept4(late.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0)
		close(fd);
	sd_event_add_io(ev, &late.listen, late.lfd, EPOLLIN, late_listen_cb, NULL);
	return 0;
}

/*
 * A connect still in flight after the probe's first look (hm_nudge()) must
 * be watched by the loop: the listener's accept queue is full, so the
 * probe's SYN is dropped; 100 ms later the test empties the queue, the
 * kernel's SYN retransmission (after 1 s) connects, and the test server
 * answers. Without the watch nobody would tell curl: a timeout at 1.9 s.
 */
Test(http, connect_in_flight_is_followed)
{
	struct sockaddr_in	 sin = { .sin_family = AF_INET };
	struct pollfd		 pfd = { .events = POLLOUT };
	struct cfg		*cfg;
	struct probe		*p;
	char			 probe[256];
	uint16_t		 port;

	late.lfd = tu_listen(0, &port);
	/* Drained until EAGAIN (late_drain_cb()). */
	cr_assert_eq(fcntl(late.lfd, F_SETFL, O_NONBLOCK), 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	for (int i = 0; i < 4; i++) {
		late.queued[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		cr_assert_geq(late.queued[i], 0);
		connect(late.queued[i], (struct sockaddr *)&sin, sizeof(sin));
		usleep(20000);
	}
	pfd.fd = late.queued[3];
	cr_assert_eq(poll(&pfd, 1, 50), 0, "the accept queue is not full: no connect in flight");
	/*
	 * The queued connection keeps the queue full when closed; the others
	 * must not retry against the probe's connect.
	 */
	for (int i = 0; i < 4; i++)
		close(late.queued[i]);
	cr_assert_geq(sd_event_add_time_relative(ev, &late.drain, CLOCK_MONOTONIC, 100000, 1000,
	    late_drain_cb, NULL), 0);
	snprintf(probe, sizeof(probe), "{ \"type\": \"http\", \"url\": \"http://127.0.0.1:%u/\" }",
	    port);
	p = run_probe(probe, "1900ms", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s: %s", probe_result_str(p->result), p->msg);
	probe_free(p);
	cfg_free(cfg);
	sd_event_source_disable_unref(late.drain);
	sd_event_source_disable_unref(late.listen);
	sd_event_source_disable_unref(late.conn);
	if (late.cfd > 0)
		close(late.cfd);
	close(late.lfd);
}

/* Points certs/rotating.{pem,key} at one of the test certificates. */
static void
rotate_cert(const char *name)
{
	char	link[512], target[64];

	for (int i = 0; i < 2; i++) {
		snprintf(link, sizeof(link), "%s/certs/rotating.%s", fx.dir, i ? "key" : "pem");
		snprintf(target, sizeof(target), "%s.%s", name, i ? "key" : "pem");
		unlink(link);
		cr_assert_eq(symlink(target, link), 0, "symlink %s: %s", link, strerror(errno));
	}
}

/*
 * cert_min_days judges the certificate of every attempt: one probe, one
 * server (same TLS ticket keys and session cache), the certificate changed
 * between attempts. A resumed TLS session (no certificate sent) or a
 * certificate kept from the previous attempt would pass the second attempt.
 */
Test(http, certificate_changed_between_attempts_is_seen)
{
	static const struct { const char *cert; enum probe_result want; } steps[] = {
		{ "valid", PROBE_OK }, { "expiring", PROBE_CERT_EXPIRING },
		{ "expiring", PROBE_CERT_EXPIRING }, { "valid", PROBE_OK },
		{ "valid", PROBE_OK },
	};
	struct cfg	*cfg;
	struct probe	*p;
	char		 probe[512], svc[700];

	expand("{ \"type\": \"http\", \"url\": \"https://rotating.example.com:{HTTPS}/\", "
	    "\"connect_to\": \"127.0.0.1\", \"tls_verify\": false, \"cert_min_days\": 14 }",
	    probe, sizeof(probe));
	snprintf(svc, sizeof(svc), "{ \"prefixes\": [\"192.0.2.80/32\"], \"interval\": \"2s\", "
	    "\"timeout\": \"1s\", \"probes\": [ %s ] }", probe);
	cfg = tu_load(NULL, "svc", svc, NULL);
	p = probe_new(ev, &cfg->services[0].probes[0], on_done, NULL);
	cr_assert_not_null(p);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		rotate_cert(steps[i].cert);
		done = false;
		probe_run_once(p);
		cr_assert(tu_run_until(ev, &done, 5000), "attempt %zu did not finish", i);
		cr_expect_eq(p->result, steps[i].want, "attempt %zu (%s certificate): got %s: %s",
		    i, steps[i].cert, probe_result_str(p->result), p->msg);
	}
	probe_free(p);
	cfg_free(cfg);
}

/*
 * The acceptance test of "a hung service never delays other probes": 49
 * probes against nginx and one against the hung server, every 100 ms, for
 * 3 s. Lateness is how long after its timer was due each attempt started.
 */
Test(http, hung_server_never_delays_other_probes)
{
	enum { N = 50 };
	struct cfg	*cfg;
	struct probe	*p[N];
	char		*svc, *o;
	bool		 never = false;
	uint64_t	 worst = 0, sum = 0, runs = 0;
	size_t		 len = 64 * N + 256;

	cr_assert_not_null(o = svc = malloc(len));
	o += sprintf(o, "{ \"prefixes\": [\"192.0.2.80/32\"], \"interval\": \"100ms\", "
	    "\"timeout\": \"80ms\", \"probes\": [");
	for (int i = 0; i < N; i++)
		o += sprintf(o, "%s{ \"type\": \"http\", \"url\": \"http://127.0.0.1:%u/%s\" }",
		    i ? ", " : "", i == 0 ? fx.hung : fx.http, i == 0 ? "" : "healthz");
	sprintf(o, "] }");
	cfg = tu_load(NULL, "svc", svc, NULL);
	free(svc);
	for (int i = 0; i < N; i++) {
		cr_assert_not_null(p[i] = probe_new(ev, &cfg->services[0].probes[i], on_done, NULL));
		cr_assert_geq(probe_schedule(p[i]), 0);
	}
	tu_run_until(ev, &never, 3000);
	for (int i = 0; i < N; i++) {
		if (p[i]->late_max_us > worst)
			worst = p[i]->late_max_us;
		runs += p[i]->runs;
		if (i > 0)
			cr_expect_eq(p[i]->failures, 0, "probe %d: %s", i, p[i]->msg);
		cr_expect_geq(p[i]->runs, 25, "probe %d ran %lu times in 3 s", i,
		    (unsigned long)p[i]->runs);
		sum += p[i]->late_max_us;
	}
	cr_expect_eq(p[0]->result, PROBE_TIMEOUT, "%s", p[0]->msg);
	cr_expect_eq(p[0]->failures, p[0]->runs);
	fprintf(stderr, "http: %d probes (1 hung) every 100ms for 3s: %lu attempts, "
	    "worst start lateness %.2f ms, mean per-probe worst %.2f ms\n", N,
	    (unsigned long)runs, worst / 1000.0, sum / 1000.0 / N);
	/* Generous: 2 shared cores, maybe ASan; a blocking call would cost >= 80 ms. */
	cr_expect_lt(worst, 40000, "worst lateness %lu us", (unsigned long)worst);
	for (int i = 0; i < N; i++)
		probe_free(p[i]);
	cfg_free(cfg);
}

/* Configuration errors of the http keys: each bad probe and its exact line. */
struct bad_http {
	const char	*probe;
	const char	*error;		/* after "services.d/svc.json: probes[0]." */
	bool		 prefix;
};

static const struct bad_http bad[] = {
	{ "\"url\": \"http://127.0.0.1/\", \"expect_body\": \"(ok\"",
	  "expect_body: '(ok' is not a regular expression: ", true },
	{ "\"url\": \"ftp://127.0.0.1/\"",
	  "url: 'ftp://127.0.0.1/' is not an http:// or https:// URL", false },
	{ "\"url\": \"http://www.example.com/\"",
	  "url: host 'www.example.com' is a name: give \"connect_to\" (an IP address) so "
	  "that the daemon never waits for DNS", false },
	{ "\"url\": \"http://[::1\"", "url: 'http://[::1' is not a URL: ", true },
	{ "\"url\": \"http://www.example.com/\", \"connect_to\": \"localhost\"",
	  "connect_to: 'localhost' is not ADDRESS or ADDRESS:PORT (an IP address, IPv6 in "
	  "brackets with a port)", false },
	{ "\"url\": \"http://www.example.com/\", \"connect_to\": \"127.0.0.1:0\"",
	  "connect_to: '127.0.0.1:0' is not ADDRESS", true },
	{ "\"url\": \"http://127.0.0.1/\", \"expect_status\": [\"2xy\"]",
	  "expect_status[0]: '2xy' is not a status code (100-599) or class (1xx-5xx)", false },
	{ "\"url\": \"http://127.0.0.1/\", \"expect_status\": [200, 600]",
	  "expect_status[1]: 600 is not a status code (100-599)", false },
	{ "\"url\": \"http://127.0.0.1/\", \"expect_status\": []",
	  "expect_status: expected a non-empty list of codes and classes, e.g. [\"2xx\", 301]", false },
	{ "\"url\": \"http://127.0.0.1/\", \"headers\": { \"Bad Name\": \"x\" }",
	  "headers: 'Bad Name' is not a header name", false },
	{ "\"url\": \"http://127.0.0.1/\", \"headers\": { \"X-A\": \"a\\r\\nX-B: b\" }",
	  "headers.X-A: must be non-empty, without line breaks or NUL", false },
	{ "\"url\": \"http://127.0.0.1/\", \"headers\": [\"Host: x\"]",
	  "headers: expected an object of header names and values, e.g. "
	  "{ \"Host\": \"www.example.com\" }", false },
	{ "\"url\": \"http://127.0.0.1/\", \"method\": \"get\"",
	  "method: 'get' is not a method (GET, HEAD, POST, ...)", false },
	{ "\"url\": \"http://127.0.0.1/\", \"cert_min_days\": 14",
	  "cert_min_days: needs an https:// URL", false },
	{ "\"url\": \"https://127.0.0.1/\", \"ca_file\": \"/nonexistent/ca.pem\"",
	  "ca_file: /nonexistent/ca.pem: No such file or directory", false },
	{ "\"url\": \"http://127.0.0.1/\", \"max_body\": 0",
	  "max_body: 0 is out of range (1-16777216)", false },
	{ "\"url\": \"http://127.0.0.1/\", \"tls_verify\": \"no\"",
	  "tls_verify: expected true or false, got a string", false },
	{ "\"method\": \"GET\"", "url: is required", false },
};

ParameterizedTestParameters(http, config_errors)
{
	PARAM_INDICES(bad);
}

ParameterizedTest(size_t *i, http, config_errors)
{
	struct cfg_errors	 errs = { 0 };
	char			 dir[64], path[256], want[512];
	FILE			*f;
	bool			 found = false;

	snprintf(dir, sizeof(dir), "/tmp/ahd-http-cfg-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	chmod(dir, 0755);
	snprintf(path, sizeof(path), "%s/services.d", dir);
	cr_assert_eq(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/main.json", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs("{}", f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/services.d/svc.json", dir);
	cr_assert_not_null(f = fopen(path, "w"));
	fprintf(f, "{ \"prefixes\": [\"192.0.2.80/32\"], \"probes\": [{ \"type\": \"http\", %s }] }",
	    bad[*i].probe);
	fclose(f);
	chmod(path, 0644);
	snprintf(path, sizeof(path), "%s/main.json", dir);
	chmod(path, 0644);
	cr_expect_null(cfg_load(path, &errs));
	snprintf(want, sizeof(want), "services.d/svc.json: probes[0].%s", bad[*i].error);
	for (size_t j = 0; j < errs.n; j++)
		if (bad[*i].prefix ? strncmp(errs.msgs[j], want, strlen(want)) == 0 :
		    strcmp(errs.msgs[j], want) == 0)
			found = true;
	for (size_t j = 0; !found && j < errs.n; j++)
		cr_log_error("got: %s", errs.msgs[j]);
	cr_expect(found, "expected [%s]", want);
	cr_expect_eq(errs.n, 1, "one mistake, one error");
	cfg_errors_clear(&errs);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * curl's sockets are edge-triggered on the loop (probes/http.c): that is
 * only right while curl reads a readable socket until it would block. A
 * server that sends its whole answer in one go and keeps the connection
 * open gives one edge for far more than one read: if curl stopped early,
 * no event would come again and the attempt would hang to its timeout.
 */
Test(http, a_large_answer_in_one_write_is_read_to_its_end)
{
	enum { BODY = 768 * 1024 };
	struct cfg	*cfg;
	struct probe	*p;
	char		 probe[256], req[4096], *answer;
	uint16_t	 port;
	uint64_t	 t0;
	size_t		 hlen;
	pid_t		 pid;
	int		 lfd, fd;

	lfd = tu_listen(4, &port);
	cr_assert_not_null(answer = malloc(BODY + 256));
	hlen = (size_t)sprintf(answer, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %d\r\n\r\n", BODY);
	memset(answer + hlen, 'x', BODY);
	memcpy(answer + hlen + BODY - 4, "END\n", 4);
	if ((pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = accept(lfd, NULL, NULL)) == -1 || read(fd, req, sizeof(req)) <= 0)
			_exit(1);
		/* One write of headers and body; the connection stays open. */
		if (write(fd, answer, hlen + BODY) != (ssize_t)(hlen + BODY))
			_exit(1);
		sleep(10);
		_exit(0);
	}
	cr_assert_gt(pid, 0);
	close(lfd);
	snprintf(probe, sizeof(probe), "{ \"type\": \"http\", \"url\": "
	    "\"http://127.0.0.1:%u/big\", \"max_body\": %d, \"expect_body\": \"xEND\" }",
	    port, 2 * BODY);
	t0 = now_us();
	p = run_probe(probe, "1500ms", &cfg);
	cr_expect_eq(p->result, PROBE_OK, "%s: %s", probe_result_str(p->result), p->msg);
	cr_expect_lt(now_us() - t0, 1000000, "the answer was read %llu ms late",
	    (unsigned long long)((now_us() - t0) / 1000));
	probe_free(p);
	cfg_free(cfg);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(answer);
}
