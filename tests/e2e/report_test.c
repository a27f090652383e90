// End to end: a known set of calls recorded through libllmcost, stored by
// a real llmcostd, reported by the real CLI.  `llmcost report --json`
// must equal the expected calls, tokens and cost per feature exactly.
// Expected costs are computed here from list prices typed in
// independently of core/prices.c (pico-USD per token).
#include "testutil.h"

#include <jansson.h>
#include <signal.h>
#include <unistd.h>

#include "e2e.h"
#include "harness.h"

// Public list prices, USD per 1M tokens x 1e6 = pico-USD per token.
#define P_4OMINI_IN       150000
#define P_4OMINI_CACHED   75000
#define P_4OMINI_OUT      600000
#define P_4O_IN           2500000
#define P_4O_OUT          10000000
#define P_SONNET45_IN     3000000
#define P_SONNET45_CACHED 300000
#define P_SONNET45_W5M    3750000
#define P_SONNET45_OUT    15000000

typedef struct expect {
	const char *feature; // NULL: untagged
	uint64_t calls, in, out, unpriced;
	__int128 cost;
} expect;

static llmcost_client *
open_client(const char *dir)
{
	char url[1100];
	llmcost_client *c;

	harness_url(dir, url, sizeof(url));
	assert_non_null(c = e2e_client(url));
	return (c);
}

static void
record(llmcost_client *c, const char *provider, const char *model,
    const char *feature, const llmcost_usage *u)
{
	llmcost_call *call;
	LLMCOST_PASS(llmcost_call_begin(c, provider, model, &call));
	if (feature != NULL) {
		LLMCOST_PASS(llmcost_call_set_meta(call, "feature", feature));
	}
	LLMCOST_PASS(llmcost_call_set_meta(call, "env", "production"));
	LLMCOST_PASS(llmcost_call_add_tag(call, "e2e"));
	LLMCOST_PASS(llmcost_call_set_usage(call, u));
	LLMCOST_PASS(llmcost_call_end(call));
}

static void
check_row(json_t *row, const expect *e)
{
	char buf[64];
	E2E_ASSERT_JSON_INT(row, "calls", e->calls);
	E2E_ASSERT_JSON_INT(row, "input_tokens", e->in);
	E2E_ASSERT_JSON_INT(row, "output_tokens", e->out);
	E2E_ASSERT_JSON_INT(row, "unpriced_calls", e->unpriced);
	E2E_ASSERT_JSON_STR(
	    row, "cost_pusd", harness_fmt128(e->cost, buf, sizeof(buf)));
}

static void
test_report_exact(void **state)
{
	(void) state;
	char *dir = harness_tmpdir();
	assert_non_null(dir);
	pid_t d = harness_daemon_start(dir, NULL);
	assert_true(d > 0);
	llmcost_client *c = open_client(dir);
	expect ex[5] = {
		{ "rag-search", 0, 0, 0, 0, 0 },
		{ "agent-copilot", 0, 0, 0, 0, 0 },
		{ "summarizer", 0, 0, 0, 0, 0 },
		{ NULL, 0, 0, 0, 0, 0 },
		{ "email-drafts", 0, 0, 0, 0, 0 },
	};
	llmcost_usage u;

	// rag-search: gpt-4o-mini with cached prompts.
	for (uint64_t i = 0; i < 40; i++) {
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = 1000 + i;
		u.tokens[LLMCOST_IN_CACHE_READ] = 200;
		u.tokens[LLMCOST_OUT_TEXT] = 300 + 2 * i;
		record(c, "openai", "gpt-4o-mini", "rag-search", &u);
		ex[0].calls++;
		ex[0].in += 1200 + i;
		ex[0].out += 300 + 2 * i;
		ex[0].cost += (__int128) (1000 + i) * P_4OMINI_IN
		    + 200 * P_4OMINI_CACHED
		    + (__int128) (300 + 2 * i) * P_4OMINI_OUT;
	}
	// agent-copilot: Claude with cache reads, 5-minute cache writes and
	// reasoning (billed at the output rate).
	for (uint64_t i = 0; i < 12; i++) {
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = 3000;
		u.tokens[LLMCOST_IN_CACHE_READ] = 1000 * i;
		u.tokens[LLMCOST_IN_CACHE_WRITE_5M] = 500;
		u.tokens[LLMCOST_OUT_TEXT] = 800;
		u.tokens[LLMCOST_OUT_REASONING] = 200 + i;
		record(
		    c, "anthropic", "claude-sonnet-4-5", "agent-copilot", &u);
		ex[1].calls++;
		ex[1].in += 3500 + 1000 * i;
		ex[1].out += 1000 + i;
		ex[1].cost += 3000 * (__int128) P_SONNET45_IN
		    + (__int128) (1000 * i) * P_SONNET45_CACHED
		    + 500 * (__int128) P_SONNET45_W5M
		    + (__int128) (1000 + i) * P_SONNET45_OUT;
	}
	// summarizer: gpt-4o.
	for (uint64_t i = 0; i < 9; i++) {
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = 2000 + 10 * i;
		u.tokens[LLMCOST_OUT_TEXT] = 500;
		record(c, "openai", "gpt-4o", "summarizer", &u);
		ex[2].calls++;
		ex[2].in += 2000 + 10 * i;
		ex[2].out += 500;
		ex[2].cost += (__int128) (2000 + 10 * i) * P_4O_IN
		    + 500 * (__int128) P_4O_OUT;
	}
	// untagged: no feature metadata.
	for (uint64_t i = 0; i < 5; i++) {
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = 100;
		u.tokens[LLMCOST_OUT_TEXT] = 50;
		record(c, "openai", "gpt-4o-mini", NULL, &u);
		ex[3].calls++;
		ex[3].in += 100;
		ex[3].out += 50;
		ex[3].cost += 100 * (__int128) P_4OMINI_IN
		    + 50 * (__int128) P_4OMINI_OUT;
	}
	// email-drafts: a model with no price: counted, cost 0, flagged.
	for (uint64_t i = 0; i < 3; i++) {
		memset(&u, 0, sizeof(u));
		u.tokens[LLMCOST_IN_UNCACHED] = 700;
		u.tokens[LLMCOST_OUT_TEXT] = 900;
		record(c, "acme", "acme-large-1", "email-drafts", &u);
		ex[4].calls++;
		ex[4].in += 700;
		ex[4].out += 900;
		ex[4].unpriced++;
	}
	llmcost_stats st = llmcost_test_flushed(c, 20000);
	assert_int_equal(st.calls_acked, 69);
	assert_int_equal(st.calls_dropped, 0);
	llmcost_shutdown(c, 1000);

	json_t *root
	    = e2e_report_json(dir, (const char *[]) { "--since", "1d", NULL });
	char *out, *err;
	json_t *by = json_object_get(root, "group_by");
	assert_int_equal(json_array_size(by), 1);
	assert_string_equal(
	    json_string_value(json_array_get(by, 0)), "feature");
	json_t *rows = json_object_get(root, "rows");
	assert_int_equal(json_array_size(rows), 5);

	// Rows come most expensive first; the unpriced row costs 0 and so
	// sorts last.  The expected order is derived from the expected costs.
	__int128 total = 0;
	uint64_t tcalls = 0, tin = 0, tout = 0;
	for (size_t i = 0; i < 5; i++) {
		total += ex[i].cost;
		tcalls += ex[i].calls;
		tin += ex[i].in;
		tout += ex[i].out;
	}
	int order[5] = { 0, 1, 2, 3, 4 };
	for (int i = 0; i < 5; i++) {
		for (int j = i + 1; j < 5; j++) {
			if (ex[order[j]].cost > ex[order[i]].cost) {
				int t = order[i];
				order[i] = order[j];
				order[j] = t;
			}
		}
	}
	// The test data must make the order unambiguous.
	assert_true(ex[order[0]].cost > ex[order[1]].cost
	    && ex[order[1]].cost > ex[order[2]].cost
	    && ex[order[2]].cost > ex[order[3]].cost
	    && ex[order[3]].cost > ex[order[4]].cost);
	for (int i = 0; i < 5; i++) {
		json_t *row = json_array_get(rows, (size_t) i);
		const expect *e = &ex[order[i]];
		json_t *name = json_object_get(row, "feature");
		if (e->feature != NULL) {
			assert_string_equal(
			    json_string_value(name), e->feature);
		} else {
			assert_true(json_is_null(name));
		}
		assert_true(json_is_false(json_object_get(row, "other")));
		check_row(row, e);
	}
	expect te = { NULL, tcalls, tin, tout, 3, total };
	check_row(json_object_get(root, "total"), &te);
	json_t *unp = json_object_get(root, "unpriced_models");
	assert_int_equal(json_array_size(unp), 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(unp, 0), "model")),
	    "acme-large-1");
	E2E_ASSERT_JSON_INT(root, "dropped_calls", 0);
	json_decref(root);

	// The CSV carries the same exact figures.
	const char *csv[] = { harness_cli_bin(), "report", "--since", "1d",
		"--csv", "--data-dir", dir, NULL };
	assert_int_equal(harness_run(csv, &out, &err), 0);
	char line[256], cost[64];
	__int128 c0 = ex[1].cost;
	// The exact cost: whole dollars, then 12 digits of fraction.
	char frac[16];
	snprintf(frac, sizeof(frac), "%012llu",
	    (unsigned long long) (c0 % 1000000000000));
	snprintf(line, sizeof(line),
	    "agent-copilot,%llu,%llu,%llu,%s.%s,0,0,0.000000000000,0,,0,0,"
	    "0,0\n",
	    (unsigned long long) ex[1].calls, (unsigned long long) ex[1].in,
	    (unsigned long long) ex[1].out,
	    harness_fmt128(c0 / 1000000000000, cost, sizeof(cost)), frac);
	if (strstr(out, line) == NULL) {
		fail_msg("CSV lacks \"%s\":\n%s", line, out);
	}
	assert_non_null(strstr(out, "untagged,5,500,250,"));
	free(out);
	free(err);

	// The table marks the unpriced row and lists the model.
	const char *tab[]
	    = { harness_cli_bin(), "report", "--data-dir", dir, NULL };
	assert_int_equal(harness_run(tab, &out, &err), 0);
	assert_non_null(strstr(out, "untagged"));
	assert_non_null(strstr(out, "$0.0000*"));
	assert_non_null(strstr(out, "acme/acme-large-1: 3 calls"));
	free(out);
	free(err);

	// --by model groups the same calls by model.
	root
	    = e2e_report_json(dir, (const char *[]) { "--by", "model", NULL });
	assert_int_equal(json_array_size(json_object_get(root, "rows")), 4);
	check_row(json_object_get(root, "total"), &te);
	json_decref(root);

	assert_int_equal(harness_daemon_tmp_stop(d, dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_report_exact),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
