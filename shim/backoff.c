// DESIGN: one backoff for every retry loop in the shim (the collector
// exporter's resends today, the LangSmith exporter's next), so the policy
// lives in one place: double from a base up to a cap, never past it (an
// earlier inline copy, "b = b < cap ? 2 * b : cap", overshot the cap once
// on the way up), and spread the waits with jitter where many clients
// may retry against one server at once.  The jitter generator is a
// splitmix64 step: no system call, no shared state.
#include "backoff.h"
#include "uuid7.h"

void
llmcost__backoff_init(llmcost__backoff *b, uint32_t base_ms, uint32_t max_ms,
    uint32_t jitter_pct, uint64_t seed)
{
	b->base_ms = base_ms > 0 ? base_ms : 1;
	b->max_ms = max_ms > b->base_ms ? max_ms : b->base_ms;
	b->cur_ms = b->base_ms;
	b->jitter_pct = jitter_pct < 100 ? jitter_pct : 100;
	b->rng = seed;
}

uint32_t
llmcost__backoff_next(llmcost__backoff *b)
{
	uint32_t w = b->cur_ms;

	b->cur_ms = w <= b->max_ms / 2 ? w * 2 : b->max_ms;
	if (b->jitter_pct == 0) {
		return (w);
	}
	// The spread is at most w (jitter_pct <= 100), so the wait stays in
	// [w - spread, w].
	uint64_t spread = (uint64_t) w * b->jitter_pct / 100;
	uint64_t r = llmcost__splitmix64(&b->rng) % (spread + 1);
	return ((uint32_t) (w - r));
}

void
llmcost__backoff_reset(llmcost__backoff *b)
{
	b->cur_ms = b->base_ms;
}
