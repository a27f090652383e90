// DESIGN: the call site reads the time twice per call (start, end).  The
// vDSO's CLOCK_MONOTONIC is already a counter read, but a fenced one
// (LFENCE; RDTSC), behind a call through the C library and a check of
// the kernel's sequence count: about 32 ns against 18 for a plain RDTSC
// on this project's Xeon guests.  So where the kernel itself trusts the
// counter (clock source "tsc", invariant per CPUID) the call site scales
// the counter itself, with a scale the batch loop keeps in line with
// CLOCK_MONOTONIC: calibrated over the first LLMCOST__TSC_CAL_NS after
// init (until then readers use CLOCK_MONOTONIC), then re-anchored at most
// every LLMCOST__TSC_ANCHOR_NS.  Each re-anchor starts at the old scale's
// time of the new anchor (continuous: no step back, so UUIDv7 ids of one
// thread stay in time order) with a slope that is the long-run rate
// (CLOCK_MONOTONIC elapsed over counter ticks since calibration, which
// follows NTP's frequency correction) corrected to remove the measured
// error over LLMCOST__TSC_STEER_NS.  A counter that drifts beyond
// LLMCOST__TSC_MAX_ERR_NS (a clock source changed under us, a migrated
// VM) is given up for good: readers go back to CLOCK_MONOTONIC.  The
// counter is not ordered with the surrounding loads and stores: a call's
// stamp may be off by the few nanoseconds the CPU runs ahead, never more.
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "tsc.h"

#define CLOCKSOURCE                                                           \
	"/sys/devices/system/clocksource/clocksource0/current_clocksource"

// A (counter, CLOCK_MONOTONIC) pair read close together: the best of a
// few tries, bracketing one counter read by two clock reads.  0, or -1
// when every try was interrupted (the caller tries on its next round).
static int
read_pair(uint64_t *tscp, uint64_t *nsp)
{
#if LLMCOST__HAVE_TSC
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t a = llmcost__mono_ns();
		uint64_t t = __rdtsc();
		uint64_t b = llmcost__mono_ns();
		if (b - a < best) {
			best = b - a;
			*tscp = t;
			*nsp = a + (b - a) / 2;
		}
	}
	// A pair bracketed by more than 2 us was interrupted: its error
	// would weigh on the scale.
	return (best <= 2000 ? 0 : -1);
#else
	(void) tscp;
	(void) nsp;
	return (-1);
#endif
}

static int usable_cached = -1;
static pthread_once_t usable_once = PTHREAD_ONCE_INIT;

static void
usable_decide(void)
{
	int ok = 0;
#if LLMCOST__HAVE_TSC
	unsigned a, b, c, d;
	// CPUID 0x80000007 EDX bit 8: the invariant TSC (a constant rate,
	// running through every C-state).
	if (__get_cpuid(0x80000000u, &a, &b, &c, &d) && a >= 0x80000007u
	    && __get_cpuid(0x80000007u, &a, &b, &c, &d) && (d & (1u << 8))) {
		FILE *f = fopen(CLOCKSOURCE, "re");
		if (f != NULL) {
			char src[32];
			if (fgets(src, sizeof(src), f) != NULL
			    && strcmp(src, "tsc\n") == 0) {
				ok = 1;
			}
			(void) fclose(f);
		}
	}
#endif
	usable_cached = ok;
}

int
llmcost__tsc_usable(void)
{
	(void) pthread_once(&usable_once, usable_decide);
	return (usable_cached);
}

// Publishes a new scale in the set readers do not use, then moves them
// to it.
static void
publish(llmcost__tsc *k, uint64_t tsc0, uint64_t ns0, uint64_t mult)
{
	uint32_t s = atomic_load_explicit(&k->seq, memory_order_relaxed);
	llmcost__tsc_params *p = &k->p[(s + 1) & 1];
	// Release stores: a reader still on this set (from two publishes
	// ago) that loads one of these values also sees seq past its own
	// (the store that moved it precedes these), and reads again.
	atomic_store_explicit(&p->tsc0, tsc0, memory_order_release);
	atomic_store_explicit(&p->ns0, ns0, memory_order_release);
	atomic_store_explicit(&p->mult, mult, memory_order_release);
	atomic_store_explicit(&k->seq, s + 1, memory_order_release);
}

void
llmcost__tsc_init(llmcost__tsc *k, int usable)
{
	memset(k, 0, sizeof(*k));
	atomic_init(&k->seq, 0);
	for (int i = 0; i < 2; i++) {
		atomic_init(&k->p[i].tsc0, 0);
		atomic_init(&k->p[i].ns0, 0);
		atomic_init(&k->p[i].mult, 0);
	}
	k->state = -1;
	if (usable && read_pair(&k->cal_tsc, &k->cal_ns) == 0) {
		k->state = 0;
	}
}

// The long-run rate in 32.32 fixed point (ns per tick), from the
// calibration's origin to (t, ns); 0 when the counter did not advance.
static uint64_t
rate(const llmcost__tsc *k, uint64_t t, uint64_t ns)
{
	if (t <= k->cal_tsc || ns <= k->cal_ns) {
		return (0);
	}
	return ((uint64_t) (((unsigned __int128) (ns - k->cal_ns) << 32)
	    / (t - k->cal_tsc)));
}

int
llmcost__tsc_update(llmcost__tsc *k)
{
	uint64_t t = 0, ns = 0;

	if (k->state < 0 || read_pair(&t, &ns) != 0) {
		return (0);
	}
	if (k->state == 0) {
		if (ns - k->cal_ns < LLMCOST__TSC_CAL_NS) {
			return (0);
		}
		uint64_t mult = rate(k, t, ns);
		if (mult == 0) {
			k->state = -1;
			return (1);
		}
		publish(k, t, ns, mult);
		k->last_ns = ns;
		k->state = 1;
		return (0);
	}
	if (ns - k->last_ns < LLMCOST__TSC_ANCHOR_NS) {
		return (0);
	}
	const llmcost__tsc_params *p
	    = &k->p[atomic_load_explicit(&k->seq, memory_order_relaxed) & 1];
	uint64_t t0 = atomic_load_explicit(&p->tsc0, memory_order_relaxed);
	uint64_t n0 = atomic_load_explicit(&p->ns0, memory_order_relaxed);
	uint64_t m0 = atomic_load_explicit(&p->mult, memory_order_relaxed);
	int64_t d = (int64_t) (t - t0);
	uint64_t at = n0
	    + (uint64_t) (((unsigned __int128) (d > 0 ? (uint64_t) d : 0) * m0)
	        >> 32);
	int64_t err = (int64_t) (ns - at);
	uint64_t base = rate(k, t, ns);
	if (err > LLMCOST__TSC_MAX_ERR_NS || err < -LLMCOST__TSC_MAX_ERR_NS
	    || base == 0) {
		publish(k, 0, 0, 0);
		k->state = -1;
		return (1);
	}
	// |err| / LLMCOST__TSC_STEER_NS is at most 1/1000: the slope stays
	// positive.
	__int128 corr = (__int128) base * err / LLMCOST__TSC_STEER_NS;
	publish(k, t, at, (uint64_t) ((__int128) base + corr));
	k->last_ns = ns;
	return (0);
}
