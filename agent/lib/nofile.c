#include <errno.h>
#include <stdbool.h>

#include "nofile.h"

static struct rlimit	saved, raised;
static bool		changed;

int
nofile_raise(struct rlimit *now)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	*now = rl;
	if (rl.rlim_cur >= rl.rlim_max)
		return 0;
	saved = rl;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	raised = *now = rl;
	changed = true;
	return 0;
}

void
nofile_child(void)
{
	int	e = errno;

	/* The hard limit is the same: lowering the soft one needs no privilege. */
	if (changed)
		setrlimit(RLIMIT_NOFILE, &saved);
	errno = e;
}

void
nofile_parent(void)
{
	int	e = errno;

	if (changed)
		setrlimit(RLIMIT_NOFILE, &raised);
	errno = e;
}
