/*
 * The floor a DNS check (UDP) is measured against: the smallest loop that
 * does what the dns probe does per attempt, without libresolv and without
 * an event loop.
 *
 *   floor_dns ADDR PORT NAME N RATE   N queries for NAME/A at RATE a second
 *                                     (0: back to back), then CPU per check
 *
 * One check: socket(UDP, NONBLOCK), connect, send the query, poll, recv,
 * check ID and RCODE NOERROR, close. Paced at RATE it also pays one
 * wake-up (clock_nanosleep) per check. Build: cc -O2 -o floor_dns floor_dns.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A query for name/A with id, RD clear; returns its length or 0. */
static size_t
query(unsigned char *q, size_t len, const char *name, uint16_t id)
{
	size_t		o = 12, l;
	const char	*dot;

	if (len < 12 + strlen(name) + 6)
		return 0;
	memset(q, 0, 12);
	q[0] = id >> 8;
	q[1] = id & 0xff;
	q[5] = 1;	/* QDCOUNT */
	while (*name != '\0') {
		dot = strchr(name, '.');
		l = dot != NULL ? (size_t)(dot - name) : strlen(name);
		if (l == 0 || l > 63)
			return 0;
		q[o++] = (unsigned char)l;
		memcpy(q + o, name, l);
		o += l;
		name += l + (dot != NULL);
	}
	q[o++] = 0;
	q[o++] = 0;
	q[o++] = 1;	/* A */
	q[o++] = 0;
	q[o++] = 1;	/* IN */
	return o;
}

static int
check(const struct sockaddr_in *sin, const char *name, uint16_t id)
{
	unsigned char	q[512], r[1500];
	struct pollfd	pfd;
	size_t		ql;
	ssize_t		n;
	int		fd, ok = -1;

	if ((ql = query(q, sizeof(q), name, id)) == 0)
		return -1;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    send(fd, q, ql, 0) != (ssize_t)ql)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) != 1 || (n = recv(fd, r, sizeof(r), 0)) < 12)
		goto out;
	if (r[0] == q[0] && r[1] == q[1] && (r[2] & 0x80) && (r[3] & 0x0f) == 0)
		ok = 0;
out:
	close(fd);
	return ok;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	sin;
	struct rusage		ru;
	struct timespec		next;
	long			n, rate, fails = 0;
	double			cpu;

	if (argc != 6) {
		fprintf(stderr, "usage: floor_dns ADDR PORT NAME N RATE\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		return 2;
	n = atol(argv[4]);
	rate = atol(argv[5]);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (long i = 0; i < n; i++) {
		if (rate > 0) {
			next.tv_nsec += 1000000000L / rate;
			if (next.tv_nsec >= 1000000000L) {
				next.tv_sec++;
				next.tv_nsec -= 1000000000L;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		}
		if (check(&sin, argv[3], (uint16_t)(i * 7919 + 1)) != 0)
			fails++;
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	printf("checks %ld failed %ld cpu_us_per_check %.2f\n", n, fails, cpu / (double)n);
	return fails != 0;
}
