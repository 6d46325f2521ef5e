/*
 * The floor a plain-HTTP check is measured against: the smallest loop that
 * does what the http probe does per attempt on a fresh connection, without
 * libcurl and without an event loop.
 *
 *   floor_http ADDR PORT PATH N RATE   N checks at RATE a second (0: back
 *                                      to back), then the CPU per check
 *
 * One check: socket(NONBLOCK), connect, poll for writability, getsockopt
 * SO_ERROR, send "GET PATH HTTP/1.1" (Connection: close), poll and read
 * until the server closes, check "HTTP/1.1 2", close. Paced at RATE it also
 * pays one wake-up (clock_nanosleep) per check. Build:
 *   cc -O2 -o floor_http floor_http.c
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
check(const struct sockaddr_in *sin, const char *req, size_t reqlen)
{
	struct pollfd	pfd;
	char		buf[4096];
	size_t		got = 0;
	ssize_t		n;
	int		fd, err = 0, ok = -1;
	socklen_t	len = sizeof(err);

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1 &&
	    errno != EINPROGRESS)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	if (poll(&pfd, 1, 1000) != 1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0)
		goto out;
	if (send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen)
		goto out;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, 1000) != 1)
			goto out;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n == -1 && errno == EAGAIN)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == sizeof(buf) - 1)
			break;
	}
	buf[got] = '\0';
	if (strncmp(buf, "HTTP/1.1 2", 10) == 0)
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
	char			req[512];
	long			n, rate, fails = 0;
	double			cpu;
	int			reqlen;

	if (argc != 6) {
		fprintf(stderr, "usage: floor_http ADDR PORT PATH N RATE\n");
		return 2;
	}
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		return 2;
	reqlen = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "User-Agent: floor\r\nAccept: */*\r\nConnection: close\r\n\r\n",
	    argv[3], argv[1], argv[2]);
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
		if (check(&sin, req, (size_t)reqlen) != 0)
			fails++;
	}
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
	printf("checks %ld failed %ld cpu_us_per_check %.2f\n", n, fails, cpu / (double)n);
	return fails != 0;
}
