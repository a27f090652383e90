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
	LLMCOST_MSG_BATCH = 1,     // shim -> collector: call records
	LLMCOST_MSG_ACK = 2,       // collector -> shim: batch outcome
	LLMCOST_MSG_STATS_REQ = 3, // CLI/test -> collector: counters, please
	LLMCOST_MSG_STATS = 4,     // collector -> CLI/test: named counters
};

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

// Record map keys (see README).  Keys 9..63 are reserved for v1
// extensions and skipped by this decoder; any other key is an error.
enum llmcost_proto_rkey {
	LLMCOST_RK_RUN_ID = 0,
	LLMCOST_RK_START_NS = 1,
	LLMCOST_RK_DURATION_NS = 2,
	LLMCOST_RK_PROVIDER = 3,
	LLMCOST_RK_MODEL = 4,
	LLMCOST_RK_USAGE = 5,
	LLMCOST_RK_STATUS = 6,
	LLMCOST_RK_META = 7,
	LLMCOST_RK_TAGS = 8,
	LLMCOST_RK_RESERVED_MAX = 63,
};

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
	llmcost_proto_str provider;
	llmcost_proto_str model;
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	const llmcost_proto_kv *meta;
	uint32_t n_meta;
	const llmcost_proto_str *tags;
	uint32_t n_tags;
} llmcost_proto_record;

typedef struct llmcost_proto_batch {
	uint8_t client_id[16];
	uint64_t seq;     // per client, starts at 1, +1 per new batch
	uint64_t dropped; // cumulative calls the client dropped so far
	const llmcost_proto_record *records;
	uint32_t n_records;
} llmcost_proto_batch;

typedef struct llmcost_proto_ack {
	uint8_t client_id[16];
	uint64_t seq;
	uint32_t status;          // llmcost_proto_ack_status
	uint32_t stored;          // records newly stored
	uint32_t duplicates;      // records already present
	llmcost_proto_str reason; // empty unless status != STORED
} llmcost_proto_ack;

typedef struct llmcost_proto_stats {
	uint32_t n;
	llmcost_proto_str names[LLMCOST_PROTO_MAX_STATS];
	uint64_t values[LLMCOST_PROTO_MAX_STATS];
} llmcost_proto_stats;

// A decoded message.  Arrays it points to are owned by it.
typedef struct llmcost_proto_msg {
	uint32_t type; // llmcost_proto_type
	union {
		llmcost_proto_batch batch;
		llmcost_proto_ack ack;
		llmcost_proto_stats stats;
	} u;
	void *priv_; // decoder-owned memory
} llmcost_proto_msg;

// Decode one complete message of len bytes.  On success fills *out and
// returns 0; the caller must call llmcost_proto_msg_free(out).  On failure
// returns LLMCOST_EPROTO (malformed), LLMCOST_ETOOBIG (over a limit) or
// LLMCOST_ENOMEM (LLMCOST_EINVAL for a NULL out, or a NULL buf with
// len > 0), writes a NUL-terminated reason into reason[reasonsz]
// when reason != NULL, and leaves *out zeroed with nothing to free.
int llmcost_proto_decode(const void *buf, size_t len, llmcost_proto_msg *out,
    char *reason, size_t reasonsz);

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
int llmcost_proto_enc_ack(llmcost_proto_enc *e, const llmcost_proto_ack *a);
int llmcost_proto_enc_stats_req(llmcost_proto_enc *e);
int llmcost_proto_enc_stats(
    llmcost_proto_enc *e, const llmcost_proto_stats *s);

// A growable buffer with a hard cap, and a write callback for it.
typedef struct llmcost_proto_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t max; // hard cap; 0 means LLMCOST_PROTO_MAX_MSG
} llmcost_proto_buf;
int llmcost_proto_buf_write(void *buf, const char *data, size_t len);
void llmcost_proto_buf_free(llmcost_proto_buf *b);

#endif // LLMCOST_PROTO_H
