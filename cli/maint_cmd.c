// DESIGN: `llmcost reprice` and `llmcost prune`: store maintenance from
// the command line.  Both open the store as a writer, in this process,
// whether or not llmcostd is running: LMDB serializes write transactions
// across processes, and both work in bounded transactions
// (store_reprice, store_prune), so the daemon's ingest waits at most one
// such transaction at a time.  Neither adds nor removes interned strings
// or metadata sets, which is what keeps the daemon's caches of them
// valid.  A reprice prices each stored run again with the pricing stage
// (pricing.h) that ingest uses, and prints what changed per feature and
// model, summed here from what each committed transaction reports; the
// groups are capped (REPRICE_MAX_GROUPS) and the rest folded into one
// row, so memory stays bounded whatever the store holds.
#define _GNU_SOURCE
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "llmcost_common.h"
#include "pricing.h"
#include "report.h"
#include "store.h"

#define REPRICE_MAX_GROUPS 4096 // rows kept; more are folded into one
#define REPRICE_SLOTS      8192 // hash slots, a power of two > groups
#define OTHER_ID           UINT32_MAX

typedef struct reprice_group {
	int used;
	uint32_t feature, model; // OTHER_ID, OTHER_ID: the folded rest
	uint64_t calls, changed;
	store_i128 old_cost, new_cost;
} reprice_group;

typedef struct reprice_sum {
	reprice_group *slots; // REPRICE_SLOTS
	size_t n;
	reprice_group total;
} reprice_sum;

static reprice_group *
group_of(reprice_sum *rs, uint32_t feature, uint32_t model)
{
	uint64_t h = ((uint64_t) feature * 0x9e3779b97f4a7c15ULL)
	    ^ ((uint64_t) model * 0xc2b2ae3d27d4eb4fULL);
	for (uint32_t i = (uint32_t) (h >> 32);; i++) {
		reprice_group *g = &rs->slots[i & (REPRICE_SLOTS - 1)];
		if (g->used && g->feature == feature && g->model == model) {
			return (g);
		}
		if (!g->used) {
			if (rs->n >= REPRICE_MAX_GROUPS
			    && feature != OTHER_ID) {
				return (group_of(rs, OTHER_ID, OTHER_ID));
			}
			g->used = 1;
			g->feature = feature;
			g->model = model;
			rs->n++;
			return (g);
		}
	}
}

static void
group_add(reprice_group *g, const store_reprice_item *it)
{
	g->calls++;
	g->changed
	    += it->old_cost != it->new_cost || it->old_flags != it->new_flags;
	g->old_cost += it->old_cost;
	g->new_cost += it->new_cost;
}

static int
on_txn(void *arg, const store_reprice_item *items, size_t n)
{
	reprice_sum *rs = arg;
	for (size_t i = 0; i < n; i++) {
		group_add(
		    group_of(rs, items[i].feature, items[i].model), &items[i]);
		group_add(&rs->total, &items[i]);
	}
	return (0);
}

static int
by_delta(const void *a, const void *b)
{
	const reprice_group *x = a, *y = b;
	store_i128 dx = x->new_cost - x->old_cost;
	store_i128 dy = y->new_cost - y->old_cost;
	if (dx < 0) {
		dx = -dx;
	}
	if (dy < 0) {
		dy = -dy;
	}
	if (dx != dy) {
		return (dx > dy ? -1 : 1);
	}
	return (x->calls > y->calls ? -1 : x->calls < y->calls ? 1 : 0);
}

// The name of interned id, into buf ("untagged" for none).
static const char *
name_of(store_rtxn *t, uint32_t id, char *buf, size_t bufsz)
{
	const char *s;
	size_t len;

	if (id == OTHER_ID) {
		snprintf(buf, bufsz, "(other)");
	} else if (id == 0 || t == NULL
	    || store_string(t, id, &s, &len) != 0) {
		snprintf(buf, bufsz, "%s", id == 0 ? "untagged" : "?");
	} else {
		snprintf(buf, bufsz, "%.*s", (int) (len < 200 ? len : 200), s);
	}
	return (buf);
}

static void
print_row(const char *feature, const char *model, const reprice_group *g)
{
	char o[64], n[64], d[64], sd[72];
	store_i128 delta = g->new_cost - g->old_cost;

	report_fmt_usd(g->old_cost, 6, o, sizeof(o));
	report_fmt_usd(g->new_cost, 6, n, sizeof(n));
	report_fmt_usd(delta, 6, d, sizeof(d));
	snprintf(sd, sizeof(sd), "%s%s", delta > 0 ? "+" : "", d);
	printf("%-24s %-28s %10llu %10llu %16s %16s %16s\n", feature, model,
	    (unsigned long long) g->calls, (unsigned long long) g->changed, o,
	    n, sd);
}

static void
print_summary(store *st, reprice_sum *rs, int dry_run)
{
	reprice_group *rows = calloc(rs->n + 1, sizeof(*rows));
	store_rtxn *t = NULL;
	size_t n = 0;

	for (size_t i = 0; rows != NULL && i < REPRICE_SLOTS; i++) {
		if (rs->slots[i].used) {
			rows[n++] = rs->slots[i];
		}
	}
	if (n > 1) {
		qsort(rows, n, sizeof(*rows), by_delta);
	}
	if (store_read_begin(st, &t) != 0) {
		t = NULL;
	}
	printf("%-24s %-28s %10s %10s %16s %16s %16s\n", "feature", "model",
	    "calls", "changed", "old cost", "new cost", "delta");
	for (size_t i = 0; i < n; i++) {
		char f[256], m[256];
		print_row(name_of(t, rows[i].feature, f, sizeof(f)),
		    name_of(t, rows[i].model, m, sizeof(m)), &rows[i]);
	}
	store_read_end(t);
	print_row("total", "", &rs->total);
	printf("%s; costs in USD, rounded to 6 places (the sums are exact)\n",
	    dry_run ? "dry run: nothing was written"
	            : "stored costs and rollups updated");
	free(rows);
}

// Opens the store in dir for writing, refusing to create one, or to
// upgrade an older one under a running older llmcostd.
static int
open_writer(const char *cmd, const char *dir, store **st)
{
	char path[LLMCOST__PATH_MAX + 16], err[STORE_ERR_MAX];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/data.mdb", dir);
	if (stat(path, &sb) != 0) {
		fprintf(stderr,
		    "llmcost %s: no store at %s (start llmcostd, or pass "
		    "--data-dir)\n",
		    cmd, dir);
		return (CLI_FAIL);
	}
	if (store_open(st, dir, STORE_NO_UPGRADE, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "llmcost %s: %s\n", cmd, err);
		return (CLI_FAIL);
	}
	return (CLI_OK);
}

static uint32_t
parse_txn_runs(const char *cmd, const char *s, int *ok)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	*ok = end != s && *end == '\0' && v >= 1 && v <= 1000000;
	if (!*ok) {
		fprintf(
		    stderr, "llmcost %s: --txn-runs wants 1..1000000\n", cmd);
	}
	return ((uint32_t) v);
}

// What reprice or prune was asked.  One parser for both; each command
// passes its own option table, so neither takes the other's options.
typedef struct maint_args {
	const char *since, *until, *before; // as given
	const char *dirarg, *prices_file;   // NULL: not given
	int dry;
	uint32_t txn_runs; // 0: the store's default
} maint_args;

#define MAINT_HELP (-1) // --help was asked for and printed

// Parses argv for cmd into a; *required (a's since or before) must be
// given.  Returns CLI_OK, CLI_USAGE (said on stderr) or MAINT_HELP.
static int
parse_args(const char *cmd, const struct option *opts, const char *help,
    int argc, char **argv, maint_args *a, const char *const *required)
{
	int c, ok;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			a->since = optarg;
			break;
		case 'u':
			a->until = optarg;
			break;
		case 'b':
			a->before = optarg;
			break;
		case 'n':
			a->dry = 1;
			break;
		case 't':
			a->txn_runs = parse_txn_runs(cmd, optarg, &ok);
			if (!ok) {
				return (CLI_USAGE);
			}
			break;
		case 'd':
			a->dirarg = optarg;
			break;
		case 'p':
			a->prices_file = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return (MAINT_HELP);
		default:
			fprintf(stderr, "see 'llmcost %s --help'\n", cmd);
			return (CLI_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		    "llmcost %s: unexpected argument (see --help)\n", cmd);
		return (CLI_USAGE);
	}
	if (*required == NULL) {
		fprintf(stderr, "llmcost %s: --%s is required\n", cmd,
		    required == &a->since ? "since" : "before");
		return (CLI_USAGE);
	}
	return (CLI_OK);
}

static const struct option reprice_opts[] = {
	{ "since", required_argument, NULL, 's' },
	{ "until", required_argument, NULL, 'u' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "txn-runs", required_argument, NULL, 't' },
	{ "data-dir", required_argument, NULL, 'd' },
	{ "prices", required_argument, NULL, 'p' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char reprice_help[]
    = "Usage: llmcost reprice --since WHEN [--until "
      "WHEN] [--dry-run] [OPTION]...\n"
      "Work out the cost of the stored calls that "
      "started in the window again, with the\n"
      "price table in force, and update the calls "
      "and their hourly and daily rollups.\n\n"
      "  --since WHEN     start of the window: 7d, "
      "24h, 90m, 2w or\n"
      "                   YYYY-MM-DD[THH:MM[:SS]Z] "
      "(exact to the second)\n"
      "  --until WHEN     end of the window, "
      "exclusive (default: now, the current\n"
      "                   second included)\n"
      "  --dry-run        print what would change; "
      "write nothing\n"
      "  --txn-runs N     calls per transaction "
      "(default 10000)\n"
      "  --data-dir DIR   llmcostd's data directory "
      "(as for llmcost report)\n"
      "  --prices FILE    price with the built-in "
      "prices plus this overrides file\n"
      "                   (as llmcostd "
      "--prices-file; default: built-in only)\n\n"
      "Safe while llmcostd runs.  Each transaction "
      "updates calls and rollups together;\n"
      "after an interruption, run the same command "
      "again to finish.\n";

int
cmd_reprice(int argc, char **argv)
{
	maint_args m;
	int rv;

	memset(&m, 0, sizeof(m));
	rv = parse_args(
	    "reprice", reprice_opts, reprice_help, argc, argv, &m, &m.since);
	if (rv != CLI_OK) {
		return (rv == MAINT_HELP ? CLI_OK : rv);
	}
	int64_t now = cli_now(), from, to = now;
	int local; // a time without an offset is UTC here
	if (cli_parse_time(m.since, now, &from, &local) != 0
	    || (m.until != NULL
	        && cli_parse_time(m.until, now, &to, &local) != 0)) {
		fprintf(stderr,
		    "llmcost reprice: cannot read the time: use 7d, 24h, "
		    "90m, 2w or RFC 3339 (UTC without an offset)\n");
		return (CLI_USAGE);
	}
	if (m.until == NULL) {
		// "now" includes the calls of the current second, as in
		// llmcost report.
		to = now + 1;
	}
	if (from < 0 || from >= to) {
		fprintf(stderr,
		    "llmcost reprice: the window is empty (--since must be "
		    "before --until)\n");
		return (CLI_USAGE);
	}
	char dir[LLMCOST__PATH_MAX], err[STORE_ERR_MAX];
	if ((rv = cli_resolve_dir("reprice", m.dirarg, dir, sizeof(dir)))
	    != CLI_OK) {
		return (rv);
	}
	prices_table *own = NULL;
	if (m.prices_file != NULL) {
		char perr[PRICES_ERR_MAX];
		if (prices_table_load(m.prices_file, &own, perr, sizeof(perr))
		    != 0) {
			fprintf(stderr, "llmcost reprice: %s\n", perr);
			return (CLI_FAIL);
		}
	}
	const prices_table *table = own != NULL ? own : prices_builtin_table();
	store *st;
	if ((rv = open_writer("reprice", dir, &st)) != CLI_OK) {
		prices_table_free(own);
		return (rv);
	}
	reprice_sum rs;
	memset(&rs, 0, sizeof(rs));
	if ((rs.slots = calloc(REPRICE_SLOTS, sizeof(*rs.slots))) == NULL) {
		store_close(st);
		prices_table_free(own);
		return (CLI_FAIL);
	}
	store_reprice_opts o = {
		.from_ns = (uint64_t) from * 1000000000u,
		.to_ns = (uint64_t) to * 1000000000u,
		.txn_runs = m.txn_runs,
		.dry_run = m.dry,
		.price = pricing_price_run,
		.price_arg = (void *) table,
		.done = on_txn,
		.done_arg = &rs,
		.price_version = prices_table_version(table),
	};
	char a[32], b[32];
	llmcost__utc_text((int64_t) (o.from_ns / 1000000000u), a, sizeof(a));
	llmcost__utc_text((int64_t) (o.to_ns / 1000000000u), b, sizeof(b));
	printf("reprice of the calls that started in [%s, %s)\n", a, b);
	store_rtxn *t;
	uint64_t cut = 0;
	if (store_read_begin(st, &t) == 0) {
		store_pruned_before(t, &cut);
		store_read_end(t);
	}
	if (cut > o.from_ns) {
		llmcost__utc_text((int64_t) (cut / 1000000000u), a, sizeof(a));
		printf("note: calls before %s were pruned; their rollups keep "
		       "the costs they had\n",
		    a);
	}
	rv = store_reprice(st, &o, err, sizeof(err));
	if (rv != 0) {
		fprintf(stderr,
		    "llmcost reprice: %s; the transactions before it are "
		    "done: run the same command again to finish\n",
		    rv == LLMCOST_ESTORE ? err : llmcost_strerror(rv));
	}
	print_summary(st, &rs, m.dry);
	printf("prices: table %s%s%s\n", prices_table_version(table),
	    m.prices_file != NULL ? " with overrides from " : "",
	    m.prices_file != NULL ? m.prices_file : "");
	free(rs.slots);
	store_close(st);
	prices_table_free(own);
	if (fflush(stdout) != 0) {
		return (CLI_FAIL);
	}
	return (rv == 0 ? CLI_OK : CLI_FAIL);
}

static const struct option prune_opts[] = {
	{ "before", required_argument, NULL, 'b' },
	{ "txn-runs", required_argument, NULL, 't' },
	{ "data-dir", required_argument, NULL, 'd' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static const char prune_help[]
    = "Usage: llmcost prune --before WHEN "
      "[OPTION]...\n"
      "Delete the stored calls (with their extras "
      "and trace links) that started\n"
      "before WHEN; the hourly and daily rollups, "
      "and so every report over whole\n"
      "hours, keep them.\n\n"
      "  --before WHEN    30d, 12w, or "
      "YYYY-MM-DD[THH:MM[:SS]Z]\n"
      "  --txn-runs N     calls per transaction "
      "(default 10000)\n"
      "  --data-dir DIR   llmcostd's data directory "
      "(as for llmcost report)\n\n"
      "Safe while llmcostd runs; after an "
      "interruption, run it again to finish.\n";

int
cmd_prune(int argc, char **argv)
{
	maint_args m;
	int rv;

	memset(&m, 0, sizeof(m));
	rv = parse_args(
	    "prune", prune_opts, prune_help, argc, argv, &m, &m.before);
	if (rv != CLI_OK) {
		return (rv == MAINT_HELP ? CLI_OK : rv);
	}
	int64_t now = cli_now(), cut;
	int local; // a time without an offset is UTC here
	if (cli_parse_time(m.before, now, &cut, &local) != 0 || cut < 0) {
		fprintf(stderr,
		    "llmcost prune: cannot read the time '%s': use 30d, 12w "
		    "or YYYY-MM-DD[THH:MM[:SS]Z]\n",
		    m.before);
		return (CLI_USAGE);
	}
	char dir[LLMCOST__PATH_MAX], err[STORE_ERR_MAX], when[32];
	if ((rv = cli_resolve_dir("prune", m.dirarg, dir, sizeof(dir)))
	    != CLI_OK) {
		return (rv);
	}
	store *st;
	if ((rv = open_writer("prune", dir, &st)) != CLI_OK) {
		return (rv);
	}
	uint64_t n = 0;
	rv = store_prune(st, (uint64_t) cut * 1000000000u, m.txn_runs, 0, &n,
	    NULL, err, sizeof(err));
	llmcost__utc_text(cut, when, sizeof(when));
	printf("pruned %llu calls that started before %s; rollups kept\n",
	    (unsigned long long) n, when);
	store_close(st);
	if (rv != 0) {
		fprintf(stderr,
		    "llmcost prune: %s; run the same command again to "
		    "finish\n",
		    err);
		return (CLI_FAIL);
	}
	return (CLI_OK);
}
