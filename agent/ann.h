/*
 * Announcements: the one place that decides what the kernel (and, later,
 * FRR) must hold for the configured prefixes, and makes it so. It never
 * touches an address that is not one of the configured prefixes.
 */
#ifndef AHD_ANN_H
#define AHD_ANN_H

#include <stdbool.h>
#include <stddef.h>

#include "pfx.h"

struct cfg;
struct nl;

struct ann_prefix {
	struct pfx	 pfx;
	unsigned	 ifindex;
	char		*ifname;
	size_t		*svcs;		/* indexes into cfg->services */
	size_t		 nsvcs;
	bool		 present;	/* on the interface, as last seen or made */
	bool		 desired;
};

struct ann {
	const struct cfg	*cfg;
	struct nl		*nl;
	struct ann_prefix	*prefixes;
	size_t			 nprefixes;
	bool			*svc_wanted;	/* per service, by index */
	unsigned		 errors;	/* failed kernel requests since start */
};

/* Builds the prefix table; fails if an interface does not exist. */
struct ann	*ann_new(const struct cfg *cfg, struct nl *nl, char *err, size_t errlen);
void		 ann_free(struct ann *a);
/* Reads what the interfaces hold now; 0 or -1 (logged). */
int		 ann_scan(struct ann *a);
/* Whether every prefix of service i was found present by ann_scan(). */
bool		 ann_service_present(const struct ann *a, size_t svc_index);
/* Records whether service i wants its prefixes announced, and applies the result. */
void		 ann_set_service(struct ann *a, size_t svc_index, bool wanted);
/* Makes the system match the desired state; used at start and periodically. */
void		 ann_reconcile(struct ann *a);
/* Withdraws every configured prefix that is present (on_exit: withdraw). */
void		 ann_withdraw_all(struct ann *a);
/* The entry for p, or NULL if p is not configured. */
const struct ann_prefix *ann_lookup(const struct ann *a, const struct pfx *p);
/*
 * Removes p from ifname if this daemon put it there earlier (an older
 * configuration, or the state file of a crashed run) and the current
 * configuration does not manage it there; otherwise does nothing.
 */
void		 ann_remove_unmanaged(struct ann *a, const struct pfx *p, const char *ifname);

#endif
