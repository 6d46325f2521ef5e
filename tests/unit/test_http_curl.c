/*
 * libcurl on demand (probes/http_curl.c): a configuration without an http
 * probe leaves it unmapped, the first http probe loads it, and a library
 * that will not load or lacks a function is a clear error naming it.
 * Criterion runs each test in a process of its own: each starts unloaded.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "http_curl.h"
#include "testutil.h"

/* Whether a mapping of this process has needle in its path. */
static bool
mapped(const char *needle)
{
	FILE	*f;
	char	 line[1024];
	bool	 found = false;

	cr_assert_not_null(f = fopen("/proc/self/maps", "r"));
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

TestSuite(http_curl, .fini = tu_cleanup);

Test(http_curl, a_missing_library_is_named_with_dlerror)
{
	char	err[512];

	cr_assert_eq(hc_load_soname("libahd-no-such-curl.so.4", err, sizeof(err)), -1);
	cr_assert(strncmp(err, "http probe: cannot load libahd-no-such-curl.so.4: ",
	    strlen("http probe: cannot load libahd-no-such-curl.so.4: ")) == 0, "%s", err);
	/* dlerror()'s own words follow. */
	cr_assert_not_null(strstr(err, "No such file or directory"), "%s", err);
	cr_assert_not(hc_loaded());
	cr_assert_null(hc.easy_init);
}

Test(http_curl, a_library_without_curl_names_the_missing_function)
{
	char	err[512];

	cr_assert_eq(hc_load_soname("libm.so.6", err, sizeof(err)), -1);
	cr_assert(strncmp(err, "http probe: libm.so.6 has no curl_global_init: ",
	    strlen("http probe: libm.so.6 has no curl_global_init: ")) == 0, "%s", err);
	cr_assert_not(hc_loaded());
	cr_assert_null(hc.global_init);
}

Test(http_curl, the_soname_loads_every_function_once)
{
	char	err[512] = "";

	cr_assert_not(mapped("libcurl"));
	cr_assert_eq(hc_load(err, sizeof(err)), 0, "%s", err);
	cr_assert(hc_loaded());
	cr_assert(mapped("libcurl.so.4"));
	cr_assert_not_null(hc.url_strerror);
	cr_assert_str_eq(hc.url_strerror(CURLUE_OK), "No error");
	/* A failed load later keeps the table that works. */
	cr_assert_eq(hc_load_soname("libahd-no-such-curl.so.4", err, sizeof(err)), -1);
	cr_assert(hc_loaded());
	cr_assert_str_eq(hc.url_strerror(CURLUE_OK), "No error");
}

Test(http_curl, a_libcurl_older_than_7_85_is_refused_with_both_versions)
{
	char	err[512] = "";

	cr_assert_eq(hc_check_version("libcurl.so.4", 0x075100, "7.81.0", err, sizeof(err)), -1);
	cr_assert_str_eq(err, "http probe: libcurl.so.4 is libcurl 7.81.0, "
	    "the http probe needs 7.85.0 or later");
	cr_assert_eq(hc_check_version("libcurl.so.4", 0x075400, NULL, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "of unknown version"), "%s", err);
	cr_assert_eq(hc_check_version("libcurl.so.4", 0x075500, "7.85.0", err, sizeof(err)), 0);
	/* The one installed here passes (it is what the package depends on). */
	cr_assert_eq(hc_load(err, sizeof(err)), 0, "%s", err);
	cr_assert_geq(hc.version_info(CURLVERSION_NOW)->version_num, HC_MIN_VERSION_NUM);
}

/* What a reload after installing libcurl relies on: a failure is not remembered. */
Test(http_curl, a_failed_load_is_retried)
{
	char	err[512] = "";

	cr_assert_eq(hc_load_soname("libahd-no-such-curl.so.4", err, sizeof(err)), -1);
	cr_assert_not(hc_loaded());
	cr_assert_eq(hc_load(err, sizeof(err)), 0, "%s", err);
	cr_assert(hc_loaded());
	cr_assert_str_eq(hc.url_strerror(CURLUE_OK), "No error");
}

Test(http_curl, only_an_http_probe_loads_libcurl)
{
	struct cfg	*cfg;

	cfg = tu_load(NULL, "tcp", "{ \"prefixes\": [\"192.0.2.1/32\"], "
	    "\"probes\": [ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 80 } ] }", NULL);
	cr_assert_not(hc_loaded());
	cr_assert_not(mapped("libcurl"), "a tcp-only configuration mapped libcurl");
	cfg_free(cfg);
	tu_cleanup();
	cfg = tu_load(NULL, "web", "{ \"prefixes\": [\"192.0.2.2/32\"], "
	    "\"probes\": [ { \"type\": \"http\", \"url\": \"http://127.0.0.1/\" } ] }", NULL);
	cr_assert(hc_loaded());
	cr_assert(mapped("libcurl.so.4"));
	cfg_free(cfg);
}
