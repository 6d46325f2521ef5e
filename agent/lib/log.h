/* Logging to stderr (journald picks it up) or syslog, as text or one JSON object per line. */
#ifndef AHD_LOG_H
#define AHD_LOG_H

#include <stdbool.h>
#include <stdnoreturn.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARNING, LOG_LVL_ERROR };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

void	log_setup(enum log_level level, enum log_format format, bool use_syslog);
/* Parses "debug", "info", "warning", "error"; returns -1 for anything else. */
int	log_level_parse(const char *s);
bool	log_enabled(enum log_level level);

/*
 * svc and event may be NULL. In JSON format they become the "service" and
 * "event" members; in text format they prefix the message.
 */
void	log_msg(enum log_level level, const char *svc, const char *event,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_debug(...)	log_msg(LOG_LVL_DEBUG, NULL, NULL, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_LVL_INFO, NULL, NULL, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_LVL_WARNING, NULL, NULL, __VA_ARGS__)
#define log_err(...)	log_msg(LOG_LVL_ERROR, NULL, NULL, __VA_ARGS__)

/* Only for start-up failures and broken invariants. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
