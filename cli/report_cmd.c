// DESIGN: `llmcost report`: argument parsing only.
// A report is a query (core/query.h) answered from the store, read-only,
// or by a running llmcostd over its socket (--collector, cli/remote.c),
// and printed by
// the renderer (core/render.c) that every surface shares, so every
// surface prints the same bytes.  The options are rows of one table,
// from which getopt's list and --help are both made; the keys, periods
// and formats in the help and in errors come from their own tables
// (core/dims.h, core/query.h), so a new key is one row there.  Times are
// read exactly to the second: relative (90m, 24h, 7d, 2w) or RFC 3339,
// where a time without an offset is in --tz.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "llmcost_common.h"
#include "query.h"
#include "render.h"
#include "report.h"
#include "store.h"
#include "tz.h"

// clang-format off
// XX(name, has_arg, id, metavar, help)
#define REPORT_OPT_MAP(XX)                                                    \
	XX("by", 1, 'b', "KEYS", "group by these keys, comma-separated "      \
	    "(default feature; 'none': one row): KEY_LIST")                   \
	XX("where", 1, 'w', "KEY=VALUE", "only calls whose KEY is VALUE "     \
	    "(KEY!=VALUE: is not); repeatable, all must hold")                \
	XX("since", 1, 's', "WHEN", "start of the window (default 7d): "     \
	    "90m, 24h, 7d, 2w ago, or RFC 3339 (2025-03-30, "                 \
	    "2025-03-30T08:00:00Z, ...+02:00)")                               \
	XX("until", 1, 'u', "WHEN", "end of the window, exclusive (default " \
	    "now); exact to the second")                                      \
	XX("every", 1, 'e', "PERIOD", "one row per PERIOD_LIST "              \
	    "(a time series)")                                                \
	XX("tz", 1, 'z', "ZONE", "time zone of periods and of times "         \
	    "without an offset: an IANA name such as Europe/Berlin "          \
	    "(default UTC)")                                                  \
	XX("top", 1, 't', "N", "keep the N costliest groups; the rest are "   \
	    "summed in one (other) row")                                      \
	XX("max-groups", 1, 'g', "N", "at most N groups (default GROUPS_DEF); " \
	    "past it, groups are summed in (other)")                          \
	XX("format", 1, 'f', "FORMAT", "table (default), csv or json; csv "   \
	    "and json give exact costs")                                      \
	XX("csv", 0, 'c', NULL, "same as --format csv")                       \
	XX("json", 0, 'j', NULL, "same as --format json")                     \
	XX("collector", 1, 'C', "URL", "ask the llmcostd listening at URL "   \
	    "(e.g. ipc:///path/llmcostd.sock) instead of reading its data "   \
	    "directory")                                                      \
	XX("data-dir", 1, 'd', "DIR", "llmcostd's data directory (default "   \
	    "$LLMCOSTD_DATA_DIR, else $XDG_STATE_HOME/llmcost or "            \
	    "~/.local/state/llmcost)")                                        \
	XX("help", 0, 'h', NULL, "show this help")
// clang-format on

static const char *const formats[] = { "table", "csv", "json" };

// The key names for help and errors: the dimensions, then the others.
static const char *
key_choices(char *buf, size_t bufsz)
{
	char dims[256];
	if (report_dim_list(dims, sizeof(dims), 0, ", ", ", ", 0) != 0) {
		dims[0] = '\0';
	}
	snprintf(buf, bufsz, "%s, meta.<key>, user_tier, tag, tagset or trace",
	    dims);
	return (buf);
}

static void
report_usage(FILE *f)
{
	char keys[512], line[1024];
	static const struct {
		const char *name, *metavar, *help;
	} rows[] = {
#define OPT_HELP(n, a, id, mv, h) { n, mv, h },
		REPORT_OPT_MAP(OPT_HELP)
#undef OPT_HELP
	};

	fprintf(f,
	    "Usage: llmcost report [OPTION]...\n"
	    "Calls, tokens and estimated cost per group, most expensive "
	    "first.\n\n");
	key_choices(keys, sizeof(keys));
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char opt[64];
		snprintf(opt, sizeof(opt), "--%s%s%s", rows[i].name,
		    rows[i].metavar ? " " : "",
		    rows[i].metavar ? rows[i].metavar : "");
		// Expand the lists named in the help text.
		const char *h = rows[i].help;
		const char *kl = strstr(h, "KEY_LIST");
		const char *pl = strstr(h, "PERIOD_LIST");
		if (kl != NULL) {
			snprintf(line, sizeof(line), "%.*s%s%s",
			    (int) (kl - h), h, keys, kl + 8);
		} else if (pl != NULL) {
			snprintf(line, sizeof(line), "%.*s%s, %s or %s%s",
			    (int) (pl - h), h,
			    query_every_name(QUERY_EVERY_HOUR),
			    query_every_name(QUERY_EVERY_DAY),
			    query_every_name(QUERY_EVERY_WEEK), pl + 11);
		} else if ((pl = strstr(h, "GROUPS_DEF")) != NULL) {
			snprintf(line, sizeof(line), "%.*s%u%s",
			    (int) (pl - h), h, QUERY_GROUPS_DEF, pl + 10);
		} else {
			snprintf(line, sizeof(line), "%s", h);
		}
		// Words wrapped at 79 columns, under the text's first column.
		fprintf(f, "  %-22s", opt);
		int col = 25;
		for (char *save = NULL, *w = strtok_r(line, " ", &save);
		     w != NULL; w = strtok_r(NULL, " ", &save)) {
			int len = (int) strlen(w);
			if (col > 25 && col + 1 + len > 79) {
				fprintf(f, "\n%24s", "");
				col = 25;
			}
			fprintf(f, " %s", w);
			col += 1 + len;
		}
		fputc('\n', f);
	}
	fprintf(f,
	    "\nCalls without a key's value are shown as 'untagged'.  A cost "
	    "marked *\nleaves out calls to models with no price; they are "
	    "listed below the table.\n"
	    "--by tag gives one row per tag: a call with several tags is "
	    "counted in the\nrow of each, so the rows overlap and add up "
	    "to more than the total, which\ncounts each call once (the "
	    "report says so).  --by tagset gives one row per\nset of tags "
	    "(joined by ','), and rows that never overlap.\n"
	    "Examples:\n"
	    "  llmcost report --by feature,model --since 24h\n"
	    "  llmcost report --by meta.customer --where env=production "
	    "--top 10\n"
	    "  llmcost report --by none --every day --tz Europe/Berlin "
	    "--since 30d\n");
}

int
cli_resolve_dir(const char *cmd, const char *opt, char *dir, size_t dirsz)
{
	const char *from = opt != NULL ? "--data-dir" : "LLMCOSTD_DATA_DIR";
	const char *v = opt != NULL ? opt : getenv("LLMCOSTD_DATA_DIR");
	int rv;

	if (opt != NULL || (v != NULL && *v != '\0')) {
		int n = snprintf(dir, dirsz, "%s", v);
		if (n < 0 || (size_t) n >= dirsz) {
			fprintf(stderr,
			    "llmcost %s: %s is longer than %zu bytes\n", cmd,
			    from, dirsz - 1);
			return (CLI_USAGE);
		}
		return (CLI_OK);
	}
	if ((rv = llmcost__default_dir(dir, dirsz)) != 0) {
		fprintf(stderr,
		    rv == LLMCOST_ETOOBIG
		        ? "llmcost %s: the default data directory is too "
		          "long: pass --data-dir\n"
		        : "llmcost %s: no data directory: pass "
		          "--data-dir\n",
		    cmd);
		return (CLI_USAGE);
	}
	return (CLI_OK);
}

// Reads --by's comma-separated keys into q.  Returns CLI_OK or
// CLI_USAGE after saying why.
static int
parse_by(const char *arg, query_spec *q)
{
	char buf[512], keys[512];
	q->n_by = 0;
	if (strcmp(arg, "none") == 0) {
		return (CLI_OK);
	}
	if (snprintf(buf, sizeof(buf), "%s", arg) >= (int) sizeof(buf)) {
		fprintf(stderr, "llmcost report: --by is too long\n");
		return (CLI_USAGE);
	}
	char *save = NULL;
	for (char *k = strtok_r(buf, ",", &save); k != NULL;
	     k = strtok_r(NULL, ",", &save)) {
		if (q->n_by == QUERY_MAX_KEYS) {
			fprintf(stderr,
			    "llmcost report: --by takes at most %d keys\n",
			    QUERY_MAX_KEYS);
			return (CLI_USAGE);
		}
		if (query_key_parse(k, &q->by[q->n_by]) != 0) {
			fprintf(stderr,
			    "llmcost report: --by %s: unknown key; want %s\n",
			    k, key_choices(keys, sizeof(keys)));
			return (CLI_USAGE);
		}
		q->n_by++;
	}
	if (q->n_by == 0) {
		fprintf(stderr,
		    "llmcost report: --by needs a key (or 'none'); want %s\n",
		    key_choices(keys, sizeof(keys)));
		return (CLI_USAGE);
	}
	return (CLI_OK);
}

static int
parse_count(const char *opt, const char *arg, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long v = strtoull(arg, &end, 10);
	if (end == arg || *end != '\0' || arg[0] == '-' || v == 0 || v > max) {
		fprintf(stderr,
		    "llmcost report: --%s %s: want a whole number from 1 to "
		    "%u\n",
		    opt, arg, max);
		return (CLI_USAGE);
	}
	*out = (uint32_t) v;
	return (CLI_OK);
}

// A time: relative to now, or RFC 3339; without an offset, in zone.
static int
parse_when(const char *opt, const char *arg, int64_t now, const tz *zone,
    int64_t *out)
{
	int local = 0;
	if (cli_parse_time(arg, now, out, &local) != 0) {
		fprintf(stderr,
		    "llmcost report: cannot read the time '%s' of --%s: use "
		    "90m, 24h, 7d, 2w (ago) or RFC 3339: 2025-03-30, "
		    "2025-03-30T08:00:00Z or 2025-03-30T10:00:00+02:00\n",
		    arg, opt);
		return (CLI_USAGE);
	}
	if (local) {
		// Local wall time: the offset in force then (for a time a
		// clock change skips or repeats, the earlier reading).
		int64_t t = *out - tz_offset(zone, *out);
		t = *out - tz_offset(zone, t);
		*out = t;
	}
	return (CLI_OK);
}

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
#define OPT_ROW(n, a, id, mv, h)                                              \
	{ n, a ? required_argument : no_argument, NULL, id },
		REPORT_OPT_MAP(OPT_ROW)
#undef OPT_ROW
		    { NULL, 0, NULL, 0 },
	};
	const char *since = "7d", *until = NULL, *dirarg = NULL, *url = NULL;
	render_format out = RENDER_TABLE;
	query_spec q;
	char err[STORE_ERR_MAX];
	int c, rv;

	query_spec_init(&q);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if ((rv = parse_by(optarg, &q)) != CLI_OK) {
				return (rv);
			}
			break;
		case 'w':
			if (q.n_where == QUERY_MAX_FILTERS) {
				fprintf(stderr,
				    "llmcost report: at most %d --where\n",
				    QUERY_MAX_FILTERS);
				return (CLI_USAGE);
			}
			if (query_filter_parse(optarg, &q.where[q.n_where])
			    != 0) {
				char keys[512];
				fprintf(stderr,
				    "llmcost report: --where %s: want "
				    "KEY=VALUE "
				    "or KEY!=VALUE, KEY one of %s\n",
				    optarg, key_choices(keys, sizeof(keys)));
				return (CLI_USAGE);
			}
			q.n_where++;
			break;
		case 's':
			since = optarg;
			break;
		case 'u':
			until = optarg;
			break;
		case 'e': {
			int e = query_every_parse(optarg);
			if (e <= 0) {
				fprintf(stderr,
				    "llmcost report: --every %s: want %s, %s "
				    "or %s\n",
				    optarg, query_every_name(QUERY_EVERY_HOUR),
				    query_every_name(QUERY_EVERY_DAY),
				    query_every_name(QUERY_EVERY_WEEK));
				return (CLI_USAGE);
			}
			q.every = (query_every) e;
			break;
		}
		case 'z':
			if (snprintf(q.tz, sizeof(q.tz), "%s", optarg)
			    >= (int) sizeof(q.tz)) {
				fprintf(stderr,
				    "llmcost report: --tz %s: not a time zone "
				    "name\n",
				    optarg);
				return (CLI_USAGE);
			}
			break;
		case 't':
			if ((rv = parse_count(
			         "top", optarg, QUERY_GROUPS_MAX, &q.top))
			    != CLI_OK) {
				return (rv);
			}
			break;
		case 'g':
			if ((rv = parse_count("max-groups", optarg,
			         QUERY_GROUPS_MAX, &q.max_groups))
			    != CLI_OK) {
				return (rv);
			}
			break;
		case 'f': {
			size_t i;
			for (i = 0; i < 3 && strcmp(optarg, formats[i]) != 0;
			     i++) { }
			if (i == 3) {
				fprintf(stderr,
				    "llmcost report: --format %s: want "
				    "table, csv or json\n",
				    optarg);
				return (CLI_USAGE);
			}
			out = (render_format) i;
			break;
		}
		case 'c':
			out = RENDER_CSV;
			break;
		case 'j':
			out = RENDER_JSON;
			break;
		case 'C':
			url = optarg;
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
	if (cli_no_operands("report", argc, argv) != CLI_OK) {
		return (CLI_USAGE);
	}
	if (url != NULL && dirarg != NULL) {
		fprintf(stderr,
		    "llmcost report: --collector and --data-dir both say "
		    "where "
		    "to read: give one\n");
		return (CLI_USAGE);
	}
	tz *zone;
	if ((rv = tz_load(q.tz, &zone, err, sizeof(err))) != 0) {
		fprintf(stderr, "llmcost report: --tz: %s\n", err);
		return (CLI_USAGE);
	}
	int64_t now = cli_now(), from, to = now;
	rv = parse_when("since", since, now, zone, &from);
	if (rv == CLI_OK && until != NULL) {
		rv = parse_when("until", until, now, zone, &to);
	}
	tz_free(zone);
	if (rv != CLI_OK) {
		return (rv);
	}
	if (until == NULL) {
		// "now" includes the calls of the current second.
		to = now + 1;
	}
	// Windows are Unix nanoseconds in 64 bits: 1970 to 2554.
	if (from < 0 || to > (int64_t) (UINT64_MAX / 1000000000u)) {
		fprintf(stderr,
		    "llmcost report: the window must lie between 1970 and "
		    "2554\n");
		return (CLI_USAGE);
	}
	if (from >= to) {
		fprintf(stderr,
		    "llmcost report: the window is empty: --since must be "
		    "before --until\n");
		return (CLI_USAGE);
	}
	q.from_ns = (uint64_t) from * 1000000000u;
	q.to_ns = (uint64_t) to * 1000000000u;

	query_result *r = NULL;
	if (url != NULL) {
		rv = cli_query_remote(url, &q, &r, err, sizeof(err));
	} else {
		char dir[LLMCOST__PATH_MAX];
		store *st;
		if ((rv = cli_resolve_dir("report", dirarg, dir, sizeof(dir)))
		    != CLI_OK) {
			return (rv);
		}
		rv = store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err));
		if (rv != 0) {
			fprintf(stderr, "llmcost report: %s\n", err);
			return (CLI_FAIL);
		}
		rv = query_run(st, &q, &r, err, sizeof(err));
		store_close(st);
	}
	if (rv != 0) {
		fprintf(stderr, "llmcost report: %s\n", err);
		return (rv == LLMCOST_EINVAL || rv == LLMCOST_ETOOBIG
		            || rv == LLMCOST_ENOTFOUND
		        ? CLI_USAGE
		        : CLI_FAIL);
	}
	render_sink sink;
	render_sink_file(&sink, stdout);
	rv = render_query(r, out, &sink) == 0 ? CLI_OK : CLI_FAIL;
	query_result_free(r);
	if (fflush(stdout) != 0) {
		return (CLI_FAIL);
	}
	return (rv);
}
