/*
 * What the parts of the configuration loader share (agent/cfg/cfg*.c only;
 * everyone else uses cfg.h). cfg.c reads the files, cfg_main.c,
 * cfg_service.c and cfg_probe.c are the schema, cfg_json.c the error
 * context and getters they parse with, cfg_dur.c durations, cfg_cmp.c the
 * comparison used by reload, cfg_trust.c the trust rule.
 */
#ifndef AHD_CFG_INT_H
#define AHD_CFG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "damp.h"

#define US_PER_MS		UINT64_C(1000)
#define US_PER_S		UINT64_C(1000000)
#define US_PER_M		(60 * US_PER_S)
#define US_PER_H		(60 * US_PER_M)

#define CTX_PATH_MAX		256
#define MSG_MAX			1024
#define SVC_NAME_MAX		64
#define RISE_FALL_MAX		100

struct json_object;

/* Where the parser is: the file and the JSON path, for every message. */
struct cfg_ctx {
	struct cfg_errors	*errs;
	const char		*file;		/* as shown in messages */
	char			 path[CTX_PATH_MAX];	/* "probes[1]", "" at the top */
	size_t			 pathlen;
};

/* Allocators that set cfg_oom when they fail (why: see cfg_json.c). */
extern bool	cfg_oom;
void		*cfg_xcalloc(size_t n, size_t size);
void		*cfg_xreallocarray(void *p, size_t n, size_t size);
char		*cfg_xstrdup(const char *s);

/* Errors and the JSON path they are reported at (cfg_json.c). */
void		 cfg_errs_add(struct cfg_errors *errs, const char *line);
void		 cfg_ctx_init(struct cfg_ctx *ctx, struct cfg_errors *errs, const char *file);
size_t		 cfg_ctx_push(struct cfg_ctx *ctx, const char *key, long index);
void		 cfg_ctx_pop(struct cfg_ctx *ctx, size_t mark);

/* Getters beyond the public ones; same return convention (1, 0, -1). */
const char	*cfg_json_type_word(struct json_object *v);
const char	*cfg_json_text(struct json_object *v);
struct json_object *cfg_lookup(struct json_object *obj, const char *key);
int		 cfg_absent(struct cfg_ctx *ctx, const char *key, bool required);
int		 cfg_wrong_type(struct cfg_ctx *ctx, const char *key, const char *expected,
		    struct json_object *v);
int		 cfg_int_in_range(struct json_object *v, int64_t min, int64_t max,
		    int64_t *out);
int		 cfg_get_enum(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
		    const char *const *names, int *out);
bool		 cfg_is_word(const char *s, size_t maxlen);
int		 cfg_get_word(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
		    size_t maxlen, const char *what, char **out);
int		 cfg_get_ifname(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
		    char **out);
void		 cfg_check_keys(struct cfg_ctx *ctx, struct json_object *obj,
		    const char *const *known, const char *const *more);

/*
 * cfg.c: a prefix listed by several services must have one method and, for
 * an address, one interface (exported for its unit test).
 */
void		 cfg_check_shared(const struct cfg *cfg, struct cfg_errors *errs);

/* cfg_dur.c */
void		 cfg_check_timing(struct cfg_ctx *ctx, uint64_t interval, uint64_t timeout,
		    int interval_r, int timeout_r);

/* The schema: cfg_main.c, cfg_service.c, cfg_probe.c. */
void		 cfg_parse_damping(struct cfg_ctx *ctx, struct json_object *obj,
		    struct damp_cfg *dc);
void		 cfg_parse_main(struct cfg_ctx *ctx, struct json_object *obj, struct cfg *cfg);
int		 cfg_parse_service(struct cfg_ctx *ctx, struct json_object *obj,
		    const struct cfg *cfg, const char *stem, struct cfg_service *s);
void		 cfg_service_clear(struct cfg_service *s);
int		 cfg_parse_probe(struct cfg_ctx *ctx, struct json_object *obj,
		    const struct cfg *cfg, const struct cfg_service *svc, unsigned index,
		    struct cfg_probe *p);
void		 cfg_probe_clear(struct cfg_probe *p);

/* cfg_cmp.c: the JSON with object keys sorted; NULL when out of memory. */
char		*cfg_canon_json(struct json_object *v);

#endif
