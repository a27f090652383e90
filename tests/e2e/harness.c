// DESIGN: the harness spawns the real binaries (paths from the
// LLMCOSTD_BIN and LLMCOST_CLI_BIN variables that ctest sets) and talks
// to them only through their public surfaces: the socket, the CLI's
// output and exit codes, signals.  Nothing of ours is mocked.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#include "harness.h"

extern char **environ;

const char *
harness_daemon_bin(void)
{
	const char *p = getenv("LLMCOSTD_BIN");
	return (p != NULL ? p : "llmcostd");
}

const char *
harness_cli_bin(void)
{
	const char *p = getenv("LLMCOST_CLI_BIN");
	return (p != NULL ? p : "llmcost");
}

char *
harness_tmpdir(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[512];
	snprintf(tmpl, sizeof(tmpl), "%s/llmcost-test-XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
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
	return (remove(path));
}

void
harness_rmdir(char *dir)
{
	if (dir != NULL) {
		nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		free(dir);
	}
}

void
harness_url(const char *dir, char *buf, size_t bufsz)
{
	snprintf(buf, bufsz, "ipc://%s/llmcostd.sock", dir);
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

pid_t
harness_daemon_start(const char *dir, const char *const *extra)
{
	const char *argv[32];
	char sock[1024];
	int n = 0;
	pid_t pid;

	argv[n++] = harness_daemon_bin();
	argv[n++] = "--data-dir";
	argv[n++] = dir;
	argv[n++] = "--log-level";
	argv[n++] = "warn";
	for (int i = 0; extra != NULL && extra[i] != NULL && n < 31; i++) {
		argv[n++] = extra[i];
	}
	argv[n] = NULL;
	if ((pid = fork()) < 0) {
		return (-1);
	}
	if (pid == 0) {
		// A failed test must not leave a daemon behind.
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], (char *const *) argv);
		_exit(127);
	}
	snprintf(sock, sizeof(sock), "%s/llmcostd.sock", dir);
	for (int i = 0; i < 500; i++) {
		struct stat st;
		int status;
		if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
			// The socket file can outlive a killed daemon: also
			// wait until the new one has bound it.
			sleep_ms(20);
			return (pid);
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			return (-1);
		}
		sleep_ms(10);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return (-1);
}

int
harness_daemon_stop(pid_t pid, int sig)
{
	int status;
	if (pid <= 0) {
		return (-1);
	}
	kill(pid, sig);
	if (waitpid(pid, &status, 0) != pid) {
		return (-1);
	}
	if (WIFEXITED(status)) {
		return (WEXITSTATUS(status));
	}
	return (128 + WTERMSIG(status));
}

#define CAPTURE_MAX (4u << 20)

typedef struct sink {
	int fd;
	char *buf;
	size_t len;
	int open;
} sink;

static void
sink_read(sink *s)
{
	char tmp[65536];
	ssize_t n = read(s->fd, tmp, sizeof(tmp));
	if (n <= 0) {
		s->open = 0;
		return;
	}
	size_t take = (size_t) n;
	if (s->len + take > CAPTURE_MAX) {
		take = CAPTURE_MAX - s->len;
	}
	memcpy(s->buf + s->len, tmp, take);
	s->len += take;
}

int
harness_run(const char *const *argv, char **out, char **err)
{
	int po[2], pe[2], status;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	if (pipe(po) != 0 || pipe(pe) != 0) {
		return (-1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, po[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, pe[1], STDERR_FILENO);
	posix_spawn_file_actions_addclose(&fa, po[0]);
	posix_spawn_file_actions_addclose(&fa, pe[0]);
	int rv = posix_spawn(
	    &pid, argv[0], &fa, NULL, (char *const *) argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	if (rv != 0) {
		close(po[0]);
		close(pe[0]);
		return (-1);
	}
	sink s[2] = { { po[0], calloc(1, CAPTURE_MAX + 1), 0, 1 },
		{ pe[0], calloc(1, CAPTURE_MAX + 1), 0, 1 } };
	while (s[0].open || s[1].open) {
		struct pollfd p[2];
		int np = 0, idx[2];
		for (int i = 0; i < 2; i++) {
			if (s[i].open) {
				p[np].fd = s[i].fd;
				p[np].events = POLLIN;
				idx[np++] = i;
			}
		}
		if (poll(p, (nfds_t) np, 30000) <= 0) {
			break;
		}
		for (int i = 0; i < np; i++) {
			if (p[i].revents != 0) {
				sink_read(&s[idx[i]]);
			}
		}
	}
	close(po[0]);
	close(pe[0]);
	waitpid(pid, &status, 0);
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
	return (
	    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}
