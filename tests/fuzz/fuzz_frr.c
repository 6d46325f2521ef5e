/*
 * libFuzzer target for the parser of FRR's `show running-config` output
 * (frr_running_parse()), whose result decides which network statements the
 * daemon adds or removes. The input is the text, parsed for the default VRF
 * and for VRF BLUE.
 *
 * Invariants beyond "no crash": no statements without the router block; an
 * ASN exactly when the block was found; every statement a valid prefix
 * (its text form parses back to it) in an IPv4 or IPv6 section with a
 * route-map name that is one word; frr_running_find() finds each statement
 * in its own family's section and nothing else; CRLF line ends and a
 * leading "!" line change nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "frr.h"
#include "pfx.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static void
check(const struct frr_running *r)
{
	char			 buf[PFX_STRLEN], err[128];
	const struct frr_net	*n, *f;
	struct pfx		 back;
	size_t			 rml;

	if (!r->found && (r->nnets != 0 || r->asn != 0))
		abort();
	if (r->found && r->asn == 0)
		abort();
	if ((r->nnets == 0) != (r->nets == NULL))
		abort();
	for (size_t i = 0; i < r->nnets; i++) {
		n = &r->nets[i];
		if (n->af != AF_INET && n->af != AF_INET6)
			abort();
		if (n->pfx.family != AF_INET && n->pfx.family != AF_INET6)
			abort();
		if (pfx_parse(pfx_fmt(&n->pfx, buf, sizeof(buf)), &back, err,
		    sizeof(err)) == -1 || !pfx_equal(&back, &n->pfx))
			abort();
		rml = strnlen(n->route_map, FRR_RM_MAX);
		if (rml == FRR_RM_MAX || strcspn(n->route_map, " \t\r\n") != rml)
			abort();
		f = frr_running_find(r, &n->pfx);
		if (n->af == n->pfx.family && f == NULL)
			abort();
		if (f != NULL && (f->af != n->pfx.family || !pfx_equal(&f->pfx, &n->pfx)))
			abort();
	}
}

static bool
same(const struct frr_running *a, const struct frr_running *b)
{
	if (a->found != b->found || a->asn != b->asn || a->nnets != b->nnets)
		return false;
	for (size_t i = 0; i < a->nnets; i++)
		if (a->nets[i].af != b->nets[i].af ||
		    !pfx_equal(&a->nets[i].pfx, &b->nets[i].pfx) ||
		    strcmp(a->nets[i].route_map, b->nets[i].route_map) != 0)
			return false;
	return true;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char *const vrfs[] = { NULL, "BLUE" };
	struct frr_running	 r, v;
	char			*text, *crlf, *bang;
	size_t			 len = strnlen((const char *)data, size), o = 0;
	bool			 has_cr = memchr(data, '\r', len) != NULL;

	if ((text = malloc(len + 1)) == NULL || (crlf = malloc(2 * len + 1)) == NULL ||
	    (bang = malloc(len + 3)) == NULL)
		abort();
	memcpy(text, data, len);
	text[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\n')
			crlf[o++] = '\r';
		crlf[o++] = text[i];
	}
	crlf[o] = '\0';
	snprintf(bang, len + 3, "!\n%s", text);

	for (size_t k = 0; k < 2; k++) {
		if (frr_running_parse(text, vrfs[k], &r) == -1)
			abort();
		check(&r);
		if (!has_cr) {
			if (frr_running_parse(crlf, vrfs[k], &v) == -1 || !same(&r, &v))
				abort();
			frr_running_clear(&v);
		}
		if (frr_running_parse(bang, vrfs[k], &v) == -1 || !same(&r, &v))
			abort();
		frr_running_clear(&v);
		frr_running_clear(&r);
		if (r.nets != NULL || r.nnets != 0 || r.found)
			abort();
	}
	free(text);
	free(crlf);
	free(bang);
	return 0;
}
