// DESIGN: one way to run the real binaries, shared by the end-to-end
// tests, the shim's tests and the benchmarks, so that none of them grows
// its own fork/exec, readiness loop and cleanup.  The daemon is a child
// process (fork + exec) that the kernel kills if the test dies
// (PR_SET_PDEATHSIG), so no daemon outlives a crashed or timed-out test.
//
// Readiness is an answered STATS request, not the socket file appearing:
// the file of a SIGKILLed daemon stays behind and would make a restart
// look ready before the new daemon has bound the socket.  The probe keeps
// one socket until it has an answer, and only then closes it: a client
// that hangs up in the middle of the SP handshake can wedge an nng 1.5
// listener (nng issue 1518), and the harness must not be that client.
//
// Captured output is capped (4 MiB per stream), like every buffer here.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "harness.h"
#include "llmcost_common.h"
#include "llmcost_proto.h"

// How long a daemon may take to answer its first STATS request.  Generous:
// sanitizer builds on a loaded two-core machine start slowly.
#define READY_TIMEOUT_MS 30000

#define CAPTURE_MAX (4u << 20)

extern char **environ;

const char *
harness_daemon_bin(void)
{
	const char *p = getenv("LLMCOSTD_BIN");

	return (p != NULL && *p != '\0' ? p : NULL);
}

const char *
harness_cli_bin(void)
{
	const char *p = getenv("LLMCOST_CLI_BIN");

	return (p != NULL && *p != '\0' ? p : NULL);
}

void
harness_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
		continue;
	}
}

// A sanitizer build, as gcc and clang each tell it.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define HARNESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define HARNESS_SANITIZED 1
#endif
#endif
#ifdef HARNESS_SANITIZED
#define HARNESS_SCALE_DEFAULT 4
#else
#define HARNESS_SCALE_DEFAULT 1
#endif

int
harness_wait_ms(int ms)
{
	const char *v = getenv("LLMCOST_TEST_TIME_SCALE");
	long scale = HARNESS_SCALE_DEFAULT;

	if (v != NULL && *v != '\0') {
		char *end;
		long n = strtol(v, &end, 10);
		if (*end == '\0' && n >= 1 && n <= 100) {
			scale = n;
		}
	}
	long long w = (long long) ms * scale;
	return (w > INT_MAX ? INT_MAX : (int) w);
}

char *
harness_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	int n;

	if (base == NULL || *base == '\0') {
		base = "/tmp";
	}
	n = snprintf(tmpl, sizeof(tmpl), "%s/llmcost-XXXXXX", base);
	if (n < 0 || (size_t) n >= sizeof(tmpl)) {
		fprintf(stderr, "harness: TMPDIR is too long\n");
		return (NULL);
	}
	if (mkdtemp(tmpl) == NULL) {
		fprintf(stderr, "harness: mkdtemp %s: %s\n", tmpl,
		    strerror(errno));
		return (NULL);
	}
	return (strdup(tmpl));
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	if (remove(path) != 0) {
		fprintf(stderr, "harness: cannot remove %s: %s\n", path,
		    strerror(errno));
	}
	return (0); // keep going: remove as much as possible
}

void
harness_rmdir(char *dir)
{
	if (dir == NULL) {
		return;
	}
	(void) nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

int
harness_url(const char *dir, char *buf, size_t bufsz)
{
	int n = snprintf(buf, bufsz, "ipc://%s/%s", dir, LLMCOST_SOCKET_NAME);

	return (n >= 0 && (size_t) n < bufsz ? 0 : -1);
}

static int
buf_write(void *arg, const char *p, size_t n)
{
	return (llmcost_proto_buf_write(arg, p, n));
}

// One STATS request (req, encoded) on s.  Returns 0 when a STATS answer
// came back, with v[i] set to the value named names[i] for i < n, or
// UINT64_MAX when the answer has no such name; -1 otherwise.
static int
stats_query(nng_socket s, const llmcost_proto_buf *req,
    const char *const *names, uint64_t *v, size_t n)
{
	llmcost_proto_msg reply;
	nng_msg *m;
	int rv = -1;

	for (size_t k = 0; k < n; k++) {
		v[k] = UINT64_MAX;
	}
	if (nng_msg_alloc(&m, 0) != 0) {
		return (-1);
	}
	if (nng_msg_append(m, req->data, req->len) != 0
	    || nng_sendmsg(s, m, 0) != 0) {
		nng_msg_free(m);
		return (-1);
	}
	if (nng_recvmsg(s, &m, 0) != 0) {
		return (-1);
	}
	if (llmcost_proto_decode(
	        nng_msg_body(m), nng_msg_len(m), &reply, NULL, 0)
	    != 0) {
		nng_msg_free(m);
		return (-1);
	}
	if (reply.type == LLMCOST_MSG_STATS) {
		rv = 0;
		for (uint32_t i = 0; i < reply.u.stats.n; i++) {
			const llmcost_proto_str *got = &reply.u.stats.names[i];
			for (size_t k = 0; k < n; k++) {
				if (got->len == strlen(names[k])
				    && memcmp(got->ptr, names[k], got->len)
				        == 0) {
					v[k] = reply.u.stats.values[i];
				}
			}
		}
	}
	llmcost_proto_msg_free(&reply);
	nng_msg_free(m);
	return (rv);
}

// One STATS request on s; 1 when a STATS answer came back, else 0.
static int
stats_answered(nng_socket s, const llmcost_proto_buf *req)
{
	return (stats_query(s, req, NULL, NULL, 0) == 0);
}

int
harness_stats(nng_socket s, const char *const *names, uint64_t *v, size_t n)
{
	llmcost_proto_buf req = { 0 };
	llmcost_proto_enc e;
	int rv;

	for (size_t k = 0; k < n; k++) {
		v[k] = UINT64_MAX;
	}
	llmcost_proto_enc_init(&e, buf_write, &req, 0);
	if (llmcost_proto_enc_stats_req(&e) != 0) {
		llmcost_proto_buf_free(&req);
		return (-1);
	}
	rv = stats_query(s, &req, names, v, n);
	llmcost_proto_buf_free(&req);
	return (rv);
}

int
harness_stat(nng_socket s, const char *name, uint64_t *v)
{
	return (harness_stats(s, &name, v, 1));
}

// Waits until the daemon pid answers STATS at url.  Returns 0, or -1 with
// the reason on stderr (the daemon exited: it has been reaped).
static int
wait_ready(pid_t pid, const char *url)
{
	uint64_t deadline = llmcost__mono_ns()
	    + (uint64_t) harness_wait_ms(READY_TIMEOUT_MS) * 1000000ull;
	llmcost_proto_buf req = { 0 };
	llmcost_proto_enc e;
	nng_socket s;
	int rv = -1;
	int status;

	llmcost_proto_enc_init(&e, buf_write, &req, 0);
	if (llmcost_proto_enc_stats_req(&e) != 0) {
		fprintf(stderr, "harness: cannot encode STATS_REQ\n");
		llmcost_proto_buf_free(&req);
		return (-1);
	}
	if (nng_req0_open(&s) != 0) {
		fprintf(stderr, "harness: nng_req0_open failed\n");
		llmcost_proto_buf_free(&req);
		return (-1);
	}
	// Short waits, so that a daemon that exits is noticed quickly; the
	// dialer keeps retrying until the daemon listens.
	(void) nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 100);
	(void) nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 100);
	(void) nng_socket_set_ms(s, NNG_OPT_RECONNMINT, 10);
	(void) nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, 100);
	if (nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK) != 0) {
		fprintf(stderr, "harness: cannot dial %s\n", url);
	} else {
		for (;;) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				fprintf(stderr,
				    "harness: llmcostd exited at startup "
				    "(status 0x%x)\n",
				    (unsigned) status);
				break;
			}
			if (stats_answered(s, &req)) {
				rv = 0;
				break;
			}
			if (llmcost__mono_ns() > deadline) {
				fprintf(stderr,
				    "harness: llmcostd did not answer at %s "
				    "within %d ms\n",
				    url, READY_TIMEOUT_MS);
				break;
			}
		}
	}
	(void) nng_close(s);
	llmcost_proto_buf_free(&req);
	return (rv);
}

pid_t
harness_daemon_start_bin(
    const char *bin, const char *dir, const char *const *extra)
{
	const char *argv[32];
	char url[LLMCOST__URL_MAX];
	pid_t parent = getpid();
	int n = 0;
	pid_t pid;

	if (bin == NULL) {
		fprintf(stderr,
		    "harness: no llmcostd: set LLMCOSTD_BIN (ctest "
		    "does)\n");
		return (-1);
	}
	if (dir == NULL) {
		return (-1);
	}
	argv[n++] = bin;
	argv[n++] = "--data-dir";
	argv[n++] = dir;
	argv[n++] = "--log-level";
	argv[n++] = "warn";
	for (int i = 0; extra != NULL && extra[i] != NULL; i++) {
		if (n == 31) {
			fprintf(
			    stderr, "harness: too many daemon arguments\n");
			return (-1);
		}
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	if (harness_url(dir, url, sizeof(url)) != 0) {
		fprintf(stderr, "harness: data directory path too long\n");
		return (-1);
	}
	if ((pid = fork()) < 0) {
		fprintf(stderr, "harness: fork: %s\n", strerror(errno));
		return (-1);
	}
	if (pid == 0) {
		// A failed test must not leave a daemon behind; and if the
		// parent died before prctl, nobody would reap this one.
		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		execv(argv[0], (char *const *) argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	if (wait_ready(pid, url) != 0) {
		if (kill(pid, SIGKILL) == 0) {
			(void) waitpid(pid, NULL, 0);
		}
		return (-1);
	}
	return (pid);
}

pid_t
harness_daemon_start(const char *dir, const char *const *extra)
{
	return (harness_daemon_start_bin(harness_daemon_bin(), dir, extra));
}

pid_t
harness_spawn_line(const char *const *argv, char *line, size_t n)
{
	pid_t parent = getpid(), pid;
	size_t len = 0;
	int p[2];

	if (n == 0 || pipe(p) != 0) {
		return (-1);
	}
	if ((pid = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return (-1);
	}
	if (pid == 0) {
		(void) prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(127);
		}
		dup2(p[1], STDOUT_FILENO);
		close(p[0]);
		close(p[1]);
		execv(argv[0], (char *const *) argv);
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
		    strerror(errno));
		_exit(127);
	}
	close(p[1]);
	while (len + 1 < n) {
		ssize_t r = read(p[0], line + len, 1);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0 || line[len] == '\n') {
			break;
		}
		len++;
	}
	line[len] = '\0';
	close(p[0]);
	if (len == 0) {
		fprintf(stderr, "harness: %s printed no line\n", argv[0]);
		(void) kill(pid, SIGKILL);
		(void) waitpid(pid, NULL, 0);
		return (-1);
	}
	return (pid);
}

void
harness_record(llmcost_proto_record *r, const char *model, uint64_t start_ns,
    uint64_t in, uint64_t out, const llmcost_proto_kv *kv)
{
	memset(r, 0, sizeof(*r));
	r->start_ns = start_ns;
	r->duration_ns = 1000;
	r->provider = (llmcost_proto_str) { "openai", 6 };
	r->model = (llmcost_proto_str) { model, (uint32_t) strlen(model) };
	r->usage[LLMCOST_IN_UNCACHED] = in;
	r->usage[LLMCOST_OUT_TEXT] = out;
	r->meta = kv;
	r->n_meta = 1;
}

pid_t
harness_daemon_tmp(char **dir, char *url, size_t urlsz)
{
	return (harness_daemon_tmp_args(dir, url, urlsz, NULL));
}

pid_t
harness_daemon_tmp_args(
    char **dir, char *url, size_t urlsz, const char *const *extra)
{
	pid_t pid;

	*dir = harness_tmpdir();
	if (*dir == NULL) {
		return (-1);
	}
	if (harness_url(*dir, url, urlsz) != 0
	    || (pid = harness_daemon_start(*dir, extra)) <= 0) {
		harness_rmdir(*dir);
		*dir = NULL;
		return (-1);
	}
	return (pid);
}

int
harness_daemon_stop(pid_t pid, int sig)
{
	int status;

	if (pid <= 0) {
		return (-1);
	}
	if (kill(pid, sig) != 0) {
		return (-1);
	}
	while (waitpid(pid, &status, 0) != pid) {
		if (errno != EINTR) {
			return (-1);
		}
	}
	if (WIFEXITED(status)) {
		return (WEXITSTATUS(status));
	}
	return (128 + WTERMSIG(status));
}

int
harness_daemon_tmp_stop(pid_t pid, char *dir)
{
	int rv = harness_daemon_stop(pid, SIGTERM);

	harness_rmdir(dir);
	return (rv);
}

typedef struct sink {
	int fd;
	char *buf; // CAPTURE_MAX + 1 bytes
	size_t len;
	int open;
} sink;

// Reads what is there; beyond the cap, output is read and dropped so that
// the child never blocks on a full pipe.
static void
sink_read(sink *s)
{
	char tmp[65536];
	ssize_t n = read(s->fd, tmp, sizeof(tmp));
	size_t take;

	if (n < 0 && errno == EINTR) {
		return;
	}
	if (n <= 0) {
		s->open = 0;
		return;
	}
	take = (size_t) n;
	if (take > CAPTURE_MAX - s->len) {
		take = CAPTURE_MAX - s->len;
	}
	memcpy(s->buf + s->len, tmp, take);
	s->len += take;
}

int
harness_run(const char *const *argv, char **out, char **err)
{
	posix_spawn_file_actions_t fa;
	sink s[2];
	int po[2];
	int pe[2];
	int status;
	pid_t pid;
	int rv;

	if (argv == NULL || argv[0] == NULL) {
		fprintf(stderr,
		    "harness: nothing to run (is LLMCOST_CLI_BIN or "
		    "LLMCOSTD_BIN set?)\n");
		return (-1);
	}
	if (pipe(po) != 0) {
		return (-1);
	}
	if (pipe(pe) != 0) {
		close(po[0]);
		close(po[1]);
		return (-1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
	posix_spawn_file_actions_addclose(&fa, po[0]);
	posix_spawn_file_actions_addclose(&fa, pe[0]);
	rv = posix_spawn(
	    &pid, argv[0], &fa, NULL, (char *const *) argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	s[0] = (sink) { po[0], calloc(1, CAPTURE_MAX + 1), 0, 1 };
	s[1] = (sink) { pe[0], calloc(1, CAPTURE_MAX + 1), 0, 1 };
	if (rv != 0 || s[0].buf == NULL || s[1].buf == NULL) {
		fprintf(stderr, "harness: cannot run %s: %s\n", argv[0],
		    rv != 0 ? strerror(rv) : "out of memory");
		close(po[0]);
		close(pe[0]);
		free(s[0].buf);
		free(s[1].buf);
		if (rv == 0) {
			(void) waitpid(pid, NULL, 0);
		}
		return (-1);
	}
	while (s[0].open || s[1].open) {
		struct pollfd p[2];
		int idx[2];
		int np = 0;

		for (int i = 0; i < 2; i++) {
			if (s[i].open) {
				p[np].fd = s[i].fd;
				p[np].events = POLLIN;
				idx[np++] = i;
			}
		}
		if (poll(p, (nfds_t) np, harness_wait_ms(30000)) <= 0) {
			break; // silent for 30 s: stop reading, reap below
		}
		for (int i = 0; i < np; i++) {
			if (p[i].revents != 0) {
				sink_read(&s[idx[i]]);
			}
		}
	}
	close(po[0]);
	close(pe[0]);
	rv = -1;
	for (;;) {
		pid_t w = waitpid(pid, &status, 0);

		if (w == pid) {
			rv = WIFEXITED(status) ? WEXITSTATUS(status)
			                       : 128 + WTERMSIG(status);
			break;
		}
		if (w < 0 && errno != EINTR) {
			break;
		}
	}
	s[0].buf[s[0].len] = '\0';
	s[1].buf[s[1].len] = '\0';
	if (out != NULL) {
		*out = s[0].buf;
	} else {
		free(s[0].buf);
	}
	if (err != NULL) {
		*err = s[1].buf;
	} else {
		free(s[1].buf);
	}
	return (rv);
}

char *
harness_fmt128(__int128 v, char *buf, size_t n)
{
	char tmp[48];
	int i = 0;
	unsigned __int128 u = (unsigned __int128) v;
	do {
		tmp[i++] = (char) ('0' + (int) (u % 10));
		u /= 10;
	} while (u != 0);
	size_t o = 0;
	while (i > 0 && o + 1 < n) {
		buf[o++] = tmp[--i];
	}
	buf[o] = '\0';
	return (buf);
}
