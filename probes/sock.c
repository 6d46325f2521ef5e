#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sock.h"

void
sock_peer_name(struct sock_peer *sp)
{
	char	a[INET6_ADDRSTRLEN];

	inet_ntop(sp->family, &sp->addr, a, sizeof(a));
	snprintf(sp->where, sizeof(sp->where), sp->family == AF_INET6 ? "[%s]:%u" : "%s:%u",
	    a, sp->port);
}

int
sock_connect(const struct sock_peer *sp, int type, int *err)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
	int			 fd;

	*err = 0;
	memset(&ss, 0, sizeof(ss));
	if (sp->family == AF_INET) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(sp->port);
		sin->sin_addr = sp->addr.v4;
		sslen = sizeof(*sin);
	} else {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(sp->port);
		sin6->sin6_addr = sp->addr.v6;
		sslen = sizeof(*sin6);
	}
	if ((fd = socket(sp->family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&ss, sslen) == -1 && errno != EINPROGRESS) {
		*err = errno;
		close(fd);
		return -1;
	}
	return fd;
}

int
sock_connect_error(int fd)
{
	int		soerr = 0;
	socklen_t	len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == -1)
		return errno;
	return soerr;
}

/* The TCP state of fd (TCP_ESTABLISHED, ...), or -1. */
static int
tcp_state(int fd)
{
	uint8_t		state;
	socklen_t	len = sizeof(state);

	/* struct tcp_info begins with the state: one byte is all we ask for. */
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &state, &len) == -1 || len < 1)
		return -1;
	return state;
}

int
sock_connect_done(int fd)
{
	int	state, err;

	if ((state = tcp_state(fd)) == -1)
		return -1;
	if (state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT)
		return 0;
	/* Closed without an error to show: let the watch find out as before. */
	if (state == TCP_CLOSE && (err = sock_connect_error(fd)) != 0)
		return err;
	return -1;
}

enum probe_result
sock_connect_result(int err)
{
	return err == ECONNREFUSED ? PROBE_CONN_REFUSED : PROBE_CONN_FAILED;
}

const char *
sock_connect_msg(int err, const char *where, char *buf, size_t len)
{
	if (err == ECONNREFUSED)
		snprintf(buf, len, "connection to %s refused", where);
	else
		snprintf(buf, len, "connect to %s failed: %s", where, strerror(err));
	return buf;
}

int
sock_send(int fd, const void *buf, size_t len, size_t *off)
{
	ssize_t	n;

	while (*off < len) {
		n = send(fd, (const char *)buf + *off, len - *off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n == -1)
			return -1;
		*off += (size_t)n;
	}
	return 0;
}
