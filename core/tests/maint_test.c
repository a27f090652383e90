// Tests for the store's maintenance (store_reprice, store_prune): a
// reprice leaves the store exactly as a fresh ingest under the new prices
// would (runs, extras, hourly and daily rollups), a dry run changes
// nothing, a reprice killed between or inside its transactions leaves a
// consistent store that a second run finishes, and a prune drops old runs
// with their extras and traces while every rollup stays.  The "old
// prices" are the pricing stage's figures altered by the test (halved,
// or unpriced), so that the built-in table is the new one.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "query.h"
#include "rollup_check.h"
#include "synth.h"

#define N_CALLS  6000
#define PER_HOUR 100 // so 60 hours: three UTC days
#define TXN_RUNS 333

static int
setup(void **state)
{
	return (fixture_setup(state, "maint"));
}

// The old prices: half of every cost, and every 7th call unpriced (its
// model unknown to the table of the time).
static void
old_prices(const llmcost_proto_record *r, store_cost *c)
{
	uint32_t n = ((uint32_t) r->run_id[12] << 24)
	    | ((uint32_t) r->run_id[13] << 16)
	    | ((uint32_t) r->run_id[14] << 8) | r->run_id[15];
	if (n % 7 == 0) {
		memset(c, 0, sizeof(*c));
		c->flags = STORE_RUN_UNPRICED;
		return;
	}
	c->cost_pusd /= 2;
	c->fee_cost_pusd /= 2;
}

static const synth_opts old_opts = { 1, old_prices };
static const synth_opts new_opts = { 1, NULL };

// The pricing stage on a stored run: what llmcost reprice does.
static void
price_now(void *arg, const store_reprice_call *c, store_cost *out)
{
	(void) arg;
	pricing_price_run(NULL, c, out);
}

typedef struct tally {
	uint64_t calls, changed, txns;
	store_i128 old_cost, new_cost;
	uint32_t kill_after_txns; // raise SIGKILL after this many; 0 never
	uint64_t kill_after_calls;
	uint64_t priced;
} tally;

static int
on_done(void *arg, const store_reprice_item *it, size_t n)
{
	tally *t = arg;
	for (size_t i = 0; i < n; i++) {
		t->calls++;
		t->changed += it[i].old_cost != it[i].new_cost
		    || it[i].old_flags != it[i].new_flags;
		t->old_cost += it[i].old_cost;
		t->new_cost += it[i].new_cost;
	}
	t->txns++;
	if (t->kill_after_txns != 0 && t->txns == t->kill_after_txns) {
		raise(SIGKILL);
	}
	return (0);
}

static void
price_or_die(void *arg, const store_reprice_call *c, store_cost *out)
{
	tally *t = arg;
	if (t->kill_after_calls != 0 && ++t->priced == t->kill_after_calls) {
		raise(SIGKILL);
	}
	price_now(NULL, c, out);
}

static int
reprice(store *s, uint64_t from, uint64_t to, int dry, tally *t)
{
	store_reprice_opts o = {
		.from_ns = from,
		.to_ns = to,
		.txn_runs = TXN_RUNS,
		.dry_run = dry,
		.price = price_or_die,
		.price_arg = t,
		.done = on_done,
		.done_arg = t,
	};
	char err[256] = "";
	int rv = store_reprice(s, &o, err, sizeof(err));
	if (rv != 0) {
		print_error("store_reprice: %s\n", err);
	}
	return (rv);
}

// ---- comparing two stores ----

typedef struct run_list {
	size_t n;
	uint8_t ids[N_CALLS][16];
	store_run runs[N_CALLS];
	int has_ex[N_CALLS];
	store_extras ex[N_CALLS];
	int has_trace[N_CALLS];
	store_rtxn *t;
} run_list;

static int
list_add(void *arg, const uint8_t *id, const store_run *run)
{
	run_list *l = arg;
	uint8_t tr[16], parent[16];
	assert_true(l->n < N_CALLS);
	memcpy(l->ids[l->n], id, 16);
	l->runs[l->n] = *run;
	l->has_ex[l->n] = store_get_extras(l->t, id, &l->ex[l->n]) == 0;
	l->has_trace[l->n] = store_get_trace(l->t, id, tr, parent) == 0;
	l->n++;
	return (0);
}

static run_list *
list_runs(store *s)
{
	run_list *l = calloc(1, sizeof(*l));
	assert_non_null(l);
	LLMCOST_PASS(store_read_begin(s, &l->t));
	LLMCOST_PASS(store_scan(l->t, 0, UINT64_MAX, list_add, l));
	store_read_end(l->t);
	return (l);
}

static void
assert_same_rollups(store *a, store *b, store_grain g)
{
	rollup_set *x = rollups_of(a, g), *y = rollups_of(b, g);
	assert_int_equal(x->n, y->n);
	assert_memory_equal(x->keys, y->keys, x->n * sizeof(store_rkey));
	for (size_t i = 0; i < x->n; i++) {
		if (memcmp(&x->vals[i], &y->vals[i], sizeof(store_rollup))
		    != 0) {
			fail_msg("%s rollup %zu (period %u) differs",
			    g == STORE_DAILY ? "daily" : "hourly", i,
			    x->keys[i].hour);
		}
	}
	free(x);
	free(y);
}

// Whether store a holds what store b does: the same runs (costs, flags,
// price entries), extras, traces and rollups.  The interned ids match
// too, since both stores were written in the same order.
static void
assert_same_store(store *a, store *b)
{
	run_list *x = list_runs(a), *y = list_runs(b);
	assert_int_equal(x->n, y->n);
	for (size_t i = 0; i < x->n; i++) {
		assert_memory_equal(x->ids[i], y->ids[i], 16);
		if (memcmp(&x->runs[i], &y->runs[i], sizeof(store_run)) != 0) {
			fail_msg("run %zu differs: cost %lld vs %lld, flags "
			         "%u vs %u",
			    i, (long long) x->runs[i].cost_pusd,
			    (long long) y->runs[i].cost_pusd, x->runs[i].flags,
			    y->runs[i].flags);
		}
		assert_int_equal(x->has_ex[i], y->has_ex[i]);
		if (x->has_ex[i]) {
			assert_memory_equal(
			    &x->ex[i], &y->ex[i], sizeof(store_extras));
		}
		assert_int_equal(x->has_trace[i], y->has_trace[i]);
	}
	free(x);
	free(y);
	assert_same_rollups(a, b, STORE_HOURLY);
	assert_same_rollups(a, b, STORE_DAILY);
}

// A second store in the fixture's directory, written with the new prices.
static store *
fresh_store(fixture *f)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/fresh", f->dir);
	store *s = open_store(path, 0, 0);
	write_synth(s, &new_opts, 0, N_CALLS, PER_HOUR);
	return (s);
}

#define ALL_FROM ((uint64_t) H0 * NS_PER_HOUR)
#define ALL_TO   ((uint64_t) (H0 + 61) * NS_PER_HOUR)

// ---- reprice ----

static void
test_reprice_equals_fresh(void **state)
{
	fixture *f = *state;
	tally t = { 0 };

	write_synth(f->s, &old_opts, 0, N_CALLS, PER_HOUR);
	store *fresh = fresh_store(f);
	assert_int_equal(check_rollups(f->s), N_CALLS);

	LLMCOST_PASS(reprice(f->s, ALL_FROM, ALL_TO, 0, &t));
	assert_int_equal(t.calls, N_CALLS);
	assert_int_equal(t.txns, (N_CALLS + TXN_RUNS - 1) / TXN_RUNS);
	assert_true(t.changed > N_CALLS / 2);
	assert_int_equal(check_rollups(f->s), N_CALLS);
	assert_same_store(f->s, fresh);

	// Again: nothing left to change.
	memset(&t, 0, sizeof(t));
	LLMCOST_PASS(reprice(f->s, ALL_FROM, ALL_TO, 0, &t));
	assert_int_equal(t.calls, N_CALLS);
	assert_int_equal(t.changed, 0);
	assert_true(t.old_cost == t.new_cost);
	store_close(fresh);
}

// Only the runs that started in the window change; rollups stay the sums
// of their runs.
static void
test_reprice_window(void **state)
{
	fixture *f = *state;
	tally t = { 0 };
	// From just after call 1000 started to just after call 2000 did
	// (the first of hour H0 + 20): calls 1001 to 2000, edges exact to
	// the nanosecond.
	const uint64_t from = start_ns(1000, H0 + 10) + 1;
	const uint64_t to = start_ns(2000, H0 + 20) + 1;

	write_synth(f->s, &old_opts, 0, N_CALLS, PER_HOUR);
	run_list *before = list_runs(f->s);
	LLMCOST_PASS(reprice(f->s, from, to, 0, &t));
	run_list *after = list_runs(f->s);
	uint64_t in = 0;
	for (size_t i = 0; i < before->n; i++) {
		uint64_t st = before->runs[i].start_ns;
		if (st >= from && st < to) {
			in++;
		} else {
			assert_memory_equal(&before->runs[i], &after->runs[i],
			    sizeof(store_run));
		}
	}
	assert_int_equal(in, 1000);
	assert_int_equal(t.calls, in);
	assert_int_equal(check_rollups(f->s), N_CALLS);
	free(before);
	free(after);
}

static void
test_reprice_dry_run(void **state)
{
	fixture *f = *state;
	tally t = { 0 }, real = { 0 };

	write_synth(f->s, &old_opts, 0, N_CALLS, PER_HOUR);
	run_list *before = list_runs(f->s);
	rollup_set *hours = rollups_of(f->s, STORE_HOURLY);
	LLMCOST_PASS(reprice(f->s, ALL_FROM, ALL_TO, 1, &t));
	run_list *after = list_runs(f->s);
	rollup_set *hours2 = rollups_of(f->s, STORE_HOURLY);
	assert_memory_equal(
	    before->runs, after->runs, before->n * sizeof(store_run));
	assert_int_equal(hours->n, hours2->n);
	assert_memory_equal(
	    hours->vals, hours2->vals, hours->n * sizeof(store_rollup));
	// It tells what a real one then does.
	LLMCOST_PASS(reprice(f->s, ALL_FROM, ALL_TO, 0, &real));
	assert_int_equal(t.calls, real.calls);
	assert_int_equal(t.changed, real.changed);
	assert_true(t.old_cost == real.old_cost);
	assert_true(t.new_cost == real.new_cost);
	assert_true(t.changed > 0);
	free(before);
	free(after);
	free(hours);
	free(hours2);
}

// Runs a reprice of everything in a child that SIGKILLs itself after
// kill_txns commits or kill_calls priced runs; checks it died so.
static void
reprice_killed(fixture *f, uint32_t kill_txns, uint64_t kill_calls)
{
	store_close(f->s);
	f->s = NULL;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		store *s = NULL;
		char err[256];
		tally t = { 0 };
		t.kill_after_txns = kill_txns;
		t.kill_after_calls = kill_calls;
		if (store_open(&s, f->path, 0, 0, err, sizeof(err)) != 0) {
			_exit(3);
		}
		reprice(s, ALL_FROM, ALL_TO, 0, &t);
		_exit(4); // not killed
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	f->s = open_store(f->path, 0, 0);
}

// The runs that differ from the fresh store.
static uint64_t
count_differing(store *a, store *b)
{
	run_list *x = list_runs(a), *y = list_runs(b);
	uint64_t n = 0;
	assert_int_equal(x->n, y->n);
	for (size_t i = 0; i < x->n; i++) {
		n += memcmp(&x->runs[i], &y->runs[i], sizeof(store_run)) != 0;
	}
	free(x);
	free(y);
	return (n);
}

// Checks that the first `done` runs of a are those of the fresh store
// and the others those of `old`: what a reprice killed after `done` runs
// of committed transactions leaves.
static void
assert_done_upto(store *a, store *fresh, const run_list *old, size_t done)
{
	run_list *x = list_runs(a), *y = list_runs(fresh);
	assert_int_equal(x->n, old->n);
	for (size_t i = 0; i < x->n; i++) {
		const store_run *want = i < done ? &y->runs[i] : &old->runs[i];
		if (memcmp(&x->runs[i], want, sizeof(store_run)) != 0) {
			fail_msg("run %zu: %s", i,
			    i < done ? "not repriced" : "repriced");
		}
	}
	free(x);
	free(y);
}

static void
test_reprice_crash(void **state)
{
	fixture *f = *state;
	tally t = { 0 };

	write_synth(f->s, &old_opts, 0, N_CALLS, PER_HOUR);
	store *fresh = fresh_store(f);
	run_list *old = list_runs(f->s);
	assert_true(count_differing(f->s, fresh) > N_CALLS / 2);

	// Killed between transactions, after the third commit: the first
	// 3 x TXN_RUNS runs are done, the rest untouched, and every rollup
	// still sums its runs.
	reprice_killed(f, 3, 0);
	assert_int_equal(check_rollups(f->s), N_CALLS);
	assert_done_upto(f->s, fresh, old, 3 * TXN_RUNS);

	// Killed inside a transaction (at the 100th run of the fifth):
	// that transaction leaves nothing, the fourth stays committed.
	reprice_killed(f, 0, 4 * TXN_RUNS + 100);
	assert_int_equal(check_rollups(f->s), N_CALLS);
	assert_done_upto(f->s, fresh, old, 4 * TXN_RUNS);
	uint64_t left = count_differing(f->s, fresh);
	assert_true(left > 0);

	// Running it again finishes the job.
	LLMCOST_PASS(reprice(f->s, ALL_FROM, ALL_TO, 0, &t));
	assert_int_equal(t.changed, left);
	assert_same_store(f->s, fresh);
	free(old);
	store_close(fresh);
}

// ---- prune ----

static void
test_prune_keeps_rollups(void **state)
{
	fixture *f = *state;
	const uint64_t cut = (uint64_t) (H0 + 20) * NS_PER_HOUR;
	uint64_t pruned = 0, when = 1;
	int more = 1;
	char err[256] = "";

	write_synth(f->s, &new_opts, 0, N_CALLS, PER_HOUR);
	rollup_set *hours = rollups_of(f->s, STORE_HOURLY);
	rollup_set *days = rollups_of(f->s, STORE_DAILY);
	run_list *before = list_runs(f->s);
	store_rtxn *t;
	LLMCOST_PASS(store_read_begin(f->s, &t));
	LLMCOST_PASS(store_pruned_before(t, &when));
	store_read_end(t);
	assert_int_equal(when, 0);

	// One bounded transaction: 100 runs, more to go.
	LLMCOST_PASS(
	    store_prune(f->s, cut, 100, 1, &pruned, &more, err, sizeof(err)));
	assert_int_equal(pruned, 100);
	assert_int_equal(more, 1);
	// The rest, in transactions of 77.
	LLMCOST_PASS(
	    store_prune(f->s, cut, 77, 0, &pruned, &more, err, sizeof(err)));
	assert_int_equal(pruned, 20 * PER_HOUR - 100);
	assert_int_equal(more, 0);

	run_list *after = list_runs(f->s);
	assert_int_equal(after->n, N_CALLS - 20 * PER_HOUR);
	assert_int_equal(count_with(f->s, store_count_runs), after->n);
	// The runs kept are the newer ones, with their extras and traces.
	size_t off = 20 * PER_HOUR;
	uint64_t kept_ex = 0, kept_tr = 0;
	for (size_t i = 0; i < after->n; i++) {
		assert_memory_equal(after->ids[i], before->ids[off + i], 16);
		assert_int_equal(after->has_ex[i], before->has_ex[off + i]);
		assert_int_equal(
		    after->has_trace[i], before->has_trace[off + i]);
		kept_ex += after->has_ex[i];
		kept_tr += after->has_trace[i];
	}
	assert_true(kept_ex > 0 && kept_tr > 0);
	assert_int_equal(count_with(f->s, store_count_extras), kept_ex);
	// The pruned runs' extras and traces are gone.
	LLMCOST_PASS(store_read_begin(f->s, &t));
	for (size_t i = 0; i < off; i++) {
		store_extras ex;
		uint8_t tr[16], parent[16];
		LLMCOST_FAIL(store_get_extras(t, before->ids[i], &ex),
		    LLMCOST_ENOTFOUND);
		LLMCOST_FAIL(store_get_trace(t, before->ids[i], tr, parent),
		    LLMCOST_ENOTFOUND);
	}
	LLMCOST_PASS(store_pruned_before(t, &when));
	store_read_end(t);
	assert_int_equal(when, cut);

	// Every rollup is still there, unchanged.
	rollup_set *hours2 = rollups_of(f->s, STORE_HOURLY);
	rollup_set *days2 = rollups_of(f->s, STORE_DAILY);
	assert_int_equal(hours2->n, hours->n);
	assert_memory_equal(
	    hours2->keys, hours->keys, hours->n * sizeof(store_rkey));
	assert_memory_equal(
	    hours2->vals, hours->vals, hours->n * sizeof(store_rollup));
	assert_int_equal(days2->n, days->n);
	assert_memory_equal(
	    days2->vals, days->vals, days->n * sizeof(store_rollup));

	// A window that starts 50 minutes before the cut counts the runs
	// left in it: the pruned hour is not read as its rollups less the
	// runs before the window, which are gone.
	query_spec q;
	query_result *r;
	query_spec_init(&q);
	q.from_ns = cut - UINT64_C(50) * 60 * 1000000000u;
	q.to_ns = (uint64_t) (H0 + 60) * NS_PER_HOUR;
	LLMCOST_PASS(query_run(f->s, &q, &r, NULL, 0));
	assert_int_equal(r->total.calls, 40 * PER_HOUR);
	query_result_free(r);

	// Again: nothing to do.
	LLMCOST_PASS(
	    store_prune(f->s, cut, 77, 0, &pruned, &more, err, sizeof(err)));
	assert_int_equal(pruned, 0);
	assert_int_equal(more, 0);
	free(hours);
	free(days);
	free(hours2);
	free(days2);
	free(before);
	free(after);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_reprice_equals_fresh, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_reprice_window, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_reprice_dry_run, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_reprice_crash, setup, fixture_teardown),
		cmocka_unit_test_setup_teardown(
		    test_prune_keeps_rollups, setup, fixture_teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
