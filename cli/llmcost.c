// DESIGN: the llmcost command: a dispatcher in the style of the LMDB tools
// (getopt per command, usage() on misuse, -V for the version).  Reports
// read the store directly, read-only, so they work whether or not
// llmcostd is running and never slow it down; `stats` asks the daemon
// over its socket.
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "dims.h"
#include "llmcost_common.h"
#include "llmcost_proto.h"
#include "nng_lib.h"

// The commands: what main dispatches and usage() lists, in this order.
typedef struct cli_command {
	const char *name;
	const char *summary; // NULL: report's, from the dimension table
	int (*run)(int argc, char **argv);
} cli_command;

static const cli_command commands[] = {
	{ "report", NULL, cmd_report },
	{ "prices", "the price table: list, show, check, version, import",
	    cmd_prices },
	{ "reconcile", "compare with LangSmith, per group and run by run",
	    cmd_reconcile },
	{ "budget", "budgets: spend against limits, forecasts", cmd_budget },
	{ "reprice", "price stored calls again (after a price change)",
	    cmd_reprice },
	{ "prune", "delete stored calls older than a time; rollups stay",
	    cmd_prune },
	{ "stats", "the collector's counters (asks llmcostd)", cmd_stats },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	// "feature (or model, env, provider)", from the dimension table.
	char others[256], report[320];
	int w = 0;
	if (report_dim_list(others, sizeof(others), 1, ", ", ", ", 0) != 0) {
		others[0] = '\0';
	}
	snprintf(report, sizeof(report), "cost by %s (or %s) over a window",
	    report_dim_name(0), others);
	for (size_t i = 0; i < N_COMMANDS; i++) {
		int len = (int) strlen(commands[i].name);
		w = len > w ? len : w;
	}
	fprintf(f,
	    "Usage: llmcost COMMAND [OPTION]...\n"
	    "Where your LLM spend goes, per product feature.\n\n"
	    "Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++) {
		fprintf(f, "  %-*s  %s\n", w, commands[i].name,
		    commands[i].summary != NULL ? commands[i].summary
		                                : report);
	}
	fprintf(f,
	    "\nRun 'llmcost COMMAND --help' for a command's options.\n"
	    "  -h, --help     show this help\n"
	    "  -V, --version  show the version\n");
}

int
cli_no_operands(const char *cmd, int argc, char **argv)
{
	if (optind < argc) {
		fprintf(stderr,
		    "llmcost %s: unexpected argument '%s' (see --help)\n", cmd,
		    argv[optind]);
		return (CLI_USAGE);
	}
	return (CLI_OK);
}

int64_t
cli_now(void)
{
	return ((int64_t) (llmcost__now_ns() / 1000000000u));
}

int
cli_parse_time(const char *s, int64_t now, int64_t *out, int *local)
{
	char *end;
	errno = 0;
	long long n = strtoll(s, &end, 10);
	if (errno == 0 && end != s && n >= 0 && end[0] != '\0'
	    && end[1] == '\0') {
		int64_t unit = end[0] == 's' ? 1
		    : end[0] == 'm'          ? 60
		    : end[0] == 'h'          ? 3600
		    : end[0] == 'd'          ? 86400
		    : end[0] == 'w'          ? 7 * 86400
		                             : 0;
		if (unit != 0 && n <= 100LL * 366 * 86400 / unit) {
			*out = now - (int64_t) n * unit;
			*local = 0;
			return (0);
		}
	}
	// RFC 3339: a date, optionally a time ('T', 't' or a space), then
	// 'Z' or an offset; seconds and their fraction are optional (the
	// fraction is dropped: windows are exact to the second).
	struct tm tm;
	int32_t off = 0;
	int has_off = 0;
	memset(&tm, 0, sizeof(tm));
	const char *p = strptime(s, "%Y-%m-%d", &tm);
	if (p == NULL) {
		return (-1);
	}
	if (*p == 'T' || *p == 't' || *p == ' ') {
		const char *q = strptime(p + 1, "%H:%M", &tm);
		if (q == NULL) {
			return (-1);
		}
		if (*q == ':') {
			q = strptime(q + 1, "%S", &tm);
			if (q == NULL) {
				return (-1);
			}
			if (*q == '.') {
				q++;
				if (*q < '0' || *q > '9') {
					return (-1);
				}
				while (*q >= '0' && *q <= '9') {
					q++;
				}
			}
		}
		if (*q == 'Z' || *q == 'z') {
			has_off = 1;
			q++;
		} else if (*q == '+' || *q == '-') {
			int hh, mm;
			char sign = *q;
			if (sscanf(q + 1, "%2d:%2d", &hh, &mm) != 2
			    || strlen(q) != 6 || q[3] != ':' || hh > 23
			    || mm > 59) {
				return (-1);
			}
			off = (hh * 3600 + mm * 60) * (sign == '-' ? -1 : 1);
			has_off = 1;
			q += 6;
		}
		if (*q != '\0') {
			return (-1);
		}
	} else if (*p != '\0') {
		return (-1);
	}
	*out = (int64_t) timegm(&tm) - off;
	*local = !has_off;
	return (0);
}

int
cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = { { "url", required_argument, NULL,
		                                  'u' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char url[LLMCOST__URL_MAX] = "";
	int c, n;

	while ((c = getopt_long(argc, argv, "u:h", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			n = snprintf(url, sizeof(url), "%s", optarg);
			if (n < 0 || (size_t) n >= sizeof(url) || n == 0) {
				fprintf(stderr,
				    "llmcost stats: --url must be 1..%zu "
				    "bytes\n",
				    sizeof(url) - 1);
				return (CLI_USAGE);
			}
			break;
		case 'h':
			printf("Usage: llmcost stats [--url URL]\n"
			       "Print llmcostd's counters.\n"
			       "  --url URL  the daemon's socket (default "
			       "$LLMCOST_COLLECTOR_URL, else\n"
			       "             ipc://$XDG_STATE_HOME/llmcost/"
			       "llmcostd.sock)\n");
			return (CLI_OK);
		default:
			fprintf(stderr, "see 'llmcost stats --help'\n");
			return (CLI_USAGE);
		}
	}
	if (url[0] == '\0') {
		const char *e = getenv("LLMCOST_COLLECTOR_URL");
		if (e != NULL && *e != '\0') {
			n = snprintf(url, sizeof(url), "%s", e);
			if (n < 0 || (size_t) n >= sizeof(url)) {
				fprintf(stderr,
				    "llmcost stats: LLMCOST_COLLECTOR_URL is "
				    "longer than %zu bytes\n",
				    sizeof(url) - 1);
				return (CLI_USAGE);
			}
		} else if ((n = llmcost__default_url(url, sizeof(url))) != 0) {
			if (n == LLMCOST_ETOOBIG) {
				fprintf(stderr,
				    "llmcost: the default URL is longer than "
				    "%zu bytes: pass --url\n",
				    sizeof(url) - 1);
			} else {
				fprintf(
				    stderr, "llmcost: no URL: pass --url\n");
			}
			return (CLI_USAGE);
		}
	}
	nng_socket s;
	nng_msg *m;
	int rv;
	const cli_nng *nng = cli_nng_get();
	if (nng == NULL) {
		fprintf(stderr, "llmcost: %s\n", cli_nng_error());
		return (CLI_FAIL);
	}
	if ((rv = nng->req0_open(&s)) != 0) {
		fprintf(stderr, "llmcost: %s\n", nng->strerror(rv));
		return (CLI_FAIL);
	}
	nng->socket_set_ms(s, NNG_OPT_RECVTIMEO, 3000);
	nng->socket_set_ms(s, NNG_OPT_SENDTIMEO, 3000);
	if ((rv = nng->dial(s, url, NULL, 0)) != 0) {
		fprintf(stderr,
		    "llmcost: cannot reach llmcostd at %s: %s (is it "
		    "running?)\n",
		    url, nng->strerror(rv));
		nng->close(s);
		return (CLI_FAIL);
	}
	llmcost_proto_enc enc;
	nng->msg_alloc(&m, 0);
	llmcost_proto_enc_init(&enc, cli_nng_write, m, 0);
	llmcost_proto_enc_stats_req(&enc);
	if ((rv = nng->sendmsg(s, m, 0)) != 0
	    || (rv = nng->recvmsg(s, &m, 0)) != 0) {
		fprintf(stderr, "llmcost: no answer from %s: %s\n", url,
		    nng->strerror(rv));
		nng->close(s);
		return (CLI_FAIL);
	}
	llmcost_proto_msg dm;
	char reason[256];
	if (llmcost_proto_decode(
	        nng->msg_body(m), nng->msg_len(m), &dm, reason, sizeof(reason))
	        != 0
	    || dm.type != LLMCOST_MSG_STATS) {
		fprintf(stderr, "llmcost: unexpected answer from %s\n", url);
		nng->msg_free(m);
		nng->close(s);
		return (CLI_FAIL);
	}
	for (uint32_t i = 0; i < dm.u.stats.n; i++) {
		printf("%.*s %llu\n", (int) dm.u.stats.names[i].len,
		    dm.u.stats.names[i].ptr,
		    (unsigned long long) dm.u.stats.values[i]);
	}
	llmcost_proto_msg_free(&dm);
	nng->msg_free(m);
	nng->close(s);
	return (CLI_OK);
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return (CLI_USAGE);
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0
	    || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return (CLI_OK);
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("llmcost %s\n", llmcost_version());
		return (CLI_OK);
	}
	for (size_t i = 0; i < N_COMMANDS; i++) {
		if (strcmp(cmd, commands[i].name) == 0) {
			return (commands[i].run(argc - 1, argv + 1));
		}
	}
	fprintf(stderr, "llmcost: unknown command '%s' (see llmcost --help)\n",
	    cmd);
	return (CLI_USAGE);
}
