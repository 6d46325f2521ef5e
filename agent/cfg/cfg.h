/*
 * Configuration: the main JSON file plus one JSON file per service in
 * services.d/. Loading is pure: it reads files and never touches the system,
 * so `anycast-healthd -n` and `anycast-healthctl validate` share it.
 */
#ifndef AHD_CFG_H
#define AHD_CFG_H

#include <stdbool.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>

#include "damp.h"
#include "pfx.h"

struct json_object;
/* The longest degraded_route_map; the FRR driver's buffers hold one more. */
#define CFG_ROUTE_MAP_MAX	64

struct cfg_ctx;

/*
 * The configuration side of a probe type: its name, the keys it takes and
 * their parser. The probe engine (probes/) registers its types here with
 * cfg_set_probe_types() before anything is loaded; cfg never includes the
 * probes, so the dependency points one way (cfg <- probes).
 */
struct cfg_probe_type {
	const char		*name;
	/* Type-specific keys, NULL-terminated; cfg rejects any other key. */
	const char *const	*keys;
	/* Parses and validates the type's keys into *params; 0, or -1 with errors reported. */
	int			(*parse)(struct cfg_ctx *ctx, struct json_object *obj, void **params);
	void			(*free_params)(void *params);
};

/* The known probe types, NULL-terminated; the array must outlive every cfg. */
void	cfg_set_probe_types(const struct cfg_probe_type *const *types);
const struct cfg_probe_type *cfg_probe_type_find(const char *name);

/*
 * The longest duration accepted anywhere: far beyond any sensible interval
 * or hold, and far from any overflow in timer arithmetic.
 */
#define CFG_MAX_DURATION_US	(24ULL * 3600 * 1000000)
#define CFG_DEFAULT_MAIN	"/etc/anycast-healthd/anycast-healthd.json"
#define CFG_MAX_FILE_SIZE	(1024 * 1024)

enum cfg_method		{ METHOD_ADDRESS, METHOD_NETWORK, METHOD_BOTH };
enum cfg_on_warning	{ ONW_ANNOUNCE, ONW_DEGRADE, ONW_WITHDRAW };
enum cfg_on_exit	{ ON_EXIT_WITHDRAW, ON_EXIT_KEEP };
enum cfg_shared		{ SHARED_ALL, SHARED_ANY };

/* "address", "network" or "both": the words of the configuration and the state file. */
const char	*cfg_method_str(enum cfg_method m);
/* The method a word names, or -1. */
int		 cfg_method_parse(const char *s);

struct cfg_probe {
	char			*name;		/* "name", default "TYPE#INDEX" */
	const struct cfg_probe_type *type;
	unsigned		 index;		/* position in "probes" */
	uint64_t		 interval_us;	/* from the service unless overridden */
	uint64_t		 timeout_us;
	uint64_t		 warning_us;	/* 0: no threshold */
	uint64_t		 critical_us;	/* 0: no threshold */
	unsigned		 jitter_pct;	/* from defaults.jitter */
	void			*params;	/* owned by type, freed by type->free_params */
	char			*canon;		/* the probe's JSON object, keys sorted: for reload */
};

struct cfg_service {
	char			*name;		/* "name", default: file base name */
	char			*file;		/* path as shown in error messages */
	struct pfx		*prefixes;
	size_t			 nprefixes;
	enum cfg_method		 method;
	char			*interface;	/* default: global "interface" */
	uint64_t		 interval_us;
	uint64_t		 timeout_us;
	unsigned		 rise;
	unsigned		 fall;
	uint64_t		 hold_down_us;
	struct damp_cfg		 damping;	/* default: defaults.damping */
	unsigned		 require;	/* probes that must be OK; nprobes for "all", 1 for "any" */
	bool			 require_all;	/* "all" was given (kept for display) */
	enum cfg_on_warning	 on_warning;
	char			*degraded_route_map;
	uint64_t		 drain_grace_us;
	struct cfg_probe	*probes;
	size_t			 nprobes;
};

struct cfg {
	char			*main_file;	/* NULL when the default main file is absent */
	char			*services_dir;
	char			*interface;
	struct {
		char		*vtysh;
		char		*pathspace;	/* NULL: none */
		uint32_t	 asn;		/* 0: read it from FRR */
		char		*vrf;		/* NULL: default VRF */
		uint64_t	 timeout_us;
	} frr;
	char			*control_socket;
	char			*state_file;
	char			*metrics_file;	/* NULL: none */
	struct {
		int		 level;		/* enum log_level */
		int		 format;	/* enum log_format */
		bool		 syslog;
	} log;
	enum cfg_on_exit	 on_exit;
	enum cfg_shared		 shared_prefixes;
	struct {
		uint64_t	 interval_us;
		uint64_t	 timeout_us;
		unsigned	 rise;
		unsigned	 fall;
		unsigned	 jitter_pct;
		struct damp_cfg	 damping;
	} defaults;
	struct cfg_service	*services;	/* sorted by name */
	size_t			 nservices;
};

/* Every problem found, one line each: "FILE: JSON.PATH: what is wrong". */
struct cfg_errors {
	char			**msgs;
	size_t			  n;
};

/*
 * Loads main_path (NULL: the default path, which may be absent) and every
 * services.d/ *.json file. Returns NULL if there was any error; then errs
 * holds all of them (loading goes on after the first so that an operator sees
 * every mistake at once).
 */
struct cfg	*cfg_load(const char *main_path, struct cfg_errors *errs);
void		 cfg_free(struct cfg *cfg);
/*
 * Whether two services would behave identically: every resolved setting and
 * every probe (type parameters compared through their canonical JSON, so a
 * probe type need not know about reloads). The file name is not compared.
 */
bool		 cfg_service_equal(const struct cfg_service *a, const struct cfg_service *b);
void		 cfg_errors_clear(struct cfg_errors *errs);

/*
 * "250ms", "2s", "1m", "1h", "500us", "1.5s", or a JSON number of seconds.
 * Returns 0, or -1 with a reason in err.
 */
int		 cfg_duration_parse(const char *s, uint64_t *us, char *err, size_t errlen);
/*
 * Whether only root can change what path names (keepalived's script
 * security): the file, if it exists, and every directory above it must be
 * owned by root and writable by no one else (a sticky directory such as
 * /tmp may be), both on the path as given (a symbolic link there must be
 * root's too) and on the path it resolves to; a dangling link is refused.
 * 0 with the resolved path in resolved (if not NULL: what to execute), or
 * -1 with why.
 */
int		 cfg_path_trusted(const char *path, char *resolved, size_t reslen,
		    char *why, size_t whylen);
/*
 * The rule for a configuration file or the services directory, on its
 * stat: owned by root, writable by no one else. 0, or -1 with why
 * ("owned by uid N" or "writable by group or others (mode N)").
 */
int		 cfg_stat_trusted(const struct stat *st, char *why, size_t whylen);
/*
 * For tests: when set to N, the Nth allocation of the next cfg_load()
 * fails (as when out of memory); 0 again once it has.
 */
extern unsigned	 cfg_test_fail_alloc;
/* Formats a duration for messages: "250ms", "2s", "1.5s". */
const char	*cfg_duration_fmt(uint64_t us, char *buf, size_t buflen);

/*
 * For probe types parsing their own keys. The context knows the current file
 * and JSON path; errors are reported as "FILE: PATH.KEY: message".
 * The getters return 1 if the key was present and valid (out set), 0 if it
 * was absent (out untouched; an error is reported if required), -1 if it was
 * present but invalid (error reported).
 */
struct cfg_ctx;

void	cfg_error(struct cfg_ctx *ctx, const char *key, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
int	cfg_get_string(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
	    bool required, char **out);
int	cfg_get_bool(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
	    bool required, bool *out);
int	cfg_get_uint(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
	    bool required, unsigned min, unsigned max, unsigned *out);
int	cfg_get_port(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
	    bool required, uint16_t *out);
int	cfg_get_duration(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
	    bool required, uint64_t *out_us);
/* An array of strings, possibly empty: *out is NULL-terminated, *n its length. */
int	cfg_get_strings(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
	    bool required, char ***out, size_t *n);
void	cfg_strv_free(char **v);
/* An IP address literal; host names are refused (no blocking lookups). */
int	cfg_get_ipaddr(struct cfg_ctx *ctx, struct json_object *obj, const char *key,
	    bool required, int *family, void *addr /* in_addr or in6_addr */);

#endif
