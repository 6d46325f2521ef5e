#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>

#include "plugin.h"

#define REPLACEMENT	"\xef\xbf\xbd"	/* U+FFFD */
/* A plugin's label as written out; what reads it back holds 255 bytes. */
#define LABEL_MAX	200
#define ELLIPSIS	"\xe2\x80\xa6"	/* U+2026 */

/*
 * The length of the valid UTF-8 character at s (n bytes left), or 0 if s
 * does not start one (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		len;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

bool
plugin_clean(char *dst, size_t dstlen, const char *src, size_t srclen, int flags)
{
	const unsigned char	*s = (const unsigned char *)src;
	const char		*out;
	size_t			 off = 0, safe = 0, i = 0, n, outlen, room = dstlen - 1;
	bool			 cut = false;

	while (i < srclen && s[i] != '\0') {
		n = utf8_len(s + i, srclen - i);
		if (n == 0) {
			out = REPLACEMENT;
			outlen = 3;
			n = 1;
		} else if (s[i] < 0x20 || s[i] == 0x7f ||
		    (n == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0)) {
			/* C0 and C1 controls: one line of printable text. */
			out = " ";
			outlen = 1;
		} else if (s[i] == '|' && (flags & PLUGIN_PIPE)) {
			out = PLUGIN_PIPE_REPLACEMENT;
			outlen = sizeof(PLUGIN_PIPE_REPLACEMENT) - 1;
		} else {
			out = (const char *)s + i;
			outlen = n;
		}
		if (off + 3 <= room)
			safe = off;
		if (off + outlen > room) {
			cut = true;
			break;
		}
		memcpy(dst + off, out, outlen);
		off += outlen;
		i += n;
	}
	if (cut && (flags & PLUGIN_ELLIPSIS) && room >= 3) {
		memcpy(dst + safe, ELLIPSIS, 3);
		off = safe + 3;
	}
	dst[off] = '\0';
	return cut;
}

void
plugin_num(char *buf, size_t len, double v)
{
	char	*e;

	if (!isfinite(v))
		v = 0;
	snprintf(buf, len, "%.6f", v);
	if (strchr(buf, '.') != NULL) {
		for (e = buf + strlen(buf); e[-1] == '0'; e--)
			e[-1] = '\0';
		if (e[-1] == '.')
			e[-1] = '\0';
	}
	if (strcmp(buf, "-0") == 0)
		snprintf(buf, len, "0");
}

void
plugin_perf_init(struct plugin_perf *pp, char *buf, size_t cap)
{
	memset(pp, 0, sizeof(*pp));
	pp->buf = buf;
	pp->cap = cap;
	if (cap > 0)
		buf[0] = '\0';
}

/* Label text: valid UTF-8, no '|' and no '=' (Icinga splits at the first '='). */
static size_t
label_put(char *dst, size_t len, const char *s, bool raw)
{
	char	clean[512];
	size_t	o = 0;

	plugin_clean(clean, sizeof(clean), s, strlen(s), PLUGIN_PIPE);
	for (const char *c = clean; *c != '\0' && o + 2 < len; c++) {
		if (*c == '=')
			dst[o++] = '_';
		else if (*c == '\'' && raw) {
			dst[o++] = '\'';
			dst[o++] = '\'';
		} else
			dst[o++] = *c;
	}
	dst[o] = '\0';
	return o;
}

bool
plugin_perf_add(struct plugin_perf *pp, const char *prefix, const char *label,
    const char *rest)
{
	char	item[1024];
	size_t	o = 0, need;

	item[o++] = '\'';
	o += label_put(item + o, sizeof(item) - o, prefix, true);
	o += label_put(item + o, sizeof(item) - o, label, false);
	o += (size_t)snprintf(item + o, sizeof(item) - o, "'=%s", rest);
	need = o + (pp->kept > 0);
	/* Once one is dropped, the rest go too: what is kept is a prefix of the list. */
	if (o >= sizeof(item) || pp->len + need >= pp->cap || pp->dropped > 0) {
		pp->dropped++;
		return false;
	}
	if (pp->kept > 0)
		pp->buf[pp->len++] = ' ';
	memcpy(pp->buf + pp->len, item, o + 1);
	pp->len += o;
	pp->kept++;
	return true;
}

#define NUM	"-?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)"
#define UOM	"(s|ms|us|%|B|KB|MB|GB|TB|c)?"
#define RANGE	"@?((" NUM "|~)?:)?(" NUM ")?"

/* Why rest (value;warn;crit;min;max) is not valid, or NULL. */
static const char *
perf_invalid(const char *rest)
{
	static regex_t	 value_re, range_re, num_re;
	static int	 compiled;
	char		 field[128];
	const char	*f = rest, *why = NULL;
	size_t		 n, i = 0;

	if (!compiled) {
		/* "U": the value could not be determined (the guidelines; no UOM then). */
		if (regcomp(&value_re, "^(" NUM UOM "|U)$", REG_EXTENDED | REG_NOSUB) != 0 ||
		    regcomp(&range_re, "^" RANGE "$", REG_EXTENDED | REG_NOSUB) != 0 ||
		    regcomp(&num_re, "^(" NUM ")?$", REG_EXTENDED | REG_NOSUB) != 0)
			return "cannot compile the checks";
		compiled = 1;
	}
	for (i = 0; why == NULL; i++) {
		n = strcspn(f, ";");
		if (i == 5)
			return "more than 5 fields";
		if (n >= sizeof(field))
			return "field too long";
		memcpy(field, f, n);
		field[n] = '\0';
		if (i == 0 && regexec(&value_re, field, 0, NULL, 0) != 0)
			why = strspn(field, "-.0123456789") == 0 ? "value not a number" :
			    "unit not one of s ms us % B KB MB GB TB c";
		else if ((i == 1 || i == 2) && regexec(&range_re, field, 0, NULL, 0) != 0)
			why = i == 1 ? "warning not a range" : "critical not a range";
		else if ((i == 3 || i == 4) && regexec(&num_re, field, 0, NULL, 0) != 0)
			why = i == 3 ? "min not a number" : "max not a number";
		if (f[n] == '\0')
			break;
		f += n + 1;
	}
	return why;
}

/*
 * One item of a plugin's perfdata at *s: its label (as printed, quotes
 * doubled) and rest. 1, 0 at the end, -1 if unparsable (*s is left past
 * the broken part).
 */
static int
perf_item(const char **sp, char *label, size_t labellen, char *rest, size_t restlen)
{
	const char	*s = *sp;
	size_t		 l = 0, v;
	int		 r = -1;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*sp = s;
		return 0;
	}
	if (*s == '\'') {
		for (s++; *s != '\0'; s++) {
			if (*s == '\'' && s[1] != '\'')
				break;
			if (l + 3 >= labellen)
				goto out;
			if (*s == '\'')
				label[l++] = *s++;
			label[l++] = *s;
		}
		/* Not past the end: the broken item is skipped from here. */
		if (*s != '\'')
			goto out;
		s++;
	} else
		for (; *s != '\0' && *s != '=' && *s != ' ' && *s != '\t'; s++) {
			if (l + 3 >= labellen)
				goto out;
			if (*s == '\'')
				label[l++] = '\'';
			label[l++] = *s;
		}
	label[l] = '\0';
	if (*s != '=' || l == 0)
		goto out;
	s++;
	v = strcspn(s, " \t");
	if (v == 0 || v >= restlen)
		goto out;
	memcpy(rest, s, v);
	rest[v] = '\0';
	s += v;
	r = 1;
out:
	if (r == -1)
		/* Skip the broken item: the next one starts after a blank. */
		s += strcspn(s, " \t");
	*sp = s;
	return r;
}

size_t
plugin_perf_parse(const char *in, char *out, size_t outlen, char *note, size_t notelen)
{
	struct plugin_perf	 pp;
	char			 label[PLUGIN_LABEL_MAX], rest[PLUGIN_REST_MAX], first[160] = "";
	char			 shown[64];
	char			 cleaned[LABEL_MAX + 1];
	const char		*s = in, *start, *why;
	size_t			 invalid = 0, o = 0;
	int			 r;

	plugin_perf_init(&pp, out, outlen);
	for (;;) {
		while (*s == ' ' || *s == '\t')
			s++;
		start = s;
		if ((r = perf_item(&s, label, sizeof(label), rest, sizeof(rest))) == 0)
			break;
		why = r == -1 ? "not 'label'=value" : perf_invalid(rest);
		/* As written out ('|' replaced, bad bytes as U+FFFD) it must still read back. */
		if (why == NULL && plugin_clean(cleaned, sizeof(cleaned), label, strlen(label),
		    PLUGIN_PIPE))
			why = "label too long";
		if (why == NULL) {
			plugin_perf_add(&pp, "", label, rest);
			continue;
		}
		if (invalid++ == 0) {
			plugin_clean(shown, sizeof(shown), start, (size_t)(s - start),
			    PLUGIN_PIPE | PLUGIN_ELLIPSIS);
			snprintf(first, sizeof(first), "%s: %s", shown, why);
		}
	}
	note[0] = '\0';
	if (invalid > 0)
		o += (size_t)snprintf(note, notelen, "%zu invalid perfdata item%s dropped "
		    "(%s%s)", invalid, invalid == 1 ? "" : "s", invalid > 1 ? "first: " : "",
		    first);
	if (pp.dropped > 0 && o < notelen)
		snprintf(note + o, notelen - o, "%s%zu perfdata item%s dropped (more than "
		    "%zu bytes)", o > 0 ? "; " : "", pp.dropped, pp.dropped == 1 ? "" : "s",
		    outlen - 1);
	return pp.kept;
}

const char *
plugin_perf_next(const char *s, char *label, size_t labellen, const char **rest,
    size_t *restlen)
{
	size_t	l = 0;

	while (*s == ' ')
		s++;
	if (*s != '\'')
		return NULL;
	for (s++; *s != '\0'; s++) {
		if (*s == '\'' && s[1] != '\'')
			break;
		/* A doubled quote stays doubled; both halves are consumed here. */
		if (*s == '\'') {
			if (l + 1 < labellen)
				label[l++] = *s;
			s++;
		}
		if (l + 1 < labellen)
			label[l++] = *s;
	}
	label[l] = '\0';
	if (s[0] != '\'' || s[1] != '=')
		return NULL;
	*rest = s + 2;
	*restlen = strcspn(*rest, " ");
	return *rest + *restlen;
}
