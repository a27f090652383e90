// DESIGN: the call-site API.  llmcost_call_begin takes a slot, the
// setters copy into the slot's fixed arena, and llmcost_call_end queues
// the slot's index for the batch loop.  A thread with a lane (lane.h)
// takes its slots from the lane and queues its calls there, with plain
// loads and stores; other threads use the shared free stack and ring
// (one CAS each).  No function here allocates, locks or enters the
// kernel (clock_gettime is a vDSO read); the one exception is waking the
// sleeping batch loop when a queue passes its high mark, which a loop
// that sleeps by the arrival rate (sender.c) leaves for bursts.  Every
// argument is validated here, at the edge, so exporters only ever see
// well-formed records.  Each entry point has a fast path for the common
// call (short ASCII strings loaded and stored 16 bytes at a time, the
// thread's own lane, the counter clock) that makes no call, so it needs
// no stack frame; every other case, errors included, goes to an
// out-of-line function in tail position.  begin writes only the fields
// it must (shim.h): the few that setters fill are left for end, which
// gives them their default when no setter did (call->set).
#include <stddef.h>
#include <stdint.h>
#include <string.h>

// CALL_SSE2: the fast paths' 16-byte loads and stores.  Without SSE2, or
// built with LLMCOST_NO_SIMD (cmake -DLLMCOST_PORTABLE=ON, which tests on
// x86 what CPUs without SSE2 run), every string takes the portable checks.
#if defined(__SSE2__) && !defined(LLMCOST_NO_SIMD)
#define CALL_SSE2 1
#include <emmintrin.h>
#endif

#include "llmcost_proto.h"
#include "shim.h"
#include "uuid7.h"

// The fast paths, together in a section of their own, so that a call on
// cold caches fetches its code from a few adjacent lines on one page:
// on cold caches each page is a page walk, two-level under a
// hypervisor.  The section starts on a page (the directive sets its
// alignment and emits no code; a build with link-time optimization may
// drop it, costing one page walk more); the functions (2.3 KiB in a
// release build) fit in one.
#if defined(__GNUC__) && defined(__ELF__)                                     \
    && (defined(__x86_64__) || defined(__aarch64__))
#define HOT __attribute__((hot, section(".text.llmcost_hot")))
__asm__(".pushsection .text.llmcost_hot,\"ax\",@progbits\n"
        ".p2align 12\n"
        ".popsection");
#else
#define HOT __attribute__((hot))
#endif

// Bytes of the short strings that take the fast paths below; every cap
// (LLMCOST_MAX_*) is at least this, so a short string never needs the
// length check.
#define SHORT_STR 16

_Static_assert(
    LLMCOST_MAX_PROVIDER + LLMCOST_MAX_MODEL <= LLMCOST_MAX_CALL_BYTES,
    "a provider and a model fit a fresh arena");
_Static_assert(LLMCOST_MAX_PROVIDER >= SHORT_STR
        && LLMCOST_MAX_KEY >= SHORT_STR && LLMCOST_MAX_MODEL >= SHORT_STR
        && LLMCOST_MAX_VALUE >= SHORT_STR && LLMCOST_MAX_TAG >= SHORT_STR,
    "a short string must fit every cap");

#if defined(CALL_SSE2)
// The length of s when it is at most SHORT_STR bytes of ASCII, else -1
// (a longer string, or a byte above 0x7f: llmcost__str_check decides).
// Two aligned 16-byte loads find the NUL and the high bits together.  An
// aligned load never crosses a page, so it cannot fault, but it may read
// bytes after the string's NUL, beyond the object that holds it: the
// C library's own strlen does the same.  Those bytes never reach a
// result, so the address and thread sanitizers are told to skip this
// function (they would report the read as out of bounds or as a race).
__attribute__((no_sanitize("address", "thread"))) static inline int
short_ascii_len(const char *s)
{
	const __m128i *a
	    = (const __m128i *) (uintptr_t) ((uintptr_t) s & ~(uintptr_t) 15);
	unsigned sh = (unsigned) ((uintptr_t) s & 15);
	__m128i zero = _mm_setzero_si128();
	__m128i v = _mm_load_si128(a);
	uint32_t z = (uint32_t) _mm_movemask_epi8(_mm_cmpeq_epi8(v, zero));
	uint32_t h = (uint32_t) _mm_movemask_epi8(v);
	z >>= sh;
	h >>= sh;
	if (z == 0) {
		// The NUL is not in the first block: the next one holds at
		// least SHORT_STR + 1 - (16 - sh) more bytes.
		__m128i w = _mm_load_si128(a + 1);
		z = (uint32_t) _mm_movemask_epi8(_mm_cmpeq_epi8(w, zero))
		    << (16 - sh);
		h |= (uint32_t) _mm_movemask_epi8(w) << (16 - sh);
		if (z == 0) {
			return (-1);
		}
	}
	unsigned len = (unsigned) __builtin_ctz(z);
	if (len > SHORT_STR || (h & ((1u << len) - 1)) != 0) {
		return (-1);
	}
	return ((int) len);
}
#else
// Without SSE2 every string takes llmcost__str_check.
static inline int
short_ascii_len(const char *s)
{
	(void) s;
	return (-1);
}
#endif

#if defined(CALL_SSE2)
// The fast paths below: a string of at most FAST_STR bytes of ASCII,
// loaded whole into a register and stored into the arena with one
// unaligned 16-byte store.  The bytes the store writes past the string
// (its NUL and what followed it in the caller's memory) lie past
// arena_used, where nothing reads them, until the next string's store
// overwrites them: a mask would cost a constant's cache line on every
// call that finds it cold.
#define FAST_STR 15

// Loads s into *v when s is 0..FAST_STR bytes of ASCII and the 16 bytes
// from s lie in s's page; returns its length, else -1 (also for NULL,
// and for a string that starts a page: llmcost__str_check decides).
// One page-bounded unaligned load finds the NUL and the high bits
// together.  It may read bytes after the string's NUL, beyond the object
// that holds it, which the C library's own strlen does too: those bytes
// never reach a result, so the address and thread sanitizers are told
// to skip this function.
__attribute__((no_sanitize("address", "thread"))) static inline int
short_load(const char *s, __m128i *v)
{
	// Offsets 1..4080 in the page: s - 1 wraps NULL and a page's first
	// byte to the top.
	if ((((uintptr_t) s - 1) & 4095) >= 4096 - 16) {
		return (-1);
	}
	__m128i x = _mm_loadu_si128((const __m128i *) (const void *) s);
	uint32_t z = (uint32_t) _mm_movemask_epi8(
	    _mm_cmpeq_epi8(x, _mm_setzero_si128()));
	uint32_t h = (uint32_t) _mm_movemask_epi8(x);
	// z ^ (z - 1): the bytes up to the first NUL (all when none).
	if (z == 0 || (h & (z ^ (z - 1))) != 0) {
		return (-1);
	}
	*v = x;
	return (__builtin_ctz(z));
}

// The fast path of set_meta writes a span as one little-endian word
// (x86 with SSE2 only).
_Static_assert(sizeof(llmcost__span) == 4 && offsetof(llmcost__span, len) == 2,
    "a span is off, then len, in one word");

static inline void
store16(char *dst, __m128i v)
{
	_mm_storeu_si128((__m128i *) (void *) dst, v);
}
#endif

// llmcost__str_check, with the common case (a short ASCII string) done
// inline: the same rules, the same results.
static inline int
str_check(const char *s, size_t max, int allow_empty, size_t *lenp)
{
	if (s != NULL) {
		int len = short_ascii_len(s);
		if (len > 0 || (len == 0 && allow_empty)) {
			*lenp = (size_t) len;
			return (0);
		}
	}
	return (llmcost__str_check(s, max, allow_empty, lenp));
}

// Copies len bytes, inline for short strings: two overlapping loads and
// stores cover any length up to 16 and never touch a byte outside
// [src, src + len) or [dst, dst + len).
__attribute__((always_inline)) static inline void
copy_str(char *dst, const char *src, size_t len)
{
	if (len >= 8 && len <= 16) {
		uint64_t a, b;
		memcpy(&a, src, 8);
		memcpy(&b, src + len - 8, 8);
		memcpy(dst, &a, 8);
		memcpy(dst + len - 8, &b, 8);
	} else if (len >= 4 && len < 8) {
		uint32_t a, b;
		memcpy(&a, src, 4);
		memcpy(&b, src + len - 4, 4);
		memcpy(dst, &a, 4);
		memcpy(dst + len - 4, &b, 4);
	} else if (len > 0 && len < 4) {
		dst[0] = src[0];
		dst[len / 2] = src[len / 2];
		dst[len - 1] = src[len - 1];
	} else if (len > 16) {
		memcpy(dst, src, len);
	}
}

static inline int
arena_put(
    struct llmcost_call *call, const char *s, size_t len, llmcost__span *out)
{
	if (len > sizeof(call->arena) - call->arena_used) {
		return (LLMCOST_ETOOBIG);
	}
	copy_str(call->arena + call->arena_used, s, len);
	out->off = call->arena_used;
	out->len = (uint16_t) len;
	call->arena_used += (uint16_t) len;
	return (0);
}

static int
span_eq(const struct llmcost_call *call, llmcost__span sp, const char *s,
    size_t len)
{
	return (sp.len == len && memcmp(call->arena + sp.off, s, len) == 0);
}

// A refused attribute is counted so that stats show misuse at call sites.
static int
attr_error(struct llmcost_call *call, int rv)
{
	atomic_fetch_add_explicit(
	    &call->client->attr_errors, 1, memory_order_relaxed);
	return (rv);
}

// Asks for the lines a call writes in the slot the next begin will
// probably take (the top of the free stack), so that they travel from the
// batch loop's core while this call's caller does its own work instead of
// at the next call's first stores.  A hint: wrong guesses cost nothing
// but the bandwidth.
static inline void
prefetch_w(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	// PREFETCHW: fetch for ownership (a NOP on CPUs without it).
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *) p));
#else
	__builtin_prefetch(p, 1, 3);
#endif
}

// The calling thread's lane on c, or NULL (lane.h): one thread-local
// compare in the common case.
static inline llmcost__lane *
my_lane(llmcost_client *c)
{
	// Generations are never reused (lane.c), so a match is this client.
	const llmcost__lane_tls *me = &llmcost__lane_me;
	if (me->gen == c->gen && me->lane != NULL) {
		return (me->lane);
	}
	return (llmcost__lane_attach(c));
}

// The lines of a slot a typical call writes: the fixed fields, usage,
// the first metadata and tag entries and the start of the arena
// (shim.h).
static inline void
prefetch_slot(const struct llmcost_call *s)
{
	prefetch_w(s);
	prefetch_w(&s->fees[0]);
	prefetch_w(&s->usage[LLMCOST_BUCKET_COUNT - 1]);
	prefetch_w(&s->meta[2]);
	prefetch_w(&s->tags[0]);
	prefetch_w(&s->arena[0]);
	prefetch_w(&s->arena[64]);
}

int
llmcost__call_guarded(struct llmcost_call *call)
{
	llmcost_client *c = call->client;
	uint64_t h[2 + LLMCOST_MAX_META];
	size_t n = 0;

	// The fast path: no hard budget exhausted.
	if (atomic_load_explicit(&c->guard.n, memory_order_relaxed) == 0) {
		return (0);
	}
	h[n++] = llmcost__guard_hash(LLMCOST_GUARD_PROVIDER, NULL, 0,
	    call->arena + call->provider.off, call->provider.len);
	h[n++] = llmcost__guard_hash(LLMCOST_GUARD_MODEL, NULL, 0,
	    call->arena + call->model.off, call->model.len);
	for (uint16_t i = 0; i < call->n_meta; i++) {
		h[n++] = llmcost__guard_hash(LLMCOST_GUARD_META,
		    call->arena + call->meta[i].key.off, call->meta[i].key.len,
		    call->arena + call->meta[i].val.off,
		    call->meta[i].val.len);
	}
	if (!llmcost__guard_match(&c->guard, h, n)) {
		return (0);
	}
	atomic_fetch_add_explicit(&c->budget_refused, 1, memory_order_relaxed);
	return (1);
}

// llmcost__call_guarded with its fast path (no hard budget exhausted)
// inline.
static inline int
guarded(struct llmcost_call *call)
{
	if (atomic_load_explicit(&call->client->guard.n, memory_order_relaxed)
	    == 0) {
		return (0);
	}
	return (llmcost__call_guarded(call));
}

static int
is_open(const llmcost_call *call)
{
	return (call != NULL
	    && atomic_load_explicit(&call->state, memory_order_relaxed)
	        == SLOT_OPEN);
}

// Resets the fields of a slot just taken (shim.h) but its start times,
// the bytes of its arena and its state; the fields a setter fills
// (call->set) are left for llmcost_call_end.  Written in layout order,
// so that the compiler merges the constant ones into a few wide stores.
static inline void
slot_reset(llmcost_client *c, struct llmcost_call *call, uint32_t idx,
    uint16_t plen, uint16_t mlen)
{
	call->client = c;
	call->index = idx;
	call->provider.off = 0;
	call->provider.len = plen;
	call->model.off = plen;
	call->model.len = mlen;
	call->arena_used = (uint16_t) (plen + mlen);
	call->n_meta = 0;
	call->n_tags = 0;
	call->n_text = 0;
	call->text_used = 0;
	call->status = LLMCOST_STATUS_OK;
	call->service_tier = LLMCOST_TIER_STANDARD;
	call->kind = LLMCOST__KIND_CALL;
	call->depth = 0;
	call->has_id = 0;
	call->platform_len = 0;
	call->lane = LLMCOST__LANE_NONE;
	call->set = 0;
	call->usage_flags = 0;
	call->meta_lens = 0;
	call->tag_lens = 0;
	memset(call->fees, 0, sizeof(call->fees));
	call->provider_cost_pusd = LLMCOST_COST_NONE;
}

// The call's start, mono from the call-site clock.  One clock read: the
// wall-clock start is the monotonic one plus the offset the batch loop
// keeps fresh (shim.h).
static inline void
slot_start(llmcost_client *c, struct llmcost_call *call, uint64_t mono)
{
	call->start_ns = mono
	    + (uint64_t) atomic_load_explicit(
	        &c->real_off, memory_order_relaxed);
	call->start_mono = mono;
}

// begin's refusal by a hard budget (out of line: rare).
__attribute__((noinline, cold)) static int
begin_guard(struct llmcost_call *call, llmcost_call **callp)
{
	if (!llmcost__call_guarded(call)) {
		return (0);
	}
	*callp = NULL;
	llmcost_call_abandon(call);
	return (LLMCOST_EBUDGET);
}

// The end of every begin, once the slot is filled: opens it, hands it
// out, checks the hard budgets and prefetches the next slot.  The rare
// branches are calls in tail position, so a caller needs no stack frame.
static inline int
begin_open(llmcost_client *c, struct llmcost_call *call, llmcost__lane *l,
    llmcost_call **callp)
{
	atomic_store_explicit(&call->state, SLOT_OPEN, memory_order_relaxed);
	*callp = call;
	if (atomic_load_explicit(&c->guard.n, memory_order_relaxed) != 0) {
		return (begin_guard(call, callp));
	}
	// Asks for the lines of the slot the next begin will probably take
	// (the top of the free stack), so that they travel from the batch
	// loop's core while this call's caller does its own work instead
	// of at the next call's first stores.  A hint: wrong guesses cost
	// nothing but the bandwidth.
	uint32_t top = l != NULL ? llmcost__lane_peek(l) : UINT32_MAX;
	if (top == UINT32_MAX) {
		top = llmcost__freelist_peek(&c->free);
	}
	if (top != UINT32_MAX) {
		prefetch_slot(&c->pool[top]);
	}
	return (0);
}

// Every case of begin: out of line, with the general string checks and
// copies, the lane lookup, the shared free stack and the clock's
// fallback.
__attribute__((noinline)) static int
begin_full(llmcost_client *c, const char *provider, const char *model,
    llmcost_call **callp)
{
	size_t plen, mlen;
	uint32_t idx;
	int rv;

	if (callp != NULL) {
		*callp = NULL;
	}
	if (c == NULL || callp == NULL) {
		return (LLMCOST_EINVAL);
	}
	if (c->disabled) {
		return (LLMCOST_EDISABLED);
	}
	if (atomic_load_explicit(&c->closing, memory_order_relaxed)) {
		return (LLMCOST_ECLOSED);
	}
	if ((rv = str_check(provider, LLMCOST_MAX_PROVIDER, 0, &plen)) != 0
	    || (rv = str_check(model, LLMCOST_MAX_MODEL, 0, &mlen)) != 0) {
		atomic_fetch_add_explicit(
		    &c->attr_errors, 1, memory_order_relaxed);
		return (rv);
	}
	llmcost__lane *l = my_lane(c);
	if ((l == NULL || llmcost__lane_slot(l, &idx) != 0)
	    && llmcost__freelist_pop(&c->free, &idx) != 0) {
		atomic_fetch_add_explicit(
		    &c->dropped, 1, memory_order_relaxed);
		return (LLMCOST_EFULL);
	}
	struct llmcost_call *call = &c->pool[idx];
	slot_reset(c, call, idx, (uint16_t) plen, (uint16_t) mlen);
	if (c->no_fast) {
		call->set = LLMCOST__SET_SLOW;
	}
	// Both fit: the arena is larger than the two caps together.
	copy_str(call->arena, provider, plen);
	copy_str(call->arena + plen, model, mlen);
	slot_start(c, call, llmcost__tsc_now(&c->clock));
	return (begin_open(c, call, l, callp));
}

#if defined(CALL_SSE2)
// begin's fast path with the clock's fallback: the slot is filled but
// for its start.
__attribute__((noinline)) static int
begin_timed(llmcost_client *c, struct llmcost_call *call, llmcost__lane *l,
    llmcost_call **callp)
{
	slot_start(c, call, llmcost__tsc_now(&c->clock));
	return (begin_open(c, call, l, callp));
}

// The rest of begin's fast paths, once a slot is taken: fills slot idx
// with the checked and loaded names (pv, mv) and opens it.  Inline, so
// that the fast paths stay without a stack frame.
__attribute__((always_inline)) static inline int
begin_fill(llmcost_client *c, uint32_t idx, llmcost__lane *l, int plen,
    int mlen, __m128i pv, __m128i mv, llmcost_call **callp)
{
	struct llmcost_call *call = &c->pool[idx];
	uint64_t mono;

	slot_reset(c, call, idx, (uint16_t) plen, (uint16_t) mlen);
	store16(call->arena, pv);
	store16(call->arena + plen, mv);
	if (llmcost__tsc_try(&c->clock, &mono) != 0) {
		return (begin_timed(c, call, l, callp));
	}
	slot_start(c, call, mono);
	return (begin_open(c, call, l, callp));
}

// begin's fast path when the thread's lane has no free slot: a slot
// from the shared free stack.  The names are checked and loaded (pv,
// mv).
__attribute__((noinline)) HOT static int
begin_shared(llmcost_client *c, llmcost_call **callp, llmcost__lane *l,
    int plen, int mlen, __m128i pv, __m128i mv)
{
	uint32_t idx = llmcost__freelist_take(&c->free);

	if (idx == UINT32_MAX) {
		*callp = NULL;
		atomic_fetch_add_explicit(
		    &c->dropped, 1, memory_order_relaxed);
		return (LLMCOST_EFULL);
	}
	return (begin_fill(c, idx, l, plen, mlen, pv, mv, callp));
}
#endif

HOT int
llmcost_call_begin(llmcost_client *c, const char *provider, const char *model,
    llmcost_call **callp)
{
#if defined(CALL_SSE2)
	// The common case: a running client, short ASCII names (up to
	// FAST_STR bytes), a thread whose lane is known and has a free
	// slot, the counter clock.  Everything else, errors included, is
	// begin_full's; the rare branches are calls in tail position.
	const llmcost__lane_tls *me = &llmcost__lane_me;
	llmcost__lane *l;
	__m128i pv, mv;
	uint32_t idx;
	int plen, mlen;

	// A thread without a lane goes to begin_full, which asks for one
	// now and then (lane.c).
	if (c == NULL || callp == NULL || c->no_fast
	    || atomic_load_explicit(&c->closing, memory_order_relaxed)
	    || me->gen != c->gen || (l = me->lane) == NULL
	    || (plen = short_load(provider, &pv)) <= 0
	    || (mlen = short_load(model, &mv)) <= 0) {
		return (begin_full(c, provider, model, callp));
	}
	if (llmcost__lane_slot(l, &idx) != 0) {
		return (begin_shared(c, callp, l, plen, mlen, pv, mv));
	}
	return (begin_fill(c, idx, l, plen, mlen, pv, mv, callp));
#else
	return (begin_full(c, provider, model, callp));
#endif
}

// A key's or tag's bit in meta_lens or tag_lens (shim.h): the fast paths
// below take a key or tag whose length has no bit as new.
static inline uint32_t
len_bit(size_t len)
{
	return (len < 32 ? 1u << len : 0);
}

// Every case of set_meta (a replaced value, a long or non-ASCII string,
// an error, a hard budget): out of line, so that the common case below
// needs no stack frame.
__attribute__((noinline, cold)) static int
set_meta_full(llmcost_call *call, const char *key, const char *value)
{
	size_t klen, vlen;
	int rv;

	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = str_check(key, LLMCOST_MAX_KEY, 0, &klen)) != 0
	    || (rv = str_check(value, LLMCOST_MAX_VALUE, 1, &vlen)) != 0) {
		return (attr_error(call, rv));
	}
	uint16_t i;
	for (i = 0; i < call->n_meta; i++) {
		if (span_eq(call, call->meta[i].key, key, klen)) {
			break;
		}
	}
	if (i == call->n_meta) {
		if (call->n_meta == LLMCOST_MAX_META) {
			return (attr_error(call, LLMCOST_ETOOBIG));
		}
		llmcost__span ks, vs;
		uint16_t mark = call->arena_used;
		if (arena_put(call, key, klen, &ks) != 0
		    || arena_put(call, value, vlen, &vs) != 0) {
			call->arena_used = mark;
			return (attr_error(call, LLMCOST_ETOOBIG));
		}
		call->meta[i].key = ks;
		call->meta[i].val = vs;
		call->meta_lens |= len_bit(klen);
		call->n_meta++;
		return (guarded(call) ? LLMCOST_EBUDGET : 0);
	}
	// Replacing a value: reuse its bytes when the new one fits there.
	llmcost__span *vs = &call->meta[i].val;
	if (vlen <= vs->len) {
		memcpy(call->arena + vs->off, value, vlen);
		vs->len = (uint16_t) vlen;
		return (guarded(call) ? LLMCOST_EBUDGET : 0);
	}
	if (arena_put(call, value, vlen, vs) != 0) {
		return (attr_error(call, LLMCOST_ETOOBIG));
	}
	return (guarded(call) ? LLMCOST_EBUDGET : 0);
}

HOT int
llmcost_call_set_meta(llmcost_call *call, const char *key, const char *value)
{
#if defined(CALL_SSE2)
	// The common case: a new key (no key of its length set yet), key and
	// value short ASCII, room in the arena for both 16-byte stores, no
	// hard budget exhausted.
	__m128i kv, vv;
	int kl, vl;
	if (is_open(call) && (call->set & LLMCOST__SET_SLOW) == 0
	    && call->n_meta < LLMCOST_MAX_META
	    && call->arena_used <= sizeof(call->arena) - 32
	    && atomic_load_explicit(
	           &call->client->guard.n, memory_order_relaxed)
	        == 0
	    && (kl = short_load(key, &kv)) > 0
	    && (vl = short_load(value, &vv)) >= 0
	    && (call->meta_lens & (1u << kl)) == 0) {
		uint16_t n = call->n_meta;
		uint16_t at = call->arena_used;
		char *a = call->arena + at;
		store16(a, kv);
		store16(a + kl, vv);
		// The two spans as two words (a span is off, then len).
		uint32_t vat = (uint32_t) at + (uint32_t) kl;
		uint32_t ks = (uint32_t) at | (uint32_t) kl << 16;
		uint32_t vs = vat | (uint32_t) vl << 16;
		memcpy(&call->meta[n].key, &ks, sizeof(ks));
		memcpy(&call->meta[n].val, &vs, sizeof(vs));
		call->arena_used = (uint16_t) (vat + (uint32_t) vl);
		call->n_meta = (uint16_t) (n + 1);
		call->meta_lens |= 1u << kl;
		return (0);
	}
#endif
	return (set_meta_full(call, key, value));
}

// Every case of add_tag: see set_meta_full.
__attribute__((noinline, cold)) static int
add_tag_full(llmcost_call *call, const char *tag)
{
	size_t len;
	int rv;

	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = str_check(tag, LLMCOST_MAX_TAG, 0, &len)) != 0) {
		return (attr_error(call, rv));
	}
	for (uint16_t i = 0; i < call->n_tags; i++) {
		if (span_eq(call, call->tags[i], tag, len)) {
			return (0);
		}
	}
	if (call->n_tags == LLMCOST_MAX_TAGS) {
		return (attr_error(call, LLMCOST_ETOOBIG));
	}
	if (arena_put(call, tag, len, &call->tags[call->n_tags]) != 0) {
		return (attr_error(call, LLMCOST_ETOOBIG));
	}
	call->tag_lens |= len_bit(len);
	call->n_tags++;
	return (0);
}

HOT int
llmcost_call_add_tag(llmcost_call *call, const char *tag)
{
#if defined(CALL_SSE2)
	// The common case: a short ASCII tag of a length no tag of the call
	// has, with room for its 16-byte store.
	__m128i tv;
	int l;
	if (is_open(call) && (call->set & LLMCOST__SET_SLOW) == 0
	    && call->n_tags < LLMCOST_MAX_TAGS
	    && call->arena_used <= sizeof(call->arena) - 16
	    && (l = short_load(tag, &tv)) > 0
	    && (call->tag_lens & (1u << l)) == 0) {
		uint16_t n = call->n_tags;
		uint16_t at = call->arena_used;
		store16(call->arena + at, tv);
		call->tags[n].off = at;
		call->tags[n].len = (uint16_t) l;
		call->arena_used = (uint16_t) (at + l);
		call->n_tags = (uint16_t) (n + 1);
		call->tag_lens |= 1u << l;
		return (0);
	}
#endif
	return (add_tag_full(call, tag));
}

HOT int
llmcost_call_set_usage(llmcost_call *call, const llmcost_usage *usage)
{
	if (!is_open(call) || usage == NULL) {
		return (LLMCOST_EINVAL);
	}
	memcpy(call->usage, usage->tokens, sizeof(call->usage));
	call->set |= LLMCOST__SET_USAGE;
	return (0);
}

int
llmcost_call_set_model(llmcost_call *call, const char *model)
{
	size_t len;
	int rv;

	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = str_check(model, LLMCOST_MAX_MODEL, 0, &len)) != 0) {
		return (attr_error(call, rv));
	}
	// The old bytes are reused when the new name fits there.
	llmcost__span *sp = &call->model;
	if (len <= sp->len) {
		memcpy(call->arena + sp->off, model, len);
		sp->len = (uint16_t) len;
		return (0);
	}
	if (arena_put(call, model, len, sp) != 0) {
		return (attr_error(call, LLMCOST_ETOOBIG));
	}
	return (0);
}

int
llmcost_call_set_fee(llmcost_call *call, llmcost_fee fee, uint64_t count)
{
	if (!is_open(call) || (unsigned) fee >= LLMCOST_FEE_COUNT) {
		return (LLMCOST_EINVAL);
	}
	call->fees[fee] = count;
	return (0);
}

int
llmcost_call_set_provider_cost(llmcost_call *call, int64_t pusd)
{
	if (!is_open(call) || (pusd < 0 && pusd != LLMCOST_COST_NONE)) {
		return (LLMCOST_EINVAL);
	}
	call->provider_cost_pusd = pusd;
	return (0);
}

int
llmcost_call_set_usage_flags(llmcost_call *call, uint32_t flags)
{
	if (!is_open(call) || (flags & ~LLMCOST_USAGE_FLAGS) != 0) {
		return (LLMCOST_EINVAL);
	}
	call->usage_flags = flags;
	return (0);
}

int
llmcost_call_set_service_tier(llmcost_call *call, llmcost_service_tier tier)
{
	if (!is_open(call) || (unsigned) tier >= LLMCOST_TIER_COUNT) {
		return (LLMCOST_EINVAL);
	}
	call->service_tier = (uint8_t) tier;
	return (0);
}

int
llmcost_call_set_platform(llmcost_call *call, const char *platform)
{
	size_t len;
	int rv;

	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	if (platform == NULL || platform[0] == '\0') {
		call->platform_len = 0;
		return (0);
	}
	len = strnlen(platform, LLMCOST_MAX_PLATFORM + 1);
	if ((rv = llmcost__platform_check(platform, len)) != 0) {
		return (rv);
	}
	memcpy(call->platform, platform, len);
	call->platform_len = (uint8_t) len;
	return (0);
}

int
llmcost_call_set_status(llmcost_call *call, llmcost_status status)
{
	if (!is_open(call) || (unsigned) status > LLMCOST_STATUS_ABORTED) {
		return (LLMCOST_EINVAL);
	}
	call->status = (uint8_t) status;
	return (0);
}

// Appends one text entry to the call's text storage (batch.h).  A text
// that does not fit is refused whole and counted.
static int
text_put(llmcost_call *call, uint8_t kind, const char *role, size_t rlen,
    const char *text, size_t len)
{
	llmcost_client *c = call->client;

	if (c->texts == NULL) {
		return (LLMCOST_EDISABLED);
	}
	if (text == NULL && len > 0) {
		return (LLMCOST_EINVAL);
	}
	if (!llmcost__utf8_valid(text, len)) {
		return (attr_error(call, LLMCOST_EUTF8));
	}
	size_t need = LLMCOST__TEXT_HDR + rlen + len;
	if ((kind == LLMCOST__TEXT_MSG && call->n_text >= LLMCOST_MAX_MESSAGES)
	    || need > c->cfg.text_max - call->text_used) {
		atomic_fetch_add_explicit(
		    &c->text_dropped, 1, memory_order_relaxed);
		return (LLMCOST_ETOOBIG);
	}
	char *p = c->texts + (size_t) call->index * c->cfg.text_max
	    + call->text_used;
	uint32_t l = (uint32_t) len;
	p[0] = (char) kind;
	p[1] = (char) rlen;
	memcpy(p + 2, &l, 4);
	memcpy(p + LLMCOST__TEXT_HDR, role, rlen);
	if (len > 0) {
		memcpy(p + LLMCOST__TEXT_HDR + rlen, text, len);
	}
	call->text_used += (uint32_t) need;
	call->n_text += kind == LLMCOST__TEXT_MSG;
	return (0);
}

int
llmcost_call_add_message(
    llmcost_call *call, const char *role, const char *text, size_t len)
{
	size_t rlen;
	int rv;

	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = str_check(role, 32, 0, &rlen)) != 0) {
		return (attr_error(call, rv));
	}
	return (text_put(call, LLMCOST__TEXT_MSG, role, rlen, text, len));
}

int
llmcost_call_set_input_text(llmcost_call *call, const char *text, size_t len)
{
	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	// Drop the messages so far; a completion already set stays.
	if (call->n_text > 0) {
		llmcost_client *c = call->client;
		char *base = c->texts + (size_t) call->index * c->cfg.text_max;
		uint32_t in = 0, out = 0;
		while (in < call->text_used) {
			uint32_t l;
			memcpy(&l, base + in + 2, 4);
			uint32_t sz
			    = LLMCOST__TEXT_HDR + (uint8_t) base[in + 1] + l;
			if (base[in] != LLMCOST__TEXT_MSG) {
				memmove(base + out, base + in, sz);
				out += sz;
			}
			in += sz;
		}
		call->text_used = out;
		call->n_text = 0;
	}
	return (text_put(call, LLMCOST__TEXT_MSG, "user", 4, text, len));
}

int
llmcost_call_set_output_text(llmcost_call *call, const char *text, size_t len)
{
	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	return (text_put(call, LLMCOST__TEXT_OUT, "", 0, text, len));
}

int
llmcost_call_run_id(const llmcost_call *call, char *buf, size_t bufsz)
{
	if (!is_open(call) || buf == NULL || bufsz < 37) {
		return (LLMCOST_EINVAL);
	}
	// The id is minted at the first question (shim.h has_id).  The
	// handle is const to the caller, not to the library: every slot is
	// writable pool memory, owned by this thread until call_end.
	struct llmcost_call *own = (struct llmcost_call *) (uintptr_t) call;
	if (!own->has_id) {
		llmcost__call_id(own, own->run_id);
		own->has_id = 1;
	}
	llmcost__uuid_str(own->run_id, buf);
	return (0);
}

void
llmcost__call_id(const struct llmcost_call *call, uint8_t out[16])
{
	if (call->has_id) {
		memcpy(out, call->run_id, 16);
	} else {
		llmcost__uuid7(out, call->start_ns, call->client->seed);
	}
}

static void
release(struct llmcost_call *call)
{
	atomic_store_explicit(&call->state, SLOT_FREE, memory_order_relaxed);
	llmcost__freelist_push(&call->client->free, call->index);
}

// Whether an ended call at position pos of lane l wakes the sleeping
// loop: only past the lane's high mark, since at a steady rate it wakes
// on its own in time (sender.c).  Looked at every wake_mask + 1 calls.
// Returns 0 (end's result).
__attribute__((noinline)) HOT static int
end_wake(llmcost_client *c, llmcost__lane *l, uint64_t pos)
{
	if (atomic_load_explicit(&c->sleeping, memory_order_relaxed)
	    && llmcost__lane_depth(l, pos) >= c->lane_mark) {
		llmcost__sender_wake(c);
	}
	return (0);
}

// Every case of end once the call is QUEUED and timed: the client
// closing, a thread without a lane (or whose lane is full: the shared
// ring), a thread not yet known to this client.
__attribute__((noinline)) static int
end_queue(llmcost_client *c, struct llmcost_call *call)
{
	uint64_t pos;

	if (atomic_load_explicit(&c->closing, memory_order_relaxed)) {
		atomic_fetch_add_explicit(
		    &c->dropped, 1, memory_order_relaxed);
		release(call);
		return (LLMCOST_ECLOSED);
	}
	// The thread's own lane first: the handle may have moved between
	// threads, and a lane has one producer, so it is this thread's.
	llmcost__lane *l = my_lane(c);
	if (l != NULL) {
		call->lane = llmcost__lane_me.id;
		if (llmcost__lane_push(l, call->index, &pos) == 0) {
			if ((pos & c->wake_mask) == 0) {
				return (end_wake(c, l, pos));
			}
			return (0);
		}
	} else {
		call->lane = LLMCOST__LANE_NONE;
	}
	if (llmcost__ring_push(&c->submit_ring, call->index, &pos) != 0) {
		atomic_fetch_add_explicit(
		    &c->dropped, 1, memory_order_relaxed);
		release(call);
		return (LLMCOST_ECLOSED);
	}
	// The queue depth reads the consumer's cache line: look only every
	// wake_mask + 1 calls (the wake is due once per batch; the loop also
	// wakes every flush_ms on its own).
	if ((pos & c->wake_mask) == 0
	    && llmcost__ring_depth(&c->submit_ring) >= c->wake_depth) {
		llmcost__sender_wake(c);
	}
	return (0);
}

// The call's duration from end, a time of the call-site clock.  Never
// negative: the clock does not step back (tsc.h) except when it gives
// up the counter, by at most LLMCOST__TSC_MAX_ERR_NS.
static inline void
end_time(struct llmcost_call *call, uint64_t end)
{
	call->duration_ns
	    = end > call->start_mono ? end - call->start_mono : 0;
}

// end with the clock's fallback (out of line).
__attribute__((noinline)) static int
end_full(llmcost_client *c, struct llmcost_call *call)
{
	end_time(call, llmcost__tsc_now(&c->clock));
	return (end_queue(c, call));
}

HOT int
llmcost_call_end(llmcost_call *call)
{
	const llmcost__lane_tls *me = &llmcost__lane_me;
	uint64_t end, pos;

	// A handle is used by one thread at a time, so a plain check (no
	// locked instruction) catches a second end or an end after abandon.
	if (!is_open(call)) {
		return (LLMCOST_EINVAL);
	}
	atomic_store_explicit(&call->state, SLOT_QUEUED, memory_order_relaxed);
	llmcost_client *c = call->client;
	// Fields no setter filled get their default (shim.h set).
	if ((call->set & LLMCOST__SET_USAGE) == 0) {
		memset(call->usage, 0, sizeof(call->usage));
	}
	if (llmcost__tsc_try(&c->clock, &end) != 0) {
		return (end_full(c, call));
	}
	end_time(call, end);
	// The common case: the thread's lane, known and with room.
	llmcost__lane *l = me->lane;
	if (atomic_load_explicit(&c->closing, memory_order_relaxed)
	    || me->gen != c->gen || l == NULL) {
		return (end_queue(c, call));
	}
	call->lane = me->id;
	if (llmcost__lane_push(l, call->index, &pos) != 0) {
		return (end_queue(c, call));
	}
	if ((pos & c->wake_mask) == 0) {
		return (end_wake(c, l, pos));
	}
	return (0);
}

void
llmcost_call_abandon(llmcost_call *call)
{
	if (!is_open(call)) {
		return;
	}
	release(call);
}

void
llmcost__call_release_n(llmcost_client *c, const uint32_t *idx, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		atomic_store_explicit(
		    &c->pool[idx[i]].state, SLOT_FREE, memory_order_relaxed);
	}
	if (c->lanes != NULL) {
		llmcost__lanes_release(c, idx, n);
	} else {
		llmcost__freelist_push_n(&c->free, idx, n);
	}
}
