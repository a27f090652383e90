// DESIGN: the driver between the bytes of a response and the format
// parsers.  A non-streamed body is one JSON document; a stream is a
// framing (server-sent events, the AWS event stream, or Gemini's JSON
// array) around a sequence of JSON messages.  Either way the push JSON
// scanner reports every value with its path; the format's table picks
// the fields it knows into the message's counts (acc.ev), and when a
// message is complete and valid the format folds it into the response
// (commit).  Nothing is kept of a message that failed to parse, and
// nothing at all is allocated: the whole state is one struct that lives
// in the application's llmcost_stream (or on the stack for a body).
// finish() turns the accumulated counts into buckets and decides what
// the response is worth: a stream that ended before its usage was final
// is aborted and flagged partial or missing, never recorded as zero.
#include <stdalign.h>
#include <string.h>

#include "evstream.h"
#include "json.h"
#include "provider.h"
#include "sse.h"

#define STREAM_MAGIC 0x6c6d7374u // "lmst"

enum { FR_JSON = 3 }; // after FR_SSE, FR_EVS, FR_AUTO: a JSON document

// The data of the current server-sent event.
enum { D_NONE, D_JSON, D_RAW };

typedef struct llmcost__stream {
	uint32_t magic;
	uint8_t framing; // FR_*
	uint8_t array;   // Gemini's JSON array form: messages are elements
	uint8_t data;    // D_*
	uint8_t raw_len;
	int err;          // the first error the input caused
	uint64_t payload; // bytes of the current event stream payload
	char raw[16];     // a non-JSON data value, e.g. "[DONE]"
	llmcost__acc acc;
	llmcost__json json;
	union {
		llmcost__sse sse;
		llmcost__evs evs;
	} u;
} llmcost__stream;

_Static_assert(sizeof(llmcost__stream) <= LLMCOST_STREAM_SIZE,
    "llmcost_stream is too small for the stream state");
_Static_assert(alignof(llmcost__stream) <= alignof(llmcost_stream),
    "llmcost_stream is not aligned enough");

static const llmcost__fmt *
format(llmcost_format f)
{
	switch (f) {
	case LLMCOST_FMT_OPENAI_CHAT:
		return (&llmcost__fmt_openai_chat);
	case LLMCOST_FMT_OPENAI_RESPONSES:
		return (&llmcost__fmt_openai_responses);
	case LLMCOST_FMT_ANTHROPIC:
		return (&llmcost__fmt_anthropic);
	case LLMCOST_FMT_GEMINI:
		return (&llmcost__fmt_gemini);
	case LLMCOST_FMT_BEDROCK_CONVERSE:
		return (&llmcost__fmt_bedrock);
	}
	return (NULL);
}

// Shared by the formats (provider.h).

int
llmcost__sub(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b > a) {
		return (LLMCOST_EPROTO);
	}
	*out = a - b;
	return (0);
}

int
llmcost__add(uint64_t a, uint64_t b, uint64_t *out)
{
	if (a > UINT64_MAX - b) {
		return (LLMCOST_ETOOBIG);
	}
	*out = a + b;
	return (0);
}

void
llmcost__acc_take_all(llmcost__acc *a)
{
	a->cur = a->ev;
}

void
llmcost__acc_take_reported(llmcost__acc *a)
{
	for (unsigned c = 0; c < C_COUNT; c++) {
		if ((a->ev.have >> c) & 1u) {
			a->cur.v[c] = a->ev.v[c];
		}
	}
	a->cur.have |= a->ev.have;
}

static void
text_copy(llmcost__text *dst, const llmcost__text *src)
{
	dst->len = src->len;
	dst->prio = src->prio;
	dst->set = 1;
	memcpy(dst->s, src->s, src->len);
	dst->s[src->len] = '\0';
}

void
llmcost__acc_take_names(llmcost__acc *a)
{
	if (a->ev_model.set) {
		text_copy(&a->model, &a->ev_model);
	}
	if (a->ev_id.set && (!a->id.set || a->ev_id.prio >= a->id.prio)) {
		text_copy(&a->id, &a->ev_id);
	}
}

int
llmcost__take_cost(const llmcost__acc *a, llmcost_response *r)
{
	uint64_t cost;
	if (!HAVE(a, C_COST)) {
		return (0);
	}
	cost = CNT(a, C_COST);
	if (CNT(a, C_BYOK) != 0 && HAVE(a, C_UPSTREAM)
	    && llmcost__add(cost, CNT(a, C_UPSTREAM), &cost) != 0) {
		return (LLMCOST_ETOOBIG);
	}
	if (cost > (uint64_t) INT64_MAX) {
		return (LLMCOST_ETOOBIG);
	}
	r->provider_cost_pusd = (int64_t) cost;
	return (0);
}

// The fields of a message.

static void
begin_message(llmcost__acc *a)
{
	memset(&a->ev, 0, sizeof(a->ev));
	a->ev_flags = 0;
	a->ev_kind = 0;
	a->ev_model.set = 0;
	a->ev_id.set = 0;
	a->mod = 0;
	a->mod_count = 0;
}

static void
text_take(llmcost__text *t, const llmcost__json *j, size_t max, uint8_t prio)
{
	// A cut value is not the name: keep none rather than a wrong one.
	if (j->val_trunc || j->val_len == 0 || j->val_len > max
	    || (t->set && prio < t->prio)) {
		return;
	}
	memcpy(t->s, j->val, j->val_len);
	t->s[j->val_len] = '\0';
	t->len = j->val_len;
	t->prio = prio;
	t->set = 1;
}

static int
apply_field(llmcost__acc *a, const llmcost__field *f, unsigned prefix,
    const llmcost__json *j, int ev)
{
	uint64_t u;
	int64_t pusd;
	int rv;

	if (ev == LLMCOST__J_NULL) {
		return (0); // null means "not reported" everywhere
	}
	switch (f->kind) {
	case K_COUNT:
		if (ev != LLMCOST__J_NUM) {
			return (LLMCOST_EPROTO);
		}
		if ((rv = llmcost__json_u64(j, &u)) != 0) {
			return (rv);
		}
		a->ev.v[f->slot] = u;
		a->ev.have |= 1u << f->slot;
		return (0);
	case K_PUSD:
		if (ev != LLMCOST__J_NUM) {
			return (LLMCOST_EPROTO);
		}
		if ((rv = llmcost__json_pusd(j, &pusd)) != 0) {
			return (rv);
		}
		a->ev.v[f->slot] = (uint64_t) pusd;
		a->ev.have |= 1u << f->slot;
		return (0);
	case K_BOOL:
		if (ev != LLMCOST__J_TRUE && ev != LLMCOST__J_FALSE) {
			return (LLMCOST_EPROTO);
		}
		a->ev.v[f->slot] = ev == LLMCOST__J_TRUE;
		a->ev.have |= 1u << f->slot;
		return (0);
	case K_MODEL:
		if (ev == LLMCOST__J_STR) {
			text_take(&a->ev_model, j, LLMCOST_MAX_MODEL, 0);
		}
		return (0);
	case K_ID:
		if (ev == LLMCOST__J_STR) {
			text_take(&a->ev_id, j, LLMCOST__ID_MAX,
			    (uint8_t) (f->slot + prefix));
		}
		return (0);
	case K_OBJ_FLAG:
		if (ev == LLMCOST__J_OBJ) {
			a->ev_flags |= f->slot;
		}
		return (0);
	case K_STR_FLAG:
		if (ev == LLMCOST__J_STR) {
			a->ev_flags |= f->slot;
		}
		return (0);
	case K_KIND:
		if (ev == LLMCOST__J_STR && a->fmt->kind != NULL) {
			uint8_t k = a->fmt->kind(j->val, j->val_len);
			if (k > a->ev_kind) {
				a->ev_kind = k;
			}
		}
		return (0);
	default: // K_COUNT_IF
		if (ev == LLMCOST__J_STR && !j->val_trunc
		    && strcmp(j->val, f->match) == 0) {
			if (a->ev.v[f->slot] == UINT64_MAX) {
				return (LLMCOST_ETOOBIG);
			}
			a->ev.v[f->slot]++;
			a->ev.have |= 1u << f->slot;
		}
		return (0);
	}
}

// The format's table against one value (path relative to the message).
static int
match_table(llmcost__acc *a, const llmcost__json *j, const char *path,
    size_t plen, int ev)
{
	const llmcost__fmt *fmt = a->fmt;
	size_t pre_len[4];
	unsigned n_pre = 0;
	int rv;

	// Which prefixes the path starts with ("" always does).
	for (unsigned i = 0; fmt->prefixes[i] != NULL && i < 4; i++) {
		size_t n = strlen(fmt->prefixes[i]);
		pre_len[i]
		    = plen >= n && memcmp(path, fmt->prefixes[i], n) == 0
		    ? n
		    : SIZE_MAX;
		n_pre = i + 1;
	}
	for (size_t k = 0; k < fmt->n_fields; k++) {
		const llmcost__field *f = &fmt->fields[k];
		if (f->bare) {
			if (plen == f->len && memcmp(path, f->path, plen) == 0
			    && (rv = apply_field(a, f, 0, j, ev)) != 0) {
				return (rv);
			}
			continue;
		}
		for (unsigned i = 0; i < n_pre; i++) {
			size_t n = pre_len[i];
			if (n == SIZE_MAX || plen != n + f->len
			    || memcmp(path + n, f->path, f->len) != 0) {
				continue;
			}
			if ((rv = apply_field(a, f, i, j, ev)) != 0) {
				return (rv);
			}
			break;
		}
	}
	return (0);
}

static int
match_fields(llmcost__acc *a, const llmcost__json *j, const char *path,
    size_t plen, int ev)
{
	int rv;
	// Most values (the answer's text, ids of parts) have a path of a
	// length no field has: skip them with one bit test.
	if (((a->path_lens[plen / 64] >> (plen % 64)) & 1u) != 0
	    && (rv = match_table(a, j, path, plen, ev)) != 0) {
		return (rv);
	}
	if (a->fmt->value != NULL) {
		return (a->fmt->value(a, j, path, plen, ev));
	}
	return (0);
}

static int
on_json(void *arg, const llmcost__json *j, int ev)
{
	llmcost__stream *st = arg;
	llmcost__acc *a = &st->acc;
	const char *path = j->path;
	size_t plen = j->path_len;

	if (st->array) {
		// [ {message}, {message}, ... ]
		if (j->depth == 0) {
			if (ev == LLMCOST__J_END_ARR) {
				a->flags |= F_DONE;
			} else if (ev != LLMCOST__J_ARR) {
				return (LLMCOST_EPROTO);
			}
			return (0);
		}
		if (j->depth == 1) {
			if (ev == LLMCOST__J_OBJ) {
				begin_message(a);
			} else if (ev == LLMCOST__J_END_OBJ) {
				a->fmt->commit(a);
			} else {
				return (LLMCOST_EPROTO);
			}
			return (0);
		}
		path += 3; // "[]."
		plen -= 3;
	}
	if (j->ovf != 0) {
		return (0); // too deep a path to be one we read
	}
	return (match_fields(a, j, path, plen, ev));
}

// Server-sent events.

static int
is_ws(char c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static int
sse_data(void *arg, const char *p, size_t n)
{
	llmcost__stream *st = arg;
	while (n > 0 && st->data == D_NONE) {
		if (is_ws(*p)) {
			p++;
			n--;
			continue;
		}
		if (*p == '{') {
			st->data = D_JSON;
			begin_message(&st->acc);
			llmcost__json_init(&st->json, on_json, st);
		} else {
			st->data = D_RAW;
			st->raw_len = 0;
		}
	}
	if (n == 0) {
		return (0);
	}
	if (st->data == D_JSON) {
		return (llmcost__json_feed(&st->json, p, n));
	}
	if (n > sizeof(st->raw) - st->raw_len) {
		return (
		    LLMCOST_EPROTO); // no provider sends long non-JSON data
	}
	memcpy(st->raw + st->raw_len, p, n);
	st->raw_len += (uint8_t) n;
	return (0);
}

// The raw data of an event is the end marker "[DONE]".
static int
raw_is_done(const llmcost__stream *st)
{
	size_t n = st->raw_len;
	while (n > 0 && is_ws(st->raw[n - 1])) {
		n--;
	}
	return (n == 6 && memcmp(st->raw, "[DONE]", 6) == 0);
}

static int
end_event(llmcost__stream *st)
{
	int rv = 0;
	switch (st->data) {
	case D_JSON:
		if ((rv = llmcost__json_end(&st->json)) == 0) {
			st->acc.fmt->commit(&st->acc);
		}
		break;
	case D_RAW:
		if (raw_is_done(st)) {
			st->acc.flags |= F_DONE;
		} else {
			rv = LLMCOST_EPROTO;
		}
		break;
	default:
		break;
	}
	st->data = D_NONE;
	return (rv);
}

static int
sse_dispatch(void *arg, const char *event)
{
	(void) event; // every format names its events inside the data
	return (end_event(arg));
}

static const llmcost__sse_sink sse_sink = { sse_data, sse_dispatch };

// The AWS event stream.

static int
evs_begin(void *arg, const char *event_type, const char *msg_type)
{
	llmcost__stream *st = arg;
	llmcost__acc *a = &st->acc;
	begin_message(a);
	if (a->fmt->kind != NULL) {
		a->ev_kind = a->fmt->kind(event_type, strlen(event_type));
	}
	if (strcmp(msg_type, "exception") == 0
	    || strcmp(msg_type, "error") == 0) {
		a->ev_flags |= EV_ERROR;
	}
	llmcost__json_init(&st->json, on_json, st);
	st->payload = 0;
	return (0);
}

static int
evs_payload(void *arg, const char *p, size_t n)
{
	llmcost__stream *st = arg;
	st->payload += n;
	return (llmcost__json_feed(&st->json, p, n));
}

static int
evs_end(void *arg)
{
	llmcost__stream *st = arg;
	int rv;
	if (st->payload > 0 && (rv = llmcost__json_end(&st->json)) != 0) {
		return (rv);
	}
	st->acc.fmt->commit(&st->acc);
	return (0);
}

static const llmcost__evs_sink evs_sink = { evs_begin, evs_payload, evs_end };

// The state machine shared by bodies and streams.

static int
stream_setup(llmcost__stream *st, llmcost_format f, int streaming)
{
	const llmcost__fmt *fmt = format(f);
	if (fmt == NULL) {
		return (LLMCOST_EINVAL);
	}
	memset(st, 0, sizeof(*st));
	st->acc.fmt = fmt;
	for (size_t k = 0; k < fmt->n_fields; k++) {
		for (unsigned i = 0; fmt->prefixes[i] != NULL; i++) {
			size_t n = fmt->fields[k].len;
			if (!fmt->fields[k].bare) {
				n += strlen(fmt->prefixes[i]);
			} else if (i > 0) {
				break;
			}
			if (n < LLMCOST__JSON_PATH_MAX) {
				st->acc.path_lens[n / 64] |= UINT64_C(1)
				    << (n % 64);
			}
		}
	}
	st->acc.streaming = (uint8_t) streaming;
	if (!streaming) {
		st->framing = FR_JSON;
		begin_message(&st->acc);
		llmcost__json_init(&st->json, on_json, st);
	} else if (fmt->framing == FR_SSE) {
		st->framing = FR_SSE;
		llmcost__sse_init(&st->u.sse, &sse_sink, st);
	} else if (fmt->framing == FR_EVS) {
		st->framing = FR_EVS;
		llmcost__evs_init(&st->u.evs, &evs_sink, st);
	} else {
		st->framing = FR_AUTO;
	}
	st->magic = STREAM_MAGIC;
	return (0);
}

static int
stream_feed(llmcost__stream *st, const char *p, size_t n)
{
	int rv;

	if (st->err != 0) {
		return (st->err);
	}
	if (st->framing == FR_AUTO
	    || (st->framing == FR_JSON && st->acc.fmt == &llmcost__fmt_gemini
	        && llmcost__json_empty(&st->json))) {
		// Gemini: a JSON array, or server-sent events (alt=sse).
		while (n > 0 && is_ws(*p)) {
			p++;
			n--;
		}
		if (n == 0) {
			return (0);
		}
		if (*p == '[') {
			st->array = 1;
			if (st->framing == FR_AUTO) {
				st->framing = FR_JSON;
				llmcost__json_init(&st->json, on_json, st);
			}
		} else if (st->framing == FR_AUTO) {
			st->framing = FR_SSE;
			llmcost__sse_init(&st->u.sse, &sse_sink, st);
		}
	}
	switch (st->framing) {
	case FR_SSE:
		rv = llmcost__sse_feed(&st->u.sse, p, n);
		break;
	case FR_EVS:
		rv = llmcost__evs_feed(&st->u.evs, p, n);
		break;
	default:
		rv = llmcost__json_feed(&st->json, p, n);
		break;
	}
	st->err = rv;
	return (rv);
}

// The end of a stream: the last message may lack its blank line.
static void
stream_end(llmcost__stream *st)
{
	if (st->err != 0) {
		return;
	}
	switch (st->framing) {
	case FR_SSE:
		// A final event whose JSON is whole is read even without
		// its blank line; a half one is a cut stream.
		if ((st->data == D_JSON && llmcost__json_done(&st->json))
		    || (st->data == D_RAW && raw_is_done(st))) {
			st->err = end_event(st);
		}
		break;
	case FR_JSON:
		if (!st->acc.streaming) {
			if ((st->err = llmcost__json_end(&st->json)) == 0
			    && !st->array) {
				st->acc.fmt->commit(&st->acc);
			}
		}
		// A cut JSON array keeps the elements read so far.
		break;
	default:
		break;
	}
}

static void
finalize(llmcost__stream *st, llmcost_response *r, int *rvp)
{
	const llmcost__acc *a = &st->acc;
	int streaming = a->streaming;
	int complete = st->err == 0 && a->fmt->complete(a);
	int error = (a->flags & F_ERROR) != 0;
	int usage = 0, rv = 0;

	memset(r, 0, sizeof(*r));
	r->provider_cost_pusd = LLMCOST_COST_NONE;
	r->status = LLMCOST_STATUS_OK;
	if (!streaming && st->err != 0) {
		// A malformed body says nothing reliable.
		r->usage_flags = LLMCOST_USAGE_MISSING;
		*rvp = st->err;
		return;
	}
	if (a->flags & F_USAGE) {
		if ((rv = a->fmt->buckets(a, r)) == 0) {
			usage = 1;
		} else {
			memset(&r->usage, 0, sizeof(r->usage));
			memset(r->fees, 0, sizeof(r->fees));
			r->provider_cost_pusd = LLMCOST_COST_NONE;
			complete = 0;
		}
	}
	if (a->model.set) {
		memcpy(r->model, a->model.s, a->model.len + 1u);
	}
	if (a->id.set) {
		memcpy(r->request_id, a->id.s, a->id.len + 1u);
	}
	if (streaming) {
		if (error) {
			r->status = LLMCOST_STATUS_ERROR;
		} else if (!complete) {
			r->status = LLMCOST_STATUS_ABORTED;
		}
		if (!usage) {
			r->usage_flags = LLMCOST_USAGE_MISSING;
		} else if (!complete) {
			r->usage_flags = LLMCOST_USAGE_PARTIAL;
		}
		*rvp = st->err != 0     ? st->err
		    : rv != 0           ? rv
		    : complete || error ? 0
		                        : LLMCOST_EINCOMPLETE;
		return;
	}
	// An error without usage cost nothing; an error whose usage could
	// not be read says nothing reliable about it.
	if (error) {
		r->status = LLMCOST_STATUS_ERROR;
	}
	if (rv != 0 || (!usage && !error)) {
		r->usage_flags = LLMCOST_USAGE_MISSING;
	}
	*rvp = rv != 0 ? rv : usage || error ? 0 : LLMCOST_ENOTFOUND;
}

// The public API.

int
llmcost_response_parse(
    llmcost_format fmt, const void *body, size_t len, llmcost_response *out)
{
	llmcost__stream st;
	int rv;

	if (out == NULL || (body == NULL && len > 0)
	    || stream_setup(&st, fmt, 0) != 0) {
		return (LLMCOST_EINVAL);
	}
	(void) stream_feed(&st, body, len);
	stream_end(&st);
	finalize(&st, out, &rv);
	return (rv);
}

static llmcost__stream *
stream_of(llmcost_stream *s)
{
	llmcost__stream *st = (llmcost__stream *) (void *) s;
	if (s == NULL || st->magic != STREAM_MAGIC) {
		return (NULL);
	}
	return (st);
}

int
llmcost_stream_init(llmcost_stream *s, llmcost_format fmt)
{
	if (s == NULL) {
		return (LLMCOST_EINVAL);
	}
	return (stream_setup((llmcost__stream *) (void *) s, fmt, 1));
}

int
llmcost_stream_feed(llmcost_stream *s, const void *data, size_t len)
{
	llmcost__stream *st = stream_of(s);
	if (st == NULL || (data == NULL && len > 0)) {
		return (LLMCOST_EINVAL);
	}
	return (stream_feed(st, data, len));
}

int
llmcost__stream_result(llmcost_stream *s, llmcost_response *out)
{
	llmcost__stream *st = stream_of(s);
	int rv;

	if (st == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	stream_end(st);
	finalize(st, out, &rv);
	st->magic = 0;
	return (rv);
}
