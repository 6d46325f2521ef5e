/*
 * Configuration loading: the main file and services.d/, read through one
 * descriptor each with the trust rule checked on it, parsed as strict JSON
 * and handed to the schema (cfg_main.c, cfg_service.c). Every check reports
 * through cfg_error() and goes on, so that one run shows an operator every
 * mistake; cfg_load() decides at the end, from the error count, whether the
 * result may be used.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cfg.h"
#include "cfg_int.h"
#include "log.h"
#include "pfx.h"

static char *
path_join(const char *dir, const char *name)
{
	size_t	 dlen, len;
	char	*p;

	if (dir == NULL || name == NULL)
		return NULL;
	if (name[0] == '/' || strcmp(dir, ".") == 0)
		return cfg_xstrdup(name);
	dlen = strlen(dir);
	len = dlen + strlen(name) + 2;
	if ((p = cfg_xcalloc(1, len)) == NULL)
		return NULL;
	snprintf(p, len, "%s%s%s", dir, dlen > 0 && dir[dlen - 1] == '/' ? "" : "/",
	    name);
	return p;
}

static char *
path_dir(const char *path)
{
	const char	*slash = strrchr(path, '/');
	char		*d;

	if (slash == NULL)
		return cfg_xstrdup(".");
	if (slash == path)
		return cfg_xstrdup("/");
	if ((d = cfg_xcalloc(1, (size_t)(slash - path) + 1)) == NULL)
		return NULL;
	memcpy(d, path, (size_t)(slash - path));
	return d;
}

/* Names in messages: relative to the main file's directory when under it. */
static char *
path_shown(const char *base_dir, const char *path)
{
	size_t	len;

	if (base_dir == NULL || path == NULL)
		return NULL;
	len = strlen(base_dir);

	if (strcmp(base_dir, ".") == 0) {
		if (path[0] != '/' && strncmp(path, "../", 3) != 0)
			goto strip;
		return cfg_xstrdup(path);
	}
	if (strncmp(path, base_dir, len) != 0)
		return cfg_xstrdup(path);
	if (len > 0 && base_dir[len - 1] == '/') {
		if (path[len] == '\0')
			return cfg_xstrdup(path);
		path += len;
	} else if (path[len] == '/')
		path += len + 1;
	else
		return cfg_xstrdup(path);
strip:
	while (strncmp(path, "./", 2) == 0)
		path += 2;
	return cfg_xstrdup(path[0] == '\0' ? "." : path);
}

/*
 * Reads one whole file into *buf. The checks use the open descriptor, not
 * the name, so they see the very file that is read. *missing (if not NULL)
 * tells an absent file apart, without an error.
 */
static int
read_file(struct cfg_ctx *ctx, const char *path, bool *missing, char **buf,
    size_t *len)
{
	struct stat	st;
	size_t		cap, next;
	char		*tmp;
	ssize_t		n;
	int		fd;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: a FIFO in services.d must not hang the loader. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		if (errno == ENOENT && missing != NULL)
			*missing = true;
		else
			cfg_error(ctx, NULL, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		cfg_error(ctx, NULL, "cannot stat: %s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		cfg_error(ctx, NULL, "not a regular file");
		goto fail;
	}
	/* Whoever may write it may announce any prefix and run any plugin. */
	if (st.st_uid != 0) {
		cfg_error(ctx, NULL, "refusing a configuration file owned by uid %u: only "
		    "root may own it", (unsigned)st.st_uid);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		cfg_error(ctx, NULL, "refusing a configuration file writable by group or "
		    "others (mode %04o): only root may write it", (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_size > CFG_MAX_FILE_SIZE)
		goto too_large;
	/*
	 * Sized by fstat(), not the limit: zeroing 1 MiB per file was most
	 * of the start-up time with thousands of service files. The file may
	 * grow after fstat(): the buffer grows too, and reading one byte more
	 * than the limit tells.
	 */
	cap = (size_t)st.st_size + 2;
	if ((*buf = cfg_xcalloc(1, cap + 1)) == NULL)
		goto fail;
	while (*len <= CFG_MAX_FILE_SIZE) {
		if (*len == cap) {
			next = cap * 2 > CFG_MAX_FILE_SIZE + 1 ? CFG_MAX_FILE_SIZE + 1 : cap * 2;
			if ((tmp = cfg_xreallocarray(*buf, next + 1, 1)) == NULL)
				goto fail;
			*buf = tmp;
			memset(*buf + cap, 0, next + 1 - cap);
			cap = next;
		}
		n = read(fd, *buf + *len, cap - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			cfg_error(ctx, NULL, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	if (*len > CFG_MAX_FILE_SIZE)
		goto too_large;
	close(fd);
	return 0;

too_large:
	cfg_error(ctx, NULL, "larger than %d bytes", CFG_MAX_FILE_SIZE);
fail:
	free(*buf);
	*buf = NULL;
	close(fd);
	return -1;
}

/* Parses strict JSON whose top level is an object; errors say where. */
static struct json_object *
parse_json(struct cfg_ctx *ctx, const char *buf, size_t len)
{
	struct json_object	*obj;
	struct json_tokener	*tok;
	enum json_tokener_error	 jerr;
	size_t			 end, line = 1, col = 1;

	if ((tok = json_tokener_new()) == NULL) {
		cfg_oom = true;
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_success) {
		/* Only white space may follow the value. */
		while (end < len && isspace((unsigned char)buf[end]))
			end++;
		if (end < len)
			jerr = json_tokener_error_parse_unexpected;
	}
	if (jerr != json_tokener_success) {
		for (size_t i = 0; i < end && i < len; i++, col++)
			if (buf[i] == '\n') {
				line++;
				col = 0;
			}
		cfg_error(ctx, NULL, "not valid JSON: %s (line %zu, column %zu)",
		    jerr == json_tokener_continue ? "unexpected end of file" :
		    json_tokener_error_desc(jerr), line, col);
		json_object_put(obj);
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		cfg_error(ctx, NULL, "the top level must be a JSON object, not %s",
		    cfg_json_type_word(obj));
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *
read_json(struct cfg_ctx *ctx, const char *path, bool *missing)
{
	struct json_object	*obj;
	char			*buf;
	size_t			 len;

	if (read_file(ctx, path, missing, &buf, &len) == -1)
		return NULL;
	obj = parse_json(ctx, buf, len);
	free(buf);
	return obj;
}

static int
service_cmp(const void *a, const void *b)
{
	const struct cfg_service	*x = a, *y = b;
	int				 r;

	if ((r = strcmp(x->name, y->name)) != 0)
		return r;
	return strcmp(x->file, y->file);
}

static int
file_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
is_json_name(const struct dirent *d)
{
	size_t	n = strlen(d->d_name);

	return n >= 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static void
load_service(struct cfg *cfg, struct cfg_errors *errs, const char *base_dir,
    const char *name)
{
	struct cfg_service	 s, *tmp;
	struct cfg_ctx		 ctx;
	struct json_object	*obj = NULL;
	char			*path, *stem;

	memset(&s, 0, sizeof(s));
	path = path_join(cfg->services_dir, name);
	s.file = path_shown(base_dir, path);
	stem = cfg_xstrdup(name);
	if (path == NULL || s.file == NULL || stem == NULL) {
		cfg_service_clear(&s);
		goto out;
	}
	cfg_ctx_init(&ctx, errs, s.file);
	stem[strlen(stem) - 5] = '\0';
	if ((obj = read_json(&ctx, path, NULL)) != NULL &&
	    cfg_parse_service(&ctx, obj, cfg, stem, &s) == 0 &&
	    (tmp = cfg_xreallocarray(cfg->services, cfg->nservices + 1,
	    sizeof(*cfg->services))) != NULL) {
		cfg->services = tmp;
		cfg->services[cfg->nservices++] = s;
	} else
		cfg_service_clear(&s);
out:
	json_object_put(obj);
	free(stem);
	free(path);
}

static void
load_services(struct cfg *cfg, struct cfg_errors *errs, const char *base_dir)
{
	struct dirent	**list;
	struct cfg_ctx	  ctx;
	struct stat	  st;
	char		 *shown;
	int		  n;

	if ((shown = path_shown(base_dir, cfg->services_dir)) == NULL)
		return;
	cfg_ctx_init(&ctx, errs, shown);
	if ((n = scandir(cfg->services_dir, &list, is_json_name, file_cmp)) == -1) {
		if (strcmp(shown, cfg->services_dir) == 0)
			cfg_error(&ctx, NULL, "cannot read the services directory: %s",
			    strerror(errno));
		else
			cfg_error(&ctx, NULL, "cannot read the services directory %s: %s",
			    cfg->services_dir, strerror(errno));
		free(shown);
		return;
	}
	/* Whoever may write there may add a service that announces any prefix. */
	if (stat(cfg->services_dir, &st) == 0 && st.st_uid != 0)
		cfg_error(&ctx, NULL, "refusing a services directory owned by uid %u: only "
		    "root may own it", (unsigned)st.st_uid);
	else if (stat(cfg->services_dir, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH)))
		cfg_error(&ctx, NULL, "refusing a services directory writable by group or "
		    "others (mode %04o): only root may write it", (unsigned)(st.st_mode & 07777));
	else
		for (int i = 0; i < n && !cfg_oom; i++)
			load_service(cfg, errs, base_dir, list[i]->d_name);
	for (int i = 0; i < n; i++)
		free(list[i]);
	free(list);
	free(shown);
}

/* A prefix and the first service (lowest index) that lists it. */
struct first_entry {
	const struct pfx	*pfx;		/* NULL: free slot */
	size_t			 svc;
};

/*
 * The slot of p in an open-addressed table of cap (a power of two) entries:
 * the one holding it, or the free one where it belongs.
 */
static struct first_entry *
first_slot(struct first_entry *tab, size_t cap, const struct pfx *p)
{
	size_t	i = pfx_hash(p) & (cap - 1);

	while (tab[i].pfx != NULL && !pfx_equal(tab[i].pfx, p))
		i = (i + 1) & (cap - 1);
	return &tab[i];
}

static void
shared_error(struct cfg_ctx *ctx, const struct cfg_service *a,
    const struct cfg_service *b, size_t k)
{
	char	buf[PFX_STRLEN];
	size_t	mark;

	mark = cfg_ctx_push(ctx, "prefixes", (long)k);
	pfx_fmt(&b->prefixes[k], buf, sizeof(buf));
	if (a->method != b->method)
		cfg_error(ctx, NULL, "%s is in service '%s' with method %s "
		    "and in service '%s' with method %s (a shared prefix "
		    "needs one method)", buf, a->name,
		    cfg_method_str(a->method), b->name,
		    cfg_method_str(b->method));
	else if (a->method != METHOD_NETWORK &&
	    strcmp(a->interface, b->interface) != 0)
		cfg_error(ctx, NULL, "%s is in service '%s' on interface "
		    "%s and in service '%s' on interface %s (an address "
		    "lives on one interface)", buf, a->name, a->interface,
		    b->name, b->interface);
	cfg_ctx_pop(ctx, mark);
}

/*
 * A prefix shared by services is one route: it can be announced only one
 * way, and an address lives on one interface. Each listing of a prefix is
 * compared with the first service (in name order) that lists it, so an
 * error names the same pair however many services share it. The first
 * lister of every prefix is kept in a hash table: one pass, where a
 * pairwise search cost ~200 ms of start-up at 10,000 services.
 */
void
cfg_check_shared(const struct cfg *cfg, struct cfg_errors *errs)
{
	const struct cfg_service	*b;
	struct first_entry		*tab, *e;
	struct cfg_ctx			 ctx;
	size_t				 total = 0, cap = 16;

	for (size_t j = 0; j < cfg->nservices; j++)
		total += cfg->services[j].nprefixes;
	/* At most half full: short probe runs. */
	while (cap < total * 2)
		cap *= 2;
	if ((tab = cfg_xcalloc(cap, sizeof(*tab))) == NULL)
		return;
	for (size_t j = 0; j < cfg->nservices; j++) {
		b = &cfg->services[j];
		cfg_ctx_init(&ctx, errs, b->file);
		for (size_t k = 0; k < b->nprefixes; k++) {
			e = first_slot(tab, cap, &b->prefixes[k]);
			if (e->pfx == NULL) {
				e->pfx = &b->prefixes[k];
				e->svc = j;
			} else if (e->svc != j)
				shared_error(&ctx, &cfg->services[e->svc], b, k);
		}
	}
	free(tab);
}

static void
check_names(const struct cfg *cfg, struct cfg_errors *errs)
{
	struct cfg_ctx	ctx;

	for (size_t i = 1; i < cfg->nservices; i++) {
		if (strcmp(cfg->services[i].name, cfg->services[i - 1].name) != 0)
			continue;
		cfg_ctx_init(&ctx, errs, cfg->services[i].file);
		cfg_error(&ctx, NULL, "service name '%s' is also used by %s",
		    cfg->services[i].name, cfg->services[i - 1].file);
	}
}

static struct cfg *
cfg_new(void)
{
	struct cfg	*cfg;

	if ((cfg = cfg_xcalloc(1, sizeof(*cfg))) == NULL)
		return NULL;
	cfg->interface = cfg_xstrdup("lo");
	cfg->frr.vtysh = cfg_xstrdup("/usr/bin/vtysh");
	cfg->frr.timeout_us = 5 * US_PER_S;
	cfg->control_socket = cfg_xstrdup("/run/anycast-healthd/control.sock");
	cfg->state_file = cfg_xstrdup("/run/anycast-healthd/state.json");
	cfg->log.level = LOG_LVL_INFO;
	cfg->log.format = LOG_FMT_TEXT;
	cfg->on_exit = ON_EXIT_WITHDRAW;
	cfg->shared_prefixes = SHARED_ALL;
	cfg->defaults.interval_us = US_PER_S;
	cfg->defaults.timeout_us = 500 * US_PER_MS;
	cfg->defaults.rise = 3;
	cfg->defaults.fall = 2;
	cfg->defaults.jitter_pct = 10;
	damp_cfg_default(&cfg->defaults.damping);
	return cfg;
}

/*
 * vtysh runs as the daemon's user with its groups (frrvty) and, from
 * withdraw-all, as root: the same rule as for plugins. A missing one is
 * not refused here (FRR may be installed later; running it says so).
 */
static void
check_vtysh(struct cfg_ctx *ctx, const struct cfg *cfg)
{
	char	why[PATH_MAX + 256];

	if (cfg_oom || cfg->frr.vtysh == NULL)
		return;
	if (cfg_path_trusted(cfg->frr.vtysh, NULL, 0, why, sizeof(why)) == -1)
		cfg_error(ctx, NULL, "frr.vtysh: refusing %s: %s", cfg->frr.vtysh, why);
}

struct cfg *
cfg_load(const char *main_path, struct cfg_errors *errs)
{
	struct cfg		*cfg;
	struct json_object	*obj = NULL;
	struct cfg_ctx		 ctx;
	size_t			 nerr = errs->n;
	char			*base_dir = NULL, *rel, *shown = NULL;
	bool			 optional, missing;

	cfg_oom = false;
	/* Only the default may be absent: a path the operator typed must exist. */
	optional = main_path == NULL || strcmp(main_path, CFG_DEFAULT_MAIN) == 0;
	if (main_path == NULL)
		main_path = CFG_DEFAULT_MAIN;
	cfg = cfg_new();
	base_dir = path_dir(main_path);
	shown = path_shown(base_dir, main_path);
	if (cfg_oom)
		goto out;
	cfg_ctx_init(&ctx, errs, shown);
	missing = false;
	obj = read_json(&ctx, main_path, optional ? &missing : NULL);
	if (missing)
		cfg->services_dir = path_join(base_dir, "services.d");
	else {
		cfg->main_file = cfg_xstrdup(main_path);
		cfg->services_dir = cfg_xstrdup("services.d");
		if (obj != NULL)
			cfg_parse_main(&ctx, obj, cfg);
		rel = cfg->services_dir;
		cfg->services_dir = path_join(base_dir, rel);
		free(rel);
	}
	check_vtysh(&ctx, cfg);
	/*
	 * Services are checked even when the main file has mistakes, to show
	 * everything at once; not when it could not be read at all, as then
	 * services_dir and the defaults are guesses.
	 */
	if ((obj != NULL || cfg->main_file == NULL) && !cfg_oom)
		load_services(cfg, errs, base_dir);
	if (!cfg_oom) {
		if (cfg->nservices > 0)
			qsort(cfg->services, cfg->nservices, sizeof(*cfg->services),
			    service_cmp);
		check_names(cfg, errs);
		cfg_check_shared(cfg, errs);
	}
out:
	json_object_put(obj);
	free(base_dir);
	free(shown);
	if (cfg_oom) {
		/* Not counted by the test hook: it has fired by now. */
		cfg_errs_add(errs, "out of memory while loading the configuration");
		cfg_oom = false;
	}
	if (errs->n != nerr || cfg == NULL || cfg->services_dir == NULL) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

void
cfg_free(struct cfg *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->nservices; i++)
		cfg_service_clear(&cfg->services[i]);
	free(cfg->services);
	free(cfg->main_file);
	free(cfg->services_dir);
	free(cfg->interface);
	free(cfg->frr.vtysh);
	free(cfg->frr.pathspace);
	free(cfg->frr.vrf);
	free(cfg->control_socket);
	free(cfg->state_file);
	free(cfg->metrics_file);
	free(cfg);
}
