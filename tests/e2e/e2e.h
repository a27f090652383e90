// Helpers shared by the end-to-end tests on top of the harness: run a
// program and check its exit status and output; read a report as JSON;
// assert a JSON member's value; write a file; make a client of a test
// daemon and record one call through it.
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

// Assert that the member key of the JSON object obj is the string want
// (E2E_ASSERT_JSON_STR) or the integer want (E2E_ASSERT_JSON_INT).
// Macros, so that a failure names the line of the test.
#define E2E_ASSERT_JSON_STR(obj, key, want)                                   \
	assert_string_equal(                                                  \
	    json_string_value(json_object_get((obj), (key))), (want))
#define E2E_ASSERT_JSON_INT(obj, key, want)                                   \
	assert_int_equal(                                                     \
	    json_integer_value(json_object_get((obj), (key))), (want))

// Writes text to path (replacing what was there), or fails the test.
static inline void
e2e_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

// A client of the daemon at url that sends every 10 ms, or NULL if
// llmcost_init refuses (the caller shuts it down).
static inline llmcost_client *
e2e_client(const char *url)
{
	llmcost_options o;
	llmcost_client *c;

	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 10;
	return (llmcost_init(&c, &o) == 0 ? c : NULL);
}

// Records one call of provider's model with 1000 input and 10 output
// tokens, for feature, at tier on platform (NULL: the provider's own
// API), into the daemon of dir, and waits until it is stored.
static inline void
e2e_send_one(const char *dir, const char *provider, const char *model,
    const char *feature, llmcost_service_tier tier, const char *platform)
{
	char url[1100];
	llmcost_client *c;
	llmcost_call *call;
	llmcost_usage u;

	harness_url(dir, url, sizeof(url));
	assert_non_null(c = e2e_client(url));
	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = 1000;
	u.tokens[LLMCOST_OUT_TEXT] = 10;
	LLMCOST_PASS(llmcost_call_begin(c, provider, model, &call));
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", feature));
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	LLMCOST_PASS(llmcost_call_set_service_tier(call, tier));
	LLMCOST_PASS(llmcost_call_set_platform(call, platform));
	LLMCOST_PASS(llmcost_call_end(call));
	assert_int_equal(llmcost_test_flushed(c, 20000).calls_acked, 1);
	llmcost_shutdown(c, 1000);
}

#endif // LLMCOST_E2E_H
