/*
 * The control protocol's limits, shared by its two ends: the server in the
 * daemon (agent/daemon/ctl.c) and the client in anycast-healthctl. One JSON
 * object per line each way; see anycast-healthctl(8).
 */
#ifndef AHD_CTLPROTO_H
#define AHD_CTLPROTO_H

#define CTL_MAX_REQUEST		4096		/* bytes in one request line */
#define CTL_ADMIN_GROUP		"anycast-healthd-admin"
#define CTL_MAX_REPLY		(8 * 1024 * 1024)
/* The largest reply the client takes (status of tens of thousands of services). */
#define CTL_MAX_CLIENT_REPLY	(256 * 1024 * 1024)

#endif
