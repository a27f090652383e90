// Tests for the wire format codec: golden bytes for every message type
// (checked by hand against the msgpack specification), round trips at the
// limits, and a rejection case per decoder rule, each asserting the return
// code and a piece of the reason.  The rejection cases are tables walked
// by one test each: whole messages, and records sent inside a batch.
//
// Messages the encoder refuses to write are given as hex bytes (pk_hex),
// or built with msgpack-c's packer directly (the raw_* and pk_* helpers)
// where they are too long to write out.

#include "testutil.h"

#include <msgpack.h>

#include "llmcost_proto.h"

// ---- helpers -----------------------------------------------------------

// Parses a hex string (spaces and newlines ignored) into a malloc'd buffer.
static uint8_t *
hex_bytes(const char *hex, size_t *lenp)
{
	size_t n = strlen(hex);
	uint8_t *out = malloc(n / 2 + 1);
	size_t o = 0;
	int hi = -1;

	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];
		int v;

		if (c == ' ' || c == '\n' || c == '\t') {
			continue;
		}
		if (c >= '0' && c <= '9') {
			v = c - '0';
		} else if (c >= 'a' && c <= 'f') {
			v = c - 'a' + 10;
		} else {
			fail_msg("bad hex character '%c'", c);
			return (NULL);
		}
		if (hi < 0) {
			hi = v;
		} else {
			out[o++] = (uint8_t) ((hi << 4) | v);
			hi = -1;
		}
	}
	assert_int_equal(hi, -1);
	*lenp = o;
	return (out);
}

static void
print_hex(const char *what, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	print_message("%s (%zu bytes):\n", what, len);
	for (size_t i = 0; i < len; i++) {
		print_message("%02x%s", p[i], (i % 32 == 31) ? "\n" : "");
	}
	print_message("\n");
}

static void
assert_bytes(const void *got, size_t got_len, const char *want_hex)
{
	size_t want_len;
	uint8_t *want = hex_bytes(want_hex, &want_len);

	if (got_len != want_len || memcmp(got, want, want_len) != 0) {
		print_hex("got", got, got_len);
		print_hex("want", want, want_len);
		free(want);
		fail_msg("encoded bytes differ from the golden vector");
	}
	free(want);
}

static llmcost_proto_str
S(const char *s)
{
	llmcost_proto_str r = { s, (uint32_t) strlen(s) };
	return (r);
}

static int
str_is(llmcost_proto_str s, const char *want)
{
	return (s.len == strlen(want) && memcmp(s.ptr, want, s.len) == 0);
}

#define assert_str(s, want)                                                   \
	do {                                                                  \
		if (!str_is((s), (want))) {                                   \
			fail_msg("%s is \"%.*s\", want \"%s\"", #s,           \
			    (int) (s).len, (s).ptr ? (s).ptr : "", want);     \
		}                                                             \
	} while (0)

// Every decoded string must point into the decoded buffer.
static void
assert_inside(llmcost_proto_str s, const void *buf, size_t len)
{
	const char *b = buf;

	if (s.len == 0) {
		return;
	}
	assert_true(s.ptr >= b && s.ptr + s.len <= b + len);
}

static void
decode_ok(const void *buf, size_t len, llmcost_proto_msg *m)
{
	char reason[256];
	int rv = llmcost_proto_decode(buf, len, m, reason, sizeof(reason));

	if (rv != 0) {
		fail_msg(
		    "decode failed: %s: %s", llmcost_err_name(rv), reason);
	}
}

// Decoding buf must fail with code and a reason containing sub, and must
// leave the message zeroed.  what names the case in a failure.
static void
expect_reject(
    const void *buf, size_t len, int code, const char *sub, const char *what)
{
	llmcost_proto_msg m;
	llmcost_proto_msg zero;
	char reason[256];
	int rv;

	memset(&m, 0xa5, sizeof(m)); // must come back zeroed
	memset(&zero, 0, sizeof(zero));
	rv = llmcost_proto_decode(buf, len, &m, reason, sizeof(reason));
	if (rv != code) {
		llmcost_proto_msg_free(&m);
		fail_msg("%s: got %s (%s), want %s", what,
		    llmcost_err_name(rv), rv == 0 ? "" : reason,
		    llmcost_err_name(code));
	}
	if (strstr(reason, sub) == NULL) {
		fail_msg("%s: reason \"%s\" lacks \"%s\"", what, reason, sub);
	}
	if (memcmp(&m, &zero, sizeof(m)) != 0) {
		fail_msg("%s: message not zeroed on failure", what);
	}
}

// expect_reject on a copy in a fresh allocation of exactly len bytes, so
// that ASan catches any read past the end.
static void
expect_reject_exact(
    const void *buf, size_t len, int code, const char *sub, const char *what)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	assert_non_null(p);
	if (len > 0) {
		memcpy(p, buf, len);
	}
	expect_reject(p, len, code, sub, what);
	free(p);
}

// Encodes into a llmcost_proto_buf with the default limit.
typedef struct encbuf {
	llmcost_proto_buf b;
	llmcost_proto_enc e;
} encbuf;

static void
encbuf_init(encbuf *eb)
{
	memset(eb, 0, sizeof(*eb));
	llmcost_proto_enc_init(&eb->e, llmcost_proto_buf_write, &eb->b, 0);
}

// Raw msgpack building for messages the encoder would refuse.
typedef struct raw {
	msgpack_sbuffer sb;
	msgpack_packer pk;
} raw;

static void
raw_init(raw *r)
{
	msgpack_sbuffer_init(&r->sb);
	msgpack_packer_init(&r->pk, &r->sb, msgpack_sbuffer_write);
}

static void
raw_fini(raw *r)
{
	msgpack_sbuffer_destroy(&r->sb);
}

static void
pk_strn(msgpack_packer *pk, const char *s, size_t n)
{
	msgpack_pack_str_with_body(pk, s, n);
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	pk_strn(pk, s, strlen(s));
}

static void
pk_fill(msgpack_packer *pk, char c, size_t n)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	pk_strn(pk, s, n);
	free(s);
}

static void
pk_bin(msgpack_packer *pk, const void *p, size_t n)
{
	msgpack_pack_bin_with_body(pk, p, n);
}

// Appends bytes given as hex, as they are, to what pk has written.
static void
pk_hex(msgpack_packer *pk, const char *hex)
{
	size_t n;
	uint8_t *b = hex_bytes(hex, &n);

	if (n > 0) { // an empty sbuffer would memcpy 0 bytes to NULL
		(void) pk->callback(pk->data, (const char *) b, n);
	}
	free(b);
}

// Appends n zero bytes.
static void
pk_zeros(msgpack_packer *pk, size_t n)
{
	char *z;

	if (n == 0) {
		return;
	}
	z = calloc(1, n);
	assert_non_null(z);
	(void) pk->callback(pk->data, z, n);
	free(z);
}

static const uint8_t CID[16] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
	0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
static const uint8_t RID0[16] = { 0x01, 0x8f, 0x3a, 0x2b, 0x4c, 0x5d, 0x7e,
	0x6f, 0x80, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf7 };
static const uint8_t RID1[16] = { 0x01, 0x8f, 0x3a, 0x2b, 0x4c, 0x5d, 0x7e,
	0x70, 0x80, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf8 };
// The same ids as hex, for messages written out byte by byte.
#define CID_HEX  "000102030405060708090a0b0c0d0e0f"
#define RID0_HEX "018f3a2b4c5d7e6f8091a2b3c4d5e6f7"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

// Batch header: [1, 1, CID, 7, 3, array(nrec)] with n elements in total
// (extra ones are nil, for the forward compatibility test).
static void
pk_batch_head_n(msgpack_packer *pk, uint32_t nrec, uint32_t n)
{
	msgpack_pack_array(pk, n);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 1);
	pk_bin(pk, CID, 16);
	msgpack_pack_uint64(pk, 7);
	msgpack_pack_uint64(pk, 3);
	msgpack_pack_array(pk, nrec);
}

static void
pk_batch_head(msgpack_packer *pk, uint32_t nrec)
{
	pk_batch_head_n(pk, nrec, 6);
}

#define SKIP(k) (1u << (k))
typedef void (*extra_fn)(msgpack_packer *pk);

// A valid record with keys 0..5, minus the keys in skip, then n_extra
// key/value pairs written by extra.
static void
pk_record(msgpack_packer *pk, unsigned skip, uint32_t n_extra, extra_fn extra)
{
	uint32_t n = n_extra;

	for (unsigned k = 0; k < 6; k++) {
		n += (skip & SKIP(k)) ? 0 : 1;
	}
	msgpack_pack_map(pk, n);
	if (!(skip & SKIP(0))) {
		msgpack_pack_uint64(pk, 0);
		pk_bin(pk, RID0, 16);
	}
	if (!(skip & SKIP(1))) {
		msgpack_pack_uint64(pk, 1);
		msgpack_pack_uint64(pk, UINT64_C(1700000000000000000));
	}
	if (!(skip & SKIP(2))) {
		msgpack_pack_uint64(pk, 2);
		msgpack_pack_uint64(pk, 42);
	}
	if (!(skip & SKIP(3))) {
		msgpack_pack_uint64(pk, 3);
		pk_str(pk, "openai");
	}
	if (!(skip & SKIP(4))) {
		msgpack_pack_uint64(pk, 4);
		pk_str(pk, "gpt-4o");
	}
	if (!(skip & SKIP(5))) {
		msgpack_pack_uint64(pk, 5);
		msgpack_pack_array(pk, 10);
		for (int i = 0; i < 10; i++) {
			msgpack_pack_uint64(pk, (uint64_t) i);
		}
	}
	if (extra != NULL) {
		extra(pk);
	}
}

// A batch of one record (pk_record(skip, n_extra, extra)) built in *r and
// decoded into *m, which may point into *r (raw_fini after the checks).
static void
decode_one_record(raw *r, unsigned skip, uint32_t n_extra, extra_fn extra,
    llmcost_proto_msg *m)
{
	raw_init(r);
	pk_batch_head(&r->pk, 1);
	pk_record(&r->pk, skip, n_extra, extra);
	decode_ok(r->sb.data, r->sb.size, m);
}

// ---- golden vectors ----------------------------------------------------

// Record 0 of the golden batch, keys 0 to 8 (its map header apart).
#define GOLDEN_RECORD0_HEX                                                    \
	" 00 c4 10 018f3a2b4c5d7e6f8091a2b3c4d5e6f7"                          \
	" 01 cf 17979cfe362a0000"                                             \
	" 02 ce 59682f00"                                                     \
	" 03 a6 6f70656e6169"                                                 \
	" 04 ab 6770742d346f2d6d696e69"                                       \
	" 05 9a cd04b0 cd012c 00 00 00 00 ccfa 00 00 00"                      \
	" 07 82 a7 66656174757265 aa 7261672d736561726368"                    \
	"       a3 656e76 aa 70726f64756374696f6e"                            \
	" 08 91 a4 62657461"

// The batch used in proto/README.md, annotated there byte by byte.
static const char GOLDEN_BATCH[] = "96 01 01"
                                   " c4 10 000102030405060708090a0b0c0d0e0f"
                                   " 07 03 92"
                                   // record 0
                                   " 88" GOLDEN_RECORD0_HEX
                                   // record 1
                                   " 87"
                                   " 00 c4 10 018f3a2b4c5d7e708091a2b3c4d5e6f8"
                                   " 01 cf 17979cfe71c4ca00"
                                   " 02 00"
                                   " 03 a9 616e7468726f706963"
                                   " 04 ac 636c617564652d6861696b75"
                                   " 05 9a 00000000000000000000"
                                   " 06 01";

#define SCOPED_DOTTED                                                         \
	"20231114T221320000000Z018f3a2b-4c5d-7000-8091-a2b3c4d5e6f0."         \
	"20231114T221320000000Z018f3a2b-4c5d-7e6f-8091-a2b3c4d5e6f7"

static const char GOLDEN_ACK[]
    = "98 01 02 c4 10 000102030405060708090a0b0c0d0e0f 07 00 cd012c 02 a0";

static const char GOLDEN_STATS_REQ[] = "92 01 03";

static const char GOLDEN_STATS[]
    = "93 01 04 82"
      " b0 626174636865735f7265636569766564 0c"
      " ae 7265636f7264735f73746f726564 ce00011170";

static const char GOLDEN_BUDGET_REQ[] = "92 01 07";

// Generation 5; two exhausted hard budgets: feature=search, and
// model gpt-4o of provider openai.
static const char GOLDEN_BUDGET_STATE[]
    = "94 01 08 05 92"
      " 91 93 02 a7 66656174757265 a6 736561726368"
      " 92 93 01 a0 a6 6770742d346f 93 00 a0 a6 6f70656e6169";

// The golden batch's record 0 (proto/README.md): gpt-4o-mini with
// usage, feature and env, and the tag beta; the golden scoped and tier
// records add their keys to it.
static void
golden_record0(llmcost_proto_record *r)
{
	static llmcost_proto_kv meta[2];
	static llmcost_proto_str tags[1];

	meta[0].key = S("feature");
	meta[0].val = S("rag-search");
	meta[1].key = S("env");
	meta[1].val = S("production");
	tags[0] = S("beta");
	memset(r, 0, sizeof(*r));
	memcpy(r->run_id, RID0, 16);
	r->start_ns = UINT64_C(1700000000000000000);
	r->duration_ns = 1500000000;
	r->provider = S("openai");
	r->model = S("gpt-4o-mini");
	r->usage[LLMCOST_IN_UNCACHED] = 1200;
	r->usage[LLMCOST_IN_CACHE_READ] = 300;
	r->usage[LLMCOST_OUT_TEXT] = 250;
	r->meta = meta;
	r->n_meta = 2;
	r->tags = tags;
	r->n_tags = 1;
}

static int
encode_golden_batch(llmcost_proto_enc *e)
{
	llmcost_proto_record r[2];
	int rv;

	golden_record0(&r[0]);
	memset(&r[1], 0, sizeof(r[1]));
	memcpy(r[1].run_id, RID1, 16);
	r[1].start_ns = UINT64_C(1700000001000000000);
	r[1].provider = S("anthropic");
	r[1].model = S("claude-haiku");
	r[1].status = LLMCOST_STATUS_ERROR;

	if ((rv = llmcost_proto_enc_batch_header(e, CID, 7, 3, 2)) != 0
	    || (rv = llmcost_proto_enc_record(e, &r[0])) != 0
	    || (rv = llmcost_proto_enc_record(e, &r[1])) != 0) {
		return (rv);
	}
	return (0);
}

// A record inside a request scope: the golden batch's record 0 with
// keys 12 to 14 (proto/README.md, "a record inside a request scope").
static const uint8_t TRACE0[16] = { 0x01, 0x8f, 0x3a, 0x2b, 0x4c, 0x5d, 0x70,
	0x00, 0x80, 0x91, 0xa2, 0xb3, 0xc4, 0xd5, 0xe6, 0xf0 };

static const char GOLDEN_SCOPED[]
    = "96 01 01"
      " c4 10 000102030405060708090a0b0c0d0e0f"
      " 07 03 91"
      " 8b" GOLDEN_RECORD0_HEX " 0c c4 10 018f3a2b4c5d70008091a2b3c4d5e6f0"
      " 0d c4 10 018f3a2b4c5d70008091a2b3c4d5e6f0"
      " 0e d9 75"
      " 3230323331313134543232313332303030303030305a"
      " 30313866336132622d346335642d373030302d383039312d"
      " 6132623363346435653666302e"
      " 3230323331313134543232313332303030303030305a"
      " 30313866336132622d346335642d376536662d383039312d"
      " 613262336334643565366637";

static void
test_golden_scoped_record(void **state)
{
	llmcost_proto_record r;
	llmcost_proto_msg m;
	encbuf eb;

	(void) state;
	golden_record0(&r);
	memcpy(r.trace_id, TRACE0, 16);
	memcpy(r.parent_run_id, TRACE0, 16);
	r.dotted_order = S(SCOPED_DOTTED);

	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_SCOPED);

	decode_ok(eb.b.data, eb.b.len, &m);
	const llmcost_proto_record *d = &m.u.batch.records[0];
	assert_memory_equal(d->trace_id, TRACE0, 16);
	assert_memory_equal(d->parent_run_id, TRACE0, 16);
	assert_str(d->dotted_order, SCOPED_DOTTED);
	assert_str(d->model, "gpt-4o-mini");
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// A parent without a trace is refused by the encoder.
	memset(r.trace_id, 0, 16);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, 1));
	LLMCOST_FAIL(llmcost_proto_enc_record(&eb.e, &r), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);

	// A record outside a scope decodes with the fields zero and empty.
	static const uint8_t zero[16] = { 0 };
	size_t len;
	uint8_t *buf = hex_bytes(GOLDEN_BATCH, &len);
	decode_ok(buf, len, &m);
	d = &m.u.batch.records[0];
	assert_memory_equal(d->trace_id, zero, 16);
	assert_memory_equal(d->parent_run_id, zero, 16);
	assert_int_equal(d->dotted_order.len, 0);
	llmcost_proto_msg_free(&m);
	free(buf);
}

// A batch call on Vertex: the golden batch's record 0 with keys 15 and 16
// (proto/README.md, "a batch call on Vertex").
#define GOLDEN_TIER_HEAD                                                      \
	"96 01 01"                                                            \
	" c4 10 000102030405060708090a0b0c0d0e0f"                             \
	" 07 03 91"
static const char GOLDEN_TIER[]
    = GOLDEN_TIER_HEAD " 8a" GOLDEN_RECORD0_HEX " 0f 01"
                       " 10 a6 766572746578";

static void
test_golden_tier_platform(void **state)
{
	llmcost_proto_record r;
	llmcost_proto_msg m;
	encbuf eb;

	(void) state;
	golden_record0(&r);
	r.service_tier = LLMCOST_TIER_BATCH;
	r.platform = S("vertex");

	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_TIER);
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.batch.records[0].service_tier, 1);
	assert_str(m.u.batch.records[0].platform, "vertex");
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// The encoder refuses what the decoder would.
	r.platform = S("Vertex");
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, 1));
	LLMCOST_FAIL(llmcost_proto_enc_record(&eb.e, &r), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
	r.platform = S("vertex");
	r.service_tier = 256;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, 1));
	LLMCOST_FAIL(llmcost_proto_enc_record(&eb.e, &r), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);

	// An unknown tier number is kept; a bad platform or a tier past 255
	// is refused with a reason naming the field.
	static const struct {
		const char *tail;
		int code;
		const char *sub;
	} cases[] = {
		{ " 0f 07 10 a6 766572746578", 0, NULL },
		{ " 0f cd0100 10 a6 766572746578", LLMCOST_EPROTO,
		    "service_tier: 256 out of range" },
		{ " 0f 01 10 a6 566572746578", LLMCOST_EPROTO,
		    "platform: not only a-z" },
		{ " 0f 01 10 a0", LLMCOST_EPROTO, "platform: empty" },
		{ " 0f 01 10 01", LLMCOST_EPROTO, "platform: want str" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char hex[1024];
		size_t len;
		snprintf(hex, sizeof(hex), "%s 8a%s%s", GOLDEN_TIER_HEAD,
		    GOLDEN_RECORD0_HEX, cases[i].tail);
		uint8_t *buf = hex_bytes(hex, &len);
		if (cases[i].code == 0) {
			decode_ok(buf, len, &m);
			assert_int_equal(m.u.batch.records[0].service_tier, 7);
			llmcost_proto_msg_free(&m);
		} else {
			expect_reject(buf, len, cases[i].code, cases[i].sub,
			    cases[i].tail);
		}
		free(buf);
	}
}

static void
test_golden_batch_encode(void **state)
{
	encbuf eb;

	(void) state;
	encbuf_init(&eb);
	LLMCOST_PASS(encode_golden_batch(&eb.e));
	assert_int_equal(eb.e.written, eb.b.len);
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_BATCH);
	llmcost_proto_buf_free(&eb.b);
}

static void
test_golden_batch_decode(void **state)
{
	llmcost_proto_msg m;
	const llmcost_proto_batch *b;
	const llmcost_proto_record *r;
	size_t len;
	uint8_t *buf = hex_bytes(GOLDEN_BATCH, &len);

	(void) state;
	decode_ok(buf, len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_BATCH);
	b = &m.u.batch;
	assert_memory_equal(b->client_id, CID, 16);
	assert_int_equal(b->seq, 7);
	assert_int_equal(b->dropped, 3);
	assert_int_equal(b->n_records, 2);

	r = &b->records[0];
	assert_memory_equal(r->run_id, RID0, 16);
	assert_true(r->start_ns == UINT64_C(1700000000000000000));
	assert_int_equal(r->duration_ns, 1500000000);
	assert_int_equal(r->status, LLMCOST_STATUS_OK);
	assert_str(r->provider, "openai");
	assert_str(r->model, "gpt-4o-mini");
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		uint64_t want = i == LLMCOST_IN_UNCACHED ? 1200
		    : i == LLMCOST_IN_CACHE_READ         ? 300
		    : i == LLMCOST_OUT_TEXT              ? 250
		                                         : 0;
		assert_int_equal(r->usage[i], want);
	}
	assert_int_equal(r->n_usage_extra, 0);
	assert_int_equal(r->n_meta, 2);
	assert_str(r->meta[0].key, "feature");
	assert_str(r->meta[0].val, "rag-search");
	assert_str(r->meta[1].key, "env");
	assert_str(r->meta[1].val, "production");
	assert_int_equal(r->n_tags, 1);
	assert_str(r->tags[0], "beta");
	assert_inside(r->provider, buf, len);
	assert_inside(r->model, buf, len);
	assert_inside(r->meta[0].key, buf, len);
	assert_inside(r->meta[1].val, buf, len);
	assert_inside(r->tags[0], buf, len);

	r = &b->records[1];
	assert_memory_equal(r->run_id, RID1, 16);
	assert_true(r->start_ns == UINT64_C(1700000001000000000));
	assert_int_equal(r->duration_ns, 0);
	assert_int_equal(r->status, LLMCOST_STATUS_ERROR);
	assert_str(r->provider, "anthropic");
	assert_str(r->model, "claude-haiku");
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		assert_int_equal(r->usage[i], 0);
	}
	assert_int_equal(r->n_usage_extra, 0);
	assert_int_equal(r->n_meta, 0);
	assert_null(r->meta);
	assert_int_equal(r->n_tags, 0);
	assert_null(r->tags);
	assert_inside(r->model, buf, len);

	llmcost_proto_msg_free(&m);
	assert_null(m.priv_);
	llmcost_proto_msg_free(&m); // twice is fine: it was zeroed
	llmcost_proto_msg_free(NULL);
	free(buf);
}

// Keys 9-11 (v1 extensions): what a provider's response said beyond
// tokens.  A streamed Anthropic call with server tools, cut before its
// end: 5 web searches billed per request, the provider's own cost, and
// the flag that its usage is partial.  Written only when set, so records
// without them (GOLDEN_BATCH) keep their bytes.
static const char GOLDEN_EXT[]
    = "96 01 01 c4 10 000102030405060708090a0b0c0d0e0f 01 00 91"
      " 8a"
      " 00 c4 10 018f3a2b4c5d7e6f8091a2b3c4d5e6f7"
      " 01 cf 17979cfe362a0000"
      " 02 ce 59682f00"
      " 03 a9 616e7468726f706963"
      " 04 b8 636c617564652d6f7075732d342d352d3230323531313031"
      " 05 9a ce0001e141 ce0006829d ce0002d089 00 00 00 cd08a2 00 00 00"
      " 06 02"
      " 09 91 05"
      " 0a cf 000000022bb7cb40"
      " 0b 02";

static void
ext_record(llmcost_proto_record *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->run_id, RID0, 16);
	r->start_ns = UINT64_C(1700000000000000000);
	r->duration_ns = 1500000000;
	r->provider = S("anthropic");
	r->model = S("claude-opus-4-5-20251101");
	r->usage[LLMCOST_IN_UNCACHED] = 123201;
	r->usage[LLMCOST_IN_CACHE_READ] = 426653;
	r->usage[LLMCOST_IN_CACHE_WRITE_5M] = 184457;
	r->usage[LLMCOST_OUT_TEXT] = 2210;
	r->status = LLMCOST_STATUS_ABORTED;
	r->fees[LLMCOST_FEE_WEB_SEARCH] = 5;
	r->has_provider_cost = 1;
	r->provider_cost_pusd = UINT64_C(9323400000);
	r->usage_flags = LLMCOST_USAGE_PARTIAL;
}

static void
test_golden_extensions(void **state)
{
	llmcost_proto_record r;
	llmcost_proto_msg m;
	encbuf eb;

	(void) state;
	ext_record(&r);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 1, 0, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_EXT);
	llmcost_proto_buf_free(&eb.b);

	size_t len;
	uint8_t *buf = hex_bytes(GOLDEN_EXT, &len);
	decode_ok(buf, len, &m);
	const llmcost_proto_record *d = &m.u.batch.records[0];
	assert_int_equal(d->fees[LLMCOST_FEE_WEB_SEARCH], 5);
	assert_int_equal(d->has_provider_cost, 1);
	assert_true(d->provider_cost_pusd == UINT64_C(9323400000));
	assert_int_equal(d->usage_flags, LLMCOST_USAGE_PARTIAL);
	assert_int_equal(d->status, LLMCOST_STATUS_ABORTED);
	assert_int_equal(d->usage[LLMCOST_IN_CACHE_WRITE_5M], 184457);
	// Decoding then encoding gives the same bytes.
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 1, 0, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, d));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_EXT);
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_msg_free(&m);
	free(buf);

	// Without them, a record decodes with no fee, no cost, no flag.
	buf = hex_bytes(GOLDEN_BATCH, &len);
	decode_ok(buf, len, &m);
	d = &m.u.batch.records[0];
	assert_int_equal(d->fees[LLMCOST_FEE_WEB_SEARCH], 0);
	assert_int_equal(d->has_provider_cost, 0);
	assert_int_equal(d->usage_flags, 0);
	llmcost_proto_msg_free(&m);
	free(buf);

	// A provider cost of zero is a figure, and is written.
	ext_record(&r);
	r.provider_cost_pusd = 0;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 1, 0, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.batch.records[0].has_provider_cost, 1);
	assert_int_equal(m.u.batch.records[0].provider_cost_pusd, 0);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// The encoder refuses a cost the decoder would.
	ext_record(&r);
	r.provider_cost_pusd = (uint64_t) INT64_MAX + 1;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 1, 0, 1));
	LLMCOST_FAIL(llmcost_proto_enc_record(&eb.e, &r), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
}

// A newer shim's fees array with more entries than this decoder knows.
static void
ex_fees_3(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 9);
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint64(pk, 4);
	msgpack_pack_uint64(pk, 5);
	msgpack_pack_uint64(pk, 6);
}

static void
test_accept_more_fees(void **state)
{
	raw r;
	llmcost_proto_msg m;

	(void) state;
	decode_one_record(&r, 0, 1, ex_fees_3, &m);
	assert_int_equal(m.u.batch.records[0].fees[LLMCOST_FEE_WEB_SEARCH], 4);
	llmcost_proto_msg_free(&m);
	raw_fini(&r);
}

static void
test_golden_ack(void **state)
{
	encbuf eb;
	llmcost_proto_ack a;
	llmcost_proto_msg m;

	(void) state;
	memset(&a, 0, sizeof(a));
	memcpy(a.client_id, CID, 16);
	a.seq = 7;
	a.status = LLMCOST_ACK_STORED;
	a.stored = 300;
	a.duplicates = 2;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_ack(&eb.e, &a));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_ACK);

	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_ACK);
	assert_memory_equal(m.u.ack.client_id, CID, 16);
	assert_int_equal(m.u.ack.seq, 7);
	assert_int_equal(m.u.ack.status, LLMCOST_ACK_STORED);
	assert_int_equal(m.u.ack.stored, 300);
	assert_int_equal(m.u.ack.duplicates, 2);
	assert_int_equal(m.u.ack.reason.len, 0);
	assert_null(m.priv_);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
}

static void
test_golden_stats_req(void **state)
{
	encbuf eb;
	llmcost_proto_msg m;

	(void) state;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_stats_req(&eb.e));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_STATS_REQ);
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_STATS_REQ);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
}

// Two counters, as a STATS reply carries them.
static void
stats_two(llmcost_proto_stats *s, llmcost_proto_str n0, uint64_t v0,
    llmcost_proto_str n1, uint64_t v1)
{
	memset(s, 0, sizeof(*s));
	s->n = 2;
	s->names[0] = n0;
	s->values[0] = v0;
	s->names[1] = n1;
	s->values[1] = v1;
}

static void
test_golden_budget(void **state)
{
	static const llmcost_proto_guard g[2] = {
		{ 1,
		    { { LLMCOST_GUARD_META, { "feature", 7 },
		        { "search", 6 } } } },
		{ 2,
		    { { LLMCOST_GUARD_MODEL, { NULL, 0 }, { "gpt-4o", 6 } },
		        { LLMCOST_GUARD_PROVIDER, { NULL, 0 },
		            { "openai", 6 } } } },
	};
	llmcost_proto_budget_state bs = { 5, 2, g };
	encbuf eb;
	llmcost_proto_msg m;
	char reason[256];

	(void) state;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_budget_req(&eb.e));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_BUDGET_REQ);
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_BUDGET_REQ);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_budget_state(&eb.e, &bs));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_BUDGET_STATE);
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_BUDGET_STATE);
	assert_int_equal(m.u.budget_state.generation, 5);
	assert_int_equal(m.u.budget_state.n, 2);
	const llmcost_proto_guard *dg = m.u.budget_state.guards;
	assert_int_equal(dg[0].n_conds, 1);
	assert_int_equal(dg[0].conds[0].dim, LLMCOST_GUARD_META);
	assert_memory_equal(dg[0].conds[0].key.ptr, "feature", 7);
	assert_int_equal(dg[1].n_conds, 2);
	assert_int_equal(dg[1].conds[1].dim, LLMCOST_GUARD_PROVIDER);
	assert_int_equal(dg[1].conds[1].key.len, 0);
	assert_memory_equal(dg[1].conds[1].val.ptr, "openai", 6);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// The encoder refuses what the decoder would: a metadata condition
	// without a key, a key on a model condition, an unknown dimension,
	// too many guards.
	llmcost_proto_guard bad
	    = { 1, { { LLMCOST_GUARD_META, { NULL, 0 }, { "x", 1 } } } };
	llmcost_proto_budget_state bb = { 1, 1, &bad };
	encbuf_init(&eb);
	assert_int_equal(
	    llmcost_proto_enc_budget_state(&eb.e, &bb), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
	bad.conds[0].dim = LLMCOST_GUARD_MODEL;
	bad.conds[0].key.ptr = "k";
	bad.conds[0].key.len = 1;
	encbuf_init(&eb);
	assert_int_equal(
	    llmcost_proto_enc_budget_state(&eb.e, &bb), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
	bb.n = LLMCOST_PROTO_MAX_GUARDS + 1;
	encbuf_init(&eb);
	assert_int_equal(
	    llmcost_proto_enc_budget_state(&eb.e, &bb), LLMCOST_ETOOBIG);
	llmcost_proto_buf_free(&eb.b);

	// The decoder: each rule, with its reason.
	static const struct {
		const char *hex, *why;
		int rv;
	} rej[] = {
		{ "93 01 08 05", "budget_state: 3 elements", LLMCOST_EPROTO },
		{ "94 01 08 05 80", "guards: want array", LLMCOST_EPROTO },
		{ "94 01 08 05 91 91 93 03 a0 a1 78", "dim", LLMCOST_EPROTO },
		{ "94 01 08 05 91 91 93 02 a0 a1 78", "needs a key",
		    LLMCOST_EPROTO },
		{ "94 01 08 05 91 91 93 01 a1 6b a1 78", "needs a key",
		    LLMCOST_EPROTO },
		{ "94 01 08 05 91 91 93 01 a0 a0", "value", LLMCOST_EPROTO },
		{ "94 01 08 05 91 91 92 01 a0", "want [dim, key, value]",
		    LLMCOST_EPROTO },
		{ "94 01 08 05 91 99 90 90 90 90 90 90 90 90 90",
		    "9 conditions exceeds 8", LLMCOST_ETOOBIG },
	};
	for (size_t i = 0; i < sizeof(rej) / sizeof(rej[0]); i++) {
		size_t len;
		uint8_t *b = hex_bytes(rej[i].hex, &len);
		int rv
		    = llmcost_proto_decode(b, len, &m, reason, sizeof(reason));
		if (rv != rej[i].rv || strstr(reason, rej[i].why) == NULL) {
			fail_msg("case %zu: %s: %s", i, llmcost_err_name(rv),
			    reason);
		}
		free(b);
	}
}

static void
test_golden_stats(void **state)
{
	encbuf eb;
	llmcost_proto_stats s;
	llmcost_proto_msg m;

	(void) state;
	stats_two(&s, S("batches_received"), 12, S("records_stored"), 70000);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_stats(&eb.e, &s));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_STATS);

	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_STATS);
	assert_int_equal(m.u.stats.n, 2);
	assert_str(m.u.stats.names[0], "batches_received");
	assert_int_equal(m.u.stats.values[0], 12);
	assert_str(m.u.stats.names[1], "records_stored");
	assert_int_equal(m.u.stats.values[1], 70000);
	assert_inside(m.u.stats.names[1], eb.b.data, eb.b.len);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
}

// ---- QUERY and QUERY_REPLY ------------------------------------------------

// README "Example: a QUERY (81 bytes)": by feature and meta.team, env =
// prod, tag != beta, 2025-03-29T23:00Z .. 2025-03-30T22:00Z, per day in
// Europe/Berlin, top 5.
static const char GOLDEN_QUERY[]
    = "9b 01 05"
      " 92 a7 66656174757265 a9 6d6574612e7465616d"
      " 92 93 a3 656e76 c2 a4 70726f64 93 a3 746167 c3 a4 62657461"
      " cf 1831684a82c66000 cf 1831b398e35cc000"
      " 02 ad 4575726f70652f4265726c696e 05 00 00";

// README "Example: a QUERY_REPLY (327 bytes)": two rows of one day at
// -04:00, the second an "other" row without keys whose cost needs more
// than 64 bits, and one unpriced model.
static const char GOLDEN_QREPLY[] = "9e010600a0d1c7c0d1c7c0c2020003009d0301009"
                                    "acd04b0cd012c00000000ccfa000000"
                                    "cd05dcccfac410000000000000029d42b64e783f3"
                                    "1e24b9100c410000000000000000000"
                                    "0000000000000000c410000000000000000000000"
                                    "0000000000000009297ce67e8cfd0ce"
                                    "67ea2150d1c7c0d1c7c0c292a6736561726368c09"
                                    "d0200009acd04b0cd012c00000000cc"
                                    "fa000000cd05dcccfac4100000000000000000000"
                                    "00001cdef9d809100c4100000000000"
                                    "000000000000000000000000c4100000000000000"
                                    "0000000000000000000000097ce67e8"
                                    "cfd0ce67ea2150d1c7c0d1c7c0c392c0c09d01010"
                                    "09a000000000000000000000000c410"
                                    "000000000000029d42b64e76714244cb9100c4100"
                                    "0000000000000000000000000000000"
                                    "00c41000000000000000000000000000000000000"
                                    "09193a461636d65a96d797374657279"
                                    "2d3101";

#define QSUMS_ROW                                                             \
	((llmcost_proto_qsums) { .calls = 2,                                  \
	    .usage = { 1200, 300, 0, 0, 0, 0, 250 },                          \
	    .input_tokens = 1500,                                             \
	    .output_tokens = 250,                                             \
	    .cost_pusd = 7750000000 })
#define BIG_PUSD ((llmcost_proto_i128) 12345678901234567 * 1000000 + 890123)

static void
test_golden_query(void **state)
{
	encbuf eb;
	llmcost_proto_query q;
	llmcost_proto_msg m;

	(void) state;
	memset(&q, 0, sizeof(q));
	q.n_by = 2;
	q.by[0] = S("feature");
	q.by[1] = S("meta.team");
	q.n_where = 2;
	q.where[0] = (llmcost_proto_qfilter) { S("env"), 0, S("prod") };
	q.where[1] = (llmcost_proto_qfilter) { S("tag"), 1, S("beta") };
	q.from_ns = UINT64_C(1743289200000000000);
	q.to_ns = UINT64_C(1743372000000000000);
	q.every = 2;
	q.tz = S("Europe/Berlin");
	q.top = 5;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_query(&eb.e, &q));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_QUERY);
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_QUERY);
	assert_int_equal(m.u.query.n_by, 2);
	assert_str(m.u.query.by[1], "meta.team");
	assert_int_equal(m.u.query.n_where, 2);
	assert_str(m.u.query.where[0].key, "env");
	assert_int_equal(m.u.query.where[0].negate, 0);
	assert_str(m.u.query.where[1].value, "beta");
	assert_int_equal(m.u.query.where[1].negate, 1);
	assert_true(m.u.query.from_ns == q.from_ns);
	assert_true(m.u.query.to_ns == q.to_ns);
	assert_int_equal(m.u.query.every, 2);
	assert_str(m.u.query.tz, "Europe/Berlin");
	assert_int_equal(m.u.query.top, 5);
	assert_int_equal(m.u.query.max_groups, 0);
	assert_inside(m.u.query.tz, eb.b.data, eb.b.len);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
}

static void
test_golden_qreply(void **state)
{
	encbuf eb;
	llmcost_proto_qreply r;
	llmcost_proto_qrow rows[2];
	llmcost_proto_qunpriced u = { S("acme"), S("mystery-1"), 1 };
	llmcost_proto_msg m;

	(void) state;
	memset(&r, 0, sizeof(r));
	memset(rows, 0, sizeof(rows));
	r.from_off = r.to_off = -14400;
	r.groups = 2;
	r.runs_scanned = 3;
	r.total = QSUMS_ROW;
	r.total.calls = 3;
	r.total.unpriced_calls = 1;
	r.total.cost_pusd += BIG_PUSD;
	for (int i = 0; i < 2; i++) {
		rows[i].bucket = 1743310800;
		rows[i].bucket_end = 1743397200;
		rows[i].bucket_off = rows[i].bucket_end_off = -14400;
		rows[i].n_keys = 2;
	}
	rows[0].keys[0] = S("search");
	rows[0].has_key[0] = 1;
	rows[0].sum = QSUMS_ROW;
	rows[1].other = 1;
	rows[1].sum = (llmcost_proto_qsums) {
		.calls = 1, .unpriced_calls = 1, .cost_pusd = BIG_PUSD
	};
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_qreply_header(&eb.e, &r, 2));
	LLMCOST_PASS(llmcost_proto_enc_qrow(&eb.e, &rows[0]));
	LLMCOST_PASS(llmcost_proto_enc_qrow(&eb.e, &rows[1]));
	LLMCOST_PASS(llmcost_proto_enc_qunpriced(&eb.e, &u, 1));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_QREPLY);

	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_QUERY_REPLY);
	const llmcost_proto_qreply *d = &m.u.qreply;
	assert_int_equal(d->status, 0);
	assert_int_equal(d->from_off, -14400);
	assert_int_equal(d->groups, 2);
	assert_int_equal(d->runs_scanned, 3);
	assert_true(d->total.cost_pusd == r.total.cost_pusd);
	assert_int_equal(d->n_rows, 2);
	assert_int_equal(d->rows[0].bucket, 1743310800);
	assert_int_equal(d->rows[0].bucket_end_off, -14400);
	assert_str(d->rows[0].keys[0], "search");
	assert_int_equal(d->rows[0].has_key[0], 1);
	assert_int_equal(d->rows[0].has_key[1], 0);
	assert_memory_equal(
	    &d->rows[0].sum, &rows[0].sum, sizeof(rows[0].sum));
	assert_int_equal(d->rows[1].other, 1);
	assert_true(d->rows[1].sum.cost_pusd == BIG_PUSD);
	assert_int_equal(d->n_unpriced, 1);
	assert_str(d->unpriced[0].model, "mystery-1");
	assert_int_equal(d->unpriced[0].calls, 1);
	assert_inside(d->rows[0].keys[0], eb.b.data, eb.b.len);
	// A reply of 14 elements (a collector from before price_tables).
	assert_int_equal(d->has_ptables, 0);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// The same reply with element 14, price_tables (README "Example: a
	// QUERY_REPLY with price_tables"): 15 elements, then [flags, one
	// version].
	r.has_ptables = 1;
	r.ptables_flags = LLMCOST_PROTO_QPT_UNKNOWN;
	r.n_ptables = 1;
	r.ptables[0] = S("0123456789abcdef");
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_qreply_header(&eb.e, &r, 2));
	LLMCOST_PASS(llmcost_proto_enc_qrow(&eb.e, &rows[0]));
	LLMCOST_PASS(llmcost_proto_enc_qrow(&eb.e, &rows[1]));
	LLMCOST_PASS(llmcost_proto_enc_qunpriced(&eb.e, &u, 1));
	LLMCOST_PASS(llmcost_proto_enc_qptables(&eb.e, &r));
	char want[sizeof(GOLDEN_QREPLY) + 64];
	snprintf(want, sizeof(want), "9f%s%s", GOLDEN_QREPLY + 2,
	    "920191b030313233343536373839616263646566");
	assert_bytes(eb.b.data, eb.b.len, want);
	decode_ok(eb.b.data, eb.b.len, &m);
	d = &m.u.qreply;
	assert_int_equal(d->has_ptables, 1);
	assert_int_equal(d->ptables_flags, LLMCOST_PROTO_QPT_UNKNOWN);
	assert_int_equal(d->n_ptables, 1);
	assert_str(d->ptables[0], "0123456789abcdef");
	assert_int_equal(d->n_unpriced, 1);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
	// Bad flags, too many versions, an empty one: refused.
	r.ptables_flags = 4;
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_qptables(&eb.e, &r), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
	r.ptables_flags = 0;
	r.n_ptables = LLMCOST_PROTO_MAX_QPTABLES + 1;
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_qptables(&eb.e, &r), LLMCOST_ETOOBIG);
	llmcost_proto_buf_free(&eb.b);
	r.n_ptables = 1;
	r.ptables[0] = S("");
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_qptables(&eb.e, &r), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
	memset(&r, 0, sizeof(r));

	// A failed query: its status and reason, nothing else.
	memset(&r, 0, sizeof(r));
	r.status = LLMCOST_EINVAL;
	r.reason = S("unknown key 'colour'");
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_qreply_header(&eb.e, &r, 0));
	LLMCOST_PASS(llmcost_proto_enc_qunpriced(&eb.e, NULL, 0));
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.qreply.status, LLMCOST_EINVAL);
	assert_str(m.u.qreply.reason, "unknown key 'colour'");
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
	// Rows with a failed status are not written.
	encbuf_init(&eb);
	LLMCOST_FAIL(
	    llmcost_proto_enc_qreply_header(&eb.e, &r, 1), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
}

// ---- forward-compatible usage ---------------------------------------------

// A batch from a newer encoder that knows 12 buckets (README, "Example: a
// record from a newer encoder"): usage has two entries past the ten this
// decoder knows.
#define USAGE_RECORD_HEX                                                      \
	"96 01 01 c4 10 000102030405060708090a0b0c0d0e0f 07 03 91"            \
	" 86"                                                                 \
	" 00 c4 10 018f3a2b4c5d7e6f8091a2b3c4d5e6f7"                          \
	" 01 cf 17979cfe362a0000"                                             \
	" 02 00"                                                              \
	" 03 a6 6f70656e6169"                                                 \
	" 04 a6 6770742d346f"
static const char GOLDEN_USAGE_12[]
    = USAGE_RECORD_HEX " 05 9c cd04b0 00 00 00 00 00 ccfa 00 00 00 01 cd0bb8";

// The same record as this encoder writes it: exactly ten entries.
static const char GOLDEN_USAGE_10[]
    = USAGE_RECORD_HEX " 05 9a cd04b0 00 00 00 00 00 ccfa 00 00 00";

static void
assert_usage_1200_250(const llmcost_proto_record *r)
{
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		uint64_t want = i == LLMCOST_IN_UNCACHED ? 1200
		    : i == LLMCOST_OUT_TEXT              ? 250
		                                         : 0;
		assert_int_equal(r->usage[i], want);
	}
}

static void
test_golden_usage_newer_encoder(void **state)
{
	llmcost_proto_msg m;
	const llmcost_proto_record *r;
	encbuf eb;
	size_t len;
	uint8_t *buf = hex_bytes(GOLDEN_USAGE_12, &len);

	(void) state;
	// This decoder keeps the ten buckets it knows and reports the two it
	// does not.
	decode_ok(buf, len, &m);
	assert_int_equal(m.u.batch.n_records, 1);
	r = &m.u.batch.records[0];
	assert_str(r->model, "gpt-4o");
	assert_usage_1200_250(r);
	assert_int_equal(r->n_usage_extra, 2);
	assert_int_equal(r->usage_extra[0], 1);
	assert_int_equal(r->usage_extra[1], 3000);
	for (uint32_t i = 2; i < LLMCOST_PROTO_USAGE_EXTRA; i++) {
		assert_int_equal(r->usage_extra[i], 0);
	}

	// This encoder writes the buckets it knows, ten, and nothing else.
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, r));
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_USAGE_10);
	llmcost_proto_msg_free(&m);
	free(buf);

	// And its own ten entries decode with nothing extra.
	decode_ok(eb.b.data, eb.b.len, &m);
	r = &m.u.batch.records[0];
	assert_usage_1200_250(r);
	assert_int_equal(r->n_usage_extra, 0);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
}

// A batch of one record whose usage array has n entries with the values
// 1, 2, ..., n.
static void
pk_usage_batch(raw *r, uint32_t n)
{
	raw_init(r);
	pk_batch_head(&r->pk, 1);
	pk_record(&r->pk, SKIP(LLMCOST_RK_USAGE), 1, NULL);
	msgpack_pack_uint64(&r->pk, LLMCOST_RK_USAGE);
	msgpack_pack_array(&r->pk, n);
	for (uint32_t i = 0; i < n; i++) {
		msgpack_pack_uint64(&r->pk, i + 1);
	}
}

static void
test_usage_lengths(void **state)
{
	static const uint32_t ok[] = { 10, 11, 16, 17, 64 };
	raw r;
	llmcost_proto_msg m;

	(void) state;
	for (size_t c = 0; c < N_OF(ok); c++) {
		const llmcost_proto_record *rec;
		uint32_t n = ok[c];
		uint32_t extra = n - LLMCOST_BUCKET_COUNT;

		pk_usage_batch(&r, n);
		decode_ok(r.sb.data, r.sb.size, &m);
		rec = &m.u.batch.records[0];
		for (uint32_t i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
			assert_int_equal(rec->usage[i], i + 1);
		}
		assert_int_equal(rec->n_usage_extra, extra);
		for (uint32_t i = 0; i < LLMCOST_PROTO_USAGE_EXTRA; i++) {
			// The first six extra values are kept, the rest only
			// counted.
			assert_int_equal(rec->usage_extra[i],
			    i < extra ? LLMCOST_BUCKET_COUNT + i + 1 : 0);
		}
		llmcost_proto_msg_free(&m);
		raw_fini(&r);
	}

	pk_usage_batch(&r, 65);
	expect_reject_exact(r.sb.data, r.sb.size, LLMCOST_ETOOBIG,
	    "record 0: usage: 65 elements exceeds 64", "usage of 65");
	raw_fini(&r);
	pk_usage_batch(&r, 0);
	expect_reject_exact(r.sb.data, r.sb.size, LLMCOST_EPROTO,
	    "record 0: usage: want array of 10 to 64 unsigned integers, got 0 "
	    "elements",
	    "usage of 0");
	raw_fini(&r);
}

// ---- round trips ---------------------------------------------------------

static void
assert_record_eq(const llmcost_proto_record *a, const llmcost_proto_record *b)
{
	assert_memory_equal(a->run_id, b->run_id, 16);
	assert_true(a->start_ns == b->start_ns);
	assert_true(a->duration_ns == b->duration_ns);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->provider.len, b->provider.len);
	assert_memory_equal(a->provider.ptr, b->provider.ptr, a->provider.len);
	assert_int_equal(a->model.len, b->model.len);
	assert_memory_equal(a->model.ptr, b->model.ptr, a->model.len);
	assert_memory_equal(a->usage, b->usage, sizeof(a->usage));
	assert_int_equal(a->n_meta, b->n_meta);
	for (uint32_t i = 0; i < a->n_meta; i++) {
		assert_int_equal(a->meta[i].key.len, b->meta[i].key.len);
		assert_memory_equal(a->meta[i].key.ptr, b->meta[i].key.ptr,
		    a->meta[i].key.len);
		assert_int_equal(a->meta[i].val.len, b->meta[i].val.len);
		if (a->meta[i].val.len > 0) {
			assert_memory_equal(a->meta[i].val.ptr,
			    b->meta[i].val.ptr, a->meta[i].val.len);
		}
	}
	assert_int_equal(a->n_tags, b->n_tags);
	for (uint32_t i = 0; i < a->n_tags; i++) {
		assert_int_equal(a->tags[i].len, b->tags[i].len);
		assert_memory_equal(
		    a->tags[i].ptr, b->tags[i].ptr, a->tags[i].len);
	}
}

static void
test_roundtrip_max_record(void **state)
{
	static char provider[LLMCOST_MAX_PROVIDER];
	static char model[LLMCOST_MAX_MODEL];
	static char keys[LLMCOST_MAX_META][LLMCOST_MAX_KEY];
	static char vals[LLMCOST_MAX_META][LLMCOST_MAX_VALUE];
	static char tagv[LLMCOST_MAX_TAGS][LLMCOST_MAX_TAG];
	static llmcost_proto_kv meta[LLMCOST_MAX_META];
	static llmcost_proto_str tags[LLMCOST_MAX_TAGS];
	llmcost_proto_record r;
	llmcost_proto_msg m;
	encbuf eb;

	(void) state;
	memset(provider, 'p', sizeof(provider));
	memset(model, 'm', sizeof(model));
	memset(&r, 0, sizeof(r));
	memset(r.run_id, 0xff, 16);
	r.start_ns = UINT64_MAX;
	r.duration_ns = UINT64_MAX;
	r.status = LLMCOST_STATUS_ABORTED;
	r.provider = (llmcost_proto_str) { provider, sizeof(provider) };
	r.model = (llmcost_proto_str) { model, sizeof(model) };
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		r.usage[i] = UINT64_MAX - (uint64_t) i;
	}
	for (int i = 0; i < LLMCOST_MAX_META; i++) {
		memset(keys[i], 'k', LLMCOST_MAX_KEY);
		keys[i][0] = (char) ('A' + i); // distinct keys
		memset(vals[i], 'v', LLMCOST_MAX_VALUE);
		meta[i].key = (llmcost_proto_str) { keys[i], LLMCOST_MAX_KEY };
		meta[i].val
		    = (llmcost_proto_str) { vals[i], LLMCOST_MAX_VALUE };
	}
	for (int i = 0; i < LLMCOST_MAX_TAGS; i++) {
		memset(tagv[i], 't', LLMCOST_MAX_TAG);
		tags[i] = (llmcost_proto_str) { tagv[i], LLMCOST_MAX_TAG };
	}
	r.meta = meta;
	r.n_meta = LLMCOST_MAX_META;
	r.tags = tags;
	r.n_tags = LLMCOST_MAX_TAGS;

	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(
	    &eb.e, CID, UINT64_MAX, UINT64_MAX, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.batch.n_records, 1);
	assert_true(m.u.batch.seq == UINT64_MAX);
	assert_true(m.u.batch.dropped == UINT64_MAX);
	assert_record_eq(&m.u.batch.records[0], &r);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
}

static void
test_roundtrip_4096_records(void **state)
{
	const uint32_t n = LLMCOST_PROTO_MAX_RECORDS;
	llmcost_proto_record *recs;
	llmcost_proto_kv kv[2] = { { { "feature", 7 }, { "search", 6 } },
		{ { "env", 3 }, { "", 0 } } };
	llmcost_proto_str tag = { "t", 1 };
	llmcost_proto_msg m;
	encbuf eb;

	(void) state;
	recs = calloc(n, sizeof(*recs));
	assert_non_null(recs);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 1, 0, n));
	for (uint32_t i = 0; i < n; i++) {
		llmcost_proto_record *r = &recs[i];

		r->run_id[0] = 1;
		r->run_id[14] = (uint8_t) (i >> 8);
		r->run_id[15] = (uint8_t) i;
		r->start_ns = 1000 + i;
		r->duration_ns = i;
		r->status = i % 3;
		r->provider = S("google");
		r->model = S("gemini-2.0-flash");
		r->usage[i % LLMCOST_BUCKET_COUNT] = i;
		// Alternate between no meta/tags, two meta, and a tag, so the
		// decoder's shared arrays are exercised with gaps.
		if (i % 2 == 0) {
			r->meta = kv;
			r->n_meta = 2;
		}
		if (i % 3 == 0) {
			r->tags = &tag;
			r->n_tags = 1;
		}
		LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, r));
	}
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.batch.n_records, n);
	for (uint32_t i = 0; i < n; i++) {
		assert_record_eq(&m.u.batch.records[i], &recs[i]);
	}
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// One more record than the cap is refused by the encoder.
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_batch_header(&eb.e, CID, 1, 0, n + 1),
	    LLMCOST_ETOOBIG);
	assert_int_equal(eb.b.len, 0);
	llmcost_proto_buf_free(&eb.b);
	free(recs);
}

// The decoder's pre-pass caps the msgpack values in one message
// (LLMCOST_PROTO_MAX_VALUES), because msgpack-c allocates 24 bytes per
// value before the schema can refuse anything.  The cap is above the
// largest batch v1 accepts (checked at compile time), and the largest
// batch the encoder writes (4096 records, each with every key, 32 meta
// entries and 32 tags) decodes; exactly the cap passes the pre-pass; one
// value more, or a hostile 4 MiB array of nils, is refused by it, with
// ETOOBIG and a reason naming the cap.
static void
test_values_cap(void **state)
{
	const uint32_t n = LLMCOST_PROTO_MAX_RECORDS;
	static const char *const keys = "abcdefghijklmnopqrstuvwxyzABCDEF";
	llmcost_proto_kv kv[LLMCOST_MAX_META];
	llmcost_proto_str tags[LLMCOST_MAX_TAGS];
	llmcost_proto_record r;
	llmcost_proto_msg m;
	encbuf eb;
	raw w;

	(void) state;
	_Static_assert(7
	            + LLMCOST_PROTO_MAX_RECORDS
	                * (1 + 2 * LLMCOST_RK_COUNT + LLMCOST_PROTO_MAX_BUCKETS
	                    + LLMCOST_PROTO_MAX_FEES + 2 * LLMCOST_MAX_META
	                    + LLMCOST_MAX_TAGS)
	        <= LLMCOST_PROTO_MAX_VALUES,
	    "the largest v1 batch fits the values cap");
	for (int i = 0; i < LLMCOST_MAX_META; i++) {
		kv[i].key = (llmcost_proto_str) { keys + i, 1 };
		kv[i].val = (llmcost_proto_str) { "", 0 };
	}
	for (int i = 0; i < LLMCOST_MAX_TAGS; i++) {
		tags[i] = (llmcost_proto_str) { keys + i, 1 };
	}
	memset(&r, 0, sizeof(r));
	r.start_ns = 1;
	r.status = LLMCOST_STATUS_ERROR;
	r.provider = S("p");
	r.model = S("m");
	r.meta = kv;
	r.n_meta = LLMCOST_MAX_META;
	r.tags = tags;
	r.n_tags = LLMCOST_MAX_TAGS;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 1, 0, n));
	for (uint32_t i = 0; i < n; i++) {
		r.run_id[0] = 1;
		r.run_id[14] = (uint8_t) (i >> 8);
		r.run_id[15] = (uint8_t) i;
		LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	}
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.batch.n_records, n);
	assert_int_equal(m.u.batch.records[n - 1].n_meta, LLMCOST_MAX_META);
	assert_int_equal(m.u.batch.records[n - 1].n_tags, LLMCOST_MAX_TAGS);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// An array and its elements: exactly the cap, then one more.
	for (uint32_t extra = 0; extra <= 1; extra++) {
		raw_init(&w);
		msgpack_pack_array(
		    &w.pk, LLMCOST_PROTO_MAX_VALUES - 1 + extra);
		for (uint32_t i = 0; i < LLMCOST_PROTO_MAX_VALUES - 1 + extra;
		     i++) {
			msgpack_pack_nil(&w.pk);
		}
		if (extra == 0) {
			// Past the pre-pass; the schema refuses it.
			expect_reject(w.sb.data, w.sb.size, LLMCOST_EPROTO,
			    "version: want unsigned integer, got nil",
			    "values at the cap");
		} else {
			expect_reject(w.sb.data, w.sb.size, LLMCOST_ETOOBIG,
			    "more than 1048576 msgpack values",
			    "one value over the cap");
		}
		raw_fini(&w);
	}

	// A hostile message: 4 MiB of nils in one array.
	size_t len = LLMCOST_PROTO_MAX_MSG;
	uint8_t *h = malloc(len);
	assert_non_null(h);
	memset(h, 0xc0, len);
	h[0] = 0xdd;
	for (int i = 0; i < 4; i++) {
		h[1 + i] = (uint8_t) ((uint32_t) (len - 5) >> (24 - 8 * i));
	}
	expect_reject(h, len, LLMCOST_ETOOBIG,
	    "more than 1048576 msgpack values", "4 MiB of nils");
	free(h);
}

static void
test_empty_batch(void **state)
{
	encbuf eb;
	llmcost_proto_msg m;

	(void) state;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 9, 12345, 0));
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.batch.n_records, 0);
	assert_int_equal(m.u.batch.dropped, 12345);
	assert_null(m.priv_);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);
}

// ---- rejections ----------------------------------------------------------

// Messages too long to write out as hex.

static void
pk_4097_records(msgpack_packer *pk)
{
	pk_batch_head(pk, LLMCOST_PROTO_MAX_RECORDS + 1);
	for (uint32_t i = 0; i <= LLMCOST_PROTO_MAX_RECORDS; i++) {
		msgpack_pack_nil(pk);
	}
}

// 40 arrays of one element, nested, around a 1.
static void
pk_deep_nesting(msgpack_packer *pk)
{
	for (int i = 0; i < 40; i++) {
		msgpack_pack_array(pk, 1);
	}
	msgpack_pack_uint64(pk, 1);
}

// ACK [1, 2, CID, 7, status, stored, 0, reason] with n elements in all
// (extra ones are nil; with fewer than 8 there is no reason).
static void
pk_ack(msgpack_packer *pk, uint32_t n, uint64_t status, uint64_t stored,
    const char *reason, size_t reason_len)
{
	msgpack_pack_array(pk, n);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 2);
	pk_bin(pk, CID, 16);
	msgpack_pack_uint64(pk, 7);
	msgpack_pack_uint64(pk, status);
	msgpack_pack_uint64(pk, stored);
	msgpack_pack_uint64(pk, 0);
	if (n > 7) {
		pk_strn(pk, reason, reason_len);
	}
	for (uint32_t i = 8; i < n; i++) {
		msgpack_pack_nil(pk);
	}
}

static void
pk_ack_long_reason(msgpack_packer *pk)
{
	char big[LLMCOST_PROTO_MAX_REASON + 1];

	memset(big, 'r', sizeof(big));
	pk_ack(pk, 8, 1, 0, big, sizeof(big));
}

// STATS [1, 4, map(n)]; the caller writes the n entries.
static void
pk_stats_head(msgpack_packer *pk, uint32_t n)
{
	msgpack_pack_array(pk, 3);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 4);
	msgpack_pack_map(pk, n);
}

static void
pk_stats_65(msgpack_packer *pk)
{
	char name[16];

	pk_stats_head(pk, LLMCOST_PROTO_MAX_STATS + 1);
	for (unsigned i = 0; i <= LLMCOST_PROTO_MAX_STATS; i++) {
		(void) snprintf(name, sizeof(name), "c%u", i);
		pk_str(pk, name);
		msgpack_pack_uint64(pk, i);
	}
}

static void
pk_stats_long_name(msgpack_packer *pk)
{
	pk_stats_head(pk, 1);
	pk_fill(pk, 'n', LLMCOST_PROTO_MAX_STAT_NAME + 1);
	msgpack_pack_uint64(pk, 1);
}

// A message the decoder must refuse: the bytes given as hex, then those
// pack writes, then zeros zero bytes; the code and a piece of the reason.
typedef struct reject_case {
	const char *name;
	const char *hex;
	int code;
	const char *sub;
	void (*pack)(msgpack_packer *pk);
	size_t zeros;
	unsigned ext_key;    // with ext_hex: a record whose key ext_key
	const char *ext_hex; // has this value (pk_ext)
} reject_case;

// A record with keys 0..5 and then one extension key and its value,
// given as hex.
static void
pk_ext(msgpack_packer *pk, unsigned key, const char *hex)
{
	pk_batch_head(pk, 1);
	msgpack_pack_map(pk, 7);
	msgpack_pack_uint64(pk, 0);
	pk_bin(pk, RID0, 16);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 1);
	msgpack_pack_uint64(pk, 2);
	msgpack_pack_uint64(pk, 0);
	msgpack_pack_uint64(pk, 3);
	pk_str(pk, "openai");
	msgpack_pack_uint64(pk, 4);
	pk_str(pk, "gpt-4o");
	msgpack_pack_uint64(pk, 5);
	msgpack_pack_array(pk, 10);
	for (int i = 0; i < 10; i++) {
		msgpack_pack_uint64(pk, 0);
	}
	msgpack_pack_uint64(pk, key);
	pk_hex(pk, hex);
}

// QUERY and QUERY_REPLY messages the encoder would refuse.
static void
pk_query_long_tz(msgpack_packer *pk)
{
	char tz[65];
	memset(tz, 'a', sizeof(tz));
	pk_hex(pk, "9b 01 05 90 90 00 01 00");
	msgpack_pack_str(pk, sizeof(tz));
	msgpack_pack_str_body(pk, tz, sizeof(tz));
	pk_hex(pk, "00 00 00");
}

// Sums of n elements (13 is right): zeros, amounts of amount_len bytes.
static void
pk_qsums(msgpack_packer *pk, uint32_t n, size_t amount_len)
{
	static const uint8_t zero[16];
	msgpack_pack_array(pk, n);
	for (uint32_t i = 0; i < n; i++) {
		if (i == 3) {
			pk_hex(pk, "9a 00 00 00 00 00 00 00 00 00 00");
		} else if (i == 6 || i == 8 || i == 10) {
			msgpack_pack_bin(pk, amount_len);
			msgpack_pack_bin_body(pk, zero, amount_len);
		} else if (i == 7) {
			pk_hex(pk, "91 00");
		} else {
			msgpack_pack_uint64(pk, 0);
		}
	}
}

// A reply header up to and with its total: status, then 10 fields.
static void
pk_qreply_head(msgpack_packer *pk, unsigned status)
{
	pk_hex(pk, "9e 01 06");
	msgpack_pack_uint64(pk, status);
	pk_hex(pk, status != 0 ? "a1 78" : "a0");
	pk_hex(pk, "00 00 c2 00 00 00 00");
	pk_qsums(pk, 13, 16);
}

static void
pk_qreply_short_sums(msgpack_packer *pk)
{
	pk_hex(pk, "9e 01 06 00 a0 00 00 c2 00 00 00 00");
	pk_qsums(pk, 12, 16);
	pk_hex(pk, "90 90");
}

static void
pk_qreply_cost8(msgpack_packer *pk)
{
	pk_hex(pk, "9e 01 06 00 a0 00 00 c2 00 00 00 00");
	pk_qsums(pk, 13, 8);
	pk_hex(pk, "90 90");
}

static void
pk_qreply_row(msgpack_packer *pk)
{
	pk_hex(pk, "97 00 01 00 00 c2 91 a1 61");
	pk_qsums(pk, 13, 16);
}

static void
pk_qreply_failed_rows(msgpack_packer *pk)
{
	pk_qreply_head(pk, 1);
	pk_hex(pk, "91");
	pk_qreply_row(pk);
	pk_hex(pk, "90");
}

static void
pk_qreply_many_rows(msgpack_packer *pk)
{
	pk_qreply_head(pk, 0);
	msgpack_pack_array(pk, LLMCOST_PROTO_MAX_QROWS + 1);
	for (uint32_t i = 0; i < LLMCOST_PROTO_MAX_QROWS + 1; i++) {
		pk_qreply_row(pk);
	}
	pk_hex(pk, "90");
}

static void
pk_qreply_bad_row(msgpack_packer *pk)
{
	pk_qreply_head(pk, 0);
	pk_hex(pk, "91 97 a1 78 01 00 00 c2 90");
	pk_qsums(pk, 13, 16);
	pk_hex(pk, "90");
}

// The batch header of pk_batch_head up to the records: [1, 1, CID, 7, 3.
#define BATCH_HEX(n) n " 01 01 c4 10 " CID_HEX " 07 03"
// The same for an ACK up to the reason: [1, 2, CID, 7.
#define ACK_HEX(n) n " 01 02 c4 10 " CID_HEX " 07"

static const reject_case reject_cases[] = {
	// The envelope.
	{ "no bytes", "", LLMCOST_EPROTO, "empty message" },
	{ "0xc1", "c1", LLMCOST_EPROTO, "invalid msgpack byte 0xc1" },
	{ "negative fixint", "ff", LLMCOST_EPROTO,
	    "message: want array, got negative integer" },
	{ "array of 2 with 1", "92 01", LLMCOST_EPROTO, "truncated message" },
	{ "text \"hello, collector\"", "68656c6c6f2c20636f6c6c6563746f72",
	    LLMCOST_EPROTO, "trailing bytes" },
	// Announced counts with no bytes behind them must not allocate.
	{ "array32 of 2^32-1, no elements", "dd ffffffff", LLMCOST_EPROTO,
	    "truncated message" },
	{ "map32 of 2^32-1, one byte", "df ffffffff 00", LLMCOST_EPROTO,
	    "truncated message" },
	{ "empty array", "90", LLMCOST_EPROTO, "empty array" },
	{ "empty map", "80", LLMCOST_EPROTO, "message: want array, got map" },
	{ "golden batch and 1 zero", GOLDEN_BATCH, LLMCOST_EPROTO,
	    "1 trailing bytes", NULL, 1 },
	{ "golden batch and 3 zeros", GOLDEN_BATCH, LLMCOST_EPROTO,
	    "3 trailing bytes", NULL, 3 },
	{ "4194305 zeros", "", LLMCOST_ETOOBIG,
	    "message of 4194305 bytes exceeds 4194304", NULL,
	    LLMCOST_PROTO_MAX_MSG + 1 },
	// Exactly at the cap the size is fine (and the content is not).
	{ "4194304 zeros", "", LLMCOST_EPROTO, "trailing bytes", NULL,
	    LLMCOST_PROTO_MAX_MSG },
	{ "40 nested arrays", NULL, LLMCOST_ETOOBIG,
	    "nesting deeper than 16 levels", pk_deep_nesting },

	// Version and type.
	{ "version 2", "92 02 03", LLMCOST_EPROTO, "unsupported version 2" },
	{ "version 0", "92 00 03", LLMCOST_EPROTO, "unsupported version 0" },
	{ "version 2^64-1", "92 cf ffffffffffffffff 03", LLMCOST_EPROTO,
	    "unsupported version 18446744073709551615" },
	{ "version \"1\"", "92 a1 31 03", LLMCOST_EPROTO,
	    "version: want unsigned integer, got str" },
	{ "version -1", "92 ff 03", LLMCOST_EPROTO,
	    "version: want unsigned integer, got negative integer" },
	{ "version 1.0", "92 ca 3f800000 03", LLMCOST_EPROTO,
	    "version: want unsigned integer, got float" },
	{ "version only", "91 01", LLMCOST_EPROTO, "missing type" },
	// The version is checked before anything else about the message.
	{ "version 2 only", "91 02", LLMCOST_EPROTO, "unsupported version 2" },
	{ "type 10", "92 01 0a", LLMCOST_EPROTO, "unknown message type 10" },
	{ "type 0", "92 01 00", LLMCOST_EPROTO, "unknown message type 0" },
	{ "type -32", "92 01 e0", LLMCOST_EPROTO,
	    "type: want unsigned integer, got negative integer" },
	{ "type nil", "92 01 c0", LLMCOST_EPROTO,
	    "type: want unsigned integer, got nil" },

	// The batch header.
	{ "batch of 5 elements", BATCH_HEX("95"), LLMCOST_EPROTO,
	    "batch: 5 elements, want at least 6" },
	{ "client_id of 15 bytes",
	    "96 01 01 c4 0f 000102030405060708090a0b0c0d0e 07 03 90",
	    LLMCOST_EPROTO,
	    "batch: client_id: want bin of 16 bytes, got 15 bytes" },
	{ "client_id as str", "96 01 01 b0 " CID_HEX " 07 03 90",
	    LLMCOST_EPROTO,
	    "batch: client_id: want bin of 16 bytes, got str" },
	{ "seq -1", "96 01 01 c4 10 " CID_HEX " ff 03 90", LLMCOST_EPROTO,
	    "batch: seq: want unsigned integer, got negative integer" },
	{ "dropped 3.0",
	    "96 01 01 c4 10 " CID_HEX " 07 cb 4008000000000000 90",
	    LLMCOST_EPROTO,
	    "batch: dropped: want unsigned integer, got float" },
	{ "records as a map", BATCH_HEX("96") " 80", LLMCOST_EPROTO,
	    "batch: records: want array, got map" },
	{ "record as an array", BATCH_HEX("96") " 91 90", LLMCOST_EPROTO,
	    "record 0: want map, got array" },
	{ "4097 records", NULL, LLMCOST_ETOOBIG,
	    "batch: 4097 records exceeds 4096", pk_4097_records },

	// ACK.
	{ "ack of 7 elements", ACK_HEX("97") " 00 00 00", LLMCOST_EPROTO,
	    "ack: 7 elements, want at least 8" },
	{ "ack status 3", ACK_HEX("98") " 03 00 00 a0", LLMCOST_EPROTO,
	    "ack: status: 3 out of range 0..2" },
	{ "ack stored 2^32", ACK_HEX("98") " 00 cf 0000000100000000 00 a0",
	    LLMCOST_EPROTO,
	    "ack: stored: 4294967296 out of range 0..4294967295" },
	{ "ack reason of 257 bytes", NULL, LLMCOST_ETOOBIG,
	    "ack: reason: 257 bytes exceeds 256", pk_ack_long_reason },
	{ "ack reason \"bad \\xc3\\x28\"",
	    ACK_HEX("98") " 01 00 00 a6 62616420c328", LLMCOST_EPROTO,
	    "ack: reason: invalid UTF-8" },

	// STATS.
	{ "65 stats", NULL, LLMCOST_ETOOBIG, "stats: 65 entries exceeds 64",
	    pk_stats_65 },
	{ "stat name of 65 bytes", NULL, LLMCOST_ETOOBIG,
	    "stats: name 0: 65 bytes exceeds 64", pk_stats_long_name },
	{ "stat name \"\"", "93 01 04 81 a0 01", LLMCOST_EPROTO,
	    "stats: name 0: empty" },
	{ "stat name \"\\xe0\\x80\\x80\"", "93 01 04 81 a3 e08080 01",
	    LLMCOST_EPROTO, "stats: name 0: invalid UTF-8" },
	{ "stat value -3", "93 01 04 81 a6 73746f726564 fd", LLMCOST_EPROTO,
	    "stats: value of \"stored\": want unsigned integer, got "
	    "negative" },
	{ "stat \"stored\" twice",
	    "93 01 04 82 a6 73746f726564 01 a6 73746f726564 02",
	    LLMCOST_EPROTO, "stats: duplicate name \"stored\"" },
	{ "stats as an array", "93 01 04 90", LLMCOST_EPROTO,
	    "stats: want map, got array" },
	{ "stats of 2 elements", "92 01 04", LLMCOST_EPROTO,
	    "stats: 2 elements, want at least 3" },

	// QUERY and QUERY_REPLY.
	{ "query of 10 elements", "9a 01 05 90 90 00 01 00 a0 00 00",
	    LLMCOST_EPROTO, "query: 10 elements, want at least 11" },
	{ "query by 5 keys",
	    "9b 01 05 95 a1 61 a1 61 a1 61 a1 61 a1 61 90 00 01 00 a0 00 00 "
	    "00",
	    LLMCOST_ETOOBIG, "query: by: 5 elements exceeds 4" },
	{ "query by an empty key", "9b 01 05 91 a0 90 00 01 00 a0 00 00 00",
	    LLMCOST_EPROTO, "query: by[0]: empty" },
	{ "query filter of 2",
	    "9b 01 05 90 91 92 a1 61 c2 00 01 00 a0 00 00 00", LLMCOST_EPROTO,
	    "query: where[0]: want array of 3" },
	{ "query filter negate 1",
	    "9b 01 05 90 91 93 a1 61 01 a0 00 01 00 a0 00 00 00",
	    LLMCOST_EPROTO, "query: where[0]: want boolean, got unsigned" },
	{ "query every 4", "9b 01 05 90 90 00 01 04 a0 00 00 00",
	    LLMCOST_EPROTO, "query: every: 4 out of range 0..3" },
	{ "query flags 2", "9b 01 05 90 90 00 01 00 a0 00 00 02",
	    LLMCOST_EPROTO, "query: flags: 2 out of range 0..1" },
	{ "query tz of 65 bytes", NULL, LLMCOST_ETOOBIG,
	    "query: tz: 65 bytes exceeds 64", pk_query_long_tz },
	{ "query_reply status 256",
	    "9e 01 06 cd 0100 a0 00 00 c2 00 00 00 00 90 90 90",
	    LLMCOST_EPROTO, "query_reply: status: 256 out of range 0..255" },
	{ "query_reply offset 86401",
	    "9e 01 06 00 a0 ce 00015181 00 c2 00 00 00 00 90 90 90",
	    LLMCOST_EPROTO, "query_reply: from_off: 86401 out of range" },
	{ "query_reply sums of 12", NULL, LLMCOST_EPROTO,
	    "query_reply: total: 12 elements, want at least 13",
	    pk_qreply_short_sums },
	{ "query_reply cost of 8 bytes", NULL, LLMCOST_EPROTO,
	    "query_reply: total: want bin of 16 bytes", pk_qreply_cost8 },
	{ "query_reply rows on a failure", NULL, LLMCOST_EPROTO,
	    "query_reply: rows with a failed status", pk_qreply_failed_rows },
	{ "query_reply 8193 rows", NULL, LLMCOST_ETOOBIG,
	    "query_reply: rows: 8193 elements exceeds 8192",
	    pk_qreply_many_rows },
	{ "query_reply row bucket \"x\"", NULL, LLMCOST_EPROTO,
	    "query_reply: row 0: want integer, got str", pk_qreply_bad_row },

	// The v1 extension keys 9-11.
	{ "fees of 17 entries", NULL, LLMCOST_ETOOBIG,
	    "record 0: fees: 17 entries exceeds 16", NULL, 0, 9,
	    "dc 0011 0101010101010101010101010101010101" },
	{ "fees [\"5\"]", NULL, LLMCOST_EPROTO,
	    "record 0: fees[0]: want unsigned integer, got str", NULL, 0, 9,
	    "91 a1 35" },
	{ "fees as a map", NULL, LLMCOST_EPROTO,
	    "record 0: fees: want array of unsigned integers, got map", NULL,
	    0, 9, "80" },
	{ "provider_cost 2^63", NULL, LLMCOST_EPROTO,
	    "record 0: provider_cost: 9223372036854775808 out of range", NULL,
	    0, 10, "cf 8000000000000000" },
	{ "provider_cost -1", NULL, LLMCOST_EPROTO,
	    "record 0: provider_cost: want unsigned integer, got negative",
	    NULL, 0, 10, "ff" },
	{ "usage_flags 2^32", NULL, LLMCOST_EPROTO,
	    "record 0: usage_flags: 4294967296 out of range", NULL, 0, 11,
	    "cf 0000000100000000" },
};

static void
test_reject_messages(void **state)
{
	(void) state;
	for (size_t i = 0; i < N_OF(reject_cases); i++) {
		const reject_case *c = &reject_cases[i];
		raw r;

		raw_init(&r);
		if (c->hex != NULL) {
			pk_hex(&r.pk, c->hex);
		}
		if (c->pack != NULL) {
			c->pack(&r.pk);
		}
		if (c->ext_hex != NULL) {
			pk_ext(&r.pk, c->ext_key, c->ext_hex);
		}
		pk_zeros(&r.pk, c->zeros);
		expect_reject_exact(
		    r.sb.data, r.sb.size, c->code, c->sub, c->name);
		raw_fini(&r);
	}
}

static void
test_reject_every_prefix(void **state)
{
	size_t len;
	uint8_t *buf = hex_bytes(GOLDEN_BATCH, &len);
	llmcost_proto_msg m;
	char what[64];

	(void) state;
	for (size_t n = 0; n < len; n++) {
		(void) snprintf(what, sizeof(what), "first %zu bytes", n);
		expect_reject_exact(buf, n, LLMCOST_EPROTO,
		    n == 0 ? "empty message" : "truncated message", what);
	}
	decode_ok(buf, len, &m);
	llmcost_proto_msg_free(&m);
	free(buf);
}

// Decodes buf[0..len) (copied to an allocation of exactly len bytes)
// with llmcost_proto_decode, which takes a batch (BATCH or TBATCH) in
// one pass when it can, and with llmcost__proto_decode_steps (the skim,
// then the cursor): both must give the same result, reason and records,
// usage entries past the known buckets included.  Returns the result.
static int
decode_both_ways(const uint8_t *buf, size_t len, const char *what)
{
	uint8_t *p = malloc(len > 0 ? len : 1);
	llmcost_proto_msg m1, m2;
	char r1[256], r2[256];

	assert_non_null(p);
	memcpy(p, buf, len);
	int rv1 = llmcost_proto_decode(p, len, &m1, r1, sizeof(r1));
	int rv2 = llmcost__proto_decode_steps(p, len, &m2, r2, sizeof(r2));
	if (rv1 != rv2 || strcmp(r1, r2) != 0) {
		fail_msg("%s: one pass %s \"%s\", two steps %s \"%s\"", what,
		    llmcost_err_name(rv1), r1, llmcost_err_name(rv2), r2);
	}
	if (rv1 == 0) {
		assert_int_equal(m1.type, m2.type);
		if (m1.type == LLMCOST_MSG_BATCH
		    || m1.type == LLMCOST_MSG_TBATCH) {
			const llmcost_proto_batch *a = &m1.u.batch;
			const llmcost_proto_batch *b = &m2.u.batch;
			assert_memory_equal(a->client_id, b->client_id, 16);
			assert_true(a->seq == b->seq);
			assert_true(a->dropped == b->dropped);
			assert_true(a->exporter_lost == b->exporter_lost);
			assert_int_equal(a->n_records, b->n_records);
			for (uint32_t i = 0; i < a->n_records; i++) {
				const llmcost_proto_record *x = &a->records[i];
				const llmcost_proto_record *y = &b->records[i];
				assert_record_eq(x, y);
				// Usage entries past the known buckets too.
				assert_int_equal(
				    x->n_usage_extra, y->n_usage_extra);
				assert_memory_equal(x->usage_extra,
				    y->usage_extra, sizeof(x->usage_extra));
			}
		}
	}
	llmcost_proto_msg_free(&m1);
	llmcost_proto_msg_free(&m2);
	free(p);
	return (rv1);
}

// The one-pass batch decoder against the two steps, on every prefix of
// the golden batches, every byte of them replaced by bytes that change
// a header's type or length, and with a byte appended: the same outcome
// each time, and both accepting and refusing occur.
static void
test_one_pass_matches_steps(void **state)
{
	static const uint8_t subst[] = { 0x00, 0x01, 0x0f, 0x7f, 0x80, 0x81,
		0x90, 0x9f, 0xa0, 0xa1, 0xbf, 0xc0, 0xc1, 0xc4, 0xcc, 0xcf,
		0xd0, 0xd9, 0xdc, 0xde, 0xdf, 0xe0, 0xff };
	const char *const golden[] = { GOLDEN_BATCH, GOLDEN_SCOPED };
	unsigned accepted = 0, refused = 0;
	char what[96];

	(void) state;
	for (size_t g = 0; g < sizeof(golden) / sizeof(golden[0]); g++) {
		size_t len;
		uint8_t *buf = hex_bytes(golden[g], &len);
		uint8_t *more = malloc(len + 1);

		assert_non_null(more);
		for (size_t n = 0; n <= len; n++) {
			(void) snprintf(what, sizeof(what),
			    "golden %zu: first "
			    "%zu bytes",
			    g, n);
			if (decode_both_ways(buf, n, what) == 0) {
				accepted++;
			} else {
				refused++;
			}
		}
		for (size_t i = 0; i < len; i++) {
			for (size_t k = 0; k < sizeof(subst); k++) {
				uint8_t was = buf[i];
				if (was == subst[k]) {
					continue;
				}
				buf[i] = subst[k];
				(void) snprintf(what, sizeof(what),
				    "golden %zu: byte %zu 0x%02x", g, i,
				    subst[k]);
				if (decode_both_ways(buf, len, what) == 0) {
					accepted++;
				} else {
					refused++;
				}
				buf[i] = was;
			}
		}
		memcpy(more, buf, len);
		more[len] = 0x00;
		(void) snprintf(what, sizeof(what), "golden %zu: trailing", g);
		assert_int_not_equal(decode_both_ways(more, len + 1, what), 0);
		free(more);
		// As a 7-element batch, element 6 (exporter_lost) appended:
		// an unsigned integer, other values skipped, invalid bytes.
		static const uint8_t el6[][3] = { { 1, 0x05 },
			{ 2, 0xa1, 'x' }, { 1, 0xc1 }, { 2, 0x91, 0xc1 },
			{ 2, 0x91, 0x01 }, { 2, 0xcd, 0x01 } };
		more = malloc(len + 2);
		assert_non_null(more);
		for (size_t k = 0; k < sizeof(el6) / sizeof(el6[0]); k++) {
			memcpy(more, buf, len);
			more[0] = 0x97;
			memcpy(more + len, el6[k] + 1, el6[k][0]);
			(void) snprintf(what, sizeof(what),
			    "golden %zu: element 6 #%zu", g, k);
			if (decode_both_ways(more, len + el6[k][0], what)
			    == 0) {
				accepted++;
			} else {
				refused++;
			}
		}
		free(more);
		free(buf);
	}
	assert_true(accepted > 0);
	assert_true(refused > 0);
}

static void
test_reject_null_arguments(void **state)
{
	static const uint8_t c1[] = { 0xc1 };

	(void) state;
	expect_reject(NULL, 0, LLMCOST_EPROTO, "empty message", "NULL buffer");
	LLMCOST_FAIL(
	    llmcost_proto_decode(c1, 1, NULL, NULL, 0), LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_proto_decode(NULL, 3, &(llmcost_proto_msg) { 0 }, NULL, 0),
	    LLMCOST_EINVAL);
}

// ---- record rejections ---------------------------------------------------

// Values too long to write out as hex, each after its key.

static void
ex_provider_long(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 3);
	pk_fill(pk, 'p', LLMCOST_MAX_PROVIDER + 1);
}
static void
ex_model_long(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 4);
	pk_fill(pk, 'm', 300);
}
static void
ex_meta_33(msgpack_packer *pk)
{
	char key[8];
	msgpack_pack_uint64(pk, 7);
	msgpack_pack_map(pk, 33);
	for (int i = 0; i < 33; i++) {
		(void) snprintf(key, sizeof(key), "k%d", i);
		pk_str(pk, key);
		pk_str(pk, "v");
	}
}
static void
ex_meta_key_long(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 7);
	msgpack_pack_map(pk, 1);
	pk_fill(pk, 'k', LLMCOST_MAX_KEY + 1);
	pk_str(pk, "v");
}
static void
ex_meta_val_long(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 7);
	msgpack_pack_map(pk, 1);
	pk_str(pk, "feature");
	pk_fill(pk, 'v', LLMCOST_MAX_VALUE + 1);
}
static void
ex_tags_33(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 8);
	msgpack_pack_array(pk, 33);
	for (int i = 0; i < 33; i++) {
		pk_str(pk, "t");
	}
}
static void
ex_tag_long(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 8);
	msgpack_pack_array(pk, 2);
	pk_str(pk, "ok");
	pk_fill(pk, 't', LLMCOST_MAX_TAG + 1);
}
// Keys 9..67, each with nil.
static void
ex_65_keys(msgpack_packer *pk)
{
	for (int i = 0; i < 59; i++) {
		msgpack_pack_uint64(pk, (uint64_t) (9 + i));
		msgpack_pack_nil(pk);
	}
}

// A record the decoder must refuse: the valid record of pk_record minus
// the keys in skip, then n_extra key/value pairs, given as hex or written
// by pack.  It is sent as the second record of a batch, so the reason
// must be "record 1: " and sub.
typedef struct record_case {
	const char *name;
	unsigned skip;
	uint32_t n_extra;
	const char *hex;
	int code;
	const char *sub;
	extra_fn pack;
} record_case;

// Hex of the str "feature".
#define FEATURE_HEX "a7 66656174757265"

static const record_case record_cases[] = {
	// Fields of the wrong type, size or value.
	{ "run_id as str", SKIP(0), 1, "00 b0 " RID0_HEX, LLMCOST_EPROTO,
	    "run_id: want bin of 16 bytes, got str" },
	{ "run_id of 17 bytes", SKIP(0), 1,
	    "00 c4 11 01 00000000000000000000000000000000", LLMCOST_EPROTO,
	    "run_id: want bin of 16 bytes, got 17 bytes" },
	{ "run_id of zeros", SKIP(0), 1,
	    "00 c4 10 00000000000000000000000000000000", LLMCOST_EPROTO,
	    "run_id: all zero" },
	{ "start_ns -5", SKIP(1), 1, "01 fb", LLMCOST_EPROTO,
	    "start_ns: want unsigned integer, got negative integer" },
	{ "start_ns 0", SKIP(1), 1, "01 00", LLMCOST_EPROTO,
	    "start_ns: zero" },
	{ "duration_ns 1.5", SKIP(2), 1, "02 cb 3ff8000000000000",
	    LLMCOST_EPROTO, "duration_ns: want unsigned integer, got float" },
	{ "duration_ns \"12\"", SKIP(2), 1, "02 a2 3132", LLMCOST_EPROTO,
	    "duration_ns: want unsigned integer, got str" },
	{ "provider of 65 bytes", SKIP(3), 1, NULL, LLMCOST_ETOOBIG,
	    "provider: 65 bytes exceeds 64", ex_provider_long },
	{ "provider \"\"", SKIP(3), 1, "03 a0", LLMCOST_EPROTO,
	    "provider: empty" },
	{ "provider \"open\\xc0\\x80i\"", SKIP(3), 1, "03 a7 6f70656ec08069",
	    LLMCOST_EPROTO, "provider: invalid UTF-8" },
	{ "provider as bin", SKIP(3), 1, "03 c4 06 6f70656e6169",
	    LLMCOST_EPROTO, "provider: want str, got bin" },
	{ "model of 300 bytes", SKIP(4), 1, NULL, LLMCOST_ETOOBIG,
	    "model: 300 bytes exceeds 256", ex_model_long },
	{ "model \"gpt\\xed\\xa0\\x80\"", SKIP(4), 1, "04 a6 677074eda080",
	    LLMCOST_EPROTO, "model: invalid UTF-8" },
	{ "usage of 9", SKIP(5), 1, "05 99 010101010101010101", LLMCOST_EPROTO,
	    "usage: want array of 10 to 64 unsigned integers, got 9 "
	    "elements" },
	{ "usage[4] -1", SKIP(5), 1, "05 9a 01010101ff0101010101",
	    LLMCOST_EPROTO,
	    "usage[4]: want unsigned integer, got negative integer" },
	{ "usage[11] \"x\", past the known buckets", SKIP(5), 1,
	    "05 9c 010101010101010101 01 01 a1 78", LLMCOST_EPROTO,
	    "usage[11]: want unsigned integer, got str" },
	{ "usage[10] -1, past the known buckets", SKIP(5), 1,
	    "05 9b 010101010101010101 01 ff", LLMCOST_EPROTO,
	    "usage[10]: want unsigned integer, got negative integer" },
	{ "usage as a map", SKIP(5), 1, "05 80", LLMCOST_EPROTO,
	    "usage: want array of 10 to 64 unsigned integers, got map" },
	{ "status 3", 0, 1, "06 03", LLMCOST_EPROTO,
	    "status: 3 out of range 0..2" },
	{ "status true", 0, 1, "06 c3", LLMCOST_EPROTO,
	    "status: want unsigned integer, got boolean" },

	// Metadata and tags.
	{ "33 meta entries", 0, 1, NULL, LLMCOST_ETOOBIG,
	    "meta: 33 entries exceeds 32", ex_meta_33 },
	{ "meta key of 65 bytes", 0, 1, NULL, LLMCOST_ETOOBIG,
	    "meta: key 0: 65 bytes exceeds 64", ex_meta_key_long },
	{ "meta key \"\"", 0, 1, "07 81 a0 a1 76", LLMCOST_EPROTO,
	    "meta: key 0: empty" },
	{ "meta key \"fe\\xf4\\x90\\x80\\x80\" second", 0, 1,
	    "07 82 a3 656e76 a4 70726f64 a6 6665f4908080 a1 76",
	    LLMCOST_EPROTO, "meta: key 1: invalid UTF-8" },
	{ "meta key 1", 0, 1, "07 81 01 a1 76", LLMCOST_EPROTO,
	    "meta: key 0: want str, got unsigned integer" },
	{ "meta value of 257 bytes", 0, 1, NULL, LLMCOST_ETOOBIG,
	    "meta: value of key \"feature\": 257 bytes exceeds 256",
	    ex_meta_val_long },
	{ "meta value \"rag\\xe2\\x82\"", 0, 1,
	    "07 81 " FEATURE_HEX " a5 726167e282", LLMCOST_EPROTO,
	    "meta: invalid UTF-8 in value of key \"feature\"" },
	{ "meta value nil", 0, 1, "07 81 " FEATURE_HEX " c0", LLMCOST_EPROTO,
	    "meta: value of key \"feature\": want str, got nil" },
	{ "meta key \"feature\" twice", 0, 1,
	    "07 83 " FEATURE_HEX " a1 61 a3 656e76 a1 62 " FEATURE_HEX
	    " a1 63",
	    LLMCOST_EPROTO, "meta: duplicate key \"feature\"" },
	{ "meta as an array", 0, 1, "07 90", LLMCOST_EPROTO,
	    "meta: want map, got array" },
	{ "33 tags", 0, 1, NULL, LLMCOST_ETOOBIG,
	    "tags: 33 entries exceeds 32", ex_tags_33 },
	{ "second tag of 129 bytes", 0, 1, NULL, LLMCOST_ETOOBIG,
	    "tags[1]: 129 bytes exceeds 128", ex_tag_long },
	{ "tag \"\"", 0, 1, "08 91 a0", LLMCOST_EPROTO, "tags[0]: empty" },
	{ "tag \"\\x80\"", 0, 1, "08 91 a1 80", LLMCOST_EPROTO,
	    "tags[0]: invalid UTF-8" },
	{ "tag 5", 0, 1, "08 91 05", LLMCOST_EPROTO,
	    "tags[0]: want str, got unsigned integer" },
	{ "tags as a str", 0, 1, "08 a4 62657461", LLMCOST_EPROTO,
	    "tags: want array, got str" },

	// Keys.
	{ "model twice", 0, 1, "04 ab 6770742d346f2d6d696e69", LLMCOST_EPROTO,
	    "duplicate key 4 (model)" },
	{ "key 64", 0, 1, "40 c0", LLMCOST_EPROTO, "unknown key 64" },
	{ "key -1", 0, 1, "ff c0", LLMCOST_EPROTO, "negative key -1" },
	// Signed encodings: negative values are negative, others unsigned.
	{ "key -300 as int 16", 0, 1, "d1 fed4 c0", LLMCOST_EPROTO,
	    "negative key -300" },
	{ "model twice, the second key as int 8", 0, 1,
	    "d0 04 ab 6770742d346f2d6d696e69", LLMCOST_EPROTO,
	    "duplicate key 4 (model)" },
	{ "status -1 as int 64", 0, 1, "06 d3 ffffffffffffffff",
	    LLMCOST_EPROTO,
	    "status: want unsigned integer, got negative integer" },
	{ "key \"model\"", SKIP(4), 1, "a5 6d6f64656c a6 6770742d346f",
	    LLMCOST_EPROTO, "key: want unsigned integer, got str" },
	{ "key 4.0", SKIP(4), 1, "cb 4010000000000000 a6 6770742d346f",
	    LLMCOST_EPROTO, "key: want unsigned integer, got float" },
	{ "65 keys", 0, 59, NULL, LLMCOST_ETOOBIG, "65 keys exceeds 64",
	    ex_65_keys },
	{ "no run_id", SKIP(0), 0, NULL, LLMCOST_EPROTO,
	    "missing run_id (key 0)" },
	{ "no start_ns", SKIP(1), 0, NULL, LLMCOST_EPROTO,
	    "missing start_ns" },
	{ "no duration_ns", SKIP(2), 0, NULL, LLMCOST_EPROTO,
	    "missing duration_ns" },
	{ "no provider", SKIP(3), 0, NULL, LLMCOST_EPROTO,
	    "missing provider" },
	{ "no model", SKIP(4), 0, NULL, LLMCOST_EPROTO,
	    "missing model (key 4)" },
	{ "no usage", SKIP(5), 0, NULL, LLMCOST_EPROTO, "missing usage" },
};

static void
test_reject_records(void **state)
{
	char want[256];

	(void) state;
	for (size_t i = 0; i < N_OF(record_cases); i++) {
		const record_case *c = &record_cases[i];
		raw r;

		raw_init(&r);
		pk_batch_head(&r.pk, 2);
		pk_record(&r.pk, 0, 0, NULL);
		pk_record(&r.pk, c->skip, c->n_extra, c->pack);
		if (c->hex != NULL) {
			pk_hex(&r.pk, c->hex);
		}
		(void) snprintf(want, sizeof(want), "record 1: %s", c->sub);
		expect_reject_exact(
		    r.sb.data, r.sb.size, c->code, want, c->name);
		raw_fini(&r);
	}
}

// ---- accepted ------------------------------------------------------------
// Element 6 of a batch, exporter_lost: written after the records by
// llmcost_proto_enc_batch_lost, read back; absent means 0.
static void
test_batch_exporter_lost(void **state)
{
	llmcost_proto_enc e;
	llmcost_proto_buf b = { 0 };
	llmcost_proto_msg m;
	llmcost_proto_record r;
	char reason[256];

	(void) state;
	memset(&r, 0, sizeof(r));
	memcpy(r.run_id, CID, 16);
	r.start_ns = 1;
	r.provider.ptr = "openai";
	r.provider.len = 6;
	r.model.ptr = "gpt-4o";
	r.model.len = 6;
	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, &b, 0);
	LLMCOST_PASS(llmcost_proto_enc_batch_header_lost(&e, CID, 4, 2, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&e, &r));
	LLMCOST_PASS(llmcost_proto_enc_batch_lost(&e, 42));
	LLMCOST_PASS(
	    llmcost_proto_decode(b.data, b.len, &m, reason, sizeof(reason)));
	assert_int_equal(m.u.batch.n_records, 1);
	assert_int_equal(m.u.batch.dropped, 2);
	assert_int_equal(m.u.batch.exporter_lost, 42);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&b);

	memset(&b, 0, sizeof(b));
	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, &b, 0);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&e, CID, 5, 2, 0));
	LLMCOST_PASS(
	    llmcost_proto_decode(b.data, b.len, &m, reason, sizeof(reason)));
	assert_int_equal(m.u.batch.exporter_lost, 0);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&b);
}

static void
test_accept_forward_compat(void **state)
{
	raw r;
	llmcost_proto_msg m;

	(void) state;
	// A batch with two extra trailing elements.
	raw_init(&r);
	pk_batch_head_n(&r.pk, 1, 8);
	pk_record(&r.pk, 0, 0, NULL);
	msgpack_pack_nil(&r.pk);
	pk_str(&r.pk, "future");
	decode_ok(r.sb.data, r.sb.size, &m);
	assert_int_equal(m.u.batch.n_records, 1);
	assert_str(m.u.batch.records[0].model, "gpt-4o");
	assert_int_equal(m.u.batch.exporter_lost, 0); // not a uint: skipped
	llmcost_proto_msg_free(&m);
	raw_fini(&r);

	// STATS_REQ with an extra element.
	raw_init(&r);
	msgpack_pack_array(&r.pk, 3);
	msgpack_pack_uint64(&r.pk, 1);
	msgpack_pack_uint64(&r.pk, 3);
	msgpack_pack_map(&r.pk, 0);
	decode_ok(r.sb.data, r.sb.size, &m);
	assert_int_equal(m.type, LLMCOST_MSG_STATS_REQ);
	llmcost_proto_msg_free(&m);
	raw_fini(&r);

	// Unsigned values in signed and wider encodings are accepted.
	raw_init(&r);
	msgpack_pack_array(&r.pk, 6);
	msgpack_pack_uint64(&r.pk, 1);
	msgpack_pack_int8(&r.pk, 1);
	pk_bin(&r.pk, CID, 16);
	msgpack_pack_fix_uint64(&r.pk, 7);
	msgpack_pack_fix_int32(&r.pk, 3);
	msgpack_pack_array(&r.pk, 0);
	decode_ok(r.sb.data, r.sb.size, &m);
	assert_int_equal(m.u.batch.seq, 7);
	assert_int_equal(m.u.batch.dropped, 3);
	llmcost_proto_msg_free(&m);
	raw_fini(&r);
}

// Keys 17..63 carry any well-formed value and are skipped.
static void
ex_reserved(msgpack_packer *pk)
{
	msgpack_pack_uint64(pk, 17);
	msgpack_pack_map(pk, 2);
	pk_str(pk, "nested");
	msgpack_pack_array(pk, 2);
	msgpack_pack_double(pk, 1.25);
	msgpack_pack_int64(pk, -7);
	msgpack_pack_nil(pk);
	pk_bin(pk, "x", 1);
	msgpack_pack_uint64(pk, 63);
	msgpack_pack_ext(pk, 5, 1);
	msgpack_pack_ext_body(pk, "hello", 5);
	msgpack_pack_uint64(pk, 40);
	pk_str(pk, "\xff not even UTF-8");
}

static void
test_accept_reserved_keys(void **state)
{
	raw r;
	llmcost_proto_msg m;

	(void) state;
	decode_one_record(&r, 0, 3, ex_reserved, &m);
	assert_int_equal(m.u.batch.n_records, 1);
	assert_str(m.u.batch.records[0].provider, "openai");
	assert_str(m.u.batch.records[0].model, "gpt-4o");
	assert_int_equal(m.u.batch.records[0].duration_ns, 42);
	assert_int_equal(m.u.batch.records[0].usage[9], 9);
	assert_int_equal(m.u.batch.records[0].n_meta, 0);
	llmcost_proto_msg_free(&m);
	raw_fini(&r);
}

// ---- the record key table ------------------------------------------------

// The rows of LLMCOST_PROTO_RKEY_MAP, for the tests below.
typedef struct rkey {
	unsigned num;
	const char *name;
	int required;
	const char *type;
} rkey;

static const rkey rkeys[] = {
#define RKEY_ROW(name, num, id, req, type) { num, #id, req, type },
	LLMCOST_PROTO_RKEY_MAP(RKEY_ROW)
#undef RKEY_ROW
};

// Writes a valid value for key k.  A new row in the table needs a case
// here, or every test that walks the table fails.
static void
pk_valid_value(msgpack_packer *pk, unsigned k)
{
	switch (k) {
	case LLMCOST_RK_RUN_ID:
		pk_bin(pk, RID0, 16);
		break;
	case LLMCOST_RK_START_NS:
		msgpack_pack_uint64(pk, UINT64_C(1700000000000000000));
		break;
	case LLMCOST_RK_DURATION_NS:
		msgpack_pack_uint64(pk, 42);
		break;
	case LLMCOST_RK_PROVIDER:
		pk_str(pk, "openai");
		break;
	case LLMCOST_RK_MODEL:
		pk_str(pk, "gpt-4o");
		break;
	case LLMCOST_RK_USAGE:
		msgpack_pack_array(pk, LLMCOST_BUCKET_COUNT);
		for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
			msgpack_pack_uint64(pk, 0);
		}
		break;
	case LLMCOST_RK_STATUS:
		msgpack_pack_uint64(pk, LLMCOST_STATUS_ERROR);
		break;
	case LLMCOST_RK_META:
		msgpack_pack_map(pk, 1);
		pk_str(pk, "feature");
		pk_str(pk, "rag-search");
		break;
	case LLMCOST_RK_TAGS:
		msgpack_pack_array(pk, 1);
		pk_str(pk, "beta");
		break;
	case LLMCOST_RK_FEES:
		msgpack_pack_array(pk, 1);
		msgpack_pack_uint64(pk, 2);
		break;
	case LLMCOST_RK_PROVIDER_COST:
		msgpack_pack_uint64(pk, UINT64_C(9323400000));
		break;
	case LLMCOST_RK_USAGE_FLAGS:
		msgpack_pack_uint64(pk, LLMCOST_USAGE_PARTIAL);
		break;
	case LLMCOST_RK_TRACE_ID:
	case LLMCOST_RK_PARENT_RUN_ID:
		pk_bin(pk, RID1, 16);
		break;
	case LLMCOST_RK_DOTTED_ORDER:
		pk_str(pk, SCOPED_DOTTED);
		break;
	case LLMCOST_RK_SERVICE_TIER:
		msgpack_pack_uint64(pk, LLMCOST_TIER_FLEX);
		break;
	case LLMCOST_RK_PLATFORM:
		pk_str(pk, "bedrock");
		break;
	default:
		fail_msg("key %u: no valid value in pk_valid_value", k);
	}
}

#define NO_KEY 1000u

// A batch of two records: a valid one, then one with every key of the
// table except skip, with nil_key's value nil and dup written twice
// (NO_KEY for none).
static void
pk_keys_batch(raw *r, unsigned skip, unsigned nil_key, unsigned dup)
{
	uint32_t n = 0;

	raw_init(r);
	pk_batch_head(&r->pk, 2);
	pk_record(&r->pk, 0, 0, NULL);
	for (unsigned k = 0; k < LLMCOST_RK_COUNT; k++) {
		n += (k != skip) + (k == dup);
	}
	msgpack_pack_map(&r->pk, n);
	for (unsigned k = 0; k < LLMCOST_RK_COUNT; k++) {
		if (k == skip) {
			continue;
		}
		msgpack_pack_uint64(&r->pk, k);
		if (k == nil_key) {
			msgpack_pack_nil(&r->pk);
		} else {
			pk_valid_value(&r->pk, k);
		}
		if (k == dup) {
			msgpack_pack_uint64(&r->pk, k);
			pk_valid_value(&r->pk, k);
		}
	}
}

// The table is well formed, and the decoder does for every key what the
// table says: a required key may not be missing, an optional one may, no
// key may appear twice, and a value of the wrong type is refused with a
// reason that names the field as the table does.
static void
test_record_keys_table(void **state)
{
	char want[256];
	char what[128];
	raw r;
	llmcost_proto_msg m;

	(void) state;
	assert_int_equal(N_OF(rkeys), LLMCOST_RK_COUNT);
	for (unsigned i = 0; i < N_OF(rkeys); i++) {
		// Contiguous from 0, in order, so the first reserved key is
		// LLMCOST_RK_COUNT.
		assert_int_equal(rkeys[i].num, i);
		assert_true(strlen(rkeys[i].name) > 0);
		assert_true(strlen(rkeys[i].type) > 0);
		assert_true(rkeys[i].required == 0 || rkeys[i].required == 1);
		for (unsigned j = 0; j < i; j++) {
			assert_string_not_equal(rkeys[i].name, rkeys[j].name);
		}
	}
	assert_true(LLMCOST_RK_COUNT <= LLMCOST_RK_RESERVED_MAX);

	// Every key with a valid value: accepted.
	pk_keys_batch(&r, NO_KEY, NO_KEY, NO_KEY);
	decode_ok(r.sb.data, r.sb.size, &m);
	assert_int_equal(m.u.batch.n_records, 2);
	assert_int_equal(m.u.batch.records[1].status, LLMCOST_STATUS_ERROR);
	assert_int_equal(m.u.batch.records[1].n_meta, 1);
	assert_int_equal(m.u.batch.records[1].n_tags, 1);
	llmcost_proto_msg_free(&m);
	raw_fini(&r);

	for (unsigned k = 0; k < LLMCOST_RK_COUNT; k++) {
		const rkey *rk = &rkeys[k];

		pk_keys_batch(&r, k, NO_KEY, NO_KEY);
		if (rk->required) {
			(void) snprintf(want, sizeof(want),
			    "record 1: missing %s (key %u)", rk->name, k);
			(void) snprintf(what, sizeof(what), "no %s", rk->name);
			expect_reject_exact(
			    r.sb.data, r.sb.size, LLMCOST_EPROTO, want, what);
		} else {
			decode_ok(r.sb.data, r.sb.size, &m);
			llmcost_proto_msg_free(&m);
		}
		raw_fini(&r);

		pk_keys_batch(&r, NO_KEY, k, NO_KEY);
		(void) snprintf(what, sizeof(what), "%s nil", rk->name);
		(void) snprintf(want, sizeof(want), "record 1: %s", rk->name);
		expect_reject_exact(
		    r.sb.data, r.sb.size, LLMCOST_EPROTO, want, what);
		expect_reject_exact(
		    r.sb.data, r.sb.size, LLMCOST_EPROTO, ", got nil", what);
		raw_fini(&r);

		pk_keys_batch(&r, NO_KEY, NO_KEY, k);
		(void) snprintf(what, sizeof(what), "%s twice", rk->name);
		(void) snprintf(want, sizeof(want),
		    "record 1: duplicate key %u (%s)", k, rk->name);
		expect_reject_exact(
		    r.sb.data, r.sb.size, LLMCOST_EPROTO, want, what);
		raw_fini(&r);
	}
}

// Reads a file of the source tree (LLMCOST_SOURCE_DIR, which ctest sets)
// into a NUL-terminated malloc'd buffer.
static char *
read_source_file(const char *rel)
{
	const char *src = getenv("LLMCOST_SOURCE_DIR");
	char path[1024];
	char *buf;
	size_t n;
	FILE *f;

	if (src == NULL || *src == '\0') {
		fail_msg(
		    "LLMCOST_SOURCE_DIR is not set (run this test through "
		    "ctest, or set it to the source tree)");
	}
	(void) snprintf(path, sizeof(path), "%s/%s", src, rel);
	if ((f = fopen(path, "rb")) == NULL) {
		fail_msg("cannot open %s", path);
	}
	buf = malloc(1 << 20);
	assert_non_null(buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	assert_true(feof(f)); // the whole file, under 1 MiB
	(void) fclose(f);
	buf[n] = '\0';
	return (buf);
}

// proto/README.md documents every record key of the table, with the same
// number, name, msgpack type and "yes"/"no" for required, and documents
// no numbered key the table does not have.
static void
test_record_keys_documented(void **state)
{
	char *doc = read_source_file("proto/README.md");
	char *sec;
	char *end;
	char row[256];
	unsigned rows = 0;

	(void) state;
	if ((sec = strstr(doc, "\n### Record\n")) == NULL) {
		fail_msg("proto/README.md has no \"### Record\" section");
	}
	if ((end = strstr(sec + 1, "\n#")) != NULL) {
		*end = '\0'; // the section ends at the next heading
	}
	for (unsigned k = 0; k < N_OF(rkeys); k++) {
		(void) snprintf(row, sizeof(row), "\n| %u | %s | %s | %s",
		    rkeys[k].num, rkeys[k].name, rkeys[k].type,
		    rkeys[k].required ? "yes" : "no");
		if (strstr(sec, row) == NULL) {
			fail_msg("proto/README.md, \"### Record\": no row "
			         "starting \"%s\"",
			    row + 1);
		}
	}
	// Rows whose first cell is a plain number document one key each.
	for (char *p = sec; (p = strstr(p, "\n| ")) != NULL; p++) {
		char *q = p + 3;
		unsigned long num;

		if (*q < '0' || *q > '9') {
			continue;
		}
		num = strtoul(q, &q, 10);
		if (strncmp(q, " | ", 3) != 0) {
			continue; // a range such as "15 … 63"
		}
		if (num >= LLMCOST_RK_COUNT) {
			fail_msg("proto/README.md documents record key %lu, "
			         "which LLMCOST_PROTO_RKEY_MAP does not have",
			    num);
		}
		rows++;
	}
	assert_int_equal(rows, LLMCOST_RK_COUNT);
	free(doc);
}

static void
test_accept_ack_limits(void **state)
{
	raw r;
	char big[LLMCOST_PROTO_MAX_REASON];
	llmcost_proto_msg m;

	(void) state;
	// At the limits, and with an extra trailing element.
	memset(big, 'r', sizeof(big));
	raw_init(&r);
	pk_ack(&r.pk, 9, 2, UINT32_MAX, big, sizeof(big));
	decode_ok(r.sb.data, r.sb.size, &m);
	assert_int_equal(m.u.ack.status, LLMCOST_ACK_RETRY);
	assert_int_equal(m.u.ack.stored, UINT32_MAX);
	assert_int_equal(m.u.ack.reason.len, LLMCOST_PROTO_MAX_REASON);
	assert_inside(m.u.ack.reason, r.sb.data, r.sb.size);
	llmcost_proto_msg_free(&m);
	raw_fini(&r);
}
static void
test_reason_buffer(void **state)
{
	static const uint8_t v2[] = { 0x92, 0x02, 0x03 };
	char small[8];
	llmcost_proto_msg m;

	(void) state;
	memset(small, 'x', sizeof(small));
	LLMCOST_FAIL(
	    llmcost_proto_decode(v2, sizeof(v2), &m, small, sizeof(small)),
	    LLMCOST_EPROTO);
	assert_string_equal(small, "unsuppo"); // cut, but terminated
	LLMCOST_FAIL(
	    llmcost_proto_decode(v2, sizeof(v2), &m, NULL, 0), LLMCOST_EPROTO);
	LLMCOST_FAIL(llmcost_proto_decode(v2, sizeof(v2), &m, small, 0),
	    LLMCOST_EPROTO);
}

// ---- encoder -----------------------------------------------------------

static int
fail_write(void *arg, const char *buf, size_t len)
{
	(void) arg;
	(void) buf;
	(void) len;
	return (-1);
}

static void
valid_record(llmcost_proto_record *r)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->run_id, RID0, 16);
	r->start_ns = 1;
	r->provider = S("openai");
	r->model = S("gpt-4o");
}

static void
test_encode_limits(void **state)
{
	encbuf eb;
	llmcost_proto_enc e;
	llmcost_proto_record r;

	(void) state;
	// The byte limit: nothing past it reaches the callback, and the
	// error is sticky.
	memset(&eb, 0, sizeof(eb));
	llmcost_proto_enc_init(&eb.e, llmcost_proto_buf_write, &eb.b, 30);
	LLMCOST_FAIL(encode_golden_batch(&eb.e), LLMCOST_ETOOBIG);
	assert_true(eb.b.len <= 30);
	assert_int_equal(eb.e.written, eb.b.len);
	LLMCOST_FAIL(llmcost_proto_enc_stats_req(&eb.e), LLMCOST_ETOOBIG);
	llmcost_proto_buf_free(&eb.b);

	// A failing callback is ENOMEM.
	llmcost_proto_enc_init(&e, fail_write, NULL, 0);
	LLMCOST_FAIL(llmcost_proto_enc_stats_req(&e), LLMCOST_ENOMEM);
	LLMCOST_FAIL(llmcost_proto_enc_stats_req(&e), LLMCOST_ENOMEM);

	// So is a full buffer (its own cap is below the encoder's limit).
	memset(&eb, 0, sizeof(eb));
	eb.b.max = 16;
	llmcost_proto_enc_init(&eb.e, llmcost_proto_buf_write, &eb.b, 0);
	LLMCOST_FAIL(encode_golden_batch(&eb.e), LLMCOST_ENOMEM);
	assert_true(eb.b.len <= 16);
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_buf_free(NULL);

	// NULL arguments.
	LLMCOST_FAIL(llmcost_proto_enc_stats_req(NULL), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_proto_enc_record(NULL, NULL), LLMCOST_EINVAL);
	llmcost_proto_enc_init(&e, NULL, NULL, 0);
	LLMCOST_FAIL(llmcost_proto_enc_stats_req(&e), LLMCOST_EINVAL);

	valid_record(&r);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	llmcost_proto_buf_free(&eb.b);
}

// The encoder refuses what the decoder would refuse, before writing any
// byte of that record.
#define ENC_REJECT(mutate, code)                                              \
	do {                                                                  \
		encbuf eb_;                                                   \
		llmcost_proto_record r;                                       \
		valid_record(&r);                                             \
		mutate;                                                       \
		encbuf_init(&eb_);                                            \
		LLMCOST_FAIL(llmcost_proto_enc_record(&eb_.e, &r), (code));   \
		assert_int_equal(eb_.b.len, 0);                               \
		llmcost_proto_buf_free(&eb_.b);                               \
	} while (0)

static void
test_encode_validation(void **state)
{
	static char longp[LLMCOST_MAX_PROVIDER + 1];
	static char longt[LLMCOST_MAX_TAG + 1];
	llmcost_proto_kv dup[2]
	    = { { { "a", 1 }, { "x", 1 } }, { { "a", 1 }, { "y", 1 } } };
	llmcost_proto_kv bad[1] = { { { "a", 1 }, { "\xc0\xaf", 2 } } };
	llmcost_proto_kv nok[1] = { { { "", 0 }, { "x", 1 } } };
	llmcost_proto_str tag = { longt, sizeof(longt) };

	(void) state;
	memset(longp, 'p', sizeof(longp));
	memset(longt, 't', sizeof(longt));
	ENC_REJECT(memset(r.run_id, 0, 16), LLMCOST_EINVAL);
	ENC_REJECT(r.start_ns = 0, LLMCOST_EINVAL);
	ENC_REJECT(r.status = 3, LLMCOST_EINVAL);
	ENC_REJECT(r.provider = S(""), LLMCOST_EINVAL);
	ENC_REJECT(r.provider = ((llmcost_proto_str) { longp, sizeof(longp) }),
	    LLMCOST_ETOOBIG);
	ENC_REJECT(r.model = S("gpt\xed\xa0\x80"), LLMCOST_EUTF8);
	ENC_REJECT(
	    r.model = ((llmcost_proto_str) { NULL, 3 }), LLMCOST_EINVAL);
	ENC_REJECT((r.meta = dup, r.n_meta = 2), LLMCOST_EINVAL);
	ENC_REJECT((r.meta = bad, r.n_meta = 1), LLMCOST_EUTF8);
	ENC_REJECT((r.meta = nok, r.n_meta = 1), LLMCOST_EINVAL);
	ENC_REJECT((r.meta = dup, r.n_meta = 33), LLMCOST_ETOOBIG);
	ENC_REJECT((r.meta = NULL, r.n_meta = 1), LLMCOST_EINVAL);
	ENC_REJECT((r.tags = &tag, r.n_tags = 1), LLMCOST_ETOOBIG);
	ENC_REJECT((r.tags = &tag, r.n_tags = 33), LLMCOST_ETOOBIG);
}

// utf8_trusted skips the UTF-8 scan only: the record is written, every
// other check stays, and the decoder still refuses the bytes.
static void
test_encode_utf8_trusted(void **state)
{
	static const uint8_t cid[16] = { 1 };
	encbuf eb;
	llmcost_proto_record r;
	llmcost_proto_msg m;
	char reason[128];

	(void) state;
	valid_record(&r);
	r.model = S("gpt\xed\xa0\x80");
	encbuf_init(&eb);
	eb.e.utf8_trusted = 1;
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, cid, 1, 0, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	LLMCOST_FAIL(llmcost_proto_decode(
	                 eb.b.data, eb.b.len, &m, reason, sizeof(reason)),
	    LLMCOST_EPROTO);
	llmcost_proto_buf_free(&eb.b);

	valid_record(&r);
	r.provider = S("");
	encbuf_init(&eb);
	eb.e.utf8_trusted = 1;
	LLMCOST_FAIL(llmcost_proto_enc_record(&eb.e, &r), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
}

// Records with every field at its longest number and a value of every
// length from 0 to 300 bytes: from records the encoder writes in one go
// into its stage to records too large for it, which go piece by piece.
// Each decodes to what was encoded (and the sanitizers see any write
// past the stage).
static void
test_encode_record_sizes(void **state)
{
	static const uint8_t cid[16] = { 1 };
	static char val[301], key[LLMCOST_MAX_KEY], tagb[LLMCOST_MAX_TAG];
	llmcost_proto_kv kv[4];
	llmcost_proto_str tags[2];
	llmcost_proto_record r;
	llmcost_proto_msg m;
	char reason[128];

	(void) state;
	memset(val, 'v', sizeof(val));
	memset(key, 'k', sizeof(key));
	memset(tagb, 't', sizeof(tagb));
	for (uint32_t len = 0; len <= 300; len++) {
		valid_record(&r);
		r.start_ns = UINT64_MAX;
		r.duration_ns = UINT64_MAX - 1;
		r.status = LLMCOST_STATUS_ABORTED;
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			r.usage[b] = UINT64_MAX - (uint64_t) b;
		}
		for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
			r.fees[f] = UINT64_MAX - (uint64_t) f;
		}
		r.has_provider_cost = 1;
		r.provider_cost_pusd = INT64_MAX;
		r.usage_flags = UINT32_MAX;
		memset(r.trace_id, 0xab, 16);
		memset(r.parent_run_id, 0xcd, 16);
		r.dotted_order = S("20250101T000000000000Zabc");
		r.service_tier = UINT8_MAX;
		r.platform = S("vertex");
		kv[0].key = (llmcost_proto_str) { key, sizeof(key) };
		kv[0].val = (llmcost_proto_str) { val, len > 256 ? 256 : len };
		kv[1].key = S("env");
		kv[1].val = (llmcost_proto_str) { val, len / 2 };
		kv[2].key = S("a");
		kv[2].val = kv[0].val;
		kv[3].key = S("b");
		kv[3].val = kv[0].val;
		r.meta = kv;
		r.n_meta = 4;
		tags[0]
		    = (llmcost_proto_str) { tagb, 1 + len % LLMCOST_MAX_TAG };
		tags[1] = S("beta");
		r.tags = tags;
		r.n_tags = 2;

		encbuf eb;
		encbuf_init(&eb);
		LLMCOST_PASS(
		    llmcost_proto_enc_batch_header(&eb.e, cid, 1, 0, 2));
		LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
		LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
		LLMCOST_PASS(llmcost_proto_decode(
		    eb.b.data, eb.b.len, &m, reason, sizeof(reason)));
		assert_int_equal(m.u.batch.n_records, 2);
		for (int i = 0; i < 2; i++) {
			const llmcost_proto_record *d = &m.u.batch.records[i];
			assert_int_equal(d->start_ns, r.start_ns);
			assert_int_equal(d->duration_ns, r.duration_ns);
			assert_memory_equal(
			    d->usage, r.usage, sizeof(r.usage));
			assert_memory_equal(d->fees, r.fees, sizeof(r.fees));
			assert_int_equal(d->provider_cost_pusd, INT64_MAX);
			assert_int_equal(d->usage_flags, UINT32_MAX);
			assert_memory_equal(
			    d->parent_run_id, r.parent_run_id, 16);
			assert_int_equal(d->service_tier, UINT8_MAX);
			assert_int_equal(d->n_meta, 4);
			for (int j = 0; j < 4; j++) {
				assert_int_equal(
				    d->meta[j].val.len, kv[j].val.len);
				assert_memory_equal(
				    d->meta[j].val.ptr, val, kv[j].val.len);
			}
			assert_int_equal(d->n_tags, 2);
			assert_int_equal(d->tags[0].len, tags[0].len);
			assert_memory_equal(d->tags[1].ptr, "beta", 4);
			assert_int_equal(d->platform.len, 6);
		}
		llmcost_proto_msg_free(&m);
		llmcost_proto_buf_free(&eb.b);
	}
}

// Decodes a batch of one valid record whose meta value is v (written
// unchecked by a trusted encoder): the decoder's answer.
static int
decode_meta_value(const char *v, size_t len, llmcost_proto_str *got)
{
	static const uint8_t cid[16] = { 1 };
	llmcost_proto_kv kv = { S("feature"), { v, (uint32_t) len } };
	encbuf eb;
	llmcost_proto_record r;
	llmcost_proto_msg m;
	char reason[128] = "";

	valid_record(&r);
	r.meta = &kv;
	r.n_meta = 1;
	encbuf_init(&eb);
	eb.e.utf8_trusted = 1;
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, cid, 1, 0, 1));
	LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r));
	int rv = llmcost_proto_decode(
	    eb.b.data, eb.b.len, &m, reason, sizeof(reason));
	if (rv == 0) {
		const llmcost_proto_str *val
		    = &m.u.batch.records[0].meta[0].val;
		assert_true(val->len <= 32);
		memcpy((char *) got->ptr, val->ptr, val->len);
		got->len = val->len;
		llmcost_proto_msg_free(&m);
	} else {
		assert_string_equal(reason,
		    "record 0: meta: invalid UTF-8 in value of key "
		    "\"feature\"");
	}
	llmcost_proto_buf_free(&eb.b);
	return (rv);
}

// The decoder checks ASCII eight, four, two and one bytes at a time: one
// byte that is not ASCII is found at every offset of strings of 1 to 21
// bytes (in a word and in each part of the tail), a bad one refused and
// a good one kept.
static void
test_decode_utf8_every_offset(void **state)
{
	char v[21], out[32];
	llmcost_proto_str got = { out, 0 };

	(void) state;
	for (size_t n = 1; n <= sizeof(v); n++) {
		for (size_t i = 0; i < n; i++) {
			memset(v, 'a', sizeof(v));
			v[i] = (char) 0xff;
			LLMCOST_FAIL(
			    decode_meta_value(v, n, &got), LLMCOST_EPROTO);
			v[i] = (char) 0xc3; // a lead byte alone
			LLMCOST_FAIL(
			    decode_meta_value(v, n, &got), LLMCOST_EPROTO);
		}
		for (size_t i = 0; i + 1 < n; i++) {
			memset(v, 'a', sizeof(v));
			v[i] = (char) 0xc3; // U+00E9
			v[i + 1] = (char) 0xa9;
			LLMCOST_PASS(decode_meta_value(v, n, &got));
			assert_int_equal(got.len, n);
			assert_memory_equal(out, v, n);
		}
	}
}

static void
test_encode_stats_validation(void **state)
{
	encbuf eb;
	llmcost_proto_stats s;

	(void) state;
	stats_two(&s, S("a"), 0, S("a"), 0);
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_stats(&eb.e, &s), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);

	s.names[1] = S("");
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_stats(&eb.e, &s), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);

	s.n = LLMCOST_PROTO_MAX_STATS + 1;
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_stats(&eb.e, &s), LLMCOST_ETOOBIG);
	llmcost_proto_buf_free(&eb.b);

	s.n = 0;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_stats(&eb.e, &s));
	assert_bytes(eb.b.data, eb.b.len, "93 01 04 80");
	llmcost_proto_buf_free(&eb.b);
}

static void
test_encode_ack_reason(void **state)
{
	char src[400];
	size_t n = 0;
	encbuf eb;
	llmcost_proto_ack a;
	llmcost_proto_msg m;

	(void) state;
	// "ab" then 100 euro signs (3 bytes each): cut at 2 + 84 * 3 = 254
	// bytes, never inside a character.
	src[n++] = 'a';
	src[n++] = 'b';
	for (int i = 0; i < 100; i++) {
		memcpy(src + n, "\xe2\x82\xac", 3);
		n += 3;
	}
	memset(&a, 0, sizeof(a));
	a.status = LLMCOST_ACK_REJECTED;
	a.reason.ptr = src;
	a.reason.len = (uint32_t) n;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_ack(&eb.e, &a));
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.ack.status, LLMCOST_ACK_REJECTED);
	assert_int_equal(m.u.ack.reason.len, 254);
	assert_memory_equal(m.u.ack.reason.ptr, src, 254);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// Invalid bytes become '?' rather than failing the ACK.
	a.reason = S("bad \xff byte \xe2\x82");
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_ack(&eb.e, &a));
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_str(m.u.ack.reason, "bad ? byte ??");
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	// Status out of range.
	a.status = 3;
	encbuf_init(&eb);
	LLMCOST_FAIL(llmcost_proto_enc_ack(&eb.e, &a), LLMCOST_EINVAL);
	llmcost_proto_buf_free(&eb.b);
}

static void
test_buf_growth(void **state)
{
	llmcost_proto_buf b;
	char chunk[1000];

	(void) state;
	memset(&b, 0, sizeof(b));
	memset(chunk, 'c', sizeof(chunk));
	for (int i = 0; i < 100; i++) {
		assert_int_equal(
		    llmcost_proto_buf_write(&b, chunk, sizeof(chunk)), 0);
	}
	assert_int_equal(b.len, 100000);
	assert_true(b.cap >= b.len && b.cap <= LLMCOST_PROTO_MAX_MSG);
	llmcost_proto_buf_free(&b);
	assert_null(b.data);

	memset(&b, 0, sizeof(b));
	b.max = 100;
	assert_int_equal(llmcost_proto_buf_write(&b, chunk, 100), 0);
	assert_int_equal(llmcost_proto_buf_write(&b, chunk, 1), -1);
	assert_int_equal(b.len, 100);
	assert_true(b.cap <= 100);
	llmcost_proto_buf_free(&b);
}

// ---- TBATCH: the batch with a string table ------------------------------

// The golden batch's record 0, then a call that repeats its provider,
// model and feature: the second record's strings are indices only
// (proto/README.md, "TBATCH").
static const char GOLDEN_TBATCH[]
    = "98 01 09 c4 10 000102030405060708090a0b0c0d0e0f 07 03 02"
      " 97 a6 6f70656e6169 ab 6770742d346f2d6d696e69 a7 66656174757265"
      " aa 7261672d736561726368 a3 656e76 aa 70726f64756374696f6e"
      " a4 62657461"
      " 92"
      " 88 00 c4 10 018f3a2b4c5d7e6f8091a2b3c4d5e6f7"
      " 01 cf 17979cfe362a0000 02 ce 59682f00 03 00 04 01"
      " 05 9a cd04b0 cd012c 00 00 00 00 ccfa 00 00 00"
      " 07 82 02 03 04 05 08 91 06"
      " 87 00 c4 10 018f3a2b4c5d7e708091a2b3c4d5e6f8"
      " 01 cf 17979cfe71c4ca00 02 00 03 00 04 01"
      " 05 9a 00 00 00 00 00 00 00 00 00 00 07 81 02 03";

static void
tbatch_records(llmcost_proto_record r[2])
{
	static llmcost_proto_kv meta1[1];

	golden_record0(&r[0]);
	memset(&r[1], 0, sizeof(r[1]));
	memcpy(r[1].run_id, RID1, 16);
	r[1].start_ns = UINT64_C(1700000001000000000);
	r[1].provider = S("openai");
	r[1].model = S("gpt-4o-mini");
	meta1[0].key = S("feature");
	meta1[0].val = S("rag-search");
	r[1].meta = meta1;
	r[1].n_meta = 1;
}

// Encodes n records as a TBATCH (client CID, seq 7, 3 dropped, 2 lost)
// with t, which the caller has initialized.
static void
encode_tbatch(llmcost_proto_strtab *t, const llmcost_proto_record *r,
    uint32_t n, encbuf *eb)
{
	llmcost_proto_strtab_begin(t, 0);
	for (uint32_t i = 0; i < n; i++) {
		LLMCOST_PASS(llmcost_proto_strtab_record(t, &r[i]));
	}
	encbuf_init(eb);
	LLMCOST_PASS(llmcost_proto_enc_tbatch(&eb->e, CID, 7, 3, 2, t));
}

// Both decoders, the one-pass and the two steps, must give b: compared
// as the BATCH the encoder writes from each.
static void
assert_same_batch(const llmcost_proto_batch *a, const llmcost_proto_batch *b)
{
	encbuf ea, eb;

	assert_memory_equal(a->client_id, b->client_id, 16);
	assert_true(a->seq == b->seq && a->dropped == b->dropped);
	assert_true(a->exporter_lost == b->exporter_lost);
	assert_int_equal(a->n_records, b->n_records);
	encbuf_init(&ea);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(
	    &ea.e, a->client_id, a->seq, a->dropped, a->n_records));
	LLMCOST_PASS(llmcost_proto_enc_batch_header(
	    &eb.e, b->client_id, b->seq, b->dropped, b->n_records));
	for (uint32_t i = 0; i < a->n_records; i++) {
		LLMCOST_PASS(llmcost_proto_enc_record(&ea.e, &a->records[i]));
		LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &b->records[i]));
	}
	assert_int_equal(ea.b.len, eb.b.len);
	assert_memory_equal(ea.b.data, eb.b.data, ea.b.len);
	llmcost_proto_buf_free(&ea.b);
	llmcost_proto_buf_free(&eb.b);
}

static void
test_golden_tbatch(void **state)
{
	llmcost_proto_strtab t;
	llmcost_proto_record r[2];
	llmcost_proto_batch want;
	llmcost_proto_msg m, m2;
	encbuf eb;
	char reason[256];

	(void) state;
	tbatch_records(r);
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, 2, &eb);
	assert_int_equal(eb.e.written, eb.b.len);
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_TBATCH);

	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_TBATCH);
	memset(&want, 0, sizeof(want));
	memcpy(want.client_id, CID, 16);
	want.seq = 7;
	want.dropped = 3;
	want.exporter_lost = 2;
	want.records = r;
	want.n_records = 2;
	assert_same_batch(&m.u.batch, &want);
	for (uint32_t i = 0; i < 2; i++) {
		const llmcost_proto_record *d = &m.u.batch.records[i];
		assert_inside(d->provider, eb.b.data, eb.b.len);
		assert_inside(d->model, eb.b.data, eb.b.len);
		assert_inside(d->meta[0].key, eb.b.data, eb.b.len);
		assert_inside(d->meta[0].val, eb.b.data, eb.b.len);
	}
	// Each distinct string is in the message once: the second record's
	// provider is the first's bytes.
	assert_ptr_equal(m.u.batch.records[0].provider.ptr,
	    m.u.batch.records[1].provider.ptr);
	LLMCOST_PASS(llmcost__proto_decode_steps(
	    eb.b.data, eb.b.len, &m2, reason, sizeof(reason)));
	assert_int_equal(m2.type, LLMCOST_MSG_TBATCH);
	assert_same_batch(&m2.u.batch, &m.u.batch);
	llmcost_proto_msg_free(&m);
	llmcost_proto_msg_free(&m2);
	llmcost_proto_buf_free(&eb.b);

	// The table is emptied between batches: another batch with other
	// strings, then the golden one again, gives the golden bytes.
	llmcost_proto_record other = r[1];
	other.provider = S("anthropic");
	other.model = S("claude-haiku");
	other.n_meta = 0;
	encode_tbatch(&t, &other, 1, &eb);
	llmcost_proto_buf_free(&eb.b);
	encode_tbatch(&t, r, 2, &eb);
	assert_bytes(eb.b.data, eb.b.len, GOLDEN_TBATCH);
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_strtab_fini(&t);
}

// decode_both_ways on buf, then on it with each byte replaced by each of
// subst in turn; counts what each accepted and refused.
static void
mutate_both_ways(uint8_t *buf, size_t len, const uint8_t *subst, size_t nsubst,
    unsigned *accepted, unsigned *refused)
{
	char what[96];

	assert_int_equal(decode_both_ways(buf, len, "whole"), 0);
	for (size_t n = 0; n < len; n += 5) {
		(void) snprintf(what, sizeof(what), "first %zu bytes", n);
		*refused += decode_both_ways(buf, n, what) != 0;
	}
	for (size_t i = 0; i < len; i++) {
		for (size_t k = 0; k < nsubst; k++) {
			uint8_t was = buf[i];
			if (was == subst[k]) {
				continue;
			}
			buf[i] = subst[k];
			(void) snprintf(what, sizeof(what), "byte %zu 0x%02x",
			    i, subst[k]);
			if (decode_both_ways(buf, len, what) == 0) {
				(*accepted)++;
			} else {
				(*refused)++;
			}
			buf[i] = was;
		}
	}
}

// The one pass reads a TBATCH's records in their usual form at once
// (keys 0 to 8 in order) and leaves the rest to the loop the two steps
// use: on a TBATCH whose records take every branch of that (status,
// meta, tags or not, keys after them, more than 128 strings so that
// indices take two bytes), every prefix of it, every byte of it replaced
// by bytes that change a header's type or length, both must agree.
static void
test_tbatch_one_pass_matches_steps(void **state)
{
	static const uint8_t subst[] = { 0x00, 0x01, 0x06, 0x07, 0x08, 0x09,
		0x0a, 0x7f, 0x80, 0x81, 0x83, 0x8f, 0x90, 0x91, 0x9a, 0x9b,
		0xa0, 0xa1, 0xc0, 0xc1, 0xc4, 0xcc, 0xcd, 0xcf, 0xd0, 0xd9,
		0xdc, 0xde, 0xff };
	enum { N = 24 };
	static llmcost_proto_record r[N];
	static llmcost_proto_kv kv[N][6];
	static char vals[N][6][16];
	const llmcost_proto_str tags[2] = { S("beta"), S("gamma") };
	llmcost_proto_strtab t;
	unsigned accepted = 0, refused = 0;
	encbuf eb;

	(void) state;
	for (uint32_t i = 0; i < N; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].run_id[0] = 0x01;
		r[i].run_id[15] = (uint8_t) (i + 1);
		r[i].start_ns = UINT64_C(1700000000000000000) + i;
		r[i].duration_ns = i % 3 == 0 ? 5 : 850000000u;
		r[i].provider = i % 4 == 0 ? S("anthropic") : S("openai");
		r[i].model = S("gpt-4o-mini");
		r[i].usage[LLMCOST_IN_UNCACHED] = 1200 + i;
		r[i].usage[LLMCOST_OUT_TEXT] = i;
		r[i].status = i % 5 == 1 ? LLMCOST_STATUS_ERROR : 0;
		// Six distinct values each: past 128 strings, indices take
		// two bytes.
		for (uint32_t k = 0; k < 6 && i % 6 != 2; k++) {
			static const char *const keys[6]
			    = { "feature", "env", "user", "a", "b", "c" };
			(void) snprintf(
			    vals[i][k], sizeof(vals[i][k]), "v%u-%u", i, k);
			kv[i][k].key.ptr = keys[k];
			kv[i][k].key.len = (uint32_t) strlen(keys[k]);
			kv[i][k].val.ptr = vals[i][k];
			kv[i][k].val.len = (uint32_t) strlen(vals[i][k]);
			r[i].n_meta = k + 1;
		}
		r[i].meta = kv[i];
		r[i].tags = tags;
		r[i].n_tags = i % 3;
		if (i % 4 == 3) {
			r[i].fees[0] = 2;
			r[i].platform = S("vertex");
		}
	}
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, N, &eb);
	uint8_t *buf = (uint8_t *) eb.b.data;
	size_t len = eb.b.len;
	assert_true(t.n > 128);
	mutate_both_ways(buf, len, subst, sizeof(subst), &accepted, &refused);
	assert_true(accepted > 1000);
	assert_true(refused > 1000);
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_strtab_fini(&t);
}

// The one pass takes keys 6 to 8 of a record (status, meta, tags) from
// the record before when their bytes and the map's size are the same
// (a call site's calls repeat them).  Runs of records that repeat them
// exactly, with a status, a meta value, the tags, the map's size or a
// key after them changed here and there, as a TBATCH and as a BATCH,
// every prefix, every byte replaced: both decoders must agree.
static void
test_one_pass_memo_matches_steps(void **state)
{
	static const uint8_t subst[] = { 0x00, 0x01, 0x06, 0x07, 0x08, 0x09,
		0x7f, 0x80, 0x82, 0x83, 0x87, 0x88, 0x89, 0x8a, 0x90, 0x91,
		0x92, 0xa0, 0xa3, 0xc0, 0xc1, 0xcc, 0xd9 };
	enum { N = 12 };
	static llmcost_proto_record r[N];
	static llmcost_proto_kv kv[N][3];
	const llmcost_proto_str tags[2] = { S("beta"), S("gamma") };
	llmcost_proto_strtab t;
	unsigned accepted = 0, refused = 0;
	encbuf eb;

	(void) state;
	for (uint32_t i = 0; i < N; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].run_id[0] = 0x01;
		r[i].run_id[15] = (uint8_t) (i + 1);
		r[i].start_ns = UINT64_C(1700000000000000000) + i;
		r[i].duration_ns = 5;
		r[i].provider = S("openai");
		r[i].model = S("gpt-4o-mini");
		r[i].usage[LLMCOST_IN_UNCACHED] = 1200 + i;
		r[i].usage[LLMCOST_OUT_TEXT] = i;
		r[i].status = i == 4 ? LLMCOST_STATUS_ERROR : 0;
		kv[i][0].key = S("feature");
		kv[i][0].val = S(i == 7 ? "chat" : "search");
		kv[i][1].key = S("env");
		kv[i][1].val = S("prod");
		kv[i][2].key = S("user");
		kv[i][2].val = S("u1");
		r[i].meta = kv[i];
		r[i].n_meta = i == 9 ? 0 : 3;
		r[i].tags = tags;
		r[i].n_tags = i == 5 ? 0 : i == 6 ? 2 : 1;
		if (i == 2 || i == 10) {
			r[i].fees[0] = 2; // a key after 8
		}
	}
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, N, &eb);
	mutate_both_ways((uint8_t *) eb.b.data, eb.b.len, subst, sizeof(subst),
	    &accepted, &refused);
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_strtab_fini(&t);

	// Call sites interleaved, more of them than the memo keeps (0 1 2
	// 0 3 4 0 1 ...), their meta of different sizes, as a TBATCH and as
	// a BATCH.
	static const char *const sites[5]
	    = { "s0", "site1", "s2x", "s", "s4" };
	static const uint8_t order[N] = { 0, 1, 2, 0, 3, 4, 0, 1, 2, 4, 1, 0 };
	for (uint32_t k = 0; k < N; k++) {
		kv[k][0].val = S(sites[order[k]]);
	}
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, N, &eb);
	mutate_both_ways((uint8_t *) eb.b.data, eb.b.len, subst, sizeof(subst),
	    &accepted, &refused);
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_strtab_fini(&t);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, N));
	for (uint32_t i = 0; i < N; i++) {
		LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r[i]));
	}
	mutate_both_ways((uint8_t *) eb.b.data, eb.b.len, subst, sizeof(subst),
	    &accepted, &refused);
	llmcost_proto_buf_free(&eb.b);
	for (uint32_t k = 0; k < N; k++) {
		kv[k][0].val = S(k == 7 ? "chat" : "search");
	}

	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, N));
	for (uint32_t i = 0; i < N; i++) {
		LLMCOST_PASS(llmcost_proto_enc_record(&eb.e, &r[i]));
	}
	mutate_both_ways((uint8_t *) eb.b.data, eb.b.len, subst, sizeof(subst),
	    &accepted, &refused);
	llmcost_proto_buf_free(&eb.b);
	assert_true(accepted > 500);
	assert_true(refused > 500);

	// A record whose status (key 6) comes after its meta, out of the
	// usual order, then one with the same meta, tags and no status (as
	// many keys): the memo of the first holds its meta only, and the
	// second has status 0.
	encbuf ea, e2;
	encbuf_init(&ea);
	encbuf_init(&e2);
	r[4].n_tags = 0;
	r[0].n_tags = 1;
	LLMCOST_PASS(llmcost_proto_enc_record(&ea.e, &r[4]));
	LLMCOST_PASS(llmcost_proto_enc_record(&e2.e, &r[0]));
	const uint8_t *a = (const uint8_t *) ea.b.data;
	size_t at = 0;
	while (at + 3 < ea.b.len
	    && !(a[at] == 0x06 && a[at + 1] == LLMCOST_STATUS_ERROR
	        && a[at + 2] == 0x07 && a[at + 3] == 0x83)) {
		at++;
	}
	assert_true(at + 3 < ea.b.len);
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_batch_header(&eb.e, CID, 7, 3, 2));
	size_t hdr = eb.b.len;
	uint8_t *m = malloc(hdr + ea.b.len + e2.b.len);
	assert_non_null(m);
	memcpy(m, eb.b.data, hdr);
	memcpy(m + hdr, a, at);
	memcpy(m + hdr + at, a + at + 2, ea.b.len - at - 2);
	memcpy(m + hdr + ea.b.len - 2, a + at, 2);
	memcpy(m + hdr + ea.b.len, e2.b.data, e2.b.len);
	assert_int_equal(
	    decode_both_ways(m, hdr + ea.b.len + e2.b.len, "status last"), 0);
	free(m);
	llmcost_proto_buf_free(&ea.b);
	llmcost_proto_buf_free(&e2.b);
	llmcost_proto_buf_free(&eb.b);
}

// Replaces the n-th (0-based) occurrence of the hex text from by to in
// the golden TBATCH; returns the bytes (free them).
static uint8_t *
tbatch_with(const char *from, int nth, const char *to, size_t *lenp)
{
	char hex[sizeof(GOLDEN_TBATCH) + 64];
	const char *at = GOLDEN_TBATCH;

	for (int i = 0; i <= nth; i++) {
		at = strstr(i == 0 ? at : at + 1, from);
		assert_non_null(at);
	}
	snprintf(hex, sizeof(hex), "%.*s%s%s", (int) (at - GOLDEN_TBATCH),
	    GOLDEN_TBATCH, to, at + strlen(from));
	return (hex_bytes(hex, lenp));
}

// Every index is checked, and so is every table string, once: the same
// strict refusals as strings in place.
static void
test_tbatch_refusals(void **state)
{
	static const struct {
		const char *from;
		int nth;
		const char *to;
		int code;
		const char *sub;
	} cases[] = {
		{ " 03 00 04 01", 0, " 03 07 04 01", LLMCOST_EPROTO,
		    "record 0: provider: string 7 out of range (7 strings)" },
		{ " 03 00 04 01", 1, " 03 00 04 cd0100", LLMCOST_EPROTO,
		    "record 1: model: string 256 out of range" },
		{ " 07 82 02 03", 0, " 07 82 02 09", LLMCOST_EPROTO,
		    "record 0: meta: value of key \"feature\": string 9 out "
		    "of range" },
		{ " 07 82 02 03", 0, " 07 82 0a 03", LLMCOST_EPROTO,
		    "record 0: meta: key 0: string 10 out of range" },
		{ " 08 91 06", 0, " 08 91 07", LLMCOST_EPROTO,
		    "record 0: tags[0]: string 7 out of range" },
		// A table string is checked like any string.
		{ "a6 6f70656e6169", 0, "a6 ff70656e6169", LLMCOST_EPROTO,
		    "tbatch: strings[0]: invalid UTF-8" },
		{ "a6 6f70656e6169", 0, "c3", LLMCOST_EPROTO,
		    "tbatch: strings[0]: want str, got bool" },
		// A string the field cannot hold: "production" is no tag
		// key of more than 64 bytes, but empty is no provider.
		{ "a6 6f70656e6169", 0, "a0", LLMCOST_EPROTO,
		    "record 0: provider: empty" },
		{ " 07 82 02 03 04 05", 0, " 07 82 02 03 02 05",
		    LLMCOST_EPROTO,
		    "record 0: meta: duplicate key \"feature\"" },
		{ "98 01 09 c4 10 000102030405060708090a0b0c0d0e0f 07 03 02",
		    0, "97 01 09 c4 10 000102030405060708090a0b0c0d0e0f 07 03",
		    LLMCOST_EPROTO, "tbatch: 7 elements, want at least 8" },
		{ " 07 03 02", 0, " 07 03 c0", LLMCOST_EPROTO,
		    "tbatch: exporter_lost: want unsigned integer, got nil" },
	};
	size_t len;

	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *buf = tbatch_with(
		    cases[i].from, cases[i].nth, cases[i].to, &len);
		expect_reject_exact(
		    buf, len, cases[i].code, cases[i].sub, cases[i].sub);
		free(buf);
	}

	// A v1 BATCH keeps wanting its strings in place.
	uint8_t *buf = hex_bytes(
	    "96 01 01 c4 10 000102030405060708090a0b0c0d0e0f"
	    " 07 03 91 86 00 c4 10 " RID0_HEX " 01 01 02 00 03 00 04 a1 61"
	    " 05 9a 00 00 00 00 00 00 00 00 00 00",
	    &len);
	expect_reject_exact(buf, len, LLMCOST_EPROTO,
	    "record 0: provider: want str, got unsigned integer", "v1 index");
	free(buf);

	// Limits: a table string past 4096 bytes, a table past 16384
	// strings, a provider past 64 bytes taken from the table.
	llmcost_proto_buf b;
	memset(&b, 0, sizeof(b));
	static const char head[] = { (char) 0x98, 1, 9, (char) 0xc4, 16, 0, 1,
		2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 7, 3, 0 };
	char big[5 + 4097];
	memset(big, 'a', sizeof(big));
	big[0] = (char) 0xda;
	big[1] = 0x10;
	big[2] = 0x01;
	assert_int_equal(llmcost_proto_buf_write(&b, head, sizeof(head)), 0);
	assert_int_equal(llmcost_proto_buf_write(&b, "\x91", 1), 0);
	assert_int_equal(llmcost_proto_buf_write(&b, big, 3 + 4097), 0);
	assert_int_equal(llmcost_proto_buf_write(&b, "\x90", 1), 0);
	expect_reject_exact(b.data, b.len, LLMCOST_ETOOBIG,
	    "tbatch: strings[0]: 4097 bytes exceeds 4096", "big string");
	b.len = 0;
	assert_int_equal(llmcost_proto_buf_write(&b, head, sizeof(head)), 0);
	assert_int_equal(llmcost_proto_buf_write(&b, "\xdc\x40\x01", 3), 0);
	for (int i = 0; i < 16385; i++) {
		assert_int_equal(llmcost_proto_buf_write(&b, "\xa0", 1), 0);
	}
	assert_int_equal(llmcost_proto_buf_write(&b, "\x90", 1), 0);
	expect_reject_exact(b.data, b.len, LLMCOST_ETOOBIG,
	    "tbatch: 16385 strings exceeds 16384", "many strings");
	llmcost_proto_buf_free(&b);

	llmcost_proto_strtab t;
	llmcost_proto_record r[2];
	encbuf eb;
	tbatch_records(r);
	char model[80];
	memset(model, 'm', sizeof(model));
	r[0].model.ptr = model;
	r[0].model.len = 65;
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, 1, &eb);
	// Record 0's provider (index 0) becomes the model (index 1).
	uint8_t *p = NULL;
	for (size_t i = 0; p == NULL && i + 4 <= eb.b.len; i++) {
		if (memcmp(eb.b.data + i, "\x03\x00\x04\x01", 4) == 0) {
			p = (uint8_t *) eb.b.data + i;
		}
	}
	assert_non_null(p);
	p[1] = 1;
	expect_reject_exact(eb.b.data, eb.b.len, LLMCOST_ETOOBIG,
	    "record 0: provider: 65 bytes exceeds 64", "long provider");
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_strtab_fini(&t);

	// Elements past the eighth are skipped, as in every message.
	buf = tbatch_with("98 01 09", 0, "99 01 09", &len);
	uint8_t *more = malloc(len + 1);
	memcpy(more, buf, len);
	more[len] = 0xc0;
	llmcost_proto_msg m;
	decode_ok(more, len + 1, &m);
	assert_int_equal(m.type, LLMCOST_MSG_TBATCH);
	assert_int_equal(m.u.batch.n_records, 2);
	llmcost_proto_msg_free(&m);
	free(more);
	free(buf);
}

// A TBATCH of records as `r`, decoded, must hold exactly r's records.
static void
assert_tbatch_holds(
    const encbuf *eb, const llmcost_proto_record *r, uint32_t n)
{
	llmcost_proto_batch want;
	llmcost_proto_msg m;

	decode_ok(eb->b.data, eb->b.len, &m);
	assert_int_equal(m.type, LLMCOST_MSG_TBATCH);
	memset(&want, 0, sizeof(want));
	memcpy(want.client_id, CID, 16);
	want.seq = 7;
	want.dropped = 3;
	want.exporter_lost = 2;
	want.records = r;
	want.n_records = n;
	assert_same_batch(&m.u.batch, &want);
	llmcost_proto_msg_free(&m);
}

// More distinct strings than the encoder's table holds: the rest go in
// place, and every record decodes to what was encoded.
static void
test_tbatch_table_full(void **state)
{
	enum { N = 1500, PER = 3 };
	llmcost_proto_strtab t;
	llmcost_proto_record *r = calloc(N, sizeof(*r));
	llmcost_proto_kv *kv = calloc((size_t) N * PER, sizeof(*kv));
	char(*vals)[16] = calloc((size_t) N * PER, sizeof(*vals));
	static const char *keys[PER] = { "user", "session", "request" };
	encbuf eb;

	(void) state;
	assert_non_null(r);
	assert_non_null(kv);
	assert_non_null(vals);
	for (uint32_t i = 0; i < N; i++) {
		golden_record0(&r[i]);
		r[i].run_id[15] = (uint8_t) i;
		r[i].run_id[14] = (uint8_t) (i >> 8);
		for (uint32_t j = 0; j < PER; j++) {
			snprintf(vals[i * PER + j], sizeof(vals[0]), "v%u-%u",
			    (unsigned) i, (unsigned) j);
			kv[i * PER + j].key = S(keys[j]);
			kv[i * PER + j].val = S(vals[i * PER + j]);
		}
		r[i].meta = &kv[i * PER];
		r[i].n_meta = PER;
	}
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, N, &eb);
	assert_int_equal(t.n, LLMCOST_PROTO_STRTAB_ENC);
	assert_tbatch_holds(&eb, r, N);
	llmcost_proto_buf_free(&eb.b);
	llmcost_proto_strtab_fini(&t);
	free(vals);
	free(kv);
	free(r);
}

// A copy of s in memory of its own (freed with the arena a).
typedef struct arena {
	char *p[8192];
	uint32_t n;
} arena;

static llmcost_proto_str
own(arena *a, llmcost_proto_str s)
{
	char *p = malloc(s.len + 1);
	assert_non_null(p);
	assert_true(a->n < 8192);
	memcpy(p, s.ptr != NULL ? s.ptr : "", s.len);
	a->p[a->n++] = p;
	s.ptr = p;
	return (s);
}

static void
arena_free(arena *a)
{
	for (uint32_t i = 0; i < a->n; i++) {
		free(a->p[i]);
	}
	a->n = 0;
}

static uint32_t
rnd(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return ((uint32_t) (*x >> 16));
}

// Records of a few call sites, interleaved, as the shim hands them over:
// a record often shares the last record's strings (the same pointers,
// meta and tag arrays), otherwise its strings come from the sites'
// literals (the same pointers as other records') or from copies (the
// same bytes elsewhere), one byte or one length away from the last
// record's, keys in another order, fewer or more of them, empty values,
// a platform or none; or all the last record's but one (a platform, a
// value, a tag) with a tag, a value or a platform that may repeat
// another.  The TBATCH must hold exactly the records, and be
// the very bytes of the same records with every string copied apart.
static void
test_tbatch_shared_strings(void **state)
{
	enum { N = 800, KEYS = 4, TAGS = 3 };
	static const char *const provs[] = { "openai", "anthropic", "openaj" };
	static const char *const models[]
	    = { "gpt-4o-mini", "gpt-4o-mina", "claude-haiku-4-5", "gpt-4o" };
	static const char *const keys[KEYS]
	    = { "feature", "env", "user_tier", "featurf" };
	static const char *const vals[]
	    = { "search", "prod", "pro", "", "prad", "chat", "search" };
	static const char *const tagv[TAGS] = { "beta", "betb", "canary" };
	static const char *const plats[] = { "", "vertex", "vertey" };
	static llmcost_proto_record r[N], r2[N];
	static llmcost_proto_kv kv[N][KEYS], kv2[N][KEYS];
	static llmcost_proto_str tg[N][TAGS], tg2[N][TAGS];
	static arena a;
	llmcost_proto_strtab t;
	uint64_t x = 0x9e3779b97f4a7c15u;
	uint32_t shared = 0;
	encbuf e1, e2;

	(void) state;
	for (uint32_t i = 0; i < N; i++) {
		llmcost_proto_record *ri = &r[i];
		int copy = rnd(&x) % 3 == 0;

		if (i > 0 && rnd(&x) % 2 == 0) {
			*ri = r[i - 1]; // the same strings, by pointer
			shared++;
			// Or all but one: the platform, a value, a tag.
			uint32_t m = rnd(&x) % 6;
			if (m == 1) {
				ri->platform = S(plats[rnd(&x) % 3]);
			} else if (m == 2 && ri->n_meta > 0) {
				memcpy(kv[i], ri->meta,
				    ri->n_meta * sizeof(kv[i][0]));
				kv[i][rnd(&x) % ri->n_meta].val
				    = S(vals[rnd(&x) % 7]);
				ri->meta = kv[i];
			} else if (m == 3 && ri->n_tags > 0) {
				memcpy(tg[i], ri->tags,
				    ri->n_tags * sizeof(tg[i][0]));
				tg[i][rnd(&x) % ri->n_tags]
				    = S(tagv[rnd(&x) % TAGS]);
				ri->tags = tg[i];
			}
		} else {
			memset(ri, 0, sizeof(*ri));
			ri->provider = S(provs[rnd(&x) % 3]);
			ri->model = S(models[rnd(&x) % 4]);
			ri->platform = S(plats[rnd(&x) % 3]);
			ri->n_meta = rnd(&x) % (KEYS + 1);
			uint32_t first = rnd(&x) % KEYS;
			for (uint32_t k = 0; k < ri->n_meta; k++) {
				kv[i][k].key = S(keys[(first + k) % KEYS]);
				kv[i][k].val = S(vals[rnd(&x) % 7]);
			}
			ri->n_tags = rnd(&x) % (TAGS + 1);
			for (uint32_t k = 0; k < ri->n_tags; k++) {
				tg[i][k] = S(tagv[(first + k) % TAGS]);
			}
			if (copy) {
				ri->provider = own(&a, ri->provider);
				ri->model = own(&a, ri->model);
				for (uint32_t k = 0; k < ri->n_meta; k++) {
					kv[i][k].key = own(&a, kv[i][k].key);
					kv[i][k].val = own(&a, kv[i][k].val);
				}
			}
			ri->meta = ri->n_meta > 0 ? kv[i] : NULL;
			ri->tags = ri->n_tags > 0 ? tg[i] : NULL;
		}
		memset(ri->run_id, 0, 16);
		ri->run_id[0] = 0x01;
		ri->run_id[14] = (uint8_t) (i >> 8);
		ri->run_id[15] = (uint8_t) i;
		ri->start_ns = UINT64_C(1700000000000000000) + rnd(&x);
		ri->duration_ns = rnd(&x) % 5000000000u;
		ri->status = rnd(&x) % 4 == 0 ? LLMCOST_STATUS_ERROR : 0;
		for (int k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
			ri->usage[k]
			    = rnd(&x) % 3 == 0 ? rnd(&x) : (uint32_t) k;
		}
	}
	// The same records, every string apart.
	for (uint32_t i = 0; i < N; i++) {
		r2[i] = r[i];
		r2[i].provider = own(&a, r[i].provider);
		r2[i].model = own(&a, r[i].model);
		r2[i].platform = own(&a, r[i].platform);
		for (uint32_t k = 0; k < r[i].n_meta; k++) {
			kv2[i][k].key = own(&a, r[i].meta[k].key);
			kv2[i][k].val = own(&a, r[i].meta[k].val);
		}
		for (uint32_t k = 0; k < r[i].n_tags; k++) {
			tg2[i][k] = own(&a, r[i].tags[k]);
		}
		r2[i].meta = r[i].n_meta > 0 ? kv2[i] : NULL;
		r2[i].tags = r[i].n_tags > 0 ? tg2[i] : NULL;
	}
	assert_true(shared > N / 4);
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, N, &e1);
	assert_tbatch_holds(&e1, r, N);
	encode_tbatch(&t, r2, N, &e2);
	assert_int_equal(e1.b.len, e2.b.len);
	assert_memory_equal(e1.b.data, e2.b.data, e1.b.len);
	llmcost_proto_buf_free(&e1.b);
	llmcost_proto_buf_free(&e2.b);
	llmcost_proto_strtab_fini(&t);
	arena_free(&a);
}

// Duplicate keys are refused however the record's keys relate to the
// last records': here both keys of the last record are "y" at some
// place (from two records), and the record repeats them.
static void
test_tbatch_duplicate_keys_after_sites(void **state)
{
	llmcost_proto_record r[4];
	llmcost_proto_kv y[1], py[2], yy[2];
	llmcost_proto_strtab t;

	(void) state;
	y[0].key = S("y");
	y[0].val = S("1");
	py[0].key = S("p");
	py[0].val = S("1");
	py[1] = y[0];
	yy[0] = y[0];
	yy[1] = y[0];
	for (int i = 0; i < 4; i++) {
		golden_record0(&r[i]);
		r[i].run_id[15] = (uint8_t) (i + 1);
	}
	r[0].meta = y; // keys: y
	r[0].n_meta = 1;
	r[1].meta = py; // keys: p, y
	r[1].n_meta = 2;
	r[2].meta = y; // keys: y (place 1 still holds the "y" of r[1])
	r[2].n_meta = 1;
	r[3].meta = yy; // keys: y, y
	r[3].n_meta = 2;
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	llmcost_proto_strtab_begin(&t, 0);
	for (int i = 0; i < 3; i++) {
		LLMCOST_PASS(llmcost_proto_strtab_record(&t, &r[i]));
	}
	assert_int_equal(
	    llmcost_proto_strtab_record(&t, &r[3]), LLMCOST_EINVAL);
	// Sticky: nothing more is taken.
	assert_int_equal(
	    llmcost_proto_strtab_record(&t, &r[0]), LLMCOST_EINVAL);
	// The same keys, after a record with the same pointers and two
	// distinct keys.
	llmcost_proto_strtab_begin(&t, 0);
	LLMCOST_PASS(llmcost_proto_strtab_record(&t, &r[1]));
	LLMCOST_PASS(llmcost_proto_strtab_record(&t, &r[1]));
	assert_int_equal(
	    llmcost_proto_strtab_record(&t, &r[3]), LLMCOST_EINVAL);
	llmcost_proto_strtab_fini(&t);
}

// Records at every cap (the longest strings, the most entries, the
// largest numbers), repeated with the same pointers and then with one
// string changed, go into a TBATCH and back unchanged; one past a cap
// is refused, in a record that follows records with the same strings.
static void
test_tbatch_records_at_caps(void **state)
{
	enum { N = 6 };
	static char prov[LLMCOST_MAX_PROVIDER + 1],
	    model[LLMCOST_MAX_MODEL + 2];
	static char keys[LLMCOST_MAX_META][LLMCOST_MAX_KEY];
	static char vals[LLMCOST_MAX_META][LLMCOST_MAX_VALUE];
	static char tags[LLMCOST_MAX_TAGS][LLMCOST_MAX_TAG];
	static char plat[LLMCOST_MAX_PLATFORM],
	    dotted[LLMCOST_PROTO_MAX_DOTTED];
	static llmcost_proto_kv kv[LLMCOST_MAX_META], kv2[LLMCOST_MAX_META];
	static llmcost_proto_str tg[LLMCOST_MAX_TAGS];
	static llmcost_proto_record r[N];
	llmcost_proto_strtab t;
	encbuf eb;

	(void) state;
	memset(prov, 'p', sizeof(prov));
	memset(model, 'm', sizeof(model));
	memset(plat, 'x', sizeof(plat));
	memset(dotted, 'd', sizeof(dotted));
	for (int i = 0; i < LLMCOST_MAX_META; i++) {
		memset(keys[i], 'k', sizeof(keys[i]));
		memset(vals[i], 'v', sizeof(vals[i]));
		keys[i][0] = (char) ('A' + i);
		vals[i][sizeof(vals[i]) - 1] = (char) ('A' + i);
		kv[i].key.ptr = keys[i];
		kv[i].key.len = LLMCOST_MAX_KEY;
		kv[i].val.ptr = vals[i];
		kv[i].val.len = LLMCOST_MAX_VALUE;
	}
	for (int i = 0; i < LLMCOST_MAX_TAGS; i++) {
		memset(tags[i], 't', sizeof(tags[i]));
		tags[i][7] = (char) ('A' + i);
		tg[i].ptr = tags[i];
		tg[i].len = LLMCOST_MAX_TAG;
	}
	memcpy(kv2, kv, sizeof(kv));
	kv2[31].val.len = LLMCOST_MAX_VALUE - 1;
	for (int i = 0; i < N; i++) {
		llmcost_proto_record *ri = &r[i];
		memset(ri, 0, sizeof(*ri));
		memset(ri->run_id, 0xff, 16);
		ri->run_id[15] = (uint8_t) i;
		memset(ri->trace_id, 0xee, 16);
		memset(ri->parent_run_id, 0xdd, 16);
		ri->start_ns = UINT64_MAX;
		ri->duration_ns = UINT64_MAX;
		ri->status = LLMCOST_STATUS_ABORTED;
		for (int k = 0; k < LLMCOST_BUCKET_COUNT; k++) {
			ri->usage[k] = UINT64_MAX - (uint64_t) k;
		}
		for (int k = 0; k < LLMCOST_FEE_COUNT; k++) {
			ri->fees[k] = UINT64_MAX;
		}
		ri->has_provider_cost = 1;
		ri->provider_cost_pusd = INT64_MAX;
		ri->usage_flags = UINT32_MAX;
		ri->service_tier = UINT8_MAX;
		ri->provider.ptr = prov;
		ri->provider.len = LLMCOST_MAX_PROVIDER;
		ri->model.ptr = model;
		ri->model.len = LLMCOST_MAX_MODEL;
		ri->meta = i == 3 ? kv2 : kv;
		ri->n_meta = LLMCOST_MAX_META;
		ri->tags = tg;
		ri->n_tags = LLMCOST_MAX_TAGS;
		ri->platform.ptr = plat;
		ri->platform.len = LLMCOST_MAX_PLATFORM;
		ri->dotted_order.ptr = dotted;
		ri->dotted_order.len = LLMCOST_PROTO_MAX_DOTTED;
	}
	r[4].model.len = 1;
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	encode_tbatch(&t, r, N, &eb);
	assert_tbatch_holds(&eb, r, N);
	llmcost_proto_buf_free(&eb.b);
	// One byte past a cap, after records with the same strings.
	llmcost_proto_strtab_begin(&t, 0);
	LLMCOST_PASS(llmcost_proto_strtab_record(&t, &r[0]));
	LLMCOST_PASS(llmcost_proto_strtab_record(&t, &r[1]));
	r[2].model.len = LLMCOST_MAX_MODEL + 1;
	assert_int_equal(
	    llmcost_proto_strtab_record(&t, &r[2]), LLMCOST_ETOOBIG);
	llmcost_proto_strtab_fini(&t);
}

// Records up to the message cap: a table takes exactly as many as fit
// in LLMCOST_PROTO_MAX_MSG, whatever the record's bound, for several
// sizes of record (a dotted_order written in place).
static void
test_tbatch_message_cap(void **state)
{
	static char dotted[LLMCOST_PROTO_MAX_DOTTED];
	llmcost_proto_strtab t;
	llmcost_proto_record r;
	int near = 0;

	(void) state;
	memset(dotted, 'd', sizeof(dotted));
	golden_record0(&r);
	memset(r.trace_id, 0xee, 16);
	r.dotted_order.ptr = dotted;
	LLMCOST_PASS(llmcost_proto_strtab_init(&t));
	for (uint32_t len = 3900; len <= LLMCOST_PROTO_MAX_DOTTED; len += 7) {
		size_t one, k = 0;
		int rv;

		r.dotted_order.len = len;
		llmcost_proto_strtab_begin(&t, 0);
		LLMCOST_PASS(llmcost_proto_strtab_record(&t, &r));
		one = t.recs.len;
		do {
			r.run_id[13] = (uint8_t) (k >> 8);
			r.run_id[14] = (uint8_t) k;
			rv = llmcost_proto_strtab_record(&t, &r);
			k++;
		} while (rv == 0);
		assert_int_equal(rv, LLMCOST_ETOOBIG);
		// Every record has the size of the first (the same indices).
		assert_int_equal(t.n_recs, LLMCOST_PROTO_MAX_MSG / one);
		// The last one taken had less room left than a bound needs.
		near += LLMCOST_PROTO_MAX_MSG % one < 64;
	}
	assert_true(near > 0);
	llmcost_proto_strtab_fini(&t);
}

// ACK element 8, features: written only when set, read as 0 when absent
// or not an unsigned integer.
static void
test_golden_ack_features(void **state)
{
	llmcost_proto_ack a;
	llmcost_proto_msg m;
	encbuf eb;
	size_t len;

	(void) state;
	memset(&a, 0, sizeof(a));
	memcpy(a.client_id, CID, 16);
	a.seq = 7;
	a.stored = 300;
	a.duplicates = 2;
	a.features = LLMCOST_PROTO_FEAT_TBATCH;
	encbuf_init(&eb);
	LLMCOST_PASS(llmcost_proto_enc_ack(&eb.e, &a));
	assert_bytes(eb.b.data, eb.b.len,
	    "99 01 02 c4 10 000102030405060708090a0b0c0d0e0f 07 00 cd012c 02 "
	    "a0 01");
	decode_ok(eb.b.data, eb.b.len, &m);
	assert_int_equal(m.u.ack.features, LLMCOST_PROTO_FEAT_TBATCH);
	assert_int_equal(m.u.ack.stored, 300);
	llmcost_proto_msg_free(&m);
	llmcost_proto_buf_free(&eb.b);

	static const char *const none[] = {
		// From a collector before it.
		"98 01 02 c4 10 000102030405060708090a0b0c0d0e0f 07 00 cd012c "
		"02 a0",
		// Not a uint: skipped.
		"99 01 02 c4 10 000102030405060708090a0b0c0d0e0f 07 00 cd012c "
		"02 a0 a1 78",
		// Bits this version does not know: dropped.
		"99 01 02 c4 10 000102030405060708090a0b0c0d0e0f 07 00 cd012c "
		"02 a0 02",
	};
	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		uint8_t *buf = hex_bytes(none[i], &len);
		decode_ok(buf, len, &m);
		assert_int_equal(m.u.ack.features, 0);
		assert_int_equal(m.u.ack.stored, 300);
		llmcost_proto_msg_free(&m);
		free(buf);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_batch_encode),
		cmocka_unit_test(test_golden_tbatch),
		cmocka_unit_test(test_tbatch_refusals),
		cmocka_unit_test(test_tbatch_table_full),
		cmocka_unit_test(test_tbatch_shared_strings),
		cmocka_unit_test(test_tbatch_duplicate_keys_after_sites),
		cmocka_unit_test(test_tbatch_records_at_caps),
		cmocka_unit_test(test_tbatch_message_cap),
		cmocka_unit_test(test_golden_ack_features),
		cmocka_unit_test(test_golden_batch_decode),
		cmocka_unit_test(test_golden_extensions),
		cmocka_unit_test(test_accept_more_fees),
		cmocka_unit_test(test_golden_ack),
		cmocka_unit_test(test_golden_stats_req),
		cmocka_unit_test(test_golden_stats),
		cmocka_unit_test(test_golden_budget),
		cmocka_unit_test(test_golden_query),
		cmocka_unit_test(test_golden_qreply),
		cmocka_unit_test(test_golden_usage_newer_encoder),
		cmocka_unit_test(test_usage_lengths),
		cmocka_unit_test(test_record_keys_table),
		cmocka_unit_test(test_record_keys_documented),
		cmocka_unit_test(test_roundtrip_max_record),
		cmocka_unit_test(test_roundtrip_4096_records),
		cmocka_unit_test(test_values_cap),
		cmocka_unit_test(test_empty_batch),
		cmocka_unit_test(test_reject_messages),
		cmocka_unit_test(test_reject_every_prefix),
		cmocka_unit_test(test_one_pass_matches_steps),
		cmocka_unit_test(test_tbatch_one_pass_matches_steps),
		cmocka_unit_test(test_one_pass_memo_matches_steps),
		cmocka_unit_test(test_reject_null_arguments),
		cmocka_unit_test(test_reject_records),
		cmocka_unit_test(test_accept_forward_compat),
		cmocka_unit_test(test_batch_exporter_lost),
		cmocka_unit_test(test_accept_reserved_keys),
		cmocka_unit_test(test_golden_scoped_record),
		cmocka_unit_test(test_golden_tier_platform),
		cmocka_unit_test(test_accept_ack_limits),
		cmocka_unit_test(test_reason_buffer),
		cmocka_unit_test(test_encode_limits),
		cmocka_unit_test(test_encode_validation),
		cmocka_unit_test(test_encode_utf8_trusted),
		cmocka_unit_test(test_decode_utf8_every_offset),
		cmocka_unit_test(test_encode_record_sizes),
		cmocka_unit_test(test_encode_stats_validation),
		cmocka_unit_test(test_encode_ack_reason),
		cmocka_unit_test(test_buf_growth),
	};

	return (cmocka_run_group_tests_name("codec", tests, NULL, NULL));
}
