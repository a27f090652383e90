// DESIGN: the render stage of the collector (decode -> price -> store ->
// query -> render): three renderings of one report_build() result, each
// written through a sink that is either a FILE or a bounded buffer, so
// the CLI prints to stdout and an HTTP handler can answer from memory
// with the same bytes.  A buffer never grows: like snprintf it keeps what
// fits and counts the rest, so memory stays bounded and a caller learns
// the size to retry with.  The table is for people (costs rounded to 4
// decimals, thousands separators, a '*' on costs that leave out unpriced
// calls, which are listed below it: never a silent $0); CSV and JSON are
// for machines, with exact costs as decimal strings.  Calls whose usage
// was missing or partial (streams that ended early) are counted and
// marked '?' in the table, never shown as a plain $0; the cost the
// providers reported themselves is a column of CSV and JSON always, and
// of the table only when some call carried one, so that the default
// table stays as it was.  JSON is built with jansson: a report is a cold
// path, and jansson's escaping is tested.
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "llmcost_common.h"
#include "render.h"

// ---- sinks ----

void
render_sink_file(render_sink *s, FILE *f)
{
	memset(s, 0, sizeof(*s));
	s->f = f;
}

void
render_sink_buffer(render_sink *s, char *buf, size_t cap)
{
	memset(s, 0, sizeof(*s));
	s->buf = buf;
	s->cap = buf != NULL ? cap : 0;
	if (s->cap > 0) {
		buf[0] = '\0';
	}
}

static void
out_write(render_sink *s, const char *p, size_t n)
{
	if (s->f != NULL) {
		if (n > 0 && fwrite(p, 1, n, s->f) != n && s->err == 0) {
			s->err = LLMCOST_ESYSTEM;
		}
	} else if (s->len < s->cap) {
		size_t room = s->cap - 1 - s->len;
		size_t k = n < room ? n : room;
		memcpy(s->buf + s->len, p, k);
		s->buf[s->len + k] = '\0';
	}
	s->len += n;
}

static void out_printf(render_sink *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
out_printf(render_sink *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	if (s->f != NULL) {
		n = vfprintf(s->f, fmt, ap);
	} else if (s->len < s->cap) {
		n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
	} else {
		n = vsnprintf(NULL, 0, fmt, ap);
	}
	va_end(ap);
	if (n < 0) {
		if (s->err == 0) {
			s->err = LLMCOST_ESYSTEM;
		}
		return;
	}
	s->len += (size_t) n;
}

static void
out_putc(render_sink *s, char c)
{
	out_write(s, &c, 1);
}

static void
out_repeat(render_sink *s, char c, int n)
{
	for (int i = 0; i < n; i++) {
		out_putc(s, c);
	}
}

// ---- shared pieces ----

static void
fmt_thousands(uint64_t v, char *buf, size_t bufsz)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long) v);
	size_t o = 0;
	for (int i = 0; i < n && o + 1 < bufsz; i++) {
		if (i > 0 && (n - i) % 3 == 0 && o + 2 < bufsz) {
			buf[o++] = ',';
		}
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
}

static void
fmt_hour(uint32_t hour, char *buf, size_t bufsz)
{
	time_t t = (time_t) hour * 3600;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, bufsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *
row_label(const report_row *r)
{
	return (r->name != NULL ? r->name : "untagged");
}

// The report key of each fee (llmcost.h's LLMCOST_FEE_MAP).
static const char *const fee_key[LLMCOST_FEE_COUNT] = {
#define FEE_KEY(name, num, key, doc) [num] = key,
	LLMCOST_FEE_MAP(FEE_KEY)
#undef FEE_KEY
};

static uint64_t
usage_unknown(const report_row *r)
{
	return (r->usage_missing_calls + r->usage_partial_calls);
}

// ---- table ----

#define TABLE_NAME_MIN 25 // the name column's width ...
#define TABLE_NAME_MAX 60 // ... grows with the names up to this

static void
render_table(const report *r, render_sink *s)
{
	char in[32], out[32], cost[80], calls[32], from[32], to[32];
	char pcost[80];
	int w = TABLE_NAME_MIN;
	int pcol = r->total.provider_cost_calls > 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		int len = (int) strlen(row_label(&r->rows[i]));
		if (len > w) {
			w = len > TABLE_NAME_MAX ? TABLE_NAME_MAX : len;
		}
	}
	char head[16];
	snprintf(head, sizeof(head), "%s", report_dim_name(r->dim));
	head[0] = (char) (head[0] - 'a' + 'A');
	out_printf(s, "\n%-*s %8s %12s %12s %12s", w, head, "Calls",
	    "Input Tok", "Output Tok", "Est. Cost");
	if (pcol) {
		out_printf(s, " %13s", "Provider Cost");
	}
	out_putc(s, '\n');
	int width = w + 48 + (pcol ? 14 : 0);
	out_repeat(s, '-', width);
	out_putc(s, '\n');
	for (size_t i = 0; i < r->n_rows + 1; i++) {
		const report_row *row
		    = i < r->n_rows ? &r->rows[i] : &r->total;
		if (i == r->n_rows) {
			out_repeat(s, '-', width);
			out_putc(s, '\n');
		}
		fmt_thousands(row->calls, calls, sizeof(calls));
		fmt_thousands(row->input_tokens, in, sizeof(in));
		fmt_thousands(row->output_tokens, out, sizeof(out));
		char c[64];
		report_fmt_usd(row->cost_pusd, 4, c, sizeof(c));
		snprintf(cost, sizeof(cost), "$%s%s%s", c,
		    row->unpriced_calls > 0 ? "*" : "",
		    usage_unknown(row) > 0 ? "?" : "");
		out_printf(s, "%-*.*s %8s %12s %12s %12s", w, w,
		    i < r->n_rows ? row_label(row) : "total", calls, in, out,
		    cost);
		if (!pcol) {
			out_putc(s, '\n');
			continue;
		}
		// A row without any reported cost shows "-", not $0.
		report_fmt_usd(row->provider_cost_pusd, 4, c, sizeof(c));
		snprintf(pcost, sizeof(pcost), "$%s", c);
		out_printf(
		    s, " %13s\n", row->provider_cost_calls > 0 ? pcost : "-");
	}
	fmt_hour(r->from_hour, from, sizeof(from));
	fmt_hour(r->to_hour, to, sizeof(to));
	out_printf(s, "\nWindow: %s .. %s (UTC, whole hours)\n", from, to);
	if (r->n_unpriced > 0) {
		out_printf(s, "* leaves out calls to models with no price:\n");
		for (size_t i = 0; i < r->n_unpriced; i++) {
			out_printf(s, "    %s/%s: %llu calls\n",
			    r->unpriced[i].provider ? r->unpriced[i].provider
			                            : "?",
			    r->unpriced[i].model ? r->unpriced[i].model : "?",
			    (unsigned long long) r->unpriced[i].calls);
		}
	}
	if (r->total.usage_missing_calls > 0) {
		out_printf(s,
		    "? %llu calls ended without usage (aborted streams): "
		    "their cost is unknown\n",
		    (unsigned long long) r->total.usage_missing_calls);
	}
	if (r->total.usage_partial_calls > 0) {
		out_printf(s,
		    "? %llu calls were cut short with partial usage: their "
		    "cost counts only the usage reported\n",
		    (unsigned long long) r->total.usage_partial_calls);
	}
	if (pcol) {
		out_printf(s,
		    "Provider Cost: the providers' own figures, for the "
		    "%llu of %llu calls that reported one\n",
		    (unsigned long long) r->total.provider_cost_calls,
		    (unsigned long long) r->total.calls);
	}
	if (r->dropped > 0) {
		out_printf(s,
		    "! clients dropped %llu calls before they reached the "
		    "collector (queue full):\n  the figures above miss "
		    "them.\n",
		    (unsigned long long) r->dropped);
	}
}

// ---- CSV ----

// RFC 4180: a field with a comma, quote or line break is quoted, and its
// quotes doubled.
static void
csv_field(render_sink *s, const char *f)
{
	if (strpbrk(f, ",\"\r\n") == NULL) {
		out_write(s, f, strlen(f));
		return;
	}
	out_putc(s, '"');
	for (; *f != '\0'; f++) {
		if (*f == '"') {
			out_putc(s, '"');
		}
		out_putc(s, *f);
	}
	out_putc(s, '"');
}

static void
render_csv(const report *r, render_sink *s)
{
	char cost[64];
	out_printf(s,
	    "%s,calls,input_tokens,output_tokens,estimated_cost_usd,"
	    "unpriced_calls,error_calls,fee_cost_usd",
	    report_dim_name(r->dim));
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		out_printf(s, ",%s", fee_key[f]);
	}
	out_printf(s,
	    ",provider_cost_usd,provider_cost_calls,usage_missing_calls,"
	    "usage_partial_calls\n");
	for (size_t i = 0; i < r->n_rows; i++) {
		const report_row *row = &r->rows[i];
		csv_field(s, row_label(row));
		out_printf(s, ",%llu,%llu,%llu,%s,%llu,%llu",
		    (unsigned long long) row->calls,
		    (unsigned long long) row->input_tokens,
		    (unsigned long long) row->output_tokens,
		    report_fmt_usd(row->cost_pusd, 12, cost, sizeof(cost)),
		    (unsigned long long) row->unpriced_calls,
		    (unsigned long long) row->error_calls);
		out_printf(s, ",%s",
		    report_fmt_usd(
		        row->fee_cost_pusd, 12, cost, sizeof(cost)));
		for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
			out_printf(
			    s, ",%llu", (unsigned long long) row->fees[f]);
		}
		// No reported cost is an empty field, not 0.
		out_printf(s, ",%s,%llu,%llu,%llu\n",
		    row->provider_cost_calls > 0 ? report_fmt_usd(
		        row->provider_cost_pusd, 12, cost, sizeof(cost))
		                                 : "",
		    (unsigned long long) row->provider_cost_calls,
		    (unsigned long long) row->usage_missing_calls,
		    (unsigned long long) row->usage_partial_calls);
	}
}

// ---- JSON ----

static json_t *
json_row(const report *r, const report_row *row, int named)
{
	char buf[64];
	json_t *o = json_object();
	if (named) {
		json_object_set_new(
		    o, report_dim_name(r->dim), json_string(row_label(row)));
		json_object_set_new(
		    o, "untagged", json_boolean(row->name == NULL));
	}
	json_object_set_new(o, "calls", json_integer((json_int_t) row->calls));
	json_object_set_new(
	    o, "input_tokens", json_integer((json_int_t) row->input_tokens));
	json_object_set_new(
	    o, "output_tokens", json_integer((json_int_t) row->output_tokens));
	json_object_set_new(o, "cost_usd",
	    json_string(report_fmt_usd(row->cost_pusd, 12, buf, sizeof(buf))));
	json_object_set_new(o, "cost_pusd",
	    json_string(report_fmt_i128(row->cost_pusd, buf, sizeof(buf))));
	json_object_set_new(o, "unpriced_calls",
	    json_integer((json_int_t) row->unpriced_calls));
	json_object_set_new(
	    o, "error_calls", json_integer((json_int_t) row->error_calls));
	json_t *u = json_object();
	for (int b = 0; b < LLMCOST_BUCKET_COUNT; b++) {
		json_object_set_new(u, llmcost__bucket_key[b],
		    json_integer((json_int_t) row->usage[b]));
	}
	json_object_set_new(o, "usage", u);
	json_t *fe = json_object();
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		json_object_set_new(
		    fe, fee_key[f], json_integer((json_int_t) row->fees[f]));
	}
	json_object_set_new(o, "fees", fe);
	json_object_set_new(o, "fee_cost_usd",
	    json_string(
	        report_fmt_usd(row->fee_cost_pusd, 12, buf, sizeof(buf))));
	json_object_set_new(o, "fee_cost_pusd",
	    json_string(
	        report_fmt_i128(row->fee_cost_pusd, buf, sizeof(buf))));
	// No reported cost is null, not "0".
	json_object_set_new(o, "provider_cost_usd",
	    row->provider_cost_calls > 0 ? json_string(
	        report_fmt_usd(row->provider_cost_pusd, 12, buf, sizeof(buf)))
	                                 : json_null());
	json_object_set_new(o, "provider_cost_pusd",
	    row->provider_cost_calls > 0 ? json_string(
	        report_fmt_i128(row->provider_cost_pusd, buf, sizeof(buf)))
	                                 : json_null());
	json_object_set_new(o, "provider_cost_calls",
	    json_integer((json_int_t) row->provider_cost_calls));
	json_object_set_new(o, "usage_missing_calls",
	    json_integer((json_int_t) row->usage_missing_calls));
	json_object_set_new(o, "usage_partial_calls",
	    json_integer((json_int_t) row->usage_partial_calls));
	return (o);
}

static int
json_out(const char *buf, size_t size, void *arg)
{
	render_sink *s = arg;
	out_write(s, buf, size);
	return (s->err == 0 ? 0 : -1);
}

static void
render_json(const report *r, render_sink *s)
{
	char from[32], to[32];
	json_t *root = json_object();
	json_t *rows = json_array();
	json_t *unp = json_array();

	if (root == NULL || rows == NULL || unp == NULL) {
		json_decref(root);
		json_decref(rows);
		json_decref(unp);
		s->err = s->err != 0 ? s->err : LLMCOST_ENOMEM;
		return;
	}
	fmt_hour(r->from_hour, from, sizeof(from));
	fmt_hour(r->to_hour, to, sizeof(to));
	json_object_set_new(root, "from", json_string(from));
	json_object_set_new(root, "to", json_string(to));
	json_object_set_new(
	    root, "group_by", json_string(report_dim_name(r->dim)));
	for (size_t i = 0; i < r->n_rows; i++) {
		json_array_append_new(rows, json_row(r, &r->rows[i], 1));
	}
	json_object_set_new(root, "rows", rows);
	json_object_set_new(root, "total", json_row(r, &r->total, 0));
	for (size_t i = 0; i < r->n_unpriced; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "provider",
		    json_string(r->unpriced[i].provider
		            ? r->unpriced[i].provider
		            : ""));
		json_object_set_new(o, "model",
		    json_string(
		        r->unpriced[i].model ? r->unpriced[i].model : ""));
		json_object_set_new(o, "calls",
		    json_integer((json_int_t) r->unpriced[i].calls));
		json_array_append_new(unp, o);
	}
	json_object_set_new(root, "unpriced_models", unp);
	json_object_set_new(
	    root, "dropped_calls", json_integer((json_int_t) r->dropped));
	if (json_dump_callback(
	        root, json_out, s, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
	        != 0
	    && s->err == 0) {
		s->err = LLMCOST_ENOMEM;
	}
	out_putc(s, '\n');
	json_decref(root);
}

int
render_report(const report *r, render_format fmt, render_sink *out)
{
	if (r == NULL || out == NULL) {
		return (LLMCOST_EINVAL);
	}
	switch (fmt) {
	case RENDER_TABLE:
		render_table(r, out);
		break;
	case RENDER_CSV:
		render_csv(r, out);
		break;
	case RENDER_JSON:
		render_json(r, out);
		break;
	default:
		return (LLMCOST_EINVAL);
	}
	if (out->err != 0) {
		return (out->err);
	}
	if (out->f == NULL && out->len >= out->cap) {
		return (LLMCOST_ETOOBIG);
	}
	return (0);
}
