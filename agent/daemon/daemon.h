/* The running daemon: one event loop that owns services, probes and announcements. */
#ifndef AHD_DAEMON_H
#define AHD_DAEMON_H

struct cfg;

/* Runs until SIGTERM/SIGINT; returns the process exit status. Takes cfg. */
int	daemon_run(struct cfg *cfg);

#endif
