/*
 * The renderer of frr-templates/ for `anycast-healthctl frr-config`: text
 * in, text out, no FRR involved.
 */
#include <stdio.h>
#include <string.h>

#include "frr.h"

static bool
render_sub(char *dst, size_t len, const char *line, const char *ph, const char *val)
{
	const char	*at;
	size_t		 off = 0;

	dst[0] = '\0';
	while ((at = strstr(line, ph)) != NULL) {
		off += (size_t)snprintf(dst + off, off < len ? len - off : 0, "%.*s%s",
		    (int)(at - line), line, val);
		line = at + strlen(ph);
	}
	off += (size_t)snprintf(dst + off, off < len ? len - off : 0, "%s", line);
	return off < len;
}

/* Substitutes the plain placeholders; false if one has no value. */
static bool
render_plain(char *buf, size_t len, const char *line, const struct frr_render *v)
{
	const struct { const char *ph, *val; } subs[] = {
		{ "{{ASN}}", v->asn }, { "{{ROUTER_ID}}", v->router_id },
		{ "{{NEIGHBOR_ASN}}", v->neighbor_asn }, { "{{NEIGHBOR}}", v->neighbor },
		{ "{{BFD_INTERVAL}}", v->bfd_interval },
		{ "{{BFD}}", v->bfd_interval != NULL ? "" : NULL },
	};
	char	tmp[1024];

	snprintf(tmp, sizeof(tmp), "%s", line);
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strstr(tmp, subs[i].ph) == NULL)
			continue;
		if (subs[i].val == NULL)
			return false;
		if (!render_sub(buf, len, tmp, subs[i].ph, subs[i].val))
			return false;
		snprintf(tmp, sizeof(tmp), "%s", buf);
	}
	snprintf(buf, len, "%s", tmp);
	return true;
}

int
frr_render(FILE *in, FILE *out, const struct frr_render *v)
{
	static const struct { const char *ph; int fam; bool addr; } rep[] = {
		{ "{{ADDRESS_PREFIX_V4}}", AF_INET, true },
		{ "{{ADDRESS_PREFIX_V6}}", AF_INET6, true },
		{ "{{PREFIX_V4}}", AF_INET, false },
		{ "{{PREFIX_V6}}", AF_INET6, false },
	};
	char	 line[1024], plain[1024], buf[1024], pb[PFX_STRLEN];
	char	*s;
	size_t	 k;

	while (fgets(line, sizeof(line), in) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		if (s[0] == '!' && s[1] != '\0')
			continue;
		if (!render_plain(plain, sizeof(plain), line, v))
			continue;
		for (k = 0; k < sizeof(rep) / sizeof(rep[0]); k++)
			if (strstr(plain, rep[k].ph) != NULL)
				break;
		if (k == sizeof(rep) / sizeof(rep[0])) {
			fprintf(out, "%s\n", plain);
			continue;
		}
		const struct pfx *ps = rep[k].addr ? v->addr_prefixes : v->prefixes;
		size_t n = rep[k].addr ? v->naddr_prefixes : v->nprefixes;
		for (size_t i = 0; i < n; i++) {
			if (ps[i].family != rep[k].fam)
				continue;
			if (render_sub(buf, sizeof(buf), plain, rep[k].ph,
			    pfx_fmt(&ps[i], pb, sizeof(pb))))
				fprintf(out, "%s\n", buf);
		}
	}
	if (ferror(in) || ferror(out) || fflush(out) == EOF)
		return -1;
	return 0;
}
