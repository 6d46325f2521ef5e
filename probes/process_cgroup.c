/*
 * Process probe, unit and cgroup side: the cgroup v2 group's cgroup.events
 * (EPOLLPRI when "populated" changes), where systemd says a unit's cgroup
 * is (asked over the system bus without blocking the loop; the path
 * systemd's defaults give when it cannot be asked), and the blocking unit
 * check of `validate`. Moved from process.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <systemd/sd-bus.h>

#include "compiler.h"
#include "cfg.h"
#include "log.h"
#include "probe.h"
#include "process.h"
#include "process_int.h"

/* Undoes mountinfo's octal escapes (\040 for a space). */
static void
unescape_path(const char *in, size_t n, char *out, size_t outlen)
{
	size_t	o = 0;

	for (size_t i = 0; i < n && o + 1 < outlen; i++) {
		if (in[i] == '\\' && i + 3 < n && in[i + 1] >= '0' && in[i + 1] <= '3') {
			out[o++] = (char)((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 +
			    (in[i + 3] - '0'));
			i += 3;
		} else
			out[o++] = in[i];
	}
	out[o] = '\0';
}

int
process_cgroup2_mount(const char *mi, char *out, size_t outlen)
{
	const char	*line = mi, *end, *sep, *f, *mp, *mpe;
	int		 field;

	out[0] = '\0';
	for (; *line != '\0'; line = *end ? end + 1 : end) {
		if ((end = strchr(line, '\n')) == NULL)
			end = line + strlen(line);
		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE ..." */
		if ((sep = strstr(line, " - ")) == NULL || sep > end)
			continue;
		if (strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		mp = NULL;
		for (f = line, field = 0; f < sep && field < 4; field++) {
			if ((f = memchr(f, ' ', (size_t)(sep - f))) == NULL)
				break;
			f++;
		}
		if (f == NULL || field != 4)
			continue;
		mp = f;
		if ((mpe = memchr(mp, ' ', (size_t)(sep - mp))) == NULL)
			continue;
		unescape_path(mp, (size_t)(mpe - mp), out, outlen);
		return 0;
	}
	return -1;
}

/* The cgroup v2 mount point, looked up once. */
static const char *
cgroup2_root(void)
{
	static char	root[PATH_MAX];
	static bool	looked;
	char		buf[16384];
	ssize_t		n;
	int		fd;

	if (looked)
		return root[0] ? root : NULL;
	if ((fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	looked = true;
	if (process_cgroup2_mount(buf, root, sizeof(root)) == -1)
		root[0] = '\0';
	return root[0] ? root : NULL;
}

/* The cgroup's cgroup.events, read afresh: 1 populated, 0 empty, -1 error. */
static int
cgroup_populated(int fd)
{
	char	buf[256], *s;
	ssize_t	n;

	/* Reading also acknowledges the kernel's notification (else EPOLLPRI stays). */
	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return -1;
	buf[n] = '\0';
	for (s = buf; s != NULL && *s != '\0'; s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL)
		if (strncmp(s, "populated ", 10) == 0)
			return s[10] == '1' ? 1 : s[10] == '0' ? 0 : -1;
	return -1;
}

void
proc_cgroup_drop(struct proc_held *h)
{
	h->ev_src = sd_event_source_disable_unref(h->ev_src);
	if (h->evfd != -1)
		close(h->evfd);
	h->evfd = -1;
}

/* The cgroup's path; false (msg set) if it cannot be known. */
static bool
cgroup_path(const struct proc_params *pp, char *path, size_t len, char *msg,
    size_t msglen)
{
	const char	*root;

	if (pp->cgroup[0] == '/') {
		snprintf(path, len, "%s/cgroup.events", pp->cgroup);
		return true;
	}
	if ((root = cgroup2_root()) == NULL) {
		snprintf(msg, msglen, "%s: no cgroup v2 hierarchy is mounted", pp->what);
		return false;
	}
	snprintf(path, len, "%s/%s/cgroup.events", root, pp->cgroup);
	return true;
}

static int	cgroup_cb(sd_event_source *s, int fd, uint32_t revents, void *arg);
static int	held_watch_cgroup(struct proc_held *h, int fd);

/*
 * Opens the cgroup afresh (a restarted unit gets a new directory) and
 * reads it; *fd is the caller's on PROBE_OK.
 */
static enum probe_result
cgroup_open_events(const struct proc_params *pp, const char *path, int *fd, char *msg,
    size_t msglen)
{
	int	e, pop;

	*fd = -1;
	if ((*fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		if (e == ENOENT || e == ENOTDIR) {
			snprintf(msg, msglen, "%.300s has no cgroup (%.1000s): not running",
			    pp->what, path);
			return PROBE_GONE;
		}
		snprintf(msg, msglen, "cannot open %.1000s: %s", path, strerror(e));
		return PROBE_INTERNAL;
	}
	pop = cgroup_populated(*fd);
	if (pop == 1) {
		snprintf(msg, msglen, "%s has processes", pp->what);
		return PROBE_OK;
	}
	close(*fd);
	*fd = -1;
	if (pop == 0) {
		snprintf(msg, msglen, "%s has no process left", pp->what);
		return PROBE_GONE;
	}
	snprintf(msg, msglen, "%.1000s is not a cgroup v2 cgroup.events file", path);
	return PROBE_INTERNAL;
}

static enum probe_result
cgroup_resolve(const struct proc_params *pp, int *fd, char *msg, size_t msglen)
{
	char	path[PATH_MAX + 64];

	*fd = -1;
	if (!cgroup_path(pp, path, sizeof(path), msg, msglen))
		return PROBE_INTERNAL;
	return cgroup_open_events(pp, path, fd, msg, msglen);
}

/* One attempt on a path known to hold the cgroup: finishes the attempt. */
static void
cgroup_attempt(struct proc_held *h, enum probe_result r, int fd, const char *msg,
    const char *note)
{
	const struct proc_params	*pp = h->p->cfg->params;

	if (r == PROBE_OK && held_watch_cgroup(h, fd) < 0) {
		probe_done(h->p, PROBE_INTERNAL, 0, NULL, "cannot watch %s", pp->what);
		return;
	}
	probe_done(h->p, r, 0, NULL, "%s%s", msg, note);
}

/* ---- asking systemd where a unit's cgroup is ---- */

/* systemd on the system bus, shared by every unit probe of the loop. */
static struct {
	sd_event	*ev;
	sd_bus		*bus;
	size_t		 users;
	bool		 absent;	/* no systemd to ask: the guessed path is used */
	bool		 warned;
} sysd;

#define SYSD_GUESS_NOTE	" (path guessed: systemd cannot be asked)"

/*
 * systemd cannot be asked for now (no bus connection, systemd1 not on the
 * bus yet): this attempt guesses, the next one asks again.
 */
static void
sysd_transient(const char *why)
{
	log_msg(sysd.warned ? LOG_LVL_DEBUG : LOG_LVL_WARNING, NULL, "process",
	    "unit probes: systemd cannot be asked now (%s); guessing the cgroup path "
	    "until it can", why);
	sysd.warned = true;
}

/* No systemd at all (not booted with it, or no system bus): guessed from now on. */
static void
sysd_absent(const char *why)
{
	sysd.absent = true;
	if (!sysd.warned)
		log_warn("unit probes: systemd cannot be asked (%s); watching the cgroup "
		    "systemd's defaults give each unit (system.slice/UNIT, or "
		    "system.slice/system-PREFIX.slice/PREFIX@INSTANCE.service): a unit "
		    "placed by Slice= is not found", why);
	sysd.warned = true;
}

static void
sysd_connect(void)
{
	int	r;

	/* Never flushing: that could block the loop on a stuck bus. */
	sysd.bus = sd_bus_close_unref(sysd.bus);
	/* sd_booted(); an explicit bus address (a test's) is asked all the same. */
	if (getenv("DBUS_SYSTEM_BUS_ADDRESS") == NULL &&
	    access("/run/systemd/system", F_OK) == -1) {
		sysd_absent("not booted with systemd: no /run/systemd/system");
		return;
	}
	if ((r = sd_bus_open_system(&sysd.bus)) < 0 ||
	    (r = sd_bus_attach_event(sysd.bus, sysd.ev, SD_EVENT_PRIORITY_NORMAL)) < 0) {
		sysd.bus = sd_bus_close_unref(sysd.bus);
		/* The bus socket is gone: no systemd to ask. Anything else may pass. */
		if (r == -ENOENT || r == -ECONNREFUSED)
			sysd_absent(strerror(-r));
		else
			sysd_transient(strerror(-r));
		return;
	}
	if (sysd.absent || sysd.warned)
		log_info("unit probes: connected to the system bus; asking systemd again");
	sysd.absent = false;
	sysd.warned = false;
}

void
proc_sysd_join(sd_event *ev)
{
	if (sysd.users++ > 0)
		return;
	sysd.ev = ev;
	sysd.absent = false;
	sysd_connect();
}

void
proc_sysd_leave(void)
{
	if (sysd.users == 0 || --sysd.users > 0)
		return;
	sysd.bus = sd_bus_close_unref(sysd.bus);
	sysd.ev = NULL;
}

static void
unit_guess(struct proc_held *h)
{
	const struct proc_params	*pp = h->p->cfg->params;
	enum probe_result		 r;
	char				 msg[PATH_MAX + 128];
	int				 fd;

	r = cgroup_resolve(pp, &fd, msg, sizeof(msg));
	cgroup_attempt(h, r, fd, msg, SYSD_GUESS_NOTE);
}

/* Whether m is an error reply; if so the attempt is finished (or falls back). */
static bool
unit_reply_failed(struct proc_held *h, sd_bus_message *m)
{
	const struct proc_params	*pp = h->p->cfg->params;
	const sd_bus_error		*e = sd_bus_message_get_error(m);

	if (e == NULL)
		return false;
	/* Spawn.*: the bus tried to activate systemd1 and could not. */
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_NAME_HAS_NO_OWNER) ||
	    (e->name != NULL && strncmp(e->name, "org.freedesktop.DBus.Error.Spawn.",
	    strlen("org.freedesktop.DBus.Error.Spawn.")) == 0)) {
		/* systemd (re)starting, or the bus restarted: guessed this once. */
		sysd_transient("no org.freedesktop.systemd1 on the system bus");
		unit_guess(h);
		return true;
	}
	probe_done(h->p, PROBE_INTERNAL, 0, NULL, "%s: systemd: %.300s", pp->what,
	    e->message != NULL ? e->message : e->name);
	return true;
}

static int	unit_loaded_cb(sd_bus_message *m, void *arg, sd_bus_error *ret);
static int	unit_cgroup_cb(sd_bus_message *m, void *arg, sd_bus_error *ret);
static int	unit_state_cb(sd_bus_message *m, void *arg, sd_bus_error *ret);

static int
unit_get(struct proc_held *h, const char *iface, const char *prop,
    sd_bus_message_handler_t cb)
{
	return sd_bus_call_method_async(sysd.bus, &h->slot, "org.freedesktop.systemd1",
	    h->objpath, "org.freedesktop.DBus.Properties", "Get", cb, h, "ss", iface, prop);
}

/* LoadUnit, then ControlGroup, then (without a cgroup) LoadState: never blocking. */
static void
unit_ask(struct proc_held *h)
{
	const struct proc_params	*pp = h->p->cfg->params;
	int				 r;

	/* The bus went away (dbus restarted): connect again. */
	if (sysd.bus == NULL || sd_bus_is_open(sysd.bus) <= 0)
		sysd_connect();
	if (sysd.absent || sysd.bus == NULL) {
		unit_guess(h);
		return;
	}
	r = sd_bus_call_method_async(sysd.bus, &h->slot, "org.freedesktop.systemd1",
	    "/org/freedesktop/systemd1", "org.freedesktop.systemd1.Manager", "LoadUnit",
	    unit_loaded_cb, h, "s", pp->unit);
	if (r < 0)
		probe_done(h->p, PROBE_INTERNAL, 0, NULL, "%s: cannot ask systemd: %s",
		    pp->what, strerror(-r));
}

static int
unit_loaded_cb(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	const char			*path;
	char				*dup;
	int				 r;

	(void)ret;
	h->slot = sd_bus_slot_unref(h->slot);
	if (unit_reply_failed(h, m))
		return 0;
	if (sd_bus_message_read(m, "o", &path) < 0 || (dup = strdup(path)) == NULL) {
		probe_done(h->p, PROBE_INTERNAL, 0, NULL, "%s: unreadable reply from systemd",
		    pp->what);
		return 0;
	}
	free(h->objpath);
	h->objpath = dup;
	if ((r = unit_get(h, pp->iface, "ControlGroup", unit_cgroup_cb)) < 0)
		probe_done(h->p, PROBE_INTERNAL, 0, NULL, "%s: cannot ask systemd: %s",
		    pp->what, strerror(-r));
	return 0;
}

static int
unit_cgroup_cb(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	const char			*cg, *root;
	char				 path[PATH_MAX + 64], msg[PATH_MAX + 128];
	enum probe_result		 res;
	int				 r, fd;

	(void)ret;
	h->slot = sd_bus_slot_unref(h->slot);
	if (unit_reply_failed(h, m))
		return 0;
	if (sd_bus_message_read(m, "v", "s", &cg) < 0) {
		probe_done(h->p, PROBE_INTERNAL, 0, NULL,
		    "%s: unreadable ControlGroup from systemd", pp->what);
		return 0;
	}
	if (cg[0] == '\0') {
		/* No cgroup: not running, or no such unit. */
		if ((r = unit_get(h, "org.freedesktop.systemd1.Unit", "LoadState",
		    unit_state_cb)) < 0)
			probe_done(h->p, PROBE_INTERNAL, 0, NULL, "%s: cannot ask systemd: %s",
			    pp->what, strerror(-r));
		return 0;
	}
	/* Data from another process: a path below the hierarchy, nothing else. */
	if (cg[0] != '/' || strlen(cg) >= PATH_MAX - 32 || strstr(cg, "/..") != NULL) {
		probe_done(h->p, PROBE_INTERNAL, 0, NULL,
		    "%s: systemd gave the cgroup '%.300s'", pp->what, cg);
		return 0;
	}
	if ((root = cgroup2_root()) == NULL) {
		probe_done(h->p, PROBE_INTERNAL, 0, NULL,
		    "%s: no cgroup v2 hierarchy is mounted", pp->what);
		return 0;
	}
	snprintf(path, sizeof(path), "%s%s/cgroup.events", root, cg);
	res = cgroup_open_events(pp, path, &fd, msg, sizeof(msg));
	cgroup_attempt(h, res, fd, msg, "");
	return 0;
}

static int
unit_state_cb(sd_bus_message *m, void *arg, sd_bus_error *ret)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	const char			*st;

	(void)ret;
	h->slot = sd_bus_slot_unref(h->slot);
	if (unit_reply_failed(h, m))
		return 0;
	if (sd_bus_message_read(m, "v", "s", &st) < 0)
		probe_done(h->p, PROBE_INTERNAL, 0, NULL,
		    "%s: unreadable LoadState from systemd", pp->what);
	else if (strcmp(st, "not-found") == 0)
		probe_done(h->p, PROBE_GONE, 0, NULL, "%s does not exist (systemd: not-found)",
		    pp->what);
	else if (strcmp(st, "loaded") == 0)
		probe_done(h->p, PROBE_GONE, 0, NULL,
		    "%s is not running (systemd gives it no cgroup)", pp->what);
	else
		probe_done(h->p, PROBE_GONE, 0, NULL, "%s is not running (systemd: %.64s)",
		    pp->what, st);
	return 0;
}

static int
held_watch_cgroup(struct proc_held *h, int fd)
{
	int	r;

	proc_cgroup_drop(h);
	h->evfd = fd;
	/* EPOLLPRI only: a kernfs file is always readable, EPOLLIN would spin. */
	if ((r = sd_event_add_io(h->p->ev, &h->ev_src, fd, EPOLLPRI, cgroup_cb, h)) < 0)
		proc_cgroup_drop(h);
	return r;
}

static int
cgroup_cb(sd_event_source *s UNUSED, int fd, uint32_t revents UNUSED, void *arg)
{
	struct proc_held		*h = arg;
	const struct proc_params	*pp = h->p->cfg->params;
	int				 pop = cgroup_populated(fd);

	if (pop == 1)
		return 0;
	proc_cgroup_drop(h);
	if (pop == 0)
		probe_done(h->p, PROBE_GONE, PROBE_DONE_EVENT, NULL, "%s has no process left",
		    pp->what);
	else
		probe_done(h->p, PROBE_GONE, PROBE_DONE_EVENT, NULL,
		    "%s: its cgroup was removed", pp->what);
	return 0;
}

/* One attempt of a unit or cgroup probe. */
void
proc_cgroup_start(struct proc_held *h)
{
	struct probe			*p = h->p;
	const struct proc_params	*pp = p->cfg->params;
	enum probe_result		 r;
	char				 msg[PATH_MAX + 128];
	int				 fd;

	/* Held and populated: the kernel would have told us otherwise. */
	if (h->evfd != -1 && cgroup_populated(h->evfd) == 1) {
		probe_done(p, PROBE_OK, 0, NULL, "%s has processes", pp->what);
		return;
	}
	proc_cgroup_drop(h);
	/* A unit's cgroup is where systemd says (a loop of its own: the guess). */
	if (pp->unit != NULL && sysd.ev == p->ev) {
		unit_ask(h);
		return;
	}
	r = cgroup_resolve(pp, &fd, msg, sizeof(msg));
	cgroup_attempt(h, r, fd, msg, pp->unit != NULL ? SYSD_GUESS_NOTE : "");
}

/* ---- validate: does each unit exist? Blocking: never on the loop. ---- */

/* systemd's LoadState of unit ("not-found" for none); 0, or -1 with err. */
static int
unit_load_state(sd_bus *bus, const char *unit, char *state, size_t len, char *err,
    size_t errlen)
{
	sd_bus_error	 e = SD_BUS_ERROR_NULL;
	sd_bus_message	*reply = NULL;
	const char	*path;
	char		*ls = NULL;
	int		 r;

	r = sd_bus_call_method(bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
	    "org.freedesktop.systemd1.Manager", "LoadUnit", &e, &reply, "s", unit);
	if (r < 0 && sd_bus_error_has_name(&e, "org.freedesktop.systemd1.NoSuchUnit")) {
		snprintf(state, len, "not-found");
		r = 0;
		goto out;
	}
	if (r < 0 || (r = sd_bus_message_read(reply, "o", &path)) < 0)
		goto out;
	if ((r = sd_bus_get_property_string(bus, "org.freedesktop.systemd1", path,
	    "org.freedesktop.systemd1.Unit", "LoadState", &e, &ls)) < 0)
		goto out;
	snprintf(state, len, "%s", ls);
out:
	if (r < 0)
		snprintf(err, errlen, "%s", e.message != NULL ? e.message : strerror(-r));
	free(ls);
	sd_bus_message_unref(reply);
	sd_bus_error_free(&e);
	return r < 0 ? -1 : 0;
}

size_t
process_check_units(const struct cfg *cfg, FILE *out)
{
	const struct proc_params	*pp;
	sd_bus				*bus = NULL;
	char				 state[64], err[256];
	size_t				 missing = 0;
	int				 r;

	for (size_t i = 0; i < cfg->nservices; i++) {
		const struct cfg_service *s = &cfg->services[i];
		for (size_t j = 0; j < s->nprobes; j++) {
			if (s->probes[j].type != &probe_type_process.cfg ||
			    (pp = s->probes[j].params) == NULL || pp->unit == NULL)
				continue;
			if (bus == NULL) {
				if (getenv("DBUS_SYSTEM_BUS_ADDRESS") == NULL &&
				    access("/run/systemd/system", F_OK) == -1) {
					fprintf(out, "note: units not checked: not booted "
					    "with systemd\n");
					goto out;
				}
				if ((r = sd_bus_open_system(&bus)) < 0) {
					fprintf(out, "note: units not checked: no system "
					    "bus (%s)\n", strerror(-r));
					goto out;
				}
			}
			if (unit_load_state(bus, pp->unit, state, sizeof(state), err,
			    sizeof(err)) == -1)
				fprintf(out, "note: service %s: unit %s not checked: %s\n",
				    s->name, pp->unit, err);
			else if (strcmp(state, "not-found") == 0) {
				fprintf(out, "warning: service %s: unit %s does not exist "
				    "(systemd: not-found); its probe stays down until it "
				    "does\n", s->name, pp->unit);
				missing++;
			}
		}
	}
out:
	sd_bus_close_unref(bus);
	return missing;
}
