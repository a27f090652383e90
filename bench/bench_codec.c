// DESIGN: the wire codec's cost per record, apart from everything else:
// one batch of BATCH records of the call the other benchmarks make (the
// same provider, model, three metadata values, tag and usage, distinct
// run ids), encoded into a buffer and decoded again, ROUNDS rounds of
// REPS each.  CPU time of this thread (CLOCK_THREAD_CPUTIME_ID), so a
// round the scheduler interrupts costs only what it ran; the best and
// the median round are printed, per record.  Encoding is timed twice:
// with every string checked as UTF-8, and with utf8_trusted, as the
// shim's collector exporter encodes (the call site checked them).  The
// decoded batch is checked against what was encoded, so the figures are
// those of a decoder that did its whole job.  No collector, no nng.
// The same batch is then timed as a TBATCH (the batch with a string
// table the shim sends to a collector that reads it): encoded with
// utf8_trusted through llmcost_proto_strtab, and decoded.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "llmcost_proto.h"

#define BATCH  1024 // records per batch, the shim's default batch_max
#define REPS   100  // encodes or decodes per round
#define ROUNDS 9

#define S(x) ((llmcost_proto_str) { (x), sizeof(x) - 1 })

static const llmcost_proto_kv meta[3] = {
	{ S("feature"), S("rag-search") },
	{ S("env"), S("production") },
	{ S("user_tier"), S("pro") },
};
static const llmcost_proto_str tag = S("beta");
static const uint8_t client_id[16] = { 0x01, 0x8f };

static double
cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((double) ts.tv_sec * 1e9 + (double) ts.tv_nsec);
}

static void
record(llmcost_proto_record *r, uint32_t i)
{
	memset(r, 0, sizeof(*r));
	r->run_id[0] = 0x01;
	r->run_id[6] = 0x70;
	r->run_id[8] = 0x80;
	r->run_id[14] = (uint8_t) (i >> 8);
	r->run_id[15] = (uint8_t) i;
	r->start_ns = 1764000000000000000ull + (uint64_t) i * 1000u;
	r->duration_ns = 850000000u;
	r->provider = S("openai");
	r->model = S("gpt-4o-mini");
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		r->usage[b] = bench_usage.tokens[b];
	}
	r->meta = meta;
	r->n_meta = 3;
	r->tags = &tag;
	r->n_tags = 1;
}

// Encodes the batch into b (emptied first).  Returns 0 or the error.
static int
encode(llmcost_proto_buf *b, const llmcost_proto_record *recs, int trusted)
{
	llmcost_proto_enc e;

	b->len = 0;
	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, b, 0);
	e.utf8_trusted = trusted;
	llmcost_proto_enc_batch_header(&e, client_id, 1, 0, BATCH);
	for (uint32_t i = 0; i < BATCH; i++) {
		llmcost_proto_enc_record(&e, &recs[i]);
	}
	return (e.err);
}

// The same batch as a TBATCH into b (emptied first), with table t.
static int
encode_t(llmcost_proto_buf *b, llmcost_proto_strtab *t,
    const llmcost_proto_record *recs)
{
	llmcost_proto_enc e;

	b->len = 0;
	llmcost_proto_strtab_begin(t, 1);
	for (uint32_t i = 0; i < BATCH; i++) {
		llmcost_proto_strtab_record(t, &recs[i]);
	}
	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, b, 0);
	return (llmcost_proto_enc_tbatch(&e, client_id, 1, 0, 0, t));
}

// Decodes buf REPS times per round into t[]; 0, or 1 when the batch is
// not what was encoded.
static int
decode_rounds(const llmcost_proto_buf *buf, uint32_t type, double *t)
{
	char reason[128];

	for (int r = 0; r < ROUNDS; r++) {
		double t0 = cpu_ns();
		for (int k = 0; k < REPS; k++) {
			llmcost_proto_msg m;
			if (llmcost_proto_decode(buf->data, buf->len, &m,
			        reason, sizeof(reason))
			    != 0) {
				fprintf(
				    stderr, "decoding failed: %s\n", reason);
				return (1);
			}
			const llmcost_proto_batch *b = &m.u.batch;
			if (m.type != type || b->n_records != BATCH
			    || b->records[BATCH - 1].n_meta != 3
			    || b->records[BATCH - 1].n_tags != 1
			    || b->records[BATCH - 1].meta[2].val.len != 3
			    || b->records[BATCH - 1].run_id[15]
			        != (uint8_t) (BATCH - 1)) {
				fprintf(stderr, "decoded batch differs\n");
				return (1);
			}
			llmcost_proto_msg_free(&m);
		}
		t[r] = (cpu_ns() - t0) / REPS / BATCH;
	}
	return (0);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *) a, y = *(const double *) b;
	return ((x > y) - (x < y));
}

// Prints and reports the best and the median round, ns per record.
static void
report(const char *what, const char *metric, double *round_ns)
{
	char name[64];

	qsort(round_ns, ROUNDS, sizeof(double), cmp_double);
	printf(
	    "%-40s %10.1f %10.1f\n", what, round_ns[0], round_ns[ROUNDS / 2]);
	snprintf(name, sizeof(name), "codec.%s_best_ns", metric);
	bench_metric(name, round_ns[0]);
	snprintf(name, sizeof(name), "codec.%s_median_ns", metric);
	bench_metric(name, round_ns[ROUNDS / 2]);
}

int
main(void)
{
	static llmcost_proto_record recs[BATCH];
	llmcost_proto_buf buf;
	double t[ROUNDS];

	memset(&buf, 0, sizeof(buf));
	for (uint32_t i = 0; i < BATCH; i++) {
		record(&recs[i], i);
	}
	if (encode(&buf, recs, 0) != 0) {
		fprintf(stderr, "bench_codec: encoding failed\n");
		return (1);
	}
	bench_metric("codec.batch_bytes_per_record", (double) buf.len / BATCH);
	printf("bench_codec: a batch of %d records, %zu bytes; %d rounds of "
	       "%d\n\n",
	    BATCH, buf.len, ROUNDS, REPS);
	printf(
	    "%-40s %10s %10s\n", "ns per record (CPU time)", "best", "median");

	for (int trusted = 0; trusted <= 1; trusted++) {
		for (int r = 0; r < ROUNDS; r++) {
			double t0 = cpu_ns();
			for (int k = 0; k < REPS; k++) {
				if (encode(&buf, recs, trusted) != 0) {
					fprintf(stderr, "encoding failed\n");
					return (1);
				}
			}
			t[r] = (cpu_ns() - t0) / REPS / BATCH;
		}
		report(trusted ? "encode, utf8_trusted (the shim's)"
		               : "encode, every string checked",
		    trusted ? "encode_trusted" : "encode", t);
	}

	if (decode_rounds(&buf, LLMCOST_MSG_BATCH, t) != 0) {
		return (1);
	}
	report("decode (strict, as llmcostd)", "decode", t);

	// TBATCH: the records' strings each in memory of their own, as the
	// shim's batch holds them, so the table compares bytes, not
	// pointers.
	static char strs[BATCH][64];
	static llmcost_proto_kv kvs[BATCH][3];
	static llmcost_proto_str tags[BATCH];
	for (uint32_t i = 0; i < BATCH; i++) {
		char *p = strs[i];
		llmcost_proto_str *f[]
		    = { &recs[i].provider, &recs[i].model, &kvs[i][0].key,
			      &kvs[i][0].val, &kvs[i][1].key, &kvs[i][1].val,
			      &kvs[i][2].key, &kvs[i][2].val, &tags[i] };
		memcpy(kvs[i], meta, sizeof(meta));
		tags[i] = tag;
		for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++) {
			memcpy(p, f[j]->ptr, f[j]->len);
			f[j]->ptr = p;
			p += f[j]->len;
		}
		recs[i].meta = kvs[i];
		recs[i].tags = &tags[i];
	}
	llmcost_proto_strtab tab;
	if (llmcost_proto_strtab_init(&tab) != 0
	    || encode_t(&buf, &tab, recs) != 0) {
		fprintf(stderr, "bench_codec: TBATCH encoding failed\n");
		return (1);
	}
	printf("\nTBATCH (string table): %zu bytes\n", buf.len);
	bench_metric(
	    "codec.tbatch_bytes_per_record", (double) buf.len / BATCH);
	for (int r = 0; r < ROUNDS; r++) {
		double t0 = cpu_ns();
		for (int k = 0; k < REPS; k++) {
			if (encode_t(&buf, &tab, recs) != 0) {
				fprintf(stderr, "encoding failed\n");
				return (1);
			}
		}
		t[r] = (cpu_ns() - t0) / REPS / BATCH;
	}
	report("TBATCH encode, utf8_trusted (the shim's)",
	    "tbatch_encode_trusted", t);
	if (decode_rounds(&buf, LLMCOST_MSG_TBATCH, t) != 0) {
		return (1);
	}
	report("TBATCH decode (strict, as llmcostd)", "tbatch_decode", t);
	llmcost_proto_strtab_fini(&tab);
	llmcost_proto_buf_free(&buf);
	return (0);
}
