/*
 * The state file as json-c's tree printed it before state_format() wrote
 * it directly: the reference both the unit tests (tests/unit/test_state.c)
 * and the fuzzer (tests/fuzz/fuzz_state.c) hold state_format() to.
 * Header-only, for the two test programs; not part of the product.
 */
#ifndef AHD_TEST_STATE_REFERENCE_H
#define AHD_TEST_STATE_REFERENCE_H

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cfg.h"
#include "pfx.h"
#include "state.h"

static char *
state_reference_format(const struct state *st)
{
	struct json_object	*o, *arr, *e;
	char			 buf[PFX_STRLEN], *text;

	o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
	arr = json_object_new_array();
	for (size_t i = 0; i < st->nannounced; i++) {
		e = json_object_new_object();
		json_object_object_add(e, "prefix", json_object_new_string(
		    pfx_fmt(&st->announced[i].pfx, buf, sizeof(buf))));
		json_object_object_add(e, "interface",
		    json_object_new_string(st->announced[i].ifname));
		json_object_object_add(e, "method", json_object_new_string(
		    cfg_method_str(st->announced[i].method)));
		json_object_array_add(arr, e);
	}
	json_object_object_add(o, "announced", arr);
	arr = json_object_new_array();
	for (size_t i = 0; i < st->ndrained; i++)
		json_object_array_add(arr, json_object_new_string(st->drained[i]));
	json_object_object_add(o, "drained", arr);
	json_object_object_add(o, "kept_on_exit", json_object_new_boolean(st->kept));
	if (st->frr.set) {
		e = json_object_new_object();
		json_object_object_add(e, "vtysh", json_object_new_string(st->frr.vtysh));
		json_object_object_add(e, "pathspace", json_object_new_string(st->frr.pathspace));
		json_object_object_add(e, "vrf", json_object_new_string(st->frr.vrf));
		json_object_object_add(e, "asn", json_object_new_int64(st->frr.asn));
		json_object_object_add(e, "timeout_us",
		    json_object_new_int64((int64_t)st->frr.timeout_us));
		json_object_object_add(o, "frr", e);
	}
	text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return text;
}

#endif
