// Reading a table's records in key order straight from LMDB's pages in a
// read-only transaction, so that a long sequential walk pays neither a
// cursor call per record nor a serial cache miss per record
// (core/store_leaf.c says how, and why it is safe).
//
// Ownership: a walk points into the read transaction's map and is valid
// only as long as that transaction.  Threading: a walk is its caller's
// alone, like a cursor.
#ifndef LLMCOST_CORE_STORE_LEAF_H
#define LLMCOST_CORE_STORE_LEAF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <lmdb.h>

// LMDB 0.9's page and node layout (mdb.c, MDB_DATA_VERSION 1): a page
// header of 16 bytes (page number, pad, flags, lower and upper bounds)
// then 16-bit node offsets; a node is 8 bytes (data size, or in a branch
// page the child's page number, in three 16-bit parts; flags; key size),
// its key, then its data.
#define STORE_LEAF_HDR   16
#define STORE_LEAF_NODE  8
#define STORE_LEAF_DEPTH 16 // deepest tree walked
#define STORE_LEAF_AHEAD 2  // leaf pages fetched ahead of the walk

typedef struct store_leaf {
	const uint8_t *map; // the environment's map
	uint64_t npages;    // pages in the file (bounds every page number)
	uint32_t psize;
	int depth; // levels of branch pages above the leaves
	struct {
		const uint8_t *page;
		uint32_t upper, i, n;
	} br[STORE_LEAF_DEPTH]; // the branch pages on the way down
	const uint8_t *page;    // the current leaf page
	uint32_t upper, i, n;   // its lowest node offset, node, count
	const uint8_t *ahead;   // a leaf page to come, being fetched ...
	uint32_t aoff;          // ... from this offset on
} store_leaf;

// Starts a walk of named table `name` at the record (k, v) a cursor of
// read-only transaction txn has just returned.  Returns 0 when the table's
// pages read as LMDB's format says and the walk's record is exactly the
// cursor's (same bytes in the map); -1 otherwise (walk with the cursor).
// *map is where the map starts, kept by the caller for the transaction
// (the map does not move while one is open): NULL the first time, then
// what the first walk found (STORE_LEAF_NOMAP: it could not be found).
int store_leaf_begin(store_leaf *w, MDB_env *env, MDB_txn *txn,
    const char *name, const MDB_val *k, const MDB_val *v, const uint8_t **map);

#define STORE_LEAF_NOMAP ((const uint8_t *) (uintptr_t) 1)

// Moves to the next leaf page (store_leaf_next's slow path).
int store_leaf_page(store_leaf *w);

// Node i of a page whose lowest node offset is upper: its key and the
// 48 bits of its header before the key size (a leaf's data size, in the
// low 32 with the node flags above; a branch's child page number).
// Returns 0, or -1 when the node or its key does not lie in the page.
static inline int
store_leaf_node(const uint8_t *page, uint32_t psize, uint32_t upper,
    uint32_t i, uint64_t *word, const uint8_t **key, uint16_t *ksize)
{
	uint16_t off, part[3], ks;
	memcpy(&off, page + STORE_LEAF_HDR + 2 * (size_t) i, 2);
	if (off < upper || (uint32_t) off + STORE_LEAF_NODE > psize) {
		return (-1);
	}
	const uint8_t *node = page + off;
	memcpy(part, node, sizeof(part));
	memcpy(&ks, node + 6, 2);
	if ((uint32_t) off + STORE_LEAF_NODE + ks > psize) {
		return (-1);
	}
	*word = (uint64_t) part[0] | (uint64_t) part[1] << 16
	    | (uint64_t) part[2] << 32;
	*key = node + STORE_LEAF_NODE;
	*ksize = ks;
	return (0);
}

// Moves to the next record: 0 with (k, v) set; 1 past the table's last
// record; -1 when a page or node does not read as expected (the caller
// then goes on with a cursor after the last record it was given).
static inline int
store_leaf_next(store_leaf *w, MDB_val *k, MDB_val *v)
{
	uint64_t word;
	const uint8_t *key;
	uint16_t ks;
	int rc;

	if (++w->i >= w->n && (rc = store_leaf_page(w)) != 0) {
		return (rc);
	}
	// A page to come is fetched a few lines per record, so that its
	// misses overlap with the work on this one without stalling it.
	if (w->ahead != NULL) {
		__builtin_prefetch(w->ahead + w->aoff);
		__builtin_prefetch(w->ahead + w->aoff + 64);
		if ((w->aoff += 128) >= w->psize) {
			w->ahead = NULL;
		}
	}
	// A plain record: no node flags, its data within the page.
	if (store_leaf_node(
	        w->page, w->psize, w->upper, w->i, &word, &key, &ks)
	        != 0
	    || word > UINT32_MAX
	    || (size_t) (key - w->page) + ks + word > (size_t) w->psize) {
		return (-1);
	}
	k->mv_size = ks;
	k->mv_data = (void *) (uintptr_t) key;
	v->mv_size = (size_t) word;
	v->mv_data = (void *) (uintptr_t) (key + ks);
	return (0);
}

#endif // LLMCOST_CORE_STORE_LEAF_H
