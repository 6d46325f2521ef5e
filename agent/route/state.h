/*
 * The state file: what the daemon has put on the system (so that
 * `anycast-healthctl withdraw-all` can remove exactly that after a crash)
 * and which services the operator drained (so that a drain survives a
 * restart). Written atomically: a temporary file renamed over the old one.
 */
#ifndef AHD_STATE_H
#define AHD_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include "cfg.h"
#include "pfx.h"

struct state_entry {
	struct pfx	 pfx;
	char		 ifname[IF_NAMESIZE];
	enum cfg_method	 method;
};

/*
 * How the daemon reached FRR: written for the operator's information only.
 * The file is writable by the daemon's user, so it is never read back:
 * withdraw-all takes how to reach FRR from the root-owned configuration.
 * Empty strings: not set.
 */
struct state_frr {
	bool		 set;
	char		 vtysh[256];
	char		 pathspace[64];
	char		 vrf[64];
	uint32_t	 asn;
	uint64_t	 timeout_us;
};

struct state {
	struct state_entry	 *announced;
	size_t			  nannounced;
	size_t			  capannounced;
	char			**drained;	/* service names */
	size_t			  ndrained;
	/* The daemon stopped cleanly with on_exit "keep": leftovers are on purpose. */
	bool			  kept;
	struct state_frr	  frr;
	size_t			  nbad;		/* malformed entries skipped by state_read() */
};

/* Appends; 0, or -1 when out of memory. */
int	state_add_announced(struct state *st, const struct pfx *p, const char *ifname,
	    enum cfg_method method);
int	state_add_drained(struct state *st, const char *name);
bool	state_is_drained(const struct state *st, const char *name);
void	state_clear(struct state *st);
/*
 * Whether a and b would give the same state_format() text (the frr block
 * compared as set, though the file's reader skips it): the daemon's test
 * for "nothing changed since the last write", without formatting.
 */
bool	state_equal(const struct state *a, const struct state *b);

/* The file's text (one JSON object); the caller frees it. NULL when out of memory. */
char	*state_format(const struct state *st);
/* Writes text to path through a temporary file and rename(); 0, or -1 with err. */
int	 state_write_file(const char *path, const char *text, char *err, size_t errlen);
/*
 * 0 read, 1 no such file (st empty), -1 unreadable or not a state file
 * (err says why). Malformed entries are skipped: st->nbad > 0 and err
 * names the first. The frr block is not read.
 */
int	 state_read(const char *path, struct state *st, char *err, size_t errlen);

#endif
