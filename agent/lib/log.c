#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <json-c/json.h>

#include "log.h"

static enum log_level	log_level = LOG_LVL_INFO;
static enum log_format	log_format = LOG_FMT_TEXT;
static bool		log_syslog;
/* journald stamps each line itself; anywhere else a time helps. */
static bool		log_stamp;

static const char *const level_names[] = { "debug", "info", "warning", "error" };
static const int syslog_prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };

void
log_setup(enum log_level level, enum log_format format, bool use_syslog)
{
	log_level = level;
	log_format = format;
	log_stamp = getenv("JOURNAL_STREAM") == NULL;
	if (use_syslog && !log_syslog)
		openlog("anycast-healthd", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (!use_syslog && log_syslog)
		closelog();
	log_syslog = use_syslog;
}

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcmp(s, level_names[i]) == 0)
			return (int)i;
	return -1;
}

bool
log_enabled(enum log_level level)
{
	return level >= log_level;
}

/* text with control characters as \n, \t or \xNN (cut to fit len). */
static const char *
log_escape(const char *text, char *buf, size_t len)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			o = 0;

	for (const unsigned char *c = (const unsigned char *)text; *c != '\0' &&
	    o + 5 < len; c++) {
		if (*c >= 0x20 && *c != 0x7f) {
			buf[o++] = (char)*c;
			continue;
		}
		buf[o++] = '\\';
		if (*c == '\n')
			buf[o++] = 'n';
		else if (*c == '\t')
			buf[o++] = 't';
		else {
			buf[o++] = 'x';
			buf[o++] = hex[*c >> 4];
			buf[o++] = hex[*c & 15];
		}
	}
	buf[o] = '\0';
	return buf;
}

static void
log_emit(enum log_level level, const char *svc, const char *event, const char *text)
{
	char			 ts[96], safe[4096];
	struct timespec		 now;
	struct tm		 tm;
	struct json_object	*o;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
	if (log_format == LOG_FMT_JSON) {
		o = json_object_new_object();
		json_object_object_add(o, "time", json_object_new_string(ts));
		json_object_object_add(o, "level", json_object_new_string(level_names[level]));
		if (svc != NULL)
			json_object_object_add(o, "service", json_object_new_string(svc));
		if (event != NULL)
			json_object_object_add(o, "event", json_object_new_string(event));
		json_object_object_add(o, "msg", json_object_new_string(text));
		if (log_syslog)
			syslog(syslog_prio[level], "%s", json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			fprintf(stderr, "%s\n", json_object_to_json_string_ext(o,
			    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(o);
		return;
	}
	/* One event, one line: a path or a peer's text may hold control characters. */
	text = log_escape(text, safe, sizeof(safe));
	if (log_syslog)
		syslog(syslog_prio[level], "%s%s%s", svc ? svc : "", svc ? ": " : "", text);
	else
		fprintf(stderr, "%s%s%s: %s%s%s\n", log_stamp ? ts : "",
		    log_stamp ? " " : "", level_names[level], svc ? svc : "",
		    svc ? ": " : "", text);
}

void
log_msg(enum log_level level, const char *svc, const char *event, const char *fmt, ...)
{
	char	buf[2048];
	va_list	ap;
	int	saved = errno;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_emit(level, svc, event, buf);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	char	buf[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_emit(LOG_LVL_ERROR, NULL, "fatal", buf);
	exit(1);
}
