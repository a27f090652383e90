// Tests for reading a damaged store: a store written by the real writer
// (ten thousand calls of the synthetic workload, three levels of pages in
// the runs table), then damaged in a copy, seed by seed, and read as a
// report reads it: a query grouped by a metadata key, answered from the
// runs (the in-place walk of the runs' pages, store_leaf.c, and the
// cursor it falls back to), from a window start on the damaged page, then
// queries by tag, tag set, trace and a dimension.
//
// Most damage is of the bytes LMDB itself never reads when it reads a
// store (a page's own number in its header, its unused pad, the free
// gap between its node offsets and its nodes), so that the first answer
// must be exactly the undamaged one: what LMDB does with a damaged page
// it reads (a zeroed page, a wrong node offset) is LMDB's own and may end
// the process, with or without the walk.  The file cut short at any
// length is refused at open when a page the store uses is gone, else read
// as before.  Damaged values (bytes inside records, which LMDB hands over
// as they are: runs, metadata sets, strings) may change the answers or
// make them errors, but must never end the process.  And a metadata set
// longer than a call may carry is refused as a damaged store.
//
// Each seed is read in a child process, so that a crash names its seed
// and the others still run; a child must end with the expected answer,
// never a signal, within the test's time limit.  The seeds are fixed:
// the same damage on every run.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "query.h"
#include "raw_lmdb.h"
#include "synth.h"

#define CALLS         10000
#define RUNS_PER_HOUR 1000
#define PAGE          4096
#define SEEDS         240
#define CHILD_LIMIT   60 // seconds a child may take (alarm)

// A child's exit codes.
#define READ_SAME    0 // the undamaged answer
#define READ_REFUSED 1 // store_open refused the file
#define READ_OTHER   2 // an error or another answer

enum { D_PGNO, D_PAD, D_GAP, D_TRUNCATE, D_VALUES, D_KINDS };
static const char *kinds[] = { "pgno", "pad", "gap", "truncate", "values" };

static int
setup(void **state)
{
	return (fixture_setup(state, "damage"));
}

// xorshift64*: the damage of a seed.
static uint64_t
rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return (*x * 0x2545f4914f6cdd1dULL);
}

static void
read_file(const char *path, uint8_t **b, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	*len = (size_t) st.st_size;
	assert_non_null(*b = malloc(*len));
	assert_int_equal(read(fd, *b, *len), (ssize_t) *len);
	close(fd);
}

// Writes b[0..len) as dir/data.mdb (dir made if need be, no lock file).
static void
write_store(const char *dir, const uint8_t *b, size_t len)
{
	char path[600];
	(void) mkdir(dir, 0700);
	snprintf(path, sizeof(path), "%s/lock.mdb", dir);
	(void) unlink(path);
	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, b, len), (ssize_t) len);
	close(fd);
}

// The Unix ms of the first run on leaf page p, or 0 when p is not a
// leaf page of 16-byte keys.
static uint64_t
first_ms(const uint8_t *p)
{
	uint16_t flags, lower, off, ks;
	uint64_t ms = 0;
	memcpy(&flags, p + 10, 2);
	memcpy(&lower, p + 12, 2);
	memcpy(&off, p + 16, 2);
	if (flags != 0x02 || lower <= 16 || off + 8u + 16 > PAGE) {
		return (0);
	}
	memcpy(&ks, p + off + 6, 2);
	for (int i = 0; ks == 16 && i < 6; i++) {
		ms = ms << 8 | p[off + 8 + i];
	}
	return (ms);
}

// Damages b (len bytes, pages used [0, used)) for seed: returns the
// length to write; *from_ms is where the reads start (a run on the
// damaged page when there is one).
static size_t
damage(uint8_t *b, size_t len, size_t used, uint64_t seed, uint64_t *from_ms)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
	size_t pg = 2 + rnd(&x) % (used - 2);
	uint8_t *p = b + pg * PAGE;
	uint16_t lower, upper;

	// Mostly the runs' leaf pages, where the walk reads (values: any
	// table's leaf pages, the metadata sets' among them).
	for (int i = 0; i < 64 && first_ms(p) < T0 / 1000000u && seed % 8 != 0
	     && seed % D_KINDS != D_VALUES;
	     i++) {
		pg = 2 + rnd(&x) % (used - 2);
		p = b + pg * PAGE;
	}
	*from_ms = first_ms(p);
	if (*from_ms < T0 / 1000000u
	    || *from_ms >= T0 / 1000000u + 24 * 3600000u) {
		*from_ms = 0; // not a run's key: from the first run
	}
	switch (seed % D_KINDS) {
	case D_PGNO: { // any number: near it, past the file, far off
		uint64_t pgno = rnd(&x);
		pgno = seed % 3 == 0 ? pgno % (used + 8)
		    : seed % 3 == 1  ? pg + 1 + pgno % 4
		                     : pgno;
		memcpy(p, &pgno, sizeof(pgno));
		return (len);
	}
	case D_PAD:
		p[8] ^= (uint8_t) (1 + rnd(&x) % 255);
		p[9] ^= (uint8_t) rnd(&x);
		return (len);
	case D_GAP:
		memcpy(&lower, p + 12, 2);
		memcpy(&upper, p + 14, 2);
		for (uint32_t i = lower; i < upper && i < PAGE; i++) {
			p[i] = (uint8_t) rnd(&x);
		}
		return (len);
	case D_TRUNCATE:
		return (PAGE + rnd(&x) % (len - PAGE));
	default: // the bytes of a leaf page's values (keys' sizes kept)
		for (int i = 0; i < 64 && p[10] != 0x02; i++) {
			pg = 2 + rnd(&x) % (used - 2);
			p = b + pg * PAGE;
		}
		memcpy(&lower, p + 12, 2);
		for (int i = 1 + (int) (rnd(&x) % 8); i > 0 && lower > 16;
		     i--) {
			uint16_t off, ks;
			uint32_t ds = 0;
			memcpy(&off,
			    p + 16 + 2 * (rnd(&x) % ((lower - 16u) / 2)), 2);
			if (p[10] != 0x02 || off + 8u > PAGE) {
				break;
			}
			memcpy(&ds, p + off, 4); // lo and hi: the data's size
			memcpy(&ks, p + off + 6, 2);
			if (ds == 0 || off + 8u + ks + ds > PAGE) {
				continue;
			}
			p[off + 8 + ks + rnd(&x) % ds]
			    ^= (uint8_t) (1 + rnd(&x) % 255);
		}
		return (len);
	}
}

// What a report reads: the calls and cost of the window from from_ms,
// grouped by a metadata key, from the runs.
typedef struct answer {
	uint64_t calls, rows;
	store_i128 cost;
} answer;

static int
read_answer(const char *dir, uint64_t from_ms, int all, answer *a)
{
	store *s = NULL;
	char err[1024];
	query_spec q;
	query_result *r = NULL;

	if (store_open(&s, dir, STORE_RDONLY, 0, err, sizeof(err)) != 0) {
		return (READ_REFUSED);
	}
	query_spec_init(&q);
	assert_int_equal(query_key_parse("meta.customer", &q.by[0]), 0);
	q.n_by = 1;
	q.from_ns = from_ms != 0 ? from_ms * 1000000u : T0;
	q.to_ns = T0 + 24 * NS_PER_HOUR;
	q.flags = QUERY_RUNS_ONLY;
	int rv = query_run(s, &q, &r, err, sizeof(err));
	if (rv == 0) {
		a->calls = r->total.calls;
		a->cost = r->total.cost_pusd;
		a->rows = r->n_rows;
		query_result_free(r);
	}
	// all: the other kinds of key too (by tag, tag set, trace; by a
	// dimension from the rollups), for an answer or an error alike.
	static const char *const more[]
	    = { "tag", "tagset", "trace", "feature" };
	for (size_t i = 0; all && i < sizeof(more) / sizeof(more[0]); i++) {
		assert_int_equal(query_key_parse(more[i], &q.by[0]), 0);
		q.flags
		    = strcmp(more[i], "feature") == 0 ? 0 : QUERY_RUNS_ONLY;
		if (query_run(s, &q, &r, err, sizeof(err)) == 0) {
			query_result_free(r);
		}
	}
	store_close(s);
	return (rv == 0 ? READ_SAME : READ_OTHER);
}

// In a child: reads dir and exits with READ_*.
static void
read_child(const char *dir, uint64_t from_ms, const answer *want)
{
	// cmocka catches these to fail a test: here they end the child.
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		signal(sigs[i], SIG_DFL);
	}
	alarm(CHILD_LIMIT);
	answer a = { 0 };
	int rv = read_answer(dir, from_ms, 1, &a);
	if (rv == READ_SAME
	    && (a.calls != want->calls || a.cost != want->cost
	        || a.rows != want->rows)) {
		rv = READ_OTHER;
	}
	_exit(rv);
}

static void
test_damaged_store(void **state)
{
	fixture *f = *state;
	char src[400], dir[400];
	uint8_t *im, *copy;
	size_t len;
	store_rtxn *t;
	uint64_t used;

	write_synth(f->s, NULL, 0, CALLS, RUNS_PER_HOUR);
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(store_used_bytes(t, &used));
	store_read_end(t);
	store_close(f->s);
	f->s = NULL;
	snprintf(src, sizeof(src), "%s/data.mdb", f->path);
	snprintf(dir, sizeof(dir), "%s/copy", f->dir);
	read_file(src, &im, &len);
	used /= PAGE;
	assert_true(used > 256 && used * PAGE <= len);
	assert_non_null(copy = malloc(len));

	unsigned failed = 0, damaged_leaf = 0;
	for (uint64_t seed = 0; seed < SEEDS; seed++) {
		uint64_t from_ms;
		memcpy(copy, im, len);
		size_t n = damage(copy, len, used, seed, &from_ms);
		damaged_leaf += from_ms != 0;
		// What the undamaged store answers from there.
		answer want = { 0 };
		write_store(dir, im, len);
		assert_int_equal(
		    read_answer(dir, from_ms, 0, &want), READ_SAME);
		assert_true(want.calls > 0);

		write_store(dir, copy, n);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			read_child(dir, from_ms, &want);
		}
		int st, expect = READ_SAME;
		if (seed % D_KINDS == D_TRUNCATE && n < used * PAGE) {
			expect = READ_REFUSED;
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		// Damaged values: any answer or error, but an end.
		if (seed % D_KINDS == D_VALUES && WIFEXITED(st)) {
			continue;
		}
		if (!WIFEXITED(st) || WEXITSTATUS(st) != expect) {
			fprintf(stderr,
			    "seed %llu (%s): %s %d, want exit %d\n",
			    (unsigned long long) seed, kinds[seed % D_KINDS],
			    WIFSIGNALED(st) ? "signal" : "exit",
			    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
			    expect);
			failed++;
		}
	}
	free(copy);
	free(im);
	assert_int_equal(failed, 0);
	// Most seeds damaged a leaf page of the runs and read from it.
	assert_true(damaged_leaf > SEEDS / 2);
}

// Appends a blob string: its be16 length, then len bytes of c.
static size_t
blob_str(uint8_t *b, size_t o, size_t len, int c)
{
	b[o] = (uint8_t) (len >> 8);
	b[o + 1] = (uint8_t) len;
	memset(b + o + 2, c, len);
	return (o + 2 + len);
}

// A metadata set whose metadata value or tag is longer than a call may
// carry (the bytes are all there, as when a length was damaged within a
// long set) is refused as a damaged store by every query that reads
// it, grouped by the metadata key, by tag or by tag set, never copied.
static void
test_damaged_metaset(void **state)
{
	fixture *f = *state;
	static const struct {
		size_t vlen, tlen;
		int ok;
	} sets[] = {
		{ LLMCOST_MAX_VALUE, LLMCOST_MAX_TAG, 1 }, // the longest
		{ LLMCOST_MAX_VALUE + 1, 1, 0 },
		{ 3000, 1, 0 },
		{ 1, LLMCOST_MAX_TAG + 1, 0 },
		{ 1, 3000, 0 },
	};
	static const char *const by[] = { "meta.customer", "tag", "tagset" };

	write_synth(f->s, NULL, 0, 100, RUNS_PER_HOUR);
	store_close(f->s);
	f->s = NULL;
	for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++) {
		// Every set becomes: customer = vlen bytes, one tag of tlen.
		static uint8_t blob[8192];
		size_t o = 2;
		blob[0] = 1;
		blob[1] = 1;
		o = blob_str(blob, o, 8, 'c');
		memcpy(blob + o - 8, "customer", 8);
		o = blob_str(blob, o, sets[i].vlen, 'v');
		o = blob_str(blob, o, sets[i].tlen, 't');
		raw w;
		MDB_dbi ms;
		MDB_cursor *cur;
		MDB_val k, v;
		raw_begin(&w, f->path);
		LLMCOST_PASS(
		    mdb_dbi_open(w.txn, "metasets", MDB_INTEGERKEY, &ms));
		LLMCOST_PASS(mdb_cursor_open(w.txn, ms, &cur));
		// The ids first, then each set replaced by a put of its own.
		static uint32_t ids[1024];
		size_t n = 0;
		int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
		for (; rc == 0 && n < 1024; n++) {
			assert_int_equal(k.mv_size, sizeof(ids[0]));
			memcpy(&ids[n], k.mv_data, sizeof(ids[0]));
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
		}
		assert_int_equal(rc, MDB_NOTFOUND);
		mdb_cursor_close(cur);
		assert_true(n > 0);
		for (size_t j = 0; j < n; j++) {
			MDB_val ik = { sizeof(ids[j]), &ids[j] },
			        nv = { o, blob };
			LLMCOST_PASS(mdb_put(w.txn, ms, &ik, &nv, 0));
		}
		raw_end(&w);

		store *s = open_store(f->path, STORE_RDONLY, 0);
		for (size_t j = 0; j < sizeof(by) / sizeof(by[0]); j++) {
			query_spec q;
			query_result *r = NULL;
			char err[256];
			query_spec_init(&q);
			LLMCOST_PASS(query_key_parse(by[j], &q.by[0]));
			q.n_by = 1;
			q.from_ns = T0;
			q.to_ns = T0 + NS_PER_HOUR;
			q.flags = QUERY_RUNS_ONLY;
			if (sets[i].ok) {
				LLMCOST_PASS(
				    query_run(s, &q, &r, err, sizeof(err)));
				assert_int_equal(r->total.calls, 100);
				assert_int_equal(r->n_rows, 1);
				query_result_free(r);
				continue;
			}
			LLMCOST_FAIL(query_run(s, &q, &r, err, sizeof(err)),
			    LLMCOST_ESTORE);
			assert_null(r);
		}
		store_close(s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_damaged_store, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_damaged_metaset, setup, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
