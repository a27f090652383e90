// DESIGN: recording a parsed response on a call (and so the public entry
// points that take a call: llmcost_call_set_usage_from and
// llmcost_stream_finish).  This file uses only the
// public call setters (shim/call.c), so the parsers never touch a call's
// internals and the setters' validation (caps, UTF-8, an ended call)
// applies to what a response says exactly as to what an application
// says.  Everything that cannot fail is recorded first; a model name or
// request id that does not fit the call is reported, but does not cost
// the call its usage.
#include <string.h>

#include "llmcost.h"
#include "provider.h"

int
llmcost_call_apply_response(llmcost_call *call, const llmcost_response *r)
{
	int rv, first = 0;

	if (r == NULL) {
		return (LLMCOST_EINVAL);
	}
	if ((rv = llmcost_call_set_usage(call, &r->usage)) != 0
	    || (rv = llmcost_call_set_status(call, r->status)) != 0
	    || (rv = llmcost_call_set_usage_flags(call, r->usage_flags)) != 0
	    || (rv = llmcost_call_set_provider_cost(
	            call, r->provider_cost_pusd))
	        != 0) {
		return (rv);
	}
	// A standard answer leaves a tier the application set (a batch).
	if (r->service_tier != LLMCOST_TIER_STANDARD
	    && (rv = llmcost_call_set_service_tier(call, r->service_tier))
	        != 0) {
		return (rv);
	}
	for (unsigned f = 0; f < LLMCOST_FEE_COUNT; f++) {
		if ((rv = llmcost_call_set_fee(
		         call, (llmcost_fee) f, r->fees[f]))
		    != 0) {
			return (rv);
		}
	}
	if (r->model[0] != '\0') {
		first = llmcost_call_set_model(call, r->model);
	}
	if (r->request_id[0] != '\0') {
		rv = llmcost_call_set_meta(
		    call, LLMCOST_META_REQUEST_ID, r->request_id);
		if (first == 0) {
			first = rv;
		}
	}
	return (first);
}

int
llmcost_call_set_usage_from(
    llmcost_call *call, llmcost_format fmt, const void *body, size_t len)
{
	llmcost_response r;
	int rv = llmcost_response_parse(fmt, body, len, &r);

	if (rv == LLMCOST_EINVAL) {
		return (rv);
	}
	if (rv != 0) {
		// The call keeps what it had, and says its usage is unknown.
		int frv = llmcost_call_set_usage_flags(
		    call, LLMCOST_USAGE_MISSING);
		return (frv == LLMCOST_EINVAL ? frv : rv);
	}
	return (llmcost_call_apply_response(call, &r));
}

int
llmcost_stream_finish(
    llmcost_stream *s, llmcost_call *call, llmcost_response *out)
{
	llmcost_response r;
	int rv = llmcost__stream_result(s, &r);

	if (rv == LLMCOST_EINVAL) {
		return (rv);
	}
	if (out != NULL) {
		*out = r;
	}
	if (call != NULL) {
		int arv = llmcost_call_apply_response(call, &r);
		if (rv == 0) {
			rv = arv;
		}
	}
	return (rv);
}
