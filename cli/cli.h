// llmcost CLI: shared declarations.
#ifndef LLMCOST_CLI_H
#define LLMCOST_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"

// Exit codes: 0 ok, 1 runtime failure, 2 usage error.
#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2
// `llmcost budget`: a budget is exhausted (check) or projected to run
// out within its window (forecast); with --fail-on warn, a soft
// threshold is crossed.
#define CLI_BUDGET_EXHAUSTED 3
#define CLI_BUDGET_WARN      4

int cmd_report(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_prices(int argc, char **argv);
int cmd_reconcile(int argc, char **argv);
int cmd_prices_import(int argc, char **argv);
int cmd_reprice(int argc, char **argv);
int cmd_prune(int argc, char **argv);
int cmd_budget(int argc, char **argv);

// The data directory: opt (--data-dir), else $LLMCOSTD_DATA_DIR (as
// llmcostd reads it), else the shared default (common/paths.c).  Returns
// CLI_OK or an exit code after printing why, as "llmcost CMD: ...".
int cli_resolve_dir(const char *cmd, const char *opt, char *dir, size_t dirsz);

// After a command's getopt_long loop: CLI_OK when no operand is left,
// else CLI_USAGE after printing "llmcost CMD: unexpected argument 'X'
// (see --help)".
int cli_no_operands(const char *cmd, int argc, char **argv);

// Now, in Unix seconds, from CLOCK_REALTIME.  Not time(NULL): that reads
// the kernel's coarse clock, up to a tick (4 ms) behind, so a window
// ending "now" would miss a call stored a moment ago just after a
// second began.
int64_t cli_now(void);

// Parses "30s", "90m", "24h", "7d", "2w" (that long before now) or an
// RFC 3339 time: "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.frac]]" then "Z",
// "+HH:MM" or "-HH:MM", or nothing.  Writes Unix seconds to *out and
// sets *local when the text gave no offset (a date, or a time without
// one): *out is then that wall time read as UTC, for the caller to move
// into its zone.  Returns 0 or -1.
int cli_parse_time(const char *s, int64_t now, int64_t *out, int *local);

// Answers q by asking the llmcostd at url (a QUERY over nng).  Returns
// 0 and *out (query_result_free), or an llmcost error code with err
// saying what went wrong and what to do: LLMCOST_ECONNECT (no daemon
// there), LLMCOST_ETIMEDOUT, LLMCOST_EPROTO (an answer that is not a
// QUERY_REPLY), or the status of a query the daemon refused.
int cli_query_remote(const char *url, const query_spec *q, query_result **out,
    char *err, size_t errsz);

#endif // LLMCOST_CLI_H
