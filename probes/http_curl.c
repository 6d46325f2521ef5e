/*
 * libcurl on demand. Linked directly, libcurl brings some twenty libraries
 * (OpenSSL, GnuTLS through librtmp, p11-kit, nettle, gmp, libssh2, LDAP,
 * Kerberos, nghttp2, psl, idn2, brotli...) into every process: several MiB
 * of PSS that a daemon without an http probe never uses, and GnuTLS's
 * constructor runs at start-up. So nothing is linked against libcurl; the
 * http probe loads it here when the first http probe is parsed, and calls
 * it through one table.
 *
 * The soname is fixed (HC_SONAME) and found on the normal library search
 * path: no variable or option lets anyone make a root daemon load other
 * code. A library that will not load, or lacks a function, is an error of
 * the configuration that needs it (start fails, a reload keeps the old
 * one); loading is retried each time, so a reload after installing libcurl
 * works. The library stays mapped once loaded: curl's global state and the
 * probe's multi handle live as long as the process.
 */
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "http_curl.h"

#define HC_SYM(name)	{ "curl_" #name, offsetof(struct hc_api, name) },

static const struct {
	const char	*name;
	size_t		 off;
} hc_syms[] = {
	HC_FUNCS(HC_SYM)
};

/* dlsym() gives a void *; POSIX makes it the size of a function pointer. */
_Static_assert(sizeof(void *) == sizeof(hc.easy_init), "function pointers are not void * sized");

struct hc_api	 hc;
static void	*hc_handle;

int
hc_loaded(void)
{
	return hc_handle != NULL;
}

/* 0 if libcurl version num (named version) is one the probe works with. */
int
hc_check_version(const char *soname, unsigned int num, const char *version,
    char *err, size_t errlen)
{
	if (num >= HC_MIN_VERSION_NUM)
		return 0;
	snprintf(err, errlen, "http probe: %s is libcurl %s, the http probe needs %s or later",
	    soname, version != NULL ? version : "of unknown version", HC_MIN_VERSION);
	return -1;
}

/* Loads soname and resolves every function; 0, or -1 with the reason in err. */
int
hc_load_soname(const char *soname, char *err, size_t errlen)
{
	const curl_version_info_data	*vi;
	struct hc_api			 api;
	const char			*e;
	void				*h, *sym;
	size_t				 i;
	int				 ok = -1;

	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(err, errlen, "http probe: cannot load %s: %s", soname,
		    e != NULL ? e : "unknown error");
		goto out;
	}
	memset(&api, 0, sizeof(api));
	for (i = 0; i < sizeof(hc_syms) / sizeof(hc_syms[0]); i++) {
		(void)dlerror();
		if ((sym = dlsym(h, hc_syms[i].name)) == NULL) {
			e = dlerror();
			snprintf(err, errlen, "http probe: %s has no %s: %s", soname,
			    hc_syms[i].name, e != NULL ? e : "a NULL symbol");
			dlclose(h);
			goto out;
		}
		memcpy((char *)&api + hc_syms[i].off, &sym, sizeof(sym));
	}
	vi = api.version_info(CURLVERSION_NOW);
	if (hc_check_version(soname, vi != NULL ? vi->version_num : 0,
	    vi != NULL ? vi->version : NULL, err, errlen) == -1) {
		dlclose(h);
		goto out;
	}
	ok = 0;
	/* Loaded before: this dlopen() only counted one more reference. */
	if (hc_handle != NULL) {
		dlclose(h);
		goto out;
	}
	hc = api;
	hc_handle = h;
out:
	return ok;
}

/* The probe's entry: the fixed soname, once per process. */
int
hc_load(char *err, size_t errlen)
{
	if (hc_handle != NULL)
		return 0;
	return hc_load_soname(HC_SONAME, err, errlen);
}
