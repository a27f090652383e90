// DESIGN: the LangSmith exporter: every call becomes one complete `llm`
// run (its create carries end_time, outputs and usage, so it is one
// ingest event and gets costed), sent in batches to POST /runs/multipart
// as LangSmith's SDKs send them, on the exporter's own thread
// (exporter.h) with one libcurl easy handle (keep-alive: the connection
// is reused from request to request).  It is lossy by design: the
// collector is the ledger, LangSmith a view; what cannot be delivered is
// counted by cause, never retried forever.
//
// The wire format (the project's LangSmith notes, sections 1.2 to 1.9 and
// 2; the JS SDK's captured requests): each run is a part post.<id> with
// the run JSON (id, trace_id, dotted_order, name, run_type, session_name,
// start and end time, status, tags) and parts post.<id>.inputs, .outputs
// (usage_metadata), .extra (metadata with ls_provider, ls_model_name and
// usage_metadata again, as LangChain does) and .error for a failed call.
// Each part states its size as the JS SDK does (Content-Type:
// application/json; length=N).  A call is its own trace: trace_id is its
// id and dotted_order one segment, YYYYMMDDTHHMMSSffffffZ<id>, with the
// same microsecond timestamp as start_time.  Usage is sent inclusive:
// input_tokens is the sum of the input buckets, output_tokens of the
// output buckets; the details name the buckets LangSmith prices apart
// (llmcost__bucket_langsmith_key), and cache_creation is the sum of the
// two cache-write buckets.
//
// Requests carry up to RUNS_PER_REQUEST runs: batches that queue up are
// merged, and fewer runs than that wait up to LINGER_MS for more
// (exporter.h, coalesce and linger), as the SDKs' auto-batching does.
//
// JSON is written straight into a buffer (jsonw.h), never built as a
// jansson tree.  A batch from the loop is sent in requests of at most
// RUNS_PER_REQUEST runs (LangSmith's batch_ingest_config size_limit).
//
// Request bodies to /runs/multipart are gzip-compressed when the
// server's GET /info says it takes them, as the JS SDK does (or always,
// or never: llmcost_options.langsmith_gzip;
// LANGSMITH_DISABLE_RUN_COMPRESSION=true turns it off).  The body is
// whole before it is sent, so it is compressed in one stateless call by
// ISA-L's igzip (level 1, its work buffer kept for the client's
// lifetime): on these bodies a quarter of libdeflate's level 1 CPU (0.3
// against 1.3 ns a byte), which was more than half of the exporter's
// time, and smaller output too.
//
// Delivery rules, those of the SDKs: 2xx stored; 409 already stored;
// 408, 425, 429, 5xx and connection errors retried with jittered backoff
// (Retry-After honoured, 10 s for a 429 without it: the rule of
// common/retry.c, which the CLI's reader shares), at most MAX_ATTEMPTS
// sends; 404 or 405 from /runs/multipart switch to /runs/batch for good;
// 413 halves the request (a single run that is still too large is
// dropped); 401 and 403 stop export for the client's lifetime, with one
// log line; any other 4xx drops the request's runs, logged with the
// reason.  The API key goes into one header list and nowhere else.
//
// Threading: start and fini run on the init and shutdown threads, stop on
// the shutdown thread, deliver on the exporter's thread.  The counters are
// atomic (llmcost_stats reads them from any thread); everything else is
// the exporter thread's.

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <isa-l/igzip_lib.h>

#include "backoff.h"
#include "export_langsmith.h"
#include "json.h"
#include "jsonw.h"
#include "shim.h"
#include "uuid7.h"

#define RUNS_PER_REQUEST   100
#define MAX_ATTEMPTS       LLMCOST__RETRY_ATTEMPTS // the retry rule: common/
#define BACKOFF_BASE_MS    LLMCOST__RETRY_BASE_MS
#define BACKOFF_MAX_MS     LLMCOST__RETRY_CAP_MS
#define LINGER_MS          100 // wait for a full request at most this long
#define CONNECT_TIMEOUT_MS 5000
#define REQUEST_TIMEOUT_MS 30000
#define BODY_MAX           ((size_t) 20 << 20) // LangSmith's batch limit
// One run's usage_metadata JSON (a few hundred bytes; the cap is loose).
#define USAGE_MAX  ((size_t) 64 << 10)
#define REASON_MAX 200 // bytes of an error body kept
#define URL_BYTES  (LLMCOST__URL_MAX + 32)
#define GZIP_LEVEL 1 // igzip's level 1: its fastest with a full hash
// igzip's work buffer at level 1: its "small" size (84 KiB) is as fast
// and compresses these bodies as well as the default (276 KiB), with a
// third of the memory for the caches to hold.
#define GZIP_WORK ISAL_DEF_LVL1_SMALL

// The parts of one run in a multipart body (part_open).
enum {
	PART_RUN,
	PART_INPUTS,
	PART_OUTPUTS,
	PART_EXTRA,
	PART_ERROR,
	PART_KINDS
};

typedef struct langsmith {
	CURL *curl;
	struct curl_slist *hdr_multipart;
	struct curl_slist *hdr_multipart_gz; // with Content-Encoding: gzip
	struct curl_slist *hdr_json;
	char url_multipart[URL_BYTES];
	char url_batch[URL_BYTES];
	char url_info[URL_BYTES];
	// gzip (multipart bodies only, as the JS SDK): cfg ls_gzip 1 always,
	// -1 never, 0 as GET /info's instance_flags.gzip_body_enabled says
	// (asked before the first request, again until it answers).
	int gzip;
	int info_done;
	int info_gzip;      // what the /info body said, while it is read
	llmcost__json info; // scans the /info body as it arrives
	struct isal_zstream *gz_z; // igzip's stream, made on first use
	uint8_t *gz_work;          // and its work buffer (GZIP_WORK)
	char *gz;                  // the compressed body
	size_t gz_cap;
	size_t gz_len;
	char boundary[40];
	size_t boundary_len;
	// "--<boundary>\r\nContent-Disposition: form-data; name=\"post.":
	// every part begins so.
	char part_head[96];
	size_t part_head_len;
	uint8_t part_digits[PART_KINDS]; // length= digits, guessed
	// time_seg's last second: its "YYYYMMDDTHHMMSS".
	uint64_t seg_sec;
	char seg[16];
	int use_batch; // /runs/multipart answered 404 or 405
	_Atomic int auth_failed;
	int curl_global;     // this exporter called curl_global_init
	llmcost__jbuf body;  // one request
	llmcost__jbuf usage; // one run's usage_metadata
	uint64_t rng;        // jitter seed
	// The last answer (exporter thread only).
	long status;
	int retry_after_ms; // -1: none
	char reason[REASON_MAX + 1];
	size_t reason_len;
	struct {
		_Atomic uint64_t runs_sent;
		_Atomic uint64_t runs_acked;
		_Atomic uint64_t requests_retried;
		_Atomic uint64_t dropped_rejected;
		_Atomic uint64_t dropped_auth;
		_Atomic uint64_t dropped_retries;
	} n;
} langsmith;

// ---- curl callbacks ----

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	langsmith *ls = arg;
	size_t n = size * nmemb;
	size_t room = REASON_MAX - ls->reason_len;
	size_t take = n < room ? n : room;
	memcpy(ls->reason + ls->reason_len, p, take);
	ls->reason_len += take;
	ls->reason[ls->reason_len] = '\0';
	return (n);
}

// GET /info: instance_flags.gzip_body_enabled, scanned as it arrives.
static int
on_info_value(void *arg, const llmcost__json *j, int ev)
{
	langsmith *ls = arg;
	if (llmcost__json_path_is(j, "instance_flags.gzip_body_enabled")) {
		ls->info_gzip = ev == LLMCOST__J_TRUE;
	}
	return (0);
}

static size_t
on_info(char *p, size_t size, size_t nmemb, void *arg)
{
	langsmith *ls = arg;
	size_t n = size * nmemb;
	(void) llmcost__json_feed(&ls->info, p, n);
	return (n);
}

// Aborts a transfer once the exporter is stopping.
static int
on_progress(
    void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	(void) dt;
	(void) dn;
	(void) ut;
	(void) un;
	return (llmcost__exporter_stopping(arg) ? 1 : 0);
}

// ---- JSON of one run ----

// us as a dotted_order time segment, "YYYYMMDDTHHMMSSffffffZ", into
// out[22], as llmcost__time_segment writes it, with the date and time of
// day of the last second asked kept: the runs of a request mostly fall
// within one second, and gmtime_r (its time zone lock) was a few per
// cent of the exporter's time.
static void
time_seg(langsmith *ls, uint64_t us, char out[22])
{
	uint64_t sec = us / 1000000u;
	if (ls->seg[0] == '\0' || sec != ls->seg_sec) {
		char full[22];
		llmcost__time_segment(full, sec * 1000000u);
		memcpy(ls->seg, full, 15);
		ls->seg[15] = '\0';
		ls->seg_sec = sec;
	}
	memcpy(out, ls->seg, 15);
	uint32_t f = (uint32_t) (us % 1000000u);
	for (int i = 20; i >= 15; i--) {
		out[i] = (char) ('0' + f % 10);
		f /= 10;
	}
	out[21] = 'Z';
}

static void
kv_u64(llmcost__jbuf *b, int *first, const char *key, uint64_t v)
{
	if (!*first) {
		llmcost__jbuf_raw(b, ",", 1);
	}
	*first = 0;
	llmcost__jbuf_str(b, key, strlen(key));
	llmcost__jbuf_raw(b, ":", 1);
	llmcost__jbuf_u64(b, v);
}

// usage_metadata, inclusive totals with the details LangSmith prices.
static void
write_usage(llmcost__jbuf *b, const llmcost_proto_record *r)
{
	uint64_t in = 0, out = 0;
	int first;

	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		if (llmcost__bucket_is_output[i]) {
			out += r->usage[i];
		} else {
			in += r->usage[i];
		}
	}
	llmcost__jbuf_lit(b, "{\"input_tokens\":");
	llmcost__jbuf_u64(b, in);
	llmcost__jbuf_lit(b, ",\"output_tokens\":");
	llmcost__jbuf_u64(b, out);
	llmcost__jbuf_lit(b, ",\"total_tokens\":");
	llmcost__jbuf_u64(b, in + out);
	for (int o = 0; o <= 1; o++) {
		uint64_t write = r->usage[LLMCOST_IN_CACHE_WRITE_5M]
		    + r->usage[LLMCOST_IN_CACHE_WRITE_1H];
		int any = (o == 0 && write != 0);
		for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
			if (llmcost__bucket_is_output[i] == o
			    && llmcost__bucket_langsmith_key[i] != NULL
			    && r->usage[i] != 0) {
				any = 1;
			}
		}
		if (!any) {
			continue;
		}
		llmcost__jbuf_lit(b,
		    o == 0 ? ",\"input_token_details\":{"
		           : ",\"output_token_details\":{");
		first = 1;
		for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
			if (llmcost__bucket_is_output[i] == o
			    && llmcost__bucket_langsmith_key[i] != NULL
			    && r->usage[i] != 0) {
				kv_u64(b, &first,
				    llmcost__bucket_langsmith_key[i],
				    r->usage[i]);
			}
		}
		if (o == 0 && write != 0) {
			kv_u64(b, &first, "cache_creation", write);
		}
		llmcost__jbuf_raw(b, "}", 1);
	}
	llmcost__jbuf_raw(b, "}", 1);
}

static int
str_is(const llmcost_proto_str *s, const char *lit)
{
	size_t n = strlen(lit);
	return (s->len == n && memcmp(s->ptr, lit, n) == 0);
}

static const char *
error_text(uint32_t status)
{
	switch (status) {
	case LLMCOST_STATUS_OK:
		return (NULL);
	case LLMCOST_STATUS_ABORTED:
		return ("stream aborted");
	default:
		return ("provider error");
	}
}

// "YYYYMMDDTHHMMSSffffffZ" (a dotted_order segment's time) as the ISO
// time "YYYY-MM-DDTHH:MM:SS.ffffffZ" into out[27]: start_time must equal
// the run's segment (the SDKs keep them equal).
static void
iso_from_segment(const char *seg, char out[27])
{
	// The segment's digits and its 'T' in order ("YYYYMMDDTHHMMSS"
	// then the microseconds), with the punctuation put in between.
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	size_t j = 0;
	for (size_t i = 0; i < 27; i++) {
		out[i]
		    = shape[i] == 'd' || shape[i] == 'T' ? seg[j++] : shape[i];
	}
}

// The run's main JSON (without inputs, outputs, extra, error) into b,
// without its closing brace, so that /runs/batch can add the rest inline.
// A call outside any scope is its own trace (trace_id its id, a
// one-segment dotted_order); inside one, the record carries the scope's.
static void
write_run_head(llmcost__exporter *ex, llmcost__jbuf *b,
    const llmcost_proto_record *r, int chain, const char id[37])
{
	static const uint8_t zero[16] = { 0 };
	llmcost_client *c = ex->client;
	langsmith *ls = ex->priv;
	char iso[27], trace[37], seg[58];
	uint64_t end_us = (r->start_ns + r->duration_ns) / 1000u;

	llmcost__jbuf_lit(b, "{\"id\":\"");
	llmcost__jbuf_raw(b, id, 36);
	llmcost__jbuf_lit(b, "\",\"trace_id\":\"");
	if (memcmp(r->trace_id, zero, 16) != 0) {
		llmcost__uuid_str(r->trace_id, trace);
		llmcost__jbuf_raw(b, trace, 36);
	} else {
		llmcost__jbuf_raw(b, id, 36);
	}
	if (memcmp(r->parent_run_id, zero, 16) != 0) {
		llmcost__uuid_str(r->parent_run_id, trace);
		llmcost__jbuf_lit(b, "\",\"parent_run_id\":\"");
		llmcost__jbuf_raw(b, trace, 36);
	}
	llmcost__jbuf_lit(b, "\",\"dotted_order\":\"");
	if (r->dotted_order.len >= 58) {
		llmcost__jbuf_raw(b, r->dotted_order.ptr, r->dotted_order.len);
		iso_from_segment(
		    r->dotted_order.ptr + r->dotted_order.len - 58, iso);
	} else {
		// llmcost__dotted_segment, with the id already in text.
		time_seg(ls, r->start_ns / 1000u, seg);
		memcpy(seg + 22, id, 36);
		llmcost__jbuf_raw(b, seg, sizeof(seg));
		iso_from_segment(seg, iso);
	}
	llmcost__jbuf_lit(b, "\",\"name\":");
	llmcost__jbuf_str(b, r->model.ptr, r->model.len);
	llmcost__jbuf_lit(b,
	    chain ? ",\"run_type\":\"chain\",\"session_name\":"
	          : ",\"run_type\":\"llm\",\"session_name\":");
	llmcost__jbuf_str(b, c->cfg.ls_project, strlen(c->cfg.ls_project));
	llmcost__jbuf_lit(b, ",\"start_time\":\"");
	llmcost__jbuf_raw(b, iso, sizeof(iso));
	llmcost__jbuf_lit(b, "\",\"end_time\":\"");
	time_seg(ls, end_us, seg);
	iso_from_segment(seg, iso);
	llmcost__jbuf_raw(b, iso, sizeof(iso));
	llmcost__jbuf_lit(b,
	    r->status == LLMCOST_STATUS_OK ? "\",\"status\":\"success\""
	                                   : "\",\"status\":\"error\"");
	if (r->n_tags > 0) {
		llmcost__jbuf_lit(b, ",\"tags\":[");
		for (uint32_t i = 0; i < r->n_tags; i++) {
			if (i > 0) {
				llmcost__jbuf_raw(b, ",", 1);
			}
			llmcost__jbuf_str(b, r->tags[i].ptr, r->tags[i].len);
		}
		llmcost__jbuf_raw(b, "]", 1);
	}
}

// Walks the text entries of t (batch.h): calls fn for each.
typedef void (*text_fn)(llmcost__jbuf *b, int kind, const char *role,
    size_t rlen, const char *text, size_t len, int *n);

static void
text_walk(llmcost__jbuf *b, const llmcost_proto_str *t, text_fn fn, int *n)
{
	size_t off = 0;
	while (t != NULL && off + LLMCOST__TEXT_HDR <= t->len) {
		const char *e = t->ptr + off;
		uint32_t len;
		uint8_t rlen = (uint8_t) e[1];
		memcpy(&len, e + 2, 4);
		fn(b, e[0], e + LLMCOST__TEXT_HDR, rlen,
		    e + LLMCOST__TEXT_HDR + rlen, len, n);
		off += LLMCOST__TEXT_HDR + rlen + len;
	}
}

static void
message_json(llmcost__jbuf *b, int kind, const char *role, size_t rlen,
    const char *text, size_t len, int *n)
{
	if (kind != LLMCOST__TEXT_MSG) {
		return;
	}
	llmcost__jbuf_lit(
	    b, (*n)++ == 0 ? "{\"messages\":[{\"role\":" : ",{\"role\":");
	llmcost__jbuf_str(b, role, rlen);
	llmcost__jbuf_lit(b, ",\"content\":");
	llmcost__jbuf_str(b, text, len);
	llmcost__jbuf_raw(b, "}", 1);
}

// inputs of a run: the prompt messages the application handed over, as
// LangSmith's wrappers record them, or {}.
static void
write_inputs(llmcost__jbuf *b, const llmcost_proto_str *text)
{
	int n = 0;
	text_walk(b, text, message_json, &n);
	llmcost__jbuf_lit(b, n > 0 ? "]}" : "{}");
}

// outputs and extra of a run: usage_metadata only on llm runs (usage is
// rolled up from children by LangSmith: a chain run carrying it too
// would be counted twice), usage NULL for a chain run; the completion
// the application handed over, as choices[0].message.
static void
write_outputs(llmcost__jbuf *b, const llmcost__jbuf *usage,
    const llmcost_proto_str *text)
{
	if (usage == NULL) {
		llmcost__jbuf_lit(b, "{}");
		return;
	}
	// The last completion set wins.
	const char *out = NULL;
	uint32_t out_len = 0;
	size_t off = 0;
	while (text != NULL && off + LLMCOST__TEXT_HDR <= text->len) {
		const char *e = text->ptr + off;
		uint32_t len;
		memcpy(&len, e + 2, 4);
		if (e[0] == LLMCOST__TEXT_OUT) {
			out = e + LLMCOST__TEXT_HDR + (uint8_t) e[1];
			out_len = len;
		}
		off += LLMCOST__TEXT_HDR + (uint8_t) e[1] + len;
	}
	if (out != NULL) {
		llmcost__jbuf_lit(b,
		    "{\"choices\":[{\"message\":{\"role\":\"assistant\","
		    "\"content\":");
		llmcost__jbuf_str(b, out, out_len);
		llmcost__jbuf_lit(b, "}}],\"usage_metadata\":");
	} else {
		llmcost__jbuf_lit(b, "{\"usage_metadata\":");
	}
	llmcost__jbuf_raw(b, usage->p, usage->len);
	llmcost__jbuf_raw(b, "}", 1);
}

static void
write_extra(llmcost__jbuf *b, const llmcost_proto_record *r,
    const llmcost__jbuf *usage)
{
	int first = 1;
	llmcost__jbuf_lit(b, "{\"metadata\":{");
	for (uint32_t i = 0; i < r->n_meta; i++) {
		const llmcost_proto_kv *kv = &r->meta[i];
		// The keys this exporter writes itself win (and a chain run
		// never carries usage: LangSmith would count it twice).
		if (str_is(&kv->key, "ls_provider")
		    || str_is(&kv->key, "ls_model_name")
		    || str_is(&kv->key, "ls_model_type")
		    || str_is(&kv->key, "usage_metadata")) {
			continue;
		}
		if (!first) {
			llmcost__jbuf_raw(b, ",", 1);
		}
		first = 0;
		llmcost__jbuf_str(b, kv->key.ptr, kv->key.len);
		llmcost__jbuf_raw(b, ":", 1);
		llmcost__jbuf_str(b, kv->val.ptr, kv->val.len);
	}
	if (usage == NULL) {
		// A chain run: the caller's metadata only.
		llmcost__jbuf_lit(b,
		    "},\"runtime\":{\"library\":\"llmcost\",\"sdk\":"
		    "\"llmcost-c\",\"sdk_version\":\"" LLMCOST_VERSION_STRING
		    "\"}}");
		return;
	}
	llmcost__jbuf_lit(b, first ? "\"ls_provider\":" : ",\"ls_provider\":");
	llmcost__jbuf_str(b, r->provider.ptr, r->provider.len);
	llmcost__jbuf_lit(b, ",\"ls_model_name\":");
	llmcost__jbuf_str(b, r->model.ptr, r->model.len);
	llmcost__jbuf_lit(
	    b, ",\"ls_model_type\":\"chat\",\"usage_metadata\":");
	llmcost__jbuf_raw(b, usage->p, usage->len);
	llmcost__jbuf_lit(b,
	    "},\"runtime\":{\"library\":\"llmcost\",\"sdk\":\"llmcost-c\","
	    "\"sdk_version\":\"" LLMCOST_VERSION_STRING "\"}}");
}

// Parts are written straight into the body (one copy of every byte, not
// two): part_open writes the part's headers with room for the digits of
// its length= guessed from the same part of the run before (the parts of
// a request's runs are about the same size), the caller writes the JSON
// after them, and part_close fills the digits in, moving the JSON only
// when the guess was wrong.
static const char *const part_suffix[PART_KINDS]
    = { "", ".inputs", ".outputs", ".extra", ".error" };

// Opens part kind of run id in the body.  Returns where its length's
// digits go.
static size_t
part_open(langsmith *ls, const char id[37], int kind)
{
	static const char zeros[] = "0000000000000000000";
	llmcost__jbuf *b = &ls->body;
	const char *suffix = part_suffix[kind];
	llmcost__jbuf_raw(b, ls->part_head, ls->part_head_len);
	llmcost__jbuf_raw(b, id, 36);
	llmcost__jbuf_raw(b, suffix, strlen(suffix));
	llmcost__jbuf_lit(b, "\"\r\nContent-Type: application/json; length=");
	size_t at = b->len;
	llmcost__jbuf_raw(b, zeros, ls->part_digits[kind]);
	llmcost__jbuf_lit(b, "\r\n\r\n");
	return (at);
}

// Closes the part opened at at (part_open) once its JSON is written.
static void
part_close(langsmith *ls, size_t at, int kind)
{
	llmcost__jbuf *b = &ls->body;
	size_t guess = ls->part_digits[kind];
	if (b->err != 0) {
		return;
	}
	size_t json = at + guess + 4;
	size_t len = b->len - json;
	char num[20];
	size_t n = 0;
	for (size_t v = len; n == 0 || v != 0; v /= 10) {
		num[sizeof(num) - 1 - n++] = (char) ('0' + v % 10);
	}
	// The "\r\n\r\n" after the digits moves with the JSON.
	if (n > guess) {
		// Room for the extra digits first (it may fail at the cap).
		llmcost__jbuf_raw(b, num, n - guess);
		if (b->err != 0) {
			return;
		}
		memmove(b->p + at + n, b->p + at + guess, len + 4);
	} else if (n < guess) {
		memmove(b->p + at + n, b->p + at + guess, len + 4);
		b->len -= guess - n;
	}
	memcpy(b->p + at, num + sizeof(num) - n, n);
	ls->part_digits[kind] = (uint8_t) n;
	llmcost__jbuf_lit(b, "\r\n");
}

// The body for runs [from, to) of b: multipart, or /runs/batch JSON.
static int
build_body(langsmith *ls, llmcost__exporter *ex, const llmcost__batch *b,
    uint32_t from, uint32_t to)
{
	llmcost__jbuf_reset(&ls->body);
	if (ls->use_batch) {
		llmcost__jbuf_lit(&ls->body, "{\"post\":[");
	}
	for (uint32_t i = from; i < to; i++) {
		const llmcost_proto_record *r = &b->records[i];
		const char *err = error_text(r->status);
		int chain = b->kinds[i] == LLMCOST__KIND_SCOPE;
		const llmcost__jbuf *usage = chain ? NULL : &ls->usage;
		const llmcost_proto_str *text
		    = b->texts != NULL && !chain && b->texts[i].len > 0
		    ? &b->texts[i]
		    : NULL;
		char id[37];

		llmcost__uuid_str(r->run_id, id);
		llmcost__jbuf_reset(&ls->usage);
		write_usage(&ls->usage, r);
		if (ls->use_batch) {
			llmcost__jbuf *o = &ls->body;
			if (i > from) {
				llmcost__jbuf_raw(o, ",", 1);
			}
			write_run_head(ex, o, r, chain, id);
			llmcost__jbuf_lit(o, ",\"inputs\":");
			write_inputs(o, text);
			llmcost__jbuf_lit(o, ",\"outputs\":");
			write_outputs(o, usage, text);
			llmcost__jbuf_lit(o, ",\"extra\":");
			write_extra(o, r, usage);
			if (err != NULL) {
				llmcost__jbuf_lit(o, ",\"error\":");
				llmcost__jbuf_str(o, err, strlen(err));
			}
			llmcost__jbuf_raw(o, "}", 1);
			continue;
		}
		llmcost__jbuf *o = &ls->body;
		size_t at = part_open(ls, id, PART_RUN);
		write_run_head(ex, o, r, chain, id);
		llmcost__jbuf_raw(o, "}", 1);
		part_close(ls, at, PART_RUN);
		at = part_open(ls, id, PART_INPUTS);
		write_inputs(o, text);
		part_close(ls, at, PART_INPUTS);
		at = part_open(ls, id, PART_OUTPUTS);
		write_outputs(o, usage, text);
		part_close(ls, at, PART_OUTPUTS);
		at = part_open(ls, id, PART_EXTRA);
		write_extra(o, r, usage);
		part_close(ls, at, PART_EXTRA);
		if (err != NULL) {
			at = part_open(ls, id, PART_ERROR);
			llmcost__jbuf_str(o, err, strlen(err));
			part_close(ls, at, PART_ERROR);
		}
	}
	if (ls->use_batch) {
		llmcost__jbuf_lit(&ls->body, "],\"patch\":[]}");
	} else {
		llmcost__jbuf_lit(&ls->body, "--");
		llmcost__jbuf_raw(&ls->body, ls->boundary, ls->boundary_len);
		llmcost__jbuf_lit(&ls->body, "--\r\n");
	}
	if (ls->usage.err != 0 && ls->body.err == 0) {
		ls->body.err = ls->usage.err;
	}
	return (ls->body.err);
}

// ---- one request ----

// Compresses ls->body into ls->gz (one gzip member).  Returns 0, or -1:
// then the body goes as it is.
static int
compress_body(langsmith *ls)
{
	if (ls->gz_z == NULL
	    && ((ls->gz_z = malloc(sizeof(*ls->gz_z))) == NULL
	        || (ls->gz_work = malloc(GZIP_WORK)) == NULL)) {
		free(ls->gz_z);
		ls->gz_z = NULL;
		return (-1);
	}
	// Stored blocks at worst, with their headers and the gzip frame:
	// the memory stays bounded by BODY_MAX.
	size_t need = ls->body.len + ls->body.len / 16 + 1024;
	if (need > ls->gz_cap) {
		char *p = realloc(ls->gz, need);
		if (p == NULL) {
			return (-1);
		}
		ls->gz = p;
		ls->gz_cap = need;
	}
	struct isal_zstream *z = ls->gz_z;
	isal_deflate_stateless_init(z);
	z->gzip_flag = IGZIP_GZIP;
	z->level = GZIP_LEVEL;
	z->level_buf = ls->gz_work;
	z->level_buf_size = GZIP_WORK;
	z->end_of_stream = 1;
	z->flush = NO_FLUSH;
	z->next_in = (uint8_t *) ls->body.p;
	z->avail_in = (uint32_t) ls->body.len;
	z->next_out = (uint8_t *) ls->gz;
	z->avail_out = (uint32_t) ls->gz_cap;
	if (isal_deflate_stateless(z) != COMP_OK) {
		return (-1);
	}
	ls->gz_len = z->total_out;
	return (0);
}

// GET /info, to learn whether the server takes gzip bodies (the JS SDK
// reads instance_flags.gzip_body_enabled).  No answer: asked again
// before the next request, uncompressed meanwhile.
static void
fetch_info(llmcost__exporter *ex)
{
	langsmith *ls = ex->priv;
	CURL *h = ls->curl;
	long st = 0;

	ls->info_gzip = 0;
	llmcost__json_init(&ls->info, on_info_value, ls);
	curl_easy_setopt(h, CURLOPT_URL, ls->url_info);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, ls->hdr_json);
	curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_info);
	CURLcode rc = curl_easy_perform(h);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
	}
	if (rc != CURLE_OK || st == 429 || st >= 500) {
		llmcost__log(ex->client, LLMCOST_LOG_DEBUG,
		    "LangSmith: GET /info: %s %ld; bodies uncompressed for "
		    "now",
		    rc != CURLE_OK ? curl_easy_strerror(rc) : "HTTP", st);
		return;
	}
	ls->info_done = 1;
	ls->gzip
	    = st == 200 && llmcost__json_end(&ls->info) == 0 && ls->info_gzip;
	llmcost__log(ex->client, LLMCOST_LOG_INFO,
	    "LangSmith: request bodies %s (GET /info answered %ld)",
	    ls->gzip ? "gzip-compressed" : "uncompressed", st);
}

// Sends the body; fills ls->status (0: no answer), retry_after_ms and
// reason.  Returns the CURLcode.
static CURLcode
post(langsmith *ls)
{
	CURL *h = ls->curl;
	ls->status = 0;
	ls->retry_after_ms = -1;
	ls->reason_len = 0;
	ls->reason[0] = '\0';
	// gzip on /runs/multipart only (the SDKs compress nothing else).
	int gz = ls->gzip && !ls->use_batch && compress_body(ls) == 0;
	curl_easy_setopt(
	    h, CURLOPT_URL, ls->use_batch ? ls->url_batch : ls->url_multipart);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER,
	    ls->use_batch ? ls->hdr_json
	        : gz      ? ls->hdr_multipart_gz
	                  : ls->hdr_multipart);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, gz ? ls->gz : ls->body.p);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t) (gz ? ls->gz_len : ls->body.len));
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ls->status);
	}
	return (rc);
}

// A server's reason, printable and short, for a log line.
static const char *
reason(langsmith *ls)
{
	for (size_t i = 0; i < ls->reason_len; i++) {
		unsigned char ch = (unsigned char) ls->reason[i];
		if (ch < 0x20 || ch >= 0x7f) {
			ls->reason[i] = ' ';
		}
	}
	return (ls->reason);
}

// Waits ms; a wait the server asked for is waited out in full (a flush
// cuts backoff waits short only).  Returns 1 when stopping.
static int
wait_ms(llmcost__exporter *ex, uint32_t ms, int asked)
{
	if (!asked) {
		return (llmcost__exporter_sleep(ex, ms));
	}
	uint64_t end = llmcost__mono_ns() + (uint64_t) ms * 1000000u;
	for (;;) {
		uint64_t now = llmcost__mono_ns();
		if (now >= end) {
			return (llmcost__exporter_stopping(ex));
		}
		if (llmcost__exporter_sleep(
		        ex, (uint32_t) ((end - now) / 1000000u) + 1)) {
			return (1);
		}
	}
}

static int send_runs(llmcost__exporter *, const llmcost__batch *, uint32_t,
    uint32_t, llmcost__outcome *);

// Delivers runs [from, to) of b (two or more) as two halves, each sent
// on its own; when the first half stops on shutdown, the second counts
// as lost.  Returns what send_runs returns.
static int
send_halves(llmcost__exporter *ex, const llmcost__batch *b, uint32_t from,
    uint32_t to, llmcost__outcome *out)
{
	uint32_t mid = from + (to - from) / 2;
	int rv = send_runs(ex, b, from, mid, out);
	if (rv == 0) {
		rv = send_runs(ex, b, mid, to, out);
	} else {
		out->lost += to - mid;
	}
	return (rv);
}

// Delivers runs [from, to) of b: counts every one of them into out and
// the counters.  Returns LLMCOST_ECLOSED when stopping, else 0.
static int
send_runs(llmcost__exporter *ex, const llmcost__batch *b, uint32_t from,
    uint32_t to, llmcost__outcome *out)
{
	llmcost_client *c = ex->client;
	langsmith *ls = ex->priv;
	uint32_t n = to - from;
	llmcost__backoff bo;

	llmcost__backoff_init(&bo, BACKOFF_BASE_MS, BACKOFF_MAX_MS, 100,
	    llmcost__splitmix64(&ls->rng));
	for (int attempt = 0;; attempt++) {
		if (atomic_load(&ls->auth_failed)) {
			atomic_fetch_add(&ls->n.dropped_auth, n);
			out->lost += n;
			return (0);
		}
		if (llmcost__exporter_stopping(ex)) {
			out->lost += n;
			return (LLMCOST_ECLOSED);
		}
		if (attempt >= MAX_ATTEMPTS) {
			llmcost__log(c, LLMCOST_LOG_WARNING,
			    "LangSmith: %u runs dropped after %d attempts "
			    "(last: HTTP %ld)",
			    n, MAX_ATTEMPTS, ls->status);
			atomic_fetch_add(&ls->n.dropped_retries, n);
			out->lost += n;
			return (0);
		}
		if (build_body(ls, ex, b, from, to) != 0) {
			if (n > 1) {
				return (send_halves(ex, b, from, to, out));
			}
			llmcost__log(c, LLMCOST_LOG_WARNING,
			    "LangSmith: a run could not be encoded (%s); "
			    "dropped",
			    llmcost_strerror(ls->body.err));
			atomic_fetch_add(&ls->n.dropped_rejected, 1);
			out->refused += 1;
			return (0);
		}
		if (!ls->info_done && !ls->use_batch) {
			fetch_info(ex);
		}
		atomic_fetch_add(&ls->n.runs_sent, n);
		atomic_fetch_add(&ex->sent, 1);
		if (attempt > 0) {
			atomic_fetch_add(&ls->n.requests_retried, 1);
			atomic_fetch_add(&ex->resent, 1);
		}
		CURLcode rc = post(ls);
		long st = ls->status;
		uint32_t wait = 0;
		int asked = 0;

		if (rc != CURLE_OK) {
			if (rc == CURLE_ABORTED_BY_CALLBACK
			    || llmcost__exporter_stopping(ex)) {
				out->lost += n;
				return (LLMCOST_ECLOSED);
			}
			llmcost__log(c, LLMCOST_LOG_DEBUG,
			    "LangSmith: %s; retrying", curl_easy_strerror(rc));
			wait = llmcost__backoff_next(&bo);
		} else if ((st >= 200 && st <= 299) || st == 409) {
			atomic_fetch_add(&ls->n.runs_acked, n);
			out->stored += n;
			return (0);
		} else if (llmcost__http_retryable(st)) {
			wait = llmcost__retry_wait(st, ls->retry_after_ms,
			    ls->retry_after_ms < 0 && st != 429
			        ? llmcost__backoff_next(&bo)
			        : 0,
			    &asked);
			llmcost__log(c, LLMCOST_LOG_DEBUG,
			    "LangSmith: HTTP %ld; retrying in %u ms", st,
			    wait);
		} else if ((st == 404 || st == 405) && !ls->use_batch) {
			llmcost__log(c, LLMCOST_LOG_NOTICE,
			    "LangSmith: /runs/multipart answered %ld; using "
			    "/runs/batch",
			    st);
			ls->use_batch = 1;
			attempt--; // a change of route, not a retry
			continue;
		} else if (st == 413) {
			if (n > 1) {
				return (send_halves(ex, b, from, to, out));
			}
			llmcost__log(c, LLMCOST_LOG_WARNING,
			    "LangSmith: a run is too large (HTTP 413); "
			    "dropped");
			atomic_fetch_add(&ls->n.dropped_rejected, 1);
			out->refused += 1;
			return (0);
		} else if (st == 401 || st == 403) {
			if (atomic_exchange(&ls->auth_failed, 1) == 0) {
				llmcost__log(c, LLMCOST_LOG_ERR,
				    "LangSmith refused the API key (HTTP %ld: "
				    "%s); LangSmith export is stopped until "
				    "the application restarts",
				    st, reason(ls));
			}
			atomic_fetch_add(&ls->n.dropped_auth, n);
			out->lost += n;
			return (0);
		} else {
			llmcost__log(c, LLMCOST_LOG_WARNING,
			    "LangSmith refused %u runs (HTTP %ld: %s); "
			    "dropped",
			    n, st, reason(ls));
			atomic_fetch_add(&ls->n.dropped_rejected, n);
			out->refused += n;
			return (0);
		}
		if (wait_ms(ex, wait, asked)) {
			out->lost += n;
			return (LLMCOST_ECLOSED);
		}
	}
}

static int
langsmith_deliver(
    llmcost__exporter *ex, const llmcost__batch *b, llmcost__outcome *out)
{
	for (uint32_t i = 0; i < b->n; i += RUNS_PER_REQUEST) {
		uint32_t to = b->n - i < RUNS_PER_REQUEST
		    ? b->n
		    : i + RUNS_PER_REQUEST;
		if (send_runs(ex, b, i, to, out) != 0) {
			out->lost += b->n - to;
			return (LLMCOST_ECLOSED);
		}
	}
	return (0);
}

// ---- lifecycle ----

static void
langsmith_free(langsmith *ls)
{
	if (ls->curl != NULL) {
		curl_easy_cleanup(ls->curl);
	}
	// The header lists hold the API key: wipe before freeing.
	for (struct curl_slist *l = ls->hdr_multipart; l != NULL;
	     l = l->next) {
		explicit_bzero(l->data, strlen(l->data));
	}
	for (struct curl_slist *l = ls->hdr_multipart_gz; l != NULL;
	     l = l->next) {
		explicit_bzero(l->data, strlen(l->data));
	}
	for (struct curl_slist *l = ls->hdr_json; l != NULL; l = l->next) {
		explicit_bzero(l->data, strlen(l->data));
	}
	curl_slist_free_all(ls->hdr_multipart);
	curl_slist_free_all(ls->hdr_multipart_gz);
	curl_slist_free_all(ls->hdr_json);
	free(ls->gz_z);
	free(ls->gz_work);
	free(ls->gz);
	llmcost__jbuf_fini(&ls->body);
	llmcost__jbuf_fini(&ls->usage);
	if (ls->curl_global) {
		curl_global_cleanup();
	}
	free(ls);
}

// Appends "name: value" to *l.  Returns 0 or -1.
static int
add_header(struct curl_slist **l, const char *name, const char *value)
{
	char line[LLMCOST__LS_KEY_MAX + 64];
	int n = snprintf(line, sizeof(line), "%s: %s", name, value);
	if (n < 0 || (size_t) n >= sizeof(line)) {
		return (-1);
	}
	struct curl_slist *nl = curl_slist_append(*l, line);
	explicit_bzero(line, sizeof(line));
	if (nl == NULL) {
		return (-1);
	}
	*l = nl;
	return (0);
}

static int
headers(langsmith *ls, const llmcost__config *cfg)
{
	char ct[96];
	snprintf(
	    ct, sizeof(ct), "multipart/form-data; boundary=%s", ls->boundary);
	struct curl_slist **lists[3]
	    = { &ls->hdr_multipart, &ls->hdr_json, &ls->hdr_multipart_gz };
	const char *types[3] = { ct, "application/json", ct };
	for (int i = 0; i < 3; i++) {
		if (add_header(lists[i], "x-api-key", cfg->ls_key) != 0
		    || add_header(lists[i], "Content-Type", types[i]) != 0
		    || add_header(lists[i], "User-Agent",
		           "llmcost/" LLMCOST_VERSION_STRING)
		        != 0
		    || add_header(lists[i], "Accept", "application/json") != 0
		    // No "Expect: 100-continue" round trip before the body.
		    || add_header(lists[i], "Expect", "") != 0) {
			return (-1);
		}
		if (cfg->ls_workspace[0] != '\0'
		    && add_header(lists[i], "x-tenant-id", cfg->ls_workspace)
		        != 0) {
			return (-1);
		}
	}
	return (add_header(&ls->hdr_multipart_gz, "Content-Encoding", "gzip"));
}

static int
langsmith_start(llmcost__exporter *ex)
{
	llmcost_client *c = ex->client;
	const llmcost__config *cfg = &c->cfg;
	langsmith *ls;

	if (!cfg->ls_on) {
		return (LLMCOST_EDISABLED);
	}
	// curl_global_init is safe to call while other threads use libcurl
	// only when libcurl says so (7.84 and later, built thread-safe).
	const curl_version_info_data *vi = curl_version_info(CURLVERSION_NOW);
	if ((vi->features & CURL_VERSION_THREADSAFE) == 0) {
		llmcost__log(c, LLMCOST_LOG_WARNING,
		    "libcurl %s is not thread-safe to initialise; make sure "
		    "the application calls curl_global_init before other "
		    "threads use libcurl",
		    vi->version);
	}
	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		return (LLMCOST_ENOMEM);
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		llmcost__log(c, LLMCOST_LOG_ERR, "curl_global_init failed");
		free(ls);
		return (LLMCOST_ESYSTEM);
	}
	ls->curl_global = 1;
	llmcost__jbuf_init(&ls->body, BODY_MAX);
	llmcost__jbuf_init(&ls->usage, USAGE_MAX);
	ls->rng = c->seed ^ 0x6c616e67736d6974ull;
	// Short (it is written five times a run, and compressed): JSON text
	// holds no CR or LF, so no part can contain "\r\n--" and the
	// boundary needs no more randomness than this.
	snprintf(ls->boundary, sizeof(ls->boundary), "llmcost-%08x",
	    (unsigned) llmcost__splitmix64(&ls->rng));
	ls->boundary_len = strlen(ls->boundary);
	ls->part_head_len
	    = (size_t) snprintf(ls->part_head, sizeof(ls->part_head),
	        "--%s\r\nContent-Disposition: form-data; name=\"post.",
	        ls->boundary);
	memset(ls->part_digits, 1, sizeof(ls->part_digits));
	snprintf(ls->url_multipart, sizeof(ls->url_multipart),
	    "%s/runs/multipart", cfg->ls_endpoint);
	snprintf(ls->url_batch, sizeof(ls->url_batch), "%s/runs/batch",
	    cfg->ls_endpoint);
	snprintf(
	    ls->url_info, sizeof(ls->url_info), "%s/info", cfg->ls_endpoint);
	ls->gzip = cfg->ls_gzip > 0;
	ls->info_done = cfg->ls_gzip != 0;
	if (headers(ls, cfg) != 0 || (ls->curl = curl_easy_init()) == NULL) {
		llmcost__log(
		    c, LLMCOST_LOG_ERR, "LangSmith export: out of memory");
		langsmith_free(ls);
		return (LLMCOST_ENOMEM);
	}
	CURL *h = ls->curl;
	if (curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK
	    || curl_easy_setopt(
	           h, CURLOPT_CONNECTTIMEOUT_MS, (long) CONNECT_TIMEOUT_MS)
	        != CURLE_OK
	    || curl_easy_setopt(
	           h, CURLOPT_TIMEOUT_MS, (long) REQUEST_TIMEOUT_MS)
	        != CURLE_OK
	    || curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK
	    || curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK
	    || curl_easy_setopt(h, CURLOPT_WRITEDATA, ls) != CURLE_OK
	    || curl_easy_setopt(
	           h, CURLOPT_HEADERFUNCTION, llmcost__retry_after_on_header)
	        != CURLE_OK
	    || curl_easy_setopt(h, CURLOPT_HEADERDATA, &ls->retry_after_ms)
	        != CURLE_OK
	    || curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L) != CURLE_OK
	    || curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress)
	        != CURLE_OK
	    || curl_easy_setopt(h, CURLOPT_XFERINFODATA, ex) != CURLE_OK) {
		llmcost__log(c, LLMCOST_LOG_ERR,
		    "LangSmith export: libcurl refused an option");
		langsmith_free(ls);
		return (LLMCOST_ESYSTEM);
	}
	ex->priv = ls;
	// The bound is in calls: langsmith_queue_batches full batches,
	// however small the loop cut them.
	ex->queue_max = LLMCOST__EXPORTER_QUEUE_MAX;
	ex->calls_max = (uint64_t) cfg->ls_queue_batches * cfg->batch_max;
	llmcost__log(c, LLMCOST_LOG_INFO, "LangSmith export to %s, project %s",
	    cfg->ls_endpoint, cfg->ls_project);
	return (0);
}

static void
langsmith_fini(llmcost__exporter *ex)
{
	langsmith_free(ex->priv);
	ex->priv = NULL;
}

void
llmcost__langsmith_counters(llmcost__exporter *ex, llmcost__ls_counters *out)
{
	langsmith *ls = ex->priv;
	out->runs_sent = atomic_load(&ls->n.runs_sent);
	out->runs_acked = atomic_load(&ls->n.runs_acked);
	out->requests_retried = atomic_load(&ls->n.requests_retried);
	out->dropped_rejected = atomic_load(&ls->n.dropped_rejected);
	out->dropped_auth = atomic_load(&ls->n.dropped_auth);
	out->dropped_retries = atomic_load(&ls->n.dropped_retries);
}

// The transfer in progress notices stopping in its progress callback
// (within about a second), so stop has nothing to do beyond what the
// seam does.
const struct llmcost__exporter_ops llmcost__exporter_langsmith = {
	.name = "langsmith",
	.lossless = 0,
	.coalesce = 1,
	.linger_ms = LINGER_MS,
	.linger_calls = RUNS_PER_REQUEST,
	.start = langsmith_start,
	.deliver = langsmith_deliver,
	.stop = NULL,
	.fini = langsmith_fini,
};
