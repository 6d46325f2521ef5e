/* anycast-healthctl: the operator's tool. Options, usage and the dispatch to the commands. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "priv.h"
#include "probe.h"
#include "process.h"
#include "ctl_int.h"

void
usage(FILE *f)
{
	fprintf(f, "usage: anycast-healthctl [-c PATH] COMMAND [ARGS]\n"
	    "commands:\n"
	    "  validate              check the configuration: exit 0 valid, 2 invalid\n"
	    "  check SERVICE|--all [-t SECONDS]\n"
	    "                        run the probes once, here, without the daemon;\n"
	    "                        print a Nagios plugin line, exit 0/1/2/3\n"
	    "  status [SERVICE] [--json] [--verbose] [-t SECONDS]\n"
	    "                        the daemon's services, prefixes and probes, as a\n"
	    "                        Nagios plugin (the table with --verbose or on a\n"
	    "                        terminal); exit 0 all up, 1 degraded/drained,\n"
	    "                        2 down, 3 no answer\n"
	    "  drain SERVICE [--grace DURATION]   withdraw a service for maintenance\n"
	    "  undrain SERVICE       end the maintenance\n"
	    "  reload                load the configuration again (invalid: kept as is)\n"
	    "  metrics               Prometheus text metrics\n"
	    "  withdraw-all [--force]  withdraw everything the state file lists\n"
	    "  frr-config [--asn N] [--router-id A] [--neighbor A] [--neighbor-asn N]\n"
	    "             [--bfd MS] [--template FILE]\n"
	    "                        print the FRR configuration the services need\n"
	    "-c PATH  main configuration file (default %s); also accepted after COMMAND\n"
	    "-s PATH  control socket (default: control_socket of the configuration)\n"
	    "-t SECONDS  check, status: give up (UNKNOWN) after this long, killing\n"
	    "            every plugin started\n",
	    CFG_DEFAULT_MAIN);
}

struct cfg *
load(const char *path)
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*cfg;

	if ((cfg = cfg_load(path, &errs)) != NULL)
		return cfg;
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s\n", errs.msgs[i]);
	fprintf(stderr, "configuration invalid (%zu error%s)\n", errs.n,
	    errs.n == 1 ? "" : "s");
	cfg_errors_clear(&errs);
	return NULL;
}

static int
cmd_validate(const char *path)
{
	struct cfg	*cfg;

	if ((cfg = load(path)) == NULL)
		return 2;
	printf("configuration OK: %zu service(s)", cfg->nservices);
	for (size_t i = 0; i < cfg->nservices; i++)
		printf("%s%s", i ? ", " : ": ", cfg->services[i].name);
	printf("\n");
	fflush(stdout);
	/* Valid all the same: a unit may be installed after the configuration. */
	process_check_units(cfg, stderr);
	cfg_free(cfg);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char	*path = NULL, *cmd = NULL, *sockopt = NULL, *grace = NULL;
	char		*args[16];
	char		*sock, *end, err[256];
	double		 timeout_s = 0;
	bool		 json = false, force = false, verbose = false;
	int		 nargs = 0, rc;

	probe_types_register();
	/* Options are accepted before and after the command. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0 ||
		    strcmp(argv[i], "--grace") == 0) {
			if (i + 1 == argc) {
				usage(stderr);
				return EXIT_UNKNOWN;
			}
			if (argv[i][1] == 'c')
				path = argv[++i];
			else if (argv[i][1] == 's')
				sockopt = argv[++i];
			else
				grace = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--timeout") == 0) {
			/* The plugin's own timeout (Monitoring Plugins: -t SECONDS). */
			/* Written so that NaN fails too. */
			if (i + 1 == argc || (timeout_s = strtod(argv[++i], &end),
			    *end != '\0' || end == argv[i]) || !(timeout_s > 0 && timeout_s <= 86400)) {
				printf("ANYCAST-HEALTH UNKNOWN - -t needs a number of seconds "
				    "(0 < t <= 86400)\n");
				return EXIT_UNKNOWN;
			}
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			force = true;
		} else if (cmd == NULL) {
			cmd = argv[i];
		} else if (nargs < (int)(sizeof(args) / sizeof(args[0]))) {
			args[nargs++] = argv[i];
		} else {
			usage(stderr);
			return EXIT_UNKNOWN;
		}
	}
	/* Before anything is read or run; withdraw-all alone changes addresses. */
	if (priv_ctl_init(cmd != NULL && strcmp(cmd, "withdraw-all") == 0, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthctl: cannot drop capabilities: %s\n", err);
		return EXIT_UNKNOWN;
	}
	if (cmd != NULL && strcmp(cmd, "validate") == 0 && nargs == 0)
		return cmd_validate(path);
	if (cmd != NULL && strcmp(cmd, "check") == 0 && nargs == 1)
		return cmd_check(path, args[0], timeout_s);
	/* The plugins' usage errors are plugin lines too, and only on stdout (see load_plugin()). */
	if (cmd != NULL && strcmp(cmd, "check") == 0) {
		plugin_line("UNKNOWN", "usage: anycast-healthctl check {SERVICE,--all} "
		    "[-c PATH] [-t SECONDS]");
		return EXIT_UNKNOWN;
	}
	if (cmd != NULL && strcmp(cmd, "status") == 0 && nargs > 1) {
		plugin_line("UNKNOWN", "usage: anycast-healthctl status [SERVICE] [--json] "
		    "[--verbose] [-s PATH] [-t SECONDS]");
		return EXIT_UNKNOWN;
	}
	if (cmd != NULL && strcmp(cmd, "frr-config") == 0)
		return cmd_frr_config(path, args, nargs);
	if (cmd == NULL) {
		usage(stderr);
		return EXIT_UNKNOWN;
	}
	sock = sockopt != NULL ? strdup(sockopt) : socket_path(path);
	if (sock == NULL)
		return EXIT_UNKNOWN;
	rc = -1;
	if (strcmp(cmd, "status") == 0 && nargs <= 1)
		rc = cmd_status(sock, nargs == 1 ? args[0] : NULL, json,
		    verbose || isatty(STDOUT_FILENO), timeout_s);
	else if (strcmp(cmd, "drain") == 0 && nargs == 1)
		rc = cmd_drain(sock, true, args[0], grace);
	else if (strcmp(cmd, "undrain") == 0 && nargs == 1 && grace == NULL)
		rc = cmd_drain(sock, false, args[0], NULL);
	else if (strcmp(cmd, "reload") == 0 && nargs == 0)
		rc = cmd_reload(sock);
	else if (strcmp(cmd, "metrics") == 0 && nargs == 0)
		rc = cmd_metrics(sock);
	else if (strcmp(cmd, "withdraw-all") == 0 && nargs == 0)
		rc = cmd_withdraw_all(path, sock, force);
	free(sock);
	if (rc == -1) {
		usage(stderr);
		return EXIT_UNKNOWN;
	}
	return rc;
}
