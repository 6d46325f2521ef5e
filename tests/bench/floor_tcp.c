/*
 * The floor a TCP check is measured against: the smallest non-blocking
 * connect loop, and a listener for it (and for the daemon's tcp probes).
 *
 *   floor_tcp serve ADDR PORT        accept and close, forever (blocking)
 *   floor_tcp check ADDR PORT N RATE N checks at RATE a second (0: back to
 *                                    back), then prints the CPU per check
 *
 * One check is what a probe must do at least: socket(NONBLOCK), connect
 * (EINPROGRESS), wait for writability (poll), read the outcome
 * (getsockopt SO_ERROR), close with a reset (SO_LINGER 0, as the tcp probe
 * does: no FIN exchange, no TIME_WAIT socket; a FIN close made the floor
 * up to twice as expensive back to back, and would flatter the probe's ratio).
 * Paced at RATE it also pays one wake-up (clock_nanosleep) per check, as a
 * daemon does. Build:
 *   cc -O2 -o floor_tcp floor_tcp.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int
peer(const char *addr, const char *port, struct sockaddr_in *sin)
{
	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(port));
	return inet_pton(AF_INET, addr, &sin->sin_addr) == 1 ? 0 : -1;
}

static int
serve(struct sockaddr_in *sin)
{
	int	one = 1, fd, c;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    bind(fd, (struct sockaddr *)sin, sizeof(*sin)) == -1 ||
	    listen(fd, 4096) == -1) {
		perror("listener");
		return 1;
	}
	for (;;) {
		if ((c = accept4(fd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE)
				continue;
			perror("accept");
			return 1;
		}
		close(c);
	}
}

static int
check(const struct sockaddr_in *sin)
{
	static const struct linger	rst = { .l_onoff = 1, .l_linger = 0 };
	struct pollfd			pfd;
	int				fd, err = 0;
	socklen_t			len = sizeof(err);

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 1000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0)
		err = -1;
	if (err == 0)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst));
	close(fd);
	return err;
}

int
main(int argc, char **argv)
{
	struct sockaddr_in	sin;
	struct rusage		ru;
	struct timespec		next;
	long			n, rate, fails = 0;
	double			cpu;

	if (argc < 4 || peer(argv[2], argv[3], &sin) == -1) {
		fprintf(stderr, "usage: floor_tcp serve ADDR PORT | check ADDR PORT N RATE\n");
		return 2;
	}
	if (strcmp(argv[1], "serve") == 0)
		return serve(&sin);
	if (strcmp(argv[1], "check") != 0 || argc != 6)
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
		if (check(&sin) != 0)
			fails++;
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	printf("checks %ld failed %ld cpu_us_per_check %.2f\n", n, fails, cpu / (double)n);
	return fails != 0;
}
