// DESIGN: what the fault scenarios share.  The daemon is started here
// rather than through the e2e harness because a fault scenario needs to
// choose what the harness fixes: the user it runs as, its umask, extra
// environment (LD_PRELOAD of a fault library), and a log file the test
// reads back to check what an operator would see.  Like the harness, it
// waits for an answered STATS request (a socket file can outlive a killed
// daemon) and has the kernel kill the daemon if the test dies.
//
// The SP peer speaks nng's IPC framing by hand (the 8-byte SP header,
// then frames of one type byte, a 64-bit big-endian length and the
// payload, a req0 payload starting with a 32-bit request id with its top
// bit set).  Every read and write is bounded by poll with a deadline, so
// a wedged or dead daemon fails a test instead of hanging it, and
// closing a connection is a close(2) that cannot deadlock.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fault.h"
#include "harness.h"
#include "llmcost.h"
#include "llmcost_common.h"

#define READY_TIMEOUT_MS 30000
#define FILE_MAX         (4u << 20)
#define REPLY_MAX        (1u << 20)
#define SP_REQ0          0x30 // nng's protocol number for req0
#define SP_REP0          0x31

extern char **environ;

static uint64_t
now_ms(void)
{
	return (llmcost__mono_ns() / 1000000u);
}

// ---- the SP peer ----

static int
sock_path(const char *dir, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	int n = snprintf(
	    a->sun_path, sizeof(a->sun_path), "%s/llmcostd.sock", dir);
	if (n < 0 || (size_t) n >= sizeof(a->sun_path)) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	return (0);
}

static int
raw_connect(const char *dir)
{
	struct sockaddr_un a;
	int fd;

	if (sock_path(dir, &a) != 0
	    || (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		return (-1);
	}
	if (connect(fd, (struct sockaddr *) &a, sizeof(a)) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	return (fd);
}

// Moves exactly len bytes, or fails at the deadline (ETIMEDOUT) or on
// end of file (ECONNRESET).
static int
io_all(int fd, void *buf, size_t len, int writing, uint64_t deadline)
{
	uint8_t *p = buf;

	while (len > 0) {
		uint64_t now = now_ms();
		struct pollfd pf = { fd, writing ? POLLOUT : POLLIN, 0 };
		if (now >= deadline) {
			errno = ETIMEDOUT;
			return (-1);
		}
		int r = poll(&pf, 1, (int) (deadline - now));
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r <= 0) {
			errno = r == 0 ? ETIMEDOUT : errno;
			return (-1);
		}
		ssize_t n = writing ? send(fd, p, len, MSG_NOSIGNAL)
		                    : recv(fd, p, len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
			continue;
		}
		if (n <= 0) {
			errno = n == 0 ? ECONNRESET : errno;
			return (-1);
		}
		p += n;
		len -= (size_t) n;
	}
	return (0);
}

int
fault_sp_connect(const char *dir, int timeout_ms)
{
	static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, SP_REQ0, 0, 0 };
	uint64_t deadline = now_ms() + (uint64_t) timeout_ms;
	uint8_t peer[8];
	int fd;

	if ((fd = raw_connect(dir)) < 0) {
		return (-1);
	}
	if (io_all(fd, (void *) hello, sizeof(hello), 1, deadline) != 0
	    || io_all(fd, peer, sizeof(peer), 0, deadline) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return (-1);
	}
	if (peer[1] != 'S' || peer[2] != 'P' || peer[5] != SP_REP0) {
		close(fd);
		errno = EPROTO;
		return (-1);
	}
	return (fd);
}

int
fault_sp_hangup(const char *dir, size_t sent)
{
	static const uint8_t hello[8] = { 0, 'S', 'P', 0, 0, SP_REQ0, 0, 0 };
	uint64_t deadline = now_ms() + (uint64_t) harness_wait_ms(10000);
	int fd;

	// While llmcostd replaces a wedged listener (which a storm of these
	// hang-ups provokes on purpose), its socket file is gone or refuses
	// connections for a moment: connect again until it accepts.
	while ((fd = raw_connect(dir)) < 0
	    && (errno == ENOENT || errno == ECONNREFUSED || errno == EAGAIN)
	    && now_ms() < deadline) {
		harness_sleep_ms(5);
	}
	if (fd < 0) {
		return (-1);
	}
	if (sent > 0) {
		ssize_t n = send(fd, hello, sent < 8 ? sent : 8, MSG_NOSIGNAL);
		(void) n;
	}
	close(fd);
	return (0);
}

int
fault_sp_request(int fd, const void *body, size_t len, void **reply,
    size_t *rlen, int timeout_ms)
{
	static uint32_t next_id = 1;
	uint64_t deadline = now_ms() + (uint64_t) timeout_ms;
	uint32_t id
	    = (__atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED) & 0x7fffffffu)
	    | 0x80000000u;
	uint8_t head[13];
	uint64_t n = (uint64_t) len + 4;

	head[0] = 1;
	for (int i = 0; i < 8; i++) {
		head[1 + i] = (uint8_t) (n >> (56 - 8 * i));
	}
	for (int i = 0; i < 4; i++) {
		head[9 + i] = (uint8_t) (id >> (24 - 8 * i));
	}
	if (io_all(fd, head, sizeof(head), 1, deadline) != 0
	    || io_all(fd, (void *) body, len, 1, deadline) != 0) {
		return (-1);
	}
	for (;;) {
		uint8_t rh[9];
		uint64_t m = 0;
		if (io_all(fd, rh, sizeof(rh), 0, deadline) != 0) {
			return (-1);
		}
		for (int i = 0; i < 8; i++) {
			m = (m << 8) | rh[1 + i];
		}
		if (rh[0] != 1 || m < 4 || m > REPLY_MAX) {
			errno = EPROTO;
			return (-1);
		}
		uint8_t *buf = malloc((size_t) m);
		if (buf == NULL
		    || io_all(fd, buf, (size_t) m, 0, deadline) != 0) {
			free(buf);
			return (-1);
		}
		uint32_t got = ((uint32_t) buf[0] << 24)
		    | ((uint32_t) buf[1] << 16) | ((uint32_t) buf[2] << 8)
		    | buf[3];
		if (got != id) {
			free(buf); // an answer to an earlier request
			continue;
		}
		memmove(buf, buf + 4, (size_t) m - 4);
		*reply = buf;
		*rlen = (size_t) m - 4;
		return (0);
	}
}

// ---- batches and stats ----

void
fault_run_id(uint8_t id[16], uint8_t c, uint32_t n)
{
	uint64_t ms = FAULT_T0_MS + n;

	for (int i = 0; i < 6; i++) {
		id[i] = (uint8_t) (ms >> (40 - 8 * i));
	}
	id[6] = 0x70; // version 7
	id[7] = c;
	id[8] = 0x80; // variant
	id[9] = c;
	for (int i = 0; i < 4; i++) {
		id[10 + i] = (uint8_t) (n >> (24 - 8 * i));
	}
	id[14] = 0x5a;
	id[15] = 0xa5;
}

void
fault_batch(llmcost_proto_buf *b, uint8_t c, uint64_t seq, uint32_t first,
    uint32_t count)
{
	uint8_t cid[16];
	llmcost_proto_kv kv = { { "feature", 7 }, { "fault-suite", 11 } };
	llmcost_proto_enc enc;

	memset(cid, 0, sizeof(cid));
	cid[0] = 0xfa;
	cid[1] = c;
	memset(b, 0, sizeof(*b));
	llmcost_proto_enc_init(&enc, llmcost_proto_buf_write, b, 0);
	llmcost_proto_enc_batch_header(&enc, cid, seq, 0, count);
	for (uint32_t i = 0; i < count; i++) {
		llmcost_proto_record r;
		harness_record(&r, "gpt-4o-mini",
		    (FAULT_T0_MS + first + i) * 1000000ull, 100, 10, &kv);
		fault_run_id(r.run_id, c, first + i);
		llmcost_proto_enc_record(&enc, &r);
	}
	if (enc.err != 0) {
		fprintf(
		    stderr, "fault_batch: %s\n", llmcost_strerror(enc.err));
		abort();
	}
}

int
fault_send_batch(int *fd, const char *dir, const llmcost_proto_buf *b,
    fault_ack *ack, int timeout_ms)
{
	void *reply = NULL;
	size_t rlen = 0;
	llmcost_proto_msg m;

	if (*fd < 0 && (*fd = fault_sp_connect(dir, timeout_ms)) < 0) {
		return (-1);
	}
	if (fault_sp_request(*fd, b->data, b->len, &reply, &rlen, timeout_ms)
	    != 0) {
		close(*fd);
		*fd = -1;
		return (-1);
	}
	int rv = llmcost_proto_decode(reply, rlen, &m, NULL, 0);
	if (rv != 0 || m.type != LLMCOST_MSG_ACK) {
		if (rv == 0) {
			llmcost_proto_msg_free(&m);
		}
		free(reply);
		close(*fd);
		*fd = -1;
		return (-1);
	}
	ack->status = m.u.ack.status;
	ack->stored = m.u.ack.stored;
	ack->duplicates = m.u.ack.duplicates;
	snprintf(ack->reason, sizeof(ack->reason), "%.*s",
	    (int) m.u.ack.reason.len,
	    m.u.ack.reason.ptr != NULL ? m.u.ack.reason.ptr : "");
	llmcost_proto_msg_free(&m);
	free(reply);
	return (0);
}

uint64_t
fault_stat(const char *dir, const char *name, int timeout_ms)
{
	static const uint8_t req[3]
	    = { 0x92, LLMCOST_PROTO_VERSION, LLMCOST_MSG_STATS_REQ };
	void *reply = NULL;
	size_t rlen = 0;
	uint64_t v = UINT64_MAX;
	llmcost_proto_msg m;
	int fd = fault_sp_connect(dir, timeout_ms);

	if (fd < 0) {
		return (UINT64_MAX);
	}
	if (fault_sp_request(fd, req, sizeof(req), &reply, &rlen, timeout_ms)
	        == 0
	    && llmcost_proto_decode(reply, rlen, &m, NULL, 0) == 0) {
		if (m.type == LLMCOST_MSG_STATS) {
			for (uint32_t i = 0; i < m.u.stats.n; i++) {
				if (m.u.stats.names[i].len == strlen(name)
				    && memcmp(m.u.stats.names[i].ptr, name,
				           strlen(name))
				        == 0) {
					v = m.u.stats.values[i];
				}
			}
		}
		llmcost_proto_msg_free(&m);
	}
	free(reply);
	close(fd);
	return (v);
}

// ---- the daemon ----

static int
exit_status(int status)
{
	return (
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

void
fault_preload_env(const char *lib, char *preload, size_t preload_len,
    char *asan, size_t asan_len)
{
	const char *old = getenv("ASAN_OPTIONS");

	snprintf(preload, preload_len, "LD_PRELOAD=%s", lib);
	snprintf(asan, asan_len, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
	    old != NULL ? old : "", old != NULL ? ":" : "");
}

pid_t
fault_daemon_start(const fault_daemon_opts *o, int *status)
{
	const char *argv[48];
	char *envp[256];
	int n = 0, ne = 0;
	pid_t pid;

	if ((argv[n++] = harness_daemon_bin()) == NULL) {
		fprintf(stderr, "LLMCOSTD_BIN is not set\n");
		return (-1);
	}
	argv[n++] = "--data-dir";
	argv[n++] = o->dir;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	for (int i = 0; o->args != NULL && o->args[i] != NULL && n < 47; i++) {
		argv[n++] = o->args[i];
	}
	argv[n] = NULL;
	// Ours, minus any variable that o->env sets again.
	for (char **e = environ; *e != NULL && ne < 200; e++) {
		size_t klen = strcspn(*e, "=");
		int replaced = 0;
		for (int i = 0; o->env != NULL && o->env[i] != NULL; i++) {
			if (strncmp(o->env[i], *e, klen + 1) == 0) {
				replaced = 1;
			}
		}
		if (!replaced) {
			envp[ne++] = *e;
		}
	}
	for (int i = 0; o->env != NULL && o->env[i] != NULL && ne < 255; i++) {
		envp[ne++] = (char *) o->env[i];
	}
	envp[ne] = NULL;
	if ((pid = fork()) < 0) {
		return (-1);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (o->log != NULL) {
			int fd = open(o->log,
			    O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
			if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) {
				_exit(126);
			}
		}
		if (o->umask_set) {
			umask(o->umask_val);
		}

		if (o->run_as
		    && (setgroups(0, NULL) != 0 || setgid(o->gid) != 0
		        || setuid(o->uid) != 0)) {
			_exit(126);
		}
		execve(argv[0], (char *const *) argv, envp);
		_exit(127);
	}
	if (o->no_wait) {
		return (pid);
	}
	uint64_t deadline
	    = now_ms() + (uint64_t) harness_wait_ms(READY_TIMEOUT_MS);
	while (now_ms() < deadline) {
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			if (status != NULL) {
				*status = exit_status(st);
			}
			return (-1);
		}
		if (fault_stat(o->dir, "msgs_received", 1000) != UINT64_MAX) {
			return (pid);
		}
		harness_sleep_ms(20);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (status != NULL) {
		*status = -1;
	}
	return (-1);
}

long
fault_daemon_wait(pid_t pid, int timeout_ms, int *status)
{
	uint64_t t0 = now_ms();
	int st;

	for (;;) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		uint64_t now = now_ms();
		if (r == pid) {
			*status = exit_status(st);
			return ((long) (now - t0));
		}
		if (r < 0 || now - t0 >= (uint64_t) timeout_ms) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return (-1);
		}
		harness_sleep_ms(5);
	}
}

int
fault_daemon_term(pid_t pid, int timeout_ms)
{
	int status = -1;

	if (kill(pid, SIGTERM) != 0) {
		return (-1);
	}
	if (fault_daemon_wait(pid, timeout_ms, &status) < 0) {
		return (-1);
	}
	return (status);
}

int
fault_daemon_refused(const fault_daemon_opts *o)
{
	int status = -1;
	pid_t d = fault_daemon_start(o, &status);

	if (d > 0) {
		fprintf(stderr,
		    "fault: llmcostd started in %s, where it must "
		    "refuse to\n",
		    o->dir);
		(void) fault_daemon_term(d, harness_wait_ms(8000));
		return (-1);
	}
	return (status);
}

char *
fault_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (f == NULL) {
		return (NULL);
	}
	if ((buf = malloc(FILE_MAX + 1)) == NULL) {
		fclose(f);
		return (NULL);
	}
	n = fread(buf, 1, FILE_MAX, f);
	buf[n] = '\0';
	fclose(f);
	return (buf);
}

int
fault_count_in_file(const char *path, const char *needle)
{
	char *text = fault_read_file(path);
	int n = 0;

	if (text == NULL) {
		return (0);
	}
	for (const char *p = text; (p = strstr(p, needle)) != NULL;
	     p += strlen(needle)) {
		n++;
	}
	free(text);
	return (n);
}

// ---- the kernel's view ----

int
fault_fd_count(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
	if ((d = opendir(path)) == NULL) {
		return (-1);
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.') {
			n++;
		}
	}
	closedir(d);
	return (n);
}

long
fault_rss_peak_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	if ((f = fopen(path, "r")) == NULL) {
		return (-1);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
		}
	}
	fclose(f);
	return (kb);
}
