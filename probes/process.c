/*
 * Process probe. Nothing is polled: the kernel wakes the loop.
 *
 * pidfile: the pid the file names is held as a pidfd, which becomes
 *   readable when that process exits. The pidfile's directory is watched
 *   with inotify (one instance shared by every process probe: the default
 *   limit is 128 instances per user), so a restart that rewrites the
 *   pidfile moves the watch to the new process without a withdrawal.
 * unit / cgroup: the cgroup v2 group's cgroup.events file; the kernel
 *   signals EPOLLPRI when "populated" changes, i.e. when the last process
 *   of the unit is gone. A unit's cgroup is where systemd says it is (its
 *   ControlGroup property, asked over the system bus without blocking the
 *   loop), so template instances and units with Slice= are found; without
 *   systemd on a system bus, the path systemd's defaults give is used.
 *
 * Gone is reported at once through probe_done(PROBE_DONE_EVENT) as PROBE_GONE, which svc
 * takes down without fall. The periodic attempts read the same state (no
 * file is read while a live pidfd is held) so that rise works as usual when
 * the service comes back.
 *
 * This file holds the configuration and the type's operations; the pidfile
 * side is process_pid.c, the unit and cgroup side process_cgroup.c.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "compiler.h"
#include "cfg.h"
#include "probe.h"
#include "process.h"
#include "process_int.h"

static const char *const process_keys[] = { "pidfile", "unit", "cgroup", NULL };

static void
process_free_params(void *arg)
{
	struct proc_params	*pp = arg;

	if (pp == NULL)
		return;
	free(pp->pidfile);
	free(pp->dir);
	free(pp->base);
	free(pp->unit);
	free(pp->cgroup);
	free(pp);
}

static bool
is_unit_name(const char *s)
{
	if (s[0] == '\0' || strlen(s) > 255 || s[0] == '.')
		return false;
	for (const char *c = s; *c != '\0'; c++)
		if (!isalnum((unsigned char)*c) && strchr(":_.\\@-", *c) == NULL)
			return false;
	return true;
}

/* Unit types that have a cgroup, and the interface carrying their ControlGroup. */
static const struct {
	const char	*suffix;
	const char	*iface;
} unit_types[] = {
	{ ".service", "org.freedesktop.systemd1.Service" },
	{ ".scope", "org.freedesktop.systemd1.Scope" },
	{ ".slice", "org.freedesktop.systemd1.Slice" },
	{ ".socket", "org.freedesktop.systemd1.Socket" },
	{ ".mount", "org.freedesktop.systemd1.Mount" },
	{ ".swap", "org.freedesktop.systemd1.Swap" },
};

static const char *
unit_iface(const char *unit)
{
	const char	*dot = strrchr(unit, '.');

	for (size_t i = 0; dot != NULL && i < sizeof(unit_types) / sizeof(unit_types[0]); i++)
		if (strcmp(dot, unit_types[i].suffix) == 0)
			return unit_types[i].iface;
	return NULL;
}

/* systemd's unit_name_escape() for a slice name: [A-Za-z0-9:_.] stay, the rest \xNN. */
static int
unit_escape(const char *in, size_t n, char *out, size_t outlen)
{
	size_t	o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (isalnum(c) || c == ':' || c == '_' || c == '.') {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = (char)c;
		} else {
			if (o + 4 >= outlen)
				return -1;
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		}
	}
	out[o] = '\0';
	return 0;
}

int
process_unit_cgroup_guess(const char *unit, char *out, size_t outlen)
{
	const char	*at = strchr(unit, '@'), *dot = strrchr(unit, '.');
	char		 esc[512];
	size_t		 off = 0, n;
	int		 w;

	if (dot == NULL)
		return -1;
	if (strcmp(dot, ".slice") == 0) {
		/* a-b.slice lives in a.slice: one level per dash. */
		if (strcmp(unit, "-.slice") == 0)
			return snprintf(out, outlen, "%s", "") >= 0 ? 0 : -1;
		out[0] = '\0';
		for (const char *d = strchr(unit, '-'); d != NULL && d < dot;
		    d = strchr(d + 1, '-')) {
			n = (size_t)(d - unit);
			w = snprintf(out + off, outlen - off, "%.*s.slice/", (int)n, unit);
			if (w < 0 || (size_t)w >= outlen - off)
				return -1;
			off += (size_t)w;
		}
		w = snprintf(out + off, outlen - off, "%s", unit);
		return w < 0 || (size_t)w >= outlen - off ? -1 : 0;
	}
	/* A template's instances share the slice system-PREFIX.slice. */
	if (at != NULL && at < dot) {
		if (unit_escape(unit, (size_t)(at - unit), esc, sizeof(esc)) == -1)
			return -1;
		w = snprintf(out, outlen, "system.slice/system-%s.slice/%s", esc, unit);
	} else
		w = snprintf(out, outlen, "system.slice/%s", unit);
	return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

static int
process_parse(struct cfg_ctx *ctx, struct json_object *obj, void **params)
{
	struct proc_params	*pp;
	char			*slash;
	int			 n;

	if ((pp = calloc(1, sizeof(*pp))) == NULL) {
		cfg_error(ctx, NULL, "out of memory");
		return -1;
	}
	if (cfg_get_string(ctx, obj, "pidfile", false, &pp->pidfile) == -1 ||
	    cfg_get_string(ctx, obj, "unit", false, &pp->unit) == -1 ||
	    cfg_get_string(ctx, obj, "cgroup", false, &pp->cgroup) == -1)
		goto fail;
	n = (pp->pidfile != NULL) + (pp->unit != NULL) + (pp->cgroup != NULL);
	if (n != 1) {
		cfg_error(ctx, NULL, "needs exactly one of pidfile, unit, cgroup");
		goto fail;
	}
	if (pp->pidfile != NULL) {
		if (pp->pidfile[0] != '/' || strlen(pp->pidfile) >= PATH_MAX ||
		    pp->pidfile[strlen(pp->pidfile) - 1] == '/') {
			cfg_error(ctx, "pidfile", "'%s' is not an absolute file path",
			    pp->pidfile);
			goto fail;
		}
		pp->mode = PROC_PIDFILE;
		slash = strrchr(pp->pidfile, '/');
		pp->dir = slash == pp->pidfile ? strdup("/") :
		    strndup(pp->pidfile, (size_t)(slash - pp->pidfile));
		pp->base = strdup(slash + 1);
		if (pp->dir == NULL || pp->base == NULL) {
			cfg_error(ctx, NULL, "out of memory");
			goto fail;
		}
		snprintf(pp->what, sizeof(pp->what), "pidfile %s", pp->pidfile);
	} else if (pp->unit != NULL) {
		if (!is_unit_name(pp->unit)) {
			cfg_error(ctx, "unit", "'%s' is not a systemd unit name", pp->unit);
			goto fail;
		}
		pp->mode = PROC_CGROUP;
		/* As systemctl does: a bare name means a service. */
		if (strchr(pp->unit, '.') == NULL) {
			char *full;
			if (asprintf(&full, "%s.service", pp->unit) == -1) {
				cfg_error(ctx, NULL, "out of memory");
				goto fail;
			}
			free(pp->unit);
			pp->unit = full;
		}
		if ((pp->iface = unit_iface(pp->unit)) == NULL) {
			cfg_error(ctx, "unit", "'%s' has no cgroup (only .service, .scope, "
			    ".slice, .socket, .mount and .swap units have one)", pp->unit);
			goto fail;
		}
		if ((pp->cgroup = malloc(PATH_MAX)) == NULL) {
			cfg_error(ctx, NULL, "out of memory");
			goto fail;
		}
		if (process_unit_cgroup_guess(pp->unit, pp->cgroup, PATH_MAX - 32) == -1) {
			cfg_error(ctx, "unit", "'%s' is too long", pp->unit);
			goto fail;
		}
		snprintf(pp->what, sizeof(pp->what), "unit %s", pp->unit);
	} else {
		if (pp->cgroup[0] == '\0' || strlen(pp->cgroup) >= PATH_MAX - 32 ||
		    strstr(pp->cgroup, "..") != NULL) {
			cfg_error(ctx, "cgroup", "'%s' is not a cgroup path", pp->cgroup);
			goto fail;
		}
		pp->mode = PROC_CGROUP;
		snprintf(pp->what, sizeof(pp->what), "cgroup %s", pp->cgroup);
	}
	*params = pp;
	return 0;
fail:
	process_free_params(pp);
	return -1;
}

static int
process_open(struct probe *p, char *err, size_t errlen)
{
	const struct proc_params	*pp = p->cfg->params;
	struct proc_held		*h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->p = p;
	h->pidfd = h->evfd = h->wd = -1;
	if (pp->mode == PROC_PIDFILE && proc_hub_join(h, err, errlen) == -1) {
		free(h);
		return -1;
	}
	if (pp->unit != NULL)
		proc_sysd_join(p->ev);
	p->held = h;
	return 0;
}

static void
process_close(struct probe *p)
{
	const struct proc_params	*pp = p->cfg->params;
	struct proc_held		*h = p->held;

	if (h == NULL)
		return;
	if (pp->mode == PROC_PIDFILE)
		proc_hub_leave(h);
	proc_pid_drop(h);
	proc_cgroup_drop(h);
	h->slot = sd_bus_slot_unref(h->slot);
	free(h->objpath);
	if (pp->unit != NULL)
		proc_sysd_leave();
	free(h);
	p->held = NULL;
}

static void
process_start(struct probe *p)
{
	const struct proc_params	*pp = p->cfg->params;

	if (pp->mode == PROC_CGROUP)
		proc_cgroup_start(p->held);
	else
		proc_pid_start(p->held);
}

/* Only a question to systemd is ever in flight; its answer is dropped. */
static void
process_abort(struct probe *p)
{
	struct proc_held	*h = p->held;

	if (h != NULL)
		h->slot = sd_bus_slot_unref(h->slot);
}

const struct probe_type probe_type_process = {
	.cfg = {
		.name = "process",
		.keys = process_keys,
		.parse = process_parse,
		.free_params = process_free_params,
	},
	.start = process_start,
	.abort = process_abort,
	.open = process_open,
	.close = process_close,
};
