/*
 * The socket steps the tcp and dns probes share (not a probe type): the
 * peer they talk to, a non-blocking connect, and sending without blocking.
 */
#ifndef AHD_PROBE_SOCK_H
#define AHD_PROBE_SOCK_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "probe.h"

struct sock_peer {
	int		 family;		/* AF_INET or AF_INET6 */
	union {
		struct in_addr	v4;
		struct in6_addr	v6;
	} addr;
	uint16_t	 port;
	char		 where[INET6_ADDRSTRLEN + 8];	/* "192.0.2.1:53", "[::1]:53" */
};

/* Sets where from the address and port. */
void		 sock_peer_name(struct sock_peer *sp);
/*
 * Opens a non-blocking socket of type (SOCK_STREAM, SOCK_DGRAM) to sp and
 * starts connecting. Returns the fd, or -1: *err is then the connect's own
 * error (the fd is closed), or 0 if no socket could be made (errno says why).
 */
int		 sock_connect(const struct sock_peer *sp, int type, int *err);
/* The outcome of a non-blocking connect on fd: 0, or an errno value. */
int		 sock_connect_error(int fd);
/*
 * Whether a stream connect on fd has already completed, without waiting:
 * 0 connected, an errno value if it failed, -1 if it is still in flight
 * (or the state cannot be read: watch the socket then).
 */
int		 sock_connect_done(int fd);
/* What a connect error means for a probe: refused, or failed otherwise. */
enum probe_result sock_connect_result(int err);
/* "connection to WHERE refused" or "connect to WHERE failed: REASON"; returns buf. */
const char	*sock_connect_msg(int err, const char *where, char *buf, size_t len);
/*
 * Sends buf[*off, len) without blocking, advancing *off. Returns 0 when all
 * is sent, 1 when the socket is full (wait for EPOLLOUT), -1 with errno.
 */
int		 sock_send(int fd, const void *buf, size_t len, size_t *off);

#endif
