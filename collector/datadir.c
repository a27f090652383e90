// DESIGN: the data directory holds the ingest socket and the store, so
// whoever can write it can replace the socket (and receive every
// client's calls) or the store.  A directory the daemon creates is 0700
// whatever the umask (llmcostd also runs with umask 077, so its socket
// and files are born private).  A directory that already exists is
// checked, because mkdir does not change it: group- or world-writable and
// ours, it is tightened to 0700 and the log says so; writable by others
// and not ours, it is refused, since chmod would not make it ours and
// its owner could loosen it again; the message gives the commands.  A
// sticky shared directory such as /tmp is refused, never tightened.  The
// store's files are tightened the same way, for a directory that stays
// readable by a group on purpose.  The lock file keeps a second daemon
// out of the same directory (two writers would each believe they own
// the socket).
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datadir.h"
#include "llmcost_common.h"
#include "log.h"
#include "store.h"

// mkdir -p with mode 0700 for every directory it creates.
static int
make_dirs(const char *path)
{
	char buf[LLMCOST__PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
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

// The store's files: group- or world-writable ones of ours become 0600.
static void
tighten_files(const char *dir)
{
	static const char *const names[]
	    = { "data.mdb", "lock.mdb", "llmcostd.lock" };
	char path[LLMCOST__PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int n = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (n < 0 || (size_t) n >= sizeof(path)
		    || lstat(path, &st) != 0 || !S_ISREG(st.st_mode)
		    || st.st_uid != geteuid() || (st.st_mode & 022) == 0) {
			continue;
		}
		if (chmod(path, 0600) == 0) {
			log_msg(LLMCOST_LOG_NOTICE,
			    "tightened %s from mode %04o to 0600: other users "
			    "could write it",
			    path, (unsigned) (st.st_mode & 07777));
		}
	}
}

int
datadir_prepare(const char *dir, char *err, size_t errsz)
{
	struct stat st;
	char detail[256];

	if (make_dirs(dir) != 0 || stat(dir, &st) != 0) {
		int e = errno;
		snprintf(detail, sizeof(detail), "mkdir: %s", strerror(e));
		store_fault_text(store_fault_of(e, NULL), "cannot create", dir,
		    detail, err, errsz);
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errsz,
		    "data directory %s is not a directory; move it away or "
		    "pass another --data-dir",
		    dir);
		return (-1);
	}
	if ((st.st_mode & 022) != 0) {
		unsigned mode = (unsigned) (st.st_mode & 07777);
		if (st.st_mode & S_ISVTX) {
			// /tmp and its kind: shared by design, never ours to
			// tighten.
			snprintf(err, errsz,
			    "data directory %s (mode %04o) is a shared "
			    "directory; give llmcostd a directory of its own, "
			    "such as %s/llmcost",
			    dir, mode, strcmp(dir, "/") == 0 ? "" : dir);
			return (-1);
		}
		if (st.st_uid != geteuid()) {
			snprintf(err, errsz,
			    "data directory %s (mode %04o, owner uid %u) can "
			    "be written by other users, who could replace the "
			    "socket or the store, and it is not llmcostd's "
			    "(uid %u) to tighten; run: chown %u %s && chmod "
			    "700 %s",
			    dir, mode, (unsigned) st.st_uid,
			    (unsigned) geteuid(), (unsigned) geteuid(), dir,
			    dir);
			return (-1);
		}
		if (chmod(dir, 0700) != 0) {
			snprintf(err, errsz,
			    "data directory %s (mode %04o) can be written by "
			    "other users and chmod failed (%s); run: chmod "
			    "700 %s",
			    dir, mode, strerror(errno), dir);
			return (-1);
		}
		log_msg(LLMCOST_LOG_NOTICE,
		    "tightened data directory %s from mode %04o to 0700: it "
		    "holds the ingest socket and the store, and other users "
		    "could write it",
		    dir, mode);
	}
	tighten_files(dir);
	return (0);
}

int
datadir_lock(const char *dir, char *err, size_t errsz)
{
	char path[LLMCOST__PATH_MAX];
	char detail[LLMCOST__PATH_MAX + 64];
	int n = snprintf(path, sizeof(path), "%s/llmcostd.lock", dir);

	if (n < 0 || (size_t) n >= sizeof(path)) {
		snprintf(err, errsz,
		    "data directory path is too long for its lock file (at "
		    "most %zu bytes)",
		    sizeof(path) - sizeof("/llmcostd.lock"));
		return (-1);
	}
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		int e = errno;
		snprintf(detail, sizeof(detail), "%s: %s", path, strerror(e));
		store_fault_text(store_fault_of(e, NULL), "cannot lock", dir,
		    detail, err, errsz);
		return (-1);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		char pid[32] = "";
		ssize_t got = pread(fd, pid, sizeof(pid) - 1, 0);
		pid[got > 0 ? got : 0] = '\0';
		pid[strcspn(pid, "\n")] = '\0';
		snprintf(err, errsz,
		    "another llmcostd (pid %s) already uses %s; stop it or "
		    "pass a different --data-dir",
		    pid[0] ? pid : "?", dir);
		close(fd);
		return (-1);
	}
	char pid[32];
	n = snprintf(pid, sizeof(pid), "%d\n", (int) getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t) n, 0) < 0) {
		log_msg(LLMCOST_LOG_WARNING, "cannot write pid to %s", path);
	}
	return (fd);
}
