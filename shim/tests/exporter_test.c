// Tests for the delivery seam (shim/exporter.h, exporter.c, sender.c,
// batch.c) with fake exporters plugged in through llmcost__client_init:
// a destination that hangs does not hold up another one; the batch each
// exporter reads owns its strings (the pool slots are reused meanwhile);
// flush waits for every destination; shutdown stops a hung exporter and
// counts what it held; a lone hung exporter stops the batch loop, so the
// pool runs out at the call site as before, while a hung lossless one
// beside a lossy one with room paces the loop only up to the ring's
// high-water mark; start failures and disabled
// exporters are handled.  No collector is involved: the live delivery
// through the collector exporter is in client_test.
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "testutil.h"

#include "shim.h"

#define N_CALLS 1000u

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

// ---- fake exporters ----

typedef struct fake {
	int start_rv;             // what start returns
	_Atomic int open;         // gate: deliver holds its batch until open
	_Atomic uint32_t starts;  // start calls
	_Atomic uint32_t stops;   // stop calls
	_Atomic uint32_t finis;   // fini calls
	_Atomic uint64_t records; // records delivered
	_Atomic uint32_t bad;     // records whose strings did not match
	_Atomic uint8_t seen[N_CALLS];
	_Atomic int stopped_in_deliver; // deliver returned on stopping
	_Atomic(const llmcost__batch *) holding; // the batch held, if any
	_Atomic uint32_t delivers;               // deliver calls
	uint64_t final_stored, final_lost;       // counters at fini
} fake;

// Parses the call number from the record's meta "i" and checks that
// the tag and the model say the same ("t<i>", "model-<i>").
static int
record_number(const llmcost_proto_record *r, uint32_t *out)
{
	char num[16], want[32];

	if (r->n_meta != 1 || r->n_tags != 1 || r->meta[0].val.len == 0
	    || r->meta[0].val.len >= sizeof(num)) {
		return (-1);
	}
	memcpy(num, r->meta[0].val.ptr, r->meta[0].val.len);
	num[r->meta[0].val.len] = '\0';
	uint32_t i = (uint32_t) strtoul(num, NULL, 10);
	snprintf(want, sizeof(want), "t%u", i);
	if (r->tags[0].len != strlen(want)
	    || memcmp(r->tags[0].ptr, want, r->tags[0].len) != 0) {
		return (-1);
	}
	snprintf(want, sizeof(want), "model-%u", i);
	if (r->model.len != strlen(want)
	    || memcmp(r->model.ptr, want, r->model.len) != 0
	    || r->provider.len != 6
	    || memcmp(r->provider.ptr, "openai", 6) != 0
	    || r->usage[0] != (uint64_t) i + 1) {
		return (-1);
	}
	*out = i;
	return (0);
}

static void
take_records(fake *f, const llmcost__batch *b)
{
	for (uint32_t k = 0; k < b->n; k++) {
		uint32_t i;
		if (record_number(&b->records[k], &i) != 0 || i >= N_CALLS) {
			atomic_fetch_add(&f->bad, 1);
			continue;
		}
		atomic_fetch_add(&f->seen[i], 1);
		atomic_fetch_add(&f->records, 1);
	}
}

static int
fake_start(llmcost__exporter *ex, fake *f)
{
	atomic_fetch_add(&f->starts, 1);
	if (f->start_rv == 0) {
		ex->priv = f;
	}
	return (f->start_rv);
}

static int
fake_deliver(
    llmcost__exporter *ex, const llmcost__batch *b, llmcost__outcome *out)
{
	fake *f = ex->priv;

	atomic_fetch_add(&f->delivers, 1);
	atomic_store(&f->holding, b);
	// A gate waits until it is opened; a bound of 30 s keeps a broken
	// stop from hanging the test (the test then fails on
	// stopped_in_deliver).
	for (int i = 0; !atomic_load(&f->open) && i < 3000; i++) {
		if (llmcost__exporter_sleep(ex, 10)) {
			atomic_store(&f->stopped_in_deliver, 1);
			atomic_store(&f->holding, NULL);
			out->lost = b->n;
			return (LLMCOST_ECLOSED);
		}
	}
	take_records(f, b);
	atomic_store(&f->holding, NULL);
	out->stored = b->n;
	return (0);
}

static void
fake_stop(llmcost__exporter *ex)
{
	atomic_fetch_add(&((fake *) ex->priv)->stops, 1);
}

static void
fake_fini(llmcost__exporter *ex)
{
	fake *f = ex->priv;
	f->final_stored = atomic_load(&ex->stored);
	f->final_lost = atomic_load(&ex->lost);
	atomic_fetch_add(&f->finis, 1);
}

// The fake var as an exporter named label, lossless (1) or lossy (0).
#define FAKE_OPS(var, label, lossless_)                                       \
	static fake var;                                                      \
	static int var##_start(llmcost__exporter *ex)                         \
	{                                                                     \
		return (fake_start(ex, &var));                                \
	}                                                                     \
	static const struct llmcost__exporter_ops var##_ops = {               \
		.name = label,                                                \
		.lossless = lossless_,                                        \
		.start = var##_start,                                         \
		.deliver = fake_deliver,                                      \
		.stop = fake_stop,                                            \
		.fini = fake_fini,                                            \
	};

// lgate: a gate that must receive every call, as the collector.
FAKE_OPS(lgate, "lgate", 1)
FAKE_OPS(fast, "fast", 0)
FAKE_OPS(gate, "gate", 0)
FAKE_OPS(broken, "broken", 0)
FAKE_OPS(off, "off", 0)

// A lossy gate that takes queued batches merged (as LangSmith's).
static fake cgate;
static int
cgate_start(llmcost__exporter *ex)
{
	ex->queue_max = 16;
	return (fake_start(ex, &cgate));
}
static const struct llmcost__exporter_ops cgate_ops = {
	.name = "cgate",
	.coalesce = 1,
	.start = cgate_start,
	.deliver = fake_deliver,
	.stop = fake_stop,
	.fini = fake_fini,
};

// A coalescing exporter that lingers (a minute) for a full request.
static fake linger;
static int
linger_start(llmcost__exporter *ex)
{
	ex->queue_max = 16;
	return (fake_start(ex, &linger));
}
static const struct llmcost__exporter_ops linger_ops = {
	.name = "linger",
	.coalesce = 1,
	.linger_ms = 60000,
	.linger_calls = 1000,
	.start = linger_start,
	.deliver = fake_deliver,
	.stop = fake_stop,
	.fini = fake_fini,
};

static void
reset_fakes(void)
{
	memset(&fast, 0, sizeof(fast));
	memset(&gate, 0, sizeof(gate));
	memset(&broken, 0, sizeof(broken));
	memset(&off, 0, sizeof(off));
	memset(&lgate, 0, sizeof(lgate));
	memset(&cgate, 0, sizeof(cgate));
	memset(&linger, 0, sizeof(linger));
	atomic_store(&linger.open, 1);
	atomic_store(&fast.open, 1);
	broken.start_rv = LLMCOST_ENOMEM;
	off.start_rv = LLMCOST_EDISABLED;
}

// ---- test support ----

typedef struct log_rec {
	pthread_mutex_t mtx;
	char text[8192];
} log_rec;

static void
logger(void *arg, int level, const char *msg)
{
	log_rec *lr = arg;
	(void) level;
	pthread_mutex_lock(&lr->mtx);
	size_t used = strlen(lr->text);
	snprintf(lr->text + used, sizeof(lr->text) - used, "%s\n", msg);
	pthread_mutex_unlock(&lr->mtx);
}

// A NULL-terminated list of exporters, for init_with.
#define EXPORTERS(...)                                                        \
	((const struct llmcost__exporter_ops *const[]) { __VA_ARGS__ })

// A client with the fakes reset and these exporters.
static int
init_with(llmcost_client **cp, const struct llmcost__exporter_ops *const *ops)
{
	llmcost_options o;

	reset_fakes();
	memset(&o, 0, sizeof(o));
	o.collector_url = "ipc:///nonexistent/unused.sock"; // no collector
	o.queue_max = 64;
	o.batch_max = 16;
	o.flush_ms = 5;
	*cp = NULL;
	return (llmcost__client_init(cp, &o, ops));
}

// Ends call number i (model "model-<i>", meta i, a tag, usage i + 1),
// once: returns the result of llmcost_call_begin (LLMCOST_EFULL when the
// pool is empty).
static int
try_call(llmcost_client *c, uint32_t i)
{
	char model[32], num[16], tag[16];
	llmcost_call *call = NULL;
	llmcost_usage u;

	snprintf(model, sizeof(model), "model-%u", i);
	snprintf(num, sizeof(num), "%u", i);
	snprintf(tag, sizeof(tag), "t%u", i);
	int rv = llmcost_call_begin(c, "openai", model, &call);
	if (rv != 0) {
		return (rv);
	}
	LLMCOST_PASS(llmcost_call_set_meta(call, "i", num));
	LLMCOST_PASS(llmcost_call_add_tag(call, tag));
	memset(&u, 0, sizeof(u));
	u.tokens[0] = (uint64_t) i + 1;
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	LLMCOST_PASS(llmcost_call_end(call));
	return (0);
}

// Ends call number i as try_call does; retries while the pool is empty,
// for up to 10 s (a batch loop that stopped draining fails the test
// instead of hanging it).  Returns the number of refusals (each counted
// as a drop).
static int
make_call(llmcost_client *c, uint32_t i)
{
	int efull = 0, rv;

	while ((rv = try_call(c, i)) == LLMCOST_EFULL) {
		if (++efull > 10000) {
			fail_msg("call %u: the pool stayed full for 10 s", i);
		}
		sleep_ms(1);
	}
	LLMCOST_PASS(rv);
	return (efull);
}

// Waits up to 30 s for *v to reach want; returns its last value.
static uint64_t
wait_for(_Atomic uint64_t *v, uint64_t want)
{
	for (int i = 0; i < 3000 && atomic_load(v) < want; i++) {
		sleep_ms(10);
	}
	return (atomic_load(v));
}

// ---- tests ----

// A lingering exporter waits for more calls instead of sending each
// small batch on its own, without waking for each; a flush cuts the wait
// short, and everything waiting goes out in one delivery.
static void
test_linger(void **state)
{
	(void) state;
	llmcost_client *c;

	LLMCOST_PASS(init_with(&c, EXPORTERS(&linger_ops, NULL)));
	llmcost__exporter *ex = &c->exporters[0];
	uint32_t queued = 0;
	for (uint32_t i = 0; i < 3; i++) {
		(void) make_call(c, i);
		// Each call its own batch (the loop wakes every 5 ms).
		for (int t = 0; t < 3000; t++) {
			pthread_mutex_lock(&c->mtx);
			queued = ex->count;
			pthread_mutex_unlock(&c->mtx);
			if (queued == i + 1) {
				break;
			}
			sleep_ms(1);
		}
	}
	assert_int_equal(queued, 3);
	assert_int_equal(atomic_load(&linger.delivers), 0);
	// Woken by the first batch only (it starts the linger clock), not
	// once more per small batch.
	assert_true(atomic_load(&ex->wakes) <= 1);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	assert_int_equal(atomic_load(&linger.delivers), 1);
	assert_int_equal(atomic_load(&linger.records), 3);
	llmcost_shutdown(c, 1000);
}

// A coalescing exporter gets the batches that queued up behind a slow
// delivery in one deliver call, every call once, strings intact.
static void
test_coalesce(void **state)
{
	(void) state;
	llmcost_client *c;

	LLMCOST_PASS(init_with(&c, EXPORTERS(&cgate_ops, NULL)));
	llmcost__exporter *ex = &c->exporters[0];
	uint32_t made = 0, queued = 0;
	// Calls until three batches wait behind the held one.
	while (made < N_CALLS && queued < 4) {
		(void) make_call(c, made++);
		sleep_ms(2);
		pthread_mutex_lock(&c->mtx);
		queued = ex->count;
		pthread_mutex_unlock(&c->mtx);
	}
	assert_true(queued >= 4);
	// The loop may still be cutting the last call's batch: wait until
	// every call made is held by the exporter, so that opening the gate
	// finds them all queued.
	uint64_t held_calls = 0;
	for (int t = 0; t < 3000 && held_calls < made; t++) {
		pthread_mutex_lock(&c->mtx);
		held_calls = ex->calls_held;
		pthread_mutex_unlock(&c->mtx);
		if (held_calls < made) {
			sleep_ms(1);
		}
	}
	assert_int_equal(held_calls, made);
	const llmcost__batch *held = atomic_load(&cgate.holding);
	assert_non_null(held);
	uint32_t first = held->n;
	held = NULL;
	atomic_store(&cgate.open, 1);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	// The held batch, then everything queued behind it at once.
	assert_int_equal(atomic_load(&cgate.delivers), 2);
	assert_true(first < made);
	assert_int_equal(atomic_load(&cgate.records), made);
	for (uint32_t i = 0; i < made; i++) {
		assert_int_equal(atomic_load(&cgate.seen[i]), 1);
	}
	assert_int_equal(atomic_load(&cgate.bad), 0);
	assert_int_equal(atomic_load(&ex->stored), made);
	assert_int_equal(atomic_load(&ex->lost), 0);
	llmcost_shutdown(c, 1000);
}

// A destination that hangs holds one batch; the other destination gets
// every call, exactly once, with its strings intact, while the pool's
// slots are reused many times over.  Flush waits for the hung one.
static void
test_hung_exporter_does_not_slow_the_other(void **state)
{
	(void) state;
	llmcost_client *c;

	LLMCOST_PASS(init_with(&c, EXPORTERS(&gate_ops, &fast_ops, NULL)));
	assert_int_equal(c->n_exporters, 2);
	llmcost__exporter *gx = &c->exporters[0], *fx = &c->exporters[1];
	assert_ptr_equal(gx->ops, &gate_ops);

	for (uint32_t i = 0; i < N_CALLS; i++) {
		(void) make_call(c, i);
	}
	uint64_t got = wait_for(&fast.records, N_CALLS);
	if (got != N_CALLS) {
		fail_msg("the fast exporter got %llu of %u calls while the "
		         "gate held its batch",
		    (unsigned long long) got, N_CALLS);
	}
	for (uint32_t i = 0; i < N_CALLS; i++) {
		assert_int_equal(atomic_load(&fast.seen[i]), 1);
	}
	assert_int_equal(atomic_load(&fast.bad), 0);

	// The gate holds one batch (its queue holds one) and missed the
	// rest, counting each missed call as lost.
	const llmcost__batch *held = atomic_load(&gate.holding);
	assert_non_null(held);
	assert_true(held->n >= 1 && held->n <= 16);
	assert_int_equal(atomic_load(&gx->lost) + held->n, N_CALLS);
	assert_int_equal(atomic_load(&fx->lost), 0);
	// Its batch still reads right: the batch owns its strings, and the
	// slots they came from have been reused many times since.
	for (uint32_t k = 0; k < held->n; k++) {
		uint32_t i;
		assert_int_equal(record_number(&held->records[k], &i), 0);
		assert_true(i < N_CALLS);
	}

	// Once the gate settles it, the batch is freed: keep its size.
	uint32_t held_n = held->n;
	held = NULL;

	LLMCOST_FAIL(llmcost_flush(c, 50), LLMCOST_ETIMEDOUT);
	LLMCOST_FAIL(llmcost_flush(c, 0), LLMCOST_ETIMEDOUT);
	atomic_store(&gate.open, 1);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	assert_int_equal(atomic_load(&gx->stored), held_n);
	assert_int_equal(atomic_load(&gate.records), atomic_load(&gx->stored));
	assert_int_equal(atomic_load(&gate.bad), 0);
	assert_int_equal(atomic_load(&fx->stored), N_CALLS);

	// The collector is not among the exporters: llmcost_stats reports
	// no delivery, only what the call sites did.
	llmcost_stats s;
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	assert_int_equal(s.calls_ended, N_CALLS);
	assert_int_equal(s.calls_acked, 0);
	assert_int_equal(s.queue_depth, 0);

	llmcost_shutdown(c, 1000);
	assert_int_equal(atomic_load(&gate.finis), 1);
	assert_int_equal(atomic_load(&fast.finis), 1);
	assert_int_equal(atomic_load(&gate.stopped_in_deliver), 0);
}

// A lone destination that hangs holds one batch; the batch loop then
// stops draining, so the pool runs out at the call site (LLMCOST_EFULL,
// counted): the behaviour of a client whose collector is away.  Shutdown
// stops the hung exporter and counts what it held as lost.
static void
test_lone_hung_exporter(void **state)
{
	(void) state;
	llmcost_client *c;
	log_rec lr;
	int efull = 0, ok = 0;

	memset(&lr, 0, sizeof(lr));
	pthread_mutex_init(&lr.mtx, NULL);
	LLMCOST_PASS(init_with(&c, EXPORTERS(&gate_ops, NULL)));
	llmcost_set_logger(c, logger, &lr);

	// One call, and wait until the gate holds it.
	assert_int_equal(make_call(c, 0), 0);
	for (int i = 0; i < 3000 && atomic_load(&gate.holding) == NULL; i++) {
		sleep_ms(10);
	}
	assert_non_null(atomic_load(&gate.holding));
	ok++;
	for (uint32_t i = 1; i < 200; i++) {
		llmcost_call *call = NULL;
		int rv = llmcost_call_begin(c, "openai", "m", &call);
		if (rv == LLMCOST_EFULL) {
			efull++;
			continue;
		}
		LLMCOST_PASS(rv);
		LLMCOST_PASS(llmcost_call_end(call));
		ok++;
	}
	// The pool holds 64; the gate holds the first call only.
	assert_int_equal(ok, 65);
	assert_int_equal(efull, 200 - 65);
	llmcost_stats s;
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	assert_int_equal(s.calls_dropped, (uint64_t) efull);
	assert_int_equal(s.queue_depth, 64);

	llmcost_shutdown(c, 50);
	assert_int_equal(atomic_load(&gate.stopped_in_deliver), 1);
	assert_int_equal(atomic_load(&gate.stops), 1);
	assert_int_equal(atomic_load(&gate.finis), 1);
	assert_int_equal(gate.final_stored, 0);
	assert_int_equal(gate.final_lost, 1);
	assert_non_null(strstr(lr.text, "did not acknowledge every call"));
	assert_non_null(
	    strstr(lr.text, "65 calls were never acknowledged by the gate"));
	pthread_mutex_destroy(&lr.mtx);
}

// A lossless destination (the collector) that hangs paces the loop while
// the ring has room: the lossy one gets only what the lossless one took.
// Once the ring reaches its high-water mark (56 of 64), the loop takes
// the oldest calls anyway (down to 48) for the lossy exporter alone, and
// the lossless one counts them as lost (the client's drops); once it
// recovers it gets every other call exactly once.
static void
test_lossless_exporter_paces_the_loop(void **state)
{
	(void) state;
	llmcost_client *c;
	uint32_t ok = 0, efull = 0;

	LLMCOST_PASS(init_with(&c, EXPORTERS(&lgate_ops, &fast_ops, NULL)));
	llmcost__exporter *lx = &c->exporters[0], *fx = &c->exporters[1];

	assert_int_equal(try_call(c, 0), 0);
	ok++;
	for (int i = 0; i < 3000 && atomic_load(&lgate.holding) == NULL; i++) {
		sleep_ms(10);
	}
	const llmcost__batch *held = atomic_load(&lgate.holding);
	assert_non_null(held);
	for (uint32_t i = 1; i < 200; i++) {
		int rv = try_call(c, i);
		if (rv == LLMCOST_EFULL) {
			efull++;
			continue;
		}
		LLMCOST_PASS(rv);
		ok++;
	}
	// Give the loop time to take what is past the mark.
	sleep_ms(100);
	llmcost_stats s;
	LLMCOST_PASS(llmcost_stats_get(c, &s));
	uint64_t over = atomic_load(&lx->lost);
	// Past the mark: the oldest calls went to the lossy exporter alone.
	assert_true(over > 0);
	assert_int_equal(atomic_load(&fast.records), held->n + over);
	assert_int_equal(atomic_load(&fx->lost), 0);
	assert_int_equal(ok, held->n + over + s.queue_depth);
	assert_true(s.queue_depth >= 48 && s.queue_depth < 56);
	// The client's drops: the call site's and the lossless exporter's
	// (llmcost_stats adds the latter for the collector only).
	assert_int_equal(s.calls_dropped, efull);
	assert_int_equal(llmcost__exporters_lost(c), over);
	held = NULL;

	atomic_store(&lgate.open, 1);
	LLMCOST_PASS(llmcost_flush(c, 30000));
	assert_int_equal(atomic_load(&lgate.records), ok - over);
	assert_int_equal(atomic_load(&lx->lost), over);
	// The lossy one got or missed (counted) every call.
	assert_int_equal(
	    atomic_load(&fast.records) + atomic_load(&fx->lost), ok);
	for (uint32_t i = 0; i < 200; i++) {
		assert_true(atomic_load(&lgate.seen[i]) <= 1);
	}
	assert_int_equal(atomic_load(&lgate.bad), 0);
	llmcost_shutdown(c, 1000);
}

// A start that fails fails init and releases the exporters started
// before it; a disabled exporter is left out; none at all is an error.
static void
test_start_failures(void **state)
{
	(void) state;
	static const struct llmcost__exporter_ops *const fails[]
	    = { &fast_ops, &broken_ops, NULL };
	static const struct llmcost__exporter_ops *const one_off[]
	    = { &off_ops, &fast_ops, NULL };
	static const struct llmcost__exporter_ops *const all_off[]
	    = { &off_ops, NULL };
	llmcost_client *c;

	LLMCOST_FAIL(init_with(&c, fails), LLMCOST_ENOMEM);
	assert_null(c);
	assert_int_equal(atomic_load(&fast.starts), 1);
	assert_int_equal(atomic_load(&fast.stops), 1);
	assert_int_equal(atomic_load(&fast.finis), 1);
	assert_int_equal(atomic_load(&broken.starts), 1);
	assert_int_equal(atomic_load(&broken.finis), 0);

	LLMCOST_PASS(init_with(&c, one_off));
	assert_int_equal(c->n_exporters, 1);
	assert_ptr_equal(c->exporters[0].ops, &fast_ops);
	for (uint32_t i = 0; i < 10; i++) {
		assert_int_equal(make_call(c, i), 0);
	}
	LLMCOST_PASS(llmcost_flush(c, 30000));
	assert_int_equal(atomic_load(&fast.records), 10);
	llmcost_shutdown(c, 1000);
	assert_int_equal(atomic_load(&off.starts), 1);
	assert_int_equal(atomic_load(&off.finis), 0);
	assert_int_equal(atomic_load(&fast.finis), 1);

	LLMCOST_FAIL(init_with(&c, all_off), LLMCOST_ECONFIG);
	assert_null(c);
}

// The registered list holds the collector exporter (lossless) and the
// LangSmith one (lossy).
static void
test_registry(void **state)
{
	(void) state;
	size_t n = 0;
	int collector = 0, langsmith = 0;

	for (; llmcost__exporters[n] != NULL; n++) {
		const struct llmcost__exporter_ops *ops
		    = llmcost__exporters[n];
		assert_non_null(ops->name);
		assert_non_null(ops->start);
		assert_non_null(ops->deliver);
		assert_non_null(ops->fini);
		if (ops == &llmcost__exporter_collector) {
			collector = 1;
			assert_true(ops->lossless);
		}
		if (ops == &llmcost__exporter_langsmith) {
			langsmith = 1;
			assert_false(ops->lossless);
		}
	}
	assert_true(n >= 1 && n <= LLMCOST__EXPORTERS_MAX);
	assert_true(collector);
	assert_true(langsmith);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hung_exporter_does_not_slow_the_other),
		cmocka_unit_test(test_lone_hung_exporter),
		cmocka_unit_test(test_lossless_exporter_paces_the_loop),
		cmocka_unit_test(test_start_failures),
		cmocka_unit_test(test_registry),
		cmocka_unit_test(test_coalesce),
		cmocka_unit_test(test_linger),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
