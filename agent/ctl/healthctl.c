/* anycast-healthctl, the operator's tool: options, usage, dispatch to the commands. */
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

/* The command line. */
struct opts {
	const char	*path, *cmd, *sockopt, *grace;
	char		*args[16];
	int		 nargs;
	double		 timeout_s;
	bool		 json, force, verbose;
};

/* Reads argv into o: -1 to go on, else the exit status (help, or a usage error). */
static int
parse_opts(int argc, char *argv[], struct opts *o)
{
	char	*end;

	/* Options are accepted before and after the command. */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "-s") == 0 ||
		    strcmp(argv[i], "--grace") == 0) {
			if (i + 1 == argc) {
				usage(stderr);
				return EXIT_UNKNOWN;
			}
			if (argv[i][1] == 'c')
				o->path = argv[++i];
			else if (argv[i][1] == 's')
				o->sockopt = argv[++i];
			else
				o->grace = argv[++i];
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "-t") == 0 || strcmp(argv[i], "--timeout") == 0) {
			/* The plugin's own timeout (Monitoring Plugins: -t SECONDS). */
			/* Written so that NaN fails too. */
			if (i + 1 == argc || (o->timeout_s = strtod(argv[++i], &end),
			    *end != '\0' || end == argv[i]) ||
			    !(o->timeout_s > 0 && o->timeout_s <= 86400)) {
				printf("ANYCAST-HEALTH UNKNOWN - -t needs a number of seconds "
				    "(0 < t <= 86400)\n");
				return EXIT_UNKNOWN;
			}
		} else if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			o->verbose = true;
		} else if (strcmp(argv[i], "--json") == 0) {
			o->json = true;
		} else if (strcmp(argv[i], "--force") == 0) {
			o->force = true;
		} else if (o->cmd == NULL) {
			o->cmd = argv[i];
		} else if (o->nargs < (int)(sizeof(o->args) / sizeof(o->args[0]))) {
			o->args[o->nargs++] = argv[i];
		} else {
			usage(stderr);
			return EXIT_UNKNOWN;
		}
	}
	return -1;
}

/* The commands that talk to the daemon (and withdraw-all, which checks it is gone). */
static int
run_client(const struct opts *o)
{
	const char	*cmd = o->cmd;
	char		*sock;
	int		 nargs = o->nargs, rc;

	sock = o->sockopt != NULL ? strdup(o->sockopt) : socket_path(o->path);
	if (sock == NULL)
		return EXIT_UNKNOWN;
	rc = -1;
	if (strcmp(cmd, "status") == 0 && nargs <= 1)
		rc = cmd_status(sock, nargs == 1 ? o->args[0] : NULL, o->json,
		    o->verbose || isatty(STDOUT_FILENO), o->timeout_s);
	else if (strcmp(cmd, "drain") == 0 && nargs == 1)
		rc = cmd_drain(sock, true, o->args[0], o->grace);
	else if (strcmp(cmd, "undrain") == 0 && nargs == 1 && o->grace == NULL)
		rc = cmd_drain(sock, false, o->args[0], NULL);
	else if (strcmp(cmd, "reload") == 0 && nargs == 0)
		rc = cmd_reload(sock);
	else if (strcmp(cmd, "metrics") == 0 && nargs == 0)
		rc = cmd_metrics(sock);
	else if (strcmp(cmd, "withdraw-all") == 0 && nargs == 0)
		rc = cmd_withdraw_all(o->path, sock, o->force);
	free(sock);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct opts	 o = { 0 };
	char		 err[256];
	int		 rc;

	probe_types_register();
	if ((rc = parse_opts(argc, argv, &o)) != -1)
		return rc;
	/* Before anything is read or run; withdraw-all alone changes addresses. */
	if (priv_ctl_init(o.cmd != NULL && strcmp(o.cmd, "withdraw-all") == 0, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "anycast-healthctl: cannot drop capabilities: %s\n", err);
		return EXIT_UNKNOWN;
	}
	if (o.cmd != NULL && strcmp(o.cmd, "validate") == 0 && o.nargs == 0)
		return cmd_validate(o.path);
	if (o.cmd != NULL && strcmp(o.cmd, "check") == 0 && o.nargs == 1)
		return cmd_check(o.path, o.args[0], o.timeout_s);
	/* The plugins' usage errors are plugin lines too, and only on stdout (see load_plugin()). */
	if (o.cmd != NULL && strcmp(o.cmd, "check") == 0) {
		plugin_line("UNKNOWN", "usage: anycast-healthctl check {SERVICE,--all} "
		    "[-c PATH] [-t SECONDS]");
		return EXIT_UNKNOWN;
	}
	if (o.cmd != NULL && strcmp(o.cmd, "status") == 0 && o.nargs > 1) {
		plugin_line("UNKNOWN", "usage: anycast-healthctl status [SERVICE] [--json] "
		    "[--verbose] [-s PATH] [-t SECONDS]");
		return EXIT_UNKNOWN;
	}
	if (o.cmd != NULL && strcmp(o.cmd, "frr-config") == 0)
		return cmd_frr_config(o.path, o.args, o.nargs);
	if (o.cmd == NULL) {
		usage(stderr);
		return EXIT_UNKNOWN;
	}
	if ((rc = run_client(&o)) == -1) {
		usage(stderr);
		return EXIT_UNKNOWN;
	}
	return rc;
}
