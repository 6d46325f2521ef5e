/*
 * libcurl, loaded on demand: the daemon maps libcurl (and the TLS, SSH,
 * LDAP, Kerberos... libraries it brings) only once a configuration has an
 * http probe. probes/http.c calls curl through this table, never directly,
 * so that no program has libcurl in DT_NEEDED.
 */
#ifndef AHD_PROBE_HTTP_CURL_H
#define AHD_PROBE_HTTP_CURL_H

#include <stddef.h>

#include <curl/curl.h>

/* The soname the probe loads; fixed: a root daemon loads no configurable code. */
#define HC_SONAME	"libcurl.so.4"

/*
 * The oldest libcurl the probe works with: CURLOPT_PROTOCOLS_STR and
 * CURLOPT_REDIR_PROTOCOLS_STR (7.85.0). The soname is the same since 7.16,
 * so an older one loads; without this check every attempt would fail at
 * curl_easy_setopt() instead of the configuration being refused.
 */
#define HC_MIN_VERSION_NUM	0x075500
#define HC_MIN_VERSION		"7.85.0"

/*
 * The functions the probe uses, each member typed from curl.h's own
 * prototype (so the table follows the headers it is built with). The
 * variadic ones (setopt, getinfo) are called through pointers of their
 * exact prototype, as libcurl defines them; curl.h's gcc type-checking
 * macros (typecheck-gcc.h) wrap only the names curl_easy_setopt() and
 * curl_easy_getinfo(), so these calls are not type-checked by them.
 */
#define HC_FUNCS(X) \
	X(global_init) X(easy_init) X(easy_cleanup) X(easy_reset) \
	X(easy_setopt) X(easy_getinfo) X(easy_strerror) \
	X(multi_init) X(multi_cleanup) X(multi_setopt) X(multi_add_handle) \
	X(multi_remove_handle) X(multi_assign) X(multi_socket_action) \
	X(multi_info_read) X(slist_append) X(slist_free_all) X(free) \
	X(url) X(url_cleanup) X(url_set) X(url_get) X(url_strerror) \
	X(version_info)

#define HC_MEMBER(name)	__typeof__(&curl_##name) name;
struct hc_api {
	HC_FUNCS(HC_MEMBER)
};
#undef HC_MEMBER

/* Valid (every member set) once hc_load() has succeeded. */
extern struct hc_api	hc;

int	hc_load(char *err, size_t errlen);
int	hc_load_soname(const char *soname, char *err, size_t errlen);
int	hc_loaded(void);
int	hc_check_version(const char *soname, unsigned int num, const char *version,
	    char *err, size_t errlen);

#endif
