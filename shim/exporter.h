// The delivery seam: exporters behind an ops table, the way nng's
// transports plug in (struct nni_sp_tran in nng's src/sp/transport.h).
//
// The flow.  Call sites push ended calls onto the client's submit ring.
// One batch loop per client (sender.c, thread "llmcost-send") drains the
// ring, converts up to batch_max calls at a time into one immutable,
// exporter-neutral batch (batch.h: records plus an owned copy of their
// strings), frees the pool slots at once, and hands the batch to every
// exporter.  Each exporter runs on its own thread ("llmcost-<name>") with
// its own bounded queue of batches, so a destination that is slow or away
// never holds up another one, nor the call site.
//
//   call sites -> submit ring -> batch loop -+-> [queue] collector thread
//                                            +-> [queue] (next exporter)
//
// Bounded queues.  An exporter holds at most queue_max batches, queued
// and in flight together, and, when it sets them, at most calls_max
// calls and bytes_max bytes of batch memory (each bound may be passed by
// the one batch that found it not yet reached).  The collector holds
// batches up to as many bytes as the call pool takes (shim.h,
// LLMCOST__COLLECTOR_HOLD), or, with a spool, its LLMCOST__INFLIGHT_MAX
// batches in flight alone.  A lossless exporter may set a base (queue_base batches):
// beyond it, it takes batches only while every lossy exporter could take
// a whole one too, so that a deep hold fills no faster than LangSmith
// drains (a dead collector must not make LangSmith miss calls that the
// ring would have kept for it).  Two kinds of exporter share the loop:
//   - lossless (ops->lossless, the collector): it must receive every
//     call, at least once, while the pool can hold them.  The loop takes
//     calls from the ring only while every lossless exporter has room,
//     so a slow collector keeps the whole ring as its buffer.  Once the
//     ring reaches its high-water mark (llmcost__exporters_overflow:
//     seven eighths of the pool ended and waiting, the point past which
//     call sites would soon find the pool empty), the loop takes the
//     oldest calls anyway, an eighth of the pool at a time, and hands
//     them to the lossy exporters alone; each lossless exporter counts
//     them as lost, which are the client's drops.  Calls are then dropped
//     oldest first instead of newest first at the call site, and a dead
//     collector no longer starves LangSmith.  The same happens at
//     llmcost_shutdown to what is left in the ring once a lossless
//     exporter has held its oldest batch for half the shutdown's timeout
//     (at least LLMCOST__DRAIN_STALL_NS, and that with no timeout):
//     those calls would be lost for every destination otherwise, and the
//     first half leaves a slow collector its chance.  With a spool the loop
//     never gets there: the spool takes the calls first (spool.c) and
//     hands them to the lossy exporters itself.
//   - lossy (LangSmith): best effort with counted losses.  It never holds
//     up the loop: a lossy exporter whose queue is full misses that batch
//     and counts its calls as lost.
// With no lossless exporter, the loop drains while any exporter has room.
// Only lossless exporters' losses are the client's drops (the count the
// collector is told, llmcost_stats calls_dropped); a lossy exporter
// reports its own.
//
// Settling and flush.  Every call has a position in the submit ring.  An
// exporter settles its batches in order, as stored, refused for good or
// lost.  The client's settled position is the smallest first position of
// any batch an exporter still holds, or, when none holds one, the
// position up to which the loop has handed calls over
// (llmcost__exporters_settled).  llmcost_flush waits until that position
// passes every call ended before it: then each such call has been
// acknowledged, refused or counted as lost by every enabled destination.
//
// Adding an exporter: a file export_<name>.c defining a const struct
// llmcost__exporter_ops, and one line in llmcost__exporters[] (exporter.c).
//
// Threading: ops run on the threads named below.  Everything under
// "guarded by the client's mtx" is touched only with c->mtx held; the
// counters are atomic.
#ifndef LLMCOST_EXPORTER_H
#define LLMCOST_EXPORTER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "llmcost.h"
#include "batch.h"

#define LLMCOST__EXPORTERS_MAX      4    // destinations per client
#define LLMCOST__EXPORTER_QUEUE_MAX 1024 // batches one exporter may hold
// At shutdown, the least time a lossless exporter holds its oldest batch
// before it is taken for away ("Bounded queues").
#define LLMCOST__DRAIN_STALL_NS (1000ull * 1000000ull)

typedef struct llmcost__exporter llmcost__exporter;

// What became of one batch's calls at one destination:
// stored + refused + lost == the batch's n.
typedef struct llmcost__outcome {
	uint32_t stored;  // accepted (newly stored or already there)
	uint32_t refused; // refused for good (malformed): never resent
	uint32_t lost;    // not delivered: the exporter gave up or stopped
} llmcost__outcome;

struct llmcost__exporter_ops {
	// Short and unique ("collector"): logs and the thread name.
	const char *name;

	// 1: every call must reach this destination; the loop waits for its
	// room (see "Bounded queues").  0: best effort, losses counted.
	int lossless;

	// 1: when several batches wait, deliver gets them merged into one
	// (up to LLMCOST_PROTO_MAX_RECORDS calls), so that a destination
	// paid per request is not sent one small request per small batch.
	// Lossy exporters only (the spool settles lossless ones batch by
	// batch).
	int coalesce;
	// With coalesce: while fewer than linger_calls calls wait, wait up
	// to linger_ms for more before delivering (the SDKs' auto-batching:
	// a steady trickle of calls becomes a few full requests, not one
	// request per small batch).  llmcost_flush cuts the wait short.
	uint32_t linger_ms;
	uint32_t linger_calls;

	// On the llmcost_init thread, before any thread starts: read the
	// client's configuration, open resources, set ex->priv and, if
	// wanted, ex->queue_max.  Returns 0; LLMCOST_EDISABLED when this
	// destination is not configured (it is left out, and fini is not
	// called); or another LLMCOST_E* code, which fails llmcost_init
	// (start must then have released what it took).
	int (*start)(llmcost__exporter *ex);

	// On the exporter's thread: deliver b, retrying as the destination
	// requires, until every call is settled or the exporter is stopping
	// (llmcost__exporter_stopping; wait between attempts with
	// llmcost__exporter_sleep).  Fills *out.  Returns 0, or
	// LLMCOST_ECLOSED when it gave up because the exporter is stopping.
	// b is shared with other exporters: read it, never write it.
	int (*deliver)(llmcost__exporter *ex, const llmcost__batch *b,
	    llmcost__outcome *out);

	// On the shutdown thread (or llmcost_init's, when a later step
	// fails), after a successful start, while deliver may be blocked in
	// I/O: make it return soon (close a socket, wake a multi handle).
	// Also called when the thread never started.  May be NULL when
	// deliver never blocks for long.
	void (*stop)(llmcost__exporter *ex);

	// After the exporter's thread has ended (or never started): free
	// everything start took.
	void (*fini)(llmcost__exporter *ex);

	// Optional, on the exporter's thread: called every ex->idle_ms
	// (start sets it; 0: never) between deliveries, and while no batch
	// is waiting (the collector exporter polls its budget state here).
	void (*idle)(llmcost__exporter *ex);
};

struct llmcost__exporter {
	const struct llmcost__exporter_ops *ops;
	llmcost_client *client;
	void *priv;         // the exporter's own state (start sets it)
	uint32_t queue_max; // batches held at once: 1 unless start raises it
	                    // (at most LLMCOST__EXPORTER_QUEUE_MAX)
	uint32_t idle_ms;   // ops->idle's period; 0 unless start sets it
	uint64_t idle_last; // when ops->idle last ran (monotonic ns)
	// Calls held at once (queued and in flight), when start sets it:
	// then the memory bound does not depend on how small the loop cut
	// the batches (a fast collector makes many small ones).  0: none.
	uint64_t calls_max;
	// Bytes of batch memory (llmcost__batch.bytes) held at once, when
	// start sets it; lossless exporters only.  0: none.
	uint64_t bytes_max;
	// Lossless exporters, when start sets it: the batches held beyond
	// which the loop hands more only while every lossy exporter has
	// room for a whole batch ("Bounded queues").  0: no such base.
	uint32_t queue_base;

	// Counters since init: calls, except sent and resent (messages or
	// requests, which the exporter counts itself).
	_Atomic uint64_t stored;
	_Atomic uint64_t refused;
	_Atomic uint64_t lost; // missed (queue full), given up or stopped
	_Atomic uint64_t sent;
	_Atomic uint64_t resent;
	// Times the thread woke from a wait for work (benchmarks and tests:
	// a lingering exporter must not wake once per small batch).
	_Atomic uint64_t wakes;
	_Atomic int stopping;

	// The exporter thread's: the memory merged batches are built in
	// (exporter.c, merge), kept between deliveries.
	void *merge_mem;
	size_t merge_cap;

	// Guarded by the client's mtx.  queue[head] is the batch being
	// delivered; count includes it.
	llmcost__batch *queue[LLMCOST__EXPORTER_QUEUE_MAX];
	uint32_t head;
	uint32_t count;
	uint64_t calls_held; // calls in the batches of queue[]
	uint64_t bytes_held; // their bytes (llmcost__batch.bytes)
	uint64_t head_ns;    // when queue[head] became the oldest held batch
	uint64_t calls_held_max; // the most calls_held, bytes_held and
	uint64_t bytes_held_max; // count reached: their bounds held (tests)
	uint32_t count_max;
	int kick; // llmcost_flush asked to cut a retry wait short
	// The thread waits for something other than a new batch (the
	// collector: every flight is busy), so handing one over does not
	// wake it: a wake-up would only let it look and wait again.
	int sated;
	pthread_cond_t cv; // the thread waits here for work or a retry
	int cv_ready;
	pthread_t thread;
	int thread_started;
};

// The registered exporters, NULL-terminated, in order (exporter.c).
extern const struct llmcost__exporter_ops *const llmcost__exporters[];
// export_collector.c
extern const struct llmcost__exporter_ops llmcost__exporter_collector;
// Whether this process was forked from one that had started nng, where
// the collector exporter cannot run (logged on c).  Any thread.
int llmcost__nng_forked(struct llmcost_client *c);
// export_langsmith.c
extern const struct llmcost__exporter_ops llmcost__exporter_langsmith;

// ---- for exporters (their own thread) ----

// 1 once the client is shutting this exporter down.
int llmcost__exporter_stopping(llmcost__exporter *ex);

// Waits ms milliseconds, or less when the exporter is stopping or
// llmcost_flush asks for delivery now.  Returns 1 when stopping, else 0.
int llmcost__exporter_sleep(llmcost__exporter *ex, uint32_t ms);

// With the client's mtx held: the i-th batch ex holds, oldest first (0:
// the one deliver is called with), or NULL past the last.  An exporter
// that keeps several batches in flight looks ahead with it; each batch
// stays valid while the exporter holds it.
const llmcost__batch *llmcost__exporter_held(
    llmcost__exporter *ex, uint32_t i);

// ---- for the client and the batch loop ----

// Starts (ops->start) each exporter of the NULL-terminated list ops, and
// their threads.  Call with every signal blocked, so the threads inherit
// that mask.  Returns 0 or the first error; on error everything started
// is stopped again.
int llmcost__exporters_start(
    llmcost_client *c, const struct llmcost__exporter_ops *const *ops);

// Stops every exporter: ops->stop, joins its thread, counts the batches
// it still held as lost, ops->fini.  Call after the batch loop has ended.
void llmcost__exporters_stop(llmcost_client *c);

// With c->mtx held: 1 if the loop may hand a batch now: every lossless
// exporter has room (and, with none, some exporter has room).
int llmcost__exporters_room(llmcost_client *c);

// With c->mtx held, when llmcost__exporters_room says no: 1 if the loop
// must take the oldest calls anyway for the lossy exporters (see "Bounded
// queues"): some lossy exporter has room, and the submit ring is at its
// high-water mark (or the client is shutting down and a lossless
// exporter is stalled).  *take: how many calls to take.
int llmcost__exporters_overflow(llmcost_client *c, uint32_t *take);

// Which exporters llmcost__exporters_hand_to hands a batch to.
enum {
	LLMCOST__HAND_ALL = 0,
	// Calls the spool has taken: the lossy exporters only (the spool
	// holds the lossless exporters' copy); the handed position moves.
	LLMCOST__HAND_LOSSY = 1,
	// A batch replayed from the spool: the lossless exporters only;
	// the handed position stays (its calls were handed before).
	LLMCOST__HAND_LOSSLESS = 2,
	// Calls taken past the high-water mark (llmcost__exporters_overflow):
	// the lossy exporters; the lossless ones count them as lost.
	LLMCOST__HAND_OVERFLOW = 3,
};

// With c->mtx held: hands b to the exporters which selects
// (LLMCOST__HAND_*) that have room (the others count its calls as lost),
// advances the handed position past b (but for LLMCOST__HAND_LOSSLESS),
// and frees b when no exporter took it.  b must not be touched
// afterwards.
void llmcost__exporters_hand_to(
    llmcost_client *c, llmcost__batch *b, int which);

// With c->mtx held: the settled position (see above); calls in the
// spool count as unsettled until the collector acknowledges them.
uint64_t llmcost__exporters_settled(llmcost_client *c);

// With c->mtx held: cut every exporter's retry wait short (flush).
void llmcost__exporters_kick(llmcost_client *c);

// Calls lost by lossless exporters so far, summed (the client's drops).
uint64_t llmcost__exporters_lost(llmcost_client *c);

// Runs lossy exporters (LangSmith) lost or had refused so far, summed:
// what the collector exporter reports as a batch's exporter_lost.
uint64_t llmcost__exporters_lossy_lost(llmcost_client *c);

// The running exporter with these ops, or NULL.
llmcost__exporter *llmcost__exporter_find(
    llmcost_client *c, const struct llmcost__exporter_ops *ops);

#endif // LLMCOST_EXPORTER_H
