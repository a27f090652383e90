// DESIGN: `llmcost report` and `llmcost prices`.  The report reads the
// store read-only and prints one of three renderings of the same
// report_build() result: an aligned table for people (costs rounded to
// 4 decimals, like the tutorial's report), CSV and JSON for machines
// (costs exact to the pico-dollar, as decimal strings, because JSON
// numbers lose precision past 2^53).  A row with calls to unpriced models
// is marked, and the models are listed: never a silent $0.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "llmcost_proto.h"
#include "prices.h"
#include "report.h"
#include "store.h"

enum { OUT_TABLE, OUT_CSV, OUT_JSON };

static void
report_usage(FILE *f)
{
	fprintf(f,
	    "Usage: llmcost report [OPTION]...\n"
	    "Calls, tokens and estimated cost per feature, most expensive "
	    "first.\n\n"
	    "  --since WHEN      start of the window: 7d, 24h, 90m, 2w or "
	    "YYYY-MM-DD[THH:MM[:SS]Z]\n"
	    "                    (default 7d); windows are whole UTC hours\n"
	    "  --until WHEN      end of the window, exclusive (default: "
	    "now)\n"
	    "  --by DIM          feature (default), model, env or provider\n"
	    "  --csv             CSV with exact costs\n"
	    "  --json            JSON with exact costs (strings, in USD and "
	    "pico-USD)\n"
	    "  --data-dir DIR    llmcostd's data directory (default "
	    "$LLMCOSTD_DATA_DIR,\n"
	    "                    else $XDG_STATE_HOME/llmcost or "
	    "~/.local/state/llmcost)\n"
	    "  -h, --help        show this help\n\n"
	    "Calls with no 'feature' metadata are shown as 'untagged'.  A "
	    "cost marked *\nleaves out calls to models with no price; they "
	    "are listed below the table.\n");
}

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

static void
print_table(const report *r)
{
	char in[32], out[32], cost[80], calls[32], from[32], to[32];
	int w = 25;
	for (size_t i = 0; i < r->n_rows; i++) {
		int len = (int) strlen(row_label(&r->rows[i]));
		if (len > w) {
			w = len > 60 ? 60 : len;
		}
	}
	char head[16];
	snprintf(head, sizeof(head), "%s", report_dim_name(r->dim));
	head[0] = (char) (head[0] - 'a' + 'A');
	printf("\n%-*s %8s %12s %12s %12s\n", w, head, "Calls", "Input Tok",
	    "Output Tok", "Est. Cost");
	int width = w + 48;
	for (int i = 0; i < width; i++) {
		putchar('-');
	}
	putchar('\n');
	for (size_t i = 0; i < r->n_rows + 1; i++) {
		const report_row *row
		    = i < r->n_rows ? &r->rows[i] : &r->total;
		if (i == r->n_rows) {
			for (int k = 0; k < width; k++) {
				putchar('-');
			}
			putchar('\n');
		}
		fmt_thousands(row->calls, calls, sizeof(calls));
		fmt_thousands(row->input_tokens, in, sizeof(in));
		fmt_thousands(row->output_tokens, out, sizeof(out));
		char c[64];
		report_fmt_usd(row->cost_pusd, 4, c, sizeof(c));
		snprintf(cost, sizeof(cost), "$%s%s", c,
		    row->unpriced_calls > 0 ? "*" : "");
		printf("%-*.*s %8s %12s %12s %12s\n", w, w,
		    i < r->n_rows ? row_label(row) : "total", calls, in, out,
		    cost);
	}
	fmt_hour(r->from_hour, from, sizeof(from));
	fmt_hour(r->to_hour, to, sizeof(to));
	printf("\nWindow: %s .. %s (UTC, whole hours)\n", from, to);
	if (r->n_unpriced > 0) {
		printf("* leaves out calls to models with no price:\n");
		for (size_t i = 0; i < r->n_unpriced; i++) {
			printf("    %s/%s: %llu calls\n",
			    r->unpriced[i].provider ? r->unpriced[i].provider
			                            : "?",
			    r->unpriced[i].model ? r->unpriced[i].model : "?",
			    (unsigned long long) r->unpriced[i].calls);
		}
	}
	if (r->dropped > 0) {
		printf("! clients dropped %llu calls before they reached the "
		       "collector (queue full):\n  the figures above miss "
		       "them.\n",
		    (unsigned long long) r->dropped);
	}
}

static void
csv_field(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"') {
			putchar('"');
		}
		putchar(*s);
	}
	putchar('"');
}

static void
print_csv(const report *r)
{
	char cost[64];
	printf("%s,calls,input_tokens,output_tokens,estimated_cost_usd,"
	       "unpriced_calls,error_calls\n",
	    report_dim_name(r->dim));
	for (size_t i = 0; i < r->n_rows; i++) {
		const report_row *row = &r->rows[i];
		csv_field(row_label(row));
		printf(",%llu,%llu,%llu,%s,%llu,%llu\n",
		    (unsigned long long) row->calls,
		    (unsigned long long) row->input_tokens,
		    (unsigned long long) row->output_tokens,
		    report_fmt_usd(row->cost_pusd, 12, cost, sizeof(cost)),
		    (unsigned long long) row->unpriced_calls,
		    (unsigned long long) row->error_calls);
	}
}

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
	return (o);
}

static int
print_json(const report *r)
{
	char from[32], to[32];
	json_t *root = json_object();
	json_t *rows = json_array();
	json_t *unp = json_array();

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
	int rv
	    = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
	json_decref(root);
	return (rv == 0 ? CLI_OK : CLI_FAIL);
}

static int
resolve_dir(const char *opt, char *dir, size_t dirsz)
{
	if (opt != NULL) {
		snprintf(dir, dirsz, "%s", opt);
		return (0);
	}
	const char *e = getenv("LLMCOSTD_DATA_DIR");
	if (e != NULL && *e != '\0') {
		snprintf(dir, dirsz, "%s", e);
		return (0);
	}
	return (llmcost__default_dir(dir, dirsz));
}

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "by", required_argument, NULL, 'b' },
		{ "csv", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = "7d", *until = NULL, *dirarg = NULL;
	report_dim dim = REPORT_BY_FEATURE;
	int out = OUT_TABLE, c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'b':
			if (report_dim_parse(optarg, &dim) != 0) {
				fprintf(stderr,
				    "llmcost report: --by %s: want feature, "
				    "model, env or provider\n",
				    optarg);
				return (CLI_USAGE);
			}
			break;
		case 'c':
			out = OUT_CSV;
			break;
		case 'j':
			out = OUT_JSON;
			break;
		case 'd':
			dirarg = optarg;
			break;
		case 'h':
			report_usage(stdout);
			return (CLI_OK);
		default:
			fprintf(stderr, "see 'llmcost report --help'\n");
			return (CLI_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		    "llmcost report: unexpected argument '%s' (see --help)\n",
		    argv[optind]);
		return (CLI_USAGE);
	}
	int64_t now = (int64_t) time(NULL), from, to = now;
	if (cli_parse_time(since, now, &from) != 0
	    || (until != NULL && cli_parse_time(until, now, &to) != 0)) {
		fprintf(stderr,
		    "llmcost report: cannot read the time '%s': use 7d, 24h, "
		    "90m, 2w or YYYY-MM-DD[THH:MM[:SS]Z]\n",
		    cli_parse_time(since, now, &from) != 0 ? since : until);
		return (CLI_USAGE);
	}
	// Whole hours: from rounds down; to rounds up so "now" includes the
	// current hour.
	uint32_t from_hour = from < 0 ? 0 : (uint32_t) (from / 3600);
	uint32_t to_hour = (uint32_t) ((to + 3599) / 3600);
	if (until == NULL) {
		to_hour = (uint32_t) (now / 3600 + 1);
	}
	if (from_hour >= to_hour) {
		fprintf(stderr,
		    "llmcost report: the window is empty (--since must be "
		    "before --until)\n");
		return (CLI_USAGE);
	}

	char dir[1024], err[512];
	if (resolve_dir(dirarg, dir, sizeof(dir)) != 0) {
		fprintf(stderr,
		    "llmcost report: no data directory: pass "
		    "--data-dir\n");
		return (CLI_USAGE);
	}
	store *st;
	int rv = store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err));
	if (rv != 0) {
		fprintf(stderr, "llmcost report: %s\n", err);
		return (CLI_FAIL);
	}
	report *r;
	if ((rv = report_build(st, dim, from_hour, to_hour, &r)) != 0) {
		fprintf(stderr, "llmcost report: %s\n", llmcost_strerror(rv));
		store_close(st);
		return (CLI_FAIL);
	}
	switch (out) {
	case OUT_CSV:
		print_csv(r);
		rv = CLI_OK;
		break;
	case OUT_JSON:
		rv = print_json(r);
		break;
	default:
		print_table(r);
		rv = CLI_OK;
		break;
	}
	report_free(r);
	store_close(st);
	if (fflush(stdout) != 0) {
		return (CLI_FAIL);
	}
	return (rv);
}

int
cmd_prices(int argc, char **argv)
{
	if (argc > 1
	    && (strcmp(argv[1], "-h") == 0
	        || strcmp(argv[1], "--help") == 0)) {
		printf("Usage: llmcost prices\n"
		       "List the built-in price table, USD per 1M tokens "
		       "(exact).\n"
		       "Columns: input, cache read, cache write 5m / 1h, "
		       "output; '-' = no price.\n");
		return (CLI_OK);
	}
	if (argc > 1) {
		fprintf(stderr, "llmcost prices: unexpected argument '%s'\n",
		    argv[1]);
		return (CLI_USAGE);
	}
	size_t n;
	const price_entry *t = prices_builtin(&n);
	static const int cols[] = { LLMCOST_IN_UNCACHED, LLMCOST_IN_CACHE_READ,
		LLMCOST_IN_CACHE_WRITE_5M, LLMCOST_IN_CACHE_WRITE_1H,
		LLMCOST_OUT_TEXT };
	printf("%-10s %-30s %-10s %9s %9s %9s %9s %9s\n", "provider", "model",
	    "from", "input", "cached", "write5m", "write1h", "output");
	for (size_t i = 0; i < n; i++) {
		char from[16];
		time_t vf = (time_t) t[i].valid_from;
		struct tm tm;
		gmtime_r(&vf, &tm);
		strftime(from, sizeof(from), "%Y-%m-%d", &tm);
		printf("%-10s %-30s %-10s", t[i].provider, t[i].model, from);
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			int64_t p = t[i].pusd[cols[k]];
			char buf[48];
			if (p == PRICE_UNPRICED) {
				printf(" %9s", "-");
				continue;
			}
			// pico-USD per token == micro-USD per 1M tokens.
			report_fmt_usd(
			    (store_i128) p * 1000000, 6, buf, sizeof(buf));
			// Trim trailing zeros for readability; still exact.
			size_t len = strlen(buf);
			while (len > 0 && buf[len - 1] == '0') {
				buf[--len] = '\0';
			}
			if (len > 0 && buf[len - 1] == '.') {
				buf[--len] = '\0';
			}
			printf(" %9s", buf);
		}
		printf("%s\n", t[i].tier_above ? "  (tiered)" : "");
	}
	return (CLI_OK);
}
