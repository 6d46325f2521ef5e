/*
 * The Nagios plugin line check and status print: "ANYCAST-HEALTH STATE -
 * summary | perfdata", then detail lines (long output) without a '|'.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "plugin.h"
#include "probe.h"
#include "ctl_int.h"

/* monitoring-plugins' order of badness: CRITICAL > WARNING > UNKNOWN > OK. */
int
badness(enum nagios_state s)
{
	static const int rank[] = { 0, 2, 3, 1 };

	return rank[s];
}

enum nagios_state
worse(enum nagios_state a, enum nagios_state b)
{
	return badness(b) > badness(a) ? b : a;
}

/* Appends to a growing text, never past its end. */
void
append(char *buf, size_t len, size_t *off, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	if (*off >= len)
		return;
	va_start(ap, fmt);
	n = vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
	if (*off >= len)
		*off = len - 1;
}

/*
 * One service in the first line: "dns: 2/2 probes OK", or with the probe
 * that decides and its reason, shortened: "dns: dns#0 127.0.0.1:53
 * answered SERVFAIL (1/2 probes OK)".
 */
void
summary_item(char *buf, size_t len, size_t *off, const char *svc, const char *state,
    const char *probe, const char *msg, size_t n_ok, size_t n)
{
	char	reason[REASON_MAX];

	append(buf, len, off, "%s%s%s%s: ", *off > 0 ? ", " : "", svc,
	    state != NULL ? " " : "", state != NULL ? state : "");
	if (probe == NULL) {
		append(buf, len, off, "%zu/%zu probes OK", n_ok, n);
		return;
	}
	plugin_clean(reason, sizeof(reason), msg, strlen(msg), PLUGIN_ELLIPSIS);
	append(buf, len, off, "%s %s (%zu/%zu probes OK)", probe, reason, n_ok, n);
}

/* The first line before its perfdata: "ANYCAST-HEALTH STATE - summary". */
void
plugin_head(char *head, size_t len, const char *state, const char *summary)
{
	char	text[SUMMARY_MAX];

	plugin_clean(text, sizeof(text), summary, strlen(summary),
	    PLUGIN_PIPE | PLUGIN_ELLIPSIS);
	snprintf(head, len, "ANYCAST-HEALTH %s - %s", state, text);
}

/*
 * The perfdata buffer's size (its NUL included) that keeps head, " | ",
 * the perfdata and the newline within FIRST_LINE_MAX.
 */
size_t
perf_room(const char *head)
{
	return FIRST_LINE_MAX - strlen(head) - 3;
}

/* Prints the plugin line: "ANYCAST-HEALTH STATE - summary | perfdata". */
void
plugin_print(const char *head, const char *perf)
{
	printf("%s%s%s\n", head, perf[0] != '\0' ? " | " : "", perf);
}

/* A plugin line without perfdata. */
void
plugin_line(const char *state, const char *summary)
{
	char	head[HEAD_MAX];

	plugin_head(head, sizeof(head), state, summary);
	plugin_print(head, "");
}

/* A detail line (long output): one line, no '|'. */
void
detail_line(const char *fmt, ...)
{
	char	raw[2048], text[2048];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	plugin_clean(text, sizeof(text), raw, sizeof(raw), PLUGIN_PIPE | PLUGIN_ELLIPSIS);
	printf("%s\n", text);
}
