// Tests for price files: the reader's errors (file, line and field for
// every kind of fault), exact decimals, the writer read back, the stable
// ids of the first built-in table, and the importers on the real LiteLLM
// and Langfuse tables (copies in core/tests/data, MIT, with their
// notices): every chat model with token prices loads, skipped fields are
// listed, and the known data errors are flagged.
#define _GNU_SOURCE
#include "testutil.h"

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <time.h>

#include "prices.h"
#include "prices_import.h"

static int
build1(const char *text, prices_table **t, char *err, size_t errsz)
{
	prices_source s = { "test.txt", text, strlen(text), 0 };
	return (prices_table_build(&s, 1, t, err, errsz));
}

#define GOOD                                                                  \
	"entry 7 openai gpt-4o\n"                                             \
	"valid_from 2024-01-01\n"                                             \
	"source https://example.com/prices\n"                                 \
	"standard input_uncached=2.5 output_text=10\n"

static void
test_errors(void **state)
{
	(void) state;
	static const struct {
		const char *text;
		const char *want; // in the error
	} cases[] = {
		{ "standard input_uncached=1\n",
		    "test.txt:1: field entry: 'standard' before the first" },
		{ "# c\n\nentry x openai gpt-4o\n", "test.txt:3: field id:" },
		{ "entry 0 openai gpt-4o\n", "test.txt:1: field id:" },
		{ "entry 1 OpenAI gpt-4o\n", "test.txt:1: field provider:" },
		{ "entry 1 openai\n", "test.txt:1: field model:" },
		{ "entry 1 openai a b\n",
		    "test.txt:1: field model: unexpected" },
		{ "entry 1 openai m\nvalid_from 2024-02-30\n",
		    "test.txt:2: field valid_from:" },
		{ "entry 1 openai m\nvalid_from 2024-01-01T10:00Z\n",
		    "test.txt:2: field valid_from:" },
		{ "entry 1 openai m\nvalid_from 2024-01-01\nvalid_from "
		  "2024-01-02\n",
		    "test.txt:3: field valid_from: given twice" },
		{ "entry 1 openai m\nsource\n",
		    "test.txt:2: field source: empty" },
		{ "entry 1 openai m\nmatch fuzzy\n",
		    "test.txt:2: field match:" },
		{ "entry 1 openai gpt.*\nmatch pattern\n",
		    "test.txt:2: field match: a pattern must be anchored" },
		{ "entry 1 openai ^gpt-(4$\nmatch pattern\nvalid_from "
		  "2024-01-01\nsource s\nstandard input_uncached=1\n",
		    "test.txt:1: field model: not a POSIX extended regex" },
		{ "entry 1 openai m\nplatform Vertex\n",
		    "test.txt:2: field platform:" },
		{ "entry 1 openai m\nstandard input=1\n",
		    "test.txt:2: field input: unknown usage bucket" },
		{ "entry 1 openai m\nstandard input_uncached=0.0000001\n",
		    "test.txt:2: field input_uncached: '0.0000001' is not a "
		    "price" },
		{ "entry 1 openai m\nstandard input_uncached=-1\n",
		    "test.txt:2: field input_uncached:" },
		{ "entry 1 openai m\nstandard input_uncached=1e-6\n",
		    "test.txt:2: field input_uncached:" },
		{ "entry 1 openai m\nstandard input_uncached=1 "
		  "input_uncached=2\n",
		    "test.txt:2: field input_uncached: given twice" },
		{ "entry 1 openai m\nstandard input_uncached\n",
		    "test.txt:2: field standard: 'input_uncached' is not "
		    "bucket=price" },
		{ "entry 1 openai m\nbatch >abc input_uncached=1\n",
		    "test.txt:2: field batch: '>abc'" },
		{ "entry 1 openai m\nstandard\n",
		    "test.txt:2: field standard: no prices" },
		{ "entry 1 openai m\nstandard input_uncached=1\nstandard "
		  "output_text=1\n",
		    "test.txt:3: field standard: a second line" },
		{ "entry 1 openai m\nfee web_search_requests=x\n",
		    "test.txt:2: field web_search_requests:" },
		{ "entry 1 openai m\nfee searches=1\n",
		    "test.txt:2: field fee:" },
		{ "entry 1 openai m\nflavour sweet\n",
		    "test.txt:2: field entry: unknown field 'flavour'" },
		{ "entry 1 openai m\nsource s\nstandard input_uncached=1\n",
		    "test.txt:1: field valid_from: entry 1 has no "
		    "valid_from" },
		{ "entry 1 openai m\nvalid_from 2024-01-01\nstandard "
		  "input_uncached=1\n",
		    "test.txt:1: field source: entry 1 has no source" },
		{ "entry 1 openai m\nvalid_from 2024-01-01\nsource s\n",
		    "test.txt:1: field standard: entry 1 has no prices" },
		{ "entry 1 openai m\nvalid_from 2024-01-01\nsource s\nbatch "
		  ">10 input_uncached=1\n",
		    "test.txt:1: field batch: entry 1 has prices above 10" },
		{ GOOD GOOD,
		    "test.txt:5: field id: id 7 is already used by "
		    "test.txt:1" },
		{ GOOD "entry 8 openai gpt-4o\nvalid_from 2024-01-01\nsource "
		       "s\nstandard input_uncached=1\n",
		    "test.txt:5: field valid_from: a second entry for openai "
		    "gpt-4o" },
		{ "entry 1 openai m\n\x01\n",
		    "test.txt:2: field line: a "
		    "control character" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		prices_table *t = NULL;
		char err[PRICES_ERR_MAX] = "";
		int rv = build1(cases[i].text, &t, err, sizeof(err));
		if (rv == 0 || t != NULL
		    || strstr(err, cases[i].want) == NULL) {
			fail_msg("case %zu: rv %d, error \"%s\", want \"%s\"",
			    i, rv, err, cases[i].want);
		}
	}
	// The overrides file is named in its errors, and its ids may not
	// reuse the built-in ones.
	prices_source src[2] = {
		{ "base.txt", GOOD, strlen(GOOD), 0 },
		{ "mine.txt", "# mine\n" GOOD, strlen(GOOD) + 7, 1 },
	};
	prices_table *t = NULL;
	char err[PRICES_ERR_MAX];
	LLMCOST_FAIL(
	    prices_table_build(src, 2, &t, err, sizeof(err)), LLMCOST_EPROTO);
	assert_non_null(strstr(err,
	    "base.txt:1: field id: id 7 is already "
	    "used by mine.txt:2"));
	// A line over the cap.
	char *big = malloc(PRICES_MAX_LINE + 64);
	assert_non_null(big);
	memset(big, '#', PRICES_MAX_LINE + 10);
	big[PRICES_MAX_LINE + 10] = '\0';
	LLMCOST_FAIL(build1(big, &t, err, sizeof(err)), LLMCOST_ETOOBIG);
	assert_non_null(strstr(err, "test.txt:1: field line: longer than"));
	free(big);
	// A missing overrides file.
	LLMCOST_FAIL(
	    prices_table_load("/nonexistent/prices.txt", &t, err, sizeof(err)),
	    LLMCOST_ENOTFOUND);
	assert_non_null(strstr(err, "/nonexistent/prices.txt: cannot open"));
}

static void
test_decimal(void **state)
{
	(void) state;
	static const struct {
		const char *s;
		unsigned scale;
		int64_t want; // -1: refused
	} cases[] = {
		{ "2.5", 6, 2500000 },
		{ "0.01875", 6, 18750 },
		{ "0.000001", 6, 1 },
		{ "0.0000010", 6, 1 },
		{ "0.0000011", 6, -1 },
		{ "10", 6, 10000000 },
		{ "0.035", 12, 35000000000 },
		{ "9223372.036854775807", 12, INT64_MAX },
		{ "9223372.036854775808", 12, -1 },
		{ "1.", 6, -1 },
		{ ".5", 6, 500000 },
		{ "", 6, -1 },
		{ "1.2.3", 6, -1 },
		{ "+1", 6, -1 },
		{ "1e3", 6, -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -42;
		int rv = prices_decimal(
		    cases[i].s, strlen(cases[i].s), cases[i].scale, &v);
		if (cases[i].want < 0 ? rv == 0
		                      : (rv != 0 || v != cases[i].want)) {
			fail_msg("'%s' at %u: rv %d value %lld", cases[i].s,
			    cases[i].scale, rv, (long long) v);
		}
		char buf[48];
		if (cases[i].want >= 0) {
			int64_t back;
			LLMCOST_PASS(prices_format_decimal(
			    v, cases[i].scale, buf, sizeof(buf)));
			assert_int_equal(prices_decimal(buf, strlen(buf),
			                     cases[i].scale, &back),
			    0);
			assert_int_equal(back, v);
		}
	}
}

// Every built-in entry, written and read back, is the same entry.
static void
test_write_read_back(void **state)
{
	(void) state;
	size_t n;
	const price_entry *e = prices_builtin(&n);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		LLMCOST_PASS(prices_write_entry(f, &e[i]));
	}
	fclose(f);
	prices_table *t = NULL;
	char err[PRICES_ERR_MAX];
	prices_source s = { "back.txt", text, len, 0 };
	if (prices_table_build(&s, 1, &t, err, sizeof(err)) != 0) {
		fail_msg("%s", err);
	}
	size_t m;
	const price_entry *b = prices_table_entries(t, &m);
	assert_int_equal(m, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(b[i].id, e[i].id);
		assert_string_equal(b[i].model, e[i].model);
		assert_string_equal(b[i].platform, e[i].platform);
		assert_string_equal(b[i].source, e[i].source);
		assert_int_equal(b[i].valid_from, e[i].valid_from);
		assert_int_equal(b[i].match, e[i].match);
		assert_int_equal(b[i].nsets, e[i].nsets);
		assert_memory_equal(
		    b[i].sets, e[i].sets, sizeof(price_set) * e[i].nsets);
		assert_memory_equal(
		    b[i].fee_pusd, e[i].fee_pusd, sizeof(e[i].fee_pusd));
	}
	assert_string_not_equal(prices_table_version(t),
	    prices_table_version(prices_builtin_table()));
	prices_table_free(t);
	free(text);
}

// Stored runs name their price entry by id: the first table's 60 ids
// keep their (provider, model, valid_from).
static void
test_stable_ids(void **state)
{
	(void) state;
	static const struct {
		uint32_t id;
		const char *provider, *model, *from;
	} ids[] = {
		{ 1, "anthropic", "claude-3-5-haiku-20241022", "2023-01-01" },
		{ 2, "anthropic", "claude-3-5-sonnet-20241022", "2023-01-01" },
		{ 3, "anthropic", "claude-3-7-sonnet-20250219", "2023-01-01" },
		{ 4, "anthropic", "claude-haiku-4-5", "2023-01-01" },
		{ 5, "anthropic", "claude-haiku-4-5-20251001", "2023-01-01" },
		{ 6, "anthropic", "claude-opus-4-1", "2023-01-01" },
		{ 7, "anthropic", "claude-opus-4-1-20250805", "2023-01-01" },
		{ 8, "anthropic", "claude-opus-4-20250514", "2023-01-01" },
		{ 9, "anthropic", "claude-opus-4-5", "2023-01-01" },
		{ 10, "anthropic", "claude-opus-4-5-20251101", "2023-01-01" },
		{ 11, "anthropic", "claude-sonnet-4-20250514", "2023-01-01" },
		{ 12, "anthropic", "claude-sonnet-4-5", "2023-01-01" },
		{ 13, "anthropic", "claude-sonnet-4-5-20250929",
		    "2023-01-01" },
		{ 14, "anthropic", "claude-sonnet-4-6", "2023-01-01" },
		{ 15, "anthropic", "claude-sonnet-4-6", "2026-03-13" },
		{ 16, "google", "gemini-2.0-flash", "2023-01-01" },
		{ 17, "google", "gemini-2.0-flash-001", "2023-01-01" },
		{ 18, "google", "gemini-2.0-flash-lite", "2023-01-01" },
		{ 19, "google", "gemini-2.0-flash-lite-001", "2023-01-01" },
		{ 20, "google", "gemini-2.5-flash", "2023-01-01" },
		{ 21, "google", "gemini-2.5-flash-lite", "2023-01-01" },
		{ 22, "google", "gemini-2.5-pro", "2023-01-01" },
		{ 23, "openai", "gpt-4-turbo", "2023-01-01" },
		{ 24, "openai", "gpt-4-turbo-2024-04-09", "2023-01-01" },
		{ 25, "openai", "gpt-4.1", "2023-01-01" },
		{ 26, "openai", "gpt-4.1-2025-04-14", "2023-01-01" },
		{ 27, "openai", "gpt-4.1-mini", "2023-01-01" },
		{ 28, "openai", "gpt-4.1-mini-2025-04-14", "2023-01-01" },
		{ 29, "openai", "gpt-4.1-nano", "2023-01-01" },
		{ 30, "openai", "gpt-4.1-nano-2025-04-14", "2023-01-01" },
		{ 31, "openai", "gpt-4o", "2023-01-01" },
		{ 32, "openai", "gpt-4o-2024-05-13", "2023-01-01" },
		{ 33, "openai", "gpt-4o-2024-08-06", "2023-01-01" },
		{ 34, "openai", "gpt-4o-2024-11-20", "2023-01-01" },
		{ 35, "openai", "gpt-4o-mini", "2023-01-01" },
		{ 36, "openai", "gpt-4o-mini-2024-07-18", "2023-01-01" },
		{ 37, "openai", "gpt-5", "2023-01-01" },
		{ 38, "openai", "gpt-5-2025-08-07", "2023-01-01" },
		{ 39, "openai", "gpt-5-mini", "2023-01-01" },
		{ 40, "openai", "gpt-5-mini-2025-08-07", "2023-01-01" },
		{ 41, "openai", "gpt-5-nano", "2023-01-01" },
		{ 42, "openai", "gpt-5-nano-2025-08-07", "2023-01-01" },
		{ 43, "openai", "gpt-5.1", "2023-01-01" },
		{ 44, "openai", "gpt-5.1-2025-11-13", "2023-01-01" },
		{ 45, "openai", "gpt-5.2", "2023-01-01" },
		{ 46, "openai", "gpt-5.2-2025-12-11", "2023-01-01" },
		{ 47, "openai", "gpt-5.4", "2023-01-01" },
		{ 48, "openai", "gpt-5.4-2026-03-05", "2023-01-01" },
		{ 49, "openai", "gpt-5.5", "2023-01-01" },
		{ 50, "openai", "gpt-5.5-2026-04-23", "2023-01-01" },
		{ 51, "openai", "o1", "2023-01-01" },
		{ 52, "openai", "o1-2024-12-17", "2023-01-01" },
		{ 53, "openai", "o3", "2023-01-01" },
		{ 54, "openai", "o3", "2025-06-10" },
		{ 55, "openai", "o3-2025-04-16", "2023-01-01" },
		{ 56, "openai", "o3-2025-04-16", "2025-06-10" },
		{ 57, "openai", "o3-mini", "2023-01-01" },
		{ 58, "openai", "o3-mini-2025-01-31", "2023-01-01" },
		{ 59, "openai", "o4-mini", "2023-01-01" },
		{ 60, "openai", "o4-mini-2025-04-16", "2023-01-01" },
	};
	size_t n;
	const price_entry *e = prices_builtin(&n);
	for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
		const price_entry *f = NULL;
		for (size_t i = 0; i < n; i++) {
			if (e[i].id == ids[k].id) {
				f = &e[i];
			}
		}
		assert_non_null(f);
		char from[16];
		time_t vf = (time_t) f->valid_from;
		struct tm tm;
		gmtime_r(&vf, &tm);
		strftime(from, sizeof(from), "%Y-%m-%d", &tm);
		assert_string_equal(f->provider, ids[k].provider);
		assert_string_equal(f->model, ids[k].model);
		assert_string_equal(f->platform, "");
		assert_string_equal(from, ids[k].from);
	}
}

static char *
data_path(const char *rel)
{
	const char *root = getenv("LLMCOST_SOURCE_DIR");
	char *p = NULL;
	if (root == NULL) {
		fail_msg("LLMCOST_SOURCE_DIR is not set (run through ctest)");
	}
	assert_true(asprintf(&p, "%s/core/tests/data/%s", root, rel) > 0);
	return (p);
}

typedef struct imported {
	char *out, *log;
	size_t outlen, loglen;
	prices_import imp;
	prices_table *t;
} imported;

static void
run_import(imported *r, const char *litellm, const char *langfuse)
{
	FILE *out = open_memstream(&r->out, &r->outlen);
	FILE *log = open_memstream(&r->log, &r->loglen);
	char err[512];

	assert_non_null(out);
	assert_non_null(log);
	prices_import_init(&r->imp, out, log, 1000000, INT64_C(1784851200));
	if (litellm != NULL) {
		char *p = data_path(litellm);
		LLMCOST_PASS(
		    prices_import_litellm(&r->imp, p, err, sizeof(err)));
		free(p);
	}
	if (langfuse != NULL) {
		char *p = data_path(langfuse);
		LLMCOST_PASS(
		    prices_import_langfuse(&r->imp, p, err, sizeof(err)));
		free(p);
	}
	prices_import_summary(&r->imp);
	fclose(out);
	fclose(log);
	// The output is a valid price file, and an overrides file beside
	// the built-in one (its ids start at 1000000).
	prices_source src[1] = { { "imported.txt", r->out, r->outlen, 1 } };
	char berr[PRICES_ERR_MAX];
	if (prices_table_build(src, 1, &r->t, berr, sizeof(berr)) != 0) {
		fail_msg("the import does not read back: %s", berr);
	}
	size_t n;
	prices_table_entries(r->t, &n);
	assert_int_equal(n, r->imp.entries);
}

static void
free_import(imported *r)
{
	prices_import_fini(&r->imp);
	prices_table_free(r->t);
	free(r->out);
	free(r->log);
}

static void
must_log(const imported *r, const char *line)
{
	if (strstr(r->log, line) == NULL) {
		fail_msg("the import's log lacks \"%s\"", line);
	}
}

static void
test_import_litellm(void **state)
{
	(void) state;
	imported r;
	memset(&r, 0, sizeof(r));
	run_import(&r, "litellm/model_prices_and_context_window.json", NULL);

	// Every chat model with token prices is written, or skipped only
	// because an earlier key names the same model.
	char *p = data_path("litellm/model_prices_and_context_window.json");
	json_error_t je;
	json_t *root = json_load_file(p, 0, &je);
	free(p);
	assert_non_null(root);
	const char *key;
	json_t *v;
	size_t chat = 0, dups = 0;
	json_object_foreach(root, key, v)
	{
		const char *mode
		    = json_string_value(json_object_get(v, "mode"));
		if (mode == NULL
		    || (strcmp(mode, "chat") != 0
		        && strcmp(mode, "responses") != 0
		        && strcmp(mode, "completion") != 0
		        && strcmp(mode, "realtime") != 0)
		    || !json_is_number(
		        json_object_get(v, "input_cost_per_token"))
		    || !json_is_number(
		        json_object_get(v, "output_cost_per_token"))) {
			continue;
		}
		chat++;
		char src[1024], dup[1024];
		snprintf(src, sizeof(src),
		    "source LiteLLM model_prices_and_context_window.json: "
		    "%s\n",
		    key);
		// The source line names the key, then ends or says " from".
		char src2[1100];
		snprintf(src, sizeof(src),
		    "LiteLLM model_prices_and_context_window.json: %s\n", key);
		snprintf(src2, sizeof(src2),
		    "LiteLLM model_prices_and_context_window.json: %s from ",
		    key);
		snprintf(dup, sizeof(dup),
		    "skip entry %s: an earlier key names the same", key);
		if (strstr(r.out, src) != NULL
		    || strstr(r.out, src2) != NULL) {
			continue;
		}
		if (strstr(r.log, dup) == NULL) {
			fail_msg("chat model %s neither imported nor a "
			         "duplicate",
			    key);
		}
		dups++;
	}
	json_decref(root);
	// (A few entries more: models priced by tiered_pricing ranges
	// alone.)
	assert_true(chat > 2000);
	assert_true(r.imp.entries + dups >= chat);
	assert_true(r.imp.entries + dups < chat + 50);

	// Prices convert exactly: gpt-4o at $2.50 / $1.25 / $10, batch
	// $1.25 / $5, priority $4.25 / $17.
	price_query q = { .provider = "openai",
		.provider_len = 6,
		.model = "gpt-4o",
		.model_len = 6,
		.start_ns = UINT64_C(1790000000) * 1000000000 };
	const price_entry *e;
	const price_set *s;
	LLMCOST_PASS(prices_find(r.t, &q, &e));
	LLMCOST_PASS(prices_set_for(e, LLMCOST_TIER_STANDARD, 0, &s));
	assert_int_equal(s->pusd[LLMCOST_IN_UNCACHED], 2500000);
	assert_int_equal(s->pusd[LLMCOST_IN_CACHE_READ], 1250000);
	assert_int_equal(s->pusd[LLMCOST_OUT_TEXT], 10000000);
	LLMCOST_PASS(prices_set_for(e, LLMCOST_TIER_BATCH, 0, &s));
	assert_int_equal(s->pusd[LLMCOST_IN_UNCACHED], 1250000);
	assert_int_equal(s->pusd[LLMCOST_OUT_TEXT], 5000000);
	LLMCOST_PASS(prices_set_for(e, LLMCOST_TIER_PRIORITY, 0, &s));
	assert_int_equal(s->pusd[LLMCOST_IN_UNCACHED], 4250000);
	assert_int_equal(s->pusd[LLMCOST_OUT_TEXT], 17000000);
	// A long-context tier: gpt-5.6 above 272k, with its cache writes.
	q.model = "gpt-5.6";
	q.model_len = 7;
	LLMCOST_PASS(prices_find(r.t, &q, &e));
	LLMCOST_PASS(prices_set_for(e, LLMCOST_TIER_STANDARD, 272001, &s));
	assert_int_equal(s->above, 272000);
	assert_int_equal(s->pusd[LLMCOST_IN_UNCACHED], 10000000);
	assert_int_equal(s->pusd[LLMCOST_IN_CACHE_WRITE_5M], 12500000);
	// Platforms: Gemini on Vertex, under its own name.
	q.provider = "google";
	q.provider_len = 6;
	q.model = "gemini-2.5-pro";
	q.model_len = 14;
	q.platform = "vertex";
	q.platform_len = 6;
	LLMCOST_PASS(prices_find(r.t, &q, &e));
	assert_string_equal(e->platform, "vertex");

	// The known data errors (survey 2.1) are flagged.
	must_log(&r,
	    "flag claude-3-opus-20240229: 1 h cache write $6/1M cheaper than "
	    "the 5 min write $18.75/1M");
	must_log(&r,
	    "flag claude-3-haiku-20240307: 1 h cache write $6/1M is more "
	    "than 3x the 5 min write $0.3/1M");
	must_log(&r,
	    "flag gpt-5-nano: priority input $2.5/1M is far above the "
	    "standard $0.05/1M");
	must_log(&r, "is above the output price");
	must_log(&r,
	    "flag gemini/gemini-1.5-flash: mode embedding for a chat "
	    "model's name");
	// Skipped fields are listed with their reason.
	must_log(&r, "skip field output_cost_per_second (");
	must_log(&r, "skip field regional_processing_uplift_multiplier_eu (");
	must_log(&r, "skip entry gemini/gemini-1.5-flash: not a chat model");
	free_import(&r);
}

static void
test_import_langfuse(void **state)
{
	(void) state;
	imported r;
	memset(&r, 0, sizeof(r));
	run_import(&r, NULL, "langfuse/default-model-prices.json");
	assert_true(r.imp.entries > 120);
	// Patterns convert to POSIX: "(?i)^(openai/)?(gpt-4o)$" matches
	// gpt-4o and openai/gpt-4o, at $2.50 in; its "Fast mode" tier
	// (service_tier in fast, priority) is the priority tier.
	price_query q = { .provider = "openai",
		.provider_len = 6,
		.model = "openai/gpt-4o",
		.model_len = 13,
		.start_ns = UINT64_C(1790000000) * 1000000000 };
	const price_entry *e;
	const price_set *s;
	LLMCOST_PASS(prices_find(r.t, &q, &e));
	assert_int_equal(e->match, PRICE_MATCH_PATTERN);
	LLMCOST_PASS(prices_set_for(e, LLMCOST_TIER_STANDARD, 0, &s));
	assert_int_equal(s->pusd[LLMCOST_IN_UNCACHED], 2500000);
	LLMCOST_PASS(prices_set_for(e, LLMCOST_TIER_PRIORITY, 0, &s));
	assert_int_equal(s->pusd[LLMCOST_IN_UNCACHED], 4250000);
	must_log(&r, "skip field (?i) (");
	must_log(&r, "skip field input_cached_audio_tokens (");
	free_import(&r);

	// Both at once: one table, Langfuse's patterns behind LiteLLM's
	// names.
	memset(&r, 0, sizeof(r));
	run_import(&r, "litellm/model_prices_and_context_window.json",
	    "langfuse/default-model-prices.json");
	assert_true(r.imp.entries > 2300);
	free_import(&r);
}

// The built-in table prices every chat model of OpenAI, Anthropic and
// Google that LiteLLM prices (on the provider's API, Azure and Vertex),
// except the ones docs/prices.md lists as left out, each for a reason.
static const char *const left_out[] = {
	// LiteLLM spellings that are not Anthropic ids.
	"^claude-4-(opus|sonnet)-20250514$",
	// Aliases that move to the newest model (not chat-latest, which
	// OpenAI prices as a model of its own).
	"^gemini-(flash|flash-lite|pro)-latest$",
	"^gemini-2\\.5-flash-native-audio-latest$",
	// Fine-tuned models: their prices are the customer's.
	"^ft:.*$",
	// Azure data-zone and regional deployments: a call does not say
	// which deployment type served it.
	"^azure/(eu|us|global|global-standard)/.*$",
	// Not OpenAI's models, though LiteLLM files them under azure.
	"^azure/(command-r-plus|mistral-large-.*)$",
	// Experimental, robotics and computer-use previews, Gemma (open
	// weights) and music generation.
	"^(vertex/)?(gemini-exp-.*|learnlm-.*|gemma-.*|gemini-gemma-.*|"
	"gemini-robotics-.*|gemini-2\\.5-computer-use-.*|lyria-.*)$",
	// Text-to-speech and native-audio previews priced per second of
	// audio in LiteLLM's sources.
	"^(vertex/)?gemini-2\\.5-(pro|flash)-preview-tts$",
	"^(vertex/)?gemini-2\\.5-flash-native-audio-preview-.*$",
	NULL,
};

static int
is_left_out(const char *platform, const char *model)
{
	char name[600];
	snprintf(name, sizeof(name), "%s%s%s", platform,
	    platform[0] != '\0' ? "/" : "", model);
	for (size_t i = 0; left_out[i] != NULL; i++) {
		regex_t re;
		assert_int_equal(
		    regcomp(&re, left_out[i], REG_EXTENDED | REG_NOSUB), 0);
		int m = regexec(&re, name, 0, NULL, 0);
		regfree(&re);
		if (m == 0) {
			return (1);
		}
	}
	return (0);
}

static void
test_builtin_covers_litellm(void **state)
{
	(void) state;
	imported r;
	memset(&r, 0, sizeof(r));
	run_import(&r, "litellm/model_prices_and_context_window.json", NULL);
	const prices_table *bt = prices_builtin_table();
	size_t n;
	const price_entry *e = prices_table_entries(r.t, &n);
	size_t missing = 0, out = 0, covered = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(e[i].provider, "openai") != 0
		    && strcmp(e[i].provider, "anthropic") != 0
		    && strcmp(e[i].provider, "google") != 0) {
			continue;
		}
		if (strcmp(e[i].platform, "") != 0
		    && strcmp(e[i].platform, "azure") != 0
		    && strcmp(e[i].platform, "vertex") != 0) {
			continue;
		}
		price_query q = { .provider = e[i].provider,
			.provider_len = strlen(e[i].provider),
			.model = e[i].model,
			.model_len = strlen(e[i].model),
			.platform = e[i].platform,
			.platform_len = strlen(e[i].platform),
			.start_ns = UINT64_C(1784851200) * 1000000000 };
		const price_entry *f;
		if (prices_find(bt, &q, &f) == 0) {
			covered++;
			continue;
		}
		if (is_left_out(e[i].platform, e[i].model)) {
			printf("left out: %s %s %s\n", e[i].provider,
			    e[i].platform[0] != '\0' ? e[i].platform : "-",
			    e[i].model);
			out++;
			continue;
		}
		printf("unpriced: %s %s %s (%s)\n", e[i].provider,
		    e[i].platform[0] != '\0' ? e[i].platform : "-", e[i].model,
		    e[i].source);
		missing++;
	}
	printf("LiteLLM chat models of the three vendors: %zu priced, %zu "
	       "left out, %zu unpriced\n",
	    covered, out, missing);
	assert_int_equal(missing, 0);
	assert_true(covered > 0);
	free_import(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_write_read_back),
		cmocka_unit_test(test_stable_ids),
		cmocka_unit_test(test_import_litellm),
		cmocka_unit_test(test_import_langfuse),
		cmocka_unit_test(test_builtin_covers_litellm),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
