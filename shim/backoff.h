// Capped exponential backoff for retries, shared by every exporter: the
// waits are base, 2 base, 4 base, ... up to max, then max again, with
// optional jitter.
//
// Threading: a backoff belongs to one thread (it is usually a local of
// the retry loop); nothing in it is shared.
#ifndef LLMCOST_BACKOFF_H
#define LLMCOST_BACKOFF_H

#include <stdint.h>

typedef struct llmcost__backoff {
	uint32_t base_ms;    // the first wait
	uint32_t max_ms;     // no wait is longer
	uint32_t cur_ms;     // the next wait before jitter
	uint32_t jitter_pct; // 0..100, see llmcost__backoff_init
	uint64_t rng;        // splitmix64 state, for the jitter only
} llmcost__backoff;

// Starts a backoff at base_ms (at least 1), never above max_ms (raised to
// base_ms if smaller).  jitter_pct 0 gives the exact doubling sequence;
// otherwise each wait w is drawn uniformly from [w - w * jitter_pct / 100,
// w] (100: "full jitter", 50: "equal jitter"; values above 100 count as
// 100), from a generator seeded with seed, so that clients that failed
// together do not retry together.
void llmcost__backoff_init(llmcost__backoff *b, uint32_t base_ms,
    uint32_t max_ms, uint32_t jitter_pct, uint64_t seed);

// The next wait in milliseconds (at least 1 unless jitter drew 0); the
// wait after it doubles, up to max_ms.
uint32_t llmcost__backoff_next(llmcost__backoff *b);

// Back to base_ms, after a success.
void llmcost__backoff_reset(llmcost__backoff *b);

#endif // LLMCOST_BACKOFF_H
