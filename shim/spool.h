// The spool: an optional file that takes the calls the in-memory queue
// can no longer hold while the collector is away, and gives them back,
// oldest first, when it answers again (spool.c has the design).
//
// Threading: open and close run on the init and shutdown threads; step
// and spill on the batch loop's; settled on the collector exporter's
// thread (and the shutdown thread); oldest and counters on any thread.
// The file and its offsets are guarded by the spool's own mutex, never
// held together with the client's.
#ifndef LLMCOST_SPOOL_H
#define LLMCOST_SPOOL_H

#include <stdint.h>

#include "batch.h"

struct llmcost_client;
struct llmcost__exporter;
struct llmcost__outcome;

typedef struct llmcost__spool llmcost__spool;

typedef struct llmcost__spool_counters {
	uint64_t written;  // calls written
	uint64_t replayed; // calls read back and handed to the collector
	uint64_t dropped;  // calls refused: the spool was full or failed
	uint64_t corrupt;  // unreadable frames or files found (and cut)
	uint64_t bytes;    // the file's size now
} llmcost__spool_counters;

// Opens the client's spool when one is configured (c->cfg.spool_path),
// and sets c->spool.  Never fails llmcost_init: a spool that cannot be
// used is logged and left off (c->spool stays NULL).
void llmcost__spool_open(struct llmcost_client *c);

// Closes and frees; NULL is fine.  The file stays, with what the
// collector has not acknowledged, for the next process.
void llmcost__spool_close(llmcost__spool *s);

// The batch loop's turn with a spool (sender.c).  Returns 0 when the
// loop may go on as without a spool (the collector has room and the
// spool is empty); 1 when it replayed a frame, spilled calls or waited
// (look again); -1 when the client is closing.
int llmcost__spool_step(struct llmcost_client *c);

// Writes every call still in the submit ring to the spool (shutdown,
// after the loop has ended).  Returns the calls it could not keep.
uint64_t llmcost__spool_spill_ring(struct llmcost_client *c);

// A lossless exporter settled b with *out (exporter.c): a replayed batch
// that was stored or refused is acknowledged in the file; one that was
// not (the exporter stopped) stays in the file.  A batch from the ring
// that the stopping exporter could not deliver is written to the spool.
// Returns the calls that the spool keeps, which are not lost.
uint32_t llmcost__spool_settled(struct llmcost_client *c,
    const llmcost__batch *b, const struct llmcost__outcome *out, int stopping);

// The ring position of the oldest call the spool holds that the
// collector has not acknowledged (0 for calls of an earlier process),
// or UINT64_MAX when it holds none.  For llmcost_flush.
uint64_t llmcost__spool_oldest(llmcost__spool *s);

void llmcost__spool_counters_get(
    llmcost__spool *s, llmcost__spool_counters *out);

#endif // LLMCOST_SPOOL_H
