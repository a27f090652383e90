// llmcost wire format v1: msgpack messages shared by the shim, the
// collector and the CLI.  The byte-level specification is proto/README.md.
//
// Ownership: decoded strings point into the buffer that was decoded (not
// NUL-terminated); a decoded message is valid while that buffer lives and
// until llmcost_proto_msg_free().  Encoders write through a callback so
// that callers can pack straight into an nng_msg.
//
// Threading: all functions are reentrant; objects are not shared.
#ifndef LLMCOST_PROTO_H
#define LLMCOST_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include <msgpack.h>

#include "llmcost.h"
#include "llmcost_common.h"

#define LLMCOST_PROTO_VERSION 1

// Message types (element 1 of every message).
enum llmcost_proto_type {
	LLMCOST_MSG_BATCH = 1,       // shim -> collector: call records
	LLMCOST_MSG_ACK = 2,         // collector -> shim: batch outcome
	LLMCOST_MSG_STATS_REQ = 3,   // CLI/test -> collector: counters, please
	LLMCOST_MSG_STATS = 4,       // collector -> CLI/test: named counters
	LLMCOST_MSG_QUERY = 5,       // CLI -> collector: a cost question
	LLMCOST_MSG_QUERY_REPLY = 6, // collector -> CLI: its answer
	LLMCOST_MSG_BUDGET_REQ = 7,  // shim -> collector: guard state, please
	LLMCOST_MSG_BUDGET_STATE
	= 8, // collector -> shim: exhausted hard budgets
	// shim -> collector: call records with a string table; sent only
	// to a collector whose ACK on the same connection advertised
	// LLMCOST_PROTO_FEAT_TBATCH (README "TBATCH").
	LLMCOST_MSG_TBATCH = 9,
};

// ACK features (element 8, an extension): what the collector that sent
// the ACK accepts besides v1's messages.
#define LLMCOST_PROTO_FEAT_TBATCH 1u // TBATCH (type 9)

// ACK status values.
enum llmcost_proto_ack_status {
	LLMCOST_ACK_STORED = 0,   // committed durably (some may be duplicates)
	LLMCOST_ACK_REJECTED = 1, // malformed: do not resend
	LLMCOST_ACK_RETRY = 2, // collector could not store now: resend later
};

// Hard limits enforced by the decoder.
#define LLMCOST_PROTO_MAX_MSG       (4u << 20) // bytes in one message
#define LLMCOST_PROTO_MAX_RECORDS   4096u      // records in one batch
#define LLMCOST_PROTO_MAX_REASON    256u       // bytes in an ACK reason
#define LLMCOST_PROTO_MAX_STATS     64u        // counters in a STATS reply
#define LLMCOST_PROTO_MAX_STAT_NAME 64u        // bytes in a counter name
#define LLMCOST_PROTO_MAX_DOTTED    4096u      // bytes in a dotted_order
// A TBATCH's string table: entries, and bytes of one entry (the longest
// string a record may hold, a dotted_order).
#define LLMCOST_PROTO_MAX_STRTAB     16384u
#define LLMCOST_PROTO_MAX_STRTAB_STR 4096u
// msgpack values in one message (every array, map, key and element
// counts one): 256 per record of a full batch.  The largest batch v1
// accepts has 7 + 4096 x 211 = 864,263: per record the map, its 17 keys
// and their values, 64 usage entries, 16 fees, 32 meta pairs and 32
// tags; the rest is room for reserved keys.  See README "Limits".
#define LLMCOST_PROTO_MAX_VALUES (LLMCOST_PROTO_MAX_RECORDS * 256u)

// Record map keys: one row per key, from which the enum, the decoder's
// key dispatch, its list of required keys, the names in its reasons and
// the tests are generated.  Columns:
// - the enum name (LLMCOST_RK_<NAME>);
// - the key, never renumbered or reused; keys are contiguous from 0;
// - the field name, as reasons and proto/README.md spell it (the decoder
//   has one function per row, dec_rk_<name>);
// - 1 if a record must carry the key, 0 if it is optional;
// - its msgpack type, exactly as the README's record table states it
//   (codec_test.c checks that every row is documented there).
// A new key takes the next number (up to 63) and must be optional: keys
// from LLMCOST_RK_COUNT to LLMCOST_RK_RESERVED_MAX are reserved for
// compatible v1 extensions and skipped by decoders that do not know them.
#define LLMCOST_PROTO_RKEY_MAP(XX)                                            \
	XX(RUN_ID, 0, run_id, 1, "bin, exactly 16 bytes")                     \
	XX(START_NS, 1, start_ns, 1, "uint (64-bit)")                         \
	XX(DURATION_NS, 2, duration_ns, 1, "uint (64-bit)")                   \
	XX(PROVIDER, 3, provider, 1, "str")                                   \
	XX(MODEL, 4, model, 1, "str")                                         \
	XX(USAGE, 5, usage, 1, "array of 10 … 64 uints")                      \
	XX(STATUS, 6, status, 0, "uint")                                      \
	XX(META, 7, meta, 0, "map str → str")                                 \
	XX(TAGS, 8, tags, 0, "array of str")                                  \
	XX(FEES, 9, fees, 0, "array of uints")                                \
	XX(PROVIDER_COST, 10, provider_cost, 0, "uint ≤ 2⁶³−1")               \
	XX(USAGE_FLAGS, 11, usage_flags, 0, "uint ≤ 2³²−1")                   \
	XX(TRACE_ID, 12, trace_id, 0, "bin, exactly 16 bytes")                \
	XX(PARENT_RUN_ID, 13, parent_run_id, 0, "bin, exactly 16 bytes")      \
	XX(DOTTED_ORDER, 14, dotted_order, 0, "str")                          \
	XX(SERVICE_TIER, 15, service_tier, 0, "uint ≤ 255")                   \
	XX(PLATFORM, 16, platform, 0, "str")

enum llmcost_proto_rkey {
#define LLMCOST__RK_ENUM(name, num, id, req, type) LLMCOST_RK_##name = num,
	LLMCOST_PROTO_RKEY_MAP(LLMCOST__RK_ENUM)
#undef LLMCOST__RK_ENUM
#define LLMCOST__RK_ONE(name, num, id, req, type) +1
	// How many keys this version knows; the first reserved key.
	LLMCOST_RK_COUNT
	= 0 LLMCOST_PROTO_RKEY_MAP(LLMCOST__RK_ONE),
#undef LLMCOST__RK_ONE
	LLMCOST_RK_RESERVED_MAX = 63, // the last key a v1 decoder skips
};

// Usage (key 5): the first v1 encoders wrote 10 buckets, and every v1
// encoder writes at least that many, one per bucket it knows.  A decoder
// accepts 10 to LLMCOST_PROTO_MAX_BUCKETS entries: it keeps the buckets
// it knows (a shorter array leaves the missing ones 0), counts the ones
// it does not know in n_usage_extra and keeps the first
// LLMCOST_PROTO_USAGE_EXTRA of their values in usage_extra.
#define LLMCOST_PROTO_USAGE_MIN   10u
#define LLMCOST_PROTO_MAX_BUCKETS 64u
#define LLMCOST_PROTO_USAGE_EXTRA 6u

typedef struct llmcost_proto_str {
	const char *ptr; // not NUL-terminated; may be NULL when len == 0
	uint32_t len;
} llmcost_proto_str;

typedef struct llmcost_proto_kv {
	llmcost_proto_str key;
	llmcost_proto_str val;
} llmcost_proto_kv;

typedef struct llmcost_proto_record {
	uint8_t run_id[16];
	uint64_t start_ns;    // Unix epoch, nanoseconds
	uint64_t duration_ns; // end - start
	uint32_t status;      // llmcost_status
	// Decoded only: usage entries beyond the buckets this version knows
	// (0 unless a newer encoder sent more), and the first of their
	// values.  The encoder writes usage[] only and ignores both.
	uint32_t n_usage_extra;
	llmcost_proto_str provider;
	llmcost_proto_str model;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t usage_extra[LLMCOST_PROTO_USAGE_EXTRA];
	const llmcost_proto_kv *meta;
	uint32_t n_meta;
	const llmcost_proto_str *tags;
	uint32_t n_tags;
	// v1 extensions (keys 9-11); all zero means "none", so a zeroed
	// record encodes as before.
	uint64_t fees[LLMCOST_FEE_COUNT]; // in llmcost_fee order
	uint64_t provider_cost_pusd;      // valid when has_provider_cost
	uint32_t has_provider_cost;
	uint32_t usage_flags; // LLMCOST_USAGE_*; unknown bits are kept
	// Request scope (keys 12 to 14), all zero or empty for a call outside
	// one: the trace's root run id, the parent run id (zero for a root),
	// and LangSmith's dotted_order of the run.
	uint8_t trace_id[16];
	uint8_t parent_run_id[16];
	llmcost_proto_str dotted_order;
	// How the call was billed (keys 15, 16): its service tier
	// (llmcost_service_tier; a number this version does not know is
	// kept, and such a call is priced as unpriced) and the platform that
	// served it ("vertex", ...; empty: the provider's own API).
	uint32_t service_tier;
	llmcost_proto_str platform;
} llmcost_proto_record;

// Entries a fees array (key 9) may have: a newer shim may know more fees
// than this decoder, which keeps the ones it knows.
#define LLMCOST_PROTO_MAX_FEES 16u

typedef struct llmcost_proto_batch {
	uint8_t client_id[16];
	uint64_t seq;     // per client, starts at 1, +1 per new batch
	uint64_t dropped; // cumulative calls the client dropped so far
	const llmcost_proto_record *records;
	uint32_t n_records;
	// Element 6, an extension (0 when absent): cumulative runs the
	// client's lossy exporters (LangSmith) dropped or had refused.
	uint64_t exporter_lost;
} llmcost_proto_batch;

typedef struct llmcost_proto_ack {
	uint8_t client_id[16];
	uint64_t seq;
	uint32_t status;          // llmcost_proto_ack_status
	uint32_t stored;          // records newly stored
	uint32_t duplicates;      // records already present
	llmcost_proto_str reason; // empty unless status != STORED
	// Element 8, an extension: LLMCOST_PROTO_FEAT_* bits (0 when absent,
	// from a collector before it; the encoder omits it when 0).
	uint32_t features;
} llmcost_proto_ack;

typedef struct llmcost_proto_stats {
	uint32_t n;
	llmcost_proto_str names[LLMCOST_PROTO_MAX_STATS];
	uint64_t values[LLMCOST_PROTO_MAX_STATS];
} llmcost_proto_stats;

// BUDGET_STATE: the hard budgets that are exhausted now, each as the
// conditions a call must all meet to be refused (README "Budget
// state").  A guard with no condition refuses every call.
#define LLMCOST_PROTO_MAX_GUARDS      64u // guards in one message
#define LLMCOST_PROTO_MAX_GUARD_CONDS 8u  // conditions per guard
#define LLMCOST_PROTO_MAX_GUARD_KEY   64u // bytes in a metadata key
#define LLMCOST_PROTO_MAX_GUARD_VAL   256u

enum llmcost_proto_guard_dim {
	LLMCOST_GUARD_PROVIDER = 0, // the call's provider (key empty)
	LLMCOST_GUARD_MODEL = 1,    // the call's model (key empty)
	LLMCOST_GUARD_META = 2,     // the metadata entry `key`
};

typedef struct llmcost_proto_guard_cond {
	uint32_t dim; // llmcost_proto_guard_dim
	llmcost_proto_str key;
	llmcost_proto_str val;
} llmcost_proto_guard_cond;

typedef struct llmcost_proto_guard {
	uint32_t n_conds;
	llmcost_proto_guard_cond conds[LLMCOST_PROTO_MAX_GUARD_CONDS];
} llmcost_proto_guard;

typedef struct llmcost_proto_budget_state {
	uint64_t generation; // rises with every evaluation
	uint32_t n;
	const llmcost_proto_guard *guards; // decoded: owned by the message
} llmcost_proto_budget_state;

// QUERY and QUERY_REPLY (README "QUERY and QUERY_REPLY"): the query
// engine's question and answer (core/query.h), keys and filters as the
// text `llmcost report` reads, amounts as 128-bit integers.
#define LLMCOST_PROTO_MAX_QKEYS     4u    // group-by keys
#define LLMCOST_PROTO_MAX_QFILTERS  8u    // filters
#define LLMCOST_PROTO_MAX_QKEY      69u   // bytes: "meta." and 64
#define LLMCOST_PROTO_MAX_QVALUE    256u  // bytes of a filter value
#define LLMCOST_PROTO_MAX_QTZ       64u   // bytes of a zone name
#define LLMCOST_PROTO_MAX_QROWS     8192u // rows in a reply
#define LLMCOST_PROTO_MAX_QUNPRICED 1024u // unpriced models in a reply
#define LLMCOST_PROTO_MAX_QPTABLES  8u    // price-table versions in a reply
#define LLMCOST_PROTO_MAX_QPTABLE   32u   // bytes of one version
// QUERY_REPLY price_tables flags.
#define LLMCOST_PROTO_QPT_UNKNOWN 1u    // some hour's runs have no record
#define LLMCOST_PROTO_QPT_MORE    2u    // more versions than were sent
#define LLMCOST_PROTO_MAX_QSTR    4160u // bytes of a key value (a tag set)

// 8-byte aligned (a typedef may lower alignment), so that a decoded
// message keeps the alignment it had before amounts were 128-bit: callers
// embed llmcost_proto_msg in structs of their own.
typedef __int128 llmcost_proto_i128 __attribute__((aligned(8)));

typedef struct llmcost_proto_qfilter {
	llmcost_proto_str key;
	uint32_t negate; // 1: key != value
	llmcost_proto_str value;
} llmcost_proto_qfilter;

typedef struct llmcost_proto_query {
	uint32_t n_by;
	llmcost_proto_str by[LLMCOST_PROTO_MAX_QKEYS];
	uint32_t n_where;
	llmcost_proto_qfilter where[LLMCOST_PROTO_MAX_QFILTERS];
	uint64_t from_ns, to_ns;
	uint32_t every; // 0 none, 1 hour, 2 day, 3 week
	llmcost_proto_str tz;
	uint32_t top, max_groups;
	uint32_t flags; // 1: from the runs only
} llmcost_proto_query;

typedef struct llmcost_proto_qsums {
	uint64_t calls, unpriced_calls, error_calls;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	uint64_t input_tokens, output_tokens;
	llmcost_proto_i128 cost_pusd;
	uint64_t fees[LLMCOST_FEE_COUNT];
	llmcost_proto_i128 fee_cost_pusd;
	uint64_t provider_cost_calls;
	llmcost_proto_i128 provider_cost_pusd;
	uint64_t usage_missing_calls, usage_partial_calls;
} llmcost_proto_qsums;

typedef struct llmcost_proto_qrow {
	int64_t bucket, bucket_end;
	int32_t bucket_off, bucket_end_off;
	uint32_t other;
	uint32_t n_keys;
	llmcost_proto_str keys[LLMCOST_PROTO_MAX_QKEYS];
	uint32_t has_key[LLMCOST_PROTO_MAX_QKEYS]; // 0: absent (nil)
	llmcost_proto_qsums sum;
} llmcost_proto_qrow;

typedef struct llmcost_proto_qunpriced {
	llmcost_proto_str provider, model; // len 0 with ptr NULL: unknown
	uint64_t calls;
} llmcost_proto_qunpriced;

typedef struct llmcost_proto_qreply {
	uint32_t status;          // 0, or the llmcost error code
	llmcost_proto_str reason; // why, when status != 0
	int32_t from_off, to_off;
	uint32_t capped;
	uint64_t groups, dropped, runs_scanned, rollups_read;
	llmcost_proto_qsums total;
	uint32_t n_rows;
	const llmcost_proto_qrow *rows;
	uint32_t n_unpriced;
	const llmcost_proto_qunpriced *unpriced;
	// Element 14, price_tables (README): the versions of the price
	// tables that priced the window's runs.  has_ptables 0: absent (a
	// collector from before it; the versions are unknown).
	uint32_t has_ptables;
	uint32_t ptables_flags; // LLMCOST_PROTO_QPT_*
	uint32_t n_ptables;
	llmcost_proto_str ptables[LLMCOST_PROTO_MAX_QPTABLES];
} llmcost_proto_qreply;

// A decoded message.  Arrays it points to are owned by it.
typedef struct llmcost_proto_msg {
	uint32_t type; // llmcost_proto_type
	union {
		llmcost_proto_batch batch;
		llmcost_proto_ack ack;
		llmcost_proto_stats stats;
		llmcost_proto_budget_state budget_state;

		llmcost_proto_query query;
		llmcost_proto_qreply qreply;
	} u;
	void *priv_; // decoder-owned memory
} llmcost_proto_msg;

// Decode one complete message of len bytes.  On success fills *out and
// returns 0; the caller must call llmcost_proto_msg_free(out).  On failure
// returns LLMCOST_EPROTO (malformed), LLMCOST_ETOOBIG (over a limit) or
// LLMCOST_ENOMEM (LLMCOST_EINVAL for a NULL out, or a NULL buf with
// len > 0), writes a NUL-terminated reason into reason[reasonsz]
// when reason != NULL, and leaves *out zeroed with nothing to free.
// Decoded arrays and strings are read-only: records of a batch with the
// same meta or tags may share those arrays (and the strings they point
// to), so never write through them, and compare them by content.
int llmcost_proto_decode(const void *buf, size_t len, llmcost_proto_msg *out,
    char *reason, size_t reasonsz);

// Internal: llmcost_proto_decode without its one-pass path for batches
// (the skim, then the cursor; codec_decode.c).  Same contract and, on
// every input, the same result; the fuzz target compares the two.
int llmcost__proto_decode_steps(const void *buf, size_t len,
    llmcost_proto_msg *out, char *reason, size_t reasonsz);

// Frees what llmcost_proto_decode allocated.  NULL and zeroed are fine.
void llmcost_proto_msg_free(llmcost_proto_msg *m);

// Encoding.  The write callback returns 0 on success, -1 on failure.
// The packer inside llmcost_proto_enc points back at the struct: do not
// copy or move an encoder after llmcost_proto_enc_init().
typedef int (*llmcost_proto_write_fn)(void *arg, const char *buf, size_t len);

typedef struct llmcost_proto_enc {
	msgpack_packer pk;
	llmcost_proto_write_fn fn;
	void *arg;
	size_t written; // bytes written so far
	size_t limit;   // fail once written would exceed this
	int err;        // sticky: first error
	// Bytes staged for fn (codec_encode.c); handed over before every
	// encoding function returns.
	size_t staged_;
	char stage_[1024];
	// Set to 1 after llmcost_proto_enc_init when the caller has already
	// checked every string of the records it encodes as UTF-8 (the shim
	// checks at the call site): the encoder then skips that scan.  Every
	// other check stays.  A record with invalid UTF-8 encoded this way is
	// refused by the decoder, never stored.
	int utf8_trusted;
} llmcost_proto_enc;

// limit 0 means LLMCOST_PROTO_MAX_MSG, and so does a larger limit (the
// decoder would refuse a bigger message).  A NULL fn makes every call
// fail with LLMCOST_EINVAL.
void llmcost_proto_enc_init(
    llmcost_proto_enc *e, llmcost_proto_write_fn fn, void *arg, size_t limit);

// A batch is written as a header announcing n_records, then exactly that
// many records.  Each returns 0 or the sticky error (LLMCOST_ETOOBIG when
// the limit is passed, LLMCOST_ENOMEM when the callback fails).  Values
// are first checked against the rules the decoder enforces; a value it
// would refuse writes nothing and sets the sticky error: LLMCOST_EINVAL
// (NULL, empty or all-zero where not allowed, status out of range,
// duplicate meta key or stat name), LLMCOST_ETOOBIG (over a cap) or
// LLMCOST_EUTF8.  An over-long or invalid ACK reason is not an error: it
// is cut at a UTF-8 boundary and invalid bytes become '?'.  After an
// error the bytes written so far are not a valid message.
int llmcost_proto_enc_batch_header(llmcost_proto_enc *e,
    const uint8_t client_id[16], uint64_t seq, uint64_t dropped,
    uint32_t n_records);
int llmcost_proto_enc_record(
    llmcost_proto_enc *e, const llmcost_proto_record *r);
// A batch that also carries element 6, exporter_lost: the header (as
// above, announcing seven elements), the n_records records, then
// llmcost_proto_enc_batch_lost with the count.
int llmcost_proto_enc_batch_header_lost(llmcost_proto_enc *e,
    const uint8_t client_id[16], uint64_t seq, uint64_t dropped,
    uint32_t n_records);
int llmcost_proto_enc_batch_lost(llmcost_proto_enc *e, uint64_t lost);
int llmcost_proto_enc_ack(llmcost_proto_enc *e, const llmcost_proto_ack *a);

int llmcost_proto_enc_stats_req(llmcost_proto_enc *e);
int llmcost_proto_enc_stats(
    llmcost_proto_enc *e, const llmcost_proto_stats *s);
int llmcost_proto_enc_budget_req(llmcost_proto_enc *e);
int llmcost_proto_enc_budget_state(
    llmcost_proto_enc *e, const llmcost_proto_budget_state *s);

// A QUERY; a QUERY_REPLY as a header (everything but its rows and
// unpriced models; rows and unpriced in it are ignored) announcing
// n_rows rows, then exactly n_rows rows, then the unpriced models, then,
// when r->has_ptables, the price tables (llmcost_proto_enc_qptables
// with the same r).  On a failed query (status != 0) n_rows is 0 and the
// sums are zero.
int llmcost_proto_enc_query(
    llmcost_proto_enc *e, const llmcost_proto_query *q);
int llmcost_proto_enc_qreply_header(
    llmcost_proto_enc *e, const llmcost_proto_qreply *r, uint32_t n_rows);
int llmcost_proto_enc_qrow(llmcost_proto_enc *e, const llmcost_proto_qrow *r);
int llmcost_proto_enc_qunpriced(
    llmcost_proto_enc *e, const llmcost_proto_qunpriced *u, uint32_t n);
int llmcost_proto_enc_qptables(
    llmcost_proto_enc *e, const llmcost_proto_qreply *r);

// A growable buffer with a hard cap, and a write callback for it.
typedef struct llmcost_proto_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; // hard cap; 0 means LLMCOST_PROTO_MAX_MSG
} llmcost_proto_buf;
int llmcost_proto_buf_write(void *buf, const char *data, size_t len);
void llmcost_proto_buf_free(llmcost_proto_buf *b);

// A TBATCH (README "TBATCH"): each distinct string of the records goes
// once into the batch's string table, and the records refer to it by
// index.  Built in two steps: llmcost_proto_strtab_begin, then
// llmcost_proto_strtab_record per record (checked as
// llmcost_proto_enc_record checks it, and encoded into the table's own
// buffer), then llmcost_proto_enc_tbatch writes the whole message.  The
// table keeps pointers to the records' strings and meta and tag arrays:
// they must stay valid and unchanged until llmcost_proto_enc_tbatch
// returns (a record whose arrays and strings are the last record's, by
// pointer, is taken as that record's without reading them).  The encoder interns at most
// LLMCOST_PROTO_STRTAB_ENC entries; later new strings, empty strings and
// dotted_order are written in place.  Memory: about 92 KiB once, plus
// the encoded records; one table per thread (not shared, not moved
// after llmcost_proto_strtab_init).
#define LLMCOST_PROTO_STRTAB_ENC 4096u
// The places of a record's strings that go into the table (provider,
// model, platform, meta keys, meta values, tags).
#define LLMCOST_PROTO_STRTAB_PLACES                                           \
	(3u + 2u * LLMCOST_MAX_META + LLMCOST_MAX_TAGS)
typedef struct llmcost_proto_strtab {
	llmcost_proto_str *ent; // [LLMCOST_PROTO_STRTAB_ENC]
	uint16_t *slot;         // hash slots: entry + 1, or 0 for empty
	uint16_t *pos;          // [LLMCOST_PROTO_STRTAB_ENC]: entry's slot
	uint32_t n;             // entries in use
	size_t str_bytes;       // bytes of their strings (not headers)
	uint32_t n_recs;        // records encoded since begin
	// The entry each place of the last record used (past n: none).
	uint32_t last[LLMCOST_PROTO_STRTAB_PLACES];
	// The meta keys at places 0 to keys_ok - 1 of last are one
	// record's, all in the table (so distinct); 0 when unknown.
	uint32_t keys_ok;
	// The last record's entries by place (UINT32_MAX: written in
	// place), and its strings as it gave them (pointers and lengths of
	// provider, model, platform; its meta and tag arrays) when same_ok:
	// a record with the same pointers and lengths takes the same entries
	// without looking at a byte.  same_room: what its strings take in the
	// record at most.
	uint32_t idx[LLMCOST_PROTO_STRTAB_PLACES];
	int same_ok;
	size_t same_room;
	llmcost_proto_str same_str[3];
	uint32_t same_n_meta;
	uint32_t same_n_tags;
	const llmcost_proto_kv *same_meta;
	const llmcost_proto_str *same_tags;
	// Where the bytes of the last record's strings are in recs, by part
	// (provider and model; meta and tags; platform), as offset and
	// length, when seg_ok: a record whose strings are the same copies
	// them.
	int seg_ok;
	size_t seg_pm[2];
	size_t seg_mt[2];
	size_t seg_pl[2];
	llmcost_proto_buf recs; // the records, encoded with indices
	llmcost_proto_enc enc;  // writes recs; its err is sticky
} llmcost_proto_strtab;
int llmcost_proto_strtab_init(llmcost_proto_strtab *t);
void llmcost_proto_strtab_fini(llmcost_proto_strtab *t);
// Empties t for a new batch.  utf8_trusted as in llmcost_proto_enc.
void llmcost_proto_strtab_begin(llmcost_proto_strtab *t, int utf8_trusted);
// Returns 0 or the sticky error (as llmcost_proto_enc_record).
int llmcost_proto_strtab_record(
    llmcost_proto_strtab *t, const llmcost_proto_record *r);
// Writes [1, 9, client_id, seq, dropped, exporter_lost, strings, records]
// from t.  Returns 0, t's error, or the encoder's.
int llmcost_proto_enc_tbatch(llmcost_proto_enc *e, const uint8_t client_id[16],
    uint64_t seq, uint64_t dropped, uint64_t exporter_lost,
    const llmcost_proto_strtab *t);

#endif // LLMCOST_PROTO_H
