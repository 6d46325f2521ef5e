/*
 * Announcements: the one place that decides what the kernel and FRR must
 * hold for the configured prefixes, and the one place that keeps it (the
 * desired state). It makes the kernel so through nl_; for the `network`
 * statements (method network and both) frr_ asks it (ann_set_frr()) and
 * keeps only what FRR holds and what is in flight. It never touches an
 * address or statement that is not one of the configured prefixes.
 */
#ifndef AHD_ANN_H
#define AHD_ANN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <net/if.h>

#include "pfx.h"
#include "svc.h"

struct nl_addr_op;

struct cfg;
struct frr;
struct nl;
struct state;

/*
 * How a wanted prefix is announced through its network statement; a larger
 * value wins when services sharing a prefix disagree. A service says which
 * it wants (svc_mode()): the values are the same.
 */
enum ann_mode {
	ANN_PLAIN = SVC_MODE_PLAIN,		/* `network P` */
	ANN_DEGRADED = SVC_MODE_DEGRADED,	/* route-map degraded_route_map: prepend, MED */
	ANN_GSHUT = SVC_MODE_GSHUT,		/* route-map ANYCAST-GSHUT: community 65535:0 while draining */
};

/* The route-map frr-templates/anycast-healthd.conf defines for draining. */
#define ANN_GSHUT_ROUTE_MAP	"ANYCAST-GSHUT"

struct ann_prefix {
	struct pfx	 pfx;
	int		 method;	/* enum cfg_method, the same for every service listing it */
	unsigned	 ifindex;	/* 0 for the network method: no address */
	char		*ifname;
	size_t		*svcs;		/* indexes into cfg->services */
	size_t		 nsvcs;
	bool		 present;	/* on the interface, as last seen or made */
	bool		 desired;
	const char	*route_map;	/* desired route-map: NULL, or degraded */
	/*
	 * The statement FRR must hold (network, both), as frr_ is told when
	 * it asks: desired, for both only while the address is present, and
	 * only once ap may go out (recorded). What FRR holds is frr_'s.
	 */
	bool		 stmt;
	const char	*stmt_rm;	/* its route-map: NULL, or as route_map */
	/*
	 * The state file as last written lists it. Nothing is announced
	 * before that (a desired prefix not yet recorded waits for the
	 * record callback's write), so withdraw-all after a crash at any
	 * point finds everything this daemon put on the system.
	 */
	bool		 recorded;
	/*
	 * Listed by the last write while desired and not yet recorded: goes
	 * out with the next part (ann_release()). Only what a write listed,
	 * not what became desired after it.
	 */
	bool		 release;
	uint64_t	 foreign_since;	/* start of the window counting foreign changes */
	unsigned	 foreign_n;	/* foreign changes corrected in that window */
};

/*
 * Something an earlier configuration or run put on the system and the
 * current configuration does not manage there: removed, retried until
 * done, and listed in the state file until then.
 */
struct ann_orphan {
	struct pfx	 pfx;
	char		 ifname[IF_NAMESIZE];
	bool		 addr;		/* the address on ifname is still to be removed */
	bool		 stmt;		/* the network statement: until FRR is read without it */
};

/* Asks for the state file to be written (soon: writes are coalesced). */
typedef void (*ann_record_cb)(void *arg);

struct ann {
	const struct cfg	*cfg;
	struct nl		*nl;
	struct ann_prefix	*prefixes;
	size_t			 nprefixes;
	/* Open addressing on the prefix: index + 1 into prefixes, 0 free. */
	size_t			*index;
	size_t			 index_cap;	/* a power of two, > 2 * nprefixes */
	bool			*svc_wanted;	/* per service, by index */
	enum ann_mode		*svc_mode;	/* per service: how a wanted prefix is announced */
	/*
	 * Per service: unwanted because it fell (an unplanned withdrawal):
	 * method both then removes the address first, FRR's fastest path.
	 */
	bool			*svc_fell;
	struct ann_orphan	*orphans;
	size_t			 norphans;
	struct frr		*frr;		/* NULL without services */
	bool			 final;		/* shutting down: do not wait for FRR */
	unsigned		 errors;	/* failed kernel requests since start */
	bool			 noop;		/* the last address change found it already so */
	ann_record_cb		 record_cb;
	void			*record_arg;
	/*
	 * No prefix before this one waits for ann_release(): each part starts
	 * here, not at 0 (a scan of the whole table per part of 64 was
	 * O(n^2 / 64) at 10,000 prefixes). Set to 0 when ann_recorded() marks.
	 */
	size_t			 release_next;
	/*
	 * Address changes of one pass over many prefixes, sent to the kernel
	 * together when the pass ends (nl_addr_batch): batch_ap[k] is the
	 * prefix of batch[k]. batching counts nested passes.
	 */
	unsigned		 batching;
	struct nl_addr_op	*batch;
	size_t			*batch_ap;
	size_t			 nbatch;
	size_t			 batch_cap;
};

/* Builds the prefix table; fails if an interface does not exist. */
struct ann	*ann_new(const struct cfg *cfg, struct nl *nl, char *err, size_t errlen);
void		 ann_free(struct ann *a);
/*
 * Hands the network statements of methods network and both to f, and the
 * prefixes of method address for verification (frr_track()); on success a
 * becomes f's owner of the desired state (frr_set_desired()), so a must
 * outlive f or be replaced by the next ann_set_frr(). 0 or -1.
 */
int		 ann_set_frr(struct ann *a, struct frr *f);
/* Whether any service uses method network or both. */
bool		 ann_needs_frr(const struct cfg *cfg);
/*
 * After a reload, through frr_release(): statements of prefixes nw no
 * longer has are removed, then forgotten; those nw announces with the
 * address method are forgotten (their `network` line is the operator's)
 * once any route-map of ours (degraded, GSHUT) is off them.
 */
void		 ann_release_frr(const struct ann *old, const struct ann *nw);
/* FRR was read back (or a call failed): finish withdrawals waiting on it. */
void		 ann_frr_update(struct ann *a);
/*
 * Whether ap is announced as far as this node can tell: its address on the
 * interface (address, both) and its statement in FRR as last read (network,
 * both).
 */
bool		 ann_prefix_announced(const struct ann *a, const struct ann_prefix *ap);
/* Reads what the interfaces hold now; 0 or -1 (logged). */
int		 ann_scan(struct ann *a);
/*
 * Whether every prefix of service i was found present by ann_scan() (and,
 * for network and both, in FRR's running configuration as last read).
 */
bool		 ann_service_present(const struct ann *a, size_t svc_index);
/*
 * Records whether service i wants its prefixes announced and how (the
 * network statement's route-map; the address method has no way to say
 * more than yes or no), and applies the result. fell: the service is not
 * wanted because it fell (not drained, reloaded or stopped): method both
 * removes the address first, then the statement; a planned withdrawal
 * removes the statement first, then the address.
 */
void		 ann_set_service(struct ann *a, size_t svc_index, bool wanted,
		    enum ann_mode mode, bool fell);
/*
 * Whether the state file must list ap: on the interface, desired, or its
 * statement in FRR as last read.
 */
bool		 ann_prefix_listed(const struct ann *a, const struct ann_prefix *ap);
/*
 * The state file listing every ann_prefix_listed() prefix and every orphan
 * was written: what waited for it is announced, ANN_RECORDED_MAX at a time,
 * the first part now. true: more wait, for ann_release() (from the event
 * loop, so that it answers in between).
 */
#define ANN_RECORDED_MAX	64
bool		 ann_recorded(struct ann *a);
/*
 * The next ANN_RECORDED_MAX of what the last write listed (and that is
 * still desired); true: more wait. What became desired after that write
 * waits for the next one; so does everything after ann_record_lost().
 */
bool		 ann_release(struct ann *a);
/*
 * The state file on disk may no longer list what it did (removed, replaced,
 * or a write failed): only a prefix still on the system counts as recorded
 * (it is listed again by the next write); any other waits for a write
 * before it goes out again.
 */
void		 ann_record_lost(struct ann *a);
/*
 * Service i is adopted at start: its prefixes found announced count as
 * recorded (the run that put them there listed them first), so an
 * unwritable state file does not hold back what is out already (a
 * statement not yet wanted would be removed from FRR).
 */
void		 ann_adopted(struct ann *a, size_t svc_index);
/* How many desired prefixes are held back, waiting for the state file. */
size_t		 ann_waiting(const struct ann *a);
/*
 * After a reload, nw takes over old's orphans that nw does not manage
 * again, and old's announcements that nw does not manage (see
 * ann_remove_unmanaged()).
 */
void		 ann_take_over(struct ann *nw, const struct ann *old);
/*
 * The kernel says an address was added or removed (nl_watch). For the
 * configured prefix on its own interface only, ap->present follows; a
 * change that contradicts the desired state (someone else's) is corrected
 * at once, and our own changes, which come back here too, change nothing.
 * Returns whether anything was corrected.
 */
bool		 ann_addr_changed(struct ann *a, unsigned ifindex, const struct pfx *p,
		    bool added);
/* Makes the system match the desired state; used at start and periodically. */
void		 ann_reconcile(struct ann *a);
/*
 * Withdraws every configured prefix that is present (on_exit: withdraw).
 * Addresses of method both wait for FRR to drop the statement first, unless
 * a->final is set (the loop has stopped).
 */
void		 ann_withdraw_all(struct ann *a);
/* The entry for p, or NULL if p is not configured. */
const struct ann_prefix *ann_lookup(const struct ann *a, const struct pfx *p);
/*
 * For what this daemon put on the system earlier with method (an older
 * configuration, or the state file of a crashed run): removes the address
 * from ifname unless the current configuration puts it there, and the
 * network statement (through FRR) unless the current configuration lists
 * the prefix at all. Method both loses its statement before its address.
 * What cannot be removed now stays an orphan, retried by ann_reconcile()
 * and ann_frr_update() and listed in the state file until it is gone.
 */
void		 ann_remove_unmanaged(struct ann *a, const struct pfx *p, const char *ifname,
		    int method /* enum cfg_method */);
/*
 * Service i is s, which changed: ann_set_service() with what s wants (and
 * how, and whether it fell).
 */
void		 ann_follow_svc(struct ann *a, size_t svc_index, const struct svc *s);
/*
 * Service i is s in a table not applied yet (a reload's, or adoption at
 * start): records whether it holds its announcement and how; the
 * ann_reconcile() that follows applies it.
 */
void		 ann_seed_svc(struct ann *a, size_t svc_index, const struct svc *s);
/* Whom to tell that the state file must be written (ann_record_cb). */
void		 ann_on_record(struct ann *a, ann_record_cb cb, void *arg);
/*
 * A reload: nw, built from the new configuration with its services seeded,
 * succeeds old: the error count and record callback carry over, FRR
 * releases what nw does not announce (ann_release_frr()), and nw takes over
 * old's orphans and unmanaged announcements (ann_take_over()). old is then
 * only to be freed.
 */
void		 ann_succeed(struct ann *nw, const struct ann *old);
/* Forgets the FRR driver (it could not be started): nothing goes to FRR. */
void		 ann_drop_frr(struct ann *a);
/* The loop has stopped: ann_withdraw_all() without waiting for FRR. */
void		 ann_withdraw_final(struct ann *a);
/*
 * What the state file lists: every ann_prefix_listed() prefix and every
 * orphan (with the method that removes it), added to st. 0, or -1 when out
 * of memory. So withdraw-all after a crash at any point removes it.
 */
int		 ann_snapshot(const struct ann *a, struct state *st);

#endif
