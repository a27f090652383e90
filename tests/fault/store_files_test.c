// Fault suite, damaged store files: a data.mdb shorter than the store's
// last used page, an empty one and one that is not LMDB at all.  The
// daemon and every CLI command that opens the store must refuse it at
// start with a message saying what is wrong and what to do; never a
// SIGBUS (reading a page past the end of a mapped file), never "Bad file
// descriptor", and an empty file must not silently become a new store.
#define _GNU_SOURCE
#include "testutil.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"
#include "harness.h"

// The CLI commands that open the store (the others only print or ask
// the daemon).
static const char *const store_cmds[][4] = {
	{ "report", NULL },
	{ "report", "--json", NULL },
	{ "report", "--by", "model", NULL },
};

typedef struct fixture {
	char *dir;
	char data[1100];
	char log[1200];
	char mdb[1200];
	off_t size; // of a healthy data.mdb
} fixture;

// A store of 10,000 calls, written by llmcostd and closed by SIGTERM.
static int
setup(void **state)
{
	fixture *f = calloc(1, sizeof(*f));
	struct stat st;
	int status = -1, fd = -1;

	f->dir = harness_tmpdir();
	snprintf(f->data, sizeof(f->data), "%s/data", f->dir);
	snprintf(f->log, sizeof(f->log), "%s/llmcostd.log", f->dir);
	snprintf(f->mdb, sizeof(f->mdb), "%s/data.mdb", f->data);
	fault_daemon_opts o = { .dir = f->data, .log = f->log };
	pid_t d = fault_daemon_start(&o, &status);
	if (d <= 0) {
		return (-1);
	}
	for (uint32_t b = 0; b < 20; b++) {
		llmcost_proto_buf buf;
		fault_ack ack;
		fault_batch(&buf, 1, b + 1, b * 500, 500);
		if (fault_send_batch(&fd, f->data, &buf, &ack, 5000) != 0
		    || ack.status != LLMCOST_ACK_STORED) {
			return (-1);
		}
		llmcost_proto_buf_free(&buf);
	}
	close(fd);
	kill(d, SIGTERM);
	if (fault_daemon_wait(d, 8000, &status) < 0 || status != 0
	    || stat(f->mdb, &st) != 0) {
		return (-1);
	}
	f->size = st.st_size;
	// From here on the log holds only what the test provokes.
	truncate(f->log, 0);
	*state = f;
	return (0);
}

static int
teardown(void **state)
{
	fixture *f = *state;

	harness_rmdir(f->dir);
	free(f);
	return (0);
}

// The daemon must refuse to start, with status 1 and the message.
static void
daemon_refuses(fixture *f, const char *what, const char *todo)
{
	int status = -1, fd = -1;
	fault_daemon_opts o = { .dir = f->data, .log = f->log };
	pid_t d = fault_daemon_start(&o, &status);

	if (d > 0) {
		// It started: a write shows what a client would get.
		llmcost_proto_buf buf;
		fault_ack ack;
		fault_batch(&buf, 2, 1, 0, 100);
		int sent = fault_send_batch(&fd, f->data, &buf, &ack, 3000);
		llmcost_proto_buf_free(&buf);
		kill(d, SIGTERM);
		fault_daemon_wait(d, 8000, &status);
		fail_msg("llmcostd started on a damaged store (write: %s, "
		         "exit status %d)",
		    sent == 0 ? "answered" : "no answer", status);
	}
	char *log = fault_read_file(f->log);
	print_message("llmcostd, exit %d: %s", status, log);
	assert_int_equal(status, 1);
	assert_non_null(strstr(log, what));
	assert_non_null(strstr(log, todo));
	assert_null(strstr(log, " ready, "));
	free(log);
}

static void
cli_refuses(fixture *f, const char *what, const char *todo)
{
	for (size_t i = 0; i < sizeof(store_cmds) / sizeof(store_cmds[0]);
	     i++) {
		const char *argv[10];
		char *out = NULL, *err = NULL;
		int n = 0;
		argv[n++] = harness_cli_bin();
		for (int j = 0; store_cmds[i][j] != NULL; j++) {
			argv[n++] = store_cmds[i][j];
		}
		argv[n++] = "--data-dir";
		argv[n++] = f->data;
		argv[n] = NULL;
		int rv = harness_run(argv, &out, &err);
		print_message(
		    "llmcost %s: exit %d: %s", store_cmds[i][0], rv, err);
		assert_int_equal(rv, 1);
		assert_non_null(strstr(err, what));
		assert_non_null(strstr(err, todo));
		assert_null(strstr(err, "Bad file descriptor"));
		free(out);
		free(err);
	}
}

static void
test_truncated(void **state)
{
	fixture *f = *state;
	char what[1400];

	off_t cut = (f->size / 2) & ~(off_t) 4095;
	assert_true(cut > 0);
	assert_int_equal(truncate(f->mdb, cut), 0);
	snprintf(what, sizeof(what), "%s is truncated: it has %lld bytes",
	    f->mdb, (long long) cut);
	cli_refuses(f, what, "or move it away (mv ");
	daemon_refuses(f, what, "restore data.mdb from a backup");
}

static void
test_empty(void **state)
{
	fixture *f = *state;
	char what[1400];
	struct stat st;

	assert_int_equal(truncate(f->mdb, 0), 0);
	snprintf(what, sizeof(what), "%s is empty (0 bytes)", f->mdb);
	cli_refuses(f, what, "or move it away (mv ");
	daemon_refuses(f, what, "restore data.mdb from a backup");
	// Still empty: not quietly turned into a new store.
	assert_int_equal(stat(f->mdb, &st), 0);
	assert_int_equal(st.st_size, 0);
}

static void
test_not_lmdb(void **state)
{
	fixture *f = *state;
	FILE *fp = fopen(f->mdb, "w");

	assert_non_null(fp);
	for (int i = 0; i < 100; i++) {
		fputc(0x5a, fp);
	}
	fclose(fp);
	cli_refuses(f, "the store is corrupt", "restore data.mdb");
	daemon_refuses(f, "the store is corrupt", "restore data.mdb");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_not_lmdb, setup, teardown),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
