// DESIGN: `llmcost budget check` and `llmcost budget forecast`: argument
// parsing and printing only.  The budgets file is parsed, windows worked
// out and spend evaluated by core/budget.c (through the query engine),
// the same code llmcostd runs for its live alerts, so the CLI and the
// daemon never disagree on a budget's state.  The store is opened
// read-only, as `report` does.  Exit codes are the interface cron and CI
// act on (docs/budgets.md): 0 all within, 3 a budget exhausted (check)
// or projected to run out in its window (forecast), 4 a soft threshold
// crossed with --fail-on warn, 1 a runtime failure, 2 a usage error or a
// broken budgets file.
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "cli.h"
#include "llmcost_common.h"
#include "report.h"
#include "store.h"

static void
budget_usage(FILE *f)
{
	fprintf(f,
	    "Usage: llmcost budget check [OPTION]...\n"
	    "       llmcost budget forecast [OPTION]...\n"
	    "check: each budget's spend in its current window, its limit, "
	    "the share used\nand its state (ok, warn, exhausted).  "
	    "forecast: from the recent burn rate,\nwhen each budget runs "
	    "out within its window.\n\n"
	    "  --budgets FILE   the budgets file (default "
	    "$LLMCOSTD_BUDGETS_FILE, else\n"
	    "                   DATA_DIR/" BUDGET_FILE_NAME
	    "; format in docs/budgets.md)\n"
	    "  --data-dir DIR   llmcostd's data directory (default "
	    "$LLMCOSTD_DATA_DIR,\n"
	    "                   else $XDG_STATE_HOME/llmcost or "
	    "~/.local/state/llmcost)\n"
	    "  --json           JSON, with exact amounts as decimal strings\n"
	    "  --csv            CSV, one row per budget, exact amounts\n"
	    "  --at WHEN        evaluate as of WHEN instead of now (RFC "
	    "3339; UTC without\n"
	    "                   an offset)\n"
	    "  --lookback DUR   forecast: the burn rate's period (default "
	    "6h; 90m, 24h, 2d)\n"
	    "  --fail-on LEVEL  exhausted (default) or warn: also exit 4 "
	    "when a soft\n"
	    "                   threshold is crossed\n"
	    "  -h, --help       show this help\n\n"
	    "Exit status: 0 every budget within its limit; 3 a budget "
	    "exhausted (check)\nor projected to run out within its window "
	    "(forecast); 4 a soft threshold\ncrossed (with --fail-on warn); "
	    "1 a runtime failure; 2 a usage error or a\nbroken budgets "
	    "file.\n");
}

static const char *
window_name(const budget *b, char *buf, size_t bufsz)
{
	switch (b->window) {
	case BUDGET_DAY:
		snprintf(buf, bufsz, "day %s", tz_name(b->zone));
		break;
	case BUDGET_WEEK:
		snprintf(buf, bufsz, "week %s", tz_name(b->zone));
		break;
	case BUDGET_MONTH:
		snprintf(buf, bufsz, "month %s", tz_name(b->zone));
		break;
	default:
		if (b->rolling_s % 86400 == 0) {
			snprintf(buf, bufsz, "rolling %lldd",
			    (long long) (b->rolling_s / 86400));
		} else {
			snprintf(buf, bufsz, "rolling %lldh",
			    (long long) (b->rolling_s / 3600));
		}
		break;
	}
	return (buf);
}

static const char *
kind_name(const budget *b)
{
	static const char *const names[]
	    = { "day", "week", "month", "rolling" };
	return (names[b->window]);
}

// "12.34" from basis points.
static const char *
fmt_pct(uint32_t bp, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "%u.%02u", bp / 100, bp % 100);
	return (buf);
}

static void
json_filters(const budget *b)
{
	printf("\"match\":{");
	for (unsigned i = 0; i < b->n_match; i++) {
		// Keys and values were checked as UTF-8; escape what JSON
		// needs.
		const budget_match *m = &b->match[i];
		printf("%s\"%s%s\":\"", i ? "," : "",
		    m->dim == BUDGET_DIM_META ? "meta." : "", m->key);
		for (const char *p = m->value; *p; p++) {
			unsigned char c = (unsigned char) *p;
			if (c == '"' || c == '\\') {
				printf("\\%c", c);
			} else if (c < 0x20) {
				printf("\\u%04x", c);
			} else {
				putchar(c);
			}
		}
		putchar('"');
	}
	printf("}");
}

typedef struct opts {
	const char *file, *dir, *at, *lookback;
	int json, csv, fail_warn;
} opts;

// Loads the budgets, opens the store and begins a read transaction.
// Returns CLI_OK or an exit code after printing why.
static int
open_all(const char *cmd, const opts *o, budget_set **bs, store **st,
    store_rtxn **t)
{
	char dir[LLMCOST__PATH_MAX], path[LLMCOST__PATH_MAX];
	char err[STORE_ERR_MAX];
	int rv;

	if ((rv = cli_resolve_dir("budget", o->dir, dir, sizeof(dir)))
	    != CLI_OK) {
		return (rv);
	}
	if (o->file != NULL) {
		snprintf(path, sizeof(path), "%s", o->file);
	} else if (budget_default_path(dir, path, sizeof(path)) != 0) {
		fprintf(stderr,
		    "llmcost budget: the budgets path is too "
		    "long: pass --budgets\n");
		return (CLI_USAGE);
	}
	if ((rv = budget_load(path, bs, err, sizeof(err))) != 0) {
		fprintf(stderr, "llmcost budget %s: %s%s\n", cmd, err,
		    rv == LLMCOST_ENOTFOUND
		        ? " (write one: see docs/budgets.md, or pass "
		          "--budgets)"
		        : "");
		return (rv == LLMCOST_ENOMEM ? CLI_FAIL : CLI_USAGE);
	}
	if ((rv = store_open(st, dir, STORE_RDONLY, 0, err, sizeof(err)))
	    != 0) {
		fprintf(stderr, "llmcost budget %s: %s\n", cmd, err);
		budget_set_free(*bs);
		return (CLI_FAIL);
	}
	if ((rv = store_read_begin(*st, t)) != 0) {
		fprintf(stderr, "llmcost budget %s: %s\n", cmd,
		    llmcost_strerror(rv));
		store_close(*st);
		budget_set_free(*bs);
		return (CLI_FAIL);
	}
	return (CLI_OK);
}

static int
eval_failed(const char *cmd, const budget *b, int rv)
{
	fprintf(stderr, "llmcost budget %s: [%s]: %s\n", cmd, b->name,
	    llmcost_strerror(rv));
	return (CLI_FAIL);
}

// The start of budget b's JSON object, its name and window, and a comma
// (the rest of the object is the caller's); first: no comma before it.
static void
json_window(const budget *b, const budget_status *st, int first)
{
	char from[LLMCOST__UTC_TEXT], to[LLMCOST__UTC_TEXT];

	llmcost__utc_text(st->from, from, sizeof(from));
	llmcost__utc_text(st->to, to, sizeof(to));
	printf("%s{\"name\":\"%s\",\"window\":{\"kind\":\"%s\","
	       "\"timezone\":\"%s\",\"from\":\"%s\",\"to\":\"%s\"},",
	    first ? "" : ",", b->name, kind_name(b), tz_name(b->zone), from,
	    to);
}

// The first columns of budget b's CSV row: name, window, time zone,
// from, to and spend in USD, each followed by a comma.  Names, zones and
// amounts need no CSV quoting.
static void
csv_window(const budget *b, const budget_status *st)
{
	char from[LLMCOST__UTC_TEXT], to[LLMCOST__UTC_TEXT], a[64];

	llmcost__utc_text(st->from, from, sizeof(from));
	llmcost__utc_text(st->to, to, sizeof(to));
	printf("%s,%s,%s,%s,%s,%s,", b->name, kind_name(b), tz_name(b->zone),
	    from, to, report_fmt_usd(st->spend, 12, a, sizeof(a)));
}

static int
run_check(const opts *o, budget_set *bs, store_rtxn *t, int64_t now)
{
	char a[64], l[64], w[64], pct[32], from[32];
	int exhausted = 0, warned = 0, rv;

	if (o->json) {
		llmcost__utc_text(now, from, sizeof(from));
		printf("{\"at\":\"%s\",\"budgets\":[", from);
	} else if (o->csv) {
		printf("budget,window,timezone,from,to,spend_usd,spend_pusd,"
		       "limit_usd,limit_pusd,percent,calls,state,threshold,"
		       "hard\n");
	} else {
		printf("%-24s %-24s %14s %14s %8s  %s\n", "BUDGET", "WINDOW",
		    "SPEND_USD", "LIMIT_USD", "USED", "STATE");
	}
	for (size_t i = 0; i < bs->n; i++) {
		const budget *b = &bs->b[i];
		budget_status st;
		if ((rv = budget_eval(t, b, now, &st)) != 0) {
			if (o->json) {
				printf("]}\n");
			}
			return (eval_failed("check", b, rv));
		}
		exhausted |= st.state == BUDGET_EXHAUSTED;
		warned |= st.state == BUDGET_WARN;
		fmt_pct(st.pct_bp, pct, sizeof(pct));
		if (o->json) {
			json_window(b, &st, i == 0);
			json_filters(b);
			printf(",\"spend_usd\":\"%s\",\"spend_pusd\":\"%s\","
			       "\"limit_usd\":\"%s\",\"limit_pusd\":\"%lld\","
			       "\"percent\":\"%s\",\"calls\":%llu,"
			       "\"state\":\"%s\",\"threshold\":",
			    report_fmt_usd(st.spend, 12, a, sizeof(a)),
			    report_fmt_i128(st.spend, w, sizeof(w)),
			    report_fmt_usd(b->limit_pusd, 12, l, sizeof(l)),
			    (long long) b->limit_pusd, pct,
			    (unsigned long long) st.calls,
			    budget_state_name(st.state));
			if (st.crossed >= 0) {
				printf("%u", b->thresholds[st.crossed]);
			} else {
				printf("null");
			}
			printf(",\"hard\":%s}", b->hard ? "true" : "false");
			continue;
		}
		if (o->csv) {
			csv_window(b, &st);
			printf("%s,%s,%lld,%s,%llu,%s,",
			    report_fmt_i128(st.spend, w, sizeof(w)),
			    report_fmt_usd(b->limit_pusd, 12, l, sizeof(l)),
			    (long long) b->limit_pusd, pct,
			    (unsigned long long) st.calls,
			    budget_state_name(st.state));
			if (st.crossed >= 0) {
				printf("%u", b->thresholds[st.crossed]);
			}
			printf(",%s\n", b->hard ? "true" : "false");
			continue;
		}
		char state[48];
		if (st.crossed >= 0) {
			snprintf(state, sizeof(state), "%s (%u%%)%s",
			    budget_state_name(st.state),
			    b->thresholds[st.crossed],
			    b->hard && st.state == BUDGET_EXHAUSTED ? " hard"
			                                            : "");
		} else {
			snprintf(state, sizeof(state), "%s",
			    budget_state_name(st.state));
		}
		printf("%-24s %-24s %14s %14s %7s%%  %s\n", b->name,
		    window_name(b, w, sizeof(w)),
		    report_fmt_usd(st.spend, 6, a, sizeof(a)),
		    report_fmt_usd(b->limit_pusd, 6, l, sizeof(l)), pct,
		    state);
	}
	if (o->json) {
		printf("]}\n");
	}
	if (fflush(stdout) != 0) {
		return (CLI_FAIL);
	}
	return (exhausted                ? CLI_BUDGET_EXHAUSTED
	        : warned && o->fail_warn ? CLI_BUDGET_WARN
	                                 : CLI_OK);
}

static int
run_forecast(
    const opts *o, budget_set *bs, store_rtxn *t, int64_t now, int64_t look)
{
	char a[64], l[64], r[64], p[64], w[64], when[32], from[32];
	int out = 0, rv;

	if (o->json) {
		llmcost__utc_text(now, from, sizeof(from));
		printf("{\"at\":\"%s\",\"lookback_s\":%lld,\"budgets\":[",
		    from, (long long) look);
	} else if (o->csv) {
		printf("budget,window,timezone,from,to,spend_usd,limit_usd,"
		       "usd_per_hour,projected_usd,projected_percent,"
		       "runs_out_at\n");
	} else {
		printf("%-24s %-24s %14s %14s %14s %9s  %s\n", "BUDGET",
		    "WINDOW", "SPEND_USD", "LIMIT_USD", "USD_PER_HOUR",
		    "AT_END", "RUNS_OUT");
	}
	for (size_t i = 0; i < bs->n; i++) {
		const budget *b = &bs->b[i];
		budget_status st;
		store_i128 recent = 0;
		uint64_t calls;
		if ((rv = budget_eval(t, b, now, &st)) != 0) {
			if (o->json) {
				printf("]}\n");
			}
			return (eval_failed("forecast", b, rv));
		}
		// The burn rate over the last `look` seconds of the window
		// (less when the window began more recently).
		int64_t span = look;
		if (b->window != BUDGET_ROLLING && now - st.from < span) {
			span = now - st.from;
		}
		if (b->window == BUDGET_ROLLING && b->rolling_s < span) {
			span = b->rolling_s;
		}
		if (span > 0
		    && (rv = budget_spend(
		            t, b, now + 1 - span, now + 1, &recent, &calls))
		        != 0) {
			return (eval_failed("forecast", b, rv));
		}
		// Projected spend at the window's end: a calendar window
		// adds the rate over what is left of it; a rolling window
		// settles at rate x its length.
		store_i128 projected = st.spend;
		store_i128 remaining = (store_i128) b->limit_pusd - st.spend;
		int64_t runs_out = -1; // never, within the window
		if (span > 0 && recent > 0) {
			if (b->window == BUDGET_ROLLING) {
				projected = recent * b->rolling_s / span;
			} else {
				projected
				    = st.spend + recent * (st.to - now) / span;
			}
			if (remaining <= 0) {
				runs_out = now;
			} else {
				store_i128 secs
				    = (remaining * span + recent - 1) / recent;
				if (b->window == BUDGET_ROLLING
				        ? projected >= b->limit_pusd
				        : now + secs < st.to) {
					runs_out = now + (int64_t) secs;
				}
			}
		} else if (remaining <= 0) {
			runs_out = now;
		}
		out |= runs_out >= 0;
		store_i128 per_hour = span > 0 ? recent * 3600 / span : 0;
		budget_status ps = st;
		ps.spend = projected;
		budget_classify(b, &ps);
		fmt_pct(ps.pct_bp, p, sizeof(p));
		if (runs_out >= 0) {
			llmcost__utc_text(runs_out, when, sizeof(when));
		}
		if (o->json) {
			json_window(b, &st, i == 0);
			printf("\"spend_usd\":\"%s\",\"limit_usd\":"
			       "\"%s\",\"usd_per_hour\":\"%s\","
			       "\"projected_usd\":\"%s\","
			       "\"projected_percent\":\"%s\",\"runs_out_at\":",
			    report_fmt_usd(st.spend, 12, a, sizeof(a)),
			    report_fmt_usd(b->limit_pusd, 12, l, sizeof(l)),
			    report_fmt_usd(per_hour, 12, r, sizeof(r)),
			    report_fmt_usd(projected, 12, w, sizeof(w)), p);
			if (runs_out >= 0) {
				printf("\"%s\"}", when);
			} else {
				printf("null}");
			}
			continue;
		}
		if (o->csv) {
			csv_window(b, &st);
			printf("%s,%s,%s,%s,%s\n",
			    report_fmt_usd(b->limit_pusd, 12, l, sizeof(l)),
			    report_fmt_usd(per_hour, 12, r, sizeof(r)),
			    report_fmt_usd(projected, 12, w, sizeof(w)), p,
			    runs_out >= 0 ? when : "");
			continue;
		}
		char win[64];
		printf("%-24s %-24s %14s %14s %14s %8s%%  %s\n", b->name,
		    window_name(b, win, sizeof(win)),
		    report_fmt_usd(st.spend, 6, a, sizeof(a)),
		    report_fmt_usd(b->limit_pusd, 6, l, sizeof(l)),
		    report_fmt_usd(per_hour, 6, r, sizeof(r)), p,
		    runs_out < 0          ? "-"
		        : runs_out == now ? "now"
		                          : when);
	}
	if (o->json) {
		printf("]}\n");
	}
	if (fflush(stdout) != 0) {
		return (CLI_FAIL);
	}
	return (out ? CLI_BUDGET_EXHAUSTED : CLI_OK);
}

// "90m", "6h", "2d" as seconds; 0 on error.
static int64_t
parse_dur(const char *s)
{
	int64_t v;
	int local;
	if (cli_parse_time(s, 0, &v, &local) != 0 || v >= 0) {
		return (0);
	}
	// cli_parse_time returns now - duration, with now = 0.
	return (-v);
}

int
cmd_budget(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "budgets", required_argument, NULL, 'b' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'c' },
		{ "at", required_argument, NULL, 'a' },
		{ "lookback", required_argument, NULL, 'l' },
		{ "fail-on", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	opts o = { NULL, NULL, NULL, "6h", 0, 0, 0 };
	int c;

	if (argc < 2) {
		budget_usage(stderr);
		return (CLI_USAGE);
	}
	const char *sub = argv[1];
	if (strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0) {
		budget_usage(stdout);
		return (CLI_OK);
	}
	int check = strcmp(sub, "check") == 0;
	if (!check && strcmp(sub, "forecast") != 0) {
		fprintf(stderr,
		    "llmcost budget: unknown command '%s' (want check or "
		    "forecast)\n",
		    sub);
		return (CLI_USAGE);
	}
	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			o.file = optarg;
			break;
		case 'd':
			o.dir = optarg;
			break;
		case 'j':
			o.json = 1;
			break;
		case 'c':
			o.csv = 1;
			break;
		case 'a':
			o.at = optarg;
			break;
		case 'l':
			o.lookback = optarg;
			break;
		case 'f':
			if (strcmp(optarg, "warn") == 0) {
				o.fail_warn = 1;
			} else if (strcmp(optarg, "exhausted") != 0) {
				fprintf(stderr,
				    "llmcost budget: --fail-on wants warn or "
				    "exhausted\n");
				return (CLI_USAGE);
			}
			break;
		case 'h':
			budget_usage(stdout);
			return (CLI_OK);
		default:
			fprintf(stderr, "see 'llmcost budget --help'\n");
			return (CLI_USAGE);
		}
	}
	if (cli_no_operands("budget", argc, argv) != CLI_OK) {
		return (CLI_USAGE);
	}
	if (o.json && o.csv) {
		fprintf(stderr, "llmcost budget: --json or --csv, not both\n");
		return (CLI_USAGE);
	}
	if (o.file != NULL && strlen(o.file) >= LLMCOST__PATH_MAX) {
		fprintf(stderr, "llmcost budget: --budgets is too long\n");
		return (CLI_USAGE);
	}
	int64_t now = cli_now();
	int local; // a time without an offset is read as UTC
	if (o.at != NULL && cli_parse_time(o.at, now, &now, &local) != 0) {
		fprintf(stderr,
		    "llmcost budget: --at %s: want an RFC 3339 time "
		    "(YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM], UTC without an "
		    "offset) or 7d, 24h, 90m\n",
		    o.at);
		return (CLI_USAGE);
	}
	int64_t look = parse_dur(o.lookback);
	if (look <= 0) {
		fprintf(stderr,
		    "llmcost budget: --lookback %s: want 90m, 6h, 2d\n",
		    o.lookback);
		return (CLI_USAGE);
	}
	budget_set *bs;
	store *st;
	store_rtxn *t;
	int rv = open_all(sub, &o, &bs, &st, &t);
	if (rv != CLI_OK) {
		return (rv);
	}
	rv = check ? run_check(&o, bs, t, now)
	           : run_forecast(&o, bs, t, now, look);
	store_read_end(t);
	store_close(st);
	budget_set_free(bs);
	return (rv);
}
