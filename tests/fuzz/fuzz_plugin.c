/*
 * libFuzzer target for the plugin text helpers, which take what exec
 * plugins print (any bytes): plugin_clean() and plugin_perf_parse().
 *
 * Invariants beyond "no crash": a cleaned text fits, holds no control
 * character and no '|' when asked, and cleaning it again changes nothing
 * (it is valid UTF-8); parsed perfdata fits, every item is found again by
 * plugin_perf_next(), and parsing the result again keeps it as it is with
 * nothing dropped (what is passed on is valid, whole items).
 */
#include <stdlib.h>
#include <string.h>

#include "plugin.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
check_clean(const char *in, size_t len, size_t room, int flags)
{
	char	out[512], again[512];

	plugin_clean(out, room, in, len, flags);
	if (strlen(out) >= room)
		abort();
	for (const char *s = out; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || ((flags & PLUGIN_PIPE) && *s == '|'))
			abort();
	if (plugin_clean(again, sizeof(again), out, strlen(out), flags) || strcmp(out, again) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	char		*in, out[600], again[600], note[256], label[256];
	const char	*s, *rest;
	size_t		 n, items = 0, restlen;

	if ((in = malloc(size + 1)) == NULL)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	check_clean(in, size, 512, 0);
	check_clean(in, size, 17, PLUGIN_PIPE | PLUGIN_ELLIPSIS);
	check_clean(in, size, 4, PLUGIN_ELLIPSIS);

	n = plugin_perf_parse(in, out, sizeof(out), note, sizeof(note));
	if (strlen(out) >= sizeof(out) || strlen(note) >= sizeof(note))
		abort();
	for (s = out; (s = plugin_perf_next(s, label, sizeof(label), &rest, &restlen)) != NULL; )
		items++;
	if (items != n)
		abort();
	if (plugin_perf_parse(out, again, sizeof(again), note, sizeof(note)) != n ||
	    strcmp(out, again) != 0 || note[0] != '\0')
		abort();
	free(in);
	return 0;
}
