// Per-thread lanes: the call site's hand-off to the batch loop without a
// locked instruction.  A thread that makes calls on a client takes one
// lane of the client's fixed registry (LLMCOST__LANES_MAX) at its first
// call and keeps it until it exits.  A lane is two single-producer
// single-consumer rings: the ended calls the thread hands to the loop,
// and the free slots the loop hands back to the thread (at most
// lane_hold of them).  Both sides only load and store; each reads the
// other's position only when its own view says the ring is full or
// empty.  Threads beyond the registry, or on a client whose registry
// could not be set up, use the shared ring and free stack (ring.h,
// freelist.h) as before.
//
// Lifetime: a lane is FREE, OWNED by one thread (taken with one CAS at
// its first call), or EXITED (the thread's key destructor said so).  The
// loop drains an EXITED lane, returns the free slots it held to the free
// stack and marks it FREE again; a new thread may then take it.
// Positions never go back, across owners too, so llmcost_flush can
// compare them (sender.c).
//
// Threading: the lane_* functions marked "owner" run on the owning
// thread only; those marked "loop" on the batch loop's thread (or on the
// thread of llmcost_shutdown once the loop has stopped).
#ifndef LLMCOST_LANE_H
#define LLMCOST_LANE_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdint.h>

// Lanes per client: threads beyond these use the shared ring.
#define LLMCOST__LANES_MAX 16
// Ended calls a lane holds (a power of two); a full lane sends the
// thread's calls to the shared ring.
#define LLMCOST__LANE_CALLS 8192
// Free slots a lane can hold (a power of two).  The loop hands a lane at
// most a quarter of the pool shared by the lanes in use, and at most
// this: a thread ending calls faster than the loop's rounds then finds
// its own slots, not the shared stack.
#define LLMCOST__LANE_FREE 1024
// No lane: call->lane of a call ended on the shared ring.
#define LLMCOST__LANE_NONE 0xffu

enum {
	LLMCOST__LANE_FREE_ = 0,
	LLMCOST__LANE_OWNED = 1,
	LLMCOST__LANE_EXITED = 2
};

typedef struct llmcost__lane {
	// Written by the owner, which keeps its own view of both on its
	// thread-local line (llmcost__lane_tls) and only stores them here:
	// on cold caches a call then reads one line for its lane, not two.
	alignas(64) _Atomic uint64_t head; // ended calls pushed
	_Atomic uint64_t free_tail;        // free slots taken
	// Written by the loop.
	alignas(64) _Atomic uint64_t tail; // ended calls popped
	_Atomic uint64_t free_head;        // free slots handed back
	uint64_t free_tail_seen;           // the loop's view of free_tail
	// Ownership (lane.c).
	alignas(64) _Atomic uint32_t state;
	uint32_t id;
	_Atomic(const void *) owner; // the owning thread's token
	// Atomic (relaxed) only so that the loop may touch a page while a
	// thread takes the lane (lane.c); the positions order the cells.
	// The free slots first: begin reads a cell of free[] and writes the
	// owner's line above, mostly on one page (a page walk is the dearest
	// part of a call on cold caches: client.c pool_map).
	_Atomic uint32_t free[LLMCOST__LANE_FREE];
	_Atomic uint32_t calls[LLMCOST__LANE_CALLS];
} llmcost__lane;

struct llmcost_client;

// The calling thread's view of the client it used last, and its side of
// that client's lane: what the lane's owner line publishes (free_tail,
// head), what it knows of the loop's side, and the free cell it peeked.
// One line, of the calling thread's own: a call reads and writes it,
// and of the lane's owner line only writes (free_tail, head).  Set up by
// llmcost__lane_adopt whenever the thread turns to another client.
typedef struct llmcost__lane_tls {
	alignas(64) const struct llmcost_client *c;
	uint64_t gen;
	llmcost__lane *lane; // NULL: the shared ring
	uint64_t free_tail;  // lane->free_tail, as stored there
	uint64_t head;       // lane->head, as stored there
	// Free cells known written from free_tail (the loop's free_head as
	// last read, minus free_tail), and calls[] cells known free from
	// head (the loop's tail as last read): the owner reads the loop's
	// line only once either runs out.
	uint32_t free_known;
	uint32_t calls_room;
	uint32_t peek_idx; // the cell at free_tail, when peeked
	uint32_t retry;    // calls on the shared ring before asking again
	uint8_t id;        // lane - c->lanes, when lane is not NULL
	uint8_t peeked;    // peek_idx holds the cell at free_tail
	// The thread is exiting (a lane's key destructor ran): it takes
	// no lane any more, as no destructor would give it back.
	uint8_t exiting;
} llmcost__lane_tls;

extern _Thread_local llmcost__lane_tls llmcost__lane_me
    __attribute__((tls_model("initial-exec")));

// Sets up the client's registry (c->lanes); on any failure the client
// runs without lanes (every call on the shared ring).  Init thread.
void llmcost__lanes_init(struct llmcost_client *c);
// Tears it down: no destructor touches the client afterwards.  The
// loop has stopped.
void llmcost__lanes_fini(struct llmcost_client *c);

// The calling thread's lane on c, taking one if it has none (NULL: the
// shared ring).  Call sites.
llmcost__lane *llmcost__lane_attach(struct llmcost_client *c);

// Loop: pops up to max ended calls from the lanes into idx, the oldest
// start first across lanes; returns how many.
uint32_t llmcost__lanes_take(
    struct llmcost_client *c, uint32_t *idx, uint32_t max);
// Loop: returns n slots to the lanes that ended them (while they have
// room and are owned), the rest to the free stack with one CAS.
void llmcost__lanes_release(
    struct llmcost_client *c, const uint32_t *idx, uint32_t n);
// Loop: frees the lanes of exited threads once drained.
void llmcost__lanes_tend(struct llmcost_client *c);
// Lanes OWNED or EXITED (tests).
uint32_t llmcost__lanes_in_use(struct llmcost_client *c);

// Ended calls so far (the shared ring's positions plus every lane's),
// and those still queued.  Any thread.
uint64_t llmcost__queue_pushed(struct llmcost_client *c);
uint64_t llmcost__queue_depth(struct llmcost_client *c);

// The functions below marked "owner" take the calling thread's lane,
// which llmcost__lane_me describes (l == llmcost__lane_me.lane).  They
// name llmcost__lane_me directly, not through a pointer: under
// -fsanitize=undefined, GCC 12 checks such a pointer for null with the
// flags of the add that computes it, which the linker relaxes to a lea
// (initial-exec to local-exec) that sets none, and the check fires on a
// pointer that is not null.

// Owner: makes l the lane llmcost__lane_me describes, its side as the
// lane's line has it (stored there by this thread, or by the loop before
// the lane was taken: the CAS that took it acquired that); what the
// loop's side holds is read again when needed.
static inline void
llmcost__lane_adopt(llmcost__lane *l)
{
	llmcost__lane_me.lane = l;
	llmcost__lane_me.free_tail
	    = atomic_load_explicit(&l->free_tail, memory_order_relaxed);
	llmcost__lane_me.head
	    = atomic_load_explicit(&l->head, memory_order_relaxed);
	llmcost__lane_me.free_known = 0;
	llmcost__lane_me.calls_room = 0;
	llmcost__lane_me.peeked = 0;
}

// Owner: a free slot from the lane, 0 and *idx, or -1 when it has none.
static inline int
llmcost__lane_slot(llmcost__lane *l, uint32_t *idx)
{
	if (llmcost__lane_me.free_known == 0) {
		uint64_t h = atomic_load_explicit(
		    &l->free_head, memory_order_acquire);
		if (h == llmcost__lane_me.free_tail) {
			return (-1);
		}
		llmcost__lane_me.free_known
		    = (uint32_t) (h - llmcost__lane_me.free_tail);
	}
	// The cells from free_tail to free_head are the owner's: the loop
	// writes a cell again only once free_tail has passed it, so a cell
	// peeked at free_tail is still the cell there.
	*idx = llmcost__lane_me.peeked
	    ? llmcost__lane_me.peek_idx
	    : atomic_load_explicit(&l->free[llmcost__lane_me.free_tail
	                               & (LLMCOST__LANE_FREE - 1)],
	        memory_order_relaxed);
	llmcost__lane_me.peeked = 0;
	llmcost__lane_me.free_known--;
	// Release: the loop overwrites the cell only after it sees this.
	atomic_store_explicit(
	    &l->free_tail, ++llmcost__lane_me.free_tail, memory_order_release);
	return (0);
}

// Owner: the slot the next llmcost__lane_slot returns, or UINT32_MAX
// when the owner's view holds none (a prefetch hint); kept for that
// llmcost__lane_slot, which then takes it without reading the cell: on
// cold caches, one dependent load fewer (thread-local line, cell, slot).
static inline uint32_t
llmcost__lane_peek(llmcost__lane *l)
{
	if (llmcost__lane_me.free_known == 0) {
		return (UINT32_MAX);
	}
	llmcost__lane_me.peek_idx = atomic_load_explicit(
	    &l->free[llmcost__lane_me.free_tail & (LLMCOST__LANE_FREE - 1)],
	    memory_order_relaxed);
	llmcost__lane_me.peeked = 1;
	return (llmcost__lane_me.peek_idx);
}

// Owner: queues an ended call.  0 and *posp (the lane's position taken),
// or -1 when the lane is full.
static inline int
llmcost__lane_push(llmcost__lane *l, uint32_t idx, uint64_t *posp)
{
	if (llmcost__lane_me.calls_room == 0) {
		uint64_t t
		    = atomic_load_explicit(&l->tail, memory_order_acquire);
		llmcost__lane_me.calls_room = LLMCOST__LANE_CALLS
		    - (uint32_t) (llmcost__lane_me.head - t);
		if (llmcost__lane_me.calls_room == 0) {
			return (-1);
		}
	}
	atomic_store_explicit(
	    &l->calls[llmcost__lane_me.head & (LLMCOST__LANE_CALLS - 1)], idx,
	    memory_order_relaxed);
	*posp = llmcost__lane_me.head;
	llmcost__lane_me.calls_room--;
	atomic_store_explicit(
	    &l->head, ++llmcost__lane_me.head, memory_order_release);
	return (0);
}

// Owner: the calls queued in the lane, pos being the position of the
// last one pushed (reads the loop's position).
static inline uint64_t
llmcost__lane_depth(llmcost__lane *l, uint64_t pos)
{
	uint64_t t = atomic_load_explicit(&l->tail, memory_order_acquire);
	llmcost__lane_me.calls_room
	    = LLMCOST__LANE_CALLS - (uint32_t) (llmcost__lane_me.head - t);
	return (pos + 1 - t);
}

#endif // LLMCOST_LANE_H
