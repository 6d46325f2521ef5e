/*
 * anycast-healthctl's own declarations, shared by the files of agent/ctl
 * and by nothing else: the defaults, the plugin line both check and status
 * print, the control-socket client and one entry point per command.
 *
 *   healthctl.c  main: options, dispatch, usage, validate
 *   line.c       the Nagios plugin line and its detail lines
 *   check.c      check: the probes run once, here, without the daemon
 *   client.c     the control-socket client; drain, undrain, reload, metrics
 *   status.c     status: the daemon's view as a plugin line or a table
 *   withdraw.c   withdraw-all: what the state file lists, after a crash
 *   frrconfig.c  frr-config: the FRR configuration the services need
 */
#ifndef AHD_CTL_INT_H
#define AHD_CTL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "probe.h"

#define DEFAULT_SOCKET		"/run/anycast-healthd/control.sock"
#define DEFAULT_STATE		"/run/anycast-healthd/state.json"
/* A reload of a large configuration may take a moment; nothing else should. */
#define CLIENT_TIMEOUT_S	30

/* Nagios plugin exit codes, also used for our own usage errors. */
#define EXIT_UNKNOWN	3

/*
 * The plugin line's limits. Nagios Core keeps 8 KiB of a plugin's output
 * (MAX_PLUGIN_OUTPUT_LENGTH) and the perfdata sits on the first line: the
 * whole line, newline included, stays within FIRST_LINE_MAX. The perfdata
 * gets what the state and summary leave (perf_room()); past that whole
 * items are dropped, and a detail line says so.
 */
#define FIRST_LINE_MAX	8192
#define SUMMARY_MAX	1024
#define HEAD_MAX	(SUMMARY_MAX + 32)	/* "ANYCAST-HEALTH STATE - summary" */
#define REASON_MAX	120	/* a probe's message in the first line */

struct cfg;

/* healthctl.c */
void		 usage(FILE *f);
/* The configuration, or NULL with its errors on stderr. */
struct cfg	*load(const char *path);

/* line.c */
int		 badness(enum nagios_state s);
enum nagios_state worse(enum nagios_state a, enum nagios_state b);
void		 append(char *buf, size_t len, size_t *off, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
void		 summary_item(char *buf, size_t len, size_t *off, const char *svc,
		    const char *state, const char *probe, const char *msg, size_t n_ok,
		    size_t n);
void		 plugin_head(char *head, size_t len, const char *state,
		    const char *summary);
size_t		 perf_room(const char *head);
void		 plugin_print(const char *head, const char *perf);
void		 plugin_line(const char *state, const char *summary);
void		 detail_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* client.c */
extern char	 ctl_err[512];
extern int	 ctl_errno;
extern bool	 ctl_plugin;
extern double	 ctl_timeout_s;
char		*socket_path(const char *path);
int		 ctl_connect(const char *path, bool quiet);
struct json_object *ctl_request(const char *sock, struct json_object *req);
char		*ctl_request_text(const char *sock, struct json_object *req, size_t *lenp);
struct json_object *ctl_parse_reply(const char *text);
bool		 reply_ok(struct json_object *reply);
const char	*jstr(struct json_object *o, const char *key);
double		 jnum(struct json_object *o, const char *key);
int		 jint(struct json_object *o, const char *key);
bool		 jbool(struct json_object *o, const char *key);
struct json_object *jarr(struct json_object *o, const char *key);

/* status_read.c: what status prints of each service, read once from the reply. */
struct probe_view {
	char		*name, *state, *health, *message;
	double		 latency_ms, warning_ms, critical_ms;
};

struct pfx_view {
	char		*prefix, *interface;
	bool		 announced;
};

struct svc_view {
	char			*name, *state, *since;
	double			 since_unix, init_limit_ms;
	bool			 announcing;
	bool			 damping;	/* the key is there, not null */
	bool			 d_suppressed;
	double			 d_penalty, d_suppress, d_reuse, d_reuse_in_ms;
	struct pfx_view		*pfx;
	size_t			 npfx;
	struct probe_view	*probes;
	size_t			 nprobes;
	char			*json;	/* --json, read a service at a time: as printed there */
};

struct status_views {
	struct json_object	*reply;	/* with cut, its services array is empty */
	struct svc_view		*v;	/* the services asked for, in the reply's order */
	size_t			 n;
	bool			 json;	/* asked for --json */
	bool			 cut;	/* read a service at a time; else reply is whole
					   (and with --json, there are no views) */
};

/* How --json prints (json-c's pretty printer, as the reply parsed whole). */
#define STATUS_JSON_FLAGS	(JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | \
				 JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * Reads a status reply (the services named only, all if NULL). 0 with
 * sv->reply NULL if it is malformed (ctl_err says so); -1 out of memory.
 */
int		 status_views_read(const char *text, size_t len, const char *only,
		    bool json, struct status_views *sv);
void		 status_views_free(struct status_views *sv);

/* The commands; each returns the exit status. */
int		 cmd_check(const char *path, const char *name, double timeout_s);
int		 cmd_status(const char *sock, const char *service, bool json, bool verbose,
		    double timeout_s);
int		 cmd_drain(const char *sock, bool drain, const char *service,
		    const char *grace);
int		 cmd_reload(const char *sock);
int		 cmd_metrics(const char *sock);
int		 cmd_withdraw_all(const char *path, const char *sock, bool force);
int		 cmd_frr_config(const char *path, char **args, int nargs);

#endif
