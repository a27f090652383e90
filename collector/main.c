// DESIGN: llmcostd's main: configuration, a lock so that one daemon owns
// a data directory, the store, the writer thread and the ingest socket,
// then a loop that waits for SIGTERM/SIGINT.  The signal handler only sets
// a flag (redis shutdown_asap).  Shutdown lets the writer commit and
// answer what it already has, closes the socket, and closes the store:
// every acknowledged call is on disk, and anything received but
// unacknowledged will be resent by its client.
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ingest.h"
#include "log.h"
#include "metrics.h"
#include "store.h"
#include "writer.h"

static volatile sig_atomic_t stop_requested;

static void
on_signal(int sig)
{
	(void) sig;
	stop_requested = 1;
}

// mkdir -p with mode 0700 for every directory it creates.
static int
make_dirs(const char *path)
{
	char buf[LLMCOST__PATH_MAX];
	size_t len = strlen(path);
	if (len >= sizeof(buf)) {
		return (-1);
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
				return (-1);
			}
			*p = '/';
		}
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
		return (-1);
	}
	return (0);
}

static int
lock_dir(const char *dir)
{
	char path[LLMCOST__PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/llmcostd.lock", dir);
	if (n < 0 || (size_t) n >= sizeof(path)) {
		log_msg(LLMCOST_LOG_ERR,
		    "data directory path is too long for its lock file (at "
		    "most %zu bytes)",
		    sizeof(path) - sizeof("/llmcostd.lock"));
		return (-1);
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot open %s: %s", path,
		    strerror(errno));
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t got = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[got > 0 ? got : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		log_msg(LLMCOST_LOG_ERR,
		    "another llmcostd (pid %s) already uses %s; stop it or "
		    "pass a different --data-dir",
		    pid[0] ? pid : "?", dir);
		close(fd);
		return (-1);
	}
	char pid[32];
	n = snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
	if (ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t) n, 0) < 0) {
		log_msg(LLMCOST_LOG_WARNING, "cannot write pid to %s", path);
	}
	return (fd); // held until exit
}

int
main(int argc, char **argv)
{
	config cfg;
	metrics m;
	store *st = NULL;
	writer *w = NULL;
	ingest *in = NULL;
	char err[LLMCOST__PATH_MAX + 256];
	char desc[LLMCOST__PATH_MAX + LLMCOST__URL_MAX + 256];
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

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (make_dirs(cfg.data_dir) != 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot create data directory %s: %s",
		    cfg.data_dir, strerror(errno));
		return (1);
	}
	if ((lockfd = lock_dir(cfg.data_dir)) < 0) {
		return (1);
	}
	if ((rv = store_open(&st, cfg.data_dir, 0, cfg.map_size_mb << 20, err,
	         sizeof(err)))
	    != 0) {
		log_msg(LLMCOST_LOG_ERR, "%s", err);
		return (1);
	}
	if ((rv = writer_start(&w, st, &m, (uint32_t) cfg.txn_records)) != 0) {
		log_msg(LLMCOST_LOG_ERR, "cannot start the writer: %s",
		    llmcost_strerror(rv));
		store_close(st);
		return (1);
	}
	if ((rv = ingest_start(
	         &in, cfg.listen, (int) cfg.contexts, w, &m, err, sizeof(err)))
	    != 0) {
		log_msg(LLMCOST_LOG_ERR, "%s", err);
		writer_free(w);
		store_close(st);
		return (1);
	}
	(void) config_describe(&cfg, desc, sizeof(desc)); // truncated at worst
	log_msg(LLMCOST_LOG_NOTICE, "llmcostd %s ready, pid=%d, %s",
	    llmcost_version(), (int) getpid(), desc);

	for (unsigned tick = 1; !stop_requested; tick++) {
		struct timespec ts = { 0, 100 * 1000000L };
		nanosleep(&ts, NULL);
		if (tick % 10 == 0) {
			ingest_watch(in);
		}
	}

	// Commit and answer what the writer holds, then stop receiving:
	// batches arriving meanwhile are answered "retry".
	log_msg(LLMCOST_LOG_NOTICE, "shutting down");
	writer_stop(w);
	ingest_close(in);
	ingest_free(in);
	writer_free(w);
	store_close(st);
	log_msg(LLMCOST_LOG_NOTICE,
	    "stopped: %llu calls stored, %llu duplicates, %llu messages "
	    "rejected",
	    (unsigned long long) m.records_stored,
	    (unsigned long long) m.records_duplicate,
	    (unsigned long long) m.msgs_rejected);
	close(lockfd);
	return (0);
}
