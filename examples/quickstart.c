// The README's example, compiled and run by the tests so that it stays
// true: one call to gpt-4o-mini, tagged and costed.
//
// Usage: quickstart    (collector from LLMCOST_COLLECTOR_URL)
#include <stdio.h>

#include <llmcost.h>

int
main(void)
{
	llmcost_client *lc;
	int rv = llmcost_init(&lc, NULL); // LLMCOST_* environment + defaults
	if (rv != 0) {
		fprintf(stderr, "quickstart: %s\n", llmcost_strerror(rv));
		return (1);
	}

	llmcost_call *call;
	llmcost_call_begin(lc, "openai", "gpt-4o-mini", &call);
	llmcost_call_set_meta(call, "feature", "rag-search");
	llmcost_call_set_meta(call, "env", "production");
	llmcost_call_set_meta(call, "user_tier", "pro");
	llmcost_call_add_tag(call, "rag-search");

	// ... make the request; then, from the response's usage ...
	unsigned prompt_tokens = 1200, cached_tokens = 200;
	unsigned completion_tokens = 300, reasoning_tokens = 0;
	llmcost_usage u = { { 0 } };
	u.tokens[LLMCOST_IN_UNCACHED] = prompt_tokens - cached_tokens;
	u.tokens[LLMCOST_IN_CACHE_READ] = cached_tokens;
	u.tokens[LLMCOST_OUT_TEXT] = completion_tokens - reasoning_tokens;
	u.tokens[LLMCOST_OUT_REASONING] = reasoning_tokens;
	llmcost_call_set_usage(call, &u);
	llmcost_call_end(call); // always consumes the call

	rv = llmcost_flush(lc, 5000); // only to report below; not needed
	llmcost_shutdown(lc, 2000);   // flush, stop, free
	if (rv != 0) {
		fprintf(stderr, "quickstart: %s\n", llmcost_strerror(rv));
		return (1);
	}
	return (0);
}
