// End to end: users' own prices on the real llmcostd and llmcost.  A
// daemon started with --prices-file prices calls from that file; on
// SIGHUP it reads the file again, keeps its table when the file is
// broken (the file, line and field go to its log; the refusal is
// counted) and installs a good one.  A broken file stops the daemon's
// start and the CLI's `prices` with the file, line and field.  `llmcost
// prices check` lists the models of the store no entry prices.  Each
// phase's calls carry their own feature, so the report says which table
// priced which calls.
#include "e2e.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

// Table A: gpt-4o at $100 in / $200 out per 1M (pico-USD per token).
#define A_IN  INT64_C(100000000)
#define A_OUT INT64_C(200000000)
// Table B: $50 / $100.
#define B_IN  INT64_C(50000000)
#define B_OUT INT64_C(100000000)

static const char table_a[] = "# contracted rate\n"
                              "entry 1000001 openai gpt-4o\n"
                              "valid_from 2023-01-01\n"
                              "source our contract, table A\n"
                              "standard input_uncached=100 output_text=200\n";
static const char table_b[] = "entry 1000001 openai gpt-4o\n"
                              "valid_from 2023-01-01\n"
                              "source our contract, table B\n"
                              "standard input_uncached=50 output_text=100\n";
// Line 3 has a month 13.
static const char table_broken[] = "entry 1000001 openai gpt-4o\n"
                                   "source our contract\n"
                                   "valid_from 2023-13-01\n"
                                   "standard input_uncached=1 output_text=1\n";

static void
send_call(const char *dir, const char *model, const char *feature)
{
	e2e_send_one(
	    dir, "openai", model, feature, LLMCOST_TIER_STANDARD, NULL);
}

// The report's cost of feature, in pico-USD, as text; none of its calls
// unpriced.
static void
check_cost(const char *dir, const char *feature, int64_t want)
{
	static const char *const args[] = { "--since", "1d", NULL };
	json_t *root = e2e_report_json(dir, args), *row;
	json_t *rows = json_object_get(root, "rows");
	char buf[64];
	size_t i;
	int found = 0;

	json_array_foreach(rows, i, row)
	{
		const char *name
		    = json_string_value(json_object_get(row, "feature"));
		if (name != NULL && strcmp(name, feature) == 0) {
			E2E_ASSERT_JSON_STR(row, "cost_pusd",
			    harness_fmt128(want, buf, sizeof(buf)));
			E2E_ASSERT_JSON_INT(row, "unpriced_calls", 0);
			found = 1;
		}
	}
	if (!found) {
		char *text = json_dumps(root, JSON_INDENT(1));
		fail_msg("no row for %s in\n%s", feature, text);
	}
	json_decref(root);
}

// The version of the table of the built-in files and overrides text
// (`llmcost prices --prices FILE version`), in out.
static void
table_version(const char *dir, const char *text, char *out, size_t outsz)
{
	char path[2048];
	char *so = NULL, *se = NULL;
	snprintf(path, sizeof(path), "%s/version-of.txt", dir);
	e2e_write_file(path, text);
	const char *argv[] = { harness_cli_bin(), "prices", "--prices", path,
		"version", NULL };
	assert_int_equal(harness_run(argv, &so, &se), 0);
	assert_true(strlen(so) == 17 && so[16] == '\n');
	snprintf(out, outsz, "%.16s", so);
	free(so);
	free(se);
}

// The report over the last day, read from the store (url NULL) or asked
// of the daemon, states exactly the tables want (sorted, NULL-ended) and
// the text line line.
static void
check_tables(const char *dir, const char *url, const char *const *want,
    const char *line)
{
	const char *argv[] = { harness_cli_bin(), "report",
		url ? "--collector" : "--data-dir", url ? url : dir, "--since",
		"1d", "--json", NULL };
	char *so = NULL, *se = NULL;
	json_error_t je;
	assert_int_equal(harness_run(argv, &so, &se), 0);
	json_t *root = json_loads(so, 0, &je);
	assert_non_null(root);
	free(so);
	free(se);
	json_t *pt = json_object_get(root, "price_tables");
	size_t n = 0;
	while (want[n] != NULL) {
		n++;
	}
	if (!json_is_array(pt) || json_array_size(pt) != n) {
		char *text = json_dumps(pt, 0);
		fail_msg("price_tables %s, want %zu", text ? text : "-", n);
	}
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(
		    json_string_value(json_array_get(pt, i)), want[i]);
	}
	assert_true(
	    json_is_false(json_object_get(root, "price_tables_unknown")));
	json_decref(root);
	argv[6] = NULL; // the table, not --json
	e2e_expect_run(argv, 0, line, NULL);
}

// Waits (at most 20 s) until the daemon's counter name reaches want.
static void
wait_stat(const char *dir, const char *name, uint64_t want)
{
	char url[1100];
	nng_socket s;
	uint64_t v = 0;

	harness_url(dir, url, sizeof(url));
	assert_int_equal(nng_req0_open(&s), 0);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 5000);
	assert_int_equal(nng_dial(s, url, NULL, 0), 0);
	for (int i = 0; i < 400; i++) {
		assert_int_equal(harness_stat(s, name, &v), 0);
		if (v >= want) {
			break;
		}
		harness_sleep_ms(50);
	}
	nng_close(s);
	assert_int_equal(v, want);
}

static void
test_reload(void **state)
{
	(void) state;
	char *dir = harness_tmpdir();
	char path[2048];
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/prices.txt", dir);
	e2e_write_file(path, table_a);

	const char *extra[] = { "--prices-file", path, NULL };
	pid_t d = harness_daemon_start(dir, extra);
	assert_true(d > 0);

	// 1000 in, 10 out.
	send_call(dir, "gpt-4o", "phase-a");
	check_cost(dir, "phase-a", 1000 * A_IN + 10 * A_OUT);

	// A broken file: refused, table A stays.
	e2e_write_file(path, table_broken);
	assert_int_equal(kill(d, SIGHUP), 0);
	wait_stat(dir, "prices_reload_errors", 1);
	send_call(dir, "gpt-4o", "phase-broken");
	check_cost(dir, "phase-broken", 1000 * A_IN + 10 * A_OUT);

	// A good file: installed.
	e2e_write_file(path, table_b);
	assert_int_equal(kill(d, SIGHUP), 0);
	wait_stat(dir, "prices_reloads", 1);
	send_call(dir, "gpt-4o", "phase-b");
	check_cost(dir, "phase-b", 1000 * B_IN + 10 * B_OUT);
	// Earlier calls keep what they were priced at.
	check_cost(dir, "phase-a", 1000 * A_IN + 10 * A_OUT);

	// The report states both tables that priced the window's calls,
	// read from the store and asked of the daemon; a reprice of the
	// whole window under table B leaves only B.
	char va[32], vb[32], url[1100], line[128];
	table_version(dir, table_a, va, sizeof(va));
	table_version(dir, table_b, vb, sizeof(vb));
	assert_string_not_equal(va, vb);
	const char *both[] = { strcmp(va, vb) < 0 ? va : vb,
		strcmp(va, vb) < 0 ? vb : va, NULL };
	snprintf(line, sizeof(line),
	    "Price tables: %s, %s (several tables priced the window's calls)",
	    both[0], both[1]);
	harness_url(dir, url, sizeof(url));
	check_tables(dir, NULL, both, line);
	check_tables(dir, url, both, line);
	char pb[2048];
	snprintf(pb, sizeof(pb), "%s/table-b.txt", dir);
	e2e_write_file(pb, table_b);
	const char *rp[] = { harness_cli_bin(), "reprice", "--since",
		"2020-01-01", "--until", "2100-01-01", "--prices", pb,
		"--data-dir", dir, NULL };
	e2e_expect_run(rp, 0, "stored costs and rollups updated", NULL);
	const char *only_b[] = { vb, NULL };
	snprintf(line, sizeof(line), "Price table: %s\n", vb);
	check_tables(dir, NULL, only_b, line);
	check_tables(dir, url, only_b, line);
	check_cost(dir, "phase-a", 1000 * B_IN + 10 * B_OUT);

	// The service tier and platform a call states price it: gpt-4o-mini
	// in batch ($0.075 / $0.30) and on Azure ($0.165 / $0.66), from the
	// built-in table.
	e2e_send_one(dir, "openai", "gpt-4o-mini", "mini-batch",
	    LLMCOST_TIER_BATCH, NULL);
	check_cost(
	    dir, "mini-batch", 1000 * INT64_C(75000) + 10 * INT64_C(300000));
	e2e_send_one(dir, "openai", "gpt-4o-mini", "mini-azure",
	    LLMCOST_TIER_STANDARD, "azure");
	check_cost(
	    dir, "mini-azure", 1000 * INT64_C(165000) + 10 * INT64_C(660000));

	// check: every model is priced, then one that is not.
	const char *chk[] = { harness_cli_bin(), "prices", "--prices", path,
		"check", "--data-dir", dir, NULL };
	e2e_expect_run(chk, 0, "0 of 2 pairs unpriced", NULL);
	// A platform without an entry: gpt-4o-mini on Bedrock is unpriced,
	// and check counts that call (it reads each call's platform).
	e2e_send_one(dir, "openai", "gpt-4o-mini", "mini-bedrock",
	    LLMCOST_TIER_STANDARD, "bedrock");
	e2e_expect_run(chk, 1, "1 of 2 pairs unpriced", NULL);
	e2e_expect_run(chk, 1, "gpt-4o-mini", NULL);
	send_call(dir, "mystery-model-9", "phase-unknown");
	e2e_expect_run(chk, 1, "2 of 3 pairs unpriced", NULL);
	e2e_expect_run(chk, 1, "mystery-model-9", NULL);

	assert_int_equal(harness_daemon_stop(d, SIGTERM), 0);

	// A broken file stops the start, naming the file, line and field;
	// so does the CLI.
	e2e_write_file(path, table_broken);
	char dir2[2048];
	snprintf(dir2, sizeof(dir2), "%s/other", dir);
	const char *start[] = { harness_daemon_bin(), "--data-dir", dir2,
		"--prices-file", path, NULL };
	char want[2200];
	snprintf(want, sizeof(want), "%s:3: field valid_from", path);
	e2e_expect_run(start, 1, NULL, want);
	const char *list[]
	    = { harness_cli_bin(), "prices", "--prices", path, "list", NULL };
	e2e_expect_run(list, 1, NULL, want);
	harness_rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
