// Fault suite, storage failures: each must be named for what it is, in
// one log line per episode with the data directory and what to do, and
// counted (store_<fault> in STATS, shown by `llmcost stats`); while it
// lasts the daemon answers "retry", so calls wait unacknowledged in their
// clients, and once it is over they are stored, each exactly once.
//
// - full_disk: the data directory on a 8 MiB tmpfs, filled up while the
//   daemon runs, then freed.  Mounting needs root (or CAP_SYS_ADMIN);
//   without it the test says so, and file_size_limit below covers the
//   same path with a fault any user can cause.
// - file_size_limit: the daemon's RLIMIT_FSIZE lowered to its store's
//   current size while it runs (prlimit), then raised again: writes fail
//   with EFBIG (SIGXFSZ must not kill it).
// - read_only: the data directory on a read-only bind mount at start
//   (root only, as mounting is): refused with the remount advice, while
//   `llmcost report` still reads the store.
// - permission: a data directory llmcostd's user cannot write (as user
//   nobody when root, else a 0500 directory): refused with the advice.
// - slow_disk: every sync 150 ms slower (slow_sync.c, preloaded):
//   counted as slow write transactions, and nothing lost.
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "harness.h"
#include "store.h"

#define BIG 2000 // calls in a batch written while the disk is full

typedef struct fixture {
	char *dir;
	char data[700];
	char log[600];
	char mnt[600];  // a tmpfs is mounted here when not empty
	int data_bound; // data is a bind mount of itself
} fixture;

static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));

	f->dir = harness_tmpdir();
	if (f->dir == NULL) {
		return (-1);
	}
	snprintf(f->log, sizeof(f->log), "%s/llmcostd.log", f->dir);
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	fixture *f = *state;

	if (f->data_bound) {
		umount2(f->data, MNT_DETACH);
	}
	if (f->mnt[0] != '\0') {
		umount2(f->mnt, MNT_DETACH);
	}
	harness_rmdir(f->dir);
	free(f);
	return (0);
}

static void
send_expect(fixture *f, uint64_t seq, uint32_t first, uint32_t n,
    uint32_t status, const char *reason)
{
	llmcost_proto_buf b;
	fault_ack ack;
	int fd = -1;

	fault_batch(&b, 3, seq, first, n);
	assert_int_equal(fault_send_batch(&fd, f->data, &b, &ack, 10000), 0);
	llmcost_proto_buf_free(&b);
	close(fd);
	if (ack.status != status) {
		fail_msg("batch %llu: status %u, want %u (%s)",
		    (unsigned long long) seq, ack.status, status, ack.reason);
	}
	if (status == LLMCOST_ACK_STORED) {
		assert_int_equal(ack.stored, n);
		assert_int_equal(ack.duplicates, 0);
	} else if (reason != NULL && strstr(ack.reason, reason) == NULL) {
		fail_msg("retry reason '%s' lacks '%s'", ack.reason, reason);
	}
}

static void
check_counter(fixture *f, const char *name, uint64_t at_least)
{
	char url[1200], line[128];
	char *out = NULL, *err = NULL;

	snprintf(url, sizeof(url), "ipc://%s/llmcostd.sock", f->data);
	const char *argv[]
	    = { harness_cli_bin(), "stats", "--url", url, NULL };
	assert_int_equal(harness_run(argv, &out, &err), 0);
	snprintf(line, sizeof(line), "\n%s ", name);
	const char *p = strstr(out, line);
	if (p == NULL) {
		fail_msg("llmcost stats shows no %s:\n%s", name, out);
	}
	unsigned long long v = strtoull(p + strlen(line), NULL, 10);
	print_message("llmcost stats: %s %llu\n", name, v);
	assert_true(v >= at_least);
	free(out);
	free(err);
}

// Every call of client 3 below n is in the store, and nothing else.
static void
check_store(fixture *f, uint32_t n)
{
	store *s;
	store_rtxn *t;
	char err[1024];
	uint64_t runs = 0;

	if (store_open(&s, f->data, STORE_RDONLY, 0, err, sizeof(err)) != 0) {
		fail_msg("store_open: %s", err);
	}
	LLMCOST_PASS(store_read_begin(s, &t));
	for (uint32_t i = 0; i < n; i++) {
		uint8_t id[16];
		store_run run;
		fault_run_id(id, 3, i);
		if (store_get_run(t, id, &run) != 0) {
			fail_msg("call %u is not in the store", i);
		}
	}
	LLMCOST_PASS(store_count_runs(t, &runs));
	assert_int_equal(runs, n);
	store_read_end(t);
	store_close(s);
}

static pid_t
start(fixture *f)
{
	int status = -1;
	fault_daemon_opts o = { .dir = f->data, .log = f->log };
	pid_t d = fault_daemon_start(&o, &status);

	if (d <= 0) {
		fail_msg("llmcostd did not start (status %d)", status);
	}
	return (d);
}

// One episode: three batches refused (each sent twice), one log line,
// the counter, then the fault is lifted and all of them are stored.
static void
episode(fixture *f, pid_t d, const char *what, const char *name,
    void (*lift)(fixture *, pid_t))
{
	char line[1400], counter[64];

	for (uint32_t k = 0; k < 3; k++) {
		for (int again = 0; again < 2; again++) {
			send_expect(f, 2 + k, 100 + k * BIG, BIG,
			    LLMCOST_ACK_RETRY, name);
		}
	}
	snprintf(line, sizeof(line), "cannot write the store in %s: %s",
	    f->data, what);
	assert_int_equal(fault_count_in_file(f->log, line), 1);
	snprintf(counter, sizeof(counter), "store_%s", name);
	assert_true(fault_stat(f->data, counter, 5000) >= 6);
	check_counter(f, counter, 6);
	assert_true(fault_stat(f->data, "store_errors", 5000) >= 6);

	lift(f, d);
	for (uint32_t k = 0; k < 3; k++) {
		send_expect(
		    f, 2 + k, 100 + k * BIG, BIG, LLMCOST_ACK_STORED, NULL);
	}
	snprintf(line, sizeof(line), "failed writes (%s)", name);
	assert_int_equal(fault_count_in_file(f->log, line), 1);
	assert_int_equal(fault_daemon_term(d, 8000), 0);
	check_store(f, 100 + 3 * BIG);
	char *log = fault_read_file(f->log);
	print_message("%s", log);
	free(log);
}

static void
free_space(fixture *f, pid_t d)
{
	char filler[1200];

	(void) d;
	snprintf(filler, sizeof(filler), "%s/filler", f->mnt);
	assert_int_equal(unlink(filler), 0);
}

static void
test_full_disk(void **state)
{
	fixture *f = *state;
	char filler[1200];
	static char chunk[65536];

	snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
	assert_int_equal(mkdir(f->mnt, 0700), 0);
	if (mount("tmpfs", f->mnt, "tmpfs", 0, "size=8m,mode=0700") != 0) {
		print_message("cannot mount a tmpfs (%s): the full-disk case "
		              "is not tried here; test_file_size_limit covers "
		              "the same path\n",
		    strerror(errno));
		f->mnt[0] = '\0';
		return;
	}
	snprintf(f->data, sizeof(f->data), "%s/data", f->mnt);
	pid_t d = start(f);
	send_expect(f, 1, 0, 100, LLMCOST_ACK_STORED, NULL);

	snprintf(filler, sizeof(filler), "%s/filler", f->mnt);
	int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	for (size_t sz = sizeof(chunk); sz > 0; sz /= 2) {
		while (write(fd, chunk, sz) == (ssize_t) sz) {
			continue;
		}
	}
	assert_int_equal(errno, ENOSPC);
	// Leave less room than a write of BIG calls needs: LMDB's write
	// then stops short, which it reports as EIO, the way a full disk
	// usually shows.
	off_t full = lseek(fd, 0, SEEK_END);
	assert_int_equal(ftruncate(fd, full - 128 * 1024), 0);
	close(fd);
	episode(
	    f, d, "no space left on its file system", "no_space", free_space);
}

static void
raise_limit(fixture *f, pid_t d)
{
	struct rlimit rl;

	(void) f;
	assert_int_equal(prlimit(d, RLIMIT_FSIZE, NULL, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	assert_int_equal(prlimit(d, RLIMIT_FSIZE, &rl, NULL), 0);
}

static void
test_file_size_limit(void **state)
{
	fixture *f = *state;
	char mdb[1200];
	struct stat st;
	struct rlimit rl;

	pid_t d = start(f);
	send_expect(f, 1, 0, 100, LLMCOST_ACK_STORED, NULL);
	snprintf(mdb, sizeof(mdb), "%s/data.mdb", f->data);
	assert_int_equal(stat(mdb, &st), 0);
	assert_int_equal(prlimit(d, RLIMIT_FSIZE, NULL, &rl), 0);
	rl.rlim_cur = (rlim_t) st.st_size;
	assert_int_equal(prlimit(d, RLIMIT_FSIZE, &rl, NULL), 0);
	episode(f, d, "the file size limit (ulimit -f) is reached",
	    "file_size", raise_limit);
}

// llmcostd, started with o, must refuse to start (status 1) and log the
// store's fault ("the store in DIR: " fault) with its advice.
static void
expect_start_refused(const fixture *f, const fault_daemon_opts *o,
    const char *fault, const char *advice)
{
	assert_int_equal(fault_daemon_refused(o), 1);
	char *log = fault_read_file(f->log);
	print_message("%s", log);
	char want[1400];
	snprintf(want, sizeof(want), "the store in %s: %s", f->data, fault);
	assert_non_null(strstr(log, want));
	assert_non_null(strstr(log, advice));
	free(log);
}

static void
test_read_only(void **state)
{
	fixture *f = *state;

	if (geteuid() != 0) {
		print_message("not root: cannot make a read-only bind mount; "
		              "not tried\n");
		return;
	}
	pid_t d = start(f);
	send_expect(f, 1, 0, 100, LLMCOST_ACK_STORED, NULL);
	assert_int_equal(fault_daemon_term(d, 8000), 0);
	if (mount(f->data, f->data, NULL, MS_BIND, NULL) != 0) {
		print_message(
		    "cannot bind-mount (%s): not tried\n", strerror(errno));
		return;
	}
	f->data_bound = 1;
	assert_int_equal(
	    mount(NULL, f->data, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL),
	    0);
	truncate(f->log, 0);
	fault_daemon_opts o = { .dir = f->data, .log = f->log };
	expect_start_refused(
	    f, &o, "its file system is read-only", "remount it read-write");
	// Reports still read a store on a read-only file system.
	const char *argv[]
	    = { harness_cli_bin(), "report", "--since", "2025-11-01",
		      "--until", "2025-11-30", "--data-dir", f->data, NULL };
	char *out = NULL, *err = NULL;
	int rv = harness_run(argv, &out, &err);
	if (rv != 0 || strstr(out, "fault-suite") == NULL) {
		fail_msg("report on a read-only store: exit %d\n%s%s", rv, out,
		    err);
	}
	free(out);
	free(err);
}

static void
test_permission(void **state)
{
	fixture *f = *state;
	fault_daemon_opts o = { .dir = f->data, .log = f->log };

	assert_int_equal(mkdir(f->data, 0700), 0);
	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		assert_non_null(pw);
		// nobody may enter the directories but not write them.
		assert_int_equal(chmod(f->dir, 0755), 0);
		assert_int_equal(chmod(f->data, 0755), 0);
		o.run_as = 1;
		o.uid = pw->pw_uid;
		o.gid = pw->pw_gid;
	} else {
		assert_int_equal(chmod(f->data, 0500), 0);
	}
	expect_start_refused(f, &o, "permission denied",
	    "give this user read and write access");
	chmod(f->data, 0700);
}

// A disk that takes 150 ms more to sync (a slow or overloaded cloud
// volume; slow_sync.c, preloaded): each write transaction waits for it,
// its clients wait for their acknowledgements meanwhile, and an operator
// sees it in `llmcost stats` (txn_*).  Every call is stored.
static void
test_slow_disk(void **state)
{
	fixture *f = *state;
	const char *lib = getenv("LLMCOST_FAULT_SYNC_PRELOAD");
	char preload[1200], asan[1200];
	int status = -1;

	assert_non_null(lib);
	fault_preload_env(lib, preload, sizeof(preload), asan, sizeof(asan));
	const char *env[]
	    = { preload, "LLMCOST_FAULT_SYNC_MS=150", asan, NULL };
	fault_daemon_opts o = { .dir = f->data, .log = f->log, .env = env };
	pid_t d = fault_daemon_start(&o, &status);
	if (d <= 0) {
		fail_msg("llmcostd did not start (status %d)", status);
	}
	uint64_t before = fault_stat(f->data, "txn_over_100ms", 5000);
	assert_true(before != UINT64_MAX);
	for (uint32_t k = 0; k < 4; k++) {
		send_expect(f, 1 + k, k * 100, 100, LLMCOST_ACK_STORED, NULL);
	}
	uint64_t slow = fault_stat(f->data, "txn_over_100ms", 5000);
	print_message("write transactions over 100 ms: %llu before the "
	              "batches, %llu after\n",
	    (unsigned long long) before, (unsigned long long) slow);
	assert_true(slow != UINT64_MAX && slow >= before + 4);
	uint64_t over10 = fault_stat(f->data, "txn_over_10ms", 5000);
	assert_true(over10 != UINT64_MAX && over10 >= slow);
	uint64_t max_us = fault_stat(f->data, "txn_max_us", 5000);
	// In microseconds: a minute would be a unit taken for another.
	assert_true(
	    max_us != UINT64_MAX && max_us >= 150000 && max_us < 60000000);
	uint64_t us = fault_stat(f->data, "txn_us", 5000);
	assert_true(us != UINT64_MAX && us >= 4 * 150000);
	check_counter(f, "txn_over_100ms", 4);
	assert_int_equal(fault_daemon_term(d, 8000), 0);
	check_store(f, 400);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_full_disk, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_file_size_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_read_only, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_permission, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_slow_disk, setup, teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
