// End to end: the examples keep working.  The demo service calls the
// provider stand-in (--count: every request gets usage of its own, each
// response logged with what it carried) over HTTP and lets libllmcost read
// the usage from the response bytes, in every format it uses; the store
// must then hold, per model and per bucket, exactly what the stand-in
// served.  The quickstart from the README records through the real shim
// too, and the CLI's report counts both.  CMake registers this test only
// when the examples are built and passes their paths (LLMCOST_QUICKSTART,
// LLMCOST_DEMO_APP, LLMCOST_PROVIDER_STANDIN), so a missing example is a
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

// What the stand-in served one model, summed from its log.
#define MAX_MODELS 16
typedef struct served {
	char model[128];
	uint64_t calls;
	uint64_t t[LLMCOST_BUCKET_COUNT];
} served;

static const char *const bucket_keys[] = { "input_uncached",
	"input_cache_read", "input_cache_write_5m", "input_cache_write_1h",
	"input_audio", "input_image", "output_text", "output_reasoning",
	"output_audio", "output_image" };

// Reads the stand-in's log ("served MODEL key=N ..." a line) into s;
// returns the number of models.
static size_t
read_served(const char *path, served *s, uint64_t *lines)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = 0;

	assert_non_null(f);
	*lines = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		char model[128];
		int off = 0;
		assert_int_equal(
		    sscanf(line, "served %127s%n", model, &off), 1);
		size_t m = 0;
		while (m < n && strcmp(s[m].model, model) != 0) {
			m++;
		}
		if (m == n) {
			assert_true(n < MAX_MODELS);
			memset(&s[n], 0, sizeof(s[n]));
			snprintf(s[n].model, sizeof(s[n].model), "%s", model);
			n++;
		}
		s[m].calls++;
		for (char *tok = strtok(line + off, " \n"); tok != NULL;
		     tok = strtok(NULL, " \n")) {
			char *eq = strchr(tok, '=');
			int b = 0;
			assert_non_null(eq);
			*eq = '\0';
			while (b < LLMCOST_BUCKET_COUNT
			    && strcmp(bucket_keys[b], tok) != 0) {
				b++;
			}
			assert_true(b < LLMCOST_BUCKET_COUNT);
			s[m].t[b] += strtoull(eq + 1, NULL, 10);
		}
		(*lines)++;
	}
	fclose(f);
	return (n);
}

// The report by model must show, for each model, the calls and every
// bucket the stand-in served it.
static void
check_stored(const char *dir, const served *s, size_t n)
{
	json_t *root
	    = e2e_report_json(dir, (const char *[]) { "--by", "model", NULL });
	json_t *rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), n);
	for (size_t k = 0; k < json_array_size(rows); k++) {
		json_t *row = json_array_get(rows, k);
		const char *model
		    = json_string_value(json_object_get(row, "model"));
		const served *e = NULL;
		for (size_t m = 0; m < n; m++) {
			if (model != NULL && strcmp(s[m].model, model) == 0) {
				e = &s[m];
			}
		}
		if (e == NULL) {
			fail_msg("the store has model %s, never served",
			    model != NULL ? model : "(none)");
		}
		E2E_ASSERT_JSON_INT(row, "calls", e->calls);
		json_t *u = json_object_get(row, "usage");
		for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
			uint64_t got = (uint64_t) json_integer_value(
			    json_object_get(u, bucket_keys[b]));
			if (got != e->t[b]) {
				fail_msg("%s: %s stored %llu, served %llu",
				    e->model, bucket_keys[b],
				    (unsigned long long) got,
				    (unsigned long long) e->t[b]);
			}
		}
	}
	json_decref(root);
}

static void
test_examples(void **state)
{
	const char *quick = example("LLMCOST_QUICKSTART");
	const char *demo = example("LLMCOST_DEMO_APP");
	const char *standin = example("LLMCOST_PROVIDER_STANDIN");
	served s[MAX_MODELS];
	char *dir;
	char url[1100], log[1100], line[128], base[64];
	uint64_t lines;
	int port = 0;

	(void) state;
	pid_t pid = harness_daemon_tmp(&dir, url, sizeof(url));
	assert_true(pid > 0);
	snprintf(log, sizeof(log), "%s/served.log", dir);
	pid_t sp = harness_spawn_line(
	    (const char *[]) { standin, "--count", "--log", log, NULL }, line,
	    sizeof(line));
	assert_true(sp > 0);
	assert_int_equal(sscanf(line, "listening on 127.0.0.1:%d", &port), 1);
	snprintf(base, sizeof(base), "http://127.0.0.1:%d", port);
	setenv("LLMCOST_COLLECTOR_URL", url, 1);
	setenv("DEMO_PROVIDER_URL", base, 1);
	e2e_expect_run((const char *[]) { demo, NULL }, 0,
	    "recorded 670 calls (0 failed); collector stored 670, dropped 0",
	    NULL);
	assert_int_equal(harness_daemon_stop(sp, SIGTERM), 128 + SIGTERM);

	// Every call was served with its usage, in 8 models (OpenAI chat
	// and Responses, Anthropic, Gemini, Bedrock, Mistral), and stored
	// as served.
	size_t n = read_served(log, s, &lines);
	assert_int_equal(lines, 670);
	assert_int_equal(n, 8);
	check_stored(dir, s, n);

	e2e_expect_run((const char *[]) { quick, NULL }, 0, NULL, NULL);
	unsetenv("LLMCOST_COLLECTOR_URL");
	e2e_expect_run((const char *[]) { harness_cli_bin(), "report",
	                   "--data-dir", dir, "--csv", NULL },
	    0, "rag-search,413,", NULL);
	e2e_expect_run((const char *[]) { harness_cli_bin(), "report",
	                   "--data-dir", dir, NULL },
	    0, "total                          671", NULL);
	assert_int_equal(harness_daemon_tmp_stop(pid, dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
