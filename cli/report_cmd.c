// DESIGN: `llmcost report` and `llmcost prices`: argument parsing only.
// The report reads the store read-only, builds the report from its
// rollups (core/report.c) and hands it to the renderer (core/render.c)
// that the HTTP API and budgets share, so every surface prints the same
// bytes.  The list of dimensions in the help and in errors comes from
// the dimension table (core/dims.h).
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "llmcost_common.h"
#include "prices.h"
#include "render.h"
#include "report.h"
#include "store.h"

// The dimensions, e.g. "feature (default), model, env or provider".
static const char *
dim_choices(char *buf, size_t bufsz, int mark_default)
{
	if (report_dim_list(buf, bufsz, 0, ", ", " or ", mark_default) != 0) {
		snprintf(
		    buf, bufsz, "%s", report_dim_name(REPORT_DIM_DEFAULT));
	}
	return (buf);
}

static void
report_usage(FILE *f)
{
	char dims[256];

	fprintf(f,
	    "Usage: llmcost report [OPTION]...\n"
	    "Calls, tokens and estimated cost per feature, most expensive "
	    "first.\n\n"
	    "  --since WHEN      start of the window: 7d, 24h, 90m, 2w or "
	    "YYYY-MM-DD[THH:MM[:SS]Z]\n"
	    "                    (default 7d); windows are whole UTC hours\n"
	    "  --until WHEN      end of the window, exclusive (default: "
	    "now)\n"
	    "  --by DIM          %s\n"
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
	    "are listed below the table.\n",
	    dim_choices(dims, sizeof(dims), 1));
}

// The data directory: --data-dir, else $LLMCOSTD_DATA_DIR (as llmcostd
// reads it), else the shared default (common/paths.c).  Returns CLI_OK or
// an exit code after printing why.
static int
resolve_dir(const char *opt, char *dir, size_t dirsz)
{
	const char *from = opt != NULL ? "--data-dir" : "LLMCOSTD_DATA_DIR";
	const char *v = opt != NULL ? opt : getenv("LLMCOSTD_DATA_DIR");
	int rv;

	if (opt != NULL || (v != NULL && *v != '\0')) {
		int n = snprintf(dir, dirsz, "%s", v);
		if (n < 0 || (size_t) n >= dirsz) {
			fprintf(stderr,
			    "llmcost report: %s is longer than %zu bytes\n",
			    from, dirsz - 1);
			return (CLI_USAGE);
		}
		return (CLI_OK);
	}
	if ((rv = llmcost__default_dir(dir, dirsz)) != 0) {
		fprintf(stderr,
		    rv == LLMCOST_ETOOBIG
		        ? "llmcost report: the default data directory is too "
		          "long: pass --data-dir\n"
		        : "llmcost report: no data directory: pass "
		          "--data-dir\n");
		return (CLI_USAGE);
	}
	return (CLI_OK);
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
	report_dim dim = REPORT_DIM_DEFAULT;
	render_format out = RENDER_TABLE;
	char dims[256];
	int c;

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
				    "llmcost report: --by %s: want %s\n",
				    optarg,
				    dim_choices(dims, sizeof(dims), 0));
				return (CLI_USAGE);
			}
			break;
		case 'c':
			out = RENDER_CSV;
			break;
		case 'j':
			out = RENDER_JSON;
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

	char dir[LLMCOST__PATH_MAX], err[STORE_ERR_MAX];
	int rv;
	if ((rv = resolve_dir(dirarg, dir, sizeof(dir))) != CLI_OK) {
		return (rv);
	}
	store *st;
	rv = store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err));
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
	render_sink sink;
	render_sink_file(&sink, stdout);
	rv = render_report(r, out, &sink) == 0 ? CLI_OK : CLI_FAIL;
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
