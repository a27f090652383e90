// Test-side HTTP client for the LangSmith stand-in (libcurl, one request
// per call, no reuse: each test request is a fresh connection, so a reset
// fault never leaks into the next request), and builders of the request
// bodies the SDKs send.
#ifndef LLMCOST_STANDIN_CLIENT_H
#define LLMCOST_STANDIN_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

typedef struct http_resp {
	long status; // 0 when no answer arrived
	int curl_rc; // CURLcode of the transfer
	char *body;  // NUL-terminated, malloc'd
	size_t len;
	char retry_after[32]; // the Retry-After header, or ""
	char allow[32];       // the Allow header, or ""
} http_resp;

// One request.  headers: NULL-terminated "Name: value" lines, sent as
// given (curl adds none of its own that these replace).  chunked: send the
// body with Transfer-Encoding: chunked in pieces of 257 bytes.
// timeout_ms 0: 30 s.  Returns curl_rc (0 on a completed transfer).
int http_do(const char *method, const char *url, const char *const *headers,
    const void *body, size_t len, int chunked, long timeout_ms,
    http_resp *out);
void http_resp_free(http_resp *r);
// The response body as JSON (a new reference) or fails the test.
json_t *http_json(const http_resp *r);

// POST a JSON text to base + path with x-api-key key; fills *out.
int http_post_json(const char *base, const char *path, const char *key,
    const char *json, http_resp *out);

// A multipart body of n root llm runs as the JS SDK frames them (post
// parts with length=, inputs/outputs/extra parts), ids
// 01a217b6-0000-7000-8000-<12 hex digits of first + i>, feature
// "f<i % 3>", model gpt-4o-mini, usage input 100 + i, output 10.
// Returns the body (malloc'd) and its length; the boundary is "XyZ".
char *mp_runs(uint64_t first, int n, size_t *len);
#define MP_CT "multipart/form-data; boundary=XyZ"

// POST mp_runs(first, n) to base + "/runs/multipart" with x-api-key key,
// chunked or not, timeout_ms as http_do's; fills *out.  Returns curl_rc.
int http_post_runs(const char *base, const char *key, uint64_t first, int n,
    int chunked, long timeout_ms, http_resp *out);

// GET base + path, with x-api-key key (NULL: no headers); fills *out.
// Returns curl_rc.
int http_get(
    const char *base, const char *path, const char *key, http_resp *out);

// The id of mp_runs run number k into out[37].
void mp_run_id(uint64_t k, char out[37]);

#endif // LLMCOST_STANDIN_CLIENT_H
