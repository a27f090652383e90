// DESIGN: llmcostd's main: configuration, the data directory (private,
// locked: datadir.c), the store, the writer thread, the query thread and
// the ingest socket, then a loop that waits for SIGTERM/SIGINT, reads the
// prices again on SIGHUP (reload.c) and looks after the listener.  The
// stop (shutdown.c) runs in an order where each step may be cut short
// without loss: the writer commits and answers what it holds, the query
// thread answers what waits, the store is closed, and only then is the
// nng socket closed, which nng 1.5.2 can hang in; a guard ends the
// process within --stop-bound-ms of the signal whatever nng does.  Every
// acknowledged call is on disk, and anything received but unacknowledged
// is resent by its client.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "alerts.h"
#include "config.h"
#include "datadir.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "reload.h"
#include "shutdown.h"
#include "store.h"
#include "writer.h"

static void
commit_hook(void *arg)
{
	alerts_committed(arg);
}

int
main(int argc, char **argv)
{
	config cfg;
	metrics m;
	store *st = NULL;
	writer *w = NULL;
	querier *qr = NULL;
	ingest *in = NULL;
	alerts *al = NULL;
	char err[STORE_ERR_MAX];
	char desc[2 * LLMCOST__PATH_MAX + LLMCOST__URL_MAX + 512];
	int rv, lockfd;

	if ((rv = config_load(&cfg, argc, argv, stdout, err, sizeof(err)))
	    != CONFIG_RUN) {
		if (rv == CONFIG_ERROR) {
			fprintf(stderr, "llmcostd: %s\n", err);
			return (2);
		}
		return (0);
	}
	log_level = cfg.log_level;
	memset(&m, 0, sizeof(m));
	// Before any thread: libcurl's global state (alert webhooks).
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot initialise libcurl");
		return (1);
	}
	// Everything llmcostd creates (directories, lock, store, socket) is
	// private, whatever umask it was started with.
	umask(077);
	signal(SIGPIPE, SIG_IGN);
	// Past a file size limit (ulimit -f), a write fails with EFBIG,
	// which the writer reports and retries, instead of killing us.
	signal(SIGXFSZ, SIG_IGN);
	if (shutdown_start(cfg.stop_bound_ms) != 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot start the stop guard thread");
		return (1);
	}

	// The prices first: a broken prices_file stops the start here.
	if (reload_init(cfg.prices_file) != 0) {
		shutdown_end();
		return (1);
	}
	if (datadir_prepare(cfg.data_dir, err, sizeof(err)) != 0
	    || (lockfd = datadir_lock(cfg.data_dir, err, sizeof(err))) < 0) {
		log_msg(LLMCOST_LOG_ERR, "%s", err);
		shutdown_end();
		return (1);
	}
	if ((rv = store_open(&st, cfg.data_dir, 0, cfg.map_size_mb << 20, err,
	         sizeof(err)))
	    != 0) {
		log_msg(LLMCOST_LOG_ERR, "%s", err);
		shutdown_end();
		return (1);
	}
	alerts_cfg acfg
	    = { cfg.data_dir, cfg.budgets_file, cfg.budget_interval_ms,
		      cfg.webhook_timeout_ms, cfg.webhook_retry_ms,
		      // Half the stop bound: the rest is for the store and
		      // the socket.
		      cfg.stop_bound_ms / 2 };
	if ((rv = alerts_start(&al, st, &m, &acfg, err, sizeof(err))) != 0) {
		log_msg(LLMCOST_LOG_ERR, "%s", err);
		store_close(st);
		shutdown_end();
		return (rv == LLMCOST_ECONFIG ? 2 : 1);
	}
	if ((rv = writer_start(&w, st, &m, (uint32_t) cfg.txn_records)) != 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot start the writer: %s",
		    llmcost_strerror(rv));
		alerts_free(al);
		store_close(st);
		shutdown_end();
		return (1);
	}
	writer_retain(w, cfg.retain_days * UINT64_C(86400) * 1000000000u);
	writer_on_commit(w, commit_hook, al);
	if ((rv = querier_start(&qr, st, &m)) != 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot start the query thread: %s",
		    llmcost_strerror(rv));
		writer_free(w);
		alerts_free(al);
		store_close(st);
		shutdown_end();
		return (1);
	}
	if ((rv = ingest_start(&in, cfg.listen, (int) cfg.contexts, w, qr, &m,
	         err, sizeof(err)))
	    != 0) {
		log_msg(LLMCOST_LOG_ERR, "%s", err);
		querier_free(qr);
		writer_free(w);
		alerts_free(al);
		store_close(st);
		shutdown_end();
		return (1);
	}
	ingest_set_alerts(in, al);
	(void) config_describe(&cfg, desc, sizeof(desc)); // truncated at worst
	log_msg(LLMCOST_LOG_NOTICE, "llmcostd %s ready, pid=%d, %s",
	    llmcost_version(), (int) getpid(), desc);

	for (unsigned tick = 1; !shutdown_requested(); tick++) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL); // a signal cuts it short
		// SIGHUP (reload.c's handler): the prices, then the budgets.
		if (reload_poll(cfg.prices_file, &m)) {
			alerts_reload(al);
		}
		if (tick % 10 == 0 && !shutdown_requested()) {
			ingest_watch(in);
		}
	}

	// Commit and answer what the writer holds; batches arriving from
	// now on are answered "retry".  Then nothing acknowledged can be
	// lost, and the store is closed before the socket, whose close may
	// hang (nng issues 1543, 1813; the guard bounds it).
	log_msg(LLMCOST_LOG_NOTICE, "shutting down (bound %llu ms)",
	    (unsigned long long) cfg.stop_bound_ms);
	writer_stop(w);
	ingest_set_alerts(in, NULL);
	alerts_stop(al);
	querier_stop(qr);
	store_close(st);
	shutdown_committed();
	log_msg(LLMCOST_LOG_NOTICE,
	    "stopped: %llu calls stored, %llu duplicates, %llu messages "
	    "rejected",
	    (unsigned long long) m.records_stored,
	    (unsigned long long) m.records_duplicate,
	    (unsigned long long) m.msgs_rejected);
	ingest_close(in);
	ingest_free(in);
	querier_free(qr);
	writer_free(w);
	alerts_free(al);
	shutdown_end();
	close(lockfd);
	return (0);
}
