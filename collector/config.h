// llmcostd settings: one table, CONFIG_MAP, gives each setting's field
// in `config`, option name, type, environment variable, default, bounds
// and help; the struct, parsing, validation, --help and the start-up
// banner are generated from it (redis's static_configs[] is the model).
//
// XX(field, name, type, env, dflt, min, max, help):
//   field  the member of config
//   name   the option (--name) and the name in the banner
//   type   PATH (a path, up to LLMCOST__PATH_MAX - 1 bytes), URL (up
//          to LLMCOST__URL_MAX - 1 bytes), LEVEL (a log level name, from
//          the header's LLMCOST_LOG_LEVEL_MAP) or U64 (an integer in
//          min..max)
//   env    the environment variable read for it
//   dflt   VALUE(text): the default, parsed and checked like any other
//          value; or DERIVED(doc): worked out at load time (data-dir by
//          the shared resolver in common/paths.c, listen from data-dir),
//          doc saying how for --help (budgets-file from data-dir too)
//   help   one line for --help; the type's rules, bounds and default are
//          appended to it
//
// Precedence: default < environment < command line.
#ifndef LLMCOSTD_CONFIG_H
#define LLMCOSTD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "llmcost_common.h"

// clang-format off
#define CONFIG_MAP(XX)                                                        \
	XX(data_dir, "data-dir", PATH, "LLMCOSTD_DATA_DIR",                   \
	    DERIVED("$XDG_STATE_HOME/llmcost or ~/.local/state/llmcost"),     \
	    0, 0, "directory of the LMDB store and the socket (created 0700)")\
	XX(listen, "listen", URL, "LLMCOSTD_LISTEN",                          \
	    DERIVED("ipc://DATA_DIR/" LLMCOST_SOCKET_NAME), 0, 0,             \
	    "ingest URL (tcp://127.0.0.1:PORT for other hosts)")              \
	XX(log_level, "log-level", LEVEL, "LLMCOSTD_LOG", VALUE("info"),      \
	    0, 0, "the least severe messages logged")                         \
	XX(map_size_mb, "map-size-mb", U64, "LLMCOSTD_MAP_SIZE_MB",           \
	    VALUE("4096"), 16, UINT64_C(1) << 24,                             \
	    "initial LMDB map size in MiB (grows when full)")                 \
	XX(contexts, "contexts", U64, "LLMCOSTD_CONTEXTS", VALUE("16"),       \
	    1, 256, "batches received concurrently")                          \
	XX(txn_records, "txn-records", U64, "LLMCOSTD_TXN_RECORDS",           \
	    VALUE("65536"), 1, UINT64_C(1) << 20,                             \
	    "most calls committed in one transaction")                        \
	XX(stop_bound_ms, "stop-bound-ms", U64, "LLMCOSTD_STOP_BOUND_MS",    \
	    VALUE("5000"), 100, 3600000,                                      \
	    "after SIGTERM/SIGINT, exit within this bound even if closing "   \
	    "the socket hangs (nng issues 1543, 1813)")                       \
	XX(prices_file, "prices-file", PATH, "LLMCOSTD_PRICES_FILE",          \
	    DERIVED("none: the built-in prices only"), 0, 0,                  \
	    "a price file (docs/prices.md) whose entries win over the "       \
	    "built-in ones; read again on SIGHUP")                            \
	XX(retain_days, "retain-days", U64, "LLMCOSTD_RETAIN_DAYS",           \
	    VALUE("0"), 0, 36500, "delete stored calls older than this many " \
	    "days, keeping their hourly and daily rollups (0: keep every "    \
	    "call)")                                                          \
	XX(budgets_file, "budgets-file", PATH, "LLMCOSTD_BUDGETS_FILE",       \
	    DERIVED("DATA_DIR/budgets.conf"), 0, 0,                           \
	    "the budgets (docs/budgets.md); re-read on SIGHUP; none if "      \
	    "missing")                                                        \
	XX(budget_interval_ms, "budget-interval-ms", U64,                     \
	    "LLMCOSTD_BUDGET_INTERVAL_MS", VALUE("1000"), 10, 3600000,        \
	    "budgets are evaluated after commits, at most this often")       \
	XX(webhook_timeout_ms, "webhook-timeout-ms", U64,                     \
	    "LLMCOSTD_WEBHOOK_TIMEOUT_MS", VALUE("10000"), 100, 120000,       \
	    "time allowed for one alert post")                                \
	XX(webhook_retry_ms, "webhook-retry-ms", U64,                         \
	    "LLMCOSTD_WEBHOOK_RETRY_MS", VALUE("1000"), 10, 600000,           \
	    "the first retry's wait (doubling, jittered, up to 5 min, 12 "    \
	    "attempts)")
// clang-format on

#define CONFIG__FIELD_PATH(f)  char f[LLMCOST__PATH_MAX];
#define CONFIG__FIELD_URL(f)   char f[LLMCOST__URL_MAX];
#define CONFIG__FIELD_LEVEL(f) int f;
#define CONFIG__FIELD_U64(f)   uint64_t f;

typedef struct config {
#define CONFIG__FIELD(field, name, type, env, dflt, min, max, help)           \
	CONFIG__FIELD_##type(field)
	CONFIG_MAP(CONFIG__FIELD)
#undef CONFIG__FIELD
} config;

// What config_load tells its caller to do.
#define CONFIG_RUN   0  // cfg is complete and valid: start
#define CONFIG_EXIT  1  // --help or --version was printed: exit 0
#define CONFIG_ERROR -1 // err says what is wrong: exit 2

// Fills cfg from the defaults, then the environment, then argv (argv[0]
// is the program).  --help and --version print to out.  Returns one of
// the CONFIG_* values above; on CONFIG_ERROR err holds one line naming
// the setting, where the value came from and what is accepted.
// Threading: reads the environment; call at startup.
int config_load(config *cfg, int argc, char *const *argv, FILE *out, char *err,
    size_t errsz);

// The --help text, generated from CONFIG_MAP.
void config_usage(FILE *f, const char *prog);

// The settings in force, "name=value ..." in table order, for the
// start-up banner.  Returns 0, or LLMCOST_ETOOBIG (buf holds a truncated,
// NUL-terminated line).
int config_describe(const config *cfg, char *buf, size_t bufsz);

#endif // LLMCOSTD_CONFIG_H
