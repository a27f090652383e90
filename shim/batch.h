// An exporter-neutral batch of ended calls: what the batch loop
// (sender.c) hands to every exporter (exporter.h).  It is made once per
// batch from the pool slots, owns a copy of every string, and is never
// written after it is handed over, so any number of exporters may read
// it at once on their own threads, each at its own pace.
//
// Ownership: one allocation.  The exporters holding it are counted in
// refs (guarded by the client's mtx); the last one frees it.
#ifndef LLMCOST_BATCH_H
#define LLMCOST_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "llmcost_proto.h"

struct llmcost_client;

typedef struct llmcost__batch {
	uint64_t first;   // handed position of the first call (c->taken)
	uint64_t dropped; // the client's cumulative drops when it was made
	uint32_t n;       // calls, one record each (0: a drop report only)
	uint32_t refs;    // exporters holding it; guarded by the client's mtx
	size_t str_bytes; // string bytes of all records, to size an encoder
	size_t bytes;     // the memory it takes (an exporter's hold)
	// The records, in the order the calls ended; their strings (not
	// NUL-terminated) and meta and tag arrays live in the batch.
	const llmcost_proto_record *records;
	// kinds[i]: LLMCOST__KIND_CALL, or LLMCOST__KIND_SCOPE for the chain
	// run of an ended request scope (shim.h).  Calls made in a scope
	// carry trace_id, parent_run_id and dotted_order in their records.
	const uint8_t *kinds;
	// A batch read back from the spool (spool.c): the end offset of its
	// frame, which the collector's acknowledgement moves the file past,
	// and the decoded message its records point into (freed with it).
	// 0 and NULL for a batch from the ring.
	uint64_t spool_end;
	void *owned;
	// texts[i]: the prompt and completion text record i's call handed
	// over (entries, below), len 0 when none; NULL when no call has any.
	// LangSmith's only: never encoded for the collector or the spool.
	const llmcost_proto_str *texts;
} llmcost__batch;

// A text entry: kind (1 byte, LLMCOST__TEXT_*), role length (1 byte),
// text length (4 bytes, host order), the role, the text.
enum { LLMCOST__TEXT_MSG = 1, LLMCOST__TEXT_OUT = 2 };
#define LLMCOST__TEXT_HDR 6

// Bytes of the dotted_order of a run under depth enclosing scopes: one
// 58-byte segment per run, joined by '.'; 0 outside any scope.
#define LLMCOST__DOTTED_LEN(depth)                                            \
	((depth) > 0 ? (size_t) (depth) *59 + 58 : 0)

// Pops up to max ended calls (at most LLMCOST_PROTO_MAX_RECORDS) from the
// client's submit ring and lanes, converts each into a record of one new batch and
// returns its slot to the free stack.  Batch loop only (the ring's one
// consumer).  *np is the number of calls popped, whatever the result.
// Returns 0 and *bp (first, dropped and refs zero: the caller sets them),
// or LLMCOST_ENOMEM: no batch, and the popped calls were released; the
// caller counts them as dropped.
int llmcost__batch_take(
    struct llmcost_client *c, uint32_t max, llmcost__batch **bp, uint32_t *np);

// Writes one dotted_order segment, exactly 58 bytes (no NUL): the time
// as YYYYMMDDTHHMMSSffffffZ (UTC, microseconds) and the run id.
void llmcost__dotted_segment(char out[58], uint64_t us, const uint8_t id[16]);

// The time part alone: exactly 22 bytes, YYYYMMDDTHHMMSSffffffZ (no NUL).
void llmcost__time_segment(char out[22], uint64_t us);

// Frees a batch.  NULL is fine.
void llmcost__batch_free(llmcost__batch *b);

#endif // LLMCOST_BATCH_H
