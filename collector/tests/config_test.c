// Tests for llmcostd's settings table (collector/config.c): defaults,
// precedence (default < environment < command line), the bounds of every
// number with the errors that state the range, over-long paths and URLs,
// the derived data directory and listen URL, and the generated --help
// and banner, against exact expected text.
#define _GNU_SOURCE
#include "testutil.h"

#include "config.h"

static const char *const vars[] = { "LLMCOSTD_DATA_DIR", "LLMCOSTD_LISTEN",
	"LLMCOSTD_LOG", "LLMCOSTD_MAP_SIZE_MB", "LLMCOSTD_CONTEXTS",
	"LLMCOSTD_TXN_RECORDS", "LLMCOSTD_STOP_BOUND_MS",
	"LLMCOSTD_BUDGETS_FILE", "LLMCOSTD_BUDGET_INTERVAL_MS",
	"LLMCOSTD_WEBHOOK_TIMEOUT_MS", "LLMCOSTD_WEBHOOK_RETRY_MS",
	"XDG_STATE_HOME", "HOME" };

// A known environment before each test: no LLMCOSTD_* variable, and the
// state directory /tmp/cfgtest/state.
static int
setup(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		unsetenv(vars[i]);
	}
	setenv("XDG_STATE_HOME", "/tmp/cfgtest/state", 1);
	setenv("HOME", "/tmp/cfgtest/home", 1);
	return (0);
}

typedef struct result {
	config cfg;
	int rv;
	char err[512];
	char out[8192];
} result;

// config_load on a NULL-terminated argument list (without argv[0]).
static result *
load(const char *const *args)
{
	static result r;
	char *argv[32];
	int argc = 0;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	assert_non_null(out);
	memset(&r, 0, sizeof(r));
	argv[argc++] = "llmcostd";
	for (; args != NULL && *args != NULL; args++) {
		argv[argc++] = (char *) *args;
	}
	argv[argc] = NULL;
	r.rv = config_load(&r.cfg, argc, argv, out, r.err, sizeof(r.err));
	fclose(out);
	snprintf(r.out, sizeof(r.out), "%s", text);
	free(text);
	return (&r);
}

// config_load must fail with exactly this error.
static void
fails(const char *const *args, const char *want)
{
	result *r = load(args);
	if (r->rv != CONFIG_ERROR || strcmp(r->err, want) != 0) {
		fail_msg("got %d \"%s\", want \"%s\"", r->rv, r->err, want);
	}
}

#define ARGS(...) ((const char *const[]) { __VA_ARGS__, NULL })

static void
test_defaults(void **state)
{
	(void) state;
	result *r = load(NULL);
	char line[1024];

	assert_int_equal(r->rv, CONFIG_RUN);
	assert_string_equal(r->cfg.data_dir, "/tmp/cfgtest/state/llmcost");
	assert_string_equal(
	    r->cfg.listen, "ipc:///tmp/cfgtest/state/llmcost/llmcostd.sock");
	assert_int_equal(r->cfg.log_level, LLMCOST_LOG_INFO);
	assert_int_equal(r->cfg.map_size_mb, 4096);
	assert_int_equal(r->cfg.contexts, 16);
	assert_int_equal(r->cfg.txn_records, 65536);
	assert_int_equal(r->cfg.stop_bound_ms, 5000);
	assert_int_equal(r->cfg.retain_days, 0);
	LLMCOST_PASS(config_describe(&r->cfg, line, sizeof(line)));
	assert_string_equal(line,
	    "data-dir=/tmp/cfgtest/state/llmcost "
	    "listen=ipc:///tmp/cfgtest/state/llmcost/llmcostd.sock "
	    "log-level=info map-size-mb=4096 contexts=16 txn-records=65536 "
	    "stop-bound-ms=5000 prices-file=- "
	    "retain-days=0 "
	    "budgets-file=/tmp/cfgtest/state/llmcost/budgets.conf "
	    "budget-interval-ms=1000 webhook-timeout-ms=10000 "
	    "webhook-retry-ms=1000");
	// A banner that does not fit is cut and says so.
	LLMCOST_FAIL(config_describe(&r->cfg, line, 20), LLMCOST_ETOOBIG);
	assert_true(strlen(line) < 20);

	// Without XDG_STATE_HOME, HOME decides; without both, no default.
	unsetenv("XDG_STATE_HOME");
	r = load(NULL);
	assert_int_equal(r->rv, CONFIG_RUN);
	assert_string_equal(
	    r->cfg.data_dir, "/tmp/cfgtest/home/.local/state/llmcost");
	unsetenv("HOME");
	fails(NULL, "no data directory: pass --data-dir or set HOME");
	r = load(ARGS("--data-dir", "/srv/x"));
	assert_int_equal(r->rv, CONFIG_RUN);
	assert_string_equal(r->cfg.listen, "ipc:///srv/x/llmcostd.sock");
}

// default < environment < command line, for every form of option.
static void
test_precedence(void **state)
{
	(void) state;
	setenv("LLMCOSTD_CONTEXTS", "8", 1);
	setenv("LLMCOSTD_LOG", "debug", 1);
	setenv("LLMCOSTD_DATA_DIR", "/from/env", 1);
	result *r = load(NULL);
	assert_int_equal(r->rv, CONFIG_RUN);
	assert_int_equal(r->cfg.contexts, 8);
	assert_int_equal(r->cfg.log_level, LLMCOST_LOG_DEBUG);
	assert_string_equal(r->cfg.data_dir, "/from/env");
	assert_string_equal(r->cfg.listen, "ipc:///from/env/llmcostd.sock");

	r = load(ARGS("--contexts", "9", "--log-level=WARNING", "--data-dir",
	    "/from/argv", "--listen=tcp://127.0.0.1:7000"));
	assert_int_equal(r->rv, CONFIG_RUN);
	assert_int_equal(r->cfg.contexts, 9);
	assert_int_equal(r->cfg.log_level, LLMCOST_LOG_WARNING);
	assert_string_equal(r->cfg.data_dir, "/from/argv");
	assert_string_equal(r->cfg.listen, "tcp://127.0.0.1:7000");

	// An empty variable counts as unset.
	setenv("LLMCOSTD_CONTEXTS", "", 1);
	r = load(NULL);
	assert_int_equal(r->cfg.contexts, 16);
}

// Each number at, inside and outside its bounds; errors name where the
// value came from and the accepted range.
static void
test_bounds(void **state)
{
	(void) state;
	static const struct {
		const char *opt;
		const char *ok[3];
		const char *bad[4];
		const char *range;
	} nums[] = {
		{ "--contexts", { "1", "256", "100" },
		    { "0", "257", "-1", "" }, "1..256" },
		{ "--map-size-mb", { "16", "16777216", "4096" },
		    { "15", "16777217", "1e3", "x" }, "16..16777216" },
		{ "--txn-records", { "1", "1048576", "65536" },
		    { "0", "1048577", "18446744073709551616", "5x" },
		    "1..1048576" },
		{ "--stop-bound-ms", { "100", "3600000", "5000" },
		    { "99", "3600001", "-5", "5s" }, "100..3600000" },
	};
	char want[256];

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		for (size_t k = 0; k < 3; k++) {
			result *r = load(ARGS(nums[i].opt, nums[i].ok[k]));
			if (r->rv != CONFIG_RUN) {
				fail_msg("%s %s: %s", nums[i].opt,
				    nums[i].ok[k], r->err);
			}
		}
		for (size_t k = 0; k < 4; k++) {
			snprintf(want, sizeof(want),
			    "%s %s: want an integer in %s", nums[i].opt,
			    nums[i].bad[k], nums[i].range);
			fails(ARGS(nums[i].opt, nums[i].bad[k]), want);
		}
	}
	result *r = load(ARGS("--contexts=256", "--map-size-mb", "16777216",
	    "--txn-records", "1"));
	assert_int_equal(r->rv, CONFIG_RUN);
	assert_int_equal(r->cfg.contexts, 256);
	assert_int_equal(r->cfg.map_size_mb, 16777216);
	assert_int_equal(r->cfg.txn_records, 1);

	setenv("LLMCOSTD_TXN_RECORDS", "0", 1);
	fails(NULL, "LLMCOSTD_TXN_RECORDS=0: want an integer in 1..1048576");
	unsetenv("LLMCOSTD_TXN_RECORDS");
	setenv("LLMCOSTD_LOG", "loud", 1);
	fails(NULL,
	    "LLMCOSTD_LOG=loud: want one of error, warn, notice, info or "
	    "debug");
	unsetenv("LLMCOSTD_LOG");
	fails(ARGS("--log-level", "verbose"),
	    "--log-level verbose: want one of error, warn, notice, info or "
	    "debug");
}

// Paths up to LLMCOST__PATH_MAX - 1 bytes and URLs up to
// LLMCOST__URL_MAX - 1; longer ones, and a data directory too long for
// the default socket URL, are errors.
static void
test_lengths(void **state)
{
	(void) state;
	static char path[LLMCOST__PATH_MAX + 1], url[LLMCOST__URL_MAX + 1];
	char want[256];
	result *r;

	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	memset(url, 'u', sizeof(url) - 1);
	memcpy(url, "tcp://", 6);

	path[LLMCOST__PATH_MAX - 1] = '\0'; // 4095 bytes: fits
	r = load(ARGS("--data-dir", path, "--listen", "tcp://127.0.0.1:1",
	    "--budgets-file", "/b.conf"));
	assert_int_equal(r->rv, CONFIG_RUN);
	assert_int_equal(strlen(r->cfg.data_dir), LLMCOST__PATH_MAX - 1);
	// ... nor with the default budgets file inside it.
	fails(ARGS("--data-dir", path, "--listen", "tcp://127.0.0.1:1"),
	    "the data directory is too long for the default budgets file "
	    "DATA_DIR/budgets.conf: pass --budgets-file");
	// ... but not with a default listen URL inside it.
	snprintf(want, sizeof(want),
	    "the data directory is too long for the default listen URL "
	    "ipc://DATA_DIR/llmcostd.sock (at most %d bytes): pass --listen",
	    LLMCOST__URL_MAX - 1);
	fails(ARGS("--data-dir", path), want);
	path[LLMCOST__PATH_MAX - 1] = 'p'; // 4096 bytes
	path[LLMCOST__PATH_MAX] = '\0';
	snprintf(want, sizeof(want),
	    "--data-dir: %d bytes is too long (at most %d)", LLMCOST__PATH_MAX,
	    LLMCOST__PATH_MAX - 1);
	fails(ARGS("--data-dir", path), want);
	setenv("LLMCOSTD_DATA_DIR", path, 1);
	snprintf(want, sizeof(want),
	    "LLMCOSTD_DATA_DIR: %d bytes is too long (at most %d)",
	    LLMCOST__PATH_MAX, LLMCOST__PATH_MAX - 1);
	fails(NULL, want);
	unsetenv("LLMCOSTD_DATA_DIR");

	url[LLMCOST__URL_MAX - 1] = '\0'; // 511 bytes: fits
	r = load(ARGS("--listen", url));
	assert_int_equal(r->rv, CONFIG_RUN);
	assert_string_equal(r->cfg.listen, url);
	url[LLMCOST__URL_MAX - 1] = 'u';
	url[LLMCOST__URL_MAX] = '\0';
	snprintf(want, sizeof(want),
	    "--listen: %d bytes is too long (at most %d)", LLMCOST__URL_MAX,
	    LLMCOST__URL_MAX - 1);
	fails(ARGS("--listen", url), want);
	fails(ARGS("--listen="), "--listen: must not be empty");

	// A default directory too long for its buffer (from the resolver).
	path[LLMCOST__PATH_MAX - 8] = '\0';
	setenv("XDG_STATE_HOME", path, 1);
	snprintf(want, sizeof(want),
	    "the default data directory is longer than %d bytes: pass "
	    "--data-dir",
	    LLMCOST__PATH_MAX - 1);
	fails(NULL, want);
}

static void
test_arguments(void **state)
{
	(void) state;
	fails(ARGS("--bogus"), "unknown option '--bogus' (see --help)");
	fails(ARGS("--data"), "unknown option '--data' (see --help)");
	fails(ARGS("data-dir"), "unexpected argument 'data-dir' (see --help)");
	fails(ARGS("--contexts"), "--contexts needs a value");
	result *r = load(ARGS("--version"));
	assert_int_equal(r->rv, CONFIG_EXIT);
	assert_int_equal(strncmp(r->out, "llmcostd 0.", 11), 0);
}

// --help is generated from the table: every setting, its variable, its
// rule and its default.
static void
test_help(void **state)
{
	(void) state;
	result *r = load(ARGS("--contexts", "3", "-h"));

	assert_int_equal(r->rv, CONFIG_EXIT);
	assert_string_equal(r->out,
	    "Usage: llmcostd [OPTION]...\n"
	    "The llmcost collector: receives LLM call records from "
	    "libllmcost,\n"
	    "stores them in LMDB, prices them and keeps hourly rollups.\n"
	    "Runs in the foreground.  On SIGTERM or SIGINT it commits and "
	    "answers what\n"
	    "it has received, closes the store and exits within "
	    "--stop-bound-ms.\n"
	    "\n"
	    "Options (each also read from its environment variable):\n"
	    "  --data-dir       LLMCOSTD_DATA_DIR      directory of the LMDB "
	    "store and the socket (created 0700), at most 4095 bytes; "
	    "default $XDG_STATE_HOME/llmcost or ~/.local/state/llmcost\n"
	    "  --listen         LLMCOSTD_LISTEN        ingest URL "
	    "(tcp://127.0.0.1:PORT for other hosts), at most 511 bytes; "
	    "default ipc://DATA_DIR/llmcostd.sock\n"
	    "  --log-level      LLMCOSTD_LOG           the least severe "
	    "messages logged: error, warn, notice, info or debug; default "
	    "info\n"
	    "  --map-size-mb    LLMCOSTD_MAP_SIZE_MB   initial LMDB map size "
	    "in MiB (grows when full), 16..16777216; default 4096\n"
	    "  --contexts       LLMCOSTD_CONTEXTS      batches received "
	    "concurrently, 1..256; default 16\n"
	    "  --txn-records    LLMCOSTD_TXN_RECORDS   most calls committed "
	    "in one transaction, 1..1048576; default 65536\n"
	    "  --stop-bound-ms  LLMCOSTD_STOP_BOUND_MS after SIGTERM/SIGINT, "
	    "exit within this bound even if closing the socket hangs (nng "
	    "issues 1543, 1813), 100..3600000; default 5000\n"
	    "  --prices-file    LLMCOSTD_PRICES_FILE   a price file "
	    "(docs/prices.md) whose entries win over the built-in ones; read "
	    "again on SIGHUP, at most 4095 bytes; default none: the built-in "
	    "prices only\n"
	    "  --retain-days    LLMCOSTD_RETAIN_DAYS   delete stored calls "
	    "older than this many days, keeping their hourly and daily "
	    "rollups (0: keep every call), 0..36500; default 0\n"
	    "  --budgets-file   LLMCOSTD_BUDGETS_FILE  the budgets "
	    "(docs/budgets.md); re-read on SIGHUP; none if missing, at most "
	    "4095 bytes; default DATA_DIR/budgets.conf\n"
	    "  --budget-interval-ms LLMCOSTD_BUDGET_INTERVAL_MS budgets are "
	    "evaluated after commits, at most this often, 10..3600000; "
	    "default 1000\n"
	    "  --webhook-timeout-ms LLMCOSTD_WEBHOOK_TIMEOUT_MS time allowed "
	    "for one alert post, 100..120000; default 10000\n"
	    "  --webhook-retry-ms LLMCOSTD_WEBHOOK_RETRY_MS the first retry's "
	    "wait (doubling, jittered, up to 5 min, 12 attempts), "
	    "10..600000; default 1000\n"
	    "  -h, --help                              show this help\n"
	    "  -V, --version                           show the version\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_defaults, setup),
		cmocka_unit_test_setup(test_precedence, setup),
		cmocka_unit_test_setup(test_bounds, setup),
		cmocka_unit_test_setup(test_lengths, setup),
		cmocka_unit_test_setup(test_arguments, setup),
		cmocka_unit_test_setup(test_help, setup),
	};
	return (cmocka_run_group_tests(tests, NULL, NULL));
}
