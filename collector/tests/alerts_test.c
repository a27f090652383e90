// Unit tests for the alert parts of llmcostd: webhook URLs redacted for
// logs (no user info, path or query survives), both payloads valid JSON
// with exact amounts, and the outbox: a crossing recorded once per key,
// the pending cap, delivery state kept across a close and reopen, and
// pruning of finished records of old windows.
#include "testutil.h"

#include <jansson.h>

#include "outbox.h"
#include "webhook.h"

static void
test_redact(void **state)
{
	static const struct {
		const char *url, *want;
	} cases[] = {
		{ "https://hooks.slack.com/services/T0/B0/secret",
		    "https://hooks.slack.com/..." },
		{ "http://127.0.0.1:8080/hook?token=hunter2",
		    "http://127.0.0.1:8080/..." },
		{ "https://user:pass@example.com/x",
		    "https://example.com/..." },
		{ "https://example.com", "https://example.com" },
		{ "https://example.com?k=v", "https://example.com/..." },
		{ "not a url", "(a webhook URL)" },
	};
	char buf[128];
	(void) state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		webhook_redact(cases[i].url, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].want);
	}
}

static webhook_alert
alert(void)
{
	webhook_alert a;
	memset(&a, 0, sizeof(a));
	a.budget = "rag-search";
	a.zone = "Europe/Berlin";
	a.kind = "day";
	a.window_from = 1774738800;
	a.window_to = 1774821600;
	a.window_id = 1774738800;
	a.crossed_at = 1774780000;
	a.threshold = 80;
	a.pct_bp = 8123;
	a.spend_pusd = (store_i128) INT64_C(1624600000001);
	a.limit_pusd = INT64_C(2000000000000);
	return (a);
}

static void
test_payloads(void **state)
{
	webhook_alert a = alert();
	char buf[2048], id[128];
	(void) state;

	assert_true(webhook_alert_id(&a, id, sizeof(id)) > 0);
	assert_string_equal(id, "rag-search/1774738800/80");
	assert_true(
	    webhook_payload(&a, BUDGET_HOOK_JSON, buf, sizeof(buf)) > 0);
	json_t *j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "spend_usd")),
	    "1.624600000001");
	assert_string_equal(
	    json_string_value(json_object_get(j, "percent")), "81.23");
	assert_string_equal(json_string_value(json_object_get(j, "id")), id);
	assert_string_equal(json_string_value(json_object_get(
	                        json_object_get(j, "window"), "from")),
	    "2026-03-28T23:00:00Z");
	json_decref(j);
	assert_true(
	    webhook_payload(&a, BUDGET_HOOK_SLACK, buf, sizeof(buf)) > 0);
	j = json_loads(buf, 0, NULL);
	assert_non_null(j);
	const char *text = json_string_value(json_object_get(j, "text"));
	assert_non_null(text);
	assert_non_null(
	    strstr(text, "*rag-search* crossed 80%: $1.62 of $2.00"));
	json_decref(j);
	// Too small a buffer is an error, not a cut payload.
	assert_int_equal(webhook_payload(&a, BUDGET_HOOK_JSON, buf, 40), -1);
}

static outbox_rec
rec(const char *name, int64_t window, uint16_t t, uint8_t st)
{
	outbox_rec r;
	memset(&r, 0, sizeof(r));
	r.version = 1;
	r.state = st;
	r.threshold = t;
	r.window_id = window;
	r.window_to = window + 86400;
	r.next_ns = window;
	snprintf(r.name, sizeof(r.name), "%s", name);
	return (r);
}

static void
test_outbox(void **state)
{
	char dir[] = "/tmp/llmcost-outbox-XXXXXX", err[512], cmd[128];
	outbox *o;
	outbox_rec r[2], got;
	int isnew[2];
	uint64_t counts[6];
	(void) state;

	assert_non_null(mkdtemp(dir));
	LLMCOST_PASS(outbox_open(&o, dir, err, sizeof(err)));
	r[0] = rec("a", 1000, 50, OUTBOX_SKIPPED);
	r[1] = rec("a", 1000, 80, OUTBOX_PENDING);
	LLMCOST_PASS(outbox_record(o, r, 2, isnew));
	assert_true(isnew[0] && isnew[1]);
	// Seen again (another evaluation): nothing new.
	LLMCOST_PASS(outbox_record(o, r, 2, isnew));
	assert_false(isnew[0] || isnew[1]);
	// The same threshold in the next window is new.
	r[0] = rec("a", 1000 + 86400, 80, OUTBOX_PENDING);
	LLMCOST_PASS(outbox_record(o, r, 1, isnew));
	assert_true(isnew[0]);
	LLMCOST_PASS(outbox_next(o, &got));
	assert_int_equal(got.window_id, 1000); // due first
	got.hook_done = 1;
	got.state = OUTBOX_DONE;
	LLMCOST_PASS(outbox_update(o, &got));
	outbox_close(o);

	// Reopened: the delivery state is there.
	LLMCOST_PASS(outbox_open(&o, dir, err, sizeof(err)));
	LLMCOST_PASS(outbox_counts(o, counts));
	assert_int_equal(counts[OUTBOX_DONE], 1);
	assert_int_equal(counts[OUTBOX_PENDING], 1);
	assert_int_equal(counts[OUTBOX_SKIPPED], 1);
	LLMCOST_PASS(outbox_next(o, &got));
	assert_int_equal(got.window_id, 1000 + 86400);

	// The cap: past OUTBOX_MAX_PENDING pending, a crossing is dropped.
	for (unsigned i = 1; i < OUTBOX_MAX_PENDING; i++) {
		r[0] = rec("b", (int64_t) i, 100, OUTBOX_PENDING);
		LLMCOST_PASS(outbox_record(o, r, 1, isnew));
		assert_int_equal(r[0].state, OUTBOX_PENDING);
	}
	r[0] = rec("c", 1, 100, OUTBOX_PENDING);
	LLMCOST_PASS(outbox_record(o, r, 1, isnew));
	assert_true(isnew[0]);
	assert_int_equal(r[0].state, OUTBOX_DROPPED);
	LLMCOST_PASS(outbox_counts(o, counts));
	assert_int_equal(counts[OUTBOX_PENDING], OUTBOX_MAX_PENDING);

	// Pruning drops finished records of windows that ended, never
	// pending ones.
	LLMCOST_PASS(outbox_prune(o, INT64_MAX));
	LLMCOST_PASS(outbox_counts(o, counts));
	assert_int_equal(counts[OUTBOX_DONE], 0);
	assert_int_equal(counts[OUTBOX_SKIPPED], 0);
	assert_int_equal(counts[OUTBOX_DROPPED], 0);
	assert_int_equal(counts[OUTBOX_PENDING], OUTBOX_MAX_PENDING);
	outbox_close(o);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_redact),
		cmocka_unit_test(test_payloads),
		cmocka_unit_test(test_outbox),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
