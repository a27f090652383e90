// Helpers shared by the end-to-end tests on top of the harness: run a
// program and check its exit status and output; read a report as JSON.
#ifndef LLMCOST_E2E_H
#define LLMCOST_E2E_H

#include "testutil.h"

#include <jansson.h>

#include "harness.h"

// Runs argv through harness_run and fails the test unless it exits with
// code and its stdout and stderr contain in_out and in_err (each may be
// NULL: not checked).  The failure shows both streams.
static inline void
e2e_expect_run(
    const char *const *argv, int code, const char *in_out, const char *in_err)
{
	char *out = NULL;
	char *err = NULL;
	int rv = harness_run(argv, &out, &err);

	if (rv != code || (in_out != NULL && strstr(out, in_out) == NULL)
	    || (in_err != NULL && strstr(err, in_err) == NULL)) {
		fail_msg("%s %s: exit %d (want %d)\nstdout: %s\nstderr: %s",
		    argv[0] != NULL ? argv[0] : "(null)",
		    argv[0] != NULL && argv[1] != NULL ? argv[1] : "", rv,
		    code, out != NULL ? out : "", err != NULL ? err : "");
	}
	free(out);
	free(err);
}

// Runs `llmcost report --data-dir dir --json` with the more arguments
// args (NULL-terminated, at most 12) and fails the test unless it exits 0
// and prints JSON.  Returns the document (the caller json_decrefs it).
static inline json_t *
e2e_report_json(const char *dir, const char *const *args)
{
	const char *argv[18]
	    = { harness_cli_bin(), "report", "--data-dir", dir, "--json" };
	size_t n = 5;
	char *out = NULL;
	char *err = NULL;
	json_error_t je;

	for (size_t i = 0; args != NULL && args[i] != NULL; i++) {
		assert_true(n + 1 < sizeof(argv) / sizeof(argv[0]));
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	int rv = harness_run(argv, &out, &err);
	json_t *root = rv == 0 ? json_loads(out, 0, &je) : NULL;
	if (root == NULL) {
		fail_msg("llmcost report --json: exit %d, %s\nstdout: %s\n"
		         "stderr: %s",
		    rv, rv == 0 ? je.text : "", out != NULL ? out : "",
		    err != NULL ? err : "");
	}
	free(out);
	free(err);
	return (root);
}

#endif // LLMCOST_E2E_H
