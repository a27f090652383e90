// DESIGN: a scan of millions of runs spent about half its time in
// mdb_cursor_get(MDB_NEXT), and most of the rest waiting for memory: the
// leaf pages of a table lie scattered in the file, so each page's first
// lines miss the cache one after another, with nothing fetching ahead.
// This walk reads the table's B-tree itself, as LMDB would: from the
// table's root (its MDB_db record in the main table, as of the read
// transaction) down the branch pages to the leaf holding the first key,
// then leaf after leaf by the branch pages' child lists, fetching the next
// STORE_LEAF_AHEAD leaf pages into the cache while one is read.  It leans
// on LMDB's file format (0.9, MDB_DATA_VERSION 1: the page header, the
// node offsets, the 8-byte node, the 48-byte MDB_db; keys compared as
// bytes, or as native integers in an MDB_INTEGERKEY table), which LMDB keeps
// stable because it is on disk, and it checks rather than trusts: the
// map's start is the kernel's word (/proc/self/maps), never a page's own
// number, which LMDB itself does not read; the walk starts only when the
// record it finds is the one the cursor returned, at the same address,
// on a page carrying its number; every page number is bounded by the
// file's pages, every page must carry the flags of a branch or leaf page
// as expected (a leaf: P_LEAF and nothing else, so no duplicate-sorted or
// fixed-size pages), and every offset read from a page is bounded by the
// page before it is followed, so a page that is not what it seems is
// never read past its end; anything unexpected hands the walk back to the
// cursor.  Pages of a read-only transaction are the map's own and never
// change while it lasts; a write transaction's dirty pages are not in the
// map, so a walk is only ever started in a read-only one.
#include <stdio.h>
#include <unistd.h>

#include "store_leaf.h"

#define P_BRANCH 0x01
#define P_LEAF   0x02

// MDB_db, as stored in the main table under a named table's name.
#define DB_SIZE      48
#define DB_FLAGS_OFF 4
#define DB_DEPTH_OFF 6
#define DB_ROOT_OFF  40

// The page numbered pgno, or NULL when past the file or not of the
// flags wanted; *upper and *n receive its lowest node offset and count.
static const uint8_t *
page_at(const store_leaf *w, uint64_t pgno, uint16_t want, uint32_t *upper,
    uint32_t *n)
{
	uint16_t flags, lower, up;
	if (pgno < 2 || pgno >= w->npages) {
		return (NULL);
	}
	const uint8_t *p = w->map + pgno * w->psize;
	memcpy(&flags, p + 10, 2);
	memcpy(&lower, p + 12, 2);
	memcpy(&up, p + 14, 2);
	if (flags != want || lower < STORE_LEAF_HDR || lower > up
	    || up > w->psize) {
		return (NULL);
	}
	*upper = up;
	*n = (uint32_t) (lower - STORE_LEAF_HDR) / 2;
	return (p);
}

// Node i of page p (with upper as page_at gave): its child page number
// (in a branch page) and key; 0, or -1 when it does not lie in the page.
static int
node_at(const store_leaf *w, const uint8_t *p, uint32_t upper, uint32_t i,
    uint64_t *pgno, const uint8_t **key, uint16_t *ksize)
{
	return (store_leaf_node(p, w->psize, upper, i, pgno, key, ksize));
}

// Starts fetching leaf page pgno into the cache (store_leaf_next goes
// on a few lines per record).
static void
fetch(store_leaf *w, uint64_t pgno)
{
	if (pgno < 2 || pgno >= w->npages) {
		return;
	}
	w->ahead = w->map + pgno * w->psize;
	w->aoff = 0;
}

// At the lowest branch level, the leaf STORE_LEAF_AHEAD after the
// current child is a page the walk reads next: fetches it.  (At a branch
// page's first children, the leaves before it are fetched by no one:
// no branch page seen before could name them.)
static void
fetch_ahead(store_leaf *w)
{
	int d = w->depth - 1;
	uint32_t i = w->br[d].i + STORE_LEAF_AHEAD;
	uint64_t pgno;
	const uint8_t *key;
	uint16_t ks;
	if (i < w->br[d].n
	    && node_at(w, w->br[d].page, w->br[d].upper, i, &pgno, &key, &ks)
	        == 0) {
		fetch(w, pgno);
	}
}

// Descends from branch level d's current child to the leftmost leaf
// under it.  Returns 0 or -1.
static int
descend(store_leaf *w, int d)
{
	for (; d < w->depth; d++) {
		uint64_t pgno;
		const uint8_t *key;
		uint16_t ks;
		if (node_at(w, w->br[d].page, w->br[d].upper, w->br[d].i,
		        &pgno, &key, &ks)
		    != 0) {
			return (-1);
		}
		if (d == w->depth - 1) {
			fetch_ahead(w);
		}
		uint32_t up, n;
		const uint8_t *p = page_at(
		    w, pgno, d == w->depth - 1 ? P_LEAF : P_BRANCH, &up, &n);
		if (p == NULL || n == 0) {
			return (-1);
		}
		if (d == w->depth - 1) {
			w->page = p;
			w->upper = up;
			w->n = n;
			w->i = 0;
		} else {
			w->br[d + 1].page = p;
			w->br[d + 1].upper = up;
			w->br[d + 1].n = n;
			w->br[d + 1].i = 0;
		}
	}
	return (0);
}

int
store_leaf_page(store_leaf *w)
{
	// Up to the lowest branch with a child to the right, then down.
	int d = w->depth - 1;
	while (d >= 0 && w->br[d].i + 1 >= w->br[d].n) {
		d--;
	}
	if (d < 0) {
		return (1);
	}
	w->br[d].i++;
	if (descend(w, d) != 0) {
		return (-1);
	}
	return (0);
}

// Compares key a[0..an) with b[0..bn) as LMDB does: as bytes, or in a
// table of MDB_INTEGERKEY as native unsigned integers of 4 or 8 bytes
// (*bad set for keys of another or of unequal sizes).
static int
key_cmp(int intkey, const uint8_t *a, size_t an, const uint8_t *b, size_t bn,
    int *bad)
{
	if (intkey) {
		uint64_t x = 0, y = 0;
		if (an != bn || (an != 4 && an != 8)) {
			*bad = 1;
			return (0);
		}
		if (an == 4) {
			uint32_t x4, y4;
			memcpy(&x4, a, 4);
			memcpy(&y4, b, 4);
			x = x4;
			y = y4;
		} else {
			memcpy(&x, a, 8);
			memcpy(&y, b, 8);
		}
		return ((x > y) - (x < y));
	}
	int c = memcmp(a, b, an < bn ? an : bn);
	return (c != 0 ? c : (an > bn) - (an < bn));
}

// Where the file whose page holds addr has its first byte mapped: the
// start of the mapping holding addr less the mapping's offset in its
// file, from the kernel's list of this process's mappings; NULL when
// not found (no /proc), or when the mapping does not go on for size
// bytes from the file's start (LMDB maps its whole map size at once).
static const uint8_t *
map_of(const void *addr, uint64_t size, uint32_t psize)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	int bol = 1; // line holds the start of a line
	const uint8_t *base = NULL;

	if (f == NULL) {
		return (NULL);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi;
		unsigned long long off;
		int start = bol;
		bol = strchr(line, '\n') != NULL;
		if (!start
		    || sscanf(line, "%lx-%lx %*s %llx", &lo, &hi, &off) != 3
		    || (uintptr_t) addr < lo || (uintptr_t) addr >= hi) {
			continue;
		}
		if (off <= lo && off % psize == 0 && hi - (lo - off) >= size) {
			base = (const uint8_t *) (uintptr_t) (lo - off);
		}
		break;
	}
	fclose(f);
	return (base);
}

int
store_leaf_begin(store_leaf *w, MDB_env *env, MDB_txn *txn, const char *name,
    const MDB_val *k, const MDB_val *v, const uint8_t **map)
{
	MDB_envinfo info;
	MDB_stat st;
	MDB_dbi main;
	MDB_val nk = { strlen(name), (void *) (uintptr_t) name }, db;
	uint16_t flags, depth;
	uint64_t root;

	memset(w, 0, sizeof(*w));
	if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &st) != 0
	    || mdb_dbi_open(txn, NULL, 0, &main) != 0
	    || mdb_get(txn, main, &nk, &db) != 0 || db.mv_size != DB_SIZE) {
		return (-1);
	}
	// The map's address: the cursor's record lies in a page-aligned
	// page, and where the file's first page is mapped the kernel says.
	// (Not the page's own number in its header: a damaged one would
	// put the map elsewhere, and the walk would read past the file.)
	uint64_t kpgno;
	w->psize = st.ms_psize;
	w->npages = (uint64_t) info.me_last_pgno + 1;
	// The map starts on a system page, so LMDB's pages are aligned to
	// their size only when it is the system's (as when LMDB made the
	// file on this kind of machine).
	if (w->psize < 512 || (long) w->psize != sysconf(_SC_PAGESIZE)
	    || w->npages > info.me_mapsize / w->psize) {
		return (-1);
	}
	const uint8_t *kpage = (const uint8_t *) ((uintptr_t) k->mv_data
	    & ~(uintptr_t) (w->psize - 1));
	if (*map == NULL
	    && (*map = map_of(kpage, info.me_mapsize, w->psize)) == NULL) {
		*map = STORE_LEAF_NOMAP;
	}
	if (*map == STORE_LEAF_NOMAP || (uintptr_t) kpage < (uintptr_t) *map
	    || ((uintptr_t) kpage - (uintptr_t) *map) / w->psize
	        >= w->npages) {
		return (-1);
	}
	w->map = *map;
	memcpy(&kpgno, kpage, sizeof(kpgno));
	if (kpgno != ((uintptr_t) kpage - (uintptr_t) w->map) / w->psize) {
		return (-1);
	}
	memcpy(&flags, (const uint8_t *) db.mv_data + DB_FLAGS_OFF, 2);
	memcpy(&depth, (const uint8_t *) db.mv_data + DB_DEPTH_OFF, 2);
	memcpy(&root, (const uint8_t *) db.mv_data + DB_ROOT_OFF, 8);
	if ((flags != 0 && flags != MDB_INTEGERKEY) || depth < 1
	    || depth > STORE_LEAF_DEPTH) {
		return (-1);
	}
	int intkey = flags == MDB_INTEGERKEY, bad = 0;
	w->depth = depth - 1;
	// Down from the root to k: in a branch page, the last child whose
	// key is <= k (the first child's key is empty and stands for all
	// keys below the second's).
	uint64_t pgno = root;
	for (int d = 0; d < w->depth; d++) {
		uint32_t up, n;
		const uint8_t *p = page_at(w, pgno, P_BRANCH, &up, &n);
		if (p == NULL || n == 0) {
			return (-1);
		}
		uint32_t lo = 1, hi = n, at = 0;
		while (lo < hi) { // the first child whose key is > k
			uint32_t mid = lo + (hi - lo) / 2;
			uint64_t child;
			const uint8_t *key;
			uint16_t ks;
			if (node_at(w, p, up, mid, &child, &key, &ks) != 0) {
				return (-1);
			}
			if (key_cmp(
			        intkey, key, ks, k->mv_data, k->mv_size, &bad)
			    <= 0) {
				lo = mid + 1;
			} else {
				hi = mid;
			}
			if (bad) {
				return (-1);
			}
		}
		at = lo - 1;
		w->br[d].page = p;
		w->br[d].upper = up;
		w->br[d].n = n;
		w->br[d].i = at;
		const uint8_t *key;
		uint16_t ks;
		if (node_at(w, p, up, at, &pgno, &key, &ks) != 0) {
			return (-1);
		}
	}
	uint32_t up, n;
	const uint8_t *p = page_at(w, pgno, P_LEAF, &up, &n);
	if (p == NULL || p != kpage) {
		return (-1);
	}
	w->page = p;
	w->upper = up;
	w->n = n;
	// The cursor's record, found by its address on the page.
	for (uint32_t i = 0; i < n; i++) {
		uint64_t unused;
		const uint8_t *key;
		uint16_t ks;
		if (node_at(w, p, up, i, &unused, &key, &ks) != 0) {
			return (-1);
		}
		if (key != k->mv_data) {
			continue;
		}
		MDB_val ck, cv;
		w->i = i - 1; // store_leaf_next reads node i
		if (store_leaf_next(w, &ck, &cv) != 0
		    || ck.mv_size != k->mv_size || cv.mv_data != v->mv_data
		    || cv.mv_size != v->mv_size) {
			return (-1);
		}
		if (w->depth > 0) {
			fetch_ahead(w);
		}
		return (0);
	}
	return (-1);
}
