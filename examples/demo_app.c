// A service with five LLM-backed features, recording every call through
// libllmcost.  Each call is a real HTTP request (libcurl) to a provider's
// API, here the local provider stand-in, and libllmcost reads the call's
// usage from the response bytes: the body of a plain call, the stream of
// a streamed one, fed as it arrives.  The features use the formats
// people use: OpenAI Chat Completions and Responses, Anthropic Messages,
// Gemini generateContent, Bedrock Converse, and an OpenAI-compatible
// server (Mistral).  Four worker threads share one client, as request
// handlers would.  The mix follows the tutorial's report: rag-search is
// the busiest, agent-copilot the most expensive, and a few calls carry
// no feature at all.  The prompts, output caps, cache and reasoning
// options of the requests decide what the stand-in charges for them.
//
// Usage: demo_app [SEED]
//   DEMO_PROVIDER_URL   the providers' base URL, e.g. http://127.0.0.1:8080
//                       (llmcost-provider-standin --count), required
//   LLMCOST_COLLECTOR_URL and the other LLMCOST_* settings of llmcost.h
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "llmcost.h"

#define REQ_MAX  (64u << 10) // a request body
#define BODY_MAX (64u << 10) // a non-streamed response body

typedef struct target {
	const char *provider;
	const char *model;
	llmcost_format fmt;
	int think; // the request turns reasoning on
} target;

typedef struct feature_mix {
	const char *feature; // NULL: an untagged code path
	int calls;
	target main;
	target alt;         // every 4th call, when alt.model is set
	int in_min, in_max; // prompt tokens
	int max_out;        // the request's output cap
	int cache;          // the request asks for prompt caching
} feature_mix;

static const feature_mix mixes[] = {
	{ "rag-search", 412,
	    { "openai", "gpt-4o-mini", LLMCOST_FMT_OPENAI_CHAT, 0 },
	    { "openai", "gpt-4o", LLMCOST_FMT_OPENAI_CHAT, 0 }, 800, 3200, 700,
	    1 },
	{ "agent-copilot", 118,
	    { "anthropic", "claude-sonnet-4-5", LLMCOST_FMT_ANTHROPIC, 1 },
	    { "openai", "o4-mini", LLMCOST_FMT_OPENAI_RESPONSES, 1 }, 2500,
	    8000, 5000, 1 },
	{ "summarizer", 87,
	    { "openai", "gpt-4o-mini", LLMCOST_FMT_OPENAI_CHAT, 0 },
	    { "bedrock", "anthropic.claude-3-5-haiku-20241022-v1:0",
	        LLMCOST_FMT_BEDROCK_CONVERSE, 0 },
	    1500, 3000, 700, 1 },
	{ "email-drafts", 34,
	    { "openai", "gpt-4.1-mini", LLMCOST_FMT_OPENAI_RESPONSES, 0 },
	    { "google", "gemini-2.5-flash", LLMCOST_FMT_GEMINI, 1 }, 800, 1700,
	    1500, 0 },
	{ NULL, 19, { "openai", "gpt-4o", LLMCOST_FMT_OPENAI_CHAT, 0 },
	    { "mistral", "mistral-large-2411", LLMCOST_FMT_OPENAI_CHAT, 0 },
	    900, 2400, 1000, 0 },
};
#define NMIX (sizeof(mixes) / sizeof(mixes[0]))

typedef struct exchange {
	int stream;
	llmcost_stream parser; // streamed: fed as the bytes arrive
	char body[BODY_MAX];   // not streamed: the whole body
	size_t len;
} exchange;

typedef struct worker {
	llmcost_client *client;
	const char *base;
	CURL *curl;
	char *req;   // REQ_MAX bytes
	exchange *x; // the response being read
	int id, nworkers;
	unsigned seed;
	int recorded; // calls ended
	int failed;   // calls not recorded, or with no usage read
	int streamed;
} worker;

static int
between(unsigned *seed, int lo, int hi)
{
	return (lo + (int) (rand_r(seed) % (unsigned) (hi - lo + 1)));
}

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	exchange *x = arg;
	size_t len = size * n;
	if (x->stream) {
		// An error is kept by the parser and returned by finish.
		(void) llmcost_stream_feed(&x->parser, p, len);
		return (len);
	}
	if (len > BODY_MAX - x->len) {
		return (0); // too large: the transfer fails
	}
	memcpy(x->body + x->len, p, len);
	x->len += len;
	return (len);
}

// Each API's URL path (after the base URL: prefix, the model when
// model_in_path, then the suffix of a plain or a streamed call), its
// headers, and the options a request appends to its body to ask for
// prompt caching (followed by a cache key and a quote), reasoning and
// streaming; NULL where the option sits elsewhere in the body.
static const struct api {
	const char *prefix;
	int model_in_path;
	const char *suffix, *stream_suffix;
	const char *headers[2];
	const char *cache, *think, *stream;
} apis[] = {
	[LLMCOST_FMT_OPENAI_CHAT] = { "/v1/chat/completions", 0, "", "",
	    { "Authorization: Bearer demo-key", NULL },
	    ",\"prompt_cache_key\":\"", ",\"reasoning_effort\":\"medium\"",
	    ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" },
	[LLMCOST_FMT_OPENAI_RESPONSES] = { "/v1/responses", 0, "", "",
	    { "Authorization: Bearer demo-key", NULL },
	    ",\"prompt_cache_key\":\"",
	    ",\"reasoning\":{\"effort\":\"medium\"}", ",\"stream\":true" },
	[LLMCOST_FMT_ANTHROPIC] = { "/v1/messages", 0, "", "",
	    { "x-api-key: demo-key", "anthropic-version: 2023-06-01" }, NULL,
	    ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048}",
	    ",\"stream\":true" },
	[LLMCOST_FMT_GEMINI] = { "/v1beta/models/", 1, ":generateContent",
	    ":streamGenerateContent?alt=sse",
	    { "x-goog-api-key: demo-key", NULL },
	    ",\"cachedContent\":\"cachedContents/", NULL, NULL },
	// (A real client signs Bedrock requests with AWS SigV4.)
	[LLMCOST_FMT_BEDROCK_CONVERSE] = { "/model/", 1, "/converse",
	    "/converse-stream", { NULL, NULL }, NULL, NULL, NULL },
};

// Appends to the request body; a body that does not fit is cut (and then
// refused by the server as malformed JSON).
static void put(char *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
put(char *req, const char *fmt, ...)
{
	size_t len = strlen(req);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(req + len, REQ_MAX - len, fmt, ap);
	va_end(ap);
}

// The request of t's API: a system prompt of about `prompt` tokens (4
// bytes a token), the user's question, the output cap, and the API's own
// options for prompt caching, reasoning and streaming.  Writes the URL
// into url and returns the headers (the caller frees them).
static struct curl_slist *
build_request(const worker *w, const feature_mix *m, const target *t,
    int prompt, int stream, int n, char *url, size_t urlsz)
{
	static const char line[] = "Context line from the retrieved "
	                           "documents, kept for the answer. ";
	const struct api *a = &apis[t->fmt];
	char sys[REQ_MAX / 2], q[64];
	size_t want = (size_t) prompt * 4, len = 0;
	struct curl_slist *h = NULL;

	want = want < sizeof(sys) - 1 ? want : sizeof(sys) - 1;
	while (len < want) {
		size_t k = sizeof(line) - 1 < want - len ? sizeof(line) - 1
		                                         : want - len;
		memcpy(sys + len, line, k);
		len += k;
	}
	sys[len] = '\0';
	snprintf(q, sizeof(q), "Question %d from worker %d", n, w->id);
	w->req[0] = '\0';
	switch (t->fmt) {
	case LLMCOST_FMT_OPENAI_CHAT:
		put(w->req,
		    "{\"model\":\"%s\",\"messages\":[{\"role\":\"system\","
		    "\"content\":\"%s\"},{\"role\":\"user\",\"content\":"
		    "\"%s\"}],\"max_completion_tokens\":%d",
		    t->model, sys, q, m->max_out);
		break;
	case LLMCOST_FMT_OPENAI_RESPONSES:
		put(w->req,
		    "{\"model\":\"%s\",\"instructions\":\"%s\",\"input\":"
		    "\"%s\",\"max_output_tokens\":%d",
		    t->model, sys, q, m->max_out);
		break;
	case LLMCOST_FMT_ANTHROPIC: // the cached prefix ends at cache_control
		put(w->req,
		    "{\"model\":\"%s\",\"max_tokens\":%d,\"system\":[{"
		    "\"type\":\"text\",\"text\":\"%s\"%s}],\"messages\":[{"
		    "\"role\":\"user\",\"content\":\"%s\"}]",
		    t->model, m->max_out, sys,
		    m->cache ? ",\"cache_control\":{\"type\":\"ephemeral\","
		               "\"ttl\":\"1h\"}"
		             : "",
		    q);
		break;
	case LLMCOST_FMT_GEMINI:
		put(w->req,
		    "{\"systemInstruction\":{\"parts\":[{\"text\":\"%s\"}]},"
		    "\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":"
		    "\"%s\"}]}],\"generationConfig\":{\"maxOutputTokens\":%d%"
		    "s}",
		    sys, q, m->max_out,
		    t->think ? ",\"thinkingConfig\":{\"thinkingBudget\":1024}"
		             : "");
		break;
	case LLMCOST_FMT_BEDROCK_CONVERSE:
		put(w->req,
		    "{\"system\":[{\"text\":\"%s\"}%s],\"messages\":[{"
		    "\"role\":\"user\",\"content\":[{\"text\":\"%s\"}]}],"
		    "\"inferenceConfig\":{\"maxTokens\":%d}",
		    sys,
		    m->cache ? ",{\"cachePoint\":{\"type\":\"default\"}}" : "",
		    q, m->max_out);
		break;
	}
	if (m->cache && a->cache != NULL) {
		put(w->req, "%s%s\"", a->cache,
		    m->feature != NULL ? m->feature : "other");
	}
	if (t->think && a->think != NULL) {
		put(w->req, "%s", a->think);
	}
	if (stream && a->stream != NULL) {
		put(w->req, "%s", a->stream);
	}
	put(w->req, "}");

	snprintf(url, urlsz, "%s%s%s%s", w->base, a->prefix,
	    a->model_in_path ? t->model : "",
	    stream ? a->stream_suffix : a->suffix);
	h = curl_slist_append(h, "Content-Type: application/json");
	for (size_t i = 0; i < 2 && a->headers[i] != NULL; i++) {
		h = curl_slist_append(h, a->headers[i]);
	}
	return (h);
}

// One call as an application records it: begin before the request, tag,
// make the request, let libllmcost read the usage from the response, end.
static void
record_call(worker *w, const feature_mix *m, int n)
{
	static const char *tiers[] = { "free", "pro", "enterprise" };
	const target *t
	    = m->alt.model != NULL && n % 4 == 3 ? &m->alt : &m->main;
	int stream = n % 3 == 2;
	exchange *x = w->x;
	llmcost_call *call;
	char url[512];
	int rv;

	if (llmcost_call_begin(w->client, t->provider, t->model, &call) != 0) {
		w->failed++;
		return;
	}
	if (m->feature != NULL) {
		llmcost_call_set_meta(call, "feature", m->feature);
		llmcost_call_add_tag(call, m->feature);
	}
	llmcost_call_set_meta(
	    call, "env", n % 10 == 0 ? "staging" : "production");
	llmcost_call_set_meta(call, "user_tier", tiers[n % 3]);
	llmcost_call_add_tag(call, "demo");

	int prompt = between(&w->seed, m->in_min, m->in_max);
	struct curl_slist *h
	    = build_request(w, m, t, prompt, stream, n, url, sizeof(url));
	x->stream = stream;
	x->len = 0;
	if (stream) {
		llmcost_stream_init(&x->parser, t->fmt);
	}
	curl_easy_reset(w->curl);
	curl_easy_setopt(w->curl, CURLOPT_URL, url);
	curl_easy_setopt(w->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(w->curl, CURLOPT_POSTFIELDS, w->req);
	curl_easy_setopt(w->curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(w->curl, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(w->curl, CURLOPT_TIMEOUT, 60L);
	CURLcode cc = curl_easy_perform(w->curl);
	long code = 0;
	curl_easy_getinfo(w->curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);

	// The usage, the model that answered and the request id, read from
	// the response and recorded on the call: one line each.
	if (stream) {
		rv = llmcost_stream_finish(&x->parser, call, NULL);
		w->streamed++;
	} else {
		rv = llmcost_call_set_usage_from(
		    call, t->fmt, x->body, x->len);
	}
	if (cc != CURLE_OK || code != 200) {
		llmcost_call_set_status(call,
		    cc != CURLE_OK ? LLMCOST_STATUS_ABORTED
		                   : LLMCOST_STATUS_ERROR);
		fprintf(stderr, "demo_app: %s: %s (HTTP %ld)\n", url,
		    curl_easy_strerror(cc), code);
		rv = rv != 0 ? rv : LLMCOST_EPROTO;
	} else if (rv != 0) {
		fprintf(stderr, "demo_app: %s: usage not read: %s\n", url,
		    llmcost_strerror(rv));
	}
	if (llmcost_call_end(call) == 0) {
		w->recorded++;
	} else {
		rv = LLMCOST_EINVAL;
	}
	w->failed += rv != 0;
}

static void *
worker_main(void *arg)
{
	worker *w = arg;
	for (size_t i = 0; i < NMIX; i++) {
		for (int n = w->id; n < mixes[i].calls; n += w->nworkers) {
			record_call(w, &mixes[i], n);
		}
	}
	return (NULL);
}

int
main(int argc, char **argv)
{
	enum { NWORKERS = 4 };
	const char *base = getenv("DEMO_PROVIDER_URL");
	unsigned seed = argc > 1 ? (unsigned) strtoul(argv[1], NULL, 10) : 42;
	llmcost_client *client;
	pthread_t th[NWORKERS];
	worker w[NWORKERS];
	int rv;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		printf("Usage: demo_app [SEED]\nCalls the LLM providers at "
		       "DEMO_PROVIDER_URL (the provider stand-in:\n"
		       "llmcost-provider-standin --count) and records each "
		       "call, with the usage\nread from its response, through "
		       "libllmcost.  The collector is\nLLMCOST_COLLECTOR_URL "
		       "(default: the per-user socket).\n");
		return (0);
	}
	if (base == NULL || *base == '\0') {
		fprintf(stderr,
		    "demo_app: set DEMO_PROVIDER_URL (start "
		    "llmcost-provider-standin --count)\n");
		return (2);
	}
	if ((rv = llmcost_init(&client, NULL)) != 0) {
		fprintf(stderr, "demo_app: llmcost_init: %s\n",
		    llmcost_strerror(rv));
		return (1);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (int i = 0; i < NWORKERS; i++) {
		w[i] = (worker) { .client = client,
			.base = base,
			.curl = curl_easy_init(),
			.req = malloc(REQ_MAX),
			.x = malloc(sizeof(exchange)),
			.id = i,
			.nworkers = NWORKERS,
			.seed = seed * 7919u + (unsigned) i };
		if (w[i].curl == NULL || w[i].req == NULL || w[i].x == NULL) {
			fprintf(stderr, "demo_app: out of memory\n");
			return (1);
		}
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	int recorded = 0, failed = 0, streamed = 0;
	for (int i = 0; i < NWORKERS; i++) {
		pthread_join(th[i], NULL);
		recorded += w[i].recorded;
		failed += w[i].failed;
		streamed += w[i].streamed;
		curl_easy_cleanup(w[i].curl);
		free(w[i].req);
		free(w[i].x);
	}
	curl_global_cleanup();
	rv = llmcost_flush(client, 10000);
	llmcost_stats st;
	llmcost_stats_get(client, &st);
	printf("demo_app: %d calls to %s (%d streamed), usage read from the "
	       "responses\n",
	    recorded, base, streamed);
	printf("demo_app: recorded %d calls (%d failed); collector stored "
	       "%llu, dropped %llu%s\n",
	    recorded, failed, (unsigned long long) st.calls_acked,
	    (unsigned long long) st.calls_dropped,
	    rv == 0 ? "" : " (flush timed out: is llmcostd running?)");
	llmcost_shutdown(client, 1000);
	return (rv == 0 && failed == 0 ? 0 : 1);
}
