// DESIGN: one run object checked against LangSmith's run schema
// (reference sections 1.4 and 1.5) and turned into a typed view.  The
// checks are the ones the real service makes or that its SDKs guarantee:
// UUIDs, the required fields of a create, times, the run_type enum, field
// types, and the consistency of dotted_order with id, trace_id and
// parent_run_id.  Unknown fields are ignored (the JS SDK sends
// "child_runs"), as LangSmith ignores them.
//
// The status of a rejection follows what LangSmith answers: 400 for a
// dotted_order that is malformed or disagrees with the ids (its
// "invalid 'dotted_order': ..." errors), 422 for everything else that
// breaks the schema.  Reasons name the field, so that a client's log says
// what to fix.

#include <string.h>

#include "llmcost_common.h"
#include "ls_internal.h"

static const char *const rt_names[LLMCOST_LS_RT_COUNT] = {
	[LLMCOST_LS_RT_TOOL] = "tool",
	[LLMCOST_LS_RT_CHAIN] = "chain",
	[LLMCOST_LS_RT_LLM] = "llm",
	[LLMCOST_LS_RT_RETRIEVER] = "retriever",
	[LLMCOST_LS_RT_EMBEDDING] = "embedding",
	[LLMCOST_LS_RT_PROMPT] = "prompt",
	[LLMCOST_LS_RT_PARSER] = "parser",
};

const char *
llmcost_ls_run_type_name(int rt)
{
	if (rt <= LLMCOST_LS_RT_NONE || rt >= LLMCOST_LS_RT_COUNT) {
		return (NULL);
	}
	return (rt_names[rt]);
}

llmcost_ls_run_type
llmcost_ls_run_type_parse(const char *s)
{
	for (int i = LLMCOST_LS_RT_NONE + 1;
	     s != NULL && i < LLMCOST_LS_RT_COUNT; i++) {
		if (strcmp(s, rt_names[i]) == 0) {
			return ((llmcost_ls_run_type) i);
		}
	}
	return (LLMCOST_LS_RT_NONE);
}

// A UUID field: absent or null (0), a UUID (1), or an error.
static int
uuid_field(
    const json_t *run, const char *key, uint8_t id[16], llmcost_ls_error *err)
{
	const json_t *v = json_object_get(run, key);

	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_string(v)
	    || llmcost__ls_uuid36(
	           json_string_value(v), json_string_length(v), id)
	        != 0) {
		return (llmcost_ls_fail(err, 422, -LLMCOST_EINVAL,
		    "%s: '%.40s' is not a UUID", key,
		    json_is_string(v) ? json_string_value(v)
		                      : "(not a string)"));
	}
	return (1);
}

// A string field of at most LLMCOST_LS_STR_MAX bytes: absent or null (0,
// *out NULL), a string (1), or an error (negative).
static int
str_field(const json_t *run, const char *key, const char **out,
    llmcost_ls_error *err)
{
	const json_t *v = json_object_get(run, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (!json_is_string(v)) {
		return (llmcost_ls_fail(
		    err, 422, -LLMCOST_EINVAL, "%s: want a string", key));
	}
	if (json_string_length(v) > LLMCOST_LS_STR_MAX) {
		return (llmcost_ls_fail(err, 422, -LLMCOST_EINVAL,
		    "%s: longer than %d bytes", key, LLMCOST_LS_STR_MAX));
	}
	*out = json_string_value(v);
	return (1);
}

static int
time_field(
    const json_t *run, const char *key, int64_t *us, llmcost_ls_error *err)
{
	const json_t *v = json_object_get(run, key);

	if (v == NULL || json_is_null(v)) {
		return (0);
	}
	if (llmcost_ls_time_parse(v, us) != 0) {
		return (llmcost_ls_fail(err, 422, -LLMCOST_EINVAL,
		    "%s: want an RFC 3339 time (2026-11-26T11:55:52.336001Z) "
		    "or epoch milliseconds, years 1970 to 9999",
		    key));
	}
	return (1);
}

// Type checks of the free-form fields: object (or array for events).
static int
shape_fields(const json_t *run, llmcost_ls_error *err)
{
	static const char *const objs[]
	    = { "inputs", "outputs", "extra", "serialized" };
	const json_t *v;

	for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		v = json_object_get(run, objs[i]);
		if (v != NULL && !json_is_null(v) && !json_is_object(v)) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "%s: want an object", objs[i]));
		}
	}
	v = json_object_get(run, "events");
	if (v != NULL && !json_is_null(v) && !json_is_array(v)) {
		return (llmcost_ls_fail(
		    err, 422, LLMCOST_EINVAL, "events: want an array"));
	}
	v = json_object_get(json_object_get(run, "extra"), "metadata");
	if (v != NULL && !json_is_null(v) && !json_is_object(v)) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "extra.metadata: want an object"));
	}
	v = json_object_get(run, "tags");
	if (v != NULL && !json_is_null(v)) {
		size_t i;
		json_t *t;

		if (!json_is_array(v)) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "tags: want an array of strings"));
		}
		if (json_array_size(v) > LLMCOST_LS_TAGS_MAX) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "tags: more than %d", LLMCOST_LS_TAGS_MAX));
		}
		json_array_foreach(v, i, t)
		{
			if (!json_is_string(t)
			    || json_string_length(t) > LLMCOST_LS_STR_MAX) {
				return (llmcost_ls_fail(err, 422,
				    LLMCOST_EINVAL,
				    "tags[%zu]: want a string of at most %d "
				    "bytes",
				    i, LLMCOST_LS_STR_MAX));
			}
		}
	}
	return (0);
}

// The model and provider LangSmith prices by: metadata.ls_model_name, else
// the invocation_params fallbacks (reference section 2.1).
static void
model_fields(const json_t *run, llmcost_ls_run *r)
{
	static const char *const fallbacks[] = { "model", "model_name",
		"model_id", "model_path", "endpoint_name" };
	const json_t *extra = json_object_get(run, "extra");
	const json_t *md = json_object_get(extra, "metadata");
	const json_t *ip = json_object_get(extra, "invocation_params");
	const json_t *v;

	v = json_object_get(md, "ls_provider");
	r->ls_provider = json_is_string(v) ? json_string_value(v) : NULL;
	v = json_object_get(md, "ls_model_name");
	r->ls_model_name = json_is_string(v) ? json_string_value(v) : NULL;
	for (size_t i = 0; r->ls_model_name == NULL
	     && i < sizeof(fallbacks) / sizeof(fallbacks[0]);
	     i++) {
		v = json_object_get(ip, fallbacks[i]);
		r->ls_model_name
		    = json_is_string(v) ? json_string_value(v) : NULL;
	}
}

static int
dotted_consistency(
    const llmcost_ls_run *r, unsigned flags, llmcost_ls_error *err)
{
	const llmcost_ls_dotted *d = &r->dotted;

	if (memcmp(d->last_id, r->id, 16) != 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "invalid 'dotted_order': its last UUID is not the run's "
		    "id"));
	}
	if ((r->has & LLMCOST_LS_H_TRACE)
	    && memcmp(d->first_id, r->trace_id, 16) != 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "invalid 'dotted_order': its first UUID is not the "
		    "trace_id"));
	}
	if (d->depth == 1 && (r->has & LLMCOST_LS_H_PARENT)) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "invalid 'dotted_order': one segment (a root run) but "
		    "parent_run_id is set"));
	}
	if (d->depth >= 2 && !(r->has & LLMCOST_LS_H_PARENT)) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "invalid 'dotted_order': %u segments but no "
		    "parent_run_id",
		    d->depth));
	}
	if (d->depth >= 2 && memcmp(d->parent_id, r->parent_run_id, 16) != 0) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "invalid 'dotted_order': its second-to-last UUID is not "
		    "the parent_run_id"));
	}
	if ((flags & LLMCOST_LS_F_STRICT_START)
	    && (r->has & LLMCOST_LS_H_START) && r->start_us != d->last_us) {
		return (llmcost_ls_fail(err, 400, LLMCOST_EPROTO,
		    "invalid 'dotted_order': its last timestamp is not the "
		    "start_time"));
	}
	return (0);
}

int
llmcost_ls_run_check(const json_t *run, llmcost_ls_op_kind kind,
    unsigned flags, llmcost_ls_run *out, llmcost_ls_error *err)
{
	llmcost_ls_run r;
	const char *rt = NULL;
	int rv;

	if (out == NULL
	    || (kind != LLMCOST_LS_POST && kind != LLMCOST_LS_PATCH)) {
		return (llmcost_ls_fail(
		    err, 422, LLMCOST_EINVAL, "run: invalid arguments"));
	}
	if (!json_is_object(run)) {
		return (llmcost_ls_fail(
		    err, 422, LLMCOST_EINVAL, "run: want a JSON object"));
	}
	memset(&r, 0, sizeof(r));

	// Ids.  The field readers return negative codes on failure so that
	// 0 and 1 can mean absent and present.
	if ((rv = uuid_field(run, "id", r.id, err)) < 0) {
		return (-rv);
	}
	if (rv == 0) {
		return (
		    llmcost_ls_fail(err, 422, LLMCOST_EINVAL, "id: missing"));
	}
	if ((rv = uuid_field(run, "trace_id", r.trace_id, err)) < 0) {
		return (-rv);
	}
	r.has |= rv ? LLMCOST_LS_H_TRACE : 0;
	if ((rv = uuid_field(run, "parent_run_id", r.parent_run_id, err))
	    < 0) {
		return (-rv);
	}
	r.has |= rv ? LLMCOST_LS_H_PARENT : 0;
	if ((rv = uuid_field(run, "session_id", r.session_id, err)) < 0) {
		return (-rv);
	}
	r.has |= rv ? LLMCOST_LS_H_SESSION_ID : 0;

	// Strings.
	if ((rv = str_field(run, "name", &r.name, err)) < 0
	    || (rv = str_field(run, "run_type", &rt, err)) < 0
	    || (rv = str_field(run, "session_name", &r.session_name, err)) < 0
	    || (rv = str_field(run, "status", &r.status, err)) < 0
	    || (rv = str_field(run, "dotted_order", &r.dotted_order, err))
	        < 0) {
		return (-rv);
	}
	r.has |= r.name ? LLMCOST_LS_H_NAME : 0;
	r.has |= r.session_name ? LLMCOST_LS_H_SESSION : 0;
	if (rt != NULL) {
		r.run_type = llmcost_ls_run_type_parse(rt);
		if (r.run_type == LLMCOST_LS_RT_NONE) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "run_type: '%.32s' is not one of tool, chain, "
			    "llm, "
			    "retriever, embedding, prompt, parser",
			    rt));
		}
		r.has |= LLMCOST_LS_H_RUN_TYPE;
	}
	{
		const json_t *e = json_object_get(run, "error");

		if (e != NULL && !json_is_null(e)) {
			if (!json_is_string(e)) {
				return (llmcost_ls_fail(err, 422,
				    LLMCOST_EINVAL, "error: want a string"));
			}
			r.error = json_string_value(e);
			r.has |= LLMCOST_LS_H_ERROR;
		}
	}
	if (json_is_object(json_object_get(run, "outputs"))) {
		r.has |= LLMCOST_LS_H_OUTPUTS;
	}

	// Times.
	if ((rv = time_field(run, "start_time", &r.start_us, err)) < 0) {
		return (-rv);
	}
	r.has |= rv ? LLMCOST_LS_H_START : 0;
	if ((rv = time_field(run, "end_time", &r.end_us, err)) < 0) {
		return (-rv);
	}
	r.has |= rv ? LLMCOST_LS_H_END : 0;

	// What a create needs; what batch and multipart ingest need.
	if (kind == LLMCOST_LS_POST) {
		static const struct {
			unsigned bit;
			const char *name;
		} req[] = {
			{ LLMCOST_LS_H_NAME, "name" },
			{ LLMCOST_LS_H_RUN_TYPE, "run_type" },
			{ LLMCOST_LS_H_START, "start_time" },
		};

		for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
			if (!(r.has & req[i].bit)) {
				return (llmcost_ls_fail(err, 422,
				    LLMCOST_EINVAL,
				    "%s: missing (a run create needs name, "
				    "run_type and start_time)",
				    req[i].name));
			}
		}
	}
	if (!(flags & LLMCOST_LS_F_TRACE_OPTIONAL)) {
		if (!(r.has & LLMCOST_LS_H_TRACE)) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "trace_id: missing (batch and multipart ingest "
			    "need trace_id and dotted_order)"));
		}
		if (r.dotted_order == NULL) {
			return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
			    "dotted_order: missing (batch and multipart "
			    "ingest need trace_id and dotted_order)"));
		}
	}
	if (r.dotted_order != NULL) {
		if ((rv = llmcost_ls_dotted_parse(r.dotted_order,
		         strlen(r.dotted_order), &r.dotted, err))
		    != 0) {
			return (rv);
		}
		r.has |= LLMCOST_LS_H_DOTTED;
		if ((rv = dotted_consistency(&r, flags, err)) != 0) {
			return (rv);
		}
	} else if (kind == LLMCOST_LS_POST && (r.has & LLMCOST_LS_H_TRACE)
	    && !(r.has & LLMCOST_LS_H_PARENT)
	    && memcmp(r.trace_id, r.id, 16) != 0) {
		return (llmcost_ls_fail(err, 422, LLMCOST_EINVAL,
		    "trace_id: a root run (no parent_run_id) is its own "
		    "trace, so trace_id must equal id"));
	}

	if ((rv = shape_fields(run, err)) != 0) {
		return (rv);
	}
	model_fields(run, &r);
	if ((rv = llmcost_ls_usage_extract(run, &r.usage, err)) != 0) {
		return (rv);
	}
	*out = r;
	return (0);
}
