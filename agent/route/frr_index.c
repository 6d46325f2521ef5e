/*
 * The FRR driver's prefix index: open addressing with linear probing over
 * 32-bit positions (8-16 bytes a record at half to quarter load; up to 8
 * times that after mass removals, before a rebuild shrinks it), FNV-1a over
 * what pfx_equal() compares. Removal goes through a rebuild: once per
 * compaction of the arrays, but once per record through frr_index_remove()
 * (O(n) as its memmove already is: 10,000 removals ~0.3 s).
 */
#include <stdlib.h>
#include <string.h>

#include "frr_index.h"

static const struct pfx *
index_key(const struct frr_index *x, const void *base, size_t i)
{
	return (const struct pfx *)((const char *)base + i * x->size + x->off);
}

void
frr_index_init(struct frr_index *x, size_t size, size_t off)
{
	memset(x, 0, sizeof(*x));
	x->size = size;
	x->off = off;
}

void
frr_index_free(struct frr_index *x)
{
	free(x->slot);
	x->slot = NULL;
	x->cap = 0;
}

ptrdiff_t
frr_index_find(const struct frr_index *x, const void *base, const struct pfx *p)
{
	size_t		mask = x->cap - 1;
	uint32_t	j;

	if (x->cap == 0)
		return -1;
	for (size_t i = pfx_hash(p) & mask; (j = x->slot[i]) != 0; i = (i + 1) & mask)
		if (pfx_equal(index_key(x, base, j - 1), p))
			return (ptrdiff_t)j - 1;
	return -1;
}

/* Puts base[n] in, unless its prefix is there already (the first position wins). */
static void
index_put(struct frr_index *x, const void *base, size_t n)
{
	const struct pfx	*p = index_key(x, base, n);
	size_t			 mask = x->cap - 1, i;
	uint32_t		 j;

	if (x->keep != NULL && !x->keep((const char *)base + n * x->size))
		return;
	for (i = pfx_hash(p) & mask; (j = x->slot[i]) != 0; i = (i + 1) & mask)
		if (pfx_equal(index_key(x, base, j - 1), p))
			return;
	x->slot[i] = (uint32_t)n + 1;
}

/* A fresh table of cap slots holding base[0..n - 1]. */
static int
index_fill(struct frr_index *x, const void *base, size_t n, size_t cap)
{
	uint32_t	*slot;

	if ((slot = calloc(cap, sizeof(*slot))) == NULL)
		return -1;
	free(x->slot);
	x->slot = slot;
	x->cap = cap;
	for (size_t k = 0; k < n; k++)
		index_put(x, base, k);
	return 0;
}

int
frr_index_add(struct frr_index *x, const void *base, size_t n)
{
	size_t	cap;

	if (n >= UINT32_MAX - 1)
		return -1;
	if (2 * (n + 1) >= x->cap) {
		for (cap = x->cap ? x->cap : 16; 2 * (n + 1) >= cap; cap *= 2)
			;
		if (index_fill(x, base, n, cap) == -1)
			return -1;
	}
	index_put(x, base, n);
	return 0;
}

void
frr_index_rebuild(struct frr_index *x, const void *base, size_t n)
{
	size_t	cap = 16;

	while (2 * (n + 1) >= cap)
		cap *= 2;
	/*
	 * Records were removed, so the table in place is big enough: refilled
	 * where it is (cannot fail), or a smaller one when it is far too big.
	 */
	if (x->cap > 8 * cap && index_fill(x, base, n, cap) == 0)
		return;
	if (x->cap >= cap) {
		memset(x->slot, 0, x->cap * sizeof(*x->slot));
		for (size_t k = 0; k < n; k++)
			index_put(x, base, k);
	} else if (index_fill(x, base, n, cap) == -1)
		frr_index_free(x);	/* never indexed this far: not the callers' use */
}

size_t
frr_index_grow(size_t cap, size_t n)
{
	if (n < cap)
		return cap;
	return cap < 8 ? 8 : cap + cap / 2;
}

void *
frr_index_append(struct frr_index *x, void *base, size_t *n, size_t *cap,
    const struct pfx *p)
{
	size_t	 c = frr_index_grow(*cap, *n), ic;
	char	*b = base;

	if (*n >= UINT32_MAX - 1)
		return NULL;
	/* The index grows first (over the records as they are), then the array: no step half done. */
	if (2 * (*n + 1) >= x->cap) {
		for (ic = x->cap ? x->cap : 16; 2 * (*n + 1) >= ic; ic *= 2)
			;
		if (index_fill(x, base, *n, ic) == -1)
			return NULL;
	}
	if (c != *cap) {
		if ((b = reallocarray(b, c, x->size)) == NULL)
			return NULL;
		*cap = c;
	}
	memset(b + *n * x->size, 0, x->size);
	memcpy(b + *n * x->size + x->off, p, sizeof(*p));
	index_put(x, b, *n);
	(*n)++;
	return b;
}

void
frr_index_remove(struct frr_index *x, void *base, size_t *n, size_t i)
{
	char	*b = base;

	memmove(b + i * x->size, b + (i + 1) * x->size, (*n - i - 1) * x->size);
	(*n)--;
	frr_index_rebuild(x, base, *n);
}
