// DESIGN: a scan of millions of runs spent about half its time in
// mdb_cursor_get(MDB_NEXT), which per record re-checks the cursor,
// fetches the node and, at a page's end, climbs the tree.  The records of
// a leaf page lie in it sorted, so a walk can read them straight from the
// page and ask the cursor only for the next page (core/store.c: one
// MDB_SET_RANGE past the page's last key).  This leans on LMDB's file
// format (0.9, MDB_DATA_VERSION 1: the page header, the node offsets, the
// 8-byte node header), which LMDB keeps stable because it is on disk, and
// is checked rather than trusted: a page is read this way only when the
// record the cursor returned is found on it, at the address LMDB gave,
// with the flags of a plain leaf page and a plain node; any node that does
// not read as a plain record inside the page ends the page walk and the
// cursor takes over.  A read-only transaction's pages are the map's own
// (LMDB pages are page-aligned in it), so the page is found by rounding
// the record's address down to the page size; every offset read from it is
// bounded by the page before it is followed, so a page that is not what it
// seems is never read past its end.
#include "store_leaf.h"

int
store_leaf_at(
    store_leaf *w, uint32_t psize, const MDB_val *k, const MDB_val *v)
{
	uint16_t flags, lower, upper;

	if (psize < 512 || (psize & (psize - 1)) != 0) {
		return (-1);
	}
	const uint8_t *key = k->mv_data;
	const uint8_t *page
	    = (const uint8_t *) ((uintptr_t) key & ~(uintptr_t) (psize - 1));
	memcpy(&flags, page + 10, 2);
	memcpy(&lower, page + 12, 2);
	memcpy(&upper, page + 14, 2);
	if (flags != STORE_LEAF_FLAGS || lower < STORE_LEAF_HDR
	    || lower > upper || upper > psize) {
		return (-1);
	}
	w->page = page;
	w->psize = psize;
	w->upper = upper;
	w->n = (uint32_t) (lower - STORE_LEAF_HDR) / 2;
	// The cursor's record: usually the page's first (a walk arrives at
	// a page from the one before), so a linear search is short.
	uint32_t off = (uint32_t) (key - page) - STORE_LEAF_NODE;
	for (uint32_t i = 0; i < w->n; i++) {
		uint16_t o;
		memcpy(&o, page + STORE_LEAF_HDR + 2 * (size_t) i, 2);
		if (o != off) {
			continue;
		}
		MDB_val nk, nv;
		w->i = i - 1; // store_leaf_next reads node i
		if (store_leaf_next(w, &nk, &nv) != 0
		    || nk.mv_data != k->mv_data || nk.mv_size != k->mv_size
		    || nv.mv_data != v->mv_data || nv.mv_size != v->mv_size) {
			return (-1);
		}
		return (0);
	}
	return (-1);
}
