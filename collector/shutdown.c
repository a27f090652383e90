// DESIGN: a stop that cannot hang.  The signal handler only sets a flag
// and posts a semaphore (both async-signal-safe); the main loop sees the
// flag and stops in an order that makes every later step safe to cut
// short: the writer commits and answers what it holds, the store is
// closed (shutdown_committed), and only then is the nng socket closed.
// nng 1.5.2 can deadlock in that close (nng issues 1543 and 1813: a
// reaper waiting for a task that never starts), with the main thread
// waiting forever and systemd waiting for its stop timeout.  The guard
// thread, woken by the semaphore, waits for the end of the stop until
// bound_ms after the signal; past it, it logs which step did not finish
// and calls _exit.  Nothing is lost by that: an ACK is only ever sent
// after its commit, LMDB needs no close to be durable, and a batch
// received but not committed was never acknowledged, so its client
// resends it.  Exit status 0 means the store was closed, 1 that the
// writer itself was still busy (a stuck disk), LMDB recovering on the
// next start.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "llmcost_common.h"
#include "log.h"
#include "shutdown.h"

static volatile sig_atomic_t requested;
static sem_t signalled;
static atomic_int committed;
static uint64_t bound;

static pthread_t guard_thread;
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv;
static int ended;
static int started;

static void
on_signal(int sig)
{
	(void) sig;
	if (!requested) {
		requested = 1;
		sem_post(&signalled);
	}
}

static void *
guard_main(void *arg)
{
	(void) arg;
	while (sem_wait(&signalled) != 0 && errno == EINTR) {
		continue;
	}
	pthread_mutex_lock(&mtx);
	struct timespec deadline = llmcost__deadline_ms(
	    bound > INT32_MAX ? INT32_MAX : (int32_t) bound);
	int rc = 0;
	while (!ended && rc != ETIMEDOUT) {
		rc = pthread_cond_timedwait(&cv, &mtx, &deadline);
	}
	int done = ended;
	pthread_mutex_unlock(&mtx);
	if (done) {
		return (NULL);
	}
	if (atomic_load(&committed)) {
		log_msg(LLMCOST_LOG_WARNING,
		    "stop took longer than its bound of %llu ms: the ingest "
		    "socket did not close (nng 1.5 close deadlock, nng issues "
		    "1543 and 1813); exiting now: every acknowledged call is "
		    "committed and the store is closed",
		    (unsigned long long) bound);
		_exit(0);
	}
	log_msg(LLMCOST_LOG_ERR,
	    "stop took longer than its bound of %llu ms: the store writer "
	    "did not finish; exiting now without closing the store: every "
	    "acknowledged call is committed, LMDB recovers on the next start "
	    "and clients resend what was not acknowledged",
	    (unsigned long long) bound);
	_exit(1);
}

int
shutdown_start(uint64_t bound_ms)
{
	pthread_condattr_t ca;
	sigset_t all, old;
	struct sigaction sa;
	int rv;

	bound = bound_ms;
	if (sem_init(&signalled, 0, 0) != 0) {
		return (LLMCOST_ESYSTEM);
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cv, &ca);
	pthread_condattr_destroy(&ca);
	// The guard never runs the handler: it starts with every signal
	// blocked.
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rv = pthread_create(&guard_thread, NULL, guard_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rv != 0) {
		return (LLMCOST_ESYSTEM);
	}
	started = 1;
	pthread_setname_np(guard_thread, "llmcostd-stop");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return (0);
}

int
shutdown_requested(void)
{
	return (requested != 0);
}

void
shutdown_committed(void)
{
	atomic_store(&committed, 1);
}

void
shutdown_end(void)
{
	if (!started) {
		return;
	}
	pthread_mutex_lock(&mtx);
	ended = 1;
	pthread_cond_signal(&cv);
	pthread_mutex_unlock(&mtx);
	sem_post(&signalled); // in case no signal ever came
	pthread_join(guard_thread, NULL);
	started = 0;
}
