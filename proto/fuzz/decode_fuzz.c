// DESIGN: a libFuzzer target for llmcost_proto_decode, the one function
// that parses bytes from another process.  Besides "no crash, no leak, no
// out-of-bounds read" (which ASan and UBSan check), it asserts the
// decoder's contract on every input:
//
// - a failure leaves the message zeroed and a non-empty reason;
// - every decoded string points into the input buffer, and a record
//   counts no more usage entries past the known buckets than the limit
//   allows;
// - a TBATCH (string table) is encoded again as a TBATCH, through the
//   table encoder, so its fixed point covers the table too;
// - whatever the decoder accepts, the encoder accepts too (they enforce
//   the same rules), and encoding is a fixed point: decoding the canonical
//   bytes and encoding again gives the same bytes.  The canonical bytes
//   carry only the buckets this version knows (no usage entries extra).
//
// - llmcost_proto_decode (which decodes a batch in one pass when it can)
//   and llmcost__proto_decode_steps (always the skim, then the cursor)
//   agree on every input: the same result, the same reason, and for an
//   accepted message the same content (compared through the encoder,
//   plus the usage entries the encoder does not write).
//
// Any violation calls abort(), which libFuzzer reports as a crash with the
// input saved.

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "llmcost_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_inside(llmcost_proto_str s, const uint8_t *data, size_t size)
{
	const char *b = (const char *) data;

	if (s.len > 0 && (s.ptr < b || s.ptr + s.len > b + size)) {
		abort();
	}
}

static void
check_pointers(const llmcost_proto_msg *m, const uint8_t *data, size_t size)
{
	switch (m->type) {
	case LLMCOST_MSG_BATCH:
	case LLMCOST_MSG_TBATCH:
		for (uint32_t i = 0; i < m->u.batch.n_records; i++) {
			const llmcost_proto_record *r = &m->u.batch.records[i];

			if (r->n_usage_extra > LLMCOST_PROTO_MAX_BUCKETS
			        - LLMCOST_BUCKET_COUNT) {
				abort();
			}
			check_inside(r->provider, data, size);
			check_inside(r->model, data, size);
			for (uint32_t j = 0; j < r->n_meta; j++) {
				check_inside(r->meta[j].key, data, size);
				check_inside(r->meta[j].val, data, size);
			}
			for (uint32_t j = 0; j < r->n_tags; j++) {
				check_inside(r->tags[j], data, size);
			}
			check_inside(r->dotted_order, data, size);
			check_inside(r->platform, data, size);
		}
		break;
	case LLMCOST_MSG_ACK:
		check_inside(m->u.ack.reason, data, size);
		break;
	case LLMCOST_MSG_STATS:
		for (uint32_t i = 0; i < m->u.stats.n; i++) {
			check_inside(m->u.stats.names[i], data, size);
		}
		break;
	case LLMCOST_MSG_BUDGET_STATE:
		if (m->u.budget_state.n > LLMCOST_PROTO_MAX_GUARDS) {
			abort();
		}
		for (uint32_t i = 0; i < m->u.budget_state.n; i++) {
			const llmcost_proto_guard *g
			    = &m->u.budget_state.guards[i];
			if (g->n_conds > LLMCOST_PROTO_MAX_GUARD_CONDS) {
				abort();
			}
			for (uint32_t j = 0; j < g->n_conds; j++) {
				check_inside(g->conds[j].key, data, size);
				check_inside(g->conds[j].val, data, size);
			}
		}
		break;
	case LLMCOST_MSG_QUERY:
		for (uint32_t i = 0; i < m->u.query.n_by; i++) {
			check_inside(m->u.query.by[i], data, size);
		}
		for (uint32_t i = 0; i < m->u.query.n_where; i++) {
			check_inside(m->u.query.where[i].key, data, size);
			check_inside(m->u.query.where[i].value, data, size);
		}
		check_inside(m->u.query.tz, data, size);
		break;
	case LLMCOST_MSG_QUERY_REPLY:
		check_inside(m->u.qreply.reason, data, size);
		for (uint32_t i = 0; i < m->u.qreply.n_rows; i++) {
			const llmcost_proto_qrow *r = &m->u.qreply.rows[i];
			if (r->n_keys > LLMCOST_PROTO_MAX_QKEYS) {
				abort();
			}
			for (uint32_t k = 0; k < r->n_keys; k++) {
				check_inside(r->keys[k], data, size);
			}
		}
		for (uint32_t i = 0; i < m->u.qreply.n_unpriced; i++) {
			check_inside(
			    m->u.qreply.unpriced[i].provider, data, size);
			check_inside(
			    m->u.qreply.unpriced[i].model, data, size);
		}
		break;
	default:
		break;
	}
}

static llmcost_proto_strtab tab;
static int tab_ok;

// Encodes a decoded message into b; returns the encoder's result.
static int
encode(const llmcost_proto_msg *m, llmcost_proto_buf *b)
{
	llmcost_proto_enc e;
	int rv = 0;

	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, b, 0);
	switch (m->type) {
	case LLMCOST_MSG_BATCH:
		// Element 6 (exporter_lost) only when it is not 0, as the
		// decoder reads a 6-element batch as 0.
		rv = m->u.batch.exporter_lost != 0
		    ? llmcost_proto_enc_batch_header_lost(&e,
		        m->u.batch.client_id, m->u.batch.seq,
		        m->u.batch.dropped, m->u.batch.n_records)
		    : llmcost_proto_enc_batch_header(&e, m->u.batch.client_id,
		        m->u.batch.seq, m->u.batch.dropped,
		        m->u.batch.n_records);
		for (uint32_t i = 0; rv == 0 && i < m->u.batch.n_records;
		     i++) {
			rv = llmcost_proto_enc_record(
			    &e, &m->u.batch.records[i]);
		}
		if (rv == 0 && m->u.batch.exporter_lost != 0) {
			rv = llmcost_proto_enc_batch_lost(
			    &e, m->u.batch.exporter_lost);
		}
		break;
	case LLMCOST_MSG_TBATCH:
		// With the string table (one for the process, emptied for
		// every batch).
		if (!tab_ok) {
			if (llmcost_proto_strtab_init(&tab) != 0) {
				abort();
			}
			tab_ok = 1;
		}
		llmcost_proto_strtab_begin(&tab, 0);
		for (uint32_t i = 0; rv == 0 && i < m->u.batch.n_records;
		     i++) {
			rv = llmcost_proto_strtab_record(
			    &tab, &m->u.batch.records[i]);
		}
		if (rv == 0) {
			rv = llmcost_proto_enc_tbatch(&e, m->u.batch.client_id,
			    m->u.batch.seq, m->u.batch.dropped,
			    m->u.batch.exporter_lost, &tab);
		}
		break;
	case LLMCOST_MSG_ACK:
		rv = llmcost_proto_enc_ack(&e, &m->u.ack);
		break;
	case LLMCOST_MSG_STATS_REQ:
		rv = llmcost_proto_enc_stats_req(&e);
		break;
	case LLMCOST_MSG_STATS:
		rv = llmcost_proto_enc_stats(&e, &m->u.stats);
		break;
	case LLMCOST_MSG_BUDGET_REQ:
		rv = llmcost_proto_enc_budget_req(&e);
		break;
	case LLMCOST_MSG_BUDGET_STATE:
		rv = llmcost_proto_enc_budget_state(&e, &m->u.budget_state);
		break;
	case LLMCOST_MSG_QUERY:
		rv = llmcost_proto_enc_query(&e, &m->u.query);
		break;
	case LLMCOST_MSG_QUERY_REPLY:
		rv = llmcost_proto_enc_qreply_header(
		    &e, &m->u.qreply, m->u.qreply.n_rows);
		for (uint32_t i = 0; rv == 0 && i < m->u.qreply.n_rows; i++) {
			rv = llmcost_proto_enc_qrow(&e, &m->u.qreply.rows[i]);
		}
		if (rv == 0) {
			rv = llmcost_proto_enc_qunpriced(
			    &e, m->u.qreply.unpriced, m->u.qreply.n_unpriced);
		}
		break;
	default:
		abort(); // the decoder returned an unknown type
	}
	return (rv);
}

// Whether the one-pass and two-step decodes of data agree (see DESIGN).
static int
same_as_steps(const uint8_t *data, size_t size, int rv,
    const llmcost_proto_msg *m, const char *reason)
{
	llmcost_proto_msg s;
	char sreason[256];
	int srv = llmcost__proto_decode_steps(
	    data, size, &s, sreason, sizeof(sreason));
	int same = srv == rv && strcmp(sreason, reason) == 0;

	if (same && rv == 0) {
		llmcost_proto_buf b1 = { 0 };
		llmcost_proto_buf b2 = { 0 };

		same = s.type == m->type && encode(m, &b1) == encode(&s, &b2)
		    && b1.len == b2.len
		    && (b1.len == 0 || memcmp(b1.data, b2.data, b1.len) == 0);
		int batch = m->type == LLMCOST_MSG_BATCH
		    || m->type == LLMCOST_MSG_TBATCH;
		for (uint32_t i = 0; same && batch && i < m->u.batch.n_records;
		     i++) {
			const llmcost_proto_record *x = &m->u.batch.records[i];
			const llmcost_proto_record *y = &s.u.batch.records[i];
			same = x->n_usage_extra == y->n_usage_extra
			    && memcmp(x->usage_extra, y->usage_extra,
			           sizeof(x->usage_extra))
			        == 0;
		}
		llmcost_proto_buf_free(&b1);
		llmcost_proto_buf_free(&b2);
	}
	llmcost_proto_msg_free(&s);
	return (same);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const llmcost_proto_msg zero;
	llmcost_proto_msg m;
	llmcost_proto_msg m2;
	llmcost_proto_buf b1 = { 0 };
	llmcost_proto_buf b2 = { 0 };
	char reason[256];

	int rv = llmcost_proto_decode(data, size, &m, reason, sizeof(reason));
	if (!same_as_steps(data, size, rv, &m, reason)) {
		abort();
	}
	if (rv != 0) {
		if (memcmp(&m, &zero, sizeof(m)) != 0 || reason[0] == '\0'
		    || memchr(reason, '\0', sizeof(reason)) == NULL) {
			abort();
		}
		return (0);
	}
	check_pointers(&m, data, size);

	// Canonical re-encoding: accepted, and a fixed point.
	if (encode(&m, &b1) != 0) {
		abort();
	}
	if (llmcost_proto_decode(b1.data, b1.len, &m2, reason, sizeof(reason))
	    != 0) {
		abort();
	}
	if (m2.type != m.type || encode(&m2, &b2) != 0 || b2.len != b1.len
	    || memcmp(b1.data, b2.data, b1.len) != 0) {
		abort();
	}
	for (uint32_t i = 0;
	     (m2.type == LLMCOST_MSG_BATCH || m2.type == LLMCOST_MSG_TBATCH)
	     && i < m2.u.batch.n_records;
	     i++) {
		if (m2.u.batch.records[i].n_usage_extra != 0) {
			abort();
		}
	}
	llmcost_proto_msg_free(&m2);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&b1);
	llmcost_proto_buf_free(&b2);
	return (0);
}
