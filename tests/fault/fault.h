// Helpers for the fault suite (tests/fault/): a daemon started the way
// each scenario needs it (log captured to a file, another uid, a umask,
// extra environment such as LD_PRELOAD), a minimal SP req0 peer that
// speaks to llmcostd's socket directly, batches with known run ids, and
// what the kernel says about a process (open descriptors, peak RSS).
//
// The peer is written on plain AF_UNIX sockets rather than nng so that a
// test can hang up at any point of the SP handshake on purpose, and so
// that no client-side nng_close can hang the test (nng issues 1543,
// 1813).  It sends one request at a time on a connection.
//
// Threading: the daemon helpers are for the test's main thread; a peer
// (one descriptor) belongs to one thread at a time.
#ifndef LLMCOST_FAULT_H
#define LLMCOST_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "llmcost_proto.h"

// How to start llmcostd.
typedef struct fault_daemon_opts {
	const char *dir;         // --data-dir (required)
	const char *log;         // stderr goes here (appended); NULL: ours
	const char *const *args; // more arguments, NULL-terminated, or NULL
	const char *const *env;  // "NAME=value" to add, NULL-terminated
	uid_t uid;               // run as this user when run_as is set
	gid_t gid;               //
	int run_as;              //
	int umask_set;           // apply umask_val in the child
	mode_t umask_val;        //
	int no_wait;             // return at once, do not wait for STATS
} fault_daemon_opts;

// The environment that preloads the fault library lib into a daemon:
// "LD_PRELOAD=lib" into preload, and into asan this process's
// ASAN_OPTIONS with verify_asan_link_order=0 added (a sanitizer runtime
// wants to come first; the fault libraries only wrap a few calls).
void fault_preload_env(const char *lib, char *preload, size_t preload_len,
    char *asan, size_t asan_len);

// Starts llmcostd ($LLMCOSTD_BIN) and, unless no_wait, waits until it
// answers STATS on DIR/llmcostd.sock (at most 30 s).  Returns its pid,
// or -1 when it exited first (*status, if not NULL, gets its exit status,
// or 128 + signal) or never answered (it is killed).  A daemon started
// here is killed when the test process dies.
pid_t fault_daemon_start(const fault_daemon_opts *o, int *status);

// Starts llmcostd with o where it must refuse to start.  Returns its
// exit status (1: refused, as it should be), or -1 when it started after
// all (said on stderr; it is then stopped).
int fault_daemon_refused(const fault_daemon_opts *o);

// Waits at most timeout_ms for pid to exit.  Returns the milliseconds it
// took and stores its exit status (or 128 + signal) in *status; -1 when
// it did not exit in time (it is then killed with SIGKILL and reaped).
long fault_daemon_wait(pid_t pid, int timeout_ms, int *status);

// Sends SIGTERM to pid and waits at most timeout_ms for it to exit
// (fault_daemon_wait).  Returns its exit status (or 128 + signal), or -1
// when the signal could not be sent or it did not exit in time.
int fault_daemon_term(pid_t pid, int timeout_ms);

// The whole file at path, NUL-terminated (at most 4 MiB), or NULL.
char *fault_read_file(const char *path);
// Occurrences of needle in the file at path (0 when it cannot be read).
int fault_count_in_file(const char *path, const char *needle);

// ---- the SP peer ----

// Connects to dir/llmcostd.sock and completes the SP handshake as a
// req0 peer.  Returns the descriptor, or -1 (errno set) when the
// connection or the handshake fails within timeout_ms.
int fault_sp_connect(const char *dir, int timeout_ms);
// Connects and hangs up after the first `sent` bytes (0..7) of our SP
// header, without reading: a peer that disconnects during the handshake
// (the trigger of nng issue 1518).  A socket that is missing or refuses
// (the daemon replacing its listener) is connected to again, for at most
// harness_wait_ms(10000).  Returns 0, or -1 if connect failed.
int fault_sp_hangup(const char *dir, size_t sent);
// Sends body as one request and waits at most timeout_ms for its reply.
// Returns 0 and the reply body in *reply (caller frees, *rlen its
// length), or -1 (the connection is then unusable: close it).
int fault_sp_request(int fd, const void *body, size_t len, void **reply,
    size_t *rlen, int timeout_ms);

// ---- batches and stats ----

// The run id of call n of client c: a UUIDv7 whose time is T0 plus n
// milliseconds, with c and n in its random bits, so ids are unique per
// (c, n) and a test can look each one up in the store.
#define FAULT_T0_MS 1764000000000ull
void fault_run_id(uint8_t id[16], uint8_t c, uint32_t n);
// Encodes a batch of client c (client id derived from c), sequence seq,
// holding calls first .. first+count-1 (count <= 4096).  Caller frees b
// with llmcost_proto_buf_free.
void fault_batch(llmcost_proto_buf *b, uint8_t c, uint64_t seq, uint32_t first,
    uint32_t count);
// An ACK as the test keeps it (the reason copied).
typedef struct fault_ack {
	uint32_t status; // LLMCOST_ACK_STORED, _REJECTED or _RETRY
	uint32_t stored;
	uint32_t duplicates;
	char reason[LLMCOST_PROTO_MAX_REASON + 1];
} fault_ack;
// Sends b on *fd (connecting first when *fd < 0) and decodes the ACK.
// Returns 0 with *ack filled, or -1 when no answer came within
// timeout_ms (*fd is then closed and set to -1).
int fault_send_batch(int *fd, const char *dir, const llmcost_proto_buf *b,
    fault_ack *ack, int timeout_ms);
// A counter from the daemon's STATS reply on a new connection, or
// UINT64_MAX when there is no answer within timeout_ms or no such name.
uint64_t fault_stat(const char *dir, const char *name, int timeout_ms);

// ---- the kernel's view of a process ----

// Open descriptors of pid (/proc/PID/fd), or -1.
int fault_fd_count(pid_t pid);
// Peak resident set size of pid in KiB (VmHWM), or -1.
long fault_rss_peak_kb(pid_t pid);

#endif // LLMCOST_FAULT_H
