// DESIGN: the price table of a running daemon.  A SIGHUP handler only
// sets a flag (redis's rule: signals set flags, the main loop acts); the
// main loop reads the files, builds a whole new immutable table and
// hands it over with prices_current_set().  The writer thread takes a
// reference to the table in force once per batch (pricing_batch), so a
// batch is priced by one table from start to end, and the old table is
// freed when its last batch releases it.  Reading and parsing happen on
// the main thread, never on the writer's: a slow disk or a large file
// cannot hold up ingest.  A broken file is refused whole, with its file,
// line and field in the log, and the table in force stays.
#include <signal.h>
#include <string.h>

#include "log.h"
#include "prices.h"
#include "reload.h"

static volatile sig_atomic_t hup;

static void
on_hup(int sig)
{
	(void) sig;
	hup = 1;
}

static int
build(const char *path, prices_table **out, char *err, size_t errsz)
{
	return (
	    prices_table_load(path[0] != '\0' ? path : NULL, out, err, errsz));
}

int
reload_init(const char *path)
{
	prices_table *t;
	char err[PRICES_ERR_MAX];
	int rv;

	if ((rv = build(path, &t, err, sizeof(err))) != 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot read the prices: %s", err);
		return (rv);
	}
	prices_current_set(t);
	log_msg(LLMCOST_LOG_NOTICE, "prices: table %s%s%s",
	    prices_table_version(t), path[0] ? " with overrides from " : "",
	    path);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	return (0);
}

int
reload_poll(const char *path, metrics *m)
{
	prices_table *t;
	char err[PRICES_ERR_MAX];

	if (!hup) {
		return (0);
	}
	hup = 0;
	if (build(path, &t, err, sizeof(err)) != 0) {
		const prices_table *cur = prices_current_acquire();
		log_msg(LLMCOST_LOG_ERR,
		    "SIGHUP: prices not reloaded, table %s stays in force: %s",
		    prices_table_version(cur), err);
		prices_current_release(cur);
		METRICS_INC(m, prices_reload_errors, 1);
		return (1);
	}
	log_msg(LLMCOST_LOG_NOTICE, "SIGHUP: prices reloaded: table %s",
	    prices_table_version(t));
	prices_current_set(t);
	METRICS_INC(m, prices_reloads, 1);
	return (1);
}
