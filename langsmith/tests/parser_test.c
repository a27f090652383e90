// Unit tests of the LangSmith wire library: the captured JS SDK requests,
// every framing and schema rejection with its status, the caps, and the
// number, time and dotted_order functions.

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#include "capture.h"

#include "llmcost_common.h"
#include "llmcost_langsmith.h"

#define JS_CT                                                                 \
	"multipart/form-data; boundary=----LangSmithFormBoundaryeuetckfhffq"

// ---- support ----

// The Content-Type header of capture nnn, into ct.
static void
capture_ct(const char *nnn, char *ct, size_t ctsz)
{
	char name[32];
	size_t len;
	char *txt;
	json_t *j;

	snprintf(name, sizeof(name), "%s.json", nnn);
	txt = capture_read(name, &len);
	j = json_loadb(txt, len, 0, NULL);
	assert_non_null(j);
	snprintf(ct, ctsz, "%s",
	    json_string_value(json_object_get(
	        json_object_get(j, "headers"), "Content-Type")));
	json_decref(j);
	free(txt);
}

static const llmcost_ls_op *
find_op(const llmcost_ls_batch *b, const char *id)
{
	uint8_t want[16];

	assert_int_equal(llmcost__uuid_parse(id, want), 0);
	for (size_t i = 0; i < b->n_ops; i++) {
		if (memcmp(b->ops[i].info.id, want, 16) == 0) {
			return (&b->ops[i]);
		}
	}
	fail_msg("no run %s in the batch", id);
	return (NULL);
}

static int64_t
detail(const llmcost_ls_detail *d, uint32_t n, const char *key)
{
	for (uint32_t i = 0; i < n; i++) {
		if (strcmp(d[i].key, key) == 0) {
			return (d[i].n);
		}
	}
	return (-1);
}

// Multipart body builder: parts as (name, content-type line, data).
typedef struct mp {
	char buf[65536];
	size_t len;
} mp;

static void
mp_raw(mp *m, const char *s)
{
	size_t n = strlen(s);

	assert_true(m->len + n < sizeof(m->buf));
	memcpy(m->buf + m->len, s, n);
	m->len += n;
}

// A part with "Content-Type: application/json; length=<exact>".
static void
mp_part(mp *m, const char *name, const char *json)
{
	char h[512];

	snprintf(h, sizeof(h),
	    "--XyZ\r\nContent-Disposition: form-data; name=\"%s\"\r\n"
	    "Content-Type: application/json; length=%zu\r\n\r\n",
	    name, strlen(json));
	mp_raw(m, h);
	mp_raw(m, json);
	mp_raw(m, "\r\n");
}

static void
mp_end(mp *m)
{
	mp_raw(m, "--XyZ--\r\n");
}

// m becomes one part with these raw headers (each line ending in CRLF)
// and data, then the closing boundary.
static void
part_with(mp *m, const char *hdrs, const char *data)
{
	m->len = 0;
	mp_raw(m, "--XyZ\r\n");
	mp_raw(m, hdrs);
	mp_raw(m, "\r\n");
	mp_raw(m, data);
	mp_raw(m, "\r\n--XyZ--\r\n");
}

// m becomes one well-framed part (mp_part) and the closing boundary.
static void
one_part(mp *m, const char *name, const char *data)
{
	m->len = 0;
	mp_part(m, name, data);
	mp_end(m);
}

#define XYZ_CT "multipart/form-data; boundary=XyZ"

static int
parse_mp(const mp *m, unsigned flags, llmcost_ls_batch *b, llmcost_ls_error *e)
{
	return (llmcost_ls_batch_from_multipart(
	    XYZ_CT, (const uint8_t *) m->buf, m->len, NULL, flags, b, e));
}

// Expect body m to be refused with status and a reason containing what.
static void
expect_mp_fail(const mp *m, int status, const char *what)
{
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };

	if (parse_mp(m, 0, &b, &e) == 0) {
		llmcost_ls_batch_free(&b);
		fail_msg("accepted; want %d '%s'", status, what);
	}
	if (e.status != status || strstr(e.msg, what) == NULL) {
		fail_msg("got %d '%s'; want %d '%s'", e.status, e.msg, status,
		    what);
	}
	assert_int_equal(b.n_ops, 0);
	assert_null(b.ops);
}

#define ID1  "01a217b6-4a90-7000-8000-020dce77dd2f"
#define ID2  "01a217b6-4ac1-7000-8000-00d32f076617"
#define SEG1 "20261126T115552336001Z" ID1
#define SEG2 "20261126T115552385002Z" ID2

// A valid root run, with the given extra members spliced in.
static void
root_run(char *out, size_t sz, const char *extra)
{
	snprintf(out, sz,
	    "{\"id\":\"" ID1 "\",\"trace_id\":\"" ID1
	    "\",\"dotted_order\":\"" SEG1
	    "\",\"name\":\"r\",\"run_type\":\"chain\",\"start_time\":"
	    "\"2026-11-26T11:55:52.336001Z\"%s%s}",
	    extra[0] ? "," : "", extra);
}

// ---- the captured JS SDK requests ----

// Parse capture nnn (its Content-Type into ct, its body) into *b, which
// must succeed; returns the body (malloc'd) and its length in *len.
static char *
parse_capture(
    const char *nnn, char *ct, size_t ctsz, size_t *len, llmcost_ls_batch *b)
{
	char name[32];
	char *body;
	llmcost_ls_error e = { 0 };

	capture_ct(nnn, ct, ctsz);
	snprintf(name, sizeof(name), "%s.body", nnn);
	body = capture_read(name, len);
	LLMCOST_PASS(llmcost_ls_batch_from_multipart(
	    ct, (const uint8_t *) body, *len, NULL, 0, b, &e));
	return (body);
}

static void
test_capture_002(void **state)
{
	char ct[256];
	size_t len;
	llmcost_ls_batch b;
	char *body = parse_capture("002", ct, sizeof(ct), &len, &b);
	const llmcost_ls_op *op;

	(void) state;
	assert_int_equal(b.n_ops, 4);

	op = find_op(&b, ID1); // the chain
	assert_int_equal(op->kind, LLMCOST_LS_POST);
	assert_int_equal(op->info.run_type, LLMCOST_LS_RT_CHAIN);
	assert_string_equal(op->info.name, "handle_request");
	assert_string_equal(op->info.session_name, "llmcost-check");
	assert_int_equal(op->info.dotted.depth, 1);
	assert_false(op->info.has & LLMCOST_LS_H_PARENT);
	assert_int_equal(op->info.usage.src, LLMCOST_LS_USAGE_NONE);
	// 2026-11-26T11:55:52.336001Z and end_time 1795694152387 (ms)
	assert_int_equal(op->info.start_us, INT64_C(1795694152336001));
	assert_int_equal(op->info.end_us, INT64_C(1795694152387000));
	assert_string_equal(
	    json_string_value(json_object_get(
	        json_object_get(op->run, "inputs"), "question")),
	    "q");

	op = find_op(&b, ID2); // ChatOpenAI under the chain
	assert_int_equal(op->info.run_type, LLMCOST_LS_RT_LLM);
	assert_int_equal(op->info.dotted.depth, 2);
	assert_true(op->info.has & LLMCOST_LS_H_PARENT);
	assert_memory_equal(op->info.parent_run_id, op->info.trace_id, 16);
	assert_string_equal(op->info.ls_provider, "openai");
	assert_string_equal(op->info.ls_model_name, "o4-mini");
	assert_int_equal(op->info.usage.src, LLMCOST_LS_USAGE_OUTPUTS);
	assert_int_equal(op->info.usage.input_tokens, 2000);
	assert_int_equal(op->info.usage.output_tokens, 900);
	assert_int_equal(op->info.usage.total_tokens, 2900);
	assert_int_equal(detail(op->info.usage.input_details,
	                     op->info.usage.n_input_details, "cache_read"),
	    1536);
	assert_int_equal(detail(op->info.usage.output_details,
	                     op->info.usage.n_output_details, "reasoning"),
	    640);
	// The JS SDK's end_time (ms) precedes its start_time (us): accepted.
	assert_true(op->info.end_us < op->info.start_us);

	op = find_op(&b, "01a217b6-4ac2-7000-8000-0068899a23fa");
	assert_string_equal(op->info.ls_model_name, "claude-sonnet-4-5");
	assert_int_equal(
	    detail(op->info.usage.input_details,
	        op->info.usage.n_input_details, "ephemeral_1h_input_tokens"),
	    500);

	op = find_op(&b, "01a217b6-4ac3-7000-8000-009da8374415");
	assert_string_equal(op->info.error, "429 Resource exhausted");
	assert_int_equal(op->info.usage.src, LLMCOST_LS_USAGE_NONE);
	llmcost_ls_batch_free(&b);
	assert_int_equal(b.n_ops, 0);
	free(body);
}

static void
test_capture_003_004(void **state)
{
	char ct[256];
	size_t len;
	char *body;
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };

	(void) state;
	body = parse_capture("003", ct, sizeof(ct), &len, &b);
	assert_int_equal(b.n_ops, 1);
	assert_int_equal(b.ops[0].kind, LLMCOST_LS_POST);
	assert_false(b.ops[0].info.has & LLMCOST_LS_H_END);
	llmcost_ls_batch_free(&b);

	// Every proper prefix of a valid body is refused, never read past.
	// (The last two bytes are the optional CRLF after the close.)
	for (size_t n = 0; n + 2 < len; n++) {
		char *copy = malloc(n + 1); // exact size for ASan
		int rv;

		assert_non_null(copy);
		memcpy(copy, body, n);
		rv = llmcost_ls_batch_from_multipart(
		    ct, (const uint8_t *) copy, n, NULL, 0, &b, &e);
		if (rv == 0) {
			fail_msg("prefix of %zu bytes accepted", n);
		}
		assert_int_equal(e.status, 400);
		free(copy);
	}
	free(body);

	body = parse_capture("004", ct, sizeof(ct), &len, &b);
	assert_int_equal(b.n_ops, 1);
	assert_int_equal(b.ops[0].kind, LLMCOST_LS_PATCH);
	assert_true(b.ops[0].info.has & LLMCOST_LS_H_END);
	assert_int_equal(b.ops[0].info.usage.input_tokens, 812);
	assert_int_equal(b.ops[0].info.usage.output_tokens, 95);
	llmcost_ls_batch_free(&b);
	free(body);
}

// ---- framing ----

static void
test_boundary(void **state)
{
	llmcost_ls_span s;
	llmcost_ls_error e = { 0 };
	char longb[128];

	(void) state;
	LLMCOST_PASS(
	    llmcost_ls_multipart_boundary(JS_CT, strlen(JS_CT), &s, &e));
	assert_int_equal(
	    s.len, strlen("----LangSmithFormBoundaryeuetckfhffq"));
	assert_memory_equal(
	    s.ptr, "----LangSmithFormBoundaryeuetckfhffq", s.len);
#define CT_OK(ct, want)                                                       \
	do {                                                                  \
		LLMCOST_PASS(                                                 \
		    llmcost_ls_multipart_boundary(ct, strlen(ct), &s, &e));   \
		assert_int_equal(s.len, strlen(want));                        \
		assert_memory_equal(s.ptr, want, s.len);                      \
	} while (0)
#define CT_BAD(ct)                                                            \
	do {                                                                  \
		LLMCOST_FAIL(                                                 \
		    llmcost_ls_multipart_boundary(ct, strlen(ct), &s, &e),    \
		    LLMCOST_EPROTO);                                          \
		assert_int_equal(e.status, 400);                              \
	} while (0)
	CT_OK("Multipart/Form-Data;boundary=\"a b\"", "a b");
	CT_OK("multipart/form-data; charset=utf-8; boundary=x;", "x");
	CT_BAD("application/json");
	CT_BAD("multipart/form-data");
	CT_BAD("multipart/form-data; boundary=");
	CT_BAD("multipart/form-data; boundary=\"a \"");
	CT_BAD("multipart/form-data; boundary=\"unterminated");
	CT_BAD("multipart/form-data; boundary=a; boundary=b");
	CT_BAD("multipart/mixed; boundary=a");
	CT_BAD("multipart/form-data; boundary=\"a@b\"");
	memset(longb, 'b', sizeof(longb));
	snprintf(
	    longb, sizeof(longb), "multipart/form-data; boundary=%071d", 0);
	CT_BAD(longb);
	LLMCOST_FAIL(
	    llmcost_ls_multipart_boundary(NULL, 0, &s, &e), LLMCOST_EPROTO);
}

static void
test_framing_ok(void **state)
{
	mp m = { .len = 0 };
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };
	char run[1024];
	char h[256];

	(void) state;
	root_run(run, sizeof(run), "");
	// Preamble; Content-Length instead of length=; other headers; a
	// field part before its main part; an epilogue.
	mp_raw(&m, "preamble to be ignored\r\n");
	snprintf(h, sizeof(h),
	    "--XyZ  \r\ncontent-disposition: form-data; name=post." ID1
	    ".inputs\r\nX-Other: 1\r\ncontent-type: Application/JSON\r\n"
	    "Content-Length: 8\r\n\r\n{\"a\":\"\"}\r\n");
	mp_raw(&m, h);
	mp_part(&m, "post." ID1, run);
	mp_part(
	    &m, "feedback." ID2, "{\"trace_id\":\"" ID1 "\",\"key\":\"k\"}");
	mp_raw(&m,
	    "--XyZ\r\nContent-Disposition: form-data; name=\"attachment." ID1
	    ".img\"; filename=\"img.png\"\r\nContent-Type: "
	    "image/png\r\nContent-Length: 4\r\n\r\n\x89PNG\r\n");
	mp_raw(&m, "--XyZ--\r\nepilogue");
	LLMCOST_PASS(parse_mp(&m, 0, &b, &e));
	assert_int_equal(b.n_ops, 1);
	assert_int_equal(b.n_feedback, 1);
	assert_int_equal(b.n_attachments, 1);
	assert_int_equal(b.attachment_bytes, 4);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(b.ops[0].run, "inputs"), "a")),
	    "");
	llmcost_ls_batch_free(&b);
	llmcost_ls_batch_free(NULL);

	// An out-of-band part replaces the same field inside the run.
	m.len = 0;
	root_run(run, sizeof(run), "\"outputs\":{\"x\":1}");
	mp_part(&m, "post." ID1, run);
	mp_part(&m, "post." ID1 ".outputs", "{\"x\":2}");
	mp_end(&m);
	LLMCOST_PASS(parse_mp(&m, 0, &b, &e));
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(b.ops[0].run, "outputs"), "x")),
	    2);
	llmcost_ls_batch_free(&b);

	// The run may leave its id to the part name.
	m.len = 0;
	mp_part(&m, "post." ID1,
	    "{\"trace_id\":\"" ID1 "\",\"dotted_order\":\"" SEG1
	    "\",\"name\":\"r\",\"run_type\":\"llm\",\"start_time\":"
	    "\"2026-11-26T11:55:52.336001Z\"}");
	mp_end(&m);
	LLMCOST_PASS(parse_mp(&m, 0, &b, &e));
	assert_string_equal(
	    json_string_value(json_object_get(b.ops[0].run, "id")), ID1);
	llmcost_ls_batch_free(&b);

	// An empty multipart body is an empty batch.
	m.len = 0;
	mp_end(&m);
	LLMCOST_PASS(parse_mp(&m, 0, &b, &e));
	assert_int_equal(b.n_ops, 0);
	llmcost_ls_batch_free(&b);
}

static void
test_framing_errors(void **state)
{
	mp m;
	char run[1024];
	char h[2048];

	(void) state;
	root_run(run, sizeof(run), "");

#define CD "Content-Disposition: form-data; name=\"post." ID1 "\"\r\n"

	snprintf(h, sizeof(h),
	    CD "Content-Type: application/json; length=%zu\r\n",
	    strlen(run) - 1);
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "does not end at a boundary");
	snprintf(h, sizeof(h),
	    CD "Content-Type: application/json; length=%zu\r\n",
	    strlen(run) + 1);
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "does not end at a boundary");
	snprintf(h, sizeof(h),
	    CD "Content-Type: application/json; length=99999\r\n");
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "runs past the end");
	part_with(&m, CD "Content-Type: application/json\r\n", run);
	expect_mp_fail(&m, 400, "states no size");
	snprintf(h, sizeof(h),
	    CD "Content-Type: application/json; length=%zu\r\nContent-Length: "
	       "%zu\r\n",
	    strlen(run), strlen(run) + 1);
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "disagree");
	part_with(&m, CD "Content-Type: application/json; length=1x\r\n", run);
	expect_mp_fail(&m, 400, "length= must be one decimal number");
	part_with(&m, CD "Content-Type: application/json; length=-1\r\n", run);
	expect_mp_fail(&m, 400, "length= must be one decimal number");
	snprintf(h, sizeof(h), CD "Content-Length: %zu\r\n", strlen(run));
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "has no Content-Type");
	snprintf(h, sizeof(h),
	    "Content-Type: application/json; length=%zu\r\n", strlen(run));
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "has no Content-Disposition");
	snprintf(h, sizeof(h),
	    CD "Content-Type: application/json; length=%zu\r\n"
	       "Content-Encoding: gzip\r\n",
	    strlen(run));
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "Content-Encoding is not allowed");
	snprintf(h, sizeof(h),
	    CD "Content-Type: application/json;\r\n length=%zu\r\n",
	    strlen(run));
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "folded");
	snprintf(h, sizeof(h),
	    "Content-Disposition: attachment; name=\"post." ID1 "\"\r\n"
	    "Content-Type: application/json; length=%zu\r\n",
	    strlen(run));
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "must be form-data");
	snprintf(h, sizeof(h),
	    "Content-Disposition: form-data\r\n"
	    "Content-Type: application/json; length=%zu\r\n",
	    strlen(run));
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "without a name");
	snprintf(h, sizeof(h), CD "Content-Type: text/plain; length=%zu\r\n",
	    strlen(run));
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "must be application/json");

	// A header line over the cap, and too many header lines.
	memset(h, 'a', sizeof(h));
	memcpy(h, "X-Long: ", 8);
	h[LLMCOST_LS_HEADER_LINE_MAX + 10] = '\0';
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "longer than");
	h[0] = '\0';
	for (int i = 0; i <= LLMCOST_LS_PART_HEADERS_MAX; i++) {
		strcat(h, "X-A: b\r\n");
	}
	part_with(&m, h, run);
	expect_mp_fail(&m, 400, "header lines");

	// No boundary at all; a delimiter not followed by CRLF; no close.
	m.len = 0;
	mp_raw(&m, run);
	expect_mp_fail(&m, 400, "no boundary line");
	m.len = 0;
	mp_raw(&m, "--XyZxx\r\n");
	expect_mp_fail(&m, 400, "not followed by CRLF");
	m.len = 0;
	mp_part(&m, "post." ID1, run);
	expect_mp_fail(&m, 400, "runs past the end");
	mp_raw(&m, "--XyZ");
	expect_mp_fail(&m, 400, "truncated after boundary 1");
}

static void
test_part_names(void **state)
{
	mp m;
	char run[1024];

	(void) state;
	root_run(run, sizeof(run), "");
	one_part(&m, "run." ID1, run);
	expect_mp_fail(&m, 400, "unknown part kind");
	one_part(&m, "post.not-a-uuid", run);
	expect_mp_fail(&m, 400, "want post.<id>");
	one_part(&m, "post", run);
	expect_mp_fail(&m, 400, "want post.<id>");
	one_part(&m, "post." ID1 ".metadata", "{}");
	expect_mp_fail(&m, 400, "unknown field");
	one_part(&m, "post." ID1 ".outputs.x", "{}");
	expect_mp_fail(&m, 400, "want post.<id>");
	one_part(&m, "post." ID1 ".outputs", "{}");
	expect_mp_fail(&m, 400, "no post." ID1 " part");
	one_part(&m, "attachment." ID1 ".a.png", "x");
	expect_mp_fail(&m, 400, "want post.<id>");
	one_part(&m, "feedback." ID1, "{\"key\":\"k\"}");
	expect_mp_fail(&m, 422, "trace_id");
	one_part(&m, "post." ID2, run);
	expect_mp_fail(&m, 422, "differs from the part name");
	one_part(&m, "post." ID1, "[1]");
	expect_mp_fail(&m, 422, "must be a JSON object");
	one_part(&m, "post." ID1, "{\"id\":");
	expect_mp_fail(&m, 400, "truncated");
	one_part(&m, "post." ID1, "{\"id\":tru}");
	expect_mp_fail(&m, 400, "invalid JSON");

	m.len = 0;
	mp_part(&m, "post." ID1, run);
	mp_part(&m, "post." ID1, run);
	mp_end(&m);
	expect_mp_fail(&m, 400, "given twice");
	m.len = 0;
	mp_part(&m, "post." ID1, run);
	mp_part(&m, "post." ID1 ".inputs", "{}");
	mp_part(&m, "post." ID1 ".inputs", "{}");
	mp_end(&m);
	expect_mp_fail(&m, 400, "given twice");
}

// ---- the run schema ----

// One run in a multipart body: expect status and a reason, or success
// (status 0).
static void
expect_run(const char *json, unsigned flags, int status, const char *what)
{
	mp m = { .len = 0 };
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };
	const json_t *idv;
	json_t *j = json_loads(json, 0, NULL);
	char name[64];
	uint8_t id[16];
	int rv;

	// Name the part after the run's id (or ID1), so that only the
	// field under test is wrong.
	assert_non_null(j);
	idv = json_object_get(j, "id");
	snprintf(name, sizeof(name), "post.%s",
	    json_is_string(idv)
	            && llmcost__uuid_parse(json_string_value(idv), id) == 0
	        ? json_string_value(idv)
	        : ID1);
	json_decref(j);
	mp_part(&m, name, json);
	mp_end(&m);
	rv = parse_mp(&m, flags, &b, &e);
	if (status == 0) {
		if (rv != 0) {
			fail_msg("refused (%d %s): %s", e.status, e.msg, json);
		}
		llmcost_ls_batch_free(&b);
		return;
	}
	if (rv == 0) {
		llmcost_ls_batch_free(&b);
		fail_msg("accepted; want %d '%s': %s", status, what, json);
	}
	if (e.status != status || strstr(e.msg, what) == NULL) {
		fail_msg("got %d '%s'; want %d '%s'", e.status, e.msg, status,
		    what);
	}
}

// A root run with extra members spliced in (root_run), as expect_run.
static void
expect_root(const char *extra, int status, const char *what)
{
	char run[2048];

	root_run(run, sizeof(run), extra);
	expect_run(run, 0, status, what);
}

// A child run (id ID2) with this trace_id, parent_run_id (JSON text) and
// dotted_order, as expect_run.
static void
expect_child(const char *trace, const char *parent, const char *dotted,
    unsigned flags, int status, const char *what)
{
	char run[2048];

	snprintf(run, sizeof(run),
	    "{\"id\":\"" ID2 "\",\"trace_id\":\"%s\",\"parent_run_id\":%s,"
	    "\"dotted_order\":\"%s\",\"name\":\"c\",\"run_type\":\"llm\","
	    "\"start_time\":\"2026-11-26T11:55:52.385002Z\"}",
	    trace, parent, dotted);
	expect_run(run, flags, status, what);
}

static void
test_run_fields(void **state)
{
	(void) state;
	expect_root("", 0, "");
	expect_root(
	    "\"session_name\":\"p\",\"tags\":[\"a\"],\"error\":null", 0, "");
	expect_root("\"end_time\":1795694152387", 0, "");
	expect_root("\"end_time\":\"2026-11-26T11:55:53+01:00\"", 0, "");
	expect_root(
	    "\"run_type\":\"agent\"", 422, "run_type: 'agent' is not one of");
	expect_root("\"name\":null", 422, "name: missing");
	expect_root("\"name\":7", 422, "name: want a string");
	expect_root("\"start_time\":\"yesterday\"", 422,
	    "start_time: want an RFC 3339");
	expect_root("\"start_time\":null", 422, "start_time: missing");
	expect_root("\"end_time\":\"2026-02-30T00:00:00Z\"", 422, "end_time");
	expect_root("\"end_time\":-5", 422, "end_time");
	expect_root("\"parent_run_id\":\"zzz\"", 422,
	    "parent_run_id: 'zzz' is not a UUID");
	expect_root("\"session_id\":\"" ID2 "x\"", 422, "session_id");
	expect_root("\"tags\":\"a\"", 422, "tags: want an array");
	expect_root("\"tags\":[1]", 422, "tags[0]");
	expect_root("\"inputs\":[]", 422, "inputs: want an object");
	expect_root("\"events\":{}", 422, "events: want an array");
	expect_root("\"error\":{}", 422, "error: want a string");
	expect_root("\"extra\":{\"metadata\":[]}", 422,
	    "extra.metadata: want an object");
	expect_root("\"trace_id\":null", 422, "trace_id: missing");
	expect_root("\"dotted_order\":null", 422, "dotted_order: missing");
	expect_root("\"id\":\"01a217b6-4a90-7000-8000-020dce77dd2g\"", 422,
	    "id: '01a217b6-4a90-7000-8000-020dce77dd2g' is not a UUID");
	expect_root("\"id\":null", 0, ""); // the part name carries the id

	// Only a create needs name, run_type and start_time.
	{
		mp m = { .len = 0 };
		llmcost_ls_batch b;
		llmcost_ls_error e = { 0 };

		mp_part(&m, "patch." ID1,
		    "{\"trace_id\":\"" ID1 "\",\"dotted_order\":\"" SEG1
		    "\",\"end_time\":1795694152387}");
		mp_end(&m);
		LLMCOST_PASS(parse_mp(&m, 0, &b, &e));
		assert_int_equal(b.ops[0].kind, LLMCOST_LS_PATCH);
		llmcost_ls_batch_free(&b);
	}
}

static void
test_run_dotted(void **state)
{
	(void) state;
#define DOT(dotted, status, what)                                             \
	expect_root("\"dotted_order\":\"" dotted "\"", status, what)
	DOT("20261126T115552336Z" ID1, 400,
	    "invalid 'dotted_order': segment 1 is 55 characters");
	DOT("20261126T115552.336001Z" ID1, 400, "invalid timestamp");
	DOT("20261126T115552336001" ID1 "Z", 400, "invalid timestamp");
	DOT("20261330T115552336001Z" ID1, 400, "real UTC date");
	DOT("20260229T115552336001Z" ID1, 400, "real UTC date");
	DOT("20261126T245552336001Z" ID1, 400, "real UTC date");
	DOT("20261126T115552336001Z" ID1 ".", 400, "not followed by");
	DOT("20261126T115552336001Z" ID1 "x", 400, "not followed by");
	DOT("20261126T115552336001Z01a217b6-4a90-7000-8000+020dce77dd2f", 400,
	    "does not end in a UUID");
	DOT("20261126T115552336001Z" ID2, 400,
	    "last UUID is not the run's id");

	// Children: consistency with trace_id and parent_run_id.
	expect_child(ID1, "\"" ID1 "\"", SEG1 "." SEG2, 0, 0, "");
	expect_child(ID2, "\"" ID1 "\"", SEG1 "." SEG2, 0, 400,
	    "first UUID is not the trace_id");
	expect_child(ID1, "null", SEG1 "." SEG2, 0, 400,
	    "2 segments but no parent_run_id");
	expect_child(ID1, "\"01a217b6-4ac3-7000-8000-009da8374415\"",
	    SEG1 "." SEG2, 0, 400,
	    "second-to-last UUID is not the parent_run_id");
	expect_child(ID2, "\"" ID1 "\"", SEG2, 0, 400,
	    "one segment (a root run) but parent_run_id");
	expect_child(ID1, "\"" ID1 "\"", SEG1 ".20261126T115552336000Z" ID2, 0,
	    400, "timestamp ordering violation");
	// Strict mode: start_time must be the last segment's time.
	expect_child(
	    ID1, "\"" ID1 "\"", SEG1 ".20261126T115552385003Z" ID2, 0, 0, "");
	expect_child(ID1, "\"" ID1 "\"", SEG1 ".20261126T115552385003Z" ID2,
	    LLMCOST_LS_F_STRICT_START, 400,
	    "last timestamp is not the start_time");

	// Too deep: LLMCOST_LS_DOTTED_DEPTH_MAX + 1 segments.
	{
		size_t n = LLMCOST_LS_DOTTED_DEPTH_MAX + 1;
		size_t len = n * (LLMCOST_LS_SEGMENT_LEN + 1);
		char *d = malloc(len);
		llmcost_ls_dotted out;
		llmcost_ls_error e = { 0 };

		assert_non_null(d);
		for (size_t i = 0; i < n; i++) {
			memcpy(d + i * (LLMCOST_LS_SEGMENT_LEN + 1), SEG1 ".",
			    LLMCOST_LS_SEGMENT_LEN + 1);
		}
		LLMCOST_FAIL(llmcost_ls_dotted_parse(d, len - 1, &out, &e),
		    LLMCOST_EPROTO);
		assert_non_null(strstr(e.msg, "more than 256 segments"));
		LLMCOST_PASS(llmcost_ls_dotted_parse(
		    d, (n - 1) * (LLMCOST_LS_SEGMENT_LEN + 1) - 1, &out, &e));
		assert_int_equal(out.depth, LLMCOST_LS_DOTTED_DEPTH_MAX);
		free(d);
	}
}

static void
test_segment_format(void **state)
{
	char seg[LLMCOST_LS_SEGMENT_LEN + 1];
	uint8_t id[16];
	llmcost_ls_dotted d;
	llmcost_ls_error e = { 0 };

	(void) state;
	assert_int_equal(llmcost__uuid_parse(ID2, id), 0);
	llmcost_ls_dotted_segment(INT64_C(1795694152385002), id, seg);
	assert_string_equal(seg, SEG2);
	LLMCOST_PASS(llmcost_ls_dotted_parse(
	    SEG1 "." SEG2, strlen(SEG1 "." SEG2), &d, &e));
	assert_int_equal(d.depth, 2);
	assert_int_equal(d.first_us, INT64_C(1795694152336001));
	assert_int_equal(d.last_us, INT64_C(1795694152385002));
	assert_memory_equal(d.last_id, id, 16);
}

// ---- usage ----

// The usage of the run JSON text, which must be extracted; returns the
// run (which u may point into) for the caller to release.
static json_t *
usage_of(const char *json, llmcost_ls_usage *u)
{
	llmcost_ls_error e = { 0 };
	json_t *run = json_loads(json, 0, NULL);

	assert_non_null(run);
	LLMCOST_PASS(llmcost_ls_usage_extract(run, u, &e));
	return (run);
}

static void
test_usage(void **state)
{
	json_t *run;
	llmcost_ls_usage u;
	llmcost_ls_error e = { 0 };

	(void) state;
	// outputs wins over extra.metadata.
	run = usage_of("{\"outputs\":{\"usage_metadata\":{\"input_tokens\":1,"
	               "\"output_tokens\":2}},\"extra\":{\"metadata\":{"
	               "\"usage_metadata\":{\"input_tokens\":9}}}}",
	    &u);
	assert_int_equal(u.src, LLMCOST_LS_USAGE_OUTPUTS);
	assert_int_equal(u.input_tokens, 1);
	assert_int_equal(u.total_tokens, 3); // inferred
	assert_false(u.has & LLMCOST_LS_U_TOTAL);
	json_decref(run);

	// extra.metadata when outputs has none; costs as number and string.
	run = usage_of(
	    "{\"outputs\":{\"usage_metadata\":null},\"extra\":{\"metadata\":{"
	    "\"usage_metadata\":{\"input_tokens\":9,\"total_tokens\":10,"
	    "\"total_cost\":\"1.5E-7\",\"input_cost\":0.25,"
	    "\"input_token_details\":{\"cache_read\":4,\"audio\":null}}}}}",
	    &u);
	assert_int_equal(u.src, LLMCOST_LS_USAGE_METADATA);
	assert_int_equal(u.total_tokens, 10);
	assert_int_equal(u.total_cost, 150000);
	assert_int_equal(u.input_cost, INT64_C(250000000000));
	assert_true(u.has & LLMCOST_LS_U_TOTAL_COST);
	assert_false(u.has & LLMCOST_LS_U_OUTPUT_COST);
	assert_int_equal(u.n_input_details, 1);
	json_decref(run);

	run = usage_of("{}", &u);
	assert_int_equal(u.src, LLMCOST_LS_USAGE_NONE);
	json_decref(run);

#define BAD_USAGE(um, what)                                                   \
	do {                                                                  \
		run = json_loads(                                             \
		    "{\"outputs\":{\"usage_metadata\":" um "}}", 0, NULL);    \
		assert_non_null(run);                                         \
		LLMCOST_FAIL(                                                 \
		    llmcost_ls_usage_extract(run, &u, &e), LLMCOST_EINVAL);   \
		assert_int_equal(e.status, 422);                              \
		if (strstr(e.msg, what) == NULL) {                            \
			fail_msg("reason '%s', want '%s'", e.msg, what);      \
		}                                                             \
		json_decref(run);                                             \
	} while (0)
	BAD_USAGE("[]", "outputs.usage_metadata: want an object");
	BAD_USAGE(
	    "{\"input_tokens\":-1}", "input_tokens: want a non-negative");
	BAD_USAGE("{\"input_tokens\":2.5}", "input_tokens");
	BAD_USAGE("{\"output_tokens\":\"3\"}", "output_tokens");
	BAD_USAGE("{\"input_token_details\":[]}", "input_token_details");
	BAD_USAGE("{\"output_token_details\":{\"reasoning\":-2}}",
	    "output_token_details.reasoning");
	BAD_USAGE("{\"total_cost\":\"cheap\"}", "total_cost");
	BAD_USAGE("{\"input_tokens\":9223372036854775807,\"output_tokens\":1}",
	    "overflow");
	{
		char um[2048] = "{\"input_token_details\":{";

		for (int i = 0; i <= LLMCOST_LS_DETAILS_MAX; i++) {
			char kv[32];

			snprintf(
			    kv, sizeof(kv), "%s\"k%d\":1", i ? "," : "", i);
			strcat(um, kv);
		}
		strcat(um, "}}");
		run = json_pack("{s:{s:o}}", "outputs", "usage_metadata",
		    json_loads(um, 0, NULL));
		LLMCOST_FAIL(
		    llmcost_ls_usage_extract(run, &u, &e), LLMCOST_EINVAL);
		assert_non_null(strstr(e.msg, "more than 16 keys"));
		json_decref(run);
	}
}

// ---- caps: huge fields, many values, big bodies ----

static void
test_caps(void **state)
{
	size_t big = 8u << 20;
	size_t cap = big + 4096;
	char *body = malloc(cap);
	char *s;
	size_t n;
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };
	llmcost_ls_limits lim = { 0 };
	char run[1024];

	(void) state;
	assert_non_null(body);
	root_run(run, sizeof(run), "");

	// An 8 MiB string in inputs: accepted whole.
	n = (size_t) snprintf(body, cap,
	    "--XyZ\r\nContent-Disposition: form-data; name=\"post." ID1
	    "\"\r\nContent-Type: application/json; length=%zu\r\n\r\n%s\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=\"post." ID1
	    ".inputs\"\r\nContent-Type: application/json; length=%zu\r\n\r\n",
	    strlen(run), run, big + 8);
	s = body + n;
	memcpy(s, "{\"a\":\"", 6);
	memset(s + 6, 'x', big);
	memcpy(s + 6 + big, "\"}\r\n--XyZ--\r\n", 13);
	n += big + 6 + 13;
	LLMCOST_PASS(llmcost_ls_batch_from_multipart(
	    XYZ_CT, (const uint8_t *) body, n, NULL, 0, &b, &e));
	assert_int_equal(json_string_length(json_object_get(
	                     json_object_get(b.ops[0].run, "inputs"), "a")),
	    big);
	llmcost_ls_batch_free(&b);

	// The same body over a smaller body cap: 413 before any parsing.
	lim.body_max = big;
	LLMCOST_FAIL(llmcost_ls_batch_from_multipart(
	                 XYZ_CT, (const uint8_t *) body, n, &lim, 0, &b, &e),
	    LLMCOST_ETOOBIG);
	assert_int_equal(e.status, 413);

	// 300,000 values in one array: over the default value cap.
	n = (size_t) snprintf(body, cap,
	    "--XyZ\r\nContent-Disposition: form-data; name=\"post." ID1
	    "\"\r\nContent-Type: application/json; length=%zu\r\n\r\n%s\r\n"
	    "--XyZ\r\nContent-Disposition: form-data; name=\"post." ID1
	    ".inputs\"\r\nContent-Type: application/json; length=%d\r\n\r\n",
	    strlen(run), run, 7 + 2 * 300000);
	s = body + n;
	memcpy(s, "{\"a\":[", 6);
	for (int i = 0; i < 300000; i++) {
		memcpy(s + 6 + 2 * i, "0,", 2);
	}
	memcpy(s + 6 + 2 * 300000 - 1, "]}\r\n--XyZ--\r\n", 13);
	n += 6 + 2 * 300000 - 1 + 13;
	LLMCOST_FAIL(llmcost_ls_batch_from_multipart(
	                 XYZ_CT, (const uint8_t *) body, n, NULL, 0, &b, &e),
	    LLMCOST_ETOOBIG);
	assert_int_equal(e.status, 413);
	assert_non_null(strstr(e.msg, "more JSON values than its limit"));

	// Too many parts and too many runs.
	lim.body_max = 0;
	lim.parts_max = 3;
	{
		mp m = { .len = 0 };

		for (int i = 0; i < 4; i++) {
			mp_part(&m, "post." ID1 ".inputs", "{}");
		}
		mp_end(&m);
		LLMCOST_FAIL(
		    llmcost_ls_batch_from_multipart(XYZ_CT,
		        (const uint8_t *) m.buf, m.len, &lim, 0, &b, &e),
		    LLMCOST_ETOOBIG);
		assert_non_null(strstr(e.msg, "more than 3 parts"));
		lim.parts_max = 0;
		lim.ops_max = 1;
		m.len = 0;
		mp_part(&m, "post." ID1, run);
		mp_part(&m, "post." ID2, run);
		mp_end(&m);
		LLMCOST_FAIL(
		    llmcost_ls_batch_from_multipart(XYZ_CT,
		        (const uint8_t *) m.buf, m.len, &lim, 0, &b, &e),
		    LLMCOST_ETOOBIG);
		assert_non_null(strstr(e.msg, "more than 1 runs"));
	}
	free(body);
}

static void
test_json_scan(void **state)
{
	llmcost_ls_error e = { 0 };
	size_t v = 0;
	char deep[2 * LLMCOST_LS_JSON_DEPTH_MAX + 4];

	(void) state;
#define SCAN_OK(s, n)                                                         \
	do {                                                                  \
		LLMCOST_PASS(                                                 \
		    llmcost_ls_json_scan(s, strlen(s), 100, &v, &e));         \
		assert_int_equal(v, n);                                       \
	} while (0)
#define SCAN_BAD(s, what)                                                     \
	do {                                                                  \
		assert_int_not_equal(                                         \
		    llmcost_ls_json_scan(s, strlen(s), 100, &v, &e), 0);      \
		if (strstr(e.msg, what) == NULL) {                            \
			fail_msg("reason '%s', want '%s'", e.msg, what);      \
		}                                                             \
	} while (0)
	SCAN_OK("{\"a\":[1,\"x\\\"]\",null]}", 6);
	SCAN_OK(" \"s\" ", 1);
	SCAN_OK("-1.5e+3", 1);
	SCAN_BAD("", "empty");
	SCAN_BAD("{\"a\":1", "truncated (unclosed '{')");
	SCAN_BAD("[1,2", "truncated (unclosed '[')");
	SCAN_BAD("[1}", "mismatched");
	SCAN_BAD("]", "unbalanced");
	SCAN_BAD("{} {}", "extra bytes");
	SCAN_BAD("\"abc", "unterminated string");
	SCAN_BAD("\"abc\\", "unterminated string");
	SCAN_BAD("[#]", "unexpected byte 0x23");
	SCAN_BAD(
	    "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
	    "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
	    "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,"
	    "0,0,0,0,0,0,0,0,0,0,0,0]",
	    "more than 100 values");
	memset(deep, '[', LLMCOST_LS_JSON_DEPTH_MAX + 1);
	memset(deep + LLMCOST_LS_JSON_DEPTH_MAX + 1, ']',
	    LLMCOST_LS_JSON_DEPTH_MAX + 1);
	deep[2 * LLMCOST_LS_JSON_DEPTH_MAX + 2] = '\0';
	assert_int_equal(
	    llmcost_ls_json_scan(deep, strlen(deep), 1000, &v, &e),
	    LLMCOST_EPROTO);
	assert_non_null(strstr(e.msg, "nested deeper than 256"));
	LLMCOST_PASS(
	    llmcost_ls_json_scan(deep + 1, strlen(deep) - 2, 1000, &v, &e));
	assert_int_equal(v, LLMCOST_LS_JSON_DEPTH_MAX);
}

// ---- the JSON endpoints ----

static void
test_batch_json(void **state)
{
	char run[1024];
	char body[4096];
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };

	(void) state;
	root_run(run, sizeof(run), "");
	snprintf(body, sizeof(body),
	    "{\"post\":[%s],\"patch\":[{\"id\":\"" ID1 "\",\"trace_id\":\"" ID1
	    "\",\"dotted_order\":\"" SEG1 "\",\"end_time\":\"2026-11-26T11:55:"
	    "53Z\"}]}",
	    run);
	LLMCOST_PASS(llmcost_ls_batch_from_json(
	    (const uint8_t *) body, strlen(body), NULL, 0, &b, &e));
	assert_int_equal(b.n_ops, 2);
	assert_int_equal(b.ops[0].kind, LLMCOST_LS_POST);
	assert_int_equal(b.ops[1].kind, LLMCOST_LS_PATCH);
	llmcost_ls_batch_free(&b);

	LLMCOST_FAIL(
	    llmcost_ls_batch_from_json(
	        (const uint8_t *) "{\"post\":{}}", 11, NULL, 0, &b, &e),
	    LLMCOST_EINVAL);
	assert_int_equal(e.status, 422);
	snprintf(body, sizeof(body),
	    "{\"post\":[%s,{\"id\":\"" ID2 "\",\"name\":\"x\"}]}", run);
	LLMCOST_FAIL(llmcost_ls_batch_from_json((const uint8_t *) body,
	                 strlen(body), NULL, 0, &b, &e),
	    LLMCOST_EINVAL);
	assert_string_equal(e.msg,
	    "post." ID2 ": run_type: missing (a run create needs name, "
	    "run_type and start_time)");
	LLMCOST_FAIL(llmcost_ls_batch_from_json(
	                 (const uint8_t *) "{\"post\":[", 9, NULL, 0, &b, &e),
	    LLMCOST_EPROTO);
	assert_int_equal(e.status, 400);
	snprintf(
	    body, sizeof(body), "{\"patch\":[{\"trace_id\":\"" ID1 "\"}]}");
	LLMCOST_FAIL(llmcost_ls_batch_from_json((const uint8_t *) body,
	                 strlen(body), NULL, 0, &b, &e),
	    LLMCOST_EINVAL);
	assert_string_equal(e.msg, "patch.?: id: missing");
}

static void
test_single_run(void **state)
{
	const char *run = "{\"id\":\"" ID1 "\",\"name\":\"r\",\"run_type\":"
	                  "\"llm\",\"start_time\":\"2026-11-26T11:55:52Z\"}";
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };

	(void) state;
	// POST /runs may omit trace_id and dotted_order.
	LLMCOST_PASS(llmcost_ls_batch_from_run((const uint8_t *) run,
	    strlen(run), LLMCOST_LS_POST, NULL, NULL, 0, &b, &e));
	assert_false(b.ops[0].info.has & LLMCOST_LS_H_DOTTED);
	llmcost_ls_batch_free(&b);
	// ... but a root run's trace_id must then be its id.
	{
		const char *bad = "{\"id\":\"" ID1 "\",\"trace_id\":\"" ID2
		                  "\",\"name\":\"r\",\"run_type\":\"llm\","
		                  "\"start_time\":\"2026-11-26T11:55:52Z\"}";

		LLMCOST_FAIL(
		    llmcost_ls_batch_from_run((const uint8_t *) bad,
		        strlen(bad), LLMCOST_LS_POST, NULL, NULL, 0, &b, &e),
		    LLMCOST_EINVAL);
		assert_non_null(strstr(e.msg, "trace_id must equal id"));
	}
	// PATCH /runs/{id}: the id comes from the path.
	LLMCOST_PASS(
	    llmcost_ls_batch_from_run((const uint8_t *) "{\"end_time\":1}", 14,
	        LLMCOST_LS_PATCH, ID2, NULL, 0, &b, &e));
	assert_string_equal(
	    json_string_value(json_object_get(b.ops[0].run, "id")), ID2);
	llmcost_ls_batch_free(&b);
	LLMCOST_FAIL(llmcost_ls_batch_from_run((const uint8_t *) run,
	                 strlen(run), LLMCOST_LS_PATCH, ID2, NULL, 0, &b, &e),
	    LLMCOST_EINVAL);
	assert_non_null(strstr(e.msg, "differs from the run id in the path"));
	LLMCOST_FAIL(llmcost_ls_batch_from_run((const uint8_t *) "{}", 2,
	                 LLMCOST_LS_PATCH, "nope", NULL, 0, &b, &e),
	    LLMCOST_EINVAL);
	assert_int_equal(e.status, 422);
}

// ---- numbers and times ----

static void
test_decimal(void **state)
{
	int64_t v = 0;

	(void) state;
#define DEC(s, scale, want)                                                   \
	do {                                                                  \
		LLMCOST_PASS(                                                 \
		    llmcost_ls_decimal_parse(s, strlen(s), scale, &v));       \
		assert_int_equal(v, want);                                    \
	} while (0)
#define DEC_BAD(s, code)                                                      \
	LLMCOST_FAIL(llmcost_ls_decimal_parse(s, strlen(s), 12, &v), code)
	DEC("0.014775", 12, INT64_C(14775000000));
	DEC("1.5E-7", 12, 150000);
	DEC("1.5e+2", 0, 150);
	DEC("-3", 12, INT64_C(-3000000000000));
	DEC(".5", 0, 1);
	DEC("-0.5", 0, -1);
	DEC("0.4999", 0, 0);
	DEC("5.", 0, 5);
	DEC("0.0000000000005", 12, 1); // half away from zero
	DEC("0.00000000000049", 12, 0);
	DEC("0.15", 6, 150000); // $0.15 per 1M tokens, pico-USD per token
	DEC("9223372036854775807", 0, INT64_MAX);
	DEC("-9223372036854775808", 0, INT64_MIN);
	DEC("1e-400", 12, 0);
	DEC_BAD("", LLMCOST_EINVAL);
	DEC_BAD("-", LLMCOST_EINVAL);
	DEC_BAD(".", LLMCOST_EINVAL);
	DEC_BAD("1e", LLMCOST_EINVAL);
	DEC_BAD("1e401", LLMCOST_EINVAL);
	DEC_BAD(" 1", LLMCOST_EINVAL);
	DEC_BAD("1,5", LLMCOST_EINVAL);
	DEC_BAD("0x10", LLMCOST_EINVAL);
	DEC_BAD("9223373", LLMCOST_ETOOBIG);
	DEC_BAD("1e10", LLMCOST_ETOOBIG);

	{
		char out[32];

		llmcost_ls_pico_format(INT64_C(14775000000), out);
		assert_string_equal(out, "0.014775");
		llmcost_ls_pico_format(INT64_C(-3000000000000), out);
		assert_string_equal(out, "-3");
		llmcost_ls_pico_format(0, out);
		assert_string_equal(out, "0");
		llmcost_ls_pico_format(1, out);
		assert_string_equal(out, "0.000000000001");
		llmcost_ls_pico_format(INT64_MIN, out);
		assert_string_equal(out, "-9223372.036854775808");
	}
	{
		json_t *j = json_real(0.014775);
		int present = 0;

		LLMCOST_PASS(llmcost_ls_cost_parse(j, &v, &present));
		assert_int_equal(present, 1);
		assert_int_equal(v, INT64_C(14775000000));
		json_decref(j);
		j = json_null();
		v = 7;
		LLMCOST_PASS(llmcost_ls_cost_parse(j, &v, &present));
		assert_int_equal(present, 0);
		LLMCOST_PASS(llmcost_ls_cost_parse(NULL, &v, &present));
		assert_int_equal(present, 0);
		j = json_true();
		LLMCOST_FAIL(
		    llmcost_ls_cost_parse(j, &v, &present), LLMCOST_EINVAL);
		j = json_integer(INT64_MAX / 1000);
		LLMCOST_FAIL(
		    llmcost_ls_cost_parse(j, &v, &present), LLMCOST_ETOOBIG);
		json_decref(j);
	}
}

static void
test_time(void **state)
{
	int64_t us = 0;
	char out[LLMCOST_LS_TIME_STR_LEN];

	(void) state;
#define T(s, want)                                                            \
	do {                                                                  \
		LLMCOST_PASS(llmcost_ls_time_parse_str(s, strlen(s), &us));   \
		assert_int_equal(us, want);                                   \
	} while (0)
#define T_BAD(s)                                                              \
	LLMCOST_FAIL(                                                         \
	    llmcost_ls_time_parse_str(s, strlen(s), &us), LLMCOST_EINVAL)
	T("2026-11-26T11:55:52.336001Z", INT64_C(1795694152336001));
	T("2026-11-26T11:55:52.336001", INT64_C(1795694152336001));
	T("2026-11-26T12:55:52.336001+01:00", INT64_C(1795694152336001));
	T("2026-11-26 11:55:52.3360019999Z", INT64_C(1795694152336001));
	T("2026-11-26T11:55:52Z", INT64_C(1795694152000000));
	T("1970-01-01T00:00:00Z", 0);
	T("2024-02-29T00:00:00Z", INT64_C(1709164800000000));
	T("9999-12-31T23:59:59.999999Z", INT64_C(253402300799999999));
	T_BAD("2026-11-26T11:55:52.Z");
	T_BAD("2026-11-26T11:55:60Z");
	T_BAD("2023-02-29T00:00:00Z");
	T_BAD("1969-12-31T23:59:59Z");
	T_BAD("1970-01-01T00:00:00+01:00");
	T_BAD("2026-11-26T11:55:52+0100");
	T_BAD("2026-11-26T11:55:52ZZ");
	T_BAD("2026-11-26");
	T_BAD("2026-1x-26T11:55:52Z");

	llmcost_ls_time_format(INT64_C(1795694152336001), 1, out);
	assert_string_equal(out, "2026-11-26T11:55:52.336001Z");
	llmcost_ls_time_format(0, 0, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000000");
	{
		json_t *j = json_integer(1795694152387);

		LLMCOST_PASS(llmcost_ls_time_parse(j, &us));
		assert_int_equal(us, INT64_C(1795694152387000));
		json_decref(j);
		j = json_real(1795694152387.5);
		LLMCOST_PASS(llmcost_ls_time_parse(j, &us));
		assert_int_equal(us, INT64_C(1795694152387500));
		json_decref(j);
		j = json_real(-1.0);
		LLMCOST_FAIL(llmcost_ls_time_parse(j, &us), LLMCOST_EINVAL);
		json_decref(j);
		j = json_true();
		LLMCOST_FAIL(llmcost_ls_time_parse(j, &us), LLMCOST_EINVAL);
	}
	assert_string_equal(
	    llmcost_ls_run_type_name(LLMCOST_LS_RT_LLM), "llm");
	assert_null(llmcost_ls_run_type_name(LLMCOST_LS_RT_COUNT));
	assert_int_equal(
	    llmcost_ls_run_type_parse("retriever"), LLMCOST_LS_RT_RETRIEVER);
	assert_int_equal(llmcost_ls_run_type_parse("LLM"), LLMCOST_LS_RT_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_capture_002),
		cmocka_unit_test(test_capture_003_004),
		cmocka_unit_test(test_boundary),
		cmocka_unit_test(test_framing_ok),
		cmocka_unit_test(test_framing_errors),
		cmocka_unit_test(test_part_names),
		cmocka_unit_test(test_run_fields),
		cmocka_unit_test(test_run_dotted),
		cmocka_unit_test(test_segment_format),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_json_scan),
		cmocka_unit_test(test_batch_json),
		cmocka_unit_test(test_single_run),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_time),
	};

	return (cmocka_run_group_tests(tests, NULL, NULL));
}
