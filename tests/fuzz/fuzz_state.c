/*
 * libFuzzer target for the state file reader, state_read(): the file
 * `anycast-healthctl withdraw-all` trusts after a crash to know what to
 * remove, and the daemon reads at start to restore drains. The input is the
 * file's content.
 *
 * Invariants beyond "no crash": a refused file leaves an empty state and a
 * non-empty reason; an accepted one holds only valid entries (interface
 * names that fit, known methods, an absolute vtysh path); and what was read,
 * written out with state_format() and read back, is the same state,
 * state_equal() to it, and the text byte for byte what json-c's printer
 * made of it before state_format() wrote the file directly (the
 * interface and service names are any bytes the reader let through).
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "state.h"
#include "../state_reference.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char	dir[64], path[128];

static void
fuzz_setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/ahd-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/state.json", dir);
}

static void
check_valid(const struct state *st)
{
	for (size_t i = 0; i < st->nannounced; i++) {
		const struct state_entry *e = &st->announced[i];

		if (e->ifname[0] == '\0' || strnlen(e->ifname, IF_NAMESIZE) == IF_NAMESIZE)
			abort();
		if (e->method != METHOD_ADDRESS && e->method != METHOD_NETWORK &&
		    e->method != METHOD_BOTH)
			abort();
		if (e->pfx.family != AF_INET && e->pfx.family != AF_INET6)
			abort();
	}
	for (size_t i = 0; i < st->ndrained; i++)
		if (st->drained[i] == NULL)
			abort();
	if (st->frr.set && (st->frr.vtysh[0] != '/' || st->frr.timeout_us == 0))
		abort();
	if (!st->frr.set && (st->frr.vtysh[0] != '\0' || st->frr.asn != 0))
		abort();
}

static bool
same(const struct state *a, const struct state *b)
{
	if (a->nannounced != b->nannounced || a->ndrained != b->ndrained ||
	    a->kept != b->kept || a->frr.set != b->frr.set)
		return false;
	for (size_t i = 0; i < a->nannounced; i++)
		if (!pfx_equal(&a->announced[i].pfx, &b->announced[i].pfx) ||
		    strcmp(a->announced[i].ifname, b->announced[i].ifname) != 0 ||
		    a->announced[i].method != b->announced[i].method)
			return false;
	for (size_t i = 0; i < a->ndrained; i++)
		if (strcmp(a->drained[i], b->drained[i]) != 0)
			return false;
	if (a->frr.set && (strcmp(a->frr.vtysh, b->frr.vtysh) != 0 ||
	    strcmp(a->frr.pathspace, b->frr.pathspace) != 0 ||
	    strcmp(a->frr.vrf, b->frr.vrf) != 0 || a->frr.asn != b->frr.asn ||
	    a->frr.timeout_us != b->frr.timeout_us))
		return false;
	return true;
}


int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct state	 st, back;
	char		 err[256], err2[256];
	char		*text, *ref;
	FILE		*f;
	int		 rc;

	if (dir[0] == '\0')
		fuzz_setup();
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	err[0] = '\0';
	rc = state_read(path, &st, err, sizeof(err));
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1) {
		if (err[0] == '\0' || st.nannounced != 0 || st.announced != NULL ||
		    st.ndrained != 0 || st.drained != NULL || st.kept || st.frr.set)
			abort();
		return 0;
	}
	check_valid(&st);
	if ((text = state_format(&st)) == NULL || (ref = state_reference_format(&st)) == NULL)
		abort();
	if (strcmp(text, ref) != 0)
		abort();
	free(ref);
	err2[0] = '\0';
	if (state_write_file(path, text, err2, sizeof(err2)) == -1)
		abort();
	if (state_read(path, &back, err2, sizeof(err2)) != 0 || !same(&st, &back) ||
	    !state_equal(&st, &back) || !state_equal(&back, &st))
		abort();
	free(text);
	state_clear(&st);
	state_clear(&back);
	return 0;
}
