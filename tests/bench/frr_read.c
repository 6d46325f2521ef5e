/*
 * tests/bench/frr_read.c: the CPU of one FRR read by the driver itself
 * (agent/route/frr*.c, linked from libahd.a): `show running-config` and
 * its parse, N times, through the vty sockets or (mode vtysh: the socket
 * directory pointed elsewhere, so every read falls back) through vtysh.
 * Prints the process's own CPU and its children's (vtysh) per read, from
 * getrusage. Built and run by tests/bench/frr_read.sh against a real FRR.
 *   frr_read VTYSH PATHSPACE N vty|vtysh
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <systemd/sd-event.h>

#include "cfg.h"
#include "clock.h"
#include "frr.h"
#include "log.h"

static double
cpu_us(int who)
{
	struct rusage	ru;

	getrusage(who, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* One read to its end (synced: read, parsed, nothing to apply); -1 after 5 s. */
static int
one_read(sd_event *ev, struct frr *f)
{
	uint64_t	reads = frr_stats(f)->reads, end = now_us() + 5000000;

	frr_check(f);
	while (frr_stats(f)->reads == reads || !frr_synced(f)) {
		if (now_us() > end || frr_stats(f)->failures > 0)
			return -1;
		sd_event_run(ev, 100000);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cfg	 cfg;
	sd_event	*ev = NULL;
	struct frr	*f;
	sigset_t	 mask;
	double		 s0, c0;
	long		 n;
	int		 rc = 1;

	if (argc != 5 || (n = atol(argv[3])) <= 0 ||
	    (strcmp(argv[4], "vty") != 0 && strcmp(argv[4], "vtysh") != 0)) {
		fprintf(stderr, "usage: frr_read VTYSH PATHSPACE N vty|vtysh\n");
		return 2;
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	memset(&cfg, 0, sizeof(cfg));
	cfg.frr.vtysh = argv[1];
	cfg.frr.pathspace = argv[2];
	cfg.frr.timeout_us = 5000000;
	if (sd_event_new(&ev) < 0 || (f = frr_new(ev, &cfg, NULL, NULL)) == NULL)
		return 1;
	if (strcmp(argv[4], "vtysh") == 0)
		frr_set_vty_dir(f, "/nonexistent");
	if (frr_start(f) < 0 || one_read(ev, f) == -1) {	/* warm-up */
		fprintf(stderr, "frr_read: the first read failed\n");
		goto out;
	}
	s0 = cpu_us(RUSAGE_SELF);
	c0 = cpu_us(RUSAGE_CHILDREN);
	for (long i = 0; i < n; i++)
		if (one_read(ev, f) == -1) {
			fprintf(stderr, "frr_read: read %ld failed\n", i);
			goto out;
		}
	printf("%s: %ld reads, per read %.0f us own CPU + %.0f us children (vtysh) CPU; "
	    "socket reads %llu, fallbacks %llu, vtysh calls %llu\n", argv[4], n,
	    (cpu_us(RUSAGE_SELF) - s0) / (double)n, (cpu_us(RUSAGE_CHILDREN) - c0) / (double)n,
	    (unsigned long long)frr_stats(f)->vty_reads,
	    (unsigned long long)frr_stats(f)->vty_fallbacks,
	    (unsigned long long)frr_stats(f)->calls);
	rc = 0;
out:
	frr_free(f);
	sd_event_unref(ev);
	return rc;
}
