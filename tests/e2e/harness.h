// End-to-end test harness: real llmcostd processes on temporary data
// directories, the real llmcost CLI, captured output.
#ifndef LLMCOST_HARNESS_H
#define LLMCOST_HARNESS_H

#include <sys/types.h>

// A fresh temporary directory (mkdtemp); removed by harness_rmdir.
char *harness_tmpdir(void);
void harness_rmdir(char *dir);

// Starts llmcostd --data-dir dir (plus extra args, NULL-terminated) and
// waits until its socket exists.  Returns the pid, or -1.
pid_t harness_daemon_start(const char *dir, const char *const *extra);
// Sends sig and reaps; returns the exit status (or 128+signal).
int harness_daemon_stop(pid_t pid, int sig);

// Runs argv (argv[0] a path), captures stdout and stderr (each capped at
// 4 MiB, NUL-terminated, caller frees), returns the exit status.
int harness_run(const char *const *argv, char **out, char **err);

// The socket URL of a data directory: "ipc://DIR/llmcostd.sock".
void harness_url(const char *dir, char *buf, size_t bufsz);

const char *harness_daemon_bin(void);
const char *harness_cli_bin(void);

#endif // LLMCOST_HARNESS_H
