// UUIDv7 run ids (RFC 9562), minted without system calls.
#ifndef LLMCOST_UUID7_H
#define LLMCOST_UUID7_H

#include <stddef.h>
#include <stdint.h>

// Mint a UUIDv7 for unix_ns.  seed mixes into the per-thread generator the
// first time a thread mints (the client passes a key read at init), so no
// call ever reads the kernel's random source.
void llmcost__uuid7(uint8_t out[16], uint64_t unix_ns, uint64_t seed);

// Fill out with n random bytes from the kernel (getrandom; init time
// only).  Returns 0, or LLMCOST_ESYSTEM when the kernel cannot provide
// them (out is then partly written and must not be used).
int llmcost__random_bytes(void *out, size_t n);

// One step of splitmix64: advances *state and returns 64 well-mixed bits.
// For seeding and jitter, not for anything secret.
uint64_t llmcost__splitmix64(uint64_t *state);

#endif // LLMCOST_UUID7_H
