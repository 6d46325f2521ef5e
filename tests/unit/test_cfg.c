/*
 * Configuration loading: each test writes its configuration into a fresh
 * mkdtemp() directory (ahd.json + services.d/), so that every case is visible
 * where it is asserted. TEST_DATADIR/cfg holds a complete example tree.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "compiler.h"
#include "cfg.h"
#include "testutil.h"
#include "log.h"
#include "probe.h"

#define SVC_OK	"{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": " \
		"[{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53 }] }"

static char		 tdir[64];
static struct cfg_errors errs;

static void
setup(void)
{
	char	p[128];

	snprintf(tdir, sizeof(tdir), "/tmp/ahd-cfg-test.XXXXXX");
	cr_assert_not_null(mkdtemp(tdir));
	snprintf(p, sizeof(p), "%s/services.d", tdir);
	cr_assert_eq(mkdir(p, 0755), 0);
	memset(&errs, 0, sizeof(errs));
}

static int
rm_entry(const char *path, const struct stat *st UNUSED, int flag UNUSED, struct FTW *ftw UNUSED)
{
	return remove(path);
}

static void
teardown(void)
{
	cfg_errors_clear(&errs);
	nftw(tdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(cfg, .init = setup, .fini = teardown);

static void
put_mode(const char *rel, const char *text, mode_t mode)
{
	char	 p[512];
	FILE	*f;

	snprintf(p, sizeof(p), "%s/%s", tdir, rel);
	f = fopen(p, "w");
	cr_assert_not_null(f, "cannot write %s: %s", p, strerror(errno));
	fputs(text, f);
	fclose(f);
	cr_assert_eq(chmod(p, mode), 0);
}

static void
put(const char *rel, const char *text)
{
	put_mode(rel, text, 0644);
}

static struct cfg *
load(void)
{
	char	p[128];

	snprintf(p, sizeof(p), "%s/ahd.json", tdir);
	return cfg_load(p, &errs);
}

static const char *
all_errors(void)
{
	static char	buf[8192];
	size_t		off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < errs.n && off < sizeof(buf); i++)
		off += (size_t)snprintf(buf + off, sizeof(buf) - off, "  [%s]\n",
		    errs.msgs[i]);
	return errs.n ? buf : "  (none)\n";
}

/* An error line equal to want, or, with prefix, starting with it. */
static bool
has_error(const char *want, bool prefix)
{
	for (size_t i = 0; i < errs.n; i++)
		if (prefix ? strncmp(errs.msgs[i], want, strlen(want)) == 0 :
		    strcmp(errs.msgs[i], want) == 0)
			return true;
	return false;
}

#define expect_error(want) \
	cr_expect(has_error((want), false), "expected the error\n  [%s]\ngot:\n%s", \
	    (want), all_errors())

/* One broken configuration and the exact line it must produce. */
struct bad_case {
	const char	*main;		/* NULL: "{}" */
	const char	*service;	/* services.d/dns.json; NULL: SVC_OK */
	const char	*error;
	bool		 prefix;	/* error is the start of the line */
};

/*
 * Criterion runs each test in a fresh process of the same binary, where
 * pointers taken in the parent mean nothing: parameters are indices into
 * these tables.
 */
#define PARAM_INDICES(table) do {					\
	static size_t idx[sizeof(table) / sizeof(table[0])];		\
	for (size_t i = 0; i < sizeof(idx) / sizeof(idx[0]); i++)	\
		idx[i] = i;						\
	return cr_make_param_array(size_t, idx, sizeof(idx) / sizeof(idx[0])); \
} while (0)

static const struct bad_case bad_cases[] = {
	/* The spec's own example. */
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": ["
	    "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53 },"
	    "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 70000 }] }",
	  "services.d/dns.json: probes[1].port: 70000 is not a port (1-65535)", false },
	/* Unknown keys, at every level. */
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"intervall\": \"1s\", \"probes\": "
	    "[{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53 }] }",
	  "services.d/dns.json: unknown key 'intervall' (did you mean 'interval'?)", false },
	{ "{ \"interfac\": \"lo\" }", NULL,
	  "ahd.json: unknown key 'interfac' (did you mean 'interface'?)", false },
	{ "{ \"frr\": { \"zzzzzz\": 1 } }", NULL, "ahd.json: frr: unknown key 'zzzzzz'", false },
	{ "{ \"log\": { \"lvl\": \"info\" } }", NULL,
	  "ahd.json: log: unknown key 'lvl' (did you mean 'level'?)", false },
	{ "{ \"defaults\": { \"rize\": 3 } }", NULL,
	  "ahd.json: defaults: unknown key 'rize' (did you mean 'rise'?)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": "
	    "[{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53, \"snd\": \"x\" }] }",
	  "services.d/dns.json: probes[0]: unknown key 'snd' (did you mean 'send'?)", false },
	/* Main file values. */
	{ "{ \"interface\": \"eth0/1\" }", NULL, "ahd.json: interface: 'eth0/1' is not an "
	  "interface name (1-15 characters, no '/', ':' or white space)", false },
	{ "{ \"interface\": \"abcdefghijklmnop\" }", NULL, "ahd.json: interface: "
	  "'abcdefghijklmnop' is not an interface name", true },
	{ "{ \"interface\": \"eth 0\" }", NULL, "ahd.json: interface: 'eth 0' is not an "
	  "interface name", true },
	{ "{ \"interface\": 7 }", NULL, "ahd.json: interface: expected a string, got an integer", false },
	{ "{ \"frr\": \"vtysh\" }", NULL, "ahd.json: frr: expected an object, got a string", false },
	{ "{ \"frr\": { \"vtysh\": \"vtysh\" } }", NULL,
	  "ahd.json: frr.vtysh: 'vtysh' is not an absolute path", false },
	{ "{ \"frr\": { \"asn\": 0 } }", NULL, "ahd.json: frr.asn: 0 is out of range (1-4294967295)", false },
	{ "{ \"frr\": { \"asn\": 4294967296 } }", NULL,
	  "ahd.json: frr.asn: 4294967296 is out of range (1-4294967295)", false },
	{ "{ \"frr\": { \"asn\": \"65000\" } }", NULL,
	  "ahd.json: frr.asn: expected an integer, got a string", false },
	{ "{ \"frr\": { \"asn\": 65000.5 } }", NULL,
	  "ahd.json: frr.asn: expected an integer, got a number with a fraction", false },
	{ "{ \"frr\": { \"vrf\": \"red blue\" } }", NULL,
	  "ahd.json: frr.vrf: 'red blue' is not a valid VRF name", true },
	{ "{ \"frr\": { \"timeout\": \"0s\" } }", NULL, "ahd.json: frr.timeout: must be more than 0", false },
	{ "{ \"control_socket\": \"/run/" "0123456789012345678901234567890123456789"
	  "0123456789012345678901234567890123456789" "0123456789012345678901234567890123456789\" }",
	  NULL, "ahd.json: control_socket: '/run/012", true },
	{ "{ \"state_file\": \"\" }", NULL, "ahd.json: state_file: must not be empty", false },
	{ "{ \"log\": { \"level\": \"verbose\" } }", NULL,
	  "ahd.json: log.level: 'verbose' is not debug, info, warning or error", false },
	{ "{ \"log\": { \"format\": \"xml\" } }", NULL,
	  "ahd.json: log.format: 'xml' is not text or json", false },
	{ "{ \"log\": { \"syslog\": \"yes\" } }", NULL,
	  "ahd.json: log.syslog: expected true or false, got a string", false },
	{ "{ \"on_exit\": \"stay\" }", NULL, "ahd.json: on_exit: 'stay' is not withdraw or keep", false },
	{ "{ \"shared_prefixes\": \"some\" }", NULL,
	  "ahd.json: shared_prefixes: 'some' is not all or any", false },
	{ "{ \"defaults\": { \"jitter\": \"60%\" } }", NULL,
	  "ahd.json: defaults.jitter: '60%' is out of range (0%-50%)", false },
	{ "{ \"defaults\": { \"jitter\": \"10\" } }", NULL,
	  "ahd.json: defaults.jitter: '10' is not a percentage like \"10%\"", false },
	{ "{ \"defaults\": { \"jitter\": 10 } }", NULL,
	  "ahd.json: defaults.jitter: expected a percentage string like \"10%\", got an integer", false },
	{ "{ \"defaults\": { \"rise\": 0 } }", NULL, "ahd.json: defaults.rise: 0 is out of range (1-100)", false },
	{ "{ \"defaults\": { \"interval\": \"1s\", \"timeout\": \"1500ms\" } }", NULL,
	  "ahd.json: defaults.timeout: timeout 1.5s exceeds interval 1s (an attempt must "
	  "end before the next one starts)", false },
	{ "{ \"defaults\": { \"interval\": \"9ms\", \"timeout\": \"5ms\" } }", NULL,
	  "ahd.json: defaults.interval: 9ms is too short (at least 10ms)", false },
	/* Files. */
	{ "[1, 2]", NULL, "ahd.json: the top level must be a JSON object, not an array", false },
	{ "\"lo\"", NULL, "ahd.json: the top level must be a JSON object, not a string", false },
	{ "{ \"interface\": \"lo\" } x", NULL,
	  "ahd.json: not valid JSON: unexpected character (line 1, column 23)", false },
	{ "{\n  \"interface\": \"lo\",\n}\n", NULL,
	  "ahd.json: not valid JSON: unexpected character (line 3, column 1)", false },
	{ "{ \"interface\": \"lo\"", NULL,
	  "ahd.json: not valid JSON: unexpected end of file (line 1, column 20)", false },
	{ "", NULL, "ahd.json: not valid JSON: unexpected end of file (line 1, column 1)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"]\n  \"probes\": [] }",
	  "services.d/dns.json: not valid JSON: ", true },
	/* Service values. */
	{ NULL, "{ \"probes\": [{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53 }] }",
	  "services.d/dns.json: prefixes: is required", false },
	{ NULL, "{ \"prefixes\": [], \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", "
	  "\"port\": 53 }] }", "services.d/dns.json: prefixes: must list at least one prefix", false },
	{ NULL, "{ \"prefixes\": \"192.0.2.53/32\", \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: prefixes: expected an array of prefixes, got a string", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\", 53], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: prefixes[1]: expected a prefix string, got an integer", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.5/24\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: prefixes[0]: '192.0.2.5/24' has host bits set beyond /24 "
	  "(FRR would silently announce the covering network)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: prefixes[0]: '192.0.2.53' has no prefix length", true },
	{ NULL, "{ \"prefixes\": [\"2001:db8::53/128\", \"192.0.2.53/32\", "
	  "\"2001:DB8:0::53/128\"], \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", "
	  "\"port\": 53 }] }",
	  "services.d/dns.json: prefixes[2]: 2001:db8::53/128 is listed twice", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"method\": \"adress\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: method: 'adress' is not address, network or both", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"interval\": \"5ms\", \"timeout\": "
	  "\"1ms\", \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: interval: 5ms is too short (at least 10ms)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"timeout\": \"2s\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: timeout: timeout 2s exceeds interval 1s (an attempt must "
	  "end before the next one starts)", false },
	/* The inherited timeout is named on the key that was written. */
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"interval\": \"200ms\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: interval: timeout 500ms exceeds interval 200ms (an attempt "
	  "must end before the next one starts)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"timeout\": 0, \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: timeout: must be more than 0", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"interval\": \"2\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: interval: '2' has no unit (us, ms, s, m or h)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"interval\": -1, \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: interval: -1 is negative", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"hold_down\": \"3d\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: hold_down: '3d' has an unknown unit 'd' (us, ms, s, m or h)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"damping\": { \"suppress\": 900 }, "
	  "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: damping: penalty must be below suppress (a single fall must "
	  "not suppress)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"damping\": { \"halflife\": \"1m\" }, "
	  "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: damping: unknown key 'halflife' (did you mean 'half_life'?)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"damping\": \"on\", "
	  "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: damping: expected true, false or an object, got a string", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"drain_grace\": true, \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: drain_grace: expected a duration (a string like \"250ms\" "
	  "or a number of seconds), got a boolean", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"rise\": \"3\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: rise: expected an integer, got a string", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"fall\": 101, \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: fall: 101 is out of range (1-100)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"require\": 2, \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: require: 2 is more than the number of probes (1)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"require\": 0, \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: require: 0 is not a number of probes (at least 1)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"require\": \"most\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: require: 'most' is not all, any or a number of probes", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"on_warning\": \"degrade\", "
	  "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: on_warning: 'degrade' needs method network or both (the "
	  "degraded route-map belongs to the network statement)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"on_warning\": \"ignore\", "
	  "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: on_warning: 'ignore' is not announce, degrade or withdraw", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"method\": \"network\", "
	  "\"degraded_route_map\": \"MY MAP\", \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: degraded_route_map: 'MY MAP' is not a valid route-map name "
	  "(1-64 characters of A-Z a-z 0-9 _ . -)", false },
	{ "{ \"frr\": { \"pathspace\": \"..\" } }", NULL,
	  "ahd.json: frr.pathspace: '..' is not a valid pathspace name (it would name a "
	  "directory that is not its own)", false },
	{ "{ \"frr\": { \"vrf\": \".\" } }", NULL,
	  "ahd.json: frr.vrf: '.' is not a valid VRF name (it would name a directory "
	  "that is not its own)", false },
	{ NULL, "{ \"name\": \"dns server\", \"prefixes\": [\"192.0.2.53/32\"], \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: name: 'dns server' is not a valid service name (1-64 "
	  "characters of A-Z a-z 0-9 _ . -)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"interface\": \"lo:1\", \"probes\": "
	  "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: interface: 'lo:1' is not an interface name", true },
	/* Probes. */
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"] }", "services.d/dns.json: probes: is required", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [] }",
	  "services.d/dns.json: probes: must list at least one probe", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": { \"type\": \"tcp\" } }",
	  "services.d/dns.json: probes: expected an array of probes, got an object", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [\"tcp\"] }",
	  "services.d/dns.json: probes[0]: expected an object, got a string", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"port\": 53 }] }",
	  "services.d/dns.json: probes[0].type: is required", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcpp\" }] }",
	  "services.d/dns.json: probes[0].type: unknown probe type 'tcpp' (known: tcp, http, dns, exec, process, listen)", true },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": ["
	  "{ \"type\": \"tcp\", \"name\": \"a\", \"host\": \"::1\", \"port\": 53 },"
	  "{ \"type\": \"tcp\", \"name\": \"a\", \"host\": \"::1\", \"port\": 54 }] }",
	  "services.d/dns.json: probes[1].name: probe name 'a' is already used by probes[0]", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": ["
	  "{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 },"
	  "{ \"type\": \"tcp\", \"name\": \"tcp#0\", \"host\": \"::1\", \"port\": 54 }] }",
	  "services.d/dns.json: probes[1].name: probe name 'tcp#0' is already used by probes[0]", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"name\": \"it's\", \"host\": \"::1\", \"port\": 53 }] }",
	  "services.d/dns.json: probes[0].name: 'it's' is not a valid probe name", true },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53, \"warning\": \"400ms\", \"critical\": \"100ms\" }] }",
	  "services.d/dns.json: probes[0].warning: 400ms must be less than critical 100ms", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53, \"warning\": \"0s\" }] }",
	  "services.d/dns.json: probes[0].warning: must be more than 0 (leave it out for no "
	  "threshold)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53, \"interval\": \"5ms\", \"timeout\": \"1ms\" }] }",
	  "services.d/dns.json: probes[0].interval: 5ms is too short (at least 10ms)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53, \"timeout\": \"2s\" }] }",
	  "services.d/dns.json: probes[0].timeout: timeout 2s exceeds interval 1s (an "
	  "attempt must end before the next one starts)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"localhost\", \"port\": 53 }] }",
	  "services.d/dns.json: probes[0].host: 'localhost' is not an IPv4 or IPv6 address "
	  "(host names are not resolved)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 0 }] }",
	  "services.d/dns.json: probes[0].port: 0 is not a port (1-65535)", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": \"53\" }] }",
	  "services.d/dns.json: probes[0].port: expected a port number, got a string", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\" }] }", "services.d/dns.json: probes[0].port: is required", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"tcp\", "
	  "\"host\": \"::1\", \"port\": 53, \"send\": \"a\\u0000b\" }] }",
	  "services.d/dns.json: probes[0].send: contains a NUL character", false },
	/* process and listen probes. */
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"process\" }] }",
	  "services.d/dns.json: probes[0]: needs exactly one of pidfile, unit, cgroup", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"process\", "
	  "\"pidfile\": \"/run/a.pid\", \"unit\": \"a\" }] }",
	  "services.d/dns.json: probes[0]: needs exactly one of pidfile, unit, cgroup", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"process\", "
	  "\"pidfile\": \"run/a.pid\" }] }",
	  "services.d/dns.json: probes[0].pidfile: 'run/a.pid' is not an absolute file path", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"process\", "
	  "\"unit\": \"../etc\" }] }",
	  "services.d/dns.json: probes[0].unit: '../etc' is not a systemd unit name", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"process\", "
	  "\"cgroup\": \"system.slice/../../x\" }] }",
	  "services.d/dns.json: probes[0].cgroup: 'system.slice/../../x' is not a cgroup path", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"process\", "
	  "\"pidfile\": \"/run/a.pid\", \"port\": 53 }] }",
	  "services.d/dns.json: probes[0]: unknown key 'port'", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"listen\", "
	  "\"protocol\": \"sctp\", \"port\": 53 }] }",
	  "services.d/dns.json: probes[0].protocol: 'sctp' is not tcp or udp", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"listen\" }] }",
	  "services.d/dns.json: probes[0].port: is required", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"listen\", "
	  "\"port\": 53, \"family\": \"ipv5\" }] }",
	  "services.d/dns.json: probes[0].family: 'ipv5' is not ipv4, ipv6 or any", false },
	{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [{ \"type\": \"listen\", "
	  "\"port\": 53, \"family\": \"ipv4\", \"address\": \"2001:db8::53\" }] }",
	  "services.d/dns.json: probes[0].family: ipv4 does not fit the IPv6 address", false },
};

ParameterizedTestParameters(cfg, bad)
{
	PARAM_INDICES(bad_cases);
}

ParameterizedTest(size_t *i, cfg, bad)
{
	const struct bad_case	*c = &bad_cases[*i];
	struct cfg		*cfg;

	put("ahd.json", c->main != NULL ? c->main : "{}");
	put("services.d/dns.json", c->service != NULL ? c->service : SVC_OK);
	cfg = load();
	cr_expect_null(cfg, "loaded although it should fail with [%s]", c->error);
	cfg_free(cfg);
	cr_expect(has_error(c->error, c->prefix), "expected the error\n  [%s]%s\ngot:\n%s",
	    c->error, c->prefix ? "..." : "", all_errors());
}

/* Durations: the text, and the microseconds it means. */
struct dur_case {
	const char	*text;
	uint64_t	 us;
};

static const struct dur_case dur_good[] = {
	{ "250ms", 250000 }, { "2s", 2000000 }, { "1m", 60000000 },
	{ "1h", 3600000000ULL }, { "500us", 500 }, { "1.5s", 1500000 },
	{ "0s", 0 }, { "0.25s", 250000 }, { "1.5ms", 1500 },
	{ "0.000001s", 1 }, { "1.0000000000s", 1000000 }, { "90s", 90000000 },
	{ "0.5h", 1800000000ULL }, { "24h", 86400000000ULL }, { "86400s", 86400000000ULL },
	{ "86400000000us", 86400000000ULL }, { "1.00000001h", 3600000036ULL },
	{ "2.000000000000000000000000s", 2000000 },
};

ParameterizedTestParameters(cfg, duration_good)
{
	PARAM_INDICES(dur_good);
}

ParameterizedTest(size_t *i, cfg, duration_good)
{
	const struct dur_case	*c = &dur_good[*i];
	char			 err[256] = "";
	uint64_t		 us = 12345;

	cr_expect_eq(cfg_duration_parse(c->text, &us, err, sizeof(err)), 0,
	    "'%s' refused: %s", c->text, err);
	cr_expect_eq(us, c->us, "'%s' gave %llu us, not %llu", c->text,
	    (unsigned long long)us, (unsigned long long)c->us);
}

struct dur_bad {
	const char	*text;
	const char	*error;
};

static const struct dur_bad dur_bad[] = {
	{ "", "empty duration (write e.g. \"250ms\" or \"2s\")" },
	{ "-1s", "'-1s' is negative" },
	{ "5", "'5' has no unit (us, ms, s, m or h)" },
	{ "5d", "'5d' has an unknown unit 'd' (us, ms, s, m or h)" },
	{ "5 s", "'5 s' has an unknown unit ' s' (us, ms, s, m or h)" },
	{ "5S", "'5S' has an unknown unit 'S' (us, ms, s, m or h)" },
	{ "s", "'s' is not a duration (write e.g. \"250ms\", \"2s\", \"1m\")" },
	{ " 1s", "' 1s' is not a duration (write e.g. \"250ms\", \"2s\", \"1m\")" },
	{ "+1s", "'+1s' is not a duration (write e.g. \"250ms\", \"2s\", \"1m\")" },
	{ ".5s", "'.5s' is not a duration (write e.g. \"250ms\", \"2s\", \"1m\")" },
	{ "1.s", "'1.s' is not a duration (write e.g. \"250ms\", \"2s\", \"1m\")" },
	{ "1.5us", "'1.5us' is finer than a microsecond" },
	{ "0.0000001s", "'0.0000001s' is finer than a microsecond" },
	{ "1.0000000001h", "'1.0000000001h' is finer than a microsecond" },
	{ "0.00000000000000000001s", "'0.00000000000000000001s' is finer than a microsecond" },
	{ "18446744073709551616us", "'18446744073709551616us' is too long (at most 24h)" },
	{ "5124095577h", "'5124095577h' is too long (at most 24h)" },
	{ "99999999999999999999999s", "'99999999999999999999999s' is too long (at most 24h)" },
	/* Accepted before: the service never ran its first probe and stayed init. */
	{ "18446744073709s", "'18446744073709s' is too long (at most 24h)" },
	{ "24.000001h", "'24.000001h' is too long (at most 24h)" },
	{ "86400000001us", "'86400000001us' is too long (at most 24h)" },
	{ "1441m", "'1441m' is too long (at most 24h)" },
};

ParameterizedTestParameters(cfg, duration_bad)
{
	PARAM_INDICES(dur_bad);
}

ParameterizedTest(size_t *i, cfg, duration_bad)
{
	const struct dur_bad	*c = &dur_bad[*i];
	char			 err[256] = "";
	uint64_t		 us = 12345;

	cr_expect_eq(cfg_duration_parse(c->text, &us, err, sizeof(err)), -1,
	    "'%s' accepted as %llu us", c->text, (unsigned long long)us);
	cr_expect_str_eq(err, c->error);
	cr_expect_eq(us, 12345, "'%s' changed the output on error", c->text);
}

Test(cfg, duration_fmt)
{
	static const struct {
		uint64_t	 us;
		const char	*text;
	} cases[] = {
		{ 0, "0s" }, { 250000, "250ms" }, { 2000000, "2s" }, { 1500000, "1.5s" },
		{ 60000000, "1m" }, { 90000000, "90s" }, { 3600000000ULL, "1h" },
		{ 7200000000ULL, "2h" }, { 500, "500us" }, { 1500, "1.5ms" },
		{ 1000001, "1.000001s" }, { 1, "1us" }, { 10000, "10ms" },
	};
	char		buf[32];
	uint64_t	back;
	char		err[128];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_str_eq(cfg_duration_fmt(cases[i].us, buf, sizeof(buf)),
		    cases[i].text);
		/* What is printed must read back as the same value. */
		cr_expect_eq(cfg_duration_parse(buf, &back, err, sizeof(err)), 0, "%s", err);
		cr_expect_eq(back, cases[i].us, "%s read back differently", buf);
	}
}

Test(cfg, json_number_durations)
{
	struct cfg	*cfg;

	put("ahd.json", "{ \"defaults\": { \"interval\": 2, \"timeout\": 0.25 }, "
	    "\"frr\": { \"timeout\": 1.5 } }");
	put("services.d/dns.json", SVC_OK);
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_expect_eq(cfg->defaults.interval_us, 2000000);
	cr_expect_eq(cfg->defaults.timeout_us, 250000);
	cr_expect_eq(cfg->frr.timeout_us, 1500000);
	cr_expect_eq(cfg->services[0].interval_us, 2000000);
	cr_expect_eq(cfg->services[0].probes[0].timeout_us, 250000);
	cfg_free(cfg);
}

Test(cfg, json_number_durations_are_bounded_too)
{
	struct cfg	*cfg;

	put("ahd.json", "{ \"defaults\": { \"interval\": 86401 }, \"frr\": { \"timeout\": 86400.5 } }");
	put("services.d/dns.json", "{ \"prefixes\": [\"192.0.2.53/32\"], \"hold_down\": "
	    "18446744073709, \"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", "
	    "\"port\": 53 } ] }");
	cfg = load();
	cr_assert_null(cfg);
	expect_error("ahd.json: defaults.interval: 86401 seconds is too long (at most 24h)");
	expect_error("ahd.json: frr.timeout: 86400.5 seconds is too long (at most 24h)");
	expect_error("services.d/dns.json: hold_down: 18446744073709 seconds is too long "
	    "(at most 24h)");
}

Test(cfg, defaults_everywhere)
{
	struct cfg		*cfg;
	struct cfg_service	*s;
	struct cfg_probe	*p;
	char			 buf[PFX_STRLEN], want[256];

	put("ahd.json", "{}");
	put("services.d/dns.json", SVC_OK);
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	snprintf(want, sizeof(want), "%s/ahd.json", tdir);
	cr_expect_str_eq(cfg->main_file, want);
	snprintf(want, sizeof(want), "%s/services.d", tdir);
	cr_expect_str_eq(cfg->services_dir, want);
	cr_expect_str_eq(cfg->interface, "lo");
	cr_expect_str_eq(cfg->frr.vtysh, "/usr/bin/vtysh");
	cr_expect_null(cfg->frr.pathspace);
	cr_expect_eq(cfg->frr.asn, 0);
	cr_expect_null(cfg->frr.vrf);
	cr_expect_eq(cfg->frr.timeout_us, 5000000);
	cr_expect_str_eq(cfg->control_socket, "/run/anycast-healthd/control.sock");
	cr_expect_str_eq(cfg->state_file, "/run/anycast-healthd/state.json");
	cr_expect_null(cfg->metrics_file);
	cr_expect_eq(cfg->log.level, LOG_LVL_INFO);
	cr_expect_eq(cfg->log.format, LOG_FMT_TEXT);
	cr_expect_eq(cfg->log.syslog, false);
	cr_expect_eq(cfg->on_exit, ON_EXIT_WITHDRAW);
	cr_expect_eq(cfg->shared_prefixes, SHARED_ALL);
	cr_expect_eq(cfg->defaults.interval_us, 1000000);
	cr_expect_eq(cfg->defaults.timeout_us, 500000);
	cr_expect_eq(cfg->defaults.rise, 3);
	cr_expect_eq(cfg->defaults.fall, 2);
	cr_expect_eq(cfg->defaults.jitter_pct, 10);

	cr_assert_eq(cfg->nservices, 1);
	s = &cfg->services[0];
	cr_expect_str_eq(s->name, "dns");
	cr_expect_str_eq(s->file, "services.d/dns.json");
	cr_assert_eq(s->nprefixes, 1);
	cr_expect_str_eq(pfx_fmt(&s->prefixes[0], buf, sizeof(buf)), "192.0.2.53/32");
	cr_expect_eq(s->method, METHOD_ADDRESS);
	cr_expect_str_eq(s->interface, "lo");
	cr_expect_eq(s->interval_us, 1000000);
	cr_expect_eq(s->timeout_us, 500000);
	cr_expect_eq(s->rise, 3);
	cr_expect_eq(s->fall, 2);
	cr_expect_eq(s->hold_down_us, 0);
	cr_expect_eq(s->require, 1);
	cr_expect_eq(s->require_all, true);
	cr_expect_eq(s->on_warning, ONW_ANNOUNCE);
	cr_expect_str_eq(s->degraded_route_map, "ANYCAST-DEGRADED");
	cr_expect_eq(s->drain_grace_us, 0);
	cr_assert_eq(s->nprobes, 1);
	p = &s->probes[0];
	cr_expect_str_eq(p->name, "tcp#0");
	cr_expect_eq(p->type, &probe_type_find("tcp")->cfg);
	cr_expect_eq(p->index, 0);
	cr_expect_eq(p->interval_us, 1000000);
	cr_expect_eq(p->timeout_us, 500000);
	cr_expect_eq(p->warning_us, 0);
	cr_expect_eq(p->critical_us, 0);
	cr_expect_eq(p->jitter_pct, 10);
	cr_expect_not_null(p->params);
	cfg_free(cfg);
}

Test(cfg, every_key_set)
{
	struct cfg		*cfg;
	struct cfg_service	*s;
	char			 buf[PFX_STRLEN];
	char			 svcdir[128];

	put("ahd.json", "{\n"
	    "  \"services_dir\": \"svc\",\n"
	    "  \"interface\": \"anycast0\",\n"
	    "  \"frr\": { \"vtysh\": \"/opt/frr/bin/vtysh\", \"pathspace\": \"edge\", "
	    "\"asn\": 4200000001, \"vrf\": \"red\", \"timeout\": \"3s\" },\n"
	    "  \"control_socket\": \"/run/x/ctl.sock\",\n"
	    "  \"state_file\": \"/var/lib/x/state.json\",\n"
	    "  \"metrics_file\": \"/var/lib/prometheus/ahd.prom\",\n"
	    "  \"log\": { \"level\": \"debug\", \"format\": \"json\", \"syslog\": true },\n"
	    "  \"on_exit\": \"keep\",\n"
	    "  \"shared_prefixes\": \"any\",\n"
	    "  \"defaults\": { \"interval\": \"2s\", \"timeout\": \"1s\", \"rise\": 5, "
	    "\"fall\": 4, \"jitter\": \"0%\" }\n"
	    "}\n");
	snprintf(svcdir, sizeof(svcdir), "%s/svc", tdir);
	cr_assert_eq(mkdir(svcdir, 0755), 0);
	put("svc/web.json", "{\n"
	    "  \"name\": \"www\",\n"
	    "  \"prefixes\": [\"198.51.100.0/24\", \"2001:db8:80::/48\"],\n"
	    "  \"method\": \"both\", \"interface\": \"dummy1\",\n"
	    "  \"interval\": \"500ms\", \"timeout\": \"400ms\", \"rise\": 1, \"fall\": 100,\n"
	    "  \"hold_down\": \"30s\", \"require\": 2, \"on_warning\": \"degrade\",\n"
	    "  \"damping\": { \"half_life\": \"2m\", \"reuse\": 500 },\n"
	    "  \"degraded_route_map\": \"WWW-PREPEND\", \"drain_grace\": \"1m\",\n"
	    "  \"probes\": [\n"
	    "    { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 80 },\n"
	    "    { \"type\": \"tcp\", \"name\": \"tls\", \"host\": \"::1\", \"port\": 443,\n"
	    "      \"interval\": \"250ms\", \"timeout\": \"100ms\", \"warning\": \"20ms\",\n"
	    "      \"critical\": \"80ms\", \"send\": null, \"expect\": null }\n"
	    "  ]\n"
	    "}\n");
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_expect_str_eq(cfg->services_dir, svcdir);
	cr_expect_str_eq(cfg->interface, "anycast0");
	cr_expect_str_eq(cfg->frr.vtysh, "/opt/frr/bin/vtysh");
	cr_expect_str_eq(cfg->frr.pathspace, "edge");
	cr_expect_eq(cfg->frr.asn, 4200000001U);
	cr_expect_str_eq(cfg->frr.vrf, "red");
	cr_expect_eq(cfg->frr.timeout_us, 3000000);
	cr_expect_str_eq(cfg->control_socket, "/run/x/ctl.sock");
	cr_expect_str_eq(cfg->state_file, "/var/lib/x/state.json");
	cr_expect_str_eq(cfg->metrics_file, "/var/lib/prometheus/ahd.prom");
	cr_expect_eq(cfg->log.level, LOG_LVL_DEBUG);
	cr_expect_eq(cfg->log.format, LOG_FMT_JSON);
	cr_expect_eq(cfg->log.syslog, true);
	cr_expect_eq(cfg->on_exit, ON_EXIT_KEEP);
	cr_expect_eq(cfg->shared_prefixes, SHARED_ANY);
	cr_expect_eq(cfg->defaults.rise, 5);
	cr_expect_eq(cfg->defaults.fall, 4);
	cr_expect_eq(cfg->defaults.jitter_pct, 0);

	cr_assert_eq(cfg->nservices, 1);
	s = &cfg->services[0];
	cr_expect_str_eq(s->name, "www");
	cr_expect_str_eq(s->file, "svc/web.json");
	cr_assert_eq(s->nprefixes, 2);
	cr_expect_str_eq(pfx_fmt(&s->prefixes[0], buf, sizeof(buf)), "198.51.100.0/24");
	cr_expect_str_eq(pfx_fmt(&s->prefixes[1], buf, sizeof(buf)), "2001:db8:80::/48");
	cr_expect_eq(s->method, METHOD_BOTH);
	cr_expect_str_eq(s->interface, "dummy1");
	cr_expect_eq(s->interval_us, 500000);
	cr_expect_eq(s->timeout_us, 400000);
	cr_expect_eq(s->rise, 1);
	cr_expect_eq(s->fall, 100);
	cr_expect_eq(s->hold_down_us, 30000000);
	cr_expect(s->damping.enabled);
	cr_expect_eq(s->damping.half_life_us, 120000000);
	cr_expect_eq(s->damping.reuse, 500);
	cr_expect_eq(s->damping.suppress, 2000, "the rest from the defaults");
	cr_expect_eq(s->require, 2);
	cr_expect_eq(s->require_all, false);
	cr_expect_eq(s->on_warning, ONW_DEGRADE);
	cr_expect_str_eq(s->degraded_route_map, "WWW-PREPEND");
	cr_expect_eq(s->drain_grace_us, 60000000);
	cr_assert_eq(s->nprobes, 2);
	cr_expect_str_eq(s->probes[0].name, "tcp#0");
	cr_expect_eq(s->probes[0].interval_us, 500000);
	cr_expect_eq(s->probes[0].timeout_us, 400000);
	cr_expect_eq(s->probes[0].jitter_pct, 0);
	cr_expect_str_eq(s->probes[1].name, "tls");
	cr_expect_eq(s->probes[1].index, 1);
	cr_expect_eq(s->probes[1].interval_us, 250000);
	cr_expect_eq(s->probes[1].timeout_us, 100000);
	cr_expect_eq(s->probes[1].warning_us, 20000);
	cr_expect_eq(s->probes[1].critical_us, 80000);
	cfg_free(cfg);
}

Test(cfg, require_words)
{
	struct cfg	*cfg;

	put("ahd.json", "{}");
	put("services.d/a.json", "{ \"prefixes\": [\"192.0.2.1/32\"], \"require\": \"any\", "
	    "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 1 }, "
	    "{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 2 }, "
	    "{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 3 }] }");
	put("services.d/b.json", "{ \"prefixes\": [\"192.0.2.2/32\"], \"require\": \"all\", "
	    "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 1 }, "
	    "{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 2 }] }");
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_assert_eq(cfg->nservices, 2);
	cr_expect_eq(cfg->services[0].require, 1);
	cr_expect_eq(cfg->services[0].require_all, false);
	cr_expect_str_eq(cfg->services[0].probes[2].name, "tcp#2");
	cr_expect_eq(cfg->services[1].require, 2);
	cr_expect_eq(cfg->services[1].require_all, true);
	cfg_free(cfg);
}

Test(cfg, services_sorted_and_others_ignored)
{
	struct cfg	*cfg;

	put("ahd.json", "{}");
	put("services.d/zeta.json", "{ \"prefixes\": [\"192.0.2.1/32\"], \"probes\": "
	    "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 1 }] }");
	put("services.d/beta.json", "{ \"prefixes\": [\"192.0.2.2/32\"], \"probes\": "
	    "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 1 }] }");
	/* The name comes from "name", not the file, and decides the order. */
	put("services.d/00-alpha.json", "{ \"name\": \"omega\", \"prefixes\": "
	    "[\"192.0.2.3/32\"], \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", "
	    "\"port\": 1 }] }");
	put("services.d/broken.json.disabled", "this is not JSON");
	put("services.d/README", "not a service");
	put("services.d/notes.json~", "{");
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_assert_eq(cfg->nservices, 3);
	cr_expect_str_eq(cfg->services[0].name, "beta");
	cr_expect_str_eq(cfg->services[1].name, "omega");
	cr_expect_str_eq(cfg->services[1].file, "services.d/00-alpha.json");
	cr_expect_str_eq(cfg->services[2].name, "zeta");
	cfg_free(cfg);
}

Test(cfg, every_error_of_every_file)
{
	struct cfg	*cfg;

	put("ahd.json", "{ \"on_exit\": \"never\", \"interface\": \"\" }");
	put("services.d/a.json", "{ \"prefixes\": [\"192.0.2.1/33\"], \"rise\": 0, "
	    "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 99999 }] }");
	put("services.d/b.json", "{ \"prefixes\": [\"192.0.2.2/32\"], \"probes\": [] ");
	put("services.d/c.json", SVC_OK);
	cfg = load();
	cr_assert_null(cfg);
	expect_error("ahd.json: on_exit: 'never' is not withdraw or keep");
	expect_error("ahd.json: interface: '' is not an interface name (1-15 characters, "
	    "no '/', ':' or white space)");
	expect_error("services.d/a.json: prefixes[0]: '192.0.2.1/33' has a bad prefix "
	    "length (0-32)");
	expect_error("services.d/a.json: rise: 0 is out of range (1-100)");
	expect_error("services.d/a.json: probes[0].port: 99999 is not a port (1-65535)");
	expect_error("services.d/b.json: not valid JSON: unexpected end of file (line 1, "
	    "column 46)");
	cr_expect_eq(errs.n, 6, "errors:\n%s", all_errors());
}

Test(cfg, duplicate_service_names)
{
	struct cfg	*cfg;

	put("ahd.json", "{}");
	put("services.d/dns.json", SVC_OK);
	put("services.d/dns2.json", "{ \"name\": \"dns\", \"prefixes\": [\"192.0.2.54/32\"], "
	    "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }");
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d/dns2.json: service name 'dns' is also used by "
	    "services.d/dns.json");
	cr_expect_eq(errs.n, 1, "errors:\n%s", all_errors());
}

Test(cfg, bad_name_from_file)
{
	struct cfg	*cfg;

	put("ahd.json", "{}");
	put("services.d/my dns.json", SVC_OK);
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d/my dns.json: the file name gives the service name "
	    "'my dns', which is not valid (1-64 characters of A-Z a-z 0-9 _ . -); rename "
	    "the file or set \"name\"");
	cfg_errors_clear(&errs);
	/* "name" fixes it. */
	put("services.d/my dns.json", "{ \"name\": \"dns\", \"prefixes\": [\"192.0.2.1/32\"], "
	    "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }");
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_expect_str_eq(cfg->services[0].name, "dns");
	cfg_free(cfg);
}

Test(cfg, shared_prefix_needs_one_method)
{
	struct cfg	*cfg;

	put("ahd.json", "{}");
	put("services.d/dns.json", "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": "
	    "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }");
	put("services.d/ntp.json", "{ \"prefixes\": [\"192.0.2.99/32\", \"192.0.2.53/32\"], "
	    "\"method\": \"network\", \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", "
	    "\"port\": 123 }] }");
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d/ntp.json: prefixes[1]: 192.0.2.53/32 is in service 'dns' "
	    "with method address and in service 'ntp' with method network (a shared prefix "
	    "needs one method)");
	cr_expect_eq(errs.n, 1, "errors:\n%s", all_errors());
}

Test(cfg, shared_address_needs_one_interface)
{
	struct cfg	*cfg;

	put("ahd.json", "{}");
	put("services.d/dns.json", "{ \"prefixes\": [\"2001:db8::53/128\"], \"probes\": "
	    "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }");
	put("services.d/ntp.json", "{ \"prefixes\": [\"2001:db8::53/128\"], \"interface\": "
	    "\"dummy0\", \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 123 }] }");
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d/ntp.json: prefixes[0]: 2001:db8::53/128 is in service 'dns' "
	    "on interface lo and in service 'ntp' on interface dummy0 (an address lives on "
	    "one interface)");
	cr_expect_eq(errs.n, 1, "errors:\n%s", all_errors());
}

Test(cfg, shared_prefix_allowed)
{
	struct cfg	*cfg;

	put("ahd.json", "{ \"interface\": \"dummy0\" }");
	put("services.d/dns.json", "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": "
	    "[{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }");
	put("services.d/ntp.json", "{ \"prefixes\": [\"192.0.2.53/32\"], \"interface\": "
	    "\"dummy0\", \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 123 }] }");
	/* The network method has no interface to disagree on. */
	put("services.d/agg1.json", "{ \"prefixes\": [\"198.51.100.0/24\"], \"method\": "
	    "\"network\", \"interface\": \"eth0\", \"probes\": [{ \"type\": \"tcp\", "
	    "\"host\": \"::1\", \"port\": 1 }] }");
	put("services.d/agg2.json", "{ \"prefixes\": [\"198.51.100.0/24\"], \"method\": "
	    "\"network\", \"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 2 }] }");
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_expect_eq(cfg->nservices, 4);
	cr_expect_str_eq(cfg->services[2].interface, "dummy0");
	cfg_free(cfg);
}

Test(cfg, world_writable_files_refused)
{
	struct cfg	*cfg;

	put_mode("ahd.json", "{}", 0666);
	put_mode("services.d/dns.json", SVC_OK, 0646);
	cfg = load();
	cr_assert_null(cfg);
	expect_error("ahd.json: refusing a configuration file writable by group or others "
	    "(mode 0666): only root may write it");
	cfg_errors_clear(&errs);
	/* Group-writable is no better: only root may write the configuration. */
	put_mode("ahd.json", "{}", 0664);
	cfg = load();
	cr_assert_null(cfg);
	expect_error("ahd.json: refusing a configuration file writable by group or others "
	    "(mode 0664): only root may write it");
	cfg_errors_clear(&errs);
	put_mode("ahd.json", "{}", 0644);
	put_mode("services.d/dns.json", SVC_OK, 0664);
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d/dns.json: refusing a configuration file writable by group "
	    "or others (mode 0664): only root may write it");
	cr_expect_eq(errs.n, 1, "errors:\n%s", all_errors());
	cfg_errors_clear(&errs);
	/* Owned by another user: refused even when only its owner may write it. */
	put_mode("services.d/dns.json", SVC_OK, 0644);
	{
		char	p[128];

		snprintf(p, sizeof(p), "%s/services.d/dns.json", tdir);
		cr_assert_eq(chown(p, 65534, 0), 0);
	}
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d/dns.json: refusing a configuration file owned by uid 65534: "
	    "only root may own it");
}

Test(cfg, world_writable_services_dir_refused)
{
	struct cfg	*cfg;
	char		 p[128];

	put("ahd.json", "{}");
	put("services.d/dns.json", SVC_OK);
	snprintf(p, sizeof(p), "%s/services.d", tdir);
	cr_assert_eq(chmod(p, 0777), 0);
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d: refusing a services directory writable by group or others "
	    "(mode 0777): only root may write it");
}

Test(cfg, file_too_large)
{
	struct cfg	*cfg;
	char		 p[128];
	FILE		*f;

	put("ahd.json", "{}");
	snprintf(p, sizeof(p), "%s/services.d/big.json", tdir);
	cr_assert_not_null(f = fopen(p, "w"));
	fputs("{ \"prefixes\": [\"192.0.2.1/32\"], \"probes\": [{ \"type\": \"tcp\", "
	    "\"host\": \"::1\", \"port\": 1 }] }", f);
	for (int i = 0; i < CFG_MAX_FILE_SIZE; i += 64)
		fputs("                                                               \n", f);
	fclose(f);
	cfg = load();
	cr_assert_null(cfg);
	expect_error("services.d/big.json: larger than 1048576 bytes");
}

Test(cfg, explicit_main_file_must_exist)
{
	struct cfg	*cfg;

	cfg = load();
	cr_assert_null(cfg);
	expect_error("ahd.json: cannot open: No such file or directory");
	cr_expect_eq(errs.n, 1, "errors:\n%s", all_errors());
}

Test(cfg, services_dir_must_exist)
{
	struct cfg	*cfg;
	char		 want[256];

	put("ahd.json", "{ \"services_dir\": \"nowhere\" }");
	cfg = load();
	cr_assert_null(cfg);
	snprintf(want, sizeof(want), "nowhere: cannot read the services directory "
	    "%s/nowhere: No such file or directory", tdir);
	expect_error(want);
}

Test(cfg, services_dir_elsewhere_shown_as_given)
{
	struct cfg	*cfg;
	char		 mainf[256], other[128], want[512];

	/* A second temporary directory, outside the main file's. */
	snprintf(other, sizeof(other), "%s/etc", tdir);
	cr_assert_eq(mkdir(other, 0755), 0);
	snprintf(mainf, sizeof(mainf), "{ \"services_dir\": \"%s/services.d\" }", tdir);
	put("etc/main.json", mainf);
	put("services.d/dns.json", "{ \"prefixes\": [\"192.0.2.53/32\"], \"probes\": [] }");
	snprintf(mainf, sizeof(mainf), "%s/main.json", other);
	cfg = cfg_load(mainf, &errs);
	cr_assert_null(cfg);
	snprintf(want, sizeof(want), "%s/services.d/dns.json: probes: must list at least "
	    "one probe", tdir);
	expect_error(want);
}

Test(cfg, relative_main_path)
{
	struct cfg	*cfg;
	char		 cwd[512];

	put("ahd.json", "{}");
	put("services.d/dns.json", "{ \"prefixes\": [\"192.0.2.53/32\"], \"rise\": 0, "
	    "\"probes\": [{ \"type\": \"tcp\", \"host\": \"::1\", \"port\": 53 }] }");
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
	cr_assert_eq(chdir(tdir), 0);
	cfg = cfg_load("ahd.json", &errs);
	cr_assert_eq(chdir(cwd), 0);
	cr_assert_null(cfg);
	expect_error("services.d/dns.json: rise: 0 is out of range (1-100)");
}

/*
 * Out of memory at every allocation in turn: an error, never an exit (a
 * reload keeps the running configuration); no crash, no leak (ASan run).
 */
Test(cfg, out_of_memory_anywhere_is_an_error_not_an_exit)
{
	struct cfg	*cfg;
	unsigned	 k;

	put("ahd.json", "{ \"interface\": \"lo\", \"frr\": { \"pathspace\": \"n1\" }, "
	    "\"defaults\": { \"interval\": \"2s\" } }");
	put("services.d/dns.json", SVC_OK);
	put("services.d/web.json", "{ \"prefixes\": [\"192.0.2.80/32\", \"2001:db8::80/128\"], "
	    "\"method\": \"both\", \"probes\": [ { \"type\": \"http\", \"url\": "
	    "\"http://127.0.0.1:8080/healthz\", \"headers\": { \"Host\": \"x\" } }, "
	    "{ \"type\": \"exec\", \"command\": [\"/bin/true\", \"-x\"], \"user\": \"nobody\" } ] }");
	for (k = 1; k < 10000; k++) {
		cfg_test_fail_alloc = k;
		cfg = load();
		if (cfg_test_fail_alloc != 0) {
			/* The load needed fewer than k allocations: every one has failed once. */
			cfg_test_fail_alloc = 0;
			cr_assert_not_null(cfg, "errors:\n%s", all_errors());
			cfg_free(cfg);
			break;
		}
		cr_expect_null(cfg, "allocation %u failed, yet a configuration came back", k);
		cfg_free(cfg);
		/* Others may follow from it (a probe left invalid); this one says why. */
		cr_expect(has_error("out of memory while loading the configuration", false),
		    "allocation %u: errors:\n%s", k, all_errors());
		cfg_errors_clear(&errs);
	}
	cr_expect_gt(k, 20, "only %u allocations", k);
	cr_log_info("cfg: out of memory at each of %u allocations: an error every time", k - 1);
}

Test(cfg, null_means_default)
{
	struct cfg	*cfg;

	put("ahd.json", "{ \"metrics_file\": null, \"frr\": { \"asn\": null, \"vrf\": null, "
	    "\"pathspace\": null }, \"interface\": null }");
	put("services.d/dns.json", SVC_OK);
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_expect_null(cfg->metrics_file);
	cr_expect_eq(cfg->frr.asn, 0);
	cr_expect_null(cfg->frr.vrf);
	cr_expect_str_eq(cfg->interface, "lo");
	cfg_free(cfg);
}

Test(cfg, empty_services_dir)
{
	struct cfg	*cfg;

	put("ahd.json", "{}");
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_expect_eq(cfg->nservices, 0);
	cr_expect_null(cfg->services);
	cfg_free(cfg);
}

Test(cfg, fixture_tree)
{
	struct cfg		*cfg;
	const struct cfg_service *s;

	cfg = cfg_load(TEST_DATADIR "/cfg/good/anycast-healthd.json", &errs);
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cr_assert_eq(cfg->nservices, 2);
	s = &cfg->services[0];
	cr_expect_str_eq(s->name, "dns");
	cr_expect_str_eq(s->file, "services.d/dns.json");
	cr_expect_eq(s->nprefixes, 2);
	cr_expect_eq(s->nprobes, 2);
	cr_expect_eq(s->rise, 2);
	cr_expect_eq(s->probes[1].warning_us, 100000);
	cr_expect_eq(s->probes[1].critical_us, 400000);
	cr_expect_eq(s->probes[1].jitter_pct, 20);
	s = &cfg->services[1];
	cr_expect_str_eq(s->name, "web");
	cr_expect_eq(s->method, METHOD_NETWORK);
	cr_expect_eq(s->on_warning, ONW_DEGRADE);
	cr_expect_eq(cfg->frr.asn, 64512);
	cfg_free(cfg);
}

Test(cfg, fixture_errors)
{
	struct cfg	*cfg;

	cfg = cfg_load(TEST_DATADIR "/cfg/bad/anycast-healthd.json", &errs);
	cr_assert_null(cfg);
	expect_error("anycast-healthd.json: defaults: unknown key 'intervall' (did you "
	    "mean 'interval'?)");
	expect_error("services.d/dns.json: probes[1].port: 70000 is not a port (1-65535)");
	expect_error("services.d/web.json: on_warning: 'degrade' needs method network or "
	    "both (the degraded route-map belongs to the network statement)");
	cr_expect_eq(errs.n, 3, "errors:\n%s", all_errors());
}

Test(cfg, errors_clear_and_free_null)
{
	struct cfg_errors	e = { 0 };

	cfg_free(NULL);
	cfg_errors_clear(&e);
	cr_expect_eq(e.n, 0);
	cr_expect_null(e.msgs);
}

/* Reload compares services structurally, probe parameters included. */
Test(cfg, service_equal_for_reload, .fini = tu_cleanup)
{
	static const char base[] = "{ \"prefixes\": [\"192.0.2.53/32\"], \"rise\": 2, "
	    "\"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53, "
	    "\"send\": \"x\" } ] }";
	static const struct { const char *main, *svc; bool equal; } cases[] = {
		{ NULL, base, true },
		/* Same content, keys in another order. */
		{ NULL, "{ \"probes\": [ { \"send\": \"x\", \"port\": 53, \"host\": "
		    "\"127.0.0.1\", \"type\": \"tcp\" } ], \"rise\": 2, \"prefixes\": "
		    "[\"192.0.2.53/32\"] }", true },
		/* A probe type's own parameter. */
		{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"rise\": 2, \"probes\": [ { "
		    "\"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 54, \"send\": "
		    "\"x\" } ] }", false },
		{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"rise\": 2, \"probes\": [ { "
		    "\"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53, \"send\": "
		    "\"y\" } ] }", false },
		{ NULL, "{ \"prefixes\": [\"192.0.2.54/32\"], \"rise\": 2, \"probes\": [ { "
		    "\"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53, \"send\": "
		    "\"x\" } ] }", false },
		{ NULL, "{ \"prefixes\": [\"192.0.2.53/32\"], \"rise\": 3, \"probes\": [ { "
		    "\"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 53, \"send\": "
		    "\"x\" } ] }", false },
		/* Inherited from the main file. */
		{ "{ \"defaults\": { \"interval\": \"2s\" } }", base, false },
		{ "{ \"defaults\": { \"jitter\": \"20%\" } }", base, false },
		{ "{ \"interface\": \"eth0\" }", base, false },
		/* Global settings that do not reach the service. */
		{ "{ \"on_exit\": \"keep\", \"log\": { \"level\": \"debug\" } }", base, true },
	};
	struct cfg	*a, *b;

	a = tu_load(NULL, "dns", base, NULL);
	/* Loaded: the files are no longer needed, and each tu_load makes a new directory. */
	tu_cleanup();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		b = tu_load(cases[i].main, "dns", cases[i].svc, NULL);
		cr_expect_eq(cfg_service_equal(&a->services[0], &b->services[0]),
		    cases[i].equal, "case %zu", i);
		cfg_free(b);
		tu_cleanup();
	}
	cfg_free(a);
}

/* vtysh runs with the daemon's groups and, from withdraw-all, as root. */
Test(cfg, untrusted_vtysh_refused)
{
	struct cfg	*cfg;
	char		 main[512], sub[256], want[1024];

	snprintf(sub, sizeof(sub), "%s/bin", tdir);
	cr_assert_eq(mkdir(sub, 0775), 0);
	cr_assert_eq(chmod(sub, 0775), 0);
	put_mode("bin/vtysh", "#!/bin/sh\n", 0755);
	snprintf(main, sizeof(main), "{ \"frr\": { \"vtysh\": \"%s/vtysh\" } }", sub);
	put("ahd.json", main);
	cfg = load();
	cr_assert_null(cfg);
	snprintf(want, sizeof(want), "ahd.json: frr.vtysh: refusing %s/vtysh: %s is writable "
	    "by group or others (mode 0775): only root may write it and the directories "
	    "above it", sub, sub);
	expect_error(want);
	cfg_errors_clear(&errs);
	cr_assert_eq(chmod(sub, 0755), 0);
	cfg = load();
	cr_assert_not_null(cfg, "errors:\n%s", all_errors());
	cfg_free(cfg);
}
