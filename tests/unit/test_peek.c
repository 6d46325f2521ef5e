/*
 * Tolerant reading of a broken configuration (anycast-healthctl's reload,
 * status and withdraw-all): the real paths, never a silent default.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "peek.h"

static char	dir[64];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ahd-peek-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void
teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)!system(cmd);
}

TestSuite(peek, .init = setup, .fini = teardown);

static const char *
write_file(const char *name, const char *text)
{
	static char	path[128];
	FILE		*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

Test(peek, keys_of_a_file_with_a_syntax_error)
{
	struct peek	pk;
	char		err[256] = "", *v;
	uint32_t	asn;

	/* A missing comma and an unquoted key: not JSON any more. */
	cr_assert_eq(peek_open(&pk, write_file("main.json", "{ \"state_file\": "
	    "\"/srv/ahd/state.json\"\n  control_socket: \"/srv/ahd/ctl.sock\",\n"
	    "  \"frr\": { \"vtysh\": \"/opt/frr/bin/vtysh\", \"pathspace\": null, "
	    "\"asn\": 65001 },\n  \"defaults\": { \"interval\": \"1s\" "), err,
	    sizeof(err)), 0, "%s", err);
	cr_expect_null(pk.obj);
	cr_assert_eq(peek_string(&pk, NULL, "state_file", "/run/x", &v, err, sizeof(err)), 0);
	cr_expect_str_eq(v, "/srv/ahd/state.json");
	free(v);
	cr_assert_eq(peek_string(&pk, NULL, "control_socket", "/run/x", &v, err,
	    sizeof(err)), 0);
	cr_expect_str_eq(v, "/srv/ahd/ctl.sock");
	free(v);
	cr_assert_eq(peek_string(&pk, "frr", "vtysh", "/usr/bin/vtysh", &v, err,
	    sizeof(err)), 0);
	cr_expect_str_eq(v, "/opt/frr/bin/vtysh");
	free(v);
	cr_assert_eq(peek_string(&pk, "frr", "pathspace", "x", &v, err, sizeof(err)), 0);
	cr_expect_null(v);
	/* Not named at all: the default is what the daemon uses too. */
	cr_assert_eq(peek_string(&pk, NULL, "services_dir", "services.d", &v, err,
	    sizeof(err)), 0);
	cr_expect_str_eq(v, "services.d");
	free(v);
	cr_assert_eq(peek_asn(&pk, &asn, err, sizeof(err)), 0);
	cr_expect_eq(asn, 65001);
	peek_close(&pk);
}

Test(peek, a_key_that_is_there_but_unreadable_is_an_error)
{
	static const char *const texts[] = {
		"{ \"state_file\" = \"/srv/state.json\" ",
		"{ \"state_file\": /srv/state.json ",
		"{ \"state_file\": \"/srv/a\", \"state_file\": \"/srv/b\" ,, }",
	};
	struct peek	pk;
	char		err[256], *v = NULL;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		cr_assert_eq(peek_open(&pk, write_file("main.json", texts[i]), err,
		    sizeof(err)), 0);
		cr_expect_eq(peek_string(&pk, NULL, "state_file", "/run/default", &v, err,
		    sizeof(err)), -1, "case %zu gave %s", i, v ? v : "NULL");
		cr_expect_not_null(strstr(err, "cannot read state_file from it"), "%s", err);
		peek_close(&pk);
	}
}

Test(peek, valid_json_is_read_as_json)
{
	struct peek	pk;
	char		err[256], *v;

	/* Valid JSON, invalid configuration (an unknown key): sections count. */
	cr_assert_eq(peek_open(&pk, write_file("main.json", "{ \"vtysh\": \"/wrong\", "
	    "\"frr\": { \"vtysh\": \"/right\" }, \"bogus\": 1 }"), err, sizeof(err)), 0);
	cr_expect_not_null(pk.obj);
	cr_assert_eq(peek_string(&pk, "frr", "vtysh", "/usr/bin/vtysh", &v, err,
	    sizeof(err)), 0);
	cr_expect_str_eq(v, "/right");
	free(v);
	peek_close(&pk);
}

Test(peek, prefixes_of_valid_and_broken_service_files)
{
	char		sdir[128], err[256], buf[64];
	struct pfx	*p;
	size_t		 n;

	snprintf(sdir, sizeof(sdir), "%s/services.d", dir);
	cr_assert_eq(mkdir(sdir, 0755), 0);
	write_file("services.d/a.json", "{ \"prefixes\": [\"192.0.2.53/32\", \"bad\"], "
	    "\"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\" } ] }");
	write_file("services.d/b.json", "{ \"prefixes\": [\"2001:db8::53/128\" \"203.0.113.0/24\"] ");
	write_file("services.d/c.json.disabled", "{ \"prefixes\": [\"198.51.100.1/32\"] }");
	cr_assert_eq(peek_prefixes(sdir, &p, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 3);
	for (size_t i = 0; i < n; i++)
		cr_expect_str_neq(pfx_fmt(&p[i], buf, sizeof(buf)), "198.51.100.1/32");
	free(p);
}

/* What withdraw-all reads tolerantly (as root) obeys cfg_load()'s trust rule. */
Test(peek, files_others_may_write_are_refused)
{
	struct peek	 pk;
	struct pfx	*pfxs = NULL;
	size_t		 n = 0;
	char		 err[512] = "", sdir[128];
	const char	*p;

	p = write_file("main.json", "{ \"frr\": { \"vtysh\": \"/tmp/evil\" } ");
	cr_assert_eq(chmod(p, 0664), 0);
	cr_expect_eq(peek_open(&pk, p, err, sizeof(err)), -1);
	cr_expect(strstr(err, "refusing a configuration file writable by group or others "
	    "(mode 0664)") != NULL, "%s", err);
	cr_assert_eq(chmod(p, 0644), 0);
	cr_assert_eq(chown(p, 65534, 0), 0);
	cr_expect_eq(peek_open(&pk, p, err, sizeof(err)), -1);
	cr_expect(strstr(err, "owned by uid 65534") != NULL, "%s", err);

	snprintf(sdir, sizeof(sdir), "%s/services.d", dir);
	cr_assert_eq(mkdir(sdir, 0755), 0);
	p = write_file("services.d/a.json", "{ \"prefixes\": [\"192.0.2.1/32\"] }");
	cr_assert_eq(peek_prefixes(sdir, &pfxs, &n, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(n, 1);
	free(pfxs);
	cr_assert_eq(chmod(p, 0666), 0);
	cr_expect_eq(peek_prefixes(sdir, &pfxs, &n, err, sizeof(err)), -1);
	cr_expect(strstr(err, "a.json: refusing a configuration file writable") != NULL,
	    "%s", err);
	cr_assert_eq(chmod(p, 0644), 0);
	cr_assert_eq(chmod(sdir, 0775), 0);
	cr_expect_eq(peek_prefixes(sdir, &pfxs, &n, err, sizeof(err)), -1);
	cr_expect(strstr(err, "refusing a services directory writable by group") != NULL,
	    "%s", err);
}
