/*
 * The daemon's status reply (agent/daemon/status.c), written as text
 * rather than built as a json-c tree: valid JSON with the documented
 * fields, strings escaped as json-c escapes them, "ok" once.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "ann.h"
#include "cfg.h"
#include "probe.h"
#include "status.h"
#include "svc.h"
#include "testutil.h"

static struct json_object *
get(struct json_object *o, const char *key)
{
	struct json_object	*v = NULL;

	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\" in %s", key,
	    json_object_to_json_string(o));
	return v;
}

Test(status, reply_is_the_documented_json)
{
	struct cfg		*cfg = tu_load(NULL,
	    "a-web", "{ \"prefixes\": [\"192.0.2.53/32\", \"2001:db8::53/128\"], \"probes\": "
	    "[ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 9 }, "
	    "{ \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 10 } ] }",
	    "b-dns", "{ \"prefixes\": [\"198.51.100.53/32\"], \"probes\": "
	    "[ { \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 11 } ] }", NULL);
	char			 err[256];
	struct ann		*a;
	sd_event		*ev = NULL;
	struct svc		*svcs[2];
	struct status_counters	 sc = { .start_us = 1700000000000000ULL, .state_writes = 3 };
	struct json_object	*reply, *back, *services, *s, *p, *arr;
	const char		*text;

	cr_assert_not_null(cfg);
	cr_assert_eq(sd_event_new(&ev), 0);
	a = ann_new(cfg, NULL, err, sizeof(err));
	cr_assert_not_null(a, "%s", err);
	for (size_t i = 0; i < 2; i++)
		cr_assert_not_null(svcs[i] = svc_new(ev, &cfg->services[i], NULL, NULL));
	/* A message with what JSON must escape; an error text likewise. */
	snprintf(svcs[0]->probes[1]->msg, sizeof(svcs[0]->probes[1]->msg),
	    "say \"hi\"\\ \n\t\x01 é /x");
	snprintf(sc.state_error, sizeof(sc.state_error), "disk \"full\"");

	reply = status_json(svcs, 2, a, &sc);
	cr_assert_not_null(reply);
	text = json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	back = json_tokener_parse(text);
	cr_assert_not_null(back, "not JSON: %.300s", text);
	/* "ok" once, at the end, as the control socket used to add it. */
	cr_expect_not_null(strstr(text, ",\"ok\":true}"));
	cr_expect_eq(strstr(text, "\"ok\":true}") - text, (ptrdiff_t)strlen(text) - 10);
	cr_expect_null(strstr(strstr(text, "\"services\""), "\"ok\":true,"));
	cr_expect(json_object_get_boolean(get(back, "ok")));
	cr_expect_str_eq(json_object_get_string(get(back, "started")), "2023-11-14T22:13:20Z");
	cr_expect_eq(json_object_get_int(get(back, "pid")), (int)getpid());
	cr_expect_not(json_object_get_boolean(get(get(back, "state_file"), "ok")));
	cr_expect_str_eq(json_object_get_string(get(get(back, "state_file"), "error")),
	    "disk \"full\"");
	cr_expect_eq(json_object_get_int(get(get(back, "state_file"), "writes")), 3);
	services = get(back, "services");
	cr_assert_eq(json_object_array_length(services), 2);
	s = json_object_array_get_idx(services, 0);
	cr_expect_str_eq(json_object_get_string(get(s, "name")), "a-web");
	cr_expect_str_eq(json_object_get_string(get(s, "method")), "address");
	cr_expect_eq(json_object_get_int(get(get(s, "damping"), "suppress")),
	    (int)cfg->services[0].damping.suppress);
	arr = get(s, "prefixes");
	cr_assert_eq(json_object_array_length(arr), 2);
	cr_expect_str_eq(json_object_get_string(get(json_object_array_get_idx(arr, 1),
	    "prefix")), "2001:db8::53/128");
	cr_expect_str_eq(json_object_get_string(get(json_object_array_get_idx(arr, 0),
	    "interface")), "lo");
	cr_expect_not(json_object_get_boolean(get(json_object_array_get_idx(arr, 0),
	    "announced")));
	arr = get(s, "probes");
	cr_assert_eq(json_object_array_length(arr), 2);
	p = json_object_array_get_idx(arr, 1);
	cr_expect_str_eq(json_object_get_string(get(p, "state")), "PENDING");
	cr_expect_str_eq(json_object_get_string(get(p, "result")), "not run yet");
	cr_expect_str_eq(json_object_get_string(get(p, "message")), svcs[0]->probes[1]->msg);
	cr_expect(json_object_is_type(get(p, "latency_ms"), json_type_double));
	cr_expect_not_null(strstr(text, "\"warning_ms\":0.0,"), "json-c's doubles");
	cr_expect_not_null(strstr(text, "say \\\"hi\\\"\\\\ \\n\\t\\u0001 é /x"),
	    "escaped as json-c does: %.200s", strstr(text, "say"));
	s = json_object_array_get_idx(services, 1);
	cr_expect_str_eq(json_object_get_string(get(s, "name")), "b-dns");
	cr_expect_eq(json_object_array_length(get(s, "probes")), 1);
	json_object_put(back);
	json_object_put(reply);
	for (size_t i = 0; i < 2; i++)
		svc_free(svcs[i]);
	ann_free(a);
	sd_event_unref(ev);
	cfg_free(cfg);
}
