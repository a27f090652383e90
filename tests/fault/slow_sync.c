// DESIGN: an LD_PRELOAD library that makes every fdatasync and fsync of
// the process take LLMCOST_FAULT_SYNC_MS milliseconds more (a slow or
// overloaded disk: cloud block devices take tens to hundreds of
// milliseconds to sync under load), then forwards to the real call.  The
// fault suite preloads it into llmcostd to check that slow commits are
// counted (txn_* in STATS) and lose nothing.  Without the variable, or
// with 0, it only forwards.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void
delay(void)
{
	const char *v = getenv("LLMCOST_FAULT_SYNC_MS");
	long ms = v != NULL ? strtol(v, NULL, 10) : 0;
	struct timespec ts
	    = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	if (ms <= 0 || ms > 60000) {
		return;
	}
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

// Waits, then calls the real function name (found once into *real).
static int
slow(int fd, int (**real)(int), const char *name)
{
	delay();
	if (*real == NULL) {
		*(void **) real = dlsym(RTLD_NEXT, name);
	}
	if (*real == NULL) {
		errno = ENOSYS;
		return (-1);
	}
	return ((*real)(fd));
}

// Exported whatever the build's default visibility.
__attribute__((visibility("default"))) int
fdatasync(int fd)
{
	static int (*real)(int);
	return (slow(fd, &real, "fdatasync"));
}

__attribute__((visibility("default"))) int
fsync(int fd)
{
	static int (*real)(int);
	return (slow(fd, &real, "fsync"));
}
