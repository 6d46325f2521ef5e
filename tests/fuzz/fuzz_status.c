/*
 * libFuzzer target for `anycast-healthctl status`'s reading of the daemon's
 * reply (agent/ctl/status_read.c): a reply of the plain shape is cut into
 * its services and each is parsed alone, anything else is parsed whole. The
 * two readings must print the same, so every input is run through
 * cmd_status() twice: as it is, and behind a leading comment (json-c skips
 * it; the cut does not take a reply holding one: the whole parse).
 *
 * Invariants beyond "no crash": the same stdout and the same exit status
 * both ways, for the text, --verbose and --json, all services or one.
 * The first input byte chooses those; the rest is the reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The time status compares "since" with: fixed, so both runs print alike. */
static int
fake_gettime(struct timespec *ts)
{
	ts->tv_sec = 1767225600;	/* 2026-01-01 */
	ts->tv_nsec = 0;
	return 0;
}

/* The daemon's reply is the fuzzer's input, not a socket's. */
static const char	*reply_text;
static size_t		 reply_len;

#include "../../agent/ctl/client.c"
#include "../../agent/ctl/line.c"
#include "../../agent/ctl/status_read.c"

static char *
fake_request_text(const char *sock, struct json_object *req, size_t *lenp)
{
	char	*t;

	(void)sock;
	json_object_put(req);
	if ((t = malloc(reply_len + 1)) == NULL)
		abort();
	memcpy(t, reply_text, reply_len);
	t[reply_len] = '\0';
	*lenp = reply_len;
	return t;
}

#define ctl_request_text	fake_request_text
#define clock_gettime(c, ts)	fake_gettime(ts)
#include "../../agent/ctl/status.c"
#undef clock_gettime
#undef ctl_request_text

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

/*
 * One run of status: what it printed (freed by the caller), its exit
 * status. Its signal handlers and timer (status_timer_on()) are libFuzzer's
 * again afterwards: SIGALRM is how -timeout works.
 */
static char *
run(const char *text, size_t len, const char *only, bool json, bool verbose, int *rc)
{
	static const int	 sigs[] = { SIGALRM, SIGTERM, SIGINT };
	struct sigaction	 sa[3];
	struct itimerval	 it, stop = { 0 };
	FILE			*saved = stdout, *mem;
	char			*out = NULL;
	size_t			 outlen = 0;

	reply_text = text;
	reply_len = len;
	if ((mem = open_memstream(&out, &outlen)) == NULL)
		abort();
	/* Stopped meanwhile: an alarm would reach status's handler, which exits. */
	setitimer(ITIMER_REAL, &stop, &it);
	for (size_t i = 0; i < 3; i++)
		sigaction(sigs[i], NULL, &sa[i]);
	stdout = mem;
	*rc = cmd_status("fuzz.sock", only, json, verbose, 0);
	fclose(mem);
	stdout = saved;
	for (size_t i = 0; i < 3; i++)
		sigaction(sigs[i], &sa[i], NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	return out;
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static const char	 comment[] = "/**/";
	const char		*only;
	char			*whole, *a, *b;
	bool			 json, verbose;
	int			 ra, rb;

	if (size < 1)
		return 0;
	json = data[0] & 1;
	verbose = data[0] & 2;
	only = data[0] & 4 ? "a" : NULL;
	data++;
	size--;
	if ((whole = malloc(sizeof(comment) - 1 + size + 1)) == NULL)
		abort();
	memcpy(whole, comment, sizeof(comment) - 1);
	memcpy(whole + sizeof(comment) - 1, data, size);
	whole[sizeof(comment) - 1 + size] = '\0';
	a = run(whole + sizeof(comment) - 1, size, only, json, verbose, &ra);
	b = run(whole, sizeof(comment) - 1 + size, only, json, verbose, &rb);
	if (ra != rb || strcmp(a, b) != 0) {
		fprintf(stderr, "status differs (json %d verbose %d only %s): exit %d/%d\n"
		    "--- cut:\n%s\n--- whole:\n%s\n", json, verbose, only ? only : "-",
		    ra, rb, a, b);
		abort();
	}
	free(a);
	free(b);
	free(whole);
	return 0;
}
