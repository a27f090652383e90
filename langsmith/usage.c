// DESIGN: token usage as LangSmith reads it from a run (reference section
// 2): usage_metadata in outputs, else in extra.metadata (the SDKs write
// both; JS reads outputs first, and so do we).  Counts must be
// non-negative JSON integers, as LangSmith's typed ingest decodes them
// into integers; the detail maps are {key: integer} with any key (the
// price map decides which keys mean something), capped in number and key
// length; client-supplied costs take a number or a decimal string.  A
// malformed usage is a 422 naming the field, never a silent zero.

#include <string.h>

#include "ls_internal.h"

static int
count_field(const json_t *um, const char *key, int64_t *out, unsigned bit,
    unsigned *has, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(um, key);

	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "usage_metadata.%s: want a non-negative integer", key));
	}
	*out = (int64_t) json_integer_value(v);
	*has |= bit;
	return (0);
}

static int
details(const json_t *um, const char *key, llmcost_ls_detail *d, uint32_t *n,
    llmcost_ls_error *err)
{
	const json_t *obj = json_object_get(um, key);
	const char *k;
	json_t *v;

	*n = 0;
	if (obj == NULL || json_is_null(obj)) {
		return (0);
	}
	if (!json_is_object(obj)) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "usage_metadata.%s: want an object", key));
	}
	json_object_foreach((json_t *) obj, k, v)
	{
		size_t kl = strlen(k);

		if (json_is_null(v)) {
			continue;
		}
		if (!json_is_integer(v) || json_integer_value(v) < 0) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "usage_metadata.%s.%.48s: want a non-negative "
			    "integer",
			    key, k));
		}
		if (kl == 0 || kl >= LLMCOST_LS_DETAIL_KEY_MAX) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "usage_metadata.%s: key of %zu bytes (want 1 to "
			    "%d)",
			    key, kl, LLMCOST_LS_DETAIL_KEY_MAX - 1));
		}
		if (*n == LLMCOST_LS_DETAILS_MAX) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "usage_metadata.%s: more than %d keys", key,
			    LLMCOST_LS_DETAILS_MAX));
		}
		memcpy(d[*n].key, k, kl + 1);
		d[*n].n = (int64_t) json_integer_value(v);
		(*n)++;
	}
	return (0);
}

static int
cost_field(const json_t *um, const char *key, int64_t *out, unsigned bit,
    unsigned *has, llmcost_ls_error *err)
{
	int present = 0;

	if (llmcost_ls_cost_parse(json_object_get(um, key), out, &present)
	    != 0) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "usage_metadata.%s: want a number or a decimal string in "
		    "USD",
		    key));
	}
	if (present) {
		*has |= bit;
	}
	return (0);
}

int
llmcost_ls_usage_parse(
    const json_t *um, llmcost_ls_usage *out, llmcost_ls_error *err)
{
	llmcost_ls_usage u;
	int rv;

	if (out == NULL) {
		return (llmcost_ls_fail(
		    err, 422, LLMCOST_EINVAL, "usage_metadata: no output"));
	}
	memset(&u, 0, sizeof(u));
	if (!json_is_object(um)) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "usage_metadata: want an object"));
	}
	if ((rv = count_field(um, "input_tokens", &u.input_tokens,
	         LLMCOST_LS_U_INPUT, &u.has, err))
	        != 0
	    || (rv = count_field(um, "output_tokens", &u.output_tokens,
	            LLMCOST_LS_U_OUTPUT, &u.has, err))
	        != 0
	    || (rv = count_field(um, "total_tokens", &u.total_tokens,
	            LLMCOST_LS_U_TOTAL, &u.has, err))
	        != 0
	    || (rv = details(um, "input_token_details", u.input_details,
	            &u.n_input_details, err))
	        != 0
	    || (rv = details(um, "output_token_details", u.output_details,
	            &u.n_output_details, err))
	        != 0
	    || (rv = cost_field(um, "input_cost", &u.input_cost,
	            LLMCOST_LS_U_INPUT_COST, &u.has, err))
	        != 0
	    || (rv = cost_field(um, "output_cost", &u.output_cost,
	            LLMCOST_LS_U_OUTPUT_COST, &u.has, err))
	        != 0
	    || (rv = cost_field(um, "total_cost", &u.total_cost,
	            LLMCOST_LS_U_TOTAL_COST, &u.has, err))
	        != 0) {
		return (rv);
	}
	if (!(u.has & LLMCOST_LS_U_TOTAL)
	    && __builtin_add_overflow(
	        u.input_tokens, u.output_tokens, &u.total_tokens)) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "usage_metadata: token counts overflow"));
	}
	*out = u;
	return (0);
}

int
llmcost_ls_usage_extract(
    const json_t *run, llmcost_ls_usage *out, llmcost_ls_error *err)
{
	const json_t *um = NULL;
	const json_t *o;
	int src = LLMCOST_LS_USAGE_NONE;
	int rv;

	if (out == NULL) {
		return (llmcost_ls_fail(
		    err, 422, LLMCOST_EINVAL, "usage_metadata: no output"));
	}
	memset(out, 0, sizeof(*out));
	o = json_object_get(run, "outputs");
	if (json_is_object(o)) {
		um = json_object_get(o, "usage_metadata");
		src = LLMCOST_LS_USAGE_OUTPUTS;
	}
	if (um == NULL || json_is_null(um)) {
		o = json_object_get(json_object_get(run, "extra"), "metadata");
		um = json_is_object(o) ? json_object_get(o, "usage_metadata")
		                       : NULL;
		src = LLMCOST_LS_USAGE_METADATA;
	}
	if (um == NULL || json_is_null(um)) {
		return (0);
	}
	if ((rv = llmcost_ls_usage_parse(um, out, err)) != 0) {
		if (err != NULL) {
			char inner[sizeof(err->msg)];

			memcpy(inner, err->msg, sizeof(inner));
			llmcost_ls_fail(err, err->status, rv, "%s%s",
			    src == LLMCOST_LS_USAGE_OUTPUTS
			        ? "outputs."
			        : "extra.metadata.",
			    inner);
		}
		memset(out, 0, sizeof(*out));
		return (rv);
	}
	out->src = src;
	return (0);
}
