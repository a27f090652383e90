// DESIGN: an LD_PRELOAD library that makes nng_close hang forever, the
// way nng 1.5.2 sometimes does (nng issues 1543 and 1813: about 1 stop in
// 43 under load).  The real deadlock is a race in nng's reaper that no
// test can trigger at will; this library makes it certain, so the fault
// suite can check that llmcostd still exits within its stop bound and
// loses nothing.  It hangs only when LLMCOST_FAULT_NNG_CLOSE=hang is set
// in the process's environment, and forwards to the real nng_close
// otherwise.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>

// Exported whatever the build's default visibility.
__attribute__((visibility("default"))) int
nng_close(nng_socket s)
{
	static int (*real)(nng_socket);
	const char *v = getenv("LLMCOST_FAULT_NNG_CLOSE");

	if (v != NULL && strcmp(v, "hang") == 0) {
		for (;;) {
			pause();
		}
	}
	if (real == NULL) {
		*(void **) &real = dlsym(RTLD_NEXT, "nng_close");
	}
	return (real != NULL ? real(s) : NNG_ENOTSUP);
}
