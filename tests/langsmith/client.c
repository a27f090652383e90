// DESIGN: the tests' HTTP client: libcurl's easy interface, a fresh
// handle per request (no connection reuse, so each fault the stand-in
// injects hits exactly one request), the body either as a fixed-length
// POSTFIELDS or through a read callback in small pieces with
// Transfer-Encoding: chunked, as the JS SDK streams it.  Response bodies
// are capped at 64 MiB.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "client.h"
#include "testutil.h"

#define RESP_MAX ((size_t) 64 << 20)

typedef struct src {
	const char *p;
	size_t left;
} src;

static size_t
on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
	src *s = arg;
	size_t n = size * nmemb;

	if (n > 257) {
		n = 257; // small chunks: many chunk boundaries
	}
	if (n > s->left) {
		n = s->left;
	}
	memcpy(buf, s->p, n);
	s->p += n;
	s->left -= n;
	return (n);
}

static size_t
on_write(char *data, size_t size, size_t nmemb, void *arg)
{
	http_resp *r = arg;
	size_t n = size * nmemb;
	char *nb;

	if (r->len + n > RESP_MAX) {
		return (0);
	}
	if ((nb = realloc(r->body, r->len + n + 1)) == NULL) {
		return (0);
	}
	memcpy(nb + r->len, data, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = '\0';
	return (n);
}

static void
header_value(
    const char *line, size_t n, const char *name, char *out, size_t outsz)
{
	size_t nl = strlen(name);

	if (n > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
		const char *v = line + nl + 1;
		size_t vl = n - nl - 1;

		while (vl > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			vl--;
		}
		while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) {
			vl--;
		}
		snprintf(out, outsz, "%.*s", (int) vl, v);
	}
}

static size_t
on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	http_resp *r = arg;
	size_t n = size * nmemb;

	header_value(
	    line, n, "Retry-After", r->retry_after, sizeof(r->retry_after));
	header_value(line, n, "Allow", r->allow, sizeof(r->allow));
	return (n);
}

int
http_do(const char *method, const char *url, const char *const *headers,
    const void *body, size_t len, int chunked, long timeout_ms, http_resp *out)
{
	CURL *h = curl_easy_init();
	struct curl_slist *hl = NULL;
	src s = { body, len };
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	assert_non_null(h);
	for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
		hl = curl_slist_append(hl, headers[i]);
	}
	// No "Expect: 100-continue" of curl's own: send what was asked.
	hl = curl_slist_append(hl, "Expect:");
	if (chunked) {
		int has_te = 0;

		for (size_t i = 0; headers != NULL && headers[i] != NULL;
		     i++) {
			has_te |= strncasecmp(
			              headers[i], "transfer-encoding:", 18)
			    == 0;
		}
		if (!has_te) {
			hl = curl_slist_append(
			    hl, "Transfer-Encoding: chunked");
		}
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(
	    h, CURLOPT_TIMEOUT_MS, timeout_ms ? timeout_ms : 30000L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		if (chunked) {
			curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(h, CURLOPT_READDATA, &s);
		} else {
			curl_easy_setopt(
			    h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
			curl_easy_setopt(h, CURLOPT_POSTFIELDS,
			    body ? (const char *) body : "");
		}
		if (strcmp(method, "POST") != 0) {
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		}
	}
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
	out->curl_rc = (int) rc;
	if (out->body == NULL) {
		out->body = calloc(1, 1);
		assert_non_null(out->body);
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return ((int) rc);
}

void
http_resp_free(http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

json_t *
http_json(const http_resp *r)
{
	json_error_t e;
	json_t *j = json_loadb(r->body, r->len, JSON_DECODE_ANY, &e);

	if (j == NULL) {
		fail_msg("status %ld: body is not JSON (%s): %.200s",
		    r->status, e.text, r->body);
	}
	return (j);
}

int
http_post_json(const char *base, const char *path, const char *key,
    const char *json, http_resp *out)
{
	char url[256];
	char kh[128];
	const char *hdrs[] = { "Content-Type: application/json", kh, NULL };

	snprintf(url, sizeof(url), "%s%s", base, path);
	snprintf(kh, sizeof(kh), "x-api-key: %s", key);
	return (http_do("POST", url, hdrs, json, strlen(json), 0, 0, out));
}

int
http_post_runs(const char *base, const char *key, uint64_t first, int n,
    int chunked, long timeout_ms, http_resp *out)
{
	char url[256];
	char kh[128];
	const char *hdrs[] = { "Content-Type: " MP_CT, kh, NULL };
	size_t len;
	char *mp = mp_runs(first, n, &len);
	int rv;

	snprintf(url, sizeof(url), "%s/runs/multipart", base);
	snprintf(kh, sizeof(kh), "x-api-key: %s", key);
	rv = http_do("POST", url, hdrs, mp, len, chunked, timeout_ms, out);
	free(mp);
	return (rv);
}

int
http_get(const char *base, const char *path, const char *key, http_resp *out)
{
	char url[256];
	char kh[128];
	const char *hdrs[] = { kh, NULL };

	snprintf(url, sizeof(url), "%s%s", base, path);
	snprintf(kh, sizeof(kh), "x-api-key: %s", key ? key : "");
	return (http_do("GET", url, key ? hdrs : NULL, NULL, 0, 0, 0, out));
}

void
mp_run_id(uint64_t k, char out[37])
{
	snprintf(out, 37, "01a217b6-0000-7000-8000-%012llx",
	    (unsigned long long) k);
}

// Append one part with the JS SDK's framing.
static void
part(char **buf, size_t *len, size_t *cap, const char *name, const char *json)
{
	char head[256];
	int hn = snprintf(head, sizeof(head),
	    "--XyZ\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
	    "Content-Type: application/json; length=%zu\r\n\r\n",
	    name, strlen(json));
	size_t need = (size_t) hn + strlen(json) + 2;

	while (*len + need + 16 > *cap) {
		*cap = *cap ? *cap * 2 : 4096;
		*buf = realloc(*buf, *cap);
		assert_non_null(*buf);
	}
	memcpy(*buf + *len, head, (size_t) hn);
	*len += (size_t) hn;
	memcpy(*buf + *len, json, strlen(json));
	*len += strlen(json);
	memcpy(*buf + *len, "\r\n", 2);
	*len += 2;
}

char *
mp_runs(uint64_t first, int n, size_t *len)
{
	char *buf = NULL;
	size_t cap = 0;

	*len = 0;
	for (int i = 0; i < n; i++) {
		char id[37];
		char name[64];
		char run[1024];
		char usage[256];
		char extra[512];
		// Distinct, increasing start times (one per microsecond).
		int us = (int) ((first + (uint64_t) i) % 1000000);

		mp_run_id(first + (uint64_t) i, id);
		snprintf(run, sizeof(run),
		    "{\"session_name\":\"load\",\"id\":\"%s\",\"name\":"
		    "\"call\","
		    "\"start_time\":\"2026-11-26T12:00:00.%06dZ\",\"end_"
		    "time\":"
		    "1795694401000,\"run_type\":\"llm\",\"trace_id\":\"%s\","
		    "\"dotted_order\":\"20261126T120000%06dZ%s\"}",
		    id, us, id, us, id);
		snprintf(usage, sizeof(usage),
		    "{\"input_tokens\":%d,\"output_tokens\":10,\"total_"
		    "tokens\":"
		    "%d}",
		    100 + i, 110 + i);
		snprintf(extra, sizeof(extra),
		    "{\"metadata\":{\"feature\":\"f%d\",\"ls_provider\":"
		    "\"openai\",\"ls_model_name\":\"gpt-4o-mini\","
		    "\"usage_metadata\":%s}}",
		    i % 3, usage);
		snprintf(name, sizeof(name), "post.%s", id);
		part(&buf, len, &cap, name, run);
		snprintf(name, sizeof(name), "post.%s.inputs", id);
		part(&buf, len, &cap, name, "{}");
		{
			char outputs[300];

			snprintf(outputs, sizeof(outputs),
			    "{\"usage_metadata\":%s}", usage);
			snprintf(name, sizeof(name), "post.%s.outputs", id);
			part(&buf, len, &cap, name, outputs);
		}
		snprintf(name, sizeof(name), "post.%s.extra", id);
		part(&buf, len, &cap, name, extra);
	}
	if (*len + 16 > cap) {
		cap = *len + 16;
		buf = realloc(buf, cap);
		assert_non_null(buf);
	}
	memcpy(buf + *len, "--XyZ--\r\n", 9);
	*len += 9;
	return (buf);
}
