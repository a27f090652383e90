// DESIGN: the CLI's LangSmith reader.  One libcurl easy handle (the
// connection is kept alive from request to request, as a reconciliation
// pages through thousands of answers), one header list holding the API
// key, and one growing reply buffer capped at LSREAD_REPLY_MAX: an
// answer over it is refused, never truncated.  Retries follow the rule
// the exporter follows (common/retry.c): the same statuses, the server's
// Retry-After waited out in full, 10 s for a bare 429, else a doubling
// backoff from LLMCOST__RETRY_BASE_MS to LLMCOST__RETRY_CAP_MS, at most
// LLMCOST__RETRY_ATTEMPTS sends.  A one-shot command has no herd to
// spread, so the backoff has no jitter.  Error messages name the path
// and the status and quote at most 200 bytes of the server's answer.
//
// A person is waiting, so two limits of the CLI's own stop the retrying
// early (the exporter, in the background, keeps to the shared rule
// alone): no wait starts that would end past the request's time budget
// (lsread_set_timeout, `--timeout`), and an endpoint that cannot be
// reached at all (connection refused, no such host) is given up after
// LSREAD_UNREACHABLE_ATTEMPTS sends: nothing listens there, and backing
// off for minutes would only hide a wrong --endpoint.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "curl_lib.h"
#include "llmcost_common.h"
#include "lsread.h"

#define URL_BYTES          (LLMCOST__URL_MAX + 1024)
#define CONNECT_TIMEOUT_MS 10000
#define REQUEST_TIMEOUT_MS 120000
#define REASON_MAX         200

struct lsread {
	const cli_curl *cu; // libcurl, loaded on first use
	CURL *curl;
	struct curl_slist *hdr;
	char base[LLMCOST__URL_MAX];
	char *buf; // the answer
	size_t len, cap;
	int too_big;
	int retry_after_ms;
	uint32_t
	    timeout_ms; // the time budget of one request, retries included
	lsread_counts n;
};

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	lsread *r = arg;
	size_t n = size * nmemb;

	if (r->len + n + 1 > LSREAD_REPLY_MAX) {
		r->too_big = 1;
		return (0); // aborts the transfer
	}
	if (r->len + n + 1 > r->cap) {
		size_t c = r->cap ? r->cap : 65536;
		while (c < r->len + n + 1) {
			c *= 2;
		}
		char *nb = realloc(r->buf, c);
		if (nb == NULL) {
			return (0);
		}
		r->buf = nb;
		r->cap = c;
	}
	memcpy(r->buf + r->len, p, n);
	r->len += n;
	r->buf[r->len] = '\0';
	return (n);
}

int
lsread_open(lsread **rp, const char *endpoint, const char *api_key,
    const char *workspace)
{
	char h[LLMCOST__URL_MAX + 32];
	lsread *r;
	size_t n;

	if (rp == NULL || endpoint == NULL || *endpoint == '\0'
	    || api_key == NULL || *api_key == '\0' || strlen(api_key) > 1024
	    || strlen(endpoint) >= LLMCOST__URL_MAX
	    || (workspace != NULL && strlen(workspace) > 256)) {
		return (LLMCOST_EINVAL);
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	r->timeout_ms = LSREAD_TIMEOUT_MS;
	if ((r->cu = cli_curl_get()) == NULL) {
		free(r);
		return (LLMCOST_ESYSTEM);
	}
	snprintf(r->base, sizeof(r->base), "%s", endpoint);
	n = strlen(r->base);
	while (n > 0 && r->base[n - 1] == '/') {
		r->base[--n] = '\0';
	}
	if (n >= 7 && strcmp(r->base + n - 7, "/api/v1") == 0) {
		r->base[n - 7] = '\0';
	}
	if (r->cu->global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK
	    || (r->curl = r->cu->easy_init()) == NULL) {
		free(r);
		return (LLMCOST_ENOMEM);
	}
	snprintf(h, sizeof(h), "x-api-key: %s", api_key);
	r->hdr = r->cu->slist_append(NULL, h);
	memset(h, 0, sizeof(h));
	if (workspace != NULL && *workspace != '\0') {
		snprintf(h, sizeof(h), "x-tenant-id: %s", workspace);
		r->hdr = r->hdr ? r->cu->slist_append(r->hdr, h) : NULL;
	}
	if (r->hdr != NULL) {
		r->hdr
		    = r->cu->slist_append(r->hdr, "Accept: application/json");
	}
	if (r->hdr != NULL) {
		r->hdr = r->cu->slist_append(
		    r->hdr, "Content-Type: application/json");
	}
	if (r->hdr == NULL) {
		lsread_close(r);
		return (LLMCOST_ENOMEM);
	}
	r->cu->easy_setopt(r->curl, CURLOPT_HTTPHEADER, r->hdr);
	r->cu->easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, on_body);
	r->cu->easy_setopt(r->curl, CURLOPT_WRITEDATA, r);
	r->cu->easy_setopt(
	    r->curl, CURLOPT_HEADERFUNCTION, llmcost__retry_after_on_header);
	r->cu->easy_setopt(r->curl, CURLOPT_HEADERDATA, &r->retry_after_ms);
	r->cu->easy_setopt(
	    r->curl, CURLOPT_CONNECTTIMEOUT_MS, (long) CONNECT_TIMEOUT_MS);
	r->cu->easy_setopt(
	    r->curl, CURLOPT_TIMEOUT_MS, (long) REQUEST_TIMEOUT_MS);
	r->cu->easy_setopt(r->curl, CURLOPT_NOSIGNAL, 1L);
	r->cu->easy_setopt(r->curl, CURLOPT_USERAGENT, "llmcost-reconcile");
	r->cu->easy_setopt(r->curl, CURLOPT_ACCEPT_ENCODING, "");
	*rp = r;
	return (0);
}

void
lsread_close(lsread *r)
{
	if (r == NULL) {
		return;
	}
	if (r->curl != NULL) {
		r->cu->easy_cleanup(r->curl);
		r->cu->global_cleanup();
	}
	if (r->hdr != NULL) {
		r->cu->slist_free_all(r->hdr);
	}
	free(r->buf);
	free(r);
}

void
lsread_counts_get(const lsread *r, lsread_counts *out)
{
	*out = r->n;
}

int
lsread_escape(const char *s, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char) *s;
		int plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		    || (c >= '0' && c <= '9') || c == '-' || c == '_'
		    || c == '.' || c == '~';
		if (o + (plain ? 1 : 3) >= outsz) {
			return (LLMCOST_ETOOBIG);
		}
		if (plain) {
			out[o++] = (char) c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (outsz == 0) {
		return (LLMCOST_ETOOBIG);
	}
	out[o] = '\0';
	return (0);
}

void
lsread_set_timeout(lsread *r, uint32_t ms)
{
	r->timeout_ms = ms > 0 ? ms : LSREAD_TIMEOUT_MS;
}

// Nothing answers at the endpoint: no connection (refused, or no route)
// or no such host.  A time-out or a reset is not this: a slow or
// restarting server may answer the next send.
static int
unreachable(CURLcode rc)
{
	return (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST
	    || rc == CURLE_COULDNT_RESOLVE_PROXY);
}

static void
sleep_ms(uint32_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
		.tv_nsec = (long) (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0) { }
}

// The server's answer, printable and short, for an error message.
static const char *
reason(lsread *r)
{
	size_t n = r->len < REASON_MAX ? r->len : REASON_MAX;

	if (r->buf == NULL) {
		return ("");
	}
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char) r->buf[i] < 0x20
		    || (unsigned char) r->buf[i] >= 0x7f) {
			r->buf[i] = ' ';
		}
	}
	r->buf[n] = '\0';
	return (r->buf);
}

int
lsread_call(lsread *r, const char *path, const json_t *body, json_t **reply,
    long *status, char *err, size_t errsz)
{
	char url[URL_BYTES];
	char *text = NULL;
	uint32_t backoff = LLMCOST__RETRY_BASE_MS;
	uint64_t t0 = llmcost__mono_ns() / 1000000u;
	int refused = 0; // sends in a row that found nothing listening
	int n;

	*reply = NULL;
	*status = 0;
	n = snprintf(url, sizeof(url), "%s%s", r->base, path);
	if (n < 0 || (size_t) n >= sizeof(url)) {
		snprintf(err, errsz, "%s: URL too long", path);
		return (LLMCOST_ETOOBIG);
	}
	if (body != NULL && (text = json_dumps(body, JSON_COMPACT)) == NULL) {
		snprintf(err, errsz, "%s: no memory", path);
		return (LLMCOST_ENOMEM);
	}
	r->cu->easy_setopt(r->curl, CURLOPT_URL, url);
	if (text != NULL) {
		r->cu->easy_setopt(r->curl, CURLOPT_POSTFIELDS, text);
		r->cu->easy_setopt(r->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t) strlen(text));
	} else {
		r->cu->easy_setopt(r->curl, CURLOPT_HTTPGET, 1L);
	}
	for (int attempt = 1;; attempt++) {
		long st = 0;
		int asked = 0;
		uint32_t wait;

		r->len = 0;
		r->too_big = 0;
		r->retry_after_ms = -1;
		if (r->buf != NULL) {
			r->buf[0] = '\0';
		}
		r->n.requests++;
		CURLcode rc = r->cu->easy_perform(r->curl);
		if (rc == CURLE_OK) {
			r->cu->easy_getinfo(
			    r->curl, CURLINFO_RESPONSE_CODE, &st);
		}
		*status = st;
		if (r->too_big) {
			free(text);
			snprintf(err, errsz,
			    "%s: LangSmith's answer is larger than %zu MiB",
			    path, LSREAD_REPLY_MAX >> 20);
			return (LLMCOST_ETOOBIG);
		}
		if (rc == CURLE_OK && st >= 200 && st <= 299) {
			json_error_t je;
			free(text);
			*reply = json_loadb(r->buf ? r->buf : "", r->len,
			    JSON_DECODE_ANY, &je);
			if (*reply == NULL) {
				snprintf(err, errsz,
				    "%s: LangSmith's answer is not JSON (%s)",
				    path, je.text);
				return (LLMCOST_EPROTO);
			}
			return (0);
		}
		if (rc == CURLE_OK && !llmcost__http_retryable(st)) {
			free(text);
			snprintf(err, errsz, "%s: HTTP %ld: %s", path, st,
			    reason(r));
			return (LLMCOST_EPROTO);
		}
		refused = rc != CURLE_OK && unreachable(rc) ? refused + 1 : 0;
		if (refused >= LSREAD_UNREACHABLE_ATTEMPTS) {
			free(text);
			snprintf(err, errsz,
			    "%s: cannot reach LangSmith (%s, %d attempts): "
			    "check --endpoint or LANGSMITH_ENDPOINT and that "
			    "the server is up",
			    path, r->cu->easy_strerror(rc), attempt);
			return (LLMCOST_ECONNECT);
		}
		if (attempt >= LLMCOST__RETRY_ATTEMPTS) {
			free(text);
			if (rc != CURLE_OK) {
				snprintf(err, errsz,
				    "%s: no answer after %d attempts: %s",
				    path, attempt, r->cu->easy_strerror(rc));
				return (LLMCOST_ECONNECT);
			}
			snprintf(err, errsz,
			    "%s: HTTP %ld after %d attempts: %s", path, st,
			    attempt, reason(r));
			return (LLMCOST_EPROTO);
		}
		wait = rc == CURLE_OK ? llmcost__retry_wait(
		           st, r->retry_after_ms, backoff, &asked)
		                      : backoff;
		uint64_t spent = llmcost__mono_ns() / 1000000u - t0;
		if (spent + wait > r->timeout_ms) {
			// The next send would start past the budget.
			free(text);
			if (rc != CURLE_OK) {
				snprintf(err, errsz,
				    "%s: no answer in %d attempts within the "
				    "%u ms of --timeout: %s; try again later "
				    "or raise --timeout",
				    path, attempt, r->timeout_ms,
				    r->cu->easy_strerror(rc));
				return (LLMCOST_ECONNECT);
			}
			snprintf(err, errsz,
			    "%s: HTTP %ld in %d attempts within the %u ms of "
			    "--timeout (next wait %u ms): %s; try again later "
			    "or raise --timeout",
			    path, st, attempt, r->timeout_ms, wait, reason(r));
			return (LLMCOST_EPROTO);
		}
		if (!asked) {
			backoff = backoff <= LLMCOST__RETRY_CAP_MS / 2
			    ? backoff * 2
			    : LLMCOST__RETRY_CAP_MS;
		}
		r->n.retries++;
		sleep_ms(wait);
	}
}
