/*
 * The open-files limit. The daemon raises its soft limit to the hard one
 * at start (a storm keeps a descriptor or two per probe in flight); its
 * children (exec plugins, vtysh) get the limit back as it was, since
 * programs using select() or closing every descriptor up to the limit
 * must not see ours.
 */
#ifndef AHD_NOFILE_H
#define AHD_NOFILE_H

#include <sys/resource.h>

/*
 * Saves the soft limit, then raises it to the hard one. 0, or -1 (errno);
 * *now is the limit in force afterwards.
 */
int	nofile_raise(struct rlimit *now);
/*
 * The saved soft limit back: in a forked child before exec (async-signal
 * safe), or in the daemon just before posix_spawn(), then nofile_parent().
 * Nothing when nofile_raise() did not raise anything.
 */
void	nofile_child(void);
/* After posix_spawn(): the raised limit again. */
void	nofile_parent(void);

#endif
