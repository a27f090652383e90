// DESIGN: per-thread lanes (lane.h).  The registry is one anonymous
// mapping of LLMCOST__LANES_MAX lanes per client, made at init and left
// untouched until threads take lanes (zero pages: every lane starts FREE
// at position 0), so a client that is never called from many threads
// pays address space, not memory.  A thread takes the first FREE lane
// with one CAS at its first call (the one locked instruction of its
// life on the call path) and remembers it in a thread-local cache keyed
// by the client's generation (unique in the process, so a client freed
// and another made at the same address are never confused) and in a
// pthread key of the client, whose destructor marks the lane EXITED when
// the thread ends.  A destructor may run while the client is being shut
// down: it only touches a lane under a process-wide mutex, after finding
// the lane's client in the list of live clients, and llmcost_shutdown
// takes the client off that list (and deletes its key) under the same
// mutex before the memory goes.  fork(): the mutex is held across it
// (pthread_atfork), so a child never inherits it locked.  The batch loop
// alone pops a lane's ended calls, returns slots to it, and recycles an
// EXITED lane once drained, so none of that needs more than loads and
// stores on the lane.  The lane's rings are zero pages until touched: a
// thread that wrote a cell on a new page would take a page fault on its
// call path (1 to 20 us on a KVM guest, by the hour; once per 1024 calls
// until the ring has wrapped), so the loop touches a lane's pages before
// threads take it: lane 0 at init, and the next one whenever no touched
// lane is left free (threads take the lowest free lane first).  It
// touches a page with an atomic add of 0 to one cell, which changes
// nothing even if a thread has just taken the lane.
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "lane.h"
#include "shim.h"

// Calls made on the shared ring before a thread without a lane looks
// for a free one again.
#define RETRY_CALLS 4096
// Slots returned to the free stack at once when lanes have no room.
#define SPILL_MAX 256

_Thread_local llmcost__lane_tls llmcost__lane_me
    __attribute__((tls_model("initial-exec")));

static pthread_mutex_t live_mtx = PTHREAD_MUTEX_INITIALIZER;
static llmcost_client *live; // clients with lanes; guarded by live_mtx
static _Atomic uint64_t next_gen = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
fork_prepare(void)
{
	pthread_mutex_lock(&live_mtx);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&live_mtx);
}

static void
fork_child(void)
{
	pthread_mutex_unlock(&live_mtx);
}

static void
atfork_setup(void)
{
	(void) pthread_atfork(fork_prepare, fork_parent, fork_child);
}

// The key's destructor: the thread that owned lane v is exiting.
static void
lane_exit(void *v)
{
	pthread_mutex_lock(&live_mtx);
	for (llmcost_client *c = live; c != NULL; c = c->lanes_next) {
		llmcost__lane *l = v;
		if (l >= c->lanes && l < c->lanes + LLMCOST__LANES_MAX) {
			if (atomic_load(&l->owner) == &llmcost__lane_me) {
				atomic_store(&l->owner, NULL);
				atomic_store_explicit(&l->state,
				    LLMCOST__LANE_EXITED,
				    memory_order_release);
			}
			break;
		}
	}
	pthread_mutex_unlock(&live_mtx);
	// Destructors of other keys may still make calls on this thread:
	// they go to the shared ring, never to the lane handed back (the
	// loop may already give it and its free slots to another thread),
	// nor to a lane of any client taken now: the destructor that would
	// hand it back may have had its last round.
	llmcost__lane_tls *me = &llmcost__lane_me;
	me->exiting = 1;
	if (me->lane == v) {
		me->lane = NULL;
		me->retry = UINT32_MAX;
	}
}

// Brings every page of l's rings into memory without changing a cell.
// Any thread, at any time.
static void
lane_touch(llmcost__lane *l)
{
	size_t step = 4096 / sizeof(l->calls[0]);
	for (size_t i = 0; i < LLMCOST__LANE_CALLS; i += step) {
		atomic_fetch_add_explicit(
		    &l->calls[i], 0, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(
	    &l->calls[LLMCOST__LANE_CALLS - 1], 0, memory_order_relaxed);
	for (size_t i = 0; i < LLMCOST__LANE_FREE; i += step) {
		atomic_fetch_add_explicit(
		    &l->free[i], 0, memory_order_relaxed);
	}
	atomic_fetch_add_explicit(
	    &l->free[LLMCOST__LANE_FREE - 1], 0, memory_order_relaxed);
}

void
llmcost__lanes_init(llmcost_client *c)
{
	c->gen = atomic_fetch_add(&next_gen, 1);
	c->lanes = NULL;
	(void) pthread_once(&atfork_once, atfork_setup);
	size_t len = LLMCOST__LANES_MAX * sizeof(llmcost__lane);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		llmcost__log(c, LLMCOST_LOG_DEBUG,
		    "no memory for per-thread lanes: every call takes the "
		    "shared queue");
		return;
	}
	if (pthread_key_create(&c->lane_key, lane_exit) != 0) {
		llmcost__log(c, LLMCOST_LOG_DEBUG,
		    "no thread-specific key left: every call takes the "
		    "shared queue");
		(void) munmap(m, len);
		return;
	}
	c->lane_hold = 0; // set by llmcost__lanes_tend
	c->lane_mark = c->wake_depth < LLMCOST__LANE_CALLS / 2
	    ? c->wake_depth
	    : LLMCOST__LANE_CALLS / 2;
	lane_touch(m);
	c->lanes_touched = 1;
	pthread_mutex_lock(&live_mtx);
	c->lanes = m;
	c->lanes_next = live;
	live = c;
	pthread_mutex_unlock(&live_mtx);
}

void
llmcost__lanes_fini(llmcost_client *c)
{
	if (c->lanes == NULL) {
		return;
	}
	pthread_mutex_lock(&live_mtx);
	for (llmcost_client **p = &live; *p != NULL; p = &(*p)->lanes_next) {
		if (*p == c) {
			*p = c->lanes_next;
			break;
		}
	}
	(void) pthread_key_delete(c->lane_key);
	pthread_mutex_unlock(&live_mtx);
	(void) munmap(c->lanes, LLMCOST__LANES_MAX * sizeof(llmcost__lane));
	c->lanes = NULL;
}

llmcost__lane *
llmcost__lane_attach(llmcost_client *c)
{
	llmcost__lane_tls *me = &llmcost__lane_me;

	if (me->c == c && me->gen == c->gen) {
		if (me->lane != NULL) {
			return (me->lane);
		}
		if (me->retry > 0) {
			me->retry--;
			return (NULL);
		}
	}
	me->c = c;
	me->gen = c->gen;
	me->lane = NULL;
	me->retry = RETRY_CALLS;
	if (c->lanes == NULL || me->exiting) {
		me->retry = UINT32_MAX;
		return (NULL);
	}
	llmcost__lane *l = pthread_getspecific(c->lane_key);
	for (uint32_t i = 0; l == NULL && i < LLMCOST__LANES_MAX; i++) {
		llmcost__lane *cand = &c->lanes[i];
		uint32_t st = LLMCOST__LANE_FREE_;
		if (atomic_load_explicit(&cand->state, memory_order_relaxed)
		        != LLMCOST__LANE_FREE_
		    || !atomic_compare_exchange_strong_explicit(&cand->state,
		        &st, LLMCOST__LANE_OWNED, memory_order_acquire,
		        memory_order_relaxed)) {
			continue;
		}
		atomic_store(&cand->owner, (const void *) me);
		if (pthread_setspecific(c->lane_key, cand) != 0) {
			// No destructor would say when the thread ends: hand
			// the lane back at once.
			atomic_store(&cand->owner, NULL);
			atomic_store_explicit(&cand->state,
			    LLMCOST__LANE_EXITED, memory_order_release);
			break;
		}
		l = cand;
	}
	if (l != NULL) {
		me->id = (uint8_t) (l - c->lanes);
		llmcost__lane_adopt(l);
	}
	return (l);
}

// The pool index of the ended call at position t of lane l.
static inline uint32_t
lane_call(const llmcost__lane *l, uint64_t t)
{
	return (atomic_load_explicit(
	    &l->calls[t & (LLMCOST__LANE_CALLS - 1)], memory_order_relaxed));
}

uint32_t
llmcost__lanes_take(llmcost_client *c, uint32_t *idx, uint32_t max)
{
	struct {
		llmcost__lane *l;
		uint64_t t, h;
		uint64_t start; // the start of the call at t
	} act[LLMCOST__LANES_MAX];
	uint32_t na = 0, n = 0;

	if (c->lanes == NULL) {
		return (0);
	}
	for (uint32_t k = 0; k < LLMCOST__LANES_MAX; k++) {
		llmcost__lane *l = &c->lanes[k];
		uint64_t t
		    = atomic_load_explicit(&l->tail, memory_order_relaxed);
		uint64_t h
		    = atomic_load_explicit(&l->head, memory_order_acquire);
		if (t != h) {
			act[na].l = l;
			act[na].t = t;
			act[na].h = h;
			act[na].start = c->pool[lane_call(l, t)].start_ns;
			na++;
		}
	}
	// Oldest call first across the lanes (each lane is in its thread's
	// time order): run ids are time-ordered (UUIDv7), so batches reach
	// the collector in id order and its store appends runs instead of
	// splitting pages (store.c), whatever number of threads call.
	while (n < max && na > 0) {
		uint32_t j = 0;
		for (uint32_t k = 1; k < na; k++) {
			if (act[k].start < act[j].start) {
				j = k;
			}
		}
		idx[n++] = lane_call(act[j].l, act[j].t++);
		if (act[j].t == act[j].h) {
			// Release: the owner overwrites the cells once it
			// sees this.
			atomic_store_explicit(
			    &act[j].l->tail, act[j].t, memory_order_release);
			act[j] = act[--na];
		} else {
			act[j].start
			    = c->pool[lane_call(act[j].l, act[j].t)].start_ns;
		}
	}
	for (uint32_t k = 0; k < na; k++) {
		atomic_store_explicit(
		    &act[k].l->tail, act[k].t, memory_order_release);
	}
	return (n);
}

void
llmcost__lanes_release(llmcost_client *c, const uint32_t *idx, uint32_t n)
{
	uint32_t spill[SPILL_MAX];
	uint32_t ns = 0;
	// Per lane: the position up to which cells were written and how
	// many more it takes (0 once full, or when not owned); UINT32_MAX
	// until the lane is first looked at.
	uint64_t head[LLMCOST__LANES_MAX];
	uint32_t room[LLMCOST__LANES_MAX];
	uint32_t touched = 0;             // bit i: lane i's head moved
	uint32_t budget = c->lane_budget; // slots the lanes may take in all

	for (uint32_t i = 0; i < LLMCOST__LANES_MAX; i++) {
		room[i] = UINT32_MAX;
	}
	for (uint32_t i = 0; i < n; i++) {
		uint32_t id = c->pool[idx[i]].lane;
		if (c->lanes != NULL && c->lane_hold > 0
		    && id < LLMCOST__LANES_MAX) {
			llmcost__lane *l = &c->lanes[id];
			if (room[id] == UINT32_MAX) {
				room[id] = 0;
				head[id] = atomic_load_explicit(
				    &l->free_head, memory_order_relaxed);
				if (atomic_load_explicit(
				        &l->state, memory_order_acquire)
				    == LLMCOST__LANE_OWNED) {
					if (head[id] - l->free_tail_seen
					    >= c->lane_hold) {
						l->free_tail_seen
						    = atomic_load_explicit(
						        &l->free_tail,
						        memory_order_acquire);
					}
					uint64_t held
					    = head[id] - l->free_tail_seen;
					room[id] = held < c->lane_hold
					    ? c->lane_hold - (uint32_t) held
					    : 0;
				}
			}
			if (room[id] > 0 && budget > 0) {
				atomic_store_explicit(
				    &l->free[head[id]++
				        & (LLMCOST__LANE_FREE - 1)],
				    idx[i], memory_order_relaxed);
				room[id]--;
				budget--;
				touched |= 1u << id;
				continue;
			}
		}
		spill[ns++] = idx[i];
		if (ns == SPILL_MAX) {
			llmcost__freelist_push_n(&c->free, spill, ns);
			ns = 0;
		}
	}
	if (ns > 0) {
		llmcost__freelist_push_n(&c->free, spill, ns);
	}
	c->lane_budget = budget;
	for (uint32_t i = 0; i < LLMCOST__LANES_MAX; i++) {
		if (touched & (1u << i)) {
			atomic_store_explicit(&c->lanes[i].free_head, head[i],
			    memory_order_release);
		}
	}
}

void
llmcost__lanes_tend(llmcost_client *c)
{
	uint32_t owned = 0;
	uint32_t spare = 0; // touched lanes free
	uint64_t held = 0;  // free slots the owned lanes hold

	if (c->lanes == NULL) {
		return;
	}
	for (uint32_t i = 0; i < LLMCOST__LANES_MAX; i++) {
		llmcost__lane *l = &c->lanes[i];
		uint32_t st
		    = atomic_load_explicit(&l->state, memory_order_acquire);
		owned += st == LLMCOST__LANE_OWNED;
		spare += i < c->lanes_touched && st == LLMCOST__LANE_FREE_;
		if (st == LLMCOST__LANE_OWNED) {
			l->free_tail_seen = atomic_load_explicit(
			    &l->free_tail, memory_order_acquire);
			held += atomic_load_explicit(
			            &l->free_head, memory_order_relaxed)
			    - l->free_tail_seen;
		}
		if (st != LLMCOST__LANE_EXITED
		    || atomic_load_explicit(&l->head, memory_order_acquire)
		        != atomic_load_explicit(
		            &l->tail, memory_order_relaxed)) {
			continue;
		}
		// The owner is gone: its free slots go back to the stack,
		// and the loop's view is brought up to date (the next owner
		// takes its own from the lane: llmcost__lane_adopt).
		uint64_t t = atomic_load_explicit(
		    &l->free_tail, memory_order_relaxed);
		uint64_t h = atomic_load_explicit(
		    &l->free_head, memory_order_relaxed);
		uint32_t buf[SPILL_MAX];
		while (t < h) {
			uint32_t k = 0;
			while (t < h && k < SPILL_MAX) {
				buf[k++] = atomic_load_explicit(
				    &l->free[t++ & (LLMCOST__LANE_FREE - 1)],
				    memory_order_relaxed);
			}
			llmcost__freelist_push_n(&c->free, buf, k);
		}
		atomic_store_explicit(&l->free_tail, h, memory_order_relaxed);
		l->free_tail_seen = h;
		atomic_store_explicit(
		    &l->state, LLMCOST__LANE_FREE_, memory_order_release);
	}
	// Keep one touched lane free for the next thread.
	if (c->lanes_touched < LLMCOST__LANES_MAX && spare == 0) {
		lane_touch(&c->lanes[c->lanes_touched++]);
	}
	// The lanes hold a quarter of the pool between them at most, so
	// that one or two busy threads find their own slots for a whole
	// round of the loop, not the shared stack's compare-and-swap.  The
	// quarter is a budget for all lanes (lane_budget: what they may take
	// on top of what they hold), because a thread that stops making
	// calls keeps its slots, and threads that came and went quiet one
	// after another would otherwise each keep the larger share of a
	// time when fewer lanes were in use.  A lane takes at most an equal
	// share of the quarter (lane_hold); fewer than 8 slots a lane are
	// not worth holding.
	uint32_t quarter = c->cfg.queue_max / 4;
	uint32_t hold = quarter / (owned > 0 ? owned : 1);
	c->lane_hold = hold > LLMCOST__LANE_FREE ? LLMCOST__LANE_FREE
	    : hold < 8                           ? 0
	                                         : hold;
	c->lane_budget = held < quarter ? quarter - (uint32_t) held : 0;
}

uint32_t
llmcost__lanes_in_use(llmcost_client *c)
{
	uint32_t n = 0;
	for (uint32_t i = 0; c->lanes != NULL && i < LLMCOST__LANES_MAX; i++) {
		n += atomic_load(&c->lanes[i].state) != LLMCOST__LANE_FREE_;
	}
	return (n);
}

uint64_t
llmcost__queue_pushed(llmcost_client *c)
{
	uint64_t n = llmcost__ring_pushed(&c->submit_ring);
	for (uint32_t i = 0; c->lanes != NULL && i < LLMCOST__LANES_MAX; i++) {
		n += atomic_load_explicit(
		    &c->lanes[i].head, memory_order_acquire);
	}
	return (n);
}

uint64_t
llmcost__queue_depth(llmcost_client *c)
{
	uint64_t n = llmcost__ring_depth(&c->submit_ring);
	for (uint32_t i = 0; c->lanes != NULL && i < LLMCOST__LANES_MAX; i++) {
		llmcost__lane *l = &c->lanes[i];
		uint64_t t
		    = atomic_load_explicit(&l->tail, memory_order_relaxed);
		uint64_t h
		    = atomic_load_explicit(&l->head, memory_order_relaxed);
		n += h > t ? h - t : 0;
	}
	return (n);
}
