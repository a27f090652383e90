// DESIGN: a libFuzzer target for the LangSmith wire library, the code
// that will read bytes from any SDK on the network.  One input feeds every
// parser: its first line is a Content-Type header and the rest a body, so
// that the multipart framing, the batch and single-run JSON bodies, the
// JSON gate, dotted_order, times and decimals all see it.  Besides "no
// crash, no leak, no out-of-bounds read" (ASan and UBSan), it checks the
// library's contract on every input:
//
// - a refusal has a status of 400, 413, 422 or 500, a non-empty reason,
//   and leaves the batch empty;
// - every part lies inside the body and is followed by CRLF and the
//   delimiter; every accepted run's typed view agrees with its JSON (id,
//   and dotted_order's last UUID and first UUID with id and trace_id);
// - formatting what was parsed and parsing it again gives the same value
//   (dotted_order segments, times, decimals).
//
// A violation calls abort(), which libFuzzer reports with the input.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "llmcost_common.h"
#include "llmcost_langsmith.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_err(int rv, const llmcost_ls_error *e, const llmcost_ls_batch *b)
{
	if (rv == 0) {
		return;
	}
	if ((e->status != 400 && e->status != 413 && e->status != 422
	        && e->status != 500)
	    || e->msg[0] == '\0'
	    || memchr(e->msg, '\0', sizeof(e->msg)) == NULL || b->n_ops != 0
	    || b->ops != NULL) {
		abort();
	}
}

static void
check_batch(const llmcost_ls_batch *b)
{
	for (size_t i = 0; i < b->n_ops; i++) {
		const llmcost_ls_op *op = &b->ops[i];
		const json_t *id = json_object_get(op->run, "id");
		uint8_t bin[16];

		if (!json_is_string(id)
		    || llmcost__uuid_parse(json_string_value(id), bin) != 0
		    || memcmp(bin, op->info.id, 16) != 0) {
			abort();
		}
		if (op->info.has & LLMCOST_LS_H_DOTTED) {
			if (memcmp(op->info.dotted.last_id, op->info.id, 16)
			        != 0
			    || ((op->info.has & LLMCOST_LS_H_TRACE)
			        && memcmp(op->info.dotted.first_id,
			               op->info.trace_id, 16)
			            != 0)) {
				abort();
			}
		}
	}
}

static void
fuzz_multipart(const char *ct, const uint8_t *body, size_t len)
{
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };
	llmcost_ls_span bd;
	llmcost_ls_part parts[64];
	size_t n = 0;
	int rv;

	rv = llmcost_ls_batch_from_multipart(ct, body, len, NULL, 0, &b, &e);
	check_err(rv, &e, &b);
	check_batch(&b);
	llmcost_ls_batch_free(&b);

	if (llmcost_ls_multipart_boundary(ct, strlen(ct), &bd, &e) != 0) {
		return;
	}
	if (llmcost_ls_multipart_parse(body, len, bd, NULL, parts, 64, &n, &e)
	    != 0) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const char *p = parts[i].data.ptr;
		const char *end = (const char *) body + len;

		if (p < (const char *) body
		    || parts[i].data.len > (size_t) (end - p)
		    || (size_t) (end - p) - parts[i].data.len < 4 + bd.len
		    || memcmp(p + parts[i].data.len, "\r\n--", 4) != 0
		    || memcmp(p + parts[i].data.len + 4, bd.ptr, bd.len)
		        != 0) {
			abort();
		}
	}
}

static void
fuzz_json(const uint8_t *body, size_t len)
{
	llmcost_ls_batch b;
	llmcost_ls_error e = { 0 };
	int rv;

	rv = llmcost_ls_batch_from_json(body, len, NULL, 0, &b, &e);
	check_err(rv, &e, &b);
	check_batch(&b);
	llmcost_ls_batch_free(&b);
	rv = llmcost_ls_batch_from_run(
	    body, len, LLMCOST_LS_POST, NULL, NULL, 0, &b, &e);
	check_err(rv, &e, &b);
	check_batch(&b);
	llmcost_ls_batch_free(&b);
	rv = llmcost_ls_batch_from_run(body, len, LLMCOST_LS_PATCH,
	    "01a217b6-4bec-7000-8000-030576c88e32", NULL, 0, &b, &e);
	check_err(rv, &e, &b);
	check_batch(&b);
	llmcost_ls_batch_free(&b);
}

static void
fuzz_scalars(const char *s, size_t len)
{
	llmcost_ls_dotted d;
	llmcost_ls_error e = { 0 };
	int64_t v;

	if (llmcost_ls_dotted_parse(s, len, &d, &e) == 0) {
		char seg[LLMCOST_LS_SEGMENT_LEN + 1];

		llmcost_ls_dotted_segment(d.last_us, d.last_id, seg);
		if (len < LLMCOST_LS_SEGMENT_LEN
		    || strncasecmp(seg, s + len - LLMCOST_LS_SEGMENT_LEN,
		           LLMCOST_LS_SEGMENT_LEN)
		        != 0) {
			abort();
		}
	}
	if (llmcost_ls_time_parse_str(s, len, &v) == 0) {
		char t[LLMCOST_LS_TIME_STR_LEN];
		int64_t v2;

		llmcost_ls_time_format(v, 1, t);
		if (llmcost_ls_time_parse_str(t, strlen(t), &v2) != 0
		    || v2 != v) {
			abort();
		}
	}
	if (llmcost_ls_decimal_parse(s, len, 12, &v) == 0) {
		char m[32];
		int64_t v2;

		llmcost_ls_pico_format(v, m);
		if (llmcost_ls_decimal_parse(m, strlen(m), 12, &v2) != 0
		    || v2 != v) {
			abort();
		}
	}
	llmcost_ls_json_scan(s, len, 1000, NULL, &e);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	char ct[512];
	size_t ctlen;
	const uint8_t *body;
	size_t len;

	if (nl == NULL) {
		ctlen = 0;
		body = data;
		len = size;
	} else {
		ctlen = (size_t) (nl - data);
		body = nl + 1;
		len = size - ctlen - 1;
	}
	if (ctlen >= sizeof(ct)) {
		ctlen = sizeof(ct) - 1;
	}
	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	fuzz_multipart(ct, body, len);
	fuzz_json(body, len);
	fuzz_scalars((const char *) body, len);
	return (0);
}
