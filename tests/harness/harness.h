// The harness shared by the end-to-end tests, the shim's tests and the
// benchmarks: real llmcostd processes on temporary data directories, the
// real llmcost CLI with its output captured, and the decimal text of the
// 128-bit amounts its reports print.  Nothing of ours is mocked.
//
// Binaries: harness_daemon_bin() and harness_cli_bin() come from the
// LLMCOSTD_BIN and LLMCOST_CLI_BIN variables, which ctest sets for every
// test (cmake/LlmcostTesting.cmake); the benchmarks name the daemon
// themselves with harness_daemon_start_bin().
//
// Threading: not thread-safe; call from the test's main thread.  Every
// daemon started here is killed (SIGKILL) if the process that started it
// dies, so a crashed or timed-out test leaves no daemon behind.
#ifndef LLMCOST_HARNESS_H
#define LLMCOST_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nng/nng.h>

#include "llmcost_proto.h"

// Creates a fresh directory $TMPDIR/llmcost-XXXXXX (else under /tmp).
// Returns its path (caller frees it with harness_rmdir), or NULL.
char *harness_tmpdir(void);

// Removes dir and everything under it, then frees it.  NULL is accepted.
void harness_rmdir(char *dir);

// Starts bin --data-dir dir --log-level warn, plus extra (NULL-terminated,
// may be NULL), and waits until the daemon answers a STATS request on
// its socket, at most 30 s.  The answer proves that this daemon has bound
// the socket (a file left by a killed one does not count) and completed
// an SP handshake.  Returns the pid, or -1 with the reason on stderr (the
// binary is missing, the daemon exited, or it never answered).
pid_t harness_daemon_start_bin(
    const char *bin, const char *dir, const char *const *extra);

// harness_daemon_start_bin(harness_daemon_bin(), dir, extra).
pid_t harness_daemon_start(const char *dir, const char *const *extra);

// A fresh directory (harness_tmpdir) with a daemon started in it
// (harness_daemon_start, no extra arguments); its ingest URL goes into
// url (harness_url).  Returns the daemon's pid and *dir (freed with
// harness_rmdir), or -1 with *dir NULL and nothing left behind.
pid_t harness_daemon_tmp(char **dir, char *url, size_t urlsz);
// The same, the daemon started with the extra arguments (NULL-terminated,
// may be NULL).
pid_t harness_daemon_tmp_args(
    char **dir, char *url, size_t urlsz, const char *const *extra);
// The end of harness_daemon_tmp: stops the daemon pid with SIGTERM
// (harness_daemon_stop) and removes dir (harness_rmdir), whatever the
// stop returned.  Returns the daemon's exit status as harness_daemon_stop.
int harness_daemon_tmp_stop(pid_t pid, char *dir);

// Starts argv (argv[0] a path, NULL-terminated) with its stdout on a
// pipe, SIGKILLed if the test dies, and reads the first line it prints
// (a stand-in's address) into line, NUL-terminated, without the newline,
// cut to n - 1 bytes; the rest of its stdout is discarded.  Returns the
// pid (stop it with harness_daemon_stop), or -1 when it could not start
// or printed no line (it is then killed and reaped).
pid_t harness_spawn_line(const char *const *argv, char *line, size_t n);

// Sends sig to the daemon and reaps it.  Returns its exit status, or
// 128 + the signal that ended it, or -1 (no such child).
int harness_daemon_stop(pid_t pid, int sig);

// Runs argv (argv[0] a path, NULL-terminated) and captures its stdout and
// stderr, each capped at 4 MiB and NUL-terminated (the caller frees them;
// either pointer may be NULL to discard).  Returns the exit status, 128 +
// the signal that ended it, or -1 when it could not be started.
int harness_run(const char *const *argv, char **out, char **err);

// Writes the ingest URL of a data directory, "ipc://DIR/llmcostd.sock".
// Returns 0, or -1 when it does not fit in bufsz (buf holds a prefix).
int harness_url(const char *dir, char *buf, size_t bufsz);

// $LLMCOSTD_BIN and $LLMCOST_CLI_BIN, or NULL when unset.
const char *harness_daemon_bin(void);
const char *harness_cli_bin(void);

// Asks the daemon behind s (an open, dialled REQ socket) for its STATS.
// Returns 0 when a STATS answer came back, with *v set to the value named
// name, or UINT64_MAX when the answer has no such name; -1 when the
// request could not be sent or the answer was not STATS.
int harness_stat(nng_socket s, const char *name, uint64_t *v);
// The same for the n values named names[i], from one request, into v[i].
int harness_stats(
    nng_socket s, const char *const *names, uint64_t *v, size_t n);

// Fills *r (zeroed first) as one OpenAI call of model starting at
// start_ns, 1000 ns long, with in uncached input and out text output
// tokens and the one metadata pair *kv (which must outlive *r).  The
// run id is left zero for the caller to set.
void harness_record(llmcost_proto_record *r, const char *model,
    uint64_t start_ns, uint64_t in, uint64_t out, const llmcost_proto_kv *kv);

// Sleeps for ms milliseconds (restarted after a signal).
void harness_sleep_ms(int ms);

// The one knob for every wait a test allows something to take (a reply,
// a restart, a delivery, the slack over a stated bound): ms times the
// scale, which is LLMCOST_TEST_TIME_SCALE (a whole number from 1 to 100)
// when set, else 4 in a sanitizer build (ASan and TSan run 2 to 15 times
// slower) and 1 otherwise.  A loaded machine (CI, parallel builds) sets
// the variable.  Only how long a test waits changes, never what it
// checks.  Capped at INT_MAX.
int harness_wait_ms(int ms);

// Writes v (taken as unsigned: the tests pass non-negative amounts) in
// decimal into buf, NUL-terminated and cut to n - 1 digits (n > 0), as
// reports print integer amounts such as pico-USD.  Returns buf.
char *harness_fmt128(__int128 v, char *buf, size_t n);

#endif // LLMCOST_HARNESS_H
