// End to end: the command-line surfaces.  Every command answers --help,
// misuse exits 2 with a pointer to --help, runtime failures exit 1 with a
// message that says what to do, and a second daemon on the same data
// directory refuses to start.
#include "testutil.h"

#include <signal.h>
#include <unistd.h>

#include "harness.h"

static void
expect_run(
    const char *const *argv, int code, const char *in_out, const char *in_err)
{
	char *out, *err;
	int rv = harness_run(argv, &out, &err);
	if (rv != code || (in_out && strstr(out, in_out) == NULL)
	    || (in_err && strstr(err, in_err) == NULL)) {
		fail_msg("%s %s: exit %d (want %d)\nstdout: %s\nstderr: %s",
		    argv[0], argv[1] ? argv[1] : "", rv, code, out, err);
	}
	free(out);
	free(err);
}

static void
test_help_and_usage_errors(void **state)
{
	(void) state;
	const char *cli = harness_cli_bin(), *d = harness_daemon_bin();

	expect_run(
	    (const char *[]) { cli, "--help", NULL }, 0, "report", NULL);
	expect_run(
	    (const char *[]) { cli, "-V", NULL }, 0, "llmcost 0.", NULL);
	expect_run((const char *[]) { cli, NULL }, 2, NULL, "Usage");
	expect_run((const char *[]) { cli, "frobnicate", NULL }, 2, NULL,
	    "unknown command");
	expect_run((const char *[]) { cli, "report", "--help", NULL }, 0,
	    "--since", NULL);
	expect_run(
	    (const char *[]) { cli, "report", "--since", "yesterday", NULL },
	    2, NULL, "cannot read the time");
	expect_run((const char *[]) { cli, "report", "--by", "colour", NULL },
	    2, NULL, "want feature, model, env or provider");
	expect_run((const char *[]) { cli, "report", "--bogus", NULL }, 2,
	    NULL, "--help");
	expect_run((const char *[]) { cli, "report", "--data-dir",
	               "/nonexistent/llmcost", NULL },
	    1, NULL, "no store at /nonexistent/llmcost");
	expect_run((const char *[]) { cli, "stats", "--help", NULL }, 0,
	    "--url", NULL);
	expect_run((const char *[]) { cli, "stats", "--url",
	               "ipc:///nonexistent/x.sock", NULL },
	    1, NULL, "is it running?");
	expect_run((const char *[]) { cli, "prices", NULL }, 0,
	    "claude-sonnet-4-5", NULL);
	expect_run((const char *[]) { cli, "prices", "--help", NULL }, 0,
	    "per 1M tokens", NULL);

	expect_run(
	    (const char *[]) { d, "--help", NULL }, 0, "--data-dir", NULL);
	expect_run(
	    (const char *[]) { d, "--version", NULL }, 0, "llmcostd 0.", NULL);
	expect_run((const char *[]) { d, "--bogus", NULL }, 2, NULL,
	    "unknown option");
	expect_run((const char *[]) { d, "--contexts", "0", NULL }, 2, NULL,
	    "want an integer in 1..256");
	expect_run((const char *[]) { d, "--log-level", "loud", NULL }, 2,
	    NULL, "log-level");
}

static void
test_one_daemon_per_data_dir(void **state)
{
	(void) state;
	char *dir = harness_tmpdir();
	pid_t pid = harness_daemon_start(dir, NULL);
	assert_true(pid > 0);
	expect_run(
	    (const char *[]) { harness_daemon_bin(), "--data-dir", dir, NULL },
	    1, NULL, "already uses");

	// An empty store reports zero, and stats answers.
	char url[1100];
	harness_url(dir, url, sizeof(url));
	expect_run((const char *[]) { harness_cli_bin(), "report",
	               "--data-dir", dir, NULL },
	    0, "total", NULL);
	expect_run((const char *[]) { harness_cli_bin(), "stats", "--url", url,
	               NULL },
	    0, "records_stored 0", NULL);
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);

	// After a clean stop the directory can be used again.
	pid = harness_daemon_start(dir, NULL);
	assert_true(pid > 0);
	assert_int_equal(harness_daemon_stop(pid, SIGINT), 0);
	harness_rmdir(dir);
}

// The examples keep working: the quickstart from the README and the demo
// service record through the real shim, and the report counts them.
static void
test_examples(void **state)
{
	(void) state;
	const char *ex = getenv("LLMCOST_EXAMPLES_DIR");
	if (ex == NULL) {
		skip();
	}
	char *dir = harness_tmpdir();
	char url[1100], demo[1024], quick[1024];
	harness_url(dir, url, sizeof(url));
	snprintf(demo, sizeof(demo), "%s/demo_app", ex);
	snprintf(quick, sizeof(quick), "%s/quickstart", ex);
	if (access(demo, X_OK) != 0 || access(quick, X_OK) != 0) {
		harness_rmdir(dir);
		skip(); // built without examples
	}
	pid_t pid = harness_daemon_start(dir, NULL);
	assert_true(pid > 0);
	setenv("LLMCOST_COLLECTOR_URL", url, 1);
	expect_run((const char *[]) { quick, NULL }, 0, NULL, NULL);
	expect_run((const char *[]) { demo, NULL }, 0,
	    "recorded 670 calls (0 refused); collector stored 670, dropped 0",
	    NULL);
	unsetenv("LLMCOST_COLLECTOR_URL");
	expect_run((const char *[]) { harness_cli_bin(), "report",
	               "--data-dir", dir, "--csv", NULL },
	    0, "rag-search,413,", NULL);
	expect_run((const char *[]) { harness_cli_bin(), "report",
	               "--data-dir", dir, NULL },
	    0, "total                          671", NULL);
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_and_usage_errors),
		cmocka_unit_test(test_one_daemon_per_data_dir),
		cmocka_unit_test(test_examples),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
