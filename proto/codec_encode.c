// DESIGN: the encoder writes the canonical form of each message (see
// proto/README.md) with msgpack-c's packer, whose integer, string, binary
// and container headers are already the smallest encodings.  Bytes go
// through the caller's write callback so that the shim can pack straight
// into an nng_msg.  The packer hands over every header, number and body
// on its own; the encoder gathers them in a small buffer of its own
// (stage_) and calls the callback once per call (a record, a header, an
// ack) or per full buffer, not once per piece (a record of the shim's
// tagged call is about 70 pieces).  A record is written by the encoder
// itself, without the packer; one whose bound (every number and header
// at its longest) fits the stage is written without a room check per
// piece.  Errors are sticky, like a
// stdio stream: after the first failure every later call returns that
// error and writes nothing, so a caller can encode a whole batch and check
// once at the end.  The byte limit is checked before anything reaches the
// callback, so a message never exceeds it.
//
// The encoder checks every value against the same rules the decoder
// enforces before it writes a single byte of that value.  The collector
// rejects a batch as a whole, so one bad record that slipped past the call
// site would otherwise make the shim resend a batch that can never be
// accepted; it is cheaper to fail here, where the caller can still drop
// the record.  ACK reasons are the exception: they are diagnostics, so an
// over-long reason is cut at a UTF-8 boundary and invalid bytes are
// replaced by '?' instead of failing the ACK.
//
// A TBATCH (llmcost_proto_strtab_*) is written in two steps, because its
// string table comes before the records that fill it: each record is
// checked while its strings are resolved to their index (an
// open-addressed hash of at most LLMCOST_PROTO_STRTAB_ENC strings, found
// or added; a string equal to the one at the same place of the last
// record, as a call site's strings are, is taken without a hash and
// without checking it again), then written by the same code as a
// BATCH's, with direct stores, straight into the table's own buffer
// grown to the record's bound first (no stage, no callback).  A record
// whose strings are all the last record's copies the bytes the last
// record's strings took instead of writing them again: found by pointer
// (the same strings and the same meta and tag arrays: no byte is read),
// or, for strings each in memory of their own, when every place resolved
// to the entry the last record had there.  Then the envelope, the table
// and that buffer are written as one message.
// Emptying the table clears only the slots in use, and never reads the
// last batch's strings again (they may be gone).

#include <stdlib.h>
#include <string.h>

#include "llmcost_proto.h"

// Hands len bytes to the caller's callback, within the byte limit.
static int
enc_write(llmcost_proto_enc *e, const char *buf, size_t len)
{
	if (e->err != 0) {
		return (-1);
	}
	if (len > e->limit - e->written) {
		e->err = LLMCOST_ETOOBIG;
		return (-1);
	}
	if (e->fn(e->arg, buf, len) != 0) {
		e->err = LLMCOST_ENOMEM;
		return (-1);
	}
	e->written += len;
	return (0);
}

// Hands what is staged to the callback.  Every public function ends
// here, so that the bytes of each call have reached the callback when it
// returns.  Returns the sticky error.
static int
enc_flush(llmcost_proto_enc *e)
{
	if (e->staged_ > 0) {
		(void) enc_write(e, e->stage_, e->staged_);
		e->staged_ = 0;
	}
	return (e->err);
}

// The packer's callback: stages the piece (a header, a number, a body).
static int
enc_cb(void *data, const char *buf, size_t len)
{
	llmcost_proto_enc *e = data;

	if (e->err != 0) {
		return (-1);
	}
	if (len > sizeof(e->stage_) - e->staged_) {
		if (enc_flush(e) != 0) {
			return (-1);
		}
		if (len > sizeof(e->stage_)) {
			return (enc_write(e, buf, len));
		}
	}
	memcpy(e->stage_ + e->staged_, buf, len);
	e->staged_ += len;
	return (0);
}

// The record's pieces, written straight into the stage in msgpack's
// smallest forms (the bytes msgpack_pack_* writes, see the canonical
// encoding in proto/README.md) without a callback per piece: a record
// is most of a batch, and its seventy-odd pieces through the packer cost
// more than the bytes.  Each function comes in two forms, chosen by a
// constant `fast` and inlined into the two forms of enc_pieces: slow
// makes room before each piece (hands over what is staged when the stage
// is too full) and writes nothing after an error; fast writes without a
// check, for a record whose bound (rec_bound) the stage has room for.
#define PUT_MAX_HDR 9 // the longest header or number: 0xcf and 8 bytes
#define ENC_INLINE  static inline __attribute__((always_inline))

// Where the pieces go.  Fast: a cursor of its own, kept in a register
// (the stage's count would be loaded and stored again around every byte
// written, which may alias it); slow: the stage's end, checked first.
typedef struct put_cur {
	uint8_t *w; // fast only: where the next piece goes
} put_cur;

static int
put_room(llmcost_proto_enc *e)
{
	if (e->err != 0) {
		return (-1);
	}
	if (sizeof(e->stage_) - e->staged_ < PUT_MAX_HDR) {
		return (enc_flush(e) != 0 ? -1 : 0);
	}
	return (0);
}

// The place for a piece of at most PUT_MAX_HDR bytes, or NULL (slow,
// after an error).
ENC_INLINE uint8_t *
put_at(llmcost_proto_enc *e, put_cur *c, int fast)
{
	if (fast) {
		return (c->w);
	}
	if (put_room(e) != 0) {
		return (NULL);
	}
	return ((uint8_t *) e->stage_ + e->staged_);
}

// k bytes were written at put_at's place.
ENC_INLINE void
put_adv(llmcost_proto_enc *e, put_cur *c, size_t k, int fast)
{
	if (fast) {
		c->w += k;
	} else {
		e->staged_ += k;
	}
}

// v's low n bytes (2, 4 or 8), big-endian: one store.
ENC_INLINE void
put_be(uint8_t *p, uint64_t v, int n)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (n == 8) {
		uint64_t b = __builtin_bswap64(v);
		memcpy(p, &b, 8);
	} else if (n == 4) {
		uint32_t b = __builtin_bswap32((uint32_t) v);
		memcpy(p, &b, 4);
	} else {
		uint16_t b = __builtin_bswap16((uint16_t) v);
		memcpy(p, &b, 2);
	}
#else
	for (int i = n - 1; i >= 0; i--) {
		p[i] = (uint8_t) v;
		v >>= 8;
	}
#endif
}

// A header: a fix form (fix | n) below fix_max, else tag8 (when not 0),
// tag16 or tag32 followed by n in 1, 2 or 4 bytes.
ENC_INLINE void
put_hdr(llmcost_proto_enc *e, put_cur *c, uint64_t n, unsigned fix,
    uint64_t fix_max, unsigned tag8, unsigned tag16, unsigned tag32, int fast)
{
	uint8_t *p = put_at(e, c, fast);
	if (p == NULL) {
		return;
	}
	if (n < fix_max) {
		p[0] = (uint8_t) (fix | n);
		put_adv(e, c, 1, fast);
	} else if (tag8 != 0 && n <= UINT8_MAX) {
		p[0] = (uint8_t) tag8;
		p[1] = (uint8_t) n;
		put_adv(e, c, 2, fast);
	} else if (n <= UINT16_MAX) {
		p[0] = (uint8_t) tag16;
		put_be(p + 1, n, 2);
		put_adv(e, c, 3, fast);
	} else {
		p[0] = (uint8_t) tag32;
		put_be(p + 1, n, 4);
		put_adv(e, c, 5, fast);
	}
}

ENC_INLINE void
put_uint(llmcost_proto_enc *e, put_cur *c, uint64_t v, int fast)
{
	uint8_t *p = put_at(e, c, fast);
	if (p == NULL) {
		return;
	}
	if (v < 128) {
		p[0] = (uint8_t) v;
		put_adv(e, c, 1, fast);
	} else if (v <= UINT8_MAX) {
		p[0] = 0xcc;
		p[1] = (uint8_t) v;
		put_adv(e, c, 2, fast);
	} else if (v <= UINT16_MAX) {
		p[0] = 0xcd;
		put_be(p + 1, v, 2);
		put_adv(e, c, 3, fast);
	} else if (v <= UINT32_MAX) {
		p[0] = 0xce;
		put_be(p + 1, v, 4);
		put_adv(e, c, 5, fast);
	} else {
		p[0] = 0xcf;
		put_be(p + 1, v, 8);
		put_adv(e, c, 9, fast);
	}
}

// len bytes: copied at the cursor (fast), or through enc_cb.
ENC_INLINE void
put_bytes(
    llmcost_proto_enc *e, put_cur *c, const void *buf, size_t len, int fast)
{
	if (fast) {
		memcpy(c->w, buf, len);
		c->w += len;
	} else if (len > 0 && e->err == 0) {
		(void) enc_cb(e, buf, len);
	}
}

ENC_INLINE void
put_str(llmcost_proto_enc *e, put_cur *c, const llmcost_proto_str *s, int fast)
{
	put_hdr(e, c, s->len, 0xa0, 32, 0xd9, 0xda, 0xdb, fast);
	put_bytes(e, c, s->ptr, s->len, fast);
}

ENC_INLINE void
put_id(llmcost_proto_enc *e, put_cur *c, const uint8_t id[16], int fast)
{
	static const char bin16[2] = { (char) 0xc4, 16 };
	if (fast || e->err == 0) {
		put_bytes(e, c, bin16, 2, fast);
		put_bytes(e, c, id, 16, fast);
	}
}

ENC_INLINE void
put_map(llmcost_proto_enc *e, put_cur *c, uint64_t n, int fast)
{
	put_hdr(e, c, n, 0x80, 16, 0, 0xde, 0xdf, fast);
}

ENC_INLINE void
put_array(llmcost_proto_enc *e, put_cur *c, uint64_t n, int fast)
{
	put_hdr(e, c, n, 0x90, 16, 0, 0xdc, 0xdd, fast);
}

void
llmcost_proto_enc_init(
    llmcost_proto_enc *e, llmcost_proto_write_fn fn, void *arg, size_t limit)
{
	memset(e, 0, sizeof(*e));
	e->fn = fn;
	e->arg = arg;
	// A message over LLMCOST_PROTO_MAX_MSG would only be refused by the
	// decoder, so a larger limit is clamped.
	if (limit == 0 || limit > LLMCOST_PROTO_MAX_MSG) {
		limit = LLMCOST_PROTO_MAX_MSG;
	}
	e->limit = limit;
	if (fn == NULL) {
		e->err = LLMCOST_EINVAL;
	}
	msgpack_packer_init(&e->pk, e, enc_cb);
}

// Records a validation failure as the sticky error.
static int
enc_fail(llmcost_proto_enc *e, int err)
{
	if (e->err == 0) {
		e->err = err;
	}
	return (e->err);
}

static int
check_str_t(
    const llmcost_proto_str *s, uint32_t min, uint32_t max, int utf8_trusted)
{
	if (s->len > 0 && s->ptr == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (s->len < min) {
		return (LLMCOST_EINVAL);
	}
	if (s->len > max) {
		return (LLMCOST_ETOOBIG);
	}
	if (!utf8_trusted && !llmcost__utf8_valid(s->ptr, s->len)) {
		return (LLMCOST_EUTF8);
	}
	return (0);
}

static int
check_str(const llmcost_proto_str *s, uint32_t min, uint32_t max)
{
	return (check_str_t(s, min, max, 0));
}

static inline int str_bytes_eq(const char *a, const char *b, uint32_t n);

static int
str_eq(const llmcost_proto_str *a, const llmcost_proto_str *b)
{
	return (a->len == b->len && str_bytes_eq(a->ptr, b->ptr, a->len));
}

static void
pack_str(llmcost_proto_enc *e, const llmcost_proto_str *s)
{
	msgpack_pack_str(&e->pk, s->len);
	if (s->len > 0) {
		msgpack_pack_str_body(&e->pk, s->ptr, s->len);
	}
}

static void
pack_id(llmcost_proto_enc *e, const uint8_t id[16])
{
	msgpack_pack_bin(&e->pk, 16);
	msgpack_pack_bin_body(&e->pk, id, 16);
}

static void
pack_envelope(llmcost_proto_enc *e, size_t n, unsigned type)
{
	msgpack_pack_array(&e->pk, n);
	msgpack_pack_uint64(&e->pk, LLMCOST_PROTO_VERSION);
	msgpack_pack_uint64(&e->pk, type);
}

static int
batch_header(llmcost_proto_enc *e, uint32_t elements,
    const uint8_t client_id[16], uint64_t seq, uint64_t dropped,
    uint32_t n_records)
{
	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (client_id == NULL) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (n_records > LLMCOST_PROTO_MAX_RECORDS) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	pack_envelope(e, elements, LLMCOST_MSG_BATCH);
	pack_id(e, client_id);
	msgpack_pack_uint64(&e->pk, seq);
	msgpack_pack_uint64(&e->pk, dropped);
	msgpack_pack_array(&e->pk, n_records);
	return (enc_flush(e));
}

int
llmcost_proto_enc_batch_header(llmcost_proto_enc *e,
    const uint8_t client_id[16], uint64_t seq, uint64_t dropped,
    uint32_t n_records)
{
	return (batch_header(e, 6, client_id, seq, dropped, n_records));
}

int
llmcost_proto_enc_batch_header_lost(llmcost_proto_enc *e,
    const uint8_t client_id[16], uint64_t seq, uint64_t dropped,
    uint32_t n_records)
{
	return (batch_header(e, 7, client_id, seq, dropped, n_records));
}

int
llmcost_proto_enc_batch_lost(llmcost_proto_enc *e, uint64_t lost)
{
	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err == 0) {
		msgpack_pack_uint64(&e->pk, lost);
	}
	return (enc_flush(e));
}

static int
check_record(const llmcost_proto_record *r, int t)
{
	static const uint8_t zero[16] = { 0 };
	int rv;

	if (memcmp(r->run_id, zero, sizeof(zero)) == 0 || r->start_ns == 0
	    || r->status > LLMCOST_STATUS_ABORTED) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = check_str_t(&r->provider, 1, LLMCOST_MAX_PROVIDER, t)) != 0
	    || (rv = check_str_t(&r->model, 1, LLMCOST_MAX_MODEL, t)) != 0) {
		return (rv);
	}
	if (r->n_meta > LLMCOST_MAX_META || r->n_tags > LLMCOST_MAX_TAGS) {
		return (LLMCOST_ETOOBIG);
	}
	// A parent belongs to a trace.
	if (memcmp(r->trace_id, zero, sizeof(zero)) == 0
	    && memcmp(r->parent_run_id, zero, sizeof(zero)) != 0) {
		return (LLMCOST_EINVAL);
	}
	if (r->dotted_order.len > 0
	    && (rv = check_str_t(
	            &r->dotted_order, 1, LLMCOST_PROTO_MAX_DOTTED, t))
	        != 0) {
		return (rv);
	}
	if (r->service_tier > UINT8_MAX
	    || (r->platform.len > 0
	        && llmcost__platform_check(r->platform.ptr, r->platform.len)
	            != 0)) {
		return (r->platform.len > LLMCOST_MAX_PLATFORM
		        ? LLMCOST_ETOOBIG
		        : LLMCOST_EINVAL);
	}
	if ((r->n_meta > 0 && r->meta == NULL)
	    || (r->n_tags > 0 && r->tags == NULL)) {
		return (LLMCOST_EINVAL);
	}
	for (uint32_t i = 0; i < r->n_meta; i++) {
		const llmcost_proto_kv *kv = &r->meta[i];

		if ((rv = check_str_t(&kv->key, 1, LLMCOST_MAX_KEY, t)) != 0
		    || (rv = check_str_t(&kv->val, 0, LLMCOST_MAX_VALUE, t))
		        != 0) {
			return (rv);
		}
		for (uint32_t j = 0; j < i; j++) {
			if (str_eq(&r->meta[j].key, &kv->key)) {
				return (LLMCOST_EINVAL);
			}
		}
	}
	for (uint32_t i = 0; i < r->n_tags; i++) {
		if ((rv = check_str_t(&r->tags[i], 1, LLMCOST_MAX_TAG, t))
		    != 0) {
			return (rv);
		}
	}
	if (r->has_provider_cost && r->provider_cost_pusd > INT64_MAX) {
		return (LLMCOST_EINVAL);
	}
	return (0);
}

ENC_INLINE int
has_fees(const llmcost_proto_record *r)
{
	uint64_t any = 0;

	for (size_t i = 0; i < LLMCOST_FEE_COUNT; i++) {
		any |= r->fees[i];
	}
	return (any != 0);
}

// The most bytes a string takes: header and body.
#define STR_BOUND(s) (5 + (size_t) (s).len)

// An upper bound of the bytes of r's record (checked by check_record):
// every key one byte, every number and header at its longest.
static size_t
rec_bound(const llmcost_proto_record *r)
{
	size_t n = 3 + LLMCOST_RK_COUNT + 3 * 18 + 6 * 9
	    + (5 + 9 * (size_t) LLMCOST_BUCKET_COUNT)
	    + (5 + 9 * (size_t) LLMCOST_FEE_COUNT) + STR_BOUND(r->provider)
	    + STR_BOUND(r->model) + STR_BOUND(r->dotted_order)
	    + STR_BOUND(r->platform) + 5 + 5;

	for (uint32_t i = 0; i < r->n_meta; i++) {
		n += STR_BOUND(r->meta[i].key) + STR_BOUND(r->meta[i].val);
	}
	for (uint32_t i = 0; i < r->n_tags; i++) {
		n += STR_BOUND(r->tags[i]);
	}
	return (n);
}

// The last n < 8 bytes at p as a number, without a call to memcpy.
static inline uint64_t
tail_word(const char *p, uint32_t n)
{
	uint64_t w = 0;
	uint32_t v4;
	uint16_t v2;

	if (n & 4) {
		memcpy(&v4, p, 4);
		w = v4;
		p += 4;
	}
	if (n & 2) {
		memcpy(&v2, p, 2);
		w = (w << 16) | v2;
		p += 2;
	}
	if (n & 1) {
		w = (w << 8) | (uint8_t) *p;
	}
	return (w);
}

// A string's hash for the table: eight bytes at a time.
static inline uint32_t
str_hash(const char *p, uint32_t n)
{
	uint64_t h = (uint64_t) n * UINT64_C(0x9e3779b97f4a7c15);
	uint64_t w;

	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * UINT64_C(0xff51afd7ed558ccd);
		h ^= h >> 32;
	}
	if (n > 0) {
		h = (h ^ tail_word(p, n)) * UINT64_C(0xc4ceb9fe1a85ec53);
	}
	h ^= h >> 29;
	return ((uint32_t) h);
}

// Whether a[0..n) and b[0..n) are equal, inline (most strings are
// short: a call to memcmp would cost more): eight bytes at a time, the
// last eight overlapping the ones before; below eight bytes, two loads
// that overlap (four bytes and up) or every byte.
static inline int
str_bytes_eq(const char *a, const char *b, uint32_t n)
{
	uint64_t x, y;
	uint32_t u, v;

	if (n >= 8) {
		for (; n > 8; n -= 8, a += 8, b += 8) {
			memcpy(&x, a, 8);
			memcpy(&y, b, 8);
			if (x != y) {
				return (0);
			}
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return (x == y);
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		x = u;
		y = v;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return (x == y && u == v);
	}
	return (n == 0
	    || (a[0] == b[0] && a[n / 2] == b[n / 2] && a[n - 1] == b[n - 1]));
}

#define STRTAB_SLOTS (2 * LLMCOST_PROTO_STRTAB_ENC) // a power of two
#define STRTAB_NONE  UINT32_MAX

// The places of a record's strings, for llmcost_proto_strtab.last.
enum {
	STRTAB_K_PROVIDER = 0,
	STRTAB_K_MODEL = 1,
	STRTAB_K_PLATFORM = 2,
	STRTAB_K_KEY = 3,
	STRTAB_K_VAL = STRTAB_K_KEY + LLMCOST_MAX_META,
	STRTAB_K_TAG = STRTAB_K_VAL + LLMCOST_MAX_META,
	STRTAB_K_COUNT = STRTAB_K_TAG + LLMCOST_MAX_TAGS,
};
_Static_assert(STRTAB_K_COUNT == LLMCOST_PROTO_STRTAB_PLACES,
    "one place per string a record may hold in the table");

// The index of s in t, added if new; STRTAB_NONE when s is empty or the
// table is full (s is then written in place).  k is the place of s in
// its record (STRTAB_K_*).  Out of line: tab_ref tries the last
// record's string first.
static uint32_t
strtab_find(llmcost_proto_strtab *t, const llmcost_proto_str *s, uint32_t k)
{
	uint32_t i, x;

	if (s->len == 0) {
		return (STRTAB_NONE);
	}
	i = str_hash(s->ptr, s->len) & (STRTAB_SLOTS - 1);
	for (;;) {
		x = t->slot[i];
		if (x == 0) {
			break;
		}
		const llmcost_proto_str *o = &t->ent[x - 1];
		if (o->len == s->len && str_bytes_eq(o->ptr, s->ptr, s->len)) {
			t->last[k] = x - 1;
			return (x - 1);
		}
		i = (i + 1) & (STRTAB_SLOTS - 1);
	}
	if (t->n >= LLMCOST_PROTO_STRTAB_ENC) {
		return (STRTAB_NONE);
	}
	t->ent[t->n] = *s;
	t->str_bytes += s->len;
	t->pos[t->n] = (uint16_t) i;
	t->slot[i] = (uint16_t) (t->n + 1);
	t->last[k] = t->n;
	return (t->n++);
}

// A string of a record, at place k: its index in the table (idx[k],
// resolved by tab_resolve), or in place without a table (idx NULL) or
// when the table had no room for it.
ENC_INLINE void
put_ref(llmcost_proto_enc *e, put_cur *c, const uint32_t *idx,
    const llmcost_proto_str *s, uint32_t k, int fast)
{
	if (idx != NULL && idx[k] != STRTAB_NONE) {
		put_uint(e, c, idx[k], fast);
		return;
	}
	put_str(e, c, s, fast);
}

// The bytes of a TBATCH record's strings, by part, as the last record
// wrote them (tab_record): a record with the same strings copies them
// from that record, earlier in the same buffer.  Each part is copied
// whole, SEG_* bytes, past its length (loaded whole, then stored, so it
// may overlap): the pieces after it write over the rest, and every
// record's room has SEG_SLACK more, so reads and writes past a part stay
// in the buffer.
#define SEG_PM    8  // keys 3 and 4 with provider and model: at most 8
#define SEG_MT    32 // keys 7 and 8, meta and tags: at most 32 copied
#define SEG_PL    8  // key 16 and the platform: at most 4
#define SEG_SLACK 32

// Copies a part of n (SEG_*) bytes: loaded whole into registers, then
// stored, so it is a move, without a call.
ENC_INLINE void
seg_move(uint8_t *dst, const char *src, size_t n)
{
	uint64_t w[SEG_MT / 8];

	memcpy(w, src, n);
	memcpy(dst, w, n);
}

// Where the parts begin and end in a record written with direct stores.
typedef struct seg_marks {
	uint8_t *pm[2];
	uint8_t *mt[2];
	uint8_t *pl[2];
} seg_marks;

// The record's map of n entries, piece by piece (see put_hdr); with idx,
// its strings as indices into a table (TBATCH, tab_resolve), and with mk
// (fast only) where their parts are; with seg instead (fast only), its
// strings' parts copied from the last record's (llmcost_proto_strtab
// seg_*).
ENC_INLINE void
enc_pieces(llmcost_proto_enc *e, put_cur *c, const llmcost_proto_record *r,
    size_t n, int trace, int parent, int fees, int fast, const uint32_t *idx,
    seg_marks *mk, const llmcost_proto_strtab *seg)
{
	put_map(e, c, n, fast);
	put_uint(e, c, LLMCOST_RK_RUN_ID, fast);
	put_id(e, c, r->run_id, fast);
	put_uint(e, c, LLMCOST_RK_START_NS, fast);
	put_uint(e, c, r->start_ns, fast);
	put_uint(e, c, LLMCOST_RK_DURATION_NS, fast);
	put_uint(e, c, r->duration_ns, fast);
	if (seg != NULL) {
		seg_move(c->w, seg->recs.data + seg->seg_pm[0], SEG_PM);
		c->w += seg->seg_pm[1];
	} else {
		if (mk != NULL) {
			mk->pm[0] = c->w;
		}
		put_uint(e, c, LLMCOST_RK_PROVIDER, fast);
		put_ref(e, c, idx, &r->provider, STRTAB_K_PROVIDER, fast);
		put_uint(e, c, LLMCOST_RK_MODEL, fast);
		put_ref(e, c, idx, &r->model, STRTAB_K_MODEL, fast);
		if (mk != NULL) {
			mk->pm[1] = c->w;
		}
	}
	put_uint(e, c, LLMCOST_RK_USAGE, fast);
	put_array(e, c, LLMCOST_BUCKET_COUNT, fast);
	for (size_t i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		put_uint(e, c, r->usage[i], fast);
	}
	if (r->status != 0) {
		put_uint(e, c, LLMCOST_RK_STATUS, fast);
		put_uint(e, c, r->status, fast);
	}
	if (seg != NULL) {
		seg_move(c->w, seg->recs.data + seg->seg_mt[0], SEG_MT);
		c->w += seg->seg_mt[1];
	} else {
		if (mk != NULL) {
			mk->mt[0] = c->w;
		}
		if (r->n_meta > 0) {
			put_uint(e, c, LLMCOST_RK_META, fast);
			put_map(e, c, r->n_meta, fast);
			for (uint32_t i = 0; i < r->n_meta; i++) {
				put_ref(e, c, idx, &r->meta[i].key,
				    STRTAB_K_KEY + i, fast);
				put_ref(e, c, idx, &r->meta[i].val,
				    STRTAB_K_VAL + i, fast);
			}
		}
		if (r->n_tags > 0) {
			put_uint(e, c, LLMCOST_RK_TAGS, fast);
			put_array(e, c, r->n_tags, fast);
			for (uint32_t i = 0; i < r->n_tags; i++) {
				put_ref(e, c, idx, &r->tags[i],
				    STRTAB_K_TAG + i, fast);
			}
		}
		if (mk != NULL) {
			mk->mt[1] = c->w;
		}
	}
	if (fees) {
		put_uint(e, c, LLMCOST_RK_FEES, fast);
		put_array(e, c, LLMCOST_FEE_COUNT, fast);
		for (size_t i = 0; i < LLMCOST_FEE_COUNT; i++) {
			put_uint(e, c, r->fees[i], fast);
		}
	}
	if (r->has_provider_cost) {
		put_uint(e, c, LLMCOST_RK_PROVIDER_COST, fast);
		put_uint(e, c, r->provider_cost_pusd, fast);
	}
	if (r->usage_flags != 0) {
		put_uint(e, c, LLMCOST_RK_USAGE_FLAGS, fast);
		put_uint(e, c, r->usage_flags, fast);
	}
	if (trace) {
		put_uint(e, c, LLMCOST_RK_TRACE_ID, fast);
		put_id(e, c, r->trace_id, fast);
	}
	if (parent) {
		put_uint(e, c, LLMCOST_RK_PARENT_RUN_ID, fast);
		put_id(e, c, r->parent_run_id, fast);
	}
	if (r->dotted_order.len > 0) {
		put_uint(e, c, LLMCOST_RK_DOTTED_ORDER, fast);
		put_str(e, c, &r->dotted_order, fast);
	}
	if (r->service_tier != 0) {
		put_uint(e, c, LLMCOST_RK_SERVICE_TIER, fast);
		put_uint(e, c, r->service_tier, fast);
	}
	if (seg != NULL) {
		seg_move(c->w, seg->recs.data + seg->seg_pl[0], SEG_PL);
		c->w += seg->seg_pl[1];
	} else {
		if (mk != NULL) {
			mk->pl[0] = c->w;
		}
		if (r->platform.len > 0) {
			put_uint(e, c, LLMCOST_RK_PLATFORM, fast);
			put_ref(
			    e, c, idx, &r->platform, STRTAB_K_PLATFORM, fast);
		}
		if (mk != NULL) {
			mk->pl[1] = c->w;
		}
	}
}

// Whether a 16-byte id is all zero: two loads, no call.
static inline int
id_zero(const uint8_t id[16])
{
	uint64_t a, b;

	memcpy(&a, id, 8);
	memcpy(&b, id + 8, 8);
	return ((a | b) == 0);
}

// The entries of r's map and the optional parts it has.
typedef struct rec_form {
	size_t n;
	int trace;
	int parent;
	int fees;
} rec_form;

ENC_INLINE void
rec_form_of(const llmcost_proto_record *r, rec_form *f)
{
	f->fees = has_fees(r);
	f->trace = !id_zero(r->trace_id);
	f->parent = !id_zero(r->parent_run_id);
	f->n = 6 + (size_t) (r->status != 0) + (size_t) (r->n_meta > 0)
	    + (size_t) (r->n_tags > 0) + (size_t) f->fees
	    + (size_t) (r->has_provider_cost != 0)
	    + (size_t) (r->usage_flags != 0) + (size_t) f->trace
	    + (size_t) f->parent + (size_t) (r->dotted_order.len > 0)
	    + (size_t) (r->service_tier != 0) + (size_t) (r->platform.len > 0);
}

// Writes r (checked) through the stage; with idx, its strings as the
// table indices tab_check resolved.
static int
enc_staged(llmcost_proto_enc *e, const llmcost_proto_record *r,
    const rec_form *f, const uint32_t *idx)
{
	// Hand over what is staged first if that makes room for the whole
	// record; one that fits nowhere goes piece by piece.
	size_t bound = rec_bound(r);
	if (bound > sizeof(e->stage_) - e->staged_
	    && bound <= sizeof(e->stage_) && enc_flush(e) != 0) {
		return (e->err);
	}
	put_cur c;
	if (bound <= sizeof(e->stage_) - e->staged_) {
		c.w = (uint8_t *) e->stage_ + e->staged_;
		enc_pieces(e, &c, r, f->n, f->trace, f->parent, f->fees, 1,
		    idx, NULL, NULL);
		e->staged_ = (size_t) ((char *) c.w - e->stage_);
	} else {
		c.w = NULL;
		enc_pieces(e, &c, r, f->n, f->trace, f->parent, f->fees, 0,
		    idx, NULL, NULL);
	}
	return (enc_flush(e));
}

int
llmcost_proto_enc_record(llmcost_proto_enc *e, const llmcost_proto_record *r)
{
	rec_form f;
	int rv;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (r == NULL) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if ((rv = check_record(r, e->utf8_trusted)) != 0) {
		return (enc_fail(e, rv));
	}
	rec_form_of(r, &f);
	return (enc_staged(e, r, &f, NULL));
}

// ---- TBATCH records ----
//
// A record of a TBATCH is checked and its strings resolved to table
// indices in one pass (tab_check), then written with direct stores into
// the table's buffer, grown first to the record's bound; only a record
// whose bound would pass the message cap goes through the stage, which
// checks the cap byte by byte.  A string equal to the one the same place
// held in the last record (the same pointer, or the same bytes) takes
// that entry without a hash, and without its checks: the entry passed
// the same checks at the same place when it was first met there, under
// the same utf8_trusted (both hold from strtab_begin on).

// The most bytes of a TBATCH record besides its strings and
// dotted_order: every key one byte, every number and header at its
// longest, as rec_bound.
#define TAB_REC_BASE                                                          \
	(3 + LLMCOST_RK_COUNT + 3 * 18 + 6 * 9                                \
	    + (5 + 9 * (size_t) LLMCOST_BUCKET_COUNT)                         \
	    + (5 + 9 * (size_t) LLMCOST_FEE_COUNT) + 5 + 5)
// The most bytes of a string written as an index (at most 0xcd and two).
#define TAB_REF_BOUND 3

// Resolves s at place k to *x: its entry, or STRTAB_NONE (written in
// place, *room grown by its bytes).  Checks s as check_str_t unless it is
// place k's string in the last record.  *moved gets a bit set unless *x
// is an entry and the one *x held before (the last record's at place k,
// tab_resolve).  Returns 0 or the check's error.
ENC_INLINE int
tab_ref(llmcost_proto_strtab *t, const llmcost_proto_str *s, uint32_t k,
    uint32_t min, uint32_t max, uint32_t *x, size_t *room, uint32_t *moved)
{
	uint32_t i = t->last[k];
	uint32_t was = *x;
	int rv;

	if (i < t->n && s->ptr != NULL) {
		const llmcost_proto_str *o = &t->ent[i];
		if (o->len == s->len
		    && (o->ptr == s->ptr
		        || str_bytes_eq(o->ptr, s->ptr, s->len))) {
			*moved |= i ^ was;
			*x = i;
			return (0);
		}
	}
	if ((rv = check_str_t(s, min, max, t->enc.utf8_trusted)) != 0) {
		return (rv);
	}
	if ((*x = strtab_find(t, s, k)) == STRTAB_NONE) {
		*room += STR_BOUND(*s);
	}
	*moved |= (*x ^ was) | (*x == STRTAB_NONE);
	return (0);
}

// check_record for a TBATCH record, in the same order, resolving each
// string to idx[place] (STRTAB_* places) as it goes; *room is the
// record's bound.  Its strings become the ones tab_same compares with.
// *like: whether the record's strings are, place by place, the last
// record's entries, with the same count at each part (then the parts
// with strings are the last record's bytes, llmcost_proto_strtab
// seg_*).  A record refused after some of its strings went into the
// table leaves them there: the table's error is sticky, so nothing of it
// is written.
static int
tab_resolve(llmcost_proto_strtab *t, const llmcost_proto_record *r,
    const rec_form *f, uint32_t *idx, size_t *room, int *like)
{
	// Bits set when a place's entry is not the last record's.
	uint32_t moved = (r->n_meta ^ t->same_n_meta)
	    | (r->n_tags ^ t->same_n_tags)
	    | ((r->platform.len > 0) ^ (t->same_str[2].len > 0));
	int rv;

	*room = TAB_REC_BASE + STR_BOUND(r->dotted_order)
	    + TAB_REF_BOUND * (3 + 2 * (size_t) r->n_meta + r->n_tags);
	if (id_zero(r->run_id) || r->start_ns == 0
	    || r->status > LLMCOST_STATUS_ABORTED) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = tab_ref(t, &r->provider, STRTAB_K_PROVIDER, 1,
	         LLMCOST_MAX_PROVIDER, &idx[STRTAB_K_PROVIDER], room, &moved))
	        != 0
	    || (rv = tab_ref(t, &r->model, STRTAB_K_MODEL, 1,
	            LLMCOST_MAX_MODEL, &idx[STRTAB_K_MODEL], room, &moved))
	        != 0) {
		return (rv);
	}
	if (r->n_meta > LLMCOST_MAX_META || r->n_tags > LLMCOST_MAX_TAGS) {
		return (LLMCOST_ETOOBIG);
	}
	if (!f->trace && f->parent) {
		return (LLMCOST_EINVAL);
	}
	if (r->dotted_order.len > 0
	    && (rv = check_str_t(&r->dotted_order, 1, LLMCOST_PROTO_MAX_DOTTED,
	            t->enc.utf8_trusted))
	        != 0) {
		return (rv);
	}
	if (r->service_tier > UINT8_MAX) {
		return (r->platform.len > LLMCOST_MAX_PLATFORM
		        ? LLMCOST_ETOOBIG
		        : LLMCOST_EINVAL);
	}
	if (r->platform.len > 0) {
		uint32_t i = t->last[STRTAB_K_PLATFORM];
		uint32_t was = idx[STRTAB_K_PLATFORM];
		const llmcost_proto_str *p = &r->platform;
		if (i < t->n && p->ptr != NULL && t->ent[i].len == p->len
		    && (t->ent[i].ptr == p->ptr
		        || str_bytes_eq(t->ent[i].ptr, p->ptr, p->len))) {
			idx[STRTAB_K_PLATFORM] = i;
		} else if (p->ptr == NULL
		    || llmcost__platform_check(p->ptr, p->len) != 0) {
			return (p->len > LLMCOST_MAX_PLATFORM
			        ? LLMCOST_ETOOBIG
			        : LLMCOST_EINVAL);
		} else if ((idx[STRTAB_K_PLATFORM]
		               = strtab_find(t, p, STRTAB_K_PLATFORM))
		    == STRTAB_NONE) {
			*room += STR_BOUND(*p);
			moved = 1;
		}
		moved |= idx[STRTAB_K_PLATFORM] ^ was;
	}
	if ((r->n_meta > 0 && r->meta == NULL)
	    || (r->n_tags > 0 && r->tags == NULL)) {
		return (LLMCOST_EINVAL);
	}
	// Keys that are the last record's, place by place, are distinct
	// when that record's were: its first keys_ok keys are (see
	// llmcost_proto_strtab.keys_ok).
	uint32_t *ki = &idx[STRTAB_K_KEY];
	int same = r->n_meta <= t->keys_ok;
	for (uint32_t i = 0; i < r->n_meta; i++) {
		const llmcost_proto_kv *kv = &r->meta[i];
		uint32_t was = t->last[STRTAB_K_KEY + i];

		if ((rv = tab_ref(t, &kv->key, STRTAB_K_KEY + i, 1,
		         LLMCOST_MAX_KEY, &ki[i], room, &moved))
		        != 0
		    || (rv = tab_ref(t, &kv->val, STRTAB_K_VAL + i, 0,
		            LLMCOST_MAX_VALUE, &idx[STRTAB_K_VAL + i], room,
		            &moved))
		        != 0) {
			return (rv);
		}
		same &= ki[i] == was;
	}
	// Else every pair: entries are distinct strings, so two keys in the
	// table are equal when their indices are.
	for (uint32_t i = 1; !same && i < r->n_meta; i++) {
		for (uint32_t j = 0; j < i; j++) {
			if (ki[i] != STRTAB_NONE && ki[j] != STRTAB_NONE
			        ? ki[i] == ki[j]
			        : str_eq(&r->meta[j].key, &r->meta[i].key)) {
				return (LLMCOST_EINVAL);
			}
		}
	}
	// From here the record is taken: its keys are the ones the next
	// record is compared with.
	t->keys_ok = r->n_meta;
	for (uint32_t i = 0; i < r->n_meta; i++) {
		if (ki[i] == STRTAB_NONE) {
			t->keys_ok = 0;
			break;
		}
	}
	for (uint32_t i = 0; i < r->n_tags; i++) {
		if ((rv = tab_ref(t, &r->tags[i], STRTAB_K_TAG + i, 1,
		         LLMCOST_MAX_TAG, &idx[STRTAB_K_TAG + i], room,
		         &moved))
		    != 0) {
			return (rv);
		}
	}
	if (r->has_provider_cost && r->provider_cost_pusd > INT64_MAX) {
		return (LLMCOST_EINVAL);
	}
	*like = moved == 0;
	t->same_ok = 1;
	t->same_room = *room - TAB_REC_BASE - STR_BOUND(r->dotted_order);
	t->same_str[0] = r->provider;
	t->same_str[1] = r->model;
	t->same_str[2] = r->platform;
	t->same_n_meta = r->n_meta;
	t->same_n_tags = r->n_tags;
	t->same_meta = r->meta;
	t->same_tags = r->tags;
	return (0);
}

static inline int
str_same(const llmcost_proto_str *a, const llmcost_proto_str *b)
{
	return (a->ptr == b->ptr && a->len == b->len);
}

// Whether every string of r is, place by place, the same pointer and
// length as the last record's (llmcost_proto_strtab.same_*), its meta
// and tags the same arrays: then they are the same bytes (the records'
// strings and arrays stay as they are until the message is written),
// with the same entries and the same checks passed.  A record with the
// last one's strings in arrays of its own is found by tab_resolve.
static int
tab_same(const llmcost_proto_strtab *t, const llmcost_proto_record *r)
{
	return (t->same_ok && r->n_meta == t->same_n_meta
	    && r->n_tags == t->same_n_tags && r->meta == t->same_meta
	    && r->tags == t->same_tags
	    && str_same(&r->provider, &t->same_str[0])
	    && str_same(&r->model, &t->same_str[1])
	    && str_same(&r->platform, &t->same_str[2]));
}

// check_record's checks of everything but the strings, for a record
// whose strings are the last record's (tab_same); f is its form.
static int
tab_check_rest(const llmcost_proto_strtab *t, const llmcost_proto_record *r,
    const rec_form *f)
{
	if (id_zero(r->run_id) || r->start_ns == 0
	    || r->status > LLMCOST_STATUS_ABORTED
	    || (!f->trace && f->parent)) {
		return (LLMCOST_EINVAL);
	}
	if (r->dotted_order.len > 0) {
		int rv = check_str_t(&r->dotted_order, 1,
		    LLMCOST_PROTO_MAX_DOTTED, t->enc.utf8_trusted);
		if (rv != 0) {
			return (rv);
		}
	}
	if (r->service_tier > UINT8_MAX) {
		return (r->platform.len > LLMCOST_MAX_PLATFORM
		        ? LLMCOST_ETOOBIG
		        : LLMCOST_EINVAL);
	}
	if (r->has_provider_cost && r->provider_cost_pusd > INT64_MAX) {
		return (LLMCOST_EINVAL);
	}
	return (0);
}

// Makes room for need bytes in all in b (within its cap).  Returns 0, or
// -1 when need passes the cap or memory is short.
static int
buf_reserve(llmcost_proto_buf *b, size_t need)
{
	size_t max = b->max != 0 ? b->max : LLMCOST_PROTO_MAX_MSG;
	size_t ncap;
	char *nd;

	if (need <= b->cap) {
		return (0);
	}
	if (need > max) {
		return (-1);
	}
	ncap = b->cap != 0 ? b->cap : 256;
	if (ncap > max) {
		ncap = max;
	}
	while (ncap < need) {
		ncap = ncap > max / 2 ? max : ncap * 2;
	}
	if ((nd = realloc(b->data, ncap)) == NULL) {
		return (-1);
	}
	b->data = nd;
	b->cap = ncap;
	return (0);
}

// Keeps where the parts of the record just written (mk) are, for the
// next record with the same strings, when each fits its copy.
ENC_INLINE void
seg_keep(llmcost_proto_strtab *t, const seg_marks *mk)
{
	const uint8_t *base = (const uint8_t *) t->recs.data;
	size_t pm = (size_t) (mk->pm[1] - mk->pm[0]);
	size_t mt = (size_t) (mk->mt[1] - mk->mt[0]);
	size_t pl = (size_t) (mk->pl[1] - mk->pl[0]);

	t->seg_ok = pm <= SEG_PM && mt <= SEG_MT && pl <= SEG_PL;
	t->seg_pm[0] = (size_t) (mk->pm[0] - base);
	t->seg_pm[1] = pm;
	t->seg_mt[0] = (size_t) (mk->mt[0] - base);
	t->seg_mt[1] = mt;
	t->seg_pl[0] = (size_t) (mk->pl[0] - base);
	t->seg_pl[1] = pl;
}

static int
tab_record(llmcost_proto_strtab *t, const llmcost_proto_record *r)
{
	llmcost_proto_enc *e = &t->enc;
	llmcost_proto_buf *b = &t->recs;
	uint32_t *idx = t->idx;
	size_t room;
	rec_form f;
	int rv;

	// The form first (no side effect): the checks use its ids.
	rec_form_of(r, &f);
	int same = tab_same(t, r);
	int like = same;
	if (same) {
		// The strings' entries are in idx from the last record.
		room
		    = TAB_REC_BASE + STR_BOUND(r->dotted_order) + t->same_room;
		rv = tab_check_rest(t, r, &f);
	} else {
		t->same_ok = 0;
		rv = tab_resolve(t, r, &f, idx, &room, &like);
	}
	if (rv != 0) {
		return (enc_fail(e, rv));
	}
	// The stage is empty between records (enc_staged ends with a
	// flush), so the buffer holds every byte written so far.
	room += SEG_SLACK;
	if (room <= e->limit - e->written
	    && buf_reserve(b, b->len + room) == 0) {
		put_cur c = { (uint8_t *) b->data + b->len };
		if (like && t->seg_ok) {
			enc_pieces(e, &c, r, f.n, f.trace, f.parent, f.fees, 1,
			    NULL, NULL, t);
		} else {
			seg_marks mk;
			enc_pieces(e, &c, r, f.n, f.trace, f.parent, f.fees, 1,
			    idx, &mk, NULL);
			seg_keep(t, &mk);
		}
		b->len = (size_t) ((char *) c.w - b->data);
		e->written = b->len;
		return (0);
	}
	t->seg_ok = 0;
	return (enc_staged(e, r, &f, idx));
}

int
llmcost_proto_strtab_init(llmcost_proto_strtab *t)
{
	if (t == NULL) {
		return (LLMCOST_EINVAL);
	}
	memset(t, 0, sizeof(*t));
	t->ent = malloc(LLMCOST_PROTO_STRTAB_ENC * sizeof(*t->ent));
	t->slot = calloc(STRTAB_SLOTS, sizeof(*t->slot));
	t->pos = malloc(LLMCOST_PROTO_STRTAB_ENC * sizeof(*t->pos));
	if (t->ent == NULL || t->slot == NULL || t->pos == NULL) {
		llmcost_proto_strtab_fini(t);
		return (LLMCOST_ENOMEM);
	}
	llmcost_proto_strtab_begin(t, 0);
	return (0);
}

void
llmcost_proto_strtab_fini(llmcost_proto_strtab *t)
{
	if (t == NULL) {
		return;
	}
	free(t->ent);
	free(t->slot);
	free(t->pos);
	llmcost_proto_buf_free(&t->recs);
	memset(t, 0, sizeof(*t));
}

void
llmcost_proto_strtab_begin(llmcost_proto_strtab *t, int utf8_trusted)
{
	// Only the slots in use are cleared, so a small batch costs little;
	// the entries' strings (the last batch's) are not read again.
	for (uint32_t i = 0; i < t->n; i++) {
		t->slot[t->pos[i]] = 0;
	}
	t->n = 0;
	t->str_bytes = 0;
	t->n_recs = 0;
	t->keys_ok = 0;
	t->same_ok = 0;
	t->seg_ok = 0;
	// No entry yet: every place points past the table.
	memset(t->last, 0xff, sizeof(t->last));
	t->recs.len = 0;
	llmcost_proto_enc_init(&t->enc, llmcost_proto_buf_write, &t->recs, 0);
	t->enc.utf8_trusted = utf8_trusted;
	if (t->ent == NULL || t->slot == NULL || t->pos == NULL) {
		t->enc.err = LLMCOST_EINVAL;
	}
}

int
llmcost_proto_strtab_record(
    llmcost_proto_strtab *t, const llmcost_proto_record *r)
{
	if (t == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (t->enc.err == 0 && t->n_recs >= LLMCOST_PROTO_MAX_RECORDS) {
		return (enc_fail(&t->enc, LLMCOST_ETOOBIG));
	}
	if (t->enc.err != 0) {
		return (t->enc.err);
	}
	if (r == NULL) {
		return (enc_fail(&t->enc, LLMCOST_EINVAL));
	}
	if (tab_record(t, r) == 0) {
		t->n_recs++;
	}
	return (t->enc.err);
}

int
llmcost_proto_enc_tbatch(llmcost_proto_enc *e, const uint8_t client_id[16],
    uint64_t seq, uint64_t dropped, uint64_t exporter_lost,
    const llmcost_proto_strtab *t)
{
	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (client_id == NULL || t == NULL) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (t->enc.err != 0) {
		return (enc_fail(e, t->enc.err));
	}
	pack_envelope(e, 8, LLMCOST_MSG_TBATCH);
	pack_id(e, client_id);
	msgpack_pack_uint64(&e->pk, seq);
	msgpack_pack_uint64(&e->pk, dropped);
	msgpack_pack_uint64(&e->pk, exporter_lost);
	msgpack_pack_array(&e->pk, t->n);
	for (uint32_t i = 0; i < t->n; i++) {
		pack_str(e, &t->ent[i]);
	}
	msgpack_pack_array(&e->pk, t->n_recs);
	if (enc_flush(e) == 0 && t->recs.len > 0) {
		(void) enc_write(e, t->recs.data, t->recs.len);
	}
	return (enc_flush(e));
}

// Copies at most LLMCOST_PROTO_MAX_REASON bytes of src into dst, whole
// UTF-8 sequences only, with '?' for each byte that does not start a
// well-formed sequence.  Returns the number of bytes written.
static size_t
reason_clean(const char *src, size_t len, char *dst)
{
	size_t i = 0;
	size_t o = 0;

	while (i < len) {
		size_t n = 1;

		if ((uint8_t) src[i] >= 0x80) {
			// Find the shortest prefix (1..4 bytes) that is one
			// well-formed sequence, if any.
			size_t k;
			for (k = 2; k <= 4 && k <= len - i; k++) {
				if (llmcost__utf8_valid(src + i, k)) {
					break;
				}
			}
			if (k <= 4 && k <= len - i) {
				n = k;
			}
		}
		if (n > LLMCOST_PROTO_MAX_REASON - o) {
			break;
		}
		if (n == 1 && (uint8_t) src[i] >= 0x80) {
			dst[o] = '?';
		} else {
			memcpy(dst + o, src + i, n);
		}
		o += n;
		i += n;
	}
	return (o);
}

int
llmcost_proto_enc_ack(llmcost_proto_enc *e, const llmcost_proto_ack *a)
{
	char buf[LLMCOST_PROTO_MAX_REASON];
	llmcost_proto_str reason;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (a == NULL || a->status > LLMCOST_ACK_RETRY
	    || (a->reason.len > 0 && a->reason.ptr == NULL)) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	reason.ptr = buf;
	reason.len
	    = (uint32_t) reason_clean(a->reason.ptr, a->reason.len, buf);

	pack_envelope(e, a->features != 0 ? 9 : 8, LLMCOST_MSG_ACK);
	pack_id(e, a->client_id);
	msgpack_pack_uint64(&e->pk, a->seq);
	msgpack_pack_uint64(&e->pk, a->status);
	msgpack_pack_uint64(&e->pk, a->stored);
	msgpack_pack_uint64(&e->pk, a->duplicates);
	pack_str(e, &reason);
	if (a->features != 0) {
		msgpack_pack_uint64(&e->pk, a->features);
	}
	return (enc_flush(e));
}

int
llmcost_proto_enc_stats_req(llmcost_proto_enc *e)
{
	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	pack_envelope(e, 2, LLMCOST_MSG_STATS_REQ);
	return (enc_flush(e));
}

int
llmcost_proto_enc_stats(llmcost_proto_enc *e, const llmcost_proto_stats *s)
{
	int rv;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (s == NULL) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (s->n > LLMCOST_PROTO_MAX_STATS) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	for (uint32_t i = 0; i < s->n; i++) {
		rv = check_str_t(
		    &s->names[i], 1, LLMCOST_PROTO_MAX_STAT_NAME, 0);
		if (rv != 0) {
			return (enc_fail(e, rv));
		}
		for (uint32_t j = 0; j < i; j++) {
			if (str_eq(&s->names[j], &s->names[i])) {
				return (enc_fail(e, LLMCOST_EINVAL));
			}
		}
	}
	pack_envelope(e, 3, LLMCOST_MSG_STATS);
	msgpack_pack_map(&e->pk, s->n);
	for (uint32_t i = 0; i < s->n; i++) {
		pack_str(e, &s->names[i]);
		msgpack_pack_uint64(&e->pk, s->values[i]);
	}
	return (enc_flush(e));
}

// ---- QUERY and QUERY_REPLY ----

int
llmcost_proto_enc_query(llmcost_proto_enc *e, const llmcost_proto_query *q)
{
	int rv = 0;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (q == NULL) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (q->n_by > LLMCOST_PROTO_MAX_QKEYS
	    || q->n_where > LLMCOST_PROTO_MAX_QFILTERS) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	if (q->every > 3 || q->flags > 1) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	for (uint32_t i = 0; i < q->n_by && rv == 0; i++) {
		rv = check_str(&q->by[i], 1, LLMCOST_PROTO_MAX_QKEY);
	}
	for (uint32_t i = 0; i < q->n_where && rv == 0; i++) {
		rv = check_str(&q->where[i].key, 1, LLMCOST_PROTO_MAX_QKEY);
		if (rv == 0) {
			rv = check_str(
			    &q->where[i].value, 0, LLMCOST_PROTO_MAX_QVALUE);
		}
		if (rv == 0 && q->where[i].negate > 1) {
			rv = LLMCOST_EINVAL;
		}
	}
	if (rv == 0) {
		rv = check_str(&q->tz, 0, LLMCOST_PROTO_MAX_QTZ);
	}
	if (rv != 0) {
		return (enc_fail(e, rv));
	}
	pack_envelope(e, 11, LLMCOST_MSG_QUERY);
	msgpack_pack_array(&e->pk, q->n_by);
	for (uint32_t i = 0; i < q->n_by; i++) {
		pack_str(e, &q->by[i]);
	}
	msgpack_pack_array(&e->pk, q->n_where);
	for (uint32_t i = 0; i < q->n_where; i++) {
		msgpack_pack_array(&e->pk, 3);
		pack_str(e, &q->where[i].key);
		if (q->where[i].negate) {
			msgpack_pack_true(&e->pk);
		} else {
			msgpack_pack_false(&e->pk);
		}
		pack_str(e, &q->where[i].value);
	}
	msgpack_pack_uint64(&e->pk, q->from_ns);
	msgpack_pack_uint64(&e->pk, q->to_ns);
	msgpack_pack_uint64(&e->pk, q->every);
	pack_str(e, &q->tz);
	msgpack_pack_uint64(&e->pk, q->top);
	msgpack_pack_uint64(&e->pk, q->max_groups);
	msgpack_pack_uint64(&e->pk, q->flags);
	return (enc_flush(e));
}

// A 128-bit amount: bin 8 of 16 bytes, big-endian two's complement.
static void
pack_i128(llmcost_proto_enc *e, llmcost_proto_i128 v)
{
	uint8_t b[16];
	unsigned __int128 u = (unsigned __int128) v;
	for (int i = 15; i >= 0; i--) {
		b[i] = (uint8_t) u;
		u >>= 8;
	}
	msgpack_pack_bin(&e->pk, 16);
	msgpack_pack_bin_body(&e->pk, b, 16);
}

// A signed integer in its smallest form: as a uint when >= 0 (as every
// other integer of v1), else msgpack's smallest negative form.
static void
pack_int(llmcost_proto_enc *e, int64_t v)
{
	if (v >= 0) {
		msgpack_pack_uint64(&e->pk, (uint64_t) v);
	} else {
		msgpack_pack_int64(&e->pk, v);
	}
}

static void
pack_qsums(llmcost_proto_enc *e, const llmcost_proto_qsums *s)
{
	msgpack_pack_array(&e->pk, 13);
	msgpack_pack_uint64(&e->pk, s->calls);
	msgpack_pack_uint64(&e->pk, s->unpriced_calls);
	msgpack_pack_uint64(&e->pk, s->error_calls);
	msgpack_pack_array(&e->pk, LLMCOST_BUCKET_COUNT);
	for (int i = 0; i < LLMCOST_BUCKET_COUNT; i++) {
		msgpack_pack_uint64(&e->pk, s->usage[i]);
	}
	msgpack_pack_uint64(&e->pk, s->input_tokens);
	msgpack_pack_uint64(&e->pk, s->output_tokens);
	pack_i128(e, s->cost_pusd);
	msgpack_pack_array(&e->pk, LLMCOST_FEE_COUNT);
	for (int i = 0; i < LLMCOST_FEE_COUNT; i++) {
		msgpack_pack_uint64(&e->pk, s->fees[i]);
	}
	pack_i128(e, s->fee_cost_pusd);
	msgpack_pack_uint64(&e->pk, s->provider_cost_calls);
	pack_i128(e, s->provider_cost_pusd);
	msgpack_pack_uint64(&e->pk, s->usage_missing_calls);
	msgpack_pack_uint64(&e->pk, s->usage_partial_calls);
}

int
llmcost_proto_enc_qreply_header(
    llmcost_proto_enc *e, const llmcost_proto_qreply *r, uint32_t n_rows)
{
	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (r == NULL || r->status > 255 || r->capped > 1
	    || (r->status != 0 && n_rows != 0)) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (n_rows > LLMCOST_PROTO_MAX_QROWS) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	// A reason is a diagnostic, cut to fit as an ACK's is.
	char reason[LLMCOST_PROTO_MAX_REASON];
	llmcost_proto_str rs = { reason, 0 };
	if (r->reason.len > 0 && r->reason.ptr != NULL) {
		rs.len = (uint32_t) reason_clean(
		    r->reason.ptr, r->reason.len, reason);
	}
	pack_envelope(e, r->has_ptables ? 15 : 14, LLMCOST_MSG_QUERY_REPLY);
	msgpack_pack_uint64(&e->pk, r->status);
	pack_str(e, &rs);
	pack_int(e, r->from_off);
	pack_int(e, r->to_off);
	if (r->capped) {
		msgpack_pack_true(&e->pk);
	} else {
		msgpack_pack_false(&e->pk);
	}
	msgpack_pack_uint64(&e->pk, r->groups);
	msgpack_pack_uint64(&e->pk, r->dropped);
	msgpack_pack_uint64(&e->pk, r->runs_scanned);
	msgpack_pack_uint64(&e->pk, r->rollups_read);
	pack_qsums(e, &r->total);
	msgpack_pack_array(&e->pk, n_rows);
	return (enc_flush(e));
}

int
llmcost_proto_enc_qrow(llmcost_proto_enc *e, const llmcost_proto_qrow *r)
{
	int rv = 0;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (r == NULL || r->other > 1) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (r->n_keys > LLMCOST_PROTO_MAX_QKEYS) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	for (uint32_t i = 0; i < r->n_keys && rv == 0; i++) {
		if (r->has_key[i]) {
			rv = check_str(&r->keys[i], 0, LLMCOST_PROTO_MAX_QSTR);
		}
	}
	if (rv != 0) {
		return (enc_fail(e, rv));
	}
	msgpack_pack_array(&e->pk, 7);
	pack_int(e, r->bucket);
	pack_int(e, r->bucket_end);
	pack_int(e, r->bucket_off);
	pack_int(e, r->bucket_end_off);
	if (r->other) {
		msgpack_pack_true(&e->pk);
	} else {
		msgpack_pack_false(&e->pk);
	}
	msgpack_pack_array(&e->pk, r->n_keys);
	for (uint32_t i = 0; i < r->n_keys; i++) {
		if (r->has_key[i]) {
			pack_str(e, &r->keys[i]);
		} else {
			msgpack_pack_nil(&e->pk);
		}
	}
	pack_qsums(e, &r->sum);
	return (enc_flush(e));
}

int
llmcost_proto_enc_qunpriced(
    llmcost_proto_enc *e, const llmcost_proto_qunpriced *u, uint32_t n)
{
	int rv = 0;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (n > LLMCOST_PROTO_MAX_QUNPRICED) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	if (n > 0 && u == NULL) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	for (uint32_t i = 0; i < n && rv == 0; i++) {
		rv = check_str(&u[i].provider, 0, LLMCOST_MAX_PROVIDER);
		if (rv == 0) {
			rv = check_str(&u[i].model, 0, LLMCOST_MAX_MODEL);
		}
	}
	if (rv != 0) {
		return (enc_fail(e, rv));
	}
	msgpack_pack_array(&e->pk, n);
	for (uint32_t i = 0; i < n; i++) {
		msgpack_pack_array(&e->pk, 3);
		pack_str(e, &u[i].provider);
		pack_str(e, &u[i].model);
		msgpack_pack_uint64(&e->pk, u[i].calls);
	}
	return (enc_flush(e));
}

int
llmcost_proto_enc_qptables(llmcost_proto_enc *e, const llmcost_proto_qreply *r)
{
	int rv = 0;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (r == NULL || !r->has_ptables
	    || r->ptables_flags
	        > (LLMCOST_PROTO_QPT_UNKNOWN | LLMCOST_PROTO_QPT_MORE)) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (r->n_ptables > LLMCOST_PROTO_MAX_QPTABLES) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	for (uint32_t i = 0; i < r->n_ptables && rv == 0; i++) {
		rv = check_str(&r->ptables[i], 1, LLMCOST_PROTO_MAX_QPTABLE);
	}
	if (rv != 0) {
		return (enc_fail(e, rv));
	}
	msgpack_pack_array(&e->pk, 2);
	msgpack_pack_uint64(&e->pk, r->ptables_flags);
	msgpack_pack_array(&e->pk, r->n_ptables);
	for (uint32_t i = 0; i < r->n_ptables; i++) {
		pack_str(e, &r->ptables[i]);
	}
	return (enc_flush(e));
}

int
llmcost_proto_enc_budget_req(llmcost_proto_enc *e)
{
	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	pack_envelope(e, 2, LLMCOST_MSG_BUDGET_REQ);
	return (enc_flush(e));
}

int
llmcost_proto_enc_budget_state(
    llmcost_proto_enc *e, const llmcost_proto_budget_state *s)
{
	int rv;

	if (e == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (e->err != 0) {
		return (e->err);
	}
	if (s == NULL || (s->n > 0 && s->guards == NULL)) {
		return (enc_fail(e, LLMCOST_EINVAL));
	}
	if (s->n > LLMCOST_PROTO_MAX_GUARDS) {
		return (enc_fail(e, LLMCOST_ETOOBIG));
	}
	for (uint32_t i = 0; i < s->n; i++) {
		const llmcost_proto_guard *g = &s->guards[i];
		if (g->n_conds > LLMCOST_PROTO_MAX_GUARD_CONDS) {
			return (enc_fail(e, LLMCOST_ETOOBIG));
		}
		for (uint32_t j = 0; j < g->n_conds; j++) {
			const llmcost_proto_guard_cond *c = &g->conds[j];
			if (c->dim > LLMCOST_GUARD_META
			    || (c->dim == LLMCOST_GUARD_META)
			        != (c->key.len > 0)) {
				return (enc_fail(e, LLMCOST_EINVAL));
			}
			if ((c->key.len > 0
			        && (rv = check_str(&c->key, 1,
			                LLMCOST_PROTO_MAX_GUARD_KEY))
			            != 0)
			    || (rv = check_str(
			            &c->val, 1, LLMCOST_PROTO_MAX_GUARD_VAL))
			        != 0) {
				return (enc_fail(e, rv));
			}
		}
	}
	pack_envelope(e, 4, LLMCOST_MSG_BUDGET_STATE);
	msgpack_pack_uint64(&e->pk, s->generation);
	msgpack_pack_array(&e->pk, s->n);
	for (uint32_t i = 0; i < s->n; i++) {
		const llmcost_proto_guard *g = &s->guards[i];
		msgpack_pack_array(&e->pk, g->n_conds);
		for (uint32_t j = 0; j < g->n_conds; j++) {
			msgpack_pack_array(&e->pk, 3);
			msgpack_pack_uint64(&e->pk, g->conds[j].dim);
			pack_str(e, &g->conds[j].key);
			pack_str(e, &g->conds[j].val);
		}
	}
	return (enc_flush(e));
}

int
llmcost_proto_buf_write(void *arg, const char *data, size_t len)
{
	llmcost_proto_buf *b = arg;
	size_t max = b->max != 0 ? b->max : LLMCOST_PROTO_MAX_MSG;

	if (b->len > max || len > max - b->len
	    || buf_reserve(b, b->len + len) != 0) {
		return (-1);
	}
	if (len > 0) {
		memcpy(b->data + b->len, data, len);
	}
	b->len += len;
	return (0);
}

void
llmcost_proto_buf_free(llmcost_proto_buf *b)
{
	if (b == NULL) {
		return;
	}
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
