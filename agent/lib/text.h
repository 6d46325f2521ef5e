/*
 * Text for messages: bytes that came from elsewhere (a server's answer,
 * DNS record data) made safe to quote in one line.
 */
#ifndef AHD_TEXT_H
#define AHD_TEXT_H

#include <stddef.h>
#include <stdio.h>

/*
 * Copies n bytes of in (NULs included) to out as printable ASCII: bytes
 * 0x20-0x7e but '\' stay, every other byte becomes \xNN. Stops, whole
 * escapes only, when out (outlen > 0) is full; out is always terminated.
 */
void	text_printable(const char *in, size_t n, char *out, size_t outlen);

/*
 * s as a JSON string, the way json-c writes it with
 * JSON_C_TO_STRING_NOSLASHESCAPE: '"' and '\\' escaped, control characters
 * as \b \f \n \r \t or \u00XX, every other byte as it is.
 */
void	text_json_str(FILE *f, const char *s);

#endif
