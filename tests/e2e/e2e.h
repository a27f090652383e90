// Helpers shared by the end-to-end tests on top of the harness: run a
// program and check its exit status and output.
#ifndef LLMCOST_E2E_H
#define LLMCOST_E2E_H

#include "testutil.h"

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

#endif // LLMCOST_E2E_H
