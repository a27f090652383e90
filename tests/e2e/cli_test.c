// End to end: the command-line surfaces.  Every command answers --help,
// misuse exits 2 with a pointer to --help, runtime failures exit 1 with a
// message that says what to do, both programs print the version CMake
// configured, and a second daemon on the same data directory refuses to
// start.  The examples have their own test (examples_test.c).
#include "e2e.h"

#include <signal.h>

// `llmcost --help` lists every command, in one column (a command's
// summary starts where every other's does), and each command's --help
// exits 0 with its usage line.
static void
test_help_lists_every_command(void **state)
{
	(void) state;
	static const char *const cmds[] = { "report", "prices", "reconcile",
		"budget", "reprice", "prune", "stats" };
	const size_t ncmds = sizeof(cmds) / sizeof(cmds[0]);
	const char *cli = harness_cli_bin();
	char *out = NULL, *err = NULL;
	int col = -1;
	size_t listed = 0;

	assert_int_equal(
	    harness_run((const char *[]) { cli, "--help", NULL }, &out, &err),
	    0);
	const char *p = strstr(out, "Commands:\n");
	assert_non_null(p);
	p += strlen("Commands:\n");
	// The command lines: two spaces, the name, spaces, the summary.
	while (p[0] == ' ' && p[1] == ' ' && p[2] != ' ' && p[2] != '-') {
		const char *name = p + 2, *e = strchr(p, '\n');
		size_t len = strcspn(name, " ");
		int at = (int) (name + len + strspn(name + len, " ") - p);
		assert_non_null(e);
		if (col < 0) {
			col = at;
		}
		if (at != col) {
			fail_msg("'%.*s' starts its summary at column %d, the "
			         "others at %d:\n%s",
			    (int) len, name, at, col, out);
		}
		size_t i = 0;
		while (i < ncmds
		    && (strlen(cmds[i]) != len
		        || strncmp(cmds[i], name, len) != 0)) {
			i++;
		}
		if (i == ncmds) {
			fail_msg(
			    "unknown command '%.*s' listed", (int) len, name);
		}
		listed++;
		p = e + 1;
	}
	assert_int_equal(listed, ncmds);
	free(out);
	free(err);

	for (size_t i = 0; i < ncmds; i++) {
		char want[64];
		snprintf(want, sizeof(want), "Usage: llmcost %s", cmds[i]);
		e2e_expect_run(
		    (const char *[]) { cli, cmds[i], "--help", NULL }, 0, want,
		    NULL);
	}
}

static void
test_help_and_usage_errors(void **state)
{
	(void) state;
	const char *cli = harness_cli_bin(), *d = harness_daemon_bin();

	e2e_expect_run(
	    (const char *[]) { cli, "--help", NULL }, 0, "report", NULL);
	e2e_expect_run((const char *[]) { cli, "-V", NULL }, 0,
	    "llmcost " LLMCOST_VERSION_STRING "\n", NULL);
	e2e_expect_run((const char *[]) { cli, NULL }, 2, NULL, "Usage");
	e2e_expect_run((const char *[]) { cli, "frobnicate", NULL }, 2, NULL,
	    "unknown command");
	e2e_expect_run((const char *[]) { cli, "report", "--help", NULL }, 0,
	    "--since", NULL);
	e2e_expect_run(
	    (const char *[]) { cli, "report", "--since", "yesterday", NULL },
	    2, NULL, "cannot read the time");
	e2e_expect_run(
	    (const char *[]) { cli, "report", "--by", "colour", NULL }, 2,
	    NULL,
	    "want feature, model, env, provider, meta.<key>, user_tier, tag, "
	    "tagset or trace");
	e2e_expect_run((const char *[]) { cli, "report", "--bogus", NULL }, 2,
	    NULL, "--help");
	e2e_expect_run((const char *[]) { cli, "report", "--data-dir",
	                   "/nonexistent/llmcost", NULL },
	    1, NULL, "no store at /nonexistent/llmcost");
	e2e_expect_run((const char *[]) { cli, "stats", "--help", NULL }, 0,
	    "--url", NULL);
	e2e_expect_run((const char *[]) { cli, "stats", "--url",
	                   "ipc:///nonexistent/x.sock", NULL },
	    1, NULL, "is it running?");
	e2e_expect_run((const char *[]) { cli, "prices", NULL }, 0,
	    "claude-sonnet-4-5", NULL);
	e2e_expect_run((const char *[]) { cli, "prices", "--help", NULL }, 0,
	    "per 1M tokens", NULL);

	e2e_expect_run(
	    (const char *[]) { d, "--help", NULL }, 0, "--data-dir", NULL);
	e2e_expect_run((const char *[]) { d, "--version", NULL }, 0,
	    "llmcostd " LLMCOST_VERSION_STRING "\n", NULL);
	e2e_expect_run((const char *[]) { d, "--bogus", NULL }, 2, NULL,
	    "unknown option");
	e2e_expect_run((const char *[]) { d, "--contexts", "0", NULL }, 2,
	    NULL, "want an integer in 1..256");
	e2e_expect_run((const char *[]) { d, "--log-level", "loud", NULL }, 2,
	    NULL, "log-level");
}

// The CLI does not load libcurl when it starts: only reconcile needs it
// (cli/curl_lib.c loads it then), so a report does not pay for loading
// it and the TLS, Kerberos and LDAP libraries it depends on.  Nor nng and
// its TLS library: only stats and report --collector need them
// (cli/nng_lib.c; the tests of both commands above and in
// e2e/query_test.c load it).  glibc's loader lists what it would load
// and exits when LD_TRACE_LOADED_OBJECTS is set.
static void
test_no_libcurl_at_start(void **state)
{
	(void) state;
	char *out = NULL, *err = NULL;

	assert_int_equal(setenv("LD_TRACE_LOADED_OBJECTS", "1", 1), 0);
	int rv = harness_run(
	    (const char *[]) { harness_cli_bin(), "--version", NULL }, &out,
	    &err);
	unsetenv("LD_TRACE_LOADED_OBJECTS");
	assert_int_equal(rv, 0);
	// The list is there (the C library is in it) and has no libcurl,
	// nng or mbed TLS.
	if (strstr(out, "libc.so") == NULL || strstr(out, "libcurl") != NULL
	    || strstr(out, "libnng") != NULL
	    || strstr(out, "libmbed") != NULL) {
		fail_msg("llmcost loads at start:\n%s", out);
	}
	free(out);
	free(err);
}

static void
test_one_daemon_per_data_dir(void **state)
{
	(void) state;
	char *dir = harness_tmpdir();
	pid_t pid = harness_daemon_start(dir, NULL);
	assert_true(pid > 0);
	e2e_expect_run(
	    (const char *[]) { harness_daemon_bin(), "--data-dir", dir, NULL },
	    1, NULL, "already uses");

	// An empty store reports zero, and stats answers.
	char url[1100];
	harness_url(dir, url, sizeof(url));
	e2e_expect_run((const char *[]) { harness_cli_bin(), "report",
	                   "--data-dir", dir, NULL },
	    0, "total", NULL);
	e2e_expect_run((const char *[]) { harness_cli_bin(), "stats", "--url",
	                   url, NULL },
	    0, "records_stored 0", NULL);
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);

	// After a clean stop the directory can be used again.
	pid = harness_daemon_start(dir, NULL);
	assert_true(pid > 0);
	assert_int_equal(harness_daemon_stop(pid, SIGINT), 0);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_help_lists_every_command),
		cmocka_unit_test(test_help_and_usage_errors),
		cmocka_unit_test(test_no_libcurl_at_start),
		cmocka_unit_test(test_one_daemon_per_data_dir),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
