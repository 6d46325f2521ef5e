#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cfg.h"
#include "file.h"
#include "peek.h"

#define PEEK_MAX_SIZE	(4 * 1024 * 1024)

/*
 * The whole file, or NULL with errno (ENOENT: there is none; EPERM: it
 * fails the configuration's trust rule, why says how). What is read here
 * decides what root withdraws and which vtysh it runs: the same rule as
 * cfg_load(), checked on the descriptor that is read.
 */
static char *
peek_slurp(const char *path, char *why, size_t whylen)
{
	/* Trust is judged on the opened descriptor, before anything is read. */
	return file_read(path, 0, PEEK_MAX_SIZE, cfg_stat_trusted, why, whylen);
}

int
peek_open(struct peek *pk, const char *path, char *err, size_t errlen)
{
	char	why[128];

	memset(pk, 0, sizeof(*pk));
	if ((pk->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((pk->text = peek_slurp(path, why, sizeof(why))) == NULL) {
		if (errno == ENOENT)
			return 0;
		if (errno == EPERM)
			snprintf(err, errlen, "%s: refusing a configuration file %s", path, why);
		else
			snprintf(err, errlen, "%s: %s", path, errno == EINVAL ?
			    "not a regular file of sane size" : strerror(errno));
		peek_close(pk);
		return -1;
	}
	pk->obj = json_tokener_parse(pk->text);
	if (pk->obj != NULL && !json_object_is_type(pk->obj, json_type_object)) {
		json_object_put(pk->obj);
		pk->obj = NULL;
	}
	return 0;
}

void
peek_close(struct peek *pk)
{
	json_object_put(pk->obj);
	free(pk->text);
	free(pk->path);
	memset(pk, 0, sizeof(*pk));
}

/*
 * In text that is not JSON: where key appears as a word (quoted or not,
 * as a typo may have it), the position after it; NULL if nowhere.
 */
static const char *
peek_find_word(const char *text, const char *key)
{
	size_t		 klen = strlen(key);
	const char	*p = text;

	while ((p = strstr(p, key)) != NULL) {
		bool	before = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool	after = !(isalnum((unsigned char)p[klen]) || p[klen] == '_');

		if (before && after)
			return p + klen;
		p += klen;
	}
	return NULL;
}

static const char *
peek_skip_space(const char *p)
{
	while (isspace((unsigned char)*p))
		p++;
	return p;
}

/* Scans KEY["]\s*:\s*("VALUE"|null) in text that is not JSON; 1 found, 0 absent, -1 unreadable. */
static int
peek_scan(const char *text, const char *key, char **out, bool *null)
{
	const char	*p, *end;

	*null = false;
	if ((p = peek_find_word(text, key)) == NULL)
		return 0;
	if (*p == '"')
		p++;
	p = peek_skip_space(p);
	if (*p++ != ':')
		return -1;
	p = peek_skip_space(p);
	if (strncmp(p, "null", 4) == 0) {
		*null = true;
		return 1;
	}
	if (*p++ != '"' || (end = strpbrk(p, "\"\\\n")) == NULL || *end != '"')
		return -1;
	if ((*out = strndup(p, (size_t)(end - p))) == NULL)
		return -1;
	/* Only the first occurrence counts; a second one makes it ambiguous. */
	if (peek_find_word(end, key) != NULL) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 1;
}

int
peek_string(const struct peek *pk, const char *section, const char *key,
    const char *def, char **out, char *err, size_t errlen)
{
	struct json_object	*o = pk->obj, *v;
	bool			 null = false;
	int			 r;

	*out = NULL;
	if (pk->text == NULL)
		goto dflt;
	if (o != NULL) {
		if (section != NULL && (!json_object_object_get_ex(o, section, &o) ||
		    json_object_is_type(o, json_type_null)))
			goto dflt;
		if (!json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, key, &v))
			goto dflt;
		if (json_object_is_type(v, json_type_null))
			return 0;
		if (!json_object_is_type(v, json_type_string))
			goto bad;
		if ((*out = strdup(json_object_get_string(v))) == NULL)
			goto nomem;
		return 0;
	}
	r = peek_scan(pk->text, key, out, &null);
	if (r == 0)
		goto dflt;
	if (r == -1)
		goto bad;
	return 0;
dflt:
	if (def != NULL && (*out = strdup(def)) == NULL)
		goto nomem;
	return 0;
bad:
	snprintf(err, errlen, "%s: cannot read %s%s%s from it", pk->path,
	    section != NULL ? section : "", section != NULL ? "." : "", key);
	return -1;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
peek_asn(const struct peek *pk, uint32_t *asn, char *err, size_t errlen)
{
	struct json_object	*o, *v;
	const char		*p;
	char			*end;
	unsigned long long	 n;

	*asn = 0;
	if (pk->text == NULL)
		return 0;
	if (pk->obj != NULL) {
		if (!json_object_object_get_ex(pk->obj, "frr", &o) ||
		    !json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "asn", &v) ||
		    json_object_is_type(v, json_type_null))
			return 0;
		if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 1 ||
		    json_object_get_int64(v) > UINT32_MAX)
			goto bad;
		*asn = (uint32_t)json_object_get_int64(v);
		return 0;
	}
	if ((p = peek_find_word(pk->text, "asn")) == NULL)
		return 0;
	if (*p == '"')
		p++;
	p = peek_skip_space(p);
	if (*p++ != ':')
		goto bad;
	p = peek_skip_space(p);
	if (strncmp(p, "null", 4) == 0)
		return 0;
	errno = 0;
	n = strtoull(p, &end, 10);
	if (end == p || errno != 0 || n < 1 || n > UINT32_MAX)
		goto bad;
	*asn = (uint32_t)n;
	return 0;
bad:
	snprintf(err, errlen, "%s: cannot read frr.asn from it", pk->path);
	return -1;
}

static int
peek_add(struct pfx **out, size_t *n, const char *s)
{
	struct pfx	 p, *tmp;
	char		 why[128];

	if (pfx_parse(s, &p, why, sizeof(why)) == -1)
		return 0;
	for (size_t i = 0; i < *n; i++)
		if (pfx_equal(&(*out)[i], &p))
			return 0;
	if ((tmp = reallocarray(*out, *n + 1, sizeof(*tmp))) == NULL)
		return -1;
	*out = tmp;
	tmp[(*n)++] = p;
	return 0;
}

/* From a service file that is not JSON: every quoted string that is a prefix. */
static int
peek_scan_prefixes(const char *text, struct pfx **out, size_t *n)
{
	const char	*p = text, *end;
	char		 buf[64];

	while ((p = strchr(p, '"')) != NULL) {
		if ((end = strchr(p + 1, '"')) == NULL)
			break;
		if ((size_t)(end - p - 1) < sizeof(buf)) {
			memcpy(buf, p + 1, (size_t)(end - p - 1));
			buf[end - p - 1] = '\0';
			if (peek_add(out, n, buf) == -1)
				return -1;
		}
		p = end + 1;
	}
	return 0;
}

static bool
peek_is_service_file(const char *name)
{
	size_t	len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".json") == 0;
}

int
peek_prefixes(const char *dir, struct pfx **out, size_t *n, char *err, size_t errlen)
{
	struct json_object	*o, *arr, *v;
	struct dirent		*de;
	struct stat		 sb;
	DIR			*d;
	char			 path[4096], why[128], *text;
	int			 rc = -1;

	*out = NULL;
	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	/* Whoever may write there may add a service: the rule of cfg_load(). */
	if (fstat(dirfd(d), &sb) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	if (cfg_stat_trusted(&sb, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: refusing a services directory %s", dir, why);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		if (!peek_is_service_file(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((text = peek_slurp(path, why, sizeof(why))) == NULL) {
			if (errno != EPERM)
				continue;
			snprintf(err, errlen, "%s: refusing a configuration file %s", path, why);
			goto out;
		}
		o = json_tokener_parse(text);
		if (o != NULL && json_object_is_type(o, json_type_object) &&
		    json_object_object_get_ex(o, "prefixes", &arr) &&
		    json_object_is_type(arr, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(arr); i++) {
				v = json_object_array_get_idx(arr, i);
				if (json_object_is_type(v, json_type_string) &&
				    peek_add(out, n, json_object_get_string(v)) == -1)
					goto nomem;
			}
		} else if (o == NULL && peek_scan_prefixes(text, out, n) == -1)
			goto nomem;
		json_object_put(o);
		free(text);
		continue;
nomem:
		json_object_put(o);
		free(text);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	closedir(d);
	if (rc == -1) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}
