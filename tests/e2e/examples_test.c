// End to end: the examples keep working.  The quickstart from the README
// and the demo service record through the real shim into a real llmcostd,
// and the CLI's report counts what they recorded.  CMake registers this
// test only when the examples are built and passes their paths
// (LLMCOST_QUICKSTART, LLMCOST_DEMO_APP), so a missing example is a
// failure, never a skip.
#include "e2e.h"

#include <signal.h>
#include <unistd.h>

// The path in variable name, which must be an executable file.
static const char *
example(const char *name)
{
	const char *p = getenv(name);

	if (p == NULL || *p == '\0') {
		fail_msg("%s is not set: this test runs through ctest, with "
		         "the examples built (LLMCOST_BUILD_EXAMPLES=ON)",
		    name);
	}
	if (access(p, X_OK) != 0) {
		fail_msg(
		    "%s=%s is not an executable: build the examples", name, p);
	}
	return (p);
}

static void
test_examples(void **state)
{
	const char *quick = example("LLMCOST_QUICKSTART");
	const char *demo = example("LLMCOST_DEMO_APP");
	char *dir;
	char url[1100];
	pid_t pid;

	(void) state;
	pid = harness_daemon_tmp(&dir, url, sizeof(url));
	assert_true(pid > 0);
	setenv("LLMCOST_COLLECTOR_URL", url, 1);
	e2e_expect_run((const char *[]) { quick, NULL }, 0, NULL, NULL);
	e2e_expect_run((const char *[]) { demo, NULL }, 0,
	    "recorded 670 calls (0 refused); collector stored 670, dropped 0",
	    NULL);
	unsetenv("LLMCOST_COLLECTOR_URL");
	e2e_expect_run((const char *[]) { harness_cli_bin(), "report",
	                   "--data-dir", dir, "--csv", NULL },
	    0, "rag-search,413,", NULL);
	e2e_expect_run((const char *[]) { harness_cli_bin(), "report",
	                   "--data-dir", dir, NULL },
	    0, "total                          671", NULL);
	assert_int_equal(harness_daemon_stop(pid, SIGTERM), 0);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
