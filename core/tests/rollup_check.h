// Shared by the layout and maintenance tests: checks that a store's
// rollups are what its runs say, computed a second way inside the test.
// Every hourly rollup must equal the sum of its runs (with their extras),
// field by field, and every daily rollup the sum of its day's hourly
// ones.  Static inline, like store_fixture.h.
#ifndef LLMCOST_ROLLUP_CHECK_H
#define LLMCOST_ROLLUP_CHECK_H

#include "store_fixture.h"

#define CHECK_MAX_KEYS 8192

typedef struct rollup_set {
	size_t n;
	store_rkey keys[CHECK_MAX_KEYS];
	store_rollup vals[CHECK_MAX_KEYS];
} rollup_set;

static inline int
rkey_cmp(const store_rkey *a, const store_rkey *b)
{
	const uint32_t *x = (const uint32_t *) a, *y = (const uint32_t *) b;
	for (size_t i = 0; i < sizeof(*a) / 4; i++) {
		if (x[i] != y[i]) {
			return (x[i] < y[i] ? -1 : 1);
		}
	}
	return (0);
}

static inline int
rollup_set_add(void *arg, const store_rkey *k, const store_rollup *v)
{
	rollup_set *rs = arg;
	assert_true(rs->n < CHECK_MAX_KEYS);
	if (rs->n > 0) {
		// Keys come in order, each once.
		assert_true(rkey_cmp(&rs->keys[rs->n - 1], k) < 0);
	}
	rs->keys[rs->n] = *k;
	rs->vals[rs->n] = *v;
	rs->n++;
	return (0);
}

// rollup_set_add without the order check: for the daily rollups of a
// read-only older store, which repeat a key once per hour.
static inline int
rollup_set_add_any(void *arg, const store_rkey *k, const store_rollup *v)
{
	rollup_set *rs = arg;
	assert_true(rs->n < CHECK_MAX_KEYS);
	rs->keys[rs->n] = *k;
	rs->vals[rs->n] = *v;
	rs->n++;
	return (0);
}

// Every rollup of grain g, in key order (calloc'd; free it).
static inline rollup_set *
rollups_of(store *s, store_grain g)
{
	rollup_set *rs = calloc(1, sizeof(*rs));
	store_rtxn *t;

	assert_non_null(rs);
	LLMCOST_PASS(store_read_begin(s, &t));
	LLMCOST_PASS(
	    store_scan_rollups_grain(t, g, 0, UINT32_MAX, rollup_set_add, rs));
	store_read_end(t);
	return (rs);
}

static inline store_rollup *
rollup_find(rollup_set *rs, const store_rkey *k)
{
	size_t lo = 0, hi = rs->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = rkey_cmp(&rs->keys[mid], k);
		if (c == 0) {
			return (&rs->vals[mid]);
		}
		if (c < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return (NULL);
}

static inline void
rollup_sum_into(store_rollup *to, const store_rollup *v)
{
	store_i128 c;
	to->calls += v->calls;
	to->unpriced_calls += v->unpriced_calls;
	to->error_calls += v->error_calls;
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		to->usage[b] += v->usage[b];
	}
	c = store_rollup_cost(to) + store_rollup_cost(v);
	to->cost_lo = (uint64_t) c;
	to->cost_hi = (uint64_t) ((unsigned __int128) c >> 64);
	for (int f = 0; f < STORE_FEE_SLOTS; f++) {
		to->fees[f] += v->fees[f];
	}
	c = store_rollup_fee_cost(to) + store_rollup_fee_cost(v);
	to->fee_cost_lo = (uint64_t) c;
	to->fee_cost_hi = (uint64_t) ((unsigned __int128) c >> 64);
	to->provider_cost_calls += v->provider_cost_calls;
	c = store_rollup_provider_cost(to) + store_rollup_provider_cost(v);
	to->provider_cost_lo = (uint64_t) c;
	to->provider_cost_hi = (uint64_t) ((unsigned __int128) c >> 64);
	to->usage_missing_calls += v->usage_missing_calls;
	to->usage_partial_calls += v->usage_partial_calls;
}

typedef struct recount {
	store_rtxn *t;
	rollup_set *want; // keys of the stored hourly rollups, values zeroed
	uint64_t runs;
} recount;

static inline int
recount_run(void *arg, const uint8_t *id, const store_run *run)
{
	recount *rc = arg;
	store_rkey k;
	store_rollup one;
	store_extras ex;

	memset(&one, 0, sizeof(one));
	k.hour = (uint32_t) (run->start_ns / NS_PER_HOUR);
	k.feature = run->feature;
	k.model = run->model;
	k.env = run->env;
	k.provider = run->provider;
	one.calls = 1;
	one.unpriced_calls
	    = (run->flags & (STORE_RUN_UNPRICED | STORE_RUN_OVERFLOW)) != 0;
	one.error_calls = run->status != LLMCOST_STATUS_OK;
	memcpy(one.usage, run->usage, sizeof(one.usage));
	one.cost_lo = (uint64_t) run->cost_pusd;
	one.cost_hi = run->cost_pusd < 0 ? UINT64_MAX : 0;
	if (store_get_extras(rc->t, id, &ex) == 0) {
		memcpy(one.fees, ex.fees, sizeof(one.fees));
		one.fee_cost_lo = (uint64_t) ex.fee_cost_pusd;
		one.fee_cost_hi = ex.fee_cost_pusd < 0 ? UINT64_MAX : 0;
		if (ex.provider_cost_pusd != STORE_NO_PROVIDER_COST) {
			one.provider_cost_calls = 1;
			one.provider_cost_lo
			    = (uint64_t) ex.provider_cost_pusd;
		}
		one.usage_missing_calls
		    = (ex.usage_flags & LLMCOST_USAGE_MISSING) != 0;
		one.usage_partial_calls = !one.usage_missing_calls
		    && (ex.usage_flags & LLMCOST_USAGE_PARTIAL) != 0;
	}
	store_rollup *to = rollup_find(rc->want, &k);
	if (to == NULL) {
		fail_msg("run in hour %u has no rollup", k.hour);
	}
	rollup_sum_into(to, &one);
	rc->runs++;
	return (0);
}

// Checks that every hourly rollup is the sum of its runs and every daily
// one the sum of its hours; returns the number of runs.
static inline uint64_t
check_rollups(store *s)
{
	rollup_set *hours = rollups_of(s, STORE_HOURLY);
	rollup_set *days = rollups_of(s, STORE_DAILY);
	rollup_set *want = calloc(1, sizeof(*want));
	rollup_set *want_days = calloc(1, sizeof(*want_days));
	recount rc = { 0 };

	assert_non_null(want);
	assert_non_null(want_days);
	want->n = hours->n;
	memcpy(want->keys, hours->keys, hours->n * sizeof(hours->keys[0]));
	LLMCOST_PASS(store_read_begin(s, &rc.t));
	rc.want = want;
	LLMCOST_PASS(store_scan(rc.t, 0, UINT64_MAX, recount_run, &rc));
	store_read_end(rc.t);
	for (size_t i = 0; i < hours->n; i++) {
		if (memcmp(
		        &hours->vals[i], &want->vals[i], sizeof(store_rollup))
		    != 0) {
			fail_msg(
			    "hour %u: the rollup is not the sum of its "
			    "runs (calls %llu vs %llu, cost %lld vs %lld)",
			    hours->keys[i].hour,
			    (unsigned long long) hours->vals[i].calls,
			    (unsigned long long) want->vals[i].calls,
			    (long long) hours->vals[i].cost_lo,
			    (long long) want->vals[i].cost_lo);
		}
	}
	// Days: the hours' keys with their day, summed.
	for (size_t i = 0; i < hours->n; i++) {
		store_rkey dk = hours->keys[i];
		dk.hour /= STORE_HOURS_PER_DAY;
		store_rollup *to = rollup_find(want_days, &dk);
		if (to == NULL) {
			assert_true(want_days->n < CHECK_MAX_KEYS);
			// Hours come in order, so days are appended in order
			// only per dimension; insert sorted.
			size_t at = want_days->n;
			while (at > 0
			    && rkey_cmp(&want_days->keys[at - 1], &dk) > 0) {
				want_days->keys[at] = want_days->keys[at - 1];
				want_days->vals[at] = want_days->vals[at - 1];
				at--;
			}
			want_days->keys[at] = dk;
			memset(&want_days->vals[at], 0, sizeof(store_rollup));
			want_days->n++;
			to = &want_days->vals[at];
		}
		rollup_sum_into(to, &hours->vals[i]);
	}
	assert_int_equal(days->n, want_days->n);
	for (size_t i = 0; i < days->n; i++) {
		assert_int_equal(
		    rkey_cmp(&days->keys[i], &want_days->keys[i]), 0);
		if (memcmp(&days->vals[i], &want_days->vals[i],
		        sizeof(store_rollup))
		    != 0) {
			fail_msg("day %u: the daily rollup is not the sum of "
			         "its hours",
			    days->keys[i].hour);
		}
	}
	free(hours);
	free(days);
	free(want);
	free(want_days);
	return (rc.runs);
}

#endif // LLMCOST_ROLLUP_CHECK_H
