/* anycast-healthd: keeps anycast prefixes announced exactly while their services are healthy. */
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "priv.h"
#include "probe.h"
#include "process.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: anycast-healthd [-c PATH] [-n]\n"
	    "  -c PATH  main configuration file (default %s)\n"
	    "  -n       check the configuration and exit: 0 valid, 2 invalid\n"
	    "  -V       print the version\n", CFG_DEFAULT_MAIN);
}

int
main(int argc, char *argv[])
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*cfg;
	const char		*path = NULL;
	char			 err[256];
	int			 ch, check_only = 0;

	probe_types_register();
	while ((ch = getopt(argc, argv, "c:nhV")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'V':
			printf("anycast-healthd %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/*
	 * Large transient buffers (status and metrics of thousands of
	 * services, the state file) come from mmap and go back on free: by
	 * default glibc raises this threshold after the first such free,
	 * and the heap keeps the high-water mark of the largest reply.
	 */
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	/* Before the configuration: exec probes check that "user" can be honoured. */
	if (priv_init(err, sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthd: %s\n", err);
		return 1;
	}
	if ((cfg = cfg_load(path, &errs)) == NULL) {
		for (size_t i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		fprintf(stderr, "anycast-healthd: configuration invalid (%zu error%s); "
		    "nothing was changed\n", errs.n, errs.n == 1 ? "" : "s");
		cfg_errors_clear(&errs);
		return 2;
	}
	if (check_only) {
		printf("configuration OK: %zu service(s)\n", cfg->nservices);
		fflush(stdout);
		process_check_units(cfg, stderr);
		cfg_free(cfg);
		return 0;
	}
	log_setup((enum log_level)cfg->log.level, (enum log_format)cfg->log.format,
	    cfg->log.syslog);
	/* What loading the configuration used and freed goes back to the kernel. */
	malloc_trim(0);
	return daemon_run(cfg);
}
