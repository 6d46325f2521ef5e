/*
 * libFuzzer target for the configuration loader: the input becomes a
 * service file (the part operators and automation write most), loaded
 * beside a fixed main file. Any crash, leak or UB is a bug; errors are fine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfg.h"
#include "probe.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static char	dir[64], main_path[128], svc_path[128];

static void
fuzz_setup(void)
{
	char	 sdir[128];
	FILE	*f;

	snprintf(dir, sizeof(dir), "/tmp/ahd-fuzz-XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	chmod(dir, 0755);
	snprintf(sdir, sizeof(sdir), "%s/services.d", dir);
	snprintf(main_path, sizeof(main_path), "%s/main.json", dir);
	snprintf(svc_path, sizeof(svc_path), "%s/svc.json", sdir);
	if (mkdir(sdir, 0755) == -1 || (f = fopen(main_path, "w")) == NULL)
		abort();
	fputs("{ \"interface\": \"lo\" }", f);
	fclose(f);
}

int
LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct cfg_errors	 errs = { 0 };
	struct cfg		*cfg;
	FILE			*f;

	probe_types_register();

	if (dir[0] == '\0')
		fuzz_setup();
	if ((f = fopen(svc_path, "w")) == NULL)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	chmod(svc_path, 0644);
	cfg = cfg_load(main_path, &errs);
	/* Exactly one of the two: a configuration, or at least one error. */
	if ((cfg == NULL) == (errs.n == 0))
		abort();
	cfg_free(cfg);
	cfg_errors_clear(&errs);
	return 0;
}
