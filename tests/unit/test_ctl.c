/*
 * The control socket against real clients: good, malformed, oversized and
 * slow requests, the connection limit, and peers of other users (forked
 * children that drop to nobody before connecting).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "compiler.h"
#include "clock.h"
#include "ctl.h"
#include "log.h"
#include "probe.h"

struct fixture {
	char		 dir[64];
	char		 path[100];
	sd_event	*ev;
	struct ctl	*ctl;
	unsigned	 pokes;		/* calls of the mutating command */
};

static struct fixture	fx;

static struct json_object *
cmd_echo(struct json_object *req, void *arg UNUSED)
{
	struct json_object	*o = json_object_new_object(), *v;

	if (json_object_object_get_ex(req, "say", &v))
		json_object_object_add(o, "said", json_object_get(v));
	return o;
}

static struct json_object *
cmd_poke(struct json_object *req UNUSED, void *arg)
{
	struct fixture	*f = arg;

	f->pokes++;
	return json_object_new_object();
}

static const struct ctl_command cmds[] = {
	{ "echo", false, cmd_echo },
	{ "poke", true, cmd_poke },
	{ NULL, false, NULL },
};

static void
setup(void)
{
	char	err[256];

	log_setup(LOG_LVL_ERROR, LOG_FMT_TEXT, false);
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/ahd-ctl-XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	/* Other users must be able to reach the socket in the uid tests. */
	chmod(fx.dir, 0755);
	snprintf(fx.path, sizeof(fx.path), "%s/control.sock", fx.dir);
	cr_assert_geq(sd_event_new(&fx.ev), 0);
	fx.ctl = ctl_open(fx.ev, fx.path, cmds, &fx, err, sizeof(err));
	cr_assert_not_null(fx.ctl, "ctl_open: %s", err);
}

static void
teardown(void)
{
	ctl_close(fx.ctl);
	sd_event_unref(fx.ev);
	rmdir(fx.dir);
}

static int
client(void)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx.path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0, "%s",
	    strerror(errno));
	return fd;
}

/*
 * Runs the daemon's loop until fd has a complete line or EOF, and returns
 * what arrived ("" for EOF without data). At most timeout_ms.
 */
static char *
read_reply(int fd, unsigned timeout_ms)
{
	static char	buf[65536];
	size_t		len = 0;
	uint64_t	end = now_us() + (uint64_t)timeout_ms * 1000;
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	ssize_t		n;

	buf[0] = '\0';
	while (now_us() < end) {
		cr_assert_geq(sd_event_run(fx.ev, 5000), 0);
		if (poll(&pfd, 1, 0) != 1)
			continue;
		n = recv(fd, buf + len, sizeof(buf) - 1 - len, MSG_DONTWAIT);
		if (n == 0)
			return buf;
		if (n < 0)
			continue;
		len += (size_t)n;
		buf[len] = '\0';
		if (memchr(buf, '\n', len) != NULL)
			return buf;
	}
	return NULL;
}

/* Whether the daemon closed fd (EOF) within timeout_ms. */
static bool
closed_by_daemon(int fd, unsigned timeout_ms)
{
	char	*r = read_reply(fd, timeout_ms);

	return r != NULL && r[0] == '\0';
}

static void
say(int fd, const char *text)
{
	cr_assert_eq(send(fd, text, strlen(text), MSG_NOSIGNAL), (ssize_t)strlen(text));
}

TestSuite(ctl, .init = setup, .fini = teardown);

Test(ctl, socket_mode_0666)
{
	struct stat	st;

	cr_assert_eq(stat(fx.path, &st), 0);
	cr_expect(S_ISSOCK(st.st_mode));
	cr_expect_eq(st.st_mode & 0777, 0666, "mode %o", st.st_mode & 0777);
}

Test(ctl, good_requests_on_one_connection)
{
	int	fd = client();

	say(fd, "{\"cmd\": \"echo\", \"say\": \"hi\"}\n");
	cr_expect_str_eq(read_reply(fd, 1000), "{\"said\":\"hi\",\"ok\":true}\n");
	say(fd, "{\"cmd\": \"poke\"}\r\n");
	cr_expect_str_eq(read_reply(fd, 1000), "{\"ok\":true}\n");
	cr_expect_eq(fx.pokes, 1);
	close(fd);
}

Test(ctl, malformed_requests_get_errors_and_the_connection_stays)
{
	static const struct { const char *req, *reply; } cases[] = {
		{ "not json\n", "{\"ok\":false,\"error\":\"malformed request: null "
		    "expected\"}\n" },
		{ "{\"cmd\": \"echo\"} trailing\n", "{\"ok\":false,\"error\":\"malformed "
		    "request: text after the JSON object\"}\n" },
		{ "[1, 2]\n", "{\"ok\":false,\"error\":\"malformed request: expected "
		    "{\\\"cmd\\\": \\\"NAME\\\", ...}\"}\n" },
		{ "{\"cmd\": 7}\n", "{\"ok\":false,\"error\":\"malformed request: expected "
		    "{\\\"cmd\\\": \\\"NAME\\\", ...}\"}\n" },
		{ "{\"cmd\": \"shutdown\"}\n", "{\"ok\":false,\"error\":\"unknown command "
		    "'shutdown'\"}\n" },
		{ "{\"cmd\": \"echo\"\n", "{\"ok\":false,\"error\":\"malformed request: "
		    "incomplete JSON\"}\n" },
		{ "\n", "{\"ok\":false,\"error\":\"malformed request: empty line\"}\n" },
	};
	int	fd = client();

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		say(fd, cases[i].req);
		{ const char *got = read_reply(fd, 1000); cr_expect_str_eq(got, cases[i].reply, "case %zu: %s", i, got); }
	}
	say(fd, "{\"cmd\": \"echo\", \"say\": 1}\n");
	cr_expect_str_eq(read_reply(fd, 1000), "{\"said\":1,\"ok\":true}\n");
	cr_expect_eq(fx.pokes, 0);
	close(fd);
}

Test(ctl, oversized_request_is_refused_and_dropped)
{
	char	big[CTL_MAX_REQUEST + 100];
	int	fd = client();

	memset(big, 'x', sizeof(big));
	cr_assert_eq(send(fd, big, sizeof(big), MSG_NOSIGNAL), (ssize_t)sizeof(big));
	cr_expect_str_eq(read_reply(fd, 1000),
	    "{\"ok\":false,\"error\":\"request longer than 4096 bytes\"}\n");
	cr_expect(closed_by_daemon(fd, 1000));
	close(fd);
	/* The daemon still serves others. */
	fd = client();
	say(fd, "{\"cmd\": \"echo\"}\n");
	cr_expect_str_eq(read_reply(fd, 1000), "{\"ok\":true}\n");
	close(fd);
}

Test(ctl, silent_client_is_closed_after_the_idle_timeout)
{
	uint64_t	t0;
	int		fd;

	ctl_set_idle_timeout(fx.ctl, 100000);
	fd = client();
	say(fd, "{\"cmd\": \"ec");		/* a request that never ends */
	t0 = now_us();
	cr_expect(closed_by_daemon(fd, 2000));
	cr_expect_geq(now_us() - t0, 90000);
	cr_expect_lt(now_us() - t0, 1000000);
	close(fd);
}

/* A byte every 40 ms never completes a request: it must not hold a slot forever. */
Test(ctl, trickling_client_is_closed_after_the_idle_timeout)
{
	uint64_t	t0 = now_us();
	bool		closed = false;
	char		*r;
	int		fd;

	ctl_set_idle_timeout(fx.ctl, 150000);
	fd = client();
	while (!closed && now_us() - t0 < 2000000) {
		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1)
			break;
		r = read_reply(fd, 40);
		closed = r != NULL && r[0] == '\0';
	}
	if (!closed)
		closed = closed_by_daemon(fd, 500);
	cr_expect(closed, "still open after 2 s of trickling");
	cr_expect_lt(now_us() - t0, 1000000, "closed only after %llu us",
	    (unsigned long long)(now_us() - t0));
	close(fd);
}

static char	*as_nobody(gid_t gid, const gid_t *groups, size_t ngroups, const char *req);

/* Lets the loop accept what is waiting. */
static void
spin(int rounds)
{
	for (int k = 0; k < rounds; k++)
		sd_event_run(fx.ev, 1000);
}

Test(ctl, connection_limit_per_uid)
{
	int	fds[CTL_MAX_PER_UID], extra;

	for (size_t i = 0; i < CTL_MAX_PER_UID; i++) {
		fds[i] = client();
		spin(5);
	}
	extra = client();
	cr_expect_str_eq(read_reply(extra, 1000),
	    "{\"ok\":false,\"error\":\"too many connections from this user\"}\n");
	close(extra);
	/* The ones already in are served. */
	say(fds[0], "{\"cmd\": \"echo\"}\n");
	cr_expect_str_eq(read_reply(fds[0], 1000), "{\"ok\":true}\n");
	for (size_t i = 0; i < CTL_MAX_PER_UID; i++)
		close(fds[i]);
}

/*
 * A child as uid (no groups) that opens n connections and holds them until
 * it is killed; returns its pid once they are accepted.
 */
static pid_t
hold_as(uid_t uid, int n)
{
	struct pollfd	pfd = { .events = POLLIN };
	int		ready[2];
	pid_t		pid;

	cr_assert_eq(pipe(ready), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(ready[0]);
		if (setgroups(0, NULL) == -1 || setgid(uid) == -1 || setuid(uid) == -1)
			_exit(10);
		/* No cr_assert in a child: Criterion's runner would wait for it forever. */
		for (int i = 0; i < n; i++) {
			struct sockaddr_un sun = { .sun_family = AF_UNIX };
			int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

			snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx.path);
			if (fd == -1 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
				_exit(11);
		}
		(void)!write(ready[1], "r", 1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	pfd.fd = ready[0];
	for (int k = 0; k < 400; k++) {
		sd_event_run(fx.ev, 5000);
		if (poll(&pfd, 1, 0) == 1)
			break;
	}
	close(ready[0]);
	spin(20);
	return pid;
}

Test(ctl, held_connections_lock_out_neither_others_nor_root_nor_admins)
{
	enum { HOLDERS = CTL_MAX_CLIENTS / CTL_MAX_PER_UID };
	pid_t	pids[HOLDERS];
	int	fd;

	/* One uid tries 100 connections: it gets CTL_MAX_PER_UID, the others are refused. */
	pids[0] = hold_as(60100, 100);
	cr_expect_str_eq(as_nobody(getpwnam("nobody")->pw_gid, NULL, 0,
	    "{\"cmd\": \"echo\"}\n"), "{\"ok\":true}\n", "another user is locked out");
	/*
	 * Enough uids to fill every ordinary slot: another user still gets in,
	 * in place of the oldest connection of one that holds the most.
	 */
	for (int i = 1; i < HOLDERS; i++)
		pids[i] = hold_as(60100 + (uid_t)i, CTL_MAX_PER_UID);
	cr_expect_str_eq(as_nobody(getpwnam("nobody")->pw_gid, NULL, 0,
	    "{\"cmd\": \"echo\"}\n"), "{\"ok\":true}\n", "a full pool locks another user out");
	fd = client();
	say(fd, "{\"cmd\": \"poke\"}\n");
	cr_expect_str_eq(read_reply(fd, 1000), "{\"ok\":true}\n", "root is locked out");
	close(fd);
	ctl_set_admin_gid(fx.ctl, 60999);
	{
		gid_t	admin = 60999;

		cr_expect_str_eq(as_nobody(getpwnam("nobody")->pw_gid, &admin, 1,
		    "{\"cmd\": \"poke\"}\n"), "{\"ok\":true}\n", "an admin is locked out");
	}
	for (int i = 0; i < HOLDERS; i++) {
		int	status;

		kill(pids[i], SIGKILL);
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
		cr_expect(WIFSIGNALED(status), "holder %d ended early: status %d", i, status);
	}
}

/* Every holder with its fair share (one each): then the pool is simply full. */
Test(ctl, a_pool_of_fair_shares_is_full)
{
	pid_t	pids[CTL_MAX_CLIENTS];

	for (int i = 0; i < CTL_MAX_CLIENTS; i++)
		pids[i] = hold_as(60200 + (uid_t)i, 1);
	cr_expect_str_eq(as_nobody(getpwnam("nobody")->pw_gid, NULL, 0,
	    "{\"cmd\": \"echo\"}\n"), "{\"ok\":false,\"error\":\"too many connections\"}\n");
	for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
		int	status;

		kill(pids[i], SIGKILL);
		cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
	}
}

Test(ctl, client_gone_before_its_reply)
{
	int	fd = client();

	say(fd, "{\"cmd\": \"echo\"}\n");
	close(fd);
	for (int k = 0; k < 20; k++)
		cr_assert_geq(sd_event_run(fx.ev, 1000), 0);
	fd = client();
	say(fd, "{\"cmd\": \"echo\"}\n");
	cr_expect_str_eq(read_reply(fd, 1000), "{\"ok\":true}\n");
	close(fd);
}

/*
 * A child that becomes uid nobody (with the given groups) connects, sends
 * req, and writes the reply line to a pipe; the parent runs the loop.
 */
static char *
as_nobody(gid_t gid, const gid_t *groups, size_t ngroups, const char *req)
{
	static char	 buf[4096];
	struct passwd	*pw = getpwnam("nobody");
	struct pollfd	 pfd;
	int		 p[2], status, fd;
	ssize_t		 n;
	size_t		 len = 0;
	pid_t		 pid;

	cr_assert_not_null(pw);
	cr_assert_eq(pipe(p), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		close(p[0]);
		if (setgroups(ngroups, groups) == -1 || setgid(gid) == -1 ||
		    setuid(pw->pw_uid) == -1)
			_exit(10);
		fd = client();
		/* A refused connection has its answer waiting and is closed: read it anyway. */
		(void)!send(fd, req, strlen(req), MSG_NOSIGNAL);
		while ((n = recv(fd, buf + len, sizeof(buf) - len, 0)) > 0) {
			len += (size_t)n;
			if (memchr(buf, '\n', len) != NULL)
				break;
		}
		(void)!write(p[1], buf, len);
		_exit(0);
	}
	close(p[1]);
	pfd.fd = p[0];
	pfd.events = POLLIN;
	buf[0] = '\0';
	for (int k = 0; k < 400; k++) {
		sd_event_run(fx.ev, 5000);
		if (poll(&pfd, 1, 0) == 1) {
			while ((n = read(p[0], buf + len, sizeof(buf) - 1 - len)) > 0)
				len += (size_t)n;
			buf[len] = '\0';
			break;
		}
	}
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	return buf;
}

Test(ctl, unprivileged_peer_may_read_but_not_change)
{
	struct passwd	*pw = getpwnam("nobody");
	struct stat	 st;
	gid_t		 groups[1];

	cr_assert_not_null(pw);
	cr_assert_eq(stat(fx.path, &st), 0);
	groups[0] = pw->pw_gid;
	cr_expect_str_eq(as_nobody(pw->pw_gid, groups, 1, "{\"cmd\": \"echo\", \"say\": 2}\n"),
	    "{\"said\":2,\"ok\":true}\n");
	cr_expect_str_eq(as_nobody(pw->pw_gid, groups, 1, "{\"cmd\": \"poke\"}\n"),
	    "{\"ok\":false,\"error\":\"permission denied: 'poke' needs root or membership "
	    "in group anycast-healthd-admin\"}\n");
	/* The socket's group (the daemon's) is no longer enough. */
	groups[0] = st.st_gid;
	cr_expect_str_eq(as_nobody(st.st_gid, groups, 1, "{\"cmd\": \"poke\"}\n"),
	    "{\"ok\":false,\"error\":\"permission denied: 'poke' needs root or membership "
	    "in group anycast-healthd-admin\"}\n");
	cr_expect_eq(fx.pokes, 0);
}

Test(ctl, admin_group_members_may_change)
{
	struct passwd	*pw = getpwnam("nobody");
	gid_t		 admin = 60998, groups[2];

	cr_assert_not_null(pw);
	ctl_set_admin_gid(fx.ctl, admin);
	/* Primary group: SO_PEERCRED. */
	groups[0] = admin;
	cr_expect_str_eq(as_nobody(admin, groups, 1, "{\"cmd\": \"poke\"}\n"),
	    "{\"ok\":true}\n");
	/* Supplementary group only: SO_PEERGROUPS. */
	groups[0] = pw->pw_gid;
	groups[1] = admin;
	cr_expect_str_eq(as_nobody(pw->pw_gid, groups, 2, "{\"cmd\": \"poke\"}\n"),
	    "{\"ok\":true}\n");
	cr_expect_eq(fx.pokes, 2);
}

Test(ctl, live_socket_is_not_stolen_and_stale_one_is_replaced)
{
	struct ctl	*other;
	char		 err[256];

	other = ctl_open(fx.ev, fx.path, cmds, &fx, err, sizeof(err));
	cr_expect_null(other);
	cr_expect(strstr(err, "another daemon is listening there") != NULL, "%s", err);
	/* A crashed daemon's socket file: nobody listens any more. */
	ctl_close(fx.ctl);
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", fx.path);
		cr_assert_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(fd);
	}
	fx.ctl = ctl_open(fx.ev, fx.path, cmds, &fx, err, sizeof(err));
	cr_assert_not_null(fx.ctl, "%s", err);
}

struct collected {
	char	text[1024];
	size_t	n;
};

static bool
collect(struct json_object *reply, void *arg)
{
	struct collected	*c = arg;
	size_t			 off = strlen(c->text);

	snprintf(c->text + off, sizeof(c->text) - off, "%s\n",
	    json_object_to_json_string_ext(reply, JSON_C_TO_STRING_PLAIN));
	c->n++;
	return true;
}

/* Appends bytes as one recv() would, then lets the session answer. */
static int
session_feed(struct ctl_session *s, const char *bytes, struct collected *c)
{
	memcpy(s->in + s->inlen, bytes, strlen(bytes));
	s->inlen += strlen(bytes);
	return ctl_session_input(s, collect, c);
}

Test(ctl, session_frames_lines_across_reads)
{
	static struct ctl_session	s = { .cmds = cmds, .arg = &fx, .uid = 65534 };
	struct collected		c = { "", 0 };

	cr_assert_eq(session_feed(&s, "{\"cmd\":\"echo\",\"say\":1}\r", &c), 0);
	cr_assert_eq(c.n, 0);
	cr_assert_eq(session_feed(&s, "\n{\"cmd\":\"po", &c), 0);
	cr_assert_eq(session_feed(&s, "ke\"}\n\n{\"cmd\"", &c), 0);
	cr_assert_str_eq(c.text, "{\"said\":1}\n"
	    "{\"ok\":false,\"error\":\"permission denied: 'poke' needs root or "
	    "membership in group anycast-healthd-admin\"}\n"
	    "{\"ok\":false,\"error\":\"malformed request: empty line\"}\n");
	cr_assert_eq(fx.pokes, 0);
	cr_assert_eq(s.inlen, strlen("{\"cmd\""));
	cr_assert_eq(memcmp(s.in, "{\"cmd\"", s.inlen), 0);

	/* The rest of a line that no longer fits: refused, then the end. */
	c.text[0] = '\0';
	c.n = 0;
	memset(s.in + s.inlen, 'x', CTL_MAX_REQUEST - s.inlen);
	s.inlen = CTL_MAX_REQUEST;
	cr_assert_eq(ctl_session_input(&s, collect, &c), -1);
	cr_assert_str_eq(c.text, "{\"ok\":false,\"error\":\"request longer than 4096 bytes\"}\n");
}

/* A stopping daemon refuses every mutating command, even from root; reads go on. */
Test(ctl, mutating_commands_refused_while_stopping)
{
	bool				stopping = false;
	static struct ctl_session	s = { .cmds = cmds, .arg = &fx, .privileged = true };
	struct collected		c = { "", 0 };

	s.refuse_mutating = &stopping;
	cr_assert_eq(session_feed(&s, "{\"cmd\":\"poke\"}\n", &c), 0);
	cr_assert_eq(fx.pokes, 1);
	stopping = true;
	c.text[0] = '\0';
	cr_assert_eq(session_feed(&s, "{\"cmd\":\"poke\"}\n{\"cmd\":\"echo\",\"say\":2}\n", &c), 0);
	cr_assert_str_eq(c.text, "{\"ok\":false,\"error\":\"'poke' refused: the daemon is "
	    "stopping\"}\n{\"said\":2}\n");
	cr_assert_eq(fx.pokes, 1);
}
