// A small LangSmith read client for the CLI (libcurl + jansson): JSON
// requests to LangSmith's read API (sessions, runs/query, runs/stats),
// retried by the rule the exporter uses (common/retry.c), with every
// answer capped in size.  The API key goes into one header list and
// nowhere else: never into a URL, an error message or a log line.
//
// Ownership: a reader owns its curl handle and headers; replies are the
// caller's (json_decref).  Threading: a reader is used by one thread.
#ifndef LLMCOST_CLI_LSREAD_H
#define LLMCOST_CLI_LSREAD_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define LSREAD_REPLY_MAX ((size_t) 64 << 20) // bytes of one answer
#define LSREAD_ERR_MAX   512                 // room for an error message
// The time one request may take with its retries, unless set: no wait
// starts that would end past it (--timeout).
#define LSREAD_TIMEOUT_MS 30000
// Sends to an endpoint that cannot be reached at all (connection
// refused, no such host) before giving up: a wrong --endpoint or a server
// that is down, told in about 1.5 s rather than after minutes of backoff.
#define LSREAD_UNREACHABLE_ATTEMPTS 3

typedef struct lsread lsread;

typedef struct lsread_counts {
	uint64_t requests; // sent, retries included
	uint64_t retries;  // sent again after a retryable answer or error
} lsread_counts;

// Opens a reader on endpoint (LangSmith's base URL, e.g.
// https://api.smith.langchain.com; a trailing "/" or "/api/v1" is
// dropped) with api_key and, when workspace is not NULL or empty, the
// x-tenant-id header.  Returns 0 and *rp, LLMCOST_EINVAL (a NULL or empty
// endpoint or key, or one too long), LLMCOST_ENOMEM, LLMCOST_ESYSTEM
// (libcurl cannot be loaded: cli_curl_error in curl_lib.h says why).
int lsread_open(lsread **rp, const char *endpoint, const char *api_key,
    const char *workspace);
void lsread_close(lsread *r);

// Sets the time budget of each request, retries included, in ms (0: the
// default, LSREAD_TIMEOUT_MS).  A retry whose wait would end past it is
// not made: the request fails with what the last send met.
void lsread_set_timeout(lsread *r, uint32_t ms);

// Sends GET path (body NULL) or POST path with body as JSON; path starts
// with "/api/".  Retries 408, 425, 429, 5xx and connection errors up to
// LLMCOST__RETRY_ATTEMPTS sends (LSREAD_UNREACHABLE_ATTEMPTS when nothing
// answers at the endpoint), waiting as the server asks or backing off,
// within the time budget (lsread_set_timeout).  On a 2xx answer returns 0 with the parsed JSON in *reply.
// Otherwise *status is the last HTTP status (0: no answer) and err says
// why: LLMCOST_EPROTO (a final non-2xx answer, or a 2xx that is not
// JSON), LLMCOST_ECONNECT (no answer after the retries), LLMCOST_ETOOBIG
// (an answer above LSREAD_REPLY_MAX), LLMCOST_ENOMEM.
int lsread_call(lsread *r, const char *path, const json_t *body,
    json_t **reply, long *status, char *err, size_t errsz);

// Percent-encodes s for a URL query into out (outsz bytes).  Returns 0 or
// LLMCOST_ETOOBIG.
int lsread_escape(const char *s, char *out, size_t outsz);

void lsread_counts_get(const lsread *r, lsread_counts *out);

#endif // LLMCOST_CLI_LSREAD_H
