// Tests of the spool (shim/spool.c) against the real llmcostd over real
// sockets: a collector outage longer than the queue lasts, with the
// application restarted in the middle of it (child processes that call,
// then shut down or are killed), and every call stored exactly once when
// the collector is back (checked by run id in the store); a spool that
// fills up; damaged spool files; two processes on one path; the file's
// permissions; a collector killed mid-stream with batches in flight;
// replay oldest first.
//
// The application is paced so that its queue never overflows: the
// spool takes what the queue can no longer hold, and the test checks
// that nothing was dropped at the call site.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

#include "harness.h"
#include "llmcost_common.h"
#include "shim.h"
#include "store.h"
#include "stored.h"

#define QUEUE 256 // calls the client's queue holds

static char *dir;     // the collector's data directory (created empty)
static char url[600]; // its socket, where nothing listens at first
static char spool_dir[700];

static int
setup(void **state)
{
	(void) state;
	if ((dir = harness_tmpdir()) == NULL
	    || harness_url(dir, url, sizeof(url)) != 0) {
		return (-1);
	}
	snprintf(spool_dir, sizeof(spool_dir), "%s/state/spool/", dir);
	unsetenv("LLMCOST_SPOOL");
	unsetenv("LLMCOST_SPOOL_MAX");
	return (0);
}

static int
teardown(void **state)
{
	(void) state;
	harness_rmdir(dir);
	dir = NULL;
	return (0);
}

static llmcost_client *
client(const char *spool, uint64_t spool_max)
{
	llmcost_options o;
	llmcost_client *c = NULL;

	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.queue_max = QUEUE;
	o.batch_max = 32;
	o.flush_ms = 20;
	o.ack_timeout_ms = 200;
	o.spool_path = spool;
	o.spool_max_bytes = spool_max;
	if (llmcost_init(&c, &o) != 0) {
		return (NULL);
	}
	return (c);
}

static llmcost_stats
stats(llmcost_client *c)
{
	llmcost_stats s;
	memset(&s, 0, sizeof(s));
	(void) llmcost_stats_get(c, &s);
	return (s);
}

// Makes n calls, never letting the queue pass a quarter of its size;
// writes each accepted call's run id (16 bytes) to fd when fd >= 0.
// Returns the calls that failed.
static int
calls(llmcost_client *c, int n, const char *feature, int fd)
{
	int failed = 0;
	for (int i = 0; i < n; i++) {
		llmcost_call *call;
		llmcost_usage u;
		char id[37];
		uint8_t raw[16];

		while (stats(c).queue_depth > QUEUE / 4) {
			harness_sleep_ms(1);
		}
		if (llmcost_call_begin(c, "openai", "gpt-4o-mini", &call)
		    != 0) {
			failed++;
			continue;
		}
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = (uint64_t) (100 + i);
		u.tokens[LLMCOST_OUT_TEXT] = 7;
		if (llmcost_call_set_meta(call, "feature", feature) != 0
		    || llmcost_call_set_usage(call, &u) != 0
		    || llmcost_call_run_id(call, id, sizeof(id)) != 0
		    || llmcost__uuid_parse(id, raw) != 0) {
			failed++;
		}
		if (llmcost_call_end(call) != 0) {
			failed++;
			continue;
		}
		if (fd >= 0 && write(fd, raw, 16) != 16) {
			failed++;
		}
	}
	return (failed);
}

// Waits until cond(c) holds, at most ms; returns 1 when it did.
static int
wait_for(llmcost_client *c, int (*cond)(llmcost_client *, uint64_t),
    uint64_t arg, int ms)
{
	for (int t = 0; t < ms; t += 10) {
		if (cond(c, arg)) {
			return (1);
		}
		harness_sleep_ms(10);
	}
	return (cond(c, arg));
}

static int
acked_at_least(llmcost_client *c, uint64_t n)
{
	return (stats(c).calls_acked >= n);
}

static int
written_at_least(llmcost_client *c, uint64_t n)
{
	return (stats(c).spool_calls_written >= n);
}

static int
spool_empty(llmcost_client *c, uint64_t n)
{
	llmcost_stats s = stats(c);
	return (s.spool_calls_replayed >= n && s.spool_bytes <= 32);
}

// Some calls were dropped by the spool, and every one of n calls is
// accounted for: in the file, dropped, or in the batches the collector
// exporter holds (at most LLMCOST__INFLIGHT_MAX of batch_max, 32).
static int
full_and_counted(llmcost_client *c, uint64_t n)
{
	llmcost_stats s = stats(c);
	return (s.spool_calls_dropped > 0 && s.queue_depth == 0
	    && s.spool_calls_written + s.spool_calls_dropped
	            + LLMCOST__INFLIGHT_MAX * 32
	        >= n);
}

// The run ids the children wrote, and how many.
static uint8_t (*read_ids(const char *path, size_t *np))[16]
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size % 16, 0);
	uint8_t(*ids)[16] = malloc((size_t) st.st_size + 16);
	assert_non_null(ids);
	assert_int_equal(read(fd, ids, (size_t) st.st_size), st.st_size);
	close(fd);
	*np = (size_t) st.st_size / 16;
	return (ids);
}

// Every id in ids is in the store.
static void
assert_stored(uint8_t (*ids)[16], size_t n)
{
	store *st = NULL;
	store_rtxn *t = NULL;
	char err[256] = "";
	LLMCOST_PASS(store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err)));
	LLMCOST_PASS(store_read_begin(st, &t));
	for (size_t i = 0; i < n; i++) {
		store_run run;
		int rv = store_get_run(t, ids[i], &run);
		if (rv != 0) {
			char s[37];
			llmcost__uuid_str(ids[i], s);
			fail_msg("call %zu (%s) is not stored: %s", i, s,
			    llmcost_err_name(rv));
		}
	}
	store_read_end(t);
	store_close(st);
}

// The collector committed every run of ids[0..a) no later than any run
// of ids[a..n): replay is oldest first (ingest_ns, to the millisecond).
static void
assert_replayed_in_order(uint8_t (*ids)[16], size_t a, size_t n)
{
	store *st = NULL;
	store_rtxn *t = NULL;
	char err[256] = "";
	uint64_t last_old = 0, first_new = UINT64_MAX;
	LLMCOST_PASS(store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err)));
	LLMCOST_PASS(store_read_begin(st, &t));
	for (size_t i = 0; i < n; i++) {
		store_run run;
		LLMCOST_PASS(store_get_run(t, ids[i], &run));
		if (i < a && run.ingest_ns > last_old) {
			last_old = run.ingest_ns;
		}
		if (i >= a && run.ingest_ns < first_new) {
			first_new = run.ingest_ns;
		}
	}
	store_read_end(t);
	store_close(st);
	if (last_old > first_new) {
		fail_msg("a newer call was stored %llu ms before an older one",
		    (unsigned long long) ((last_old - first_new) / 1000000));
	}
}

// One run of the application in a child process: n calls while the
// collector is away, then a shutdown (kill 0) or, once every call is in
// the spool, SIGKILL.  Exits 0 when all went as expected.
static void
child(int n, const char *feature, const char *ids_path, int kill)
{
	int fd = open(ids_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	llmcost_client *c = client(spool_dir, 0);
	if (fd < 0 || c == NULL) {
		_exit(10);
	}
	if (calls(c, n, feature, fd) != 0) {
		_exit(11);
	}
	if (stats(c).calls_dropped != 0) {
		_exit(12);
	}
	if (kill) {
		// Killed mid-outage: what is in the file must survive; wait
		// until every call is there (the collector holds none: the
		// spool was not empty, so new calls follow into it).
		if (!wait_for(c, written_at_least, (uint64_t) n, 20000)) {
			_exit(13);
		}
		raise(SIGKILL);
	}
	llmcost_shutdown(c, 200);
	close(fd);
	_exit(0);
}

static int
run_child(int n, const char *feature, const char *ids_path, int kill)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		child(n, feature, ids_path, kill);
	}
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) {
		return (128 + WTERMSIG(st));
	}
	return (WEXITSTATUS(st));
}

// The collector is away longer than the queue lasts; the application
// runs, shuts down, runs again and is killed; the collector comes back
// and a new start of the application replays: every call is stored once.
static void
test_outage_restart(void **state)
{
	(void) state;
	char ids_path[800];
	size_t n;
	struct stat st;

	snprintf(ids_path, sizeof(ids_path), "%s/ids", dir);
	// First run: 3000 calls (the queue holds 256), then a shutdown
	// with the collector still away.
	assert_int_equal(run_child(3000, "first", ids_path, 0), 0);
	// Second run, still in the outage: adopts the spool, calls, and is
	// killed.
	assert_int_equal(
	    run_child(2000, "second", ids_path, 1), 128 + SIGKILL);

	// The spool is private: the file 0600, its directory 0700.
	char file[800];
	snprintf(file, sizeof(file), "%sspool_test.spool", spool_dir);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(st.st_size > 32);
	assert_int_equal(stat(spool_dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	// The collector comes back; the application starts again.
	pid_t d = harness_daemon_start(dir, NULL);
	assert_true(d > 0);
	llmcost_client *c = client(spool_dir, 0);
	assert_non_null(c);
	assert_true(wait_for(c, spool_empty, 5000, 30000));
	llmcost_stats s = stats(c);
	// Each frame was read back once.
	assert_int_equal(s.spool_calls_replayed, 5000);
	assert_int_equal(s.calls_acked, 5000);
	assert_int_equal(s.spool_corrupt, 0);
	// New calls go straight to the collector again.
	assert_int_equal(calls(c, 100, "third", -1), 0);
	LLMCOST_PASS(llmcost_flush(c, 10000));
	s = stats(c);
	assert_int_equal(s.spool_calls_written, 0);
	llmcost_shutdown(c, 1000);

	uint8_t(*ids)[16] = read_ids(ids_path, &n);
	assert_int_equal(n, 5000);
	assert_stored(ids, n);
	// Oldest first: the first run's calls reached the collector before
	// the second run's.
	assert_replayed_in_order(ids, 3000, n);
	// Exactly once: the store holds each run id once, and nothing else.
	assert_int_equal(stored_runs_in(dir), 5000 + 100);
	free(ids);
	assert_true(harness_daemon_stop(d, SIGTERM) == 0);
}

// A spool with a small bound fills up: the calls past it are dropped
// and counted, and the file stays within its bound.
static void
test_spool_full(void **state)
{
	(void) state;
	char path[800];
	snprintf(path, sizeof(path), "%s/full.spool", dir);
	llmcost_client *c = client(path, 64 << 10);
	assert_non_null(c);
	assert_int_equal(calls(c, 3000, "full", -1), 0);
	assert_true(wait_for(c, full_and_counted, 3000, 20000));
	llmcost_stats s = stats(c);
	assert_true(s.spool_calls_written > 0);
	assert_true(s.spool_bytes <= 64 << 10);
	assert_true(s.calls_dropped >= s.spool_calls_dropped);
	assert_true(s.spool_calls_written + s.spool_calls_dropped <= 3000);
	llmcost_shutdown(c, 100);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size <= 64 << 10);
}

// Reads the header of the first frame: its payload length and calls.
static void
first_frame(const char *path, uint32_t *len, uint32_t *n)
{
	uint32_t h[4];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, h, sizeof(h), 32), (ssize_t) sizeof(h));
	close(fd);
	*len = h[1];
	*n = h[2];
}

static void
append_bytes(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t) strlen(s));
	close(fd);
}

// A damaged spool: one frame fails its CRC and the tail is a frame cut
// short.  Both are reported and counted; every other call is replayed.
static void
test_corrupt_frames(void **state)
{
	(void) state;
	char path[800];
	uint32_t len, n1;

	snprintf(path, sizeof(path), "%s/damaged.spool", dir);
	unlink(path);
	llmcost_client *c = client(path, 0);
	assert_non_null(c);
	assert_int_equal(calls(c, 500, "damaged", -1), 0);
	llmcost_shutdown(c, 100);

	// Flip a byte inside the first frame's payload; cut a frame short
	// at the end.
	first_frame(path, &len, &n1);
	assert_true(n1 > 0 && n1 < 500);
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	char ch;
	assert_int_equal(pread(fd, &ch, 1, 32 + 24 + len / 2), 1);
	ch ^= 0x5a;
	assert_int_equal(pwrite(fd, &ch, 1, 32 + 24 + len / 2), 1);
	close(fd);
	append_bytes(path, "SLMR\x40\x00\x00\x00partial");

	uint64_t before = stored_runs_in(dir);
	pid_t d = harness_daemon_start(dir, NULL);
	assert_true(d > 0);
	c = client(path, 0);
	assert_non_null(c);
	assert_true(wait_for(c, spool_empty, 500 - n1, 30000));
	llmcost_stats s = stats(c);
	assert_int_equal(s.spool_corrupt, 2);
	assert_int_equal(s.spool_calls_replayed, 500 - n1);
	llmcost_shutdown(c, 1000);
	assert_int_equal(stored_runs_in(dir) - before, 500 - n1);
	assert_true(harness_daemon_stop(d, SIGTERM) == 0);
}

// A file that is not a spool at all is moved aside (and counted); a new
// spool starts in its place.
static void
test_not_a_spool(void **state)
{
	(void) state;
	char path[800], aside[820];
	struct stat st;

	snprintf(path, sizeof(path), "%s/notes.spool", dir);
	snprintf(aside, sizeof(aside), "%s.corrupt", path);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a spool, just some text\n", 28), 28);
	close(fd);
	llmcost_client *c = client(path, 0);
	assert_non_null(c);
	assert_int_equal(stats(c).spool_corrupt, 1);
	assert_int_equal(stat(aside, &st), 0);
	assert_int_equal(st.st_size, 28);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 32);
	llmcost_shutdown(c, 100);

	// A file cut inside its header is not a spool either.
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "LLMCSPOL", 8), 8);
	close(fd);
	c = client(path, 0);
	assert_non_null(c);
	assert_int_equal(stats(c).spool_corrupt, 1);
	llmcost_shutdown(c, 100);
}

// Two clients on one path: the second takes <path>.1.
static void
test_two_processes(void **state)
{
	(void) state;
	char path[800], sibling[820];
	struct stat st;

	snprintf(path, sizeof(path), "%s/shared.spool", dir);
	snprintf(sibling, sizeof(sibling), "%s.1", path);
	llmcost_client *a = client(path, 0);
	llmcost_client *b = client(path, 0);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(stat(sibling, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	llmcost_shutdown(b, 100);
	llmcost_shutdown(a, 100);
}

// The application's first run in test_outage_mid_stream: calls while the
// collector is up, tells the test (fd) once some are acknowledged and
// more are on their way, and calls on while the test kills the
// collector, past its queue.
static void
mid_first(const char *ids_path, int fd)
{
	int ids = open(ids_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	llmcost_client *c = client(spool_dir, 0);
	char b = 'k';
	if (ids < 0 || c == NULL) {
		_exit(10);
	}
	if (calls(c, 300, "mid-a", ids) != 0
	    || !wait_for(c, acked_at_least, 1, 20000)) {
		_exit(11);
	}
	// Calls keep coming while the test kills the collector.
	if (calls(c, 300, "mid-a", ids) != 0 || write(fd, &b, 1) != 1) {
		_exit(12);
	}
	if (calls(c, 1400, "mid-b", ids) != 0 || stats(c).calls_dropped != 0) {
		_exit(13);
	}
	llmcost_shutdown(c, 200);
	_exit(0);
}

// The last run: replays the spool to the collector.
static void
mid_last(void)
{
	llmcost_client *c = client(spool_dir, 0);
	if (c == NULL || !wait_for(c, spool_empty, 1, 30000)
	    || llmcost_flush(c, 10000) != 0) {
		_exit(20);
	}
	llmcost_shutdown(c, 1000);
	_exit(0);
}

// A child process that waits for a byte on go[0], then runs the first
// (which 0), second (1) or last (2) run of the application; fd is the
// first run's line to the test.  Forked before the test starts the
// collector: nng cannot be used in a process forked after it started.
static pid_t
mid_fork(int go[2], int which, const char *ids_path, int fd)
{
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char b;
		close(go[1]);
		if (which != 0) {
			close(fd);
		}
		if (read(go[0], &b, 1) != 1) {
			_exit(30);
		}
		if (which == 0) {
			mid_first(ids_path, fd);
		} else if (which == 1) {
			child(500, "mid-c", ids_path, 0);
		}
		mid_last();
	}
	close(go[0]);
	return (pid);
}

static void
mid_go_wait(int go[2], pid_t pid)
{
	char b = 'g';
	int st;
	assert_int_equal(write(go[1], &b, 1), 1);
	close(go[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fail_msg("the application ended with %d, signal %d",
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1,
		    WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	}
}

// The collector is up and calls flow; it is killed mid-stream (batches in
// flight); the application keeps calling past its queue and shuts down;
// a second run calls on in the outage; the collector comes back and a
// third run replays: every call is stored exactly once.
static void
test_outage_mid_stream(void **state)
{
	(void) state;
	char ids_path[800];
	int sync[2], go[3][2];
	pid_t pid[3];
	size_t n;

	snprintf(ids_path, sizeof(ids_path), "%s/ids-mid", dir);
	assert_int_equal(pipe(sync), 0);
	for (int i = 0; i < 3; i++) {
		pid[i] = mid_fork(go[i], i, ids_path, sync[1]);
	}
	close(sync[1]);
	pid_t d = harness_daemon_start(dir, NULL);
	assert_true(d > 0);
	uint64_t before = stored_runs_in(dir);

	// First run: the collector is killed once calls flow.
	char b = 'g';
	assert_int_equal(write(go[0][1], &b, 1), 1);
	close(go[0][1]);
	assert_int_equal(read(sync[0], &b, 1), 1);
	close(sync[0]);
	assert_int_equal(harness_daemon_stop(d, SIGKILL), 128 + SIGKILL);
	int st;
	assert_int_equal(waitpid(pid[0], &st, 0), pid[0]);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	// Restarted mid-outage: the second run adopts the spool, calls on.
	mid_go_wait(go[1], pid[1]);
	// The collector comes back; the third run replays.
	d = harness_daemon_start(dir, NULL);
	assert_true(d > 0);
	mid_go_wait(go[2], pid[2]);
	assert_true(harness_daemon_stop(d, SIGTERM) == 0);

	uint8_t(*ids)[16] = read_ids(ids_path, &n);
	assert_int_equal(n, 2500);
	assert_stored(ids, n);
	// Exactly once: the store holds each run id once, and nothing else.
	assert_int_equal(stored_runs_in(dir), before + 2500);
	free(ids);
}

// With the argument "mid-stream", test_outage_mid_stream alone: nng
// refuses to run in a process forked after it started in its parent, so
// that test, whose collector starts while its children wait, runs in a
// process of its own (its own ctest entry), and the others in another.
int
main(int argc, char **argv)
{
	const struct CMUnitTest mid[] = {
		cmocka_unit_test(test_outage_mid_stream),
	};
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_outage_restart),
		cmocka_unit_test(test_spool_full),
		cmocka_unit_test(test_corrupt_frames),
		cmocka_unit_test(test_not_a_spool),
		cmocka_unit_test(test_two_processes),
	};
	if (argc > 1 && strcmp(argv[1], "mid-stream") == 0) {
		return (cmocka_run_group_tests(mid, setup, teardown));
	}
	return (cmocka_run_group_tests(tests, setup, teardown));
}
