// DESIGN: the render stage of the collector (decode -> price -> store ->
// query -> render): three renderings of one query_run() result, each
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
// table stays as it was.  A result has a column per group-by key and,
// for a time series, a period column first, in the query's time zone.
// The table rounds each row on its own, so its rows need not add up to
// its rounded total: it then says so, and by how much, rather than let
// a reader think a figure was lost; grouped by tag, rows overlap (a call
// in the row of each of its tags) and the table and JSON say so instead.
// JSON is built with jansson: a report is a cold path, and jansson's
// escaping is tested.
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "llmcost_common.h"
#include "prices.h"
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

// An instant in RFC 3339 at offset off: "...Z" for UTC, else "+01:00".
// With short, only what a period of unit every needs: the date for days
// and weeks, date, hour and offset for hours.
static void
fmt_time(int64_t t, int32_t off, query_every every, char *buf, size_t bufsz)
{
	time_t lt = (time_t) (t + off);
	struct tm tm;
	char zone[16];
	int32_t a = off < 0 ? -off : off;

	gmtime_r(&lt, &tm);
	if (off == 0 && every != QUERY_EVERY_HOUR) {
		snprintf(zone, sizeof(zone), "Z");
	} else {
		snprintf(zone, sizeof(zone), "%c%02d:%02d",
		    off < 0 ? '-' : '+', (int) (a / 3600),
		    (int) (a % 3600 / 60));
	}
	switch (every) {
	case QUERY_EVERY_DAY:
	case QUERY_EVERY_WEEK:
		strftime(buf, bufsz, "%Y-%m-%d", &tm);
		break;
	case QUERY_EVERY_HOUR: {
		char d[32];
		strftime(d, sizeof(d), "%Y-%m-%d %H:%M", &tm);
		snprintf(buf, bufsz, "%s %s", d, zone);
		break;
	}
	default: {
		char d[32];
		strftime(d, sizeof(d), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(buf, bufsz, "%s%s", d, zone);
		break;
	}
	}
}

#define LABEL_ABSENT "untagged"
#define LABEL_OTHER  "(other)"

// What the table and CSV show for key k of a row.
static const char *
key_label(const query_row *r, uint32_t k)
{
	if (r->other) {
		return (LABEL_OTHER);
	}
	return (r->keys[k] != NULL ? r->keys[k] : LABEL_ABSENT);
}

// The report key of each fee (llmcost.h's LLMCOST_FEE_MAP).
static const char *const fee_key[LLMCOST_FEE_COUNT] = {
#define FEE_KEY(name, num, key, doc) [num] = key,
	LLMCOST_FEE_MAP(FEE_KEY)
#undef FEE_KEY
};

static uint64_t
usage_unknown(const query_sums *r)
{
	return (r->usage_missing_calls + r->usage_partial_calls);
}

// ---- table ----

#define TABLE_NAME_MIN 25 // a lone key column's width ...
#define TABLE_NAME_MAX 60 // ... grows with the names up to this
#define TABLE_KEY_MIN  10 // each of several key columns, at least
#define TABLE_TIME_W   22 // "2025-03-30 01:00 +01:00" is 23 bytes

static const char *const period_head[] = { "", "Hour", "Day", "Week of" };

// Which price tables priced the window's calls (the store records the
// version per hour, store_price_versions), for a person: "V"; "A, B
// (several tables priced the window's calls)"; "unknown (...)" where the
// store has no record (a store from before the record, or a collector
// that does not send it); "none (no calls in the window)".
static void
price_tables_text(const store_pvers *p, char *buf, size_t n)
{
	size_t at = 0;
	buf[0] = '\0';
	if (p->n == 0) {
		snprintf(buf, n, "%s",
		    p->unknown ? "unknown (not recorded in the store)"
		               : "none (no calls in the window)");
		return;
	}
	for (uint32_t i = 0; i < p->n && at < n; i++) {
		int w = snprintf(
		    buf + at, n - at, "%s%s", i > 0 ? ", " : "", p->v[i]);
		at += w > 0 ? (size_t) w : 0;
	}
	if (at < n && p->more) {
		int w = snprintf(buf + at, n - at, ", ...");
		at += w > 0 ? (size_t) w : 0;
	}
	if (at < n && (p->n > 1 || p->unknown)) {
		snprintf(buf + at, n - at, " (%s%s%s)",
		    p->n > 1 ? "several tables priced the window's calls" : "",
		    p->n > 1 && p->unknown ? "; " : "",
		    p->unknown ? "unknown for some hours: not recorded" : "");
	}
}

static void
render_table(const query_result *r, render_sink *s)
{
	const query_spec *q = &r->spec;
	char in[32], out[32], cost[80], calls[32], pcost[80], c[64];
	char name[QUERY_KEY_NAME_MAX + 1];
	int w[QUERY_MAX_KEYS], nk = (int) q->n_by, width = 0;
	int every = q->every != QUERY_EVERY_NONE;
	int pcol = r->total.provider_cost_calls > 0;
	int tw = 0;

	// Columns: the period, one per key (a query without keys has one
	// column saying so), then the figures.
	if (every) {
		tw = q->every == QUERY_EVERY_HOUR ? TABLE_TIME_W + 1 : 10;
	}
	if (nk == 0 && !every) {
		nk = -1; // one "All calls" column
	}
	for (int k = 0; k < nk; k++) {
		query_key_name(&q->by[k], name, sizeof(name));
		int min = (nk == 1 && !every) ? TABLE_NAME_MIN : TABLE_KEY_MIN;
		w[k] = (int) strlen(name) > min ? (int) strlen(name) : min;
		for (size_t i = 0; i < r->n_rows; i++) {
			int len = (int) strlen(
			    key_label(&r->rows[i], (uint32_t) k));
			if (len > w[k]) {
				w[k] = len > TABLE_NAME_MAX ? TABLE_NAME_MAX
				                            : len;
			}
		}
	}
	out_putc(s, '\n');
	if (every) {
		out_printf(s, "%-*s ", tw, period_head[q->every]);
		width += tw + 1;
	}
	if (nk < 0) {
		out_printf(s, "%-*s ", TABLE_NAME_MIN, "All calls");
		width += TABLE_NAME_MIN + 1;
	}
	for (int k = 0; k < nk; k++) {
		query_key_name(&q->by[k], name, sizeof(name));
		name[0] = (char) (name[0] >= 'a' && name[0] <= 'z'
		        ? name[0] - 'a' + 'A'
		        : name[0]);
		out_printf(s, "%-*s ", w[k], name);
		width += w[k] + 1;
	}
	out_printf(s, "%8s %12s %12s %12s", "Calls", "Input Tok", "Output Tok",
	    "Est. Cost");
	if (pcol) {
		out_printf(s, " %13s", "Provider Cost");
	}
	out_putc(s, '\n');
	width += 47 + (pcol ? 14 : 0);
	out_repeat(s, '-', width);
	out_putc(s, '\n');
	store_i128 rounded = 0;
	for (size_t i = 0; i < r->n_rows + 1; i++) {
		const query_row *row = i < r->n_rows ? &r->rows[i] : NULL;
		const query_sums *sum = row != NULL ? &row->sum : &r->total;
		if (row == NULL) {
			out_repeat(s, '-', width);
			out_putc(s, '\n');
		}
		// The first column says "total" on the total row.
		int first = 1;
		if (every) {
			char t[48];
			if (row != NULL) {
				fmt_time(row->bucket, row->bucket_off,
				    q->every, t, sizeof(t));
			}
			out_printf(s, "%-*s ", tw, row != NULL ? t : "total");
			first = 0;
		}
		if (nk < 0) {
			out_printf(s, "%-*s ", TABLE_NAME_MIN,
			    row != NULL ? "all" : "total");
		}
		for (int k = 0; k < nk; k++) {
			const char *l = row != NULL
			    ? key_label(row, (uint32_t) k)
			    : (first && k == 0 ? "total" : "");
			out_printf(s, "%-*.*s ", w[k], w[k], l);
		}
		fmt_thousands(sum->calls, calls, sizeof(calls));
		fmt_thousands(sum->input_tokens, in, sizeof(in));
		fmt_thousands(sum->output_tokens, out, sizeof(out));
		report_fmt_usd(sum->cost_pusd, 4, c, sizeof(c));
		if (row != NULL) {
			rounded += report_round_pusd(sum->cost_pusd, 4);
		}
		snprintf(cost, sizeof(cost), "$%s%s%s", c,
		    sum->unpriced_calls > 0 ? "*" : "",
		    usage_unknown(sum) > 0 ? "?" : "");
		out_printf(s, "%8s %12s %12s %12s", calls, in, out, cost);
		if (!pcol) {
			out_putc(s, '\n');
			continue;
		}
		// A row without any reported cost shows "-", not $0.
		report_fmt_usd(sum->provider_cost_pusd, 4, c, sizeof(c));
		snprintf(pcost, sizeof(pcost), "$%s", c);
		out_printf(
		    s, " %13s\n", sum->provider_cost_calls > 0 ? pcost : "-");
	}
	char from[48], to[48];
	fmt_time((int64_t) (q->from_ns / 1000000000u), r->from_off,
	    QUERY_EVERY_NONE, from, sizeof(from));
	fmt_time((int64_t) (q->to_ns / 1000000000u), r->to_off,
	    QUERY_EVERY_NONE, to, sizeof(to));
	out_printf(s, "\nWindow: %s .. %s (%s)\n", from, to,
	    q->tz[0] != '\0' ? q->tz : "UTC");
	char ptv[STORE_PVERS_MAX * (STORE_PVER_LEN + 2) + 128];
	price_tables_text(&r->price_tables, ptv, sizeof(ptv));
	out_printf(
	    s, "Price table%s: %s\n", r->price_tables.n > 1 ? "s" : "", ptv);
	for (uint32_t f = 0; f < q->n_where; f++) {
		query_key_name(&q->where[f].key, name, sizeof(name));
		out_printf(s, "%s%s%s%s", f == 0 ? "Where: " : ", ", name,
		    q->where[f].negate ? "!=" : "=", q->where[f].value);
		if (f + 1 == q->n_where) {
			out_putc(s, '\n');
		}
	}
	if (query_rows_overlap(r)) {
		// Grouped by tag: a call with several tags is in several rows.
		out_printf(s,
		    "A call with several tags is counted in the row of each: "
		    "the rows overlap\n  and add up to more than the total, "
		    "which counts each call once.\n");
	} else if (rounded != report_round_pusd(r->total.cost_pusd, 4)) {
		report_fmt_usd(rounded, 4, c, sizeof(c));
		report_fmt_usd(r->total.cost_pusd, 4, cost, sizeof(cost));
		out_printf(s,
		    "Rounded to 4 decimals, the rows add up to $%s, the exact "
		    "total to $%s\n  (--format csv or json shows every "
		    "figure exactly).\n",
		    c, cost);
	}
	int others = 0;
	for (size_t i = 0; i < r->n_rows; i++) {
		others |= r->rows[i].other;
	}
	if (q->top > 0 && others) {
		out_printf(s, "%s sums the groups outside the top %u.\n",
		    LABEL_OTHER, q->top);
	}
	if (r->capped) {
		out_printf(s,
		    "! more than %llu groups: the rest are summed in %s;\n"
		    "  narrow the query with --where or a shorter window.\n",
		    (unsigned long long) r->groups, LABEL_OTHER);
	}
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
render_csv(const query_result *r, render_sink *s)
{
	const query_spec *q = &r->spec;
	char cost[64], name[QUERY_KEY_NAME_MAX + 1], t[48];

	if (q->every != QUERY_EVERY_NONE) {
		out_printf(s, "period_start,period_end,");
	}
	for (uint32_t k = 0; k < q->n_by; k++) {
		csv_field(s, query_key_name(&q->by[k], name, sizeof(name)));
		out_putc(s, ',');
	}
	out_printf(s,
	    "calls,input_tokens,output_tokens,estimated_cost_usd,"
	    "unpriced_calls,error_calls,fee_cost_usd");
	for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
		out_printf(s, ",%s", fee_key[f]);
	}
	out_printf(s,
	    ",provider_cost_usd,provider_cost_calls,usage_missing_calls,"
	    "usage_partial_calls,other\n");
	for (size_t i = 0; i < r->n_rows; i++) {
		const query_row *row = &r->rows[i];
		const query_sums *sum = &row->sum;
		if (q->every != QUERY_EVERY_NONE) {
			fmt_time(row->bucket, row->bucket_off,
			    QUERY_EVERY_NONE, t, sizeof(t));
			out_printf(s, "%s,", t);
			fmt_time(row->bucket_end, row->bucket_end_off,
			    QUERY_EVERY_NONE, t, sizeof(t));
			out_printf(s, "%s,", t);
		}
		for (uint32_t k = 0; k < q->n_by; k++) {
			csv_field(s, row->other ? "" : key_label(row, k));
			out_putc(s, ',');
		}
		out_printf(s, "%llu,%llu,%llu,%s,%llu,%llu",
		    (unsigned long long) sum->calls,
		    (unsigned long long) sum->input_tokens,
		    (unsigned long long) sum->output_tokens,
		    report_fmt_usd(sum->cost_pusd, 12, cost, sizeof(cost)),
		    (unsigned long long) sum->unpriced_calls,
		    (unsigned long long) sum->error_calls);
		out_printf(s, ",%s",
		    report_fmt_usd(
		        sum->fee_cost_pusd, 12, cost, sizeof(cost)));
		for (int f = 0; f < LLMCOST_FEE_COUNT; f++) {
			out_printf(
			    s, ",%llu", (unsigned long long) sum->fees[f]);
		}
		// No reported cost is an empty field, not 0.
		out_printf(s, ",%s,%llu,%llu,%llu,%d\n",
		    sum->provider_cost_calls > 0 ? report_fmt_usd(
		        sum->provider_cost_pusd, 12, cost, sizeof(cost))
		                                 : "",
		    (unsigned long long) sum->provider_cost_calls,
		    (unsigned long long) sum->usage_missing_calls,
		    (unsigned long long) sum->usage_partial_calls,
		    row->other ? 1 : 0);
	}
}

// ---- JSON ----

static json_t *
json_sums(json_t *o, const query_sums *row)
{
	char buf[64];
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
render_json(const query_result *r, render_sink *s)
{
	const query_spec *q = &r->spec;
	char t[48], name[QUERY_KEY_NAME_MAX + 1];
	char filt[QUERY_KEY_NAME_MAX + LLMCOST_MAX_VALUE + 4];
	json_t *root = json_object();
	json_t *rows = json_array();
	json_t *unp = json_array();
	json_t *by = json_array();
	json_t *where = json_array();

	if (root == NULL || rows == NULL || unp == NULL || by == NULL
	    || where == NULL) {
		json_decref(root);
		json_decref(rows);
		json_decref(unp);
		json_decref(by);
		json_decref(where);
		s->err = s->err != 0 ? s->err : LLMCOST_ENOMEM;
		return;
	}
	fmt_time((int64_t) (q->from_ns / 1000000000u), r->from_off,
	    QUERY_EVERY_NONE, t, sizeof(t));
	json_object_set_new(root, "from", json_string(t));
	fmt_time((int64_t) (q->to_ns / 1000000000u), r->to_off,
	    QUERY_EVERY_NONE, t, sizeof(t));
	json_object_set_new(root, "to", json_string(t));
	json_object_set_new(
	    root, "time_zone", json_string(q->tz[0] != '\0' ? q->tz : "UTC"));
	json_object_set_new(root, "every",
	    q->every != QUERY_EVERY_NONE
	        ? json_string(query_every_name(q->every))
	        : json_null());
	for (uint32_t k = 0; k < q->n_by; k++) {
		json_array_append_new(by,
		    json_string(
		        query_key_name(&q->by[k], name, sizeof(name))));
	}
	json_object_set_new(root, "group_by", by);
	for (uint32_t f = 0; f < q->n_where; f++) {
		snprintf(filt, sizeof(filt), "%s%s%s",
		    query_key_name(&q->where[f].key, name, sizeof(name)),
		    q->where[f].negate ? "!=" : "=", q->where[f].value);
		json_array_append_new(where, json_string(filt));
	}
	json_object_set_new(root, "where", where);
	json_object_set_new(root, "top",
	    q->top > 0 ? json_integer((json_int_t) q->top) : json_null());
	for (size_t i = 0; i < r->n_rows; i++) {
		const query_row *row = &r->rows[i];
		json_t *o = json_object();
		if (q->every != QUERY_EVERY_NONE) {
			fmt_time(row->bucket, row->bucket_off,
			    QUERY_EVERY_NONE, t, sizeof(t));
			json_object_set_new(o, "period_start", json_string(t));
			fmt_time(row->bucket_end, row->bucket_end_off,
			    QUERY_EVERY_NONE, t, sizeof(t));
			json_object_set_new(o, "period_end", json_string(t));
		}
		for (uint32_t k = 0; k < q->n_by; k++) {
			json_object_set_new(o,
			    query_key_name(&q->by[k], name, sizeof(name)),
			    row->keys[k] != NULL ? json_string(row->keys[k])
			                         : json_null());
		}
		json_object_set_new(o, "other", json_boolean(row->other));
		json_array_append_new(rows, json_sums(o, &row->sum));
	}
	json_object_set_new(root, "rows", rows);
	json_object_set_new(
	    root, "total", json_sums(json_object(), &r->total));
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
	json_object_set_new(root, "capped", json_boolean(r->capped));
	if (query_rows_overlap(r)) {
		// Only when true, so that other answers read as before.
		json_object_set_new(root, "rows_overlap", json_true());
	}
	json_object_set_new(
	    root, "groups", json_integer((json_int_t) r->groups));
	// price_table: the one version that priced every call of the
	// window, else null (see price_tables and price_tables_unknown).
	const store_pvers *pv = &r->price_tables;
	json_t *pts = json_array();
	for (uint32_t i = 0; i < pv->n; i++) {
		json_array_append_new(pts, json_string(pv->v[i]));
	}
	json_object_set_new(root, "price_table",
	    pv->n == 1 && !pv->unknown ? json_string(pv->v[0]) : json_null());
	json_object_set_new(root, "price_tables", pts);
	json_object_set_new(
	    root, "price_tables_unknown", json_boolean(pv->unknown));
	char ptv[32];
	prices_current_version(ptv, sizeof(ptv));
	json_object_set_new(root, "price_table_in_force", json_string(ptv));
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
render_query(const query_result *r, render_format fmt, render_sink *out)
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
