/*
 * Text for monitoring systems: UTF-8-safe copies and truncation, the
 * Monitoring Plugins output rules (no '|' outside the perfdata separator,
 * perfdata items whole and valid) and numbers without exponents. Shared by
 * the probes (what a plugin printed), anycast-healthctl check/status (the
 * plugin line) and the JSON status, which must stay valid UTF-8.
 */
#ifndef AHD_PLUGIN_H
#define AHD_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

/*
 * What stands for '|' in any text that is not the perfdata separator:
 * U+00A6 BROKEN BAR. Nagios Core and Icinga 2 split a line at its first '|'
 * (Icinga at any line's '|' followed by a '='), so no other '|' may appear.
 */
#define PLUGIN_PIPE_REPLACEMENT	"\xc2\xa6"

/* plugin_clean() flags. */
#define PLUGIN_PIPE	0x1	/* '|' becomes PLUGIN_PIPE_REPLACEMENT */
#define PLUGIN_ELLIPSIS	0x2	/* a cut text ends in U+2026 "..." */

/*
 * Copies at most srclen bytes of src (up to a NUL) into dst (dstlen > 0,
 * always NUL-terminated): a byte that does not start a valid UTF-8
 * character becomes U+FFFD, control characters a space, and a text that
 * does not fit is cut between characters. true if it was cut.
 */
bool	plugin_clean(char *dst, size_t dstlen, const char *src, size_t srclen, int flags);

/* v in fixed notation, at most 6 decimals, no trailing zeros: 5e-05 is "0.00005". */
void	plugin_num(char *buf, size_t len, double v);

/*
 * Performance data being assembled into a caller's buffer: items are
 * appended whole or not at all (the guidelines: never cut inside an item).
 */
struct plugin_perf {
	char	*buf;
	size_t	 cap;
	size_t	 len;
	size_t	 kept;
	size_t	 dropped;	/* items that did not fit */
};

void	plugin_perf_init(struct plugin_perf *pp, char *buf, size_t cap);
/*
 * Appends 'prefix label'=rest (a space first unless it is the first
 * item). label is taken as printed by a plugin ('' stands for a quote);
 * '|' and '=' in prefix and label are replaced, a quote doubled. false if
 * it did not fit, or an earlier one did not (counted in dropped).
 */
bool	plugin_perf_add(struct plugin_perf *pp, const char *prefix, const char *label,
	    const char *rest);

/*
 * The longest label (as printed, quotes doubled) and rest (what follows
 * '=') of an item plugin_perf_parse() keeps, their NUL included: a reader
 * of its output with buffers this large never cuts an item.
 */
#define PLUGIN_LABEL_MAX	256
#define PLUGIN_REST_MAX		256

/*
 * Validates a plugin's performance data (what follows the '|'):
 * 'label'=value[UOM][;warn[;crit[;min[;max]]]], value a number or "U" (not
 * determined, without UOM), min/max numbers,
 * warn/crit ranges, UOM one of the guidelines' (s ms us % B KB MB GB TB c
 * or none). Valid items are rewritten into out as 'label'=rest, separated
 * by a space, whole items only; note says what was dropped and why ("" if
 * nothing). Returns the number of items kept.
 */
size_t	plugin_perf_parse(const char *in, char *out, size_t outlen, char *note,
	    size_t notelen);

/*
 * Iterates over items written by plugin_perf_parse(): *label gets the
 * label as printed (without the quotes), *rest what follows '='. Returns a
 * pointer past the item, or NULL at the end.
 */
const char *plugin_perf_next(const char *s, char *label, size_t labellen, const char **rest,
	    size_t *restlen);

#endif
