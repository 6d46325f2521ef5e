/*
 * A hash index over an array of records that each hold a struct pfx: the
 * FRR driver's statement and address tables and a parsed running
 * configuration. The array stays the caller's (in its own order, grown as
 * it likes); the index maps a prefix to its position. A linear search made
 * adding or reading back N prefixes O(N^2): 10,000 services at start or
 * reload, and every read of the running configuration.
 */
#ifndef AHD_FRR_INDEX_H
#define AHD_FRR_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pfx.h"

struct frr_index {
	uint32_t	*slot;		/* position + 1; 0 empty */
	size_t		 cap;		/* a power of two, or 0 */
	size_t		 size;		/* of one record */
	size_t		 off;		/* of its struct pfx */
	/* NULL, or which records are indexed at all (the others are never found). */
	bool		(*keep)(const void *rec);
};

/* An empty index over records of size bytes whose struct pfx is at off. */
void		 frr_index_init(struct frr_index *x, size_t size, size_t off);
void		 frr_index_free(struct frr_index *x);
/*
 * Indexes base[n] (base: the array of n + 1 records); the index grows and
 * is rebuilt from base[0..n - 1] at half full. 0, or -1 out of memory
 * (the index is then as it was).
 */
int		 frr_index_add(struct frr_index *x, const void *base, size_t n);
/* The position of the first record indexed for p, or -1. */
ptrdiff_t	 frr_index_find(const struct frr_index *x, const void *base, const struct pfx *p);
/*
 * After records were removed or moved: the index of base[0..n - 1], each
 * prefix at its first position. Cannot fail after removals (the table in
 * place is big enough).
 */
void		 frr_index_rebuild(struct frr_index *x, const void *base, size_t n);
/* Amortised growth for the caller's array: the capacity to hold n + 1 records. */
size_t		 frr_index_grow(size_t cap, size_t n);
/*
 * Appends a zeroed record holding p to base (*n records, room for *cap,
 * grown by half when full) and indexes it, at base[*n - 1] after. Returns
 * the array, perhaps moved; NULL out of memory, base and *n unchanged.
 * The caller checks that p is not there yet.
 */
void		*frr_index_append(struct frr_index *x, void *base, size_t *n, size_t *cap,
		    const struct pfx *p);
/* Removes record i of base[0..*n - 1], keeping the others' order: O(n). */
void		 frr_index_remove(struct frr_index *x, void *base, size_t *n, size_t i);

#endif
