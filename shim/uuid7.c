// DESIGN: a UUIDv7 is 48 bits of Unix milliseconds, the version, 12 bits
// of sub-millisecond time (RFC 9562 §6.2 method 3, so ids minted by one
// thread sort in time order at ~244 ns resolution), the variant, and 62
// random bits.  Randomness comes from a per-thread xoshiro256** generator
// seeded by splitmix64 from the client's key (read from the kernel once at
// init) and a process-wide counter: the call path makes no system call.
// Time-ordered ids make the collector's LMDB inserts near-sequential.
// The kernel's random source is read only at init (llmcost__random_bytes);
// when it fails, init fails: a client id made up from the clock could
// collide with another process's, and the collector keys drops and
// resends by client id.
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>
#include <sys/random.h>

#include "llmcost.h"
#include "uuid7.h"

static _Atomic uint64_t thread_counter;

// initial-exec: the state is found from the thread pointer, not through
// __tls_get_addr (two calls per call site in a shared library, the
// default model).  It takes 40 bytes of static TLS, which glibc keeps in
// reserve for libraries loaded with dlopen.
static _Thread_local struct {
	uint64_t s[4];
	int seeded;
} rng __attribute__((tls_model("initial-exec")));

uint64_t
llmcost__splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return (z ^ (z >> 31));
}

static uint64_t
rotl(uint64_t x, int k)
{
	return ((x << k) | (x >> (64 - k)));
}

static uint64_t
next64(void)
{
	uint64_t *s = rng.s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return (result);
}

// Seeds the calling thread's generator, once.
__attribute__((noinline)) static void
seed_thread(uint64_t unix_ns, uint64_t seed)
{
	// Mix the client key, a per-thread counter and the time: two threads
	// never share a stream.
	uint64_t x = seed
	    ^ (atomic_fetch_add(&thread_counter, 1) * 0xd1342543de82ef95ULL)
	    ^ unix_ns;
	for (int i = 0; i < 4; i++) {
		rng.s[i] = llmcost__splitmix64(&x);
	}
	rng.seeded = 1;
}

// Stores v big-endian.
static void
put_be64(uint8_t *out, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	v = __builtin_bswap64(v);
	memcpy(out, &v, 8);
#else
	for (int i = 0; i < 8; i++) {
		out[i] = (uint8_t) (v >> (56 - 8 * i));
	}
#endif
}

void
llmcost__uuid7(uint8_t out[16], uint64_t unix_ns, uint64_t seed)
{
	if (__builtin_expect(!rng.seeded, 0)) {
		seed_thread(unix_ns, seed);
	}
	uint64_t ms = unix_ns / 1000000u;
	uint64_t sub = ((unix_ns - ms * 1000000u) << 12) / 1000000u; // 12 bits
	uint64_t r = next64();

	// 48 bits of milliseconds, the version (7), 12 bits of sub-ms time;
	// the variant (0b10) and 62 random bits.
	put_be64(out, (ms << 16) | 0x7000u | sub);
	put_be64(out + 8, (r & 0x3fffffffffffffffULL) | 0x8000000000000000ULL);
}

int
llmcost__random_bytes(void *out, size_t n)
{
	uint8_t *p = out;
	while (n > 0) {
		// Without flags getrandom blocks only until the kernel's pool
		// is first initialized (early boot), and a signal can cut it
		// short: retry on EINTR.  ENOSYS (a kernel before 3.17) and
		// anything else is a failure.
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR) {
				continue;
			}
			return (LLMCOST_ESYSTEM);
		}
		p += got;
		n -= (size_t) got;
	}
	return (0);
}
