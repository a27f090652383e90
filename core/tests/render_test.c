// Tests for report rendering (core/render.c): the table, CSV and JSON of
// hand-built reports against exact expected text, and the sinks (a
// bounded buffer with snprintf's rules, a FILE, a failing FILE).  The
// expected text is written out literally, figures worked out by hand:
// these bytes are what `llmcost report` prints, and scripts parse them.
#include "testutil.h"

#include "prices.h"
#include "render.h"

// 2025-01-01T00:00:00Z in hours since the epoch.
#define H0 UINT32_C(482136)

// Three rows: a large one, one whose name needs CSV quoting, and calls
// without the dimension (one of them to a model with no price).
static query_row rows3[] = {
	{ .keys = { "search" },
	    .sum = { .calls = 1234567,
	        .error_calls = 2,
	        .usage = { [LLMCOST_IN_UNCACHED] = 12345000,
	            [LLMCOST_IN_CACHE_READ] = 678,
	            [LLMCOST_OUT_TEXT] = 1000 },
	        .input_tokens = 12345678,
	        .output_tokens = 1000,
	        // $0.00775: rounds half away from zero to $0.0078.
	        .cost_pusd = INT64_C(7750000000) } },
	{ .keys = { "a,b \"q\"" },
	    .sum = { .calls = 3,
	        .usage
	        = { [LLMCOST_IN_UNCACHED] = 10, [LLMCOST_OUT_TEXT] = 2 },
	        .input_tokens = 10,
	        .output_tokens = 2,
	        .cost_pusd = INT64_C(12345678901234567) } },
	{ .keys = { NULL },
	    .sum = { .calls = 1,
	        .unpriced_calls = 1,
	        .error_calls = 1,
	        .usage = { [LLMCOST_IN_UNCACHED] = 5 },
	        .input_tokens = 5 } },
};

static query_unpriced unpriced1[] = {
	{ .provider = "acme", .model = "mystery-1", .calls = 1 },
};

// A result by dim over hours from H0, with these rows and total.
static query_result
make_report(report_dim dim, uint32_t hours, query_row *rows, size_t n_rows,
    query_sums total)
{
	query_result r;

	memset(&r, 0, sizeof(r));
	query_spec_init(&r.spec);
	r.spec.by[0].dim = dim;
	r.spec.from_ns = (uint64_t) H0 * 3600 * 1000000000u;
	r.spec.to_ns = (uint64_t) (H0 + hours) * 3600 * 1000000000u;
	r.rows = rows;
	r.n_rows = n_rows;
	r.total = total;
	return (r);
}

static query_result
report3(void)
{
	query_result r = make_report(REPORT_BY_FEATURE, 24, rows3, 3,
	    (query_sums) { .calls = 1234571,
	        .unpriced_calls = 1,
	        .error_calls = 3,
	        .usage = { [LLMCOST_IN_UNCACHED] = 12345015,
	            [LLMCOST_IN_CACHE_READ] = 678,
	            [LLMCOST_OUT_TEXT] = 1002 },
	        .input_tokens = 12345693,
	        .output_tokens = 1002,
	        .cost_pusd = INT64_C(12345686651234567) });

	r.unpriced = unpriced1;
	r.n_unpriced = 1;
	r.dropped = 3;
	return (r);
}

static const char table3[] = "\n"
                             "Feature                      Calls    Input "
                             "Tok   Output Tok    Est. Cost\n"
                             "-------------------------------------------"
                             "------------------------------\n"
                             "search                    1,234,567   "
                             "12,345,678        1,000      $0.0078\n"
                             "a,b \"q\"                          3        "
                             "   10            2  $12345.6789\n"
                             "untagged                         1         "
                             "   5            0     $0.0000*\n"
                             "-------------------------------------------"
                             "------------------------------\n"
                             "total                     1,234,571   "
                             "12,345,693        1,002 $12345.6867*\n"
                             "\n"
                             "Window: 2025-01-01T00:00:00Z .. "
                             "2025-01-02T00:00:00Z (UTC)\n"
                             "* leaves out calls to models with no price:\n"
                             "    acme/mystery-1: 1 calls\n"
                             "! clients dropped 3 calls before they reached "
                             "the collector (queue full):\n"
                             "  the figures above miss them.\n";

static const char csv3[]
    = "feature,calls,input_tokens,output_tokens,estimated_cost_usd,"
      "unpriced_calls,error_calls,fee_cost_usd,web_search_requests,"
      "provider_cost_usd,provider_cost_calls,usage_missing_calls,"
      "usage_partial_calls,other\n"
      "search,1234567,12345678,1000,0.007750000000,0,2,0.000000000000,0,,"
      "0,0,0,0\n"
      "\"a,b \"\"q\"\"\",3,10,2,12345.678901234567,0,0,0.000000000000,0,"
      ",0,0,0,0\n"
      "untagged,1,5,0,0.000000000000,1,1,0.000000000000,0,,0,0,0,0\n";

// Renders r into a buffer big enough; returns a malloc'd string.
static char *
render_str(const query_result *r, render_format fmt)
{
	static char buf[1 << 16];
	render_sink s;

	render_sink_buffer(&s, buf, sizeof(buf));
	LLMCOST_PASS(render_query(r, fmt, &s));
	assert_int_equal(s.len, strlen(buf));
	return (strdup(buf));
}

// want, with the price table line of the table and JSON formats (in a
// static buffer, valid until the next call).
static const char *
full_of(render_format fmt, const char *want)
{
	static char full[65536];
	const char *v = prices_table_version(prices_builtin_table());
	if (fmt == RENDER_TABLE) {
		// Right after the window line.
		const char *w = strstr(want, "\nWindow: ");
		assert_non_null(w);
		const char *nl = strchr(w + 1, '\n');
		assert_non_null(nl);
		size_t at = (size_t) (nl + 1 - want);
		snprintf(full, sizeof(full),
		    "%.*sPrice table: none (no calls in the window)\n%s",
		    (int) at, want, want + at);
	} else if (fmt == RENDER_JSON) {
		const char *end = strrchr(want, '}');
		assert_non_null(end);
		size_t at = (size_t) (end - want) - 1; // before "\n}"
		snprintf(full, sizeof(full),
		    "%.*s,\n  \"price_table\": null,\n  \"price_tables\": "
		    "[],\n  \"price_tables_unknown\": false,\n  "
		    "\"price_table_in_force\": \"%s\"%s",
		    (int) at, want, v, want + at);
	} else {
		snprintf(full, sizeof(full), "%s", want);
	}
	return (full);
}

static void
check(const query_result *r, render_format fmt, const char *want)
{
	char *got = render_str(r, fmt);
	const char *full = full_of(fmt, want);
	if (strcmp(got, full) != 0) {
		fail_msg("rendered:\n%s\nwant:\n%s", got, full);
	}
	free(got);
}

static void
test_table(void **state)
{
	(void) state;
	query_result r = report3();
	check(&r, RENDER_TABLE, table3);
}

static void
test_table_wide_names(void **state)
{
	(void) state;
	// Names past 25 bytes widen the column, up to 60; longer ones are
	// cut at 60.  By model, so the header says "Model".
	static query_row rows[] = {
		{ .keys = { "a-model-name-of-thirty-bytes!!" },
		    .sum = { .calls = 1, .cost_pusd = 1 } },
		{ .keys
		    = { "x123456789x123456789x123456789x123456789x123456789x"
		        "123456789-cut-here" },
		    .sum = { .calls = 1 } },
	};
	query_result r = make_report(REPORT_BY_MODEL, 1, rows, 2,
	    (query_sums) { .calls = 2, .cost_pusd = 1 });
	check(&r, RENDER_TABLE,
	    "\n"
	    "Model                                                           "
	    "Calls    Input Tok   Output Tok    Est. Cost\n"
	    "--------------------------------------------------------------"
	    "----------------------------------------------\n"
	    "a-model-name-of-thirty-bytes!!                                 "
	    "     1            0            0      $0.0000\n"
	    "x123456789x123456789x123456789x123456789x123456789x123456789 "
	    "       1            0            0      $0.0000\n"
	    "--------------------------------------------------------------"
	    "----------------------------------------------\n"
	    "total                                                          "
	    "     2            0            0      $0.0000\n"
	    "\n"
	    "Window: 2025-01-01T00:00:00Z .. 2025-01-01T01:00:00Z (UTC)\n");
}

// A provider cost adds its column (a row without one shows "-", never
// $0); calls whose usage was missing or partial mark the cost '?' and are
// counted below the table.
static void
test_table_extras(void **state)
{
	(void) state;
	static query_row rows[] = {
		{ .keys = { "chat" },
		    .sum = { .calls = 4,
		        .input_tokens = 100,
		        .output_tokens = 10,
		        .cost_pusd = INT64_C(1500000000),
		        .provider_cost_calls = 3,
		        .provider_cost_pusd = INT64_C(1400000000),
		        .usage_partial_calls = 1 } },
		{ .keys = { "search" },
		    .sum = { .calls = 2,
		        .cost_pusd = INT64_C(20000000000),
		        .usage_missing_calls = 2 } },
	};
	query_result r = make_report(REPORT_BY_FEATURE, 1, rows, 2,
	    (query_sums) { .calls = 6,
	        .input_tokens = 100,
	        .output_tokens = 10,
	        .cost_pusd = INT64_C(21500000000),
	        .provider_cost_calls = 3,
	        .provider_cost_pusd = INT64_C(1400000000),
	        .usage_missing_calls = 2,
	        .usage_partial_calls = 1 });
	check(&r, RENDER_TABLE,
	    "\n"
	    "Feature                      Calls    Input Tok   Output Tok    "
	    "Est. Cost Provider Cost\n"
	    "-----------------------------------------------------------------"
	    "--"
	    "--------------------\n"
	    "chat                             4          100           10     "
	    "$0.0015?       $0.0014\n"
	    "search                           2            0            0     "
	    "$0.0200?             -\n"
	    "-----------------------------------------------------------------"
	    "--"
	    "--------------------\n"
	    "total                            6          100           10     "
	    "$0.0215?       $0.0014\n"
	    "\n"
	    "Window: 2025-01-01T00:00:00Z .. 2025-01-01T01:00:00Z (UTC)\n"
	    "? 2 calls ended without usage (aborted streams): their cost is "
	    "unknown\n"
	    "? 1 calls were cut short with partial usage: their cost counts "
	    "only the usage reported\n"
	    "Provider Cost: the providers' own figures, for the 3 of 6 calls "
	    "that reported one\n");
}

static void
test_csv(void **state)
{
	(void) state;
	query_result r = report3();
	check(&r, RENDER_CSV, csv3);
}

// One row of the JSON report as render.c writes it, at indent ind, after
// its key columns: the members written out here rather than taken from
// render.c, so that a change to a key or its order fails this test; the
// usage keys in the order of the table in llmcost.h.
typedef struct json_want {
	unsigned calls, in, out;
	const char *cost_usd, *cost_pusd;
	unsigned unpriced, errors;
	uint64_t usage[10];
	unsigned web_search;
	const char *fee_usd, *fee_pusd;
	const char *pc_usd, *pc_pusd; // "null" or a quoted amount
	unsigned pc_calls, missing, partial;
} json_want;

static void
json_row_want(char *buf, size_t cap, const char *ind, const json_want *w)
{
	static const char *const keys[10]
	    = { "input_uncached", "input_cache_read", "input_cache_write_5m",
		      "input_cache_write_1h", "input_audio", "input_image",
		      "output_text", "output_reasoning", "output_audio",
		      "output_image" };
	size_t n;

	assert_int_equal(LLMCOST_BUCKET_COUNT, 10);
	n = (size_t) snprintf(buf, cap,
	    "%s\"calls\": %u,\n%s\"input_tokens\": %u,\n"
	    "%s\"output_tokens\": %u,\n%s\"cost_usd\": \"%s\",\n"
	    "%s\"cost_pusd\": \"%s\",\n%s\"unpriced_calls\": %u,\n"
	    "%s\"error_calls\": %u,\n%s\"usage\": {\n",
	    ind, w->calls, ind, w->in, ind, w->out, ind, w->cost_usd, ind,
	    w->cost_pusd, ind, w->unpriced, ind, w->errors, ind);
	for (int i = 0; i < 10; i++) {
		n += (size_t) snprintf(buf + n, cap - n,
		    "%s  \"%s\": %llu%s\n", ind, keys[i],
		    (unsigned long long) w->usage[i], i < 9 ? "," : "");
		assert_true(n < cap);
	}
	n += (size_t) snprintf(buf + n, cap - n,
	    "%s},\n%s\"fees\": {\n%s  \"web_search_requests\": %u\n%s},\n"
	    "%s\"fee_cost_usd\": \"%s\",\n%s\"fee_cost_pusd\": \"%s\",\n"
	    "%s\"provider_cost_usd\": %s,\n%s\"provider_cost_pusd\": %s,\n"
	    "%s\"provider_cost_calls\": %u,\n"
	    "%s\"usage_missing_calls\": %u,\n"
	    "%s\"usage_partial_calls\": %u\n",
	    ind, ind, ind, w->web_search, ind, ind, w->fee_usd, ind,
	    w->fee_pusd, ind, w->pc_usd, ind, w->pc_pusd, ind, w->pc_calls,
	    ind, w->missing, ind, w->partial);
	assert_true(n < cap);
}

static void
test_json(void **state)
{
	(void) state;
	static query_row rows[] = {
		{ .keys = { "gpt-4o" },
		    .sum = { .calls = 2,
		        .usage = { [LLMCOST_IN_UNCACHED] = 1000,
		            [LLMCOST_IN_CACHE_READ] = 200,
		            [LLMCOST_OUT_TEXT] = 500 },
		        .input_tokens = 1200,
		        .output_tokens = 500,
		        .cost_pusd = INT64_C(7750000000),
		        .fees = { [LLMCOST_FEE_WEB_SEARCH] = 3 },
		        .fee_cost_pusd = INT64_C(5000000000),
		        .provider_cost_calls = 1,
		        .provider_cost_pusd = INT64_C(1234567) } },
		{ .keys = { NULL },
		    .sum = { .calls = 1,
		        .unpriced_calls = 1,
		        .error_calls = 1,
		        .usage = { [LLMCOST_OUT_REASONING] = 7 },
		        .output_tokens = 7,
		        .usage_missing_calls = 1 } },
	};
	query_result r = make_report(REPORT_BY_MODEL, 24, rows, 2,
	    (query_sums) { .calls = 3,
	        .unpriced_calls = 1,
	        .error_calls = 1,
	        .usage = { [LLMCOST_IN_UNCACHED] = 1000,
	            [LLMCOST_IN_CACHE_READ] = 200,
	            [LLMCOST_OUT_TEXT] = 500,
	            [LLMCOST_OUT_REASONING] = 7 },
	        .input_tokens = 1200,
	        .output_tokens = 507,
	        .cost_pusd = INT64_C(7750000000),
	        .fees = { [LLMCOST_FEE_WEB_SEARCH] = 3 },
	        .fee_cost_pusd = INT64_C(5000000000),
	        .provider_cost_calls = 1,
	        .provider_cost_pusd = INT64_C(1234567),
	        .usage_missing_calls = 1 });
	static const json_want want_rows[3] = {
		{ 2, 1200, 500, "0.007750000000", "7750000000", 0, 0,
		    { 1000, 200, 0, 0, 0, 0, 500 }, 3, "0.005000000000",
		    "5000000000", "\"0.000001234567\"", "\"1234567\"", 1, 0,
		    0 },
		{ 1, 0, 7, "0.000000000000", "0", 1, 1, { [7] = 7 }, 0,
		    "0.000000000000", "0", "null", "null", 0, 1, 0 },
		{ 3, 1200, 507, "0.007750000000", "7750000000", 1, 1,
		    { 1000, 200, 0, 0, 0, 0, 500, 7 }, 3, "0.005000000000",
		    "5000000000", "\"0.000001234567\"", "\"1234567\"", 1, 1,
		    0 },
	};
	char row[3][2048];
	char want[8192];

	r.unpriced = unpriced1;
	r.n_unpriced = 1;
	json_row_want(row[0], sizeof(row[0]), "      ", &want_rows[0]);
	json_row_want(row[1], sizeof(row[1]), "      ", &want_rows[1]);
	json_row_want(row[2], sizeof(row[2]), "    ", &want_rows[2]);
	snprintf(want, sizeof(want),
	    "{\n"
	    "  \"from\": \"2025-01-01T00:00:00Z\",\n"
	    "  \"to\": \"2025-01-02T00:00:00Z\",\n"
	    "  \"time_zone\": \"UTC\",\n"
	    "  \"every\": null,\n"
	    "  \"group_by\": [\n"
	    "    \"model\"\n"
	    "  ],\n"
	    "  \"where\": [],\n"
	    "  \"top\": null,\n"
	    "  \"rows\": [\n"
	    "    {\n"
	    "      \"model\": \"gpt-4o\",\n"
	    "      \"other\": false,\n"
	    "%s"
	    "    },\n"
	    "    {\n"
	    "      \"model\": null,\n"
	    "      \"other\": false,\n"
	    "%s"
	    "    }\n"
	    "  ],\n"
	    "  \"total\": {\n"
	    "%s"
	    "  },\n"
	    "  \"unpriced_models\": [\n"
	    "    {\n"
	    "      \"provider\": \"acme\",\n"
	    "      \"model\": \"mystery-1\",\n"
	    "      \"calls\": 1\n"
	    "    }\n"
	    "  ],\n"
	    "  \"dropped_calls\": 0,\n"
	    "  \"capped\": false,\n"
	    "  \"groups\": 0\n"
	    "}\n",
	    row[0], row[1], row[2]);
	check(&r, RENDER_JSON, want);
}

// No rows: a table with only the total, a CSV with only the header, JSON
// with empty lists.
static void
test_empty(void **state)
{
	(void) state;
	query_result r
	    = make_report(REPORT_BY_ENV, 2, NULL, 0, (query_sums) { 0 });
	check(&r, RENDER_TABLE,
	    "\n"
	    "Env                          Calls    Input Tok   Output Tok    "
	    "Est. Cost\n"
	    "-------------------------------------------------------------"
	    "------------\n"
	    "-------------------------------------------------------------"
	    "------------\n"
	    "total                            0            0            0    "
	    "  $0.0000\n"
	    "\n"
	    "Window: 2025-01-01T00:00:00Z .. 2025-01-01T02:00:00Z (UTC)\n");
	check(&r, RENDER_CSV,
	    "env,calls,input_tokens,output_tokens,estimated_cost_usd,"
	    "unpriced_calls,error_calls,fee_cost_usd,web_search_requests,"
	    "provider_cost_usd,provider_cost_calls,usage_missing_calls,"
	    "usage_partial_calls,other\n");
	char *json = render_str(&r, RENDER_JSON);
	assert_non_null(strstr(json, "  \"rows\": [],\n"));
	assert_non_null(strstr(json, "  \"unpriced_models\": [],\n"));
	assert_non_null(
	    strstr(json, "  \"group_by\": [\n    \"env\"\n  ],\n"));
	free(json);
}

// Two keys per day in Berlin across the spring change: a period column,
// a column per key, a bucket's "(other)" row, the notes for top and the
// cap, and the rounded rows that do not add up to the rounded total.
static query_row rows_ts[] = {
	{ .bucket = 1743202800, // 2025-03-29 00:00 +01:00
	    .bucket_end = 1743289200,
	    .bucket_off = 3600,
	    .bucket_end_off = 3600,
	    .keys = { "chat", "gpt-4o" },
	    .sum = { .calls = 1, .cost_pusd = INT64_C(40000000) } },
	{ .bucket = 1743202800,
	    .bucket_end = 1743289200,
	    .bucket_off = 3600,
	    .bucket_end_off = 3600,
	    .other = 1,
	    .sum = { .calls = 2, .cost_pusd = INT64_C(40000000) } },
	{ .bucket = 1743289200, // 2025-03-30: 23 hours
	    .bucket_end = 1743372000,
	    .bucket_off = 3600,
	    .bucket_end_off = 7200,
	    .keys = { "a,b", NULL },
	    .sum = { .calls = 1, .cost_pusd = INT64_C(40000000) } },
};

static query_result
report_ts(void)
{
	query_result r;

	memset(&r, 0, sizeof(r));
	query_spec_init(&r.spec);
	LLMCOST_PASS(query_key_parse("model", &r.spec.by[1]));
	r.spec.n_by = 2;
	LLMCOST_PASS(query_filter_parse("env!=dev", &r.spec.where[0]));
	r.spec.n_where = 1;
	r.spec.every = QUERY_EVERY_DAY;
	r.spec.top = 1;
	snprintf(r.spec.tz, sizeof(r.spec.tz), "Europe/Berlin");
	r.spec.from_ns = UINT64_C(1743202800) * 1000000000u;
	r.spec.to_ns = UINT64_C(1743372000) * 1000000000u;
	r.from_off = 3600;
	r.to_off = 7200;
	r.rows = rows_ts;
	r.n_rows = 3;
	r.total = (query_sums) { .calls = 4, .cost_pusd = INT64_C(120000000) };
	r.capped = 1;
	r.groups = 2;
	return (r);
}

static void
test_time_series(void **state)
{
	(void) state;
	query_result r = report_ts();
	// Each row is $0.00004, shown as $0.0000; the total $0.00012 is
	// $0.0001.
	check(&r, RENDER_TABLE,
	    "\n"
	    "Day        Feature    Model         Calls    Input Tok   Output "
	    "Tok    Est. Cost\n"
	    "-----------------------------------------------------------------"
	    "---------------\n"
	    "2025-03-29 chat       gpt-4o            1            0          "
	    "  0      $0.0000\n"
	    "2025-03-29 (other)    (other)           2            0          "
	    "  0      $0.0000\n"
	    "2025-03-30 a,b        untagged          1            0          "
	    "  0      $0.0000\n"
	    "-----------------------------------------------------------------"
	    "---------------\n"
	    "total                                   4            0          "
	    "  0      $0.0001\n"
	    "\n"
	    "Window: 2025-03-29T00:00:00+01:00 .. 2025-03-31T00:00:00+02:00 "
	    "(Europe/Berlin)\n"
	    "Where: env!=dev\n"
	    "Rounded to 4 decimals, the rows add up to $0.0000, the exact "
	    "total to $0.0001\n"
	    "  (--format csv or json shows every figure exactly).\n"
	    "(other) sums the groups outside the top 1.\n"
	    "! more than 2 groups: the rest are summed in (other);\n"
	    "  narrow the query with --where or a shorter window.\n");
	char *csv = render_str(&r, RENDER_CSV);
	assert_non_null(strstr(csv,
	    "period_start,period_end,feature,model,"
	    "calls,"));
	assert_non_null(strstr(csv,
	    "\n2025-03-30T00:00:00+01:00,2025-03-31T00:00:00+02:00,\"a,b\","
	    "untagged,1,0,0,0.000040000000,"));
	assert_non_null(strstr(csv,
	    "\n2025-03-29T00:00:00+01:00,2025-03-30T00:00:00+01:00,,,2,0,0,"
	    "0.000040000000,"));
	assert_non_null(strstr(csv, ",0,0,0,1\n"));
	free(csv);
	char *json = render_str(&r, RENDER_JSON);
	assert_non_null(strstr(json,
	    "      \"period_start\": \"2025-03-30T00:00:00+01:00\",\n"
	    "      \"period_end\": \"2025-03-31T00:00:00+02:00\",\n"
	    "      \"feature\": \"a,b\",\n"
	    "      \"model\": null,\n"
	    "      \"other\": false,\n"));
	assert_non_null(strstr(json, "  \"every\": \"day\",\n"));
	assert_non_null(strstr(json, "  \"time_zone\": \"Europe/Berlin\",\n"));
	assert_non_null(
	    strstr(json, "  \"where\": [\n    \"env!=dev\"\n  ],\n"));
	assert_non_null(strstr(json, "  \"top\": 1,\n"));
	assert_non_null(strstr(json, "  \"capped\": true,\n"));
	free(json);
}

// Hours show the offset, so the hour a clock change repeats reads twice
// with two offsets; a query without keys has one "All calls" column.
static void
test_hours_and_no_keys(void **state)
{
	(void) state;
	static query_row rows[] = {
		{ .bucket = 1761436800, // 2025-10-26 02:00 +02:00
		    .bucket_end = 1761440400,
		    .bucket_off = 7200,
		    .bucket_end_off = 3600,
		    .sum = { .calls = 1 } },
		{ .bucket = 1761440400, // 02:00 again, +01:00
		    .bucket_end = 1761444000,
		    .bucket_off = 3600,
		    .bucket_end_off = 3600,
		    .sum = { .calls = 1 } },
	};
	query_result r;
	memset(&r, 0, sizeof(r));
	query_spec_init(&r.spec);
	r.spec.n_by = 0;
	r.spec.every = QUERY_EVERY_HOUR;
	snprintf(r.spec.tz, sizeof(r.spec.tz), "Europe/Berlin");
	r.spec.from_ns = UINT64_C(1761436800) * 1000000000u;
	r.spec.to_ns = UINT64_C(1761444000) * 1000000000u;
	r.from_off = 7200;
	r.to_off = 3600;
	r.rows = rows;
	r.n_rows = 2;
	r.total = (query_sums) { .calls = 2 };
	char *t = render_str(&r, RENDER_TABLE);
	assert_non_null(strstr(t, "\n2025-10-26 02:00 +02:00        1 "));
	assert_non_null(strstr(t, "\n2025-10-26 02:00 +01:00        1 "));
	free(t);
	r.spec.every = QUERY_EVERY_NONE;
	r.n_rows = 1;
	r.total = rows[0].sum;
	rows[0].bucket = rows[0].bucket_end = 0;
	t = render_str(&r, RENDER_TABLE);
	assert_non_null(strstr(t, "\nAll calls                    Calls"));
	assert_non_null(strstr(t, "\nall                              1 "));
	assert_null(strstr(t, "Rounded"));
	free(t);
}

// A buffer sink keeps what fits, NUL-terminated, and counts the rest.
static void
test_buffer_sink(void **state)
{
	(void) state;
	query_result r = report3();
	size_t len = strlen(csv3);
	char *buf = malloc(len + 16);
	render_sink s;

	assert_non_null(buf);
	// Exactly enough room.
	render_sink_buffer(&s, buf, len + 1);
	LLMCOST_PASS(render_query(&r, RENDER_CSV, &s));
	assert_int_equal(s.len, len);
	assert_string_equal(buf, csv3);
	// One byte short: truncated, terminated, and the needed length.
	memset(buf, 'Z', len + 16);
	render_sink_buffer(&s, buf, len);
	LLMCOST_FAIL(render_query(&r, RENDER_CSV, &s), LLMCOST_ETOOBIG);
	assert_int_equal(s.len, len);
	assert_int_equal(strlen(buf), len - 1);
	assert_memory_equal(buf, csv3, len - 1);
	assert_int_equal(buf[len], 'Z'); // nothing written past cap
	// Far too small, and count-only.
	render_sink_buffer(&s, buf, 10);
	LLMCOST_FAIL(render_query(&r, RENDER_TABLE, &s), LLMCOST_ETOOBIG);
	assert_int_equal(s.len, strlen(full_of(RENDER_TABLE, table3)));
	assert_string_equal(buf, "\nFeature "); // 9 bytes and the NUL
	render_sink_buffer(&s, NULL, 0);
	LLMCOST_FAIL(render_query(&r, RENDER_TABLE, &s), LLMCOST_ETOOBIG);
	assert_int_equal(s.len, strlen(full_of(RENDER_TABLE, table3)));
	// Bad arguments.
	render_sink_buffer(&s, buf, len + 1);
	LLMCOST_FAIL(render_query(NULL, RENDER_CSV, &s), LLMCOST_EINVAL);
	LLMCOST_FAIL(render_query(&r, RENDER_CSV, NULL), LLMCOST_EINVAL);
	LLMCOST_FAIL(render_query(&r, (render_format) 99, &s), LLMCOST_EINVAL);
	free(buf);
}

// A FILE sink writes the same bytes; a FILE that cannot be written is an
// error, not a silent success.
static void
test_file_sink(void **state)
{
	(void) state;
	query_result r = report3();
	render_sink s;
	char got[4096];
	FILE *f = tmpfile();

	assert_non_null(f);
	render_sink_file(&s, f);
	LLMCOST_PASS(render_query(&r, RENDER_TABLE, &s));
	LLMCOST_PASS(render_query(&r, RENDER_CSV, &s)); // appends
	const char *t3 = full_of(RENDER_TABLE, table3);
	assert_int_equal(s.len, strlen(t3) + strlen(csv3));
	rewind(f);
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	assert_int_equal(n, strlen(t3) + strlen(csv3));
	assert_memory_equal(got, t3, strlen(t3));
	assert_string_equal(got + strlen(t3), csv3);
	fclose(f);

	FILE *ro = fopen("/dev/null", "r");
	assert_non_null(ro);
	for (int fmt = RENDER_TABLE; fmt <= RENDER_JSON; fmt++) {
		render_sink_file(&s, ro);
		LLMCOST_FAIL(render_query(&r, (render_format) fmt, &s),
		    LLMCOST_ESYSTEM);
	}
	fclose(ro);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_table_wide_names),
		cmocka_unit_test(test_table_extras),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_time_series),
		cmocka_unit_test(test_hours_and_no_keys),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_buffer_sink),
		cmocka_unit_test(test_file_sink),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
