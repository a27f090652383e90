// DESIGN: `llmcost prices`: the price table in force (the built-in files
// plus, with --prices FILE, a user's overrides, exactly as llmcostd
// builds it from its prices_file setting), one model's history, the
// models a store holds calls of that no entry prices, and the importer
// of other projects' tables.  Everything reads; nothing here writes the
// store (check opens it read-only, as reports do).
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "llmcost_common.h"
#include "prices.h"
#include "prices_import.h"
#include "store.h"

static void
prices_usage(FILE *f)
{
	fprintf(f,
	    "Usage: llmcost prices [--prices FILE] [list]\n"
	    "       llmcost prices [--prices FILE] show MODEL\n"
	    "       llmcost prices [--prices FILE] check [--data-dir DIR]\n"
	    "       llmcost prices [--prices FILE] version\n"
	    "       llmcost prices import [--litellm FILE] [--langfuse FILE]\n"
	    "                             [--first-id N] [-o OUT]\n"
	    "The price table in force: the built-in prices plus the "
	    "overrides FILE\n"
	    "(llmcostd's prices_file setting).  Prices are USD per 1M "
	    "tokens (exact);\n"
	    "fees USD per request; '-' = no price.\n"
	    "  list     every entry: id, provider, model, platform, valid "
	    "from, service\n"
	    "           tiers, standard input / cache read / cache write "
	    "5m / 1h / output\n"
	    "  show     every entry that prices MODEL (its history, tiers "
	    "and fees), in\n"
	    "           the price-file format, and which one is in force "
	    "now\n"
	    "  check    the (provider, model) pairs of the store's calls "
	    "that no entry\n"
	    "           prices, with their call counts (exit 1 if any)\n"
	    "  version  the table's version (a hash of its files)\n"
	    "  import   convert LiteLLM's model_prices_and_context_window."
	    "json and\n"
	    "           Langfuse's default-model-prices.json to entries in "
	    "the price-file\n"
	    "           format; skipped fields and implausible prices are "
	    "listed on stderr\n"
	    "  --prices FILE    a price file whose entries win over the "
	    "built-in ones\n"
	    "  --data-dir DIR   llmcostd's data directory (check)\n");
}

static void
print_usd(int64_t p, unsigned scale, int width)
{
	char buf[48];
	if (p == PRICE_UNPRICED
	    || prices_format_decimal(p, scale, buf, sizeof(buf)) != 0) {
		printf(" %*s", width, "-");
		return;
	}
	printf(" %*s", width, buf);
}

static int
cmd_list(const prices_table *t, const char *file)
{
	static const int cols[] = { LLMCOST_IN_UNCACHED, LLMCOST_IN_CACHE_READ,
		LLMCOST_IN_CACHE_WRITE_5M, LLMCOST_IN_CACHE_WRITE_1H,
		LLMCOST_OUT_TEXT };
	size_t n;
	const price_entry *e = prices_table_entries(t, &n);

	printf("price table %s: %zu entries%s%s\n", prices_table_version(t), n,
	    file != NULL ? ", overrides from " : "", file != NULL ? file : "");
	printf("%5s %-9s %-34s %-8s %-10s %-12s %8s %8s %8s %8s %8s %9s\n",
	    "id", "provider", "model", "platform", "from", "tiers", "input",
	    "cached", "write5m", "write1h", "output", "web_srch");
	for (size_t i = 0; i < n; i++) {
		char from[16], tiers[32] = "";
		time_t vf = (time_t) e[i].valid_from;
		struct tm tm;
		gmtime_r(&vf, &tm);
		strftime(from, sizeof(from), "%Y-%m-%d", &tm);
		size_t tl = 0;
		int ctx = 0;
		for (uint32_t k = 0; k < e[i].nsets; k++) {
			const price_set *s = &e[i].sets[k];
			ctx |= s->above != 0;
			if (s->above == 0) {
				int m = snprintf(tiers + tl,
				    sizeof(tiers) - tl, "%s%c", tl ? "," : "",
				    llmcost__tier_name(s->service_tier)[0]);
				if (m > 0 && (size_t) m < sizeof(tiers) - tl) {
					tl += (size_t) m;
				}
			}
		}
		if (ctx && tl + 2 < sizeof(tiers)) {
			memcpy(tiers + tl, ",>", 3);
		}
		printf("%5u %-9s %-34s %-8s %-10s %-12s", e[i].id,
		    e[i].provider, e[i].model,
		    e[i].platform[0] ? e[i].platform : "-", from, tiers);
		const price_set *s = NULL;
		if (prices_set_for(&e[i], LLMCOST_TIER_STANDARD, 0, &s) != 0) {
			s = NULL;
		}
		for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
			print_usd(s ? s->pusd[cols[k]] : PRICE_UNPRICED, 6, 8);
		}
		print_usd(e[i].fee_pusd[LLMCOST_FEE_WEB_SEARCH], 12, 9);
		putchar('\n');
	}
	printf("tiers: s standard, b batch, f flex, p priority; '>' "
	       "long-context prices above an input size (see 'show')\n");
	return (CLI_OK);
}

static const char *const known_providers[]
    = { "openai", "anthropic", "google" };

static int
cmd_show(const prices_table *t, const char *model)
{
	size_t n;
	const price_entry *e = prices_table_entries(t, &n);
	const price_entry *now[8];
	size_t nnow = 0;
	uint64_t now_ns = llmcost__now_ns();
	int shown = 0;

	// What a call of this name made now is priced by, per provider and
	// platform the table knows.
	static const char *const plats[]
	    = { "", "vertex", "bedrock", "azure" };
	for (size_t p = 0; p < 3; p++) {
		for (size_t k = 0; k < 4 && nnow < 8; k++) {
			price_query q = { .provider = known_providers[p],
				.provider_len = strlen(known_providers[p]),
				.model = model,
				.model_len = strlen(model),
				.platform = plats[k],
				.platform_len = strlen(plats[k]),
				.start_ns = now_ns };
			const price_entry *f;
			if (prices_find(t, &q, &f) == 0) {
				now[nnow++] = f;
			}
		}
	}
	printf("# price table %s\n", prices_table_version(t));
	for (size_t i = 0; i < n; i++) {
		int hit = strcmp(e[i].model, model) == 0;
		for (size_t k = 0; !hit && k < nnow; k++) {
			hit = strcmp(e[i].provider, now[k]->provider) == 0
			    && strcmp(e[i].model, now[k]->model) == 0
			    && strcmp(e[i].platform, now[k]->platform) == 0;
		}
		if (!hit) {
			continue;
		}
		int in_force = 0;
		for (size_t k = 0; k < nnow; k++) {
			in_force |= now[k] == &e[i];
		}
		printf("\n# %s:%u%s%s\n", e[i].file, e[i].line,
		    e[i].override ? " (override)" : "",
		    in_force ? " (in force now)" : "");
		prices_write_entry(stdout, &e[i]);
		shown++;
	}
	if (shown == 0) {
		fprintf(stderr,
		    "llmcost prices: no entry prices '%s' (calls of it are "
		    "unpriced)\n",
		    model);
		return (CLI_FAIL);
	}
	return (CLI_OK);
}

// check: one row per (provider, model) of the store.
typedef struct seen {
	uint32_t provider, model;
	uint64_t calls, unpriced;
} seen;

#define CHECK_MAX_PAIRS 65536u

typedef struct check_ctx {
	store_rtxn *txn;
	const prices_table *t;
	seen *rows;
	size_t n;
	int overflow;
} check_ctx;

static int
check_run(void *arg, const uint8_t *id, const store_run *run,
    const store_extras *ex, const uint8_t *trace)
{
	check_ctx *c = arg;
	seen *s = NULL;

	for (size_t i = 0; i < c->n; i++) {
		if (c->rows[i].provider == run->provider
		    && c->rows[i].model == run->model) {
			s = &c->rows[i];
			break;
		}
	}
	if (s == NULL) {
		if (c->n == CHECK_MAX_PAIRS) {
			c->overflow = 1;
			return (0);
		}
		s = &c->rows[c->n++];
		memset(s, 0, sizeof(*s));
		s->provider = run->provider;
		s->model = run->model;
	}
	s->calls++;
	const char *pv = NULL, *mv = NULL;
	size_t pl = 0, ml = 0;
	(void) store_string(c->txn, run->provider, &pv, &pl);
	(void) store_string(c->txn, run->model, &mv, &ml);
	price_query q = { .provider = pv,
		.provider_len = pl,
		.model = mv,
		.model_len = ml,
		.start_ns = run->start_ns };
	(void) id;
	(void) trace;
	if (ex != NULL) {
		q.platform = ex->platform;
		q.platform_len = strnlen(ex->platform, sizeof(ex->platform));
	}
	const price_entry *e;
	if (prices_find(c->t, &q, &e) != 0) {
		s->unpriced++;
	}
	return (0);
}

static int
cmd_check(const prices_table *t, const char *dirarg)
{
	char dir[LLMCOST__PATH_MAX], err[STORE_ERR_MAX];
	store *st;
	store_rtxn *txn;
	int rv;

	if ((rv = cli_resolve_dir("prices", dirarg, dir, sizeof(dir)))
	    != CLI_OK) {
		return (rv);
	}
	if (store_open(&st, dir, STORE_RDONLY, 0, err, sizeof(err)) != 0) {
		fprintf(stderr, "llmcost prices: %s\n", err);
		return (CLI_FAIL);
	}
	check_ctx c;
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.rows = malloc(sizeof(*c.rows) * CHECK_MAX_PAIRS);
	if (c.rows == NULL || store_read_begin(st, &txn) != 0) {
		free(c.rows);
		store_close(st);
		fprintf(stderr, "llmcost prices: cannot read the store\n");
		return (CLI_FAIL);
	}
	c.txn = txn;
	// The extras (for each call's platform) are walked with the runs.
	rv = store_scan_ex(
	    txn, 0, UINT64_MAX, STORE_SCAN_EXTRAS, check_run, &c);
	size_t bad = 0;
	printf("price table %s: (provider, model) pairs with calls no "
	       "entry prices\n",
	    prices_table_version(t));
	printf("%-12s %-40s %12s %12s\n", "provider", "model", "unpriced",
	    "calls");
	for (size_t i = 0; rv == 0 && i < c.n; i++) {
		if (c.rows[i].unpriced == 0) {
			continue;
		}
		const char *pv = "", *mv = "";
		size_t pl = 0, ml = 0;
		(void) store_string(txn, c.rows[i].provider, &pv, &pl);
		(void) store_string(txn, c.rows[i].model, &mv, &ml);
		printf("%-12.*s %-40.*s %12llu %12llu\n", (int) pl, pv,
		    (int) ml, mv, (unsigned long long) c.rows[i].unpriced,
		    (unsigned long long) c.rows[i].calls);
		bad++;
	}
	printf("%zu of %zu pairs unpriced%s\n", bad, c.n,
	    c.overflow ? " (more than 65536 pairs: the rest not checked)"
	               : "");
	store_read_end(txn);
	store_close(st);
	free(c.rows);
	if (rv != 0) {
		fprintf(stderr, "llmcost prices: cannot read the store: %s\n",
		    llmcost_strerror(rv));
		return (CLI_FAIL);
	}
	return (bad > 0 ? CLI_FAIL : CLI_OK);
}

int
cmd_prices(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "prices", required_argument, NULL, 'p' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *dirarg = NULL;
	int c;

	if (argc > 1 && strcmp(argv[1], "import") == 0) {
		return (cmd_prices_import(argc - 1, argv + 1));
	}
	// Options may come before or after the subcommand.
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			file = optarg;
			break;
		case 'd':
			dirarg = optarg;
			break;
		case 'h':
			prices_usage(stdout);
			return (CLI_OK);
		default:
			fprintf(stderr, "see 'llmcost prices --help'\n");
			return (CLI_USAGE);
		}
	}
	const char *sub = optind < argc ? argv[optind++] : "list";
	const char *arg = NULL;
	if (strcmp(sub, "show") == 0) {
		if (optind >= argc) {
			fprintf(stderr, "llmcost prices show: which model?\n");
			return (CLI_USAGE);
		}
		arg = argv[optind++];
	}
	if (cli_no_operands("prices", argc, argv) != CLI_OK) {
		return (CLI_USAGE);
	}
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0
	    && strcmp(sub, "check") != 0 && strcmp(sub, "version") != 0) {
		fprintf(stderr,
		    "llmcost prices: unknown subcommand '%s' (list, show, "
		    "check, version, import)\n",
		    sub);
		return (CLI_USAGE);
	}
	prices_table *own = NULL;
	const prices_table *t = prices_builtin_table();
	if (file != NULL) {
		char err[PRICES_ERR_MAX];
		if (prices_table_load(file, &own, err, sizeof(err)) != 0) {
			fprintf(stderr, "llmcost prices: %s\n", err);
			return (CLI_FAIL);
		}
		t = own;
	}
	int rv;
	if (strcmp(sub, "show") == 0) {
		rv = cmd_show(t, arg);
	} else if (strcmp(sub, "check") == 0) {
		rv = cmd_check(t, dirarg);
	} else if (strcmp(sub, "version") == 0) {
		printf("%s\n", prices_table_version(t));
		rv = CLI_OK;
	} else {
		rv = cmd_list(t, file);
	}
	prices_table_free(own);
	if (fflush(stdout) != 0) {
		rv = CLI_FAIL;
	}
	return (rv);
}

int
cmd_prices_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "litellm", required_argument, NULL, 'l' },
		{ "langfuse", required_argument, NULL, 'f' },
		{ "first-id", required_argument, NULL, 'i' },
		{ "valid-from", required_argument, NULL, 'v' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *litellm = NULL, *langfuse = NULL, *outp = NULL;
	int64_t from = cli_now() / 86400 * 86400;
	unsigned long long first = 1000000;
	char *end;
	int c, local;

	optind = 1;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			litellm = optarg;
			break;
		case 'f':
			langfuse = optarg;
			break;
		case 'i':
			first = strtoull(optarg, &end, 10);
			if (*end != '\0' || first == 0
			    || first > UINT32_MAX / 2) {
				fprintf(stderr,
				    "llmcost prices import: --first-id: a "
				    "whole number from 1\n");
				return (CLI_USAGE);
			}
			break;
		case 'v':
			// A date without an offset is read as UTC here.
			if (cli_parse_time(optarg, 0, &from, &local) != 0
			    || from < 0) {
				fprintf(stderr,
				    "llmcost prices import: --valid-from: "
				    "YYYY-MM-DD\n");
				return (CLI_USAGE);
			}
			break;
		case 'o':
			outp = optarg;
			break;
		case 'h':
			prices_usage(stdout);
			printf("  import options: --litellm FILE, --langfuse "
			       "FILE, --first-id N (default 1000000),\n"
			       "    --valid-from DATE (default today), -o OUT "
			       "(default stdout)\n");
			return (CLI_OK);
		default:
			fprintf(stderr, "see 'llmcost prices --help'\n");
			return (CLI_USAGE);
		}
	}
	if (optind < argc || (litellm == NULL && langfuse == NULL)) {
		fprintf(stderr,
		    "llmcost prices import: give --litellm FILE and/or "
		    "--langfuse FILE\n");
		return (CLI_USAGE);
	}
	FILE *out = stdout;
	if (outp != NULL && (out = fopen(outp, "w")) == NULL) {
		fprintf(
		    stderr, "llmcost prices import: cannot write %s\n", outp);
		return (CLI_FAIL);
	}
	prices_import imp;
	char err[512];
	int rv = 0;
	prices_import_init(&imp, out, stderr, (uint32_t) first, from);
	fprintf(out,
	    "# Imported by llmcost prices import.  Format: docs/prices.md.\n");
	if (litellm != NULL) {
		rv = prices_import_litellm(&imp, litellm, err, sizeof(err));
	}
	if (rv == 0 && langfuse != NULL) {
		rv = prices_import_langfuse(&imp, langfuse, err, sizeof(err));
	}
	if (rv == 0) {
		prices_import_summary(&imp);
		fprintf(stderr,
		    "%zu entries written, %zu skipped, %zu flagged, %zu "
		    "rounded to a pico-USD\n",
		    imp.entries, imp.skipped, imp.flagged, imp.rounded);
	} else {
		fprintf(stderr, "llmcost prices import: %s\n", err);
	}
	prices_import_fini(&imp);
	if ((out != stdout && fclose(out) != 0)
	    || (out == stdout && fflush(out) != 0)) {
		rv = rv ? rv : LLMCOST_EINVAL;
	}
	return (rv == 0 ? CLI_OK : CLI_FAIL);
}
