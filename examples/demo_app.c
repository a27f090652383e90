// A service with five LLM-backed features, recording every call through
// libllmcost: the usage an application would read from each provider's
// response, converted to llmcost's exclusive buckets.  Four worker threads
// share one client, as request handlers would.  The mix follows the
// tutorial's report: rag-search is the busiest, agent-copilot the most
// expensive, and a few calls carry no feature at all.
//
// Usage: demo_app [SEED]    (collector from LLMCOST_COLLECTOR_URL)
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost.h"

typedef struct feature_mix {
	const char *feature; // NULL: an untagged code path
	int calls;
	const char *provider;
	const char *model;
	const char *alt_provider; // every 4th call, or NULL
	const char *alt_model;
	int in_min, in_max;   // prompt tokens
	int out_min, out_max; // completion tokens
	int cached_pct;       // share of prompts served from cache
	int reasoning_pct;    // share of output spent reasoning
} feature_mix;

static const feature_mix mixes[] = {
	{ "rag-search", 412, "openai", "gpt-4o-mini", "openai", "gpt-4o", 800,
	    3200, 200, 700, 40, 0 },
	{ "agent-copilot", 118, "anthropic", "claude-sonnet-4-5", "openai",
	    "o4-mini", 2500, 8000, 1500, 5000, 60, 30 },
	{ "summarizer", 87, "openai", "gpt-4o-mini", NULL, NULL, 1500, 3000,
	    300, 700, 0, 0 },
	{ "email-drafts", 34, "openai", "gpt-4.1-mini", "google",
	    "gemini-2.5-flash", 800, 1700, 700, 1500, 0, 0 },
	{ NULL, 19, "openai", "gpt-4o", "mistral", "mistral-large-2411", 900,
	    2400, 300, 1000, 0, 0 },
};
#define NMIX (sizeof(mixes) / sizeof(mixes[0]))

typedef struct worker {
	llmcost_client *client;
	int id, nworkers;
	unsigned seed;
	int recorded, failed;
} worker;

static int
between(unsigned *seed, int lo, int hi)
{
	return (lo + (int) (rand_r(seed) % (unsigned) (hi - lo + 1)));
}

// One call as an application records it: begin before the request, tag,
// fill usage from the response, end.
static int
record_call(worker *w, const feature_mix *m, int n)
{
	static const char *tiers[] = { "free", "pro", "enterprise" };
	int alt = m->alt_model != NULL && n % 4 == 3;
	llmcost_call *call;
	int rv;

	rv = llmcost_call_begin(w->client, alt ? m->alt_provider : m->provider,
	    alt ? m->alt_model : m->model, &call);
	if (rv != 0) {
		return (rv);
	}
	if (m->feature != NULL) {
		llmcost_call_set_meta(call, "feature", m->feature);
		llmcost_call_add_tag(call, m->feature);
	}
	llmcost_call_set_meta(
	    call, "env", n % 10 == 0 ? "staging" : "production");
	llmcost_call_set_meta(call, "user_tier", tiers[n % 3]);
	llmcost_call_add_tag(call, "demo");

	// What the provider's response reported, already split into the
	// exclusive buckets (see llmcost.h: subtract cached from OpenAI's
	// prompt_tokens and reasoning from its completion_tokens).
	int prompt = between(&w->seed, m->in_min, m->in_max);
	int completion = between(&w->seed, m->out_min, m->out_max);
	int cached = prompt * m->cached_pct / 100;
	int reasoning = completion * m->reasoning_pct / 100;
	llmcost_usage u;
	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = (uint64_t) (prompt - cached);
	u.tokens[LLMCOST_IN_CACHE_READ] = (uint64_t) cached;
	u.tokens[LLMCOST_OUT_TEXT] = (uint64_t) (completion - reasoning);
	u.tokens[LLMCOST_OUT_REASONING] = (uint64_t) reasoning;
	llmcost_call_set_usage(call, &u);
	if (n % 97 == 5) {
		llmcost_call_set_status(call, LLMCOST_STATUS_ERROR);
	}
	return (llmcost_call_end(call));
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	for (size_t i = 0; i < NMIX; i++) {
		for (int n = w->id; n < mixes[i].calls; n += w->nworkers) {
			if (record_call(w, &mixes[i], n) == 0) {
				w->recorded++;
			} else {
				w->failed++;
			}
		}
	}
	return (NULL);
}

int
main(int argc, char **argv)
{
	enum { NWORKERS = 4 };
	unsigned seed = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 42;
	llmcost_client *client;
	pthread_t th[NWORKERS];
	worker w[NWORKERS];
	int rv;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("Usage: demo_app [SEED]\nRecords a realistic mix of "
		       "tagged LLM calls through libllmcost.\nThe collector "
		       "is LLMCOST_COLLECTOR_URL (default: the per-user "
		       "socket).\n");
		return (0);
	}
	if ((rv = llmcost_init(&client, NULL)) != 0) {
		fprintf(stderr, "demo_app: llmcost_init: %s\n",
		    llmcost_strerror(rv));
		return (1);
	}
	for (int i = 0; i < NWORKERS; i++) {
		w[i] = (worker) { .client = client,
			.id = i,
			.nworkers = NWORKERS,
			.seed = seed * 7919u + (unsigned) i };
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	int recorded = 0, failed = 0;
	for (int i = 0; i < NWORKERS; i++) {
		pthread_join(th[i], NULL);
		recorded += w[i].recorded;
		failed += w[i].failed;
	}
	rv = llmcost_flush(client, 10000);
	llmcost_stats st;
	llmcost_stats_get(client, &st);
	printf("demo_app: recorded %d calls (%d refused); collector stored "
	       "%llu, dropped %llu%s\n",
	    recorded, failed, (unsigned long long) st.calls_acked,
	    (unsigned long long) st.calls_dropped,
	    rv == 0 ? "" : " (flush timed out: is llmcostd running?)");
	llmcost_shutdown(client, 1000);
	return (rv == 0 && failed == 0 ? 0 : 1);
}
