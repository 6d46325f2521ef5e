#include <stdio.h>

#include "text.h"

void
text_printable(const char *in, size_t n, char *out, size_t outlen)
{
	size_t	o = 0;

	for (size_t i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

void
text_json_str(FILE *f, const char *s)
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		c;

	putc_unlocked('"', f);
	for (; (c = (unsigned char)*s) != '\0'; s++) {
		switch (c) {
		case '"':
		case '\\':
			putc_unlocked('\\', f);
			putc_unlocked((int)c, f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		default:
			if (c < 0x20) {
				fputs("\\u00", f);
				putc_unlocked(hex[c >> 4], f);
				putc_unlocked(hex[c & 0xf], f);
			} else
				putc_unlocked((int)c, f);
		}
	}
	putc_unlocked('"', f);
}
