#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "file.h"
#include "state.h"
#include "text.h"

#define STATE_VERSION	1
#define STATE_MAX_SIZE	(16 * 1024 * 1024)

int
state_add_announced(struct state *st, const struct pfx *p, const char *ifname,
    enum cfg_method method)
{
	struct state_entry	*tmp;
	size_t			 cap;

	/* Doubling: the daemon lists 10,000 prefixes at every change. */
	if (st->nannounced == st->capannounced) {
		cap = st->capannounced == 0 ? 16 : st->capannounced * 2;
		if ((tmp = reallocarray(st->announced, cap, sizeof(*tmp))) == NULL)
			return -1;
		st->announced = tmp;
		st->capannounced = cap;
	}
	tmp = &st->announced[st->nannounced++];
	memset(tmp, 0, sizeof(*tmp));
	tmp->pfx = *p;
	snprintf(tmp->ifname, sizeof(tmp->ifname), "%s", ifname);
	tmp->method = method;
	return 0;
}

int
state_add_drained(struct state *st, const char *name)
{
	char	**tmp, *dup;

	if ((dup = strdup(name)) == NULL)
		return -1;
	if ((tmp = reallocarray(st->drained, st->ndrained + 1, sizeof(*tmp))) == NULL) {
		free(dup);
		return -1;
	}
	st->drained = tmp;
	st->drained[st->ndrained++] = dup;
	return 0;
}

bool
state_is_drained(const struct state *st, const char *name)
{
	for (size_t i = 0; i < st->ndrained; i++)
		if (strcmp(st->drained[i], name) == 0)
			return true;
	return false;
}

/*
 * Entries are zeroed before they are filled, and so is the frr block of a
 * zero-initialised state, so equal bytes are equal contents.
 */
bool
state_equal(const struct state *a, const struct state *b)
{
	if (a->nannounced != b->nannounced || a->ndrained != b->ndrained ||
	    a->kept != b->kept || memcmp(&a->frr, &b->frr, sizeof(a->frr)) != 0)
		return false;
	if (a->nannounced > 0 && memcmp(a->announced, b->announced,
	    a->nannounced * sizeof(a->announced[0])) != 0)
		return false;
	for (size_t i = 0; i < a->ndrained; i++)
		if (strcmp(a->drained[i], b->drained[i]) != 0)
			return false;
	return true;
}

void
state_clear(struct state *st)
{
	for (size_t i = 0; i < st->ndrained; i++)
		free(st->drained[i]);
	free(st->drained);
	free(st->announced);
	memset(st, 0, sizeof(*st));
}

/*
 * Written directly, in json-c's pretty layout (what the file always looked
 * like): a json-c tree of 10,000 entries took 10-17 ms of the loop at every
 * change, this a tenth of it.
 */
char *
state_format(const struct state *st)
{
	char		 buf[PFX_STRLEN], *text = NULL;
	size_t		 len;
	FILE		*f;

	if ((f = open_memstream(&text, &len)) == NULL)
		return NULL;
	fprintf(f, "{\n  \"version\": %d,\n  \"pid\": %d,\n  \"announced\": [\n",
	    STATE_VERSION, (int)getpid());
	for (size_t i = 0; i < st->nannounced; i++) {
		fprintf(f, "    {\n      \"prefix\": \"%s\",\n      \"interface\": ",
		    pfx_fmt(&st->announced[i].pfx, buf, sizeof(buf)));
		text_json_str(f, st->announced[i].ifname);
		fprintf(f, ",\n      \"method\": \"%s\"\n    }%s\n",
		    cfg_method_str(st->announced[i].method), i + 1 < st->nannounced ? "," : "");
	}
	fputs("  ],\n  \"drained\": [\n", f);
	for (size_t i = 0; i < st->ndrained; i++) {
		fputs("    ", f);
		text_json_str(f, st->drained[i]);
		fputs(i + 1 < st->ndrained ? ",\n" : "\n", f);
	}
	fprintf(f, "  ],\n  \"kept_on_exit\": %s", st->kept ? "true" : "false");
	if (st->frr.set) {
		fputs(",\n  \"frr\": {\n    \"vtysh\": ", f);
		text_json_str(f, st->frr.vtysh);
		fputs(",\n    \"pathspace\": ", f);
		text_json_str(f, st->frr.pathspace);
		fputs(",\n    \"vrf\": ", f);
		text_json_str(f, st->frr.vrf);
		fprintf(f, ",\n    \"asn\": %u,\n    \"timeout_us\": %lld\n  }",
		    (unsigned)st->frr.asn, (long long)(int64_t)st->frr.timeout_us);
	}
	fputs("\n}", f);
	if (ferror(f)) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int
state_write_file(const char *path, const char *text, char *err, size_t errlen)
{
	char	 tmp[4096];
	size_t	 len = strlen(text), off = 0;
	ssize_t	 n;
	int	 fd;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	/*
	 * A fresh file, never one that is there: withdraw-all runs as root in a
	 * directory the daemon's user owns, where a planted link must not be
	 * followed or written through.
	 */
	if (unlink(tmp) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			goto fail;
		}
		off += (size_t)n;
	}
	/* A reader sees the whole old file or the whole new one, never a part. */
	if (close(fd) == -1) {
		fd = -1;
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

static const char *
get_str(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int
read_entry(struct state *st, struct json_object *e, size_t i, char *err, size_t errlen)
{
	const char	*p, *ifname, *method;
	struct pfx	 pfx;
	char		 why[128];
	int		 m = -1;

	p = get_str(e, "prefix");
	ifname = get_str(e, "interface");
	method = get_str(e, "method");
	if (p == NULL || ifname == NULL || method == NULL) {
		snprintf(err, errlen, "announced[%zu]: needs prefix, interface and method", i);
		return -1;
	}
	if (pfx_parse(p, &pfx, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "announced[%zu].prefix: %s", i, why);
		return -1;
	}
	/* What the kernel accepts as a name: no '/', no blank, not "." or "..". */
	if (strlen(ifname) == 0 || strlen(ifname) >= IF_NAMESIZE ||
	    strpbrk(ifname, "/: \t\n\r") != NULL || strcmp(ifname, ".") == 0 ||
	    strcmp(ifname, "..") == 0) {
		snprintf(err, errlen, "announced[%zu].interface: '%s' is not an interface "
		    "name", i, ifname);
		return -1;
	}
	m = cfg_method_parse(method);
	if (m == -1) {
		snprintf(err, errlen, "announced[%zu].method: unknown method '%s'", i, method);
		return -1;
	}
	if (state_add_announced(st, &pfx, ifname, (enum cfg_method)m) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* The daemon's service names: [A-Za-z0-9_.-], 1-64 characters (cfg). */
static bool
state_name_ok(const char *s)
{
	size_t	n = strlen(s);

	if (n == 0 || n > 64)
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789_.-") == n;
}

/* Notes one skipped entry: the first reason is kept, the rest are counted. */
static void
state_skip(struct state *st, char *err, size_t errlen, const char *why)
{
	if (st->nbad++ == 0)
		snprintf(err, errlen, "%s", why);
}

/*
 * The file is written by the daemon's unprivileged user and read by root
 * (withdraw-all): it is hostile data. Every entry is validated; a bad one
 * is skipped and counted (nbad, err says why), so that what is well formed
 * can still be withdrawn. How to reach FRR is never taken from it.
 */
int
state_read(const char *path, struct state *st, char *err, size_t errlen)
{
	struct json_object	*o = NULL, *arr, *v;
	struct stat		 sb;
	char			*text, why[256];
	int			 rc = -1;

	memset(st, 0, sizeof(*st));
	/*
	 * Only a missing file means nothing to withdraw: a link (dangling or
	 * not) is not the daemon's file, and must not read as "nothing".
	 */
	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (S_ISLNK(sb.st_mode)) {
		snprintf(err, errlen, "a symbolic link, not a file the daemon wrote");
		return -1;
	}
	if ((text = file_read(path, O_NOFOLLOW, STATE_MAX_SIZE, NULL, err,
	    errlen)) == NULL)
		return -1;
	if ((o = json_tokener_parse(text)) == NULL) {
		snprintf(err, errlen, "not JSON");
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "not a JSON object");
		goto out;
	}
	if (json_object_object_get_ex(o, "announced", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "announced: not an array");
			goto out;
		}
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			if (read_entry(st, json_object_array_get_idx(arr, i), i, why,
			    sizeof(why)) == 0)
				continue;
			if (strcmp(why, "out of memory") == 0) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
			state_skip(st, err, errlen, why);
		}
	}
	if (json_object_object_get_ex(o, "drained", &arr)) {
		if (!json_object_is_type(arr, json_type_array)) {
			snprintf(err, errlen, "drained: not an array");
			goto out;
		}
		for (size_t i = 0; i < json_object_array_length(arr); i++) {
			v = json_object_array_get_idx(arr, i);
			if (!json_object_is_type(v, json_type_string) ||
			    !state_name_ok(json_object_get_string(v))) {
				snprintf(why, sizeof(why), "drained[%zu]: not a service name", i);
				state_skip(st, err, errlen, why);
			} else if (state_add_drained(st, json_object_get_string(v)) == -1) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
		}
	}
	if (json_object_object_get_ex(o, "kept_on_exit", &v))
		st->kept = json_object_is_type(v, json_type_boolean) &&
		    json_object_get_boolean(v);
	rc = 0;
out:
	if (rc == -1)
		state_clear(st);
	json_object_put(o);
	free(text);
	return rc;
}
