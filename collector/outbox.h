// The alert outbox: one record per (budget, threshold, window) crossing,
// kept in its own LMDB environment, alerts.mdb in the data directory
// (the data store, data.mdb, is another environment).  A crossing is
// inserted at most once (MDB_NOOVERWRITE on its key), and its delivery
// state per webhook is updated in place after every post, so an alert
// survives a restart and a crossing is never queued twice.
//
// Threading: LMDB's rules: any thread may call these, one write
// transaction at a time (the outbox serialises them itself).
#ifndef LLMCOSTD_OUTBOX_H
#define LLMCOSTD_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "budget.h"

#define OUTBOX_FILE "alerts.mdb"
// Pending alerts kept at most; a crossing past it is recorded as
// dropped (and logged and counted), never queued.
#define OUTBOX_MAX_PENDING 1024u

typedef enum outbox_state {
	OUTBOX_PENDING = 1, // some webhook still to post to
	OUTBOX_DONE = 2,    // every webhook answered 2xx
	OUTBOX_FAILED = 3,  // a webhook refused it, or retries ran out
	OUTBOX_SKIPPED = 4, // no webhook, or a higher threshold crossed in
	                    // the same evaluation was sent instead
	OUTBOX_DROPPED = 5, // the outbox was full
} outbox_state;

// A record, stored as is (native layout; fields only appended).
typedef struct outbox_rec {
	uint16_t version; // 1
	uint8_t state;    // outbox_state
	uint8_t n_hooks;
	uint16_t threshold; // percent
	uint8_t hard;
	uint8_t kind; // budget_window_kind
	uint32_t attempts;
	uint32_t pct_bp;
	uint8_t hook_done;    // bit per webhook: answered 2xx
	uint8_t hook_refused; // bit per webhook: refused (4xx) or gave up
	uint8_t reserved[6];
	int64_t window_from, window_to, window_id;
	int64_t crossed_at; // Unix seconds
	int64_t next_ns;    // the next attempt, Unix ns
	int64_t limit_pusd;
	uint64_t spend_lo, spend_hi; // 128-bit pico-USD when crossed
	char name[BUDGET_NAME_MAX + 1];
	char zone[TZ_NAME_MAX];
	struct {
		uint8_t format; // budget_hook_format
		char url[BUDGET_URL_MAX + 1];
	} hooks[BUDGET_MAX_HOOKS];
} outbox_rec;

typedef struct outbox outbox;

// Opens (creating, 0600) DIR/alerts.mdb.  Returns 0, or LLMCOST_ESTORE
// with err saying why.
int outbox_open(outbox **op, const char *dir, char *err, size_t errsz);
void outbox_close(outbox *o);

// Inserts recs[0..n) in one transaction, each only if its key (name,
// window_id, threshold) is new: isnew[i] says which were.  A PENDING
// record that would take the outbox past OUTBOX_MAX_PENDING is stored
// as DROPPED instead (its state in recs is updated).  Returns 0 or
// LLMCOST_ESTORE.
int outbox_record(outbox *o, outbox_rec *recs, size_t n, int *isnew);

// The pending record due first (by next_ns).  Returns 0 and *out,
// LLMCOST_ENOTFOUND (none pending) or LLMCOST_ESTORE.
int outbox_next(outbox *o, outbox_rec *out);

// Writes r back over its record.  Returns 0 or LLMCOST_ESTORE.
int outbox_update(outbox *o, const outbox_rec *r);

// Counts of records by state ([outbox_state] indexed, 6 entries).
int outbox_counts(outbox *o, uint64_t counts[6]);

// Deletes records that are no longer pending and whose window ended
// before `before` (Unix seconds).  Returns 0 or LLMCOST_ESTORE.
int outbox_prune(outbox *o, int64_t before);

#endif // LLMCOSTD_OUTBOX_H
