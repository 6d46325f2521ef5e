/*
 * A few keys of a configuration that may be broken. anycast-healthctl's
 * reload, status and withdraw-all matter most right after an edit broke
 * the configuration; they must then find the real control socket, state
 * file, FRR and prefixes, not the defaults. A file that is valid JSON is
 * read as JSON; one that is not is scanned for "key": "value" (a key that
 * is there but cannot be read is an error, never a default).
 */
#ifndef AHD_PEEK_H
#define AHD_PEEK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pfx.h"

struct json_object;

struct peek {
	char			*path;
	char			*text;		/* NULL: no such file */
	struct json_object	*obj;		/* NULL: not JSON */
};

/*
 * 0, or -1 with err (unreadable; nothing is left to close). A missing file
 * is not an error: every key has its default. peek_close() is safe on both.
 */
int	peek_open(struct peek *pk, const char *path, char *err, size_t errlen);
void	peek_close(struct peek *pk);
/*
 * The string value of key in section (NULL: the top level; only JSON can
 * tell sections apart), def when the key is not there, NULL when it is
 * null. 0, or -1 with err: there but unreadable, or out of memory.
 */
int	peek_string(const struct peek *pk, const char *section, const char *key,
	    const char *def, char **out, char *err, size_t errlen);
/* frr.asn: 0 when absent or null. 0, or -1 with err. */
int	peek_asn(const struct peek *pk, uint32_t *asn, char *err, size_t errlen);
/*
 * Every well-formed prefix named in the service files (*.json) of dir,
 * read as JSON ("prefixes") or, from a file that is not JSON, every
 * quoted string that is a prefix. 0, or -1 with err.
 */
int	peek_prefixes(const char *dir, struct pfx **out, size_t *n, char *err,
	    size_t errlen);

#endif
