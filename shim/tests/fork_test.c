// Tests llmcost_init in processes made by fork(), which nng cannot serve
// once an ancestor started it (export_collector.c): a child forked before
// any client was created gets a working client, and a grandchild of a
// process with a client is refused with LLMCOST_ESYSTEM and lives on.
// init_test covers a child of a process with a client.  The tests run in
// this order on purpose: the first needs a process where nng never ran.
// Children report by exit status only (no cmocka in them).
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char dead_url[300];

static int
init_dead(llmcost_client **cp)
{
	llmcost_options o;
	memset(&o, 0, sizeof(o));
	o.collector_url = dead_url;
	o.queue_max = 64;
	return (llmcost_init(cp, &o));
}

// Waits for pid; its exit status, or -1 when it did not exit normally
// (killed by nng's abort, or by the alarm of a hang).
static int
exit_status(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st)) {
		return (-1);
	}
	return (WEXITSTATUS(st));
}

static void
test_child_before_any_client(void **state)
{
	(void) state;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		llmcost_client *c;
		int rv = init_dead(&c);
		if (rv == 0) {
			llmcost_shutdown(c, 0);
		}
		_exit(rv == 0 ? 0 : 10 + rv);
	}
	assert_int_equal(exit_status(pid), 0);
}

static void
test_grandchild_of_a_client(void **state)
{
	(void) state;
	llmcost_client *c;

	LLMCOST_PASS(init_dead(&c));
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(30);
		pid_t g = fork();
		if (g == 0) {
			llmcost_client *d;
			_exit(init_dead(&d) == LLMCOST_ESYSTEM ? 0 : 1);
		}
		_exit(g > 0 ? exit_status(g) & 0xff : 2);
	}
	assert_int_equal(exit_status(pid), 0);
	llmcost_shutdown(c, 0);
}

int
main(void)
{
	unsetenv("LLMCOST_DISABLE");
	unsetenv("LLMCOST_COLLECTOR_URL");
	snprintf(dead_url, sizeof(dead_url),
	    "ipc:///tmp/llmcost-fork-test-%ld/none.sock", (long) getpid());
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_child_before_any_client),
		cmocka_unit_test(test_grandchild_of_a_client),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
