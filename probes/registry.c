/*
 * The registry of probe types: the one list of what "type" may name. Adding
 * a probe type is a file in probes/ and a line here.
 */
#include <stddef.h>
#include <string.h>

#include "cfg.h"
#include "probe.h"
#include "dns.h"
#include "exec.h"
#include "http.h"
#include "listen.h"
#include "process.h"
#include "tcp.h"

static const struct cfg_probe_type *const cfg_types[] = {
	&probe_type_tcp.cfg,
	&probe_type_http.cfg,
	&probe_type_dns.cfg,
	&probe_type_exec.cfg,
	&probe_type_process.cfg,
	&probe_type_listen.cfg,
	NULL,
};

void
probe_types_register(void)
{
	cfg_set_probe_types(cfg_types);
}

const struct probe_type *
probe_type_find(const char *name)
{
	for (size_t i = 0; cfg_types[i] != NULL; i++)
		if (strcmp(cfg_types[i]->name, name) == 0)
			return (const struct probe_type *)(const void *)cfg_types[i];
	return NULL;
}
