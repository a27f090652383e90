// llmcost CLI: shared declarations.
#ifndef LLMCOST_CLI_H
#define LLMCOST_CLI_H

#include <stdint.h>

// Exit codes: 0 ok, 1 runtime failure, 2 usage error.
#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

int cmd_report(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_prices(int argc, char **argv);

// Parses "7d", "24h", "90m", "2w" (relative to now) or an absolute UTC
// date "YYYY-MM-DD" / "YYYY-MM-DDTHH:MM[:SS]Z" into Unix seconds.
int cli_parse_time(const char *s, int64_t now, int64_t *out);

#endif // LLMCOST_CLI_H
