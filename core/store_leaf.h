// Reading the records of an LMDB leaf page in place, so that a long
// sequential walk pays one cursor call per page rather than one per
// record (core/store_leaf.c says how and why it is safe).
//
// Ownership: a walk points into the read transaction's map and is valid
// only as long as that transaction and the page the cursor returned.
// Threading: a walk is its caller's alone, like the cursor it starts from.
#ifndef LLMCOST_CORE_STORE_LEAF_H
#define LLMCOST_CORE_STORE_LEAF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

// LMDB 0.9's page and node layout (mdb.c, MDB_DATA_VERSION 1): a page
// header of 16 bytes (page number, pad, flags, lower and upper bounds)
// and an array of 16-bit node offsets; a node is 8 bytes (data size low
// and high halves, flags, key size), its key, then its data.
#define STORE_LEAF_HDR   16
#define STORE_LEAF_NODE  8
#define STORE_LEAF_FLAGS 0x02 // P_LEAF, and no other flag

typedef struct store_leaf {
	const uint8_t *page;
	uint32_t psize;
	uint32_t upper; // the lowest node offset
	uint32_t i, n;  // the current node, and the page's count
} store_leaf;

// Starts a walk at the record (k, v) a cursor of a read-only transaction
// has just returned: finds the page holding it and its index there.
// Returns 0 when that page reads as an LMDB leaf page of page size psize
// and its node at the index is exactly (k, v); -1 otherwise (the caller
// then walks with the cursor).
int store_leaf_at(
    store_leaf *w, uint32_t psize, const MDB_val *k, const MDB_val *v);

// Moves to the next record of the page: 0 with (k, v) set; 1 past the
// page's last record; -1 when the node does not read as a plain record
// within the page (the caller then goes on with the cursor from the
// last record it was given).
static inline int
store_leaf_next(store_leaf *w, MDB_val *k, MDB_val *v)
{
	uint16_t off, lo, hi, fl, ks;

	if (++w->i >= w->n) {
		return (1);
	}
	memcpy(&off, w->page + STORE_LEAF_HDR + 2 * (size_t) w->i, 2);
	if (off < w->upper || (uint32_t) off + STORE_LEAF_NODE > w->psize) {
		return (-1);
	}
	const uint8_t *node = w->page + off;
	memcpy(&lo, node, 2);
	memcpy(&hi, node + 2, 2);
	memcpy(&fl, node + 4, 2);
	memcpy(&ks, node + 6, 2);
	size_t ds = (size_t) lo | (size_t) hi << 16;
	if (fl != 0
	    || (size_t) off + STORE_LEAF_NODE + ks + ds > (size_t) w->psize) {
		return (-1);
	}
	k->mv_size = ks;
	k->mv_data = (void *) (uintptr_t) (node + STORE_LEAF_NODE);
	v->mv_size = ds;
	v->mv_data = (void *) (uintptr_t) (node + STORE_LEAF_NODE + ks);
	return (0);
}

#endif // LLMCOST_CORE_STORE_LEAF_H
