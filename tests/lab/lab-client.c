/*
 * lab-client: the anycast lab's client. Every INTERVAL ms it sends one DNS
 * query (UDP, A site.lab.) and starts one HTTP GET to the anycast addresses,
 * and logs one line per query when it is answered or given up:
 *
 *	SEND_MS KIND SITE RTT_MS
 *
 * SEND_MS: when it was sent (Unix time, ms, 3 decimals); KIND: D or H;
 * SITE: the site that answered (the last byte of the A record, the HTTP
 * body), 0 if no answer came within TIMEOUT ms; RTT_MS: the time to answer.
 * dig/curl in a loop fork too slowly for 10 ms: this is one process, one
 * poll loop, non-blocking sockets. Stops on SIGINT/SIGTERM.
 *
 * Usage: lab-client -d DNS_ADDR -w HTTP_ADDR [-i MS] [-t MS] [-o LOG]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DNS_SLOTS	4096
#define HTTP_SLOTS	256

struct dns_q {
	double		sent;		/* 0: free */
	uint16_t	id;
};

struct http_q {
	int		fd;		/* -1: free */
	double		sent;
	int		wrote;
	char		buf[512];
	size_t		len;
};

static volatile sig_atomic_t	stop;
static FILE			*out;
static struct dns_q		 dq[DNS_SLOTS];
static struct http_q		 hq[HTTP_SLOTS];

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
record(double sent, char kind, int site, double now)
{
	fprintf(out, "%.3f %c %d %.3f\n", sent, kind, site, site ? now - sent : 0.0);
}

/* A query for site.lab. IN A with id. */
static size_t
dns_query(uint8_t *p, uint16_t id)
{
	static const uint8_t q[] = {
		0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
		4, 's', 'i', 't', 'e', 3, 'l', 'a', 'b', 0, 0, 1, 0, 1
	};

	memcpy(p, q, sizeof(q));
	p[0] = id >> 8;
	p[1] = id & 0xff;
	return sizeof(q);
}

/* The site number: the last byte of the first A record, or 0. */
static int
dns_site(const uint8_t *p, size_t n)
{
	size_t	off = 12;

	if (n < 12 || (p[3] & 0x0f) != 0 || (p[6] == 0 && p[7] == 0))
		return 0;
	/* Skip the question (the name we sent, uncompressed), then look for rdata. */
	while (off < n && p[off] != 0)
		off += p[off] + 1;
	off += 5;
	while (off + 12 <= n) {
		if ((p[off] & 0xc0) == 0xc0)
			off += 2;
		else {
			while (off < n && p[off] != 0)
				off += p[off] + 1;
			off++;
		}
		if (off + 10 > n)
			return 0;
		uint16_t type = (uint16_t)(p[off] << 8 | p[off + 1]);
		uint16_t rdlen = (uint16_t)(p[off + 8] << 8 | p[off + 9]);
		off += 10;
		if (off + rdlen > n)
			return 0;
		if (type == 1 && rdlen == 4)
			return p[off + 3];
		off += rdlen;
	}
	return 0;
}

static void
http_start(const struct sockaddr_in *sa, double now)
{
	int	fd;

	for (int i = 0; i < HTTP_SLOTS; i++) {
		if (hq[i].fd != -1)
			continue;
		if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
			return;
		if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 &&
		    errno != EINPROGRESS) {
			close(fd);
			record(now, 'H', 0, now);
			return;
		}
		hq[i] = (struct http_q){ .fd = fd, .sent = now };
		return;
	}
	/* Every slot busy: the query is lost as a client would lose it. */
	record(now, 'H', 0, now);
}

static void
http_end(struct http_q *h, int site, double now)
{
	record(h->sent, 'H', site, now);
	close(h->fd);
	h->fd = -1;
}

/* The site from "HTTP/1.x 200 ...\r\n\r\nN\n", or 0. */
static int
http_site(const struct http_q *h)
{
	const char	*body;

	if (h->len < 12 || strncmp(h->buf + 9, "200", 3) != 0 ||
	    (body = strstr(h->buf, "\r\n\r\n")) == NULL)
		return 0;
	return atoi(body + 4);
}

static void
http_io(struct http_q *h, short revents, double now)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: lab\r\n\r\n";
	ssize_t	n;

	if (revents & (POLLERR | POLLHUP) && !(revents & POLLIN)) {
		http_end(h, 0, now);
		return;
	}
	if (!h->wrote && (revents & POLLOUT)) {
		if (send(h->fd, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(req) - 1) {
			http_end(h, 0, now);
			return;
		}
		h->wrote = 1;
	}
	if (revents & POLLIN) {
		n = recv(h->fd, h->buf + h->len, sizeof(h->buf) - 1 - h->len, 0);
		if (n > 0) {
			h->len += (size_t)n;
			h->buf[h->len] = '\0';
			if (h->len < sizeof(h->buf) - 1)
				return;
		}
		http_end(h, n >= 0 ? http_site(h) : 0, now);
	}
}

int
main(int argc, char *argv[])
{
	struct sockaddr_in	 dns = { .sin_family = AF_INET, .sin_port = htons(53) };
	struct sockaddr_in	 web = { .sin_family = AF_INET, .sin_port = htons(80) };
	struct pollfd		 pfd[HTTP_SLOTS + 1];
	struct http_q		*owner[HTTP_SLOTS + 1];
	const char		*log = NULL, *dnsaddr = NULL, *webaddr = NULL;
	double			 interval = 10, timeout = 300, next, now, last_flush = 0;
	uint8_t			 pkt[512];
	uint16_t		 id = 0;
	int			 c, ufd, rc = 1;

	while ((c = getopt(argc, argv, "d:w:i:t:o:")) != -1) {
		switch (c) {
		case 'd': dnsaddr = optarg; break;
		case 'w': webaddr = optarg; break;
		case 'i': interval = atof(optarg); break;
		case 't': timeout = atof(optarg); break;
		case 'o': log = optarg; break;
		default: goto usage;
		}
	}
	if (dnsaddr == NULL || webaddr == NULL || interval <= 0 || timeout <= 0 ||
	    inet_pton(AF_INET, dnsaddr, &dns.sin_addr) != 1 ||
	    inet_pton(AF_INET, webaddr, &web.sin_addr) != 1)
		goto usage;
	if ((out = log ? fopen(log, "w") : stdout) == NULL) {
		perror(log);
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if ((ufd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(ufd, (struct sockaddr *)&dns, sizeof(dns)) == -1) {
		perror("dns socket");
		return 1;
	}
	for (int i = 0; i < HTTP_SLOTS; i++)
		hq[i].fd = -1;
	next = now_ms();
	while (!stop) {
		nfds_t n = 0;
		int wait;

		now = now_ms();
		if (now >= next) {
			struct dns_q *q = &dq[id % DNS_SLOTS];
			if (q->sent != 0)
				record(q->sent, 'D', 0, now);
			q->sent = now;
			q->id = id;
			/* An ICMP error (port unreachable) is no answer: the timeout counts it. */
			(void)send(ufd, pkt, dns_query(pkt, id), 0);
			id++;
			http_start(&web, now);
			next += interval;
			if (next < now)
				next = now + interval;
		}
		/* Give up on what is older than timeout. */
		for (int i = 0; i < DNS_SLOTS; i++)
			if (dq[i].sent != 0 && now - dq[i].sent > timeout) {
				record(dq[i].sent, 'D', 0, now);
				dq[i].sent = 0;
			}
		pfd[n] = (struct pollfd){ .fd = ufd, .events = POLLIN };
		owner[n++] = NULL;
		for (int i = 0; i < HTTP_SLOTS; i++) {
			if (hq[i].fd == -1)
				continue;
			if (now - hq[i].sent > timeout) {
				http_end(&hq[i], 0, now);
				continue;
			}
			pfd[n] = (struct pollfd){ .fd = hq[i].fd,
			    .events = hq[i].wrote ? POLLIN : POLLOUT };
			owner[n++] = &hq[i];
		}
		wait = (int)(next - now_ms());
		if (poll(pfd, n, wait < 0 ? 0 : wait) == -1 && errno != EINTR)
			break;
		now = now_ms();
		if (pfd[0].revents & POLLIN) {
			ssize_t r;
			while ((r = recv(ufd, pkt, sizeof(pkt), 0)) != -1 || errno == ECONNREFUSED) {
				if (r < 12)
					continue;
				uint16_t rid = (uint16_t)(pkt[0] << 8 | pkt[1]);
				struct dns_q *q = &dq[rid % DNS_SLOTS];
				if (q->sent == 0 || q->id != rid)
					continue;
				record(q->sent, 'D', dns_site(pkt, (size_t)r), now);
				q->sent = 0;
			}
		}
		for (nfds_t i = 1; i < n; i++)
			if (pfd[i].revents != 0)
				http_io(owner[i], pfd[i].revents, now);
		if (now - last_flush > 100) {
			fflush(out);
			last_flush = now;
		}
	}
	rc = 0;
	fflush(out);
	return rc;
usage:
	fprintf(stderr, "usage: lab-client -d DNS_ADDR -w HTTP_ADDR [-i MS] [-t MS] "
	    "[-o LOG]\n");
	return 2;
}
