// The call site's monotonic clock: the CPU's time-stamp counter scaled
// to CLOCK_MONOTONIC nanoseconds, or CLOCK_MONOTONIC itself (a vDSO read)
// where the counter cannot be trusted.  One read is one RDTSC, a load of
// four words of one read-mostly cache line and a multiply: about half
// the cost of the vDSO read here, which orders its RDTSC with a fence
// and checks the kernel's own sequence count (tsc.c).
//
// Threading: llmcost__tsc_now may be called from any thread at any time
// after llmcost__tsc_init; llmcost__tsc_update from one thread at a time
// (the client's batch loop; init before the loop starts).
#ifndef LLMCOST_TSC_H
#define LLMCOST_TSC_H

#include <stdatomic.h>
#include <stdint.h>

#include "llmcost_common.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#define LLMCOST__HAVE_TSC 1
#else
#define LLMCOST__HAVE_TSC 0
#endif

typedef struct llmcost__tsc_params {
	// ns(t) = ns0 + ((t - tsc0) * mult) >> 32; mult 0: read
	// CLOCK_MONOTONIC instead.
	_Atomic uint64_t tsc0;
	_Atomic uint64_t ns0;
	_Atomic uint64_t mult;
} llmcost__tsc_params;

typedef struct llmcost__tsc {
	// What readers use: p[seq & 1].  The updater writes the other set,
	// then moves seq on; a reader that sees seq move while it reads
	// reads again.  Readers never wait for the updater (it may be
	// preempted halfway through a set nobody reads).
	_Atomic uint32_t seq;
	llmcost__tsc_params p[2];
	// The updater's own: the calibration's origin, the last re-anchor
	// and the state (0 calibrating, 1 on, -1 off for good).
	uint64_t cal_tsc;
	uint64_t cal_ns;
	uint64_t last_ns;
	int state;
} llmcost__tsc;

// 1 when this machine's counter may stand in for CLOCK_MONOTONIC: x86-64,
// an invariant counter (CPUID: constant rate, running in every C-state)
// and the kernel's clock source is "tsc" (so the kernel found the
// counters synchronized across CPUs).  Decided once per process.
int llmcost__tsc_usable(void);

// Starts k on CLOCK_MONOTONIC; with usable, it calibrates the counter
// against CLOCK_MONOTONIC over the first updates and then switches.
void llmcost__tsc_init(llmcost__tsc *k, int usable);

// Called on every round of the batch loop: calibrates, then re-anchors
// the scale at most every LLMCOST__TSC_ANCHOR_NS so that the counter's
// time follows CLOCK_MONOTONIC (NTP slews it) without ever stepping
// back.  A counter that strays more than LLMCOST__TSC_MAX_ERR_NS from
// CLOCK_MONOTONIC is given up for good (readers fall back).  Returns 1
// when it gave up on this call (for the caller to log), else 0.
int llmcost__tsc_update(llmcost__tsc *k);
#define LLMCOST__TSC_CAL_NS     10000000u  // calibrate over at least 10 ms
#define LLMCOST__TSC_ANCHOR_NS  50000000u  // re-anchor at most every 50 ms
#define LLMCOST__TSC_STEER_NS   1000000000 // remove an error over 1 s
#define LLMCOST__TSC_MAX_ERR_NS 1000000    // give up beyond 1 ms

// One read of the counter: 0 and *ns (as llmcost__tsc_now), 1 when the
// updater published while it read (read again), -1 when the counter is
// not in use (mult 0: read CLOCK_MONOTONIC instead).  For call sites
// that keep the fallback out of line.
static inline int
llmcost__tsc_try(llmcost__tsc *k, uint64_t *ns)
{
#if LLMCOST__HAVE_TSC
	uint32_t s = atomic_load_explicit(&k->seq, memory_order_acquire);
	const llmcost__tsc_params *p = &k->p[s & 1];
	// Acquire loads: a value from a later publish brings the seq that
	// publish moved past with it (tsc.c publish), so the check below
	// sees it (free on x86: plain loads).
	uint64_t mult = atomic_load_explicit(&p->mult, memory_order_acquire);
	uint64_t t0 = atomic_load_explicit(&p->tsc0, memory_order_acquire);
	uint64_t n0 = atomic_load_explicit(&p->ns0, memory_order_acquire);
	uint64_t t = __rdtsc();
	if (mult == 0) {
		return (-1);
	}
	if (atomic_load_explicit(&k->seq, memory_order_relaxed) != s) {
		return (1);
	}
	// A counter a few ticks behind the anchor's (another CPU's) reads
	// as the anchor: a negative difference is masked to 0 (GCC 12
	// compiles a conditional here into a 128-bit signed correction).
	uint64_t d = t - t0;
	d &= ~(uint64_t) ((int64_t) d >> 63);
	*ns = n0 + (uint64_t) (((unsigned __int128) d * mult) >> 32);
	return (0);
#else
	(void) k;
	(void) ns;
	return (-1);
#endif
}

// Monotonic nanoseconds on the CLOCK_MONOTONIC scale.  A re-anchor
// changes the scale, not the time (the new anchor is the old scale's
// time of its counter value), so the clock does not step back; the one
// step is the switch from calibration to the counter, by at most half of
// the span of the calibrating read (tens of nanoseconds).  No system
// call, no lock, no waiting on the updater.
static inline uint64_t
llmcost__tsc_now(llmcost__tsc *k)
{
	uint64_t ns;
	int rv;

	while ((rv = llmcost__tsc_try(k, &ns)) > 0) {
		continue;
	}
	return (rv == 0 ? ns : llmcost__mono_ns());
}

#endif // LLMCOST_TSC_H
