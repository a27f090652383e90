// Faults on the application side of delivery (label "fault"): what the
// collector exporter does when the collector, the network or nng 1.5
// misbehave.  Each test reproduces one finding of the fault audit:
//
// - bad collector URLs fail llmcost_init with one clear error;
// - an unreachable collector is said once, early;
// - a socket that nng has wedged for good (every dialer on it dead, as
//   nng issue 1518 can leave one) is replaced, and delivery resumes within
//   WEDGE_RECOVER_MS;
// - llmcost_shutdown returns within its timeout plus
//   LLMCOST_SHUTDOWN_BOUND_MS when nng_close hangs (nng issues 1543 /
//   1813), and whenever the collector is killed mid-send (KILLS_MID_SEND
//   times, scaled by LLMCOST_FAULT_SCALE);
// - a batch whose connection dies in flight goes out again exactly as
//   counted (nng 1.5 with a resend time sends it again by itself, unseen,
//   on the next connection);
// - the SIGKILL soak: llmcostd killed SOAK_KILLS times in each of
//   SOAK_RUNS runs under load from two clients; after every restart each
//   client delivers everything again within RECOVER_MS, and at the end
//   the store holds every run id the clients ended, each once (none lost,
//   none doubled), and every restart whose daemon saw duplicates is
//   matched by a counted resend.
//
// The long variants (docs/design.md, "Living with nng 1.5"): with
// LLMCOST_FAULT_SCALE=20 the mid-send kills run 200 times and the soak runs
// 10 runs of 20 kills (200 SIGKILLs).
//
// The test is linked with --wrap for nng_close and nng_dial
// (tests/fault/CMakeLists.txt): nng_close can be made to hang, and the dials of
// one socket can be sent to an address where nothing ever answers.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "testutil.h"

#include "harness.h"
#include "llmcost_proto.h"
#include "shim.h"
#include "store.h"

// The stated bounds; a test waits harness_wait_ms() of them (the same on
// an idle machine, longer for a sanitizer build or a loaded machine).
#define WEDGE_RECOVER_MS 10000 // stated: delivery resumes within this
#define RECOVER_MS       10000 // stated: after a restart, all delivered
#define KILLS_MID_SEND   10
#define SOAK_RUNS        2
#define SOAK_KILLS       10
#define SOAK_IDS_MAX     60000 // run ids one soak client keeps

// ---- the wrappers ----

static _Atomic int close_hangs;  // nng_close blocks while set
static _Atomic int closes_hung;  // closes that blocked
static _Atomic int wedge_next;   // the next dialed socket is wedged
static _Atomic uint32_t wedged;  // its id; 0: none
static _Atomic int wedged_dials; // dials sent nowhere

int __real_nng_close(nng_socket s);
int __wrap_nng_close(nng_socket s);
int __real_nng_dial(nng_socket s, const char *url, nng_dialer *d, int flags);
int __wrap_nng_dial(nng_socket s, const char *url, nng_dialer *d, int flags);

int
__wrap_nng_close(nng_socket s)
{
	if (atomic_load(&close_hangs)) {
		atomic_fetch_add(&closes_hung, 1);
		while (atomic_load(&close_hangs)) {
			harness_sleep_ms(10);
		}
	}
	return (__real_nng_close(s));
}

int
__wrap_nng_dial(nng_socket s, const char *url, nng_dialer *d, int flags)
{
	if (atomic_exchange(&wedge_next, 0)) {
		atomic_store(&wedged, s.id);
	}
	if (atomic_load(&wedged) != 0 && s.id == atomic_load(&wedged)) {
		// Every dialer of this socket is dead: it dials a path that
		// does not exist, for ever.
		atomic_fetch_add(&wedged_dials, 1);
		url = "ipc:///nonexistent-llmcost-test/wedged.sock";
	}
	return (__real_nng_dial(s, url, d, flags));
}

// ---- helpers ----

static int
scale(void)
{
	const char *s = getenv("LLMCOST_FAULT_SCALE");
	int v = s != NULL ? atoi(s) : 1;
	return (v < 1 ? 1 : v);
}

static uint64_t
now_ms(void)
{
	return (llmcost__mono_ns() / 1000000u);
}

typedef struct fixture {
	char *dir;
	char url[LLMCOST__URL_MAX];
	pid_t pid;
} fixture;

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	if (f == NULL || (f->dir = harness_tmpdir()) == NULL) {
		free(f);
		return (-1);
	}
	harness_url(f->dir, f->url, sizeof(f->url));
	if ((f->pid = harness_daemon_start(f->dir, NULL)) <= 0) {
		harness_rmdir(f->dir);
		free(f);
		return (-1);
	}
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	fixture *f = *state;
	atomic_store(&close_hangs, 0);
	atomic_store(&wedged, 0);
	if (f->pid > 0) {
		kill(f->pid, SIGCONT);
		harness_daemon_stop(f->pid, SIGKILL);
	}
	harness_rmdir(f->dir);
	free(f);
	return (0);
}

static void
restart(fixture *f)
{
	f->pid = harness_daemon_start(f->dir, NULL);
	assert_true(f->pid > 0);
}

static llmcost_client *
client_q(const char *url, int32_t ack_timeout_ms, uint32_t queue_max)
{
	llmcost_options o;
	llmcost_client *c = NULL;
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.queue_max = queue_max;
	o.flush_ms = 10;
	o.ack_timeout_ms = ack_timeout_ms;
	LLMCOST_PASS(llmcost_init(&c, &o));
	return (c);
}

static llmcost_client *
client(const char *url, int32_t ack_timeout_ms)
{
	return (client_q(url, ack_timeout_ms, 0));
}

// Records one call; writes its run id to id when not NULL.
static void
record(llmcost_client *c, uint8_t id[16])
{
	llmcost_call *call;
	llmcost_usage u;
	char text[LLMCOST__UUID_STR_LEN];

	LLMCOST_PASS(llmcost_call_begin(c, "openai", "gpt-4o-mini", &call));
	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = 100;
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	if (id != NULL) {
		LLMCOST_PASS(llmcost_call_run_id(call, text, sizeof(text)));
		LLMCOST_PASS(llmcost__uuid_parse(text, id));
	}
	LLMCOST_PASS(llmcost_call_end(call));
}

// One value from the STATS answer of the daemon at url (which must
// report it).
static uint64_t
daemon_stat(const char *url, const char *name)
{
	nng_socket s;
	uint64_t v;

	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, harness_wait_ms(10000));
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, harness_wait_ms(10000));
	assert_int_equal(__real_nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK), 0);
	assert_int_equal(harness_stat(s, name, &v), 0);
	__real_nng_close(s);
	assert_true(v != UINT64_MAX);
	return (v);
}

// ---- URL validation ----

// Runs llmcost_init with url and the stderr logger at "error"; returns
// its code and the number of lines it logged (*text: the first one).
static int
init_logged(const char *url, int *lines, char *text, size_t textsz)
{
	llmcost_options o;
	llmcost_client *c = NULL;
	char path[] = "/tmp/llmcost-log-XXXXXX";
	int fd = mkstemp(path);
	int saved = dup(2);

	assert_true(fd >= 0 && saved >= 0);
	unlink(path);
	setenv("LLMCOST_LOG", "error", 1);
	fflush(stderr);
	dup2(fd, 2);
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	int rv = llmcost_init(&c, &o);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	unsetenv("LLMCOST_LOG");
	if (rv == 0) {
		llmcost_shutdown(c, 0);
	}

	char buf[4096];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	*lines = 0;
	for (char *p = buf; *p != '\0'; p++) {
		*lines += *p == '\n';
	}
	snprintf(text, textsz, "%s", buf);
	return (rv);
}

static void
test_bad_urls(void **state)
{
	(void) state;
	static char longurl[700];
	static char longpath[300];
	memset(longurl, 'a', sizeof(longurl) - 1);
	memcpy(longurl, "ipc:///", 7);
	memset(longpath, 'p', sizeof(longpath) - 1);
	memcpy(longpath, "ipc:///", 7);
	const char *const bad[] = { "tcp://256.1.1.1:99999",
		"tcp://256.1.1.1:5000", "tcp://127.0.0.1:99999",
		"tcp://127.0.0.1:0", "tcp://127.0.0.1:", "tcp://:5000",
		"tcp://localhost", "tcp://[::1:5000", "tcp4://[::1]:5000",
		"http://localhost:80", "collector", "ipc://", longpath,
		longurl };
	const char *const good[] = { "tcp://127.0.0.1:5000",
		"tcp://localhost:5000", "tcp://[::1]:5000",
		"tcp4://10.0.0.1:1", "ipc:///tmp/llmcost-none.sock" };
	char text[4096];
	int lines;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rv = init_logged(bad[i], &lines, text, sizeof(text));
		if (rv != LLMCOST_ECONFIG || lines != 1
		    || strstr(text, "HOME") != NULL) {
			fail_msg("%.60s: %s, %d log lines: %s", bad[i],
			    llmcost_err_name(rv), lines, text);
		}
		print_message("%.40s -> %s", bad[i], text);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int rv = init_logged(good[i], &lines, text, sizeof(text));
		if (rv != 0 || lines != 0) {
			fail_msg(
			    "%s: %s: %s", good[i], llmcost_err_name(rv), text);
		}
	}
}

// ---- an unreachable collector is said once, early ----

static _Atomic int unreachable_said;

static void
count_logger(void *arg, int level, const char *msg)
{
	(void) arg;
	if (level == LLMCOST_LOG_WARNING
	    && strstr(msg, "cannot reach the collector") != NULL) {
		atomic_fetch_add(&unreachable_said, 1);
	}
}

static void
test_unreachable_said_early(void **state)
{
	fixture *f = *state;
	char url[LLMCOST__URL_MAX + 16];
	snprintf(url, sizeof(url), "ipc://%s/nobody.sock", f->dir);
	llmcost_client *c = client(url, 100);

	atomic_store(&unreachable_said, 0);
	llmcost_set_logger(c, count_logger, NULL);
	record(c, NULL);
	// Well before shutdown, and once, although every attempt in these
	// 5 s fails.
	LLMCOST_FAIL(
	    llmcost_flush(c, harness_wait_ms(5000)), LLMCOST_ETIMEDOUT);
	assert_int_equal(atomic_load(&unreachable_said), 1);
	llmcost_set_logger(c, NULL, NULL);
	llmcost_shutdown(c, 0);
}

// ---- a wedged socket is replaced ----

static void
test_wedged_socket_recovers(void **state)
{
	fixture *f = *state;

	atomic_store(&wedged_dials, 0);
	atomic_store(&wedge_next, 1);
	llmcost_client *c = client(f->url, 200);
	for (int i = 0; i < 100; i++) {
		record(c, NULL);
	}
	LLMCOST_PASS(llmcost_flush(c, harness_wait_ms(WEDGE_RECOVER_MS)));
	assert_true(atomic_load(&wedged_dials) >= 1);
	llmcost_stats s = llmcost_test_stats(c);
	assert_int_equal(s.calls_acked, 100);
	assert_int_equal(s.calls_dropped, 0);
	llmcost_shutdown(c, 1000);
}

// ---- shutdown is bounded ----

typedef struct shut {
	llmcost_client *c;
	int32_t timeout_ms;
	uint64_t took_ms;
} shut;

static void *
shut_main(void *arg)
{
	shut *sh = arg;
	uint64_t t0 = now_ms();
	llmcost_shutdown(sh->c, sh->timeout_ms);
	sh->took_ms = now_ms() - t0;
	return (NULL);
}

// Shuts c down on a thread; fails the test if that takes longer than the
// stated bound, timeout_ms + LLMCOST_SHUTDOWN_BOUND_MS, with the bound
// part scaled by harness_wait_ms() (exact on an idle machine, where a
// slow return is what it looks for: nng_close hanging for ever takes the
// 30 s more before the test gives up).
static uint64_t
shutdown_within_bound(llmcost_client *c, int32_t timeout_ms)
{
	shut sh = { c, timeout_ms, 0 };
	pthread_t t;
	struct timespec dl;

	assert_int_equal(pthread_create(&t, NULL, shut_main, &sh), 0);
	clock_gettime(CLOCK_REALTIME, &dl);
	int bound = timeout_ms + harness_wait_ms(LLMCOST_SHUTDOWN_BOUND_MS);
	dl.tv_sec += bound / 1000 + 30;
	if (pthread_timedjoin_np(t, NULL, &dl) != 0) {
		fail_msg("llmcost_shutdown(%d) did not return", timeout_ms);
	}
	if (sh.took_ms > (uint64_t) bound) {
		fail_msg("llmcost_shutdown(%d) took %llu ms, bound %d ms",
		    timeout_ms, (unsigned long long) sh.took_ms, bound);
	}
	return (sh.took_ms);
}

// Waits until c has sent more than n batches.
static void
wait_sent(llmcost_client *c, uint64_t n)
{
	int tries = harness_wait_ms(30000) / 10;
	for (int i = 0; llmcost_test_stats(c).batches_sent <= n; i++) {
		assert_true(i < tries);
		harness_sleep_ms(10);
	}
}

// One call acknowledged, then the collector is stopped (SIGSTOP) and a
// second call's batch is sent to it, unanswered.  Returns the number of
// batches c had sent before that one.
static uint64_t
batch_in_flight(fixture *f, llmcost_client *c)
{
	record(c, NULL);
	LLMCOST_PASS(llmcost_flush(c, harness_wait_ms(10000)));
	uint64_t sent = llmcost_test_stats(c).batches_sent;
	assert_int_equal(kill(f->pid, SIGSTOP), 0);
	record(c, NULL);
	wait_sent(c, sent);
	return (sent);
}

// The collector stops answering with a batch in flight, and nng_close
// hangs: shutdown still returns within its bound, abandoning the socket.
static void
test_shutdown_close_hangs(void **state)
{
	fixture *f = *state;
	llmcost_client *c = client(f->url, 5000);
	uint64_t abandoned = atomic_load(&llmcost__sockets_abandoned);

	(void) batch_in_flight(f, c);
	atomic_store(&closes_hung, 0);
	atomic_store(&close_hangs, 1);
	uint64_t took = shutdown_within_bound(c, 300);
	print_message("shutdown(300) with nng_close hung: %llu ms\n",
	    (unsigned long long) took);
	assert_true(atomic_load(&closes_hung) >= 1);
	assert_int_equal(
	    atomic_load(&llmcost__sockets_abandoned), abandoned + 1);
	// Let the abandoned close finish; its thread frees what it owns.
	atomic_store(&close_hangs, 0);
	kill(f->pid, SIGCONT);
}

// The collector is killed mid-send, again and again: every shutdown
// returns within its bound.
static void
test_shutdown_killed_mid_send(void **state)
{
	fixture *f = *state;
	int n = KILLS_MID_SEND * scale();
	uint64_t worst = 0;

	for (int k = 0; k < n; k++) {
		llmcost_client *c = client(f->url, 300);
		for (int i = 0; i < 200; i++) {
			record(c, NULL);
		}
		LLMCOST_PASS(llmcost_flush(c, harness_wait_ms(RECOVER_MS)));
		for (int i = 0; i < 500; i++) {
			record(c, NULL);
		}
		harness_sleep_ms(k % 5);
		harness_daemon_stop(f->pid, SIGKILL);
		uint64_t took = shutdown_within_bound(c, 200);
		worst = took > worst ? took : worst;
		restart(f);
	}
	print_message("%d shutdowns(200 ms) after a kill mid-send: worst "
	              "%llu ms\n",
	    n, (unsigned long long) worst);
}

// ---- resends are counted, nng's included ----

// A batch is on the wire when the collector dies; the client waits
// longer for its acknowledgement than the test waits for delivery, so
// the batch is delivered only by a resend after the connection closed
// (by nng itself, unseen, when nng has a resend time), and every batch
// message that went out must be counted.
static void
test_nng_resend_counted(void **state)
{
	fixture *f = *state;
	// The acknowledgement is awaited twice as long as delivery.
	int deliver_ms = harness_wait_ms(30000);
	llmcost_client *c = client(f->url, 2 * deliver_ms);

	uint64_t sent = batch_in_flight(f, c);
	harness_daemon_stop(f->pid, SIGKILL);
	restart(f);
	LLMCOST_PASS(llmcost_flush(c, deliver_ms));
	llmcost_stats s = llmcost_test_stats(c);
	assert_int_equal(s.calls_acked, 2);
	if (s.batches_resent < 1) {
		fail_msg("the batch went out twice, batches_resent = %llu",
		    (unsigned long long) s.batches_resent);
	}
	assert_int_equal(s.batches_sent, sent + 1 + s.batches_resent);
	llmcost_shutdown(c, 1000);
}

// ---- the SIGKILL soak ----

typedef struct soaker {
	llmcost_client *c;
	uint8_t (*ids)[16];
	_Atomic uint32_t n;
	_Atomic int stop;
	int errors;
} soaker;

static void *
soak_main(void *arg)
{
	soaker *s = arg;
	while (!atomic_load(&s->stop)) {
		uint32_t n = atomic_load(&s->n);
		if (n >= SOAK_IDS_MAX) {
			harness_sleep_ms(5);
			continue;
		}
		llmcost_call *call;
		char text[LLMCOST__UUID_STR_LEN];
		int rv = llmcost_call_begin(s->c, "openai", "gpt-4o", &call);
		if (rv == LLMCOST_EFULL) {
			// Counted as a drop (and failed at the end).
			harness_sleep_ms(1);
			continue;
		}
		if (rv != 0
		    || llmcost_call_run_id(call, text, sizeof(text)) != 0
		    || llmcost__uuid_parse(text, s->ids[n]) != 0
		    || llmcost_call_end(call) != 0) {
			s->errors++;
			continue;
		}
		atomic_store(&s->n, n + 1);
		if (n % 2 == 0) {
			harness_sleep_ms(1);
		}
	}
	return (NULL);
}

#define SOAK_CLIENTS 2

static void
soak_run(fixture *f, int kills, uint64_t *worst_ms)
{
	soaker *so = calloc(SOAK_CLIENTS, sizeof(*so));
	pthread_t th[SOAK_CLIENTS];
	uint64_t resent_before[SOAK_CLIENTS];

	assert_non_null(so);
	for (int i = 0; i < SOAK_CLIENTS; i++) {
		// A 64 Ki queue holds about 30 s of this load, so a slow
		// restart (the daemon replacing a wedged listener) drops
		// nothing.
		so[i].c = client_q(f->url, 300, 65536);
		so[i].ids = calloc(SOAK_IDS_MAX, 16);
		assert_non_null(so[i].ids);
		assert_int_equal(
		    pthread_create(&th[i], NULL, soak_main, &so[i]), 0);
	}
	for (int k = 0; k < kills; k++) {
		harness_sleep_ms(50 + (k * 37) % 150);
		for (int i = 0; i < SOAK_CLIENTS; i++) {
			resent_before[i]
			    = llmcost_test_stats(so[i].c).batches_resent;
		}
		harness_daemon_stop(f->pid, SIGKILL);
		harness_sleep_ms((k * 53) % 400);
		restart(f);
		uint64_t t0 = now_ms();
		// Every client delivers everything it ended so far.
		for (int i = 0; i < SOAK_CLIENTS; i++) {
			int rv = llmcost_flush(
			    so[i].c, harness_wait_ms(RECOVER_MS));
			if (rv != 0) {
				fail_msg("kill %d: client %d did not deliver "
				         "within %d ms of the restart",
				    k, i, harness_wait_ms(RECOVER_MS));
			}
		}
		uint64_t took = now_ms() - t0;
		*worst_ms = took > *worst_ms ? took : *worst_ms;
		// A daemon that saw a batch again was sent it again.
		uint64_t dup = daemon_stat(f->url, "records_duplicate");
		uint64_t resent = 0;
		for (int i = 0; i < SOAK_CLIENTS; i++) {
			resent += llmcost_test_stats(so[i].c).batches_resent
			    - resent_before[i];
		}
		if (dup > 0 && resent == 0) {
			fail_msg("kill %d: the daemon saw %llu calls again, "
			         "yet no resend was counted",
			    k, (unsigned long long) dup);
		}
	}
	uint64_t ended = 0;
	for (int i = 0; i < SOAK_CLIENTS; i++) {
		atomic_store(&so[i].stop, 1);
		pthread_join(th[i], NULL);
		assert_int_equal(so[i].errors, 0);
		LLMCOST_PASS(
		    llmcost_flush(so[i].c, harness_wait_ms(RECOVER_MS)));
		llmcost_stats s = llmcost_test_stats(so[i].c);
		assert_int_equal(s.calls_dropped, 0);
		assert_int_equal(s.calls_ended, atomic_load(&so[i].n));
		assert_int_equal(s.calls_acked, s.calls_ended);
		ended += s.calls_ended;
		llmcost_shutdown(so[i].c, 1000);
	}

	// The store holds each run id the clients ended, and nothing else.
	store *st = NULL;
	store_rtxn *t = NULL;
	char err[256];
	uint64_t runs = 0;
	LLMCOST_PASS(
	    store_open(&st, f->dir, STORE_RDONLY, 0, err, sizeof(err)));
	LLMCOST_PASS(store_read_begin(st, &t));
	LLMCOST_PASS(store_count_runs(t, &runs));
	for (int i = 0; i < SOAK_CLIENTS; i++) {
		for (uint32_t j = 0; j < atomic_load(&so[i].n); j++) {
			store_run run;
			LLMCOST_PASS(store_get_run(t, so[i].ids[j], &run));
		}
		free(so[i].ids);
	}
	store_read_end(t);
	store_close(st);
	assert_int_equal(runs, ended);
	free(so);
}

static void
test_sigkill_soak(void **state)
{
	fixture *f = *state;
	// LLMCOST_FAULT_SCALE=S > 1: S / 2 runs of 20 kills.
	int runs = scale() > 1 ? scale() / 2 : SOAK_RUNS;
	int kills = scale() > 1 ? 2 * SOAK_KILLS : SOAK_KILLS;
	uint64_t worst = 0;

	if (runs < SOAK_RUNS) {
		runs = SOAK_RUNS;
	}
	for (int r = 0; r < runs; r++) {
		// Each run starts from an empty store, so the count checks
		// that run alone.
		harness_daemon_stop(f->pid, SIGKILL);
		harness_rmdir(f->dir);
		f->dir = harness_tmpdir();
		assert_non_null(f->dir);
		harness_url(f->dir, f->url, sizeof(f->url));
		restart(f);
		soak_run(f, kills, &worst);
	}
	print_message("soak: %d runs of %d SIGKILLs, %d clients: worst "
	              "recovery %llu ms after a restart (bound %d ms)\n",
	    runs, kills, SOAK_CLIENTS, (unsigned long long) worst, RECOVER_MS);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_urls),
		cmocka_unit_test_setup_teardown(
		    test_unreachable_said_early, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_wedged_socket_recovers, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_shutdown_close_hangs, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_nng_resend_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_shutdown_killed_mid_send, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_sigkill_soak, setup, teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
