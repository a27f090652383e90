// A real client: calls an OpenAI-compatible chat endpoint with libcurl,
// streamed or not, tags each call with a feature, and lets libllmcost
// read the usage from the response itself: the body for a plain call,
// the bytes as they arrive for a stream.  Works against the OpenAI API,
// any compatible server (OpenRouter, vLLM, Groq, ...) and the local
// stand-in of the tests.
//
// Usage: chat_client [--stream] [--calls N] [--feature NAME] [PROMPT...]
//
// Environment:
//   OPENAI_BASE_URL   default https://api.openai.com/v1
//   OPENAI_API_KEY    required
//   OPENAI_MODEL      default gpt-4o-mini
//   LLMCOST_PROVIDER  the provider name recorded, default "openai"
//   LLMCOST_COLLECTOR_URL and the other LLMCOST_* settings of llmcost.h
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "llmcost.h"

#define BODY_MAX (4u << 20) // a non-streamed answer larger than this is cut

typedef struct exchange {
	int stream;
	llmcost_stream parser; // streamed: the usage parser, fed as bytes come
	char *body;            // not streamed: the whole body
	size_t len;
	size_t streamed; // bytes received
} exchange;

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	exchange *x = arg;
	size_t len = size * n;
	x->streamed += len;
	if (x->stream) {
		// A parse error is kept by the parser and reported at the
		// end; the application's own handling of the stream (e.g.
		// showing the text) would go here too.
		(void) llmcost_stream_feed(&x->parser, p, len);
		return (len);
	}
	if (len > BODY_MAX - x->len) {
		len = BODY_MAX - x->len;
	}
	memcpy(x->body + x->len, p, len);
	x->len += len;
	return (size * n);
}

// The prompt as a JSON string (quotes and control characters escaped).
static void
json_escape(const char *s, char *out, size_t n)
{
	size_t o = 0;
	for (; *s != '\0' && o + 7 < n; s++) {
		unsigned char c = (unsigned char) *s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char) c;
		} else if (c < 0x20) {
			o += (size_t) snprintf(out + o, n - o, "\\u%04x", c);
		} else {
			out[o++] = (char) c;
		}
	}
	out[o] = '\0';
}

static int
chat(CURL *curl, llmcost_client *client, const char *base, const char *key,
    const char *model, const char *feature, const char *prompt, int stream,
    int n)
{
	const char *provider = getenv("LLMCOST_PROVIDER");
	char url[1024], auth[1024], esc[4096], req[8192];
	llmcost_call *call;
	llmcost_response r;
	exchange x;
	int rv;

	// Begin before the request: the call's duration is the request's.
	rv = llmcost_call_begin(
	    client, provider ? provider : "openai", model, &call);
	if (rv != 0) {
		fprintf(stderr, "chat_client: %s\n", llmcost_strerror(rv));
	}
	llmcost_call_set_meta(call, "feature", feature);
	llmcost_call_add_tag(call, stream ? "streamed" : "unary");

	json_escape(prompt, esc, sizeof(esc));
	snprintf(req, sizeof(req),
	    "{\"model\":\"%s\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"%s\"}]%s}",
	    model, esc,
	    stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":"
	             "true}"
	           : "");
	snprintf(url, sizeof(url), "%s/chat/completions", base);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	struct curl_slist *hdr = curl_slist_append(NULL, auth);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");

	memset(&x, 0, sizeof(x));
	x.stream = stream;
	if (stream) {
		llmcost_stream_init(&x.parser, LLMCOST_FMT_OPENAI_CHAT);
	} else if ((x.body = malloc(BODY_MAX)) == NULL) {
		curl_slist_free_all(hdr);
		llmcost_call_abandon(call);
		return (-1);
	}
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
	CURLcode cc = curl_easy_perform(curl);
	long code = 0;
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(hdr);

	// libllmcost reads the usage, the model that answered and the
	// request id from the response, and records them on the call; a cut
	// stream or an unreadable body is recorded too, flagged.  (Without
	// the printout below, a body is one line:
	// llmcost_call_set_usage_from(call, LLMCOST_FMT_OPENAI_CHAT, body,
	// len).)
	if (stream) {
		rv = llmcost_stream_finish(&x.parser, call, &r);
	} else {
		rv = llmcost_response_parse(
		    LLMCOST_FMT_OPENAI_CHAT, x.body, x.len, &r);
		if (rv == 0 || rv == LLMCOST_ENOTFOUND) {
			llmcost_call_apply_response(call, &r);
		} else {
			llmcost_call_set_usage_flags(
			    call, LLMCOST_USAGE_MISSING);
		}
		free(x.body);
	}
	if (cc != CURLE_OK || code != 200) {
		// What the server said is recorded; the transport's verdict
		// decides the status.
		llmcost_call_set_status(call,
		    cc != CURLE_OK ? LLMCOST_STATUS_ABORTED
		                   : LLMCOST_STATUS_ERROR);
	}
	llmcost_call_end(call);

	uint64_t in = 0, out = 0;
	for (int b = LLMCOST_IN_UNCACHED; b <= LLMCOST_IN_IMAGE; b++) {
		in += r.usage.tokens[b];
	}
	for (int b = LLMCOST_OUT_TEXT; b <= LLMCOST_OUT_IMAGE; b++) {
		out += r.usage.tokens[b];
	}
	static const char *const status[] = { "ok", "error", "aborted" };
	printf("call %d: %s %s HTTP %ld: %s (%s), %llu in (%llu cached), %llu "
	       "out%s%s\n",
	    n, stream ? "streamed" : "unary",
	    r.model[0] != '\0' ? r.model : model, code, status[r.status],
	    cc != CURLE_OK ? curl_easy_strerror(cc) : llmcost_strerror(rv),
	    (unsigned long long) in,
	    (unsigned long long) r.usage.tokens[LLMCOST_IN_CACHE_READ],
	    (unsigned long long) out,
	    r.usage_flags & LLMCOST_USAGE_MISSING ? " [usage missing]" : "",
	    r.usage_flags & LLMCOST_USAGE_PARTIAL ? " [usage partial]" : "");
	return (cc == CURLE_OK && code == 200 && rv == 0 ? 0 : 1);
}

int
main(int argc, char **argv)
{
	const char *base = getenv("OPENAI_BASE_URL");
	const char *key = getenv("OPENAI_API_KEY");
	const char *model = getenv("OPENAI_MODEL");
	const char *feature = "chat";
	char prompt[2048] = "";
	int stream = 0, calls = 1, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--stream") == 0) {
			stream = 1;
		} else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc) {
			calls = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--feature") == 0 && i + 1 < argc) {
			feature = argv[++i];
		} else if (strcmp(argv[i], "--help") == 0) {
			printf("Usage: chat_client [--stream] [--calls N] "
			       "[--feature NAME] [PROMPT...]\n"
			       "Calls OPENAI_BASE_URL/chat/completions "
			       "(OPENAI_API_KEY, OPENAI_MODEL) and records\n"
			       "each call's usage, read from the response, "
			       "through libllmcost.\n");
			return (0);
		} else {
			break;
		}
	}
	for (; i < argc; i++) {
		size_t l = strlen(prompt);
		snprintf(prompt + l, sizeof(prompt) - l, "%s%s",
		    l > 0 ? " " : "", argv[i]);
	}
	if (prompt[0] == '\0') {
		snprintf(prompt, sizeof(prompt), "%s",
		    "In one sentence: what is the capital of France?");
	}
	if (key == NULL || *key == '\0') {
		fprintf(stderr, "chat_client: set OPENAI_API_KEY\n");
		return (2);
	}
	base = base != NULL && *base != '\0' ? base
	                                     : "https://api.openai.com/v1";
	model = model != NULL && *model != '\0' ? model : "gpt-4o-mini";

	llmcost_client *client;
	int rv = llmcost_init(&client, NULL);
	if (rv != 0) {
		fprintf(stderr, "chat_client: llmcost_init: %s\n",
		    llmcost_strerror(rv));
		return (1);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *curl = curl_easy_init();
	int failed = 0;
	for (int n = 1; n <= calls; n++) {
		failed += chat(curl, client, base, key, model, feature, prompt,
		              stream, n)
		    != 0;
	}
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	rv = llmcost_flush(client, 10000);
	llmcost_shutdown(client, 1000);
	if (rv != 0) {
		fprintf(stderr,
		    "chat_client: flush: %s (is llmcostd running?)\n",
		    llmcost_strerror(rv));
		return (1);
	}
	return (failed == 0 ? 0 : 1);
}
