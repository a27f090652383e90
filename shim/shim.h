// Internal definitions shared by the shim's sources.
#ifndef LLMCOST_SHIM_H
#define LLMCOST_SHIM_H

#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>

#include "llmcost.h"
#include "llmcost_common.h"
#include "exporter.h"
#include "freelist.h"
#include "guard.h"
#include "lane.h"
#include "ring.h"
#include "tsc.h"

// Slot states, so that a double end or abandon is refused, not corrupting.
enum { SLOT_FREE = 0, SLOT_OPEN = 1, SLOT_QUEUED = 2 };

typedef struct llmcost__span {
	uint16_t off;
	uint16_t len;
} llmcost__span;

// One segment of a dotted_order: a run's start (microseconds since the
// epoch) and id.
typedef struct llmcost__seg {
	uint64_t us;
	uint8_t id[16];
} llmcost__seg;

// What a slot holds: a call, or the end of a request scope (its chain
// run, which only LangSmith receives).
enum { LLMCOST__KIND_CALL = 0, LLMCOST__KIND_SCOPE = 1 };

typedef struct llmcost__kv_span {
	llmcost__span key;
	llmcost__span val;
} llmcost__kv_span;

// Fields of a slot that a setter fills and llmcost_call_end fills with
// their default when no setter did (call->set): begin then writes
// none of their bytes.
#define LLMCOST__SET_USAGE 0x01u
// Not a field: the call takes the full paths of every setter (call.c,
// client.no_fast).
#define LLMCOST__SET_SLOW 0x80u

// One pool slot.  Strings live in arena; spans index it.  The layout is
// fixed so that the pool is one allocation made at init, and ordered so
// that a typical call writes few cache lines and begin few stores:
// slots start on a line (client.c aligns the pool); the first line holds
// what begin and end write, the fields begin resets packed together (a
// few wide stores), then usage (written by set_usage alone: see set),
// the metadata entries, the tags, then the arena on a line of its own; what few calls write (run id, platform,
// request scope) comes last.  A call with three metadata entries, a tag
// and up to 64 bytes of strings writes seven lines (the slot crosses to
// the batch loop's core and back once per call, and every line it
// writes is a line that moves).
struct llmcost_call {
	alignas(64) llmcost_client *client; // set when the slot is taken
	_Atomic uint32_t state;
	uint32_t index;
	uint64_t start_ns;    // CLOCK_REALTIME (see client.real_off)
	uint64_t start_mono;  // client.clock (tsc.h), for the duration
	uint64_t duration_ns; // written by llmcost_call_end
	llmcost__span provider;
	llmcost__span model;
	// Reset by begin, from here to provider_cost_pusd.
	uint16_t arena_used;
	uint16_t n_meta;
	uint16_t n_tags;
	// Prompt and completion text (call.c): the prompt messages and the
	// bytes used of the slot's text storage (client.texts).
	uint16_t n_text;
	uint32_t text_used;
	uint8_t status;       // llmcost_status
	uint8_t service_tier; // llmcost_service_tier
	// Request scope (scope.c): kind is LLMCOST__KIND_*; depth is the
	// number of enclosing scopes in scope[], 0 outside any.
	uint8_t kind;
	uint8_t depth;
	// Whether run_id holds the call's id.  A call's id is minted when it
	// is first asked for (llmcost_call_run_id, a scope's run) or else by
	// the batch loop (batch.c), from start_ns: the call site saves the
	// generator and 16 bytes of stores.
	uint8_t has_id;
	uint8_t platform_len; // 0: the provider's own API
	// The lane (lane.h) of the thread that ended the call, where the
	// batch loop returns the slot; LLMCOST__LANE_NONE for none.  Written
	// by llmcost_call_end.
	uint8_t lane;
	uint8_t set;          // LLMCOST__SET_*: fields a setter filled
	uint32_t usage_flags; // LLMCOST_USAGE_*
	// Bit n: a metadata key (tag) of n bytes was set, n < 32.  A short
	// key whose bit is clear is new without comparing (call.c).
	uint32_t meta_lens;
	uint32_t tag_lens;
	uint64_t fees[LLMCOST_FEE_COUNT];
	int64_t provider_cost_pusd; // LLMCOST_COST_NONE when not reported
	// Zeroed by llmcost_call_end unless set (LLMCOST__SET_USAGE).
	uint64_t usage[LLMCOST_BUCKET_COUNT];
	llmcost__kv_span meta[LLMCOST_MAX_META];
	llmcost__span tags[LLMCOST_MAX_TAGS];
	alignas(64) char arena[LLMCOST_MAX_CALL_BYTES];
	uint8_t run_id[16];
	char platform[LLMCOST_MAX_PLATFORM];
	// The enclosing scopes, root first.
	llmcost__seg scope[LLMCOST_MAX_SCOPE_DEPTH];
};

#define LLMCOST__LS_KEY_MAX  512 // bytes of a LangSmith API key, NUL too
#define LLMCOST__LS_NAME_MAX 256 // project, workspace id

typedef struct llmcost__config {
	char url[LLMCOST__URL_MAX];
	int url_bad; // a URL was given but is invalid (already logged)
	uint32_t queue_max;
	int32_t flush_ms;
	int32_t ack_timeout_ms;
	uint32_t batch_max;
	unsigned flags;
	int log_level; // 0 = silent, else the highest level printed
	// LangSmith export (export_langsmith.c); ls_on 0 when off.
	int ls_on;
	char ls_key[LLMCOST__LS_KEY_MAX]; // secret: never logged
	char ls_endpoint[LLMCOST__URL_MAX];
	char ls_project[LLMCOST__LS_NAME_MAX];
	char ls_workspace[LLMCOST__LS_NAME_MAX];
	uint32_t ls_queue_batches;
	uint32_t budget_poll_ms; // the hard guard's poll of llmcostd
	int ls_gzip;             // 1 always, -1 never, 0 as GET /info says
	// The spool (spool.c): a file or directory path, "" when off.
	char spool_path[LLMCOST__PATH_MAX];
	uint32_t text_max;  // bytes of text per call; 0: text is off
	uint64_t spool_max; // bytes
} llmcost__config;

struct llmcost_client {
	// Read by every call (call.c), written at init or once: one line
	// (the client is allocated on a line, client.c).  A call on cold
	// caches reads this line, the clock's (below), the guard's first
	// one and those of its lane and slot.
	alignas(64) struct llmcost_call *pool; // within pool_mem (pool_map)
	// Per-thread lanes (lane.h): NULL when the client has none.  gen
	// tells this client from any other in the process, before and
	// after.
	llmcost__lane *lanes;
	uint64_t gen;
	uint32_t wake_depth; // queue depth at which call_end wakes the loop
	uint32_t wake_mask;  // call_end looks at the depth when !(pos & mask)
	uint32_t lane_mark;  // a lane this deep wakes the sleeping loop
	int disabled;        // cfg.flags & LLMCOST_F_DISABLE, set at init
	// Calls take the full paths only (call.c), set at init: when
	// disabled, and under Valgrind, whose memcheck cannot tell that the
	// fast paths' loads past a string's NUL never reach a result.
	int no_fast;
	_Atomic int closing;
	// CLOCK_REALTIME minus CLOCK_MONOTONIC, set at init and refreshed by
	// the batch loop on every round (at least every flush_ms): a call
	// reads one clock (clock, below) at begin, and its wall-clock start
	// follows a step of the system clock within one round.  On the
	// line of the clock's published scale, which the loop also writes.
	alignas(64) _Atomic int64_t real_off;
	// The call site's monotonic clock (tsc.h): calibrated and
	// re-anchored by the batch loop on its rounds.
	llmcost__tsc clock;
	// Exhausted hard budgets (guard.h): written by the collector
	// exporter, read by call sites (its count, on a line of its own).
	alignas(64) llmcost__guard_tab guard;

	// Read by call sites on their less common paths.
	llmcost__freelist free;    // free slots, most recently freed first
	llmcost__ring submit_ring; // indices of ended calls, in order
	void *pool_mem;            // the pool's mapping, or NULL
	size_t pool_len;           // its length
	uint64_t seed;
	uint32_t lane_hold;   // free slots a lane holds at most (0: none);
	                      // loop only, from the lanes in use (lane.c)
	uint32_t lane_budget; // free slots all lanes may still take; loop
	// Slots [0, pool_ready) are resident (llmcost__pool_ahead); loop
	// only.  pool_ahead_off: the kernel would not populate pages.
	uint32_t pool_ready;
	int pool_ahead_off;
	uint32_t page_size; // sysconf(_SC_PAGESIZE), at init
	// llmcost_shutdown is flushing: the loop may give up on a stalled
	// lossless exporter (exporter.h "Bounded queues").
	_Atomic int draining;
	// How long a lossless exporter may hold its oldest batch, once
	// draining, before the ring goes to the lossy exporters: half the
	// shutdown's time, at least a second.  Written before draining is
	// set.
	uint64_t drain_stall_ns;

	// Counters (llmcost_stats); delivery counters are per exporter.
	// dropped: calls no destination received (pool or ring full, client
	// closing, no memory for a batch, left in the ring at shutdown).
	_Atomic uint64_t dropped;
	_Atomic uint64_t attr_errors;
	_Atomic uint64_t scopes_ended;
	_Atomic uint64_t budget_refused;

	llmcost__config cfg;
	uint8_t client_id[16];

	// Lanes, continued: the registry's key and the next live client
	// (lane.c).
	pthread_key_t lane_key;
	struct llmcost_client *lanes_next;
	uint32_t lanes_touched; // lanes [0, this) were touched (loop only)

	// The batch loop (sender.c).
	pthread_t thread;
	int thread_started;
	pthread_mutex_t mtx;
	pthread_cond_t wake;     // the loop waits here (work, or room)
	pthread_cond_t progress; // flushers wait here
	int wake_flag;           // a flush asked for an immediate send
	_Atomic int sleeping;    // the loop waits for work (see sender.c)
	uint64_t taken;          // calls popped from the ring; loop only
	uint64_t handed;         // ring position handed over; guarded by mtx
	uint64_t drops_logged;   // last drop count logged; loop only
	// llmcost_flush's barrier (sender.c): flushes ask by moving
	// flush_asked; the loop notes every queue's position then, and once
	// it has taken them all, publishes the handed position that covers
	// them (flush_pos) and the request it answers (flush_seen), both
	// guarded by mtx.  barrier_* are the loop's own.
	_Atomic uint64_t flush_asked;
	uint64_t flush_seen;
	uint64_t flush_pos;
	uint64_t barrier_gen;
	int barrier_on;
	uint64_t barrier[1 + LLMCOST__LANES_MAX];
	uint64_t drops_logged_ns;

	// The destinations (exporter.h).
	llmcost__exporter exporters[LLMCOST__EXPORTERS_MAX];
	uint32_t n_exporters;
	// The spool (spool.h), or NULL: set at init, freed with the client.
	struct llmcost__spool *spool;
	// Text storage: cfg.text_max bytes per pool slot, or NULL when text
	// is off (batch.h has the entry format); reserved at init.
	char *texts;
	_Atomic uint64_t text_dropped;

	// Logging (guarded by mtx).
	llmcost_log_fn log_fn;
	void *log_arg;
};

// export_collector.c
// How long closing a collector socket may take before it is abandoned.
#define LLMCOST__CLOSE_WAIT_MS 500
// Messages on their way to the collector at once (each on its own req0
// context).  4 roughly doubles durable ingest over 1 (bench_ingest: the
// link no longer sits idle through each synced commit).  A message
// carries the batches that gathered while every flight waited, up to
// batch_max calls, so under load messages grow instead of the calls
// waiting in the pool.  A send that meets the collector's connection as
// it closes can lose one reference to the batch message inside nng 1.5
// (tests/harness/nng_lsan.c).
#define LLMCOST__INFLIGHT_MAX 4
// The collector exporter's hold (exporter.h "Bounded queues"): the
// batches it holds, in flight and waiting, take at most this many bytes
// (llmcost__batch.bytes), plus one batch: as much memory as the call
// pool of queue_max slots reserves.  A batch takes a third of a slot per
// typical call (its record and a copy of the bytes the call used), so
// the hold keeps three times the pool's calls, and a collector's commit
// stall, or a few milliseconds without the CPU, fills compact batches
// instead of the pool (at 1 M calls/s the default pool lasts 8 ms).
// Memory is allocated only as calls arrive and freed as they are
// acknowledged.  With a spool the exporter holds LLMCOST__INFLIGHT_MAX
// batches alone: the spool (spool.c) counts on that, and calls that wait
// longer belong on disk, where a killed process does not lose them.
#define LLMCOST__COLLECTOR_HOLD(queue_max)                                    \
	((uint64_t) (queue_max) * sizeof(struct llmcost_call))
// Collector sockets abandoned in this process (a close that hung).
extern _Atomic uint64_t llmcost__sockets_abandoned;

// client.c
// Makes the pool's pages resident ahead of the slots call sites have
// used (client.c).  The batch loop, once a round.
void llmcost__pool_ahead(llmcost_client *c);
// Samples CLOCK_REALTIME - CLOCK_MONOTONIC into c->real_off.
void llmcost__real_off_update(llmcost_client *c);
// Initializes a condition variable on CLOCK_MONOTONIC (the clock of
// llmcost__deadline_ms).  Returns 0 or LLMCOST_ESYSTEM.
int llmcost__cond_init(pthread_cond_t *cv);
// llmcost_init with an explicit list of exporters (NULL-terminated):
// llmcost_init passes llmcost__exporters, tests their own.
int llmcost__client_init(llmcost_client **clientp, const llmcost_options *opts,
    const struct llmcost__exporter_ops *const *exporters);

// call.c
// Returns queued calls' slots to the free stack, n > 0 of them with one
// atomic operation (batch.c, once the calls are converted).
void llmcost__call_release_n(
    llmcost_client *c, const uint32_t *idx, uint32_t n);

// call.c: the call's run id into out: the one it has, or a new one
// minted from its start time (has_id).  The owning thread, or the batch
// loop once the call is queued (which then mints without writing the
// slot, whose lines the call site writes next).
void llmcost__call_id(const struct llmcost_call *call, uint8_t out[16]);

// call.c: 1 when call matches an exhausted hard budget (guard.h), so
// that it is refused (counted in budget_refused).
int llmcost__call_guarded(struct llmcost_call *call);

// options.c
void llmcost__config_load(
    llmcost__config *cfg, const llmcost_options *o, llmcost_client *c);
// Checks a collector URL fully (scheme, host, IPv4 address, port range,
// socket path length).  Returns NULL, or a static text saying what is
// wrong.
const char *llmcost__url_check(const char *url);

// log.c
void llmcost__log(llmcost_client *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void llmcost__stderr_logger(void *arg, int level, const char *msg);

// sender.c: the batch loop.  start creates the exporters' threads and
// the loop's (with every signal blocked) and returns 0 or an error, with
// nothing left running; stop ends the loop, then the exporters.
int llmcost__sender_start(
    llmcost_client *c, const struct llmcost__exporter_ops *const *exporters);
void llmcost__sender_stop(llmcost_client *c);
void llmcost__sender_wake(llmcost_client *c);

#endif // LLMCOST_SHIM_H
