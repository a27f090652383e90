// Recording responses on calls: what llmcost_call_set_usage_from,
// llmcost_call_apply_response and llmcost_stream_finish leave in the
// call record (read through the shim's internals), the new call setters,
// that bad input leaves the call usable and honestly flagged, and that
// fees, provider cost and usage flags reach the collector on the wire.
#include "testutil.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <unistd.h>

#include "llmcost_proto.h"
#include "shim.h"

static llmcost_client *client;

static int
setup(void **state)
{
	(void) state;
	llmcost_options o;
	memset(&o, 0, sizeof(o));
	// Nothing listens here: calls are recorded, never delivered.
	o.collector_url = "ipc:///nonexistent/llmcost-call-test.sock";
	o.queue_max = 64;
	return (llmcost_init(&client, &o));
}

static int
teardown(void **state)
{
	(void) state;
	llmcost_shutdown(client, 0);
	return (0);
}

static llmcost_call *
begin(const char *provider, const char *model)
{
	llmcost_call *call;
	LLMCOST_PASS(llmcost_call_begin(client, provider, model, &call));
	return (call);
}

static int
model_is(const llmcost_call *call, const char *model)
{
	return (call->model.len == strlen(model)
	    && memcmp(call->arena + call->model.off, model, call->model.len)
	        == 0);
}

static const char *
meta(const llmcost_call *call, const char *key, char *buf, size_t n)
{
	for (uint16_t i = 0; i < call->n_meta; i++) {
		const llmcost__span *k = &call->meta[i].key;
		if (k->len == strlen(key)
		    && memcmp(call->arena + k->off, key, k->len) == 0) {
			const llmcost__span *v = &call->meta[i].val;
			snprintf(buf, n, "%.*s", (int) v->len,
			    call->arena + v->off);
			return (buf);
		}
	}
	return (NULL);
}

static void
test_set_usage_from_body(void **state)
{
	(void) state;
	const char *body
	    = "{\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-mini-2024-07-18\","
	      "\"usage\":{\"prompt_tokens\":1250,\"completion_tokens\":300,"
	      "\"prompt_tokens_details\":{\"cached_tokens\":1024},"
	      "\"completion_tokens_details\":{\"reasoning_tokens\":100}}}";
	char buf[300];
	llmcost_call *call = begin("openai", "gpt-4o-mini");
	LLMCOST_PASS(llmcost_call_set_usage_from(
	    call, LLMCOST_FMT_OPENAI_CHAT, body, strlen(body)));
	assert_int_equal(call->usage[LLMCOST_IN_UNCACHED], 226);
	assert_int_equal(call->usage[LLMCOST_IN_CACHE_READ], 1024);
	assert_int_equal(call->usage[LLMCOST_OUT_TEXT], 200);
	assert_int_equal(call->usage[LLMCOST_OUT_REASONING], 100);
	assert_int_equal(call->status, LLMCOST_STATUS_OK);
	assert_int_equal(call->usage_flags, 0);
	assert_int_equal(call->provider_cost_pusd, LLMCOST_COST_NONE);
	// The dated snapshot replaces the model the call began with.
	assert_true(model_is(call, "gpt-4o-mini-2024-07-18"));
	assert_string_equal(
	    meta(call, LLMCOST_META_REQUEST_ID, buf, sizeof(buf)),
	    "chatcmpl-1");
	llmcost_call_abandon(call);

	// A malformed body: the call keeps what it had and says its usage
	// is missing.
	call = begin("anthropic", "claude-haiku-4-5");
	llmcost_usage u;
	memset(&u, 0, sizeof(u));
	u.tokens[LLMCOST_IN_UNCACHED] = 7;
	LLMCOST_PASS(llmcost_call_set_usage(call, &u));
	LLMCOST_FAIL(llmcost_call_set_usage_from(call, LLMCOST_FMT_ANTHROPIC,
	                 "{\"usage\":{\"input_tokens\":", 24),
	    LLMCOST_EPROTO);
	assert_int_equal(call->usage[LLMCOST_IN_UNCACHED], 7);
	assert_int_equal(call->usage_flags, LLMCOST_USAGE_MISSING);
	assert_true(model_is(call, "claude-haiku-4-5"));
	// Still usable.
	LLMCOST_PASS(llmcost_call_set_meta(call, "feature", "chat"));
	LLMCOST_PASS(llmcost_call_end(call));

	// A NULL or ended call.
	LLMCOST_FAIL(llmcost_call_set_usage_from(
	                 NULL, LLMCOST_FMT_OPENAI_CHAT, body, strlen(body)),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_usage_from(
	                 call, LLMCOST_FMT_OPENAI_CHAT, body, strlen(body)),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(
	    llmcost_call_set_usage_from(call, LLMCOST_FMT_OPENAI_CHAT, "x", 1),
	    LLMCOST_EINVAL);
}

static void
test_stream_into_call(void **state)
{
	(void) state;
	const char *start
	    = "event: message_start\ndata: {\"type\":\"message_start\","
	      "\"message\":{\"id\":\"msg_9\",\"model\":\"claude-sonnet-4-5-"
	      "20250929\",\"usage\":{\"input_tokens\":40,"
	      "\"cache_creation_input_tokens\":100,\"cache_creation\":{"
	      "\"ephemeral_1h_input_tokens\":100},\"output_tokens\":1}}}\n\n";
	const char *delta
	    = "event: message_delta\ndata: {\"type\":\"message_delta\","
	      "\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{"
	      "\"output_tokens\":90,\"server_tool_use\":{"
	      "\"web_search_requests\":2}}}\n\n";
	llmcost_stream s;
	llmcost_response r;
	char buf[300];

	// Complete.
	llmcost_call *call = begin("anthropic", "claude-sonnet-4-5");
	LLMCOST_PASS(llmcost_stream_init(&s, LLMCOST_FMT_ANTHROPIC));
	LLMCOST_PASS(llmcost_stream_feed(&s, start, strlen(start)));
	LLMCOST_PASS(llmcost_stream_feed(&s, delta, strlen(delta)));
	LLMCOST_PASS(llmcost_stream_finish(&s, call, &r));
	assert_int_equal(call->usage[LLMCOST_IN_UNCACHED], 40);
	assert_int_equal(call->usage[LLMCOST_IN_CACHE_WRITE_1H], 100);
	assert_int_equal(call->usage[LLMCOST_OUT_TEXT], 90);
	assert_int_equal(call->fees[LLMCOST_FEE_WEB_SEARCH], 2);
	assert_int_equal(call->status, LLMCOST_STATUS_OK);
	assert_int_equal(call->usage_flags, 0);
	assert_true(model_is(call, "claude-sonnet-4-5-20250929"));
	assert_string_equal(
	    meta(call, LLMCOST_META_REQUEST_ID, buf, sizeof(buf)), "msg_9");
	llmcost_call_abandon(call);

	// Cut after message_start: aborted, partial, with what it had.
	call = begin("anthropic", "claude-sonnet-4-5");
	LLMCOST_PASS(llmcost_stream_init(&s, LLMCOST_FMT_ANTHROPIC));
	LLMCOST_PASS(llmcost_stream_feed(&s, start, strlen(start)));
	LLMCOST_FAIL(
	    llmcost_stream_finish(&s, call, NULL), LLMCOST_EINCOMPLETE);
	assert_int_equal(call->status, LLMCOST_STATUS_ABORTED);
	assert_int_equal(call->usage_flags, LLMCOST_USAGE_PARTIAL);
	assert_int_equal(call->usage[LLMCOST_IN_UNCACHED], 40);
	assert_int_equal(call->usage[LLMCOST_OUT_TEXT], 1);
	llmcost_call_abandon(call);

	// Nothing at all arrived.
	call = begin("openai", "gpt-4o");
	LLMCOST_PASS(llmcost_stream_init(&s, LLMCOST_FMT_OPENAI_CHAT));
	LLMCOST_FAIL(
	    llmcost_stream_finish(&s, call, NULL), LLMCOST_EINCOMPLETE);
	assert_int_equal(call->status, LLMCOST_STATUS_ABORTED);
	assert_int_equal(call->usage_flags, LLMCOST_USAGE_MISSING);
	assert_true(model_is(call, "gpt-4o"));
	llmcost_call_abandon(call);
}

static void
test_setters(void **state)
{
	(void) state;
	llmcost_call *call = begin("openrouter", "x");
	// New calls start with no fee, no provider cost, no flag.
	assert_int_equal(call->fees[LLMCOST_FEE_WEB_SEARCH], 0);
	assert_int_equal(call->provider_cost_pusd, LLMCOST_COST_NONE);
	assert_int_equal(call->usage_flags, 0);

	LLMCOST_PASS(llmcost_call_set_fee(call, LLMCOST_FEE_WEB_SEARCH, 3));
	LLMCOST_FAIL(
	    llmcost_call_set_fee(call, (llmcost_fee) LLMCOST_FEE_COUNT, 1),
	    LLMCOST_EINVAL);
	LLMCOST_PASS(llmcost_call_set_provider_cost(call, 9323400000));
	LLMCOST_FAIL(llmcost_call_set_provider_cost(call, -2), LLMCOST_EINVAL);
	assert_int_equal(call->provider_cost_pusd, 9323400000);
	LLMCOST_PASS(llmcost_call_set_provider_cost(call, LLMCOST_COST_NONE));
	assert_int_equal(call->provider_cost_pusd, LLMCOST_COST_NONE);
	LLMCOST_PASS(
	    llmcost_call_set_usage_flags(call, LLMCOST_USAGE_PARTIAL));
	LLMCOST_FAIL(llmcost_call_set_usage_flags(call, 0x8), LLMCOST_EINVAL);
	assert_int_equal(call->usage_flags, LLMCOST_USAGE_PARTIAL);

	// Service tier and platform.
	assert_int_equal(call->service_tier, LLMCOST_TIER_STANDARD);
	LLMCOST_PASS(llmcost_call_set_service_tier(call, LLMCOST_TIER_BATCH));
	LLMCOST_FAIL(llmcost_call_set_service_tier(
	                 call, (llmcost_service_tier) LLMCOST_TIER_COUNT),
	    LLMCOST_EINVAL);
	assert_int_equal(call->service_tier, LLMCOST_TIER_BATCH);
	LLMCOST_PASS(llmcost_call_set_platform(call, "vertex"));
	LLMCOST_FAIL(
	    llmcost_call_set_platform(call, "Vertex"), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_platform(call, "a b"), LLMCOST_EINVAL);
	char longplat[LLMCOST_MAX_PLATFORM + 2];
	memset(longplat, 'p', sizeof(longplat) - 1);
	longplat[sizeof(longplat) - 1] = '\0';
	LLMCOST_FAIL(
	    llmcost_call_set_platform(call, longplat), LLMCOST_ETOOBIG);
	assert_int_equal(call->platform_len, 6);
	assert_memory_equal(call->platform, "vertex", 6);
	LLMCOST_PASS(llmcost_call_set_platform(call, NULL));
	assert_int_equal(call->platform_len, 0);
	LLMCOST_PASS(llmcost_call_set_platform(call, "bedrock"));

	// The model: longer (appended), shorter (in place), refused.
	LLMCOST_PASS(
	    llmcost_call_set_model(call, "anthropic/claude-sonnet-4.5"));
	assert_true(model_is(call, "anthropic/claude-sonnet-4.5"));
	LLMCOST_PASS(llmcost_call_set_model(call, "gpt-4o"));
	assert_true(model_is(call, "gpt-4o"));
	LLMCOST_FAIL(llmcost_call_set_model(call, ""), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_model(call, "bad\xff"), LLMCOST_EUTF8);
	char longname[LLMCOST_MAX_MODEL + 2];
	memset(longname, 'm', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	LLMCOST_FAIL(llmcost_call_set_model(call, longname), LLMCOST_ETOOBIG);
	assert_true(model_is(call, "gpt-4o"));

	// A model that no longer fits the call's strings is refused, and
	// the response's usage is recorded all the same.
	char val[LLMCOST_MAX_VALUE + 1];
	memset(val, 'v', LLMCOST_MAX_VALUE);
	val[LLMCOST_MAX_VALUE] = '\0';
	char key[8];
	for (int i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		LLMCOST_PASS(llmcost_call_set_meta(call, key, val));
	}
	llmcost_response r;
	memset(&r, 0, sizeof(r));
	r.usage.tokens[LLMCOST_IN_UNCACHED] = 11;
	r.provider_cost_pusd = 5;
	memset(r.model, 'n', 250);
	LLMCOST_FAIL(llmcost_call_apply_response(call, &r), LLMCOST_ETOOBIG);
	assert_int_equal(call->usage[LLMCOST_IN_UNCACHED], 11);
	assert_int_equal(call->provider_cost_pusd, 5);
	assert_true(model_is(call, "gpt-4o"));
	LLMCOST_FAIL(llmcost_call_apply_response(call, NULL), LLMCOST_EINVAL);
	LLMCOST_PASS(llmcost_call_end(call));

	// Every setter refuses a NULL or ended call.
	LLMCOST_FAIL(llmcost_call_set_model(call, "a"), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_fee(NULL, LLMCOST_FEE_WEB_SEARCH, 1),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_provider_cost(call, 1), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_usage_flags(call, 0), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_apply_response(call, &r), LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_service_tier(call, LLMCOST_TIER_FLEX),
	    LLMCOST_EINVAL);
	LLMCOST_FAIL(llmcost_call_set_platform(call, "x"), LLMCOST_EINVAL);
}

// A collector stand-in on an nng rep0 socket: receives one batch, checks
// its one record, acknowledges it.
static void
test_sent_on_the_wire(void **state)
{
	(void) state;
	char url[256], path[] = "/tmp/llmcost-call-test-XXXXXX";
	nng_socket rep;
	assert_non_null(mkdtemp(path));
	snprintf(url, sizeof(url), "ipc://%s/c.sock", path);
	assert_int_equal(nng_rep0_open(&rep), 0);
	assert_int_equal(nng_listen(rep, url, NULL, 0), 0);
	assert_int_equal(nng_socket_set_ms(rep, NNG_OPT_RECVTIMEO, 10000), 0);

	llmcost_options o;
	llmcost_client *c;
	memset(&o, 0, sizeof(o));
	o.collector_url = url;
	o.flush_ms = 10;
	LLMCOST_PASS(llmcost_init(&c, &o));
	llmcost_call *call;
	LLMCOST_PASS(llmcost_call_begin(c, "openrouter", "x", &call));
	const char *body
	    = "{\"model\":\"anthropic/claude-sonnet-4.5\",\"id\":\"gen-1\","
	      "\"service_tier\":\"flex\","
	      "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":10,"
	      "\"cost\":0.0093234}}";
	LLMCOST_PASS(llmcost_call_set_usage_from(
	    call, LLMCOST_FMT_OPENAI_CHAT, body, strlen(body)));
	LLMCOST_PASS(llmcost_call_set_fee(call, LLMCOST_FEE_WEB_SEARCH, 5));
	LLMCOST_PASS(
	    llmcost_call_set_usage_flags(call, LLMCOST_USAGE_PARTIAL));
	LLMCOST_PASS(llmcost_call_set_platform(call, "azure"));
	LLMCOST_PASS(llmcost_call_end(call));

	void *buf;
	size_t len;
	llmcost_proto_msg m;
	char reason[256];
	// The shim also asks for the hard budgets' state: not answered.
	for (;;) {
		assert_int_equal(nng_recv(rep, &buf, &len, NNG_FLAG_ALLOC), 0);
		LLMCOST_PASS(llmcost_proto_decode(
		    buf, len, &m, reason, sizeof(reason)));
		if (m.type != LLMCOST_MSG_BUDGET_REQ) {
			break;
		}
		llmcost_proto_msg_free(&m);
		nng_free(buf, len);
	}
	assert_int_equal(m.type, LLMCOST_MSG_BATCH);
	assert_int_equal(m.u.batch.n_records, 1);
	const llmcost_proto_record *r = &m.u.batch.records[0];
	assert_int_equal(r->fees[LLMCOST_FEE_WEB_SEARCH], 5);
	assert_int_equal(r->has_provider_cost, 1);
	assert_true(r->provider_cost_pusd == UINT64_C(9323400000));
	assert_int_equal(r->usage_flags, LLMCOST_USAGE_PARTIAL);
	// The response said flex; the platform came from the application.
	assert_int_equal(r->service_tier, LLMCOST_TIER_FLEX);
	assert_int_equal(r->platform.len, 5);
	assert_memory_equal(r->platform.ptr, "azure", 5);
	assert_int_equal(r->usage[LLMCOST_IN_UNCACHED], 100);
	assert_int_equal(r->model.len, strlen("anthropic/claude-sonnet-4.5"));
	int found = 0;
	for (uint32_t i = 0; i < r->n_meta; i++) {
		found |= r->meta[i].key.len == strlen(LLMCOST_META_REQUEST_ID)
		    && r->meta[i].val.len == 5
		    && memcmp(r->meta[i].val.ptr, "gen-1", 5) == 0;
	}
	assert_true(found);

	llmcost_proto_ack a;
	memset(&a, 0, sizeof(a));
	memcpy(a.client_id, m.u.batch.client_id, 16);
	a.seq = m.u.batch.seq;
	a.status = LLMCOST_ACK_STORED;
	a.stored = 1;
	llmcost_proto_buf b = { 0 };
	llmcost_proto_enc e;
	llmcost_proto_enc_init(&e, llmcost_proto_buf_write, &b, 0);
	LLMCOST_PASS(llmcost_proto_enc_ack(&e, &a));
	assert_int_equal(nng_send(rep, b.data, b.len, 0), 0);
	llmcost_proto_buf_free(&b);
	llmcost_proto_msg_free(&m);
	nng_free(buf, len);
	LLMCOST_PASS(llmcost_flush(c, 10000));
	llmcost_shutdown(c, 1000);
	nng_close(rep);
	snprintf(url, sizeof(url), "%s/c.sock", path);
	unlink(url);
	rmdir(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_usage_from_body),
		cmocka_unit_test(test_stream_into_call),
		cmocka_unit_test(test_setters),
		cmocka_unit_test(test_sent_on_the_wire),
	};
	return (cmocka_run_group_tests(tests, setup, teardown));
}
