// DESIGN: the stand-in's HTTP side on libmicrohttpd, chosen because it
// reads chunked request bodies (the official SDKs stream multipart bodies
// with Transfer-Encoding: chunked) where nng's HTTP server cannot (nng
// issue 773).  MHD runs one thread per connection, so a scripted slow
// answer holds only its own connection, as a slow real server would.
//
// A request goes through: route (404 and 405 for what LangSmith does not
// serve) -> fault rules (scripted per test) -> x-api-key (401) -> body
// size (413, counted after gzip decoding) -> parse and check with the
// shared LangSmith wire library (langsmith/) without the lock -> store or
// query under the lock.  Bodies are buffered up to the size cap and
// drained (not kept) beyond it, so a 413 is answered after the whole
// request like a server that reads before it judges; past a hard ceiling
// the connection is closed.  Every answer is counted per endpoint and
// status, and every cut connection per endpoint, for tests to assert on.
//
// Faults are rules: which endpoint, what to do (a status, with or without
// Retry-After; a delay; a reset mid-request), whether to process the
// request first (the answer is lost but the runs are stored, the case
// that makes a client's retry a duplicate), how many times and after how
// many passes.  Slow answers wait on a condition variable that
// standin_stop() broadcasts, so stopping never waits out a delay.

#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "llmcost_common.h"
#include "standin_int.h"

// Bodies past max_body are drained up to this much more, then the
// connection is cut.
#define DRAIN_MAX ((size_t) 64 << 20)
// JSON values allowed in a read API body.
#define QUERY_VALUES_MAX 10000

static const char *const ep_names[STANDIN_EP_COUNT]
    = { "info", "multipart", "batch", "runs", "patch", "sessions", "query_v1",
	      "query_v2", "stats", "other" };

const char *
standin_ep_name(int ep)
{
	return (ep >= 0 && ep < STANDIN_EP_COUNT ? ep_names[ep] : "?");
}

// ---- one request ----

typedef struct req {
	standin_ep ep;
	int route_status; // 404 or 405 when the route is not served
	const char *allow;
	char path_id[64];
	char *body;
	size_t len;
	size_t cap;
	size_t drained; // bytes past max_body, not kept
	size_t max_body;
	int has_fault;
	standin_fault fault;
} req;

static void
count(standin *s, standin_ep ep, int status)
{
	pthread_mutex_lock(&s->lock);
	if (status == STANDIN_RESET) {
		s->resets[ep]++;
	} else if (status >= 100 && status < 600) {
		s->counts[ep][status]++;
	}
	pthread_mutex_unlock(&s->lock);
}

static void
route(req *rq, const char *url, const char *method)
{
	const char *p = url;
	int post = strcmp(method, "POST") == 0;
	int get = strcmp(method, "GET") == 0;

	rq->ep = STANDIN_EP_OTHER;
	rq->route_status = 0;
	if (strncmp(p, "/api/v2/", 8) == 0 || strncmp(p, "/v2/", 4) == 0) {
		p += p[1] == 'a' ? 7 : 3;
		if (strcmp(p, "/runs/query") == 0) {
			rq->ep = STANDIN_EP_QUERY_V2;
			rq->allow = "POST";
			rq->route_status = post ? 0 : 405;
		} else {
			rq->route_status = 404;
		}
		return;
	}
	if (strncmp(p, "/api/v1/", 8) == 0) {
		p += 7;
	}
	if (strcmp(p, "/info") == 0) {
		rq->ep = STANDIN_EP_INFO;
		rq->allow = "GET";
		rq->route_status = get ? 0 : 405;
	} else if (strcmp(p, "/sessions") == 0) {
		rq->ep = STANDIN_EP_SESSIONS;
		rq->allow = "GET";
		rq->route_status = get ? 0 : 405;
	} else if (strcmp(p, "/runs") == 0) {
		rq->ep = STANDIN_EP_RUNS;
		rq->allow = "POST";
		rq->route_status = post ? 0 : 405;
	} else if (strncmp(p, "/runs/", 6) == 0 && strchr(p + 6, '/') == NULL
	    && p[6] != '\0') {
		static const struct {
			const char *name;
			standin_ep ep;
		} fixed[] = {
			{ "multipart", STANDIN_EP_MULTIPART },
			{ "batch", STANDIN_EP_BATCH },
			{ "query", STANDIN_EP_QUERY_V1 },
			{ "stats", STANDIN_EP_STATS },
		};

		for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
			if (strcmp(p + 6, fixed[i].name) == 0) {
				rq->ep = fixed[i].ep;
				rq->allow = "POST";
				rq->route_status = post ? 0 : 405;
				return;
			}
		}
		rq->ep = STANDIN_EP_PATCH;
		rq->allow = "PATCH";
		rq->route_status = strcmp(method, "PATCH") == 0 ? 0 : 405;
		snprintf(rq->path_id, sizeof(rq->path_id), "%s", p + 6);
	} else {
		rq->route_status = 404;
	}
}

// The first fault rule that takes this request, consumed.
static void
pick_fault(standin *s, req *rq)
{
	pthread_mutex_lock(&s->lock);
	s->received[rq->ep]++;
	for (size_t i = 0; i < s->n_faults; i++) {
		const standin_fault *f = &s->faults[i];
		uint64_t every = f->every > 1 ? (uint64_t) f->every : 1;
		uint64_t seen;

		if ((f->ep != STANDIN_EP_ANY && f->ep != rq->ep)
		    || s->fault_left[i] == 0) {
			continue;
		}
		seen = s->fault_seen[i]++;
		if (seen < (uint64_t) f->skip
		    || (seen - (uint64_t) f->skip) % every != every - 1) {
			continue;
		}
		if (s->fault_left[i] > 0) {
			s->fault_left[i]--;
		}
		rq->fault = *f;
		rq->has_fault = 1;
		break;
	}
	pthread_mutex_unlock(&s->lock);
}

static void
sleep_ms(standin *s, int ms)
{
	struct timespec until = llmcost__deadline_ms(ms);

	pthread_mutex_lock(&s->lock);
	while (!s->stopping
	    && pthread_cond_timedwait(&s->wake, &s->lock, &until) == 0) { }
	pthread_mutex_unlock(&s->lock);
}

// ---- answers ----

static enum MHD_Result
send_json(standin *s, struct MHD_Connection *c, req *rq, int status, json_t *j,
    int retry_after)
{
	char *txt = j
	    ? json_dumps(
	        j, JSON_COMPACT | JSON_REAL_PRECISION(15) | JSON_ENCODE_ANY)
	    : NULL;
	struct MHD_Response *r;
	enum MHD_Result rv;

	json_decref(j);
	if (txt == NULL) {
		txt = strdup("{\"error\":\"out of memory\"}");
		status = 500;
		if (txt == NULL) {
			return (MHD_NO);
		}
	}
	r = MHD_create_response_from_buffer(
	    strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
	if (r == NULL) {
		free(txt);
		return (MHD_NO);
	}
	MHD_add_response_header(r, "Content-Type", "application/json");
	if (retry_after > 0) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%d", retry_after);
		MHD_add_response_header(r, "Retry-After", ra);
	}
	if (status == 405 && rq->allow != NULL) {
		MHD_add_response_header(r, "Allow", rq->allow);
	}
	rv = MHD_queue_response(c, (unsigned) status, r);
	MHD_destroy_response(r);
	count(s, rq->ep, status);
	return (rv);
}

// LangSmith's error body: {"error": "...", "details": "..."}.
static json_t *
error_json(const char *msg, const char *details)
{
	if (details != NULL) {
		return (
		    json_pack("{s:s,s:s}", "error", msg, "details", details));
	}
	return (json_pack("{s:s}", "error", msg));
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 400:
		return ("Bad Request");
	case 401:
		return ("Unauthorized");
	case 403:
		return ("Forbidden");
	case 404:
		return ("Not Found");
	case 405:
		return ("Method Not Allowed");
	case 408:
		return ("Request Timeout");
	case 409:
		return ("Conflict");
	case 413:
		return ("Payload Too Large");
	case 422:
		return ("Unprocessable Entity");
	case 425:
		return ("Too Early");
	case 429:
		return ("Too Many Requests");
	case 500:
		return ("Internal Server Error");
	case 502:
		return ("Bad Gateway");
	case 503:
		return ("Service Unavailable");
	case 504:
		return ("Gateway Timeout");
	default:
		return ("Error");
	}
}

// ---- handlers: each sets *status and returns the JSON to send ----

static json_t *
fail_json(int *status, const llmcost_ls_error *e)
{
	*status = e->status ? e->status : 400;
	return (error_json(reason_phrase(*status), e->msg));
}

static json_t *
h_info(standin *s, const req *rq, int *status)
{
	pthread_mutex_lock(&s->lock);
	int gzip = !s->gzip_off;
	pthread_mutex_unlock(&s->lock);
	*status = 200;
	return (json_pack("{s:s,s:n,s:{s:b,s:b},s:{s:b,s:i,s:i,s:i,s:i,s:I}}",
	    "version", "0.10.5-llmcost-standin", "license_expiration_time",
	    "instance_flags", "gzip_body_enabled", gzip,
	    "zstd_compression_enabled", 0, "batch_ingest_config",
	    "use_multipart_endpoint", 1, "scale_up_qsize_trigger", 1000,
	    "scale_up_nthreads_limit", 16, "scale_down_nempty_trigger", 4,
	    "size_limit", 100, "size_limit_bytes",
	    (json_int_t) (rq->max_body < (20u << 20) ? rq->max_body
	                                             : (20u << 20))));
}

static json_t *
h_ingest(standin *s, struct MHD_Connection *c, req *rq, const char *body,
    size_t len, int *status)
{
	llmcost_ls_limits lim = { .body_max = rq->max_body };
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };
	unsigned flags = s->strict_start ? LLMCOST_LS_F_STRICT_START : 0;
	json_t *dups = NULL;
	int rv;

	switch (rq->ep) {
	case STANDIN_EP_MULTIPART:
		rv = llmcost_ls_batch_from_multipart(
		    MHD_lookup_connection_value(
		        c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
		    (const uint8_t *) body, len, &lim, flags, &b, &e);
		break;
	case STANDIN_EP_BATCH:
		rv = llmcost_ls_batch_from_json(
		    (const uint8_t *) body, len, &lim, flags, &b, &e);
		break;
	case STANDIN_EP_RUNS:
		rv = llmcost_ls_batch_from_run((const uint8_t *) body, len,
		    LLMCOST_LS_POST, NULL, &lim, flags, &b, &e);
		break;
	default: // PATCH /runs/{id}
		rv = llmcost_ls_batch_from_run((const uint8_t *) body, len,
		    LLMCOST_LS_PATCH, rq->path_id, &lim, flags, &b, &e);
		break;
	}
	if (rv != 0) {
		return (fail_json(status, &e));
	}
	pthread_mutex_lock(&s->lock);
	if (rq->ep == STANDIN_EP_PATCH) {
		const st_run *r = store_find(s, b.ops[0].info.id);

		if (r == NULL || !r->posted) {
			pthread_mutex_unlock(&s->lock);
			llmcost_ls_batch_free(&b);
			*status = 404;
			return (error_json("Not Found", "run not found"));
		}
	}
	rv = store_apply(s, &b, &dups, &e);
	pthread_mutex_unlock(&s->lock);
	llmcost_ls_batch_free(&b);
	if (rv != 0) {
		json_decref(dups);
		return (fail_json(status, &e));
	}
	if (dups != NULL) {
		char *d = json_dumps(dups, JSON_COMPACT);
		json_t *j;

		json_decref(dups);
		*status = 409;
		j = error_json("Conflict: payload already received: payloads "
		               "already received",
		    d);
		free(d);
		return (j);
	}
	*status = 202;
	return (json_object());
}

static json_t *
h_read(standin *s, req *rq, const char *body, size_t len, int *status)
{
	llmcost_ls_error e = { 0 };
	json_t *in = NULL;
	json_t *out = NULL;
	int rv;

	if (llmcost_ls_json_scan(body, len, QUERY_VALUES_MAX, NULL, &e) != 0) {
		return (fail_json(status, &e));
	}
	if ((in = json_loadb(body, len, 0, NULL)) == NULL) {
		*status = 400;
		return (error_json("Bad Request", "body: invalid JSON"));
	}
	pthread_mutex_lock(&s->lock);
	switch (rq->ep) {
	case STANDIN_EP_QUERY_V1:
		rv = query_v1(s, in, &out, &e);
		break;
	case STANDIN_EP_QUERY_V2:
		rv = query_v2(s, in, &out, &e);
		break;
	default:
		rv = query_stats(s, in, &out, &e);
		break;
	}
	pthread_mutex_unlock(&s->lock);
	json_decref(in);
	if (rv != 0) {
		return (fail_json(status, &e));
	}
	*status = 200;
	return (out);
}

static json_t *
h_sessions(standin *s, struct MHD_Connection *c, int *status)
{
	llmcost_ls_error e = { 0 };
	json_t *out = NULL;
	int rv;

#define ARG(k) MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k)
	pthread_mutex_lock(&s->lock);
	rv = query_sessions(s, ARG("name"), ARG("name_contains"), ARG("limit"),
	    ARG("offset"), ARG("include_stats"), &out, &e);
	pthread_mutex_unlock(&s->lock);
#undef ARG
	if (rv != 0) {
		return (fail_json(status, &e));
	}
	*status = 200;
	return (out);
}

// 0 when the request carries an acceptable key, else the reason.
static const char *
auth(standin *s, struct MHD_Connection *c)
{
	const char *key
	    = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-api-key");
	const char *bearer
	    = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");

	if (key == NULL && bearer != NULL
	    && strncmp(bearer, "Bearer ", 7) == 0) {
		// OAS: a bearer token must name a workspace or an organization.
		if (MHD_lookup_connection_value(
		        c, MHD_HEADER_KIND, "x-tenant-id")
		        == NULL
		    && MHD_lookup_connection_value(
		           c, MHD_HEADER_KIND, "x-organization-id")
		        == NULL) {
			return ("Authorization: Bearer needs x-tenant-id or "
			        "x-organization-id");
		}
		key = bearer + 7;
	}
	if (key == NULL || key[0] == '\0') {
		return ("missing x-api-key header");
	}
	if (s->api_key != NULL && strcmp(key, s->api_key) != 0) {
		return ("invalid API key");
	}
	return (NULL);
}

// gzip request bodies (OAS: Content-Encoding on the whole request).
// Returns 0 with *out (malloc'd) or the status to answer.
static int
decode_body(struct MHD_Connection *c, req *rq, char **out, size_t *outlen,
    const char **why)
{
	const char *ce = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_ENCODING);
	z_stream z;
	char *buf;
	size_t cap;
	int zr;

	*out = NULL;
	if (ce == NULL || strcmp(ce, "identity") == 0) {
		return (0);
	}
	if (strcmp(ce, "gzip") != 0) {
		*why = "Content-Encoding: the stand-in decodes gzip only";
		return (415);
	}
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
		*why = "out of memory";
		return (500);
	}
	cap = rq->len * 4 + 1024;
	if (cap > rq->max_body + 1) {
		cap = rq->max_body + 1;
	}
	if ((buf = malloc(cap)) == NULL) {
		inflateEnd(&z);
		*why = "out of memory";
		return (500);
	}
	z.next_in = (Bytef *) rq->body;
	z.avail_in = (uInt) rq->len;
	z.next_out = (Bytef *) buf;
	z.avail_out = (uInt) cap;
	for (;;) {
		zr = inflate(&z, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			if (z.avail_in != 0) {
				// One gzip member is the whole body, as a
				// strict server reads it.
				free(buf);
				inflateEnd(&z);
				*why = "Content-Encoding: gzip: bytes after "
				       "the "
				       "gzip member";
				return (400);
			}
			break;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			free(buf);
			inflateEnd(&z);
			*why = "Content-Encoding: gzip: the body does not "
			       "decode";
			return (400);
		}
		if (z.avail_out == 0) {
			size_t ncap = cap * 2;
			char *nb;

			if (cap > rq->max_body) {
				free(buf);
				inflateEnd(&z);
				*why = "the decoded body is over the size "
				       "limit";
				return (413);
			}
			if (ncap > rq->max_body + 1) {
				ncap = rq->max_body + 1;
			}
			if ((nb = realloc(buf, ncap)) == NULL) {
				free(buf);
				inflateEnd(&z);
				*why = "out of memory";
				return (500);
			}
			buf = nb;
			z.next_out = (Bytef *) buf + cap;
			z.avail_out = (uInt) (ncap - cap);
			cap = ncap;
		} else if (z.avail_in == 0) {
			free(buf);
			inflateEnd(&z);
			*why = "Content-Encoding: gzip: the body is truncated";
			return (400);
		}
	}
	*outlen = z.total_out;
	inflateEnd(&z);
	if (*outlen > rq->max_body) {
		free(buf);
		*why = "the decoded body is over the size limit";
		return (413);
	}
	*out = buf;
	return (0);
}

static json_t *
handle(standin *s, struct MHD_Connection *c, req *rq, int *status)
{
	const char *why = NULL;
	char *decoded = NULL;
	size_t dlen = 0;
	const char *body;
	size_t len;
	json_t *j;
	int st;

	if (rq->route_status != 0) {
		*status = rq->route_status;
		return (json_pack("{s:s}", "detail", reason_phrase(*status)));
	}
	if (rq->ep == STANDIN_EP_INFO) {
		return (h_info(s, rq, status));
	}
	if ((why = auth(s, c)) != NULL) {
		*status = 401;
		return (error_json("Unauthorized", why));
	}
	const char *tenant
	    = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "x-tenant-id");
	pthread_mutex_lock(&s->lock);
	snprintf(
	    s->tenant, sizeof(s->tenant), "%s", tenant != NULL ? tenant : "");
	pthread_mutex_unlock(&s->lock);
	if (rq->drained > 0) {
		char d[96];

		snprintf(d, sizeof(d),
		    "the body is over the limit of %zu bytes", rq->max_body);
		*status = 413;
		return (error_json("Payload Too Large", d));
	}
	if ((st = decode_body(c, rq, &decoded, &dlen, &why)) != 0) {
		*status = st;
		return (error_json(reason_phrase(st), why));
	}
	if (decoded != NULL) {
		pthread_mutex_lock(&s->lock);
		s->n_gzip++;
		pthread_mutex_unlock(&s->lock);
	}
	body = decoded ? decoded : (rq->body ? rq->body : "");
	len = decoded ? dlen : rq->len;
	switch (rq->ep) {
	case STANDIN_EP_SESSIONS:
		j = h_sessions(s, c, status);
		break;
	case STANDIN_EP_QUERY_V1:
	case STANDIN_EP_QUERY_V2:
	case STANDIN_EP_STATS:
		j = h_read(s, rq, body, len, status);
		break;
	default:
		j = h_ingest(s, c, rq, body, len, status);
		break;
	}
	free(decoded);
	return (j);
}

static int
append(req *rq, const char *data, size_t n)
{
	if (rq->drained > 0 || rq->len + n > rq->max_body) {
		rq->drained += n;
		return (rq->drained > DRAIN_MAX ? -1 : 0);
	}
	if (rq->len + n > rq->cap) {
		size_t ncap = rq->cap ? rq->cap : 4096;
		char *nb;

		while (ncap < rq->len + n) {
			ncap *= 2;
		}
		if (ncap > rq->max_body) {
			ncap = rq->max_body;
		}
		if ((nb = realloc(rq->body, ncap)) == NULL) {
			return (-1);
		}
		rq->body = nb;
		rq->cap = ncap;
	}
	memcpy(rq->body + rq->len, data, n);
	rq->len += n;
	return (0);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	standin *s = cls;
	req *rq = *con_cls;
	json_t *j;
	int status = 500;

	(void) version;
	if (rq == NULL) {
		if ((rq = calloc(1, sizeof(*rq))) == NULL) {
			return (MHD_NO);
		}
		route(rq, url, method);
		pthread_mutex_lock(&s->lock);
		rq->max_body = s->max_body;
		pthread_mutex_unlock(&s->lock);
		pick_fault(s, rq);
		*con_cls = rq;
		return (MHD_YES);
	}
	if (*upload_data_size > 0) {
		if (rq->has_fault && rq->fault.reset
		    && !rq->fault.after_store) {
			count(s, rq->ep, STANDIN_RESET);
			return (MHD_NO); // cut mid-request
		}
		if (append(rq, upload_data, *upload_data_size) != 0) {
			count(s, rq->ep, STANDIN_RESET);
			return (MHD_NO);
		}
		*upload_data_size = 0;
		return (MHD_YES);
	}
	if (rq->ep == STANDIN_EP_MULTIPART || rq->ep == STANDIN_EP_BATCH
	    || rq->ep == STANDIN_EP_RUNS) {
		pthread_mutex_lock(&s->lock);
		while (s->hold && !s->stopping) {
			pthread_cond_wait(&s->wake, &s->lock);
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (rq->has_fault) {
		const standin_fault *f = &rq->fault;

		if (f->delay_ms > 0) {
			sleep_ms(s, f->delay_ms);
		}
		if (f->reset && !f->after_store) {
			count(s, rq->ep, STANDIN_RESET);
			return (MHD_NO);
		}
		if (f->status != 0 && !f->after_store) {
			return (send_json(s, c, rq, f->status,
			    error_json(reason_phrase(f->status),
			        "injected by the stand-in"),
			    f->retry_after));
		}
	}
	j = handle(s, c, rq, &status);
	if (rq->has_fault && rq->fault.after_store) {
		json_decref(j);
		if (rq->fault.reset) {
			count(s, rq->ep, STANDIN_RESET);
			return (MHD_NO);
		}
		if (rq->fault.status != 0) {
			return (send_json(s, c, rq, rq->fault.status,
			    error_json(reason_phrase(rq->fault.status),
			        "injected by the stand-in after storing"),
			    rq->fault.retry_after));
		}
		j = json_object();
	}
	return (send_json(s, c, rq, status, j, 0));
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	req *rq = *con_cls;

	(void) cls;
	(void) c;
	(void) toe;
	if (rq != NULL) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

// ---- lifecycle ----

int
standin_start(const standin_options *opts, standin **sp)
{
	standin_options o = { 0 };
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *info;
	pthread_condattr_t ca;
	char why[256];
	standin *s;

	if (sp == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (opts != NULL) {
		o = *opts;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	if (prices_load(o.prices_json ? o.prices_json : standin_default_prices,
	        &s->prices, why, sizeof(why))
	    != 0) {
		fprintf(stderr, "langsmith stand-in: %s\n", why);
		free(s);
		return (LLMCOST_EINVAL);
	}
	s->api_key = o.api_key ? strdup(o.api_key) : NULL;
	s->max_body = o.max_body ? o.max_body : LLMCOST_LS_BODY_MAX_DEFAULT;
	s->strict_start = o.strict_start;
	s->drop_payloads = o.drop_payloads;
	s->cost_strings = STANDIN_COSTS_DEFAULT;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_condattr_destroy(&ca);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(o.port);
	if (inet_pton(AF_INET, o.host ? o.host : "127.0.0.1", &sa.sin_addr)
	    != 1) {
		standin_stop(s);
		return (LLMCOST_EINVAL);
	}
	s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD
	        | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL,
	    0, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *) &sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
	    s, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) 120, MHD_OPTION_END);
	if (s->mhd == NULL) {
		standin_stop(s);
		return (LLMCOST_ECONNECT);
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : o.port;
	snprintf(s->url, sizeof(s->url), "http://%s:%u",
	    o.host ? o.host : "127.0.0.1", (unsigned) s->port);
	*sp = s;
	return (0);
}

void
standin_stop(standin *s)
{
	if (s == NULL) {
		return;
	}
	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->mhd != NULL) {
		MHD_stop_daemon(s->mhd);
	}
	store_clear(s);
	prices_free(&s->prices);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	free(s->api_key);
	free(s);
}

uint16_t
standin_port(const standin *s)
{
	return (s->port);
}

const char *
standin_url(const standin *s)
{
	return (s->url);
}

// ---- faults and knobs ----

int
standin_fault_add(standin *s, const standin_fault *f)
{
	int rv = 0;

	pthread_mutex_lock(&s->lock);
	if (s->n_faults == STANDIN_FAULTS_MAX) {
		rv = LLMCOST_EFULL;
	} else {
		s->faults[s->n_faults] = *f;
		s->fault_left[s->n_faults] = f->times == 0 ? 1 : f->times;
		s->fault_seen[s->n_faults] = 0;
		s->n_faults++;
	}
	pthread_mutex_unlock(&s->lock);
	return (rv);
}

void
standin_faults_clear(standin *s)
{
	pthread_mutex_lock(&s->lock);
	s->n_faults = 0;
	pthread_mutex_unlock(&s->lock);
}

void
standin_set_max_body(standin *s, size_t bytes)
{
	pthread_mutex_lock(&s->lock);
	s->max_body = bytes ? bytes : LLMCOST_LS_BODY_MAX_DEFAULT;
	pthread_mutex_unlock(&s->lock);
}

void
standin_set_gzip_flag(standin *s, int on)
{
	pthread_mutex_lock(&s->lock);
	s->gzip_off = !on;
	pthread_mutex_unlock(&s->lock);
}

uint64_t
standin_gzipped(standin *s)
{
	pthread_mutex_lock(&s->lock);
	uint64_t n = s->n_gzip;
	pthread_mutex_unlock(&s->lock);
	return (n);
}

void
standin_hold(standin *s, int on)
{
	pthread_mutex_lock(&s->lock);
	s->hold = on;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

void
standin_tenant(standin *s, char *out, size_t sz)
{
	pthread_mutex_lock(&s->lock);
	snprintf(out, sz, "%s", s->tenant);
	pthread_mutex_unlock(&s->lock);
}

void
standin_set_cost_strings(standin *s, unsigned mask)
{
	pthread_mutex_lock(&s->lock);
	s->cost_strings = mask;
	pthread_mutex_unlock(&s->lock);
}

void
standin_set_refuse_group_by(standin *s, int refuse)
{
	pthread_mutex_lock(&s->lock);
	s->refuse_group_by = refuse;
	pthread_mutex_unlock(&s->lock);
}

void
standin_set_ingest_lag_ms(standin *s, int lag_ms)
{
	pthread_mutex_lock(&s->lock);
	s->lag_ms = lag_ms < 0 ? 0 : lag_ms;
	pthread_mutex_unlock(&s->lock);
}

int
standin_set_prices(standin *s, const char *prices_json)
{
	price_map m;
	char why[256];

	if (prices_load(prices_json ? prices_json : standin_default_prices, &m,
	        why, sizeof(why))
	    != 0) {
		fprintf(stderr, "langsmith stand-in: %s\n", why);
		return (LLMCOST_EINVAL);
	}
	pthread_mutex_lock(&s->lock);
	prices_free(&s->prices);
	s->prices = m;
	pthread_mutex_unlock(&s->lock);
	return (0);
}

// ---- reading back ----

uint64_t
standin_count(standin *s, standin_ep ep, int status)
{
	uint64_t n = 0;

	if (ep < 0 || ep >= STANDIN_EP_COUNT) {
		return (0);
	}
	pthread_mutex_lock(&s->lock);
	if (status == STANDIN_RESET) {
		n = s->resets[ep];
	} else if (status == 0) {
		for (int i = 0; i < 600; i++) {
			n += s->counts[ep][i];
		}
	} else if (status > 0 && status < 600) {
		n = s->counts[ep][status];
	}
	pthread_mutex_unlock(&s->lock);
	return (n);
}

uint64_t
standin_received(standin *s, standin_ep ep)
{
	uint64_t n = 0;

	if (ep >= 0 && ep < STANDIN_EP_COUNT) {
		pthread_mutex_lock(&s->lock);
		n = s->received[ep];
		pthread_mutex_unlock(&s->lock);
	}
	return (n);
}

uint64_t
standin_runs(standin *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_stored;
	pthread_mutex_unlock(&s->lock);
	return (n);
}

uint64_t
standin_duplicates(standin *s)
{
	uint64_t n;

	pthread_mutex_lock(&s->lock);
	n = s->n_dups;
	pthread_mutex_unlock(&s->lock);
	return (n);
}

int
standin_run_json(standin *s, const char *id, char **json)
{
	uint8_t bin[16];
	const st_run *r;
	json_t *j = NULL;

	if (id == NULL || json == NULL || llmcost__uuid_parse(id, bin) != 0) {
		return (LLMCOST_EINVAL);
	}
	pthread_mutex_lock(&s->lock);
	r = store_find(s, bin);
	if (r != NULL && r->posted) {
		j = query_run_v1(s, r);
	}
	pthread_mutex_unlock(&s->lock);
	if (j == NULL) {
		return (LLMCOST_ENOTFOUND);
	}
	*json = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(j);
	return (*json ? 0 : LLMCOST_ENOMEM);
}

int
standin_runs_json(standin *s, char **json)
{
	json_t *arr = json_array();

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; arr != NULL && i < s->n_runs; i++) {
		if (s->runs[i]->posted
		    && json_array_append_new(arr, query_run_v1(s, s->runs[i]))
		        != 0) {
			json_decref(arr);
			arr = NULL;
		}
	}
	pthread_mutex_unlock(&s->lock);
	*json = arr ? json_dumps(arr, JSON_COMPACT | JSON_REAL_PRECISION(15))
	            : NULL;
	json_decref(arr);
	return (*json ? 0 : LLMCOST_ENOMEM);
}

int
standin_session_id(standin *s, const char *name, char out[37])
{
	int i;

	pthread_mutex_lock(&s->lock);
	i = store_session_by_name(s, name);
	if (i >= 0) {
		llmcost__uuid_str(s->sessions[i].id, out);
	}
	pthread_mutex_unlock(&s->lock);
	return (i >= 0 ? 0 : LLMCOST_ENOTFOUND);
}

void
standin_reset(standin *s)
{
	pthread_mutex_lock(&s->lock);
	store_clear(s);
	memset(s->counts, 0, sizeof(s->counts));
	memset(s->resets, 0, sizeof(s->resets));
	memset(s->received, 0, sizeof(s->received));
	s->n_stored = 0;
	s->n_dups = 0;
	s->n_gzip = 0;
	s->tenant[0] = '\0';
	s->hold = 0;
	pthread_cond_broadcast(&s->wake);
	pthread_mutex_unlock(&s->lock);
}

int
standin_restore(standin *s)
{
	standin_reset(s);
	standin_faults_clear(s);
	standin_set_max_body(s, 0);
	standin_set_cost_strings(s, STANDIN_COSTS_DEFAULT);
	standin_set_refuse_group_by(s, 0);
	standin_set_ingest_lag_ms(s, 0);
	standin_set_gzip_flag(s, 1);
	return (standin_set_prices(s, NULL));
}
